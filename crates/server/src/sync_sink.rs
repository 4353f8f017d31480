//! Cognito Sync's deliveries leave here: stream records to the Kinesis-compatible endpoint the
//! operator configured (PutRecord, JSON 1.1, SigV4 service `kinesis` when credentials are set),
//! push notifications to the push webhook (through the outbound guard and its private-address
//! switch, as every webhook).

use crate::config::SyncSettings;
use base64::Engine as _;
use serde_json::{Value, json};
use std::time::Duration;
use tessera_domain::sync::{DeliveryKind, SyncDelivery};
use tessera_engine::sync::SyncSink;

pub struct SyncDeliveries {
    settings: SyncSettings,
    /// For the operator's Kinesis endpoint: configuration, not user input, so unguarded.
    kinesis: reqwest::Client,
    webhook: reqwest::Client,
    allow_private_webhooks: bool,
}

const TIMEOUT: Duration = Duration::from_secs(10);

impl SyncDeliveries {
    pub fn new(settings: SyncSettings, allow_private_webhooks: bool) -> anyhow::Result<Self> {
        let kinesis = tessera_outbound::client_builder(true)
            .timeout(TIMEOUT)
            .build()?;
        let webhook = tessera_outbound::client_builder(allow_private_webhooks)
            .timeout(TIMEOUT)
            .build()?;
        Ok(Self {
            settings,
            kinesis,
            webhook,
            allow_private_webhooks,
        })
    }

    async fn put_record(&self, payload: &Value) -> Result<(), String> {
        let endpoint = self
            .settings
            .kinesis_endpoint
            .as_deref()
            .ok_or("no Kinesis endpoint configured (sync.kinesis_endpoint)")?;
        let url = format!("{}/", endpoint.trim_end_matches('/'));
        let record = payload
            .get("record")
            .ok_or("stream delivery without a record")?;
        let body = json!({
            "StreamName": payload.get("streamName"),
            "PartitionKey": payload.get("partitionKey"),
            "Data": base64::engine::general_purpose::STANDARD.encode(record.to_string()),
        })
        .to_string();
        let (content_type, target) = ("application/x-amz-json-1.1", "Kinesis_20131202.PutRecord");
        let mut request = self
            .kinesis
            .post(&url)
            .header("content-type", content_type)
            .header("x-amz-target", target)
            .body(body.clone());
        if let Some(credentials) = &self.settings.kinesis_credentials {
            let headers = tessera_lambda::sign_post(
                credentials,
                "kinesis",
                &self.settings.kinesis_region,
                &url,
                &[("content-type", content_type), ("x-amz-target", target)],
                body.as_bytes(),
            )?;
            for (name, value) in headers {
                request = request.header(name, value);
            }
        }
        let response = request
            .send()
            .await
            .map_err(|e| tessera_outbound::error_chain(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        Err(format!(
            "PutRecord answered {status}: {}",
            text.chars().take(300).collect::<String>()
        ))
    }

    async fn push(&self, payload: &Value) -> Result<(), String> {
        let hook = self
            .settings
            .push_webhook
            .as_deref()
            .ok_or("no push webhook configured (sync.push_webhook)")?;
        let url = reqwest::Url::parse(hook).map_err(|e| e.to_string())?;
        tessera_outbound::check_ip_literal(&url, self.allow_private_webhooks)
            .map_err(|e| e.to_string())?;
        let response = self
            .webhook
            .post(url)
            .json(payload)
            .send()
            .await
            .map_err(|e| tessera_outbound::error_chain(&e))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("push webhook answered {status}"))
        }
    }
}

#[async_trait::async_trait]
impl SyncSink for SyncDeliveries {
    async fn deliver(&self, delivery: &SyncDelivery) -> Result<(), String> {
        let payload: Value = serde_json::from_str(&delivery.payload).map_err(|e| e.to_string())?;
        match delivery.kind {
            DeliveryKind::Stream => self.put_record(&payload).await,
            DeliveryKind::Push => self.push(&payload).await,
        }
    }
}
