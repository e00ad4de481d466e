//! A web-identity credential provider for aws-config chains (feature `provider`, on by default):
//! it watches the projected token, refreshes in the background before expiry, and never makes a
//! caller wait for STS in steady state.
//!
//! # What it does, and why
//!
//! | | aws-config's `WebIdentityTokenCredentialsProvider` | [`WebIdentityProvider`] |
//! |---|---|---|
//! | refresh | on demand, 5–10 s before expiry, in the caller's request | in a background task at an advisory point (¼ of the lifetime, at most 15 min, jittered) |
//! | caller waits for STS | at every refresh | only in the last minute of validity (mandatory window), bounded by the load timeout, or before the first credentials |
//! | STS fails | the caller gets the error | unexpired credentials keep being served; retries with jittered exponential backoff |
//! | STS calls in flight | one per cache partition | exactly one, whatever the number of callers |
//! | non-retryable errors (`AccessDenied`, …) | retried by the next request at once | answered from memory for 5 s, with what to do |
//! | `IDPCommunicationError`, "Couldn't retrieve verification key" | not retried by older SDKs | retried with backoff |
//! | token file | read at refresh, trailing newline sent to STS | trimmed; watched (a kubelet `..data` swap is seen at once); the last good token bridges a swap; after `ExpiredTokenException` the next attempt follows the file's next change |
//! | `DurationSeconds`, session policies | no `DurationSeconds` | `duration_seconds` from the profile or builder; `Policy`, `PolicyArns` |
//! | session name | `web-identity-token-<millis>` | `irsa-<pod name>` (from `HOSTNAME`), so CloudTrail tells pods apart |
//!
//! Configuration comes from the builder, else the environment (`AWS_ROLE_ARN`,
//! `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_SESSION_NAME`, `AWS_REGION`/`AWS_DEFAULT_REGION`,
//! `AWS_STS_REGIONAL_ENDPOINTS`, `AWS_ENDPOINT_URL_STS`/`AWS_ENDPOINT_URL`), else the shared
//! config profile (`role_arn`, `web_identity_token_file`, `role_session_name`,
//! `duration_seconds`, `region`). When none configures web identity the provider answers
//! `CredentialsNotLoaded`, so a chain moves on, as aws-config's does.
//!
//! Time, sleep and the environment are injected ([`WebIdentityProviderBuilder::time_source`],
//! [`WebIdentityProviderBuilder::sleep_impl`], [`WebIdentityProviderBuilder::env`]), so every
//! window is tested with a fake clock.
//!
//! # With an SDK client
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use aws_config::identity::IdentityCache;
//! use irsa::provider::WebIdentityProvider;
//!
//! let provider = WebIdentityProvider::builder().build(); // from the environment
//! let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
//!     .credentials_provider(provider)
//!     // The provider refreshes ahead of time itself: the SDK's cache adds nothing.
//!     .identity_cache(IdentityCache::no_cache())
//!     .load()
//!     .await;
//! # let _ = config; Ok(()) }
//! ```

mod config;
mod error;
pub mod refresh;
mod sts;
mod token_file;

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, ProvideCredentials};
use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep, TokioSleep};
use aws_smithy_async::time::{SharedTimeSource, SystemTimeSource, TimeSource};
use tokio::sync::{Notify, watch};

pub use config::{Environment, ProcessEnvironment};
pub use error::{
    ConfigError, ProfileLoadError, ProviderError, StsFailure, TokenFileError, TransportError,
};
use refresh::{ERROR_CACHE, Schedule, backoff, schedule};

/// How long a caller waits for credentials when none are usable, by default.
pub const DEFAULT_LOAD_TIMEOUT: Duration = Duration::from_secs(20);

/// The web-identity credential provider; see the [module docs](self). Cheap to clone: clones
/// share one cache and one background task, which ends when the last clone is dropped.
#[derive(Clone)]
pub struct WebIdentityProvider {
    handle: Arc<Handle>,
}

struct Handle {
    shared: Arc<Shared>,
    /// Dropped with the last provider clone, which ends the background task.
    _alive: watch::Sender<()>,
    alive: watch::Receiver<()>,
}

struct Shared {
    setup: Result<Option<Setup>, ConfigError>,
    time: SharedTimeSource,
    sleep: SharedAsyncSleep,
    load_timeout: Duration,
    state: ArcSwap<Snapshot>,
    changed: watch::Sender<u64>,
    demand: Notify,
    token_changed: Notify,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    rng: Mutex<fastrand::Rng>,
    sts_calls: AtomicU64,
    /// With the default system clock, the tick of the coarse clock the fast path reads.
    coarse_tick: Option<Duration>,
}

struct Setup {
    settings: config::Settings,
    policy: sts::SessionPolicy,
    client: aws_sdk_sts::Client,
    token: token_file::TokenFile,
}

/// What the cache holds: the last good credentials and the last failure, if any.
#[derive(Clone)]
struct Snapshot {
    credentials: Option<Credentials>,
    expiry: SystemTime,
    schedule: Schedule,
    error: Option<ProviderError>,
    error_at: SystemTime,
    failures: u32,
    next_attempt: SystemTime,
    /// For the fast path's coarse clock: `schedule.mandatory_at` less one tick, since the epoch.
    coarse_deadline: Duration,
}

impl Snapshot {
    fn empty() -> Self {
        Self {
            credentials: None,
            expiry: UNIX_EPOCH,
            schedule: Schedule {
                refresh_at: UNIX_EPOCH,
                mandatory_at: UNIX_EPOCH,
            },
            error: None,
            error_at: UNIX_EPOCH,
            failures: 0,
            next_attempt: UNIX_EPOCH,
            coarse_deadline: Duration::ZERO,
        }
    }

    /// Credentials that have not expired.
    fn unexpired(&self, now: SystemTime) -> Option<&Credentials> {
        self.credentials.as_ref().filter(|_| now < self.expiry)
    }

    /// A non-retryable error recent enough to answer from memory.
    fn cached_error(&self, now: SystemTime) -> Option<&ProviderError> {
        self.error
            .as_ref()
            .filter(|e| !e.is_retryable() && now < self.error_at + ERROR_CACHE)
    }
}

/// What the provider knows, for health checks and metrics. Holds no secret.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProviderStatus {
    /// When the cached credentials expire, if there are any.
    pub expiry: Option<SystemTime>,
    /// When the background task refreshes them next.
    pub refresh_at: Option<SystemTime>,
    /// The last failure, until a success clears it.
    pub last_error: Option<ProviderError>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// `AssumeRoleWithWebIdentity` calls made so far.
    pub sts_calls: u64,
}

impl fmt::Debug for WebIdentityProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = &self.handle.shared;
        let mut d = f.debug_struct("WebIdentityProvider");
        match &shared.setup {
            Ok(Some(setup)) => d
                .field("role_arn", &format_args!("{}", setup.settings.role_arn))
                .field("token_file", &setup.settings.token_file)
                .field("session_name", &setup.settings.session_name)
                .field("source", &setup.settings.source),
            Ok(None) => d.field("configured", &false),
            Err(e) => d.field("config_error", e),
        };
        d.field("status", &self.status()).finish()
    }
}

impl WebIdentityProvider {
    /// A builder: settings not given there come from the environment and the profile.
    pub fn builder() -> WebIdentityProviderBuilder {
        WebIdentityProviderBuilder::default()
    }

    /// What the provider knows now.
    pub fn status(&self) -> ProviderStatus {
        let shared = &self.handle.shared;
        let snapshot = shared.state.load();
        ProviderStatus {
            expiry: snapshot.credentials.as_ref().map(|_| snapshot.expiry),
            refresh_at: snapshot
                .credentials
                .as_ref()
                .map(|_| snapshot.schedule.refresh_at),
            last_error: snapshot.error.clone(),
            consecutive_failures: snapshot.failures,
            sts_calls: shared.sts_calls.load(Ordering::Relaxed),
        }
    }

    /// Drops the cached credentials, for a caller whose request failed with an expired-token
    /// error from a service: the next caller waits for fresh ones (one STS call; credentials
    /// from a refresh already in flight count as fresh).
    pub fn invalidate(&self) {
        let shared = &self.handle.shared;
        let mut snapshot = Snapshot::clone(&shared.state.load());
        snapshot.credentials = None;
        snapshot.error = None;
        snapshot.failures = 0;
        snapshot.next_attempt = UNIX_EPOCH;
        shared.publish(snapshot);
        shared.demand.notify_one();
    }

    fn load(&self) -> provider::future::ProvideCredentials<'_> {
        let shared = &self.handle.shared;
        match &shared.setup {
            Ok(Some(_)) => {}
            Ok(None) => {
                return provider::future::ProvideCredentials::ready(Err(
                    CredentialsError::not_loaded(
                        "web identity is not configured: set AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, or role_arn and web_identity_token_file in the profile",
                    ),
                ));
            }
            Err(e) => {
                return provider::future::ProvideCredentials::ready(Err(
                    CredentialsError::invalid_configuration(e.clone()),
                ));
            }
        }
        // The fast path: no lock, no I/O, no allocation beyond an Arc clone.
        let snapshot = shared.state.load();
        if let Some(credentials) = &snapshot.credentials
            && shared.before_mandatory(&snapshot)
        {
            return provider::future::ProvideCredentials::ready(Ok(credentials.clone()));
        }
        drop(snapshot);
        provider::future::ProvideCredentials::new(self.wait_for_credentials())
    }

    async fn wait_for_credentials(&self) -> provider::Result {
        let shared = &self.handle.shared;
        self.ensure_started();
        let mut changed = shared.changed.subscribe();
        let deadline = shared.time.now() + shared.load_timeout;
        let timeout = shared.sleep.sleep(shared.load_timeout);
        tokio::pin!(timeout);
        loop {
            let snapshot = shared.state.load_full();
            let now = shared.time.now();
            if let Some(credentials) = &snapshot.credentials
                && now < snapshot.schedule.mandatory_at
            {
                return Ok(credentials.clone());
            }
            if let Some(error) = &snapshot.error {
                // The refresh is failing: still-valid credentials beat waiting for a retry.
                if let Some(credentials) = snapshot.unexpired(now) {
                    return Ok(credentials.clone());
                }
                // A non-retryable error, recent: answered from memory.
                if snapshot.cached_error(now).is_some() {
                    return Err(to_credentials_error(error));
                }
                // The next retry is beyond this caller's patience: say so now.
                if error.is_retryable() && snapshot.next_attempt > deadline {
                    return Err(to_credentials_error(error));
                }
            }
            shared.demand.notify_one();
            tokio::select! {
                result = changed.changed() => {
                    if result.is_err() {
                        break;
                    }
                }
                () = &mut timeout => break,
            }
        }
        let snapshot = shared.state.load_full();
        let now = shared.time.now();
        if let Some(credentials) = snapshot.unexpired(now) {
            // In the mandatory window, the refresh is late: the current ones are still valid.
            return Ok(credentials.clone());
        }
        Err(CredentialsError::provider_error(ProviderError::TimedOut {
            after: shared.load_timeout,
            last: snapshot.error.clone().map(Box::new),
        }))
    }

    /// Starts the background task on the caller's runtime, or restarts it if that runtime has
    /// gone.
    fn ensure_started(&self) {
        let shared = &self.handle.shared;
        let mut task = shared.task.lock().unwrap_or_else(PoisonError::into_inner);
        if task.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        *task = Some(runtime.spawn(refresh_task(Arc::clone(shared), self.handle.alive.clone())));
    }
}

impl ProvideCredentials for WebIdentityProvider {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        self.load()
    }
}

impl Shared {
    /// Whether the snapshot's mandatory window is still ahead, for the fast path. With the
    /// default system clock this reads the kernel's coarse real-time clock (a few ns, where a
    /// full clock read costs 20–30 ns here) against a deadline brought forward by one tick of
    /// the coarse clock, so it never says yes once the window has begun; an injected clock is
    /// read as it is.
    fn before_mandatory(&self, snapshot: &Snapshot) -> bool {
        if self.coarse_tick.is_some() {
            coarse::since_epoch() < snapshot.coarse_deadline
        } else {
            self.time.now() < snapshot.schedule.mandatory_at
        }
    }

    fn publish(&self, snapshot: Snapshot) {
        self.state.store(Arc::new(snapshot));
        self.changed.send_modify(|generation| *generation += 1);
    }

    fn random(&self) -> f64 {
        self.rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .f64()
    }

    /// When the background task must act next without being asked; `None`: only on demand
    /// or a token change.
    fn next_due(&self, snapshot: &Snapshot) -> Option<SystemTime> {
        match (&snapshot.credentials, &snapshot.error) {
            (None, None) => Some(UNIX_EPOCH),
            (Some(_), None) => Some(snapshot.schedule.refresh_at),
            (_, Some(_)) => Some(snapshot.next_attempt),
        }
    }

    async fn attempt(&self, setup: &Setup) {
        let result = match setup.token.read() {
            Ok(token) => {
                self.sts_calls.fetch_add(1, Ordering::Relaxed);
                sts::assume_role(&setup.client, &setup.settings, &setup.policy, &token).await
            }
            Err(e) => Err(e),
        };
        let now = self.time.now();
        let previous = self.state.load_full();
        let next = match result {
            Ok(credentials) => {
                let expiry = credentials.expiry().unwrap_or(now);
                let schedule = schedule(now, expiry, self.random());
                tracing::info!(
                    role_arn = %setup.settings.role_arn,
                    expires_in_s = expiry.duration_since(now).unwrap_or_default().as_secs(),
                    refresh_in_s = schedule.refresh_at.duration_since(now).unwrap_or_default().as_secs(),
                    "web identity credentials refreshed"
                );
                Snapshot {
                    credentials: Some(credentials),
                    expiry,
                    coarse_deadline: schedule
                        .mandatory_at
                        .duration_since(UNIX_EPOCH)
                        .unwrap_or_default()
                        .saturating_sub(self.coarse_tick.unwrap_or_default()),
                    schedule,
                    error: None,
                    error_at: UNIX_EPOCH,
                    failures: 0,
                    next_attempt: UNIX_EPOCH,
                }
            }
            Err(error) => {
                let failures = previous.failures.saturating_add(1);
                let remaining = previous
                    .unexpired(now)
                    .map(|_| previous.expiry.duration_since(now).unwrap_or_default());
                let mut delay = backoff(failures, self.random(), remaining);
                if !error.is_retryable() {
                    delay = delay.max(ERROR_CACHE);
                }
                tracing::warn!(
                    error = %error,
                    failures,
                    retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    serving_cached = remaining.is_some(),
                    "web identity credentials not refreshed"
                );
                let mut next = Snapshot::clone(&previous);
                if remaining.is_none() {
                    next.credentials = None;
                }
                next.error = Some(error);
                next.error_at = now;
                next.failures = failures;
                next.next_attempt = now + delay;
                next
            }
        };
        self.publish(next);
    }
}

/// The background task: refresh when due, when a waiting caller may, or when the token file
/// changes after a token error; end when the last provider is dropped.
async fn refresh_task(shared: Arc<Shared>, mut alive: watch::Receiver<()>) {
    let Ok(Some(setup)) = &shared.setup else {
        return;
    };
    let watcher = {
        let signals = Arc::downgrade(&shared);
        setup.token.watch(move || {
            if let Some(shared) = signals.upgrade() {
                shared.token_changed.notify_one();
            }
        })
    };
    if watcher.is_none() {
        tracing::debug!(path = %setup.token.path().display(), "token directory not watched; the file is re-read at every attempt");
    }
    loop {
        let snapshot = shared.state.load_full();
        let now = shared.time.now();
        let due = shared.next_due(&snapshot);
        if due.is_some_and(|due| due <= now) {
            shared.attempt(setup).await;
            continue;
        }
        // The deadline is absolute: read the clock right before arming the timer.
        let wait = due.map(|due| due.duration_since(shared.time.now()).unwrap_or_default());
        let sleep = shared
            .sleep
            .sleep(wait.unwrap_or(Duration::from_secs(3600)));
        tokio::select! {
            () = sleep => {}
            () = shared.demand.notified() => {
                // A waiting caller may cut a non-retryable error's cache short, not a backoff.
                let now = shared.time.now();
                if snapshot.error.as_ref().is_some_and(|e| !e.is_retryable())
                    && now >= snapshot.error_at + ERROR_CACHE
                {
                    shared.attempt(setup).await;
                }
            }
            () = shared.token_changed.notified() => {
                // The kubelet's swap takes several steps; act once the content differs.
                if snapshot.error.as_ref().is_some_and(ProviderError::is_token_problem)
                    && setup.token.changed()
                {
                    tracing::debug!("token file changed after a token error: trying again");
                    shared.attempt(setup).await;
                }
            }
            result = alive.changed() => {
                if result.is_err() {
                    return;
                }
            }
        }
    }
}

fn to_credentials_error(error: &ProviderError) -> CredentialsError {
    CredentialsError::provider_error(error.clone())
}

/// Builds a [`WebIdentityProvider`], in aws-config's idiom.
///
/// ```
/// use std::collections::HashMap;
/// use std::time::Duration;
/// use irsa::provider::WebIdentityProvider;
///
/// let provider = WebIdentityProvider::builder()
///     .role_arn("arn:aws:iam::111122223333:role/orders-api")
///     .token_file("/var/run/secrets/eks.amazonaws.com/serviceaccount/token")
///     .session_name("orders-api")
///     .duration(Duration::from_secs(3600))
///     .region("eu-west-1")
///     .env(HashMap::<String, String>::new())
///     .build();
/// assert!(format!("{provider:?}").contains("orders-api"));
/// ```
#[derive(Default)]
pub struct WebIdentityProviderBuilder {
    overrides: config::Overrides,
    policy: sts::SessionPolicy,
    env: Option<Arc<dyn Environment>>,
    time: Option<SharedTimeSource>,
    sleep: Option<SharedAsyncSleep>,
    load_timeout: Option<Duration>,
    attempt_timeout: Option<Duration>,
    seed: Option<u64>,
}

impl fmt::Debug for WebIdentityProviderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebIdentityProviderBuilder")
            .field("overrides", &self.overrides)
            .field("load_timeout", &self.load_timeout)
            .finish_non_exhaustive()
    }
}

impl WebIdentityProviderBuilder {
    /// The role to assume (overrides `AWS_ROLE_ARN` and the profile).
    pub fn role_arn(mut self, role_arn: impl Into<String>) -> Self {
        self.overrides.role_arn = Some(role_arn.into());
        self
    }

    /// The projected token file (overrides `AWS_WEB_IDENTITY_TOKEN_FILE` and the profile).
    pub fn token_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.overrides.token_file = Some(path.into());
        self
    }

    /// The `RoleSessionName` (default: `irsa-` and `HOSTNAME`, i.e. the pod's name).
    pub fn session_name(mut self, name: impl Into<String>) -> Self {
        self.overrides.session_name = Some(name.into());
        self
    }

    /// `DurationSeconds`: 900 s to 12 h, at most the role's MaxSessionDuration (STS's default
    /// is one hour).
    pub fn duration(mut self, duration: Duration) -> Self {
        self.overrides.duration = Some(duration);
        self
    }

    /// An inline session policy, to narrow the role's permissions.
    pub fn policy(mut self, policy: impl Into<String>) -> Self {
        self.policy.policy = Some(policy.into());
        self
    }

    /// A managed session policy ARN (up to 10).
    pub fn policy_arn(mut self, arn: impl Into<String>) -> Self {
        self.policy.policy_arns.push(arn.into());
        self
    }

    /// The STS region (overrides `AWS_REGION`); its regional endpoint is used.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.overrides.region = Some(region.into());
        self
    }

    /// An STS endpoint (overrides `AWS_ENDPOINT_URL_STS`), e.g. a local STS-compatible server.
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.overrides.endpoint_url = Some(url.into());
        self
    }

    /// The shared config profile to read (default: `AWS_PROFILE`, else `default`).
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.overrides.profile = Some(name.into());
        self
    }

    /// The shared config file (default: `AWS_CONFIG_FILE`, else `~/.aws/config`).
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.overrides.config_file = Some(path.into());
        self
    }

    /// Where environment variables come from (default: the process environment).
    pub fn env(mut self, env: impl Environment + 'static) -> Self {
        self.env = Some(Arc::new(env));
        self
    }

    /// The clock (default: the system clock).
    pub fn time_source(mut self, time: impl TimeSource + 'static) -> Self {
        self.time = Some(SharedTimeSource::new(time));
        self
    }

    /// How to sleep (default: tokio's).
    pub fn sleep_impl(mut self, sleep: impl AsyncSleep + 'static) -> Self {
        self.sleep = Some(SharedAsyncSleep::new(sleep));
        self
    }

    /// How long a caller waits when no credentials are usable (default 20 s).
    pub fn load_timeout(mut self, timeout: Duration) -> Self {
        self.load_timeout = Some(timeout);
        self
    }

    /// How long one STS attempt may take (default 5 s).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// Seeds the jitter, for reproducible tests.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Builds the provider. Reading the profile is the only I/O; what is missing or wrong
    /// surfaces at the first call (`CredentialsNotLoaded` when web identity is not configured,
    /// `InvalidConfiguration` when it is configured wrongly).
    pub fn build(self) -> WebIdentityProvider {
        let env = self.env.unwrap_or_else(|| Arc::new(ProcessEnvironment));
        let coarse_tick = if self.time.is_none() {
            coarse::tick()
        } else {
            None
        };
        let time = self
            .time
            .unwrap_or_else(|| SharedTimeSource::new(SystemTimeSource::new()));
        let sleep = self
            .sleep
            .unwrap_or_else(|| SharedAsyncSleep::new(TokioSleep::new()));
        let read_file = |path: &std::path::Path| std::fs::read_to_string(path).ok();
        let attempt_timeout = self.attempt_timeout.unwrap_or(Duration::from_secs(5));
        let setup = config::resolve(env.as_ref(), &self.overrides, &read_file).map(|settings| {
            settings.map(|settings| Setup {
                client: sts::client(&settings, time.clone(), attempt_timeout),
                token: token_file::TokenFile::new(settings.token_file.clone()),
                policy: self.policy.clone(),
                settings,
            })
        });
        let rng = match self.seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        let (alive_tx, alive_rx) = watch::channel(());
        let shared = Arc::new(Shared {
            setup,
            time,
            sleep,
            load_timeout: self.load_timeout.unwrap_or(DEFAULT_LOAD_TIMEOUT),
            state: ArcSwap::from_pointee(Snapshot::empty()),
            changed: watch::channel(0).0,
            demand: Notify::new(),
            token_changed: Notify::new(),
            task: Mutex::new(None),
            rng: Mutex::new(rng),
            sts_calls: AtomicU64::new(0),
            coarse_tick,
        });
        WebIdentityProvider {
            handle: Arc::new(Handle {
                shared,
                _alive: alive_tx,
                alive: alive_rx,
            }),
        }
    }
}

/// The kernel's coarse real-time clock: the real-time clock as of the last scheduler tick,
/// read from the vDSO without touching a hardware counter.
mod coarse {
    use std::time::Duration;

    /// The clock's tick, when it has one short enough to be useful (at most 10 ms).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(super) fn tick() -> Option<Duration> {
        use rustix::time::{ClockId, clock_getres};
        let res = clock_getres(ClockId::RealtimeCoarse);
        let nanos = u32::try_from(res.tv_nsec)
            .ok()
            .filter(|n| *n < 1_000_000_000)?;
        let tick = Duration::new(u64::try_from(res.tv_sec).ok()?, nanos);
        (tick > Duration::ZERO && tick <= Duration::from_millis(10)).then_some(tick)
    }

    /// The coarse real-time clock, as time since the epoch (zero before it: "passed").
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(super) fn since_epoch() -> Duration {
        use rustix::time::{ClockId, clock_gettime};
        let now = clock_gettime(ClockId::RealtimeCoarse);
        let secs = u64::try_from(now.tv_sec).unwrap_or(0);
        let nanos = u32::try_from(now.tv_nsec).unwrap_or(0).min(999_999_999);
        Duration::new(secs, nanos)
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(super) fn tick() -> Option<Duration> {
        None
    }

    /// Never reached ([`tick`] is `None` here); "the deadline has passed" if it were.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(super) fn since_epoch() -> Duration {
        Duration::MAX
    }
}
