//! The judge: one awsQuery request in, STS's answer out — parameters, token, trust policy,
//! credentials, signatures — with no socket in sight.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use aws_smithy_async::time::{SharedTimeSource, SystemTimeSource, TimeSource};
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};

use super::faults::{Fault, Faults, Injector};
use super::keys::ProviderKeys;
use super::query::AwsQuery;
use super::registry::{KeySource, Registry, Role};
use super::sessions::{self, Issued, Sessions};
use super::sigv4::{self, SigV4Authorization, SignedRequest};
use super::xml::{self, Xml};
use crate::StsErrorCode;
use crate::http::client::{self, CaError, HttpsClient};
use crate::http::{Peer, ServerLimits};
use crate::policy::{ACCESS_DENIED_MESSAGE, Decision, Request, RequestFacts};
use crate::sts_code::KEY_FETCH_MESSAGE;
use crate::token::{UnverifiedToken, VerifierError};

/// The only API version STS has.
pub const API_VERSION: &str = "2011-06-15";

/// How many sessions are remembered unless said otherwise.
pub const DEFAULT_SESSION_CAPACITY: usize = 100_000;

/// How long an expired session is remembered, so that its late callers hear `ExpiredToken`
/// rather than `InvalidClientTokenId`.
const EXPIRED_MEMORY: i64 = 3600;

/// Why a server cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A provider's key set cannot verify tokens.
    #[error("the keys of provider {url} cannot verify tokens")]
    Keys {
        /// The provider's URL.
        url: String,
        /// Why.
        #[source]
        source: VerifierError,
    },
    /// A provider's CA bundle cannot be used.
    #[error("the CA bundle of provider {url} cannot be used")]
    Ca {
        /// The provider's URL.
        url: String,
        /// Why.
        #[source]
        source: CaError,
    },
}

/// Builds an [`Sts`].
#[derive(Debug)]
pub struct StsBuilder {
    registry: Registry,
    faults: Option<Faults>,
    time: SharedTimeSource,
    capacity: usize,
    limits: ServerLimits,
}

impl StsBuilder {
    /// Injects faults.
    #[must_use]
    pub fn faults(mut self, faults: Faults) -> StsBuilder {
        self.faults = Some(faults);
        self
    }

    /// The clock (the system's unless said otherwise): token expiry, session expiry and the
    /// signature window are judged by it.
    #[must_use]
    pub fn time_source(mut self, time: impl TimeSource + 'static) -> StsBuilder {
        self.time = SharedTimeSource::new(time);
        self
    }

    /// How many sessions are remembered (expired ones are forgotten first, then the oldest).
    #[must_use]
    pub fn session_capacity(mut self, capacity: usize) -> StsBuilder {
        self.capacity = capacity;
        self
    }

    /// What the server accepts from its clients (by default [`ServerLimits::default`] with
    /// bodies up to [`MAX_QUERY_BYTES`](super::MAX_QUERY_BYTES), STS's own limit).
    #[must_use]
    pub fn limits(mut self, limits: ServerLimits) -> StsBuilder {
        self.limits = limits;
        self
    }

    /// The server's judge.
    pub fn build(self) -> Result<Sts, BuildError> {
        let mut providers = Vec::new();
        let mut cas = Vec::new();
        let mut resolve = Vec::new();
        for provider in &self.registry.providers {
            if let KeySource::Discovery(d) = &provider.keys {
                resolve.extend(d.resolve.iter().cloned());
            }
            if let KeySource::Discovery(d) = &provider.keys
                && let Some(pem) = &d.ca_pem
            {
                // Each bundle is checked on its own so a bad one is named.
                client::client(std::slice::from_ref(pem), &[]).map_err(|source| {
                    BuildError::Ca {
                        url: provider.url.as_str().to_owned(),
                        source,
                    }
                })?;
                cas.push(pem.clone());
            }
            providers.push(ProviderKeys::new(provider.clone()).map_err(|source| {
                BuildError::Keys {
                    url: provider.url.as_str().to_owned(),
                    source,
                }
            })?);
        }
        let client = client::client(&cas, &resolve).map_err(|source| BuildError::Ca {
            url: String::new(),
            source,
        })?;
        Ok(Sts {
            inner: Arc::new(Inner {
                registry: self.registry,
                providers,
                sessions: Mutex::new(Sessions::new(self.capacity)),
                faults: self.faults.map(Injector::new),
                time: self.time,
                client,
                limits: self.limits,
            }),
        })
    }
}

/// The local STS's judge: answers an awsQuery request as AWS STS does. Cheap to clone; serve
/// it with [`Sts::serve`], or call [`Sts::handle`] from your own server.
#[derive(Clone)]
pub struct Sts {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Sts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sts")
            .field("account", &self.inner.registry.account)
            .field("providers", &self.inner.registry.providers.len())
            .field("roles", &self.inner.registry.roles.len())
            .finish_non_exhaustive()
    }
}

struct Inner {
    registry: Registry,
    providers: Vec<ProviderKeys>,
    sessions: Mutex<Sessions>,
    faults: Option<Injector>,
    time: SharedTimeSource,
    client: HttpsClient,
    limits: ServerLimits,
}

/// An STS error answer.
#[derive(Debug)]
struct Refusal {
    code: StsErrorCode,
    message: String,
}

impl Refusal {
    fn new(code: StsErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

type Answer = Result<String, Refusal>;

impl Sts {
    /// A judge for `registry`.
    pub fn builder(registry: Registry) -> StsBuilder {
        StsBuilder {
            registry,
            faults: None,
            time: SharedTimeSource::new(SystemTimeSource::new()),
            capacity: DEFAULT_SESSION_CAPACITY,
            limits: ServerLimits::default().max_body_bytes(super::MAX_QUERY_BYTES),
        }
    }

    /// What its server accepts from clients.
    pub(crate) fn limits(&self) -> ServerLimits {
        self.inner.limits
    }

    /// The registry it judges by.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// How many sessions it remembers now.
    pub fn session_count(&self) -> usize {
        self.lock_sessions().len()
    }

    fn lock_sessions(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> i64 {
        self.inner
            .time
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }

    /// Answers one request: `POST /` with a form body, or `GET /?Action=…`.
    pub async fn handle(&self, request: http::Request<Bytes>, peer: Peer) -> http::Response<Bytes> {
        let request_id = request_id();
        let (parts, body) = request.into_parts();
        let query_string = parts.uri.query().unwrap_or_default();
        let params = if parts.method == Method::POST && !body.is_empty() {
            AwsQuery::parse(&body)
        } else {
            AwsQuery::parse(query_string.as_bytes())
        };
        let action = params
            .as_ref()
            .ok()
            .and_then(|p| p.action().map(str::to_owned));
        let web_identity = action.as_deref() == Some("AssumeRoleWithWebIdentity");
        let fault = self
            .inner
            .faults
            .as_ref()
            .and_then(|f| f.draw(web_identity));
        if let Some(latency) = self.inner.faults.as_ref().map(Injector::latency)
            && latency > Duration::ZERO
        {
            tokio::time::sleep(latency).await;
        }
        let answer = match (params, fault) {
            (_, Some(Fault::Throttling)) => {
                Err(Refusal::new(StsErrorCode::Throttling, "Rate exceeded"))
            }
            (_, Some(Fault::ServerError)) => Err(Refusal::new(
                StsErrorCode::InternalFailure,
                "An internal error occurred (injected fault)",
            )),
            (Err(e), _) => Err(Refusal::new(
                StsErrorCode::ValidationError,
                crate::error_text::chain(&e),
            )),
            (Ok(params), fault) => {
                let version = params.get("Version");
                match (params.action(), version) {
                    (Some(action), Some(v)) if v != API_VERSION => Err(invalid_action(action, v)),
                    (Some("AssumeRoleWithWebIdentity"), _) => {
                        if fault == Some(Fault::IdpCommunicationError) {
                            Err(Refusal::new(
                                StsErrorCode::IdpCommunicationError,
                                "The identity provider could not be reached (injected fault)",
                            ))
                        } else {
                            self.assume_role(&params, &parts.headers, peer, &request_id)
                                .await
                        }
                    }
                    (Some("GetCallerIdentity"), _) => {
                        let signed = SignedRequest {
                            method: parts.method.as_str(),
                            path: parts.uri.path(),
                            query: query_string,
                            headers: &parts.headers,
                            body: &body,
                        };
                        self.caller_identity(&signed, &request_id)
                    }
                    (Some(action), _) => {
                        Err(invalid_action(action, version.unwrap_or(API_VERSION)))
                    }
                    (None, _) => Err(Refusal::new(
                        StsErrorCode::InvalidAction,
                        "The request must contain the parameter Action",
                    )),
                }
            }
        };
        let action = action.as_deref().unwrap_or("-");
        match answer {
            Ok(body) => {
                tracing::debug!(request_id, action, "answered");
                respond(StatusCode::OK, body, &request_id)
            }
            Err(refusal) => {
                tracing::info!(request_id, action, code = refusal.code.as_str(), message = %refusal.message, "refused");
                let status = refusal.code.http_status();
                let body = xml::error(
                    status < 500,
                    refusal.code.as_str(),
                    &refusal.message,
                    &request_id,
                );
                respond(
                    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                    body,
                    &request_id,
                )
            }
        }
    }

    async fn assume_role(
        &self,
        params: &AwsQuery,
        headers: &http::HeaderMap,
        peer: Peer,
        request_id: &str,
    ) -> Answer {
        let input = validate(params)?;
        let now = self.now();
        let registry = &self.inner.registry;
        let role = self.find_role(input.role_arn)?;

        // The token: its issuer finds the provider, whose keys judge it.
        let token = input.token.trim_end();
        let unverified = UnverifiedToken::inspect(token).map_err(|e| {
            Refusal::new(
                StsErrorCode::InvalidIdentityToken,
                format!(
                    "The web identity token is malformed: {}",
                    crate::error_text::chain(&e)
                ),
            )
        })?;
        let iss = unverified
            .claims_unverified()
            .iss
            .as_deref()
            .unwrap_or_default();
        let provider = self
            .inner
            .providers
            .iter()
            .find(|p| p.provider.url.as_str() == iss)
            .ok_or_else(|| {
                Refusal::new(
                    StsErrorCode::InvalidIdentityToken,
                    format!("No OpenIDConnect provider found in your account for {iss}"),
                )
            })?;
        let verifier = provider
            .verifier(&self.inner.client, now)
            .await
            .map_err(|e| {
                tracing::warn!(request_id, provider = provider.provider.url.as_str(), error = %crate::ErrorChain(&e), "key fetch failed");
                Refusal::new(StsErrorCode::InvalidIdentityToken, KEY_FETCH_MESSAGE)
            })?;
        let verified = verifier.verify(token, now).map_err(|rejection| {
            let message = rejection
                .sts_message()
                .unwrap_or_else(|| crate::error_text::chain(&rejection));
            Refusal::new(rejection.sts_code(), message)
        })?;
        let claims = verified.claims();

        // The trust policy, with the whole request context.
        let provider_arn = registry.provider_arn(&provider.provider);
        let mut facts = RequestFacts::at(now)
            .session_name(input.session_name)
            .secure_transport(peer.secure);
        if let Some(ip) = peer.ip {
            facts = facts.source_ip(ip);
        }
        if let Some(agent) = headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
        {
            facts = facts.user_agent(agent);
        }
        if let Some(region) = region_of(headers) {
            facts = facts.region(region);
        }
        let request = Request::web_identity(&provider_arn, claims, &provider.provider.client_ids)
            .with_facts(&facts);
        // The decision alone on the hot path; the explanation only for a refusal's log line.
        if role.trust_policy.decide(&request) != Decision::Allow {
            let evaluation = role.trust_policy.evaluate(&request);
            tracing::info!(request_id, role = role.arn.name(), reason = %crate::policy::summarize(&evaluation), "trust policy refused");
            return Err(Refusal::new(
                StsErrorCode::AccessDenied,
                ACCESS_DENIED_MESSAGE,
            ));
        }
        let duration = input.duration.unwrap_or(3600);
        if duration > role.max_session_duration {
            return Err(Refusal::new(
                StsErrorCode::ValidationError,
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            ));
        }
        let packed = match input.policy {
            Some(policy) => Some(session_policy(policy, input.policy_arns.len())?),
            None if !input.policy_arns.is_empty() => Some(packed_size(0, input.policy_arns.len())),
            None => None,
        };

        let (access_key_id, secret_access_key, session_token) =
            sessions::credentials(input.min_token_size).ok_or_else(|| {
                Refusal::new(StsErrorCode::InternalFailure, "The random source failed")
            })?;
        let account = registry.account.as_str();
        let role_id = sessions::role_id(account, role.arn.name());
        let issued = Issued {
            access_key_id,
            secret_access_key,
            session_token,
            expires_at: now.saturating_add(i64::from(duration)),
            arn: format!(
                "arn:{}:sts::{account}:assumed-role/{}/{}",
                registry.partition,
                role.arn.name(),
                input.session_name
            ),
            user_id: format!("{role_id}:{}", input.session_name),
            account: account.to_owned(),
        };
        let audience = claims
            .aud
            .as_ref()
            .and_then(|aud| {
                aud.iter()
                    .find(|a| provider.provider.client_ids.iter().any(|c| c == a))
            })
            .unwrap_or_default();
        let mut doc = Xml::new("AssumeRoleWithWebIdentityResponse");
        doc.open("AssumeRoleWithWebIdentityResult")
            .leaf("Audience", audience)
            .open("AssumedRoleUser")
            .leaf("AssumedRoleId", &issued.user_id)
            .leaf("Arn", &issued.arn)
            .close()
            .leaf("Provider", &provider_arn.to_string())
            .open("Credentials")
            .leaf("AccessKeyId", &issued.access_key_id)
            .leaf("SecretAccessKey", &issued.secret_access_key)
            .leaf("SessionToken", &issued.session_token)
            .leaf("Expiration", &crate::policy::iso8601(issued.expires_at))
            .close();
        if let Some(packed) = packed {
            doc.leaf("PackedPolicySize", &packed.to_string());
        }
        doc.leaf(
            "SubjectFromWebIdentityToken",
            claims.sub.as_deref().unwrap_or_default(),
        )
        .close()
        .open("ResponseMetadata")
        .leaf("RequestId", request_id);
        let mut sessions = self.lock_sessions();
        sessions.insert(issued, now.saturating_sub(EXPIRED_MEMORY));
        Ok(doc.finish())
    }

    fn find_role(&self, role_arn: &str) -> Result<&Role, Refusal> {
        let registry = &self.inner.registry;
        let arn: crate::arn::RoleArn = role_arn
            .parse()
            .map_err(|_| Refusal::new(StsErrorCode::ValidationError, "Request ARN is invalid"))?;
        // A role that does not exist is refused as one that does not trust the caller: STS
        // does not tell strangers which roles exist.
        registry
            .roles
            .iter()
            .find(|r| r.arn == arn)
            .ok_or_else(|| Refusal::new(StsErrorCode::AccessDenied, ACCESS_DENIED_MESSAGE))
    }

    fn caller_identity(&self, request: &SignedRequest<'_>, request_id: &str) -> Answer {
        let invalid = || {
            Refusal::new(
                StsErrorCode::InvalidClientTokenId,
                "The security token included in the request is invalid.",
            )
        };
        let header = request
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Refusal::new(
                    StsErrorCode::MissingAuthenticationToken,
                    "Request is missing Authentication Token",
                )
            })?;
        let auth: SigV4Authorization = header.parse().map_err(|e| match e {
            sigv4::AuthorizationError::NotSigV4 => Refusal::new(
                StsErrorCode::MissingAuthenticationToken,
                "Request is missing Authentication Token",
            ),
            e => Refusal::new(StsErrorCode::IncompleteSignature, e.to_string()),
        })?;
        let amz_date = request
            .headers
            .get("x-amz-date")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Refusal::new(
                    StsErrorCode::IncompleteSignature,
                    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
                )
            })?;
        let signed_at = sigv4::parse_amz_date(amz_date).ok_or_else(|| {
            Refusal::new(
                StsErrorCode::IncompleteSignature,
                format!("X-Amz-Date {amz_date:?} is not yyyymmddThhmmssZ"),
            )
        })?;
        if amz_date.get(..8) != Some(auth.date()) {
            return Err(Refusal::new(
                StsErrorCode::SignatureDoesNotMatch,
                format!(
                    "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
                    auth.date(),
                    amz_date.get(..8).unwrap_or_default()
                ),
            ));
        }
        if auth.service() != "sts" {
            return Err(Refusal::new(
                StsErrorCode::SignatureDoesNotMatch,
                "Credential should be scoped to correct service: 'sts'. ",
            ));
        }
        let now = self.now();
        let session = {
            let sessions = self.lock_sessions();
            sessions.get(auth.access_key_id()).cloned()
        };
        let session = session.ok_or_else(invalid)?;
        let presented = request
            .headers
            .get("x-amz-security-token")
            .map(HeaderValue::as_bytes)
            .unwrap_or_default();
        if aws_lc_rs::constant_time::verify_slices_are_equal(
            presented,
            session.session_token.as_bytes(),
        )
        .is_err()
        {
            return Err(invalid());
        }
        if session.expires_at <= now {
            return Err(Refusal::new(
                StsErrorCode::ExpiredToken,
                "The security token included in the request is expired",
            ));
        }
        if let Some(problem) = sigv4::clock_problem(signed_at, now) {
            return Err(Refusal::new(StsErrorCode::SignatureDoesNotMatch, problem));
        }
        if !sigv4::signature_matches(
            &auth,
            amz_date,
            signed_at,
            request,
            &session.secret_access_key,
        ) {
            return Err(Refusal::new(
                StsErrorCode::SignatureDoesNotMatch,
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
            ));
        }
        let mut doc = Xml::new("GetCallerIdentityResponse");
        doc.open("GetCallerIdentityResult")
            .leaf("Arn", &session.arn)
            .leaf("UserId", &session.user_id)
            .leaf("Account", &session.account)
            .close()
            .open("ResponseMetadata")
            .leaf("RequestId", request_id);
        Ok(doc.finish())
    }
}

fn invalid_action(action: &str, version: &str) -> Refusal {
    Refusal::new(
        StsErrorCode::InvalidAction,
        format!("Could not find operation {action} for version {version}"),
    )
}

/// The region of `sts.REGION.amazonaws.com`-style hosts; `None` for local endpoints.
fn region_of(headers: &http::HeaderMap) -> Option<&str> {
    let host = headers.get(http::header::HOST)?.to_str().ok()?;
    let rest = host.strip_prefix("sts.")?;
    let (region, suffix) = rest.split_once('.')?;
    suffix.starts_with("amazonaws.com").then_some(region)
}

/// The parameters of an `AssumeRoleWithWebIdentity` request, checked.
struct Input<'a> {
    role_arn: &'a str,
    session_name: &'a str,
    token: &'a str,
    duration: Option<u32>,
    policy: Option<&'a str>,
    policy_arns: Vec<&'a str>,
    min_token_size: usize,
}

/// STS's constraints, in its `ValidationError` words, all at once.
fn validate(params: &AwsQuery) -> Result<Input<'_>, Refusal> {
    let mut errors: Vec<String> = Vec::new();
    let mut fail = |value: Option<&str>, member: &str, constraint: String| {
        let value = value.map_or_else(|| "null".to_owned(), |v| format!("'{v}'"));
        errors.push(format!(
            "Value {value} at '{member}' failed to satisfy constraint: Member must {constraint}"
        ));
    };
    let role_arn = params.get("RoleArn");
    let session_name = params.get("RoleSessionName");
    let token = params.get("WebIdentityToken");
    let provider_id = params.get("ProviderId");
    let policy = params.get("Policy");
    length(&mut fail, role_arn, role_arn, "roleArn", 20, 2048, true);
    length(
        &mut fail,
        session_name,
        session_name,
        "roleSessionName",
        2,
        64,
        true,
    );
    if let Some(name) = session_name
        && !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
    {
        fail(
            Some(name),
            "roleSessionName",
            "satisfy regular expression pattern: [\\w+=,.@-]*".to_owned(),
        );
    }
    // The token is sensitive: STS does not echo it.
    let hidden = Some("*** Sensitive Data Redacted ***");
    length(
        &mut fail,
        token,
        hidden,
        "webIdentityToken",
        4,
        20_000,
        true,
    );
    length(
        &mut fail,
        provider_id,
        provider_id,
        "providerId",
        4,
        2048,
        false,
    );
    length(&mut fail, policy, policy, "policy", 1, 2048, false);
    if let Some(p) = policy
        && !p
            .chars()
            .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}'))
    {
        fail(
            Some(p),
            "policy",
            "satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"
                .to_owned(),
        );
    }
    let policy_arns = params.list("PolicyArns", Some("arn"));
    if policy_arns.len() > 10 {
        fail(
            Some(&format!("[{}]", policy_arns.join(", "))),
            "policyArns",
            "have length less than or equal to 10".to_owned(),
        );
    }
    let mut duration = None;
    if let Some(d) = params.get("DurationSeconds") {
        match d.parse::<u32>() {
            Ok(n) if n < 900 => fail(
                Some(d),
                "durationSeconds",
                "have value greater than or equal to 900".to_owned(),
            ),
            Ok(n) if n > 43_200 => fail(
                Some(d),
                "durationSeconds",
                "have value less than or equal to 43200".to_owned(),
            ),
            Ok(n) => duration = Some(n),
            Err(_) => fail(Some(d), "durationSeconds", "be an integer".to_owned()),
        }
    }
    let mut min_token_size = 0;
    if let Some(m) = params.get("MinimumSessionTokenSize") {
        match m.parse::<usize>() {
            Ok(n) if n <= 4096 => min_token_size = n,
            _ => fail(
                Some(m),
                "minimumSessionTokenSize",
                "have value less than or equal to 4096".to_owned(),
            ),
        }
    }
    if !errors.is_empty() {
        let n = errors.len();
        let noun = if n == 1 { "error" } else { "errors" };
        return Err(Refusal::new(
            StsErrorCode::ValidationError,
            format!("{n} validation {noun} detected: {}", errors.join("; ")),
        ));
    }
    match (role_arn, session_name, token) {
        (Some(role_arn), Some(session_name), Some(token)) => Ok(Input {
            role_arn,
            session_name,
            token,
            duration,
            policy,
            policy_arns,
            min_token_size,
        }),
        _ => Err(Refusal::new(
            StsErrorCode::ValidationError,
            "1 validation error detected",
        )),
    }
}

/// The length constraint of one member: `fail(shown value, member, constraint)` when broken.
fn length(
    fail: &mut impl FnMut(Option<&str>, &str, String),
    value: Option<&str>,
    shown: Option<&str>,
    member: &str,
    min: usize,
    max: usize,
    required: bool,
) {
    match value {
        None if required => fail(None, member, "not be null".to_owned()),
        None => {}
        Some(v) => {
            let n = v.chars().count();
            if n < min {
                fail(
                    shown,
                    member,
                    format!("have length greater than or equal to {min}"),
                );
            } else if n > max {
                fail(
                    shown,
                    member,
                    format!("have length less than or equal to {max}"),
                );
            }
        }
    }
}

/// A session policy must be a JSON policy document; its packed size, in percent of the limit.
fn session_policy(policy: &str, arns: usize) -> Result<u32, Refusal> {
    let malformed = || {
        Refusal::new(
            StsErrorCode::MalformedPolicyDocument,
            "Syntax errors in policy.",
        )
    };
    let value: serde_json::Value = serde_json::from_str(policy).map_err(|_| malformed())?;
    let statement_ok = value
        .get("Statement")
        .is_some_and(|s| s.is_object() || s.is_array());
    if !value.is_object() || !statement_ok {
        return Err(malformed());
    }
    let packed = packed_size(policy.len(), arns);
    if packed > 100 {
        return Err(Refusal::new(
            StsErrorCode::PackedPolicyTooLarge,
            format!(
                "Packed size of consumed session policies and session tags exceeds the limit ({packed}%)."
            ),
        ));
    }
    Ok(packed)
}

/// STS's packing is undisclosed; this counts plaintext against the 2,048-character limit,
/// each managed policy ARN as 64 characters.
fn packed_size(policy_len: usize, arns: usize) -> u32 {
    let used = policy_len + arns * 64;
    u32::try_from((used * 100).div_ceil(2048)).unwrap_or(u32::MAX)
}

fn request_id() -> String {
    let mut bytes = [0u8; 16];
    // A request ID only has to be unique; the CSPRNG failing leaves zeros, still well-formed.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    crate::token::uuid_v4(bytes)
}

fn respond(status: StatusCode, body: String, request_id: &str) -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml"),
    );
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}
