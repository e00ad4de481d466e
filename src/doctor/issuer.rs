//! The issuer stage: the discovery document and the key set, fetched as STS fetches them.

use bytes::Bytes;

use super::report::{Check, Verdict};
use super::{Doctor, Exam, ExamineOptions};
use crate::StsErrorCode;
use crate::oidc::{IssuerUrl, JwkSet, OpenIdConfiguration};

impl Doctor {
    pub(super) async fn check_issuer(
        &self,
        iss: &str,
        inputs: &ExamineOptions,
        exam: &mut Exam,
    ) -> (Check, Check) {
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
                Some(crate::sts_code::KEY_FETCH_MESSAGE),
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
    pub(super) async fn document(
        &self,
        url: &str,
        content_types: &[&str],
    ) -> Result<(Bytes, Vec<String>, Option<Check>), Check> {
        let fetched = self.get(url).await.map_err(|e| {
            let (why, fix) = fetch_failure(&e);
            Check::new("", Verdict::Fail, format!("{url} cannot be fetched: {why}"))
                .evidence(e)
                .fix(fix)
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
}

/// What a failed fetch's error chain says went wrong, and the fix, in a person's words.
fn fetch_failure(chain: &str) -> (&'static str, &'static str) {
    let has = |needle: &str| chain.contains(needle);
    if has("dns error") || has("failed to lookup address") {
        (
            "its host name does not resolve",
            "check the issuer's host name (for S3: BUCKET.s3.REGION.amazonaws.com, with the bucket's own region); STS resolves it with public DNS",
        )
    } else if has("certificate") || has("Certificate") || has("UnknownIssuer") {
        (
            "its TLS certificate is not accepted",
            "serve the issuer with a certificate for its host name from a publicly trusted CA, valid now (S3's own URLs have one)",
        )
    } else if has("HandshakeFailure") || has("handshake failure") {
        (
            "the TLS handshake failed",
            "serve TLS 1.2 or 1.3 with a certificate from a publicly trusted CA (STS's requirement)",
        )
    } else if has("InvalidContentType") || has("corrupt message") {
        (
            "the server does not speak TLS there",
            "serve the issuer over HTTPS on port 443: STS fetches https:// URLs only",
        )
    } else if has("Connection refused") || has("connection refused") {
        (
            "nothing accepts connections on its port",
            "serve the issuer over HTTPS on port 443, reachable from the internet",
        )
    } else {
        (
            "the request failed",
            "make the issuer reachable over HTTPS from the internet: STS fetches it anonymously",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::fetch_failure;

    #[test]
    fn fetch_failures_are_told_apart() {
        for (chain, why) in [
            (
                "GET https://x/.well-known/openid-configuration failed: client error (Connect): dns error: failed to lookup address information: Name or service not known",
                "its host name does not resolve",
            ),
            (
                "GET u failed: client error (Connect): invalid peer certificate: Expired",
                "its TLS certificate is not accepted",
            ),
            (
                "GET u failed: client error (Connect): received corrupt message of type InvalidContentType",
                "the server does not speak TLS there",
            ),
            (
                "GET u failed: client error (Connect): tcp connect error: Connection refused (os error 111)",
                "nothing accepts connections on its port",
            ),
            (
                "GET u failed: client error (Connect): received fatal alert: HandshakeFailure",
                "the TLS handshake failed",
            ),
            (
                "GET u failed: connection closed before message completed",
                "the request failed",
            ),
        ] {
            assert_eq!(fetch_failure(chain).0, why, "{chain}");
        }
    }
}
