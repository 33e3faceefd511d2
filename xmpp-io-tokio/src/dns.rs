//! Name resolution: the SRV lookups of RFC 6120 §3.2 and XEP-0368 through
//! `hickory-resolver` (the system's resolver cannot answer SRV queries),
//! then the ordering rules of [`xmpp_proto::connect::candidates`]. Host
//! names are turned into addresses later, by the system resolver
//! (`getaddrinfo`, which honours `/etc/hosts`), in [`crate::connect`](mod@crate::connect).
//!
//! An explicit host and port ([`ConnectOptions::server`]) skip all of this.
//! So do IP-literal domains and `localhost` (RFC 6761: it never has SRV
//! records worth asking a DNS server for).

use hickory_resolver::proto::rr::RData;
use hickory_resolver::TokioResolver;
use xmpp_proto::adapter::driver;
use xmpp_proto::connect::{Candidate, SrvRecord};

use crate::{ConnectError, ConnectOptions, TlsMode};

/// The hosts to try, in order.
pub(crate) async fn candidates(opts: &ConnectOptions) -> Result<Vec<Candidate>, ConnectError> {
    let (direct, starttls) = if driver::wants_srv(opts) {
        lookup_srv(opts.jid().domain().as_str(), opts.mode()).await
    } else {
        (Vec::new(), Vec::new())
    };
    let list = driver::candidates(opts, &direct, &starttls, getrandom::u64().ok())?;
    tracing::debug!(domain = %opts.jid().domain(), candidates = ?list, "resolved");
    Ok(list)
}

/// `(_xmpps-client records, _xmpp-client records)`; a failed lookup counts
/// as empty (RFC 6120 §3.2.2 falls back either way).
async fn lookup_srv(domain: &str, mode: TlsMode) -> (Vec<SrvRecord>, Vec<SrvRecord>) {
    let resolver = match TokioResolver::builder_tokio().and_then(|b| b.build()) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "no DNS resolver configuration; skipping SRV lookups");
            return (Vec::new(), Vec::new());
        }
    };
    let want_direct = mode.wants_direct_tls();
    let want_starttls = mode.wants_starttls();
    let direct_name = format!("_xmpps-client._tcp.{domain}.");
    let starttls_name = format!("_xmpp-client._tcp.{domain}.");
    let (direct, starttls) = tokio::join!(
        async {
            if want_direct {
                srv(&resolver, &direct_name).await
            } else {
                Vec::new()
            }
        },
        async {
            if want_starttls {
                srv(&resolver, &starttls_name).await
            } else {
                Vec::new()
            }
        },
    );
    (direct, starttls)
}

async fn srv(resolver: &TokioResolver, name: &str) -> Vec<SrvRecord> {
    match resolver.srv_lookup(name).await {
        Ok(lookup) => lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::SRV(srv) => Some(SrvRecord::new(
                    srv.priority,
                    srv.weight,
                    srv.port,
                    srv.target.to_ascii(),
                )),
                _ => None,
            })
            .collect(),
        Err(e) if e.is_no_records_found() => {
            tracing::debug!(%name, "no SRV records");
            Vec::new()
        }
        Err(e) => {
            tracing::warn!(%name, error = %e, "SRV lookup failed; falling back");
            Vec::new()
        }
    }
}
