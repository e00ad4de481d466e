//! The STS stage: `AssumeRoleWithWebIdentity` called, and its answer compared with the
//! prediction.

use aws_sdk_iam::error::ProvideErrorMetadata;

use super::report::{Answer, Check, Verdict};
use super::{Doctor, ExamineOptions};
use crate::arn::RoleArn;
use crate::token::WebIdentityToken;

impl Doctor {
    pub(super) async fn call_sts(
        &self,
        role_arn: Option<&RoleArn>,
        token: Option<&WebIdentityToken>,
        inputs: &ExamineOptions,
        prediction: Option<&Answer>,
    ) -> Check {
        let (Some(sts), Some(role_arn), Some(token)) = (&self.sts, role_arn, token) else {
            return Check::new("sts", Verdict::Skip, "no STS client, role or token");
        };
        let session = inputs
            .facts
            .session_name
            .clone()
            .unwrap_or_else(|| "irsa-doctor".to_owned());
        let answer = match sts
            .assume_role_with_web_identity()
            .role_arn(role_arn.to_string())
            .role_session_name(session)
            .web_identity_token(token.expose_secret())
            .send()
            .await
        {
            // The credentials are dropped unread: the doctor only says that STS issued them.
            Ok(_) => Answer::Credentials,
            Err(e) => Answer::Error {
                code: e
                    .as_service_error()
                    .and_then(ProvideErrorMetadata::code)
                    .unwrap_or("RequestFailed")
                    .to_owned(),
                message: e
                    .as_service_error()
                    .and_then(ProvideErrorMetadata::message)
                    .map(str::to_owned),
            },
        };
        let said = describe(&answer);
        match prediction {
            Some(predicted) if codes_match(predicted, &answer) => Check::new("sts", Verdict::Pass, format!("STS answered {said}, as predicted")),
            Some(predicted) => Check::new("sts", Verdict::Fail, format!("STS answered {said}; the doctor predicted {}", describe(predicted)))
                .fix("a difference between STS and the doctor: report it with this output (the token is not in it)"),
            None => Check::new("sts", Verdict::Warn, format!("STS answered {said}; the doctor had no prediction")),
        }
    }
}

pub(super) fn codes_match(a: &Answer, b: &Answer) -> bool {
    match (a, b) {
        (Answer::Credentials, Answer::Credentials) => true,
        (Answer::Error { code: x, .. }, Answer::Error { code: y, .. }) => x == y,
        _ => false,
    }
}

pub(super) fn describe(answer: &Answer) -> String {
    match answer {
        Answer::Credentials => "with credentials".to_owned(),
        Answer::Error { code, message } => match message {
            Some(m) => format!("{code} ({m})"),
            None => code.clone(),
        },
    }
}

pub(super) fn aws_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> String {
    match e.as_service_error() {
        Some(s) => format!(
            "{}: {}",
            s.code().unwrap_or("Unknown"),
            s.message().unwrap_or("")
        ),
        // Each cause's message, not the SDK's Debug dump of them.
        None => crate::ErrorChain(e).to_string(),
    }
}
