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
use tessera_crypto::seal::MasterKey;
use zeroize::Zeroizing;

fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
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

pub fn master_key(settings: &Settings) -> Result<MasterKey> {
    let decode = |text: &str, from: &str| -> Result<MasterKey> {
        let bytes = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .with_context(|| format!("the master key from {from} is not base64"))?,
        );
        MasterKey::from_bytes(&bytes)
            .with_context(|| format!("the master key from {from} must be 32 bytes"))
    };
    if let Some(text) = &settings.master_key {
        return decode(text, "configuration");
    }
    let path = settings.data_dir.join("master.key");
    if path.exists() {
        let text = Zeroizing::new(std::fs::read_to_string(&path)?);
        return decode(&text, &path.display().to_string());
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
    Ok(key)
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
