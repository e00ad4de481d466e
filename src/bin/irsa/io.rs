//! File input and output for the command line: bounded reads (`-` is standard input), atomic
//! writes, and the error type that names the input at fault.

use std::error::Error;
use std::fmt;
use std::fs::File;
use std::io::Read as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// The largest input file read, in bytes: keys and documents are a few KiB at most.
const MAX_INPUT_BYTES: u64 = 1024 * 1024;

/// A failure of one command, naming the input it concerns.
#[derive(Debug)]
pub(crate) struct CliError {
    /// The input at fault, e.g. `--public-key sa.pub`.
    input: String,
    source: Box<dyn Error + Send + Sync>,
    exit_code: u8,
    /// What to run next, naming a subcommand: the library's messages name none.
    next_step: Option<&'static str>,
}

impl CliError {
    /// Unusable input: exit code 2.
    pub(crate) fn input(
        input: impl Into<String>,
        source: impl Into<Box<dyn Error + Send + Sync>>,
    ) -> Self {
        CliError::with_code(input.into(), source.into(), 2)
    }

    /// A check that ran and said no: exit code 1.
    pub(crate) fn refused(
        input: impl Into<String>,
        source: impl Into<Box<dyn Error + Send + Sync>>,
    ) -> Self {
        CliError::with_code(input.into(), source.into(), 1)
    }

    fn with_code(input: String, source: Box<dyn Error + Send + Sync>, exit_code: u8) -> Self {
        CliError {
            input,
            source,
            exit_code,
            next_step: None,
        }
    }

    /// Adds what to run next to the message.
    pub(crate) fn with_next_step(mut self, step: &'static str) -> Self {
        self.next_step = Some(step);
        self
    }

    pub(crate) fn exit_code(&self) -> u8 {
        self.exit_code
    }
}

impl fmt::Display for CliError {
    /// One line: the input, every cause in the chain, then what to run next.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.input, irsa::ErrorChain(&*self.source))?;
        match self.next_step {
            Some(step) => write!(f, " ({step})"),
            None => Ok(()),
        }
    }
}

/// Whether an input already took standard input (`-`): it can be read once.
static STDIN_TAKEN: AtomicBool = AtomicBool::new(false);

/// Reads a whole input file of at most 1 MiB; `-` reads standard input, for one input only.
pub(crate) fn read_input(flag: &str, path: &Path) -> Result<Vec<u8>, CliError> {
    let name = || format!("{flag} {}", path.display());
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
            return Err(CliError::input(
                name(),
                "standard input is already read by another input: give only one input as -, the others as files",
            ));
        }
        std::io::stdin()
            .lock()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::input(name(), format!("cannot read standard input ({e})")))?;
    } else {
        let file = File::open(path)
            .map_err(|e| CliError::input(name(), format!("cannot read the file ({e})")))?;
        file.take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::input(name(), format!("cannot read the file ({e})")))?;
    }
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(CliError::input(
            name(),
            "the input is larger than 1 MiB: is it the right file?",
        ));
    }
    Ok(bytes)
}

/// Reads an input file that must be UTF-8 text.
pub(crate) fn read_text(flag: &str, path: &Path) -> Result<String, CliError> {
    String::from_utf8(read_input(flag, path)?).map_err(|_| {
        CliError::input(
            format!("{flag} {}", path.display()),
            "the input is not UTF-8 text",
        )
    })
}

/// Writes `bytes` to `path` atomically (the library's writer: readers see the old file or the
/// new one; a replaced file keeps its mode and owner, a new one is 0644, as generated documents
/// are public).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    irsa::env::write_atomic(path, bytes, 0o644).map_err(|e| {
        CliError::input(
            format!("--out {}", path.display()),
            format!("cannot write ({e})"),
        )
    })
}

/// A duration in Go's syntax (`time.ParseDuration`), for flags that keep Go tools' syntax: a
/// sequence of decimal numbers, each with a unit `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`, as in
/// `500ms`, `10s`, `1m30s`, `1.5h`; `0` alone needs no unit.
pub(crate) fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    use std::time::Duration;
    let fix = "write numbers with units, as Go does: 500ms, 10s, 1m30s, 1.5h";
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = Duration::ZERO;
    if rest.is_empty() {
        return Err(format!("not a duration; {fix}"));
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let value: f64 = number
            .parse()
            .map_err(|_| format!("not a duration; {fix}"))?;
        let seconds_per_unit = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(format!("a number without a unit; {fix}")),
            _ => return Err(format!("the unknown unit {unit:?}; {fix}")),
        };
        let part = Duration::try_from_secs_f64(value * seconds_per_unit)
            .map_err(|_| "too long a duration".to_owned())?;
        total = total.saturating_add(part);
        rest = tail;
    }
    Ok(total)
}

/// [`parse_duration`], refusing zero: for timeouts, where zero would refuse every client.
pub(crate) fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err("a timeout must be longer than zero".to_owned()),
        d => Ok(d),
    }
}

/// Writes a file that holds a private key: `0600`, also when it replaces a file others could
/// read (the atomic writer keeps a replaced file's mode, so a looser old file goes first).
pub(crate) fn write_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt as _;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::remove_file(path)?;
        }
    }
    irsa::env::write_atomic(path, bytes, 0o600)
}

#[cfg(test)]
mod duration_tests {
    use std::time::Duration;

    use super::{parse_duration, parse_timeout};

    #[test]
    fn go_style_durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("100us"), Ok(Duration::from_micros(100)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(
            parse_duration("10"),
            Err("a number without a unit; write numbers with units, as Go does: 500ms, 10s, 1m30s, 1.5h".to_owned())
        );
        assert!(parse_duration("10d").is_err_and(|e| e.contains("the unknown unit \"d\"")));
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_timeout("0s").is_err());
        assert_eq!(parse_timeout("2s"), Ok(Duration::from_secs(2)));
    }
}
