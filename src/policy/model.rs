//! The IAM policy grammar as a role trust policy uses it, parsed strictly where IAM is strict.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use super::matcher::{self, IpBlock, Pattern, Tok, wildcard_tokens};
use super::operator::{BaseOperator, Family, Operator};
use crate::arn::{AccountId, OidcProviderArn, Partition};
use crate::json::{JsonError, parse_strict};

/// The largest policy document parsed, in bytes. IAM's quota is counted in non-whitespace
/// characters (2,048 by default, at most 8,192 when raised); this bound leaves room for any
/// indentation while keeping hostile input cheap.
pub const MAX_POLICY_BYTES: usize = 128 * 1024;

/// The default role trust policy length quota: 2,048 non-whitespace characters
/// (`ACLSizePerRole`, quota code `L-C07B4B0D`).
pub const DEFAULT_SIZE_QUOTA: usize = 2048;

/// The policy language version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Version {
    /// `2012-10-17`: the current language, with policy variables.
    Current,
    /// `2008-10-17`: `${…}` is literal text.
    Legacy,
}

impl Version {
    /// The version as written in a policy.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Current => "2012-10-17",
            Version::Legacy => "2008-10-17",
        }
    }
}

/// Whether a statement allows or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Effect {
    /// `Allow`.
    Allow,
    /// `Deny`: wins over any `Allow`.
    Deny,
}

impl Effect {
    /// The effect as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type of a principal in a `Principal` map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrincipalType {
    /// `AWS`: accounts, users, roles, or `*`.
    Aws,
    /// `Federated`: an OIDC or SAML provider ARN, or a web-identity provider's domain.
    Federated,
    /// `Service`: an AWS service.
    Service,
    /// `CanonicalUser`.
    CanonicalUser,
}

impl PrincipalType {
    /// The type as written.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalType::Aws => "AWS",
            PrincipalType::Federated => "Federated",
            PrincipalType::Service => "Service",
            PrincipalType::CanonicalUser => "CanonicalUser",
        }
    }
}

/// One principal of a `Principal` or `NotPrincipal` map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalEntry {
    kind: PrincipalType,
    value: String,
    oidc: Option<OidcProviderArn>,
}

impl PrincipalEntry {
    /// The principal's type.
    pub fn kind(&self) -> PrincipalType {
        self.kind
    }

    /// The principal as written.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The IAM OIDC provider, when this is a `Federated` OIDC provider ARN.
    pub fn oidc_provider(&self) -> Option<&OidcProviderArn> {
        self.oidc.as_ref()
    }

    /// Whether this is `AWS: "*"`, which means everyone, like `Principal: "*"`.
    pub fn is_everyone(&self) -> bool {
        self.kind == PrincipalType::Aws && self.value == "*"
    }
}

/// The principals a statement names.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Principals {
    /// `"*"`: everyone.
    Everyone,
    /// A map of principal types to values (ORed).
    Listed(Vec<PrincipalEntry>),
}

/// A statement's `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalElement {
    negated: bool,
    principals: Principals,
}

impl PrincipalElement {
    /// Whether this is `NotPrincipal`.
    pub fn is_negated(&self) -> bool {
        self.negated
    }

    /// The principals named.
    pub fn principals(&self) -> &Principals {
        &self.principals
    }

    /// Whether the element names everyone (`"*"` or `AWS: "*"`).
    pub fn names_everyone(&self) -> bool {
        match &self.principals {
            Principals::Everyone => true,
            Principals::Listed(list) => list.iter().any(PrincipalEntry::is_everyone),
        }
    }

    /// Every `Federated` OIDC provider named.
    pub fn oidc_providers(&self) -> impl Iterator<Item = &OidcProviderArn> {
        let list = match &self.principals {
            Principals::Everyone => &[][..],
            Principals::Listed(list) => list.as_slice(),
        };
        list.iter().filter_map(PrincipalEntry::oidc_provider)
    }

    /// Whether a request by the federated principal `federated` is covered, `NotPrincipal`
    /// included. Federated principals are compared exactly (case and a trailing `/` matter):
    /// "you cannot use a wildcard to match part of a principal name or ARN".
    pub fn matches(&self, federated: &str) -> bool {
        let named = self.names_everyone()
            || matches!(&self.principals, Principals::Listed(list)
                if list.iter().any(|p| p.kind == PrincipalType::Federated && p.value == federated));
        named != self.negated
    }
}

/// One action pattern, e.g. `sts:AssumeRole*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionPattern {
    raw: String,
    toks: Vec<Tok>,
}

impl ActionPattern {
    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether `action_lower` (lower-cased) matches: actions are case-insensitive, with `*`
    /// and `?` anywhere.
    pub(crate) fn matches_lower(&self, action_lower: &str) -> bool {
        matcher::glob(&self.toks, action_lower)
    }

    /// Whether `action` matches, case-insensitively.
    pub fn matches(&self, action: &str) -> bool {
        self.matches_lower(&action.to_lowercase())
    }
}

/// A statement's `Action` or `NotAction`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionElement {
    negated: bool,
    actions: Vec<ActionPattern>,
}

impl ActionElement {
    /// Whether this is `NotAction`.
    pub fn is_negated(&self) -> bool {
        self.negated
    }

    /// The patterns listed.
    pub fn actions(&self) -> &[ActionPattern] {
        &self.actions
    }

    pub(crate) fn matches_lower(&self, action_lower: &str) -> bool {
        self.actions.iter().any(|a| a.matches_lower(action_lower)) != self.negated
    }

    /// Whether `action` is covered, `NotAction` included.
    pub fn matches(&self, action: &str) -> bool {
        self.matches_lower(&action.to_lowercase())
    }
}

/// A policy value compiled for its operator.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Compiled {
    /// String, ARN and `Bool` operators (`Bool` folds case).
    Text(Pattern),
    /// Numbers and dates: `None` when the value is not one (it then matches nothing).
    Number(Option<f64>),
    Binary(Option<Vec<u8>>),
    Ip(Option<IpBlock>),
    Null(Option<bool>),
}

/// One key under one operator of a `Condition`, with its values (ORed, or NORed for a
/// negated operator).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    operator: Operator,
    key: String,
    key_lower: String,
    values: Vec<String>,
    compiled: Vec<Compiled>,
}

impl Condition {
    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The condition key as written.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The key lower-cased: key names are case-insensitive.
    pub fn key_lower(&self) -> &str {
        &self.key_lower
    }

    /// The values as written (JSON numbers and Booleans as their JSON text).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    pub(crate) fn compiled(&self) -> &[Compiled] {
        &self.compiled
    }
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    index: usize,
    sid: Option<String>,
    effect: Effect,
    principal: PrincipalElement,
    action: ActionElement,
    conditions: Vec<Condition>,
}

impl Statement {
    /// The statement's position in the policy (0 when `Statement` is a single object).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The `Sid`, if any.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// The effect.
    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// `Principal` or `NotPrincipal`.
    pub fn principal(&self) -> &PrincipalElement {
        &self.principal
    }

    /// `Action` or `NotAction`.
    pub fn action(&self) -> &ActionElement {
        &self.action
    }

    /// The conditions, one per operator and key, in document order (all ANDed).
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
}

/// A parsed role trust policy.
///
/// ```
/// use irsa::policy::{Effect, TrustPolicy};
///
/// let policy: TrustPolicy = r#"{
///   "Version": "2012-10-17",
///   "Statement": {
///     "Effect": "Allow",
///     "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.example.com"},
///     "Action": "sts:AssumeRoleWithWebIdentity",
///     "Condition": {"StringEquals": {"oidc.example.com:sub": "system:serviceaccount:ns:sa"}}
///   }
/// }"#.parse()?;
/// let statement = &policy.statements()[0];
/// assert_eq!(statement.effect(), Effect::Allow);
/// assert_eq!(statement.conditions()[0].key_lower(), "oidc.example.com:sub");
///
/// let err = r#"{"Statement":{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/o.example"},
///   "Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"https://o.example:sub":"x"}}}}"#
///     .parse::<TrustPolicy>().unwrap_err();
/// assert_eq!(err.iam_message().as_deref(), Some("Condition can contain only one colon."));
/// # Ok::<(), irsa::policy::MalformedPolicyDocument>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TrustPolicy {
    version: Option<Version>,
    id: Option<String>,
    statements: Vec<Statement>,
    size: usize,
}

impl TrustPolicy {
    /// Parses a trust policy document as IAM's `CreateRole` would accept it.
    ///
    /// Strict where IAM is: duplicate JSON members, unknown elements, `Resource`/`NotResource`,
    /// characters outside tab, LF, CR and U+0020–U+00FF, malformed principals, actions, keys
    /// and operators are refused. Element and operator names are case-sensitive.
    pub fn parse(document: &[u8]) -> Result<TrustPolicy, MalformedPolicyDocument> {
        let top = |kind| MalformedPolicyDocument::new(kind, "the document");
        if document.len() > MAX_POLICY_BYTES {
            return Err(top(MalformedKind::Json(JsonError::TooLarge {
                len: document.len(),
                limit: MAX_POLICY_BYTES,
            })));
        }
        let text = std::str::from_utf8(document)
            .map_err(|_| top(MalformedKind::Json(JsonError::NotUtf8)))?;
        // Bytes below 0x80 are the ASCII characters; only the rest needs decoding.
        let ascii_ok = |b: &u8| *b >= 0x20 && *b < 0x80 || matches!(b, b'\t' | b'\n' | b'\r');
        if !document.iter().all(ascii_ok)
            && let Some(ch) = text.chars().find(|c| !allowed_char(*c))
        {
            return Err(top(MalformedKind::Character { ch }));
        }
        let map =
            parse_strict(document, MAX_POLICY_BYTES).map_err(|e| top(MalformedKind::Json(e)))?;
        let mut policy = parse_policy(&map)?;
        policy.size = non_whitespace_len(text);
        Ok(policy)
    }

    /// `Version`, if given. Without it (or with `2008-10-17`) policy variables are literal.
    pub fn version(&self) -> Option<Version> {
        self.version
    }

    /// `Id`, if given.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The statements, in document order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// The document's length as IAM counts it against the trust policy quota: characters
    /// other than whitespace between JSON tokens. (Whitespace inside strings is counted,
    /// conservatively: whether IAM counts it is undocumented.)
    pub fn size(&self) -> usize {
        self.size
    }
}

impl FromStr for TrustPolicy {
    type Err = MalformedPolicyDocument;

    fn from_str(s: &str) -> Result<Self, MalformedPolicyDocument> {
        TrustPolicy::parse(s.as_bytes())
    }
}

/// Counts the characters of a JSON document that are not whitespace between tokens.
pub fn non_whitespace_len(json: &str) -> usize {
    let (mut count, mut in_string, mut escaped) = (0, false, false);
    for &b in json.as_bytes() {
        // Count characters, not bytes: UTF-8 continuation bytes are not counted.
        let starts_char = b & 0xC0 != 0x80;
        if in_string {
            count += usize::from(starts_char);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            count += usize::from(starts_char);
            in_string = b == b'"';
        }
    }
    count
}

/// "Policy documents can contain only the following Unicode characters: horizontal tab
/// (U+0009), linefeed (U+000A), carriage return (U+000D), and characters in the range U+0020
/// to U+00FF."
fn allowed_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}')
}

/// A policy document IAM would refuse, named after IAM's error code.
///
/// [`MalformedPolicyDocument::iam_message`] gives IAM's own message where it is known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed policy document at {location}: {kind}")]
pub struct MalformedPolicyDocument {
    kind: MalformedKind,
    location: String,
}

impl MalformedPolicyDocument {
    fn new(kind: MalformedKind, location: impl Into<String>) -> Self {
        MalformedPolicyDocument {
            kind,
            location: location.into(),
        }
    }

    /// IAM's error code: `MalformedPolicyDocument`.
    pub fn code(&self) -> &'static str {
        "MalformedPolicyDocument"
    }

    /// What is wrong.
    pub fn kind(&self) -> &MalformedKind {
        &self.kind
    }

    /// Where: `the document`, or a path such as `Statement[0].Condition.StringEquals`.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The message IAM answers `CreateRole` with for this mistake, where it is known.
    pub fn iam_message(&self) -> Option<String> {
        match &self.kind {
            // AWSCookbook/Security#2 (CreateRole).
            MalformedKind::Json(
                JsonError::Syntax(_) | JsonError::NotUtf8 | JsonError::NotAnObject,
            ) => {
                Some("This policy contains invalid Json".to_owned())
            }
            // terraform-aws-eks#1084 (CreateRole).
            MalformedKind::SchemeInConditionKey { .. } => {
                Some("Condition can contain only one colon.".to_owned())
            }
            // garnaat/kappa#111 (CreatePolicy).
            MalformedKind::Action { colons, .. } if *colons > 1 => {
                Some("Actions/Condition can contain only one colon.".to_owned())
            }
            // terraform-aws-iam#202, terraform-aws-eks#2594.
            MalformedKind::FederatedPrincipal { .. } => Some(
                "Federated principals must be valid domain names or SAML metadata ARNs".to_owned(),
            ),
            // opstrace#88, configure-aws-credentials#332.
            MalformedKind::AwsPrincipal { value } => {
                Some(format!("Invalid principal in policy: \"AWS\":\"{value}\""))
            }
            // terraform-aws-iam#47.
            MalformedKind::NoPrincipals => Some(
                "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: \
                 The passed in policy has a statement with no principals!"
                    .to_owned(),
            ),
            // aws-cloudformation/cfn-lint#708, Wolox/carthage_cache#22.
            MalformedKind::Sid { .. } => Some(
                "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
                    .to_owned(),
            ),
            MalformedKind::DuplicateSid { .. } => {
                Some("Statement IDs (SID) in a single policy must be unique.".to_owned())
            }
            // hashicorp/terraform#34231, terraform-aws-eks-pod-identity#34 (CreateRole).
            MalformedKind::ProhibitedElement { name } => {
                Some(format!("Has prohibited field {name}"))
            }
            _ => None,
        }
    }
}

/// What makes a policy document malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedKind {
    /// Not one JSON object of at most [`MAX_POLICY_BYTES`], each member named once.
    #[error(
        "not a JSON policy: a policy is one JSON object {{\"Version\": …, \"Statement\": …}}, each member named once"
    )]
    Json(#[source] JsonError),
    /// A character IAM does not allow in policies.
    #[error(
        "character {ch:?} (U+{:04X}) is not allowed: IAM policies may contain only tab, line feed, carriage return and U+0020 to U+00FF",
        u32::from(*ch)
    )]
    Character {
        /// The character.
        ch: char,
    },
    /// An element the policy grammar does not define (names are case-sensitive).
    #[error(
        "unknown element {name:?}: a policy has Version, Id and Statement; a statement has Sid, Effect, Principal or NotPrincipal, Action or NotAction, and Condition (names are case-sensitive)"
    )]
    UnknownElement {
        /// The element's name.
        name: String,
    },
    /// `Resource` or `NotResource`, which role trust policies may not have.
    #[error(
        "a role trust policy cannot have {name}: it applies to the role it is attached to; remove the element"
    )]
    ProhibitedElement {
        /// `Resource` or `NotResource`.
        name: &'static str,
    },
    /// A required element is missing.
    #[error("{name} is missing: {fix}")]
    MissingElement {
        /// The element's name.
        name: &'static str,
        /// What to add.
        fix: &'static str,
    },
    /// Two elements that exclude each other.
    #[error("{first} and {second} cannot both be present: keep one")]
    Conflicting {
        /// The first element.
        first: &'static str,
        /// The second element.
        second: &'static str,
    },
    /// An element of the wrong JSON type.
    #[error("expected {expected}")]
    WrongType {
        /// What was expected.
        expected: &'static str,
    },
    /// An unknown `Version`.
    #[error("unknown Version {version:?}: use \"2012-10-17\"")]
    Version {
        /// The version given.
        version: String,
    },
    /// A `Sid` with a character other than `A–Z`, `a–z` and `0–9`.
    #[error("Sid {sid:?} may contain only the letters A-Z, a-z and the digits 0-9")]
    Sid {
        /// The Sid given.
        sid: String,
    },
    /// A `Sid` that an earlier statement has already.
    #[error("Sid {sid:?} names another statement too: Sids must be unique within a policy")]
    DuplicateSid {
        /// The Sid given twice.
        sid: String,
    },
    /// An `Effect` other than `Allow` or `Deny`.
    #[error("Effect {effect:?} is neither \"Allow\" nor \"Deny\" (case-sensitive)")]
    Effect {
        /// The effect given.
        effect: String,
    },
    /// A `Principal` that names no principal.
    #[error(
        "the element names no principal: name the OIDC provider, {{\"Federated\": \"arn:aws:iam::ACCOUNT:oidc-provider/PROVIDER-URL\"}}"
    )]
    NoPrincipals,
    /// A principal type other than `AWS`, `Federated`, `Service` and `CanonicalUser`.
    #[error("unknown principal type {name:?}: expected AWS, Federated, Service or CanonicalUser")]
    PrincipalType {
        /// The type given.
        name: String,
    },
    /// A `Federated` value that is neither a domain name nor a provider ARN.
    #[error(
        "Federated principal {value:?} is neither a provider's domain name nor an OIDC or SAML provider ARN: for IRSA use arn:PARTITION:iam::ACCOUNT:oidc-provider/PROVIDER-URL, the issuer without https://"
    )]
    FederatedPrincipal {
        /// The value given.
        value: String,
    },
    /// An `AWS` principal that is neither `*`, an account ID nor an ARN.
    #[error("AWS principal {value:?} is neither \"*\", a 12-digit account ID nor an ARN")]
    AwsPrincipal {
        /// The value given.
        value: String,
    },
    /// An empty `Service` or `CanonicalUser` principal.
    #[error("an empty principal value: name the principal or remove the entry")]
    EmptyPrincipal,
    /// An action that is not `*` or `service:action`.
    #[error(
        "action {action:?} must be \"*\" or SERVICE:ACTION with exactly one colon, e.g. sts:AssumeRoleWithWebIdentity"
    )]
    Action {
        /// The action given.
        action: String,
        /// How many colons it has.
        colons: usize,
    },
    /// An unknown condition operator.
    #[error("{0}")]
    Operator(#[from] super::operator::UnknownOperator),
    /// A condition key with a URL scheme, e.g. `https://oidc.example.com:sub`.
    #[error(
        "condition key {key:?} has a URL scheme: write the provider URL without https://, e.g. {suggestion:?}"
    )]
    SchemeInConditionKey {
        /// The key given.
        key: String,
        /// The key without the scheme.
        suggestion: String,
    },
    /// A condition key without a `prefix:` part.
    #[error(
        "condition key {key:?} has no prefix: write PREFIX:NAME, e.g. PROVIDER-URL:sub or aws:SourceIp"
    )]
    ConditionKey {
        /// The key given.
        key: String,
    },
    /// A condition value that is not a string, number or Boolean.
    #[error("condition values are strings, numbers or Booleans, or an array of them")]
    ConditionValue,
}

type Parsed<T> = std::result::Result<T, MalformedPolicyDocument>;

fn malformed<T>(kind: MalformedKind, location: impl Into<String>) -> Parsed<T> {
    Err(MalformedPolicyDocument::new(kind, location))
}

fn parse_policy(map: &Map<String, Value>) -> Parsed<TrustPolicy> {
    let mut version = None;
    let mut id = None;
    let mut statements = None;
    for (name, value) in map {
        match name.as_str() {
            "Version" => {
                let v = string(value, "Version")?;
                version = Some(match v {
                    "2012-10-17" => Version::Current,
                    "2008-10-17" => Version::Legacy,
                    _ => {
                        return malformed(
                            MalformedKind::Version {
                                version: v.to_owned(),
                            },
                            "Version",
                        );
                    }
                });
            }
            "Id" => id = Some(string(value, "Id")?.to_owned()),
            "Statement" => statements = Some(value),
            _ => {
                return malformed(
                    MalformedKind::UnknownElement { name: name.clone() },
                    "the document",
                );
            }
        }
    }
    let Some(statements) = statements else {
        return malformed(
            MalformedKind::MissingElement {
                name: "Statement",
                fix: "add a Statement (one object or an array of them)",
            },
            "the document",
        );
    };
    let variables = version == Some(Version::Current);
    let statements = match statements {
        Value::Object(one) => vec![parse_statement(one, 0, variables)?],
        Value::Array(list) => list
            .iter()
            .enumerate()
            .map(|(i, s)| match s {
                Value::Object(s) => parse_statement(s, i, variables),
                _ => malformed(
                    MalformedKind::WrongType {
                        expected: "a statement object",
                    },
                    format!("Statement[{i}]"),
                ),
            })
            .collect::<Parsed<_>>()?,
        _ => {
            return malformed(
                MalformedKind::WrongType {
                    expected: "an object or an array of objects",
                },
                "Statement",
            );
        }
    };
    // "Statement IDs (SID) in a single policy must be unique." An empty Sid names nothing
    // and is not compared.
    let mut sids = HashSet::new();
    for statement in &statements {
        if let Some(sid) = statement.sid.as_deref().filter(|sid| !sid.is_empty())
            && !sids.insert(sid)
        {
            return malformed(
                MalformedKind::DuplicateSid {
                    sid: sid.to_owned(),
                },
                format!("Statement[{}].Sid", statement.index),
            );
        }
    }
    Ok(TrustPolicy {
        version,
        id,
        statements,
        size: 0,
    })
}

fn string<'v>(value: &'v Value, location: &str) -> Parsed<&'v str> {
    match value {
        Value::String(s) => {
            check_chars(s, location)?;
            Ok(s)
        }
        _ => malformed(
            MalformedKind::WrongType {
                expected: "a string",
            },
            location,
        ),
    }
}

/// Escapes can smuggle in what the raw text check cannot see.
fn check_chars(s: &str, location: &str) -> Parsed<()> {
    match s.chars().find(|c| !allowed_char(*c)) {
        Some(ch) => malformed(MalformedKind::Character { ch }, location),
        None => Ok(()),
    }
}

/// A string or an array of strings ("if the element takes an array but only one value is
/// included, the brackets are optional").
fn strings<'v>(value: &'v Value, location: &str) -> Parsed<Vec<&'v str>> {
    match value {
        Value::String(_) => Ok(vec![string(value, location)?]),
        Value::Array(list) => list.iter().map(|v| string(v, location)).collect(),
        _ => malformed(
            MalformedKind::WrongType {
                expected: "a string or an array of strings",
            },
            location,
        ),
    }
}

fn parse_statement(map: &Map<String, Value>, index: usize, variables: bool) -> Parsed<Statement> {
    let at = |element: &str| format!("Statement[{index}].{element}");
    let (mut sid, mut effect, mut principal, mut action, mut conditions) =
        (None, None, None, None, Vec::new());
    for (name, value) in map {
        match name.as_str() {
            "Sid" => {
                let value = string(value, &at("Sid"))?;
                if !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return malformed(
                        MalformedKind::Sid {
                            sid: value.to_owned(),
                        },
                        at("Sid"),
                    );
                }
                sid = Some(value.to_owned());
            }
            "Effect" => {
                effect = Some(match string(value, &at("Effect"))? {
                    "Allow" => Effect::Allow,
                    "Deny" => Effect::Deny,
                    other => {
                        return malformed(
                            MalformedKind::Effect {
                                effect: other.to_owned(),
                            },
                            at("Effect"),
                        );
                    }
                });
            }
            "Principal" | "NotPrincipal" => {
                let negated = name == "NotPrincipal";
                if principal.is_some() {
                    return malformed(
                        MalformedKind::Conflicting {
                            first: "Principal",
                            second: "NotPrincipal",
                        },
                        format!("Statement[{index}]"),
                    );
                }
                principal = Some(PrincipalElement {
                    negated,
                    principals: parse_principals(value, &at(name))?,
                });
            }
            "Action" | "NotAction" => {
                let negated = name == "NotAction";
                if action.is_some() {
                    return malformed(
                        MalformedKind::Conflicting {
                            first: "Action",
                            second: "NotAction",
                        },
                        format!("Statement[{index}]"),
                    );
                }
                let location = at(name);
                let actions = strings(value, &location)?
                    .into_iter()
                    .map(|a| parse_action(a, &location))
                    .collect::<Parsed<_>>()?;
                action = Some(ActionElement { negated, actions });
            }
            "Condition" => conditions = parse_conditions(value, &at("Condition"), variables)?,
            "Resource" => {
                return malformed(
                    MalformedKind::ProhibitedElement { name: "Resource" },
                    at("Resource"),
                );
            }
            "NotResource" => {
                return malformed(
                    MalformedKind::ProhibitedElement {
                        name: "NotResource",
                    },
                    at("NotResource"),
                );
            }
            _ => {
                return malformed(
                    MalformedKind::UnknownElement { name: name.clone() },
                    format!("Statement[{index}]"),
                );
            }
        }
    }
    let missing = |name, fix| {
        MalformedPolicyDocument::new(
            MalformedKind::MissingElement { name, fix },
            format!("Statement[{index}]"),
        )
    };
    Ok(Statement {
        index,
        sid,
        effect: effect.ok_or_else(|| missing("Effect", "add \"Effect\": \"Allow\""))?,
        principal: principal.ok_or_else(|| {
            missing(
                "Principal",
                "add \"Principal\": {\"Federated\": \"arn:aws:iam::ACCOUNT:oidc-provider/PROVIDER-URL\"}",
            )
        })?,
        action: action.ok_or_else(|| {
            missing("Action", "add \"Action\": \"sts:AssumeRoleWithWebIdentity\"")
        })?,
        conditions,
    })
}

fn parse_principals(value: &Value, location: &str) -> Parsed<Principals> {
    let map = match value {
        Value::String(s) if s == "*" => return Ok(Principals::Everyone),
        Value::Object(map) => map,
        _ => {
            return malformed(
                MalformedKind::WrongType {
                    expected: "\"*\" or an object such as {\"Federated\": \"arn:…:oidc-provider/…\"}",
                },
                location,
            );
        }
    };
    let mut list = Vec::new();
    for (name, values) in map {
        let kind = match name.as_str() {
            "AWS" => PrincipalType::Aws,
            "Federated" => PrincipalType::Federated,
            "Service" => PrincipalType::Service,
            "CanonicalUser" => PrincipalType::CanonicalUser,
            _ => {
                return malformed(
                    MalformedKind::PrincipalType { name: name.clone() },
                    location,
                );
            }
        };
        let here = format!("{location}.{name}");
        for value in strings(values, &here)? {
            let oidc = check_principal(kind, value, &here)?;
            list.push(PrincipalEntry {
                kind,
                value: value.to_owned(),
                oidc,
            });
        }
    }
    if list.is_empty() {
        return malformed(MalformedKind::NoPrincipals, location);
    }
    Ok(Principals::Listed(list))
}

fn check_principal(
    kind: PrincipalType,
    value: &str,
    location: &str,
) -> Parsed<Option<OidcProviderArn>> {
    match kind {
        PrincipalType::Federated => {
            if value.starts_with("arn:") {
                if let Ok(arn) = value.parse::<OidcProviderArn>() {
                    return Ok(Some(arn));
                }
                if is_saml_provider_arn(value) {
                    return Ok(None);
                }
            } else if is_domain_name(value) {
                return Ok(None);
            }
            malformed(
                MalformedKind::FederatedPrincipal {
                    value: value.to_owned(),
                },
                location,
            )
        }
        PrincipalType::Aws => {
            let ok = value == "*"
                || value.parse::<AccountId>().is_ok()
                || (value.starts_with("arn:") && !value.contains(char::is_whitespace));
            if ok {
                Ok(None)
            } else {
                malformed(
                    MalformedKind::AwsPrincipal {
                        value: value.to_owned(),
                    },
                    location,
                )
            }
        }
        PrincipalType::Service | PrincipalType::CanonicalUser => {
            if value.is_empty() {
                malformed(MalformedKind::EmptyPrincipal, location)
            } else {
                Ok(None)
            }
        }
    }
}

/// `arn:PARTITION:iam::ACCOUNT:saml-provider/NAME`.
fn is_saml_provider_arn(value: &str) -> bool {
    let mut parts = value.splitn(6, ':');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource))
            if partition.parse::<Partition>().is_ok()
                && account.parse::<AccountId>().is_ok()
                && resource.strip_prefix("saml-provider/").is_some_and(|name| !name.is_empty())
    )
}

/// A DNS name with at least two labels, e.g. `accounts.google.com`.
fn is_domain_name(value: &str) -> bool {
    value.len() <= 253
        && value.split('.').count() >= 2
        && value.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn parse_action(action: &str, location: &str) -> Parsed<ActionPattern> {
    let colons = action.matches(':').count();
    let vendor_ok = action.split(':').next().is_some_and(|v| !v.is_empty());
    if action != "*" && (colons != 1 || !vendor_ok) {
        return malformed(
            MalformedKind::Action {
                action: action.to_owned(),
                colons,
            },
            location,
        );
    }
    let toks = wildcard_tokens(&action.to_lowercase());
    Ok(ActionPattern {
        raw: action.to_owned(),
        toks,
    })
}

fn parse_conditions(value: &Value, location: &str, variables: bool) -> Parsed<Vec<Condition>> {
    let Value::Object(operators) = value else {
        return malformed(
            MalformedKind::WrongType {
                expected: "an object of operators, e.g. {\"StringEquals\": {\"KEY\": \"VALUE\"}}",
            },
            location,
        );
    };
    let mut out = Vec::new();
    for (name, keys) in operators {
        check_chars(name, location)?;
        let operator: Operator = name
            .parse()
            .map_err(|e| MalformedPolicyDocument::new(MalformedKind::Operator(e), location))?;
        let here = format!("{location}.{name}");
        let Value::Object(keys) = keys else {
            return malformed(
                MalformedKind::WrongType {
                    expected: "an object of condition keys to values",
                },
                here,
            );
        };
        for (key, values) in keys {
            check_chars(key, &here)?;
            if let Some((_, rest)) = key.split_once("://") {
                return malformed(
                    MalformedKind::SchemeInConditionKey {
                        key: key.clone(),
                        suggestion: rest.to_owned(),
                    },
                    here,
                );
            }
            if !key.contains(':') {
                return malformed(MalformedKind::ConditionKey { key: key.clone() }, here);
            }
            let values = condition_values(values, || format!("{here}[{key:?}]"))?;
            let compiled = values
                .iter()
                .map(|v| compile(operator.base, v, variables))
                .collect();
            out.push(Condition {
                operator,
                key: key.clone(),
                key_lower: key.to_lowercase(),
                values,
                compiled,
            });
        }
    }
    Ok(out)
}

fn condition_values(value: &Value, location: impl Fn() -> String) -> Parsed<Vec<String>> {
    let one = |v: &Value| match v {
        Value::String(s) => match s.chars().find(|c| !allowed_char(*c)) {
            Some(ch) => malformed(MalformedKind::Character { ch }, location()),
            None => Ok(s.clone()),
        },
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => malformed(MalformedKind::ConditionValue, location()),
    };
    match value {
        Value::Array(list) => list.iter().map(one).collect(),
        _ => one(value).map(|v| vec![v]),
    }
}

fn compile(op: BaseOperator, raw: &str, variables: bool) -> Compiled {
    let variables = variables && op.takes_variables();
    match op.family() {
        Family::String => Compiled::Text(Pattern::compile(
            raw,
            op.has_wildcards(),
            variables,
            op.comparison() == super::operator::Comparison::EqualsIgnoreCase,
        )),
        Family::Arn => Compiled::Text(Pattern::compile(raw, true, variables, false)),
        Family::Bool => Compiled::Text(Pattern::compile(raw, false, variables, true)),
        Family::Numeric => Compiled::Number(matcher::parse_number(raw)),
        Family::Date => Compiled::Number(matcher::parse_date(raw)),
        Family::Binary => Compiled::Binary(matcher::parse_binary(raw)),
        Family::Ip => Compiled::Ip(IpBlock::parse(raw)),
        Family::Null => Compiled::Null(matcher::parse_bool(raw)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROVIDER: &str = "arn:aws:iam::111122223333:oidc-provider/oidc.example.com";

    fn with_statement(statement: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#)
    }

    fn statement_json(extra: &str) -> String {
        format!(
            r#"{{"Effect":"Allow","Principal":{{"Federated":"{PROVIDER}"}},"Action":"sts:AssumeRoleWithWebIdentity"{extra}}}"#
        )
    }

    fn stmt(extra: &str) -> String {
        with_statement(&statement_json(extra))
    }

    fn error(doc: &str) -> MalformedPolicyDocument {
        doc.parse::<TrustPolicy>().unwrap_err()
    }

    #[test]
    fn sids_are_alphanumeric_and_unique() {
        let ok = with_statement(&format!(
            "{},{},{}",
            statement_json(r#","Sid":"App01""#),
            statement_json(r#","Sid":"app01""#),
            statement_json(r#","Sid":"""#)
        ));
        let policy: TrustPolicy = ok.parse().unwrap();
        let sids: Vec<_> = policy.statements().iter().map(Statement::sid).collect();
        assert_eq!(sids, [Some("App01"), Some("app01"), Some("")]);

        for bad in ["App-01", "App 01", "Ünïcode", "a_b"] {
            let err = error(&stmt(&format!(r#","Sid":"{bad}""#)));
            assert_eq!(err.location(), "Statement[0].Sid", "{bad}");
            assert_eq!(
                err.kind(),
                &MalformedKind::Sid {
                    sid: bad.to_owned()
                }
            );
            assert_eq!(
                err.iam_message().as_deref(),
                Some(
                    "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
                )
            );
        }

        let twice = with_statement(&format!(
            "{},{},{}",
            statement_json(r#","Sid":"A""#),
            statement_json(r#","Sid":"B""#),
            statement_json(r#","Sid":"A""#)
        ));
        let err = error(&twice);
        assert_eq!(err.location(), "Statement[2].Sid");
        assert_eq!(
            err.kind(),
            &MalformedKind::DuplicateSid {
                sid: "A".to_owned()
            }
        );
        assert_eq!(
            err.iam_message().as_deref(),
            Some("Statement IDs (SID) in a single policy must be unique.")
        );
        // Empty Sids name nothing and may repeat.
        let empty = with_statement(&format!(
            "{},{}",
            statement_json(r#","Sid":"""#),
            statement_json(r#","Sid":"""#)
        ));
        assert!(empty.parse::<TrustPolicy>().is_ok());
    }

    #[test]
    fn statement_object_and_array_forms() {
        let one =
            r#"{"Statement":{"Effect":"Deny","Principal":"*","NotAction":["sts:Tag*","iam:x"]}}"#;
        let policy: TrustPolicy = one.parse().unwrap();
        assert_eq!(policy.version(), None);
        let s = &policy.statements()[0];
        assert_eq!((s.index(), s.effect()), (0, Effect::Deny));
        assert!(s.principal().names_everyone());
        assert!(s.action().is_negated());
        assert_eq!(s.action().actions()[1].as_str(), "iam:x");
        let two: TrustPolicy =
            with_statement(&format!("{},{}", statement_json(""), statement_json("")))
                .parse()
                .unwrap();
        assert_eq!(two.statements()[1].index(), 1);
        assert_eq!(
            two.statements()[1]
                .principal()
                .oidc_providers()
                .next()
                .unwrap()
                .provider_url(),
            "oidc.example.com"
        );
    }

    #[test]
    fn iam_messages_where_known() {
        let cases: [(String, Option<&str>); 7] = [
            (
                stmt(r#","Condition":{"StringEquals":{"https://oidc.example.com:sub":"x"}}"#),
                Some("Condition can contain only one colon."),
            ),
            (
                with_statement(
                    r#"{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:role/r"},"Action":"sts:AssumeRoleWithWebIdentity"}"#,
                ),
                Some("Federated principals must be valid domain names or SAML metadata ARNs"),
            ),
            (
                stmt(r#","Resource":"*""#),
                Some("Has prohibited field Resource"),
            ),
            (
                stmt(r#","NotResource":"*""#),
                Some("Has prohibited field NotResource"),
            ),
            (
                "{\"Statement\": [".to_owned(),
                Some("This policy contains invalid Json"),
            ),
            (
                with_statement(
                    r#"{"Effect":"Allow","Principal":{"Federated":[]},"Action":"sts:AssumeRoleWithWebIdentity"}"#,
                ),
                Some(
                    "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in policy has a statement with no principals!",
                ),
            ),
            (
                with_statement(
                    r#"{"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity:x"}"#,
                ),
                Some("Actions/Condition can contain only one colon."),
            ),
        ];
        for (doc, want) in cases {
            let err = error(&doc);
            assert_eq!(err.iam_message().as_deref(), want, "{doc}: {err}");
            assert_eq!(err.code(), "MalformedPolicyDocument");
        }
    }

    #[test]
    fn errors_name_the_place_and_the_fix() {
        let err = error(&stmt(
            r#","Condition":{"StringEquals":{"https://oidc.example.com:sub":"x"}}"#,
        ));
        assert_eq!(
            err.to_string(),
            "malformed policy document at Statement[0].Condition.StringEquals: condition key \"https://oidc.example.com:sub\" has a URL scheme: write the provider URL without https://, e.g. \"oidc.example.com:sub\""
        );
        let cases: [(String, &str); 14] = [
            (
                r#"{"Statement":[],"Version":"2012-10-17","Extra":1}"#.into(),
                "unknown element \"Extra\"",
            ),
            (
                r#"{"Version":"2012-10-18","Statement":[]}"#.into(),
                "unknown Version \"2012-10-18\"",
            ),
            (r#"{"Version":"2012-10-17"}"#.into(), "Statement is missing"),
            (
                with_statement(r#"{"Effect":"allow","Principal":"*","Action":"*"}"#),
                "Effect \"allow\" is neither",
            ),
            (
                with_statement(r#"{"Principal":"*","Action":"*"}"#),
                "Effect is missing",
            ),
            (
                with_statement(r#"{"Effect":"Allow","Action":"*"}"#),
                "Principal is missing",
            ),
            (
                with_statement(r#"{"Effect":"Allow","Principal":"*"}"#),
                "Action is missing",
            ),
            (
                with_statement(
                    r#"{"Effect":"Allow","Principal":"*","NotPrincipal":"*","Action":"*"}"#,
                ),
                "Principal and NotPrincipal cannot both",
            ),
            (
                with_statement(r#"{"Effect":"Allow","Principal":{"Users":"x"},"Action":"*"}"#),
                "unknown principal type \"Users\"",
            ),
            (
                with_statement(r#"{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"*"}"#),
                "AWS principal \"bob\"",
            ),
            (
                stmt(r#","Condition":{"StringEqual":{"a:b":"x"}}"#),
                "unknown condition operator \"StringEqual\"",
            ),
            (
                stmt(r#","Condition":{"StringEquals":{"sub":"x"}}"#),
                "condition key \"sub\" has no prefix",
            ),
            (
                stmt(r#","Condition":{"StringEquals":{"a:b":null}}"#),
                "condition values are strings",
            ),
            (
                stmt(r#","Condition":{"StringEquals":{"a:b":"\u0100"}}"#),
                "U+0100",
            ),
        ];
        for (doc, fragment) in cases {
            let err = error(&doc);
            assert!(err.to_string().contains(fragment), "{doc}: {err}");
        }
        assert_eq!(
            error("{\"Statement\":{},\"Statement\":{}}").kind(),
            &MalformedKind::Json(JsonError::Duplicate {
                member: "Statement".to_owned()
            })
        );
        assert_eq!(error("{\"a\":1,\"a\":2}").iam_message(), None);
        assert_eq!(
            error("[]").kind(),
            &MalformedKind::Json(JsonError::NotAnObject)
        );
        assert_eq!(
            error(&"x".repeat(MAX_POLICY_BYTES + 1)).kind(),
            &MalformedKind::Json(JsonError::TooLarge {
                len: MAX_POLICY_BYTES + 1,
                limit: MAX_POLICY_BYTES
            })
        );
        assert!(matches!(
            error("{\"Id\":\"ā\"}").kind(),
            MalformedKind::Character { ch: 'ā' }
        ));
    }

    #[test]
    fn principals_accepted() {
        for federated in [
            "accounts.google.com",
            "cognito-identity.amazonaws.com",
            "arn:aws:iam::111122223333:saml-provider/ADFS",
            "arn:aws-cn:iam::111122223333:oidc-provider/o.example/id/X",
        ] {
            let doc = with_statement(&format!(
                r#"{{"Effect":"Allow","Principal":{{"Federated":["{federated}"],"AWS":["*","111122223333","arn:aws:iam::111122223333:root"],"Service":"ec2.amazonaws.com"}},"Action":"sts:*"}}"#
            ));
            doc.parse::<TrustPolicy>().unwrap();
        }
        for federated in [
            "*",
            "localhost",
            "arn:aws:iam::111122223333:oidc-provider/https://o.example",
            "a..b",
        ] {
            let doc = with_statement(&format!(
                r#"{{"Effect":"Allow","Principal":{{"Federated":"{federated}"}},"Action":"sts:*"}}"#
            ));
            assert!(
                matches!(error(&doc).kind(), MalformedKind::FederatedPrincipal { .. }),
                "{federated}"
            );
        }
    }

    #[test]
    fn values_keep_their_json_text() {
        let doc = stmt(r#","Condition":{"NumericLessThan":{"a:n":[1,2.5]},"Bool":{"a:b":true}}"#);
        let policy: TrustPolicy = doc.parse().unwrap();
        let c = policy.statements()[0].conditions();
        assert_eq!(c[0].values(), ["1", "2.5"]);
        assert_eq!(c[1].values(), ["true"]);
        assert_eq!(c[1].operator().base, BaseOperator::Bool);
    }

    #[test]
    fn size_counts_non_whitespace_outside_strings() {
        assert_eq!(non_whitespace_len("{ \"a b\" :\n\t[ 1 , 2 ] }"), 13);
        assert_eq!(non_whitespace_len(r#"{"a\"  ":1}"#), 11);
        let policy: TrustPolicy = stmt("").parse().unwrap();
        assert_eq!(policy.size(), stmt("").len());
    }
}
