//! HTTP(S) plumbing shared by every part of the crate that touches a socket (layer 3).
//!
//! - **client** (feature `http-client`): the HTTPS client with STS's fetch rules — one GET
//!   within a time and size limit, no redirect followed, the system's roots plus given CA
//!   bundles, fixed name resolution for tests. The local STS fetches issuers' keys with it,
//!   `setup` checks anonymous reads of the published documents, `doctor` fetches as STS does;
//!   an issuer's keys are read through its discovery document as STS reads them (the local
//!   STS and the agent).
//! - **server** (feature `http-server`): HTTP/1.1 over TCP or TLS with [`ServerLimits`] (body,
//!   header size and count, header-read and TLS-handshake timeouts, a connection cap), accept
//!   errors backed off, a graceful drain on [`RunningServer::shutdown`], and a
//!   [`ReloadingCertificate`] that serves a mounted Secret's new pair without a restart. The
//!   local STS and [`StaticSite`] run on it.

#[cfg(feature = "http-client")]
// Its users (`sts`, `setup`, `doctor`) each take a part; the all-features build, which the
// test command lints, still finds what none of them uses.
#[cfg_attr(
    not(all(feature = "sts", feature = "setup", feature = "doctor")),
    allow(dead_code)
)]
pub(crate) mod client;
#[cfg(feature = "http-client")]
// Read by `sts` and `agent`; the building block alone has no reader of its own.
#[cfg_attr(not(any(feature = "sts", feature = "agent")), allow(dead_code))]
pub(crate) mod issuer_keys;
#[cfg(feature = "http-server")]
pub(crate) mod server;
#[cfg(feature = "http-server")]
mod static_site;
#[cfg(feature = "http-server")]
mod tls;

#[cfg(feature = "http-client")]
pub use client::{CaError, FetchError};
#[cfg(feature = "http-client")]
pub use issuer_keys::KeyFetchError;
#[cfg(feature = "http-server")]
pub use server::{Peer, RunningServer, ServeError, ServerLimits};
#[cfg(feature = "http-server")]
pub use static_site::StaticSite;
#[cfg(feature = "http-server")]
pub use tls::{ReloadingCertificate, TlsError};
