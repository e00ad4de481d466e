//! Kubernetes service-account tokens: typed claims, the token as a secret, inspection without
//! verification, and a [`Verifier`] that judges a token exactly as STS does.
//!
//! Everything here is pure: the clock is a parameter (`now`, seconds since the Unix epoch) and
//! keys come from an [`oidc::JwkSet`](crate::oidc::JwkSet).
//!
//! What the verifier applies, in the order STS meets it:
//! 1. structure: 4 to 20000 characters, three segments, strict unpadded base64url, JSON without
//!    duplicate members, claims of the right JSON types;
//! 2. header: `alg` one of RS256/384/512 or ES256/384/512 (`none`, `HS*`, `PS*` refused), no
//!    `crit`;
//! 3. provider: legacy secret-based tokens refused; `iss` equal to a configured issuer, byte for
//!    byte (case and trailing `/` matter);
//! 4. key: by `kid`; without `kid`, the one key that fits the algorithm, if exactly one does;
//!    the key's type, curve and declared `alg` must fit the header's `alg`;
//! 5. signature: ECDSA only in JOSE `r||s` form;
//! 6. claims: `aud` contains a configured client ID; `sub` present; `exp` present and not past
//!    beyond the skew (5 minutes by default, as STS); `nbf` and `iat`, when present, not in the
//!    future beyond the skew.
//!
//! Each [`Rejection`] carries the STS error code it maps to, STS's message where it is known,
//! and the precise local reason.

mod cache;
mod claims;
mod jws;
pub(crate) mod mint;
mod read;
mod secret;
mod subject;
mod verify;

pub use claims::{
    Audience, Claims, Header, KubernetesClaims, LEGACY_ISSUER, LegacyClaims, ObjectRef,
    STS_MAX_SUBJECT_LEN, TokenKind,
};
pub use jws::{MAX_TOKEN_LEN, MIN_TOKEN_LEN, MalformedToken, UnverifiedToken};
pub use mint::{BoundToken, MIN_EXPIRATION_SECONDS, MintError, SigningKey};
pub use read::ClaimsError;
pub use secret::{SecretError, WebIdentityToken};
pub use subject::{SUBJECT_PREFIX, Subject, SubjectError};
pub use verify::{
    DEFAULT_CLOCK_SKEW, Rejection, VerifiedToken, Verifier, VerifierBuilder, VerifierError,
};
pub(crate) use verify::{check_claims, check_provider};

/// The STS error codes, shared with the rest of the crate (also at the crate root).
pub use crate::StsErrorCode;

/// `at` in whole seconds since the Unix epoch (negative before it), the unit of JWT's
/// `NumericDate` and of every comparison the verifier makes.
pub(crate) fn unix_seconds(at: std::time::SystemTime) -> i64 {
    match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// A Unix time in UTC as `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, whole seconds), or with `compact`
/// as `YYYYMMDDTHHMMSSZ`; `None` outside the years 0 to 9999, which have no such form.
pub(crate) fn utc_timestamp(unix: i64, compact: bool) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).ok()?;
    if !(0..=9999).contains(&t.year()) {
        return None;
    }
    let (year, month, day) = (t.year(), u8::from(t.month()), t.day());
    let (hour, minute, second) = (t.hour(), t.minute(), t.second());
    Some(if compact {
        format!("{year:04}{month:02}{day:02}T{hour:02}{minute:02}{second:02}Z")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
    })
}
