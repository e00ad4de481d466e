//! The provider soak: seven simulated days of refreshes under random fault schedules drawn by
//! proptest, against the real SDK client and a real HTTP STS on loopback, on an injected clock
//! (no sleeping through the days: a week runs in seconds).
//!
//! A schedule is a list of phases (a fault and its length, 1 s to 2 h) filling the week; time
//! advances in random steps of 1 s to 10 min, and after every step the invariants are checked:
//! - no caller is ever handed an expired credential;
//! - at most one STS call is in flight, ever;
//! - after a failure, the next call waits at least its backoff (the lower bound of the jittered
//!   exponential backoff, capped by a third of the credentials' remaining life; five seconds,
//!   the error cache, after an error that only a new token mends), unless the token changed;
//! - once the faults stop, service resumes within one backoff (at most five minutes):
//!   credentials valid and no error.
//!
//! The test command replays two schedules drawn from a fixed seed; `IRSA_SOAK_CASES=N` draws
//! N fresh ones (the long run the README names), and the run prints how many schedules, fault
//! phases, steps, refreshes and failed calls it simulated.

use crate::helpers::kubelet_write;
use crate::helpers::local_sts::{LocalSts, Outcome, Reply, provider_builder};

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_async::rt::sleep::{AsyncSleep, Sleep};
use aws_smithy_async::time::TimeSource;
use irsa::provider::WebIdentityProvider;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use tokio::sync::oneshot;

const ROLE: &str = "arn:aws:iam::111122223333:role/soak";
const START: u64 = 1_800_000_000;
const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);
const LIFETIME: Duration = Duration::from_secs(3600);
/// The SDK's attempt timeout runs on tokio's timer, in real time (it bounds real network
/// I/O): short here, so that a week of held requests stays quick.
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(100);
/// The provider's longest backoff.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long an error that only a new token mends is answered from memory.
const ERROR_CACHE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Healthy,
    Throttling,
    ServiceUnavailable,
    BadGateway,
    /// STS never answers: the attempt times out.
    Timeout,
    IdpCommunication,
    InvalidIdentityToken,
    TokenMissing,
    /// A writer that is not the kubelet truncated the file mid-write.
    TokenHalfWritten,
    /// A directory where the token should be.
    TokenUnreadable,
    /// The kubelet rotates the token at every step, while a slow STS answers.
    RotatedDuringRefresh,
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        6 => Just(Fault::Healthy),
        1 => Just(Fault::Throttling),
        1 => Just(Fault::ServiceUnavailable),
        1 => Just(Fault::BadGateway),
        1 => Just(Fault::Timeout),
        1 => Just(Fault::IdpCommunication),
        1 => Just(Fault::InvalidIdentityToken),
        1 => Just(Fault::TokenMissing),
        1 => Just(Fault::TokenHalfWritten),
        1 => Just(Fault::TokenUnreadable),
        1 => Just(Fault::RotatedDuringRefresh),
    ]
}

/// What one schedule did.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    steps: u64,
    refreshes: u64,
    failed_calls: u64,
    phases: u64,
}

#[test]
fn a_week_of_faults_never_hands_out_expired_credentials() {
    // The test command replays two fixed schedules; a long run asks for more and draws them
    // afresh each time.
    let asked = std::env::var("IRSA_SOAK_CASES")
        .ok()
        .and_then(|n| n.parse().ok());
    let config = Config {
        cases: asked.unwrap_or(2),
        failure_persistence: None,
        max_shrink_iters: 0,
        ..Config::default()
    };
    let cases = config.cases;
    let mut runner = match asked {
        Some(_) => TestRunner::new(config),
        None => {
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]))
        }
    };
    let totals = std::sync::Mutex::new(Counts::default());
    let schedules = (
        prop::collection::vec((fault(), 1u64..7200), 400),
        any::<u64>(),
    );
    runner
        .run(&schedules, |(phases, seed)| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let counts = runtime.block_on(soak(&phases, seed));
            let mut totals = totals.lock().unwrap();
            totals.steps += counts.steps;
            totals.refreshes += counts.refreshes;
            totals.failed_calls += counts.failed_calls;
            totals.phases += counts.phases;
            Ok(())
        })
        .unwrap();
    let totals = totals.into_inner().unwrap();
    eprintln!(
        "provider soak: {cases} schedules of 7 simulated days: {} fault phases, {} steps, \
         {} refreshes, {} failed STS calls, no expired credential served",
        totals.phases, totals.steps, totals.refreshes, totals.failed_calls
    );
}

/// A clock that moves from one sleeper's deadline to the next: every timer fires at its own
/// moment and what it wakes runs to its end before time moves on. (A clock that jumps over
/// many deadlines at once fires an attempt's timeout in the same jump that started the
/// attempt, which no real clock does.)
#[derive(Clone, Debug)]
struct EventClock(Arc<Mutex<EventClockInner>>);

#[derive(Debug)]
struct EventClockInner {
    now: SystemTime,
    sleepers: Vec<(SystemTime, oneshot::Sender<()>)>,
    /// Sleeps asked for so far: a woken task that is done asks for its next one.
    asked: u64,
}

impl EventClock {
    fn new(now: SystemTime) -> Self {
        EventClock(Arc::new(Mutex::new(EventClockInner {
            now,
            sleepers: Vec::new(),
            asked: 0,
        })))
    }

    /// Moves to the earliest deadline not after `until` and wakes its sleepers (`true`), or,
    /// with none left before it, to `until` (`false`).
    fn advance(&self, until: SystemTime) -> bool {
        let mut inner = self.0.lock().unwrap();
        inner.sleepers.retain(|(_, tx)| !tx.is_closed());
        let next = inner.sleepers.iter().map(|(at, _)| *at).min();
        match next {
            Some(at) if at <= until => {
                inner.now = inner.now.max(at);
                let now = inner.now;
                let (due, waiting) = std::mem::take(&mut inner.sleepers)
                    .into_iter()
                    .partition::<Vec<_>, _>(|(at, _)| *at <= now);
                inner.sleepers = waiting;
                for (_, tx) in due {
                    let _ = tx.send(());
                }
                true
            }
            _ => {
                inner.now = inner.now.max(until);
                false
            }
        }
    }
}

impl EventClock {
    fn asked(&self) -> u64 {
        self.0.lock().unwrap().asked
    }
}

impl TimeSource for EventClock {
    fn now(&self) -> SystemTime {
        self.0.lock().unwrap().now
    }
}

impl AsyncSleep for EventClock {
    fn sleep(&self, duration: Duration) -> Sleep {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.0.lock().unwrap();
        let at = inner.now + duration;
        inner.sleepers.push((at, tx));
        inner.asked += 1;
        Sleep::new(async move {
            let _ = rx.await;
        })
    }
}

/// The token the kubelet writes as version `n`.
fn token(n: u32) -> String {
    format!("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzb2FrIiwidiI6{n:04}fQ.c2lnbmF0dXJl")
}

/// Polls the provider once, as a caller that does not wait.
fn immediate(provider: &WebIdentityProvider) -> Option<aws_credential_types::Credentials> {
    let mut future = std::pin::pin!(provider.provide_credentials());
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => result.ok(),
        Poll::Pending => None,
    }
}

/// Lets the work an advance woke run to its end, in real time: the background task reads the
/// token and calls STS over loopback (a held call ends at the real attempt timeout), then asks
/// for its next sleep.
async fn settle(
    sts: &LocalSts,
    provider: &WebIdentityProvider,
    clock: &EventClock,
    asked: Option<u64>,
) {
    for i in 0..50_000 {
        // The woken task has gone back to sleep (asked for a sleep since), or after 200 rounds
        // (a fifth of a second or more) a woken sleeper was not one that asks again.
        let rearmed = asked.is_none_or(|before| clock.asked() > before) || i > 200;
        if rearmed && !provider.status().refreshing && sts.in_flight() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_micros(100)).await;
    }
    panic!("the provider did not settle: {:?}", provider.status());
}

async fn soak(phases: &[(Fault, u64)], seed: u64) -> Counts {
    let time = EventClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(START));
    let clock = time.clone();
    let sts = LocalSts::start(
        Reply::CredentialsFor(LIFETIME),
        Arc::new(move || clock.now()),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut version = 0;
    kubelet_write(dir.path(), "v0", &token(0));
    let mut valid = vec![token(0)];
    sts.accept_only(Some(valid.clone()));
    let provider = provider_builder(&sts, ROLE, dir.path().join("token"))
        .time_source(time.clone())
        .sleep_impl(time.clone())
        .attempt_timeout(ATTEMPT_TIMEOUT)
        .jitter_seed(seed)
        .build();
    provider
        .provide_credentials()
        .await
        .expect("the first credentials");

    let mut rng = fastrand::Rng::with_seed(seed);
    // The expiries of the credentials the provider received, in whole seconds: an answer that
    // reached the client after its attempt timeout (a loaded machine) is a success to the
    // server and a failure to the provider.
    let mut received = std::collections::BTreeSet::new();
    let end = time.now() + WEEK;
    let mut counts = Counts::default();
    let mut previous = Fault::Healthy;
    for &(fault, length) in phases {
        let now = time.now();
        if now >= end {
            break;
        }
        counts.phases += 1;
        // Mend what the last phase broke, then break what this one breaks.
        if matches!(
            previous,
            Fault::TokenMissing | Fault::TokenHalfWritten | Fault::TokenUnreadable
        ) {
            version += 1;
            repair(dir.path(), version, &mut valid, &sts);
        }
        sts.set_default(match fault {
            Fault::Throttling => Reply::Error(400, "Throttling", "Rate exceeded"),
            Fault::ServiceUnavailable => {
                Reply::Error(503, "ServiceUnavailable", "Service is unavailable")
            }
            Fault::BadGateway => Reply::Status(502),
            Fault::Timeout => Reply::Hold,
            Fault::IdpCommunication => Reply::Error(
                400,
                "IDPCommunicationError",
                "Couldn't retrieve verification key from your identity provider",
            ),
            Fault::InvalidIdentityToken => Reply::Error(
                400,
                "InvalidIdentityToken",
                "Token expired: current date/time 1800000000 must be before the expiration date/time 1799999000",
            ),
            Fault::RotatedDuringRefresh => Reply::Delay(
                Duration::from_millis(3),
                Box::new(Reply::CredentialsFor(LIFETIME)),
            ),
            _ => Reply::CredentialsFor(LIFETIME),
        });
        let current = dir.path().join(format!("..v{version}")).join("token");
        match fault {
            Fault::TokenMissing => std::fs::remove_file(dir.path().join("token")).unwrap(),
            Fault::TokenHalfWritten => {
                let whole = token(version);
                std::fs::write(&current, &whole[..whole.len() / 2]).unwrap();
            }
            Fault::TokenUnreadable => {
                std::fs::remove_file(&current).unwrap();
                std::fs::create_dir(&current).unwrap();
            }
            _ => {}
        }
        // Service must be back one backoff after faults stop.
        let resume_by = (fault == Fault::Healthy && previous != Fault::Healthy)
            .then(|| now + MAX_BACKOFF + Duration::from_secs(1));
        let mut resumed = resume_by.is_none();
        let phase_end = (now + Duration::from_secs(length)).min(end);
        while time.now() < phase_end {
            let left = phase_end.duration_since(time.now()).unwrap();
            let step = Duration::from_secs(rng.u64(1..=600)).min(left);
            let target = time.now() + step;
            if fault == Fault::RotatedDuringRefresh {
                version += 1;
                repair(dir.path(), version, &mut valid, &sts);
            }
            loop {
                let asked = time.asked();
                let woke = time.advance(target);
                settle(&sts, &provider, &time, woke.then_some(asked)).await;
                counts.steps += 1;
                let now = time.now();
                if let Some(expiry) = provider.status().expiry {
                    received.insert(whole_seconds(expiry));
                }
                if let Some(credentials) = immediate(&provider) {
                    let expiry = credentials.expiry().unwrap();
                    assert!(expiry > now, "expired credentials served at {now:?}");
                }
                assert!(sts.max_in_flight() <= 1, "two STS calls in flight at once");
                if !woke {
                    break;
                }
            }
            let now = time.now();
            if !resumed && resume_by.is_some_and(|by| now >= by) {
                // A caller that waits (in the mandatory window callers wait for the refresh)
                // gets valid credentials at once, in real time, and no error is left.
                let served =
                    tokio::time::timeout(Duration::from_secs(5), provider.provide_credentials())
                        .await;
                let status = provider.status();
                assert!(
                    matches!(&served, Ok(Ok(c)) if c.expiry().unwrap() > now)
                        && status.last_error.is_none(),
                    "not resumed {:?} after the faults stopped: {served:?} {status:?}; \
                     phases so far {:?}; last calls {:?}",
                    now.duration_since(resume_by.unwrap() - MAX_BACKOFF),
                    &phases[..counts.phases as usize],
                    sts.requests()
                        .iter()
                        .rev()
                        .take(4)
                        .map(|r| (r.at, r.outcome, r.token.len()))
                        .collect::<Vec<_>>()
                );
                resumed = true;
            }
        }
        previous = fault;
    }
    check_backoff(&sts, &received, &mut counts);
    counts
}

/// The kubelet writes token `version` and it becomes valid (old ones stay valid until they
/// expire, as projected tokens do).
fn repair(dir: &Path, version: u32, valid: &mut Vec<String>, sts: &LocalSts) {
    let current = dir
        .join(format!("..v{}", version.saturating_sub(1)))
        .join("token");
    if current.is_dir() {
        std::fs::remove_dir(&current).unwrap();
    }
    // STS learns the new token before the kubelet writes it, as a real issuer signs first.
    valid.push(token(version));
    sts.accept_only(Some(valid.clone()));
    kubelet_write(dir, &format!("v{version}"), &token(version));
}

fn whole_seconds(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
}

/// Every call after a failure waited at least the backoff's lower bound, unless it carried a
/// new token. The bound is taken on the safe side of what the harness can know: an answer may
/// reach the client after its attempt timeout (a failure to the provider), and two refreshes
/// may fall between two looks at the provider's status.
fn check_backoff(sts: &LocalSts, received: &std::collections::BTreeSet<u64>, counts: &mut Counts) {
    let requests = sts.requests();
    let mut failures = 0u32;
    // Expiries of every answer with credentials: whichever the provider holds is one of them.
    let mut issued: Vec<SystemTime> = Vec::new();
    for pair in requests.windows(2) {
        let (call, next) = (&pair[0], &pair[1]);
        let (at, next_at) = (call.at.unwrap(), next.at.unwrap());
        // Any answer with credentials ends the run of failures as far as this check counts (a
        // lower count is a weaker bound, never a false one).
        if call.outcome == Outcome::Credentials {
            failures = 0;
            issued.push(at + LIFETIME);
            continue;
        }
        failures += 1;
        if next.token != call.token {
            continue;
        }
        let least = if call.outcome == Outcome::NotRetryable {
            ERROR_CACHE
        } else {
            // Equal jitter: at least half the exponential base; with credentials left, capped
            // at a third of what remains (measured at the next call, the latest the failure
            // can have been seen), and never below a second.
            let base = Duration::from_secs(1 << (failures - 1).min(16)).min(MAX_BACKOFF);
            // The cap's least value over the credentials the provider may hold at the failure.
            let cap = issued
                .iter()
                .filter(|e| **e > at)
                .map(|e| {
                    let left = e.duration_since(next_at).unwrap_or_default();
                    (left / 3).max(Duration::from_secs(1))
                })
                .min();
            cap.map_or(base / 2, |cap| (base / 2).min(cap))
        };
        let gap = next_at.duration_since(at).unwrap();
        assert!(
            gap >= least,
            "call after failure {failures} came {gap:?} later, before its backoff of {least:?}: {call:?} then {next:?}"
        );
    }
    // Refreshes: credentials the provider received; failed calls: every other call.
    counts.refreshes += received.len() as u64;
    counts.failed_calls += (requests.len() as u64).saturating_sub(received.len() as u64);
}
