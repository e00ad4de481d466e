//! `irsa`: IAM Roles for Service Accounts on any Kubernetes cluster, from the command line.
//!
//! Every subcommand prints for people by default and, with `-o json`, the JSON documented in
//! `docs/cli-json.md` for machines. Exit codes: 0 success, 1 refused (a check that ran and said
//! no), 2 unusable input, with one line on stderr naming the input and the fix.

// The command line is where the process meets its environment and terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod agent;
mod completions;
mod credential_process;
mod discovery;
mod doctor;
mod explain;
mod io;
mod lint;
mod patch;
mod progress;
mod render;
mod setup;
mod sts;
mod token;
mod trust_policy;
mod value;
mod verify;
mod webhook;

use std::error::Error as _;
use std::io::Write as _;
use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Parser, Subcommand, ValueEnum};

use crate::render::Report;

/// Where the JSON of every subcommand is described.
const JSON_DOCS: &str = "With -o json, each subcommand prints one JSON document; its members are described in docs/cli-json.md (https://github.com/irsa-rs/irsa/blob/main/docs/cli-json.md). `-` reads standard input for any one file input. Exit codes: 0 success, 1 refused (a check that ran and said no), 2 unusable input.";

/// IAM Roles for Service Accounts on any Kubernetes cluster.
#[derive(Debug, Parser)]
#[command(name = "irsa", version, about, long_about = None, after_long_help = JSON_DOCS)]
pub(crate) struct Cli {
    /// How to print: human (for people) or json (for machines; see docs/cli-json.md).
    #[arg(
        short = 'o',
        long,
        global = true,
        help_heading = "Global options",
        value_enum,
        value_name = "FORMAT",
        default_value = "human"
    )]
    output: Format,
    /// When to colour human output: auto (stdout is a terminal and NO_COLOR is unset), always,
    /// never.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_enum,
        value_name = "WHEN",
        default_value = "auto"
    )]
    color: ColorWhen,
    #[command(subcommand)]
    command: Command,
}

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// For people: a rendering meant to be read.
    Human,
    /// For machines: one JSON document, as described in docs/cli-json.md.
    Json,
}

/// When to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorWhen {
    /// When stdout is a terminal and NO_COLOR is unset (CLICOLOR_FORCE forces it).
    Auto,
    /// Always, even into a pipe.
    Always,
    /// Never.
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate the issuer's discovery documents, S3 bucket policy, IAM OIDC provider and
    /// kube-apiserver flags.
    Discovery(discovery::Args),
    /// Judge a service-account token as STS would: exit 0 valid, 1 refused (with the STS error
    /// and the precise reason).
    Verify(verify::Args),
    /// Show what a pod identity webhook adds to a pod (the JSON patch with -o json, `[]` when
    /// nothing to do), or answer an AdmissionReview request.
    Patch(patch::Args),
    /// Print web-identity credentials in the credential_process format, for any AWS tool:
    /// `credential_process = irsa credential-process` in a profile. Always JSON: it is the
    /// protocol its callers read.
    CredentialProcess(credential_process::Args),
    /// Generate the least-privilege trust policy for service accounts of one or more clusters.
    /// The policy document is the output, whatever -o says.
    TrustPolicy(trust_policy::Args),
    /// Lint a trust policy: exit 0 without error-level findings, 1 with.
    Lint(lint::Args),
    /// Predict STS's answer for a token and a trust policy, and explain every statement: exit 0
    /// allowed, 1 refused.
    Explain(explain::Args),
    /// Mint a bound service-account token as kube-apiserver would, from its signing key: for
    /// tests, CI and local clusters.
    Token(token::Args),
    /// A local STS that judges AssumeRoleWithWebIdentity as AWS does: `irsa sts serve`.
    Sts(sts::Args),
    /// The AWS side of IRSA from a setup file: read the real state, plan the changes (S3
    /// issuer bucket and documents, IAM OIDC provider, roles), and with --apply make them and
    /// verify. Idempotent; never removes what irsa did not write.
    Setup(setup::Args),
    /// Show (or with --write, make) the kube-apiserver manifest's IRSA flags for a setup file:
    /// issuers, JWKS URI, key files, API audiences. Nothing else in the manifest changes.
    Apiserver(setup::ApiserverArgs),
    /// Print (or with --out, write) the ServiceAccount manifests annotated with their roles.
    ServiceAccounts(setup::ServiceAccountsArgs),
    /// Check a live setup end to end, in the order a request meets it (pod, token, issuer
    /// fetched as STS fetches it, IAM provider, role, trust policy, optionally STS): exit 0 all
    /// pass, 1 a check failed (the first one explained in full), 2 unusable input.
    Doctor(doctor::Args),
    /// The pod identity webhook: `irsa webhook serve` runs it, `irsa webhook manifests` prints
    /// what deploys it, `irsa webhook certs` makes its certificate.
    Webhook(webhook::Args),
    /// The container-credentials agent (EKS Pod Identity's endpoint on any cluster): `irsa
    /// agent serve` runs it on a node, `irsa agent manifests` prints its DaemonSet.
    Agent(agent::Args),
    /// Print a shell completion script: `irsa completions bash > /etc/bash_completion.d/irsa`.
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff), or write one page per subcommand into a directory.
    Man(completions::ManArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version; a closed pipe (`irsa --help | head`) is not an error.
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "{e}").and_then(|()| out.flush());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("irsa: {}", one_line(&e));
            return ExitCode::from(2);
        }
    };
    let (format, color) = (cli.output, cli.color);
    let result = match cli.command {
        Command::Discovery(args) => discovery::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Patch(args) => patch::run(args),
        Command::CredentialProcess(args) => credential_process::run(args),
        Command::TrustPolicy(args) => trust_policy::run(args),
        Command::Lint(args) => lint::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Token(args) => token::run(args),
        Command::Sts(args) => sts::run(args, format == Format::Json),
        Command::Setup(args) => setup::run(args),
        Command::Apiserver(args) => setup::apiserver(args),
        Command::ServiceAccounts(args) => setup::service_accounts(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Webhook(args) => webhook::run(args, format == Format::Json),
        Command::Agent(args) => agent::run(args, format == Format::Json),
        Command::Completions(args) => completions::completions(&args),
        Command::Man(args) => completions::man(&args),
    };
    match result {
        Ok(report) => print_report(&report, format, color),
        Err(e) => {
            eprintln!("irsa: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn print_report(report: &Report, format: Format, color: ColorWhen) -> ExitCode {
    let written = match format {
        Format::Json => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", report.json).and_then(|()| out.flush())
        }
        Format::Human => {
            let choice = match color {
                ColorWhen::Auto => anstream::ColorChoice::Auto,
                ColorWhen::Always => anstream::ColorChoice::Always,
                ColorWhen::Never => anstream::ColorChoice::Never,
            };
            let mut out = anstream::AutoStream::new(std::io::stdout(), choice).lock();
            out.write_all(report.human.as_bytes())
                .and_then(|()| out.flush())
        }
    };
    match written {
        // A closed pipe (`irsa … | head`) is the reader's choice, not a failure to report.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("irsa: stdout: cannot write ({e})");
            ExitCode::from(2)
        }
        _ if report.refused => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

/// Clap explains over several lines; keep the promise of one line on stderr. A value that a
/// typed parser refused reads as the command's own errors do: `--issuer URL: why; the fix`.
fn one_line(e: &clap::Error) -> String {
    if e.kind() == ErrorKind::ValueValidation
        && let (Some(ContextValue::String(arg)), Some(ContextValue::String(value))) = (
            e.get(ContextKind::InvalidArg),
            e.get(ContextKind::InvalidValue),
        )
        && let Some(source) = e.source()
    {
        let flag = arg.split(' ').next().unwrap_or(arg);
        return format!("{flag} {value}: {}", irsa::ErrorChain(source));
    }
    let rendered = e.to_string();
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|line| !line.starts_with("Usage:"))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    format!(
        "{} (see irsa --help)",
        message.join(" ").trim_start_matches("error: ")
    )
}
