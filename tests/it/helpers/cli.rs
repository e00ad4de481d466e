//! Running the `irsa` binary from the CLI tests, and naming their data files on its command
//! line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `irsa` with `args`, as a user would.
pub(crate) fn irsa<S: AsRef<str>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_irsa"))
        .args(args.iter().map(AsRef::as_ref))
        .output()
        .expect("run irsa")
}

/// Runs `irsa -o json` with `args`: what machines read.
#[allow(dead_code)] // Not every CLI test binary reads JSON this way.
pub(crate) fn irsa_json<S: AsRef<str>>(args: &[S]) -> Output {
    let mut all = vec!["-o", "json"];
    all.extend(args.iter().map(AsRef::as_ref));
    irsa(&all)
}

/// A file under `tests/data`.
pub(crate) fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

/// A file under `tests/data`, as a command-line argument.
pub(crate) fn path(p: &str) -> String {
    data(p).display().to_string()
}

/// Asserts exit code 2, nothing on stdout, and exactly one stderr line containing every
/// fragment: how the binary answers unusable input.
#[allow(dead_code)] // Not every CLI test binary refuses input.
pub(crate) fn assert_bad_input<S: AsRef<str> + std::fmt::Debug>(args: &[S], fragments: &[&str]) {
    assert_one_line_error(args, 2, fragments);
}

/// Asserts the exit code, nothing on stdout, and exactly one stderr line containing every
/// fragment.
pub(crate) fn assert_one_line_error<S: AsRef<str> + std::fmt::Debug>(
    args: &[S],
    code: i32,
    fragments: &[&str],
) {
    let output = irsa(args);
    let stderr = String::from_utf8(output.stderr).expect("stderr is UTF-8");
    assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(output.stdout.is_empty(), "{args:?}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    for fragment in fragments {
        assert!(
            stderr.contains(fragment),
            "{args:?}: {stderr:?} lacks {fragment:?}"
        );
    }
}

/// `irsa verify` of the vector token `token` against the vector key set and issuer at `now`,
/// with `extra` arguments.
#[allow(dead_code)] // Used by the rendering and JSON tests only.
pub(crate) fn verify_args(token: &str, now: &str, extra: &[&str]) -> Vec<String> {
    let token = path(&format!("k8s-vectors/{token}"));
    let jwks = path("k8s-vectors/jwks.rsa-ecdsa.json");
    let base = [
        "verify",
        "--token",
        &token,
        "--jwks",
        &jwks,
        "--issuer",
        "https://issuer.example.com",
        "--now",
        now,
    ];
    [&base[..], extra]
        .concat()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// `irsa discovery` for the S3 issuer `acme-irsa` (eu-west-1, prefix `prod`) of the vector
/// keys and discovery document, in account 111122223333.
#[allow(dead_code)] // Used by the rendering and JSON tests only.
pub(crate) fn discovery_s3_args() -> Vec<String> {
    [
        "discovery",
        "--s3-bucket",
        "acme-irsa",
        "--s3-region",
        "eu-west-1",
        "--s3-prefix",
        "prod",
        "--jwks",
        &path("k8s-vectors/jwks.rsa-ecdsa.json"),
        "--openid-configuration",
        &path("k8s-vectors/openid-configuration.issuer-example.json"),
        "--account",
        "111122223333",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// `kubernetes-validate --strict` for the Kubernetes version k8s-openapi pins, over `files`
/// (the project's virtualenv has it): asserts it passed and returns its report.
pub(crate) fn kubernetes_validate(files: &[PathBuf]) -> String {
    let validate = std::env::var_os("IRSA_KUBERNETES_VALIDATE").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/kubernetes-validate"),
        PathBuf::from,
    );
    assert!(
        validate.exists(),
        "{} not found: run `bash scripts/check.sh`, or `.venv/bin/pip install kubernetes-validate==1.37.0`",
        validate.display()
    );
    let output = Command::new(&validate)
        .args(["--strict", "-k", pinned_kubernetes()])
        .args(files)
        .output()
        .expect("run kubernetes-validate");
    let report = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{report}");
    report
}

/// The Kubernetes version k8s-openapi is built for here (its `latest`, which the cli pins).
fn pinned_kubernetes() -> &'static str {
    k8s_openapi::k8s_if_1_37! { return "1.37.0"; }
    #[allow(unreachable_code)]
    {
        panic!("k8s-openapi pins a Kubernetes version this test does not name yet: add it")
    }
}
