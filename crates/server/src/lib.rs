//! Tessera's composition root: validated settings in, a running application out.
//!
//! This is the only crate that names concrete stores. It also owns the secrets a deployment
//! needs before anything else works — the master key and the root credentials — generating them
//! into the data directory on first start when they aren't configured.

pub mod breach;
pub mod config;
mod geoip;
pub mod log_sink;
pub mod master_key;
mod oidc;
mod secrets;
mod sync_sink;
mod tls;

pub use config::{Config, Database, Settings, TlsFiles};
pub use secrets::RootCredentials;

use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tessera_engine::{Clock, Delivery, Engine, EngineSettings, SystemClock};
use tessera_http::{AdminAuth, AppState, Credentials};
use tessera_messaging::Messengers;
use tessera_store::Store;
use tokio::net::TcpListener;

/// Opens the configured store, applying migrations.
/// `tessera backup`: a consistent copy of a running (or stopped) deployment's SQLite store.
pub async fn backup(settings: &Settings, dest: &std::path::Path) -> Result<()> {
    match &settings.database {
        Database::Sqlite(url) => {
            let source = tessera_store_sqlite::path_of_url(url)?;
            if !source.exists() {
                anyhow::bail!("no store at {} to back up", source.display());
            }
            let store = tessera_store_sqlite::SqliteStore::open_url(url)
                .await
                .with_context(|| format!("open {url}"))?;
            store
                .backup_to(dest)
                .await
                .with_context(|| format!("back up {url} to {}", dest.display()))?;
            Ok(())
        }
        Database::Postgres(_) => anyhow::bail!(
            "PostgreSQL stores are backed up with PostgreSQL's own tools: pg_dump --format=custom \
             for a logical copy, or base backups with WAL archiving for point-in-time recovery \
             (see README, Backups)"
        ),
    }
}

/// `tessera restore`: puts a backup in place of the store `settings` name, which must not exist
/// yet (restore into a fresh data directory). The backup is checked first, and the restored
/// store is then opened as a server would open it: migrated if the backup is older, and refused
/// if the master key isn't the one it was sealed with.
pub async fn restore(settings: &Settings, src: &std::path::Path) -> Result<()> {
    let Database::Sqlite(url) = &settings.database else {
        anyhow::bail!("PostgreSQL stores are restored with pg_restore (see README, Backups)");
    };
    if settings.master_key.is_none() && !settings.data_dir.join("master.key").exists() {
        anyhow::bail!(
            "the backup's secrets are sealed with its deployment's master key: put that master.key \
             in {} or set TESSERA_MASTER_KEY before restoring",
            settings.data_dir.display()
        );
    }
    let target = tessera_store_sqlite::path_of_url(url)?;
    if target.exists() {
        anyhow::bail!(
            "{} exists: restore into a fresh data directory (or move the old store away first)",
            target.display()
        );
    }
    let version = tessera_store_sqlite::check_backup(src)
        .await
        .with_context(|| format!("check {}", src.display()))?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    // Copy beside the target, flush, then rename: a crash never leaves half a store in place.
    let partial = target.with_extension("restoring");
    std::fs::copy(src, &partial)
        .with_context(|| format!("copy {} to {}", src.display(), partial.display()))?;
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("flush {}", partial.display()))?;
    std::fs::rename(&partial, &target)
        .with_context(|| format!("move {} to {}", partial.display(), target.display()))?;
    tracing::info!(from = %src.display(), to = %target.display(), schema = version, "store restored");
    Ok(())
}

pub async fn open_store(settings: &Settings) -> Result<Arc<dyn Store>> {
    Ok(match &settings.database {
        Database::Sqlite(url) => {
            if let Some(path) = url
                .strip_prefix("sqlite://")
                .and_then(|p| std::path::Path::new(p).parent())
                && !path.as_os_str().is_empty()
            {
                std::fs::create_dir_all(path)
                    .with_context(|| format!("create {}", path.display()))?;
            }
            Arc::new(
                tessera_store_sqlite::SqliteStore::open_url(url)
                    .await
                    .with_context(|| format!("open {url}"))?,
            )
        }
        Database::Postgres(url) => Arc::new(
            tessera_store_postgres::PgStore::connect(
                url,
                &tessera_store_postgres::PgSettings {
                    max_connections: settings.database_max_connections,
                    schema: None,
                },
            )
            .await
            .context("connect to PostgreSQL")?,
        ),
    })
}

/// The messengers the settings configure.
pub fn messengers(settings: &Settings) -> Result<Messengers> {
    let mut m = Messengers::new();
    if let Some(url) = &settings.smtp_url {
        m = m.with_email(
            tessera_messaging::SmtpMessenger::new(url, &settings.email_from)
                .context("--smtp-url")?,
        );
    }
    if let Some(url) = &settings.sms_webhook {
        m = m.with_sms(
            tessera_messaging::SmsWebhook::new(url, settings.allow_private_webhooks)
                .context("--sms-webhook")?,
        );
    }
    Ok(m)
}

/// The trigger invoker the settings configure (Lambda's Invoke API).
pub fn trigger_invoker(settings: &Settings) -> Result<tessera_lambda::LambdaInvoker> {
    tessera_lambda::LambdaInvoker::new(settings.lambda.clone()).map_err(|e| {
        let hint = match e {
            tessera_lambda::ConfigError::ForbiddenAddress { .. } => {
                "; for a function host on this machine or network set lambda.allow_private = \
                 true (--lambda-allow-private, TESSERA_LAMBDA_ALLOW_PRIVATE=true)"
            }
            _ => "",
        };
        anyhow::anyhow!("lambda: {e}{hint}")
    })
}

/// How often a node adds the sign-ins it counted to the store.
const SIGN_IN_COUNTS_FLUSH: Duration = Duration::from_secs(2);

struct GatewayListener {
    listener: TcpListener,
    router: axum::Router,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    /// The main listener's TLS configuration when it serves HTTPS.
    tls: Option<(TlsFiles, axum_server::tls_rustls::RustlsConfig)>,
    /// The separate `/metrics` listener, when one is configured.
    metrics: Option<(TcpListener, axum::Router)>,
    /// The admin console's own listener, when `console_listen` is set.
    console: Option<(TcpListener, axum::Router)>,
    /// The policy gateway's listener, router and TLS, when `gateway.listen` is set.
    gateway: Option<GatewayListener>,
    engine: Engine,
    messengers: Arc<Messengers>,
    outbox_poll: Duration,
    key_rotation: Option<Duration>,
    /// The settings to re-read the master key files with, when the key lives in the data
    /// directory (see [`master_key::follow_key_files`]).
    key_files: Option<Settings>,
    /// Where Cognito Sync's stream records and push notifications go.
    sync_deliveries: Arc<sync_sink::SyncDeliveries>,
    pub root: RootCredentials,
    pub public_url: String,
    /// Where trigger functions are invoked, for the banner; `None` when nowhere.
    pub function_host: Option<String>,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Builds with a given clock (tests move time by hand).
    pub async fn build_with_clock(settings: Settings, clock: Arc<dyn Clock>) -> Result<Self> {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("create data directory {}", settings.data_dir.display()))?;
        // The directory holds the master key, credentials and the database: owner only.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&settings.data_dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("restrict {}", settings.data_dir.display()))?;
        }
        let master = secrets::master_key(&settings)?;
        let root = secrets::root_credentials(&settings)?;
        // Read before anything listens, so a bad certificate stops the start with its reason.
        let tls = match &settings.tls {
            Some(files) => Some((
                files.clone(),
                axum_server::tls_rustls::RustlsConfig::from_config(tls::server_config(files)?),
            )),
            None => None,
        };
        let store = open_store(&settings).await?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("listen on {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let public_url = settings.public_url.clone().unwrap_or_else(|| {
            format!("{}://{addr}", if tls.is_some() { "https" } else { "http" })
        });
        let messengers = Arc::new(messengers(&settings)?);
        let sync_deliveries = Arc::new(sync_sink::SyncDeliveries::new(
            settings.sync.clone(),
            settings.allow_private_webhooks,
        )?);
        let channels: Vec<tessera_domain::messages::Channel> = [
            tessera_domain::messages::Channel::Email,
            tessera_domain::messages::Channel::Sms,
        ]
        .into_iter()
        .filter(|c| tessera_engine::Messenger::supports(messengers.as_ref(), *c))
        .collect();
        if channels.is_empty() && !settings.dev {
            tracing::warn!(
                "no email or SMS channel configured (--smtp-url, --sms-webhook): operations that send codes will fail with CodeDeliveryFailureException"
            );
        }
        let triggers = trigger_invoker(&settings)?;
        let function_host = triggers.is_configured().then(|| triggers.summary());
        if let Some(host) = &function_host {
            tracing::info!(functions = %host, "trigger functions via the Lambda Invoke API");
        } else {
            tracing::info!(
                "no Lambda function host configured (--lambda-endpoint): pools with triggers fail with UnexpectedLambdaException"
            );
        }
        let engine = Engine::new(
            store,
            clock,
            master,
            Arc::new(triggers),
            EngineSettings {
                region: settings.region.clone(),
                account_id: settings.account_id.clone(),
                issuer_base: public_url.clone(),
                domain_base: settings.domain_base.clone(),
                webauthn_origins: settings.webauthn_origins.clone(),
                hash_cost: settings.hash_cost,
                hash_concurrency: std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2),
                delivery: Delivery {
                    channels,
                    hold_unconfigured: settings.dev,
                },
            },
        )?;
        engine.set_oidc_documents(Arc::new(oidc::OutboundDocuments::new(
            settings.allow_private_oidc,
        )?));
        engine
            .check_master_key()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        engine.set_federation_endpoints(settings.federation.clone());
        engine.configure_threat(breach::threat_config(
            &settings.threat,
            settings.allow_private_webhooks,
        )?);
        engine.configure_quotas(settings.quotas);
        engine.configure_recovery(settings.pitr_min_age);
        let (log_sink, log_writer) = log_sink::LogDeliveries::new(
            settings.log_delivery.clone(),
            &settings.data_dir,
            settings.allow_private_webhooks,
        )?;
        engine.configure_log_sink(Arc::new(log_sink));
        tokio::spawn(log_writer);
        let admin = if settings.dev {
            AdminAuth::AnyCredentials
        } else {
            AdminAuth::SigV4(vec![Credentials {
                access_key_id: root.access_key_id.clone(),
                secret_access_key: root.secret_access_key.clone(),
            }])
        };
        let state = Arc::new(AppState {
            engine: engine.clone(),
            admin,
            dev_outbox: settings.outbox_http,
            metrics_here: settings.metrics_listen.is_none(),
            trusted_proxies: settings.trusted_proxies.clone(),
            // The console signs in with the root credentials, even with --dev (whose API
            // accepts any).
            console: tessera_http::console::Console::new(tessera_http::console::ConsoleSettings {
                credentials: vec![Credentials {
                    access_key_id: root.access_key_id.clone(),
                    secret_access_key: root.secret_access_key.clone(),
                }],
                idle_timeout: settings.console_idle_timeout,
                absolute_timeout: settings.console_absolute_timeout,
                own_listener: settings.console_listen.is_some(),
            }),
        });
        let router = tessera_http::router(state.clone(), settings.body_limit);
        let console = match settings.console_listen {
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("listen for the console on {addr}"))?;
                tracing::info!(listen = %listener.local_addr()?, "admin console");
                Some((
                    listener,
                    tessera_http::console_router(state.clone(), settings.body_limit),
                ))
            }
            None => None,
        };
        let metrics = match settings.metrics_listen {
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("listen for metrics on {addr}"))?;
                Some((listener, tessera_http::metrics::router(state)))
            }
            None => None,
        };
        let gateway = match &settings.gateway {
            Some(g) => {
                let tls = match &g.tls {
                    Some(files) => Some(axum_server::tls_rustls::RustlsConfig::from_config(
                        tls::server_config(files)?,
                    )),
                    None => None,
                };
                let listener = TcpListener::bind(g.listen)
                    .await
                    .with_context(|| format!("listen for the gateway on {}", g.listen))?;
                let gateway = tessera_gateway::Gateway::new(
                    engine.clone(),
                    tessera_gateway::GatewaySettings {
                        s3: g.s3.clone(),
                        dynamodb: g.dynamodb.clone(),
                        s3_domain: g.s3_domain.clone(),
                        account_id: settings.account_id.clone(),
                        root_credentials: Some((
                            root.access_key_id.clone(),
                            root.secret_access_key.clone(),
                        )),
                        tls: tls.is_some(),
                    },
                )
                .map_err(anyhow::Error::msg)?;
                tracing::info!(
                    listen = %listener.local_addr()?,
                    s3 = ?g.s3.as_ref().map(|b| &b.endpoint),
                    dynamodb = ?g.dynamodb.as_ref().map(|b| &b.endpoint),
                    "policy gateway"
                );
                Some(GatewayListener {
                    listener,
                    router: tessera_gateway::router(Arc::new(gateway)),
                    tls,
                })
            }
            None => None,
        };
        Ok(Self {
            listener,
            router,
            tls,
            metrics,
            console,
            gateway,
            engine,
            messengers,
            sync_deliveries,
            outbox_poll: settings.outbox_poll,
            key_rotation: settings.key_rotation,
            key_files: settings.master_key.is_none().then(|| settings.clone()),
            root,
            public_url,
            function_host,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Where the policy gateway listens, when it does.
    pub fn gateway_addr(&self) -> Option<SocketAddr> {
        self.gateway
            .as_ref()
            .and_then(|g| g.listener.local_addr().ok())
    }

    /// Where the admin console is served when it has its own listener.
    pub fn console_addr(&self) -> Option<SocketAddr> {
        self.console
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// Where `/metrics` is served when it has its own listener.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// `https` when the main listener serves TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        // User import jobs another node (or this one, before a restart) left unfinished go on
        // from their last committed batch.
        match self.engine.resume_import_jobs().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "user import jobs resumed"),
            Err(e) => tracing::warn!(error = %e, "user import jobs could not be resumed"),
        }
        let key_upkeep = {
            let (engine, rotate_after) = (self.engine.clone(), self.key_rotation);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(300));
                loop {
                    tick.tick().await;
                    match engine.key_upkeep(rotate_after).await {
                        Ok(n) if n > 0 => tracing::info!(pools = n, "signing-key upkeep"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "signing-key upkeep failed"),
                    }
                    if let Err(e) = engine.identity_key_upkeep(rotate_after, false).await {
                        tracing::warn!(error = %e, "identity-pool key upkeep failed");
                    }
                }
            })
        };
        let key_files = self
            .key_files
            .map(|s| tokio::spawn(master_key::follow_key_files(s, self.engine.clone())));
        // Sign-ins are counted in memory and added to the store every few seconds (one commit
        // for all of them, none per sign-in); a crash loses at most that much of the chart.
        let sign_in_counts = {
            let engine = self.engine.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(SIGN_IN_COUNTS_FLUSH);
                loop {
                    tick.tick().await;
                    if let Err(e) = engine.flush_sign_in_counts().await {
                        tracing::warn!(error = %e, "sign-in counts not flushed; kept for the next try");
                    }
                }
            })
        };
        let sweeper = {
            let engine = self.engine.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(600));
                loop {
                    tick.tick().await;
                    match engine.sweep().await {
                        Ok(n) if n > 0 => tracing::debug!(removed = n, "expired state swept"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "sweep failed"),
                    }
                    match engine.prune_auth_events().await {
                        Ok(n) if n > 0 => tracing::debug!(removed = n, "old auth events pruned"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "auth event pruning failed"),
                    }
                }
            })
        };
        let courier = {
            let (engine, messengers, poll) = (
                self.engine.clone(),
                self.messengers.clone(),
                self.outbox_poll,
            );
            tokio::spawn(async move {
                let ready = engine.outbox_ready();
                loop {
                    // Drain what is due, then wait for a new message or the next poll (retries
                    // come due with time, not with a signal).
                    loop {
                        match engine.deliver_outbox(messengers.as_ref(), 32).await {
                            Ok(0) => break,
                            Ok(_) => continue,
                            Err(e) => {
                                tracing::warn!(error = %e, "outbox delivery failed");
                                break;
                            }
                        }
                    }
                    tokio::select! {
                        _ = ready.notified() => {}
                        _ = tokio::time::sleep(poll) => {}
                    }
                }
            })
        };
        // Cognito Sync's courier: stream records and push notifications, with retries.
        let sync_courier = {
            let (engine, sink, poll) = (
                self.engine.clone(),
                self.sync_deliveries.clone(),
                self.outbox_poll,
            );
            tokio::spawn(async move {
                loop {
                    loop {
                        match engine.deliver_sync(sink.as_ref(), 32).await {
                            Ok(0) => break,
                            Ok(_) => continue,
                            Err(e) => {
                                tracing::warn!(error = %e, "sync delivery failed");
                                break;
                            }
                        }
                    }
                    tokio::time::sleep(poll).await;
                }
            })
        };
        // Scrapes drain histograms too; this bounds their memory when nobody scrapes.
        let upkeep = {
            let handle = tessera_http::metrics::install();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(10));
                loop {
                    tick.tick().await;
                    handle.run_upkeep();
                }
            })
        };
        let metrics = self.metrics.map(|(listener, router)| {
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "metrics listener failed");
                }
            })
        });
        let console = self.console.map(|(listener, router)| {
            tokio::spawn(async move {
                let service = router.into_make_service_with_connect_info::<SocketAddr>();
                if let Err(e) = axum::serve(listener, service).await {
                    tracing::error!(error = %e, "console listener failed");
                }
            })
        });
        let gateway = self.gateway.map(|g| {
            tokio::spawn(async move {
                let service = g.router.into_make_service_with_connect_info::<SocketAddr>();
                let served = match g.tls {
                    // Small request/response pairs must not wait for delayed ACKs (Nagle).
                    None => {
                        use axum::serve::ListenerExt;
                        let listener = g.listener.tap_io(|tcp| {
                            let _ = tcp.set_nodelay(true);
                        });
                        axum::serve(listener, service)
                            .await
                            .map_err(anyhow::Error::from)
                    }
                    Some(config) => match g.listener.into_std() {
                        Ok(std) => match axum_server::from_tcp_rustls(std, config) {
                            Ok(server) => server.serve(service).await.map_err(anyhow::Error::from),
                            Err(e) => Err(anyhow::Error::from(e)),
                        },
                        Err(e) => Err(anyhow::Error::from(e)),
                    },
                };
                if let Err(e) = served {
                    tracing::error!(error = %e, "gateway listener failed");
                }
            })
        });
        // Server-sent event feeds would hold a graceful shutdown open: end them first.
        let shutdown = async move {
            shutdown.await;
            tessera_http::stop_event_feeds();
        };
        let result = match self.tls {
            None => axum::serve(
                {
                    // As on the gateway: a response written in two parts mustn't wait for a
                    // delayed ACK.
                    use axum::serve::ListenerExt;
                    self.listener.tap_io(|tcp| {
                        let _ = tcp.set_nodelay(true);
                    })
                },
                self.router
                    .into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await
            .context("server failed"),
            Some((files, config)) => {
                let reloader = tokio::spawn(tls::reload_on_hangup(files, config.clone()));
                let handle = axum_server::Handle::new();
                let stopper = handle.clone();
                tokio::spawn(async move {
                    shutdown.await;
                    // Like axum::serve's graceful shutdown, bounded so a stuck client can't
                    // hold the process.
                    stopper.graceful_shutdown(Some(Duration::from_secs(30)));
                });
                let listener = self.listener.into_std().context("TLS listener")?;
                let served = axum_server::from_tcp_rustls(listener, config)
                    .context("TLS listener")?
                    .handle(handle)
                    .serve(
                        self.router
                            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
                    )
                    .await
                    .context("server failed");
                reloader.abort();
                served
            }
        };
        sign_in_counts.abort();
        if let Err(e) = self.engine.flush_sign_in_counts().await {
            tracing::warn!(error = %e, "sign-in counts lost at shutdown");
        }
        sweeper.abort();
        key_upkeep.abort();
        if let Some(f) = key_files {
            f.abort();
        }
        courier.abort();
        sync_courier.abort();
        upkeep.abort();
        if let Some(m) = metrics {
            m.abort();
        }
        if let Some(c) = console {
            c.abort();
        }
        if let Some(g) = gateway {
            g.abort();
        }
        result
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
