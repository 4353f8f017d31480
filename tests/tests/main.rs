//! Tessera against the official AWS SDK for Rust. One test binary; each test spawns its own app.

mod auth;
mod clients;
mod durability;
mod pools;
mod support;
mod tokens;
mod users;
mod wire;
