//! `irsa patch`: the JSON patch (or AdmissionReview response) the webhook would send for a pod.

use std::path::{Path, PathBuf};

use irsa::webhook::{
    AdmissionRequest, DEFAULT_ANNOTATION_PREFIX, Identity, PatchStyle, PodMutator,
    ServiceAccountSettings, WebhookConfig,
};
use k8s_openapi::api::core::v1::ServiceAccount;
use serde_json::Value;

use crate::io::{CliError, read_text};

/// Arguments of `irsa patch`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["pod", "admission_review"])))]
pub(crate) struct Args {
    /// The pod manifest (YAML or JSON).
    #[arg(long, value_name = "FILE")]
    pod: Option<PathBuf>,
    /// An AdmissionReview request (JSON), answered with the AdmissionReview response.
    #[arg(long, value_name = "FILE")]
    admission_review: Option<PathBuf>,
    /// The pod's ServiceAccount manifest (YAML or JSON), whose annotations choose the role.
    #[arg(long, value_name = "FILE")]
    service_account: PathBuf,
    /// The prefix of the annotations read.
    #[arg(long, value_name = "PREFIX", default_value = DEFAULT_ANNOTATION_PREFIX)]
    annotation_prefix: String,
    /// Inject AWS_REGION and AWS_DEFAULT_REGION with this region.
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// Inject AWS_STS_REGIONAL_ENDPOINTS=regional unless the ServiceAccount says otherwise.
    #[arg(long)]
    sts_regional_endpoints: bool,
    /// The default token lifetime in seconds (at least 600).
    #[arg(long, value_name = "SECONDS", default_value_t = irsa::webhook::DEFAULT_TOKEN_EXPIRATION)]
    token_expiration: i64,
    /// The default token audience.
    #[arg(long, value_name = "AUDIENCE", default_value = irsa::webhook::DEFAULT_AUDIENCE)]
    audience: String,
    /// Where the token volume is mounted.
    #[arg(long, value_name = "PATH", default_value = irsa::webhook::DEFAULT_MOUNT_PATH)]
    mount_path: String,
    /// Give the pod EKS Pod Identity (the agent's endpoint) instead of IRSA.
    #[arg(long)]
    pod_identity: bool,
    /// granular (only what changes; keeps unknown fields) or compatible (the Go webhook's ops).
    #[arg(long, value_name = "STYLE", default_value = "granular")]
    style: PatchStyle,
}

/// The patch or response, and whether the pod was refused.
pub(crate) fn run(args: Args) -> Result<(String, bool), CliError> {
    let mut config = WebhookConfig::builder()
        .annotation_prefix(args.annotation_prefix.clone())
        .regional_sts(args.sts_regional_endpoints)
        .token_expiration(args.token_expiration)
        .audience(args.audience)
        .mount_path(args.mount_path)
        .style(args.style);
    if let Some(region) = args.region {
        config = config.region(region);
    }
    let config = config
        .build()
        .map_err(|e| CliError::input("irsa patch", e))?;
    let mutator = PodMutator::new(config);

    let sa_flag = format!("--service-account {}", args.service_account.display());
    let sa: ServiceAccount = serde_json::from_value(manifest(
        "--service-account",
        &args.service_account,
        "ServiceAccount",
    )?)
    .map_err(|e| CliError::input(sa_flag, format!("not a ServiceAccount ({e})")))?;
    let settings = ServiceAccountSettings::from_service_account(&sa, &args.annotation_prefix);
    let identity = if args.pod_identity {
        Identity::PodIdentity {
            settings,
            // The upstream webhook draws this at random; a command's output should be
            // reproducible, so the lifetime of a default token is the low end (79200 s).
            expiration_jitter: 0,
        }
    } else {
        Identity::WebIdentity(settings)
    };

    if let Some(pod_path) = &args.pod {
        let pod = manifest("--pod", pod_path, "Pod")?;
        let patch = mutator
            .patch_json(&pod, &identity)
            .map_err(|e| CliError::input(format!("--pod {}", pod_path.display()), e))?;
        return Ok((patch.to_json(), false));
    }
    let Some(review_path) = &args.admission_review else {
        return Err(CliError::input(
            "irsa patch",
            "give --pod or --admission-review",
        ));
    };
    let review_flag = format!("--admission-review {}", review_path.display());
    let body = read_text("--admission-review", review_path)?;
    let request = AdmissionRequest::from_slice(body.as_bytes())
        .map_err(|e| CliError::input(review_flag.clone(), e))?;
    let response = request.respond(&mutator, Some(&identity), false);
    if let Some(message) = response.message() {
        return Err(CliError::input(review_flag, message.to_owned()));
    }
    let text = String::from_utf8(response.to_vec())
        .map_err(|e| CliError::input(review_flag, e.to_string()))?;
    Ok((text, !response.allowed()))
}

/// Reads a Kubernetes manifest in YAML or JSON, checking its `kind` when it has one.
fn manifest(flag: &str, path: &Path, kind: &str) -> Result<Value, CliError> {
    let name = || format!("{flag} {}", path.display());
    let text = read_text(flag, path)?;
    let value: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(&text)
            .map_err(|e| CliError::input(name(), format!("not valid JSON ({e})")))?
    } else {
        serde_norway::from_str(&text)
            .map_err(|e| CliError::input(name(), format!("not valid YAML ({e})")))?
    };
    if !value.is_object() {
        return Err(CliError::input(
            name(),
            format!("not a {kind} manifest (expected a mapping)"),
        ));
    }
    match value.get("kind").and_then(Value::as_str) {
        Some(found) if found != kind => Err(CliError::input(
            name(),
            format!("the manifest is a {found}, not a {kind}"),
        )),
        _ => Ok(value),
    }
}
