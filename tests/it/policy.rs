//! Trust policies: the evaluation corpus, the wildcard matcher against a reference, the
//! generator's and the linter's golden output, and the doctor on signed tokens.

use crate::helpers;

use std::collections::BTreeSet;

use helpers::{ISSUER, NOW, Signer, claims, data, data_path, text};
use irsa::arn::OidcProviderArn;
use irsa::oidc::JwkSet;
use irsa::policy::{
    ClusterGrant, ContextValue, DEFAULT_SIZE_QUOTA, Decision, LintCode, LintOptions,
    RegisteredProvider, Request, SignatureCheck, TrustPolicy, generate, lint, lint_document,
    predict, predict_claims,
};
use irsa::token::{Claims, Subject};
use serde_json::{Value, json};

const PROVIDER: &str = "arn:aws:iam::111122223333:oidc-provider/oidc.example.com";
const ACTION: &str = "sts:AssumeRoleWithWebIdentity";

/// Every base operator IAM defines: the corpus must use each at least once.
const OPERATORS: [&str; 27] = [
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

fn request(case: &Value) -> Request {
    let principal = case["principal"].as_str().unwrap_or(PROVIDER);
    let action = case["action"].as_str().unwrap_or(ACTION);
    let mut request = Request::new(principal, action);
    for (key, value) in case["context"].as_object().unwrap() {
        let value = match value {
            Value::String(s) => ContextValue::from(s.as_str()),
            Value::Array(list) => ContextValue::from(
                list.iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect::<Vec<_>>(),
            ),
            other => panic!("context values are strings or arrays: {other}"),
        };
        request = request.with_value(key.as_str(), value);
    }
    request
}

#[test]
fn the_corpus_evaluates_as_iam_documents() {
    let dir = data_path("policy/eval");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let (mut cases, mut operators, mut qualifiers, mut if_exists) =
        (0, BTreeSet::new(), BTreeSet::new(), false);
    // Cases that give the explanation's `missing` flags, and those of them on a `Null`
    // condition.
    let (mut missing_checked, mut null_missing_checked) = (0, 0);
    for file in &files {
        let groups: Vec<Value> = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        for group in &groups {
            let name = format!("{} / {}", file.display(), group["name"]);
            let policy: TrustPolicy = group["policy"]
                .to_string()
                .parse()
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            for c in policy.statements().iter().flat_map(|s| s.conditions()) {
                let op = c.operator();
                operators.insert(op.base.as_str());
                qualifiers.extend(op.qualifier.map(|q| q.as_str()));
                if_exists |= op.if_exists;
            }
            for case in group["cases"].as_array().unwrap() {
                let what = format!("{name} / {}", case["name"]);
                let request = request(case);
                let evaluation = policy.evaluate(&request);
                assert_eq!(
                    evaluation.decision.as_str(),
                    case["decision"],
                    "{what}: {evaluation:#?}"
                );
                let deciding: Vec<usize> = evaluation.deciding().map(|s| s.index).collect();
                let want: Vec<usize> = case["deciding"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| usize::try_from(v.as_u64().unwrap()).unwrap())
                    .collect();
                assert_eq!(deciding, want, "{what}");
                assert_eq!(policy.decide(&request), evaluation.decision, "{what}");
                // `missing`, when given: for each statement, each condition's flag.
                if let Some(want) = case.get("missing") {
                    let want: Vec<Vec<bool>> = serde_json::from_value(want.clone()).unwrap();
                    let got: Vec<Vec<bool>> = evaluation
                        .statements
                        .iter()
                        .map(|s| s.conditions.iter().map(|c| c.missing).collect())
                        .collect();
                    assert_eq!(got, want, "{what}: missing flags");
                    missing_checked += 1;
                    let null = evaluation
                        .statements
                        .iter()
                        .flat_map(|s| &s.conditions)
                        .any(|c| c.operator.contains("Null"));
                    null_missing_checked += usize::from(null);
                }
                cases += 1;
            }
        }
    }
    assert!(cases >= 150, "only {cases} cases");
    assert!(
        missing_checked >= 20 && null_missing_checked >= 5,
        "`missing` checked in {missing_checked} cases, {null_missing_checked} on Null"
    );
    let missing: Vec<_> = OPERATORS
        .iter()
        .filter(|o| !operators.contains(*o))
        .collect();
    assert!(missing.is_empty(), "operators without a case: {missing:?}");
    assert_eq!(
        qualifiers.into_iter().collect::<Vec<_>>(),
        ["ForAllValues", "ForAnyValue"]
    );
    assert!(if_exists);
}

#[test]
fn explanation_shows_operator_key_values_and_missing_keys() {
    let policy: TrustPolicy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "Namespace",
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": ACTION,
            "Condition": {
                "StringEquals": {"oidc.example.com:aud": "sts.amazonaws.com"},
                "StringLike": {"oidc.example.com:kubernetes.io/namespace": "payments"}
            }
        }]
    })
    .to_string()
    .parse()
    .unwrap();
    let owned = claims(&[("iss", json!("https://oidc.example.com"))]);
    let claims = Claims::from_json(owned.as_bytes()).unwrap();
    let provider: OidcProviderArn = PROVIDER.parse().unwrap();
    let request = Request::web_identity(&provider, &claims, &["sts.amazonaws.com"]);
    let explanation = serde_json::to_value(policy.evaluate(&request)).unwrap();
    assert_eq!(
        explanation,
        json!({
            "decision": "ImplicitDeny",
            "statements": [{
                "index": 0, "sid": "Namespace", "effect": "Allow", "applies": false,
                "principal": true, "action": true,
                "conditions": [
                    {"operator": "StringEquals", "key": "oidc.example.com:aud",
                     "values": ["sts.amazonaws.com"], "context": ["sts.amazonaws.com"],
                     "missing": false, "matched": true},
                    {"operator": "StringLike", "key": "oidc.example.com:kubernetes.io/namespace",
                     "values": ["payments"], "context": null, "missing": true, "matched": false,
                     "note": "the key is not in the request: the condition is false"}
                ]
            }]
        })
    );
}

fn golden(name: &str) -> String {
    text(&format!("policy/generate/{name}.json"))
}

fn subject(ns: &str, name: &str) -> Subject {
    Subject::new(ns, name).unwrap()
}

#[test]
fn generated_policies_are_golden_clean_and_least_privilege() {
    let provider: OidcProviderArn = PROVIDER.parse().unwrap();
    let other: OidcProviderArn =
        "arn:aws-cn:iam::111122223333:oidc-provider/irsa.s3.cn-north-1.amazonaws.com.cn/prod/"
            .parse()
            .unwrap();
    let api = || subject("payments", "api");
    let cases = [
        (
            "one-service-account",
            vec![ClusterGrant::service_accounts(provider.clone(), vec![api()]).unwrap()],
            317,
        ),
        (
            "several-service-accounts",
            vec![
                ClusterGrant::service_accounts(
                    provider.clone(),
                    vec![api(), subject("payments", "worker")],
                )
                .unwrap(),
            ],
            359,
        ),
        (
            "namespace",
            vec![ClusterGrant::namespace(provider.clone(), "payments").unwrap()],
            330,
        ),
        (
            "two-clusters",
            [provider.clone(), other.clone()]
                .into_iter()
                .map(|p| {
                    ClusterGrant::service_accounts(p, vec![api()])
                        .unwrap()
                        .with_audience("irsa.example")
                        .unwrap()
                })
                .collect(),
            664,
        ),
    ];
    for (name, grants, size) in cases {
        let generated = generate(&grants, DEFAULT_SIZE_QUOTA).unwrap();
        assert_eq!(format!("{}\n", generated.json()), golden(name), "{name}");
        assert_eq!(generated.size(), size, "{name}");
        assert!(generated.fits());
        let policy: TrustPolicy = generated.json().parse().unwrap();
        assert_eq!(policy.size(), size);
        assert_eq!(lint(&policy, &LintOptions::default()), [], "{name}");
        // The service account is allowed through each cluster; its neighbour is not.
        for grant in &grants {
            let url = grant.provider().provider_url();
            let token = |sub: &str| {
                Request::new(grant.provider().to_string(), ACTION)
                    .with_value(format!("{url}:sub"), sub)
                    .with_value(format!("{url}:aud"), grant.audience())
            };
            assert_eq!(
                policy.decide(&token("system:serviceaccount:payments:api")),
                Decision::Allow,
                "{name}"
            );
            assert_eq!(
                policy.decide(&token("system:serviceaccount:billing:api")),
                Decision::ImplicitDeny,
                "{name}"
            );
        }
    }
    // Five EKS clusters in one role exceed the default quota, as the EKS guide warns.
    let grants: Vec<_> = (0..5)
        .map(|i| {
            let arn = format!(
                "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDE{i}"
            );
            ClusterGrant::service_accounts(arn.parse().unwrap(), vec![api()]).unwrap()
        })
        .collect();
    let five = generate(&grants, DEFAULT_SIZE_QUOTA).unwrap();
    assert_eq!((five.size(), five.fits()), (2213, false));
    assert!(generate(&grants, 4096).unwrap().fits());
    let policy: TrustPolicy = five.json().parse().unwrap();
    let codes: Vec<_> = lint(&policy, &LintOptions::default())
        .iter()
        .map(|f| f.code)
        .collect();
    assert_eq!(codes, [LintCode::SizeQuota]);
}

#[test]
fn every_lint_code_has_a_golden_case() {
    let mut seen = BTreeSet::new();
    let dir = data_path("policy/lint");
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with(".findings.json"))
        .collect();
    inputs.sort();
    for input in inputs {
        let stem = input.file_stem().unwrap().to_string_lossy().into_owned();
        let findings = lint_document(&std::fs::read(&input).unwrap(), &LintOptions::default());
        let expected: Value =
            serde_json::from_slice(&data(&format!("policy/lint/{stem}.findings.json"))).unwrap();
        assert_eq!(json!({ "findings": findings }), expected, "{stem}");
        seen.extend(findings.iter().map(|f| f.code.as_str()));
        if stem != "clean" {
            let named = findings.iter().any(|f| stem.starts_with(f.code.as_str()));
            assert!(named, "{stem}: the finding it is named after is missing");
        } else {
            assert!(findings.is_empty());
        }
    }
    for code in LintCode::ALL {
        assert!(seen.contains(code.as_str()), "no golden case for {code}");
    }
}

#[test]
fn lint_with_the_issuer_catches_the_trailing_slash() {
    let policy: TrustPolicy = golden("one-service-account").parse().unwrap();
    let issuer: irsa::oidc::IssuerUrl = "https://oidc.example.com/".parse().unwrap();
    let options = LintOptions::default().provider(issuer.aws_provider_url().unwrap());
    let findings = lint(&policy, &options);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].code, LintCode::ProviderMismatch);
    assert!(
        findings[0].message.contains("differ by a trailing slash"),
        "{}",
        findings[0].message
    );
    let exact = LintOptions::default().provider(
        "https://oidc.example.com"
            .parse::<irsa::oidc::IssuerUrl>()
            .unwrap()
            .aws_provider_url()
            .unwrap(),
    );
    assert_eq!(lint(&policy, &exact), []);
}

// The doctor, on tokens signed with the Kubernetes test keys (issuer.example.com).

const VECTOR_PROVIDER: &str = "arn:aws:iam::111122223333:oidc-provider/issuer.example.com";

fn keys() -> JwkSet {
    JwkSet::parse(&data("k8s-vectors/jwks.rsa-ecdsa.json")).unwrap()
}

fn token(overrides: &[(&str, Value)]) -> String {
    Signer::rsa().sign(
        &format!(r#"{{"alg":"RS256","kid":"{}"}}"#, helpers::RSA_KID),
        &claims(overrides),
    )
}

fn namespace_policy(namespace: &str) -> TrustPolicy {
    let grant = ClusterGrant::namespace(VECTOR_PROVIDER.parse().unwrap(), namespace).unwrap();
    generate(&[grant], DEFAULT_SIZE_QUOTA)
        .unwrap()
        .json()
        .parse()
        .unwrap()
}

fn provider(arn: &str, client_ids: &[&str]) -> RegisteredProvider {
    RegisteredProvider::new(arn.parse().unwrap(), client_ids.iter().copied()).unwrap()
}

/// Token overrides, provider, policy namespace, now; then the code, message and a fragment
/// of the reason.
type DoctorCase<'a> = (
    Vec<(&'a str, Value)>,
    &'a RegisteredProvider,
    &'a str,
    i64,
    &'a str,
    Option<&'a str>,
    &'a str,
);

#[test]
fn the_doctor_answers_as_sts() {
    let keys = keys();
    let registered = provider(VECTOR_PROVIDER, &["sts.amazonaws.com"]);
    let allowed = predict(
        &token(&[]),
        &keys,
        &registered,
        &namespace_policy("myns"),
        crate::helpers::at(NOW),
    )
    .unwrap();
    assert!(allowed.allowed(), "{allowed:#?}");
    assert_eq!(allowed.signature, SignatureCheck::Checked);
    assert_eq!(
        allowed.evaluation.as_ref().unwrap().decision,
        Decision::Allow
    );
    assert_eq!(allowed.findings, []);

    let slash = provider(&format!("{VECTOR_PROVIDER}/"), &["sts.amazonaws.com"]);
    let other_aud = provider(VECTOR_PROVIDER, &["sts.amazon.com"]);
    let cases: [DoctorCase<'_>; 5] = [
        (
            vec![],
            &slash,
            "myns",
            NOW,
            "InvalidIdentityToken",
            Some(&format!(
                "No OpenIDConnect provider found in your account for {ISSUER}"
            )),
            "trailing",
        ),
        (
            vec![],
            &other_aud,
            "myns",
            NOW,
            "InvalidIdentityToken",
            Some("Incorrect token audience"),
            "none of the provider's client IDs",
        ),
        (
            vec![],
            &registered,
            "myns",
            1_514_851_200 + 301,
            "ExpiredTokenException",
            Some(
                "Token expired: current date/time 1514851501 must be before the expiration date/time1514851200",
            ),
            "expired",
        ),
        (
            vec![("aud", Value::Null)],
            &registered,
            "myns",
            NOW,
            "InvalidIdentityToken",
            Some("Missing a required claim: aud"),
            "no \"aud\"",
        ),
        (
            vec![],
            &registered,
            "payments",
            NOW,
            "AccessDenied",
            Some("Not authorized to perform sts:AssumeRoleWithWebIdentity"),
            "statement 0: StringLike issuer.example.com:sub [\"system:serviceaccount:payments:*\"] is false: the request has [\"system:serviceaccount:myns:mysvcacct\"]",
        ),
    ];
    for (overrides, registered, namespace, now, code, message, reason) in cases {
        let diagnosis = predict(
            &token(&overrides),
            &keys,
            registered,
            &namespace_policy(namespace),
            crate::helpers::at(now),
        )
        .unwrap();
        let error = diagnosis.sts_error.as_ref().expect("refused");
        assert_eq!(error.code.as_str(), code, "{error:?}");
        assert_eq!(error.message.as_deref(), message, "{error:?}");
        assert!(
            error.reason.contains(reason),
            "{:?} lacks {reason:?}",
            error.reason
        );
        // The policy is still explained when the token fails first.
        assert!(diagnosis.evaluation.is_some());
    }

    // A token signed by another key: no STS message is on record, the reason says why.
    let mut forged = token(&[]);
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let diagnosis = predict(
        &forged,
        &keys,
        &registered,
        &namespace_policy("myns"),
        crate::helpers::at(NOW),
    )
    .unwrap();
    let error = diagnosis.sts_error.unwrap();
    assert_eq!(
        (error.code.as_str(), error.message),
        ("InvalidIdentityToken", None)
    );
    assert!(
        error.reason.contains("signature does not verify"),
        "{}",
        error.reason
    );
    // An explicit Deny names the statement.
    let deny: TrustPolicy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Federated": VECTOR_PROVIDER}, "Action": ACTION},
        {"Sid": "NoDefault", "Effect": "Deny", "Principal": "*", "Action": ACTION,
         "Condition": {"StringLike": {"issuer.example.com:sub": "system:serviceaccount:myns:*"}}}
    ]})
    .to_string()
    .parse()
    .unwrap();
    let diagnosis = predict(
        &token(&[]),
        &keys,
        &registered,
        &deny,
        crate::helpers::at(NOW),
    )
    .unwrap();
    assert_eq!(
        diagnosis.sts_error.unwrap().reason,
        "explicitly denied by statement 1 (NoDefault)"
    );
}

#[test]
fn the_doctor_without_a_signature_still_applies_the_token_rules() {
    let registered = provider(VECTOR_PROVIDER, &["sts.amazonaws.com"]);
    let policy = namespace_policy("myns");
    let owned = claims(&[]);
    let good = Claims::from_json(owned.as_bytes()).unwrap();
    let diagnosis = predict_claims(&good, &registered, &policy, crate::helpers::at(NOW));
    assert!(diagnosis.allowed());
    assert_eq!(diagnosis.signature, SignatureCheck::Skipped);
    let owned = claims(&[("iss", json!("https://issuer.example.com/"))]);
    let wrong_issuer = Claims::from_json(owned.as_bytes()).unwrap();
    let error = predict_claims(&wrong_issuer, &registered, &policy, crate::helpers::at(NOW))
        .sts_error
        .unwrap();
    assert_eq!(
        error.message.as_deref(),
        Some("No OpenIDConnect provider found in your account for https://issuer.example.com/")
    );
    let legacy = Claims::from_json(
        br#"{"iss":"kubernetes/serviceaccount","sub":"system:serviceaccount:myns:x"}"#,
    )
    .unwrap();
    let error = predict_claims(&legacy, &registered, &policy, crate::helpers::at(NOW))
        .sts_error
        .unwrap();
    assert!(error.reason.contains("legacy"), "{}", error.reason);
}

/// A `Date*` value that is no date decides the condition by itself: the explanation and the
/// predicted refusal say the policy's value cannot be read, not what the request has.
#[test]
fn an_unreadable_policy_value_is_blamed_not_the_request() {
    let registered = provider(VECTOR_PROVIDER, &["sts.amazonaws.com"]);
    let grant = ClusterGrant::namespace(VECTOR_PROVIDER.parse().unwrap(), "myns").unwrap();
    let generated = generate(&[grant], DEFAULT_SIZE_QUOTA).unwrap();
    let mut document: Value = serde_json::from_str(generated.json()).unwrap();
    document["Statement"][0]["Condition"]["DateGreaterThan"] =
        json!({ "aws:CurrentTime": "2024-02-31" });
    let policy: TrustPolicy = document.to_string().parse().unwrap();
    let owned = claims(&[]);
    let good = Claims::from_json(owned.as_bytes()).unwrap();
    let prediction = predict_claims(&good, &registered, &policy, crate::helpers::at(NOW));
    let not_a_date = "\"2024-02-31\" is not a date (February 2024 has 29 days)";
    assert_eq!(
        prediction.sts_error.unwrap().reason,
        format!(
            "no statement allows the request: statement 0: DateGreaterThan aws:CurrentTime \
             [\"2024-02-31\"] is false: {not_a_date}, so it never matches, whatever the request has"
        )
    );
    let evaluation = prediction.evaluation.unwrap();
    let condition = evaluation.statements[0]
        .conditions
        .iter()
        .find(|c| c.operator == "DateGreaterThan")
        .unwrap();
    assert!(!condition.matched && condition.policy_unreadable());
    assert_eq!(condition.unreadable, [not_a_date]);
    assert_eq!(
        condition.note.as_deref(),
        Some(
            format!(
                "{not_a_date}: the policy's value cannot be read as its type, so the condition \
                 never matches, whatever the request has"
            )
            .as_str()
        )
    );
    let codes: Vec<_> = prediction.findings.iter().map(|f| f.code).collect();
    assert_eq!(codes, [LintCode::DataTypeMismatch]);
}
