//! The token stage: the token read as STS reads it, before any key is fetched.

use super::report::{Check, Verdict};
use super::{Exam, ExamineOptions};
use crate::StsErrorCode;
use crate::token::{UnverifiedToken, WebIdentityToken};

pub(super) fn check_token(
    token: Option<&WebIdentityToken>,
    inputs: &ExamineOptions,
    exam: &mut Exam,
) -> Check {
    let Some(token) = token else {
        return Check::new(
            "token",
            Verdict::Skip,
            "no token: give --token FILE or --in-pod",
        );
    };
    let inspected = match UnverifiedToken::inspect(token.expose_secret()) {
        Ok(t) => t,
        Err(e) => {
            exam.predict_error(StsErrorCode::InvalidIdentityToken, None);
            return Check::new("token", Verdict::Fail, "the token is not a JWT")
                .evidence(crate::ErrorChain(&e).to_string())
                .fix("give the projected service-account token itself");
        }
    };
    let claims = inspected.claims_unverified();
    let kid = inspected.header().kid.as_deref().map(str::to_owned);
    exam.kid.clone_from(&kid);
    exam.iss = claims.iss.as_deref().map(str::to_owned);
    exam.aud = claims
        .aud
        .as_ref()
        .map(|a| a.iter().map(str::to_owned).collect());
    let now = crate::token::unix_seconds(inputs.facts.now);
    let mut check = Check::new(
        "token",
        Verdict::Pass,
        format!(
            "a token for {}",
            claims.sub.as_deref().unwrap_or("(no sub)")
        ),
    )
    .evidence(format!("iss {}", claims.iss.as_deref().unwrap_or("(none)")))
    .evidence(format!("aud {:?}", exam.aud.clone().unwrap_or_default()))
    .evidence(format!("kid {}", kid.as_deref().unwrap_or("(none)")));
    match claims.exp {
        Some(exp) if exp <= now => {
            exam.predict_error(
                StsErrorCode::ExpiredTokenException,
                Some("Token expired: current date/time must be before the expiration date/time"),
            );
            return Check::new("token", Verdict::Fail, format!("the token expired {} s ago", now - exp))
                .evidence(format!("exp {exp}, now {now}"))
                .fix("read the token again from the pod: the kubelet refreshes it at 80 % of its lifetime, a copy does not refresh");
        }
        Some(exp) => check = check.evidence(format!("expires in {} s", exp - now)),
        None => check = check.evidence("no exp"),
    }
    if let Some(expected) = inputs
        .issuer
        .as_ref()
        .filter(|e| claims.iss.as_deref() != Some(e.as_str()))
    {
        let iss = claims.iss.as_deref().unwrap_or("");
        let slash = if iss.trim_end_matches('/') == expected.as_str().trim_end_matches('/') {
            " (they differ by a trailing slash, which STS compares byte for byte)"
        } else {
            ""
        };
        return Check::new("token", Verdict::Fail, format!("the token's iss {iss:?} is not the cluster's issuer {:?}{slash}", expected.as_str()))
                .fix("set the apiserver's first --service-account-issuer to the cluster's issuer (irsa apiserver --write), then let the tokens refresh");
    }
    if !exam
        .aud
        .as_ref()
        .is_some_and(|a| a.iter().any(|x| x == &inputs.audience))
    {
        check = Check::new("token", Verdict::Warn, format!("the token's audiences {:?} do not include {}", exam.aud.clone().unwrap_or_default(), inputs.audience))
            .fix("the webhook's --token-audience (or the ServiceAccount's eks.amazonaws.com/audience) sets it; the provider's client IDs must list it");
    }
    if let Some(sa) = inputs
        .service_account
        .as_ref()
        .filter(|sa| claims.sub.as_deref() != Some(sa.as_str()))
    {
        return Check::new(
            "token",
            Verdict::Fail,
            format!(
                "the token is for {}, not {}",
                claims.sub.as_deref().unwrap_or("(no sub)"),
                sa.as_str()
            ),
        )
        .fix("check the pod's serviceAccountName");
    }
    check
}
