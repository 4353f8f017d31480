//! Point-in-time recovery of a pool's user data: InitiatePointInTimeRecovery,
//! DescribePointInTimeRecovery, ListPointInTimeRecoveries, StartPointInTimeRecovery and
//! CancelPointInTimeRecovery (see `tessera_domain::recovery` for the journal and the rules).
//!
//! Tessera makes the preview in the transaction that initiates the recovery and applies the
//! recovery in the transaction that starts it, so a recovery is never half applied and never
//! stuck in PREVIEW_GENERATING or RESTORING: Initiate answers PREVIEW_GENERATED (with the
//! preview) and Start answers RESTORE_COMPLETED. Writes to the pool's user data stay paused from
//! Initiate until the recovery is started, cancelled or expires, as Cognito pauses them.

use crate::error::{EngineError, EngineResult};
use crate::{Engine, random_uuid};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;
use tessera_domain::groups::Group;
use tessera_domain::passkeys::WebAuthnCredential;
use tessera_domain::pool::UserPool;
use tessera_domain::recovery::{
    Change, ENTITY_GROUPS, ENTITY_PASSKEYS, HistoryEntity, PREVIEW_LIFETIME, PREVIEWS_PER_DAY,
    PreviewTally, Recovery, RestoreStatus, change, check_restore_point, restored_user, same_group,
    same_mfa, same_profile, split_membership_key,
};
use tessera_domain::user::User;
use tessera_domain::user_import::ImportJobStatus;
use tessera_domain::{DomainError, ErrorKind, Sub, Timestamp, UserPoolId};
use tessera_store::{Conflict, StoreError, Tx, UserLookup};
use uuid::Uuid;

/// What a write to a pool's user data answers while a recovery pauses them.
pub const WRITES_PAUSED: &str = "Write operations to this user pool are paused while a \
     point-in-time recovery is in progress. Start or cancel the recovery to resume them.";

const DAY: Duration = Duration::from_secs(86_400);

/// A page of ListPointInTimeRecoveries.
#[derive(Clone, Debug)]
pub struct RecoveryPage {
    pub recoveries: Vec<Recovery>,
    pub next_token: Option<String>,
}

/// The recovery window of the pool's feature plan (FeatureUnavailableInTierException on Lite).
fn recovery_window(pool: &UserPool) -> EngineResult<Duration> {
    let tier = pool
        .config
        .settings
        .get("UserPoolTier")
        .and_then(|v| v.as_str());
    tessera_domain::recovery::recovery_window(tier).ok_or_else(|| {
        DomainError::new(
            ErrorKind::FeatureUnavailableInTier,
            "Point-in-time recovery requires the Essentials or Plus feature plan.",
        )
        .into()
    })
}

fn not_found(id: &Uuid) -> EngineError {
    DomainError::new(
        ErrorKind::ResourceNotFound,
        format!("Point-in-time recovery {id} does not exist."),
    )
    .into()
}

fn already_active() -> DomainError {
    DomainError::new(
        ErrorKind::ConcurrentModification,
        "The user pool has a point-in-time recovery in progress already.",
    )
}

fn one_at_a_time() -> EngineError {
    already_active().into()
}

/// Whether the pool's writes are paused by a recovery at `now` (its newest recovery is the only
/// one that can be active).
pub(crate) async fn writes_paused(
    tx: &mut dyn Tx,
    pool: &UserPoolId,
    now: Timestamp,
) -> EngineResult<bool> {
    let newest = tx.list_recoveries(pool, None, 1).await?;
    Ok(newest
        .first()
        .is_some_and(|r| r.status_at(now).pauses_writes()))
}

/// Refuses with OperationNotEnabledException while a recovery pauses the pool's writes (for
/// operations that start writing later, such as user import jobs).
pub(crate) async fn refuse_while_paused(
    tx: &mut dyn Tx,
    pool: &UserPoolId,
    now: Timestamp,
) -> EngineResult<()> {
    if writes_paused(tx, pool, now).await? {
        return Err(StoreError::WritesPaused.into());
    }
    Ok(())
}

/// Every entity a recovery touches: its state at the recovery point and now.
#[derive(Default)]
struct Plan {
    users: Vec<(Option<User>, Option<User>)>,
    groups: Vec<(Option<Group>, Option<Group>)>,
    /// (sub, group, member at the recovery point, member now)
    memberships: Vec<(Sub, String, bool, bool)>,
    passkeys: Vec<(Option<WebAuthnCredential>, Option<WebAuthnCredential>)>,
}

fn parse<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> EngineResult<T> {
    serde_json::from_str(json)
        .map_err(|e| EngineError::Internal(format!("journal entry of {what} is unreadable: {e}")))
}

impl Plan {
    async fn read(tx: &mut dyn Tx, pool: &UserPoolId, since: Timestamp) -> EngineResult<Self> {
        let mut plan = Plan::default();
        let mut groups_of: HashMap<Sub, HashSet<String>> = HashMap::new();
        for entry in tx.history_since(pool, since).await? {
            let before = entry.before.as_deref();
            match entry.entity {
                HistoryEntity::User => {
                    let past: Option<User> = before.map(|b| parse(b, "a user")).transpose()?;
                    let Ok(uuid) = Uuid::parse_str(&entry.key) else {
                        continue;
                    };
                    let current = tx.get_user(pool, &UserLookup::Sub(Sub(uuid))).await?;
                    plan.users.push((past, current));
                }
                HistoryEntity::Group => {
                    let past: Option<Group> = before.map(|b| parse(b, "a group")).transpose()?;
                    let current = tx.get_group(pool, &entry.key).await?;
                    plan.groups.push((past, current));
                }
                HistoryEntity::Membership => {
                    let Some((sub, group)) = split_membership_key(&entry.key) else {
                        continue;
                    };
                    let member_now = match groups_of.get(&sub) {
                        Some(set) => set.contains(group),
                        None => {
                            let set: HashSet<String> = tx
                                .groups_of_user(pool, &sub, None, usize::MAX >> 1)
                                .await?
                                .into_iter()
                                .map(|g| g.name)
                                .collect();
                            let member = set.contains(group);
                            groups_of.insert(sub, set);
                            member
                        }
                    };
                    plan.memberships
                        .push((sub, group.to_string(), before.is_some(), member_now));
                }
                HistoryEntity::Passkey => {
                    let past: Option<WebAuthnCredential> =
                        before.map(|b| parse(b, "a passkey")).transpose()?;
                    let current = tx.get_webauthn_credential(pool, &entry.key).await?;
                    plan.passkeys.push((past, current));
                }
            }
        }
        Ok(plan)
    }

    fn preview(&self) -> Vec<tessera_domain::recovery::PreviewCount> {
        let mut tally = PreviewTally::default();
        for (past, current) in &self.users {
            tally.count_user(past.as_ref(), current.as_ref());
        }
        let mut counted: BTreeSet<&str> = BTreeSet::new();
        for (past, current) in &self.groups {
            let c = change(past.as_ref(), current.as_ref(), same_group);
            tally.count(ENTITY_GROUPS, c);
            if let Some(g) = past.as_ref().or(current.as_ref())
                && c != Change::Keep
            {
                counted.insert(&g.name);
            }
        }
        // A group whose members change is updated (unless counted already).
        for (_, group, was, is) in &self.memberships {
            if was != is && counted.insert(group) {
                tally.count(ENTITY_GROUPS, Change::Update);
            }
        }
        for (past, current) in &self.passkeys {
            tally.count(
                ENTITY_PASSKEYS,
                change(past.as_ref(), current.as_ref(), |_, _| true),
            );
        }
        tally.finish()
    }

    /// Writes the recovery point's state back, in an order that keeps every uniqueness rule:
    /// what goes away first, then what changes, then what comes back.
    async fn apply(self, tx: &mut dyn Tx, pool: &UserPool) -> EngineResult<()> {
        let pool_id = &pool.id;
        for (past, current) in &self.passkeys {
            if let (None, Some(c)) = (past, current) {
                tx.delete_webauthn_credential(pool_id, &c.sub, &c.credential_id)
                    .await?;
            }
        }
        for (sub, group, was, is) in &self.memberships {
            if !was && *is {
                tx.remove_group_member(pool_id, group, sub).await?;
            }
        }
        for (past, current) in &self.groups {
            if let (None, Some(c)) = (past, current) {
                tx.delete_group(pool_id, &c.name).await?;
            }
        }
        let mut updated: Vec<User> = Vec::new();
        for (past, current) in &self.users {
            match (past, current) {
                (None, Some(c)) => {
                    tx.delete_user(pool_id, &c.sub).await?;
                }
                (Some(p), Some(c)) if !(same_profile(p, c) && same_mfa(p, c)) => {
                    let user = restored_user(p, c);
                    // Aliases are released by every restored user before any claims one.
                    tx.update_user(&user, &[]).await?;
                    updated.push(user);
                }
                _ => {}
            }
        }
        for user in &updated {
            let aliases = pool.config.sign_in.aliases(&user.attributes);
            tx.update_user(user, &aliases).await?;
        }
        for (past, current) in &self.users {
            if let (Some(p), None) = (past, current) {
                let key = p.username.key(pool.config.sign_in.case_sensitive);
                let aliases = pool.config.sign_in.aliases(&p.attributes);
                tx.insert_user(p, &key, &aliases).await?;
            }
        }
        for (past, current) in &self.groups {
            match (past, current) {
                (Some(p), None) => tx.insert_group(p).await?,
                (Some(p), Some(c)) if !same_group(p, c) => tx.update_group(p).await?,
                _ => {}
            }
        }
        for (sub, group, was, is) in &self.memberships {
            if *was && !is {
                tx.add_group_member(pool_id, group, sub).await?;
            }
        }
        for (past, current) in &self.passkeys {
            if let (Some(p), None) = (past, current) {
                tx.insert_webauthn_credential(p).await?;
            }
        }
        Ok(())
    }
}

fn page_token(r: &Recovery) -> String {
    format!("{}.{}", r.created_at.millis(), r.restore_id)
}

fn parse_page_token(token: &str) -> EngineResult<(Timestamp, Uuid)> {
    token
        .split_once('.')
        .and_then(|(at, id)| {
            Some((
                Timestamp::from_millis(at.parse().ok()?),
                Uuid::parse_str(id).ok()?,
            ))
        })
        .ok_or_else(|| DomainError::invalid_parameter("The pagination token is invalid.").into())
}

impl Engine {
    /// The pool's recovery `id` (ResourceNotFoundException for an unknown pool or recovery),
    /// with the pool.
    async fn load_recovery(
        &self,
        tx: &mut dyn Tx,
        pool_id: &UserPoolId,
        id: &Uuid,
    ) -> EngineResult<(UserPool, Recovery)> {
        let pool = self.load_pool(tx, pool_id).await?;
        let r = tx
            .get_recovery(pool_id, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        Ok((pool, r))
    }

    /// Keeps each pool's journal only as far back as its feature plan can recover (1 day on
    /// Essentials, 14 on Plus, none on Lite): a recovery to `T` reads only entries after `T`,
    /// and `T` is never older than the window. Returns how many entries went.
    pub(crate) async fn prune_journals(&self) -> EngineResult<u64> {
        let now = self.now();
        let mut after: Option<UserPoolId> = None;
        let mut pruned = 0;
        loop {
            let pools = {
                let mut tx = self.inner.store.read().await?;
                tx.list_pools(after.as_ref(), 100).await?
            };
            let Some(last) = pools.last() else {
                return Ok(pruned);
            };
            after = Some(last.id.clone());
            let mut tx = self.inner.store.begin().await?;
            for pool in &pools {
                let window = recovery_window(pool).unwrap_or(Duration::ZERO);
                pruned += tx.prune_pool_history(&pool.id, now.minus(window)).await?;
            }
            tx.commit().await?;
        }
    }

    /// Sets how far in the past a recovery point must be (`pitr_min_age_seconds`).
    pub fn configure_recovery(&self, min_age: Duration) {
        let _ = self.inner.recovery_min_age.set(min_age);
    }

    fn recovery_min_age(&self) -> Duration {
        self.inner
            .recovery_min_age
            .get()
            .copied()
            .unwrap_or(tessera_domain::recovery::DEFAULT_MIN_AGE)
    }

    /// InitiatePointInTimeRecovery: checks the recovery point and the pool's limits, pauses the
    /// pool's writes and makes the preview, in one transaction.
    pub async fn initiate_point_in_time_recovery(
        &self,
        pool_id: &UserPoolId,
        restore: Timestamp,
    ) -> EngineResult<Recovery> {
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        let window = recovery_window(&pool)?;
        check_restore_point(
            restore,
            now,
            pool.created_at,
            self.recovery_min_age(),
            window,
        )
        .map_err(DomainError::invalid_parameter)?;
        let importing = tx.unfinished_import_jobs().await?.into_iter().any(|j| {
            &j.pool_id == pool_id
                && matches!(
                    j.status,
                    ImportJobStatus::InProgress | ImportJobStatus::Stopping
                )
        });
        if importing {
            return Err(DomainError::new(
                ErrorKind::ConcurrentModification,
                "A user import job is in progress in the user pool. Wait for it to complete or \
                 stop it, then initiate the recovery.",
            )
            .into());
        }
        let recent = tx.list_recoveries(pool_id, None, 64).await?;
        if recent
            .first()
            .is_some_and(|r| r.status_at(now).pauses_writes())
        {
            return Err(one_at_a_time());
        }
        let day_ago = now.minus(DAY);
        if recent.iter().filter(|r| r.created_at > day_ago).count() >= PREVIEWS_PER_DAY {
            return Err(DomainError::new(
                ErrorKind::LimitExceeded,
                format!(
                    "You can create up to {PREVIEWS_PER_DAY} recovery previews of a user pool in a \
                     24-hour period."
                ),
            )
            .into());
        }
        completed_today(&recent, day_ago)?;
        let preview = Plan::read(&mut *tx, pool_id, restore).await?.preview();
        let recovery = Recovery {
            pool_id: pool_id.clone(),
            restore_id: random_uuid(),
            status: RestoreStatus::PreviewGenerated,
            restore_timestamp: restore,
            trigger_timestamp: now,
            preview: Some(preview),
            created_at: now,
            modified_at: now,
        };
        tx.insert_recovery(&recovery, now.minus(PREVIEW_LIFETIME))
            .await
            .map_err(|e| crate::error::on_conflict(e, recovery_conflict))?;
        tx.commit().await?;
        Ok(recovery)
    }

    pub async fn describe_point_in_time_recovery(
        &self,
        pool_id: &UserPoolId,
        id: &Uuid,
    ) -> EngineResult<Recovery> {
        let now = self.now();
        let mut tx = self.inner.store.read().await?;
        let (_, mut r) = self.load_recovery(&mut *tx, pool_id, id).await?;
        r.status = r.status_at(now);
        Ok(r)
    }

    pub async fn list_point_in_time_recoveries(
        &self,
        pool_id: &UserPoolId,
        limit: usize,
        next_token: Option<&str>,
    ) -> EngineResult<RecoveryPage> {
        let now = self.now();
        let after = next_token.map(parse_page_token).transpose()?;
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let mut recoveries = tx.list_recoveries(pool_id, after, limit + 1).await?;
        let next_token = if recoveries.len() > limit {
            recoveries.truncate(limit);
            recoveries.last().map(page_token)
        } else {
            None
        };
        for r in &mut recoveries {
            r.status = r.status_at(now);
        }
        Ok(RecoveryPage {
            recoveries,
            next_token,
        })
    }

    /// CancelPointInTimeRecovery: discards the preview and resumes writes.
    pub async fn cancel_point_in_time_recovery(
        &self,
        pool_id: &UserPoolId,
        id: &Uuid,
    ) -> EngineResult<Recovery> {
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        let (_, mut r) = self.load_recovery(&mut *tx, pool_id, id).await?;
        if !matches!(
            r.status_at(now),
            RestoreStatus::PreviewGenerating | RestoreStatus::PreviewGenerated
        ) {
            return Err(DomainError::invalid_parameter(format!(
                "You can cancel a recovery only when its status is PREVIEW_GENERATING or \
                 PREVIEW_GENERATED; this one is {}.",
                r.status_at(now).as_str()
            ))
            .into());
        }
        let expected = r.status;
        r.status = RestoreStatus::PreviewCancelled;
        r.modified_at = now;
        if !tx.update_recovery(&r, expected).await? {
            return Err(one_at_a_time());
        }
        tx.commit().await?;
        Ok(r)
    }

    /// StartPointInTimeRecovery: restores the pool's user data to the recovery point and
    /// resumes writes, in one transaction.
    pub async fn start_point_in_time_recovery(
        &self,
        pool_id: &UserPoolId,
        id: &Uuid,
    ) -> EngineResult<Recovery> {
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        tx.allow_paused_writes();
        let (pool, mut r) = self.load_recovery(&mut *tx, pool_id, id).await?;
        if r.status_at(now) != RestoreStatus::PreviewGenerated {
            return Err(DomainError::invalid_parameter(format!(
                "You can start a recovery only when its status is PREVIEW_GENERATED; this one is {}.",
                r.status_at(now).as_str()
            ))
            .into());
        }
        let recent = tx.list_recoveries(pool_id, None, 64).await?;
        completed_today(&recent, now.minus(DAY))?;
        let plan = Plan::read(&mut *tx, pool_id, r.restore_timestamp).await?;
        plan.apply(&mut *tx, &pool).await?;
        r.status = RestoreStatus::RestoreCompleted;
        r.modified_at = now;
        if !tx
            .update_recovery(&r, RestoreStatus::PreviewGenerated)
            .await?
        {
            return Err(one_at_a_time());
        }
        tx.commit().await?;
        tracing::info!(pool = %pool_id, restore_id = %id, "point-in-time recovery completed");
        Ok(r)
    }
}

fn recovery_conflict(c: &Conflict) -> Option<DomainError> {
    matches!(c, Conflict::Recovery).then(already_active)
}

/// Cognito completes one recovery of a pool in 24 hours.
fn completed_today(recent: &[Recovery], day_ago: Timestamp) -> EngineResult<()> {
    let done = recent
        .iter()
        .any(|r| r.status == RestoreStatus::RestoreCompleted && r.modified_at > day_ago);
    if done {
        return Err(DomainError::new(
            ErrorKind::LimitExceeded,
            "You can complete one recovery of a user pool in a 24-hour period.",
        )
        .into());
    }
    Ok(())
}
