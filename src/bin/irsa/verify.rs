//! `irsa verify`: judge a token as STS would, offline, with the precise reason.

use std::error::Error as _;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use irsa::oidc::{IssuerUrl, JwkSet};
use irsa::token::{Verifier, WebIdentityToken};
use serde_json::json;

use crate::io::{CliError, read_input};

/// Arguments of `irsa verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The token file (e.g. /var/run/secrets/eks.amazonaws.com/serviceaccount/token).
    #[arg(long, value_name = "FILE")]
    token: PathBuf,
    /// The issuer's key set, e.g. from `kubectl get --raw /openid/v1/jwks`.
    #[arg(long, value_name = "FILE")]
    jwks: PathBuf,
    /// The issuer URL as registered with IAM (compared exactly with the token's `iss`).
    #[arg(long, value_name = "URL")]
    issuer: String,
    /// A client ID registered with the IAM provider; repeatable. Default: sts.amazonaws.com.
    #[arg(long, value_name = "AUDIENCE")]
    audience: Vec<String>,
    /// Judge the token at this time, in seconds since the Unix epoch. Default: now.
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<i64>,
    /// Clock skew allowed around exp, nbf and iat, in seconds. Default: 300, as STS.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    skew: u64,
}

/// The JSON verdict and whether the token was refused.
pub(crate) fn run(args: Args) -> Result<(String, bool), CliError> {
    let token_input = format!("--token {}", args.token.display());
    let token = WebIdentityToken::from_file_contents(read_input("--token", &args.token)?)
        .map_err(|e| CliError::input(token_input, e))?;
    let keys = JwkSet::parse(&read_input("--jwks", &args.jwks)?)
        .map_err(|e| CliError::input(format!("--jwks {}", args.jwks.display()), e))?;
    let issuer = IssuerUrl::parse(&args.issuer)
        .map_err(|e| CliError::input(format!("--issuer {}", args.issuer), e))?;
    let mut builder = Verifier::builder(&keys)
        .issuer(issuer)
        .clock_skew(Duration::from_secs(args.skew));
    for audience in &args.audience {
        builder = builder.audience(audience.clone());
    }
    let verifier = builder
        .build()
        .map_err(|e| CliError::input(format!("--jwks {}", args.jwks.display()), e))?;
    let now = args.now.unwrap_or_else(system_now);

    let verdict = match verifier.verify(token.expose_secret(), now) {
        Ok(verified) => {
            let mut warnings = Vec::new();
            if verified.subject().is_some_and(|s| s.exceeds_sts_limit()) {
                warnings.push(
                    "the subject is longer than 255 characters, STS's limit for SubjectFromWebIdentityToken: use a shorter namespace or service account name",
                );
            }
            let verdict = json!({
                "valid": true,
                "alg": verified.algorithm().as_str(),
                "kid": verified.kid(),
                "claims": verified.claims(),
                "warnings": warnings,
            });
            return Ok((pretty(&verdict), false));
        }
        Err(rejection) => {
            let mut reason = rejection.to_string();
            let mut cause = rejection.source();
            while let Some(e) = cause {
                reason.push_str(": ");
                reason.push_str(&e.to_string());
                cause = e.source();
            }
            json!({
                "valid": false,
                "error": {
                    "code": rejection.sts_code().as_str(),
                    "message": rejection.sts_message(),
                    "reason": reason,
                },
            })
        }
    };
    Ok((pretty(&verdict), true))
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// The command line is where the real clock is read; the library takes it as a parameter.
#[allow(clippy::disallowed_methods)]
pub(crate) fn system_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
