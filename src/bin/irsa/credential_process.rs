//! `irsa credential-process`: the `credential_process` protocol of the AWS CLI and SDKs, so any
//! AWS tool gets web-identity credentials through this provider.
//!
//! ```ini
//! [profile pod]
//! credential_process = irsa credential-process
//! ```

use std::path::PathBuf;
use std::time::Duration;

use aws_credential_types::provider::ProvideCredentials as _;
use aws_sdk_sts::primitives::{DateTime, DateTimeFormat};
use irsa::StsErrorCode;
use irsa::provider::{ProviderError, WebIdentityProvider};
use serde_json::json;

use crate::io::{CliError, read_input};
use crate::render::Report;
use crate::value;

/// Arguments of `irsa credential-process`. Without them, the environment
/// (`AWS_ROLE_ARN`, `AWS_WEB_IDENTITY_TOKEN_FILE`, …) or the profile configures the provider.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The role to assume (default: AWS_ROLE_ARN, else the profile's role_arn).
    #[arg(long, value_name = "ARN")]
    role_arn: Option<irsa::arn::RoleArn>,
    /// The projected token file (default: AWS_WEB_IDENTITY_TOKEN_FILE, else the profile's); `-`
    /// reads the token from stdin.
    #[arg(long, value_name = "FILE", visible_alias = "token")]
    token_file: Option<PathBuf>,
    /// The STS region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// The RoleSessionName (default: AWS_ROLE_SESSION_NAME, else irsa-<hostname>).
    #[arg(long, value_name = "NAME")]
    session_name: Option<String>,
    /// DurationSeconds, 900 to 43200 seconds: 900, 15m, 1h, 12h.
    #[arg(long, value_name = "DURATION", value_parser = value::duration)]
    duration: Option<u64>,
    /// The profile to read (default: AWS_PROFILE, else default).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// An STS endpoint (default: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the regional one).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// How long to wait for STS: 20, 20s, 1m.
    #[arg(
        long,
        value_name = "DURATION",
        visible_alias = "load-timeout",
        value_parser = value::duration,
        default_value = "20"
    )]
    timeout: u64,
}

/// The credential_process JSON, in both formats: it is the protocol its callers read.
pub(crate) fn run(args: Args) -> Result<Report, CliError> {
    let mut builder =
        WebIdentityProvider::builder().load_timeout(Duration::from_secs(args.timeout));
    if let Some(v) = args.role_arn {
        builder = builder.role_arn(v.to_string());
    }
    // The provider reads the token from a file (and would re-read it): a token on standard
    // input goes into a private temporary file that lives as long as this command.
    let mut _stdin_token = None;
    if let Some(v) = args.token_file {
        if v == std::path::Path::new("-") {
            let file = stdin_token()?;
            builder = builder.token_file(file.path());
            _stdin_token = Some(file);
        } else {
            builder = builder.token_file(v);
        }
    }
    if let Some(v) = args.region {
        builder = builder.region(v);
    }
    if let Some(v) = args.session_name {
        builder = builder.session_name(v);
    }
    if let Some(v) = args.duration {
        builder = builder.duration(Duration::from_secs(v));
    }
    if let Some(v) = args.profile {
        builder = builder.profile(v);
    }
    if let Some(v) = args.endpoint_url {
        builder = builder.endpoint_url(v);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::refused("irsa credential-process", e.to_string()))?;
    let provider = builder.build();
    let credentials =
        runtime
            .block_on(provider.provide_credentials())
            .map_err(|e| match next_step(&e) {
                Some(step) => CliError::refused("irsa credential-process", e).with_next_step(step),
                None => CliError::refused("irsa credential-process", e),
            })?;
    let expiration = credentials
        .expiry()
        .and_then(|t| DateTime::from(t).fmt(DateTimeFormat::DateTime).ok());
    let output = json!({
        "Version": 1,
        "AccessKeyId": credentials.access_key_id(),
        "SecretAccessKey": credentials.secret_access_key(),
        "SessionToken": credentials.session_token(),
        "Expiration": expiration,
    });
    Ok(Report::document(output.to_string()))
}

/// The token on standard input, in a temporary file only this user can read.
fn stdin_token() -> Result<tempfile::NamedTempFile, CliError> {
    let token = zeroize::Zeroizing::new(read_input("--token-file", std::path::Path::new("-"))?);
    let fail = |e: std::io::Error| {
        CliError::input("--token-file -", format!("cannot keep the token ({e})"))
    };
    let mut file = tempfile::Builder::new()
        .prefix(".irsa-token-")
        .tempfile()
        .map_err(fail)?;
    std::io::Write::write_all(&mut file, &token).map_err(fail)?;
    Ok(file)
}

/// The `irsa` command that says more about STS's refusal, where one does.
fn next_step(error: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(failure) = e
            .downcast_ref::<ProviderError>()
            .and_then(ProviderError::sts_failure)
        {
            return match failure.code()? {
                StsErrorCode::AccessDenied => {
                    Some("irsa explain shows which condition of the trust policy fails")
                }
                StsErrorCode::InvalidIdentityToken
                    if failure.message().contains("No OpenIDConnect provider") =>
                {
                    Some("irsa discovery prints the IAM OIDC provider to create")
                }
                StsErrorCode::InvalidIdentityToken => {
                    Some("irsa verify judges the token offline with the precise reason")
                }
                _ => None,
            };
        }
        cause = e.source();
    }
    None
}
