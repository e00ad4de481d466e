//! Evaluation of a trust policy against a request, as IAM evaluates it, with an explanation of
//! every statement and condition.

use std::net::IpAddr;

use serde::{Serialize, Serializer};

use super::context::{ContextEntry, ContextValue, Request};
use super::matcher::{arn_like, eq_ignore_case, glob};
use super::model::{Compiled, Condition, Effect, Statement, TrustPolicy};
use super::operator::{BaseOperator, Comparison, Family, SetQualifier};
use super::value;

/// The result of evaluating a trust policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Decision {
    /// An `Allow` statement applies and no `Deny` does.
    Allow,
    /// A `Deny` statement applies: it wins over any `Allow`.
    ExplicitDeny,
    /// No statement applies: requests are denied by default.
    ImplicitDeny,
}

impl Decision {
    /// The decision as written in explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "Allow",
            Decision::ExplicitDeny => "ExplicitDeny",
            Decision::ImplicitDeny => "ImplicitDeny",
        }
    }
}

impl Serialize for Decision {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl Serialize for Effect {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The decision and why: every statement, with every condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Evaluation {
    /// The decision.
    pub decision: Decision,
    /// Every statement of the policy, in order.
    pub statements: Vec<StatementExplanation>,
}

impl Evaluation {
    /// The statements that decided: the applying `Deny` statements for an explicit deny, the
    /// applying `Allow` statements for an allow, none for an implicit deny.
    pub fn deciding(&self) -> impl Iterator<Item = &StatementExplanation> {
        let effect = match self.decision {
            Decision::Allow => Some(Effect::Allow),
            Decision::ExplicitDeny => Some(Effect::Deny),
            Decision::ImplicitDeny => None,
        };
        self.statements
            .iter()
            .filter(move |s| s.applies && Some(s.effect) == effect)
    }
}

/// How one statement fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StatementExplanation {
    /// The statement's index.
    pub index: usize,
    /// Its `Sid`.
    pub sid: Option<String>,
    /// Its effect.
    pub effect: Effect,
    /// Whether it applies: principal, action and every condition matched.
    pub applies: bool,
    /// Whether `Principal` (or `NotPrincipal`) covers the request's principal.
    pub principal: bool,
    /// Whether `Action` (or `NotAction`) covers the request's action.
    pub action: bool,
    /// Every condition, one per operator and key.
    pub conditions: Vec<ConditionExplanation>,
}

/// How one condition (one key under one operator) fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ConditionExplanation {
    /// The operator as written.
    pub operator: String,
    /// The key as written.
    pub key: String,
    /// The policy's values.
    #[serde(rename = "values")]
    pub policy_values: Vec<String>,
    /// The request's values for the key; `None` when the key is missing.
    #[serde(rename = "context")]
    pub context_values: Option<Vec<String>>,
    /// Whether the key is missing from the request, or under a set qualifier resolves to the
    /// empty set (an empty list or an empty string). For `Null` this is what the operator
    /// tests: whether the key is absent (an empty list counts as absent, an empty string does
    /// not), whatever the condition's outcome.
    pub missing: bool,
    /// Whether the condition is true.
    pub matched: bool,
    /// Which rule decided, when it is not a plain comparison, and caveats about the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The policy values the operator cannot read as its type, each said as what is wrong
    /// (`"2024-02-31" is not a date (February 2024 has 29 days)`): they never match, whatever
    /// the request has.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
}

impl ConditionExplanation {
    /// Whether no policy value can be read as the operator's type: the comparison is then
    /// decided by the policy alone (never a match), not by the request.
    pub fn policy_unreadable(&self) -> bool {
        !self.unreadable.is_empty() && self.unreadable.len() == self.policy_values.len()
    }
}

impl TrustPolicy {
    /// Evaluates the policy for `request` and explains every statement and condition.
    ///
    /// ```
    /// use irsa::policy::{Decision, Request, TrustPolicy};
    ///
    /// let policy: TrustPolicy = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow",
    ///   "Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.example.com"},
    ///   "Action":"sts:AssumeRoleWithWebIdentity",
    ///   "Condition":{"StringEquals":{"oidc.example.com:sub":"system:serviceaccount:ns:*"}}}}"#.parse()?;
    /// let request = Request::new(
    ///     "arn:aws:iam::111122223333:oidc-provider/oidc.example.com",
    ///     "sts:AssumeRoleWithWebIdentity",
    /// )
    /// .with_value("oidc.example.com:sub", "system:serviceaccount:ns:app");
    ///
    /// let evaluation = policy.evaluate(&request);
    /// // `*` is literal under StringEquals: the classic mistake.
    /// assert_eq!(evaluation.decision, Decision::ImplicitDeny);
    /// let condition = &evaluation.statements[0].conditions[0];
    /// assert!(!condition.matched && !condition.missing);
    ///
    /// // `Null` reports whether the key is absent.
    /// let null: TrustPolicy = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow",
    ///   "Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.example.com"},
    ///   "Action":"sts:AssumeRoleWithWebIdentity",
    ///   "Condition":{"Null":{"oidc.example.com:azp":"true"}}}}"#.parse()?;
    /// let condition = &null.evaluate(&request).statements[0].conditions[0];
    /// assert!(condition.matched && condition.missing);
    /// assert_eq!(policy.decide(&request), Decision::ImplicitDeny);
    /// # Ok::<(), irsa::policy::MalformedPolicyDocument>(())
    /// ```
    pub fn evaluate(&self, request: &Request) -> Evaluation {
        let statements: Vec<StatementExplanation> = self
            .statements()
            .iter()
            .map(|s| explain_statement(s, request))
            .collect();
        let applies = |effect| statements.iter().any(|s| s.applies && s.effect == effect);
        let decision = if applies(Effect::Deny) {
            Decision::ExplicitDeny
        } else if applies(Effect::Allow) {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        };
        Evaluation {
            decision,
            statements,
        }
    }

    /// The decision alone, stopping at the first applicable `Deny`: the same answer as
    /// [`TrustPolicy::evaluate`], without building the explanation.
    pub fn decide(&self, request: &Request) -> Decision {
        let mut allowed = false;
        for statement in self.statements() {
            if statement.effect() == Effect::Allow && allowed {
                continue;
            }
            let applies = statement.principal().matches(request.principal())
                && statement.action().matches_lower(request.action_lower())
                && statement
                    .conditions()
                    .iter()
                    .all(|c| evaluate_condition(c, request).matched);
            if applies {
                match statement.effect() {
                    Effect::Deny => return Decision::ExplicitDeny,
                    Effect::Allow => allowed = true,
                }
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }
}

fn explain_statement(statement: &Statement, request: &Request) -> StatementExplanation {
    let principal = statement.principal().matches(request.principal());
    let action = statement.action().matches_lower(request.action_lower());
    let conditions: Vec<ConditionExplanation> = statement
        .conditions()
        .iter()
        .map(|c| explain_condition(c, request))
        .collect();
    StatementExplanation {
        index: statement.index(),
        sid: statement.sid().map(str::to_owned),
        effect: statement.effect(),
        applies: principal && action && conditions.iter().all(|c| c.matched),
        principal,
        action,
        conditions,
    }
}

fn explain_condition(condition: &Condition, request: &Request) -> ConditionExplanation {
    let Outcome {
        matched,
        entry,
        rule,
        missing,
    } = evaluate_condition(condition, request);
    let family = condition.operator().base.family();
    let unreadable: Vec<String> = condition
        .values()
        .iter()
        .filter_map(|raw| value::unreadable(family, raw).map(|u| u.message))
        .collect();
    let mut notes: Vec<String> = Vec::new();
    notes.extend(rule.map(|rule| rule.text().to_owned()));
    if !unreadable.is_empty() {
        let op = condition.operator();
        let absent_decides = op.if_exists || op.qualifier == Some(SetQualifier::ForAllValues);
        let what = match (
            unreadable.len() == condition.values().len(),
            op.base.is_negated(),
        ) {
            (true, false) if absent_decides => {
                "the policy's value cannot be read as its type, so the condition holds only when the key is absent"
            }
            (true, false) => {
                "the policy's value cannot be read as its type, so the condition never matches, whatever the request has"
            }
            (true, true) => {
                "the policy's value cannot be read as its type, so the condition excludes nothing, whatever the request has"
            }
            (false, _) => "those values never match",
        };
        notes.push(format!("{}: {what}", unreadable.join("; ")));
    }
    notes.extend(entry.and_then(|e| e.note.clone()));
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    ConditionExplanation {
        operator: condition.operator().to_string(),
        key: condition.key().to_owned(),
        policy_values: condition.values().to_vec(),
        context_values: entry.map(|e| e.value.values().to_vec()),
        missing,
        matched,
        note,
        unreadable,
    }
}

/// The rule that decided a condition when it was not a comparison of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    MissingIfExists,
    MissingForAllValues,
    MissingForAnyValue,
    MissingNegated,
    Missing,
    Null,
    MultivaluedPlain,
}

impl Rule {
    fn text(self) -> &'static str {
        match self {
            Rule::MissingIfExists => {
                "the key is not in the request: …IfExists makes the condition true"
            }
            Rule::MissingForAllValues => {
                "the key is not in the request (or empty): ForAllValues is then true"
            }
            Rule::MissingForAnyValue => {
                "the key is not in the request (or empty): ForAnyValue is then false"
            }
            Rule::MissingNegated => {
                "the key is not in the request: a negated operator is then true"
            }
            Rule::Missing => "the key is not in the request: the condition is false",
            Rule::Null => "Null tests only whether the key is present",
            Rule::MultivaluedPlain => {
                "the key is multivalued: an operator without ForAnyValue: or ForAllValues: never matches it"
            }
        }
    }
}

/// How one condition fared, before it is explained.
struct Outcome<'r> {
    /// Whether the condition is true.
    matched: bool,
    /// The request's entry for the condition's key.
    entry: Option<&'r ContextEntry>,
    /// The rule that decided, when values were not compared.
    rule: Option<Rule>,
    /// Whether the key counts as missing (see [`ConditionExplanation::missing`]).
    missing: bool,
}

/// Whether the condition is true, and why.
fn evaluate_condition<'r>(condition: &Condition, request: &'r Request) -> Outcome<'r> {
    let op = condition.operator();
    let entry = request.entry(condition.key_lower());
    let outcome = |matched, rule, missing| Outcome {
        matched,
        entry,
        rule,
        missing,
    };

    if op.base == BaseOperator::Null {
        // Null tests presence: a key with an empty list of values is absent, a key whose value
        // is the empty string is present (it has a value). Qualifiers do not change Null.
        let absent =
            entry.is_none_or(|e| matches!(&e.value, ContextValue::Multi(v) if v.is_empty()));
        if absent && op.if_exists {
            return outcome(true, Some(Rule::MissingIfExists), true);
        }
        let matched = condition.compiled().iter().any(|v| match v {
            Compiled::Null(Some(want_absent)) => *want_absent == absent,
            _ => false,
        });
        return outcome(matched, Some(Rule::Null), absent);
    }

    // Under a set qualifier the condition is decided on the empty set "if there are no context
    // keys in the request, or if the key values resolve to a null data set, such as an empty
    // string": an empty list or the empty string. Without a qualifier the empty string is a
    // value like any other.
    let empty_set = op.qualifier.is_some()
        && entry.is_some_and(|e| match &e.value {
            ContextValue::Multi(v) => v.is_empty(),
            ContextValue::Single(v) => v.is_empty(),
        });
    let negated = op.base.is_negated();
    let Some(found) = entry.filter(|_| !empty_set) else {
        let (matched, rule) = if op.if_exists {
            (true, Rule::MissingIfExists)
        } else {
            match op.qualifier {
                Some(SetQualifier::ForAllValues) => (true, Rule::MissingForAllValues),
                Some(SetQualifier::ForAnyValue) => (false, Rule::MissingForAnyValue),
                None if negated => (true, Rule::MissingNegated),
                None => (false, Rule::Missing),
            }
        };
        return outcome(matched, Some(rule), true);
    };
    let any_match = |value: &str| {
        condition
            .compiled()
            .iter()
            .any(|p| value_matches(op.base, p, value, request))
    };
    let matched = match (op.qualifier, &found.value) {
        (None, ContextValue::Multi(_)) => {
            return outcome(false, Some(Rule::MultivaluedPlain), false);
        }
        (None, ContextValue::Single(v)) => any_match(v) != negated,
        (Some(SetQualifier::ForAnyValue), value) => {
            value.values().iter().any(|v| any_match(v) != negated)
        }
        (Some(SetQualifier::ForAllValues), value) => {
            value.values().iter().all(|v| any_match(v) != negated)
        }
    };
    outcome(matched, None, false)
}

/// Whether one request value matches one policy value, in the operator's positive sense.
fn value_matches(op: BaseOperator, policy: &Compiled, value: &str, request: &Request) -> bool {
    match policy {
        Compiled::Text(pattern) => match (op.family(), op.comparison()) {
            (Family::String, Comparison::Like) => pattern
                .resolve(request)
                .is_some_and(|toks| glob(&toks, value)),
            (Family::Arn, _) => pattern
                .resolve(request)
                .is_some_and(|toks| arn_like(&toks, value)),
            (Family::String, Comparison::EqualsIgnoreCase) => pattern
                .resolve_text(request)
                .is_some_and(|text| eq_ignore_case(&text, value)),
            (Family::Bool, _) => pattern.resolve_text(request).is_some_and(|text| {
                value::parse_bool(&text).is_some_and(|b| value::parse_bool(value) == Some(b))
            }),
            _ => pattern
                .resolve_text(request)
                .is_some_and(|text| text == value),
        },
        Compiled::Number(Some(want)) => {
            let got = if op.family() == Family::Date {
                value::parse_date(value)
            } else {
                value::parse_number(value)
            };
            got.is_some_and(|got| match op.comparison() {
                Comparison::Less => got < *want,
                Comparison::LessEquals => got <= *want,
                Comparison::Greater => got > *want,
                Comparison::GreaterEquals => got >= *want,
                _ => got == *want,
            })
        }
        Compiled::Binary(Some(want)) => value::parse_binary(value).is_some_and(|got| got == *want),
        Compiled::Ip(Some(block)) => value.parse::<IpAddr>().is_ok_and(|ip| block.contains(ip)),
        Compiled::Number(None)
        | Compiled::Binary(None)
        | Compiled::Ip(None)
        | Compiled::Null(_) => false,
    }
}
