//! What the parser refuses, with IAM's MalformedPolicyDocument messages. The messages were
//! checked against real IAM/S3 answers quoted in public issue threads:
//! - "Syntax errors in policy." (awslabs/ec2-spot-labs#25, cfn-lint#3751)
//! - "Policy document should not specify a principal." (hashicorp/terraform-provider-aws#10419)
//! - "Missing required field Principal" (S3 bucket policies: humanmade/S3-Uploads#191)
//! - "Has prohibited field Resource" (CreateRole: kubernetes-sigs/external-dns#3085)
//! - "Policy statement must contain actions." (aws/aws-cdk#7615)
//! - "Policy statement must contain resources." (hashicorp/terraform#17987)
//! - "Actions/Condition can contain only one colon." (garnaat/kappa#111)
//! - `Resource X must be in ARN format or "*".` (ministryofjustice/modernisation-platform-environments#590)
//! - `Invalid principal in policy: "AWS":"arn:…"` (aws-actions/configure-aws-credentials#332)
//! - "The policy must contain a valid version string" (S3: versity/versitygw#1536, minio#16178)
//!
//! Not confirmed from a real answer: "Missing required field Effect" and "Actions/Conditions
//! must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.".

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tessera_policy::{Policy, PolicyKind};

fn err(doc: &str, kind: PolicyKind) -> String {
    match Policy::parse(doc, kind) {
        Ok(p) => panic!("accepted {doc}: {p:?}"),
        Err(e) => e.message().to_string(),
    }
}

const ALLOW_S3: &str = r#""Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*""#;

fn doc(statement: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{{{statement}}}]}}"#)
}

#[test]
fn syntax_errors() {
    let cases = [
        "not json",
        "[]",
        r#"{"Version":"2012-10-17"}"#,
        r#"{"Version":"2012-10-17","Statement":"x"}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Extra":1}]}"#,
        r#"{"Version":"2012-10-17","Statement":[],"Unknown":1}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"s3:*","Resource":"*"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"a:b":"c"}}}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NullIfExists":{"a:b":"true"}}}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"a:b":{"x":1}}}}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":["x"]}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":5,"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
    ];
    for case in cases {
        assert_eq!(
            err(case, PolicyKind::Identity),
            "Syntax errors in policy.",
            "{case}"
        );
    }
}

#[test]
fn principal_rules_per_kind() {
    let with_principal = doc(&format!(
        r#""Principal":{{"AWS":"123456789012"}},{ALLOW_S3}"#
    ));
    assert_eq!(
        err(&with_principal, PolicyKind::Identity),
        "Policy document should not specify a principal."
    );
    let not_principal = doc(&format!(r#""NotPrincipal":"*",{ALLOW_S3}"#));
    assert_eq!(
        err(&not_principal, PolicyKind::Identity),
        "Policy document should not specify a principal."
    );
    assert_eq!(
        err(
            &doc(r#""Effect":"Allow","Action":"sts:AssumeRole""#),
            PolicyKind::Trust
        ),
        "Missing required field Principal"
    );
    assert_eq!(
        err(&doc(ALLOW_S3), PolicyKind::Resource),
        "Missing required field Principal"
    );
    assert!(Policy::parse(&with_principal, PolicyKind::Resource).is_ok());
}

#[test]
fn trust_policies_refuse_resources() {
    let trust = |extra: &str| {
        doc(&format!(
            r#""Effect":"Allow","Principal":{{"Service":"ec2.amazonaws.com"}},"Action":"sts:AssumeRole"{extra}"#
        ))
    };
    assert!(Policy::parse(&trust(""), PolicyKind::Trust).is_ok());
    assert_eq!(
        err(&trust(r#","Resource":"*""#), PolicyKind::Trust),
        "Has prohibited field Resource"
    );
    assert_eq!(
        err(&trust(r#","NotResource":"*""#), PolicyKind::Trust),
        "Has prohibited field NotResource"
    );
}

#[test]
fn invalid_principals() {
    let trust = |principal: &str| {
        doc(&format!(
            r#""Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole""#
        ))
    };
    for (principal, message) in [
        (
            r#"{"AWS":"arn:aws:iam::12345678910:role/Orchestration_Role"}"#,
            r#"Invalid principal in policy: "AWS":"arn:aws:iam::12345678910:role/Orchestration_Role""#,
        ),
        (
            r#"{"AWS":"Bob"}"#,
            r#"Invalid principal in policy: "AWS":"Bob""#,
        ),
        (
            r#"{"AWS":"arn:aws:s3:::bucket"}"#,
            r#"Invalid principal in policy: "AWS":"arn:aws:s3:::bucket""#,
        ),
        (
            r#"{"Service":"*"}"#,
            r#"Invalid principal in policy: "Service":"*""#,
        ),
        (
            r#"{"Robot":"r2d2"}"#,
            r#"Invalid principal in policy: "Robot":"r2d2""#,
        ),
    ] {
        assert_eq!(
            err(&trust(principal), PolicyKind::Trust),
            message,
            "{principal}"
        );
    }
    assert_eq!(
        err(&trust(r#""me""#), PolicyKind::Trust),
        "Syntax errors in policy."
    );
    for ok in [
        r#""*""#,
        r#"{"AWS":"*"}"#,
        r#"{"AWS":["123456789012","arn:aws:iam::123456789012:root","arn:aws:iam::123456789012:role/path/R","arn:aws:sts::123456789012:assumed-role/R/s"]}"#,
        r#"{"Federated":"cognito-identity.amazonaws.com"}"#,
        r#"{"Federated":"arn:aws:iam::123456789012:oidc-provider/example.com"}"#,
        r#"{"Service":["lambda.amazonaws.com","ec2.amazonaws.com"]}"#,
    ] {
        assert!(Policy::parse(&trust(ok), PolicyKind::Trust).is_ok(), "{ok}");
    }
}

#[test]
fn statement_elements() {
    assert_eq!(
        err(
            &doc(r#""Effect":"Allow","Resource":"*""#),
            PolicyKind::Identity
        ),
        "Policy statement must contain actions."
    );
    assert_eq!(
        err(
            &doc(r#""Effect":"Allow","Action":"s3:*""#),
            PolicyKind::Identity
        ),
        "Policy statement must contain resources."
    );
    assert_eq!(
        err(
            &doc(r#""Action":"s3:*","Resource":"*""#),
            PolicyKind::Identity
        ),
        "Missing required field Effect"
    );
    assert_eq!(
        err(
            &doc(r#""Effect":"Allow","Action":"s3:Get:Object","Resource":"*""#),
            PolicyKind::Identity
        ),
        "Actions/Condition can contain only one colon."
    );
    assert_eq!(
        err(
            &doc(r#""Effect":"Allow","Action":"GetObject","Resource":"*""#),
            PolicyKind::Identity
        ),
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
    );
    assert_eq!(
        err(
            &doc(
                r#""Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"a:b:c":"x"}}"#
            ),
            PolicyKind::Identity
        ),
        "Actions/Condition can contain only one colon."
    );
    assert_eq!(
        err(
            &doc(r#""Effect":"Allow","Action":"s3:*","Resource":"s3-bucket-ukcloud-replica""#),
            PolicyKind::Identity
        ),
        r#"Resource s3-bucket-ukcloud-replica must be in ARN format or "*"."#
    );
}

#[test]
fn versions() {
    for v in [r#""2012-10-17""#, r#""2008-10-17""#] {
        let d = format!(r#"{{"Version":{v},"Statement":{{{ALLOW_S3}}}}}"#);
        assert!(Policy::parse(&d, PolicyKind::Identity).is_ok());
    }
    for v in [r#""2012-10-18""#, r#""""#, "2012"] {
        let d = format!(r#"{{"Version":{v},"Statement":{{{ALLOW_S3}}}}}"#);
        assert_eq!(
            err(&d, PolicyKind::Identity),
            "The policy must contain a valid version string"
        );
    }
}

#[test]
fn accepted_shapes() {
    // Statement as one object; single strings or lists everywhere; Id and Sid; numbers and
    // booleans as condition values.
    let p = Policy::parse(
        r#"{"Id":"p1","Statement":{"Sid":"One","Effect":"Deny","NotAction":["s3:*"],"NotResource":"*",
            "Condition":{"NumericLessThan":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":false}}}}"#,
        PolicyKind::Identity,
    )
    .unwrap();
    assert_eq!(p.id.as_deref(), Some("p1"));
    assert_eq!(p.version, None);
    assert_eq!(p.statements.len(), 1);
    assert_eq!(p.statements[0].sid.as_deref(), Some("One"));
    assert_eq!(p.statements[0].conditions.len(), 2);
    // Tag keys may hold colons after the `/`.
    let tags = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*",
            "Condition":{"StringEquals":{"aws:ResourceTag/aws:cloudformation:stack-name":"s"}}}}"#,
        PolicyKind::Identity,
    );
    assert!(tags.is_ok(), "{tags:?}");
}
