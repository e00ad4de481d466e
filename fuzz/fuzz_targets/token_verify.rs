//! The verifier never panics, and never accepts anything but the genuine vector tokens: every
//! mutation of a signed token is refused.
#![no_main]

use std::sync::OnceLock;

use irsa::oidc::JwkSet;
use irsa::token::Verifier;
use libfuzzer_sys::fuzz_target;

const GENUINE: [&str; 3] = [
    include_str!("../../tests/data/k8s-vectors/token.bound.rs256.jwt"),
    include_str!("../../tests/data/k8s-vectors/token.bound.es256.jwt"),
    include_str!("../../tests/data/k8s-vectors/token.kube-audience-extended.rs256.jwt"),
];

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let keys = JwkSet::parse(include_bytes!(
            "../../tests/data/k8s-vectors/jwks.rsa-ecdsa.json"
        ))
        .expect("vector key set");
        Verifier::builder(&keys)
            .issuer("https://issuer.example.com".parse().expect("issuer"))
            .audience("sts.amazonaws.com")
            .audience("https://issuer.example.com")
            .build()
            .expect("verifier")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(verified) = verifier().verify(
        token,
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_514_764_860),
    ) {
        assert!(
            GENUINE.contains(&token),
            "accepted a token that was never signed: {token:?}"
        );
        let _ = serde_json::to_string(verified.claims()).expect("claims serialise");
    }
});
