//! The breach corpus of a running server: the filter `tessera breach import` left in the data
//! directory (looked up where it lies, through the page cache: no heap copy, see
//! [`tessera_breach::FilterFile`]) and the k-anonymity range API behind the outbound guard.

use anyhow::{Context, Result};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tessera_engine::threat::{BreachRange, ThreatConfig};

/// The range API over HTTP: `GET {base}{prefix}`, short timeouts, `Add-Padding` so the size
/// of the answer says nothing about the prefix either.
pub struct RangeClient {
    base: String,
    client: reqwest::Client,
}

impl RangeClient {
    pub fn new(base: &str, timeout: Duration, allow_private: bool) -> Result<Self> {
        let url = reqwest::Url::parse(base).context("threat.hibp_range_url")?;
        tessera_outbound::check_ip_literal(&url, allow_private)
            .context("threat.hibp_range_url (set allow_private_webhooks to reach it)")?;
        let client = tessera_outbound::client_builder(allow_private)
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .context("range API client")?;
        Ok(Self {
            base: base.to_string(),
            client,
        })
    }
}

#[async_trait::async_trait]
impl BreachRange for RangeClient {
    async fn range(&self, prefix: &str) -> Result<String, String> {
        let response = self
            .client
            .get(format!("{}{prefix}", self.base))
            .header("Add-Padding", "true")
            .send()
            .await
            .map_err(|e| tessera_outbound::error_chain(&e))?;
        if !response.status().is_success() {
            return Err(format!("range API answered {}", response.status()));
        }
        response
            .text()
            .await
            .map_err(|e| tessera_outbound::error_chain(&e))
    }
}

/// Opens (and checks) a filter file written by `tessera breach import`.
pub fn load_filter(path: &Path) -> Result<tessera_breach::FilterFile> {
    tessera_breach::FilterFile::open(path)
        .with_context(|| format!("open breach filter {}", path.display()))
}

/// The engine's threat configuration from validated settings: the filter opened, the GeoIP
/// database loaded, the range client built.
pub fn threat_config(
    settings: &crate::config::ThreatSettings,
    allow_private: bool,
) -> Result<ThreatConfig> {
    let filter = match &settings.breach_filter {
        Some(path) if path.exists() || settings.breach_filter_required => {
            let filter = load_filter(path)?;
            tracing::info!(
                path = %path.display(),
                entries = filter.entries(),
                bytes = filter.fingerprint_bytes(),
                "breach filter loaded"
            );
            Some(Arc::new(filter))
        }
        _ => None,
    };
    let range = match &settings.hibp_range_url {
        Some(url) => Some(
            Arc::new(RangeClient::new(url, settings.hibp_timeout, allow_private)?)
                as Arc<dyn BreachRange>,
        ),
        None => None,
    };
    let geo = match &settings.geoip_database {
        Some(path) => {
            let db = crate::geoip::GeoDatabase::open(path)?;
            tracing::info!(path = %path.display(), kind = db.database_type(), "GeoIP database loaded");
            Some(Arc::new(db) as Arc<dyn tessera_engine::threat::GeoLocate>)
        }
        None => None,
    };
    Ok(ThreatConfig {
        filter,
        range,
        geo,
        range_timeout: settings.hibp_timeout,
        event_retention: settings.event_retention,
    })
}

/// What `tessera breach import` did.
#[derive(Clone, Copy, Debug)]
pub struct Imported {
    pub stats: tessera_breach::ImportStats,
    pub entries: u64,
    pub bytes: u64,
    pub bits: tessera_breach::Bits,
}

/// Builds a filter from an HIBP "SHA1:count" file (`-`: standard input) and writes it to
/// `output` atomically (a temporary file beside it, then a rename), so a running node never
/// reads half a filter.
pub fn import_file(
    input: &Path,
    output: &Path,
    min_count: u64,
    bits: tessera_breach::Bits,
) -> Result<Imported> {
    let (filter, stats) = if input == Path::new("-") {
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        tessera_breach::import(&mut lock, min_count, bits)
    } else {
        let file =
            std::fs::File::open(input).with_context(|| format!("open {}", input.display()))?;
        let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
        tessera_breach::import(&mut reader, min_count, bits)
    }
    .with_context(|| format!("import {}", input.display()))?;
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    let tmp = output.with_extension("tmp");
    {
        let file =
            std::fs::File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        filter
            .write_to(&mut w)
            .with_context(|| format!("write {}", tmp.display()))?;
        let file = w
            .into_inner()
            .map_err(|e| anyhow::anyhow!("write {}: {}", tmp.display(), e.error()))?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, output)
        .with_context(|| format!("move {} to {}", tmp.display(), output.display()))?;
    Ok(Imported {
        stats,
        entries: filter.entries(),
        bytes: filter.fingerprint_bytes(),
        bits,
    })
}
