//! Key import (DER and PEM) never panics, and an imported key re-imports from its own
//! SubjectPublicKeyInfo and PEM unchanged.
#![no_main]

use irsa::oidc::PublicKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut keys = Vec::new();
    if let Ok(key) = PublicKey::from_der(data) {
        keys.push(key);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        keys.extend(PublicKey::from_pem(text).unwrap_or_default());
    }
    for key in keys {
        assert_eq!(PublicKey::from_spki_der(key.spki_der()).as_ref(), Ok(&key));
        assert_eq!(PublicKey::from_pem(&key.to_pem()), Ok(vec![key.clone()]));
    }
});
