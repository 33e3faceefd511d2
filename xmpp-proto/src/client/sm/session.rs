//! Enabling (XEP-0198 §3), acks (§4), errors (§6) and what becomes of the
//! stream management session when a connection ends or closes.

use std::collections::VecDeque;

use crate::stanza::NS_STANZAS;
use crate::xml::Element;

use super::super::event::{Event, WarningKind};
use super::super::features::{StreamFeatures, NS_SM, NS_STREAM_ERRORS};
use super::super::timer::Timer;
use super::super::{Client, DisconnectReason};
use super::counter::Verdict;
use super::queue::{Kind, Unacked};
use super::state::{MAX_ID, MAX_LOCATION};
use super::{Phase, Resumable, ResumptionState, SmError, SmEvent};

impl Client {
    /// A new session was bound: `<enable/>` when the server offers stream
    /// management (and the counting of our stanzas starts). Returns what a
    /// lost session left unacknowledged, for [`Client::sm_carry_over`].
    pub(crate) fn sm_enable(&mut self, features: &StreamFeatures) -> VecDeque<Unacked> {
        self.sm.resumable = None;
        self.sm.handled = 0;
        let config = self.sm.config;
        if !(config.enable && features.sm) {
            self.sm.phase = Phase::Off;
            return self.outbox.sm.stop();
        }
        let mut enable = Element::new(NS_SM, "enable");
        if config.resume {
            enable.set_attr("resume", "true");
            if let Some(max) = config.max_resume {
                enable.set_attr("max", max.to_string());
            }
        }
        self.outbox.write_element(&enable);
        self.sm.phase = Phase::Enabling;
        self.outbox.sm.restart(true)
    }

    /// After the modules' `online` on a new session: the unacknowledged
    /// messages of the lost one are sent again as they were; everything
    /// else (and everything, without stream management) is given up.
    pub(crate) fn sm_carry_over(&mut self, old: VecDeque<Unacked>) {
        let mut given_up = Vec::new();
        for entry in old {
            if entry.kind == Kind::Message && self.outbox.sm.counting {
                self.outbox.resend(entry, true);
            } else if let Some(id) = entry.id {
                given_up.push(id);
            }
        }
        if !given_up.is_empty() {
            self.sm_event(SmEvent::Unacked { ids: given_up });
        }
    }

    /// A top-level element in the stream management namespace.
    pub(crate) fn sm_nonza(&mut self, element: Element) {
        if self.sm.phase == Phase::Off {
            return self.nonza(element);
        }
        match element.local_name() {
            "r" => {
                // Nothing can follow our `</stream:stream>`.
                if self.outbox.open {
                    let a = format!("<a xmlns='urn:xmpp:sm:3' h='{}'/>", self.sm.handled);
                    self.outbox.write_raw(a.as_bytes());
                    if self.sm.config.report_handled {
                        self.sm_event(SmEvent::Handled { h: self.sm.handled });
                    }
                }
            }
            "a" => match parse_h(element.attr("h")) {
                Some(h) => {
                    self.sm_ack(h);
                }
                None => self.warn(
                    WarningKind::InvalidStanza,
                    "ignored a stream management <a/> without a valid h".into(),
                ),
            },
            "enabled" if self.sm.phase == Phase::Enabling => self.sm_enabled(&element),
            "failed" if self.sm.phase == Phase::Enabling => {
                self.sm.phase = Phase::Off;
                let given_up: Vec<String> = self
                    .outbox
                    .sm
                    .stop()
                    .into_iter()
                    .filter_map(|u| u.id)
                    .collect();
                self.sm_event(SmEvent::EnableFailed {
                    condition: condition(&element),
                });
                if !given_up.is_empty() {
                    self.sm_event(SmEvent::Unacked { ids: given_up });
                }
            }
            _ => self.nonza(element),
        }
    }

    fn sm_enabled(&mut self, element: &Element) {
        self.sm.phase = Phase::On;
        self.sm.handled = 0;
        let resume = matches!(element.attr("resume"), Some("true" | "1"));
        let id = element.attr("id").filter(|id| !id.is_empty());
        let location = element
            .attr("location")
            .filter(|l| !l.is_empty() && l.len() <= MAX_LOCATION)
            .map(str::to_string);
        self.sm.resumable = match (resume, id, self.bound.clone()) {
            (true, Some(id), Some(jid)) if id.len() <= MAX_ID => Some(Resumable {
                id: id.to_string(),
                location: location.clone(),
                jid,
            }),
            (true, Some(_), _) => {
                self.warn(
                    WarningKind::UnexpectedInput,
                    "the server's SM-ID is over 4096 bytes: the session will not be resumed".into(),
                );
                None
            }
            _ => None,
        };
        let resumable = self.sm.resumable.is_some();
        self.sm_event(SmEvent::Enabled {
            resumable,
            location: location.filter(|_| resumable),
        });
    }

    /// An `h` from the server (in `<a/>`, `<resumed/>` or `<failed/>`):
    /// reports what it acknowledges; one beyond what was sent ends the
    /// connection (§6). False when it did.
    pub(crate) fn sm_ack(&mut self, h: u32) -> bool {
        let imported = std::mem::take(&mut self.sm.imported);
        match self.outbox.sm.ack(h) {
            Ok(done) => {
                let ids: Vec<String> = done.into_iter().filter_map(|u| u.id).collect();
                if !ids.is_empty() {
                    self.sm_event(SmEvent::Acked { ids });
                }
                true
            }
            Err(Verdict::Backwards) => {
                self.warn(
                    WarningKind::UnexpectedInput,
                    format!(
                        "ignored the server's h='{h}', behind its earlier h='{}'",
                        self.outbox.sm.acked
                    ),
                );
                true
            }
            Err(_) if imported => {
                // The state was saved before the last stanzas went out.
                self.warn(
                    WarningKind::UnexpectedInput,
                    format!(
                        "the server handled {h} stanzas, more than the imported state's {}: \
                         the process that saved it sent more after; all are acknowledged",
                        self.outbox.sm.sent()
                    ),
                );
                let ids: Vec<String> = self
                    .outbox
                    .sm
                    .adopt(h)
                    .into_iter()
                    .filter_map(|u| u.id)
                    .collect();
                if !ids.is_empty() {
                    self.sm_event(SmEvent::Acked { ids });
                }
                true
            }
            Err(_) => {
                let sent = self.outbox.sm.sent();
                let mut out = b"<stream:error>".to_vec();
                Element::new(NS_STREAM_ERRORS, "undefined-condition").write_xml(&mut out);
                Element::new(NS_SM, "handled-count-too-high")
                    .with_attr("h", h.to_string())
                    .with_attr("send-count", sent.to_string())
                    .write_xml(&mut out);
                out.extend_from_slice(b"</stream:error>");
                if self.state.reads_stream() && !self.state.is_closing() {
                    self.outbox.write_raw(&out);
                }
                // A server that claims what it never got is not trusted
                // with the session.
                self.sm.resumable = None;
                self.fail(DisconnectReason::StreamManagement(
                    SmError::HandledCountTooHigh { h, sent },
                ));
                false
            }
        }
    }

    /// `Timer::AckRequest`: a stanza waited `ack_after` without a request.
    pub(crate) fn sm_ack_timer(&mut self) {
        if self.outbox.open && self.outbox.sm.counting && self.outbox.sm.since_request > 0 {
            self.outbox.sm.since_request = 0;
            self.outbox.write_raw(super::REQUEST);
        }
    }

    /// After each input and command: the ack-request deadline follows the
    /// stanzas no request covers yet, and a server that acknowledges
    /// nothing while twice the bound waits loses the connection.
    pub(crate) fn sm_after_io(&mut self) {
        if !self.outbox.open {
            return;
        }
        if self.outbox.sm.overflow {
            let limit = self.outbox.sm.max.saturating_mul(2);
            return self.fail(DisconnectReason::StreamManagement(
                SmError::TooManyUnacked { limit },
            ));
        }
        if self.outbox.sm.counting && self.outbox.sm.since_request > 0 {
            if self.timers.get(Timer::AckRequest).is_none() {
                self.timers
                    .set(Timer::AckRequest, self.now + self.sm.config.ack_after);
            }
        } else {
            self.timers.stop(Timer::AckRequest);
        }
    }

    /// Our clean close (§4, §7): the last `<a/>`, a last `<r/>` when
    /// stanzas wait, before `</stream:stream>`; the session is not resumed.
    pub(crate) fn sm_close(&mut self) {
        if self.sm.phase == Phase::On && self.outbox.open {
            let a = format!("<a xmlns='urn:xmpp:sm:3' h='{}'/>", self.sm.handled);
            self.outbox.write_raw(a.as_bytes());
            if self.outbox.sm.len() > 0 {
                self.outbox.write_raw(super::REQUEST);
            }
        }
        self.sm.resumable = None;
    }

    /// The connection ended for `reason`; `goes_on`: the session will try
    /// a new transport. Returns whether the session stays resumable (IQs
    /// kept, modules `offline(true)`).
    pub(crate) fn sm_connection_ended(&mut self, reason: &DisconnectReason, goes_on: bool) -> bool {
        self.sm.phase = Phase::Off;
        if matches!(
            reason,
            DisconnectReason::Closed | DisconnectReason::ClosedByServer
        ) {
            // A cleanly closed stream is a finished session (§7).
            self.sm.resumable = None;
        }
        goes_on && self.sm.resumable.is_some()
    }

    /// The session is over: what waits for an ack is given up.
    pub(crate) fn sm_session_ended(&mut self) {
        let ids: Vec<String> = self
            .outbox
            .sm
            .entries()
            .filter_map(|u| u.id.clone())
            .collect();
        if self.sm.resumable.is_none() {
            self.outbox.sm.stop();
        }
        if !ids.is_empty() {
            self.sm_event(SmEvent::Unacked { ids });
        }
    }

    /// What a resumption of this session needs, as data to keep (see
    /// [`ResumptionState`]); `None` when the session cannot be resumed
    /// (stream management off or not resumable, or a clean close).
    /// Available after the session ended too: a new process can resume it.
    pub fn resumption_state(&self) -> Option<ResumptionState> {
        let r = self.sm.resumable.as_ref()?;
        Some(ResumptionState {
            id: r.id.clone(),
            location: r.location.clone(),
            jid: r.jid.clone(),
            handled: self.sm.handled,
            acked: self.outbox.sm.acked,
            unacked: self.outbox.sm.entries().cloned().collect(),
        })
    }

    pub(crate) fn sm_event(&mut self, e: SmEvent) {
        self.events.push_back(Event::StreamManagement(e));
    }
}

/// An `h` attribute: an unsignedInt.
pub(crate) fn parse_h(h: Option<&str>) -> Option<u32> {
    let h = h?;
    if h.is_empty() || h.len() > 10 || !h.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    h.parse().ok()
}

/// The stanza error condition inside a `<failed/>`.
pub(crate) fn condition(failed: &Element) -> Option<String> {
    failed
        .children()
        .find(|c| c.ns() == NS_STANZAS && c.local_name() != "text")
        .map(|c| c.local_name().to_string())
}
