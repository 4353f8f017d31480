//! Tessera's SAML 2.0 service provider, the part of a user pool that federates with SAML identity
//! providers (Okta, Entra ID, ADFS, Keycloak …) as Cognito does.
//!
//! Pure and synchronous: the engine hands in the provider's metadata, the pool's SP keys, the
//! time and the posted form, and gets back facts. The XML work (parsing with DOCTYPE/XXE
//! refused and size limits, XML-DSig, XML-Enc, C14N) is saml-rs over bergshamra, pure Rust on
//! aws-lc. What this crate adds is Tessera's policy on top of it:
//!
//! - the SP entity id is Cognito's `urn:amazon:cognito:sp:{poolId}`;
//! - an IdP's keys come from its metadata only (never from the message's `KeyInfo`);
//! - a Response must carry a valid signature over the Response or over the Assertion that is
//!   consumed (the library's signed-reference placement check refuses signature wrapping), with
//!   RSA-SHA2 and exclusive canonicalisation only;
//! - `Audience` must be the SP, `Destination`/`Recipient` the ACS, the bearer confirmation and
//!   the `Conditions` window current with [`SKEW_MS`] of grace, and `InResponseTo` the request
//!   Tessera sent (SP-initiated) or absent (IdP-initiated);
//! - replay (each assertion id accepted once) is the caller's, because it must hold across
//!   nodes: [`Verified::assertion_id`] and [`Verified::keep_until_ms`] say what to store.

use base64::Engine as _;
use saml_rs::{
    AcsEndpoint, AssertionSignaturePolicy, AudienceValidationPolicy, AuthnRequestSigningPolicy,
    BrowserInput, CertificatePem, ClockSkew, Credentials, EntityId, FormField, IdpDescriptor,
    LogoutSigning, LogoutSubject, MetadataTrustPolicy, NameId, NameIdFormat, PendingAuthnRequest,
    PendingSnapshot, PrivateKeyPem, RelayStateParam, ReplayPolicy, ResponseSignaturePolicy, Saml,
    SamlError, SamlValidationContext, SessionIndex, SloEndpoint, SpConfig, SpValidationPolicy,
    SsoResponse, StartSlo, StartSso, XmlEncryptionPolicy, XmlPolicy, XmlSignatureProfile,
};
use std::time::{Duration, SystemTime};

/// Clock-skew grace on NotBefore/NotOnOrAfter, in milliseconds.
pub const SKEW_MS: i64 = 60_000;
/// Largest SAMLResponse form value accepted (Cognito: 100,000 characters of assertion; base64
/// adds a third).
pub const MAX_RESPONSE_CHARS: usize = 140_000;
/// Largest metadata document accepted.
pub const MAX_METADATA_CHARS: usize = 131_072;

/// The SP entity id (and assertion audience) of a user pool.
pub fn sp_entity_id(pool_id: &str) -> String {
    format!("urn:amazon:cognito:sp:{pool_id}")
}

/// Why a SAML step failed. [`Refusal::reason`] is short and fit for an end user's page; the
/// [`Display`](std::fmt::Display) form carries the library's detail for the audit log.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("not valid SAML metadata: {0}")]
    Metadata(String),
    #[error("malformed response: {0}")]
    Malformed(String),
    #[error("signature: {0}")]
    Signature(String),
    #[error("audience: {0}")]
    Audience(String),
    #[error("destination or recipient: {0}")]
    Destination(String),
    #[error("time window: {0}")]
    Expired(String),
    #[error("correlation: {0}")]
    Correlation(String),
    #[error("issuer: {0}")]
    Issuer(String),
    #[error("status: {0}")]
    Status(String),
    #[error("encryption: {0}")]
    Encryption(String),
    #[error("{0}")]
    Other(String),
}

impl Refusal {
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Metadata(_) => "the provider's metadata is not usable",
            Refusal::Malformed(_) => "the response is not acceptable SAML",
            Refusal::Signature(_) => "bad or missing signature",
            Refusal::Audience(_) => "wrong audience",
            Refusal::Destination(_) => "wrong destination",
            Refusal::Expired(_) => "expired or not yet valid",
            Refusal::Correlation(_) => "the response does not answer our request",
            Refusal::Issuer(_) => "wrong issuer",
            Refusal::Status(_) => "the identity provider reported a failure",
            Refusal::Encryption(_) => "the assertion could not be decrypted",
            Refusal::Other(_) => "the response was refused",
        }
    }
}

fn classify(e: SamlError) -> Refusal {
    let detail = e.to_string();
    match e {
        SamlError::SignatureMissing
        | SamlError::SignedReferenceMismatch
        | SamlError::AssertionSignatureRequired
        | SamlError::AlgorithmUnsupported
        | SamlError::NoTrustedCertificate
        | SamlError::CertificateMismatch
        | SamlError::PotentialWrappingAttack
        | SamlError::MissingSigAlg
        | SamlError::FailedMessageSignatureVerification
        | SamlError::FailedToVerifySignature
        | SamlError::UnmatchCertificate => Refusal::Signature(detail),
        SamlError::UnmatchAudience => Refusal::Audience(detail),
        SamlError::UnmatchDestination => Refusal::Destination(detail),
        SamlError::UnmatchIssuer => Refusal::Issuer(detail),
        SamlError::InvalidInResponseTo => Refusal::Correlation(detail),
        SamlError::ExpiredSession => Refusal::Expired(detail),
        SamlError::UndefinedStatus => Refusal::Status(detail),
        SamlError::Xml(_) => Refusal::Malformed(detail),
        _ => {
            // The library's error set is non-exhaustive and richer than the variants matched
            // above (reasons nested in struct variants); sort the rest by what they say.
            let d = detail.to_ascii_lowercase();
            if d.contains("signature") || d.contains("digest") || d.contains("reference") {
                Refusal::Signature(detail)
            } else if d.contains("audience") {
                Refusal::Audience(detail)
            } else if d.contains("recipient") || d.contains("destination") {
                Refusal::Destination(detail)
            } else if d.contains("notonorafter")
                || d.contains("notbefore")
                || d.contains("expired")
                || d.contains("time")
            {
                Refusal::Expired(detail)
            } else if d.contains("inresponseto") || d.contains("relaystate") {
                Refusal::Correlation(detail)
            } else if d.contains("decrypt") || d.contains("encrypt") {
                Refusal::Encryption(detail)
            } else if d.contains("status") {
                Refusal::Status(detail)
            } else {
                Refusal::Other(detail)
            }
        }
    }
}

/// What Tessera keeps from an IdP's metadata (Describe shows the URLs as Cognito's derived
/// ProviderDetails keys).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdpSummary {
    pub entity_id: String,
    pub sso_redirect: Option<String>,
    pub sso_post: Option<String>,
    pub slo_redirect: Option<String>,
    pub signing_certificates: Vec<String>,
    pub want_authn_requests_signed: bool,
}

fn descriptor(xml: &str) -> Result<IdpDescriptor, Refusal> {
    if xml.len() > MAX_METADATA_CHARS {
        return Err(Refusal::Metadata("larger than 128 KiB".into()));
    }
    // The metadata is the operator's (registered with SigV4-signed admin calls), the trust
    // anchor itself: a signature on it is not required.
    IdpDescriptor::from_metadata_xml(xml, MetadataTrustPolicy::UnsignedForCompatibility)
        .map_err(|e| Refusal::Metadata(e.to_string()))
}

/// Reads an IdP's metadata: entity id, endpoints, signing certificates. A document without a
/// signing certificate or without a Redirect or POST SingleSignOnService is refused, as nothing
/// could sign in through it.
pub fn parse_idp_metadata(xml: &str) -> Result<IdpSummary, Refusal> {
    let d = descriptor(xml)?;
    let m = d.metadata();
    let summary = IdpSummary {
        entity_id: d.entity_id().as_str().to_string(),
        sso_redirect: m.get_single_sign_on_service(saml_rs::raw::Binding::Redirect),
        sso_post: m.get_single_sign_on_service(saml_rs::raw::Binding::Post),
        slo_redirect: m.get_single_logout_service(saml_rs::raw::Binding::Redirect),
        signing_certificates: m.x509_certificates(saml_rs::constants::CertUse::Signing),
        want_authn_requests_signed: m.is_want_authn_requests_signed(),
    };
    if summary.signing_certificates.is_empty() {
        return Err(Refusal::Metadata("no signing certificate".into()));
    }
    if summary.sso_redirect.is_none() && summary.sso_post.is_none() {
        return Err(Refusal::Metadata("no SingleSignOnService".into()));
    }
    Ok(summary)
}

/// A pool's SP key pairs: one signs AuthnRequests and LogoutRequests (its certificate is what
/// GetSigningCertificate returns), the other decrypts assertions (ActiveEncryptionCertificate).
#[derive(Clone)]
pub struct SpKeys {
    pub signing_certificate: String,
    pub signing_key: String,
    pub encryption_certificate: String,
    pub encryption_key: String,
}

impl std::fmt::Debug for SpKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpKeys").finish_non_exhaustive()
    }
}

/// A certificate valid for ten years from `now_secs`, as Cognito's, for a fresh RSA-2048 key.
fn self_signed(pool_id: &str, purpose: &str, now_secs: i64) -> Result<(String, String), Refusal> {
    let fail = |e: rcgen::Error| Refusal::Other(format!("SP key generation: {e}"));
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).map_err(fail)?;
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{purpose} {pool_id}"));
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Tessera");
    let day = 86_400;
    params.not_before = time::OffsetDateTime::from_unix_timestamp(now_secs - day)
        .map_err(|e| Refusal::Other(e.to_string()))?;
    params.not_after = time::OffsetDateTime::from_unix_timestamp(now_secs + 3_652 * day)
        .map_err(|e| Refusal::Other(e.to_string()))?;
    let cert = params.self_signed(&key).map_err(fail)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Generates a pool's SP key pairs and certificates.
pub fn generate_sp_keys(pool_id: &str, now_secs: i64) -> Result<SpKeys, Refusal> {
    let (signing_certificate, signing_key) = self_signed(pool_id, "signing", now_secs)?;
    let (encryption_certificate, encryption_key) = self_signed(pool_id, "encryption", now_secs)?;
    Ok(SpKeys {
        signing_certificate,
        signing_key,
        encryption_certificate,
        encryption_key,
    })
}

/// The base64 DER body of a PEM certificate (what GetSigningCertificate and metadata carry).
pub fn pem_body(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect()
}

/// One pool's SP, at one domain.
#[derive(Clone, Debug)]
pub struct ServiceProvider {
    pub pool_id: String,
    /// `…/saml2/idpresponse` on the domain the browser uses.
    pub acs_url: String,
    /// `…/saml2/logout` on that domain.
    pub slo_url: String,
    pub keys: SpKeys,
    /// The provider wants signed AuthnRequests (`RequestSigningAlgorithm` set).
    pub sign_requests: bool,
    /// Assertions arrive encrypted to the pool's encryption certificate
    /// (`EncryptedResponses`); a plaintext one is then refused.
    pub encrypted_assertions: bool,
}

impl ServiceProvider {
    fn saml(&self) -> Result<Saml<saml_rs::Sp>, Refusal> {
        self.saml_signing(self.sign_requests)
    }

    fn saml_signing(&self, sign_requests: bool) -> Result<Saml<saml_rs::Sp>, Refusal> {
        let entity = EntityId::try_new(sp_entity_id(&self.pool_id)).map_err(classify)?;
        let policy = validation_policy(sign_requests);
        let config = SpConfig::builder(entity)
            .name_id_format(NameIdFormat::Unspecified)
            .acs_endpoint(AcsEndpoint::post(&self.acs_url).map_err(classify)?)
            .slo_endpoint(SloEndpoint::redirect(&self.slo_url).map_err(classify)?)
            .credentials(Credentials {
                signing_key: Some(PrivateKeyPem::new(&self.keys.signing_key)),
                signing_certificate: Some(CertificatePem::new(&self.keys.signing_certificate)),
                encryption_certificate: Some(CertificatePem::new(
                    &self.keys.encryption_certificate,
                )),
                decryption_key: Some(PrivateKeyPem::new(&self.keys.encryption_key)),
                ..Credentials::default()
            })
            .validation(policy)
            .xml(XmlPolicy {
                encryption: if self.encrypted_assertions {
                    XmlEncryptionPolicy::encrypt_assertions()
                } else {
                    XmlEncryptionPolicy::default()
                },
                ..XmlPolicy::default()
            })
            .build()
            .map_err(classify)?;
        Saml::sp(config).map_err(classify)
    }

    /// The SP metadata document (entity id, ACS, SLO, signing and encryption certificates).
    pub fn metadata_xml(&self) -> Result<String, Refusal> {
        Ok(self.saml()?.metadata_xml().to_string())
    }

    /// An AuthnRequest by the Redirect binding to the provider, carrying `relay_state`.
    /// Signed when the provider asks for it (`RequestSigningAlgorithm`) or its metadata says
    /// `WantAuthnRequestsSigned`.
    pub fn start(&self, idp_metadata: &str, relay_state: &str) -> Result<Started, Refusal> {
        let wanted = descriptor(idp_metadata)?
            .metadata()
            .is_want_authn_requests_signed();
        let sign = self.sign_requests || wanted;
        // saml-rs signs exactly when the IdP's metadata wants it; Cognito signs whenever the
        // provider is configured to, so our working copy of the metadata says it wants it.
        let idp = if sign && !wanted {
            descriptor(&wanting_signed_requests(idp_metadata))?
        } else {
            descriptor(idp_metadata)?
        };
        let relay =
            RelayStateParam::try_from_option(Some(relay_state.to_string())).map_err(classify)?;
        let started = self
            .saml_signing(sign)?
            .start_sso(&idp, StartSso::redirect().relay_state(relay))
            .map_err(classify)?;
        started_by_redirect(&started.outbound)
    }

    /// Verifies a posted `SAMLResponse` (see the crate documentation). `request` is the
    /// AuthnRequest it must answer, `None` for an IdP-initiated response.
    pub fn finish(
        &self,
        idp_metadata: &str,
        request: Option<&PendingRequest>,
        saml_response: &str,
        relay_state: Option<&str>,
        now_ms: i64,
    ) -> Result<Verified, Refusal> {
        if saml_response.len() > MAX_RESPONSE_CHARS {
            return Err(Refusal::Malformed("SAMLResponse too large".into()));
        }
        let idp = descriptor(idp_metadata)?;
        let mut fields = vec![FormField::new("SAMLResponse", saml_response)];
        // An IdP-initiated RelayState is the app's authorization request, longer than the
        // 80 bytes SAML bindings set for an opaque reference (Cognito accepts it): it is the
        // caller's to read and is not correlated with anything here.
        if let (Some(r), Some(_)) = (relay_state, request) {
            fields.push(FormField::new("RelayState", r));
        }
        let input = BrowserInput::<SsoResponse>::post(fields);
        let validation = validation_at(now_ms);
        let sp = self.saml()?;
        let session = match request {
            Some(req) => {
                let relay = RelayStateParam::try_from_option(Some(req.relay_state.clone()))
                    .map_err(classify)?;
                let snapshot = PendingSnapshot::authn_request(
                    req.request_id.clone(),
                    relay,
                    idp.entity_id().as_str(),
                    "post",
                    self.acs_url.clone(),
                    "post",
                );
                let pending = PendingAuthnRequest::from_snapshot(snapshot).map_err(classify)?;
                sp.finish_sso(&idp, &pending, input, validation)
            }
            None => sp.accept_unsolicited_sso(&idp, input, validation),
        }
        .map_err(classify)?;
        verified(&session, &self.acs_url, now_ms)
    }

    /// A LogoutRequest by the Redirect binding (always signed, as Cognito's), for the user
    /// `name_id` and the sessions the provider named at sign-in.
    pub fn logout_url(
        &self,
        idp_metadata: &str,
        name_id: &str,
        name_id_format: Option<&str>,
        session_indexes: &[String],
        relay_state: &str,
    ) -> Result<Started, Refusal> {
        let idp = descriptor(idp_metadata)?;
        let format = name_id_format.map(|f| NameIdFormat::Custom(f.to_string()));
        let subject = LogoutSubject::new(
            NameId::new(name_id, format),
            session_indexes
                .iter()
                .filter_map(|s| SessionIndex::try_new(s.clone()).ok())
                .collect(),
        );
        let relay =
            RelayStateParam::try_from_option(Some(relay_state.to_string())).map_err(classify)?;
        let started = self
            .saml()?
            .start_slo(
                &idp,
                subject,
                StartSlo::redirect()
                    .relay_state(relay)
                    .signing(LogoutSigning::Sign)
                    .allow_http_single_logout(),
            )
            .map_err(classify)?;
        started_by_redirect(&started.outbound)
    }
}

impl ServiceProvider {
    /// Verifies the provider's LogoutResponse (Redirect binding, `raw_query` as received) to
    /// the LogoutRequest `request_id` sent with `relay_state`: signed by the provider's
    /// metadata key, from its issuer, answering that request, with a success status.
    pub fn finish_logout(
        &self,
        idp_metadata: &str,
        request_id: &str,
        relay_state: &str,
        raw_query: &str,
        now_ms: i64,
    ) -> Result<(), Refusal> {
        let idp = descriptor(idp_metadata)?;
        let relay =
            RelayStateParam::try_from_option(Some(relay_state.to_string())).map_err(classify)?;
        let snapshot = PendingSnapshot::<saml_rs::LogoutRequest>::logout_request(
            request_id,
            relay,
            idp.entity_id().as_str(),
            saml_rs::LogoutBinding::Redirect,
        );
        let pending = saml_rs::PendingLogoutRequest::from_snapshot(snapshot).map_err(classify)?;
        let validation = validation_at(now_ms);
        self.saml()?
            .finish_slo(
                &idp,
                &pending,
                BrowserInput::<saml_rs::LogoutResponse>::redirect(raw_query),
                validation,
            )
            .map_err(classify)?;
        Ok(())
    }
}

/// IdP metadata whose IDPSSODescriptor says `WantAuthnRequestsSigned="true"`.
fn wanting_signed_requests(xml: &str) -> String {
    let Some(at) = xml.find("IDPSSODescriptor") else {
        return xml.to_string();
    };
    let tag_end = xml[at..].find('>').map_or(xml.len(), |e| at + e);
    let tag = &xml[at..tag_end];
    if let Some(flag) = tag.find("WantAuthnRequestsSigned=") {
        let value_start = at + flag + "WantAuthnRequestsSigned=".len() + 1;
        let value_end = xml[value_start..]
            .find(['"', '\''])
            .map_or(value_start, |e| value_start + e);
        return format!("{}true{}", &xml[..value_start], &xml[value_end..]);
    }
    let name_end = at + "IDPSSODescriptor".len();
    format!(
        "{} WantAuthnRequestsSigned=\"true\"{}",
        &xml[..name_end],
        &xml[name_end..]
    )
}

/// The checks' clock: `now_ms` with [`SKEW_MS`] of grace either way. Replay is the caller's,
/// against the store, so that it holds across nodes.
fn validation_at(now_ms: i64) -> SamlValidationContext<'static> {
    let now = SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(now_ms).unwrap_or(0));
    SamlValidationContext::new(now, ReplayPolicy::DisabledForCompatibility)
        .with_clock_skew(ClockSkew::from_millis(-SKEW_MS, SKEW_MS))
}

/// What Tessera's SP (a pool, or AWS for STS and identity pools) checks of a message and its
/// assertion: either the Response or the Assertion consumed must be signed (the POST binding
/// refuses a message with neither); only RSA-SHA2 with exclusive c14n; the audience checked.
fn validation_policy(sign_requests: bool) -> SpValidationPolicy {
    SpValidationPolicy {
        assertions: AssertionSignaturePolicy::AllowUnsignedForCompatibility,
        responses: ResponseSignaturePolicy::RequireForEncryptedCbc,
        xml_signatures: XmlSignatureProfile::StrictRsaSha2,
        authn_requests: if sign_requests {
            AuthnRequestSigningPolicy::Sign
        } else {
            AuthnRequestSigningPolicy::DoNotSignForCompatibility
        },
        audience: AudienceValidationPolicy::Validate,
        ..SpValidationPolicy::recommended()
    }
}

/// The facts of an accepted SSO session, received at `recipient`.
fn verified(
    session: &saml_rs::SsoSession,
    recipient: &str,
    now_ms: i64,
) -> Result<Verified, Refusal> {
    if session.verified_xml_signatures().is_empty() {
        // Defence in depth: the policy already refuses unsigned messages.
        return Err(Refusal::Signature("no verified signature".into()));
    }
    let attributes = session
        .attributes()
        .as_slice()
        .iter()
        .map(|a| {
            (
                a.name().to_string(),
                a.values().iter().map(|v| v.as_str().to_string()).collect(),
            )
        })
        .collect();
    let keep_until_ms = session
        .not_on_or_after()
        .and_then(|t| instant_ms(t.as_str()))
        .map_or(now_ms + 10 * 60_000, |t| t + SKEW_MS)
        .max(now_ms + SKEW_MS);
    Ok(Verified {
        assertion_id: session.assertion_id().as_str().to_string(),
        issuer: session.issuer().as_str().to_string(),
        name_id: session.name_id().value().to_string(),
        name_id_format: session.name_id().format().map(|f| f.as_uri().to_string()),
        session_indexes: session
            .authn_sessions()
            .iter()
            .filter_map(|s| s.session_index())
            .map(|s| s.as_str().to_string())
            .collect(),
        attributes,
        keep_until_ms,
        recipient: recipient.to_string(),
    })
}

/// A request sent by the Redirect binding: its URL, and its ID for `InResponseTo`.
fn started_by_redirect<M>(outbound: &saml_rs::Outbound<M>) -> Result<Started, Refusal> {
    Ok(Started {
        redirect_url: outbound.redirect_url().map_err(classify)?.to_string(),
        request_id: outbound.id().as_str().to_string(),
    })
}

/// An AuthnRequest (or LogoutRequest) on its way: where to send the browser, and the id the
/// answer must name in `InResponseTo`.
#[derive(Clone, Debug)]
pub struct Started {
    pub redirect_url: String,
    pub request_id: String,
}

/// The request a response must answer, and the RelayState it was sent with.
#[derive(Clone, Debug)]
pub struct PendingRequest {
    pub request_id: String,
    pub relay_state: String,
}

/// A verified assertion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub assertion_id: String,
    pub issuer: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub session_indexes: Vec<String>,
    /// Attribute name → values, in document order.
    pub attributes: Vec<(String, Vec<String>)>,
    /// Until when the assertion id must be remembered to refuse a replay (its validity end
    /// plus the skew).
    pub keep_until_ms: i64,
    /// The ACS the assertion was addressed to (its `Recipient`).
    pub recipient: String,
}

/// AWS's SAML audience (IAM's SP entity id): what an IdP is set up with for AWS federation
/// (STS AssumeRoleWithSAML and identity-pool SAML logins).
pub const AWS_AUDIENCE: &str = "urn:amazon:webservices";
/// AWS's sign-in ACS, the `Recipient` an assertion for AWS names (regional ones are
/// `https://{region}.signin.aws.amazon.com/saml`).
pub const AWS_SIGNIN_ACS: &str = "https://signin.aws.amazon.com/saml";

/// Verifies an IdP-initiated `SAMLResponse` (base64) addressed to AWS, as STS and identity
/// pools receive it: signed with a key in `idp_metadata` (IAM's SAML provider document),
/// audience [`AWS_AUDIENCE`], recipient and destination [`AWS_SIGNIN_ACS`] or the `region`'s
/// sign-in endpoint, no `InResponseTo`, within its validity window. Replay is not refused
/// here: AWS accepts one assertion for several roles within its validity (saml2aws and
/// aws-adfs rely on it), and an identity pool's GetId and GetCredentialsForIdentity both carry
/// it.
pub fn verify_for_aws(
    idp_metadata: &str,
    saml_response: &str,
    region: &str,
    now_ms: i64,
) -> Result<Verified, Refusal> {
    if saml_response.len() > MAX_RESPONSE_CHARS {
        return Err(Refusal::Malformed("SAMLResponse too large".into()));
    }
    let idp = descriptor(idp_metadata)?;
    let regional = format!("https://{region}.signin.aws.amazon.com/saml");
    let mut refusal = None;
    for acs in [AWS_SIGNIN_ACS, regional.as_str()] {
        let config = SpConfig::builder(EntityId::try_new(AWS_AUDIENCE).map_err(classify)?)
            .name_id_format(NameIdFormat::Unspecified)
            .acs_endpoint(AcsEndpoint::post(acs).map_err(classify)?)
            .validation(validation_policy(false))
            .build()
            .map_err(classify)?;
        let sp = Saml::sp(config).map_err(classify)?;
        let input =
            BrowserInput::<SsoResponse>::post(vec![FormField::new("SAMLResponse", saml_response)]);
        match sp.accept_unsolicited_sso(&idp, input, validation_at(now_ms)) {
            Ok(session) => return verified(&session, acs, now_ms),
            Err(e) => match classify(e) {
                // Addressed to the other sign-in endpoint: try it.
                r @ Refusal::Destination(_) => refusal = Some(r),
                r => return Err(r),
            },
        }
    }
    Err(refusal.unwrap_or_else(|| Refusal::Other("no sign-in endpoint".into())))
}

/// Milliseconds since the epoch of an `xs:dateTime` in UTC (`2026-12-06T19:16:20Z`, optional
/// fraction).
pub fn instant_ms(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Decodes a base64 form value, for callers that need the XML (identity-pool logins).
pub fn decode_response(b64: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim().as_bytes())
        .ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    //! Round trips against saml-rs's own IdP role (the independent IdP is samlify, in the Node
    //! suites): the AuthnRequest Tessera sends is the one answered, and what must be refused is.
    use super::*;
    use saml_rs::{
        AuthnRequest, IdpConfig, IdpValidationPolicy, RespondSso, SpDescriptor, SsoEndpoint,
        Subject,
    };

    const POOL: &str = "us-east-1_TestPool1";
    const ACS: &str = "https://auth.example.com/saml2/idpresponse";

    fn now_ms() -> i64 {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    fn sp(keys: &SpKeys) -> ServiceProvider {
        ServiceProvider {
            pool_id: POOL.into(),
            acs_url: ACS.into(),
            slo_url: "https://auth.example.com/saml2/logout".into(),
            keys: keys.clone(),
            sign_requests: true,
            encrypted_assertions: false,
        }
    }

    /// An IdP whose metadata Tessera registers, with a key of its own.
    fn idp(idp_keys: &SpKeys) -> Saml<saml_rs::Idp> {
        let config = IdpConfig::builder(EntityId::new("https://idp.example.com/metadata"))
            .sso_endpoint(SsoEndpoint::redirect("https://idp.example.com/sso").unwrap())
            .credentials(Credentials {
                signing_key: Some(PrivateKeyPem::new(&idp_keys.signing_key)),
                signing_certificate: Some(CertificatePem::new(&idp_keys.signing_certificate)),
                ..Credentials::default()
            })
            .validation(IdpValidationPolicy::recommended())
            .build()
            .unwrap();
        Saml::idp(config).unwrap()
    }

    /// The IdP receives Tessera's AuthnRequest (checking its signature against the SP
    /// metadata) and answers it; returns the request id and the SAMLResponse.
    fn answered(
        tessera: &ServiceProvider,
        idp: &Saml<saml_rs::Idp>,
        name_id: &str,
    ) -> (String, String) {
        let started = tessera.start(idp.metadata_xml(), "relay-1").unwrap();
        let query = started.redirect_url.split_once('?').unwrap().1.to_string();
        let sp_descriptor = SpDescriptor::from_metadata_xml(
            &tessera.metadata_xml().unwrap(),
            MetadataTrustPolicy::UnsignedForCompatibility,
        )
        .unwrap();
        let received = idp
            .receive_sso(
                &sp_descriptor,
                BrowserInput::<AuthnRequest>::redirect(query),
                validation_at(now_ms()),
            )
            .unwrap();
        assert_eq!(received.message().issuer().as_str(), sp_entity_id(POOL));
        let out = idp
            .respond_sso(
                &sp_descriptor,
                &received,
                Subject::new(NameId::new(name_id, None), Vec::new()),
                RespondSso::post(),
            )
            .unwrap();
        let form = out.post_form().unwrap();
        (
            started.request_id,
            form.value("SAMLResponse").unwrap().to_string(),
        )
    }

    #[test]
    fn sp_keys_metadata_and_idp_metadata() {
        let keys = generate_sp_keys(POOL, now_ms() / 1000).unwrap();
        assert!(
            keys.signing_certificate
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert_ne!(
            pem_body(&keys.signing_certificate),
            pem_body(&keys.encryption_certificate)
        );
        let md = sp(&keys).metadata_xml().unwrap();
        assert!(md.contains(&format!("entityID=\"{}\"", sp_entity_id(POOL))));
        assert!(md.contains(&pem_body(&keys.signing_certificate)));
        assert!(md.contains(ACS));

        let idp_keys = generate_sp_keys("idp", now_ms() / 1000).unwrap();
        let summary = parse_idp_metadata(idp(&idp_keys).metadata_xml()).unwrap();
        assert_eq!(summary.entity_id, "https://idp.example.com/metadata");
        assert_eq!(
            summary.sso_redirect.as_deref(),
            Some("https://idp.example.com/sso")
        );
        assert_eq!(
            summary.signing_certificates,
            [pem_body(&idp_keys.signing_certificate)]
        );
        assert!(matches!(
            parse_idp_metadata("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x/>"),
            Err(Refusal::Metadata(_))
        ));
    }

    #[test]
    fn a_signed_answer_to_our_request_is_accepted_and_changes_to_it_are_not() {
        let keys = generate_sp_keys(POOL, now_ms() / 1000).unwrap();
        let tessera = sp(&keys);
        let idp_keys = generate_sp_keys("idp", now_ms() / 1000).unwrap();
        let idp = idp(&idp_keys);
        let md = idp.metadata_xml().to_string();
        let (request_id, response) = answered(&tessera, &idp, "alice");
        let pending = PendingRequest {
            request_id,
            relay_state: "relay-1".into(),
        };

        let ok = tessera
            .finish(&md, Some(&pending), &response, Some("relay-1"), now_ms())
            .unwrap();
        assert_eq!(ok.name_id, "alice");
        assert_eq!(ok.issuer, "https://idp.example.com/metadata");
        assert!(ok.keep_until_ms > now_ms());

        // Another RelayState, another request, or a changed NameID: refused.
        assert!(
            tessera
                .finish(&md, Some(&pending), &response, Some("relay-2"), now_ms())
                .is_err()
        );
        let other = PendingRequest {
            request_id: "_someone-else".into(),
            relay_state: "relay-1".into(),
        };
        assert!(matches!(
            tessera.finish(&md, Some(&other), &response, Some("relay-1"), now_ms()),
            Err(Refusal::Correlation(_))
        ));
        let xml = decode_response(&response).unwrap();
        let tampered = xml.replacen(">alice<", ">mallory<", 1);
        assert_ne!(tampered, xml);
        let tampered = base64::engine::general_purpose::STANDARD.encode(tampered);
        assert!(matches!(
            tessera.finish(&md, Some(&pending), &tampered, Some("relay-1"), now_ms()),
            Err(Refusal::Signature(_))
        ));
        // An hour later it has expired.
        assert!(matches!(
            tessera.finish(
                &md,
                Some(&pending),
                &response,
                Some("relay-1"),
                now_ms() + 3_600_000
            ),
            Err(Refusal::Expired(_))
        ));
        // Verified against another IdP's metadata (same entity id, another key): refused.
        let impostor_keys = generate_sp_keys("impostor", now_ms() / 1000).unwrap();
        let impostor_md = super::tests::idp(&impostor_keys).metadata_xml().to_string();
        assert!(matches!(
            tessera.finish(
                &impostor_md,
                Some(&pending),
                &response,
                Some("relay-1"),
                now_ms()
            ),
            Err(Refusal::Signature(_))
        ));
    }

    #[test]
    fn metadata_copies_can_want_signed_requests() {
        let plain =
            r#"<md:IDPSSODescriptor protocolSupportEnumeration="p"><x/></md:IDPSSODescriptor>"#;
        assert_eq!(
            wanting_signed_requests(plain),
            r#"<md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="p"><x/></md:IDPSSODescriptor>"#
        );
        let no = r#"<IDPSSODescriptor WantAuthnRequestsSigned="false" a="b">"#;
        assert_eq!(
            wanting_signed_requests(no),
            r#"<IDPSSODescriptor WantAuthnRequestsSigned="true" a="b">"#
        );
    }

    #[test]
    fn instants_parse_as_utc_milliseconds() {
        assert_eq!(instant_ms("1970-01-01T00:00:01Z"), Some(1_000));
        assert_eq!(instant_ms("1970-01-01T00:00:01.5Z"), Some(1_500));
        assert_eq!(instant_ms("yesterday"), None);
    }
}
