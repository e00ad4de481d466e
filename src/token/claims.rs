//! Typed claims and header of Kubernetes service-account tokens, decoded strictly: duplicate
//! member names and claims of the wrong JSON type are refused, strings borrow from the decoded
//! buffer when they contain no escapes.

use std::borrow::Cow;

use serde::{Serialize, Serializer};

use super::read::{self, ClaimsError, utf8};
use super::subject::{Subject, SubjectError};
use crate::json::scan::Scanner;

/// The issuer Kubernetes writes into legacy, secret-based tokens.
pub const LEGACY_ISSUER: &str = "kubernetes/serviceaccount";
/// STS's limit on `SubjectFromWebIdentityToken`.
pub const STS_MAX_SUBJECT_LEN: usize = 255;

pub(super) const LEGACY_NAMESPACE: &str = "kubernetes.io/serviceaccount/namespace";
pub(super) const LEGACY_SECRET_NAME: &str = "kubernetes.io/serviceaccount/secret.name";
pub(super) const LEGACY_SA_NAME: &str = "kubernetes.io/serviceaccount/service-account.name";
pub(super) const LEGACY_SA_UID: &str = "kubernetes.io/serviceaccount/service-account.uid";

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
    pub(super) first: Option<Cow<'a, str>>,
    /// The others, in order.
    pub(super) rest: Vec<Cow<'a, str>>,
    /// Whether the claim is written as an array.
    pub(super) array: bool,
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

    pub(super) fn push(&mut self, audience: Cow<'a, str>) {
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
        read::claims(&mut Scanner::new(payload))
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
        read::header(&mut Scanner::new(utf8(header)?))
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
