//! What the admin console needs from the engine besides the API operations it runs: its session
//! cookie is sealed with the master key (so any node of a deployment opens any node's cookie and
//! nothing about a session lives in a node's memory), and its clock is the engine's.

use tessera_domain::Timestamp;

/// The AEAD purpose of console session cookies: no other sealed value opens as one.
const CONSOLE_SESSION_PURPOSE: &str = "tessera/console-session/v1";

impl crate::Engine {
    /// Seals a console session's bytes for its cookie.
    pub fn seal_console_session(&self, plain: &[u8]) -> Vec<u8> {
        self.inner.master.seal(CONSOLE_SESSION_PURPOSE, plain)
    }

    /// Opens what [`Self::seal_console_session`] sealed; `None` for anything else (tampered,
    /// another deployment's, another purpose's).
    pub fn open_console_session(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        self.inner
            .master
            .open(CONSOLE_SESSION_PURPOSE, sealed)
            .ok()
            .map(|plain| plain.to_vec())
    }

    /// "Now" as the engine sees it (the injected clock), for console session timeouts.
    pub fn console_now(&self) -> Timestamp {
        self.now()
    }
}
