//! When to refresh, and how long to back off: pure functions of time and a random number, so
//! every window is tested exactly.

use std::time::{Duration, SystemTime};

/// The longest advisory window: 15 minutes before expiry for long-lived credentials.
pub(super) const MAX_ADVISORY_WINDOW: Duration = Duration::from_secs(15 * 60);
/// The longest mandatory window: in the last minute callers wait for a refresh.
pub(super) const MAX_MANDATORY_WINDOW: Duration = Duration::from_secs(60);
/// The first retry delay after a failure.
pub(super) const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// The longest retry delay.
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long a non-retryable STS error is answered from memory before a caller's demand
/// tries again.
pub(super) const ERROR_CACHE: Duration = Duration::from_secs(5);

/// When credentials of this lifetime are refreshed: the advisory point (refresh in the
/// background, callers keep the current ones) and the mandatory point (callers wait).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Schedule {
    /// From here the background task refreshes.
    pub(super) refresh_at: SystemTime,
    /// From here callers wait for the refresh (bounded by the load timeout).
    pub(super) mandatory_at: SystemTime,
}

/// The windows for credentials obtained at `now` that expire at `expiry`. The advisory window
/// is a quarter of the lifetime, at most 15 minutes, brought forward by up to a fifth more
/// with `random` (uniform in `[0, 1)`) so a fleet does not refresh at once; the mandatory
/// window is a fifteenth of the lifetime, at most one minute.
///
/// For an hour: refreshed from 15 minutes before expiry, callers wait in the last minute.
pub(super) fn schedule(now: SystemTime, expiry: SystemTime, random: f64) -> Schedule {
    let lifetime = expiry.duration_since(now).unwrap_or_default();
    let advisory = (lifetime / 4).min(MAX_ADVISORY_WINDOW);
    let jitter = advisory.mul_f64(random.clamp(0.0, 1.0) / 5.0);
    let mandatory = (lifetime / 15).min(MAX_MANDATORY_WINDOW);
    let earliest = |window: Duration| expiry.checked_sub(window).unwrap_or(now).max(now);
    Schedule {
        refresh_at: earliest(advisory + jitter),
        mandatory_at: earliest(mandatory),
    }
}

/// The delay before retry number `failures` (1 for the first retry): exponential from one
/// second, at most five minutes, half of it random ("equal jitter"); with credentials that
/// are still valid, never later than a third of their remaining life, so several retries fit
/// before they expire.
///
/// E.g. 0.5 s to 1 s for the first retry, 4 s to 8 s for the fourth, at most 300 s.
pub(super) fn backoff(failures: u32, random: f64, remaining: Option<Duration>) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    let base = INITIAL_BACKOFF
        .saturating_mul(1 << exponent)
        .min(MAX_BACKOFF);
    let delay = base / 2 + (base / 2).mul_f64(random.clamp(0.0, 1.0));
    match remaining {
        Some(left) => delay.min((left / 3).max(INITIAL_BACKOFF)),
        None => delay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn an_hour_and_the_retries() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let s = schedule(now, now + Duration::from_secs(3600), 0.0);
        assert_eq!(s.refresh_at, now + Duration::from_secs(2700));
        assert_eq!(s.mandatory_at, now + Duration::from_secs(3540));
        assert_eq!(backoff(1, 0.0, None), Duration::from_millis(500));
        assert_eq!(backoff(4, 1.0, None), Duration::from_secs(8));
        assert_eq!(backoff(30, 1.0, None), Duration::from_secs(300));
        assert_eq!(
            backoff(30, 1.0, Some(Duration::from_secs(90))),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn windows_scale_with_lifetime() {
        let now = UNIX_EPOCH + Duration::from_secs(10_000);
        let at = |secs| now + Duration::from_secs(secs);
        // 12 h credentials: 15 min advisory, 1 min mandatory; jitter brings it 3 min earlier.
        let s = schedule(now, at(43_200), 1.0);
        assert_eq!(
            (s.refresh_at, s.mandatory_at),
            (at(43_200 - 1080), at(43_140))
        );
        // 15 min credentials (STS's minimum): 225 s advisory, 60 s mandatory.
        let s = schedule(now, at(900), 0.0);
        assert_eq!((s.refresh_at, s.mandatory_at), (at(675), at(840)));
        // 60 s credentials (a test server's): 15 s and 4 s.
        let s = schedule(now, at(60), 0.0);
        assert_eq!((s.refresh_at, s.mandatory_at), (at(45), at(56)));
        // Already expired: both now.
        let s = schedule(now, now - Duration::from_secs(5), 0.5);
        assert_eq!((s.refresh_at, s.mandatory_at), (now, now));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let d = |n, r| backoff(n, r, None).as_millis();
        assert_eq!(
            [d(1, 0.0), d(2, 0.0), d(3, 0.0), d(3, 0.5)],
            [500, 1000, 2000, 3000]
        );
        assert_eq!(d(9, 1.0), 256_000);
        assert_eq!(d(10, 1.0), 300_000);
        assert_eq!(d(u32::MAX, 1.0), 300_000);
        assert_eq!(
            backoff(5, 1.0, Some(Duration::from_millis(100))),
            INITIAL_BACKOFF
        );
    }
}
