//! The agent's role file reader never panics, and every entry it accepts is a valid
//! ServiceAccount and a role ARN that prints back as itself.
#![no_main]

use irsa::arn::RoleArn;
use irsa::token::Subject;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(entries) = irsa::__private::parse_role_file(data) else {
        return;
    };
    for (namespace, name, arn) in entries {
        assert!(
            Subject::new(&namespace, &name).is_ok(),
            "{namespace}:{name}"
        );
        let parsed: RoleArn = arn.parse().expect("an accepted ARN parses again");
        assert_eq!(parsed.to_string(), arn);
    }
});
