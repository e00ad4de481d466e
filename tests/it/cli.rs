//! The `irsa` binary, run as a user runs it: real files in, exit code, stdout and stderr out.

use crate::helpers::cli;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use cli::{assert_bad_input, data, irsa, irsa_json, path};

use serde_json::{Value, json};

fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}, stderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

#[test]
fn out_dir_holds_kube_apiserver_identical_documents() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("site");
    let (rsa, ec) = (
        path("k8s-vectors/rsa-public.pem"),
        path("k8s-vectors/ecdsa-p256-private.pem"),
    );
    let summary = stdout_json(&irsa_json(&[
        "discovery",
        "--issuer",
        "https://issuer.example.com",
        "--public-key",
        &rsa,
        "--public-key",
        &ec,
        "--out",
        out.to_str().unwrap(),
    ]));
    let read = |name: &str| fs::read(out.join(name)).unwrap();
    let vector = |name: &str| fs::read(data(name)).unwrap();
    assert_eq!(
        read(".well-known/openid-configuration"),
        vector("k8s-vectors/openid-configuration.issuer-example.json")
    );
    assert_eq!(
        read("openid/v1/jwks"),
        vector("k8s-vectors/jwks.rsa-ecdsa.json")
    );
    assert_eq!(
        String::from_utf8(read("iam-oidc-provider.json")).unwrap(),
        "{\n  \"Url\": \"https://issuer.example.com\",\n  \"ClientIDList\": [\n    \"sts.amazonaws.com\"\n  ]\n}\n"
    );
    assert_eq!(
        String::from_utf8(read("kube-apiserver-flags.txt")).unwrap(),
        "--service-account-issuer=https://issuer.example.com\n\
         --service-account-jwks-uri=https://issuer.example.com/openid/v1/jwks\n\
         --api-audiences=https://issuer.example.com\n"
    );
    assert!(!out.join("bucket-policy.json").exists(), "not an S3 issuer");
    assert_eq!(summary["written"].as_array().unwrap().len(), 4);
    // No temporary files are left behind.
    let leftovers: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".irsa-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn s3_issuer_with_prefix_trailing_slash_and_migration() {
    let summary = stdout_json(&irsa_json(&[
        "discovery",
        "--s3-bucket",
        "acme-irsa",
        "--s3-region",
        "cn-north-1",
        "--s3-prefix",
        "clusters/prod",
        "--trailing-slash",
        "--jwks",
        &path("k8s-vectors/jwks.rsa-ecdsa.json"),
        "--openid-configuration",
        &path("k8s-vectors/openid-configuration.issuer-example.json"),
        "--account",
        "111122223333",
        "--existing-issuer",
        "https://kubernetes.default.svc.cluster.local",
    ]));
    let issuer = "https://acme-irsa.s3.cn-north-1.amazonaws.com.cn/clusters/prod/";
    assert_eq!(summary["issuer"], issuer);
    assert_eq!(
        summary["provider_arn"],
        "arn:aws-cn:iam::111122223333:oidc-provider/acme-irsa.s3.cn-north-1.amazonaws.com.cn/clusters/prod/"
    );
    assert_eq!(
        summary["condition_keys"]["sub"],
        "acme-irsa.s3.cn-north-1.amazonaws.com.cn/clusters/prod/:sub"
    );
    assert_eq!(
        summary["bucket_policy"],
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "IrsaOidcDiscovery",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": [
                    "arn:aws-cn:s3:::acme-irsa/clusters/prod/.well-known/openid-configuration",
                    "arn:aws-cn:s3:::acme-irsa/clusters/prod/openid/v1/jwks"
                ]
            }]
        })
    );
    assert_eq!(
        summary["objects"][0]["body"],
        format!(
            r#"{{"issuer":"{issuer}","jwks_uri":"{issuer}openid/v1/jwks","response_types_supported":["id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["ES256","RS256"]}}"#
        )
    );
    assert_eq!(
        summary["kube_apiserver_flags"],
        json!([
            format!("--service-account-issuer={issuer}"),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            format!("--service-account-jwks-uri={issuer}openid/v1/jwks"),
            format!("--api-audiences={issuer},https://kubernetes.default.svc.cluster.local"),
        ])
    );
    let notes = summary["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n
            .as_str()
            .unwrap()
            .contains("came from issuer https://issuer.example.com")),
        "{notes:?}"
    );
}

/// The next steps `irsa discovery --out` prints are commands that work as printed: run by a
/// shell with the AWS CLI against moto, with no region configured, they make the bucket, upload both documents with their
/// content types, make the bucket public by policy alone and register the provider.
#[test]
fn discovery_next_steps_run_as_printed() {
    let moto = crate::helpers::moto::moto();
    let dir = tempfile::tempdir().unwrap();
    let summary = stdout_json(
        &Command::new(env!("CARGO_BIN_EXE_irsa"))
            .current_dir(dir.path())
            .args([
                "-o",
                "json",
                "discovery",
                "--s3-bucket",
                "acme-irsa",
                "--s3-region",
                "eu-west-1",
            ])
            .args([
                "--s3-prefix",
                "prod",
                "--account",
                "123456789012",
                "--out",
                "./issuer",
            ])
            .args(["--public-key", &path("k8s-vectors/rsa-public.pem")])
            .output()
            .unwrap(),
    );
    let aws_bin = crate::helpers::venv_bin("aws");
    let shell_path = format!(
        "{}:{}",
        aws_bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let aws = |command: &str| -> Output {
        Command::new("sh")
            .args(["-c", command])
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", &shell_path)
            .env("HOME", dir.path())
            .env("AWS_ENDPOINT_URL", &moto.url)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .output()
            .unwrap()
    };
    let commands: Vec<&str> = summary["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|note| note.as_str().unwrap().split_once(": aws "))
        .map(|(_, command)| command)
        .collect();
    assert_eq!(commands.len(), 6, "{summary:#}");
    for command in commands {
        let output = aws(&format!("aws {command}"));
        assert!(output.status.success(), "aws {command}: {output:?}");
    }
    let written = |name: &str| fs::read(dir.path().join("issuer").join(name)).unwrap();
    for (key, file, content_type) in [
        (
            "prod/.well-known/openid-configuration",
            ".well-known/openid-configuration",
            "application/json",
        ),
        (
            "prod/openid/v1/jwks",
            "openid/v1/jwks",
            "application/jwk-set+json",
        ),
    ] {
        let got = aws(&format!(
            "aws s3api get-object --region eu-west-1 --bucket acme-irsa --key {key} fetched"
        ));
        assert!(got.status.success(), "{got:?}");
        let head: Value = serde_json::from_slice(&got.stdout).unwrap();
        assert_eq!(head["ContentType"], content_type);
        assert_eq!(fs::read(dir.path().join("fetched")).unwrap(), written(file));
    }
    let policy = aws(
        "aws s3api get-bucket-policy --region eu-west-1 --bucket acme-irsa --query Policy --output text",
    );
    let policy: Value = serde_json::from_slice(&policy.stdout).unwrap();
    let file: Value = serde_json::from_slice(&written("bucket-policy.json")).unwrap();
    assert_eq!(policy, file);
    let provider = aws(&format!(
        "aws iam get-open-id-connect-provider --region eu-west-1 --open-id-connect-provider-arn {}",
        summary["provider_arn"].as_str().unwrap()
    ));
    assert!(provider.status.success(), "{provider:?}");
    let provider: Value = serde_json::from_slice(&provider.stdout).unwrap();
    assert_eq!(provider["ClientIDList"], json!(["sts.amazonaws.com"]));
}

#[test]
fn bad_inputs_exit_2_with_one_line_naming_input_and_fix() {
    let rsa = path("k8s-vectors/rsa-public.pem");
    let with_key = |issuer: &str, key: &str| {
        ["discovery", "--issuer", issuer, "--public-key", key].map(str::to_owned)
    };
    assert_bad_input(
        &with_key("https://a.example", "/nonexistent/sa.pub"),
        &["--public-key /nonexistent/sa.pub", "cannot read the file"],
    );
    assert_bad_input(
        &with_key("https://a.example", &path("k8s-vectors/README.txt")),
        &[
            "--public-key",
            "no PEM block found",
            "-----BEGIN PUBLIC KEY-----",
        ],
    );
    assert_bad_input(
        &with_key("https://a.example", &path("keys/rsa-1024-public.pem")),
        &["rsa-1024-public.pem", "1024 bits", "2048"],
    );
    assert_bad_input(
        &with_key("http://a.example", &rsa),
        &["--issuer http://a.example", "\"https\""],
    );
    assert_bad_input(
        &with_key("https://a.example/?x=1", &rsa),
        &["--issuer https://a.example/?x=1", "query", "remove it"],
    );
    assert_bad_input(
        &with_key("https://a.example:8443", &rsa),
        &["--issuer https://a.example:8443", "port", "drop the port"],
    );
    assert_bad_input(
        &[
            "discovery",
            "--s3-bucket",
            "acme.irsa",
            "--s3-region",
            "us-east-1",
            "--public-key",
            &rsa,
        ],
        &["--s3-bucket acme.irsa", "dots", "CloudFront"],
    );
    assert_bad_input(
        &[
            "discovery",
            "--issuer",
            "https://a.example",
            "--audience",
            "https://a.example",
            "--public-key",
            &rsa,
        ],
        &["kube-apiserver audience", "sts.amazonaws.com"],
    );
    assert_bad_input(
        &[
            "discovery",
            "--issuer",
            "https://a.example",
            "--account",
            "12345",
            "--public-key",
            &rsa,
        ],
        &["--account 12345", "12 digits"],
    );
    assert_bad_input(
        &["discovery", "--issuer", "https://a.example"],
        &["no keys given", "--public-key FILE"],
    );
    assert_bad_input(
        &["discovery", "--public-key", &rsa],
        &["--issuer", "--s3-bucket"],
    );
}

fn verify_args(token: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "verify",
        "--token",
        &path(&format!("k8s-vectors/{token}")),
        "--jwks",
        &path("k8s-vectors/jwks.rsa-ecdsa.json"),
        "--issuer",
        "https://issuer.example.com",
        "--now",
        "1514764860",
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

#[test]
fn verify_accepts_the_vector_token() {
    let output = irsa_json(&verify_args("token.bound.rs256.jwt", &[]));
    let verdict = stdout_json(&output);
    let claims: Value =
        serde_json::from_slice(&fs::read(data("k8s-vectors/claims.bound.json")).unwrap()).unwrap();
    assert_eq!(
        verdict,
        json!({
            "valid": true,
            "alg": "RS256",
            "kid": "JHJehTTTZlsspKHT-GaJxK7Kd1NQgZJu3fyK6K_QDYU",
            "claims": claims,
            "warnings": [],
        })
    );
}

#[test]
fn verify_refusals_exit_1_with_the_sts_error() {
    let refused = |args: Vec<String>| {
        let output = irsa_json(&args);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let verdict: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(verdict["valid"], false);
        verdict["error"].clone()
    };
    let mut late = verify_args("token.bound.rs256.jwt", &[]);
    late[8] = "1514851501".into();
    let expired = refused(late);
    assert_eq!(expired["code"], "ExpiredTokenException");
    assert_eq!(
        expired["message"],
        "Token expired: current date/time 1514851501 must be before the expiration date/time1514851200"
    );
    let tampered = refused(verify_args("token.bound.rs256.tampered-payload.jwt", &[]));
    assert_eq!(tampered["code"], "InvalidIdentityToken");
    assert_eq!(tampered["message"], Value::Null);
    assert!(
        tampered["reason"]
            .as_str()
            .unwrap()
            .contains("signature does not verify"),
        "{tampered}"
    );
    let audience = refused(verify_args(
        "token.bound.rs256.jwt",
        &["--audience", "other"],
    ));
    assert_eq!(audience["message"], "Incorrect token audience");
    let legacy = refused(verify_args("token.legacy.rs256.jwt", &[]));
    assert_eq!(
        legacy["message"],
        "No OpenIDConnect provider found in your account for kubernetes/serviceaccount"
    );
    assert!(
        legacy["reason"].as_str().unwrap().contains("legacy"),
        "{legacy}"
    );
}

#[test]
fn verify_bad_inputs_exit_2() {
    let mut args = verify_args("token.bound.rs256.jwt", &[]);
    args[2] = "/nonexistent/token".into();
    assert_bad_input(
        &args,
        &["--token /nonexistent/token", "cannot read the file"],
    );
    let mut args = verify_args("token.bound.rs256.jwt", &[]);
    args[4] = path("k8s-vectors/rsa-public.pem");
    assert_bad_input(&args, &["--jwks", "not valid JSON"]);
    let mut args = verify_args("token.bound.rs256.jwt", &[]);
    args[6] = "http://issuer.example.com".into();
    assert_bad_input(&args, &["--issuer http://issuer.example.com", "https"]);
    let mut args = verify_args("token.bound.rs256.jwt", &[]);
    args[8] = "soon".into();
    assert_bad_input(&args, &["--now"]);
}

// ---------------------------------------------------------------- irsa patch

fn service_account_file(dir: &Path, annotations: &str) -> String {
    let file = dir.join("sa.yaml");
    fs::write(
        &file,
        format!(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  annotations:\n{annotations}"
        ),
    )
    .unwrap();
    file.display().to_string()
}

/// Drops what Go emits and k8s-openapi omits (`"resources":{}`, `null` members).
fn normalise(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, v| !(v.is_null() || (k == "resources" && *v == json!({}))));
            map.values_mut().for_each(normalise);
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

#[test]
fn patch_reproduces_the_upstream_fixture_in_compatible_style() {
    let dir = tempfile::tempdir().unwrap();
    let sa = service_account_file(
        dir.path(),
        "    eks.amazonaws.com/role-arn: arn:aws-cn:iam::111122223333:role/s3-reader\n",
    );
    let fixture = path("pod-identity-webhook/rawPodNeedsSTS.pod.yaml");
    let output = irsa_json(&[
        "patch",
        "--pod",
        &fixture,
        "--service-account",
        &sa,
        "--region",
        "cn-north-1",
        "--sts-regional-endpoints",
        "--style",
        "compatible",
    ]);
    let mut actual = stdout_json(&output);
    let text = fs::read_to_string(&fixture).unwrap();
    let expected_line = text
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("testing.eks.amazonaws.com/expectedPatch: ")
        })
        .unwrap();
    let mut expected: Value = serde_json::from_str(expected_line.trim_matches('\'')).unwrap();
    normalise(&mut actual);
    normalise(&mut expected);
    assert_eq!(actual, expected);

    // The default (granular) style touches the container's env and mounts only.
    let output = irsa_json(&["patch", "--pod", &fixture, "--service-account", &sa]);
    let paths: Vec<String> = stdout_json(&output)
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        paths,
        [
            "/spec/volumes",
            "/spec/containers/0/env",
            "/spec/containers/0/volumeMounts"
        ]
    );
}

#[test]
fn patch_without_a_role_is_empty_and_reviews_get_responses() {
    let dir = tempfile::tempdir().unwrap();
    let sa = service_account_file(dir.path(), "    team: storage\n");
    let fixture = path("pod-identity-webhook/rawPodWithoutVolumes.pod.yaml");
    let output = irsa_json(&["patch", "--pod", &fixture, "--service-account", &sa]);
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "[]\n");
    assert_eq!(output.status.code(), Some(0));

    let sa = service_account_file(
        dir.path(),
        "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/s3-reader\n",
    );
    let review = path("pod-identity-webhook/hack/request.json");
    let out = stdout_json(&irsa_json(&[
        "patch",
        "--admission-review",
        &review,
        "--service-account",
        &sa,
    ]));
    assert_eq!(out["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(
        out["response"]["uid"],
        "918ef1dc-928f-4525-99ef-988389f263c3"
    );
    assert_eq!(out["response"]["allowed"], true);
    assert_eq!(out["response"]["patchType"], "JSONPatch");
}

#[test]
fn patch_bad_inputs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let sa = service_account_file(
        dir.path(),
        "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/s3-reader\n",
    );
    let pod = path("pod-identity-webhook/rawPodWithoutVolumes.pod.yaml");
    let broken = dir.path().join("broken.json");
    fs::write(&broken, "{\"request\":").unwrap();
    let broken = broken.display().to_string();
    let not_pod = dir.path().join("deploy.yaml");
    fs::write(&not_pod, "kind: Deployment\nspec: {}\n").unwrap();
    let not_pod = not_pod.display().to_string();
    assert_bad_input(
        &["patch", "--pod", &pod, "--service-account", &pod],
        &[
            "--service-account",
            "the manifest is a Pod, not a ServiceAccount",
        ],
    );
    assert_bad_input(
        &["patch", "--pod", &not_pod, "--service-account", &sa],
        &["--pod", "the manifest is a Deployment, not a Pod"],
    );
    assert_bad_input(
        &[
            "patch",
            "--admission-review",
            &broken,
            "--service-account",
            &sa,
        ],
        &["--admission-review", "not valid JSON"],
    );
    assert_bad_input(
        &[
            "patch",
            "--pod",
            &pod,
            "--service-account",
            &sa,
            "--style",
            "strategic",
        ],
        &["strategic", "granular or compatible"],
    );
    assert_bad_input(
        &[
            "patch",
            "--pod",
            &pod,
            "--service-account",
            &sa,
            "--mount-path",
            "relative/dir",
        ],
        &["token mount path", "absolute path"],
    );
    assert_bad_input(
        &["patch", "--service-account", &sa],
        &["--pod", "--admission-review"],
    );
}

// ---------------------------------------------------------------- irsa credential-process

use crate::helpers::local_sts;

fn credential_process(sts_url: &str, token_file: &Path, home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_irsa"))
        .env_clear()
        .env("HOME", home)
        .env("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/reader")
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", token_file)
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ENDPOINT_URL_STS", sts_url)
        .env("HOSTNAME", "orders-api-7d9f8b6c5-x2kq")
        .args(["credential-process", "--timeout", "5"])
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_process_prints_the_aws_cli_format() {
    #[allow(clippy::disallowed_methods)] // the server's clock: the real one
    let clock = std::sync::Arc::new(std::time::SystemTime::now);
    let sts = local_sts::LocalSts::start(
        local_sts::Reply::CredentialsFor(std::time::Duration::from_secs(3600)),
        clock,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    fs::write(&token, "eyJ.header.sig\n").unwrap();

    let out = stdout_json(&credential_process(&sts.url(), &token, dir.path()));
    assert_eq!(out["Version"], 1);
    assert_eq!(out["AccessKeyId"], "ASIALOCALSTS00000000");
    assert_eq!(out["SecretAccessKey"], local_sts::secret_for(0).as_str());
    assert_eq!(out["SessionToken"], "FwoGZXIvYXdzEBYaDLocalSessionToken0");
    let expiration = out["Expiration"].as_str().unwrap();
    // RFC 3339 in UTC, as the AWS CLI expects: 2026-11-29T18:37:03.824548Z.
    assert!(
        expiration.ends_with('Z') && expiration.as_bytes()[10] == b'T' && expiration.len() >= 20,
        "{expiration}"
    );
    let request = &sts.requests()[0];
    assert_eq!(request.token, "eyJ.header.sig");
    assert_eq!(request.session_name, "irsa-orders-api-7d9f8b6c5-x2kq");

    // `--token-file -` takes the token from standard input.
    let mut child = Command::new(env!("CARGO_BIN_EXE_irsa"))
        .env_clear()
        .env("HOME", dir.path())
        .env("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/reader")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        .args(["credential-process", "--timeout", "5s", "--token-file", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"eyJ.from.stdin\n").unwrap();
    let piped = stdout_json(&child.wait_with_output().unwrap());
    assert_eq!(piped["Version"], 1);
    assert_eq!(sts.requests().last().unwrap().token, "eyJ.from.stdin");

    // STS refuses: exit 1, one line that says what to do.
    sts.set_default(local_sts::Reply::Error(
        403,
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    ));
    let output = credential_process(&sts.url(), &token, dir.path());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("AccessDenied") && stderr.contains("irsa explain"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());

    // Not configured at all.
    let output = Command::new(env!("CARGO_BIN_EXE_irsa"))
        .env_clear()
        .env("HOME", dir.path())
        .arg("credential-process")
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("web identity is not configured"),
        "{stderr}"
    );
}

#[test]
fn token_mints_what_verify_accepts() {
    let key = path("k8s-vectors/ecdsa-p256-private.pem");
    let mint = |extra: &[&str]| {
        let mut args = vec![
            "token",
            "--signing-key",
            &key,
            "--issuer",
            "https://issuer.example.com",
            "--service-account",
            "default:read-s3-hello",
            "--now",
            "2018-01-01T00:00:00Z",
        ];
        args.extend(extra);
        irsa(&args)
    };
    let output = mint(&[
        "--pod",
        "hello-7d9f",
        "--jti",
        "fixed",
        "--expiration-seconds",
        "1h",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let token = String::from_utf8(output.stdout).unwrap();
    assert_eq!(token.lines().count(), 1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    fs::write(&file, token.trim_end()).unwrap();
    let verdict = stdout_json(&irsa_json(&[
        "verify",
        "--token",
        &file.display().to_string(),
        "--jwks",
        &path("k8s-vectors/jwks.rsa-ecdsa.json"),
        "--issuer",
        "https://issuer.example.com",
        "--now",
        "1514764860",
    ]));
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert_eq!(verdict["alg"], "ES256");
    assert_eq!(
        verdict["kid"],
        "SoABiieYuNx4UdqYvZRVeuC6SihxgLrhLy9peHMHpTc"
    );
    assert_eq!(
        verdict["claims"],
        json!({
            "aud": ["sts.amazonaws.com"],
            "exp": 1_514_768_400,
            "iat": 1_514_764_800,
            "iss": "https://issuer.example.com",
            "jti": "fixed",
            "kubernetes.io": {
                "namespace": "default",
                "pod": {"name": "hello-7d9f"},
                "serviceaccount": {"name": "read-s3-hello"}
            },
            "nbf": 1_514_764_800,
            "sub": "system:serviceaccount:default:read-s3-hello"
        })
    );
    // A random jti (a version 4 UUID) unless one is given.
    let minted = stdout_json(&irsa_json(&[
        "token",
        "--signing-key",
        &key,
        "--issuer",
        "https://issuer.example.com",
        "--service-account",
        "default:read-s3-hello",
    ]));
    let jti = minted["claims"]["jti"].as_str().unwrap();
    assert_eq!((jti.len(), &jti[14..15]), (36, "4"), "{jti}");
    // A public key cannot sign; a lifetime under ten minutes is refused.
    assert_bad_input(
        &[
            "token",
            "--signing-key",
            &path("k8s-vectors/rsa-public.pem"),
            "--issuer",
            "https://issuer.example.com",
            "--service-account",
            "default:a",
        ],
        &["--signing-key", "a public key was given"],
    );
    let output = mint(&["--expiration-seconds", "5m"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("below Kubernetes' minimum of 600 s")
    );
}

/// `irsa sts serve`: a bad configuration exits 2 with one line naming the field and the fix.
#[test]
fn sts_serve_names_the_bad_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "account: 111122223333\n",
            vec![
                "account: 111122223333 is a number",
                "quote the 12-digit account ID",
            ],
        ),
        (
            "account: \"111122223333\"\nproviders:\n  - url: https://issuer.example.com\n    jwks: missing.json\n",
            vec!["providers[0].jwks: cannot read", "missing.json"],
        ),
        (
            "account: \"111122223333\"\nfaults: {throttling: 1.5}\n",
            vec!["faults.throttling: give a share between 0.0 and 1.0"],
        ),
        (
            "account: \"111122223333\"\nroles:\n  - name: r\n    trust_policy: {\"Statement\": [], \"Resource\": \"*\"}\n",
            vec!["roles[0].trust_policy: fix the document"],
        ),
        (
            "account: \"111122223333\"\nroles:\n  - name: r\n    trust_policy: {\"Version\": \"2012-10-17\", \"Statement\": []}\n    max_session_duration: 60\n",
            vec!["roles[0].max_session_duration: give 3600 to 43200 seconds"],
        ),
        (
            "account: \"111122223333\"\nacount: 1\n",
            vec!["unknown field `acount`", "line 2"],
        ),
    ];
    for (i, (config, fragments)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("sts-{i}.yaml"));
        fs::write(&file, config).unwrap();
        let file = file.display().to_string();
        assert_bad_input(&["sts", "serve", "--config", &file], fragments);
    }
}

/// A running `irsa sts serve` (started through `sh -c` with `shell_prefix`, e.g. a ulimit):
/// its process, its address and its configuration directory.
struct StsServe {
    child: std::process::Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl StsServe {
    fn start(shell_prefix: &str) -> StsServe {
        use std::io::{BufRead as _, BufReader};
        let dir = tempfile::tempdir().unwrap();
        fs::copy(
            data("k8s-vectors/jwks.rsa-ecdsa.json"),
            dir.path().join("jwks.json"),
        )
        .unwrap();
        let config = dir.path().join("sts.yaml");
        fs::write(
            &config,
            "account: \"111122223333\"\nproviders:\n  - url: https://issuer.example.com\n    jwks: jwks.json\nroles: []\n",
        )
        .unwrap();
        let script = format!(
            "{shell_prefix}exec {} sts serve --config {} --listen 127.0.0.1:0",
            env!("CARGO_BIN_EXE_irsa"),
            config.display()
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let addr = first
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("{first:?}"))
            .to_owned();
        StsServe {
            child,
            addr,
            _dir: dir,
        }
    }

    /// An unsigned GetCallerIdentity on a new connection: the whole response.
    fn unsigned_call(&self) -> String {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let form = "Action=GetCallerIdentity&Version=2011-06-15";
        write!(
            stream,
            "POST / HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{form}",
            self.addr,
            form.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    /// SIGTERM, then the exit status and everything logged.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        use std::io::Read as _;
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (status, stderr)
    }
}

/// `irsa sts serve` prints where it listens as its first line, answers as STS, and stops
/// cleanly on SIGTERM.
#[test]
fn sts_serve_listens_answers_and_stops_on_sigterm() {
    let server = StsServe::start("");
    let response = server.unsigned_call();
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    assert!(
        response.contains("<Code>MissingAuthenticationToken</Code>"),
        "{response}"
    );
    let (status, stderr) = server.stop();
    assert!(status.success(), "{status:?}");
    assert!(
        stderr.contains("MissingAuthenticationToken"),
        "the refusal is logged: {stderr}"
    );
}

/// Out of file descriptors, `irsa sts serve` backs off instead of spinning on `accept` (a
/// warning per try, tries 5 ms apart doubling to 1 s), keeps its connections, and serves again
/// once descriptors are free.
#[cfg(target_os = "linux")]
#[test]
fn sts_serve_backs_off_when_out_of_file_descriptors() {
    let server = StsServe::start("ulimit -n 64 && ");
    // More idle connections than the server has descriptors for, held for a moment.
    let idle: Vec<std::net::TcpStream> = (0..120)
        .filter_map(|_| std::net::TcpStream::connect(&server.addr).ok())
        .collect();
    assert!(idle.len() > 64);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    drop(idle);
    // Descriptors free again: a request is answered (within the 1 s backoff cap).
    let response = server.unsigned_call();
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    let (_, stderr) = server.stop();
    let tries = stderr
        .lines()
        .filter(|l| l.contains("cannot accept a connection"))
        .count();
    // A spinning loop would try thousands of times in these 1.5 s; backing off, about ten.
    assert!((1..=40).contains(&tries), "{tries} tries: {stderr}");
}

/// `irsa … | head` closes stdout early: help and reports end quietly with their own exit code,
/// never a panic about a broken pipe.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    use std::process::Stdio;
    for args in [&["lint", "--help"][..], &["--help"][..]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_irsa"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the first byte is written.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}
