//! CreateUserImportJob, StartUserImportJob, StopUserImportJob, DescribeUserImportJob,
//! ListUserImportJobs, and the upload behind a job's PreSignedUrl (`PUT
//! /user-import/{poolId}/{jobId}?token=…`, answered as S3 answers a pre-signed PUT).

use super::{ApiResult, pool_id, ts};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tessera_engine::{ImportJobView, UploadRefusal};
use tessera_wire::idp as wire;

fn count(n: u64) -> Option<i64> {
    Some(i64::try_from(n).unwrap_or(i64::MAX))
}

fn job_out(v: ImportJobView) -> wire::UserImportJobType {
    let j = v.job;
    wire::UserImportJobType {
        cloud_watch_logs_role_arn: Some(j.cloud_watch_logs_role_arn),
        completion_date: j.completed_at.map(ts),
        completion_message: j.completion_message,
        creation_date: Some(ts(j.created_at)),
        failed_users: count(j.failed_users),
        imported_users: count(j.imported_users),
        job_id: Some(j.job_id),
        job_name: Some(j.job_name),
        password_hashing_algorithm: j
            .password_hashing_algorithm
            .as_deref()
            .and_then(wire::PasswordHashingAlgorithmType::parse),
        pre_signed_url: Some(v.pre_signed_url),
        skipped_users: count(j.skipped_users),
        start_date: j.started_at.map(ts),
        status: wire::UserImportJobStatusType::parse(j.status.as_str()),
        user_pool_id: Some(j.pool_id.to_string()),
    }
}

pub async fn create_user_import_job(
    state: Arc<AppState>,
    req: wire::CreateUserImportJobRequest,
) -> ApiResult<wire::CreateUserImportJobResponse> {
    let id = pool_id(&req.user_pool_id)?;
    let job = state
        .engine
        .create_user_import_job(
            &id,
            req.job_name,
            req.cloud_watch_logs_role_arn,
            req.password_hashing_algorithm
                .map(|a| a.as_str().to_string()),
        )
        .await?;
    Ok(wire::CreateUserImportJobResponse {
        user_import_job: Some(job_out(job)),
    })
}

pub async fn describe_user_import_job(
    state: Arc<AppState>,
    req: wire::DescribeUserImportJobRequest,
) -> ApiResult<wire::DescribeUserImportJobResponse> {
    let id = pool_id(&req.user_pool_id)?;
    let job = state
        .engine
        .describe_user_import_job(&id, &req.job_id)
        .await?;
    Ok(wire::DescribeUserImportJobResponse {
        user_import_job: Some(job_out(job)),
    })
}

pub async fn start_user_import_job(
    state: Arc<AppState>,
    req: wire::StartUserImportJobRequest,
) -> ApiResult<wire::StartUserImportJobResponse> {
    let id = pool_id(&req.user_pool_id)?;
    let job = state.engine.start_user_import_job(&id, &req.job_id).await?;
    Ok(wire::StartUserImportJobResponse {
        user_import_job: Some(job_out(job)),
    })
}

pub async fn stop_user_import_job(
    state: Arc<AppState>,
    req: wire::StopUserImportJobRequest,
) -> ApiResult<wire::StopUserImportJobResponse> {
    let id = pool_id(&req.user_pool_id)?;
    let job = state.engine.stop_user_import_job(&id, &req.job_id).await?;
    Ok(wire::StopUserImportJobResponse {
        user_import_job: Some(job_out(job)),
    })
}

pub async fn list_user_import_jobs(
    state: Arc<AppState>,
    req: wire::ListUserImportJobsRequest,
) -> ApiResult<wire::ListUserImportJobsResponse> {
    let id = pool_id(&req.user_pool_id)?;
    let limit = usize::try_from(req.max_results).unwrap_or(1).clamp(1, 60);
    let (jobs, next) = state
        .engine
        .list_user_import_jobs(&id, limit, req.pagination_token.as_deref())
        .await?;
    Ok(wire::ListUserImportJobsResponse {
        pagination_token: next,
        user_import_jobs: Some(jobs.into_iter().map(job_out).collect()),
    })
}

#[derive(serde::Deserialize)]
pub struct UploadQuery {
    #[serde(default)]
    token: String,
}

/// S3's XML error body for a refused pre-signed PUT.
fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [("content-type", "application/xml")], body).into_response()
}

/// `PUT /user-import/{poolId}/{jobId}?token=…`: the CSV file of a job in status Created.
pub async fn upload(
    State(state): State<Arc<AppState>>,
    Path((pool, job)): Path<(String, String)>,
    Query(q): Query<UploadQuery>,
    body: Bytes,
) -> Response {
    let Ok(pool) = pool_id(&pool) else {
        return s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied");
    };
    match state
        .engine
        .upload_import_csv(&pool, &job, &q.token, &body)
        .await
    {
        Ok(Ok(())) => StatusCode::OK.into_response(),
        Ok(Err(UploadRefusal::Forbidden)) => {
            s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied")
        }
        Ok(Err(UploadRefusal::Expired)) => {
            s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired")
        }
        Ok(Err(UploadRefusal::TooLate)) => s3_error(
            StatusCode::CONFLICT,
            "OperationAborted",
            "The import job has already started; create a new job to import another file.",
        ),
        Ok(Err(UploadRefusal::TooLarge)) => s3_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size (100 MB).",
        ),
        Err(e) => {
            tracing::error!(error = %e, "import CSV upload failed");
            s3_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
            )
        }
    }
}
