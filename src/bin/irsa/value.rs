//! Typed values of the command line: clap parses them, so a wrong one is refused before any
//! work with one line naming the flag, the value and the fix (see `main::one_line`).
//!
//! Issuer URLs, ARNs, account IDs and partitions parse with the library's own types; this
//! module adds what the library takes as plain numbers: times and durations, and `NS:NAME`.

use irsa::oidc::IssuerUrl;
use irsa::token::Subject;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An issuer URL, checked as IAM and kube-apiserver check it.
pub(crate) fn issuer(value: &str) -> Result<IssuerUrl, irsa::oidc::IssuerError> {
    IssuerUrl::parse(value)
}

/// A service account, `NAMESPACE:NAME`.
pub(crate) fn service_account(value: &str) -> Result<Subject, String> {
    let (namespace, name) = value
        .split_once(':')
        .ok_or("expected NAMESPACE:NAME, e.g. payments:api")?;
    Subject::new(namespace, name).map_err(|e| e.to_string())
}

/// A point in time: RFC 3339 (`2026-01-02T15:04:05Z`) or seconds since the Unix epoch.
pub(crate) fn time(value: &str) -> Result<i64, String> {
    if let Ok(seconds) = value.parse::<i64>() {
        return Ok(seconds);
    }
    OffsetDateTime::parse(value, &Rfc3339)
        .map(OffsetDateTime::unix_timestamp)
        .map_err(|_| {
            "expected an RFC 3339 time (2026-01-02T15:04:05Z) or seconds since the Unix epoch"
                .to_owned()
        })
}

/// A duration in whole seconds: `900`, `900s`, `15m`, `1h`, `1d`, or a sum such as `1h30m`.
pub(crate) fn duration(value: &str) -> Result<u64, String> {
    let fail = || {
        format!(
            "expected a duration such as 900s, 15m, 1h or 1h30m (plain numbers are seconds), not {value:?}"
        )
    };
    if let Ok(seconds) = value.parse::<u64>() {
        return Ok(seconds);
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in value.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(fail()),
        };
        let n: u64 = digits.parse().map_err(|_| fail())?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(fail)?;
    }
    if !digits.is_empty() || value.is_empty() {
        return Err(fail());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_unix_seconds() {
        assert_eq!(time("1514764860"), Ok(1_514_764_860));
        assert_eq!(time("2018-01-01T00:01:00Z"), Ok(1_514_764_860));
        assert_eq!(time("2018-01-01T01:01:00+01:00"), Ok(1_514_764_860));
        assert!(time("soon").unwrap_err().contains("RFC 3339"));
        assert!(time("2018-01-01").is_err());
    }

    #[test]
    fn durations_have_units_or_are_seconds() {
        let cases = [
            ("900", 900),
            ("900s", 900),
            ("15m", 900),
            ("1h", 3600),
            ("1h30m", 5400),
            ("1d", 86_400),
        ];
        for (text, seconds) in cases {
            assert_eq!(duration(text), Ok(seconds), "{text}");
        }
        for bad in ["", "1x", "h", "1h30", "-5", "99999999999999999999s"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_accounts_are_namespace_colon_name() {
        assert_eq!(
            service_account("payments:api").unwrap().as_str(),
            "system:serviceaccount:payments:api"
        );
        assert!(
            service_account("payments")
                .unwrap_err()
                .contains("NAMESPACE:NAME")
        );
        assert!(service_account("Payments:api").is_err());
    }
}

/// `--size-quota`, shared by the commands that size a trust policy.
#[derive(Debug, Clone, Copy, clap::Args)]
pub(crate) struct SizeQuota {
    /// The account's trust policy length quota, in non-whitespace characters.
    #[arg(
        long,
        value_name = "CHARS",
        visible_alias = "size-limit",
        default_value_t = irsa::policy::DEFAULT_SIZE_QUOTA
    )]
    pub(crate) size_quota: usize,
}

/// The request context STS would build, as flags: `--now`, `--session-name`, `--source-ip`.
/// `irsa explain` and `irsa doctor` judge with the same keys.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RequestArgs {
    /// Judge at this time: RFC 3339 or seconds since the Unix epoch. Default: now.
    #[arg(long, value_name = "TIME", value_parser = time)]
    now: Option<i64>,
    /// The RoleSessionName of the request (the `sts:RoleSessionName` key).
    #[arg(long, value_name = "NAME")]
    session_name: Option<String>,
    /// The caller's IP address (the `aws:SourceIp` key).
    #[arg(long, value_name = "IP")]
    source_ip: Option<std::net::IpAddr>,
}

impl RequestArgs {
    /// The request facts, at `--now` or the system clock's now.
    pub(crate) fn facts(&self) -> irsa::policy::RequestFacts {
        let mut facts = irsa::policy::RequestFacts::at(crate::verify::now_or(self.now));
        if let Some(name) = &self.session_name {
            facts = facts.session_name(name.clone());
        }
        if let Some(ip) = self.source_ip {
            facts = facts.source_ip(ip);
        }
        facts
    }
}
