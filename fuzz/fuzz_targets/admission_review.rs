//! AdmissionReview handling never panics; every answer is JSON with the request's uid; every
//! patch applies to the admitted pod; and a second pass over the patched pod asks for nothing
//! (granular) or changes nothing (compatible).
#![no_main]

use irsa::webhook::{
    AdmissionRequest, Identity, PatchStyle, PodMutator, ServiceAccountAnnotations, WebhookConfig,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let request = match AdmissionRequest::from_slice(data) {
        Ok(request) => request,
        Err(e) => {
            let body: Value = serde_json::from_slice(&e.response(false).to_vec()).unwrap();
            assert_eq!(body["response"]["allowed"], false);
            return;
        }
    };
    // serde_json's `Value` reads an object whose first member is named
    // `$serde_json::private::RawValue` as that member's string parsed as JSON (its raw-value
    // marker, on because a dependency enables `raw_value`), so the reference below cannot hold
    // such a pod; ours reads it. Skip only what the reference refuses while the pod is JSON.
    if serde_json::from_str::<Value>(request.pod_json()).is_err() {
        serde_json::from_str::<Box<serde_json::value::RawValue>>(request.pod_json())
            .expect("the pod is JSON");
        return;
    }
    let sa = ServiceAccountAnnotations::default()
        .with_role_arn("arn:aws:iam::111122223333:role/r")
        .with_regional_sts(true);
    let identities = [
        Identity::WebIdentity(sa.clone()),
        Identity::PodIdentity {
            settings: sa,
            expiration_jitter: data.len() as u32,
        },
    ];
    for style in [PatchStyle::Granular, PatchStyle::Compatible] {
        let config = WebhookConfig::builder()
            .region("eu-west-1")
            .style(style)
            .build()
            .unwrap();
        let mutator = PodMutator::new(config);
        for identity in &identities {
            let response = request.respond(&mutator, Some(identity), false);
            let body: Value = serde_json::from_slice(&response.to_vec()).unwrap();
            assert_eq!(body["response"]["uid"].as_str(), Some(request.uid()));
            let Some(patch) = response.patch() else {
                continue;
            };
            let ops: json_patch::Patch = serde_json::from_str(&patch.to_json()).unwrap();
            let mut pod: Value = serde_json::from_str(request.pod_json()).unwrap();
            json_patch::patch(&mut pod, &ops).expect("generated patches apply");
            let again = mutator
                .patch_json(&pod, identity)
                .expect("patched pod is patchable");
            if style == PatchStyle::Granular {
                assert!(again.is_empty(), "second pass: {}", again.to_json());
            } else {
                let ops: json_patch::Patch = serde_json::from_str(&again.to_json()).unwrap();
                let mut twice = pod.clone();
                json_patch::patch(&mut twice, &ops).expect("second patch applies");
                assert_eq!(twice, pod, "second compatible pass changed the pod");
            }
        }
    }
});
