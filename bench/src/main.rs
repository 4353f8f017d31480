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
//!
//! The bound is `cores / crypto-time-per-request`; the ratio says how close the server comes.
//!
//!     cargo run --release -p tessera-bench -- --concurrency 16 --seconds 10

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
fn start_server(dir: &std::path::Path, hash_cost: &str) -> Result<String> {
    let overrides = serde_json::json!({
        "listen": "127.0.0.1:0",
        "data_dir": dir.display().to_string(),
        "hash_cost": hash_cost,
        "root_access_key_id": KEY,
        "root_secret_access_key": SECRET,
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
    pool_id: String,
    users: Vec<String>,
    access: Vec<String>,
    refresh: Vec<String>,
}

async fn setup(c: &idp::Client, n: usize) -> Result<Setup> {
    let pool_id = c
        .create_user_pool()
        .pool_name("bench")
        .send()
        .await?
        .user_pool
        .and_then(|p| p.id)
        .context("pool id")?;
    let client_id = c
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("bench")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await?
        .user_pool_client
        .and_then(|c| c.client_id)
        .context("client id")?;
    let (mut users, mut access, mut refresh) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let name = format!("user{i:04}");
        c.admin_create_user()
            .user_pool_id(&pool_id)
            .username(&name)
            .message_action(MessageActionType::Suppress)
            .send()
            .await?;
        c.admin_set_user_password()
            .user_pool_id(&pool_id)
            .username(&name)
            .password(PASSWORD)
            .permanent(true)
            .send()
            .await?;
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
        users.push(name);
    }
    Ok(Setup {
        client_id,
        pool_id,
        users,
        access,
        refresh,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    GetUser,
    InitiateAuth,
    Refresh,
    AdminGetUser,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::GetUser => "GetUser",
            Op::InitiateAuth => "InitiateAuth (USER_PASSWORD_AUTH)",
            Op::Refresh => "InitiateAuth (REFRESH_TOKEN_AUTH)",
            Op::AdminGetUser => "AdminGetUser",
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
    }
}

struct Run {
    ok: usize,
    failed: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

async fn run(c: &idp::Client, s: Arc<Setup>, op: Op, concurrency: usize, seconds: u64) -> Run {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (c, s) = (c.clone(), s.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut failed, mut i) = (Vec::new(), 0usize, w);
            while Instant::now() < deadline {
                let t = Instant::now();
                if call(&c, &s, op, i).await {
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
    Ok(CryptoCost {
        argon2_verify,
        rsa_sign,
        rsa_verify,
    })
}

fn main() -> Result<()> {
    let args = Args::parse();
    let cost = match args.hash_cost.as_str() {
        "production" => HashCost::Production,
        "insecure-fast" => HashCost::InsecureFast,
        other => anyhow::bail!("unknown hash cost {other}"),
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let dir = tempfile::tempdir()?;
    let endpoint = start_server(dir.path(), &args.hash_cost)?;

    println!(
        "tessera-bench: {cores} cores, concurrency {}, {} s per operation, hash cost {}",
        args.concurrency, args.seconds, args.hash_cost
    );
    let crypto = measure_crypto(cost)?;
    println!(
        "crypto (one core, this run): argon2id verify {:.2} ms, RSA-2048 sign {:.3} ms, RSA-2048 verify {:.3} ms",
        crypto.argon2_verify.as_secs_f64() * 1e3,
        crypto.rsa_sign.as_secs_f64() * 1e3,
        crypto.rsa_verify.as_secs_f64() * 1e3
    );

    let load = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    load.block_on(async {
        let c = client(&endpoint);
        let setup = Arc::new(setup(&c, args.concurrency.max(1)).await?);
        println!();
        println!(
            "{:<36} {:>9} {:>10} {:>9} {:>9} {:>12} {:>7}",
            "operation", "requests", "req/s", "p50 ms", "p99 ms", "bound req/s", "ratio"
        );
        for op in [Op::GetUser, Op::InitiateAuth, Op::Refresh, Op::AdminGetUser] {
            let r = run(&c, setup.clone(), op, args.concurrency, args.seconds).await;
            let throughput = r.ok as f64 / r.elapsed.as_secs_f64();
            let per_request = match op {
                Op::GetUser => Some(crypto.rsa_verify),
                Op::InitiateAuth => Some(crypto.argon2_verify + crypto.rsa_sign * 2),
                Op::Refresh => Some(crypto.rsa_sign * 2),
                Op::AdminGetUser => None,
            };
            let bound = per_request.map(|t| cores as f64 / t.as_secs_f64());
            println!(
                "{:<36} {:>9} {:>10.0} {:>9.2} {:>9.2} {:>12} {:>7}",
                op.name(),
                r.ok,
                throughput,
                percentile(&r.latencies, 0.50).as_secs_f64() * 1e3,
                percentile(&r.latencies, 0.99).as_secs_f64() * 1e3,
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
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(())
}
