//! SigV4 as STS checks it: the `Authorization` header, the canonical request, the clock window
//! and the signature, recomputed with the SDK's own key derivation and compared in constant time.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, UNIX_EPOCH};

use aws_lc_rs::digest;

/// The algorithm of every SigV4 `Authorization` header.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// How far a request's `X-Amz-Date` may be from the server's clock. STS's own messages say
/// 15 minutes ("… (20220127T015928Z - 15 min.)"), wider than the five minutes of the general
/// SigV4 guidance.
pub const CLOCK_WINDOW: Duration = Duration::from_secs(15 * 60);

/// A parsed SigV4 `Authorization` header.
///
/// ```
/// use irsa::__private::SigV4Authorization;
///
/// let header = "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261202/us-east-1/sts/aws4_request, \
///     SignedHeaders=content-type;host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// let auth: SigV4Authorization = header.parse()?;
/// assert_eq!(auth.access_key_id(), "ASIAEXAMPLE");
/// assert_eq!(auth.region(), "us-east-1");
/// assert_eq!(auth.signed_headers(), ["content-type", "host", "x-amz-date"]);
/// # Ok::<(), irsa::__private::AuthorizationError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SigV4Authorization {
    access_key_id: String,
    date: String,
    region: String,
    service: String,
    signed_headers: Vec<String>,
    signature: String,
}

impl fmt::Debug for SigV4Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigV4Authorization")
            .field("access_key_id", &self.access_key_id)
            .field("date", &self.date)
            .field("region", &self.region)
            .field("service", &self.service)
            .field("signed_headers", &self.signed_headers)
            .finish_non_exhaustive()
    }
}

/// Why an `Authorization` header is not a SigV4 header STS can check: STS answers
/// `IncompleteSignature` (or `MissingAuthenticationToken` for [`AuthorizationError::NotSigV4`])
/// with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizationError {
    /// The header does not start with `AWS4-HMAC-SHA256 `.
    #[error("the Authorization header does not use {ALGORITHM}: sign the request with SigV4")]
    NotSigV4,
    /// A component has no `=`.
    #[error(
        "'{component}' not a valid key=value pair (missing equal-sign) in Authorization header"
    )]
    MissingEqualSign {
        /// The component.
        component: String,
    },
    /// A required component is absent.
    #[error("Authorization header requires '{0}' parameter")]
    Missing(&'static str),
    /// The credential scope is not `AKID/yyyymmdd/region/service/aws4_request`.
    #[error(
        "credential '{credential}' is not AKID/yyyymmdd/region/service/aws4_request: sign with the SDK's SigV4 signer"
    )]
    Credential {
        /// The `Credential=` value.
        credential: String,
    },
    /// `SignedHeaders` is not a `;`-separated list of lower-case header names.
    #[error(
        "SignedHeaders '{signed_headers}' is not a ;-separated list of lower-case header names"
    )]
    SignedHeaders {
        /// The `SignedHeaders=` value.
        signed_headers: String,
    },
    /// The signature is not 64 lowercase hex digits.
    #[error("the signature is not 64 lowercase hexadecimal digits")]
    Signature,
}

impl FromStr for SigV4Authorization {
    type Err = AuthorizationError;

    fn from_str(header: &str) -> Result<Self, Self::Err> {
        let rest = header
            .strip_prefix(ALGORITHM)
            .and_then(|r| r.strip_prefix(' '))
            .ok_or(AuthorizationError::NotSigV4)?;
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for component in rest.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            let (key, value) =
                component
                    .split_once('=')
                    .ok_or_else(|| AuthorizationError::MissingEqualSign {
                        component: component.to_owned(),
                    })?;
            match key {
                "Credential" => credential = Some(value),
                "SignedHeaders" => signed = Some(value),
                "Signature" => signature = Some(value),
                _ => {}
            }
        }
        let credential = credential.ok_or(AuthorizationError::Missing("Credential"))?;
        let signed = signed.ok_or(AuthorizationError::Missing("SignedHeaders"))?;
        let signature = signature.ok_or(AuthorizationError::Missing("Signature"))?;
        let bad_credential = || AuthorizationError::Credential {
            credential: credential.to_owned(),
        };
        let mut scope = credential.split('/');
        let (Some(akid), Some(date), Some(region), Some(service), Some("aws4_request"), None) = (
            scope.next(),
            scope.next(),
            scope.next(),
            scope.next(),
            scope.next(),
            scope.next(),
        ) else {
            return Err(bad_credential());
        };
        if akid.is_empty()
            || region.is_empty()
            || date.len() != 8
            || !date.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad_credential());
        }
        let header_name = |h: &str| {
            !h.is_empty()
                && h.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
                })
        };
        if !signed.split(';').all(header_name) {
            return Err(AuthorizationError::SignedHeaders {
                signed_headers: signed.to_owned(),
            });
        }
        if signature.len() != 64
            || !signature
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(AuthorizationError::Signature);
        }
        Ok(SigV4Authorization {
            access_key_id: akid.to_owned(),
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            signed_headers: signed.split(';').map(str::to_owned).collect(),
            signature: signature.to_owned(),
        })
    }
}

impl SigV4Authorization {
    /// The access key ID that signed.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The scope's date, `yyyymmdd`.
    pub fn date(&self) -> &str {
        &self.date
    }

    /// The scope's region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The scope's service (`sts` for requests STS accepts).
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The signed headers, lower-case, as listed.
    pub fn signed_headers(&self) -> &[String] {
        &self.signed_headers
    }
}

/// What a signed request is made of, as the server received it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignedRequest<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: &'a str,
    pub(crate) headers: &'a http::HeaderMap,
    pub(crate) body: &'a [u8],
}

/// `X-Amz-Date` (`yyyymmddThhmmssZ`) in seconds since the Unix epoch.
pub(crate) fn parse_amz_date(value: &str) -> Option<i64> {
    let b = value.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let s = value.get(range)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let month = time::Month::try_from(u8::try_from(num(4..6)?).ok()?).ok()?;
    let day = u8::try_from(num(6..8)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let clock = time::Time::from_hms(
        u8::try_from(num(9..11)?).ok()?,
        u8::try_from(num(11..13)?).ok()?,
        u8::try_from(num(13..15)?).ok()?,
    )
    .ok()?;
    Some(date.with_time(clock).assume_utc().unix_timestamp())
}

/// Seconds since the Unix epoch as `yyyymmddThhmmssZ`: `aws:CurrentTime`'s form without its
/// separators.
pub(crate) fn format_amz_date(seconds: i64) -> String {
    crate::policy::iso8601(seconds).replace(['-', ':'], "")
}

/// The clock check's message when `signed` (the request's time) is outside the window around
/// `now`, in STS's words; `None` when it is inside.
pub(crate) fn clock_problem(signed: i64, now: i64) -> Option<String> {
    let window = i64::try_from(CLOCK_WINDOW.as_secs()).unwrap_or(i64::MAX);
    let (signed_s, now_s) = (format_amz_date(signed), format_amz_date(now));
    if signed < now.saturating_sub(window) {
        Some(format!(
            "Signature expired: {signed_s} is now earlier than {} ({now_s} - 15 min.)",
            format_amz_date(now.saturating_sub(window))
        ))
    } else if signed > now.saturating_add(window) {
        Some(format!(
            "Signature not yet current: {signed_s} is still later than {} ({now_s} + 15 min.)",
            format_amz_date(now.saturating_add(window))
        ))
    } else {
        None
    }
}

/// Whether `auth`'s signature is the one `secret` makes for `request` at `amz_date`.
pub(crate) fn signature_matches(
    auth: &SigV4Authorization,
    amz_date: &str,
    signed_at: i64,
    request: &SignedRequest<'_>,
    secret: &str,
) -> bool {
    let canonical = canonical_request(auth, request);
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{}/{}/{}/aws4_request\n{}",
        auth.date,
        auth.region,
        auth.service,
        hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    );
    let time = UNIX_EPOCH + Duration::from_secs(u64::try_from(signed_at).unwrap_or_default());
    let key = aws_sigv4::sign::v4::generate_signing_key(secret, time, &auth.region, &auth.service);
    let expected = aws_sigv4::sign::v4::calculate_signature(key, string_to_sign.as_bytes());
    aws_lc_rs::constant_time::verify_slices_are_equal(
        expected.as_bytes(),
        auth.signature.as_bytes(),
    )
    .is_ok()
}

/// The canonical request: method, URI, query, signed headers, their list, the payload's hash.
fn canonical_request(auth: &SigV4Authorization, request: &SignedRequest<'_>) -> String {
    let mut out = String::with_capacity(512);
    out.push_str(request.method);
    out.push('\n');
    // Every service but S3 encodes the (already encoded) path once more.
    let path = if request.path.is_empty() {
        "/"
    } else {
        request.path
    };
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        encode_into(&mut out, segment.as_bytes());
    }
    out.push('\n');
    let mut pairs: Vec<(String, String)> = request
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let mut key = String::new();
            let mut value = String::new();
            encode_into(&mut key, &percent_decode(k));
            encode_into(&mut value, &percent_decode(v));
            (key, value)
        })
        .collect();
    pairs.sort();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out.push('\n');
    for name in &auth.signed_headers {
        out.push_str(name);
        out.push(':');
        let mut first = true;
        for value in request.headers.get_all(name.as_str()) {
            if !first {
                out.push(',');
            }
            first = false;
            let text = String::from_utf8_lossy(value.as_bytes());
            // Trimmed, with runs of spaces collapsed to one.
            let mut words = text.split(' ').filter(|w| !w.is_empty()).peekable();
            while let Some(word) = words.next() {
                out.push_str(word.trim());
                if words.peek().is_some() {
                    out.push(' ');
                }
            }
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&auth.signed_headers.join(";"));
    out.push('\n');
    // The body's own hash: a declared `x-amz-content-sha256` was checked against it before.
    out.push_str(&payload_hash(request.body));
    out
}

/// The hex SHA-256 of a request body, as SigV4 writes it.
pub(crate) fn payload_hash(body: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, body).as_ref())
}

/// RFC 3986 encoding as SigV4 wants it: everything but `A–Z a–z 0–9 - _ . ~` as `%XY`.
fn encode_into(out: &mut String, bytes: &[u8]) {
    use std::fmt::Write as _;
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn percent_decode(s: &str) -> Vec<u8> {
    let raw = s.as_bytes();
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        let pair = raw.get(i + 1..i + 3).and_then(|h| {
            let hi = char::from(*h.first()?).to_digit(16)?;
            let lo = char::from(*h.get(1)?).to_digit(16)?;
            u8::try_from(hi << 4 | lo).ok()
        });
        match (b, pair) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_errors_name_the_part() {
        let good =
            "Credential=AK/20261202/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=";
        let sig = "a".repeat(64);
        assert!(
            format!("{ALGORITHM} {good}{sig}")
                .parse::<SigV4Authorization>()
                .is_ok()
        );
        let cases = [
            ("Basic abc", AuthorizationError::NotSigV4),
            (
                "AWS4-HMAC-SHA256 Credential",
                AuthorizationError::MissingEqualSign {
                    component: "Credential".into(),
                },
            ),
            (
                "AWS4-HMAC-SHA256 Credential=a/20261202/r/sts/aws4_request, SignedHeaders=host",
                AuthorizationError::Missing("Signature"),
            ),
            (
                "AWS4-HMAC-SHA256 Credential=a/2026/r/sts/aws4_request, SignedHeaders=host, Signature=x",
                AuthorizationError::Credential {
                    credential: "a/2026/r/sts/aws4_request".into(),
                },
            ),
            (
                "AWS4-HMAC-SHA256 Credential=a/20261202/r/sts/aws4_request, SignedHeaders=host, Signature=ABC",
                AuthorizationError::Signature,
            ),
        ];
        for (header, expected) in cases {
            assert_eq!(
                header.parse::<SigV4Authorization>().unwrap_err(),
                expected,
                "{header}"
            );
        }
    }

    #[test]
    fn dates_and_the_clock_window_in_sts_words() {
        let at = parse_amz_date("20220127T014428Z").unwrap();
        assert_eq!(format_amz_date(at), "20220127T014428Z");
        assert_eq!(parse_amz_date("20220230T000000Z"), None);
        assert_eq!(parse_amz_date("2022-01-27T01:44Z"), None);
        let signed = parse_amz_date("20220127T001427Z").unwrap();
        let now = parse_amz_date("20220127T015928Z").unwrap();
        assert_eq!(
            clock_problem(signed, now).unwrap(),
            "Signature expired: 20220127T001427Z is now earlier than 20220127T014428Z (20220127T015928Z - 15 min.)"
        );
        assert_eq!(clock_problem(now - 900, now), None);
        assert_eq!(clock_problem(now + 900, now), None);
        assert!(
            clock_problem(now + 901, now)
                .unwrap()
                .starts_with("Signature not yet current: ")
        );
    }
}
