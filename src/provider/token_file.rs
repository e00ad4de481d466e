//! The projected token file: read fresh for every call, the last good token kept for the
//! moments of a kubelet swap, and the directory watched so rotations are seen at once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use notify::{RecursiveMode, Watcher as _};

use super::error::{ProviderError, TokenFileError};
use crate::env::Fs;
use crate::token::WebIdentityToken;

/// The largest token file read (STS's own limit is 20000 characters).
const MAX_TOKEN_FILE: u64 = 64 * 1024;

#[derive(Debug)]
pub(super) struct TokenFile {
    path: PathBuf,
    fs: Arc<dyn Fs>,
    last_good: Mutex<Option<WebIdentityToken>>,
}

impl TokenFile {
    pub(super) fn new(path: PathBuf, fs: Arc<dyn Fs>) -> Self {
        Self {
            path,
            fs,
            last_good: Mutex::new(None),
        }
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// The current token, trimmed. A file that is momentarily missing or empty (the kubelet
    /// swaps a `..data` symlink) gives the last good token instead.
    pub(super) fn read(&self) -> Result<WebIdentityToken, ProviderError> {
        let fresh = read_token(self.fs.as_ref(), &self.path);
        let mut last = self
            .last_good
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match fresh {
            Ok(token) => {
                *last = Some(token.clone());
                Ok(token)
            }
            Err(source) => match last.as_ref() {
                Some(token) => {
                    tracing::debug!(path = %self.path.display(), reason = %crate::error_text::chain(&source), "token file unreadable; using the last good token");
                    Ok(token.clone())
                }
                None => Err(ProviderError::TokenUnavailable {
                    path: self.path.clone(),
                    source,
                }),
            },
        }
    }

    /// Whether the file now holds a token other than the last one read (which it then
    /// becomes).
    pub(super) fn changed(&self) -> bool {
        let Ok(token) = read_token(self.fs.as_ref(), &self.path) else {
            return false;
        };
        let mut last = self
            .last_good
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.as_ref() == Some(&token) {
            return false;
        }
        *last = Some(token);
        true
    }

    /// Watches the token's directory (not the file: the kubelet replaces a symlink two levels
    /// up) and calls `on_change` for every event. `None` when the directory cannot be watched;
    /// every attempt still re-reads the file.
    pub(super) fn watch(
        &self,
        on_change: impl Fn() + Send + Sync + 'static,
    ) -> Option<notify::RecommendedWatcher> {
        let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty())?;
        let on_change = Arc::new(on_change);
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok() {
                    on_change();
                }
            })
            .map_err(|e| tracing::debug!(error = %e, "cannot create a file watcher"))
            .ok()?;
        match watcher.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => Some(watcher),
            Err(e) => {
                tracing::debug!(dir = %dir.display(), error = %e, "cannot watch the token directory yet");
                None
            }
        }
    }
}

/// The token in the file at `path`, read up to a bound and trimmed.
fn read_token(fs: &dyn Fs, path: &Path) -> Result<WebIdentityToken, TokenFileError> {
    let bytes = fs
        .read(path, MAX_TOKEN_FILE)
        .map_err(|e| TokenFileError::Io(Arc::new(e)))?;
    if bytes.len() as u64 > MAX_TOKEN_FILE {
        return Err(TokenFileError::TooLarge {
            limit: MAX_TOKEN_FILE,
        });
    }
    WebIdentityToken::from_file_contents(bytes).map_err(TokenFileError::Content)
}
