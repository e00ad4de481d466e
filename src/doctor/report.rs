//! What the doctor says: one check per stage, and STS's answer.

use serde::Serialize;

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// As it should be.
    Pass,
    /// Probably fine, but worth a look.
    Warn,
    /// Broken: STS will refuse, or the pod gets no credentials.
    Fail,
    /// Not checked (no input for it, or an earlier failure makes it moot).
    Skip,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Check {
    /// A stable name: `pod`, `token-file`, `token`, `discovery`, `jwks`, `provider`,
    /// `client-id`, `role`, `trust-policy`, `sts`.
    pub name: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// One line: what was found.
    pub summary: String,
    /// What was seen, line by line.
    pub evidence: Vec<String>,
    /// What to do, for a failure or a warning.
    pub fix: Option<String>,
}

impl Check {
    pub(super) fn new(name: &'static str, verdict: Verdict, summary: impl Into<String>) -> Check {
        Check {
            name,
            verdict,
            summary: summary.into(),
            evidence: Vec::new(),
            fix: None,
        }
    }

    pub(super) fn evidence(mut self, line: impl Into<String>) -> Check {
        self.evidence.push(line.into());
        self
    }

    pub(super) fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

/// STS's answer, predicted or observed: credentials, or an error code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Answer {
    /// Credentials.
    Credentials,
    /// An error.
    Error {
        /// The code, e.g. `AccessDenied`.
        code: String,
        /// The message.
        message: Option<String>,
    },
}

/// Every check, in order, and STS's predicted answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// The checks, in the order a request meets them.
    pub checks: Vec<Check>,
    /// What STS would answer, when enough was known to say.
    pub prediction: Option<Answer>,
}

impl Report {
    /// The first failed check.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.verdict == Verdict::Fail)
    }

    /// Whether no check failed.
    pub fn passed(&self) -> bool {
        self.first_failure().is_none()
    }
}

impl Check {
    pub(super) fn named(mut self, name: &'static str) -> Check {
        self.name = name;
        self
    }
}
