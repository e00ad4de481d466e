//! Refresh latency: how long callers wait for credentials while short-lived credentials expire
//! again and again, for irsa's [`WebIdentityProvider`] and for aws-config's
//! `WebIdentityTokenCredentialsProvider` behind the SDK's lazy identity cache.
//!
//! Each provider gets its own STS-compatible server on loopback (the one the tests use), which
//! issues credentials of a short lifetime after a realistic STS latency, so its request count is
//! that provider's STS calls. After one first load each, several callers per provider ask for
//! credentials in a loop with a short pause, for the whole run, and every call's wait is
//! recorded. Printed per provider: calls, errors, expired credentials handed out, the first
//! load, the longest wait and the 99th and 99.9th percentiles after it, the calls that waited
//! 10 ms or more (only an STS round trip takes that long), and the STS calls.
//!
//! ```text
//! cargo bench --bench refresh_latency [-- seconds=90 lifetime=20 latency_ms=150 callers=8 pause_ms=5]
//! ```
//!
//! The SDK side is wired as an SDK client wires it: the provider's STS client is built by
//! aws-config from a `ProviderConfig`, and each call goes through
//! `ResolveCachedIdentity::resolve_cached_identity` of `IdentityCache::lazy()`, with the system
//! clock and tokio's sleep in the runtime components. aws-config offers no public way to give
//! that STS client an endpoint (its environment can be injected only in aws-config's own test
//! builds), so its HTTP client is wrapped to send every request to the local server instead.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing
)]

#[path = "../tests/it/helpers/local_sts.rs"]
mod local_sts;

use std::collections::HashMap;
use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::identity::IdentityCache;
use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::{StaticConfiguration, WebIdentityTokenCredentialsProvider};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::{SystemTimeSource, TimeSource};
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::identity::{
    ResolveCachedIdentity, SharedIdentityCache, SharedIdentityResolver,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_runtime_api::client::runtime_plugin::RuntimePlugin;
use aws_smithy_types::config_bag::ConfigBag;
use aws_types::region::Region;
use irsa::provider::WebIdentityProvider;
use local_sts::{LocalSts, Reply};
// Wall-clock time is what this experiment measures: tokio's `Instant` is std's outside tests.
use tokio::time::Instant;

const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/refresh-latency";
/// A wait this long can only be an STS round trip (the local server takes `latency_ms`).
const STS_BOUND: Duration = Duration::from_millis(10);

/// The run's settings, from `name=value` arguments.
#[derive(Debug, Clone, Copy)]
struct Settings {
    run: Duration,
    lifetime: Duration,
    latency: Duration,
    callers: usize,
    pause: Duration,
}

impl Settings {
    fn from_args() -> Result<Self, Box<dyn Error>> {
        let mut settings = Settings {
            run: Duration::from_secs(90),
            lifetime: Duration::from_secs(20),
            latency: Duration::from_millis(150),
            callers: 8,
            pause: Duration::from_millis(5),
        };
        // `cargo bench` adds `--bench`.
        for arg in std::env::args().skip(1).filter(|a| a != "--bench") {
            let (name, value) = arg
                .split_once('=')
                .ok_or_else(|| format!("expected name=value, got {arg:?}"))?;
            let number: u64 = value.parse()?;
            match name {
                "seconds" => settings.run = Duration::from_secs(number),
                "lifetime" => settings.lifetime = Duration::from_secs(number),
                "latency_ms" => settings.latency = Duration::from_millis(number),
                "callers" => settings.callers = usize::try_from(number)?.max(1),
                "pause_ms" => settings.pause = Duration::from_millis(number),
                _ => return Err(format!("unknown setting {name:?}").into()),
            }
        }
        Ok(settings)
    }
}

/// What one provider's callers saw.
#[derive(Debug, Default)]
struct Record {
    first_load: Duration,
    /// Every call's wait after the first load, in nanoseconds.
    waits: Vec<u64>,
    errors: u64,
    expired: u64,
    /// The first error seen, to show what went wrong.
    first_error: Option<String>,
}

/// One call to a provider: the expiry of what it handed out, or the error.
type Outcome = Result<Option<SystemTime>, String>;

/// Times a first load, then `callers` tasks calling for the whole run.
async fn drive<F, Fut>(settings: Settings, call: F) -> Record
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send,
{
    let start = Instant::now();
    let first = call().await;
    let mut record = Record {
        first_load: start.elapsed(),
        ..Record::default()
    };
    if let Err(e) = first {
        record.errors += 1;
        record.first_error = Some(e);
    }
    let deadline = Instant::now() + settings.run;
    let shared = Arc::new(Mutex::new(record));
    let mut tasks = Vec::new();
    for _ in 0..settings.callers {
        let call = call.clone();
        let shared = Arc::clone(&shared);
        tasks.push(tokio::spawn(async move {
            let mut waits = Vec::new();
            let (mut errors, mut expired, mut first_error) = (0, 0, None);
            while Instant::now() < deadline {
                let started = Instant::now();
                let outcome = call().await;
                waits.push(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX));
                match outcome {
                    Ok(Some(expiry)) if expiry <= wall_clock() => expired += 1,
                    Ok(_) => {}
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
                tokio::time::sleep(settings.pause).await;
            }
            let mut record = shared.lock().unwrap();
            record.waits.extend(waits);
            record.errors += errors;
            record.expired += expired;
            if record.first_error.is_none() {
                record.first_error = first_error;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut record = std::mem::take(&mut *shared.lock().unwrap());
    record.waits.sort_unstable();
    record
}

/// An HTTP client that sends every request to one base URL, keeping path and query, through
/// the SDK's default client: how aws-config's STS client is pointed at the local server.
#[derive(Debug)]
struct ToLocal {
    base: SharedHttpClient,
    url: String,
}

#[derive(Debug)]
struct ToLocalConnector {
    inner: SharedHttpConnector,
    url: String,
}

impl HttpClient for ToLocal {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(ToLocalConnector {
            inner: self.base.http_connector(settings, components),
            url: self.url.clone(),
        })
    }
}

impl HttpConnector for ToLocalConnector {
    fn call(&self, mut request: HttpRequest) -> HttpConnectorFuture {
        let uri = request.uri_mut();
        let target = match uri.query() {
            Some(query) => format!("{}{}?{query}", self.url, uri.path()),
            None => format!("{}{}", self.url, uri.path()),
        };
        if let Err(e) = request.set_uri(target) {
            return HttpConnectorFuture::ready(Err(
                aws_smithy_runtime_api::client::result::ConnectorError::user(e.into()),
            ));
        }
        self.inner.call(request)
    }
}

/// The SDK's default HTTP client, as an SDK client of the latest behaviour version gets it.
fn sdk_default_http_client() -> SharedHttpClient {
    let plugin = aws_smithy_runtime::client::defaults::default_http_client_plugin_v2(
        BehaviorVersion::latest(),
    )
    .expect("aws-smithy-runtime built with its default HTTPS client");
    plugin
        .runtime_components(&RuntimeComponentsBuilder::new("refresh_latency"))
        .http_client()
        .expect("the default client plugin sets an HTTP client")
}

/// aws-config's side: the provider, the lazy cache, and what `resolve_cached_identity` needs.
#[derive(Debug)]
struct SdkSide {
    cache: SharedIdentityCache,
    resolver: SharedIdentityResolver,
    components: RuntimeComponents,
    config_bag: ConfigBag,
}

impl SdkSide {
    async fn call(&self) -> Outcome {
        self.cache
            .resolve_cached_identity(self.resolver.clone(), &self.components, &self.config_bag)
            .await
            .map(|identity| identity.expiration())
            .map_err(|e| aws_smithy_types::error::display::DisplayErrorContext(&*e).to_string())
    }
}

/// The system clock, as the SDK and the provider read it by default.
fn wall_clock() -> SystemTime {
    SystemTimeSource::new().now()
}

fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // Nearest rank: the smallest wait that at least p of the calls did not exceed.
    let len = sorted.len() as f64;
    let rank = ((p * len).ceil() as usize).clamp(1, sorted.len());
    Duration::from_nanos(sorted[rank - 1])
}

fn show(duration: Duration) -> String {
    if duration >= Duration::from_millis(1) {
        format!("{:.1} ms", duration.as_secs_f64() * 1e3)
    } else {
        format!("{:.1} µs", duration.as_secs_f64() * 1e6)
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn Error>> {
    let settings = Settings::from_args()?;
    let dir = tempfile::tempdir()?;
    let token_file = dir.path().join("token");
    // Any non-empty token does for the local server; the kubelet writes a trailing newline.
    std::fs::write(
        &token_file,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZWZyZXNoLWxhdGVuY3kifQ.c2ln\n",
    )?;
    let reply = Reply::Delay(
        settings.latency,
        Box::new(Reply::CredentialsFor(settings.lifetime)),
    );
    let clock: Arc<dyn Fn() -> SystemTime + Send + Sync> = Arc::new(wall_clock);
    let ours_sts = LocalSts::start(reply.clone(), Arc::clone(&clock)).await;
    let sdk_sts = LocalSts::start(reply, clock).await;

    let ours = WebIdentityProvider::builder()
        .role_arn(ROLE_ARN)
        .token_file(&token_file)
        .session_name("refresh-latency")
        .region("us-east-1")
        .endpoint_url(ours_sts.url())
        .env(HashMap::<String, String>::new())
        .build();

    let provider_config = ProviderConfig::without_region()
        .with_region(Some(Region::new("us-east-1")))
        .with_http_client(ToLocal {
            base: sdk_default_http_client(),
            url: sdk_sts.url(),
        });
    let web_identity = WebIdentityTokenCredentialsProvider::builder()
        .configure(&provider_config)
        .static_configuration(StaticConfiguration {
            web_identity_token_file: token_file.clone(),
            role_arn: ROLE_ARN.to_owned(),
            session_name: "refresh-latency".to_owned(),
        })
        .build();
    let sdk = Arc::new(SdkSide {
        cache: IdentityCache::lazy().build(),
        resolver: SharedIdentityResolver::new(SharedCredentialsProvider::new(web_identity)),
        components: RuntimeComponentsBuilder::for_tests()
            .with_time_source(Some(SystemTimeSource::new()))
            .with_sleep_impl(Some(TokioSleep::new()))
            .build()?,
        config_bag: ConfigBag::base(),
    });

    println!(
        "{} s run, credentials valid {} s, STS latency {} ms, {} callers per provider pausing {} ms",
        settings.run.as_secs(),
        settings.lifetime.as_secs(),
        settings.latency.as_millis(),
        settings.callers,
        settings.pause.as_millis(),
    );
    // Both at once, so both see the same machine.
    let ours_call = {
        let ours = ours.clone();
        move || {
            let ours = ours.clone();
            async move {
                ours.provide_credentials()
                    .await
                    .map(|c: Credentials| c.expiry())
                    .map_err(|e| {
                        aws_smithy_types::error::display::DisplayErrorContext(&e).to_string()
                    })
            }
        }
    };
    let sdk_call = move || {
        let sdk = Arc::clone(&sdk);
        async move { sdk.call().await }
    };
    let (ours_record, sdk_record) =
        tokio::join!(drive(settings, ours_call), drive(settings, sdk_call));

    println!();
    println!(
        "| provider | calls | errors | expired | first load | longest wait after it | p99 | p99.9 | waits ≥ 10 ms | STS calls |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, record, sts) in [
        ("irsa `WebIdentityProvider`", &ours_record, &ours_sts),
        (
            "aws-config `WebIdentityTokenCredentialsProvider` + `LazyCache`",
            &sdk_record,
            &sdk_sts,
        ),
    ] {
        let waits = &record.waits;
        let sts_bound = waits
            .iter()
            .filter(|&&w| Duration::from_nanos(w) >= STS_BOUND)
            .count();
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {sts_bound} | {} |",
            waits.len() + 1,
            record.errors,
            record.expired,
            show(record.first_load),
            show(Duration::from_nanos(waits.last().copied().unwrap_or(0))),
            show(percentile(waits, 0.99)),
            show(percentile(waits, 0.999)),
            sts.served(),
        );
    }
    for (name, record) in [("irsa", &ours_record), ("aws-config", &sdk_record)] {
        if let Some(error) = &record.first_error {
            println!("{name}: first error: {error}");
        }
    }
    let status = ours.status();
    println!(
        "irsa status: {} STS calls counted by the provider, {} consecutive failures",
        status.sts_calls, status.consecutive_failures
    );
    Ok(())
}
