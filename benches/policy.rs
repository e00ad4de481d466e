//! Trust policy parsing and evaluation beside their floor, on the typical IRSA policy: one
//! statement, `StringEquals` on `:sub` and `:aud` (the EKS template).
//!
//! - `floor_serde_json_value`: `serde_json::from_str::<Value>` of the same document: reading
//!   the JSON at all, with no grammar, no checks and no compilation.
//! - `parse`: `TrustPolicy::parse`, strict (duplicate members, characters, grammar) and
//!   compiling every condition value.
//! - `decide`, `evaluate`: the decision alone, and with the explanation tree.
//! - `parse_and_decide`: the whole job for one request.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use irsa::policy::{Decision, Request, TrustPolicy};

const POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
      },
      "Action": "sts:AssumeRoleWithWebIdentity",
      "Condition": {
        "StringEquals": {
          "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub": "system:serviceaccount:payments-production:payments-api",
          "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud": "sts.amazonaws.com"
        }
      }
    }
  ]
}"#;

fn request() -> Request {
    let url = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
    Request::new(
        format!("arn:aws:iam::111122223333:oidc-provider/{url}"),
        "sts:AssumeRoleWithWebIdentity",
    )
    .with_value(
        format!("{url}:sub"),
        "system:serviceaccount:payments-production:payments-api",
    )
    .with_value(format!("{url}:aud"), "sts.amazonaws.com")
    .with_value(
        "aws:FederatedProvider",
        format!("arn:aws:iam::111122223333:oidc-provider/{url}"),
    )
}

fn policy(c: &mut Criterion) {
    let request = request();
    let parsed: TrustPolicy = POLICY.parse().unwrap();
    assert_eq!(parsed.decide(&request), Decision::Allow);

    let mut group = c.benchmark_group("policy");
    group.bench_function("floor_serde_json_value", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(black_box(POLICY)).unwrap());
    });
    group.bench_function("parse", |b| {
        b.iter(|| TrustPolicy::parse(black_box(POLICY.as_bytes())).unwrap());
    });
    group.bench_function("decide", |b| {
        b.iter(|| black_box(&parsed).decide(black_box(&request)));
    });
    group.bench_function("evaluate", |b| {
        b.iter(|| black_box(&parsed).evaluate(black_box(&request)));
    });
    group.bench_function("parse_and_decide", |b| {
        b.iter(|| {
            TrustPolicy::parse(black_box(POLICY.as_bytes()))
                .unwrap()
                .decide(black_box(&request))
        });
    });
    group.finish();
}

criterion_group!(benches, policy);
criterion_main!(benches);
