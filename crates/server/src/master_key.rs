//! Master-key rotation as an operator runs it (`tessera master-key rotate`), and running servers
//! picking up a rotated key file.
//!
//! With the key in the data directory (the default SQLite deployment), a rotation appends the old
//! key to `master.key.previous` (one key a line), writes the new key to `master.key.new` and
//! renames it over `master.key`, so a reader sees either the old or the new file, never a partial
//! one. Running servers read the files every [`KEY_FILE_POLL`] and switch to the new key (keeping
//! the old ones to open with); the rotation waits for that before it re-seals anything.
//!
//! With a configured key (`TESSERA_MASTER_KEY`), configuration is the operator's (or their
//! orchestrator's) to roll out: the rotation takes the new key from configuration or
//! `--new-key-file`, the old ones from `previous_master_keys`, and only re-seals.

use crate::config::Settings;
use crate::secrets;
pub use crate::secrets::{MASTER_KEY_FILE, PREVIOUS_KEYS_FILE};
use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tessera_crypto::seal::MasterKey;
use tessera_engine::Engine;
use tessera_engine::master_key::ResealReport;
use zeroize::Zeroizing;

/// How often servers whose key lives in the data directory look for a rotated key file.
pub const KEY_FILE_POLL: Duration = Duration::from_secs(5);

/// Rows re-sealed per transaction: short transactions, so servers keep writing in between.
pub const RESEAL_ROWS: usize = 200;

/// What `rotate` did.
pub struct Rotation {
    pub report: ResealReport,
    /// The key's new and previous ids.
    pub key_ids: (String, Vec<String>),
    /// Where the new key was written (data-directory keys only).
    pub key_file: Option<PathBuf>,
}

/// Rotates to a new master key and re-seals every secret with it. `engine` must have been built
/// from `settings` (so the store is known to open with the current keys). `settle` is how long to
/// wait, after replacing a key file, for running servers to read it.
pub async fn rotate(
    settings: &Settings,
    engine: &Engine,
    new_key_file: Option<&Path>,
    settle: Duration,
) -> Result<Rotation> {
    let new_key = new_key_file
        .map(|path| -> Result<Zeroizing<String>> {
            let text = Zeroizing::new(
                std::fs::read_to_string(path)
                    .with_context(|| format!("read {}", path.display()))?,
            );
            secrets::decode_key(&text, &path.display().to_string())?;
            Ok(Zeroizing::new(text.trim().to_string()))
        })
        .transpose()?;
    let mut key_file = None;
    match (&settings.master_key, new_key) {
        // Configured keys: the new one is configured already, or given by file.
        (Some(current), Some(new)) => {
            let mut previous = vec![secrets::decode_key(current, "configuration")?];
            previous.extend(secrets::previous_keys(settings)?);
            refuse_same_key(engine, &new)?;
            engine.replace_master_keys(secrets::decode_key(&new, "--new-key-file")?, previous);
        }
        (Some(_), None) => {
            if engine.master_key_ids().1.is_empty() {
                tracing::warn!(
                    "no previous master keys configured: re-sealing only moves values sealed before key ids existed"
                );
            }
        }
        (None, new) => {
            let new = match new {
                Some(text) => text,
                None => {
                    let (_, bytes) = MasterKey::generate();
                    Zeroizing::new(STANDARD.encode(bytes.as_ref()))
                }
            };
            refuse_same_key(engine, &new)?;
            key_file = Some(replace_key_file(&settings.data_dir, &new)?);
            engine.replace_master_keys(ring_current(settings)?, secrets::previous_keys(settings)?);
            tokio::time::sleep(settle).await;
        }
    }
    let report = engine
        .reseal_master_key(RESEAL_ROWS)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Rotation {
        report,
        key_ids: engine.master_key_ids(),
        key_file,
    })
}

fn refuse_same_key(engine: &Engine, new: &str) -> Result<()> {
    let id = tessera_engine::master_key::key_id_hex(&secrets::decode_key(new, "the new key")?.id());
    if engine.master_key_ids().0 == id {
        bail!("the new master key is the current one");
    }
    Ok(())
}

/// The master key in the data directory, without generating one.
fn ring_current(settings: &Settings) -> Result<MasterKey> {
    let path = settings.data_dir.join(MASTER_KEY_FILE);
    let text = Zeroizing::new(
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?,
    );
    secrets::decode_key(&text, &path.display().to_string())
}

/// Appends the current key file's key to the previous-keys file, then puts `new` in its place
/// atomically. Returns the key file's path.
fn replace_key_file(dir: &Path, new: &str) -> Result<PathBuf> {
    let path = dir.join(MASTER_KEY_FILE);
    let current = Zeroizing::new(
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?,
    );
    // The old key first: a server reading the files at any moment opens everything.
    let previous = dir.join(PREVIOUS_KEYS_FILE);
    if !previous.exists() {
        secrets::write_private(&previous, b"")?;
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&previous)
        .with_context(|| format!("open {}", previous.display()))?;
    file.write_all(format!("{}\n", current.trim()).as_bytes())?;
    file.sync_all()?;
    let staged = dir.join(format!("{MASTER_KEY_FILE}.new"));
    // Left by an interrupted rotation: nothing was ever sealed with it.
    if staged.exists() {
        std::fs::remove_file(&staged)?;
    }
    secrets::write_private(&staged, new.as_bytes())?;
    std::fs::rename(&staged, &path)
        .with_context(|| format!("rename {} to {}", staged.display(), path.display()))?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(path)
}

/// Keeps a server whose key lives in the data directory on the key files' current keys.
pub async fn follow_key_files(settings: Settings, engine: Engine) {
    let mut tick = tokio::time::interval(KEY_FILE_POLL);
    loop {
        tick.tick().await;
        let keys = ring_current(&settings).and_then(|current| {
            secrets::previous_keys(&settings).map(|previous| (current, previous))
        });
        match keys {
            Ok((current, previous)) => {
                let id = tessera_engine::master_key::key_id_hex(&current.id());
                let previous_ids: Vec<String> = previous
                    .iter()
                    .map(|k| tessera_engine::master_key::key_id_hex(&k.id()))
                    .filter(|p| *p != id)
                    .collect();
                if engine.master_key_ids() != (id.clone(), previous_ids) {
                    engine.replace_master_keys(current, previous);
                    tracing::info!(key_id = %id, "picked up the master key files");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read the master key files"),
        }
    }
}
