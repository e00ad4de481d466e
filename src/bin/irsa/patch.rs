//! `irsa patch`: what the webhook would add to a pod, as a summary for people and as the JSON
//! patch (or AdmissionReview response) it would send.

use std::path::{Path, PathBuf};

use irsa::webhook::{
    AdmissionErrorKind, AdmissionRequest, DEFAULT_ANNOTATION_PREFIX, Identity, JsonPatch,
    PatchStyle, PodMutator, ServiceAccountAnnotations, WebhookConfig,
};
use k8s_openapi::api::core::v1::ServiceAccount;
use serde_json::Value;

use crate::io::{CliError, read_text};
use crate::render::{BAD, BOLD, DIM, FAIL, OK, PASS, Report, Text, clean, count, paint};
use crate::value;

/// Arguments of `irsa patch`.
#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "With -o json: the JSON patch [{\"op\",\"path\",\"value\"}], or the AdmissionReview response. Described in docs/cli-json.md#irsa-patch."
)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["pod", "admission_review"])))]
pub(crate) struct Args {
    /// The pod manifest (YAML or JSON); `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pod: Option<PathBuf>,
    /// An AdmissionReview request (JSON), answered with the AdmissionReview response; `-` reads
    /// stdin.
    #[arg(long, value_name = "FILE")]
    admission_review: Option<PathBuf>,
    /// The pod's ServiceAccount manifest (YAML or JSON), whose annotations choose the role; `-`
    /// reads stdin.
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
    /// The default token lifetime (at least 600 seconds): 86400, 24h, 1h30m.
    #[arg(
        long,
        value_name = "DURATION",
        value_parser = value::duration,
        default_value_t = irsa::webhook::DEFAULT_TOKEN_EXPIRATION.unsigned_abs()
    )]
    token_expiration: u64,
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
pub(crate) fn run(args: Args) -> Result<Report, CliError> {
    let mutator = PodMutator::new(config(&args, args.style)?);
    // The summary reads the granular patch: only what is added, whatever the style sent.
    let granular = PodMutator::new(config(&args, PatchStyle::Granular)?);

    let sa_flag = format!("--service-account {}", args.service_account.display());
    let sa: ServiceAccount = serde_json::from_value(manifest(
        "--service-account",
        &args.service_account,
        "ServiceAccount",
    )?)
    .map_err(|e| CliError::input(sa_flag, format!("not a ServiceAccount ({e})")))?;
    let settings = ServiceAccountAnnotations::from_service_account(&sa, &args.annotation_prefix);
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
        let pod_flag = || format!("--pod {}", pod_path.display());
        let pod = manifest("--pod", pod_path, "Pod")?;
        let patch = mutator
            .patch_json(&pod, &identity)
            .map_err(|e| CliError::input(pod_flag(), e))?;
        let added = granular
            .patch_json(&pod, &identity)
            .map_err(|e| CliError::input(pod_flag(), e))?;
        let mut text = Text::default();
        summary(&mut text, &pod, &added, &patch, args.style);
        return Ok(Report {
            human: text.into_string(),
            json: patch.to_json(),
            refused: false,
        });
    }
    let Some(review_path) = &args.admission_review else {
        return Err(CliError::input(
            "irsa patch",
            "give --pod or --admission-review",
        ));
    };
    let review_flag = format!("--admission-review {}", review_path.display());
    let body = read_text("--admission-review", review_path)?;
    let request = match AdmissionRequest::from_slice(body.as_bytes()) {
        Ok(request) => request,
        // A review of another kind of object is answered as the webhook server answers it:
        // denied, with the message saying how to register the webhook.
        Err(e) if matches!(e.kind(), AdmissionErrorKind::NotAPod { .. }) => {
            let response = e.response(false);
            let json = review_json(&response, &review_flag)?;
            let uid = serde_json::from_str::<Value>(&json)
                .ok()
                .and_then(|v| v.pointer("/response/uid")?.as_str().map(str::to_owned))
                .unwrap_or_default();
            let mut text = Text::default();
            text.line(format_args!(
                "{} review {}: {}",
                paint(BAD, format_args!("{FAIL} denied:")),
                clean(&uid),
                clean(response.message().unwrap_or_default())
            ));
            return Ok(Report {
                human: text.into_string(),
                json,
                refused: false,
            });
        }
        Err(e) => return Err(CliError::input(review_flag, e)),
    };
    let response = request.respond(&mutator, Some(&identity), false);
    if let Some(message) = response.message() {
        return Err(CliError::input(review_flag, message.to_owned()));
    }
    let mut text = Text::default();
    text.line(format_args!(
        "{} review {} ({} {} in {})",
        paint(OK, format_args!("{PASS} allowed:")),
        clean(request.uid()),
        request.operation().unwrap_or("CREATE"),
        paint(BOLD, "pod"),
        clean(request.namespace())
    ));
    if response.patch().is_some() {
        let pod: Value = serde_json::from_str(request.pod_json()).unwrap_or(Value::Null);
        let added = granular
            .patch_slice(request.pod_json().as_bytes(), &identity)
            .map_err(|e| CliError::input(review_flag.clone(), e))?;
        let sent = response.patch().cloned().unwrap_or(added.clone());
        summary(&mut text, &pod, &added, &sent, args.style);
    } else {
        text.line("  nothing to add: the pod is admitted unchanged");
    }
    Ok(Report {
        human: text.into_string(),
        json: review_json(&response, &review_flag)?,
        refused: !response.allowed(),
    })
}

fn config(args: &Args, style: PatchStyle) -> Result<WebhookConfig, CliError> {
    let expiration = i64::try_from(args.token_expiration).unwrap_or(i64::MAX);
    let mut config = WebhookConfig::builder()
        .annotation_prefix(args.annotation_prefix.clone())
        .regional_sts(args.sts_regional_endpoints)
        .token_expiration(expiration)
        .audience(args.audience.clone())
        .mount_path(args.mount_path.clone())
        .style(style);
    if let Some(region) = &args.region {
        config = config.region(region.clone());
    }
    config.build().map_err(|e| CliError::input("irsa patch", e))
}

fn review_json(
    response: &irsa::webhook::AdmissionResponse,
    flag: &str,
) -> Result<String, CliError> {
    String::from_utf8(response.to_vec()).map_err(|e| CliError::input(flag, e.to_string()))
}

/// What the webhook adds, read from the granular patch `added`, and the size of the patch
/// `sent` in `style`.
fn summary(text: &mut Text, pod: &Value, added: &JsonPatch, sent: &JsonPatch, style: PatchStyle) {
    if added.is_empty() {
        text.line(format_args!(
            "{} the pod is admitted unchanged",
            paint(BOLD, "nothing to add:")
        ));
        text.line(paint(
            DIM,
            "(the ServiceAccount names no role, or the pod already has what the webhook adds)",
        ));
        return;
    }
    text.line(paint(BOLD, "the webhook adds:"));
    // (what, where) pairs in patch order, grouped below by where.
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for op in added.operations() {
        for (place, item) in describe(pod, op.path(), &op.value()) {
            match groups.iter_mut().find(|(p, _)| *p == place) {
                Some((_, items)) => items.push(item),
                None => groups.push((place, vec![item])),
            }
        }
    }
    for (place, items) in groups {
        text.line(format_args!("  {}", paint(BOLD, place)));
        for item in items {
            text.line(format_args!("    {item}"));
        }
    }
    let style = match style {
        PatchStyle::Compatible => "compatible",
        _ => "granular",
    };
    text.line(paint(
        DIM,
        format_args!(
            "the {style} JSON patch has {}; -o json prints it",
            count(sent.len(), "operation", "operations")
        ),
    ));
}

/// Where an `add` at `path` lands and what each added item is, in words.
fn describe(pod: &Value, path: &str, value: &Value) -> Vec<(String, String)> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // One item (`…/-` or `…/N`) or a whole new list.
    let items = |v: &Value| -> Vec<Value> {
        match v {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        }
    };
    match segments.as_slice() {
        ["spec", "volumes", ..] => items(value)
            .iter()
            .map(|v| ("pod".to_owned(), volume(v)))
            .collect(),
        [
            "spec",
            list @ ("containers" | "initContainers"),
            index,
            field,
            ..,
        ] => {
            let name = index
                .parse::<usize>()
                .ok()
                .and_then(|i| pod.get("spec")?.get(*list)?.get(i)?.get("name")?.as_str())
                .map_or_else(|| format!("#{index}"), |n| clean(n).into_owned());
            let kind = if *list == "containers" {
                "container"
            } else {
                "init container"
            };
            let place = format!("{kind} {name}");
            items(value)
                .iter()
                .map(|v| (place.clone(), container_item(field, v)))
                .collect()
        }
        _ => vec![(
            "pod".to_owned(),
            format!("{} {}", clean(path), paint(DIM, clean(&value.to_string()))),
        )],
    }
}

fn volume(v: &Value) -> String {
    let name = v.get("name").and_then(Value::as_str).unwrap_or("?");
    let token = v
        .pointer("/projected/sources/0/serviceAccountToken")
        .filter(|t| t.is_object());
    match token {
        Some(t) => {
            let audience = t.get("audience").and_then(Value::as_str).unwrap_or("?");
            let seconds = t.get("expirationSeconds").and_then(Value::as_i64);
            let lifetime = seconds.map_or_else(String::new, |s| {
                format!(", valid for {}", crate::render::span(s.unsigned_abs()))
            });
            format!(
                "volume {}: projected service-account token for audience {}{lifetime}",
                paint(BOLD, name),
                clean(audience)
            )
        }
        None => format!("volume {}", paint(BOLD, name)),
    }
}

fn container_item(field: &str, v: &Value) -> String {
    let text = |key: &str| v.get(key).and_then(Value::as_str).map(clean);
    match field {
        "env" => {
            let name = text("name").unwrap_or_default();
            match text("value") {
                Some(value) => format!("env {}={value}", paint(BOLD, name)),
                None => format!(
                    "env {} {}",
                    paint(BOLD, name),
                    paint(DIM, "(from a reference)")
                ),
            }
        }
        "volumeMounts" => {
            let read_only = if v.get("readOnly").and_then(Value::as_bool) == Some(true) {
                " (read-only)"
            } else {
                ""
            };
            format!(
                "mount {} at {}{read_only}",
                paint(BOLD, text("name").unwrap_or_default()),
                text("mountPath").unwrap_or_default()
            )
        }
        other => format!("{} {}", clean(other), paint(DIM, clean(&v.to_string()))),
    }
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
