//! Reading the header and the claims from a token's JSON with the crate's scanner, which the
//! verifier's speed rests on, and why reading failed.

use std::borrow::Cow;

use super::claims::{
    Audience, Claims, Header, KubernetesClaims, LEGACY_NAMESPACE, LEGACY_SA_NAME, LEGACY_SA_UID,
    LEGACY_SECRET_NAME, LegacyClaims, ObjectRef,
};
use crate::json::scan::{Kind, Number, ScanError, Scanner};

/// Why a token's header or claims could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// Not JSON, or not an object.
    #[error("not a JSON object: expected {expected} at byte {offset}")]
    Syntax {
        /// What the reader expected.
        expected: &'static str,
        /// Where, in bytes from the start of the decoded segment.
        offset: usize,
    },
    /// Nested more than 128 arrays and objects deep.
    #[error("nested more than {} levels deep", crate::json::scan::MAX_DEPTH)]
    TooDeep,
    /// The bytes are not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
    /// A member name appears twice in one object.
    #[error("member {member:?} appears twice")]
    Duplicate {
        /// The repeated member.
        member: String,
    },
    /// A claim has the wrong JSON type.
    #[error("claim {claim:?} is not {expected}")]
    WrongType {
        /// The claim (`kubernetes.io.pod.name` for nested ones).
        claim: String,
        /// The type that was expected.
        expected: &'static str,
    },
    /// A required header member is missing.
    #[error("the header has no {member:?}")]
    Missing {
        /// The member.
        member: &'static str,
    },
}

impl From<ScanError> for ClaimsError {
    // Out of line: every `?` in the readers converts, and only on errors.
    #[cold]
    #[inline(never)]
    fn from(e: ScanError) -> Self {
        match e {
            ScanError::Duplicate { member } => ClaimsError::Duplicate { member },
            ScanError::Syntax { expected, offset } => ClaimsError::Syntax { expected, offset },
            ScanError::TooDeep => ClaimsError::TooDeep,
        }
    }
}

pub(super) fn utf8(json: &[u8]) -> Result<&str, ClaimsError> {
    std::str::from_utf8(json).map_err(|_| ClaimsError::NotUtf8)
}

fn wrong(claim: &str, expected: &'static str) -> ClaimsError {
    ClaimsError::WrongType {
        claim: claim.to_owned(),
        expected,
    }
}

fn string<'a>(s: &mut Scanner<'a>, claim: &str) -> Result<Cow<'a, str>, ClaimsError> {
    string_in(s, "", claim)
}

/// A string member `field` of the object claim `parent` (named `parent.field` in errors, which
/// are the only place the name is built).
#[inline(always)]
fn string_in<'a>(
    s: &mut Scanner<'a>,
    parent: &str,
    field: &str,
) -> Result<Cow<'a, str>, ClaimsError> {
    expect(s, Kind::String, (parent, field), "a string")?;
    Ok(s.string()?)
}

/// Checks that a value of `kind` starts here; otherwise refuses bad JSON as such, and a value
/// of another kind as not `expected` for the claim `parent.field` (or `parent` when `field`
/// is empty).
#[inline(always)]
fn expect(
    s: &Scanner<'_>,
    kind: Kind,
    (parent, field): (&str, &str),
    expected: &'static str,
) -> Result<(), ClaimsError> {
    if s.at(kind) {
        Ok(())
    } else {
        Err(mismatch(s, parent, field, expected))
    }
}

/// The error for a value that is not of the kind expected. Out of line: errors are rare, and
/// the readers' code stays small (it shares the cache with the signature check).
#[cold]
#[inline(never)]
fn mismatch(s: &Scanner<'_>, parent: &str, field: &str, expected: &'static str) -> ClaimsError {
    if let Err(not_json) = s.kind() {
        return not_json.into();
    }
    let claim = match (parent, field) {
        ("", field) => field.to_owned(),
        (parent, "") => parent.to_owned(),
        (parent, field) => format!("{parent}.{field}"),
    };
    ClaimsError::WrongType { claim, expected }
}

/// A NumericDate: a JSON number of seconds; a fractional part is dropped.
#[inline(never)]
fn date(s: &mut Scanner<'_>, claim: &str) -> Result<i64, ClaimsError> {
    expect(s, Kind::Number, (claim, ""), "a number")?;
    match s.number()? {
        Number::Int(seconds) => Ok(seconds),
        // In range, so flooring then converting is exact.
        #[allow(clippy::cast_possible_truncation)]
        Number::Float(f) if f.is_finite() && f.abs() < 9.0e15 => Ok(f.floor() as i64),
        Number::Float(_) => Err(wrong(claim, "a number of seconds in range")),
    }
}

fn audience<'a>(s: &mut Scanner<'a>) -> Result<Audience<'a>, ClaimsError> {
    let mut audience = Audience::array(None::<&str>);
    audience.array = string_or_strings(s, "aud", |one| audience.push(one))?;
    Ok(audience)
}

/// `amr`: an array of strings, or one string.
fn methods<'a>(s: &mut Scanner<'a>) -> Result<Vec<Cow<'a, str>>, ClaimsError> {
    let mut methods = Vec::new();
    string_or_strings(s, "amr", |one| methods.push(one))?;
    Ok(methods)
}

/// A claim written as one string or as an array of strings: hands each to `push`, and
/// returns whether they were in an array.
fn string_or_strings<'a>(
    s: &mut Scanner<'a>,
    claim: &'static str,
    mut push: impl FnMut(Cow<'a, str>),
) -> Result<bool, ClaimsError> {
    const EXPECTED: &str = "a string or an array of strings";
    if s.at(Kind::Array) {
        s.array(|s| {
            push(string(s, claim).map_err(|_| wrong(claim, EXPECTED))?);
            Ok::<(), ClaimsError>(())
        })?;
        return Ok(true);
    }
    expect(s, Kind::String, (claim, ""), EXPECTED)?;
    push(s.string()?);
    Ok(false)
}

fn object_ref<'a>(s: &mut Scanner<'a>, claim: &'static str) -> Result<ObjectRef<'a>, ClaimsError> {
    expect(s, Kind::Object, (claim, ""), "an object")?;
    let mut out = ObjectRef::default();
    // Each callback returns a distinct bit per known member, so duplicates are caught
    // without comparing names twice; unknown members are skipped (and still checked).
    s.object(|s, key| {
        Ok::<_, ClaimsError>(Some(match key {
            "name" => {
                out.name = Some(string_in(s, claim, "name")?);
                0
            }
            "uid" => {
                out.uid = Some(string_in(s, claim, "uid")?);
                1
            }
            _ => return s.skip().map(|()| None).map_err(Into::into),
        }))
    })?;
    Ok(out)
}

fn kubernetes<'a>(s: &mut Scanner<'a>) -> Result<KubernetesClaims<'a>, ClaimsError> {
    expect(s, Kind::Object, ("kubernetes.io", ""), "an object")?;
    let mut out = KubernetesClaims::default();
    s.object(|s, key| {
        Ok::<_, ClaimsError>(Some(match key {
            "namespace" => {
                out.namespace = Some(string(s, "kubernetes.io.namespace")?);
                0
            }
            "node" => {
                out.node = Some(object_ref(s, "kubernetes.io.node")?);
                1
            }
            "pod" => {
                out.pod = Some(object_ref(s, "kubernetes.io.pod")?);
                2
            }
            "secret" => {
                out.secret = Some(object_ref(s, "kubernetes.io.secret")?);
                3
            }
            "serviceaccount" => {
                out.serviceaccount = Some(object_ref(s, "kubernetes.io.serviceaccount")?);
                4
            }
            "warnafter" => {
                out.warnafter = Some(date(s, "kubernetes.io.warnafter")?);
                5
            }
            _ => return s.skip().map(|()| None).map_err(Into::into),
        }))
    })?;
    Ok(out)
}

pub(super) fn claims<'a>(s: &mut Scanner<'a>) -> Result<Claims<'a>, ClaimsError> {
    let mut out = Claims::default();
    s.object(|s, key| {
        Ok::<_, ClaimsError>(Some(match key {
            "aud" => {
                out.aud = Some(audience(s)?);
                0
            }
            "exp" => {
                out.exp = Some(date(s, "exp")?);
                1
            }
            "iat" => {
                out.iat = Some(date(s, "iat")?);
                2
            }
            "iss" => {
                out.iss = Some(string(s, "iss")?);
                3
            }
            "jti" => {
                out.jti = Some(string(s, "jti")?);
                4
            }
            "kubernetes.io" => {
                out.kubernetes = Some(kubernetes(s)?);
                5
            }
            "nbf" => {
                out.nbf = Some(date(s, "nbf")?);
                6
            }
            "sub" => {
                out.sub = Some(string(s, "sub")?);
                7
            }
            "amr" => {
                out.amr = Some(methods(s)?);
                12
            }
            "azp" => {
                out.azp = Some(string(s, "azp")?);
                13
            }
            name @ (LEGACY_NAMESPACE | LEGACY_SECRET_NAME | LEGACY_SA_NAME | LEGACY_SA_UID) => {
                let value = Some(string(s, name)?);
                let legacy = out.legacy.get_or_insert_with(LegacyClaims::default);
                match name {
                    LEGACY_NAMESPACE => {
                        legacy.namespace = value;
                        8
                    }
                    LEGACY_SECRET_NAME => {
                        legacy.secret_name = value;
                        9
                    }
                    LEGACY_SA_NAME => {
                        legacy.service_account_name = value;
                        10
                    }
                    _ => {
                        legacy.service_account_uid = value;
                        11
                    }
                }
            }
            _ => return s.skip().map(|()| None).map_err(Into::into),
        }))
    })?;
    s.end()?;
    Ok(out)
}

pub(super) fn header<'a>(s: &mut Scanner<'a>) -> Result<Header<'a>, ClaimsError> {
    let (mut alg, mut kid, mut typ, mut crit) = (None, None, None, false);
    s.object(|s, key| {
        Ok::<_, ClaimsError>(Some(match key {
            "alg" => {
                alg = Some(string(s, "alg")?);
                0
            }
            "kid" => {
                kid = Some(string(s, "kid")?);
                1
            }
            "typ" => {
                typ = Some(string(s, "typ")?);
                2
            }
            "crit" => {
                crit = true;
                s.skip()?;
                3
            }
            _ => return s.skip().map(|()| None).map_err(Into::into),
        }))
    })?;
    s.end()?;
    let alg = alg.ok_or(ClaimsError::Missing { member: "alg" })?;
    Ok(Header {
        alg,
        kid,
        typ,
        crit,
    })
}
