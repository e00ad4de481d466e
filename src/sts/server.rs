//! The local STS on a socket, through the shared server plumbing.

use std::net::SocketAddr;
use std::sync::Arc;

use super::service::Sts;
use crate::http::server::{Handler, RunningServer, ServeError, spawn};

impl Sts {
    /// Serves this STS on `addr` (e.g. `127.0.0.1:0` for a free port) over plain HTTP.
    pub async fn serve(self, addr: SocketAddr) -> Result<RunningServer, ServeError> {
        let limits = self.limits();
        spawn(addr, None, limits, self.handler()).await
    }

    /// Serves this STS on `addr` over TLS with `config` (certificate and key of your choice;
    /// [`crate::http::ReloadingCertificate`] reloads them from files).
    pub async fn serve_tls(
        self,
        addr: SocketAddr,
        config: Arc<rustls::ServerConfig>,
    ) -> Result<RunningServer, ServeError> {
        let limits = self.limits();
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        spawn(addr, Some(acceptor), limits, self.handler()).await
    }

    fn handler(self) -> Handler {
        Arc::new(move |request, peer| {
            let sts = self.clone();
            Box::pin(async move { sts.handle(request, peer).await })
        })
    }
}
