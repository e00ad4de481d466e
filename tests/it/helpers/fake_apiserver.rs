//! A fake kube-apiserver for the webhook server's tests: HTTPS on loopback with a CA of its own,
//! reached through a real kubeconfig, serving ServiceAccounts as lists, watches (chunked JSON
//! events with resourceVersions) and GETs, with the faults a real one has: slow lists, stalled
//! GETs, watches that drop, and `410 Gone` for an expired resourceVersion.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// The apiserver's state and its fault switches.
#[derive(Default)]
struct State {
    /// `(namespace, name)` → annotations.
    accounts: Mutex<BTreeMap<(String, String), BTreeMap<String, String>>>,
    version: AtomicU64,
    watchers: Mutex<Vec<mpsc::UnboundedSender<Bytes>>>,
    /// Delay before answering a list.
    list_delay_ms: AtomicU64,
    /// Delay before answering a GET.
    get_delay_ms: AtomicU64,
    /// The next watches answer `410 Gone` (an ERROR event).
    expire_watches: AtomicU64,
    pub(crate) lists: AtomicU64,
    pub(crate) watches: AtomicU64,
    pub(crate) gets: AtomicU64,
}

/// A running fake apiserver.
pub(crate) struct FakeApiserver {
    state: Arc<State>,
    addr: SocketAddr,
    ca_pem: String,
}

impl FakeApiserver {
    /// Serves on a free loopback port.
    pub(crate) async fn start() -> FakeApiserver {
        let (ca_pem, config) = crate::helpers::test_tls("127.0.0.1", false);
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        state.version.store(100, Ordering::SeqCst);
        let serving = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, state) = (acceptor.clone(), serving.clone());
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |request| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(answer(&state, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeApiserver {
            state,
            addr,
            ca_pem: String::from_utf8(ca_pem).unwrap(),
        }
    }

    /// A kubeconfig that reaches this apiserver, written into `dir`.
    pub(crate) fn kubeconfig(&self, dir: &Path) -> PathBuf {
        use base64::Engine as _;
        let ca = base64::engine::general_purpose::STANDARD.encode(&self.ca_pem);
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster:\n    server: https://127.0.0.1:{port}\n    certificate-authority-data: {ca}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: webhook\nusers:\n- name: webhook\n  user:\n    token: not-a-real-token\n",
            port = self.addr.port()
        );
        let path = dir.join("kubeconfig");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Creates (or changes) a ServiceAccount; watchers are told unless `hidden` (a watch that
    /// lags: only a list or a GET sees it).
    pub(crate) fn put(
        &self,
        namespace: &str,
        name: &str,
        annotations: &[(&str, &str)],
        hidden: bool,
    ) {
        let annotations: BTreeMap<String, String> = annotations
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let version = self.state.version.fetch_add(1, Ordering::SeqCst) + 1;
        let key = (namespace.to_owned(), name.to_owned());
        let existed = self
            .state
            .accounts
            .lock()
            .unwrap()
            .insert(key.clone(), annotations.clone())
            .is_some();
        if !hidden {
            let kind = if existed { "MODIFIED" } else { "ADDED" };
            let event = json!({"type": kind, "object": object(&key, &annotations, version)});
            self.broadcast(&event);
        }
    }

    /// Deletes a ServiceAccount and tells the watchers.
    pub(crate) fn delete(&self, namespace: &str, name: &str) {
        let key = (namespace.to_owned(), name.to_owned());
        let version = self.state.version.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(annotations) = self.state.accounts.lock().unwrap().remove(&key) {
            let event = json!({"type": "DELETED", "object": object(&key, &annotations, version)});
            self.broadcast(&event);
        }
    }

    fn broadcast(&self, event: &Value) {
        let line = Bytes::from(format!("{event}\n"));
        self.state
            .watchers
            .lock()
            .unwrap()
            .retain(|watcher| watcher.send(line.clone()).is_ok());
    }

    /// Ends every open watch; with `expire`, the next watch is answered `410 Gone`, so the
    /// client must list again.
    pub(crate) fn drop_watches(&self, expire: bool) {
        if expire {
            self.state.expire_watches.store(1, Ordering::SeqCst);
        }
        self.state.watchers.lock().unwrap().clear();
    }

    /// Delays lists by `delay`.
    pub(crate) fn set_list_delay(&self, delay: Duration) {
        self.state
            .list_delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Delays GETs by `delay` (a stalled apiserver).
    pub(crate) fn set_get_delay(&self, delay: Duration) {
        self.state
            .get_delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Lists served so far.
    pub(crate) fn lists(&self) -> u64 {
        self.state.lists.load(Ordering::SeqCst)
    }

    /// GETs of one ServiceAccount served so far.
    pub(crate) fn gets(&self) -> u64 {
        self.state.gets.load(Ordering::SeqCst)
    }
}

fn object(key: &(String, String), annotations: &BTreeMap<String, String>, version: u64) -> Value {
    json!({
        "apiVersion": "meta.k8s.io/v1",
        "kind": "PartialObjectMetadata",
        "metadata": {
            "name": key.1, "namespace": key.0, "uid": format!("uid-{}-{}", key.0, key.1),
            "resourceVersion": version.to_string(), "annotations": annotations,
        },
    })
}

type Body = BoxBody<Bytes, Infallible>;

fn full(status: u16, body: &Value) -> hyper::Response<Body> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .unwrap()
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Status", "status": "Failure", "message": message, "reason": reason, "code": code})
}

async fn answer(
    state: &Arc<State>,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Body> {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["api", "v1", "serviceaccounts"] if query.contains("watch=true") => {
            state.watches.fetch_add(1, Ordering::SeqCst);
            let (sender, receiver) = mpsc::unbounded_channel::<Bytes>();
            if state.expire_watches.swap(0, Ordering::SeqCst) == 1 {
                let gone = status(410, "Expired", "too old resource version");
                let _ = sender.send(Bytes::from(format!(
                    "{}\n",
                    json!({"type": "ERROR", "object": gone})
                )));
                drop(sender);
            } else {
                state.watchers.lock().unwrap().push(sender);
            }
            let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
                let line = receiver.recv().await?;
                Some((Ok::<_, Infallible>(Frame::data(line)), receiver))
            });
            hyper::Response::builder()
                .header("content-type", "application/json")
                .body(StreamBody::new(stream).boxed())
                .unwrap()
        }
        ["api", "v1", "serviceaccounts"] => {
            state.lists.fetch_add(1, Ordering::SeqCst);
            let delay = state.list_delay_ms.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let version = state.version.load(Ordering::SeqCst);
            let items: Vec<Value> = state
                .accounts
                .lock()
                .unwrap()
                .iter()
                .map(|(key, annotations)| object(key, annotations, version))
                .collect();
            full(
                200,
                &json!({
                    "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList",
                    "metadata": {"resourceVersion": version.to_string()},
                    "items": items,
                }),
            )
        }
        [
            "api",
            "v1",
            "namespaces",
            namespace,
            "serviceaccounts",
            name,
        ] => {
            state.gets.fetch_add(1, Ordering::SeqCst);
            let delay = state.get_delay_ms.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let key = ((*namespace).to_owned(), (*name).to_owned());
            let found = state.accounts.lock().unwrap().get(&key).cloned();
            match found {
                Some(annotations) => {
                    let version = state.version.load(Ordering::SeqCst);
                    full(200, &object(&key, &annotations, version))
                }
                None => full(
                    404,
                    &status(
                        404,
                        "NotFound",
                        &format!("serviceaccounts \"{name}\" not found"),
                    ),
                ),
            }
        }
        _ => full(
            404,
            &status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        ),
    }
}
