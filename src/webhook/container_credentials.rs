//! The Go webhook's container-credentials file (`--watch-container-credentials-config`): the
//! ServiceAccounts whose pods get EKS Pod Identity's container-credentials variables instead
//! of the web-identity ones.

use std::collections::BTreeSet;

use serde::Deserialize;

/// Why a container-credentials file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContainerCredentialsError {
    /// Not the JSON the Go webhook reads.
    #[error(
        "the container-credentials file is not {{\"identities\":[{{\"namespace\":…,\"serviceAccount\":…}}]}} ({reason}); write it in that form"
    )]
    Malformed {
        /// The JSON reader's complaint, with the path of the member at fault.
        reason: String,
    },
    /// An identity names no namespace or no ServiceAccount.
    #[error(
        "identities[{index}] has an empty namespace or serviceAccount; give both (no wildcards)"
    )]
    Incomplete {
        /// The identity's position.
        index: usize,
    },
}

/// The ServiceAccounts selected for container credentials, read from the file format of the
/// Go webhook's `--watch-container-credentials-config`: exact `namespace`/`serviceAccount`
/// pairs, no wildcards; an empty file selects none.
///
/// ```
/// use irsa::webhook::ContainerCredentialsIdentities;
///
/// let file = br#"{"identities": [{"namespace": "shop", "serviceAccount": "cart"}]}"#;
/// let identities = ContainerCredentialsIdentities::from_slice(file)?;
/// assert!(identities.contains("shop", "cart"));
/// assert!(!identities.contains("shop", "payments"));
/// assert!(ContainerCredentialsIdentities::from_slice(b"")?.is_empty());
/// # Ok::<(), irsa::webhook::ContainerCredentialsError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerCredentialsIdentities {
    pairs: BTreeSet<(String, String)>,
}

#[derive(Deserialize)]
struct FileIn {
    #[serde(default)]
    identities: Vec<IdentityIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentityIn {
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    service_account: String,
}

impl ContainerCredentialsIdentities {
    /// Reads the file's bytes; an empty (or all-whitespace) file selects none, as the Go
    /// webhook clears its set for one.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ContainerCredentialsError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let malformed = |reason: String| ContainerCredentialsError::Malformed { reason };
        // Read whole first, so a file is valid JSON throughout (serde's derive would skip an
        // unknown member without checking its strings), then decoded with the member's path.
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        let file: FileIn =
            serde_path_to_error::deserialize(value).map_err(|e| malformed(e.to_string()))?;
        let mut pairs = BTreeSet::new();
        for (index, identity) in file.identities.into_iter().enumerate() {
            if identity.namespace.is_empty() || identity.service_account.is_empty() {
                return Err(ContainerCredentialsError::Incomplete { index });
            }
            pairs.insert((identity.namespace, identity.service_account));
        }
        Ok(Self { pairs })
    }

    /// Whether ServiceAccount `namespace/name` is selected.
    pub fn contains(&self, namespace: &str, name: &str) -> bool {
        // A BTreeSet of owned pairs is looked up by a borrowed pair through a range.
        self.pairs
            .range((namespace.to_owned(), name.to_owned())..)
            .next()
            .is_some_and(|(ns, sa)| ns == namespace && sa == name)
    }

    /// How many ServiceAccounts are selected.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether none is selected.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_go_format_is_read_and_anything_else_named() {
        let ok = ContainerCredentialsIdentities::from_slice(
            br#"{"identities":[{"namespace":"a","serviceAccount":"x"},{"namespace":"a","serviceAccount":"y"},{"namespace":"a","serviceAccount":"x"}]}"#,
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert!(ok.contains("a", "x") && ok.contains("a", "y") && !ok.contains("a", "z"));
        assert!(!ok.contains("b", "x"));
        assert!(
            ContainerCredentialsIdentities::from_slice(b"{}")
                .unwrap()
                .is_empty()
        );
        assert!(
            ContainerCredentialsIdentities::from_slice(b" \n")
                .unwrap()
                .is_empty()
        );
        let error =
            ContainerCredentialsIdentities::from_slice(br#"{"identities":[{"namespace":1}]}"#)
                .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the container-credentials file is not {\"identities\":[{\"namespace\":…,\"serviceAccount\":…}]} (identities[0].namespace: invalid type: integer `1`, expected a string); write it in that form"
        );
        assert_eq!(
            ContainerCredentialsIdentities::from_slice(br#"{"identities":[{"namespace":"a"}]}"#),
            Err(ContainerCredentialsError::Incomplete { index: 0 })
        );
        for broken in [
            &b"{} trailing"[..],
            b"{\"x\":\"\xff\"}",
            br#"{"x":"\ud800\uu"}"#,
        ] {
            assert!(matches!(
                ContainerCredentialsIdentities::from_slice(broken),
                Err(ContainerCredentialsError::Malformed { .. })
            ));
        }
    }
}
