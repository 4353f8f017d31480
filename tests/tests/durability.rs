//! What is acknowledged survives a restart; several nodes on one PostgreSQL act as one.

use crate::support::*;

#[tokio::test]
async fn restart_keeps_users_keys_and_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let (f, access) = {
        let app = spawn_app_on(dir.path().to_path_buf(), None, None).await;
        let f = pool_with_client(&app).await;
        confirmed_user(&app, &f, "ann", "Passw0rd!").await;
        let access = password_sign_in(&app, &f, "ann", "Passw0rd!")
            .await
            .access_token
            .unwrap();
        (f, access)
    };
    let app = spawn_app_on(dir.path().to_path_buf(), None, None).await;
    // The old token verifies with the reloaded key and its session is still live.
    let me = app
        .public
        .get_user()
        .access_token(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.username, "ann");
    password_sign_in(&app, &f, "ann", "Passw0rd!").await;
}

fn postgres_url() -> Option<String> {
    let url = std::env::var("TESSERA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    std::net::TcpStream::connect_timeout(
        &"127.0.0.1:5432".parse().unwrap(),
        std::time::Duration::from_millis(300),
    )
    .ok()
    .map(|_| url)
}

/// A database of its own for one test, on the CI server.
async fn fresh_database(base: &str) -> String {
    let name = format!("tessera_it_{}", uuid_like());
    let status = std::process::Command::new("psql")
        .args([base, "-qc", &format!("CREATE DATABASE {name}")])
        .status();
    match status {
        Ok(s) if s.success() => {}
        other => panic!("could not create a test database with psql: {other:?}"),
    }
    match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("unexpected database URL {base}"),
    }
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{}", std::process::id(), nanos % 1_000_000_000)
}

#[tokio::test]
async fn two_nodes_on_one_postgres_serve_the_same_pools() {
    let Some(base) = postgres_url() else {
        assert!(
            std::env::var_os("TESSERA_REQUIRE_POSTGRES").is_none(),
            "PostgreSQL is required (TESSERA_REQUIRE_POSTGRES) but not reachable"
        );
        eprintln!("PostgreSQL not reachable on 127.0.0.1:5432; skipping");
        return;
    };
    let url = fresh_database(&base).await;
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let a = spawn_app_on(dir_a.path().to_path_buf(), Some(url.clone()), None).await;
    let b = spawn_app_on(dir_b.path().to_path_buf(), Some(url.clone()), None).await;
    let f = pool_with_client(&a).await;
    confirmed_user(&a, &f, "ann", "Passw0rd!").await;
    // Node B knows the pool and the user …
    let user = b
        .admin
        .admin_get_user()
        .user_pool_id(&f.pool_id)
        .username("ann")
        .send()
        .await
        .unwrap();
    assert_eq!(user.username, "ann");
    // … accepts A's access token, refreshes A's refresh token, and signs in itself.
    let tokens = password_sign_in(&a, &f, "ann", "Passw0rd!").await;
    b.public
        .get_user()
        .access_token(tokens.access_token.clone().unwrap())
        .send()
        .await
        .unwrap();
    b.public
        .get_tokens_from_refresh_token()
        .client_id(&f.client_id)
        .refresh_token(tokens.refresh_token.unwrap())
        .send()
        .await
        .unwrap();
    let from_b = password_sign_in(&b, &f, "ann", "Passw0rd!").await;
    a.public
        .get_user()
        .access_token(from_b.access_token.unwrap())
        .send()
        .await
        .unwrap();
    // A global sign-out on A reaches tokens checked on B.
    a.public
        .global_sign_out()
        .access_token(tokens.access_token.clone().unwrap())
        .send()
        .await
        .unwrap();
    let err = b
        .public
        .get_user()
        .access_token(tokens.access_token.unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "NotAuthorizedException");
    drop(a);
    drop(b);
    let _ = std::process::Command::new("psql")
        .args([
            &base,
            "-qc",
            &format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                url.rsplit('/').next().unwrap()
            ),
        ])
        .status();
}
