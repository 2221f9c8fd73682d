//! The sensor input's subscriptions on its broker connection, and the packet
//! size limit of that connection.
//!
//! On every connect the topic filters are subscribed in bounded batches: one
//! SUBSCRIBE carries at most [`BATCH_FILTERS`] filters ([`BATCH_BYTES`] of
//! filter text), and is followed by an UNSUBSCRIBE of a filter no sensor uses
//! (the *barrier*). A broker handles a client's packets in order, so all it
//! sends because of the SUBSCRIBE — its SUBACK and the retained messages of
//! those filters — arrives before the barrier's UNSUBACK. The next batch goes
//! out once the barrier is acknowledged.
//!
//! Invariants:
//! - at most one batch is outstanding on a connection, and every connect
//!   starts over (clean session: the broker forgets subscriptions);
//! - a filter counts as subscribed only once a SUBACK grants it; a batch
//!   without its acknowledgements after [`ACK_TIMEOUT`] is sent again;
//! - a filter the broker refuses is logged once and retried every
//!   [`RETRY_AFTER`];
//! - a message larger than [`MAX_INCOMING_PACKET`] makes rumqttc drop the
//!   connection (it cannot skip a packet; rumqttc 0.25 reads the size from
//!   the fixed header and fails the read). If that happens while a batch is
//!   outstanding, the batch's filters are suspects and are subscribed alone
//!   on the next connections; the one whose message is too big (a retained
//!   message comes again on every subscribe) is logged once with its topic
//!   and left out for [`RETRY_AFTER`], while the other sensors go on. An
//!   oversized message after all batches were acknowledged is a live one;
//!   rumqttc does not say on which topic, so it is logged once without one.

use rumqttc::{AsyncClient, ConnectionError, Event, Outgoing, Packet, QoS, StateError};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Largest MQTT packet the sensor input accepts from its broker (256 KiB):
/// far more than any sensor reading needs, far less than a camera snapshot.
pub const MAX_INCOMING_PACKET: usize = 256 * 1024;
/// Most topic filters in one SUBSCRIBE.
pub const BATCH_FILTERS: usize = 32;
/// Most bytes of filter text in one SUBSCRIBE.
pub const BATCH_BYTES: usize = 4096;
/// How long a batch may wait for its SUBACK and its barrier's UNSUBACK.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a refused filter, or one with an oversized message, is left out.
pub const RETRY_AFTER: Duration = Duration::from_secs(600);

/// The size of the packet that made rumqttc drop the connection, when that is
/// what `e` says.
pub fn oversized(e: &ConnectionError) -> Option<usize> {
    match e {
        ConnectionError::MqttState(StateError::Deserialization(
            rumqttc::Error::PayloadSizeLimitExceeded(size),
        )) => Some(*size),
        _ => None,
    }
}

/// Where one filter stands on the current connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// To be subscribed; `alone` when it must go in a SUBSCRIBE of its own.
    Pending { alone: bool },
    /// In the outstanding batch.
    Sent,
    /// Granted by the broker.
    Active,
    /// Refused, or its messages are too large: left out until `until`.
    Held { until: Instant },
}

/// The one batch on its way.
#[derive(Debug)]
struct Batch {
    /// Indices into `Subscriptions::filters`.
    filters: Vec<usize>,
    sent_at: Instant,
    /// Packet ids, once rumqttc has sent the packets.
    sub_pkid: Option<u16>,
    barrier_pkid: Option<u16>,
    /// False while the barrier is still to be queued (the queue was full).
    barrier_queued: bool,
    subacked: bool,
}

/// See the module doc.
#[derive(Debug)]
pub struct Subscriptions {
    filters: Vec<(String, State)>,
    barrier: String,
    batch: Option<Batch>,
    /// Between a CONNACK and the next connection error. Nothing is queued
    /// while offline: rumqttc would send it on the next connection, out of
    /// step with this bookkeeping.
    online: bool,
    /// `settled` was reported on this connection.
    settled: bool,
    /// Messages already logged (kind and topic), so each is logged once.
    logged: HashSet<String>,
}

impl Subscriptions {
    /// The subscriptions of `topics` (sorted, without duplicates), none sent.
    pub fn new(topics: Vec<String>) -> Subscriptions {
        let mut barrier = "estatewatch/subscribe-barrier".to_string();
        while topics.contains(&barrier) {
            barrier.push_str("/0");
        }
        Subscriptions {
            filters: topics
                .into_iter()
                .map(|t| (t, State::Pending { alone: false }))
                .collect(),
            barrier,
            batch: None,
            online: false,
            settled: false,
            logged: HashSet::new(),
        }
    }

    /// A new connection (CONNACK): everything not held is subscribed again;
    /// suspects stay alone.
    pub fn connected(&mut self) {
        self.online = true;
        self.batch = None;
        self.settled = false;
        for (_, s) in &mut self.filters {
            *s = match *s {
                State::Pending { alone } => State::Pending { alone },
                State::Sent | State::Active => State::Pending { alone: false },
                held @ State::Held { .. } => held,
            };
        }
    }

    /// Queues the next batch when none is outstanding; re-sends a batch not
    /// acknowledged in time; brings back held filters whose time is up.
    pub fn pump(&mut self, client: &AsyncClient, now: Instant) {
        if !self.online {
            return;
        }
        for (_, s) in &mut self.filters {
            if matches!(*s, State::Held { until } if now >= until) {
                *s = State::Pending { alone: true };
            }
        }
        if let Some(b) = &mut self.batch {
            if now.saturating_duration_since(b.sent_at) < ACK_TIMEOUT {
                if !b.barrier_queued {
                    b.barrier_queued = client.try_unsubscribe(self.barrier.clone()).is_ok();
                }
                return;
            }
            tracing::debug!(
                filters = b.filters.len(),
                "sensor subscription not acknowledged in time; sending it again"
            );
            self.end_batch();
        }
        let Some(filters) = self.next_batch() else {
            return;
        };
        let request = filters
            .iter()
            .map(|&i| rumqttc::SubscribeFilter::new(self.filters[i].0.clone(), QoS::AtMostOnce));
        if let Err(e) = client.try_subscribe_many(request) {
            // The request queue is full (or the input is stopping): the
            // filters stay pending and the next event tries again.
            tracing::debug!(error = %e, "sensor subscription not queued yet");
            return;
        }
        for &i in &filters {
            self.filters[i].1 = State::Sent;
        }
        let barrier_queued = client.try_unsubscribe(self.barrier.clone()).is_ok();
        self.batch = Some(Batch {
            filters,
            sent_at: now,
            sub_pkid: None,
            barrier_pkid: None,
            barrier_queued,
            subacked: false,
        });
    }

    /// Forgets the outstanding batch; its filters without a SUBACK verdict
    /// are subscribed again.
    fn end_batch(&mut self) {
        for i in self.batch.take().map(|b| b.filters).unwrap_or_default() {
            if self.filters[i].1 == State::Sent {
                self.filters[i].1 = State::Pending { alone: false };
            }
        }
    }

    /// The filters of the next SUBSCRIBE: pending ones together, up to the
    /// limits, then each suspect alone.
    fn next_batch(&self) -> Option<Vec<usize>> {
        let mut out = Vec::new();
        let mut bytes = 0;
        for (i, (topic, s)) in self.filters.iter().enumerate() {
            if *s != (State::Pending { alone: false }) {
                continue;
            }
            if !out.is_empty() && (out.len() >= BATCH_FILTERS || bytes + topic.len() > BATCH_BYTES)
            {
                break;
            }
            bytes += topic.len();
            out.push(i);
        }
        if out.is_empty() {
            let alone = self
                .filters
                .iter()
                .position(|(_, s)| *s == State::Pending { alone: true })?;
            out.push(alone);
        }
        Some(out)
    }

    /// Follows the packets of the outstanding batch: the packet ids rumqttc
    /// gave them, the SUBACK's verdict on each filter, the barrier's UNSUBACK.
    pub fn on_event(&mut self, event: &Event, now: Instant) {
        let Some(b) = &mut self.batch else {
            return;
        };
        match event {
            Event::Outgoing(Outgoing::Subscribe(pkid)) if b.sub_pkid.is_none() => {
                b.sub_pkid = Some(*pkid);
            }
            Event::Outgoing(Outgoing::Unsubscribe(pkid))
                if b.barrier_queued && b.barrier_pkid.is_none() =>
            {
                b.barrier_pkid = Some(*pkid);
            }
            Event::Incoming(Packet::SubAck(ack)) if b.sub_pkid == Some(ack.pkid) && !b.subacked => {
                b.subacked = true;
                let filters = b.filters.clone();
                for (n, i) in filters.into_iter().enumerate() {
                    match ack.return_codes.get(n) {
                        Some(rumqttc::SubscribeReasonCode::Success(_)) => {
                            self.filters[i].1 = State::Active;
                            self.logged
                                .remove(&format!("refused {}", self.filters[i].0));
                        }
                        Some(rumqttc::SubscribeReasonCode::Failure) => {
                            self.filters[i].1 = State::Held {
                                until: now + RETRY_AFTER,
                            };
                            let topic = self.filters[i].0.clone();
                            if self.logged.insert(format!("refused {topic}")) {
                                tracing::warn!(
                                    %topic,
                                    retry_s = RETRY_AFTER.as_secs(),
                                    "the broker refused the subscription to a sensor topic (check its ACL); retrying"
                                );
                            }
                        }
                        // No verdict for this filter: subscribe it again.
                        None => self.filters[i].1 = State::Pending { alone: false },
                    }
                }
            }
            Event::Incoming(Packet::UnsubAck(ack)) if b.barrier_pkid == Some(ack.pkid) => {
                for &i in &b.filters {
                    let topic = &self.filters[i].0;
                    if self.filters[i].1 == State::Active
                        && self.logged.remove(&format!("oversized {topic}"))
                    {
                        tracing::info!(%topic, "sensor topic subscribed again");
                    }
                }
                self.end_batch();
            }
            _ => {}
        }
    }

    /// The connection failed; nothing more is sent until the next CONNACK.
    pub fn disconnected(&mut self) {
        self.online = false;
        self.batch = None;
    }

    /// The connection was dropped because a message was larger than
    /// [`MAX_INCOMING_PACKET`] (`size` bytes).
    pub fn on_oversized(&mut self, size: usize, now: Instant) {
        let limit = MAX_INCOMING_PACKET;
        self.online = false;
        match self.batch.take() {
            Some(b) if b.filters.len() == 1 => {
                let i = b.filters[0];
                self.filters[i].1 = State::Held {
                    until: now + RETRY_AFTER,
                };
                let topic = self.filters[i].0.clone();
                if self.logged.insert(format!("oversized {topic}")) {
                    tracing::warn!(
                        %topic,
                        size,
                        limit,
                        retry_s = RETRY_AFTER.as_secs(),
                        "a message on a sensor topic is larger than the sensor input's packet limit; that topic is left out and retried later, the other sensors go on"
                    );
                }
            }
            Some(b) => {
                tracing::debug!(
                    suspects = b.filters.len(),
                    size,
                    "oversized message while subscribing; subscribing those topics one by one"
                );
                for i in b.filters {
                    self.filters[i].1 = State::Pending { alone: true };
                }
            }
            None => {
                if self.logged.insert("oversized live".to_string()) {
                    tracing::warn!(
                        size,
                        limit,
                        "a message larger than the sensor input's packet limit arrived on a sensor topic (which one, the MQTT client cannot tell); it was dropped with the connection"
                    );
                }
            }
        }
    }

    /// True once per connection, when every filter is through (granted,
    /// refused or held) and no batch is outstanding: the connection works.
    pub fn take_settled(&mut self) -> bool {
        if self.settled
            || !self.online
            || self.batch.is_some()
            || self
                .filters
                .iter()
                .any(|(_, s)| matches!(s, State::Pending { .. } | State::Sent))
        {
            return false;
        }
        self.settled = true;
        let active = self
            .filters
            .iter()
            .filter(|(_, s)| *s == State::Active)
            .count();
        tracing::info!(
            subscribed = active,
            left_out = self.filters.len() - active,
            "sensor topics subscribed"
        );
        true
    }
}
