//! Policy evaluations per second for the seed's three role policies (reference §7), beside two
//! baselines measured in the same run: an exact string compare of action + resource against the
//! policy's literal pairs (what a gateway with no policy language would do), and the cost of
//! parsing each document.
//!
//!     cargo bench -p tessera-policy
//!
//! No criterion: each case runs for `TESSERA_BENCH_MS` milliseconds (default 1000) and reports
//! operations per second and the ratio to the exact-compare baseline.

#![allow(clippy::expect_used)] // a bench that can't parse the seed policies has nothing to measure

use std::hint::black_box;
use std::time::{Duration, Instant};
use tessera_policy::{Policy, PolicyKind, RequestContext, SourcedPolicy, evaluate};

const S: &str = "us-east-1:12345678-1234-1234-1234-123456790ab";
const O: &str = "us-east-1:98765432-1234-1234-1234-123456790ab";
const SUB: &str = "cognito-identity.amazonaws.com:sub";

const GUEST_READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Action":["s3:GetObject"],"Effect":"Allow",
  "Resource":["arn:aws:s3:::mybucket/assets/my_picture.jpg"]}]}"#;
const S3_PREFIX: &str = r#"{"Version":"2012-10-17","Statement":[
 {"Action":["s3:ListBucket"],"Effect":"Allow","Resource":["arn:aws:s3:::mybucket"],
  "Condition":{"StringLike":{"s3:prefix":["${cognito-identity.amazonaws.com:sub}/*"]}}},
 {"Action":["s3:GetObject","s3:PutObject"],"Effect":"Allow",
  "Resource":["arn:aws:s3:::mybucket/${cognito-identity.amazonaws.com:sub}/*"]}]}"#;
const DYNAMO_ROWS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Action":["dynamodb:GetItem","dynamodb:BatchGetItem","dynamodb:Query","dynamodb:PutItem",
            "dynamodb:UpdateItem","dynamodb:DeleteItem","dynamodb:BatchWriteItem"],
  "Resource":["arn:aws:dynamodb:us-west-2:123456789012:table/MyTable"],
  "Condition":{"ForAllValues:StringEquals":{"dynamodb:LeadingKeys":["${cognito-identity.amazonaws.com:sub}"]}}}]}"#;
const TABLE: &str = "arn:aws:dynamodb:us-west-2:123456789012:table/MyTable";

fn run(budget: Duration, mut op: impl FnMut() -> bool) -> f64 {
    // Warm up, then count whole batches until the budget is spent.
    for _ in 0..1000 {
        black_box(op());
    }
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < budget {
        for _ in 0..1000 {
            black_box(op());
        }
        n += 1000;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let ms = std::env::var("TESSERA_BENCH_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let budget = Duration::from_millis(ms);

    let own_key = format!("arn:aws:s3:::mybucket/{S}/photos/a.jpg");
    let other_key = format!("arn:aws:s3:::mybucket/{O}/photos/a.jpg");
    let prefix = format!("{S}/photos/");
    let cases: Vec<(&str, &str, RequestContext, bool)> = vec![
        (
            "guest read: allow",
            GUEST_READ,
            RequestContext::new(
                "s3:GetObject",
                "arn:aws:s3:::mybucket/assets/my_picture.jpg",
            ),
            true,
        ),
        (
            "guest read: deny (other key)",
            GUEST_READ,
            RequestContext::new("s3:GetObject", "arn:aws:s3:::mybucket/assets/other.jpg"),
            false,
        ),
        (
            "s3 prefix: GetObject own",
            S3_PREFIX,
            RequestContext::new("s3:GetObject", own_key.as_str()).with_key(SUB, S),
            true,
        ),
        (
            "s3 prefix: GetObject other",
            S3_PREFIX,
            RequestContext::new("s3:GetObject", other_key.as_str()).with_key(SUB, S),
            false,
        ),
        (
            "s3 prefix: ListBucket own prefix",
            S3_PREFIX,
            RequestContext::new("s3:ListBucket", "arn:aws:s3:::mybucket")
                .with_key(SUB, S)
                .with_key("s3:prefix", prefix.as_str()),
            true,
        ),
        (
            "dynamodb: GetItem own key",
            DYNAMO_ROWS,
            RequestContext::new("dynamodb:GetItem", TABLE)
                .with_key(SUB, S)
                .with_multi_key("dynamodb:LeadingKeys", [S]),
            true,
        ),
        (
            "dynamodb: BatchGetItem {S,O}",
            DYNAMO_ROWS,
            RequestContext::new("dynamodb:BatchGetItem", TABLE)
                .with_key(SUB, S)
                .with_multi_key("dynamodb:LeadingKeys", [S, O]),
            false,
        ),
    ];

    // Baseline: the literal (action, resource) pairs a hard-coded gateway would compare.
    let literal_pairs: Vec<(String, String)> = vec![
        (
            "s3:GetObject".into(),
            "arn:aws:s3:::mybucket/assets/my_picture.jpg".into(),
        ),
        ("s3:ListBucket".into(), "arn:aws:s3:::mybucket".into()),
        ("s3:GetObject".into(), own_key.clone()),
        ("s3:PutObject".into(), own_key.clone()),
        ("dynamodb:GetItem".into(), TABLE.into()),
    ];
    let probe_action = "s3:GetObject".to_string();
    let probe_resource = own_key.clone();
    let baseline = run(budget, || {
        let a = black_box(probe_action.as_str());
        let r = black_box(probe_resource.as_str());
        literal_pairs.iter().any(|(pa, pr)| pa == a && pr == r)
    });
    println!("baseline exact compare of action+resource: {baseline:>14.0} /s");

    println!(
        "{:<36} {:>12} {:>10} {:>12} {:>10}",
        "case", "evals/s", "vs base", "parses/s", "eval/parse"
    );
    for (name, doc, request, want) in &cases {
        let policy = Policy::parse(doc, PolicyKind::Identity).expect("seed policy parses");
        let sources = [SourcedPolicy::new("role", &policy)];
        assert_eq!(
            evaluate(request, &sources, None).is_allowed(),
            *want,
            "{name}"
        );
        let evals = run(budget, || {
            evaluate(black_box(request), black_box(&sources), None).is_allowed()
        });
        let parses = run(budget, || {
            Policy::parse(black_box(doc), PolicyKind::Identity).is_ok()
        });
        println!(
            "{name:<36} {evals:>12.0} {:>9.1}x {parses:>12.0} {:>9.1}x",
            baseline / evals,
            evals / parses
        );
    }
    println!(
        "(vs base: how many exact compares fit in one evaluation; eval/parse: evaluations per parse)"
    );
}
