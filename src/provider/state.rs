//! The provider's state machine: what the cache holds (a snapshot swapped whole), and how one
//! attempt's outcome moves it, with the schedule and the backoff.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use aws_credential_types::Credentials;
use aws_smithy_async::rt::sleep::SharedAsyncSleep;
use aws_smithy_async::time::SharedTimeSource;
use tokio::sync::{Notify, watch};

use super::refresh::{ERROR_CACHE, Schedule, backoff, schedule};
use super::{ConfigError, ProviderError, Setup, coarse, sts};

pub(super) struct Shared {
    pub(super) setup: Result<Option<Setup>, ConfigError>,
    pub(super) time: SharedTimeSource,
    pub(super) sleep: SharedAsyncSleep,
    pub(super) load_timeout: Duration,
    pub(super) state: ArcSwap<Snapshot>,
    pub(super) changed: watch::Sender<u64>,
    pub(super) demand: Notify,
    pub(super) token_changed: Notify,
    pub(super) task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    pub(super) rng: Mutex<fastrand::Rng>,
    pub(super) sts_calls: AtomicU64,
    /// Set while [`Shared::attempt`] runs, until its outcome is published.
    pub(super) refreshing: AtomicBool,
    /// With the default system clock, the tick of the coarse clock the fast path reads.
    pub(super) coarse_tick: Option<Duration>,
    /// When [`super::WebIdentityProvider::invalidate`] last dropped the credentials.
    pub(super) last_invalidation: Mutex<Option<SystemTime>>,
    /// STS's `Date` header on the last answer.
    pub(super) server_date: sts::ServerDate,
}

/// What the cache holds: the last good credentials and the last failure, if any.
#[derive(Clone)]
pub(super) struct Snapshot {
    pub(super) credentials: Option<Credentials>,
    pub(super) expiry: SystemTime,
    pub(super) schedule: Schedule,
    pub(super) error: Option<ProviderError>,
    pub(super) error_at: SystemTime,
    pub(super) failures: u32,
    pub(super) next_attempt: SystemTime,
    /// For the fast path's coarse clock: `schedule.mandatory_at` less one tick, since the epoch.
    pub(super) coarse_deadline: Duration,
}

impl Snapshot {
    pub(super) fn empty() -> Self {
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
    pub(super) fn unexpired(&self, now: SystemTime) -> Option<&Credentials> {
        self.credentials.as_ref().filter(|_| now < self.expiry)
    }

    /// A non-retryable error recent enough to answer from memory.
    pub(super) fn cached_error(&self, now: SystemTime) -> Option<&ProviderError> {
        self.error
            .as_ref()
            .filter(|e| !e.is_retryable() && now < self.error_at + ERROR_CACHE)
    }
}

impl Shared {
    /// Whether the snapshot's mandatory window is still ahead, for the fast path. With the
    /// default system clock this reads the kernel's coarse real-time clock (a few ns, where a
    /// full clock read costs 20–30 ns here) against a deadline brought forward by one tick of
    /// the coarse clock, so it never says yes once the window has begun; an injected clock is
    /// read as it is.
    pub(super) fn before_mandatory(&self, snapshot: &Snapshot) -> bool {
        if self.coarse_tick.is_some() {
            coarse::since_epoch() < snapshot.coarse_deadline
        } else {
            self.time.now() < snapshot.schedule.mandatory_at
        }
    }

    pub(super) fn publish(&self, snapshot: Snapshot) {
        self.state.store(Arc::new(snapshot));
        self.changed.send_modify(|generation| *generation += 1);
    }

    pub(super) fn random(&self) -> f64 {
        self.rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .f64()
    }

    /// When the background task must act next without being asked; `None`: only on demand
    /// or a token change.
    pub(super) fn next_due(&self, snapshot: &Snapshot) -> Option<SystemTime> {
        match (&snapshot.credentials, &snapshot.error) {
            (None, None) => Some(UNIX_EPOCH),
            (Some(_), None) => Some(snapshot.schedule.refresh_at),
            (_, Some(_)) => Some(snapshot.next_attempt),
        }
    }

    pub(super) async fn attempt(&self, setup: &Setup) {
        // Cleared when the outcome is published, or if the attempt is dropped half-way.
        let refreshing = Refreshing::start(&self.refreshing);
        let result = match setup.token.read() {
            Ok(token) => {
                self.sts_calls.fetch_add(1, Ordering::Relaxed);
                sts::assume_role(
                    &setup.client,
                    &setup.settings,
                    &setup.policy,
                    &token,
                    &self.server_date,
                )
                .await
            }
            Err(e) => Err(e),
        };
        let now = self.time.now();
        let previous = self.state.load_full();
        // Credentials that arrive inside their own refresh window would be refreshed at once,
        // and again, in a tight loop: they are a failed refresh, with its backoff.
        let result = result.and_then(|credentials| {
            let expiry = credentials.expiry().unwrap_or(now);
            if schedule(now, expiry, 0.0).refresh_at > now {
                return Ok(credentials);
            }
            let signed =
                |later: SystemTime, earlier: SystemTime| match later.duration_since(earlier) {
                    Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                    Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
                };
            // STS's `Date` header against our clock; without one, STS's now is the expiry
            // less the lifetime asked for (an hour unless said otherwise).
            let lifetime = setup.settings.duration.unwrap_or(Duration::from_secs(3600));
            let sts_now = self
                .server_date
                .take()
                .unwrap_or_else(|| expiry.checked_sub(lifetime).unwrap_or(expiry));
            Err(ProviderError::ExpiredOnArrival {
                role_arn: setup.settings.role_arn.clone(),
                expires_in_s: signed(expiry, now),
                skew_s: signed(now, sts_now),
            })
        });
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
                // The clock's story is told once per run of failures, as a warning; the retries
                // that follow are logged at debug.
                let repeated = matches!(error, ProviderError::ExpiredOnArrival { .. })
                    && matches!(previous.error, Some(ProviderError::ExpiredOnArrival { .. }));
                if repeated {
                    tracing::debug!(error = %error, failures, "web identity credentials not refreshed");
                } else {
                    tracing::warn!(
                        error = %error,
                        failures,
                        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        serving_cached = remaining.is_some(),
                        "web identity credentials not refreshed"
                    );
                }
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
        drop(refreshing);
    }
}

/// Marks a refresh under way for as long as it lives.
struct Refreshing<'a>(&'a AtomicBool);

impl<'a> Refreshing<'a> {
    fn start(flag: &'a AtomicBool) -> Self {
        flag.store(true, Ordering::SeqCst);
        Refreshing(flag)
    }
}

impl Drop for Refreshing<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}
