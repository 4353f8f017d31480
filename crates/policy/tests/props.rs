//! Properties of the evaluator over generated policies and requests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use serde_json::{Value, json};
use tessera_policy::{Outcome, Policy, PolicyKind, RequestContext, SourcedPolicy, evaluate};

const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "dynamodb:GetItem",
    "iam:GetUser",
];
const RESOURCES: &[&str] = &[
    "arn:aws:s3:::b",
    "arn:aws:s3:::b/k",
    "arn:aws:s3:::b/dir/k2",
    "arn:aws:s3:::other/k",
    "arn:aws:dynamodb:us-east-1:123456789012:table/T",
    "*",
];

fn action_pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(ACTIONS).prop_map(str::to_string),
        Just("*".to_string()),
        Just("s3:*".to_string()),
        Just("s3:Get*".to_string()),
        Just("dynamodb:?etItem".to_string()),
    ]
}

fn resource_pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(RESOURCES).prop_map(str::to_string),
        Just("arn:aws:s3:::b/*".to_string()),
        Just("arn:aws:s3:::*".to_string()),
        Just("arn:aws:dynamodb:*:*:table/*".to_string()),
    ]
}

fn condition() -> impl Strategy<Value = Option<Value>> {
    let values = prop::collection::vec(prop::sample::select(&["x", "y", "z"][..]), 1..3);
    prop_oneof![
        Just(None),
        (
            prop::sample::select(
                &[
                    "StringEquals",
                    "StringNotEquals",
                    "StringLike",
                    "ForAllValues:StringEquals",
                    "ForAnyValue:StringEquals",
                    "StringEqualsIfExists"
                ][..]
            ),
            values
        )
            .prop_map(|(op, vals)| Some(json!({ op: { "k:a": vals } }))),
    ]
}

fn statement() -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(action_pattern(), 1..3),
        any::<bool>(),
        prop::collection::vec(resource_pattern(), 1..3),
        condition(),
    )
        .prop_map(
            |(allow, not_action, actions, not_resource, resources, condition)| {
                let mut s = json!({ "Effect": if allow { "Allow" } else { "Deny" } });
                s[if not_action { "NotAction" } else { "Action" }] = json!(actions);
                s[if not_resource {
                    "NotResource"
                } else {
                    "Resource"
                }] = json!(resources);
                if let Some(c) = condition {
                    s["Condition"] = c;
                }
                s
            },
        )
}

fn statements() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(statement(), 0..6)
}

fn request() -> impl Strategy<Value = RequestContext> {
    (
        prop::sample::select(ACTIONS),
        prop::sample::select(RESOURCES),
        prop_oneof![
            Just(None),
            Just(Some(vec![])),
            prop::collection::vec(prop::sample::select(&["x", "y", "w"][..]), 1..3).prop_map(Some)
        ],
    )
        .prop_map(|(action, resource, key)| {
            let r = RequestContext::new(action, resource);
            match key {
                None => r,
                Some(v) if v.len() == 1 => r.with_key("k:a", v[0]),
                Some(v) => r.with_multi_key("k:a", v),
            }
        })
}

fn parse(statements: &[Value]) -> Policy {
    let doc = json!({ "Version": "2012-10-17", "Statement": statements });
    Policy::parse(&doc.to_string(), PolicyKind::Identity).unwrap()
}

fn outcome(statements: &[Value], r: &RequestContext) -> Outcome {
    let p = parse(statements);
    evaluate(r, &[SourcedPolicy::new("p", &p)], None).outcome
}

proptest! {
    #[test]
    fn a_deny_of_everything_always_wins(stmts in statements(), r in request()) {
        let mut with_deny = stmts.clone();
        with_deny.push(json!({"Effect": "Deny", "Action": "*", "Resource": "*"}));
        prop_assert_eq!(outcome(&with_deny, &r), Outcome::ExplicitDeny);
    }

    #[test]
    fn adding_an_allow_never_lifts_a_deny(stmts in statements(), extra in statement(), r in request()) {
        let before = outcome(&stmts, &r);
        let mut allow = extra;
        allow["Effect"] = json!("Allow");
        let mut more = stmts.clone();
        more.push(allow);
        let after = outcome(&more, &r);
        match before {
            Outcome::ExplicitDeny => prop_assert_eq!(after, Outcome::ExplicitDeny),
            Outcome::Allow => prop_assert_eq!(after, Outcome::Allow),
            Outcome::ImplicitDeny => prop_assert_ne!(after, Outcome::ExplicitDeny),
        }
    }

    #[test]
    fn statement_order_does_not_matter(stmts in statements(), r in request(), seed in any::<u64>()) {
        let mut shuffled = stmts.clone();
        // A deterministic permutation from the seed.
        let n = shuffled.len();
        for i in (1..n).rev() {
            let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % (i as u64 + 1)) as usize;
            shuffled.swap(i, j);
        }
        prop_assert_eq!(outcome(&stmts, &r), outcome(&shuffled, &r));
    }

    #[test]
    fn splitting_a_policy_in_two_does_not_matter(stmts in statements(), cut in 0usize..6, r in request()) {
        let cut = cut.min(stmts.len());
        let (a, b) = stmts.split_at(cut);
        let (pa, pb) = (parse(a), parse(b));
        let two = evaluate(&r, &[SourcedPolicy::new("a", &pa), SourcedPolicy::new("b", &pb)], None);
        prop_assert_eq!(two.outcome, outcome(&stmts, &r));
    }

    #[test]
    fn session_policies_only_narrow(id in statements(), session in statements(), r in request()) {
        let (pi, ps) = (parse(&id), parse(&session));
        let identity = [SourcedPolicy::new("id", &pi)];
        let with_session = evaluate(&r, &identity, Some(&[SourcedPolicy::new("s", &ps)]));
        if with_session.outcome == Outcome::Allow {
            prop_assert_eq!(evaluate(&r, &identity, None).outcome, Outcome::Allow);
        }
    }

    #[test]
    fn star_matches_any_action_and_resource(
        service in "[a-z0-9-]{1,10}",
        name in "[A-Za-z0-9*?]{0,12}",
        resource in "\\PC{0,40}",
    ) {
        let allow_all = [json!({"Effect": "Allow", "Action": "*", "Resource": "*"})];
        let r = RequestContext::new(format!("{service}:{name}"), resource.clone());
        prop_assert_eq!(outcome(&allow_all, &r), Outcome::Allow);
        let service_star = [json!({"Effect": "Allow", "Action": format!("{service}:*"), "Resource": "*"})];
        prop_assert_eq!(outcome(&service_star, &r), Outcome::Allow);
    }

    #[test]
    fn like_patterns_match_what_they_were_cut_from(
        text in "[^*?$]{0,30}",
        a in 0usize..31,
        b in 0usize..31,
    ) {
        // Replace text[a..b] (on char boundaries) with `*`: the pattern still matches the text;
        // the text itself, wildcard-free, matches only itself.
        let chars: Vec<char> = text.chars().collect();
        let (a, b) = (a.min(chars.len()), b.min(chars.len()));
        let (a, b) = (a.min(b), a.max(b));
        let pattern: String = chars[..a].iter().chain(['*'].iter()).chain(chars[b..].iter()).collect();
        let cond = |p: &str| [json!({"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"StringLike": {"k:a": p}}})];
        let with = |v: &str| RequestContext::new("a:b", "*").with_key("k:a", v);
        prop_assert_eq!(outcome(&cond(&pattern), &with(&text)), Outcome::Allow);
        prop_assert_eq!(outcome(&cond(&text), &with(&text)), Outcome::Allow);
        let longer = format!("{text}x");
        prop_assert_eq!(outcome(&cond(&text), &with(&longer)), Outcome::ImplicitDeny);
    }

    #[test]
    fn set_operators_are_subset_and_intersection(
        policy_values in prop::collection::vec(prop::sample::select(&["a", "b", "c"][..]), 1..3),
        request_values in prop::option::of(prop::collection::vec(prop::sample::select(&["a", "b", "c", "d"][..]), 0..4)),
    ) {
        let r = match &request_values {
            Some(v) => RequestContext::new("a:b", "*").with_multi_key("k:a", v.iter().copied()),
            None => RequestContext::new("a:b", "*"),
        };
        let values = request_values.clone().unwrap_or_default();
        let with = |op: &str| [json!({"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {op: {"k:a": policy_values}}})];
        let subset = values.iter().all(|v| policy_values.contains(v));
        let meets = values.iter().any(|v| policy_values.contains(v));
        let disjoint_all = values.iter().all(|v| !policy_values.contains(v));
        let some_outside = values.iter().any(|v| !policy_values.contains(v));
        let want = |b: bool| if b { Outcome::Allow } else { Outcome::ImplicitDeny };
        prop_assert_eq!(outcome(&with("ForAllValues:StringEquals"), &r), want(subset));
        prop_assert_eq!(outcome(&with("ForAnyValue:StringEquals"), &r), want(meets));
        prop_assert_eq!(outcome(&with("ForAllValues:StringNotEquals"), &r), want(disjoint_all));
        prop_assert_eq!(outcome(&with("ForAnyValue:StringNotEquals"), &r), want(some_outside));
        // Without a qualifier: any match (positive), no match (negated); absent/empty key:
        // false and true.
        prop_assert_eq!(outcome(&with("StringEquals"), &r), want(meets));
        prop_assert_eq!(outcome(&with("StringNotEquals"), &r), want(!meets));
    }

    #[test]
    fn parsing_never_panics_and_positions_point_at_statements(
        doc in prop_oneof![
            document(),
            statements().prop_map(|s| json!({"Version": "2012-10-17", "Statement": s})),
        ],
    ) {
        let text = doc.to_string();
        let pretty = serde_json::to_string_pretty(&doc).unwrap();
        for kind in [PolicyKind::Identity, PolicyKind::Trust, PolicyKind::Resource] {
            for t in [&text, &pretty] {
                if let Ok(p) = Policy::parse(t, kind) {
                    for st in &p.statements {
                        let start = st.start.unwrap();
                        let line = t.lines().nth(start.line as usize - 1).unwrap();
                        prop_assert_eq!(line.chars().nth(start.column as usize - 1), Some('{'));
                        let end = st.end.unwrap();
                        let line = t.lines().nth(end.line as usize - 1).unwrap();
                        prop_assert_eq!(line.chars().nth(end.column as usize - 1), Some('}'));
                    }
                    // And evaluating it against an odd request does not panic either.
                    let r = RequestContext::new("é:ß", "arn:aws:s3:::b/é").with_key("k:a", "é");
                    let _ = evaluate(&r, &[SourcedPolicy::new("p", &p)], None);
                }
            }
        }
    }

    #[test]
    fn arbitrary_text_is_refused_cleanly(text in "\\PC{0,200}") {
                // Only something that starts like an object can be a policy.
        let refused = Policy::parse(&text, PolicyKind::Identity).is_err();
        let object_like = text.trim_start().starts_with('{');
        prop_assert!(refused || object_like);
    }
}

/// JSON built from the grammar's vocabulary, mostly well-formed policies with random damage.
fn document() -> impl Strategy<Value = Value> {
    let word = prop::sample::select(
        &[
            "Version",
            "Statement",
            "Effect",
            "Allow",
            "Deny",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Principal",
            "NotPrincipal",
            "Condition",
            "Sid",
            "AWS",
            "Federated",
            "Service",
            "*",
            "s3:*",
            "arn:aws:s3:::b/*",
            "2012-10-17",
            "2008-10-17",
            "StringLike",
            "ForAllValues:StringEquals",
            "NullIfExists",
            "Null",
            "k:a",
            "${k:a}",
            "IpAddress",
            "10.0.0.0/8",
            "DateLessThan",
            "2020-01-01",
            "NumericEquals",
            "x",
            "é",
        ][..],
    )
    .prop_map(str::to_string);
    let leaf = prop_oneof![
        word.clone().prop_map(Value::String),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..5).prop_map(|n| json!(n)),
        Just(Value::Null),
    ];
    leaf.prop_recursive(4, 40, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(word.clone(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
