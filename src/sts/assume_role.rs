//! `AssumeRoleWithWebIdentity`: parameters checked as STS checks them, then the role, the
//! provider, the token, the trust policy, the duration and the session policy.

use super::query::AwsQuery;
use super::registry::Role;
use super::service::{Answer, Refusal, Sts, region_of};
use super::sessions;
use super::xml::Xml;
use crate::StsErrorCode;
use crate::http::Peer;
use crate::policy::{ACCESS_DENIED_MESSAGE, Decision, Request, RequestFacts};
use crate::sts_code::KEY_FETCH_MESSAGE;
use crate::token::UnverifiedToken;

impl Sts {
    pub(super) async fn assume_role(
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
        // Trailing ASCII white space (a newline from a token file read as is, as botocore and
        // aws-config send it) is what real STS tolerates: aws-config's recorded traffic shows a
        // token ending in %0A judged by its issuer. Nothing else is trimmed.
        let token = input
            .token
            .trim_end_matches(|c: char| c.is_ascii_whitespace());
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
        let kid = unverified.header().kid.as_deref();
        let verifier = provider
            .verifier(&self.inner.client, now, kid)
            .await
            .map_err(|e| {
                tracing::warn!(request_id, provider = provider.provider.url.as_str(), error = ?crate::error_text::chain(&e), "key fetch failed");
                Refusal::new(StsErrorCode::InvalidIdentityToken, KEY_FETCH_MESSAGE)
            })?;
        let verified = verifier.verify_at(token, now).map_err(|rejection| {
            let message = rejection
                .sts_message()
                .unwrap_or_else(|| crate::error_text::chain(&rejection));
            Refusal::new(rejection.sts_code(), message)
        })?;
        let claims = verified.claims();

        // The trust policy, with the whole request context.
        let provider_arn = registry.provider_arn(&provider.provider);
        let mut facts = RequestFacts::at(self.inner.time.now())
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
            tracing::info!(request_id, role = role.arn.name(), reason = ?crate::policy::summarize(&evaluation), "trust policy refused");
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

        let account = registry.account.as_str();
        let role_id = sessions::role_id(account, role.arn.name());
        let issued = self
            .inner
            .session_key
            .issue(
                now.saturating_add(i64::from(duration)),
                format!(
                    "arn:{}:sts::{account}:assumed-role/{}/{}",
                    registry.partition,
                    role.arn.name(),
                    input.session_name
                ),
                format!("{role_id}:{}", input.session_name),
                account.to_owned(),
                input.min_token_size,
            )
            .ok_or_else(|| {
                Refusal::new(StsErrorCode::InternalFailure, "The random source failed")
            })?;
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
        Ok(doc.finish())
    }

    pub(super) fn find_role(&self, role_arn: &str) -> Result<&Role, Refusal> {
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
