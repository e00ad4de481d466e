//! `irsa trust-policy`, `irsa lint` and `irsa explain`, run as a user runs them.

use crate::helpers;
use crate::helpers::cli;

use cli::{assert_one_line_error, irsa, irsa_json, path};
use helpers::{NOW, RSA_KID, Signer, claims, text};
use serde_json::{Value, json};

const PROVIDER: &str = "arn:aws:iam::111122223333:oidc-provider/oidc.example.com";
const VECTOR_PROVIDER: &str = "arn:aws:iam::111122223333:oidc-provider/issuer.example.com";

/// The exit code and stdout as JSON; stderr must be empty.
fn run_json<S: AsRef<str> + std::fmt::Debug>(args: &[S]) -> (i32, Value) {
    let output = irsa_json(args);
    assert!(
        output.stderr.is_empty(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    (output.status.code().unwrap(), value)
}

/// `irsa explain` of a token for the vectors' provider, checked against its keys at `NOW`.
fn explain_token(policy: &str, token_file: &str) -> Vec<String> {
    let jwks = path("k8s-vectors/jwks.rsa-ecdsa.json");
    let now = NOW.to_string();
    [
        "explain",
        "--policy",
        policy,
        "--provider-arn",
        VECTOR_PROVIDER,
        "--token",
        token_file,
        "--jwks",
        &jwks,
        "--now",
        &now,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// `irsa explain --json` writes its members in this order, whatever the outcome.
fn assert_explain_members(explained: &Value) {
    let members: Vec<&str> = explained
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        members,
        [
            "decision",
            "sts_error",
            "statements",
            "signature",
            "findings"
        ],
        "{explained:#}"
    );
}

fn temp_file(dir: &tempfile::TempDir, name: &str, contents: &str) -> String {
    let file = dir.path().join(name);
    std::fs::write(&file, contents).unwrap();
    file.display().to_string()
}

#[test]
fn trust_policy_prints_the_golden_policy() {
    let output = irsa(&[
        "trust-policy",
        "--issuer",
        "https://oidc.example.com",
        "--account",
        "111122223333",
        "--namespace",
        "payments",
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        text("policy/generate/namespace.json")
    );
    let output = irsa(&[
        "trust-policy",
        "--provider-arn",
        PROVIDER,
        "--service-account",
        "payments:api",
        "--service-account",
        "payments:worker",
    ]);
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        text("policy/generate/several-service-accounts.json")
    );
}

#[test]
fn trust_policy_refuses_bad_input_and_an_oversized_policy() {
    let base = ["trust-policy", "--provider-arn", PROVIDER];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [&base[..], extra].concat() };
    assert_one_line_error(
        &with(&["--service-account", "payments"]),
        2,
        &["--service-account payments", "NAMESPACE:NAME"],
    );
    assert_one_line_error(
        &with(&["--service-account", "Payments:api"]),
        2,
        &["invalid namespace \"Payments\""],
    );
    assert_one_line_error(
        &with(&["--namespace", "a", "--service-account", "a:b"]),
        2,
        &["cannot be used with"],
    );
    assert_one_line_error(
        &[
            "trust-policy",
            "--provider-arn",
            "arn:aws:iam::111122223333:role/r",
            "--namespace",
            "a",
        ],
        2,
        &[
            "--provider-arn arn:aws:iam::111122223333:role/r",
            "oidc-provider/PROVIDER-URL",
        ],
    );
    assert_one_line_error(
        &with(&["--namespace", "a", "--size-limit", "100"]),
        1,
        &[
            "--size-quota 100",
            "323 non-whitespace characters, over the quota",
        ],
    );
}

#[test]
fn lint_exits_1_on_errors_only() {
    let (code, clean) = run_json(&["lint", "--policy", &path("policy/lint/clean.json")]);
    assert_eq!((code, clean), (0, json!({"findings": []})));
    let (code, warned) = run_json(&["lint", "--policy", &path("policy/lint/missing-aud.json")]);
    assert_eq!(code, 0);
    assert_eq!(warned["findings"][0]["severity"], "warning");
    let (code, failed) = run_json(&["lint", "--policy", &path("policy/lint/missing-sub.json")]);
    assert_eq!(code, 1);
    assert_eq!(
        failed,
        serde_json::from_str::<Value>(&text("policy/lint/missing-sub.findings.json")).unwrap()
    );
    let finding = failed["findings"][0].as_object().unwrap();
    let members: Vec<&str> = finding.keys().map(String::as_str).collect();
    assert_eq!(members, ["code", "severity", "statement", "message", "fix"]);
    // The issuer adds the provider check; a malformed document is a finding, not an error.
    let (code, mismatch) = run_json(&[
        "lint",
        "--policy",
        &path("policy/lint/clean.json"),
        "--issuer",
        "https://oidc.example.com/",
    ]);
    assert_eq!(
        (code, &mismatch["findings"][0]["code"]),
        (1, &json!("provider-mismatch"))
    );
    let (code, malformed) = run_json(&["lint", "--policy", &path("policy/lint/key-prefix.json")]);
    assert_eq!(
        (code, &malformed["findings"][0]["code"]),
        (1, &json!("key-prefix"))
    );
    assert_one_line_error(
        &["lint", "--policy", "/nonexistent/policy.json"],
        2,
        &["--policy /nonexistent/policy.json", "cannot read"],
    );
}

#[test]
fn explain_with_claims_skips_the_signature_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let claims_file = temp_file(&dir, "claims.json", &claims(&[]));
    let policy = temp_file(
        &dir,
        "policy.json",
        &text("policy/generate/namespace.json").replace("oidc.example.com", "issuer.example.com"),
    );
    let now = NOW.to_string();
    let args = [
        "explain",
        "--policy",
        &policy,
        "--provider-arn",
        VECTOR_PROVIDER,
        "--claims",
        &claims_file,
        "--now",
        &now,
    ];
    let (code, denied) = run_json(&args);
    assert_eq!(code, 1);
    assert_eq!(denied["decision"], "ImplicitDeny");
    assert_eq!(denied["sts_error"]["code"], "AccessDenied", "{denied:#}");
    assert_eq!(
        denied["sts_error"]["message"],
        "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    );
    assert!(denied["signature"].as_str().unwrap().starts_with("skipped"));
    assert_explain_members(&denied);
    let sub = &denied["statements"][0]["conditions"][1];
    assert_eq!(
        (
            &sub["key"],
            &sub["values"],
            &sub["context"],
            &sub["matched"]
        ),
        (
            &json!("issuer.example.com:sub"),
            &json!(["system:serviceaccount:payments:*"]),
            &json!(["system:serviceaccount:myns:mysvcacct"]),
            &json!(false)
        )
    );

    let myns = temp_file(
        &dir,
        "myns.json",
        &std::fs::read_to_string(&policy)
            .unwrap()
            .replace("payments", "myns"),
    );
    let args = [&args[..2], &[myns.as_str()], &args[3..]].concat();
    let (code, allowed) = run_json(&args);
    assert_eq!(
        (code, &allowed["decision"], &allowed["sts_error"]),
        (0, &json!("Allow"), &Value::Null)
    );
}

#[test]
fn explain_with_a_token_checks_it_first() {
    let dir = tempfile::tempdir().unwrap();
    let token = Signer::rsa().sign(
        &format!(r#"{{"alg":"RS256","kid":"{RSA_KID}"}}"#),
        &claims(&[]),
    );
    let token_file = temp_file(&dir, "token", &token);
    let policy = temp_file(
        &dir,
        "policy.json",
        &text("policy/generate/namespace.json")
            .replace("oidc.example.com", "issuer.example.com")
            .replace("payments", "myns"),
    );
    let base = explain_token(&policy, &token_file);
    let (code, allowed) = run_json(&base);
    assert_eq!(
        (code, &allowed["decision"], &allowed["signature"]),
        (0, &json!("Allow"), &json!("checked"))
    );
    let mut args = base.clone();
    args.extend(["--client-id".to_owned(), "sts.amazon.com".to_owned()]);
    let (code, refused) = run_json(&args);
    assert_eq!(code, 1);
    assert_eq!(
        refused["sts_error"],
        json!({
            "code": "InvalidIdentityToken",
            "message": "Incorrect token audience",
            "reason": "the token's audiences [\"sts.amazonaws.com\"] include none of the provider's client IDs [\"sts.amazon.com\"]"
        })
    );
    // The policy is explained all the same.
    assert_eq!(refused["decision"], "Allow");

    let bad_policy = temp_file(
        &dir,
        "bad.json",
        &std::fs::read_to_string(&policy).unwrap().replace(
            "\"issuer.example.com:sub\"",
            "\"https://issuer.example.com:sub\"",
        ),
    );
    assert_one_line_error(
        &explain_token(&bad_policy, &token_file),
        2,
        &[
            "--policy",
            "has a URL scheme",
            "(IAM: \"Condition can contain only one colon.\")",
        ],
    );
    assert_one_line_error(
        &[
            "explain",
            "--policy",
            &policy,
            "--provider-arn",
            VECTOR_PROVIDER,
            "--token",
            &token_file,
        ],
        2,
        &["--jwks"],
    );
}

#[test]
fn explain_reports_no_decision_when_the_token_cannot_be_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = temp_file(&dir, "token", "not-a-jwt\n");
    let policy = temp_file(
        &dir,
        "policy.json",
        &text("policy/generate/namespace.json").replace("oidc.example.com", "issuer.example.com"),
    );
    let (code, refused) = run_json(&explain_token(&policy, &token_file));
    // STS refuses the token before the policy: the policy was never evaluated, so there is
    // no decision to report (not an ImplicitDeny), and the exit code is a refusal's.
    assert_eq!(code, 1, "{refused:#}");
    assert_eq!(refused["decision"], Value::Null, "{refused:#}");
    assert_eq!(refused["statements"], json!([]));
    assert_eq!(refused["sts_error"]["code"], "InvalidIdentityToken");
    assert_eq!(refused["signature"], "checked");
    assert_explain_members(&refused);
}

/// `explain` builds STS's whole request context: a policy bound to a source address, a time
/// window and a session-name pattern is judged as IAM judges it.
#[test]
fn explain_judges_the_global_keys_of_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let claims_file = temp_file(&dir, "claims.json", &claims(&[]));
    let policy = temp_file(
        &dir,
        "policy.json",
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{VECTOR_PROVIDER}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"IpAddress":{{"aws:SourceIp":"192.0.2.0/24"}},"DateLessThan":{{"aws:CurrentTime":"2018-01-02T00:00:00Z"}},"StringLike":{{"sts:RoleSessionName":"ci-*"}}}}}}]}}"#
        ),
    );
    let now = NOW.to_string();
    let run = |ip: &str, session: &str, now: &str| {
        run_json(&[
            "explain",
            "--policy",
            &policy,
            "--provider-arn",
            VECTOR_PROVIDER,
            "--claims",
            &claims_file,
            "--now",
            now,
            "--source-ip",
            ip,
            "--session-name",
            session,
        ])
    };
    assert_eq!(run("192.0.2.7", "ci-1", &now).0, 0);
    for (ip, session, at, key) in [
        ("198.51.100.1", "ci-1", now.as_str(), "aws:SourceIp"),
        ("192.0.2.7", "laptop", now.as_str(), "sts:RoleSessionName"),
        (
            "192.0.2.7",
            "ci-1",
            "2018-01-03T00:00:00Z",
            "aws:CurrentTime",
        ),
    ] {
        let (code, denied) = run(ip, session, at);
        assert_eq!(code, 1, "{key}");
        let failed: Vec<&Value> = denied["statements"][0]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["matched"] == json!(false))
            .map(|c| &c["key"])
            .collect();
        assert_eq!(failed, [&json!(key)]);
    }
}
