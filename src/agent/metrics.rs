//! The agent's Prometheus metrics, `irsa_agent_*`, in a registry of its own.

use prometheus::{
    Encoder as _, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

#[derive(Debug, Clone)]
pub(super) struct Metrics {
    registry: Registry,
    /// `irsa_agent_requests_total{code}`: credential requests by answer.
    pub(super) requests: IntCounterVec,
    /// `irsa_agent_cache_total{result}`: hit, miss, coalesced.
    pub(super) cache: IntCounterVec,
    /// `irsa_agent_sts_calls_total{outcome}`: success, error.
    pub(super) sts_calls: IntCounterVec,
    /// `irsa_agent_sts_seconds`: STS call latency.
    pub(super) sts_seconds: Histogram,
    /// `irsa_agent_refresh_errors_total`: background refreshes that failed.
    pub(super) refresh_errors: IntCounter,
    /// `irsa_agent_cached_keys`: keys in the credential cache.
    pub(super) cached_keys: IntGauge,
    /// `irsa_agent_evictions_total`: keys dropped (idle, nothing left, over capacity).
    evictions: IntCounter,
    /// Held while the evictions counter catches up, so two scrapes do not both add.
    evictions_sync: std::sync::Arc<std::sync::Mutex<()>>,
    /// `irsa_agent_key_refreshes_total{outcome}`: the issuer's keys read again.
    pub(super) key_refreshes: IntCounterVec,
    /// `irsa_agent_role_reload_errors_total`: broken role files refused, each counted once.
    pub(super) role_reload_errors: IntCounter,
    /// `irsa_agent_ready`: 1 when keys and the role mapping are in and the agent is not
    /// draining.
    pub(super) ready: IntGauge,
}

impl Metrics {
    #[allow(clippy::expect_used)]
    pub(super) fn new() -> Metrics {
        let registry = Registry::new();
        // Constant names and labels, each registered once into a fresh registry: no call
        // below can fail.
        let counter_vec = |name: &str, help: &str, label: &str| {
            let metric =
                IntCounterVec::new(Opts::new(name, help), &[label]).expect("a valid counter");
            registry
                .register(Box::new(metric.clone()))
                .expect("registered once");
            metric
        };
        let requests = counter_vec(
            "irsa_agent_requests_total",
            "Credential requests by HTTP status.",
            "code",
        );
        let cache = counter_vec(
            "irsa_agent_cache_total",
            "Credential requests by cache result: hit, miss (this request called STS), coalesced (waited for another's call).",
            "result",
        );
        let sts_calls = counter_vec(
            "irsa_agent_sts_calls_total",
            "AssumeRoleWithWebIdentity calls by outcome.",
            "outcome",
        );
        let key_refreshes = counter_vec(
            "irsa_agent_key_refreshes_total",
            "Reads of the issuer's keys by outcome.",
            "outcome",
        );
        let sts_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "irsa_agent_sts_seconds",
                "AssumeRoleWithWebIdentity latency in seconds.",
            )
            .buckets(vec![0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
        )
        .expect("a valid histogram");
        registry
            .register(Box::new(sts_seconds.clone()))
            .expect("registered once");
        let counter = |name: &str, help: &str| {
            let metric = IntCounter::new(name, help).expect("a valid counter");
            registry
                .register(Box::new(metric.clone()))
                .expect("registered once");
            metric
        };
        let refresh_errors = counter(
            "irsa_agent_refresh_errors_total",
            "Background refreshes that failed (the cached credentials stay served).",
        );
        let role_reload_errors = counter(
            "irsa_agent_role_reload_errors_total",
            "Role files refused (the previous mapping kept), each counted once.",
        );
        let gauge = |name: &str, help: &str| {
            let metric = IntGauge::new(name, help).expect("a valid gauge");
            registry
                .register(Box::new(metric.clone()))
                .expect("registered once");
            metric
        };
        let cached_keys = gauge(
            "irsa_agent_cached_keys",
            "Keys (ServiceAccount and role, or pod) in the credential cache.",
        );
        let evictions = counter(
            "irsa_agent_evictions_total",
            "Keys dropped from the credential cache: idle, expired or over capacity.",
        );
        let ready = gauge(
            "irsa_agent_ready",
            "1 when the issuer's keys and the role mapping are loaded and the agent is not draining.",
        );
        Metrics {
            registry,
            requests,
            cache,
            sts_calls,
            sts_seconds,
            refresh_errors,
            cached_keys,
            evictions,
            evictions_sync: std::sync::Arc::default(),
            key_refreshes,
            role_reload_errors,
            ready,
        }
    }

    /// Brings the evictions counter up to the cache's own count.
    pub(super) fn count_evictions(&self, total: u64) {
        let _sync = self
            .evictions_sync
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.evictions
            .inc_by(total.saturating_sub(self.evictions.get()));
    }

    /// The text exposition format.
    pub(super) fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}
