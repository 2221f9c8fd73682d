//! Who is asking, and may they: the extractors pages use, the login and
//! logout pages, the language switch, and the CSRF guard.
//!
//! - [`CurrentUser`]: any logged-in user. Without a valid session a page
//!   request (GET/HEAD) is redirected to `/login?next=<path>`, anything else
//!   gets 401.
//! - [`RequireRole<R>`] with `R` one of [`Viewer`], [`Operator`], [`Admin`]:
//!   the same, plus 403 (a page saying so) when the user's role is lower.
//! - [`csrf_guard`] (a layer on the whole router): every request other than
//!   GET/HEAD/OPTIONS must come from this site (its `Origin`, or else its
//!   `Referer`, when sent, names the `Host` it was sent to) and, except
//!   `POST /login`, carry the session's CSRF token in the form field `csrf`
//!   (urlencoded forms) or the `X-CSRF-Token` header. Templates get the
//!   token as `csrf`; scripts read it from `<meta name="csrf-token">`.

use super::i18n::Lang;
use super::pages::{message, Page};
use super::session::{Session, COOKIE};
use super::users::{Role, Users};
use super::{ConsoleState, HOME};
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};

/// The logged-in user of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    pub name: String,
    pub role: Role,
    /// The page language: the user's choice, else the browser's.
    pub lang: Lang,
    /// The session's CSRF token, for forms and scripts.
    pub csrf: String,
    /// The session id (to end it).
    pub session: String,
    /// The request's path and query (the language switch comes back here).
    pub path: String,
}

impl CurrentUser {
    /// Whether the user's role is `role` or higher.
    pub fn may(&self, role: Role) -> bool {
        self.role >= role
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// The session the request's cookie names, when it is live (and its user
/// still has the password and role they logged in with).
pub fn session_of(headers: &HeaderMap, state: &ConsoleState) -> Option<Session> {
    let id = cookie(headers, COOKIE)?;
    state.recheck_users();
    state.sessions.get(id)
}

/// The language for a request: the session's, else `Accept-Language`.
pub fn lang_of(headers: &HeaderMap, session: Option<&Session>) -> Lang {
    session
        .and_then(|s| s.lang.as_deref())
        .and_then(Lang::parse)
        .unwrap_or_else(|| {
            Lang::negotiate(
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok()),
            )
        })
}

/// The client's address (from the connection; 127.0.0.1 when unknown, as
/// in router-level tests).
pub fn client_ip(ext: &axum::http::Extensions) -> IpAddr {
    ext.get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

/// The answer to a request that needs a login it does not have.
fn login_required(method: &Method, uri: &axum::http::Uri) -> Response {
    if method == Method::GET || method == Method::HEAD {
        let next = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let q = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
        Redirect::to(&format!("/login?{q}")).into_response()
    } else {
        (StatusCode::UNAUTHORIZED, "login required\n").into_response()
    }
}

impl FromRequestParts<ConsoleState> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ConsoleState) -> Result<Self, Response> {
        let Some(s) = session_of(&parts.headers, state) else {
            return Err(login_required(&parts.method, &parts.uri));
        };
        Ok(CurrentUser {
            lang: lang_of(&parts.headers, Some(&s)),
            name: s.user,
            role: s.role,
            csrf: s.csrf,
            session: s.id,
            path: parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_string(), |p| p.as_str().to_string()),
        })
    }
}

/// The least role a [`RequireRole`] accepts.
pub trait MinRole: Send + Sync + 'static {
    const ROLE: Role;
}

/// Any logged-in user.
pub struct Viewer;
/// Operators and admins.
pub struct Operator;
/// Admins only.
pub struct Admin;

impl MinRole for Viewer {
    const ROLE: Role = Role::Viewer;
}
impl MinRole for Operator {
    const ROLE: Role = Role::Operator;
}
impl MinRole for Admin {
    const ROLE: Role = Role::Admin;
}

/// A logged-in user with at least role `R` (see the module doc); derefs to
/// [`CurrentUser`].
pub struct RequireRole<R: MinRole>(pub CurrentUser, PhantomData<R>);

impl<R: MinRole> std::ops::Deref for RequireRole<R> {
    type Target = CurrentUser;
    fn deref(&self) -> &CurrentUser {
        &self.0
    }
}

impl<R: MinRole> FromRequestParts<ConsoleState> for RequireRole<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ConsoleState) -> Result<Self, Response> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if !user.may(R::ROLE) {
            tracing::info!(user = %user.name, role = %user.role, needs = %R::ROLE, path = %parts.uri.path(), "console: refused, role too low");
            let page = Page::of(&user);
            return Err(message(
                state,
                &page,
                StatusCode::FORBIDDEN,
                "error.forbidden",
            ));
        }
        Ok(RequireRole(user, PhantomData))
    }
}

/// `next` when it is a path on this site, else [`HOME`].
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => HOME.to_string(),
    }
}

/// The authority (`host[:port]`) of an absolute URL.
fn authority(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

/// Whether the request's `Origin` (or, without it, `Referer`) names the
/// host it was sent to; true when the browser sent neither.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let from = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    match (from, host) {
        (None, _) => true,
        (Some(from), Some(host)) => authority(from).is_some_and(|a| a.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    }
}

/// Constant-time comparison.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Largest form body the CSRF guard reads.
pub const MAX_FORM_BYTES: usize = 1024 * 1024;

/// The CSRF guard (see the module doc).
pub async fn csrf_guard(State(state): State<ConsoleState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let refuse = |state: &ConsoleState, headers: &HeaderMap, why: &str| {
        tracing::warn!(
            reason = why,
            "console: state-changing request refused (CSRF guard)"
        );
        let s = session_of(headers, state);
        let page = Page::anonymous(lang_of(headers, s.as_ref()));
        message(state, &page, StatusCode::FORBIDDEN, "error.csrf")
    };
    if !same_origin(req.headers()) {
        return refuse(&state, req.headers(), "cross-origin");
    }
    if req.uri().path() == "/login" {
        return next.run(req).await;
    }
    let Some(session) = session_of(req.headers(), &state) else {
        return login_required(req.method(), req.uri());
    };
    if let Some(t) = req.headers().get("x-csrf-token") {
        if same(t.as_bytes(), session.csrf.as_bytes()) {
            return next.run(req).await;
        }
        return refuse(&state, req.headers(), "wrong X-CSRF-Token");
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return refuse(&state, req.headers(), "no CSRF token");
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "form too large\n").into_response();
    };
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|kv| kv.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v));
    if !token.is_some_and(|t| same(t.as_bytes(), session.csrf.as_bytes())) {
        return refuse(&state, &parts.headers, "missing or wrong csrf field");
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    lang: Option<String>,
}

/// `GET /login`: the form (`?lang=zh-CN` picks the language).
pub async fn login_page(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let lang = q
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_else(|| lang_of(&headers, None));
    login_form(
        &state,
        lang,
        &safe_next(q.next.as_deref()),
        None,
        StatusCode::OK,
    )
}

fn login_form(
    state: &ConsoleState,
    lang: Lang,
    next: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let page = Page::anonymous(lang);
    let mut r = state.render(
        "login.html",
        &page,
        minijinja::context! { next => next, error => error },
    );
    *r.status_mut() = status;
    r
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    user: String,
    password: String,
    next: Option<String>,
    lang: Option<String>,
}

/// The `Set-Cookie` value of a session cookie (`max_age` 0 clears it).
fn session_cookie(state: &ConsoleState, value: &str, max_age: u64) -> HeaderValue {
    let secure = if state.secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("ew_session=; Max-Age=0"))
}

/// `POST /login`: checks the password (rate-limited per address and per
/// user), opens a session and goes to `next`.
pub async fn login(State(state): State<ConsoleState>, req: Request) -> Response {
    let ip = client_ip(req.extensions());
    let headers = req.headers().clone();
    let axum::Form(form) = match axum::Form::<LoginForm>::from_request(req, &state).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let lang = form
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_else(|| lang_of(&headers, None));
    let next = safe_next(form.next.as_deref());
    let user = form.user.trim().to_string();
    if let Some(wait) = state.limiter.check(ip, &user) {
        tracing::warn!(%ip, user = %user, "console: login refused, too many failed attempts");
        let page = Page::anonymous(lang);
        let minutes = wait.as_secs().div_ceil(60).max(1);
        let mut r = state.render(
            "message.html",
            &page,
            minijinja::context! {
                title_key => "login.limited.title",
                text => lang.text("login.limited").replace("{minutes}", &minutes.to_string()),
            },
        );
        *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let path = state.config.users_file.clone();
    let (name, password) = (user.clone(), form.password);
    let checked = tokio::task::spawn_blocking(move || {
        let users = Users::load(&path)?;
        Ok::<_, super::users::UsersError>(users.verify(&name, &password).cloned())
    })
    .await;
    let found = match checked {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "console: cannot read the users file; nobody can log in");
            None
        }
        Err(_) => None,
    };
    let Some(found) = found else {
        state.limiter.failed(ip, &user);
        tracing::info!(%ip, user = %user, "console: failed login");
        return login_form(
            &state,
            lang,
            &next,
            Some("login.failed"),
            StatusCode::UNAUTHORIZED,
        );
    };
    state.limiter.succeeded(&user);
    let session = state
        .sessions
        .create(&found.name, found.role, found.lang.clone(), &found.hash);
    tracing::info!(%ip, user = %found.name, role = %found.role, "console: login");
    let mut r = Redirect::to(&next).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(
            &state,
            &session.id,
            state.config.session_hours.saturating_mul(3600),
        ),
    );
    r
}

/// `POST /logout`: ends the session.
pub async fn logout(State(state): State<ConsoleState>, user: CurrentUser) -> Response {
    state.sessions.remove(&user.session);
    tracing::info!(user = %user.name, "console: logout");
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    r
}

#[derive(Debug, Deserialize)]
pub struct LangForm {
    lang: String,
    next: Option<String>,
}

/// `POST /lang`: the header's language switch; stored with the user in the
/// users file, so it follows them to their next login.
pub async fn set_lang(
    State(state): State<ConsoleState>,
    user: CurrentUser,
    axum::Form(form): axum::Form<LangForm>,
) -> Response {
    let Some(lang) = Lang::parse(&form.lang) else {
        return (StatusCode::BAD_REQUEST, "lang must be en or zh-CN\n").into_response();
    };
    state
        .sessions
        .set_lang(&user.session, Some(lang.tag().to_string()));
    let path = state.config.users_file.clone();
    let name = user.name.clone();
    let saved = tokio::task::spawn_blocking(move || {
        let mut users = Users::load(&path)?;
        if let Some(u) = users.users.iter_mut().find(|u| u.name == name) {
            u.lang = Some(lang.tag().to_string());
        }
        users.save(&path)
    })
    .await;
    if let Ok(Err(e)) = saved {
        tracing::warn!(error = %e, "console: language kept for this session only");
    }
    Redirect::to(&safe_next(form.next.as_deref())).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_next_paths_are_checked() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("gw.local:9807"));
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://gw.local:9807"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&h));
        h.remove(header::ORIGIN);
        h.insert(
            header::REFERER,
            HeaderValue::from_static("https://gw.local:9807/board?x=1"),
        );
        assert!(same_origin(&h));
        assert_eq!(safe_next(Some("/board?kind=fire")), "/board?kind=fire");
        assert_eq!(safe_next(Some("//evil.example/")), HOME);
        assert_eq!(safe_next(Some("https://evil.example/")), HOME);
        assert_eq!(safe_next(None), HOME);
    }
}
