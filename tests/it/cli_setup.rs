//! `irsa setup`, `irsa apiserver` and `irsa service-accounts` as a user runs them: real files,
//! a real kubeadm manifest, moto for AWS.

use crate::helpers::cli;
use crate::helpers::moto;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use cli::{assert_bad_input, data, irsa};
use serde_json::Value;

/// A setup file and its two keys in `dir`.
fn setup_file(dir: &Path, extra: &str) -> String {
    fs::copy(data("keys/ecdsa-p384-public.pem"), dir.join("sa.pub")).unwrap();
    fs::copy(data("keys/rsa-public.pkcs1.pem"), dir.join("sa-next.pub")).unwrap();
    let file = dir.join("setup.yaml");
    fs::write(
        &file,
        format!(
            "cluster:\n  issuer: {{s3: {{bucket: my-irsa-bucket, region: eu-west-1, prefix: prod}}}}\n  keys: [sa.pub, sa-next.pub]\n{extra}roles:\n  - name: read-s3\n    service_accounts: [default:read-s3-hello]\n"
        ),
    )
    .unwrap();
    file.display().to_string()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)))
}

#[test]
fn apiserver_shows_the_diff_then_writes_atomically_with_a_backup_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let config = setup_file(dir.path(), "");
    let manifests = dir.path().join("manifests");
    fs::create_dir(&manifests).unwrap();
    let manifest = manifests.join("kube-apiserver.yaml");
    // The node's key directory, with the key it signs with (the setup file's sa.pub is its
    // public half); the next key is not there yet.
    let pki = dir.path().join("pki");
    fs::create_dir(&pki).unwrap();
    fs::copy(data("keys/ecdsa-p384-public.pem"), pki.join("sa.pub")).unwrap();
    fs::copy(
        data("keys/ecdsa-p384-private.with-params.pem"),
        pki.join("sa.key"),
    )
    .unwrap();
    let p = pki.display().to_string();
    let original = fs::read_to_string(data("kubeadm/kube-apiserver.v1.31.yaml"))
        .unwrap()
        .replace("/etc/kubernetes/pki", &p);
    fs::write(&manifest, &original).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&manifest, fs::Permissions::from_mode(0o600)).unwrap();
    }
    let m = manifest.display().to_string();

    let shown = irsa(&[
        "apiserver",
        "--manifest",
        &m,
        "--config",
        &config,
        "--pki-dir",
        &p,
        "--color",
        "never",
    ]);
    assert_eq!(shown.status.code(), Some(0));
    let human = String::from_utf8(shown.stdout).unwrap();
    let added: Vec<&str> = human.lines().filter(|l| l.starts_with("  +")).collect();
    assert_eq!(
        added,
        [
            "  +--api-audiences=https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod,https://kubernetes.default.svc.cluster.local",
            "  +--service-account-issuer=https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod",
            "  +--service-account-jwks-uri=https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod/openid/v1/jwks",
            &format!("  +--service-account-key-file={p}/sa-next.pub"),
        ]
    );
    // The next key is named but not on this node: the diff says so, and --write refuses, since
    // the apiserver would not start.
    let missing = format!(
        "✗ {p}/sa-next.pub is not on this node: copy the setup file's key there on every control-plane node first (the apiserver would not start): --write would refuse"
    );
    assert!(human.lines().any(|l| l == missing), "{human}");
    let write = [
        "apiserver",
        "--manifest",
        &m,
        "--config",
        &config,
        "--pki-dir",
        &p,
        "--write",
    ];
    let refused = irsa(&write);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("sa-next.pub is not on this node"),
        "{refused:?}"
    );
    assert_eq!(
        fs::read_to_string(&manifest).unwrap(),
        original,
        "nothing written without --write, nor when it is refused"
    );
    // The wrong key under the next key's name (here the current one, published too): refused.
    fs::copy(dir.path().join("sa.pub"), pki.join("sa-next.pub")).unwrap();
    let refused = irsa(&write);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains(&format!(
            "{p}/sa-next.pub is not the key the setup file publishes under that name (it holds kid "
        )),
        "{refused:?}"
    );
    fs::copy(dir.path().join("sa-next.pub"), pki.join("sa-next.pub")).unwrap();

    let written = irsa(&[&["-o", "json"], &write[..]].concat());
    let report = json(&written);
    assert_eq!(
        (report["changed"].as_bool(), report["written"].as_bool()),
        (Some(true), Some(true))
    );
    let backup = manifests.join(".kube-apiserver.yaml.irsa-backup");
    assert_eq!(fs::read_to_string(&backup).unwrap(), original);
    // Only the manifest and its dot-file backup (ignored by the kubelet): no temporary left.
    let mut names: Vec<String> = fs::read_dir(&manifests)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [".kube-apiserver.yaml.irsa-backup", "kube-apiserver.yaml"]
    );
    let after = fs::read_to_string(&manifest).unwrap();
    assert_eq!(after.lines().count(), original.lines().count() + 4);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            fs::metadata(&manifest).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    let again = json(&irsa(&[&["-o", "json"], &write[..]].concat()));
    assert_eq!(
        (again["changed"].as_bool(), again["written"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(fs::read_to_string(&manifest).unwrap(), after);
    assert_eq!(fs::read_to_string(&backup).unwrap(), original);

    // A signing key the setup file does not publish: STS would refuse every token.
    fs::copy(
        data("keys/ecdsa-p256-private.pkcs8.pem"),
        pki.join("sa.key"),
    )
    .unwrap();
    let refused = irsa(&write);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!("the apiserver signs with {p}/sa.key (kid "))
            && stderr
                .contains("which the setup file does not publish: STS would refuse every token"),
        "{stderr}"
    );

    fs::write(
        &manifest,
        "kind: Pod\nspec: {containers: [{name: etcd, command: [etcd]}]}\n",
    )
    .unwrap();
    assert_bad_input(
        &["apiserver", "--manifest", &m, "--config", &config],
        &[
            "--manifest",
            "no container's command starts with kube-apiserver",
        ],
    );
}

#[test]
fn service_accounts_are_written_one_file_each() {
    let dir = tempfile::tempdir().unwrap();
    let config = setup_file(dir.path(), "");
    let out = dir.path().join("sa");
    let run = irsa(&[
        "service-accounts",
        "--config",
        &config,
        "--account",
        "111122223333",
        "--out",
        &out.display().to_string(),
    ]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let yaml = fs::read_to_string(out.join("default.read-s3-hello.yaml")).unwrap();
    assert!(
        yaml.contains("eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/read-s3\n"),
        "{yaml}"
    );
    // A role for whole namespaces: no file, and a note naming what to annotate.
    fs::write(
        &config,
        fs::read_to_string(&config).unwrap() + "  - name: payments\n    namespaces: [payments]\n",
    )
    .unwrap();
    let run = irsa(&[
        "service-accounts",
        "--config",
        &config,
        "--account",
        "111122223333",
    ]);
    assert_eq!(run.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(run.stderr).unwrap(),
        "irsa: note: role payments is for every ServiceAccount in namespace(s) payments: annotate those you want with eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/payments (no file is written for them)\n"
    );
    assert_bad_input(
        &["service-accounts", "--config", &config],
        &["--account", "set account in it or pass --account ID"],
    );
}

#[test]
fn a_bad_setup_file_is_one_line_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let config = setup_file(dir.path(), "  audiences: []\n");
    assert_bad_input(
        &["setup", "--config", &config],
        &["cluster.audiences: list 1 to 100 audiences"],
    );
    fs::write(
        dir.path().join("setup.yaml"),
        "cluster: {issuer: {url: https://x.example}, keys: [sa.pub]}\nrole: []\n",
    )
    .unwrap();
    assert_bad_input(
        &["setup", "--config", &config],
        &["role: unknown field `role`"],
    );
}

fn setup(moto: &moto::Moto, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_irsa"));
    command
        .args(args)
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    command.output().unwrap()
}

#[test]
fn setup_plans_applies_and_then_has_nothing_to_do_against_moto() {
    let moto = moto::moto();
    let dir = tempfile::tempdir().unwrap();
    let config = setup_file(dir.path(), "");
    let plan = json(&setup(&moto, &["-o", "json", "setup", "--config", &config]));
    assert_eq!(plan["account"], "123456789012");
    assert_eq!(plan["applied"], false);
    assert_eq!(plan["rotation"]["stage"], "first_publication");
    let actions: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "create_bucket",
            "put_ownership_controls",
            "put_public_access_block",
            "put_bucket_policy",
            "put_object",
            "put_object",
            "create_oidc_provider",
            "create_role",
        ]
    );

    let applied = setup(
        &moto,
        &["-o", "json", "setup", "--config", &config, "--apply"],
    );
    let report = json(&applied);
    assert_eq!(report["verification"]["remaining"], Value::Array(vec![]));
    // moto routes the unsigned discovery-document GET to its Cognito (see tests/setup.rs), so
    // the anonymous check fails there, and the apply exits 1 as it would on a real failure.
    assert_eq!(applied.status.code(), Some(1));
    assert!(
        report["verification"]["documents"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("404")
    );
    assert_eq!(
        report["verification"]["documents"][1]["problem"],
        Value::Null
    );

    let again = setup(&moto, &["setup", "--config", &config, "--color", "never"]);
    assert_eq!(again.status.code(), Some(0));
    let human = String::from_utf8(again.stdout).unwrap();
    assert!(
        human.contains("rotation stage 2 (switch the signing key)"),
        "{human}"
    );
    assert!(
        human.contains("AWS matches the file: nothing to change"),
        "{human}"
    );

    // Dropping a published key is refused, with the reason and the way out.
    fs::write(
        &config,
        fs::read_to_string(&config)
            .unwrap()
            .replace("[sa.pub, sa-next.pub]", "[sa-next.pub]"),
    )
    .unwrap();
    let refused = setup(&moto, &["setup", "--config", &config]);
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the file drops published key(s)")
            && stderr.contains("rerun with --allow-key-removal"),
        "{stderr}"
    );
    let allowed = json(&setup(
        &moto,
        &[
            "-o",
            "json",
            "setup",
            "--config",
            &config,
            "--allow-key-removal",
        ],
    ));
    assert_eq!(allowed["rotation"]["stage"], "retiring_old");

    // An apply that fails half-way says what it made before the failure.
    fs::write(
        &config,
        fs::read_to_string(&config).unwrap()
            + "  - name: broken\n    service_accounts: [default:broken]\n    managed_policies: [arn:aws:iam::123456789012:policy/does-not-exist]\n",
    )
    .unwrap();
    let failed = setup(
        &moto,
        &[
            "setup",
            "--config",
            &config,
            "--apply",
            "--allow-key-removal",
        ],
    );
    let stderr = String::from_utf8(failed.stderr).unwrap();
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("iam:AttachRolePolicy on broken")
            && stderr.contains("changes were made before it (")
            && stderr.contains("create role broken")
            && stderr.contains("the next run plans from there"),
        "{stderr}"
    );
}

/// `irsa doctor` offline parts: a token from a file judged against the setup file, with no
/// reachable issuer (the name does not resolve): one line per check, the failure explained,
/// the token never printed, exit 1; a bad flag exits 2.
#[test]
fn doctor_names_the_first_failure_and_never_prints_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let config = setup_file(dir.path(), "");
    let key = dir.path().join("sa.key");
    fs::copy(data("keys/ecdsa-p256-private.pkcs8.pem"), &key).unwrap();
    let minted = irsa(&[
        "token",
        "--signing-key",
        &key.display().to_string(),
        "--issuer",
        "https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod",
        "--service-account",
        "default:read-s3-hello",
        "--now",
        "2026-12-03T00:00:00Z",
    ]);
    assert_eq!(
        minted.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&minted.stderr)
    );
    let token = String::from_utf8(minted.stdout).unwrap();
    let token_file = dir.path().join("token");
    fs::write(&token_file, token.trim()).unwrap();
    let args = [
        "doctor",
        "--config",
        &config,
        "--token",
        &token_file.display().to_string(),
        "--now",
        "2026-12-03T00:10:00Z",
        "--resolve",
        "my-irsa-bucket.s3.eu-west-1.amazonaws.com=127.0.0.1:9",
        "--color",
        "never",
    ];
    let out = irsa(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let human = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = human.lines().collect();
    assert!(
        lines[1]
            .starts_with("✓ token        a token for system:serviceaccount:default:read-s3-hello"),
        "{human}"
    );
    assert_eq!(
        lines[2],
        "✗ discovery    https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod/.well-known/openid-configuration cannot be fetched: nothing accepts connections on its port",
        "{human}"
    );
    assert!(
        human.contains("fix: serve the issuer over HTTPS on port 443, reachable from the internet"),
        "{human}"
    );
    assert!(
        human.contains("prediction: STS answers InvalidIdentityToken"),
        "{human}"
    );
    let signature = token.trim().rsplit('.').next().unwrap();
    assert!(!human.contains(signature));
    let mut json_args = vec!["-o", "json"];
    json_args.extend(args);
    let report = json(&irsa(&json_args));
    assert_eq!(report["first_failure"], "discovery");
    assert_eq!(report["passed"], false);
    assert!(!report.to_string().contains(signature));
    assert_bad_input(
        &["doctor", "--resolve", "nohost"],
        &["--resolve nohost", "write HOST=IP:PORT"],
    );
}

/// The doctor examines the role of the token's ServiceAccount; when the setup file has none for
/// it, the role check fails and says so (it used to examine the file's only role, or skip IAM
/// and pass).
#[test]
fn doctor_chooses_the_role_by_the_token_and_fails_without_one() {
    let dir = tempfile::tempdir().unwrap();
    // Credentials that reach nothing: IAM calls fail at once, whatever the machine has.
    let doctor = |args: &[&str]| -> Output {
        Command::new(env!("CARGO_BIN_EXE_irsa"))
            .args(["-o", "json", "doctor"])
            .args(args)
            .args([
                "--resolve",
                "my-irsa-bucket.s3.eu-west-1.amazonaws.com=127.0.0.1:9",
            ])
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .output()
            .unwrap()
    };
    let config = setup_file(dir.path(), "account: \"111122223333\"\n");
    let token = dir.path().join("token");
    let mint = |issuer: &str, service_account: &str| {
        let minted = irsa(&[
            "token",
            "--signing-key",
            &data("keys/rsa-private.pkcs8.pem").display().to_string(),
            "--issuer",
            issuer,
            "--service-account",
            service_account,
            "--out",
            &token.display().to_string(),
        ]);
        assert_eq!(minted.status.code(), Some(0), "{minted:?}");
    };
    let check = |report: &Value, name: &str| -> Value {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} check: {report:#}"))
            .clone()
    };
    mint(
        "https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod",
        "shop:cart",
    );
    let run = doctor(&[
        "--config",
        &config,
        "--token",
        &token.display().to_string(),
        // Nothing listens there: the issuer check fails at once, offline.
    ]);
    assert_eq!(run.status.code(), Some(1));
    let report = json(&run);
    let role = check(&report, "role");
    assert_eq!(
        (role["verdict"].as_str(), role["summary"].as_str()),
        (
            Some("fail"),
            Some(format!("no role lists ServiceAccount shop:cart in {config}").as_str())
        ),
        "{report:#}"
    );

    // With two roles, the token's ServiceAccount chooses: the role check no longer fails on
    // the role (IAM is not reachable here, so it cannot pass either).
    fs::write(
        &config,
        fs::read_to_string(&config).unwrap()
            + "  - name: cart\n    service_accounts: [shop:cart]\n",
    )
    .unwrap();
    let chosen = json(&doctor(&[
        "--config",
        &config,
        "--token",
        &token.display().to_string(),
    ]));
    assert!(
        chosen["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| !c["summary"].as_str().unwrap().starts_with("no role lists")),
        "{chosen:#}"
    );
    // Without credentials, the IAM check says why in one line of causes, not a Debug dump.
    let provider = check(&chosen, "provider");
    assert!(
        provider["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e.as_str().unwrap().contains("DispatchFailure(")),
        "{chosen:#}"
    );
    // Without an account in the file there is no role to place: the IAM checks are skipped.
    let no_account = dir.path().join("no-account.yaml");
    fs::write(
        &no_account,
        fs::read_to_string(&config)
            .unwrap()
            .replace("account: \"111122223333\"\n", ""),
    )
    .unwrap();
    let skipped = json(&doctor(&[
        "--config",
        &no_account.display().to_string(),
        "--token",
        &token.display().to_string(),
    ]));
    let role = check(&skipped, "role");
    assert_eq!(role["verdict"], "skip", "{skipped:#}");

    // A token whose iss has a trailing slash the setup's issuer lacks: named as such.
    mint(
        "https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod/",
        "default:read-s3-hello",
    );
    let report = json(&doctor(&[
        "--config",
        &config,
        "--token",
        &token.display().to_string(),
    ]));
    assert_eq!(report["first_failure"], "token");
    assert!(
        report["checks"][0]["summary"]
            .as_str()
            .unwrap()
            .ends_with("(they differ by a trailing slash, which STS compares byte for byte)"),
        "{report:#}"
    );
}
