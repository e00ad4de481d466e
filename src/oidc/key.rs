//! Public keys of a service-account issuer: import from PEM or DER, the key ID Kubernetes
//! derives, and the JWS algorithm it signs with.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::signature::{self as sig, KeyPair as _};
use der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, UintRef};
use der::{Decode as _, Encode as _};
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};

const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// The smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus accepted, in bits (the largest aws-lc-rs verifies).
pub const MAX_RSA_BITS: usize = 8192;

/// A JWS signature algorithm that Kubernetes signs service-account tokens with and STS accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum JwsAlgorithm {
    // Declared in name order so that the derived `Ord` sorts as Go sorts the names.
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// ECDSA on P-521 with SHA-512.
    ES512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
}

impl JwsAlgorithm {
    /// Every algorithm, in name order.
    pub const ALL: [JwsAlgorithm; 6] = [
        JwsAlgorithm::ES256,
        JwsAlgorithm::ES384,
        JwsAlgorithm::ES512,
        JwsAlgorithm::RS256,
        JwsAlgorithm::RS384,
        JwsAlgorithm::RS512,
    ];

    /// The algorithm's JOSE name, e.g. `RS256`.
    pub const fn as_str(self) -> &'static str {
        match self {
            JwsAlgorithm::RS256 => "RS256",
            JwsAlgorithm::RS384 => "RS384",
            JwsAlgorithm::RS512 => "RS512",
            JwsAlgorithm::ES256 => "ES256",
            JwsAlgorithm::ES384 => "ES384",
            JwsAlgorithm::ES512 => "ES512",
        }
    }

    /// Whether a key of this shape can verify signatures of this algorithm.
    pub fn fits(self, key: &KeyMaterial) -> bool {
        match (self, key) {
            (
                JwsAlgorithm::RS256 | JwsAlgorithm::RS384 | JwsAlgorithm::RS512,
                KeyMaterial::Rsa { .. },
            ) => true,
            (JwsAlgorithm::ES256, KeyMaterial::Ec { curve, .. }) => *curve == Curve::P256,
            (JwsAlgorithm::ES384, KeyMaterial::Ec { curve, .. }) => *curve == Curve::P384,
            (JwsAlgorithm::ES512, KeyMaterial::Ec { curve, .. }) => *curve == Curve::P521,
            _ => false,
        }
    }
}

impl fmt::Display for JwsAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JwsAlgorithm {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        JwsAlgorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| KeyError::UnsupportedAlgorithm {
                algorithm: s.to_owned(),
            })
    }
}

/// An elliptic curve Kubernetes can sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Curve {
    /// NIST P-256 (secp256r1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
}

impl Curve {
    /// Every supported curve.
    pub const ALL: [Curve; 3] = [Curve::P256, Curve::P384, Curve::P521];

    /// The curve's JWK name (`crv`), e.g. `P-256`.
    pub const fn jwk_name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// The length of one coordinate in bytes (32, 48 or 66).
    pub const fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// The algorithm Kubernetes signs with on this curve.
    pub const fn algorithm(self) -> JwsAlgorithm {
        match self {
            Curve::P256 => JwsAlgorithm::ES256,
            Curve::P384 => JwsAlgorithm::ES384,
            Curve::P521 => JwsAlgorithm::ES512,
        }
    }

    /// Looks a curve up by its JWK name.
    pub fn from_jwk_name(name: &str) -> Option<Curve> {
        Curve::ALL.into_iter().find(|c| c.jwk_name() == name)
    }

    const fn oid(self) -> ObjectIdentifier {
        match self {
            Curve::P256 => ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7"),
            Curve::P384 => ObjectIdentifier::new_unwrap("1.3.132.0.34"),
            Curve::P521 => ObjectIdentifier::new_unwrap("1.3.132.0.35"),
        }
    }

    fn from_oid(oid: &ObjectIdentifier) -> Result<Curve, KeyError> {
        Curve::ALL
            .into_iter()
            .find(|c| c.oid() == *oid)
            .ok_or_else(|| KeyError::UnsupportedCurve {
                oid: oid.to_string(),
            })
    }

    fn verification(self) -> &'static sig::EcdsaVerificationAlgorithm {
        match self {
            Curve::P256 => &sig::ECDSA_P256_SHA256_FIXED,
            Curve::P384 => &sig::ECDSA_P384_SHA384_FIXED,
            Curve::P521 => &sig::ECDSA_P521_SHA512_FIXED,
        }
    }

    pub(crate) fn signing(self) -> &'static sig::EcdsaSigningAlgorithm {
        match self {
            Curve::P256 => &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            Curve::P384 => &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
            Curve::P521 => &sig::ECDSA_P521_SHA512_FIXED_SIGNING,
        }
    }
}

/// The public parameters of a key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyMaterial {
    /// An RSA public key.
    Rsa {
        /// The modulus, big-endian, without leading zero bytes.
        n: Vec<u8>,
        /// The public exponent, big-endian, without leading zero bytes.
        e: Vec<u8>,
    },
    /// An elliptic-curve public key.
    Ec {
        /// The curve.
        curve: Curve,
        /// The x coordinate, big-endian, left-padded to the curve's coordinate length.
        x: Vec<u8>,
        /// The y coordinate, big-endian, left-padded to the curve's coordinate length.
        y: Vec<u8>,
    },
}

/// A validated RSA or ECDSA public key with its Kubernetes key ID.
///
/// Private keys are accepted as input; only their public half is kept.
///
/// ```
/// use irsa::oidc::{JwsAlgorithm, PublicKey};
///
/// let pem = "-----BEGIN PUBLIC KEY-----
/// MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEH6cuzP8XuD5wal6wf9M6xDljTOPL
/// X2i8uIp/C/ASqiIGUeeKQtX0/IR3qCXyThP/dbCiHrF3v1cuhBOHY8CLVg==
/// -----END PUBLIC KEY-----";
/// let keys = PublicKey::from_pem(pem)?;
/// assert_eq!(keys[0].algorithm(), JwsAlgorithm::ES256);
/// assert_eq!(keys[0].key_id(), "SoABiieYuNx4UdqYvZRVeuC6SihxgLrhLy9peHMHpTc");
/// # Ok::<(), irsa::oidc::KeyError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PublicKey {
    material: KeyMaterial,
    spki_der: Vec<u8>,
    kid: String,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("algorithm", &self.algorithm())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    /// Reads every key in a PEM file: `PUBLIC KEY` (SPKI), `RSA PUBLIC KEY` (PKCS#1),
    /// `RSA PRIVATE KEY` (PKCS#1), `EC PRIVATE KEY` (SEC1) and `PRIVATE KEY` (PKCS#8) blocks.
    /// `EC PARAMETERS` blocks are skipped, as `openssl ecparam -genkey` writes them.
    pub fn from_pem(pem: &str) -> Result<Vec<PublicKey>, KeyError> {
        let mut keys = Vec::new();
        for block in pem_blocks(pem)? {
            let der = block.der.as_slice();
            let key = match block.label {
                "PUBLIC KEY" => PublicKey::from_spki_der(der),
                "RSA PUBLIC KEY" => PublicKey::from_pkcs1_public_der(der),
                "RSA PRIVATE KEY" => PublicKey::from_pkcs1_private_der(der),
                "EC PRIVATE KEY" => PublicKey::from_sec1_der(der, None),
                "PRIVATE KEY" => PublicKey::from_pkcs8_der(der),
                "EC PARAMETERS" => continue,
                "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted),
                "CERTIFICATE" => Err(KeyError::Certificate),
                other => Err(KeyError::UnsupportedPemLabel {
                    label: other.to_owned(),
                }),
            }?;
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(KeyError::NoKey);
        }
        Ok(keys)
    }

    /// Reads one DER-encoded key, in any of the forms [`PublicKey::from_pem`] accepts.
    pub fn from_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        type Parser = fn(&[u8]) -> Result<PublicKey, KeyError>;
        const PARSERS: [Parser; 5] = [
            PublicKey::from_spki_der,
            PublicKey::from_pkcs8_der,
            PublicKey::from_pkcs1_private_der,
            |der| PublicKey::from_sec1_der(der, None),
            PublicKey::from_pkcs1_public_der,
        ];
        for parse in PARSERS {
            match parse(der) {
                Err(KeyError::Der { .. }) => continue,
                other => return other,
            }
        }
        Err(KeyError::UnknownDer)
    }

    /// Reads a DER `SubjectPublicKeyInfo`.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let spki =
            SubjectPublicKeyInfoRef::from_der(der).map_err(der_err("SubjectPublicKeyInfo"))?;
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or(KeyError::UnusedBits)?;
        let oid = spki.algorithm.oid;
        if oid == OID_RSA_ENCRYPTION {
            PublicKey::from_pkcs1_public_der(bits)
        } else if oid == OID_EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .ok_or(KeyError::MissingCurve)?
                .decode_as::<ObjectIdentifier>()
                .map_err(der_err("EC parameters"))?;
            PublicKey::from_ec_point(Curve::from_oid(&curve)?, bits)
        } else {
            Err(KeyError::UnsupportedKeyType {
                oid: oid.to_string(),
            })
        }
    }

    /// Reads a DER PKCS#1 `RSAPublicKey`.
    pub fn from_pkcs1_public_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let key =
            pkcs1::RsaPublicKeyRef::from_der(der).map_err(der_err("PKCS#1 RSA public key"))?;
        PublicKey::from_rsa_components(key.modulus.as_bytes(), key.public_exponent.as_bytes())
    }

    /// Reads a DER PKCS#1 `RSAPrivateKey` and keeps its public half.
    pub fn from_pkcs1_private_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let key =
            pkcs1::RsaPrivateKeyRef::from_der(der).map_err(der_err("PKCS#1 RSA private key"))?;
        PublicKey::from_rsa_components(key.modulus.as_bytes(), key.public_exponent.as_bytes())
    }

    /// Reads a DER PKCS#8 `PrivateKeyInfo` (RSA or EC) and keeps its public half.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let info =
            pkcs8::PrivateKeyInfoRef::from_der(der).map_err(der_err("PKCS#8 private key"))?;
        let inner = info.private_key.as_bytes();
        let oid = info.algorithm.oid;
        if oid == OID_RSA_ENCRYPTION {
            PublicKey::from_pkcs1_private_der(inner)
        } else if oid == OID_EC_PUBLIC_KEY {
            let curve = match info.algorithm.parameters {
                Some(params) => Some(Curve::from_oid(
                    &params
                        .decode_as::<ObjectIdentifier>()
                        .map_err(der_err("EC parameters"))?,
                )?),
                None => None,
            };
            PublicKey::from_sec1_der(inner, curve)
        } else {
            Err(KeyError::UnsupportedKeyType {
                oid: oid.to_string(),
            })
        }
    }

    /// Reads a DER SEC1 `ECPrivateKey` and keeps its public half, computing it from the private
    /// scalar when the structure does not carry it. `curve` is the curve named outside the
    /// structure (by PKCS#8), if any.
    fn from_sec1_der(der: &[u8], curve: Option<Curve>) -> Result<PublicKey, KeyError> {
        let key = sec1::EcPrivateKey::from_der(der).map_err(der_err("SEC1 EC private key"))?;
        let inner_curve = match key.parameters {
            Some(sec1::EcParameters::NamedCurve(oid)) => Some(Curve::from_oid(&oid)?),
            None => None,
        };
        let curve = match (curve, inner_curve) {
            (Some(outer), Some(inner)) if outer != inner => return Err(KeyError::MissingCurve),
            (Some(c), _) | (None, Some(c)) => c,
            (None, None) => return Err(KeyError::MissingCurve),
        };
        match key.public_key {
            Some(point) => PublicKey::from_ec_point(curve, point),
            None => {
                let pair = sig::EcdsaKeyPair::from_private_key_der(curve.signing(), der)
                    .map_err(|e| KeyError::Rejected(CryptoRejection(e)))?;
                PublicKey::from_ec_point(curve, pair.public_key().as_ref())
            }
        }
    }

    /// Builds an RSA key from its modulus and exponent (big-endian; leading zeros ignored),
    /// refusing moduli outside 2048..=8192 bits and exponents that are even, below 3 or above
    /// 2^31 - 1 (Go's limit, so kube-apiserver could not load such a key).
    pub fn from_rsa_components(n: &[u8], e: &[u8]) -> Result<PublicKey, KeyError> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let bits = n
            .first()
            .map_or(0, |top| n.len() * 8 - top.leading_zeros() as usize);
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(KeyError::RsaSize { bits });
        }
        let exponent =
            (e.len() <= 4).then(|| e.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b)));
        if !exponent.is_some_and(|x| x >= 3 && x % 2 == 1 && x < 1 << 31) {
            return Err(KeyError::RsaExponent);
        }
        let pkcs1 = pkcs1::RsaPublicKey {
            modulus: UintRef::new(n).map_err(der_err("PKCS#1 RSA public key"))?,
            public_exponent: UintRef::new(e).map_err(der_err("PKCS#1 RSA public key"))?,
        }
        .to_der()
        .map_err(der_err("PKCS#1 RSA public key"))?;
        let spki = encode_spki(OID_RSA_ENCRYPTION, Some(AnyRef::NULL), &pkcs1)?;
        sig::ParsedPublicKey::new(&sig::RSA_PKCS1_2048_8192_SHA256, &spki)
            .map_err(|e| KeyError::Rejected(CryptoRejection(e)))?;
        Ok(PublicKey::assemble(
            KeyMaterial::Rsa {
                n: n.to_vec(),
                e: e.to_vec(),
            },
            spki,
        ))
    }

    /// Builds an EC key from an uncompressed SEC1 point (`04 || x || y`), checking that the point
    /// lies on the curve.
    pub fn from_ec_point(curve: Curve, point: &[u8]) -> Result<PublicKey, KeyError> {
        let len = curve.coordinate_len();
        match point.first() {
            Some(0x02 | 0x03) => return Err(KeyError::CompressedPoint),
            Some(0x04) if point.len() == 1 + 2 * len => {}
            _ => return Err(KeyError::InvalidPoint { curve }),
        }
        sig::ParsedPublicKey::new(curve.verification(), point)
            .map_err(|_| KeyError::InvalidPoint { curve })?;
        let (x, y) = point.get(1..).unwrap_or_default().split_at(len);
        let curve_oid = curve.oid();
        let spki = encode_spki(OID_EC_PUBLIC_KEY, Some(AnyRef::from(&curve_oid)), point)?;
        Ok(PublicKey::assemble(
            KeyMaterial::Ec {
                curve,
                x: x.to_vec(),
                y: y.to_vec(),
            },
            spki,
        ))
    }

    fn assemble(material: KeyMaterial, spki_der: Vec<u8>) -> PublicKey {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &spki_der);
        let kid = crate::base64::url_encode(digest.as_ref());
        PublicKey {
            material,
            spki_der,
            kid,
        }
    }

    /// The key's public parameters.
    pub fn material(&self) -> &KeyMaterial {
        &self.material
    }

    /// The DER `SubjectPublicKeyInfo`, encoded as Go's `x509.MarshalPKIXPublicKey` encodes it.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The key ID Kubernetes derives: base64url (no padding) of the SHA-256 of
    /// [`spki_der`](Self::spki_der).
    pub fn key_id(&self) -> &str {
        &self.kid
    }

    /// The algorithm Kubernetes signs with for this key: RS256 for every RSA key, and ES256,
    /// ES384 or ES512 by curve.
    pub fn algorithm(&self) -> JwsAlgorithm {
        match &self.material {
            KeyMaterial::Rsa { .. } => JwsAlgorithm::RS256,
            KeyMaterial::Ec { curve, .. } => curve.algorithm(),
        }
    }

    /// The key in PEM `PUBLIC KEY` form.
    pub fn to_pem(&self) -> String {
        // Encoding a key of at most 8192 bits under a fixed label cannot fail.
        pem_rfc7468::encode_string("PUBLIC KEY", pem_rfc7468::LineEnding::LF, &self.spki_der)
            .unwrap_or_default()
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

fn der_err(structure: &'static str) -> impl Fn(der::Error) -> KeyError {
    move |source| KeyError::Der { structure, source }
}

/// A DER `SubjectPublicKeyInfo`, as Go's `x509.MarshalPKIXPublicKey` writes it.
fn encode_spki(
    oid: ObjectIdentifier,
    parameters: Option<AnyRef<'_>>,
    key: &[u8],
) -> Result<Vec<u8>, KeyError> {
    SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef { oid, parameters },
        subject_public_key: BitStringRef::from_bytes(key)
            .map_err(der_err("SubjectPublicKeyInfo"))?,
    }
    .to_der()
    .map_err(der_err("SubjectPublicKeyInfo"))
}

pub(crate) struct PemBlock<'a> {
    pub(crate) label: &'a str,
    pub(crate) der: Vec<u8>,
}

/// Finds the PEM blocks in `text` and decodes each with `pem-rfc7468`. Text outside blocks is
/// ignored, as OpenSSL ignores it; RFC 1421 headers announcing encryption are refused as such.
pub(crate) fn pem_blocks(text: &str) -> Result<Vec<PemBlock<'_>>, KeyError> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(begin) = rest.find("-----BEGIN ") {
        let block = rest.get(begin..).unwrap_or_default();
        let label = block
            .get("-----BEGIN ".len()..)
            .and_then(|l| l.split_once("-----"))
            .map(|(label, _)| label)
            .filter(|label| !label.contains('\n'))
            .ok_or(KeyError::PemUnterminated {
                label: String::new(),
            })?;
        let end_line = format!("-----END {label}-----");
        let Some(end) = block.find(&end_line) else {
            return Err(KeyError::PemUnterminated {
                label: label.to_owned(),
            });
        };
        let whole = block.get(..end + end_line.len()).unwrap_or_default();
        if whole.contains("Proc-Type:") && whole.contains("ENCRYPTED") {
            return Err(KeyError::Encrypted);
        }
        let (_, der) =
            pem_rfc7468::decode_vec(whole.as_bytes()).map_err(|source| KeyError::Pem {
                label: label.to_owned(),
                source,
            })?;
        blocks.push(PemBlock { label, der });
        rest = block.get(end + end_line.len()..).unwrap_or_default();
    }
    if blocks.is_empty() {
        return Err(KeyError::NoPemBlock);
    }
    Ok(blocks)
}

/// A key refused by aws-lc, as an error that can be compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CryptoRejection(pub(crate) aws_lc_rs::error::KeyRejected);

// `KeyRejected` compares a static description, so equality is total.
impl Eq for CryptoRejection {}

impl fmt::Display for CryptoRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "aws-lc refused the key: {}", self.0)
    }
}

impl std::error::Error for CryptoRejection {}

/// Why a key could not be imported or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text holds no PEM block.
    #[error("no PEM block found: expected a line such as -----BEGIN PUBLIC KEY-----")]
    NoPemBlock,
    /// A PEM block has no END line.
    #[error("the PEM block {label:?} has no matching END line")]
    PemUnterminated {
        /// The block's label (empty when even the BEGIN line is cut short).
        label: String,
    },
    /// A PEM block does not decode (RFC 7468: base64 lines of at most 64 characters).
    #[error("the PEM block {label:?} does not decode")]
    Pem {
        /// The block's label.
        label: String,
        /// The PEM decoder's reason.
        #[source]
        source: pem_rfc7468::Error,
    },
    /// The PEM file holds only blocks that carry no key (e.g. `EC PARAMETERS`).
    #[error("the PEM file holds no key")]
    NoKey,
    /// A DER structure is malformed.
    #[error("malformed {structure}")]
    Der {
        /// The structure that was expected.
        structure: &'static str,
        /// The DER decoder's reason.
        #[source]
        source: der::Error,
    },
    /// DER bytes that are none of the key structures.
    #[error(
        "the DER bytes are no SubjectPublicKeyInfo, PKCS#8, PKCS#1 or SEC1 key: pass a public or private key"
    )]
    UnknownDer,
    /// The SubjectPublicKeyInfo's key bit string does not end on a byte.
    #[error("the SubjectPublicKeyInfo's key bit string has unused bits")]
    UnusedBits,
    /// The key is encrypted with a passphrase.
    #[error(
        "the private key is encrypted: pass the public key instead (openssl pkey -in KEY -pubout)"
    )]
    Encrypted,
    /// A certificate was given where a key was expected.
    #[error(
        "a certificate was given: extract its public key with openssl x509 -in CERT -pubkey -noout"
    )]
    Certificate,
    /// The PEM label names something that is not a key.
    #[error(
        "unsupported PEM block {label:?}: expected PUBLIC KEY, RSA PUBLIC KEY, RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY"
    )]
    UnsupportedPemLabel {
        /// The label that was found.
        label: String,
    },
    /// The key is neither RSA nor ECDSA.
    #[error(
        "unsupported key type (algorithm OID {oid}): Kubernetes signs service-account tokens with RSA or ECDSA keys only"
    )]
    UnsupportedKeyType {
        /// The algorithm OID that was found.
        oid: String,
    },
    /// The EC key is on a curve Kubernetes cannot sign with.
    #[error("unsupported elliptic curve (OID {oid}): use P-256, P-384 or P-521")]
    UnsupportedCurve {
        /// The curve OID that was found.
        oid: String,
    },
    /// The EC key names no curve, or names two different ones.
    #[error("the EC key does not name exactly one curve")]
    MissingCurve,
    /// The EC point is compressed; Go's x509 parser (and so kube-apiserver) refuses those.
    #[error(
        "the EC public key is compressed: convert it with openssl ec -pubin -in KEY -conv_form uncompressed -pubout"
    )]
    CompressedPoint,
    /// The EC point is not a point of the curve.
    #[error("the EC public key is not a valid {} point", curve.jwk_name())]
    InvalidPoint {
        /// The curve the point was meant for.
        curve: Curve,
    },
    /// The RSA modulus is too small or too large.
    #[error(
        "the RSA key has {bits} bits: use a key of 2048 to 8192 bits (smaller ones can be forged, larger ones cannot be verified)"
    )]
    RsaSize {
        /// The modulus size in bits.
        bits: usize,
    },
    /// The RSA public exponent is unusable.
    #[error("the RSA public exponent must be odd, at least 3 and below 2^31 (65537 is standard)")]
    RsaExponent,
    /// aws-lc refused the key material.
    #[error("the key is not usable for signatures")]
    Rejected(#[source] CryptoRejection),
    /// The name is not a supported JWS algorithm.
    #[error(
        "unsupported signature algorithm {algorithm:?}: expected one of RS256, RS384, RS512, ES256, ES384, ES512"
    )]
    UnsupportedAlgorithm {
        /// The algorithm name that was given.
        algorithm: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_refuses_what_it_cannot_use() {
        assert_eq!(PublicKey::from_pem("hello"), Err(KeyError::NoPemBlock));
        let unterminated = "-----BEGIN PUBLIC KEY-----\nAAAA\n";
        assert_eq!(
            PublicKey::from_pem(unterminated),
            Err(KeyError::PemUnterminated {
                label: "PUBLIC KEY".to_owned()
            })
        );
        let bad_base64 = "-----BEGIN PUBLIC KEY-----\nA!AA\n-----END PUBLIC KEY-----";
        assert!(matches!(
            PublicKey::from_pem(bad_base64),
            Err(KeyError::Pem { ref label, .. }) if label == "PUBLIC KEY"
        ));
        let enc =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----";
        assert_eq!(PublicKey::from_pem(enc), Err(KeyError::Encrypted));
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----";
        assert_eq!(PublicKey::from_pem(legacy), Err(KeyError::Encrypted));
        let params = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----";
        assert_eq!(PublicKey::from_pem(params), Err(KeyError::NoKey));
        let junk = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----";
        assert!(matches!(
            PublicKey::from_pem(junk),
            Err(KeyError::Der { .. })
        ));
    }

    #[test]
    fn rsa_limits() {
        let mut n = vec![0xffu8; 128];
        assert_eq!(
            PublicKey::from_rsa_components(&n, &[1, 0, 1]),
            Err(KeyError::RsaSize { bits: 1024 })
        );
        n.resize(256, 0xff);
        assert_eq!(
            PublicKey::from_rsa_components(&n, &[2]),
            Err(KeyError::RsaExponent)
        );
        assert_eq!(
            PublicKey::from_rsa_components(&n, &[1, 0, 0, 0, 1]),
            Err(KeyError::RsaExponent)
        );
    }

    #[test]
    fn ec_points_are_checked() {
        let mut point = vec![0x04];
        point.extend([1u8; 64]);
        assert_eq!(
            PublicKey::from_ec_point(Curve::P256, &point),
            Err(KeyError::InvalidPoint { curve: Curve::P256 })
        );
        assert_eq!(
            PublicKey::from_ec_point(Curve::P256, &[0x02; 33]),
            Err(KeyError::CompressedPoint)
        );
        assert_eq!(
            PublicKey::from_ec_point(Curve::P384, &point),
            Err(KeyError::InvalidPoint { curve: Curve::P384 })
        );
    }
}
