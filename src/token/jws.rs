//! The compact JWS form of a token: splitting, strict base64url, and inspection without
//! verification.

use super::b64;
use super::claims::{Claims, ClaimsError, Header};

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
    // A dot in the signature segment is caught when it fails to decode (see `decode_segment`),
    // which spares scanning it here.
    let first = token.find('.');
    let second = first.and_then(|f| token.get(f + 1..)?.find('.').map(|s| f + 1 + s));
    let (Some(first), Some(second)) = (first, second) else {
        return Err(MalformedToken::Segments {
            segments: token.split('.').count(),
        });
    };
    let (signing_input, signature) = (&token[..second], &token[second + 1..]);
    Ok(Segments {
        signing_input,
        header: &token[..first],
        payload: &token[first + 1..second],
        signature,
    })
}

/// Decodes one segment into `out` (cleared first).
pub(crate) fn decode_into(
    segment: &str,
    name: &'static str,
    out: &mut Vec<u8>,
) -> Result<(), MalformedToken> {
    out.clear();
    out.resize(b64::decoded_len(segment.len()), 0);
    let len = decode_segment(segment, name, out)?.len();
    out.truncate(len);
    Ok(())
}

/// Decodes one non-empty segment into the front of `out` (at least
/// `b64::decoded_len(segment.len())` bytes), returning the decoded bytes.
pub(crate) fn decode_segment<'o>(
    segment: &str,
    name: &'static str,
    out: &'o mut [u8],
) -> Result<&'o [u8], MalformedToken> {
    let len = (!segment.is_empty())
        .then(|| b64::decode(segment.as_bytes(), out))
        .flatten()
        .ok_or_else(|| match segment.matches('.').count() {
            0 => MalformedToken::Base64 { segment: name },
            // Only the signature segment can hold a dot: the token has more than 3 segments.
            extra => MalformedToken::Segments {
                segments: 3 + extra,
            },
        })?;
    Ok(out.get(..len).unwrap_or_default())
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
        let mut buf = Vec::new();
        decode_into(segments.header, "header", &mut buf)?;
        let header = Header::from_json(&buf)
            .map_err(|source| MalformedToken::Json {
                segment: "header",
                source,
            })?
            .into_owned();
        decode_into(segments.payload, "payload", &mut buf)?;
        let claims = Claims::from_json(&buf)
            .map_err(|source| MalformedToken::Json {
                segment: "payload",
                source,
            })?
            .into_owned();
        decode_into(segments.signature, "signature", &mut buf)?;
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
        // Extra dots end up in the signature segment, which then fails to decode as such.
        let signature = split("a.b.c.d").map(|s| s.signature).ok();
        assert_eq!(signature, Some("c.d"));
        assert_eq!(
            decode_segment("c.d", "signature", &mut [0; 8]).err(),
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
        let mut out = Vec::new();
        for bad in ["YQ==", "YQ=", "a+b", "a/b", "YR", "Y Q", ""] {
            assert!(decode_into(bad, "payload", &mut out).is_err(), "{bad}");
        }
        decode_into("YQ", "payload", &mut out).unwrap();
        assert_eq!(out, b"a");
    }
}
