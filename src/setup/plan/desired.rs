//! What the file asks for, resolved for one account.

use serde_json::{Map, Value};

use super::PlanError;
use crate::arn::{AccountId, OidcProviderArn, RoleArn};
use crate::oidc::PublishingPlan;
use crate::policy::ClusterGrant;
use crate::setup::file::{RoleSpec, SetupFile};

/// What the file asks for, resolved for one account.
#[derive(Debug, Clone)]
pub struct Desired {
    pub(super) publishing: PublishingPlan,
    pub(super) provider_arn: OidcProviderArn,
    pub(super) sid_prefix: String,
    pub(super) roles: Vec<DesiredRole>,
    pub(super) adopt_provider: bool,
    pub(super) adopt_bucket: bool,
}

/// One role as the file asks for it.
#[derive(Debug, Clone)]
pub struct DesiredRole {
    pub(super) spec: RoleSpec,
    arn: RoleArn,
    pub(super) statements: Vec<Value>,
}

impl Desired {
    /// Resolves `file` for `account`: the documents to publish, the provider and each role's
    /// statements for this cluster.
    pub fn new(file: &SetupFile, account: AccountId) -> Result<Desired, PlanError> {
        let cluster = file.cluster();
        let partition = file.partition();
        let mut builder = PublishingPlan::builder(cluster.issuer().clone(), cluster.keys().clone())
            .account(account.clone())
            .partition(partition);
        for audience in cluster.audiences() {
            builder = builder.audience(audience);
        }
        for existing in cluster.existing_issuers() {
            builder = builder.existing_issuer(existing);
        }
        let publishing = builder.build().map_err(PlanError::Publish)?;
        let provider_arn = publishing.provider_url().arn(partition, account.clone());
        let sid_prefix = sid_prefix(publishing.provider_url().as_str());
        let audience = cluster
            .audiences()
            .first()
            .map_or(crate::oidc::DEFAULT_AUDIENCE, String::as_str);
        let mut roles = Vec::new();
        for spec in file.roles() {
            let mut grants = Vec::new();
            if !spec.service_accounts().is_empty() {
                grants.push(ClusterGrant::service_accounts(
                    provider_arn.clone(),
                    spec.service_accounts().to_vec(),
                ));
            }
            for namespace in spec.namespaces() {
                grants.push(ClusterGrant::namespace(provider_arn.clone(), namespace));
            }
            let mut statements = Vec::new();
            for (n, grant) in grants.into_iter().enumerate() {
                let grant = grant.and_then(|g| g.with_audience(audience)).map_err(|e| {
                    PlanError::Grant {
                        role: spec.name().to_owned(),
                        source: e,
                    }
                })?;
                let mut statement = Map::new();
                statement.insert("Sid".to_owned(), Value::from(format!("{sid_prefix}{n}")));
                if let Value::Object(body) = grant.statement() {
                    statement.extend(body);
                }
                statements.push(Value::Object(statement));
            }
            let arn = RoleArn::new(partition, account.clone(), spec.path(), spec.name()).map_err(
                |_| PlanError::Grant {
                    role: spec.name().to_owned(),
                    source: crate::policy::GenerateError::NoGrant,
                },
            )?;
            roles.push(DesiredRole {
                spec: spec.clone(),
                arn,
                statements,
            });
        }
        Ok(Desired {
            publishing,
            provider_arn,
            sid_prefix,
            roles,
            adopt_provider: file.cluster().adopt_provider(),
            adopt_bucket: file.cluster().adopt_bucket(),
        })
    }

    /// The documents, bucket policy, provider input and apiserver flags.
    pub fn publishing(&self) -> &PublishingPlan {
        &self.publishing
    }

    /// The OIDC provider's ARN.
    pub fn provider_arn(&self) -> &OidcProviderArn {
        &self.provider_arn
    }

    /// The `Sid` prefix of this cluster's trust-policy statements (`Irsa` and 12 hexadecimal
    /// digits of the provider URL's SHA-256): statements with it are irsa's, all others are
    /// kept as they are.
    pub fn sid_prefix(&self) -> &str {
        &self.sid_prefix
    }

    /// The roles, in file order.
    pub fn roles(&self) -> &[DesiredRole] {
        &self.roles
    }
}

impl DesiredRole {
    /// The role as the file names it.
    pub fn spec(&self) -> &RoleSpec {
        &self.spec
    }

    /// The role's ARN.
    pub fn arn(&self) -> &RoleArn {
        &self.arn
    }

    /// This cluster's trust-policy statements for the role.
    pub fn statements(&self) -> &[Value] {
        &self.statements
    }
}

pub(super) fn sid_prefix(provider_url: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, provider_url.as_bytes());
    let hex: String = digest
        .as_ref()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("Irsa{hex}")
}

/// A tag key holding 12 hexadecimal digits of `value`'s SHA-256 under `prefix`.
pub(crate) fn ownership_tag(prefix: &str, value: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes());
    let hex: String = digest
        .as_ref()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{prefix}{hex}")
}
