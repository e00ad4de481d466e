//! The prediction: what STS answers `AssumeRoleWithWebIdentity` for a token, a provider as
//! registered in IAM and a role's trust policy, with the explanation and the lint findings.

use super::context::{Request, RequestFacts};
use super::eval::{Decision, Evaluation};
use super::lint::{Finding, LintOptions, lint};
use super::model::TrustPolicy;
use crate::arn::OidcProviderArn;
use crate::oidc::{IssuerError, IssuerUrl, JwkSet};
use crate::token::{
    Claims, DEFAULT_CLOCK_SKEW, Rejection, StsErrorCode, UnverifiedToken, Verifier, VerifierError,
};

/// The message STS answers when the trust policy does not allow the request.
pub const ACCESS_DENIED_MESSAGE: &str = "Not authorized to perform sts:AssumeRoleWithWebIdentity";

/// An IAM OIDC provider as registered: its ARN (which carries the URL) and its client IDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredProvider {
    arn: OidcProviderArn,
    client_ids: Vec<String>,
}

impl RegisteredProvider {
    /// The provider `arn` with these client IDs (audiences); IAM requires at least one.
    pub fn new<S: Into<String>>(
        arn: OidcProviderArn,
        client_ids: impl IntoIterator<Item = S>,
    ) -> Result<RegisteredProvider, PredictError> {
        let client_ids: Vec<String> = client_ids.into_iter().map(Into::into).collect();
        if client_ids.is_empty() {
            return Err(PredictError::NoClientId);
        }
        Ok(RegisteredProvider { arn, client_ids })
    }

    /// The provider's ARN.
    pub fn arn(&self) -> &OidcProviderArn {
        &self.arn
    }

    /// The client IDs.
    pub fn client_ids(&self) -> &[String] {
        &self.client_ids
    }

    /// The issuer tokens must carry: `https://` and the provider URL.
    pub fn issuer(&self) -> String {
        format!("https://{}", self.arn.provider_url())
    }
}

/// An error STS answers, as [`predict`] predicts it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StsError {
    /// The error code.
    pub code: StsErrorCode,
    /// STS's message, where it is known.
    pub message: Option<String>,
    /// The precise reason.
    pub reason: String,
}

/// Whether the token's signature was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureCheck {
    /// Checked against the issuer's key set (it may have failed: see [`Prediction::sts_error`]).
    Checked,
    /// Not checked: only claims were given.
    Skipped,
}

/// What STS would answer, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Prediction {
    /// `None` when STS would issue credentials; otherwise its error.
    pub sts_error: Option<StsError>,
    /// Whether the signature was checked.
    pub signature: SignatureCheck,
    /// The trust policy's evaluation for the token's claims. It is computed whenever the
    /// claims could be read, even when STS refuses the token first, so that both problems
    /// show at once; `None` when the token cannot be decoded.
    pub evaluation: Option<Evaluation>,
    /// The trust policy's lint findings, for the registered provider.
    pub findings: Vec<Finding>,
}

impl Prediction {
    /// Whether STS would issue credentials.
    pub fn allowed(&self) -> bool {
        self.sts_error.is_none()
    }
}

/// Why [`predict`] could not judge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PredictError {
    /// The provider has no client ID.
    #[error("the provider has no client ID: IAM requires at least one, e.g. sts.amazonaws.com")]
    NoClientId,
    /// The provider URL is not a usable issuer.
    #[error("the provider URL is not a usable issuer URL")]
    ProviderUrl(#[source] IssuerError),
    /// The key set cannot verify anything.
    #[error("the key set cannot verify tokens")]
    Keys(#[source] VerifierError),
}

/// Answers as STS would for `token`, signed by a key in `keys`, presented for a role trusting
/// per `policy`, through `provider`, with the request's `facts`: its time (seconds since the
/// Unix epoch, which alone converts into [`RequestFacts`]), session name, source address, … —
/// the global condition keys STS adds to the token's (see [`Request::with_facts`]).
///
/// The phases are STS's: the token (provider found by `iss`, signature, audience among the
/// client IDs, `sub`, expiry within 5 minutes of skew), then the trust policy.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use irsa::oidc::JwkSet;
/// use irsa::policy::{RegisteredProvider, TrustPolicy, predict};
///
/// let keys = JwkSet::parse(include_bytes!("../../tests/data/k8s-vectors/jwks.rsa-ecdsa.json"))?;
/// let token = include_str!("../../tests/data/k8s-vectors/token.bound.rs256.jwt");
/// let provider = RegisteredProvider::new(
///     "arn:aws:iam::111122223333:oidc-provider/issuer.example.com".parse()?,
///     ["sts.amazonaws.com"],
/// )?;
/// let policy: TrustPolicy = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow",
///   "Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/issuer.example.com"},
///   "Action":"sts:AssumeRoleWithWebIdentity",
///   "Condition":{"StringEquals":{"issuer.example.com:aud":"sts.amazonaws.com",
///     "issuer.example.com:kubernetes.io/namespace":"myns"}}}}"#.parse()?;
///
/// let at = UNIX_EPOCH + Duration::from_secs(1_514_764_860);
/// let prediction = predict(token, &keys, &provider, &policy, at)?;
/// let error = prediction.sts_error.as_ref().unwrap();
/// assert_eq!(error.code.as_str(), "AccessDenied");
/// assert_eq!(error.message.as_deref(), Some("Not authorized to perform sts:AssumeRoleWithWebIdentity"));
/// // The namespace claim is not a condition key for a generic OIDC provider.
/// assert!(prediction.findings.iter().any(|f| f.code.as_str() == "unsupported-claim"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn predict(
    token: &str,
    keys: &JwkSet,
    provider: &RegisteredProvider,
    policy: &TrustPolicy,
    facts: impl Into<RequestFacts>,
) -> Result<Prediction, PredictError> {
    let facts = facts.into();
    let issuer = IssuerUrl::parse(&provider.issuer()).map_err(PredictError::ProviderUrl)?;
    let mut builder = Verifier::builder(keys).issuer(issuer);
    for client_id in &provider.client_ids {
        builder = builder.audience(client_id.clone());
    }
    let verifier = builder.build().map_err(PredictError::Keys)?;
    let diagnosis = match verifier.verify(token, facts.now) {
        Ok(verified) => judge(
            verified.claims(),
            None,
            provider,
            policy,
            &facts,
            SignatureCheck::Checked,
        ),
        Err(rejection) => {
            let unverified = UnverifiedToken::inspect(token).ok();
            let claims = unverified.as_ref().map(UnverifiedToken::claims_unverified);
            judge_rejected(
                claims,
                &rejection,
                provider,
                policy,
                &facts,
                SignatureCheck::Checked,
            )
        }
    };
    Ok(diagnosis)
}

/// Answers as [`predict`] does for a token with these claims, without checking a signature:
/// the provider, audience, subject and expiry rules still apply.
pub fn predict_claims(
    claims: &Claims<'_>,
    provider: &RegisteredProvider,
    policy: &TrustPolicy,
    facts: impl Into<RequestFacts>,
) -> Prediction {
    let facts = facts.into();
    match check_unsigned(claims, provider, crate::token::unix_seconds(facts.now)) {
        Ok(()) => judge(
            claims,
            None,
            provider,
            policy,
            &facts,
            SignatureCheck::Skipped,
        ),
        Err(rejection) => judge_rejected(
            Some(claims),
            &rejection,
            provider,
            policy,
            &facts,
            SignatureCheck::Skipped,
        ),
    }
}

/// The verifier's rules that do not need a key, in its order.
fn check_unsigned(
    claims: &Claims<'_>,
    provider: &RegisteredProvider,
    now: i64,
) -> Result<(), Rejection> {
    crate::token::check_provider(claims, &[provider.issuer()])?;
    let skew = i64::try_from(DEFAULT_CLOCK_SKEW.as_secs()).unwrap_or(i64::MAX);
    crate::token::check_claims(claims, &provider.client_ids, now, skew)
}

fn judge_rejected(
    claims: Option<&Claims<'_>>,
    rejection: &Rejection,
    provider: &RegisteredProvider,
    policy: &TrustPolicy,
    facts: &RequestFacts,
    signature: SignatureCheck,
) -> Prediction {
    let reason = crate::error_text::chain(rejection);
    let error = StsError {
        code: rejection.sts_code(),
        message: rejection.sts_message(),
        reason,
    };
    match claims {
        Some(claims) => judge(claims, Some(error), provider, policy, facts, signature),
        None => Prediction {
            sts_error: Some(error),
            signature,
            evaluation: None,
            findings: findings(policy, provider),
        },
    }
}

fn judge(
    claims: &Claims<'_>,
    token_error: Option<StsError>,
    provider: &RegisteredProvider,
    policy: &TrustPolicy,
    facts: &RequestFacts,
    signature: SignatureCheck,
) -> Prediction {
    let request =
        Request::web_identity(&provider.arn, claims, &provider.client_ids).with_facts(facts);
    let evaluation = policy.evaluate(&request);
    let sts_error = token_error.or_else(|| {
        (evaluation.decision != Decision::Allow).then(|| StsError {
            code: StsErrorCode::AccessDenied,
            message: Some(ACCESS_DENIED_MESSAGE.to_owned()),
            reason: summarize(&evaluation),
        })
    });
    Prediction {
        sts_error,
        signature,
        evaluation: Some(evaluation),
        findings: findings(policy, provider),
    }
}

fn findings(policy: &TrustPolicy, provider: &RegisteredProvider) -> Vec<Finding> {
    let mut options = LintOptions::default();
    if let Ok(issuer) = IssuerUrl::parse(&provider.issuer())
        && let Ok(url) = issuer.aws_provider_url()
    {
        options = options.provider(url);
    }
    lint(policy, &options)
}

/// Why the policy did not allow: the denying statements, or for each `Allow` statement the
/// first part that failed.
pub(crate) fn summarize(evaluation: &Evaluation) -> String {
    let name = |index: usize, sid: Option<&str>| match sid {
        Some(sid) => format!("statement {index} ({sid})"),
        None => format!("statement {index}"),
    };
    if evaluation.decision == Decision::ExplicitDeny {
        let denying: Vec<String> = evaluation
            .deciding()
            .map(|s| name(s.index, s.sid.as_deref()))
            .collect();
        return format!("explicitly denied by {}", denying.join(", "));
    }
    let reasons: Vec<String> = evaluation
        .statements
        .iter()
        .filter(|s| s.effect == super::model::Effect::Allow)
        .map(|s| {
            let why = if !s.principal {
                "its principal is not the provider".to_owned()
            } else if !s.action {
                "its action does not cover sts:AssumeRoleWithWebIdentity".to_owned()
            } else {
                s.conditions
                    .iter()
                    .find(|c| !c.matched)
                    .map(|c| {
                        let actual = match &c.context_values {
                            _ if c.policy_unreadable() => format!(
                                "{}, so it never matches, whatever the request has",
                                c.unreadable.join("; ")
                            ),
                            None => "the key is not in the request".to_owned(),
                            Some(values) => format!("the request has {values:?}"),
                        };
                        format!(
                            "{} {} {:?} is false: {actual}",
                            c.operator, c.key, c.policy_values
                        )
                    })
                    .unwrap_or_default()
            };
            format!("{}: {why}", name(s.index, s.sid.as_deref()))
        })
        .collect();
    if reasons.is_empty() {
        "no statement allows the request (the policy has no Allow statement)".to_owned()
    } else {
        format!("no statement allows the request: {}", reasons.join("; "))
    }
}
