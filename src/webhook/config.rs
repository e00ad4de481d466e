//! What the webhook operator chooses once: the settings the Go webhook takes as flags.

use super::WebhookError;

/// The annotation prefix the EKS pod identity webhook reads by default (`--annotation-prefix`).
pub const DEFAULT_ANNOTATION_PREFIX: &str = "eks.amazonaws.com";
/// The projected token's audience when the ServiceAccount names none (`--token-audience`).
pub use crate::oidc::DEFAULT_AUDIENCE;
/// The projected token's lifetime in seconds when nothing else is set (`--token-expiration`).
pub const DEFAULT_TOKEN_EXPIRATION: i64 = 86_400;
/// The shortest token lifetime the kubelet accepts; shorter requests are raised to it.
pub const MIN_TOKEN_EXPIRATION: i64 = 600;
/// Where the IRSA token volume is mounted (`--token-mount-path`).
pub const DEFAULT_MOUNT_PATH: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
/// The IRSA projected volume's name (fixed in the Go webhook).
pub const IRSA_VOLUME_NAME: &str = "aws-iam-token";
/// The IRSA token's file name inside the volume (fixed in the Go webhook).
pub const IRSA_TOKEN_PATH: &str = "token";

/// How the generated JSON patch is shaped. Both styles give the same pod on every upstream
/// fixture; they differ in what survives of fields this crate does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PatchStyle {
    /// Operations that touch only what changes (`/spec/containers/0/env/-`, …), so unknown and
    /// newer container fields survive. The default.
    #[default]
    Granular,
    /// The Go webhook's operations: whole `/spec/containers` and `/spec/initContainers`
    /// replacements re-serialised from typed structs, so fields k8s-openapi does not know are
    /// dropped, exactly as upstream does (aws/amazon-eks-pod-identity-webhook#84, #165, #208).
    Compatible,
}

impl std::str::FromStr for PatchStyle {
    type Err = WebhookError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "granular" => Ok(Self::Granular),
            "compatible" => Ok(Self::Compatible),
            _ => Err(WebhookError::UnknownPatchStyle {
                input: s.to_owned(),
            }),
        }
    }
}

/// EKS Pod Identity (container credentials) settings: what a pod gets when its ServiceAccount is
/// associated with a role through Pod Identity rather than an IRSA annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PodIdentityConfig {
    /// The token's audience (`--container-credentials-audience`).
    pub audience: String,
    /// Where the token volume is mounted (`--container-credentials-token-mount-path`).
    pub mount_path: String,
    /// The projected volume's name (`--container-credentials-token-volume-name`).
    pub volume_name: String,
    /// The token's file name in the volume (`--container-credentials-token-path`).
    pub token_path: String,
    /// The agent's credentials endpoint (`--container-credentials-full-uri`).
    pub full_uri: String,
}

impl Default for PodIdentityConfig {
    fn default() -> Self {
        Self {
            audience: "pods.eks.amazonaws.com".to_owned(),
            mount_path: "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount".to_owned(),
            volume_name: "eks-pod-identity-token".to_owned(),
            token_path: "eks-pod-identity-token".to_owned(),
            full_uri: "http://169.254.170.23/v1/credentials".to_owned(),
        }
    }
}

/// The operator's settings, the counterpart of the Go webhook's flags. Build it with
/// [`WebhookConfig::builder`]; every setting has the upstream default.
///
/// ```
/// use irsa::webhook::{PatchStyle, WebhookConfig};
///
/// let config = WebhookConfig::builder()
///     .region("eu-west-1")
///     .regional_sts(true)
///     .style(PatchStyle::Compatible)
///     .build()?;
/// assert_eq!(config.annotation_prefix(), "eks.amazonaws.com");
/// assert_eq!(config.token_expiration(), 86_400);
/// # Ok::<(), irsa::webhook::WebhookError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    pub(super) annotation_prefix: String,
    pub(super) audience: String,
    pub(super) token_expiration: i64,
    pub(super) mount_path: String,
    pub(super) region: Option<String>,
    pub(super) regional_sts: bool,
    pub(super) pod_identity: PodIdentityConfig,
    pub(super) style: PatchStyle,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            annotation_prefix: DEFAULT_ANNOTATION_PREFIX.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            token_expiration: DEFAULT_TOKEN_EXPIRATION,
            mount_path: DEFAULT_MOUNT_PATH.to_owned(),
            region: None,
            regional_sts: false,
            pod_identity: PodIdentityConfig::default(),
            style: PatchStyle::default(),
        }
    }
}

impl WebhookConfig {
    /// A builder starting from the upstream defaults.
    pub fn builder() -> WebhookConfigBuilder {
        WebhookConfigBuilder {
            config: Self::default(),
        }
    }

    /// The prefix of the ServiceAccount and pod annotations read (`eks.amazonaws.com`).
    pub fn annotation_prefix(&self) -> &str {
        &self.annotation_prefix
    }

    /// The default token audience.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The default token lifetime in seconds (at least [`MIN_TOKEN_EXPIRATION`]).
    pub fn token_expiration(&self) -> i64 {
        self.token_expiration
    }

    /// Where the IRSA token volume is mounted.
    pub fn mount_path(&self) -> &str {
        &self.mount_path
    }

    /// The region injected as `AWS_REGION` and `AWS_DEFAULT_REGION`, if any.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// Whether `AWS_STS_REGIONAL_ENDPOINTS=regional` is injected unless a ServiceAccount says
    /// otherwise.
    pub fn regional_sts(&self) -> bool {
        self.regional_sts
    }

    /// The EKS Pod Identity settings.
    pub fn pod_identity(&self) -> &PodIdentityConfig {
        &self.pod_identity
    }

    /// The patch style.
    pub fn style(&self) -> PatchStyle {
        self.style
    }

    pub(super) fn annotation(&self, suffix: &str) -> String {
        format!("{}/{suffix}", self.annotation_prefix)
    }
}

/// Builds a [`WebhookConfig`]; see there.
#[derive(Debug, Clone)]
pub struct WebhookConfigBuilder {
    config: WebhookConfig,
}

impl WebhookConfigBuilder {
    /// The annotation prefix (default `eks.amazonaws.com`); it names no label or volume.
    #[must_use]
    pub fn annotation_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.annotation_prefix = prefix.into();
        self
    }

    /// The default token audience (default `sts.amazonaws.com`).
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.config.audience = audience.into();
        self
    }

    /// The default token lifetime in seconds (default 86400; raised to 600 when lower).
    #[must_use]
    pub fn token_expiration(mut self, seconds: i64) -> Self {
        self.config.token_expiration = seconds;
        self
    }

    /// Where the IRSA token volume is mounted (an absolute path).
    #[must_use]
    pub fn mount_path(mut self, path: impl Into<String>) -> Self {
        self.config.mount_path = path.into();
        self
    }

    /// The region to inject as `AWS_REGION` and `AWS_DEFAULT_REGION` (default: none).
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.config.region = Some(region.into());
        self
    }

    /// Inject `AWS_STS_REGIONAL_ENDPOINTS=regional` by default (default `false`, as upstream).
    #[must_use]
    pub fn regional_sts(mut self, regional: bool) -> Self {
        self.config.regional_sts = regional;
        self
    }

    /// The EKS Pod Identity settings.
    #[must_use]
    pub fn pod_identity(mut self, pod_identity: PodIdentityConfig) -> Self {
        self.config.pod_identity = pod_identity;
        self
    }

    /// The patch style (default [`PatchStyle::Granular`]).
    #[must_use]
    pub fn style(mut self, style: PatchStyle) -> Self {
        self.config.style = style;
        self
    }

    /// Checks the settings: the prefix must be a DNS-subdomain-like annotation prefix, the
    /// mount paths absolute, the region non-empty.
    pub fn build(self) -> Result<WebhookConfig, WebhookError> {
        let mut config = self.config;
        let prefix = &config.annotation_prefix;
        let prefix_ok = !prefix.is_empty()
            && prefix.len() <= 253
            && prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && !prefix.starts_with(['-', '.'])
            && !prefix.ends_with(['-', '.']);
        if !prefix_ok {
            return Err(WebhookError::InvalidConfig {
                setting: "annotation prefix",
                input: prefix.clone(),
                fix: "use a DNS subdomain such as eks.amazonaws.com (lower-case letters, digits, '-' and '.')",
            });
        }
        for (setting, path) in [
            ("token mount path", &config.mount_path),
            (
                "Pod Identity token mount path",
                &config.pod_identity.mount_path,
            ),
        ] {
            if !path.starts_with('/') {
                return Err(WebhookError::InvalidConfig {
                    setting,
                    input: path.clone(),
                    fix: "give an absolute path such as /var/run/secrets/eks.amazonaws.com/serviceaccount",
                });
            }
        }
        if config.region.as_deref() == Some("") {
            return Err(WebhookError::InvalidConfig {
                setting: "region",
                input: String::new(),
                fix: "name a region such as eu-west-1, or set none",
            });
        }
        config.token_expiration = config.token_expiration.max(MIN_TOKEN_EXPIRATION);
        Ok(config)
    }
}
