//! The awsQuery reader never panics, reads what `form_urlencoded` reads whenever the input
//! decodes to UTF-8, and its list reader stops at the first gap.
#![no_main]

use irsa::__private::AwsQuery;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = AwsQuery::parse(data) else {
        return;
    };
    let ours: Vec<(String, String)> = query
        .pairs()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    let reference: Vec<(String, String)> = form_urlencoded::parse(data)
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(ours, reference);
    let members = query.list("PolicyArns", Some("arn"));
    for (i, member) in members.iter().enumerate() {
        assert_eq!(
            query.get(&format!("PolicyArns.member.{}.arn", i + 1)),
            Some(*member)
        );
    }
});
