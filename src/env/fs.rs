//! Files: bounded reads through an injectable [`Fs`], and the one atomic writer.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Where the library reads files: [`RealFs`] is the disk; tests may give another.
pub trait Fs: fmt::Debug + Send + Sync {
    /// Reads at most `limit + 1` bytes of the file at `path`, so that the caller can tell a
    /// file over its limit from one at it without reading an unbounded file.
    fn read(&self, path: &Path, limit: u64) -> io::Result<Vec<u8>>;
}

/// The real filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl Fs for RealFs {
    fn read(&self, path: &Path, limit: u64) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        File::open(path)?
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

/// Distinguishes the temporary files of concurrent writes in one process.
static NEXT_TEMPORARY: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` atomically: a dot-named temporary file in the same directory
/// (so a kubelet watching a manifest directory ignores it), created with the mode and owner of
/// the file it replaces (`new_mode` when there is none), flushed to disk and renamed over
/// `path`. Readers see the old file or the new one, never half of one, and a file that was
/// `0600` is never readable by others, not even for a moment. On failure the old file is
/// untouched and the temporary file removed.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// let dir = std::env::temp_dir().join(format!("irsa-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("jwks.json");
/// irsa::env::write_atomic(&path, br#"{"keys":[]}"#, 0o644)?;
/// assert_eq!(std::fs::read(&path)?, br#"{"keys":[]}"#);
/// # std::fs::remove_dir_all(&dir)
/// # }
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8], new_mode: u32) -> io::Result<()> {
    write_atomic_with(path, bytes, new_mode, |_| Ok(()))
}

/// [`write_atomic`], calling `before_rename` with the complete temporary file just before it
/// replaces `path`: the tests' way to fail (or look) between the write and the rename.
fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    new_mode: u32,
    before_rename: impl FnOnce(&Path) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    fs::create_dir_all(&dir)?;
    let existing = fs::metadata(path).ok();
    let temporary = dir.join(format!(
        ".{}.irsa-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        NEXT_TEMPORARY.fetch_add(1, Ordering::Relaxed)
    ));
    let written = write_new(&temporary, bytes, existing.as_ref(), new_mode)
        .and_then(|()| before_rename(&temporary))
        .and_then(|()| fs::rename(&temporary, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&temporary);
        return Err(e);
    }
    // The rename is durable once the directory is; a failure here leaves a complete file.
    if let Ok(dir) = File::open(&dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn write_new(
    temporary: &Path,
    bytes: &[u8],
    existing: Option<&fs::Metadata>,
    new_mode: u32,
) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
        options.mode(existing.map_or(new_mode, |m| m.mode() & 0o7777));
    }
    #[cfg(not(unix))]
    let _ = new_mode;
    let mut file = options.open(temporary)?;
    #[cfg(unix)]
    if let Some(existing) = existing {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        // The process's umask may have narrowed the mode given at creation.
        file.set_permissions(fs::Permissions::from_mode(existing.mode() & 0o7777))?;
        let ours = file.metadata()?;
        if (ours.uid(), ours.gid()) != (existing.uid(), existing.gid()) {
            std::os::unix::fs::fchown(&file, Some(existing.uid()), Some(existing.gid()))?;
        }
    }
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_mode_and_no_temporary_is_left() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kube-apiserver.yaml");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&path, b"new", 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["kube-apiserver.yaml"]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: the rename fails after the write.
        let path = dir.path().join("out");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inside"), "kept").unwrap();
        assert!(write_atomic(&path, b"new", 0o644).is_err());
        assert_eq!(fs::read(path.join("inside")).unwrap(), b"kept");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failure_between_write_and_rename_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        fs::write(&path, "old").unwrap();
        let failed = write_atomic_with(&path, b"new and longer", 0o644, |temporary| {
            // The new contents are complete and flushed beside the untouched old file.
            assert_eq!(fs::read(temporary).unwrap(), b"new and longer");
            assert_eq!(fs::read(&path).unwrap(), b"old");
            Err(io::Error::other("injected"))
        });
        assert_eq!(failed.unwrap_err().to_string(), "injected");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["jwks.json"], "the temporary file is removed");
    }

    #[test]
    fn reads_stop_one_byte_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        fs::write(&path, [b'x'; 100]).unwrap();
        assert_eq!(RealFs.read(&path, 10).unwrap().len(), 11);
        assert_eq!(RealFs.read(&path, 100).unwrap().len(), 100);
    }
}
