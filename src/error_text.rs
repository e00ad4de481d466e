//! One line for an error and its causes, as logs, reasons and the command line show it.

use std::error::Error;
use std::fmt;

/// Shows an error and every cause in its `source()` chain on one line, separated by `": "`.
/// Errors of this crate never repeat their source in their own message, so nothing is said
/// twice.
///
/// ```
/// use irsa::ErrorChain;
/// use irsa::oidc::PublicKey;
///
/// let error = PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
///     .unwrap_err();
/// assert_eq!(
///     ErrorChain(&error).to_string(),
///     "malformed SubjectPublicKeyInfo: unknown/unsupported ASN.1 DER tag: 0x00 at DER byte 1"
/// );
/// ```
#[derive(Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn Error + 'a));

impl fmt::Debug for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

/// `error: cause: cause…`, as a string.
pub(crate) fn chain(error: &dyn Error) -> String {
    ErrorChain(error).to_string()
}
