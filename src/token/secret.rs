//! The web-identity token as a secret: never printed, wiped from memory when dropped.

use std::fmt;

use zeroize::Zeroizing;

/// A service-account token (a compact JWS) held as a secret.
///
/// Anyone holding the token can exchange it for the role's credentials until it expires, so it
/// is handled like a password: `Debug` prints only its length, there is no `Display` or
/// `Serialize`, the memory is zeroed on drop, and the only way to the text is
/// [`expose_secret`](Self::expose_secret), whose name makes every use visible in review.
///
/// ```
/// use irsa::token::WebIdentityToken;
///
/// let token = WebIdentityToken::from_file_contents(b"eyJhbGciOi.eyJzdWIiOi.c2ln\n".to_vec())?;
/// assert_eq!(token.expose_secret(), "eyJhbGciOi.eyJzdWIiOi.c2ln");
/// assert_eq!(format!("{token:?}"), "WebIdentityToken(<redacted, 26 bytes>)");
/// # Ok::<(), irsa::token::SecretError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct WebIdentityToken(Zeroizing<String>);

impl WebIdentityToken {
    /// Wraps a token held in a string.
    pub fn new(token: String) -> Self {
        WebIdentityToken(Zeroizing::new(token))
    }

    /// Takes the bytes of a token file, as the kubelet writes it, and trims trailing ASCII white
    /// space (a newline added by an editor or `echo` would otherwise reach STS and fail there).
    /// Fails on non-UTF-8 content and on a file that is empty after trimming; the refused
    /// bytes are wiped.
    pub fn from_file_contents(bytes: Vec<u8>) -> Result<Self, SecretError> {
        let bytes = Zeroizing::new(bytes);
        let text = std::str::from_utf8(&bytes).map_err(|_| SecretError::NotUtf8)?;
        let trimmed = text.trim_end_matches(|c: char| c.is_ascii_whitespace());
        if trimmed.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(WebIdentityToken(Zeroizing::new(trimmed.to_owned())))
    }

    /// The token's text. Everything that receives it must treat it as a secret.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The token's length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the token is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for WebIdentityToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebIdentityToken(<redacted, {} bytes>)", self.0.len())
    }
}

/// Why token file contents were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The file is empty or holds only white space.
    #[error("the token file is empty: the kubelet may not have written it yet")]
    Empty,
    /// The file is not UTF-8 text.
    #[error("the token file is not text: a token is ASCII")]
    NotUtf8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_only_trailing_white_space() {
        let token = WebIdentityToken::from_file_contents(b" a.b.c \r\n\t".to_vec()).unwrap();
        assert_eq!(token.expose_secret(), " a.b.c");
        assert_eq!(
            WebIdentityToken::from_file_contents(b"\n \n".to_vec()),
            Err(SecretError::Empty)
        );
        assert_eq!(
            WebIdentityToken::from_file_contents(vec![0xff]),
            Err(SecretError::NotUtf8)
        );
    }

    #[test]
    fn debug_never_shows_the_token() {
        let secret = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJl";
        let token = WebIdentityToken::new(secret.to_owned());
        let shown = format!("{token:?} {token:#?} {:?}", Some(&token));
        assert!(!shown.contains("eyJ") && !shown.contains("c2Vj"), "{shown}");
    }
}
