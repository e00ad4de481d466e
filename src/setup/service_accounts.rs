//! The ServiceAccount manifests for `kubectl apply -f`: one per service account a role of the
//! setup file names, annotated with the role for the pod identity webhook.

use super::Desired;

/// The annotation the pod identity webhook reads (its default prefix, `eks.amazonaws.com`).
pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// The annotation for a token audience other than `sts.amazonaws.com`.
pub const AUDIENCE_ANNOTATION: &str = "eks.amazonaws.com/audience";

/// One ServiceAccount manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceAccountManifest {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The YAML document.
    pub yaml: String,
}

impl ServiceAccountManifest {
    /// A file name for it: `NAMESPACE.NAME.yaml`.
    pub fn file_name(&self) -> String {
        format!("{}.{}.yaml", self.namespace, self.name)
    }
}

/// The manifests of every service account named in `desired`'s roles (namespace grants have
/// no name to annotate: their pods' service accounts need the annotation where they are
/// defined). `audience` is the token audience (the file's first).
///
/// ```
/// use irsa::setup::{Desired, SetupFile, service_accounts::manifests};
///
/// let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/keys");
/// let file = SetupFile::parse("cluster: {issuer: {url: https://oidc.example.com}, keys: [ecdsa-p384-public.pem]}
/// roles: [{name: read-s3, service_accounts: ['default:read-s3-hello']}]", &dir)?;
/// let desired = Desired::new(&file, "111122223333".parse()?)?;
/// let sa = &manifests(&desired, "sts.amazonaws.com")[0];
/// assert_eq!(sa.yaml, "apiVersion: v1
/// kind: ServiceAccount
/// metadata:
///   name: read-s3-hello
///   namespace: default
///   annotations:
///     eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/read-s3
/// ");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn manifests(desired: &Desired, audience: &str) -> Vec<ServiceAccountManifest> {
    let mut out: Vec<ServiceAccountManifest> = Vec::new();
    for role in desired.roles() {
        for subject in role.spec().service_accounts() {
            let (namespace, name) = (subject.namespace(), subject.name());
            if out
                .iter()
                .any(|m| m.namespace == namespace && m.name == name)
            {
                continue;
            }
            let mut yaml = format!(
                "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  annotations:\n    {ROLE_ARN_ANNOTATION}: {}\n",
                role.arn()
            );
            if audience != crate::oidc::DEFAULT_AUDIENCE {
                yaml.push_str(&format!(
                    "    {AUDIENCE_ANNOTATION}: {}\n",
                    serde_json::Value::from(audience)
                ));
            }
            out.push(ServiceAccountManifest {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                yaml,
            });
        }
    }
    out
}
