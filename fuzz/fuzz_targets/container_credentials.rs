//! The container-credentials file reader never panics, and what it accepts serde_json reads as
//! JSON too (or is blank), with every accepted identity found again.
#![no_main]

use irsa::webhook::ContainerCredentialsIdentities;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(identities) = ContainerCredentialsIdentities::from_slice(data) else {
        return;
    };
    if data.iter().all(u8::is_ascii_whitespace) {
        assert!(identities.is_empty());
        return;
    }
    let value: serde_json::Value = serde_json::from_slice(data).expect("accepted input is JSON");
    let listed = value["identities"].as_array().map_or(0, Vec::len);
    assert!(identities.len() <= listed);
    for identity in value["identities"].as_array().into_iter().flatten() {
        let namespace = identity["namespace"].as_str().unwrap();
        let name = identity["serviceAccount"].as_str().unwrap();
        assert!(identities.contains(namespace, name));
    }
});
