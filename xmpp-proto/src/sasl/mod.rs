//! # SASL client layer
//!
//! Sans-IO SASL for XMPP: mechanism choice and the client side of PLAIN and
//! SCRAM, driven by the connection state machine. No I/O, clock or
//! randomness: the driver passes the server's offer, the TLS channel-binding
//! data, and fresh entropy for the nonce.
//!
//! Specifications:
//! * RFC 6120 §6 (SASL negotiation in XMPP), §6.5 (failure conditions),
//!   §13.8.3 (PLAIN only under TLS);
//! * RFC 4422 (SASL), RFC 4616 (PLAIN);
//! * RFC 5802 (SCRAM-SHA-1 and -PLUS), RFC 7677 (SCRAM-SHA-256 and -PLUS);
//! * RFC 5056, RFC 5929 (`tls-unique`, `tls-server-end-point`), RFC 9266
//!   (`tls-exporter`): channel binding;
//! * XEP-0440 v0.4.1 (SASL Channel-Binding Type Capability);
//! * XEP-0474 v0.5.0 (2025-10-25) (SASL SCRAM Downgrade Protection).
//!
//! ## Flow
//!
//! ```
//! use xmpp_proto::sasl::*;
//!
//! let offer = Offer::new(&["SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN"], None);
//! let policy = SaslPolicy::default();
//! let sel = select(&offer, true, None, &policy, false)?;
//! assert_eq!((sel.mechanism, sel.gs2), (Mechanism::ScramSha256, Gs2Flag::N));
//!
//! let creds = Credentials::Password("pencil".into());
//! let entropy = [7u8; 18]; // from the driver's CSPRNG in real use
//! let mut client = SaslClient::new(&sel, "user", &creds, None, &entropy, &policy, &offer)?;
//! let first = client.initial_response(); // base64 into <auth mechanism='SCRAM-SHA-256'>
//! assert!(first.starts_with(b"n,,n=user,r="));
//! // then: client.challenge(&server_first)? goes into <response/>;
//! //       client.success(&server_final)? returns Some(ScramKeys) to store.
//! # Ok::<(), SaslError>(())
//! ```
//!
//! A `<failure/>` from the server ends the attempt; parse it with
//! [`SaslFailure::new`].
//!
//! ## Checks on the server's SCRAM messages
//!
//! The server nonce must extend the client nonce; the iteration count must
//! lie within [`SaslPolicy::min_iterations`]`..=`[`SaslPolicy::max_iterations`]
//! (checked before any PBKDF2 work); the salt must be non-empty base64; the
//! message must follow the RFC 5802 §7 grammar (`r`, `s`, `i` in order; an
//! `m=` mandatory extension is refused); `e=` becomes
//! [`SaslError::ServerError`]; `<success/>` must carry a valid `v=` (or a
//! preceding challenge must have) and may not arrive before the
//! client-final-message was sent. Stored [`ScramKeys`] are used only when
//! hash, salt and iteration count all match the server's.
//!
//! ## XEP-0474 downgrade protection (implemented: v0.5.0, §5)
//!
//! A supporting server adds `h=` to its server-first-message: the base64 of
//! `H(S)`, `H` being the SCRAM mechanism's hash and `S` the advertised
//! mechanism names sorted by octets (`i;octet`) and joined by `0x1E`,
//! followed, only if XEP-0440 `<sasl-channel-binding/>` was advertised, by
//! `0x1F` and the advertised channel-binding types sorted and joined by
//! `0x1E`. The client recomputes it from the [`Offer`] and fails with
//! [`SaslError::DowngradeDetected`] on mismatch (see [`ssdp_input`]). An
//! absent `h=` is accepted (the server predates XEP-0474): the value is part
//! of the SCRAM `AuthMessage`, so an attacker who strips or changes it breaks
//! the client proof and the server fails the exchange anyway.
//! [`SaslClient::downgrade_protection_verified`] reports whether it matched.
//! PLAIN has no such protection: once an account used SCRAM, remove
//! [`Mechanism::Plain`] from [`SaslPolicy::allowed`] (XEP-0474 §6).
//!
//! ## Channel binding and the GS2 flag
//!
//! [`select`] picks `-PLUS` only with TLS, binding data, and a type the
//! server advertised (XEP-0440). If the server offered `-PLUS` but advertised
//! no types at all, our type is tried as a guess ([`Selection::cb_guessed`]).
//! Without `-PLUS`, the flag is `y` when we could bind but the server offers
//! no `-PLUS`, and `n` when we cannot bind or none of the advertised types is
//! ours (XEP-0474 §6 rule 6: the `h=` check then guards the type list).
//!
//! ## XEP-0440 fallback after a guessed binding type
//!
//! A guess can be wrong: servers seen in the wild offer `-PLUS` on TLS 1.3
//! without advertising types, know only `tls-unique` (which TLS 1.3 does not
//! have), and refuse our `tls-exporter`. The refusal cannot be told apart
//! from bad credentials. So when an attempt with `cb_guessed` fails, the
//! connection retries **once** with `avoid_plus = true` (and says so in a
//! warning event); [`select`] then picks the best non-PLUS mechanism with
//! flag `n`. A second failure is final: no loop.
//!
//! Why `n` and not `y`: the server did offer `-PLUS`, so RFC 5802 §6 makes
//! it fail a `y` exchange, and the retry would never get the client online.
//! `n` states what is true after the refusal: no binding type both sides
//! support is known.
//!
//! Why this opens no downgrade against servers that can bind with us:
//! * a server that advertises XEP-0440 types never triggers the fallback —
//!   if our type is listed we bind, and [`select`] ignores `avoid_plus`; if
//!   it is not listed we never guess (flag `n` from the start, and XEP-0474's
//!   `h=` covers the advertised list, so stripping it is detected);
//! * the fallback exists only for servers that advertise nothing, where
//!   the client cannot know whether binding is possible at all. What an
//!   attacker can force there is a login without channel binding, which
//!   needs a man in the middle holding a certificate the client trusts for
//!   the domain (certificate verification is the first line); against such
//!   a server it is the protection level of a client without `-PLUS`.
//! * [`SaslPolicy::allow_cb_fallback`]` = false` removes even that: a refused
//!   guess is then final.
//!
//! ## Not done here
//!
//! * SASLprep (RFC 4013) of the password is not applied: it is used as its
//!   UTF-8 bytes. That is exact for printable ASCII passwords; non-ASCII ones
//!   that SASLprep would change (odd spaces, compatibility forms) fail
//!   against servers that normalise. The username is sent as given (XMPP
//!   localparts are already PRECIS-prepared), with `=` and `,` escaped.
//! * No authorization identity (authzid) is sent.
//! * Secrets are not zeroized on drop.

mod channel_binding;
mod client;
mod downgrade;
mod error;
mod failure;
mod mechanism;
mod plain;
mod scram;
mod scram_message;
#[cfg(test)]
mod tests;

pub use channel_binding::{ChannelBinding, ChannelBindingType, Gs2Flag};
pub use client::{SaslClient, MIN_NONCE_ENTROPY};
pub use downgrade::{ssdp_hash, ssdp_input};
pub use error::{SaslError, ScramServerError};
pub use failure::{SaslFailure, SaslFailureCondition};
pub use mechanism::{select, Mechanism, Offer, SaslPolicy, ScramHash, Selection};
pub use scram::{Credentials, ScramKeys};
