//! Mechanism names, policy, and mechanism / channel-binding selection:
//! RFC 6120 §6.3.3 (client picks the strongest offered mechanism), RFC 5802
//! §6 (GS2 `n` / `y` / `p=` semantics), RFC 7677 (SCRAM-SHA-256), RFC 4616
//! (PLAIN), XEP-0440 (advertised channel-binding types) and XEP-0474 §6
//! (business rule 6: continue with `n` when no advertised type is usable).

use std::fmt;

use super::channel_binding::{ChannelBinding, ChannelBindingType, Gs2Flag};
use super::error::SaslError;

/// A SASL mechanism this client implements.
///
/// `Ord` is strength: `a < b` means `a` is stronger, so sorting ascending
/// puts the strongest mechanism first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mechanism {
    /// `SCRAM-SHA-256-PLUS` (RFC 7677, with channel binding).
    ScramSha256Plus,
    /// `SCRAM-SHA-1-PLUS` (RFC 5802, with channel binding).
    ScramSha1Plus,
    /// `SCRAM-SHA-256` (RFC 7677).
    ScramSha256,
    /// `SCRAM-SHA-1` (RFC 5802).
    ScramSha1,
    /// `PLAIN` (RFC 4616): the password itself, protected only by TLS.
    Plain,
}

impl Mechanism {
    /// Every mechanism, strongest first.
    pub const ALL: [Mechanism; 5] = [
        Mechanism::ScramSha256Plus,
        Mechanism::ScramSha1Plus,
        Mechanism::ScramSha256,
        Mechanism::ScramSha1,
        Mechanism::Plain,
    ];

    /// The IANA-registered name, as sent in `<auth mechanism='...'>`.
    pub fn name(&self) -> &'static str {
        match self {
            Mechanism::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
            Mechanism::ScramSha1Plus => "SCRAM-SHA-1-PLUS",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::Plain => "PLAIN",
        }
    }

    /// Parses an offered name (exact match: SASL names are upper case).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether this is a channel-binding (`-PLUS`) mechanism.
    pub fn is_plus(&self) -> bool {
        matches!(self, Mechanism::ScramSha256Plus | Mechanism::ScramSha1Plus)
    }

    /// The SCRAM hash function, or `None` for PLAIN.
    pub fn scram_hash(&self) -> Option<ScramHash> {
        match self {
            Mechanism::ScramSha256Plus | Mechanism::ScramSha256 => Some(ScramHash::Sha256),
            Mechanism::ScramSha1Plus | Mechanism::ScramSha1 => Some(ScramHash::Sha1),
            Mechanism::Plain => None,
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The hash function of a SCRAM mechanism family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramHash {
    /// SHA-1 (SCRAM-SHA-1, SCRAM-SHA-1-PLUS): 20-byte keys.
    Sha1,
    /// SHA-256 (SCRAM-SHA-256, SCRAM-SHA-256-PLUS): 32-byte keys.
    Sha256,
}

impl ScramHash {
    /// Output (and key) length in bytes.
    pub fn output_len(&self) -> usize {
        match self {
            ScramHash::Sha1 => 20,
            ScramHash::Sha256 => 32,
        }
    }
}

/// What the application allows for authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslPolicy {
    /// Mechanisms that may be used (default: all five). Remove
    /// [`Mechanism::Plain`] once an account has logged in with SCRAM
    /// (XEP-0474 §6 asks clients to pin that fact).
    pub allowed: Vec<Mechanism>,
    /// Fewest PBKDF2 iterations accepted from the server (default 4096,
    /// the RFC 7677 §4 minimum).
    pub min_iterations: u32,
    /// Most PBKDF2 iterations accepted from the server (default 600 000):
    /// a bound on the CPU a hostile server can make us burn.
    pub max_iterations: u32,
    /// Whether PLAIN may be used on a stream without TLS (default `false`).
    pub allow_plain_without_tls: bool,
    /// Whether a failed `-PLUS` attempt whose binding type was a guess (the
    /// server advertised no XEP-0440 types) may be retried once without
    /// channel binding (default `true`; see the module docs for the
    /// trade-off). `false` makes that failure final.
    pub allow_cb_fallback: bool,
}

impl Default for SaslPolicy {
    fn default() -> Self {
        SaslPolicy {
            allowed: Mechanism::ALL.to_vec(),
            min_iterations: 4096,
            max_iterations: 600_000,
            allow_plain_without_tls: false,
            allow_cb_fallback: true,
        }
    }
}

/// What the server offered: the `<mechanism/>` names of `<mechanisms/>`
/// (RFC 6120 §6.4.1), and the `type`s of XEP-0440 `<sasl-channel-binding/>`.
///
/// Give the names exactly as received (whitespace trimmed), including the
/// ones this client does not implement: XEP-0474 hashes the whole list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Offer {
    /// Offered SASL mechanism names, in any order.
    pub mechanisms: Vec<String>,
    /// Advertised channel-binding types; `None` when the server sent no
    /// `<sasl-channel-binding/>` feature at all.
    pub cb_types: Option<Vec<String>>,
}

impl Offer {
    /// Builds an offer from string slices.
    pub fn new<M: AsRef<str>>(mechanisms: &[M], cb_types: Option<&[M]>) -> Self {
        let own = |list: &[M]| list.iter().map(|s| s.as_ref().to_owned()).collect();
        Offer {
            mechanisms: own(mechanisms),
            cb_types: cb_types.map(own),
        }
    }

    fn offers_any_plus(&self) -> bool {
        self.mechanisms.iter().any(|m| m.ends_with("-PLUS"))
    }
}

/// The outcome of [`select`]: what to authenticate with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    /// The mechanism to use.
    pub mechanism: Mechanism,
    /// The GS2 channel-binding flag (always [`Gs2Flag::N`] for PLAIN).
    pub gs2: Gs2Flag,
    /// `true` when the server offered `-PLUS` without advertising its
    /// channel-binding types (no XEP-0440) and the type in `gs2` is our guess.
    /// Only then may a failed attempt be retried once with `avoid_plus`.
    pub cb_guessed: bool,
    /// Whether the stream was TLS-protected when [`select`] ran;
    /// [`SaslClient::new`](super::SaslClient::new) refuses PLAIN without it
    /// (unless policy allows).
    pub tls: bool,
}

/// Chooses the mechanism and the GS2 channel-binding flag.
///
/// Mechanisms are tried strongest first (SCRAM-SHA-256-PLUS,
/// SCRAM-SHA-1-PLUS, SCRAM-SHA-256, SCRAM-SHA-1, PLAIN), limited to those
/// both offered and in `policy.allowed`. PLAIN is skipped without TLS unless
/// `policy.allow_plain_without_tls`.
///
/// A `-PLUS` mechanism is chosen only with TLS and non-empty `cb` data whose
/// type the server advertised (XEP-0440). If the server advertised no types
/// at all, our type is guessed and [`Selection::cb_guessed`] is set (the
/// driver has one `cb` per connection: `tls-exporter` on TLS 1.3,
/// `tls-unique` on TLS 1.2).
///
/// The GS2 flag of a non-PLUS SCRAM choice is:
/// * `n` without usable binding data (none, empty, or no TLS);
/// * `y` with binding data when the server offers no `-PLUS` mechanism (any
///   name ending in `-PLUS`);
/// * `n` with binding data when the server does offer `-PLUS` but we will
///   not use it: its advertised types exclude ours (XEP-0474 §6 rule 6),
///   policy forbids `-PLUS`, or this is the `avoid_plus` retry after a
///   refused guess (no binding type both sides have is known). Sending `y`
///   there would make a compliant server fail the exchange (RFC 5802 §6).
///
/// `avoid_plus` (the XEP-0440 fallback) skips `-PLUS` mechanisms, but only
/// when our type would be a guess: if the server advertised our type,
/// binding is known to be possible and `avoid_plus` is ignored.
pub fn select(
    offer: &Offer,
    tls: bool,
    cb: Option<&ChannelBinding>,
    policy: &SaslPolicy,
    avoid_plus: bool,
) -> Result<Selection, SaslError> {
    let cb = cb.filter(|c| tls && !c.data.is_empty());
    let usable_kind: Option<(ChannelBindingType, bool)> = cb.and_then(|c| match &offer.cb_types {
        Some(types) => types
            .iter()
            .any(|t| t == c.kind.name())
            .then_some((c.kind, false)),
        None => Some((c.kind, true)),
    });
    let avoid_plus = avoid_plus && !matches!(usable_kind, Some((_, false)));

    for mechanism in Mechanism::ALL {
        let offered = offer.mechanisms.iter().any(|n| n == mechanism.name());
        if !offered || !policy.allowed.contains(&mechanism) {
            continue;
        }
        if mechanism.is_plus() {
            match usable_kind {
                Some((kind, guessed)) if !avoid_plus => {
                    return Ok(Selection {
                        mechanism,
                        gs2: Gs2Flag::P(kind),
                        cb_guessed: guessed,
                        tls,
                    });
                }
                _ => continue,
            }
        }
        if mechanism == Mechanism::Plain && !tls && !policy.allow_plain_without_tls {
            continue;
        }
        let gs2 = match cb {
            _ if mechanism == Mechanism::Plain => Gs2Flag::N,
            None => Gs2Flag::N,
            Some(_) if !avoid_plus && !offer.offers_any_plus() => Gs2Flag::Y,
            Some(_) => Gs2Flag::N,
        };
        return Ok(Selection {
            mechanism,
            gs2,
            cb_guessed: false,
            tls,
        });
    }
    Err(SaslError::NoAcceptableMechanism {
        offered: offer.mechanisms.join(","),
    })
}
