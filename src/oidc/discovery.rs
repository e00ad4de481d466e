//! The OpenID Connect discovery document kube-apiserver serves at
//! `/.well-known/openid-configuration`.

use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::issuer::{IssuerError, IssuerUrl, JWKS_PATH};
use super::jwk::JwkSet;
use crate::json::{self, JsonError};

/// The largest discovery document accepted, in bytes.
pub const MAX_DISCOVERY_BYTES: usize = 64 * 1024;

/// Members Kubernetes writes, in its order.
const MEMBERS: [&str; 5] = [
    "issuer",
    "jwks_uri",
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
];

/// A discovery document.
///
/// Built documents are byte-identical to kube-apiserver's (same members, order and escaping).
/// Parsed documents keep members this type does not know, in their order, after the known ones.
///
/// ```
/// use irsa::oidc::{IssuerUrl, JwkSet, OpenIdConfiguration, PublicKey};
///
/// # let pem = "-----BEGIN PUBLIC KEY-----
/// # MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEH6cuzP8XuD5wal6wf9M6xDljTOPL
/// # X2i8uIp/C/ASqiIGUeeKQtX0/IR3qCXyThP/dbCiHrF3v1cuhBOHY8CLVg==
/// # -----END PUBLIC KEY-----";
/// let keys = JwkSet::from_public_keys(&PublicKey::from_pem(pem)?)?;
/// let issuer: IssuerUrl = "https://oidc.example.com/prod".parse()?;
/// let doc = OpenIdConfiguration::new(&issuer, &keys)?;
/// assert_eq!(
///     doc.to_json(),
///     r#"{"issuer":"https://oidc.example.com/prod","jwks_uri":"https://oidc.example.com/prod/openid/v1/jwks","response_types_supported":["id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["ES256"]}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct OpenIdConfiguration {
    issuer: IssuerUrl,
    jwks_uri: String,
    response_types: Option<Vec<String>>,
    subject_types: Option<Vec<String>>,
    signing_algorithms: Option<Vec<String>>,
    extra: Map<String, Value>,
}

impl fmt::Debug for OpenIdConfiguration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenIdConfiguration")
            .field("issuer", &self.issuer)
            .field("jwks_uri", &self.jwks_uri)
            .field(
                "id_token_signing_alg_values_supported",
                &self.signing_algorithms,
            )
            .finish_non_exhaustive()
    }
}

impl OpenIdConfiguration {
    /// The document for a statically hosted issuer: `jwks_uri` is `<issuer>/openid/v1/jwks`
    /// and the algorithms are those of `keys`.
    pub fn new(issuer: &IssuerUrl, keys: &JwkSet) -> Result<Self, DiscoveryError> {
        Self::build(issuer.clone(), issuer.jwks_uri(), keys)
    }

    /// The document exactly as kube-apiserver builds it from its flags: `issuer` is the first
    /// `--service-account-issuer`, `jwks_uri` the `--service-account-jwks-uri` (empty when not
    /// set), in which case `https://<external_address>/openid/v1/jwks` is used.
    pub fn for_apiserver(
        issuer: &str,
        jwks_uri: &str,
        external_address: &str,
        keys: &JwkSet,
    ) -> Result<Self, DiscoveryError> {
        let issuer = IssuerUrl::parse(issuer).map_err(DiscoveryError::Issuer)?;
        let jwks_uri = if jwks_uri.is_empty() {
            if external_address.is_empty() || external_address.contains("://") {
                return Err(DiscoveryError::ExternalAddress {
                    address: external_address.to_owned(),
                });
            }
            format!("https://{external_address}/{JWKS_PATH}")
        } else {
            jwks_uri.to_owned()
        };
        Self::build(issuer, jwks_uri, keys)
    }

    fn build(issuer: IssuerUrl, jwks_uri: String, keys: &JwkSet) -> Result<Self, DiscoveryError> {
        check_jwks_uri(&jwks_uri)?;
        let mut doc = OpenIdConfiguration {
            issuer,
            jwks_uri,
            response_types: Some(vec!["id_token".to_owned()]),
            subject_types: Some(vec!["public".to_owned()]),
            signing_algorithms: None,
            extra: Map::new(),
        };
        doc.set_signing_algorithms(keys)?;
        Ok(doc)
    }

    /// Parses a discovery document (e.g. as downloaded with
    /// `kubectl get --raw /.well-known/openid-configuration`): strict JSON of at most
    /// [`MAX_DISCOVERY_BYTES`], a valid `issuer`, an `https` `jwks_uri`, and string arrays where
    /// Kubernetes writes them. Other members are kept.
    pub fn parse(bytes: &[u8]) -> Result<Self, DiscoveryError> {
        let mut members =
            json::parse_strict(bytes, MAX_DISCOVERY_BYTES).map_err(DiscoveryError::Json)?;
        let mut string = |member: &'static str| match members.shift_remove(member) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(DiscoveryError::WrongType {
                member,
                expected: "a string",
            }),
            None => Err(DiscoveryError::Missing { member }),
        };
        let issuer = IssuerUrl::parse(&string("issuer")?).map_err(DiscoveryError::Issuer)?;
        let jwks_uri = string("jwks_uri")?;
        check_jwks_uri(&jwks_uri)?;
        let mut strings = |member: &'static str| match members.shift_remove(member) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s),
                    _ => Err(DiscoveryError::WrongType {
                        member,
                        expected: "an array of strings",
                    }),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(DiscoveryError::WrongType {
                member,
                expected: "an array of strings",
            }),
        };
        let response_types = strings("response_types_supported")?;
        let subject_types = strings("subject_types_supported")?;
        let signing_algorithms = strings("id_token_signing_alg_values_supported")?;
        Ok(OpenIdConfiguration {
            issuer,
            jwks_uri,
            response_types,
            subject_types,
            signing_algorithms,
            extra: members,
        })
    }

    /// The document moved to `issuer`: `issuer` replaced and `jwks_uri` set to
    /// `<issuer>/openid/v1/jwks`; everything else kept.
    #[must_use]
    pub fn rehosted(&self, issuer: &IssuerUrl) -> Self {
        OpenIdConfiguration {
            issuer: issuer.clone(),
            jwks_uri: issuer.jwks_uri(),
            ..self.clone()
        }
    }

    /// Sets `id_token_signing_alg_values_supported` to the sorted algorithms of the usable keys
    /// in `keys`; fails when none is usable.
    pub fn set_signing_algorithms(&mut self, keys: &JwkSet) -> Result<(), DiscoveryError> {
        let algorithms = keys.algorithms();
        if algorithms.is_empty() {
            return Err(DiscoveryError::NoUsableKey);
        }
        self.signing_algorithms = Some(algorithms.iter().map(|a| a.as_str().to_owned()).collect());
        Ok(())
    }

    /// The `issuer` member.
    pub fn issuer(&self) -> &IssuerUrl {
        &self.issuer
    }

    /// The `jwks_uri` member.
    pub fn jwks_uri(&self) -> &str {
        &self.jwks_uri
    }

    /// The `id_token_signing_alg_values_supported` member.
    pub fn signing_algorithms(&self) -> &[String] {
        self.signing_algorithms.as_deref().unwrap_or_default()
    }

    /// Members this type does not model, in document order.
    pub fn extra_members(&self) -> &Map<String, Value> {
        &self.extra
    }

    /// The document, byte-identical to kube-apiserver's output for the same inputs.
    pub fn to_json(&self) -> String {
        json::to_go_json(self)
    }
}

impl Serialize for OpenIdConfiguration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(MEMBERS[0], &self.issuer)?;
        map.serialize_entry(MEMBERS[1], &self.jwks_uri)?;
        let arrays = [
            &self.response_types,
            &self.subject_types,
            &self.signing_algorithms,
        ];
        for (name, values) in MEMBERS[2..].iter().zip(arrays) {
            if let Some(values) = values {
                map.serialize_entry(name, values)?;
            }
        }
        for (name, value) in &self.extra {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

fn check_jwks_uri(uri: &str) -> Result<(), DiscoveryError> {
    let reason = match url::Url::parse(uri) {
        Err(e) => e.to_string(),
        Ok(url) if url.scheme() != "https" => format!("scheme {:?} is not https", url.scheme()),
        Ok(url) if url.host_str().is_none_or(str::is_empty) => "it has no host".to_owned(),
        Ok(_) => return Ok(()),
    };
    Err(DiscoveryError::JwksUri {
        uri: uri.to_owned(),
        reason,
    })
}

/// Why a discovery document was refused or could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The document is not one JSON object of at most [`MAX_DISCOVERY_BYTES`], each member
    /// named once.
    #[error("the discovery document cannot be read as a JSON object")]
    Json(#[source] JsonError),
    /// A required member is missing.
    #[error("the discovery document has no {member:?} member")]
    Missing {
        /// The member.
        member: &'static str,
    },
    /// A member has the wrong JSON type.
    #[error("the discovery document's {member:?} is not {expected}")]
    WrongType {
        /// The member.
        member: &'static str,
        /// The type that was expected.
        expected: &'static str,
    },
    /// The issuer is not a valid issuer URL.
    #[error("the discovery document's issuer is unusable")]
    Issuer(#[source] IssuerError),
    /// The `jwks_uri` is not an https URL.
    #[error("jwksURI requires https scheme, parsed as {uri:?}: {reason}")]
    JwksUri {
        /// The URI that was given.
        uri: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Without a `jwks_uri`, the external address must be `host[:port]`.
    #[error(
        "external address {address:?} must be host[:port] without a scheme when no jwks_uri is given"
    )]
    ExternalAddress {
        /// The address that was given.
        address: String,
    },
    /// The key set has no key usable for signature verification.
    #[error(
        "the key set has no key usable for verification: give at least one RSA or ECDSA public key"
    )]
    NoUsableKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_members_survive_a_round_trip() {
        let input = br#"{"issuer":"https://a.example/","jwks_uri":"https://a.example/keys.json","authorization_endpoint":"urn:kubernetes:programmatic_authorization","response_types_supported":["id_token"],"claims_supported":["sub","iss"]}"#;
        let doc = OpenIdConfiguration::parse(input).unwrap();
        assert_eq!(
            doc.to_json(),
            r#"{"issuer":"https://a.example/","jwks_uri":"https://a.example/keys.json","response_types_supported":["id_token"],"authorization_endpoint":"urn:kubernetes:programmatic_authorization","claims_supported":["sub","iss"]}"#
        );
        let moved = doc.rehosted(&"https://b.example/x/".parse().unwrap());
        assert_eq!(moved.jwks_uri(), "https://b.example/x/openid/v1/jwks");
        assert_eq!(moved.extra_members(), doc.extra_members());
    }

    #[test]
    fn refusals() {
        let parse = |s: &str| OpenIdConfiguration::parse(s.as_bytes()).unwrap_err();
        assert_eq!(
            parse(r#"{"jwks_uri":"https://a"}"#),
            DiscoveryError::Missing { member: "issuer" }
        );
        assert_eq!(
            parse(r#"{"issuer":1}"#),
            DiscoveryError::WrongType {
                member: "issuer",
                expected: "a string"
            }
        );
        assert!(matches!(
            parse(r#"{"issuer":"http://a","jwks_uri":"https://a"}"#),
            DiscoveryError::Issuer(_)
        ));
        assert!(matches!(
            parse(r#"{"issuer":"https://a","jwks_uri":"http://a/k"}"#),
            DiscoveryError::JwksUri { .. }
        ));
        assert_eq!(
            parse(
                r#"{"issuer":"https://a","jwks_uri":"https://a/k","subject_types_supported":[1]}"#
            ),
            DiscoveryError::WrongType {
                member: "subject_types_supported",
                expected: "an array of strings"
            }
        );
        assert_eq!(
            parse(r#"{"issuer":"https://a","issuer":"https://a"}"#),
            DiscoveryError::Json(JsonError::Duplicate {
                member: "issuer".to_owned()
            })
        );
    }
}
