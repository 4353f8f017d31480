//! What can be wrong with a messenger's configuration (found at startup, not at send time).

/// A messenger could not be built from its configuration.
///
/// Messages never echo the configured URL back, because it may carry SMTP credentials or a webhook
/// token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The URL does not parse, or lacks a host.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The scheme or a query parameter asks for something this crate does not do.
    #[error("unsupported URL: {0}")]
    Unsupported(String),
    /// A configured sender address does not parse as a mailbox.
    #[error("invalid email address {0:?}")]
    InvalidAddress(String),
    /// The webhook points at a private, loopback, link-local or otherwise internal address and the
    /// operator has not allowed that.
    #[error("refusing internal address {0} (allow private addresses to use it)")]
    ForbiddenAddress(String),
    /// The TLS or HTTP client could not be set up.
    #[error("client setup failed: {0}")]
    Client(String),
}
