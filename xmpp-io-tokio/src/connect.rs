//! TCP: resolve each candidate host to addresses (system resolver) and try
//! them in order until one accepts. TCP_NODELAY is set on the socket: the
//! core already batches each flush into one write, and Nagle's algorithm
//! would only delay the login's small round trips.

use std::io;
use std::time::Duration;

use tokio::net::TcpStream;
use xmpp_proto::connect::Candidate;

use crate::ConnectError;

/// The longest one address may take to accept, so that a black-holed
/// address does not eat the whole login timeout.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The first candidate address that accepts a TCP connection, with the
/// candidate it belongs to.
pub(crate) async fn tcp(candidates: &[Candidate]) -> Result<(TcpStream, Candidate), ConnectError> {
    let mut attempts = 0;
    let mut last_tcp: Option<(String, io::Error)> = None;
    let mut last_dns: Option<(String, io::Error)> = None;
    for candidate in candidates {
        let target = (candidate.host.as_str(), candidate.port);
        let addresses: Vec<_> = match tokio::net::lookup_host(target).await {
            Ok(a) => a.collect(),
            Err(e) => {
                tracing::debug!(host = %candidate.host, error = %e, "cannot resolve");
                last_dns = Some((candidate.host.clone(), e));
                continue;
            }
        };
        for address in addresses {
            attempts += 1;
            let label = if candidate.host.parse::<std::net::IpAddr>().is_ok() {
                address.to_string()
            } else {
                format!("{}:{} ({address})", candidate.host, candidate.port)
            };
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
                    last_tcp = Some((label, e));
                }
            }
        }
    }
    match (last_tcp, last_dns) {
        (Some((target, source)), _) => Err(ConnectError::Tcp {
            target,
            attempts,
            source,
        }),
        (None, Some((host, e))) => Err(ConnectError::Dns {
            host,
            reason: e.to_string(),
        }),
        (None, None) => Err(ConnectError::Dns {
            host: candidates
                .first()
                .map(|c| c.host.clone())
                .unwrap_or_default(),
            reason: "no address found".into(),
        }),
    }
}
