//! GetCSVHeader, Set/GetLogDeliveryConfiguration and Set/GetUICustomization through the AWS SDK
//! for Rust.

use crate::support::*;
use aws_sdk_cognitoidentityprovider::primitives::Blob;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, CloudWatchLogsConfigurationType, EventSourceName, LogConfigurationType,
    LogDeliveryConfigurationType, LogLevel, S3ConfigurationType, SchemaAttributeType,
    UiCustomizationType,
};

const LOG_GROUP: &str = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/tessera";
const MISSING_POOL: &str = "us-east-1_missing0";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

fn cloudwatch(source: EventSourceName, level: LogLevel) -> LogConfigurationType {
    LogConfigurationType::builder()
        .event_source(source)
        .log_level(level)
        .cloud_watch_logs_configuration(
            CloudWatchLogsConfigurationType::builder()
                .log_group_arn(LOG_GROUP)
                .build(),
        )
        .build()
        .unwrap()
}

async fn log_delivery(app: &TestApp, pool: &str) -> LogDeliveryConfigurationType {
    app.admin
        .get_log_delivery_configuration()
        .user_pool_id(pool)
        .send()
        .await
        .unwrap()
        .log_delivery_configuration
        .unwrap()
}

async fn ui(app: &TestApp, pool: &str, client: Option<&str>) -> UiCustomizationType {
    app.admin
        .get_ui_customization()
        .user_pool_id(pool)
        .set_client_id(client.map(str::to_string))
        .send()
        .await
        .unwrap()
        .ui_customization
        .unwrap()
}

/// A pool and client whose pool has a domain, as SetUICustomization needs.
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
async fn csv_header_lists_the_schema_then_mfa_and_username() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    app.admin
        .add_custom_attributes()
        .user_pool_id(&f.pool_id)
        .custom_attributes(
            SchemaAttributeType::builder()
                .name("joinedOn")
                .attribute_data_type(AttributeDataType::String)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let out = app
        .admin
        .get_csv_header()
        .user_pool_id(&f.pool_id)
        .send()
        .await
        .unwrap();
    assert_eq!(out.user_pool_id(), Some(f.pool_id.as_str()));
    assert_eq!(
        out.csv_header().join(","),
        "name,given_name,family_name,middle_name,nickname,preferred_username,profile,picture,\
         website,email,email_verified,gender,birthdate,zoneinfo,locale,phone_number,\
         phone_number_verified,address,updated_at,custom:joinedOn,cognito:mfa_enabled,\
         cognito:username,cognito:password_hash"
    );

    let err = app
        .admin
        .get_csv_header()
        .user_pool_id(MISSING_POOL)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "ResourceNotFoundException");
}

#[tokio::test]
async fn log_delivery_configuration_is_stored_and_survives_update_user_pool() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let empty = log_delivery(&app, &f.pool_id).await;
    assert_eq!(empty.user_pool_id(), f.pool_id);
    assert!(empty.log_configurations().is_empty());

    let s3 = LogConfigurationType::builder()
        .event_source(EventSourceName::UserAuthEvents)
        .log_level(LogLevel::Info)
        .s3_configuration(
            S3ConfigurationType::builder()
                .bucket_arn("arn:aws:s3:::tessera-logs")
                .build(),
        )
        .build()
        .unwrap();
    let set = app
        .admin
        .set_log_delivery_configuration()
        .user_pool_id(&f.pool_id)
        .log_configurations(cloudwatch(
            EventSourceName::UserNotification,
            LogLevel::Error,
        ))
        .log_configurations(s3.clone())
        .send()
        .await
        .unwrap()
        .log_delivery_configuration
        .unwrap();
    assert_eq!(set.log_configurations().len(), 2);

    app.admin
        .update_user_pool()
        .user_pool_id(&f.pool_id)
        .send()
        .await
        .unwrap();
    let got = log_delivery(&app, &f.pool_id).await;
    assert_eq!(got, set);
    assert_eq!(got.log_configurations()[1], s3);
}

#[tokio::test]
async fn log_delivery_configuration_refuses_what_cognito_refuses() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let set = |configs: Vec<LogConfigurationType>, pool: &str| {
        app.admin
            .set_log_delivery_configuration()
            .user_pool_id(pool)
            .set_log_configurations(Some(configs))
            .send()
    };
    let notification = || cloudwatch(EventSourceName::UserNotification, LogLevel::Error);
    let err = set(vec![notification()], MISSING_POOL).await.unwrap_err();
    assert_eq!(error_of(&err).0, "ResourceNotFoundException");
    for bad in [
        vec![cloudwatch(
            EventSourceName::UserNotification,
            LogLevel::Info,
        )],
        vec![notification(), notification()],
        vec![notification(), notification(), notification()],
    ] {
        let err = set(bad.clone(), &f.pool_id).await.unwrap_err();
        assert_eq!(error_of(&err).0, "InvalidParameterException", "{bad:?}");
    }
    assert!(
        log_delivery(&app, &f.pool_id)
            .await
            .log_configurations()
            .is_empty()
    );
}

#[tokio::test]
async fn ui_customization_falls_back_from_a_client_to_the_pool_default() {
    let app = spawn_app().await;
    let f = branded_pool(&app).await;
    let nothing = ui(&app, &f.pool_id, None).await;
    assert_eq!(nothing.css(), None);
    assert_eq!(nothing.creation_date(), None);

    let all = app
        .admin
        .set_ui_customization()
        .user_pool_id(&f.pool_id)
        .client_id("ALL")
        .css(".banner-customizable { background-color: black; }")
        .image_file(Blob::new(PNG))
        .send()
        .await
        .unwrap()
        .ui_customization
        .unwrap();
    assert_eq!(all.client_id(), Some("ALL"));
    assert!(all.css_version().is_some());
    let logo = reqwest::get(all.image_url().unwrap()).await.unwrap();
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(logo.bytes().await.unwrap().as_ref(), PNG);
    let for_client = ui(&app, &f.pool_id, Some(&f.client_id)).await;
    assert_eq!(for_client, all);

    let own = app
        .admin
        .set_ui_customization()
        .user_pool_id(&f.pool_id)
        .client_id(&f.client_id)
        .css(".label-customizable { font-weight: 400; }")
        .send()
        .await
        .unwrap()
        .ui_customization
        .unwrap();
    assert_eq!(own.client_id(), Some(f.client_id.as_str()));
    assert_eq!(own.image_url(), None);
    let no_logo = format!(
        "{}/_tessera/ui/{}/{}/logo",
        app.endpoint, f.pool_id, f.client_id
    );
    assert_eq!(reqwest::get(no_logo).await.unwrap().status(), 404);
    let got = ui(&app, &f.pool_id, Some(&f.client_id)).await;
    assert_eq!(got, own);
    let pool_default = ui(&app, &f.pool_id, None).await;
    assert_eq!(pool_default, all);
}

/// The error of SetUICustomization on `pool` with empty CSS and, if given, a logo of `image`.
async fn set_ui_error(app: &TestApp, pool: &str, image: Option<&[u8]>) -> (String, String) {
    let err = app
        .admin
        .set_ui_customization()
        .user_pool_id(pool)
        .css("")
        .set_image_file(image.map(Blob::new))
        .send()
        .await
        .unwrap_err();
    error_of(&err)
}

#[tokio::test]
async fn ui_customization_refuses_unknown_pools_clients_and_images() {
    let app = spawn_app().await;
    let f = branded_pool(&app).await;
    let other = pool_with_client(&app).await;
    let invalid = |m: &str| ("InvalidParameterException".to_string(), m.to_string());
    assert_eq!(
        set_ui_error(&app, MISSING_POOL, None).await.0,
        "ResourceNotFoundException"
    );
    let err = app
        .admin
        .get_ui_customization()
        .user_pool_id(&f.pool_id)
        .client_id(&other.client_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "ResourceNotFoundException");
    assert_eq!(
        set_ui_error(&app, &f.pool_id, Some(b"GIF89a")).await,
        invalid("The image file must be a PNG or JPEG image.")
    );
    assert_eq!(
        set_ui_error(&app, &other.pool_id, None).await,
        invalid("There has to be an existing domain associated with this user pool")
    );
}
