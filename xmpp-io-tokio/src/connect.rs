//! TCP: resolve each candidate host to addresses (system resolver) and try
//! them in order until one accepts. TCP_NODELAY is set on the socket: the
//! core already batches each flush into one write, and Nagle's algorithm
//! would only delay the login's small round trips.

use std::io;

use tokio::net::TcpStream;
use xmpp_proto::adapter::{TcpAttempts, ATTEMPT_TIMEOUT};
use xmpp_proto::connect::Candidate;

use crate::ConnectError;

/// The first candidate address that accepts a TCP connection, with the
/// candidate it belongs to.
pub(crate) async fn tcp(candidates: &[Candidate]) -> Result<(TcpStream, Candidate), ConnectError> {
    let mut tried = TcpAttempts::new();
    for candidate in candidates {
        let target = (candidate.host.as_str(), candidate.port);
        let addresses: Vec<_> = match tokio::net::lookup_host(target).await {
            Ok(a) => a.collect(),
            Err(e) => {
                tracing::debug!(host = %candidate.host, error = %e, "cannot resolve");
                tried.resolve_failed(candidate, e);
                continue;
            }
        };
        for address in addresses {
            let label = tried.start(candidate, address);
            tracing::debug!(target = %label, security = ?candidate.security, "connecting");
            let result = tokio::time::timeout(ATTEMPT_TIMEOUT, TcpStream::connect(address))
                .await
                .unwrap_or_else(|_| {
                    Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))
                });
            match result {
                Ok(stream) => {
                    stream.set_nodelay(true).map_err(ConnectError::Io)?;
                    tracing::info!(target = %label, security = ?candidate.security, "TCP connected");
                    return Ok((stream, candidate.clone()));
                }
                Err(e) => {
                    tracing::debug!(target = %label, error = %e, "TCP connect failed");
                    tried.failed(label, e);
                }
            }
        }
    }
    Err(tried.into_error(candidates))
}
