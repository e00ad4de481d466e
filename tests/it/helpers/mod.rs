//! The one helpers module of the integration tests: test data and a signer for crafting tokens
//! with the Kubernetes test keys here; servers and runners in the submodules.

#[cfg(feature = "setup")]
pub(crate) mod aws_proxy;
#[cfg(feature = "cli")]
pub(crate) mod cli;
#[cfg(all(feature = "cli", unix))]
pub(crate) mod fake_apiserver;
#[cfg(feature = "provider")]
pub(crate) mod local_sts;
#[cfg(any(feature = "provider", feature = "setup", feature = "doctor"))]
pub(crate) mod moto;
#[cfg(feature = "sts")]
pub(crate) mod sts_fixture;

use std::path::{Path, PathBuf};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

pub(crate) fn data_path(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

pub(crate) fn data(path: &str) -> Vec<u8> {
    let full = data_path(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

pub(crate) fn text(path: &str) -> String {
    String::from_utf8(data(path)).expect("utf-8")
}

/// The DER inside the first PEM block of a file.
pub(crate) fn pem_der(path: &str) -> Vec<u8> {
    let body: String = text(path)
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    STANDARD.decode(body).unwrap()
}

pub(crate) const RSA_KID: &str = "JHJehTTTZlsspKHT-GaJxK7Kd1NQgZJu3fyK6K_QDYU";
pub(crate) const P256_KID: &str = "SoABiieYuNx4UdqYvZRVeuC6SihxgLrhLy9peHMHpTc";
pub(crate) const ISSUER: &str = "https://issuer.example.com";
/// `iat` of every vector token, plus one minute.
pub(crate) const NOW: i64 = 1_514_764_860;

/// `seconds` since the Unix epoch (negative before it), as the crate's APIs take a time; the
/// extremes of `i64` become the extremes the platform's `SystemTime` holds.
pub(crate) fn at(seconds: i64) -> std::time::SystemTime {
    use std::time::{Duration, UNIX_EPOCH};
    let span = Duration::from_secs(seconds.unsigned_abs());
    let (moved, nearer) = if seconds >= 0 {
        (UNIX_EPOCH.checked_add(span), seconds - 1)
    } else {
        (UNIX_EPOCH.checked_sub(span), seconds + 1)
    };
    moved.unwrap_or_else(|| at(nearer))
}

/// Signs with one of the Kubernetes test keys.
pub(crate) enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl Signer {
    pub(crate) fn rsa() -> Signer {
        Signer::Rsa(RsaKeyPair::from_der(&pem_der("k8s-vectors/rsa-private.pem")).unwrap())
    }

    pub(crate) fn p256() -> Signer {
        let der = pem_der("k8s-vectors/ecdsa-p256-private.pem");
        Signer::Ec(
            EcdsaKeyPair::from_private_key_der(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                .unwrap(),
        )
    }

    /// `base64url(header).base64url(payload).base64url(signature)`; RSA keys sign with the
    /// hash `alg` names (RS384, RS512) or SHA-256.
    pub(crate) fn sign(&self, header: &str, payload: &str) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = self.signature(header, input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    pub(crate) fn signature(&self, header: &str, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Signer::Rsa(key) => {
                let padding: &'static dyn sig::RsaEncoding = if header.contains("RS384") {
                    &sig::RSA_PKCS1_SHA384
                } else if header.contains("RS512") {
                    &sig::RSA_PKCS1_SHA512
                } else {
                    &sig::RSA_PKCS1_SHA256
                };
                let mut out = vec![0; key.public_modulus_len()];
                key.sign(padding, &rng, input, &mut out).unwrap();
                out
            }
            Signer::Ec(key) => key.sign(&rng, input).unwrap().as_ref().to_vec(),
        }
    }
}

/// Claims like the vectors', with `exp` one day after `iat`.
pub(crate) fn claims(overrides: &[(&str, serde_json::Value)]) -> String {
    let mut claims = serde_json::json!({
        "aud": ["sts.amazonaws.com"],
        "exp": 1_514_851_200,
        "iat": 1_514_764_800,
        "iss": ISSUER,
        "kubernetes.io": {"namespace": "myns", "serviceaccount": {"name": "mysvcacct", "uid": "u"}},
        "nbf": 1_514_764_800,
        "sub": "system:serviceaccount:myns:mysvcacct",
    });
    for (name, value) in overrides {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(*name);
        } else {
            claims[*name] = value.clone();
        }
    }
    claims.to_string()
}

/// A log sink for tests: everything written, kept in memory for the leak checks.
#[derive(Clone, Default)]
pub(crate) struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// The sink that every thread's logs reach, at every level, from its first use on in this
    /// test binary. Tests that share it check for secrets in everything any of them logged.
    pub(crate) fn global() -> Captured {
        static GLOBAL: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
        GLOBAL
            .get_or_init(|| {
                let captured = Captured::default();
                let writer = captured.clone();
                let subscriber = tracing_subscriber::fmt()
                    .with_max_level(tracing::Level::TRACE)
                    .with_writer(move || writer.clone())
                    .with_ansi(false)
                    .finish();
                tracing::subscriber::set_global_default(subscriber)
                    .expect("no other global log sink in the test binary");
                captured
            })
            .clone()
    }

    /// Everything logged so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The kubelet's atomic writer: `token -> ..data/token`, `..data -> ..<timestamp>`, swapped by
/// renaming a new `..data` symlink over the old one.
#[cfg(unix)]
#[allow(dead_code)] // Only the provider tests rotate tokens.
pub(crate) fn kubelet_write(dir: &Path, version: &str, token: &str) {
    let target = dir.join(format!("..{version}"));
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("token"), token).unwrap();
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(format!("..{version}"), &tmp).unwrap();
    std::fs::rename(&tmp, dir.join("..data")).unwrap();
    if std::fs::symlink_metadata(dir.join("token")).is_err() {
        std::os::unix::fs::symlink("..data/token", dir.join("token")).unwrap();
    }
}

/// A test CA and a TLS server configuration for `host` (a name or an IP address), its
/// certificate expired or not: the CA's PEM for clients to trust, and the configuration.
#[cfg(any(feature = "doctor", all(feature = "cli", unix)))]
pub(crate) fn test_tls(
    host: &str,
    expired: bool,
) -> (Vec<u8>, std::sync::Arc<rustls::ServerConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec![host.to_owned()]).unwrap();
    if expired {
        leaf.not_before = rcgen::date_time_ymd(2020, 1, 1);
        leaf.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let cert = leaf.signed_by(&key, &ca).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        )
        .unwrap();
    (ca.pem().into_bytes(), std::sync::Arc::new(config))
}

/// The project's virtualenv (made by scripts/check.sh), beside the moto server.
pub(crate) fn venv_bin(name: &str) -> std::path::PathBuf {
    let moto = std::env::var_os("IRSA_MOTO_SERVER").map_or_else(
        || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server"),
        std::path::PathBuf::from,
    );
    let path = moto.with_file_name(name);
    assert!(
        path.exists(),
        "{} not found: run `bash scripts/check.sh`, which makes the virtualenv with boto3 and awscli",
        path.display()
    );
    path
}
