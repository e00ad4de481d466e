//! `irsa verify`: judge a token as STS would, offline, with the precise reason.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use irsa::oidc::{IssuerUrl, JwkSet};
use irsa::token::{UnverifiedToken, Verifier, WebIdentityToken};
use serde_json::{Value, json};

use crate::io::{CliError, read_input};
use crate::render::{BAD, BOLD, DIM, FAIL, OK, PASS, Report, Text, WARN, clean, paint, pretty};
use crate::render::{rfc3339, span};
use crate::value;

/// Arguments of `irsa verify`.
#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "With -o json: {\"valid\":true,\"alg\",\"kid\",\"claims\",\"warnings\"} or {\"valid\":false,\"error\":{\"code\",\"message\",\"reason\"}}. Described in docs/cli-json.md#irsa-verify."
)]
pub(crate) struct Args {
    /// The token file (e.g. /var/run/secrets/eks.amazonaws.com/serviceaccount/token); `-` reads
    /// stdin.
    #[arg(long, value_name = "FILE", visible_alias = "token-file")]
    token: PathBuf,
    /// The issuer's key set, e.g. from `kubectl get --raw /openid/v1/jwks`; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    jwks: PathBuf,
    /// The issuer URL as registered with IAM (compared exactly with the token's `iss`).
    #[arg(long, value_name = "URL", value_parser = value::issuer)]
    issuer: IssuerUrl,
    /// A client ID registered with the IAM provider; repeatable. Default: sts.amazonaws.com.
    #[arg(long, value_name = "AUDIENCE", visible_alias = "client-id")]
    audience: Vec<String>,
    /// Judge the token at this time: RFC 3339 or seconds since the Unix epoch. Default: now.
    #[arg(long, value_name = "TIME", value_parser = value::time)]
    now: Option<i64>,
    /// Clock skew allowed around exp, nbf and iat, 300 s as STS allows by default (900s, 5m, or
    /// plain seconds).
    #[arg(
        long,
        value_name = "DURATION",
        visible_alias = "skew",
        value_parser = value::duration,
        default_value = "300"
    )]
    clock_skew: u64,
}

/// The verdict, and whether the token was refused.
pub(crate) fn run(args: Args) -> Result<Report, CliError> {
    let token_input = format!("--token {}", args.token.display());
    let token = WebIdentityToken::from_file_contents(read_input("--token", &args.token)?)
        .map_err(|e| CliError::input(token_input, e))?;
    let keys = JwkSet::parse(&read_input("--jwks", &args.jwks)?)
        .map_err(|e| CliError::input(format!("--jwks {}", args.jwks.display()), e))?;
    let mut builder = Verifier::builder(&keys)
        .issuer(args.issuer.clone())
        .clock_skew(Duration::from_secs(args.clock_skew));
    for audience in &args.audience {
        builder = builder.audience(audience.clone());
    }
    let verifier = builder
        .build()
        .map_err(|e| CliError::input(format!("--jwks {}", args.jwks.display()), e))?;
    let now = now_or(args.now);

    match verifier.verify(token.expose_secret(), now) {
        Ok(verified) => {
            let mut warnings = Vec::new();
            if verified.subject().is_some_and(|s| s.exceeds_sts_limit()) {
                warnings.push(
                    "the subject is longer than 255 characters, STS's limit for SubjectFromWebIdentityToken: use a shorter namespace or service account name",
                );
            }
            let claims = json!(verified.claims());
            let verdict = json!({
                "valid": true,
                "alg": verified.algorithm().as_str(),
                "kid": verified.kid(),
                "claims": claims,
                "warnings": warnings,
            });
            let mut text = Text::default();
            text.line(format_args!(
                "{} {}",
                paint(OK, format_args!("{PASS} valid:")),
                "STS would accept this token"
            ));
            let kid = verified.kid().map(|k| format!(", kid {}", clean(k)));
            text.line(format_args!(
                "  signed with {}{}",
                verified.algorithm().as_str(),
                kid.unwrap_or_default()
            ));
            time_left(&mut text, &claims, now);
            for warning in &warnings {
                text.line(format_args!("  {} {warning}", paint(WARN, "warning:")));
            }
            claims_block(&mut text, "claims", &claims);
            Ok(Report {
                human: text.into_string(),
                json: pretty(&verdict),
                refused: false,
            })
        }
        Err(rejection) => {
            let reason = irsa::ErrorChain(&rejection).to_string();
            let code = rejection.sts_code().as_str();
            let message = rejection.sts_message();
            let verdict = json!({
                "valid": false,
                "error": {
                    "code": code,
                    "message": message,
                    "reason": reason,
                },
            });
            let mut text = Text::default();
            text.line(format_args!(
                "{} STS would answer {}",
                paint(BAD, format_args!("{FAIL} refused:")),
                paint(BOLD, code)
            ));
            if let Some(message) = &message {
                text.line(format_args!("  message: {}", clean(message)));
            }
            text.line(format_args!("  reason:  {}", clean(&reason)));
            // What the token says, for finding the cause; nothing of it is vouched for.
            if let Ok(unverified) = UnverifiedToken::inspect(token.expose_secret()) {
                let claims = json!(unverified.claims_unverified());
                time_left(&mut text, &claims, now);
                claims_block(&mut text, "claims (unverified)", &claims);
            }
            Ok(Report {
                human: text.into_string(),
                json: pretty(&verdict),
                refused: true,
            })
        }
    }
}

/// `expires in 23h 59m (2018-01-02T00:00:00Z)`, or how long ago it expired.
fn time_left(text: &mut Text, claims: &Value, now: SystemTime) {
    // Claims are in seconds since the epoch (JWT's NumericDate).
    let now = match now.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    };
    let Some(exp) = claims.get("exp").and_then(Value::as_i64) else {
        return;
    };
    let when = rfc3339(exp);
    let line = if exp > now {
        let left = span(exp.abs_diff(now));
        format!("  expires in {} ({when})", paint(BOLD, left))
    } else {
        let ago = span(now.abs_diff(exp));
        format!(
            "  {} ({when})",
            paint(BAD, format_args!("expired {ago} ago"))
        )
    };
    text.line(line);
}

/// The claims as an indented list; times get their RFC 3339 form beside them.
fn claims_block(text: &mut Text, title: &str, claims: &Value) {
    text.gap();
    text.line(paint(BOLD, format_args!("{title}:")));
    if let Value::Object(members) = claims {
        let width = width(members);
        // What the trust policy and STS read first, then the rest as the token has it.
        let first = ["iss", "sub", "aud", "exp", "nbf", "iat"];
        let known = first.iter().filter_map(|k| members.get_key_value(*k));
        let rest = members.iter().filter(|(k, _)| !first.contains(&k.as_str()));
        for (key, value) in known.chain(rest) {
            member(text, 1, width, key, value);
        }
    }
}

fn member(text: &mut Text, depth: usize, key_width: usize, key: &str, value: &Value) {
    let indent = "  ".repeat(depth);
    let pad = key_width.saturating_sub(key.chars().count());
    let key_col = format!("{}{}", clean(key), " ".repeat(pad));
    match value {
        Value::Object(inner) => {
            text.line(format_args!("{indent}{}", clean(key)));
            let inner_width = width(inner);
            for (key, value) in inner {
                member(text, depth + 1, inner_width, key, value);
            }
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(scalar).collect();
            text.line(format_args!("{indent}{key_col}  {}", items.join(", ")));
        }
        Value::Number(n) if matches!(key, "exp" | "iat" | "nbf" | "auth_time") => {
            let when = n.as_i64().map(rfc3339).unwrap_or_default();
            text.line(format_args!("{indent}{key_col}  {n}  {}", paint(DIM, when)));
        }
        other => text.line(format_args!("{indent}{key_col}  {}", scalar(other))),
    }
}

/// The widest key among the members shown on one line with their value.
fn width(members: &serde_json::Map<String, Value>) -> usize {
    members
        .iter()
        .filter(|(_, v)| !v.is_object())
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0)
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => clean(s).into_owned(),
        other => clean(&other.to_string()).into_owned(),
    }
}

/// The command line is where the real clock is read; the library takes it as a parameter.
#[allow(clippy::disallowed_methods)]
/// `--now` (seconds since the Unix epoch) when given, else the system clock's now.
pub(crate) fn now_or(seconds: Option<i64>) -> SystemTime {
    match seconds {
        Some(s) if s >= 0 => UNIX_EPOCH + std::time::Duration::from_secs(s.unsigned_abs()),
        Some(s) => UNIX_EPOCH - std::time::Duration::from_secs(s.unsigned_abs()),
        None => SystemTime::now(),
    }
}
