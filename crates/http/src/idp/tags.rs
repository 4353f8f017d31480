//! TagResource, UntagResource, ListTagsForResource (user pools).

use super::ApiResult;
use crate::AppState;
use std::sync::Arc;
use tessera_wire::idp as wire;

pub async fn tag_resource(
    state: Arc<AppState>,
    req: wire::TagResourceRequest,
) -> ApiResult<wire::TagResourceResponse> {
    state
        .engine
        .retag_user_pool(&req.resource_arn, req.tags, &[])
        .await?;
    Ok(wire::TagResourceResponse::default())
}

pub async fn untag_resource(
    state: Arc<AppState>,
    req: wire::UntagResourceRequest,
) -> ApiResult<wire::UntagResourceResponse> {
    state
        .engine
        .retag_user_pool(&req.resource_arn, Default::default(), &req.tag_keys)
        .await?;
    Ok(wire::UntagResourceResponse::default())
}

pub async fn list_tags_for_resource(
    state: Arc<AppState>,
    req: wire::ListTagsForResourceRequest,
) -> ApiResult<wire::ListTagsForResourceResponse> {
    let tags = state.engine.user_pool_tags(&req.resource_arn).await?;
    Ok(wire::ListTagsForResourceResponse { tags: Some(tags) })
}
