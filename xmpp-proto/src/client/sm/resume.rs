//! Resumption (XEP-0198 §5) on a new transport, and the fresh session
//! when it fails: after SASL the restarted stream's features are awaited
//! (no bind is sent), then `<resume previd h/>`; `<resumed/>` brings the
//! session back, `<failed/>` (or no `<sm/>` offered) binds a new one on
//! the same stream (§5: the server SHOULD allow it).

use crate::xml::{Element, NS_STREAMS};

use super::super::event::IqFailure;
use super::super::features::{StreamFeatures, NS_SM};
use super::super::negotiate::{Negotiation, State};
use super::super::timer::Timer;
use super::super::{Client, DisconnectReason, WarningKind};
use super::session::{condition, parse_h};
use super::{Phase, Resumable, ResumptionState, SmError, SmEvent};

/// Waiting for the restarted stream's features, then for the answer to
/// our `<resume/>`.
#[derive(Debug)]
pub(crate) struct Resume {
    neg: Negotiation,
    /// The restarted stream's header arrived.
    header: bool,
    /// Its features (the `<resume/>` went out when they came).
    features: Option<StreamFeatures>,
}

impl Client {
    /// After SASL: resume rather than bind when a session can be resumed;
    /// the negotiation back when there is none (the caller binds).
    pub(crate) fn sm_try_resume(&mut self, neg: Negotiation) -> Result<(), Negotiation> {
        if !(self.sm.config.enable && self.sm.resumable.is_some()) {
            return Err(neg);
        }
        self.open_stream();
        self.state = State::Resuming(Box::new(Resume {
            neg,
            header: false,
            features: None,
        }));
        Ok(())
    }

    /// The restarted stream's header.
    pub(crate) fn sm_resume_header(r: &mut Resume) {
        r.header = true;
    }

    /// An element while resuming.
    pub(crate) fn sm_resume_step(&mut self, mut r: Box<Resume>, element: Element) {
        let waiting_features = r.header && r.features.is_none();
        if element.is(NS_STREAMS, "features") && waiting_features {
            let f = StreamFeatures::parse(&element);
            let Some(session) = self.sm.resumable.as_ref().filter(|_| f.sm) else {
                // No stream management on this stream: a new session.
                self.sm_abandon_resume();
                return self.bind_now(r.neg, f);
            };
            let resume = Element::new(NS_SM, "resume")
                .with_attr("previd", session.id.clone())
                .with_attr("h", self.sm.handled.to_string());
            self.outbox.write_element(&resume);
            r.features = Some(f);
            self.state = State::Resuming(r);
            return;
        }
        let answered = element.ns() == NS_SM && r.features.is_some();
        match element.local_name() {
            "resumed" if answered => self.sm_resumed(r, &element),
            "failed" if answered => {
                let h = element.attr("h").and_then(|h| parse_h(Some(h)));
                if element.attr("h").is_some() && h.is_none() {
                    self.warn(
                        WarningKind::UnexpectedInput,
                        "ignored the invalid h of the server's <failed/>".into(),
                    );
                }
                self.state = State::Resuming(r);
                if let Some(h) = h {
                    if !self.sm_ack(h) {
                        return;
                    }
                }
                let State::Resuming(mut r) = std::mem::replace(&mut self.state, State::Closed)
                else {
                    return;
                };
                self.sm_event(SmEvent::ResumeFailed {
                    condition: condition(&element),
                    h,
                });
                self.sm_abandon_resume();
                let features = r.features.take().unwrap_or_default();
                self.bind_now(r.neg, features);
            }
            other => {
                self.state = State::Resuming(r);
                self.fail(DisconnectReason::ProtocolViolation(format!(
                    "unexpected <{other}/> in {} while resuming",
                    element.ns()
                )));
            }
        }
    }

    fn sm_resumed(&mut self, r: Box<Resume>, element: &Element) {
        self.state = State::Resuming(r);
        let Some(session) = self.sm.resumable.clone() else {
            return;
        };
        if element.attr("previd") != Some(session.id.as_str()) {
            self.sm.resumable = None;
            return self.fail(DisconnectReason::StreamManagement(SmError::WrongSession));
        }
        let Some(h) = parse_h(element.attr("h")) else {
            return self.fail(DisconnectReason::ProtocolViolation(
                "<resumed/> without a valid h".into(),
            ));
        };
        if !self.sm_ack(h) {
            return;
        }
        let State::Resuming(r) = std::mem::replace(&mut self.state, State::Online) else {
            return;
        };
        let features = r.features.unwrap_or_default();
        self.bound = Some(session.jid.clone());
        self.outbox.open = true;
        self.timers.stop(Timer::Connect);
        self.sm.phase = Phase::On;
        self.sm.suspended = false;
        // What the server did not get goes first, as it was, then an ack
        // request for it.
        if self.outbox.resend_all() > 0 {
            self.outbox.sm.since_request = 0;
            self.outbox.write_raw(super::REQUEST);
        }
        let event = self.login_event(session.jid, true);
        self.events.push_back(event);
        self.modules_online(&features, true);
        self.csi_online(&features);
    }

    /// The resumption failed or cannot be tried: IQs kept for it fail and
    /// the modules learn that their session is gone.
    fn sm_abandon_resume(&mut self) {
        self.sm.resumable = None;
        self.sm_release();
    }

    /// A suspended session is not coming back: IQs kept fail, the modules
    /// go `offline(false)`.
    pub(crate) fn sm_release(&mut self) {
        if std::mem::take(&mut self.sm.suspended) {
            for id in self.outbox.tracker.cancel_all() {
                self.iq_done(id, Err(IqFailure::Disconnected));
            }
            self.modules_offline(false);
        }
    }

    /// A resumption state handed in with the configuration.
    pub(crate) fn sm_import(&mut self, state: ResumptionState) {
        if state.jid.to_bare() != self.config.jid {
            return self.warn(
                WarningKind::UnexpectedInput,
                format!(
                    "ignored a resumption state of {}, not of this account",
                    state.jid
                ),
            );
        }
        self.sm.handled = state.handled;
        self.sm.imported = true;
        self.outbox.sm.import(state.acked, state.unacked);
        self.sm.resumable = Some(Resumable {
            id: state.id,
            location: state.location,
            jid: state.jid,
        });
    }
}
