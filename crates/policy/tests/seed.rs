//! The seed's three identity-pool role policies with the answers worked out in
//! shared/reference/identity-pools.md §7 (canonical text: Cognito developer guide, iam-roles,
//! examples 1–3), plus the guest scope-down of §1.7 and the trust policy of §2.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tessera_policy::{
    Outcome, Policy, PolicyKind, RequestContext, SourcedPolicy, evaluate, evaluate_trust,
};

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

fn decide(policy: &str, request: &RequestContext) -> Outcome {
    let policy = Policy::parse(policy, PolicyKind::Identity).unwrap();
    evaluate(request, &[SourcedPolicy::new("role", &policy)], None).outcome
}

fn object(key: &str) -> String {
    format!("arn:aws:s3:::mybucket/{key}")
}

// §7.1 Guest read of one object.
#[test]
fn guest_read_of_one_object() {
    let get = |key: &str| RequestContext::new("s3:GetObject", object(key)).with_key(SUB, S);
    assert_eq!(
        decide(GUEST_READ, &get("assets/my_picture.jpg")),
        Outcome::Allow
    );
    // The gateway decodes `my%5Fpicture.jpg` before asking, so it is the same key.
    assert_eq!(
        decide(GUEST_READ, &get("assets/my_picture.jpg")),
        Outcome::Allow
    );
    // Resource matching is case-sensitive.
    assert_eq!(
        decide(GUEST_READ, &get("assets/My_Picture.jpg")),
        Outcome::ImplicitDeny
    );
    let other = |action: &str| RequestContext::new(action, object("assets/my_picture.jpg"));
    for action in ["s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"] {
        assert_eq!(
            decide(GUEST_READ, &other(action)),
            Outcome::ImplicitDeny,
            "{action}"
        );
    }
    let list = RequestContext::new("s3:ListBucket", "arn:aws:s3:::mybucket")
        .with_key("s3:prefix", "assets/");
    assert_eq!(decide(GUEST_READ, &list), Outcome::ImplicitDeny);
    // Action names are case-insensitive.
    assert_eq!(
        decide(
            GUEST_READ,
            &RequestContext::new("S3:getobject", object("assets/my_picture.jpg"))
        ),
        Outcome::Allow
    );
}

fn list(prefix: Option<&str>, caller: Option<&str>) -> RequestContext {
    let mut r = RequestContext::new("s3:ListBucket", "arn:aws:s3:::mybucket");
    if let Some(p) = prefix {
        r = r.with_key("s3:prefix", p);
    }
    if let Some(c) = caller {
        r = r.with_key(SUB, c);
    }
    r
}

// §7.2 Per-identity S3 prefix.
#[test]
fn per_identity_prefix_listing() {
    let s_slash = format!("{S}/");
    let s_deep = format!("{S}/photos/2026");
    let o_slash = format!("{O}/");
    assert_eq!(
        decide(S3_PREFIX, &list(Some(&s_slash), Some(S))),
        Outcome::Allow
    );
    assert_eq!(
        decide(S3_PREFIX, &list(Some(&s_deep), Some(S))),
        Outcome::Allow
    );
    // No prefix: key absent, StringLike false.
    assert_eq!(
        decide(S3_PREFIX, &list(None, Some(S))),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        decide(S3_PREFIX, &list(Some(""), Some(S))),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        decide(S3_PREFIX, &list(Some(S), Some(S))),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        decide(S3_PREFIX, &list(Some(&o_slash), Some(S))),
        Outcome::ImplicitDeny
    );
    // A prefix that is the variable's literal text is not the caller's prefix (iam-rs allowed it).
    let literal = "${cognito-identity.amazonaws.com:sub}/x";
    assert_eq!(
        decide(S3_PREFIX, &list(Some(literal), Some(S))),
        Outcome::ImplicitDeny
    );
    // A session without the sub key: the variable has no value and matches nothing.
    assert_eq!(
        decide(S3_PREFIX, &list(Some(&s_slash), None)),
        Outcome::ImplicitDeny
    );
}

#[test]
fn per_identity_prefix_objects() {
    let req = |action: &str, key: &str| RequestContext::new(action, object(key)).with_key(SUB, S);
    for action in ["s3:GetObject", "s3:PutObject"] {
        assert_eq!(
            decide(S3_PREFIX, &req(action, &format!("{S}/a.txt"))),
            Outcome::Allow
        );
        assert_eq!(
            decide(S3_PREFIX, &req(action, &format!("{S}/"))),
            Outcome::Allow
        );
        assert_eq!(decide(S3_PREFIX, &req(action, S)), Outcome::ImplicitDeny);
        assert_eq!(
            decide(S3_PREFIX, &req(action, &format!("{O}/a.txt"))),
            Outcome::ImplicitDeny
        );
    }
    assert_eq!(
        decide(S3_PREFIX, &req("s3:DeleteObject", &format!("{S}/a.txt"))),
        Outcome::ImplicitDeny
    );
    // Without the sub key, `mybucket//x` must not match (iam-rs substituted "").
    let no_sub = RequestContext::new("s3:GetObject", object("/x"));
    assert_eq!(decide(S3_PREFIX, &no_sub), Outcome::ImplicitDeny);
}

#[test]
fn per_identity_prefix_without_2012_version_is_literal() {
    for version in [r#""Version":"2008-10-17","#, ""] {
        let policy = S3_PREFIX.replace(r#""Version":"2012-10-17","#, version);
        assert_eq!(
            decide(&policy, &list(Some(&format!("{S}/")), Some(S))),
            Outcome::ImplicitDeny
        );
        let get =
            RequestContext::new("s3:GetObject", object(&format!("{S}/a.txt"))).with_key(SUB, S);
        assert_eq!(decide(&policy, &get), Outcome::ImplicitDeny);
        // The literal text is what it matches now.
        let literal = RequestContext::new(
            "s3:GetObject",
            object("${cognito-identity.amazonaws.com:sub}/a.txt"),
        );
        assert_eq!(decide(&policy, &literal), Outcome::Allow);
    }
}

fn ddb(action: &str, table_arn: &str, keys: &[&str]) -> RequestContext {
    let mut r = RequestContext::new(action, table_arn).with_key(SUB, S);
    if !keys.is_empty() {
        r = r.with_multi_key("dynamodb:LeadingKeys", keys.iter().copied());
    }
    r
}

const TABLE: &str = "arn:aws:dynamodb:us-west-2:123456789012:table/MyTable";

// §7.3 DynamoDB rows keyed by identity.
#[test]
fn dynamodb_rows_by_leading_key() {
    for action in [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    ] {
        assert_eq!(
            decide(DYNAMO_ROWS, &ddb(action, TABLE, &[S])),
            Outcome::Allow,
            "{action}"
        );
        assert_eq!(
            decide(DYNAMO_ROWS, &ddb(action, TABLE, &[O])),
            Outcome::ImplicitDeny
        );
    }
    let composite = format!("{S}#profile");
    assert_eq!(
        decide(DYNAMO_ROWS, &ddb("dynamodb:PutItem", TABLE, &[&composite])),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        decide(DYNAMO_ROWS, &ddb("dynamodb:Query", TABLE, &[S])),
        Outcome::Allow
    );
    assert_eq!(
        decide(DYNAMO_ROWS, &ddb("dynamodb:BatchGetItem", TABLE, &[S, S])),
        Outcome::Allow
    );
    assert_eq!(
        decide(DYNAMO_ROWS, &ddb("dynamodb:BatchGetItem", TABLE, &[S, O])),
        Outcome::ImplicitDeny
    );
    // Scan is not listed.
    assert_eq!(
        decide(DYNAMO_ROWS, &ddb("dynamodb:Scan", TABLE, &[])),
        Outcome::ImplicitDeny
    );
    // An index is another resource.
    let index = format!("{TABLE}/index/X");
    assert_eq!(
        decide(DYNAMO_ROWS, &ddb("dynamodb:Query", &index, &[S])),
        Outcome::ImplicitDeny
    );
    let east = "arn:aws:dynamodb:us-east-1:123456789012:table/MyTable";
    assert_eq!(
        decide(DYNAMO_ROWS, &ddb("dynamodb:GetItem", east, &[S])),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        decide(DYNAMO_ROWS, &ddb("dynamodb:DescribeTable", TABLE, &[])),
        Outcome::ImplicitDeny
    );
}

#[test]
fn forallvalues_is_vacuously_true_without_leading_keys() {
    // Gotcha 7: if Scan were listed, ForAllValues over the absent key would allow it.
    let with_scan = DYNAMO_ROWS.replace(
        r#""dynamodb:GetItem","#,
        r#""dynamodb:GetItem","dynamodb:Scan","#,
    );
    assert_eq!(
        decide(&with_scan, &ddb("dynamodb:Scan", TABLE, &[])),
        Outcome::Allow
    );
    // An empty list behaves the same.
    let empty = RequestContext::new("dynamodb:Scan", TABLE)
        .with_key(SUB, S)
        .with_multi_key("dynamodb:LeadingKeys", Vec::<String>::new());
    assert_eq!(decide(&with_scan, &empty), Outcome::Allow);
}

#[test]
fn composite_leading_keys_need_string_like() {
    // aws/aws-sdk-js-v3#3115: a `${sub}#*` prefix with ForAllValues:StringLike.
    let like = DYNAMO_ROWS
        .replace("ForAllValues:StringEquals", "ForAllValues:StringLike")
        .replace(
            r#"["${cognito-identity.amazonaws.com:sub}"]"#,
            r#"["${cognito-identity.amazonaws.com:sub}#*"]"#,
        );
    let composite = format!("{S}#profile");
    assert_eq!(
        decide(&like, &ddb("dynamodb:PutItem", TABLE, &[&composite])),
        Outcome::Allow
    );
    let foreign = format!("{O}#profile");
    assert_eq!(
        decide(
            &like,
            &ddb("dynamodb:PutItem", TABLE, &[&composite, &foreign])
        ),
        Outcome::ImplicitDeny
    );
}

/// §1.7 / gotcha 8: the guest scope-down is a session policy, intersected with the role's.
#[test]
fn guest_session_policy_intersects_with_the_role() {
    let role = Policy::parse(S3_PREFIX, PolicyKind::Identity).unwrap();
    let scope_down = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","dynamodb:*","sns:*"],"Resource":"*"}]}"#,
        PolicyKind::Identity,
    )
    .unwrap();
    let only_ddb = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"}]}"#,
        PolicyKind::Identity,
    )
    .unwrap();
    let identity = [SourcedPolicy::new("role", &role)];
    let get = RequestContext::new("s3:GetObject", object(&format!("{S}/a.txt"))).with_key(SUB, S);
    let both = [SourcedPolicy::new("scope-down", &scope_down)];
    let d = evaluate(&get, &identity, Some(&both));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.matched.len(), 2);
    // The session policy not granting S3 denies, though the role does.
    let narrow = [SourcedPolicy::new("scope-down", &only_ddb)];
    assert_eq!(
        evaluate(&get, &identity, Some(&narrow)).outcome,
        Outcome::ImplicitDeny
    );
    // The session policy can't grant what the role does not.
    let del =
        RequestContext::new("s3:DeleteObject", object(&format!("{S}/a.txt"))).with_key(SUB, S);
    assert_eq!(
        evaluate(&del, &identity, Some(&both)).outcome,
        Outcome::ImplicitDeny
    );
    // An empty session-policy list allows nothing; no list at all leaves the role alone.
    assert_eq!(
        evaluate(&get, &identity, Some(&[])).outcome,
        Outcome::ImplicitDeny
    );
    assert_eq!(evaluate(&get, &identity, None).outcome, Outcome::Allow);
    // A Deny in a session policy is a Deny.
    let deny_s3 = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:PutObject","Resource":"*"}]}"#,
        PolicyKind::Identity,
    )
    .unwrap();
    let put = RequestContext::new("s3:PutObject", object(&format!("{S}/a.txt"))).with_key(SUB, S);
    let with_deny = [
        SourcedPolicy::new("scope-down", &scope_down),
        SourcedPolicy::new("deny", &deny_s3),
    ];
    let d = evaluate(&put, &identity, Some(&with_deny));
    assert_eq!(d.outcome, Outcome::ExplicitDeny);
    assert_eq!(d.matched[0].set, tessera_policy::PolicySet::Session);
    // Two session policies act as one set: an Allow in either suffices.
    let two = [
        SourcedPolicy::new("inline", &scope_down),
        SourcedPolicy::new("managed", &only_ddb),
    ];
    assert_eq!(
        evaluate(&get, &identity, Some(&two)).outcome,
        Outcome::Allow
    );
}

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Principal":{"Federated":"cognito-identity.amazonaws.com"},
  "Action":"sts:AssumeRoleWithWebIdentity",
  "Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":"us-east-1:12345678-corner-cafe-123456790ab"},
               "ForAnyValue:StringLike":{"cognito-identity.amazonaws.com:amr":"authenticated"}}}]}"#;

/// §2: the authenticated role's trust policy.
#[test]
fn trust_policy_for_identity_pool_roles() {
    let trust = Policy::parse(TRUST, PolicyKind::Trust).unwrap();
    let src = SourcedPolicy::new("trust", &trust);
    let pool = "us-east-1:12345678-corner-cafe-123456790ab";
    let signed_in = RequestContext::cognito_web_identity(
        pool,
        S,
        &[
            "authenticated",
            "cognito-idp.us-east-1.amazonaws.com/us-east-1_abc",
            "cognito-idp.us-east-1.amazonaws.com/us-east-1_abc:CognitoSignIn:xyz",
        ],
    );
    let d = evaluate_trust(&signed_in, src);
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.matched[0].statement_index, 0);
    assert_eq!(d.matched[0].source_policy_id, "trust");
    // Where the statement is in the document, for SimulatePrincipalPolicy.
    let start = d.matched[0].start_position.unwrap();
    assert_eq!((start.line, start.column), (1, 38));
    assert_eq!(d.matched[0].end_position.unwrap().line, 5);
    // A guest token carries amr ["unauthenticated"].
    let guest = RequestContext::cognito_web_identity(pool, S, &["unauthenticated"]);
    assert_eq!(evaluate_trust(&guest, src).outcome, Outcome::ImplicitDeny);
    // Another pool.
    let other = RequestContext::cognito_web_identity("us-east-1:other", S, &["authenticated"]);
    assert_eq!(evaluate_trust(&other, src).outcome, Outcome::ImplicitDeny);
    // sts:AssumeRole instead of AssumeRoleWithWebIdentity.
    let wrong = RequestContext::new("sts:AssumeRole", "*")
        .with_principal(tessera_policy::Principal::Federated(
            "cognito-identity.amazonaws.com".into(),
        ))
        .with_key("cognito-identity.amazonaws.com:aud", pool)
        .with_multi_key("cognito-identity.amazonaws.com:amr", ["authenticated"]);
    assert_eq!(evaluate_trust(&wrong, src).outcome, Outcome::ImplicitDeny);
    // Another federated provider.
    let google = RequestContext::new("sts:AssumeRoleWithWebIdentity", "*")
        .with_principal(tessera_policy::Principal::Federated(
            "accounts.google.com".into(),
        ))
        .with_key("cognito-identity.amazonaws.com:aud", pool)
        .with_multi_key("cognito-identity.amazonaws.com:amr", ["authenticated"]);
    assert_eq!(evaluate_trust(&google, src).outcome, Outcome::ImplicitDeny);
    // No amr key at all: ForAnyValue is false.
    let no_amr = RequestContext::new("sts:AssumeRoleWithWebIdentity", "*")
        .with_principal(tessera_policy::Principal::Federated(
            "cognito-identity.amazonaws.com".into(),
        ))
        .with_key("cognito-identity.amazonaws.com:aud", pool);
    assert_eq!(evaluate_trust(&no_amr, src).outcome, Outcome::ImplicitDeny);
}
