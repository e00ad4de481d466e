//! The trust-policy linter: the classic IRSA mistakes, each with a stable code, a severity,
//! the statement, a message and the fix. The codes are listed in the [module
//! documentation](super).

use std::fmt;

use serde::{Serialize, Serializer};

use super::malformed::MalformedKind;
use super::model::{DEFAULT_SIZE_QUOTA, TrustPolicy, Version};
use crate::oidc::ProviderUrl;

mod rules;

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
    /// `data-type-mismatch`: a condition value its operator cannot read as its type, which
    /// therefore never matches (for booleans, dates and IP ranges, Access Analyzer's
    /// `TYPE_MISMATCH_*` warnings).
    DataTypeMismatch,
}

impl LintCode {
    /// Every code, in documentation order.
    pub const ALL: [LintCode; 19] = [
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
        LintCode::DataTypeMismatch,
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
            LintCode::DataTypeMismatch => "data-type-mismatch",
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
    pub fn provider(mut self, provider: ProviderUrl) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Measures against another quota (it can be raised to 8,192 through Service Quotas).
    #[must_use]
    pub fn size_quota(mut self, quota: usize) -> Self {
        self.size_quota = quota;
        self
    }
}

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
        rules::lint_statement(statement, options, &mut out);
    }
    out
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
