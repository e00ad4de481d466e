//! The policy parser: a JSON document read strictly where IAM is strict, into the model's types.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::malformed::{MalformedKind, MalformedPolicyDocument, PolicyLocation};
use super::matcher::{Pattern, wildcard_tokens};
use super::model::*;
use super::operator::{BaseOperator, Family, Operator};
use super::value::{self, IpBlock};
use crate::arn::{AccountId, OidcProviderArn, Partition};
use crate::json::{JsonError, parse_strict};

/// Parses a trust policy document as IAM's `CreateRole` would accept it.
pub(super) fn parse_document(document: &[u8]) -> Parsed<TrustPolicy> {
    let top = |kind| MalformedPolicyDocument::new(kind, PolicyLocation::document());
    if document.len() > MAX_POLICY_BYTES {
        return Err(top(MalformedKind::Json(JsonError::TooLarge {
            len: document.len(),
            limit: MAX_POLICY_BYTES,
        })));
    }
    let text =
        std::str::from_utf8(document).map_err(|_| top(MalformedKind::Json(JsonError::NotUtf8)))?;
    // Bytes below 0x80 are the ASCII characters; only the rest needs decoding.
    let ascii_ok = |b: &u8| *b >= 0x20 && *b < 0x80 || matches!(b, b'\t' | b'\n' | b'\r');
    if !document.iter().all(ascii_ok)
        && let Some(ch) = text.chars().find(|c| !allowed_char(*c))
    {
        return Err(top(MalformedKind::Character { ch }));
    }
    let map = parse_strict(document, MAX_POLICY_BYTES).map_err(|e| top(MalformedKind::Json(e)))?;
    let mut policy = parse_policy(&map)?;
    policy.size = non_whitespace_len(text);
    Ok(policy)
}

/// "Policy documents can contain only the following Unicode characters: horizontal tab
/// (U+0009), linefeed (U+000A), carriage return (U+000D), and characters in the range U+0020
/// to U+00FF."
fn allowed_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}')
}

type Parsed<T> = std::result::Result<T, MalformedPolicyDocument>;

fn malformed<T>(kind: MalformedKind, location: PolicyLocation) -> Parsed<T> {
    Err(MalformedPolicyDocument::new(kind, location))
}

fn parse_policy(map: &Map<String, Value>) -> Parsed<TrustPolicy> {
    let mut version = None;
    let mut id = None;
    let mut statements = None;
    for (name, value) in map {
        match name.as_str() {
            "Version" => {
                let v = string(value, &PolicyLocation::top("Version"))?;
                version = Some(match v {
                    "2012-10-17" => Version::Current,
                    "2008-10-17" => Version::Legacy,
                    _ => {
                        return malformed(
                            MalformedKind::Version {
                                version: v.to_owned(),
                            },
                            PolicyLocation::top("Version"),
                        );
                    }
                });
            }
            "Id" => id = Some(string(value, &PolicyLocation::top("Id"))?.to_owned()),
            "Statement" => statements = Some(value),
            _ => {
                return malformed(
                    MalformedKind::UnknownElement { name: name.clone() },
                    PolicyLocation::document(),
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
            PolicyLocation::document(),
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
                    PolicyLocation::in_statement(i),
                ),
            })
            .collect::<Parsed<_>>()?,
        _ => {
            return malformed(
                MalformedKind::WrongType {
                    expected: "an object or an array of objects",
                },
                PolicyLocation::top("Statement"),
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
                PolicyLocation::in_statement(statement.index).member("Sid"),
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

fn string<'v>(value: &'v Value, location: &PolicyLocation) -> Parsed<&'v str> {
    match value {
        Value::String(s) => {
            check_chars(s, location)?;
            Ok(s)
        }
        _ => malformed(
            MalformedKind::WrongType {
                expected: "a string",
            },
            location.clone(),
        ),
    }
}

/// Escapes can smuggle in what the raw text check cannot see.
fn check_chars(s: &str, location: &PolicyLocation) -> Parsed<()> {
    match s.chars().find(|c| !allowed_char(*c)) {
        Some(ch) => malformed(MalformedKind::Character { ch }, location.clone()),
        None => Ok(()),
    }
}

/// A string or an array of strings ("if the element takes an array but only one value is
/// included, the brackets are optional").
fn strings<'v>(value: &'v Value, location: &PolicyLocation) -> Parsed<Vec<&'v str>> {
    match value {
        Value::String(_) => Ok(vec![string(value, location)?]),
        Value::Array(list) => list.iter().map(|v| string(v, location)).collect(),
        _ => malformed(
            MalformedKind::WrongType {
                expected: "a string or an array of strings",
            },
            location.clone(),
        ),
    }
}

fn parse_statement(map: &Map<String, Value>, index: usize, variables: bool) -> Parsed<Statement> {
    let at = |element: &str| PolicyLocation::in_statement(index).member(element);
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
                        PolicyLocation::in_statement(index),
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
                        PolicyLocation::in_statement(index),
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
                    PolicyLocation::in_statement(index),
                );
            }
        }
    }
    let missing = |name, fix| {
        MalformedPolicyDocument::new(
            MalformedKind::MissingElement { name, fix },
            PolicyLocation::in_statement(index),
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

fn parse_principals(value: &Value, location: &PolicyLocation) -> Parsed<Principals> {
    let map = match value {
        Value::String(s) if s == "*" => return Ok(Principals::Everyone),
        Value::Object(map) => map,
        _ => {
            return malformed(
                MalformedKind::WrongType {
                    expected: "\"*\" or an object such as {\"Federated\": \"arn:…:oidc-provider/…\"}",
                },
                location.clone(),
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
                    location.clone(),
                );
            }
        };
        let here = location.member(name);
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
        return malformed(MalformedKind::NoPrincipals, location.clone());
    }
    Ok(Principals::Listed(list))
}

fn check_principal(
    kind: PrincipalType,
    value: &str,
    location: &PolicyLocation,
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
                location.clone(),
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
                    location.clone(),
                )
            }
        }
        PrincipalType::Service | PrincipalType::CanonicalUser => {
            if value.is_empty() {
                malformed(MalformedKind::EmptyPrincipal, location.clone())
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

fn parse_action(action: &str, location: &PolicyLocation) -> Parsed<ActionPattern> {
    let colons = action.matches(':').count();
    let vendor_ok = action.split(':').next().is_some_and(|v| !v.is_empty());
    if action != "*" && (colons != 1 || !vendor_ok) {
        return malformed(
            MalformedKind::Action {
                action: action.to_owned(),
                colons,
            },
            location.clone(),
        );
    }
    let toks = wildcard_tokens(&action.to_lowercase());
    Ok(ActionPattern {
        raw: action.to_owned(),
        toks,
    })
}

fn parse_conditions(
    value: &Value,
    location: &PolicyLocation,
    variables: bool,
) -> Parsed<Vec<Condition>> {
    let Value::Object(operators) = value else {
        return malformed(
            MalformedKind::WrongType {
                expected: "an object of operators, e.g. {\"StringEquals\": {\"KEY\": \"VALUE\"}}",
            },
            location.clone(),
        );
    };
    let mut out = Vec::new();
    for (name, keys) in operators {
        check_chars(name, location)?;
        let operator: Operator = name.parse().map_err(|e| {
            MalformedPolicyDocument::new(MalformedKind::Operator(e), location.clone())
        })?;
        let here = location.member(name);
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
            let values = condition_values(values, || here.key(key))?;
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

fn condition_values(value: &Value, location: impl Fn() -> PolicyLocation) -> Parsed<Vec<String>> {
    let one = |v: &Value| match v {
        Value::String(s) => match s.chars().find(|c| !allowed_char(*c)) {
            Some(ch) => malformed(MalformedKind::Character { ch }, location()),
            None => Ok(s.clone()),
        },
        // Decimal, as written in policies (`1e-7` would read as no number at all).
        Value::Number(n) => Ok(match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) => f.to_string(),
            _ => n.to_string(),
        }),
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
        Family::Numeric => Compiled::Number(value::parse_number(raw)),
        Family::Date => Compiled::Number(value::parse_date(raw)),
        Family::Binary => Compiled::Binary(value::parse_binary(raw)),
        Family::Ip => Compiled::Ip(IpBlock::parse(raw)),
        Family::Null => Compiled::Null(value::parse_bool(raw)),
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
            assert_eq!(err.location().to_string(), "Statement[0].Sid", "{bad}");
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
        assert_eq!(err.location().to_string(), "Statement[2].Sid");
        assert_eq!(err.location().statement(), Some(2));
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
