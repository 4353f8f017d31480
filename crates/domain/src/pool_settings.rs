//! Pool-level settings with no behaviour of their own in Tessera: the user-import CSV header,
//! log-delivery configuration and classic hosted-UI branding. They are pure values here; the
//! engine keeps the last two in the pool's settings.

use crate::attributes::SchemaAttribute;
use crate::{DomainError, DomainResult, Timestamp};
use serde::{Deserialize, Serialize};

/// The header of a user-import CSV file, as GetCSVHeader lists it: the schema's attributes in
/// schema order (standard attributes, then custom ones) without `sub`, then
/// `cognito:mfa_enabled` and `cognito:username`.
pub fn csv_header(schema: &[SchemaAttribute]) -> Vec<String> {
    schema
        .iter()
        .map(|a| a.name.as_str())
        .filter(|n| *n != crate::attributes::SUB)
        .chain([
            "cognito:mfa_enabled",
            "cognito:username",
            crate::user_import::PASSWORD_HASH_COLUMN,
        ])
        .map(str::to_string)
        .collect()
}

/// Which activity a log configuration exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventSource {
    #[serde(rename = "userNotification")]
    UserNotification,
    #[serde(rename = "userAuthEvents")]
    UserAuthEvents,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogLevel {
    #[serde(rename = "ERROR")]
    Error,
    #[serde(rename = "INFO")]
    Info,
}

/// Where a log configuration sends its logs (by ARN). Tessera records it and ships nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogDestination {
    CloudWatchLogs(String),
    S3(String),
    Firehose(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogConfiguration {
    pub level: LogLevel,
    pub source: EventSource,
    pub destination: LogDestination,
}

/// Checks a SetLogDeliveryConfiguration list: one configuration per event source; user
/// notification logs are ERROR-level to CloudWatch Logs, user auth events INFO-level.
pub fn check_log_configurations(configs: &[LogConfiguration]) -> DomainResult<()> {
    for (i, c) in configs.iter().enumerate() {
        if configs[..i].iter().any(|o| o.source == c.source) {
            return Err(DomainError::invalid_parameter(
                "Duplicate EventSource in LogConfigurations.",
            ));
        }
        match (c.source, c.level, &c.destination) {
            (EventSource::UserNotification, LogLevel::Error, LogDestination::CloudWatchLogs(_)) => {
            }
            (EventSource::UserNotification, LogLevel::Error, _) => {
                return Err(DomainError::invalid_parameter(
                    "userNotification logs can only be delivered to CloudWatchLogsConfiguration.",
                ));
            }
            (EventSource::UserNotification, LogLevel::Info, _) => {
                return Err(DomainError::invalid_parameter(
                    "LogLevel for userNotification must be ERROR.",
                ));
            }
            (EventSource::UserAuthEvents, LogLevel::Info, _) => {}
            (EventSource::UserAuthEvents, LogLevel::Error, _) => {
                return Err(DomainError::invalid_parameter(
                    "LogLevel for userAuthEvents must be INFO.",
                ));
            }
        }
    }
    Ok(())
}

/// The client id SetUICustomization and GetUICustomization use for the pool-wide default.
pub const ALL_CLIENTS: &str = "ALL";

/// SetUICustomization on a pool without a domain: the branding has nowhere to be shown.
pub fn branding_needs_domain() -> DomainError {
    DomainError::invalid_parameter(
        "There has to be an existing domain associated with this user pool",
    )
}

/// The largest logo Cognito accepts for the classic hosted UI (100 KB).
pub const MAX_LOGO_BYTES: usize = 100 * 1024;

/// A hosted-UI logo: its media type and its bytes, base64-encoded as the wire carries them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logo {
    pub media_type: String,
    pub base64: String,
}

impl Logo {
    /// A logo from its decoded bytes (`base64` is their wire form): PNG or JPEG, at most 100 KB.
    pub fn new(bytes: &[u8], base64: String) -> DomainResult<Self> {
        if bytes.len() > MAX_LOGO_BYTES {
            return Err(DomainError::invalid_parameter(
                "The image file size must not exceed 100 KB.",
            ));
        }
        let media_type = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            "image/png"
        } else if bytes.starts_with(b"\xff\xd8\xff") {
            "image/jpeg"
        } else {
            return Err(DomainError::invalid_parameter(
                "The image file must be a PNG or JPEG image.",
            ));
        };
        Ok(Self {
            media_type: media_type.into(),
            base64,
        })
    }
}

/// Classic hosted-UI branding for a pool (client [`ALL_CLIENTS`]) or one app client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UiCustomization {
    pub css: Option<String>,
    pub css_version: Option<String>,
    pub logo: Option<Logo>,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
}

impl UiCustomization {
    /// Replaces `previous` (if any) with new CSS and logo; the creation time is kept and the
    /// CSS version changes whenever the CSS is set.
    pub fn set(
        previous: Option<&UiCustomization>,
        css: Option<String>,
        logo: Option<Logo>,
        now: Timestamp,
    ) -> Self {
        Self {
            css_version: css.as_ref().map(|_| now.millis().to_string()),
            css,
            logo,
            created_at: previous.map_or(now, |p| p.created_at),
            modified_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::standard_schema;

    #[test]
    fn csv_header_follows_cognitos_documented_order() {
        let mut schema = standard_schema();
        let mut custom = schema[1].clone();
        custom.name = "custom:joinedOn".into();
        schema.push(custom);
        assert_eq!(
            csv_header(&schema).join(","),
            "name,given_name,family_name,middle_name,nickname,preferred_username,profile,\
             picture,website,email,email_verified,gender,birthdate,zoneinfo,locale,\
             phone_number,phone_number_verified,address,updated_at,custom:joinedOn,\
             cognito:mfa_enabled,cognito:username,cognito:password_hash"
        );
    }

    fn config(source: EventSource, level: LogLevel, dest: LogDestination) -> LogConfiguration {
        LogConfiguration {
            level,
            source,
            destination: dest,
        }
    }

    #[test]
    fn log_configurations_follow_the_documented_pairings() {
        let cw = || LogDestination::CloudWatchLogs("arn:aws:logs:us-east-1:1:log-group:g".into());
        let s3 = || LogDestination::S3("arn:aws:s3:::bucket".into());
        let ok = [
            config(EventSource::UserNotification, LogLevel::Error, cw()),
            config(EventSource::UserAuthEvents, LogLevel::Info, s3()),
        ];
        assert!(check_log_configurations(&ok).is_ok());
        assert!(check_log_configurations(&[]).is_ok());
        for bad in [
            vec![config(EventSource::UserNotification, LogLevel::Info, cw())],
            vec![config(EventSource::UserNotification, LogLevel::Error, s3())],
            vec![config(EventSource::UserAuthEvents, LogLevel::Error, cw())],
            vec![ok[1].clone(), ok[1].clone()],
        ] {
            assert!(check_log_configurations(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn logos_are_small_png_or_jpeg_images() {
        let png = b"\x89PNG\r\n\x1a\nrest";
        assert_eq!(
            Logo::new(png, String::new()).map(|l| l.media_type).ok(),
            Some("image/png".to_string())
        );
        assert_eq!(
            Logo::new(b"\xff\xd8\xff\xe0", String::new())
                .map(|l| l.media_type)
                .ok(),
            Some("image/jpeg".to_string())
        );
        assert!(Logo::new(b"GIF89a", String::new()).is_err());
        let mut big = png.to_vec();
        big.resize(MAX_LOGO_BYTES + 1, 0);
        assert!(Logo::new(&big, String::new()).is_err());
    }

    #[test]
    fn setting_branding_keeps_its_creation_time() {
        let t0 = Timestamp::from_secs(100);
        let t1 = Timestamp::from_secs(200);
        let first = UiCustomization::set(None, Some(".a{}".into()), None, t0);
        let second = UiCustomization::set(Some(&first), None, None, t1);
        assert_eq!((second.created_at, second.modified_at), (t0, t1));
        assert_eq!(second.css_version, None);
        assert_eq!(first.css_version.as_deref(), Some("100000"));
    }
}
