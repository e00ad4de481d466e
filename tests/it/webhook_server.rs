//! `irsa webhook serve`, the real binary, against a fake apiserver over HTTPS reached through a
//! real kubeconfig: the cache, the grace-period GET, the budget, relists, readiness, certificate
//! rotation by symlink swap, metrics, malformed input and the drain on SIGTERM.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use serde_json::{Value, json};

use crate::helpers::fake_apiserver::FakeApiserver;

const ROLE: &str = "arn:aws:iam::111122223333:role/s3-reader";
const SERVER_NAME: &str = "irsa-webhook.irsa-webhook.svc";

/// The kubelet's layout of a mounted Secret: `tls.crt -> ..data/tls.crt`, `..data -> ..N`.
fn mount_secret(dir: &Path, version: &str, from: &Path) {
    let data = dir.join(version);
    std::fs::create_dir_all(&data).unwrap();
    for file in ["ca.crt", "tls.crt", "tls.key"] {
        std::fs::copy(from.join(file), data.join(file)).unwrap();
    }
    let link = dir.join("..data_tmp");
    std::os::unix::fs::symlink(version, &link).unwrap();
    std::fs::rename(&link, dir.join("..data")).unwrap();
    for file in ["ca.crt", "tls.crt", "tls.key"] {
        let _ = std::os::unix::fs::symlink(format!("..data/{file}"), dir.join(file));
    }
}

fn make_certs(dir: &Path) {
    let output = Command::new(env!("CARGO_BIN_EXE_irsa"))
        .args(["webhook", "certs", "--out-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

struct Webhook {
    child: std::sync::Mutex<Child>,
    addr: String,
    metrics: String,
    ca: Vec<u8>,
    stderr: PathBuf,
}

impl Webhook {
    fn start(kubeconfig: &Path, certs: &Path, extra: &[&str]) -> Webhook {
        let stderr = certs.parent().unwrap().join("webhook.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_irsa"))
            .args([
                "webhook",
                "serve",
                "--bind-address",
                "127.0.0.1",
                "--port",
                "0",
            ])
            .args(["--metrics-port", "0", "--kubeconfig"])
            .arg(kubeconfig)
            .arg("--tls-cert")
            .arg(certs.join("tls.crt"))
            .arg("--tls-key")
            .arg(certs.join("tls.key"))
            .args(["--file-check-interval", "100ms"])
            // No delay between readiness false and closing, unless the test asks for one.
            .args(if extra.contains(&"--shutdown-delay") {
                &[][..]
            } else {
                &["--shutdown-delay", "0s"][..]
            })
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // listening on https://127.0.0.1:P, metrics on http://127.0.0.1:Q
        let (Some(addr), Some(metrics)) = (
            line.split("https://")
                .nth(1)
                .and_then(|rest| rest.split(',').next()),
            line.split("http://").nth(1).map(str::trim),
        ) else {
            panic!("{line:?}: {}", std::fs::read_to_string(&stderr).unwrap());
        };
        Webhook {
            addr: addr.to_owned(),
            metrics: metrics.to_owned(),
            ca: std::fs::read(certs.join("ca.crt")).unwrap(),
            child: std::sync::Mutex::new(child),
            stderr,
        }
    }

    fn tls(&self) -> tokio_rustls::TlsConnector {
        use rustls::pki_types::pem::PemObject as _;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&self.ca) {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }

    /// One request over a new HTTPS connection: the status, the body and the leaf certificate
    /// the server presented.
    async fn send(&self, method: &str, path: &str, body: Vec<u8>) -> (u16, String, Vec<u8>) {
        let tcp = tokio::net::TcpStream::connect(&self.addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from(SERVER_NAME).unwrap();
        let tls = self.tls().connect(name, tcp).await.unwrap();
        let leaf = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .unwrap();
        tokio::spawn(connection);
        let request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", SERVER_NAME)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned(), leaf)
    }

    /// Headers announcing a body of `length` bytes, and no body: the status line of the answer.
    async fn announce(&self, length: usize) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let tcp = tokio::net::TcpStream::connect(&self.addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from(SERVER_NAME).unwrap();
        let mut tls = self.tls().connect(name, tcp).await.unwrap();
        let head = format!(
            "POST /mutate HTTP/1.1\r\nhost: {SERVER_NAME}\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n"
        );
        tls.write_all(head.as_bytes()).await.unwrap();
        let mut answer = vec![0; 64];
        let n = tls.read(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer[..n])
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    async fn review(&self, path: &str, review: &Value) -> Value {
        let (status, body, _) = self
            .send("POST", path, review.to_string().into_bytes())
            .await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    async fn get_plain(&self, path: &str) -> (u16, String) {
        let tcp = tokio::net::TcpStream::connect(&self.metrics).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
                .await
                .unwrap();
        tokio::spawn(connection);
        let request = hyper::Request::get(path)
            .header("host", "metrics")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// The metrics, parsed from the text format: `name{labels}` → value.
    async fn metrics(&self) -> BTreeMap<String, f64> {
        let (status, text) = self.get_plain("/metrics").await;
        assert_eq!(status, 200);
        text.lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| {
                let (name, value) = line.rsplit_once(' ').unwrap();
                (name.to_owned(), value.parse::<f64>().unwrap())
            })
            .collect()
    }

    async fn wait_until(&self, what: &str, check: impl AsyncFn(&Webhook) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !check(self).await {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn review(uid: &str, namespace: &str, pod: &Value) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": namespace,
            "operation": "CREATE",
            "object": pod,
        },
    })
}

fn pod(name: &str, service_account: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"serviceAccountName": service_account,
                 "containers": [{"name": "app", "image": "busybox"}]},
    })
}

/// The patch of a review's response, decoded; `None` when the pod is admitted unchanged.
fn patch(response: &Value) -> Option<Vec<Value>> {
    use base64::Engine as _;
    let patch = response["response"]["patch"].as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(patch)
        .unwrap();
    Some(serde_json::from_slice(&bytes).unwrap())
}

fn env_value(ops: &[Value], name: &str) -> Option<String> {
    ops.iter()
        .filter(|op| op["path"].as_str().unwrap().contains("/env"))
        .flat_map(|op| match &op["value"] {
            Value::Array(vars) => vars.clone(),
            var => vec![var.clone()],
        })
        .find(|var| var["name"] == name)
        .map(|var| var["value"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_server_mutates_from_its_cache_and_holds_when_the_apiserver_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let apiserver = FakeApiserver::start().await;
    apiserver.put(
        "apps",
        "reader",
        &[("eks.amazonaws.com/role-arn", ROLE)],
        false,
    );
    apiserver.put("apps", "plain", &[], false);
    apiserver.put(
        "apps",
        "gone",
        &[("eks.amazonaws.com/role-arn", ROLE)],
        false,
    );
    let made = dir.path().join("made");
    make_certs(&made);
    let certs = dir.path().join("certs");
    mount_secret(&certs, "..1", &made);
    // Readiness is false until the first list is in: the list is held for a second.
    apiserver.set_list_delay(Duration::from_millis(1500));
    let webhook = Webhook::start(
        &apiserver.kubeconfig(dir.path()),
        &certs,
        &[
            "--service-account-lookup-grace-period",
            "3s",
            "--admission-budget",
            "1500ms",
            "--aws-default-region",
            "eu-west-1",
            "--token-expiration",
            "100",
        ],
    );
    let (status, body) = webhook.get_plain("/readyz").await;
    assert_eq!(
        (status, body.as_str()),
        (503, "the ServiceAccount cache is not synced yet\n")
    );
    let (status, _, _) = webhook.send("GET", "/healthz", Vec::new()).await;
    assert_eq!(status, 200, "alive while not ready");
    webhook
        .wait_until("ready", async |w| w.get_plain("/readyz").await.0 == 200)
        .await;
    apiserver.set_list_delay(Duration::ZERO);
    let (status, _, _) = webhook.send("GET", "/readyz", Vec::new()).await;
    assert_eq!(status, 200);

    // From the cache: the patch, and no GET.
    let gets = apiserver.gets();
    let first = webhook
        .review("/mutate", &review("u1", "apps", &pod("web-1", "reader")))
        .await;
    assert_eq!(first["response"]["uid"], "u1");
    assert_eq!(first["response"]["allowed"], true);
    let ops = patch(&first).expect("a patch");
    assert_eq!(env_value(&ops, "AWS_ROLE_ARN").as_deref(), Some(ROLE));
    assert_eq!(env_value(&ops, "AWS_REGION").as_deref(), Some("eu-west-1"));
    assert_eq!(
        apiserver.gets(),
        gets,
        "a cached ServiceAccount costs no GET"
    );

    // admission.k8s.io/v1beta1 is answered in its own version.
    let mut beta = review("u1b", "apps", &pod("web-1b", "reader"));
    beta["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let beta = webhook.review("/mutate", &beta).await;
    assert_eq!(beta["apiVersion"], "admission.k8s.io/v1beta1");
    assert_eq!(beta["response"]["uid"], "u1b");
    assert!(patch(&beta).is_some());

    // Reinvocation (IfNeeded): the patched pod sent again is left as it is.
    let mut patched = pod("web-1", "reader");
    let operations: json_patch::Patch = serde_json::from_value(Value::Array(ops)).unwrap();
    json_patch::patch(&mut patched, &operations).unwrap();
    let again = webhook
        .review("/mutate", &review("u2", "apps", &patched))
        .await;
    assert_eq!(again["response"]["allowed"], true);
    assert_eq!(patch(&again), None, "{again}");

    // Created 200 ms before its pod and not yet seen by the watch: one GET finds it.
    apiserver.put(
        "apps",
        "fresh",
        &[("eks.amazonaws.com/role-arn", ROLE)],
        true,
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fresh = webhook
        .review("/mutate", &review("u3", "apps", &pod("web-3", "fresh")))
        .await;
    assert_eq!(
        env_value(&patch(&fresh).unwrap(), "AWS_ROLE_ARN").as_deref(),
        Some(ROLE)
    );
    assert_eq!(apiserver.gets(), gets + 1);

    // A ServiceAccount nobody has: admitted unchanged, counted as missing.
    let missing = webhook
        .review("/mutate", &review("u4", "apps", &pod("web-4", "nobody")))
        .await;
    assert_eq!(
        (missing["response"]["allowed"].clone(), patch(&missing)),
        (json!(true), None)
    );

    // The apiserver stalls: the review is answered within the budget, unchanged, with a
    // warning; on the fail-closed path the pod is refused instead.
    apiserver.set_get_delay(Duration::from_secs(30));
    let started = Instant::now();
    let stalled = webhook
        .review("/mutate", &review("u5", "apps", &pod("web-5", "late")))
        .await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(2500),
        "answered after {took:?}"
    );
    assert_eq!(stalled["response"]["allowed"], true);
    assert_eq!(patch(&stalled), None);
    let warning = stalled["response"]["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("ServiceAccount apps/late not read within 1.5s"),
        "{warning}"
    );
    let refused = webhook
        .review(
            "/mutate-fail-closed",
            &review("u6", "apps", &pod("web-6", "late")),
        )
        .await;
    assert_eq!(refused["response"]["allowed"], false);
    apiserver.set_get_delay(Duration::ZERO);
    let no_role = webhook
        .review(
            "/mutate-fail-closed",
            &review("u7", "apps", &pod("web-7", "plain")),
        )
        .await;
    assert_eq!(no_role["response"]["allowed"], false);
    let message = no_role["response"]["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("ServiceAccount apps/plain has no eks.amazonaws.com/role-arn annotation"),
        "{message}"
    );
    let unknown = webhook
        .review(
            "/mutate-fail-closed",
            &review("u7b", "apps", &pod("web-7b", "nobody")),
        )
        .await;
    let message = unknown["response"]["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("ServiceAccount apps/nobody does not exist"),
        "{message}"
    );
    let required = webhook
        .review(
            "/mutate-fail-closed",
            &review("u7c", "apps", &pod("web-7c", "reader")),
        )
        .await;
    assert_eq!(
        env_value(&patch(&required).unwrap(), "AWS_ROLE_ARN").as_deref(),
        Some(ROLE)
    );

    // The watch drops and its resourceVersion expires (410 Gone): the webhook lists again and
    // sees what changed meanwhile.
    let lists = apiserver.lists();
    apiserver.drop_watches(true);
    apiserver.put(
        "apps",
        "after-relist",
        &[("eks.amazonaws.com/role-arn", ROLE)],
        true,
    );
    // Deleted while nobody watches: only the relist can tell.
    apiserver.delete("apps", "gone");
    webhook
        .wait_until("relisted", async |_| apiserver.lists() > lists)
        .await;
    webhook
        .wait_until("the relist is in the cache", async |w| {
            w.metrics().await.get("irsa_webhook_cache_lists").copied() >= Some(2.0)
        })
        .await;
    let gets = apiserver.gets();
    let relisted = webhook
        .review(
            "/mutate",
            &review("u8", "apps", &pod("web-8", "after-relist")),
        )
        .await;
    assert!(patch(&relisted).is_some());
    assert_eq!(
        apiserver.gets(),
        gets,
        "the relisted ServiceAccount is cached"
    );
    let gone = webhook
        .review("/mutate", &review("u8b", "apps", &pod("web-8b", "gone")))
        .await;
    assert_eq!(
        patch(&gone),
        None,
        "a ServiceAccount deleted during the outage is not served"
    );
    // A change the new watch delivers.
    apiserver.put(
        "apps",
        "watched",
        &[("eks.amazonaws.com/role-arn", ROLE)],
        false,
    );
    webhook
        .wait_until("the watch delivers", async |w| {
            w.metrics()
                .await
                .get("irsa_webhook_cache_service_accounts")
                .copied()
                == Some(5.0)
        })
        .await;

    // Malformed input: a clear denial or a 4xx, never a 500, and the server still serves.
    let (status, body, _) = webhook.send("POST", "/mutate", b"{".to_vec()).await;
    assert_eq!(status, 200);
    let denial: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(denial["response"]["allowed"], false);
    assert!(
        denial["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    let mut not_a_pod = review("u9", "apps", &json!({"kind": "Secret"}));
    not_a_pod["request"]["kind"] = json!({"group": "", "version": "v1", "kind": "Secret"});
    let denied = webhook.review("/mutate", &not_a_pod).await;
    assert_eq!(denied["response"]["uid"], "u9");
    assert_eq!(
        denied["response"]["status"]["message"],
        "the admitted object is a Secret, not a Pod; register the webhook for pods only"
    );
    assert_eq!(
        webhook.announce(4 * 1024 * 1024).await,
        "HTTP/1.1 413 Payload Too Large"
    );
    let (status, _, _) = webhook.send("GET", "/mutate", Vec::new()).await;
    assert_eq!(status, 405);

    // The certificate is rotated by the kubelet's symlink swap: served without a restart; a
    // broken pair is refused and the current one kept.
    let (_, _, before) = webhook.send("GET", "/healthz", Vec::new()).await;
    let renewed = dir.path().join("renewed");
    make_certs(&renewed);
    // The same CA signs the new serving certificate: `certs` makes both, so trust the new CA.
    mount_secret(&certs, "..2", &renewed);
    let mut webhook = webhook;
    webhook.ca = std::fs::read(renewed.join("ca.crt")).unwrap();
    webhook
        .wait_until("the new certificate is served", async |w| {
            w.metrics()
                .await
                .get("irsa_webhook_certificate_reloads_total")
                .copied()
                == Some(1.0)
        })
        .await;
    let (status, _, after) = webhook.send("GET", "/healthz", Vec::new()).await;
    assert_eq!(status, 200);
    assert_ne!(before, after);
    let broken = dir.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::copy(renewed.join("ca.crt"), broken.join("ca.crt")).unwrap();
    std::fs::copy(made.join("tls.crt"), broken.join("tls.crt")).unwrap();
    std::fs::copy(renewed.join("tls.key"), broken.join("tls.key")).unwrap();
    mount_secret(&certs, "..3", &broken);
    webhook
        .wait_until("the broken pair is refused", async |w| {
            w.metrics()
                .await
                .get("irsa_webhook_certificate_reload_errors_total")
                .copied()
                == Some(1.0)
        })
        .await;
    // Looked at again every 100 ms, the same broken pair is not counted again.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, _, kept) = webhook.send("GET", "/healthz", Vec::new()).await;
    assert_eq!((status, kept), (200, after));

    // The metrics: the Go webhook's names with what happened above.
    let metrics = webhook.metrics().await;
    let value = |name: &str| metrics.get(name).copied().unwrap_or_default();
    assert_eq!(
        value(r#"pod_identity_webhook_pod_count{method="web_identity"}"#),
        5.0
    );
    assert_eq!(value("pod_identity_webhook_missing_sa_count"), 3.0);
    assert_eq!(
        value(r#"http_request_count{code="200",path="/mutate",verb="POST"}"#),
        10.0
    );
    assert_eq!(
        value(r#"http_request_count{code="200",path="/mutate-fail-closed",verb="POST"}"#),
        4.0
    );
    assert_eq!(value("irsa_webhook_budget_overruns_total"), 2.0);
    assert_eq!(value("irsa_webhook_certificate_reloads_total"), 1.0);
    assert_eq!(value("irsa_webhook_certificate_reload_errors_total"), 1.0);
    assert_eq!(
        value(r#"irsa_webhook_lookups_total{outcome="fetched"}"#),
        1.0
    );
    assert_eq!(
        value(r#"irsa_webhook_lookups_total{outcome="missing"}"#),
        3.0
    );
    let build = format!(
        "irsa_webhook_build_info{{version=\"{}\"}}",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(value(&build), 1.0);
    assert!(
        metrics
            .keys()
            .any(|k| k.starts_with("http_request_latencies_bucket{path=\"/mutate\""))
    );
    assert_eq!(value("irsa_webhook_ready"), 1.0);

    // One JSON log line per review, naming it.
    let log = webhook.log();
    let line = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["uid"] == "u1")
        .expect("a log line for u1");
    assert_eq!(
        (
            &line["namespace"],
            &line["pod"],
            &line["service_account"],
            &line["decision"],
            &line["lookup"]
        ),
        (
            &json!("apps"),
            &json!("web-1"),
            &json!("reader"),
            &json!("mutated"),
            &json!("cached")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_turns_readiness_false_and_answers_every_review_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let apiserver = FakeApiserver::start().await;
    let certs = dir.path().join("certs");
    make_certs(&certs);
    let webhook = Arc::new(Webhook::start(
        &apiserver.kubeconfig(dir.path()),
        &certs,
        &[
            "--service-account-lookup-grace-period",
            "5s",
            "--admission-budget",
            "5s",
            "--shutdown-delay",
            "500ms",
        ],
    ));
    webhook
        .wait_until("ready", async |w| w.get_plain("/readyz").await.0 == 200)
        .await;
    // Reviews of an uncached ServiceAccount wait on a slow GET: in flight at SIGTERM.
    apiserver.put(
        "apps",
        "slow",
        &[("eks.amazonaws.com/role-arn", ROLE)],
        true,
    );
    apiserver.set_get_delay(Duration::from_secs(2));
    let in_flight: Vec<_> = (0..8)
        .map(|i| {
            let webhook = webhook.clone();
            tokio::spawn(async move {
                let uid = format!("drain-{i}");
                webhook
                    .review("/mutate", &review(&uid, "apps", &pod(&uid, "slow")))
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = webhook.child.lock().unwrap().id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // Readiness turns false at once; the port still answers during the shutdown delay.
    webhook
        .wait_until("not ready", async |w| {
            w.get_plain("/readyz").await == (503, "draining\n".to_owned())
        })
        .await;
    for review in in_flight {
        let answer = review.await.unwrap();
        assert_eq!(answer["response"]["allowed"], true);
        assert!(patch(&answer).is_some(), "{answer}");
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = webhook.child.lock().unwrap().try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{}", webhook.log());
}

/// ServiceAccounts in the container-credentials file (the Go webhook's format) get EKS Pod
/// Identity's variables for a node-local agent, whatever their role annotation (so do those
/// annotated for it); the file is read
/// again when it changes, and a broken one keeps the previous selection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_container_credentials_selection_wins_and_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let apiserver = FakeApiserver::start().await;
    apiserver.put(
        "shop",
        "cart",
        &[("eks.amazonaws.com/role-arn", ROLE)],
        false,
    );
    apiserver.put("shop", "jobs", &[], false);
    apiserver.put(
        "shop",
        "annotated",
        &[(irsa::webhook::CONTAINER_CREDENTIALS_ANNOTATION, "true")],
        false,
    );
    let certs = dir.path().join("certs");
    make_certs(&certs);
    let selection = dir.path().join("container-credentials.json");
    let select = |pairs: &[(&str, &str)]| {
        let identities: Vec<Value> = pairs
            .iter()
            .map(|(ns, sa)| json!({"namespace": ns, "serviceAccount": sa}))
            .collect();
        let temporary = dir.path().join("selection.tmp");
        std::fs::write(&temporary, json!({"identities": identities}).to_string()).unwrap();
        std::fs::rename(&temporary, &selection).unwrap();
    };
    select(&[("shop", "jobs")]);
    let webhook = Webhook::start(
        &apiserver.kubeconfig(dir.path()),
        &certs,
        &[
            "--watch-container-credentials-config",
            selection.to_str().unwrap(),
            "--container-credentials-full-uri",
            "http://169.254.170.23/v1/credentials",
        ],
    );
    webhook
        .wait_until("ready", async |w| w.get_plain("/readyz").await.0 == 200)
        .await;
    let jobs = webhook
        .review("/mutate", &review("c1", "shop", &pod("job-1", "jobs")))
        .await;
    let ops = patch(&jobs).expect("a patch");
    assert_eq!(
        env_value(&ops, "AWS_CONTAINER_CREDENTIALS_FULL_URI").as_deref(),
        Some("http://169.254.170.23/v1/credentials")
    );
    assert_eq!(
        env_value(&ops, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").as_deref(),
        Some("/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token")
    );
    assert_eq!(env_value(&ops, "AWS_ROLE_ARN"), None);
    let cart = webhook
        .review("/mutate", &review("c2", "shop", &pod("cart-1", "cart")))
        .await;
    assert_eq!(
        env_value(&patch(&cart).unwrap(), "AWS_ROLE_ARN").as_deref(),
        Some(ROLE)
    );
    // Selected by its own annotation, not the file.
    let annotated = webhook
        .review("/mutate", &review("c7", "shop", &pod("a-1", "annotated")))
        .await;
    assert_eq!(
        env_value(
            &patch(&annotated).unwrap(),
            "AWS_CONTAINER_CREDENTIALS_FULL_URI"
        )
        .as_deref(),
        Some("http://169.254.170.23/v1/credentials")
    );
    // Selected for container credentials, a ServiceAccount with no role passes the fail-closed
    // path: the agent maps it.
    let required = webhook
        .review(
            "/mutate-fail-closed",
            &review("c3", "shop", &pod("job-2", "jobs")),
        )
        .await;
    assert_eq!(required["response"]["allowed"], true);
    assert!(patch(&required).is_some());

    select(&[("shop", "cart")]);
    webhook
        .wait_until("the new selection is read", async |w| {
            let cart = w
                .review("/mutate", &review("c4", "shop", &pod("cart-2", "cart")))
                .await;
            env_value(&patch(&cart).unwrap(), "AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
        })
        .await;
    std::fs::write(&selection, r#"{"identities":[{"namespace":"shop"}]}"#).unwrap();
    webhook
        .wait_until("the broken file is refused", async |w| {
            w.metrics()
                .await
                .get("irsa_webhook_container_credentials_reload_errors_total")
                .copied()
                == Some(1.0)
        })
        .await;
    let cart = webhook
        .review("/mutate", &review("c5", "shop", &pod("cart-3", "cart")))
        .await;
    // With the default grace (100 ms), a ServiceAccount the apiserver does not answer for in
    // time: admitted unchanged, the client told why.
    apiserver.set_get_delay(Duration::from_secs(2));
    let late = webhook
        .review("/mutate", &review("c6", "shop", &pod("late-1", "late")))
        .await;
    assert_eq!(
        (late["response"]["allowed"].clone(), patch(&late)),
        (json!(true), None)
    );
    assert_eq!(
        late["response"]["warnings"][0],
        "irsa webhook: ServiceAccount shop/late was not read from the apiserver within 100ms; the pod is admitted without AWS credentials"
    );
    assert!(env_value(&patch(&cart).unwrap(), "AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some());
    let metrics = webhook.metrics().await;
    assert_eq!(
        metrics.get("irsa_webhook_container_credentials_service_accounts"),
        Some(&1.0)
    );
    assert!(
        metrics
            .get(r#"pod_identity_webhook_pod_count{method="container_credentials"}"#)
            .is_some_and(|count| *count >= 4.0)
    );
}

// ---------------------------------------------------------------- manifests

fn manifests(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_irsa"))
        .args(["webhook", "manifests"])
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn objects(yaml: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(yaml)
        .map(|document| serde::Deserialize::deserialize(document).unwrap())
        .collect()
}

/// One set of manifests agrees with itself: one namespace, the certificate names the Service,
/// the Deployment serves its Secret on the Service's target ports as the ServiceAccount the
/// ClusterRole is bound to, the webhook entries route to the server's paths.
fn assert_consistent(objects: &[Value], namespace: &str, tls: &str) {
    let find = |kind: &str| -> &Value {
        let mut found = objects.iter().filter(|o| o["kind"] == kind);
        let object = found.next().unwrap_or_else(|| panic!("no {kind}"));
        assert!(found.next().is_none(), "one {kind}");
        object
    };
    assert_eq!(find("Namespace")["metadata"]["name"], namespace);
    for object in objects {
        let kind = object["kind"].as_str().unwrap();
        if !matches!(
            kind,
            "Namespace" | "ClusterRole" | "ClusterRoleBinding" | "MutatingWebhookConfiguration"
        ) {
            assert_eq!(object["metadata"]["namespace"], namespace, "{kind}");
        }
    }
    let service = find("Service");
    let name = service["metadata"]["name"].as_str().unwrap();
    let host = format!("{name}.{namespace}.svc");
    let deployment = find("Deployment");
    let pod = &deployment["spec"]["template"];
    let secret_name = pod["spec"]["volumes"][0]["secret"]["secretName"]
        .as_str()
        .unwrap();
    let configuration = find("MutatingWebhookConfiguration");
    match tls {
        "cert-manager" => {
            // A CA of its own signs the serving certificate; the caBundle is the CA's.
            fn kind<'a>(
                objects: &'a [Value],
                kind: &'static str,
            ) -> impl Iterator<Item = &'a Value> {
                objects.iter().filter(move |o| o["kind"] == kind)
            }
            let serving = kind(objects, "Certificate")
                .find(|c| c["spec"]["secretName"] == secret_name)
                .expect("the serving Certificate");
            assert_eq!(
                serving["spec"]["dnsNames"],
                json!([
                    name,
                    format!("{name}.{namespace}"),
                    host,
                    format!("{host}.cluster.local")
                ])
            );
            let issuer = kind(objects, "Issuer")
                .find(|i| i["metadata"]["name"] == serving["spec"]["issuerRef"]["name"])
                .expect("the serving certificate's Issuer");
            let ca = kind(objects, "Certificate")
                .find(|c| c["spec"]["secretName"] == issuer["spec"]["ca"]["secretName"])
                .expect("the CA Certificate");
            assert_eq!(ca["spec"]["isCA"], true);
            assert_eq!(
                configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
                format!("{namespace}/{}", ca["metadata"]["name"].as_str().unwrap())
            );
        }
        _ => {
            use base64::Engine as _;
            let secret = find("Secret");
            assert_eq!(secret["metadata"]["name"], secret_name);
            let ca = secret["stringData"]["ca.crt"].as_str().unwrap();
            for webhook in configuration["webhooks"].as_array().unwrap() {
                let bundle = webhook["clientConfig"]["caBundle"].as_str().unwrap();
                let bundle = base64::engine::general_purpose::STANDARD
                    .decode(bundle)
                    .unwrap();
                assert_eq!(bundle, ca.as_bytes());
            }
        }
    }
    let ports: Vec<&Value> = pod["spec"]["containers"][0]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["name"])
        .collect();
    for port in service["spec"]["ports"].as_array().unwrap() {
        assert!(ports.contains(&&port["targetPort"]), "{port}");
    }
    for (key, value) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(&pod["metadata"]["labels"][key], value);
    }
    let account = pod["spec"]["serviceAccountName"].as_str().unwrap();
    assert_eq!(
        find("ClusterRoleBinding")["subjects"][0],
        json!({"kind": "ServiceAccount", "name": account, "namespace": namespace})
    );
    assert_eq!(
        find("ClusterRole")["rules"][0],
        json!({"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get", "list", "watch"]})
    );
    // The container is locked down and runs the server with its ports.
    let container = &pod["spec"]["containers"][0];
    assert_eq!(
        container["securityContext"],
        json!({"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}})
    );
    assert_eq!(pod["spec"]["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        (&container["args"][0], &container["args"][1]),
        (&json!("webhook"), &json!("serve"))
    );
    let webhooks = configuration["webhooks"].as_array().unwrap();
    let policies: Vec<(&Value, &Value)> = webhooks
        .iter()
        .map(|w| (&w["failurePolicy"], &w["clientConfig"]["service"]["path"]))
        .collect();
    assert_eq!(
        policies,
        [
            (&json!("Ignore"), &json!("/mutate")),
            (&json!("Fail"), &json!("/mutate-fail-closed")),
            (&json!("Fail"), &json!("/mutate-fail-closed")),
        ]
    );
    for webhook in webhooks {
        assert_eq!(webhook["clientConfig"]["service"]["name"], name);
        assert_eq!(webhook["clientConfig"]["service"]["namespace"], namespace);
        assert_eq!(webhook["sideEffects"], "None");
        assert_eq!(webhook["reinvocationPolicy"], "IfNeeded");
        assert_eq!(webhook["admissionReviewVersions"], json!(["v1", "v1beta1"]));
        // Its own namespace and kube-system are never sent to it, nor its own pods.
        assert_eq!(
            webhook["namespaceSelector"]["matchExpressions"][0],
            json!({"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": [namespace, "kube-system"]})
        );
        let skip = &webhook["objectSelector"]["matchExpressions"][0];
        assert_eq!(skip["operator"], "DoesNotExist");
        assert!(
            pod["metadata"]["labels"]
                .get(skip["key"].as_str().unwrap())
                .is_some()
        );
    }
}

/// `examples/webhook/manifests.yaml` is what the command prints, byte for byte.
#[test]
fn the_shipped_manifests_are_the_commands_output() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/webhook/manifests.yaml");
    let printed = manifests(&["--image", "ghcr.io/irsa-rs/irsa:0.1.0"]);
    assert_eq!(
        std::fs::read_to_string(&shipped).unwrap(),
        printed,
        "examples/webhook/manifests.yaml is stale: run the command in examples/webhook/kustomization.yaml"
    );
    assert_consistent(&objects(&printed), "irsa-webhook", "cert-manager");
}

/// Every manifest of both certificate sources passes the Kubernetes schemas of the version
/// k8s-openapi pins (kubernetes-validate, strict: no unknown fields), and each set agrees with
/// itself in another namespace.
#[test]
fn generated_manifests_pass_the_kubernetes_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for tls in ["cert-manager", "self-signed"] {
        let yaml = manifests(&[
            "--image",
            "example.com/irsa:1",
            "--namespace",
            "team-a",
            "--tls",
            tls,
            "--replicas",
            "3",
        ]);
        assert_consistent(&objects(&yaml), "team-a", tls);
        let file = dir.path().join(format!("{tls}.yaml"));
        std::fs::write(&file, yaml).unwrap();
        files.push(file);
    }
    let report = crate::helpers::cli::kubernetes_validate(&files);
    let passed = report.matches(" passed for resource ").count();
    // 8 built-in kinds with cert-manager (its Issuers and Certificates have no built-in schema),
    // 9 with the self-made Secret.
    assert_eq!(passed, 17, "{report}");
    assert_eq!(
        report.matches("Couldn't find schema for kind").count(),
        4,
        "{report}"
    );
}

/// Flags the server cannot use are refused before it listens, naming the flag and the fix.
#[test]
fn unusable_serve_flags_are_refused_with_the_fix() {
    use crate::helpers::cli::assert_bad_input;
    assert_bad_input(
        &["webhook", "serve", "--in-cluster=true"],
        &["--in-cluster true", "only false is supported", "--tls-cert"],
    );
    assert_bad_input(
        &["webhook", "serve", "--tls-cert", "/nonexistent/tls.crt"],
        &[
            "--tls-cert /nonexistent/tls.crt",
            "cannot read /nonexistent/tls.crt",
        ],
    );
    assert_bad_input(
        &[
            "webhook",
            "serve",
            "--service-account-lookup-grace-period",
            "100",
        ],
        &["--service-account-lookup-grace-period 100"],
    );
    assert_bad_input(
        &["webhook", "serve", "--annotation-prefix", "Not A Prefix"],
        &["annotation prefix", "DNS subdomain"],
    );
    // A container-credentials file that cannot be used stops the server before it listens.
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: t\n",
    )
    .unwrap();
    let selection = dir.path().join("selection.json");
    std::fs::write(&selection, r#"{"identities":[{"namespace":"shop"}]}"#).unwrap();
    let path = |file: &str| dir.path().join(file).display().to_string();
    assert_bad_input(
        &[
            "webhook",
            "serve",
            "--bind-address",
            "127.0.0.1",
            "--port",
            "0",
            "--metrics-port",
            "0",
            "--tls-cert",
            &path("tls.crt"),
            "--tls-key",
            &path("tls.key"),
            "--kubeconfig",
            &path("kubeconfig"),
            "--watch-container-credentials-config",
            &path("selection.json"),
        ],
        &[
            &format!(
                "--watch-container-credentials-config {}",
                path("selection.json")
            ),
            "identities[0] has an empty namespace or serviceAccount",
        ],
    );
}
