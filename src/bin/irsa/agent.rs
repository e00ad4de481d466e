//! `irsa agent`: the container-credentials agent as a server (`serve`) and the DaemonSet that
//! runs it on every node (`manifests`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use irsa::agent::{Agent, AgentError, CacheScope, KeySource, LINK_LOCAL_ADDRS, RoleSource};
use irsa::http::ServerLimits;
use serde_json::{Value, json};

use crate::io::CliError;
use crate::render::Report;

/// Arguments of `irsa agent`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Serve `GET /v1/credentials` to SDKs configured with AWS_CONTAINER_CREDENTIALS_FULL_URI
    /// and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, until SIGTERM or SIGINT, then drain.
    ///
    /// Each request's token is verified offline against --issuer's keys; its ServiceAccount's
    /// role comes from the role annotation (a kube-rs watcher) or --service-account-roles;
    /// one AssumeRoleWithWebIdentity per ServiceAccount serves all its pods. STS is reached as
    /// aws-config reaches it (AWS_REGION, AWS_ENDPOINT_URL_STS, a profile); the agent needs no
    /// AWS credentials. The first line on stdout is `listening on http://ADDR…`; JSON logs go
    /// to stderr.
    Serve(Box<ServeArgs>),
    /// Print the manifests that run the agent on every node: Namespace, ServiceAccount, RBAC
    /// (with the annotation mapping) and the DaemonSet, one YAML stream.
    Manifests(Box<ManifestArgs>),
}

/// Arguments of `irsa agent serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// An address to serve credentials on (repeatable). Default: 169.254.170.23:80 and
    /// [fd00:ec2::23]:80, the only non-loopback addresses SDKs accept over plain HTTP.
    #[arg(long, value_name = "ADDR")]
    listen: Vec<SocketAddr>,
    /// Where /metrics, /healthz and /readyz are served ("" for nowhere).
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:2705")]
    metrics_address: String,
    /// The tokens' issuer (their `iss`, the cluster's --service-account-issuer).
    #[arg(long, value_name = "URL")]
    issuer: String,
    /// Verify with this JWKS file (read again when it changes) instead of fetching the
    /// issuer's discovery document and keys.
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,
    /// Fetch the discovery document from here instead of the issuer
    /// (`URL/.well-known/openid-configuration`).
    #[arg(long, value_name = "URL", conflicts_with = "jwks")]
    discovery_endpoint: Option<String>,
    /// The audience tokens must carry (the webhook's --container-credentials-audience must
    /// match, and the roles' trust policies must accept it).
    #[arg(long, value_name = "AUDIENCE", default_value = "sts.amazonaws.com")]
    audience: String,
    /// A YAML or JSON object from `namespace:name` to role ARN, read again when it changes,
    /// instead of the ServiceAccounts' role annotations (no API access needed).
    #[arg(long, value_name = "FILE")]
    service_account_roles: Option<PathBuf>,
    /// The role annotation's domain (`PREFIX/role-arn`).
    #[arg(long, value_name = "PREFIX", default_value = irsa::webhook::DEFAULT_ANNOTATION_PREFIX)]
    annotation_prefix: String,
    /// A kubeconfig to reach the apiserver; without it, the in-cluster ServiceAccount.
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// The apiserver's URL, overriding the kubeconfig's.
    #[arg(long, value_name = "URL")]
    kube_api: Option<String>,
    /// The cluster's name, first in every STS session name (`CLUSTER@NAMESPACE.NAME`).
    #[arg(long, value_name = "NAME")]
    cluster_name: Option<String>,
    /// One session per ServiceAccount (the fewest STS calls) or per pod (CloudTrail names
    /// the pod; the EKS agent's behaviour).
    #[arg(
        long,
        value_name = "SCOPE",
        value_enum,
        default_value = "service-account"
    )]
    cache_scope: Scope,
    /// The session duration asked of STS.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = crate::io::parse_duration)]
    session_duration: Duration,
    /// Never serve credentials with this much or less left (botocore refreshes 15 minutes
    /// ahead).
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = crate::io::parse_duration)]
    min_remaining: Duration,
    /// Start the background refresh this long before that margin.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = crate::io::parse_duration)]
    refresh_ahead: Duration,
    /// The most cached sessions; the least recently used goes first.
    #[arg(long, value_name = "COUNT", default_value_t = 10_000)]
    max_cache_size: usize,
    /// Drop (and stop refreshing) a session unused this long.
    #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = crate::io::parse_duration)]
    idle_timeout: Duration,
    /// Requests per second allowed to one client address.
    #[arg(long, value_name = "COUNT", default_value_t = 100)]
    rate_limit: u32,
    /// Requests one client address may burst to.
    #[arg(long, value_name = "COUNT", default_value_t = 200)]
    rate_burst: u32,
    /// The most connections served at once; further ones wait in the listen queue.
    #[arg(long, value_name = "COUNT", default_value_t = 4096)]
    max_connections: usize,
    /// How often fetched keys are read again.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = crate::io::parse_duration)]
    key_refresh: Duration,
    /// How often the key and role files are read again.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = crate::io::parse_duration)]
    file_check_interval: Duration,
    /// After SIGTERM, keep serving this long with readiness false.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = crate::io::parse_duration)]
    shutdown_delay: Duration,
    /// The longest wait for requests in flight once the agent stops accepting.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::io::parse_timeout)]
    drain_timeout: Duration,
    /// Log lines as JSON (one object per line) or text.
    #[arg(long, value_name = "FORMAT", default_value = "json", value_parser = ["json", "text"])]
    log_format: String,
}

/// `--cache-scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scope {
    ServiceAccount,
    Pod,
}

pub(crate) fn run(args: Args, json: bool) -> Result<Report, CliError> {
    match args.command {
        Command::Serve(args) => serve(*args, json),
        Command::Manifests(args) => manifests(&args),
    }
}

fn serve(args: ServeArgs, json: bool) -> Result<Report, CliError> {
    let issuer = args
        .issuer
        .parse()
        .map_err(|e| CliError::input(format!("--issuer {}", args.issuer), e))?;
    let keys = match (&args.jwks, &args.discovery_endpoint) {
        (Some(path), _) => KeySource::Jwks(path.clone()),
        (None, endpoint) => KeySource::Discovery {
            endpoint: endpoint
                .as_deref()
                .map(|url| {
                    url.parse()
                        .map_err(|e| CliError::input(format!("--discovery-endpoint {url}"), e))
                })
                .transpose()?,
        },
    };
    let metrics = match args.metrics_address.as_str() {
        "" => None,
        text => Some(
            text.parse::<SocketAddr>()
                .map_err(|e| CliError::input(format!("--metrics-address {text}"), e))?,
        ),
    };
    let listen = if args.listen.is_empty() {
        LINK_LOCAL_ADDRS.to_vec()
    } else {
        args.listen.clone()
    };
    crate::webhook::init_logs(&args.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::input("the async runtime", e))?;
    runtime.block_on(async {
        let roles = match &args.service_account_roles {
            Some(path) => RoleSource::File(path.clone()),
            None => RoleSource::Cluster {
                client: crate::webhook::kube_client(
                    args.kubeconfig.as_deref(),
                    args.kube_api.as_deref(),
                    "; or --service-account-roles FILE, which needs no API access",
                )
                .await?,
                annotation_prefix: args.annotation_prefix.clone(),
            },
        };
        let sts = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .no_credentials()
            .load()
            .await;
        let mut agent = Agent::builder(issuer, keys, roles, &sts)
            .listen(listen)
            .metrics_listen(metrics)
            .audience(&args.audience)
            .scope(match args.cache_scope {
                Scope::ServiceAccount => CacheScope::ServiceAccount,
                Scope::Pod => CacheScope::Pod,
            })
            .session_duration(args.session_duration)
            .min_remaining(args.min_remaining)
            .refresh_ahead(args.refresh_ahead)
            .max_keys(args.max_cache_size)
            .idle_timeout(args.idle_timeout)
            .rate_limit(args.rate_limit, args.rate_burst)
            .key_refresh(args.key_refresh)
            .file_check_interval(args.file_check_interval)
            .shutdown_delay(args.shutdown_delay)
            .drain_timeout(args.drain_timeout)
            .limits(
                ServerLimits::default()
                    .max_body_bytes(0)
                    .header_read_timeout(Duration::from_secs(5))
                    .max_connections(args.max_connections),
            );
        if let Some(name) = &args.cluster_name {
            agent = agent.cluster_name(name);
        }
        let running = agent.start().await.map_err(|e| {
            let input = match &e {
                AgentError::JwksRead { path, .. } | AgentError::Jwks { path, .. } => {
                    format!("--jwks {}", path.display())
                }
                AgentError::Roles(_) => "--service-account-roles".to_owned(),
                AgentError::Metrics(_) => format!("--metrics-address {}", args.metrics_address),
                AgentError::Margin { .. } => "--session-duration and --min-remaining".to_owned(),
                AgentError::SessionDuration { .. } => "--session-duration".to_owned(),
                _ => "--listen".to_owned(),
            };
            CliError::input(input, e)
        })?;
        let endpoints: Vec<String> = running
            .local_addrs()
            .iter()
            .map(|addr| format!("http://{addr}{}", irsa::agent::CREDENTIALS_PATH))
            .collect();
        let metrics = running.metrics_addr().map(|addr| format!("http://{addr}"));
        if json {
            println!(
                "{}",
                json!({"credentials_urls": endpoints, "metrics_url": metrics})
            );
        } else {
            let metrics = metrics
                .map(|m| format!(", metrics on {m}"))
                .unwrap_or_default();
            println!("listening on {}{metrics}", endpoints.join(", "));
        }
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        crate::sts::stop_signal().await;
        running.shutdown().await;
        Ok(Report {
            human: String::new(),
            json: String::new(),
            refused: false,
        })
    })
}

/// Arguments of `irsa agent manifests`.
#[derive(Debug, clap::Args)]
pub(crate) struct ManifestArgs {
    /// The namespace the agent runs in (created by the manifests).
    #[arg(long, value_name = "NAMESPACE", default_value = "irsa-agent")]
    namespace: String,
    /// The image that runs `irsa agent serve` (see the Dockerfile).
    #[arg(long, value_name = "IMAGE")]
    image: String,
    /// The image of the init container that puts the link-local addresses on a dummy
    /// interface; it needs busybox's or iproute2's `ip`.
    #[arg(
        long,
        value_name = "IMAGE",
        default_value = "docker.io/library/busybox:1.37"
    )]
    init_image: String,
    /// The tokens' issuer.
    #[arg(long, value_name = "URL")]
    issuer: String,
    /// The port on 169.254.170.23. Below 1024 the agent needs NET_BIND_SERVICE, which
    /// Kubernetes grants only to root (no ambient capabilities): the container then runs as
    /// uid 0 with that capability alone. The default runs as non-root with no capability;
    /// point the webhook at it with --container-credentials-full-uri (printed on stderr).
    #[arg(long, value_name = "PORT", default_value_t = 2704)]
    port: u16,
    /// Also serve on [fd00:ec2::23] (IPv6 clusters).
    #[arg(long)]
    ipv6: bool,
    /// The cluster's name, in the STS session names.
    #[arg(long, value_name = "NAME")]
    cluster_name: Option<String>,
    /// Map ServiceAccounts to roles from this ConfigMap (key `roles.yaml`) instead of their
    /// annotations: the agent then gets no API access at all.
    #[arg(long, value_name = "CONFIGMAP")]
    roles_configmap: Option<String>,
    /// The region STS is called in (AWS_REGION of the agent).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// The audience tokens carry.
    #[arg(long, value_name = "AUDIENCE", default_value = "sts.amazonaws.com")]
    audience: String,
    /// Write to FILE (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

const NAME: &str = "irsa-agent";
const METRICS_PORT: u16 = 2705;
const LINK: &str = "irsa-agent0";

fn manifests(args: &ManifestArgs) -> Result<Report, CliError> {
    // The agent would refuse it at start: refuse it here.
    args.issuer
        .parse::<irsa::oidc::IssuerUrl>()
        .map_err(|e| CliError::input(format!("--issuer {}", args.issuer), e))?;
    let documents = agent_documents(args);
    let yaml = crate::webhook::manifests::yaml_stream(&documents)?;
    let port = if args.port == 80 {
        String::new()
    } else {
        format!(":{}", args.port)
    };
    let addresses = if args.ipv6 {
        "169.254.170.23 and fd00:ec2::23"
    } else {
        "169.254.170.23"
    };
    eprintln!(
        "irsa: note: point pods at the agent: add --container-credentials-full-uri=http://169.254.170.23{port}/v1/credentials --container-credentials-audience={} to `irsa webhook manifests` (or `irsa webhook serve`), and annotate their ServiceAccounts {}: \"true\" besides their role; pods' egress to {addresses} on TCP {} must be allowed by NetworkPolicies, and excluded from HTTP proxies (NO_PROXY)",
        args.audience,
        irsa::webhook::CONTAINER_CREDENTIALS_ANNOTATION,
        args.port
    );
    if args.region.is_none() {
        eprintln!(
            "irsa: note: no --region: the agent calls STS in the region its node's metadata service names, or us-east-1 without one"
        );
    }
    crate::webhook::manifests::report(documents, yaml, args.out.as_deref())
}

fn agent_documents(args: &ManifestArgs) -> Vec<Value> {
    let labels = json!({"app.kubernetes.io/name": NAME});
    let mut documents = vec![
        json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": args.namespace, "labels": {
                // hostNetwork and NET_ADMIN in the init container: the privileged level.
                "pod-security.kubernetes.io/enforce": "privileged",
            }},
        }),
        json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": NAME, "namespace": args.namespace, "labels": labels},
            "automountServiceAccountToken": args.roles_configmap.is_none(),
        }),
    ];
    if args.roles_configmap.is_none() {
        documents.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": NAME, "labels": labels},
            "rules": [{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get", "list", "watch"]}],
        }));
        documents.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": NAME, "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": args.namespace}],
        }));
    }
    documents.push(daemonset(args, &labels));
    documents
}

fn daemonset(args: &ManifestArgs, labels: &Value) -> Value {
    let mut serve = vec![
        "agent".to_owned(),
        "serve".to_owned(),
        format!("--listen=169.254.170.23:{}", args.port),
        format!("--metrics-address=0.0.0.0:{METRICS_PORT}"),
        format!("--issuer={}", args.issuer),
        format!("--audience={}", args.audience),
    ];
    if args.ipv6 {
        serve.push(format!("--listen=[fd00:ec2::23]:{}", args.port));
    }
    if let Some(name) = &args.cluster_name {
        serve.push(format!("--cluster-name={name}"));
    }
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    if let Some(configmap) = &args.roles_configmap {
        serve.push("--service-account-roles=/etc/irsa-agent/roles.yaml".to_owned());
        volumes.push(json!({"name": "roles", "configMap": {"name": configmap}}));
        mounts.push(json!({"name": "roles", "mountPath": "/etc/irsa-agent", "readOnly": true}));
    }
    let mut env = vec![];
    if let Some(region) = &args.region {
        env.push(json!({"name": "AWS_REGION", "value": region}));
    }
    // Idempotent: a restarted pod finds the link and addresses in place.
    let mut script = format!(
        "set -e\nip link show {LINK} >/dev/null 2>&1 || ip link add {LINK} type dummy\nip addr show dev {LINK} | grep -q 169.254.170.23 || ip addr add 169.254.170.23/32 dev {LINK}\n"
    );
    if args.ipv6 {
        script.push_str(&format!(
            "ip -6 addr show dev {LINK} | grep -q fd00:ec2::23 || ip -6 addr add fd00:ec2::23/128 dev {LINK} || echo 'no IPv6 on this node: 169.254.170.23 only'\n"
        ));
    }
    script.push_str(&format!("ip link set {LINK} up\n"));
    let privileged_port = args.port < 1024;
    let container_security = if privileged_port {
        json!({
            "runAsNonRoot": false, "runAsUser": 0,
            "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
        })
    } else {
        json!({
            "runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
            "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
            "capabilities": {"drop": ["ALL"]},
        })
    };
    let probe = |path: &str, period: u32| json!({"httpGet": {"host": "127.0.0.1", "path": path, "port": METRICS_PORT, "scheme": "HTTP"}, "periodSeconds": period, "failureThreshold": 3});
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": NAME, "namespace": args.namespace, "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": NAME,
                    "automountServiceAccountToken": args.roles_configmap.is_none(),
                    "hostNetwork": true,
                    "dnsPolicy": "ClusterFirstWithHostNet",
                    "priorityClassName": "system-node-critical",
                    "tolerations": [{"operator": "Exists"}],
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "initContainers": [{
                        "name": "link-local-addresses",
                        "image": args.init_image,
                        "command": ["sh", "-c", script],
                        "securityContext": {
                            "runAsUser": 0, "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                            "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN"]},
                        },
                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}},
                    }],
                    "containers": [{
                        "name": "agent",
                        "image": args.image,
                        "args": serve,
                        "env": env,
                        "ports": [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
                        "readinessProbe": probe("/readyz", 5),
                        "livenessProbe": probe("/healthz", 10),
                        "resources": {
                            "requests": {"cpu": "25m", "memory": "32Mi"},
                            "limits": {"memory": "128Mi"},
                        },
                        "securityContext": container_security,
                        "volumeMounts": mounts,
                    }],
                    "volumes": volumes,
                },
            },
        },
    })
}
