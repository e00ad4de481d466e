//! A server certificate read from files and reloaded when they change: Kubernetes mounts a
//! Secret as a `..data` symlink that the kubelet swaps whole, so a reload reads both files
//! again and takes the new pair only when it parses and the key matches; a broken pair keeps
//! the old one serving.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Why a certificate and key cannot be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The certificate file holds no PEM `CERTIFICATE` block.
    #[error("{path} holds no PEM CERTIFICATE block")]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no usable PEM private key.
    #[error("{path} holds no usable PEM private key (PKCS#8, PKCS#1 or SEC1): {reason}")]
    Key {
        /// The file.
        path: PathBuf,
        /// The TLS library's reason.
        reason: String,
    },
    /// The key is not the certificate's.
    #[error("the key in {key} does not belong to the certificate in {cert}")]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
}

/// A certificate and key served from two files, reloadable while serving.
///
/// ```no_run
/// # fn f() -> Result<(), irsa::http::TlsError> {
/// use irsa::http::ReloadingCertificate;
///
/// let cert = ReloadingCertificate::load("/etc/webhook/tls.crt", "/etc/webhook/tls.key")?;
/// let config = cert.server_config();
/// // later, on a timer or a file event: a broken new pair keeps the old one.
/// let changed = cert.reload()?;
/// # let _ = (config, changed); Ok(()) }
/// ```
#[derive(Clone)]
pub struct ReloadingCertificate {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: Arc<RwLock<Loaded>>,
}

struct Loaded {
    key: Arc<CertifiedKey>,
    /// The files' bytes, so an unchanged reload is a no-op.
    source: (Vec<u8>, Vec<u8>),
}

impl fmt::Debug for ReloadingCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCertificate")
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .finish_non_exhaustive()
    }
}

impl ReloadingCertificate {
    /// Reads the pair once.
    pub fn load(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<ReloadingCertificate, TlsError> {
        let (cert_path, key_path) = (cert.as_ref().to_owned(), key.as_ref().to_owned());
        let loaded = read_pair(&cert_path, &key_path)?;
        Ok(ReloadingCertificate {
            cert_path,
            key_path,
            current: Arc::new(RwLock::new(loaded)),
        })
    }

    /// Reads the files again: `Ok(true)` when a new pair is now served, `Ok(false)` when the
    /// files are unchanged, and an error (the old pair still served) when the new pair is
    /// broken.
    pub fn reload(&self) -> Result<bool, TlsError> {
        let cert = read(&self.cert_path)?;
        let key = read(&self.key_path)?;
        {
            let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
            if current.source.0 == cert && current.source.1 == key {
                return Ok(false);
            }
        }
        let loaded = parse_pair(&self.cert_path, &self.key_path, cert, key)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = loaded;
        Ok(true)
    }

    /// The certificate chain served now (DER, leaf first).
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        current.key.cert.clone()
    }

    /// A rustls server configuration that serves whatever pair is current at each handshake.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        #[allow(clippy::expect_used)]
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            // aws-lc-rs supports every safe default version: this cannot fail.
            .expect("the default protocol versions are supported")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(self.clone()));
        Arc::new(config)
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        Some(current.key.clone())
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

fn read_pair(cert: &Path, key: &Path) -> Result<Loaded, TlsError> {
    parse_pair(cert, key, read(cert)?, read(key)?)
}

fn parse_pair(
    cert_path: &Path,
    key_path: &Path,
    cert: Vec<u8>,
    key: Vec<u8>,
) -> Result<Loaded, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert_path.to_owned(),
        });
    }
    let key_error = |reason: String| TlsError::Key {
        path: key_path.to_owned(),
        reason,
    };
    let private = PrivateKeyDer::from_pem_slice(&key).map_err(|e| key_error(e.to_string()))?;
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(private)
        .map_err(|e| key_error(e.to_string()))?;
    let certified = CertifiedKey::new(chain, signing);
    if certified.keys_match().is_err() {
        return Err(TlsError::Mismatch {
            cert: cert_path.to_owned(),
            key: key_path.to_owned(),
        });
    }
    Ok(Loaded {
        key: Arc::new(certified),
        source: (cert, key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_swap_is_served_and_a_broken_pair_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let write = |data: &str, (cert, key): &(String, String)| {
            let d = dir.path().join(data);
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("tls.crt"), cert).unwrap();
            std::fs::write(d.join("tls.key"), key).unwrap();
        };
        // The kubelet's layout: tls.crt -> ..data/tls.crt, ..data -> ..2026_12_06_1
        let swap = |data: &str| {
            let link = dir.path().join("..data_tmp");
            std::os::unix::fs::symlink(data, &link).unwrap();
            std::fs::rename(&link, dir.path().join("..data")).unwrap();
        };
        let first = pair("one.test");
        write("..1", &first);
        swap("..1");
        for file in ["tls.crt", "tls.key"] {
            std::os::unix::fs::symlink(format!("..data/{file}"), dir.path().join(file)).unwrap();
        }
        let served =
            ReloadingCertificate::load(dir.path().join("tls.crt"), dir.path().join("tls.key"))
                .unwrap();
        let leaf = |s: &ReloadingCertificate| s.chain()[0].to_vec();
        let before = leaf(&served);
        assert!(!served.reload().unwrap(), "unchanged files are no reload");

        write("..2", &pair("two.test"));
        swap("..2");
        assert!(served.reload().unwrap());
        assert_ne!(leaf(&served), before);
        let second = leaf(&served);

        // A certificate with another pair's key: refused, the second pair still served.
        let (cert3, _) = pair("three.test");
        write("..3", &(cert3, first.1.clone()));
        swap("..3");
        assert!(matches!(served.reload(), Err(TlsError::Mismatch { .. })));
        assert_eq!(leaf(&served), second);

        write("..4", &("not a certificate".to_owned(), first.1));
        swap("..4");
        assert!(matches!(
            served.reload(),
            Err(TlsError::NoCertificate { .. })
        ));
        assert_eq!(leaf(&served), second);
    }
}
