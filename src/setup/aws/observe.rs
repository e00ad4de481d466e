//! Reading what exists: the bucket, its documents, the provider and every role.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::{
    Aws, FETCH_MAX_BYTES, FETCH_TIMEOUT, READ_CONCURRENCY, SetupError, aws_error, code_of,
    decode_policy, status_of,
};
use crate::http::client::fetch;
use crate::setup::plan::{
    Desired, Observed, ObservedBucket, ObservedObject, ObservedProvider, ObservedRole,
    PublicAccessBlock,
};

impl Aws {
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

    pub(super) async fn observe_bucket(
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
        let tags = async {
            match s3.get_bucket_tagging().bucket(bucket).send().await {
                Ok(out) => Ok(out
                    .tag_set()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect()),
                Err(e) if code_of(&e) == Some("NoSuchTagSet") => Ok(BTreeMap::new()),
                Err(e) => Err(aws_error("s3:GetBucketTagging", bucket, &e)),
            }
        };
        let [a, b] = objects;
        let (ownership, pab, policy, tags, a, b) = tokio::join!(
            ownership,
            pab,
            policy,
            tags,
            self.get_object(bucket, &a.key),
            self.get_object(bucket, &b.key)
        );
        let observed = ObservedBucket {
            region,
            ownership: ownership?,
            public_access_block: pab?,
            policy: policy?,
            tags: tags?,
        };
        Ok((Some(observed), [a?, b?]))
    }

    pub(super) async fn get_object(
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
    pub(super) async fn fetch_public(
        &self,
        url: &str,
    ) -> Result<Option<ObservedObject>, SetupError> {
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

    pub(super) async fn observe_provider(
        &self,
        arn: &str,
    ) -> Result<Option<ObservedProvider>, SetupError> {
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
}

pub(super) async fn observe_role(
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
        inline_policy_names: BTreeSet::new(),
    };
    // A role irsa did not create: everything it grants is named before anything is planned
    // for it (one more read, only for such roles).
    if !observed.managed_by_irsa() {
        let mut marker = None;
        loop {
            let out = iam
                .list_role_policies()
                .role_name(name)
                .max_items(100)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| aws_error("iam:ListRolePolicies", name, &e))?;
            observed
                .inline_policy_names
                .extend(out.policy_names().iter().cloned());
            match out.marker() {
                Some(next) if out.is_truncated() => marker = Some(next.to_owned()),
                _ => break,
            }
        }
    }
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
