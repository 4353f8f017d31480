//! `spawn_app()`: a real Tessera on port 0 with a temporary store and a clock the test moves.

use aws_sdk_cognitoidentityprovider as idp;
use idp::config::{BehaviorVersion, Credentials, Region};
use std::sync::Arc;
use tessera_engine::ManualClock;
use tessera_server::{Application, Config, Settings};

pub const ACCESS_KEY: &str = "AKIATESSERATEST00001";
pub const SECRET_KEY: &str = "tessera-test-secret-access-key-0000000001";

pub struct TestApp {
    pub endpoint: String,
    /// Signed with the root credentials (admin operations).
    pub admin: idp::Client,
    /// Without credentials, as a browser or mobile app calls public operations.
    pub public: idp::Client,
    pub clock: ManualClock,
    pub engine: tessera_engine::Engine,
    _dir: Option<tempfile::TempDir>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn client(endpoint: &str, credentials: Option<(&str, &str)>) -> idp::Client {
    let mut conf = idp::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint);
    if let Some((id, secret)) = credentials {
        conf = conf.credentials_provider(Credentials::new(id, secret, None, None, "test"));
    }
    idp::Client::from_conf(conf.build())
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server with extra configuration (e.g. `smtp_url`, `sms_webhook`, `dev`).
pub async fn spawn_app_with(configure: impl FnOnce(&mut serde_json::Value)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    spawn(path, None, Some(dir), configure).await
}

/// The issuer nodes share when they must accept each other's tokens (as behind a load
/// balancer); a node on port 0 would otherwise name itself by its own address.
pub const SHARED_PUBLIC_URL: &str = "http://tessera.test";

/// A server on an existing data directory or database (for restart and multi-node tests),
/// with the shared public URL.
pub async fn spawn_app_on(
    data_dir: std::path::PathBuf,
    database_url: Option<String>,
    dir: Option<tempfile::TempDir>,
) -> TestApp {
    spawn(data_dir, database_url, dir, |_| {}).await
}

async fn spawn(
    data_dir: std::path::PathBuf,
    database_url: Option<String>,
    dir: Option<tempfile::TempDir>,
    configure: impl FnOnce(&mut serde_json::Value),
) -> TestApp {
    let shared = dir.is_none();
    let mut overrides = serde_json::json!({
        "listen": "127.0.0.1:0",
        "data_dir": data_dir.display().to_string(),
        "hash_cost": "insecure-fast",
        "root_access_key_id": ACCESS_KEY,
        "root_secret_access_key": SECRET_KEY,
    });
    if shared {
        overrides["public_url"] = SHARED_PUBLIC_URL.into();
    }
    if let Some(url) = database_url {
        overrides["database_url"] = url.into();
        // Nodes sharing a database share the master key.
        overrides["master_key"] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into();
    }
    overrides["outbox_poll_ms"] = 50.into();
    // Tests go faster than Cognito's default request rates; quota tests turn them back on.
    overrides["quotas"] = false.into();
    configure(&mut overrides);
    let settings = Settings::from_config(Config::load(None, &overrides).unwrap()).unwrap();
    let clock = ManualClock::starting_now();
    let app = Application::build_with_clock(settings, Arc::new(clock.clone()))
        .await
        .unwrap();
    let endpoint = format!("http://{}", app.local_addr());
    let engine = app.engine().clone();
    let server = tokio::spawn(async move {
        let _ = app.run_until(std::future::pending()).await;
    });
    TestApp {
        admin: client(&endpoint, Some((ACCESS_KEY, SECRET_KEY))),
        public: client(&endpoint, None),
        endpoint,
        clock,
        engine,
        _dir: dir,
        server,
    }
}

/// The exception name and message of an SDK error.
pub fn error_of<E, R>(err: &idp::error::SdkError<E, R>) -> (String, String)
where
    E: idp::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match err {
        idp::error::SdkError::ServiceError(e) => (
            e.err().code().unwrap_or_default().to_string(),
            e.err().message().unwrap_or_default().to_string(),
        ),
        other => (format!("{other:?}"), String::new()),
    }
}

/// A pool and a client allowing the password flows, for tests that just need a place to sign in.
pub struct Fixture {
    pub pool_id: String,
    pub client_id: String,
}

pub async fn pool_with_client(app: &TestApp) -> Fixture {
    use idp::types::ExplicitAuthFlowsType as F;
    let pool = app
        .admin
        .create_user_pool()
        .pool_name("test")
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap();
    let pool_id = pool.id.unwrap();
    let client_id = app_client(
        app,
        &pool_id,
        &[
            F::AllowUserPasswordAuth,
            F::AllowAdminUserPasswordAuth,
            F::AllowRefreshTokenAuth,
        ],
    )
    .await;
    Fixture { pool_id, client_id }
}

/// A public client named "app" in `pool_id` that allows exactly `flows`.
pub async fn app_client(
    app: &TestApp,
    pool_id: &str,
    flows: &[idp::types::ExplicitAuthFlowsType],
) -> String {
    app.admin
        .create_user_pool_client()
        .user_pool_id(pool_id)
        .client_name("app")
        .set_explicit_auth_flows(Some(flows.to_vec()))
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap()
}

pub fn attr(name: &str, value: &str) -> idp::types::AttributeType {
    idp::types::AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .unwrap()
}

/// Signs up and confirms a user with a password.
pub async fn confirmed_user(app: &TestApp, f: &Fixture, username: &str, password: &str) {
    app.public
        .sign_up()
        .client_id(&f.client_id)
        .username(username)
        .password(password)
        .user_attributes(attr("email", &format!("{username}@example.com")))
        .send()
        .await
        .unwrap();
    app.admin
        .admin_confirm_sign_up()
        .user_pool_id(&f.pool_id)
        .username(username)
        .send()
        .await
        .unwrap();
}

pub async fn password_sign_in(
    app: &TestApp,
    f: &Fixture,
    username: &str,
    password: &str,
) -> idp::types::AuthenticationResultType {
    app.public
        .initiate_auth()
        .client_id(&f.client_id)
        .auth_flow(idp::types::AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .unwrap()
        .authentication_result
        .unwrap()
}

/// A JWT's payload, unverified (the token tests check signatures; others just read claims).
pub fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}
