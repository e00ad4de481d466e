//! `UnverifiedToken::inspect` never panics on any string, and agrees with the verifier on
//! structure: whatever the verifier calls malformed, inspection refuses too.
#![no_main]

use std::sync::OnceLock;

use irsa::token::{Rejection, UnverifiedToken, Verifier};
use libfuzzer_sys::fuzz_target;

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let keys = irsa::oidc::JwkSet::parse(include_bytes!(
            "../../tests/data/k8s-vectors/jwks.rsa-ecdsa.json"
        ))
        .expect("vector key set");
        Verifier::builder(&keys)
            .issuer("https://issuer.example.com".parse().expect("issuer"))
            .build()
            .expect("verifier")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let inspected = UnverifiedToken::inspect(token);
    if let Err(Rejection::Malformed(reason)) = verifier().verify(
        token,
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_514_764_860),
    ) {
        assert!(inspected.is_err(), "verifier: {reason}; inspect accepted");
    }
});
