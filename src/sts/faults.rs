//! Fault injection for tests: a share of `Throttling`, `IDPCommunicationError` and HTTP 5xx
//! answers and added latency, drawn from a generator seeded for reproducible runs.

use std::sync::Mutex;
use std::time::Duration;

/// Which faults to inject, and how often (each a share from 0.0 to 1.0).
///
/// ```
/// use irsa::sts::Faults;
///
/// let faults = Faults::seeded(7).throttling(0.1)?.latency(std::time::Duration::from_millis(5));
/// assert_eq!(faults.seed(), 7);
/// assert!(Faults::seeded(7).server_error(1.5).is_err());
/// # Ok::<(), irsa::sts::FaultsError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    seed: u64,
    pub(crate) throttling: f64,
    pub(crate) idp_communication_error: f64,
    pub(crate) server_error: f64,
    pub(crate) latency: Duration,
}

/// A share outside 0.0–1.0.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("fault share {name} = {value} is not between 0.0 and 1.0")]
pub struct FaultsError {
    /// The fault's name.
    pub name: &'static str,
    /// The value given.
    pub value: f64,
}

fn share(name: &'static str, value: f64) -> Result<f64, FaultsError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(FaultsError { name, value })
    }
}

impl Faults {
    /// No fault, from generator seed `seed`.
    pub fn seeded(seed: u64) -> Faults {
        Faults {
            seed,
            throttling: 0.0,
            idp_communication_error: 0.0,
            server_error: 0.0,
            latency: Duration::ZERO,
        }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The share of requests answered `Throttling` (400, "Rate exceeded").
    pub fn throttling(mut self, share_: f64) -> Result<Faults, FaultsError> {
        self.throttling = share("throttling", share_)?;
        Ok(self)
    }

    /// The share of `AssumeRoleWithWebIdentity` requests answered `IDPCommunicationError`.
    pub fn idp_communication_error(mut self, share_: f64) -> Result<Faults, FaultsError> {
        self.idp_communication_error = share("idp_communication_error", share_)?;
        Ok(self)
    }

    /// The share of requests answered HTTP 500 `InternalFailure`.
    pub fn server_error(mut self, share_: f64) -> Result<Faults, FaultsError> {
        self.server_error = share("server_error", share_)?;
        Ok(self)
    }

    /// Latency added to every answer.
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> Faults {
        self.latency = latency;
        self
    }
}

/// A fault drawn for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    Throttling,
    IdpCommunicationError,
    ServerError,
}

/// The faults and their generator.
#[derive(Debug)]
pub(crate) struct Injector {
    faults: Faults,
    rng: Mutex<fastrand::Rng>,
}

impl Injector {
    pub(crate) fn new(faults: Faults) -> Injector {
        Injector {
            rng: Mutex::new(fastrand::Rng::with_seed(faults.seed)),
            faults,
        }
    }

    pub(crate) fn latency(&self) -> Duration {
        self.faults.latency
    }

    /// One draw per request, in arrival order: the same seed and the same request sequence
    /// give the same faults.
    pub(crate) fn draw(&self, web_identity: bool) -> Option<Fault> {
        let f = &self.faults;
        if f.throttling == 0.0 && f.server_error == 0.0 && f.idp_communication_error == 0.0 {
            return None;
        }
        let x = self
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .f64();
        if x < f.throttling {
            Some(Fault::Throttling)
        } else if x < f.throttling + f.server_error {
            Some(Fault::ServerError)
        } else if web_identity && x < f.throttling + f.server_error + f.idp_communication_error {
            Some(Fault::IdpCommunicationError)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_hold_and_the_seed_repeats() {
        let faults = Faults::seeded(42)
            .throttling(0.1)
            .unwrap()
            .server_error(0.05)
            .unwrap()
            .idp_communication_error(0.2)
            .unwrap();
        let draws = |n| {
            let injector = Injector::new(faults.clone());
            (0..n).map(|_| injector.draw(true)).collect::<Vec<_>>()
        };
        let a = draws(10_000);
        assert_eq!(a, draws(10_000));
        let count = |f| a.iter().filter(|d| **d == Some(f)).count();
        // Binomial with n = 10,000: within ±5 standard deviations.
        assert!(
            (800..=1200).contains(&count(Fault::Throttling)),
            "{}",
            count(Fault::Throttling)
        );
        assert!((390..=610).contains(&count(Fault::ServerError)));
        assert!((1800..=2200).contains(&count(Fault::IdpCommunicationError)));
        // Not for requests the IdP has no part in.
        let injector = Injector::new(faults);
        assert!((0..1000).all(|_| injector.draw(false) != Some(Fault::IdpCommunicationError)));
    }
}
