//! `irsa trust-policy`: the least-privilege trust policy for service accounts.

use crate::value::SizeQuota;
use irsa::arn::{AccountId, OidcProviderArn, Partition};
use irsa::oidc::{DEFAULT_AUDIENCE, IssuerUrl};
use irsa::policy::{ClusterGrant, generate};
use irsa::token::Subject;

use crate::io::CliError;
use crate::render::Report;
use crate::value;

/// Arguments of `irsa trust-policy`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("provider").required(true).args(["provider_arn", "issuer"])))]
#[command(group(clap::ArgGroup::new("who").required(true).args(["service_account", "namespace"])))]
pub(crate) struct Args {
    /// The IAM OIDC provider's ARN; repeatable, one statement per provider (cluster).
    #[arg(long, value_name = "ARN")]
    provider_arn: Vec<OidcProviderArn>,
    /// The cluster's issuer URL (instead of --provider-arn), with --account.
    #[arg(
        long,
        value_name = "URL",
        requires = "account",
        conflicts_with = "provider_arn",
        value_parser = value::issuer
    )]
    issuer: Option<IssuerUrl>,
    /// The AWS account of the provider (with --issuer).
    #[arg(long, value_name = "ID", requires = "issuer")]
    account: Option<AccountId>,
    /// The partition of the provider (with --issuer): aws, aws-cn or aws-us-gov.
    #[arg(
        long,
        value_name = "PARTITION",
        requires = "issuer",
        default_value = "aws"
    )]
    partition: Partition,
    /// A service account allowed to assume the role, NAMESPACE:NAME; repeatable.
    #[arg(
        long,
        value_name = "NS:NAME",
        conflicts_with = "namespace",
        value_parser = value::service_account
    )]
    service_account: Vec<Subject>,
    /// Allow every service account of this namespace instead.
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    /// The audience the tokens carry (a client ID of the provider).
    #[arg(long, value_name = "AUDIENCE", default_value = DEFAULT_AUDIENCE)]
    audience: String,
    #[command(flatten)]
    quota: SizeQuota,
}

/// The policy document: the same in both formats, since it is what gets saved.
pub(crate) fn run(args: Args) -> Result<Report, CliError> {
    let providers = providers(&args)?;
    let mut grants = Vec::with_capacity(providers.len());
    for provider in providers {
        let grant = match &args.namespace {
            Some(namespace) => ClusterGrant::namespace(provider, namespace)
                .map_err(|e| CliError::input(format!("--namespace {namespace}"), e))?,
            None => ClusterGrant::service_accounts(provider, args.service_account.clone())
                .map_err(|e| CliError::input("--service-account", e))?,
        };
        let grant = grant
            .with_audience(&args.audience)
            .map_err(|e| CliError::input(format!("--audience {}", args.audience), e))?;
        grants.push(grant);
    }
    let policy = generate(&grants, args.quota.size_quota)
        .map_err(|e| CliError::input("--provider-arn", e))?;
    if !policy.fits() {
        return Err(CliError::refused(
            format!("--size-quota {}", args.quota.size_quota),
            format!(
                "the policy has {} non-whitespace characters, over the quota: IAM would answer LimitExceeded; use --namespace, split the clusters across roles, or raise the quota (up to 8192) and pass it here",
                policy.size()
            ),
        ));
    }
    Ok(Report::document(policy.json().to_owned()))
}

fn providers(args: &Args) -> Result<Vec<OidcProviderArn>, CliError> {
    if let Some(issuer) = &args.issuer {
        let url = issuer
            .aws_provider_url()
            .map_err(|e| CliError::input(format!("--issuer {}", issuer.as_str()), e))?;
        let account = args.account.clone().ok_or_else(|| {
            CliError::input("--account", "give the provider's account with --issuer")
        })?;
        return Ok(vec![url.arn(args.partition, account)]);
    }
    Ok(args.provider_arn.clone())
}
