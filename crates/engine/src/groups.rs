//! Groups: CreateGroup, GetGroup, UpdateGroup, DeleteGroup, ListGroups, AdminAddUserToGroup,
//! AdminRemoveUserFromGroup, AdminListGroupsForUser, ListUsersInGroup, and the group claims
//! that go into tokens.

use crate::Engine;
use crate::error::{EngineResult, on_conflict};
use crate::pools::{decode_token, paged};
use crate::users::{UserPage, Who};
use tessera_domain::groups::{
    Group, GroupClaims, GroupUpdate, MAX_GROUPS_PER_USER, group_exists, group_not_found,
};
use tessera_domain::user::User;
use tessera_domain::{DomainError, ErrorKind, Sub, UserPoolId};
use tessera_store::{Conflict, Tx};

#[derive(Clone, Debug)]
pub struct GroupPage {
    pub groups: Vec<Group>,
    pub next_token: Option<String>,
}

/// CreateGroup's optional members.
#[derive(Clone, Debug, Default)]
pub struct NewGroup {
    pub description: Option<String>,
    pub role_arn: Option<String>,
    pub precedence: Option<i32>,
}

async fn load_group(tx: &mut dyn Tx, pool: &UserPoolId, name: &str) -> EngineResult<Group> {
    tx.get_group(pool, name)
        .await?
        .ok_or_else(|| group_not_found().into())
}

impl Engine {
    pub async fn create_group(
        &self,
        pool_id: &UserPoolId,
        name: &str,
        new: NewGroup,
    ) -> EngineResult<Group> {
        let now = self.now();
        let group = Group {
            pool_id: pool_id.clone(),
            name: name.to_string(),
            description: new.description,
            role_arn: new.role_arn,
            precedence: new.precedence,
            created_at: now,
            modified_at: now,
        };
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        tx.insert_group(&group)
            .await
            .map_err(|e| on_conflict(e, |c| (*c == Conflict::Group).then(|| group_exists(name))))?;
        tx.commit().await?;
        Ok(group)
    }

    pub async fn get_group(&self, pool_id: &UserPoolId, name: &str) -> EngineResult<Group> {
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        load_group(&mut *tx, pool_id, name).await
    }

    pub async fn update_group(
        &self,
        pool_id: &UserPoolId,
        name: &str,
        update: GroupUpdate,
    ) -> EngineResult<Group> {
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let mut group = load_group(&mut *tx, pool_id, name).await?;
        group.apply(update, self.now());
        tx.update_group(&group).await?;
        tx.commit().await?;
        Ok(group)
    }

    /// Deletes a group; its members lose it from their next tokens on.
    pub async fn delete_group(&self, pool_id: &UserPoolId, name: &str) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        if !tx.delete_group(pool_id, name).await? {
            return Err(group_not_found().into());
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_groups(
        &self,
        pool_id: &UserPoolId,
        limit: usize,
        token: Option<&str>,
    ) -> EngineResult<GroupPage> {
        let after = decode_token(token)?;
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let rows = tx.list_groups(pool_id, after.as_deref(), limit + 1).await?;
        let (groups, next_token) = paged(rows, limit, |g| &g.name);
        Ok(GroupPage { groups, next_token })
    }

    pub async fn admin_add_user_to_group(
        &self,
        pool_id: &UserPoolId,
        username: &str,
        group: &str,
    ) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        let user = self
            .user_and_group(&mut *tx, pool_id, username, group)
            .await?;
        let current = tx
            .groups_of_user(pool_id, &user.sub, None, MAX_GROUPS_PER_USER + 1)
            .await?;
        if current.iter().any(|g| g.name == group) {
            return Ok(());
        }
        if current.len() >= MAX_GROUPS_PER_USER {
            return Err(DomainError::new(
                ErrorKind::LimitExceeded,
                format!("A user can belong to at most {MAX_GROUPS_PER_USER} groups."),
            )
            .into());
        }
        tx.add_group_member(pool_id, group, &user.sub).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn admin_remove_user_from_group(
        &self,
        pool_id: &UserPoolId,
        username: &str,
        group: &str,
    ) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        let user = self
            .user_and_group(&mut *tx, pool_id, username, group)
            .await?;
        tx.remove_group_member(pool_id, group, &user.sub).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn admin_list_groups_for_user(
        &self,
        pool_id: &UserPoolId,
        username: &str,
        limit: usize,
        token: Option<&str>,
    ) -> EngineResult<GroupPage> {
        let after = decode_token(token)?;
        let mut tx = self.inner.store.read().await?;
        let (_, user) = self
            .resolve_user(
                &mut *tx,
                &Who::Admin {
                    pool: pool_id,
                    username,
                },
            )
            .await?;
        let rows = tx
            .groups_of_user(pool_id, &user.sub, after.as_deref(), limit + 1)
            .await?;
        let (groups, next_token) = paged(rows, limit, |g| &g.name);
        Ok(GroupPage { groups, next_token })
    }

    pub async fn list_users_in_group(
        &self,
        pool_id: &UserPoolId,
        group: &str,
        limit: usize,
        token: Option<&str>,
    ) -> EngineResult<UserPage> {
        let after = decode_token(token)?;
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        load_group(&mut *tx, pool_id, group).await?;
        let rows = tx
            .group_members(pool_id, group, after.as_deref(), limit + 1)
            .await?;
        let (rows, next_token) = paged(rows, limit, |(key, _)| key);
        Ok(UserPage {
            users: rows.into_iter().map(|(_, u)| u).collect(),
            next_token,
        })
    }

    /// The named user, after checking the named group exists (UserNotFound before GroupNotFound).
    async fn user_and_group(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPoolId,
        username: &str,
        group: &str,
    ) -> EngineResult<User> {
        let (_, user) = self
            .resolve_user(tx, &Who::Admin { pool, username })
            .await?;
        load_group(tx, pool, group).await?;
        Ok(user)
    }

    /// What a user's groups put into the tokens being minted now, read in the caller's
    /// transaction (so minting costs no transaction of its own).
    pub(crate) async fn group_claims(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPoolId,
        sub: &Sub,
    ) -> EngineResult<GroupClaims> {
        let groups = tx
            .groups_of_user(pool, sub, None, MAX_GROUPS_PER_USER)
            .await?;
        Ok(GroupClaims::of(&groups))
    }
}
