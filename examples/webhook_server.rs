//! A small HTTPS mutating admission webhook that gives pods AWS credentials: the EKS pod
//! identity webhook's behaviour, for any cluster. Manifests: `examples/webhook/deploy/`.
//!
//! ```text
//! cargo run --example webhook_server --features webhook -- \
//!     --cert /etc/webhook/certs/tls.crt --key /etc/webhook/certs/tls.key \
//!     [--listen 0.0.0.0:8443] [--region eu-west-1] [--sts-regional-endpoints] \
//!     [--style granular|compatible] [--annotation-prefix eks.amazonaws.com] [--fail-open]
//! ```
//!
//! - `POST /mutate`: an AdmissionReview (`admission.k8s.io/v1` or `v1beta1`) in, the answer out.
//!   The pod's ServiceAccount is read from the apiserver (kube-rs) on every request, so a
//!   ServiceAccount created just before its pod is never missed (aws/amazon-eks-pod-identity-webhook#174).
//! - `GET /healthz`: `ok`.
//!
//! The certificate and key are PEM files (cert-manager's Secret, mounted); they are re-read
//! every five minutes so a renewed certificate is served without a restart.

// An example binary talks to its operator on stderr.
#![allow(clippy::print_stderr, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_server::tls_rustls::RustlsConfig;
use irsa::webhook::{
    AdmissionRequest, Identity, PatchStyle, PodMutator, ServiceAccountAnnotations, WebhookConfig,
};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Api;

struct App {
    mutator: PodMutator,
    client: kube::Client,
    fail_open: bool,
}

struct Options {
    cert: PathBuf,
    key: PathBuf,
    listen: SocketAddr,
    config: WebhookConfig,
    fail_open: bool,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let (mut cert, mut key) = (None, None);
    let mut listen: SocketAddr = "0.0.0.0:8443".parse().expect("a valid address");
    let mut config = WebhookConfig::builder();
    let mut fail_open = false;
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--cert" => cert = Some(PathBuf::from(value()?)),
            "--key" => key = Some(PathBuf::from(value()?)),
            "--listen" => listen = value()?.parse().map_err(|e| format!("--listen: {e}"))?,
            "--region" => config = config.region(value()?),
            "--annotation-prefix" => config = config.annotation_prefix(value()?),
            "--style" => {
                let style: PatchStyle = value()?.parse().map_err(|e| format!("--style: {e}"))?;
                config = config.style(style);
            }
            "--sts-regional-endpoints" => config = config.regional_sts(true),
            "--fail-open" => fail_open = true,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(Options {
        cert: cert.ok_or("--cert FILE is required")?,
        key: key.ok_or("--key FILE is required")?,
        listen,
        config: config.build().map_err(|e| e.to_string())?,
        fail_open,
    })
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("webhook_server: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let options = options()?;
    // rustls needs one process-wide crypto provider; aws-lc-rs is the one irsa uses.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let client = kube::Client::try_default().await?;
    let tls = RustlsConfig::from_pem_file(&options.cert, &options.key).await?;
    tokio::spawn(reload_certificate(
        tls.clone(),
        options.cert.clone(),
        options.key.clone(),
    ));
    let app = Arc::new(App {
        mutator: PodMutator::new(options.config),
        client,
        fail_open: options.fail_open,
    });
    let router = Router::new()
        .route("/mutate", post(mutate))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(app);
    eprintln!("webhook_server: listening on https://{}", options.listen);
    axum_server::bind_rustls(options.listen, tls)
        .serve(router.into_make_service())
        .await?;
    Ok(())
}

async fn reload_certificate(tls: RustlsConfig, cert: PathBuf, key: PathBuf) {
    let mut every = tokio::time::interval(Duration::from_secs(300));
    every.tick().await;
    loop {
        every.tick().await;
        if let Err(e) = tls.reload_from_pem_file(&cert, &key).await {
            eprintln!("webhook_server: keeping the current certificate: {e}");
        }
    }
}

async fn mutate(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next() == Some("application/json"));
    if !json {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected Content-Type: application/json\n",
        )
            .into_response();
    }
    let response = match AdmissionRequest::from_slice(&body) {
        Ok(request) => {
            let identity = identity(&app, request.namespace(), request.service_account()).await;
            request.respond(&app.mutator, identity.as_ref(), app.fail_open)
        }
        Err(e) => e.response(app.fail_open),
    };
    if let Some(message) = response.message() {
        eprintln!("webhook_server: denied: {message}");
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        response.to_vec(),
    )
        .into_response()
}

/// The ServiceAccount's settings, read from the apiserver. A missing ServiceAccount or an
/// apiserver error means no mutation: the pod is admitted unchanged, as upstream does.
async fn identity(app: &App, namespace: &str, name: &str) -> Option<Identity> {
    let api: Api<ServiceAccount> = Api::namespaced(app.client.clone(), namespace);
    match api.get_opt(name).await {
        Ok(Some(sa)) => {
            let prefix = app.mutator.config().annotation_prefix();
            let settings = ServiceAccountAnnotations::from_service_account(&sa, prefix);
            Some(Identity::WebIdentity(settings))
        }
        Ok(None) => None,
        Err(e) => {
            eprintln!("webhook_server: cannot read ServiceAccount {namespace}/{name}: {e}");
            None
        }
    }
}
