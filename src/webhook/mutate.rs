//! The pod mutation: which containers get which variables and mounts, rendered in either style.

use k8s_openapi::api::core::v1::{Container, EnvVar, Pod, VolumeMount};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::annotations::{ServiceAccountAnnotations, parse_go_csv_record, parse_go_int};
use super::config::{
    DEFAULT_TOKEN_EXPIRATION, IRSA_TOKEN_PATH, IRSA_VOLUME_NAME, MIN_TOKEN_EXPIRATION, PatchStyle,
    WebhookConfig,
};
use super::patch::{JsonPatch, PatchOperation, escape_pointer_token};
use super::view::{ContainerLike, ContainerView, PodView, StringMap};

/// The label the Go webhook sets on pods it gives EKS Pod Identity (fixed, whatever the prefix).
pub const POD_IDENTITY_LABEL: &str = "eks.amazonaws.com/pod-identity";

const ROLE_ARN: &str = "AWS_ROLE_ARN";
const TOKEN_FILE: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";
const FULL_URI: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
const AUTH_TOKEN_FILE: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
const REGION: &str = "AWS_REGION";
const DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
const STS_REGIONAL: &str = "AWS_STS_REGIONAL_ENDPOINTS";

/// Pod Identity lifetimes of exactly 86400 s are spread over [79200, 86400] so a fleet's
/// tokens do not all expire together (upstream `rand.Int63n(7201) + 79200`).
const JITTER_FLOOR: i64 = 79_200;
const JITTER_SPAN: u32 = 7_201;

/// How a pod's ServiceAccount gets AWS credentials, as the caller has looked it up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Identity {
    /// IRSA: the ServiceAccount's annotations. Without a `role-arn` nothing is mutated.
    WebIdentity(ServiceAccountAnnotations),
    /// EKS Pod Identity: the ServiceAccount is associated with a role (the Go webhook's
    /// container-credentials file lists it). It takes precedence over any `role-arn`; only the
    /// ServiceAccount's `sts-regional-endpoints` and `token-expiration` are read.
    PodIdentity {
        /// The ServiceAccount's settings.
        settings: ServiceAccountAnnotations,
        /// A uniformly random number drawn per pod: a lifetime of exactly 86400 s becomes
        /// `79200 + jitter % 7201`. Pass 0 to reproduce the upstream tests.
        expiration_jitter: u32,
    },
}

/// What is wrong with a pod that cannot be patched: it does not decode as a Kubernetes Pod
/// (the Go webhook could not decode it either). The message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PodError {
    /// A field has the wrong JSON type, or the document is not JSON.
    #[error("the pod does not decode as a Pod at {path}: {reason}")]
    Malformed {
        /// Where, e.g. `spec.containers[0].env` (`.` for the document itself).
        path: String,
        /// What the decoder said.
        reason: String,
    },
}

/// Where a pod comes from: parsed JSON or raw bytes.
#[derive(Clone, Copy)]
enum Source<'a> {
    Value(&'a Value),
    Bytes(&'a [u8]),
}

impl<'a> Source<'a> {
    fn decode<T: Deserialize<'a>>(self) -> Result<T, PodError> {
        let fast = match self {
            Source::Value(v) => T::deserialize(v).map_err(|_| ()),
            Source::Bytes(b) => serde_json::from_slice(b).map_err(|_| ()),
        };
        // Only on failure: decode again, tracking the path, to name the field.
        fast.map_err(|()| {
            let tracked: Result<T, _> = match self {
                Source::Value(v) => serde_path_to_error::deserialize(v),
                Source::Bytes(b) => {
                    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(b))
                }
            };
            match tracked {
                Ok(_) => PodError::Malformed {
                    path: ".".to_owned(),
                    reason: "inconsistent decoding".to_owned(),
                },
                Err(e) => PodError::Malformed {
                    path: e.path().to_string(),
                    reason: e.inner().to_string(),
                },
            }
        })
    }
}

/// Turns pods into the JSON patch that gives them AWS credentials; see the
/// [module docs](super).
#[derive(Debug, Clone)]
pub struct PodMutator {
    config: WebhookConfig,
}

/// Everything decided once per pod.
struct Plan<'a> {
    pod_identity: bool,
    volume_name: &'a str,
    mount_path: &'a str,
    credential_env: [(&'static str, String); 2],
    regional_sts: bool,
    region: Option<&'a str>,
    skip: Vec<String>,
}

/// What one container gets.
#[derive(Default)]
struct Additions {
    env: Vec<(&'static str, String)>,
    mount: bool,
}

impl PodMutator {
    /// A mutator with these settings.
    pub fn new(config: WebhookConfig) -> Self {
        Self { config }
    }

    /// The settings.
    pub fn config(&self) -> &WebhookConfig {
        &self.config
    }

    /// The patch for a typed pod; see [`PodMutator::patch_json`].
    pub fn patch_pod(&self, pod: &Pod, identity: &Identity) -> Result<JsonPatch, PodError> {
        let value = serde_json::to_value(pod).map_err(|e| PodError::Malformed {
            path: ".".to_owned(),
            reason: e.to_string(),
        })?;
        self.patch_json(&value, identity)
    }

    /// The patch for a pod given as raw JSON bytes (as it arrives in an AdmissionReview); only
    /// the parts the mutation reads are decoded. See [`PodMutator::patch_json`].
    pub fn patch_slice(&self, pod: &[u8], identity: &Identity) -> Result<JsonPatch, PodError> {
        self.patch_source(Source::Bytes(pod), identity)
    }

    /// The patch for a pod given as JSON. Empty when the identity asks for nothing (no
    /// `role-arn`) or, in the granular style, when the pod already has everything.
    ///
    /// ```
    /// use irsa::webhook::{Identity, PodMutator, ServiceAccountAnnotations, WebhookConfig};
    /// use serde_json::json;
    ///
    /// let mutator = PodMutator::new(WebhookConfig::default());
    /// let pod = json!({"metadata": {"name": "app"},
    ///                  "spec": {"containers": [{"name": "app", "image": "busybox"}]}});
    /// let sa = ServiceAccountAnnotations::default()
    ///     .with_role_arn("arn:aws:iam::111122223333:role/s3-reader");
    /// let patch = mutator.patch_json(&pod, &Identity::WebIdentity(sa))?;
    /// let paths: Vec<&str> = patch.operations().iter().map(|op| op.path()).collect();
    /// assert_eq!(paths, ["/spec/volumes", "/spec/containers/0/env", "/spec/containers/0/volumeMounts"]);
    /// # Ok::<(), irsa::webhook::PodError>(())
    /// ```
    pub fn patch_json(&self, pod: &Value, identity: &Identity) -> Result<JsonPatch, PodError> {
        self.patch_source(Source::Value(pod), identity)
    }

    fn patch_source(&self, source: Source<'_>, identity: &Identity) -> Result<JsonPatch, PodError> {
        if let Identity::WebIdentity(sa) = identity
            && sa.role_arn().is_none()
        {
            return Ok(JsonPatch::default());
        }
        match self.config.style {
            PatchStyle::Granular => {
                let view: PodView<'_, ContainerView<'_>> = source.decode()?;
                self.patch_view(view, identity, render_granular)
            }
            PatchStyle::Compatible => {
                let view: PodView<'_, Container> = source.decode()?;
                self.patch_view(view, identity, render_compatible)
            }
        }
    }

    fn patch_view<C: ContainerLike>(
        &self,
        view: PodView<'_, C>,
        identity: &Identity,
        render: fn(&Plan<'_>, &mut JsonPatch, &str, Vec<C>, bool),
    ) -> Result<JsonPatch, PodError> {
        let config = &self.config;
        let PodView { metadata, spec, .. } = view;
        let annotations = metadata.as_ref().and_then(|m| m.annotations.as_ref());
        let pod_annotation =
            |suffix: &str| annotations.and_then(|a| a.get(&config.annotation(suffix)));
        let pod_expiration = pod_annotation("token-expiration").and_then(parse_go_int);
        let skip = pod_annotation("skip-containers")
            .map(parse_go_csv_record)
            .unwrap_or_default();
        // Windows pods, as upstream detects them (`kubernetes.io/os` or `beta.kubernetes.io/os`
        // node selectors), and also by `spec.os.name`, which upstream ignores (aws/amazon-eks-pod-identity-webhook#57).
        let windows = spec.as_ref().is_some_and(|spec| {
            let selector = |key| spec.node_selector.as_ref().and_then(|s| s.get(key));
            selector("kubernetes.io/os") == Some("windows")
                || selector("beta.kubernetes.io/os") == Some("windows")
                || spec
                    .os
                    .as_ref()
                    .and_then(|os| os.name.as_ref())
                    .map(|n| &*n.0)
                    == Some("windows")
        });

        let (plan, volume) = match identity {
            Identity::WebIdentity(sa) => {
                let role_arn = sa.role_arn().unwrap_or_default();
                let expiration = pod_expiration
                    .or(sa.token_expiration())
                    .unwrap_or(config.token_expiration)
                    .max(MIN_TOKEN_EXPIRATION);
                let audience = sa.audience().unwrap_or(&config.audience);
                let token_file = token_file(&config.mount_path, IRSA_TOKEN_PATH, windows);
                let plan = Plan {
                    pod_identity: false,
                    volume_name: IRSA_VOLUME_NAME,
                    mount_path: &config.mount_path,
                    credential_env: [(ROLE_ARN, role_arn.to_owned()), (TOKEN_FILE, token_file)],
                    regional_sts: sa.regional_sts().unwrap_or(config.regional_sts),
                    region: config.region.as_deref(),
                    skip,
                };
                let volume = projected_volume(IRSA_VOLUME_NAME, audience, expiration, "token");
                (plan, volume)
            }
            Identity::PodIdentity {
                settings,
                expiration_jitter,
            } => {
                let pi = &config.pod_identity;
                let mut expiration = settings
                    .token_expiration()
                    .map_or(config.token_expiration, |e| e.max(MIN_TOKEN_EXPIRATION));
                if let Some(e) = pod_expiration {
                    expiration = e.max(MIN_TOKEN_EXPIRATION);
                }
                if expiration == DEFAULT_TOKEN_EXPIRATION {
                    expiration = JITTER_FLOOR + i64::from(expiration_jitter % JITTER_SPAN);
                }
                let token_file = token_file(&pi.mount_path, &pi.token_path, windows);
                let plan = Plan {
                    pod_identity: true,
                    volume_name: &pi.volume_name,
                    mount_path: &pi.mount_path,
                    credential_env: [
                        (FULL_URI, pi.full_uri.clone()),
                        (AUTH_TOKEN_FILE, token_file),
                    ],
                    regional_sts: settings.regional_sts().unwrap_or(config.regional_sts),
                    region: config.region.as_deref(),
                    skip,
                };
                let volume =
                    projected_volume(&pi.volume_name, &pi.audience, expiration, &pi.token_path);
                (plan, volume)
            }
        };

        let mut patch = JsonPatch::default();
        if plan.pod_identity {
            let labels = metadata.as_ref().map(|m| m.labels.as_ref());
            label_op(&mut patch, labels, config.style);
        }
        let (volumes, containers, init_containers) = match spec {
            None => {
                // A pod without a spec cannot run; still, never emit a patch that cannot apply.
                patch.push(PatchOperation::add(
                    "/spec".to_owned(),
                    json!({ "volumes": [volume] }),
                ));
                return Ok(patch);
            }
            Some(spec) => (spec.volumes, spec.containers, spec.init_containers),
        };
        match volumes {
            None => patch.push(PatchOperation::add(
                "/spec/volumes".to_owned(),
                json!([volume]),
            )),
            Some(v) if v.iter().any(|v| v.name() == plan.volume_name) => {}
            // First, as upstream, so both styles give the same pod.
            Some(_) => patch.push(PatchOperation::add("/spec/volumes/0".to_owned(), volume)),
        }
        // Upstream always replaces `containers`; a pod without the member (invalid anyway)
        // gets none, so a second pass stays a no-op.
        let present = containers.is_some();
        let containers = containers.unwrap_or_default();
        render(&plan, &mut patch, "containers", containers, present);
        let init_containers = init_containers.unwrap_or_default();
        render(&plan, &mut patch, "initContainers", init_containers, false);
        Ok(patch)
    }
}

impl Plan<'_> {
    /// Decides for one container, with the Go webhook's rules: only `env` names count
    /// (`valueFrom` included, `envFrom` ignored); a container that already has credentials,
    /// a region and the STS setting is left alone entirely, even without the mount.
    fn additions(&self, container: &impl ContainerLike) -> Additions {
        if self.skip.iter().any(|s| s == container.name()) {
            return Additions::default();
        }
        let has = |name| container.has_env(name);
        let credentials = if self.pod_identity {
            has(FULL_URI) || has(AUTH_TOKEN_FILE)
        } else {
            has(ROLE_ARN) || has(TOKEN_FILE)
        };
        let region = has(REGION) || has(DEFAULT_REGION);
        let sts = has(STS_REGIONAL);
        if credentials && region && sts {
            return Additions::default();
        }
        let mut additions = Additions::default();
        if !sts && self.regional_sts {
            additions.env.push((STS_REGIONAL, "regional".to_owned()));
        }
        if let (false, Some(r)) = (region, self.region) {
            additions.env.push((DEFAULT_REGION, r.to_owned()));
            additions.env.push((REGION, r.to_owned()));
        }
        if !credentials {
            additions.env.extend(self.credential_env.iter().cloned());
        }
        additions.mount = !container.has_mount(self.volume_name);
        additions
    }
}

/// Granular: per container, `add …/env/-` for each variable when `env` exists (else one `add`
/// of the array), likewise for `volumeMounts`.
fn render_granular(
    plan: &Plan<'_>,
    patch: &mut JsonPatch,
    field: &str,
    containers: Vec<ContainerView<'_>>,
    _even_if_empty: bool,
) {
    for (index, container) in containers.iter().enumerate() {
        let additions = plan.additions(container);
        let base = format!("/spec/{field}/{index}");
        if !additions.env.is_empty() {
            let entries = additions
                .env
                .into_iter()
                .map(|(name, value)| json!({"name": name, "value": value}));
            append_ops(patch, &base, "env", container.env_present(), entries);
        }
        if additions.mount {
            let mount =
                json!({"name": plan.volume_name, "readOnly": true, "mountPath": plan.mount_path});
            append_ops(
                patch,
                &base,
                "volumeMounts",
                container.mounts_present(),
                std::iter::once(mount),
            );
        }
    }
}

/// Compatible: the whole array re-serialised from typed containers, as the Go webhook does
/// (always for `containers`, for `initContainers` when there are any).
fn render_compatible(
    plan: &Plan<'_>,
    patch: &mut JsonPatch,
    field: &str,
    mut containers: Vec<Container>,
    even_if_empty: bool,
) {
    if !even_if_empty && containers.is_empty() {
        return;
    }
    for container in &mut containers {
        let additions = plan.additions(container);
        if !additions.env.is_empty() {
            let env = container.env.get_or_insert_with(Vec::new);
            env.extend(additions.env.into_iter().map(|(name, value)| EnvVar {
                name: name.to_owned(),
                value: Some(value),
                value_from: None,
            }));
        }
        if additions.mount {
            container
                .volume_mounts
                .get_or_insert_with(Vec::new)
                .push(VolumeMount {
                    name: plan.volume_name.to_owned(),
                    mount_path: plan.mount_path.to_owned(),
                    read_only: Some(true),
                    ..VolumeMount::default()
                });
        }
    }
    patch.push(PatchOperation::add_serialized(
        format!("/spec/{field}"),
        &containers,
    ));
}

/// Appends items to an array member: one `add …/-` per item when the array exists, else one
/// `add` of the whole array.
fn append_ops(
    patch: &mut JsonPatch,
    base: &str,
    member: &str,
    present: bool,
    items: impl Iterator<Item = Value>,
) {
    if present {
        for item in items {
            patch.push(PatchOperation::add(format!("{base}/{member}/-"), item));
        }
    } else {
        patch.push(PatchOperation::add(
            format!("{base}/{member}"),
            Value::Array(items.collect()),
        ));
    }
}

/// The Pod Identity label. `labels` is `None` without metadata, `Some(None)` without labels.
fn label_op(patch: &mut JsonPatch, labels: Option<Option<&StringMap<'_>>>, style: PatchStyle) {
    match labels {
        // Upstream would emit a patch that cannot apply; add the whole metadata instead.
        None => patch.push(PatchOperation::add(
            "/metadata".to_owned(),
            json!({"labels": {POD_IDENTITY_LABEL: "enabled"}}),
        )),
        Some(None) => patch.push(PatchOperation::add(
            "/metadata/labels".to_owned(),
            json!({POD_IDENTITY_LABEL: "enabled"}),
        )),
        Some(Some(labels)) => {
            // Upstream sets it even when present; the granular style only when it changes.
            if labels.get(POD_IDENTITY_LABEL) != Some("enabled") || style == PatchStyle::Compatible
            {
                patch.push(PatchOperation::add(
                    format!(
                        "/metadata/labels/{}",
                        escape_pointer_token(POD_IDENTITY_LABEL)
                    ),
                    Value::from("enabled"),
                ));
            }
        }
    }
}

fn projected_volume(name: &str, audience: &str, expiration: i64, path: &str) -> Value {
    let mut token = Map::new();
    if !audience.is_empty() {
        token.insert("audience".to_owned(), Value::from(audience));
    }
    token.insert("expirationSeconds".to_owned(), Value::from(expiration));
    token.insert("path".to_owned(), Value::from(path));
    json!({"name": name, "projected": {"sources": [{"serviceAccountToken": token}]}})
}

/// The token file's path as containers see it: `mount/token`, cleaned like Go's
/// `filepath.Join`; on Windows nodes `C:` and backslashes.
fn token_file(mount_path: &str, token_path: &str, windows: bool) -> String {
    let joined = clean_path(&format!("{mount_path}/{token_path}"));
    if windows {
        format!("C:{}", joined.replace('/', "\\"))
    } else {
        joined
    }
}

/// Go's `path.Clean` for the paths the webhook joins.
fn clean_path(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_owned(),
        (false, false) => body,
    }
}

#[cfg(test)]
mod tests {
    use super::clean_path;

    #[test]
    fn clean_path_follows_go() {
        for (input, expected) in [
            ("/var/run//secrets/./x/token", "/var/run/secrets/x/token"),
            ("/a/b/../token", "/a/token"),
            ("/../token", "/token"),
            ("/mount/", "/mount"),
            ("a/../..", ".."),
            ("", "."),
        ] {
            assert_eq!(clean_path(input), expected, "{input}");
        }
    }
}
