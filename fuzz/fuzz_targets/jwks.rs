//! `JwkSet::parse` never panics, and whatever it accepts re-serialises to a document that parses
//! to the same set and serialises to the same bytes.
#![no_main]

use irsa::oidc::JwkSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(set) = JwkSet::parse(data) else { return };
    let json = set.to_json();
    let again = JwkSet::parse(json.as_bytes()).expect("serialised key set must parse");
    assert!(again == set, "round trip changed the key set");
    assert_eq!(again.to_json(), json);
    let _ = set.algorithms();
    let _ = set
        .merge(&again)
        .expect("merging a set with itself adds nothing");
});
