//! Delivery against real servers on 127.0.0.1: the SMTP and webhook sinks from `testing`.

// Test helpers outside `#[test]` functions panic on failure too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod routing;
mod sms;
mod smtp;

use tessera_domain::Timestamp;
use tessera_domain::messages::{Channel, OutboundMessage};
use uuid::Uuid;

const WAIT: std::time::Duration = std::time::Duration::from_secs(5);

fn email(to: &str, subject: Option<&str>, body: &str) -> OutboundMessage {
    OutboundMessage {
        id: Uuid::new_v4(),
        pool_id: "us-east-1_Test".into(),
        channel: Channel::Email,
        to: to.into(),
        subject: subject.map(str::to_string),
        body: body.into(),
        from: None,
        reply_to: None,
        created_at: Timestamp::from_millis(1_700_000_000_000),
        sender: None,
    }
}

fn sms(to: &str, body: &str) -> OutboundMessage {
    OutboundMessage {
        channel: Channel::Sms,
        subject: None,
        ..email(to, None, body)
    }
}
