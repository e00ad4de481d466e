//! The provider's builder, in aws-config's idiom.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep, TokioSleep};
use aws_smithy_async::time::{SharedTimeSource, SystemTimeSource, TimeSource};
use tokio::sync::{Notify, watch};

use super::state::{Shared, Snapshot};
use super::{
    DEFAULT_LOAD_TIMEOUT, Handle, Setup, WebIdentityProvider, coarse, config, sts, token_file,
};
use crate::env::{Environment, Fs, ProcessEnvironment, RealFs};

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
    fs: Option<Arc<dyn Fs>>,
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
    #[must_use]
    pub fn role_arn(mut self, role_arn: impl Into<String>) -> Self {
        self.overrides.role_arn = Some(role_arn.into());
        self
    }

    /// The projected token file (overrides `AWS_WEB_IDENTITY_TOKEN_FILE` and the profile).
    #[must_use]
    pub fn token_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.overrides.token_file = Some(path.into());
        self
    }

    /// The `RoleSessionName` (default: `irsa-` and `HOSTNAME`, i.e. the pod's name).
    #[must_use]
    pub fn session_name(mut self, name: impl Into<String>) -> Self {
        self.overrides.session_name = Some(name.into());
        self
    }

    /// `DurationSeconds`: 900 s to 12 h, at most the role's MaxSessionDuration (STS's default
    /// is one hour).
    #[must_use]
    pub fn duration(mut self, duration: Duration) -> Self {
        self.overrides.duration = Some(duration);
        self
    }

    /// An inline session policy, to narrow the role's permissions.
    #[must_use]
    pub fn policy(mut self, policy: impl Into<String>) -> Self {
        self.policy.policy = Some(policy.into());
        self
    }

    /// A managed session policy ARN (up to 10).
    #[must_use]
    pub fn policy_arn(mut self, arn: impl Into<String>) -> Self {
        self.policy.policy_arns.push(arn.into());
        self
    }

    /// The STS region (overrides `AWS_REGION`); its regional endpoint is used.
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.overrides.region = Some(region.into());
        self
    }

    /// An STS endpoint (overrides `AWS_ENDPOINT_URL_STS`), e.g. a local STS-compatible server.
    #[must_use]
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.overrides.endpoint_url = Some(url.into());
        self
    }

    /// The shared config profile to read (default: `AWS_PROFILE`, else `default`).
    #[must_use]
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.overrides.profile = Some(name.into());
        self
    }

    /// The shared config file (default: `AWS_CONFIG_FILE`, else `~/.aws/config`).
    #[must_use]
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.overrides.config_file = Some(path.into());
        self
    }

    /// Where environment variables come from (default: the process environment).
    #[must_use]
    pub fn env(mut self, env: impl Environment + 'static) -> Self {
        self.env = Some(Arc::new(env));
        self
    }

    /// Where the token file and the shared config files are read (default: the disk).
    #[must_use]
    pub fn fs(mut self, fs: impl Fs + 'static) -> Self {
        self.fs = Some(Arc::new(fs));
        self
    }

    /// The clock (default: the system clock).
    #[must_use]
    pub fn time_source(mut self, time: impl TimeSource + 'static) -> Self {
        self.time = Some(SharedTimeSource::new(time));
        self
    }

    /// How to sleep (default: tokio's).
    #[must_use]
    pub fn sleep_impl(mut self, sleep: impl AsyncSleep + 'static) -> Self {
        self.sleep = Some(SharedAsyncSleep::new(sleep));
        self
    }

    /// How long a caller waits when no credentials are usable (default 20 s).
    #[must_use]
    pub fn load_timeout(mut self, timeout: Duration) -> Self {
        self.load_timeout = Some(timeout);
        self
    }

    /// How long one STS attempt may take (default 5 s).
    #[must_use]
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// Seeds the jitter, for reproducible tests.
    #[must_use]
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
        let fs = self.fs.unwrap_or_else(|| Arc::new(RealFs));
        let read_file = |path: &std::path::Path| {
            // Shared config files are small; a larger one is not a config file.
            let bytes = fs.read(path, config::MAX_PROFILE_BYTES).ok()?;
            (bytes.len() as u64 <= config::MAX_PROFILE_BYTES)
                .then(|| String::from_utf8(bytes).ok())?
        };
        let attempt_timeout = self.attempt_timeout.unwrap_or(Duration::from_secs(5));
        let setup = config::resolve(env.as_ref(), &self.overrides, &read_file).map(|settings| {
            settings.map(|settings| Setup {
                client: sts::client(&settings, time.clone(), attempt_timeout),
                token: token_file::TokenFile::new(settings.token_file.clone(), fs.clone()),
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
            refreshing: AtomicBool::new(false),
            coarse_tick,
            last_invalidation: Mutex::new(None),
            server_date: sts::ServerDate::default(),
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
