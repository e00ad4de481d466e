//! The pod identity webhook as a server a cluster runs (feature `webhook-server`): what
//! `irsa webhook serve` is, embeddable in any tokio program.
//!
//! - **Admission** on `POST /mutate` (fail open) and `POST /mutate-fail-closed` (for pods or
//!   namespaces labelled [`REQUIRE_CREDENTIALS_LABEL`]): `admission.k8s.io/v1` and `v1beta1`
//!   reviews patched by [`PodMutator`]; a pod mutated once and
//!   sent again (`reinvocationPolicy: IfNeeded`) gets an empty patch. Malformed and non-Pod
//!   reviews get a denial that says what is wrong, never a `500`.
//! - **ServiceAccounts** from a [`ServiceAccountCache`] kept by a kube-rs metadata watcher; a
//!   miss waits at most the lookup grace period (100 ms) for one GET.
//! - **A budget** per review (2 s): past it the pod is admitted unchanged with a warning on
//!   `/mutate`, refused on `/mutate-fail-closed`, and counted.
//! - **Operations**: `/healthz` and `/readyz` on the serving port and the metrics port,
//!   Prometheus metrics (`/metrics`) with the Go webhook's names (`http_request_count`,
//!   `http_request_latencies`, `pod_identity_webhook_pod_count`,
//!   `pod_identity_webhook_missing_sa_count`) and `irsa_webhook_*` beside them, one log event
//!   per review (uid, namespace, pod, ServiceAccount, lookup, decision), the certificate
//!   reloaded when its files change (a broken pair keeps the old one), and a graceful
//!   [`shutdown`](RunningWebhook::shutdown): not ready, then stop accepting, then drain.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use irsa::http::ReloadingCertificate;
//! use irsa::webhook::WebhookConfig;
//! use irsa::webhook_server::WebhookServer;
//!
//! let client = kube::Client::try_default().await?;
//! let certificate = ReloadingCertificate::load("/etc/webhook/certs/tls.crt", "/etc/webhook/certs/tls.key")?;
//! let config = WebhookConfig::builder().region("eu-west-1").build()?;
//! let running = WebhookServer::builder(client, certificate, config).start().await?;
//! tokio::signal::ctrl_c().await?;
//! running.shutdown().await;
//! # Ok(()) }
//! ```

mod metrics;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use bytes::Bytes;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::service_accounts::{Lookup, ServiceAccountCache};

use crate::http::server::{Handler, drain, metrics_text, spawn, text};
use crate::http::{Peer, ReloadingCertificate, RunningServer, ServeError, ServerLimits};
use crate::webhook::{
    AdmissionRequest, AdmissionResponse, ContainerCredentialsError, ContainerCredentialsIdentities,
    Identity, MAX_REVIEW_LEN, PodMutator, ServiceAccountAnnotations, WebhookConfig,
};
use metrics::Metrics;

/// The label that sends a pod (or every pod of a namespace) to the fail-closed webhook entry:
/// with value `"true"`, a pod that cannot be given credentials is refused instead of started
/// without them.
pub const REQUIRE_CREDENTIALS_LABEL: &str = "irsa-rs.github.io/require-credentials";

/// The label that keeps a pod away from the webhook altogether (the Go webhook's manifests use
/// the same name).
pub const SKIP_LABEL: &str = "eks.amazonaws.com/skip-pod-identity-webhook";

/// The fail-open admission path.
pub const MUTATE_PATH: &str = "/mutate";

/// The fail-closed admission path.
pub const MUTATE_FAIL_CLOSED_PATH: &str = "/mutate-fail-closed";

/// Why the webhook server cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookServerError {
    /// The serving (HTTPS) port cannot be opened.
    #[error("the webhook port cannot be opened")]
    Serve(#[source] ServeError),
    /// The metrics port cannot be opened.
    #[error("the metrics port cannot be opened")]
    Metrics(#[source] ServeError),
    /// The container-credentials file cannot be read.
    #[error("cannot read the container-credentials file {path}")]
    ContainerCredentialsRead {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The container-credentials file is not in the Go webhook's format.
    #[error("the container-credentials file {path} cannot be used")]
    ContainerCredentials {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: ContainerCredentialsError,
    },
}

/// The webhook server's settings; [`start`](WebhookServer::start) runs it.
pub struct WebhookServer {
    client: kube::Client,
    certificate: ReloadingCertificate,
    config: WebhookConfig,
    listen: SocketAddr,
    metrics_listen: Option<SocketAddr>,
    limits: ServerLimits,
    grace: Duration,
    budget: Duration,
    resync: Option<Duration>,
    file_check: Duration,
    container_credentials: Option<PathBuf>,
    shutdown_delay: Duration,
    drain_timeout: Duration,
}

impl std::fmt::Debug for WebhookServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookServer")
            .field("config", &self.config)
            .field("listen", &self.listen)
            .field("metrics_listen", &self.metrics_listen)
            .field("limits", &self.limits)
            .field("lookup_grace_period", &self.grace)
            .field("admission_budget", &self.budget)
            .field("resync_period", &self.resync)
            .finish_non_exhaustive()
    }
}

impl WebhookServer {
    /// A server that patches pods as `config` says, reads ServiceAccounts through `client`
    /// and serves `certificate`; every other setting at its default.
    pub fn builder(
        client: kube::Client,
        certificate: ReloadingCertificate,
        config: WebhookConfig,
    ) -> WebhookServer {
        WebhookServer {
            client,
            certificate,
            config,
            listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 8443)),
            metrics_listen: Some(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 9999))),
            limits: ServerLimits::default().max_body_bytes(MAX_REVIEW_LEN),
            grace: Duration::from_millis(100),
            budget: Duration::from_secs(2),
            resync: Some(Duration::from_secs(600)),
            file_check: Duration::from_secs(5),
            container_credentials: None,
            shutdown_delay: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(10),
        }
    }

    /// The HTTPS address (default `0.0.0.0:8443`: a port a non-root process may bind).
    #[must_use]
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The plain-HTTP metrics address (default `0.0.0.0:9999`, the Go webhook's), or `None`
    /// for no metrics port.
    #[must_use]
    pub fn metrics_listen(mut self, addr: Option<SocketAddr>) -> Self {
        self.metrics_listen = addr;
        self
    }

    /// What a client may send (default: [`ServerLimits::default`] with 3 MiB bodies, the
    /// apiserver's own request limit).
    #[must_use]
    pub fn limits(mut self, limits: ServerLimits) -> Self {
        self.limits = limits;
        self
    }

    /// How long a review waits for the apiserver when its ServiceAccount is not cached
    /// (default 100 ms, the Go webhook's `--service-account-lookup-grace-period`); zero never
    /// asks the apiserver.
    #[must_use]
    pub fn lookup_grace_period(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The most time one review may take (default 2 s; keep it under the webhook
    /// configuration's `timeoutSeconds`).
    #[must_use]
    pub fn admission_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// How often the watcher relists every ServiceAccount even when its watch is healthy
    /// (default 10 minutes), or `None` to relist only when the watch breaks or expires.
    #[must_use]
    pub fn resync_period(mut self, period: Option<Duration>) -> Self {
        self.resync = period.filter(|p| !p.is_zero());
        self
    }

    /// How often the certificate files (and the container-credentials file) are read again
    /// (default 5 s; unchanged files cost a comparison).
    #[must_use]
    pub fn file_check_interval(mut self, interval: Duration) -> Self {
        self.file_check = interval.max(Duration::from_millis(10));
        self
    }

    /// The Go webhook's `--watch-container-credentials-config`: a file of ServiceAccounts
    /// ([`ContainerCredentialsIdentities`]) whose pods get EKS Pod Identity's
    /// container-credentials variables (pointing at a node-local agent) instead of the
    /// web-identity ones, whatever their role annotation says. A ServiceAccount annotated
    /// [`CONTAINER_CREDENTIALS_ANNOTATION`](crate::webhook::CONTAINER_CREDENTIALS_ANNOTATION)
    /// is selected too, with or without a file. Read again when it changes; a
    /// broken new file keeps the previous selection.
    #[must_use]
    pub fn container_credentials_file(mut self, path: Option<PathBuf>) -> Self {
        self.container_credentials = path;
        self
    }

    /// How long [`shutdown`](RunningWebhook::shutdown) keeps serving after readiness turns
    /// false, so the Service's endpoints drop the pod before it stops accepting (default 5 s).
    #[must_use]
    pub fn shutdown_delay(mut self, delay: Duration) -> Self {
        self.shutdown_delay = delay;
        self
    }

    /// The longest wait for reviews in flight once the server stops accepting (default 10 s).
    #[must_use]
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// Binds the ports and starts the cache, the certificate reloader and the servers.
    pub async fn start(self) -> Result<RunningWebhook, WebhookServerError> {
        let metrics = Metrics::new();
        let selected = match &self.container_credentials {
            Some(path) => {
                let bytes = std::fs::read(path).map_err(|source| {
                    WebhookServerError::ContainerCredentialsRead {
                        path: path.clone(),
                        source,
                    }
                })?;
                let identities =
                    ContainerCredentialsIdentities::from_slice(&bytes).map_err(|source| {
                        WebhookServerError::ContainerCredentials {
                            path: path.clone(),
                            source,
                        }
                    })?;
                Some((path.clone(), bytes, identities))
            }
            None => None,
        };
        let cache = ServiceAccountCache::new(
            self.client,
            self.config.annotation_prefix(),
            // Not capped by the budget: the budget answers first, whatever the lookup waits.
            self.grace,
        );
        let (stop, stopped) = watch::channel(false);
        let draining = Arc::new(AtomicBool::new(false));
        let (watched, identities) = match selected {
            Some((path, bytes, identities)) => (Some((path, bytes)), identities),
            None => (None, ContainerCredentialsIdentities::default()),
        };
        metrics.container_credentials.set(identities.len() as i64);
        let state = Arc::new(State {
            container_credentials: RwLock::new(Arc::new(identities)),
            mutator: PodMutator::new(self.config),
            cache: cache.clone(),
            metrics: metrics.clone(),
            budget: self.budget,
            draining: draining.clone(),
        });
        let tls = tokio_rustls::TlsAcceptor::from(self.certificate.server_config());
        let server = spawn(
            self.listen,
            Some(tls),
            self.limits,
            handler(state.clone(), Port::Serving),
        )
        .await
        .map_err(WebhookServerError::Serve)?;
        let metrics_server = match self.metrics_listen {
            Some(addr) => Some(
                spawn(
                    addr,
                    None,
                    ServerLimits::default().max_body_bytes(0),
                    handler(state.clone(), Port::Metrics),
                )
                .await
                .map_err(WebhookServerError::Metrics)?,
            ),
            None => None,
        };
        let tasks = vec![
            tokio::spawn(cache.clone().run(self.resync, stopped.clone())),
            tokio::spawn(reload_files(
                self.certificate,
                watched,
                state.clone(),
                self.file_check,
                stopped,
            )),
        ];
        Ok(RunningWebhook {
            server,
            metrics_server,
            state,
            stop,
            tasks,
            shutdown_delay: self.shutdown_delay,
            drain_timeout: self.drain_timeout,
        })
    }
}

/// A running webhook server.
#[derive(Debug)]
pub struct RunningWebhook {
    server: RunningServer,
    metrics_server: Option<RunningServer>,
    state: Arc<State>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    shutdown_delay: Duration,
    drain_timeout: Duration,
}

impl RunningWebhook {
    /// The HTTPS address.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The metrics address, when there is a metrics port.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_server.as_ref().map(RunningServer::local_addr)
    }

    /// The ServiceAccount cache.
    pub fn cache(&self) -> &ServiceAccountCache {
        &self.state.cache
    }

    /// Whether `/readyz` answers `200`: the cache is synced and the server is not draining.
    pub fn is_ready(&self) -> bool {
        self.state.ready()
    }

    /// Readiness false, then (after the shutdown delay) stop accepting and answer the reviews
    /// in flight (at most the drain timeout), then stop the watcher. What a pod does on
    /// `SIGTERM`.
    pub async fn shutdown(self) {
        self.state.draining.store(true, Ordering::Release);
        self.state.metrics.ready.set(0);
        tracing::info!(delay = ?self.shutdown_delay, "draining: readiness is false");
        let servers = std::iter::once(self.server)
            .chain(self.metrics_server)
            .collect();
        drain(servers, self.shutdown_delay, self.drain_timeout).await;
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        tracing::info!("webhook stopped");
    }
}

#[derive(Debug)]
struct State {
    container_credentials: RwLock<Arc<ContainerCredentialsIdentities>>,
    mutator: PodMutator,
    cache: ServiceAccountCache,
    metrics: Metrics,
    budget: Duration,
    draining: Arc<AtomicBool>,
}

impl State {
    fn ready(&self) -> bool {
        self.cache.is_synced() && !self.draining.load(Ordering::Acquire)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Port {
    Serving,
    Metrics,
}

fn handler(state: Arc<State>, port: Port) -> Handler {
    Arc::new(move |request, _peer: Peer| {
        let state = state.clone();
        Box::pin(async move { route(&state, port, request).await })
    })
}

async fn route(state: &State, port: Port, request: http::Request<Bytes>) -> http::Response<Bytes> {
    let start = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path();
    let (label, response) = match (port, &method, path) {
        (_, &http::Method::GET, "/healthz") => ("/healthz", text(http::StatusCode::OK, "ok\n")),
        (_, &http::Method::GET, "/readyz") => {
            state.metrics.ready.set(i64::from(state.ready()));
            let response = if state.ready() {
                text(http::StatusCode::OK, "ok\n")
            } else if state.draining.load(Ordering::Acquire) {
                text(http::StatusCode::SERVICE_UNAVAILABLE, "draining\n")
            } else {
                text(
                    http::StatusCode::SERVICE_UNAVAILABLE,
                    "the ServiceAccount cache is not synced yet\n",
                )
            };
            ("/readyz", response)
        }
        (Port::Metrics, &http::Method::GET, "/metrics") => {
            state.metrics.cache_size.set(state.cache.len() as i64);
            state.metrics.cache_lists.set(state.cache.lists() as i64);
            state.metrics.ready.set(i64::from(state.ready()));
            ("/metrics", metrics_text(state.metrics.render()))
        }
        (Port::Serving, &http::Method::POST, MUTATE_PATH | MUTATE_FAIL_CLOSED_PATH) => {
            let fail_open = path == MUTATE_PATH;
            let label = if fail_open {
                MUTATE_PATH
            } else {
                MUTATE_FAIL_CLOSED_PATH
            };
            (label, admit(state, &request, fail_open, start).await)
        }
        // A path this port serves, asked with another method.
        (Port::Serving, _, MUTATE_PATH | MUTATE_FAIL_CLOSED_PATH)
        | (_, _, "/healthz" | "/readyz")
        | (Port::Metrics, _, "/metrics") => {
            let mut response = text(
                http::StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed: reviews are POSTed, health and metrics are read with GET\n",
            );
            let allow = if path.starts_with("/mutate") {
                "POST"
            } else {
                "GET"
            };
            response
                .headers_mut()
                .insert(http::header::ALLOW, http::HeaderValue::from_static(allow));
            ("other", response)
        }
        _ => ("other", text(http::StatusCode::NOT_FOUND, "not found\n")),
    };
    let verb = match method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        _ => "other",
    };
    state
        .metrics
        .requests
        .with_label_values(&[verb, label, response.status().as_str()])
        .inc();
    state
        .metrics
        .latencies
        .with_label_values(&[verb, label])
        .observe(start.elapsed().as_secs_f64() * 1e6);
    response
}

/// One review, answered within the budget.
async fn admit(
    state: &State,
    request: &http::Request<Bytes>,
    fail_open: bool,
    start: Instant,
) -> http::Response<Bytes> {
    let json = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return text(
            http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "an AdmissionReview is sent as Content-Type: application/json\n",
        );
    }
    let response = match AdmissionRequest::from_slice(request.body()) {
        Err(error) => {
            // Not a review this webhook can answer: a denial that says why (the apiserver shows
            // it), whichever entry sent it.
            tracing::warn!(error = %error, "malformed admission review");
            state.metrics.decisions.with_label_values(&["denied"]).inc();
            error.response(false)
        }
        Ok(review) => {
            let remaining = state.budget.saturating_sub(start.elapsed());
            match tokio::time::timeout(remaining, decide(state, &review, fail_open)).await {
                Ok(response) => response,
                Err(_) => {
                    state.metrics.overruns.inc();
                    let message = format!(
                        "irsa webhook: ServiceAccount {}/{} not read within {:?}",
                        review.namespace(),
                        review.service_account(),
                        state.budget
                    );
                    let response = if fail_open {
                        review.allow_with_warning(format!(
                            "{message}; the pod is admitted without AWS credentials"
                        ))
                    } else {
                        review.deny(format!(
                            "{message}; the pod needs AWS credentials ({REQUIRE_CREDENTIALS_LABEL}): create it again"
                        ))
                    };
                    log(state, &review, "budget", &response);
                    response
                }
            }
        }
    };
    state
        .metrics
        .admission_seconds
        .observe(start.elapsed().as_secs_f64());
    let mut out = http::Response::new(Bytes::from(response.to_vec()));
    out.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    out
}

async fn decide(state: &State, review: &AdmissionRequest, fail_open: bool) -> AdmissionResponse {
    let (lookup, settings) = state
        .cache
        .lookup(review.namespace(), review.service_account())
        .await;
    state
        .metrics
        .lookups
        .with_label_values(&[lookup.as_str()])
        .inc();
    if lookup == Lookup::Missing {
        state.metrics.missing.inc();
    }
    let creating = matches!(review.operation(), None | Some("CREATE"));
    // Selected by the Go webhook's file, or by the ServiceAccount's own annotation.
    let container_credentials = settings
        .as_ref()
        .is_some_and(ServiceAccountAnnotations::container_credentials)
        || state
            .container_credentials
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(review.namespace(), review.service_account());
    let response = match settings {
        // Selected for container credentials: that mode wins, as in the Go webhook, and needs
        // no role (the agent maps the ServiceAccount); the ServiceAccount's own settings
        // (regional STS, token lifetime) still apply when it could be read.
        settings if container_credentials => {
            let identity = Identity::PodIdentity {
                settings: settings.unwrap_or_default(),
                expiration_jitter: fastrand::u32(..),
            };
            review.respond(&state.mutator, Some(&identity), false)
        }
        Some(settings) if settings.role_arn().is_some() || !creating => review.respond(
            &state.mutator,
            Some(&Identity::WebIdentity(settings)),
            false,
        ),
        // The apiserver did not say: admitted, but the client is told the pod has no
        // credentials and why.
        None if fail_open && creating && matches!(lookup, Lookup::TimedOut | Lookup::Failed) => {
            review.allow_with_warning(format!(
                "irsa webhook: ServiceAccount {}/{} {}; the pod is admitted without AWS credentials",
                review.namespace(),
                review.service_account(),
                unread(lookup, state.cache.grace()),
            ))
        }
        _ if fail_open || !creating => review.respond(&state.mutator, None, true),
        found => {
            let why = match (found, lookup) {
                (Some(_), _) => format!(
                    "has no {}/role-arn annotation",
                    state.mutator.config().annotation_prefix()
                ),
                (None, Lookup::Missing) => "does not exist".to_owned(),
                (None, _) => unread(lookup, state.cache.grace()),
            };
            review.deny(format!(
                "irsa webhook: the pod needs AWS credentials ({REQUIRE_CREDENTIALS_LABEL}) but its ServiceAccount {}/{} {why}; annotate the ServiceAccount with a role or remove the label",
                review.namespace(),
                review.service_account(),
            ))
        }
    };
    if response.patch().is_some() {
        let method = if container_credentials {
            "container_credentials"
        } else {
            "web_identity"
        };
        state.metrics.pods.with_label_values(&[method]).inc();
    }
    log(state, review, lookup.as_str(), &response);
    response
}

/// Why a ServiceAccount was not read.
fn unread(lookup: Lookup, grace: Duration) -> String {
    match lookup {
        Lookup::TimedOut => format!("was not read from the apiserver within {grace:?}"),
        _ => "could not be read from the apiserver".to_owned(),
    }
}

fn log(state: &State, review: &AdmissionRequest, lookup: &str, response: &AdmissionResponse) {
    let decision = match (response.allowed(), response.patch().is_some()) {
        (true, true) => "mutated",
        (true, false) => "unchanged",
        (false, _) => "denied",
    };
    state.metrics.decisions.with_label_values(&[decision]).inc();
    tracing::info!(
        uid = review.uid(),
        namespace = review.namespace(),
        pod = review.pod_name(),
        service_account = review.service_account(),
        lookup,
        decision,
        message = response
            .message()
            .or(response.warnings().first().map(String::as_str))
            .unwrap_or_default(),
        "admission review"
    );
}

async fn reload_files(
    certificate: ReloadingCertificate,
    mut container_credentials: Option<(PathBuf, Vec<u8>)>,
    state: Arc<State>,
    every: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let metrics = &state.metrics;
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    // A broken file stays broken until it changes again: it is counted and logged once, not at
    // every look.
    let mut last_error: Option<String> = None;
    let mut last_selection_error: Option<String> = None;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.changed() => return,
        }
        match certificate.reload() {
            Ok(changed) => {
                last_error = None;
                if changed {
                    metrics.reloads.inc();
                    tracing::info!("serving a new certificate");
                }
            }
            Err(error) => {
                let text = crate::ErrorChain(&error).to_string();
                if last_error.as_deref() != Some(text.as_str()) {
                    metrics.reload_errors.inc();
                    tracing::warn!(error = %text, "keeping the current certificate");
                    last_error = Some(text);
                }
            }
        }
        if let Some((path, seen)) = &mut container_credentials {
            let read = std::fs::read(&*path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    if bytes == *seen {
                        return Ok(None);
                    }
                    let parsed = ContainerCredentialsIdentities::from_slice(&bytes)
                        .map_err(|e| e.to_string())?;
                    Ok(Some((bytes, parsed)))
                });
            match read {
                Ok(None) => {}
                Ok(Some((bytes, identities))) => {
                    last_selection_error = None;
                    *seen = bytes;
                    metrics.container_credentials.set(identities.len() as i64);
                    tracing::info!(service_accounts = identities.len(), path = %path.display(), "container-credentials selection read again");
                    *state
                        .container_credentials
                        .write()
                        .unwrap_or_else(PoisonError::into_inner) = Arc::new(identities);
                }
                Err(text) => {
                    if last_selection_error.as_deref() != Some(text.as_str()) {
                        metrics.container_credentials_errors.inc();
                        tracing::warn!(error = %text, path = %path.display(), "keeping the current container-credentials selection");
                        last_selection_error = Some(text);
                    }
                }
            }
        }
    }
}
