//! Base: the small helpers several rooms share, so that none of them has to
//! borrow from another: recovering a poisoned lock ([`lock`],
//! [`wait_timeout`]), retry [`Backoff`] with its one [`jitter`] rule, a
//! repeated-duration [`Timing`], the even-odd [`point_in_polygon`] test and
//! the simple-polygon check [`simple_polygon`] the config's zones pass,
//! text on pictures ([`font`]: a CJK TrueType font, or a bitmap fallback),
//! and the one rule for hiding secrets in text ([`redact`]: URL credentials,
//! secret parameters, webhook paths).
//!
//! Base imports nothing from the rest of the crate, so every module may use
//! it without making an import circle. Keep it that way: a helper that needs
//! a config section or an alert type belongs to the room that owns those.

mod backoff;
pub mod font;
mod geometry;
mod redact;
mod sync;
mod timing;

pub use backoff::{jitter, Backoff, JITTER_FLOOR};
pub use geometry::{point_in_polygon, simple_polygon, PolygonFault};
pub use redact::{redact, UrlPaths, MASK, SECRET_PARAMS};
pub use sync::{lock, wait_timeout};
pub use timing::Timing;
