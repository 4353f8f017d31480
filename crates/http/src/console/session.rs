//! The console's own rules, pure so they are tested without a server: who may sign in (the
//! configured credentials, compared in constant time), the session a cookie carries (idle and
//! absolute timeouts, the CSRF token bound to it), and the lockout of an address after repeated
//! failed sign-ins.

use crate::sigv4::Credentials;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;
use tessera_domain::Timestamp;
use tessera_domain::console::ConsoleOperator;

/// A signed-in operator's session, sealed into the console cookie (never readable or
/// changeable by the browser). Short field names keep the cookie small.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Session {
    /// Who signed in: the access key id, or an operator account's name. Their identity in the
    /// audit trail.
    #[serde(rename = "k")]
    pub name: String,
    /// Signed in as an operator account (`tessera admin create`), not with an access key.
    #[serde(rename = "o", default, skip_serializing_if = "std::ops::Not::not")]
    pub operator_account: bool,
    /// Binds the session to the secret it was opened with (the access key's secret, or the
    /// operator's password hash): rotating it, or deleting the operator, ends the session.
    #[serde(rename = "f")]
    pub fingerprint: String,
    /// The CSRF token every form of this session carries.
    #[serde(rename = "c")]
    pub csrf: String,
    /// When the operator signed in (ms): the absolute timeout counts from here.
    #[serde(rename = "i")]
    pub issued: i64,
    /// The last request (ms): the idle timeout counts from here.
    #[serde(rename = "s")]
    pub seen: i64,
}

impl Session {
    pub(crate) fn open(credentials: &Credentials, csrf: String, now: Timestamp) -> Self {
        Self {
            name: credentials.access_key_id.clone(),
            operator_account: false,
            fingerprint: fingerprint(&credentials.secret_access_key),
            csrf,
            issued: now.millis(),
            seen: now.millis(),
        }
    }

    /// A session of an operator account, bound to their password hash as it is now.
    pub(crate) fn open_operator(operator: &ConsoleOperator, csrf: String, now: Timestamp) -> Self {
        Self {
            name: operator.name.clone(),
            operator_account: true,
            fingerprint: fingerprint(&operator.password_phc),
            csrf,
            issued: now.millis(),
            seen: now.millis(),
        }
    }

    /// Whether the session still holds at `now`: neither idle for `idle` nor older than
    /// `absolute`, not from the future, and its credentials still configured unchanged (for
    /// an operator account: `operator`, the account as stored now, still the one signed in).
    pub(crate) fn holds(
        &self,
        now: Timestamp,
        (idle, absolute): (Duration, Duration),
        credentials: &[Credentials],
        operator: Option<&ConsoleOperator>,
    ) -> bool {
        let now = now.millis();
        let within = |since: i64, limit: Duration| {
            let limit = i64::try_from(limit.as_millis()).unwrap_or(i64::MAX);
            since <= now && now - since < limit
        };
        let same = |secret: &str| {
            tessera_crypto::constant_time_eq(
                fingerprint(secret).as_bytes(),
                self.fingerprint.as_bytes(),
            )
        };
        let still_valid = if self.operator_account {
            operator.is_some_and(|o| o.name == self.name && same(&o.password_phc))
        } else {
            credentials
                .iter()
                .any(|c| c.access_key_id == self.name && same(&c.secret_access_key))
        };
        within(self.seen, idle)
            && within(self.issued, absolute)
            && self.seen >= self.issued
            && still_valid
    }

    /// The session as of a request at `now` (the idle timeout starts again).
    pub(crate) fn touched(&self, now: Timestamp) -> Self {
        Self {
            seen: now.millis().max(self.seen),
            ..self.clone()
        }
    }

    /// Whether a form's token is this session's.
    pub(crate) fn csrf_ok(&self, submitted: Option<&str>) -> bool {
        submitted
            .is_some_and(|s| tessera_crypto::constant_time_eq(s.as_bytes(), self.csrf.as_bytes()))
    }

    /// The operator's name in the audit trail.
    pub(crate) fn operator(&self) -> String {
        format!("console:{}", self.name)
    }
}

/// A short digest of a secret, kept only inside the sealed cookie.
fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    hex::encode(&digest[..16])
}

/// The credentials a sign-in names, if they are configured. Every configured pair is compared
/// (digests, so lengths don't show either) whatever matched before, in constant time.
pub(crate) fn authenticate<'a>(
    credentials: &'a [Credentials],
    access_key_id: &str,
    secret_access_key: &str,
) -> Option<&'a Credentials> {
    let key = Sha256::digest(access_key_id.as_bytes());
    let secret = Sha256::digest(secret_access_key.as_bytes());
    let mut found = None;
    for c in credentials {
        let key_ok =
            tessera_crypto::constant_time_eq(&Sha256::digest(c.access_key_id.as_bytes()), &key);
        let secret_ok = tessera_crypto::constant_time_eq(
            &Sha256::digest(c.secret_access_key.as_bytes()),
            &secret,
        );
        if key_ok & secret_ok & found.is_none() {
            found = Some(c);
        }
    }
    found
}

/// Failed sign-ins a source address may make before it is locked out.
pub(crate) const FREE_FAILURES: u32 = 5;
/// How long a locked-out address waits; also how long failures are remembered.
pub(crate) const LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Addresses remembered before stale ones are dropped.
const REMEMBERED: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Timestamp,
    locked_until: Option<Timestamp>,
}

/// Failed console sign-ins per source address. In this node's memory: a restart forgets
/// them, and each node of a cluster counts its own (so N nodes allow N times the failures).
#[derive(Debug, Default)]
pub(crate) struct Lockout {
    failures: Mutex<HashMap<Option<IpAddr>, Failures>>,
}

impl Lockout {
    /// How long `ip` must still wait, if it is locked out.
    pub(crate) fn locked(&self, ip: Option<IpAddr>, now: Timestamp) -> Option<Duration> {
        let map = self.failures.lock().ok()?;
        let until = map.get(&ip)?.locked_until?;
        (until > now).then(|| until.since(now))
    }

    /// Counts a failed sign-in; true if the address is now locked out.
    pub(crate) fn failed(&self, ip: Option<IpAddr>, now: Timestamp) -> bool {
        let Ok(mut map) = self.failures.lock() else {
            return false;
        };
        if map.len() >= REMEMBERED {
            map.retain(|_, f| {
                now.since(f.last) < LOCKOUT || f.locked_until.is_some_and(|u| u > now)
            });
        }
        if map.len() >= REMEMBERED * 10 {
            // Flooded from more addresses than can be remembered: keep the locked ones only.
            map.retain(|_, f| f.locked_until.is_some_and(|u| u > now));
        }
        let entry = map.entry(ip).or_insert(Failures {
            count: 0,
            last: now,
            locked_until: None,
        });
        if now.since(entry.last) >= LOCKOUT && entry.locked_until.is_none_or(|u| u <= now) {
            entry.count = 0;
            entry.locked_until = None;
        }
        entry.count += 1;
        entry.last = now;
        if entry.count >= FREE_FAILURES {
            entry.locked_until = Some(now.plus(LOCKOUT));
        }
        entry.locked_until.is_some_and(|u| u > now)
    }

    /// A successful sign-in forgets the address's failures.
    pub(crate) fn succeeded(&self, ip: Option<IpAddr>) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&ip);
        }
    }
}

/// The ListUsers filter for a prefix search on `attribute` (one of the console's choices),
/// with the value quoted as the filter language wants; `None` for anything else.
pub(crate) fn prefix_filter(attribute: &str, value: &str) -> Option<String> {
    const SEARCHABLE: &[&str] = &[
        "username",
        "email",
        "phone_number",
        "sub",
        "name",
        "given_name",
        "family_name",
        "preferred_username",
        "cognito:user_status",
        "status",
    ];
    if value.is_empty() || !SEARCHABLE.contains(&attribute) {
        return None;
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    Some(format!("{attribute} ^= \"{quoted}\""))
}

/// Where to go after signing in: a console path only (never another site).
pub(crate) fn after_sign_in(next: Option<&str>) -> String {
    match next {
        Some(n)
            if (n == "/console" || n.starts_with("/console/"))
                && !n.contains("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/console".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_domain::filter::{FilterOp, UserFilter};

    fn creds() -> Vec<Credentials> {
        vec![Credentials {
            access_key_id: "AKIAOPERATOR".into(),
            secret_access_key: "s3cret/value".into(),
        }]
    }

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn sign_in_needs_both_halves_of_a_configured_pair() {
        let c = creds();
        assert!(authenticate(&c, "AKIAOPERATOR", "s3cret/value").is_some());
        assert!(authenticate(&c, "AKIAOPERATOR", "s3cret/valuE").is_none());
        assert!(authenticate(&c, "AKIAOTHER", "s3cret/value").is_none());
        assert!(authenticate(&c, "", "").is_none());
        assert!(authenticate(&[], "AKIAOPERATOR", "s3cret/value").is_none());
    }

    #[test]
    fn a_session_ends_when_idle_too_long_or_too_old() {
        let c = creds();
        let t0 = Timestamp::from_secs(1_000_000);
        let s = Session::open(&c[0], "tok".into(), t0);
        let (idle, absolute) = (30 * MIN, 8 * 60 * MIN);
        assert!(s.holds(t0, (idle, absolute), &c, None));
        assert!(s.holds(t0.plus(29 * MIN), (idle, absolute), &c, None));
        assert!(
            !s.holds(t0.plus(30 * MIN), (idle, absolute), &c, None),
            "idle"
        );
        // Kept busy, it still ends at the absolute timeout.
        let mut busy = s.clone();
        let mut t = t0;
        while t < t0.plus(8 * 60 * MIN - 20 * MIN) {
            t = t.plus(20 * MIN);
            assert!(busy.holds(t, (idle, absolute), &c, None), "busy at {t:?}");
            busy = busy.touched(t);
        }
        let late = t0.plus(8 * 60 * MIN);
        assert!(
            !busy.touched(late).holds(late, (idle, absolute), &c, None),
            "absolute"
        );
        // A session from the future (a clock set back, a forged time) doesn't hold.
        assert!(!s.holds(t0.minus(MIN), (idle, absolute), &c, None));
    }

    #[test]
    fn a_session_ends_when_its_credentials_change() {
        let c = creds();
        let t0 = Timestamp::from_secs(5);
        let s = Session::open(&c[0], "tok".into(), t0);
        let rotated = vec![Credentials {
            access_key_id: "AKIAOPERATOR".into(),
            secret_access_key: "new secret".into(),
        }];
        assert!(s.holds(t0, (MIN, MIN), &c, None));
        assert!(!s.holds(t0, (MIN, MIN), &rotated, None));
        assert!(!s.holds(t0, (MIN, MIN), &[], None));
        assert!(!s.fingerprint.contains("s3cret"));
    }

    #[test]
    fn an_operator_session_ends_when_the_account_is_deleted_or_replaced() {
        let t0 = Timestamp::from_secs(5);
        let alice = ConsoleOperator {
            name: "alice".into(),
            password_phc: "$argon2id$v=19$one".into(),
            created_at: t0,
        };
        let s = Session::open_operator(&alice, "tok".into(), t0);
        assert_eq!(s.operator(), "console:alice");
        let window = (MIN, MIN);
        assert!(s.holds(t0, window, &[], Some(&alice)));
        assert!(!s.holds(t0, window, &[], None), "deleted");
        let recreated = ConsoleOperator {
            password_phc: "$argon2id$v=19$two".into(),
            ..alice.clone()
        };
        assert!(
            !s.holds(t0, window, &[], Some(&recreated)),
            "a new password"
        );
        // An access key of the same name doesn't open an operator's session, nor the reverse.
        let key = Credentials {
            access_key_id: "alice".into(),
            secret_access_key: alice.password_phc.clone(),
        };
        assert!(!s.holds(t0, window, std::slice::from_ref(&key), None));
        let k = Session::open(&key, "tok".into(), t0);
        assert!(!k.holds(t0, window, &[], Some(&alice)));
        // Sessions from before operator accounts existed read as access-key sessions.
        let old: Session =
            serde_json::from_str(r#"{"k":"AKIA","f":"x","c":"t","i":1,"s":1}"#).unwrap();
        assert!(!old.operator_account);
    }

    #[test]
    fn csrf_tokens_are_the_sessions_own() {
        let c = creds();
        let s = Session::open(&c[0], "token-one".into(), Timestamp::from_secs(1));
        assert!(s.csrf_ok(Some("token-one")));
        assert!(!s.csrf_ok(Some("token-two")));
        assert!(!s.csrf_ok(Some("")));
        assert!(!s.csrf_ok(None));
        assert_eq!(s.operator(), "console:AKIAOPERATOR");
        let json = serde_json::to_string(&s).unwrap();
        let back: Session = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn an_address_is_locked_out_after_repeated_failures() {
        let lockout = Lockout::default();
        let ip: Option<IpAddr> = Some("192.0.2.7".parse().unwrap());
        let other: Option<IpAddr> = Some("192.0.2.8".parse().unwrap());
        let t0 = Timestamp::from_secs(100);
        for i in 1..FREE_FAILURES {
            assert!(!lockout.failed(ip, t0), "failure {i}");
            assert_eq!(lockout.locked(ip, t0), None);
        }
        assert!(lockout.failed(ip, t0));
        assert_eq!(lockout.locked(ip, t0), Some(LOCKOUT));
        assert_eq!(lockout.locked(other, t0), None, "per address");
        assert!(lockout.locked(ip, t0.plus(LOCKOUT - MIN)).is_some());
        assert_eq!(lockout.locked(ip, t0.plus(LOCKOUT)), None, "it ends");
        // After the lockout, failures count from zero again.
        assert!(!lockout.failed(ip, t0.plus(LOCKOUT)));
        // Failures spread out more than the window apart never lock.
        let mut t = t0;
        for _ in 0..10 {
            t = t.plus(LOCKOUT + MIN);
            assert!(!lockout.failed(other, t));
        }
        // A success forgets them.
        for _ in 1..FREE_FAILURES {
            lockout.failed(ip, t);
        }
        lockout.succeeded(ip);
        assert!(!lockout.failed(ip, t));
    }

    #[test]
    fn searches_become_prefix_filters_the_engine_parses() {
        let f = prefix_filter("email", r#"a"b\c"#).unwrap();
        let parsed = UserFilter::parse(&f).unwrap().unwrap();
        assert_eq!(parsed.op, FilterOp::StartsWith);
        assert_eq!(parsed.value, r#"a"b\c"#);
        assert_eq!(
            prefix_filter("cognito:user_status", "CONF").as_deref(),
            Some(r#"cognito:user_status ^= "CONF""#)
        );
        assert_eq!(prefix_filter("email", ""), None);
        assert_eq!(prefix_filter("custom:x", "a"), None);
    }

    #[test]
    fn sign_in_returns_only_to_console_pages() {
        assert_eq!(
            after_sign_in(Some("/console/pools/x/users")),
            "/console/pools/x/users"
        );
        assert_eq!(after_sign_in(Some("/console")), "/console");
        for bad in [
            "https://evil.example/console",
            "//evil.example",
            "/console//evil",
            "/consoleevil",
            "/console/\\evil",
            "/other",
        ] {
            assert_eq!(after_sign_in(Some(bad)), "/console", "{bad}");
        }
        assert_eq!(after_sign_in(None), "/console");
    }
}
