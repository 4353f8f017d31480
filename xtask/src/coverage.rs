//! Operations implemented by the `tessera` binary, against every operation in the models.
//!
//! The binary is the source of truth (`tessera operations` prints what its dispatcher routes), so
//! this number cannot drift from what a client actually reaches.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

pub fn run(models: &Path, root: &Path) -> Result<()> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args(["run", "--quiet", "--package", "tessera", "--", "operations"])
        .output()
        .context("run `tessera operations`")?;
    if !output.status.success() {
        bail!(
            "`tessera operations` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8(output.stdout)?;
    // `service.Operation`, or `service.Operation<TAB>refused: why` for an honest error.
    let implemented: BTreeSet<String> = stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap_or(l).to_string())
        .collect();
    let refused: BTreeSet<String> = stdout
        .lines()
        .filter_map(|l| l.split_once('\t').map(|(op, _)| op.to_string()))
        .collect();

    let (mut total, mut done) = (0usize, 0usize);
    // The Cognito services have generated wire shapes; IAM and STS (the Query protocol) are
    // counted from their models too, though their shapes are written by hand.
    let services = crate::SERVICES
        .iter()
        .map(|(service, _)| *service)
        .chain(["iam", "sts"]);
    for service in services {
        let text = std::fs::read_to_string(models.join(format!("{service}.json")))?;
        let model: Value = serde_json::from_str(&text)?;
        let ops: BTreeSet<&str> = model["operations"]
            .as_object()
            .context("operations")?
            .keys()
            .map(String::as_str)
            .collect();
        let have: Vec<&str> = ops
            .iter()
            .copied()
            .filter(|op| implemented.contains(&format!("{service}.{op}")))
            .collect();
        let missing: Vec<&str> = ops
            .iter()
            .copied()
            .filter(|op| !implemented.contains(&format!("{service}.{op}")))
            .collect();
        println!(
            "{service}: {}/{} operations ({:.0}%)",
            have.len(),
            ops.len(),
            100.0 * have.len() as f64 / ops.len().max(1) as f64
        );
        let honest: Vec<&str> = have
            .iter()
            .copied()
            .filter(|op| refused.contains(&format!("{service}.{op}")))
            .collect();
        println!("  implemented: {}", have.join(", "));
        if !honest.is_empty() {
            println!("  of which an honest error only: {}", honest.join(", "));
        }
        println!("  not yet:     {}", missing.join(", "));
        total += ops.len();
        done += have.len();
    }
    println!(
        "total: {done}/{total} ({:.0}%)",
        100.0 * done as f64 / total.max(1) as f64
    );
    Ok(())
}
