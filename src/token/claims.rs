//! Typed claims and header of Kubernetes service-account tokens, decoded strictly: duplicate
//! member names and claims of the wrong JSON type are refused, strings borrow from the decoded
//! buffer when they contain no escapes.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The issuer Kubernetes writes into legacy, secret-based tokens.
pub const LEGACY_ISSUER: &str = "kubernetes/serviceaccount";
/// STS's limit on `SubjectFromWebIdentityToken`.
pub const STS_MAX_SUBJECT_LEN: usize = 255;

const LEGACY_NAMESPACE: &str = "kubernetes.io/serviceaccount/namespace";
const LEGACY_SECRET_NAME: &str = "kubernetes.io/serviceaccount/secret.name";
const LEGACY_SA_NAME: &str = "kubernetes.io/serviceaccount/service-account.name";
const LEGACY_SA_UID: &str = "kubernetes.io/serviceaccount/service-account.uid";

/// The `aud` claim: one string or an array of strings (Kubernetes always writes an array).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience<'a> {
    /// A single audience, written as a JSON string.
    One(Cow<'a, str>),
    /// Audiences written as a JSON array.
    Many(Vec<Cow<'a, str>>),
}

impl Audience<'_> {
    /// Every audience, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let (one, many) = match self {
            Audience::One(a) => (Some(a.as_ref()), &[][..]),
            Audience::Many(list) => (None, list.as_slice()),
        };
        one.into_iter().chain(many.iter().map(AsRef::as_ref))
    }

    /// Whether `audience` is one of them.
    pub fn contains(&self, audience: &str) -> bool {
        self.iter().any(|a| a == audience)
    }

    /// How many audiences there are.
    pub fn len(&self) -> usize {
        match self {
            Audience::One(_) => 1,
            Audience::Many(list) => list.len(),
        }
    }

    /// Whether there is no audience (an empty array).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy that owns its strings.
    pub fn into_owned(self) -> Audience<'static> {
        match self {
            Audience::One(a) => Audience::One(Cow::Owned(a.into_owned())),
            Audience::Many(list) => Audience::Many(
                list.into_iter()
                    .map(|a| Cow::Owned(a.into_owned()))
                    .collect(),
            ),
        }
    }
}

impl Serialize for Audience<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Audience::One(a) => serializer.serialize_str(a),
            Audience::Many(list) => list.serialize(serializer),
        }
    }
}

/// A reference to a Kubernetes object in the `kubernetes.io` claim (`{name, uid}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ObjectRef<'a> {
    /// The object's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Cow<'a, str>>,
    /// The object's UID (absent for a node that was not found when the token was issued).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<Cow<'a, str>>,
}

impl ObjectRef<'_> {
    fn into_owned(self) -> ObjectRef<'static> {
        ObjectRef {
            name: owned(self.name),
            uid: owned(self.uid),
        }
    }
}

/// The private `kubernetes.io` claim of bound (projected) tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct KubernetesClaims<'a> {
    /// The service account's namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Cow<'a, str>>,
    /// The node the pod runs on (pod-bound tokens since 1.30) or the node the token is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<ObjectRef<'a>>,
    /// The pod the token is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<ObjectRef<'a>>,
    /// The secret the token is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<ObjectRef<'a>>,
    /// The service account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serviceaccount: Option<ObjectRef<'a>>,
    /// When clients should start warning about the token's age (extended API tokens only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnafter: Option<i64>,
}

impl KubernetesClaims<'_> {
    fn into_owned(self) -> KubernetesClaims<'static> {
        KubernetesClaims {
            namespace: owned(self.namespace),
            node: self.node.map(ObjectRef::into_owned),
            pod: self.pod.map(ObjectRef::into_owned),
            secret: self.secret.map(ObjectRef::into_owned),
            serviceaccount: self.serviceaccount.map(ObjectRef::into_owned),
            warnafter: self.warnafter,
        }
    }
}

/// The flat private claims of legacy, secret-based tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LegacyClaims<'a> {
    /// `kubernetes.io/serviceaccount/namespace`.
    #[serde(
        rename = "kubernetes.io/serviceaccount/namespace",
        skip_serializing_if = "Option::is_none"
    )]
    pub namespace: Option<Cow<'a, str>>,
    /// `kubernetes.io/serviceaccount/secret.name`.
    #[serde(
        rename = "kubernetes.io/serviceaccount/secret.name",
        skip_serializing_if = "Option::is_none"
    )]
    pub secret_name: Option<Cow<'a, str>>,
    /// `kubernetes.io/serviceaccount/service-account.name`.
    #[serde(
        rename = "kubernetes.io/serviceaccount/service-account.name",
        skip_serializing_if = "Option::is_none"
    )]
    pub service_account_name: Option<Cow<'a, str>>,
    /// `kubernetes.io/serviceaccount/service-account.uid`.
    #[serde(
        rename = "kubernetes.io/serviceaccount/service-account.uid",
        skip_serializing_if = "Option::is_none"
    )]
    pub service_account_uid: Option<Cow<'a, str>>,
}

impl LegacyClaims<'_> {
    fn into_owned(self) -> LegacyClaims<'static> {
        LegacyClaims {
            namespace: owned(self.namespace),
            secret_name: owned(self.secret_name),
            service_account_name: owned(self.service_account_name),
            service_account_uid: owned(self.service_account_uid),
        }
    }
}

/// The claims of a service-account token. Serialises with the members in the order Kubernetes
/// writes them (sorted by name).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Claims<'a> {
    /// `aud`: the audiences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience<'a>>,
    /// `exp`: expiry, seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// `iat`: issue time, seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// `iss`: the issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<Cow<'a, str>>,
    /// `jti`: the token's unique ID (from Kubernetes 1.30).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<Cow<'a, str>>,
    /// `kubernetes.io`: the bound token's private claims.
    #[serde(rename = "kubernetes.io", skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesClaims<'a>>,
    /// The legacy token's flat private claims.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub legacy: Option<LegacyClaims<'a>>,
    /// `nbf`: not before, seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// `sub`: the subject, `system:serviceaccount:NAMESPACE:NAME` for Kubernetes tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<Cow<'a, str>>,
}

/// What kind of token the claims describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenKind {
    /// A bound (projected) service-account token, with the `kubernetes.io` claim.
    Bound,
    /// A legacy secret-based token: no audience, no expiry; unusable for IRSA.
    Legacy,
    /// Any other JWT.
    Other,
}

impl<'a> Claims<'a> {
    /// Decodes the JSON payload of a token.
    pub fn from_json(payload: &'a [u8]) -> Result<Claims<'a>, ClaimsError> {
        let problem = Problem::default();
        let mut de = serde_json::Deserializer::from_slice(payload);
        let result = ClaimsSeed { problem: &problem }.deserialize(&mut de);
        finish(&problem, result.and_then(|v| de.end().map(|()| v)))
    }

    /// What kind of token these claims come from.
    pub fn kind(&self) -> TokenKind {
        if self.kubernetes.is_some() {
            TokenKind::Bound
        } else if self.legacy.is_some() || self.iss.as_deref() == Some(LEGACY_ISSUER) {
            TokenKind::Legacy
        } else {
            TokenKind::Other
        }
    }

    /// The subject parsed as a service account, when it is one.
    pub fn subject(&self) -> Option<Result<Subject, SubjectError>> {
        self.sub.as_deref().map(Subject::parse)
    }

    /// A copy that owns its strings.
    pub fn into_owned(self) -> Claims<'static> {
        Claims {
            aud: self.aud.map(Audience::into_owned),
            exp: self.exp,
            iat: self.iat,
            iss: owned(self.iss),
            jti: owned(self.jti),
            kubernetes: self.kubernetes.map(KubernetesClaims::into_owned),
            legacy: self.legacy.map(LegacyClaims::into_owned),
            nbf: self.nbf,
            sub: owned(self.sub),
        }
    }
}

/// The JOSE header of a token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Header<'a> {
    /// `alg`, as written.
    pub alg: Cow<'a, str>,
    /// `kid`, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<Cow<'a, str>>,
    /// `typ`, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typ: Option<Cow<'a, str>>,
    /// Whether a `crit` member is present (no extension is understood, so such tokens are
    /// refused).
    #[serde(skip)]
    pub crit: bool,
}

impl<'a> Header<'a> {
    /// Decodes the JSON header of a token.
    pub fn from_json(header: &'a [u8]) -> Result<Header<'a>, ClaimsError> {
        let problem = Problem::default();
        let mut de = serde_json::Deserializer::from_slice(header);
        let result = HeaderSeed { problem: &problem }.deserialize(&mut de);
        finish(&problem, result.and_then(|v| de.end().map(|()| v)))
    }

    /// A copy that owns its strings.
    pub fn into_owned(self) -> Header<'static> {
        Header {
            alg: Cow::Owned(self.alg.into_owned()),
            kid: owned(self.kid),
            typ: owned(self.typ),
            crit: self.crit,
        }
    }
}

fn owned(s: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
    s.map(|s| Cow::Owned(s.into_owned()))
}

/// Why a token's header or claims could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// Not JSON, or not an object.
    #[error("not a JSON object: {reason}")]
    Json {
        /// The parser's reason.
        reason: String,
    },
    /// A member name appears twice in one object.
    #[error("member {member:?} appears twice")]
    Duplicate {
        /// The repeated member.
        member: String,
    },
    /// A claim has the wrong JSON type.
    #[error("claim {claim:?} is not {expected}")]
    WrongType {
        /// The claim (`kubernetes.io.pod.name` for nested ones).
        claim: String,
        /// The type that was expected.
        expected: &'static str,
    },
    /// A required header member is missing.
    #[error("the header has no {member:?}")]
    Missing {
        /// The member.
        member: &'static str,
    },
}

/// Turns serde's error into the precise problem recorded while decoding, if any.
fn finish<T>(problem: &Problem, result: Result<T, serde_json::Error>) -> Result<T, ClaimsError> {
    result.map_err(|e| {
        problem.take().unwrap_or(ClaimsError::Json {
            reason: e.to_string(),
        })
    })
}

/// The first precise problem met while decoding; serde's own error then only unwinds.
#[derive(Default)]
struct Problem(Cell<Option<ClaimsError>>);

impl Problem {
    fn set<E: de::Error>(&self, problem: ClaimsError) -> E {
        let first = self.0.take().unwrap_or(problem);
        let message = first.to_string();
        self.0.set(Some(first));
        E::custom(message)
    }

    fn take(&self) -> Option<ClaimsError> {
        self.0.take()
    }

    /// Reads the next value as `T`, recording a type error against `claim`.
    fn value<'de, A, T>(
        &self,
        map: &mut A,
        claim: &str,
        expected: &'static str,
    ) -> Result<T, A::Error>
    where
        A: MapAccess<'de>,
        T: Deserialize<'de>,
    {
        map.next_value::<T>().map_err(|e| {
            if e.to_string().starts_with("invalid type") {
                self.set(ClaimsError::WrongType {
                    claim: claim.to_owned(),
                    expected,
                })
            } else {
                e
            }
        })
    }

    fn seeded<'de, A, S>(&self, map: &mut A, seed: S) -> Result<S::Value, A::Error>
    where
        A: MapAccess<'de>,
        S: DeserializeSeed<'de>,
    {
        map.next_value_seed(seed)
    }
}

/// Member names seen in one object, to refuse duplicates.
#[derive(Default)]
struct Seen<'de> {
    small: Vec<Cow<'de, str>>,
    large: Option<HashSet<Cow<'de, str>>>,
}

impl<'de> Seen<'de> {
    const SMALL: usize = 16;

    // The `Cow` is kept (a borrowed key is stored without copying it).
    #[allow(clippy::ptr_arg)]
    fn insert<E: de::Error>(&mut self, key: &Cow<'de, str>, problem: &Problem) -> Result<(), E> {
        let fresh = match &mut self.large {
            Some(set) => set.insert(key.clone()),
            None if self.small.contains(key) => false,
            None if self.small.len() < Self::SMALL => {
                self.small.push(key.clone());
                true
            }
            None => {
                let mut set: HashSet<_> = self.small.drain(..).collect();
                let fresh = set.insert(key.clone());
                self.large = Some(set);
                fresh
            }
        };
        if fresh {
            Ok(())
        } else {
            Err(problem.set(ClaimsError::Duplicate {
                member: key.to_string(),
            }))
        }
    }
}

/// A string that borrows from the input when it has no escapes.
struct CowStr<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<CowStr<'de>, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<CowStr<'de>, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<CowStr<'de>, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// A NumericDate: a JSON number of seconds; a fractional part is dropped.
struct NumericDate(i64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NumericDate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of seconds")
            }
            fn visit_i64<E>(self, v: i64) -> Result<NumericDate, E> {
                Ok(NumericDate(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NumericDate, E> {
                i64::try_from(v)
                    .map(NumericDate)
                    .map_err(|_| E::custom("time out of range"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<NumericDate, E> {
                if v.is_finite() && v.abs() < 9.0e15 {
                    // In range, so the conversion is exact after flooring.
                    #[allow(clippy::cast_possible_truncation)]
                    Ok(NumericDate(v.floor() as i64))
                } else {
                    Err(E::custom("time out of range"))
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

struct AudienceDe<'de>(Audience<'de>);

impl<'de> Deserialize<'de> for AudienceDe<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AudienceDe<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<AudienceDe<'de>, E> {
                Ok(AudienceDe(Audience::One(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<AudienceDe<'de>, E> {
                Ok(AudienceDe(Audience::One(Cow::Owned(v.to_owned()))))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AudienceDe<'de>, A::Error> {
                let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(16));
                while let Some(CowStr(a)) = seq.next_element()? {
                    list.push(a);
                }
                Ok(AudienceDe(Audience::Many(list)))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Skips any value, refusing duplicate member names inside it.
struct StrictIgnore<'p> {
    problem: &'p Problem,
}

impl<'de> DeserializeSeed<'de> for StrictIgnore<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictIgnore<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(StrictIgnore {
                problem: self.problem,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = Seen::default();
        while let Some(CowStr(key)) = map.next_key()? {
            seen.insert(&key, self.problem)?;
            map.next_value_seed(StrictIgnore {
                problem: self.problem,
            })?;
        }
        Ok(())
    }
}

/// Implements a strict object decoder: `$seed` decodes `$value` by matching member names.
macro_rules! object_seed {
    ($seed:ident => $value:ty, $what:literal, |$self:ident, $map:ident, $out:ident, $key:ident| $body:block) => {
        struct $seed<'p> {
            problem: &'p Problem,
        }

        impl<'de> DeserializeSeed<'de> for $seed<'_> {
            type Value = $value;
            fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<$value, D::Error> {
                deserializer.deserialize_map(self)
            }
        }

        impl<'de> Visitor<'de> for $seed<'_> {
            type Value = $value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($what)
            }
            fn visit_map<A: MapAccess<'de>>($self, mut $map: A) -> Result<$value, A::Error> {
                let mut $out = <$value>::default();
                let mut seen = Seen::default();
                while let Some(CowStr($key)) = $map.next_key()? {
                    seen.insert(&$key, $self.problem)?;
                    $body
                }
                Ok($out)
            }
        }
    };
}

fn string<'de, A: MapAccess<'de>>(
    p: &Problem,
    map: &mut A,
    claim: &str,
) -> Result<Option<Cow<'de, str>>, A::Error> {
    p.value::<A, CowStr<'de>>(map, claim, "a string")
        .map(|s| Some(s.0))
}

fn date<'de, A: MapAccess<'de>>(
    p: &Problem,
    map: &mut A,
    claim: &str,
) -> Result<Option<i64>, A::Error> {
    p.value::<A, NumericDate>(map, claim, "a number")
        .map(|d| Some(d.0))
}

object_seed!(RefSeed => ObjectRef<'de>, "an object reference", |self, map, out, key| {
    match key.as_ref() {
        "name" => out.name = string(self.problem, &mut map, "name")?,
        "uid" => out.uid = string(self.problem, &mut map, "uid")?,
        _ => self.problem.seeded(&mut map, StrictIgnore { problem: self.problem })?,
    }
});

object_seed!(KubernetesSeed => KubernetesClaims<'de>, "the kubernetes.io claim", |self, map, out, key| {
    let p = self.problem;
    let reference = |map: &mut A, claim: &'static str| -> Result<Option<ObjectRef<'de>>, A::Error> {
        map.next_value_seed(RefSeed { problem: p }).map(Some).map_err(|e| {
            if e.to_string().starts_with("invalid type") {
                p.set(ClaimsError::WrongType { claim: format!("kubernetes.io.{claim}"), expected: "an object" })
            } else {
                e
            }
        })
    };
    match key.as_ref() {
        "namespace" => out.namespace = string(p, &mut map, "kubernetes.io.namespace")?,
        "serviceaccount" => out.serviceaccount = reference(&mut map, "serviceaccount")?,
        "pod" => out.pod = reference(&mut map, "pod")?,
        "node" => out.node = reference(&mut map, "node")?,
        "secret" => out.secret = reference(&mut map, "secret")?,
        "warnafter" => out.warnafter = date(p, &mut map, "kubernetes.io.warnafter")?,
        _ => p.seeded(&mut map, StrictIgnore { problem: p })?,
    }
});

object_seed!(ClaimsSeed => Claims<'de>, "a JSON object of claims", |self, map, out, key| {
    let p = self.problem;
    match key.as_ref() {
        "iss" => out.iss = string(p, &mut map, "iss")?,
        "sub" => out.sub = string(p, &mut map, "sub")?,
        "jti" => out.jti = string(p, &mut map, "jti")?,
        "aud" => {
            out.aud = Some(p.value::<A, AudienceDe<'de>>(&mut map, "aud", "a string or an array of strings")?.0)
        }
        "exp" => out.exp = date(p, &mut map, "exp")?,
        "iat" => out.iat = date(p, &mut map, "iat")?,
        "nbf" => out.nbf = date(p, &mut map, "nbf")?,
        "kubernetes.io" => {
            let claims = map.next_value_seed(KubernetesSeed { problem: p }).map_err(|e| {
                if e.to_string().starts_with("invalid type") {
                    p.set(ClaimsError::WrongType { claim: "kubernetes.io".to_owned(), expected: "an object" })
                } else {
                    e
                }
            })?;
            out.kubernetes = Some(claims);
        }
        LEGACY_NAMESPACE | LEGACY_SECRET_NAME | LEGACY_SA_NAME | LEGACY_SA_UID => {
            let value = string(p, &mut map, &key)?;
            let legacy = out.legacy.get_or_insert_with(LegacyClaims::default);
            match key.as_ref() {
                LEGACY_NAMESPACE => legacy.namespace = value,
                LEGACY_SECRET_NAME => legacy.secret_name = value,
                LEGACY_SA_NAME => legacy.service_account_name = value,
                _ => legacy.service_account_uid = value,
            }
        }
        _ => p.seeded(&mut map, StrictIgnore { problem: p })?,
    }
});

object_seed!(HeaderFields => HeaderDraft<'de>, "a JSON object header", |self, map, out, key| {
    let p = self.problem;
    match key.as_ref() {
        "alg" => out.alg = string(p, &mut map, "alg")?,
        "kid" => out.kid = string(p, &mut map, "kid")?,
        "typ" => out.typ = string(p, &mut map, "typ")?,
        "crit" => {
            out.crit = true;
            p.seeded(&mut map, StrictIgnore { problem: p })?;
        }
        _ => p.seeded(&mut map, StrictIgnore { problem: p })?,
    }
});

#[derive(Default)]
struct HeaderDraft<'a> {
    alg: Option<Cow<'a, str>>,
    kid: Option<Cow<'a, str>>,
    typ: Option<Cow<'a, str>>,
    crit: bool,
}

struct HeaderSeed<'p> {
    problem: &'p Problem,
}

impl<'de> DeserializeSeed<'de> for HeaderSeed<'_> {
    type Value = Header<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Header<'de>, D::Error> {
        let draft = HeaderFields {
            problem: self.problem,
        }
        .deserialize(deserializer)?;
        let Some(alg) = draft.alg else {
            return Err(self.problem.set(ClaimsError::Missing { member: "alg" }));
        };
        Ok(Header {
            alg,
            kid: draft.kid,
            typ: draft.typ,
            crit: draft.crit,
        })
    }
}

/// A Kubernetes service-account subject, `system:serviceaccount:NAMESPACE:NAME`.
///
/// ```
/// use irsa::token::Subject;
///
/// let subject = Subject::parse("system:serviceaccount:payments:api")?;
/// assert_eq!((subject.namespace(), subject.name()), ("payments", "api"));
/// assert_eq!(Subject::new("payments", "api")?, subject);
/// assert!(!subject.exceeds_sts_limit());
/// # Ok::<(), irsa::token::SubjectError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject {
    raw: String,
    name_start: usize,
}

const SUBJECT_PREFIX: &str = "system:serviceaccount:";

impl Subject {
    /// Parses and validates a subject: a DNS-1123 label as namespace and a DNS-1123 subdomain
    /// as name, as Kubernetes validates them.
    pub fn parse(subject: &str) -> Result<Subject, SubjectError> {
        let rest = subject.strip_prefix(SUBJECT_PREFIX).ok_or_else(|| {
            SubjectError::NotServiceAccount {
                subject: subject.to_owned(),
            }
        })?;
        let (namespace, name) =
            rest.split_once(':')
                .ok_or_else(|| SubjectError::NotServiceAccount {
                    subject: subject.to_owned(),
                })?;
        Subject::new(namespace, name)
    }

    /// The subject of service account `name` in `namespace`.
    pub fn new(namespace: &str, name: &str) -> Result<Subject, SubjectError> {
        if !is_dns_label(namespace) {
            return Err(SubjectError::InvalidNamespace {
                namespace: namespace.to_owned(),
            });
        }
        if !is_dns_subdomain(name) {
            return Err(SubjectError::InvalidName {
                name: name.to_owned(),
            });
        }
        let raw = format!("{SUBJECT_PREFIX}{namespace}:{name}");
        Ok(Subject {
            name_start: raw.len() - name.len(),
            raw,
        })
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        self.raw
            .get(SUBJECT_PREFIX.len()..self.name_start - 1)
            .unwrap_or_default()
    }

    /// The service account's name.
    pub fn name(&self) -> &str {
        self.raw.get(self.name_start..).unwrap_or_default()
    }

    /// The subject as tokens carry it.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether the subject is longer than the 255 characters STS allows for
    /// `SubjectFromWebIdentityToken` (possible with long names; whether STS refuses such
    /// tokens is not documented).
    pub fn exceeds_sts_limit(&self) -> bool {
        self.raw.len() > STS_MAX_SUBJECT_LEN
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

fn is_dns_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn is_dns_subdomain(s: &str) -> bool {
    (1..=253).contains(&s.len())
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && label.starts_with(|c: char| c.is_ascii_alphanumeric())
                && label.ends_with(|c: char| c.is_ascii_alphanumeric())
        })
}

/// Why a subject is not a valid service-account subject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubjectError {
    /// It does not have the `system:serviceaccount:NAMESPACE:NAME` shape.
    #[error(
        "{subject:?} is not a service-account subject: expected system:serviceaccount:NAMESPACE:NAME"
    )]
    NotServiceAccount {
        /// The subject that was given.
        subject: String,
    },
    /// The namespace is not a DNS-1123 label.
    #[error(
        "invalid namespace {namespace:?}: 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit"
    )]
    InvalidNamespace {
        /// The namespace that was given.
        namespace: String,
    },
    /// The name is not a DNS-1123 subdomain.
    #[error(
        "invalid service account name {name:?}: up to 253 characters of dot-separated lowercase labels"
    )]
    InvalidName {
        /// The name that was given.
        name: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_decoding_names_the_claim() {
        let err = |json: &str| Claims::from_json(json.as_bytes()).unwrap_err();
        assert_eq!(
            err(r#"{"sub":"a","sub":"b"}"#),
            ClaimsError::Duplicate {
                member: "sub".into()
            }
        );
        assert_eq!(
            err(r#"{"x":{"y":1,"y":2}}"#),
            ClaimsError::Duplicate { member: "y".into() }
        );
        assert_eq!(
            err(r#"{"kubernetes.io":{"pod":{"name":"a","name":"b"}}}"#),
            ClaimsError::Duplicate {
                member: "name".into()
            }
        );
        assert_eq!(
            err(r#"{"exp":"1"}"#),
            ClaimsError::WrongType {
                claim: "exp".into(),
                expected: "a number"
            }
        );
        assert_eq!(
            err(r#"{"iss":1}"#),
            ClaimsError::WrongType {
                claim: "iss".into(),
                expected: "a string"
            }
        );
        assert_eq!(
            err(r#"{"aud":[1]}"#),
            ClaimsError::WrongType {
                claim: "aud".into(),
                expected: "a string or an array of strings"
            }
        );
        assert_eq!(
            err(r#"{"kubernetes.io":[]}"#),
            ClaimsError::WrongType {
                claim: "kubernetes.io".into(),
                expected: "an object"
            }
        );
        assert_eq!(
            err(r#"{"kubernetes.io":{"pod":"x"}}"#),
            ClaimsError::WrongType {
                claim: "kubernetes.io.pod".into(),
                expected: "an object"
            }
        );
        assert!(matches!(err("[]"), ClaimsError::Json { .. }));
        assert!(matches!(err("{} {}"), ClaimsError::Json { .. }));
        let many: String = (0..40).map(|i| format!(r#""k{i}":1,"#)).collect();
        assert_eq!(
            err(&format!("{{{many}\"k7\":2}}")),
            ClaimsError::Duplicate {
                member: "k7".into()
            }
        );
    }

    #[test]
    fn strings_borrow_when_unescaped() {
        let claims =
            Claims::from_json(br#"{"iss":"https://a","sub":"x\u0041","aud":"one","exp":1.9}"#)
                .unwrap();
        assert!(matches!(claims.iss, Some(Cow::Borrowed("https://a"))));
        assert_eq!(claims.sub.as_deref(), Some("xA"));
        assert_eq!(claims.aud, Some(Audience::One(Cow::Borrowed("one"))));
        assert_eq!(claims.exp, Some(1));
    }

    #[test]
    fn header_rules() {
        let header =
            Header::from_json(br#"{"alg":"RS256","kid":"k","crit":["b64"],"x":1}"#).unwrap();
        assert!(header.crit);
        assert_eq!(
            Header::from_json(br#"{"kid":"k"}"#),
            Err(ClaimsError::Missing { member: "alg" })
        );
        assert_eq!(
            Header::from_json(br#"{"alg":"RS256","alg":"none"}"#),
            Err(ClaimsError::Duplicate {
                member: "alg".into()
            })
        );
    }

    #[test]
    fn subjects() {
        assert_eq!(
            Subject::parse("system:serviceaccount:a"),
            Err(SubjectError::NotServiceAccount {
                subject: "system:serviceaccount:a".into()
            })
        );
        assert!(matches!(
            Subject::new("Default", "x"),
            Err(SubjectError::InvalidNamespace { .. })
        ));
        assert!(matches!(
            Subject::new("ns", "a..b"),
            Err(SubjectError::InvalidName { .. })
        ));
        let long = Subject::new(&"n".repeat(63), &"a".repeat(200)).unwrap();
        assert!(long.exceeds_sts_limit());
        assert_eq!(long.name().len(), 200);
    }
}
