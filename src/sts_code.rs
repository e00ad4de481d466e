//! The error codes STS answers: one vocabulary for the verifier's predictions, the doctor, the
//! credential provider's view of real answers and the local STS server.

use std::fmt;
use std::str::FromStr;

/// STS's message when it cannot get a provider's keys; the double space is STS's.
#[cfg(any(feature = "sts", feature = "doctor"))]
pub(crate) const KEY_FETCH_MESSAGE: &str = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements";

/// An error code STS answers, as it writes it on the wire.
///
/// ```
/// use irsa::StsErrorCode;
///
/// let code: StsErrorCode = "IDPCommunicationError".parse()?;
/// assert_eq!(code, StsErrorCode::IdpCommunicationError);
/// assert!(code.is_retryable());
/// assert_eq!(code.http_status(), 400);
/// assert_eq!(StsErrorCode::AccessDenied.to_string(), "AccessDenied");
/// # Ok::<(), irsa::UnknownStsErrorCode>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StsErrorCode {
    /// `InvalidIdentityToken`: the token could not be validated (unknown provider, signature,
    /// audience, claims), or its keys could not be fetched.
    InvalidIdentityToken,
    /// `ExpiredTokenException`: the token is past its `exp` beyond the allowed skew.
    ExpiredTokenException,
    /// `AccessDenied`: the token is valid but the role's trust policy does not allow it.
    AccessDenied,
    /// `IDPCommunicationError`: the identity provider could not be reached; transient.
    IdpCommunicationError,
    /// `IDPRejectedClaim`: the identity provider rejected a claim.
    IdpRejectedClaim,
    /// `MalformedPolicyDocument`: the session policy is not a valid policy.
    MalformedPolicyDocument,
    /// `PackedPolicyTooLarge`: session policies and tags exceed the packed size limit.
    PackedPolicyTooLarge,
    /// `RegionDisabledException`: STS is not activated in the region for the account.
    RegionDisabledException,
    /// `ValidationError`: a parameter breaks its constraint.
    ValidationError,
    /// `Throttling`: too many requests; retry later.
    Throttling,
    /// `InternalFailure`: STS failed; retry later.
    InternalFailure,
    /// `ServiceUnavailable`: STS is unavailable; retry later.
    ServiceUnavailable,
    /// `InvalidAction`: the `Action` is not an STS operation.
    InvalidAction,
    /// `MissingAuthenticationToken`: a signed operation was called without a signature.
    MissingAuthenticationToken,
    /// `IncompleteSignature`: the `Authorization` header is malformed.
    IncompleteSignature,
    /// `InvalidClientTokenId`: the access key (or its session token) is not known.
    InvalidClientTokenId,
    /// `SignatureDoesNotMatch`: the signature, or the request's time, is wrong.
    SignatureDoesNotMatch,
    /// `ExpiredToken`: the session credentials that signed the request have expired.
    ExpiredToken,
}

impl StsErrorCode {
    /// Every code.
    pub const ALL: [StsErrorCode; 18] = [
        StsErrorCode::InvalidIdentityToken,
        StsErrorCode::ExpiredTokenException,
        StsErrorCode::AccessDenied,
        StsErrorCode::IdpCommunicationError,
        StsErrorCode::IdpRejectedClaim,
        StsErrorCode::MalformedPolicyDocument,
        StsErrorCode::PackedPolicyTooLarge,
        StsErrorCode::RegionDisabledException,
        StsErrorCode::ValidationError,
        StsErrorCode::Throttling,
        StsErrorCode::InternalFailure,
        StsErrorCode::ServiceUnavailable,
        StsErrorCode::InvalidAction,
        StsErrorCode::MissingAuthenticationToken,
        StsErrorCode::IncompleteSignature,
        StsErrorCode::InvalidClientTokenId,
        StsErrorCode::SignatureDoesNotMatch,
        StsErrorCode::ExpiredToken,
    ];

    /// The code as STS writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            StsErrorCode::InvalidIdentityToken => "InvalidIdentityToken",
            StsErrorCode::ExpiredTokenException => "ExpiredTokenException",
            StsErrorCode::AccessDenied => "AccessDenied",
            StsErrorCode::IdpCommunicationError => "IDPCommunicationError",
            StsErrorCode::IdpRejectedClaim => "IDPRejectedClaim",
            StsErrorCode::MalformedPolicyDocument => "MalformedPolicyDocument",
            StsErrorCode::PackedPolicyTooLarge => "PackedPolicyTooLarge",
            StsErrorCode::RegionDisabledException => "RegionDisabledException",
            StsErrorCode::ValidationError => "ValidationError",
            StsErrorCode::Throttling => "Throttling",
            StsErrorCode::InternalFailure => "InternalFailure",
            StsErrorCode::ServiceUnavailable => "ServiceUnavailable",
            StsErrorCode::InvalidAction => "InvalidAction",
            StsErrorCode::MissingAuthenticationToken => "MissingAuthenticationToken",
            StsErrorCode::IncompleteSignature => "IncompleteSignature",
            StsErrorCode::InvalidClientTokenId => "InvalidClientTokenId",
            StsErrorCode::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            StsErrorCode::ExpiredToken => "ExpiredToken",
        }
    }

    /// The HTTP status STS answers the code with.
    pub const fn http_status(self) -> u16 {
        match self {
            StsErrorCode::AccessDenied
            | StsErrorCode::IdpRejectedClaim
            | StsErrorCode::RegionDisabledException
            | StsErrorCode::MissingAuthenticationToken
            | StsErrorCode::InvalidClientTokenId
            | StsErrorCode::SignatureDoesNotMatch
            | StsErrorCode::ExpiredToken => 403,
            StsErrorCode::InternalFailure => 500,
            StsErrorCode::ServiceUnavailable => 503,
            _ => 400,
        }
    }

    /// Whether the same request can succeed later without a change on the caller's side: the
    /// identity provider's or STS's own outages and throttling. (`InvalidIdentityToken` for a
    /// key fetch that failed is transient too, which only its message tells.)
    pub const fn is_retryable(self) -> bool {
        matches!(
            self,
            StsErrorCode::IdpCommunicationError
                | StsErrorCode::Throttling
                | StsErrorCode::InternalFailure
                | StsErrorCode::ServiceUnavailable
        )
    }

    /// Whether another token can fix it.
    pub const fn is_token_problem(self) -> bool {
        matches!(
            self,
            StsErrorCode::InvalidIdentityToken | StsErrorCode::ExpiredTokenException
        )
    }
}

impl fmt::Display for StsErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StsErrorCode {
    type Err = UnknownStsErrorCode;

    fn from_str(s: &str) -> Result<Self, UnknownStsErrorCode> {
        StsErrorCode::ALL
            .into_iter()
            .find(|code| code.as_str() == s)
            .ok_or_else(|| UnknownStsErrorCode { code: s.to_owned() })
    }
}

/// A code that is not one of [`StsErrorCode`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?} is not an STS error code this crate knows")]
#[non_exhaustive]
pub struct UnknownStsErrorCode {
    /// The code as given.
    pub code: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_and_has_its_status() {
        for code in StsErrorCode::ALL {
            assert_eq!(code.as_str().parse::<StsErrorCode>(), Ok(code));
        }
        let statuses: Vec<(&str, u16)> = StsErrorCode::ALL
            .into_iter()
            .filter(|c| c.http_status() != 400)
            .map(|c| (c.as_str(), c.http_status()))
            .collect();
        assert_eq!(
            statuses,
            [
                ("AccessDenied", 403),
                ("IDPRejectedClaim", 403),
                ("RegionDisabledException", 403),
                ("InternalFailure", 500),
                ("ServiceUnavailable", 503),
                ("MissingAuthenticationToken", 403),
                ("InvalidClientTokenId", 403),
                ("SignatureDoesNotMatch", 403),
                ("ExpiredToken", 403),
            ]
        );
        assert_eq!(
            "Nope".parse::<StsErrorCode>().unwrap_err().to_string(),
            "\"Nope\" is not an STS error code this crate knows"
        );
    }
}
