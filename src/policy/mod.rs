//! Role trust policies for IRSA: the IAM policy model, evaluation exactly as IAM evaluates an
//! `AssumeRoleWithWebIdentity` request, the explanation of every statement and condition, a
//! least-privilege generator, a linter, and [`predict`], which predicts STS's answer.
//!
//! Everything here is pure: no I/O, no environment, and the clock is a parameter.
//!
//! ```
//! use irsa::policy::{ClusterGrant, Decision, DEFAULT_SIZE_QUOTA, LintOptions, Request, TrustPolicy, generate, lint};
//! use irsa::token::{Claims, Subject};
//!
//! let provider: irsa::arn::OidcProviderArn =
//!     "arn:aws:iam::111122223333:oidc-provider/oidc.example.com".parse()?;
//! let grant = ClusterGrant::namespace(provider.clone(), "payments")?;
//! let generated = generate(&[grant], DEFAULT_SIZE_QUOTA)?;
//! let policy: TrustPolicy = generated.json().parse()?;
//! assert!(lint(&policy, &LintOptions::default()).is_empty());
//!
//! let claims = Claims::from_json(br#"{"iss":"https://oidc.example.com","aud":["sts.amazonaws.com"],
//!     "sub":"system:serviceaccount:payments:api"}"#)?;
//! let request = Request::web_identity(&provider, &claims, &["sts.amazonaws.com"]);
//! assert_eq!(policy.evaluate(&request).decision, Decision::Allow);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Evaluation
//!
//! A statement applies when its principal, its action and every condition match; any
//! applying `Deny` gives [`Decision::ExplicitDeny`], else any applying `Allow` gives
//! [`Decision::Allow`], else [`Decision::ImplicitDeny`]. Operators are ANDed, keys under one
//! operator are ANDed, values of one key are ORed (NORed under a negated operator). A missing
//! key makes a condition false, except: negated operators (`StringNotEquals`, `ArnNotLike`, …)
//! are true, `…IfExists` is true, `ForAllValues:` is true, and `Null` tests exactly that.
//! Under `ForAllValues:` and `ForAnyValue:`, a key whose values "resolve to a null data set,
//! such as an empty string" (an empty list, or the empty string) counts as missing. The
//! explanation's `missing` flag says so per condition; for `Null` it says whether the key is
//! absent.
//!
//! The request for a token from a generic OIDC provider ([`Request::web_identity`]) has the
//! keys `PROVIDER-URL:sub`, `:aud`, `:amr` and `:azp` when the token has them, and
//! `aws:FederatedProvider`; nothing else, so a condition on a `kubernetes.io` claim is a
//! missing key.
//!
//! Decisions taken where IAM's documentation is silent:
//! - a plain operator on a multivalued key (`:amr`) never matches, whatever its polarity;
//! - `:aud` of a token with several audiences is the first one registered as a client ID
//!   (the explanation says so); `aws:FederatedProvider` is the provider's ARN;
//! - `*` and `?` never match a line feed; `?` is one Unicode scalar value; case folding is
//!   simple lower-casing without normalisation;
//! - a policy value that does not parse for its operator (a number, date, IP block, base64
//!   or Boolean) matches nothing, and so does a request value that does not parse;
//! - `ForAllValues:` with a negated operator and the key missing is true (the general rule,
//!   not the single contrary line of the 2026 wildcard table);
//! - a condition key with `://` is refused as IAM refuses `https://…:sub` ("Condition can
//!   contain only one colon."), while an ARN-prefixed key is accepted and never matches (as
//!   reported); keys without a `:` and unknown elements are refused; element, operator and
//!   effect names are case-sensitive;
//! - `NullIfExists` is accepted (true when the key is missing) and linted;
//! - under `ForAnyValue:` the empty string is the null data set too (false, even when the
//!   policy lists `""`), as it is under `ForAllValues:` (true); without a qualifier it is a
//!   value like any other, and `Null` counts it as present (an empty list as absent);
//! - `Sid` may contain only `A–Z`, `a–z` and `0–9` and must be unique (IAM refuses the
//!   document otherwise); Sids are compared exactly (`App` and `app` differ) and empty Sids
//!   are not compared;
//! - the size quota counts characters outside JSON whitespace, whitespace inside strings
//!   included.
//!
//! # Lint codes
//!
//! | code | severity | finding |
//! |---|---|---|
//! | `malformed` | error | IAM refuses the document (`MalformedPolicyDocument`, with IAM's message where known, e.g. a `Sid` that is not alphanumeric or not unique) |
//! | `missing-aud` | warning | an `Allow` for an OIDC provider in which no condition pins the provider's `:aud` (see below) |
//! | `missing-sub` | error | an `Allow` for an OIDC provider in which no condition pins the provider's `:sub` (see below): every service account of the cluster may assume the role |
//! | `wildcard-without-like` | error | `*` or `?` under `StringEquals` (or another non-`Like` string operator): literal there |
//! | `key-prefix` | error | a condition key prefixed with `https://` (refused by IAM) or with an ARN (never in the request) |
//! | `provider-mismatch` | error | a key prefix, or the expected issuer (`--issuer`), differs from the statement's Federated provider, a trailing slash included |
//! | `unsupported-claim` | error | a condition on a claim STS does not expose for generic OIDC, e.g. `kubernetes.io/namespace` (use `:sub` with `StringLike` `system:serviceaccount:NS:*`) |
//! | `for-all-values-single-valued` | warning | `ForAllValues:` on `sub`, `aud` or `azp`: true when the key is missing |
//! | `providers-anded` | error | keys of several providers in one statement: ANDed, never all present |
//! | `namespace-wildcard` | warning | a `:sub` pattern whose wildcard covers the namespace |
//! | `principal-wildcard` | error | `Principal: "*"` (or `AWS: "*"`) in an `Allow` |
//! | `not-principal` | error | `NotPrincipal`, which trust policies do not support |
//! | `wrong-action` | error / warning | for any `Federated` principal, the action does not cover the one it assumes roles with: `sts:AssumeRoleWithWebIdentity` for an OIDC provider ARN or a web-identity domain (`accounts.google.com`), `sts:AssumeRoleWithSAML` for a SAML provider ARN (error); or an action for another kind of principal is listed beside it, e.g. `sts:AssumeRole` with only Federated principals (warning) |
//! | `size-quota` | error | over the trust policy length quota (2,048 non-whitespace characters by default) |
//! | `sub-format` | error | a `:sub` value that no service-account token carries (e.g. `system:serviceaccounts:…`) |
//! | `null-if-exists` | error | `Null` with `IfExists` |
//! | `duplicate-key-case` | error | one key twice under one operator, in different case |
//! | `missing-version` | warning | no `Version: 2012-10-17`: policy variables are literal |
//! | `data-type-mismatch` | error | a value its operator cannot read: a `Date*` value that is no date (`2024-02-31`), a `Numeric*` value that is no number, `Bool`/`Null` other than true/false, an `IpAddress` value that is no address or CIDR block, an `Arn*` value without six parts, `BinaryEquals` not base64 (for booleans, dates and IP ranges Access Analyzer warns with `TYPE_MISMATCH_BOOLEAN`, `_DATE`, `_IP_RANGE`); such a value never matches a value of the request |
//!
//! A condition pins `:sub` (`:aud`) for `missing-sub` (`missing-aud`) when it is
//! `StringEquals`, `StringEqualsIgnoreCase` or `StringLike` on the key of the statement's own
//! provider, with or without `IfExists` (STS refuses a token without `sub` or `aud` before
//! the policy is evaluated) and with or without `ForAnyValue:` (false when the key is missing
//! or empty, the plain operator on one value). It does not when it is negated (it admits every
//! other value), `Null`, `ForAllValues:` (true when the key is missing or empty), of another
//! family, or on the key of another provider or with an ARN prefix.

mod context;
mod eval;
mod generate;
mod lint;
mod malformed;
mod matcher;
mod model;
mod operator;
mod parse;
mod predict;
pub(crate) mod value;

#[cfg(feature = "sts")]
pub(crate) use context::iso8601;
pub use context::{
    ASSUME_ROLE_WITH_WEB_IDENTITY, ContextEntry, ContextValue, Request, RequestFacts,
};
pub use eval::{ConditionExplanation, Decision, Evaluation, StatementExplanation};
pub use generate::{ClusterGrant, GenerateError, GeneratedPolicy, ServiceAccounts, generate};
pub use lint::{Finding, LintCode, LintOptions, Severity, StatementRef, lint, lint_document};
pub use malformed::{MalformedKind, MalformedPolicyDocument, PolicyLocation};
pub use model::{
    ActionElement, ActionPattern, Condition, DEFAULT_SIZE_QUOTA, Effect, MAX_POLICY_BYTES,
    PrincipalElement, PrincipalEntry, PrincipalType, Principals, Statement, TrustPolicy, Version,
};
pub use operator::{BaseOperator, Family, Operator, SetQualifier, UnknownOperator};
#[cfg(any(feature = "sts", feature = "doctor"))]
pub(crate) use predict::summarize;
pub use predict::{
    ACCESS_DENIED_MESSAGE, PredictError, Prediction, RegisteredProvider, SignatureCheck, StsError,
    predict, predict_claims,
};
