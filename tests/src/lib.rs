//! Tessera's integration tests live in `tests/` (one test binary, `tests/main.rs`): the official
//! AWS SDK for Rust, pointed at `spawn_app()` on port 0, exactly as an application would use it.
