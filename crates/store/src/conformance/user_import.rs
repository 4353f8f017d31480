//! Conformance checks for [`crate::UserImportTx`].

use super::{pool, seed_pool, t};
use crate::Store;
use std::sync::Arc;
use tessera_domain::user_import::{ImportJobStatus, ImportRowError, UserImportJob};

pub(super) fn job(p: &tessera_domain::pool::UserPool, id: &str, at: i64) -> UserImportJob {
    UserImportJob {
        pool_id: p.id.clone(),
        job_id: id.into(),
        job_name: format!("job {id}"),
        cloud_watch_logs_role_arn: "arn:aws:iam::000000000000:role/Import".into(),
        password_hashing_algorithm: None,
        status: ImportJobStatus::Created,
        created_at: t(at),
        started_at: None,
        completed_at: None,
        imported_users: 0,
        skipped_users: 0,
        failed_users: 0,
        completion_message: None,
        sealed_upload_token: vec![1, 2, 3],
        upload_expires_at: t(at + 60_000),
        uploaded: false,
        next_row: 0,
        total_rows: 0,
    }
}

pub async fn import_jobs_advance_by_compare_and_set_and_go_with_the_pool(store: Arc<dyn Store>) {
    let p = pool("us-east-1_IMPA");
    seed_pool(&*store, &p).await;
    let mut tx = store.begin().await.unwrap();
    for (id, at) in [("import-a", 10), ("import-b", 20), ("import-c", 20)] {
        tx.insert_import_job(&job(&p, id, at)).await.unwrap();
    }
    tx.put_import_csv(&p.id, "import-a", b"h\nrow\n")
        .await
        .unwrap();
    tx.put_import_csv(&p.id, "import-a", b"h\nrow2\n")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let page = tx.list_import_jobs(&p.id, None, 2).await.unwrap();
    let ids: Vec<&str> = page.iter().map(|j| j.job_id.as_str()).collect();
    assert_eq!(ids, ["import-c", "import-b"], "newest first, ties by id");
    let rest = tx
        .list_import_jobs(&p.id, Some("import-b"), 2)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].job_id, "import-a");
    assert_eq!(
        tx.get_import_csv(&p.id, "import-a")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"h\nrow2\n"[..])
    );
    assert_eq!(tx.get_import_csv(&p.id, "import-b").await.unwrap(), None);

    let mut running = tx.get_import_job(&p.id, "import-a").await.unwrap().unwrap();
    running.status = ImportJobStatus::InProgress;
    running.next_row = 500;
    running.imported_users = 499;
    assert!(
        tx.advance_import_job(&running, (0, ImportJobStatus::Created))
            .await
            .unwrap()
    );
    // A second runner that read the old cursor loses.
    assert!(
        !tx.advance_import_job(&running, (0, ImportJobStatus::Created))
            .await
            .unwrap()
    );
    // So does a writer that read the cursor right but another status (a Stop came between).
    let mut stale = running.clone();
    stale.next_row = 1000;
    assert!(
        !tx.advance_import_job(&stale, (500, ImportJobStatus::Created))
            .await
            .unwrap()
    );
    tx.add_import_errors(
        &p.id,
        "import-a",
        &[
            ImportRowError {
                row: 7,
                username: Some("bob".into()),
                message: "exists".into(),
            },
            ImportRowError {
                row: 3,
                username: None,
                message: "no username".into(),
            },
        ],
    )
    .await
    .unwrap();
    // The same row logged twice (a retried batch) stays once.
    tx.add_import_errors(
        &p.id,
        "import-a",
        &[ImportRowError {
            row: 3,
            username: None,
            message: "again".into(),
        }],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let unfinished = tx.unfinished_import_jobs().await.unwrap();
    assert_eq!(unfinished.len(), 1);
    assert_eq!(unfinished[0].next_row, 500);
    assert_eq!(unfinished[0].imported_users, 499);
    let log = tx.import_errors(&p.id, "import-a").await.unwrap();
    assert_eq!(log.iter().map(|e| e.row).collect::<Vec<_>>(), [3, 7]);
    assert_eq!(log[0].message, "no username");
    assert!(tx.delete_pool(&p.id).await.unwrap());
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.get_import_job(&p.id, "import-a")
            .await
            .unwrap()
            .is_none()
    );
    assert!(tx.unfinished_import_jobs().await.unwrap().is_empty());
}
