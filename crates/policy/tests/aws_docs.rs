//! Table tests from the IAM user guide's documented examples. Each group cites its page
//! (https://docs.aws.amazon.com/IAM/latest/UserGuide/<page>.html, also awsdocs/iam-user-guide
//! doc_source/<page>.md). Policies are the documented ones, reduced to the statement under test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use tessera_policy::{
    Effect, Outcome, Policy, PolicyKind, Principal, RequestContext, SourcedPolicy, evaluate,
    evaluate_trust,
};

fn policy(statements: &str) -> Policy {
    let doc = format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#);
    Policy::parse(&doc, PolicyKind::Identity).unwrap_or_else(|e| panic!("{e}: {doc}"))
}

fn outcome(p: &Policy, r: &RequestContext) -> Outcome {
    evaluate(r, &[SourcedPolicy::new("p", p)], None).outcome
}

/// `cases`: (request, expected) rows.
fn table(p: &Policy, cases: &[(RequestContext, Outcome)]) {
    for (i, (request, want)) in cases.iter().enumerate() {
        assert_eq!(outcome(p, request), *want, "row {i}: {request:?}");
    }
}

use Outcome::{Allow, ExplicitDeny as Deny, ImplicitDeny as Implicit};

fn req(action: &str, resource: &str) -> RequestContext {
    RequestContext::new(action, resource)
}

// reference_policies_evaluation-logic: an explicit Deny in any policy overrides any Allow;
// without an Allow the request is implicitly denied.
#[test]
fn evaluation_logic_deny_beats_allow() {
    let p = policy(
        r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"},
           {"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"arn:aws:s3:::prod"}"#,
    );
    table(
        &p,
        &[
            (req("s3:DeleteBucket", "arn:aws:s3:::prod"), Deny),
            (req("s3:DeleteBucket", "arn:aws:s3:::dev"), Allow),
            (req("ec2:RunInstances", "*"), Implicit),
        ],
    );
    // The Deny wins across policies too, in whichever order they come.
    let allow = policy(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#);
    let deny = policy(r#"{"Effect":"Deny","Action":"s3:*","Resource":"*"}"#);
    let r = req("s3:GetObject", "arn:aws:s3:::b/k");
    for set in [
        [
            SourcedPolicy::new("a", &allow),
            SourcedPolicy::new("d", &deny),
        ],
        [
            SourcedPolicy::new("d", &deny),
            SourcedPolicy::new("a", &allow),
        ],
    ] {
        let d = evaluate(&r, &set, None);
        assert_eq!(d.outcome, Deny);
        assert_eq!(d.matched.len(), 1);
        assert_eq!(d.matched[0].source_policy_id, "d");
        assert_eq!(d.matched[0].effect, Effect::Deny);
    }
}

// reference_policies_elements_action: action names are case-insensitive; wildcards in actions.
#[test]
fn action_element() {
    let p = policy(
        r#"{"Effect":"Allow","Action":["iam:ListAccessKeys","s3:Get*","sqs:?endMessage"],"Resource":"*"}"#,
    );
    table(
        &p,
        &[
            (req("IAM:listaccesskeys", "*"), Allow),
            (req("iam:ListAccessKeys", "*"), Allow),
            (req("s3:GetObject", "arn:aws:s3:::b/k"), Allow),
            (req("s3:getobjectacl", "arn:aws:s3:::b/k"), Allow),
            (req("s3:PutObject", "arn:aws:s3:::b/k"), Implicit),
            (req("sqs:SendMessage", "*"), Allow),
            (req("sqs:ReceiveMessage", "*"), Implicit),
            (req("iam:ListAccessKeys2", "*"), Implicit),
        ],
    );
}

// reference_policies_elements_notaction: Allow + NotAction allows everything else in scope;
// Deny + NotAction denies everything else.
#[test]
fn not_action_element() {
    let allow_all_but_iam = policy(r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#);
    table(
        &allow_all_but_iam,
        &[
            (req("s3:GetObject", "arn:aws:s3:::b/k"), Allow),
            (req("ec2:RunInstances", "*"), Allow),
            (req("iam:CreateUser", "*"), Implicit),
        ],
    );
    // The documented "deny everything except IAM without MFA" shape.
    let p = policy(
        r#"{"Effect":"Allow","Action":"*","Resource":"*"},
           {"Effect":"Deny","NotAction":"iam:*","Resource":"*",
            "Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}"#,
    );
    table(
        &p,
        &[
            (req("s3:ListAllMyBuckets", "*"), Deny),
            (
                req("s3:ListAllMyBuckets", "*").with_bool("aws:MultiFactorAuthPresent", false),
                Deny,
            ),
            (
                req("s3:ListAllMyBuckets", "*").with_bool("aws:MultiFactorAuthPresent", true),
                Allow,
            ),
            (req("iam:ListUsers", "*"), Allow),
        ],
    );
    // NotAction with a restricted Resource allows other actions only on that resource.
    let p =
        policy(r#"{"Effect":"Allow","NotAction":"s3:DeleteBucket","Resource":"arn:aws:s3:::*"}"#);
    table(
        &p,
        &[
            (req("s3:ListBucket", "arn:aws:s3:::b"), Allow),
            (req("s3:DeleteBucket", "arn:aws:s3:::b"), Implicit),
            (
                req("ec2:RunInstances", "arn:aws:ec2:us-east-1:1:instance/i"),
                Implicit,
            ),
        ],
    );
}

// reference_policies_elements_resource: wildcards within ARN segments; S3 resource ids keep
// `/` and `:`; matching is case-sensitive.
#[test]
fn resource_element() {
    let p = policy(
        r#"{"Effect":"Allow","Action":"*","Resource":[
            "arn:aws:iam::123456789012:user/*",
            "arn:aws:s3:::amzn-s3-demo-bucket/*",
            "arn:aws:dynamodb:*:123456789012:table/Books",
            "arn:aws:logs:us-east-1:123456789012:log-group:my-group:*",
            "arn:aws:sqs:us-east-?:123456789012:queue1"]}"#,
    );
    table(
        &p,
        &[
            (
                req("iam:GetUser", "arn:aws:iam::123456789012:user/Bob"),
                Allow,
            ),
            (
                req("iam:GetUser", "arn:aws:iam::123456789012:user/division/Bob"),
                Allow,
            ),
            (
                req("iam:GetUser", "arn:aws:iam::111111111111:user/Bob"),
                Implicit,
            ),
            (
                req("iam:GetRole", "arn:aws:iam::123456789012:role/Bob"),
                Implicit,
            ),
            (
                req("s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket/a/b:c.txt"),
                Allow,
            ),
            (
                req("s3:GetObject", "arn:aws:s3:::AMZN-S3-DEMO-BUCKET/a"),
                Implicit,
            ),
            (
                req("s3:ListBucket", "arn:aws:s3:::amzn-s3-demo-bucket"),
                Implicit,
            ),
            (
                req(
                    "dynamodb:GetItem",
                    "arn:aws:dynamodb:eu-west-1:123456789012:table/Books",
                ),
                Allow,
            ),
            (
                req(
                    "dynamodb:GetItem",
                    "arn:aws:dynamodb:eu-west-1:123456789012:table/Books2",
                ),
                Implicit,
            ),
            (
                req(
                    "logs:PutLogEvents",
                    "arn:aws:logs:us-east-1:123456789012:log-group:my-group:log-stream:s1",
                ),
                Allow,
            ),
            (
                req(
                    "sqs:SendMessage",
                    "arn:aws:sqs:us-east-2:123456789012:queue1",
                ),
                Allow,
            ),
            (
                req(
                    "sqs:SendMessage",
                    "arn:aws:sqs:us-west-2:123456789012:queue1",
                ),
                Implicit,
            ),
            // A `*` inside one segment does not reach into the next.
            (req("s3:GetObject", "*"), Implicit),
        ],
    );
    let any = policy(r#"{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}"#);
    table(&any, &[(req("s3:ListAllMyBuckets", "*"), Allow)]);
    let region_star =
        policy(r#"{"Effect":"Allow","Action":"ec2:*","Resource":"arn:aws:ec2:*:*:instance/*"}"#);
    table(
        &region_star,
        &[
            (
                req(
                    "ec2:StopInstances",
                    "arn:aws:ec2:us-east-1:123456789012:instance/i-1",
                ),
                Allow,
            ),
            (
                req(
                    "ec2:StopInstances",
                    "arn:aws:ec2:us-east-1:123456789012:volume/v-1",
                ),
                Implicit,
            ),
        ],
    );
}

// reference_policies_elements_notresource: allow everything except the Payroll folder.
#[test]
fn not_resource_element() {
    let p = policy(
        r#"{"Effect":"Allow","Action":"s3:*",
            "NotResource":["arn:aws:s3:::HRBucket/Payroll","arn:aws:s3:::HRBucket/Payroll/*"]}"#,
    );
    table(
        &p,
        &[
            (
                req("s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/2026.csv"),
                Implicit,
            ),
            (
                req("s3:GetObject", "arn:aws:s3:::HRBucket/Payroll"),
                Implicit,
            ),
            (req("s3:GetObject", "arn:aws:s3:::HRBucket/Other/x"), Allow),
            (req("s3:ListAllMyBuckets", "*"), Allow),
        ],
    );
}

// reference_policies_elements_condition_operators: string operators.
#[test]
fn string_operators() {
    let eq = policy(
        r#"{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"*",
            "Condition":{"StringEquals":{"aws:PrincipalTag/job-category":"iamuser-admin"}}}"#,
    );
    let r = || req("iam:CreateAccessKey", "*");
    table(
        &eq,
        &[
            (
                r().with_key("aws:PrincipalTag/job-category", "iamuser-admin"),
                Allow,
            ),
            // Key names are case-insensitive, values are not for StringEquals.
            (
                r().with_key("AWS:PrincipalTag/Job-Category", "iamuser-admin"),
                Allow,
            ),
            (
                r().with_key("aws:PrincipalTag/job-category", "IAMUSER-ADMIN"),
                Implicit,
            ),
            (
                r().with_key("aws:PrincipalTag/job-category", "iamuser-*"),
                Implicit,
            ),
            (r(), Implicit),
        ],
    );
    let ignore_case = policy(
        r#"{"Effect":"Allow","Action":"*","Resource":"*",
            "Condition":{"StringEqualsIgnoreCase":{"aws:PrincipalTag/department":"Finance"}}}"#,
    );
    table(
        &ignore_case,
        &[
            (
                r().with_key("aws:PrincipalTag/department", "FINANCE"),
                Allow,
            ),
            (
                r().with_key("aws:PrincipalTag/department", "finance"),
                Allow,
            ),
            (
                r().with_key("aws:PrincipalTag/department", "Finances"),
                Implicit,
            ),
        ],
    );
    // The documented "StringNotEqualsIgnoreCase" as a Deny guard.
    let not_ic = policy(
        r#"{"Effect":"Allow","Action":"*","Resource":"*"},
           {"Effect":"Deny","Action":"*","Resource":"*",
            "Condition":{"StringNotEqualsIgnoreCase":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}}"#,
    );
    table(
        &not_ic,
        &[
            (r().with_key("aws:RequestedRegion", "US-EAST-1"), Allow),
            (r().with_key("aws:RequestedRegion", "eu-west-1"), Allow),
            (r().with_key("aws:RequestedRegion", "ap-south-1"), Deny),
            // Negated operator, absent key: true, so the Deny applies.
            (r(), Deny),
        ],
    );
    // StringLike with the documented home-folder listing prefixes.
    let like = policy(
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::amzn-s3-demo-bucket",
            "Condition":{"StringLike":{"s3:prefix":["","home/","home/${aws:username}/*"]}}}"#,
    );
    let list = |prefix: &str| {
        req("s3:ListBucket", "arn:aws:s3:::amzn-s3-demo-bucket")
            .with_key("aws:username", "Bob")
            .with_key("s3:prefix", prefix)
    };
    table(
        &like,
        &[
            (list(""), Allow),
            (list("home/"), Allow),
            (list("home/Bob/"), Allow),
            (list("home/Bob/photos/"), Allow),
            (list("home/Alice/"), Implicit),
            (list("HOME/"), Implicit),
            (list("home"), Implicit),
        ],
    );
    // StringNotLike with several values is a NOR.
    let not_like = policy(
        r#"{"Effect":"Deny","Action":"s3:PutObject","Resource":"*",
            "Condition":{"StringNotLike":{"s3:x-amz-server-side-encryption":["aws:kms","AES*"]}}},
           {"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}"#,
    );
    let put = || req("s3:PutObject", "arn:aws:s3:::b/k");
    table(
        &not_like,
        &[
            (
                put().with_key("s3:x-amz-server-side-encryption", "aws:kms"),
                Allow,
            ),
            (
                put().with_key("s3:x-amz-server-side-encryption", "AES256"),
                Allow,
            ),
            (
                put().with_key("s3:x-amz-server-side-encryption", "none"),
                Deny,
            ),
            (put(), Deny),
        ],
    );
}

// reference_policies_elements_condition_operators: numeric operators (`s3:max-keys` example).
#[test]
fn numeric_operators() {
    let p = policy(
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b",
            "Condition":{"NumericLessThanEquals":{"s3:max-keys":"10"}}}"#,
    );
    let list = || req("s3:ListBucket", "arn:aws:s3:::b");
    table(
        &p,
        &[
            (list().with_key("s3:max-keys", "10"), Allow),
            (list().with_number("s3:max-keys", 3.0), Allow),
            (list().with_key("s3:max-keys", "10.5"), Implicit),
            (list().with_key("s3:max-keys", "eleven"), Implicit),
            (list(), Implicit),
        ],
    );
    let cases: &[(&str, &str, bool)] = &[
        ("NumericEquals", "5", true),
        ("NumericEquals", "5.0", true),
        ("NumericNotEquals", "5", false),
        ("NumericNotEquals", "6", true),
        ("NumericLessThan", "6", true),
        ("NumericLessThan", "5", false),
        ("NumericGreaterThan", "4", true),
        ("NumericGreaterThan", "5", false),
        ("NumericGreaterThanEquals", "5", true),
    ];
    for (op, value, allowed) in cases {
        let p = policy(&format!(
            r#"{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{{"{op}":{{"k:n":"{value}"}}}}}}"#
        ));
        let want = if *allowed { Allow } else { Implicit };
        assert_eq!(
            outcome(&p, &req("a:b", "*").with_key("k:n", "5")),
            want,
            "{op} {value}"
        );
    }
}

// reference_policies_elements_condition_operators: date operators (`aws:CurrentTime`,
// `aws:TokenIssueTime`, `aws:EpochTime`).
#[test]
fn date_operators() {
    let window = policy(
        r#"{"Effect":"Allow","Action":"*","Resource":"*",
            "Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-04-01T00:00:00Z"},
                         "DateLessThan":{"aws:CurrentTime":"2020-06-30T23:59:59Z"}}}"#,
    );
    let at = |iso_ms: i64| req("a:b", "*").with_request_time(iso_ms);
    table(
        &window,
        &[
            (at(1_588_291_200_000), Allow),    // 2020-05-01
            (at(1_577_836_800_000), Implicit), // 2020-01-01
            (at(1_609_459_200_000), Implicit), // 2021-01-01
            (req("a:b", "*"), Implicit),
        ],
    );
    // Epoch seconds on either side, and aws:EpochTime.
    let epoch = policy(
        r#"{"Effect":"Allow","Action":"*","Resource":"*",
            "Condition":{"DateLessThanEquals":{"aws:EpochTime":"1588291200"}}}"#,
    );
    table(
        &epoch,
        &[
            (at(1_588_291_200_000), Allow),
            (at(1_588_291_201_000), Implicit),
        ],
    );
    let issued = policy(
        r#"{"Effect":"Deny","Action":"*","Resource":"*",
            "Condition":{"DateLessThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"}}},
           {"Effect":"Allow","Action":"*","Resource":"*"}"#,
    );
    table(
        &issued,
        &[
            (
                req("a:b", "*").with_key("aws:TokenIssueTime", "2019-12-31T10:00:00Z"),
                Deny,
            ),
            (
                req("a:b", "*").with_key("aws:TokenIssueTime", "2020-02-01T00:00:00+01:00"),
                Allow,
            ),
            (req("a:b", "*"), Allow),
        ],
    );
    for (op, value, allowed) in [
        ("DateEquals", "2020-05-01T00:00:00Z", true),
        ("DateEquals", "1588291200", true),
        ("DateNotEquals", "2020-05-01T00:00:00Z", false),
        ("DateGreaterThanEquals", "2020-05-01", true),
        ("DateGreaterThan", "2020-05-01", false),
    ] {
        let p = policy(&format!(
            r#"{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{{"{op}":{{"aws:CurrentTime":"{value}"}}}}}}"#
        ));
        let want = if allowed { Allow } else { Implicit };
        assert_eq!(outcome(&p, &at(1_588_291_200_000)), want, "{op} {value}");
    }
}

// reference_policies_elements_condition_operators: Bool (`aws:SecureTransport`) and
// BinaryEquals.
#[test]
fn bool_and_binary_operators() {
    let p = policy(
        r#"{"Effect":"Allow","Action":"*","Resource":"*"},
           {"Effect":"Deny","Action":"s3:*","Resource":"*",
            "Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
    );
    let r = || req("s3:GetObject", "arn:aws:s3:::b/k");
    table(
        &p,
        &[
            (r().with_bool("aws:SecureTransport", false), Deny),
            (r().with_key("aws:SecureTransport", "FALSE"), Deny),
            (r().with_bool("aws:SecureTransport", true), Allow),
            (r(), Allow),
        ],
    );
    // A JSON boolean in the policy is the same as the string.
    let json_bool = policy(
        r#"{"Effect":"Allow","Action":"*","Resource":"*",
            "Condition":{"Bool":{"aws:MultiFactorAuthPresent":true}}}"#,
    );
    table(
        &json_bool,
        &[
            (r().with_bool("aws:MultiFactorAuthPresent", true), Allow),
            (r().with_bool("aws:MultiFactorAuthPresent", false), Implicit),
        ],
    );
    let bin = policy(
        r#"{"Effect":"Allow","Action":"*","Resource":"*",
            "Condition":{"BinaryEquals":{"key":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}}"#,
    );
    table(
        &bin,
        &[
            (r().with_key("key", "QmluYXJ5VmFsdWVJbkJhc2U2NA=="), Allow),
            (
                r().with_key("key", "QmluYXJ5VmFsdWVJbkJhc2U2NQ=="),
                Implicit,
            ),
        ],
    );
}

// reference_policies_elements_condition_operators: IpAddress / NotIpAddress (IPv4 and IPv6).
#[test]
fn ip_address_operators() {
    let p = policy(
        r#"{"Effect":"Allow","Action":"*","Resource":"*",
            "Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64","198.51.100.7"]}}}"#,
    );
    let from = |ip: &str| req("a:b", "*").with_ip("aws:SourceIp", ip.parse::<IpAddr>().unwrap());
    table(
        &p,
        &[
            (from("203.0.113.9"), Allow),
            (from("203.0.114.9"), Implicit),
            (from("2001:db8:1234:5678::1"), Allow),
            (from("2001:db8:1234:5679::1"), Implicit),
            (from("198.51.100.7"), Allow),
            (from("198.51.100.8"), Implicit),
            (
                req("a:b", "*").with_key("aws:SourceIp", "not-an-ip"),
                Implicit,
            ),
            (req("a:b", "*"), Implicit),
        ],
    );
    let deny_outside = policy(
        r#"{"Effect":"Allow","Action":"*","Resource":"*"},
           {"Effect":"Deny","Action":"*","Resource":"*",
            "Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]}}}"#,
    );
    table(
        &deny_outside,
        &[
            (from("192.0.2.1"), Allow),
            (from("203.0.113.200"), Allow),
            (from("198.51.100.1"), Deny),
        ],
    );
}

// reference_policies_elements_condition_operators: ARN operators, each of the six parts matched
// separately.
#[test]
fn arn_operators() {
    let p = policy(
        r#"{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*",
            "Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:TOPIC-*"}}}"#,
    );
    let send = |arn: &str| req("sqs:SendMessage", "*").with_key("aws:SourceArn", arn);
    table(
        &p,
        &[
            (send("arn:aws:sns:us-east-1:123456789012:TOPIC-ID"), Allow),
            (
                send("arn:aws:sns:us-east-1:123456789012:topic-id"),
                Implicit,
            ),
            (
                send("arn:aws:sns:us-east-1:999999999999:TOPIC-ID"),
                Implicit,
            ),
            (send("not:an:arn"), Implicit),
        ],
    );
    let like = policy(
        r#"{"Effect":"Allow","Action":"*","Resource":"*",
            "Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Admin*"}}}"#,
    );
    let who = |arn: &str| req("a:b", "*").with_key("aws:PrincipalArn", arn);
    table(
        &like,
        &[
            (who("arn:aws:iam::123456789012:role/AdminRole"), Allow),
            (
                who("arn:aws:iam::123456789012:role/path/AdminRole"),
                Implicit,
            ),
            (who("arn:aws:iam::123456789012:user/AdminRole"), Implicit),
        ],
    );
    let not_like = policy(
        r#"{"Effect":"Allow","Action":"*","Resource":"*"},
           {"Effect":"Deny","Action":"*","Resource":"*",
            "Condition":{"ArnNotLike":{"aws:PrincipalArn":["arn:aws:iam::*:role/Admin*","arn:aws:iam::*:root"]}}}"#,
    );
    table(
        &not_like,
        &[
            (who("arn:aws:iam::123456789012:role/AdminRole"), Allow),
            (who("arn:aws:iam::123456789012:root"), Allow),
            (who("arn:aws:iam::123456789012:role/Dev"), Deny),
        ],
    );
}

// reference_policies_elements_condition_operators: Null, and `…IfExists`.
#[test]
fn null_and_if_exists() {
    // Deny requests made with long-term credentials (no aws:TokenIssueTime).
    let p = policy(
        r#"{"Effect":"Allow","Action":"*","Resource":"*"},
           {"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Null":{"aws:TokenIssueTime":"true"}}}"#,
    );
    table(
        &p,
        &[
            (req("a:b", "*"), Deny),
            (
                req("a:b", "*").with_key("aws:TokenIssueTime", "2020-01-01T00:00:00Z"),
                Allow,
            ),
        ],
    );
    let present = policy(
        r#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"aws:TokenIssueTime":false}}}"#,
    );
    table(
        &present,
        &[
            (req("a:b", "*"), Implicit),
            (
                req("a:b", "*").with_key("aws:TokenIssueTime", "2020-01-01T00:00:00Z"),
                Allow,
            ),
        ],
    );
    // The documented ec2:InstanceType example: any action; if the type is given it must match.
    let if_exists = policy(
        r#"{"Effect":"Allow","Action":"ec2:*","Resource":"*",
            "Condition":{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}}"#,
    );
    let ec2 = || req("ec2:RunInstances", "*");
    table(
        &if_exists,
        &[
            (ec2().with_key("ec2:InstanceType", "t2.micro"), Allow),
            (ec2().with_key("ec2:InstanceType", "c5.large"), Implicit),
            (ec2(), Allow),
        ],
    );
    for (op, present_value, want_absent, want_present) in [
        ("NumericLessThanIfExists", "3", Allow, Allow),
        ("DateGreaterThanIfExists", "2030-01-01", Allow, Allow),
        ("IpAddressIfExists", "10.0.0.1", Allow, Allow),
        ("ArnLikeIfExists", "arn:aws:s3:::x", Allow, Implicit),
        ("BoolIfExists", "true", Allow, Allow),
    ] {
        let value = match op {
            "NumericLessThanIfExists" => "10",
            "DateGreaterThanIfExists" => "2020-01-01",
            "IpAddressIfExists" => "10.0.0.0/8",
            "ArnLikeIfExists" => "arn:aws:s3:::y*",
            _ => "true",
        };
        let p = policy(&format!(
            r#"{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{{"{op}":{{"k:v":"{value}"}}}}}}"#
        ));
        assert_eq!(outcome(&p, &req("a:b", "*")), want_absent, "{op} absent");
        assert_eq!(
            outcome(&p, &req("a:b", "*").with_key("k:v", present_value)),
            want_present,
            "{op} present"
        );
    }
}

// reference_policies_multi-value-conditions: ForAllValues / ForAnyValue with aws:TagKeys;
// several values are OR, several keys AND, negated operators NOR.
#[test]
fn set_operators() {
    let all = policy(
        r#"{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*",
            "Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}}"#,
    );
    let tags = |keys: &[&str]| {
        req("ec2:CreateTags", "*").with_multi_key("aws:TagKeys", keys.iter().copied())
    };
    table(
        &all,
        &[
            (tags(&["environment"]), Allow),
            (tags(&["environment", "cost-center"]), Allow),
            (tags(&["environment", "owner"]), Implicit),
            (tags(&[]), Allow),
            (req("ec2:CreateTags", "*"), Allow),
        ],
    );
    let any = policy(
        r#"{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*",
            "Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}}"#,
    );
    table(
        &any,
        &[
            (tags(&["environment"]), Allow),
            (tags(&["owner", "cost-center"]), Allow),
            (tags(&["owner"]), Implicit),
            (tags(&[]), Implicit),
            (req("ec2:CreateTags", "*"), Implicit),
        ],
    );
    // ForAllValues with a negated operator: no request value may be one of the listed.
    let none_of = policy(
        r#"{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*",
            "Condition":{"ForAllValues:StringNotEquals":{"aws:TagKeys":["owner","admin"]}}}"#,
    );
    table(
        &none_of,
        &[
            (tags(&["environment"]), Allow),
            (tags(&["environment", "owner"]), Implicit),
            (req("ec2:CreateTags", "*"), Allow),
        ],
    );
    // ForAnyValue with a negated operator: at least one value is not listed; absent key false.
    let some_other = policy(
        r#"{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*",
            "Condition":{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["owner"]}}}"#,
    );
    table(
        &some_other,
        &[
            (tags(&["owner", "environment"]), Allow),
            (tags(&["owner"]), Implicit),
            (req("ec2:CreateTags", "*"), Implicit),
        ],
    );
    // Several keys and operators: AND.
    let and = policy(
        r#"{"Effect":"Allow","Action":"*","Resource":"*",
            "Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue","aws:RequestedRegion":"us-east-1"},
                         "Bool":{"aws:SecureTransport":"true"}}}"#,
    );
    let full = || {
        req("a:b", "*")
            .with_key("aws:PrincipalTag/team", "blue")
            .with_key("aws:RequestedRegion", "us-east-1")
            .with_bool("aws:SecureTransport", true)
    };
    table(
        &and,
        &[
            (full(), Allow),
            (
                full().with_key("aws:RequestedRegion", "us-west-2"),
                Implicit,
            ),
            (full().with_bool("aws:SecureTransport", false), Implicit),
        ],
    );
}

// reference_policies_variables: variables in Resource and Condition, defaults, special
// characters, no value, and the Version rule.
#[test]
fn policy_variables() {
    let home = policy(
        r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}/*"}"#,
    );
    let get = |key: &str| {
        req(
            "s3:GetObject",
            &format!("arn:aws:s3:::amzn-s3-demo-bucket/{key}"),
        )
    };
    table(
        &home,
        &[
            (get("home/Bob/a.txt").with_key("aws:username", "Bob"), Allow),
            (
                get("home/Alice/a.txt").with_key("aws:username", "Bob"),
                Implicit,
            ),
            (get("home//a.txt"), Implicit),
            // A substituted value is literal: `*` in a user name is no wildcard.
            (
                get("home/Bob/a.txt").with_key("aws:username", "*"),
                Implicit,
            ),
            (get("home/*/a.txt").with_key("aws:username", "*"), Allow),
        ],
    );
    let default = policy(
        r#"{"Effect":"Allow","Action":"s3:GetObject",
            "Resource":"arn:aws:s3:::amzn-s3-demo-bucket/${aws:PrincipalTag/team, 'company-wide'}/*"}"#,
    );
    table(
        &default,
        &[
            (
                get("blue/x").with_key("aws:PrincipalTag/team", "blue"),
                Allow,
            ),
            (get("company-wide/x"), Allow),
            (get("blue/x"), Implicit),
        ],
    );
    let special = policy(
        r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${*}${?}${$}/*"}"#,
    );
    table(
        &special,
        &[
            (get("x").with_key("k:v", "v"), Implicit),
            (req("s3:GetObject", "arn:aws:s3:::b/*?$/k"), Allow),
            (req("s3:GetObject", "arn:aws:s3:::b/ab$/k"), Implicit),
        ],
    );
    // In conditions: string operators substitute, and a key with no value matches nothing.
    let cond = policy(
        r#"{"Effect":"Allow","Action":"iam:*","Resource":"*",
            "Condition":{"StringEquals":{"aws:PrincipalTag/owner":"${aws:username}"}}}"#,
    );
    let iam = || req("iam:GetUser", "*");
    table(
        &cond,
        &[
            (
                iam()
                    .with_key("aws:username", "Bob")
                    .with_key("aws:PrincipalTag/owner", "Bob"),
                Allow,
            ),
            (
                iam()
                    .with_key("aws:username", "Bob")
                    .with_key("aws:PrincipalTag/owner", "Al"),
                Implicit,
            ),
            (
                iam().with_key("aws:PrincipalTag/owner", "${aws:username}"),
                Implicit,
            ),
        ],
    );
    // Negated operator with a valueless variable: the value matches nothing, so NOT holds.
    let neg = policy(
        r#"{"Effect":"Allow","Action":"*","Resource":"*",
            "Condition":{"StringNotEquals":{"aws:PrincipalTag/owner":"${aws:username}"}}}"#,
    );
    table(
        &neg,
        &[(iam().with_key("aws:PrincipalTag/owner", "Bob"), Allow)],
    );
    // Multivalued keys are no variables.
    let amr = policy(
        r#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${cognito-identity.amazonaws.com:amr}"}"#,
    );
    table(
        &amr,
        &[(
            req("s3:GetObject", "arn:aws:s3:::b/authenticated")
                .with_multi_key("cognito-identity.amazonaws.com:amr", ["authenticated"]),
            Implicit,
        )],
    );
    // Variable names are case-insensitive.
    let upper =
        policy(r#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${AWS:UserName}"}"#);
    table(
        &upper,
        &[(
            req("s3:GetObject", "arn:aws:s3:::b/Bob").with_key("aws:username", "Bob"),
            Allow,
        )],
    );
}

// reference_policies_elements_principal: account, root, role (and its sessions), assumed-role
// session, federated, service and anonymous principals, in trust policies.
#[test]
fn principal_element() {
    let trust = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::111122223333:role/Deployer",
                "arn:aws:sts::444455556666:assumed-role/Ops/alice"]},"Action":"sts:AssumeRole"},
            {"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com"]},"Action":"sts:AssumeRole"},
            {"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#,
        PolicyKind::Trust,
    )
    .unwrap();
    let src = SourcedPolicy::new("trust", &trust);
    let assume = |p: Principal| RequestContext::new("sts:AssumeRole", "*").with_principal(p);
    let aws = |arn: &str| assume(Principal::Aws(arn.into()));
    let cases = [
        (aws("arn:aws:iam::123456789012:user/Bob"), Allow),
        (aws("arn:aws:sts::123456789012:assumed-role/Any/s"), Allow),
        (aws("arn:aws:iam::111122223333:role/Deployer"), Allow),
        (
            aws("arn:aws:sts::111122223333:assumed-role/Deployer/session-1"),
            Allow,
        ),
        (
            aws("arn:aws:sts::111122223333:assumed-role/Other/session-1"),
            Implicit,
        ),
        (aws("arn:aws:iam::111122223333:user/Deployer"), Implicit),
        (
            aws("arn:aws:sts::444455556666:assumed-role/Ops/alice"),
            Allow,
        ),
        (
            aws("arn:aws:sts::444455556666:assumed-role/Ops/bob"),
            Implicit,
        ),
        (
            assume(Principal::Service("lambda.amazonaws.com".into())),
            Allow,
        ),
        (
            assume(Principal::Service("ec2.amazonaws.com".into())),
            Implicit,
        ),
        (assume(Principal::Anonymous), Implicit),
        (
            RequestContext::new("sts:AssumeRoleWithWebIdentity", "*")
                .with_principal(Principal::Federated("accounts.google.com".into())),
            Allow,
        ),
    ];
    for (i, (r, want)) in cases.iter().enumerate() {
        assert_eq!(evaluate_trust(r, src).outcome, *want, "row {i}");
    }
    // "*" and {"AWS":"*"} are everyone, anonymous callers included.
    for principal in [r#""*""#, r#"{"AWS":"*"}"#] {
        let p = Policy::parse(
            &format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}]}}"#
            ),
            PolicyKind::Resource,
        )
        .unwrap();
        let get = req("s3:GetObject", "arn:aws:s3:::b/k").with_principal(Principal::Anonymous);
        assert_eq!(
            evaluate(&get, &[SourcedPolicy::new("bucket", &p)], None).outcome,
            Allow
        );
    }
    // NotPrincipal with Deny: deny everyone except the listed.
    let p = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"},
            {"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:*","Resource":"*"}]}"#,
        PolicyKind::Resource,
    )
    .unwrap();
    let src = [SourcedPolicy::new("bucket", &p)];
    let mine = req("s3:GetObject", "arn:aws:s3:::b/k")
        .with_principal(Principal::Aws("arn:aws:iam::123456789012:user/x".into()));
    let theirs = req("s3:GetObject", "arn:aws:s3:::b/k")
        .with_principal(Principal::Aws("arn:aws:iam::999999999999:user/x".into()));
    assert_eq!(evaluate(&mine, &src, None).outcome, Allow);
    assert_eq!(evaluate(&theirs, &src, None).outcome, Deny);
}

// reference_policies_elements_version: 2008-10-17 and an absent Version don't substitute.
#[test]
fn version_element() {
    for version in [r#""Version":"2008-10-17","#, ""] {
        let p = Policy::parse(
            &format!(
                r#"{{{version}"Statement":{{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${{aws:username}}/*"}}}}"#
            ),
            PolicyKind::Identity,
        )
        .unwrap();
        assert!(!p.substitutes_variables());
        let bob = req("s3:GetObject", "arn:aws:s3:::b/Bob/x").with_key("aws:username", "Bob");
        assert_eq!(outcome(&p, &bob), Implicit);
        let literal = req("s3:GetObject", "arn:aws:s3:::b/${aws:username}/x");
        assert_eq!(outcome(&p, &literal), Allow);
    }
}

// API_SimulatePrincipalPolicy: MissingContextValues lists the condition keys that applicable
// statements read and the request lacks; MatchedStatements name the source policy.
#[test]
fn simulation_details() {
    let p = policy(
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b",
            "Condition":{"StringLike":{"s3:prefix":"home/*"},"Bool":{"aws:SecureTransport":"true"}}},
           {"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{"StringEquals":{"ec2:Region":"x"}}}"#,
    );
    let src = [SourcedPolicy::new("user-policy", &p)];
    let r = req("s3:ListBucket", "arn:aws:s3:::b").with_key("s3:prefix", "home/a");
    assert_eq!(
        tessera_policy::missing_context_values(&r, &src),
        vec!["aws:SecureTransport".to_string()]
    );
    let full = r.clone().with_bool("aws:SecureTransport", true);
    assert!(tessera_policy::missing_context_values(&full, &src).is_empty());
    let d = evaluate(&full, &src, None);
    assert_eq!(d.outcome, Allow);
    assert_eq!(d.outcome.as_str(), "allowed");
    assert_eq!(d.matched.len(), 1);
    assert_eq!(d.matched[0].statement_index, 0);
    assert_eq!(d.matched[0].source_policy_id, "user-policy");
    assert_eq!(evaluate(&r, &src, None).outcome.as_str(), "implicitDeny");
}
