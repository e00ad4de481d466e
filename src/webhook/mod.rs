//! The pod patch generator and AdmissionReview handling (feature `webhook`), for mutating
//! webhooks that give pods AWS credentials — the behaviour of the EKS pod identity webhook
//! (`amazon-eks-pod-identity-webhook`), for binaries to wrap.
//!
//! # What a pod gets
//!
//! When its ServiceAccount has `eks.amazonaws.com/role-arn` ([`Identity::WebIdentity`]):
//!
//! - a projected volume `aws-iam-token` with a service-account token for the audience
//!   `eks.amazonaws.com/audience` (default `sts.amazonaws.com`) and lifetime
//!   `eks.amazonaws.com/token-expiration` (pod annotation, else ServiceAccount annotation, else
//!   the configured default; never under 600 s);
//! - in every container and init container not named in the pod's
//!   `eks.amazonaws.com/skip-containers`, appended after its own variables and in this order:
//!   `AWS_STS_REGIONAL_ENDPOINTS=regional` (if regional STS is on), `AWS_DEFAULT_REGION` and
//!   `AWS_REGION` (if a region is configured), `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE`;
//!   and a read-only mount of the volume.
//!
//! Nothing the pod already has is overwritten: a variable of a pair suppresses both, a volume
//! or mount of the same name is kept as it is. On Windows nodes the token path is `C:\…`.
//! With [`Identity::PodIdentity`] the pod gets the EKS Pod Identity agent's variables, volume
//! and the `eks.amazonaws.com/pod-identity` label instead.
//!
//! Every decision follows the Go webhook, quirks included (a container that already has
//! credentials, a region and the STS variable is left without the mount); the upstream
//! fixtures are the tests. Where this module knowingly differs:
//!
//! - [`PatchStyle::Granular`] (the default) touches only what changes, so container fields
//!   unknown to the Go structs (aws/amazon-eks-pod-identity-webhook#84, #165, #208) survive;
//!   [`PatchStyle::Compatible`] emits the Go webhook's operations.
//! - Granular patches of a pod that needs nothing are empty, so nothing is sent back.
//! - Windows is also recognised by `spec.os.name` (aws/amazon-eks-pod-identity-webhook#57).
//! - A pod without `metadata` or `spec` still gets a patch that applies; one without a
//!   `containers` member gets no `/spec/containers` operation, so a second pass changes nothing.
//! - Pods are read as raw JSON and only the parts the mutation needs are decoded: a pod that
//!   does not decode is refused with the path of the field at fault.
//! - Malformed AdmissionReviews are answered with the request's `uid` and version, so the
//!   apiserver accepts the denial; a response always carries `apiVersion` and `kind`.
//!
//! Looking up the ServiceAccount and deciding between IRSA and Pod Identity is the caller's
//! part: the `webhook-server` feature's `webhook_server` module does it with a kube-rs cache
//! (`irsa webhook serve`).
//!
//! ```
//! use irsa::webhook::{Identity, PatchStyle, PodMutator, ServiceAccountAnnotations, WebhookConfig};
//! use serde_json::json;
//!
//! let mutator = PodMutator::new(WebhookConfig::builder().region("eu-west-1").build()?);
//! let pod = json!({
//!     "metadata": {"name": "app"},
//!     "spec": {"containers": [{"name": "app", "image": "busybox",
//!                              "env": [{"name": "LOG", "value": "debug"}]}]}
//! });
//! let sa = ServiceAccountAnnotations::from_annotations(
//!     [("eks.amazonaws.com/role-arn", "arn:aws:iam::111122223333:role/s3-reader")],
//!     "eks.amazonaws.com",
//! );
//! let patch = mutator.patch_json(&pod, &Identity::WebIdentity(sa))?;
//! let ops: Vec<(&str, serde_json::Value)> =
//!     patch.operations().iter().map(|op| (op.path(), op.value())).collect();
//! assert_eq!(ops[1], ("/spec/containers/0/env/-",
//!                     json!({"name": "AWS_DEFAULT_REGION", "value": "eu-west-1"})));
//! assert_eq!(ops.len(), 6); // volume, 4 variables, 1 mount
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod admission;
mod annotations;
mod config;
mod container_credentials;
mod mutate;
mod patch;
mod view;

pub use admission::{
    ADMISSION_API_VERSIONS, AdmissionError, AdmissionErrorKind, AdmissionRequest,
    AdmissionResponse, MAX_REVIEW_LEN,
};
pub use annotations::{CONTAINER_CREDENTIALS_ANNOTATION, ServiceAccountAnnotations};
pub use config::{
    DEFAULT_ANNOTATION_PREFIX, DEFAULT_AUDIENCE, DEFAULT_MOUNT_PATH, DEFAULT_TOKEN_EXPIRATION,
    IRSA_TOKEN_PATH, IRSA_VOLUME_NAME, MIN_TOKEN_EXPIRATION, PatchStyle, PodIdentityConfig,
    WebhookConfig, WebhookConfigBuilder,
};
pub use container_credentials::{ContainerCredentialsError, ContainerCredentialsIdentities};
pub use mutate::{Identity, POD_IDENTITY_LABEL, PodError, PodMutator};
pub use patch::{JsonPatch, PatchOperation};

/// A webhook setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// A configuration value is out of range.
    #[error("{setting} {input:?} cannot be used: {fix}")]
    InvalidConfig {
        /// Which setting.
        setting: &'static str,
        /// The value given.
        input: String,
        /// How to fix it.
        fix: &'static str,
    },
    /// A patch style other than `granular` or `compatible`.
    #[error("patch style {input:?} is unknown: use granular or compatible")]
    UnknownPatchStyle {
        /// The value given.
        input: String,
    },
}
