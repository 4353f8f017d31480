//! User-pool domains and resource servers through the AWS SDK for Rust, as provisioning tools
//! (Terraform, CDK, Pulumi) drive them right after creating a pool.

use crate::support::*;
use aws_sdk_cognitoidentityprovider::types::{
    CustomDomainConfigType, DomainDescriptionType, DomainStatusType, ResourceServerScopeType,
    SecurityPolicyType,
};

const CERT: &str = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-tessera";

fn cert(arn: &str) -> CustomDomainConfigType {
    CustomDomainConfigType::builder()
        .certificate_arn(arn)
        .build()
        .unwrap()
}

fn scope(name: &str) -> ResourceServerScopeType {
    ResourceServerScopeType::builder()
        .scope_name(name)
        .scope_description(format!("{name} access"))
        .build()
        .unwrap()
}

async fn new_pool(app: &TestApp) -> String {
    app.admin
        .create_user_pool()
        .pool_name("domains")
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap()
}

async fn describe_domain(app: &TestApp, domain: &str) -> DomainDescriptionType {
    app.admin
        .describe_user_pool_domain()
        .domain(domain)
        .send()
        .await
        .unwrap()
        .domain_description
        .unwrap()
}

/// DescribeUserPool's `(Domain, CustomDomain)`.
async fn pool_domains(app: &TestApp, pool: &str) -> (Option<String>, Option<String>) {
    let p = app
        .admin
        .describe_user_pool()
        .user_pool_id(pool)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap();
    (p.domain, p.custom_domain)
}

/// The error of creating `domain` in `pool` (with a certificate when `custom`).
async fn create_domain_error(
    app: &TestApp,
    pool: &str,
    domain: &str,
    custom: bool,
) -> (String, String) {
    let err = app
        .admin
        .create_user_pool_domain()
        .user_pool_id(pool)
        .domain(domain)
        .set_custom_domain_config(custom.then(|| cert(CERT)))
        .send()
        .await
        .unwrap_err();
    error_of(&err)
}

fn invalid(message: &str) -> (String, String) {
    ("InvalidParameterException".into(), message.into())
}

#[tokio::test]
async fn domains_are_administered_as_cognito_does() {
    let app = spawn_app().await;
    let pool = new_pool(&app).await;

    let prefix = app
        .admin
        .create_user_pool_domain()
        .user_pool_id(&pool)
        .domain("tessera-login")
        .send()
        .await
        .unwrap();
    assert_eq!(prefix.managed_login_version(), Some(1));
    assert_eq!(
        prefix.cloud_front_domain(),
        None,
        "only custom domains have one"
    );

    // A custom domain answers the host its DNS alias must point at: Tessera's own.
    let custom = app
        .admin
        .create_user_pool_domain()
        .user_pool_id(&pool)
        .domain("auth.example.com")
        .custom_domain_config(cert(CERT))
        .managed_login_version(2)
        .send()
        .await
        .unwrap();
    assert_eq!(custom.cloud_front_domain(), Some("127.0.0.1"));
    assert_eq!(custom.managed_login_version(), Some(2));

    let described = describe_domain(&app, "auth.example.com").await;
    assert_eq!(described.user_pool_id(), Some(pool.as_str()));
    assert_eq!(described.domain(), Some("auth.example.com"));
    assert_eq!(described.status(), Some(&DomainStatusType::Active));
    assert_eq!(described.cloud_front_distribution(), Some("127.0.0.1"));
    assert_eq!(described.aws_account_id(), Some("000000000000"));
    assert_eq!(described.managed_login_version(), Some(2));
    assert_eq!(
        described
            .custom_domain_config()
            .map(|c| c.certificate_arn()),
        Some(CERT)
    );
    assert_eq!(described.version().map(str::len), Some(14));

    assert_eq!(
        pool_domains(&app, &pool).await,
        (
            Some("tessera-login".into()),
            Some("auth.example.com".into())
        )
    );

    // An unknown domain is described as nothing at all, not as an error.
    let unknown = describe_domain(&app, "nobody-here").await;
    assert_eq!(unknown.domain(), None);
    assert_eq!(unknown.user_pool_id(), None);

    // One domain of each kind per pool; names belong to one pool of the deployment; prefixes
    // follow the model's pattern and avoid Cognito's reserved words.
    let other = new_pool(&app).await;
    let refusals = [
        (
            &pool,
            "second-prefix",
            false,
            "User pool already has a domain configured.",
        ),
        (
            &other,
            "tessera-login",
            false,
            "Domain already associated with another user pool.",
        ),
        (
            &other,
            "auth.example.com",
            true,
            "Domain already associated with another user pool.",
        ),
        (
            &other,
            "my-aws-login",
            false,
            "Domain cannot contain reserved word: aws",
        ),
        (
            &other,
            "login.example.org",
            false,
            "The domain name contains an invalid character. Domain names can only contain \
             lower-case letters, numbers, and hyphens. Please enter a different name that follows \
             this format: ^[a-z0-9](?:[a-z0-9\\-]{0,61}[a-z0-9])?$",
        ),
    ];
    for (in_pool, domain, custom, message) in refusals {
        assert_eq!(
            create_domain_error(&app, in_pool, domain, custom).await,
            invalid(message),
            "{domain}"
        );
    }
    let missing_pool = create_domain_error(&app, "us-east-1_NoSuchPool", "free-name", false).await;
    assert_eq!(missing_pool.0, "ResourceNotFoundException");

    // Updates change the branding version and the certificate, never the name.
    let updated = app
        .admin
        .update_user_pool_domain()
        .user_pool_id(&pool)
        .domain("auth.example.com")
        .custom_domain_config(
            CustomDomainConfigType::builder()
                .certificate_arn("arn:aws:acm:us-east-1:123456789012:certificate/renewed")
                .security_policy(SecurityPolicyType::TlsV122021)
                .build()
                .unwrap(),
        )
        .managed_login_version(1)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.managed_login_version(), Some(1));
    assert_eq!(updated.cloud_front_domain(), Some("127.0.0.1"));
    let described = describe_domain(&app, "auth.example.com").await;
    let config = described.custom_domain_config().unwrap();
    assert_eq!(
        config.certificate_arn(),
        "arn:aws:acm:us-east-1:123456789012:certificate/renewed"
    );
    assert_eq!(
        config.security_policy(),
        Some(&SecurityPolicyType::TlsV122021)
    );

    // Update and delete need the pool that holds the domain.
    let err = app
        .admin
        .update_user_pool_domain()
        .user_pool_id(&other)
        .domain("tessera-login")
        .managed_login_version(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        invalid("No such domain or user pool exists.")
    );
    let err = app
        .admin
        .delete_user_pool_domain()
        .user_pool_id(&other)
        .domain("tessera-login")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        invalid("No such domain or user pool exists.")
    );

    // Cognito refuses to delete a pool that still has a domain.
    let err = app
        .admin
        .delete_user_pool()
        .user_pool_id(&pool)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        invalid(
            "User pool cannot be deleted. It has a domain configured that should be deleted first."
        )
    );
    for domain in ["tessera-login", "auth.example.com"] {
        app.admin
            .delete_user_pool_domain()
            .user_pool_id(&pool)
            .domain(domain)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(pool_domains(&app, &pool).await, (None, None));
    // The freed name is anyone's.
    app.admin
        .create_user_pool_domain()
        .user_pool_id(&other)
        .domain("tessera-login")
        .send()
        .await
        .unwrap();
    app.admin
        .delete_user_pool()
        .user_pool_id(&pool)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn resource_servers_define_the_scopes_clients_may_name() {
    let app = spawn_app().await;
    let pool = new_pool(&app).await;
    let created = app
        .admin
        .create_resource_server()
        .user_pool_id(&pool)
        .identifier("https://api.example.com")
        .name("Example API")
        .scopes(scope("read"))
        .scopes(scope("write"))
        .send()
        .await
        .unwrap()
        .resource_server
        .unwrap();
    assert_eq!(created.identifier(), Some("https://api.example.com"));
    assert_eq!(created.user_pool_id(), Some(pool.as_str()));
    assert_eq!(created.scopes().len(), 2);

    let err = app
        .admin
        .create_resource_server()
        .user_pool_id(&pool)
        .identifier("https://api.example.com")
        .name("Again")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        invalid(&format!(
            "https://api.example.com already exists in user pool {pool}."
        ))
    );

    // Clients may name standard scopes and scopes a resource server defines, nothing else.
    let client = app
        .admin
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("m2m")
        .allowed_o_auth_scopes("openid")
        .allowed_o_auth_scopes("https://api.example.com/read")
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap();
    let client_id = client.client_id().unwrap();
    assert_eq!(
        client.allowed_o_auth_scopes(),
        ["openid", "https://api.example.com/read"]
    );
    for bad in [
        "https://api.example.com/admin",
        "https://other.example.com/read",
        "Cognito",
    ] {
        let err = app
            .admin
            .create_user_pool_client()
            .user_pool_id(&pool)
            .client_name("bad")
            .allowed_o_auth_scopes("email")
            .allowed_o_auth_scopes(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            error_of(&err),
            (
                "ScopeDoesNotExistException".into(),
                format!("Invalid scope requested: {bad}")
            )
        );
        let err = app
            .admin
            .update_user_pool_client()
            .user_pool_id(&pool)
            .client_id(client_id)
            .allowed_o_auth_scopes(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(error_of(&err).0, "ScopeDoesNotExistException");
    }

    // UpdateResourceServer replaces the name and every scope.
    let updated = app
        .admin
        .update_resource_server()
        .user_pool_id(&pool)
        .identifier("https://api.example.com")
        .name("Renamed API")
        .scopes(scope("admin"))
        .send()
        .await
        .unwrap()
        .resource_server
        .unwrap();
    assert_eq!(updated.name(), Some("Renamed API"));
    let names: Vec<&str> = updated.scopes().iter().map(|s| s.scope_name()).collect();
    assert_eq!(names, ["admin"]);
    let described = app
        .admin
        .describe_resource_server()
        .user_pool_id(&pool)
        .identifier("https://api.example.com")
        .send()
        .await
        .unwrap()
        .resource_server
        .unwrap();
    assert_eq!(described, updated);
    // A scope that is gone can't be newly granted.
    let err = app
        .admin
        .update_user_pool_client()
        .user_pool_id(&pool)
        .client_id(client_id)
        .allowed_o_auth_scopes("https://api.example.com/read")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "ScopeDoesNotExistException");

    // ListResourceServers pages in identifier order.
    for id in ["orders", "billing", "catalog"] {
        app.admin
            .create_resource_server()
            .user_pool_id(&pool)
            .identifier(id)
            .name(id)
            .send()
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = app
            .admin
            .list_resource_servers()
            .user_pool_id(&pool)
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.resource_servers().len() <= 2);
        seen.extend(
            page.resource_servers()
                .iter()
                .map(|r| r.identifier().unwrap().to_string()),
        );
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        seen,
        ["billing", "catalog", "https://api.example.com", "orders"]
    );

    app.admin
        .delete_resource_server()
        .user_pool_id(&pool)
        .identifier("billing")
        .send()
        .await
        .unwrap();
    let err = app
        .admin
        .describe_resource_server()
        .user_pool_id(&pool)
        .identifier("billing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "ResourceNotFoundException".into(),
            "Resource server billing does not exist.".into()
        )
    );
    let err = app
        .admin
        .delete_resource_server()
        .user_pool_id(&pool)
        .identifier("billing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "ResourceNotFoundException");

    // Resource servers go with their pool (no domain holds it back).
    app.admin
        .delete_user_pool()
        .user_pool_id(&pool)
        .send()
        .await
        .unwrap();
    let err = app
        .admin
        .list_resource_servers()
        .user_pool_id(&pool)
        .max_results(10)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "ResourceNotFoundException");
}
