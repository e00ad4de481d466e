//! What a subcommand prints: the human rendering and the JSON, and the styles of the human one.
//!
//! Renderings are written with ANSI styles always; `main` prints them through `anstream`, which
//! strips the styles unless colour is wanted (a terminal, `NO_COLOR` unset, or `--color
//! always`). Values that come from inputs (claims, policies, manifests) are cleaned of control
//! characters first, so a token cannot write escape sequences to a terminal.

use std::borrow::Cow;
use std::fmt::{self, Display, Write as _};

use anstyle::{AnsiColor, Style};

/// A subcommand's result: the human rendering, the JSON (without the final newline), and
/// whether the check said no (exit 1).
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) human: String,
    pub(crate) json: String,
    pub(crate) refused: bool,
}

impl Report {
    /// A report whose output is the same document in both formats (a policy, credentials).
    pub(crate) fn document(json: String) -> Self {
        Report {
            human: format!("{json}\n"),
            json,
            refused: false,
        }
    }
}

/// Success: a check passed, a value matched.
pub(crate) const OK: Style = AnsiColor::Green.on_default().bold();
/// Failure: a refusal, a value that did not match, an error.
pub(crate) const BAD: Style = AnsiColor::Red.on_default().bold();
/// A warning.
pub(crate) const WARN: Style = AnsiColor::Yellow.on_default().bold();
/// A heading or a name.
pub(crate) const BOLD: Style = Style::new().bold();
/// Secondary text.
pub(crate) const DIM: Style = Style::new().dimmed();

/// The mark of a check that passed.
pub(crate) const PASS: &str = "✓";
/// The mark of a check that failed.
pub(crate) const FAIL: &str = "✗";

/// `text` cleaned and in `style`.
pub(crate) fn paint(style: Style, text: impl Display) -> String {
    format!("{style}{}{style:#}", clean(&text.to_string()))
}

/// `text` with control characters escaped (`\u{1b}`), so that input cannot drive the terminal.
pub(crate) fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// A rendering being written, line by line.
#[derive(Debug, Default)]
pub(crate) struct Text(String);

impl Text {
    /// Appends one line.
    pub(crate) fn line(&mut self, line: impl Display) {
        // Writing to a String cannot fail.
        let _ = writeln!(self.0, "{line}");
    }

    /// Appends an empty line, unless the text is empty or already ends with one.
    pub(crate) fn gap(&mut self) {
        if !self.0.is_empty() && !self.0.ends_with("\n\n") {
            self.0.push('\n');
        }
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `1 error`, `2 warnings`.
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A value list as people read it: `a`, `a, b`; `(none)` when empty.
pub(crate) fn list<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        return "(none)".to_owned();
    }
    items
        .iter()
        .map(|s| clean(s.as_ref()).into_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A span of seconds as people read it: `45s`, `14m 5s`, `23h 59m`, `3d 4h`.
pub(crate) fn span(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) if s == 0 => format!("{m}m"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, 0) => format!("{h}h"),
        (0, _, _) => format!("{h}h {m}m"),
        (_, 0, _) => format!("{d}d"),
        _ => format!("{d}d {h}h"),
    }
}

/// A Unix time as RFC 3339 in UTC, or the number when it is out of range.
pub(crate) fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// Pretty JSON, as every subcommand has always printed it.
pub(crate) fn pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(clean("plain"), "plain");
        assert_eq!(clean("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\\u{a}");
        assert_eq!(paint(Style::new(), "x\u{7}"), "x\\u{7}");
    }

    #[test]
    fn spans_read_as_people_write_them() {
        let cases = [
            (0, "0s"),
            (45, "45s"),
            (60, "1m"),
            (845, "14m 5s"),
            (3600, "1h"),
            (86_340, "23h 59m"),
            (86_400, "1d"),
            (273_600, "3d 4h"),
        ];
        for (seconds, text) in cases {
            assert_eq!(span(seconds), text);
        }
        assert_eq!(rfc3339(1_514_851_200), "2018-01-02T00:00:00Z");
    }
}
