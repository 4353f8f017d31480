//! The gateway's refusals on the wire, in each service's own shape: S3's XML `<Error>` with
//! its HTTP status, DynamoDB's JSON 1.0 `__type` / `message` (auth failures are 400 there).

use crate::auth::{AuthError, Service};
use crate::chunked::ChunkError;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// A refusal, before it is rendered for its service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Further elements of S3's `<Error>` (e.g. `StringToSign` with `SignatureDoesNotMatch`).
    pub details: Vec<(&'static str, String)>,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// AccessDenied (S3) / AccessDeniedException (DynamoDB) for `action` on `resource`.
    pub fn denied(service: Service, principal_arn: &str, action: &str, resource: &str) -> Refusal {
        match service {
            Service::S3 => Refusal::new(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied"),
            Service::DynamoDb => Refusal::new(
                StatusCode::BAD_REQUEST,
                "AccessDeniedException",
                tessera_engine::gateway::not_authorized_message(principal_arn, action, resource),
            ),
        }
    }

    pub fn internal(message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", message)
    }

    pub fn bad_gateway(service: Service, message: impl Into<String>) -> Refusal {
        let code = match service {
            Service::S3 => "ServiceUnavailable",
            Service::DynamoDb => "ServiceUnavailable",
        };
        Refusal::new(StatusCode::BAD_GATEWAY, code, message)
    }

    pub fn bad_request(service: Service, message: impl Into<String>) -> Refusal {
        match service {
            Service::S3 => Refusal::new(StatusCode::BAD_REQUEST, "InvalidRequest", message),
            Service::DynamoDb => {
                Refusal::new(StatusCode::BAD_REQUEST, "SerializationException", message)
            }
        }
    }

    pub fn too_large(service: Service) -> Refusal {
        match service {
            Service::S3 => Refusal::new(
                StatusCode::BAD_REQUEST,
                "MaxMessageLengthExceeded",
                "Your request was too big.",
            ),
            Service::DynamoDb => Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                "Request entity too large",
            ),
        }
    }

    pub fn chunk(error: ChunkError) -> Refusal {
        match error {
            ChunkError::Signature => Refusal::new(
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            ),
            ChunkError::Checksum => Refusal::new(
                StatusCode::BAD_REQUEST,
                "BadDigest",
                "The CRC32 you specified did not match the calculated checksum.",
            ),
            ChunkError::Length => Refusal::new(
                StatusCode::BAD_REQUEST,
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP header",
            ),
            ChunkError::Malformed(m) => Refusal::new(StatusCode::BAD_REQUEST, "InvalidRequest", m),
        }
    }

    pub fn auth(service: Service, error: AuthError) -> Refusal {
        use AuthError as E;
        let bad = StatusCode::BAD_REQUEST;
        let forbidden = StatusCode::FORBIDDEN;
        match service {
            Service::S3 => match error {
                E::Missing => Refusal::new(forbidden, "AccessDenied", "Access Denied"),
                E::Malformed(m) => Refusal::new(bad, "AuthorizationHeaderMalformed", m),
                E::MissingContentSha => Refusal::new(
                    bad,
                    "InvalidRequest",
                    "Missing required header for this request: x-amz-content-sha256",
                ),
                E::BadContentSha => Refusal::new(
                    bad,
                    "InvalidArgument",
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.",
                ),
                E::Skewed => Refusal::new(
                    forbidden,
                    "RequestTimeTooSkewed",
                    "The difference between the request time and the current time is too large.",
                ),
                E::PresignExpired => Refusal::new(forbidden, "AccessDenied", "Request has expired"),
                E::UnknownKey => Refusal::new(
                    forbidden,
                    "InvalidAccessKeyId",
                    "The AWS Access Key Id you provided does not exist in our records.",
                ),
                E::BadToken => Refusal::new(
                    bad,
                    "InvalidToken",
                    "The provided token is malformed or otherwise invalid.",
                ),
                E::ExpiredToken => {
                    Refusal::new(bad, "ExpiredToken", "The provided token has expired.")
                }
                E::SignatureMismatch(detail) => Refusal {
                    details: detail.map(|m| m.s3_details()).unwrap_or_default(),
                    ..Refusal::new(
                        forbidden,
                        "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
                    )
                },
                E::ContentShaMismatch => Refusal::new(
                    bad,
                    "XAmzContentSHA256Mismatch",
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                ),
            },
            Service::DynamoDb => match error {
                E::Missing => Refusal::new(
                    bad,
                    "MissingAuthenticationTokenException",
                    "Request is missing Authentication Token",
                ),
                E::Malformed(m) => Refusal::new(bad, "IncompleteSignatureException", m),
                E::MissingContentSha | E::BadContentSha | E::ContentShaMismatch => Refusal::new(
                    bad,
                    "InvalidSignatureException",
                    "The request signature we calculated does not match the signature you provided.",
                ),
                E::Skewed => Refusal::new(
                    bad,
                    "InvalidSignatureException",
                    "Signature expired: the request is earlier or later than 15 minutes from the server's time.",
                ),
                E::PresignExpired => {
                    Refusal::new(bad, "InvalidSignatureException", "Signature expired.")
                }
                E::UnknownKey | E::BadToken => Refusal::new(
                    bad,
                    "UnrecognizedClientException",
                    "The security token included in the request is invalid.",
                ),
                E::ExpiredToken => Refusal::new(
                    bad,
                    "ExpiredTokenException",
                    "The security token included in the request is expired",
                ),
                E::SignatureMismatch(_) => Refusal::new(
                    bad,
                    "InvalidSignatureException",
                    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
                ),
            },
        }
    }

    pub fn render(&self, service: Service, request_id: &str) -> Response {
        let mut r = match service {
            Service::S3 => {
                let details: String = self
                    .details
                    .iter()
                    .map(|(name, value)| format!("<{name}>{}</{name}>", xml_escape(value)))
                    .collect();
                let body = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>{details}<RequestId>{request_id}</RequestId></Error>",
                    self.code,
                    xml_escape(&self.message)
                );
                let mut r = (self.status, body).into_response();
                r.headers_mut()
                    .insert("content-type", HeaderValue::from_static("application/xml"));
                r
            }
            Service::DynamoDb => {
                let body = serde_json::json!({
                    "__type": format!("com.amazon.coral.service#{}", self.code),
                    "message": self.message,
                })
                .to_string();
                let mut r = (self.status, body).into_response();
                r.headers_mut().insert(
                    "content-type",
                    HeaderValue::from_static("application/x-amz-json-1.0"),
                );
                r
            }
        };
        if let Ok(v) = HeaderValue::from_str(request_id) {
            let name = match service {
                Service::S3 => "x-amz-request-id",
                Service::DynamoDb => "x-amzn-requestid",
            };
            r.headers_mut().insert(name, v);
        }
        r
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each authentication failure as S3 and DynamoDB name it (issue 15's list; DynamoDB
    /// answers every one of them with 400).
    #[test]
    fn auth_errors_in_each_services_words() {
        use AuthError as E;
        let table = [
            (
                E::Missing,
                ("AccessDenied", 403),
                ("MissingAuthenticationTokenException", 400),
            ),
            (
                E::UnknownKey,
                ("InvalidAccessKeyId", 403),
                ("UnrecognizedClientException", 400),
            ),
            (
                E::BadToken,
                ("InvalidToken", 400),
                ("UnrecognizedClientException", 400),
            ),
            (
                E::ExpiredToken,
                ("ExpiredToken", 400),
                ("ExpiredTokenException", 400),
            ),
            (
                E::SignatureMismatch(None),
                ("SignatureDoesNotMatch", 403),
                ("InvalidSignatureException", 400),
            ),
            (
                E::Skewed,
                ("RequestTimeTooSkewed", 403),
                ("InvalidSignatureException", 400),
            ),
            (
                E::ContentShaMismatch,
                ("XAmzContentSHA256Mismatch", 400),
                ("InvalidSignatureException", 400),
            ),
        ];
        for (error, s3, ddb) in table {
            let r = Refusal::auth(Service::S3, error.clone());
            assert_eq!((r.code, r.status.as_u16()), s3, "{error:?}");
            let r = Refusal::auth(Service::DynamoDb, error.clone());
            assert_eq!((r.code, r.status.as_u16()), ddb, "{error:?}");
        }
    }

    #[test]
    fn renders_s3_xml_and_dynamodb_json() {
        let r = Refusal::denied(
            Service::DynamoDb,
            "arn:aws:sts::1:assumed-role/R/S",
            "dynamodb:PutItem",
            "arn:t",
        );
        assert_eq!(
            r.message,
            "User: arn:aws:sts::1:assumed-role/R/S is not authorized to perform: dynamodb:PutItem on resource: arn:t because no identity-based policy allows the dynamodb:PutItem action"
        );
        let resp = r.render(Service::DynamoDb, "rid");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(resp.headers()["content-type"], "application/x-amz-json-1.0");
        assert_eq!(resp.headers()["x-amzn-requestid"], "rid");
        let resp =
            Refusal::denied(Service::S3, "", "s3:GetObject", "arn").render(Service::S3, "rid");
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(resp.headers()["content-type"], "application/xml");
        assert_eq!(xml_escape("<a&\"b>"), "&lt;a&amp;&quot;b&gt;");
    }
}
