//! The least-privilege trust policy for service accounts of one or more clusters.

use serde_json::{Map, Value, json};

use super::context::ASSUME_ROLE_WITH_WEB_IDENTITY;
#[cfg(doc)]
use super::model::DEFAULT_SIZE_QUOTA;
use super::model::non_whitespace_len;
use crate::arn::OidcProviderArn;
use crate::oidc::DEFAULT_AUDIENCE;
use crate::token::{Subject, SubjectError};

/// Which service accounts of one cluster may assume the role.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceAccounts {
    /// These service accounts (`StringEquals` on `:sub`).
    Named(Vec<Subject>),
    /// Every service account of this namespace (`StringLike` on `:sub` with
    /// `system:serviceaccount:NAMESPACE:*`).
    Namespace(String),
}

/// One cluster's grant: its IAM OIDC provider, the audience its tokens carry, and the service
/// accounts. Each grant becomes one statement: statements are ORed, while the keys of several
/// providers in one statement would be ANDed and never match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterGrant {
    provider: OidcProviderArn,
    audience: String,
    accounts: ServiceAccounts,
}

impl ClusterGrant {
    /// Grants the named service accounts (at least one) of the cluster behind `provider`.
    pub fn service_accounts(
        provider: OidcProviderArn,
        subjects: Vec<Subject>,
    ) -> Result<ClusterGrant, GenerateError> {
        if subjects.is_empty() {
            return Err(GenerateError::NoServiceAccount);
        }
        Ok(ClusterGrant {
            provider,
            audience: DEFAULT_AUDIENCE.to_owned(),
            accounts: ServiceAccounts::Named(subjects),
        })
    }

    /// Grants every service account of `namespace` in the cluster behind `provider`.
    pub fn namespace(
        provider: OidcProviderArn,
        namespace: &str,
    ) -> Result<ClusterGrant, GenerateError> {
        // The namespace rule is the subject's; any valid name stands in for the account.
        Subject::new(namespace, "x").map_err(GenerateError::Namespace)?;
        Ok(ClusterGrant {
            provider,
            audience: DEFAULT_AUDIENCE.to_owned(),
            accounts: ServiceAccounts::Namespace(namespace.to_owned()),
        })
    }

    /// The audience the tokens carry (a client ID of the provider). Default:
    /// `sts.amazonaws.com`.
    pub fn with_audience(mut self, audience: &str) -> Result<ClusterGrant, GenerateError> {
        if audience.is_empty() || audience.len() > 255 || audience.contains(char::is_control) {
            return Err(GenerateError::Audience {
                audience: audience.to_owned(),
            });
        }
        self.audience = audience.to_owned();
        Ok(self)
    }

    /// The provider.
    pub fn provider(&self) -> &OidcProviderArn {
        &self.provider
    }

    /// The audience.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The service accounts.
    pub fn accounts(&self) -> &ServiceAccounts {
        &self.accounts
    }

    pub(crate) fn statement(&self) -> Value {
        let url = self.provider.provider_url();
        let (sub_key, aud_key) = (format!("{url}:sub"), format!("{url}:aud"));
        let aud = Value::from(self.audience.as_str());
        let mut condition = Map::new();
        match &self.accounts {
            ServiceAccounts::Named(subjects) => {
                let sub = match subjects.as_slice() {
                    [one] => json!(one.as_str()),
                    many => json!(many.iter().map(Subject::as_str).collect::<Vec<_>>()),
                };
                let equals = Map::from_iter([(sub_key, sub), (aud_key, aud)]);
                condition.insert("StringEquals".to_owned(), Value::Object(equals));
            }
            ServiceAccounts::Namespace(namespace) => {
                let equals = Map::from_iter([(aud_key, aud)]);
                let like = Map::from_iter([(
                    sub_key,
                    Value::from(format!("system:serviceaccount:{namespace}:*")),
                )]);
                condition.insert("StringEquals".to_owned(), Value::Object(equals));
                condition.insert("StringLike".to_owned(), Value::Object(like));
            }
        }
        json!({
            "Effect": "Allow",
            "Principal": {"Federated": self.provider.to_string()},
            "Action": ASSUME_ROLE_WITH_WEB_IDENTITY,
            "Condition": condition,
        })
    }
}

/// A generated trust policy and its size against the quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedPolicy {
    json: String,
    size: usize,
    quota: usize,
}

impl GeneratedPolicy {
    /// The policy document, indented with two spaces.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// Its length as IAM counts it: non-whitespace characters.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The quota it was measured against.
    pub fn quota(&self) -> usize {
        self.quota
    }

    /// Whether it fits the quota (`CreateRole` refuses it otherwise, with `LimitExceeded:
    /// Cannot exceed quota for ACLSizePerRole`).
    pub fn fits(&self) -> bool {
        self.size <= self.quota
    }
}

/// Generates the least-privilege trust policy: one statement per cluster, `StringEquals` on
/// `:aud` and on `:sub` (or `StringLike` `system:serviceaccount:NAMESPACE:*`), measured
/// against `quota` non-whitespace characters ([`DEFAULT_SIZE_QUOTA`] by default in IAM).
///
/// ```
/// use irsa::policy::{ClusterGrant, DEFAULT_SIZE_QUOTA, generate};
/// use irsa::token::Subject;
///
/// let provider = "arn:aws:iam::111122223333:oidc-provider/oidc.example.com".parse()?;
/// let grant = ClusterGrant::service_accounts(provider, vec![Subject::new("payments", "api")?])?;
/// let policy = generate(&[grant], DEFAULT_SIZE_QUOTA)?;
/// assert!(policy.fits());
/// assert!(policy.json().contains(r#""oidc.example.com:sub": "system:serviceaccount:payments:api""#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn generate(grants: &[ClusterGrant], quota: usize) -> Result<GeneratedPolicy, GenerateError> {
    if grants.is_empty() {
        return Err(GenerateError::NoGrant);
    }
    let statements: Vec<Value> = grants.iter().map(ClusterGrant::statement).collect();
    let document = json!({"Version": "2012-10-17", "Statement": statements});
    let json = serde_json::to_string_pretty(&document).unwrap_or_default();
    Ok(GeneratedPolicy {
        size: non_whitespace_len(&json),
        json,
        quota,
    })
}

/// Why a trust policy could not be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// No cluster was given.
    #[error("no cluster given: name at least one OIDC provider and its service accounts")]
    NoGrant,
    /// A cluster without service accounts.
    #[error("no service account given: name at least one (NAMESPACE:NAME) or a namespace")]
    NoServiceAccount,
    /// The namespace is not a valid Kubernetes namespace.
    #[error("the namespace's service accounts cannot be granted")]
    Namespace(#[source] SubjectError),
    /// The audience cannot be a client ID.
    #[error(
        "invalid audience {audience:?}: a client ID has 1 to 255 characters, e.g. sts.amazonaws.com"
    )]
    Audience {
        /// The audience given.
        audience: String,
    },
}
