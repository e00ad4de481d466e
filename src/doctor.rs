//! `irsa doctor`: a live IRSA setup checked end to end, in the order a request meets it — the
//! pod, its token, the issuer's documents fetched as STS fetches them, the IAM OIDC provider,
//! the role and its trust policy judged with the whole request context, and optionally STS
//! itself — naming the first thing that is broken, with the evidence and the fix.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use irsa::doctor::{Doctor, Inputs, Verdict};
//! use irsa::token::WebIdentityToken;
//!
//! let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let doctor = Doctor::new(&[], &[])?.iam(aws_sdk_iam::Client::new(&config));
//! let mut inputs = Inputs::at(1_767_225_600);
//! inputs.token = Some(WebIdentityToken::new(std::fs::read_to_string("token")?));
//! inputs.role_arn = Some("arn:aws:iam::111122223333:role/read-s3".parse()?);
//! let report = doctor.examine(&inputs).await;
//! if let Some(failure) = report.first_failure() {
//!     println!("{}: {}\nfix: {}", failure.name, failure.summary, failure.fix.as_deref().unwrap_or(""));
//! }
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_iam::error::ProvideErrorMetadata;
use bytes::Bytes;
use serde::Serialize;

use crate::StsErrorCode;
use crate::arn::{OidcProviderArn, RoleArn};
use crate::oidc::{IssuerUrl, JwkSet, OpenIdConfiguration};
use crate::policy::{RegisteredProvider, RequestFacts, Severity, TrustPolicy, diagnose};
use crate::sts::keys::{HttpsClient, client, fetch};
use crate::token::{Subject, UnverifiedToken, WebIdentityToken};

/// STS's limits on the issuer's documents (K&S §4.4): 5 s, 128 KiB.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const FETCH_MAX_BYTES: usize = 128 * 1024;

/// What the doctor is told. Start from [`Inputs::at`] and set what is known.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Inputs {
    /// The token, when given (or read from the pod's token file).
    pub token: Option<WebIdentityToken>,
    /// The issuer the cluster should have (the setup file's or a flag's).
    pub issuer: Option<IssuerUrl>,
    /// The role the pod assumes.
    pub role_arn: Option<RoleArn>,
    /// The service account the token should be for.
    pub service_account: Option<Subject>,
    /// The pod manifest as admitted (JSON), to check the webhook's mutation.
    pub pod: Option<serde_json::Value>,
    /// What the pod sees from inside: its environment and token file.
    pub in_pod: Option<InPod>,
    /// Every key the issuer should publish (the setup file's).
    pub published_keys: Option<JwkSet>,
    /// The audience tokens should carry (the setup file's first, `sts.amazonaws.com` by
    /// default).
    pub audience: String,
    /// The request context STS would build: time, session name, source IP.
    pub facts: RequestFacts,
    /// Also call STS `AssumeRoleWithWebIdentity` and compare its answer with the prediction.
    pub call_sts: bool,
}

impl Inputs {
    /// Nothing known yet, judged at `now` (seconds since the Unix epoch).
    pub fn at(now: i64) -> Inputs {
        Inputs {
            token: None,
            issuer: None,
            role_arn: None,
            service_account: None,
            pod: None,
            in_pod: None,
            published_keys: None,
            audience: crate::oidc::DEFAULT_AUDIENCE.to_owned(),
            facts: RequestFacts::at(now),
            call_sts: false,
        }
    }
}

/// What a pod sees: the webhook's variables and the token file, read by the caller.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct InPod {
    /// `AWS_ROLE_ARN`.
    pub role_arn: Option<String>,
    /// `AWS_WEB_IDENTITY_TOKEN_FILE`.
    pub token_file: Option<PathBuf>,
    /// `AWS_REGION` (or `AWS_DEFAULT_REGION`).
    pub region: Option<String>,
    /// The token file's bytes, or why it could not be read.
    pub token_bytes: Option<Result<Vec<u8>, String>>,
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// As it should be.
    Pass,
    /// Probably fine, but worth a look.
    Warn,
    /// Broken: STS will refuse, or the pod gets no credentials.
    Fail,
    /// Not checked (no input for it, or an earlier failure makes it moot).
    Skip,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Check {
    /// A stable name: `pod`, `token-file`, `token`, `discovery`, `jwks`, `provider`,
    /// `client-id`, `role`, `trust-policy`, `sts`.
    pub name: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// One line: what was found.
    pub summary: String,
    /// What was seen, line by line.
    pub evidence: Vec<String>,
    /// What to do, for a failure or a warning.
    pub fix: Option<String>,
}

impl Check {
    fn new(name: &'static str, verdict: Verdict, summary: impl Into<String>) -> Check {
        Check {
            name,
            verdict,
            summary: summary.into(),
            evidence: Vec::new(),
            fix: None,
        }
    }

    fn evidence(mut self, line: impl Into<String>) -> Check {
        self.evidence.push(line.into());
        self
    }

    fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

/// STS's answer, predicted or observed: credentials, or an error code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Answer {
    /// Credentials.
    Credentials,
    /// An error.
    Error {
        /// The code, e.g. `AccessDenied`.
        code: String,
        /// The message.
        message: Option<String>,
    },
}

/// Every check, in order, and STS's predicted answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// The checks, in the order a request meets them.
    pub checks: Vec<Check>,
    /// What STS would answer, when enough was known to say.
    pub prediction: Option<Answer>,
}

impl Report {
    /// The first failed check.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.verdict == Verdict::Fail)
    }

    /// Whether no check failed.
    pub fn passed(&self) -> bool {
        self.first_failure().is_none()
    }
}

/// The doctor: an anonymous HTTPS client for the issuer (as STS fetches it), and optionally
/// IAM (read-only calls) and STS clients.
#[derive(Debug, Clone)]
pub struct Doctor {
    http: HttpsClient,
    iam: Option<aws_sdk_iam::Client>,
    sts: Option<aws_sdk_sts::Client>,
}

impl Doctor {
    /// A doctor trusting the system's roots plus `extra_ca` (PEM bundles, for a private test
    /// CA: STS itself trusts only public CAs), connecting to `resolve`'s address for each named
    /// host (like curl's `--resolve`: the certificate is still checked for the host name).
    pub fn new(
        extra_ca: &[Vec<u8>],
        resolve: &[(String, SocketAddr)],
    ) -> Result<Doctor, crate::sts::CaError> {
        let extra: Vec<Arc<Vec<u8>>> = extra_ca.iter().cloned().map(Arc::new).collect();
        Ok(Doctor {
            http: client(&extra, resolve)?,
            iam: None,
            sts: None,
        })
    }

    /// With IAM, for the provider and role checks (read-only calls).
    #[must_use]
    pub fn iam(mut self, iam: aws_sdk_iam::Client) -> Doctor {
        self.iam = Some(iam);
        self
    }

    /// With STS, for [`Inputs::call_sts`].
    #[must_use]
    pub fn sts(mut self, sts: aws_sdk_sts::Client) -> Doctor {
        self.sts = Some(sts);
        self
    }

    /// Runs every check it has inputs for.
    pub async fn examine(&self, inputs: &Inputs) -> Report {
        let mut checks = Vec::new();
        let mut token = inputs.token.clone();
        let mut role_arn = inputs.role_arn.clone();
        if let Some(pod) = &inputs.pod {
            checks.push(check_pod(pod, role_arn.as_ref(), &inputs.audience));
        }
        if let Some(in_pod) = &inputs.in_pod {
            let (check, from_file) = check_in_pod(in_pod);
            checks.push(check);
            if token.is_none() {
                token = from_file;
            }
            if role_arn.is_none() {
                role_arn = in_pod.role_arn.as_deref().and_then(|r| r.parse().ok());
            }
        }
        let mut exam = Exam::default();
        checks.push(check_token(token.as_ref(), inputs, &mut exam));
        let issuer = exam
            .iss
            .clone()
            .or_else(|| inputs.issuer.as_ref().map(|i| i.as_str().to_owned()));
        let (discovery, jwks) = match &issuer {
            Some(issuer) => self.check_issuer(issuer, inputs, &mut exam).await,
            None => (
                Check::new(
                    "discovery",
                    Verdict::Skip,
                    "no issuer: give a token, --issuer or a setup file",
                ),
                Check::new("jwks", Verdict::Skip, "no issuer"),
            ),
        };
        checks.push(discovery);
        checks.push(jwks);
        self.check_iam(
            issuer.as_deref(),
            role_arn.as_ref(),
            token.as_ref(),
            inputs,
            &mut exam,
            &mut checks,
        )
        .await;
        if inputs.call_sts {
            checks.push(
                self.call_sts(
                    role_arn.as_ref(),
                    token.as_ref(),
                    inputs,
                    exam.prediction.as_ref(),
                )
                .await,
            );
        }
        Report {
            checks,
            prediction: exam.prediction,
        }
    }

    async fn get(&self, url: &str) -> Result<crate::sts::keys::Fetched, String> {
        fetch(&self.http, url, FETCH_TIMEOUT, FETCH_MAX_BYTES)
            .await
            .map_err(|e| crate::ErrorChain(&e).to_string())
    }

    async fn check_issuer(&self, iss: &str, inputs: &Inputs, exam: &mut Exam) -> (Check, Check) {
        let skip_jwks = || {
            Check::new(
                "jwks",
                Verdict::Skip,
                "the discovery document is not usable",
            )
        };
        let fetch_fail = |exam: &mut Exam| {
            exam.predict_error(
                StsErrorCode::InvalidIdentityToken,
                Some(crate::sts::keys::KEY_FETCH_MESSAGE),
            )
        };
        let Ok(issuer) = IssuerUrl::parse(iss) else {
            fetch_fail(exam);
            return (
                Check::new(
                    "discovery",
                    Verdict::Fail,
                    format!("the issuer {iss:?} is not an https URL"),
                )
                .fix("the apiserver's --service-account-issuer must be an https URL STS can fetch"),
                skip_jwks(),
            );
        };
        let url = issuer.discovery_url();
        let document = match self.document(&url, &["application/json"]).await {
            Ok((body, evidence, wrong)) => match OpenIdConfiguration::parse(&body) {
                Ok(document) => (document, evidence, wrong),
                Err(e) => {
                    fetch_fail(exam);
                    return (
                        Check::new("discovery", Verdict::Fail, format!("{url} is not a discovery document"))
                            .evidence(crate::ErrorChain(&e).to_string())
                            .fix("upload the discovery document irsa setup (or irsa discovery) generates"),
                        skip_jwks(),
                    );
                }
            },
            Err(check) => {
                fetch_fail(exam);
                return (check.named("discovery"), skip_jwks());
            }
        };
        let (document, evidence, wrong_type) = document;
        if document.issuer().as_str() != iss {
            fetch_fail(exam);
            let check = Check::new(
                "discovery",
                Verdict::Fail,
                format!("the discovery document's issuer {:?} differs from the token's iss {iss:?}", document.issuer().as_str()),
            )
            .evidence(format!("GET {url}: 200"))
            .fix(if document.issuer().as_str().trim_end_matches('/') == iss.trim_end_matches('/') {
                "they differ by a trailing slash, and STS compares them byte for byte: make --service-account-issuer, the document's issuer and the IAM provider URL the same string"
            } else {
                "the document was generated for another issuer: regenerate it for the apiserver's --service-account-issuer"
            });
            return (check, skip_jwks());
        }
        let mut discovery = Check::new(
            "discovery",
            Verdict::Pass,
            format!("{url} names issuer {iss}"),
        );
        discovery.evidence = evidence;
        let jwks_uri = document.jwks_uri().to_owned();
        discovery = discovery.evidence(format!("jwks_uri {jwks_uri}"));
        if let Some(wrong) = wrong_type {
            discovery = wrong.named("discovery");
        }
        let jwks = match self
            .document(&jwks_uri, &["application/json", "application/jwk-set+json"])
            .await
        {
            Err(check) => {
                fetch_fail(exam);
                check.named("jwks")
            }
            Ok((body, evidence, wrong_type)) => match JwkSet::parse(&body) {
                Err(e) => {
                    fetch_fail(exam);
                    Check::new(
                        "jwks",
                        Verdict::Fail,
                        format!("{jwks_uri} is not a key set"),
                    )
                    .evidence(crate::ErrorChain(&e).to_string())
                    .fix("upload the key set irsa setup (or irsa discovery) generates")
                }
                Ok(set) => {
                    let kids: Vec<&str> = set.keys().iter().filter_map(|k| k.kid()).collect();
                    let mut check = Check::new(
                        "jwks",
                        Verdict::Pass,
                        format!("{} published: {}", kids.len(), kids.join(", ")),
                    );
                    check.evidence = evidence;
                    if let Some(kid) = exam.kid.clone().filter(|kid| set.find(kid).is_none()) {
                        exam.predict_error(StsErrorCode::InvalidIdentityToken, None);
                        check = Check::new("jwks", Verdict::Fail, format!("the token is signed by key {kid}, which the key set does not publish"))
                                .evidence(format!("published: {}", kids.join(", ")))
                                .fix("the signing key was rotated but not published: publish the new key next to the old one (add it to cluster.keys and run irsa setup --apply), or point --service-account-signing-key-file back at a published key");
                    }
                    if let Some(wanted) = inputs
                        .published_keys
                        .as_ref()
                        .filter(|_| check.verdict == Verdict::Pass)
                    {
                        let missing: Vec<&str> = wanted
                            .keys()
                            .iter()
                            .filter_map(|k| k.kid())
                            .filter(|k| set.find(k).is_none())
                            .collect();
                        if !missing.is_empty() {
                            check = Check::new(
                                "jwks",
                                Verdict::Fail,
                                format!(
                                    "the key set lacks {} of the file's keys: {}",
                                    missing.len(),
                                    missing.join(", ")
                                ),
                            )
                            .evidence(format!("published: {}", kids.join(", ")))
                            .fix("publish every key the file lists: irsa setup --apply");
                        }
                    }
                    exam.keys = Some(set);
                    match wrong_type {
                        Some(wrong) if check.verdict == Verdict::Pass => wrong.named("jwks"),
                        _ => check,
                    }
                }
            },
        };
        (discovery, jwks)
    }

    /// An anonymous GET: 200 with one of `content_types`, or the failed check.
    async fn document(
        &self,
        url: &str,
        content_types: &[&str],
    ) -> Result<(Bytes, Vec<String>, Option<Check>), Check> {
        let fetched = self.get(url).await.map_err(|e| {
            let fix = if e.contains("certificate") || e.contains("Certificate") {
                "serve the issuer with a certificate for its host name from a publicly trusted CA, valid now (S3's own URLs have one)"
            } else {
                "make the issuer reachable over HTTPS from the internet: STS fetches it anonymously"
            };
            Check::new("", Verdict::Fail, format!("GET {url} failed")).evidence(e).fix(fix)
        })?;
        let seen = format!(
            "GET {url}: {} {}",
            fetched.status,
            fetched
                .content_type
                .as_deref()
                .unwrap_or("(no Content-Type)")
        );
        match fetched.status {
            200 => {}
            404 => {
                return Err(Check::new("", Verdict::Fail, format!("{url} is missing (HTTP 404)"))
                    .evidence(seen.clone())
                    .fix("upload it at exactly this key (irsa setup --apply does), with no typo in the prefix"));
            }
            403 => {
                return Err(Check::new("", Verdict::Fail, format!("{url} is private (HTTP 403)"))
                    .evidence(seen.clone())
                    .fix("let anyone read it: a bucket policy allowing s3:GetObject to Principal \"*\" on this object, with Block Public Access allowing public policies (irsa setup --apply sets both)"));
            }
            status => {
                return Err(
                    Check::new("", Verdict::Fail, format!("{url} answered HTTP {status}"))
                        .evidence(seen.clone())
                        .fix("STS needs a 200 answer to an anonymous GET"),
                );
            }
        }
        let media = fetched.content_type.as_deref().map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        if !media.as_deref().is_some_and(|m| content_types.contains(&m)) {
            let wrong = Check::new(
                "",
                Verdict::Fail,
                format!("{url} is served as {}, not {}", fetched.content_type.as_deref().unwrap_or("(no Content-Type)"), content_types.join(" or ")),
            )
            .evidence(seen.clone())
            .evidence("STS's own requirement is undocumented; OIDC clients expect JSON (the prediction does not count on it)")
            .fix(format!("upload it again with Content-Type {} (S3 defaults to binary/octet-stream); irsa setup --apply does", content_types.first().copied().unwrap_or("application/json")));
            return Ok((fetched.body, vec![seen], Some(wrong)));
        }
        Ok((fetched.body, vec![seen], None))
    }

    async fn check_iam(
        &self,
        iss: Option<&str>,
        role_arn: Option<&RoleArn>,
        token: Option<&WebIdentityToken>,
        inputs: &Inputs,
        exam: &mut Exam,
        checks: &mut Vec<Check>,
    ) {
        let skipped = |checks: &mut Vec<Check>, why: &str| {
            for name in ["provider", "client-id", "role", "trust-policy"] {
                checks.push(Check::new(name, Verdict::Skip, why));
            }
        };
        let (Some(iam), Some(role_arn)) = (&self.iam, role_arn) else {
            skipped(
                checks,
                "no IAM client or no role: give --role-arn (or --config, --in-pod) and AWS credentials",
            );
            return;
        };
        let Some(provider_url) = iss
            .and_then(|i| IssuerUrl::parse(i).ok())
            .and_then(|i| i.aws_provider_url().ok())
        else {
            skipped(checks, "no usable issuer");
            return;
        };
        let arn = provider_url.arn(role_arn.partition(), role_arn.account().clone());
        let client_ids = match iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn.to_string())
            .send()
            .await
        {
            Ok(out) => {
                checks.push(Check::new(
                    "provider",
                    Verdict::Pass,
                    format!("{arn} is registered"),
                ));
                out.client_id_list().to_vec()
            }
            Err(e)
                if e.as_service_error().and_then(ProvideErrorMetadata::code)
                    == Some("NoSuchEntity") =>
            {
                exam.predict_error(
                    StsErrorCode::InvalidIdentityToken,
                    Some(&format!(
                        "No OpenIDConnect provider found in your account for {}",
                        provider_url.issuer()
                    )),
                );
                checks.push(
                    Check::new("provider", Verdict::Fail, format!("no OIDC provider {arn} in account {}", role_arn.account()))
                        .evidence(format!("iam:GetOpenIDConnectProvider {arn}: NoSuchEntity"))
                        .fix(format!("register the provider with exactly the URL {} (irsa setup --apply does); a trailing slash or another host is another provider", provider_url.issuer())),
                );
                for name in ["client-id", "role", "trust-policy"] {
                    checks.push(Check::new(name, Verdict::Skip, "the provider is missing"));
                }
                return;
            }
            Err(e) => {
                checks.push(
                    Check::new(
                        "provider",
                        Verdict::Fail,
                        "iam:GetOpenIDConnectProvider failed",
                    )
                    .evidence(aws_error(&e))
                    .fix("give credentials allowed iam:GetOpenIDConnectProvider and iam:GetRole"),
                );
                return;
            }
        };
        let audiences = exam
            .aud
            .clone()
            .unwrap_or_else(|| vec![inputs.audience.clone()]);
        if audiences.iter().any(|a| client_ids.contains(a)) {
            checks.push(Check::new(
                "client-id",
                Verdict::Pass,
                format!(
                    "the provider lists the audience ({})",
                    client_ids.join(", ")
                ),
            ));
        } else {
            exam.predict_error(
                StsErrorCode::InvalidIdentityToken,
                Some("Incorrect token audience"),
            );
            checks.push(
                Check::new("client-id", Verdict::Fail, format!("the provider's client IDs {client_ids:?} include none of the token's audiences {audiences:?}"))
                    .fix(format!("add {} as a client ID of {arn} (irsa setup --apply does)", audiences.first().map_or("sts.amazonaws.com", String::as_str))),
            );
        }
        let policy = match iam.get_role().role_name(role_arn.name()).send().await {
            Ok(out) => {
                let raw = out
                    .role()
                    .and_then(|r| r.assume_role_policy_document())
                    .unwrap_or_default();
                let decoded = if raw.trim_start().starts_with('{') {
                    raw.to_owned()
                } else {
                    percent_encoding::percent_decode_str(raw)
                        .decode_utf8_lossy()
                        .into_owned()
                };
                checks.push(Check::new(
                    "role",
                    Verdict::Pass,
                    format!("{role_arn} exists"),
                ));
                decoded
            }
            Err(e) => {
                let missing = e.as_service_error().and_then(ProvideErrorMetadata::code)
                    == Some("NoSuchEntity");
                exam.predict_error(
                    StsErrorCode::AccessDenied,
                    Some(crate::policy::ACCESS_DENIED_MESSAGE),
                );
                let check = if missing {
                    Check::new("role", Verdict::Fail, format!("no role {} in account {}", role_arn.name(), role_arn.account()))
                        .fix("create the role (irsa setup --apply does) or fix AWS_ROLE_ARN / the ServiceAccount's eks.amazonaws.com/role-arn")
                } else {
                    Check::new("role", Verdict::Fail, "iam:GetRole failed")
                        .evidence(aws_error(&e))
                        .fix("give credentials allowed iam:GetRole")
                };
                checks.push(check);
                checks.push(Check::new("trust-policy", Verdict::Skip, "no role"));
                return;
            }
        };
        checks.push(self.judge(&arn, &client_ids, &policy, token, inputs, exam));
    }

    fn judge(
        &self,
        arn: &OidcProviderArn,
        client_ids: &[String],
        policy: &str,
        token: Option<&WebIdentityToken>,
        inputs: &Inputs,
        exam: &mut Exam,
    ) -> Check {
        let policy = match TrustPolicy::parse(policy.as_bytes()) {
            Ok(policy) => policy,
            Err(e) => {
                return Check::new(
                    "trust-policy",
                    Verdict::Fail,
                    "the trust policy cannot be read as IAM reads it",
                )
                .evidence(crate::ErrorChain(&e).to_string())
                .fix("fix the document (irsa lint explains each finding)");
            }
        };
        let (Some(token), Some(keys)) = (token, exam.keys.as_ref()) else {
            return Check::new(
                "trust-policy",
                Verdict::Skip,
                "no token or no published keys to judge with",
            );
        };
        let Ok(provider) = RegisteredProvider::new(arn.clone(), client_ids.iter().cloned()) else {
            return Check::new(
                "trust-policy",
                Verdict::Skip,
                "the provider has no client ID",
            );
        };
        let diagnosis = match diagnose(
            token.expose_secret(),
            keys,
            &provider,
            &policy,
            inputs.facts.clone(),
        ) {
            Ok(d) => d,
            Err(e) => {
                return Check::new(
                    "trust-policy",
                    Verdict::Skip,
                    crate::ErrorChain(&e).to_string(),
                );
            }
        };
        let warnings: Vec<String> = diagnosis
            .findings
            .iter()
            .map(|f| {
                let level = if f.severity == Severity::Error {
                    "error"
                } else {
                    "warning"
                };
                format!(
                    "lint {level} {}: {} ({})",
                    f.code.as_str(),
                    f.message,
                    f.fix
                )
            })
            .collect();
        let mut check = match &diagnosis.sts_error {
            None => {
                exam.prediction.get_or_insert(Answer::Credentials);
                Check::new(
                    "trust-policy",
                    Verdict::Pass,
                    "the trust policy allows this token: STS would issue credentials",
                )
            }
            Some(error) => {
                exam.predict_error(error.code, error.message.as_deref());
                let why = diagnosis
                    .evaluation
                    .as_ref()
                    .map(crate::policy::summarize)
                    .unwrap_or_default();
                let mut check = Check::new(
                    "trust-policy",
                    Verdict::Fail,
                    format!(
                        "STS would answer {}: {}",
                        error.code.as_str(),
                        error.message.as_deref().unwrap_or(&error.reason)
                    ),
                )
                .evidence(error.reason.clone());
                if !why.is_empty() {
                    check = check.evidence(why);
                }
                check.fix("irsa explain shows every statement and condition; irsa trust-policy generates one for this service account")
            }
        };
        check.evidence.extend(warnings);
        check
    }

    async fn call_sts(
        &self,
        role_arn: Option<&RoleArn>,
        token: Option<&WebIdentityToken>,
        inputs: &Inputs,
        prediction: Option<&Answer>,
    ) -> Check {
        let (Some(sts), Some(role_arn), Some(token)) = (&self.sts, role_arn, token) else {
            return Check::new("sts", Verdict::Skip, "no STS client, role or token");
        };
        let session = inputs
            .facts
            .session_name
            .clone()
            .unwrap_or_else(|| "irsa-doctor".to_owned());
        let answer = match sts
            .assume_role_with_web_identity()
            .role_arn(role_arn.to_string())
            .role_session_name(session)
            .web_identity_token(token.expose_secret())
            .send()
            .await
        {
            // The credentials are dropped unread: the doctor only says that STS issued them.
            Ok(_) => Answer::Credentials,
            Err(e) => Answer::Error {
                code: e
                    .as_service_error()
                    .and_then(ProvideErrorMetadata::code)
                    .unwrap_or("RequestFailed")
                    .to_owned(),
                message: e
                    .as_service_error()
                    .and_then(ProvideErrorMetadata::message)
                    .map(str::to_owned),
            },
        };
        let said = describe(&answer);
        match prediction {
            Some(predicted) if codes_match(predicted, &answer) => Check::new("sts", Verdict::Pass, format!("STS answered {said}, as predicted")),
            Some(predicted) => Check::new("sts", Verdict::Fail, format!("STS answered {said}; the doctor predicted {}", describe(predicted)))
                .fix("a difference between STS and the doctor: report it with this output (the token is not in it)"),
            None => Check::new("sts", Verdict::Warn, format!("STS answered {said}; the doctor had no prediction")),
        }
    }
}

fn codes_match(a: &Answer, b: &Answer) -> bool {
    match (a, b) {
        (Answer::Credentials, Answer::Credentials) => true,
        (Answer::Error { code: x, .. }, Answer::Error { code: y, .. }) => x == y,
        _ => false,
    }
}

fn describe(answer: &Answer) -> String {
    match answer {
        Answer::Credentials => "with credentials".to_owned(),
        Answer::Error { code, message } => match message {
            Some(m) => format!("{code} ({m})"),
            None => code.clone(),
        },
    }
}

fn aws_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> String {
    match e.as_service_error() {
        Some(s) => format!(
            "{}: {}",
            s.code().unwrap_or("Unknown"),
            s.message().unwrap_or("")
        ),
        None => aws_smithy_types::error::display::DisplayErrorContext(e).to_string(),
    }
}

/// What the checks learnt along the way.
#[derive(Default)]
struct Exam {
    iss: Option<String>,
    aud: Option<Vec<String>>,
    kid: Option<String>,
    keys: Option<JwkSet>,
    prediction: Option<Answer>,
}

impl Exam {
    /// Records STS's answer at the first check that decides it.
    fn predict_error(&mut self, code: StsErrorCode, message: Option<&str>) {
        self.prediction.get_or_insert_with(|| Answer::Error {
            code: code.as_str().to_owned(),
            message: message.map(str::to_owned),
        });
    }
}

impl Check {
    fn named(mut self, name: &'static str) -> Check {
        self.name = name;
        self
    }
}

fn check_pod(pod: &serde_json::Value, role_arn: Option<&RoleArn>, audience: &str) -> Check {
    use crate::webhook::{Identity, PatchStyle, PodMutator, ServiceAccountSettings, WebhookConfig};
    let env_role = pod
        .pointer("/spec/containers/0/env")
        .and_then(serde_json::Value::as_array)
        .and_then(|env| env.iter().find(|e| e["name"] == "AWS_ROLE_ARN"))
        .and_then(|e| e["value"].as_str())
        .map(str::to_owned);
    let Some(role) = role_arn.map(ToString::to_string).or(env_role) else {
        return Check::new("pod", Verdict::Fail, "the pod has no AWS_ROLE_ARN and no role was given")
            .fix("annotate the pod's ServiceAccount with eks.amazonaws.com/role-arn, make sure the pod identity webhook runs, and recreate the pod (or give --role-arn)");
    };
    let Ok(config) = WebhookConfig::builder()
        .audience(audience)
        .style(PatchStyle::Granular)
        .build()
    else {
        return Check::new(
            "pod",
            Verdict::Skip,
            "the audience cannot configure the webhook",
        );
    };
    let settings = ServiceAccountSettings::default().with_role_arn(role);
    match PodMutator::new(config).patch_json(pod, &Identity::WebIdentity(settings)) {
        Ok(patch) if patch.operations().is_empty() => Check::new(
            "pod",
            Verdict::Pass,
            "the pod has the webhook's variables, token volume and mounts",
        ),
        Ok(patch) => {
            let mut check = Check::new("pod", Verdict::Fail, "the pod was not mutated by the pod identity webhook: it lacks what the webhook adds")
                .fix("the webhook was down or not called when the pod was admitted: check its Deployment and MutatingWebhookConfiguration (namespace and object selectors, failurePolicy), then recreate the pod");
            for op in patch.operations() {
                check = check.evidence(format!("missing: {} {}", op.op(), op.path()));
            }
            check
        }
        Err(e) => Check::new("pod", Verdict::Fail, "the pod manifest cannot be read")
            .evidence(crate::ErrorChain(&e).to_string())
            .fix("give the pod as admitted: kubectl get pod NAME -o json"),
    }
}

fn check_in_pod(in_pod: &InPod) -> (Check, Option<WebIdentityToken>) {
    let missing: Vec<&str> = [
        ("AWS_ROLE_ARN", in_pod.role_arn.is_some()),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", in_pod.token_file.is_some()),
    ]
    .into_iter()
    .filter(|(_, set)| !set)
    .map(|(name, _)| name)
    .collect();
    if !missing.is_empty() {
        return (
            Check::new("token-file", Verdict::Fail, format!("the pod's environment lacks {}", missing.join(" and ")))
                .fix("the pod was not mutated by the pod identity webhook: check the ServiceAccount's eks.amazonaws.com/role-arn and the webhook, then recreate the pod"),
            None,
        );
    }
    let path = in_pod
        .token_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let bytes = match &in_pod.token_bytes {
        Some(Ok(bytes)) => bytes,
        Some(Err(why)) => {
            return (
                Check::new("token-file", Verdict::Fail, format!("{path} cannot be read by this user: {why}"))
                    .fix("the projected token volume is missing or not readable by the container's user: set fsGroup in the pod's securityContext, or check the volume mount"),
                None,
            );
        }
        None => {
            return (
                Check::new("token-file", Verdict::Skip, "the token file was not read"),
                None,
            );
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return (
            Check::new("token-file", Verdict::Fail, format!("{path} is empty"))
                .fix("the kubelet has not written the projected token: check the pod's events"),
            None,
        );
    }
    let token = WebIdentityToken::from_file_contents(bytes.clone()).ok();
    let mut check = Check::new(
        "token-file",
        Verdict::Pass,
        format!("{path} holds a token ({} bytes)", bytes.len()),
    );
    if bytes.first().is_some_and(u8::is_ascii_whitespace)
        || bytes.last().is_some_and(u8::is_ascii_whitespace)
    {
        check = Check::new(
            "token-file",
            Verdict::Warn,
            format!("{path} has whitespace around the token"),
        )
        .fix("some SDKs send it as is and STS refuses it: write the token without a newline");
    }
    if in_pod.region.is_none() {
        check = check.evidence("AWS_REGION is not set: SDKs call the global STS endpoint");
    }
    (check, token)
}

fn check_token(token: Option<&WebIdentityToken>, inputs: &Inputs, exam: &mut Exam) -> Check {
    let Some(token) = token else {
        return Check::new(
            "token",
            Verdict::Skip,
            "no token: give --token FILE or --in-pod",
        );
    };
    let inspected = match UnverifiedToken::inspect(token.expose_secret()) {
        Ok(t) => t,
        Err(e) => {
            exam.predict_error(StsErrorCode::InvalidIdentityToken, None);
            return Check::new("token", Verdict::Fail, "the token is not a JWT")
                .evidence(crate::ErrorChain(&e).to_string())
                .fix("give the projected service-account token itself");
        }
    };
    let claims = inspected.claims_unverified();
    let kid = inspected.header().kid.as_deref().map(str::to_owned);
    exam.kid.clone_from(&kid);
    exam.iss = claims.iss.as_deref().map(str::to_owned);
    exam.aud = claims
        .aud
        .as_ref()
        .map(|a| a.iter().map(str::to_owned).collect());
    let now = inputs.facts.now;
    let mut check = Check::new(
        "token",
        Verdict::Pass,
        format!(
            "a token for {}",
            claims.sub.as_deref().unwrap_or("(no sub)")
        ),
    )
    .evidence(format!("iss {}", claims.iss.as_deref().unwrap_or("(none)")))
    .evidence(format!("aud {:?}", exam.aud.clone().unwrap_or_default()))
    .evidence(format!("kid {}", kid.as_deref().unwrap_or("(none)")));
    match claims.exp {
        Some(exp) if exp <= now => {
            exam.predict_error(
                StsErrorCode::ExpiredTokenException,
                Some("Token expired: current date/time must be before the expiration date/time"),
            );
            return Check::new("token", Verdict::Fail, format!("the token expired {} s ago", now - exp))
                .evidence(format!("exp {exp}, now {now}"))
                .fix("read the token again from the pod: the kubelet refreshes it at 80 % of its lifetime, a copy does not refresh");
        }
        Some(exp) => check = check.evidence(format!("expires in {} s", exp - now)),
        None => check = check.evidence("no exp"),
    }
    if let Some(expected) = inputs
        .issuer
        .as_ref()
        .filter(|e| claims.iss.as_deref() != Some(e.as_str()))
    {
        return Check::new("token", Verdict::Fail, format!("the token's iss {:?} is not the cluster's issuer {:?}", claims.iss.as_deref().unwrap_or(""), expected.as_str()))
                .fix("set the apiserver's first --service-account-issuer to the cluster's issuer (irsa apiserver --write), then let the tokens refresh");
    }
    if !exam
        .aud
        .as_ref()
        .is_some_and(|a| a.iter().any(|x| x == &inputs.audience))
    {
        check = Check::new("token", Verdict::Warn, format!("the token's audiences {:?} do not include {}", exam.aud.clone().unwrap_or_default(), inputs.audience))
            .fix("the webhook's --token-audience (or the ServiceAccount's eks.amazonaws.com/audience) sets it; the provider's client IDs must list it");
    }
    if let Some(sa) = inputs
        .service_account
        .as_ref()
        .filter(|sa| claims.sub.as_deref() != Some(sa.as_str()))
    {
        return Check::new(
            "token",
            Verdict::Fail,
            format!(
                "the token is for {}, not {}",
                claims.sub.as_deref().unwrap_or("(no sub)"),
                sa.as_str()
            ),
        )
        .fix("check the pod's serviceAccountName");
    }
    check
}
