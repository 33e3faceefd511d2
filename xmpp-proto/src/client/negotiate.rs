//! Stream negotiation (RFC 6120 §4-§7): stream headers, STARTTLS, SASL,
//! resource binding and the legacy session, as states named by what they
//! await.
//!
//! Round trips are login time on a phone link, so whatever does not depend
//! on the server's answer leaves in the same flush: with TLS required,
//! `<starttls/>` goes out with the first stream header; a returning client
//! sends its SASL initial response with the header after TLS
//! (`optimistic.rs`); after SASL success the restarted stream header and
//! the bind request go out together (binding is mandatory to negotiate
//! after SASL, RFC 6120 §7.3.1). A first SCRAM login over STARTTLS takes 5
//! round trips plus the TLS handshake, a returning one 4; over direct TLS,
//! 4 and 3.
//!
//! Bytes that arrive after `<proceed/>` (or `<success/>`) in the same read
//! are discarded with the old reader, never parsed as part of the new
//! stream: that is the STARTTLS plaintext-injection defence.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::entropy::Entropy;
use crate::sasl::{self, Offer, SaslClient, SaslFailure, Selection};
use crate::stanza::{FullJid, NS_CLIENT};
use crate::xml::{Element, StreamEvent, NS_STREAMS};

use super::error::{DisconnectReason, StreamError, StreamErrorCondition};
use super::event::{Event, WarningKind};
use super::features::{StreamFeatures, NS_BIND, NS_SASL, NS_SESSION, NS_STREAM_ERRORS, NS_TLS};
use super::{Client, Timer, TlsPolicy};

/// The session's state, named by what it awaits.
#[derive(Debug)]
pub(crate) enum State {
    /// Direct TLS: waiting for the driver's handshake before sending anything.
    AwaitingDirectTls(Entropy),
    /// Our header is out; waiting for the server's.
    AwaitingHeader(Negotiation),
    /// Waiting for `<stream:features/>`.
    AwaitingFeatures(Negotiation),
    /// `<starttls/>` sent.
    AwaitingProceed(Negotiation),
    /// `StartTls` handed to the driver; waiting for `TlsEstablished`.
    AwaitingTls(Negotiation),
    /// SASL exchange in progress.
    Authenticating(Box<Auth>),
    /// An optimistic attempt abandoned (`<abort/>` sent): waiting for the
    /// server's `<failure/>`, then the choice the features call for.
    Aborting(Negotiation, Box<StreamFeatures>),
    /// Authenticated; restart header and bind request sent.
    AwaitingBind(Bind),
    /// Authenticated with a session to resume (XEP-0198 §5): restart
    /// header sent, waiting for the features, then for `<resumed/>`.
    Resuming(Box<super::sm::Resume>),
    /// Legacy session request sent.
    AwaitingSession {
        /// The session IQ id.
        id: String,
        /// The bound JID.
        jid: FullJid,
        /// The stream's features, for the modules.
        features: Box<StreamFeatures>,
    },
    /// Stanzas flow.
    Online,
    /// Our `</stream:stream>` is out.
    Closing,
    /// Over.
    Closed,
}

/// Negotiation data kept until authentication.
#[derive(Debug)]
pub(crate) struct Negotiation {
    pub(super) entropy: Entropy,
    /// Whether a guessed channel-binding attempt already failed.
    pub(super) avoid_plus: bool,
    /// `<starttls/>` went out with the stream header (TLS required).
    pub(super) starttls_sent: bool,
}

/// An authentication attempt.
#[derive(Debug)]
pub(crate) struct Auth {
    pub(super) neg: Negotiation,
    pub(super) sasl: SaslClient,
    pub(super) offer: Offer,
    pub(super) selection: Selection,
    /// An optimistic attempt (`optimistic.rs`) whose features have not
    /// come yet: the nonce entropy it used, to rebuild it on the real offer.
    pub(super) optimistic: Option<Vec<u8>>,
}

/// Waiting for the restarted stream and the bind result.
#[derive(Debug)]
pub(crate) struct Bind {
    id: String,
    header: bool,
    features: Option<StreamFeatures>,
}

impl State {
    /// The first state: direct TLS waits for the handshake; STARTTLS has
    /// already sent its header.
    pub(crate) fn initial(entropy: Entropy, direct_tls: bool) -> Self {
        if direct_tls {
            State::AwaitingDirectTls(entropy)
        } else {
            State::AwaitingHeader(Negotiation::new(entropy))
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            State::AwaitingDirectTls(_) => "awaiting-direct-tls",
            State::AwaitingHeader(_) => "awaiting-header",
            State::AwaitingFeatures(_) => "awaiting-features",
            State::AwaitingProceed(_) => "awaiting-proceed",
            State::AwaitingTls(_) => "awaiting-tls",
            State::Authenticating(_) => "authenticating",
            State::Aborting(..) => "aborting",
            State::AwaitingBind(_) => "awaiting-bind",
            State::Resuming(_) => "resuming",
            State::AwaitingSession { .. } => "awaiting-session",
            State::Online => "online",
            State::Closing => "closing",
            State::Closed => "closed",
        }
    }

    pub(crate) fn is_closing(&self) -> bool {
        matches!(self, State::Closing)
    }

    /// True when received bytes belong to an XML stream we read.
    pub(crate) fn reads_stream(&self) -> bool {
        !matches!(
            self,
            State::AwaitingDirectTls(_) | State::AwaitingTls(_) | State::Closed
        )
    }
}

impl Negotiation {
    fn new(entropy: Entropy) -> Self {
        Negotiation {
            entropy,
            avoid_plus: false,
            starttls_sent: false,
        }
    }
}

pub(super) fn sasl_element(name: &str, data: Option<&[u8]>) -> Element {
    let e = Element::new(NS_SASL, name);
    match data {
        None => e,
        // RFC 6120 §6.4.2: an empty response is sent as "=".
        Some([]) => e.with_text("="),
        Some(d) => e.with_text(B64.encode(d)),
    }
}

/// The first child of `parent` that is a defined condition (not `<text/>`).
fn condition_of<'a>(parent: &'a Element, ns: &str) -> Option<&'a Element> {
    parent
        .children()
        .find(|c| c.ns() == ns && c.local_name() != "text")
}

impl Client {
    /// Handles one stream event; false when the reader was replaced or the
    /// session ended, and the rest of this read must be discarded.
    pub(super) fn stream_event(&mut self, event: StreamEvent) -> bool {
        let element = match event {
            StreamEvent::Header(h) => {
                self.stream_header(&h);
                return !self.ended;
            }
            StreamEvent::End => {
                let reason = if self.state.is_closing() {
                    DisconnectReason::Closed
                } else {
                    self.outbox.write_raw(crate::xml::STREAM_CLOSE);
                    DisconnectReason::ClosedByServer
                };
                self.end(reason);
                return false;
            }
            StreamEvent::Element(e) => e,
        };
        if element.is(NS_STREAMS, "error") {
            let condition = match condition_of(&element, NS_STREAM_ERRORS) {
                Some(c) => StreamErrorCondition::from_name(c.local_name(), &c.text()),
                None => StreamErrorCondition::UndefinedCondition,
            };
            let text = element
                .child(NS_STREAM_ERRORS, "text")
                .map(|t| t.text().to_string());
            self.fail(DisconnectReason::StreamError(StreamError {
                condition,
                text,
            }));
            return false;
        }
        if matches!(self.state, State::Online | State::Closing) {
            // The common case, without moving the state out and back.
            self.online_element(element);
            return !self.ended;
        }
        let state = std::mem::replace(&mut self.state, State::Closed);
        match state {
            State::AwaitingFeatures(neg) if element.is(NS_STREAMS, "features") => {
                self.features(neg, &element)
            }
            State::AwaitingProceed(neg) if element.is(NS_TLS, "proceed") => {
                self.state = State::AwaitingTls(neg);
                self.start_tls = true;
                false
            }
            State::AwaitingProceed(neg) if element.is(NS_TLS, "failure") => {
                // RFC 6120 §5.4.2.2: the server closes the stream after <failure/>.
                self.state = State::AwaitingProceed(neg);
                self.fail(DisconnectReason::TlsRefused);
                false
            }
            State::Authenticating(auth) if auth.optimistic.is_some() => {
                self.optimistic_features(*auth, &element)
            }
            State::Authenticating(auth) if element.ns() == NS_SASL => self.sasl(*auth, &element),
            State::Aborting(neg, f) if element.ns() == NS_SASL => self.aborted(neg, *f, &element),
            State::AwaitingBind(bind) => {
                self.bind_step(bind, element);
                !self.ended
            }
            State::Resuming(r) => {
                self.sm_resume_step(r, element);
                !self.ended
            }
            State::AwaitingSession { id, jid, features } if element.is(NS_CLIENT, "iq") => {
                let is_reply = element.attr("id") == Some(id.as_str());
                self.state = State::AwaitingSession { id, jid, features };
                if is_reply {
                    if element.attr("type") == Some("result") {
                        if let State::AwaitingSession { jid, features, .. } =
                            std::mem::replace(&mut self.state, State::Closed)
                        {
                            self.go_online(jid, &features);
                        }
                    } else {
                        self.fail(DisconnectReason::BindFailed(
                            "the server refused the session".into(),
                        ));
                    }
                }
                !self.ended
            }
            other => {
                let name = other.name();
                self.state = other;
                self.fail(DisconnectReason::ProtocolViolation(format!(
                    "unexpected <{}/> in {} while {name}",
                    element.local_name(),
                    element.ns()
                )));
                false
            }
        }
    }

    fn stream_header(&mut self, h: &Element) {
        if !h.is(NS_STREAMS, "stream") {
            return self.fail(DisconnectReason::ProtocolViolation(format!(
                "the stream header is <{}/> in {}, not a stream",
                h.local_name(),
                h.ns()
            )));
        }
        if h.attr("version").is_none_or(|v| !v.starts_with("1.")) {
            return self.fail(DisconnectReason::StreamError(StreamError {
                condition: StreamErrorCondition::UnsupportedVersion,
                text: Some("the server does not speak XMPP 1.0".into()),
            }));
        }
        let state = std::mem::replace(&mut self.state, State::Closed);
        self.state = match state {
            State::AwaitingHeader(neg) => State::AwaitingFeatures(neg),
            State::AwaitingBind(mut b) => {
                b.header = true;
                State::AwaitingBind(b)
            }
            State::Resuming(mut r) => {
                Client::sm_resume_header(&mut r);
                State::Resuming(r)
            }
            other => other,
        };
    }

    fn features(&mut self, neg: Negotiation, element: &Element) -> bool {
        let f = StreamFeatures::parse(element);
        if !self.tls {
            match (f.starttls, self.config.tls) {
                (Some(_), _) => {
                    if !neg.starttls_sent {
                        self.outbox.write_element(&Element::new(NS_TLS, "starttls"));
                    }
                    self.state = State::AwaitingProceed(neg);
                    return true;
                }
                (None, TlsPolicy::AllowPlaintext) => {}
                (None, _) => {
                    // No credential has been sent: fail before SASL.
                    self.state = State::AwaitingFeatures(neg);
                    self.fail(DisconnectReason::TlsRequired);
                    return false;
                }
            }
        }
        self.authenticate(neg, &f)
    }

    /// Starts (or retries) SASL with the best mechanism.
    pub(super) fn authenticate(&mut self, mut neg: Negotiation, f: &StreamFeatures) -> bool {
        let offer = Offer {
            mechanisms: f.mechanisms.clone(),
            cb_types: f.cb_types.clone(),
        };
        self.known_offer = Some(offer.clone());
        let selected = self.select(&offer, &neg);
        let Ok(selection) = selected else {
            self.state = State::AwaitingFeatures(neg);
            self.fail(DisconnectReason::NoMechanism {
                offered: f.mechanisms.clone(),
            });
            return false;
        };
        let nonce = neg.entropy.bytes(24);
        let client = self.sasl_client(&selection, &nonce, &offer);
        let mut sasl = match client {
            Ok(c) => c,
            Err(e) => {
                self.state = State::AwaitingFeatures(neg);
                self.fail(DisconnectReason::AuthRejected(e));
                return false;
            }
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
            optimistic: None,
        }));
        true
    }

    /// The best mechanism for `offer` under the policy (stored keys without
    /// the password fit only SCRAM with their hash).
    pub(super) fn select(
        &self,
        offer: &Offer,
        neg: &Negotiation,
    ) -> Result<Selection, sasl::SaslError> {
        let cb = self.channel_binding.as_ref();
        match &self.config.credentials {
            sasl::Credentials::Salted(keys) => {
                let mut p = self.config.sasl.clone();
                p.allowed
                    .retain(|m| m.scram_hash() == Some(keys.mechanism_hash));
                sasl::select(offer, self.tls, cb, &p, neg.avoid_plus)
            }
            _ => sasl::select(offer, self.tls, cb, &self.config.sasl, neg.avoid_plus),
        }
    }

    /// A SASL client for `selection` on `offer` with this nonce entropy.
    pub(super) fn sasl_client(
        &self,
        selection: &Selection,
        nonce: &[u8],
        offer: &Offer,
    ) -> Result<SaslClient, sasl::SaslError> {
        let authcid = self
            .config
            .jid
            .node()
            .map(|n| n.to_string())
            .unwrap_or_default();
        SaslClient::new(
            selection,
            &authcid,
            &self.config.credentials,
            self.channel_binding.as_ref(),
            nonce,
            &self.config.sasl,
            offer,
        )
    }

    fn sasl(&mut self, mut auth: Auth, element: &Element) -> bool {
        let text = element.text();
        let text = text.trim();
        let data = if text.is_empty() || text == "=" {
            Ok(Vec::new())
        } else {
            B64.decode(text)
        };
        let Ok(data) = data else {
            self.state = State::Authenticating(Box::new(auth));
            self.fail(DisconnectReason::ProtocolViolation(
                "the SASL payload is not base64".into(),
            ));
            return false;
        };
        match element.local_name() {
            "challenge" => match auth.sasl.challenge(&data) {
                Ok(resp) => {
                    self.outbox
                        .write_element(&sasl_element("response", Some(&resp)));
                    self.state = State::Authenticating(Box::new(auth));
                    true
                }
                Err(e) => {
                    self.outbox.write_element(&Element::new(NS_SASL, "abort"));
                    self.state = State::Authenticating(Box::new(auth));
                    self.fail(DisconnectReason::AuthRejected(e));
                    false
                }
            },
            "success" => match auth.sasl.success(&data) {
                Ok(keys) => {
                    self.mechanism = Some(auth.selection.mechanism);
                    if let Some(k) = keys {
                        self.events.push_back(Event::ScramKeys(k));
                    }
                    self.restart_for_bind(auth.neg);
                    false
                }
                Err(e) => {
                    // The server believes we are logged in; we do not
                    // believe it is the server. Close without a word more.
                    self.state = State::Authenticating(Box::new(auth));
                    self.fail(DisconnectReason::AuthRejected(e));
                    false
                }
            },
            "failure" => {
                let condition = condition_of(element, NS_SASL)
                    .map(|c| c.local_name().to_string())
                    .unwrap_or_default();
                let text = element.child(NS_SASL, "text").map(|t| t.text().to_string());
                let failure = SaslFailure::new(&condition, text.as_deref());
                if auth.selection.cb_guessed
                    && !auth.neg.avoid_plus
                    && self.config.sasl.allow_cb_fallback
                {
                    self.warn(
                        WarningKind::ChannelBindingFallback,
                        format!(
                            "{} with an unadvertised channel-binding type failed ({}); \
                             retrying once without channel binding",
                            auth.selection.mechanism.name(),
                            failure.condition
                        ),
                    );
                    auth.neg.avoid_plus = true;
                    let f = StreamFeatures {
                        mechanisms: auth.offer.mechanisms.clone(),
                        cb_types: auth.offer.cb_types.clone(),
                        ..StreamFeatures::default()
                    };
                    return self.authenticate(auth.neg, &f);
                }
                self.state = State::Authenticating(Box::new(auth));
                self.fail(DisconnectReason::AuthFailed(failure));
                false
            }
            other => {
                self.state = State::Authenticating(Box::new(auth));
                self.fail(DisconnectReason::ProtocolViolation(format!(
                    "unexpected SASL element <{other}/>"
                )));
                false
            }
        }
    }

    /// After SASL success: new stream header and bind request in one flush
    /// (or, with a session to resume, the header alone: `sm/resume.rs`).
    fn restart_for_bind(&mut self, neg: Negotiation) {
        let Err(neg) = self.sm_try_resume(neg) else {
            return;
        };
        self.open_stream();
        let id = self.bind_request(neg);
        self.state = State::AwaitingBind(Bind {
            id,
            header: false,
            features: None,
        });
    }

    /// Binds on a stream whose features already came (a resumption that
    /// failed or could not be tried).
    pub(super) fn bind_now(&mut self, neg: Negotiation, features: StreamFeatures) {
        let offered = features.bind;
        let id = self.bind_request(neg);
        self.state = State::AwaitingBind(Bind {
            id,
            header: true,
            features: Some(features),
        });
        if !offered {
            self.fail(DisconnectReason::BindFailed(
                "the server does not offer resource binding".into(),
            ));
        }
    }

    /// Writes the bind request; returns its id.
    fn bind_request(&mut self, mut neg: Negotiation) -> String {
        let id = neg.entropy.id();
        let mut bind = Element::new(NS_BIND, "bind");
        if let Some(r) = &self.config.resource {
            bind.push_child(Element::new(NS_BIND, "resource").with_text(r.clone()));
        }
        let iq = Element::new(NS_CLIENT, "iq")
            .with_attr("type", "set")
            .with_attr("id", id.clone())
            .with_child(bind);
        self.outbox.write_element(&iq);
        id
    }

    fn bind_step(&mut self, mut b: Bind, element: Element) {
        if element.is(NS_STREAMS, "features") && b.header {
            let f = StreamFeatures::parse(&element);
            let offered = f.bind;
            b.features = Some(f);
            self.state = State::AwaitingBind(b);
            if !offered {
                self.fail(DisconnectReason::BindFailed(
                    "the server does not offer resource binding".into(),
                ));
            }
            return;
        }
        let is_reply = element.is(NS_CLIENT, "iq")
            && element.attr("id") == Some(b.id.as_str())
            && matches!(element.attr("type"), Some("result" | "error"));
        let Some(features) = b.features.take().filter(|_| is_reply) else {
            self.state = State::AwaitingBind(b);
            return self.fail(DisconnectReason::ProtocolViolation(format!(
                "unexpected <{}/> while binding",
                element.local_name()
            )));
        };
        self.state = State::AwaitingBind(b);
        let domain = self.config.jid.domain().to_string();
        let bare = self.config.jid.to_string();
        if let Some(from) = element.attr("from") {
            let ours = from == domain || from == bare || from.starts_with(&format!("{bare}/"));
            if !ours {
                return self.fail(DisconnectReason::ProtocolViolation(format!(
                    "bind result from {from}, not from our server"
                )));
            }
        }
        if element.attr("type") == Some("error") {
            let condition = element
                .child(NS_CLIENT, "error")
                .and_then(|e| condition_of(e, crate::stanza::NS_STANZAS))
                .map_or_else(
                    || "undefined-condition".into(),
                    |c| c.local_name().to_string(),
                );
            return self.fail(DisconnectReason::BindFailed(condition));
        }
        let jid = element
            .child(NS_BIND, "bind")
            .and_then(|bind| bind.child_text(NS_BIND, "jid"))
            .and_then(|t| FullJid::new(t.trim()).ok());
        let Some(jid) = jid.filter(|j| j.to_bare() == self.config.jid) else {
            return self.fail(DisconnectReason::BindFailed(
                "the server bound a JID that is missing, invalid or not our account".into(),
            ));
        };
        if features.session_required {
            let id = self.outbox.new_id();
            let iq = Element::new(NS_CLIENT, "iq")
                .with_attr("type", "set")
                .with_attr("id", id.clone())
                .with_child(Element::new(NS_SESSION, "session"));
            self.outbox.write_element(&iq);
            self.state = State::AwaitingSession {
                id,
                jid,
                features: Box::new(features),
            };
        } else {
            self.go_online(jid, &features);
        }
    }

    /// A new session is bound: stream management enabled first (so that
    /// everything after is counted), the login event, the modules'
    /// `online`, then what a lost session left to send again.
    fn go_online(&mut self, jid: FullJid, features: &StreamFeatures) {
        self.state = State::Online;
        self.bound = Some(jid.clone());
        self.outbox.open = true;
        self.timers.stop(Timer::Connect);
        let carried = self.sm_enable(features);
        let event = self.login_event(jid, false);
        self.events.push_back(event);
        self.modules_online(features, false);
        self.sm_carry_over(carried);
        self.csi_online(features);
    }

    pub(super) fn tls_established(&mut self, cb: Option<sasl::ChannelBinding>) {
        let state = std::mem::replace(&mut self.state, State::Closed);
        let neg = match state {
            State::AwaitingTls(neg) => neg,
            State::AwaitingDirectTls(entropy) => Negotiation::new(entropy),
            other => {
                self.state = other;
                return self.warn(
                    WarningKind::UnexpectedInput,
                    "TlsEstablished while not setting up TLS; ignored".into(),
                );
            }
        };
        self.tls = true;
        self.channel_binding = cb;
        self.open_stream();
        // A returning client bets on the offer it knows: its SASL initial
        // response leaves with the header (`optimistic.rs`).
        self.state = match self.authenticate_optimistically(neg) {
            Ok(()) => return,
            Err(neg) => State::AwaitingHeader(neg),
        };
    }
}
