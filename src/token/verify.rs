//! The verifier: judges a token against an issuer's key set exactly as STS does, with the STS
//! error it would answer and the precise local reason.

use std::fmt;
use std::mem::MaybeUninit;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;
use std::time::SystemTime;

use aws_lc_rs::signature::{self as sig, ParsedPublicKey, VerificationAlgorithm};

use super::cache::TokenCache;
use super::claims::{Claims, Header, TokenKind};
use super::jws::{self, MalformedToken};
use super::read::ClaimsError;
use super::subject::Subject;
use crate::StsErrorCode;
use crate::base64 as b64;
use crate::oidc::{Curve, DEFAULT_AUDIENCE, IssuerUrl, JwkSet, JwsAlgorithm};

/// The clock skew STS allows beyond `exp`: "IAM provides five minutes beyond the expiration
/// time specified in the JWT to account for clock skew".
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// Why a token was rejected: the precise local reason. [`Rejection::sts_code`] and
/// [`Rejection::sts_message`] give what STS answers for the same token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The token is not a well-formed compact JWS.
    #[error("the token is malformed")]
    Malformed(#[source] MalformedToken),
    /// The header names an algorithm STS does not accept (`none`, `HS256`, `PS256`, …).
    #[error(
        "algorithm {alg:?} is not accepted: only RS256, RS384, RS512, ES256, ES384 and ES512 are"
    )]
    Algorithm {
        /// The `alg` the header names.
        alg: String,
    },
    /// The header has a `crit` member; no JWS extension is understood.
    #[error("the header has a \"crit\" member, naming extensions nobody here understands")]
    Critical,
    /// The legacy secret-based token carries no audience and no expiry.
    #[error(
        "this is a legacy secret-based service-account token (issuer {iss:?}, no aud, no exp); IRSA needs a projected token with audience sts.amazonaws.com"
    )]
    LegacyToken {
        /// The token's issuer.
        iss: String,
    },
    /// The token has no `iss`.
    #[error("the token has no \"iss\" claim")]
    MissingIssuer,
    /// `iss` is not the configured issuer.
    #[error(
        "the token's issuer {iss:?} is not the registered provider's issuer {expected:?} (compared exactly: case and trailing \"/\" matter)"
    )]
    UnknownIssuer {
        /// The token's issuer.
        iss: String,
        /// The configured issuers.
        expected: Vec<String>,
    },
    /// No key in the set has the header's `kid`.
    #[error(
        "no key with kid {kid:?} in the key set: the signing key is not published (or was rotated out)"
    )]
    UnknownKid {
        /// The header's `kid`.
        kid: String,
    },
    /// The key with the header's `kid` cannot verify this algorithm.
    #[error("the key with kid {kid:?} cannot verify {alg} signatures: {why}")]
    KeyMismatch {
        /// The header's `kid`.
        kid: String,
        /// The header's algorithm.
        alg: JwsAlgorithm,
        /// Why the key does not fit.
        why: String,
    },
    /// No `kid`, and not exactly one key fits the algorithm.
    #[error(
        "the token has no kid and {candidates} keys can verify {alg}: exactly one must, to pick a key without a kid"
    )]
    AmbiguousKey {
        /// The header's algorithm.
        alg: JwsAlgorithm,
        /// How many keys fit.
        candidates: usize,
    },
    /// An ECDSA signature of the wrong length (e.g. DER-encoded instead of JOSE `r||s`).
    #[error("the {alg} signature is {len} bytes; JOSE requires r||s of exactly {expected} bytes")]
    SignatureLength {
        /// The algorithm.
        alg: JwsAlgorithm,
        /// The signature's length.
        len: usize,
        /// The length JOSE requires.
        expected: usize,
    },
    /// The signature does not verify.
    #[error(
        "the signature does not verify with the key {}: the token was altered or signed by another key",
        kid.as_deref().map_or_else(|| "without a kid".to_owned(), |kid| format!("{kid:?}"))
    )]
    BadSignature {
        /// The kid of the key tried.
        kid: Option<String>,
    },
    /// The token has no `aud`.
    #[error("the token has no \"aud\" claim")]
    MissingAudience,
    /// No audience of the token is a configured client ID.
    #[error("the token's audiences {aud:?} include none of the provider's client IDs {expected:?}")]
    WrongAudience {
        /// The token's audiences.
        aud: Vec<String>,
        /// The configured client IDs.
        expected: Vec<String>,
    },
    /// The token has no `sub`.
    #[error("the token has no \"sub\" claim")]
    MissingSubject,
    /// The token has no `exp`.
    #[error("the token has no \"exp\" claim")]
    MissingExpiry,
    /// The token expired longer ago than the allowed skew.
    #[error("the token expired at {}, {} s before now ({}), beyond the {skew} s of allowed clock skew", At(*exp), now.saturating_sub(*exp), At(*now))]
    Expired {
        /// The token's `exp`.
        exp: i64,
        /// The time of verification.
        now: i64,
        /// The allowed skew in seconds.
        skew: i64,
    },
    /// `nbf` is later than now plus the skew.
    #[error("the token is not valid before {}, {} s after now ({})", At(*nbf), nbf.saturating_sub(*now), At(*now))]
    NotYetValid {
        /// The token's `nbf`.
        nbf: i64,
        /// The time of verification.
        now: i64,
    },
    /// `iat` is later than now plus the skew.
    #[error("the token was issued at {}, {} s after now ({}): check the clocks", At(*iat), iat.saturating_sub(*now), At(*now))]
    IssuedInFuture {
        /// The token's `iat`.
        iat: i64,
        /// The time of verification.
        now: i64,
    },
}

/// A Unix time in a reason, as a person reads it: RFC 3339 in UTC for the years 0 to 9999
/// (RFC 3339's range), else the number.
struct At(i64);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match super::utc_timestamp(self.0, false) {
            Some(stamp) => f.write_str(&stamp),
            None => write!(f, "{} (Unix time)", self.0),
        }
    }
}

impl Rejection {
    /// The STS error code for this rejection.
    pub fn sts_code(&self) -> StsErrorCode {
        match self {
            Rejection::Expired { .. } => StsErrorCode::ExpiredTokenException,
            _ => StsErrorCode::InvalidIdentityToken,
        }
    }

    /// The message STS gives, where it is known.
    pub fn sts_message(&self) -> Option<String> {
        match self {
            Rejection::LegacyToken { iss } | Rejection::UnknownIssuer { iss, .. } => Some(format!(
                "No OpenIDConnect provider found in your account for {iss}"
            )),
            Rejection::MissingAudience => Some("Missing a required claim: aud".to_owned()),
            Rejection::WrongAudience { .. } => Some("Incorrect token audience".to_owned()),
            Rejection::MissingSubject => Some("Missing a required claim: sub".to_owned()),
            // The missing space before the second number is in STS's real message.
            Rejection::Expired { exp, now, .. } => Some(format!(
                "Token expired: current date/time {now} must be before the expiration date/time{exp}"
            )),
            _ => None,
        }
    }
}

/// A token that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken(Arc<VerifiedInner>);

/// A claim set borrowing from its decoded payload.
type ClaimsOf<'a> = Claims<'a>;

self_cell::self_cell!(
    /// The decoded payload and the claims read from it, which borrow its strings.
    struct ClaimsCell {
        owner: Vec<u8>,
        #[covariant]
        dependent: ClaimsOf,
    }
    impl {Debug, PartialEq, Eq}
);

#[derive(Debug, PartialEq, Eq)]
struct VerifiedInner {
    alg: JwsAlgorithm,
    kid: Option<Arc<str>>,
    claims: ClaimsCell,
}

impl VerifiedToken {
    /// The algorithm it was signed with.
    pub fn algorithm(&self) -> JwsAlgorithm {
        self.0.alg
    }

    /// The `kid` of the key that verified it (the header's, or the only fitting key's).
    pub fn kid(&self) -> Option<&str> {
        self.0.kid.as_deref()
    }

    /// The verified claims; their strings borrow from the token's decoded payload.
    pub fn claims(&self) -> &Claims<'_> {
        self.0.claims.borrow_dependent()
    }

    /// The subject as a service account, if it is one.
    pub fn subject(&self) -> Option<Subject> {
        self.claims()
            .sub
            .as_deref()
            .and_then(|s| Subject::parse(s).ok())
    }
}

/// One usable key, parsed once for every algorithm it may verify.
struct StoredKey {
    kid: Option<Arc<str>>,
    /// Indexed by `alg_index`.
    parsed: [Option<ParsedPublicKey>; 6],
}

/// The parsed keys of one key set.
struct KeyStore {
    keys: Vec<StoredKey>,
}

fn alg_index(alg: JwsAlgorithm) -> usize {
    match alg {
        JwsAlgorithm::ES256 => 0,
        JwsAlgorithm::ES384 => 1,
        JwsAlgorithm::ES512 => 2,
        JwsAlgorithm::RS256 => 3,
        JwsAlgorithm::RS384 => 4,
        JwsAlgorithm::RS512 => 5,
    }
}

fn verification(alg: JwsAlgorithm) -> &'static dyn VerificationAlgorithm {
    match alg {
        JwsAlgorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
        JwsAlgorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
        JwsAlgorithm::ES512 => &sig::ECDSA_P521_SHA512_FIXED,
        JwsAlgorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        JwsAlgorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        JwsAlgorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
    }
}

impl KeyStore {
    fn new(set: &JwkSet) -> KeyStore {
        let mut keys = Vec::new();
        for jwk in set.keys() {
            let Ok(key) = jwk.public_key() else { continue };
            let declared = jwk.alg().and_then(|a| a.parse::<JwsAlgorithm>().ok());
            let mut parsed: [Option<ParsedPublicKey>; 6] = Default::default();
            for alg in JwsAlgorithm::ALL {
                let allowed = alg.fits(key.material()) && declared.is_none_or(|d| d == alg);
                if allowed && let Some(slot) = parsed.get_mut(alg_index(alg)) {
                    *slot = ParsedPublicKey::new(verification(alg), key.spki_der()).ok();
                }
            }
            keys.push(StoredKey {
                kid: jwk.kid().map(Arc::from),
                parsed,
            });
        }
        KeyStore { keys }
    }

    fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Verifies tokens exactly as STS does for one IAM OIDC provider. Cheap to share across
/// threads; keys are parsed once, when the verifier is built or its keys are replaced.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use irsa::oidc::JwkSet;
/// use irsa::token::{Rejection, StsErrorCode, Verifier};
///
/// let keys = JwkSet::parse(include_bytes!("../../tests/data/k8s-vectors/jwks.rsa-ecdsa.json"))?;
/// let verifier = Verifier::builder(&keys)
///     .issuer("https://issuer.example.com".parse()?)
///     .audience("sts.amazonaws.com")
///     .build()?;
///
/// let token = include_str!("../../tests/data/k8s-vectors/token.bound.rs256.jwt");
/// let verified = verifier.verify(token, UNIX_EPOCH + Duration::from_secs(1_514_764_860))?; // the clock is injected
/// assert_eq!(verified.claims().sub.as_deref(), Some("system:serviceaccount:myns:mysvcacct"));
///
/// let late = verifier.verify(token, UNIX_EPOCH + Duration::from_secs(1_514_851_200 + 301)).unwrap_err();
/// assert_eq!(late.sts_code(), StsErrorCode::ExpiredTokenException);
/// assert!(matches!(late, Rejection::Expired { .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Verifier {
    issuers: Vec<String>,
    audiences: Vec<String>,
    skew: i64,
    keys: RwLock<KeyStore>,
    cache: Option<TokenCache>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("skew", &self.skew)
            .field("cached", &self.cache.is_some())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Verifier`].
#[derive(Debug)]
#[must_use]
pub struct VerifierBuilder<'k> {
    keys: &'k JwkSet,
    issuers: Vec<String>,
    audiences: Vec<String>,
    skew: Duration,
    cache: Option<(usize, Duration)>,
}

impl<'k> VerifierBuilder<'k> {
    /// Accepts tokens whose `iss` is exactly this issuer (repeatable).
    pub fn issuer(mut self, issuer: IssuerUrl) -> Self {
        self.issuers.push(issuer.as_str().to_owned());
        self
    }

    /// Accepts tokens whose `aud` contains this client ID (repeatable). Without any,
    /// `sts.amazonaws.com`.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The clock skew allowed around `exp`, `nbf` and `iat`. Default: 5 minutes, as STS.
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.skew = skew;
        self
    }

    /// Caches verified tokens: at most `capacity` entries, each kept until the token expires
    /// (plus the skew) or for `ttl`, whichever is sooner. The cache is emptied when the keys are
    /// replaced.
    pub fn cache(mut self, capacity: usize, ttl: Duration) -> Self {
        self.cache = Some((capacity, ttl));
        self
    }

    /// Parses the keys and builds the verifier.
    pub fn build(self) -> Result<Verifier, VerifierError> {
        if self.issuers.is_empty() {
            return Err(VerifierError::NoIssuer);
        }
        let store = KeyStore::new(self.keys);
        if store.is_empty() {
            return Err(VerifierError::NoUsableKey);
        }
        let audiences = if self.audiences.is_empty() {
            vec![DEFAULT_AUDIENCE.to_owned()]
        } else {
            self.audiences
        };
        Ok(Verifier {
            issuers: self.issuers,
            audiences,
            skew: i64::try_from(self.skew.as_secs()).unwrap_or(i64::MAX),
            keys: RwLock::new(store),
            cache: self
                .cache
                .map(|(capacity, ttl)| TokenCache::new(capacity, ttl)),
        })
    }
}

impl Verifier {
    /// Starts a verifier for tokens signed by keys in `keys`.
    pub fn builder(keys: &JwkSet) -> VerifierBuilder<'_> {
        VerifierBuilder {
            keys,
            issuers: Vec::new(),
            audiences: Vec::new(),
            skew: DEFAULT_CLOCK_SKEW,
            cache: None,
        }
    }

    /// Replaces the key set (after a rotation) and empties the cache.
    pub fn replace_keys(&self, keys: &JwkSet) -> Result<(), VerifierError> {
        let store = KeyStore::new(keys);
        if store.is_empty() {
            return Err(VerifierError::NoUsableKey);
        }
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = store;
        if let Some(cache) = &self.cache {
            cache.clear();
        }
        Ok(())
    }

    /// Verifies `token` at time `now`.
    pub fn verify(&self, token: &str, now: SystemTime) -> Result<VerifiedToken, Rejection> {
        self.verify_at(token, super::unix_seconds(now))
    }

    /// Whether a key with this `kid` is among the verifier's keys.
    #[cfg(feature = "sts")]
    pub(crate) fn knows_kid(&self, kid: &str) -> bool {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        keys.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// [`Verifier::verify`] at `now` in seconds since the Unix epoch, for callers that hold
    /// the time in JWT's unit already.
    pub(crate) fn verify_at(&self, token: &str, now: i64) -> Result<VerifiedToken, Rejection> {
        let Some(cache) = &self.cache else {
            return self.verify_uncached(token, now);
        };
        if let Some(hit) = cache.get(token, now) {
            return Ok(hit);
        }
        let generation = cache.generation();
        let verified = self.verify_uncached(token, now)?;
        let claims = verified.claims();
        let not_before = claims
            .nbf
            .into_iter()
            .chain(claims.iat)
            .max()
            .map_or(i64::MIN, |t| t.saturating_sub(self.skew));
        let expires = claims
            .exp
            .map_or(i64::MIN, |exp| exp.saturating_add(self.skew));
        cache.insert(token, &verified, now, not_before, expires, generation);
        Ok(verified)
    }

    fn verify_uncached(&self, token: &str, now: i64) -> Result<VerifiedToken, Rejection> {
        let malformed = Rejection::Malformed;
        let segments = jws::split(token).map_err(malformed)?;
        // Header and signature share one scratch buffer, never zeroed; the payload gets its
        // own, which the verified token keeps and its claims borrow from.
        let header_len = b64::decoded_len(segments.header.len());
        let scratch_len = header_len + b64::decoded_len(segments.signature.len());
        // On the stack for the usual sizes (an RSA-4096 signature and a short header fit).
        let mut stack = [MaybeUninit::<u8>::uninit(); 1024];
        let mut heap = Vec::new();
        let scratch = match stack.get_mut(..scratch_len) {
            Some(scratch) => scratch,
            None => {
                heap.resize(scratch_len, MaybeUninit::uninit());
                heap.as_mut_slice()
            }
        };
        let (header_buf, signature_buf) = scratch.split_at_mut(header_len);
        let header_bytes =
            jws::decode_segment(segments.header, "header", header_buf).map_err(malformed)?;
        let json_error =
            |segment| move |source| malformed(MalformedToken::Json { segment, source });
        let header = Header::from_json(header_bytes).map_err(json_error("header"))?;
        let alg: JwsAlgorithm = header.alg.parse().map_err(|_| Rejection::Algorithm {
            alg: header.alg.to_string(),
        })?;
        if header.crit {
            return Err(Rejection::Critical);
        }
        // The payload first: a token with more than three segments fails there, with that
        // reason.
        let payload = jws::decode_segment_to_vec(segments.payload, "payload").map_err(malformed)?;
        let signature = jws::decode_segment(segments.signature, "signature", signature_buf)
            .map_err(malformed)?;
        let cell = ClaimsCell::try_new(payload, |payload| {
            // simdutf8 checks the ~0.5 KB of a projected payload several times faster than
            // the standard library.
            let json = simdutf8::basic::from_utf8(payload).map_err(|_| ClaimsError::NotUtf8)?;
            Claims::from_json_str(json)
        })
        .map_err(json_error("payload"))?;
        let claims = cell.borrow_dependent();

        check_provider(claims, &self.issuers)?;

        // Held through the signature check; replacing keys waits for it (microseconds).
        let store = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        let (kid, key) = select_key(&store, header.kid.as_deref(), alg)?;
        if let Some(expected) = ecdsa_signature_len(alg)
            && signature.len() != expected
        {
            return Err(Rejection::SignatureLength {
                alg,
                len: signature.len(),
                expected,
            });
        }
        key.verify_sig(segments.signing_input.as_bytes(), signature)
            .map_err(|_| Rejection::BadSignature {
                kid: kid.map(|k| k.to_string()),
            })?;

        check_claims(claims, &self.audiences, now, self.skew)?;
        let kid = kid.cloned();
        Ok(VerifiedToken(Arc::new(VerifiedInner {
            alg,
            kid,
            claims: cell,
        })))
    }
}

fn ecdsa_signature_len(alg: JwsAlgorithm) -> Option<usize> {
    let curve = match alg {
        JwsAlgorithm::ES256 => Curve::P256,
        JwsAlgorithm::ES384 => Curve::P384,
        JwsAlgorithm::ES512 => Curve::P521,
        JwsAlgorithm::RS256 | JwsAlgorithm::RS384 | JwsAlgorithm::RS512 => return None,
    };
    Some(2 * curve.coordinate_len())
}

fn select_key<'s>(
    store: &'s KeyStore,
    kid: Option<&str>,
    alg: JwsAlgorithm,
) -> Result<(Option<&'s Arc<str>>, &'s ParsedPublicKey), Rejection> {
    let index = alg_index(alg);
    match kid {
        Some(kid) => {
            let key = store
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .ok_or_else(|| Rejection::UnknownKid {
                    kid: kid.to_owned(),
                })?;
            let parsed = key
                .parsed
                .get(index)
                .and_then(Option::as_ref)
                .ok_or_else(|| Rejection::KeyMismatch {
                    kid: kid.to_owned(),
                    alg,
                    why: "its type, curve or declared alg differs".to_owned(),
                })?;
            Ok((key.kid.as_ref(), parsed))
        }
        None => {
            let fitting: Vec<_> = store
                .keys
                .iter()
                .filter_map(|k| Some((k.kid.as_ref(), k.parsed.get(index)?.as_ref()?)))
                .collect();
            match fitting.as_slice() {
                [only] => Ok(*only),
                _ => Err(Rejection::AmbiguousKey {
                    alg,
                    candidates: fitting.len(),
                }),
            }
        }
    }
}

/// STS's first rule: the provider is found by the (not yet verified) issuer, which a legacy
/// token does not have.
pub(crate) fn check_provider(claims: &Claims<'_>, issuers: &[String]) -> Result<(), Rejection> {
    if claims.kind() == TokenKind::Legacy {
        return Err(Rejection::LegacyToken {
            iss: claims.iss.as_deref().unwrap_or_default().to_owned(),
        });
    }
    let iss = claims.iss.as_deref().ok_or(Rejection::MissingIssuer)?;
    if !issuers.iter().any(|i| i == iss) {
        return Err(Rejection::UnknownIssuer {
            iss: iss.to_owned(),
            expected: issuers.to_vec(),
        });
    }
    Ok(())
}

/// The rules on the claims once the provider is known: audience, subject and the times.
pub(crate) fn check_claims(
    claims: &Claims<'_>,
    audiences: &[String],
    now: i64,
    skew: i64,
) -> Result<(), Rejection> {
    let aud = claims.aud.as_ref().ok_or(Rejection::MissingAudience)?;
    if !audiences.iter().any(|a| aud.contains(a)) {
        return Err(Rejection::WrongAudience {
            aud: aud.iter().map(str::to_owned).collect(),
            expected: audiences.to_vec(),
        });
    }
    if claims.sub.is_none() {
        return Err(Rejection::MissingSubject);
    }
    let exp = claims.exp.ok_or(Rejection::MissingExpiry)?;
    if now > exp.saturating_add(skew) {
        return Err(Rejection::Expired { exp, now, skew });
    }
    if let Some(nbf) = claims.nbf
        && now.saturating_add(skew) < nbf
    {
        return Err(Rejection::NotYetValid { nbf, now });
    }
    if let Some(iat) = claims.iat
        && now.saturating_add(skew) < iat
    {
        return Err(Rejection::IssuedInFuture { iat, now });
    }
    Ok(())
}

/// Why a verifier could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifierError {
    /// No issuer was configured.
    #[error("no issuer configured: give the provider's issuer URL")]
    NoIssuer,
    /// The key set has no key usable for verification.
    #[error("the key set has no key usable for verification (RSA or ECDSA with use \"sig\")")]
    NoUsableKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_reasons_are_rfc3339_within_its_years() {
        assert_eq!(At(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(At(1_514_851_200).to_string(), "2018-01-02T00:00:00Z");
        assert_eq!(At(253_402_300_799).to_string(), "9999-12-31T23:59:59Z");
        assert_eq!(At(253_402_300_800).to_string(), "253402300800 (Unix time)");
        assert_eq!(At(-62_167_219_200).to_string(), "0000-01-01T00:00:00Z");
        assert_eq!(At(-62_167_219_201).to_string(), "-62167219201 (Unix time)");
        assert_eq!(
            At(i64::MIN).to_string(),
            format!("{} (Unix time)", i64::MIN)
        );
    }

    #[test]
    fn cache_keeps_at_most_its_capacity_oldest_out_first() {
        let keys = JwkSet::parse(include_bytes!(
            "../../tests/data/k8s-vectors/jwks.rsa-ecdsa.json"
        ))
        .unwrap();
        let issuer: IssuerUrl = "https://issuer.example.com".parse().unwrap();
        let verifier = Verifier::builder(&keys)
            .issuer(issuer.clone())
            .audience(DEFAULT_AUDIENCE)
            .audience(issuer.as_str())
            .cache(2, Duration::from_secs(600))
            .build()
            .unwrap();
        let tokens = [
            include_str!("../../tests/data/k8s-vectors/token.bound.rs256.jwt"),
            include_str!("../../tests/data/k8s-vectors/token.bound.es256.jwt"),
            include_str!("../../tests/data/k8s-vectors/token.kube-audience-extended.rs256.jwt"),
        ];
        let now = 1_514_764_860;
        for token in tokens {
            verifier.verify_at(token, now).unwrap();
        }
        let cache = verifier.cache.as_ref().unwrap();
        assert_eq!(cache.len(), 2);
        assert!(cache.get(tokens[0], now).is_none());
        assert!(cache.get(tokens[1], now).is_some() && cache.get(tokens[2], now).is_some());
        // Not before the token's time (minus the skew), not at or after min(exp + skew, now + ttl).
        assert!(cache.get(tokens[1], 1_514_764_800 - 301).is_none());
        assert!(cache.get(tokens[1], now + 600).is_none());
    }
}
