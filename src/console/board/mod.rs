//! The incident board and the incident page: what staff watch and where
//! operators handle incidents. Built on the desk ([`crate::desk::Desk`]),
//! which owns the incidents; this module only shows them and forwards
//! handling steps.
//!
//! - `GET /` (viewer+): the board, newest first, filtered by kind, camera,
//!   state and day (in the site's time zone), paged ([`view::PER_PAGE`]).
//! - `GET /board/events` (viewer+): Server-Sent Events with the same query
//!   as the board: each new or changed incident as an `incident` event
//!   (`{"event", "state", "first_at", "last_at", "open", "html"}`, `html`
//!   being its row rendered for the viewer, or `"remove": true` when it no
//!   longer matches the filter; `open` the desk's open incidents after the
//!   change, for the header's count); `reload` when the stream fell behind. The board's
//!   script (`assets/board.js`) puts the rows in place, so incidents appear
//!   without reloading the page. `?event=<id>` follows one incident (the
//!   incident page's "this incident has changed" notice).
//! - `GET /incidents/<event>` (viewer+): the full snapshot, the clip, the
//!   alert's details, the handling trail; for operators the forms.
//! - `POST /incidents/<event>/{ack,assign,note,resolve}` (operator+, with
//!   the console's CSRF token like every POST): one handling step through
//!   [`crate::desk::Desk::act`], then back to the page (303); a step that
//!   does not fit the state is answered 409 with the page and the reason.
//!
//! Words are in the console's catalog ([`super::i18n`]), the view data in
//! [`view`].

pub mod view;

use super::auth::{Operator, RequireRole, Viewer};
use super::pages::{message, Page};
use super::ConsoleState;
use crate::desk::{Action, Actor, DeskChange, DeskError, Outcome, Via};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::convert::Infallible;
use tokio::sync::broadcast::error::RecvError;
use view::{Filter, FilterForm, Row, Step};

/// What the board reads from the running daemon (part of the console's
/// [`super::Sources`]).
#[derive(Clone)]
pub struct BoardSources {
    /// The incident desk.
    pub desk: crate::desk::Desk,
    /// The kinds that open incidents (`[desk] kinds`), for the kind filter.
    pub kinds: Vec<String>,
    /// Camera name → display name, in config order, for the camera filter.
    pub cameras: Vec<(String, String)>,
}

/// The board's routes, merged into the console's router.
pub fn routes() -> axum::Router<ConsoleState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/", get(board))
        .route("/board/events", get(events))
        .route("/incidents/{event}", get(incident))
        .route("/incidents/{event}/ack", post(ack))
        .route("/incidents/{event}/assign", post(assign))
        .route("/incidents/{event}/note", post(note))
        .route("/incidents/{event}/resolve", post(resolve))
}

/// A 400 page naming the bad query field.
fn bad_request(state: &ConsoleState, page: &Page, why: &str) -> Response {
    let mut r = state.render(
        "message.html",
        page,
        context! { title_key => "filter.apply", text => why },
    );
    *r.status_mut() = StatusCode::BAD_REQUEST;
    r
}

/// The page when the daemon runs without a desk.
fn no_desk(state: &ConsoleState, page: &Page) -> Response {
    message(
        state,
        page,
        StatusCode::SERVICE_UNAVAILABLE,
        "board.unavailable",
    )
}

/// A desk failure the user cannot fix: logged, and a 500 page.
fn desk_failed(state: &ConsoleState, page: &Page, e: &DeskError) -> Response {
    tracing::error!(error = %e, "console: the incident desk failed");
    message(state, page, StatusCode::INTERNAL_SERVER_ERROR, "act.failed")
}

/// One choice of a filter's select.
#[derive(Debug, Serialize)]
struct Choice {
    value: String,
    label: String,
}

/// `GET /` (viewer+): the board.
pub async fn board(
    State(state): State<ConsoleState>,
    user: RequireRole<Viewer>,
    Query(form): Query<FilterForm>,
) -> Response {
    let page = Page::of(&user);
    let Some(desk) = state.sources.board.as_ref().map(|b| b.desk.clone()) else {
        return no_desk(&state, &page);
    };
    let filter = match Filter::parse(&form) {
        Ok(f) => f,
        Err(why) => return bad_request(&state, &page, &why),
    };
    let q = filter.query();
    let d = desk.clone();
    let found =
        tokio::task::spawn_blocking(move || Ok::<_, DeskError>((d.list(&q)?, d.counts()?))).await;
    let (list, counts) = match found {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return desk_failed(&state, &page, &e),
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response(),
    };
    let lang = user.lang;
    let tz = state.sources.timezone;
    let now = chrono::Utc::now();
    let rows: Vec<Row> = list
        .items
        .iter()
        .map(|s| Row::of(s, lang, tz, now))
        .collect();
    let kinds: Vec<Choice> = state
        .sources
        .board
        .iter()
        .flat_map(|b| b.kinds.iter())
        .map(|k| Choice {
            value: k.clone(),
            label: view::word(lang, &format!("kind.{k}"), k),
        })
        .collect();
    let cameras: Vec<Choice> = state
        .sources
        .board
        .iter()
        .flat_map(|b| b.cameras.iter())
        .map(|(name, display)| Choice {
            value: name.clone(),
            label: display.clone(),
        })
        .collect();
    let states: Vec<Choice> = crate::desk::IncidentState::ALL
        .iter()
        .map(|s| Choice {
            value: s.as_str().to_string(),
            label: lang.text(&format!("state.{}", s.as_str())),
        })
        .collect();
    let pages = view::pages(list.total);
    let events_url = format!("/board/events?{}", filter.query_string(1));
    let open_by_kind: BTreeMap<String, u64> = counts.by_kind;
    state.render(
        "board.html",
        &page,
        context! {
            rows => rows,
            total => list.total,
            open_total => counts.total,
            open_by_kind => open_by_kind,
            page_no => filter.page,
            pages => pages,
            newer => (filter.page > 1).then(|| filter.query_string(filter.page - 1)),
            // Always there, hidden while this is the last page: the live
            // total may add a page.
            older => filter.query_string(filter.page + 1),
            events_url => events_url,
            // New incidents go on top only on the first page.
            insert => filter.page == 1,
            kinds => kinds,
            cameras => cameras,
            states => states,
            f_kind => filter.kind.clone().unwrap_or_default(),
            f_camera => filter.camera.clone().unwrap_or_default(),
            f_state => filter.state.map(|s| s.as_str()).unwrap_or_default(),
            f_day => filter.day.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        },
    )
}

/// What one `incident` event carries.
#[derive(Debug, Serialize)]
struct Live<'a> {
    event: &'a str,
    state: &'a str,
    first_at: chrono::DateTime<chrono::Utc>,
    last_at: chrono::DateTime<chrono::Utc>,
    /// Open (open or acknowledged) incidents on the whole desk after this
    /// change, whatever the filter: the board header's count. Absent when
    /// the desk could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    open: Option<u64>,
    /// Incidents matching this stream's filters after this change, and the
    /// pages they fill: the board's pager. Absent on an incident page's
    /// stream, or when the desk could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pages: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    html: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    remove: bool,
}

/// `GET /board/events` (viewer+): the live stream; see the module doc.
pub async fn events(
    State(state): State<ConsoleState>,
    user: RequireRole<Viewer>,
    Query(mut raw): Query<BTreeMap<String, String>>,
) -> Response {
    let page = Page::of(&user);
    let Some(desk) = state.sources.board.as_ref().map(|b| b.desk.clone()) else {
        return no_desk(&state, &page);
    };
    let only_event = raw.remove("event").filter(|e| !e.is_empty());
    let form: FilterForm = match serde_json::to_value(&raw).and_then(serde_json::from_value) {
        Ok(f) => f,
        Err(e) => return bad_request(&state, &page, &e.to_string()),
    };
    let filter = match Filter::parse(&form) {
        Ok(f) => f,
        Err(why) => return bad_request(&state, &page, &why),
    };
    let rx = desk.subscribe();
    let lang = user.lang;
    tracing::debug!(user = %user.name, "console: board stream opened");
    let st = state.clone();
    let stream = futures_util::stream::unfold(rx, move |mut rx| {
        let st = st.clone();
        let filter = filter.clone();
        let only_event = only_event.clone();
        let desk = desk.clone();
        async move {
            loop {
                match rx.recv().await {
                    Ok(DeskChange::Incident(s)) => {
                        if only_event.as_ref().is_some_and(|e| *e != s.event) {
                            continue;
                        }
                        let tz = st.sources.timezone;
                        let keep = filter.matches(&s, tz);
                        let html = if keep {
                            let row = Row::of(&s, lang, tz, chrono::Utc::now());
                            match st.templates.render(
                                "incident_row.html",
                                context! { lang => lang.tag(), r => row },
                            ) {
                                Ok(h) => Some(h),
                                Err(e) => {
                                    tracing::error!(error = %e, "console: incident row failed to render");
                                    continue;
                                }
                            }
                        } else {
                            None
                        };
                        let board_query = only_event.is_none().then(|| filter.query());
                        let (open, total) = live_counts(&desk, board_query).await;
                        let live = Live {
                            event: &s.event,
                            state: s.state.as_str(),
                            first_at: s.first_at,
                            last_at: s.last_at,
                            open,
                            total,
                            pages: total.map(view::pages),
                            html,
                            remove: !keep,
                        };
                        let data = serde_json::to_string(&live).unwrap_or_default();
                        let ev = Event::default().event("incident").data(data);
                        return Some((Ok::<_, Infallible>(ev), rx));
                    }
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(
                            missed = n,
                            "console: a board stream fell behind; it reloads"
                        );
                        let ev = Event::default().event("reload").data(n.to_string());
                        return Some((Ok(ev), rx));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The desk's open incidents now and, with `board` (the stream's filters),
/// how many incidents match them: indexed counts, on a blocking thread.
/// Each is `None`, logged, when the desk cannot be read.
async fn live_counts(
    desk: &crate::desk::Desk,
    board: Option<crate::desk::IncidentQuery>,
) -> (Option<u64>, Option<u64>) {
    let d = desk.clone();
    let counted = tokio::task::spawn_blocking(move || {
        let open = d.counts().map(|c| c.total);
        (open, board.map(|q| d.count(&q)))
    })
    .await;
    let ok = |r: Result<u64, DeskError>| {
        r.map_err(|e| tracing::warn!(error = %e, "console: incidents not counted"))
            .ok()
    };
    match counted {
        Ok((open, total)) => (ok(open), total.and_then(ok)),
        Err(_) => (None, None),
    }
}

/// A handling step's outcome shown on the incident page.
#[derive(Debug, Default)]
struct Notice {
    error: Option<String>,
}

/// Renders the incident page of `event` with `status`.
async fn incident_page(
    state: &ConsoleState,
    user: &super::CurrentUser,
    event: String,
    status: StatusCode,
    notice: Notice,
) -> Response {
    let page = Page::of(user);
    let Some(desk) = state.sources.board.as_ref().map(|b| b.desk.clone()) else {
        return no_desk(state, &page);
    };
    let found = tokio::task::spawn_blocking(move || desk.get(&event)).await;
    let detail = match found {
        Ok(Ok(Some(d))) => d,
        Ok(Ok(None)) => return message(state, &page, StatusCode::NOT_FOUND, "incident.not_found"),
        Ok(Err(e)) => return desk_failed(state, &page, &e),
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response(),
    };
    let lang = user.lang;
    let tz = state.sources.timezone;
    let row = Row::of(&detail.summary, lang, tz, chrono::Utc::now());
    let steps: Vec<Step> = detail
        .handling
        .iter()
        .map(|r| Step::of(r, lang, tz))
        .collect();
    // The full-resolution snapshot when the clip announcement brought one,
    // else the stored detect-size picture.
    let full = detail.alert["evidence"]["snapshot"]["path"]
        .as_str()
        .and_then(view::evidence_url)
        .or_else(|| row.snapshot_url.clone());
    let score = detail.alert["score"].as_f64().map(|s| format!("{s:.2}"));
    let alert_json = serde_json::to_string_pretty(&detail.alert).unwrap_or_default();
    let s = detail.summary.state;
    let mut r = state.render(
        "incident.html",
        &page,
        context! {
            r => row,
            steps => steps,
            picture => full,
            score => score,
            alert_json => alert_json,
            operator => user.may(super::Role::Operator),
            can_ack => s == crate::desk::IncidentState::Open,
            can_resolve => s.is_open(),
            error => notice.error,
        },
    );
    *r.status_mut() = status;
    r
}

/// `GET /incidents/<event>` (viewer+).
pub async fn incident(
    State(state): State<ConsoleState>,
    user: RequireRole<Viewer>,
    Path(event): Path<String>,
) -> Response {
    incident_page(&state, &user, event, StatusCode::OK, Notice::default()).await
}

/// Takes `action` on `event` as `user`, then back to the incident page.
async fn act(
    state: ConsoleState,
    user: &super::CurrentUser,
    event: String,
    action: Action,
) -> Response {
    let page = Page::of(user);
    let Some(desk) = state.sources.board.as_ref().map(|b| b.desk.clone()) else {
        return no_desk(&state, &page);
    };
    let actor = Actor {
        name: user.name.clone(),
        via: Via::Console,
    };
    let step = action.name();
    let ev = event.clone();
    let done = tokio::task::spawn_blocking(move || desk.act(&ev, action, &actor)).await;
    let lang = user.lang;
    match done {
        Ok(Ok(_)) => {
            tracing::info!(user = %user.name, event = %event, step, "console: handling step taken");
            Redirect::to(&format!("/incidents/{event}")).into_response()
        }
        Ok(Err(DeskError::UnknownIncident { .. })) => {
            message(&state, &page, StatusCode::NOT_FOUND, "incident.not_found")
        }
        Ok(Err(e @ DeskError::NotAllowed { .. })) => {
            tracing::info!(user = %user.name, event = %event, step, reason = %e, "console: handling step refused");
            let text = format!("{} ({e})", lang.text("act.refused"));
            incident_page(
                &state,
                user,
                event,
                StatusCode::CONFLICT,
                Notice { error: Some(text) },
            )
            .await
        }
        Ok(Err(DeskError::Invalid { field, message: m })) => {
            let text = lang
                .text("act.invalid")
                .replace("{why}", &format!("{field}: {m}"));
            incident_page(
                &state,
                user,
                event,
                StatusCode::BAD_REQUEST,
                Notice { error: Some(text) },
            )
            .await
        }
        Ok(Err(e)) => desk_failed(&state, &page, &e),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response(),
    }
}

/// `Some(trimmed)` unless empty.
fn text(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The fields of the handling forms (plus the CSRF token, checked by the
/// console's guard before the handler runs).
#[derive(Debug, Default, Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /incidents/<event>/ack` (operator+): "on my way", with an
/// optional `note`.
pub async fn ack(
    State(state): State<ConsoleState>,
    user: RequireRole<Operator>,
    Path(event): Path<String>,
    axum::Form(f): axum::Form<ActForm>,
) -> Response {
    let _ = f.csrf;
    act(
        state,
        &user,
        event,
        Action::Acknowledge { note: text(f.note) },
    )
    .await
}

/// `POST /incidents/<event>/assign` (operator+): to the person `to`.
pub async fn assign(
    State(state): State<ConsoleState>,
    user: RequireRole<Operator>,
    Path(event): Path<String>,
    axum::Form(f): axum::Form<ActForm>,
) -> Response {
    let to = f.to.unwrap_or_default().trim().to_string();
    act(state, &user, event, Action::Assign { to }).await
}

/// `POST /incidents/<event>/note` (operator+): a note `text`.
pub async fn note(
    State(state): State<ConsoleState>,
    user: RequireRole<Operator>,
    Path(event): Path<String>,
    axum::Form(f): axum::Form<ActForm>,
) -> Response {
    let text = f.text.unwrap_or_default().trim().to_string();
    act(state, &user, event, Action::Note { text }).await
}

/// `POST /incidents/<event>/resolve` (operator+): `outcome` `handled` or
/// `false_alarm`, with a `reason`.
pub async fn resolve(
    State(state): State<ConsoleState>,
    user: RequireRole<Operator>,
    Path(event): Path<String>,
    axum::Form(f): axum::Form<ActForm>,
) -> Response {
    let outcome = match f.outcome.as_deref() {
        Some("handled") => Outcome::Handled,
        Some("false_alarm") => Outcome::FalseAlarm,
        other => {
            let lang = user.lang;
            let why = format!(
                "outcome: expected handled or false_alarm, got {:?}",
                other.unwrap_or("")
            );
            let text = lang.text("act.invalid").replace("{why}", &why);
            return incident_page(
                &state,
                &user,
                event,
                StatusCode::BAD_REQUEST,
                Notice { error: Some(text) },
            )
            .await;
        }
    };
    act(
        state,
        &user,
        event,
        Action::Resolve {
            outcome,
            reason: text(f.reason),
        },
    )
    .await
}
