//! Typed claims and header of Kubernetes service-account tokens, decoded strictly: duplicate
//! member names and claims of the wrong JSON type are refused, strings borrow from the decoded
//! buffer when they contain no escapes.

use std::borrow::Cow;
use std::fmt;

use serde::{Serialize, Serializer};

use super::scan::{Kind, Number, ScanError, Scanner};

/// The issuer Kubernetes writes into legacy, secret-based tokens.
pub const LEGACY_ISSUER: &str = "kubernetes/serviceaccount";
/// STS's limit on `SubjectFromWebIdentityToken`.
pub const STS_MAX_SUBJECT_LEN: usize = 255;

const LEGACY_NAMESPACE: &str = "kubernetes.io/serviceaccount/namespace";
const LEGACY_SECRET_NAME: &str = "kubernetes.io/serviceaccount/secret.name";
const LEGACY_SA_NAME: &str = "kubernetes.io/serviceaccount/service-account.name";
const LEGACY_SA_UID: &str = "kubernetes.io/serviceaccount/service-account.uid";

/// The `aud` claim: one string or an array of strings (Kubernetes always writes an array).
///
/// Reading a token's audiences allocates nothing for the usual one-element array.
///
/// ```
/// use irsa::token::Audience;
///
/// let aud = Audience::array(["sts.amazonaws.com", "vault"]);
/// assert!(aud.is_array() && aud.contains("vault"));
/// assert_eq!(aud.iter().collect::<Vec<_>>(), ["sts.amazonaws.com", "vault"]);
/// assert_ne!(Audience::one("vault"), Audience::array(["vault"]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience<'a> {
    /// The first audience; `None` only for an empty array.
    first: Option<Cow<'a, str>>,
    /// The others, in order.
    rest: Vec<Cow<'a, str>>,
    /// Whether the claim is written as an array.
    array: bool,
}

impl<'a> Audience<'a> {
    /// A single audience, written as a JSON string.
    pub fn one(audience: impl Into<Cow<'a, str>>) -> Self {
        Audience {
            first: Some(audience.into()),
            rest: Vec::new(),
            array: false,
        }
    }

    /// Audiences written as a JSON array.
    pub fn array<A: Into<Cow<'a, str>>>(audiences: impl IntoIterator<Item = A>) -> Self {
        let mut out = Audience {
            first: None,
            rest: Vec::new(),
            array: true,
        };
        for audience in audiences {
            out.push(audience.into());
        }
        out
    }

    fn push(&mut self, audience: Cow<'a, str>) {
        if self.first.is_none() {
            self.first = Some(audience);
        } else {
            self.rest.push(audience);
        }
    }

    /// Whether the claim is written as an array (as Kubernetes writes it) rather than as one
    /// string.
    pub fn is_array(&self) -> bool {
        self.array
    }

    /// Every audience, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.first.iter().chain(&self.rest).map(AsRef::as_ref)
    }

    /// Whether `audience` is one of them.
    pub fn contains(&self, audience: &str) -> bool {
        self.iter().any(|a| a == audience)
    }

    /// How many audiences there are.
    pub fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    /// Whether there is no audience (an empty array).
    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// A copy that owns its strings.
    pub fn into_owned(self) -> Audience<'static> {
        Audience {
            first: owned(self.first),
            rest: self
                .rest
                .into_iter()
                .map(|a| Cow::Owned(a.into_owned()))
                .collect(),
            array: self.array,
        }
    }
}

impl Serialize for Audience<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match (&self.first, self.array) {
            (Some(one), false) => serializer.serialize_str(one),
            _ => serializer.collect_seq(self.iter()),
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
    /// `amr`: the authentication methods (an OIDC claim; Kubernetes does not write it). A
    /// single string is read as a one-element list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<Cow<'a, str>>>,
    /// `aud`: the audiences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience<'a>>,
    /// `azp`: the authorized party (an OIDC claim; Kubernetes does not write it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azp: Option<Cow<'a, str>>,
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
        Claims::from_json_str(utf8(payload)?)
    }

    /// Decodes the JSON payload of a token, already known to be UTF-8.
    pub(crate) fn from_json_str(payload: &'a str) -> Result<Claims<'a>, ClaimsError> {
        claims(&mut Scanner::new(payload))
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
            amr: self.amr.map(|list| {
                list.into_iter()
                    .map(|m| Cow::Owned(m.into_owned()))
                    .collect()
            }),
            aud: self.aud.map(Audience::into_owned),
            azp: owned(self.azp),
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
        self::header(&mut Scanner::new(utf8(header)?))
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
    #[error("not a JSON object: expected {expected} at byte {offset}")]
    Syntax {
        /// What the reader expected.
        expected: &'static str,
        /// Where, in bytes from the start of the decoded segment.
        offset: usize,
    },
    /// Nested more than 128 arrays and objects deep.
    #[error("nested more than {} levels deep", super::scan::MAX_DEPTH)]
    TooDeep,
    /// The bytes are not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
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

impl From<ScanError> for ClaimsError {
    // Out of line: every `?` in the readers converts, and only on errors.
    #[cold]
    #[inline(never)]
    fn from(e: ScanError) -> Self {
        match e {
            ScanError::Duplicate { member } => ClaimsError::Duplicate { member },
            ScanError::Syntax { expected, offset } => ClaimsError::Syntax { expected, offset },
            ScanError::TooDeep => ClaimsError::TooDeep,
        }
    }
}

fn utf8(json: &[u8]) -> Result<&str, ClaimsError> {
    std::str::from_utf8(json).map_err(|_| ClaimsError::NotUtf8)
}

fn wrong(claim: &str, expected: &'static str) -> ClaimsError {
    ClaimsError::WrongType {
        claim: claim.to_owned(),
        expected,
    }
}

fn string<'a>(s: &mut Scanner<'a>, claim: &str) -> Result<Cow<'a, str>, ClaimsError> {
    string_in(s, "", claim)
}

/// A string member `field` of the object claim `parent` (named `parent.field` in errors, which
/// are the only place the name is built).
#[inline(always)]
fn string_in<'a>(
    s: &mut Scanner<'a>,
    parent: &str,
    field: &str,
) -> Result<Cow<'a, str>, ClaimsError> {
    expect(s, Kind::String, (parent, field), "a string")?;
    Ok(s.string()?)
}

/// Checks that a value of `kind` starts here; otherwise refuses bad JSON as such, and a value
/// of another kind as not `expected` for the claim `parent.field` (or `parent` when `field`
/// is empty).
#[inline(always)]
fn expect(
    s: &Scanner<'_>,
    kind: Kind,
    (parent, field): (&str, &str),
    expected: &'static str,
) -> Result<(), ClaimsError> {
    if s.at(kind) {
        Ok(())
    } else {
        Err(mismatch(s, parent, field, expected))
    }
}

/// The error for a value that is not of the kind expected. Out of line: errors are rare, and
/// the readers' code stays small (it shares the cache with the signature check).
#[cold]
#[inline(never)]
fn mismatch(s: &Scanner<'_>, parent: &str, field: &str, expected: &'static str) -> ClaimsError {
    if let Err(not_json) = s.kind() {
        return not_json.into();
    }
    let claim = match (parent, field) {
        ("", field) => field.to_owned(),
        (parent, "") => parent.to_owned(),
        (parent, field) => format!("{parent}.{field}"),
    };
    ClaimsError::WrongType { claim, expected }
}

/// A NumericDate: a JSON number of seconds; a fractional part is dropped.
#[inline(never)]
fn date(s: &mut Scanner<'_>, claim: &str) -> Result<i64, ClaimsError> {
    expect(s, Kind::Number, (claim, ""), "a number")?;
    match s.number()? {
        Number::Int(seconds) => Ok(seconds),
        // In range, so flooring then converting is exact.
        #[allow(clippy::cast_possible_truncation)]
        Number::Float(f) if f.is_finite() && f.abs() < 9.0e15 => Ok(f.floor() as i64),
        Number::Float(_) => Err(wrong(claim, "a number of seconds in range")),
    }
}

fn audience<'a>(s: &mut Scanner<'a>) -> Result<Audience<'a>, ClaimsError> {
    let mut audience = Audience::array(None::<&str>);
    audience.array = string_or_strings(s, "aud", |one| audience.push(one))?;
    Ok(audience)
}

/// `amr`: an array of strings, or one string.
fn methods<'a>(s: &mut Scanner<'a>) -> Result<Vec<Cow<'a, str>>, ClaimsError> {
    let mut methods = Vec::new();
    string_or_strings(s, "amr", |one| methods.push(one))?;
    Ok(methods)
}

/// A claim written as one string or as an array of strings: hands each to `push`, and
/// returns whether they were in an array.
fn string_or_strings<'a>(
    s: &mut Scanner<'a>,
    claim: &'static str,
    mut push: impl FnMut(Cow<'a, str>),
) -> Result<bool, ClaimsError> {
    const EXPECTED: &str = "a string or an array of strings";
    if s.at(Kind::Array) {
        s.array(|s| {
            push(string(s, claim).map_err(|_| wrong(claim, EXPECTED))?);
            Ok::<(), ClaimsError>(())
        })?;
        return Ok(true);
    }
    expect(s, Kind::String, (claim, ""), EXPECTED)?;
    push(s.string()?);
    Ok(false)
}

fn object_ref<'a>(s: &mut Scanner<'a>, claim: &'static str) -> Result<ObjectRef<'a>, ClaimsError> {
    expect(s, Kind::Object, (claim, ""), "an object")?;
    let mut out = ObjectRef::default();
    // Each callback returns a distinct bit per known member, so duplicates are caught
    // without comparing names twice; unknown members are skipped (and still checked).
    s.object(|s, key| {
        Ok::<_, ClaimsError>(Some(match key {
            "name" => {
                out.name = Some(string_in(s, claim, "name")?);
                0
            }
            "uid" => {
                out.uid = Some(string_in(s, claim, "uid")?);
                1
            }
            _ => return s.skip().map(|()| None).map_err(Into::into),
        }))
    })?;
    Ok(out)
}

fn kubernetes<'a>(s: &mut Scanner<'a>) -> Result<KubernetesClaims<'a>, ClaimsError> {
    expect(s, Kind::Object, ("kubernetes.io", ""), "an object")?;
    let mut out = KubernetesClaims::default();
    s.object(|s, key| {
        Ok::<_, ClaimsError>(Some(match key {
            "namespace" => {
                out.namespace = Some(string(s, "kubernetes.io.namespace")?);
                0
            }
            "node" => {
                out.node = Some(object_ref(s, "kubernetes.io.node")?);
                1
            }
            "pod" => {
                out.pod = Some(object_ref(s, "kubernetes.io.pod")?);
                2
            }
            "secret" => {
                out.secret = Some(object_ref(s, "kubernetes.io.secret")?);
                3
            }
            "serviceaccount" => {
                out.serviceaccount = Some(object_ref(s, "kubernetes.io.serviceaccount")?);
                4
            }
            "warnafter" => {
                out.warnafter = Some(date(s, "kubernetes.io.warnafter")?);
                5
            }
            _ => return s.skip().map(|()| None).map_err(Into::into),
        }))
    })?;
    Ok(out)
}

fn claims<'a>(s: &mut Scanner<'a>) -> Result<Claims<'a>, ClaimsError> {
    let mut out = Claims::default();
    s.object(|s, key| {
        Ok::<_, ClaimsError>(Some(match key {
            "aud" => {
                out.aud = Some(audience(s)?);
                0
            }
            "exp" => {
                out.exp = Some(date(s, "exp")?);
                1
            }
            "iat" => {
                out.iat = Some(date(s, "iat")?);
                2
            }
            "iss" => {
                out.iss = Some(string(s, "iss")?);
                3
            }
            "jti" => {
                out.jti = Some(string(s, "jti")?);
                4
            }
            "kubernetes.io" => {
                out.kubernetes = Some(kubernetes(s)?);
                5
            }
            "nbf" => {
                out.nbf = Some(date(s, "nbf")?);
                6
            }
            "sub" => {
                out.sub = Some(string(s, "sub")?);
                7
            }
            "amr" => {
                out.amr = Some(methods(s)?);
                12
            }
            "azp" => {
                out.azp = Some(string(s, "azp")?);
                13
            }
            name @ (LEGACY_NAMESPACE | LEGACY_SECRET_NAME | LEGACY_SA_NAME | LEGACY_SA_UID) => {
                let value = Some(string(s, name)?);
                let legacy = out.legacy.get_or_insert_with(LegacyClaims::default);
                match name {
                    LEGACY_NAMESPACE => {
                        legacy.namespace = value;
                        8
                    }
                    LEGACY_SECRET_NAME => {
                        legacy.secret_name = value;
                        9
                    }
                    LEGACY_SA_NAME => {
                        legacy.service_account_name = value;
                        10
                    }
                    _ => {
                        legacy.service_account_uid = value;
                        11
                    }
                }
            }
            _ => return s.skip().map(|()| None).map_err(Into::into),
        }))
    })?;
    s.end()?;
    Ok(out)
}

fn header<'a>(s: &mut Scanner<'a>) -> Result<Header<'a>, ClaimsError> {
    let (mut alg, mut kid, mut typ, mut crit) = (None, None, None, false);
    s.object(|s, key| {
        Ok::<_, ClaimsError>(Some(match key {
            "alg" => {
                alg = Some(string(s, "alg")?);
                0
            }
            "kid" => {
                kid = Some(string(s, "kid")?);
                1
            }
            "typ" => {
                typ = Some(string(s, "typ")?);
                2
            }
            "crit" => {
                crit = true;
                s.skip()?;
                3
            }
            _ => return s.skip().map(|()| None).map_err(Into::into),
        }))
    })?;
    s.end()?;
    let alg = alg.ok_or(ClaimsError::Missing { member: "alg" })?;
    Ok(Header {
        alg,
        kid,
        typ,
        crit,
    })
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

/// What every service account's subject starts with: `system:serviceaccount:NS:NAME`.
pub const SUBJECT_PREFIX: &str = "system:serviceaccount:";

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
        assert_eq!(
            err("[]"),
            ClaimsError::Syntax {
                expected: "an object",
                offset: 0
            }
        );
        assert!(matches!(
            err("{} {}"),
            ClaimsError::Syntax { offset: 3, .. }
        ));
        assert_eq!(
            err(&format!(
                "{{\"a\":{}1{}}}",
                "[".repeat(130),
                "]".repeat(130)
            )),
            ClaimsError::TooDeep
        );
        let many: String = (0..40).map(|i| format!(r#""k{i}":1,"#)).collect();
        assert_eq!(
            err(&format!("{{{many}\"k7\":2}}")),
            ClaimsError::Duplicate {
                member: "k7".into()
            }
        );
    }

    #[test]
    fn white_space_between_tokens_changes_nothing() {
        let compact = r#"{"aud":["sts.amazonaws.com","b"],"exp":1700000600,"iat":-5,"iss":"https://x","kubernetes.io":{"namespace":"ns","pod":{"name":"p","uid":"u"},"warnafter":12},"nbf":1.5e3,"sub":"system:serviceaccount:ns:sa","x":[true,false,null,{"a":[]},{}]}"#;
        let spaced = " \r\n{ \"aud\" :\t[ \"sts.amazonaws.com\" , \"b\" ] , \"exp\"\n:\n1700000600 ,\
            \"iat\" : -5 , \"iss\" : \"https://x\" , \"kubernetes.io\" : { \"namespace\" : \"ns\" ,\
            \"pod\" : { \"name\" : \"p\" , \"uid\" : \"u\" } , \"warnafter\" : 12 } ,\
            \"nbf\" : 1.5e3 , \"sub\" : \"system:serviceaccount:ns:sa\" ,\
            \"x\" : [ true , false , null , { \"a\" : [ ] } , { } ] }\t ";
        let value: serde_json::Value = serde_json::from_str(compact).unwrap();
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let expected = Claims::from_json(compact.as_bytes()).unwrap();
        assert_eq!(expected.nbf, Some(1500));
        assert_eq!(expected.kubernetes.as_ref().unwrap().warnafter, Some(12));
        for text in [spaced, &pretty] {
            assert_eq!(
                Claims::from_json(text.as_bytes()).as_ref(),
                Ok(&expected),
                "{text}"
            );
        }
    }

    #[test]
    fn strings_borrow_when_unescaped() {
        let claims =
            Claims::from_json(br#"{"iss":"https://a","sub":"x\u0041","aud":"one","exp":1.9}"#)
                .unwrap();
        assert!(matches!(claims.iss, Some(Cow::Borrowed("https://a"))));
        assert_eq!(claims.sub.as_deref(), Some("xA"));
        assert_eq!(claims.aud, Some(Audience::one("one")));
        assert!(matches!(claims.aud.unwrap().iter().next(), Some("one")));
        assert_eq!(claims.exp, Some(1));
    }

    #[test]
    fn names_are_read_in_any_order_or_spelling() {
        let sorted = Claims::from_json(
            br#"{"aud":["a"],"exp":2,"iat":1,"iss":"i","sub":"s","kubernetes.io":{"pod":{"uid":"u","name":"p"}}}"#,
        )
        .unwrap();
        // Reversed, escaped or reordered: the same claims.
        for json in [
            r#"{"kubernetes.io":{"pod":{"name":"p","uid":"u"}},"sub":"s","iss":"i","iat":1,"exp":2,"aud":["a"]}"#,
            r#"{"\u0061ud":["a"],"e\u0078p":2,"iat":1,"iss":"i","sub":"s","kubernetes.io":{"pod":{"n\u0061me":"p","uid":"u"}}}"#,
            r#"{"iss":"i","iat":1,"exp":2,"kubernetes.io":{"pod":{"name":"p","uid":"u"}},"aud":["a"],"sub":"s"}"#,
        ] {
            assert_eq!(
                Claims::from_json(json.as_bytes()).as_ref(),
                Ok(&sorted),
                "{json}"
            );
        }
        // A known name as a prefix is another name; an escaped repeat is still a repeat.
        let other = Claims::from_json(br#"{"audience":"x","sub2":"y","aud":"a"}"#).unwrap();
        assert_eq!((other.aud, other.sub), (Some(Audience::one("a")), None));
        assert_eq!(
            Claims::from_json(br#"{"aud":"a","\u0061ud":"b"}"#),
            Err(ClaimsError::Duplicate {
                member: "aud".into()
            })
        );
        let legacy = Claims::from_json(
            br#"{"iss":"kubernetes/serviceaccount","kubernetes.io/serviceaccount/namespace":"ns"}"#,
        )
        .unwrap();
        assert_eq!(legacy.kind(), TokenKind::Legacy);
        assert_eq!(legacy.legacy.unwrap().namespace.as_deref(), Some("ns"));
    }

    #[test]
    fn audiences_keep_their_form() {
        fn read(json: &str) -> Audience<'_> {
            Claims::from_json(json.as_bytes()).unwrap().aud.unwrap()
        }
        for (json, len, array) in [
            (r#"{"aud":"a"}"#, 1, false),
            (r#"{"aud":["a"]}"#, 1, true),
            (r#"{"aud":["a","b","c"]}"#, 3, true),
            (r#"{"aud":[]}"#, 0, true),
        ] {
            let aud = read(json);
            assert_eq!(
                (aud.len(), aud.is_array(), aud.is_empty()),
                (len, array, len == 0)
            );
            let written = serde_json::to_string(&serde_json::json!({ "aud": aud })).unwrap();
            assert_eq!(written, json);
            assert_eq!(aud.clone().into_owned(), aud);
        }
        assert_eq!(
            read(r#"{"aud":["a","b","c"]}"#),
            Audience::array(["a", "b", "c"])
        );
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
