//! Errors named after the Cognito exceptions a client will see.
//!
//! Every rule in the domain and engine fails with one of these; the HTTP layer maps the kind to
//! `__type` in one table and sends the message verbatim, so the message here is what users read.

use std::fmt;

macro_rules! error_kinds {
    ($($kind:ident => $name:literal),+ $(,)?) => {
        /// A Cognito exception type.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorKind { $($kind),+ }

        impl ErrorKind {
            /// The exception name clients match on (`__type`).
            pub const fn name(self) -> &'static str {
                match self { $(ErrorKind::$kind => $name),+ }
            }
        }
    };
}

error_kinds! {
    AliasExists => "AliasExistsException",
    CachedCimdUrlDoesNotExist => "CachedCIMDURLDoesNotExistException",
    CodeDeliveryFailure => "CodeDeliveryFailureException",
    CodeMismatch => "CodeMismatchException",
    ConcurrentModification => "ConcurrentModificationException",
    DeveloperUserAlreadyRegistered => "DeveloperUserAlreadyRegisteredException",
    DeviceKeyExists => "DeviceKeyExistsException",
    DuplicateProvider => "DuplicateProviderException",
    EnableSoftwareTokenMfa => "EnableSoftwareTokenMFAException",
    ExpiredCode => "ExpiredCodeException",
    ExternalService => "ExternalServiceException",
    FeatureUnavailableInTier => "FeatureUnavailableInTierException",
    GroupExists => "GroupExistsException",
    InternalError => "InternalErrorException",
    InvalidIdentityPoolConfiguration => "InvalidIdentityPoolConfigurationException",
    InvalidLambdaResponse => "InvalidLambdaResponseException",
    InvalidOAuthFlow => "InvalidOAuthFlowException",
    InvalidParameter => "InvalidParameterException",
    InvalidPassword => "InvalidPasswordException",
    InvalidUserPoolConfiguration => "InvalidUserPoolConfigurationException",
    LimitExceeded => "LimitExceededException",
    ManagedLoginBrandingExists => "ManagedLoginBrandingExistsException",
    MfaMethodNotFound => "MFAMethodNotFoundException",
    NotAuthorized => "NotAuthorizedException",
    OperationNotEnabled => "OperationNotEnabledException",
    PasswordHistoryPolicyViolation => "PasswordHistoryPolicyViolationException",
    PasswordResetRequired => "PasswordResetRequiredException",
    PreconditionNotMet => "PreconditionNotMetException",
    RefreshTokenReuse => "RefreshTokenReuseException",
    ResourceConflict => "ResourceConflictException",
    ResourceNotFound => "ResourceNotFoundException",
    ScopeDoesNotExist => "ScopeDoesNotExistException",
    ServiceQuotaExceeded => "ServiceQuotaExceededException",
    TermsExists => "TermsExistsException",
    SoftwareTokenMfaNotFound => "SoftwareTokenMFANotFoundException",
    TooManyFailedAttempts => "TooManyFailedAttemptsException",
    TooManyRequests => "TooManyRequestsException",
    UnexpectedLambda => "UnexpectedLambdaException",
    UnsupportedIdentityProvider => "UnsupportedIdentityProviderException",
    UnsupportedOperation => "UnsupportedOperationException",
    UnsupportedTokenType => "UnsupportedTokenTypeException",
    UnsupportedUserState => "UnsupportedUserStateException",
    UserLambdaValidation => "UserLambdaValidationException",
    UserNotConfirmed => "UserNotConfirmedException",
    UserNotFound => "UserNotFoundException",
    UserPoolAddOnNotEnabled => "UserPoolAddOnNotEnabledException",
    UsernameExists => "UsernameExistsException",
    WebAuthnChallengeNotFound => "WebAuthnChallengeNotFoundException",
    WebAuthnClientMismatch => "WebAuthnClientMismatchException",
    WebAuthnConfigurationMissing => "WebAuthnConfigurationMissingException",
    WebAuthnCredentialNotSupported => "WebAuthnCredentialNotSupportedException",
    WebAuthnNotEnabled => "WebAuthnNotEnabledException",
    WebAuthnOriginNotAllowed => "WebAuthnOriginNotAllowedException",
    WebAuthnRelyingPartyMismatch => "WebAuthnRelyingPartyMismatchException",
    // IAM and STS (AWS Query protocol): their codes carry no `Exception` suffix, except STS's
    // ExpiredTokenException.
    IamAccessDenied => "AccessDenied",
    IamDeleteConflict => "DeleteConflict",
    IamEntityAlreadyExists => "EntityAlreadyExists",
    IamExpiredToken => "ExpiredTokenException",
    IamIdpCommunicationError => "IDPCommunicationError",
    IamIdpRejectedClaim => "IDPRejectedClaim",
    IamInvalidIdentityToken => "InvalidIdentityToken",
    IamInvalidInput => "InvalidInput",
    IamLimitExceeded => "LimitExceeded",
    IamMalformedPolicyDocument => "MalformedPolicyDocument",
    IamNoSuchEntity => "NoSuchEntity",
    IamValidationError => "ValidationError",
    // Cognito Sync.
    AlreadyStreamed => "AlreadyStreamedException",
    DuplicateRequest => "DuplicateRequestException",
    InvalidConfiguration => "InvalidConfigurationException",
    InvalidLambdaFunctionOutput => "InvalidLambdaFunctionOutputException",
    LambdaThrottled => "LambdaThrottledException",
}

/// A failure a client is told about: the exception kind and the message Cognito would send.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct DomainError {
    pub kind: ErrorKind,
    pub message: String,
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.message)
    }
}

impl DomainError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameter, message)
    }

    pub fn not_authorized(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotAuthorized, message)
    }

    pub fn resource_not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ResourceNotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InternalError, message)
    }

    /// The answer to every failed password check, whatever the cause, so nothing is enumerable.
    pub fn incorrect_credentials() -> Self {
        Self::not_authorized("Incorrect username or password.")
    }

    pub fn user_not_found() -> Self {
        Self::new(ErrorKind::UserNotFound, "User does not exist.")
    }

    pub fn pool_not_found(pool_id: &str) -> Self {
        Self::resource_not_found(format!("User pool {pool_id} does not exist."))
    }

    pub fn client_not_found(client_id: &str) -> Self {
        Self::resource_not_found(format!("User pool client {client_id} does not exist."))
    }
}

pub type DomainResult<T> = Result<T, DomainError>;
