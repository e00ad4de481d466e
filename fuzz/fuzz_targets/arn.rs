//! ARN parsers never panic, and print exactly what they accepted.
#![no_main]

use irsa::arn::{OidcProviderArn, RoleArn};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(role) = input.parse::<RoleArn>() {
        assert_eq!(role.to_string(), input);
    }
    if let Ok(provider) = input.parse::<OidcProviderArn>() {
        assert_eq!(provider.to_string(), input);
    }
});
