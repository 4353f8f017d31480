//! Tessera's domain: the model of user pools and the rules Cognito applies to them.
//!
//! Pure by design — no I/O, no async, no clock reads. Time and randomness come in as arguments, so
//! every rule here is testable with plain values. Errors are [`DomainError`]s named after the
//! Cognito exception a client should see.

pub mod attributes;
pub mod branding;
pub mod choice;
pub mod cimd;
pub mod client;
pub mod codes;
pub mod console;
pub mod devices;
pub mod domains;
pub mod error;
pub mod filter;
pub mod flow;
pub mod groups;
pub mod iam;
pub mod identity;
pub mod identity_providers;
pub mod ids;
pub mod lockout;
pub mod messages;
pub mod mfa;
pub mod oauth;
pub mod passkeys;
pub mod password;
pub mod pool;
pub mod pool_settings;
pub mod quotas;
pub mod recovery;
pub mod resource_servers;
pub mod sessions;
pub mod sync;
pub mod terms;
pub mod threat;
pub mod time;
pub mod tokens;
pub mod triggers;
pub mod ui_css;
pub mod user;
pub mod user_import;

pub use error::{DomainError, DomainResult, ErrorKind};
pub use ids::{ClientId, Sub, UserPoolId, Username};
pub use time::Timestamp;
