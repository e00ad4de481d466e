//! Tokens minted as kube-apiserver mints them: a service-account signing key as the apiserver
//! reads it (`--service-account-signing-key-file`), and bound tokens with Kubernetes' header,
//! claim shapes and member order. For tests, CI and local clusters: no I/O, the time and the
//! token ID are the caller's.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, RsaKeyPair};

use super::claims::{Audience, Claims, KubernetesClaims, ObjectRef};
use super::secret::WebIdentityToken;
use super::subject::Subject;
use crate::oidc::{CryptoRejection, IssuerUrl, JwsAlgorithm, KeyError, KeyMaterial, PublicKey};

/// The shortest lifetime kube-apiserver issues a bound token for (`expirationSeconds`).
pub const MIN_EXPIRATION_SECONDS: i64 = 600;

/// A service-account signing key: the private key kube-apiserver signs tokens with.
///
/// Its `Debug` shows the algorithm and key ID only, never the key.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use irsa::token::{BoundToken, SigningKey, Subject};
///
/// let key = SigningKey::from_pem(include_str!("../../tests/data/k8s-vectors/rsa-private.pem"))?;
/// assert_eq!(key.public_key().key_id(), "JHJehTTTZlsspKHT-GaJxK7Kd1NQgZJu3fyK6K_QDYU");
///
/// let request = BoundToken::new(
///     "https://issuer.example.com".parse()?,
///     Subject::new("default", "read-s3-hello")?,
///     "0f8c3e1a-5b7d-4c2e-9a61-3d2b1c0e9f47",
/// );
/// let token = key.sign(&request, UNIX_EPOCH + Duration::from_secs(1_514_764_800))?;
/// assert_eq!(token.expose_secret().split('.').count(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SigningKey {
    pair: KeyPair,
    public: PublicKey,
}

enum KeyPair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .field("kid", &self.public.key_id())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Reads the first private key of a PEM file, in the forms kube-apiserver takes: `RSA
    /// PRIVATE KEY` (PKCS#1), `EC PRIVATE KEY` (SEC1) and `PRIVATE KEY` (PKCS#8, RSA or EC).
    /// `EC PARAMETERS` blocks are skipped.
    pub fn from_pem(pem: &str) -> Result<SigningKey, MintError> {
        for block in crate::oidc::pem_blocks(pem).map_err(MintError::Key)? {
            let der = block.der.as_slice();
            match block.label {
                "RSA PRIVATE KEY" | "EC PRIVATE KEY" | "PRIVATE KEY" => {
                    return SigningKey::from_private_der(der, block.label == "PRIVATE KEY");
                }
                "EC PARAMETERS" => {}
                "PUBLIC KEY" | "RSA PUBLIC KEY" => return Err(MintError::PublicKeyOnly),
                _ => {
                    // Let the public-key reader name what the block is instead.
                    PublicKey::from_der(der).map_err(MintError::Key)?;
                }
            }
        }
        Err(MintError::Key(KeyError::NoKey))
    }

    /// A fresh P-256 key (tokens signed ES256, which STS accepts since November 2024) from
    /// aws-lc's system random source, with its PKCS#8 PEM to save as the apiserver's
    /// `--service-account-signing-key-file`: for local clusters, tests and demonstrations.
    ///
    /// ```
    /// let (key, pem) = irsa::token::SigningKey::generate_es256()?;
    /// assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    /// let again = irsa::token::SigningKey::from_pem(&pem)?;
    /// assert_eq!(again.public_key(), key.public_key());
    /// # Ok::<(), irsa::token::MintError>(())
    /// ```
    pub fn generate_es256() -> Result<(SigningKey, String), MintError> {
        let pair = EcdsaKeyPair::generate(&aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| MintError::Generation)?;
        let der = pair.to_pkcs8v1().map_err(|_| MintError::Generation)?;
        let pem =
            pem_rfc7468::encode_string("PRIVATE KEY", pem_rfc7468::LineEnding::LF, der.as_ref())
                .map_err(|source| {
                    MintError::Key(KeyError::Pem {
                        label: "PRIVATE KEY".to_owned(),
                        source,
                    })
                })?;
        Ok((SigningKey::from_private_der(der.as_ref(), true)?, pem))
    }

    fn from_private_der(der: &[u8], pkcs8: bool) -> Result<SigningKey, MintError> {
        let public = PublicKey::from_der(der).map_err(MintError::Key)?;
        let rejected = |e| MintError::Key(KeyError::Rejected(CryptoRejection(e)));
        let pair = match (public.material(), pkcs8) {
            (KeyMaterial::Rsa { .. }, false) => {
                KeyPair::Rsa(RsaKeyPair::from_der(der).map_err(rejected)?)
            }
            (KeyMaterial::Rsa { .. }, true) => {
                KeyPair::Rsa(RsaKeyPair::from_pkcs8(der).map_err(rejected)?)
            }
            (KeyMaterial::Ec { curve, .. }, false) => KeyPair::Ec(
                EcdsaKeyPair::from_private_key_der(curve.signing(), der).map_err(rejected)?,
            ),
            (KeyMaterial::Ec { curve, .. }, true) => {
                KeyPair::Ec(EcdsaKeyPair::from_pkcs8(curve.signing(), der).map_err(rejected)?)
            }
        };
        Ok(SigningKey { pair, public })
    }

    /// The public half, as the JWKS publishes it (with the same `kid`).
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The algorithm kube-apiserver signs with for this key: RS256, or ES256/ES384/ES512 by
    /// curve.
    pub fn algorithm(&self) -> JwsAlgorithm {
        self.public.algorithm()
    }

    /// Signs `token` issued at `now`: the header is
    /// `{"alg":…,"kid":…}`, the claims are [`BoundToken::claims`] in Kubernetes' member order,
    /// written as Go writes JSON. RS256 signatures are deterministic; ECDSA ones use aws-lc's
    /// system random source.
    pub fn sign(&self, token: &BoundToken, now: SystemTime) -> Result<WebIdentityToken, MintError> {
        if token.expiration_seconds < MIN_EXPIRATION_SECONDS {
            return Err(MintError::ExpirationTooShort {
                seconds: token.expiration_seconds,
            });
        }
        let header = crate::json::to_go_json(&Header {
            alg: self.algorithm().as_str(),
            kid: self.public.key_id(),
        });
        let claims = crate::json::to_go_json(&token.claims(now));
        let mut jws = crate::base64::url_encode(header.as_bytes());
        jws.push('.');
        jws.push_str(&crate::base64::url_encode(claims.as_bytes()));
        let signature = self.signature(jws.as_bytes())?;
        jws.push('.');
        jws.push_str(&crate::base64::url_encode(&signature));
        Ok(WebIdentityToken::new(jws))
    }

    fn signature(&self, signing_input: &[u8]) -> Result<Vec<u8>, MintError> {
        let rng = SystemRandom::new();
        match &self.pair {
            KeyPair::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&sig::RSA_PKCS1_SHA256, &rng, signing_input, &mut signature)
                    .map_err(|_| MintError::Signing)?;
                Ok(signature)
            }
            KeyPair::Ec(pair) => pair
                .sign(&rng, signing_input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| MintError::Signing),
        }
    }
}

#[derive(serde::Serialize)]
struct Header<'a> {
    alg: &'a str,
    kid: &'a str,
}

/// What a bound token says: issuer, service account, audiences, lifetime and the objects it is
/// bound to, as `TokenRequest` asks kube-apiserver for one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundToken {
    issuer: String,
    subject: Subject,
    service_account_uid: Option<String>,
    audiences: Vec<String>,
    expiration_seconds: i64,
    pod: Option<(String, Option<String>)>,
    node: Option<(String, Option<String>)>,
    jti: String,
    warn_after: Option<i64>,
}

impl BoundToken {
    /// A token of `subject`'s service account from `issuer`, with token ID `jti` (kube-apiserver
    /// writes a random UUID), for `sts.amazonaws.com`, valid 24 hours (the pod identity
    /// webhook's default `expirationSeconds`).
    pub fn new(issuer: IssuerUrl, subject: Subject, jti: impl Into<String>) -> Self {
        BoundToken {
            issuer: issuer.to_string(),
            subject,
            service_account_uid: None,
            audiences: Vec::new(),
            expiration_seconds: 86_400,
            pod: None,
            node: None,
            jti: jti.into(),
            warn_after: None,
        }
    }

    /// Adds an audience; without any, [`crate::oidc::DEFAULT_AUDIENCE`].
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The lifetime in seconds (at least [`MIN_EXPIRATION_SECONDS`]).
    #[must_use]
    pub fn expiration_seconds(mut self, seconds: i64) -> Self {
        self.expiration_seconds = seconds;
        self
    }

    /// The service account's UID.
    #[must_use]
    pub fn service_account_uid(mut self, uid: impl Into<String>) -> Self {
        self.service_account_uid = Some(uid.into());
        self
    }

    /// Binds the token to a pod (its name, and UID if known).
    #[must_use]
    pub fn pod(mut self, name: impl Into<String>, uid: Option<String>) -> Self {
        self.pod = Some((name.into(), uid));
        self
    }

    /// Names the node the pod runs on (its name, and UID if known).
    #[must_use]
    pub fn node(mut self, name: impl Into<String>, uid: Option<String>) -> Self {
        self.node = Some((name.into(), uid));
        self
    }

    /// `kubernetes.io.warnafter`: Kubernetes sets it for tokens of extended lifetime issued
    /// for its own API audiences, never for `sts.amazonaws.com` alone.
    #[must_use]
    pub fn warn_after(mut self, at: SystemTime) -> Self {
        self.warn_after = Some(super::unix_seconds(at));
        self
    }

    /// The claims for a token issued at `now`: `iat` and `nbf` are `now`, `exp` is `now` plus
    /// the lifetime.
    pub fn claims(&self, now: SystemTime) -> Claims<'_> {
        let now = super::unix_seconds(now);
        let audiences: Vec<&str> = if self.audiences.is_empty() {
            vec![crate::oidc::DEFAULT_AUDIENCE]
        } else {
            self.audiences.iter().map(String::as_str).collect()
        };
        Claims {
            aud: Some(Audience::array(audiences)),
            exp: Some(now.saturating_add(self.expiration_seconds)),
            iat: Some(now),
            iss: Some(Cow::Borrowed(&self.issuer)),
            jti: Some(Cow::Borrowed(&self.jti)),
            kubernetes: Some(KubernetesClaims {
                namespace: Some(Cow::Borrowed(self.subject.namespace())),
                node: self.node.as_ref().map(object_ref),
                pod: self.pod.as_ref().map(object_ref),
                secret: None,
                serviceaccount: Some(ObjectRef {
                    name: Some(Cow::Borrowed(self.subject.name())),
                    uid: self.service_account_uid.as_deref().map(Cow::Borrowed),
                }),
                warnafter: self.warn_after,
            }),
            nbf: Some(now),
            sub: Some(Cow::Borrowed(self.subject.as_str())),
            ..Claims::default()
        }
    }
}

fn object_ref((name, uid): &(String, Option<String>)) -> ObjectRef<'_> {
    ObjectRef {
        name: Some(Cow::Borrowed(name)),
        uid: uid.as_deref().map(Cow::Borrowed),
    }
}

/// Why a token could not be minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MintError {
    /// The signing key cannot be read.
    #[error("the signing key is not usable")]
    Key(#[source] KeyError),
    /// A public key was given where the private signing key is needed.
    #[error(
        "a public key was given: tokens are signed with the private key kube-apiserver takes as --service-account-signing-key-file"
    )]
    PublicKeyOnly,
    /// The lifetime is below Kubernetes' minimum.
    #[error("a token lifetime of {seconds} s is below Kubernetes' minimum of 600 s")]
    ExpirationTooShort {
        /// The lifetime asked for.
        seconds: i64,
    },
    /// aws-lc failed to sign.
    #[error("the key failed to sign")]
    Signing,
    /// aws-lc failed to generate a key (its random source failed).
    #[error("no key could be generated: the system random source failed")]
    Generation,
}

/// Formats 16 random bytes as a version 4 UUID, the form of the `jti` kube-apiserver gives
/// its tokens (and of AWS request IDs). The bytes come from the caller's random source.
///
/// ```
/// assert_eq!(irsa::__private::uuid_v4([0xff; 16]), "ffffffff-ffff-4fff-bfff-ffffffffffff");
/// ```
pub fn uuid_v4(bytes: [u8; 16]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        // The version (4) and the RFC 4122 variant bits.
        let byte = match i {
            6 => (byte & 0x0f) | 0x40,
            8 => (byte & 0x3f) | 0x80,
            _ => *byte,
        };
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{byte:02x}");
    }
    out
}
