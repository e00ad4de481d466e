//! Condition operators: the base operator, the `…IfExists` suffix and the `ForAnyValue:` /
//! `ForAllValues:` qualifiers, parsed from names such as `ForAllValues:StringNotLikeIfExists`.

use std::fmt;

/// A base condition operator, without qualifier or `IfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BaseOperator {
    /// `StringEquals`: exact, case-sensitive.
    StringEquals,
    /// `StringNotEquals`.
    StringNotEquals,
    /// `StringEqualsIgnoreCase`: exact after simple lower-casing.
    StringEqualsIgnoreCase,
    /// `StringNotEqualsIgnoreCase`.
    StringNotEqualsIgnoreCase,
    /// `StringLike`: `*` any run of characters, `?` one character; case-sensitive.
    StringLike,
    /// `StringNotLike`.
    StringNotLike,
    /// `NumericEquals`.
    NumericEquals,
    /// `NumericNotEquals`.
    NumericNotEquals,
    /// `NumericLessThan`.
    NumericLessThan,
    /// `NumericLessThanEquals`.
    NumericLessThanEquals,
    /// `NumericGreaterThan`.
    NumericGreaterThan,
    /// `NumericGreaterThanEquals`.
    NumericGreaterThanEquals,
    /// `DateEquals`.
    DateEquals,
    /// `DateNotEquals`.
    DateNotEquals,
    /// `DateLessThan`.
    DateLessThan,
    /// `DateLessThanEquals`.
    DateLessThanEquals,
    /// `DateGreaterThan`.
    DateGreaterThan,
    /// `DateGreaterThanEquals`.
    DateGreaterThanEquals,
    /// `Bool`.
    Bool,
    /// `BinaryEquals`: base64 of the bytes.
    BinaryEquals,
    /// `IpAddress`: a CIDR block, or one address.
    IpAddress,
    /// `NotIpAddress`.
    NotIpAddress,
    /// `ArnEquals`: per ARN component, with `*` and `?` (the same as `ArnLike`).
    ArnEquals,
    /// `ArnLike`.
    ArnLike,
    /// `ArnNotEquals`.
    ArnNotEquals,
    /// `ArnNotLike`.
    ArnNotLike,
    /// `Null`: `"true"` when the key is absent, `"false"` when it is present.
    Null,
}

/// The family of a base operator: how its values are read and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Family {
    /// `String*`.
    String,
    /// `Numeric*`.
    Numeric,
    /// `Date*`.
    Date,
    /// `Bool`.
    Bool,
    /// `BinaryEquals`.
    Binary,
    /// `IpAddress`, `NotIpAddress`.
    Ip,
    /// `Arn*`.
    Arn,
    /// `Null`.
    Null,
}

/// How the values of one operator compare, once negation is set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparison {
    Equals,
    EqualsIgnoreCase,
    Like,
    Less,
    LessEquals,
    Greater,
    GreaterEquals,
}

const TABLE: [(&str, BaseOperator); 27] = [
    ("StringEquals", BaseOperator::StringEquals),
    ("StringNotEquals", BaseOperator::StringNotEquals),
    (
        "StringEqualsIgnoreCase",
        BaseOperator::StringEqualsIgnoreCase,
    ),
    (
        "StringNotEqualsIgnoreCase",
        BaseOperator::StringNotEqualsIgnoreCase,
    ),
    ("StringLike", BaseOperator::StringLike),
    ("StringNotLike", BaseOperator::StringNotLike),
    ("NumericEquals", BaseOperator::NumericEquals),
    ("NumericNotEquals", BaseOperator::NumericNotEquals),
    ("NumericLessThan", BaseOperator::NumericLessThan),
    ("NumericLessThanEquals", BaseOperator::NumericLessThanEquals),
    ("NumericGreaterThan", BaseOperator::NumericGreaterThan),
    (
        "NumericGreaterThanEquals",
        BaseOperator::NumericGreaterThanEquals,
    ),
    ("DateEquals", BaseOperator::DateEquals),
    ("DateNotEquals", BaseOperator::DateNotEquals),
    ("DateLessThan", BaseOperator::DateLessThan),
    ("DateLessThanEquals", BaseOperator::DateLessThanEquals),
    ("DateGreaterThan", BaseOperator::DateGreaterThan),
    ("DateGreaterThanEquals", BaseOperator::DateGreaterThanEquals),
    ("Bool", BaseOperator::Bool),
    ("BinaryEquals", BaseOperator::BinaryEquals),
    ("IpAddress", BaseOperator::IpAddress),
    ("NotIpAddress", BaseOperator::NotIpAddress),
    ("ArnEquals", BaseOperator::ArnEquals),
    ("ArnLike", BaseOperator::ArnLike),
    ("ArnNotEquals", BaseOperator::ArnNotEquals),
    ("ArnNotLike", BaseOperator::ArnNotLike),
    ("Null", BaseOperator::Null),
];

impl BaseOperator {
    /// The operator's name as IAM spells it.
    pub fn as_str(self) -> &'static str {
        TABLE
            .iter()
            .find(|(_, op)| *op == self)
            .map_or("", |(name, _)| name)
    }

    /// The operator's family.
    pub fn family(self) -> Family {
        use BaseOperator as B;
        match self {
            B::StringEquals
            | B::StringNotEquals
            | B::StringEqualsIgnoreCase
            | B::StringNotEqualsIgnoreCase
            | B::StringLike
            | B::StringNotLike => Family::String,
            B::NumericEquals
            | B::NumericNotEquals
            | B::NumericLessThan
            | B::NumericLessThanEquals
            | B::NumericGreaterThan
            | B::NumericGreaterThanEquals => Family::Numeric,
            B::DateEquals
            | B::DateNotEquals
            | B::DateLessThan
            | B::DateLessThanEquals
            | B::DateGreaterThan
            | B::DateGreaterThanEquals => Family::Date,
            B::Bool => Family::Bool,
            B::BinaryEquals => Family::Binary,
            B::IpAddress | B::NotIpAddress => Family::Ip,
            B::ArnEquals | B::ArnLike | B::ArnNotEquals | B::ArnNotLike => Family::Arn,
            B::Null => Family::Null,
        }
    }

    /// Whether the operator is a negation ("the key must *not* match"): with the key missing
    /// such a condition is true, and several values are combined as NOR.
    pub fn is_negated(self) -> bool {
        use BaseOperator as B;
        matches!(
            self,
            B::StringNotEquals
                | B::StringNotEqualsIgnoreCase
                | B::StringNotLike
                | B::NumericNotEquals
                | B::DateNotEquals
                | B::NotIpAddress
                | B::ArnNotEquals
                | B::ArnNotLike
        )
    }

    /// Whether `*` and `?` in the policy's values are wildcards (`StringLike`, `StringNotLike`
    /// and the four `Arn` operators).
    pub fn has_wildcards(self) -> bool {
        use BaseOperator as B;
        matches!(
            self,
            B::StringLike
                | B::StringNotLike
                | B::ArnEquals
                | B::ArnLike
                | B::ArnNotEquals
                | B::ArnNotLike
        )
    }

    /// Whether policy variables (`${…}`) are substituted in the values (string, ARN and
    /// `Bool` operators, as the IAM operator table says).
    pub fn takes_variables(self) -> bool {
        matches!(self.family(), Family::String | Family::Arn | Family::Bool)
    }

    pub(crate) fn comparison(self) -> Comparison {
        use BaseOperator as B;
        match self {
            B::StringEqualsIgnoreCase | B::StringNotEqualsIgnoreCase => {
                Comparison::EqualsIgnoreCase
            }
            B::StringLike
            | B::StringNotLike
            | B::ArnEquals
            | B::ArnLike
            | B::ArnNotEquals
            | B::ArnNotLike => Comparison::Like,
            B::NumericLessThan | B::DateLessThan => Comparison::Less,
            B::NumericLessThanEquals | B::DateLessThanEquals => Comparison::LessEquals,
            B::NumericGreaterThan | B::DateGreaterThan => Comparison::Greater,
            B::NumericGreaterThanEquals | B::DateGreaterThanEquals => Comparison::GreaterEquals,
            _ => Comparison::Equals,
        }
    }
}

impl fmt::Display for BaseOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set qualifier, for multivalued context keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SetQualifier {
    /// `ForAnyValue:`: true when at least one value of the request matches; false when the
    /// key is missing or empty.
    ForAnyValue,
    /// `ForAllValues:`: true when every value of the request matches; **true** when the key
    /// is missing or empty.
    ForAllValues,
}

impl SetQualifier {
    /// The qualifier as written, without the colon.
    pub fn as_str(self) -> &'static str {
        match self {
            SetQualifier::ForAnyValue => "ForAnyValue",
            SetQualifier::ForAllValues => "ForAllValues",
        }
    }
}

/// A complete condition operator: qualifier, base operator and `IfExists`.
///
/// ```
/// use irsa::policy::{BaseOperator, Operator, SetQualifier};
///
/// let op: Operator = "ForAllValues:StringNotLikeIfExists".parse()?;
/// assert_eq!(op.qualifier, Some(SetQualifier::ForAllValues));
/// assert_eq!(op.base, BaseOperator::StringNotLike);
/// assert!(op.if_exists);
/// assert_eq!(op.to_string(), "ForAllValues:StringNotLikeIfExists");
/// assert!("StringEqual".parse::<Operator>().is_err());
/// # Ok::<(), irsa::policy::UnknownOperator>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Operator {
    /// `ForAnyValue:` or `ForAllValues:`, if present.
    pub qualifier: Option<SetQualifier>,
    /// The base operator.
    pub base: BaseOperator,
    /// Whether the name ends with `IfExists`: the condition is true when the key is missing.
    pub if_exists: bool,
}

impl Operator {
    /// A plain operator: no qualifier, no `IfExists`.
    pub fn new(base: BaseOperator) -> Operator {
        Operator {
            qualifier: None,
            base,
            if_exists: false,
        }
    }
}

impl std::str::FromStr for Operator {
    type Err = UnknownOperator;

    /// Operator names are matched case-sensitively, as IAM documents them.
    fn from_str(name: &str) -> Result<Self, UnknownOperator> {
        let unknown = || UnknownOperator {
            name: name.to_owned(),
        };
        let (qualifier, rest) = match name.split_once(':') {
            None => (None, name),
            Some(("ForAnyValue", rest)) => (Some(SetQualifier::ForAnyValue), rest),
            Some(("ForAllValues", rest)) => (Some(SetQualifier::ForAllValues), rest),
            Some(_) => return Err(unknown()),
        };
        let (base_name, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let base = TABLE
            .iter()
            .find(|(n, _)| *n == base_name)
            .map(|(_, op)| *op)
            .ok_or_else(unknown)?;
        Ok(Operator {
            qualifier,
            base,
            if_exists,
        })
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(q) = self.qualifier {
            write!(f, "{}:", q.as_str())?;
        }
        f.write_str(self.base.as_str())?;
        if self.if_exists {
            f.write_str("IfExists")?;
        }
        Ok(())
    }
}

/// A condition operator name that IAM does not define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown condition operator {name:?}: expected e.g. StringEquals, StringLike, ArnLike, Null, optionally \
     prefixed by ForAnyValue: or ForAllValues: and suffixed by IfExists (names are case-sensitive)"
)]
#[non_exhaustive]
pub struct UnknownOperator {
    /// The name that was given.
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_base_operator_round_trips_with_every_decoration() {
        for (name, base) in TABLE {
            assert_eq!(base.as_str(), name);
            for prefix in ["", "ForAnyValue:", "ForAllValues:"] {
                for suffix in ["", "IfExists"] {
                    let full = format!("{prefix}{name}{suffix}");
                    let op: Operator = full.parse().unwrap();
                    assert_eq!(op.base, base);
                    assert_eq!(op.if_exists, !suffix.is_empty());
                    assert_eq!(op.to_string(), full);
                }
            }
        }
    }

    #[test]
    fn near_misses_are_unknown() {
        for name in [
            "stringequals",
            "StringEqual",
            "ForAnyValues:StringEquals",
            "ForAllValues:ForAnyValue:StringEquals",
            "StringEqualsIfExistsIfExists",
            "IfExists",
            "",
            "ForAnyValue:",
        ] {
            assert!(name.parse::<Operator>().is_err(), "{name}");
        }
    }

    #[test]
    fn negation_and_wildcards() {
        let negated = TABLE.iter().filter(|(_, op)| op.is_negated()).count();
        assert_eq!(negated, 8);
        assert!(BaseOperator::ArnEquals.has_wildcards());
        assert!(!BaseOperator::StringEquals.has_wildcards());
        assert!(BaseOperator::Bool.takes_variables());
        assert!(!BaseOperator::NumericEquals.takes_variables());
    }
}
