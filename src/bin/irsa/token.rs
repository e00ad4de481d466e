//! `irsa token`: a bound service-account token minted as kube-apiserver would, for tests, CI and
//! local clusters (the real apiserver issues the tokens of real pods).

use std::path::PathBuf;

use irsa::oidc::{DEFAULT_AUDIENCE, IssuerUrl};
use irsa::token::{BoundToken, SigningKey, Subject};
use serde_json::json;

use crate::io::{CliError, read_text};
use crate::render::Report;
use crate::value;
use crate::verify::now_or;

/// Arguments of `irsa token`.
#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "With -o json: {\"token\",\"alg\",\"kid\",\"claims\"}. Described in docs/cli-json.md#irsa-token."
)]
pub(crate) struct Args {
    /// The private key kube-apiserver signs with (its --service-account-signing-key-file): RSA
    /// PKCS#1 or PKCS#8, EC SEC1 or PKCS#8; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    signing_key: PathBuf,
    /// The issuer URL the token carries as `iss` (the apiserver's --service-account-issuer).
    #[arg(long, value_name = "URL", value_parser = value::issuer)]
    issuer: IssuerUrl,
    /// The service account, NAMESPACE:NAME.
    #[arg(long, value_name = "NS:NAME", value_parser = value::service_account)]
    service_account: Subject,
    /// An audience; repeatable. Default: sts.amazonaws.com.
    #[arg(long, value_name = "AUDIENCE")]
    audience: Vec<String>,
    /// The token's lifetime (at least 10 minutes): 86400, 1h, 24h.
    #[arg(long, value_name = "DURATION", default_value = "86400", value_parser = value::duration)]
    expiration_seconds: u64,
    /// The pod the token is bound to.
    #[arg(long, value_name = "NAME")]
    pod: Option<String>,
    /// The node the pod runs on.
    #[arg(long, value_name = "NAME")]
    node: Option<String>,
    /// The token ID; default: a random UUID, as kube-apiserver writes.
    #[arg(long, value_name = "ID")]
    jti: Option<String>,
    /// Issue the token at this time: RFC 3339 or seconds since the Unix epoch. Default: now.
    #[arg(long, value_name = "TIME", value_parser = value::time)]
    now: Option<i64>,
    /// Write the token to FILE as the kubelet writes a projected token (no newline, which
    /// SDKs refuse in an Authorization header; mode 0600, atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// The token alone for people (it is what gets written to a token file), with its claims in
/// JSON.
pub(crate) fn run(args: Args) -> Result<Report, CliError> {
    let pem = read_text("--signing-key", &args.signing_key)?;
    let key = SigningKey::from_pem(&pem)
        .map_err(|e| CliError::input(format!("--signing-key {}", args.signing_key.display()), e))?;
    let jti = match args.jti {
        Some(jti) => jti,
        None => random_uuid()?,
    };
    let mut request = BoundToken::new(args.issuer, args.service_account, jti);
    for audience in &args.audience {
        request = request.audience(audience.as_str());
    }
    if args.audience.is_empty() {
        request = request.audience(DEFAULT_AUDIENCE);
    }
    request =
        request.expiration_seconds(i64::try_from(args.expiration_seconds).unwrap_or(i64::MAX));
    if let Some(pod) = args.pod {
        request = request.pod(pod, None);
    }
    if let Some(node) = args.node {
        request = request.node(node, None);
    }
    let now = now_or(args.now);
    let token = key
        .sign(&request, now)
        .map_err(|e| CliError::input("--expiration-seconds", e))?;
    let json = json!({
        "token": token.expose_secret(),
        "alg": key.algorithm().as_str(),
        "kid": key.public_key().key_id(),
        "claims": request.claims(now),
    });
    if let Some(path) = &args.out {
        crate::io::write_secret(path, token.expose_secret().as_bytes()).map_err(|e| {
            CliError::input(
                format!("--out {}", path.display()),
                format!("cannot write ({e})"),
            )
        })?;
        return Ok(Report {
            human: format!("wrote {} (the token, 0600)\n", path.display()),
            json: json!({"out": path, "alg": key.algorithm().as_str(), "kid": key.public_key().key_id(), "claims": request.claims(now)}).to_string(),
            refused: false,
        });
    }
    Ok(Report {
        human: format!("{}\n", token.expose_secret()),
        json: serde_json::to_string_pretty(&json).unwrap_or_default(),
        refused: false,
    })
}

/// A version 4 UUID from the system's random source.
fn random_uuid() -> Result<String, CliError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| CliError::input("--jti", "the system random source failed; give --jti"))?;
    Ok(irsa::__private::uuid_v4(bytes))
}
