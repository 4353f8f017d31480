//! The AWS Query protocol (STS today, IAM later): `POST /` with a form body
//! (`Action=…&Version=…&…`), answered in XML.
//!
//! - [`Form`]: the decoded parameters.
//! - [`respond`]: `<{Action}Response xmlns=…><{Action}Result>…</…><ResponseMetadata>…`.
//! - [`QueryError`] and [`error_code`]: every error in the one shape Query clients parse,
//!   `<ErrorResponse><Error><Type>Sender</Type><Code/><Message/></Error><RequestId/></ErrorResponse>`,
//!   with the JSON-protocol codes of shared code (SigV4) translated in one table.
//! - [`authenticate`]: SigV4 with the root credentials or with STS credentials Tessera issued.

mod iam;
mod sts;
mod sts_roles;

use crate::error::ApiError;
use crate::{AdminAuth, AppState, sigv4};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::sync::Arc;
use tessera_engine::gateway::GatewaySession;
use tessera_engine::identity::StsRefusal;

/// Whether a request speaks the Query protocol: a form body and no `X-Amz-Target`.
pub fn is_query_request(headers: &HeaderMap) -> bool {
    headers.get("x-amz-target").is_none()
        && headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            })
}

/// Form parameters (`+` is a space, `%XX` decoded), first value of each name.
pub struct Form(BTreeMap<String, String>);

impl Form {
    pub fn parse(body: &[u8]) -> Self {
        let mut map = BTreeMap::new();
        for (k, v) in form_urlencoded::parse(body) {
            map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
        Self(map)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// An error on the Query wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub code: String,
    pub message: String,
    pub status: StatusCode,
}

impl QueryError {
    pub fn new(code: &str, message: impl Into<String>, status: StatusCode) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status,
        }
    }

    fn sender(code: &str, message: impl Into<String>) -> Self {
        Self::new(code, message, StatusCode::BAD_REQUEST)
    }

    fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::new(code, message, StatusCode::FORBIDDEN)
    }
}

/// The one table from the codes shared code speaks (the JSON protocol's) to Query's codes.
pub fn error_code(json_code: &str) -> &str {
    match json_code {
        "MissingAuthenticationTokenException" => "MissingAuthenticationToken",
        "IncompleteSignatureException" => "IncompleteSignature",
        "InvalidSignatureException" => "SignatureDoesNotMatch",
        "UnrecognizedClientException" => "InvalidClientTokenId",
        "InternalErrorException" => "InternalFailure",
        "TooManyRequestsException" => "Throttling",
        // STS's model keeps the suffix on this one code.
        "ExpiredTokenException" => "ExpiredTokenException",
        other => other.strip_suffix("Exception").unwrap_or(other),
    }
}

impl From<ApiError> for QueryError {
    fn from(e: ApiError) -> Self {
        let message = if e.code == "MissingAuthenticationTokenException" {
            "Request is missing Authentication Token".to_string()
        } else {
            e.message
        };
        Self::new(error_code(&e.code), message, e.status)
    }
}

impl From<tessera_engine::EngineError> for QueryError {
    fn from(e: tessera_engine::EngineError) -> Self {
        ApiError::from(e).into()
    }
}

/// Text escaped for XML element content and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Elements `<Name>value</Name>`, values escaped, in order.
pub fn elements(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| format!("<{name}>{}</{name}>", xml_escape(value)))
        .collect()
}

fn xml_response(status: StatusCode, body: String, request_id: &str) -> Response {
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert("content-type", HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    response
}

/// A successful answer: `result` is the inner XML of `<{action}Result>`.
pub fn respond(namespace: &str, action: &str, result: &str, request_id: &str) -> Response {
    let body = format!(
        "<{action}Response xmlns=\"{namespace}\"><{action}Result>{result}</{action}Result>\
         <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
    );
    xml_response(StatusCode::OK, body, request_id)
}

fn error_response(e: QueryError, request_id: &str) -> Response {
    let kind = if e.status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    let body = format!(
        "<ErrorResponse><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error>\
         <RequestId>{request_id}</RequestId></ErrorResponse>",
        xml_escape(&e.code),
        xml_escape(&tessera_wire::cut(&e.message, 1024)),
    );
    xml_response(e.status, body, request_id)
}

/// Who signed a Query request.
pub enum Principal {
    /// The deployment's root credentials.
    Root,
    /// Credentials Tessera issued (an STS role session, or GetCredentialsForIdentity's).
    Session(Box<GatewaySession>),
}

/// SigV4 against the root credentials or an STS session (whose `X-Amz-Security-Token` must
/// be the one issued with the key, and not expired).
async fn authenticate(state: &AppState, req: &sigv4::Request<'_>) -> Result<Principal, QueryError> {
    let pending = sigv4::prepare(req, &["content-type"])?;
    let key = pending.access_key().to_string();
    if let AdminAuth::SigV4(roots) = &state.admin
        && let Some(root) = roots.iter().find(|c| c.access_key_id == key)
    {
        pending.check(&root.secret_access_key)?;
        return Ok(Principal::Root);
    }
    let token = req
        .headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok());
    match state.engine.gateway_session(&key, token).await? {
        Ok(session) => {
            pending.check(&session.secret)?;
            Ok(Principal::Session(Box::new(session)))
        }
        Err(StsRefusal::Expired) => Err(QueryError::sender(
            "ExpiredToken",
            "The security token included in the request is expired",
        )),
        Err(StsRefusal::UnknownKey | StsRefusal::BadToken) => {
            // `--dev` accepts any admin credentials; it still never accepts a forged session.
            if matches!(state.admin, AdminAuth::AnyCredentials) && token.is_none() {
                return Ok(Principal::Root);
            }
            Err(QueryError::forbidden(
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            ))
        }
    }
}

/// Handles one Query request.
pub async fn handle(
    state: Arc<AppState>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let form = Form::parse(body);
    let action = form.get("Action").unwrap_or_default().to_string();
    let result = route(
        &state,
        method,
        uri,
        headers,
        body,
        &form,
        &action,
        &request_id,
    )
    .await;
    match result {
        Ok(response) => response,
        Err(e) => {
            let code = e.code.to_string();
            tessera_engine::audit::note(|f| f.outcome = Some(code));
            tracing::info!(action = %tessera_wire::echo(&action), %request_id, code = %e.code, "query request refused");
            error_response(e, &request_id)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn route(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    form: &Form,
    action: &str,
    request_id: &str,
) -> Result<Response, QueryError> {
    if action.is_empty() {
        return Err(QueryError::sender("MissingAction", "Missing Action"));
    }
    let version = form.get("Version").unwrap_or_default();
    let Some(service) = [sts::SERVICE, Some(&iam::SERVICE)]
        .into_iter()
        .flatten()
        .find(|s| s.version == version && s.actions.contains(&action))
    else {
        return Err(QueryError::sender(
            "InvalidAction",
            format!(
                "Could not find operation {} for version {}",
                tessera_wire::echo(action),
                tessera_wire::echo(version)
            ),
        ));
    };
    tessera_engine::audit::note_operation(format!("{}.{action}", service.signing_name));
    // AssumeRoleWithWebIdentity is unsigned: the token is the credential.
    if sts_roles::UNSIGNED.contains(&action) {
        let result = sts_roles::call(state, action, form, None).await?;
        return Ok(respond(service.namespace, action, &result, request_id));
    }
    let req = sigv4::Request {
        method,
        uri,
        headers,
        body,
        service: service.signing_name,
        now: crate::dispatch::now_secs(),
    };
    let principal = authenticate(state, &req).await?;
    let result = if service.signing_name == iam::SERVICE.signing_name {
        // A session may call IAM as far as its role's (and session's) policies allow.
        if let Principal::Session(session) = &principal {
            let resource = iam::resource_of(state, action, form);
            let iam_action = format!("iam:{action}");
            if !state
                .engine
                .session_may_call(session, &iam_action, &resource, None)
                .await?
            {
                return Err(QueryError::forbidden(
                    "AccessDenied",
                    tessera_engine::gateway::not_authorized_message(
                        &session.grant.principal_arn,
                        &iam_action,
                        &resource,
                    ),
                ));
            }
        }
        iam::call(state, action, form).await?
    } else if sts_roles::ACTIONS.contains(&action) {
        sts_roles::call(state, action, form, Some(&principal)).await?
    } else {
        sts::call(state, action, &principal)?
    };
    Ok(respond(service.namespace, action, &result, request_id))
}

/// Every Query action this build serves, as `(service, Action)` (for `tessera operations`).
pub fn implemented() -> Vec<(&'static str, &'static str)> {
    [sts::SERVICE, Some(&iam::SERVICE)]
        .into_iter()
        .flatten()
        .flat_map(|s| s.actions.iter().map(move |a| (s.signing_name, *a)))
        .collect()
}

/// A Query service: its signing name, API version, XML namespace and actions.
pub struct QueryService {
    pub signing_name: &'static str,
    pub version: &'static str,
    pub namespace: &'static str,
    pub actions: &'static [&'static str],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_plus_and_percent() {
        let f = Form::parse(b"Action=GetCallerIdentity&Version=2011-06-15&X=a+b%2Fc&X=second");
        assert_eq!(f.get("Action"), Some("GetCallerIdentity"));
        assert_eq!(f.get("X"), Some("a b/c"));
        assert_eq!(f.get("Nope"), None);
    }

    #[test]
    fn xml_is_escaped() {
        assert_eq!(
            elements(&[("A", "<&>\"'")]),
            "<A>&lt;&amp;&gt;&quot;&apos;</A>"
        );
    }

    #[test]
    fn json_codes_translate_to_query_codes() {
        assert_eq!(
            error_code("UnrecognizedClientException"),
            "InvalidClientTokenId"
        );
        assert_eq!(
            error_code("InvalidSignatureException"),
            "SignatureDoesNotMatch"
        );
        assert_eq!(error_code("ExpiredToken"), "ExpiredToken");
        let missing: QueryError = sigv4::missing_token().into();
        assert_eq!(missing.code, "MissingAuthenticationToken");
        assert_eq!(missing.status, StatusCode::FORBIDDEN);
    }

    #[test]
    fn only_form_requests_without_a_target_are_query_requests() {
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        assert!(is_query_request(&h));
        h.insert("x-amz-target", HeaderValue::from_static("X.Y"));
        assert!(!is_query_request(&h));
    }
}
