//! `irsa doctor`: a live IRSA setup checked end to end, in the order a request meets it — the
//! pod, its token, the issuer's documents fetched as STS fetches them, the IAM OIDC provider,
//! the role and its trust policy judged with the whole request context, and optionally STS
//! itself — naming the first thing that is broken, with the evidence and the fix.
//!
//! ```no_run
//! use std::time::{Duration, UNIX_EPOCH};
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use irsa::doctor::{Doctor, ExamineOptions, Verdict};
//! use irsa::token::WebIdentityToken;
//!
//! let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let doctor = Doctor::new(&[], &[])?.iam(aws_sdk_iam::Client::new(&config));
//! let mut inputs = ExamineOptions::at(UNIX_EPOCH + Duration::from_secs(1_767_225_600));
//! inputs.token = Some(WebIdentityToken::new(std::fs::read_to_string("token")?));
//! inputs.role_arn = Some("arn:aws:iam::111122223333:role/read-s3".parse()?);
//! let report = doctor.examine(&inputs).await;
//! if let Some(failure) = report.first_failure() {
//!     println!("{}: {}\nfix: {}", failure.name, failure.summary, failure.fix.as_deref().unwrap_or(""));
//! }
//! # Ok(()) }
//! ```

mod iam;
mod issuer;
mod pod;
mod report;
mod sts;
mod token;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::StsErrorCode;
use crate::arn::RoleArn;
use crate::env::{Environment, Fs};
use crate::http::client::{HttpsClient, client, fetch};
use crate::oidc::{IssuerUrl, JwkSet};
use crate::policy::RequestFacts;
use crate::token::{Subject, WebIdentityToken};

use pod::{check_in_pod, check_pod};
pub use report::{Answer, Check, Report, Verdict};
use token::check_token;

/// STS's limits on the issuer's documents, as the local STS applies them: 5 s (AWS names
/// "latency of more than 5 seconds" among the causes of `InvalidIdentityToken`,
/// <https://repost.aws/knowledge-center/iam-sts-invalididentitytoken>) and 128 KiB.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const FETCH_MAX_BYTES: usize = 128 * 1024;

/// What the doctor is told. Start from [`ExamineOptions::at`] and set what is known.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExamineOptions {
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
    /// Why no role is known although one was looked for (e.g. no role of the setup file lists
    /// the token's ServiceAccount): without [`role_arn`](Self::role_arn), the `role` check
    /// fails with this reason instead of being skipped.
    pub role_not_found: Option<String>,
}

impl ExamineOptions {
    /// Nothing known yet, judged at `now`.
    pub fn at(now: std::time::SystemTime) -> ExamineOptions {
        ExamineOptions {
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
            role_not_found: None,
        }
    }
}

/// What a pod sees: the webhook's variables and the token file.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct InPod {
    /// `AWS_ROLE_ARN`.
    pub role_arn: Option<String>,
    /// `AWS_WEB_IDENTITY_TOKEN_FILE`.
    pub token_file: Option<PathBuf>,
    /// `AWS_REGION` (or `AWS_DEFAULT_REGION`).
    pub region: Option<String>,
    /// The token file's contents, or why it could not be read.
    pub token_contents: Option<Result<TokenFileContents, String>>,
}

/// The largest token file read: a projected token is a few KiB.
const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

impl InPod {
    /// Reads what the pod sees from `env` (the webhook's variables) and `fs` (the token file
    /// they name, at most 64 KiB): from inside a pod, [`ProcessEnvironment`] and [`RealFs`](crate::env::RealFs).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use irsa::doctor::InPod;
    /// use irsa::env::RealFs;
    ///
    /// let env = HashMap::from([("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/app")]);
    /// let in_pod = InPod::read(&env, &RealFs);
    /// assert_eq!(in_pod.role_arn.as_deref(), Some("arn:aws:iam::111122223333:role/app"));
    /// assert!(in_pod.token_file.is_none() && in_pod.token_contents.is_none());
    /// ```
    ///
    /// [`ProcessEnvironment`]: crate::env::ProcessEnvironment
    pub fn read(env: &dyn Environment, fs: &dyn Fs) -> InPod {
        let token_file = env.var("AWS_WEB_IDENTITY_TOKEN_FILE").map(PathBuf::from);
        let token_contents = token_file.as_ref().map(|path| {
            let bytes = fs
                .read(path, MAX_TOKEN_FILE_BYTES)
                .map_err(|e| e.to_string())?;
            if bytes.len() as u64 > MAX_TOKEN_FILE_BYTES {
                return Err(format!(
                    "larger than {MAX_TOKEN_FILE_BYTES} bytes: not a token"
                ));
            }
            Ok(TokenFileContents::new(bytes))
        });
        InPod {
            role_arn: env.var("AWS_ROLE_ARN"),
            region: env
                .var("AWS_REGION")
                .or_else(|| env.var("AWS_DEFAULT_REGION")),
            token_file,
            token_contents,
        }
    }
}

/// The bytes of a pod's token file: a secret, so its `Debug` says only how many there are,
/// and they are zeroed when dropped.
///
/// ```
/// use irsa::doctor::TokenFileContents;
///
/// let contents = TokenFileContents::new(b"eyJhbGciOi.secret.sig\n".to_vec());
/// assert_eq!(format!("{contents:?}"), "TokenFileContents(<redacted, 22 bytes>)");
/// ```
#[derive(Clone)]
pub struct TokenFileContents(zeroize::Zeroizing<Vec<u8>>);

impl TokenFileContents {
    /// Wraps the file's bytes.
    pub fn new(bytes: Vec<u8>) -> TokenFileContents {
        TokenFileContents(zeroize::Zeroizing::new(bytes))
    }

    /// The bytes, for the checks.
    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for TokenFileContents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenFileContents(<redacted, {} bytes>)", self.0.len())
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
    ) -> Result<Doctor, crate::http::CaError> {
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

    /// With STS, for [`ExamineOptions::call_sts`].
    #[must_use]
    pub fn sts(mut self, sts: aws_sdk_sts::Client) -> Doctor {
        self.sts = Some(sts);
        self
    }

    /// Runs every check it has inputs for.
    pub async fn examine(&self, inputs: &ExamineOptions) -> Report {
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
        // The issuer the setup names is the only one fetched: a token's `iss` is unverified
        // and chosen by whoever wrote the token (the token check reports a different one).
        let issuer = inputs
            .issuer
            .as_ref()
            .map(|i| i.as_str().to_owned())
            .or_else(|| exam.iss.clone());
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

    async fn get(&self, url: &str) -> Result<crate::http::client::Fetched, String> {
        fetch(&self.http, url, FETCH_TIMEOUT, FETCH_MAX_BYTES)
            .await
            .map_err(|e| crate::ErrorChain(&e).to_string())
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
