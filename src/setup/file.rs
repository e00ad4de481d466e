//! The setup file: one cluster's issuer, its keys and audiences, and the roles its service
//! accounts assume. YAML or JSON, paths relative to the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::arn::{AccountId, Partition};
use crate::oidc::{IssuerUrl, JwkSet, PublicKey, S3Issuer};
use crate::token::Subject;

/// IAM's bounds on a role's maximum session duration, in seconds.
const SESSION_DURATION: std::ops::RangeInclusive<u32> = 3600..=43200;
/// IAM's limit on managed policies attached to one role (the raised quota).
const MAX_MANAGED_POLICIES: usize = 20;

/// A parsed and checked setup file. Load it with [`SetupFile::load`] or [`SetupFile::parse`].
///
/// ```
/// use irsa::setup::SetupFile;
///
/// let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/keys");
/// let file = SetupFile::parse(r#"
/// cluster:
///   issuer: {s3: {bucket: my-irsa-bucket, region: eu-west-1, prefix: prod}}
///   keys: [ecdsa-p384-public.pem]
/// roles:
///   - name: read-s3
///     service_accounts: [default:read-s3-hello]
/// "#, &dir)?;
/// assert_eq!(file.cluster().issuer().as_str(), "https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod");
/// assert_eq!(file.cluster().audiences(), ["sts.amazonaws.com"]);
/// assert_eq!(file.roles()[0].name(), "read-s3");
/// # Ok::<(), irsa::setup::SetupFileError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SetupFile {
    cluster: Cluster,
    account: Option<AccountId>,
    roles: Vec<RoleSpec>,
}

/// The cluster part of a setup file.
#[derive(Debug, Clone)]
pub struct Cluster {
    issuer: IssuerUrl,
    s3: Option<S3Issuer>,
    keys: JwkSet,
    key_files: Vec<PathBuf>,
    audiences: Vec<String>,
    existing_issuers: Vec<String>,
    adopt_provider: bool,
    adopt_bucket: bool,
}

/// One role of a setup file.
#[derive(Debug, Clone)]
pub struct RoleSpec {
    name: String,
    path: String,
    service_accounts: Vec<Subject>,
    namespaces: Vec<String>,
    managed_policies: Vec<String>,
    inline_policies: BTreeMap<String, serde_json::Value>,
    max_session_duration: Option<u32>,
    permissions_boundary: Option<String>,
    adopt: bool,
}

/// Why a setup file cannot be used: each names the field and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupFileError {
    /// A file cannot be read.
    #[error("{field}: cannot read {}", path.display())]
    Read {
        /// The field naming the file (`file` for the setup file itself).
        field: String,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The text is not YAML or JSON, or has a field of the wrong type or an unknown field.
    #[error("{field}: {message}")]
    Syntax {
        /// Where, e.g. `roles[0].servce_accounts` (`.` for the document itself).
        field: String,
        /// What the reader says, e.g. which fields are expected.
        message: String,
    },
    /// A field's value is not usable.
    #[error("{field}: {fix}")]
    Invalid {
        /// The field, e.g. `roles[0].max_session_duration`.
        field: String,
        /// What is wrong and how to fix it.
        fix: String,
    },
}

fn invalid(field: impl Into<String>, fix: impl Into<String>) -> SetupFileError {
    SetupFileError::Invalid {
        field: field.into(),
        fix: fix.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    cluster: RawCluster,
    #[serde(default)]
    account: Option<serde_json::Value>,
    #[serde(default)]
    roles: Vec<RawRole>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    issuer: RawIssuer,
    keys: Vec<PathBuf>,
    #[serde(default)]
    audiences: Option<Vec<String>>,
    #[serde(default)]
    existing_issuers: Vec<String>,
    #[serde(default)]
    adopt_provider: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIssuer {
    #[serde(default)]
    s3: Option<RawS3>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawS3 {
    bucket: String,
    region: String,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    adopt: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    name: String,
    #[serde(default)]
    service_accounts: Vec<String>,
    #[serde(default)]
    namespaces: Vec<String>,
    #[serde(default)]
    managed_policies: Vec<String>,
    #[serde(default)]
    inline_policies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    max_session_duration: Option<u32>,
    #[serde(default)]
    permissions_boundary: Option<String>,
    #[serde(default)]
    adopt: bool,
}

impl SetupFile {
    /// Reads and checks the setup file at `path`; the files it names are relative to its
    /// directory.
    pub fn load(path: &Path) -> Result<SetupFile, SetupFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| SetupFileError::Read {
            field: "file".to_owned(),
            path: path.to_owned(),
            source,
        })?;
        SetupFile::parse(&text, path.parent().unwrap_or(Path::new(".")))
    }

    /// Parses and checks `text` (YAML or JSON), reading the files it names from `base`.
    pub fn parse(text: &str, base: &Path) -> Result<SetupFile, SetupFileError> {
        SetupFile::parse_with(text, |relative| {
            let path = base.join(relative);
            std::fs::read(&path).map_err(|e| (path, e))
        })
    }

    /// Parses and checks `text`, reading each named file with `read` (which returns the bytes
    /// or the path it tried and why it failed). [`SetupFile::parse`] reads from a directory.
    pub fn parse_with(
        text: &str,
        mut read: impl FnMut(&Path) -> Result<Vec<u8>, (PathBuf, std::io::Error)>,
    ) -> Result<SetupFile, SetupFileError> {
        let deserializer = serde_norway::Deserializer::from_str(text);
        let raw: RawFile = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let field = e.path().to_string();
            let message = e.into_inner().to_string();
            // The YAML reader prefixes its own (coarser) path: the field says where.
            let message = match message.split_once(": ") {
                Some((head, rest)) if !head.is_empty() && !head.contains(' ') => rest.to_owned(),
                _ => message,
            };
            SetupFileError::Syntax { field, message }
        })?;
        let cluster = cluster(raw.cluster, &mut read)?;
        let account = raw.account.map(|value| account(&value)).transpose()?;
        let mut roles: Vec<RoleSpec> = Vec::with_capacity(raw.roles.len());
        for (i, entry) in raw.roles.into_iter().enumerate() {
            let role = role(i, entry, &mut read)?;
            if roles
                .iter()
                .any(|r| r.name.eq_ignore_ascii_case(&role.name))
            {
                return Err(invalid(
                    format!("roles[{i}].name"),
                    format!(
                        "role {:?} is listed twice (IAM role names are case-insensitive): merge the entries",
                        role.name
                    ),
                ));
            }
            roles.push(role);
        }
        Ok(SetupFile {
            cluster,
            account,
            roles,
        })
    }

    /// The cluster.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// The account, when the file names it (otherwise STS `GetCallerIdentity` tells).
    pub fn account(&self) -> Option<&AccountId> {
        self.account.as_ref()
    }

    /// The roles, in file order.
    pub fn roles(&self) -> &[RoleSpec] {
        &self.roles
    }

    /// The partition of the issuer's region (for S3 issuers; `aws` otherwise).
    pub fn partition(&self) -> Partition {
        self.cluster
            .s3
            .as_ref()
            .map_or(Partition::Aws, S3Issuer::partition)
    }
}

impl Cluster {
    /// The issuer URL (`iss` of the tokens).
    pub fn issuer(&self) -> &IssuerUrl {
        &self.issuer
    }

    /// The S3 location, for an S3-hosted issuer.
    pub fn s3(&self) -> Option<&S3Issuer> {
        self.s3.as_ref()
    }

    /// Every key the JWKS publishes, in file order.
    pub fn keys(&self) -> &JwkSet {
        &self.keys
    }

    /// The key files as the file names them (relative to it).
    pub fn key_files(&self) -> &[PathBuf] {
        &self.key_files
    }

    /// The audiences: the OIDC provider's client IDs; the first one is the one the trust
    /// policies require (the webhook's default, `sts.amazonaws.com`, unless the file says).
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// Issuers the apiserver already had, kept after the new one during a migration.
    pub fn existing_issuers(&self) -> &[String] {
        &self.existing_issuers
    }

    /// Whether irsa may add client IDs to an IAM OIDC provider of this issuer that it did not
    /// create (`adopt_provider: true`); without it such a provider is used as it is, never
    /// changed.
    pub fn adopt_provider(&self) -> bool {
        self.adopt_provider
    }

    /// Whether irsa may change the object ownership of an issuer bucket it did not create
    /// (`cluster.issuer.s3.adopt: true`).
    pub fn adopt_bucket(&self) -> bool {
        self.adopt_bucket
    }
}

impl RoleSpec {
    /// The role name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The role path (`/` by default).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Service accounts that may assume the role.
    pub fn service_accounts(&self) -> &[Subject] {
        &self.service_accounts
    }

    /// Namespaces whose every service account may assume the role.
    pub fn namespaces(&self) -> &[String] {
        &self.namespaces
    }

    /// Managed policy ARNs to attach.
    pub fn managed_policies(&self) -> &[String] {
        &self.managed_policies
    }

    /// Inline policies by name.
    pub fn inline_policies(&self) -> &BTreeMap<String, serde_json::Value> {
        &self.inline_policies
    }

    /// The maximum session duration in seconds, when the file sets it (IAM's default is 3600).
    pub fn max_session_duration(&self) -> Option<u32> {
        self.max_session_duration
    }

    /// The permissions boundary's ARN, when the file sets one.
    pub fn permissions_boundary(&self) -> Option<&str> {
        self.permissions_boundary.as_deref()
    }

    /// Whether irsa may add this cluster's trust statements to a role of this name that it did
    /// not create (`adopt: true`); without it such a role is refused, never taken over.
    pub fn adopt(&self) -> bool {
        self.adopt
    }
}

type Reader<'a> = dyn FnMut(&Path) -> Result<Vec<u8>, (PathBuf, std::io::Error)> + 'a;

fn read_file(
    read: &mut Reader<'_>,
    field: String,
    relative: &Path,
) -> Result<Vec<u8>, SetupFileError> {
    read(relative).map_err(|(path, source)| SetupFileError::Read {
        field,
        path,
        source,
    })
}

fn cluster(raw: RawCluster, read: &mut Reader<'_>) -> Result<Cluster, SetupFileError> {
    let adopt_bucket = raw.issuer.s3.as_ref().is_some_and(|s3| s3.adopt);
    let (issuer, s3) = match (raw.issuer.s3, raw.issuer.url) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(invalid(
                "cluster.issuer",
                "give either s3: {bucket, region, prefix} (irsa hosts the documents) or url: https://… (you host them)",
            ));
        }
        (Some(s3), None) => {
            let mut location = S3Issuer::new(&s3.bucket, &s3.region)
                .map_err(|e| invalid("cluster.issuer.s3", format!("{e}")))?;
            if let Some(prefix) = &s3.prefix {
                location = location
                    .with_prefix(prefix)
                    .map_err(|e| invalid("cluster.issuer.s3.prefix", format!("{e}")))?;
            }
            (location.issuer(), Some(location))
        }
        (None, Some(url)) => {
            let issuer = IssuerUrl::parse(&url)
                .map_err(|e| invalid("cluster.issuer.url", format!("{e}")))?;
            // An S3 URL written out is still an S3 issuer irsa can host.
            let s3 = S3Issuer::from_issuer(&issuer).ok().flatten();
            (issuer, s3)
        }
    };
    if raw.keys.is_empty() {
        return Err(invalid(
            "cluster.keys",
            "list the apiserver's public key file(s), e.g. [sa.pub]; while rotating, the next key too",
        ));
    }
    let mut keys = Vec::new();
    for (i, file) in raw.keys.iter().enumerate() {
        let field = format!("cluster.keys[{i}]");
        let bytes = read_file(read, field.clone(), file)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            invalid(
                &field,
                "a public key file is PEM text (e.g. /etc/kubernetes/pki/sa.pub)",
            )
        })?;
        let parsed = PublicKey::from_pem(&text)
            .map_err(|e| invalid(&field, format!("{e}: give the apiserver's sa.pub (PEM)")))?;
        keys.extend(parsed);
    }
    let keys =
        JwkSet::from_public_keys(&keys).map_err(|e| invalid("cluster.keys", format!("{e}")))?;
    let audiences = raw
        .audiences
        .unwrap_or_else(|| vec![crate::oidc::DEFAULT_AUDIENCE.to_owned()]);
    if audiences.is_empty() || audiences.len() > 100 {
        return Err(invalid(
            "cluster.audiences",
            "list 1 to 100 audiences (IAM client IDs), e.g. [sts.amazonaws.com]",
        ));
    }
    for (i, audience) in audiences.iter().enumerate() {
        if audience.is_empty() || audience.len() > 255 || audience.contains(char::is_control) {
            return Err(invalid(
                format!("cluster.audiences[{i}]"),
                "a client ID has 1 to 255 characters, e.g. sts.amazonaws.com",
            ));
        }
        if audiences.iter().take(i).any(|a| a == audience) {
            return Err(invalid(
                format!("cluster.audiences[{i}]"),
                format!("{audience:?} is listed twice: list each audience once"),
            ));
        }
    }
    for (i, existing) in raw.existing_issuers.iter().enumerate() {
        if existing.is_empty() || existing.contains(char::is_whitespace) {
            return Err(invalid(
                format!("cluster.existing_issuers[{i}]"),
                "give the issuer exactly as the apiserver's --service-account-issuer has it",
            ));
        }
    }
    Ok(Cluster {
        issuer,
        s3,
        keys,
        key_files: raw.keys,
        audiences,
        existing_issuers: raw.existing_issuers,
        adopt_provider: raw.adopt_provider,
        adopt_bucket,
    })
}

fn account(value: &serde_json::Value) -> Result<AccountId, SetupFileError> {
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    text.parse().map_err(|_| {
        invalid(
            "account",
            "an account ID is 12 digits, quoted (e.g. \"011122223333\": YAML drops a leading zero of a number)",
        )
    })
}

fn role(i: usize, raw: RawRole, read: &mut Reader<'_>) -> Result<RoleSpec, SetupFileError> {
    let at = |field: &str| format!("roles[{i}].{field}");
    let path = raw.path.unwrap_or_else(|| "/".to_owned());
    // The ARN's own checks are IAM's rules for names and paths.
    crate::arn::validate_role_name(&raw.name).map_err(|e| invalid(at("name"), format!("{e}")))?;
    crate::arn::validate_role_path(&path).map_err(|e| invalid(at("path"), format!("{e}")))?;
    if raw.service_accounts.is_empty() && raw.namespaces.is_empty() {
        return Err(invalid(
            at("service_accounts"),
            "name at least one service account (NAMESPACE:NAME) or a namespace (namespaces: [NS])",
        ));
    }
    let mut service_accounts = Vec::new();
    for (j, sa) in raw.service_accounts.iter().enumerate() {
        let field = format!("roles[{i}].service_accounts[{j}]");
        let (namespace, name) = sa.split_once(':').ok_or_else(|| {
            invalid(
                &field,
                format!("write {sa:?} as NAMESPACE:NAME, e.g. default:read-s3-hello"),
            )
        })?;
        let subject = Subject::new(namespace, name).map_err(|e| invalid(&field, format!("{e}")))?;
        service_accounts.push(subject);
    }
    for (j, namespace) in raw.namespaces.iter().enumerate() {
        Subject::new(namespace, "x")
            .map_err(|e| invalid(format!("roles[{i}].namespaces[{j}]"), format!("{e}")))?;
    }
    if raw.managed_policies.len() > MAX_MANAGED_POLICIES {
        return Err(invalid(
            at("managed_policies"),
            format!(
                "IAM attaches at most {MAX_MANAGED_POLICIES} managed policies to a role: combine some"
            ),
        ));
    }
    for (j, arn) in raw.managed_policies.iter().enumerate() {
        if !is_policy_arn(arn) {
            return Err(invalid(
                format!("roles[{i}].managed_policies[{j}]"),
                format!(
                    "{arn:?} is not a managed policy ARN, e.g. arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
                ),
            ));
        }
    }
    let mut inline_policies = BTreeMap::new();
    for (name, value) in raw.inline_policies {
        let field = format!("roles[{i}].inline_policies.{name}");
        if name.is_empty()
            || name.len() > 128
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=.@-_".contains(c))
        {
            return Err(invalid(
                &field,
                "a policy name has 1 to 128 letters, digits or +=.@-_ (irsa records it in a role tag, which cannot hold a comma)",
            ));
        }
        let document = match value {
            serde_json::Value::String(file) => {
                let bytes = read_file(read, field.clone(), Path::new(&file))?;
                serde_json::from_slice(&bytes).map_err(|e| {
                    invalid(
                        &field,
                        format!("{file} is not a JSON policy document ({e})"),
                    )
                })?
            }
            document @ serde_json::Value::Object(_) => document,
            _ => {
                return Err(invalid(
                    &field,
                    "give a policy document file (relative to this file) or the document inline",
                ));
            }
        };
        inline_policies.insert(name, document);
    }
    if raw
        .max_session_duration
        .is_some_and(|seconds| !SESSION_DURATION.contains(&seconds))
    {
        return Err(invalid(
            at("max_session_duration"),
            "IAM allows 3600 to 43200 seconds (1 to 12 hours)",
        ));
    }
    if let Some(boundary) = raw
        .permissions_boundary
        .as_ref()
        .filter(|b| !is_policy_arn(b))
    {
        return Err(invalid(
            at("permissions_boundary"),
            format!(
                "{boundary:?} is not a managed policy ARN, e.g. arn:aws:iam::111122223333:policy/boundary"
            ),
        ));
    }
    Ok(RoleSpec {
        name: raw.name,
        path,
        service_accounts,
        namespaces: raw.namespaces,
        managed_policies: raw.managed_policies,
        inline_policies,
        max_session_duration: raw.max_session_duration,
        permissions_boundary: raw.permissions_boundary,
        adopt: raw.adopt,
    })
}

/// `arn:PARTITION:iam::(ACCOUNT|aws):policy/PATH/NAME`, short enough to be recorded in a tag.
fn is_policy_arn(arn: &str) -> bool {
    let mut parts = arn.splitn(6, ':');
    let ok = matches!(
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource))
            if partition.parse::<Partition>().is_ok()
                && (account == "aws" || account.parse::<AccountId>().is_ok())
                && resource.strip_prefix("policy/").is_some_and(|name| !name.is_empty() && !name.ends_with('/'))
    );
    ok && arn.len() <= 256
        && arn
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/=+-@_.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SetupFile, SetupFileError> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/keys");
        SetupFile::parse(text, &dir)
    }

    const CLUSTER: &str =
        "cluster:\n  issuer: {url: https://oidc.example.com/c1}\n  keys: [ecdsa-p384-public.pem]\n";

    #[test]
    fn unknown_fields_are_refused_with_their_path() {
        let err = parse(&format!(
            "{CLUSTER}roles:\n  - name: r\n    servce_accounts: [a:b]\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("roles[0].servce_accounts: unknown field `servce_accounts`"),
            "{err}"
        );
        let err = parse("cluster:\n  issuer: {gcs: x}\n  keys: [a]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("cluster.issuer.gcs: unknown field `gcs`, expected `s3` or `url`"),
            "{err}"
        );
    }

    #[test]
    fn values_are_checked_with_the_crates_types() {
        let cases = [
            (
                "roles:\n  - name: r\n    service_accounts: [nocolon]\n",
                "roles[0].service_accounts[0]: write \"nocolon\" as NAMESPACE:NAME",
            ),
            (
                "roles:\n  - name: r\n    namespaces: [Bad_NS]\n",
                "roles[0].namespaces[0]: ",
            ),
            (
                "roles:\n  - name: r\n",
                "roles[0].service_accounts: name at least one",
            ),
            (
                "roles:\n  - name: r\n    namespaces: [a]\n    max_session_duration: 60\n",
                "roles[0].max_session_duration: IAM allows 3600 to 43200",
            ),
            (
                "roles:\n  - name: r\n    namespaces: [a]\n    managed_policies: [AmazonS3ReadOnlyAccess]\n",
                "roles[0].managed_policies[0]: \"AmazonS3ReadOnlyAccess\" is not a managed policy ARN",
            ),
            (
                "roles:\n  - name: r\n    namespaces: [a]\n  - name: R\n    namespaces: [b]\n",
                "roles[1].name: role \"R\" is listed twice",
            ),
            (
                "roles:\n  - name: r\n    namespaces: [a]\n    inline_policies: {x: missing.json}\n",
                "roles[0].inline_policies.x: cannot read",
            ),
            ("account: 1234\n", "account: an account ID is 12 digits"),
        ];
        for (text, expected) in cases {
            let err = parse(&format!("{CLUSTER}{text}")).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{text}: {err}");
        }
        let err =
            parse("cluster:\n  issuer: {url: http://x.example}\n  keys: [ecdsa-p384-public.pem]\n")
                .unwrap_err()
                .to_string();
        assert!(err.starts_with("cluster.issuer.url: "), "{err}");
        let err = parse("cluster:\n  issuer: {url: https://x.example}\n  keys: [nope.pub]\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("cluster.keys[0]: cannot read "), "{err}");
    }

    #[test]
    fn a_full_file_reads_as_written() {
        let file = parse(&format!(
            "{CLUSTER}  audiences: [sts.amazonaws.com, other]\n  existing_issuers: [https://kubernetes.default.svc.cluster.local]\naccount: \"111122223333\"\nroles:\n  - name: read-s3\n    service_accounts: [default:read-s3-hello]\n    namespaces: [payments]\n    managed_policies: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n    inline_policies: {{extra: {{Version: '2012-10-17', Statement: []}}}}\n    path: /irsa/\n    max_session_duration: 7200\n    permissions_boundary: arn:aws:iam::111122223333:policy/boundary\n"
        ))
        .unwrap();
        let role = &file.roles()[0];
        assert_eq!(file.account().unwrap().as_str(), "111122223333");
        assert_eq!(file.cluster().audiences(), ["sts.amazonaws.com", "other"]);
        assert!(file.cluster().s3().is_none());
        assert_eq!(role.path(), "/irsa/");
        assert_eq!(
            role.service_accounts()[0].as_str(),
            "system:serviceaccount:default:read-s3-hello"
        );
        assert_eq!(role.namespaces(), ["payments"]);
        assert_eq!(role.max_session_duration(), Some(7200));
        assert_eq!(role.inline_policies()["extra"]["Version"], "2012-10-17");
    }
}
