//! The `irsa sts serve` configuration reader never panics on any text, with the files it names
//! resolved under an empty directory (so only inline documents load).
#![no_main]

use irsa::sts::ConfigFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dir = std::env::temp_dir().join("irsa-fuzz-sts-config-empty");
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(config) = ConfigFile::parse(text, &dir) {
        for role in config.registry.roles() {
            assert!(role.arn().to_string().starts_with("arn:aws:iam::"));
        }
    }
});
