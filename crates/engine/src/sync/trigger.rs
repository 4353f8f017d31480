//! The sync trigger (SetCognitoEvents `SyncTrigger`): on an UpdateRecords by an identity, the
//! function receives every live record of the dataset overlaid by the patches, in Cognito's
//! event, and the records it returns replace the patch set.

use crate::Engine;
use crate::error::EngineResult;
use crate::ports::InvokeError;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tessera_domain::identity::IdentityPoolId;
use tessera_domain::sync::{PatchOp, RecordPatch, SYNC_TRIGGER, SyncRecord, Writer};
use tessera_domain::{DomainError, ErrorKind};

fn bad_output(why: impl std::fmt::Display) -> DomainError {
    DomainError::new(
        ErrorKind::InvalidLambdaFunctionOutput,
        format!("The sync trigger's output was refused: {why}"),
    )
}

impl Engine {
    /// The pool's SyncTrigger function, if it has one.
    pub(crate) async fn sync_trigger(&self, pool: &IdentityPoolId) -> EngineResult<Option<String>> {
        let mut tx = self.inner.store.read().await?;
        Ok(self
            .sync_config(&mut *tx, pool)
            .await?
            .0
            .events
            .get(SYNC_TRIGGER)
            .cloned())
    }

    /// Invokes the trigger and turns its answer into the patches to write.
    pub(crate) async fn run_sync_trigger(
        &self,
        function: &str,
        w: &Writer<'_>,
        stored: &BTreeMap<String, SyncRecord>,
        patches: &[RecordPatch],
    ) -> EngineResult<Vec<RecordPatch>> {
        let mut records = serde_json::Map::new();
        for r in stored.values() {
            if let Some(v) = &r.value {
                records.insert(
                    r.key.clone(),
                    json!({"oldValue": v, "newValue": v, "op": "replace"}),
                );
            }
        }
        for p in patches {
            let old = stored.get(&p.key).and_then(|r| r.value.clone());
            let entry = match p.op {
                PatchOp::Replace => json!({"oldValue": old, "newValue": p.value, "op": "replace"}),
                PatchOp::Remove => json!({"oldValue": old, "newValue": null, "op": "remove"}),
            };
            records.insert(p.key.clone(), entry);
        }
        let fixed = json!({
            "version": 2,
            "eventType": SYNC_TRIGGER,
            "region": self.inner.settings.region,
            "identityPoolId": w.pool_id.as_str(),
            "identityId": w.identity_id.as_str(),
            "datasetName": w.dataset,
        });
        let mut event = fixed.clone();
        if let Some(o) = event.as_object_mut() {
            o.insert("datasetRecords".into(), Value::Object(records));
        }
        let output = match self.inner.triggers.invoke(function, &event).await {
            Ok(v) => v,
            Err(InvokeError::Unavailable(why)) => {
                tracing::info!(%why, "sync trigger unavailable");
                return Err(DomainError::new(
                    ErrorKind::LambdaThrottled,
                    "The sync trigger could not be invoked; retry.",
                )
                .into());
            }
            Err(e) => return Err(bad_output(e).into()),
        };
        // Only datasetRecords may change.
        if let (Some(out), Some(fixed)) = (output.as_object(), fixed.as_object()) {
            for (k, v) in fixed {
                if out.get(k).is_some_and(|o| o != v) {
                    return Err(bad_output(format!("{k} is read-only")).into());
                }
            }
        }
        let returned = output
            .get("datasetRecords")
            .and_then(Value::as_object)
            .ok_or_else(|| bad_output("no datasetRecords"))?;
        let asked: BTreeMap<&str, &RecordPatch> =
            patches.iter().map(|p| (p.key.as_str(), p)).collect();
        let mut out = Vec::new();
        for (key, rec) in returned {
            let rec = rec
                .as_object()
                .ok_or_else(|| bad_output(format!("record {key} is not an object")))?;
            let new_value = match rec.get("newValue") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => {
                    return Err(bad_output(format!("newValue of {key} is not a string")).into());
                }
            };
            let remove =
                rec.get("op").and_then(Value::as_str) == Some("remove") || new_value.is_none();
            let current = stored.get(key);
            let live = current.and_then(|r| r.value.as_ref());
            let changes = if remove {
                live.is_some()
            } else {
                live != new_value.as_ref()
            };
            if !changes && !asked.contains_key(key.as_str()) {
                continue;
            }
            out.push(RecordPatch {
                key: key.clone(),
                op: if remove {
                    PatchOp::Remove
                } else {
                    PatchOp::Replace
                },
                value: if remove { None } else { new_value },
                sync_count: current.map_or(0, |r| r.sync_count),
                device_modified_at: asked.get(key.as_str()).and_then(|p| p.device_modified_at),
            });
        }
        Ok(out)
    }
}
