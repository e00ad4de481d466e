//! The provider's errors: configuration that cannot work, and failures to get credentials, each
//! with what to do about it.

use std::path::PathBuf;
use std::time::Duration;

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
    /// The role ARN is not an IAM role ARN.
    #[error(
        "role ARN {input:?} is not an IAM role ARN: expected arn:PARTITION:iam::ACCOUNT:role/NAME"
    )]
    InvalidRoleArn {
        /// The value given.
        input: String,
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

/// What went wrong getting credentials. Messages say what to do; none carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The token file is missing or empty and no earlier token is known.
    #[error("no web identity token in {} ({reason}): is the projected service-account token volume mounted?", path.display())]
    TokenUnavailable {
        /// The token file.
        path: PathBuf,
        /// Why it could not be read.
        reason: String,
    },
    /// STS answered with an error.
    #[error("sts:AssumeRoleWithWebIdentity for {role_arn} failed with {code}: {message}{}", hint.map(|h| format!(" — {h}")).unwrap_or_default())]
    Sts {
        /// The role.
        role_arn: String,
        /// STS's error code, e.g. `AccessDenied`.
        code: String,
        /// STS's message.
        message: String,
        /// What to do about it, where known.
        hint: Option<&'static str>,
        /// Whether trying again can succeed without a change on the caller's side.
        retryable: bool,
    },
    /// STS could not be reached or did not answer in time.
    #[error("sts:AssumeRoleWithWebIdentity for {role_arn} could not be sent or answered: {reason}")]
    Transport {
        /// The role.
        role_arn: String,
        /// What the client said.
        reason: String,
    },
    /// STS answered without credentials.
    #[error("STS answered sts:AssumeRoleWithWebIdentity for {role_arn} without credentials")]
    NoCredentials {
        /// The role.
        role_arn: String,
    },
    /// No credentials arrived within the load timeout.
    #[error("no credentials within {0:?}; the last attempt said: {1}")]
    TimedOut(Duration, String),
}

impl ProviderError {
    /// Whether trying again soon can succeed (throttling, STS or IdP outages, timeouts).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Sts { retryable, .. } => *retryable,
            Self::Transport { .. } | Self::TimedOut(..) | Self::NoCredentials { .. } => true,
            Self::TokenUnavailable { .. } => true,
        }
    }

    /// Whether a new token can fix it, so the next attempt should follow the token file's
    /// next change.
    pub fn is_token_problem(&self) -> bool {
        match self {
            Self::Sts { code, .. } => {
                matches!(
                    code.as_str(),
                    "ExpiredTokenException" | "InvalidIdentityToken"
                )
            }
            Self::TokenUnavailable { .. } => true,
            _ => false,
        }
    }
}

/// Classifies an STS error code and message: whether to retry, and a hint for people.
pub(super) fn classify(code: &str, message: &str) -> (bool, Option<&'static str>) {
    match code {
        "AccessDenied" => (
            false,
            Some(
                "the role's trust policy does not admit this token: its :sub or :aud conditions (or the Federated principal) do not match; `irsa explain` shows which",
            ),
        ),
        "InvalidIdentityToken" if message.contains("Couldn't retrieve verification key") => (
            true,
            Some(
                "STS could not fetch the issuer's JWKS; usually transient, else check that the discovery documents are public",
            ),
        ),
        "InvalidIdentityToken" if message.contains("No OpenIDConnect provider") => (
            false,
            Some(
                "create the IAM OIDC provider for this issuer in the role's account (`irsa discovery` prints it), with the exact issuer URL",
            ),
        ),
        "InvalidIdentityToken" => (
            false,
            Some("STS rejected the token; `irsa verify` judges it offline with the precise reason"),
        ),
        "ExpiredTokenException" => (
            false,
            Some(
                "the token has expired; the kubelet rotates it — the next attempt uses the token file's next version",
            ),
        ),
        "IDPRejectedClaim" => (
            false,
            Some("the identity provider rejected a claim of the token"),
        ),
        "MalformedPolicyDocument" | "PackedPolicyTooLarge" => {
            (false, Some("fix the session policy given to the provider"))
        }
        "RegionDisabledException" => (
            false,
            Some("activate STS in this region for the account, or use another region"),
        ),
        "ValidationError" => (false, None),
        "IDPCommunicationError"
        | "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "RequestThrottled"
        | "InternalFailure"
        | "InternalError"
        | "ServiceUnavailable"
        | "RequestTimeout"
        | "RequestTimeoutException" => (true, None),
        // Unknown codes: not retried in a loop; the next caller's demand tries again.
        _ => (false, None),
    }
}
