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

mod builder;
mod coarse;
mod config;
mod error;
mod refresh;
mod state;
mod sts;
mod task;
mod token_file;

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, ProvideCredentials};
use aws_smithy_async::rt::sleep::AsyncSleep;
use tokio::sync::watch;

pub use builder::WebIdentityProviderBuilder;
pub use error::{
    ConfigError, ProfileLoadError, ProviderError, StsFailure, TokenFileError, TransportError,
};
use state::{Shared, Snapshot};

/// The least time between two STS calls caused by [`WebIdentityProvider::invalidate`].
pub const MIN_INVALIDATE_INTERVAL: Duration = Duration::from_secs(10);

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

struct Setup {
    settings: config::Settings,
    policy: sts::SessionPolicy,
    client: aws_sdk_sts::Client,
    token: token_file::TokenFile,
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
    /// Whether a refresh (reading the token and calling STS) is under way now.
    pub refreshing: bool,
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
            refreshing: shared.refreshing.load(Ordering::SeqCst),
        }
    }

    /// Drops the cached credentials, for a caller whose request failed with an expired-token
    /// error from a service: the next caller waits for fresh ones (one STS call; credentials
    /// from a refresh already in flight count as fresh).
    ///
    /// A backoff in progress is kept (a failing STS is not asked sooner), and an invalidation
    /// less than [`MIN_INVALIDATE_INTERVAL`] after the last one is ignored: a service that keeps
    /// refusing the credentials costs at most one STS call per interval, not one per call.
    pub fn invalidate(&self) {
        let shared = &self.handle.shared;
        let now = shared.time.now();
        {
            let mut last = shared
                .last_invalidation
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last
                .and_then(|at| at.checked_add(MIN_INVALIDATE_INTERVAL))
                .is_some_and(|until| now < until)
            {
                return;
            }
            *last = Some(now);
        }
        let current = shared.state.load();
        let mut snapshot = Snapshot::clone(&current);
        snapshot.credentials = None;
        if snapshot.error.is_none() {
            snapshot.next_attempt = UNIX_EPOCH;
        }
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
        *task = Some(runtime.spawn(task::refresh_task(
            Arc::clone(shared),
            self.handle.alive.clone(),
        )));
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

pub(super) fn to_credentials_error(error: &ProviderError) -> CredentialsError {
    CredentialsError::provider_error(error.clone())
}
