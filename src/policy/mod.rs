//! Role trust policies: model, evaluation as IAM evaluates it, explanation, generator, linter
//! and the doctor.
//!
//! Everything here is pure: no I/O, no clock (the doctor takes `now`), no environment.

mod context;
mod eval;
mod matcher;
mod model;
mod operator;

pub use context::{ASSUME_ROLE_WITH_WEB_IDENTITY, ContextEntry, ContextValue, Request};
pub use eval::{ConditionExplanation, Decision, Evaluation, StatementExplanation};
pub use matcher::string_like;
pub use model::{
    ActionElement, ActionPattern, Condition, DEFAULT_SIZE_QUOTA, Effect, MAX_POLICY_BYTES,
    MalformedKind, MalformedPolicyDocument, PrincipalElement, PrincipalEntry, PrincipalType,
    Principals, Statement, TrustPolicy, Version, non_whitespace_len,
};
pub use operator::{BaseOperator, Family, Operator, SetQualifier, UnknownOperator};
