//! `irsa lint`: the trust policy's findings, with stable codes and fixes.

use std::path::PathBuf;

use irsa::oidc::IssuerUrl;
use irsa::policy::{DEFAULT_SIZE_QUOTA, LintOptions, Severity, lint_document};
use serde_json::json;

use crate::io::{CliError, read_input};

/// Arguments of `irsa lint`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The trust policy document (JSON).
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// The cluster's issuer URL: statements trusting another provider are reported.
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,
    /// The account's trust policy length quota, in non-whitespace characters.
    #[arg(long, value_name = "CHARS", default_value_t = DEFAULT_SIZE_QUOTA)]
    size_limit: usize,
}

/// `{"findings":[…]}` and whether any finding is an error.
pub(crate) fn run(args: Args) -> Result<(String, bool), CliError> {
    let document = read_input("--policy", &args.policy)?;
    let mut options = LintOptions::default().with_size_quota(args.size_limit);
    if let Some(issuer) = &args.issuer {
        let provider = IssuerUrl::parse(issuer)
            .and_then(|i| i.aws_provider_url())
            .map_err(|e| CliError::input(format!("--issuer {issuer}"), e))?;
        options = options.with_provider(provider);
    }
    let findings = lint_document(&document, &options);
    let failed = findings.iter().any(|f| f.severity == Severity::Error);
    let output = serde_json::to_string_pretty(&json!({ "findings": findings })).unwrap_or_default();
    Ok((output, failed))
}
