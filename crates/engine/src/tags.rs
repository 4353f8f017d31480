//! TagResource, UntagResource and ListTagsForResource on user pools. A pool's tags are its
//! UserPoolTags, so DescribeUserPool, UpdateUserPool and these operations see one set; they
//! also carry Tessera's `tessera:srp` switch, which is applied here as UpdateUserPool applies it.

use crate::Engine;
use crate::error::EngineResult;
use crate::pools::{put_setting, setting, switch_srp};
use std::collections::BTreeMap;
use tessera_domain::pool;
use tessera_domain::{DomainError, UserPoolId};

const TAGS: &str = "UserPoolTags";

/// The user pool an ARN names (`arn:aws:cognito-idp:REGION:ACCOUNT:userpool/ID`).
pub fn pool_of_arn(arn: &str) -> EngineResult<UserPoolId> {
    let not_found =
        || DomainError::resource_not_found(format!("The resource {arn} does not exist."));
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", _, "cognito-idp", _, _, resource] = parts.as_slice() else {
        return Err(not_found().into());
    };
    let id = resource.strip_prefix("userpool/").ok_or_else(not_found)?;
    UserPoolId::parse(id).map_err(|_| not_found().into())
}

impl Engine {
    pub async fn user_pool_tags(&self, arn: &str) -> EngineResult<BTreeMap<String, String>> {
        let id = pool_of_arn(arn)?;
        let mut tx = self.inner.store.read().await?;
        let pool = self.load_pool(&mut *tx, &id).await?;
        Ok(setting(&pool, TAGS))
    }

    /// Adds (or overwrites) `add` and removes `remove`, in one transaction.
    pub async fn retag_user_pool(
        &self,
        arn: &str,
        add: BTreeMap<String, String>,
        remove: &[String],
    ) -> EngineResult<()> {
        let id = pool_of_arn(arn)?;
        let mut tx = self.inner.store.begin().await?;
        let mut pool = self.load_pool(&mut *tx, &id).await?;
        let mut tags: BTreeMap<String, String> = setting(&pool, TAGS);
        for key in remove {
            tags.remove(key);
        }
        tags.extend(add);
        if tags.is_empty() {
            pool.config.settings.remove(TAGS);
        } else {
            put_setting(&mut pool, TAGS, &tags)?;
        }
        let srp = pool::srp_enabled_by_tags(Some(&tags));
        switch_srp(&mut *tx, &mut pool, srp).await?;
        pool.modified_at = self.now();
        tx.update_pool(&pool).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_arns_name_their_pool() {
        let id =
            pool_of_arn("arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_abc123")
                .map(|id| id.to_string());
        assert_eq!(id.ok().as_deref(), Some("us-east-1_abc123"));
        for other in [
            "arn:aws:s3:::bucket",
            "arn:aws:cognito-idp:us-east-1:000000000000:identitypool/x",
            "arn:aws:cognito-idp:us-east-1:000000000000:userpool/",
            "userpool/us-east-1_abc123",
        ] {
            assert!(pool_of_arn(other).is_err(), "{other}");
        }
    }
}
