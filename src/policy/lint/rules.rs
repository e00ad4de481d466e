//! The rules: each statement's principal, action and conditions checked for the classic IRSA
//! mistakes, findings pushed in statement order.

use std::collections::HashMap;

use super::{Finding, LintCode, LintOptions, Severity, StatementRef};
use crate::policy::context::ASSUME_ROLE_WITH_WEB_IDENTITY;
use crate::policy::model::{
    Condition, Effect, PrincipalEntry, PrincipalType, Principals, Statement,
};
use crate::policy::operator::{BaseOperator, Family, Operator, SetQualifier};
use crate::policy::value;
use crate::token::{SUBJECT_PREFIX as SA_PREFIX, Subject};

/// The claims STS exposes as condition keys for a generic OIDC provider.
const EXPOSED_CLAIMS: [&str; 4] = ["sub", "aud", "amr", "azp"];
/// Exposed claims with a single value.
const SINGLE_VALUED_CLAIMS: [&str; 3] = ["sub", "aud", "azp"];

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

pub(super) fn lint_statement(statement: &Statement, options: &LintOptions, out: &mut Vec<Finding>) {
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
        lint_value_types(sink, condition);
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

/// Values the operator cannot read as its type (Access Analyzer's `TYPE_MISMATCH_*` warnings,
/// for the types it checks).
fn lint_value_types(sink: &mut Sink<'_>, condition: &Condition) {
    let op = condition.operator();
    let family = op.base.family();
    for raw in condition.values() {
        let Some(bad) = value::unreadable(family, raw) else {
            continue;
        };
        let effect = if op.base.is_negated() {
            "it never matches, so it excludes nothing"
        } else if op.if_exists || op.qualifier == Some(SetQualifier::ForAllValues) {
            "it never matches a value the request has (the condition holds only when the key is absent)"
        } else {
            "it never matches"
        };
        let analyzer = value::analyzer_code(family)
            .map(|code| format!(" (Access Analyzer: {code})"))
            .unwrap_or_default();
        sink.push(
            LintCode::DataTypeMismatch,
            Severity::Error,
            format!(
                "{} under {op} on {}: {effect}{analyzer}",
                bad.message,
                condition.key()
            ),
            bad.fix.to_owned(),
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
