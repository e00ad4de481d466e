//! `irsa webhook`: the pod identity webhook as a server (`serve`), its manifests
//! (`manifests`) and a self-made CA and serving certificate (`certs`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use irsa::http::{ReloadingCertificate, ServerLimits};
use irsa::webhook::{MAX_REVIEW_LEN, PatchStyle, PodIdentityConfig, WebhookConfig};
use irsa::webhook_server::{WebhookServer, WebhookServerError};

use crate::io::CliError;
use crate::render::Report;

pub(crate) mod manifests;

/// Arguments of `irsa webhook`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Run the webhook: HTTPS admission on --port (`/mutate`, `/mutate-fail-closed`,
    /// `/healthz`, `/readyz`), metrics on --metrics-port (`/metrics`, `/healthz`, `/readyz`),
    /// until SIGTERM or SIGINT, then drain.
    ///
    /// Flags keep the Go EKS pod identity webhook's names and meanings, so its arguments carry
    /// over. The first line on stdout is `listening on https://ADDR, metrics on http://ADDR`;
    /// logs (one JSON line per review) go to stderr.
    Serve(Box<ServeArgs>),
    /// Print the manifests that run the webhook (Namespace, RBAC, Deployment, PDB, Service,
    /// MutatingWebhookConfiguration, and the certificate: cert-manager's Issuer and
    /// Certificate, or a Secret with a self-made CA), one YAML stream.
    Manifests(Box<manifests::ManifestArgs>),
    /// Make a CA and a serving certificate for the webhook's Service as PEM files (ca.crt,
    /// tls.crt, tls.key), for `irsa webhook manifests --tls self-signed --tls-dir DIR`.
    Certs(manifests::CertArgs),
}

/// Arguments of `irsa webhook serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// The HTTPS port (the Go webhook's default is 443; 8443 lets it run as non-root).
    #[arg(long, value_name = "PORT", default_value_t = 8443)]
    port: u16,
    /// The plain-HTTP metrics port.
    #[arg(long, value_name = "PORT", default_value_t = 9999)]
    metrics_port: u16,
    /// The address both ports listen on.
    #[arg(long, value_name = "IP", default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    bind_address: IpAddr,
    /// The serving certificate (PEM), read again when it changes (a Secret's symlink swap).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/etc/webhook/certs/tls.crt"
    )]
    tls_cert: PathBuf,
    /// The serving certificate's private key (PEM).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/etc/webhook/certs/tls.key"
    )]
    tls_key: PathBuf,
    /// A kubeconfig to reach the apiserver; without it, the in-cluster ServiceAccount (or
    /// KUBECONFIG, or ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// The apiserver's URL, overriding the kubeconfig's.
    #[arg(long, value_name = "URL")]
    kube_api: Option<String>,
    /// The Go webhook's mode switch: only `false` (certificates from files) is supported; its
    /// `true` made certificates through a CSR signer that clusters no longer provide.
    #[arg(long, value_name = "BOOL", default_value = "false", value_parser = in_cluster_false,
        action = clap::ArgAction::Set)]
    in_cluster: bool,
    /// The annotation domain read on ServiceAccounts and pods.
    #[arg(long, value_name = "PREFIX", default_value = irsa::webhook::DEFAULT_ANNOTATION_PREFIX)]
    annotation_prefix: String,
    /// The token audience when the ServiceAccount names none.
    #[arg(long, value_name = "AUDIENCE", default_value = irsa::webhook::DEFAULT_AUDIENCE)]
    token_audience: String,
    /// Where the token volume is mounted in containers.
    #[arg(long, value_name = "PATH", default_value = irsa::webhook::DEFAULT_MOUNT_PATH)]
    token_mount_path: String,
    /// The token lifetime in seconds when no annotation says; below 600 is raised to 600.
    #[arg(long, value_name = "SECONDS", default_value_t = irsa::webhook::DEFAULT_TOKEN_EXPIRATION)]
    token_expiration: i64,
    /// The region set as AWS_REGION and AWS_DEFAULT_REGION in containers (none when empty).
    #[arg(long, value_name = "REGION", default_value = "")]
    aws_default_region: String,
    /// Set AWS_STS_REGIONAL_ENDPOINTS=regional in containers.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_value = "false",
        default_missing_value = "true", action = clap::ArgAction::Set)]
    sts_regional_endpoint: bool,
    /// How long a review waits for the apiserver when its ServiceAccount is not cached (the
    /// SA created just before its pod); 0 never asks. Go's syntax: `100ms`, `1s`.
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = crate::io::parse_duration)]
    service_account_lookup_grace_period: Duration,
    /// How often every ServiceAccount is listed again although the watch is healthy; 0
    /// relists only when the watch breaks or expires. (The Go webhook's 60 s resync replays
    /// its cache in memory; here a resync is a list, so the default is longer.)
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = crate::io::parse_duration)]
    resync_period: Duration,
    /// The most time one review may take; then the pod is admitted unchanged with a warning
    /// (refused on the fail-closed path). Keep it under the webhook's timeoutSeconds.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = crate::io::parse_timeout)]
    admission_budget: Duration,
    /// granular (touch only what changes, keeping fields the Go webhook drops) or compatible
    /// (the Go webhook's operations).
    #[arg(long, value_name = "STYLE", default_value = "granular")]
    patch_style: PatchStyle,
    /// On SIGTERM, how long to keep serving after readiness turns false, so the Service stops
    /// sending reviews before the port closes.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = crate::io::parse_duration)]
    shutdown_delay: Duration,
    /// On SIGTERM, the longest wait for reviews in flight once the port is closed.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::io::parse_timeout)]
    drain_timeout: Duration,
    /// How often the certificate files and the container-credentials file are read again.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = crate::io::parse_timeout)]
    file_check_interval: Duration,
    /// A file of ServiceAccounts (the Go webhook's JSON: `{"identities":[{"namespace":…,
    /// "serviceAccount":…}]}`) whose pods get EKS Pod Identity's container-credentials
    /// variables, for a node-local agent, instead of the web-identity ones. Read again when it
    /// changes.
    #[arg(long, value_name = "FILE", help_heading = "Container credentials")]
    watch_container_credentials_config: Option<PathBuf>,
    /// The audience of the container-credentials token.
    #[arg(
        long,
        value_name = "AUDIENCE",
        default_value = "pods.eks.amazonaws.com",
        help_heading = "Container credentials"
    )]
    container_credentials_audience: String,
    /// Where the container-credentials token volume is mounted.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount",
        help_heading = "Container credentials"
    )]
    container_credentials_token_mount_path: String,
    /// The container-credentials token volume's name.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "eks-pod-identity-token",
        help_heading = "Container credentials"
    )]
    container_credentials_token_volume_name: String,
    /// The token's file name in that volume.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "eks-pod-identity-token",
        help_heading = "Container credentials"
    )]
    container_credentials_token_path: String,
    /// The agent's credentials endpoint, set as AWS_CONTAINER_CREDENTIALS_FULL_URI.
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://169.254.170.23/v1/credentials",
        help_heading = "Container credentials"
    )]
    container_credentials_full_uri: String,
    /// The most connections served at once; further ones wait in the listen queue.
    #[arg(long, value_name = "COUNT", default_value_t = 1024,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    max_connections: usize,
    /// Log lines as json (one object per line) or text.
    #[arg(long, value_name = "FORMAT", default_value = "json", value_parser = ["json", "text"])]
    log_format: String,
    /// The Go webhook's in-cluster settings, accepted so its arguments carry over; unused.
    #[arg(long, hide = true, value_name = "NAME")]
    namespace: Option<String>,
    #[arg(long, hide = true, value_name = "NAME")]
    service_name: Option<String>,
    #[arg(long, hide = true, value_name = "NAME")]
    tls_secret: Option<String>,
    /// klog's flags, accepted so the Go webhook's arguments carry over; logs always go to
    /// stderr.
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "true")]
    logtostderr: Option<String>,
    #[arg(long = "v", hide = true, value_name = "LEVEL")]
    verbosity: Option<String>,
}

fn in_cluster_false(text: &str) -> Result<bool, String> {
    match text {
        "false" | "0" | "f" | "F" | "FALSE" | "False" => Ok(false),
        _ => Err("only false is supported: mount the serving certificate (cert-manager or `irsa webhook manifests --tls self-signed`) and pass --tls-cert and --tls-key".to_owned()),
    }
}

pub(crate) fn run(args: Args, json: bool) -> Result<Report, CliError> {
    match args.command {
        Command::Serve(args) => serve(*args, json),
        Command::Manifests(args) => manifests::manifests(*args),
        Command::Certs(args) => manifests::certs(args),
    }
}

fn serve(args: ServeArgs, json: bool) -> Result<Report, CliError> {
    let mut pod_identity = PodIdentityConfig::default();
    pod_identity.audience = args.container_credentials_audience.clone();
    pod_identity.mount_path = args.container_credentials_token_mount_path.clone();
    pod_identity.volume_name = args.container_credentials_token_volume_name.clone();
    pod_identity.token_path = args.container_credentials_token_path.clone();
    pod_identity.full_uri = args.container_credentials_full_uri.clone();
    let mut config = WebhookConfig::builder()
        .pod_identity(pod_identity)
        .annotation_prefix(&args.annotation_prefix)
        .audience(&args.token_audience)
        .mount_path(&args.token_mount_path)
        .token_expiration(args.token_expiration)
        .regional_sts(args.sts_regional_endpoint)
        .style(args.patch_style);
    if !args.aws_default_region.is_empty() {
        config = config.region(&args.aws_default_region);
    }
    let config = config
        .build()
        .map_err(|e| CliError::input("webhook settings", e))?;
    let certificate = ReloadingCertificate::load(&args.tls_cert, &args.tls_key).map_err(|e| {
        CliError::input(
            format!(
                "--tls-cert {} --tls-key {}",
                args.tls_cert.display(),
                args.tls_key.display()
            ),
            e,
        )
    })?;
    init_logs(&args.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::input("the async runtime", e))?;
    runtime.block_on(async {
        let client = kube_client(args.kubeconfig.as_deref(), args.kube_api.as_deref(), "").await?;
        let limits = ServerLimits::default()
            .max_body_bytes(MAX_REVIEW_LEN)
            .max_connections(args.max_connections);
        let server = WebhookServer::builder(client, certificate, config)
            .listen(SocketAddr::new(args.bind_address, args.port))
            .metrics_listen(Some(SocketAddr::new(args.bind_address, args.metrics_port)))
            .limits(limits)
            .lookup_grace_period(args.service_account_lookup_grace_period)
            .resync_period(Some(args.resync_period))
            .admission_budget(args.admission_budget)
            .shutdown_delay(args.shutdown_delay)
            .drain_timeout(args.drain_timeout)
            .file_check_interval(args.file_check_interval)
            .container_credentials_file(args.watch_container_credentials_config.clone())
            .start()
            .await
            .map_err(|e| {
                let input = match &e {
                    WebhookServerError::ContainerCredentialsRead { path, .. }
                    | WebhookServerError::ContainerCredentials { path, .. } => {
                        format!("--watch-container-credentials-config {}", path.display())
                    }
                    WebhookServerError::Metrics(_) => {
                        format!("--metrics-port {}", args.metrics_port)
                    }
                    _ => format!("--port {}", args.port),
                };
                CliError::input(input, e)
            })?;
        let endpoint = format!("https://{}", server.local_addr());
        let metrics = server.metrics_addr().map(|addr| format!("http://{addr}"));
        if json {
            let line = serde_json::json!({"endpoint_url": endpoint, "metrics_url": metrics});
            println!("{line}");
        } else {
            let metrics = metrics
                .map(|m| format!(", metrics on {m}"))
                .unwrap_or_default();
            println!("listening on {endpoint}{metrics}");
        }
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        crate::sts::stop_signal().await;
        server.shutdown().await;
        Ok(Report {
            human: String::new(),
            json: String::new(),
            refused: false,
        })
    })
}

/// The apiserver client: `--kubeconfig`, else the in-cluster configuration (or `KUBECONFIG`),
/// with `--kube-api` overriding the server.
pub(crate) async fn kube_client(
    kubeconfig: Option<&std::path::Path>,
    kube_api: Option<&str>,
    without: &str,
) -> Result<kube::Client, CliError> {
    let mut config = match kubeconfig {
        Some(path) => {
            let flag = format!("--kubeconfig {}", path.display());
            let file =
                kube::config::Kubeconfig::read_from(path).map_err(|e| CliError::input(&flag, e))?;
            kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
                .await
                .map_err(|e| CliError::input(&flag, e))?
        }
        None => kube::Config::infer().await.map_err(|e| {
            CliError::input(
                format!("the in-cluster configuration (or --kubeconfig{without})"),
                e,
            )
        })?,
    };
    if let Some(url) = kube_api {
        config.cluster_url = url
            .parse()
            .map_err(|e| CliError::input(format!("--kube-api {url}"), e))?;
    }
    kube::Client::try_from(config).map_err(|e| CliError::input("the Kubernetes client", e))
}

pub(crate) fn init_logs(format: &str) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}
