//! EKS Pod Identity's container-credentials endpoint for any cluster (feature `agent`): what
//! `irsa agent serve` is, embeddable in any tokio program.
//!
//! SDKs with `AWS_CONTAINER_CREDENTIALS_FULL_URI` and `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`
//! (injected by `irsa webhook serve` for the ServiceAccounts it selects) send their projected
//! token as the `Authorization` header of `GET /v1/credentials`. The agent:
//!
//! - **authenticates offline**: the token is verified with [`Verifier`] against the issuer and
//!   its keys (fetched through the issuer's discovery and refreshed, or read from a file and
//!   read again when it changes), the audience and the expiry. A bad token gets `401`.
//! - **maps the ServiceAccount to a role** ([`RoleSource`]): its role annotation through the
//!   kube-rs [`service_accounts::ServiceAccountCache`](crate::service_accounts), or a static
//!   file. A ServiceAccount without a role gets `403`.
//! - **answers from a cache per (ServiceAccount, role)**: every pod of a ServiceAccount proves
//!   the same `sub`, which is all a trust policy can judge, so one `AssumeRoleWithWebIdentity`
//!   serves them all (single flight: one call per key at a time, whatever the number of
//!   callers), made with the freshest valid token seen. Credentials are refreshed in the
//!   background well before any SDK's window and are never served with
//!   [`min_remaining`](Agent::min_remaining) (15 minutes, botocore's advisory window) or less
//!   left; STS errors are answered from the cache while it keeps that margin, with backoff.
//!   [`CacheScope::Pod`] gives a session per pod instead (the EKS agent's attribution).
//!   A request is answered only for the ServiceAccount its own token proves.
//! - **operates**: `/healthz`, `/readyz` (keys loaded, mapping synced, not draining) and
//!   Prometheus `/metrics` on the metrics port, a per-client rate limit, the shared
//!   [`ServerLimits`], JSON errors `{"code","message"}` (the Go SDK's format), a graceful
//!   [`shutdown`](RunningAgent::shutdown).
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use irsa::agent::{Agent, KeySource, RoleSource};
//!
//! let sts = aws_config::defaults(aws_config::BehaviorVersion::latest()).no_credentials().load().await;
//! let agent = Agent::builder(
//!     "https://oidc.example.com/prod".parse()?,
//!     KeySource::Discovery { endpoint: None },
//!     RoleSource::File("/etc/irsa/roles.yaml".into()),
//!     &sts,
//! )
//! .listen(vec!["127.0.0.1:8080".parse()?])
//! .cluster_name("prod");
//! let running = agent.start().await?;
//! tokio::signal::ctrl_c().await?;
//! running.shutdown().await;
//! # Ok(()) }
//! ```

mod cache;
mod metrics;
pub(crate) mod roles;
mod upstream;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use aws_smithy_async::time::SharedTimeSource;
use bytes::Bytes;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use roles::{RoleFileError, RoleSource};

use crate::http::server::{Handler, drain, metrics_text, spawn, text};
use crate::http::{KeyFetchError, Peer, RunningServer, ServeError, ServerLimits};
use crate::oidc::{IssuerUrl, JwkSet, JwksError};
use crate::service_accounts::ServiceAccountCache;
use crate::token::{Rejection, Verifier, VerifierError, WebIdentityToken};
use cache::{Call, CredentialCache, Key, Outcome, Policy, Refused, Upstream, UpstreamError};
use metrics::Metrics;
use roles::{Role, Roles};

/// The path SDKs ask.
pub const CREDENTIALS_PATH: &str = "/v1/credentials";

/// The EKS agent's addresses, the only non-loopback ones every SDK accepts over plain HTTP:
/// `169.254.170.23:80` and `[fd00:ec2::23]:80`.
pub const LINK_LOCAL_ADDRS: [SocketAddr; 2] = [
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(169, 254, 170, 23)), 80),
    SocketAddr::new(
        IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23)),
        80,
    ),
];

/// Where the issuer's keys come from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeySource {
    /// The issuer's discovery document and its `jwks_uri`, fetched as STS fetches them and
    /// read again every [`key_refresh`](Agent::key_refresh), or sooner (at most every 30 s)
    /// when a token names a key the set lacks. With `endpoint`, fetched from there instead
    /// (`ENDPOINT/.well-known/openid-configuration`).
    Discovery {
        /// Where to fetch instead of the issuer.
        endpoint: Option<url::Url>,
    },
    /// A JWKS file (e.g. the apiserver's `/openid/v1/jwks`, or `irsa discovery`'s output),
    /// read again when it changes; nothing is fetched.
    Jwks(PathBuf),
}

/// Whose credentials one cached session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CacheScope {
    /// One session per (ServiceAccount, role), shared by every pod of the ServiceAccount: the
    /// fewest STS calls.
    #[default]
    ServiceAccount,
    /// One session per pod (the EKS agent's behaviour): CloudTrail names the pod, at one STS
    /// call per pod.
    Pod,
}

/// Why the agent cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// A credentials address cannot be bound.
    #[error("the credentials endpoint cannot be opened")]
    Serve(#[source] ServeError),
    /// The metrics port cannot be opened.
    #[error("the metrics port cannot be opened")]
    Metrics(#[source] ServeError),
    /// The JWKS file cannot be read.
    #[error("cannot read the key file {path}")]
    JwksRead {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The JWKS file is not a key set.
    #[error("the key file {path} is not a JWKS")]
    Jwks {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: JwksError,
    },
    /// The keys cannot verify tokens.
    #[error("the issuer's keys cannot verify tokens")]
    Keys(#[source] VerifierError),
    /// The role file cannot be used.
    #[error("the role mapping cannot be read")]
    Roles(#[source] RoleFileError),
    /// The margin leaves nothing to serve.
    #[error(
        "credentials of {duration} s would never have more than the {min_remaining} s minimum left: ask for a longer session or a smaller margin"
    )]
    Margin {
        /// The session duration, seconds.
        duration: u64,
        /// The margin, seconds.
        min_remaining: u64,
    },
    /// STS cannot issue sessions of this length.
    #[error(
        "STS issues sessions of 900 to 43200 s, not {seconds} s: ask for a duration in that range (and within the roles' maximum)"
    )]
    SessionDuration {
        /// The duration asked, seconds.
        seconds: u64,
    },
    /// The credentials endpoint has no address.
    #[error("the agent has no address to listen on: give at least one")]
    NoListener,
}

/// The agent's settings; [`start`](Agent::start) runs it.
pub struct Agent {
    issuer: IssuerUrl,
    keys: KeySource,
    roles: RoleSource,
    sts: aws_types::SdkConfig,
    audience: String,
    listen: Vec<SocketAddr>,
    metrics_listen: Option<SocketAddr>,
    limits: ServerLimits,
    scope: CacheScope,
    cluster_name: Option<String>,
    session_duration: Duration,
    min_remaining: Duration,
    refresh_ahead: Duration,
    max_keys: usize,
    idle: Duration,
    rate: (u32, u32),
    key_refresh: Duration,
    file_check: Duration,
    refresh_tick: Duration,
    lookup_grace: Duration,
    resync: Option<Duration>,
    time: SharedTimeSource,
    shutdown_delay: Duration,
    drain_timeout: Duration,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("issuer", &self.issuer)
            .field("keys", &self.keys)
            .field("audience", &self.audience)
            .field("listen", &self.listen)
            .field("scope", &self.scope)
            .field("session_duration", &self.session_duration)
            .field("min_remaining", &self.min_remaining)
            .finish_non_exhaustive()
    }
}

impl Agent {
    /// An agent for tokens of `issuer`, verified with `keys`, mapped to roles by `roles`, that
    /// reaches STS as `sts` says (region and endpoint; no credentials are needed). Every other
    /// setting at its default.
    pub fn builder(
        issuer: IssuerUrl,
        keys: KeySource,
        roles: RoleSource,
        sts: &aws_types::SdkConfig,
    ) -> Agent {
        Agent {
            issuer,
            keys,
            roles,
            sts: sts.clone(),
            audience: "sts.amazonaws.com".to_owned(),
            listen: LINK_LOCAL_ADDRS.to_vec(),
            metrics_listen: Some(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 2705))),
            limits: ServerLimits::default()
                .max_body_bytes(0)
                .header_read_timeout(Duration::from_secs(5)),
            scope: CacheScope::ServiceAccount,
            cluster_name: None,
            session_duration: Duration::from_secs(3600),
            min_remaining: Duration::from_secs(15 * 60),
            refresh_ahead: Duration::from_secs(15 * 60),
            max_keys: 10_000,
            idle: Duration::from_secs(2 * 3600),
            rate: (100, 200),
            key_refresh: Duration::from_secs(3600),
            file_check: Duration::from_secs(5),
            refresh_tick: Duration::from_secs(5),
            lookup_grace: Duration::from_millis(250),
            resync: Some(Duration::from_secs(600)),
            time: SharedTimeSource::default(),
            shutdown_delay: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(10),
        }
    }

    /// The credentials addresses (default [`LINK_LOCAL_ADDRS`]).
    #[must_use]
    pub fn listen(mut self, addrs: Vec<SocketAddr>) -> Self {
        self.listen = addrs;
        self
    }

    /// The plain-HTTP address of `/metrics`, `/healthz` and `/readyz` (default
    /// `0.0.0.0:2705`, the EKS agent's metrics port), or `None`.
    #[must_use]
    pub fn metrics_listen(mut self, addr: Option<SocketAddr>) -> Self {
        self.metrics_listen = addr;
        self
    }

    /// What a client may send (default: [`ServerLimits::default`] with no body, since a
    /// credentials request is a `GET`, and 5 s to send the headers).
    #[must_use]
    pub fn limits(mut self, limits: ServerLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The audience tokens must carry (default `sts.amazonaws.com`: the token is passed on to
    /// STS, whose trust policies check it).
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// Whose credentials one session is (default [`CacheScope::ServiceAccount`]).
    #[must_use]
    pub fn scope(mut self, scope: CacheScope) -> Self {
        self.scope = scope;
        self
    }

    /// The cluster's name, first in every session name (CloudTrail shows
    /// `CLUSTER@NAMESPACE.SERVICEACCOUNT`).
    #[must_use]
    pub fn cluster_name(mut self, name: impl Into<String>) -> Self {
        self.cluster_name = Some(name.into());
        self
    }

    /// The `DurationSeconds` asked of STS (default one hour; the role's maximum session
    /// duration caps it).
    #[must_use]
    pub fn session_duration(mut self, duration: Duration) -> Self {
        self.session_duration = duration;
        self
    }

    /// Credentials with this much or less left are never served (default 15 minutes, so
    /// botocore, which refreshes 15 minutes ahead, does not ask on every call).
    #[must_use]
    pub fn min_remaining(mut self, margin: Duration) -> Self {
        self.min_remaining = margin;
        self
    }

    /// How long before that margin the background refresh starts (default 15 minutes: one
    /// hour's credentials are refreshed at half-life), leaving time for retries.
    #[must_use]
    pub fn refresh_ahead(mut self, ahead: Duration) -> Self {
        self.refresh_ahead = ahead;
        self
    }

    /// The most cached sessions (default 10,000); the least recently used goes first.
    #[must_use]
    pub fn max_keys(mut self, max: usize) -> Self {
        self.max_keys = max.max(1);
        self
    }

    /// A session no request used for this long is dropped and no longer refreshed (default
    /// two hours, longer than an hour's credentials last, so a ServiceAccount whose pods ask
    /// once per refresh stays cached).
    #[must_use]
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// Requests per second and burst allowed to each client address (default 100 and 200);
    /// beyond them a client hears `429`.
    #[must_use]
    pub fn rate_limit(mut self, per_second: u32, burst: u32) -> Self {
        self.rate = (per_second.max(1), burst.max(1));
        self
    }

    /// How often fetched keys are read again from the issuer (default one hour).
    #[must_use]
    pub fn key_refresh(mut self, every: Duration) -> Self {
        self.key_refresh = every.max(Duration::from_secs(1));
        self
    }

    /// How often the key and role files are read again (default 5 s).
    #[must_use]
    pub fn file_check_interval(mut self, every: Duration) -> Self {
        self.file_check = every.max(Duration::from_millis(10));
        self
    }

    /// How long a request waits for the apiserver when its ServiceAccount is not cached
    /// (default 250 ms, well inside the JavaScript SDK's one second).
    #[must_use]
    pub fn lookup_grace_period(mut self, grace: Duration) -> Self {
        self.lookup_grace = grace;
        self
    }

    /// The clock credentials are judged by (default the system's).
    #[must_use]
    pub fn time_source(mut self, time: SharedTimeSource) -> Self {
        self.time = time;
        self
    }

    /// How long [`shutdown`](RunningAgent::shutdown) keeps serving after readiness turns
    /// false (default 5 s).
    #[must_use]
    pub fn shutdown_delay(mut self, delay: Duration) -> Self {
        self.shutdown_delay = delay;
        self
    }

    /// The longest wait for requests in flight once the agent stops accepting (default 10 s).
    #[must_use]
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// Reads the key and role files, binds the ports, and starts the key, role and refresh
    /// tasks.
    pub async fn start(self) -> Result<RunningAgent, AgentError> {
        if self.listen.is_empty() {
            return Err(AgentError::NoListener);
        }
        if !(900..=43_200).contains(&self.session_duration.as_secs()) {
            return Err(AgentError::SessionDuration {
                seconds: self.session_duration.as_secs(),
            });
        }
        if self.min_remaining >= self.session_duration {
            return Err(AgentError::Margin {
                duration: self.session_duration.as_secs(),
                min_remaining: self.min_remaining.as_secs(),
            });
        }
        let metrics = Metrics::new();
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        let verifier = match &self.keys {
            KeySource::Jwks(path) => {
                let bytes = std::fs::read(path).map_err(|source| AgentError::JwksRead {
                    path: path.clone(),
                    source,
                })?;
                let keys = JwkSet::parse(&bytes).map_err(|source| AgentError::Jwks {
                    path: path.clone(),
                    source,
                })?;
                let verifier = build_verifier(&keys, &self.issuer, &self.audience);
                Some(Arc::new(verifier.map_err(AgentError::Keys)?))
            }
            KeySource::Discovery { .. } => None,
        };
        let roles = match &self.roles {
            RoleSource::File(path) => {
                let bytes = std::fs::read(path).map_err(|source| {
                    AgentError::Roles(RoleFileError::Read {
                        path: path.clone(),
                        source,
                    })
                })?;
                let map = roles::parse_role_file(path, &bytes).map_err(AgentError::Roles)?;
                Roles::File {
                    path: path.clone(),
                    map: Arc::new(RwLock::new((bytes, Arc::new(map)))),
                }
            }
            RoleSource::Cluster {
                client,
                annotation_prefix,
            } => {
                let cache = ServiceAccountCache::new(
                    client.clone(),
                    annotation_prefix.clone(),
                    self.lookup_grace,
                );
                // A pod of a deleted ServiceAccount keeps a valid token until it expires: its
                // SDK's retries cost the apiserver one GET per 10 s, not one each.
                cache.remember_absent(Duration::from_secs(10));
                tasks.push(tokio::spawn(
                    cache.clone().run(self.resync, stopped.clone()),
                ));
                Roles::Cluster(cache)
            }
        };
        let upstream = Arc::new(Metered {
            inner: Arc::new(upstream::Sts::new(&self.sts, self.session_duration)),
            metrics: metrics.clone(),
        });
        let cache = CredentialCache::new(
            upstream,
            self.time.clone(),
            Policy {
                min_remaining: self.min_remaining,
                refresh_ahead: self.refresh_ahead,
                max_keys: self.max_keys,
                idle: self.idle,
            },
            fastrand::u64(..),
        );
        let state = Arc::new(State {
            verifier: RwLock::new(verifier),
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            roles,
            cache,
            metrics: metrics.clone(),
            time: self.time.clone(),
            scope: self.scope,
            cluster: self.cluster_name.clone(),
            draining: AtomicBool::new(false),
            unknown_kid: Notify::new(),
            limiter: RateLimiter::new(self.rate.0, self.rate.1),
        });
        let mut servers = Vec::new();
        for addr in &self.listen {
            let server = spawn(
                *addr,
                None,
                self.limits,
                handler(state.clone(), Port::Credentials),
            )
            .await
            .map_err(AgentError::Serve)?;
            servers.push(server);
        }
        let metrics_server = match self.metrics_listen {
            Some(addr) => Some(
                spawn(
                    addr,
                    None,
                    ServerLimits::default().max_body_bytes(0),
                    handler(state.clone(), Port::Metrics),
                )
                .await
                .map_err(AgentError::Metrics)?,
            ),
            None => None,
        };
        tasks.push(tokio::spawn(keep_keys(
            state.clone(),
            self.keys.clone(),
            self.key_refresh,
            self.file_check,
            stopped.clone(),
        )));
        tasks.push(tokio::spawn(keep_roles(
            state.clone(),
            self.file_check,
            stopped.clone(),
        )));
        tasks.push(tokio::spawn(keep_credentials(
            state.clone(),
            self.refresh_tick,
            stopped,
        )));
        tracing::info!(
            listen = ?servers.iter().map(RunningServer::local_addr).collect::<Vec<_>>(),
            issuer = %self.issuer,
            audience = %self.audience,
            sts_region = self.sts.region().map_or("us-east-1 (none configured)", |r| r.as_ref()),
            sts_endpoint = self.sts.endpoint_url().unwrap_or("the region's"),
            "agent started"
        );
        Ok(RunningAgent {
            servers,
            metrics_server,
            state,
            stop,
            tasks,
            shutdown_delay: self.shutdown_delay,
            drain_timeout: self.drain_timeout,
        })
    }
}

/// The verifier for the agent's issuer and audience.
fn build_verifier(
    keys: &JwkSet,
    issuer: &IssuerUrl,
    audience: &str,
) -> Result<Verifier, VerifierError> {
    Verifier::builder(keys)
        .issuer(issuer.clone())
        .audience(audience.to_owned())
        // Every request of a pod's processes carries the same token until the kubelet rotates
        // it: its signature is checked once a minute, not on every request.
        .cache(10_000, Duration::from_secs(60))
        .build()
}

/// A running agent.
#[derive(Debug)]
pub struct RunningAgent {
    servers: Vec<RunningServer>,
    metrics_server: Option<RunningServer>,
    state: Arc<State>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    shutdown_delay: Duration,
    drain_timeout: Duration,
}

impl RunningAgent {
    /// The credentials addresses, as bound (a port 0 resolved).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.servers.iter().map(RunningServer::local_addr).collect()
    }

    /// The metrics address, when there is a metrics port.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_server.as_ref().map(RunningServer::local_addr)
    }

    /// Whether `/readyz` answers `200`: keys loaded, role mapping synced, not draining.
    pub fn is_ready(&self) -> bool {
        self.state.ready()
    }

    /// `AssumeRoleWithWebIdentity` calls made so far.
    pub fn sts_calls(&self) -> u64 {
        self.state.cache.calls.load(Ordering::Relaxed)
    }

    /// Sessions in the cache.
    pub fn cached_sessions(&self) -> usize {
        self.state.cache.len()
    }

    /// One pass of what the background task does every few seconds: refresh the sessions
    /// that are due, drop idle ones. Returns the refreshes attempted. For simulations that
    /// drive the clock themselves.
    pub async fn refresh_now(&self) -> usize {
        refresh_pass(&self.state).await
    }

    /// Readiness false, then (after the shutdown delay) stop accepting and answer the requests
    /// in flight (at most the drain timeout), then stop the tasks.
    pub async fn shutdown(self) {
        self.state.draining.store(true, Ordering::Release);
        self.state.metrics.ready.set(0);
        tracing::info!(delay = ?self.shutdown_delay, "draining: readiness is false");
        let servers = self
            .servers
            .into_iter()
            .chain(self.metrics_server)
            .collect();
        drain(servers, self.shutdown_delay, self.drain_timeout).await;
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        tracing::info!("agent stopped");
    }
}

struct State {
    verifier: RwLock<Option<Arc<Verifier>>>,
    issuer: IssuerUrl,
    audience: String,
    roles: Roles,
    cache: CredentialCache,
    metrics: Metrics,
    time: SharedTimeSource,
    scope: CacheScope,
    cluster: Option<String>,
    draining: AtomicBool,
    unknown_kid: Notify,
    limiter: RateLimiter,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("issuer", &self.issuer)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl State {
    fn keys_loaded(&self) -> bool {
        self.verifier
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    fn ready(&self) -> bool {
        self.keys_loaded() && self.roles.is_synced() && !self.draining.load(Ordering::Acquire)
    }
}

/// The STS calls timed and counted.
struct Metered {
    inner: Arc<dyn Upstream>,
    metrics: Metrics,
}

impl Upstream for Metered {
    fn assume<'a>(
        &'a self,
        role: &'a crate::arn::RoleArn,
        session: &'a str,
        token: &'a WebIdentityToken,
    ) -> Call<'a> {
        Box::pin(async move {
            let start = Instant::now();
            let result = self.inner.assume(role, session, token).await;
            self.metrics
                .sts_seconds
                .observe(start.elapsed().as_secs_f64());
            let outcome = if result.is_ok() { "success" } else { "error" };
            self.metrics.sts_calls.with_label_values(&[outcome]).inc();
            result
        })
    }
}

/// A token bucket per client address.
struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant), foldhash::fast::RandomState>>,
}

impl RateLimiter {
    fn new(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(per_second),
            burst: f64::from(burst),
            buckets: Mutex::new(HashMap::default()),
        }
    }

    /// Whether `ip` may make a request now.
    fn allow(&self, ip: Option<IpAddr>) -> bool {
        let Some(ip) = ip else { return true };
        // A client reaching a dual-stack socket over IPv4 shows as `::ffff:a.b.c.d`: one
        // client, one bucket, whichever socket it came through.
        let ip = ip.to_canonical();
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= 65_536 {
            // Many clients: forget the ones whose bucket has refilled (they lose nothing).
            let full = Duration::from_secs_f64(self.burst / self.per_second);
            buckets.retain(|_, (_, at)| now.duration_since(*at) < full);
            if buckets.len() >= 65_536 {
                // Still full (a flood from many addresses): start over rather than grow.
                buckets.clear();
            }
        }
        let (tokens, at) = buckets.entry(ip).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Port {
    Credentials,
    Metrics,
}

fn handler(state: Arc<State>, port: Port) -> Handler {
    Arc::new(move |request, peer: Peer| {
        let state = state.clone();
        Box::pin(async move { route(&state, port, &request, peer).await })
    })
}

async fn route(
    state: &State,
    port: Port,
    request: &http::Request<Bytes>,
    peer: Peer,
) -> http::Response<Bytes> {
    let path = request.uri().path();
    let get = request.method() == http::Method::GET;
    match (port, path) {
        (Port::Credentials, CREDENTIALS_PATH) if get => {
            let response = if state.limiter.allow(peer.ip) {
                credentials(state, request).await
            } else {
                let mut response = error(
                    http::StatusCode::TOO_MANY_REQUESTS,
                    "Throttling",
                    "too many requests from this address: retry after a second",
                );
                response.headers_mut().insert(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from_static("1"),
                );
                response
            };
            state
                .metrics
                .requests
                .with_label_values(&[response.status().as_str()])
                .inc();
            response
        }
        (Port::Metrics, "/healthz") if get => text(http::StatusCode::OK, "ok\n"),
        (Port::Metrics, "/readyz") if get => {
            state.metrics.ready.set(i64::from(state.ready()));
            if state.ready() {
                text(http::StatusCode::OK, "ok\n")
            } else {
                let why = if state.draining.load(Ordering::Acquire) {
                    "draining"
                } else if !state.keys_loaded() {
                    "the issuer's keys are not loaded yet"
                } else {
                    "the ServiceAccount cache is not synced yet"
                };
                text(http::StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n"))
            }
        }
        (Port::Metrics, "/metrics") if get => {
            state.metrics.cached_keys.set(state.cache.len() as i64);
            state
                .metrics
                .count_evictions(state.cache.evictions.load(Ordering::Relaxed));
            state.metrics.ready.set(i64::from(state.ready()));
            metrics_text(state.metrics.render())
        }
        (Port::Credentials, CREDENTIALS_PATH)
        | (Port::Metrics, "/healthz" | "/readyz" | "/metrics") => {
            let mut response = error(
                http::StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "credentials, health and metrics are read with GET",
            );
            response
                .headers_mut()
                .insert(http::header::ALLOW, http::HeaderValue::from_static("GET"));
            response
        }
        _ => error(
            http::StatusCode::NOT_FOUND,
            "NotFound",
            "not found: credentials are served at /v1/credentials",
        ),
    }
}

/// The error shape the Go SDK decodes (`code`, `message`); the JavaScript SDK reads `Code` and
/// `Message`, so both are written.
fn error(status: http::StatusCode, code: &str, message: &str) -> http::Response<Bytes> {
    let body =
        serde_json::json!({ "code": code, "message": message, "Code": code, "Message": message });
    let mut response = http::Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// One credentials request.
async fn credentials(state: &State, request: &http::Request<Bytes>) -> http::Response<Bytes> {
    let Some(header) = request.headers().get(http::header::AUTHORIZATION) else {
        return error(
            http::StatusCode::UNAUTHORIZED,
            "MissingToken",
            "no Authorization header: send the projected service-account token (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)",
        );
    };
    let raw = header.to_str().unwrap_or_default().trim();
    // The SDKs send the token as it is; `Bearer` is accepted too.
    let raw = raw
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("bearer "))
        .map_or(raw, |_| raw[7..].trim_start());
    let Some(verifier) = state
        .verifier
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
    else {
        return error(
            http::StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "the issuer's keys are not loaded yet: retry",
        );
    };
    let now = state.time.now();
    let verified = match verifier.verify(raw, now) {
        Ok(verified) => verified,
        Err(rejection) => {
            if matches!(rejection, Rejection::UnknownKid { .. }) {
                state.unknown_kid.notify_one();
            }
            // The verifier speaks of STS's providers; here they are the agent's flags.
            let reason = match &rejection {
                Rejection::WrongAudience { aud, .. } => format!(
                    "its audiences {aud:?} do not include {:?} (the agent's --audience; the webhook's --container-credentials-audience must match)",
                    state.audience
                ),
                Rejection::UnknownIssuer { iss, .. } => format!(
                    "its issuer {iss:?} is not {:?} (the agent's --issuer, compared exactly)",
                    state.issuer.as_str()
                ),
                other => crate::ErrorChain(other).to_string(),
            };
            tracing::info!(%reason, "refused a token");
            return error(
                http::StatusCode::UNAUTHORIZED,
                "InvalidToken",
                &format!("the service-account token is refused: {reason}"),
            );
        }
    };
    let Some(subject) = verified.subject() else {
        return error(
            http::StatusCode::UNAUTHORIZED,
            "InvalidToken",
            "the token's subject is not a ServiceAccount (system:serviceaccount:NAMESPACE:NAME)",
        );
    };
    let (namespace, name) = (subject.namespace(), subject.name());
    let role = match state.roles.role(namespace, name).await {
        Role::Arn(arn) => arn,
        Role::None(why) => {
            let why = why.unwrap_or_else(|| "it has no role".to_owned());
            tracing::info!(%namespace, service_account = %name, reason = %why, "no role");
            return error(
                http::StatusCode::FORBIDDEN,
                "AccessDenied",
                &format!(
                    "ServiceAccount {namespace}/{name} gets no credentials: {why}; {}",
                    state.roles.fix(namespace, name)
                ),
            );
        }
        Role::Unknown(lookup) => {
            return error(
                http::StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                &format!(
                    "ServiceAccount {namespace}/{name} could not be read from the apiserver ({}): retry",
                    lookup.as_str()
                ),
            );
        }
    };
    let claims = verified.claims();
    let pod = claims.kubernetes.as_ref().and_then(|k| k.pod.as_ref());
    let pod_key = match state.scope {
        CacheScope::ServiceAccount => None,
        CacheScope::Pod => {
            let Some(id) = pod.and_then(|p| p.uid.as_deref().or(p.name.as_deref())) else {
                return error(
                    http::StatusCode::FORBIDDEN,
                    "AccessDenied",
                    "the agent keeps a session per pod, and this token is bound to no pod: mount a projected token",
                );
            };
            Some(Box::from(id))
        }
    };
    let pod_name = pod
        .and_then(|p| p.name.as_deref())
        .unwrap_or_default()
        .to_owned();
    let token_expiry = claims
        .exp
        .and_then(|exp| u64::try_from(exp).ok())
        .and_then(|exp| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(exp)))
        .unwrap_or(now);
    let key = Key {
        namespace: namespace.into(),
        name: name.into(),
        role,
        pod: pod_key,
    };
    let session = || {
        session_name(
            state.cluster.as_deref(),
            namespace,
            name,
            (state.scope == CacheScope::Pod).then_some(pod_name.as_str()),
        )
    };
    let token = WebIdentityToken::new(raw.to_owned());
    match state.cache.get(&key, session, token, token_expiry).await {
        Ok((credentials, outcome)) => {
            state
                .metrics
                .cache
                .with_label_values(&[outcome.as_str()])
                .inc();
            if outcome != Outcome::Hit {
                tracing::info!(%namespace, service_account = %name, role = %key.role, outcome = outcome.as_str(), "credentials issued");
            }
            answer(&credentials)
        }
        Err(Refused {
            error: failure,
            remembered,
        }) => {
            tracing::warn!(%namespace, service_account = %name, role = %key.role, error = %failure, remembered, "no credentials");
            let (status, code, message) = match &failure {
                UpstreamError::Sts { code, message, .. } if !failure.is_transient() => (
                    http::StatusCode::FORBIDDEN,
                    code.as_str(),
                    format!(
                        "STS refused role {} for {namespace}/{name}: {message}",
                        key.role
                    ),
                ),
                UpstreamError::Sts { code, message, .. } => (
                    http::StatusCode::SERVICE_UNAVAILABLE,
                    code.as_str(),
                    format!("STS failed for role {}: {message}; retry", key.role),
                ),
                UpstreamError::Transport(why) => (
                    http::StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    format!("STS cannot be reached: {why}; retry"),
                ),
            };
            error(status, code, &message)
        }
    }
}

/// The answer SDKs read.
fn answer(credentials: &aws_credential_types::Credentials) -> http::Response<Bytes> {
    let expiration = credentials
        .expiry()
        .and_then(|e| {
            aws_smithy_types::DateTime::from(e)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .ok()
        })
        .unwrap_or_default();
    let mut body = serde_json::Map::new();
    body.insert("AccessKeyId".into(), credentials.access_key_id().into());
    body.insert(
        "SecretAccessKey".into(),
        credentials.secret_access_key().into(),
    );
    body.insert(
        "Token".into(),
        credentials.session_token().unwrap_or_default().into(),
    );
    body.insert("Expiration".into(), expiration.into());
    if let Some(account) = credentials.account_id() {
        body.insert("AccountId".into(), account.as_str().into());
    }
    let body = serde_json::Value::Object(body);
    let mut response = http::Response::new(Bytes::from(body.to_string()));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// STS's session name for a key: `CLUSTER@NAMESPACE.NAME` (with `.POD` in pod scope), within
/// STS's 64 characters of `[\w+=,.@-]`; a longer one is cut and ends in a hash of the whole,
/// so two long names stay apart.
pub(crate) fn session_name(
    cluster: Option<&str>,
    namespace: &str,
    name: &str,
    pod: Option<&str>,
) -> String {
    let mut full = String::new();
    if let Some(cluster) = cluster {
        full.push_str(cluster);
        full.push('@');
    }
    full.push_str(namespace);
    full.push('.');
    full.push_str(name);
    if let Some(pod) = pod.filter(|p| !p.is_empty()) {
        full.push('.');
        full.push_str(pod);
    }
    let mut clean: String = full
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if clean.len() > 64 {
        use std::hash::BuildHasher as _;
        let hash = foldhash::fast::FixedState::with_seed(0).hash_one(&full);
        clean.truncate(55);
        clean.push('-');
        clean.push_str(&format!("{:08x}", hash as u32));
    }
    clean
}

async fn refresh_pass(state: &State) -> usize {
    let errors = state.cache.failures.load(Ordering::Relaxed);
    let attempted = state.cache.refresh_due().await;
    let failed = state
        .cache
        .failures
        .load(Ordering::Relaxed)
        .saturating_sub(errors);
    state.metrics.refresh_errors.inc_by(failed);
    state.metrics.cached_keys.set(state.cache.len() as i64);
    attempted
}

async fn keep_credentials(state: Arc<State>, every: Duration, mut stopped: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.changed() => return,
        }
        refresh_pass(&state).await;
    }
}

async fn keep_roles(state: Arc<State>, every: Duration, mut stopped: watch::Receiver<bool>) {
    if !matches!(state.roles, Roles::File { .. }) {
        return;
    }
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_error: Option<String> = None;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.changed() => return,
        }
        match state.roles.reload() {
            Ok(changed) => {
                last_error = None;
                if changed {
                    tracing::info!(service_accounts = state.roles.len(), "role file read again");
                }
            }
            Err(e) => {
                let text = crate::ErrorChain(&e).to_string();
                if last_error.as_deref() != Some(text.as_str()) {
                    state.metrics.role_reload_errors.inc();
                    tracing::warn!(error = %text, "keeping the current role mapping");
                    last_error = Some(text);
                }
            }
        }
    }
}

/// Keeps the verifier's keys current: the key file read again when it changes, or the
/// issuer's documents fetched (retried with backoff until they are in, then every `refresh`,
/// and at most every 30 s when a token names an unknown key).
async fn keep_keys(
    state: Arc<State>,
    source: KeySource,
    refresh: Duration,
    file_check: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let mut failures = 0u32;
    let mut last_error: Option<String> = None;
    let mut last_bytes: Option<Vec<u8>> = None;
    let mut last_keys: Option<String> = None;
    let client = match &source {
        KeySource::Discovery { .. } => match crate::http::client::client(&[], &[]) {
            Ok(client) => Some(client),
            Err(e) => {
                tracing::error!(error = %crate::ErrorChain(&e), "no HTTPS client: the issuer's keys cannot be fetched");
                return;
            }
        },
        KeySource::Jwks(_) => None,
    };
    let mut wait = Duration::ZERO;
    loop {
        let first = Duration::from_secs(30).min(wait);
        let notify = &state.unknown_kid;
        let unknown_kid = async move {
            // A token with an unknown kid asks for a fetch, at most every 30 s.
            tokio::time::sleep(first).await;
            notify.notified().await;
        };
        if !wait.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = unknown_kid, if client.is_some() => {}
                _ = stopped.changed() => return,
            }
        }
        let outcome: Result<Option<JwkSet>, String> = match (&source, &client) {
            (KeySource::Jwks(path), _) => match std::fs::read(path) {
                Ok(bytes) if last_bytes.as_ref() == Some(&bytes) => Ok(None),
                Ok(bytes) => {
                    let parsed = JwkSet::parse(&bytes)
                        .map(Some)
                        .map_err(|e| format!("{}: {}", path.display(), crate::ErrorChain(&e)));
                    if parsed.is_ok() {
                        last_bytes = Some(bytes);
                    }
                    parsed
                }
                Err(e) => Err(format!("{}: {e}", path.display())),
            },
            (KeySource::Discovery { endpoint }, Some(client)) => {
                crate::http::issuer_keys::fetch_key_set(
                    client,
                    &state.issuer,
                    endpoint.as_ref(),
                    Duration::from_secs(5),
                    128 * 1024,
                )
                .await
                .map(|(keys, _)| Some(keys))
                .map_err(|e: KeyFetchError| crate::ErrorChain(&e).to_string())
            }
            (KeySource::Discovery { .. }, None) => return,
        };
        let installed = outcome.and_then(|keys| {
            let Some(keys) = keys else { return Ok(false) };
            // The same set fetched again: the verifier and its cache stay as they are.
            let json = keys.to_json();
            if last_keys.as_deref() == Some(json.as_str()) {
                return Ok(false);
            }
            last_keys = Some(json);
            let mut slot = state
                .verifier
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            match slot.as_ref() {
                Some(verifier) => verifier.replace_keys(&keys),
                None => build_verifier(&keys, &state.issuer, &state.audience)
                    .map(|v| *slot = Some(Arc::new(v))),
            }
            .map(|()| true)
            .map_err(|e| crate::ErrorChain(&e).to_string())
        });
        match installed {
            Ok(changed) => {
                failures = 0;
                last_error = None;
                if changed {
                    state
                        .metrics
                        .key_refreshes
                        .with_label_values(&["success"])
                        .inc();
                    tracing::info!(issuer = %state.issuer, "the issuer's keys are loaded");
                }
                wait = match source {
                    KeySource::Jwks(_) => file_check,
                    KeySource::Discovery { .. } => refresh,
                };
            }
            Err(text) => {
                failures = failures.saturating_add(1);
                if last_error.as_deref() != Some(text.as_str()) {
                    state
                        .metrics
                        .key_refreshes
                        .with_label_values(&["error"])
                        .inc();
                    if state.keys_loaded() {
                        tracing::warn!(error = %text, "the issuer's keys cannot be read; keeping the current ones");
                    } else {
                        tracing::warn!(error = %text, "the issuer's keys cannot be read yet: requests get 503 until they are; retrying with backoff (up to a minute apart)");
                    }
                    last_error = Some(text);
                }
                wait = match source {
                    KeySource::Jwks(_) => file_check,
                    KeySource::Discovery { .. } => cache::backoff(failures, fastrand::f64()),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_fit_sts() {
        assert_eq!(
            session_name(Some("prod"), "shop", "cart", None),
            "prod@shop.cart"
        );
        assert_eq!(
            session_name(None, "shop", "cart", Some("cart-7d9f-x2")),
            "shop.cart.cart-7d9f-x2"
        );
        let long = "a".repeat(63);
        let one = session_name(Some("prod"), &long, "cart", None);
        let two = session_name(Some("prod"), &long, "carts", None);
        assert_eq!(one.len(), 64);
        assert_ne!(one, two);
        assert!(one.starts_with("prod@aaaa"));
        assert_eq!(
            session_name(Some("my cluster/1"), "a", "b", None),
            "my-cluster-1@a.b"
        );
    }

    #[test]
    fn each_client_has_its_own_bucket() {
        let limiter = RateLimiter::new(1, 3);
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        assert_eq!((0..5).map(|_| limiter.allow(a)).filter(|x| *x).count(), 3);
        assert!(limiter.allow(b));
        let mapped = Some(IpAddr::from([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001]));
        assert!(
            !limiter.allow(mapped),
            "10.0.0.1 over IPv6 shares its bucket"
        );
    }
}
