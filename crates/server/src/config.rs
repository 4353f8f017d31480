//! Configuration: defaults, then a TOML file, then `TESSERA_*` environment variables, then
//! command-line flags, each overriding the one before. Validated into [`Settings`] once.

use anyhow::{Context, Result, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tessera_crypto::password::HashCost;

/// The account id ARNs carry unless `account_id` says otherwise (LocalStack and moto use the
/// same all-zero convention for "no real account").
pub const DEFAULT_ACCOUNT_ID: &str = "000000000000";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Serve `/metrics` on this address instead of on `listen` (e.g. a port only Prometheus
    /// reaches).
    pub metrics_listen: Option<String>,
    /// Where the embedded store, generated keys and credentials live.
    pub data_dir: PathBuf,
    /// `sqlite://path` or `postgres://…`; defaults to `sqlite://{data_dir}/tessera.db`.
    pub database_url: Option<String>,
    pub region: String,
    /// The 12-digit AWS account id this deployment presents in every ARN. Text, even when a
    /// TOML file writes it as a number (the environment's value is read as text: figment would
    /// read `000000000000` as the number 0).
    #[serde(deserialize_with = "text_or_number")]
    pub account_id: String,
    /// Base URL of token issuers and the well-known endpoints; defaults to `http://{listen}`
    /// (`https://{listen}` with TLS).
    pub public_url: Option<String>,
    /// Hosted-UI domains answer at `{prefix}.{domain_base}` too (wildcard DNS, TLS in front).
    pub domain_base: Option<String>,
    /// Serve HTTPS on `listen` with this PEM certificate chain (and `tls_key`; both or neither).
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, PKCS#1 or SEC1) of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Local-development mode: any credentials are accepted for admin operations and
    /// passwords are hashed with a cheap cost. Never for real users.
    pub dev: bool,
    /// `production` (argon2id m=19 MiB, t=2) or `insecure-fast` (tests and --dev).
    pub hash_cost: Option<HashCost>,
    /// Base64 of the 32-byte master key. Without it, one is generated in the data directory.
    pub master_key: Option<String>,
    /// Base64 master keys this one replaced (a list, or comma-separated): they open what they
    /// sealed but seal nothing, while `tessera master-key rotate` re-seals it (see README).
    #[serde(deserialize_with = "comma_list")]
    pub previous_master_keys: Vec<String>,
    pub root_access_key_id: Option<String>,
    pub root_secret_access_key: Option<String>,
    /// Maximum request body in bytes.
    pub body_limit: usize,
    /// PostgreSQL connections per node.
    pub database_max_connections: u32,
    /// `text` or `json` logs.
    pub log_format: String,
    /// Also append the audit trail (JSON lines, target `tessera::audit`) to this file.
    pub audit_log: Option<PathBuf>,
    /// Email delivery: `smtp://[user:pass@]host[:port]`, `smtps://…` (implicit TLS), or
    /// `smtp://…?tls=required` (STARTTLS).
    pub smtp_url: Option<String>,
    /// Default sender when a pool sets no EmailConfiguration.From.
    pub email_from: String,
    /// SMS delivery: an HTTPS endpoint receiving `{"destination","message","id","pool_id"}`.
    pub sms_webhook: Option<String>,
    /// Let webhooks reach private, loopback and link-local addresses (refused by default).
    pub allow_private_webhooks: bool,
    /// Where pool log destinations (ARNs) go: `ARN=file:///path.jsonl` or `ARN=https://…`
    /// (a list, or comma-separated).
    #[serde(deserialize_with = "comma_list")]
    pub log_delivery_destinations: Vec<String>,
    /// Cognito's request-rate quotas per pool and API category (on unless `--dev`).
    pub quotas: Option<bool>,
    /// Nodes sharing the quotas: each enforces ⌈rate / quota_nodes⌉.
    pub quota_nodes: u32,
    /// Let OIDC discovery and JWKS fetches (external identity providers of IAM OIDC
    /// providers) reach private, loopback and link-local addresses and use plain HTTP (both
    /// refused by default).
    pub allow_private_oidc: bool,
    /// With `--dev`: list the outbox at `/_tessera/outbox`.
    pub outbox_http: bool,
    /// How often the delivery worker looks for due messages besides being woken (ms).
    pub outbox_poll_ms: u64,
    /// Rotate each pool's signing keys once they have signed for this many days (0: only by
    /// `tessera keys rotate`). The next key is published well before it signs.
    pub key_rotation_days: u32,
    /// Serve the admin console on this address only (e.g. `127.0.0.1:9230`, a port only
    /// operators reach); without it, `/console` is served on `listen`.
    pub console_listen: Option<String>,
    /// The admin console's session ends after this many seconds without a request.
    pub console_idle_timeout_secs: u64,
    /// And this many seconds after signing in, however busy.
    pub console_absolute_timeout_secs: u64,
    /// A point-in-time recovery's RestoreTimestamp must be at least this many seconds in the
    /// past (Cognito: 15 minutes).
    pub pitr_min_age_seconds: u64,
    /// Where the functions in pools' LambdaConfig are invoked (the `[lambda]` table).
    pub lambda: LambdaConfig,
    /// The SigV4 policy gateway in front of S3 and DynamoDB (the `[gateway]` table).
    pub gateway: GatewayConfig,
    /// Cognito Sync's outbound deliveries (the `[sync]` table).
    pub sync: SyncConfig,
    /// `[federation.<ProviderType>]`: endpoints replacing a social provider type's built-in
    /// ones (Google, Facebook, LoginWithAmazon, SignInWithApple).
    pub federation: BTreeMap<String, FederationEndpoints>,
    /// Proxies (CIDR blocks) whose X-Forwarded-For names the client address that threat
    /// protection sees: a list, or comma-separated text (the environment's form).
    #[serde(deserialize_with = "comma_list")]
    pub trusted_proxies: Vec<String>,
    /// Threat protection (the `[threat]` table).
    pub threat: ThreatConfig,
    /// Origins passkey ceremonies accept besides `https://{RelyingPartyId}` and the pools'
    /// hosted-UI domains (e.g. `http://localhost:3000` in development): a list, or
    /// comma-separated text.
    #[serde(deserialize_with = "comma_list")]
    pub webauthn_origins: Vec<String>,
}

/// The `[threat]` table: the breach corpus and auth-event retention.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThreatConfig {
    /// The k-anonymity range API (`https://api.pwnedpasswords.com/range/`): the 5-hex prefix
    /// is appended. Off without one.
    pub hibp_range_url: Option<String>,
    /// The longest a range lookup may take (ms); past it the password counts as not found.
    pub hibp_timeout_ms: u64,
    /// The filter `tessera breach import` built; defaults to `{data_dir}/breach-filter.bin`
    /// when that file exists.
    pub breach_filter: Option<PathBuf>,
    /// Auth events older than this many days are pruned.
    pub event_retention_days: u32,
    /// A MaxMind DB file (GeoLite2-City or another City/Country database): auth events get a
    /// city and country, and an unfamiliar country raises a sign-in's risk.
    pub geoip_database: Option<PathBuf>,
}

impl Default for ThreatConfig {
    fn default() -> Self {
        Self {
            hibp_range_url: None,
            hibp_timeout_ms: 1500,
            breach_filter: None,
            event_retention_days: tessera_domain::threat::DEFAULT_EVENT_RETENTION_DAYS,
            geoip_database: None,
        }
    }
}

/// The keys of the `[threat]` table that may come from the environment, as
/// `TESSERA_THREAT_{KEY}`.
pub const THREAT_FIELDS: &[&str] = &[
    "hibp_range_url",
    "hibp_timeout_ms",
    "breach_filter",
    "event_retention_days",
    "geoip_database",
];

/// The name of the breach filter in the data directory.
pub const BREACH_FILTER_FILE: &str = "breach-filter.bin";

/// A list of strings, or one string of comma-separated items.
fn comma_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        List(Vec<String>),
    }
    let items = match Either::deserialize(d)? {
        Either::Text(s) => s.split(',').map(str::to_string).collect(),
        Either::List(l) => l,
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect())
}

/// `[federation.Google]` etc.: each URL set replaces the provider type's built-in one.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FederationEndpoints {
    pub issuer: Option<String>,
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
    pub jwks_uri: Option<String>,
}

/// The `[gateway]` table: the policy gateway's listener and its backends.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Serve the gateway on this address (it is off without one).
    pub listen: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub s3: GatewayBackendConfig,
    pub dynamodb: GatewayBackendConfig,
}

/// `[gateway.s3]` / `[gateway.dynamodb]`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayBackendConfig {
    pub endpoint: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// S3 only: virtual-host style requests arrive as `{bucket}.{domain}`.
    pub domain: Option<String>,
}

/// `TESSERA_GATEWAY_{KEY}` → `gateway.{path}`.
pub const GATEWAY_FIELDS: &[(&str, &str)] = &[
    ("listen", "listen"),
    ("tls_cert", "tls_cert"),
    ("tls_key", "tls_key"),
    ("s3_endpoint", "s3.endpoint"),
    ("s3_access_key_id", "s3.access_key_id"),
    ("s3_secret_access_key", "s3.secret_access_key"),
    ("s3_domain", "s3.domain"),
    ("dynamodb_endpoint", "dynamodb.endpoint"),
    ("dynamodb_access_key_id", "dynamodb.access_key_id"),
    ("dynamodb_secret_access_key", "dynamodb.secret_access_key"),
];

/// The `[sync]` table: where Cognito Sync sends push notifications and stream records.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    /// Push sync: a JSON POST per device notification (relay it to APNs, FCM, ADM).
    pub push_webhook: Option<String>,
    /// Cognito Streams: a Kinesis-compatible endpoint (PutRecord, JSON 1.1).
    pub kinesis_endpoint: Option<String>,
    /// Signing region for the Kinesis endpoint; defaults to `region`.
    pub kinesis_region: Option<String>,
    pub kinesis_access_key_id: Option<String>,
    pub kinesis_secret_access_key: Option<String>,
}

/// The keys of the `[sync]` table that may come from the environment, as
/// `TESSERA_SYNC_{KEY}`.
pub const SYNC_FIELDS: &[&str] = &[
    "push_webhook",
    "kinesis_endpoint",
    "kinesis_region",
    "kinesis_access_key_id",
    "kinesis_secret_access_key",
];

/// The `[lambda]` table: the Lambda Invoke API host(s) that serve trigger functions.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LambdaConfig {
    /// Default Invoke API endpoint (`http://127.0.0.1:3001` for `sam local start-lambda`).
    /// Without one, functions named by ARN go to AWS Lambda in the ARN's region when
    /// credentials are set.
    pub endpoint: Option<String>,
    /// Per attempt, in milliseconds.
    pub timeout_ms: u64,
    /// Attempts in total on timeouts, connection failures, 429 and 5xx.
    pub attempts: u32,
    /// Signing region for functions named without an ARN; defaults to `region`.
    pub region: Option<String>,
    /// SigV4-sign invocations with these (both or neither).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// Let invocations reach private, loopback and link-local addresses (refused by default).
    pub allow_private: bool,
    /// `[lambda.functions."<ARN or name>"]`: per-function endpoint and/or FunctionName.
    pub functions: BTreeMap<String, LambdaFunctionConfig>,
}

impl Default for LambdaConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            timeout_ms: 5000,
            attempts: 3,
            region: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            allow_private: false,
            functions: BTreeMap::new(),
        }
    }
}

/// `[lambda.functions."<ARN or name>"]`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LambdaFunctionConfig {
    /// This function's Invoke API endpoint; the default endpoint when absent.
    pub endpoint: Option<String>,
    /// The FunctionName to invoke instead of the configured ARN or name (`function` for the
    /// runtime interface emulator, the logical id for `sam local`).
    pub name: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9229".into(),
            metrics_listen: None,
            data_dir: PathBuf::from("tessera-data"),
            database_url: None,
            region: "us-east-1".into(),
            account_id: DEFAULT_ACCOUNT_ID.into(),
            public_url: None,
            domain_base: None,
            tls_cert: None,
            tls_key: None,
            dev: false,
            hash_cost: None,
            master_key: None,
            previous_master_keys: Vec::new(),
            root_access_key_id: None,
            root_secret_access_key: None,
            body_limit: tessera_http::DEFAULT_BODY_LIMIT,
            database_max_connections: 16,
            log_format: "text".into(),
            audit_log: None,
            smtp_url: None,
            email_from: "Tessera <no-reply@localhost>".into(),
            sms_webhook: None,
            allow_private_webhooks: false,
            log_delivery_destinations: Vec::new(),
            quotas: None,
            quota_nodes: 1,
            allow_private_oidc: false,
            outbox_http: false,
            outbox_poll_ms: 1000,
            key_rotation_days: 90,
            console_listen: None,
            console_idle_timeout_secs: 30 * 60,
            console_absolute_timeout_secs: 8 * 3600,
            pitr_min_age_seconds: 900,
            lambda: LambdaConfig::default(),
            gateway: GatewayConfig::default(),
            sync: SyncConfig::default(),
            federation: BTreeMap::new(),
            trusted_proxies: Vec::new(),
            threat: ThreatConfig::default(),
            webauthn_origins: Vec::new(),
        }
    }
}

/// Every configuration key, as it appears in files and (upper-cased, `TESSERA_`-prefixed) in
/// the environment.
pub const FIELDS: &[&str] = &[
    "listen",
    "metrics_listen",
    "data_dir",
    "database_url",
    "region",
    "account_id",
    "public_url",
    "domain_base",
    "tls_cert",
    "tls_key",
    "dev",
    "hash_cost",
    "master_key",
    "previous_master_keys",
    "root_access_key_id",
    "root_secret_access_key",
    "body_limit",
    "database_max_connections",
    "log_format",
    "audit_log",
    "smtp_url",
    "email_from",
    "sms_webhook",
    "allow_private_webhooks",
    "log_delivery_destinations",
    "quotas",
    "quota_nodes",
    "allow_private_oidc",
    "outbox_http",
    "outbox_poll_ms",
    "key_rotation_days",
    "console_listen",
    "console_idle_timeout_secs",
    "console_absolute_timeout_secs",
    "pitr_min_age_seconds",
    "trusted_proxies",
    "webauthn_origins",
];

/// A string, or a number written out (a TOML `account_id = 123456789012`).
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Number(u64),
    }
    Ok(match Either::deserialize(d)? {
        Either::Text(s) => s,
        Either::Number(n) => n.to_string(),
    })
}

/// The keys of the `[lambda]` table that may come from the environment, as
/// `TESSERA_LAMBDA_{KEY}` (per-function routes only come from the file).
pub const LAMBDA_FIELDS: &[&str] = &[
    "endpoint",
    "timeout_ms",
    "attempts",
    "region",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "allow_private",
];

impl Config {
    /// Layers the sources. `overrides` holds only the flags given on the command line.
    pub fn load(file: Option<&Path>, overrides: &serde_json::Value) -> Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                bail!("config file {} does not exist", file.display());
            }
            figment = figment.merge(Toml::file(file));
        }
        if let Ok(account) = std::env::var("TESSERA_ACCOUNT_ID") {
            figment = figment.merge(Serialized::default("account_id", account));
        }
        figment = figment
            // Only our own keys: other TESSERA_* variables (test settings, the config path)
            // must not trip the unknown-field check meant for typos in config files.
            .merge(
                Env::prefixed("TESSERA_")
                    .filter(|k| k != "account_id" && FIELDS.iter().any(|f| k == *f)),
            )
            .merge(
                Env::prefixed("TESSERA_LAMBDA_")
                    .filter(|k| LAMBDA_FIELDS.iter().any(|f| k == *f))
                    .map(|k| format!("lambda.{k}").into()),
            )
            .merge(Env::prefixed("TESSERA_GATEWAY_").filter_map(|k| {
                GATEWAY_FIELDS
                    .iter()
                    .find(|(env, _)| k == *env)
                    .map(|(_, path)| format!("gateway.{path}").into())
            }))
            .merge(
                Env::prefixed("TESSERA_THREAT_")
                    .filter(|k| THREAT_FIELDS.iter().any(|f| k == *f))
                    .map(|k| format!("threat.{k}").into()),
            )
            .merge(
                Env::prefixed("TESSERA_SYNC_")
                    .filter(|k| SYNC_FIELDS.iter().any(|f| k == *f))
                    .map(|k| format!("sync.{k}").into()),
            )
            .merge(Serialized::globals(overrides));
        figment.extract().context("invalid configuration")
    }
}

/// Where the store is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    Sqlite(String),
    Postgres(String),
}

/// The PEM files of the main listener's TLS certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A validated configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    /// A separate listener for `/metrics`; without one it is served on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    pub data_dir: PathBuf,
    pub database: Database,
    pub region: String,
    /// 12 digits; in every ARN (identity pools, assumed roles, the root principal).
    pub account_id: String,
    pub public_url: Option<String>,
    pub domain_base: Option<String>,
    /// HTTPS on the main listener: the certificate chain and key files.
    pub tls: Option<TlsFiles>,
    pub dev: bool,
    pub hash_cost: HashCost,
    pub master_key: Option<String>,
    /// Keys the master key replaced: they open, never seal.
    pub previous_master_keys: Vec<String>,
    pub root_credentials: Option<(String, String)>,
    pub body_limit: usize,
    pub database_max_connections: u32,
    pub smtp_url: Option<String>,
    pub email_from: String,
    pub sms_webhook: Option<String>,
    pub allow_private_webhooks: bool,
    pub allow_private_oidc: bool,
    pub quotas: tessera_engine::quotas::QuotaSettings,
    pub log_delivery: std::collections::HashMap<String, crate::log_sink::Target>,
    pub outbox_http: bool,
    pub outbox_poll: std::time::Duration,
    /// Signing keys older than this are rotated; `None`: never on a schedule.
    pub key_rotation: Option<std::time::Duration>,
    /// A separate listener for the admin console; without one it is served on `listen`.
    pub console_listen: Option<SocketAddr>,
    /// The admin console's idle and absolute session timeouts.
    pub console_idle_timeout: Duration,
    pub console_absolute_timeout: Duration,
    /// How far in the past a point-in-time recovery point must be.
    pub pitr_min_age: Duration,
    /// Where and how trigger functions are invoked.
    pub lambda: tessera_lambda::InvokerSettings,
    /// The policy gateway, when `gateway.listen` is set.
    pub sync: SyncSettings,
    pub gateway: Option<GatewaySetup>,
    /// Social provider endpoint overrides, by provider type.
    pub federation: BTreeMap<
        tessera_domain::identity_providers::ProviderType,
        tessera_domain::identity_providers::SocialEndpoints,
    >,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Extra origins passkey ceremonies accept (absolute URLs, no path).
    pub webauthn_origins: Vec<String>,
    pub threat: ThreatSettings,
}

/// Threat protection, validated.
#[derive(Clone, Debug)]
pub struct ThreatSettings {
    pub hibp_range_url: Option<String>,
    pub hibp_timeout: Duration,
    /// The breach filter to load, if one is configured or present in the data directory.
    pub breach_filter: Option<PathBuf>,
    /// Whether `breach_filter` was named explicitly (then a missing file is an error).
    pub breach_filter_required: bool,
    pub event_retention: Duration,
    pub geoip_database: Option<PathBuf>,
}

fn threat_settings(c: ThreatConfig, data_dir: &Path) -> Result<ThreatSettings> {
    let hibp_range_url = c.hibp_range_url.filter(|u| !u.is_empty());
    if let Some(u) = &hibp_range_url
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        bail!("threat.hibp_range_url must be an http:// or https:// URL, not {u:?}");
    }
    if c.event_retention_days == 0 {
        bail!("threat.event_retention_days must be at least 1");
    }
    let named = c.breach_filter.filter(|p| !p.as_os_str().is_empty());
    let breach_filter_required = named.is_some();
    let breach_filter = named.or_else(|| {
        let p = data_dir.join(BREACH_FILTER_FILE);
        p.exists().then_some(p)
    });
    Ok(ThreatSettings {
        hibp_range_url,
        hibp_timeout: Duration::from_millis(c.hibp_timeout_ms.clamp(50, 30_000)),
        breach_filter,
        breach_filter_required,
        event_retention: Duration::from_secs(86_400 * u64::from(c.event_retention_days)),
        geoip_database: c.geoip_database.filter(|p| !p.as_os_str().is_empty()),
    })
}

fn webauthn_origins(list: &[String]) -> Result<Vec<String>> {
    list.iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            let url = url::Url::parse(s)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .with_context(|| format!("webauthn_origins: {s:?} is not an http(s) origin"))?;
            Ok(url.origin().ascii_serialization())
        })
        .collect()
}

fn trusted_proxies(list: &[String]) -> Result<Vec<ipnet::IpNet>> {
    list.iter()
        .map(|s| {
            tessera_domain::threat::parse_cidr(s)
                .with_context(|| format!("trusted_proxies: {s:?} is not an address or CIDR block"))
        })
        .collect()
}

/// A validated `[gateway]` table.
#[derive(Clone, Debug)]
pub struct GatewaySetup {
    pub listen: SocketAddr,
    pub tls: Option<TlsFiles>,
    pub s3: Option<tessera_gateway::Backend>,
    pub dynamodb: Option<tessera_gateway::Backend>,
    pub s3_domain: Option<String>,
}

fn gateway_backend(
    name: &str,
    c: GatewayBackendConfig,
) -> Result<Option<tessera_gateway::Backend>> {
    let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
    match (
        non_empty(c.endpoint),
        non_empty(c.access_key_id),
        non_empty(c.secret_access_key),
    ) {
        (None, None, None) => Ok(None),
        (Some(endpoint), Some(access_key_id), Some(secret_access_key)) => {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                bail!(
                    "gateway.{name}.endpoint must be an http:// or https:// URL, not {endpoint:?}"
                );
            }
            Ok(Some(tessera_gateway::Backend {
                endpoint: endpoint.trim_end_matches('/').to_string(),
                access_key_id,
                secret_access_key,
            }))
        }
        _ => bail!(
            "set gateway.{name}.endpoint, gateway.{name}.access_key_id and gateway.{name}.secret_access_key together"
        ),
    }
}

fn gateway_settings(c: GatewayConfig) -> Result<Option<GatewaySetup>> {
    let Some(listen) = c.listen.filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    let listen: SocketAddr = listen
        .parse()
        .with_context(|| format!("gateway.listen must be ADDR:PORT, not {listen:?}"))?;
    let tls = match (
        c.tls_cert.filter(|p| !p.as_os_str().is_empty()),
        c.tls_key.filter(|p| !p.as_os_str().is_empty()),
    ) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        _ => bail!("set both gateway.tls_cert and gateway.tls_key, or neither"),
    };
    let s3_domain = domain_base(c.s3.domain.clone()).map_err(|_| {
        anyhow::anyhow!(
            "gateway.s3.domain must be a DNS name such as s3.example.com, not {:?}",
            c.s3.domain.clone().unwrap_or_default()
        )
    })?;
    let s3 = gateway_backend("s3", c.s3)?;
    let dynamodb = gateway_backend("dynamodb", c.dynamodb)?;
    if s3.is_none() && dynamodb.is_none() {
        bail!("gateway.listen is set but neither gateway.s3 nor gateway.dynamodb has a backend");
    }
    Ok(Some(GatewaySetup {
        listen,
        tls,
        s3,
        dynamodb,
        s3_domain,
    }))
}

/// A DNS name the domains live under: lower-case labels, no scheme, port or path.
fn domain_base(given: Option<String>) -> Result<Option<String>> {
    let Some(base) = given.filter(|b| !b.is_empty()) else {
        return Ok(None);
    };
    let base = base.trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !base.contains('.') || !base.split('.').all(label_ok) {
        bail!("--domain-base must be a DNS name such as auth.example.com, not {base:?}");
    }
    Ok(Some(base))
}

impl Settings {
    pub fn from_config(c: Config) -> Result<Self> {
        let listen: SocketAddr = c
            .listen
            .parse()
            .with_context(|| format!("--listen must be ADDR:PORT, not {:?}", c.listen))?;
        let metrics_listen = c
            .metrics_listen
            .filter(|a| !a.is_empty())
            .map(|a| {
                a.parse::<SocketAddr>()
                    .with_context(|| format!("--metrics-listen must be ADDR:PORT, not {a:?}"))
            })
            .transpose()?;
        let console_listen = c
            .console_listen
            .filter(|a| !a.is_empty())
            .map(|a| {
                a.parse::<SocketAddr>()
                    .with_context(|| format!("console_listen must be ADDR:PORT, not {a:?}"))
            })
            .transpose()?;
        let database = match c.database_url {
            None => Database::Sqlite(format!(
                "sqlite://{}",
                c.data_dir.join("tessera.db").display()
            )),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Database::Postgres(url)
            }
            Some(url) if url.starts_with("sqlite:") => Database::Sqlite(url),
            Some(url) => {
                bail!("--database-url must start with sqlite:// or postgres://, not {url}")
            }
        };
        if c.region.is_empty()
            || !c
                .region
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
        {
            bail!("--region must look like an AWS region (e.g. us-east-1)");
        }
        if c.account_id.len() != 12 || !c.account_id.bytes().all(|b| b.is_ascii_digit()) {
            bail!(
                "--account-id must be 12 digits (an AWS account id), not {:?}",
                c.account_id
            );
        }
        let root_credentials = match (c.root_access_key_id, c.root_secret_access_key) {
            (Some(id), Some(secret)) => Some((id, secret)),
            (None, None) => None,
            _ => bail!(
                "set both TESSERA_ROOT_ACCESS_KEY_ID and TESSERA_ROOT_SECRET_ACCESS_KEY, or neither"
            ),
        };
        let tls = match (
            c.tls_cert.filter(|p| !p.as_os_str().is_empty()),
            c.tls_key.filter(|p| !p.as_os_str().is_empty()),
        ) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => bail!(
                "set both --tls-cert and --tls-key (TESSERA_TLS_CERT, TESSERA_TLS_KEY), or neither"
            ),
        };
        let lambda = lambda_settings(c.lambda, &c.region)?;
        let gateway = gateway_settings(c.gateway)?;
        let sync = sync_settings(c.sync, &c.region)?;
        let federation = federation_settings(c.federation)?;
        let threat = threat_settings(c.threat, &c.data_dir)?;
        let trusted_proxies = trusted_proxies(&c.trusted_proxies)?;
        if c.console_idle_timeout_secs == 0 || c.console_absolute_timeout_secs == 0 {
            bail!("console_idle_timeout_secs and console_absolute_timeout_secs must be at least 1");
        }
        let hash_cost = c.hash_cost.unwrap_or(if c.dev {
            HashCost::InsecureFast
        } else {
            HashCost::Production
        });
        Ok(Self {
            listen,
            metrics_listen,
            data_dir: c.data_dir,
            database,
            region: c.region,
            account_id: c.account_id,
            public_url: c.public_url.map(|u| u.trim_end_matches('/').to_string()),
            domain_base: domain_base(c.domain_base)?,
            tls,
            dev: c.dev,
            hash_cost,
            master_key: c.master_key,
            previous_master_keys: c.previous_master_keys,
            root_credentials,
            body_limit: c.body_limit,
            database_max_connections: c.database_max_connections,
            smtp_url: c.smtp_url.filter(|u| !u.is_empty()),
            email_from: c.email_from,
            sms_webhook: c.sms_webhook.filter(|u| !u.is_empty()),
            allow_private_webhooks: c.allow_private_webhooks,
            allow_private_oidc: c.allow_private_oidc,
            quotas: tessera_engine::quotas::QuotaSettings {
                enabled: c.quotas.unwrap_or(!c.dev),
                nodes: if c.quota_nodes == 0 {
                    bail!("quota_nodes must be at least 1");
                } else {
                    c.quota_nodes
                },
            },
            log_delivery: crate::log_sink::destinations(&c.log_delivery_destinations)?,
            outbox_http: c.outbox_http && c.dev,
            outbox_poll: std::time::Duration::from_millis(c.outbox_poll_ms.max(10)),
            key_rotation: (c.key_rotation_days > 0)
                .then(|| std::time::Duration::from_secs(u64::from(c.key_rotation_days) * 86_400)),
            console_listen,
            console_idle_timeout: Duration::from_secs(c.console_idle_timeout_secs),
            console_absolute_timeout: Duration::from_secs(c.console_absolute_timeout_secs),
            pitr_min_age: Duration::from_secs(c.pitr_min_age_seconds),
            lambda,
            gateway,
            sync,
            federation,
            trusted_proxies,
            webauthn_origins: webauthn_origins(&c.webauthn_origins)?,
            threat,
        })
    }
}

/// Cognito Sync's outbound deliveries, validated.
#[derive(Clone, Debug, Default)]
pub struct SyncSettings {
    pub push_webhook: Option<String>,
    pub kinesis_endpoint: Option<String>,
    pub kinesis_region: String,
    pub kinesis_credentials: Option<tessera_lambda::AwsCredentials>,
}

fn sync_settings(c: SyncConfig, region: &str) -> Result<SyncSettings> {
    let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
    let kinesis_credentials = match (
        non_empty(c.kinesis_access_key_id),
        non_empty(c.kinesis_secret_access_key),
    ) {
        (Some(access_key_id), Some(secret_access_key)) => Some(tessera_lambda::AwsCredentials {
            access_key_id,
            secret_access_key,
            session_token: None,
        }),
        (None, None) => None,
        _ => bail!(
            "set both sync.kinesis_access_key_id and sync.kinesis_secret_access_key, or neither"
        ),
    };
    Ok(SyncSettings {
        push_webhook: non_empty(c.push_webhook),
        kinesis_endpoint: non_empty(c.kinesis_endpoint),
        kinesis_region: non_empty(c.kinesis_region).unwrap_or_else(|| region.to_string()),
        kinesis_credentials,
    })
}

/// The `[federation.<Type>]` tables: social types only, absolute http(s) URLs.
fn federation_settings(
    c: BTreeMap<String, FederationEndpoints>,
) -> Result<
    BTreeMap<
        tessera_domain::identity_providers::ProviderType,
        tessera_domain::identity_providers::SocialEndpoints,
    >,
> {
    use tessera_domain::identity_providers::{ProviderType, SocialEndpoints};
    let mut out = BTreeMap::new();
    for (name, e) in c {
        let Some(t) = ProviderType::parse(&name).filter(|t| t.is_social()) else {
            bail!(
                "[federation.{name}]: only Google, Facebook, LoginWithAmazon and SignInWithApple have built-in endpoints to override"
            );
        };
        let url = |key: &str, v: Option<String>| -> Result<Option<String>> {
            let Some(v) = v.filter(|v| !v.is_empty()) else {
                return Ok(None);
            };
            match reqwest::Url::parse(&v) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(Some(v)),
                _ => bail!("federation.{name}.{key} must be an absolute http(s) URL, not {v:?}"),
            }
        };
        out.insert(
            t,
            SocialEndpoints {
                issuer: url("issuer", e.issuer)?,
                authorize_url: url("authorize_url", e.authorize_url)?,
                token_url: url("token_url", e.token_url)?,
                userinfo_url: url("userinfo_url", e.userinfo_url)?,
                jwks_uri: url("jwks_uri", e.jwks_uri)?,
            },
        );
    }
    Ok(out)
}

fn lambda_settings(c: LambdaConfig, region: &str) -> Result<tessera_lambda::InvokerSettings> {
    let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
    if c.timeout_ms == 0 {
        bail!("lambda.timeout_ms must be more than 0");
    }
    if !(1..=10).contains(&c.attempts) {
        bail!("lambda.attempts must be between 1 and 10");
    }
    let credentials = match (
        non_empty(c.access_key_id),
        non_empty(c.secret_access_key),
        non_empty(c.session_token),
    ) {
        (Some(access_key_id), Some(secret_access_key), session_token) => {
            Some(tessera_lambda::AwsCredentials {
                access_key_id,
                secret_access_key,
                session_token,
            })
        }
        (None, None, None) => None,
        _ => bail!(
            "set both TESSERA_LAMBDA_ACCESS_KEY_ID and TESSERA_LAMBDA_SECRET_ACCESS_KEY \
             (lambda.access_key_id, lambda.secret_access_key), or neither"
        ),
    };
    Ok(tessera_lambda::InvokerSettings {
        endpoint: non_empty(c.endpoint),
        functions: c
            .functions
            .into_iter()
            .map(|(function, route)| {
                (
                    function,
                    tessera_lambda::FunctionRoute {
                        endpoint: non_empty(route.endpoint),
                        name: non_empty(route.name),
                    },
                )
            })
            .collect(),
        region: Some(non_empty(c.region).unwrap_or_else(|| region.to_string())),
        credentials,
        timeout: Duration::from_millis(c.timeout_ms),
        attempts: c.attempts,
        allow_private: c.allow_private,
        ..tessera_lambda::InvokerSettings::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_safe() {
        let s = Settings::from_config(Config::default()).unwrap();
        assert_eq!(s.hash_cost, HashCost::Production);
        assert!(!s.dev);
        assert!(matches!(s.database, Database::Sqlite(_)));
    }

    /// Runs `f` with the process environment to itself (tests that load configuration read
    /// `TESSERA_*`, and the jailed ones set some) in a temporary working directory.
    // The closure's error type is figment's (`Jail::expect_with` fixes it), large or not.
    #[allow(clippy::result_large_err)]
    fn jailed(f: impl FnOnce(&mut figment::Jail) -> Result<()>) {
        figment::Jail::expect_with(|jail| f(jail).map_err(|e| format!("{e:#}").into()));
    }

    #[test]
    fn dev_mode_chooses_fast_hashing_and_flags_override() {
        jailed(|_| {
            let c = Config::load(
                None,
                &serde_json::json!({"dev": true, "database_url": "postgres://x/y"}),
            )?;
            let s = Settings::from_config(c)?;
            assert_eq!(s.hash_cost, HashCost::InsecureFast);
            assert_eq!(s.database, Database::Postgres("postgres://x/y".into()));
            Ok(())
        });
    }

    #[test]
    fn bad_values_are_refused() {
        jailed(|_| {
            let bad = |v: serde_json::Value| {
                Config::load(None, &v)
                    .and_then(Settings::from_config)
                    .is_err()
            };
            assert!(bad(serde_json::json!({"listen": "nope"})));
            assert!(bad(serde_json::json!({"database_url": "mysql://x"})));
            assert!(bad(serde_json::json!({"root_access_key_id": "only-one"})));
            assert!(bad(serde_json::json!({"lambda": {"attempts": 0}})));
            assert!(bad(serde_json::json!({"lambda": {"timeout_ms": 0}})));
            assert!(bad(
                serde_json::json!({"lambda": {"access_key_id": "only-one"}})
            ));
            assert!(bad(
                serde_json::json!({"lambda": {"session_token": "alone"}})
            ));
            assert!(bad(serde_json::json!({"lambda": {"endpiont": "typo"}})));
            assert!(bad(
                serde_json::json!({"federation": {"OIDC": {"issuer": "https://x"}}})
            ));
            assert!(bad(
                serde_json::json!({"federation": {"Google": {"token_url": "/relative"}}})
            ));
            assert!(bad(
                serde_json::json!({"federation": {"Google": {"tokenurl": "https://x"}}})
            ));
            Ok(())
        });
    }

    #[test]
    fn federation_tables_override_social_endpoints() {
        jailed(|jail| {
            jail.create_file(
                "f.toml",
                "[federation.Google]\nissuer = \"http://127.0.0.1:3900\"\nauthorize_url = \"http://127.0.0.1:3900/auth\"\n",
            )?;
            let s = Settings::from_config(Config::load(
                Some(std::path::Path::new("f.toml")),
                &serde_json::json!({}),
            )?)?;
            let google = s
                .federation
                .get(&tessera_domain::identity_providers::ProviderType::Google)
                .cloned()
                .unwrap_or_default();
            assert_eq!(google.issuer.as_deref(), Some("http://127.0.0.1:3900"));
            assert_eq!(google.token_url, None);
            Ok(())
        });
    }

    #[test]
    fn webauthn_origins_are_normalised_and_checked() {
        jailed(|jail| {
            let s = Settings::from_config(Config::load(None, &serde_json::json!({}))?)?;
            assert!(s.webauthn_origins.is_empty());
            jail.set_env(
                "TESSERA_WEBAUTHN_ORIGINS",
                "http://localhost:3000/, https://App.Example.com",
            );
            let s = Settings::from_config(Config::load(None, &serde_json::json!({}))?)?;
            assert_eq!(
                s.webauthn_origins,
                ["http://localhost:3000", "https://app.example.com"]
            );
            jail.set_env("TESSERA_WEBAUTHN_ORIGINS", "ftp://files.example.com");
            assert!(Settings::from_config(Config::load(None, &serde_json::json!({}))?).is_err());
            Ok(())
        });
    }

    #[test]
    fn threat_settings_and_trusted_proxies_from_file_and_environment() {
        jailed(|jail| {
            let s = Settings::from_config(Config::load(None, &serde_json::json!({}))?)?;
            assert!(s.trusted_proxies.is_empty());
            assert_eq!(s.threat.hibp_range_url, None);
            assert_eq!(s.threat.breach_filter, None);
            assert_eq!(s.threat.event_retention, Duration::from_secs(90 * 86_400));
            jail.create_file(
                "t.toml",
                "trusted_proxies = [\"10.0.0.0/8\"]\n[threat]\nevent_retention_days = 7\n",
            )?;
            jail.set_env("TESSERA_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1");
            jail.set_env(
                "TESSERA_THREAT_HIBP_RANGE_URL",
                "https://api.pwnedpasswords.com/range/",
            );
            jail.set_env("TESSERA_THREAT_HIBP_TIMEOUT_MS", "300");
            let s = Settings::from_config(Config::load(
                Some(std::path::Path::new("t.toml")),
                &serde_json::json!({}),
            )?)?;
            assert_eq!(
                s.trusted_proxies,
                vec![
                    "10.0.0.0/8".parse::<ipnet::IpNet>()?,
                    "192.0.2.1/32".parse()?
                ]
            );
            assert_eq!(
                s.threat.hibp_range_url.as_deref(),
                Some("https://api.pwnedpasswords.com/range/")
            );
            assert_eq!(s.threat.hibp_timeout, Duration::from_millis(300));
            assert_eq!(s.threat.event_retention, Duration::from_secs(7 * 86_400));
            // A filter in the data directory is found; a named one must exist.
            std::fs::create_dir_all("data")?;
            jail.create_file("data/breach-filter.bin", "x")?;
            let s = Settings::from_config(Config::load(
                None,
                &serde_json::json!({"data_dir": "data"}),
            )?)?;
            assert_eq!(
                s.threat.breach_filter,
                Some(std::path::PathBuf::from("data/breach-filter.bin"))
            );
            assert!(!s.threat.breach_filter_required);
            jail.set_env("TESSERA_TRUSTED_PROXIES", "not-an-address");
            assert!(
                Config::load(None, &serde_json::json!({}))
                    .and_then(Settings::from_config)
                    .is_err()
            );
            jail.set_env("TESSERA_TRUSTED_PROXIES", "");
            jail.set_env("TESSERA_THREAT_HIBP_RANGE_URL", "ftp://x");
            assert!(
                Config::load(None, &serde_json::json!({}))
                    .and_then(Settings::from_config)
                    .is_err()
            );
            Ok(())
        });
    }

    #[test]
    fn tls_needs_both_files_from_any_source() {
        jailed(|jail| {
            let s = Settings::from_config(Config::load(None, &serde_json::json!({}))?)?;
            assert_eq!(s.tls, None);
            jail.set_env("TESSERA_TLS_CERT", "/etc/tessera/cert.pem");
            let half = Config::load(None, &serde_json::json!({})).and_then(Settings::from_config);
            assert!(half.is_err());
            let s = Settings::from_config(Config::load(
                None,
                &serde_json::json!({"tls_key": "/etc/tessera/key.pem"}),
            )?)?;
            assert_eq!(
                s.tls,
                Some(TlsFiles {
                    cert: "/etc/tessera/cert.pem".into(),
                    key: "/etc/tessera/key.pem".into(),
                })
            );
            Ok(())
        });
    }

    #[test]
    fn account_id_defaults_comes_from_env_and_file_and_is_validated() {
        jailed(|jail| {
            let s = Settings::from_config(Config::load(None, &serde_json::json!({}))?)?;
            assert_eq!(s.account_id, "000000000000");
            jail.create_file("t.toml", "account_id = \"111122223333\"")?;
            let s = Settings::from_config(Config::load(
                Some(std::path::Path::new("t.toml")),
                &serde_json::json!({}),
            )?)?;
            assert_eq!(s.account_id, "111122223333");
            jail.create_file("n.toml", "account_id = 123456789012")?;
            let s = Settings::from_config(Config::load(
                Some(std::path::Path::new("n.toml")),
                &serde_json::json!({}),
            )?)?;
            assert_eq!(s.account_id, "123456789012");
            jail.set_env("TESSERA_ACCOUNT_ID", "012345678901");
            let s = Settings::from_config(Config::load(
                Some(std::path::Path::new("t.toml")),
                &serde_json::json!({}),
            )?)?;
            assert_eq!(
                s.account_id, "012345678901",
                "the environment beats the file"
            );
            let flag = Config::load(None, &serde_json::json!({"account_id": "210987654321"}))?;
            assert_eq!(Settings::from_config(flag)?.account_id, "210987654321");
            for bad in ["12345", "1234567890123", "12345678901a", ""] {
                let c = Config::load(None, &serde_json::json!({ "account_id": bad }))?;
                assert!(Settings::from_config(c).is_err(), "{bad}");
            }
            Ok(())
        });
    }

    #[test]
    fn console_listen_comes_from_the_environment() {
        jailed(|jail| {
            let s = Settings::from_config(Config::load(None, &serde_json::json!({}))?)?;
            assert_eq!(
                s.console_listen, None,
                "served on the main listener by default"
            );
            jail.set_env("TESSERA_CONSOLE_LISTEN", "127.0.0.1:9230");
            let s = Settings::from_config(Config::load(None, &serde_json::json!({}))?)?;
            assert_eq!(s.console_listen, Some("127.0.0.1:9230".parse()?));
            let bad = Config::load(None, &serde_json::json!({"console_listen": "9230"}))
                .and_then(Settings::from_config);
            assert!(bad.is_err());
            Ok(())
        });
    }

    #[test]
    fn metrics_listen_comes_from_the_environment() {
        jailed(|jail| {
            let s = Settings::from_config(Config::load(None, &serde_json::json!({}))?)?;
            assert_eq!(
                s.metrics_listen, None,
                "served on the main listener by default"
            );
            jail.set_env("TESSERA_METRICS_LISTEN", "127.0.0.1:9464");
            let s = Settings::from_config(Config::load(None, &serde_json::json!({}))?)?;
            assert_eq!(s.metrics_listen, Some("127.0.0.1:9464".parse()?));
            let bad = Config::load(None, &serde_json::json!({"metrics_listen": "nope"}))
                .and_then(Settings::from_config);
            assert!(bad.is_err());
            Ok(())
        });
    }

    #[test]
    fn lambda_defaults() {
        let s = Settings::from_config(Config::default()).unwrap();
        let l = &s.lambda;
        assert_eq!(l.endpoint, None);
        assert!(l.functions.is_empty());
        assert_eq!(l.timeout, Duration::from_secs(5));
        assert_eq!(l.attempts, 3);
        assert_eq!(l.region.as_deref(), Some("us-east-1"));
        assert!(l.credentials.is_none());
        assert!(!l.allow_private);
    }

    #[test]
    fn lambda_from_file_environment_and_flags() {
        jailed(|jail| {
            jail.create_file(
                "tessera.toml",
                r#"
                    region = "eu-west-1"

                    [lambda]
                    endpoint = "http://127.0.0.1:3001"
                    timeout_ms = 2000
                    allow_private = true

                    [lambda.functions."arn:aws:lambda:eu-west-1:123456789012:function:pre"]
                    name = "PreSignUpFunction"

                    [lambda.functions.custom-sender]
                    endpoint = "http://127.0.0.1:9000"
                    name = "function"
                "#,
            )?;
            jail.set_env("TESSERA_LAMBDA_ACCESS_KEY_ID", "AKIDEXAMPLE");
            jail.set_env("TESSERA_LAMBDA_SECRET_ACCESS_KEY", "secret");
            jail.set_env("TESSERA_LAMBDA_ATTEMPTS", "2");
            let c = Config::load(
                Some(Path::new("tessera.toml")),
                &serde_json::json!({"lambda": {"endpoint": "http://127.0.0.1:3002"}}),
            )?;
            let s = Settings::from_config(c)?;
            let l = &s.lambda;
            assert_eq!(l.endpoint.as_deref(), Some("http://127.0.0.1:3002"));
            assert_eq!(l.timeout, Duration::from_millis(2000));
            assert_eq!(l.attempts, 2);
            assert!(l.allow_private);
            assert_eq!(l.region.as_deref(), Some("eu-west-1"));
            let credentials = l
                .credentials
                .as_ref()
                .expect("credentials from the environment");
            assert_eq!(credentials.access_key_id, "AKIDEXAMPLE");
            assert_eq!(credentials.secret_access_key, "secret");
            assert_eq!(credentials.session_token, None);
            assert!(!format!("{l:?}").contains("secret\""), "{l:?}");
            assert_eq!(
                l.functions["arn:aws:lambda:eu-west-1:123456789012:function:pre"],
                tessera_lambda::FunctionRoute {
                    endpoint: None,
                    name: Some("PreSignUpFunction".into()),
                }
            );
            assert_eq!(
                l.functions["custom-sender"].endpoint.as_deref(),
                Some("http://127.0.0.1:9000")
            );
            tessera_lambda::LambdaInvoker::new(l.clone())?;
            Ok(())
        });
    }

    #[test]
    fn gateway_from_file_and_environment() {
        jailed(|jail| {
            let s = Settings::from_config(Config::load(None, &serde_json::json!({}))?)?;
            assert!(s.gateway.is_none(), "off unless gateway.listen is set");
            jail.create_file(
                "t.toml",
                "[gateway]\nlisten = \"127.0.0.1:0\"\n[gateway.dynamodb]\nendpoint = \"http://127.0.0.1:8000/\"\naccess_key_id = \"k\"\nsecret_access_key = \"s\"\n",
            )?;
            jail.set_env("TESSERA_GATEWAY_S3_ENDPOINT", "http://127.0.0.1:9000");
            jail.set_env("TESSERA_GATEWAY_S3_ACCESS_KEY_ID", "ak");
            jail.set_env("TESSERA_GATEWAY_S3_SECRET_ACCESS_KEY", "sk");
            jail.set_env("TESSERA_GATEWAY_S3_DOMAIN", "S3.Example.com");
            let c = Config::load(Some(Path::new("t.toml")), &serde_json::json!({}))?;
            let g = Settings::from_config(c)?.gateway.context("gateway")?;
            assert_eq!(g.listen, "127.0.0.1:0".parse()?);
            let s3 = g.s3.context("s3")?;
            assert_eq!(s3.endpoint, "http://127.0.0.1:9000");
            assert_eq!(s3.access_key_id, "ak");
            assert_eq!(g.s3_domain.as_deref(), Some("s3.example.com"));
            assert_eq!(
                g.dynamodb.context("dynamodb")?.endpoint,
                "http://127.0.0.1:8000"
            );
            // A backend needs all three settings; a listener needs a backend.
            jail.set_env("TESSERA_GATEWAY_S3_SECRET_ACCESS_KEY", "");
            let c = Config::load(Some(Path::new("t.toml")), &serde_json::json!({}))?;
            assert!(Settings::from_config(c).is_err());
            let c = Config::load(
                None,
                &serde_json::json!({"gateway": {"listen": "127.0.0.1:0"}}),
            )?;
            assert!(Settings::from_config(c).is_err());
            Ok(())
        });
    }
}
