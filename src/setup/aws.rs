//! Reading and changing AWS with the real SDKs: observe, apply, verify.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep, TokioSleep};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use serde::Serialize;

use super::file::SetupFile;
use super::plan::{
    Change, Desired, MANAGED_BY_TAG, MANAGED_BY_VALUE, OBJECT_OWNERSHIP, Observed, ObservedBucket,
    ObservedObject, ObservedProvider, ObservedRole, PUBLIC_ACCESS_BLOCK, Plan, PlanError,
    PlanOptions, PublicAccessBlock, plan,
};
use crate::arn::AccountId;
use crate::http::client::{HttpsClient, client as https_client, fetch};

/// How many roles are read at once.
const READ_CONCURRENCY: usize = 8;
/// The most a document read may take and weigh (STS's own limits are tighter).
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
const FETCH_MAX_BYTES: usize = 1 << 20;
/// Waiting for IAM's eventual consistency: 250 ms doubling to 8 s, about two minutes in all
/// (Terraform's `propagationTimeout`).
const PROPAGATION_DELAYS_MS: [u64; 20] = [
    250, 500, 1000, 2000, 4000, 8000, 8000, 8000, 8000, 8000, 8000, 8000, 8000, 8000, 8000, 8000,
    8000, 8000, 8000, 8000,
];

/// The AWS clients `irsa setup` uses: S3 in the issuer's region, IAM, STS (for the account
/// when the file does not name it), and an anonymous HTTPS client for the published
/// documents.
#[derive(Debug, Clone)]
pub struct Aws {
    s3: aws_sdk_s3::Client,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    http: HttpsClient,
    public_base: Option<String>,
    sleep: SharedAsyncSleep,
}

/// Why reading or changing AWS failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// An AWS call failed.
    #[error("{call} on {target} failed: {code}: {message}")]
    Aws {
        /// The call, e.g. `iam:GetRole`.
        call: &'static str,
        /// What it was about.
        target: String,
        /// AWS's error code (or the transport's failure kind).
        code: String,
        /// AWS's message (or the transport's error).
        message: String,
    },
    /// The plan cannot be made.
    #[error("cannot plan the changes")]
    Plan(#[source] PlanError),
    /// A document AWS returned is not what it should be.
    #[error("{what}: {fix}")]
    Unexpected {
        /// Which document.
        what: String,
        /// What to do.
        fix: String,
    },
    /// A created resource did not become readable in time.
    #[error(
        "{what} was created but is still not readable after about two minutes (IAM is eventually consistent): run the setup again"
    )]
    NotPropagated {
        /// What.
        what: String,
    },
    /// No HTTPS client could be built (system roots unreadable).
    #[error("cannot build the HTTPS client for the anonymous checks")]
    Https(#[source] crate::http::CaError),
}

fn aws_error<E>(call: &'static str, target: &str, err: &SdkError<E, HttpResponse>) -> SetupError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (code, message) = match err {
        SdkError::ServiceError(service) => (
            service.err().code().unwrap_or("Unknown").to_owned(),
            service
                .err()
                .message()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("HTTP {}", service.raw().status().as_u16())),
        ),
        other => (
            "RequestFailed".to_owned(),
            aws_smithy_types::error::display::DisplayErrorContext(other).to_string(),
        ),
    };
    SetupError::Aws {
        call,
        target: target.to_owned(),
        code,
        message,
    }
}

/// Ends a mutating call: its output is not needed, its error is named.
trait Done {
    fn done(self, call: &'static str, target: &str) -> Result<(), SetupError>;
}

impl<T, E> Done for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn done(self, call: &'static str, target: &str) -> Result<(), SetupError> {
        self.map(drop).map_err(|e| aws_error(call, target, &e))
    }
}

fn code_of<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<&str> {
    err.as_service_error().and_then(ProvideErrorMetadata::code)
}

fn status_of<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

impl Aws {
    /// Clients from `config` (credentials, endpoints), with S3 in `region`.
    pub fn new(config: &aws_types::SdkConfig, region: &str) -> Result<Aws, SetupError> {
        let region = aws_types::region::Region::new(region.to_owned());
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .region(region.clone())
            .build();
        let global = config.region().cloned().unwrap_or(region);
        let iam = aws_sdk_iam::config::Builder::from(config)
            .region(global.clone())
            .build();
        let sts = aws_sdk_sts::config::Builder::from(config)
            .region(global)
            .build();
        Ok(Aws {
            s3: aws_sdk_s3::Client::from_conf(s3),
            iam: aws_sdk_iam::Client::from_conf(iam),
            sts: aws_sdk_sts::Client::from_conf(sts),
            http: https_client(&[], &[]).map_err(SetupError::Https)?,
            public_base: None,
            sleep: SharedAsyncSleep::new(TokioSleep::new()),
        })
    }

    /// Clients from aws-config's default chain (`AWS_PROFILE`, `AWS_ENDPOINT_URL*`, …). An S3
    /// endpoint override (`AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`) turns on path-style
    /// addressing and is where the anonymous checks fetch the documents.
    /// The credentials and endpoints come from the process's environment and profile files, as
    /// aws-config reads them; `env` answers the endpoint-override question.
    pub async fn from_default_chain(
        region: &str,
        env: &dyn crate::env::Environment,
    ) -> Result<Aws, SetupError> {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let endpoint = env
            .var("AWS_ENDPOINT_URL_S3")
            .or_else(|| env.var("AWS_ENDPOINT_URL"))
            .filter(|e| !e.is_empty());
        let mut aws = Aws::new(&config, region)?;
        if let Some(endpoint) = endpoint {
            aws = aws.path_style(&config, region).public_base(&endpoint);
        }
        Ok(aws)
    }

    /// With S3 path-style addressing (`https://host/bucket/key`), as S3-compatible servers
    /// on a custom endpoint need.
    #[must_use]
    pub fn path_style(mut self, config: &aws_types::SdkConfig, region: &str) -> Aws {
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .region(aws_types::region::Region::new(region.to_owned()))
            .force_path_style(true)
            .build();
        self.s3 = aws_sdk_s3::Client::from_conf(s3);
        self
    }

    /// Fetch the published documents anonymously from `base` + `/bucket/key` instead of the
    /// issuer URL (for an S3-compatible server on a local endpoint).
    #[must_use]
    pub fn public_base(mut self, base: &str) -> Aws {
        self.public_base = Some(base.trim_end_matches('/').to_owned());
        self
    }

    /// With `sleep` for the waits (IAM propagation), e.g. a test's instant sleep.
    #[must_use]
    pub fn sleep(mut self, sleep: impl AsyncSleep + 'static) -> Aws {
        self.sleep = SharedAsyncSleep::new(sleep);
        self
    }

    /// The account: the file's, or STS `GetCallerIdentity`'s.
    pub async fn account(&self, file: &SetupFile) -> Result<AccountId, SetupError> {
        if let Some(account) = file.account() {
            return Ok(account.clone());
        }
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| aws_error("sts:GetCallerIdentity", "the caller", &e))?;
        out.account()
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| SetupError::Unexpected {
                what: "sts:GetCallerIdentity".to_owned(),
                fix: "the answer names no 12-digit account: set account in the file".to_owned(),
            })
    }

    /// Reads everything `desired` touches. Changes nothing.
    pub async fn observe(&self, desired: &Desired) -> Result<Observed, SetupError> {
        let publishing = desired.publishing();
        let (bucket, documents) = match publishing.s3() {
            Some(s3) => {
                self.observe_bucket(s3.bucket(), publishing.objects())
                    .await?
            }
            None => {
                let [a, b] = publishing.objects();
                let (a, b) = tokio::join!(self.fetch_public(&a.url), self.fetch_public(&b.url));
                (None, [a?, b?])
            }
        };
        let provider = self
            .observe_provider(&desired.provider_arn().to_string())
            .await?;
        let mut roles = BTreeMap::new();
        let limit = Arc::new(tokio::sync::Semaphore::new(READ_CONCURRENCY));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, role) in desired.roles().iter().enumerate() {
            let iam = self.iam.clone();
            let limit = Arc::clone(&limit);
            let name = role.spec().name().to_owned();
            let inline: Vec<String> = role.spec().inline_policies().keys().cloned().collect();
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                (i, observe_role(&iam, &name, inline).await)
            });
        }
        let mut results = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            if let Ok(result) = joined {
                results.push(result);
            }
        }
        results.sort_by_key(|(i, _)| *i);
        for (i, result) in results {
            if let Some(role) = desired.roles().get(i) {
                roles.insert(role.spec().name().to_owned(), result?);
            }
        }
        Ok(Observed {
            bucket,
            documents,
            provider,
            roles,
        })
    }

    async fn observe_bucket(
        &self,
        bucket: &str,
        objects: &[crate::oidc::PublishedObject; 2],
    ) -> Result<(Option<ObservedBucket>, [Option<ObservedObject>; 2]), SetupError> {
        let region = match self.s3.head_bucket().bucket(bucket).send().await {
            Ok(out) => out.bucket_region().map(str::to_owned),
            Err(e) if status_of(&e) == Some(404) => return Ok((None, [None, None])),
            Err(e) if status_of(&e) == Some(403) => {
                return Err(SetupError::Unexpected {
                    what: format!("bucket {bucket}"),
                    fix: "it exists but these credentials may not read it (bucket names are global: another account may own it); choose another bucket name or use credentials of its owner".to_owned(),
                });
            }
            Err(e) => return Err(aws_error("s3:HeadBucket", bucket, &e)),
        };
        let s3 = &self.s3;
        let ownership = async {
            match s3
                .get_bucket_ownership_controls()
                .bucket(bucket)
                .send()
                .await
            {
                Ok(out) => Ok(out
                    .ownership_controls()
                    .and_then(|c| c.rules().first())
                    .map(|r| r.object_ownership().as_str().to_owned())),
                Err(e) if code_of(&e) == Some("OwnershipControlsNotFoundError") => Ok(None),
                Err(e) => Err(aws_error("s3:GetBucketOwnershipControls", bucket, &e)),
            }
        };
        let pab = async {
            match s3.get_public_access_block().bucket(bucket).send().await {
                Ok(out) => Ok(out
                    .public_access_block_configuration()
                    .map(|c| PublicAccessBlock {
                        block_public_acls: c.block_public_acls().unwrap_or(false),
                        ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                        block_public_policy: c.block_public_policy().unwrap_or(false),
                        restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
                    })),
                Err(e) if code_of(&e) == Some("NoSuchPublicAccessBlockConfiguration") => Ok(None),
                Err(e) => Err(aws_error("s3:GetPublicAccessBlock", bucket, &e)),
            }
        };
        let policy = async {
            match s3.get_bucket_policy().bucket(bucket).send().await {
                Ok(out) => Ok(out.policy().map(str::to_owned)),
                Err(e) if code_of(&e) == Some("NoSuchBucketPolicy") => Ok(None),
                Err(e) => Err(aws_error("s3:GetBucketPolicy", bucket, &e)),
            }
        };
        let [a, b] = objects;
        let (ownership, pab, policy, a, b) = tokio::join!(
            ownership,
            pab,
            policy,
            self.get_object(bucket, &a.key),
            self.get_object(bucket, &b.key)
        );
        let observed = ObservedBucket {
            region,
            ownership: ownership?,
            public_access_block: pab?,
            policy: policy?,
        };
        Ok((Some(observed), [a?, b?]))
    }

    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<ObservedObject>, SetupError> {
        let target = format!("s3://{bucket}/{key}");
        match self.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => {
                let content_type = out.content_type().map(str::to_owned);
                let cache_control = out.cache_control().map(str::to_owned);
                let body = out.body.collect().await.map_err(|e| SetupError::Aws {
                    call: "s3:GetObject",
                    target: target.clone(),
                    code: "RequestFailed".to_owned(),
                    message: e.to_string(),
                })?;
                Ok(Some(ObservedObject {
                    body: body.into_bytes().to_vec(),
                    content_type,
                    cache_control,
                }))
            }
            Err(e) if code_of(&e) == Some("NoSuchKey") || status_of(&e) == Some(404) => Ok(None),
            Err(e) => Err(aws_error("s3:GetObject", &target, &e)),
        }
    }

    /// An anonymous GET of a document irsa does not host (a non-S3 issuer): 404 is absence.
    async fn fetch_public(&self, url: &str) -> Result<Option<ObservedObject>, SetupError> {
        let unexpected = |fix: String| SetupError::Unexpected {
            what: url.to_owned(),
            fix,
        };
        let fetched = fetch(&self.http, url, FETCH_TIMEOUT, FETCH_MAX_BYTES)
            .await
            .map_err(|e| unexpected(format!("{e}: make the issuer reachable over HTTPS")))?;
        match fetched.status {
            200 => Ok(Some(ObservedObject {
                body: fetched.body.to_vec(),
                content_type: fetched.content_type,
                cache_control: None,
            })),
            404 => Ok(None),
            status => Err(unexpected(format!(
                "answered HTTP {status}: STS fetches it anonymously, so it must answer 200"
            ))),
        }
    }

    async fn observe_provider(&self, arn: &str) -> Result<Option<ObservedProvider>, SetupError> {
        match self
            .iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObservedProvider {
                client_ids: out.client_id_list().to_vec(),
                tags: out
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect(),
            })),
            Err(e) if code_of(&e) == Some("NoSuchEntity") => Ok(None),
            Err(e) => Err(aws_error("iam:GetOpenIDConnectProvider", arn, &e)),
        }
    }

    /// Reads the state, plans, and returns both (the plan alone is what `irsa setup` prints).
    pub async fn plan(
        &self,
        desired: &Desired,
        options: PlanOptions,
    ) -> Result<(Observed, Plan), SetupError> {
        let observed = self.observe(desired).await?;
        let plan = plan(desired, &observed, options).map_err(SetupError::Plan)?;
        Ok((observed, plan))
    }

    /// Makes the changes in order, waiting for IAM after each creation; stops at the first
    /// failure (the next run starts from what exists then).
    ///
    /// A trust policy written right after this apply created the OIDC provider it names can be
    /// refused as `MalformedPolicyDocument` ("Invalid principal in policy") until IAM has
    /// propagated the provider; such a write is retried with backoff for about two minutes.
    pub async fn apply(&self, changes: &[Change]) -> Result<(), SetupError> {
        let mut fresh_provider = false;
        for change in changes {
            self.apply_one(change, fresh_provider).await?;
            fresh_provider |= matches!(change, Change::CreateOidcProvider { .. });
        }
        Ok(())
    }

    /// Sends a request whose trust policy names the provider; while `fresh_provider`, a
    /// `MalformedPolicyDocument` answer is taken for IAM's propagation and the request resent
    /// after each of the propagation delays.
    async fn send_trust_policy<T, E, F, Fut>(
        &self,
        fresh_provider: bool,
        mut send: F,
    ) -> Result<T, SdkError<E, HttpResponse>>
    where
        E: ProvideErrorMetadata,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        let answer = self
            .until_propagated(|| {
                let sent = send();
                async move {
                    match sent.await {
                        Err(e)
                            if fresh_provider && code_of(&e) == Some("MalformedPolicyDocument") =>
                        {
                            ControlFlow::Continue(e)
                        }
                        answer => ControlFlow::Break(answer),
                    }
                }
            })
            .await;
        answer.unwrap_or_else(Err)
    }

    /// The one propagation loop: tries `attempt` until it breaks, sleeping each of the
    /// propagation delays between tries; after the last delay and try, the last pending value.
    async fn until_propagated<T, P, F, Fut>(&self, mut attempt: F) -> Result<T, P>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = ControlFlow<T, P>>,
    {
        let mut delays = PROPAGATION_DELAYS_MS.into_iter();
        loop {
            match attempt().await {
                ControlFlow::Break(done) => return Ok(done),
                ControlFlow::Continue(pending) => match delays.next() {
                    Some(delay) => self.sleep.sleep(Duration::from_millis(delay)).await,
                    None => return Err(pending),
                },
            }
        }
    }

    async fn apply_one(&self, change: &Change, fresh_provider: bool) -> Result<(), SetupError> {
        use aws_sdk_iam::types::Tag;
        use aws_sdk_s3::types as s3t;
        let call = change.call();
        match change {
            Change::CreateBucket { bucket, region } => {
                let mut request = self.s3.create_bucket().bucket(bucket);
                // us-east-1 is the default and refuses to be named as a constraint.
                if region != "us-east-1" {
                    request = request.create_bucket_configuration(
                        s3t::CreateBucketConfiguration::builder()
                            .location_constraint(s3t::BucketLocationConstraint::from(
                                region.as_str(),
                            ))
                            .build(),
                    );
                }
                match request.send().await {
                    Ok(_) => Ok(()),
                    Err(e) if code_of(&e) == Some("BucketAlreadyOwnedByYou") => Ok(()),
                    Err(e) => Err(aws_error(call, bucket, &e)),
                }
            }
            Change::PutOwnershipControls { bucket, .. } => {
                let rule = s3t::OwnershipControlsRule::builder()
                    .object_ownership(s3t::ObjectOwnership::from(OBJECT_OWNERSHIP))
                    .build()
                    .map_err(|e| build_error(call, bucket, &e))?;
                let controls = s3t::OwnershipControls::builder()
                    .rules(rule)
                    .build()
                    .map_err(|e| build_error(call, bucket, &e))?;
                self.s3
                    .put_bucket_ownership_controls()
                    .bucket(bucket)
                    .ownership_controls(controls)
                    .send()
                    .await
                    .done(call, bucket)
            }
            Change::PutPublicAccessBlock { bucket, .. } => {
                let p = PUBLIC_ACCESS_BLOCK;
                let config = s3t::PublicAccessBlockConfiguration::builder()
                    .block_public_acls(p.block_public_acls)
                    .ignore_public_acls(p.ignore_public_acls)
                    .block_public_policy(p.block_public_policy)
                    .restrict_public_buckets(p.restrict_public_buckets)
                    .build();
                self.s3
                    .put_public_access_block()
                    .bucket(bucket)
                    .public_access_block_configuration(config)
                    .send()
                    .await
                    .done(call, bucket)
            }
            Change::PutBucketPolicy { bucket, after, .. } => self
                .s3
                .put_bucket_policy()
                .bucket(bucket)
                .policy(after)
                .send()
                .await
                .done(call, bucket),
            Change::PutObject {
                bucket,
                key,
                content_type,
                cache_control,
                after,
                ..
            } => self
                .s3
                .put_object()
                .bucket(bucket)
                .key(key)
                .content_type(content_type)
                .cache_control(cache_control)
                .body(after.clone().into_bytes().into())
                .send()
                .await
                .done(call, &format!("s3://{bucket}/{key}")),
            Change::CreateOidcProvider { url, client_ids } => {
                let tag = iam_tag(MANAGED_BY_TAG, MANAGED_BY_VALUE, call, url)?;
                let created = self
                    .iam
                    .create_open_id_connect_provider()
                    .url(url)
                    .set_client_id_list(Some(client_ids.clone()))
                    .tags(tag)
                    .send()
                    .await;
                let arn = match created {
                    Ok(out) => out
                        .open_id_connect_provider_arn()
                        .unwrap_or_default()
                        .to_owned(),
                    // Created by an earlier, interrupted run: the next plan reconciles it.
                    Err(e) if code_of(&e) == Some("EntityAlreadyExists") => return Ok(()),
                    Err(e) => return Err(aws_error(call, url, &e)),
                };
                self.wait(&format!("OIDC provider {url}"), || async {
                    self.iam
                        .get_open_id_connect_provider()
                        .open_id_connect_provider_arn(&arn)
                        .send()
                        .await
                        .is_ok()
                })
                .await
            }
            Change::AddClientId {
                provider,
                client_id,
            } => self
                .iam
                .add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(provider)
                .client_id(client_id)
                .send()
                .await
                .done(call, provider),
            Change::RemoveClientId {
                provider,
                client_id,
            } => self
                .iam
                .remove_client_id_from_open_id_connect_provider()
                .open_id_connect_provider_arn(provider)
                .client_id(client_id)
                .send()
                .await
                .done(call, provider),
            Change::CreateRole {
                role,
                path,
                trust_policy,
                max_session_duration,
                permissions_boundary,
                tags,
            } => {
                let tags: Vec<Tag> = tags
                    .iter()
                    .map(|(k, v)| iam_tag(k, v, call, role))
                    .collect::<Result<_, _>>()?;
                let created = self
                    .send_trust_policy(fresh_provider, || {
                        self.iam
                            .create_role()
                            .role_name(role)
                            .path(path)
                            .assume_role_policy_document(trust_policy)
                            .set_max_session_duration(max_session_duration.map(|d| d as i32))
                            .set_permissions_boundary(permissions_boundary.clone())
                            .set_tags(Some(tags.clone()))
                            .send()
                    })
                    .await;
                match created {
                    Ok(_) => {}
                    Err(e) if code_of(&e) == Some("EntityAlreadyExists") => return Ok(()),
                    Err(e) => return Err(aws_error(call, role, &e)),
                }
                self.wait(&format!("role {role}"), || async {
                    self.iam.get_role().role_name(role).send().await.is_ok()
                })
                .await
            }
            Change::UpdateTrustPolicy { role, after, .. } => self
                .send_trust_policy(fresh_provider, || {
                    self.iam
                        .update_assume_role_policy()
                        .role_name(role)
                        .policy_document(after)
                        .send()
                })
                .await
                .done(call, role),
            Change::UpdateMaxSessionDuration { role, after, .. } => self
                .iam
                .update_role()
                .role_name(role)
                .max_session_duration(*after as i32)
                .send()
                .await
                .done(call, role),
            Change::PutPermissionsBoundary { role, after, .. } => self
                .iam
                .put_role_permissions_boundary()
                .role_name(role)
                .permissions_boundary(after)
                .send()
                .await
                .done(call, role),
            Change::TagRole { role, tags } => {
                let tags: Vec<Tag> = tags
                    .iter()
                    .map(|(k, v)| iam_tag(k, v, call, role))
                    .collect::<Result<_, _>>()?;
                self.iam
                    .tag_role()
                    .role_name(role)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .done(call, role)
            }
            Change::AttachPolicy { role, policy_arn } => self
                .iam
                .attach_role_policy()
                .role_name(role)
                .policy_arn(policy_arn)
                .send()
                .await
                .done(call, &format!("{role} ({policy_arn})")),
            Change::PutInlinePolicy {
                role, name, after, ..
            } => self
                .iam
                .put_role_policy()
                .role_name(role)
                .policy_name(name)
                .policy_document(after)
                .send()
                .await
                .done(call, &format!("{role} ({name})")),
            Change::DetachPolicy { role, policy_arn } => self
                .iam
                .detach_role_policy()
                .role_name(role)
                .policy_arn(policy_arn)
                .send()
                .await
                .done(call, &format!("{role} ({policy_arn})")),
            Change::DeleteInlinePolicy { role, name } => self
                .iam
                .delete_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await
                .done(call, &format!("{role} ({name})")),
            Change::UntagRole { role, keys } => self
                .iam
                .untag_role()
                .role_name(role)
                .set_tag_keys(Some(keys.clone()))
                .send()
                .await
                .done(call, role),
        }
    }

    async fn wait<F, Fut>(&self, what: &str, mut readable: F) -> Result<(), SetupError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        self.until_propagated(|| {
            let read = readable();
            async move {
                if read.await {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            }
        })
        .await
        .map_err(|()| SetupError::NotPropagated {
            what: what.to_owned(),
        })
    }

    /// After an apply: reads everything again (the plan must now be empty), then fetches both
    /// documents anonymously, as STS will, and compares them with what was written.
    pub async fn verify(
        &self,
        desired: &Desired,
        options: PlanOptions,
    ) -> Result<Verification, SetupError> {
        let (_, remaining) = self.plan(desired, options).await?;
        let mut documents = Vec::new();
        for object in desired.publishing().objects() {
            let url = match (&self.public_base, desired.publishing().s3()) {
                (Some(base), Some(s3)) => format!("{base}/{}/{}", s3.bucket(), object.key),
                _ => object.url.clone(),
            };
            let problem = match fetch(&self.http, &url, FETCH_TIMEOUT, FETCH_MAX_BYTES).await {
                Err(e) => Some(e.to_string()),
                Ok(f) if f.status != 200 => Some(format!(
                    "answered HTTP {}: anonymous reads are refused (Block Public Access, the bucket policy, or an account-level block)",
                    f.status
                )),
                Ok(f) if f.body != object.body.as_bytes() => {
                    Some("the bytes served differ from the bytes written".to_owned())
                }
                Ok(_) => None,
            };
            documents.push(DocumentCheck { url, problem });
        }
        Ok(Verification {
            remaining: remaining.changes,
            documents,
        })
    }
}

fn build_error(call: &'static str, target: &str, e: &dyn std::error::Error) -> SetupError {
    SetupError::Aws {
        call,
        target: target.to_owned(),
        code: "InvalidRequest".to_owned(),
        message: e.to_string(),
    }
}

fn iam_tag(
    key: &str,
    value: &str,
    call: &'static str,
    target: &str,
) -> Result<aws_sdk_iam::types::Tag, SetupError> {
    aws_sdk_iam::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| build_error(call, target, &e))
}

async fn observe_role(
    iam: &aws_sdk_iam::Client,
    name: &str,
    inline: Vec<String>,
) -> Result<Option<ObservedRole>, SetupError> {
    let role = match iam.get_role().role_name(name).send().await {
        Ok(out) => out.role().cloned(),
        Err(e) if code_of(&e) == Some("NoSuchEntity") => return Ok(None),
        Err(e) => return Err(aws_error("iam:GetRole", name, &e)),
    };
    let Some(role) = role else {
        return Ok(None);
    };
    let tags: BTreeMap<String, String> = role
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    let mut attached = BTreeSet::new();
    let mut marker = None;
    loop {
        let out = iam
            .list_attached_role_policies()
            .role_name(name)
            .max_items(100)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| aws_error("iam:ListAttachedRolePolicies", name, &e))?;
        attached.extend(
            out.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_owned)),
        );
        match out.marker() {
            Some(next) if out.is_truncated() => marker = Some(next.to_owned()),
            _ => break,
        }
    }
    let mut observed = ObservedRole {
        path: role.path().to_owned(),
        trust_policy: decode_policy(role.assume_role_policy_document().unwrap_or_default()),
        max_session_duration: role
            .max_session_duration()
            .and_then(|d| u32::try_from(d).ok()),
        permissions_boundary: role
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn().map(str::to_owned)),
        attached_policies: attached,
        inline_policies: BTreeMap::new(),
        tags,
    };
    let owned: Vec<String> = observed
        .owned_inline_policies()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let names: BTreeSet<String> = inline.into_iter().chain(owned).collect();
    for policy in names {
        let document = match iam
            .get_role_policy()
            .role_name(name)
            .policy_name(&policy)
            .send()
            .await
        {
            Ok(out) => serde_json::from_str(&decode_policy(out.policy_document())).ok(),
            Err(e) if code_of(&e) == Some("NoSuchEntity") => None,
            Err(e) => {
                return Err(aws_error(
                    "iam:GetRolePolicy",
                    &format!("{name} ({policy})"),
                    &e,
                ));
            }
        };
        observed.inline_policies.insert(policy, document);
    }
    Ok(Some(observed))
}

/// IAM returns policy documents URL-encoded (RFC 3986); the SDK passes them on as they are.
fn decode_policy(document: &str) -> String {
    if document.trim_start().starts_with('{') {
        return document.to_owned();
    }
    percent_encoding::percent_decode_str(document)
        .decode_utf8_lossy()
        .into_owned()
}

/// What [`Aws::verify`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Verification {
    /// Changes a fresh plan still finds (empty when the apply converged).
    pub remaining: Vec<Change>,
    /// The anonymous checks of both documents.
    pub documents: Vec<DocumentCheck>,
}

impl Verification {
    /// Whether the plan is now empty and both documents are served as written.
    pub fn passed(&self) -> bool {
        self.remaining.is_empty() && self.documents.iter().all(|d| d.problem.is_none())
    }
}

/// One anonymous fetch of a published document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DocumentCheck {
    /// The URL fetched.
    pub url: String,
    /// What is wrong, or `None` when the bytes served are the bytes written.
    pub problem: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_decoded_only_when_encoded() {
        assert_eq!(
            decode_policy("%7B%22Version%22%3A%222012-10-17%22%7D"),
            r#"{"Version":"2012-10-17"}"#
        );
        assert_eq!(decode_policy(r#"{"a":"100%"}"#), r#"{"a":"100%"}"#);
    }
}
