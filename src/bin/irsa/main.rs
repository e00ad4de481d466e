//! `irsa`: IAM Roles for Service Accounts on any Kubernetes cluster, from the command line.
//!
//! Every subcommand prints JSON on stdout for machines. Exit codes: 0 success, 1 refused (a
//! check that ran and said no), 2 unusable input, with one line on stderr naming the input and
//! the fix.

// The command line is where the process meets its environment and terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod credential_process;
mod discovery;
mod explain;
mod io;
mod lint;
mod patch;
mod trust_policy;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// IAM Roles for Service Accounts on any Kubernetes cluster.
#[derive(Debug, Parser)]
#[command(name = "irsa", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate the issuer's discovery documents, S3 bucket policy, IAM OIDC provider and
    /// kube-apiserver flags.
    Discovery(discovery::Args),
    /// Judge a service-account token as STS would: exit 0 valid, 1 refused (with the STS error
    /// and the precise reason).
    Verify(verify::Args),
    /// Print the JSON patch a pod identity webhook applies to a pod (`[]` when nothing to do),
    /// or the AdmissionReview response to a request.
    Patch(patch::Args),
    /// Print web-identity credentials in the credential_process format, for any AWS tool:
    /// `credential_process = irsa credential-process` in a profile.
    CredentialProcess(credential_process::Args),
    /// Generate the least-privilege trust policy for service accounts of one or more clusters.
    TrustPolicy(trust_policy::Args),
    /// Lint a trust policy: exit 0 without error-level findings, 1 with.
    Lint(lint::Args),
    /// Predict STS's answer for a token and a trust policy, and explain every statement: exit 0
    /// allowed, 1 refused.
    Explain(explain::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            print!("{e}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // Clap explains over several lines; keep the promise of one line on stderr.
            let rendered = e.to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|line| !line.starts_with("Usage:"))
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .collect();
            let message = message.join(" ");
            eprintln!(
                "irsa: {} (see irsa --help)",
                message.trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Discovery(args) => discovery::run(args).map(|output| (output, false)),
        Command::Verify(args) => verify::run(args),
        Command::Patch(args) => patch::run(args),
        Command::CredentialProcess(args) => credential_process::run(args),
        Command::TrustPolicy(args) => trust_policy::run(args).map(|output| (output, false)),
        Command::Lint(args) => lint::run(args),
        Command::Explain(args) => explain::run(args),
    };
    match result {
        Ok((output, refused)) => {
            println!("{output}");
            if refused {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("irsa: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
