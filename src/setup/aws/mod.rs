//! Reading and changing AWS with the real SDKs: observe, apply, verify.
//!
//! One file per verb: `observe.rs` reads, `apply.rs` changes (waiting out IAM's eventual
//! consistency), `verify.rs` checks the documents as an anonymous client sees them.

mod apply;
mod observe;
mod verify;

use std::time::Duration;

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep, TokioSleep};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::file::SetupFile;
use super::plan::{Desired, Observed, Plan, PlanError, PlanOptions, plan};
use crate::arn::AccountId;
use crate::http::client::{HttpsClient, client as https_client};

pub use verify::{DocumentCheck, Verification};

/// How many roles are read at once.
pub(super) const READ_CONCURRENCY: usize = 8;
/// The most a document read may take and weigh (STS's own limits are tighter).
pub(super) const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
pub(super) const FETCH_MAX_BYTES: usize = 1 << 20;
/// Waiting for IAM's eventual consistency: 250 ms doubling to 8 s, about two minutes in all
/// (Terraform's `propagationTimeout`).
pub(super) const PROPAGATION_DELAYS_MS: [u64; 20] = [
    250, 500, 1000, 2000, 4000, 8000, 8000, 8000, 8000, 8000, 8000, 8000, 8000, 8000, 8000, 8000,
    8000, 8000, 8000, 8000,
];

/// The AWS clients `irsa setup` uses: S3 in the issuer's region, IAM, STS (for the account
/// when the file does not name it), and an anonymous HTTPS client for the published
/// documents.
#[derive(Debug, Clone)]
pub struct Aws {
    pub(super) s3: aws_sdk_s3::Client,
    pub(super) iam: aws_sdk_iam::Client,
    pub(super) sts: aws_sdk_sts::Client,
    pub(super) http: HttpsClient,
    pub(super) public_base: Option<String>,
    pub(super) sleep: SharedAsyncSleep,
}

/// Why reading or changing AWS failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// An AWS call failed.
    #[error("{call} on {target} failed: {code}: {message}")]
    Aws {
        /// The call, e.g. `iam:GetRole`.
        call: &'static str,
        /// What it was about.
        target: String,
        /// AWS's error code (or the transport's failure kind).
        code: String,
        /// AWS's message (or the transport's error).
        message: String,
    },
    /// The plan cannot be made.
    #[error("cannot plan the changes")]
    Plan(#[source] PlanError),
    /// A document AWS returned is not what it should be.
    #[error("{what}: {fix}")]
    Unexpected {
        /// Which document.
        what: String,
        /// What to do.
        fix: String,
    },
    /// A created resource did not become readable in time.
    #[error(
        "{what} was created but is still not readable after about two minutes (IAM is eventually consistent): run the setup again"
    )]
    NotPropagated {
        /// What.
        what: String,
    },
    /// No HTTPS client could be built (system roots unreadable).
    #[error("cannot build the HTTPS client for the anonymous checks")]
    Https(#[source] crate::http::CaError),
}

pub(super) fn aws_error<E>(
    call: &'static str,
    target: &str,
    err: &SdkError<E, HttpResponse>,
) -> SetupError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (code, message) = match err {
        SdkError::ServiceError(service) => (
            service.err().code().unwrap_or("Unknown").to_owned(),
            service
                .err()
                .message()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("HTTP {}", service.raw().status().as_u16())),
        ),
        other => (
            "RequestFailed".to_owned(),
            aws_smithy_types::error::display::DisplayErrorContext(other).to_string(),
        ),
    };
    SetupError::Aws {
        call,
        target: target.to_owned(),
        code,
        message,
    }
}

/// Ends a mutating call: its output is not needed, its error is named.
pub(super) trait Done {
    fn done(self, call: &'static str, target: &str) -> Result<(), SetupError>;
}

impl<T, E> Done for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn done(self, call: &'static str, target: &str) -> Result<(), SetupError> {
        self.map(drop).map_err(|e| aws_error(call, target, &e))
    }
}

pub(super) fn code_of<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<&str> {
    err.as_service_error().and_then(ProvideErrorMetadata::code)
}

pub(super) fn status_of<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

impl Aws {
    /// Clients from `config` (credentials, endpoints), with S3 in `region`.
    pub fn new(config: &aws_types::SdkConfig, region: &str) -> Result<Aws, SetupError> {
        let region = aws_types::region::Region::new(region.to_owned());
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .region(region.clone())
            .build();
        let global = config.region().cloned().unwrap_or(region);
        let iam = aws_sdk_iam::config::Builder::from(config)
            .region(global.clone())
            .build();
        let sts = aws_sdk_sts::config::Builder::from(config)
            .region(global)
            .build();
        Ok(Aws {
            s3: aws_sdk_s3::Client::from_conf(s3),
            iam: aws_sdk_iam::Client::from_conf(iam),
            sts: aws_sdk_sts::Client::from_conf(sts),
            http: https_client(&[], &[]).map_err(SetupError::Https)?,
            public_base: None,
            sleep: SharedAsyncSleep::new(TokioSleep::new()),
        })
    }

    /// Clients from aws-config's default chain (`AWS_PROFILE`, `AWS_ENDPOINT_URL*`, …). An S3
    /// endpoint override (`AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`) turns on path-style
    /// addressing and is where the anonymous checks fetch the documents.
    /// The credentials and endpoints come from the process's environment and profile files, as
    /// aws-config reads them; `env` answers the endpoint-override question.
    pub async fn from_default_chain(
        region: &str,
        env: &dyn crate::env::Environment,
    ) -> Result<Aws, SetupError> {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let endpoint = env
            .var("AWS_ENDPOINT_URL_S3")
            .or_else(|| env.var("AWS_ENDPOINT_URL"))
            .filter(|e| !e.is_empty());
        let mut aws = Aws::new(&config, region)?;
        if let Some(endpoint) = endpoint {
            aws = aws.path_style(&config, region).public_base(&endpoint);
        }
        Ok(aws)
    }

    /// With S3 path-style addressing (`https://host/bucket/key`), as S3-compatible servers
    /// on a custom endpoint need.
    #[must_use]
    pub fn path_style(mut self, config: &aws_types::SdkConfig, region: &str) -> Aws {
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .region(aws_types::region::Region::new(region.to_owned()))
            .force_path_style(true)
            .build();
        self.s3 = aws_sdk_s3::Client::from_conf(s3);
        self
    }

    /// Fetch the published documents anonymously from `base` + `/bucket/key` instead of the
    /// issuer URL (for an S3-compatible server on a local endpoint).
    #[must_use]
    pub fn public_base(mut self, base: &str) -> Aws {
        self.public_base = Some(base.trim_end_matches('/').to_owned());
        self
    }

    /// With `sleep` for the waits (IAM propagation), e.g. a test's instant sleep.
    #[must_use]
    pub fn sleep(mut self, sleep: impl AsyncSleep + 'static) -> Aws {
        self.sleep = SharedAsyncSleep::new(sleep);
        self
    }

    /// The account: the file's, or STS `GetCallerIdentity`'s.
    pub async fn account(&self, file: &SetupFile) -> Result<AccountId, SetupError> {
        if let Some(account) = file.account() {
            return Ok(account.clone());
        }
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| aws_error("sts:GetCallerIdentity", "the caller", &e))?;
        out.account()
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| SetupError::Unexpected {
                what: "sts:GetCallerIdentity".to_owned(),
                fix: "the answer names no 12-digit account: set account in the file".to_owned(),
            })
    }

    /// Reads the state, plans, and returns both (the plan alone is what `irsa setup` prints).
    pub async fn plan(
        &self,
        desired: &Desired,
        options: PlanOptions,
    ) -> Result<(Observed, Plan), SetupError> {
        let observed = self.observe(desired).await?;
        let plan = plan(desired, &observed, options).map_err(SetupError::Plan)?;
        Ok((observed, plan))
    }
}

pub(super) fn build_error(
    call: &'static str,
    target: &str,
    e: &dyn std::error::Error,
) -> SetupError {
    SetupError::Aws {
        call,
        target: target.to_owned(),
        code: "InvalidRequest".to_owned(),
        message: e.to_string(),
    }
}

pub(super) fn iam_tag(
    key: &str,
    value: &str,
    call: &'static str,
    target: &str,
) -> Result<aws_sdk_iam::types::Tag, SetupError> {
    aws_sdk_iam::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| build_error(call, target, &e))
}

/// IAM returns policy documents URL-encoded (RFC 3986); the SDK passes them on as they are.
pub(super) fn decode_policy(document: &str) -> String {
    if document.trim_start().starts_with('{') {
        return document.to_owned();
    }
    percent_encoding::percent_decode_str(document)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_decoded_only_when_encoded() {
        assert_eq!(
            decode_policy("%7B%22Version%22%3A%222012-10-17%22%7D"),
            r#"{"Version":"2012-10-17"}"#
        );
        assert_eq!(decode_policy(r#"{"a":"100%"}"#), r#"{"a":"100%"}"#);
    }

    /// The clients hold the caller's credentials: their `Debug` must not show them.
    #[test]
    fn no_secret_reaches_debug_output() {
        use aws_sdk_iam::config::{Credentials, SharedCredentialsProvider};
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
        let session = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN";
        let config = aws_types::SdkConfig::builder()
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIDEXAMPLE",
                secret,
                Some(session.to_owned()),
                None,
                "test",
            )))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let aws = Aws::new(&config, "eu-west-1").unwrap();
        let debug = format!("{aws:?} {config:?}");
        assert!(
            debug.contains("eu-west-1") || debug.contains("Aws"),
            "{debug}"
        );
        assert!(
            !debug.contains(secret) && !debug.contains(session),
            "{debug}"
        );
    }
}
