//! The pod identity webhook embedded in a program of your own: the same server as
//! `irsa webhook serve` (ServiceAccount cache, budget, metrics, certificate reload, drain),
//! with your own settings. Manifests that run it: `irsa webhook manifests`.
//!
//! ```text
//! cargo run --example webhook_server --features webhook-server -- /etc/webhook/certs
//! ```
//!
//! The directory holds `tls.crt` and `tls.key` (a mounted Secret); the apiserver is reached
//! with the in-cluster ServiceAccount or your kubeconfig. Stops on Ctrl-C, draining first.

// An example binary talks to its operator on stderr.
#![allow(clippy::print_stderr)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use irsa::http::ReloadingCertificate;
use irsa::webhook::WebhookConfig;
use irsa::webhook_server::WebhookServer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let certs = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or("/etc/webhook/certs".into()),
    );
    let certificate = ReloadingCertificate::load(certs.join("tls.crt"), certs.join("tls.key"))?;
    let config = WebhookConfig::builder()
        .region("eu-west-1")
        .regional_sts(true)
        .build()?;
    let client = kube::Client::try_default().await?;
    let running = WebhookServer::builder(client, certificate, config)
        .listen(SocketAddr::from(([0, 0, 0, 0], 8443)))
        .lookup_grace_period(Duration::from_millis(200))
        .admission_budget(Duration::from_millis(1500))
        .start()
        .await?;
    eprintln!(
        "webhook: https://{}, metrics on {:?}",
        running.local_addr(),
        running.metrics_addr()
    );
    tokio::signal::ctrl_c().await?;
    running.shutdown().await;
    Ok(())
}
