//! `irsa webhook manifests` and `irsa webhook certs`: one consistent set of manifests that runs
//! `irsa webhook serve`, and the self-made CA and serving certificate it can carry.

use std::path::{Path, PathBuf};
use std::time::Duration;

use irsa::webhook_server::{
    MUTATE_FAIL_CLOSED_PATH, MUTATE_PATH, REQUIRE_CREDENTIALS_LABEL, SKIP_LABEL,
};
use serde_json::{Value, json};

use crate::io::CliError;
use crate::render::Report;

/// How the webhook gets its serving certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Tls {
    /// cert-manager issues it and injects the CA into the webhook configuration.
    CertManager,
    /// A CA and certificate made here (or read from --tls-dir): the manifests carry the Secret
    /// and the caBundle; no cert-manager needed.
    SelfSigned,
}

/// Arguments of `irsa webhook manifests`.
#[derive(Debug, clap::Args)]
pub(crate) struct ManifestArgs {
    /// The namespace the webhook runs in (created by the manifests).
    #[arg(long, value_name = "NAMESPACE", default_value = "irsa-webhook")]
    namespace: String,
    /// The image that runs `irsa webhook serve` (see the Dockerfile).
    #[arg(long, value_name = "IMAGE")]
    image: String,
    /// How many webhook pods (spread across nodes; with two or more, a PodDisruptionBudget lets
    /// a drain take one at a time).
    #[arg(long, value_name = "COUNT", default_value_t = 2,
        value_parser = clap::builder::RangedU64ValueParser::<u32>::new().range(1..=100))]
    replicas: u32,
    /// Where the serving certificate comes from.
    #[arg(
        long,
        value_name = "SOURCE",
        value_enum,
        default_value = "cert-manager"
    )]
    tls: Tls,
    /// With --tls self-signed: read ca.crt, tls.crt and tls.key from this directory (made by
    /// `irsa webhook certs`) instead of making a new pair.
    #[arg(long, value_name = "DIR")]
    tls_dir: Option<PathBuf>,
    /// The region the webhook sets in containers (AWS_REGION, AWS_DEFAULT_REGION).
    #[arg(long, value_name = "REGION")]
    aws_default_region: Option<String>,
    /// Set AWS_STS_REGIONAL_ENDPOINTS=regional in containers.
    #[arg(long)]
    sts_regional_endpoint: bool,
    /// The annotation domain.
    #[arg(long, value_name = "PREFIX", default_value = irsa::webhook::DEFAULT_ANNOTATION_PREFIX)]
    annotation_prefix: String,
    /// The default token audience.
    #[arg(long, value_name = "AUDIENCE", default_value = irsa::webhook::DEFAULT_AUDIENCE)]
    token_audience: String,
    /// The server's per-review budget, up to 29s; the configuration's timeoutSeconds is one
    /// second more (rounded up), within the apiserver's 30 s ceiling.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = budget)]
    admission_budget: Duration,
    /// The webhook pods' priority class. `system-cluster-critical` outside kube-system needs a
    /// cluster that allows it there (some limit it with a ResourceQuota); "" for none.
    #[arg(long, value_name = "CLASS", default_value = "system-cluster-critical")]
    priority_class: String,
    /// A node-local agent's credentials endpoint (`irsa agent manifests` prints it): pods of
    /// ServiceAccounts annotated `irsa-rs.github.io/container-credentials: "true"` get
    /// AWS_CONTAINER_CREDENTIALS_FULL_URI and a token for the agent instead of the web-identity
    /// variables.
    #[arg(
        long,
        value_name = "URL",
        value_parser = full_uri,
        help_heading = "Container credentials"
    )]
    container_credentials_full_uri: Option<String>,
    /// The audience of those pods' token: the one the agent checks (its --audience) and the
    /// roles' trust policies require. (`irsa webhook serve` defaults to EKS Auth's
    /// pods.eks.amazonaws.com; the manifests pass this one.)
    #[arg(
        long,
        value_name = "AUDIENCE",
        default_value = irsa::webhook::DEFAULT_AUDIENCE,
        requires = "container_credentials_full_uri",
        help_heading = "Container credentials"
    )]
    container_credentials_audience: String,
    /// Write to FILE (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// An endpoint the SDKs' container providers accept: an absolute `https` URL, or `http` to
/// loopback or the container-credentials link-local addresses (the only plain-HTTP hosts the
/// SDKs take).
fn full_uri(text: &str) -> Result<String, String> {
    const EXAMPLE: &str = "e.g. http://169.254.170.23:2704/v1/credentials";
    let uri = text
        .parse::<http::Uri>()
        .ok()
        .filter(|uri| uri.host().is_some())
        .ok_or_else(|| {
            format!("give the agent's endpoint as an absolute http or https URL, {EXAMPLE}")
        })?;
    let host = uri.host().unwrap_or_default();
    let local = |host: &str| {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host.parse::<std::net::IpAddr>().is_ok_and(|ip| {
                ip.is_loopback()
                    || ["169.254.170.2", "169.254.170.23", "fd00:ec2::23"]
                        .iter()
                        .any(|a| a.parse::<std::net::IpAddr>().ok() == Some(ip))
            })
    };
    match uri.scheme_str() {
        Some("https") => Ok(text.to_owned()),
        Some("http") if local(host) => Ok(text.to_owned()),
        Some("http") => Err(format!(
            "the SDKs take plain http only to loopback, 169.254.170.2, 169.254.170.23 or fd00:ec2::23, not {host}: use one of those (the agent's address), {EXAMPLE}, or https"
        )),
        _ => Err(format!(
            "give the agent's endpoint as an absolute http or https URL, {EXAMPLE}"
        )),
    }
}

/// A budget the webhook configuration can carry: `timeoutSeconds` is at most 30.
fn budget(text: &str) -> Result<Duration, String> {
    let budget = crate::io::parse_timeout(text)?;
    if budget > Duration::from_secs(29) {
        return Err(
            "the apiserver waits 30 s at most for a webhook: give a budget of 29s or less"
                .to_owned(),
        );
    }
    Ok(budget)
}

/// Arguments of `irsa webhook certs`.
#[derive(Debug, clap::Args)]
pub(crate) struct CertArgs {
    /// The webhook's namespace (the certificate names its Service there).
    #[arg(long, value_name = "NAMESPACE", default_value = "irsa-webhook")]
    namespace: String,
    /// The directory for ca.crt, tls.crt and tls.key (created; the key is written 0600).
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
}

/// The webhook's name: Service, Deployment, ServiceAccount, Secret and configuration.
const NAME: &str = "irsa-webhook";
const PORT: u16 = 8443;
const METRICS_PORT: u16 = 9999;
/// Seconds between SIGTERM and SIGKILL: the shutdown delay (5 s) and the drain (10 s), with
/// room to spare.
const GRACE_SECONDS: u32 = 30;

/// The Service's DNS names, as the apiserver and the Go webhook's in-cluster mode name it.
fn dns_names(namespace: &str) -> Vec<String> {
    vec![
        NAME.to_owned(),
        format!("{NAME}.{namespace}"),
        format!("{NAME}.{namespace}.svc"),
        format!("{NAME}.{namespace}.svc.cluster.local"),
    ]
}

/// A CA, and a serving certificate it signed, in PEM.
struct Pair {
    ca: String,
    cert: String,
    key: String,
}

/// The CA lives ten years, the serving certificate two; `irsa webhook certs` makes new ones.
fn make_pair(namespace: &str) -> Result<Pair, CliError> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let fail = |e: rcgen::Error| CliError::input("the self-signed certificate", e);
    let now = time::OffsetDateTime::now_utc();
    let ca_key = KeyPair::generate().map_err(fail)?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, format!("{NAME} CA ({namespace})"));
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = now - time::Duration::hours(1);
    ca.not_after = now + time::Duration::days(3650);
    let ca_cert = ca.self_signed(&ca_key).map_err(fail)?;
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = KeyPair::generate().map_err(fail)?;
    let mut leaf = CertificateParams::new(dns_names(namespace)).map_err(fail)?;
    leaf.distinguished_name
        .push(DnType::CommonName, format!("{NAME}.{namespace}.svc"));
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = now - time::Duration::hours(1);
    leaf.not_after = now + time::Duration::days(730);
    let cert = leaf.signed_by(&key, &issuer).map_err(fail)?;
    Ok(Pair {
        ca: ca_cert.pem(),
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

fn read_pair(dir: &Path) -> Result<Pair, CliError> {
    let read = |file: &str| {
        let path = dir.join(file);
        crate::io::read_text(&format!("--tls-dir {}", dir.display()), &path)
    };
    Ok(Pair {
        ca: read("ca.crt")?,
        cert: read("tls.crt")?,
        key: read("tls.key")?,
    })
}

pub(crate) fn certs(args: CertArgs) -> Result<Report, CliError> {
    let pair = make_pair(&args.namespace)?;
    let flag = format!("--out-dir {}", args.out_dir.display());
    std::fs::create_dir_all(&args.out_dir)
        .map_err(|e| CliError::input(&flag, format!("cannot create the directory ({e})")))?;
    for (file, text, secret) in [
        ("ca.crt", &pair.ca, false),
        ("tls.crt", &pair.cert, false),
        ("tls.key", &pair.key, true),
    ] {
        let path = args.out_dir.join(file);
        let written = if secret {
            crate::io::write_secret(&path, text.as_bytes())
        } else {
            irsa::env::write_atomic(&path, text.as_bytes(), 0o644)
        };
        written.map_err(|e| {
            CliError::input(&flag, format!("cannot write {} ({e})", path.display()))
        })?;
    }
    let human = format!(
        "wrote {dir}/ca.crt, {dir}/tls.crt and {dir}/tls.key (0600) for {names}\n",
        dir = args.out_dir.display(),
        names = dns_names(&args.namespace).join(", ")
    );
    let json = json!({"dir": args.out_dir, "files": ["ca.crt", "tls.crt", "tls.key"], "dns_names": dns_names(&args.namespace)});
    Ok(Report {
        human,
        json: json.to_string(),
        refused: false,
    })
}

pub(crate) fn manifests(args: ManifestArgs) -> Result<Report, CliError> {
    let pair = match (args.tls, &args.tls_dir) {
        (Tls::SelfSigned, Some(dir)) => Some(read_pair(dir)?),
        (Tls::SelfSigned, None) => Some(make_pair(&args.namespace)?),
        (Tls::CertManager, Some(_)) => {
            return Err(CliError::input(
                "--tls-dir",
                "only read with --tls self-signed; cert-manager makes its own certificate",
            ));
        }
        (Tls::CertManager, None) => None,
    };
    let documents = documents(&args, pair.as_ref());
    let yaml = yaml_stream(&documents)?;
    if pair.is_some() {
        eprintln!(
            "irsa: the manifests hold the webhook's private key (Secret {}/{NAME}-tls): keep them as a secret",
            args.namespace
        );
    }
    match &args.out {
        Some(path) if pair.is_some() => {
            crate::io::write_secret(path, yaml.as_bytes()).map_err(|e| {
                CliError::input(
                    format!("--out {}", path.display()),
                    format!("cannot write ({e})"),
                )
            })?;
            Ok(Report {
                human: format!(
                    "wrote {} ({} manifests, 0600: it holds the key)\n",
                    path.display(),
                    documents.len()
                ),
                json: json!({"out": path, "manifests": documents.len()}).to_string(),
                refused: false,
            })
        }
        out => report(documents, yaml, out.as_deref()),
    }
}

/// Manifests as one YAML stream, each document after `---`.
pub(crate) fn yaml_stream(documents: &[Value]) -> Result<String, CliError> {
    let mut yaml = String::new();
    for document in documents {
        yaml.push_str("---\n");
        yaml.push_str(
            &serde_norway::to_string(document).map_err(|e| CliError::input("the manifests", e))?,
        );
    }
    Ok(yaml)
}

/// Manifests without a secret: written to `out` (atomically) or printed — YAML for people, a
/// JSON array for machines.
pub(crate) fn report(
    documents: Vec<Value>,
    yaml: String,
    out: Option<&Path>,
) -> Result<Report, CliError> {
    match out {
        Some(path) => {
            crate::io::write_atomic(path, yaml.as_bytes())?;
            Ok(Report {
                human: format!("wrote {} ({} manifests)\n", path.display(), documents.len()),
                json: json!({"out": path, "manifests": documents.len()}).to_string(),
                refused: false,
            })
        }
        None => Ok(Report {
            json: Value::Array(documents).to_string(),
            human: yaml,
            refused: false,
        }),
    }
}

/// Every manifest, in the order `kubectl apply` needs them.
fn documents(args: &ManifestArgs, pair: Option<&Pair>) -> Vec<Value> {
    let ns = args.namespace.as_str();
    let labels = json!({"app.kubernetes.io/name": NAME});
    let meta = |name: &str| json!({"name": name, "namespace": ns, "labels": labels});
    let mut docs = vec![
        json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "labels": {
                "app.kubernetes.io/name": NAME,
                "pod-security.kubernetes.io/enforce": "restricted",
            }},
        }),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(NAME)}),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": NAME, "labels": labels},
            "rules": [{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get", "list", "watch"]}],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": NAME, "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": ns}],
        }),
    ];
    match pair {
        Some(pair) => docs.push(json!({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": meta(&format!("{NAME}-tls")),
            "stringData": {"ca.crt": pair.ca, "tls.crt": pair.cert, "tls.key": pair.key},
        })),
        None => {
            // A CA of the webhook's own (ten years) signs the serving certificate (one year,
            // renewed a month ahead): the caBundle cainjector writes is the CA's, which does not
            // change when the serving certificate does, so a renewal never leaves the apiserver
            // trusting a certificate the pods do not serve yet.
            let ca = format!("{NAME}-ca");
            docs.push(json!({
                "apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                "metadata": meta(&format!("{NAME}-selfsigned")),
                "spec": {"selfSigned": {}},
            }));
            docs.push(json!({
                "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                "metadata": meta(&ca),
                "spec": {
                    "isCA": true,
                    "commonName": format!("{NAME} CA ({ns})"),
                    "secretName": ca,
                    "duration": "87600h", "renewBefore": "720h",
                    "privateKey": {"algorithm": "ECDSA", "size": 256},
                    "issuerRef": {"kind": "Issuer", "name": format!("{NAME}-selfsigned")},
                },
            }));
            docs.push(json!({
                "apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                "metadata": meta(&ca),
                "spec": {"ca": {"secretName": ca}},
            }));
            docs.push(json!({
                "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                "metadata": meta(NAME),
                "spec": {
                    "secretName": format!("{NAME}-tls"),
                    "dnsNames": dns_names(ns),
                    "duration": "8760h", "renewBefore": "720h",
                    "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                    "issuerRef": {"kind": "Issuer", "name": ca},
                },
            }));
        }
    }
    docs.push(deployment(args, &labels));
    // One replica cannot be kept up through a drain: a budget would only block it.
    if args.replicas >= 2 {
        docs.push(json!({
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": meta(NAME),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}},
        }));
    }
    docs.push(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": meta(NAME),
        "spec": {
            "selector": labels,
            "ports": [
                {"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"},
                {"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"},
            ],
        },
    }));
    docs.push(webhook_configuration(args, pair));
    docs
}

fn deployment(args: &ManifestArgs, labels: &Value) -> Value {
    let mut deployment = deployment_without_priority(args, labels);
    if !args.priority_class.is_empty()
        && let Some(spec) = deployment
            .pointer_mut("/spec/template/spec")
            .and_then(Value::as_object_mut)
    {
        spec.insert("priorityClassName".to_owned(), json!(args.priority_class));
    }
    deployment
}

fn deployment_without_priority(args: &ManifestArgs, labels: &Value) -> Value {
    let mut serve = vec![
        "webhook".to_owned(),
        "serve".to_owned(),
        format!("--port={PORT}"),
        format!("--metrics-port={METRICS_PORT}"),
        "--tls-cert=/etc/webhook/certs/tls.crt".to_owned(),
        "--tls-key=/etc/webhook/certs/tls.key".to_owned(),
        format!("--annotation-prefix={}", args.annotation_prefix),
        format!("--token-audience={}", args.token_audience),
        format!("--admission-budget={}ms", args.admission_budget.as_millis()),
    ];
    if let Some(region) = &args.aws_default_region {
        serve.push(format!("--aws-default-region={region}"));
    }
    if args.sts_regional_endpoint {
        serve.push("--sts-regional-endpoint=true".to_owned());
    }
    if let Some(uri) = &args.container_credentials_full_uri {
        serve.push(format!("--container-credentials-full-uri={uri}"));
        serve.push(format!(
            "--container-credentials-audience={}",
            args.container_credentials_audience
        ));
    }
    let probe = |path: &str, port: &str, scheme: &str, period: u32| json!({"httpGet": {"path": path, "port": port, "scheme": scheme}, "periodSeconds": period, "failureThreshold": 3});
    let mut pod_labels = labels.clone();
    if let Some(map) = pod_labels.as_object_mut() {
        // The webhook never waits on itself to start.
        map.insert(SKIP_LABEL.to_owned(), json!("true"));
    }
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": args.namespace, "labels": labels},
        "spec": {
            "replicas": args.replicas,
            "selector": {"matchLabels": labels},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "serviceAccountName": NAME,
                    "terminationGracePeriodSeconds": GRACE_SECONDS,
                    "securityContext": {
                        "runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "topologySpreadConstraints": [{
                        "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": labels},
                    }],
                    "containers": [{
                        "name": "webhook",
                        "image": args.image,
                        "args": serve,
                        "ports": [
                            {"name": "https", "containerPort": PORT, "protocol": "TCP"},
                            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
                        ],
                        // Ready only when the HTTPS port itself answers (its certificate loaded).
                        "readinessProbe": probe("/readyz", "https", "HTTPS", 5),
                        "livenessProbe": probe("/healthz", "metrics", "HTTP", 10),
                        "resources": {
                            "requests": {"cpu": "50m", "memory": "64Mi"},
                            "limits": {"memory": "256Mi"},
                        },
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "capabilities": {"drop": ["ALL"]},
                        },
                        "volumeMounts": [{"name": "certs", "mountPath": "/etc/webhook/certs", "readOnly": true}],
                    }],
                    "volumes": [{"name": "certs", "secret": {"secretName": format!("{NAME}-tls")}}],
                },
            },
        },
    })
}

fn webhook_configuration(args: &ManifestArgs, pair: Option<&Pair>) -> Value {
    let ns = args.namespace.as_str();
    // The budget rounded up, and a second for the network: the apiserver gives up after this.
    let timeout = args.admission_budget.as_millis().div_ceil(1000) + 1;
    let not_ours = json!({"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": [ns, "kube-system"]});
    let skip = json!({"key": SKIP_LABEL, "operator": "DoesNotExist"});
    let required = |yes: bool| json!({"key": REQUIRE_CREDENTIALS_LABEL, "operator": if yes { "In" } else { "NotIn" }, "values": ["true"]});
    let ca_bundle = pair.map(|pair| base64_simd::STANDARD.encode_to_string(pair.ca.as_bytes()));
    let entry = |name: String,
                 path: &str,
                 policy: &str,
                 object: Vec<&Value>,
                 namespace: Vec<&Value>| {
        let service = json!({"name": NAME, "namespace": ns, "port": 443, "path": path});
        let client = match &ca_bundle {
            Some(ca) => json!({"service": service, "caBundle": ca}),
            None => json!({"service": service}),
        };
        json!({
            "name": name,
            "admissionReviewVersions": ["v1", "v1beta1"],
            "sideEffects": "None",
            "failurePolicy": policy,
            "reinvocationPolicy": "IfNeeded",
            "timeoutSeconds": timeout,
            "matchPolicy": "Equivalent",
            "clientConfig": client,
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "Namespaced"}],
            "objectSelector": {"matchExpressions": object},
            "namespaceSelector": {"matchExpressions": namespace},
        })
    };
    let (yes, no) = (required(true), required(false));
    let labels = json!({"app.kubernetes.io/name": NAME});
    let metadata = match pair {
        Some(_) => json!({"name": NAME, "labels": labels}),
        // cert-manager's cainjector writes the Certificate's CA into every caBundle.
        None => json!({"name": NAME, "labels": labels,
            "annotations": {"cert-manager.io/inject-ca-from": format!("{ns}/{NAME}-ca")}}),
    };
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": metadata,
        "webhooks": [
            // Every pod that did not ask for more: an outage admits it without credentials.
            entry(format!("{NAME}.{ns}.svc"), MUTATE_PATH, "Ignore", vec![&skip, &no], vec![&not_ours, &no]),
            // Pods labelled as needing credentials: refused rather than started without them.
            entry(format!("required-pods.{NAME}.{ns}.svc"), MUTATE_FAIL_CLOSED_PATH, "Fail", vec![&skip, &yes], vec![&not_ours]),
            // Every pod of a namespace labelled so (pods not labelled themselves).
            entry(format!("required-namespaces.{NAME}.{ns}.svc"), MUTATE_FAIL_CLOSED_PATH, "Fail", vec![&skip, &no], vec![&not_ours, &yes]),
        ],
    })
}
