//! The service-account issuer URL and its AWS view (the provider URL); S3-hosted issuers are
//! in `s3.rs`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::arn::{AccountId, OidcProviderArn, Partition};

/// Path of the discovery document below the issuer, as kube-apiserver serves it.
pub const OPENID_CONFIGURATION_PATH: &str = ".well-known/openid-configuration";
/// Path of the key set below the issuer, as kube-apiserver serves it.
pub const JWKS_PATH: &str = "openid/v1/jwks";

/// IAM's limit on the length of an OIDC provider URL (with `https://`).
const AWS_MAX_URL_LEN: usize = 255;

/// A service-account issuer URL, kept exactly as written.
///
/// Parsing applies Kubernetes' rules for an issuer that serves discovery documents (an `https`
/// URL with no query and no fragment) and a few stricter ones that keep the same string usable
/// everywhere it must match: no whitespace, no user info, no `.`/`..` or empty path segments. The
/// string itself is never normalised: kube-apiserver writes it verbatim into every token's `iss`,
/// and STS compares it byte for byte with the registered provider, so case and a trailing `/`
/// are significant.
///
/// ```
/// use irsa::oidc::IssuerUrl;
///
/// let issuer: IssuerUrl = "https://bucket.s3.eu-west-1.amazonaws.com/prod/".parse()?;
/// assert!(issuer.has_trailing_slash());
/// assert_eq!(issuer.jwks_uri(), "https://bucket.s3.eu-west-1.amazonaws.com/prod/openid/v1/jwks");
///
/// let provider = issuer.aws_provider_url()?;
/// assert_eq!(provider.as_str(), "bucket.s3.eu-west-1.amazonaws.com/prod/");
/// assert_eq!(provider.condition_key("sub"), "bucket.s3.eu-west-1.amazonaws.com/prod/:sub");
/// # Ok::<(), irsa::oidc::IssuerError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IssuerUrl {
    pub(super) raw: String,
    /// Byte offset where the path starts (the end of the authority).
    pub(super) path_start: usize,
}

impl IssuerUrl {
    /// Parses an issuer URL; see the type's documentation for the rules.
    pub fn parse(input: &str) -> Result<Self, IssuerError> {
        let err = |kind| Err(IssuerError::new(input, kind));
        if input.is_empty() {
            return err(IssuerErrorKind::Empty);
        }
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return err(IssuerErrorKind::Whitespace);
        }
        if !input.is_ascii() {
            return err(IssuerErrorKind::NonAscii);
        }
        let Some((scheme, rest)) = input.split_once("://") else {
            return err(IssuerErrorKind::NoScheme);
        };
        if scheme != "https" {
            return err(IssuerErrorKind::NotHttps {
                scheme: scheme.to_owned(),
            });
        }
        if input.contains('?') {
            return err(IssuerErrorKind::Query);
        }
        if input.contains('#') {
            return err(IssuerErrorKind::Fragment);
        }
        if let Some(bad) = input.bytes().find(|b| !is_url_byte(*b)) {
            return err(IssuerErrorKind::Character { byte: bad as char });
        }
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.contains('@') {
            return err(IssuerErrorKind::UserInfo);
        }
        let parsed = match url::Url::parse(input) {
            Ok(url) => url,
            Err(e) => {
                return err(IssuerErrorKind::NotAUrl {
                    reason: e.to_string(),
                });
            }
        };
        if parsed.host_str().is_none_or(str::is_empty) || authority.is_empty() {
            return err(IssuerErrorKind::NotAUrl {
                reason: "empty host".to_owned(),
            });
        }
        let path_start = "https://".len() + authority.len();
        let path = input.get(path_start..).unwrap_or_default();
        if let Some(reason) = path_problem(path) {
            return err(IssuerErrorKind::Path { reason });
        }
        Ok(IssuerUrl {
            raw: input.to_owned(),
            path_start,
        })
    }

    /// The issuer exactly as written: what tokens carry in `iss`.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The host and optional port, e.g. `issuer.example.com` or `192.0.2.1:80`.
    pub fn authority(&self) -> &str {
        self.raw
            .get("https://".len()..self.path_start)
            .unwrap_or_default()
    }

    /// The port, when the URL names one explicitly (even the default `:443`).
    pub fn port(&self) -> Option<&str> {
        let authority = self.authority();
        let after_host = authority
            .rfind(']')
            .map_or(authority, |at| &authority[at..]);
        after_host.rsplit_once(':').map(|(_, port)| port)
    }

    /// The path as written: empty, `/`, or `/a/b` with or without a trailing `/`.
    pub fn path(&self) -> &str {
        self.raw.get(self.path_start..).unwrap_or_default()
    }

    /// Whether the issuer ends with `/`.
    pub fn has_trailing_slash(&self) -> bool {
        self.raw.ends_with('/')
    }

    /// The issuer without a trailing `/`: the base that document paths are appended to.
    pub fn base(&self) -> &str {
        self.raw.strip_suffix('/').unwrap_or(&self.raw)
    }

    /// The path without leading or trailing `/` (`""` for an issuer at the host root): the
    /// prefix of the object keys when the documents are hosted statically.
    pub fn path_prefix(&self) -> &str {
        self.path().trim_matches('/')
    }

    /// Where clients fetch the discovery document:
    /// `<issuer without trailing slash>/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/{OPENID_CONFIGURATION_PATH}", self.base())
    }

    /// The `jwks_uri` of a rehosted discovery document: `<issuer>/openid/v1/jwks`.
    pub fn jwks_uri(&self) -> String {
        format!("{}/{JWKS_PATH}", self.base())
    }

    /// The key, below the hosting root, of a document at `document_path` (e.g.
    /// [`OPENID_CONFIGURATION_PATH`]).
    pub fn object_key(&self, document_path: &str) -> String {
        match self.path_prefix() {
            "" => document_path.to_owned(),
            prefix => format!("{prefix}/{document_path}"),
        }
    }

    /// The issuer as IAM registers it: the URL without `https://`, checked against IAM's rules
    /// (no port, at most 255 characters).
    pub fn aws_provider_url(&self) -> Result<ProviderUrl, IssuerError> {
        if self.port().is_some() {
            return Err(IssuerError::new(&self.raw, IssuerErrorKind::Port));
        }
        if self.raw.len() > AWS_MAX_URL_LEN {
            return Err(IssuerError::new(
                &self.raw,
                IssuerErrorKind::TooLong {
                    len: self.raw.len(),
                },
            ));
        }
        Ok(ProviderUrl(
            self.raw
                .get("https://".len()..)
                .unwrap_or_default()
                .to_owned(),
        ))
    }
}

impl fmt::Debug for IssuerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IssuerUrl").field(&self.raw).finish()
    }
}

impl fmt::Display for IssuerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl FromStr for IssuerUrl {
    type Err = IssuerError;

    fn from_str(s: &str) -> Result<Self, IssuerError> {
        IssuerUrl::parse(s)
    }
}

impl Serialize for IssuerUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for IssuerUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        IssuerUrl::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Characters RFC 3986 allows in a URL without a query or fragment.
fn is_url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@%/[]".contains(&b)
}

fn path_problem(path: &str) -> Option<&'static str> {
    let inner = path.strip_prefix('/')?;
    let inner = inner.strip_suffix('/').unwrap_or(inner);
    if inner.is_empty() {
        return (path.len() > 1).then_some("it has an empty segment (\"//\")");
    }
    inner.split('/').find_map(|segment| match segment {
        "" => Some("it has an empty segment (\"//\")"),
        "." | ".." => Some("it has a \".\" or \"..\" segment, which clients resolve away"),
        _ => None,
    })
}

/// The issuer as IAM knows it: the URL without `https://`, exactly as registered.
///
/// It names the provider in its ARN (`arn:aws:iam::ACCOUNT:oidc-provider/<provider URL>`) and
/// prefixes the trust-policy condition keys (`<provider URL>:sub`, `<provider URL>:aud`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderUrl(String);

impl ProviderUrl {
    /// The provider URL, e.g. `oidc.example.com/cluster`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The issuer this provider accepts tokens from: `https://` + the provider URL.
    pub fn issuer(&self) -> String {
        format!("https://{}", self.0)
    }

    /// A trust-policy condition key for `claim`, e.g. `oidc.example.com/cluster:sub`.
    pub fn condition_key(&self, claim: &str) -> String {
        format!("{}:{claim}", self.0)
    }

    /// The ARN IAM gives this provider in `account`.
    pub fn arn(&self, partition: Partition, account: AccountId) -> OidcProviderArn {
        OidcProviderArn::from_validated(partition, account, self.0.clone())
    }
}

impl fmt::Display for ProviderUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ProviderUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Why an issuer URL or S3 location was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(input, kind))]
pub struct IssuerError {
    input: String,
    kind: IssuerErrorKind,
}

impl IssuerError {
    pub(crate) fn new(input: &str, kind: IssuerErrorKind) -> Self {
        IssuerError {
            input: input.to_owned(),
            kind,
        }
    }

    /// The input that was refused.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// What is wrong with it.
    pub fn kind(&self) -> &IssuerErrorKind {
        &self.kind
    }
}

/// What is wrong with an issuer URL or S3 location.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssuerErrorKind {
    /// Nothing was given.
    Empty,
    /// It contains white space or control characters.
    Whitespace,
    /// It contains non-ASCII characters.
    NonAscii,
    /// It does not start with a scheme.
    NoScheme,
    /// The scheme is not `https`.
    NotHttps {
        /// The scheme that was given.
        scheme: String,
    },
    /// It has a query (`?`).
    Query,
    /// It has a fragment (`#`).
    Fragment,
    /// It contains a character that does not belong in a URL.
    Character {
        /// The offending character.
        byte: char,
    },
    /// It has user information (`user@host`).
    UserInfo,
    /// It is not a well-formed URL.
    NotAUrl {
        /// The parser's reason.
        reason: String,
    },
    /// The path cannot be used as written.
    Path {
        /// What is wrong with the path.
        reason: &'static str,
    },
    /// It names a port, which IAM does not accept in a provider URL.
    Port,
    /// It is longer than IAM accepts.
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The S3 bucket name breaks S3's naming rules.
    Bucket {
        /// The rule that is broken.
        reason: &'static str,
    },
    /// The S3 bucket name has dots, so virtual-hosted https cannot work.
    DottedBucket,
    /// The region is not a usable region code.
    Region {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The S3 key prefix cannot be used.
    Prefix {
        /// What is wrong with it.
        reason: &'static str,
    },
}

fn describe(input: &str, kind: &IssuerErrorKind) -> String {
    use IssuerErrorKind as K;
    match kind {
        K::Empty => {
            "issuer URL is empty: give an https URL such as https://oidc.example.com/cluster"
                .to_owned()
        }
        K::Whitespace => {
            format!("issuer URL {input:?} contains white space or control characters: remove them")
        }
        K::NonAscii => format!(
            "issuer URL {input:?} contains non-ASCII characters: write the host in its punycode (xn--) form and percent-encode the path"
        ),
        K::NoScheme => format!("issuer {input:?} is not a URL: write it as https://{input}"),
        K::NotHttps { scheme } => format!(
            "issuer URL {input:?} uses scheme {scheme:?}: it must be exactly \"https\", the only scheme kube-apiserver serves discovery for and STS fetches keys over"
        ),
        K::Query => format!(
            "issuer URL {input:?} has a query (\"?\"): Kubernetes and IAM refuse issuers with a query; remove it"
        ),
        K::Fragment => format!(
            "issuer URL {input:?} has a fragment (\"#\"): Kubernetes refuses issuers with a fragment; remove it"
        ),
        K::Character { byte } => format!(
            "issuer URL {input:?} contains {byte:?}, which does not belong in a URL: percent-encode it or remove it"
        ),
        K::UserInfo => format!("issuer URL {input:?} has user information (\"user@\"): remove it"),
        K::NotAUrl { reason } => format!(
            "issuer URL {input:?} is not a valid URL ({reason}): write it as https://HOST[/PATH]"
        ),
        K::Path { reason } => format!("issuer URL {input:?} has an unusable path: {reason}"),
        K::Port => format!(
            "issuer URL {input:?} names a port, which IAM does not accept for an OIDC provider: serve the documents on port 443 and drop the port"
        ),
        K::TooLong { len } => format!(
            "issuer URL {input:?} is {len} characters long; IAM accepts provider URLs of at most {AWS_MAX_URL_LEN}: use a shorter host or path"
        ),
        K::Bucket { reason } => format!("invalid S3 bucket name {input:?}: {reason}"),
        K::DottedBucket => format!(
            "S3 bucket name {input:?} contains dots: the https certificate of BUCKET.s3.REGION.amazonaws.com does not cover dotted names, so STS cannot fetch the keys; choose a bucket name without dots, or serve the bucket through CloudFront and use its URL as the issuer"
        ),
        K::Region { reason } => format!("invalid AWS region {input:?}: {reason}"),
        K::Prefix { reason } => format!("invalid S3 key prefix {input:?}: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::S3Issuer;

    fn kind(input: &str) -> IssuerErrorKind {
        IssuerUrl::parse(input).unwrap_err().kind().clone()
    }

    #[test]
    fn kubernetes_negative_issuer_cases() {
        // The issuer cases of TestNewOpenIDMetadata (kubernetes/kubernetes openidmetadata_test.go).
        assert_eq!(
            kind("http://issuer.example.com"),
            IssuerErrorKind::NotHttps {
                scheme: "http".into()
            }
        );
        assert_eq!(kind("issuer.example.com"), IssuerErrorKind::NoScheme);
        assert_eq!(
            kind("https://issuer.example.com?foo=bar"),
            IssuerErrorKind::Query
        );
        assert_eq!(
            kind("https://issuer.example.com#baz"),
            IssuerErrorKind::Fragment
        );
        assert_eq!(
            kind("https://issuer.example.com?foo=bar#baz"),
            IssuerErrorKind::Query
        );
        assert_eq!(kind("issuer"), IssuerErrorKind::NoScheme);
    }

    #[test]
    fn stricter_rules_keep_one_exact_string() {
        assert_eq!(kind(""), IssuerErrorKind::Empty);
        assert_eq!(kind(" https://a.example"), IssuerErrorKind::Whitespace);
        assert_eq!(kind("https://é.example"), IssuerErrorKind::NonAscii);
        assert_eq!(
            kind("HTTPS://a.example"),
            IssuerErrorKind::NotHttps {
                scheme: "HTTPS".into()
            }
        );
        assert_eq!(kind("https://a.example?"), IssuerErrorKind::Query);
        assert_eq!(kind("https://u:p@a.example"), IssuerErrorKind::UserInfo);
        assert_eq!(
            kind("https://a.example\\x"),
            IssuerErrorKind::Character { byte: '\\' }
        );
        assert!(matches!(
            kind("https:///x"),
            IssuerErrorKind::NotAUrl { .. }
        ));
        assert!(matches!(
            kind("https://a.example//"),
            IssuerErrorKind::Path { .. }
        ));
        assert!(matches!(
            kind("https://a.example/a//b"),
            IssuerErrorKind::Path { .. }
        ));
        assert!(matches!(
            kind("https://a.example/a/../b"),
            IssuerErrorKind::Path { .. }
        ));
    }

    #[test]
    fn accessors_keep_the_string_exact() {
        let i = IssuerUrl::parse("https://Issuer.Example.com:8443/a/b/").unwrap();
        assert_eq!(i.authority(), "Issuer.Example.com:8443");
        assert_eq!(i.port(), Some("8443"));
        assert_eq!(i.path(), "/a/b/");
        assert_eq!(i.path_prefix(), "a/b");
        assert_eq!(i.base(), "https://Issuer.Example.com:8443/a/b");
        assert_eq!(
            i.discovery_url(),
            "https://Issuer.Example.com:8443/a/b/.well-known/openid-configuration"
        );
        assert_eq!(i.object_key(JWKS_PATH), "a/b/openid/v1/jwks");
        let root = IssuerUrl::parse("https://[2001:db8::1]").unwrap();
        assert_eq!(
            (
                root.port(),
                root.path(),
                root.object_key(JWKS_PATH).as_str()
            ),
            (None, "", "openid/v1/jwks")
        );
        let slash = IssuerUrl::parse("https://a.example/").unwrap();
        assert_eq!(
            (slash.path_prefix(), slash.base()),
            ("", "https://a.example")
        );
    }

    #[test]
    fn aws_view_refuses_ports_even_the_default_one() {
        for input in ["https://192.0.2.1:80", "https://a.example:443/x"] {
            let err = IssuerUrl::parse(input)
                .unwrap()
                .aws_provider_url()
                .unwrap_err();
            assert_eq!(err.kind(), &IssuerErrorKind::Port, "{input}");
        }
        let long = format!("https://a.example/{}", "p".repeat(240));
        let err = IssuerUrl::parse(&long)
            .unwrap()
            .aws_provider_url()
            .unwrap_err();
        assert_eq!(err.kind(), &IssuerErrorKind::TooLong { len: 258 });
        let p = IssuerUrl::parse("https://a.example/x/")
            .unwrap()
            .aws_provider_url()
            .unwrap();
        assert_eq!(p.issuer(), "https://a.example/x/");
        let arn = p.arn(Partition::Aws, "111122223333".parse().unwrap());
        assert_eq!(
            arn.to_string(),
            "arn:aws:iam::111122223333:oidc-provider/a.example/x/"
        );
    }

    #[test]
    fn s3_issuers_are_built_and_recognised() {
        let s3 = S3Issuer::new("irsa-test", "us-gov-west-1").unwrap();
        assert_eq!(
            s3.issuer().as_str(),
            "https://irsa-test.s3.us-gov-west-1.amazonaws.com"
        );
        assert_eq!(s3.object_arn("x"), "arn:aws-us-gov:s3:::irsa-test/x");
        let with_prefix = s3.clone().with_prefix("a/b/").unwrap();
        assert_eq!(
            with_prefix.issuer().as_str(),
            "https://irsa-test.s3.us-gov-west-1.amazonaws.com/a/b/"
        );
        for s3 in [
            s3.clone(),
            s3.clone().with_trailing_slash(true),
            with_prefix,
        ] {
            assert_eq!(S3Issuer::from_issuer(&s3.issuer()).unwrap(), Some(s3));
        }
        let not_s3 = IssuerUrl::parse("https://oidc.example.com/x").unwrap();
        assert_eq!(S3Issuer::from_issuer(&not_s3).unwrap(), None);
        let dotted = IssuerUrl::parse("https://a.b.s3.us-east-1.amazonaws.com").unwrap();
        assert_eq!(
            S3Issuer::from_issuer(&dotted).unwrap_err().kind(),
            &IssuerErrorKind::DottedBucket
        );
        let wrong_suffix = IssuerUrl::parse("https://ab.s3.cn-north-1.amazonaws.com").unwrap();
        assert!(S3Issuer::from_issuer(&wrong_suffix).is_err());
    }

    #[test]
    fn s3_names_are_validated_with_reasons() {
        let bucket = |b: &str| S3Issuer::new(b, "us-east-1").unwrap_err().kind().clone();
        assert!(
            matches!(bucket("ab"), IssuerErrorKind::Bucket { reason } if reason.contains("3 to 63"))
        );
        assert!(
            matches!(bucket("My-Bucket"), IssuerErrorKind::Bucket { reason } if reason.contains("lowercase"))
        );
        assert!(
            matches!(bucket("-abc"), IssuerErrorKind::Bucket { reason } if reason.contains("begins and ends"))
        );
        assert!(
            matches!(bucket("xn--abc"), IssuerErrorKind::Bucket { reason } if reason.contains("reserved"))
        );
        assert!(
            matches!(bucket("abc--ol-s3"), IssuerErrorKind::Bucket { reason } if reason.contains("reserved"))
        );
        assert_eq!(bucket("192.168.5.4"), IssuerErrorKind::DottedBucket);
        let region = |r: &str| S3Issuer::new("abc", r).unwrap_err().kind().clone();
        assert!(matches!(region("useast1"), IssuerErrorKind::Region { .. }));
        assert!(
            matches!(region("us-isob-east-1"), IssuerErrorKind::Region { reason } if reason.contains("isolated"))
        );
        let prefix = |p: &str| {
            S3Issuer::new("abc", "us-east-1")
                .unwrap()
                .with_prefix(p)
                .unwrap_err()
                .kind()
                .clone()
        };
        assert!(
            matches!(prefix("/x"), IssuerErrorKind::Prefix { reason } if reason.contains("leading"))
        );
        assert!(matches!(prefix("a//b"), IssuerErrorKind::Prefix { .. }));
        assert!(matches!(prefix("a b"), IssuerErrorKind::Prefix { .. }));
        assert!(matches!(prefix("/"), IssuerErrorKind::Prefix { .. }));
    }
}
