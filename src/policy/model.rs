//! The IAM policy grammar as a role trust policy uses it: the parsed document's types. The
//! parser is `parse.rs`, its error `malformed.rs`.

use std::fmt;
use std::str::FromStr;

use super::malformed::MalformedPolicyDocument;
use super::matcher::{self, Pattern, Tok};
use super::operator::Operator;
use super::value::IpBlock;
use crate::arn::OidcProviderArn;

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
    pub(super) kind: PrincipalType,
    pub(super) value: String,
    pub(super) oidc: Option<OidcProviderArn>,
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
    pub(super) negated: bool,
    pub(super) principals: Principals,
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
    pub(super) raw: String,
    pub(super) toks: Vec<Tok>,
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
    pub(super) negated: bool,
    pub(super) actions: Vec<ActionPattern>,
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
    pub(super) operator: Operator,
    pub(super) key: String,
    pub(super) key_lower: String,
    pub(super) values: Vec<String>,
    pub(super) compiled: Vec<Compiled>,
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

/// A statement's canonical form: effect, `NotPrincipal`, principals (`None` for `*`),
/// `NotAction`, actions, conditions.
type Meaning = (
    Effect,
    bool,
    Option<Vec<String>>,
    bool,
    Vec<String>,
    Vec<String>,
);

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub(super) index: usize,
    pub(super) sid: Option<String>,
    pub(super) effect: Effect,
    pub(super) principal: PrincipalElement,
    pub(super) action: ActionElement,
    pub(super) conditions: Vec<Condition>,
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

    /// Whether `other` grants or denies exactly what this statement does, as the evaluator
    /// reads both: `Sid`, the order of principals, actions, conditions and values, duplicate
    /// values, a single value against a one-element array, and the case of condition key
    /// names and action names do not matter.
    ///
    /// ```
    /// use irsa::policy::TrustPolicy;
    ///
    /// let a: TrustPolicy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow",
    ///   "Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/o.example"},
    ///   "Action":"sts:AssumeRoleWithWebIdentity",
    ///   "Condition":{"StringEquals":{"o.example:aud":"sts.amazonaws.com","o.example:sub":["system:serviceaccount:a:b"]}}}]}"#.parse()?;
    /// let b: TrustPolicy = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow",
    ///   "Action":["STS:AssumeRoleWithWebIdentity"],
    ///   "Principal":{"Federated":["arn:aws:iam::111122223333:oidc-provider/o.example"]},
    ///   "Condition":{"StringEquals":{"O.EXAMPLE:SUB":"system:serviceaccount:a:b","o.example:aud":"sts.amazonaws.com"}}}}"#.parse()?;
    /// assert!(a.statements()[0].equivalent(&b.statements()[0]));
    /// # Ok::<(), irsa::policy::MalformedPolicyDocument>(())
    /// ```
    pub fn equivalent(&self, other: &Statement) -> bool {
        self.meaning() == other.meaning()
    }

    /// A canonical form: everything the evaluator reads, sorted and deduplicated.
    fn meaning(&self) -> Meaning {
        use std::collections::BTreeSet;
        let principals = match &self.principal.principals {
            Principals::Everyone => None,
            Principals::Listed(list) => Some(
                list.iter()
                    .map(|p| format!("{}\0{}", p.kind.as_str(), p.value))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
            ),
        };
        let actions: BTreeSet<String> = self
            .action
            .actions
            .iter()
            .map(|a| a.as_str().to_ascii_lowercase())
            .collect();
        let conditions: BTreeSet<String> = self
            .conditions
            .iter()
            .map(|c| {
                let values: BTreeSet<&str> = c.values.iter().map(String::as_str).collect();
                let values: Vec<&str> = values.into_iter().collect();
                format!("{:?}\0{}\0{}", c.operator, c.key_lower, values.join("\0"))
            })
            .collect();
        (
            self.effect,
            self.principal.negated,
            principals,
            self.action.negated,
            actions.into_iter().collect(),
            conditions.into_iter().collect(),
        )
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
    pub(super) version: Option<Version>,
    pub(super) id: Option<String>,
    pub(super) statements: Vec<Statement>,
    pub(super) size: usize,
}

impl TrustPolicy {
    /// Parses a trust policy document as IAM's `CreateRole` would accept it.
    ///
    /// Strict where IAM is: duplicate JSON members, unknown elements, `Resource`/`NotResource`,
    /// characters outside tab, LF, CR and U+0020–U+00FF, malformed principals, actions, keys
    /// and operators are refused. Element and operator names are case-sensitive.
    pub fn parse(document: &[u8]) -> Result<TrustPolicy, MalformedPolicyDocument> {
        super::parse::parse_document(document)
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
pub(crate) fn non_whitespace_len(json: &str) -> usize {
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
