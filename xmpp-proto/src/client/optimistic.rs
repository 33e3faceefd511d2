//! Optimistic authentication (issue #15): a returning client sends its SASL
//! initial response with the stream header after TLS, one round trip before
//! the features would ask for it, betting that the server offers what it
//! offered before.
//!
//! What the bet is made on: the SASL offer of the session's last login
//! (kept across reconnections), or, with stored SCRAM keys and nothing
//! better, the SCRAM mechanism of their hash. PLAIN is never sent
//! optimistically (a server could accept it before hearing our `<abort/>`).
//!
//! Never weaker than waiting: when the features arrive, the choice is made
//! again on them exactly as without the bet ([`Client::select`]). The same
//! choice (mechanism and channel-binding flag) continues: the SASL client
//! is rebuilt on the real offer with the same nonce (so XEP-0474 checks the
//! mechanism list the server really sent, and the message already sent is
//! the one it would have sent). Any other choice (a stronger mechanism,
//! `-PLUS` now possible, XEP-0440 types that change the binding) abandons
//! the attempt with `<abort/>`, waits for the server's `<failure/>`, and
//! authenticates as the features say. Every check of the normal path
//! (certificate, channel binding, nonce, iterations, server signature,
//! XEP-0474) runs unchanged.

use crate::sasl::{Offer, ScramHash};
use crate::xml::{Element, NS_STREAMS};

use super::error::DisconnectReason;
use super::features::{StreamFeatures, NS_SASL};
use super::negotiate::{sasl_element, Auth, Negotiation, State};
use super::Client;

impl Client {
    /// What to bet on, if anything.
    fn optimistic_offer(&self) -> Option<Offer> {
        if let Some(offer) = &self.known_offer {
            return Some(offer.clone());
        }
        let keys = self.config.credentials.keys()?;
        let name = match keys.mechanism_hash {
            ScramHash::Sha1 => "SCRAM-SHA-1",
            ScramHash::Sha256 => "SCRAM-SHA-256",
        };
        Some(Offer {
            mechanisms: vec![name.to_string()],
            cb_types: None,
        })
    }

    /// Sends the initial response with the header just written, when there
    /// is a bet to make; gives `neg` back otherwise.
    pub(super) fn authenticate_optimistically(
        &mut self,
        mut neg: Negotiation,
    ) -> Result<(), Negotiation> {
        let Some(offer) = self.optimistic_offer() else {
            return Err(neg);
        };
        let Ok(selection) = self.select(&offer, &neg) else {
            return Err(neg);
        };
        if selection.mechanism.scram_hash().is_none() {
            return Err(neg);
        }
        let nonce = neg.entropy.bytes(24);
        let Ok(mut sasl) = self.sasl_client(&selection, &nonce, &offer) else {
            return Err(neg);
        };
        let initial = sasl.initial_response();
        let auth =
            sasl_element("auth", Some(&initial)).with_attr("mechanism", selection.mechanism.name());
        self.outbox.write_element(&auth);
        self.state = State::Authenticating(Box::new(Auth {
            neg,
            sasl,
            offer,
            selection,
            optimistic: Some(nonce),
        }));
        Ok(())
    }

    /// The features after an optimistic `<auth/>`: continue when they lead
    /// to the same choice, else abandon it.
    pub(super) fn optimistic_features(&mut self, mut auth: Auth, element: &Element) -> bool {
        if !element.is(NS_STREAMS, "features") {
            let name = element.local_name().to_string();
            self.state = State::Authenticating(Box::new(auth));
            self.fail(DisconnectReason::ProtocolViolation(format!(
                "<{name}/> before the stream features"
            )));
            return false;
        }
        let features = StreamFeatures::parse(element);
        let real = Offer {
            mechanisms: features.mechanisms.clone(),
            cb_types: features.cb_types.clone(),
        };
        self.known_offer = Some(real.clone());
        let nonce = auth.optimistic.take().unwrap_or_default();
        let same = self.select(&real, &auth.neg).ok() == Some(auth.selection);
        let rebuilt = same
            .then(|| self.sasl_client(&auth.selection, &nonce, &real).ok())
            .flatten();
        match rebuilt {
            Some(mut sasl) => {
                // Deterministic from the nonce: the message already sent.
                let _ = sasl.initial_response();
                auth.sasl = sasl;
                auth.offer = real;
                self.state = State::Authenticating(Box::new(auth));
            }
            None => {
                self.outbox.write_element(&Element::new(NS_SASL, "abort"));
                self.state = State::Aborting(auth.neg, Box::new(features));
            }
        }
        true
    }

    /// While abandoning an optimistic attempt: the server's answers to it
    /// are dropped until its `<failure/>`; then the features decide.
    pub(super) fn aborted(
        &mut self,
        neg: Negotiation,
        features: StreamFeatures,
        element: &Element,
    ) -> bool {
        match element.local_name() {
            "failure" => self.authenticate(neg, &features),
            // A challenge to the abandoned attempt (sent before our abort).
            "challenge" => {
                self.state = State::Aborting(neg, Box::new(features));
                true
            }
            other => {
                let other = other.to_string();
                self.state = State::Aborting(neg, Box::new(features));
                self.fail(DisconnectReason::ProtocolViolation(format!(
                    "<{other}/> after our <abort/>"
                )));
                false
            }
        }
    }
}
