//! The configuration file of `irsa sts serve`: YAML or JSON, paths relative to the file.

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::faults::Faults;
use super::registry::{Discovery, OidcProvider, Registry, Role};
use crate::oidc::{IssuerUrl, JwkSet};
use crate::policy::TrustPolicy;

/// A loaded configuration: the registry to judge by, and the faults to inject.
///
/// ```
/// use irsa::sts::ConfigFile;
///
/// let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/k8s-vectors");
/// let config = ConfigFile::parse(r#"
/// account: "111122223333"
/// providers:
///   - url: https://issuer.example.com/
///     jwks: jwks.rsa-ecdsa.json
/// roles:
///   - name: read-s3
///     trust_policy: {"Version": "2012-10-17", "Statement": []}
/// "#, &dir)?;
/// assert_eq!(config.registry.roles()[0].arn().to_string(), "arn:aws:iam::111122223333:role/read-s3");
/// # Ok::<(), irsa::sts::ConfigFileError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConfigFile {
    /// The account, providers and roles.
    pub registry: Registry,
    /// The faults to inject, if any.
    pub faults: Option<Faults>,
}

/// Why a configuration cannot be used: each names the field and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigFileError {
    /// A file cannot be read.
    #[error("{field}: cannot read {}", path.display())]
    Read {
        /// The field naming the file (or `config` for the file itself).
        field: String,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is neither YAML nor JSON of the expected shape.
    #[error("{} is not a valid configuration (YAML or JSON with account, providers, roles): {reason}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Where and why, as the YAML reader says.
        reason: String,
    },
    /// A field's value is not usable.
    #[error("{field}: {fix}")]
    Invalid {
        /// The field, e.g. `roles[0].max_session_duration`.
        field: String,
        /// What is wrong and how to fix it.
        fix: String,
    },
    /// A field's value (or the file it names) is refused by the part that reads it.
    #[error("{field}: {fix}")]
    Rejected {
        /// The field.
        field: String,
        /// How to fix it.
        fix: &'static str,
        /// Why.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    account: serde_json::Value,
    #[serde(default)]
    providers: Vec<ProviderEntry>,
    #[serde(default)]
    roles: Vec<RoleEntry>,
    #[serde(default)]
    faults: Option<FaultsEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderEntry {
    url: String,
    #[serde(default)]
    client_ids: Option<Vec<String>>,
    #[serde(default)]
    jwks: Option<PathBuf>,
    #[serde(default)]
    discovery: Option<DiscoveryEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscoveryEntry {
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    cache_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleEntry {
    name: String,
    #[serde(default)]
    path: Option<String>,
    trust_policy: serde_json::Value,
    #[serde(default)]
    max_session_duration: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsEntry {
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    throttling: f64,
    #[serde(default)]
    idp_communication_error: f64,
    #[serde(default)]
    server_error: f64,
    #[serde(default)]
    latency_ms: u64,
}

fn invalid(field: impl Into<String>, fix: impl Into<String>) -> ConfigFileError {
    ConfigFileError::Invalid {
        field: field.into(),
        fix: fix.into(),
    }
}

fn rejected(
    field: impl Into<String>,
    fix: &'static str,
    source: impl StdError + Send + Sync + 'static,
) -> ConfigFileError {
    ConfigFileError::Rejected {
        field: field.into(),
        fix,
        source: Box::new(source),
    }
}

fn read(field: &str, path: &Path) -> Result<Vec<u8>, ConfigFileError> {
    std::fs::read(path).map_err(|source| ConfigFileError::Read {
        field: field.to_owned(),
        path: path.to_owned(),
        source,
    })
}

impl ConfigFile {
    /// Reads the configuration at `path`; the files it names are relative to its directory.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigFileError> {
        let bytes = read("config", path)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            invalid(
                "config",
                format!("{} is not UTF-8 text: save it as UTF-8", path.display()),
            )
        })?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        ConfigFile::parse_at(&text, base, path)
    }

    /// Reads a configuration from `text`, with the files it names relative to `base`.
    pub fn parse(text: &str, base: &Path) -> Result<ConfigFile, ConfigFileError> {
        ConfigFile::parse_at(text, base, Path::new("<config>"))
    }

    fn parse_at(text: &str, base: &Path, path: &Path) -> Result<ConfigFile, ConfigFileError> {
        let file: File = serde_norway::from_str(text).map_err(|e| ConfigFileError::Syntax {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let account = match &file.account {
            serde_json::Value::String(s) => s.parse().map_err(|e| {
                rejected(
                    "account",
                    "give the 12-digit account ID, e.g. \"111122223333\"",
                    e,
                )
            })?,
            serde_json::Value::Number(n) => {
                return Err(invalid(
                    "account",
                    format!(
                        "{n} is a number, so leading zeros are lost: quote the 12-digit account ID, e.g. account: \"111122223333\""
                    ),
                ));
            }
            _ => {
                return Err(invalid(
                    "account",
                    "give the 12-digit account ID as a string, e.g. account: \"111122223333\"",
                ));
            }
        };
        let mut registry = Registry::new(account);
        for (i, entry) in file.providers.into_iter().enumerate() {
            let field = format!("providers[{i}]");
            if registry
                .providers
                .iter()
                .any(|p| p.url.as_str() == entry.url)
            {
                return Err(invalid(
                    format!("{field}.url"),
                    format!(
                        "{:?} is registered twice: IAM allows one provider per URL",
                        entry.url
                    ),
                ));
            }
            registry = registry.provider(provider(&field, entry, base)?);
        }
        for (i, entry) in file.roles.into_iter().enumerate() {
            let field = format!("roles[{i}]");
            if registry.roles.iter().any(|r| r.name() == entry.name) {
                return Err(invalid(
                    format!("{field}.name"),
                    format!(
                        "role {:?} is defined twice: give each role its own name",
                        entry.name
                    ),
                ));
            }
            registry = registry.role(role(&field, entry, base)?);
        }
        let faults = file.faults.map(faults).transpose()?;
        Ok(ConfigFile { registry, faults })
    }
}

fn provider(
    field: &str,
    entry: ProviderEntry,
    base: &Path,
) -> Result<OidcProvider, ConfigFileError> {
    let url: IssuerUrl = entry.url.parse().map_err(|e| {
        rejected(
            format!("{field}.url"),
            "give the issuer exactly as tokens carry it, e.g. https://oidc.example.test/cluster-a",
            e,
        )
    })?;
    let provider = match (entry.jwks, entry.discovery) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                field,
                "give either jwks (a file) or discovery (fetched), not both",
            ));
        }
        (None, None) => {
            return Err(invalid(
                field,
                "give jwks: FILE (the issuer's key set) or discovery: {} (fetched from the issuer)",
            ));
        }
        (Some(jwks), None) => {
            let jwks_field = format!("{field}.jwks");
            let keys = JwkSet::parse(&read(&jwks_field, &base.join(&jwks))?).map_err(|e| {
                rejected(
                    jwks_field.clone(),
                    "give the issuer's key set, e.g. from kubectl get --raw /openid/v1/jwks",
                    e,
                )
            })?;
            OidcProvider::with_keys(url, keys)
        }
        (None, Some(d)) => {
            let mut discovery = Discovery::new();
            if let Some(endpoint) = d.endpoint {
                let parsed = url::Url::parse(&endpoint).map_err(|e| {
                    rejected(
                        format!("{field}.discovery.endpoint"),
                        "give a URL such as http://127.0.0.1:8081",
                        e,
                    )
                })?;
                discovery = discovery.endpoint(parsed);
            }
            if let Some(ca) = d.ca_file {
                discovery =
                    discovery.ca_pem(read(&format!("{field}.discovery.ca_file"), &base.join(ca))?);
            }
            if let Some(ms) = d.timeout_ms {
                discovery = discovery.timeout(Duration::from_millis(ms));
            }
            if let Some(s) = d.cache_seconds {
                discovery = discovery.ttl(Duration::from_secs(s));
            }
            OidcProvider::with_discovery(url, discovery)
        }
    }
    .map_err(|e| {
        rejected(
            format!("{field}.url"),
            "register the issuer IAM would accept: https://, no port, no query",
            e,
        )
    })?;
    match entry.client_ids {
        Some(ids) => provider.client_ids(ids).map_err(|e| {
            rejected(
                format!("{field}.client_ids"),
                "list 1 to 100 client IDs, e.g. [sts.amazonaws.com]",
                e,
            )
        }),
        None => Ok(provider),
    }
}

fn role(field: &str, entry: RoleEntry, base: &Path) -> Result<Role, ConfigFileError> {
    let policy_field = format!("{field}.trust_policy");
    let document = match &entry.trust_policy {
        serde_json::Value::String(file) => read(&policy_field, &base.join(file))?,
        serde_json::Value::Object(_) => serde_json::to_vec(&entry.trust_policy).unwrap_or_default(),
        _ => {
            return Err(invalid(
                policy_field,
                "give a file name or the policy document inline",
            ));
        }
    };
    let policy = TrustPolicy::parse(&document).map_err(|e| {
        rejected(
            policy_field.clone(),
            "fix the document: IAM would refuse it as it is",
            e,
        )
    })?;
    let mut role = Role::new(&entry.name, policy).map_err(|e| {
        rejected(
            format!("{field}.name"),
            "use 1 to 64 of A-Z a-z 0-9 +=,.@_-",
            e,
        )
    })?;
    if let Some(path) = &entry.path {
        role = role.path(path).map_err(|e| {
            rejected(
                format!("{field}.path"),
                "use / or /a/b/ (slashes at both ends)",
                e,
            )
        })?;
    }
    if let Some(seconds) = entry.max_session_duration {
        role = role.max_session_duration(seconds).map_err(|e| {
            rejected(
                format!("{field}.max_session_duration"),
                "give 3600 to 43200 seconds",
                e,
            )
        })?;
    }
    Ok(role)
}

fn faults(entry: FaultsEntry) -> Result<Faults, ConfigFileError> {
    let fix = "give a share between 0.0 and 1.0";
    let faults = Faults::seeded(entry.seed)
        .throttling(entry.throttling)
        .and_then(|f| f.idp_communication_error(entry.idp_communication_error))
        .and_then(|f| f.server_error(entry.server_error))
        .map_err(|e| rejected(format!("faults.{}", e.name), fix, e))?;
    Ok(faults.latency(Duration::from_millis(entry.latency_ms)))
}
