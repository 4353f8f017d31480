//! Managed-login branding (ManagedLoginVersion 2): one style per app client, a Settings JSON
//! document kept verbatim, and image assets.
//!
//! Cognito's Settings schema is large and owned by its branding editor; Tessera stores whatever
//! document it is given, merges updates into it, and applies a documented subset on its pages
//! ([`BrandingLook::from_settings`]). "Cognito-provided values" are Tessera's
//! [`default_settings`], which hold the keys Tessera applies.

use crate::{ClientId, DomainError, DomainResult, ErrorKind, Timestamp, UserPoolId};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

/// The largest asset Cognito accepts (AssetBytesType), decoded.
pub const MAX_ASSET_BYTES: usize = 1_000_000;
/// The most assets one style holds (AssetListType).
pub const MAX_ASSETS: usize = 40;

/// An image of a style, as the wire carries it (`bytes` base64-encoded). Category, colour mode
/// and extension are the model's enum values, checked by the wire layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandingAsset {
    pub category: String,
    pub color_mode: String,
    pub extension: String,
    pub bytes: Option<String>,
    pub resource_id: Option<String>,
}

impl BrandingAsset {
    /// The decoded image, if the asset carries one.
    pub fn decoded(&self) -> Option<Vec<u8>> {
        self.bytes.as_ref().and_then(|b| STANDARD.decode(b).ok())
    }

    fn slot(&self) -> (&str, &str) {
        (&self.category, &self.color_mode)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManagedLoginBranding {
    pub id: Uuid,
    pub pool_id: UserPoolId,
    pub client_id: ClientId,
    pub use_cognito_provided_values: bool,
    /// The Settings document as given (merged with later updates); `None` with Cognito's values.
    pub settings: Option<Value>,
    pub assets: Vec<BrandingAsset>,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
}

/// What CreateManagedLoginBranding and UpdateManagedLoginBranding ask for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BrandingChange {
    pub use_cognito_provided_values: bool,
    pub settings: Option<Value>,
    pub assets: Option<Vec<BrandingAsset>>,
}

pub fn branding_exists() -> DomainError {
    DomainError::new(
        ErrorKind::ManagedLoginBrandingExists,
        "A managed login branding style already exists for this app client.",
    )
}

pub fn branding_not_found() -> DomainError {
    DomainError::resource_not_found("Managed login branding style does not exist.")
}

pub fn client_has_no_branding(client: &str) -> DomainError {
    DomainError::resource_not_found(format!(
        "No managed login branding style is assigned to app client {client}."
    ))
}

impl BrandingChange {
    /// Checks the request: `UseCognitoProvidedValues` excludes Settings and Assets; Settings is
    /// a JSON object; assets are at most 40, one per category and colour mode, each at most
    /// 1,000,000 bytes of valid base64.
    fn check(&self, creating: bool) -> DomainResult<()> {
        if self.use_cognito_provided_values {
            if self.settings.is_some() || self.assets.is_some() {
                return Err(DomainError::invalid_parameter(
                    "Settings and Assets must be omitted when UseCognitoProvidedValues is true.",
                ));
            }
        } else if creating && self.settings.is_none() {
            return Err(DomainError::invalid_parameter(
                "Settings must be provided when UseCognitoProvidedValues is not true.",
            ));
        }
        if let Some(s) = &self.settings
            && !s.is_object()
        {
            return Err(DomainError::invalid_parameter(
                "Settings must be a JSON object.",
            ));
        }
        let assets = self.assets.as_deref().unwrap_or_default();
        if assets.len() > MAX_ASSETS {
            return Err(DomainError::invalid_parameter(format!(
                "A style holds at most {MAX_ASSETS} assets."
            )));
        }
        for (i, a) in assets.iter().enumerate() {
            if assets[..i].iter().any(|o| o.slot() == a.slot()) {
                return Err(DomainError::invalid_parameter(format!(
                    "Duplicate asset for category {} and color mode {}.",
                    a.category, a.color_mode
                )));
            }
            if let Some(b) = &a.bytes {
                let bytes = STANDARD.decode(b).map_err(|_| {
                    DomainError::invalid_parameter("Asset Bytes must be base64-encoded.")
                })?;
                if bytes.len() > MAX_ASSET_BYTES {
                    return Err(DomainError::invalid_parameter(format!(
                        "An asset must not exceed {MAX_ASSET_BYTES} bytes."
                    )));
                }
            }
        }
        Ok(())
    }
}

impl ManagedLoginBranding {
    /// A new style for `client`; `id` is a fresh UUID v4 from the caller's randomness.
    pub fn new(
        id: Uuid,
        pool_id: UserPoolId,
        client_id: ClientId,
        change: BrandingChange,
        now: Timestamp,
    ) -> DomainResult<Self> {
        change.check(true)?;
        Ok(Self {
            id,
            pool_id,
            client_id,
            use_cognito_provided_values: change.use_cognito_provided_values,
            settings: change.settings,
            assets: change.assets.unwrap_or_default(),
            created_at: now,
            modified_at: now,
        })
    }

    /// UpdateManagedLoginBranding: `UseCognitoProvidedValues` resets the style to Cognito's
    /// values; otherwise the given settings are merged into the stored ones (objects key by key,
    /// anything else replaced) and each given asset replaces the one of its category and colour
    /// mode. What the request doesn't mention is kept.
    pub fn update(&mut self, change: BrandingChange, now: Timestamp) -> DomainResult<()> {
        change.check(false)?;
        if change.use_cognito_provided_values {
            self.use_cognito_provided_values = true;
            self.settings = None;
            self.assets.clear();
        } else {
            if let Some(s) = change.settings {
                let mut base = self.settings.take().unwrap_or_else(|| json!({}));
                merge(&mut base, s);
                self.settings = Some(base);
                self.use_cognito_provided_values = false;
            }
            if let Some(assets) = change.assets {
                for a in assets {
                    self.assets.retain(|o| o.slot() != a.slot());
                    self.assets.push(a);
                }
                self.use_cognito_provided_values = false;
            }
        }
        self.modified_at = now;
        Ok(())
    }

    /// The settings with Tessera's defaults filled in (ReturnMergedResources).
    pub fn merged_settings(&self) -> Value {
        let mut all = default_settings();
        if let Some(s) = &self.settings {
            merge(&mut all, s.clone());
        }
        all
    }
}

/// Merges `patch` into `base`: objects key by key, recursively; any other value replaces.
pub fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, p) => *b = p,
    }
}

/// Tessera's "Cognito-provided values": the settings keys its pages apply, with the colours of
/// Cognito's default managed-login style. Colours are `RRGGBBAA` hex, as Cognito writes them.
pub fn default_settings() -> Value {
    json!({
        "categories": {
            "global": { "colorSchemeMode": "LIGHT" }
        },
        "componentClasses": {
            "focusState": {
                "lightMode": { "borderColor": "0972d3ff" },
                "darkMode": { "borderColor": "539fe5ff" }
            },
            "link": {
                "lightMode": { "defaults": { "textColor": "0972d3ff" } },
                "darkMode": { "defaults": { "textColor": "539fe5ff" } }
            }
        },
        "components": {
            "pageBackground": {
                "lightMode": { "color": "ffffffff" },
                "darkMode": { "color": "0f1b2aff" }
            },
            "form": {
                "lightMode": { "backgroundColor": "ffffffff", "borderColor": "c6c6cdff" },
                "darkMode": { "backgroundColor": "0f1b2aff", "borderColor": "424650ff" }
            },
            "primaryButton": {
                "lightMode": {
                    "defaults": { "backgroundColor": "0972d3ff", "textColor": "ffffffff" },
                    "hover": { "backgroundColor": "033160ff", "textColor": "ffffffff" }
                },
                "darkMode": {
                    "defaults": { "backgroundColor": "539fe5ff", "textColor": "000716ff" },
                    "hover": { "backgroundColor": "89bdeeff", "textColor": "000716ff" }
                }
            }
        }
    })
}

/// A colour from a Settings document, validated: CSS hex (`#rrggbb` or `#rrggbbaa`), safe to
/// put in a style sheet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrandColor(String);

impl BrandColor {
    /// Cognito writes `RRGGBBAA` (sometimes `RRGGBB`), with or without `#`.
    pub fn parse(s: &str) -> Option<Self> {
        let hex = s.strip_prefix('#').unwrap_or(s);
        (matches!(hex.len(), 6 | 8) && hex.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| Self(format!("#{}", hex.to_ascii_lowercase())))
    }

    pub fn css(&self) -> &str {
        &self.0
    }
}

/// The image a page shows as its logo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrandLogo {
    /// The asset's Extension (`PNG`, `SVG`, …). Show SVG only through `<img>` (or a data: URL
    /// in one), never inline, so any script in it stays inert.
    pub extension: String,
    pub bytes: Vec<u8>,
}

impl BrandLogo {
    pub fn media_type(&self) -> &'static str {
        match self.extension.as_str() {
            "PNG" => "image/png",
            "JPEG" => "image/jpeg",
            "SVG" => "image/svg+xml",
            "WEBP" => "image/webp",
            "ICO" => "image/x-icon",
            _ => "application/octet-stream",
        }
    }
}

/// What the hosted pages apply from a managed-login style, in light mode (the subset README
/// documents). Every colour is validated; a missing or malformed key leaves its field `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BrandingLook {
    /// `components.primaryButton.lightMode.defaults.backgroundColor`
    pub primary_color: Option<BrandColor>,
    /// `components.primaryButton.lightMode.defaults.textColor`
    pub primary_text_color: Option<BrandColor>,
    /// `components.primaryButton.lightMode.hover.backgroundColor`
    pub primary_hover_color: Option<BrandColor>,
    /// `componentClasses.link.lightMode.defaults.textColor`
    pub accent_color: Option<BrandColor>,
    /// `componentClasses.focusState.lightMode.borderColor`
    pub focus_color: Option<BrandColor>,
    /// `components.pageBackground.lightMode.color`
    pub page_background: Option<BrandColor>,
    /// `components.form.lightMode.backgroundColor`
    pub form_background: Option<BrandColor>,
    /// `components.form.lightMode.borderColor`
    pub form_border: Option<BrandColor>,
    /// The FORM_LOGO asset, else PAGE_HEADER_LOGO; LIGHT before DYNAMIC before DARK.
    pub logo: Option<BrandLogo>,
}

impl BrandingLook {
    pub fn from_settings(settings: &Value, assets: &[BrandingAsset]) -> Self {
        let color = |path: &[&str]| {
            path.iter()
                .try_fold(settings, |v, k| v.get(k))
                .and_then(Value::as_str)
                .and_then(BrandColor::parse)
        };
        let rank = |a: &BrandingAsset| {
            let category = ["FORM_LOGO", "PAGE_HEADER_LOGO"]
                .iter()
                .position(|c| *c == a.category)?;
            let mode = ["LIGHT", "DYNAMIC", "DARK"]
                .iter()
                .position(|m| *m == a.color_mode)?;
            Some((category, mode))
        };
        let logo = assets
            .iter()
            .filter_map(|a| Some((rank(a)?, a)))
            .filter(|(_, a)| a.bytes.is_some())
            .min_by_key(|(r, _)| *r)
            .and_then(|(_, a)| {
                Some(BrandLogo {
                    extension: a.extension.clone(),
                    bytes: a.decoded()?,
                })
            });
        Self {
            primary_color: color(&[
                "components",
                "primaryButton",
                "lightMode",
                "defaults",
                "backgroundColor",
            ]),
            primary_text_color: color(&[
                "components",
                "primaryButton",
                "lightMode",
                "defaults",
                "textColor",
            ]),
            primary_hover_color: color(&[
                "components",
                "primaryButton",
                "lightMode",
                "hover",
                "backgroundColor",
            ]),
            accent_color: color(&[
                "componentClasses",
                "link",
                "lightMode",
                "defaults",
                "textColor",
            ]),
            focus_color: color(&["componentClasses", "focusState", "lightMode", "borderColor"]),
            page_background: color(&["components", "pageBackground", "lightMode", "color"]),
            form_background: color(&["components", "form", "lightMode", "backgroundColor"]),
            form_border: color(&["components", "form", "lightMode", "borderColor"]),
            logo,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn asset(category: &str, mode: &str, bytes: &[u8]) -> BrandingAsset {
        BrandingAsset {
            category: category.into(),
            color_mode: mode.into(),
            extension: "PNG".into(),
            bytes: Some(STANDARD.encode(bytes)),
            resource_id: None,
        }
    }

    fn style(change: BrandingChange) -> DomainResult<ManagedLoginBranding> {
        ManagedLoginBranding::new(
            Uuid::from_bytes([7; 16]),
            UserPoolId::parse("us-east-1_Brand").unwrap(),
            ClientId::parse("abcdefghijklmnopqrstuvwxyz").unwrap(),
            change,
            Timestamp::from_secs(1),
        )
    }

    #[test]
    fn cognito_values_exclude_settings_and_assets() {
        let both = BrandingChange {
            use_cognito_provided_values: true,
            settings: Some(json!({})),
            assets: None,
        };
        assert_eq!(style(both).unwrap_err().kind, ErrorKind::InvalidParameter);
        assert!(style(BrandingChange::default()).is_err());
        let defaults = style(BrandingChange {
            use_cognito_provided_values: true,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(defaults.merged_settings(), default_settings());
        let not_object = BrandingChange {
            settings: Some(json!([1])),
            ..Default::default()
        };
        assert!(style(not_object).is_err());
    }

    #[test]
    fn assets_are_bounded_and_one_per_slot() {
        let dup = BrandingChange {
            settings: Some(json!({})),
            assets: Some(vec![
                asset("FORM_LOGO", "LIGHT", b"a"),
                asset("FORM_LOGO", "LIGHT", b"b"),
            ]),
            ..Default::default()
        };
        assert!(style(dup).is_err());
        let big = BrandingChange {
            settings: Some(json!({})),
            assets: Some(vec![asset(
                "FORM_LOGO",
                "LIGHT",
                &vec![0; MAX_ASSET_BYTES + 1],
            )]),
            ..Default::default()
        };
        assert!(style(big).is_err());
        let ok = BrandingChange {
            settings: Some(json!({})),
            assets: Some(vec![asset("FORM_LOGO", "LIGHT", &vec![0; MAX_ASSET_BYTES])]),
            ..Default::default()
        };
        assert!(style(ok).is_ok());
    }

    #[test]
    fn updates_merge_settings_and_replace_assets_by_slot() {
        let mut s = style(BrandingChange {
            settings: Some(json!({"a": {"x": 1, "y": 2}, "list": [1, 2]})),
            assets: Some(vec![
                asset("FORM_LOGO", "LIGHT", b"old"),
                asset("FAVICON_ICO", "LIGHT", b"fav"),
            ]),
            ..Default::default()
        })
        .unwrap();
        s.update(
            BrandingChange {
                settings: Some(json!({"a": {"y": 3}, "list": [9], "b": true})),
                assets: Some(vec![asset("FORM_LOGO", "LIGHT", b"new")]),
                ..Default::default()
            },
            Timestamp::from_secs(2),
        )
        .unwrap();
        assert_eq!(
            s.settings,
            Some(json!({"a": {"x": 1, "y": 3}, "list": [9], "b": true}))
        );
        assert_eq!(s.assets.len(), 2);
        assert!(s.assets.contains(&asset("FORM_LOGO", "LIGHT", b"new")));
        assert_eq!(s.modified_at, Timestamp::from_secs(2));
        assert_eq!(s.created_at, Timestamp::from_secs(1));
        s.update(
            BrandingChange {
                use_cognito_provided_values: true,
                ..Default::default()
            },
            Timestamp::from_secs(3),
        )
        .unwrap();
        assert!(s.use_cognito_provided_values && s.settings.is_none() && s.assets.is_empty());
    }

    #[test]
    fn the_look_takes_validated_light_colours_and_the_preferred_logo() {
        let mut settings = default_settings();
        merge(
            &mut settings,
            json!({"components": {"pageBackground": {"lightMode": {"color": "112233"}},
                   "primaryButton": {"lightMode": {"defaults": {"textColor": "red;}</style>"}}}}}),
        );
        let assets = [
            asset("PAGE_HEADER_LOGO", "LIGHT", b"header"),
            asset("FORM_LOGO", "DARK", b"dark"),
            asset("FORM_LOGO", "DYNAMIC", b"dynamic"),
            asset("FAVICON_ICO", "LIGHT", b"icon"),
        ];
        let look = BrandingLook::from_settings(&settings, &assets);
        assert_eq!(look.page_background.unwrap().css(), "#112233");
        assert_eq!(look.primary_color.unwrap().css(), "#0972d3ff");
        assert_eq!(look.primary_text_color, None);
        assert_eq!(look.logo.unwrap().bytes, b"dynamic");
        let header_only = BrandingLook::from_settings(&json!({}), &assets[..1]);
        assert_eq!(header_only.logo.unwrap().bytes, b"header");
        assert_eq!(header_only.primary_color, None);
    }
}
