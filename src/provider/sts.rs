//! The `AssumeRoleWithWebIdentity` call: an unsigned STS request, no SDK retries (the
//! provider's own backoff decides), errors classified.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{BehaviorVersion, Region};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::types::PolicyDescriptorType;
use aws_smithy_async::rt::sleep::{SharedAsyncSleep, TokioSleep};
use aws_smithy_async::time::SharedTimeSource;

use super::config::Settings;
use super::error::{ProviderError, StsFailure, TransportError};
use crate::token::WebIdentityToken;

/// Reads STS's `Date` header off the answer, to measure the local clock against STS's.
#[derive(Debug, Clone, Default)]
pub(super) struct ServerDate(std::sync::Arc<std::sync::Mutex<Option<SystemTime>>>);

impl ServerDate {
    /// The last answer's `Date`, if it had one.
    pub(super) fn take(&self) -> Option<SystemTime> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

impl aws_sdk_sts::config::Intercept for ServerDate {
    fn name(&self) -> &'static str {
        "ServerDate"
    }

    fn read_after_transmit(
        &self,
        context: &aws_sdk_sts::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _: &aws_sdk_sts::config::RuntimeComponents,
        _: &mut aws_sdk_sts::config::ConfigBag,
    ) -> Result<(), aws_sdk_sts::error::BoxError> {
        let date = context
            .response()
            .headers()
            .get("date")
            .and_then(|d| {
                aws_smithy_types::DateTime::from_str(
                    d,
                    aws_smithy_types::date_time::Format::HttpDate,
                )
                .ok()
            })
            .and_then(|d| SystemTime::try_from(d).ok());
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = date;
        Ok(())
    }
}

/// The name credentials from this provider carry.
pub(super) const PROVIDER_NAME: &str = "IrsaWebIdentity";

/// Session policies sent with every call.
#[derive(Debug, Clone, Default)]
pub(super) struct SessionPolicy {
    pub(super) policy: Option<String>,
    pub(super) policy_arns: Vec<String>,
}

/// The STS client for these settings: the configured or derived endpoint, the injected clock,
/// no retries of its own and bounded attempts. Its connect and attempt timeouts bound real
/// network I/O, so they run on tokio's timer, not on the injected sleep that drives the
/// refresh schedule.
pub(super) fn client(
    settings: &Settings,
    time: SharedTimeSource,
    attempt_timeout: Duration,
) -> aws_sdk_sts::Client {
    let region = settings.region.clone();
    let mut config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(
            region.clone().unwrap_or_else(|| "us-east-1".to_owned()),
        ))
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(3100))
                .operation_attempt_timeout(attempt_timeout)
                .build(),
        )
        .time_source(time)
        .sleep_impl(SharedAsyncSleep::new(TokioSleep::new()));
    match (&settings.endpoint_url, region) {
        (Some(url), _) => config = config.endpoint_url(url),
        // Without a region, or when asked for `legacy`, the global endpoint.
        (None, None) => config = config.endpoint_url("https://sts.amazonaws.com"),
        (None, Some(_)) if !settings.regional => {
            config = config.endpoint_url("https://sts.amazonaws.com");
        }
        (None, Some(_)) => {}
    }
    aws_sdk_sts::Client::from_conf(config.build())
}

/// One `AssumeRoleWithWebIdentity` call.
pub(super) async fn assume_role(
    client: &aws_sdk_sts::Client,
    settings: &Settings,
    policy: &SessionPolicy,
    token: &WebIdentityToken,
    date: &ServerDate,
) -> Result<Credentials, ProviderError> {
    let role_arn = &settings.role_arn;
    let policy_arns: Vec<PolicyDescriptorType> = policy
        .policy_arns
        .iter()
        .map(|arn| PolicyDescriptorType::builder().arn(arn).build())
        .collect();
    let result = client
        .assume_role_with_web_identity()
        .role_arn(role_arn.to_string())
        .role_session_name(&settings.session_name)
        .web_identity_token(token.expose_secret())
        .set_duration_seconds(
            settings
                .duration
                .map(|d| i32::try_from(d.as_secs()).unwrap_or(i32::MAX)),
        )
        .set_policy(policy.policy.clone())
        .set_policy_arns((!policy_arns.is_empty()).then_some(policy_arns))
        .customize()
        .interceptor(date.clone())
        .send()
        .await;
    let output = result.map_err(|e| match e {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let error = context.err();
            ProviderError::Sts(Box::new(StsFailure::new(
                role_arn.clone(),
                error.code().unwrap_or("Unknown"),
                error.message().unwrap_or(""),
                status,
            )))
        }
        SdkError::ResponseError(context) => ProviderError::Transport {
            role_arn: role_arn.clone(),
            source: TransportError::not_sts(context.raw().status().as_u16()),
        },
        other => ProviderError::Transport {
            role_arn: role_arn.clone(),
            source: TransportError::client(other),
        },
    })?;
    let Some(creds) = output.credentials else {
        return Err(ProviderError::NoCredentials {
            role_arn: role_arn.clone(),
        });
    };
    let expiry =
        SystemTime::try_from(creds.expiration).map_err(|_| ProviderError::NoCredentials {
            role_arn: role_arn.clone(),
        })?;
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
    Ok(builder.build())
}
