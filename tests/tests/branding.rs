//! Managed-login branding through the AWS SDK for Rust, and what a client's hosted pages apply
//! (`Engine::hosted_look`): classic CSS through the allow-list with the ALL fallback, the classic
//! logo, and the managed-login look.

use crate::support::*;
use aws_sdk_cognitoidentityprovider::primitives::Blob;
use aws_sdk_cognitoidentityprovider::types::{
    AssetCategoryType, AssetExtensionType, AssetType, ColorSchemeModeType,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tessera_domain::branding::{BrandingAsset, BrandingChange};
use tessera_domain::{ClientId, UserPoolId};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

async fn branded_pool(app: &TestApp) -> Fixture {
    let f = pool_with_client(app).await;
    app.admin
        .create_user_pool_domain()
        .user_pool_id(&f.pool_id)
        .domain(f.pool_id.to_lowercase().replace('_', "-"))
        .send()
        .await
        .unwrap();
    f
}

#[tokio::test]
async fn the_sdk_creates_finds_and_deletes_a_style() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let asset = AssetType::builder()
        .category(AssetCategoryType::FormLogo)
        .color_mode(ColorSchemeModeType::Light)
        .extension(AssetExtensionType::Png)
        .bytes(Blob::new(PNG))
        .build()
        .unwrap();
    let err = app
        .admin
        .create_managed_login_branding()
        .user_pool_id(&f.pool_id)
        .client_id(&f.client_id)
        .use_cognito_provided_values(true)
        .assets(asset)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("InvalidParameterException")
    );
    let created = app
        .admin
        .create_managed_login_branding()
        .user_pool_id(&f.pool_id)
        .client_id(&f.client_id)
        .use_cognito_provided_values(true)
        .send()
        .await
        .unwrap()
        .managed_login_branding
        .unwrap();
    let id = created.managed_login_branding_id().unwrap();
    assert!(created.use_cognito_provided_values());
    let again = app
        .admin
        .create_managed_login_branding()
        .user_pool_id(&f.pool_id)
        .client_id(&f.client_id)
        .use_cognito_provided_values(true)
        .send()
        .await
        .unwrap_err();
    assert!(
        again
            .into_service_error()
            .is_managed_login_branding_exists_exception()
    );
    let by_client = app
        .admin
        .describe_managed_login_branding_by_client()
        .user_pool_id(&f.pool_id)
        .client_id(&f.client_id)
        .send()
        .await
        .unwrap()
        .managed_login_branding
        .unwrap();
    assert_eq!(by_client.managed_login_branding_id(), Some(id));
    app.admin
        .delete_managed_login_branding()
        .user_pool_id(&f.pool_id)
        .managed_login_branding_id(id)
        .send()
        .await
        .unwrap();
    let gone = app
        .admin
        .describe_managed_login_branding()
        .user_pool_id(&f.pool_id)
        .managed_login_branding_id(id)
        .send()
        .await
        .unwrap_err();
    assert!(gone.into_service_error().is_resource_not_found_exception());
}

#[tokio::test]
async fn hosted_look_applies_classic_css_logo_and_the_managed_style() {
    let app = spawn_app().await;
    let f = branded_pool(&app).await;
    let pool = UserPoolId::parse(&f.pool_id).unwrap();
    let client = ClientId::parse(&f.client_id).unwrap();

    let nothing = app.engine.hosted_look(&pool, &client).await.unwrap();
    assert!(nothing.classic_css.is_none() && nothing.classic_logo.is_none());
    assert!(nothing.managed.is_none());

    // The pool default (ALL) applies to a client without its own.
    app.admin
        .set_ui_customization()
        .user_pool_id(&f.pool_id)
        .client_id("ALL")
        .css("/* brand */ .banner-customizable { background-color: #ABCDEF; padding: 1px 2px }")
        .image_file(Blob::new(PNG))
        .send()
        .await
        .unwrap();
    let look = app.engine.hosted_look(&pool, &client).await.unwrap();
    assert_eq!(
        look.classic_css.as_deref(),
        Some(".banner-customizable{background-color:#abcdef;padding:1px 2px;}\n")
    );
    let logo = look.classic_logo.unwrap();
    assert_eq!(
        (
            logo.key.as_str(),
            logo.media_type.as_str(),
            logo.bytes.as_slice()
        ),
        ("ALL", "image/png", PNG)
    );

    // The client's own customization replaces it entirely (no logo: none shown).
    app.admin
        .set_ui_customization()
        .user_pool_id(&f.pool_id)
        .client_id(&f.client_id)
        .css(".label-customizable { font-weight: 600 }")
        .send()
        .await
        .unwrap();
    let look = app.engine.hosted_look(&pool, &client).await.unwrap();
    assert_eq!(
        look.classic_css.as_deref(),
        Some(".label-customizable{font-weight:600;}\n")
    );
    assert!(look.classic_logo.is_none());

    // A managed-login style: its colours over the defaults, and its logo.
    app.engine
        .create_managed_login_branding(
            &pool,
            &f.client_id,
            BrandingChange {
                settings: Some(serde_json::json!({
                    "components": {"primaryButton": {"lightMode": {"defaults": {"backgroundColor": "ff0000ff"}}}}
                })),
                assets: Some(vec![BrandingAsset {
                    category: "PAGE_HEADER_LOGO".into(),
                    color_mode: "LIGHT".into(),
                    extension: "PNG".into(),
                    bytes: Some(STANDARD.encode(PNG)),
                    resource_id: None,
                }]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let managed = app
        .engine
        .hosted_look(&pool, &client)
        .await
        .unwrap()
        .managed
        .unwrap();
    assert_eq!(managed.primary_color.unwrap().css(), "#ff0000ff");
    assert_eq!(managed.page_background.unwrap().css(), "#ffffffff");
    let logo = managed.logo.unwrap();
    assert_eq!(
        (logo.media_type(), logo.bytes.as_slice()),
        ("image/png", PNG)
    );
}
