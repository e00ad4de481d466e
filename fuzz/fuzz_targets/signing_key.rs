//! Reading a signing key never panics, and a key that reads signs a token that its own public
//! half verifies.
#![no_main]

use irsa::oidc::JwkSet;
use irsa::token::{BoundToken, SigningKey, Subject, Verifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(key) = SigningKey::from_pem(text) else {
        return;
    };
    let (Ok(issuer), Ok(subject)) = (
        "https://issuer.example.com".parse(),
        Subject::new("default", "fuzz"),
    ) else {
        return;
    };
    let token = key
        .sign(
            &BoundToken::new(issuer, subject, "fuzz"),
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_514_764_800),
        )
        .expect("a key that reads signs");
    let set = JwkSet::from_public_keys(std::slice::from_ref(key.public_key())).expect("one key");
    let verifier = Verifier::builder(&set)
        .issuer("https://issuer.example.com".parse().expect("issuer"))
        .build()
        .expect("verifier");
    verifier
        .verify(
            token.expose_secret(),
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_514_764_860),
        )
        .expect("its own public half verifies it");
});
