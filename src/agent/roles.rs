//! Which role a ServiceAccount gets: its role annotation, read through the cluster's
//! [`ServiceAccountCache`], or a static file for agents without API access.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use crate::arn::RoleArn;
use crate::service_accounts::{Lookup, ServiceAccountCache};

/// Where the agent learns each ServiceAccount's role.
#[derive(Clone)]
#[non_exhaustive]
pub enum RoleSource {
    /// The ServiceAccount's `PREFIX/role-arn` annotation (the webhook's), read through a
    /// kube-rs watcher; the agent needs `get`, `list` and `watch` on ServiceAccounts.
    Cluster {
        /// The apiserver client.
        client: kube::Client,
        /// The annotation prefix (the webhook's default is `eks.amazonaws.com`).
        annotation_prefix: String,
    },
    /// A YAML or JSON object from `namespace:name` to role ARN, read again when it changes:
    /// for clusters where the agent gets no API access.
    ///
    /// ```yaml
    /// shop:cart: arn:aws:iam::111122223333:role/cart
    /// shop:checkout: arn:aws:iam::111122223333:role/checkout
    /// ```
    File(PathBuf),
}

impl std::fmt::Debug for RoleSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RoleSource::Cluster {
                annotation_prefix, ..
            } => f
                .debug_struct("Cluster")
                .field("annotation_prefix", annotation_prefix)
                .finish_non_exhaustive(),
            RoleSource::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

/// Why a role file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoleFileError {
    /// The file cannot be read.
    #[error("cannot read the role file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a YAML or JSON object of strings.
    #[error("the role file {path} is not an object from `namespace:name` to role ARN: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's words.
        message: String,
    },
    /// A key is not `namespace:name`.
    #[error(
        "the role file {path} has key {key:?}: write a ServiceAccount as `namespace:name`, e.g. `shop:cart`"
    )]
    Key {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// A ServiceAccount is mapped twice.
    #[error("the role file {path} maps {key} twice: keep one line for it")]
    Duplicate {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// A value is not a role ARN.
    #[error("the role file {path} maps {key} to a value that is not a role ARN")]
    Arn {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// Why.
        #[source]
        source: crate::arn::ArnError,
    },
}

pub(crate) type Map = HashMap<(Box<str>, Box<str>), Arc<RoleArn>, foldhash::fast::RandomState>;

/// A role file, parsed.
pub(crate) fn parse_role_file(path: &Path, bytes: &[u8]) -> Result<Map, RoleFileError> {
    let syntax = |message: String| RoleFileError::Syntax {
        path: path.to_owned(),
        message,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| syntax(e.to_string()))?;
    // An empty file maps nothing (as the webhook's empty selection file selects nothing).
    if text.trim().is_empty() {
        return Ok(Map::default());
    }
    // A list of pairs, not a map: a ServiceAccount named twice is an error, not the last one
    // silently winning.
    let entries: Vec<(String, String)> = serde_norway::from_str::<Pairs>(text)
        .map_err(|e| syntax(e.to_string()))?
        .0;
    let mut map = Map::default();
    for (key, value) in entries {
        let parsed = key
            .split_once(':')
            .filter(|(ns, name)| crate::token::Subject::new(ns, name).is_ok());
        let Some((namespace, name)) = parsed else {
            return Err(RoleFileError::Key {
                path: path.to_owned(),
                key,
            });
        };
        let arn = value
            .trim()
            .parse::<RoleArn>()
            .map_err(|source| RoleFileError::Arn {
                path: path.to_owned(),
                key: key.clone(),
                source,
            })?;
        if map
            .insert((namespace.into(), name.into()), Arc::new(arn))
            .is_some()
        {
            return Err(RoleFileError::Duplicate {
                path: path.to_owned(),
                key,
            });
        }
    }
    Ok(map)
}

/// A YAML (or JSON) mapping of strings, its entries in order, duplicates kept.
struct Pairs(Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for Pairs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Pairs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map from `namespace:name` to role ARN")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

/// What a ServiceAccount's role lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Role {
    /// This role.
    Arn(Arc<RoleArn>),
    /// The ServiceAccount has no role (or a role annotation that is not an ARN: the reason).
    None(Option<String>),
    /// The ServiceAccount could not be read (the apiserver did not answer in time or failed).
    Unknown(Lookup),
}

/// The live mapping.
#[derive(Debug, Clone)]
pub(super) enum Roles {
    Cluster(ServiceAccountCache),
    File {
        path: PathBuf,
        map: Arc<RwLock<(Vec<u8>, Arc<Map>)>>,
    },
}

impl Roles {
    pub(super) fn is_synced(&self) -> bool {
        match self {
            Roles::Cluster(cache) => cache.is_synced(),
            Roles::File { .. } => true,
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Roles::Cluster(cache) => cache.len(),
            Roles::File { map, .. } => map.read().unwrap_or_else(PoisonError::into_inner).1.len(),
        }
    }

    pub(super) async fn role(&self, namespace: &str, name: &str) -> Role {
        match self {
            Roles::Cluster(cache) => match cache.lookup(namespace, name).await {
                (Lookup::Cached | Lookup::Fetched, Some(settings)) => match settings.role_arn() {
                    None => Role::None(None),
                    Some(arn) => match arn.parse::<RoleArn>() {
                        Ok(arn) => Role::Arn(Arc::new(arn)),
                        Err(e) => Role::None(Some(format!(
                            "its role annotation {arn:?} is not a role ARN ({e})"
                        ))),
                    },
                },
                (Lookup::Missing, _) => Role::None(Some("it does not exist".to_owned())),
                (lookup, _) => Role::Unknown(lookup),
            },
            Roles::File { map, .. } => {
                let map = map.read().unwrap_or_else(PoisonError::into_inner).1.clone();
                match map.get(&(Box::from(namespace), Box::from(name))) {
                    Some(arn) => Role::Arn(arn.clone()),
                    None => Role::None(None),
                }
            }
        }
    }

    /// What to do for a ServiceAccount without a role.
    pub(super) fn fix(&self, namespace: &str, name: &str) -> String {
        match self {
            Roles::Cluster(cache) => format!("annotate it with {}/role-arn", cache.prefix()),
            Roles::File { path, .. } => format!(
                "map `{namespace}:{name}` to a role ARN in {}",
                path.display()
            ),
        }
    }

    /// Reads the role file again when its bytes changed: `Ok(true)` when a new mapping is in,
    /// an error (the old mapping kept) when the new file cannot be used.
    pub(super) fn reload(&self) -> Result<bool, RoleFileError> {
        let Roles::File { path, map } = self else {
            return Ok(false);
        };
        let bytes = std::fs::read(path).map_err(|source| RoleFileError::Read {
            path: path.clone(),
            source,
        })?;
        if map.read().unwrap_or_else(PoisonError::into_inner).0 == bytes {
            return Ok(false);
        }
        let parsed = parse_role_file(path, &bytes)?;
        *map.write().unwrap_or_else(PoisonError::into_inner) = (bytes, Arc::new(parsed));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_file_in_yaml_or_json_and_its_faults() {
        let path = Path::new("roles.yaml");
        let yaml = b"shop:cart: arn:aws:iam::111122223333:role/cart\n\"shop:pay\": arn:aws-cn:iam::111122223333:role/team/pay\n";
        let map = parse_role_file(path, yaml).unwrap();
        assert_eq!(map.len(), 2);
        assert_eq!(
            map[&(Box::from("shop"), Box::from("pay"))].to_string(),
            "arn:aws-cn:iam::111122223333:role/team/pay"
        );
        let json = br#"{"shop:cart": "arn:aws:iam::111122223333:role/cart"}"#;
        assert_eq!(parse_role_file(path, json).unwrap().len(), 1);
        assert!(parse_role_file(path, b"  \n").unwrap().is_empty());

        let key = parse_role_file(path, b"cart: arn:aws:iam::111122223333:role/cart").unwrap_err();
        assert_eq!(
            key.to_string(),
            "the role file roles.yaml has key \"cart\": write a ServiceAccount as `namespace:name`, e.g. `shop:cart`"
        );
        let arn =
            parse_role_file(path, b"shop:cart: arn:aws:iam::111122223333:user/cart").unwrap_err();
        assert!(
            matches!(arn, RoleFileError::Arn { ref key, .. } if key == "shop:cart"),
            "{arn:?}"
        );
        let list = parse_role_file(path, b"- shop:cart").unwrap_err();
        assert!(matches!(list, RoleFileError::Syntax { .. }), "{list:?}");
        let twice = parse_role_file(path, b"shop:cart: arn:aws:iam::111122223333:role/a\nshop:cart: arn:aws:iam::111122223333:role/b\n").unwrap_err();
        assert_eq!(
            twice.to_string(),
            "the role file roles.yaml maps shop:cart twice: keep one line for it"
        );
        let upper = parse_role_file(path, b"Shop:cart: arn:aws:iam::111122223333:role/cart");
        assert!(matches!(upper, Err(RoleFileError::Key { .. })), "{upper:?}");
    }
}
