//! `irsa setup` (the AWS side, planned and applied), `irsa apiserver` (the static pod
//! manifest's flags) and `irsa service-accounts` (the annotated ServiceAccounts).

use std::path::{Path, PathBuf};

use irsa::env::ProcessEnvironment;
use irsa::setup::apiserver::{ApiserverFlags, Manifest};
use irsa::setup::service_accounts::manifests;
use irsa::setup::{Aws, Desired, Plan, PlanOptions, SetupFile, Verification};
use serde_json::json;

use crate::io::{CliError, read_text, write_atomic};
use crate::render::{self, BAD, BOLD, DIM, OK, Report, Text, WARN, paint};

/// Arguments of `irsa setup`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The setup file (YAML or JSON): cluster (issuer, keys, audiences), account, roles.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Make the changes (in dependency order), then read everything back and fetch both
    /// documents anonymously. Without it, nothing is changed.
    #[arg(long)]
    apply: bool,
    /// Also remove what irsa wrote before and the file no longer lists (its statements,
    /// attachments, inline policies, client IDs of a provider it created). Never anything else.
    #[arg(long)]
    prune: bool,
    /// Allow dropping keys from the published key set (rotation stage 3), once the longest
    /// token lifetime has passed since the signing key switched.
    #[arg(long)]
    allow_key_removal: bool,
}

/// Arguments of `irsa apiserver`.
#[derive(Debug, clap::Args)]
pub(crate) struct ApiserverArgs {
    /// The kube-apiserver static pod manifest.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/etc/kubernetes/manifests/kube-apiserver.yaml"
    )]
    manifest: PathBuf,
    /// The setup file.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Where the key files are on the node (the apiserver pod mounts kubeadm's pki directory).
    #[arg(long, value_name = "DIR", default_value = "/etc/kubernetes/pki")]
    pki_dir: String,
    /// Replace the manifest (atomically, with its own mode and owner; refused when it changed
    /// since it was read). The first previous text is kept as `.kube-apiserver.yaml.irsa-backup`
    /// and never overwritten, later ones with a timestamp; the kubelet ignores dot-files.
    /// Without it, only the diff is shown.
    #[arg(long)]
    write: bool,
}

/// Arguments of `irsa service-accounts`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServiceAccountsArgs {
    /// The setup file.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The account, when the file does not name it.
    #[arg(long, value_name = "ID")]
    account: Option<String>,
    /// Write one `NAMESPACE.NAME.yaml` per service account into DIR instead of printing them.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

fn load(config: &Path) -> Result<SetupFile, CliError> {
    SetupFile::load(config)
        .map_err(|e| CliError::input(format!("--config {}", config.display()), e))
}

pub(crate) fn run(args: Args) -> Result<Report, CliError> {
    let file = load(&args.config)?;
    let options = PlanOptions::default()
        .prune(args.prune)
        .allow_key_removal(args.allow_key_removal);
    let region = file
        .cluster()
        .s3()
        .map(|s| s.region().to_owned())
        .unwrap_or_else(|| "us-east-1".to_owned());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::input("irsa setup", e))?;
    let aws_failed = |e: irsa::setup::SetupError| CliError::refused("AWS", e);
    runtime.block_on(async {
        let aws = Aws::from_default_chain(&region, &ProcessEnvironment)
            .await
            .map_err(aws_failed)?;
        let account = aws.account(&file).await.map_err(aws_failed)?;
        let flag = format!("--config {}", args.config.display());
        let desired = Desired::new(&file, account.clone()).map_err(|e| CliError::input(flag, e))?;
        let (_, plan) = aws.plan(&desired, options).await.map_err(|e| match e {
            irsa::setup::SetupError::Plan(plan @ irsa::setup::PlanError::KeyRemoval { .. }) => {
                CliError::refused(format!("--config {}", args.config.display()), plan)
                    .with_next_step("rerun with --allow-key-removal once that time has passed")
            }
            irsa::setup::SetupError::Plan(plan) => {
                CliError::refused(format!("--config {}", args.config.display()), plan)
            }
            other => aws_failed(other),
        })?;
        let verification = if args.apply {
            let mut progress = crate::progress::Progress::stderr();
            let mut made = Vec::new();
            aws.apply_each(&plan.changes, |change| {
                progress.step(format_args!("made: {}", change.summary()));
                made.push(change.summary());
            })
            .await
            .map_err(|e| {
                // A change of more than one call (create, then tag or wait) can fail half-way.
                let failed = plan
                    .changes
                    .get(made.len())
                    .map(|c| format!("; the failing change ({}) may be partly made", c.summary()))
                    .unwrap_or_default();
                let done = match made.as_slice() {
                    [] => format!("no change was complete before it{failed}"),
                    made => format!(
                        "{} of the plan's {} changes were made before it ({}){failed}; the next run plans from there",
                        made.len(),
                        plan.changes.len(),
                        made.join("; ")
                    ),
                };
                CliError::refused("AWS", format!("{}; {done}", irsa::ErrorChain(&e)))
            })?;
            Some(aws.verify(&desired, options).await.map_err(aws_failed)?)
        } else {
            None
        };
        Ok(report(
            &desired,
            account.as_str(),
            &plan,
            verification.as_ref(),
        ))
    })
}

fn report(
    desired: &Desired,
    account: &str,
    plan: &Plan,
    verification: Option<&Verification>,
) -> Report {
    let issuer = desired.publishing().issuer().as_str();
    let mut text = Text::default();
    text.line(format!(
        "{} {issuer} (account {account})",
        paint(BOLD, "irsa setup")
    ));
    text.line(format!("keys: {}", plan.rotation.describe()));
    if plan.changes.is_empty() {
        text.line(format!(
            "{} AWS matches the file: nothing to change",
            paint(OK, render::PASS)
        ));
    } else {
        let verb = if verification.is_some() {
            "made"
        } else {
            "to make"
        };
        text.line(format!(
            "{} {verb}:",
            render::count(plan.changes.len(), "change", "changes")
        ));
        for change in &plan.changes {
            text.line(format!(
                "  {} {:<40} {}",
                paint(BOLD, "+"),
                change.call(),
                change.summary()
            ));
            if let Some((before, after)) = change.documents() {
                for line in document_diff(before, after) {
                    let style = match line.chars().next() {
                        Some('+') => OK,
                        Some('-') => BAD,
                        _ => DIM,
                    };
                    text.line(format!("      {}", paint(style, line)));
                }
            }
        }
    }
    for note in &plan.notes {
        text.line(format!(
            "{} {}: {}",
            paint(WARN, "!"),
            note.subject,
            note.message
        ));
    }
    let mut refused = false;
    match verification {
        None if !plan.changes.is_empty() => {
            text.line("nothing was changed: run again with --apply to make these changes")
        }
        None => {}
        Some(v) => {
            for check in &v.documents {
                match &check.problem {
                    None => text.line(format!(
                        "{} anonymous GET {}: the bytes written",
                        paint(OK, render::PASS),
                        check.url
                    )),
                    Some(problem) => text.line(format!(
                        "{} anonymous GET {}: {problem}",
                        paint(BAD, render::FAIL),
                        check.url
                    )),
                }
            }
            if v.remaining.is_empty() {
                text.line(format!(
                    "{} a fresh read plans nothing: applied and converged",
                    paint(OK, render::PASS)
                ));
            } else {
                for change in &v.remaining {
                    text.line(format!(
                        "{} still differs: {}",
                        paint(BAD, render::FAIL),
                        change.summary()
                    ));
                }
            }
            refused = !v.passed();
        }
    }
    let json = json!({
        "issuer": issuer,
        "account": account,
        "provider_arn": desired.provider_arn().to_string(),
        "rotation": plan.rotation,
        "changes": plan.changes,
        "notes": plan.notes,
        "applied": verification.is_some(),
        "verification": verification,
    });
    Report {
        human: text.into_string(),
        json: render::pretty(&json),
        refused,
    }
}

/// Both sides pretty-printed when they are JSON, then a line diff.
fn document_diff(before: Option<&str>, after: &str) -> Vec<String> {
    let pretty = |text: &str| {
        serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| text.to_owned())
    };
    let before: Vec<String> = before
        .map(pretty)
        .map(|t| t.lines().map(str::to_owned).collect())
        .unwrap_or_default();
    let after: Vec<String> = pretty(after).lines().map(str::to_owned).collect();
    irsa::__private::line_diff(&before, &after)
}

pub(crate) fn apiserver(args: ApiserverArgs) -> Result<Report, CliError> {
    let file = load(&args.config)?;
    let flag = format!("--manifest {}", args.manifest.display());
    let text = read_text("--manifest", &args.manifest)?;
    let manifest = Manifest::parse(&text).map_err(|e| CliError::input(flag.clone(), e))?;
    let flags = ApiserverFlags::for_setup(&file, &args.pki_dir);
    let edit = manifest
        .edit(&flags)
        .map_err(|e| CliError::input(flag.clone(), e))?;
    let base = args.config.parent().unwrap_or(Path::new("."));
    let problems = key_file_problems(&file, base, edit.after());
    if args.write
        && let Some(first) = problems.first()
    {
        return Err(CliError::refused(
            format!("--manifest {}", args.manifest.display()),
            format!("{first}; nothing was written"),
        ));
    }
    let written = args.write && edit.changed();
    let backup = if written {
        edit.write(&args.manifest, &text, crate::verify::now_or(None))
            .map_err(|e| CliError::refused(flag.clone(), e))?
    } else {
        PathBuf::new()
    };
    let mut out = Text::default();
    out.line(format!(
        "{} {}",
        paint(BOLD, "kube-apiserver command"),
        args.manifest.display()
    ));
    for line in edit.diff() {
        match line.chars().next() {
            Some('+') => out.line(format!("  {}", paint(OK, line))),
            Some('-') => out.line(format!("  {}", paint(BAD, line))),
            _ => {}
        }
    }
    if !edit.changed() {
        out.line(format!(
            "{} the manifest already has these flags",
            paint(OK, render::PASS)
        ));
    } else if written {
        out.line(format!(
            "{} written; the previous manifest is {} (the kubelet restarts the apiserver)",
            paint(OK, render::PASS),
            backup.display()
        ));
    } else {
        out.line("nothing was written: run again with --write to replace the manifest (on every control-plane node)");
    }
    for problem in &problems {
        out.line(format!(
            "{} {problem}: --write would refuse",
            paint(BAD, render::FAIL)
        ));
    }
    out.line(paint(DIM, "--service-account-signing-key-file is yours to switch: at rotation stage 2 point it at the next key"));
    if edit.changed() {
        out.line(paint(WARN, "kubeadm upgrade regenerates this manifest from its ClusterConfiguration: put the same flags in apiServer.extraArgs (kubectl -n kube-system edit cm kubeadm-config), or run irsa apiserver --write again after each upgrade"));
    }
    let json = json!({
        "manifest": args.manifest,
        "changed": edit.changed(),
        "written": written,
        "backup": written.then(|| backup.display().to_string()),
        "before": edit.before(),
        "after": edit.after(),
        "problems": problems,
    });
    Ok(Report {
        human: out.into_string(),
        json: render::pretty(&json),
        refused: false,
    })
}

/// What would keep the edited apiserver from starting, or from signing tokens STS accepts,
/// read on this node: a `--service-account-key-file` that is missing or holds a key the setup
/// file does not publish (its name is one of the file's keys), and a signing key whose public
/// half is not published. The paths are the container's, which kubeadm mounts from the same
/// host paths.
fn key_file_problems(file: &SetupFile, base: &Path, command: &[String]) -> Vec<String> {
    let published: Vec<&str> = file
        .cluster()
        .keys()
        .keys()
        .iter()
        .filter_map(|k| k.kid())
        .collect();
    let names: Vec<&std::ffi::OsStr> = file
        .cluster()
        .key_files()
        .iter()
        .filter_map(|p| p.file_name())
        .collect();
    let flag = |name: &str| {
        let prefix = format!("--{name}=");
        command
            .iter()
            .filter_map(move |arg| arg.strip_prefix(prefix.as_str()).map(str::to_owned))
            .collect::<Vec<_>>()
    };
    let kids = |keys: &[irsa::oidc::PublicKey]| -> Vec<String> {
        irsa::oidc::JwkSet::from_public_keys(keys)
            .map(|set| {
                set.keys()
                    .iter()
                    .filter_map(|k| k.kid().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    // The kids of each of the setup file's key files, by file name: a node file of that name
    // must hold exactly those.
    let expected = |name: &std::ffi::OsStr| -> Option<Vec<String>> {
        let path = file
            .cluster()
            .key_files()
            .iter()
            .find(|p| p.file_name() == Some(name))?;
        let text = std::fs::read_to_string(base.join(path)).ok()?;
        let mut kids = kids(&irsa::oidc::PublicKey::from_pem(&text).ok()?);
        kids.sort();
        Some(kids)
    };
    let mut problems = Vec::new();
    for path in flag("service-account-key-file") {
        let Some(name) = Path::new(&path).file_name().filter(|n| names.contains(n)) else {
            continue;
        };
        match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => problems.push(format!(
                "{path} is not on this node: copy the setup file's key there on every control-plane node first (the apiserver would not start)"
            )),
            Err(e) => problems.push(format!("{path} cannot be read ({e})")),
            Ok(text) => {
                let keys = irsa::oidc::PublicKey::from_pem(&text).unwrap_or_default();
                let mut found = kids(&keys);
                found.sort();
                let same = match expected(name) {
                    Some(wanted) => found == wanted,
                    // The setup's own file cannot be read again: any published key will do.
                    None => found.iter().all(|kid| published.contains(&kid.as_str())),
                };
                if found.is_empty() || !same {
                    problems.push(format!(
                        "{path} is not the key the setup file publishes under that name (it holds {}): copy the setup file's key there",
                        if found.is_empty() { "no public key irsa reads".to_owned() } else { format!("kid {}", found.join(", ")) }
                    ));
                }
            }
        }
    }
    for path in flag("service-account-signing-key-file") {
        match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => problems.push(format!(
                "the signing key {path} is not on this node (the apiserver would not start)"
            )),
            // Not readable here (not root?): nothing to judge.
            Err(_) => {}
            Ok(text) => {
                if let Ok(key) = irsa::token::SigningKey::from_pem(&text) {
                    let kid = kids(std::slice::from_ref(key.public_key()));
                    if !kid.iter().all(|kid| published.contains(&kid.as_str())) {
                        problems.push(format!(
                            "the apiserver signs with {path} (kid {}), which the setup file does not publish: STS would refuse every token; add its public key to cluster.keys and apply first",
                            kid.join(", ")
                        ));
                    }
                }
            }
        }
    }
    problems
}

pub(crate) fn service_accounts(args: ServiceAccountsArgs) -> Result<Report, CliError> {
    let file = load(&args.config)?;
    let account = match (file.account(), &args.account) {
        (_, Some(id)) => id
            .parse()
            .map_err(|e| CliError::input(format!("--account {id}"), e))?,
        (Some(account), None) => account.clone(),
        (None, None) => {
            return Err(CliError::input(
                "--account",
                "the file names no account: set account in it or pass --account ID",
            ));
        }
    };
    let desired = Desired::new(&file, account)
        .map_err(|e| CliError::input(format!("--config {}", args.config.display()), e))?;
    let audience = file
        .cluster()
        .audiences()
        .first()
        .map_or("sts.amazonaws.com", String::as_str);
    let sas = manifests(&desired, audience);
    // A role granted to whole namespaces has no ServiceAccount to write: say which to annotate.
    for role in desired.roles() {
        let namespaces = role.spec().namespaces();
        if !namespaces.is_empty() {
            let audience_too = if audience == irsa::oidc::DEFAULT_AUDIENCE {
                String::new()
            } else {
                format!(
                    " and {}: {audience}",
                    irsa::setup::service_accounts::AUDIENCE_ANNOTATION
                )
            };
            eprintln!(
                "irsa: note: role {} is for every ServiceAccount in namespace(s) {}: annotate those you want with {}: {}{audience_too} (no file is written for them)",
                role.spec().name(),
                namespaces.join(", "),
                irsa::setup::service_accounts::ROLE_ARN_ANNOTATION,
                role.arn()
            );
        }
    }
    let mut human = String::new();
    if let Some(dir) = &args.out {
        for sa in &sas {
            let path = dir.join(sa.file_name());
            write_atomic(&path, sa.yaml.as_bytes())?;
            human.push_str(&format!("wrote {}\n", path.display()));
        }
    } else {
        let documents: Vec<&str> = sas.iter().map(|s| s.yaml.as_str()).collect();
        human = documents.join("---\n");
    }
    let json = json!(
        sas.iter()
            .map(|s| json!({"namespace": s.namespace, "name": s.name, "yaml": s.yaml}))
            .collect::<Vec<_>>()
    );
    Ok(Report {
        human,
        json: render::pretty(&json),
        refused: false,
    })
}
