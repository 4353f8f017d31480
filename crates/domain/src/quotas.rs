//! Cognito's API request-rate quotas: the user-pool operation categories, their default rates
//! (requests per second) and whether they may be raised, as "Quotas in Amazon Cognito" lists
//! them; GetProvisionedLimit / UpdateProvisionedLimit name a category as
//! `{LimitClass: API_CATEGORY, Attributes: {Category: …}}`.
//!
//! Which operation falls in which category follows each category's description in that table
//! (the per-operation lists were not in the sources at hand); an operation in no category is
//! not limited.

use crate::error::DomainError;
use std::collections::BTreeMap;

/// The only limit class the API knows.
pub const API_CATEGORY: &str = "API_CATEGORY";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    UserAuthentication,
    UserCreation,
    UserFederation,
    UserAccountRecovery,
    UserRead,
    UserUpdate,
    UserResourceRead,
    UserResourceUpdate,
    UserList,
    UserPoolRead,
    UserPoolUpdate,
    UserPoolResourceRead,
    UserPoolResourceUpdate,
    UserPoolClientRead,
    UserPoolClientUpdate,
    UserToken,
    /// OAuth client_credentials grants at the token endpoint.
    ClientAuthentication,
}

impl Category {
    pub const ALL: [Category; 17] = [
        Self::UserAuthentication,
        Self::UserCreation,
        Self::UserFederation,
        Self::UserAccountRecovery,
        Self::UserRead,
        Self::UserUpdate,
        Self::UserResourceRead,
        Self::UserResourceUpdate,
        Self::UserList,
        Self::UserPoolRead,
        Self::UserPoolUpdate,
        Self::UserPoolResourceRead,
        Self::UserPoolResourceUpdate,
        Self::UserPoolClientRead,
        Self::UserPoolClientUpdate,
        Self::UserToken,
        Self::ClientAuthentication,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::UserAuthentication => "UserAuthentication",
            Self::UserCreation => "UserCreation",
            Self::UserFederation => "UserFederation",
            Self::UserAccountRecovery => "UserAccountRecovery",
            Self::UserRead => "UserRead",
            Self::UserUpdate => "UserUpdate",
            Self::UserResourceRead => "UserResourceRead",
            Self::UserResourceUpdate => "UserResourceUpdate",
            Self::UserList => "UserList",
            Self::UserPoolRead => "UserPoolRead",
            Self::UserPoolUpdate => "UserPoolUpdate",
            Self::UserPoolResourceRead => "UserPoolResourceRead",
            Self::UserPoolResourceUpdate => "UserPoolResourceUpdate",
            Self::UserPoolClientRead => "UserPoolClientRead",
            Self::UserPoolClientUpdate => "UserPoolClientUpdate",
            Self::UserToken => "UserToken",
            Self::ClientAuthentication => "ClientAuthentication",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Cognito's default (free) rate, requests per second.
    pub fn default_rps(self) -> u32 {
        match self {
            Self::UserAuthentication | Self::UserRead | Self::UserToken => 120,
            Self::UserCreation | Self::UserResourceRead => 50,
            Self::UserFederation | Self::UserUpdate | Self::UserResourceUpdate => 25,
            Self::UserAccountRecovery | Self::UserList => 30,
            Self::UserPoolRead
            | Self::UserPoolUpdate
            | Self::UserPoolResourceUpdate
            | Self::UserPoolClientRead
            | Self::UserPoolClientUpdate => 15,
            Self::UserPoolResourceRead => 20,
            Self::ClientAuthentication => 150,
        }
    }

    /// Whether UpdateProvisionedLimit may change it.
    pub fn adjustable(self) -> bool {
        matches!(
            self,
            Self::UserAuthentication
                | Self::UserCreation
                | Self::UserFederation
                | Self::UserRead
                | Self::UserResourceRead
        )
    }

    /// The most UpdateProvisionedLimit grants: Tessera's stand-in for the account-level maximum
    /// of Service Quotas, a hundred times the default.
    pub fn maximum_rps(self) -> u32 {
        self.default_rps().saturating_mul(100)
    }
}

/// A quota bucket: a category's own, or the separate one RespondToAuthChallenge and
/// AdminRespondToAuthChallenge draw from at three times the UserAuthentication rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bucket {
    pub category: Category,
    pub respond: bool,
}

impl Bucket {
    /// The bucket's rate for a category rate.
    pub fn rate(self, category_rps: u32) -> u32 {
        if self.respond {
            category_rps.saturating_mul(3)
        } else {
            category_rps
        }
    }
}

/// The bucket a cognito-idp operation draws from, if it is limited.
pub fn bucket_of(operation: &str) -> Option<Bucket> {
    use Category::*;
    let category = match operation {
        "RespondToAuthChallenge" | "AdminRespondToAuthChallenge" => {
            return Some(Bucket {
                category: UserAuthentication,
                respond: true,
            });
        }
        "InitiateAuth" | "AdminInitiateAuth" => UserAuthentication,
        "SignUp" | "ConfirmSignUp" | "AdminCreateUser" | "AdminConfirmSignUp" => UserCreation,
        "ForgotPassword"
        | "ConfirmForgotPassword"
        | "ChangePassword"
        | "AdminResetUserPassword"
        | "AdminSetUserPassword" => UserAccountRecovery,
        "GetUser" | "AdminGetUser" | "GetUserAuthFactors" | "AdminGetUserAuthFactors" => UserRead,
        "UpdateUserAttributes"
        | "AdminUpdateUserAttributes"
        | "DeleteUserAttributes"
        | "AdminDeleteUserAttributes"
        | "DeleteUser"
        | "AdminDeleteUser"
        | "AdminDisableUser"
        | "AdminEnableUser"
        | "SetUserMFAPreference"
        | "AdminSetUserMFAPreference"
        | "SetUserSettings"
        | "AdminSetUserSettings"
        | "VerifyUserAttribute"
        | "GetUserAttributeVerificationCode"
        | "ResendConfirmationCode"
        | "AssociateSoftwareToken"
        | "VerifySoftwareToken"
        | "GlobalSignOut"
        | "AdminUserGlobalSignOut"
        | "AdminLinkProviderForUser"
        | "AdminDisableProviderForUser"
        | "UpdateAuthEventFeedback"
        | "AdminUpdateAuthEventFeedback" => UserUpdate,
        "GetDevice"
        | "AdminGetDevice"
        | "ListDevices"
        | "AdminListDevices"
        | "AdminListGroupsForUser"
        | "AdminListUserAuthEvents"
        | "ListWebAuthnCredentials" => UserResourceRead,
        "ConfirmDevice"
        | "ForgetDevice"
        | "AdminForgetDevice"
        | "UpdateDeviceStatus"
        | "AdminUpdateDeviceStatus"
        | "AdminAddUserToGroup"
        | "AdminRemoveUserFromGroup"
        | "StartWebAuthnRegistration"
        | "CompleteWebAuthnRegistration"
        | "DeleteWebAuthnCredential" => UserResourceUpdate,
        "ListUsers" | "ListUsersInGroup" => UserList,
        "DescribeUserPool" | "ListUserPools" | "GetUserPoolMfaConfig" => UserPoolRead,
        "CreateUserPool"
        | "UpdateUserPool"
        | "DeleteUserPool"
        | "SetUserPoolMfaConfig"
        | "AddCustomAttributes" => UserPoolUpdate,
        "GetGroup"
        | "ListGroups"
        | "DescribeIdentityProvider"
        | "ListIdentityProviders"
        | "GetIdentityProviderByIdentifier"
        | "DescribeResourceServer"
        | "ListResourceServers"
        | "DescribeRiskConfiguration"
        | "DescribeUserImportJob"
        | "ListUserImportJobs"
        | "GetCSVHeader"
        | "DescribeUserPoolDomain"
        | "GetSigningCertificate"
        | "GetUICustomization"
        | "GetLogDeliveryConfiguration"
        | "ListTagsForResource"
        | "DescribeManagedLoginBranding"
        | "DescribeManagedLoginBrandingByClient"
        | "DescribeTerms"
        | "ListTerms" => UserPoolResourceRead,
        "CreateGroup"
        | "UpdateGroup"
        | "DeleteGroup"
        | "CreateIdentityProvider"
        | "UpdateIdentityProvider"
        | "DeleteIdentityProvider"
        | "CreateResourceServer"
        | "UpdateResourceServer"
        | "DeleteResourceServer"
        | "SetRiskConfiguration"
        | "CreateUserImportJob"
        | "StartUserImportJob"
        | "StopUserImportJob"
        | "CreateUserPoolDomain"
        | "UpdateUserPoolDomain"
        | "DeleteUserPoolDomain"
        | "SetUICustomization"
        | "SetLogDeliveryConfiguration"
        | "TagResource"
        | "UntagResource"
        | "CreateManagedLoginBranding"
        | "UpdateManagedLoginBranding"
        | "DeleteManagedLoginBranding"
        | "CreateTerms"
        | "UpdateTerms"
        | "DeleteTerms" => UserPoolResourceUpdate,
        "DescribeUserPoolClient" | "ListUserPoolClients" | "ListUserPoolClientSecrets" => {
            UserPoolClientRead
        }
        "CreateUserPoolClient"
        | "UpdateUserPoolClient"
        | "DeleteUserPoolClient"
        | "AddUserPoolClientSecret"
        | "DeleteUserPoolClientSecret" => UserPoolClientUpdate,
        "RevokeToken" | "GetTokensFromRefreshToken" => UserToken,
        _ => return None,
    };
    Some(Bucket {
        category,
        respond: false,
    })
}

/// The category a LimitDefinition names: class API_CATEGORY and a `Category` attribute naming
/// one (InvalidParameterException otherwise).
pub fn category_of_definition(
    class: &str,
    attributes: &BTreeMap<String, String>,
) -> Result<Category, DomainError> {
    if class != API_CATEGORY {
        return Err(DomainError::invalid_parameter(format!(
            "Unsupported limit class: {class}"
        )));
    }
    let name = attributes
        .get("Category")
        .ok_or_else(|| DomainError::invalid_parameter("The Category attribute is required."))?;
    Category::parse(name)
        .ok_or_else(|| DomainError::invalid_parameter(format!("Unknown category: {name}")))
}

/// Checks a requested provisioned rate for a category: adjustable, not below the default, not
/// above the maximum.
pub fn check_requested(category: Category, requested: i64) -> Result<u32, DomainError> {
    if !category.adjustable() {
        return Err(DomainError::invalid_parameter(
            "Only adjustable quota categories support provisioning.",
        ));
    }
    if requested < i64::from(category.default_rps()) {
        return Err(DomainError::invalid_parameter(format!(
            "The requested limit value must be at least the default limit of {} for {}.",
            category.default_rps(),
            category.name()
        )));
    }
    if requested > i64::from(category.maximum_rps()) {
        return Err(DomainError::new(
            crate::error::ErrorKind::ServiceQuotaExceeded,
            format!(
                "The requested limit value exceeds the maximum of {} for {}.",
                category.maximum_rps(),
                category.name()
            ),
        ));
    }
    Ok(requested as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_round_trip_and_keep_cognitos_defaults() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.name()), Some(c));
        }
        assert_eq!(Category::UserAuthentication.default_rps(), 120);
        assert_eq!(Category::UserCreation.default_rps(), 50);
        assert_eq!(Category::UserList.default_rps(), 30);
        assert!(Category::UserCreation.adjustable());
        assert!(!Category::UserUpdate.adjustable());
    }

    #[test]
    fn respond_operations_have_their_own_bucket_at_three_times_the_rate() {
        let respond = bucket_of("RespondToAuthChallenge").unwrap();
        let initiate = bucket_of("InitiateAuth").unwrap();
        assert_ne!(respond, initiate);
        assert_eq!(respond.category, Category::UserAuthentication);
        assert_eq!(respond.rate(120), 360);
        assert_eq!(initiate.rate(120), 120);
        assert_eq!(bucket_of("GetProvisionedLimit"), None);
    }

    #[test]
    fn requested_values_are_checked() {
        assert_eq!(check_requested(Category::UserCreation, 80).unwrap(), 80);
        assert!(check_requested(Category::UserCreation, 10).is_err());
        assert!(check_requested(Category::UserUpdate, 80).is_err());
        let too_much = check_requested(Category::UserCreation, 1_000_000).unwrap_err();
        assert_eq!(too_much.kind.name(), "ServiceQuotaExceededException");
    }
}
