//! The webhook's Prometheus metrics: the Go webhook's names where one exists, so its dashboards
//! and alerts keep working, and the server's own beside them.

use prometheus::{
    Encoder as _, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The Go webhook's latency buckets, in microseconds: 125 ms doubling to 8 s.
const GO_LATENCY_BUCKETS: [f64; 7] = [
    125_000.0,
    250_000.0,
    500_000.0,
    1_000_000.0,
    2_000_000.0,
    4_000_000.0,
    8_000_000.0,
];

/// Every metric the server keeps, registered in a registry of its own (never the process-wide
/// default, so two servers in one program do not collide).
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    registry: Registry,
    /// `http_request_count{verb,path,code}` (Go webhook).
    pub(crate) requests: IntCounterVec,
    /// `http_request_latencies{verb,path}` in microseconds (Go webhook).
    pub(crate) latencies: HistogramVec,
    /// `pod_identity_webhook_pod_count{method}`: pods mutated (Go webhook).
    pub(crate) pods: IntCounterVec,
    /// `pod_identity_webhook_missing_sa_count`: pods whose ServiceAccount was found nowhere
    /// (Go webhook).
    pub(crate) missing: IntCounter,
    /// `irsa_webhook_admission_seconds`: time to answer an admission review.
    pub(crate) admission_seconds: Histogram,
    /// `irsa_webhook_decisions_total{decision}`: mutated, unchanged, denied.
    pub(crate) decisions: IntCounterVec,
    /// `irsa_webhook_lookups_total{outcome}`: cached, fetched, missing, timed_out, failed.
    pub(crate) lookups: IntCounterVec,
    /// `irsa_webhook_budget_overruns_total`: reviews answered unchanged (or refused, failing
    /// closed) because the budget ran out.
    pub(crate) overruns: IntCounter,
    /// `irsa_webhook_cache_service_accounts`: ServiceAccounts in the cache.
    pub(crate) cache_size: IntGauge,
    /// `irsa_webhook_cache_lists`: full lists of ServiceAccounts (first and relists).
    pub(crate) cache_lists: IntGauge,
    /// `irsa_webhook_certificate_reloads_total`: new certificate pairs taken.
    pub(crate) reloads: IntCounter,
    /// `irsa_webhook_certificate_reload_errors_total`: broken certificate pairs refused, the
    /// old one kept; each counted once however long it stays mounted.
    pub(crate) reload_errors: IntCounter,
    /// `irsa_webhook_ready`: 1 when the cache is synced and the server not draining.
    pub(crate) ready: IntGauge,
    /// `irsa_webhook_container_credentials_service_accounts`: ServiceAccounts selected for
    /// container credentials.
    pub(crate) container_credentials: IntGauge,
    /// `irsa_webhook_container_credentials_reload_errors_total`: broken selection files
    /// refused, the previous selection kept; each counted once.
    pub(crate) container_credentials_errors: IntCounter,
}

impl Metrics {
    #[allow(clippy::expect_used)]
    pub(crate) fn new() -> Metrics {
        let registry = Registry::new();
        // Every name and label below is a constant that Prometheus accepts, registered once
        // into a fresh registry: none of these calls can fail.
        let requests = IntCounterVec::new(
            Opts::new(
                "http_request_count",
                "Counter of requests broken out for each verb, path, and response code.",
            ),
            &["verb", "path", "code"],
        )
        .expect("a valid counter");
        let latencies = HistogramVec::new(
            HistogramOpts::new(
                "http_request_latencies",
                "Response latency distribution in microseconds for each verb and path",
            )
            .buckets(GO_LATENCY_BUCKETS.to_vec()),
            &["verb", "path"],
        )
        .expect("a valid histogram");
        let pods = IntCounterVec::new(
            Opts::new(
                "pod_identity_webhook_pod_count",
                "Counter of pods mutated, by method (web_identity, container_credentials).",
            ),
            &["method"],
        )
        .expect("a valid counter");
        let missing = IntCounter::new(
            "pod_identity_webhook_missing_sa_count",
            "Pods whose ServiceAccount was in neither the cache nor the apiserver.",
        )
        .expect("a valid counter");
        let admission_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "irsa_webhook_admission_seconds",
                "Time to answer one admission review, in seconds.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
        )
        .expect("a valid histogram");
        let decisions = IntCounterVec::new(
            Opts::new(
                "irsa_webhook_decisions_total",
                "Admission decisions: mutated, unchanged, denied.",
            ),
            &["decision"],
        )
        .expect("a valid counter");
        let lookups = IntCounterVec::new(
            Opts::new(
                "irsa_webhook_lookups_total",
                "ServiceAccount lookups by outcome: cached, fetched, missing, timed_out, failed.",
            ),
            &["outcome"],
        )
        .expect("a valid counter");
        let overruns = IntCounter::new(
            "irsa_webhook_budget_overruns_total",
            "Reviews answered without a mutation because the admission budget ran out.",
        )
        .expect("a valid counter");
        let cache_size = IntGauge::new(
            "irsa_webhook_cache_service_accounts",
            "ServiceAccounts in the cache.",
        )
        .expect("a valid gauge");
        let cache_lists = IntGauge::new(
            "irsa_webhook_cache_lists",
            "Full lists of ServiceAccounts made by the watcher (the first and every relist).",
        )
        .expect("a valid gauge");
        let reloads = IntCounter::new(
            "irsa_webhook_certificate_reloads_total",
            "New serving certificates taken without a restart.",
        )
        .expect("a valid counter");
        let reload_errors = IntCounter::new(
            "irsa_webhook_certificate_reload_errors_total",
            "Broken certificate pairs refused; the previous pair is still served.",
        )
        .expect("a valid counter");
        let ready = IntGauge::new(
            "irsa_webhook_ready",
            "1 when the ServiceAccount cache is synced and the server is not draining.",
        )
        .expect("a valid gauge");
        let container_credentials = IntGauge::new(
            "irsa_webhook_container_credentials_service_accounts",
            "ServiceAccounts selected for container credentials (EKS Pod Identity's variables).",
        )
        .expect("a valid gauge");
        let container_credentials_errors = IntCounter::new(
            "irsa_webhook_container_credentials_reload_errors_total",
            "Broken container-credentials files refused; the previous selection is still used.",
        )
        .expect("a valid counter");
        let build = IntGaugeVec::new(
            Opts::new("irsa_webhook_build_info", "The running build: always 1."),
            &["version"],
        )
        .expect("a valid gauge");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latencies.clone()),
            Box::new(pods.clone()),
            Box::new(missing.clone()),
            Box::new(admission_seconds.clone()),
            Box::new(decisions.clone()),
            Box::new(lookups.clone()),
            Box::new(overruns.clone()),
            Box::new(cache_size.clone()),
            Box::new(cache_lists.clone()),
            Box::new(reloads.clone()),
            Box::new(reload_errors.clone()),
            Box::new(ready.clone()),
            Box::new(container_credentials.clone()),
            Box::new(container_credentials_errors.clone()),
            Box::new(build),
        ] {
            registry.register(collector).expect("distinct metric names");
        }
        Metrics {
            registry,
            requests,
            latencies,
            pods,
            missing,
            admission_seconds,
            decisions,
            lookups,
            overruns,
            cache_size,
            cache_lists,
            reloads,
            reload_errors,
            ready,
            container_credentials,
            container_credentials_errors,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub(crate) fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 * 1024);
        // Encoding into a Vec cannot fail for metrics this registry built.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}
