//! `GetCallerIdentity`: the SigV4 signature checked against the credentials this STS issued.

use super::service::{Answer, Refusal, Sts, region_of};
use super::sigv4::{self, SigV4Authorization, SignedRequest};
use super::xml::Xml;
use crate::StsErrorCode;

impl Sts {
    pub(super) fn caller_identity(&self, request: &SignedRequest<'_>, request_id: &str) -> Answer {
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
        // What the signature must cover, as AWS requires it: the host and the time, so that a
        // signed request cannot be replayed against another endpoint or at another time.
        let signed = auth.signed_headers();
        if !signed.iter().any(|h| h == "host") {
            return Err(Refusal::new(
                StsErrorCode::IncompleteSignature,
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
            ));
        }
        if !signed.iter().any(|h| h == "x-amz-date") {
            return Err(Refusal::new(
                StsErrorCode::IncompleteSignature,
                "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.",
            ));
        }
        let region = self
            .inner
            .region
            .as_deref()
            .or_else(|| region_of(request.headers));
        if let Some(region) = region
            && auth.region() != region
        {
            return Err(Refusal::new(
                StsErrorCode::SignatureDoesNotMatch,
                format!(
                    "Credential should be scoped to a valid region, not '{}'. ",
                    auth.region()
                ),
            ));
        }
        // A declared payload hash is checked against the body, not taken on trust.
        if let Some(declared) = request.headers.get("x-amz-content-sha256") {
            let actual = sigv4::payload_hash(request.body);
            if declared.as_bytes() != actual.as_bytes() {
                return Err(Refusal::new(
                    StsErrorCode::SignatureDoesNotMatch,
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                ));
            }
        }
        let now = self.now();
        // The session is the one its token seals for this access key ID, under this server's
        // key (the MAC is checked in constant time).
        let presented = request
            .headers
            .get("x-amz-security-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let session = self
            .inner
            .session_key
            .open(auth.access_key_id(), presented)
            .ok_or_else(invalid)?;
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
