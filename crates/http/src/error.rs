//! Errors on the wire, in the one shape every AWS client parses: `__type` and `message` in the
//! body, `x-amzn-ErrorType` and `x-amzn-ErrorMessage` headers, `x-amzn-RequestId`.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_domain::{DomainError, ErrorKind};
use tessera_engine::EngineError;

pub const JSON_11: &str = "application/x-amz-json-1.1";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    pub status: StatusCode,
}

impl ApiError {
    pub fn new(code: impl Into<String>, message: impl Into<String>, status: StatusCode) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status,
        }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(code, message, StatusCode::BAD_REQUEST)
    }

    pub fn internal() -> Self {
        Self::new(
            "InternalErrorException",
            "An internal error occurred.",
            StatusCode::INTERNAL_SERVER_ERROR,
        )
    }
}

/// Status codes as real AWS sends them: client errors are 400 (even NotAuthorized and
/// ResourceNotFound, whatever the Smithy model says), throttling 429, faults 500.
fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        // IAM and STS (Query protocol) send the status their model gives each error.
        ErrorKind::IamNoSuchEntity => StatusCode::NOT_FOUND,
        ErrorKind::IamEntityAlreadyExists
        | ErrorKind::IamDeleteConflict
        | ErrorKind::IamLimitExceeded => StatusCode::CONFLICT,
        ErrorKind::IamAccessDenied | ErrorKind::IamIdpRejectedClaim => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        Self::new(e.kind.name(), e.message, status(e.kind))
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Client(d) => d.into(),
            EngineError::Contended => Self::new(
                "TooManyRequestsException",
                "Too many concurrent requests for this resource; retry.",
                StatusCode::TOO_MANY_REQUESTS,
            ),
            EngineError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                Self::internal()
            }
        }
    }
}

/// The longest message a response body carries. Messages that repeat a request value cut it
/// where they make it ([`tessera_wire::echo`]); this bounds whatever they add up to.
const MAX_MESSAGE: usize = 4096;

/// The longest `x-amzn-ErrorMessage`: far inside the 8–16 KB header limits of proxies and the
/// line limits of HTTP clients (Python's http.client refuses lines over 64 KB), whatever the body
/// says. AWS SDKs read the message from the body.
const MAX_HEADER_MESSAGE: usize = 512;

impl ApiError {
    pub fn into_response_with(self, request_id: &str) -> Response {
        let message = tessera_wire::cut(&self.message, MAX_MESSAGE);
        let body = serde_json::json!({ "__type": self.code, "message": message });
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static(JSON_11));
        if let Ok(v) = HeaderValue::from_str(&self.code) {
            headers.insert("x-amzn-errortype", v);
        }
        // Header values must be visible ASCII; messages that aren't stay in the body only.
        let header_message = tessera_wire::cut(&message, MAX_HEADER_MESSAGE);
        if header_message
            .chars()
            .all(|c| c.is_ascii() && !c.is_ascii_control())
            && let Ok(v) = HeaderValue::from_str(&header_message)
        {
            headers.insert("x-amzn-errormessage", v);
        }
        if let Ok(v) = HeaderValue::from_str(request_id) {
            headers.insert("x-amzn-requestid", v);
        }
        (self.status, headers, body.to_string()).into_response()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let id = uuid::Uuid::new_v4().to_string();
        self.into_response_with(&id)
    }
}
