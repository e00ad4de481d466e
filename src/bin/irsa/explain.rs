//! `irsa explain`: STS's answer for a token and a trust policy, and why, statement by statement.

use std::path::PathBuf;

use irsa::arn::OidcProviderArn;
use irsa::oidc::{DEFAULT_AUDIENCE, JwkSet};
use irsa::policy::{
    ConditionExplanation, Decision, Prediction, RegisteredProvider, SignatureCheck,
    StatementExplanation, TrustPolicy, predict, predict_claims,
};
use irsa::token::{Claims, WebIdentityToken};
use serde_json::{Value, json};

use crate::io::{CliError, read_input};
use crate::lint;
use crate::render::{BAD, BOLD, DIM, FAIL, OK, PASS, Report, Text, clean, list, paint, pretty};
use crate::value;

/// Arguments of `irsa explain`.
#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "With -o json: {\"decision\",\"sts_error\",\"statements\",\"signature\",\"findings\"}. Described in docs/cli-json.md#irsa-explain."
)]
#[command(group(clap::ArgGroup::new("token-source").required(true).args(["claims", "token"])))]
pub(crate) struct Args {
    /// The role's trust policy (JSON); `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// The IAM OIDC provider's ARN, as registered (its URL is the issuer tokens must carry).
    #[arg(long, value_name = "ARN")]
    provider_arn: OidcProviderArn,
    /// The token's claims (JSON): the signature phase is skipped; `-` reads stdin.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["token", "jwks"])]
    claims: Option<PathBuf>,
    /// The token file; `-` reads stdin.
    #[arg(
        long,
        value_name = "FILE",
        requires = "jwks",
        visible_alias = "token-file"
    )]
    token: Option<PathBuf>,
    /// The issuer's key set, e.g. from `kubectl get --raw /openid/v1/jwks`; `-` reads stdin.
    #[arg(long, value_name = "FILE", requires = "token")]
    jwks: Option<PathBuf>,
    /// A client ID registered with the provider; repeatable. Default: sts.amazonaws.com.
    #[arg(long, value_name = "AUDIENCE", visible_alias = "client-id")]
    audience: Vec<String>,
    #[command(flatten)]
    request: value::RequestArgs,
}

/// The explanation and whether STS would refuse.
pub(crate) fn run(args: Args) -> Result<Report, CliError> {
    let policy_flag = format!("--policy {}", args.policy.display());
    let policy = TrustPolicy::parse(&read_input("--policy", &args.policy)?).map_err(|e| match e
        .iam_message()
    {
        Some(iam) => CliError::input(policy_flag.clone(), format!("{e} (IAM: \"{iam}\")")),
        None => CliError::input(policy_flag.clone(), e),
    })?;
    let client_ids = if args.audience.is_empty() {
        vec![DEFAULT_AUDIENCE.to_owned()]
    } else {
        args.audience.clone()
    };
    let provider = RegisteredProvider::new(args.provider_arn.clone(), client_ids)
        .map_err(|e| CliError::input("--audience", e))?;
    let facts = args.request.facts();

    let diagnosis = match (&args.claims, &args.token, &args.jwks) {
        (Some(path), _, _) => {
            let bytes = read_input("--claims", path)?;
            let claims = Claims::from_json(&bytes)
                .map_err(|e| CliError::input(format!("--claims {}", path.display()), e))?;
            predict_claims(&claims, &provider, &policy, facts)
        }
        (None, Some(token_path), Some(jwks_path)) => {
            let token = WebIdentityToken::from_file_contents(read_input("--token", token_path)?)
                .map_err(|e| CliError::input(format!("--token {}", token_path.display()), e))?;
            let keys = JwkSet::parse(&read_input("--jwks", jwks_path)?)
                .map_err(|e| CliError::input(format!("--jwks {}", jwks_path.display()), e))?;
            predict(token.expose_secret(), &keys, &provider, &policy, facts)
                .map_err(|e| CliError::input("--provider-arn / --jwks", e))?
        }
        _ => {
            return Err(CliError::input(
                "--token",
                "give --claims FILE, or --token FILE with --jwks FILE",
            ));
        }
    };
    Ok(Report {
        human: human(&diagnosis),
        json: json(&diagnosis),
        refused: !diagnosis.allowed(),
    })
}

/// The JSON, member for member as it has always been (docs/cli-json.md).
fn json(diagnosis: &Prediction) -> String {
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
    pretty(&json!({
        "decision": decision,
        "sts_error": sts_error,
        "statements": statements,
        "signature": signature,
        "findings": diagnosis.findings,
    }))
}

/// A tree: STS's answer first, then the policy's decision and every statement under it, each
/// condition marked, a failing one with the policy's values against the token's.
fn human(diagnosis: &Prediction) -> String {
    let mut text = Text::default();
    match &diagnosis.sts_error {
        None => text.line(format_args!(
            "{} STS would issue credentials",
            paint(OK, format_args!("{PASS} allowed:"))
        )),
        Some(error) => {
            text.line(format_args!(
                "{} STS would answer {}",
                paint(BAD, format_args!("{FAIL} refused:")),
                paint(BOLD, error.code.as_str())
            ));
            if let Some(message) = &error.message {
                text.line(format_args!("  message: {}", clean(message)));
            }
            text.line(format_args!("  reason:  {}", clean(&error.reason)));
        }
    }
    text.gap();
    match &diagnosis.evaluation {
        None => text.line(format_args!(
            "{} {}",
            paint(BOLD, "trust policy:"),
            paint(DIM, "not evaluated (the token could not be read)")
        )),
        Some(evaluation) => {
            let decision = match evaluation.decision {
                Decision::Allow => paint(OK, "Allow"),
                other => paint(BAD, other.as_str()),
            };
            let why = match evaluation.decision {
                Decision::Allow => "an Allow statement applies",
                Decision::ExplicitDeny => "a Deny statement applies",
                _ => "no statement applies",
            };
            text.line(format_args!(
                "{} {decision} {}",
                paint(BOLD, "trust policy:"),
                paint(DIM, format_args!("({why})"))
            ));
            let last = evaluation.statements.len().saturating_sub(1);
            for (i, statement) in evaluation.statements.iter().enumerate() {
                statement_tree(&mut text, statement, i == last);
            }
        }
    }
    text.gap();
    let signature = match (diagnosis.signature, &diagnosis.evaluation) {
        (SignatureCheck::Checked, Some(_)) => "checked against the key set".to_owned(),
        (SignatureCheck::Checked, None) => paint(DIM, "not reached: the token could not be read"),
        _ => paint(
            DIM,
            "skipped: --claims was given, so only the claims were judged",
        ),
    };
    text.line(format_args!("{} {signature}", paint(BOLD, "signature:")));
    if !diagnosis.findings.is_empty() {
        text.gap();
        text.line(paint(BOLD, "lint findings:"));
        lint::findings_text(&mut text, &diagnosis.findings, "  ");
    }
    text.into_string()
}

fn statement_tree(text: &mut Text, statement: &StatementExplanation, last: bool) {
    let (branch, rail) = if last {
        ("└─", "   ")
    } else {
        ("├─", "│  ")
    };
    let sid = statement
        .sid
        .as_ref()
        .map(|sid| format!(" \"{}\"", clean(sid)))
        .unwrap_or_default();
    let deny = statement.effect.as_str() == "Deny";
    let verdict = match (statement.applies, deny) {
        (true, false) => paint(OK, "applies"),
        (true, true) => paint(BAD, "applies, and denies"),
        (false, false) => paint(BAD, "does not apply"),
        (false, true) => paint(OK, "does not apply"),
    };
    text.line(format_args!(
        "{branch} statement {}{sid} ({}): {verdict}",
        statement.index,
        statement.effect.as_str()
    ));
    let mut rows: Vec<(bool, String, Vec<String>)> = vec![
        (statement.principal, "principal".to_owned(), Vec::new()),
        (statement.action, "action".to_owned(), Vec::new()),
    ];
    for condition in &statement.conditions {
        rows.push(condition_row(condition));
    }
    let last_row = rows.len().saturating_sub(1);
    for (i, (matched, label, details)) in rows.into_iter().enumerate() {
        let (branch, inner) = if i == last_row {
            ("└─", "   ")
        } else {
            ("├─", "│  ")
        };
        let mark = if matched {
            paint(OK, PASS)
        } else {
            paint(BAD, FAIL)
        };
        text.line(format_args!("{rail}{branch} {mark} {label}"));
        for detail in details {
            text.line(format_args!("{rail}{inner}   {detail}"));
        }
    }
}

/// The label of a condition and what is shown under it: the values when it failed, the note.
fn condition_row(condition: &ConditionExplanation) -> (bool, String, Vec<String>) {
    let label = format!("{} {}", clean(&condition.operator), clean(&condition.key));
    let mut details = Vec::new();
    if condition.matched {
        let label = format!(
            "{label} {}",
            paint(DIM, format_args!("({})", list(&condition.policy_values)))
        );
        if let Some(note) = &condition.note {
            details.push(paint(DIM, format_args!("note: {note}")));
        }
        return (true, label, details);
    }
    details.push(format!("policy: {}", list(&condition.policy_values)));
    if condition.policy_unreadable() {
        // The request plays no part: the note says why instead of the token's values.
        let note = condition.note.as_deref().unwrap_or_default();
        details.push(paint(BAD, format_args!("note: {note}")));
        return (false, label, details);
    }
    let token = match &condition.context_values {
        Some(values) if !condition.missing => paint(BAD, list(values)),
        _ => paint(BAD, "(not in the token)"),
    };
    details.push(format!("token:  {token}"));
    if let Some(note) = &condition.note {
        details.push(paint(DIM, format_args!("note: {note}")));
    }
    (false, label, details)
}
