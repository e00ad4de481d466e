//! The ServiceAccounts of a cluster as IRSA's servers need them (feature `service-accounts`,
//! layer 3): a kube-rs metadata watcher keeps, per ServiceAccount, only its name, namespace and
//! the annotations under the prefix, already read; a bounded GET answers a miss (a
//! ServiceAccount created just before its pod, aws/amazon-eks-pod-identity-webhook#174).
//! The webhook server (`irsa webhook serve`) patches pods from it; the agent (`irsa agent serve`)
//! maps ServiceAccounts to roles with it.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use irsa::service_accounts::{Lookup, ServiceAccountCache};
//!
//! let cache = ServiceAccountCache::new(kube::Client::try_default().await?, "eks.amazonaws.com", Duration::from_millis(100));
//! let (_stop, stopped) = tokio::sync::watch::channel(false);
//! tokio::spawn(cache.clone().run(Some(Duration::from_secs(600)), stopped));
//! let (lookup, settings) = cache.lookup("shop", "cart").await;
//! if let (Lookup::Cached | Lookup::Fetched, Some(settings)) = (lookup, settings) {
//!     println!("role: {:?}", settings.role_arn());
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use futures_util::StreamExt as _;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::webhook::ServiceAccountAnnotations;

type Names = HashMap<Box<str>, Entry, foldhash::fast::RandomState>;
type Namespaces = HashMap<Box<str>, Names, foldhash::fast::RandomState>;

/// ServiceAccounts the apiserver said do not exist, with when it said so.
type Absent = HashMap<(Box<str>, Box<str>), Instant, foldhash::fast::RandomState>;

/// At most this many absent ServiceAccounts are remembered.
const MAX_ABSENT: usize = 4_096;

/// What is kept of one ServiceAccount: nothing when it has no annotation under the prefix
/// (most of a cluster's), else its settings, read once.
type Entry = Option<Box<ServiceAccountAnnotations>>;

/// How a ServiceAccount was found for an admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lookup {
    /// In the cache.
    Cached,
    /// Not in the cache; the apiserver had it.
    Fetched,
    /// Neither the cache nor the apiserver has it (or the apiserver said so recently: see
    /// [`ServiceAccountCache::remember_absent`]).
    Missing,
    /// Not in the cache, and the apiserver did not answer within the grace period.
    TimedOut,
    /// Not in the cache, and the apiserver answered with an error.
    Failed,
}

impl Lookup {
    /// The metric label: `cached`, `fetched`, `missing`, `timed_out` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lookup::Cached => "cached",
            Lookup::Fetched => "fetched",
            Lookup::Missing => "missing",
            Lookup::TimedOut => "timed_out",
            Lookup::Failed => "failed",
        }
    }
}

/// The ServiceAccounts of the cluster as the webhook needs them, kept current by a watcher.
///
/// Cloning shares the cache. [`run`](ServiceAccountCache::run) keeps it current;
/// [`lookup`](ServiceAccountCache::lookup) is what every admission (and every agent request)
/// does.
#[derive(Clone)]
pub struct ServiceAccountCache {
    shared: Arc<Shared>,
}

struct Shared {
    client: kube::Client,
    prefix: String,
    grace: Duration,
    map: RwLock<Namespaces>,
    synced: AtomicBool,
    /// Relists so far (the first list included).
    lists: AtomicU64,
    entries: AtomicU64,
    /// How long an absent ServiceAccount is answered from memory, in milliseconds (0: never).
    absent_ttl_ms: AtomicU64,
    absent: Mutex<Absent>,
}

impl std::fmt::Debug for ServiceAccountCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountCache")
            .field("prefix", &self.shared.prefix)
            .field("synced", &self.is_synced())
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

impl ServiceAccountCache {
    /// An empty cache for ServiceAccounts' annotations under `prefix`; a miss waits at most
    /// `grace` for the apiserver. [`run`](Self::run) fills it.
    pub fn new(client: kube::Client, prefix: impl Into<String>, grace: Duration) -> Self {
        ServiceAccountCache {
            shared: Arc::new(Shared {
                client,
                prefix: prefix.into(),
                grace,
                map: RwLock::new(Namespaces::default()),
                synced: AtomicBool::new(false),
                lists: AtomicU64::new(0),
                entries: AtomicU64::new(0),
                absent_ttl_ms: AtomicU64::new(0),
                absent: Mutex::new(Absent::default()),
            }),
        }
    }

    /// The annotation prefix it reads.
    pub fn prefix(&self) -> &str {
        &self.shared.prefix
    }

    /// How long a miss waits for the apiserver.
    pub fn grace(&self) -> Duration {
        self.shared.grace
    }

    /// Remembers for `ttl` that the apiserver said a ServiceAccount does not exist: lookups of
    /// it within that time answer [`Lookup::Missing`] without another GET (default zero: every
    /// miss asks). A watch event or relist that brings the ServiceAccount ends this at once,
    /// since the cache is asked first. At most 4 096 names are remembered.
    ///
    /// The agent sets this: a pod of a deleted ServiceAccount keeps a valid token until it
    /// expires, and its SDK's retries would otherwise each cost the apiserver a GET.
    pub fn remember_absent(&self, ttl: Duration) {
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        self.shared.absent_ttl_ms.store(ms, Ordering::Relaxed);
    }

    /// Whether the first full list is in.
    pub fn is_synced(&self) -> bool {
        self.shared.synced.load(Ordering::Acquire)
    }

    /// How many ServiceAccounts are cached.
    pub fn len(&self) -> usize {
        usize::try_from(self.shared.entries.load(Ordering::Relaxed)).unwrap_or(usize::MAX)
    }

    /// Whether no ServiceAccount is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many full lists the watcher has made (the first, then one per relist: `410 Gone`,
    /// a broken watch, a resync).
    pub fn lists(&self) -> u64 {
        self.shared.lists.load(Ordering::Relaxed)
    }

    /// The settings of ServiceAccount `namespace/name`: from the cache, else from one GET
    /// bounded by the grace period. `None` settings when it is missing or cannot be read in
    /// time (the caller admits the pod unchanged, or refuses it when it fails closed).
    pub async fn lookup(
        &self,
        namespace: &str,
        name: &str,
    ) -> (Lookup, Option<ServiceAccountAnnotations>) {
        if let Some(entry) = self.cached(namespace, name) {
            return (Lookup::Cached, Some(entry.map(|e| *e).unwrap_or_default()));
        }
        if self.shared.grace.is_zero() || self.known_absent(namespace, name) {
            return (Lookup::Missing, None);
        }
        let api: Api<ServiceAccount> = Api::namespaced(self.shared.client.clone(), namespace);
        match tokio::time::timeout(self.shared.grace, api.get_metadata_opt(name)).await {
            Ok(Ok(Some(found))) => {
                // Kept until the watch reports it (or a relist replaces the map): the next
                // request for it is a hit, not another GET.
                self.apply(&found.metadata);
                let settings = self.entry(&found.metadata);
                (
                    Lookup::Fetched,
                    Some(settings.map(|e| *e).unwrap_or_default()),
                )
            }
            Ok(Ok(None)) => {
                self.note_absent(namespace, name);
                (Lookup::Missing, None)
            }
            Ok(Err(error)) => {
                tracing::warn!(%namespace, service_account = %name, error = %crate::ErrorChain(&error), "cannot read the ServiceAccount");
                (Lookup::Failed, None)
            }
            Err(_) => (Lookup::TimedOut, None),
        }
    }

    fn cached(&self, namespace: &str, name: &str) -> Option<Entry> {
        let map = self
            .shared
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(namespace)?.get(name).cloned()
    }

    fn absent_ttl(&self) -> Duration {
        Duration::from_millis(self.shared.absent_ttl_ms.load(Ordering::Relaxed))
    }

    fn known_absent(&self, namespace: &str, name: &str) -> bool {
        let ttl = self.absent_ttl();
        if ttl.is_zero() {
            return false;
        }
        let absent = self
            .shared
            .absent
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        absent
            .get(&(Box::from(namespace), Box::from(name)))
            .is_some_and(|at| at.elapsed() < ttl)
    }

    fn note_absent(&self, namespace: &str, name: &str) {
        let ttl = self.absent_ttl();
        if ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut absent = self
            .shared
            .absent
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if absent.len() >= MAX_ABSENT {
            absent.retain(|_, at| now.duration_since(*at) < ttl);
            if absent.len() >= MAX_ABSENT {
                absent.clear();
            }
        }
        absent.insert((namespace.into(), name.into()), now);
    }

    fn entry(&self, meta: &ObjectMeta) -> Entry {
        let annotations = meta.annotations.iter().flatten();
        let settings = ServiceAccountAnnotations::from_annotations(
            annotations.map(|(k, v)| (k.as_str(), v.as_str())),
            &self.shared.prefix,
        );
        (settings != ServiceAccountAnnotations::default()).then(|| Box::new(settings))
    }

    fn key(meta: &ObjectMeta) -> Option<(&str, &str)> {
        Some((meta.namespace.as_deref()?, meta.name.as_deref()?))
    }

    fn count(&self, map: &Namespaces) {
        let n: usize = map.values().map(HashMap::len).sum();
        self.shared.entries.store(n as u64, Ordering::Relaxed);
    }

    fn apply(&self, meta: &ObjectMeta) {
        let Some((namespace, name)) = Self::key(meta) else {
            return;
        };
        let entry = self.entry(meta);
        let mut map = self
            .shared
            .map
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let names = map.entry(namespace.into()).or_default();
        if names.insert(name.into(), entry).is_none() {
            self.shared.entries.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn delete(&self, meta: &ObjectMeta) {
        let Some((namespace, name)) = Self::key(meta) else {
            return;
        };
        let mut map = self
            .shared
            .map
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(names) = map.get_mut(namespace) {
            if names.remove(name).is_some() {
                self.shared.entries.fetch_sub(1, Ordering::Relaxed);
            }
            if names.is_empty() {
                map.remove(namespace);
            }
        }
    }

    /// Keeps the cache current until `stop` turns true: a metadata-only watch over every
    /// namespace's ServiceAccounts, relisted (into a fresh map, swapped in whole) when the
    /// watch expires (`410 Gone`), breaks, or every `resync` when one is given. Errors are
    /// retried with kube-rs's default backoff.
    pub async fn run(self, resync: Option<Duration>, mut stop: watch::Receiver<bool>) {
        // `PartialObjectMeta`: lists and watches ask for metadata only.
        let api: Api<PartialObjectMeta<ServiceAccount>> = Api::all(self.shared.client.clone());
        loop {
            // Lists served from the apiserver's watch cache (resourceVersion="0", as client-go's
            // informers list), not from etcd: a relist every resync period costs the apiserver
            // memory reads only.
            let config = watcher::Config::default().page_size(500).any_semantic();
            let mut events = watcher::watcher(api.clone(), config)
                .default_backoff()
                .boxed();
            let resync_at = async {
                match resync {
                    Some(period) => tokio::time::sleep(period).await,
                    None => std::future::pending().await,
                }
            };
            tokio::pin!(resync_at);
            let mut fresh: Option<Namespaces> = None;
            loop {
                let event = tokio::select! {
                    event = events.next() => event,
                    () = &mut resync_at => break,
                    _ = stop.changed() => return,
                };
                let Some(event) = event else { return };
                match event {
                    Ok(Event::Init) => fresh = Some(Namespaces::default()),
                    Ok(Event::InitApply(object)) => {
                        let meta = &object.metadata;
                        if let (Some(map), Some((namespace, name))) = (&mut fresh, Self::key(meta))
                        {
                            let entry = self.entry(meta);
                            map.entry(namespace.into())
                                .or_default()
                                .insert(name.into(), entry);
                        }
                    }
                    Ok(Event::InitDone) => {
                        if let Some(map) = fresh.take() {
                            self.count(&map);
                            *self
                                .shared
                                .map
                                .write()
                                .unwrap_or_else(PoisonError::into_inner) = map;
                        }
                        self.shared.lists.fetch_add(1, Ordering::Relaxed);
                        if !self.shared.synced.swap(true, Ordering::AcqRel) {
                            tracing::info!(
                                service_accounts = self.len(),
                                "ServiceAccount cache synced"
                            );
                        }
                    }
                    Ok(Event::Apply(object)) => self.apply(&object.metadata),
                    Ok(Event::Delete(object)) => self.delete(&object.metadata),
                    Err(error) => {
                        tracing::warn!(error = %crate::ErrorChain(&error), "the ServiceAccount watch failed; retrying");
                    }
                }
            }
            tracing::debug!("resync: relisting ServiceAccounts");
        }
    }
}
