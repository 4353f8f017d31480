//! `--token-path`: GetUser against the bound of one RSA verification plus one indexed read.
//!
//! The release binary runs as a process of its own (SQLite in a temporary directory). 32 users
//! sign in; then, at the same concurrency and from the same process:
//!
//! - **floor**: `GET /health/live`, a request the server answers without any work — what this
//!   machine's HTTP stack and load generator allow together;
//! - **GetUser (HTTP)**: the same lean client posting GetUser's JSON body, the way a browser
//!   SDK does;
//! - **GetUser (aws-sdk-rust)**: the official SDK, as the main bench drives it.
//!
//! The bound is measured in the same run: one RSA-2048 verify (a fresh token's signature) plus
//! one indexed read — `Store::access_read` for a real token's family, user and client, timed
//! in this process against the server's own database file. `cores / (verify + read)` is what
//! two cores could answer if each GetUser did nothing else.

use crate::scale::{Node, free_port, master_key, tessera_binary};
use crate::{Run, client, drive};
use anyhow::{Context, Result};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Users signed in, whose access tokens the load rotates through.
const USERS: usize = 32;

pub struct TokenPathArgs {
    pub concurrency: usize,
    pub seconds: u64,
    pub binary: Option<std::path::PathBuf>,
}

/// What a token's claims name: enough to repeat its read.
struct Named {
    origin_jti: uuid::Uuid,
    pool: tessera_domain::UserPoolId,
    sub: tessera_domain::Sub,
    client: tessera_domain::ClientId,
}

fn claims_of(token: &str) -> Result<Named> {
    use base64::Engine;
    let payload = token.split('.').nth(1).context("a JWT")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload)?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes)?;
    let text = |k: &str| {
        claims[k]
            .as_str()
            .map(str::to_string)
            .context(k.to_string())
    };
    let iss = text("iss")?;
    let pool = iss.rsplit('/').next().context("iss")?;
    Ok(Named {
        origin_jti: uuid::Uuid::parse_str(&text("origin_jti")?)?,
        pool: tessera_domain::UserPoolId::parse(pool).map_err(|e| anyhow::anyhow!("{e:?}"))?,
        sub: tessera_domain::Sub(uuid::Uuid::parse_str(&text("sub")?)?),
        client: tessera_domain::ClientId::parse(&text("client_id")?)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?,
    })
}

pub fn run(args: TokenPathArgs) -> Result<()> {
    let binary = tessera_binary(args.binary.clone())?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let dir = tempfile::tempdir()?;
    let master_key = master_key();
    let port = free_port()?;
    let public_url = format!("http://127.0.0.1:{port}");
    let (node, _) = Node::start(&binary, dir.path(), None, port, &public_url, &master_key)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!(
        "tessera-bench --token-path: {cores} cores, concurrency {}, {} s per measure, release binary {}",
        args.concurrency,
        args.seconds,
        binary.display()
    );
    let endpoint = node.endpoint.clone();
    runtime.block_on(async {
        let c = client(&endpoint);
        let pool_id = crate::create_pool(&c, "token-path").await?;
        let client_id = crate::password_client(&c, &pool_id, "token-path").await?;
        let mut tokens = Vec::new();
        for i in 0..USERS {
            let name = format!("user{i}");
            crate::add_user(&c, &pool_id, &name).await?;
            tokens.push(crate::sign_in_token(&c, &client_id, &name).await?);
        }
        let tokens = Arc::new(tokens);

        // The bound, in this run: an RSA verify of a fresh token, and the read.
        let jwks: serde_json::Value = reqwest::get(format!("{endpoint}/{pool_id}/.well-known/jwks.json"))
            .await?
            .json()
            .await?;
        let verify = verify_time(&tokens[0], &jwks)?;
        let read = read_time(dir.path(), &tokens).await?;
        let bound = cores as f64 / (verify + read).as_secs_f64();
        println!(
            "bound (this run): RSA-2048 verify {:.1} µs + access read {:.1} µs per GetUser: {bound:.0}/s on {cores} cores",
            verify.as_secs_f64() * 1e6,
            read.as_secs_f64() * 1e6
        );

        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(args.concurrency)
            .build()?;
        let live = format!("{endpoint}/health/live");
        let floor = {
            let (http, live) = (http.clone(), live.clone());
            drive(args.concurrency, args.seconds, move |_| {
                let req = http.get(&live);
                async move { req.send().await.is_ok_and(|r| r.status().is_success()) }
            })
            .await
        };
        let bodies: Arc<Vec<String>> = Arc::new(
            tokens
                .iter()
                .map(|t| serde_json::json!({ "AccessToken": t }).to_string())
                .collect(),
        );
        let get_user_http = {
            let (http, endpoint, bodies) = (http.clone(), endpoint.clone(), bodies.clone());
            drive(args.concurrency, args.seconds, move |i| {
                let req = http
                    .post(&endpoint)
                    .header("content-type", "application/x-amz-json-1.1")
                    .header("x-amz-target", "AWSCognitoIdentityProviderService.GetUser")
                    .body(bodies[i % bodies.len()].clone());
                async move { req.send().await.is_ok_and(|r| r.status().is_success()) }
            })
            .await
        };
        let get_user_sdk = {
            let (c, tokens) = (c.clone(), tokens.clone());
            drive(args.concurrency, args.seconds, move |i| {
                let call = c.get_user().access_token(&tokens[i % tokens.len()]).send();
                async move { call.await.is_ok() }
            })
            .await
        };
        println!();
        println!(
            "{:<26} {:>9} {:>10} {:>8} {:>8} {:>10} {:>10}",
            "measure", "requests", "req/s", "p50 ms", "p99 ms", "÷ floor", "÷ bound"
        );
        for (name, r) in [
            ("floor (GET /health/live)", &floor),
            ("GetUser (HTTP)", &get_user_http),
            ("GetUser (aws-sdk-rust)", &get_user_sdk),
        ] {
            row(name, r, floor.rate(), bound);
        }
        Ok::<_, anyhow::Error>(())
    })?;
    node.kill()
}

fn row(name: &str, r: &Run, floor: f64, bound: f64) {
    println!(
        "{name:<26} {:>9} {:>10.0} {:>8.2} {:>8.2} {:>10.2} {:>10.2}",
        r.ok,
        r.rate(),
        r.ms(0.50),
        r.ms(0.99),
        r.rate() / floor,
        r.rate() / bound
    );
    if r.failed > 0 {
        println!("  ({} requests failed)", r.failed);
    }
}

/// One RSA-2048 verification of `token` against the pool's published key.
fn verify_time(token: &str, jwks: &serde_json::Value) -> Result<Duration> {
    let kid = tessera_crypto::jwt::kid_of(token).context("kid")?;
    let key = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
        .context("the token's key in the JWKS")?;
    let jwk: tessera_crypto::jwt::Jwk = serde_json::from_value(key.clone())?;
    tessera_crypto::jwt::verify(token, &jwk).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let reps = 2000u32;
    let start = Instant::now();
    for _ in 0..reps {
        let _ = tessera_crypto::jwt::verify(token, &jwk);
    }
    Ok(start.elapsed() / reps)
}

/// One `access_read` of a real token's family, user and client, on the server's database file
/// (a reader of its own; SQLite's WAL lets it read beside the server).
async fn read_time(dir: &std::path::Path, tokens: &[String]) -> Result<Duration> {
    use tessera_store::Store;
    let store = tessera_store_sqlite::SqliteStore::open(&dir.join("tessera.db"))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let named = tokens
        .iter()
        .map(|t| claims_of(t))
        .collect::<Result<Vec<_>>>()?;
    let reps = 20_000usize;
    let start = Instant::now();
    for i in 0..reps {
        let n = &named[i % named.len()];
        let read = store
            .access_read(&n.origin_jti, &n.pool, &n.sub, &n.client)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        anyhow::ensure!(read.user.is_some() && read.family.is_some() && read.client.is_some());
    }
    Ok(start.elapsed() / reps as u32)
}
