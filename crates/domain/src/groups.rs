//! User-pool groups: flat (no nesting), each with an optional IAM role and precedence, carried
//! into tokens as `cognito:groups`, `cognito:roles` and `cognito:preferred_role`.

use crate::error::{DomainError, ErrorKind};
use crate::ids::UserPoolId;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// How many groups one user may belong to (Cognito's quota).
pub const MAX_GROUPS_PER_USER: usize = 100;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub pool_id: UserPoolId,
    /// Case-sensitive, unique within the pool.
    pub name: String,
    pub description: Option<String>,
    pub role_arn: Option<String>,
    /// Lower wins; `None` ranks after every number.
    pub precedence: Option<i32>,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
}

/// The changes UpdateGroup asks for: a field left out keeps its value.
#[derive(Clone, Debug, Default)]
pub struct GroupUpdate {
    pub description: Option<String>,
    pub role_arn: Option<String>,
    pub precedence: Option<i32>,
}

impl Group {
    pub fn apply(&mut self, update: GroupUpdate, now: Timestamp) {
        if let Some(d) = update.description {
            self.description = Some(d);
        }
        if let Some(r) = update.role_arn {
            self.role_arn = Some(r);
        }
        if let Some(p) = update.precedence {
            self.precedence = Some(p);
        }
        self.modified_at = now;
    }

    /// Ordering key: precedence ascending with unset last, then name.
    fn rank(&self) -> (bool, i32, &str) {
        (
            self.precedence.is_none(),
            self.precedence.unwrap_or(0),
            &self.name,
        )
    }
}

pub fn group_not_found() -> DomainError {
    DomainError::resource_not_found("Group not found.")
}

pub fn group_exists(name: &str) -> DomainError {
    DomainError::new(
        ErrorKind::GroupExists,
        format!("A group with the name {name} already exists."),
    )
}

/// What a user's groups put into their tokens.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupClaims {
    /// `cognito:groups`, most preferred first; empty means the claim is left out.
    pub groups: Vec<String>,
    /// `cognito:roles`: every distinct role ARN, in the same order.
    pub roles: Vec<String>,
    /// `cognito:preferred_role`: the role of the single highest-precedence group that has one.
    /// Left out when two groups with different roles tie for it, as Cognito does.
    pub preferred_role: Option<String>,
}

impl GroupClaims {
    /// What a PreTokenGeneration function put in place of the user's groups.
    pub fn overridden(o: &crate::triggers::GroupOverride) -> Self {
        GroupClaims {
            groups: o.groups_to_override.clone().unwrap_or_default(),
            roles: o.iam_roles_to_override.clone().unwrap_or_default(),
            preferred_role: o.preferred_role.clone(),
        }
    }

    pub fn of(groups: &[Group]) -> Self {
        let mut sorted: Vec<&Group> = groups.iter().collect();
        sorted.sort_by(|a, b| a.rank().cmp(&b.rank()));
        let mut roles: Vec<String> = Vec::new();
        for r in sorted.iter().filter_map(|g| g.role_arn.as_ref()) {
            if !roles.contains(r) {
                roles.push(r.clone());
            }
        }
        let with_role: Vec<&&Group> = sorted.iter().filter(|g| g.role_arn.is_some()).collect();
        let preferred_role = with_role.first().and_then(|best| {
            let tied_elsewhere = with_role
                .iter()
                .skip(1)
                .any(|g| g.precedence == best.precedence && g.role_arn != best.role_arn);
            (!tied_elsewhere).then(|| best.role_arn.clone()).flatten()
        });
        GroupClaims {
            groups: sorted.iter().map(|g| g.name.clone()).collect(),
            roles,
            preferred_role,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(name: &str, precedence: Option<i32>, role: Option<&str>) -> Group {
        Group {
            pool_id: UserPoolId::parse("us-east-1_abcdefghi").unwrap(),
            name: name.into(),
            description: None,
            role_arn: role.map(Into::into),
            precedence,
            created_at: Timestamp::from_millis(0),
            modified_at: Timestamp::from_millis(0),
        }
    }

    const A: &str = "arn:aws:iam::123456789012:role/a";
    const B: &str = "arn:aws:iam::123456789012:role/b";

    #[test]
    fn lowest_precedence_with_a_role_is_preferred() {
        let c = GroupClaims::of(&[
            g("readers", Some(5), Some(B)),
            g("admins", Some(1), Some(A)),
            g("plain", Some(0), None),
        ]);
        assert_eq!(c.groups, ["plain", "admins", "readers"]);
        assert_eq!(c.roles, [A, B]);
        assert_eq!(c.preferred_role.as_deref(), Some(A));
    }

    #[test]
    fn unset_precedence_ranks_last() {
        let c = GroupClaims::of(&[g("x", None, Some(A)), g("y", Some(9), Some(B))]);
        assert_eq!(c.groups, ["y", "x"]);
        assert_eq!(c.preferred_role.as_deref(), Some(B));
    }

    #[test]
    fn a_tie_between_different_roles_leaves_no_preferred_role() {
        let c = GroupClaims::of(&[g("x", Some(1), Some(A)), g("y", Some(1), Some(B))]);
        assert_eq!(c.preferred_role, None);
        assert_eq!(c.roles.len(), 2);
        let same = GroupClaims::of(&[g("x", Some(1), Some(A)), g("y", Some(1), Some(A))]);
        assert_eq!(same.preferred_role.as_deref(), Some(A));
        assert_eq!(same.roles, [A]);
        let unset = GroupClaims::of(&[g("x", None, Some(A)), g("y", None, Some(B))]);
        assert_eq!(unset.preferred_role, None);
    }

    #[test]
    fn no_groups_no_claims() {
        assert_eq!(GroupClaims::of(&[]), GroupClaims::default());
    }

    #[test]
    fn update_keeps_what_is_left_out() {
        let mut x = g("x", Some(3), Some(A));
        x.description = Some("old".into());
        x.apply(
            GroupUpdate {
                precedence: Some(1),
                ..Default::default()
            },
            Timestamp::from_millis(5),
        );
        assert_eq!(x.precedence, Some(1));
        assert_eq!(x.role_arn.as_deref(), Some(A));
        assert_eq!(x.description.as_deref(), Some("old"));
        assert_eq!(x.modified_at, Timestamp::from_millis(5));
    }
}
