//! `tessera-bench`: load on the hot operations, reported beside what their cryptography allows.
//!
//! It starts a real Tessera (production password hashing, SQLite in a temporary directory) on its
//! own threads, drives it with the official AWS SDK for Rust at a fixed concurrency, and — in the
//! same run, on the same machine — times the cryptography each operation must do:
//!
//! | operation            | cryptography per request                      |
//! |----------------------|-----------------------------------------------|
//! | InitiateAuth (USER_PASSWORD_AUTH) | one argon2id verify + two RSA-2048 signs |
//! | REFRESH_TOKEN_AUTH   | two RSA-2048 signs                            |
//! | GetUser              | one RSA-2048 verify                           |
//! | AdminGetUser         | HMAC (SigV4) only: no meaningful bound        |
//! | USER_SRP_AUTH (both round trips) | three 3072-bit modexps (256-bit exponents) + two RSA signs |
//! | OAuth code (authorize with the hosted session cookie, then the token endpoint) | two RSA-2048 signs |
//! | OAuth client_credentials | one RSA-2048 sign |
//! | Identity pool: GetId + GetCredentialsForIdentity (ID token as login) | two RSA-2048 verifies (each call checks the login) + sealing the secret (AES-256-GCM) |
//! | Cognito Sync UpdateRecords / ListRecords (one identity per worker, its own credentials) | SigV4 (HMAC) + opening a sealed session token: no meaningful bound |
//!
//! After the table, a contention check: up to 16 writers pull and push the same record of one
//! dataset; the dataset's count must rise by exactly the number of accepted writes.
//!
//! The bound is `cores / crypto-time-per-request`; the ratio says how close the server comes.
//! (The load generator runs on the same cores; for SRP it also does the client's modexps.)
//!
//!     cargo run --release -p tessera-bench -- --concurrency 16 --seconds 10
//!
//! `--threat` instead measures sign-in throughput with threat protection OFF and ENFORCED on the
//! same server (see `threat.rs`; the breach filter: `cargo bench -p tessera-breach`).
//!
//! `--scale N` instead measures a pool of N users beside one of 1,000 on the release binary,
//! filled through the import path (see `scale.rs`); `--database-url` and `--nodes 2` for
//! PostgreSQL.
//!
//! `--token-path` instead measures GetUser, over plain HTTP and through the SDK, beside a
//! request that does nothing and the bound of one RSA verify plus one indexed read (see
//! `token_path.rs`).
//!
//! `--enumeration` instead measures, sequentially, the median response time of sign-ins for
//! users that don't exist against wrong passwords of users that do (PreventUserExistenceErrors
//! ENABLED), for USER_PASSWORD_AUTH and USER_SRP_AUTH, and reports their ratio.

mod identity;
mod scale;
mod sync;
mod threat;
mod token_path;

use anyhow::{Context, Result};
use aws_sdk_cognitoidentityprovider as idp;
use clap::Parser;
use idp::config::{BehaviorVersion, Credentials, Region};
use idp::types::{AuthFlowType, ExplicitAuthFlowsType, MessageActionType};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_crypto::password::{HashCost, PasswordHasher};

#[derive(Parser)]
#[command(about = "Load Tessera's hot operations and compare with their cryptographic bound")]
struct Args {
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds per operation.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Password hashing cost of the server under test.
    #[arg(long, default_value = "production")]
    hash_cost: String,
    /// Measure timing of unknown users vs wrong passwords instead of throughput.
    #[arg(long)]
    enumeration: bool,
    /// Sign-ins per kind in --enumeration mode.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Measure sign-in throughput with and without threat protection instead.
    #[arg(long)]
    threat: bool,
    /// Measure a pool of this many users beside one of 1,000 instead (see `scale.rs`).
    #[arg(long)]
    scale: Option<usize>,
    /// --scale: the store (`postgres://…/DB`: that database is dropped and made again).
    #[arg(long)]
    database_url: Option<String>,
    /// --scale: also measure this many server processes on one PostgreSQL database.
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// --scale: where the table and chart are written.
    #[arg(long, default_value = "bench-results")]
    out: std::path::PathBuf,
    /// --scale, --token-path: the `tessera` binary (default: beside this one).
    #[arg(long)]
    tessera_bin: Option<std::path::PathBuf>,
    /// Measure GetUser against one RSA verify plus one indexed read instead (see
    /// `token_path.rs`).
    #[arg(long)]
    token_path: bool,
}

const KEY: &str = "AKIABENCHBENCHBENCH0";
const SECRET: &str = "bench-secret-access-key-bench-secret-0000";
const PASSWORD: &str = "Bench-Passw0rd!";

fn client(endpoint: &str) -> idp::Client {
    let conf = idp::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(KEY, SECRET, None, None, "bench"))
        .retry_config(idp::config::retry::RetryConfig::disabled())
        .build();
    idp::Client::from_conf(conf)
}

/// Starts the server on a runtime of its own, so the load generator doesn't share its threads.
///
/// `hold_messages` runs it with `--dev` (the explicit hash cost still applies), so that codes
/// are written to the outbox and held there instead of needing a mail server.
fn start_server(dir: &std::path::Path, hash_cost: &str, hold_messages: bool) -> Result<String> {
    let overrides = serde_json::json!({
        "listen": "127.0.0.1:0",
        "data_dir": dir.display().to_string(),
        "hash_cost": hash_cost,
        "root_access_key_id": KEY,
        "root_secret_access_key": SECRET,
        "dev": hold_messages,
        // Throughput is the measure here, not Cognito's default request rates.
        "quotas": false,
    });
    let settings =
        tessera_server::Settings::from_config(tessera_server::Config::load(None, &overrides)?)?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(Err(anyhow::anyhow!(e)));
                return;
            }
        };
        runtime.block_on(async move {
            match tessera_server::Application::build(settings).await {
                Ok(app) => {
                    let _ = tx.send(Ok(format!("http://{}", app.local_addr())));
                    let _ = app.run_until(std::future::pending()).await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
    });
    rx.recv()?
}

struct Setup {
    client_id: String,
    /// The hosted UI: a domain, a public code-flow client, hosted-session cookies per user, and a
    /// confidential client_credentials client.
    oauth: OAuthSetup,
    /// Allows SRP; PreventUserExistenceErrors ENABLED.
    srp_client_id: String,
    pool_id: String,
    users: Vec<String>,
    access: Vec<String>,
    refresh: Vec<String>,
    /// ID tokens, the logins of the identity-pool operation.
    id: Vec<String>,
    identity: identity::IdentitySetup,
    /// Cognito Sync: one identity per user, with its issued credentials.
    sync: Arc<sync::SyncSetup>,
}

async fn setup(c: &idp::Client, endpoint: &str, n: usize) -> Result<Setup> {
    let pool_id = create_pool(c, "bench").await?;
    let client_id = password_client(c, &pool_id, "bench").await?;
    let srp_client_id = c
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("bench-srp")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .prevent_user_existence_errors(idp::types::PreventUserExistenceErrorTypes::Enabled)
        .send()
        .await?
        .user_pool_client
        .and_then(|c| c.client_id)
        .context("client id")?;
    let (mut users, mut access, mut refresh, mut id) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let name = format!("user{i:04}");
        add_user(c, &pool_id, &name).await?;
        let tokens = c
            .initiate_auth()
            .client_id(&client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", &name)
            .auth_parameters("PASSWORD", PASSWORD)
            .send()
            .await?
            .authentication_result
            .context("tokens")?;
        access.push(tokens.access_token.context("access token")?);
        refresh.push(tokens.refresh_token.context("refresh token")?);
        id.push(tokens.id_token.context("id token")?);
        users.push(name);
    }
    let oauth = oauth_setup(c, &pool_id, endpoint, &users).await?;
    let identity = identity::setup(endpoint, &pool_id, &client_id).await?;
    let sync = Arc::new(sync::SyncSetup::new(endpoint, &identity, &id).await?);
    Ok(Setup {
        sync,
        id,
        identity,
        oauth,
        client_id,
        srp_client_id,
        pool_id,
        users,
        access,
        refresh,
    })
}

/// A user pool with Cognito's defaults; its id.
pub(crate) async fn create_pool(c: &idp::Client, name: &str) -> Result<String> {
    c.create_user_pool()
        .pool_name(name)
        .send()
        .await?
        .user_pool
        .and_then(|p| p.id)
        .context("pool id")
}

/// A client of the pool for USER_PASSWORD_AUTH and refresh.
pub(crate) async fn password_client(c: &idp::Client, pool_id: &str, name: &str) -> Result<String> {
    c.create_user_pool_client()
        .user_pool_id(pool_id)
        .client_name(name)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await?
        .user_pool_client
        .and_then(|c| c.client_id)
        .context("client id")
}

/// A USER_PASSWORD_AUTH sign-in of `user` (password [`PASSWORD`]); its access token.
pub(crate) async fn sign_in_token(c: &idp::Client, client_id: &str, user: &str) -> Result<String> {
    c.initiate_auth()
        .client_id(client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", user)
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await?
        .authentication_result
        .and_then(|a| a.access_token)
        .context("access token")
}

/// A confirmed user with the password [`PASSWORD`], created by the administrator.
pub(crate) async fn add_user(c: &idp::Client, pool_id: &str, name: &str) -> Result<()> {
    c.admin_create_user()
        .user_pool_id(pool_id)
        .username(name)
        .message_action(MessageActionType::Suppress)
        .send()
        .await?;
    set_password(c, pool_id, name).await
}

/// Gives an existing user the password [`PASSWORD`], permanently.
pub(crate) async fn set_password(c: &idp::Client, pool_id: &str, name: &str) -> Result<()> {
    c.admin_set_user_password()
        .user_pool_id(pool_id)
        .username(name)
        .password(PASSWORD)
        .permanent(true)
        .send()
        .await?;
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    GetUser,
    InitiateAuth,
    Refresh,
    AdminGetUser,
    Srp,
    OAuthCode,
    ClientCredentials,
    IdentityPool,
    SyncUpdate,
    SyncList,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::GetUser => "GetUser",
            Op::InitiateAuth => "InitiateAuth (USER_PASSWORD_AUTH)",
            Op::Refresh => "InitiateAuth (REFRESH_TOKEN_AUTH)",
            Op::AdminGetUser => "AdminGetUser",
            Op::Srp => "USER_SRP_AUTH (both round trips)",
            Op::OAuthCode => "OAuth code (authorize + token)",
            Op::ClientCredentials => "OAuth client_credentials",
            Op::IdentityPool => "GetId + GetCredentialsForIdentity",
            Op::SyncUpdate => "Cognito Sync UpdateRecords",
            Op::SyncList => "Cognito Sync ListRecords",
        }
    }
}

async fn call(c: &idp::Client, s: &Setup, op: Op, i: usize) -> bool {
    let i = i % s.users.len();
    match op {
        Op::GetUser => c.get_user().access_token(&s.access[i]).send().await.is_ok(),
        Op::InitiateAuth => c
            .initiate_auth()
            .client_id(&s.client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", &s.users[i])
            .auth_parameters("PASSWORD", PASSWORD)
            .send()
            .await
            .is_ok(),
        Op::Refresh => c
            .initiate_auth()
            .client_id(&s.client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", &s.refresh[i])
            .send()
            .await
            .is_ok(),
        Op::AdminGetUser => c
            .admin_get_user()
            .user_pool_id(&s.pool_id)
            .username(&s.users[i])
            .send()
            .await
            .is_ok(),
        Op::Srp => srp_sign_in(c, &s.pool_id, &s.srp_client_id, &s.users[i], PASSWORD)
            .await
            .is_ok_and(|signed_in| signed_in),
        Op::OAuthCode => s.oauth.code_grant(i).await.is_ok(),
        Op::ClientCredentials => s.oauth.client_credentials().await.is_ok(),
        Op::IdentityPool => s.identity.credentials(&s.id[i]).await.is_ok(),
        Op::SyncUpdate => s.sync.update_records(i).await,
        Op::SyncList => s.sync.list_records(i).await,
    }
}

const CALLBACK: &str = "https://bench.example.com/cb";

struct OAuthSetup {
    http: reqwest::Client,
    base: String,
    code_client: String,
    m2m_client: (String, String),
    /// One hosted-session cookie per user, from signing in on the login page once.
    sessions: Vec<String>,
}

async fn oauth_setup(
    c: &idp::Client,
    pool_id: &str,
    endpoint: &str,
    users: &[String],
) -> Result<OAuthSetup> {
    use idp::types::{OAuthFlowType, ResourceServerScopeType};
    c.create_user_pool_domain()
        .user_pool_id(pool_id)
        .domain("bench")
        .send()
        .await?;
    c.create_resource_server()
        .user_pool_id(pool_id)
        .identifier("api")
        .name("api")
        .scopes(
            ResourceServerScopeType::builder()
                .scope_name("read")
                .scope_description("read")
                .build()?,
        )
        .send()
        .await?;
    let code_client = c
        .create_user_pool_client()
        .user_pool_id(pool_id)
        .client_name("bench-web")
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_flows(OAuthFlowType::Code)
        .allowed_o_auth_scopes("openid")
        .callback_urls(CALLBACK)
        .supported_identity_providers("COGNITO")
        .send()
        .await?
        .user_pool_client
        .and_then(|c| c.client_id)
        .context("client id")?;
    let m2m = c
        .create_user_pool_client()
        .user_pool_id(pool_id)
        .client_name("bench-m2m")
        .generate_secret(true)
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
        .allowed_o_auth_scopes("api/read")
        .send()
        .await?
        .user_pool_client
        .context("m2m client")?;
    let m2m_client = (
        m2m.client_id.context("client id")?,
        m2m.client_secret.context("client secret")?,
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let base = format!("{endpoint}/domain/bench");
    let mut setup = OAuthSetup {
        http,
        base,
        code_client,
        m2m_client,
        sessions: Vec::new(),
    };
    for user in users {
        let cookie = setup.sign_in(user).await?;
        setup.sessions.push(cookie);
    }
    Ok(setup)
}

/// The value of cookie `name` in a response's Set-Cookie headers.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

impl OAuthSetup {
    fn query(&self) -> String {
        format!(
            "client_id={}&response_type=code&redirect_uri=https%3A%2F%2Fbench.example.com%2Fcb",
            self.code_client
        )
    }

    /// Signs in on the login page once; returns the hosted-session cookie.
    async fn sign_in(&self, user: &str) -> Result<String> {
        let page = self
            .http
            .get(format!("{}/login?{}", self.base, self.query()))
            .send()
            .await?;
        let csrf = set_cookie(&page, "tessera-csrf").context("csrf cookie")?;
        let posted = self
            .http
            .post(format!("{}/login?{}", self.base, self.query()))
            .header("cookie", format!("tessera-csrf={csrf}"))
            .form(&[
                ("_csrf", csrf.as_str()),
                ("username", user),
                ("password", PASSWORD),
            ])
            .send()
            .await?;
        set_cookie(&posted, "tessera-session").context("no hosted session: sign-in failed")
    }

    /// Authorize with the session cookie (no form), then redeem the code.
    async fn code_grant(&self, i: usize) -> Result<()> {
        let r = self
            .http
            .get(format!("{}/oauth2/authorize?{}", self.base, self.query()))
            .header(
                "cookie",
                format!("tessera-session={}", self.sessions[i % self.sessions.len()]),
            )
            .send()
            .await?;
        let location = r
            .headers()
            .get("location")
            .context("no redirect")?
            .to_str()?;
        let code = location
            .split_once("code=")
            .map(|(_, c)| c)
            .context("no code")?;
        let tokens = self
            .http
            .post(format!("{}/oauth2/token", self.base))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", self.code_client.as_str()),
                ("code", code),
                ("redirect_uri", CALLBACK),
            ])
            .send()
            .await?;
        anyhow::ensure!(
            tokens.status().is_success(),
            "token endpoint: {}",
            tokens.status()
        );
        Ok(())
    }

    async fn client_credentials(&self) -> Result<()> {
        let r = self
            .http
            .post(format!("{}/oauth2/token", self.base))
            .basic_auth(&self.m2m_client.0, Some(&self.m2m_client.1))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "token endpoint: {}", r.status());
        Ok(())
    }
}

/// USER_SRP_AUTH then PASSWORD_VERIFIER, with Tessera's own client half (a 256-bit `a`, so
/// the generator spends as little of the shared CPU as a client can). Ok(true) = tokens.
async fn srp_sign_in(
    c: &idp::Client,
    pool_id: &str,
    client_id: &str,
    user: &str,
    password: &str,
) -> Result<bool> {
    use tessera_crypto::srp;
    let a = tessera_crypto::random::bytes::<32>();
    let a_pub = srp::client::public(&a)?;
    let challenge = match c
        .initiate_auth()
        .client_id(client_id)
        .auth_flow(AuthFlowType::UserSrpAuth)
        .auth_parameters("USERNAME", user)
        .auth_parameters("SRP_A", &a_pub)
        .send()
        .await
    {
        Ok(r) => r,
        Err(_) => return Ok(false),
    };
    let p = challenge
        .challenge_parameters
        .context("challenge parameters")?;
    let pool_name = pool_id.split_once('_').map(|(_, n)| n).unwrap_or_default();
    let user_id = p.get("USER_ID_FOR_SRP").context("user id")?;
    let key = srp::client::session_key(pool_name, user_id, password, &p["SALT"], &a, &p["SRP_B"])?;
    let block = p.get("SECRET_BLOCK").context("secret block")?;
    use base64::Engine;
    let block_bytes = base64::engine::general_purpose::STANDARD.decode(block)?;
    let timestamp = now_timestamp();
    let signature = srp::claim_signature(&key, pool_name, user_id, &block_bytes, &timestamp);
    Ok(c.respond_to_auth_challenge()
        .client_id(client_id)
        .challenge_name(idp::types::ChallengeNameType::PasswordVerifier)
        .challenge_responses("USERNAME", user_id)
        .challenge_responses("PASSWORD_CLAIM_SECRET_BLOCK", block)
        .challenge_responses("TIMESTAMP", timestamp)
        .challenge_responses("PASSWORD_CLAIM_SIGNATURE", signature)
        .send()
        .await
        .is_ok())
}

/// Now as Cognito's TIMESTAMP.
fn now_timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (y, m, d, hour, min, sec) = tessera_domain::Timestamp::from_secs(secs).civil();
    // 1970-01-01 was a Thursday (weekday 4, counting from Sunday).
    let weekday = (secs.div_euclid(86_400) + 4).rem_euclid(7) as u32;
    tessera_crypto::srp::format_timestamp(y, m, d, weekday, hour, min, sec)
}

/// What a timed load measured: answered requests' latencies (sorted), failures, wall time.
pub(crate) struct Run {
    ok: usize,
    failed: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    pub(crate) fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `q` quantile of latency, in milliseconds.
    pub(crate) fn ms(&self, q: f64) -> f64 {
        percentile(&self.latencies, q).as_secs_f64() * 1e3
    }

    /// Both runs as one (their times added).
    pub(crate) fn merge(&mut self, other: Run) {
        self.latencies.extend(other.latencies);
        self.latencies.sort();
        self.ok += other.ok;
        self.failed += other.failed;
        self.elapsed += other.elapsed;
    }
}

/// `concurrency` workers calling `call(i)` for `seconds`, worker `w` with i = w, w +
/// concurrency, w + 2·concurrency…; `call` says whether the request was answered as expected.
pub(crate) async fn drive<F, Fut>(concurrency: usize, seconds: u64, call: F) -> Run
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let call = Arc::new(call);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut failed, mut i) = (Vec::new(), 0usize, w);
            while Instant::now() < deadline {
                let t = Instant::now();
                if call(i).await {
                    lat.push(t.elapsed());
                } else {
                    failed += 1;
                }
                i += concurrency;
            }
            (lat, failed)
        }));
    }
    let mut latencies = Vec::new();
    let mut failed = 0;
    for t in tasks {
        if let Ok((l, f)) = t.await {
            latencies.extend(l);
            failed += f;
        }
    }
    latencies.sort();
    Run {
        ok: latencies.len(),
        failed,
        elapsed: start.elapsed(),
        latencies,
    }
}

async fn run(c: &idp::Client, s: Arc<Setup>, op: Op, concurrency: usize, seconds: u64) -> Run {
    let c = c.clone();
    drive(concurrency, seconds, move |i| {
        let (c, s) = (c.clone(), s.clone());
        async move { call(&c, &s, op, i).await }
    })
    .await
}

/// Sequential sign-ins, alternating unknown users and wrong passwords of real users (each real
/// user gets at most four wrong guesses, below the lockout), with median times compared.
async fn enumeration(c: &idp::Client, s: &Setup, samples: usize) -> Result<()> {
    let extra = samples.div_ceil(4);
    let mut users = Vec::new();
    for i in 0..extra {
        let name = format!("enum{i:04}");
        add_user(c, &s.pool_id, &name).await?;
        users.push(name);
    }
    let password_attempt = |user: String| async move {
        let t = Instant::now();
        let r = c
            .initiate_auth()
            .client_id(&s.srp_client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", &user)
            .auth_parameters("PASSWORD", "Wrong-Passw0rd!")
            .send()
            .await;
        let message = r.err().and_then(|e| {
            e.as_service_error()
                .and_then(|e| e.meta().message().map(String::from))
        });
        (t.elapsed(), message)
    };
    let srp_attempt = |user: String| async move {
        let t = Instant::now();
        let ok = srp_sign_in(c, &s.pool_id, &s.srp_client_id, &user, "Wrong-Passw0rd!").await;
        (t.elapsed(), ok.ok())
    };
    println!();
    println!(
        "{:<22} {:>8} {:>16} {:>18} {:>7}",
        "flow", "samples", "unknown p50 ms", "wrong-pw p50 ms", "ratio"
    );
    for flow in ["USER_PASSWORD_AUTH", "USER_SRP_AUTH"] {
        let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
        for i in 0..samples {
            let ghost = format!("ghost-{flow}-{i}");
            let real = users[i % users.len()].clone();
            if flow == "USER_PASSWORD_AUTH" {
                let (t1, m1) = password_attempt(ghost).await;
                let (t2, m2) = password_attempt(real).await;
                anyhow::ensure!(m1 == m2, "different answers: {m1:?} vs {m2:?}");
                unknown.push(t1);
                wrong.push(t2);
            } else {
                let (t1, ok1) = srp_attempt(ghost).await;
                let (t2, ok2) = srp_attempt(real).await;
                anyhow::ensure!(
                    ok1 == Some(false) && ok2 == Some(false),
                    "an SRP guess succeeded"
                );
                unknown.push(t1);
                wrong.push(t2);
            }
        }
        unknown.sort();
        wrong.sort();
        let (u, w) = (percentile(&unknown, 0.5), percentile(&wrong, 0.5));
        println!(
            "{:<22} {:>8} {:>16.2} {:>18.2} {:>7.3}",
            flow,
            samples,
            u.as_secs_f64() * 1e3,
            w.as_secs_f64() * 1e3,
            u.as_secs_f64() / w.as_secs_f64()
        );
        // A successful sign-in resets each real user's failure count before the next flow.
        for user in &users {
            c.initiate_auth()
                .client_id(&s.srp_client_id)
                .auth_flow(AuthFlowType::UserPasswordAuth)
                .auth_parameters("USERNAME", user)
                .auth_parameters("PASSWORD", PASSWORD)
                .send()
                .await?;
        }
    }
    forgot_password_timing(c, s, samples).await
}

/// ForgotPassword for unknown names against users with a verified email (whose codes are
/// written and held in the outbox), under PreventUserExistenceErrors ENABLED.
async fn forgot_password_timing(c: &idp::Client, s: &Setup, samples: usize) -> Result<()> {
    let mut users = Vec::new();
    for i in 0..samples {
        let name = format!("forgot{i:04}");
        c.admin_create_user()
            .user_pool_id(&s.pool_id)
            .username(&name)
            .user_attributes(attribute("email", &format!("{name}@example.com"))?)
            .user_attributes(attribute("email_verified", "true")?)
            .message_action(MessageActionType::Suppress)
            .send()
            .await?;
        users.push(name);
    }
    let attempt = |user: String| async move {
        let t = Instant::now();
        let r = c
            .forgot_password()
            .client_id(&s.srp_client_id)
            .username(&user)
            .send()
            .await;
        (t.elapsed(), r.is_ok())
    };
    let (mut unknown, mut known) = (Vec::new(), Vec::new());
    for (i, user) in users.into_iter().enumerate() {
        let (t1, ok1) = attempt(format!("ghost-forgot-{i}@example.com")).await;
        let (t2, ok2) = attempt(user).await;
        anyhow::ensure!(
            ok1 && ok2,
            "ForgotPassword failed: unknown {ok1}, known {ok2}"
        );
        unknown.push(t1);
        known.push(t2);
    }
    unknown.sort();
    known.sort();
    let (u, k) = (percentile(&unknown, 0.5), percentile(&known, 0.5));
    println!(
        "{:<22} {:>8} {:>16.2} {:>18.2} {:>7.3}   (known user: a code written and held)",
        "ForgotPassword",
        samples,
        u.as_secs_f64() * 1e3,
        k.as_secs_f64() * 1e3,
        u.as_secs_f64() / k.as_secs_f64()
    );
    Ok(())
}

fn attribute(name: &str, value: &str) -> Result<idp::types::AttributeType> {
    Ok(idp::types::AttributeType::builder()
        .name(name)
        .value(value)
        .build()?)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Mean time of `f` over enough repetitions to be stable.
fn time_per(mut f: impl FnMut(), reps: u32) -> Duration {
    f();
    let start = Instant::now();
    for _ in 0..reps {
        f();
    }
    start.elapsed() / reps
}

struct CryptoCost {
    argon2_verify: Duration,
    rsa_sign: Duration,
    rsa_verify: Duration,
    /// One 3072-bit modular exponentiation with a 256-bit exponent (SRP's unit of work).
    modexp: Duration,
    /// Sealing a 40-character secret with the master key (issued credentials).
    seal: Duration,
}

fn measure_crypto(cost: HashCost) -> Result<CryptoCost> {
    let hasher = PasswordHasher::new(cost)?;
    let phc = hasher.hash(PASSWORD)?;
    let argon2_verify = time_per(
        || {
            let _ = hasher.verify(PASSWORD, &phc);
        },
        10,
    );
    let (key, _) = tessera_crypto::jwt::SigningKey::generate()?;
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), "x".repeat(36).into());
    let token = key.sign(&claims)?;
    let rsa_sign = time_per(
        || {
            let _ = key.sign(&claims);
        },
        200,
    );
    let jwk = key.jwk().clone();
    let rsa_verify = time_per(
        || {
            let _ = tessera_crypto::jwt::verify(&token, &jwk);
        },
        500,
    );
    let v = tessera_crypto::srp::verifier("pool", "user", PASSWORD, &[7; 16])?;
    let b = [9u8; 32];
    let modexp = time_per(
        || {
            let _ = tessera_crypto::srp::server_start(&v, &b);
        },
        50,
    );
    let (master, _) = tessera_crypto::seal::MasterKey::generate();
    let seal = time_per(
        || {
            let _ = master.seal("sts-role-secret:ASIABENCH", &[b'x'; 40]);
        },
        2000,
    );
    Ok(CryptoCost {
        seal,
        argon2_verify,
        rsa_sign,
        rsa_verify,
        modexp,
    })
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(users) = args.scale {
        return scale::run(scale::ScaleArgs {
            users,
            database_url: args.database_url,
            nodes: args.nodes,
            concurrency: args.concurrency,
            seconds: args.seconds,
            out: args.out,
            binary: args.tessera_bin,
        });
    }
    if args.token_path {
        return token_path::run(token_path::TokenPathArgs {
            concurrency: args.concurrency,
            seconds: args.seconds,
            binary: args.tessera_bin,
        });
    }
    let cost = match args.hash_cost.as_str() {
        "production" => HashCost::Production,
        "insecure-fast" => HashCost::InsecureFast,
        other => anyhow::bail!("unknown hash cost {other}"),
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let dir = tempfile::tempdir()?;
    let endpoint = start_server(dir.path(), &args.hash_cost, args.enumeration)?;

    println!(
        "tessera-bench: {cores} cores, concurrency {}, {} s per operation, hash cost {}",
        args.concurrency, args.seconds, args.hash_cost
    );
    let crypto = measure_crypto(cost)?;
    println!(
        "crypto (one core, this run): argon2id verify {:.2} ms, RSA-2048 sign {:.3} ms, RSA-2048 verify {:.3} ms, SRP modexp {:.2} ms, seal {:.4} ms",
        crypto.argon2_verify.as_secs_f64() * 1e3,
        crypto.rsa_sign.as_secs_f64() * 1e3,
        crypto.rsa_verify.as_secs_f64() * 1e3,
        crypto.modexp.as_secs_f64() * 1e3,
        crypto.seal.as_secs_f64() * 1e3
    );

    let load = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.threat {
        return load.block_on(threat::sign_in_bench(
            &client(&endpoint),
            args.concurrency,
            args.seconds,
        ));
    }
    load.block_on(async {
        let c = client(&endpoint);
        let setup = Arc::new(setup(&c, &endpoint, args.concurrency.max(1)).await?);
        println!();
        println!(
            "{:<36} {:>9} {:>10} {:>9} {:>9} {:>12} {:>7}",
            "operation", "requests", "req/s", "p50 ms", "p99 ms", "bound req/s", "ratio"
        );
        if args.enumeration {
            return enumeration(&c, &setup, args.samples).await;
        }
        for op in [
            Op::GetUser,
            Op::InitiateAuth,
            Op::Refresh,
            Op::AdminGetUser,
            Op::Srp,
            Op::OAuthCode,
            Op::ClientCredentials,
            Op::IdentityPool,
            Op::SyncUpdate,
            Op::SyncList,
        ] {
            let r = run(&c, setup.clone(), op, args.concurrency, args.seconds).await;
            let throughput = r.rate();
            let per_request = match op {
                Op::GetUser => Some(crypto.rsa_verify),
                Op::InitiateAuth => Some(crypto.argon2_verify + crypto.rsa_sign * 2),
                Op::Refresh => Some(crypto.rsa_sign * 2),
                Op::AdminGetUser => None,
                Op::Srp => Some(crypto.modexp * 3 + crypto.rsa_sign * 2),
                Op::OAuthCode => Some(crypto.rsa_sign * 2),
                Op::ClientCredentials => Some(crypto.rsa_sign),
                Op::IdentityPool => Some(crypto.rsa_verify * 2 + crypto.seal),
                // SigV4 (HMAC) and, for the session token, one open of a sealed value.
                Op::SyncUpdate | Op::SyncList => None,
            };
            let bound = per_request.map(|t| cores as f64 / t.as_secs_f64());
            println!(
                "{:<36} {:>9} {:>10.0} {:>9.2} {:>9.2} {:>12} {:>7}",
                op.name(),
                r.ok,
                throughput,
                r.ms(0.50),
                r.ms(0.99),
                bound
                    .map(|b| format!("{b:.0}"))
                    .unwrap_or_else(|| "—".into()),
                bound
                    .map(|b| format!("{:.2}", throughput / b))
                    .unwrap_or_else(|| "—".into()),
            );
            if r.failed > 0 {
                println!("  ({} requests failed)", r.failed);
            }
        }
        // Many writers on one dataset: every count is won once.
        let writers = args.concurrency.clamp(2, 16);
        let (won, lost, after, before) = setup.sync.contention(writers, args.seconds).await?;
        println!(
            "Cognito Sync contention: {writers} writers on one dataset, {won} writes accepted, \
             {lost} refused as conflicts; the count rose {} (accepted writes: {won}) — {}",
            after - before,
            if after - before == won as i64 {
                "no count won twice"
            } else {
                "MISMATCH"
            }
        );
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(())
}
