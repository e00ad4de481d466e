//! The token, keys and verifiers that `benches/verify.rs` and `benches/verify_interleaved.rs`
//! measure: a realistic ~1 KB projected token signed with the Kubernetes test RSA-2048 key (and
//! the same claims with the P-256 key), the floor's pre-parsed key and decoded signature, and
//! jsonwebtoken set up as its users do.

use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, ParsedPublicKey, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use irsa::oidc::JwkSet;
use irsa::token::Verifier;

const ISSUER: &str = "https://issuer.example.com";
const RSA_KID: &str = "JHJehTTTZlsspKHT-GaJxK7Kd1NQgZJu3fyK6K_QDYU";
const P256_KID: &str = "SoABiieYuNx4UdqYvZRVeuC6SihxgLrhLy9peHMHpTc";
/// Valid until 2100, so that jsonwebtoken, which reads the system clock, accepts it.
const EXP: i64 = 4_102_444_800;
/// The verifiers' clock.
pub(crate) const NOW: i64 = 1_767_225_600;

/// [`NOW`] as the verifier takes it.
pub(crate) fn now() -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(NOW as u64)
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

/// A projected token as the kubelet receives it: the Kubernetes claim shapes, ~1 KB.
fn claims() -> String {
    serde_json::json!({
        "aud": ["sts.amazonaws.com"],
        "exp": EXP,
        "iat": NOW - 60,
        "iss": ISSUER,
        "jti": "d5b3f0a1-7c2e-4b8a-9e61-0f3c2a9b7d41",
        "kubernetes.io": {
            "namespace": "payments-production",
            "node": {"name": "ip-10-0-12-34.eu-west-1.compute.internal", "uid": "0d4b1a7e-6f3c-4a0e-9b8d-2f1c3e5a7b90"},
            "pod": {"name": "payments-api-7d9f8c6b5d-x2k4q", "uid": "6a8e2c1f-3b5d-4e7a-9c0f-1d2e3f4a5b6c"},
            "serviceaccount": {"name": "payments-api", "uid": "3c5e7a9b-1d2f-4a6c-8e0b-2c4d6e8f0a1b"}
        },
        "nbf": NOW - 60,
        "sub": "system:serviceaccount:payments-production:payments-api"
    })
    .to_string()
}

fn sign(header: &str, payload: &str, signature: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let sig = signature(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// The claims jsonwebtoken decodes and validates.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
pub(crate) struct JwtClaims {
    iss: String,
    sub: String,
    aud: Vec<String>,
    exp: i64,
}

/// Everything the measurements need, built and checked once.
pub(crate) struct Fixture {
    pub(crate) rs256: String,
    pub(crate) es256: String,
    pub(crate) verifier: Verifier,
    pub(crate) cached: Verifier,
    /// The floor's input: the RS256 token's signing input (see [`Fixture::signing_input`]),
    /// its decoded signature and the key parsed ahead.
    signing_input_len: usize,
    pub(crate) signature: Vec<u8>,
    pub(crate) parsed: ParsedPublicKey,
    pub(crate) decoding_key: jsonwebtoken::DecodingKey,
    pub(crate) validation: jsonwebtoken::Validation,
}

impl Fixture {
    pub(crate) fn new() -> Fixture {
        let rng = SystemRandom::new();
        let rsa = RsaKeyPair::from_der(&pem_der(include_str!(
            "../../tests/data/k8s-vectors/rsa-private.pem"
        )))
        .unwrap();
        let ec = EcdsaKeyPair::from_private_key_der(
            &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            &pem_der(include_str!(
                "../../tests/data/k8s-vectors/ecdsa-p256-private.pem"
            )),
        )
        .unwrap();
        let payload = claims();
        let rs256 = sign(
            &format!(r#"{{"alg":"RS256","kid":"{RSA_KID}"}}"#),
            &payload,
            |input| {
                let mut out = vec![0; rsa.public_modulus_len()];
                rsa.sign(&sig::RSA_PKCS1_SHA256, &rng, input, &mut out)
                    .unwrap();
                out
            },
        );
        let es256 = sign(
            &format!(r#"{{"alg":"ES256","kid":"{P256_KID}"}}"#),
            &payload,
            |input| ec.sign(&rng, input).unwrap().as_ref().to_vec(),
        );
        assert!(
            (900..1200).contains(&rs256.len()),
            "token is {} bytes",
            rs256.len()
        );

        let jwks_json = include_str!("../../tests/data/k8s-vectors/jwks.rsa-ecdsa.json");
        let keys = JwkSet::parse(jwks_json.as_bytes()).unwrap();
        let verifier = Verifier::builder(&keys)
            .issuer(ISSUER.parse().unwrap())
            .build()
            .unwrap();
        let cached = Verifier::builder(&keys)
            .issuer(ISSUER.parse().unwrap())
            .cache(1024, Duration::from_secs(300))
            .build()
            .unwrap();
        verifier.verify(&rs256, now()).unwrap();
        verifier.verify(&es256, now()).unwrap();
        cached.verify(&rs256, now()).unwrap();

        // The floor: the same signing input and signature, key parsed and signature decoded ahead.
        let (signing_input, signature_b64) = rs256.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature_b64).unwrap();
        let spki = keys
            .find(RSA_KID)
            .unwrap()
            .public_key()
            .unwrap()
            .spki_der()
            .to_vec();
        let parsed = ParsedPublicKey::new(&sig::RSA_PKCS1_2048_8192_SHA256, &spki).unwrap();
        parsed
            .verify_sig(signing_input.as_bytes(), &signature)
            .unwrap();

        // The common alternative, set up once as its users do.
        let jwk: serde_json::Value = serde_json::from_str(jwks_json).unwrap();
        let rsa_jwk = &jwk["keys"][0];
        let decoding_key = jsonwebtoken::DecodingKey::from_rsa_components(
            rsa_jwk["n"].as_str().unwrap(),
            rsa_jwk["e"].as_str().unwrap(),
        )
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&["sts.amazonaws.com"]);
        validation.leeway = 300;
        jsonwebtoken::decode::<JwtClaims>(&rs256, &decoding_key, &validation).unwrap();
        let signing_input_len = signing_input.len();
        Fixture {
            rs256,
            es256,
            verifier,
            cached,
            signing_input_len,
            signature,
            parsed,
            decoding_key,
            validation,
        }
    }

    /// The RS256 token's signing input: the very bytes the verifier hashes.
    pub(crate) fn signing_input(&self) -> &[u8] {
        &self.rs256.as_bytes()[..self.signing_input_len]
    }
}
