//! The `tessera` binary.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use tessera_server::{Application, Config, Settings};

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "A self-hosted identity service that speaks Amazon Cognito's protocols"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServerArgs),
    /// Apply database migrations and exit (serve also applies them at start).
    Migrate(ServerArgs),
    /// Print the operations this build implements, one `service.Operation` per line (those
    /// that only answer an honest error are followed by a tab and `refused: <why>`).
    Operations,
    /// Show the newest messages in the outbox (codes and invitations; held ones in --dev
    /// keep their text, delivered ones don't, failed ones for a day so they can be retried
    /// from the console).
    Outbox {
        #[command(flatten)]
        server: ServerArgs,
        /// Only this user pool's messages.
        #[arg(long)]
        pool: Option<String>,
        /// How many messages.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Write a consistent copy of the SQLite store to FILE while the servers run (PostgreSQL:
    /// use pg_dump; see the README).
    Backup {
        #[command(flatten)]
        server: ServerArgs,
        file: PathBuf,
    },
    /// Restore a backup FILE into a fresh data directory (or --database-url), then check it
    /// opens with the master key given.
    Restore {
        #[command(flatten)]
        server: ServerArgs,
        file: PathBuf,
    },
    /// Signing keys: list, rotate, revoke. Run against the same store (and master key) as the
    /// servers; they pick the change up within seconds.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// The master key that seals secrets at rest: rotate it online (see README, Master key).
    MasterKey {
        #[command(subcommand)]
        action: MasterKeyAction,
    },
    /// A user pool's users: export them (with their password hashes), read an import job's
    /// error log.
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// The breached-password corpus of threat protection.
    Breach {
        #[command(subcommand)]
        action: BreachAction,
    },
    /// Admin console operator accounts: people who sign in to /console with a name and a
    /// password instead of the admin access key.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
}

#[derive(Subcommand)]
enum AdminAction {
    /// Create an operator and print their generated password, once (only its argon2id hash
    /// is kept).
    Create {
        #[command(flatten)]
        server: ServerArgs,
        /// 1 to 64 letters, digits, '.', '_', '-' or '@'; the audit trail names them
        /// `console:{NAME}`.
        name: String,
    },
    /// List the operators, one `NAME<TAB>created` line each.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Delete an operator; their console sessions end at their next request.
    Delete {
        #[command(flatten)]
        server: ServerArgs,
        name: String,
    },
}

#[derive(Subcommand)]
enum BreachAction {
    /// Build the breach filter from a Have I Been Pwned "Pwned Passwords" SHA-1 file
    /// (`HASH:COUNT` lines, LF or CRLF; `-` reads standard input) into the data directory,
    /// where `serve` loads it at start.
    Import {
        file: PathBuf,
        /// The data directory the servers use [default: ./tessera-data, or TESSERA_DATA_DIR].
        #[arg(long, env = "TESSERA_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Write the filter here instead of {data_dir}/breach-filter.bin.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Keep only hashes seen at least this many times (fewer entries, less memory).
        #[arg(long, default_value_t = 1)]
        min_count: u64,
        /// Fingerprint bits: 16 (≈2.25 bytes per entry, 0.0015 % false positives) or 8
        /// (≈1.13 bytes, 0.4 %).
        #[arg(long, default_value = "16")]
        bits: String,
    },
}

#[derive(Subcommand)]
enum UsersAction {
    /// Write every user of a pool as JSON lines (stdout, or --output): attributes, status,
    /// and the password hash as a PHC string (argon2id, or as imported until the user's next
    /// sign-in), ready for another system or another Tessera's import job.
    Export {
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long)]
        pool: String,
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Print a user import job's error log: one JSON line per refused row (row 0 is the
    /// file itself).
    ImportLog {
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long)]
        pool: String,
        #[arg(long)]
        job: String,
    },
}

#[derive(Subcommand)]
enum MasterKeyAction {
    /// Re-seal every secret at rest under a new master key while the servers run. With the key
    /// in the data directory: generates the new key (or takes --new-key-file), keeps the old one
    /// in master.key.previous, waits for running servers to load both, re-seals. With
    /// TESSERA_MASTER_KEY: the new key is the configured one (or --new-key-file), the old ones
    /// come from TESSERA_PREVIOUS_MASTER_KEYS; only re-seals. Safe to run again.
    Rotate {
        #[command(flatten)]
        server: ServerArgs,
        /// The new key (base64 of 32 bytes) instead of a generated one.
        #[arg(long)]
        new_key_file: Option<PathBuf>,
        /// Seconds to wait after replacing master.key for running servers to load it.
        #[arg(long, default_value_t = 2 * tessera_server::master_key::KEY_FILE_POLL.as_secs())]
        settle_secs: u64,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// Every key of a pool with its state (next, active, retired, expired, revoked), as JSON
    /// lines; with --identity, the identity pools' OpenID signing keys instead.
    List {
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long, required_unless_present = "identity")]
        pool: Option<String>,
        #[arg(long, conflicts_with = "pool")]
        identity: bool,
    },
    /// Make the published next keys sign now, retire the current ones (published until their
    /// tokens expire) and publish new next keys; every pool without --pool. With --identity,
    /// publish a new identity-pool OpenID signing key instead: it signs once it has been
    /// published an hour (verifiers cache that JWKS), and the old one stays published until its
    /// tokens expire.
    Rotate {
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long, conflicts_with = "identity")]
        pool: Option<String>,
        #[arg(long)]
        identity: bool,
    },
    /// Withdraw a key at once: it leaves the JWKS and its tokens fail. A signing key is replaced
    /// by its pool's next key (an identity-pool key by the newest other one).
    Revoke {
        #[command(flatten)]
        server: ServerArgs,
        kid: String,
    },
}

/// Flags override `TESSERA_*` environment variables, which override the config file.
#[derive(Args)]
struct ServerArgs {
    /// TOML config file (keys as the long flags, with underscores).
    #[arg(long, env = "TESSERA_CONFIG")]
    config: Option<PathBuf>,
    /// Address and port to listen on [default: 127.0.0.1:9229].
    #[arg(long)]
    listen: Option<String>,
    /// Serve /metrics on this ADDR:PORT instead of on --listen.
    #[arg(long)]
    metrics_listen: Option<String>,
    /// Directory for the embedded store, generated keys and credentials [default: ./tessera-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB [default: sqlite in the data directory].
    #[arg(long)]
    database_url: Option<String>,
    /// AWS region to present (pool ids start with it) [default: us-east-1].
    #[arg(long)]
    region: Option<String>,
    /// AWS account id (12 digits) in every ARN [default: 000000000000].
    #[arg(long)]
    account_id: Option<String>,
    /// Public base URL, the issuer of tokens [default: http://LISTEN, or https://LISTEN with TLS].
    #[arg(long)]
    public_url: Option<String>,
    /// Serve each hosted-UI domain at PREFIX.DOMAIN_BASE (wildcard DNS and TLS in front) as well as at PUBLIC_URL/domain/NAME.
    #[arg(long)]
    domain_base: Option<String>,
    /// Serve HTTPS: PEM certificate chain file (with --tls-key).
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// Serve HTTPS: PEM private key file of --tls-cert.
    #[arg(long)]
    tls_key: Option<PathBuf>,
    /// Local development: accept any admin credentials and hash passwords cheaply. Never in production.
    #[arg(long)]
    dev: bool,
    /// Password hashing cost: production or insecure-fast [default: production; insecure-fast with --dev].
    #[arg(long)]
    hash_cost: Option<String>,
    /// Log format: text or json [default: text].
    #[arg(long)]
    log_format: Option<String>,
    /// Also append the audit trail (JSON lines) to this file.
    #[arg(long)]
    audit_log: Option<PathBuf>,
    /// Email delivery: smtp://[user:pass@]host[:port], smtps://… or smtp://…?tls=required.
    #[arg(long)]
    smtp_url: Option<String>,
    /// Default sender address [default: Tessera <no-reply@localhost>].
    #[arg(long)]
    email_from: Option<String>,
    /// SMS delivery: URL receiving a JSON POST {destination, message, id, pool_id}.
    #[arg(long)]
    sms_webhook: Option<String>,
    /// Let webhooks reach private and loopback addresses.
    #[arg(long)]
    allow_private_webhooks: bool,
    /// Let OIDC discovery and JWKS fetches reach private and loopback addresses.
    #[arg(long)]
    allow_private_oidc: bool,
    /// With --dev: list the outbox over HTTP at /_tessera/outbox.
    #[arg(long)]
    outbox_http: bool,
    /// Lambda Invoke API endpoint for trigger functions, e.g. http://127.0.0.1:3001 (sam local start-lambda).
    #[arg(long)]
    lambda_endpoint: Option<String>,
    /// Let trigger invocations reach private and loopback addresses.
    #[arg(long)]
    lambda_allow_private: bool,
}

impl ServerArgs {
    fn settings(&self) -> Result<Settings> {
        let mut o = serde_json::Map::new();
        let mut set = |k: &str, v: Option<serde_json::Value>| {
            if let Some(v) = v {
                o.insert(k.to_string(), v);
            }
        };
        set("listen", self.listen.clone().map(Into::into));
        set(
            "metrics_listen",
            self.metrics_listen.clone().map(Into::into),
        );
        set(
            "data_dir",
            self.data_dir
                .as_ref()
                .map(|d| d.display().to_string().into()),
        );
        set("database_url", self.database_url.clone().map(Into::into));
        set("region", self.region.clone().map(Into::into));
        set("account_id", self.account_id.clone().map(Into::into));
        set("public_url", self.public_url.clone().map(Into::into));
        set("domain_base", self.domain_base.clone().map(Into::into));
        for (key, path) in [("tls_cert", &self.tls_cert), ("tls_key", &self.tls_key)] {
            set(key, path.as_ref().map(|p| p.display().to_string().into()));
        }
        set("dev", self.dev.then_some(true.into()));
        set("hash_cost", self.hash_cost.clone().map(Into::into));
        set("log_format", self.log_format.clone().map(Into::into));
        set(
            "audit_log",
            self.audit_log
                .as_ref()
                .map(|p| p.display().to_string().into()),
        );
        set("smtp_url", self.smtp_url.clone().map(Into::into));
        set("email_from", self.email_from.clone().map(Into::into));
        set("sms_webhook", self.sms_webhook.clone().map(Into::into));
        set(
            "allow_private_webhooks",
            self.allow_private_webhooks.then_some(true.into()),
        );
        set(
            "allow_private_oidc",
            self.allow_private_oidc.then_some(true.into()),
        );
        set("outbox_http", self.outbox_http.then_some(true.into()));
        let mut lambda = serde_json::Map::new();
        if let Some(endpoint) = &self.lambda_endpoint {
            lambda.insert("endpoint".into(), endpoint.clone().into());
        }
        if self.lambda_allow_private {
            lambda.insert("allow_private".into(), true.into());
        }
        set(
            "lambda",
            (!lambda.is_empty()).then_some(serde_json::Value::Object(lambda)),
        );
        let config = Config::load(self.config.as_deref(), &serde_json::Value::Object(o))?;
        init_logging(&config.log_format, config.audit_log.as_deref())?;
        Settings::from_config(config)
    }
}

/// Logs to stderr (text or JSON, filtered by `TESSERA_LOG`), and the audit trail also to its own
/// file when one is configured, whatever `TESSERA_LOG` says.
fn init_logging(format: &str, audit_log: Option<&std::path::Path>) -> Result<()> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // Colour only for a terminal: a file or a log collector would keep the escape codes.
    let stream = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let stream = if format == "json" {
        stream.json().with_filter(filter).boxed()
    } else {
        stream.with_filter(filter).boxed()
    };
    let audit = match audit_log {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("open the audit log {}", path.display()))?;
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false)
                    .with_writer(std::sync::Mutex::new(file))
                    .with_filter(
                        tracing_subscriber::filter::Targets::new()
                            .with_target(tessera_engine::audit::TARGET, tracing::Level::INFO),
                    ),
            )
        }
        None => None,
    };
    let _ = tracing_subscriber::registry()
        .with(stream)
        .with(audit)
        .try_init();
    Ok(())
}

fn banner(app: &Application, settings: &Settings) {
    let store = match &settings.database {
        tessera_server::Database::Sqlite(url) => url.clone(),
        tessera_server::Database::Postgres(url) => {
            // Never print a password that may be in the URL.
            match url.split_once('@') {
                Some((scheme_user, host)) => {
                    let user = scheme_user.split(':').take(2).collect::<Vec<_>>().join(":");
                    format!("{user}@{host}")
                }
                None => url.clone(),
            }
        }
    };
    let endpoint = format!("{}://{}", app.scheme(), app.local_addr());
    println!(
        "Tessera {} listening on {endpoint}",
        env!("CARGO_PKG_VERSION")
    );
    println!("  endpoint:  {endpoint}   (endpoint_url / --endpoint-url for AWS clients)");
    println!("  region:    {}", settings.region);
    println!(
        "  issuer:    {}/<userPoolId>   (JWKS at <issuer>/.well-known/jwks.json)",
        app.public_url
    );
    match &settings.domain_base {
        Some(base) => println!(
            "  hosted UI: https://<domain>.{base}/oauth2/authorize and {}/domain/<domain>/oauth2/authorize",
            app.public_url
        ),
        None => println!(
            "  hosted UI: {}/domain/<domain>/oauth2/authorize   (<domain> from CreateUserPoolDomain)",
            app.public_url
        ),
    }
    match app.console_addr() {
        Some(addr) => println!(
            "  console:   http://{addr}/console   (its own listener; sign in with the admin credentials or a `tessera admin create` operator)"
        ),
        None => println!(
            "  console:   {}/console   (sign in with the admin credentials or a `tessera admin create` operator)",
            app.public_url
        ),
    }
    println!("  store:     {store}");
    match app.metrics_addr() {
        Some(addr) => println!("  metrics:   http://{addr}/metrics"),
        None => println!("  metrics:   {endpoint}/metrics"),
    }
    let channels: Vec<&str> = [
        settings.smtp_url.as_ref().map(|_| "email (SMTP)"),
        settings.sms_webhook.as_ref().map(|_| "SMS (webhook)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    println!(
        "  delivery:  {}",
        if channels.is_empty() {
            if settings.dev {
                "none configured: messages are held in the outbox (tessera outbox)".to_string()
            } else {
                "none configured: sending codes fails (set --smtp-url / --sms-webhook)".to_string()
            }
        } else {
            channels.join(", ")
        }
    );
    println!(
        "  triggers:  {}",
        app.function_host
            .as_deref()
            .unwrap_or("no function host: pools with Lambda triggers fail (set --lambda-endpoint)")
    );
    if settings.dev {
        println!();
        println!("  !!! DEVELOPMENT MODE: admin operations accept ANY credentials and passwords");
        println!("  !!! are hashed with a cheap cost. Do not use this with real users.");
        println!();
    }
    let root = &app.root;
    match (&root.file, root.generated) {
        (Some(path), true) => {
            println!(
                "  admin credentials (generated, saved to {}):",
                path.display()
            );
            println!("    AWS_ACCESS_KEY_ID={}", root.access_key_id);
            println!("    AWS_SECRET_ACCESS_KEY={}", root.secret_access_key);
        }
        (Some(path), false) => println!(
            "  admin credentials: AWS_ACCESS_KEY_ID={} (secret in {})",
            root.access_key_id,
            path.display()
        ),
        (None, _) => println!(
            "  admin credentials: AWS_ACCESS_KEY_ID={} (from TESSERA_ROOT_* settings)",
            root.access_key_id
        ),
    }
}

/// The application without serving: for commands that work on the store directly.
async fn offline_app(server: &ServerArgs) -> Result<Application> {
    let settings = server.settings()?;
    Application::build(Settings {
        listen: "127.0.0.1:0".parse()?,
        metrics_listen: None,
        console_listen: None,
        tls: None,
        ..settings
    })
    .await
}

async fn admin(action: AdminAction) -> Result<()> {
    match action {
        AdminAction::Create { server, name } => {
            let app = offline_app(&server).await?;
            // The console tries the access key first: an operator of that name could never
            // sign in, and the audit trail couldn't tell the two apart.
            if name == app.root.access_key_id {
                anyhow::bail!("{name} is the admin access key id; choose another operator name");
            }
            let password = app
                .engine()
                .create_console_operator(&name)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e))?;
            println!("{password}");
            eprintln!(
                "operator {name} created: sign in to {}/console with this name and the password above (shown only now)",
                app.public_url
            );
            Ok(())
        }
        AdminAction::List { server } => {
            let app = offline_app(&server).await?;
            for o in app.engine().list_console_operators().await? {
                let (y, mo, d, h, mi, _) = o.created_at.civil();
                println!("{}\t{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC", o.name);
            }
            Ok(())
        }
        AdminAction::Delete { server, name } => {
            let app = offline_app(&server).await?;
            if !app.engine().delete_console_operator(&name).await? {
                anyhow::bail!("no operator named {name}");
            }
            eprintln!("operator {name} deleted");
            Ok(())
        }
    }
}

fn pool_id(text: &str) -> Result<tessera_domain::UserPoolId> {
    tessera_domain::UserPoolId::parse(text).map_err(|e| anyhow::anyhow!(e.message))
}

async fn keys(action: KeysAction) -> Result<()> {
    let print = |keys: &[tessera_engine::KeyInfo]| -> Result<()> {
        for key in keys {
            println!("{}", serde_json::to_string(key)?);
        }
        Ok(())
    };
    match action {
        KeysAction::List { server, pool, .. } => {
            let app = offline_app(&server).await?;
            match pool {
                Some(pool) => print(&app.engine().list_signing_keys(&pool_id(&pool)?).await?),
                None => print_identity_keys(&app.engine().list_identity_keys().await?),
            }
        }
        KeysAction::Rotate {
            server,
            identity: true,
            ..
        } => {
            let app = offline_app(&server).await?;
            let engine = app.engine();
            if !engine.identity_key_upkeep(None, true).await? {
                eprintln!("a new identity-pool key is published already (or none exists yet)");
            }
            print_identity_keys(&engine.list_identity_keys().await?)
        }
        KeysAction::Rotate { server, pool, .. } => {
            let app = offline_app(&server).await?;
            let engine = app.engine();
            let pools = match pool {
                Some(p) => vec![pool_id(&p)?],
                None => {
                    let mut all = Vec::new();
                    let mut next: Option<String> = None;
                    loop {
                        let page = engine.list_user_pools(60, next.as_deref()).await?;
                        all.extend(page.pools.into_iter().map(|p| p.id));
                        match page.next_token {
                            Some(t) => next = Some(t),
                            None => break,
                        }
                    }
                    all
                }
            };
            for pool in &pools {
                let keys = engine.rotate_signing_keys(pool).await?;
                print(&keys)?;
            }
            eprintln!("rotated the signing keys of {} pool(s)", pools.len());
            Ok(())
        }
        KeysAction::Revoke { server, kid } => {
            let app = offline_app(&server).await?;
            let engine = app.engine();
            match engine.revoke_signing_key(&kid).await {
                Ok(key) => print(&[key]),
                // Not a user pool's key: perhaps the identity pools'.
                Err(e) => {
                    if !engine.revoke_identity_key(&kid).await? {
                        return Err(e.into());
                    }
                    eprintln!("revoked identity-pool signing key {kid}");
                    print_identity_keys(&engine.list_identity_keys().await?)
                }
            }
        }
    }
}

fn print_identity_keys(keys: &[tessera_engine::identity::IdentityKeyInfo]) -> Result<()> {
    for key in keys {
        println!("{}", serde_json::to_string(key)?);
    }
    Ok(())
}

async fn master_key(action: MasterKeyAction) -> Result<()> {
    let MasterKeyAction::Rotate {
        server,
        new_key_file,
        settle_secs,
    } = action;
    let settings = server.settings()?;
    // Built with the keys as they are: the store is known to open before anything changes.
    let app = offline_app(&server).await?;
    let done = tessera_server::master_key::rotate(
        &settings,
        app.engine(),
        new_key_file.as_deref(),
        std::time::Duration::from_secs(settle_secs),
    )
    .await?;
    if let Some(path) = &done.key_file {
        eprintln!(
            "new master key in {} (the old one appended to {})",
            path.display(),
            path.with_file_name(tessera_server::master_key::PREVIOUS_KEYS_FILE)
                .display()
        );
    }
    let (current, previous) = &done.key_ids;
    eprintln!(
        "re-sealed under master key {current} (previous: {})",
        if previous.is_empty() {
            "none".to_string()
        } else {
            previous.join(", ")
        }
    );
    for c in &done.report.places {
        println!("{}", serde_json::to_string(c)?);
    }
    let left = done.report.left_behind();
    if done.report.unopenable() > 0 {
        anyhow::bail!(
            "{} value(s) open with no key given (sealed with a key this command wasn't given): keep every previous key until they are found",
            done.report.unopenable()
        );
    }
    if left > 0 {
        eprintln!(
            "{left} value(s) changed while being re-sealed: run this command again to check them"
        );
    } else {
        eprintln!(
            "every secret at rest is sealed with {current}; keep the previous key(s) configured for 7 days (threat-protection feedback links), then remove them"
        );
    }
    Ok(())
}

async fn users(action: UsersAction) -> Result<()> {
    use std::io::Write as _;
    match action {
        UsersAction::Export {
            server,
            pool,
            output,
        } => {
            let app = offline_app(&server).await?;
            let pool = pool_id(&pool)?;
            let mut out: Box<dyn std::io::Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let (mut after, mut written) = (None::<String>, 0u64);
            loop {
                let (page, next) = app
                    .engine()
                    .export_user_page(&pool, after.as_deref(), 1000)
                    .await?;
                for user in &page {
                    serde_json::to_writer(&mut out, user)?;
                    out.write_all(b"\n")?;
                    written += 1;
                }
                match next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
            out.flush()?;
            eprintln!("exported {written} user(s)");
            Ok(())
        }
        UsersAction::ImportLog { server, pool, job } => {
            let app = offline_app(&server).await?;
            let errors = app
                .engine()
                .user_import_errors(&pool_id(&pool)?, &job)
                .await?;
            for e in &errors {
                let line =
                    serde_json::json!({"row": e.row, "username": e.username, "message": e.message});
                println!("{line}");
            }
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Operations => {
            for (service, op) in tessera_http::IMPLEMENTED
                .iter()
                .copied()
                .chain(tessera_http::query_operations())
                .chain(tessera_http::sync_operations())
            {
                // Operations that only refuse say so after a tab (coverage lists them apart).
                match tessera_http::REFUSED_ON_PURPOSE
                    .iter()
                    .find(|(s, o, _)| *s == service && *o == op)
                {
                    Some((_, _, why)) => println!("{service}.{op}\trefused: {why}"),
                    None => println!("{service}.{op}"),
                }
            }
            Ok(())
        }
        Command::Migrate(args) => {
            let settings = args.settings()?;
            tessera_server::open_store(&settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Keys { action } => keys(action).await,
        Command::Admin { action } => admin(action).await,
        Command::Users { action } => users(action).await,
        Command::MasterKey { action } => master_key(action).await,
        Command::Breach {
            action:
                BreachAction::Import {
                    file,
                    data_dir,
                    output,
                    min_count,
                    bits,
                },
        } => {
            let bits = tessera_breach::Bits::parse(&bits)
                .ok_or_else(|| anyhow::anyhow!("--bits must be 8 or 16, not {bits:?}"))?;
            let output = output.unwrap_or_else(|| {
                data_dir
                    .unwrap_or_else(|| PathBuf::from("tessera-data"))
                    .join(tessera_server::config::BREACH_FILTER_FILE)
            });
            let started = std::time::Instant::now();
            let done = tessera_server::breach::import_file(&file, &output, min_count.max(1), bits)?;
            eprintln!(
                "{} lines, {} hashes kept ({} below --min-count), {} distinct entries: {} bytes ({:.2} bytes per entry, false-positive rate ≈ {:.4} %), written to {} in {:.1} s; restart the servers to load it",
                done.stats.lines,
                done.stats.kept,
                done.stats.below_min_count,
                done.entries,
                done.bytes,
                done.bytes as f64 / done.entries.max(1) as f64,
                done.bits.false_positive_rate() * 100.0,
                output.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Backup { server, file } => {
            tessera_server::backup(&server.settings()?, &file).await?;
            eprintln!("backed up to {}", file.display());
            Ok(())
        }
        Command::Restore { server, file } => {
            tessera_server::restore(&server.settings()?, &file).await?;
            // Open it as a server would: migrations, and the master key check.
            let app = offline_app(&server).await?;
            let pools = app.engine().list_user_pools(60, None).await?;
            eprintln!(
                "restored {}; it opens with this master key ({} user pool(s) on the first page)",
                file.display(),
                pools.pools.len()
            );
            Ok(())
        }
        Command::Outbox {
            server,
            pool,
            limit,
        } => {
            let app = offline_app(&server).await?;
            let pool = pool
                .map(|p| tessera_domain::UserPoolId::parse(&p))
                .transpose()
                .map_err(|e| anyhow::anyhow!(e.message))?;
            for e in app.engine().list_outbox(pool.as_ref(), limit).await? {
                let m = &e.message;
                println!(
                    "{}  {:<9}  {:<5}  {}  attempts={}{}",
                    m.id,
                    e.status.as_str(),
                    m.channel.as_str(),
                    m.to,
                    e.attempts,
                    e.last_error
                        .as_ref()
                        .map(|err| format!("  error: {err}"))
                        .unwrap_or_default()
                );
                if let Some(subject) = &m.subject {
                    println!("    subject: {subject}");
                }
                if !m.body.is_empty() {
                    println!("    {}", m.body.replace('\n', "\n    "));
                }
            }
            Ok(())
        }
        Command::Serve(args) => {
            let settings = args.settings()?;
            let app = Application::build(settings.clone()).await?;
            banner(&app, &settings);
            app.run_until(tessera_server::shutdown_signal()).await
        }
    }
}
