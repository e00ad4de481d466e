//! The provider's errors: configuration that cannot work, and failures to get credentials, each
//! with what to do about it and its cause behind `source()`.

use std::error::Error;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::StsErrorCode;
use crate::arn::{ArnError, RoleArn};
use crate::token::SecretError;

/// The web-identity configuration cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A profile names a token file but no role.
    #[error("profile {profile} in {} has web_identity_token_file but no role_arn: add role_arn = arn:aws:iam::ACCOUNT:role/NAME to it", path.display())]
    ProfileWithoutRole {
        /// The profile.
        profile: String,
        /// The config file.
        path: PathBuf,
    },
    /// A profile value does not parse.
    #[error("profile {profile}: {key} = {input:?} is not a number of seconds")]
    InvalidProfileValue {
        /// The profile.
        profile: String,
        /// The key.
        key: &'static str,
        /// The value.
        input: String,
    },
    /// The shared config file could not be read or parsed.
    #[error("the shared config file cannot be loaded")]
    Profile(#[source] ProfileLoadError),
    /// The role ARN is not an IAM role ARN.
    #[error("the role ARN is not usable: give arn:PARTITION:iam::ACCOUNT:role/NAME")]
    InvalidRoleArn {
        /// The value given.
        input: String,
        /// Why it does not parse.
        #[source]
        source: ArnError,
    },
    /// The session name breaks STS's rule.
    #[error(
        "role session name {input:?} is not valid for STS: use 2 to 64 characters of letters, digits and _+=,.@-"
    )]
    InvalidSessionName {
        /// The value given.
        input: String,
    },
    /// The duration is outside STS's range.
    #[error(
        "session duration {input} s is outside STS's range: use 900 to 43200 seconds (and at most the role's MaxSessionDuration)"
    )]
    InvalidDuration {
        /// The value given, in seconds.
        input: String,
    },
}

/// The SDK's parser's reason for not loading the shared config files.
#[derive(Debug, Clone)]
pub struct ProfileLoadError(Option<Arc<dyn Error + Send + Sync>>);

impl ProfileLoadError {
    pub(super) fn load(error: aws_runtime::env_config::error::EnvConfigFileLoadError) -> Self {
        ProfileLoadError(Some(Arc::new(error)))
    }

    pub(crate) fn parse(error: aws_runtime::env_config::parse::EnvConfigParseError) -> Self {
        ProfileLoadError(Some(Arc::new(error)))
    }

    /// Loading given contents did not complete at once (it reads no file, so it always does).
    pub(crate) fn pending() -> Self {
        ProfileLoadError(None)
    }
}

// Two load errors are equal when they say the same: the SDK's errors cannot be compared.
impl PartialEq for ProfileLoadError {
    fn eq(&self, other: &Self) -> bool {
        let text = |e: &Self| e.0.as_ref().map(|e| crate::error_text::chain(&**e));
        text(self) == text(other)
    }
}

impl Eq for ProfileLoadError {}

impl fmt::Display for ProfileLoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(_) => f.write_str("the SDK's profile parser refused it"),
            None => f.write_str("the SDK's profile loader did not complete"),
        }
    }
}

impl Error for ProfileLoadError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.0 {
            Some(error) => Some(&**error),
            None => None,
        }
    }
}

/// Why the token file gave no token.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TokenFileError {
    /// The file could not be opened or read.
    #[error("the file cannot be read")]
    Io(#[source] Arc<std::io::Error>),
    /// The file is larger than any token.
    #[error("the file is larger than {limit} bytes, so it is not a token")]
    TooLarge {
        /// The largest file read.
        limit: u64,
    },
    /// The file's content is no token.
    #[error("the file holds no usable token")]
    Content(#[source] SecretError),
}

/// What went wrong getting credentials. Messages say what to do; none carries a secret.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The token file is missing or empty and no earlier token is known.
    #[error("no web identity token in {}: is the projected service-account token volume mounted?", path.display())]
    TokenUnavailable {
        /// The token file.
        path: PathBuf,
        /// Why it gave no token.
        #[source]
        source: TokenFileError,
    },
    /// STS answered with an error (boxed: the answer is larger than every other variant).
    #[error(transparent)]
    Sts(Box<StsFailure>),
    /// STS could not be reached, or answered with something that is not STS's.
    #[error("sts:AssumeRoleWithWebIdentity for {role_arn} could not be sent or answered")]
    Transport {
        /// The role.
        role_arn: RoleArn,
        /// What the client said.
        #[source]
        source: TransportError,
    },
    /// STS answered without credentials.
    #[error("STS answered sts:AssumeRoleWithWebIdentity for {role_arn} without credentials")]
    NoCredentials {
        /// The role.
        role_arn: RoleArn,
    },
    /// STS's credentials were already inside their refresh window by the local clock: the
    /// node's clock is most likely ahead.
    #[error(
        "STS's credentials for {role_arn} expire {expires_in_s} s from now by this machine's clock, inside their refresh window; the clock looks {skew_s} s ahead of STS's: synchronise it (NTP, chrony)"
    )]
    ExpiredOnArrival {
        /// The role.
        role_arn: RoleArn,
        /// Seconds to their expiry by the local clock (negative: already expired).
        expires_in_s: i64,
        /// How far the local clock is ahead of STS's `Date` header (or, without one, of the
        /// expiry STS set less the lifetime asked for), in seconds.
        skew_s: i64,
    },
    /// No credentials arrived within the load timeout.
    #[error("no credentials within {after:?}")]
    TimedOut {
        /// The load timeout.
        after: Duration,
        /// The last attempt's failure, if one had ended.
        #[source]
        last: Option<Box<ProviderError>>,
    },
}

impl ProviderError {
    /// Whether trying again soon can succeed (throttling, STS or IdP outages, timeouts).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Sts(failure) => failure.retryable,
            Self::Transport { .. }
            | Self::TimedOut { .. }
            | Self::NoCredentials { .. }
            | Self::ExpiredOnArrival { .. } => true,
            Self::TokenUnavailable { .. } => true,
        }
    }

    /// Whether a new token can fix it, so the next attempt should follow the token file's
    /// next change.
    pub fn is_token_problem(&self) -> bool {
        match self {
            Self::Sts(failure) => failure.code.is_some_and(StsErrorCode::is_token_problem),
            Self::TokenUnavailable { .. } => true,
            _ => false,
        }
    }

    /// STS's answer, when STS answered with an error.
    pub fn sts_failure(&self) -> Option<&StsFailure> {
        match self {
            Self::Sts(failure) => Some(failure),
            Self::TimedOut {
                last: Some(last), ..
            } => last.sts_failure(),
            _ => None,
        }
    }
}

/// An error answer of STS to `AssumeRoleWithWebIdentity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsFailure {
    role_arn: RoleArn,
    code: Option<StsErrorCode>,
    code_text: String,
    message: String,
    hint: Option<&'static str>,
    retryable: bool,
}

impl StsFailure {
    /// Classifies STS's answer `code` / `message` (with its HTTP `status`) for `role_arn`.
    pub(crate) fn new(role_arn: RoleArn, code: &str, message: &str, status: u16) -> Self {
        let known = code.parse::<StsErrorCode>().ok();
        let (retryable, hint) = classify(known, code, message);
        StsFailure {
            role_arn,
            code: known,
            code_text: code.to_owned(),
            message: message.to_owned(),
            hint,
            retryable: retryable || status >= 500,
        }
    }

    /// The role.
    pub fn role_arn(&self) -> &RoleArn {
        &self.role_arn
    }

    /// The error code, when it is one of STS's that this crate knows.
    pub fn code(&self) -> Option<StsErrorCode> {
        self.code
    }

    /// The error code as STS wrote it.
    pub fn code_str(&self) -> &str {
        &self.code_text
    }

    /// STS's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What to do about it, where known.
    pub fn hint(&self) -> Option<&'static str> {
        self.hint
    }

    /// Whether trying again can succeed without a change on the caller's side.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

impl fmt::Display for StsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sts:AssumeRoleWithWebIdentity for {} failed with {}: {}",
            self.role_arn, self.code_text, self.message
        )?;
        match self.hint {
            Some(hint) => write!(f, " ({hint})"),
            None => Ok(()),
        }
    }
}

impl Error for StsFailure {}

/// Why a request did not reach STS, or its answer was not STS's.
#[derive(Debug, Clone)]
pub struct TransportError(TransportCause);

#[derive(Debug, Clone)]
enum TransportCause {
    NotSts { status: u16 },
    Client(Arc<dyn Error + Send + Sync>),
}

impl TransportError {
    pub(crate) fn not_sts(status: u16) -> Self {
        TransportError(TransportCause::NotSts { status })
    }

    pub(crate) fn client(error: impl Error + Send + Sync + 'static) -> Self {
        TransportError(TransportCause::Client(Arc::new(error)))
    }

    /// The HTTP status of an answer that was not STS's, if one came.
    pub fn status(&self) -> Option<u16> {
        match self.0 {
            TransportCause::NotSts { status } => Some(status),
            TransportCause::Client(_) => None,
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            TransportCause::NotSts { status } => {
                write!(f, "HTTP {status} with a response that is not STS's")
            }
            TransportCause::Client(_) => f.write_str("the SDK's client failed"),
        }
    }
}

impl Error for TransportError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.0 {
            TransportCause::NotSts { .. } => None,
            TransportCause::Client(error) => Some(&**error),
        }
    }
}

/// Whether to retry, and a hint for people (naming no command: the binary adds those).
fn classify(
    code: Option<StsErrorCode>,
    code_text: &str,
    message: &str,
) -> (bool, Option<&'static str>) {
    use StsErrorCode as C;
    let Some(code) = code else {
        // Throttling and outage codes of the wider AWS family are retried; other unknown codes
        // are not retried in a loop, and the next caller's demand tries again.
        let transient = matches!(
            code_text,
            "ThrottlingException"
                | "RequestLimitExceeded"
                | "TooManyRequestsException"
                | "RequestThrottled"
                | "InternalError"
                | "RequestTimeout"
                | "RequestTimeoutException"
        );
        return (transient, None);
    };
    let hint = match code {
        C::AccessDenied => Some(
            "the role's trust policy does not admit this token: its :sub or :aud conditions (or the Federated principal) do not match",
        ),
        C::InvalidIdentityToken if message.contains("Couldn't retrieve verification key") => {
            return (
                true,
                Some(
                    "STS could not fetch the issuer's JWKS; usually transient, else check that the discovery documents are public",
                ),
            );
        }
        C::InvalidIdentityToken if message.contains("No OpenIDConnect provider") => Some(
            "create the IAM OIDC provider for this issuer in the role's account, with the exact issuer URL",
        ),
        C::InvalidIdentityToken => Some("STS rejected the token"),
        C::ExpiredTokenException => Some(
            "the token has expired; the kubelet rotates it, and the next attempt uses the token file's next version",
        ),
        C::IdpRejectedClaim => Some("the identity provider rejected a claim of the token"),
        C::MalformedPolicyDocument | C::PackedPolicyTooLarge => {
            Some("fix the session policy given to the provider")
        }
        C::RegionDisabledException => {
            Some("activate STS in this region for the account, or use another region")
        }
        _ => None,
    };
    (code.is_retryable(), hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: &str, message: &str, status: u16) -> StsFailure {
        let role = "arn:aws:iam::111122223333:role/r".parse().unwrap();
        StsFailure::new(role, code, message, status)
    }

    #[test]
    fn sts_answers_are_classified_by_code() {
        let cases = [
            ("AccessDenied", "Not authorized", 403, false),
            ("IDPCommunicationError", "try again", 400, true),
            (
                "InvalidIdentityToken",
                "Couldn't retrieve verification key from your identity provider",
                400,
                true,
            ),
            (
                "InvalidIdentityToken",
                "No OpenIDConnect provider found in your account for https://x",
                400,
                false,
            ),
            ("ThrottlingException", "slow down", 400, true),
            ("SomethingNew", "?", 400, false),
            ("SomethingNew", "?", 502, true),
        ];
        for (code, message, status, retryable) in cases {
            assert_eq!(
                failure(code, message, status).is_retryable(),
                retryable,
                "{code} {message}"
            );
        }
        let denied = failure(
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
            403,
        );
        assert_eq!(denied.code(), Some(StsErrorCode::AccessDenied));
        assert_eq!(
            denied.to_string(),
            "sts:AssumeRoleWithWebIdentity for arn:aws:iam::111122223333:role/r failed with AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity (the role's trust policy does not admit this token: its :sub or :aud conditions (or the Federated principal) do not match)"
        );
        assert_eq!(failure("SomethingNew", "?", 400).code(), None);
        assert_eq!(failure("SomethingNew", "?", 400).code_str(), "SomethingNew");
    }

    #[test]
    fn messages_and_causes() {
        let role: RoleArn = "arn:aws:iam::111122223333:role/r".parse().unwrap();
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let cases: Vec<(Box<dyn Error>, &str)> = vec![
            (
                Box::new(ProviderError::TokenUnavailable {
                    path: "/t".into(),
                    source: TokenFileError::Io(Arc::new(io)),
                }),
                "no web identity token in /t: is the projected service-account token volume mounted?: the file cannot be read: gone",
            ),
            (
                Box::new(ProviderError::TokenUnavailable {
                    path: "/t".into(),
                    source: TokenFileError::TooLarge { limit: 65536 },
                }),
                "no web identity token in /t: is the projected service-account token volume mounted?: the file is larger than 65536 bytes, so it is not a token",
            ),
            (
                Box::new(ProviderError::Transport {
                    role_arn: role.clone(),
                    source: TransportError::not_sts(502),
                }),
                "sts:AssumeRoleWithWebIdentity for arn:aws:iam::111122223333:role/r could not be sent or answered: HTTP 502 with a response that is not STS's",
            ),
            (
                Box::new(ProviderError::NoCredentials {
                    role_arn: role.clone(),
                }),
                "STS answered sts:AssumeRoleWithWebIdentity for arn:aws:iam::111122223333:role/r without credentials",
            ),
            (
                Box::new(ProviderError::TimedOut {
                    after: Duration::from_secs(20),
                    last: Some(Box::new(ProviderError::Sts(Box::new(failure(
                        "Throttling",
                        "Rate exceeded",
                        400,
                    ))))),
                }),
                "no credentials within 20s: sts:AssumeRoleWithWebIdentity for arn:aws:iam::111122223333:role/r failed with Throttling: Rate exceeded",
            ),
            (
                Box::new(ConfigError::InvalidRoleArn {
                    input: "arn:aws:iam::1:user/u".to_owned(),
                    source: "arn:aws:iam::1:user/u".parse::<RoleArn>().unwrap_err(),
                }),
                "the role ARN is not usable: give arn:PARTITION:iam::ACCOUNT:role/NAME: invalid account ID \"1\": an AWS account ID is exactly 12 digits",
            ),
            (
                Box::new(ConfigError::InvalidSessionName {
                    input: "a b".to_owned(),
                }),
                "role session name \"a b\" is not valid for STS: use 2 to 64 characters of letters, digits and _+=,.@-",
            ),
            (
                Box::new(ConfigError::InvalidDuration {
                    input: "60".to_owned(),
                }),
                "session duration 60 s is outside STS's range: use 900 to 43200 seconds (and at most the role's MaxSessionDuration)",
            ),
            (
                Box::new(ConfigError::InvalidProfileValue {
                    profile: "p".to_owned(),
                    key: "duration_seconds",
                    input: "soon".to_owned(),
                }),
                "profile p: duration_seconds = \"soon\" is not a number of seconds",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(crate::error_text::chain(&*error), text);
        }
    }
}
