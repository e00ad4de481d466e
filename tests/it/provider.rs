//! The web-identity provider against a real HTTP STS-compatible server on loopback, with a
//! fake clock and fake sleeps: every window (advisory, mandatory, backoff, error cache, load
//! timeout) is exercised exactly, without waiting for it in real time. Token files are real
//! files, rotated by a kubelet-style symlink swap.

use crate::helpers;
use crate::helpers::local_sts;
use helpers::kubelet_write;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_async::test_util::tick_advance_sleep::{
    TickAdvanceTime, tick_advance_time_and_sleep,
};
use aws_smithy_async::time::TimeSource;
use helpers::Captured;
use irsa::StsErrorCode;
use irsa::provider::{ProviderError, WebIdentityProvider, WebIdentityProviderBuilder};
use local_sts::{LocalSts, Reply, secret_for};

const ROLE: &str = "arn:aws:iam::111122223333:role/reader";
/// The fake clock starts at 2027-01-15T08:00:00Z.
const START: u64 = 1_800_000_000;
const TOKEN_1: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YXBwczpyZWFkZXIifQ.c2lnbmF0dXJlLTE";
const TOKEN_2: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YXBwczpyZWFkZXIifQ.c2lnbmF0dXJlLTI";

struct Harness {
    sts: LocalSts,
    time: TickAdvanceTime,
    provider: WebIdentityProvider,
    dir: tempfile::TempDir,
}

impl Harness {
    async fn new(default: Reply) -> Harness {
        Self::with(default, |b| b, Some(TOKEN_1)).await
    }

    async fn with(
        default: Reply,
        configure: impl FnOnce(WebIdentityProviderBuilder) -> WebIdentityProviderBuilder,
        token: Option<&str>,
    ) -> Harness {
        Self::with_sts_behind(Duration::ZERO, default, configure, token).await
    }

    /// A harness whose STS's clock runs `behind` the provider's.
    async fn with_sts_behind(
        behind: Duration,
        default: Reply,
        configure: impl FnOnce(WebIdentityProviderBuilder) -> WebIdentityProviderBuilder,
        token: Option<&str>,
    ) -> Harness {
        let (time, sleep) = tick_advance_time_and_sleep();
        time.tick(Duration::from_secs(START)).await;
        let clock = time.clone();
        let sts = LocalSts::start(default, Arc::new(move || clock.now() - behind)).await;
        let dir = tempfile::tempdir().unwrap();
        if let Some(token) = token {
            // As an editor would leave it: with a newline, which must not reach STS.
            std::fs::write(dir.path().join("token"), format!("{token}\n")).unwrap();
        }
        let builder = local_sts::provider_builder(&sts, ROLE, dir.path().join("token"))
            .time_source(time.clone())
            .sleep_impl(sleep)
            .jitter_seed(7);
        let provider = configure(builder).build();
        Harness {
            sts,
            time,
            provider,
            dir,
        }
    }

    fn now(&self) -> SystemTime {
        self.time.now()
    }

    /// Advances the fake clock to `at`.
    async fn tick_to(&self, at: SystemTime) {
        let now = self.now();
        if at > now {
            self.time.tick(at.duration_since(now).unwrap()).await;
        }
    }
}

/// Polls the provider once: `Some` when the answer was immediate (no waiting at all).
fn immediate(provider: &WebIdentityProvider) -> Option<Result<Credentials, CredentialsError>> {
    let mut future = std::pin::pin!(provider.provide_credentials());
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => Some(result),
        Poll::Pending => None,
    }
}

/// Waits, in real time, for background work (HTTP on loopback) to show.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..5000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// An error with all its causes, as a log line would show it.
fn full_message(error: &dyn std::error::Error) -> String {
    aws_smithy_types::error::display::DisplayErrorContext(error).to_string()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_state_refreshes_in_the_background_and_no_caller_waits() {
    let h = Harness::new(Reply::CredentialsFor(secs(3600))).await;
    let first = h.provider.provide_credentials().await.unwrap();
    let t0 = h.now();
    assert_eq!(first.expiry(), Some(t0 + secs(3600)));
    assert_eq!(first.account_id().map(|a| a.as_str()), Some("111122223333"));
    assert_eq!(h.sts.served(), 1);
    let request = &h.sts.requests()[0];
    assert_eq!(request.token, TOKEN_1, "the token is trimmed");
    assert_eq!(request.role_arn, ROLE);
    assert!(request.session_name.starts_with("irsa-"));

    // Advisory point: 15 min before expiry, brought forward by at most 3 min of jitter.
    let status = h.provider.status();
    let refresh_at = status.refresh_at.unwrap();
    assert!(
        refresh_at <= t0 + secs(2700) && refresh_at >= t0 + secs(2520),
        "{status:?}"
    );

    h.tick_to(refresh_at - secs(1)).await;
    let cached = immediate(&h.provider).expect("cached answer").unwrap();
    assert_eq!(cached.access_key_id(), first.access_key_id());
    assert_eq!(h.sts.served(), 1);

    h.time.tick(secs(1)).await;
    // While the refresh is in flight, callers are still answered at once.
    assert!(immediate(&h.provider).unwrap().is_ok());
    eventually("background refresh", || {
        h.sts.served() == 2 && h.provider.status().expiry > first.expiry()
    })
    .await;
    let fresh = immediate(&h.provider).expect("cached answer").unwrap();
    assert_ne!(fresh.access_key_id(), first.access_key_id());
    assert_eq!(h.provider.status().sts_calls, 2);

    // Only in the mandatory window (the last minute), with a refresh in flight, does a caller
    // wait: here the clock jumps past the advisory point into it, and STS takes 300 ms.
    h.sts.set_default(Reply::Delay(
        Duration::from_millis(300),
        Box::new(Reply::CredentialsFor(secs(3600))),
    ));
    h.tick_to(fresh.expiry().unwrap() - secs(30)).await;
    assert!(
        immediate(&h.provider).is_none(),
        "a caller in the mandatory window waits"
    );
    let third = h.provider.provide_credentials().await.unwrap();
    assert_ne!(third.access_key_id(), fresh.access_key_id());
    assert_eq!(h.sts.served(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_serves_unexpired_credentials_backs_off_and_never_serves_expired_ones() {
    let h = Harness::new(Reply::CredentialsFor(secs(3600))).await;
    let first = h.provider.provide_credentials().await.unwrap();
    let expiry = first.expiry().unwrap();
    h.sts.set_default(Reply::Error(
        503,
        "ServiceUnavailable",
        "Service is unavailable",
    ));

    // From the advisory point to the mandatory window: failures, backoff, cached answers.
    let refresh_at = h.provider.status().refresh_at.unwrap();
    h.tick_to(refresh_at).await;
    eventually("first failure", || {
        h.provider.status().consecutive_failures == 1
    })
    .await;
    let mut last_served = h.sts.served();
    let mandatory_at = expiry - secs(60);
    while h.now() < mandatory_at - secs(30) {
        h.time.tick(secs(30)).await;
        let cached = immediate(&h.provider).expect("served from cache before the mandatory window");
        assert_eq!(cached.unwrap().access_key_id(), first.access_key_id());
        // Let a retry that fell due finish its HTTP round trip before time moves on.
        tokio::time::sleep(Duration::from_millis(10)).await;
        last_served = last_served.max(h.sts.served());
    }
    eventually("retries settle", || h.sts.served() >= last_served).await;
    let attempts = h.sts.served() - 1;
    // Exponential backoff, capped at a third of the remaining life: more than a handful of
    // retries over ~45 min, far fewer than one per 30 s tick.
    assert!((5..=40).contains(&attempts), "{attempts} retries");
    let status = h.provider.status();
    assert!(
        matches!(status.last_error, Some(ProviderError::Sts(ref failure)) if failure.code() == Some(StsErrorCode::ServiceUnavailable) && failure.is_retryable())
    );

    // In the mandatory window, with the refresh failing, callers get the still-valid
    // credentials at once instead of waiting for a retry.
    h.tick_to(mandatory_at + secs(1)).await;
    let provider = h.provider.clone();
    let late = tokio::spawn(async move { provider.provide_credentials().await });
    let late = late.await.unwrap().unwrap();
    assert_eq!(late.access_key_id(), first.access_key_id());

    // Past expiry: an error, never the expired credentials.
    h.tick_to(expiry + secs(1)).await;
    let provider = h.provider.clone();
    let waiting = tokio::spawn(async move { provider.provide_credentials().await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    h.time.tick(secs(20)).await;
    let error = waiting.await.unwrap().unwrap_err();
    let message = full_message(&error);
    assert!(message.contains("ServiceUnavailable"), "{message}");
    assert!(immediate(&h.provider).is_none_or(|r| r.is_err()));

    // STS back: the next attempt (on the backoff timer) brings fresh credentials.
    h.sts.set_default(Reply::CredentialsFor(secs(3600)));
    for _ in 0..40 {
        h.time.tick(secs(10)).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        if h.provider.status().last_error.is_none() {
            break;
        }
    }
    let fresh = h.provider.provide_credentials().await.unwrap();
    assert!(fresh.expiry().unwrap() > h.now());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_retryable_errors_are_answered_from_memory_with_what_to_do() {
    let h = Harness::new(Reply::Error(
        403,
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    ))
    .await;
    let error = h.provider.provide_credentials().await.unwrap_err();
    let message = full_message(&error);
    assert!(
        message.contains(
            "sts:AssumeRoleWithWebIdentity for arn:aws:iam::111122223333:role/reader failed with AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity (the role's trust policy does not admit this token: its :sub or :aud conditions (or the Federated principal) do not match)"
        ),
        "{message}"
    );
    // The library names no command of the binary; `irsa credential-process` adds those.
    assert!(!message.contains("irsa "), "{message}");
    assert!(matches!(error, CredentialsError::ProviderError(_)));
    // Within 5 s: the same answer, no STS call.
    h.time.tick(secs(4)).await;
    assert!(h.provider.provide_credentials().await.is_err());
    assert_eq!(h.sts.served(), 1);
    // After 5 s a caller's demand tries again.
    h.time.tick(secs(2)).await;
    assert!(h.provider.provide_credentials().await.is_err());
    assert_eq!(h.sts.served(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_errors_are_retried_until_credentials_arrive() {
    let h = Harness::with(
        Reply::CredentialsFor(secs(3600)),
        |b| {
            b.attempt_timeout(Duration::from_millis(300))
                .load_timeout(secs(600))
        },
        Some(TOKEN_1),
    )
    .await;
    h.sts.script([
        Reply::Error(400, "IDPCommunicationError", "The identity provider could not be reached"),
        Reply::Error(
            400,
            "InvalidIdentityToken",
            "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements",
        ),
        Reply::Error(400, "Throttling", "Rate exceeded"),
        Reply::Status(502),
        // Not answered within the attempt timeout (real time: it bounds network I/O).
        Reply::Delay(secs(3600), Box::new(Reply::CredentialsFor(secs(3600)))),
    ]);
    let provider = h.provider.clone();
    let caller = tokio::spawn(async move { provider.provide_credentials().await });
    for _ in 0..200 {
        if caller.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        h.time.tick(secs(1)).await;
    }
    let credentials = caller.await.unwrap().unwrap();
    assert!(credentials.expiry().is_some());
    assert_eq!(h.sts.requests().len(), 6, "five failures, then success");
    assert_eq!(h.provider.status().consecutive_failures, 0);
}

/// A node whose clock runs an hour ahead gets credentials that are already expired by its
/// own clock: a failed refresh with backoff and one warning naming the clock, not a tight loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_expired_on_arrival_back_off_and_name_the_clock() {
    let captured = Captured::global();
    // STS's clock is an hour and two minutes behind ours: the hour it grants ends two
    // minutes ago here. Its `Date` header tells by how much.
    let h = Harness::with_sts_behind(
        secs(3720),
        // Once the scripted answers are spent: a lifetime long enough to outlast the skew.
        Reply::CredentialsFor(secs(3720 + 3600)),
        |b| b.load_timeout(secs(600)),
        Some(TOKEN_1),
    )
    .await;
    h.sts.script([
        Reply::CredentialsFor(secs(3600)),
        Reply::CredentialsFor(secs(3600)),
        Reply::CredentialsFor(secs(3600)),
    ]);
    let provider = h.provider.clone();
    let caller = tokio::spawn(async move { provider.provide_credentials().await });
    eventually("a first attempt", || h.sts.served() >= 1).await;
    // Without moving the clock, no second call: the failure waits out its backoff.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(h.sts.served(), 1);
    let status = h.provider.status();
    assert_eq!(status.consecutive_failures, 1);
    let error = status.last_error.unwrap().to_string();
    assert!(
        error.contains("expire -120 s from now by this machine's clock, inside their refresh window; the clock looks 3720 s ahead of STS's: synchronise it (NTP, chrony)"),
        "{error}"
    );
    // The clock moves a second at a time: two more expired answers, then good credentials.
    for _ in 0..200 {
        if caller.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        h.time.tick(secs(1)).await;
    }
    let credentials = caller.await.unwrap().unwrap();
    assert_eq!(h.sts.served(), 4, "three refused on arrival, then one kept");
    let warnings = captured
        .text()
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("synchronise it"))
        .count();
    assert_eq!(warnings, 1, "the clock's story is told once");
    assert!(credentials.expiry().unwrap() > h.time.now());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_callers_make_one_sts_call() {
    let h = Harness::new(Reply::Delay(
        Duration::from_millis(200),
        Box::new(Reply::CredentialsFor(secs(3600))),
    ))
    .await;
    for round in 1..=2 {
        let callers: Vec<_> = (0..1000)
            .map(|_| {
                let provider = h.provider.clone();
                tokio::spawn(async move { provider.provide_credentials().await })
            })
            .collect();
        let mut keys = std::collections::HashSet::new();
        for caller in callers {
            keys.insert(caller.await.unwrap().unwrap().access_key_id().to_owned());
        }
        assert_eq!(keys.len(), 1);
        assert_eq!(h.sts.served(), round);
        // A service said the credentials expired: drop them, and the next herd makes one call.
        // Invalidations are honoured at most once per interval, whatever their number.
        h.time.tick(irsa::provider::MIN_INVALIDATE_INTERVAL).await;
        h.provider.invalidate();
        h.provider.invalidate();
    }

    // At expiry: the clock jumps past it in one step (a suspended VM, a stalled node); the
    // background refresh is in flight (STS takes 200 ms) when 1000 callers arrive. They wait
    // for it, get the fresh credentials, never the expired ones, and STS sees one call.
    let current = h.provider.provide_credentials().await.unwrap();
    assert_eq!(h.sts.served(), 3);
    h.tick_to(current.expiry().unwrap() + secs(1)).await;
    let callers: Vec<_> = (0..1000)
        .map(|_| {
            let provider = h.provider.clone();
            tokio::spawn(async move { provider.provide_credentials().await })
        })
        .collect();
    for caller in callers {
        let credentials = caller.await.unwrap().unwrap();
        assert_ne!(credentials.access_key_id(), current.access_key_id());
        assert!(credentials.expiry().unwrap() > h.now());
    }
    assert_eq!(h.sts.served(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_rotation_missing_file_and_expired_token() {
    let h = Harness::with(
        Reply::CredentialsFor(secs(3600)),
        |b| b.load_timeout(secs(600)),
        None,
    )
    .await;
    let dir: PathBuf = h.dir.path().to_owned();

    // No token yet: the caller waits; the file's creation is seen at once.
    let provider = h.provider.clone();
    let caller = tokio::spawn(async move { provider.provide_credentials().await });
    eventually("the missing token is reported", || {
        matches!(
            h.provider.status().last_error,
            Some(ProviderError::TokenUnavailable { .. })
        )
    })
    .await;
    assert_eq!(h.sts.served(), 0);
    kubelet_write(&dir, "2027_01_15_08_00_00.1", TOKEN_1);
    let first = caller.await.unwrap().unwrap();
    assert_eq!(h.sts.requests()[0].token, TOKEN_1);

    // Rotation by symlink swap; the next refresh sends the new token.
    kubelet_write(&dir, "2027_01_15_08_48_00.2", TOKEN_2);
    std::fs::remove_dir_all(dir.join("..2027_01_15_08_00_00.1")).unwrap();
    h.tick_to(h.provider.status().refresh_at.unwrap()).await;
    eventually("refresh with the rotated token", || {
        h.sts.served() == 2 && h.provider.status().expiry > first.expiry()
    })
    .await;
    assert_eq!(h.sts.requests()[1].token, TOKEN_2);

    // Mid-swap (no ..data): the last good token is used.
    std::fs::rename(dir.join("..data"), dir.join("..data_old")).unwrap();
    h.provider.invalidate();
    let again = h.provider.provide_credentials().await.unwrap();
    assert_ne!(again.access_key_id(), first.access_key_id());
    assert_eq!(h.sts.requests()[2].token, TOKEN_2);
    std::fs::rename(dir.join("..data_old"), dir.join("..data")).unwrap();

    // STS says the token expired: the next attempt follows the file's next change, long before
    // any backoff timer (the fake clock does not move).
    h.sts.script([Reply::Error(
        400,
        "ExpiredTokenException",
        "Token expired: current date/time 1800003000 must be before the expiration date/time 1800002000",
    )]);
    // Right after the last invalidation another one is ignored; after the interval it counts.
    h.provider.invalidate();
    assert_eq!(
        h.provider
            .provide_credentials()
            .await
            .unwrap()
            .access_key_id(),
        again.access_key_id()
    );
    h.time.tick(irsa::provider::MIN_INVALIDATE_INTERVAL).await;
    h.provider.invalidate();
    let error = h.provider.provide_credentials().await.unwrap_err();
    let message = full_message(&error);
    assert!(message.contains("ExpiredTokenException"), "{message}");
    assert!(
        message.contains("the next attempt uses the token file's next version"),
        "{message}"
    );
    let served = h.sts.served();
    kubelet_write(&dir, "2027_01_15_09_00_00.3", "eyJ.fresh.token");
    eventually("retry on the token change", || h.sts.served() == served + 1).await;
    assert_eq!(h.sts.requests().last().unwrap().token, "eyJ.fresh.token");
    eventually("credentials again", || h.provider.status().expiry.is_some()).await;
}

#[tokio::test]
async fn configuration_absent_or_wrong() {
    let provider = WebIdentityProvider::builder()
        .env(HashMap::<String, String>::new())
        .config_file("/nonexistent/config")
        .build();
    let error = provider.provide_credentials().await.unwrap_err();
    assert!(
        matches!(error, CredentialsError::CredentialsNotLoaded(_)),
        "{error:?}"
    );

    let env: HashMap<String, String> = [
        ("AWS_ROLE_ARN", "arn:aws:iam::111122223333:user/alice"),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/token"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let provider = WebIdentityProvider::builder().env(env).build();
    let error = provider.provide_credentials().await.unwrap_err();
    assert!(
        matches!(error, CredentialsError::InvalidConfiguration(_)),
        "{error:?}"
    );
    let message = full_message(&error);
    assert!(
        message.contains(
            "the role ARN is not usable: give arn:PARTITION:iam::ACCOUNT:role/NAME: \"arn:aws:iam::111122223333:user/alice\" names the wrong kind of resource: expected role/NAME"
        ),
        "{message}"
    );

    // A profile in a real config file.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        "[profile pods]\nrole_arn = arn:aws:iam::111122223333:role/r\nweb_identity_token_file = /t\nduration_seconds = 7200\n",
    )
    .unwrap();
    let provider = WebIdentityProvider::builder()
        .env(HashMap::<String, String>::new())
        .config_file(&config)
        .profile("pods")
        .build();
    let debug = format!("{provider:?}");
    assert!(debug.contains("source: \"profile\""), "{debug}");
    assert!(
        debug.contains("arn:aws:iam::111122223333:role/r"),
        "{debug}"
    );
}

// ---------------------------------------------------------------- secrets

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_logs_or_debug_output() {
    // Global: the background task logs from other threads.
    let captured = Captured::global();

    let h = Harness::new(Reply::CredentialsFor(secs(3600))).await;
    h.sts.script([Reply::Error(
        403,
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    )]);
    let _ = h.provider.provide_credentials().await;
    h.time.tick(secs(6)).await;
    let credentials = h.provider.provide_credentials().await.unwrap();
    h.tick_to(h.provider.status().refresh_at.unwrap()).await;
    eventually("a refresh", || h.sts.served() == 3).await;

    let logs = captured.text();
    assert!(
        logs.contains("web identity credentials refreshed"),
        "{logs}"
    );
    assert!(
        logs.contains("web identity credentials not refreshed"),
        "{logs}"
    );
    let debug = format!(
        "{:?} {:?} {:?}",
        h.provider,
        credentials,
        h.provider.status()
    );
    for n in 0..3 {
        let secret = secret_for(n);
        assert!(
            !logs.contains(&secret) && !debug.contains(&secret),
            "secret key {n} leaked"
        );
        let session_token = format!("LocalSessionToken{n}");
        assert!(
            !logs.contains(&session_token) && !debug.contains(&session_token),
            "session token {n} leaked"
        );
    }
    for token in [TOKEN_1, "c2lnbmF0dXJlLTE"] {
        assert!(
            !logs.contains(token) && !debug.contains(token),
            "web identity token leaked"
        );
    }
}

// ---------------------------------------------------------------- aws-config's test data

/// A case of aws-config's `default-credential-provider-chain` test data: its environment, its
/// files (absolute paths re-rooted in a temporary directory) and its recorded STS answer.
struct UpstreamCase {
    env: HashMap<String, String>,
    reply: Reply,
    expected: serde_json::Value,
    _root: tempfile::TempDir,
}

fn upstream_case(name: &str) -> UpstreamCase {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/aws-config/default-credential-provider-chain")
        .join(name);
    let root = tempfile::tempdir().unwrap();
    // Upstream profiles name roles of accounts 123456789 and 1234567890123: no AWS account has
    // such an ID (they are twelve digits) and the provider refuses them as role ARNs, so they
    // become 123456789012 here. Everything else is upstream's.
    let reroot = |text: &str| {
        text.replace("= /", &format!("= {}/", root.path().display()))
            .replace("::1234567890123:", "::123456789012:")
            .replace("::123456789:", "::123456789012:")
    };
    let mut stack = vec![dir.join("fs")];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(dir.join("fs")).unwrap();
            if path.is_dir() {
                std::fs::create_dir_all(root.path().join(relative)).unwrap();
                stack.push(path);
            } else {
                let text = std::fs::read_to_string(&path).unwrap();
                std::fs::write(root.path().join(relative), reroot(&text)).unwrap();
            }
        }
    }
    let env: HashMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("env.json")).unwrap()).unwrap();
    let env = env
        .into_iter()
        .map(|(k, v)| {
            let v = if v.starts_with('/') {
                format!("{}{v}", root.path().display())
            } else {
                v
            };
            (k, v)
        })
        .collect();
    let traffic: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("http-traffic.json")).unwrap())
            .unwrap();
    let events = traffic["events"].as_array().unwrap();
    let status = events
        .iter()
        .find_map(|e| e["action"]["Response"]["response"]["Ok"]["status"].as_u64())
        // Cases refused before any request recorded no traffic.
        .unwrap_or(599);
    let body = events
        .iter()
        .filter(|e| e["action"]["Data"]["direction"] == "Response")
        .map(|e| e["action"]["Data"]["data"]["Utf8"].as_str().unwrap())
        .collect::<String>();
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("test-case.json")).unwrap())
            .unwrap();
    UpstreamCase {
        env,
        reply: Reply::Raw(u16::try_from(status).unwrap(), body),
        expected: expected["result"].clone(),
        _root: root,
    }
}

async fn run_upstream(
    case: &UpstreamCase,
    profile: Option<&str>,
) -> (Result<Credentials, CredentialsError>, LocalSts) {
    // The recorded credentials expire at 2021-08-16T20:52:53Z: judge them an hour earlier.
    let now = SystemTime::UNIX_EPOCH + secs(1_629_143_573);
    let sts = LocalSts::start(case.reply.clone(), Arc::new(move || now)).await;
    let mut builder = WebIdentityProvider::builder()
        .env(case.env.clone())
        .endpoint_url(sts.url())
        .time_source(aws_smithy_async::time::StaticTimeSource::new(now));
    if let Some(profile) = profile {
        builder = builder.profile(profile);
    }
    (builder.build().provide_credentials().await, sts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_config_test_data_web_identity_cases() {
    for name in ["web_identity_token_env", "web_identity_token_profile"] {
        let case = upstream_case(name);
        let (result, sts) = run_upstream(&case, None).await;
        let credentials = result.unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let ok = &case.expected["Ok"];
        assert_eq!(credentials.access_key_id(), ok["access_key_id"], "{name}");
        assert_eq!(
            credentials.secret_access_key(),
            ok["secret_access_key"],
            "{name}"
        );
        assert_eq!(
            credentials.session_token(),
            ok["session_token"].as_str(),
            "{name}"
        );
        assert_eq!(
            credentials.account_id().map(|a| a.as_str()),
            ok["account_id"].as_str(),
            "{name}"
        );
        assert_eq!(
            credentials.expiry(),
            Some(SystemTime::UNIX_EPOCH + secs(ok["expiry"].as_u64().unwrap())),
            "{name}"
        );
        // The token as the file holds it (these files end without a newline).
        let token_file = case
            .env
            .get("AWS_WEB_IDENTITY_TOKEN_FILE")
            .cloned()
            .unwrap_or_else(|| format!("{}/token.jwt", case._root.path().display()));
        let token = std::fs::read_to_string(token_file).unwrap();
        assert_eq!(sts.requests()[0].token, token.trim_end(), "{name}");
    }
    let session = upstream_case("web_identity_token_env");
    let (_, sts) = run_upstream(&session, None).await;
    assert_eq!(sts.requests()[0].session_name, "test-session");
    assert_eq!(
        sts.requests()[0].role_arn,
        "arn:aws:iam::123456789012:role/test-role"
    );

    // The server says the token's issuer has no IAM provider: the upstream expectation
    // ("InvalidIdentityTokenException: No OpenIDConnect provider found in your account"),
    // carried by our message with what to do. (Upstream reaches it through a source_profile
    // chain, which is aws-config's part; here the same recorded answer meets a direct profile.)
    let case = upstream_case("web_identity_token_invalid_jwt");
    let expected = case.expected["ErrorContains"].as_str().unwrap();
    assert!(expected.contains("No OpenIDConnect provider found in your account"));
    let (result, _) = run_upstream(&case, Some("B")).await;
    let message = full_message(&result.unwrap_err());
    assert!(
        message.contains(
            "failed with InvalidIdentityToken: No OpenIDConnect provider found in your account"
        ),
        "{message}"
    );
    assert!(
        message.contains("create the IAM OIDC provider"),
        "{message}"
    );

    // A role ARN in the environment never completes a profile that lacks one (upstream:
    // "`web_identity_token_file` was specified but `role_arn` was missing").
    let case = upstream_case("web_identity_source_profile_no_env");
    assert!(
        case.expected["ErrorContains"]
            .as_str()
            .unwrap()
            .contains("`role_arn` was missing")
    );
    assert!(case.env.contains_key("AWS_ROLE_ARN"));
    let (result, sts) = run_upstream(&case, Some("B")).await;
    let error = result.unwrap_err();
    assert!(
        matches!(error, CredentialsError::InvalidConfiguration(_)),
        "{error:?}"
    );
    let message = full_message(&error);
    assert!(
        message.contains("has web_identity_token_file but no role_arn"),
        "{message}"
    );
    assert_eq!(sts.served(), 0);
}
