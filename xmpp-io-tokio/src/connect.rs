//! TCP: resolve each candidate host to addresses (system resolver) and try
//! them in order until one accepts. TCP_NODELAY is set on the socket: the
//! core already batches each flush into one write, and Nagle's algorithm
//! would only delay the login's small round trips.

use std::io;

use tokio::net::TcpStream;
use xmpp_proto::adapter::driver::{TcpAttempts, ATTEMPT_TIMEOUT};
use xmpp_proto::connect::Candidate;

use crate::ConnectError;

/// The first candidate address that accepts a TCP connection, with the
/// candidate it belongs to.
pub(crate) async fn tcp(candidates: &[Candidate]) -> Result<(TcpStream, Candidate), ConnectError> {
    let mut tried = TcpAttempts::new();
    for candidate in candidates {
        let target = (candidate.host.as_str(), candidate.port);
        // Collected to be logged (the resolver's iterator is not `Debug`).
        let resolved = tokio::net::lookup_host(target).await.map(Vec::from_iter);
        tracing::debug!(host = %candidate.host, ?resolved, "resolved");
        for address in tried.addresses(candidate, resolved) {
            let label = tried.start(candidate, address);
            let result = tokio::time::timeout(ATTEMPT_TIMEOUT, TcpStream::connect(address))
                .await
                .unwrap_or_else(|_| {
                    Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))
                });
            tracing::debug!(target = %label, security = ?candidate.security, ?result, "TCP connect");
            if let Some(stream) = tried.outcome(&label, result) {
                stream.set_nodelay(true).map_err(ConnectError::Io)?;
                return Ok((stream, candidate.clone()));
            }
        }
    }
    Err(tried.into_error(candidates))
}
