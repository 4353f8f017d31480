//! `--scale N`: a pool of N users beside a pool of 1,000, on one server, in one run.
//!
//! The real binary (`tessera serve`, production hashing) runs as a process of its own, so its
//! memory and start-up are its own: both pools are filled through the bulk import path
//! (CreateUserImportJob, a PUT to its PreSignedUrl, StartUserImportJob), a few users in each get
//! a password, and the server is killed (`SIGKILL`) and started again on the same store — the
//! cold start is the time from the process's spawn to its first answered request. Then, per
//! operation, the load alternates between the pools (small, large, small, large) so drift on the
//! shared machine falls on both:
//!
//! - InitiateAuth USER_PASSWORD_AUTH (argon2id: the hashing sets the pace in both pools),
//! - GetUser (one RSA verify and an indexed read),
//! - AdminGetUser of a random user of the whole pool,
//! - ListUsers `username ^=` and `email ^=` pages (60 users) at random prefixes.
//!
//! The server's resident memory is read from `/proc` after the load. With `--nodes 2` (for a
//! PostgreSQL store) a second process joins the same database, and GetUser and AdminGetUser are
//! measured against one node and then against both, at the same concurrency.
//!
//! Results: a table on stdout and in `OUT/scale-BACKEND-N.txt`, and the p99s as a bar chart in
//! `OUT/scale-BACKEND-N.png` (plotters).

use crate::{KEY, Run, SECRET, client, drive};
use anyhow::{Context, Result, bail};
use aws_sdk_cognitoidentityprovider as idp;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Users in the baseline pool.
const SMALL: usize = 1_000;
/// Users per pool given a password (the sign-in and GetUser population).
const SIGNED_IN: usize = 32;
/// The server's log of refusals and failures, in its data directory.
pub(crate) const SERVER_LOG: &str = "server.log";
/// Rows per import job: well under the 100 MB a job takes.
const ROWS_PER_JOB: usize = 250_000;

pub struct ScaleArgs {
    pub users: usize,
    pub database_url: Option<String>,
    pub nodes: usize,
    pub concurrency: usize,
    pub seconds: u64,
    pub out: PathBuf,
    pub binary: Option<PathBuf>,
}

/// One `tessera serve` process.
pub(crate) struct Node {
    child: Child,
    pub(crate) endpoint: String,
}

impl Node {
    /// Spawns the server and waits for its first answered request; returns it and that wait.
    pub(crate) fn start(
        binary: &Path,
        data_dir: &Path,
        database_url: Option<&str>,
        port: u16,
        public_url: &str,
        master_key: &str,
    ) -> Result<(Node, Duration)> {
        let mut cmd = Command::new(binary);
        cmd.arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--hash-cost", "production", "--public-url", public_url]);
        if let Some(url) = database_url {
            cmd.args(["--database-url", url]);
        }
        for (k, _) in std::env::vars() {
            if k.starts_with("TESSERA_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("TESSERA_ROOT_ACCESS_KEY_ID", KEY)
            .env("TESSERA_ROOT_SECRET_ACCESS_KEY", SECRET)
            .env("TESSERA_MASTER_KEY", master_key)
            // Throughput is the measure here, not Cognito's default request rates.
            .env("TESSERA_QUOTAS", "false")
            // Refusals and failures (each names its exception), not the audit trail.
            .env("TESSERA_LOG", "warn,tessera_http::dispatch=info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(data_dir.join(SERVER_LOG))?,
            ));
        let started = Instant::now();
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let mut node = Node { child, endpoint };
        let ready = format!("{}/health/ready", node.endpoint);
        loop {
            if let Some(status) = node.child.try_wait()? {
                bail!("the server exited while starting: {status}");
            }
            if probe::answers(&ready).unwrap_or(false) {
                return Ok((node, started.elapsed()));
            }
            if started.elapsed() > Duration::from_secs(120) {
                bail!("the server did not answer within 120 s");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn kill(mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

/// A blocking readiness probe: one HTTP/1.1 request over a plain socket.
mod probe {
    use std::io::{Read, Write};
    /// True when `url` answers 200.
    pub fn answers(url: &str) -> std::io::Result<bool> {
        let rest = url.trim_start_matches("http://");
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut s = std::net::TcpStream::connect(host)?;
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
        write!(
            s,
            "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head)?;
        Ok(head.starts_with(b"HTTP/1.1 200"))
    }
}

/// `--tessera-bin`, or the `tessera` beside this binary.
pub(crate) fn tessera_binary(given: Option<PathBuf>) -> Result<PathBuf> {
    match given {
        Some(b) => Ok(b),
        None => Ok(std::env::current_exe()?
            .parent()
            .context("the bench's directory")?
            .join("tessera")),
    }
}

/// A fresh master key for a server under test (base64 of 32 random bytes).
pub(crate) fn master_key() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(tessera_crypto::random::bytes::<32>())
}

pub(crate) fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Resident and peak resident memory of a process, in MiB.
fn memory_mib(pid: u32) -> Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> Result<f64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("{name} in /proc/{pid}/status"))?;
        let kb: f64 = line.split_whitespace().nth(1).context("value")?.parse()?;
        Ok(kb / 1024.0)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// A PostgreSQL database made empty for the run (dropped and created through `psql`).
fn fresh_postgres_database(url: &str) -> Result<()> {
    let (server, name) = url.rsplit_once('/').context("database name in the URL")?;
    let name = name.split('?').next().unwrap_or(name);
    anyhow::ensure!(
        name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "database name {name:?}"
    );
    let admin = format!("{server}/postgres");
    for sql in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        let out = Command::new("psql")
            .args([admin.as_str(), "-v", "ON_ERROR_STOP=1", "-qc", sql.as_str()])
            .output()
            .context("running psql")?;
        anyhow::ensure!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn username(i: usize) -> String {
    format!("user{i:07}")
}

fn email(i: usize) -> String {
    format!("user{i}@example.com")
}

/// A small, fast generator for picking users and prefixes (no cryptographic use).
struct Pick(AtomicU64);

impl Pick {
    fn new() -> Pick {
        let seed = u64::from_le_bytes(tessera_crypto::random::bytes::<8>());
        Pick(AtomicU64::new(seed | 1))
    }
    fn below(&self, n: usize) -> usize {
        // splitmix64 on an atomic counter: every caller gets a different draw.
        let mut z = self
            .0
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z % n.max(1) as u64) as usize
    }
}

struct Pool {
    id: String,
    client_id: String,
    users: usize,
    /// Users with the bench password, spread over the pool.
    signed_in: Vec<String>,
    access: Vec<String>,
}

async fn create_pool(c: &idp::Client, name: &str, users: usize) -> Result<Pool> {
    let id = crate::create_pool(c, name).await?;
    let client_id = crate::password_client(c, &id, name).await?;
    Ok(Pool {
        id,
        client_id,
        users,
        signed_in: Vec::new(),
        access: Vec::new(),
    })
}

/// Imports `pool.users` users (no password hashes) in jobs of [`ROWS_PER_JOB`].
async fn import(c: &idp::Client, pool: &Pool) -> Result<Duration> {
    let header = c
        .get_csv_header()
        .user_pool_id(&pool.id)
        .send()
        .await?
        .csv_header
        .context("CSV header")?;
    let at = |name: &str| header.iter().position(|h| h == name);
    let (user_at, email_at, verified_at, mfa_at) = (
        at("cognito:username").context("cognito:username column")?,
        at("email").context("email column")?,
        at("email_verified").context("email_verified column")?,
        at("cognito:mfa_enabled").context("cognito:mfa_enabled column")?,
    );
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut from = 0;
    let mut job_number = 0;
    while from < pool.users {
        let to = (from + ROWS_PER_JOB).min(pool.users);
        let mut csv = header.join(",");
        csv.push('\n');
        let mut row = vec![String::new(); header.len()];
        for i in from..to {
            row[user_at] = username(i);
            row[email_at] = email(i);
            row[verified_at] = "true".into();
            row[mfa_at] = "false".into();
            csv.push_str(&row.join(","));
            csv.push('\n');
        }
        job_number += 1;
        let job = c
            .create_user_import_job()
            .user_pool_id(&pool.id)
            .job_name(format!("scale-{job_number}"))
            .cloud_watch_logs_role_arn("arn:aws:iam::000000000000:role/CognitoImport")
            .send()
            .await?
            .user_import_job
            .context("import job")?;
        let url = job.pre_signed_url.context("PreSignedUrl")?;
        let job_id = job.job_id.context("job id")?;
        let put = http.put(&url).body(csv).send().await?;
        anyhow::ensure!(put.status().is_success(), "upload: {}", put.status());
        c.start_user_import_job()
            .user_pool_id(&pool.id)
            .job_id(&job_id)
            .send()
            .await?;
        loop {
            let j = c
                .describe_user_import_job()
                .user_pool_id(&pool.id)
                .job_id(&job_id)
                .send()
                .await?
                .user_import_job
                .context("import job")?;
            use idp::types::UserImportJobStatusType as S;
            match j.status {
                Some(S::Succeeded) => {
                    anyhow::ensure!(
                        j.failed_users == 0,
                        "{} rows failed to import",
                        j.failed_users
                    );
                    break;
                }
                Some(S::Failed | S::Stopped | S::Expired) => {
                    bail!("import job ended {:?}", j.status)
                }
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
        println!(
            "  imported {to:>9} of {} users into {} ({:.0} s)",
            pool.users,
            pool.id,
            started.elapsed().as_secs_f64()
        );
        from = to;
    }
    Ok(started.elapsed())
}

/// Gives [`SIGNED_IN`] users spread over the pool the bench password.
async fn set_passwords(c: &idp::Client, pool: &mut Pool, pick: &Pick) -> Result<()> {
    let mut chosen = std::collections::BTreeSet::new();
    while chosen.len() < SIGNED_IN.min(pool.users) {
        chosen.insert(pick.below(pool.users));
    }
    for i in chosen {
        let name = username(i);
        crate::set_password(c, &pool.id, &name).await?;
        pool.signed_in.push(name);
    }
    Ok(())
}

async fn sign_in(c: &idp::Client, pool: &Pool, user: &str) -> Result<String> {
    crate::sign_in_token(c, &pool.client_id, user).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    SignIn,
    GetUser,
    AdminGetUser,
    UsernamePrefix,
    EmailPrefix,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::SignIn => "InitiateAuth USER_PASSWORD_AUTH",
            Op::GetUser => "GetUser",
            Op::AdminGetUser => "AdminGetUser (random user)",
            Op::UsernamePrefix => "ListUsers username ^= (60)",
            Op::EmailPrefix => "ListUsers email ^= (60)",
        }
    }
    fn short(self) -> &'static str {
        match self {
            Op::SignIn => "sign-in",
            Op::GetUser => "GetUser",
            Op::AdminGetUser => "AdminGetUser",
            Op::UsernamePrefix => "username ^=",
            Op::EmailPrefix => "email ^=",
        }
    }
}

/// One request of `op` on `pool`; true when it was answered as expected.
async fn call(c: &idp::Client, pool: &Pool, op: Op, pick: &Pick) -> bool {
    let who = pick.below(pool.signed_in.len());
    match op {
        Op::SignIn => sign_in(c, pool, &pool.signed_in[who]).await.is_ok(),
        Op::GetUser => c
            .get_user()
            .access_token(&pool.access[who])
            .send()
            .await
            .is_ok(),
        Op::AdminGetUser => c
            .admin_get_user()
            .user_pool_id(&pool.id)
            .username(username(pick.below(pool.users)))
            .send()
            .await
            .is_ok(),
        Op::UsernamePrefix | Op::EmailPrefix => {
            let i = pick.below(pool.users);
            let filter = if op == Op::UsernamePrefix {
                // `userNNNNN`: the 100 users that share all but the last two digits.
                format!("username ^= \"{}\"", &username(i)[..9])
            } else {
                // `user` and the leading digits of a user's number, as many as leave 111
                // users of the pool matching (`userD`: D, D0–D9, D00–D99 of a 1,000-user pool;
                // `userDDDD` of a million), so pages in both pools are full and alike.
                let digits = i.to_string();
                let keep = (pool.users.saturating_sub(1).to_string().len())
                    .saturating_sub(2)
                    .max(1);
                format!("email ^= \"user{}\"", &digits[..digits.len().min(keep)])
            };
            c.list_users()
                .user_pool_id(&pool.id)
                .filter(filter)
                .limit(60)
                .send()
                .await
                .is_ok_and(|r| !r.users().is_empty())
        }
    }
}

/// `concurrency` workers calling `op` on `pool` for `seconds`, spread over `clients`.
async fn load(
    clients: &[idp::Client],
    pool: &Arc<Pool>,
    op: Op,
    concurrency: usize,
    seconds: u64,
    pick: &Arc<Pick>,
) -> Run {
    let (clients, pool, pick) = (clients.to_vec(), pool.clone(), pick.clone());
    drive(concurrency, seconds, move |i| {
        let (c, pool, pick) = (
            clients[i % clients.len()].clone(),
            pool.clone(),
            pick.clone(),
        );
        async move { call(&c, &pool, op, &pick).await }
    })
    .await
}

struct Row {
    op: Op,
    small: Run,
    large: Run,
}

pub fn run(args: ScaleArgs) -> Result<()> {
    let binary = tessera_binary(args.binary.clone())?;
    let backend = if args
        .database_url
        .as_deref()
        .is_some_and(|u| u.starts_with("postgres"))
    {
        "postgres"
    } else {
        "sqlite"
    };
    if let Some(url) = args.database_url.as_deref()
        && backend == "postgres"
    {
        fresh_postgres_database(url)?;
    }
    anyhow::ensure!(
        args.nodes == 1 || backend == "postgres",
        "--nodes 2 needs a PostgreSQL --database-url (nodes share one database)"
    );
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let dir = tempfile::tempdir()?;
    let master_key = master_key();
    let port = free_port()?;
    let public_url = format!("http://127.0.0.1:{port}");
    let db = args.database_url.as_deref();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut report = String::new();
    macro_rules! say {
        ($($t:tt)*) => {{
            let line = format!($($t)*);
            println!("{line}");
            report.push_str(&line);
            report.push('\n');
        }};
    }
    say!(
        "tessera-bench --scale: {} users beside {SMALL}, {backend}, {cores} cores, concurrency {}, {} s per pool and operation (twice), release binary {}",
        args.users,
        args.concurrency,
        args.seconds,
        binary.display()
    );

    let (node, first_start) = Node::start(&binary, dir.path(), db, port, &public_url, &master_key)?;
    let pick = Arc::new(Pick::new());
    let c = client(&node.endpoint);
    let (small, large, import_time) = runtime.block_on(async {
        let mut small = create_pool(&c, "scale-small", SMALL).await?;
        let mut large = create_pool(&c, "scale-large", args.users).await?;
        import(&c, &small).await?;
        let import_time = import(&c, &large).await?;
        set_passwords(&c, &mut small, &pick).await?;
        set_passwords(&c, &mut large, &pick).await?;
        Ok::<_, anyhow::Error>((small, large, import_time))
    })?;
    let (_, import_peak) = memory_mib(node.pid())?;
    say!(
        "import: {} users in {:.0} s ({:.0} users/s); server peak RSS while importing {import_peak:.0} MiB; first start {:.0} ms",
        args.users,
        import_time.as_secs_f64(),
        args.users as f64 / import_time.as_secs_f64(),
        first_start.as_secs_f64() * 1e3
    );
    node.kill()?;

    // Cold start on the filled store, after a SIGKILL.
    let (node, cold) = Node::start(&binary, dir.path(), db, port, &public_url, &master_key)?;
    let (rss_start, _) = memory_mib(node.pid())?;
    say!(
        "cold start after SIGKILL, {} users stored: {:.0} ms to the first answered request; RSS then {rss_start:.0} MiB",
        args.users + SMALL,
        cold.as_secs_f64() * 1e3
    );

    let c = client(&node.endpoint);
    let (small, large) = runtime.block_on(async {
        let (mut small, mut large) = (small, large);
        for pool in [&mut small, &mut large] {
            for u in pool.signed_in.clone() {
                let token = sign_in(&c, pool, &u).await?;
                pool.access.push(token);
            }
        }
        Ok::<_, anyhow::Error>((Arc::new(small), Arc::new(large)))
    })?;

    let ops = [
        Op::SignIn,
        Op::GetUser,
        Op::AdminGetUser,
        Op::UsernamePrefix,
        Op::EmailPrefix,
    ];
    let clients = [c.clone()];
    let rows: Vec<Row> = runtime.block_on(async {
        let mut rows = Vec::new();
        for op in ops {
            let mut small_s =
                load(&clients, &small, op, args.concurrency, args.seconds, &pick).await;
            let mut large_s =
                load(&clients, &large, op, args.concurrency, args.seconds, &pick).await;
            small_s.merge(load(&clients, &small, op, args.concurrency, args.seconds, &pick).await);
            large_s.merge(load(&clients, &large, op, args.concurrency, args.seconds, &pick).await);
            rows.push(Row {
                op,
                small: small_s,
                large: large_s,
            });
        }
        rows
    });
    let (rss, hwm) = memory_mib(node.pid())?;
    say!("");
    say!(
        "{:<33} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}",
        "operation",
        "1k req/s",
        "1k p50",
        "1k p99",
        "N req/s",
        "N p50",
        "N p99",
        "p99 N/1k",
        "failed"
    );
    let mut chart = Vec::new();
    for row in rows {
        let Row { op, small, large } = row;
        let (s50, s99, l50, l99) = (small.ms(0.5), small.ms(0.99), large.ms(0.5), large.ms(0.99));
        say!(
            "{:<33} {:>9.0} {:>9.2} {:>9.2} {:>9.0} {:>9.2} {:>9.2} {:>8.2} {:>8}",
            op.name(),
            small.rate(),
            s50,
            s99,
            large.rate(),
            l50,
            l99,
            l99 / s99.max(1e-9),
            small.failed + large.failed
        );
        chart.push((op.short(), s99, l99));
    }
    say!(
        "(latencies in ms; each pool ran each operation twice for {} s, alternating)",
        args.seconds
    );
    say!("server RSS after the load: {rss:.0} MiB (peak since the cold start {hwm:.0} MiB)");

    if args.nodes > 1 {
        let port2 = free_port()?;
        let dir2 = tempfile::tempdir()?;
        let (node2, _) = Node::start(&binary, dir2.path(), db, port2, &public_url, &master_key)?;
        let both = [c.clone(), client(&node2.endpoint)];
        say!("");
        say!(
            "{:<33} {:>12} {:>12} {:>7}",
            "two nodes, one database",
            "1 node req/s",
            "2 nodes req/s",
            "ratio"
        );
        runtime.block_on(async {
            for op in [Op::GetUser, Op::AdminGetUser] {
                let mut one =
                    load(&clients, &large, op, args.concurrency, args.seconds, &pick).await;
                let mut two = load(&both, &large, op, args.concurrency, args.seconds, &pick).await;
                one.merge(load(&clients, &large, op, args.concurrency, args.seconds, &pick).await);
                two.merge(load(&both, &large, op, args.concurrency, args.seconds, &pick).await);
                say!(
                    "{:<33} {:>12.0} {:>12.0} {:>7.2}   (failed {})",
                    op.name(),
                    one.rate(),
                    two.rate(),
                    two.rate() / one.rate().max(1e-9),
                    one.failed + two.failed
                );
            }
        });
        node2.kill()?;
    }
    node.kill()?;

    std::fs::create_dir_all(&args.out)?;
    let stem = args.out.join(format!("scale-{backend}-{}", args.users));
    // Why any request failed: the server said, in its log.
    let log = std::fs::read_to_string(dir.path().join(SERVER_LOG)).unwrap_or_default();
    let refusals: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("request refused") || l.contains("request failed"))
        .collect();
    if !refusals.is_empty() {
        say!(
            "the server refused or failed {} requests; the first:",
            refusals.len()
        );
        for line in refusals.iter().take(5) {
            say!("  {line}");
        }
    }
    std::fs::write(
        args.out
            .join(format!("scale-{backend}-{}-server.log", args.users)),
        &log,
    )?;
    std::fs::write(stem.with_extension("txt"), &report)?;
    let png = stem.with_extension("png");
    let title = format!(
        "p99 latency, {} users vs {SMALL} ({backend}, {cores} cores, c={})",
        args.users, args.concurrency
    );
    draw_chart(&png, &title, &chart, args.users)?;
    println!(
        "wrote {} and {}",
        stem.with_extension("txt").display(),
        png.display()
    );
    Ok(())
}

/// Grouped bars: p99 per operation, the 1k pool beside the large one, on a log scale.
fn draw_chart(path: &Path, title: &str, rows: &[(&str, f64, f64)], users: usize) -> Result<()> {
    use plotters::prelude::*;
    let font = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
        .context("the chart's font: Debian's fonts-dejavu-core")?;
    plotters::style::register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(font.into_boxed_slice()),
    )
    .map_err(|_| anyhow::anyhow!("the chart's font is unreadable"))?;
    let root = BitMapBackend::new(path, (1000, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = rows
        .iter()
        .map(|(_, a, b)| a.max(*b))
        .fold(1.0f64, f64::max)
        * 2.0;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..rows.len() as f64, (0.1f64..top).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("p99 ms (log)")
        .label_style(("sans-serif", 15))
        .draw()?;
    // Operation names under their pair of bars, placed in pixels below the axis.
    for (i, (name, _, _)) in rows.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64 + 0.5, 0.1));
        root.draw(&Text::new(
            (*name).to_owned(),
            (x - 5 * name.len() as i32, y + 10),
            ("sans-serif", 15),
        ))?;
    }
    // The two bars of each operation: the 1k pool on the left, the large one on the right.
    let bars = [
        (
            RGBColor(0x4c, 0x72, 0xb0),
            format!("{SMALL} users"),
            0.12,
            false,
        ),
        (
            RGBColor(0xdd, 0x84, 0x52),
            format!("{users} users"),
            0.52,
            true,
        ),
    ];
    for (colour, label, left, large) in bars {
        chart
            .draw_series(rows.iter().enumerate().map(|(i, (_, s, l))| {
                let (x, p99) = (i as f64 + left, if large { *l } else { *s });
                Rectangle::new([(x, 0.1), (x + 0.36, p99)], colour.filled())
            }))?
            .label(label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()?;
    root.present()?;
    Ok(())
}
