//! `IssuerUrl::parse` never panics, never changes the string it accepts, and every view of an
//! accepted issuer is consistent with it.
#![no_main]

use irsa::oidc::{IssuerUrl, S3Issuer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(issuer) = IssuerUrl::parse(input) else {
        return;
    };
    assert_eq!(issuer.as_str(), input);
    assert_eq!(IssuerUrl::parse(issuer.as_str()).as_ref(), Ok(&issuer));
    assert_eq!(
        format!("https://{}{}", issuer.authority(), issuer.path()),
        input
    );
    assert!(issuer.jwks_uri().starts_with(issuer.base()));
    if let Ok(provider) = issuer.aws_provider_url() {
        assert_eq!(provider.issuer(), input);
    }
    if let Ok(Some(s3)) = S3Issuer::from_issuer(&issuer) {
        assert_eq!(s3.issuer(), issuer);
    }
});
