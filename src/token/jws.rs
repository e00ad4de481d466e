//! The compact JWS form of a token: splitting, strict base64url, and inspection without
//! verification.

use std::mem::MaybeUninit;

use super::claims::{Claims, Header};
use super::read::ClaimsError;
use crate::base64 as b64;
use crate::json::simd;

/// The shortest token STS accepts, in characters.
pub const MIN_TOKEN_LEN: usize = 4;
/// The longest token STS accepts, in characters.
pub const MAX_TOKEN_LEN: usize = 20_000;

/// Why a token is not a well-formed compact JWS. STS answers all of these with
/// `InvalidIdentityToken`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedToken {
    /// Shorter or longer than STS accepts.
    #[error("the token is {len} characters long; STS accepts 4 to 20000")]
    Length {
        /// The token's length.
        len: usize,
    },
    /// Not exactly three dot-separated segments.
    #[error(
        "the token has {segments} segments; a signed JWT has exactly 3 (header.payload.signature)"
    )]
    Segments {
        /// How many segments there are.
        segments: usize,
    },
    /// A segment is not strict unpadded base64url.
    #[error(
        "the token's {segment} is not unpadded base64url (no '=', '+', '/', white space or stray bits)"
    )]
    Base64 {
        /// Which segment: `header`, `payload` or `signature`.
        segment: &'static str,
    },
    /// The header or payload is not the JSON it must be.
    #[error("the token's {segment} is invalid")]
    Json {
        /// Which segment: `header` or `payload`.
        segment: &'static str,
        /// What is wrong.
        #[source]
        source: ClaimsError,
    },
}

/// A token split into its three segments.
pub(crate) struct Segments<'t> {
    pub(crate) signing_input: &'t str,
    pub(crate) header: &'t str,
    pub(crate) payload: &'t str,
    pub(crate) signature: &'t str,
}

pub(crate) fn split(token: &str) -> Result<Segments<'_>, MalformedToken> {
    let len = token.len();
    if !(MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&len) {
        return Err(MalformedToken::Length { len });
    }
    // The header is short and the signature shorter than the payload, so the two dots are
    // looked for from either end. A further dot then sits in the payload, which fails to
    // decode for it (see `segment_error`): no pass over the whole token just to count dots.
    let first = simd::find(token.as_bytes(), b'.');
    let last = simd::rfind(token.as_bytes(), b'.');
    let (Some(first), Some(last)) = (first, last) else {
        return Err(MalformedToken::Segments { segments: 1 });
    };
    if first == last {
        return Err(MalformedToken::Segments { segments: 2 });
    }
    Ok(Segments {
        signing_input: &token[..last],
        header: &token[..first],
        payload: &token[first + 1..last],
        signature: &token[last + 1..],
    })
}

/// Decodes one non-empty segment into the front of `out` (at least
/// `b64::decoded_len(segment.len())` bytes, which need not be initialised), returning the
/// decoded bytes.
pub(crate) fn decode_segment<'o>(
    segment: &str,
    name: &'static str,
    out: &'o mut [MaybeUninit<u8>],
) -> Result<&'o [u8], MalformedToken> {
    (!segment.is_empty())
        .then(|| b64::decode(segment.as_bytes(), out))
        .flatten()
        .ok_or_else(|| segment_error(segment, name))
}

/// Decodes one non-empty segment into a vector of its own.
pub(crate) fn decode_segment_to_vec(
    segment: &str,
    name: &'static str,
) -> Result<Vec<u8>, MalformedToken> {
    (!segment.is_empty())
        .then(|| b64::decode_to_vec(segment.as_bytes()))
        .flatten()
        .ok_or_else(|| segment_error(segment, name))
}

/// Why `segment` did not decode.
#[cold]
fn segment_error(segment: &str, name: &'static str) -> MalformedToken {
    match segment.matches('.').count() {
        0 => MalformedToken::Base64 { segment: name },
        // Only the payload segment can hold a dot: the token has more than 3 segments.
        extra => MalformedToken::Segments {
            segments: 3 + extra,
        },
    }
}

/// A token's header and claims, read **without checking the signature or any claim**.
///
/// For diagnostics and for credential providers, which hand the token to STS and only want to
/// know, say, when it expires. Nothing here is trustworthy: verify with
/// [`Verifier`](super::Verifier) before acting on it.
///
/// ```
/// use irsa::token::UnverifiedToken;
///
/// // {"alg":"RS256","kid":"k"} . {"sub":"system:serviceaccount:ns:sa","exp":1700000000}
/// let token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.\
///     eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bnM6c2EiLCJleHAiOjE3MDAwMDAwMDB9.c2ln";
/// let unverified = UnverifiedToken::inspect(token)?;
/// assert_eq!(unverified.header().alg, "RS256");
/// assert_eq!(unverified.claims_unverified().exp, Some(1_700_000_000));
/// # Ok::<(), irsa::token::MalformedToken>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnverifiedToken {
    header: Header<'static>,
    claims: Claims<'static>,
}

impl UnverifiedToken {
    /// Splits and decodes a token, applying the structural rules (length, three segments,
    /// strict base64url, strict JSON) but not the signature or claim rules.
    pub fn inspect(token: &str) -> Result<UnverifiedToken, MalformedToken> {
        let segments = split(token)?;
        let buf = decode_segment_to_vec(segments.header, "header")?;
        let header = Header::from_json(&buf)
            .map_err(|source| MalformedToken::Json {
                segment: "header",
                source,
            })?
            .into_owned();
        let buf = decode_segment_to_vec(segments.payload, "payload")?;
        let claims = Claims::from_json(&buf)
            .map_err(|source| MalformedToken::Json {
                segment: "payload",
                source,
            })?
            .into_owned();
        decode_segment_to_vec(segments.signature, "signature")?;
        Ok(UnverifiedToken { header, claims })
    }

    /// The header, unverified.
    pub fn header(&self) -> &Header<'static> {
        &self.header
    }

    /// The claims, unverified: anyone can write anything here.
    pub fn claims_unverified(&self) -> &Claims<'static> {
        &self.claims
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_rules() {
        assert_eq!(
            split("ab.cd").err(),
            Some(MalformedToken::Segments { segments: 2 })
        );
        // Extra dots end up in the payload segment, which then fails to decode as such.
        let payload = split("a.b.c.d").map(|s| s.payload).ok();
        assert_eq!(payload, Some("b.c"));
        assert_eq!(
            decode_segment("b.c", "payload", &mut [MaybeUninit::uninit(); 8]).err(),
            Some(MalformedToken::Segments { segments: 4 })
        );
        assert_eq!(
            split("abcd").err(),
            Some(MalformedToken::Segments { segments: 1 })
        );
        assert_eq!(split("..").err(), Some(MalformedToken::Length { len: 2 }));
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(
            split(&long).err(),
            Some(MalformedToken::Length { len: 20_001 })
        );
        for bad in ["YQ==", "YQ=", "a+b", "a/b", "YR", "Y Q", ""] {
            assert!(decode_segment_to_vec(bad, "payload").is_err(), "{bad}");
            let mut out = [MaybeUninit::uninit(); 4];
            assert!(decode_segment(bad, "payload", &mut out).is_err(), "{bad}");
        }
        assert_eq!(decode_segment_to_vec("YQ", "payload").unwrap(), b"a");
    }
}
