//! The deployment's own secrets: the master key (seals signing keys, client secrets and SRP
//! verifiers at rest) and the root credentials (sign admin API calls).
//!
//! Configured values win. Otherwise they're read from, or generated into, the data directory
//! with mode 0600 — fine for one node; several nodes must be given the same values.

use crate::config::{Database, Settings};
use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use tessera_crypto::seal::{Keyring, MasterKey};
use zeroize::Zeroizing;

/// Creates `path` with mode 0600 and `contents`, durably; fails if it exists.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(())
}

/// The master key file in a data directory.
pub const MASTER_KEY_FILE: &str = "master.key";
/// The keys `tessera master-key rotate` replaced in a data directory, one base64 key a line.
pub const PREVIOUS_KEYS_FILE: &str = "master.key.previous";

/// A base64 master key, from `from` (named in errors, never the key itself).
pub(crate) fn decode_key(text: &str, from: &str) -> Result<MasterKey> {
    let bytes = Zeroizing::new(
        STANDARD
            .decode(text.trim())
            .with_context(|| format!("the master key from {from} is not base64"))?,
    );
    MasterKey::from_bytes(&bytes)
        .with_context(|| format!("the master key from {from} must be 32 bytes"))
}

/// The previous keys: configured ones, then (when the key lives in the data directory) those
/// of its previous-keys file.
pub(crate) fn previous_keys(settings: &Settings) -> Result<Vec<MasterKey>> {
    let mut keys = settings
        .previous_master_keys
        .iter()
        .enumerate()
        .map(|(i, text)| decode_key(text, &format!("previous_master_keys[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    if settings.master_key.is_none() {
        let path = settings.data_dir.join(PREVIOUS_KEYS_FILE);
        if path.exists() {
            let text = Zeroizing::new(std::fs::read_to_string(&path)?);
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                keys.push(decode_key(line, &path.display().to_string())?);
            }
        }
    }
    Ok(keys)
}

/// The master key (configured, or read from or generated into the data directory) and the
/// keys it replaced.
pub fn master_key(settings: &Settings) -> Result<Keyring> {
    let previous = previous_keys(settings)?;
    if let Some(text) = &settings.master_key {
        return Ok(Keyring::new(decode_key(text, "configuration")?, previous));
    }
    let path = settings.data_dir.join(MASTER_KEY_FILE);
    if path.exists() {
        let text = Zeroizing::new(std::fs::read_to_string(&path)?);
        return Ok(Keyring::new(
            decode_key(&text, &path.display().to_string())?,
            previous,
        ));
    }
    let (key, bytes) = MasterKey::generate();
    write_private(&path, STANDARD.encode(bytes.as_ref()).as_bytes())?;
    if matches!(settings.database, Database::Postgres(_)) {
        tracing::warn!(
            path = %path.display(),
            "generated a master key for a shared database: every node must use the same one (set TESSERA_MASTER_KEY to this file's contents)"
        );
    } else {
        tracing::info!(path = %path.display(), "generated the master key");
    }
    Ok(Keyring::new(key, previous))
}

#[derive(Clone, Serialize, Deserialize)]
pub struct RootCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Where they came from, for the start-up banner; None when configured.
    #[serde(skip)]
    pub file: Option<PathBuf>,
    #[serde(skip)]
    pub generated: bool,
}

impl std::fmt::Debug for RootCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn root_credentials(settings: &Settings) -> Result<RootCredentials> {
    if let Some((id, secret)) = &settings.root_credentials {
        return Ok(RootCredentials {
            access_key_id: id.clone(),
            secret_access_key: secret.clone(),
            file: None,
            generated: false,
        });
    }
    let path = settings.data_dir.join("root-credentials.json");
    if path.exists() {
        let text = std::fs::read_to_string(&path)?;
        let mut creds: RootCredentials = serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid credentials JSON", path.display()))?;
        if creds.access_key_id.is_empty() || creds.secret_access_key.is_empty() {
            bail!("{} has empty credentials", path.display());
        }
        creds.file = Some(path);
        return Ok(creds);
    }
    let creds = RootCredentials {
        access_key_id: format!(
            "AKIA{}",
            tessera_crypto::random::string_from(UPPER_ALNUM, 16)
        ),
        secret_access_key: tessera_crypto::random::string_from(SECRET_CHARS, 40),
        file: Some(path.clone()),
        generated: true,
    };
    write_private(&path, serde_json::to_string_pretty(&creds)?.as_bytes())?;
    Ok(creds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn key() -> (String, tessera_crypto::seal::KeyId) {
        let (k, bytes) = MasterKey::generate();
        (STANDARD.encode(bytes.as_ref()), k.id())
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's own error type
    fn previous_keys_come_from_configuration_and_the_data_directory() {
        figment::Jail::expect_with(|jail| {
            let run = |jail: &mut figment::Jail| -> Result<()> {
                let ((a, a_id), (b, b_id), (c, c_id)) = (key(), key(), key());
                jail.set_env("TESSERA_DATA_DIR", "data");
                jail.set_env("TESSERA_PREVIOUS_MASTER_KEYS", format!("{a}, {b}"));
                std::fs::create_dir_all("data")?;
                std::fs::write(format!("data/{PREVIOUS_KEYS_FILE}"), format!("{c}\n\n"))?;
                // The key in the data directory: configured previous keys, then the file's.
                let settings = Settings::from_config(Config::load(None, &serde_json::json!({}))?)?;
                let ring = master_key(&settings)?;
                assert_eq!(ring.key_ids().1, vec![a_id, b_id, c_id]);
                // A configured key: the data directory's files are not read.
                jail.set_env("TESSERA_MASTER_KEY", &b);
                let settings = Settings::from_config(Config::load(None, &serde_json::json!({}))?)?;
                let ring = master_key(&settings)?;
                assert_eq!(ring.key_ids(), (b_id, vec![a_id]));
                // A malformed previous key stops the start, naming where it came from.
                jail.set_env("TESSERA_PREVIOUS_MASTER_KEYS", "not base64!");
                let settings = Settings::from_config(Config::load(None, &serde_json::json!({}))?)?;
                let err = master_key(&settings).err().map(|e| format!("{e:#}"));
                assert!(
                    err.as_deref()
                        .is_some_and(|e| e.contains("previous_master_keys[0]")),
                    "{err:?}"
                );
                Ok(())
            };
            run(jail).map_err(|e| format!("{e:#}").into())
        });
    }
}
