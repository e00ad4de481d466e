//! A program that knows nothing of IRSA: the SDK's default chain, configured by the
//! environment alone, and one signed `sts:GetCallerIdentity`. In a pod that `irsa webhook
//! serve` selected for container credentials (`AWS_CONTAINER_CREDENTIALS_FULL_URI`,
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`), its credentials come from `irsa agent serve`;
//! with `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE`, from STS directly.
//!
//! ```text
//! cargo run --example whoami --features agent
//! ```
//!
//! It prints the caller's ARN; `tests/it/agent.rs` runs it against the agent.

// An example binary reports on stdout and stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    match aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
    {
        Ok(identity) => {
            println!("{}", identity.arn().unwrap_or("?"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "whoami: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            );
            ExitCode::FAILURE
        }
    }
}
