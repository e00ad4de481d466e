//! Credentials cached per (ServiceAccount, role) — or per pod in pod scope: one STS call per
//! key per refresh whatever the number of pods and callers, made with the freshest valid token
//! the key has seen; refreshed in the background ahead of the SDKs' windows; STS errors served
//! from cache while the credentials keep their margin, with backoff; bounded, idle keys
//! evicted.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_smithy_async::time::SharedTimeSource;

use crate::arn::RoleArn;
use crate::token::WebIdentityToken;

/// What STS gave.
#[derive(Clone)]
pub(super) struct Issued {
    pub(super) credentials: Credentials,
    pub(super) expiry: SystemTime,
}

/// Why STS gave nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum UpstreamError {
    /// STS answered with an error.
    Sts {
        code: String,
        message: String,
        status: u16,
    },
    /// STS was not reached, or answered something that is not STS's.
    Transport(String),
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamError::Sts {
                code,
                message,
                status,
            } => write!(f, "STS answered {status} {code}: {message}"),
            UpstreamError::Transport(why) => write!(f, "STS not reached: {why}"),
        }
    }
}

impl UpstreamError {
    /// Whether a later call may succeed by itself (throttling, 5xx, the network, the
    /// provider's keys out of reach).
    pub(super) fn is_transient(&self) -> bool {
        match self {
            UpstreamError::Transport(_) => true,
            UpstreamError::Sts {
                code,
                status,
                message,
            } => {
                *status >= 500
                    || matches!(
                        code.as_str(),
                        "Throttling" | "IDPCommunicationError" | "RequestLimitExceeded"
                    )
                    // STS could not fetch the issuer's keys: its own transient case.
                    || (code == "InvalidIdentityToken"
                        && message.starts_with("Couldn't retrieve verification key"))
            }
        }
    }
}

/// The future of one STS call.
pub(super) type Call<'a> = Pin<Box<dyn Future<Output = Result<Issued, UpstreamError>> + Send + 'a>>;

/// Where credentials come from: STS, or a stand-in in unit tests.
pub(super) trait Upstream: Send + Sync + 'static {
    /// One `AssumeRoleWithWebIdentity`.
    fn assume<'a>(
        &'a self,
        role: &'a RoleArn,
        session: &'a str,
        token: &'a WebIdentityToken,
    ) -> Call<'a>;
}

/// One cache key: whose credentials.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Key {
    pub(super) namespace: Box<str>,
    pub(super) name: Box<str>,
    pub(super) role: Arc<RoleArn>,
    /// The pod's UID (or name), in pod scope.
    pub(super) pod: Option<Box<str>>,
}

/// The cache's timing.
#[derive(Debug, Clone, Copy)]
pub(super) struct Policy {
    /// Credentials are served only while more than this is left.
    pub(super) min_remaining: Duration,
    /// The background refresh starts this long before the margin is reached.
    pub(super) refresh_ahead: Duration,
    /// The most keys; the least recently used goes first.
    pub(super) max_keys: usize,
    /// A key no request used for this long is dropped, and no longer refreshed.
    pub(super) idle: Duration,
}

/// How a request was answered from the cache's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Cached credentials.
    Hit,
    /// This request's STS call.
    Miss,
    /// Another request's STS call, waited for.
    Coalesced,
}

impl Outcome {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Coalesced => "coalesced",
        }
    }
}

/// Why a request gets no credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refused {
    /// STS's last answer.
    pub(super) error: UpstreamError,
    /// Whether it is the last failure answered again (STS is not asked before the backoff).
    pub(super) remembered: bool,
}

struct Entry {
    /// Held for an STS call: one per key at a time.
    flight: tokio::sync::Mutex<()>,
    state: Mutex<State>,
}

struct State {
    session: String,
    issued: Option<Issued>,
    refresh_at: SystemTime,
    /// The token with the latest expiry seen for the key, and that expiry.
    token: Option<(WebIdentityToken, SystemTime)>,
    failures: u32,
    next_attempt: SystemTime,
    last_error: Option<UpstreamError>,
    last_used: SystemTime,
}

impl State {
    fn servable(&self, now: SystemTime, policy: &Policy) -> Option<Credentials> {
        let issued = self.issued.as_ref()?;
        let left = issued.expiry.duration_since(now).ok()?;
        (left > policy.min_remaining).then(|| issued.credentials.clone())
    }
}

type Entries = HashMap<Key, Arc<Entry>, foldhash::fast::RandomState>;

/// The cache.
pub(super) struct CredentialCache {
    entries: Mutex<Entries>,
    upstream: Arc<dyn Upstream>,
    time: SharedTimeSource,
    policy: Policy,
    rng: Mutex<fastrand::Rng>,
    /// STS calls made, successes and failures.
    pub(super) calls: AtomicU64,
    pub(super) failures: AtomicU64,
    /// Keys evicted (idle or over capacity).
    pub(super) evictions: AtomicU64,
}

impl std::fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialCache")
            .field("keys", &self.len())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The delay before retry number `failures`: one second doubling to a minute, its upper half
/// random.
pub(super) fn backoff(failures: u32, random: f64) -> Duration {
    let base =
        Duration::from_secs(1 << failures.saturating_sub(1).min(6)).min(Duration::from_secs(60));
    base / 2 + (base / 2).mul_f64(random.clamp(0.0, 1.0))
}

impl CredentialCache {
    pub(super) fn new(
        upstream: Arc<dyn Upstream>,
        time: SharedTimeSource,
        policy: Policy,
        seed: u64,
    ) -> CredentialCache {
        CredentialCache {
            entries: Mutex::new(Entries::default()),
            upstream,
            time,
            policy,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            calls: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    /// How many keys are cached.
    pub(super) fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The entry of `key`, made (with the caller's token, so no pass drops it as empty) when
    /// new.
    fn entry(
        &self,
        key: &Key,
        session: impl FnOnce() -> String,
        token: &(WebIdentityToken, SystemTime),
        now: SystemTime,
    ) -> Arc<Entry> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = entries.get(key) {
            return entry.clone();
        }
        if entries.len() >= self.policy.max_keys {
            // Full: the least recently used key goes (a scan, only when a new key arrives at
            // capacity).
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| {
                    e.state
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .last_used
                })
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
        let entry = Arc::new(Entry {
            flight: tokio::sync::Mutex::new(()),
            state: Mutex::new(State {
                session: session(),
                issued: None,
                refresh_at: now,
                token: Some(token.clone()),
                failures: 0,
                next_attempt: now,
                last_error: None,
                last_used: now,
            }),
        });
        entries.insert(key.clone(), entry.clone());
        entry
    }

    /// Credentials for `key`, whose caller proved itself with `token` (valid until
    /// `token_expiry`); `session` names a new key's STS session.
    pub(super) async fn get(
        &self,
        key: &Key,
        session: impl FnOnce() -> String,
        token: WebIdentityToken,
        token_expiry: SystemTime,
    ) -> Result<(Credentials, Outcome), Refused> {
        let now = self.time.now();
        let caller = (token, token_expiry);
        let entry = self.entry(key, session, &caller, now);
        {
            let mut state = entry.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.last_used = now;
            if state.token.as_ref().is_none_or(|(_, exp)| caller.1 > *exp) {
                state.token = Some(caller.clone());
            }
            if let Some(credentials) = state.servable(now, &self.policy) {
                return Ok((credentials, Outcome::Hit));
            }
        }
        let _flight = entry.flight.lock().await;
        let now = self.time.now();
        {
            let state = entry.state.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(credentials) = state.servable(now, &self.policy) {
                return Ok((credentials, Outcome::Coalesced));
            }
            if now < state.next_attempt
                && let Some(error) = &state.last_error
            {
                return Err(Refused {
                    error: error.clone(),
                    remembered: true,
                });
            }
        }
        let mut result = self.call(key, &entry, now).await;
        if result.as_ref().is_err_and(|e| !e.is_transient()) {
            // STS refused the stored token (the freshest seen): if this caller's own is
            // another, it is tried once and kept, so one bad token cannot hold every pod of the
            // ServiceAccount until a fresher one arrives.
            let retry = {
                let mut state = entry.state.lock().unwrap_or_else(PoisonError::into_inner);
                let other = state.token.as_ref().is_some_and(|(t, _)| *t != caller.0);
                if other {
                    state.token = Some(caller.clone());
                    state.next_attempt = now;
                }
                other
            };
            if retry {
                result = self.call(key, &entry, now).await;
            }
        }
        match result {
            Ok(()) => {
                let state = entry.state.lock().unwrap_or_else(PoisonError::into_inner);
                let credentials = state.issued.as_ref().map(|i| i.credentials.clone());
                // Fresh from STS: servable unless STS gave less than the margin.
                match credentials.filter(|_| state.servable(now, &self.policy).is_some()) {
                    Some(credentials) => Ok((credentials, Outcome::Miss)),
                    None => Err(Refused {
                        error: UpstreamError::Sts {
                            code: "InvalidRequest".to_owned(),
                            message: format!(
                                "STS issued credentials with less than {} s left: ask for a longer session",
                                self.policy.min_remaining.as_secs()
                            ),
                            status: 500,
                        },
                        remembered: false,
                    }),
                }
            }
            Err(error) => Err(Refused {
                error,
                remembered: false,
            }),
        }
    }

    /// One STS call for `entry`, its flight held by the caller; the outcome recorded.
    async fn call(&self, key: &Key, entry: &Entry, now: SystemTime) -> Result<(), UpstreamError> {
        let (token, session) = {
            let state = entry.state.lock().unwrap_or_else(PoisonError::into_inner);
            let Some((token, _)) = state.token.clone() else {
                return Err(UpstreamError::Transport(
                    "no token to call STS with".to_owned(),
                ));
            };
            (token, state.session.clone())
        };
        self.calls.fetch_add(1, Ordering::Relaxed);
        let result = self.upstream.assume(&key.role, &session, &token).await;
        let random = self
            .rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .f64();
        let mut state = entry.state.lock().unwrap_or_else(PoisonError::into_inner);
        match result {
            Ok(issued) => {
                // The background refresh starts `refresh_ahead` before the margin, but not in the
                // first half of the credentials' life; then up to a tenth of the life earlier at
                // random, so keys issued together (an agent's restart) do not refresh together;
                // never after the margin, where the credentials stop being served.
                let life = issued.expiry.duration_since(now).unwrap_or_default();
                let ahead = self
                    .policy
                    .min_remaining
                    .saturating_add(self.policy.refresh_ahead);
                let planned = issued
                    .expiry
                    .checked_sub(ahead)
                    .unwrap_or(now)
                    .max(now + life / 2);
                let jittered = planned
                    .checked_sub(life.mul_f64(random / 10.0))
                    .unwrap_or(now)
                    .max(now);
                let margin = issued
                    .expiry
                    .checked_sub(self.policy.min_remaining)
                    .unwrap_or(now)
                    .max(now);
                state.refresh_at = jittered.min(margin);
                state.issued = Some(issued);
                state.failures = 0;
                state.last_error = None;
                state.next_attempt = now;
                Ok(())
            }
            Err(error) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                state.failures = state.failures.saturating_add(1);
                state.next_attempt = now + backoff(state.failures, random);
                state.last_error = Some(error.clone());
                Err(error)
            }
        }
    }

    /// The background pass at `now`: every key due for a refresh (still used, its token still
    /// valid, out of backoff, no call in flight) is refreshed; idle keys and keys with nothing
    /// left to serve or refresh with are dropped. Returns the refreshes attempted.
    pub(super) async fn refresh_due(&self) -> usize {
        let now = self.time.now();
        let mut due = Vec::new();
        {
            let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            let before = entries.len();
            entries.retain(|key, entry| {
                let state = entry.state.lock().unwrap_or_else(PoisonError::into_inner);
                let idle =
                    now.duration_since(state.last_used).unwrap_or_default() >= self.policy.idle;
                let token_valid = state.token.as_ref().is_some_and(|(_, exp)| *exp > now);
                let unexpired = state.issued.as_ref().is_some_and(|i| i.expiry > now);
                if idle || !(token_valid || unexpired) {
                    return false;
                }
                if state.issued.is_some()
                    && token_valid
                    && now >= state.refresh_at
                    && now >= state.next_attempt
                {
                    due.push((key.clone(), entry.clone()));
                }
                true
            });
            self.evictions
                .fetch_add((before - entries.len()) as u64, Ordering::Relaxed);
        }
        let count = due.len();
        let refreshes = due.into_iter().map(|(key, entry)| async move {
            // A caller's call in flight does the refresh.
            let Ok(_flight) = entry.flight.try_lock() else {
                return;
            };
            // One that just finished may have done it.
            let still_due = {
                let state = entry.state.lock().unwrap_or_else(PoisonError::into_inner);
                now >= state.refresh_at && now >= state.next_attempt
            };
            if !still_due {
                return;
            }
            if let Err(error) = self.call(&key, &entry, now).await {
                tracing::warn!(namespace = %key.namespace, service_account = %key.name, role = %key.role, error = %error, "background refresh failed; serving the cached credentials");
            }
        });
        // At most 16 STS calls at once, however many keys fell due together.
        futures_util::StreamExt::for_each_concurrent(
            futures_util::stream::iter(refreshes),
            16,
            |refresh| refresh,
        )
        .await;
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_async::test_util::ManualTimeSource;
    use aws_smithy_async::time::TimeSource as _;
    use std::sync::atomic::AtomicUsize;
    use std::time::UNIX_EPOCH;

    /// Credentials of an hour from a counter; fails while `fail` is set.
    struct Counting {
        time: ManualTimeSource,
        calls: AtomicUsize,
        fail: Mutex<Option<UpstreamError>>,
        tokens: Mutex<Vec<String>>,
        gate: tokio::sync::Semaphore,
        /// A token STS refuses.
        refused: Mutex<Option<String>>,
    }

    impl Upstream for Counting {
        fn assume<'a>(
            &'a self,
            _: &'a RoleArn,
            _: &'a str,
            token: &'a WebIdentityToken,
        ) -> Call<'a> {
            Box::pin(async move {
                let _permit = self.gate.acquire().await;
                let n = self.calls.fetch_add(1, Ordering::SeqCst);
                self.tokens
                    .lock()
                    .unwrap()
                    .push(token.expose_secret().to_owned());
                if let Some(error) = self.fail.lock().unwrap().clone() {
                    return Err(error);
                }
                if self.refused.lock().unwrap().as_deref() == Some(token.expose_secret()) {
                    return Err(UpstreamError::Sts {
                        code: "InvalidIdentityToken".into(),
                        message: "Incorrect token audience".into(),
                        status: 400,
                    });
                }
                let now = self.time.now();
                Ok(Issued {
                    credentials: Credentials::new(
                        format!("ASIA{n}"),
                        "secret",
                        Some("session".into()),
                        Some(now + Duration::from_secs(3600)),
                        "test",
                    ),
                    expiry: now + Duration::from_secs(3600),
                })
            })
        }
    }

    fn setup() -> (Arc<Counting>, CredentialCache, ManualTimeSource) {
        let time = ManualTimeSource::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        let upstream = Arc::new(Counting {
            time: time.clone(),
            calls: AtomicUsize::new(0),
            fail: Mutex::new(None),
            tokens: Mutex::new(Vec::new()),
            gate: tokio::sync::Semaphore::new(1000),
            refused: Mutex::new(None),
        });
        let policy = Policy {
            min_remaining: Duration::from_secs(900),
            refresh_ahead: Duration::from_secs(900),
            max_keys: 2,
            idle: Duration::from_secs(7200),
        };
        let cache = CredentialCache::new(
            upstream.clone(),
            SharedTimeSource::new(time.clone()),
            policy,
            7,
        );
        (upstream, cache, time)
    }

    fn key(name: &str) -> Key {
        Key {
            namespace: "shop".into(),
            name: name.into(),
            role: Arc::new(
                format!("arn:aws:iam::111122223333:role/{name}")
                    .parse()
                    .unwrap(),
            ),
            pod: None,
        }
    }

    fn token(n: u32) -> WebIdentityToken {
        WebIdentityToken::new(format!("token-{n}"))
    }

    #[tokio::test]
    async fn fifty_callers_one_call_then_hits_then_a_background_refresh_with_the_freshest_token() {
        let (upstream, cache, time) = setup();
        let cache = Arc::new(cache);
        let now = time.now();
        let held = upstream.gate.acquire_many(1000).await.unwrap();
        let callers: Vec<_> = (0..50)
            .map(|n| {
                let cache = cache.clone();
                tokio::spawn(async move {
                    let exp = now + Duration::from_secs(3600 + u64::from(n));
                    cache
                        .get(&key("cart"), || "shop.cart".into(), token(n), exp)
                        .await
                        .unwrap()
                })
            })
            .collect();
        tokio::task::yield_now().await;
        drop(held);
        let mut outcomes = Vec::new();
        for caller in callers {
            outcomes.push(caller.await.unwrap().1);
        }
        assert_eq!(upstream.calls.load(Ordering::SeqCst), 1);
        assert_eq!(outcomes.iter().filter(|o| **o == Outcome::Miss).count(), 1);
        let (_, outcome) = cache
            .get(
                &key("cart"),
                || unreachable!(),
                token(60),
                now + Duration::from_secs(4000),
            )
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Hit);

        // Nothing due before the refresh point (at half-life, up to 6 minutes earlier).
        time.advance(Duration::from_secs(1400));
        assert_eq!(cache.refresh_due().await, 0);
        time.advance(Duration::from_secs(400));
        assert_eq!(cache.refresh_due().await, 1);
        assert_eq!(upstream.calls.load(Ordering::SeqCst), 2);
        // The refresh used the token that lives longest.
        assert_eq!(upstream.tokens.lock().unwrap().last().unwrap(), "token-60");
        let (credentials, outcome) = cache
            .get(&key("cart"), || unreachable!(), token(1), now)
            .await
            .unwrap();
        assert_eq!(
            (credentials.access_key_id(), outcome),
            ("ASIA1", Outcome::Hit)
        );
    }

    #[tokio::test]
    async fn sts_down_serves_the_cache_to_the_margin_then_refuses_with_backoff() {
        let (upstream, cache, time) = setup();
        let start = time.now();
        let exp = start + Duration::from_secs(86_400);
        cache
            .get(&key("cart"), || "s".into(), token(1), exp)
            .await
            .unwrap();
        *upstream.fail.lock().unwrap() = Some(UpstreamError::Sts {
            code: "Throttling".into(),
            message: "Rate exceeded".into(),
            status: 400,
        });
        time.advance(Duration::from_secs(1900));
        assert_eq!(cache.refresh_due().await, 1);
        assert_eq!(upstream.calls.load(Ordering::SeqCst), 2);
        // Within the backoff: no call; the cached credentials are served.
        assert_eq!(cache.refresh_due().await, 0);
        let (_, outcome) = cache
            .get(&key("cart"), || unreachable!(), token(1), exp)
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Hit);
        // 15 minutes before expiry: refused, and STS asked once per backoff window.
        time.advance(Duration::from_secs(3600 - 900 - 1900));
        let refused = cache
            .get(&key("cart"), || unreachable!(), token(1), exp)
            .await
            .unwrap_err();
        assert!(!refused.remembered && refused.error.is_transient());
        let calls = upstream.calls.load(Ordering::SeqCst);
        let again = cache
            .get(&key("cart"), || unreachable!(), token(1), exp)
            .await
            .unwrap_err();
        assert!(again.remembered);
        assert_eq!(upstream.calls.load(Ordering::SeqCst), calls);
        // STS back: served within one backoff.
        *upstream.fail.lock().unwrap() = None;
        time.advance(backoff(8, 1.0));
        let (_, outcome) = cache
            .get(&key("cart"), || unreachable!(), token(1), exp)
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Miss);
    }

    #[tokio::test]
    async fn bounded_and_idle_keys_go() {
        let (upstream, cache, time) = setup();
        let exp = time.now() + Duration::from_secs(86_400);
        for name in ["a", "b", "c"] {
            cache
                .get(&key(name), || name.into(), token(1), exp)
                .await
                .unwrap();
            time.advance(Duration::from_secs(1));
        }
        assert_eq!(
            (cache.len(), cache.evictions.load(Ordering::Relaxed)),
            (2, 1)
        );
        // "a" went: asking again is a miss.
        let (_, outcome) = cache
            .get(&key("a"), || "a".into(), token(1), exp)
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Miss);
        assert_eq!(upstream.calls.load(Ordering::SeqCst), 4);
        time.advance(Duration::from_secs(7200));
        cache.refresh_due().await;
        assert_eq!(cache.len(), 0);
    }

    #[tokio::test]
    async fn a_stored_token_sts_refuses_gives_way_to_the_callers() {
        let (upstream, cache, time) = setup();
        let now = time.now();
        let hours = |h: u64| now + Duration::from_secs(h * 3600);
        cache
            .get(&key("cart"), || "s".into(), token(1), hours(1))
            .await
            .unwrap();
        // A token that lives longer, and that STS will refuse, becomes the stored one.
        *upstream.refused.lock().unwrap() = Some("token-9".into());
        let (_, outcome) = cache
            .get(&key("cart"), || unreachable!(), token(9), hours(3))
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Hit);
        // Past the margin: the stored token is refused, the caller's own is tried and kept.
        time.advance(Duration::from_secs(2701));
        let (_, outcome) = cache
            .get(&key("cart"), || unreachable!(), token(2), hours(2))
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Miss);
        assert_eq!(
            *upstream.tokens.lock().unwrap(),
            ["token-1", "token-9", "token-2"]
        );
    }

    #[test]
    fn backoff_doubles_to_a_minute() {
        let d = |n, r| backoff(n, r).as_millis();
        assert_eq!(
            [d(1, 0.0), d(1, 1.0), d(2, 1.0), d(7, 1.0), d(40, 1.0)],
            [500, 1000, 2000, 60_000, 60_000]
        );
    }
}
