//! The webhook's work per admitted pod beside its floor, on a realistic AdmissionReview of a
//! three-container pod (app, envoy sidecar, log shipper; 12 KB of JSON):
//!
//! - `floor_serde_roundtrip`: parse the AdmissionReview into `serde_json::Value` and serialise
//!   the pod back, the least any JSON-patching webhook does;
//! - `irsa_patch_granular`, `irsa_patch_compatible`: the whole answer, from body bytes to
//!   response bytes (parse, decide, build the patch, base64 it, serialise the review).

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use irsa::webhook::{
    AdmissionRequest, Identity, PatchStyle, PodMutator, ServiceAccountAnnotations, WebhookConfig,
};
use serde_json::Value;

fn webhook(c: &mut Criterion) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/webhook/three-container-review.json"
    );
    let body = std::fs::read(path).unwrap();
    let identity = Identity::WebIdentity(
        ServiceAccountAnnotations::default()
            .with_role_arn("arn:aws:iam::111122223333:role/orders-api")
            .with_regional_sts(true),
    );
    let mutator = |style| {
        PodMutator::new(
            WebhookConfig::builder()
                .region("eu-west-1")
                .style(style)
                .build()
                .unwrap(),
        )
    };
    let granular = mutator(PatchStyle::Granular);
    let compatible = mutator(PatchStyle::Compatible);
    let answer = |mutator: &PodMutator, body: &[u8]| {
        let request = AdmissionRequest::from_slice(body).unwrap();
        request.respond(mutator, Some(&identity), false).to_vec()
    };
    // Both answers carry a patch.
    for m in [&granular, &compatible] {
        let out: Value = serde_json::from_slice(&answer(m, &body)).unwrap();
        assert_eq!(out["response"]["patchType"], "JSONPatch");
    }

    let mut group = c.benchmark_group("webhook");
    group.bench_function("floor_serde_roundtrip", |b| {
        b.iter(|| {
            let review: Value = serde_json::from_slice(black_box(&body)).unwrap();
            serde_json::to_vec(&review["request"]["object"]).unwrap()
        });
    });
    group.bench_function("irsa_patch_granular", |b| {
        b.iter(|| answer(&granular, black_box(&body)));
    });
    group.bench_function("irsa_patch_compatible", |b| {
        b.iter(|| answer(&compatible, black_box(&body)));
    });
    group.finish();
}

criterion_group!(benches, webhook);
criterion_main!(benches);
