//! Condition values as the policy evaluator reads them, against the standard readers of the
//! same forms: `Numeric*` values against `str::parse::<f64>`, `Date*` values against `time`'s
//! RFC 3339 reader and its calendar.
#![no_main]

use irsa::__private::{policy_date, policy_number};
use libfuzzer_sys::fuzz_target;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    // Numbers: ours reads a subset of what std reads (no exponents, no inf/NaN), with its value.
    let ours = policy_number(s);
    let std = s.parse::<f64>().ok();
    if let Some(n) = ours {
        assert_eq!(Some(n), std, "{s:?}");
    }
    let plain = {
        let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
        let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
        !int.is_empty()
            && !frac.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
    };
    assert_eq!(ours.is_some(), plain, "{s:?}");

    // Dates: every RFC 3339 timestamp written with `T` and upper case (the W3C form IAM
    // documents; `time` also takes other separators) is read, as the same instant. A leap
    // second (`:60`, which `time` reads as the second before) is not: IAM documents no leap
    // seconds, and a condition on one is refused rather than guessed at.
    let date = policy_date(s);
    let form = s.as_bytes().get(10) == Some(&b'T') && !s.bytes().any(|b| b.is_ascii_lowercase());
    if form && s.get(16..19) != Some(":60") {
        if let Ok(at) = OffsetDateTime::parse(s, &Rfc3339) {
            let seconds = at.unix_timestamp_nanos() as f64 / 1e9;
            assert_eq!(date, Some(seconds), "{s:?}");
        }
    }
    // A plain day is read exactly when it exists in the calendar.
    if s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' {
        let field = |r: std::ops::Range<usize>| {
            let f = s.get(r)?;
            f.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| f.parse::<u32>().ok())?
        };
        if let (Some(y), Some(m), Some(d)) = (field(0..4), field(5..7), field(8..10)) {
            let real = u8::try_from(m)
                .ok()
                .and_then(|m| time::Month::try_from(m).ok())
                .and_then(|m| Date::from_calendar_date(y as i32, m, d as u8).ok());
            let expect = real.map(|d| d.midnight().assume_utc().unix_timestamp() as f64);
            assert_eq!(date, expect, "{s:?}");
        }
    }
    // Whatever is read is a finite instant.
    if let Some(d) = date {
        assert!(d.is_finite(), "{s:?}");
    }
});
