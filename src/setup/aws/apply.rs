//! Changing AWS, one change at a time, waiting out IAM's eventual consistency.

use std::ops::ControlFlow;
use std::time::Duration;

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_smithy_async::rt::sleep::AsyncSleep;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::{
    Aws, Done, PROPAGATION_DELAYS_MS, SetupError, aws_error, build_error, code_of, iam_tag,
};
use crate::setup::plan::{
    Change, MANAGED_BY_TAG, MANAGED_BY_VALUE, OBJECT_OWNERSHIP, PUBLIC_ACCESS_BLOCK,
};

impl Aws {
    /// Makes the changes in order, waiting for IAM after each creation; stops at the first
    /// failure (the next run starts from what exists then).
    ///
    /// A trust policy written right after this apply created the OIDC provider it names can be
    /// refused as `MalformedPolicyDocument` ("Invalid principal in policy") until IAM has
    /// propagated the provider; such a write is retried with backoff for about two minutes.
    pub async fn apply(&self, changes: &[Change]) -> Result<(), SetupError> {
        self.apply_each(changes, |_| {}).await
    }

    /// [`apply`](Self::apply), calling `made` after each change is made: a caller can show
    /// progress, and say what was done before a failure.
    pub async fn apply_each(
        &self,
        changes: &[Change],
        mut made: impl FnMut(&Change),
    ) -> Result<(), SetupError> {
        let mut fresh_provider = false;
        for change in changes {
            self.apply_one(change, fresh_provider).await?;
            made(change);
            fresh_provider |= matches!(change, Change::CreateOidcProvider { .. });
        }
        Ok(())
    }

    /// Sends a request whose trust policy names the provider; while `fresh_provider`, a
    /// `MalformedPolicyDocument` answer is taken for IAM's propagation and the request resent
    /// after each of the propagation delays.
    pub(super) async fn send_trust_policy<T, E, F, Fut>(
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
    pub(super) async fn until_propagated<T, P, F, Fut>(&self, mut attempt: F) -> Result<T, P>
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

    pub(super) async fn apply_one(
        &self,
        change: &Change,
        fresh_provider: bool,
    ) -> Result<(), SetupError> {
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
                    Ok(_) => {}
                    Err(e) if code_of(&e) == Some("BucketAlreadyOwnedByYou") => return Ok(()),
                    Err(e) => return Err(aws_error(call, bucket, &e)),
                }
                // Marked as irsa's, so that a later plan may set its object ownership without
                // the file adopting it.
                let tag = s3t::Tag::builder()
                    .key(MANAGED_BY_TAG)
                    .value(MANAGED_BY_VALUE)
                    .build()
                    .map_err(|e| build_error(call, bucket, &e))?;
                let tagging = s3t::Tagging::builder()
                    .tag_set(tag)
                    .build()
                    .map_err(|e| build_error(call, bucket, &e))?;
                self.s3
                    .put_bucket_tagging()
                    .bucket(bucket)
                    .tagging(tagging)
                    .send()
                    .await
                    .done("s3:PutBucketTagging", bucket)
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

    pub(super) async fn wait<F, Fut>(&self, what: &str, mut readable: F) -> Result<(), SetupError>
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
}
