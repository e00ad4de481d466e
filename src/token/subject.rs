//! A token's subject as a service account: `system:serviceaccount:NAMESPACE:NAME`.

use std::fmt;

use super::claims::STS_MAX_SUBJECT_LEN;

/// A Kubernetes service-account subject, `system:serviceaccount:NAMESPACE:NAME`.
///
/// ```
/// use irsa::token::Subject;
///
/// let subject = Subject::parse("system:serviceaccount:payments:api")?;
/// assert_eq!((subject.namespace(), subject.name()), ("payments", "api"));
/// assert_eq!(Subject::new("payments", "api")?, subject);
/// assert!(!subject.exceeds_sts_limit());
/// # Ok::<(), irsa::token::SubjectError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject {
    raw: String,
    name_start: usize,
}

/// What every service account's subject starts with: `system:serviceaccount:NS:NAME`.
pub const SUBJECT_PREFIX: &str = "system:serviceaccount:";

impl Subject {
    /// Parses and validates a subject: a DNS-1123 label as namespace and a DNS-1123 subdomain
    /// as name, as Kubernetes validates them.
    pub fn parse(subject: &str) -> Result<Subject, SubjectError> {
        let rest = subject.strip_prefix(SUBJECT_PREFIX).ok_or_else(|| {
            SubjectError::NotServiceAccount {
                subject: subject.to_owned(),
            }
        })?;
        let (namespace, name) =
            rest.split_once(':')
                .ok_or_else(|| SubjectError::NotServiceAccount {
                    subject: subject.to_owned(),
                })?;
        Subject::new(namespace, name)
    }

    /// The subject of service account `name` in `namespace`.
    pub fn new(namespace: &str, name: &str) -> Result<Subject, SubjectError> {
        if !is_dns_label(namespace) {
            return Err(SubjectError::InvalidNamespace {
                namespace: namespace.to_owned(),
            });
        }
        if !is_dns_subdomain(name) {
            return Err(SubjectError::InvalidName {
                name: name.to_owned(),
            });
        }
        let raw = format!("{SUBJECT_PREFIX}{namespace}:{name}");
        Ok(Subject {
            name_start: raw.len() - name.len(),
            raw,
        })
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        self.raw
            .get(SUBJECT_PREFIX.len()..self.name_start - 1)
            .unwrap_or_default()
    }

    /// The service account's name.
    pub fn name(&self) -> &str {
        self.raw.get(self.name_start..).unwrap_or_default()
    }

    /// The subject as tokens carry it.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether the subject is longer than the 255 characters STS allows for
    /// `SubjectFromWebIdentityToken` (possible with long names; whether STS refuses such
    /// tokens is not documented).
    pub fn exceeds_sts_limit(&self) -> bool {
        self.raw.len() > STS_MAX_SUBJECT_LEN
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

fn is_dns_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn is_dns_subdomain(s: &str) -> bool {
    (1..=253).contains(&s.len())
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && label.starts_with(|c: char| c.is_ascii_alphanumeric())
                && label.ends_with(|c: char| c.is_ascii_alphanumeric())
        })
}

/// Why a subject is not a valid service-account subject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubjectError {
    /// It does not have the `system:serviceaccount:NAMESPACE:NAME` shape.
    #[error(
        "{subject:?} is not a service-account subject: expected system:serviceaccount:NAMESPACE:NAME"
    )]
    NotServiceAccount {
        /// The subject that was given.
        subject: String,
    },
    /// The namespace is not a DNS-1123 label.
    #[error(
        "invalid namespace {namespace:?}: 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit"
    )]
    InvalidNamespace {
        /// The namespace that was given.
        namespace: String,
    },
    /// The name is not a DNS-1123 subdomain.
    #[error(
        "invalid service account name {name:?}: up to 253 characters of dot-separated lowercase labels"
    )]
    InvalidName {
        /// The name that was given.
        name: String,
    },
}
