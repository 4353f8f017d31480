//! Test fixtures for crates that deliver mail and texts through this one (enable the `testing`
//! feature in their `[dev-dependencies]`): a real SMTP server and a webhook endpoint on
//! 127.0.0.1 that record what reaches them and can be told to fail.
//!
//! They panic when they cannot start, like an assertion: they are for tests only.

mod mime;
mod smtp_sink;
mod webhook_sink;

pub use smtp_sink::{ReceivedMail, SmtpSink};
pub use webhook_sink::WebhookSink;

use std::time::Duration;
use tokio::sync::Notify;

/// Waits until `count()` reaches `n` or `timeout` passes; `arrived` is notified on each arrival.
async fn wait_until(arrived: &Notify, n: usize, timeout: Duration, count: impl Fn() -> usize) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let notified = arrived.notified();
        tokio::pin!(notified);
        // Registered before the check, so an arrival between the check and the wait still wakes us.
        notified.as_mut().enable();
        if count() >= n {
            return;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return;
        }
    }
}
