//! Tessera's wire layer: the request and response shapes of cognito-idp, cognito-identity and
//! cognito-sync exactly as the AWS models define them, and a validator that enforces each model
//! constraint with the message AWS would send.
//!
//! Everything under `generated/` comes from `cargo xtask gen-wire`; this file and `model.rs` are the
//! hand-written glue. Behaviour lives elsewhere: this crate only knows shapes.

mod generated;
pub mod model;

pub use generated::{identity, idp, sync};

/// How much of a client's value an error message may repeat back. Cognito's messages are short;
/// a request value copied whole (a 1.5 MB `SRP_A`) makes an `x-amzn-ErrorMessage` header no HTTP
/// client or proxy accepts, and a log line nobody wants.
pub const ECHO_LIMIT: usize = 256;

/// `value` as an error message may show it: at most [`ECHO_LIMIT`] characters, then `...`.
pub fn echo(value: &str) -> std::borrow::Cow<'_, str> {
    cut(value, ECHO_LIMIT)
}

/// `value` cut to at most `limit` characters, marked with `...` when it was longer.
pub fn cut(value: &str, limit: usize) -> std::borrow::Cow<'_, str> {
    match value.char_indices().nth(limit) {
        None => std::borrow::Cow::Borrowed(value),
        Some((at, _)) => std::borrow::Cow::Owned(format!("{}...", &value[..at])),
    }
}

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An AWS JSON timestamp: seconds since the Unix epoch, fractional allowed.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct Timestamp(pub f64);

impl Timestamp {
    pub fn from_millis(ms: i64) -> Self {
        Self(ms as f64 / 1000.0)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.fract() == 0.0 && self.0.abs() < 1e15 {
            s.serialize_i64(self.0 as i64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        f64::deserialize(d).map(Timestamp)
    }
}

/// Every service Tessera speaks.
pub static SERVICES: [&model::Service; 3] = [&idp::SERVICE, &identity::SERVICE, &sync::SERVICE];
