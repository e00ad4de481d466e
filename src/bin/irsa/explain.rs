//! `irsa explain`: STS's answer for a token and a trust policy, and why, statement by statement.

use std::path::PathBuf;

use irsa::oidc::{DEFAULT_AUDIENCE, JwkSet};
use irsa::policy::{
    Decision, Diagnosis, RegisteredProvider, SignatureCheck, TrustPolicy, diagnose, diagnose_claims,
};
use irsa::token::{Claims, WebIdentityToken};
use serde_json::{Value, json};

use crate::io::{CliError, read_input};
use crate::verify::system_now;

/// Arguments of `irsa explain`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("token-source").required(true).args(["claims", "token"])))]
pub(crate) struct Args {
    /// The role's trust policy (JSON).
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// The IAM OIDC provider's ARN, as registered (its URL is the issuer tokens must carry).
    #[arg(long, value_name = "ARN")]
    provider_arn: String,
    /// The token's claims (JSON): the signature phase is skipped.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["token", "jwks"])]
    claims: Option<PathBuf>,
    /// The token file.
    #[arg(long, value_name = "FILE", requires = "jwks")]
    token: Option<PathBuf>,
    /// The issuer's key set, e.g. from `kubectl get --raw /openid/v1/jwks`.
    #[arg(long, value_name = "FILE", requires = "token")]
    jwks: Option<PathBuf>,
    /// A client ID registered with the provider; repeatable. Default: sts.amazonaws.com.
    #[arg(long, value_name = "AUDIENCE")]
    client_id: Vec<String>,
    /// Judge at this time, in seconds since the Unix epoch. Default: now.
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<i64>,
}

/// The explanation and whether STS would refuse.
pub(crate) fn run(args: Args) -> Result<(String, bool), CliError> {
    let policy_flag = format!("--policy {}", args.policy.display());
    let policy = TrustPolicy::parse(&read_input("--policy", &args.policy)?).map_err(|e| match e
        .iam_message()
    {
        Some(iam) => CliError::input(policy_flag.clone(), format!("{e} (IAM: \"{iam}\")")),
        None => CliError::input(policy_flag.clone(), e),
    })?;
    let arn = args
        .provider_arn
        .parse()
        .map_err(|e| CliError::input(format!("--provider-arn {}", args.provider_arn), e))?;
    let client_ids = if args.client_id.is_empty() {
        vec![DEFAULT_AUDIENCE.to_owned()]
    } else {
        args.client_id.clone()
    };
    let provider =
        RegisteredProvider::new(arn, client_ids).map_err(|e| CliError::input("--client-id", e))?;
    let now = args.now.unwrap_or_else(system_now);

    let diagnosis = match (&args.claims, &args.token, &args.jwks) {
        (Some(path), _, _) => {
            let bytes = read_input("--claims", path)?;
            let claims = Claims::from_json(&bytes)
                .map_err(|e| CliError::input(format!("--claims {}", path.display()), e))?;
            diagnose_claims(&claims, &provider, &policy, now)
        }
        (None, Some(token_path), Some(jwks_path)) => {
            let token = WebIdentityToken::from_file_contents(read_input("--token", token_path)?)
                .map_err(|e| CliError::input(format!("--token {}", token_path.display()), e))?;
            let keys = JwkSet::parse(&read_input("--jwks", jwks_path)?)
                .map_err(|e| CliError::input(format!("--jwks {}", jwks_path.display()), e))?;
            diagnose(token.expose_secret(), &keys, &provider, &policy, now)
                .map_err(|e| CliError::input("--provider-arn / --jwks", e))?
        }
        _ => {
            return Err(CliError::input(
                "--token",
                "give --claims FILE, or --token FILE with --jwks FILE",
            ));
        }
    };
    let refused = !diagnosis.allowed();
    Ok((render(&diagnosis), refused))
}

fn render(diagnosis: &Diagnosis) -> String {
    // `null` when the policy was not evaluated (the token could not be decoded): STS refuses
    // the token before the policy, and no decision of the policy can be reported.
    let decision: Option<Decision> = diagnosis.evaluation.as_ref().map(|e| e.decision);
    let sts_error = diagnosis.sts_error.as_ref().map_or(
        Value::Null,
        |e| json!({"code": e.code.as_str(), "message": e.message, "reason": e.reason}),
    );
    let statements = diagnosis
        .evaluation
        .as_ref()
        .map_or_else(|| json!([]), |e| json!(e.statements));
    let signature = match diagnosis.signature {
        SignatureCheck::Checked => "checked",
        _ => "skipped: --claims was given, so only the claims were judged",
    };
    let output = json!({
        "decision": decision,
        "sts_error": sts_error,
        "statements": statements,
        "signature": signature,
        "findings": diagnosis.findings,
    });
    serde_json::to_string_pretty(&output).unwrap_or_default()
}
