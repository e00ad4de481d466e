//! The kernel's coarse real-time clock: the real-time clock as of the last scheduler tick,
//! read from the vDSO without touching a hardware counter.

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
