//! The pod stage: the webhook's mutation of a pod manifest, or what a pod sees from inside.

use super::InPod;
use super::report::{Check, Verdict};
use crate::arn::RoleArn;
use crate::token::WebIdentityToken;

pub(super) fn check_pod(
    pod: &serde_json::Value,
    role_arn: Option<&RoleArn>,
    audience: &str,
) -> Check {
    use crate::webhook::{
        Identity, PatchStyle, PodMutator, ServiceAccountAnnotations, WebhookConfig,
    };
    let env_role = pod
        .pointer("/spec/containers/0/env")
        .and_then(serde_json::Value::as_array)
        .and_then(|env| env.iter().find(|e| e["name"] == "AWS_ROLE_ARN"))
        .and_then(|e| e["value"].as_str())
        .map(str::to_owned);
    let Some(role) = role_arn.map(ToString::to_string).or(env_role) else {
        return Check::new("pod", Verdict::Fail, "the pod has no AWS_ROLE_ARN and no role was given")
            .fix("annotate the pod's ServiceAccount with eks.amazonaws.com/role-arn, make sure the pod identity webhook runs, and recreate the pod (or give --role-arn)");
    };
    let Ok(config) = WebhookConfig::builder()
        .audience(audience)
        .style(PatchStyle::Granular)
        .build()
    else {
        return Check::new(
            "pod",
            Verdict::Skip,
            "the audience cannot configure the webhook",
        );
    };
    let settings = ServiceAccountAnnotations::default().with_role_arn(role);
    match PodMutator::new(config).patch_json(pod, &Identity::WebIdentity(settings)) {
        Ok(patch) if patch.operations().is_empty() => Check::new(
            "pod",
            Verdict::Pass,
            "the pod has the webhook's variables, token volume and mounts",
        ),
        Ok(patch) => {
            let mut check = Check::new("pod", Verdict::Fail, "the pod was not mutated by the pod identity webhook: it lacks what the webhook adds")
                .fix("the webhook was down or not called when the pod was admitted: check its Deployment and MutatingWebhookConfiguration (namespace and object selectors, failurePolicy), then recreate the pod");
            for op in patch.operations() {
                check = check.evidence(format!("missing: {} {}", op.op(), op.path()));
            }
            check
        }
        Err(e) => Check::new("pod", Verdict::Fail, "the pod manifest cannot be read")
            .evidence(crate::ErrorChain(&e).to_string())
            .fix("give the pod as admitted: kubectl get pod NAME -o json"),
    }
}

pub(super) fn check_in_pod(in_pod: &InPod) -> (Check, Option<WebIdentityToken>) {
    let missing: Vec<&str> = [
        ("AWS_ROLE_ARN", in_pod.role_arn.is_some()),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", in_pod.token_file.is_some()),
    ]
    .into_iter()
    .filter(|(_, set)| !set)
    .map(|(name, _)| name)
    .collect();
    if !missing.is_empty() {
        return (
            Check::new("token-file", Verdict::Fail, format!("the pod's environment lacks {}", missing.join(" and ")))
                .fix("the pod was not mutated by the pod identity webhook: check the ServiceAccount's eks.amazonaws.com/role-arn and the webhook, then recreate the pod"),
            None,
        );
    }
    let path = in_pod
        .token_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let bytes = match &in_pod.token_contents {
        Some(Ok(contents)) => contents.expose(),
        Some(Err(why)) => {
            return (
                Check::new("token-file", Verdict::Fail, format!("{path} cannot be read by this user: {why}"))
                    .fix("the projected token volume is missing or not readable by the container's user: set fsGroup in the pod's securityContext, or check the volume mount"),
                None,
            );
        }
        None => {
            return (
                Check::new("token-file", Verdict::Skip, "the token file was not read"),
                None,
            );
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return (
            Check::new("token-file", Verdict::Fail, format!("{path} is empty"))
                .fix("the kubelet has not written the projected token: check the pod's events"),
            None,
        );
    }
    let token = WebIdentityToken::from_file_contents(bytes.to_vec()).ok();
    let mut check = Check::new(
        "token-file",
        Verdict::Pass,
        format!("{path} holds a token ({} bytes)", bytes.len()),
    );
    // Trailing ASCII white space reaches STS from SDKs that send the file as is, and STS
    // tolerates it (aws-config's recorded traffic: a token ending in %0A judged by its
    // issuer); anything before the token is part of it, and no longer a JWT.
    if bytes.first().is_some_and(u8::is_ascii_whitespace) {
        check = Check::new(
            "token-file",
            Verdict::Warn,
            format!("{path} has white space before the token"),
        )
        .fix(
            "SDKs send the file as is and STS reads it as part of the token: write the token alone",
        );
    } else if bytes.last().is_some_and(u8::is_ascii_whitespace) {
        check = check.evidence("a trailing newline, which STS tolerates");
    }
    if in_pod.region.is_none() {
        check = check.evidence("AWS_REGION is not set: SDKs call the global STS endpoint");
    }
    (check, token)
}
