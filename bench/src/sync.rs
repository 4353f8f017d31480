//! Cognito Sync under load: UpdateRecords and ListRecords by many identities at once, each
//! signed with its own GetCredentialsForIdentity credentials (as the sync managers call them),
//! and a contention check: many writers on one dataset, where each count must be won once.

use anyhow::{Context, Result};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::Mutex;

const REGION: &str = "us-east-1";
const DATASET: &str = "bench";

/// One identity: its id, credentials, and the token and record count of its last sync.
struct Device {
    identity: String,
    credentials: Credentials,
    state: Mutex<Option<(String, i64)>>,
}

pub struct SyncSetup {
    http: reqwest::Client,
    endpoint: String,
    pool_id: String,
    devices: Vec<Device>,
}

fn path_of(pool: &str, identity: &str, tail: &str) -> String {
    let enc = |s: &str| s.replace(':', "%3A");
    format!(
        "/identitypools/{}/identities/{}/datasets/{DATASET}{tail}",
        enc(pool),
        enc(identity)
    )
}

impl SyncSetup {
    /// Credentials for each ID token's identity.
    pub async fn new(
        endpoint: &str,
        identity: &crate::identity::IdentitySetup,
        id_tokens: &[String],
    ) -> Result<Self> {
        let mut devices = Vec::new();
        for token in id_tokens {
            let [id, key, secret, session] = identity.identity_credentials(token).await?;
            devices.push(Device {
                identity: id,
                credentials: Credentials::new(key, secret, Some(session), None, "bench"),
                state: Mutex::new(None),
            });
        }
        Ok(Self {
            http: reqwest::Client::new(),
            endpoint: endpoint.to_string(),
            pool_id: identity.pool_id().to_string(),
            devices,
        })
    }

    async fn send(
        &self,
        d: &Device,
        method: &str,
        path_and_query: &str,
        body: &str,
    ) -> Result<(u16, Value)> {
        let url = format!("{}{path_and_query}", self.endpoint);
        let identity: Identity = d.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(REGION)
            .name("cognito-sync")
            .time(std::time::SystemTime::now())
            .settings(SigningSettings::default())
            .build()?
            .into();
        let headers: Vec<(&str, &str)> = if body.is_empty() {
            vec![]
        } else {
            vec![("content-type", "application/json")]
        };
        let request = SignableRequest::new(
            method,
            url.as_str(),
            headers.iter().copied(),
            SignableBody::Bytes(body.as_bytes()),
        )?;
        let (instructions, _) = sign(request, &params)?.into_parts();
        let mut req = self
            .http
            .request(method.parse()?, &url)
            .body(body.to_string());
        for (name, value) in headers.iter().copied().chain(instructions.headers()) {
            req = req.header(name, value);
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        Ok((status, v))
    }

    async fn list(&self, d: &Device) -> Result<(String, i64)> {
        let path = path_of(
            &self.pool_id,
            &d.identity,
            "/records?lastSyncCount=0&maxResults=1024",
        );
        let (status, v) = self.send(d, "GET", &path, "").await?;
        anyhow::ensure!(status == 200, "ListRecords: {status} {v}");
        let token = v["SyncSessionToken"].as_str().context("token")?.to_string();
        let count = v["Records"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["Key"] == "k"))
            .and_then(|r| r["SyncCount"].as_i64())
            .unwrap_or(0);
        Ok((token, count))
    }

    /// One write: `Ok(true)` accepted, `Ok(false)` refused as a conflict (409).
    async fn update(&self, d: &Device, token: &str, count: i64) -> Result<Option<i64>> {
        let body = json!({
            "SyncSessionToken": token,
            "RecordPatches": [{"Op": "replace", "Key": "k", "Value": format!("v{count}"), "SyncCount": count}],
        })
        .to_string();
        let path = path_of(&self.pool_id, &d.identity, "");
        let (status, v) = self.send(d, "POST", &path, &body).await?;
        match status {
            200 => Ok(v["Records"][0]["SyncCount"].as_i64()),
            409 => Ok(None),
            _ => anyhow::bail!("UpdateRecords: {status} {v}"),
        }
    }

    /// ListRecords of identity `i`'s dataset (a whole-dataset pull).
    pub async fn list_records(&self, i: usize) -> bool {
        let d = &self.devices[i % self.devices.len()];
        self.list(d).await.is_ok()
    }

    /// UpdateRecords of identity `i`'s dataset, with the token and count of its last sync (a
    /// ListRecords first only when it has none, or after a conflict).
    pub async fn update_records(&self, i: usize) -> bool {
        let d = &self.devices[i % self.devices.len()];
        let mut state = d.state.lock().await;
        let (token, count) = match state.take() {
            Some(s) => s,
            None => match self.list(d).await {
                Ok(s) => s,
                Err(_) => return false,
            },
        };
        match self.update(d, &token, count).await {
            Ok(Some(next)) => {
                *state = Some((token, next));
                true
            }
            _ => false,
        }
    }

    /// `writers` tasks pull and push the same record of one dataset for `seconds`: returns
    /// (accepted writes, conflicts, the dataset's final count, its count before).
    pub async fn contention(
        self: &Arc<Self>,
        writers: usize,
        seconds: u64,
    ) -> Result<(u64, u64, i64, i64)> {
        let first = &self.devices[0];
        let (_, before) = self.list(first).await?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for _ in 0..writers {
            let s = self.clone();
            tasks.push(tokio::spawn(async move {
                let (mut won, mut lost) = (0u64, 0u64);
                while std::time::Instant::now() < deadline {
                    let d = &s.devices[0];
                    let Ok((token, count)) = s.list(d).await else {
                        continue;
                    };
                    match s.update(d, &token, count).await {
                        Ok(Some(_)) => won += 1,
                        Ok(None) => lost += 1,
                        Err(_) => {}
                    }
                }
                (won, lost)
            }));
        }
        let (mut won, mut lost) = (0, 0);
        for t in tasks {
            let (w, l) = t.await?;
            won += w;
            lost += l;
        }
        let (_, after) = self.list(first).await?;
        Ok((won, lost, after, before))
    }
}
