//! The `tessera` binary.

use anyhow::Result;
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
    /// Print the operations this build implements, one `service.Operation` per line.
    Operations,
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
    /// Directory for the embedded store, generated keys and credentials [default: ./tessera-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB [default: sqlite in the data directory].
    #[arg(long)]
    database_url: Option<String>,
    /// AWS region to present (pool ids start with it) [default: us-east-1].
    #[arg(long)]
    region: Option<String>,
    /// Public base URL, the issuer of tokens [default: http://LISTEN].
    #[arg(long)]
    public_url: Option<String>,
    /// Local development: accept any admin credentials and hash passwords cheaply. Never in production.
    #[arg(long)]
    dev: bool,
    /// Password hashing cost: production or insecure-fast [default: production; insecure-fast with --dev].
    #[arg(long)]
    hash_cost: Option<String>,
    /// Log format: text or json [default: text].
    #[arg(long)]
    log_format: Option<String>,
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
            "data_dir",
            self.data_dir
                .as_ref()
                .map(|d| d.display().to_string().into()),
        );
        set("database_url", self.database_url.clone().map(Into::into));
        set("region", self.region.clone().map(Into::into));
        set("public_url", self.public_url.clone().map(Into::into));
        set("dev", self.dev.then_some(true.into()));
        set("hash_cost", self.hash_cost.clone().map(Into::into));
        set("log_format", self.log_format.clone().map(Into::into));
        let config = Config::load(self.config.as_deref(), &serde_json::Value::Object(o))?;
        init_logging(&config.log_format);
        Settings::from_config(config)
    }
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
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
    let endpoint = format!("http://{}", app.local_addr());
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
    println!("  store:     {store}");
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

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Operations => {
            for (service, op) in tessera_http::IMPLEMENTED {
                println!("{service}.{op}");
            }
            Ok(())
        }
        Command::Migrate(args) => {
            let settings = args.settings()?;
            tessera_server::open_store(&settings).await?;
            println!("migrations applied");
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
