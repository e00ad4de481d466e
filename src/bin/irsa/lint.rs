//! `irsa lint`: the trust policy's findings, with stable codes and fixes.

use std::path::PathBuf;

use crate::value::SizeQuota;
use irsa::oidc::IssuerUrl;
use irsa::policy::{Finding, LintOptions, Severity, lint_document};
use serde_json::json;

use crate::io::{CliError, read_input};
use crate::render::{
    BAD, BOLD, DIM, FAIL, OK, PASS, Report, Text, WARN, clean, count, paint, pretty,
};
use crate::value;

/// Arguments of `irsa lint`.
#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "With -o json: {\"findings\":[{\"code\",\"severity\",\"statement\",\"message\",\"fix\"}]}. Described in docs/cli-json.md#irsa-lint."
)]
pub(crate) struct Args {
    /// The trust policy document (JSON); `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// The cluster's issuer URL: statements trusting another provider are reported.
    #[arg(long, value_name = "URL", value_parser = value::issuer)]
    issuer: Option<IssuerUrl>,
    #[command(flatten)]
    quota: SizeQuota,
}

/// The findings and whether any is an error.
pub(crate) fn run(args: Args) -> Result<Report, CliError> {
    let document = read_input("--policy", &args.policy)?;
    let mut options = LintOptions::default().size_quota(args.quota.size_quota);
    if let Some(issuer) = &args.issuer {
        let provider = issuer
            .aws_provider_url()
            .map_err(|e| CliError::input(format!("--issuer {}", issuer.as_str()), e))?;
        options = options.provider(provider);
    }
    let findings = lint_document(&document, &options);
    let failed = findings.iter().any(|f| f.severity == Severity::Error);
    let mut text = Text::default();
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    if findings.is_empty() {
        text.line(paint(OK, format_args!("{PASS} no findings")));
    } else {
        let (style, mark) = if errors > 0 { (BAD, FAIL) } else { (WARN, "!") };
        let summary = format!(
            "{mark} {}, {}",
            count(errors, "error", "errors"),
            count(warnings, "warning", "warnings")
        );
        text.line(paint(style, summary));
        text.gap();
        findings_text(&mut text, &findings, "");
    }
    Ok(Report {
        human: text.into_string(),
        json: pretty(&json!({ "findings": findings })),
        refused: failed,
    })
}

/// Findings grouped by statement (the whole document first), each with its code, message and
/// fix, every line after `indent`.
pub(crate) fn findings_text(text: &mut Text, findings: &[Finding], indent: &str) {
    let mut groups: Vec<(Option<usize>, Vec<&Finding>)> = Vec::new();
    for finding in findings {
        let index = finding.statement.as_ref().map(|s| s.index);
        match groups.iter_mut().find(|(i, _)| *i == index) {
            Some((_, group)) => group.push(finding),
            None => groups.push((index, vec![finding])),
        }
    }
    // The document first, then statements in order.
    groups.sort_by_key(|(index, _)| index.map_or(0, |i| i + 1));
    for (_, group) in groups {
        let heading = match group.first().and_then(|f| f.statement.as_ref()) {
            None => "document".to_owned(),
            Some(statement) => match &statement.sid {
                Some(sid) => format!("statement {} \"{}\"", statement.index, clean(sid)),
                None => format!("statement {}", statement.index),
            },
        };
        text.line(format_args!("{indent}{}", paint(BOLD, heading)));
        for finding in group {
            let severity = match finding.severity {
                Severity::Error => paint(BAD, "error"),
                _ => paint(WARN, "warning"),
            };
            text.line(format_args!(
                "{indent}  {severity} {}: {}",
                paint(BOLD, finding.code.as_str()),
                clean(&finding.message)
            ));
            text.line(format_args!(
                "{indent}    {} {}",
                paint(DIM, "fix:"),
                clean(&finding.fix)
            ));
        }
    }
}
