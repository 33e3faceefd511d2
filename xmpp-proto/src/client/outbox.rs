//! Everything that leaves the client: the write buffer (one flush = one
//! transmit), stanza ids from the seeded entropy, the IQ requests in flight,
//! and stream management's queue of unacknowledged stanzas (every stanza
//! is written here, so none leaves uncounted).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::entropy::Entropy;
use crate::iq_tracker::IqTracker;
use crate::stanza::{Iq, Stanza, NS_CLIENT};
use crate::xml::Element;

use super::sm::{Kind, SmQueue, Unacked, REQUEST};
use super::SendError;

/// Who waits for an IQ response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IqOwner {
    /// The application ([`Event::IqResponse`](crate::Event::IqResponse)).
    App,
    /// A registered module, by index.
    Module(usize),
}

/// The outgoing side of a session.
#[derive(Debug)]
pub(crate) struct Outbox {
    buf: Vec<u8>,
    pub(crate) entropy: Entropy,
    pub(crate) tracker: IqTracker,
    pub(crate) owners: HashMap<String, IqOwner>,
    iq_timeout: Duration,
    /// Something was queued since the last keepalive check.
    pub(crate) wrote: bool,
    /// Stanzas may be written (the session is online).
    pub(crate) open: bool,
    /// XEP-0198: the stanzas written and not yet acknowledged.
    pub(crate) sm: SmQueue,
}

impl Outbox {
    pub(crate) fn new(
        entropy: Entropy,
        tracker: IqTracker,
        iq_timeout: Duration,
        sm: SmQueue,
    ) -> Self {
        Outbox {
            buf: Vec::new(),
            entropy,
            tracker,
            owners: HashMap::new(),
            iq_timeout,
            wrote: false,
            open: false,
            sm,
        }
    }

    /// Queues raw bytes (stream headers, the closing tag, keepalives).
    pub(crate) fn write_raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.wrote = true;
    }

    /// Queues an element as a child of our `jabber:client` stream.
    pub(crate) fn write_element(&mut self, e: &Element) {
        e.write_in_stream(&mut self.buf, NS_CLIENT);
        self.wrote = true;
    }

    /// Queues a stanza, giving it an id if it has none.
    pub(crate) fn send_stanza(&mut self, stanza: Stanza) {
        let kind = match stanza {
            Stanza::Message(_) => Kind::Message,
            Stanza::Presence(_) => Kind::Presence,
            Stanza::Iq(_) => Kind::Iq,
        };
        let mut e = Element::from(stanza);
        if e.attr("id").is_none() {
            let id = self.entropy.id();
            e.set_attr("id", id);
        }
        self.write_stanza(&e, kind);
    }

    /// Queues a stanza element as it is; stream management keeps what went
    /// out (and asks for an ack every `ack_every` stanzas).
    pub(crate) fn write_stanza(&mut self, e: &Element, kind: Kind) {
        let start = self.buf.len();
        self.write_element(e);
        if self.sm.counting {
            let entry = Unacked {
                kind,
                id: e.attr("id").map(str::to_string),
                bytes: self.buf[start..].into(),
            };
            if self.sm.push(entry) {
                self.write_raw(REQUEST);
            }
        }
    }

    /// Sends an unacknowledged stanza of a lost session again, as it was;
    /// `count`: in the new session's queue (a fresh session), else it is
    /// still in the queue (a resumption).
    pub(crate) fn resend(&mut self, entry: Unacked, count: bool) {
        self.write_raw(&entry.bytes);
        if count && self.sm.counting && self.sm.push(entry) {
            self.write_raw(REQUEST);
        }
    }

    /// After `<resumed/>`: every stanza still unacknowledged goes out
    /// again, in order. Returns how many.
    pub(crate) fn resend_all(&mut self) -> usize {
        let mut n = 0;
        for entry in self.sm.entries() {
            self.buf.extend_from_slice(&entry.bytes);
            n += 1;
        }
        self.wrote |= n > 0;
        n
    }

    /// The stanza's id, after giving it a fresh one when it has none (an
    /// IQ's empty id counts as none).
    pub(crate) fn ensure_id(&mut self, stanza: &mut Stanza) -> String {
        let slot = match stanza {
            Stanza::Message(m) => &mut m.id,
            Stanza::Presence(p) => &mut p.id,
            Stanza::Iq(iq) => {
                if iq.id.is_empty() {
                    iq.id = self.entropy.id();
                }
                return iq.id.clone();
            }
        };
        slot.get_or_insert_with(|| self.entropy.id()).clone()
    }

    /// Tracks an IQ request about to be sent (giving it an id when it has
    /// none): its answer goes to `owner`. Returns the id.
    pub(crate) fn track_iq(
        &mut self,
        now: Instant,
        iq: &mut Iq,
        owner: IqOwner,
    ) -> Result<String, SendError> {
        if !iq.is_request() {
            return Err(SendError::NotARequest);
        }
        if iq.id.is_empty() {
            iq.id = self.entropy.id();
        }
        let id = iq.id.clone();
        self.tracker
            .register(id.clone(), iq.to.clone(), now + self.iq_timeout)
            .map_err(SendError::Iq)?;
        self.owners.insert(id.clone(), owner);
        Ok(id)
    }

    /// A fresh id.
    pub(crate) fn new_id(&mut self) -> String {
        self.entropy.id()
    }

    /// Everything queued since the last call.
    pub(crate) fn take(&mut self) -> Option<Vec<u8>> {
        if self.buf.is_empty() {
            None
        } else {
            // The buffer leaves with the transmit: an idle session holds none.
            Some(std::mem::take(&mut self.buf))
        }
    }

    /// Drops queued bytes (the transport is gone).
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
    }
}
