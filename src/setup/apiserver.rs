//! The kube-apiserver static pod manifest (kubeadm's
//! `/etc/kubernetes/manifests/kube-apiserver.yaml`): its command's IRSA flags, edited as text
//! so that nothing else in the file changes, and checked by parsing both versions.
//!
//! ```
//! use irsa::setup::apiserver::{ApiserverFlags, Manifest};
//!
//! let manifest = Manifest::parse("apiVersion: v1
//! kind: Pod
//! spec:
//!   containers:
//!   - command:
//!     - kube-apiserver
//!     - --service-account-issuer=https://kubernetes.default.svc.cluster.local
//!     - --service-account-key-file=/etc/kubernetes/pki/sa.pub
//!     image: registry.k8s.io/kube-apiserver:v1.31.0
//!     name: kube-apiserver
//! ")?;
//! let flags = ApiserverFlags {
//!     issuer: "https://my-irsa-bucket.s3.eu-west-1.amazonaws.com".into(),
//!     existing_issuers: vec![],
//!     jwks_uri: "https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/openid/v1/jwks".into(),
//!     key_files: vec!["/etc/kubernetes/pki/sa.pub".into()],
//! };
//! let edit = manifest.edit(&flags)?;
//! assert_eq!(edit.after()[1..], [
//!     "--api-audiences=https://my-irsa-bucket.s3.eu-west-1.amazonaws.com,https://kubernetes.default.svc.cluster.local",
//!     "--service-account-issuer=https://my-irsa-bucket.s3.eu-west-1.amazonaws.com",
//!     "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
//!     "--service-account-jwks-uri=https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/openid/v1/jwks",
//!     "--service-account-key-file=/etc/kubernetes/pki/sa.pub",
//! ]);
//! // Applying the same flags again changes nothing.
//! assert!(!Manifest::parse(edit.text())?.edit(&flags)?.changed());
//! # Ok::<(), irsa::setup::apiserver::ManifestError>(())
//! ```

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::Value;

const ISSUER: &str = "--service-account-issuer";
const JWKS_URI: &str = "--service-account-jwks-uri";
const KEY_FILE: &str = "--service-account-key-file";
const API_AUDIENCES: &str = "--api-audiences";
/// The largest manifest read (kubeadm's are about 4 KiB).
pub const MAX_MANIFEST_BYTES: usize = 1 << 20;

/// The IRSA flags the apiserver needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiserverFlags {
    /// The new issuer: the first `--service-account-issuer` (it signs new tokens).
    pub issuer: String,
    /// Issuers to keep accepting after it (the manifest's current ones are kept too).
    pub existing_issuers: Vec<String>,
    /// `--service-account-jwks-uri`.
    pub jwks_uri: String,
    /// One `--service-account-key-file` per published key, as paths on the node.
    pub key_files: Vec<String>,
}

impl ApiserverFlags {
    /// The flags for `file`'s cluster, with the key files at `pki_dir/<file name>` on the node
    /// (kubeadm mounts `/etc/kubernetes/pki` into the apiserver's pod).
    pub fn for_setup(file: &super::SetupFile, pki_dir: &str) -> ApiserverFlags {
        let cluster = file.cluster();
        let key_files = cluster
            .key_files()
            .iter()
            .map(|p| {
                let name = p
                    .file_name()
                    .map_or_else(|| p.to_string_lossy(), |n| n.to_string_lossy());
                format!("{}/{name}", pki_dir.trim_end_matches('/'))
            })
            .collect();
        ApiserverFlags {
            issuer: cluster.issuer().as_str().to_owned(),
            existing_issuers: cluster.existing_issuers().to_vec(),
            jwks_uri: cluster.issuer().jwks_uri(),
            key_files,
        }
    }
}

/// Why a manifest cannot be edited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// Not YAML.
    #[error(
        "the manifest is not YAML ({0}): give kubeadm's /etc/kubernetes/manifests/kube-apiserver.yaml"
    )]
    Yaml(String),
    /// Larger than [`MAX_MANIFEST_BYTES`].
    #[error("the manifest has more than {MAX_MANIFEST_BYTES} bytes: give the static pod manifest")]
    TooLarge,
    /// No container whose command starts with `kube-apiserver`.
    #[error(
        "no container's command starts with kube-apiserver: give the apiserver's static pod manifest"
    )]
    NoApiserver,
    /// The command is not a block list of plain or quoted one-line strings.
    #[error(
        "line {line}: the command is not a block list of one-line strings (`- --flag=value`, as kubeadm writes it): edit this manifest by hand"
    )]
    Layout {
        /// The 1-based line.
        line: usize,
    },
}

/// A parsed manifest: its text, where the apiserver's command is, and the command.
#[derive(Debug, Clone)]
pub struct Manifest {
    text: String,
    /// Byte range of the command's item lines.
    span: std::ops::Range<usize>,
    indent: String,
    command: Vec<String>,
    /// Each item's text as written (after `- `), to keep unchanged items byte for byte.
    raw: Vec<String>,
    document: Value,
    container: usize,
}

/// The manifest with the flags applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    before: Vec<String>,
    after: Vec<String>,
    text: String,
}

impl Edit {
    /// The command before.
    pub fn before(&self) -> &[String] {
        &self.before
    }

    /// The command after.
    pub fn after(&self) -> &[String] {
        &self.after
    }

    /// The whole manifest after.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the command changes.
    pub fn changed(&self) -> bool {
        self.before != self.after
    }

    /// The command's diff, one line each: `-` removed, `+` added, ` ` kept.
    pub fn diff(&self) -> Vec<String> {
        super::diff::line_diff(&self.before, &self.after)
    }

    /// Replaces the manifest at `path`, whose text was `read` when this edit was made, and
    /// returns where the previous text was kept.
    ///
    /// - The write is refused when the file no longer holds `read` (kubeadm or a person changed
    ///   it since): the edit was made for a text that is gone.
    /// - The previous text goes to a dot-file beside it (the kubelet ignores dot-files):
    ///   `.NAME.irsa-backup` the first time, which is never overwritten, so the manifest from
    ///   before irsa stays; later ones are `.NAME.irsa-backup-YYYYMMDDTHHMMSSZ` at `now`.
    /// - Both files are written atomically, created with the manifest's own mode and owner
    ///   (kubeadm writes it 0600): at no moment is either readable by more users.
    pub fn write(
        &self,
        path: &Path,
        read: &str,
        now: SystemTime,
    ) -> Result<PathBuf, ManifestWriteError> {
        let on_disk = std::fs::read(path).map_err(|source| ManifestWriteError::Read {
            path: path.to_owned(),
            source,
        })?;
        if on_disk != read.as_bytes() {
            return Err(ManifestWriteError::Changed {
                path: path.to_owned(),
            });
        }
        let backup = backup_path(path, now);
        crate::env::write_atomic(&backup, read.as_bytes(), 0o600).map_err(|source| {
            ManifestWriteError::Backup {
                path: backup.clone(),
                source,
            }
        })?;
        crate::env::write_atomic(path, self.text.as_bytes(), 0o600).map_err(|source| {
            ManifestWriteError::Write {
                path: path.to_owned(),
                source,
            }
        })?;
        Ok(backup)
    }
}

/// Why an edited manifest was not written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestWriteError {
    /// The manifest cannot be read again before it is replaced.
    #[error("cannot read {} again before replacing it", path.display())]
    Read {
        /// The manifest.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The manifest changed between its reading and its writing.
    #[error("{} changed since it was read (kubeadm, or another edit): run again to edit the text it holds now", path.display())]
    Changed {
        /// The manifest.
        path: PathBuf,
    },
    /// The backup cannot be written; the manifest is untouched.
    #[error("cannot write the backup {}: the manifest is untouched", path.display())]
    Backup {
        /// The backup.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The manifest cannot be replaced; it holds its previous text.
    #[error("cannot replace {}: it holds its previous text", path.display())]
    Write {
        /// The manifest.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The first backup's name, or a timestamped one when the first exists.
fn backup_path(manifest: &Path, now: SystemTime) -> PathBuf {
    let name = manifest
        .file_name()
        .map_or_else(|| "manifest".into(), |n| n.to_string_lossy());
    let first = manifest.with_file_name(format!(".{name}.irsa-backup"));
    if !first.exists() {
        return first;
    }
    let seconds = crate::token::unix_seconds(now);
    let stamp = crate::token::utc_timestamp(seconds, true).unwrap_or_else(|| seconds.to_string());
    let mut candidate = manifest.with_file_name(format!(".{name}.irsa-backup-{stamp}"));
    let mut n = 2;
    while candidate.exists() {
        candidate = manifest.with_file_name(format!(".{name}.irsa-backup-{stamp}-{n}"));
        n += 1;
    }
    candidate
}

impl Manifest {
    /// Parses `text` and finds the apiserver's command.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        if text.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge);
        }
        let document: Value =
            serde_norway::from_str(text).map_err(|e| ManifestError::Yaml(e.to_string()))?;
        let containers = document
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .ok_or(ManifestError::NoApiserver)?;
        let container = containers
            .iter()
            .position(|c| c.pointer("/command/0").and_then(Value::as_str) == Some("kube-apiserver"))
            .ok_or(ManifestError::NoApiserver)?;
        let command: Vec<String> = containers
            .get(container)
            .and_then(|c| c.get("command"))
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|v| v.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let (span, indent, raw) = locate(text, &command)?;
        Ok(Manifest {
            text: text.to_owned(),
            span,
            indent,
            command,
            raw,
            document,
            container,
        })
    }

    /// The apiserver's command as it is.
    pub fn command(&self) -> &[String] {
        &self.command
    }

    /// The manifest with `flags` applied: issuers (the new one first, then the ones it had and
    /// `existing_issuers`), the JWKS URI, exactly `key_files`, and `--api-audiences` keeping
    /// the ones it had plus every issuer. Flags it lacks are inserted where kubeadm's sorted
    /// order puts them; every other item and line stays as it was.
    pub fn edit(&self, flags: &ApiserverFlags) -> Result<Edit, ManifestError> {
        let after = command_with(&self.command, flags);
        let mut text = String::with_capacity(self.text.len() + 512);
        text.push_str(self.text.get(..self.span.start).unwrap_or_default());
        for item in &after {
            text.push_str(&self.indent);
            text.push_str("- ");
            match self.command.iter().position(|c| c == item) {
                Some(i) => text.push_str(self.raw.get(i).map_or("", String::as_str)),
                None => text.push_str(&quote(item)),
            }
            text.push('\n');
        }
        text.push_str(self.text.get(self.span.end..).unwrap_or_default());
        // The proof that only the command changed: both documents are equal but for it.
        let mut reparsed: Value =
            serde_norway::from_str(&text).map_err(|e| ManifestError::Yaml(e.to_string()))?;
        let mut original = self.document.clone();
        let pointer = format!("/spec/containers/{}/command", self.container);
        let ours = reparsed.pointer_mut(&pointer).map(Value::take);
        original.pointer_mut(&pointer).map(Value::take);
        let expected = Value::from(after.clone());
        if reparsed != original || ours.as_ref() != Some(&expected) {
            return Err(ManifestError::Layout {
                line: line_of(&self.text, self.span.start),
            });
        }
        Ok(Edit {
            before: self.command.clone(),
            after,
            text,
        })
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |t| t.matches('\n').count() + 1)
}

/// The byte range of the lines holding the command's items, their indentation and their text.
type Located = (std::ops::Range<usize>, String, Vec<String>);

/// Finds the lines holding `command`'s items.
fn locate(text: &str, command: &[String]) -> Result<Located, ManifestError> {
    let mut offset = 0;
    let mut lines = Vec::new();
    for line in text.split_inclusive('\n') {
        lines.push((offset, line));
        offset += line.len();
    }
    // The first item line that reads "kube-apiserver" right after a `command:` key.
    for (i, (start, line)) in lines.iter().enumerate() {
        let trimmed = line.trim_end();
        let key = trimmed.trim_start().trim_start_matches("- ");
        if key != "command:" {
            continue;
        }
        let Some((first_start, first)) = lines.get(i + 1) else {
            continue;
        };
        let indent: String = first.chars().take_while(|c| *c == ' ').collect();
        let mut items = Vec::new();
        let mut raw = Vec::new();
        let mut end = *first_start;
        for (at, item_line) in lines.iter().skip(i + 1) {
            let Some(rest) = item_line
                .strip_prefix(indent.as_str())
                .and_then(|r| r.strip_prefix("- "))
            else {
                break;
            };
            let value = unquote(rest.trim_end()).ok_or(ManifestError::Layout {
                line: line_of(text, *at),
            })?;
            items.push(value);
            raw.push(rest.trim_end().to_owned());
            end = at + item_line.len();
        }
        if items.first().map(String::as_str) == Some("kube-apiserver") {
            if items != command {
                return Err(ManifestError::Layout {
                    line: line_of(text, *start) + 1,
                });
            }
            if !text.get(..end).unwrap_or_default().ends_with('\n') {
                return Err(ManifestError::Layout {
                    line: line_of(text, end),
                });
            }
            return Ok((*first_start..end, indent, raw));
        }
    }
    Err(ManifestError::NoApiserver)
}

/// A one-line YAML scalar as a string: plain, `'single'` or `"double"` (simple escapes).
fn unquote(item: &str) -> Option<String> {
    if let Some(inner) = item.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return Some(inner.replace("''", "'"));
    }
    if item.starts_with('"') {
        return serde_json::from_str(item).ok();
    }
    let plain = item.split(" #").next().unwrap_or_default().trim_end();
    let unsafe_start = plain.starts_with(['&', '*', '!', '|', '>', '[', '{', '%', '@', '`', '#']);
    if plain.is_empty() || unsafe_start || plain.contains(": ") {
        return None;
    }
    Some(plain.to_owned())
}

/// `item` as kubeadm writes it: plain when YAML reads it back as the same string, quoted
/// otherwise.
fn quote(item: &str) -> String {
    let plain = format!("- {item}\n");
    let reads_back = !item.is_empty()
        && !item.chars().any(char::is_control)
        && serde_norway::from_str::<Value>(&plain).ok() == Some(Value::from(vec![item]));
    if reads_back {
        item.to_owned()
    } else {
        serde_json::to_string(item).unwrap_or_default()
    }
}

fn flag_name(item: &str) -> &str {
    item.split_once('=').map_or(item, |(name, _)| name)
}

fn command_with(command: &[String], flags: &ApiserverFlags) -> Vec<String> {
    let values = |name: &str| -> Vec<String> {
        command
            .iter()
            .filter(|i| flag_name(i) == name)
            .filter_map(|i| i.split_once('=').map(|(_, v)| v.to_owned()))
            .collect()
    };
    let mut issuers = vec![flags.issuer.clone()];
    for issuer in values(ISSUER)
        .into_iter()
        .chain(flags.existing_issuers.iter().cloned())
    {
        if !issuers.contains(&issuer) {
            issuers.push(issuer);
        }
    }
    let mut audiences: Vec<String> = values(API_AUDIENCES)
        .iter()
        .flat_map(|v| v.split(','))
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    // Without --api-audiences the apiserver accepts tokens for its issuers; keep that.
    // (Audiences are a comma-separated list: an issuer is added as the list reads it.)
    for part in issuers
        .iter()
        .flat_map(|i| i.split(','))
        .filter(|a| !a.is_empty())
    {
        if !audiences.iter().any(|a| a == part) {
            audiences.push(part.to_owned());
        }
    }
    let mut wanted: Vec<(&str, Vec<String>)> = vec![
        (
            API_AUDIENCES,
            vec![format!("{API_AUDIENCES}={}", audiences.join(","))],
        ),
        (
            ISSUER,
            issuers.iter().map(|i| format!("{ISSUER}={i}")).collect(),
        ),
        (JWKS_URI, vec![format!("{JWKS_URI}={}", flags.jwks_uri)]),
        (
            KEY_FILE,
            flags
                .key_files
                .iter()
                .map(|k| format!("{KEY_FILE}={k}"))
                .collect(),
        ),
    ];
    let present = |name: &str| command.iter().any(|c| flag_name(c) == name);
    let mut out: Vec<String> = Vec::with_capacity(command.len() + 8);
    for item in command {
        let name = flag_name(item);
        // Missing flags go before the first flag that sorts after them (kubeadm sorts).
        if item.starts_with("--") {
            while let Some(i) = wanted.iter().position(|(n, _)| *n < name && !present(n)) {
                out.extend(wanted.remove(i).1);
            }
        }
        if let Some(i) = wanted.iter().position(|(n, _)| *n == name) {
            out.extend(wanted.remove(i).1);
        } else if ![API_AUDIENCES, ISSUER, JWKS_URI, KEY_FILE].contains(&name) {
            out.push(item.clone());
        }
    }
    for (_, items) in wanted {
        out.extend(items);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubeadm() -> String {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/kubeadm/kube-apiserver.v1.31.yaml"
        ))
        .unwrap()
    }

    fn flags() -> ApiserverFlags {
        ApiserverFlags {
            issuer: "https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod".into(),
            existing_issuers: vec![],
            jwks_uri: "https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod/openid/v1/jwks"
                .into(),
            key_files: vec![
                "/etc/kubernetes/pki/sa.pub".into(),
                "/etc/kubernetes/pki/sa-next.pub".into(),
            ],
        }
    }

    #[test]
    fn a_kubeadm_manifest_gains_the_flags_and_nothing_else_changes() {
        let text = kubeadm();
        let edit = Manifest::parse(&text).unwrap().edit(&flags()).unwrap();
        assert_eq!(edit.diff().iter().filter(|l| !l.starts_with(' ')).cloned().collect::<Vec<_>>(), [
            "+--api-audiences=https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod,https://kubernetes.default.svc.cluster.local",
            "+--service-account-issuer=https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod",
            " --service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "+--service-account-jwks-uri=https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod/openid/v1/jwks",
            " --service-account-key-file=/etc/kubernetes/pki/sa.pub",
            "+--service-account-key-file=/etc/kubernetes/pki/sa-next.pub",
        ].into_iter().filter(|l| !l.starts_with(' ')).collect::<Vec<_>>());
        // Every line outside the command is byte-for-byte the same.
        let removed: Vec<&str> = text
            .lines()
            .filter(|l| !edit.text().lines().any(|m| m == *l))
            .collect();
        assert_eq!(removed, Vec::<&str>::new());
        assert_eq!(edit.text().lines().count(), text.lines().count() + 4);
        assert!(
            !Manifest::parse(edit.text())
                .unwrap()
                .edit(&flags())
                .unwrap()
                .changed()
        );
    }

    #[test]
    fn existing_audiences_and_issuers_are_kept_and_dropped_keys_leave() {
        let text = kubeadm().replace(
            "    - --service-account-issuer=https://kubernetes.default.svc.cluster.local\n",
            "    - --service-account-issuer=https://kubernetes.default.svc.cluster.local\n    - --api-audiences=vault,https://kubernetes.default.svc.cluster.local\n",
        );
        let mut flags = flags();
        flags.key_files.remove(0);
        let edit = Manifest::parse(&text).unwrap().edit(&flags).unwrap();
        let after = edit.after();
        assert!(after.contains(&"--api-audiences=vault,https://kubernetes.default.svc.cluster.local,https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod".to_owned()), "{after:?}");
        assert!(!after.iter().any(|a| a.ends_with("/sa.pub")));
        assert_eq!(
            after
                .iter()
                .filter(|a| a.starts_with("--api-audiences"))
                .count(),
            1
        );
    }

    #[test]
    fn unusual_layouts_are_refused_not_mangled() {
        let flow = "spec:\n  containers:\n  - command: [kube-apiserver, --a=b]\n";
        assert_eq!(
            Manifest::parse(flow).unwrap_err(),
            ManifestError::NoApiserver
        );
        let folded =
            "spec:\n  containers:\n  - command:\n    - kube-apiserver\n    - >\n      --a=b\n";
        assert!(matches!(
            Manifest::parse(folded).unwrap_err(),
            ManifestError::Layout { .. }
        ));
        assert!(matches!(
            Manifest::parse("[: x").unwrap_err(),
            ManifestError::Yaml(_)
        ));
        let quoted = "spec:\n  containers:\n  - command:\n    - kube-apiserver\n    - '--x=a b'\n    - \"--y=c\"\n";
        let edit = Manifest::parse(quoted).unwrap().edit(&flags()).unwrap();
        assert!(edit.after().contains(&"--x=a b".to_owned()));
    }

    #[test]
    fn a_write_keeps_the_first_backup_and_refuses_a_manifest_changed_since_it_was_read() {
        use std::time::{Duration, UNIX_EPOCH};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kube-apiserver.yaml");
        let original = kubeadm();
        std::fs::write(&path, &original).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let flags = |issuer: &str| ApiserverFlags {
            issuer: issuer.into(),
            existing_issuers: vec![],
            jwks_uri: format!("{issuer}/openid/v1/jwks"),
            key_files: vec!["/etc/kubernetes/pki/sa.pub".into()],
        };
        let at = UNIX_EPOCH + Duration::from_secs(1_765_000_000);

        // Changed on disk after it was read: refused, and the file keeps the other change.
        let edit = Manifest::parse(&original)
            .unwrap()
            .edit(&flags("https://a.example"))
            .unwrap();
        std::fs::write(&path, format!("{original}# kubeadm upgrade\n")).unwrap();
        let refused = edit.write(&path, &original, at).unwrap_err();
        assert!(
            matches!(refused, ManifestWriteError::Changed { .. }),
            "{refused}"
        );
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .ends_with("# kubeadm upgrade\n")
        );
        std::fs::write(&path, &original).unwrap();

        // The first write keeps the pre-irsa manifest; the second keeps it too.
        let first = edit.write(&path, &original, at).unwrap();
        assert_eq!(
            first.file_name().unwrap(),
            ".kube-apiserver.yaml.irsa-backup"
        );
        let second_text = std::fs::read_to_string(&path).unwrap();
        let again = Manifest::parse(&second_text)
            .unwrap()
            .edit(&flags("https://b.example"))
            .unwrap();
        let second = again.write(&path, &second_text, at).unwrap();
        assert_eq!(
            second.file_name().unwrap(),
            ".kube-apiserver.yaml.irsa-backup-20251206T054640Z"
        );
        assert_eq!(std::fs::read_to_string(&first).unwrap(), original);
        assert_eq!(std::fs::read_to_string(&second).unwrap(), second_text);
        #[cfg(unix)]
        for file in [&path, &first, &second] {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
    }
}
