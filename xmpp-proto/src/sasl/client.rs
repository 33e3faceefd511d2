//! [`SaslClient`]: one authentication attempt as driven by the connection
//! (RFC 6120 §6.4: `<auth/>` with the initial response, `<challenge/>` /
//! `<response/>` round trips, `<success/>` with additional data), over the
//! PLAIN (RFC 4616) and SCRAM (RFC 5802, RFC 7677) implementations.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::channel_binding::{ChannelBinding, Gs2Flag};
use super::error::SaslError;
use super::mechanism::{Mechanism, Offer, SaslPolicy, Selection};
use super::plain::PlainClient;
use super::scram::{Credentials, ScramClient, ScramKeys};

/// Fewest entropy bytes accepted for a SCRAM client nonce (144 bits).
pub const MIN_NONCE_ENTROPY: usize = 18;

#[derive(Debug)]
enum Inner {
    Plain(PlainClient),
    Scram(Box<ScramClient>),
}

/// One SASL authentication attempt, client side. Sans-IO: the driver sends
/// what it returns (base64-encoded) and feeds in what the server sent
/// (base64-decoded). After any error the attempt is over; start a new one.
#[derive(Debug)]
pub struct SaslClient {
    mechanism: Mechanism,
    inner: Inner,
}

impl SaslClient {
    /// Prepares an attempt for a [`Selection`] made by [`select`](super::select)
    /// with the same `cb`, `policy` and `offer`.
    ///
    /// `nonce_entropy`: at least [`MIN_NONCE_ENTROPY`] (18) fresh random bytes
    /// from the driver's CSPRNG; they are base64-encoded into the client
    /// nonce (all of them: pass 18 to 32). PLAIN ignores them.
    ///
    /// Fails if the selection does not fit the policy, offer or binding data,
    /// if PLAIN would run without TLS against policy, or if the credentials do
    /// not suit the mechanism (PLAIN needs the password; stored SCRAM keys
    /// must be for the selected hash).
    pub fn new(
        sel: &Selection,
        authcid: &str,
        creds: &Credentials,
        cb: Option<&ChannelBinding>,
        nonce_entropy: &[u8],
        policy: &SaslPolicy,
        offer: &Offer,
    ) -> Result<Self, SaslError> {
        if sel.mechanism.scram_hash().is_some() && nonce_entropy.len() < MIN_NONCE_ENTROPY {
            return Err(SaslError::InsufficientEntropy {
                got: nonce_entropy.len(),
                min: MIN_NONCE_ENTROPY,
            });
        }
        let nonce = STANDARD.encode(nonce_entropy);
        Self::build(sel, authcid, creds, cb, nonce, policy, offer)
    }

    /// Like [`new`](Self::new) with a literal nonce, for the RFC test vectors.
    #[cfg(test)]
    pub(crate) fn with_nonce(
        sel: &Selection,
        creds: &Credentials,
        cb: Option<&ChannelBinding>,
        nonce: &str,
        policy: &SaslPolicy,
        offer: &Offer,
    ) -> Result<Self, SaslError> {
        Self::build(sel, "user", creds, cb, nonce.to_owned(), policy, offer)
    }

    fn build(
        sel: &Selection,
        authcid: &str,
        creds: &Credentials,
        cb: Option<&ChannelBinding>,
        nonce: String,
        policy: &SaslPolicy,
        offer: &Offer,
    ) -> Result<Self, SaslError> {
        let mechanism = sel.mechanism;
        if !policy.allowed.contains(&mechanism) {
            return Err(SaslError::MechanismNotAllowed {
                mechanism: mechanism.name(),
            });
        }
        if !offer.mechanisms.iter().any(|m| m == mechanism.name()) {
            return Err(SaslError::MechanismNotOffered {
                mechanism: mechanism.name(),
            });
        }
        let cb_data: &[u8] = match sel.gs2 {
            Gs2Flag::P(_) if !mechanism.is_plus() => {
                return Err(SaslError::InconsistentSelection {
                    reason: "a p= channel-binding flag needs a -PLUS mechanism",
                })
            }
            Gs2Flag::Y | Gs2Flag::N if mechanism.is_plus() => {
                return Err(SaslError::InconsistentSelection {
                    reason: "a -PLUS mechanism needs a p= channel-binding flag",
                })
            }
            Gs2Flag::P(kind) => match cb {
                Some(cb) if sel.tls && cb.kind == kind && !cb.data.is_empty() => &cb.data,
                _ => return Err(SaslError::ChannelBindingUnavailable { kind: kind.name() }),
            },
            Gs2Flag::Y | Gs2Flag::N => &[],
        };
        let inner = match mechanism.scram_hash() {
            None => match creds {
                Credentials::Password(password) | Credentials::PasswordAndKeys(password, _) => {
                    Inner::Plain(PlainClient::new(
                        authcid,
                        password,
                        sel.tls,
                        policy.allow_plain_without_tls,
                    )?)
                }
                Credentials::Salted(_) => {
                    return Err(SaslError::PasswordRequired {
                        mechanism: mechanism.name(),
                    })
                }
            },
            Some(hash) => Inner::Scram(Box::new(ScramClient::new(
                hash, sel.gs2, cb_data, authcid, creds, nonce, policy, offer,
            )?)),
        };
        Ok(SaslClient { mechanism, inner })
    }

    /// The mechanism of this attempt (for `<auth mechanism='...'>`).
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Whether the server proved (XEP-0474 `h=`, checked against the
    /// [`Offer`]) that the mechanism and channel-binding lists reached us
    /// unaltered. `false` for PLAIN, before the server-first-message, or when
    /// the server does not implement XEP-0474.
    pub fn downgrade_protection_verified(&self) -> bool {
        match &self.inner {
            Inner::Plain(_) => false,
            Inner::Scram(scram) => scram.ssdp_verified(),
        }
    }

    /// The initial response, raw (base64-encode it for `<auth/>`): the PLAIN
    /// message or the SCRAM client-first-message. Repeated calls return the
    /// same bytes.
    pub fn initial_response(&mut self) -> Vec<u8> {
        match &mut self.inner {
            Inner::Plain(plain) => plain.initial_response(),
            Inner::Scram(scram) => scram.initial_response(),
        }
    }

    /// Answers a `<challenge/>` (base64-decoded data). For SCRAM: the
    /// server-first-message yields the client-final-message; a
    /// server-final-message sent as a challenge is verified like
    /// [`success`](Self::success) data and yields an empty response.
    pub fn challenge(&mut self, data: &[u8]) -> Result<Vec<u8>, SaslError> {
        match &mut self.inner {
            Inner::Plain(plain) => plain.challenge(data),
            Inner::Scram(scram) => scram.challenge(data),
        }
    }

    /// Called with the (base64-decoded) `<success/>` additional data. For
    /// SCRAM it verifies the server signature `v=` (unless a preceding
    /// challenge already carried it): a success without `v=`, with a wrong
    /// one, or arriving before the exchange finished is an error, and the
    /// driver must not consider the stream authenticated. Returns the salted
    /// keys after a SCRAM login (store them instead of the password), `None`
    /// for PLAIN.
    pub fn success(&mut self, data: &[u8]) -> Result<Option<ScramKeys>, SaslError> {
        match &mut self.inner {
            Inner::Plain(plain) => plain.success(data).map(|()| None),
            Inner::Scram(scram) => scram.success(data).map(Some),
        }
    }
}
