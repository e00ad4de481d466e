//! `OpenIdConfiguration::parse` never panics, and round-trips what it accepts.
#![no_main]

use irsa::oidc::OpenIdConfiguration;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = OpenIdConfiguration::parse(data) else {
        return;
    };
    let json = doc.to_json();
    let again =
        OpenIdConfiguration::parse(json.as_bytes()).expect("serialised document must parse");
    assert!(again == doc, "round trip changed the document");
    assert_eq!(again.to_json(), json);
    let moved = doc.rehosted(doc.issuer());
    assert_eq!(moved.jwks_uri(), doc.issuer().jwks_uri());
});
