//! Name resolution: the SRV lookups of RFC 6120 §3.2 and XEP-0368, then the
//! ordering rules of [`xmpp_proto::connect::candidates`] (shared with the
//! Tokio adapter: nothing is decided here). Host names become addresses
//! later, through the system resolver (`getaddrinfo`, which honours
//! `/etc/hosts`), in [`crate::tcp`].
//!
//! ## Why rsdns
//!
//! The system resolver (`getaddrinfo`) cannot answer SRV queries, so a DNS
//! client library is needed, and this adapter is for programs without an
//! async runtime. The candidates were:
//!
//! * `hickory-resolver` (what the Tokio adapter uses): since 0.25 it has no
//!   synchronous API; its futures need a Tokio runtime, which is exactly
//!   what users of this crate do not have (its 0.24 "sync" resolver also
//!   ran a Tokio runtime inside).
//! * `dns-lookup`: `getaddrinfo`/`getnameinfo` only, no SRV.
//! * `c-ares-resolver` (bindings to c-ares, the C resolver of curl and
//!   Node.js): mature, but the C library must come from the system
//!   (`libc-ares-dev`) or be built with autotools or cmake, none of which a
//!   fresh build machine has; every user of this crate would inherit that.
//! * **`rsdns`** (chosen) with **`resolv-conf`**: rsdns is a pure-Rust DNS
//!   client, maintained since 2021 with regular releases, whose `net-std`
//!   client is plain blocking `std::net`: a query over UDP with timeouts
//!   and retransmission, EDNS, and a retry over TCP when the answer is
//!   truncated; it parses SRV records (RFC 2782) and follows CNAME chains.
//!   It asks one server per client, so this module reads the system's
//!   name servers, timeout and attempts from `/etc/resolv.conf` with
//!   `resolv-conf` (the hickory-dns project's parser) and tries them in
//!   order, within the login's deadline. The two SRV queries run at once,
//!   on two scoped threads. Where there is no `/etc/resolv.conf` (Windows),
//!   the lookups are skipped with a warning and the domain itself on port
//!   5222 is tried, as for a domain without SRV records.
//!
//! An explicit host and port ([`ConnectOptions::server`]) skip all of this.
//! So do IP-literal domains and `localhost` (RFC 6761: it never has SRV
//! records worth asking a DNS server for).
//!
//! [`ConnectOptions::server`]: crate::ConnectOptions::server

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rsdns::clients::std::Client;
use rsdns::clients::ClientConfig;
use rsdns::message::RCode;
use rsdns::records::data::Srv;
use rsdns::records::Class;
use xmpp_proto::adapter::driver;
use xmpp_proto::connect::{Candidate, SrvRecord};

use crate::{ConnectError, ConnectOptions, TlsMode};

/// Where the system's resolver configuration lives.
const RESOLV_CONF: &str = "/etc/resolv.conf";

/// The longest one server is given for one try, whatever resolv.conf says.
const MAX_TRY: Duration = Duration::from_secs(5);

/// The hosts to try, in order. The lookups stop waiting at `deadline`.
pub(crate) fn candidates(
    opts: &ConnectOptions,
    deadline: Instant,
) -> Result<Vec<Candidate>, ConnectError> {
    let (direct, starttls) = if driver::wants_srv(opts) {
        lookup_srv(opts.jid().domain().as_str(), opts.mode(), deadline)
    } else {
        (Vec::new(), Vec::new())
    };
    let list = driver::candidates(opts, &direct, &starttls, getrandom::u64().ok())?;
    tracing::debug!(domain = %opts.jid().domain(), candidates = ?list, "resolved");
    Ok(list)
}

/// `(_xmpps-client records, _xmpp-client records)`; a failed or unanswered
/// lookup counts as empty (RFC 6120 §3.2.2 falls back either way).
fn lookup_srv(domain: &str, mode: TlsMode, deadline: Instant) -> (Vec<SrvRecord>, Vec<SrvRecord>) {
    let servers = match name_servers() {
        Ok(servers) => servers,
        Err(e) => {
            tracing::warn!(error = %e, "no DNS resolver configuration; skipping SRV lookups");
            return (Vec::new(), Vec::new());
        }
    };
    let domain = domain.trim_end_matches('.');
    let direct_name = format!("_xmpps-client._tcp.{domain}.");
    let starttls_name = format!("_xmpp-client._tcp.{domain}.");
    let want_direct = mode.wants_direct_tls();
    let want_starttls = mode.wants_starttls();
    std::thread::scope(|scope| {
        let servers = &servers;
        let direct = want_direct.then(|| scope.spawn(|| srv(servers, &direct_name, deadline)));
        let starttls =
            want_starttls.then(|| scope.spawn(|| srv(servers, &starttls_name, deadline)));
        let join = |handle: Option<std::thread::ScopedJoinHandle<'_, Vec<SrvRecord>>>| {
            handle.and_then(|h| h.join().ok()).unwrap_or_default()
        };
        (join(direct), join(starttls))
    })
}

/// The system's name servers, with the time to give each and how many
/// rounds to make.
struct NameServers {
    addresses: Vec<SocketAddr>,
    per_try: Duration,
    attempts: u32,
}

fn name_servers() -> std::io::Result<NameServers> {
    let text = std::fs::read(RESOLV_CONF)?;
    let config = resolv_conf::Config::parse(&text).map_err(std::io::Error::other)?;
    let addresses = config
        .get_nameservers_or_local()
        .iter()
        .map(|ip| SocketAddr::new(IpAddr::from(ip), 53))
        .collect();
    Ok(NameServers {
        addresses,
        per_try: Duration::from_secs(config.timeout.max(1).into()).min(MAX_TRY),
        attempts: config.attempts.clamp(1, 5),
    })
}

/// The SRV records of `name`. An answer that there are none (NXDOMAIN, no
/// data) ends the search; a server that fails or does not answer passes
/// the question to the next one.
fn srv(servers: &NameServers, name: &str, deadline: Instant) -> Vec<SrvRecord> {
    for _round in 0..servers.attempts {
        for &server in &servers.addresses {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::warn!(%name, "SRV lookup out of time; falling back");
                return Vec::new();
            }
            let per_try = servers.per_try.min(left);
            let config = ClientConfig::with_nameserver(server)
                .set_query_lifetime(per_try)
                .set_query_timeout(Some(per_try));
            let answer =
                Client::new(config).and_then(|mut c| c.query_rrset::<Srv>(name, Class::IN));
            match answer {
                Ok(set) => {
                    return set
                        .rdata
                        .iter()
                        .map(|r| SrvRecord::new(r.priority, r.weight, r.port, r.target.as_str()))
                        .collect()
                }
                Err(rsdns::Error::NoAnswer)
                | Err(rsdns::Error::BadResponseCode(RCode::NXDOMAIN)) => {
                    tracing::debug!(%name, "no SRV records");
                    return Vec::new();
                }
                Err(e) => tracing::debug!(%name, %server, error = %e, "SRV query failed"),
            }
        }
    }
    tracing::warn!(%name, "SRV lookup failed on every name server; falling back");
    Vec::new()
}
