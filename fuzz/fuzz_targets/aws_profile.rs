//! The provider's reading of an AWS shared config file never panics, whatever the file holds,
//! and what it reports in `Debug` is the configuration, never a panic or a secret.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("irsa-fuzz-profile-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("config");
    if std::fs::write(&file, text).is_err() {
        return;
    }
    for profile in ["default", "pods", "A"] {
        let provider = irsa::provider::WebIdentityProvider::builder()
            .env(HashMap::<String, String>::new())
            .config_file(&file)
            .profile(profile)
            .build();
        let _ = format!("{provider:?}");
    }
});
