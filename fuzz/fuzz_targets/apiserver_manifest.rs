//! The kube-apiserver manifest editor never panics, and an edit round-trips: the edited text
//! parses again, has the command the edit announced, and editing it again changes nothing.
#![no_main]

use irsa::setup::apiserver::{ApiserverFlags, Manifest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(manifest) = Manifest::parse(text) else {
        return;
    };
    let flags = ApiserverFlags {
        issuer: "https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod".to_owned(),
        existing_issuers: vec!["https://kubernetes.default.svc.cluster.local".to_owned()],
        jwks_uri: "https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod/openid/v1/jwks"
            .to_owned(),
        key_files: vec!["/etc/kubernetes/pki/sa.pub".to_owned()],
    };
    let Ok(edit) = manifest.edit(&flags) else {
        return;
    };
    let reparsed = Manifest::parse(edit.text()).expect("an edited manifest parses");
    assert_eq!(reparsed.command(), edit.after());
    let again = reparsed
        .edit(&flags)
        .expect("an edited manifest edits again");
    assert!(!again.changed(), "a second edit changes nothing");
    assert_eq!(again.text(), edit.text());
});
