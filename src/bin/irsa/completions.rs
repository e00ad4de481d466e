//! `irsa completions SHELL` and `irsa man`: generated from the same definitions as the parser,
//! so they cannot drift from it.

use std::path::PathBuf;

use clap::CommandFactory as _;

use crate::Cli;
use crate::io::CliError;
use crate::render::Report;

/// Arguments of `irsa completions`.
#[derive(Debug, clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell or elvish.
    #[arg(value_enum, value_name = "SHELL")]
    shell: clap_complete::Shell,
}

/// Arguments of `irsa man`.
#[derive(Debug, clap::Args)]
pub(crate) struct ManArgs {
    /// Write irsa.1 and one irsa-SUBCOMMAND.1 per subcommand into DIR instead of printing
    /// irsa.1.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// The completion script, printed as is whatever `-o` says.
pub(crate) fn completions(args: &CompletionsArgs) -> Result<Report, CliError> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "irsa", &mut script);
    let script = String::from_utf8(script)
        .map_err(|e| CliError::input("irsa completions", e.to_string()))?;
    Ok(verbatim(script))
}

/// The man page (roff), or the pages written into `--out`.
pub(crate) fn man(args: &ManArgs) -> Result<Report, CliError> {
    let command = Cli::command();
    if let Some(dir) = &args.out {
        let fail = |e: std::io::Error| {
            CliError::input(
                format!("--out {}", dir.display()),
                format!("cannot write ({e})"),
            )
        };
        std::fs::create_dir_all(dir).map_err(fail)?;
        clap_mangen::generate_to(command, dir).map_err(fail)?;
        let written = format!("wrote the man pages into {}", dir.display());
        return Ok(Report {
            human: format!("{written}\n"),
            json: serde_json::json!({ "written": dir }).to_string(),
            refused: false,
        });
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .map_err(|e| CliError::input("irsa man", e.to_string()))?;
    let page = String::from_utf8(page).map_err(|e| CliError::input("irsa man", e.to_string()))?;
    Ok(verbatim(page))
}

/// Output that is the same in both formats and ends with its own newline.
fn verbatim(text: String) -> Report {
    Report {
        json: text.strip_suffix('\n').unwrap_or(&text).to_owned(),
        human: text,
        refused: false,
    }
}
