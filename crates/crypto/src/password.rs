//! Password hashing: argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1), PHC strings.
//!
//! A cheaper cost exists for tests and `--dev` only, under a name that says so. Verification reads
//! the parameters from the stored PHC string, so hashes made under either cost keep verifying.

use crate::CryptoError;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
        self.hash_in(password, &mut Workspace::new())
    }

    /// [`Self::hash`] in `workspace`'s memory instead of a fresh allocation.
    pub fn hash_in(
        &self,
        password: &str,
        workspace: &mut Workspace,
    ) -> Result<String, CryptoError> {
        let salt = crate::random::bytes::<16>();
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let params = self.argon2.params();
        fill(&self.argon2, password, &salt, &mut out, workspace)
            .map_err(|e| CryptoError::Hash(e.to_string()))?;
        let phc = || -> Result<PasswordHash, argon2::password_hash::Error> {
            Ok(PasswordHash {
                algorithm: argon2::ARGON2ID_IDENT,
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(params)?,
                salt: Some(Salt::new(&salt)?),
                hash: Some(Output::new(&out)?),
            })
        };
        phc()
            .map(|h| h.to_string())
            .map_err(|e| CryptoError::Hash(e.to_string()))
    }

    /// Checks a password against a stored hash: ours (argon2id), or one imported from another
    /// system ([`crate::imported`]), which always needs rehashing when it matches.
    pub fn verify(&self, password: &str, phc: &str) -> Verified {
        self.verify_in(password, phc, &mut Workspace::new())
    }

    /// [`Self::verify`] in `workspace`'s memory.
    pub fn verify_in(&self, password: &str, phc: &str, workspace: &mut Workspace) -> Verified {
        if !phc.starts_with("$argon2id$v=19$") {
            return if crate::imported::verify(password, phc) {
                Verified::Yes { needs_rehash: true }
            } else {
                Verified::No
            };
        }
        if argon2id_matches(password, phc, workspace) {
            Verified::Yes {
                needs_rehash: !phc.starts_with(&self.current_prefix()),
            }
        } else {
            Verified::No
        }
    }

    /// Spends the time of a real verification, for a user who doesn't exist.
    pub fn verify_decoy(&self, password: &str) {
        self.verify_decoy_in(password, &mut Workspace::new());
    }

    /// [`Self::verify_decoy`] in `workspace`'s memory.
    pub fn verify_decoy_in(&self, password: &str, workspace: &mut Workspace) {
        let _ = argon2id_matches(password, &self.decoy, workspace);
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

/// Memory for argon2id, kept between computations: one per hashing thread, so a sign-in
/// doesn't allocate (and hand back to the allocator) 19 MiB. Freed blocks of that size stay in
/// the allocator's per-thread arenas, so allocating per hash on changing threads made a
/// server's resident memory climb by ~19 MiB per arena under sign-in load.
///
/// It grows to the largest cost it has served up to [`Workspace::KEEP_BLOCKS`]; a stored hash
/// of a higher cost (an import) is computed in memory of its own, freed after.
#[derive(Default)]
pub struct Workspace {
    blocks: Vec<Block>,
}

impl Workspace {
    /// The production cost's 19 MiB, in 1 KiB blocks.
    pub const KEEP_BLOCKS: usize = Params::DEFAULT_M_COST as usize;

    pub fn new() -> Self {
        Self::default()
    }

    /// `count` blocks of the kept memory, grown to `count` if need be; `None` above
    /// [`Self::KEEP_BLOCKS`].
    fn blocks(&mut self, count: usize) -> Option<&mut [Block]> {
        if count > Self::KEEP_BLOCKS {
            return None;
        }
        if self.blocks.len() < count {
            self.blocks.resize(count, Block::default());
        }
        self.blocks.get_mut(..count)
    }
}

/// Recomputes an argon2id PHC string's hash for `password` (its own parameters, salt and
/// length) and compares in constant time (`Output`'s equality).
fn argon2id_matches(password: &str, phc: &str, workspace: &mut Workspace) -> bool {
    let Ok(stored) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return false;
    };
    if stored.algorithm != argon2::ARGON2ID_IDENT || stored.version != Some(Version::V0x13.into()) {
        return false;
    }
    let Ok(params) = Params::try_from(&stored) else {
        return false;
    };
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = vec![0u8; expected.len()];
    fill(&argon2, password, salt, &mut out, workspace).is_ok()
        && Output::new(&out).is_ok_and(|o| &o == expected)
}

/// argon2's hash of `password` into `out`, in the workspace's memory, or in memory of its own
/// (freed on return) for a cost above what the workspace keeps.
fn fill(
    argon2: &Argon2<'_>,
    password: &str,
    salt: &[u8],
    out: &mut [u8],
    workspace: &mut Workspace,
) -> argon2::Result<()> {
    let count = argon2.params().block_count();
    match workspace.blocks(count) {
        Some(memory) => {
            argon2.hash_password_into_with_memory(password.as_bytes(), salt, out, memory)
        }
        None => argon2.hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            out,
            vec![Block::default(); count],
        ),
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
    fn hashes_made_in_a_workspace_are_the_crates_own_phc_strings() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let h = PasswordHasher::new(HashCost::InsecureFast).unwrap_or_else(|e| panic!("{e}"));
        let mut ws = Workspace::new();
        // Ours verify with the crate's verifier…
        let ours = h
            .hash_in("Passw0rd!", &mut ws)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            h.argon2
                .verify_password(b"Passw0rd!", ours.as_str())
                .is_ok()
        );
        assert!(h.argon2.verify_password(b"wrong", ours.as_str()).is_err());
        // …and the crate's (as stored before workspaces) verify with ours, in the same memory.
        let theirs = h
            .argon2
            .hash_password_with_salt(b"Passw0rd!", &[7; 16])
            .unwrap_or_else(|e| panic!("{e}"))
            .to_string();
        assert_eq!(
            h.verify_in("Passw0rd!", &theirs, &mut ws),
            Verified::Yes {
                needs_rehash: false
            }
        );
        assert_eq!(h.verify_in("Passw0rd?", &theirs, &mut ws), Verified::No);
        // Another cost, salt length and output length than ours, in the same workspace.
        let other = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(2048, 2, 1, Some(24)).unwrap_or_else(|e| panic!("{e}")),
        )
        .hash_password_with_salt(b"pw", &[9; 8])
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string();
        assert_eq!(
            h.verify_in("pw", &other, &mut ws),
            Verified::Yes { needs_rehash: true }
        );
        assert_eq!(h.verify_in("pW", &other, &mut ws), Verified::No);
        // Argon2i strings are imported hashes: checked by the import path, then upgraded.
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            h.argon2.params().clone(),
        )
        .hash_password_with_salt(b"pw", &[1; 16])
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string();
        assert_eq!(
            h.verify_in("pw", &argon2i, &mut ws),
            Verified::Yes { needs_rehash: true }
        );
        assert_eq!(h.verify_in("pW", &argon2i, &mut ws), Verified::No);
        assert_eq!(ws.blocks.len(), 2048);
    }

    #[test]
    fn a_cost_above_the_kept_memory_is_computed_in_memory_freed_after() {
        let h = PasswordHasher::new(HashCost::InsecureFast).unwrap_or_else(|e| panic!("{e}"));
        let m = Workspace::KEEP_BLOCKS as u32 + 1024;
        let big = {
            use argon2::password_hash::PasswordHasher as _;
            Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(m, 1, 1, None).unwrap_or_else(|e| panic!("{e}")),
            )
            .hash_password_with_salt(b"pw", &[3; 16])
            .unwrap_or_else(|e| panic!("{e}"))
            .to_string()
        };
        let mut ws = Workspace::new();
        assert_eq!(
            h.verify_in("pw", &big, &mut ws),
            Verified::Yes { needs_rehash: true }
        );
        // Nothing above the kept cost stays behind in the workspace.
        assert!(ws.blocks.capacity() <= Workspace::KEEP_BLOCKS);
        assert!(ws.blocks.len() <= Workspace::KEEP_BLOCKS);
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
