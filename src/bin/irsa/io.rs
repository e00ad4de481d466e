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

/// A duration as Go writes one, for flags that keep Go tools' syntax: a whole number with a
/// unit (`500ms`, `10s`, `2m`, `1h`); a bare number is seconds.
pub(crate) fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    use std::time::Duration;
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let fix = "write a whole number with a unit: 500ms, 10s, 2m, 1h";
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration; {fix}"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "" | "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        "h" => Duration::from_secs(number.saturating_mul(3600)),
        _ => return Err(format!("{text:?} has the unknown unit {unit:?}; {fix}")),
    };
    Ok(duration)
}

#[cfg(test)]
mod duration_tests {
    use std::time::Duration;

    use super::parse_duration;

    #[test]
    fn go_style_durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(
            parse_duration("1.5s"),
            Err("\"1.5s\" has the unknown unit \".5s\"; write a whole number with a unit: 500ms, 10s, 2m, 1h".to_owned())
        );
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("").is_err());
    }
}
