//! `irsa doctor`: check a live setup end to end and name the first broken thing.

use std::net::SocketAddr;
use std::path::PathBuf;

use irsa::arn::RoleArn;
use irsa::doctor::{Doctor, ExamineOptions, InPod, Verdict};
use irsa::env::{ProcessEnvironment, RealFs};
use irsa::oidc::IssuerUrl;
use irsa::setup::SetupFile;
use irsa::token::{Subject, UnverifiedToken, WebIdentityToken};

use crate::io::{CliError, read_input};
use crate::render::{self, BAD, BOLD, DIM, OK, Report, Text, WARN, clean, paint};
use crate::value;

/// Arguments of `irsa doctor`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The setup file: the issuer, the keys it must publish, the audience, the roles.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The cluster's issuer (the apiserver's --service-account-issuer).
    #[arg(long, value_name = "URL", value_parser = value::issuer)]
    issuer: Option<IssuerUrl>,
    /// The role the pod assumes.
    #[arg(long, value_name = "ARN")]
    role_arn: Option<RoleArn>,
    /// The service account the token should be for, NAMESPACE:NAME.
    #[arg(long, value_name = "NS:NAME", value_parser = value::service_account)]
    service_account: Option<Subject>,
    /// The token file (never printed: only its claims are).
    #[arg(long, value_name = "FILE")]
    token: Option<PathBuf>,
    /// The pod manifest as admitted (`kubectl get pod NAME -o json`), to check the webhook's
    /// mutation.
    #[arg(long, value_name = "FILE")]
    pod: Option<PathBuf>,
    /// Inside a pod: read AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_REGION and the token
    /// file.
    #[arg(long)]
    in_pod: bool,
    /// Also call STS AssumeRoleWithWebIdentity with the token and compare its answer with the
    /// prediction (the credentials are discarded).
    #[arg(long)]
    call_sts: bool,
    #[command(flatten)]
    request: value::RequestArgs,
    /// Also trust this CA (PEM) for the issuer; repeatable. STS itself trusts only public CAs.
    #[arg(long, value_name = "FILE")]
    ca_file: Vec<PathBuf>,
    /// Connect to ADDR for HOST (HOST=IP:PORT), as curl's --resolve; repeatable.
    #[arg(long, value_name = "HOST=ADDR", value_parser = resolve)]
    resolve: Vec<(String, SocketAddr)>,
}

fn resolve(value: &str) -> Result<(String, SocketAddr), String> {
    let (host, addr) = value
        .split_once('=')
        .ok_or_else(|| "write HOST=IP:PORT, e.g. oidc.example.test=127.0.0.1:8443".to_owned())?;
    let addr = addr
        .parse()
        .map_err(|_| format!("{addr:?} is not IP:PORT, e.g. 127.0.0.1:8443"))?;
    Ok((host.to_owned(), addr))
}

pub(crate) fn run(args: Args) -> Result<Report, CliError> {
    let facts = args.request.facts();
    let mut inputs = ExamineOptions::at(facts.now);
    inputs.facts = facts;
    inputs.call_sts = args.call_sts;
    inputs.issuer = args.issuer.clone();
    inputs.role_arn = args.role_arn.clone();
    inputs.service_account = args.service_account.clone();
    if let Some(path) = &args.token {
        let bytes = read_input("--token", path)?;
        let token = WebIdentityToken::from_file_contents(bytes)
            .map_err(|e| CliError::input(format!("--token {}", path.display()), e))?;
        inputs.token = Some(token);
    }
    if args.in_pod {
        let in_pod = InPod::read(&ProcessEnvironment, &RealFs);
        // The pod's own AWS_ROLE_ARN is the role it assumes, whatever the setup file lists.
        if inputs.role_arn.is_none() {
            inputs.role_arn = in_pod.role_arn.as_deref().and_then(|r| r.parse().ok());
        }
        inputs.in_pod = Some(in_pod);
    }
    if let Some(path) = &args.config {
        let flag = format!("--config {}", path.display());
        let file = SetupFile::load(path).map_err(|e| CliError::input(flag, e))?;
        inputs
            .issuer
            .get_or_insert_with(|| file.cluster().issuer().clone());
        inputs.published_keys = Some(file.cluster().keys().clone());
        if let Some(audience) = file.cluster().audiences().first() {
            inputs.audience = audience.clone();
        }
        if inputs.role_arn.is_none() {
            // The ServiceAccount given, else the one the token names (unverified: it only
            // chooses which role to examine).
            let from_token = inputs.token.as_ref().and_then(|t| {
                UnverifiedToken::inspect(t.expose_secret())
                    .ok()?
                    .claims_unverified()
                    .subject()?
                    .ok()
            });
            match role_for(
                &file,
                inputs.service_account.as_ref().or(from_token.as_ref()),
            ) {
                Ok(Some(role)) => inputs.role_arn = Some(role),
                // No account to place a role in: the IAM checks are skipped, as they say.
                Ok(None) => {}
                Err(why) => {
                    inputs.role_not_found = Some(format!("{why} in {}", path.display()));
                }
            }
        }
    }
    if let Some(path) = &args.pod {
        let bytes = read_input("--pod", path)?;
        let pod = serde_norway::from_slice::<serde_json::Value>(&bytes).map_err(|e| {
            CliError::input(
                format!("--pod {}", path.display()),
                format!("not a pod manifest (JSON or YAML): {e}"),
            )
        })?;
        inputs.pod = Some(pod);
    }
    let mut cas = Vec::new();
    for path in &args.ca_file {
        cas.push(read_input("--ca-file", path)?);
    }
    let doctor = Doctor::new(&cas, &args.resolve).map_err(|e| CliError::input("--ca-file", e))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::input("irsa doctor", e))?;
    let report = runtime.block_on(async {
        let needs_aws = inputs.role_arn.is_some() || args.in_pod;
        let doctor = if needs_aws {
            let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .load()
                .await;
            let region = config
                .region()
                .cloned()
                .unwrap_or_else(|| aws_types::region::Region::new("us-east-1"));
            let iam = aws_sdk_iam::config::Builder::from(&config)
                .region(region.clone())
                .build();
            let sts = aws_sdk_sts::config::Builder::from(&config)
                .region(region)
                .build();
            doctor
                .iam(aws_sdk_iam::Client::from_conf(iam))
                .sts(aws_sdk_sts::Client::from_conf(sts))
        } else {
            doctor
        };
        doctor.examine(&inputs).await
    });
    Ok(render(&report))
}

/// The file's role for `service_account` (or its only role); `None` when the file names no
/// account (nothing to place a role in) or no role; why not, when roles exist but none can be
/// chosen.
fn role_for(
    file: &SetupFile,
    service_account: Option<&Subject>,
) -> Result<Option<RoleArn>, String> {
    let (Some(account), false) = (file.account(), file.roles().is_empty()) else {
        return Ok(None);
    };
    let roles = file.roles();
    let role = match service_account {
        Some(sa) => roles
            .iter()
            .find(|r| {
                r.service_accounts().contains(sa)
                    || r.namespaces().iter().any(|n| n == sa.namespace())
            })
            .ok_or_else(|| {
                format!(
                    "no role lists ServiceAccount {}:{}",
                    sa.namespace(),
                    sa.name()
                )
            })?,
        None => match roles {
            [only] => only,
            _ => {
                return Err(format!(
                    "{} roles and no ServiceAccount to choose by (give --service-account or a token)",
                    roles.len()
                ));
            }
        },
    };
    RoleArn::new(file.partition(), account.clone(), role.path(), role.name())
        .map(Some)
        .map_err(|e| e.to_string())
}

fn render(report: &irsa::doctor::Report) -> Report {
    let mut text = Text::default();
    text.line(paint(BOLD, "irsa doctor"));
    let first = report.first_failure().map(|c| c.name);
    for check in &report.checks {
        let mark = match check.verdict {
            Verdict::Pass => paint(OK, render::PASS),
            Verdict::Fail => paint(BAD, render::FAIL),
            Verdict::Warn => paint(WARN, "!"),
            _ => paint(DIM, "-"),
        };
        // Summaries, evidence and fixes quote the token, the issuer's documents and IAM's
        // answers: every line is cleaned, so none of them can drive the terminal.
        text.line(format!(
            "{mark} {:<12} {}",
            check.name,
            clean(&check.summary)
        ));
        let explain = Some(check.name) == first || check.verdict == Verdict::Warn;
        if explain {
            for line in &check.evidence {
                text.line(format!("               {}", paint(DIM, line)));
            }
            if let Some(fix) = &check.fix {
                text.line(format!("               fix: {}", clean(fix)));
            }
        }
    }
    match &report.prediction {
        Some(irsa::doctor::Answer::Credentials) => text.line("prediction: STS issues credentials"),
        Some(irsa::doctor::Answer::Error { code, message }) => text.line(format!(
            "prediction: STS answers {}{}",
            clean(code),
            message
                .as_deref()
                .map(|m| format!(": {}", clean(m)))
                .unwrap_or_default()
        )),
        _ => {}
    }
    let json = serde_json::json!({
        "passed": report.passed(),
        "first_failure": first,
        "checks": report.checks,
        "prediction": report.prediction,
    });
    Report {
        human: text.into_string(),
        json: render::pretty(&json),
        refused: !report.passed(),
    }
}
