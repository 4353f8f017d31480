//! Password hashing: argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1), PHC strings.
//!
//! A cheaper cost exists for tests and `--dev` only, under a name that says so. Verification reads
//! the parameters from the stored PHC string, so hashes made under either cost keep verifying.

use crate::CryptoError;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HashCost {
    /// argon2id m = 19 MiB, t = 2, p = 1.
    #[default]
    Production,
    /// argon2id m = 1 MiB, t = 1: for tests and local development, never for real users.
    InsecureFast,
}

impl HashCost {
    fn params(self) -> Result<Params, CryptoError> {
        let (m, t) = match self {
            HashCost::Production => (Params::DEFAULT_M_COST, Params::DEFAULT_T_COST),
            HashCost::InsecureFast => (1024, 1),
        };
        Params::new(m, t, 1, None).map_err(|e| CryptoError::Hash(e.to_string()))
    }
}

/// The outcome of checking a password against a stored hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verified {
    Yes { needs_rehash: bool },
    No,
}

#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
    cost: HashCost,
    /// A hash of nothing anyone knows, verified against for unknown users so that a miss costs
    /// the same time as a wrong password.
    decoy: String,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("cost", &self.cost)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    pub fn new(cost: HashCost) -> Result<Self, CryptoError> {
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, cost.params()?);
        let mut hasher = Self {
            argon2,
            cost,
            decoy: String::new(),
        };
        hasher.decoy = hasher.hash(&crate::random::token(24))?;
        Ok(hasher)
    }

    pub fn cost(&self) -> HashCost {
        self.cost
    }

    pub fn hash(&self, password: &str) -> Result<String, CryptoError> {
        let salt = crate::random::bytes::<16>();
        self.argon2
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| CryptoError::Hash(e.to_string()))
    }

    /// Checks a password against a stored hash: ours (argon2id), or one imported from another
    /// system ([`crate::imported`]), which always needs rehashing when it matches.
    pub fn verify(&self, password: &str, phc: &str) -> Verified {
        if !phc.starts_with("$argon2id$v=19$") {
            return if crate::imported::verify(password, phc) {
                Verified::Yes { needs_rehash: true }
            } else {
                Verified::No
            };
        }
        match self.argon2.verify_password(password.as_bytes(), phc) {
            Ok(()) => Verified::Yes {
                needs_rehash: !phc.starts_with(&self.current_prefix()),
            },
            Err(_) => Verified::No,
        }
    }

    /// Spends the time of a real verification, for a user who doesn't exist.
    pub fn verify_decoy(&self, password: &str) {
        let _ = self
            .argon2
            .verify_password(password.as_bytes(), self.decoy.as_str());
    }

    /// `$argon2id$v=19$m=…,t=…,p=…$`: a stored hash with another prefix is upgraded on sign-in.
    fn current_prefix(&self) -> String {
        let p = self.argon2.params();
        format!(
            "$argon2id$v=19$m={},t={},p={}$",
            p.m_cost(),
            p.t_cost(),
            p.p_cost()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_carry_their_parameters() {
        let h = PasswordHasher::new(HashCost::InsecureFast).unwrap_or_else(|e| panic!("{e}"));
        let phc = h.hash("Passw0rd!").unwrap_or_else(|e| panic!("{e}"));
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{phc}");
        assert_eq!(
            h.verify("Passw0rd!", &phc),
            Verified::Yes {
                needs_rehash: false
            }
        );
        assert_eq!(h.verify("wrong", &phc), Verified::No);
        assert_eq!(h.verify("Passw0rd!", "not a phc string"), Verified::No);
    }

    #[test]
    fn production_cost_is_owasp_argon2id() {
        let p = HashCost::Production
            .params()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.m_cost(), p.t_cost(), p.p_cost()), (19 * 1024, 2, 1));
        assert_eq!(HashCost::default(), HashCost::Production);
    }

    #[test]
    fn weaker_hashes_ask_for_an_upgrade() {
        let fast = PasswordHasher::new(HashCost::InsecureFast).unwrap_or_else(|e| panic!("{e}"));
        let phc = fast.hash("pw").unwrap_or_else(|e| panic!("{e}"));
        let prod = PasswordHasher {
            argon2: Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                HashCost::Production
                    .params()
                    .unwrap_or_else(|e| panic!("{e}")),
            ),
            cost: HashCost::Production,
            decoy: String::new(),
        };
        assert_eq!(
            prod.verify("pw", &phc),
            Verified::Yes { needs_rehash: true }
        );
    }
}
