//! TCP: resolve each candidate host to addresses (the system resolver,
//! `getaddrinfo`) and try them in order until one accepts. TCP_NODELAY is
//! set on the socket: the core already batches each flush into one write,
//! and Nagle's algorithm would only delay the login's small round trips.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant;

use xmpp_proto::adapter::driver::{TcpAttempts, ATTEMPT_TIMEOUT};
use xmpp_proto::connect::Candidate;

use crate::ConnectError;

/// The first candidate address that accepts a TCP connection before
/// `deadline`, with the candidate it belongs to.
pub(crate) fn connect(
    candidates: &[Candidate],
    deadline: Instant,
) -> Result<(TcpStream, Candidate), ConnectError> {
    let mut tried = TcpAttempts::new();
    for candidate in candidates {
        let resolved = (candidate.host.as_str(), candidate.port).to_socket_addrs();
        tracing::debug!(host = %candidate.host, ?resolved, "resolved");
        for address in tried.addresses(candidate, resolved) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(tried.out_of_time(candidate));
            }
            let label = tried.start(candidate, address);
            let result = TcpStream::connect_timeout(&address, left.min(ATTEMPT_TIMEOUT));
            tracing::debug!(target = %label, security = ?candidate.security, ?result, "TCP connect");
            if let Some(stream) = tried.outcome(&label, result) {
                stream.set_nodelay(true).map_err(ConnectError::Io)?;
                return Ok((stream, candidate.clone()));
            }
        }
    }
    Err(tried.into_error(candidates))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
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
