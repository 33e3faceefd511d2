//! Scripted-server tests of the SASL layer. Expected SCRAM messages come
//! from `reference`, an independent implementation, or from the RFC 5802,
//! RFC 7677 and XEP-0474 examples.

mod client;
mod reference;
mod scram_checks;
mod scram_exchange;
mod select;

use super::*;

pub(crate) const PASSWORD: &str = "pencil";
pub(crate) const ENTROPY: [u8; 18] = *b"0123456789abcdefgh";
pub(crate) const SALT: &[u8] = b"sixteen byte salt";

pub(crate) fn offer(mechanisms: &[&str]) -> Offer {
    Offer::new(mechanisms, None)
}

/// Default policy, but cheap iteration counts allowed so tests stay fast in
/// debug builds.
pub(crate) fn fast_policy() -> SaslPolicy {
    SaslPolicy {
        min_iterations: 1,
        ..SaslPolicy::default()
    }
}

pub(crate) fn selection(mechanism: Mechanism, gs2: Gs2Flag) -> Selection {
    Selection {
        mechanism,
        gs2,
        cb_guessed: false,
        tls: true,
    }
}

pub(crate) fn password() -> Credentials {
    Credentials::Password(PASSWORD.to_owned())
}

/// A client for `user` with [`ENTROPY`] and the fast policy, before its
/// initial response.
pub(crate) fn new_client(
    sel: &Selection,
    creds: &Credentials,
    cb: Option<&ChannelBinding>,
    offer: &Offer,
) -> Result<SaslClient, SaslError> {
    SaslClient::new(sel, "user", creds, cb, &ENTROPY, &fast_policy(), offer)
}

/// Builds a client with [`ENTROPY`] and returns it with its initial response.
pub(crate) fn start(
    sel: &Selection,
    creds: &Credentials,
    cb: Option<&ChannelBinding>,
    policy: &SaslPolicy,
    offer: &Offer,
) -> (SaslClient, Vec<u8>) {
    let mut client = SaslClient::new(sel, "user", creds, cb, &ENTROPY, policy, offer).unwrap();
    let initial = client.initial_response();
    (client, initial)
}

/// A SCRAM-SHA-256 client (flag `n`) that has sent its first message.
pub(crate) fn sha256_client(policy: &SaslPolicy) -> (SaslClient, Vec<u8>) {
    let sel = selection(Mechanism::ScramSha256, Gs2Flag::N);
    start(&sel, &password(), None, policy, &offer(&["SCRAM-SHA-256"]))
}
