//! The pod mutation: which containers get which variables and mounts, rendered in either style.

use k8s_openapi::api::core::v1::{Container, EnvVar, Pod, VolumeMount};
use serde_json::{Map, Value, json};

use super::annotations::{ServiceAccountSettings, parse_go_csv_record, parse_go_int};
use super::config::{
    DEFAULT_TOKEN_EXPIRATION, IRSA_TOKEN_PATH, IRSA_VOLUME_NAME, MIN_TOKEN_EXPIRATION, PatchStyle,
    WebhookConfig,
};
use super::patch::{JsonPatch, PatchOperation, escape_pointer_token};

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
    WebIdentity(ServiceAccountSettings),
    /// EKS Pod Identity: the ServiceAccount is associated with a role (the Go webhook's
    /// container-credentials file lists it). It takes precedence over any `role-arn`; only the
    /// ServiceAccount's `sts-regional-endpoints` and `token-expiration` are read.
    PodIdentity {
        /// The ServiceAccount's settings.
        settings: ServiceAccountSettings,
        /// A uniformly random number drawn per pod: a lifetime of exactly 86400 s becomes
        /// `79200 + jitter % 7201`. Pass 0 to reproduce the upstream tests.
        expiration_jitter: u32,
    },
}

/// What is wrong with a pod that cannot be patched. Such pods would also fail to decode in the
/// Go webhook; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PodError {
    /// A field has the wrong JSON type.
    #[error("pod field {path} must be {expected}")]
    WrongType {
        /// Where, e.g. `spec.containers[0].env`.
        path: String,
        /// What it must be, e.g. `an array`.
        expected: &'static str,
    },
    /// A container does not decode as a Kubernetes container (compatible style only).
    #[error("pod field {path} is not a valid container: {reason}")]
    InvalidContainer {
        /// Where, e.g. `spec.containers[1]`.
        path: String,
        /// What the decoder said.
        reason: String,
    },
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
        let value = serde_json::to_value(pod).map_err(|e| PodError::InvalidContainer {
            path: "pod".to_owned(),
            reason: e.to_string(),
        })?;
        self.patch_json(&value, identity)
    }

    /// The patch for a pod given as JSON (as it arrives in an AdmissionReview). Empty when the
    /// identity asks for nothing (no `role-arn`) or, in the granular style, when the pod already
    /// has everything.
    ///
    /// ```
    /// use irsa::webhook::{Identity, PodMutator, ServiceAccountSettings, WebhookConfig};
    /// use serde_json::json;
    ///
    /// let mutator = PodMutator::new(WebhookConfig::default());
    /// let pod = json!({"metadata": {"name": "app"},
    ///                  "spec": {"containers": [{"name": "app", "image": "busybox"}]}});
    /// let sa = ServiceAccountSettings::default()
    ///     .with_role_arn("arn:aws:iam::111122223333:role/s3-reader");
    /// let patch = mutator.patch_json(&pod, &Identity::WebIdentity(sa))?;
    /// let paths: Vec<&str> = patch.operations().iter().map(|op| op.path()).collect();
    /// assert_eq!(paths, ["/spec/volumes", "/spec/containers/0/env", "/spec/containers/0/volumeMounts"]);
    /// # Ok::<(), irsa::webhook::PodError>(())
    /// ```
    pub fn patch_json(&self, pod: &Value, identity: &Identity) -> Result<JsonPatch, PodError> {
        let pod = as_object(pod, "pod")?;
        let metadata = optional_object(pod, "metadata", "metadata")?;
        let spec = optional_object(pod, "spec", "spec")?;
        let annotations = match metadata {
            Some(m) => optional_object(m, "annotations", "metadata.annotations")?,
            None => None,
        };
        let pod_annotation = |suffix: &str| {
            annotations
                .and_then(|a| a.get(&self.config.annotation(suffix)))
                .and_then(Value::as_str)
        };
        let pod_expiration = pod_annotation("token-expiration").and_then(parse_go_int);
        let skip = pod_annotation("skip-containers")
            .map(parse_go_csv_record)
            .unwrap_or_default();

        let config = &self.config;
        let (plan, volume) = match identity {
            Identity::WebIdentity(sa) => {
                let Some(role_arn) = sa.role_arn() else {
                    return Ok(JsonPatch::default());
                };
                let expiration = pod_expiration
                    .or(sa.token_expiration())
                    .unwrap_or(config.token_expiration)
                    .max(MIN_TOKEN_EXPIRATION);
                let audience = sa.audience().unwrap_or(&config.audience);
                let token_file = token_file(&config.mount_path, IRSA_TOKEN_PATH, spec)?;
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
                let token_file = token_file(&pi.mount_path, &pi.token_path, spec)?;
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
            label_op(&mut patch, metadata, config.style)?;
        }
        volume_op(&mut patch, spec, plan.volume_name, volume)?;
        for (field, always) in [("containers", true), ("initContainers", false)] {
            let containers = match spec.map(|s| s.get(field)) {
                None | Some(None | Some(Value::Null)) => &[][..],
                Some(Some(Value::Array(items))) => items.as_slice(),
                Some(Some(_)) => {
                    return Err(PodError::WrongType {
                        path: format!("spec.{field}"),
                        expected: "an array",
                    });
                }
            };
            match config.style {
                PatchStyle::Granular => {
                    for (i, container) in containers.iter().enumerate() {
                        let path = format!("spec.{field}[{i}]");
                        let container = as_object(container, &path)?;
                        let additions = plan.additions(container, &path)?;
                        granular_container_ops(&mut patch, field, i, container, &plan, additions);
                    }
                }
                PatchStyle::Compatible => {
                    if !always && containers.is_empty() {
                        continue;
                    }
                    let mut typed = Vec::with_capacity(containers.len());
                    for (i, container) in containers.iter().enumerate() {
                        let path = format!("spec.{field}[{i}]");
                        let additions = plan.additions(as_object(container, &path)?, &path)?;
                        typed.push(plan.typed_container(container, &path, additions)?);
                    }
                    patch.push(PatchOperation::add(
                        format!("/spec/{field}"),
                        serde_json::to_value(typed).unwrap_or(Value::Null),
                    ));
                }
            }
        }
        Ok(patch)
    }
}

impl Plan<'_> {
    /// Decides for one container, with the Go webhook's rules: only `env` names count
    /// (`valueFrom` included, `envFrom` ignored); a container that already has credentials,
    /// a region and the STS setting is left alone entirely, even without the mount.
    fn additions(&self, container: &Map<String, Value>, path: &str) -> Result<Additions, PodError> {
        let name = container.get("name").and_then(Value::as_str).unwrap_or("");
        if self.skip.iter().any(|s| s == name) {
            return Ok(Additions::default());
        }
        let has = |wanted: &str| -> Result<bool, PodError> {
            names_in(container, "env", path).map(|mut names| names.any(|n| n == wanted))
        };
        let (a, b) = if self.pod_identity {
            (FULL_URI, AUTH_TOKEN_FILE)
        } else {
            (ROLE_ARN, TOKEN_FILE)
        };
        let credentials = has(a)? || has(b)?;
        let region = has(REGION)? || has(DEFAULT_REGION)?;
        let sts = has(STS_REGIONAL)?;
        if credentials && region && sts {
            return Ok(Additions::default());
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
        additions.mount =
            !names_in(container, "volumeMounts", path)?.any(|n| n == self.volume_name);
        Ok(additions)
    }

    fn typed_container(
        &self,
        raw: &Value,
        path: &str,
        additions: Additions,
    ) -> Result<Container, PodError> {
        let mut container =
            Container::deserialize_from(raw).map_err(|e| PodError::InvalidContainer {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
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
                    name: self.volume_name.to_owned(),
                    mount_path: self.mount_path.to_owned(),
                    read_only: Some(true),
                    ..VolumeMount::default()
                });
        }
        Ok(container)
    }
}

/// Decoding a typed container from a borrowed JSON value.
trait DeserializeFrom: Sized {
    fn deserialize_from(value: &Value) -> Result<Self, serde_json::Error>;
}

impl DeserializeFrom for Container {
    fn deserialize_from(value: &Value) -> Result<Self, serde_json::Error> {
        serde::Deserialize::deserialize(value)
    }
}

fn granular_container_ops(
    patch: &mut JsonPatch,
    field: &str,
    index: usize,
    container: &Map<String, Value>,
    plan: &Plan<'_>,
    additions: Additions,
) {
    let base = format!("/spec/{field}/{index}");
    if !additions.env.is_empty() {
        let entries = additions
            .env
            .into_iter()
            .map(|(name, value)| json!({"name": name, "value": value}));
        append_ops(patch, &base, "env", container, entries);
    }
    if additions.mount {
        let mount =
            json!({"name": plan.volume_name, "readOnly": true, "mountPath": plan.mount_path});
        append_ops(
            patch,
            &base,
            "volumeMounts",
            container,
            std::iter::once(mount),
        );
    }
}

/// Appends items to an array member: one `add …/-` per item when the array exists, else one
/// `add` of the whole array.
fn append_ops(
    patch: &mut JsonPatch,
    base: &str,
    member: &str,
    parent: &Map<String, Value>,
    items: impl Iterator<Item = Value>,
) {
    if matches!(parent.get(member), Some(Value::Array(_))) {
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

fn label_op(
    patch: &mut JsonPatch,
    metadata: Option<&Map<String, Value>>,
    style: PatchStyle,
) -> Result<(), PodError> {
    let Some(metadata) = metadata else {
        // Upstream would emit a patch that cannot apply; add the whole metadata instead.
        patch.push(PatchOperation::add(
            "/metadata".to_owned(),
            json!({"labels": {POD_IDENTITY_LABEL: "enabled"}}),
        ));
        return Ok(());
    };
    match optional_object(metadata, "labels", "metadata.labels")? {
        None => patch.push(PatchOperation::add(
            "/metadata/labels".to_owned(),
            json!({POD_IDENTITY_LABEL: "enabled"}),
        )),
        Some(labels) => {
            let present = labels.get(POD_IDENTITY_LABEL).and_then(Value::as_str) == Some("enabled");
            if !present || style == PatchStyle::Compatible {
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
    Ok(())
}

/// The projected volume, unless the pod has a volume of that name already (of any kind). Like
/// upstream, it goes first in an existing list so both styles give the same pod.
fn volume_op(
    patch: &mut JsonPatch,
    spec: Option<&Map<String, Value>>,
    name: &str,
    volume: Value,
) -> Result<(), PodError> {
    let Some(spec) = spec else {
        // A pod without a spec cannot run; still, never emit a patch that cannot apply.
        patch.push(PatchOperation::add(
            "/spec".to_owned(),
            json!({ "volumes": [volume] }),
        ));
        return Ok(());
    };
    match spec.get("volumes") {
        None | Some(Value::Null) => {
            patch.push(PatchOperation::add(
                "/spec/volumes".to_owned(),
                json!([volume]),
            ));
        }
        Some(Value::Array(_)) => {
            if !names_in(spec, "volumes", "spec")?.any(|n| n == name) {
                patch.push(PatchOperation::add("/spec/volumes/0".to_owned(), volume));
            }
        }
        Some(_) => {
            return Err(PodError::WrongType {
                path: "spec.volumes".to_owned(),
                expected: "an array",
            });
        }
    }
    Ok(())
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
fn token_file(
    mount_path: &str,
    token_path: &str,
    spec: Option<&Map<String, Value>>,
) -> Result<String, PodError> {
    let joined = clean_path(&format!("{mount_path}/{token_path}"));
    if is_windows(spec)? {
        Ok(format!("C:{}", joined.replace('/', "\\")))
    } else {
        Ok(joined)
    }
}

/// Windows pods, as upstream detects them (`kubernetes.io/os` or `beta.kubernetes.io/os` node
/// selectors), and also by `spec.os.name`, which upstream ignores (its issue #57).
fn is_windows(spec: Option<&Map<String, Value>>) -> Result<bool, PodError> {
    let Some(spec) = spec else { return Ok(false) };
    let selector = optional_object(spec, "nodeSelector", "spec.nodeSelector")?;
    let by_selector = ["kubernetes.io/os", "beta.kubernetes.io/os"]
        .iter()
        .any(|k| selector.and_then(|s| s.get(*k)).and_then(Value::as_str) == Some("windows"));
    let by_os = optional_object(spec, "os", "spec.os")?
        .and_then(|os| os.get("name"))
        .and_then(Value::as_str)
        == Some("windows");
    Ok(by_selector || by_os)
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

fn as_object<'v>(value: &'v Value, path: &str) -> Result<&'v Map<String, Value>, PodError> {
    value.as_object().ok_or_else(|| PodError::WrongType {
        path: path.to_owned(),
        expected: "an object",
    })
}

fn optional_object<'v>(
    parent: &'v Map<String, Value>,
    member: &str,
    path: &str,
) -> Result<Option<&'v Map<String, Value>>, PodError> {
    match parent.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(PodError::WrongType {
            path: path.to_owned(),
            expected: "an object",
        }),
    }
}

/// The `name`s of the objects in an array member (`env`, `volumeMounts`, `volumes`).
fn names_in<'v>(
    parent: &'v Map<String, Value>,
    member: &str,
    path: &str,
) -> Result<impl Iterator<Item = &'v str>, PodError> {
    let items = match parent.get(member) {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(items)) => items.as_slice(),
        Some(_) => {
            return Err(PodError::WrongType {
                path: format!("{path}.{member}"),
                expected: "an array",
            });
        }
    };
    for (i, item) in items.iter().enumerate() {
        if !item.is_object() {
            return Err(PodError::WrongType {
                path: format!("{path}.{member}[{i}]"),
                expected: "an object",
            });
        }
    }
    Ok(items
        .iter()
        .filter_map(|item| item.get("name").and_then(Value::as_str)))
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
