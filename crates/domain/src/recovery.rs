//! Point-in-time recovery of a user pool's user data (InitiatePointInTimeRecovery and the
//! operations around it).
//!
//! Every write to a pool's users, groups, group memberships and passkeys journals the entity's
//! state *before* the write (its before-image) with the time of the write. The state of an
//! entity at a past time `T` is therefore the before-image of its first change after `T`, or its
//! current state when nothing changed it since. A recovery compares, for every entity changed
//! after `T`, that past state with the current one: this module holds the comparison (pure); the
//! engine reads the journal and applies the result.
//!
//! What is restored follows Cognito: user profiles and attributes, group memberships, groups, MFA
//! settings and passkeys. Not restored: pool configuration (clients, schema …), and a user's
//! password — a user who changed it after the recovery point keeps the current one. Counters that
//! protect sign-in (lockout failures, the last TOTP step used, passkey signature counters) keep
//! their current values, so a recovery can't reopen a replay window.

use crate::groups::Group;
use crate::user::User;
use crate::{Sub, Timestamp, UserPoolId};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// How long the journal is kept: the longest recovery window (the Plus feature plan's 14 days).
pub const HISTORY_RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);
/// A preview must be started or cancelled within this time after it was initiated.
pub const PREVIEW_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Cognito's default for how far in the past a recovery point must be (15 minutes).
pub const DEFAULT_MIN_AGE: Duration = Duration::from_secs(900);
/// Recovery previews a pool may create in 24 hours.
pub const PREVIEWS_PER_DAY: usize = 3;

/// What kind of entity a journal entry is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HistoryEntity {
    /// Key: the user's sub. Before-image: the [`User`].
    User,
    /// Key: the group's name. Before-image: the [`Group`].
    Group,
    /// Key: [`membership_key`]. Before-image: present (`"{}"`) or absent.
    Membership,
    /// Key: the credential id. Before-image: the [`WebAuthnCredential`].
    Passkey,
}

impl HistoryEntity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
            Self::Membership => "membership",
            Self::Passkey => "passkey",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::User, Self::Group, Self::Membership, Self::Passkey]
            .into_iter()
            .find(|e| e.as_str() == s)
    }
}

/// The journal key of a user's membership of a group: the sub (fixed length) then the name.
pub fn membership_key(sub: &Sub, group: &str) -> String {
    format!("{sub}{group}")
}

/// The sub and group name of a [`membership_key`].
pub fn split_membership_key(key: &str) -> Option<(Sub, &str)> {
    let (sub, group) = (key.get(..36)?, key.get(36..)?);
    Some((Sub(Uuid::parse_str(sub).ok()?), group))
}

/// One journal entry: an entity's state before a write at `at` (`None`: it didn't exist).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    pub entity: HistoryEntity,
    pub key: String,
    pub at: Timestamp,
    /// JSON of the entity as it was; `None` when the write created it.
    pub before: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestoreStatus {
    PreviewGenerating,
    PreviewGenerated,
    PreviewCancelled,
    PreviewGenerationFailed,
    PreviewExpired,
    Restoring,
    RestoreCompleted,
}

impl RestoreStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreviewGenerating => "PREVIEW_GENERATING",
            Self::PreviewGenerated => "PREVIEW_GENERATED",
            Self::PreviewCancelled => "PREVIEW_CANCELLED",
            Self::PreviewGenerationFailed => "PREVIEW_GENERATION_FAILED",
            Self::PreviewExpired => "PREVIEW_EXPIRED",
            Self::Restoring => "RESTORING",
            Self::RestoreCompleted => "RESTORE_COMPLETED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::PreviewGenerating,
            Self::PreviewGenerated,
            Self::PreviewCancelled,
            Self::PreviewGenerationFailed,
            Self::PreviewExpired,
            Self::Restoring,
            Self::RestoreCompleted,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// Whether writes to the pool's user data are paused in this status.
    pub fn pauses_writes(self) -> bool {
        matches!(
            self,
            Self::PreviewGenerating | Self::PreviewGenerated | Self::Restoring
        )
    }
}

/// Creates, updates and deletes of one kind of entity that a recovery makes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewCount {
    pub entity: String,
    pub create: u64,
    pub update: u64,
    pub delete: u64,
}

/// The preview's entity names, as Cognito's RestorePreviewType lists them.
pub const ENTITY_USERS: &str = "Users";
pub const ENTITY_GROUPS: &str = "Groups";
pub const ENTITY_USER_MFAS: &str = "User MFAs";
pub const ENTITY_PASSKEYS: &str = "Passkeys";

/// A point-in-time recovery of a pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery {
    pub pool_id: UserPoolId,
    pub restore_id: Uuid,
    pub status: RestoreStatus,
    /// The recovery point: changes after it are reverted.
    pub restore_timestamp: Timestamp,
    /// When the recovery was initiated: the end of the changes the preview counts.
    pub trigger_timestamp: Timestamp,
    pub preview: Option<Vec<PreviewCount>>,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
}

impl Recovery {
    /// The status as a reader sees it at `now`: a preview left longer than
    /// [`PREVIEW_LIFETIME`] has expired.
    pub fn status_at(&self, now: Timestamp) -> RestoreStatus {
        match self.status {
            RestoreStatus::PreviewGenerating | RestoreStatus::PreviewGenerated
                if now.since(self.created_at) >= PREVIEW_LIFETIME =>
            {
                RestoreStatus::PreviewExpired
            }
            s => s,
        }
    }
}

/// What a recovery does to one entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Create,
    Update,
    Delete,
    Keep,
}

/// The change that takes an entity from `current` back to `past`.
pub fn change<T>(past: Option<&T>, current: Option<&T>, same: impl Fn(&T, &T) -> bool) -> Change {
    match (past, current) {
        (None, None) => Change::Keep,
        (None, Some(_)) => Change::Delete,
        (Some(_), None) => Change::Create,
        (Some(p), Some(c)) if same(p, c) => Change::Keep,
        (Some(_), Some(_)) => Change::Update,
    }
}

/// Whether two states of a user have the same profile (what the recovery restores apart from
/// MFA): status, enabled flag and attributes. The password is not compared: it is kept.
pub fn same_profile(a: &User, b: &User) -> bool {
    a.status == b.status && a.enabled == b.enabled && a.attributes == b.attributes
}

/// Whether two states of a user have the same MFA settings (the last TOTP step used is a
/// replay guard, not a setting).
pub fn same_mfa(a: &User, b: &User) -> bool {
    let (a, b) = (&a.mfa, &b.mfa);
    a.sms == b.sms
        && a.email == b.email
        && a.software_token == b.software_token
        && a.preferred == b.preferred
        && a.totp_secret == b.totp_secret
        && a.totp_device_name == b.totp_device_name
        && a.pending_totp_secret == b.pending_totp_secret
}

/// Whether a user has any MFA set up (a created or deleted user counts in "User MFAs" then).
pub fn has_mfa(u: &User) -> bool {
    u.mfa.sms || u.mfa.email || u.mfa.software_token || u.mfa.totp_secret.is_some()
}

pub fn same_group(a: &Group, b: &Group) -> bool {
    a.description == b.description && a.role_arn == b.role_arn && a.precedence == b.precedence
}

/// The user a recovery writes back: the past profile and MFA settings with the current
/// password, SRP verifier, lockout counters and TOTP replay guard.
pub fn restored_user(past: &User, current: &User) -> User {
    let mut user = past.clone();
    user.password = current.password.clone();
    user.srp = current.srp.clone();
    user.failures = current.failures;
    user.mfa.totp_last_step = current.mfa.totp_last_step;
    user
}

/// Tallies changes into the four preview rows, in Cognito's order.
#[derive(Clone, Debug, Default)]
pub struct PreviewTally {
    users: PreviewCount,
    groups: PreviewCount,
    mfas: PreviewCount,
    passkeys: PreviewCount,
}

impl PreviewTally {
    fn row(&mut self, entity: &str) -> &mut PreviewCount {
        match entity {
            ENTITY_GROUPS => &mut self.groups,
            ENTITY_USER_MFAS => &mut self.mfas,
            ENTITY_PASSKEYS => &mut self.passkeys,
            _ => &mut self.users,
        }
    }

    pub fn count(&mut self, entity: &str, change: Change) {
        let row = self.row(entity);
        match change {
            Change::Create => row.create += 1,
            Change::Update => row.update += 1,
            Change::Delete => row.delete += 1,
            Change::Keep => {}
        }
    }

    /// A user's change, split into its profile ("Users") and MFA ("User MFAs") parts.
    pub fn count_user(&mut self, past: Option<&User>, current: Option<&User>) {
        self.count(ENTITY_USERS, change(past, current, same_profile));
        let mfa = match (past, current) {
            (Some(p), Some(c)) => change(Some(p), Some(c), same_mfa),
            (Some(p), None) if has_mfa(p) => Change::Create,
            (None, Some(c)) if has_mfa(c) => Change::Delete,
            _ => Change::Keep,
        };
        self.count(ENTITY_USER_MFAS, mfa);
    }

    pub fn finish(self) -> Vec<PreviewCount> {
        let named = |mut row: PreviewCount, name: &str| {
            row.entity = name.to_string();
            row
        };
        vec![
            named(self.users, ENTITY_USERS),
            named(self.groups, ENTITY_GROUPS),
            named(self.mfas, ENTITY_USER_MFAS),
            named(self.passkeys, ENTITY_PASSKEYS),
        ]
    }
}

/// How far back a pool on the feature plan `tier` (its `UserPoolTier`; ESSENTIALS when unset,
/// as Cognito's default) can be recovered: a day on Essentials, 14 days on Plus; `None` on Lite,
/// which has no point-in-time recovery.
pub fn recovery_window(tier: Option<&str>) -> Option<Duration> {
    match tier.unwrap_or("ESSENTIALS") {
        "LITE" => None,
        "PLUS" => Some(HISTORY_RETENTION),
        _ => Some(Duration::from_secs(86_400)),
    }
}

/// Why a recovery point can't be used, as Cognito's InvalidParameterException says it.
pub fn check_restore_point(
    restore: Timestamp,
    now: Timestamp,
    pool_created: Timestamp,
    min_age: Duration,
    window: Duration,
) -> Result<(), String> {
    if restore > now.minus(min_age) {
        return Err(format!(
            "RestoreTimestamp must be at least {} seconds in the past.",
            min_age.as_secs()
        ));
    }
    if restore < now.minus(window) {
        return Err(format!(
            "RestoreTimestamp must be within the user pool's recovery period of {} day(s).",
            window.as_secs() / 86_400
        ));
    }
    if restore < pool_created {
        return Err(
            "RestoreTimestamp can't be earlier than the creation time of the user pool."
                .to_string(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_millis(secs * 1000)
    }

    #[test]
    fn change_classifies_past_against_current() {
        let eq = |a: &i32, b: &i32| a == b;
        assert_eq!(change(None::<&i32>, None, eq), Change::Keep);
        assert_eq!(change(None, Some(&1), eq), Change::Delete);
        assert_eq!(change(Some(&1), None, eq), Change::Create);
        assert_eq!(change(Some(&1), Some(&1), eq), Change::Keep);
        assert_eq!(change(Some(&1), Some(&2), eq), Change::Update);
    }

    #[test]
    fn membership_keys_round_trip() {
        let sub = Sub(Uuid::parse_str("0f8fad5b-d9cb-469f-a165-70867728950e").unwrap());
        let key = membership_key(&sub, "admins/with odd chars");
        assert_eq!(
            split_membership_key(&key),
            Some((sub, "admins/with odd chars"))
        );
        assert_eq!(split_membership_key("short"), None);
    }

    #[test]
    fn a_preview_expires_a_day_after_it_was_initiated() {
        let r = Recovery {
            pool_id: UserPoolId::parse("us-east-1_abcdefghi").unwrap(),
            restore_id: Uuid::nil(),
            status: RestoreStatus::PreviewGenerated,
            restore_timestamp: t(0),
            trigger_timestamp: t(1000),
            preview: None,
            created_at: t(1000),
            modified_at: t(1000),
        };
        assert_eq!(
            r.status_at(t(1000 + 86_399)),
            RestoreStatus::PreviewGenerated
        );
        assert_eq!(r.status_at(t(1000 + 86_400)), RestoreStatus::PreviewExpired);
        let done = Recovery {
            status: RestoreStatus::RestoreCompleted,
            ..r
        };
        assert_eq!(
            done.status_at(t(10_000_000)),
            RestoreStatus::RestoreCompleted
        );
    }

    #[test]
    fn restore_points_follow_cognitos_rules() {
        let now = t(100_000);
        let day = Duration::from_secs(86_400);
        let ok = check_restore_point(t(90_000), now, t(0), DEFAULT_MIN_AGE, day);
        assert_eq!(ok, Ok(()));
        // Less than 15 minutes ago.
        assert!(check_restore_point(t(99_500), now, t(0), DEFAULT_MIN_AGE, day).is_err());
        // Older than the window.
        assert!(check_restore_point(t(10_000), now, t(0), DEFAULT_MIN_AGE, day).is_err());
        // Before the pool existed.
        assert!(check_restore_point(t(90_000), now, t(95_000), Duration::ZERO, day).is_err());
    }

    #[test]
    fn recovery_windows_follow_the_feature_plan() {
        assert_eq!(recovery_window(None), Some(Duration::from_secs(86_400)));
        assert_eq!(
            recovery_window(Some("ESSENTIALS")),
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(
            recovery_window(Some("PLUS")),
            Some(Duration::from_secs(14 * 86_400))
        );
        assert_eq!(recovery_window(Some("LITE")), None);
    }

    #[test]
    fn statuses_that_pause_writes() {
        for s in [
            RestoreStatus::PreviewGenerating,
            RestoreStatus::PreviewGenerated,
            RestoreStatus::Restoring,
        ] {
            assert!(s.pauses_writes());
            assert_eq!(RestoreStatus::parse(s.as_str()), Some(s));
        }
        assert!(!RestoreStatus::RestoreCompleted.pauses_writes());
        assert!(!RestoreStatus::PreviewCancelled.pauses_writes());
    }
}
