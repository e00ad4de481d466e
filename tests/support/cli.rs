//! Running the `irsa` binary from the CLI tests, and naming their data files on its command
//! line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `irsa` with `args`, as a user would.
pub(crate) fn irsa<S: AsRef<str>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_irsa"))
        .args(args.iter().map(AsRef::as_ref))
        .output()
        .expect("run irsa")
}

/// Runs `irsa -o json` with `args`: what machines read.
pub(crate) fn irsa_json<S: AsRef<str>>(args: &[S]) -> Output {
    let mut all = vec!["-o", "json"];
    all.extend(args.iter().map(AsRef::as_ref));
    irsa(&all)
}

/// A file under `tests/data`.
pub(crate) fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

/// A file under `tests/data`, as a command-line argument.
pub(crate) fn path(p: &str) -> String {
    data(p).display().to_string()
}
