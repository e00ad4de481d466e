//! Why IAM would refuse a policy document, and where in it.

use std::fmt;

use crate::json::JsonError;

/// A policy document IAM would refuse, named after IAM's error code.
///
/// [`MalformedPolicyDocument::iam_message`] gives IAM's own message where it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedPolicyDocument {
    kind: MalformedKind,
    location: PolicyLocation,
}

impl MalformedPolicyDocument {
    pub(crate) fn new(kind: MalformedKind, location: PolicyLocation) -> Self {
        MalformedPolicyDocument { kind, location }
    }

    /// IAM's error code: `MalformedPolicyDocument`.
    pub fn code(&self) -> &'static str {
        "MalformedPolicyDocument"
    }

    /// What is wrong.
    pub fn kind(&self) -> &MalformedKind {
        &self.kind
    }

    /// Where: the document, or a place such as `Statement[0].Condition.StringEquals`.
    pub fn location(&self) -> &PolicyLocation {
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
            // terraform-aws-modules/terraform-aws-eks#1084 (CreateRole).
            MalformedKind::SchemeInConditionKey { .. } => {
                Some("Condition can contain only one colon.".to_owned())
            }
            // garnaat/kappa#111 (CreatePolicy).
            MalformedKind::Action { colons, .. } if *colons > 1 => {
                Some("Actions/Condition can contain only one colon.".to_owned())
            }
            // terraform-aws-modules/terraform-aws-iam#202, terraform-aws-modules/terraform-aws-eks#2594.
            MalformedKind::FederatedPrincipal { .. } => Some(
                "Federated principals must be valid domain names or SAML metadata ARNs".to_owned(),
            ),
            // opstrace/opstrace#88, aws-actions/configure-aws-credentials#332.
            MalformedKind::AwsPrincipal { value } => {
                Some(format!("Invalid principal in policy: \"AWS\":\"{value}\""))
            }
            // terraform-aws-modules/terraform-aws-iam#47.
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

impl fmt::Display for MalformedPolicyDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed policy document at {}: {}",
            self.location, self.kind
        )
    }
}

/// The kind is part of the message; its own cause (the JSON reader's, for a document that is
/// not JSON) is this error's source.
impl std::error::Error for MalformedPolicyDocument {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}

/// What makes a policy document malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedKind {
    /// Not one JSON object of at most [`MAX_POLICY_BYTES`](super::MAX_POLICY_BYTES), each member named once.
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
    #[error(transparent)]
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

/// A place in a policy document: the document itself, a top-level element (`Version`), or a
/// statement and a path in it (`Statement[0].Condition.StringEquals["oidc.example.com:sub"]`).
///
/// ```
/// use irsa::policy::TrustPolicy;
///
/// let error = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity","Sid":"a b"}]}"#
///     .parse::<TrustPolicy>()
///     .unwrap_err();
/// assert_eq!(error.location().statement(), Some(0));
/// assert_eq!(error.location().to_string(), "Statement[0].Sid");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicyLocation {
    statement: Option<usize>,
    path: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Segment {
    /// An element or operator name: `.Condition`.
    Member(String),
    /// A condition key: `["oidc.example.com:sub"]`.
    Key(String),
}

impl PolicyLocation {
    /// The whole document.
    pub(crate) fn document() -> Self {
        PolicyLocation {
            statement: None,
            path: Vec::new(),
        }
    }

    /// A top-level element, e.g. `Version`.
    pub(crate) fn top(element: &str) -> Self {
        PolicyLocation {
            statement: None,
            path: vec![Segment::Member(element.to_owned())],
        }
    }

    /// Statement `index` (0 for a lone statement object).
    pub(crate) fn in_statement(index: usize) -> Self {
        PolicyLocation {
            statement: Some(index),
            path: Vec::new(),
        }
    }

    /// A member of this place.
    pub(crate) fn member(&self, name: &str) -> Self {
        self.with(Segment::Member(name.to_owned()))
    }

    /// A condition key under this place.
    pub(crate) fn key(&self, key: &str) -> Self {
        self.with(Segment::Key(key.to_owned()))
    }

    fn with(&self, segment: Segment) -> Self {
        let mut path = self.path.clone();
        path.push(segment);
        PolicyLocation {
            statement: self.statement,
            path,
        }
    }

    /// The statement's index, when the place is in a statement.
    pub fn statement(&self) -> Option<usize> {
        self.statement
    }

    /// Whether the place is the document as a whole.
    pub fn is_document(&self) -> bool {
        self.statement.is_none() && self.path.is_empty()
    }
}

impl fmt::Display for PolicyLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_document() {
            return f.write_str("the document");
        }
        let mut first = true;
        if let Some(index) = self.statement {
            write!(f, "Statement[{index}]")?;
            first = false;
        }
        for segment in &self.path {
            match segment {
                Segment::Member(name) if first => f.write_str(name)?,
                Segment::Member(name) => write!(f, ".{name}")?,
                Segment::Key(key) => write!(f, "[{key:?}]")?,
            }
            first = false;
        }
        Ok(())
    }
}
