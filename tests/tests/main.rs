//! Tessera against the official AWS SDK for Rust. One test binary; each test spawns its own app.
// Helpers outside #[test] functions are test code too; a failed setup should panic loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod branding;
mod clients;
mod devices;
mod domains;
mod durability;
mod groups;
mod identity;
mod messaging;
mod mfa;
mod operations;
mod pool_settings;
mod pools;
mod recovery;
mod srp;
mod sts;
mod support;
mod tokens;
mod triggers;
mod users;
mod wire;
