//! `irsa sts serve`: the local STS that judges as AWS does, for tests, CI and local clusters.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use irsa::http::ServerLimits;
use irsa::sts::{ConfigFile, Sts};

use crate::io::CliError;
use crate::render::Report;

/// Arguments of `irsa sts`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Serve AssumeRoleWithWebIdentity (judged: token, provider, trust policy) and
    /// GetCallerIdentity (SigV4 by the credentials it issued) until SIGTERM or SIGINT.
    ///
    /// The first line on stdout is `listening on http://ADDR`; point SDKs at it with
    /// AWS_ENDPOINT_URL_STS. Each refusal is logged on stderr with its reason.
    Serve(ServeArgs),
}

/// Arguments of `irsa sts serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// The configuration (YAML or JSON): account, providers, roles, faults; file names in it
    /// are relative to it.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The address to listen on; port 0 picks a free one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    limits: LimitArgs,
}

/// What one client may ask of the server: each limit has a flag.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Server limits")]
pub(crate) struct LimitArgs {
    /// The largest request body, 1024 to 262144 (STS's largest request fits in 256 KiB); a
    /// larger one is answered 413 before it is read.
    #[arg(long, value_name = "BYTES", default_value_t = irsa::sts::MAX_QUERY_BYTES,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1024..=irsa::sts::MAX_QUERY_BYTES as u64))]
    max_body_bytes: usize,
    /// The largest request head (request line and headers), 8192 to 1048576; more is answered
    /// 431.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(8192..=1024 * 1024))]
    max_header_bytes: usize,
    /// The most headers in one request, 8 to 1024; more is answered 431.
    #[arg(long, value_name = "COUNT", default_value_t = 64,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(8..=1024))]
    max_headers: usize,
    /// Time to send a request's headers, counted from the accept (or the end of the last
    /// answer on a kept-alive connection): so also the longest idle keep-alive. Go's syntax:
    /// `10s`, `500ms`, `1m30s`.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::io::parse_timeout)]
    header_timeout: Duration,
    /// Time to send a request's body once its headers are in; then 408.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::io::parse_timeout)]
    body_timeout: Duration,
    /// The most connections served at once (at least 1); further ones wait in the listen queue.
    #[arg(long, value_name = "COUNT", default_value_t = 4096,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    max_connections: usize,
}

impl LimitArgs {
    fn limits(&self) -> ServerLimits {
        ServerLimits::default()
            .max_body_bytes(self.max_body_bytes)
            .max_header_bytes(self.max_header_bytes)
            .max_headers(self.max_headers)
            .header_read_timeout(self.header_timeout)
            .body_read_timeout(self.body_timeout)
            .max_connections(self.max_connections)
    }
}

pub(crate) fn run(args: Args, json: bool) -> Result<Report, CliError> {
    let Command::Serve(args) = args.command;
    let flag = format!("--config {}", args.config.display());
    let config = ConfigFile::load(&args.config).map_err(|e| CliError::input(flag.clone(), e))?;
    let mut builder = Sts::builder(config.registry).limits(args.limits.limits());
    if let Some(faults) = config.faults {
        builder = builder.faults(faults);
    }
    let sts = builder.build().map_err(|e| CliError::input(flag, e))?;
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::input("--listen", e))?;
    runtime.block_on(async {
        let server = sts
            .serve(args.listen)
            .await
            .map_err(|e| CliError::input(format!("--listen {}", args.listen), e))?;
        if json {
            println!("{{\"endpoint_url\":\"{}\"}}", server.endpoint_url());
        } else {
            println!("listening on {}", server.endpoint_url());
        }
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        stop_signal().await;
        server.shutdown().await;
        Ok(Report {
            human: String::new(),
            json: String::new(),
            refused: false,
        })
    })
}

pub(crate) async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
