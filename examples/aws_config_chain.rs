//! The web-identity provider first in an aws-config credentials chain, the SDK's default chain
//! after it: in a pod with `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE` (set by a pod
//! identity webhook) it answers; elsewhere it says `CredentialsNotLoaded` and the chain moves
//! on to the usual sources.
//!
//! ```text
//! cargo run --example aws_config_chain
//! ```
//!
//! It prints who the credentials belong to (`sts:GetCallerIdentity`, a real signed HTTPS call).

// An example binary reports on stdout and stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use aws_config::identity::IdentityCache;
use aws_config::meta::credentials::CredentialsProviderChain;
use irsa::provider::WebIdentityProvider;

#[tokio::main]
async fn main() {
    // Settings come from the environment (or the profile): nothing to configure in code.
    let irsa = WebIdentityProvider::builder().build();
    let chain = CredentialsProviderChain::first_try("IrsaWebIdentity", irsa.clone())
        .or_default_provider()
        .await;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .credentials_provider(chain)
        // The SDK's lazy cache stays on here because the chain may fall through to sources
        // without a cache of their own. With our provider alone, switch it off
        // (`IdentityCache::no_cache()`): ours refreshes ahead of expiry in the background.
        .identity_cache(IdentityCache::lazy().build())
        .load()
        .await;
    let sts = aws_sdk_sts::Client::new(&config);
    match sts.get_caller_identity().send().await {
        Ok(identity) => {
            println!("caller: {}", identity.arn().unwrap_or("?"));
            println!("irsa provider: {:?}", irsa.status());
        }
        Err(e) => {
            eprintln!(
                "no identity: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            );
            std::process::exit(1);
        }
    }
}
