//! What a sign-in answers, and the parameters it reads: the vocabulary shared by the doors
//! (the API's InitiateAuth and RespondToAuthChallenge in `auth`, the hosted pages in `oauth`),
//! the steps that follow a proof (`signin`, `srp`, `custom`, `devices`) and the token issuer
//! (`tokens`). It depends on none of them, so they no longer import one another in a circle.

use crate::error::{EngineError, EngineResult};
use crate::triggers::ClientMetadata;
use std::collections::BTreeMap;
use tessera_domain::{DomainError, Timestamp, UserPoolId};

#[derive(Clone, Debug)]
pub struct AuthRequest {
    pub client_id: String,
    pub flow: String,
    pub parameters: BTreeMap<String, String>,
    /// AdminInitiateAuth names the pool; InitiateAuth doesn't.
    pub admin_pool: Option<UserPoolId>,
    /// ClientMetadata: PreAuthentication sees it as validationData, UserMigration as both.
    pub client_metadata: ClientMetadata,
    /// USER_AUTH straight after ConfirmSignUp: the Session that call returned.
    pub session: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ChallengeResponse {
    pub client_id: String,
    pub challenge_name: String,
    pub session: Option<String>,
    pub responses: BTreeMap<String, String>,
    pub admin_pool: Option<UserPoolId>,
    /// ClientMetadata, for the functions this answer runs.
    pub client_metadata: ClientMetadata,
}

#[derive(Clone, PartialEq, Eq)]
pub struct TokenSet {
    pub access_token: String,
    pub id_token: String,
    /// Absent when refreshing without rotation.
    pub refresh_token: Option<String>,
    pub expires_in: u64,
    /// A device the pool started tracking with this sign-in: (DeviceKey, DeviceGroupKey).
    pub new_device: Option<(String, String)>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthOutcome {
    Tokens(TokenSet),
    Challenge {
        name: String,
        session: Option<String>,
        parameters: BTreeMap<String, String>,
        /// USER_AUTH's AvailableChallenges (empty for every other challenge).
        available: Vec<String>,
    },
    /// A hosted-UI sign-in is complete: the pages open a hosted session and hand out a code.
    SignedIn {
        sub: tessera_domain::Sub,
        auth_time: Timestamp,
    },
}

pub(crate) fn missing(name: &str) -> EngineError {
    DomainError::invalid_parameter(format!("Missing required parameter {name}")).into()
}

pub(crate) fn param<'a>(params: &'a BTreeMap<String, String>, name: &str) -> EngineResult<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing(name))
}
