//! Developer tasks for Tessera.
//!
//! - `cargo xtask gen-wire [MODELS_DIR]`: regenerate `crates/wire/src/generated/*` from the AWS models
//!   (default `../shared/reference/aws-models`). The output is committed so a build never needs the models.
//! - `cargo xtask coverage [MODELS_DIR]`: operations implemented by the `tessera` binary vs. the models.

mod coverage;
mod gen_wire;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let root = workspace_root()?;
    let models = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/reference/aws-models"));
    match task.as_str() {
        "gen-wire" => gen_wire::run(&models, &root.join("crates/wire/src/generated")),
        "coverage" => coverage::run(&models, &root),
        _ => bail!("usage: cargo xtask <gen-wire|coverage> [MODELS_DIR]"),
    }
}

fn workspace_root() -> Result<PathBuf> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").context("run through `cargo xtask`")?;
    Ok(Path::new(&manifest)
        .parent()
        .context("xtask lives in the workspace")?
        .to_path_buf())
}

/// The services Tessera speaks, with the module name their generated code lives in.
pub(crate) const SERVICES: &[(&str, &str)] = &[
    ("cognito-idp", "idp"),
    ("cognito-identity", "identity"),
    ("cognito-sync", "sync"),
];
