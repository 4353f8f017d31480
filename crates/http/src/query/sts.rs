//! STS over the Query protocol: GetCallerIdentity here; the AssumeRole* actions in
//! [`super::sts_roles`].

use super::{Principal, QueryError, QueryService, elements};
use crate::AppState;

pub const SERVICE: Option<&QueryService> = Some(&QueryService {
    signing_name: "sts",
    version: "2011-06-15",
    namespace: "https://sts.amazonaws.com/doc/2011-06-15/",
    actions: &[
        "GetCallerIdentity",
        "AssumeRole",
        "AssumeRoleWithWebIdentity",
        "AssumeRoleWithSAML",
    ],
});

/// Runs an STS action for an authenticated principal; returns the `<…Result>` contents.
pub fn call(state: &AppState, action: &str, principal: &Principal) -> Result<String, QueryError> {
    match action {
        "GetCallerIdentity" => Ok(get_caller_identity(state, principal)),
        other => Err(QueryError::sender(
            "InvalidAction",
            format!(
                "Could not find operation {} for version 2011-06-15",
                tessera_wire::echo(other)
            ),
        )),
    }
}

/// GetCallerIdentity: allowed to every authenticated caller, whatever its policies say.
fn get_caller_identity(state: &AppState, principal: &Principal) -> String {
    let account = state.engine.settings().account_id.as_str();
    match principal {
        Principal::Root => elements(&[
            ("UserId", account),
            ("Account", account),
            ("Arn", &format!("arn:aws:iam::{account}:root")),
        ]),
        Principal::Session(session) => elements(&[
            ("UserId", &session.grant.user_id),
            ("Account", account),
            ("Arn", &session.grant.principal_arn),
        ]),
    }
}
