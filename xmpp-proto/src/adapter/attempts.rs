//! The bookkeeping of the TCP connection loop both adapters run: every
//! candidate host resolved to addresses (by the system resolver), every
//! address tried in order until one accepts. The adapter does the I/O and
//! reports each step here; this turns the failures into one typed error.

use core::net::{IpAddr, SocketAddr};
use std::fmt::Display;
use std::io;
use std::time::Duration;

use crate::connect::Candidate;

use super::ConnectError;

/// The longest one address may take to accept, so that a black-holed
/// address does not eat the whole login timeout.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the TCP connection loop has tried so far.
#[derive(Debug, Default)]
pub struct TcpAttempts {
    attempts: usize,
    last_tcp: Option<(String, io::Error)>,
    last_dns: Option<(String, String)>,
}

impl TcpAttempts {
    /// Nothing tried yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `candidate`'s host could not be resolved to addresses.
    pub fn resolve_failed(&mut self, candidate: &Candidate, error: impl Display) {
        self.last_dns = Some((candidate.host.clone(), error.to_string()));
    }

    /// The addresses `candidate`'s host resolved to; none, with the
    /// failure recorded, when the resolution failed.
    pub fn addresses<I>(
        &mut self,
        candidate: &Candidate,
        resolved: io::Result<I>,
    ) -> Vec<SocketAddr>
    where
        I: IntoIterator<Item = SocketAddr>,
    {
        match resolved {
            Ok(addresses) => addresses.into_iter().collect(),
            Err(e) => {
                self.resolve_failed(candidate, e);
                Vec::new()
            }
        }
    }

    /// Counts an attempt on `address` of `candidate`; returns its label for
    /// logs and errors: the address for an IP-literal host, else
    /// `host:port (address)`.
    pub fn start(&mut self, candidate: &Candidate, address: SocketAddr) -> String {
        self.attempts += 1;
        if candidate.host.parse::<IpAddr>().is_ok() {
            address.to_string()
        } else {
            format!("{}:{} ({address})", candidate.host, candidate.port)
        }
    }

    /// The attempt labelled `label` failed with `error`.
    pub fn failed(&mut self, label: String, error: io::Error) {
        self.last_tcp = Some((label, error));
    }

    /// The outcome of the attempt labelled `label`: the stream when it
    /// connected, else `None` with the failure recorded.
    pub fn outcome<S>(&mut self, label: &str, result: io::Result<S>) -> Option<S> {
        match result {
            Ok(stream) => Some(stream),
            Err(error) => {
                self.failed(label.to_string(), error);
                None
            }
        }
    }

    /// The error for a loop that ran out of time before trying `candidate`
    /// (the time left for the login is gone).
    pub fn out_of_time(self, candidate: &Candidate) -> ConnectError {
        ConnectError::Tcp {
            target: format!("{}:{}", candidate.host, candidate.port),
            attempts: self.attempts,
            source: io::Error::new(io::ErrorKind::TimedOut, "out of time for the login"),
        }
    }

    /// The error for a loop that tried every candidate of `candidates` in
    /// vain: the last TCP failure, else the last resolution failure.
    pub fn into_error(self, candidates: &[Candidate]) -> ConnectError {
        match (self.last_tcp, self.last_dns) {
            (Some((target, source)), _) => ConnectError::Tcp {
                target,
                attempts: self.attempts,
                source,
            },
            (None, Some((host, reason))) => ConnectError::Dns { host, reason },
            (None, None) => ConnectError::Dns {
                host: candidates
                    .first()
                    .map(|c| c.host.clone())
                    .unwrap_or_default(),
                reason: "no address found".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::Security;

    fn candidate(host: &str) -> Candidate {
        Candidate {
            host: host.into(),
            port: 5222,
            security: Security::StartTls,
        }
    }

    #[test]
    fn labels_name_the_host_unless_it_is_an_address() {
        let mut t = TcpAttempts::new();
        let addr: SocketAddr = "127.0.0.1:5222".parse().unwrap();
        assert_eq!(t.start(&candidate("127.0.0.1"), addr), "127.0.0.1:5222");
        assert_eq!(
            t.start(&candidate("xmpp.example"), addr),
            "xmpp.example:5222 (127.0.0.1:5222)"
        );
    }

    #[test]
    fn the_last_tcp_failure_wins_over_a_resolution_failure() {
        let list = [candidate("a.example"), candidate("b.example")];
        let mut t = TcpAttempts::new();
        t.resolve_failed(&list[0], "NXDOMAIN");
        let label = t.start(&list[1], "10.0.0.1:5222".parse().unwrap());
        t.failed(label, io::Error::from(io::ErrorKind::ConnectionRefused));
        match t.into_error(&list) {
            ConnectError::Tcp {
                target,
                attempts,
                source,
            } => {
                assert_eq!(target, "b.example:5222 (10.0.0.1:5222)");
                assert_eq!(attempts, 1);
                assert_eq!(source.kind(), io::ErrorKind::ConnectionRefused);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_resolution_failures_give_a_dns_error() {
        let list = [candidate("a.example")];
        let mut t = TcpAttempts::new();
        t.resolve_failed(&list[0], "NXDOMAIN");
        assert!(
            matches!(t.into_error(&list), ConnectError::Dns { host, reason } if host == "a.example" && reason == "NXDOMAIN")
        );
        assert!(
            matches!(TcpAttempts::new().into_error(&list), ConnectError::Dns { reason, .. } if reason == "no address found")
        );
    }
}
