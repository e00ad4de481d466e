//! A caller's cost of getting credentials that are already cached, beside its floor and the
//! SDK's own cache:
//!
//! - `floor_arc_swap_load`: load an `ArcSwap<Credentials>` and clone what it holds, the least
//!   any lock-free cache can do;
//! - `irsa_cached`: `provide_credentials()` of a warm [`WebIdentityProvider`] (credentials
//!   from a loopback STS, valid for hours, so every call takes the ready fast path);
//! - `aws_config_lazy_cache`: a hit in the SDK's lazy identity cache
//!   (`IdentityCache::lazy()`), resolved through `ResolveCachedIdentity::resolve_cached_identity`
//!   as an SDK client's orchestrator does before signing each request.
//!
//! Each call's future is polled once with a no-op waker: all three complete on their first
//! poll on a hit, so this measures the call itself, without an executor's cost. A future that
//! is not ready at once means the benchmark left the hit path, and it stops with a panic.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "../tests/it/helpers/local_sts.rs"]
mod local_sts;

use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use aws_config::identity::IdentityCache;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::{SystemTimeSource, TimeSource};
use aws_smithy_runtime_api::client::identity::{ResolveCachedIdentity, SharedIdentityResolver};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
use aws_smithy_types::config_bag::ConfigBag;
use criterion::{Criterion, criterion_group, criterion_main};
use irsa::provider::WebIdentityProvider;
use local_sts::{LocalSts, Reply};

/// How long the credentials in every cache stay valid: far beyond any benchmark run.
const LIFETIME: Duration = Duration::from_secs(6 * 3600);

/// Polls a future once; the hit paths measured here never return `Pending`.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("not a cache hit: the future did not complete on its first poll"),
    }
}

fn provider(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // The SDK cache creates its load-timeout sleep on every call, which needs a runtime.
    let _entered = runtime.enter();

    // Ours, warmed by one real load from a loopback STS.
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(
        &token_file,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiZW5jaCJ9.c2ln\n",
    )
    .unwrap();
    let clock: Arc<dyn Fn() -> SystemTime + Send + Sync> =
        Arc::new(|| SystemTimeSource::new().now());
    let sts = runtime.block_on(LocalSts::start(Reply::CredentialsFor(LIFETIME), clock));
    let irsa = WebIdentityProvider::builder()
        .role_arn("arn:aws:iam::111122223333:role/bench")
        .token_file(&token_file)
        .session_name("bench")
        .region("us-east-1")
        .endpoint_url(sts.url())
        .env(std::collections::HashMap::<String, String>::new())
        .build();
    runtime
        .block_on(irsa.provide_credentials())
        .expect("first load from the local STS");
    assert!(
        ready(irsa.provide_credentials()).is_ok(),
        "warm call not ready"
    );

    // The SDK's lazy cache over a resolver for static credentials, warmed by one load.
    let expiry = SystemTimeSource::new().now() + LIFETIME;
    let static_credentials = Credentials::new("AKIDBENCH", "secret", None, Some(expiry), "bench");
    let resolver =
        SharedIdentityResolver::new(SharedCredentialsProvider::new(static_credentials.clone()));
    let components = RuntimeComponentsBuilder::for_tests()
        .with_time_source(Some(SystemTimeSource::new()))
        .with_sleep_impl(Some(TokioSleep::new()))
        .build()
        .unwrap();
    let config_bag = ConfigBag::base();
    let cache = IdentityCache::lazy().build();
    runtime
        .block_on(cache.resolve_cached_identity(resolver.clone(), &components, &config_bag))
        .unwrap();
    assert!(
        ready(cache.resolve_cached_identity(resolver.clone(), &components, &config_bag)).is_ok(),
        "warm SDK cache call not ready"
    );

    let floor = ArcSwap::from_pointee(static_credentials);

    let mut group = c.benchmark_group("provider");
    group.bench_function("floor_arc_swap_load", |b| {
        b.iter(|| Credentials::clone(&black_box(&floor).load()));
    });
    group.bench_function("irsa_cached", |b| {
        b.iter(|| ready(black_box(&irsa).provide_credentials()).unwrap());
    });
    group.bench_function("aws_config_lazy_cache", |b| {
        b.iter(|| {
            ready(black_box(&cache).resolve_cached_identity(
                resolver.clone(),
                &components,
                &config_bag,
            ))
            .unwrap()
        });
    });
    group.finish();

    // Every iteration was a hit: one STS call, made by the warm-up.
    assert_eq!(irsa.status().sts_calls, 1);
    assert_eq!(sts.served(), 1);
}

criterion_group!(benches, provider);
criterion_main!(benches);
