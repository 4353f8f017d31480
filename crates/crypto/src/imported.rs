//! Password hashes brought from another system (user import jobs): verified once at the user's
//! next password sign-in, then replaced by an argon2id hash ([`crate::password`]).
//!
//! Accepted forms:
//! - bcrypt, `$2a$` / `$2b$` / `$2y$` (cost 4–16);
//! - argon2 PHC strings, `$argon2id$` / `$argon2i$` / `$argon2d$` (m ≤ 256 MiB, t ≤ 16, p ≤ 8);
//! - scrypt PHC strings, `$scrypt$ln=…,r=…,p=…$salt$hash` (ln ≤ 20, r ≤ 32, p ≤ 16);
//! - PBKDF2 PHC strings, `$pbkdf2-sha256$i=…,l=…$salt$hash` (and `-sha512`; i ≤ 10,000,000);
//! - Firebase Authentication's modified scrypt, as Tessera's extension
//!   `$firebase-scrypt$rounds=R,mem_cost=M,salt_separator=B64,signer_key=B64$SALT_B64$HASH_B64`
//!   with the values Firebase's `auth:export` and the project's password-hash parameters give
//!   (standard base64): the key scrypt(password, salt ‖ separator, N = 2^M, r = R, p = 1) encrypts
//!   the signer key with AES-256-CTR and a zero IV, and that must equal the hash.
//!
//! The caps keep one imported row from costing the server more than a few hundred milliseconds
//! or a few hundred MiB per sign-in; [`check`] refuses a hash beyond them when it is imported,
//! not when its user first signs in.

use argon2::password_hash::PasswordVerifier as _;
use argon2::password_hash::phc::PasswordHash;
use base64::Engine as _;

/// The algorithm of an accepted imported hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Bcrypt,
    Argon2,
    Scrypt,
    Pbkdf2,
    FirebaseScrypt,
}

impl Algorithm {
    /// The name `CreateUserImportJob`'s `PasswordHashingAlgorithm` uses for it (Firebase's is
    /// Tessera's own).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Bcrypt => "BCRYPT",
            Algorithm::Argon2 => "ARGON2ID",
            Algorithm::Scrypt => "SCRYPT",
            Algorithm::Pbkdf2 => "PBKDF2_SHA256",
            Algorithm::FirebaseScrypt => "FIREBASE_SCRYPT",
        }
    }
}

fn b64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// Firebase's parameters and values, parsed.
struct Firebase {
    rounds: u32,
    mem_cost: u8,
    separator: Vec<u8>,
    signer_key: Vec<u8>,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

fn firebase(hash: &str) -> Option<Firebase> {
    let rest = hash.strip_prefix("$firebase-scrypt$")?;
    let mut parts = rest.split('$');
    let (params, salt, hashed) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (mut rounds, mut mem_cost, mut separator, mut signer_key) = (None, None, None, None);
    for kv in params.split(',') {
        let (k, v) = kv.split_once('=')?;
        match k {
            "rounds" => rounds = v.parse::<u32>().ok(),
            "mem_cost" => mem_cost = v.parse::<u8>().ok(),
            "salt_separator" => separator = b64(v),
            "signer_key" => signer_key = b64(v),
            _ => return None,
        }
    }
    Some(Firebase {
        rounds: rounds.filter(|r| (1..=32).contains(r))?,
        mem_cost: mem_cost.filter(|m| (1..=20).contains(m))?,
        separator: separator?,
        signer_key: signer_key.filter(|k| !k.is_empty())?,
        salt: b64(salt)?,
        hash: b64(hashed).filter(|h| !h.is_empty())?,
    })
}

fn param(hash: &PasswordHash, name: &str) -> Option<u64> {
    hash.params.get_decimal(name).map(u64::from)
}

/// Checks an imported hash's form and cost; `None` when it is not one Tessera accepts.
pub fn check(hash: &str) -> Option<Algorithm> {
    if hash.len() > 1024 {
        return None;
    }
    if hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$") {
        let cost: u32 = hash.get(4..6)?.parse().ok()?;
        return ((4..=16).contains(&cost) && hash.len() == 60).then_some(Algorithm::Bcrypt);
    }
    if hash.starts_with("$firebase-scrypt$") {
        return firebase(hash).map(|_| Algorithm::FirebaseScrypt);
    }
    let phc = PasswordHash::new(hash).ok()?;
    phc.salt.as_ref()?;
    phc.hash.as_ref()?;
    match phc.algorithm.as_str() {
        "argon2id" | "argon2i" | "argon2d" => {
            let ok = param(&phc, "m").is_some_and(|m| m <= 262_144)
                && param(&phc, "t").is_some_and(|t| t <= 16)
                && param(&phc, "p").is_some_and(|p| p <= 8);
            ok.then_some(Algorithm::Argon2)
        }
        "scrypt" => {
            let ok = param(&phc, "ln").is_some_and(|n| (1..=20).contains(&n))
                && param(&phc, "r").is_some_and(|r| (1..=32).contains(&r))
                && param(&phc, "p").is_some_and(|p| (1..=16).contains(&p));
            ok.then_some(Algorithm::Scrypt)
        }
        "pbkdf2-sha256" | "pbkdf2-sha512" => param(&phc, "i")
            .is_some_and(|i| (1..=10_000_000).contains(&i))
            .then_some(Algorithm::Pbkdf2),
        _ => None,
    }
}

/// Whether `password` matches an imported `hash` (false for anything [`check`] refuses).
pub fn verify(password: &str, hash: &str) -> bool {
    let Some(algorithm) = check(hash) else {
        return false;
    };
    let pw = password.as_bytes();
    match algorithm {
        Algorithm::Bcrypt => bcrypt::verify(pw, hash).unwrap_or(false),
        Algorithm::FirebaseScrypt => firebase(hash).is_some_and(|f| verify_firebase(pw, &f)),
        Algorithm::Argon2 | Algorithm::Scrypt | Algorithm::Pbkdf2 => {
            let Ok(phc) = PasswordHash::new(hash) else {
                return false;
            };
            match algorithm {
                Algorithm::Argon2 => argon2::Argon2::default().verify_password(pw, &phc).is_ok(),
                Algorithm::Scrypt => scrypt::Scrypt::default().verify_password(pw, &phc).is_ok(),
                _ => pbkdf2::Pbkdf2::default().verify_password(pw, &phc).is_ok(),
            }
        }
    }
}

fn verify_firebase(password: &[u8], f: &Firebase) -> bool {
    use aws_lc_rs::cipher::{AES_256, EncryptingKey, EncryptionContext, UnboundCipherKey};
    use aws_lc_rs::iv::FixedLength;
    let Ok(params) = scrypt::Params::new(f.mem_cost, f.rounds, 1) else {
        return false;
    };
    let mut salt = f.salt.clone();
    salt.extend_from_slice(&f.separator);
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    if scrypt::scrypt(password, &salt, &params, key.as_mut_slice()).is_err() {
        return false;
    }
    let Ok(unbound) = UnboundCipherKey::new(&AES_256, key.as_slice()) else {
        return false;
    };
    let Ok(ctr) = EncryptingKey::ctr(unbound) else {
        return false;
    };
    let mut out = f.signer_key.clone();
    let iv = EncryptionContext::Iv128(FixedLength::from([0u8; 16]));
    if ctr.less_safe_encrypt(&mut out, iv).is_err() {
        return false;
    }
    crate::constant_time_eq(&out, &f.hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_hashes_from_other_systems_verify() {
        // OpenBSD's test vector (also in jBCrypt's suite): "U*U" at cost 5.
        let b = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
        assert_eq!(check(b), Some(Algorithm::Bcrypt));
        assert!(verify("U*U", b));
        assert!(!verify("U*U*", b));
    }

    #[test]
    fn phc_hashes_verify_and_costs_are_capped() {
        // Made independently with Python's hashlib (scrypt, pbkdf2_hmac), PHC-encoded.
        let scrypt = "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0MTIzNA$VlrnPHsvwgnhqij2sLVAtPvwSS+hedOVJpZrcLtrM2U";
        assert_eq!(check(scrypt), Some(Algorithm::Scrypt));
        assert!(verify("Passw0rd!", scrypt));
        assert!(!verify("Passw0rd?", scrypt));
        let pbkdf2 = "$pbkdf2-sha256$i=1000,l=32$c2FsdHNhbHRzYWx0MTIzNA$SddKAXNp+2MiG60yze5s8jSNQRBNFdR7VICBrnm+jCE";
        assert_eq!(check(pbkdf2), Some(Algorithm::Pbkdf2));
        assert!(verify("Passw0rd!", pbkdf2));
        assert!(!verify("Passw0rd?", pbkdf2));
        let argon = argon2::password_hash::PasswordHasher::hash_password_with_salt(
            &argon2::Argon2::new(
                argon2::Algorithm::Argon2i,
                argon2::Version::V0x13,
                argon2::Params::new(256, 2, 1, None).unwrap_or_else(|e| panic!("{e}")),
            ),
            b"Passw0rd!",
            b"saltsaltsaltsalt",
        )
        .map(|h| h.to_string())
        .unwrap_or_default();
        assert!(argon.starts_with("$argon2i$"), "{argon}");
        assert_eq!(check(&argon), Some(Algorithm::Argon2));
        assert!(verify("Passw0rd!", &argon));
        assert!(!verify("Passw0rd?", &argon));
        // Beyond the caps: refused at import.
        assert_eq!(
            check("$argon2id$v=19$m=4194304,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"),
            None
        );
        assert_eq!(check("$scrypt$ln=30,r=8,p=1$c2FsdA$aGFzaA"), None);
        assert_eq!(check("$md5$whatever"), None);
        assert!(!verify("x", "not a hash"));
    }

    #[test]
    fn firebase_scrypt_matches_firebases_published_example() {
        // The example in github.com/firebase/scrypt's README: the project's hash parameters,
        // then one user's salt and hash from `firebase auth:export`.
        let hash = "$firebase-scrypt$rounds=8,mem_cost=14,salt_separator=Bw==,signer_key=jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==$42xEC+ixf3L2lw==$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==";
        assert_eq!(check(hash), Some(Algorithm::FirebaseScrypt));
        assert!(verify("user1password", hash));
        assert!(!verify("user2password", hash));
    }
}
