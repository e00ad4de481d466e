//! `-o json` is the machines' interface: every subcommand's JSON, byte for byte, on fixed
//! inputs, against the expectation files in `tests/data/cli/json/` (`IRSA_BLESS=1` rewrites
//! them; review the diff).

use crate::helpers::cli;

use cli::{data, discovery_s3_args, irsa_json, path, verify_args};

/// Runs `irsa` with `args` asking for JSON, checks the exit code and compares stdout with
/// `tests/data/cli/json/NAME.json`, after replacing `replace.0` with `replace.1`.
fn check(name: &str, args: &[String], code: i32, replace: Option<(&str, &str)>) {
    let output = irsa_json(args);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stderr.is_empty(), "{name}: stderr");
    let mut stdout = String::from_utf8(output.stdout).unwrap();
    if let Some((from, to)) = replace {
        stdout = stdout.replace(from, to);
    }
    let file = data(&format!("cli/json/{name}.json"));
    // The test's own switch, read where the test runs.
    #[allow(clippy::disallowed_methods)]
    let bless = std::env::var_os("IRSA_BLESS").is_some();
    if bless {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, &stdout).unwrap();
    }
    let expected = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(stdout, expected, "{name}: -o json changed");
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn discovery_json_is_unchanged() {
    let rsa = path("k8s-vectors/rsa-public.pem");
    let ec = path("k8s-vectors/ecdsa-p256-private.pem");
    let base = [
        "discovery",
        "--issuer",
        "https://issuer.example.com",
        "--public-key",
        &rsa,
        "--public-key",
        &ec,
        "--account",
        "111122223333",
    ];
    check("discovery", &args(&base), 0, None);
    let s3 = discovery_s3_args();
    check("discovery-s3", &s3, 0, None);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("issuer").display().to_string();
    let written = [&s3[..], &["--out".to_owned(), out.clone()]].concat();
    check("discovery-out", &written, 0, Some((&out, "$OUT")));
}

#[test]
fn verify_json_is_unchanged() {
    let now = "1514764860";
    check(
        "verify-valid",
        &verify_args("token.bound.rs256.jwt", now, &[]),
        0,
        None,
    );
    check(
        "verify-expired",
        &verify_args("token.bound.rs256.jwt", "1514851501", &[]),
        1,
        None,
    );
    check(
        "verify-tampered",
        &verify_args("token.bound.rs256.tampered-payload.jwt", now, &[]),
        1,
        None,
    );
    check(
        "verify-audience",
        &verify_args("token.bound.rs256.jwt", now, &["--audience", "other"]),
        1,
        None,
    );
    check(
        "verify-legacy",
        &verify_args("token.legacy.rs256.jwt", now, &[]),
        1,
        None,
    );
}

#[test]
fn patch_json_is_unchanged() {
    let pod = path("pod-identity-webhook/rawPodNeedsSTS.pod.yaml");
    let sa = path("cli/sa.role.yaml");
    let base = ["patch", "--pod", &pod, "--service-account", &sa];
    check("patch-granular", &args(&base), 0, None);
    let compatible = [
        &base[..],
        &[
            "--region",
            "eu-west-1",
            "--sts-regional-endpoints",
            "--style",
            "compatible",
        ],
    ]
    .concat();
    check("patch-compatible", &args(&compatible), 0, None);
    let none = path("cli/sa.none.yaml");
    check(
        "patch-nothing",
        &args(&["patch", "--pod", &pod, "--service-account", &none]),
        0,
        None,
    );
    let review = path("pod-identity-webhook/hack/request.json");
    check(
        "patch-review",
        &args(&[
            "patch",
            "--admission-review",
            &review,
            "--service-account",
            &sa,
        ]),
        0,
        None,
    );
}

#[test]
fn trust_policy_and_lint_json_are_unchanged() {
    check(
        "trust-policy",
        &args(&[
            "trust-policy",
            "--issuer",
            "https://oidc.example.com",
            "--account",
            "111122223333",
            "--service-account",
            "payments:api",
            "--service-account",
            "payments:worker",
        ]),
        0,
        None,
    );
    for (name, code) in [("clean", 0), ("missing-aud", 0), ("missing-sub", 1)] {
        let policy = path(&format!("policy/lint/{name}.json"));
        check(
            &format!("lint-{name}"),
            &args(&["lint", "--policy", &policy]),
            code,
            None,
        );
    }
}

fn explain(policy: &str, extra: &[&str]) -> Vec<String> {
    let policy = path(&format!("cli/{policy}"));
    let base = [
        "explain",
        "--policy",
        &policy,
        "--provider-arn",
        "arn:aws:iam::111122223333:oidc-provider/issuer.example.com",
        "--now",
        "1514764860",
    ];
    args(&[&base[..], extra].concat())
}

#[test]
fn explain_json_is_unchanged() {
    let token = path("k8s-vectors/token.bound.rs256.jwt");
    let jwks = path("k8s-vectors/jwks.rsa-ecdsa.json");
    let with_token = ["--token", &token, "--jwks", &jwks];
    check(
        "explain-allowed",
        &explain("policy.myns.json", &with_token),
        0,
        None,
    );
    check(
        "explain-denied",
        &explain("policy.payments.json", &with_token),
        1,
        None,
    );
    let wrong_audience = [&with_token[..], &["--client-id", "sts.amazon.com"]].concat();
    check(
        "explain-audience",
        &explain("policy.myns.json", &wrong_audience),
        1,
        None,
    );
    let claims = path("k8s-vectors/claims.bound.json");
    check(
        "explain-claims",
        &explain("policy.payments.json", &["--claims", &claims]),
        1,
        None,
    );
}
