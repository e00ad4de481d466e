//! Token verification beside its floor and the common alternative, on a realistic ~1 KB
//! projected token signed with an RSA-2048 key (the Kubernetes test key).
//!
//! - `floor_parsed_key_rs256`: only the RSA signature check, with a pre-parsed key and the
//!   signature already decoded: no verifier can be faster.
//! - `irsa_verify_rs256`: every rule STS applies, from the token string.
//! - `jsonwebtoken_decode_rs256`: jsonwebtoken 12 (aws-lc-rs backend) with a prebuilt
//!   `DecodingKey` and iss/aud/exp validation, the usual choice in Rust.
//! - `irsa_verify_es256`, `irsa_verify_cached_rs256`: the ECDSA path and a cache hit.
//!
//! `benches/verify_interleaved.rs` times the first three in alternating rounds instead, which
//! a machine's drift between benchmarks does not skew.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

#[path = "support/verify_fixture.rs"]
mod fixture;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use fixture::{Fixture, JwtClaims, now};

fn verify(c: &mut Criterion) {
    let f = Fixture::new();
    let now = now();
    let mut group = c.benchmark_group("verify");
    group.bench_function("floor_parsed_key_rs256", |b| {
        b.iter(|| {
            f.parsed
                .verify_sig(black_box(f.signing_input()), black_box(&f.signature))
        })
    });
    group.bench_function("irsa_verify_rs256", |b| {
        b.iter(|| f.verifier.verify(black_box(&f.rs256), now))
    });
    group.bench_function("jsonwebtoken_decode_rs256", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<JwtClaims>(black_box(&f.rs256), &f.decoding_key, &f.validation)
        })
    });
    group.bench_function("irsa_verify_es256", |b| {
        b.iter(|| f.verifier.verify(black_box(&f.es256), now))
    });
    group.bench_function("irsa_verify_cached_rs256", |b| {
        b.iter(|| f.cached.verify(black_box(&f.rs256), now))
    });
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
