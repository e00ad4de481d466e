//! The SigV4 `Authorization` header reader never panics, and what it accepts has the shape
//! STS checks: a non-empty key ID, an 8-digit date, a region, and lower-case signed header
//! names.
#![no_main]

use irsa::__private::SigV4Authorization;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(auth) = text.parse::<SigV4Authorization>() else {
        return;
    };
    assert!(!auth.access_key_id().is_empty());
    assert!(auth.date().len() == 8 && auth.date().bytes().all(|b| b.is_ascii_digit()));
    assert!(!auth.region().is_empty());
    assert!(auth.signed_headers().iter().all(|h| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
    }));
});
