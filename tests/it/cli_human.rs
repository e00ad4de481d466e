//! The human renderings, on fixed inputs: snapshots in `tests/it/snapshots/` (colour off, and one
//! with colour forced), the colour rules, standard input, the typed values, completions and the
//! man page.

use crate::helpers::cli;

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use cli::{assert_bad_input, discovery_s3_args, irsa, irsa_json, path, verify_args};
use serde_json::Value;

const PROVIDER: &str = "arn:aws:iam::111122223333:oidc-provider/issuer.example.com";
/// A minute after the vector token was issued.
const NOW: &str = "2018-01-01T00:01:00Z";

/// `irsa --color never ARGS`: the exit code and stdout; stderr must be empty.
fn human<S: AsRef<str>>(args: &[S]) -> (i32, String) {
    let mut all = vec!["--color", "never"];
    all.extend(args.iter().map(AsRef::as_ref));
    let output = irsa(&all);
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!stdout.contains('\u{1b}'), "colour with --color never");
    (output.status.code().unwrap(), stdout)
}

/// Runs `irsa ARGS` with `input` on standard input.
fn with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_irsa"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A refused command may exit before reading all of it.
    let _ = child.stdin.take().unwrap().write_all(input);
    child.wait_with_output().unwrap()
}

fn explain_args(policy: &str, extra: &[&str]) -> Vec<String> {
    let policy = path(&format!("cli/{policy}"));
    let base = [
        "explain",
        "--policy",
        &policy,
        "--provider-arn",
        PROVIDER,
        "--now",
        NOW,
    ];
    [&base[..], extra]
        .concat()
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

fn with_token(token: &str) -> [String; 4] {
    [
        "--token".to_owned(),
        path(token),
        "--jwks".to_owned(),
        path("k8s-vectors/jwks.rsa-ecdsa.json"),
    ]
}

fn strs(items: &[String]) -> Vec<&str> {
    items.iter().map(String::as_str).collect()
}

#[test]
fn explain_renderings() {
    let token = with_token("k8s-vectors/token.bound.rs256.jwt");
    let token = strs(&token);
    let (code, denied) = human(&explain_args("policy.payments.json", &token));
    assert_eq!(code, 1);
    insta::assert_snapshot!("explain-denied", denied);
    let (code, allowed) = human(&explain_args("policy.myns.json", &token));
    assert_eq!(code, 0);
    insta::assert_snapshot!("explain-allowed", allowed);
    let (code, explicit) = human(&explain_args("policy.deny-one.json", &token));
    assert_eq!(code, 1);
    insta::assert_snapshot!("explain-explicit-deny", explicit);
    let audience = [&token[..], &["--client-id", "sts.amazon.com"]].concat();
    let (code, refused) = human(&explain_args("policy.myns.json", &audience));
    assert_eq!(code, 1);
    insta::assert_snapshot!("explain-audience", refused);
    let claims = path("k8s-vectors/claims.bound.json");
    let (code, skipped) = human(&explain_args(
        "policy.payments.json",
        &["--claims", &claims],
    ));
    assert_eq!(code, 1);
    insta::assert_snapshot!("explain-claims", skipped);
    let garbage = with_token("cli/token.not-a-jwt");
    let (code, unread) = human(&explain_args("policy.payments.json", &strs(&garbage)));
    assert_eq!(code, 1);
    insta::assert_snapshot!("explain-unreadable-token", unread);
    // Lint findings come after the tree.
    let findings = path("policy/lint/missing-aud.json");
    let mut args = explain_args("policy.payments.json", &token);
    args[2] = findings;
    let (_, linted) = human(&args);
    insta::assert_snapshot!("explain-findings", linted);
}

#[test]
fn explain_in_colour_when_forced() {
    let token = with_token("k8s-vectors/token.bound.rs256.jwt");
    let mut args = vec!["--color".to_owned(), "always".to_owned()];
    args.extend(explain_args("policy.payments.json", &strs(&token)));
    let output = irsa(&args);
    let coloured = String::from_utf8(output.stdout).unwrap();
    assert!(coloured.contains("\u{1b}[1m\u{1b}[31m"), "{coloured:?}");
    insta::assert_snapshot!("explain-denied-colour", coloured.replace('\u{1b}', "\\e"));
    // Stripped of its styles, it is the plain rendering.
    let (_, plain) = human(&args[2..]);
    let stripped: String = anstream::adapter::strip_str(&coloured).to_string();
    assert_eq!(stripped, plain);
}

#[test]
fn colour_only_on_a_terminal_or_when_forced() {
    let token = with_token("k8s-vectors/token.bound.rs256.jwt");
    let args = explain_args("policy.payments.json", &strs(&token));
    let run = |env: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_irsa"));
        command
            .args(&args)
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CLICOLOR");
        for (k, v) in env {
            command.env(k, v);
        }
        String::from_utf8(command.output().unwrap().stdout).unwrap()
    };
    // stdout is a pipe here: no colour by default.
    assert!(!run(&[]).contains('\u{1b}'));
    assert!(run(&[("CLICOLOR_FORCE", "1")]).contains('\u{1b}'));
    // NO_COLOR wins over a forced colour from the environment.
    let no_color = run(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]);
    assert!(!no_color.contains('\u{1b}'));
    // JSON is never styled.
    let json = irsa_json(&[&["--color", "always"], &strs(&args)[..]].concat());
    serde_json::from_slice::<Value>(&json.stdout).unwrap();
    assert!(!json.stdout.contains(&0x1b));
}

#[test]
fn verify_renderings() {
    let (code, valid) = human(&verify_args("token.bound.rs256.jwt", NOW, &[]));
    assert_eq!(code, 0);
    insta::assert_snapshot!("verify-valid", valid);
    // A day and five minutes later, past the 300 s of skew.
    let late = "2018-01-02T00:05:01Z";
    let (code, expired) = human(&verify_args("token.bound.rs256.jwt", late, &[]));
    assert_eq!(code, 1);
    insta::assert_snapshot!("verify-expired", expired);
    let (code, tampered) = human(&verify_args(
        "token.bound.rs256.tampered-payload.jwt",
        NOW,
        &[],
    ));
    assert_eq!(code, 1);
    insta::assert_snapshot!("verify-tampered", tampered);
    let (code, legacy) = human(&verify_args("token.legacy.rs256.jwt", NOW, &[]));
    assert_eq!(code, 1);
    insta::assert_snapshot!("verify-legacy", legacy);
    // The skew is a duration: with 10m, five minutes past exp is still valid.
    let (code, _) = human(&verify_args(
        "token.bound.rs256.jwt",
        late,
        &["--clock-skew", "10m"],
    ));
    assert_eq!(code, 0);
}

#[test]
fn lint_renderings() {
    let lint = |name: &str| {
        human(&[
            "lint",
            "--policy",
            &path(&format!("policy/lint/{name}.json")),
        ])
    };
    let (code, clean) = lint("clean");
    assert_eq!((code, clean.as_str()), (0, "✓ no findings\n"));
    let (code, warned) = lint("missing-aud");
    assert_eq!(code, 0);
    insta::assert_snapshot!("lint-warning", warned);
    let (code, failed) = lint("wrong-action-federated");
    assert_eq!(code, 1);
    insta::assert_snapshot!("lint-statements", failed);
    let (code, document) = lint("missing-version");
    assert_eq!(code, 0);
    insta::assert_snapshot!("lint-document", document);
}

#[test]
fn discovery_renderings() {
    let s3 = discovery_s3_args();
    let (code, plan) = human(&s3);
    assert_eq!(code, 0);
    insta::assert_snapshot!("discovery-s3", plan);
    let (_, plain) = human(&[
        "discovery",
        "--issuer",
        "https://issuer.example.com",
        "--public-key",
        &path("k8s-vectors/rsa-public.pem"),
    ]);
    insta::assert_snapshot!("discovery-issuer", plain);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("issuer").display().to_string();
    let (code, written) = human(&[&s3[..], &["--out".to_owned(), out.clone()]].concat());
    assert_eq!(code, 0);
    // stderr is not a terminal: no progress was shown (human() checks stderr is empty).
    insta::assert_snapshot!("discovery-out", written.replace(&out, "$OUT"));
}

#[test]
fn patch_renderings() {
    let pod = path("pod-identity-webhook/rawPodNeedsSTS.pod.yaml");
    let sa = path("cli/sa.role.yaml");
    let (code, granular) = human(&["patch", "--pod", &pod, "--service-account", &sa]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("patch-granular", granular);
    let (_, compatible) = human(&[
        "patch",
        "--pod",
        &pod,
        "--service-account",
        &sa,
        "--region",
        "eu-west-1",
        "--sts-regional-endpoints",
        "--style",
        "compatible",
    ]);
    insta::assert_snapshot!("patch-compatible", compatible);
    let none = path("cli/sa.none.yaml");
    let (_, nothing) = human(&["patch", "--pod", &pod, "--service-account", &none]);
    insta::assert_snapshot!("patch-nothing", nothing);
    let review = path("pod-identity-webhook/hack/request.json");
    let (code, answered) = human(&[
        "patch",
        "--admission-review",
        &review,
        "--service-account",
        &sa,
    ]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("patch-review", answered);
}

#[test]
fn a_review_of_another_kind_is_denied_as_the_webhook_denies_it() {
    let review = path("cli/review.configmap.json");
    let sa = path("cli/sa.role.yaml");
    let output = irsa_json(&[
        "patch",
        "--admission-review",
        &review,
        "--service-account",
        &sa,
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stderr.is_empty());
    let response: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        response,
        serde_json::json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": {
                "uid": "5d1c7c2e-0b7a-4f39-9d1e-3a8f2c6b4e10",
                "allowed": false,
                "status": {
                    "code": 400,
                    "message": "the admitted object is a ConfigMap, not a Pod; register the webhook for pods only"
                }
            }
        })
    );
    let (code, denied) = human(&[
        "patch",
        "--admission-review",
        &review,
        "--service-account",
        &sa,
    ]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("patch-review-not-a-pod", denied);
}

#[test]
fn trust_policy_prints_the_policy_in_both_formats() {
    let args = [
        "trust-policy",
        "--issuer",
        "https://oidc.example.com",
        "--account",
        "111122223333",
        "--namespace",
        "payments",
    ];
    let (_, text) = human(&args);
    assert_eq!(text, cli_text("policy/generate/namespace.json"));
    assert_eq!(String::from_utf8(irsa_json(&args).stdout).unwrap(), text);
}

fn cli_text(name: &str) -> String {
    std::fs::read_to_string(cli::data(name)).unwrap()
}

#[test]
fn dash_reads_standard_input() {
    let token = std::fs::read(cli::data("k8s-vectors/token.bound.rs256.jwt")).unwrap();
    let jwks = path("k8s-vectors/jwks.rsa-ecdsa.json");
    let verify = [
        "-o",
        "json",
        "verify",
        "--token",
        "-",
        "--jwks",
        &jwks,
        "--issuer",
        "https://issuer.example.com",
        "--now",
        "1514764860",
    ];
    let output = with_stdin(&verify, &token);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        cli_text("cli/json/verify-valid.json")
    );

    let policy = std::fs::read(cli::data("policy/lint/missing-sub.json")).unwrap();
    let output = with_stdin(&["-o", "json", "lint", "--policy", "-"], &policy);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        cli_text("cli/json/lint-missing-sub.json")
    );

    let pod = std::fs::read(cli::data("pod-identity-webhook/rawPodNeedsSTS.pod.yaml")).unwrap();
    let sa = path("cli/sa.role.yaml");
    let output = with_stdin(
        &[
            "-o",
            "json",
            "patch",
            "--pod",
            "-",
            "--service-account",
            &sa,
        ],
        &pod,
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        cli_text("cli/json/patch-granular.json")
    );

    let claims = std::fs::read(cli::data("k8s-vectors/claims.bound.json")).unwrap();
    let mut args = vec!["-o".to_owned(), "json".to_owned()];
    args.extend(explain_args("policy.payments.json", &["--claims", "-"]));
    let output = with_stdin(&strs(&args), &claims);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        cli_text("cli/json/explain-claims.json")
    );

    // Standard input can be read once: a second `-` is refused, naming it.
    let output = with_stdin(
        &[
            "verify",
            "--token",
            "-",
            "--jwks",
            "-",
            "--issuer",
            "https://issuer.example.com",
        ],
        &token,
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("irsa: --jwks -: standard input is already read by another input"),
        "{stderr}"
    );
}

#[test]
fn typed_values_are_refused_in_one_line_naming_flag_and_fix() {
    let claims = path("k8s-vectors/claims.bound.json");
    let policy = path("cli/policy.payments.json");
    let explain = |arn: &str, now: &str| {
        irsa(&[
            "explain",
            "--policy",
            &policy,
            "--provider-arn",
            arn,
            "--claims",
            &claims,
            "--now",
            now,
        ])
    };
    let output = explain("arn:aws:iam::111122223333:role/r", NOW);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr.starts_with("irsa: --provider-arn arn:aws:iam::111122223333:role/r: ")
            && stderr.contains("oidc-provider/PROVIDER-URL")
            && stderr.lines().count() == 1,
        "{stderr}"
    );
    let output = explain(PROVIDER, "yesterday");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr,
        "irsa: --now yesterday: expected an RFC 3339 time (2026-01-02T15:04:05Z) or seconds since the Unix epoch\n"
    );
    // RFC 3339 and Unix seconds name the same instant.
    assert_eq!(
        explain(PROVIDER, NOW).stdout,
        explain(PROVIDER, "1514764860").stdout
    );
    assert_bad_input(
        &[
            "discovery",
            "--issuer",
            "https://a.example",
            "--account",
            "12345",
            "--public-key",
            &path("k8s-vectors/rsa-public.pem"),
        ],
        &["--account 12345", "12 digits"],
    );
    assert_bad_input(
        &[
            "patch",
            "--pod",
            &path("pod-identity-webhook/rawPodNeedsSTS.pod.yaml"),
            "--service-account",
            &path("cli/sa.role.yaml"),
            "--token-expiration",
            "a day",
        ],
        &["--token-expiration a day", "900s, 15m, 1h"],
    );
    assert_bad_input(
        &[
            "trust-policy",
            "--provider-arn",
            PROVIDER,
            "--service-account",
            "payments",
        ],
        &["--service-account payments", "NAMESPACE:NAME"],
    );
    assert_bad_input(
        &["-o", "yaml", "lint", "--policy", &policy],
        &["yaml", "human, json"],
    );
}

#[test]
fn audience_is_one_flag_everywhere_with_the_old_spellings_as_aliases() {
    let token = with_token("k8s-vectors/token.bound.rs256.jwt");
    let token = strs(&token);
    for flag in ["--audience", "--client-id"] {
        let args = [&token[..], &[flag, "sts.amazon.com"]].concat();
        let (code, text) = human(&explain_args("policy.myns.json", &args));
        assert_eq!(code, 1, "{flag}");
        assert!(text.contains("Incorrect token audience"), "{flag}: {text}");
    }
    // verify's --skew is --clock-skew; lint's and trust-policy's --size-limit is --size-quota.
    let late = "2018-01-02T00:05:01Z";
    for flag in ["--clock-skew", "--skew"] {
        let (code, _) = human(&verify_args("token.bound.rs256.jwt", late, &[flag, "600"]));
        assert_eq!(code, 0, "{flag}");
    }
    for flag in ["--size-quota", "--size-limit"] {
        let (code, _) = human(&[
            "lint",
            "--policy",
            &path("cli/policy.payments.json"),
            flag,
            "100",
        ]);
        assert_eq!(code, 1, "{flag}");
    }
}

#[test]
fn completions_for_every_shell_know_every_subcommand() {
    let subcommands = [
        "discovery",
        "verify",
        "patch",
        "credential-process",
        "trust-policy",
        "lint",
        "explain",
        "completions",
        "man",
    ];
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let output = irsa(&["completions", shell]);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(output.stdout).unwrap();
        for subcommand in subcommands {
            assert!(script.contains(subcommand), "{shell} lacks {subcommand}");
        }
        assert!(script.contains("audience"), "{shell} lacks --audience");
    }
    assert_bad_input(&["completions", "tcsh"], &["tcsh", "bash"]);

    let output = irsa(&["man"]);
    assert_eq!(output.status.code(), Some(0));
    // roff writes a hyphen as `\-`.
    let page = String::from_utf8(output.stdout)
        .unwrap()
        .replace("\\-", "-");
    assert!(page.contains(".TH irsa 1"), "{page}");
    for subcommand in subcommands {
        assert!(
            page.contains(&format!("irsa-{subcommand}(1)")),
            "the man page lacks {subcommand}"
        );
    }
    assert!(page.contains("docs/cli-json.md"), "{page}");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let output = irsa(&["man", "--out", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    for subcommand in subcommands {
        assert!(
            out.join(format!("irsa-{subcommand}.1")).exists(),
            "irsa-{subcommand}.1"
        );
    }
    assert!(out.join("irsa.1").exists());
}
