//! User sessions: each token family (one authentication and the refreshes that followed) is a
//! *token session*, identified on the wire by a SessionId derived from its `origin_jti`
//! (`tkn` + the id in base 36, 25 characters), so revoking a session revokes the family and,
//! through `origin_jti`, every access token it issued. A pool may cap the token sessions a user
//! holds; a new sign-in past the cap evicts the least recently used.
//!
//! The hosted UI's sign-in cookie is an *SSO session* (`sso` + 25 random characters), listed
//! beside the token sessions and revocable the same way.

use crate::time::Timestamp;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Where a pool's session configuration is kept in its settings.
pub const SETTING: &str = "SessionConfiguration";
/// Where an app client's SSO session settings are kept in its settings.
pub const CLIENT_SETTING: &str = "SSOSession";
pub const DEFAULT_MAX_PER_USER: u32 = 20;

const PREFIX: &str = "tkn";
const SSO_PREFIX: &str = "sso";
const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const LEN: usize = 25;

/// A pool's session configuration (SetUserPoolSessionConfiguration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolSessions {
    pub tracking: bool,
    pub max_per_user: u32,
}

impl Default for PoolSessions {
    fn default() -> Self {
        Self {
            tracking: false,
            max_per_user: DEFAULT_MAX_PER_USER,
        }
    }
}

impl PoolSessions {
    pub fn of(settings: &BTreeMap<String, serde_json::Value>) -> Self {
        let c = settings.get(SETTING);
        Self {
            tracking: c
                .and_then(|c| c.get("UserSessionTracking"))
                .and_then(|v| v.as_str())
                == Some("ENABLED"),
            max_per_user: c
                .and_then(|c| c.get("TokenSession"))
                .and_then(|t| t.get("MaxPerUser"))
                .and_then(|v| v.as_u64())
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(DEFAULT_MAX_PER_USER),
        }
    }

    pub fn to_setting(self) -> serde_json::Value {
        serde_json::json!({
            "UserSessionTracking": if self.tracking { "ENABLED" } else { "DISABLED" },
            "TokenSession": { "MaxPerUser": self.max_per_user },
        })
    }
}

/// An app client's SSOSession MaxValidityMinutes (SetUserPoolClientSessionConfiguration), if set.
pub fn sso_validity_minutes(client_settings: &BTreeMap<String, serde_json::Value>) -> Option<i64> {
    client_settings
        .get(CLIENT_SETTING)
        .and_then(|s| s.get("MaxValidityMinutes"))
        .and_then(serde_json::Value::as_i64)
}

/// The SessionId of the token session `origin_jti` started.
pub fn token_session_id(origin_jti: &Uuid) -> String {
    session_id(PREFIX, origin_jti.as_u128())
}

/// A new SSO session's SessionId, from 16 random bytes.
pub fn sso_session_id(random: [u8; 16]) -> String {
    session_id(SSO_PREFIX, u128::from_be_bytes(random))
}

/// Whether `id` has the shape of an SSO SessionId.
pub fn is_sso_session_id(id: &str) -> bool {
    id.strip_prefix(SSO_PREFIX)
        .is_some_and(|d| d.len() == LEN && d.bytes().all(|b| DIGITS.contains(&b)))
}

/// `prefix` + `n` in base 36, 25 digits (u128's largest fits).
fn session_id(prefix: &str, mut n: u128) -> String {
    let mut digits = [b'0'; LEN];
    for d in digits.iter_mut().rev() {
        *d = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    let mut id = String::with_capacity(prefix.len() + LEN);
    id.push_str(prefix);
    id.extend(digits.iter().map(|&b| char::from(b)));
    id
}

/// The `origin_jti` a token SessionId names, if it is one.
pub fn parse_token_session_id(id: &str) -> Option<Uuid> {
    let digits = id.strip_prefix(PREFIX)?;
    if digits.len() != LEN {
        return None;
    }
    let mut n: u128 = 0;
    for c in digits.bytes() {
        let d = DIGITS.iter().position(|&x| x == c)? as u128;
        n = n.checked_mul(36)?.checked_add(d)?;
    }
    Some(Uuid::from_u128(n))
}

/// The sessions to evict so that one more fits under `max`: the least recently used first
/// (`sessions` as (id, last active)).
pub fn evictions(sessions: &[(Uuid, Timestamp)], max: u32) -> Vec<Uuid> {
    let keep = (max as usize).saturating_sub(1);
    if sessions.len() <= keep {
        return Vec::new();
    }
    let mut by_use: Vec<&(Uuid, Timestamp)> = sessions.iter().collect();
    by_use.sort_by_key(|(id, at)| (*at, *id));
    by_use
        .into_iter()
        .take(sessions.len() - keep)
        .map(|(id, _)| *id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_round_trip_and_match_the_model_pattern() {
        for id in [
            Uuid::nil(),
            Uuid::max(),
            Uuid::from_u128(0x1234_5678_9abc_def0),
        ] {
            let s = token_session_id(&id);
            assert_eq!(s.len(), 28);
            assert!(s.starts_with("tkn"));
            assert!(
                s[3..]
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
            );
            assert_eq!(parse_token_session_id(&s), Some(id));
        }
        assert_eq!(parse_token_session_id("sso0000000000000000000000000"), None);
        assert_eq!(parse_token_session_id("tkn000"), None);
        // Past 2^128.
        assert_eq!(parse_token_session_id("tknzzzzzzzzzzzzzzzzzzzzzzzzz"), None);
    }

    #[test]
    fn sso_session_ids_have_the_model_shape_and_are_told_apart() {
        for random in [[0u8; 16], [0xff; 16], [7; 16]] {
            let s = sso_session_id(random);
            assert_eq!(s.len(), 28);
            assert!(is_sso_session_id(&s));
            assert_eq!(parse_token_session_id(&s), None);
        }
        assert_ne!(sso_session_id([1; 16]), sso_session_id([2; 16]));
        assert!(!is_sso_session_id(&token_session_id(&Uuid::max())));
        assert!(!is_sso_session_id("ssoABC"));
    }

    #[test]
    fn the_least_recently_used_sessions_make_room() {
        let t = Timestamp::from_millis;
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let sessions = [(a, t(30)), (b, t(10)), (c, t(20))];
        assert_eq!(evictions(&sessions, 3), vec![b]);
        assert_eq!(evictions(&sessions, 2), vec![b, c]);
        assert!(evictions(&sessions, 4).is_empty());
        assert_eq!(evictions(&sessions, 1), vec![b, c, a]);
    }

    #[test]
    fn configuration_round_trips() {
        let c = PoolSessions {
            tracking: true,
            max_per_user: 3,
        };
        let settings = BTreeMap::from([(SETTING.to_string(), c.to_setting())]);
        assert_eq!(PoolSessions::of(&settings), c);
        assert_eq!(PoolSessions::of(&BTreeMap::new()), PoolSessions::default());
    }
}
