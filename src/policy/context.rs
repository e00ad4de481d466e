//! The request a trust policy is evaluated against: the principal, the action and the
//! condition keys, built from a token exactly as STS builds them for a generic OIDC provider.

use std::time::SystemTime;

use crate::token::unix_seconds;
use std::net::IpAddr;

use crate::arn::OidcProviderArn;
use crate::token::Claims;

/// The action of every web-identity role assumption.
pub const ASSUME_ROLE_WITH_WEB_IDENTITY: &str = "sts:AssumeRoleWithWebIdentity";

/// The value of a condition key in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContextValue {
    /// A single-valued key, such as `…:sub`.
    Single(String),
    /// A multivalued key, such as `…:amr`: only the `ForAnyValue:` and `ForAllValues:`
    /// qualifiers compare it; a plain operator on it never matches, whatever its polarity.
    Multi(Vec<String>),
}

impl ContextValue {
    /// The values, in order.
    pub fn values(&self) -> &[String] {
        match self {
            ContextValue::Single(v) => std::slice::from_ref(v),
            ContextValue::Multi(list) => list,
        }
    }
}

impl From<&str> for ContextValue {
    fn from(value: &str) -> Self {
        ContextValue::Single(value.to_owned())
    }
}

impl From<String> for ContextValue {
    fn from(value: String) -> Self {
        ContextValue::Single(value)
    }
}

impl From<Vec<String>> for ContextValue {
    fn from(values: Vec<String>) -> Self {
        ContextValue::Multi(values)
    }
}

/// One condition key of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContextEntry {
    /// The key as the request names it, e.g. `oidc.example.com:sub`.
    pub key: String,
    key_lower: String,
    /// Its value.
    pub value: ContextValue,
    /// A caveat about how the value was chosen, when there is one.
    pub note: Option<String>,
}

/// An `AssumeRoleWithWebIdentity` request as the trust policy sees it.
///
/// ```
/// use irsa::policy::{ContextValue, Request};
/// use irsa::token::Claims;
///
/// let provider = "arn:aws:iam::111122223333:oidc-provider/oidc.example.com".parse()?;
/// let claims = Claims::from_json(
///     br#"{"aud":["sts.amazonaws.com"],"iss":"https://oidc.example.com","sub":"system:serviceaccount:ns:sa","kubernetes.io":{"namespace":"ns"}}"#,
/// )?;
/// let request = Request::web_identity(&provider, &claims, &["sts.amazonaws.com"]);
/// assert_eq!(request.get("OIDC.example.com:SUB"), Some(&ContextValue::from("system:serviceaccount:ns:sa")));
/// assert_eq!(request.get("oidc.example.com:aud"), Some(&ContextValue::from("sts.amazonaws.com")));
/// // Only sub, aud, amr, azp and aws:FederatedProvider: nothing from `kubernetes.io`.
/// assert_eq!(request.entries().len(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    principal: String,
    action: String,
    action_lower: String,
    entries: Vec<ContextEntry>,
}

impl Request {
    /// A request by the federated principal `principal` (an OIDC provider ARN or a provider's
    /// domain name) for `action`, with no condition keys yet.
    pub fn new(principal: impl Into<String>, action: impl Into<String>) -> Request {
        let action = action.into();
        Request {
            principal: principal.into(),
            action_lower: action.to_lowercase(),
            action,
            entries: Vec::new(),
        }
    }

    /// The request STS evaluates for a token from the generic OIDC provider `provider`.
    ///
    /// The condition keys are the provider URL (the ARN's resource after `oidc-provider/`,
    /// trailing slash included) followed by `:sub`, `:aud`, and `:amr` and `:azp` when the
    /// token has them, plus `aws:FederatedProvider` (the provider's ARN). No other claim is a
    /// condition key for a generic provider.
    ///
    /// `:aud` is single-valued. When the token has several audiences, the value is the first
    /// one registered in `client_ids` (the one STS accepted the token for; STS's exact choice
    /// is undocumented, and the entry carries a note saying so), or the first audience if none
    /// is registered. `:amr` is multivalued.
    pub fn web_identity<S: AsRef<str>>(
        provider: &OidcProviderArn,
        claims: &Claims<'_>,
        client_ids: &[S],
    ) -> Request {
        let url = provider.provider_url();
        let mut request = Request::new(provider.to_string(), ASSUME_ROLE_WITH_WEB_IDENTITY);
        if let Some(sub) = &claims.sub {
            request = request.with_value(format!("{url}:sub"), sub.as_ref());
        }
        if let Some(aud) = &claims.aud {
            let registered = aud
                .iter()
                .find(|a| client_ids.iter().any(|c| c.as_ref() == *a));
            if let Some(chosen) = registered.or_else(|| aud.iter().next()) {
                request = request.with_value(format!("{url}:aud"), chosen);
                if aud.len() > 1
                    && let Some(entry) = request.entries.last_mut()
                {
                    entry.note = Some(format!(
                        "the token has {} audiences and STS's choice among them for this key is undocumented: this assumes {chosen:?}, the first one registered as a client ID; issue IRSA tokens with exactly one audience",
                        aud.len()
                    ));
                }
            }
        }
        if let Some(amr) = &claims.amr {
            let values: Vec<String> = amr.iter().map(|m| m.to_string()).collect();
            request = request.with_value(format!("{url}:amr"), values);
        }
        if let Some(azp) = &claims.azp {
            request = request.with_value(format!("{url}:azp"), azp.as_ref());
        }
        request.with_value("aws:FederatedProvider", provider.to_string())
    }

    /// Adds (or replaces) a condition key; key names are case-insensitive.
    #[must_use]
    pub fn with_value(mut self, key: impl Into<String>, value: impl Into<ContextValue>) -> Request {
        let key = key.into();
        let key_lower = key.to_lowercase();
        self.entries.retain(|e| e.key_lower != key_lower);
        self.entries.push(ContextEntry {
            key,
            key_lower,
            value: value.into(),
            note: None,
        });
        self
    }

    /// Adds the global condition keys STS puts in every `AssumeRoleWithWebIdentity` request
    /// context: `aws:CurrentTime`, `aws:EpochTime`, `aws:SecureTransport`,
    /// `aws:ViaAWSService` (`false`), and `aws:SourceIp`, `aws:RequestedRegion`,
    /// `aws:UserAgent` and `sts:RoleSessionName` when known. `aws:PrincipalArn` and
    /// `aws:TokenIssueTime` are absent: they exist only for signed requests and temporary
    /// credentials.
    #[must_use]
    pub fn with_facts(self, facts: &RequestFacts) -> Request {
        let mut request = self
            .with_value("aws:CurrentTime", iso8601(unix_seconds(facts.now)))
            .with_value("aws:EpochTime", unix_seconds(facts.now).to_string())
            .with_value("aws:SecureTransport", facts.secure_transport.to_string())
            .with_value("aws:ViaAWSService", "false");
        if let Some(ip) = facts.source_ip {
            request = request.with_value("aws:SourceIp", ip.to_string());
        }
        if let Some(region) = &facts.region {
            request = request.with_value("aws:RequestedRegion", region.as_str());
        }
        if let Some(agent) = &facts.user_agent {
            request = request.with_value("aws:UserAgent", agent.as_str());
        }
        if let Some(name) = &facts.session_name {
            request = request.with_value("sts:RoleSessionName", name.as_str());
        }
        request
    }

    /// The principal making the request.
    pub fn principal(&self) -> &str {
        &self.principal
    }

    /// The action requested.
    pub fn action(&self) -> &str {
        &self.action
    }

    pub(crate) fn action_lower(&self) -> &str {
        &self.action_lower
    }

    /// Every condition key of the request.
    pub fn entries(&self) -> &[ContextEntry] {
        &self.entries
    }

    /// The value of a condition key, compared case-insensitively.
    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        self.entry(key).map(|e| &e.value)
    }

    pub(crate) fn entry(&self, key: &str) -> Option<&ContextEntry> {
        // Keys in policies are lower-cased once at parse time; try the cheap comparison first.
        self.entries
            .iter()
            .find(|e| e.key_lower == key)
            .or_else(|| {
                let lower = key.to_lowercase();
                self.entries.iter().find(|e| e.key_lower == lower)
            })
    }
}

/// What STS knows of an `AssumeRoleWithWebIdentity` request besides the token: its time, its
/// transport, where it came from and the session it asks for. These become the global condition
/// keys a trust policy can test (`aws:CurrentTime`, `aws:SourceIp`, `sts:RoleSessionName`, …);
/// the local STS server, `irsa explain` and the doctor build them with [`Request::with_facts`].
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use irsa::policy::{ContextValue, Request, RequestFacts};
///
/// let facts = RequestFacts::at(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
///     .session_name("ci-run-42")
///     .source_ip("192.0.2.10".parse()?);
/// let request = Request::new("arn:aws:iam::111122223333:oidc-provider/o.example", "sts:AssumeRoleWithWebIdentity")
///     .with_facts(&facts);
/// assert_eq!(request.get("aws:CurrentTime"), Some(&ContextValue::from("2023-11-14T22:13:20Z")));
/// assert_eq!(request.get("aws:EpochTime"), Some(&ContextValue::from("1700000000")));
/// assert_eq!(request.get("aws:SecureTransport"), Some(&ContextValue::from("true")));
/// assert_eq!(request.get("aws:SourceIp"), Some(&ContextValue::from("192.0.2.10")));
/// assert_eq!(request.get("sts:RoleSessionName"), Some(&ContextValue::from("ci-run-42")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestFacts {
    /// The request's time.
    pub now: SystemTime,
    /// The `RoleSessionName` asked for.
    pub session_name: Option<String>,
    /// The caller's address; `None` when unknown (STS omits it for VPC-endpoint callers).
    pub source_ip: Option<IpAddr>,
    /// Whether the request came over TLS; `true` unless said otherwise, as every real STS
    /// endpoint is HTTPS.
    pub secure_transport: bool,
    /// The region the request was sent to.
    pub region: Option<String>,
    /// The caller's `User-Agent`.
    pub user_agent: Option<String>,
}

impl RequestFacts {
    /// A request made at `now` over TLS, with nothing else known.
    pub fn at(now: SystemTime) -> RequestFacts {
        RequestFacts {
            now,
            session_name: None,
            source_ip: None,
            secure_transport: true,
            region: None,
            user_agent: None,
        }
    }

    /// The `RoleSessionName` asked for.
    #[must_use]
    pub fn session_name(mut self, name: impl Into<String>) -> RequestFacts {
        self.session_name = Some(name.into());
        self
    }

    /// The caller's address.
    #[must_use]
    pub fn source_ip(mut self, ip: IpAddr) -> RequestFacts {
        self.source_ip = Some(ip);
        self
    }

    /// Whether the request came over TLS.
    #[must_use]
    pub fn secure_transport(mut self, secure: bool) -> RequestFacts {
        self.secure_transport = secure;
        self
    }

    /// The region the request was sent to.
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> RequestFacts {
        self.region = Some(region.into());
        self
    }

    /// The caller's `User-Agent`.
    #[must_use]
    pub fn user_agent(mut self, agent: impl Into<String>) -> RequestFacts {
        self.user_agent = Some(agent.into());
        self
    }
}

impl From<SystemTime> for RequestFacts {
    fn from(now: SystemTime) -> RequestFacts {
        RequestFacts::at(now)
    }
}

/// `aws:CurrentTime`'s form: ISO 8601 in UTC, whole seconds.
pub(crate) fn iso8601(now: i64) -> String {
    // Beyond year 9999: no ISO form, and no policy date compares to it meaningfully.
    crate::token::utc_timestamp(now, false).unwrap_or_else(|| now.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_audiences_choose_the_registered_one_and_say_so() {
        let provider: OidcProviderArn = "arn:aws:iam::111122223333:oidc-provider/o.example/"
            .parse()
            .unwrap();
        let claims = Claims::from_json(
            br#"{"aud":["api","sts.amazonaws.com"],"sub":"s","amr":"pwd","azp":"client"}"#,
        )
        .unwrap();
        let request = Request::web_identity(&provider, &claims, &["sts.amazonaws.com"]);
        let aud = request.entry("o.example/:aud").unwrap();
        assert_eq!(aud.value, ContextValue::from("sts.amazonaws.com"));
        assert!(aud.note.as_deref().unwrap().contains("2 audiences"));
        assert_eq!(
            request.get("o.example/:amr"),
            Some(&ContextValue::Multi(vec!["pwd".into()]))
        );
        assert_eq!(
            request.get("o.example/:azp"),
            Some(&ContextValue::from("client"))
        );
        assert_eq!(
            request.get("aws:federatedprovider"),
            Some(&ContextValue::from(provider.to_string()))
        );
        assert_eq!(request.entries().len(), 5);
        let facts = RequestFacts::at(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(253_402_300_799),
        )
        .secure_transport(false);
        let request = request.with_facts(&facts);
        assert_eq!(
            request.get("aws:currenttime"),
            Some(&ContextValue::from("9999-12-31T23:59:59Z"))
        );
        assert_eq!(
            request.get("aws:securetransport"),
            Some(&ContextValue::from("false"))
        );
        assert_eq!(request.get("aws:SourceIp"), None);
        assert_eq!(request.entries().len(), 9);
        // Without the trailing slash, the key is another key.
        assert_eq!(request.get("o.example:sub"), None);
    }
}
