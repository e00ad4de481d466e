//! Progress of long work on stderr, for people watching a terminal: nothing at all when stderr
//! is a pipe or a file, so logs and scripts see only what they asked for.

use std::io::{IsTerminal as _, Write};

/// Reports steps of long work (`setup`, `doctor`, writing the issuer's files) as they start.
#[derive(Debug)]
pub(crate) struct Progress<W: Write> {
    /// `None`: not a terminal, so silent.
    out: Option<W>,
}

impl Progress<std::io::Stderr> {
    /// Progress on stderr when it is a terminal; silent otherwise.
    pub(crate) fn stderr() -> Self {
        let stderr = std::io::stderr();
        let shown = stderr.is_terminal();
        Progress::new(stderr, shown)
    }
}

impl<W: Write> Progress<W> {
    /// Progress on `out` when `shown`.
    pub(crate) fn new(out: W, shown: bool) -> Self {
        Progress {
            out: shown.then_some(out),
        }
    }

    /// Announces a step.
    pub(crate) fn step(&mut self, what: impl std::fmt::Display) {
        if let Some(out) = &mut self.out {
            // Progress is a courtesy: a failure to show it must not fail the work.
            let _ = writeln!(out, "… {what}");
            let _ = out.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silent_unless_shown() {
        let mut hidden = Progress::new(Vec::new(), false);
        hidden.step("writing openid/v1/jwks");
        assert!(hidden.out.is_none());
        let mut shown = Progress::new(Vec::new(), true);
        shown.step("writing openid/v1/jwks");
        shown.step("writing iam-oidc-provider.json");
        assert_eq!(
            String::from_utf8(shown.out.unwrap()).unwrap(),
            "… writing openid/v1/jwks\n… writing iam-oidc-provider.json\n"
        );
    }
}
