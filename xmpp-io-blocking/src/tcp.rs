//! TCP: resolve each candidate host to addresses (the system resolver,
//! `getaddrinfo`) and try them in order until one accepts. TCP_NODELAY is
//! set on the socket: the core already batches each flush into one write,
//! and Nagle's algorithm would only delay the login's small round trips.

use std::io;
use std::net::{IpAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use xmpp_proto::connect::Candidate;

use crate::ConnectError;

/// The longest one address may take to accept, so that a black-holed
/// address does not eat the whole login timeout.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The first candidate address that accepts a TCP connection before
/// `deadline`, with the candidate it belongs to.
pub(crate) fn connect(
    candidates: &[Candidate],
    deadline: Instant,
) -> Result<(TcpStream, Candidate), ConnectError> {
    let mut attempts = 0;
    let mut last_tcp: Option<(String, io::Error)> = None;
    let mut last_dns: Option<(String, io::Error)> = None;
    for candidate in candidates {
        let target = (candidate.host.as_str(), candidate.port);
        let addresses: Vec<_> = match target.to_socket_addrs() {
            Ok(a) => a.collect(),
            Err(e) => {
                tracing::debug!(host = %candidate.host, error = %e, "cannot resolve");
                last_dns = Some((candidate.host.clone(), e));
                continue;
            }
        };
        for address in addresses {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let e = io::Error::new(io::ErrorKind::TimedOut, "out of time for the login");
                return Err(ConnectError::Tcp {
                    target: format!("{}:{}", candidate.host, candidate.port),
                    attempts,
                    source: e,
                });
            }
            attempts += 1;
            let label = if candidate.host.parse::<IpAddr>().is_ok() {
                address.to_string()
            } else {
                format!("{}:{} ({address})", candidate.host, candidate.port)
            };
            tracing::debug!(target = %label, security = ?candidate.security, "connecting");
            match TcpStream::connect_timeout(&address, left.min(ATTEMPT_TIMEOUT)) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use xmpp_proto::connect::Security;

    #[test]
    fn refused_is_a_typed_tcp_error_with_the_address() {
        // Bind, learn the port, close: nothing listens there any more.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let c = Candidate {
            host: "127.0.0.1".into(),
            port,
            security: Security::StartTls,
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        match connect(&[c], deadline) {
            Err(ConnectError::Tcp {
                target, attempts, ..
            }) => {
                assert_eq!(target, format!("127.0.0.1:{port}"));
                assert_eq!(attempts, 1);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nodelay_is_set() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = Candidate {
            host: "127.0.0.1".into(),
            port: l.local_addr().unwrap().port(),
            security: Security::DirectTls,
        };
        let (s, chosen) = connect(
            std::slice::from_ref(&c),
            Instant::now() + Duration::from_secs(5),
        )
        .unwrap();
        assert!(s.nodelay().unwrap());
        assert_eq!(chosen, c);
    }
}
