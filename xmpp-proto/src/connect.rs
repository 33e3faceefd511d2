//! Where to connect and when to try again: the pure decisions both adapters
//! share. No I/O here: the adapters run the DNS queries, pass the answers
//! in, and pass entropy in as plain numbers.
//!
//! Specifications:
//! * RFC 6120 §3.2 (resolution of a client's server: `_xmpp-client._tcp`
//!   SRV records, fallback to the domain on port 5222 when there are none);
//! * RFC 2782 (SRV: priority ascending, weighted random order within a
//!   priority, a single target of `.` meaning "decidedly not available");
//! * XEP-0368 v1.1 (SRV records for XMPP over TLS: `_xmpps-client._tcp`
//!   targets speak TLS from the first byte; both lists are treated as one,
//!   direct TLS preferred at equal priority);
//! * RFC 6125 / RFC 7590: whatever target is chosen, the certificate is
//!   checked against the JID's domain, never the SRV target (the adapters
//!   do that; nothing here changes the name to verify).
//!
//! ```
//! use xmpp_proto::connect::{candidates, splitmix64, Security, SrvRecord};
//!
//! let direct = [SrvRecord::new(5, 0, 5223, "xmpp.example.com")];
//! let starttls = [SrvRecord::new(5, 0, 5222, "xmpp.example.com"),
//!                 SrvRecord::new(10, 0, 5222, "backup.example.com")];
//! let mut rng = splitmix64(42); // seed from the OS in a real adapter
//! let list = candidates("example.com", &direct, &starttls, &mut rng).unwrap();
//! assert_eq!(list[0].security, Security::DirectTls); // equal priority: direct TLS first
//! assert_eq!((list[1].host.as_str(), list[1].port), ("xmpp.example.com", 5222));
//! assert_eq!(list[2].host, "backup.example.com");
//! ```

use std::time::Duration;

/// The port of RFC 6120 §3.2.2's fallback (`xmpp-client`).
pub const DEFAULT_PORT: u16 = 5222;

/// One SRV resource record (RFC 2782), as the adapter's resolver returned it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SrvRecord {
    /// Lower is tried first.
    pub priority: u16,
    /// Relative weight among records of the same priority.
    pub weight: u16,
    /// The TCP port.
    pub port: u16,
    /// The target host name; `"."` (or the empty name) means "no service".
    pub target: String,
}

impl SrvRecord {
    /// A record; a trailing dot on `target` is kept as given.
    pub fn new(priority: u16, weight: u16, port: u16, target: impl Into<String>) -> Self {
        SrvRecord {
            priority,
            weight,
            port,
            target: target.into(),
        }
    }

    /// True for the RFC 2782 "decidedly not available" target `.`.
    pub fn is_no_service(&self) -> bool {
        matches!(self.target.as_str(), "." | "")
    }
}

/// How the connection to a candidate is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Security {
    /// Plain TCP first, then STARTTLS (RFC 6120 §5): `_xmpp-client._tcp`
    /// targets and the port-5222 fallback.
    StartTls,
    /// TLS from the first byte (XEP-0368): `_xmpps-client._tcp` targets.
    DirectTls,
}

/// A host and port to try, in the order returned by [`candidates`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// The host name to resolve to addresses (an SRV target without its
    /// trailing dot, or the JID's domain for the fallback).
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// Direct TLS or STARTTLS.
    pub security: Security,
}

/// The domain publishes SRV records that say no XMPP client service is
/// available (RFC 2782 target `.`) and nothing else to try.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{domain} says it offers no XMPP client service (SRV target '.')")]
pub struct NoService {
    /// The domain that was resolved.
    pub domain: String,
}

/// What a server's first bytes on a connection look like. A port that
/// expects TLS from the first byte (XEP-0368 direct TLS) and one that
/// expects an XMPP stream in plain text first (RFC 6120 STARTTLS) answer
/// the wrong kind of client differently, so when a connection fails at its
/// very start these bytes tell the two mistakes apart: the core checks
/// them on a plain connection, the adapters after a failed direct-TLS
/// handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Greeting {
    /// A TLS record: the first byte is a TLS record type (20 to 23: change
    /// cipher spec, alert, handshake, application data), a control
    /// character no XML stream begins with.
    Tls,
    /// XML: the first byte that is not whitespace is `<`.
    Xml,
}

/// What `first`, the first bytes a server sent on a connection, look like
/// (see [`Greeting`]); `None` when they are neither TLS nor XML, or too
/// few to tell (nothing, or only whitespace). A single byte is enough for
/// TLS, so the answer does not depend on how the bytes were split into
/// reads.
///
/// ```
/// use xmpp_proto::connect::{greeting, Greeting};
///
/// assert_eq!(greeting(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32]), Some(Greeting::Tls)); // an alert
/// assert_eq!(greeting(b"<?xml version='1.0'?><stream:stream"), Some(Greeting::Xml));
/// assert_eq!(greeting(b"HTTP/1.1 400 Bad Request"), None);
/// ```
pub fn greeting(first: &[u8]) -> Option<Greeting> {
    match first.first()? {
        0x14..=0x17 => Some(Greeting::Tls),
        _ => match first
            .iter()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))?
        {
            b'<' => Some(Greeting::Xml),
            _ => None,
        },
    }
}

/// True when SRV records are not worth asking for: `localhost` (RFC 6761:
/// it never has SRV records worth a DNS query) and IP literals (`[::1]`,
/// `127.0.0.1`). Both adapters skip the lookups for these.
pub fn skips_srv(domain: &str) -> bool {
    let d = domain.trim_end_matches('.');
    d.eq_ignore_ascii_case("localhost")
        || d.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<core::net::IpAddr>()
            .is_ok()
}

/// Keeps only the direct-TLS candidates, for a caller that demands direct
/// TLS: there is no STARTTLS fallback then, only what `_xmpps-client`
/// published. Errs with [`NoService`] when nothing is left.
pub fn direct_tls_only(
    domain: &str,
    mut list: Vec<Candidate>,
) -> Result<Vec<Candidate>, NoService> {
    list.retain(|c| c.security == Security::DirectTls);
    if list.is_empty() {
        return Err(NoService {
            domain: domain.to_string(),
        });
    }
    Ok(list)
}

/// The list of hosts to try for `domain`, in order.
///
/// `direct_tls` holds the `_xmpps-client._tcp.<domain>` records and
/// `starttls` the `_xmpp-client._tcp.<domain>` records; pass an empty
/// slice when a lookup found nothing **or failed** (RFC 6120 §3.2.2: a
/// failed SRV lookup falls back like an empty one). `rng` supplies the
/// RFC 2782 weighted-random choices.
///
/// Rules:
/// * A service whose records are only `.` targets is decidedly not
///   available: it contributes nothing, and a `.` under
///   `_xmpp-client._tcp` also suppresses the port-5222 fallback. Other
///   `.` records among real ones are ignored.
/// * Both lists are one list (XEP-0368): ordered by priority ascending; at
///   equal priority the direct-TLS records come first; within one priority
///   and kind, RFC 2782's weighted random order (zero weights first in the
///   running sum, so they are rarely picked early when others have weight).
/// * No `_xmpp-client._tcp` records at all: the domain itself on port
///   5222 with STARTTLS is appended after any direct-TLS targets.
/// * Duplicate (host, port, security) entries are dropped, keeping the first.
///
/// Errs with [`NoService`] only when the list would be empty.
pub fn candidates(
    domain: &str,
    direct_tls: &[SrvRecord],
    starttls: &[SrvRecord],
    rng: &mut impl FnMut() -> u64,
) -> Result<Vec<Candidate>, NoService> {
    let starttls_refused = !starttls.is_empty() && starttls.iter().all(SrvRecord::is_no_service);
    let mut tagged: Vec<(Security, &SrvRecord)> = direct_tls
        .iter()
        .map(|r| (Security::DirectTls, r))
        .chain(starttls.iter().map(|r| (Security::StartTls, r)))
        .filter(|(_, r)| !r.is_no_service())
        .collect();
    // Priority ascending, then direct TLS first; the sort is stable and the
    // weighted shuffle below reorders each group.
    tagged.sort_by_key(|(sec, r)| (r.priority, *sec == Security::StartTls));

    let mut out: Vec<Candidate> = Vec::with_capacity(tagged.len() + 1);
    let mut start = 0;
    while start < tagged.len() {
        let key = |i: usize| (tagged[i].1.priority, tagged[i].0);
        let mut end = start + 1;
        while end < tagged.len() && key(end) == key(start) {
            end += 1;
        }
        let security = tagged[start].0;
        let group: Vec<&SrvRecord> = tagged[start..end].iter().map(|(_, r)| *r).collect();
        for r in weighted_order(&group, rng) {
            push_unique(
                &mut out,
                Candidate {
                    host: r.target.trim_end_matches('.').to_string(),
                    port: r.port,
                    security,
                },
            );
        }
        start = end;
    }
    if starttls.is_empty() {
        push_unique(
            &mut out,
            Candidate {
                host: domain.trim_end_matches('.').to_string(),
                port: DEFAULT_PORT,
                security: Security::StartTls,
            },
        );
    }
    if out.is_empty() {
        debug_assert!(starttls_refused);
        return Err(NoService {
            domain: domain.to_string(),
        });
    }
    Ok(out)
}

fn push_unique(out: &mut Vec<Candidate>, c: Candidate) {
    if !out.contains(&c) {
        out.push(c);
    }
}

/// RFC 2782's ordering of the records of one priority: repeatedly put the
/// unordered records in a list with the zero weights first, draw a number
/// uniformly in `0..=sum_of_weights`, and take the first record whose
/// running sum reaches it.
pub fn weighted_order<'a>(
    records: &[&'a SrvRecord],
    rng: &mut impl FnMut() -> u64,
) -> Vec<&'a SrvRecord> {
    let mut left: Vec<&SrvRecord> = records.to_vec();
    // Zero weights at the beginning (stable: otherwise in the given order).
    left.sort_by_key(|r| r.weight != 0);
    let mut ordered = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let sum: u64 = left.iter().map(|r| u64::from(r.weight)).sum();
        // At most 65535 * n + 1 values: the modulo bias of a u64 is negligible.
        let pick = rng() % (sum + 1);
        let mut running = 0u64;
        let mut chosen = left.len() - 1;
        for (i, r) in left.iter().enumerate() {
            running += u64::from(r.weight);
            if running >= pick {
                chosen = i;
                break;
            }
        }
        ordered.push(left.remove(chosen));
    }
    ordered
}

/// A small deterministic generator (SplitMix64) from a seed: feed it 8
/// bytes of OS entropy to drive [`candidates`]; tests feed a constant.
pub fn splitmix64(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Exponential backoff with full jitter between reconnection attempts.
///
/// Attempt `n` (1-based) waits a uniformly random time in
/// `0..=min(max, initial × factorⁿ⁻¹)` ("full jitter"): clients that lost
/// their server at the same moment spread out instead of returning
/// together. The randomness is an argument, so the policy stays pure.
///
/// ```
/// use std::time::Duration;
/// use xmpp_proto::connect::Backoff;
///
/// let b = Backoff::default(); // 1 s, doubling, at most 5 min
/// assert_eq!(b.ceiling(1), Duration::from_secs(1));
/// assert_eq!(b.ceiling(4), Duration::from_secs(8));
/// assert_eq!(b.ceiling(40), Duration::from_secs(300));
/// assert!(b.next_delay(4, 0xDEAD_BEEF) <= Duration::from_secs(8));
/// assert_eq!(b.next_delay(4, u64::MAX), Duration::from_secs(8));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first attempt.
    pub initial: Duration,
    /// The largest ceiling.
    pub max: Duration,
    /// How much the ceiling grows per attempt (2 doubles it; 1 keeps it flat).
    pub factor: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
            factor: 2,
        }
    }
}

impl Backoff {
    /// The longest wait before attempt `attempt` (1-based; 0 counts as 1).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let mut ceiling = self.initial.min(self.max);
        for _ in 1..attempt.max(1) {
            if ceiling >= self.max {
                break;
            }
            ceiling = ceiling
                .checked_mul(self.factor)
                .unwrap_or(self.max)
                .min(self.max);
        }
        ceiling
    }

    /// The wait before attempt `attempt`: `entropy / 2⁶⁴` of the
    /// [`ceiling`](Self::ceiling), so 0 gives no wait and `u64::MAX` the
    /// full ceiling. Pass fresh random bits for each attempt.
    pub fn next_delay(&self, attempt: u32, entropy: u64) -> Duration {
        let ceiling = self.ceiling(attempt);
        if entropy == u64::MAX {
            return ceiling;
        }
        // ceiling × entropy / 2⁶⁴ without overflow: the nanoseconds of a
        // Duration fit in 94 bits, so split them at bit 64.
        let nanos = ceiling.as_nanos();
        let (hi, lo) = (nanos >> 64, nanos & u128::from(u64::MAX));
        let e = u128::from(entropy);
        let scaled = hi * e + ((lo * e) >> 64);
        // `scaled <= nanos`, which came from a Duration: it fits.
        Duration::new(
            (scaled / 1_000_000_000) as u64,
            (scaled % 1_000_000_000) as u32,
        )
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn localhost_and_ip_literals_skip_srv() {
        for d in ["localhost", "LOCALHOST.", "127.0.0.1", "[::1]", "::1"] {
            assert!(super::skips_srv(d), "{d}");
        }
        for d in ["example.com", "localhost.example.com"] {
            assert!(!super::skips_srv(d), "{d}");
        }
    }

    #[test]
    fn greetings_tell_tls_from_xml() {
        use super::{greeting, Greeting};
        // A ServerHello and an alert, whole or as their first byte.
        for tls in [
            &[0x16u8, 0x03, 0x03, 0x00, 0x7a][..],
            &[0x15],
            &[0x14],
            &[0x17],
        ] {
            assert_eq!(greeting(tls), Some(Greeting::Tls), "{tls:?}");
        }
        for xml in [&b"<?xml version='1.0'?>"[..], b"<stream:stream", b"\r\n <s"] {
            assert_eq!(greeting(xml), Some(Greeting::Xml), "{xml:?}");
        }
        for neither in [
            &b""[..],
            b"  ",
            b"SSH-2.0-OpenSSH",
            &[0x18, 0x03],
            &[0x80, 0x2e],
        ] {
            assert_eq!(greeting(neither), None, "{neither:?}");
        }
    }

    #[test]
    fn direct_tls_only_drops_starttls_and_fails_when_empty() {
        let c = |security| super::Candidate {
            host: "h".into(),
            port: 1,
            security,
        };
        let kept = super::direct_tls_only(
            "d",
            vec![c(super::Security::StartTls), c(super::Security::DirectTls)],
        );
        assert_eq!(kept.map(|l| l.len()), Ok(1));
        assert!(super::direct_tls_only("d", vec![c(super::Security::StartTls)]).is_err());
    }

    use super::*;

    fn srv(p: u16, w: u16, port: u16, t: &str) -> SrvRecord {
        SrvRecord::new(p, w, port, t)
    }

    fn hosts(list: &[Candidate]) -> Vec<(String, u16, Security)> {
        list.iter()
            .map(|c| (c.host.clone(), c.port, c.security))
            .collect()
    }

    #[test]
    fn no_records_falls_back_to_the_domain_on_5222() {
        let list = candidates("example.com", &[], &[], &mut splitmix64(1)).unwrap();
        assert_eq!(
            hosts(&list),
            [("example.com".into(), 5222, Security::StartTls)]
        );
    }

    #[test]
    fn trailing_dots_are_removed() {
        let list = candidates(
            "example.com.",
            &[],
            &[srv(0, 0, 5222, "xmpp.example.com.")],
            &mut splitmix64(1),
        )
        .unwrap();
        assert_eq!(list[0].host, "xmpp.example.com");
    }

    #[test]
    fn priority_ascending_and_direct_tls_first_at_equal_priority() {
        let direct = [srv(10, 0, 443, "d10"), srv(20, 0, 5223, "d20")];
        let start = [srv(5, 0, 5222, "s5"), srv(10, 0, 5222, "s10")];
        for seed in 0..50 {
            let list = candidates("e.org", &direct, &start, &mut splitmix64(seed)).unwrap();
            let names: Vec<&str> = list.iter().map(|c| c.host.as_str()).collect();
            assert_eq!(names, ["s5", "d10", "s10", "d20"]);
        }
    }

    #[test]
    fn direct_tls_records_do_not_suppress_the_fallback() {
        let list = candidates(
            "e.org",
            &[srv(0, 0, 5223, "tls.e.org")],
            &[],
            &mut splitmix64(3),
        )
        .unwrap();
        assert_eq!(
            hosts(&list),
            [
                ("tls.e.org".into(), 5223, Security::DirectTls),
                ("e.org".into(), 5222, Security::StartTls)
            ]
        );
    }

    #[test]
    fn dot_target_means_decidedly_not_available() {
        let dot = [srv(0, 0, 0, ".")];
        // STARTTLS refused, nothing else: no service, no fallback.
        assert_eq!(
            candidates("e.org", &[], &dot, &mut splitmix64(1)),
            Err(NoService {
                domain: "e.org".into()
            })
        );
        assert_eq!(
            candidates("e.org", &dot, &dot, &mut splitmix64(1)).unwrap_err(),
            NoService {
                domain: "e.org".into()
            }
        );
        // Direct TLS refused: the STARTTLS fallback still applies.
        let list = candidates("e.org", &dot, &[], &mut splitmix64(1)).unwrap();
        assert_eq!(hosts(&list), [("e.org".into(), 5222, Security::StartTls)]);
        // STARTTLS refused but direct TLS offered: direct TLS only.
        let list = candidates("e.org", &[srv(1, 1, 5223, "t")], &dot, &mut splitmix64(1)).unwrap();
        assert_eq!(hosts(&list), [("t".into(), 5223, Security::DirectTls)]);
        // A stray "." among real records is ignored.
        let list = candidates(
            "e.org",
            &[],
            &[srv(0, 0, 0, "."), srv(1, 0, 5222, "x")],
            &mut splitmix64(1),
        )
        .unwrap();
        assert_eq!(hosts(&list), [("x".into(), 5222, Security::StartTls)]);
    }

    #[test]
    fn duplicates_are_dropped() {
        let list = candidates(
            "e.org",
            &[],
            &[srv(0, 0, 5222, "x"), srv(1, 0, 5222, "x.")],
            &mut splitmix64(1),
        )
        .unwrap();
        assert_eq!(list.len(), 1);
    }

    #[test]
    fn weights_are_proportional() {
        // Weights 1, 3 and 6 (and one zero): the first pick should follow
        // 1/10, 3/10, 6/10 (the zero has a 1-in-11 chance of the draw 0).
        let records = [
            srv(0, 0, 1, "zero"),
            srv(0, 1, 1, "one"),
            srv(0, 3, 1, "three"),
            srv(0, 6, 1, "six"),
        ];
        let refs: Vec<&SrvRecord> = records.iter().collect();
        let mut rng = splitmix64(0xC0FFEE);
        let mut first = std::collections::HashMap::new();
        let n = 20_000;
        for _ in 0..n {
            let order = weighted_order(&refs, &mut rng);
            assert_eq!(order.len(), 4);
            *first.entry(order[0].target.clone()).or_insert(0u32) += 1;
        }
        let share = |name: &str| f64::from(first[name]) / f64::from(n);
        assert!((share("zero") - 1.0 / 11.0).abs() < 0.02, "{first:?}");
        assert!((share("one") - 1.0 / 11.0).abs() < 0.02, "{first:?}");
        assert!((share("three") - 3.0 / 11.0).abs() < 0.02, "{first:?}");
        assert!((share("six") - 6.0 / 11.0).abs() < 0.02, "{first:?}");
    }

    #[test]
    fn all_zero_weights_keep_every_record() {
        let records = [srv(0, 0, 1, "a"), srv(0, 0, 2, "b"), srv(0, 0, 3, "c")];
        let refs: Vec<&SrvRecord> = records.iter().collect();
        let mut order: Vec<u16> = weighted_order(&refs, &mut splitmix64(9))
            .iter()
            .map(|r| r.port)
            .collect();
        order.sort();
        assert_eq!(order, [1, 2, 3]);
    }

    #[test]
    fn same_seed_same_order() {
        let start: Vec<SrvRecord> = (0..8).map(|i| srv(0, 10, 5222, &format!("h{i}"))).collect();
        let a = candidates("e", &[], &start, &mut splitmix64(77)).unwrap();
        let b = candidates("e", &[], &start, &mut splitmix64(77)).unwrap();
        assert_eq!(a, b);
        let c = candidates("e", &[], &start, &mut splitmix64(78)).unwrap();
        assert_ne!(
            a, c,
            "another seed should (almost surely) shuffle differently"
        );
    }

    #[test]
    fn backoff_ceiling_grows_and_caps() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            factor: 3,
        };
        let ceilings: Vec<u128> = (0..7).map(|a| b.ceiling(a).as_millis()).collect();
        assert_eq!(ceilings, [100, 100, 300, 900, 1000, 1000, 1000]);
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(1));
        let flat = Backoff { factor: 1, ..b };
        assert_eq!(flat.ceiling(50), Duration::from_millis(100));
        let huge = Backoff {
            initial: Duration::MAX,
            max: Duration::MAX,
            factor: 2,
        };
        assert_eq!(huge.ceiling(3), Duration::MAX);
    }

    #[test]
    fn backoff_full_jitter_stays_in_range() {
        let b = Backoff::default();
        assert_eq!(b.next_delay(3, 0), Duration::ZERO);
        assert_eq!(b.next_delay(3, u64::MAX), Duration::from_secs(4));
        let mut rng = splitmix64(5);
        let mut total = Duration::ZERO;
        for _ in 0..1000 {
            let d = b.next_delay(3, rng());
            assert!(d <= Duration::from_secs(4));
            total += d;
        }
        // The mean of uniform 0..=4 s is 2 s.
        let mean = total.as_secs_f64() / 1000.0;
        assert!((mean - 2.0).abs() < 0.2, "{mean}");
        assert_eq!(
            Backoff {
                initial: Duration::MAX,
                max: Duration::MAX,
                factor: 2
            }
            .next_delay(9, u64::MAX),
            Duration::MAX
        );
    }
}
