//! The IAM stages: the OIDC provider, its client IDs, the role and its trust policy judged
//! with the whole request context.

use aws_sdk_iam::error::ProvideErrorMetadata;

use super::report::{Answer, Check, Verdict};
use super::sts::aws_error;
use super::{Doctor, Exam, ExamineOptions};
use crate::StsErrorCode;
use crate::arn::{OidcProviderArn, RoleArn};
use crate::oidc::IssuerUrl;
use crate::policy::{RegisteredProvider, Severity, TrustPolicy, predict};
use crate::token::WebIdentityToken;

impl Doctor {
    pub(super) async fn check_iam(
        &self,
        iss: Option<&str>,
        role_arn: Option<&RoleArn>,
        token: Option<&WebIdentityToken>,
        inputs: &ExamineOptions,
        exam: &mut Exam,
        checks: &mut Vec<Check>,
    ) {
        let skipped = |checks: &mut Vec<Check>, why: &str| {
            for name in ["provider", "client-id", "role", "trust-policy"] {
                checks.push(Check::new(name, Verdict::Skip, why));
            }
        };
        if let (None, Some(why)) = (role_arn, &inputs.role_not_found) {
            for name in ["provider", "client-id"] {
                checks.push(Check::new(
                    name,
                    Verdict::Skip,
                    "no role: its account is unknown",
                ));
            }
            checks.push(Check::new("role", Verdict::Fail, why.clone()).fix(
                "list the ServiceAccount in a role's service_accounts (or its namespace in namespaces) and apply, or give --role-arn",
            ));
            checks.push(Check::new("trust-policy", Verdict::Skip, "no role"));
            return;
        }
        let (Some(iam), Some(role_arn)) = (&self.iam, role_arn) else {
            skipped(
                checks,
                "no IAM client or no role: give --role-arn (or --config, --in-pod) and AWS credentials",
            );
            return;
        };
        let Some(provider_url) = iss
            .and_then(|i| IssuerUrl::parse(i).ok())
            .and_then(|i| i.aws_provider_url().ok())
        else {
            skipped(checks, "no usable issuer");
            return;
        };
        let arn = provider_url.arn(role_arn.partition(), role_arn.account().clone());
        let client_ids = match iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn.to_string())
            .send()
            .await
        {
            Ok(out) => {
                checks.push(Check::new(
                    "provider",
                    Verdict::Pass,
                    format!("{arn} is registered"),
                ));
                out.client_id_list().to_vec()
            }
            Err(e)
                if e.as_service_error().and_then(ProvideErrorMetadata::code)
                    == Some("NoSuchEntity") =>
            {
                exam.predict_error(
                    StsErrorCode::InvalidIdentityToken,
                    Some(&format!(
                        "No OpenIDConnect provider found in your account for {}",
                        provider_url.issuer()
                    )),
                );
                checks.push(
                    Check::new("provider", Verdict::Fail, format!("no OIDC provider {arn} in account {}", role_arn.account()))
                        .evidence(format!("iam:GetOpenIDConnectProvider {arn}: NoSuchEntity"))
                        .fix(format!("register the provider with exactly the URL {} (irsa setup --apply does); a trailing slash or another host is another provider", provider_url.issuer())),
                );
                for name in ["client-id", "role", "trust-policy"] {
                    checks.push(Check::new(name, Verdict::Skip, "the provider is missing"));
                }
                return;
            }
            Err(e) => {
                checks.push(
                    Check::new(
                        "provider",
                        Verdict::Fail,
                        "iam:GetOpenIDConnectProvider failed",
                    )
                    .evidence(aws_error(&e))
                    .fix("give credentials allowed iam:GetOpenIDConnectProvider and iam:GetRole"),
                );
                return;
            }
        };
        let audiences = exam
            .aud
            .clone()
            .unwrap_or_else(|| vec![inputs.audience.clone()]);
        if audiences.iter().any(|a| client_ids.contains(a)) {
            checks.push(Check::new(
                "client-id",
                Verdict::Pass,
                format!(
                    "the provider lists the audience ({})",
                    client_ids.join(", ")
                ),
            ));
        } else {
            exam.predict_error(
                StsErrorCode::InvalidIdentityToken,
                Some("Incorrect token audience"),
            );
            checks.push(
                Check::new("client-id", Verdict::Fail, format!("the provider's client IDs {client_ids:?} include none of the token's audiences {audiences:?}"))
                    .fix(format!("add {} as a client ID of {arn} (irsa setup --apply does)", audiences.first().map_or("sts.amazonaws.com", String::as_str))),
            );
        }
        let policy = match iam.get_role().role_name(role_arn.name()).send().await {
            Ok(out) => {
                let raw = out
                    .role()
                    .and_then(|r| r.assume_role_policy_document())
                    .unwrap_or_default();
                let decoded = if raw.trim_start().starts_with('{') {
                    raw.to_owned()
                } else {
                    percent_encoding::percent_decode_str(raw)
                        .decode_utf8_lossy()
                        .into_owned()
                };
                checks.push(Check::new(
                    "role",
                    Verdict::Pass,
                    format!("{role_arn} exists"),
                ));
                decoded
            }
            Err(e) => {
                let missing = e.as_service_error().and_then(ProvideErrorMetadata::code)
                    == Some("NoSuchEntity");
                exam.predict_error(
                    StsErrorCode::AccessDenied,
                    Some(crate::policy::ACCESS_DENIED_MESSAGE),
                );
                let check = if missing {
                    Check::new("role", Verdict::Fail, format!("no role {} in account {}", role_arn.name(), role_arn.account()))
                        .fix("create the role (irsa setup --apply does) or fix AWS_ROLE_ARN / the ServiceAccount's eks.amazonaws.com/role-arn")
                } else {
                    Check::new("role", Verdict::Fail, "iam:GetRole failed")
                        .evidence(aws_error(&e))
                        .fix("give credentials allowed iam:GetRole")
                };
                checks.push(check);
                checks.push(Check::new("trust-policy", Verdict::Skip, "no role"));
                return;
            }
        };
        checks.push(self.judge(&arn, &client_ids, &policy, token, inputs, exam));
    }

    pub(super) fn judge(
        &self,
        arn: &OidcProviderArn,
        client_ids: &[String],
        policy: &str,
        token: Option<&WebIdentityToken>,
        inputs: &ExamineOptions,
        exam: &mut Exam,
    ) -> Check {
        let policy = match TrustPolicy::parse(policy.as_bytes()) {
            Ok(policy) => policy,
            Err(e) => {
                return Check::new(
                    "trust-policy",
                    Verdict::Fail,
                    "the trust policy cannot be read as IAM reads it",
                )
                .evidence(crate::ErrorChain(&e).to_string())
                .fix("fix the document (irsa lint explains each finding)");
            }
        };
        let Some(token) = token else {
            return Check::new("trust-policy", Verdict::Skip, "no token to judge");
        };
        let Some(keys) = exam.keys.as_ref() else {
            return Check::new(
                "trust-policy",
                Verdict::Skip,
                "the issuer's keys were not fetched, so the token cannot be judged as STS judges it (irsa explain --claims judges its claims alone)",
            );
        };
        let Ok(provider) = RegisteredProvider::new(arn.clone(), client_ids.iter().cloned()) else {
            return Check::new(
                "trust-policy",
                Verdict::Skip,
                "the provider has no client ID",
            );
        };
        let diagnosis = match predict(
            token.expose_secret(),
            keys,
            &provider,
            &policy,
            inputs.facts.clone(),
        ) {
            Ok(d) => d,
            Err(e) => {
                return Check::new(
                    "trust-policy",
                    Verdict::Skip,
                    crate::ErrorChain(&e).to_string(),
                );
            }
        };
        let warnings: Vec<String> = diagnosis
            .findings
            .iter()
            .map(|f| {
                let level = if f.severity == Severity::Error {
                    "error"
                } else {
                    "warning"
                };
                format!(
                    "lint {level} {}: {} ({})",
                    f.code.as_str(),
                    f.message,
                    f.fix
                )
            })
            .collect();
        let mut check = match &diagnosis.sts_error {
            None => {
                exam.prediction.get_or_insert(Answer::Credentials);
                Check::new(
                    "trust-policy",
                    Verdict::Pass,
                    "the trust policy allows this token: STS would issue credentials",
                )
            }
            Some(error) => {
                exam.predict_error(error.code, error.message.as_deref());
                let why = diagnosis
                    .evaluation
                    .as_ref()
                    .map(crate::policy::summarize)
                    .unwrap_or_default();
                let mut check = Check::new(
                    "trust-policy",
                    Verdict::Fail,
                    format!(
                        "STS would answer {}: {}",
                        error.code.as_str(),
                        error.message.as_deref().unwrap_or(&error.reason)
                    ),
                )
                .evidence(error.reason.clone());
                if !why.is_empty() && why != error.reason {
                    check = check.evidence(why);
                }
                check.fix("irsa explain shows every statement and condition; list the ServiceAccount under the role's service_accounts in the setup file and apply (irsa trust-policy generates a statement by hand)")
            }
        };
        check.evidence.extend(warnings);
        check
    }
}
