//! Where pool logs go (Set/GetLogDeliveryConfiguration): each destination ARN a pool names is
//! mapped by `log_delivery_destinations` (`ARN=file:///path.jsonl` or `ARN=https://…`) to a
//! JSON-lines file or an HTTP endpoint (POST, one JSON record per request, through the outbound
//! guard); an ARN not mapped goes to `{data_dir}/log-delivery/{ARN with / and : as _}.jsonl`,
//! so a configuration made with real AWS ARNs always delivers somewhere an operator can read.
//! Records queue in memory (bounded) and one task writes them in order.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tessera_engine::log_delivery::LogSink;
use tokio::sync::mpsc;

/// Records waiting for the writer; past this, new records are dropped with a warning.
const QUEUE: usize = 10_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    File(PathBuf),
    Http(String),
}

/// Parses `ARN=TARGET` entries.
pub fn destinations(entries: &[String]) -> Result<HashMap<String, Target>> {
    let mut out = HashMap::new();
    for entry in entries {
        let Some((arn, target)) = entry.split_once('=') else {
            bail!("log_delivery_destinations: {entry:?} is not ARN=TARGET");
        };
        let (arn, target) = (arn.trim(), target.trim());
        if !arn.starts_with("arn:") {
            bail!("log_delivery_destinations: {arn:?} is not an ARN");
        }
        let target = if let Some(path) = target.strip_prefix("file://") {
            if !path.starts_with('/') {
                bail!("log_delivery_destinations: {target:?} must be an absolute file:// path");
            }
            Target::File(PathBuf::from(path))
        } else if target.starts_with("https://") || target.starts_with("http://") {
            Target::Http(target.to_string())
        } else {
            bail!(
                "log_delivery_destinations: {target:?} must be file:///absolute/path or an http(s):// URL"
            );
        };
        out.insert(arn.to_string(), target);
    }
    Ok(out)
}

/// The file an unmapped ARN's records go to.
fn default_file(dir: &Path, arn: &str) -> PathBuf {
    let name: String = arn
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{name}.jsonl"))
}

pub struct LogDeliveries {
    queue: mpsc::Sender<(String, Value)>,
}

impl LogSink for LogDeliveries {
    fn deliver(&self, arn: &str, record: Value) {
        if self.queue.try_send((arn.to_string(), record)).is_err() {
            tracing::warn!(%arn, "pool log record dropped: the delivery queue is full");
        }
    }
}

struct Writer {
    mapped: HashMap<String, Target>,
    default_dir: PathBuf,
    http: reqwest::Client,
}

impl Writer {
    fn append(path: &Path, record: &Value) -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut line = record.to_string();
        line.push('\n');
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?
            .write_all(line.as_bytes())
    }

    async fn write(&self, arn: &str, record: Value) {
        let target = self
            .mapped
            .get(arn)
            .cloned()
            .unwrap_or_else(|| Target::File(default_file(&self.default_dir, arn)));
        match target {
            Target::File(path) => {
                let done =
                    tokio::task::spawn_blocking(move || Self::append(&path, &record).map(|_| path))
                        .await;
                match done {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::warn!(%arn, error = %e, "pool log record not written"),
                    Err(e) => tracing::warn!(%arn, error = %e, "pool log writer failed"),
                }
            }
            Target::Http(url) => {
                let sent = self
                    .http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(record.to_string())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => {}
                    Ok(r) => {
                        tracing::warn!(%arn, status = %r.status(), "pool log endpoint refused a record")
                    }
                    Err(e) => {
                        tracing::warn!(%arn, error = %tessera_outbound::error_chain(&e), "pool log record not sent")
                    }
                }
            }
        }
    }
}

impl LogDeliveries {
    /// The sink, and the task that must be spawned to write what it queues.
    pub fn new(
        mapped: HashMap<String, Target>,
        data_dir: &Path,
        allow_private: bool,
    ) -> Result<(Self, impl std::future::Future<Output = ()> + Send + 'static)> {
        let http = tessera_outbound::client_builder(allow_private)
            .timeout(Duration::from_secs(5))
            .build()
            .context("log delivery HTTP client")?;
        let writer = Writer {
            mapped,
            default_dir: data_dir.join("log-delivery"),
            http,
        };
        let (queue, mut rx) = mpsc::channel::<(String, Value)>(QUEUE);
        let task = async move {
            while let Some((arn, record)) = rx.recv().await {
                writer.write(&arn, record).await;
            }
        };
        Ok((Self { queue }, task))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_parsed_and_checked() {
        let d = destinations(&[
            "arn:aws:logs:us-east-1:000000000000:log-group:/cognito/notify=file:///var/log/n.jsonl"
                .into(),
            "arn:aws:firehose:us-east-1:000000000000:deliverystream/x = https://collector.test/in"
                .into(),
        ])
        .unwrap();
        assert_eq!(
            d["arn:aws:logs:us-east-1:000000000000:log-group:/cognito/notify"],
            Target::File("/var/log/n.jsonl".into())
        );
        assert_eq!(
            d["arn:aws:firehose:us-east-1:000000000000:deliverystream/x"],
            Target::Http("https://collector.test/in".into())
        );
        assert!(destinations(&["no-equals".into()]).is_err());
        assert!(destinations(&["arn:x=file://relative".into()]).is_err());
        assert!(destinations(&["notarn=https://x".into()]).is_err());
        assert!(destinations(&["arn:x=ftp://x".into()]).is_err());
    }

    #[test]
    fn unmapped_arns_get_a_file_named_after_them() {
        assert_eq!(
            default_file(
                Path::new("/d"),
                "arn:aws:logs:us-east-1:1:log-group:/aws/cognito"
            ),
            PathBuf::from("/d/arn_aws_logs_us-east-1_1_log-group__aws_cognito.jsonl")
        );
    }
}
