//! The `irsa setup` file reader never panics on any text; every file it names reads as one
//! public key, so parsing goes as deep as a real file takes it. A file it accepts resolves to
//! a desired state and plans from nothing without panicking.
#![no_main]

use irsa::setup::{Desired, Observed, PlanOptions, SetupFile, plan};
use libfuzzer_sys::fuzz_target;

const KEY: &[u8] = b"-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEH6cuzP8XuD5wal6wf9M6xDljTOPL
X2i8uIp/C/ASqiIGUeeKQtX0/IR3qCXyThP/dbCiHrF3v1cuhBOHY8CLVg==
-----END PUBLIC KEY-----
";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = SetupFile::parse_with(text, |path| {
        if path.extension().is_some_and(|e| e == "json") {
            Ok(br#"{"Version":"2012-10-17","Statement":[]}"#.to_vec())
        } else {
            Ok(KEY.to_vec())
        }
    }) else {
        return;
    };
    let account = file
        .account()
        .cloned()
        .unwrap_or_else(|| "111122223333".parse().unwrap());
    if let Ok(desired) = Desired::new(&file, account) {
        let _ = plan(&desired, &Observed::default(), PlanOptions::default());
    }
});
