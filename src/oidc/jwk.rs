//! JSON Web Keys and key sets, as kube-apiserver publishes them at `/openid/v1/jwks`.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::key::{Curve, JwsAlgorithm, KeyError, KeyMaterial, PublicKey};
use crate::json::{self, JsonError};

/// The largest key-set document accepted, in bytes.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// The most keys a set may hold (STS is reported to stop finding keys beyond 100).
pub const MAX_KEYS: usize = 100;

/// Members Kubernetes writes, in the order it writes them; other members follow in input order.
const MEMBER_ORDER: [&str; 9] = ["use", "kty", "kid", "crv", "alg", "n", "e", "x", "y"];
/// Members that carry private key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// One JSON Web Key: its members as published, and the public key they describe when it is
/// usable for verifying service-account tokens.
///
/// Keys of unknown type, on unknown curves, with an unknown `alg` or a `use` other than `sig`
/// are parsed and kept (they round-trip) but are never usable: [`Jwk::public_key`] says why.
#[derive(Clone, PartialEq)]
pub struct Jwk {
    members: Map<String, Value>,
    key: Result<PublicKey, Unusable>,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty())
            .field("kid", &self.kid())
            .field("alg", &self.alg())
            .field("usable", &self.key.is_ok())
            .finish_non_exhaustive()
    }
}

impl Jwk {
    /// The JWK kube-apiserver publishes for `key`: `use` `sig`, the derived `kid` and `alg`.
    pub fn from_public_key(key: &PublicKey) -> Jwk {
        let b64 = |bytes: &[u8]| Value::String(crate::base64::url_encode(bytes));
        let mut members = Map::new();
        members.insert("use".into(), "sig".into());
        match key.material() {
            KeyMaterial::Rsa { n, e } => {
                members.insert("kty".into(), "RSA".into());
                members.insert("kid".into(), key.key_id().into());
                members.insert("alg".into(), key.algorithm().as_str().into());
                members.insert("n".into(), b64(n));
                members.insert("e".into(), b64(e));
            }
            KeyMaterial::Ec { curve, x, y } => {
                members.insert("kty".into(), "EC".into());
                members.insert("kid".into(), key.key_id().into());
                members.insert("crv".into(), curve.jwk_name().into());
                members.insert("alg".into(), key.algorithm().as_str().into());
                members.insert("x".into(), b64(x));
                members.insert("y".into(), b64(y));
            }
        }
        Jwk {
            members,
            key: Ok(key.clone()),
        }
    }

    /// Reads one key from its JSON members. `index` is only used in error messages.
    fn from_members(index: usize, members: Map<String, Value>) -> Result<Jwk, JwksError> {
        let at = |member: &'static str| JwkMember { index, member };
        for member in ["kty", "use", "kid", "alg", "crv", "n", "e", "x", "y"] {
            if members.get(member).is_some_and(|v| !v.is_string()) {
                return Err(JwksError::WrongType {
                    at: at(member),
                    expected: "a string",
                });
            }
        }
        if let Some(member) = PRIVATE_MEMBERS
            .into_iter()
            .find(|m| members.contains_key(*m))
        {
            return Err(JwksError::PrivateMaterial { at: at(member) });
        }
        let text = |m: &str| members.get(m).and_then(Value::as_str);
        let kty = text("kty").ok_or(JwksError::Missing { at: at("kty") })?;
        let bytes = |member: &'static str| -> Result<Vec<u8>, JwksError> {
            let s = text(member).ok_or(JwksError::Missing { at: at(member) })?;
            crate::base64::decode_to_vec(s.as_bytes()).ok_or(JwksError::Base64 { at: at(member) })
        };
        let key_error = |source| JwksError::InvalidKey {
            index,
            kid: text("kid").map(str::to_owned),
            source,
        };
        let mut key = match kty {
            "RSA" => PublicKey::from_rsa_components(&bytes("n")?, &bytes("e")?)
                .map(Ok)
                .map_err(key_error)?,
            "EC" => {
                let crv = text("crv").ok_or(JwksError::Missing { at: at("crv") })?;
                match Curve::from_jwk_name(crv) {
                    None => Err(Unusable::Curve(crv.to_owned())),
                    Some(curve) => {
                        let (x, y) = (bytes("x")?, bytes("y")?);
                        for (member, coordinate) in [("x", &x), ("y", &y)] {
                            if coordinate.len() != curve.coordinate_len() {
                                return Err(JwksError::CoordinateLength {
                                    at: at(member),
                                    expected: curve.coordinate_len(),
                                    found: coordinate.len(),
                                });
                            }
                        }
                        let point = [&[0x04][..], &x, &y].concat();
                        Ok(PublicKey::from_ec_point(curve, &point).map_err(key_error)?)
                    }
                }
            }
            other => Err(Unusable::KeyType(other.to_owned())),
        };
        if let Ok(public) = &key
            && let Some(alg) = text("alg")
        {
            key = match alg.parse::<JwsAlgorithm>() {
                Err(_) => Err(Unusable::Algorithm(alg.to_owned())),
                Ok(a) if !a.fits(public.material()) => Err(Unusable::AlgorithmMismatch(a)),
                Ok(_) => key,
            };
        }
        if let Some(use_) = text("use").filter(|u| *u != "sig") {
            key = Err(Unusable::Use(use_.to_owned()));
        }
        Ok(Jwk { members, key })
    }

    /// The public key, or why this JWK cannot verify signatures.
    pub fn public_key(&self) -> Result<&PublicKey, &Unusable> {
        self.key.as_ref()
    }

    /// The algorithm this key verifies: its `alg` member, or for a key without one the
    /// algorithm Kubernetes signs with for the key. `None` for an unusable key.
    pub fn algorithm(&self) -> Option<JwsAlgorithm> {
        let key = self.key.as_ref().ok()?;
        Some(
            self.alg()
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| key.algorithm()),
        )
    }

    /// The `kid` member.
    pub fn kid(&self) -> Option<&str> {
        self.member_str("kid")
    }

    /// The `kty` member.
    pub fn kty(&self) -> Option<&str> {
        self.member_str("kty")
    }

    /// The `alg` member.
    pub fn alg(&self) -> Option<&str> {
        self.member_str("alg")
    }

    /// Every member, in input order (or Kubernetes' order for generated keys).
    pub fn members(&self) -> &Map<String, Value> {
        &self.members
    }

    fn member_str(&self, name: &str) -> Option<&str> {
        self.members.get(name).and_then(Value::as_str)
    }

    /// Whether two JWKs describe the same key: the same `kid`, or, without kids, the same public
    /// key or the same members.
    fn same_key_as(&self, other: &Jwk) -> bool {
        match (self.kid(), other.kid()) {
            (Some(a), Some(b)) => a == b,
            _ => match (&self.key, &other.key) {
                (Ok(a), Ok(b)) => a == b,
                _ => self.members == other.members,
            },
        }
    }
}

impl Serialize for Jwk {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.members.len()))?;
        for name in MEMBER_ORDER {
            if let Some(value) = self.members.get(name) {
                map.serialize_entry(name, value)?;
            }
        }
        for (name, value) in &self.members {
            if !MEMBER_ORDER.contains(&name.as_str()) {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

/// Why a parsed JWK cannot verify signatures. The key is still kept and published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unusable {
    /// The key type is neither `RSA` nor `EC`.
    #[error("key type {0:?} is not RSA or EC")]
    KeyType(String),
    /// The curve is not P-256, P-384 or P-521.
    #[error("curve {0:?} is not P-256, P-384 or P-521")]
    Curve(String),
    /// The `alg` member names an algorithm STS does not accept for these tokens.
    #[error("algorithm {0:?} is not one of RS256, RS384, RS512, ES256, ES384, ES512")]
    Algorithm(String),
    /// The `alg` member does not fit the key type or curve.
    #[error("algorithm {0} does not fit the key")]
    AlgorithmMismatch(JwsAlgorithm),
    /// The `use` member is not `sig`.
    #[error("the key's use is {0:?}, not \"sig\"")]
    Use(String),
}

/// A JSON Web Key Set: the document served at `/openid/v1/jwks`.
///
/// ```
/// use irsa::oidc::{JwkSet, PublicKey};
///
/// let pem = "-----BEGIN PUBLIC KEY-----
/// MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEH6cuzP8XuD5wal6wf9M6xDljTOPL
/// X2i8uIp/C/ASqiIGUeeKQtX0/IR3qCXyThP/dbCiHrF3v1cuhBOHY8CLVg==
/// -----END PUBLIC KEY-----";
/// let set = JwkSet::from_public_keys(&PublicKey::from_pem(pem)?)?;
/// assert_eq!(
///     set.to_json(),
///     r#"{"keys":[{"use":"sig","kty":"EC","kid":"SoABiieYuNx4UdqYvZRVeuC6SihxgLrhLy9peHMHpTc","crv":"P-256","alg":"ES256","x":"H6cuzP8XuD5wal6wf9M6xDljTOPLX2i8uIp_C_ASqiI","y":"BlHnikLV9PyEd6gl8k4T_3Wwoh6xd79XLoQTh2PAi1Y"}]}"#
/// );
/// assert_eq!(JwkSet::parse(set.to_json().as_bytes())?, set);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct JwkSet {
    keys: Vec<Jwk>,
    /// Top-level members other than `keys`, kept for round trips.
    extra: Map<String, Value>,
}

impl fmt::Debug for JwkSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwkSet")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl JwkSet {
    /// The set kube-apiserver publishes for `keys`, in input order, one JWK per distinct key.
    /// Fails on an empty list (as kube-apiserver does) and on more than [`MAX_KEYS`] keys.
    pub fn from_public_keys<'a>(
        keys: impl IntoIterator<Item = &'a PublicKey>,
    ) -> Result<JwkSet, JwksError> {
        let mut set = JwkSet {
            keys: Vec::new(),
            extra: Map::new(),
        };
        for key in keys {
            set.insert(Jwk::from_public_key(key))?;
        }
        if set.keys.is_empty() {
            return Err(JwksError::NoKeys);
        }
        Ok(set)
    }

    /// Parses a key-set document: at most [`MAX_JWKS_BYTES`], strict JSON without duplicate
    /// members, a `keys` array of at most [`MAX_KEYS`] keys with distinct `kid`s, and no private
    /// key material. Unknown members, key types and algorithms are kept.
    pub fn parse(bytes: &[u8]) -> Result<JwkSet, JwksError> {
        let mut top = json::parse_strict(bytes, MAX_JWKS_BYTES).map_err(JwksError::Json)?;
        let keys = match top.shift_remove("keys") {
            Some(Value::Array(keys)) => keys,
            Some(_) => return Err(JwksError::KeysNotAnArray),
            None => return Err(JwksError::NoKeysMember),
        };
        if keys.len() > MAX_KEYS {
            return Err(JwksError::TooManyKeys { count: keys.len() });
        }
        let mut set = JwkSet {
            keys: Vec::with_capacity(keys.len()),
            extra: top,
        };
        for (index, key) in keys.into_iter().enumerate() {
            let Value::Object(members) = key else {
                return Err(JwksError::KeyNotAnObject { index });
            };
            let jwk = Jwk::from_members(index, members)?;
            if let Some(kid) = jwk.kid()
                && set.find(kid).is_some()
            {
                return Err(JwksError::DuplicateKid {
                    kid: kid.to_owned(),
                });
            }
            set.keys.push(jwk);
        }
        Ok(set)
    }

    /// The keys, in document order.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// The key with this `kid`.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid() == Some(kid))
    }

    /// The signing algorithms of the usable keys, sorted by name and deduplicated: the
    /// `id_token_signing_alg_values_supported` of the discovery document.
    pub fn algorithms(&self) -> Vec<JwsAlgorithm> {
        self.keys
            .iter()
            .filter_map(Jwk::algorithm)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// The set with `other`'s keys appended, skipping keys this set already has (same `kid`):
    /// how a rotation publishes the new key beside the old ones.
    pub fn merge(&self, other: &JwkSet) -> Result<JwkSet, JwksError> {
        let mut merged = self.clone();
        for key in &other.keys {
            merged.insert(key.clone())?;
        }
        Ok(merged)
    }

    fn insert(&mut self, jwk: Jwk) -> Result<(), JwksError> {
        if self.keys.iter().any(|k| k.same_key_as(&jwk)) {
            return Ok(());
        }
        if self.keys.len() == MAX_KEYS {
            return Err(JwksError::TooManyKeys {
                count: MAX_KEYS + 1,
            });
        }
        self.keys.push(jwk);
        Ok(())
    }

    /// The document, byte-identical to what kube-apiserver serves for the same keys.
    pub fn to_json(&self) -> String {
        json::to_go_json(self)
    }
}

impl Serialize for JwkSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1 + self.extra.len()))?;
        map.serialize_entry("keys", &self.keys)?;
        for (name, value) in &self.extra {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Names one member of one key in a key set, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwkMember {
    /// The key's position in the `keys` array.
    pub index: usize,
    /// The member's name.
    pub member: &'static str,
}

impl fmt::Display for JwkMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "keys[{}].{}", self.index, self.member)
    }
}

/// Why a key set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The document is not one JSON object of at most [`MAX_JWKS_BYTES`], each member named
    /// once.
    #[error("the key set cannot be read as a JSON object such as {{\"keys\":[...]}}")]
    Json(#[source] JsonError),
    /// There is no `keys` member.
    #[error("the key set has no \"keys\" member: expected {{\"keys\":[...]}}")]
    NoKeysMember,
    /// `keys` is not an array.
    #[error("the key set's \"keys\" member is not an array")]
    KeysNotAnArray,
    /// A key is not a JSON object.
    #[error("keys[{index}] is not a JSON object")]
    KeyNotAnObject {
        /// The key's position.
        index: usize,
    },
    /// More keys than [`MAX_KEYS`].
    #[error(
        "the key set has {count} keys; at most 100 are allowed: remove keys no live token was signed with"
    )]
    TooManyKeys {
        /// How many keys there are.
        count: usize,
    },
    /// No keys were given.
    #[error("no keys provided for validating keyset: give at least one public key")]
    NoKeys,
    /// A required member is missing.
    #[error("{at} is missing")]
    Missing {
        /// Which member.
        at: JwkMember,
    },
    /// A member has the wrong JSON type.
    #[error("{at} is not {expected}")]
    WrongType {
        /// Which member.
        at: JwkMember,
        /// The type that was expected.
        expected: &'static str,
    },
    /// A member is not unpadded base64url.
    #[error("{at} is not unpadded base64url")]
    Base64 {
        /// Which member.
        at: JwkMember,
    },
    /// An EC coordinate has the wrong length.
    #[error("{at} is {found} bytes; the curve needs exactly {expected}")]
    CoordinateLength {
        /// Which member.
        at: JwkMember,
        /// The curve's coordinate length.
        expected: usize,
        /// The decoded length.
        found: usize,
    },
    /// A key carries private key material.
    #[error("{at} is private key material: publish only public keys")]
    PrivateMaterial {
        /// Which member.
        at: JwkMember,
    },
    /// A key's material is invalid.
    #[error(
        "keys[{index}] ({}) is not a valid key",
        kid.as_deref().map_or_else(|| "no kid".to_owned(), |kid| format!("kid {kid:?}"))
    )]
    InvalidKey {
        /// The key's position.
        index: usize,
        /// The key's `kid`, if any.
        kid: Option<String>,
        /// What is wrong with the key.
        #[source]
        source: KeyError,
    },
    /// Two keys share a `kid`.
    #[error("kid {kid:?} appears on more than one key: each key needs its own kid")]
    DuplicateKid {
        /// The repeated kid.
        kid: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_N: &str = "249XwEo9k4tM8fMxV7zxOhcrP-WvXn917koM5Qr2ZXs4vo26e4ytdlrV0bQ9SlcLpQVSYjIxNfhTZdDt-ecIzshKuv1gKIxbbLQMOuK1eA_4HALyEkFgmS_tleLJrhc65tKPMGD-pKQ_xhmzRuCG51RoiMgbQxaCyYxGfNLpLAZK9L0Tctv9a0mJmGIYnIOQM4kC1A1I1n3EsXMWmeJUj7OTh_AjjCnMnkgvKT2tpKxYQ59PgDgU8Ssc7RDSmSkLxnrv-OrN80j6xrw0OjEiB4Ycr0PqfzZcvy8efTtFQ_Jnc4Bp1zUtFXt7-QeevePtQ2EcyELXE0i63T1CujRMWw";

    fn one(key: &str) -> Result<JwkSet, JwksError> {
        JwkSet::parse(format!(r#"{{"keys":[{key}]}}"#).as_bytes())
    }

    #[test]
    fn unknown_keys_are_kept_but_unusable() {
        let set = JwkSet::parse(
            r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"abc","kid":"a"},
            {"kty":"EC","crv":"secp256k1","x":"AA","y":"AA","kid":"b"},
            {"kty":"RSA","n":"RSA_N","e":"AQAB","alg":"PS256","kid":"c"}],"extra":1}"#
                .replace("RSA_N", RSA_N)
                .as_bytes(),
        )
        .unwrap();
        let reasons: Vec<_> = set
            .keys()
            .iter()
            .map(|k| k.public_key().unwrap_err().clone())
            .collect();
        assert_eq!(
            reasons,
            [
                Unusable::KeyType("OKP".into()),
                Unusable::Curve("secp256k1".into()),
                Unusable::Algorithm("PS256".into())
            ]
        );
        assert!(set.algorithms().is_empty());
        let out = set.to_json();
        assert!(
            out.starts_with(r#"{"keys":[{"kty":"OKP","kid":"a","crv":"Ed25519","x":"abc"}"#),
            "{out}"
        );
        assert!(out.ends_with(r#""extra":1}"#), "{out}");
        assert_eq!(JwkSet::parse(out.as_bytes()).unwrap(), set);
    }

    #[test]
    fn each_rule_has_its_error() {
        let rsa = |extra: &str| {
            one(&format!(
                r#"{{"kty":"RSA","n":"{RSA_N}","e":"AQAB"{extra}}}"#
            ))
        };
        let at = |index, member| JwkMember { index, member };
        assert!(rsa("").is_ok());
        assert_eq!(
            rsa(r#","d":"AQAB""#),
            Err(JwksError::PrivateMaterial { at: at(0, "d") })
        );
        assert_eq!(
            rsa(r#","kid":1"#),
            Err(JwksError::WrongType {
                at: at(0, "kid"),
                expected: "a string"
            })
        );
        assert_eq!(
            one(r#"{"kty":"RSA","e":"AQAB"}"#),
            Err(JwksError::Missing { at: at(0, "n") })
        );
        assert_eq!(
            one(r#"{"n":"AQAB"}"#),
            Err(JwksError::Missing { at: at(0, "kty") })
        );
        assert_eq!(
            one(&format!(r#"{{"kty":"RSA","n":"{RSA_N}=","e":"AQAB"}}"#)),
            Err(JwksError::Base64 { at: at(0, "n") })
        );
        assert!(matches!(
            one(r#"{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"k"}"#),
            Err(JwksError::InvalidKey { index: 0, kid: Some(ref k), source: KeyError::RsaSize { bits: 17 } }) if k == "k"
        ));
        assert_eq!(
            one(r#"{"kty":"EC","crv":"P-256","x":"AQAB","y":"AQAB"}"#),
            Err(JwksError::CoordinateLength {
                at: at(0, "x"),
                expected: 32,
                found: 3
            })
        );
        assert_eq!(
            JwkSet::parse(b"[]"),
            Err(JwksError::Json(JsonError::NotAnObject))
        );
        assert_eq!(JwkSet::parse(b"{}"), Err(JwksError::NoKeysMember));
        assert_eq!(
            JwkSet::parse(br#"{"keys":{}}"#),
            Err(JwksError::KeysNotAnArray)
        );
        assert_eq!(
            JwkSet::parse(br#"{"keys":[1]}"#),
            Err(JwksError::KeyNotAnObject { index: 0 })
        );
        assert_eq!(
            JwkSet::parse(br#"{"keys":[],"keys":[]}"#),
            Err(JwksError::Json(JsonError::Duplicate {
                member: "keys".to_owned()
            }))
        );
        let many = format!(r#"{{"keys":[{}]}}"#, vec!["{}"; 101].join(","));
        assert_eq!(
            JwkSet::parse(many.as_bytes()),
            Err(JwksError::TooManyKeys { count: 101 })
        );
        let big = vec![b' '; MAX_JWKS_BYTES + 1];
        assert_eq!(
            JwkSet::parse(&big),
            Err(JwksError::Json(JsonError::TooLarge {
                len: MAX_JWKS_BYTES + 1,
                limit: MAX_JWKS_BYTES
            }))
        );
        let dup = r#"{"keys":[{"kty":"X","kid":"a"},{"kty":"Y","kid":"a"}]}"#;
        assert_eq!(
            JwkSet::parse(dup.as_bytes()),
            Err(JwksError::DuplicateKid { kid: "a".into() })
        );
    }

    #[test]
    fn use_and_alg_decide_usability() {
        let set = one(&format!(
            r#"{{"kty":"RSA","n":"{RSA_N}","e":"AQAB","use":"enc"}}"#
        ))
        .unwrap();
        assert_eq!(
            set.keys()[0].public_key(),
            Err(&Unusable::Use("enc".into()))
        );
        let set = one(&format!(
            r#"{{"kty":"RSA","n":"{RSA_N}","e":"AQAB","alg":"ES256"}}"#
        ))
        .unwrap();
        assert_eq!(
            set.keys()[0].public_key(),
            Err(&Unusable::AlgorithmMismatch(JwsAlgorithm::ES256))
        );
        let set = one(&format!(
            r#"{{"kty":"RSA","n":"{RSA_N}","e":"AQAB","alg":"RS512"}}"#
        ))
        .unwrap();
        assert_eq!(set.algorithms(), [JwsAlgorithm::RS512]);
    }
}
