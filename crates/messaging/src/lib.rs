//! Message delivery for Tessera: the outbox worker hands each verification code, invitation or
//! password reset to a [`tessera_engine::Messenger`]; this crate holds the real ones — email over
//! SMTP and SMS through an operator's HTTP webhook — so the engine stays free of network code.

mod body;
mod error;
mod router;
mod sms;
mod smtp;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::ConfigError;
pub use router::Messengers;
pub use sms::{DEFAULT_WEBHOOK_TIMEOUT, SmsWebhook};
pub use smtp::{DEFAULT_SEND_TIMEOUT, DEFAULT_SUBJECT, SmtpMessenger};
