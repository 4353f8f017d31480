//! Tessera's wire layer: the request and response shapes of cognito-idp, cognito-identity and
//! cognito-sync exactly as the AWS models define them, and a validator that enforces each model
//! constraint with the message AWS would send.
//!
//! Everything under `generated/` comes from `cargo xtask gen-wire`; this file and `model.rs` are the
//! hand-written glue. Behaviour lives elsewhere: this crate only knows shapes.

mod generated;
pub mod model;

pub use generated::{identity, idp, sync};

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
