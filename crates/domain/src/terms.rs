//! Terms documents (CreateTerms and its siblings): per app client, at most one terms-of-use and
//! one privacy-policy document, each a map of managed-login languages to links. The hosted
//! sign-up page shows both links, in the page's language or the `cognito:default` one, once the
//! client has both documents, as Cognito documents.
//!
//! `TermsSource` (only `LINK`) and `Enforcement` (only `NONE`) are reserved by Cognito for future
//! use; the wire layer checks their single values and Tessera stores nothing for them.

use crate::{ClientId, DomainError, DomainResult, ErrorKind, Timestamp, UserPoolId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The language every page falls back to.
pub const DEFAULT_LANGUAGE: &str = "cognito:default";

/// The document a terms record is: its `TermsName`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TermsKind {
    TermsOfUse,
    PrivacyPolicy,
}

impl TermsKind {
    pub fn parse(name: &str) -> DomainResult<Self> {
        match name {
            "terms-of-use" => Ok(Self::TermsOfUse),
            "privacy-policy" => Ok(Self::PrivacyPolicy),
            _ => Err(DomainError::invalid_parameter(
                "TermsName must be terms-of-use or privacy-policy.",
            )),
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TermsOfUse => "terms-of-use",
            Self::PrivacyPolicy => "privacy-policy",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    pub id: Uuid,
    pub pool_id: UserPoolId,
    pub client_id: ClientId,
    pub kind: TermsKind,
    /// `cognito:{language}` → URL, as given (the wire layer checks the keys' pattern).
    pub links: BTreeMap<String, String>,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
}

pub fn terms_exists(kind: TermsKind) -> DomainError {
    DomainError::new(
        ErrorKind::TermsExists,
        format!(
            "Terms with name {} already exist for this app client.",
            kind.as_str()
        ),
    )
}

pub fn terms_not_found() -> DomainError {
    DomainError::resource_not_found("Terms not found.")
}

/// Links are shown as `href`s on the sign-up page: only absolute `https://` URLs, so a link can
/// never be `javascript:` or a relative path on Tessera's own domain.
fn check_links(links: &BTreeMap<String, String>) -> DomainResult<()> {
    if links.is_empty() {
        return Err(DomainError::invalid_parameter(
            "Links are required when TermsSource is LINK.",
        ));
    }
    for url in links.values() {
        let host = url.strip_prefix("https://").unwrap_or_default();
        let host = host.split(['/', '?', '#']).next().unwrap_or_default();
        if host.is_empty() || url.chars().any(char::is_whitespace) {
            return Err(DomainError::invalid_parameter(
                "Links must be absolute https URLs.",
            ));
        }
    }
    Ok(())
}

impl Terms {
    pub fn new(
        id: Uuid,
        pool_id: UserPoolId,
        client_id: ClientId,
        kind: TermsKind,
        links: Option<BTreeMap<String, String>>,
        now: Timestamp,
    ) -> DomainResult<Self> {
        let links = links.unwrap_or_default();
        check_links(&links)?;
        Ok(Self {
            id,
            pool_id,
            client_id,
            kind,
            links,
            created_at: now,
            modified_at: now,
        })
    }

    /// UpdateTerms: members given replace the stored ones.
    pub fn update(
        &mut self,
        kind: Option<TermsKind>,
        links: Option<BTreeMap<String, String>>,
        now: Timestamp,
    ) -> DomainResult<()> {
        if let Some(links) = links {
            check_links(&links)?;
            self.links = links;
        }
        if let Some(kind) = kind {
            self.kind = kind;
        }
        self.modified_at = now;
        Ok(())
    }

    /// The link for a page in `language` (`cognito:english` …), else the default one.
    pub fn link_for(&self, language: &str) -> Option<&str> {
        self.links
            .get(language)
            .or_else(|| self.links.get(DEFAULT_LANGUAGE))
            .map(String::as_str)
    }
}

/// The managed-login language key (`cognito:…`) of a page language tag (`en`, `de`, `pt-BR` …).
pub fn language_key(tag: &str) -> &'static str {
    let tag = tag.to_ascii_lowercase();
    let primary = tag.split(['-', '_']).next().unwrap_or_default();
    match (primary, tag.as_str()) {
        ("en", _) => "cognito:english",
        ("de", _) => "cognito:german",
        ("fr", _) => "cognito:french",
        ("es", _) => "cognito:spanish",
        ("nl", _) => "cognito:dutch",
        ("id", _) => "cognito:bahasa-indonesia",
        ("it", _) => "cognito:italian",
        ("ja", _) => "cognito:japanese",
        ("ko", _) => "cognito:korean",
        ("pt", _) => "cognito:portuguese-brazil",
        ("zh", "zh-tw" | "zh-hk" | "zh-hant") => "cognito:chinese-traditional",
        ("zh", _) => "cognito:chinese-simplified",
        _ => DEFAULT_LANGUAGE,
    }
}

/// The two links a sign-up page shows: only when the client has both documents with a link
/// for the page's language or a default one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TermsLinks {
    pub terms_of_use: String,
    pub privacy_policy: String,
}

impl TermsLinks {
    pub fn of(documents: &[Terms], page_language: &str) -> Option<Self> {
        let key = language_key(page_language);
        let link = |kind| {
            documents
                .iter()
                .find(|t| t.kind == kind)
                .and_then(|t| t.link_for(key))
                .map(str::to_string)
        };
        Some(Self {
            terms_of_use: link(TermsKind::TermsOfUse)?,
            privacy_policy: link(TermsKind::PrivacyPolicy)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(kind: TermsKind, links: &[(&str, &str)]) -> DomainResult<Terms> {
        Terms::new(
            Uuid::nil(),
            UserPoolId::parse("us-east-1_abc").unwrap_or_else(|e| panic!("{e}")),
            ClientId::parse("client1").unwrap_or_else(|e| panic!("{e}")),
            kind,
            Some(
                links
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            Timestamp::from_millis(0),
        )
    }

    #[test]
    fn links_must_be_https_and_present() {
        assert!(terms(TermsKind::TermsOfUse, &[]).is_err());
        for bad in [
            "javascript:alert(1)",
            "http://example.com",
            "https://",
            "/relative",
            "https://a b",
        ] {
            let e = terms(TermsKind::TermsOfUse, &[(DEFAULT_LANGUAGE, bad)]);
            assert_eq!(
                e.map_err(|e| e.kind),
                Err(ErrorKind::InvalidParameter),
                "{bad}"
            );
        }
        assert!(
            terms(
                TermsKind::TermsOfUse,
                &[(DEFAULT_LANGUAGE, "https://t.example")]
            )
            .is_ok()
        );
    }

    #[test]
    fn pages_get_their_language_or_the_default_and_only_with_both_documents() {
        let tou = terms(
            TermsKind::TermsOfUse,
            &[
                (DEFAULT_LANGUAGE, "https://t.example/"),
                ("cognito:german", "https://t.example/de"),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let pp = terms(
            TermsKind::PrivacyPolicy,
            &[("cognito:english", "https://p.example/en")],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(TermsLinks::of(std::slice::from_ref(&tou), "en"), None);
        let both = [tou, pp];
        let en = TermsLinks::of(&both, "en").unwrap_or_else(|| panic!("links"));
        assert_eq!(en.terms_of_use, "https://t.example/");
        assert_eq!(en.privacy_policy, "https://p.example/en");
        // German has its own terms of use but no privacy policy in German or by default.
        assert_eq!(TermsLinks::of(&both, "de"), None);
        assert_eq!(language_key("pt-BR"), "cognito:portuguese-brazil");
        assert_eq!(language_key("zh-TW"), "cognito:chinese-traditional");
        assert_eq!(language_key("xx"), DEFAULT_LANGUAGE);
    }
}
