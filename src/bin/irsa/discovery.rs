//! `irsa discovery`: the issuer's documents, bucket policy, IAM provider and apiserver flags.

use std::path::{Path, PathBuf};

use irsa::arn::{AccountId, Partition};
use irsa::oidc::{IssuerUrl, JwkSet, OpenIdConfiguration, PublicKey, PublishingPlan, S3Issuer};
use serde_json::{Value, json};

use crate::io::{CliError, read_input, read_text, write_atomic};
use crate::progress::Progress;
use crate::render::{BOLD, DIM, OK, PASS, Report, Text, WARN, clean, list, paint, pretty};
use crate::value;

/// Arguments of `irsa discovery`.
#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "With -o json: {\"issuer\",\"provider_url\",\"provider_arn\",\"condition_keys\",\"objects\",\"bucket_policy\",\"iam_oidc_provider\",\"kube_apiserver_flags\",\"notes\"}; with --out: {\"issuer\",\"provider_arn\",\"written\",\"notes\"}. Described in docs/cli-json.md#irsa-discovery."
)]
#[command(group(clap::ArgGroup::new("issuer-source").required(true).args(["issuer", "s3_bucket"])))]
pub(crate) struct Args {
    /// The issuer URL, exactly as kube-apiserver will put it in tokens (https, no port).
    #[arg(long, value_name = "URL", value_parser = value::issuer)]
    issuer: Option<IssuerUrl>,
    /// Host the issuer in this S3 bucket (virtual-hosted: https://BUCKET.s3.REGION.amazonaws.com).
    #[arg(long, value_name = "BUCKET", requires = "s3_region")]
    s3_bucket: Option<String>,
    /// The bucket's region.
    #[arg(long, value_name = "REGION", requires = "s3_bucket")]
    s3_region: Option<String>,
    /// Key prefix inside the bucket, e.g. `clusters/prod`.
    #[arg(long, value_name = "PREFIX", requires = "s3_bucket")]
    s3_prefix: Option<String>,
    /// End the S3 issuer with `/` (some guides do; either works when used consistently).
    #[arg(long, requires = "s3_bucket")]
    trailing_slash: bool,
    /// A PEM file with public or private keys (e.g. /etc/kubernetes/pki/sa.pub); repeatable.
    /// Only public halves are ever written. `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    public_key: Vec<PathBuf>,
    /// A key set, e.g. from `kubectl get --raw /openid/v1/jwks`; repeatable, merged by kid. `-`
    /// reads stdin.
    #[arg(long, value_name = "FILE")]
    jwks: Vec<PathBuf>,
    /// The apiserver's discovery document (`kubectl get --raw /.well-known/openid-configuration`),
    /// rehosted at the issuer; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    openid_configuration: Option<PathBuf>,
    /// An audience (IAM client ID) STS accepts; repeatable. Default: sts.amazonaws.com.
    #[arg(long, value_name = "AUDIENCE")]
    audience: Vec<String>,
    /// The AWS account ID, to print the OIDC provider's ARN.
    #[arg(long, value_name = "ID")]
    account: Option<AccountId>,
    /// The partition of the provider ARN (aws, aws-cn, aws-us-gov). Default: the bucket's, or aws.
    #[arg(long, value_name = "PARTITION")]
    partition: Option<Partition>,
    /// An issuer the cluster uses today; repeatable. Kept after the new one so its tokens stay
    /// valid while pods pick up new tokens.
    #[arg(long, value_name = "URL")]
    existing_issuer: Vec<String>,
    /// Write the files into DIR instead of printing them.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// The plan, or what was written into `--out`.
pub(crate) fn run(args: Args) -> Result<Report, CliError> {
    let issuer = issuer(&args)?;
    let keys = keys(&args)?;
    let mut builder = PublishingPlan::builder(issuer.clone(), keys);
    let mut apiserver_issuer = None;
    if let Some(path) = &args.openid_configuration {
        let doc = OpenIdConfiguration::parse(&read_input("--openid-configuration", path)?)
            .map_err(|e| {
                CliError::input(format!("--openid-configuration {}", path.display()), e)
            })?;
        apiserver_issuer = Some(doc.issuer().clone());
        builder = builder.configuration(doc);
    }
    for audience in &args.audience {
        builder = builder.audience(audience.clone());
    }
    for existing in &args.existing_issuer {
        builder = builder.existing_issuer(existing.clone());
    }
    if let Some(account) = &args.account {
        builder = builder.account(account.clone());
    }
    if let Some(partition) = args.partition {
        builder = builder.partition(partition);
    }
    let plan = builder
        .build()
        .map_err(|e| CliError::input(issuer_flag(&args), e))?;
    let notes = notes(&args, &plan, apiserver_issuer.as_ref());
    match &args.out {
        None => Ok(Report {
            human: human(&plan, &notes),
            json: pretty(&summary(&plan, notes)),
            refused: false,
        }),
        Some(dir) => write_files(dir, &plan, notes),
    }
}

fn issuer_flag(args: &Args) -> String {
    match (&args.issuer, &args.s3_bucket) {
        (Some(issuer), _) => format!("--issuer {}", issuer.as_str()),
        (None, Some(bucket)) => format!("--s3-bucket {bucket}"),
        (None, None) => "issuer".to_owned(),
    }
}

fn issuer(args: &Args) -> Result<IssuerUrl, CliError> {
    if let Some(url) = &args.issuer {
        return Ok(url.clone());
    }
    let (Some(bucket), Some(region)) = (&args.s3_bucket, &args.s3_region) else {
        return Err(CliError::input(
            "--issuer",
            "give --issuer URL, or --s3-bucket and --s3-region",
        ));
    };
    let mut s3 = S3Issuer::new(bucket, region)
        .map_err(|e| CliError::input(format!("--s3-bucket {bucket} --s3-region {region}"), e))?;
    if let Some(prefix) = &args.s3_prefix {
        s3 = s3
            .with_prefix(prefix)
            .map_err(|e| CliError::input(format!("--s3-prefix {prefix}"), e))?;
    }
    if args.trailing_slash {
        s3 = s3.with_trailing_slash(true);
    }
    Ok(s3.issuer())
}

fn keys(args: &Args) -> Result<JwkSet, CliError> {
    let mut set: Option<JwkSet> = None;
    let mut add = |more: JwkSet, input: String| -> Result<(), CliError> {
        set = Some(match set.take() {
            None => more,
            Some(set) => set.merge(&more).map_err(|e| CliError::input(input, e))?,
        });
        Ok(())
    };
    for path in &args.public_key {
        let input = format!("--public-key {}", path.display());
        let keys = PublicKey::from_pem(&read_text("--public-key", path)?)
            .map_err(|e| CliError::input(input.clone(), e))?;
        let more =
            JwkSet::from_public_keys(&keys).map_err(|e| CliError::input(input.clone(), e))?;
        add(more, input)?;
    }
    for path in &args.jwks {
        let input = format!("--jwks {}", path.display());
        let more = JwkSet::parse(&read_input("--jwks", path)?)
            .map_err(|e| CliError::input(input.clone(), e))?;
        add(more, input)?;
    }
    set.ok_or_else(|| {
        CliError::input(
            "--public-key",
            "no keys given: pass the apiserver's service-account key with --public-key FILE (e.g. /etc/kubernetes/pki/sa.pub) or its key set with --jwks FILE",
        )
    })
}

/// The plan's next steps, then remarks about the inputs that do not stop the plan but need a
/// person's attention.
fn notes(args: &Args, plan: &PublishingPlan, apiserver_issuer: Option<&IssuerUrl>) -> Vec<String> {
    let mut notes = match &args.out {
        Some(dir) => plan.next_steps_for_files(dir),
        None => plan.next_steps(),
    };
    if let Some(current) = apiserver_issuer
        && current != plan.issuer()
        && !args.existing_issuer.iter().any(|e| e == current.as_str())
    {
        notes.push(format!(
            "the given discovery document came from issuer {current}; pass it with --existing-issuer so running pods keep working during the switch"
        ));
    }
    if plan.keys().keys().iter().any(|k| k.public_key().is_err()) {
        notes.push("the key set holds keys that cannot verify tokens (unknown type, curve, alg or use); they are published unchanged".to_owned());
    }
    notes
}

fn summary(plan: &PublishingPlan, notes: Vec<String>) -> Value {
    json!({
        "issuer": plan.issuer(),
        "provider_url": plan.provider_url(),
        "provider_arn": plan.provider_arn(),
        "condition_keys": {
            "aud": plan.provider_url().condition_key("aud"),
            "sub": plan.provider_url().condition_key("sub"),
        },
        "objects": plan.objects(),
        "bucket_policy": plan.bucket_policy(),
        "iam_oidc_provider": plan.oidc_provider(),
        "kube_apiserver_flags": plan.apiserver_flags(),
        "notes": notes,
    })
}

fn write_files(dir: &Path, plan: &PublishingPlan, notes: Vec<String>) -> Result<Report, CliError> {
    let files: Vec<(PathBuf, Vec<u8>)> = plan
        .files()
        .into_iter()
        .map(|(name, bytes)| (dir.join(name), bytes))
        .collect();
    let mut progress = Progress::stderr();
    for (path, bytes) in &files {
        progress.step(format_args!("writing {}", path.display()));
        write_atomic(path, bytes)?;
    }
    let written: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    let mut text = Text::default();
    text.line(format_args!(
        "{} {} for {}",
        paint(OK, PASS),
        paint(BOLD, format_args!("wrote {} files", written.len())),
        clean(plan.issuer().as_str())
    ));
    for path in &written {
        text.line(format_args!("  {}", clean(path)));
    }
    if let Some(arn) = plan.provider_arn() {
        text.line(format_args!("provider ARN: {}", clean(&arn.to_string())));
    }
    next_steps(&mut text, plan, &notes);
    Ok(Report {
        human: text.into_string(),
        json: pretty(&json!({
            "issuer": plan.issuer(),
            "provider_arn": plan.provider_arn(),
            "written": written,
            "notes": notes,
        })),
        refused: false,
    })
}

/// The plan without `--out`: where things go and what to do, the documents themselves with
/// `-o json` or `--out`.
fn human(plan: &PublishingPlan, notes: &[String]) -> String {
    let mut text = Text::default();
    let url = plan.provider_url();
    // Cleaned here, so that the placeholder's style survives.
    let rows = [
        ("issuer", clean(plan.issuer().as_str()).into_owned()),
        ("provider URL", clean(url.as_str()).into_owned()),
        (
            "provider ARN",
            plan.provider_arn().map_or_else(
                || paint(DIM, "(give --account to get it)"),
                |arn| clean(&arn.to_string()).into_owned(),
            ),
        ),
        (
            "condition keys",
            list(&[url.condition_key("aud"), url.condition_key("sub")]),
        ),
        ("client IDs", list(&plan.oidc_provider().client_ids)),
    ];
    for (label, value) in rows {
        // Padded before styling: escape codes have no width on screen.
        text.line(format_args!(
            "{}{value}",
            paint(BOLD, format_args!("{label:<16}"))
        ));
    }
    text.gap();
    text.line(paint(BOLD, "documents to publish:"));
    for object in plan.objects() {
        text.line(format_args!("  {}", clean(&object.url)));
        text.line(format_args!(
            "    {}",
            paint(
                DIM,
                format_args!(
                    "{} bytes, {}, Cache-Control: {}",
                    object.body.len(),
                    object.content_type,
                    object.cache_control
                )
            )
        ));
    }
    if plan.bucket_policy().is_some() {
        text.line(format_args!(
            "  {}",
            paint(
                DIM,
                "and a bucket policy allowing public s3:GetObject of both"
            )
        ));
    }
    text.gap();
    text.line(paint(BOLD, "kube-apiserver flags:"));
    for flag in plan.apiserver_flags() {
        text.line(format_args!("  {}", clean(flag)));
    }
    next_steps(&mut text, plan, notes);
    text.gap();
    text.line(paint(
        DIM,
        "--out DIR writes the documents, policy and flags as files; -o json prints them all.",
    ));
    text.into_string()
}

/// The plan's next steps numbered, then the remarks about the inputs `notes` adds after them.
fn next_steps(text: &mut Text, plan: &PublishingPlan, notes: &[String]) {
    // The plan's steps come first among the notes, as many with or without files.
    let steps = plan.next_steps().len();
    text.gap();
    text.line(paint(BOLD, "next steps:"));
    for (i, note) in notes.iter().enumerate() {
        if i < steps {
            text.line(format_args!("  {}. {}", i + 1, clean(note)));
        } else {
            text.line(format_args!("  {} {}", paint(WARN, "note:"), clean(note)));
        }
    }
}
