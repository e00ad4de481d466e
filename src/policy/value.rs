//! Condition values read as their operator's type: numbers, dates, booleans, base64, IP
//! blocks and ARNs, and — for the linter and explanations — why a value cannot be read (IAM
//! Access Analyzer warns of some of these: [`analyzer_code`]).

use std::net::IpAddr;

use super::operator::Family;

/// A number as the `Numeric` operators read it: an integer or a decimal, optionally signed.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(digits.contains('.') && frac.is_empty());
    if ok { s.parse().ok() } else { None }
}

/// A date as the `Date` operators read it, in seconds since the Unix epoch: epoch seconds, or
/// one of the W3C ISO 8601 forms `YYYY-MM-DD`, `YYYY-MM-DDThh:mmTZD`, `YYYY-MM-DDThh:mm:ssTZD`,
/// `YYYY-MM-DDThh:mm:ss.sTZD` (TZD `Z` or `±hh:mm`; the fraction any number of digits, read
/// to the nanosecond). Calendar rules are `time`'s: a day that
/// does not exist in its month (`2024-02-31`, `2023-02-29`) is not a date.
pub(crate) fn parse_date(s: &str) -> Option<f64> {
    use time::macros::format_description;
    use time::{Date, PrimitiveDateTime, UtcOffset};

    if let Some(seconds) = parse_number(s) {
        return Some(seconds);
    }
    let Some((_, clock)) = s.split_once('T') else {
        let date = Date::parse(s, format_description!("[year]-[month]-[day]")).ok()?;
        return Some(date.midnight().assume_utc().unix_timestamp() as f64);
    };
    let (local, offset) = match clock.strip_suffix('Z') {
        Some(_) => (s.strip_suffix('Z')?, UtcOffset::UTC),
        None => {
            let at = s.len().checked_sub(6)?;
            let (local, tz) = (s.get(..at)?, s.get(at..)?);
            let tz = UtcOffset::parse(
                tz,
                format_description!("[offset_hour sign:mandatory]:[offset_minute]"),
            )
            .ok()?;
            (local, tz)
        }
    };
    // A fraction may have any number of digits; nanoseconds keep the first nine.
    let local = match local.split_once('.') {
        Some((whole, fraction))
            if fraction.len() > 9 && fraction.bytes().all(|b| b.is_ascii_digit()) =>
        {
            local.get(..whole.len() + 10)?
        }
        _ => local,
    };
    let moment = PrimitiveDateTime::parse(
        local,
        format_description!(
            "[year]-[month]-[day]T[hour]:[minute][optional [:[second][optional [.[subsecond]]]]]"
        ),
    )
    .ok()?
    .assume_offset(offset);
    Some(moment.unix_timestamp_nanos() as f64 / 1e9)
}

/// Standard base64, as `BinaryEquals` values are written.
pub(crate) fn parse_binary(s: &str) -> Option<Vec<u8>> {
    crate::base64::decode_standard(s)
}

/// `true` or `false`, in any case.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A CIDR block; a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IpBlock {
    addr: IpAddr,
    prefix: u8,
}

impl IpBlock {
    pub(crate) fn parse(s: &str) -> Option<IpBlock> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().ok().filter(|p| *p <= max)?
            }
            Some(_) => return None,
            None => max,
        };
        Some(IpBlock { addr, prefix })
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let keep = |bits: u32, prefix: u8| -> u128 {
            if prefix == 0 {
                0
            } else {
                u128::MAX << (bits - u32::from(prefix))
            }
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = keep(32, self.prefix);
                u128::from(u32::from(net)) & mask == u128::from(u32::from(ip)) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = keep(128, self.prefix);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// A policy value its operator cannot read: what is wrong and how to write one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreadable {
    /// `"2024-02-31" is not a date (February 2024 has 29 days)`.
    pub(crate) message: String,
    /// The forms of the type.
    pub(crate) fix: &'static str,
}

/// Why a policy value cannot be read as `family`'s type, or `None` when it can. Text families
/// whose values may hold a policy variable (`Bool`, `Arn*`) are judged only without one, since
/// a variable is read at evaluation; `String*` values are always readable.
pub(crate) fn unreadable(family: Family, raw: &str) -> Option<Unreadable> {
    let variable = raw.contains("${");
    let (detail, fix) = match family {
        Family::Numeric if parse_number(raw).is_none() => (
            None,
            "write an integer or a decimal, such as 10 or -2.5 (no exponent)",
        ),
        Family::Date if parse_date(raw).is_none() => (
            impossible_day(raw),
            "write YYYY-MM-DD, YYYY-MM-DDThh:mm, YYYY-MM-DDThh:mm:ss or YYYY-MM-DDThh:mm:ss.s \
             with Z or ±hh:mm, or seconds since 1970",
        ),
        Family::Bool | Family::Null if !variable && parse_bool(raw).is_none() => {
            (None, "write true or false")
        }
        Family::Binary if parse_binary(raw).is_none() => {
            (None, "write the bytes in standard base64")
        }
        Family::Ip if IpBlock::parse(raw).is_none() => (
            None,
            "write an IPv4 or IPv6 address, optionally with a /prefix, such as 203.0.113.0/24",
        ),
        // A pattern (`*` alone, say) is left to evaluation: whether IAM reads it as a whole ARN
        // is not documented.
        Family::Arn if !variable && !raw.contains(['*', '?']) && raw.matches(':').count() < 5 => (
            None,
            "write six colon-separated parts: arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE",
        ),
        _ => return None,
    };
    let mut message = format!("{raw:?} is not {}", type_name(family));
    if let Some(detail) = detail {
        message = format!("{message} ({detail})");
    }
    Some(Unreadable { message, fix })
}

/// The finding IAM Access Analyzer's policy validation reports for an unreadable value of this
/// family, where it has one (its `TYPE_MISMATCH_*` warnings; its `DATA_TYPE_MISMATCH` is about
/// JSON types, such as a number where a string belongs).
pub(crate) fn analyzer_code(family: Family) -> Option<&'static str> {
    match family {
        Family::Bool => Some("TYPE_MISMATCH_BOOLEAN"),
        Family::Date => Some("TYPE_MISMATCH_DATE"),
        Family::Ip => Some("TYPE_MISMATCH_IP_RANGE"),
        _ => None,
    }
}

/// The type a family reads its values as, with its article.
pub(crate) fn type_name(family: Family) -> &'static str {
    match family {
        Family::String => "a string",
        Family::Numeric => "a number",
        Family::Date => "a date",
        Family::Bool | Family::Null => "a boolean",
        Family::Binary => "base64 binary",
        Family::Ip => "an IP address or CIDR block",
        Family::Arn => "an ARN",
    }
}

/// For a value that starts like a day but is not a date: the month or day that does not exist.
fn impossible_day(raw: &str) -> Option<String> {
    let field = |from: usize, len: usize| {
        let f = raw.get(from..from + len)?;
        f.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| f.parse::<u16>().ok())?
    };
    let bytes = raw.as_bytes();
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    let (year, month, day) = (field(0, 4)?, field(5, 2)?, field(8, 2)?);
    let Some(month) = u8::try_from(month)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
    else {
        return Some(format!("there is no month {month:02}"));
    };
    let days = time::util::days_in_month(month, i32::from(year));
    (day == 0 || day > u16::from(days)).then(|| format!("{month} {year} has {days} days"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values() {
        assert_eq!(parse_number("-1.5"), Some(-1.5));
        for bad in ["1e5", "inf", "NaN", "1.", ".5", "", "--1", "0x10"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
        assert_eq!(parse_date("1970-01-02"), Some(86_400.0));
        assert_eq!(parse_date("2018-01-01T00:00:00Z"), Some(1_514_764_800.0));
        assert_eq!(parse_date("2018-01-01T01:00+01:00"), Some(1_514_764_800.0));
        assert_eq!(parse_date("2018-01-01T00:00:00.5Z"), Some(1_514_764_800.5));
        assert_eq!(
            parse_date("2018-01-01T00:00:00.5000000000001Z"),
            Some(1_514_764_800.5)
        );
        assert_eq!(parse_date("1514764800"), Some(1_514_764_800.0));
        assert_eq!(parse_date("2024-02-29"), Some(1_709_164_800.0));
        assert_eq!(parse_date("2018-01-01T00:00-05:30"), Some(1_514_784_600.0));
        for bad in [
            "2018-13-01",
            "2018-01-01T00:00",
            "2018-1-1",
            "yesterday",
            "2018-01-01T24:00Z",
            "2024-02-31",
            "2023-02-29T00:00Z",
            "2018-04-31T00:00:00Z",
            "2018-01-01T00:00:00.Z",
            "2018-01-01T00:00+1:00",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("yes"), None);
        assert_eq!(parse_binary("aGk="), Some(b"hi".to_vec()));
        let block = IpBlock::parse("203.0.113.0/24").unwrap();
        assert!(block.contains("203.0.113.9".parse().unwrap()));
        assert!(!block.contains("203.0.114.9".parse().unwrap()));
        assert!(
            IpBlock::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(
            IpBlock::parse("2001:db8::/32")
                .unwrap()
                .contains("2001:db8::1".parse().unwrap())
        );
        assert!(
            !IpBlock::parse("192.0.2.1")
                .unwrap()
                .contains("192.0.2.2".parse().unwrap())
        );
        assert_eq!(IpBlock::parse("192.0.2.1/33"), None);
        assert_eq!(IpBlock::parse("192.0.2.1/"), None);
    }

    /// A plain recursive matcher, exponential but obviously right.
    #[test]
    fn unreadable_values_say_why() {
        let message = |family, raw| unreadable(family, raw).map(|u| u.message);
        assert_eq!(
            message(Family::Date, "2024-02-31").as_deref(),
            Some("\"2024-02-31\" is not a date (February 2024 has 29 days)")
        );
        assert_eq!(
            message(Family::Date, "2023-13-01T00:00:00Z").as_deref(),
            Some("\"2023-13-01T00:00:00Z\" is not a date (there is no month 13)")
        );
        assert_eq!(
            unreadable(Family::Date, "01/02/2024"),
            Some(Unreadable {
                message: "\"01/02/2024\" is not a date".to_owned(),
                fix: "write YYYY-MM-DD, YYYY-MM-DDThh:mm, YYYY-MM-DDThh:mm:ss or \
                      YYYY-MM-DDThh:mm:ss.s with Z or ±hh:mm, or seconds since 1970",
            })
        );
        assert_eq!(message(Family::Date, "2024-02-29T12:00:00+01:00"), None);
        assert_eq!(
            message(Family::Numeric, "1e3").as_deref(),
            Some("\"1e3\" is not a number")
        );
        assert_eq!(message(Family::Numeric, "-2.5"), None);
        assert!(message(Family::Bool, "yes").is_some());
        assert!(message(Family::Null, "1").is_some());
        assert_eq!(message(Family::Bool, "${aws:SecureTransport}"), None);
        assert!(message(Family::Ip, "203.0.113.0/33").is_some());
        assert_eq!(message(Family::Ip, "2001:db8::/32"), None);
        assert!(message(Family::Arn, "arn:aws:iam::111122223333").is_some());
        assert_eq!(
            message(Family::Arn, "arn:aws:iam::111122223333:role/*"),
            None
        );
        assert_eq!(message(Family::Arn, "${aws:PrincipalArn}"), None);
        assert_eq!(message(Family::Arn, "*"), None);
        assert!(message(Family::Binary, "not base64!").is_some());
        assert_eq!(message(Family::String, "anything *"), None);
    }
}
