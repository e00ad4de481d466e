//! The trust-policy linter: the classic IRSA mistakes, each with a stable code, a severity,
//! the statement, a message and the fix. The codes are listed in the [module
//! documentation](super).

use std::collections::HashMap;
use std::fmt;

use serde::{Serialize, Serializer};

use super::context::ASSUME_ROLE_WITH_WEB_IDENTITY;
use super::malformed::MalformedKind;
use super::model::{
    Condition, DEFAULT_SIZE_QUOTA, Effect, PrincipalEntry, PrincipalType, Principals, Statement,
    TrustPolicy, Version,
};
use super::operator::{BaseOperator, Family, Operator, SetQualifier};
use crate::oidc::ProviderUrl;
use crate::token::Subject;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// IAM refuses the policy, or it denies (or grants) what it evidently should not: `irsa
    /// lint` exits 1.
    Error,
    /// Probably unintended or broader than needed.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A stable lint code; [`LintCode::as_str`] is the identifier printed and documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LintCode {
    /// `malformed`: IAM refuses the document (`MalformedPolicyDocument`).
    Malformed,
    /// `missing-aud`: an OIDC `Allow` statement in which no condition pins the provider's
    /// `:aud` to values (a positive string comparison of the provider's own key).
    MissingAud,
    /// `missing-sub`: an OIDC `Allow` statement in which no condition pins the provider's
    /// `:sub` to values (a positive string comparison of the provider's own key).
    MissingSub,
    /// `wildcard-without-like`: `*` or `?` in a value of a non-`Like` string operator.
    WildcardWithoutLike,
    /// `key-prefix`: a condition key prefixed with `https://` or with an ARN.
    KeyPrefix,
    /// `provider-mismatch`: a key prefix (or the expected issuer) differs from the statement's
    /// Federated provider.
    ProviderMismatch,
    /// `unsupported-claim`: a condition on a claim STS does not expose for generic OIDC.
    UnsupportedClaim,
    /// `for-all-values-single-valued`: `ForAllValues:` on a single-valued key.
    ForAllValuesSingleValued,
    /// `providers-anded`: keys of several providers in one statement.
    ProvidersAnded,
    /// `namespace-wildcard`: a `:sub` pattern whose wildcard covers the namespace.
    NamespaceWildcard,
    /// `principal-wildcard`: `Principal: "*"` in an `Allow` statement.
    PrincipalWildcard,
    /// `not-principal`: `NotPrincipal`, which trust policies do not support.
    NotPrincipal,
    /// `wrong-action`: an action that does not cover the one a `Federated` principal assumes
    /// roles with (`sts:AssumeRoleWithWebIdentity` for an OIDC provider or a web-identity
    /// domain, `sts:AssumeRoleWithSAML` for a SAML provider), or one for another kind of
    /// principal listed beside it.
    WrongAction,
    /// `size-quota`: over the trust policy length quota.
    SizeQuota,
    /// `sub-format`: a `:sub` value that is not `system:serviceaccount:NAMESPACE:NAME`.
    SubFormat,
    /// `null-if-exists`: `Null` with the `IfExists` suffix.
    NullIfExists,
    /// `duplicate-key-case`: one key twice under one operator, in different case.
    DuplicateKeyCase,
    /// `missing-version`: no `Version: 2012-10-17`, so policy variables are literal.
    MissingVersion,
}

impl LintCode {
    /// Every code, in documentation order.
    pub const ALL: [LintCode; 18] = [
        LintCode::Malformed,
        LintCode::MissingAud,
        LintCode::MissingSub,
        LintCode::WildcardWithoutLike,
        LintCode::KeyPrefix,
        LintCode::ProviderMismatch,
        LintCode::UnsupportedClaim,
        LintCode::ForAllValuesSingleValued,
        LintCode::ProvidersAnded,
        LintCode::NamespaceWildcard,
        LintCode::PrincipalWildcard,
        LintCode::NotPrincipal,
        LintCode::WrongAction,
        LintCode::SizeQuota,
        LintCode::SubFormat,
        LintCode::NullIfExists,
        LintCode::DuplicateKeyCase,
        LintCode::MissingVersion,
    ];

    /// The stable identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            LintCode::Malformed => "malformed",
            LintCode::MissingAud => "missing-aud",
            LintCode::MissingSub => "missing-sub",
            LintCode::WildcardWithoutLike => "wildcard-without-like",
            LintCode::KeyPrefix => "key-prefix",
            LintCode::ProviderMismatch => "provider-mismatch",
            LintCode::UnsupportedClaim => "unsupported-claim",
            LintCode::ForAllValuesSingleValued => "for-all-values-single-valued",
            LintCode::ProvidersAnded => "providers-anded",
            LintCode::NamespaceWildcard => "namespace-wildcard",
            LintCode::PrincipalWildcard => "principal-wildcard",
            LintCode::NotPrincipal => "not-principal",
            LintCode::WrongAction => "wrong-action",
            LintCode::SizeQuota => "size-quota",
            LintCode::SubFormat => "sub-format",
            LintCode::NullIfExists => "null-if-exists",
            LintCode::DuplicateKeyCase => "duplicate-key-case",
            LintCode::MissingVersion => "missing-version",
        }
    }
}

impl fmt::Display for LintCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for LintCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl Serialize for Severity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Which statement a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StatementRef {
    /// Its index in the policy.
    pub index: usize,
    /// Its `Sid`, if any.
    pub sid: Option<String>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// The stable code.
    pub code: LintCode,
    /// How bad it is.
    pub severity: Severity,
    /// The statement, or `None` for the whole document.
    pub statement: Option<StatementRef>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

/// What the linter knows beyond the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LintOptions {
    /// The account's trust policy length quota, in non-whitespace characters.
    pub size_quota: usize,
    /// The provider the policy is meant for (the cluster's issuer without `https://`), if
    /// known: statements trusting another provider are reported.
    pub provider: Option<ProviderUrl>,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions {
            size_quota: DEFAULT_SIZE_QUOTA,
            provider: None,
        }
    }
}

impl LintOptions {
    /// Lints for the provider of `provider`.
    #[must_use]
    pub fn with_provider(mut self, provider: ProviderUrl) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Measures against another quota (it can be raised to 8,192 through Service Quotas).
    #[must_use]
    pub fn with_size_quota(mut self, quota: usize) -> Self {
        self.size_quota = quota;
        self
    }
}

/// The claims STS exposes as condition keys for a generic OIDC provider.
const EXPOSED_CLAIMS: [&str; 4] = ["sub", "aud", "amr", "azp"];
/// Exposed claims with a single value.
const SINGLE_VALUED_CLAIMS: [&str; 3] = ["sub", "aud", "azp"];
const SA_PREFIX: &str = "system:serviceaccount:";

/// Lints a policy document, reporting a document IAM refuses as a `malformed` finding (or
/// `key-prefix` for `https://` in a condition key) instead of failing.
///
/// ```
/// use irsa::policy::{LintCode, LintOptions, lint_document};
///
/// let findings = lint_document(br#"{"Version":"2012-10-17","Statement":{"Effect":"Allow",
///   "Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.example.com"},
///   "Action":"sts:AssumeRoleWithWebIdentity",
///   "Condition":{"StringEquals":{"oidc.example.com:sub":"system:serviceaccount:ns:*"}}}}"#,
///   &LintOptions::default());
/// let codes: Vec<_> = findings.iter().map(|f| f.code).collect();
/// assert_eq!(codes, [LintCode::MissingAud, LintCode::WildcardWithoutLike]);
/// ```
pub fn lint_document(document: &[u8], options: &LintOptions) -> Vec<Finding> {
    match TrustPolicy::parse(document) {
        Ok(policy) => lint(&policy, options),
        Err(e) => {
            let iam = e
                .iam_message()
                .map(|m| format!(" (IAM: \"{m}\")"))
                .unwrap_or_default();
            let (code, fix) = match e.kind() {
                MalformedKind::SchemeInConditionKey { suggestion, .. } => (
                    LintCode::KeyPrefix,
                    format!("write the key as {suggestion:?}: the provider URL without https://"),
                ),
                _ => (
                    LintCode::Malformed,
                    "correct the document at the place named; CreateRole refuses it as it is"
                        .to_owned(),
                ),
            };
            let statement = e
                .location()
                .statement()
                .map(|index| StatementRef { index, sid: None });
            vec![Finding {
                code,
                severity: Severity::Error,
                statement,
                message: format!("{e}{iam}"),
                fix,
            }]
        }
    }
}

/// Lints a parsed policy. Findings come in order: the document, then each statement.
pub fn lint(policy: &TrustPolicy, options: &LintOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    if policy.size() > options.size_quota {
        out.push(Finding {
            code: LintCode::SizeQuota,
            severity: Severity::Error,
            statement: None,
            message: format!(
                "the policy has {} non-whitespace characters, over the quota of {}: CreateRole answers \"LimitExceeded: Cannot exceed quota for ACLSizePerRole: {}\"",
                policy.size(),
                options.size_quota,
                options.size_quota
            ),
            fix: "merge service accounts of one cluster into one statement (a list of :sub values, or a namespace pattern), split clusters across roles, or raise the quota (up to 8,192) through Service Quotas".to_owned(),
        });
    }
    if policy.version() != Some(Version::Current) {
        out.push(Finding {
            code: LintCode::MissingVersion,
            severity: Severity::Warning,
            statement: None,
            message: "the policy does not declare Version 2012-10-17: policy variables such as ${aws:…} are then matched as literal text".to_owned(),
            fix: "add \"Version\": \"2012-10-17\" before Statement".to_owned(),
        });
    }
    for statement in policy.statements() {
        lint_statement(statement, options, &mut out);
    }
    out
}

struct Sink<'a> {
    statement: &'a Statement,
    out: &'a mut Vec<Finding>,
}

impl Sink<'_> {
    fn push(&mut self, code: LintCode, severity: Severity, message: String, fix: String) {
        self.out.push(Finding {
            code,
            severity,
            statement: Some(StatementRef {
                index: self.statement.index(),
                sid: self.statement.sid().map(str::to_owned),
            }),
            message,
            fix,
        });
    }
}

/// The provider part and the claim of a key: everything before and after the last `:`.
fn split_key(key: &str) -> (&str, &str) {
    key.rsplit_once(':').unwrap_or(("", key))
}

/// Whether a key prefix names an identity provider (rather than `aws`, `sts`, …).
fn is_provider_prefix(prefix: &str) -> bool {
    prefix.contains(['.', '/'])
}

fn lint_statement(statement: &Statement, options: &LintOptions, out: &mut Vec<Finding>) {
    let mut sink = Sink { statement, out };
    let principal = statement.principal();
    let allow = statement.effect() == Effect::Allow;
    if principal.is_negated() {
        sink.push(
            LintCode::NotPrincipal,
            Severity::Error,
            "role trust policies do not support NotPrincipal".to_owned(),
            "use Principal with the OIDC provider: {\"Federated\": \"arn:aws:iam::ACCOUNT:oidc-provider/PROVIDER-URL\"}".to_owned(),
        );
    } else if allow && principal.names_everyone() {
        sink.push(
            LintCode::PrincipalWildcard,
            Severity::Error,
            "Principal \"*\" lets any principal assume the role, limited only by the conditions; role trust policies do not support it".to_owned(),
            "name the OIDC provider: \"Principal\": {\"Federated\": \"arn:aws:iam::ACCOUNT:oidc-provider/PROVIDER-URL\"}".to_owned(),
        );
    }
    let providers: Vec<&str> = if principal.is_negated() {
        Vec::new()
    } else {
        principal
            .oidc_providers()
            .map(|p| p.provider_url())
            .collect()
    };
    if let Some(expected) = &options.provider
        && !providers.is_empty()
        && !providers.contains(&expected.as_str())
    {
        let trusted = providers.join(", ");
        let slash = providers
            .iter()
            .any(|p| p.trim_end_matches('/') == expected.as_str().trim_end_matches('/'));
        sink.push(
            LintCode::ProviderMismatch,
            Severity::Error,
            format!(
                "the statement trusts the provider {trusted}, not the cluster's provider {}{}: STS compares them exactly",
                expected.as_str(),
                if slash { " (they differ by a trailing slash)" } else { "" }
            ),
            format!(
                "trust arn:…:oidc-provider/{} and prefix its condition keys with {}:",
                expected.as_str(),
                expected.as_str()
            ),
        );
    }
    lint_action(&mut sink);
    if allow && !providers.is_empty() {
        for claim in ["sub", "aud"] {
            lint_pinned(&mut sink, &providers, claim);
        }
    }
    lint_conditions(&mut sink, &providers, allow);
}

/// Whether `condition` pins the provider's `claim` to the values it lists: a positive string
/// comparison (`StringEquals`, `StringEqualsIgnoreCase`, `StringLike`) of one of the
/// statement's own providers' key, which a present value must match.
///
/// Counted: the `IfExists` suffix (it differs only when the key is missing, and STS refuses
/// tokens without `sub` or `aud` before the policy is evaluated) and the `ForAnyValue:` qualifier
/// (false when the key is missing or empty, and on a single value the same as the plain
/// operator). Not counted: negated operators (they admit every other value), `Null` (it
/// tests presence only), `ForAllValues:` (true for a missing key and for the empty string:
/// overly permissive, as Access Analyzer warns), other families, and keys of another
/// provider or with an ARN prefix (never in the request).
fn pins_claim(condition: &Condition, providers: &[&str], claim: &str) -> bool {
    let op = condition.operator();
    let (prefix, key_claim) = split_key(condition.key_lower());
    key_claim == claim
        && matches!(
            op.base,
            BaseOperator::StringEquals
                | BaseOperator::StringEqualsIgnoreCase
                | BaseOperator::StringLike
        )
        && op.qualifier != Some(SetQualifier::ForAllValues)
        && providers.iter().any(|p| p.to_lowercase() == prefix)
}

/// Why a condition on `claim` does not pin it (see [`pins_claim`]).
fn why_not_pinned(condition: &Condition, providers: &[&str], claim: &str) -> String {
    let op = condition.operator();
    let key = condition.key();
    let (prefix, _) = split_key(condition.key_lower());
    let why = if !providers.iter().any(|p| p.to_lowercase() == prefix) {
        format!(
            "is not on \"{}:{claim}\", the key of the statement's provider",
            providers.first().copied().unwrap_or("PROVIDER-URL")
        )
    } else if op.base == BaseOperator::Null {
        "tests only whether the key is present".to_owned()
    } else if op.base.is_negated() {
        "admits every value but the ones listed".to_owned()
    } else if op.qualifier == Some(SetQualifier::ForAllValues) {
        "is true when the key is missing or empty".to_owned()
    } else {
        "does not compare it as a string".to_owned()
    };
    format!("{op} on {key:?} {why}")
}

/// `missing-sub` / `missing-aud`: an `Allow` for an OIDC provider in which no condition pins
/// the provider's `sub` (`aud`) to values.
fn lint_pinned(sink: &mut Sink<'_>, providers: &[&str], claim: &str) {
    let conditions = sink.statement.conditions();
    if conditions.iter().any(|c| pins_claim(c, providers, claim)) {
        return;
    }
    let (code, severity, consequence, value) = if claim == "sub" {
        (
            LintCode::MissingSub,
            Severity::Error,
            "every service account of the cluster can assume the role",
            "system:serviceaccount:NAMESPACE:NAME",
        )
    } else {
        (
            LintCode::MissingAud,
            Severity::Warning,
            "a token issued for any of the provider's client IDs is accepted",
            "sts.amazonaws.com",
        )
    };
    let message = match conditions
        .iter()
        .find(|c| split_key(c.key_lower()).1 == claim)
    {
        None => format!("no condition on :{claim}: {consequence}"),
        Some(other) => format!(
            "no condition restricts :{claim} to given values ({}): {consequence}",
            why_not_pinned(other, providers, claim)
        ),
    };
    sink.push(
        code,
        severity,
        message,
        format!(
            "add \"StringEquals\": {{\"{}:{claim}\": \"{value}\"}}",
            providers.first().copied().unwrap_or("PROVIDER-URL")
        ),
    );
}

/// The action a SAML provider principal assumes a role with.
const ASSUME_ROLE_WITH_SAML: &str = "sts:AssumeRoleWithSAML";

/// Whether a `Federated` principal is a SAML provider ARN. The parser accepts only domain
/// names, OIDC provider ARNs and SAML provider ARNs, so an ARN that is not an OIDC provider's
/// is a SAML provider's.
fn is_saml(entry: &PrincipalEntry) -> bool {
    entry.value().starts_with("arn:") && entry.oidc_provider().is_none()
}

/// `wrong-action`, for every `Federated` principal of a `Principal` element: an OIDC provider
/// ARN or a web-identity domain (`accounts.google.com`) needs `sts:AssumeRoleWithWebIdentity`,
/// a SAML provider ARN needs `sts:AssumeRoleWithSAML`.
fn lint_action(sink: &mut Sink<'_>) {
    let principal = sink.statement.principal();
    let list = match principal.principals() {
        Principals::Listed(list) if !principal.is_negated() => list,
        _ => return,
    };
    let federated = || list.iter().filter(|p| p.kind() == PrincipalType::Federated);
    let saml = federated().any(is_saml);
    let oidc = federated().any(|p| p.oidc_provider().is_some());
    let domains: Vec<&str> = federated()
        .filter(|p| !p.value().starts_with("arn:"))
        .map(PrincipalEntry::value)
        .collect();
    let web = oidc || !domains.is_empty();
    if !(web || saml) {
        return;
    }
    let action = sink.statement.action();
    let element = if action.is_negated() {
        "NotAction"
    } else {
        "Action"
    };
    let mut refused = false;
    if web && !action.matches(ASSUME_ROLE_WITH_WEB_IDENTITY) {
        let named = if oidc {
            "an OIDC provider".to_owned()
        } else {
            format!("the web-identity provider {}", domains.join(", "))
        };
        sink.push(
            LintCode::WrongAction,
            Severity::Error,
            format!(
                "the statement names {named} but its {element} does not cover {ASSUME_ROLE_WITH_WEB_IDENTITY}: it never applies to a web-identity request"
            ),
            format!("use \"Action\": \"{ASSUME_ROLE_WITH_WEB_IDENTITY}\""),
        );
        refused = true;
    }
    if saml && !action.matches(ASSUME_ROLE_WITH_SAML) {
        sink.push(
            LintCode::WrongAction,
            Severity::Error,
            format!(
                "the statement names a SAML provider but its {element} does not cover {ASSUME_ROLE_WITH_SAML}: it never applies to a SAML request"
            ),
            format!("use \"Action\": \"{ASSUME_ROLE_WITH_SAML}\""),
        );
        refused = true;
    }
    if refused || action.is_negated() {
        return;
    }
    let only_federated = list.iter().all(|p| p.kind() == PrincipalType::Federated);
    let (kind, right) = match (web, saml) {
        (true, false) => (
            "an OIDC provider principal",
            "an OIDC provider assumes roles with sts:AssumeRoleWithWebIdentity",
        ),
        (false, true) => (
            "a SAML provider principal",
            "a SAML provider assumes roles with sts:AssumeRoleWithSAML",
        ),
        _ => (
            "OIDC and SAML provider principals",
            "an OIDC provider assumes roles with sts:AssumeRoleWithWebIdentity, a SAML provider with sts:AssumeRoleWithSAML",
        ),
    };
    for pattern in action.actions() {
        let name = pattern.as_str();
        // sts:AssumeRole is right for AWS and Service principals listed beside.
        let wrong = (name.eq_ignore_ascii_case("sts:AssumeRole") && only_federated)
            || (name.eq_ignore_ascii_case(ASSUME_ROLE_WITH_SAML) && !saml)
            || (name.eq_ignore_ascii_case(ASSUME_ROLE_WITH_WEB_IDENTITY) && !web);
        if wrong {
            sink.push(
                LintCode::WrongAction,
                Severity::Warning,
                format!("{name} is invalid with {kind}"),
                format!("remove {name}: {right}"),
            );
        }
    }
}

fn lint_conditions(sink: &mut Sink<'_>, providers: &[&str], allow: bool) {
    let conditions = sink.statement.conditions();
    let mut key_providers: Vec<String> = Vec::new();
    // The first condition of each operator and lower-cased key, to find keys repeated in
    // another case in one pass.
    let mut first_of: HashMap<(Operator, &str), &Condition> = HashMap::new();
    for condition in conditions {
        let op = condition.operator();
        let key = condition.key();
        let (prefix, claim) = split_key(key);
        let claim_lower = claim.to_lowercase();
        if op.base == BaseOperator::Null && op.if_exists {
            sink.push(
                LintCode::NullIfExists,
                Severity::Error,
                format!("{op} on {key}: the Null operator cannot take the IfExists suffix"),
                "use Null alone: it already tests whether the key is present".to_owned(),
            );
        }
        let first = *first_of
            .entry((op, condition.key_lower()))
            .or_insert(condition);
        if let Some(other) = Some(first).filter(|c| c.key() != key) {
            sink.push(
                LintCode::DuplicateKeyCase,
                Severity::Error,
                format!(
                    "the key {:?} appears again as {key:?} under {op}, in different case: key names are case-insensitive, so both conditions apply",
                    other.key()
                ),
                "keep one of them, with every value it should allow".to_owned(),
            );
        }
        lint_wildcards(sink, condition);
        if prefix.starts_with("arn:") {
            let url = prefix
                .split_once("oidc-provider/")
                .map_or(prefix, |(_, url)| url);
            sink.push(
                LintCode::KeyPrefix,
                Severity::Error,
                format!("the condition key {key:?} is prefixed with an ARN: STS names the keys after the provider URL, so this key is never in the request"),
                format!("write the key as \"{url}:{claim}\""),
            );
            continue;
        }
        if !is_provider_prefix(prefix) {
            continue;
        }
        let prefix_lower = prefix.to_lowercase();
        // A prefix differing only by a trailing slash is a provider-mismatch, not a second
        // provider.
        let provider_name = prefix_lower.trim_end_matches('/').to_owned();
        if !key_providers.contains(&provider_name) {
            key_providers.push(provider_name);
        }
        let own = providers.iter().any(|p| p.to_lowercase() == prefix_lower);
        if !providers.is_empty() && !own {
            let slash = providers.iter().find(|p| {
                p.trim_end_matches('/').to_lowercase() == prefix_lower.trim_end_matches('/')
            });
            let fix_prefix = slash.or(providers.first()).copied().unwrap_or_default();
            sink.push(
                LintCode::ProviderMismatch,
                Severity::Error,
                match slash {
                    Some(p) => format!("the key prefix {prefix:?} differs from the Federated provider {p:?} by a trailing slash: the key is never in the request"),
                    None => format!("the key prefix {prefix:?} is not the statement's Federated provider ({}): the key is never in the request", providers.join(", ")),
                },
                format!("write the key as \"{fix_prefix}:{claim}\""),
            );
        }
        if own {
            lint_claim(sink, condition, &claim_lower, allow);
        }
    }
    if key_providers.len() > 1 {
        sink.push(
            LintCode::ProvidersAnded,
            Severity::Error,
            format!(
                "the statement has condition keys of {} providers ({}); conditions are ANDed and a token comes from one provider, so the statement never applies",
                key_providers.len(),
                key_providers.join(", ")
            ),
            "write one statement per provider (cluster), each with its own Federated principal and keys".to_owned(),
        );
    }
}

fn lint_wildcards(sink: &mut Sink<'_>, condition: &Condition) {
    let op = condition.operator();
    if op.base.family() != Family::String || op.base.has_wildcards() {
        return;
    }
    let escaped = |v: &str| v.replace("${*}", "").replace("${?}", "");
    if let Some(value) = condition
        .values()
        .iter()
        .find(|v| escaped(v).contains(['*', '?']))
    {
        let like = if op.base.is_negated() {
            "StringNotLike"
        } else {
            "StringLike"
        };
        sink.push(
            LintCode::WildcardWithoutLike,
            Severity::Error,
            format!(
                "{value:?} under {op} on {}: * and ? are literal characters there, so the value matches only itself",
                condition.key()
            ),
            format!("use {like} for a pattern"),
        );
    }
}

fn lint_claim(sink: &mut Sink<'_>, condition: &Condition, claim: &str, allow: bool) {
    let op = condition.operator();
    let key = condition.key();
    if !EXPOSED_CLAIMS.contains(&claim) {
        let fix = if claim.starts_with("kubernetes.io") || claim == "namespace" {
            let (prefix, _) = split_key(key);
            format!(
                "restrict the namespace through :sub: \"StringLike\": {{\"{prefix}:sub\": \"system:serviceaccount:NAMESPACE:*\"}}"
            )
        } else {
            "condition only on :sub and :aud (and :amr, :azp if the tokens have them)".to_owned()
        };
        sink.push(
            LintCode::UnsupportedClaim,
            Severity::Error,
            format!("STS exposes only sub, aud, amr and azp of a generic OIDC provider's tokens as condition keys: {key:?} is never in the request, so {op} on it is {}", missing_outcome(op)),
            fix,
        );
        return;
    }
    if op.qualifier == Some(SetQualifier::ForAllValues) && SINGLE_VALUED_CLAIMS.contains(&claim) {
        sink.push(
            LintCode::ForAllValuesSingleValued,
            Severity::Warning,
            format!("ForAllValues: on the single-valued key {key:?}: it is true whenever the key is missing, which is overly permissive"),
            format!("remove ForAllValues: and use {}{}", op.base, if op.if_exists { "IfExists" } else { "" }),
        );
    }
    if claim == "sub" && op.base.family() == Family::String && !op.base.is_negated() {
        lint_subjects(sink, condition, allow);
    }
}

fn missing_outcome(op: Operator) -> &'static str {
    if op.if_exists
        || op.qualifier == Some(SetQualifier::ForAllValues)
        || op.base == BaseOperator::Null
    {
        "decided without the claim (true for IfExists and ForAllValues: a grant to anyone)"
    } else if op.base.is_negated() && op.qualifier.is_none() {
        "always true"
    } else {
        "always false: nobody can assume the role through this statement"
    }
}

fn lint_subjects(sink: &mut Sink<'_>, condition: &Condition, allow: bool) {
    let like = condition.operator().base.has_wildcards();
    let key = condition.key().to_owned();
    for value in condition.values() {
        let typo = value.starts_with("system:serviceaccounts:");
        let bad_format = if like {
            typo || value.contains(char::is_whitespace)
                || !(value.starts_with(SA_PREFIX) || value.starts_with(['*', '?']))
        } else {
            !value.contains(['*', '?']) && Subject::parse(value).is_err()
        };
        if bad_format {
            let hint = if typo {
                "system:serviceaccounts:NS is a Kubernetes group, not a subject; "
            } else {
                ""
            };
            sink.push(
                LintCode::SubFormat,
                Severity::Error,
                format!("{value:?} cannot be the subject of a service-account token: {hint}tokens carry system:serviceaccount:NAMESPACE:NAME (lowercase DNS names)"),
                format!("use \"{SA_PREFIX}NAMESPACE:NAME\" for {key}"),
            );
            continue;
        }
        if !(like && allow) {
            continue;
        }
        let namespace_wild = match value.strip_prefix(SA_PREFIX) {
            Some(rest) => match rest.split_once(':') {
                Some((namespace, _)) => namespace.contains(['*', '?']),
                None => rest.contains(['*', '?']),
            },
            None => value.contains(['*', '?']),
        };
        if namespace_wild {
            sink.push(
                LintCode::NamespaceWildcard,
                Severity::Warning,
                format!("{value:?}: the wildcard covers the namespace, so a matching service account in any namespace can assume the role, including namespaces created later"),
                format!("name the namespace: \"{SA_PREFIX}NAMESPACE:NAME\" or \"{SA_PREFIX}NAMESPACE:*\""),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `{a, b}` with the keys under one operator merged: `{"Op": {k1: v1, k2: v2}}`.
    fn merge(a: &str, b: &str) -> String {
        let mut merged = serde_json::Map::new();
        for part in [a, b] {
            let part: serde_json::Value = serde_json::from_str(&format!("{{{part}}}")).unwrap();
            for (op, keys) in part.as_object().unwrap() {
                let entry = merged
                    .entry(op.clone())
                    .or_insert_with(|| serde_json::json!({}));
                for (key, value) in keys.as_object().unwrap() {
                    entry[key] = value.clone();
                }
            }
        }
        serde_json::Value::Object(merged).to_string()
    }

    fn codes(condition: &str) -> Vec<LintCode> {
        let policy: TrustPolicy = format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow",
              "Principal":{{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.example.com"}},
              "Action":"sts:AssumeRoleWithWebIdentity","Condition":{condition}}}}}"#
        )
        .parse()
        .unwrap_or_else(|e| panic!("{condition}: {e}"));
        lint(&policy, &LintOptions::default())
            .into_iter()
            .map(|f| f.code)
            .collect()
    }

    #[test]
    fn only_a_positive_string_comparison_of_the_own_key_pins_sub_and_aud() {
        let aud = r#""StringEquals":{"oidc.example.com:aud":"sts.amazonaws.com"}"#;
        // Counted: StringEquals, StringLike, StringEqualsIgnoreCase, with or without IfExists
        // (STS refuses tokens without sub or aud), with ForAnyValue: (false when missing);
        // key names in any case.
        for sub in [
            r#""StringEquals":{"oidc.example.com:sub":"system:serviceaccount:ns:app"}"#,
            r#""StringLike":{"oidc.example.com:sub":"system:serviceaccount:ns:*"}"#,
            r#""StringEqualsIgnoreCase":{"oidc.example.com:sub":"system:serviceaccount:ns:app"}"#,
            r#""StringEqualsIfExists":{"oidc.example.com:sub":"system:serviceaccount:ns:app"}"#,
            r#""StringLikeIfExists":{"oidc.example.com:sub":"system:serviceaccount:ns:*"}"#,
            r#""ForAnyValue:StringEquals":{"oidc.example.com:sub":"system:serviceaccount:ns:app"}"#,
            r#""StringEquals":{"OIDC.Example.com:SUB":"system:serviceaccount:ns:app"}"#,
        ] {
            assert_eq!(codes(&merge(aud, sub)), [], "{sub}");
        }
        // Not counted.
        for sub in [
            r#""StringNotEquals":{"oidc.example.com:sub":"system:serviceaccount:ns:app"}"#,
            r#""StringNotLike":{"oidc.example.com:sub":"system:serviceaccount:kube-system:*"}"#,
            r#""StringNotEqualsIgnoreCase":{"oidc.example.com:sub":"x"}"#,
            r#""Null":{"oidc.example.com:sub":"false"}"#,
            r#""ForAllValues:StringLike":{"oidc.example.com:sub":"system:serviceaccount:ns:*"}"#,
            r#""ArnLike":{"oidc.example.com:sub":"*"}"#,
            r#""StringEquals":{"other.example.com:sub":"system:serviceaccount:ns:app"}"#,
            r#""StringEquals":{"oidc.example.com/:sub":"system:serviceaccount:ns:app"}"#,
        ] {
            let codes = codes(&merge(aud, sub));
            assert_eq!(
                codes.first(),
                Some(&LintCode::MissingSub),
                "{sub}: {codes:?}"
            );
            assert!(!codes.contains(&LintCode::MissingAud), "{sub}: {codes:?}");
        }
        let sub = r#""StringEquals":{"oidc.example.com:sub":"system:serviceaccount:ns:app"}"#;
        for aud in [
            r#""StringNotEquals":{"oidc.example.com:aud":"x"}"#,
            r#""Null":{"oidc.example.com:aud":"false"}"#,
            r#""ForAllValues:StringEquals":{"oidc.example.com:aud":"sts.amazonaws.com"}"#,
        ] {
            let codes = codes(&merge(sub, aud));
            assert_eq!(
                codes.first(),
                Some(&LintCode::MissingAud),
                "{aud}: {codes:?}"
            );
        }
    }

    #[test]
    fn every_federated_principal_needs_its_action() {
        let findings = |principal: &str, action: &str| -> Vec<(LintCode, Severity)> {
            let policy: TrustPolicy = format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Deny",
                  "Principal":{principal},"Action":{action}}}}}"#
            )
            .parse()
            .unwrap_or_else(|e| panic!("{principal} {action}: {e}"));
            lint(&policy, &LintOptions::default())
                .into_iter()
                .map(|f| (f.code, f.severity))
                .collect()
        };
        let error = [(LintCode::WrongAction, Severity::Error)];
        let warning = [(LintCode::WrongAction, Severity::Warning)];
        let google = r#"{"Federated":"accounts.google.com"}"#;
        let saml = r#"{"Federated":"arn:aws:iam::111122223333:saml-provider/Okta"}"#;
        let oidc = r#"{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.example.com"}"#;
        assert_eq!(findings(google, r#""sts:AssumeRole""#), error);
        assert_eq!(findings(google, r#""sts:AssumeRoleWithSAML""#), error);
        assert_eq!(findings(google, r#""sts:AssumeRoleWithWebIdentity""#), []);
        assert_eq!(findings(google, r#""sts:*""#), []);
        assert_eq!(findings(saml, r#""sts:AssumeRoleWithWebIdentity""#), error);
        assert_eq!(findings(saml, r#""sts:AssumeRoleWithSAML""#), []);
        assert_eq!(
            findings(saml, r#"["sts:AssumeRoleWithSAML","sts:AssumeRole"]"#),
            warning
        );
        assert_eq!(
            findings(
                oidc,
                r#"["sts:AssumeRoleWithWebIdentity","STS:AssumeRoleWithSAML"]"#
            ),
            warning
        );
        assert_eq!(findings(oidc, r#""sts:TagSession""#), error);
        // NotAction covering the right action is fine; NotPrincipal is another finding.
        let not_action = |principal: &str, not_action: &str| -> Vec<LintCode> {
            let policy: TrustPolicy = format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Deny",
                  "Principal":{principal},"NotAction":"{not_action}"}}}}"#
            )
            .parse()
            .unwrap();
            lint(&policy, &LintOptions::default())
                .into_iter()
                .map(|f| f.code)
                .collect()
        };
        assert_eq!(not_action(saml, "sts:AssumeRoleWithWebIdentity"), []);
        assert_eq!(
            not_action(saml, "sts:AssumeRoleWithSAML"),
            [LintCode::WrongAction]
        );
        // sts:AssumeRole beside an AWS principal is for that principal.
        let beside = r#"{"AWS":"111122223333","Federated":"accounts.google.com"}"#;
        assert_eq!(
            findings(
                beside,
                r#"["sts:AssumeRole","sts:AssumeRoleWithWebIdentity"]"#
            ),
            []
        );
        assert_eq!(findings(beside, r#""sts:AssumeRole""#), error);
    }
}
