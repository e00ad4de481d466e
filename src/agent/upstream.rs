//! STS as every aws-config client reaches it: region and endpoint (`AWS_ENDPOINT_URL_STS`,
//! `AWS_ENDPOINT_URL`, a profile's `endpoint_url`) from the `SdkConfig` the agent is given, no
//! credentials (`AssumeRoleWithWebIdentity` is unsigned), no SDK retries (the cache's backoff
//! decides), bounded timeouts.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::error::{ProvideErrorMetadata as _, SdkError};

use super::cache::{Call, Issued, Upstream, UpstreamError};
use crate::arn::RoleArn;
use crate::token::WebIdentityToken;

/// The name the agent's credentials carry.
const PROVIDER_NAME: &str = "IrsaAgent";

pub(super) struct Sts {
    client: aws_sdk_sts::Client,
    duration: Duration,
}

impl Sts {
    pub(super) fn new(config: &aws_types::SdkConfig, duration: Duration) -> Sts {
        let mut builder = aws_sdk_sts::config::Builder::from(config)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(2))
                    .operation_attempt_timeout(Duration::from_secs(5))
                    .build(),
            );
        // The timeouts need a sleep; a hand-made SdkConfig may have none.
        if config.sleep_impl().is_none() {
            builder = builder.sleep_impl(aws_smithy_async::rt::sleep::SharedAsyncSleep::new(
                aws_smithy_async::rt::sleep::TokioSleep::new(),
            ));
        }
        // STS needs a region to pick its endpoint; without one, the global endpoint.
        if config.region().is_none() {
            builder = builder.region(aws_sdk_sts::config::Region::new("us-east-1"));
        }
        Sts {
            client: aws_sdk_sts::Client::from_conf(builder.build()),
            duration,
        }
    }
}

impl Upstream for Sts {
    fn assume<'a>(
        &'a self,
        role: &'a RoleArn,
        session: &'a str,
        token: &'a WebIdentityToken,
    ) -> Call<'a> {
        Box::pin(async move {
            let output = self
                .client
                .assume_role_with_web_identity()
                .role_arn(role.to_string())
                .role_session_name(session)
                .web_identity_token(token.expose_secret())
                .duration_seconds(i32::try_from(self.duration.as_secs()).unwrap_or(i32::MAX))
                .send()
                .await
                .map_err(|e| match e {
                    SdkError::ServiceError(context) => {
                        let status = context.raw().status().as_u16();
                        let error = context.err();
                        UpstreamError::Sts {
                            code: error.code().unwrap_or("Unknown").to_owned(),
                            message: error.message().unwrap_or_default().to_owned(),
                            status,
                        }
                    }
                    SdkError::ResponseError(context) => UpstreamError::Transport(format!(
                        "STS answered HTTP {} with a body that is not STS's",
                        context.raw().status().as_u16()
                    )),
                    other => UpstreamError::Transport(crate::error_text::chain(&other)),
                })?;
            let missing =
                || UpstreamError::Transport("STS answered without credentials".to_owned());
            let creds = output.credentials.ok_or_else(missing)?;
            let expiry = SystemTime::try_from(creds.expiration).map_err(|_| missing())?;
            let mut builder = Credentials::builder()
                .access_key_id(creds.access_key_id)
                .secret_access_key(creds.secret_access_key)
                .session_token(creds.session_token)
                .expiry(expiry)
                .provider_name(PROVIDER_NAME);
            // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
            if let Some(account) = output
                .assumed_role_user
                .as_ref()
                .and_then(|user| user.arn.split(':').nth(4))
                .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
            {
                builder = builder.account_id(account);
            }
            Ok(Issued {
                credentials: builder.build(),
                expiry,
            })
        })
    }
}
