//! The integration tests: one crate (one binary to build and link), one module per area, one
//! helpers module. A module whose area needs a feature is compiled with it; `cargo test
//! --all-features` runs them all.

// Tests report failure by panicking; helpers serve several feature sets, so each set leaves
// some of them unused. Real SDKs sign with the real clock, so the servers and tokens they meet
// start from it too (tests are not library code); measurements are printed to stderr.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    clippy::print_stderr
)]

mod helpers;

#[cfg(all(feature = "cli", feature = "agent", feature = "sts", unix))]
mod agent;
mod architecture;
#[cfg(feature = "env")]
mod atomic;
#[cfg(feature = "cli")]
mod cli;
#[cfg(feature = "cli")]
mod cli_human;
#[cfg(feature = "cli")]
mod cli_json;
#[cfg(feature = "cli")]
mod cli_policy;
#[cfg(feature = "cli")]
mod cli_setup;
#[cfg(feature = "doctor")]
mod doctor;
mod k8s_vectors;
mod mint;
#[cfg(feature = "provider")]
mod moto;
mod policy;
mod properties;
#[cfg(feature = "provider")]
mod provider;
#[cfg(all(feature = "provider", unix))]
mod provider_soak;
#[cfg(feature = "sts")]
mod server_limits;
#[cfg(feature = "setup")]
mod setup;
#[cfg(all(feature = "sts", feature = "provider"))]
mod sts;
#[cfg(feature = "sts")]
mod sts_load;
mod token;
#[cfg(feature = "webhook")]
mod webhook;
#[cfg(all(feature = "cli", unix))]
mod webhook_server;
