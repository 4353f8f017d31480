//! The JWT authorizer reverse proxies call (nginx `auth_request`, Traefik ForwardAuth, Envoy
//! ext_authz HTTP): is this bearer token one of the pool's, unexpired, unrevoked, of the
//! expected use and client, with every required scope? The answer carries who it is, and an
//! `x-amzn-oidc-data` JWT signed the way an Application Load Balancer signs it.
//!
//! A valid token costs no store round trip but the revocation check of its family, and that
//! answer is remembered for [`REVOCATION_TTL_MS`], so a revoked token is refused within that
//! time on every node.

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tessera_crypto::es256::Es256Key;
use tessera_domain::UserPoolId;
use tessera_store::KeyUse;
use uuid::Uuid;

/// How long a family's "not revoked" answer is trusted.
pub const REVOCATION_TTL_MS: i64 = 2_000;

/// Families remembered at most; the map is cleared when it grows past this.
const REVOCATION_CACHE_MAX: usize = 100_000;

/// Which token the proxy expects in `Authorization: Bearer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    Access,
    Id,
}

impl TokenUse {
    pub fn parse(s: &str) -> Option<TokenUse> {
        match s {
            "access" => Some(TokenUse::Access),
            "id" => Some(TokenUse::Id),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            TokenUse::Access => "access",
            TokenUse::Id => "id",
        }
    }

    fn key_use(self) -> KeyUse {
        match self {
            TokenUse::Access => KeyUse::Access,
            TokenUse::Id => KeyUse::Id,
        }
    }
}

/// What a proxy asks about one request.
#[derive(Debug, Clone)]
pub struct ForwardAuthCheck<'a> {
    pub pool_id: &'a str,
    pub token: &'a str,
    pub token_use: TokenUse,
    /// The token must have been issued to this app client.
    pub client_id: Option<&'a str>,
    /// Every one must be in the access token's `scope`.
    pub scopes: Vec<&'a str>,
}

/// A token that passed.
#[derive(Debug, Clone)]
pub struct ForwardIdentity {
    pub sub: String,
    pub username: String,
    pub groups: Vec<String>,
    pub scope: String,
    pub client_id: String,
    pub issuer: String,
    pub exp: i64,
    /// `x-amzn-oidc-data`: the ALB-format ES256 JWT.
    pub oidc_data: String,
}

/// Why a token was refused, in RFC 6750's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardAuthRefusal {
    /// `error="invalid_token"`: malformed, foreign, expired, revoked, wrong use or client.
    InvalidToken(&'static str),
    /// `error="insufficient_scope"`.
    InsufficientScope,
}

/// The ALB signing key and the revocation answers of this node.
#[derive(Default)]
pub(crate) struct ForwardAuthState {
    alb_key: OnceLock<Arc<Es256Key>>,
    revocations: Mutex<HashMap<Uuid, i64>>,
}

fn invalid(why: &'static str) -> ForwardAuthRefusal {
    ForwardAuthRefusal::InvalidToken(why)
}

impl Engine {
    /// The key `x-amzn-oidc-data` is signed with, derived from the master key.
    pub fn alb_key(&self) -> EngineResult<Arc<Es256Key>> {
        let state = &self.inner.forward_auth;
        if let Some(k) = state.alb_key.get() {
            return Ok(k.clone());
        }
        let mut counter = 0u8;
        let key = loop {
            let seed = self
                .inner
                .master
                .derive(&[b"alb-oidc-data-es256", &[counter]]);
            match Es256Key::from_seed(&seed) {
                Ok(k) => break k,
                Err(_) if counter < 8 => counter += 1,
                Err(e) => return Err(EngineError::Internal(e.to_string())),
            }
        };
        Ok(state.alb_key.get_or_init(|| Arc::new(key)).clone())
    }

    /// The PEM of the ALB key named `kid`, if it is ours.
    pub fn alb_public_key(&self, kid: &str) -> EngineResult<Option<String>> {
        let key = self.alb_key()?;
        Ok((key.kid() == kid).then(|| key.public_pem()))
    }

    /// Checks a bearer token for a reverse proxy.
    pub async fn forward_auth(
        &self,
        check: &ForwardAuthCheck<'_>,
    ) -> EngineResult<Result<ForwardIdentity, ForwardAuthRefusal>> {
        let Ok(pool_id) = UserPoolId::parse(check.pool_id) else {
            return Ok(Err(invalid("The pool is unknown.")));
        };
        let issuer = self.issuer(&pool_id);
        let Some(kid) = tessera_crypto::jwt::kid_of(check.token) else {
            return Ok(Err(invalid("The token is malformed.")));
        };
        let keys = match self.pool_keys(&pool_id).await {
            Ok(k) => k,
            Err(EngineError::Client(_)) => return Ok(Err(invalid("The pool is unknown."))),
            Err(e) => return Err(e),
        };
        let Some(jwk) = keys.public_key(&kid, check.token_use.key_use()) else {
            return Ok(Err(invalid("The token was not signed by this pool.")));
        };
        let Ok(claims) = tessera_crypto::jwt::verify(check.token, jwk) else {
            return Ok(Err(invalid("The token's signature is invalid.")));
        };
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        if text("iss") != Some(issuer.as_str()) {
            return Ok(Err(invalid("The token was not issued by this pool.")));
        }
        if text("token_use") != Some(check.token_use.as_str()) {
            return Ok(Err(invalid("The token is not of the expected use.")));
        }
        let Some(exp) = claims.get("exp").and_then(Value::as_i64) else {
            return Ok(Err(invalid("The token has no expiry.")));
        };
        let now = self.now();
        if now.secs() >= exp {
            return Ok(Err(invalid("The token has expired.")));
        }
        let client_claim = match check.token_use {
            TokenUse::Access => "client_id",
            TokenUse::Id => "aud",
        };
        let client_id = text(client_claim).unwrap_or_default().to_string();
        if let Some(want) = check.client_id
            && want != client_id
        {
            return Ok(Err(invalid("The token was issued to another client.")));
        }
        let (Some(sub), Some(origin)) = (
            text("sub"),
            text("origin_jti").and_then(|s| Uuid::parse_str(s).ok()),
        ) else {
            return Ok(Err(invalid("The token is malformed.")));
        };
        let scope = text("scope").unwrap_or_default().to_string();
        let granted: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
        let scope_ok = check.scopes.iter().all(|s| granted.contains(s));
        if !self.family_alive(origin, sub, now.millis()).await? {
            return Ok(Err(invalid("The token has been revoked.")));
        }
        if !scope_ok {
            return Ok(Err(ForwardAuthRefusal::InsufficientScope));
        }
        let username = text("username")
            .or_else(|| text("cognito:username"))
            .unwrap_or_default()
            .to_string();
        let groups: Vec<String> = claims
            .get("cognito:groups")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let oidc_data = self.alb_oidc_data(&claims, &issuer, &client_id, sub, &username, exp)?;
        Ok(Ok(ForwardIdentity {
            sub: sub.to_string(),
            username,
            groups,
            scope,
            client_id,
            issuer,
            exp,
            oidc_data,
        }))
    }

    /// Whether a token family is neither revoked nor someone else's, remembered briefly.
    async fn family_alive(&self, origin: Uuid, sub: &str, now_ms: i64) -> EngineResult<bool> {
        let cache = &self.inner.forward_auth.revocations;
        if let Some(checked) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&origin)
            && now_ms - checked < REVOCATION_TTL_MS
            && now_ms >= *checked
        {
            return Ok(true);
        }
        let family = {
            let mut tx = self.inner.store.read().await?;
            tx.get_token_family(&origin).await?
        };
        let alive = family.is_some_and(|f| f.revoked_at.is_none() && f.sub.to_string() == sub);
        let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
        if alive {
            if map.len() >= REVOCATION_CACHE_MAX {
                map.clear();
            }
            map.insert(origin, now_ms);
        } else {
            map.remove(&origin);
        }
        Ok(alive)
    }

    /// ALB's `x-amzn-oidc-data`: header `alg`, `kid`, `signer`, `iss`, `client`, `exp`; the
    /// user's claims as the body (`sub`, `username`, `exp`, `iss` and the ID token's profile
    /// claims when the token is one).
    fn alb_oidc_data(
        &self,
        claims: &Map<String, Value>,
        issuer: &str,
        client_id: &str,
        sub: &str,
        username: &str,
        exp: i64,
    ) -> EngineResult<String> {
        let settings = &self.inner.settings;
        let signer = format!(
            "arn:aws:elasticloadbalancing:{}:{}:loadbalancer/app/tessera/forward-auth",
            settings.region, settings.account_id
        );
        let mut header = Map::new();
        header.insert("signer".into(), json!(signer));
        header.insert("iss".into(), json!(issuer));
        header.insert("client".into(), json!(client_id));
        header.insert("exp".into(), json!(exp));
        let mut body = Map::new();
        body.insert("sub".into(), json!(sub));
        for name in ["email", "email_verified", "phone_number", "name"] {
            if let Some(v) = claims.get(name) {
                body.insert(name.into(), v.clone());
            }
        }
        body.insert("username".into(), json!(username));
        body.insert("exp".into(), json!(exp));
        body.insert("iss".into(), json!(issuer));
        self.alb_key()?
            .sign(header, &body)
            .map_err(|e| EngineError::Internal(e.to_string()))
    }
}
