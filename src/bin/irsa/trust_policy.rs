//! `irsa trust-policy`: the least-privilege trust policy for service accounts.

use irsa::arn::{AccountId, OidcProviderArn, Partition};
use irsa::oidc::{DEFAULT_AUDIENCE, IssuerUrl};
use irsa::policy::{ClusterGrant, DEFAULT_SIZE_QUOTA, generate};
use irsa::token::Subject;

use crate::io::CliError;

/// Arguments of `irsa trust-policy`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("provider").required(true).args(["provider_arn", "issuer"])))]
#[command(group(clap::ArgGroup::new("who").required(true).args(["service_account", "namespace"])))]
pub(crate) struct Args {
    /// The IAM OIDC provider's ARN; repeatable, one statement per provider (cluster).
    #[arg(long, value_name = "ARN")]
    provider_arn: Vec<String>,
    /// The cluster's issuer URL (instead of --provider-arn), with --account.
    #[arg(
        long,
        value_name = "URL",
        requires = "account",
        conflicts_with = "provider_arn"
    )]
    issuer: Option<String>,
    /// The AWS account of the provider (with --issuer).
    #[arg(long, value_name = "ID", requires = "issuer")]
    account: Option<String>,
    /// The partition of the provider (with --issuer): aws, aws-cn or aws-us-gov.
    #[arg(
        long,
        value_name = "PARTITION",
        requires = "issuer",
        default_value = "aws"
    )]
    partition: String,
    /// A service account allowed to assume the role, NAMESPACE:NAME; repeatable.
    #[arg(long, value_name = "NS:NAME", conflicts_with = "namespace")]
    service_account: Vec<String>,
    /// Allow every service account of this namespace instead.
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    /// The audience the tokens carry (a client ID of the provider).
    #[arg(long, value_name = "AUDIENCE", default_value = DEFAULT_AUDIENCE)]
    audience: String,
    /// The account's trust policy length quota, in non-whitespace characters.
    #[arg(long, value_name = "CHARS", default_value_t = DEFAULT_SIZE_QUOTA)]
    size_limit: usize,
}

pub(crate) fn run(args: Args) -> Result<String, CliError> {
    let providers = providers(&args)?;
    let mut grants = Vec::with_capacity(providers.len());
    for provider in providers {
        let grant = match &args.namespace {
            Some(namespace) => ClusterGrant::namespace(provider, namespace)
                .map_err(|e| CliError::input(format!("--namespace {namespace}"), e))?,
            None => {
                let subjects = args
                    .service_account
                    .iter()
                    .map(|sa| subject(sa))
                    .collect::<Result<Vec<_>, _>>()?;
                ClusterGrant::service_accounts(provider, subjects)
                    .map_err(|e| CliError::input("--service-account", e))?
            }
        };
        let grant = grant
            .with_audience(&args.audience)
            .map_err(|e| CliError::input(format!("--audience {}", args.audience), e))?;
        grants.push(grant);
    }
    let policy =
        generate(&grants, args.size_limit).map_err(|e| CliError::input("--provider-arn", e))?;
    if !policy.fits() {
        return Err(CliError::refused(
            format!("--size-limit {}", args.size_limit),
            format!(
                "the policy has {} non-whitespace characters, over the quota: IAM would answer LimitExceeded; use --namespace, split the clusters across roles, or raise the quota (up to 8192) and pass it here",
                policy.size()
            ),
        ));
    }
    Ok(policy.json().to_owned())
}

fn providers(args: &Args) -> Result<Vec<OidcProviderArn>, CliError> {
    if let Some(issuer) = &args.issuer {
        let flag = || format!("--issuer {issuer}");
        let url = IssuerUrl::parse(issuer)
            .and_then(|i| i.aws_provider_url())
            .map_err(|e| CliError::input(flag(), e))?;
        let account: AccountId = args
            .account
            .as_deref()
            .unwrap_or_default()
            .parse()
            .map_err(|e| CliError::input("--account", e))?;
        let partition: Partition = args
            .partition
            .parse()
            .map_err(|e| CliError::input(format!("--partition {}", args.partition), e))?;
        return Ok(vec![url.arn(partition, account)]);
    }
    args.provider_arn
        .iter()
        .map(|arn| {
            arn.parse()
                .map_err(|e| CliError::input(format!("--provider-arn {arn}"), e))
        })
        .collect()
}

fn subject(value: &str) -> Result<Subject, CliError> {
    let flag = || format!("--service-account {value}");
    let (namespace, name) = value
        .split_once(':')
        .ok_or_else(|| CliError::input(flag(), "expected NAMESPACE:NAME, e.g. payments:api"))?;
    Subject::new(namespace, name).map_err(|e| CliError::input(flag(), e))
}
