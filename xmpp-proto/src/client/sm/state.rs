//! The resumption state (XEP-0198 §5) as data the application keeps: the
//! SM-ID, the server's preferred location, the bound JID, both counters and
//! the unacknowledged stanzas. [`Client::resumption_state`](crate::Client::resumption_state)
//! exports it; [`ConfigBuilder::resume_from`](crate::ConfigBuilder::resume_from)
//! imports it, so that a process started again resumes the session.
//!
//! As bytes ([`ResumptionState::to_bytes`]) it is a small versioned format
//! a store keeps as an opaque blob. Reading it back
//! ([`ResumptionState::from_bytes`]) trusts nothing: every length is
//! checked against what is left before anything is allocated, every string
//! must be UTF-8, the JID must parse, and every stanza must be one
//! well-formed `<message/>`, `<presence/>` or `<iq/>` (it is re-read and
//! written anew, so nothing but a whole stanza can reach the stream).
//!
//! Format, version 1 (integers big-endian):
//! `"XSM"`, version `1`; SM-ID (`u16` length, 1..=4096 bytes); location
//! (`u8` 0 or 1, then `u16` length, at most 1024 bytes); full JID (`u16`
//! length); `h` received (`u32`); `h` acknowledged (`u32`); the number of
//! stanzas (`u32`), each a `u32` length and its bytes (at most 1 MiB).

use crate::stanza::{FullJid, NS_CLIENT};
use crate::xml::{Element, ReaderLimits, StreamEvent, StreamReader};

use super::queue::{Kind, Unacked};

const MAGIC: &[u8; 3] = b"XSM";
const VERSION: u8 = 1;
/// XEP-0198 §5: an SM-ID SHOULD NOT be longer than 4000 bytes.
pub(crate) const MAX_ID: usize = 4096;
/// A `location` is a host and a port.
pub(crate) const MAX_LOCATION: usize = 1024;
/// The largest stanza kept (the reader's default stanza limit is lower).
const MAX_STANZA: usize = 1 << 20;

/// Why bytes are not a resumption state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResumptionStateError {
    /// The bytes do not start with the format's mark.
    #[error("not a resumption state (no XSM mark)")]
    NotAState,
    /// A version this library does not read.
    #[error("resumption state version {0} is not supported (this library reads version 1)")]
    UnsupportedVersion(u8),
    /// The bytes end before the state does.
    #[error("the resumption state is truncated")]
    Truncated,
    /// A field is longer than its limit.
    #[error("the {0} of the resumption state is too long")]
    TooLong(&'static str),
    /// A field that must be text is not UTF-8 (or is empty).
    #[error("the {0} of the resumption state is not valid text")]
    InvalidText(&'static str),
    /// The JID is not a full JID.
    #[error("the JID of the resumption state is not a full JID")]
    InvalidJid,
    /// A kept stanza is not one well-formed message, presence or IQ.
    #[error("stanza {0} of the resumption state is not a well-formed stanza")]
    InvalidStanza(usize),
    /// Bytes follow the state.
    #[error("bytes follow the resumption state")]
    TrailingBytes,
}

/// What a session needs to be resumed, on a new transport or by a new
/// process: see [`Client::resumption_state`](crate::Client::resumption_state).
#[derive(Clone, PartialEq, Eq)]
pub struct ResumptionState {
    pub(crate) id: String,
    pub(crate) location: Option<String>,
    pub(crate) jid: FullJid,
    pub(crate) handled: u32,
    pub(crate) acked: u32,
    pub(crate) unacked: Vec<Unacked>,
}

impl std::fmt::Debug for ResumptionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResumptionState")
            .field("jid", &self.jid)
            .field("location", &self.location)
            .field("handled", &self.handled)
            .field("acked", &self.acked)
            .field("unacked", &self.unacked.len())
            .finish_non_exhaustive()
    }
}

impl ResumptionState {
    /// A state with no unacknowledged stanza: the SM-ID the server gave
    /// (`<enabled id=…/>`), the full JID bound in that session, the
    /// stanzas received from the server (`handled`, our `h`) and the last
    /// `h` the server acknowledged (`acked`), both modulo 2^32. For
    /// importing a state kept by other means; the usual way to get one is
    /// [`Client::resumption_state`](crate::Client::resumption_state).
    pub fn new(
        id: impl Into<String>,
        jid: FullJid,
        handled: u32,
        acked: u32,
    ) -> Result<Self, ResumptionStateError> {
        let id = id.into();
        if id.is_empty() {
            return Err(ResumptionStateError::InvalidText("SM-ID"));
        }
        if id.len() > MAX_ID {
            return Err(ResumptionStateError::TooLong("SM-ID"));
        }
        Ok(ResumptionState {
            id,
            location: None,
            jid,
            handled,
            acked,
            unacked: Vec::new(),
        })
    }

    /// The SM-ID (`previd` of the `<resume/>`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Where the server prefers to be reconnected to (`<enabled
    /// location=…/>`, "host:port"), if it said: a driver connects there
    /// first, and to the usual address when that fails.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// The full JID of the session.
    pub fn jid(&self) -> &FullJid {
        &self.jid
    }

    /// Stanzas received from the server (our `h`), modulo 2^32.
    pub fn handled(&self) -> u32 {
        self.handled
    }

    /// The last `h` the server acknowledged, modulo 2^32.
    pub fn acked(&self) -> u32 {
        self.acked
    }

    /// The ids of the unacknowledged stanzas, in the order they were sent
    /// (a raw stanza sent without an id has none).
    pub fn unacked_ids(&self) -> impl Iterator<Item = Option<&str>> {
        self.unacked.iter().map(|u| u.id.as_deref())
    }

    /// The state as bytes (see the module documentation for the format).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            64 + self.id.len()
                + self
                    .unacked
                    .iter()
                    .map(|u| 4 + u.bytes.len())
                    .sum::<usize>(),
        );
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        put_short(&mut out, self.id.as_bytes());
        match &self.location {
            Some(l) => {
                out.push(1);
                put_short(&mut out, l.as_bytes());
            }
            None => out.push(0),
        }
        put_short(&mut out, self.jid.as_str().as_bytes());
        out.extend_from_slice(&self.handled.to_be_bytes());
        out.extend_from_slice(&self.acked.to_be_bytes());
        out.extend_from_slice(&(self.unacked.len() as u32).to_be_bytes());
        for u in &self.unacked {
            out.extend_from_slice(&(u.bytes.len() as u32).to_be_bytes());
            out.extend_from_slice(&u.bytes);
        }
        out
    }

    /// Reads a state written by [`ResumptionState::to_bytes`]. Hostile or
    /// damaged bytes are a typed error, never a panic, and never allocate
    /// more than their own length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ResumptionStateError> {
        let mut r = Reader(bytes);
        if r.take(3)? != MAGIC {
            return Err(ResumptionStateError::NotAState);
        }
        let version = r.byte()?;
        if version != VERSION {
            return Err(ResumptionStateError::UnsupportedVersion(version));
        }
        let id = r.text("SM-ID", MAX_ID)?;
        let location = match r.byte()? {
            0 => None,
            1 => Some(r.text("location", MAX_LOCATION)?),
            _ => return Err(ResumptionStateError::InvalidText("location")),
        };
        let jid = r.text("JID", 3071)?;
        let jid = FullJid::new(&jid).map_err(|_| ResumptionStateError::InvalidJid)?;
        let handled = r.u32()?;
        let acked = r.u32()?;
        let count = r.u32()? as usize;
        // Each stanza takes at least its 4-byte length: no count claims
        // more room than the bytes have.
        if count > r.0.len() / 4 {
            return Err(ResumptionStateError::Truncated);
        }
        let mut unacked = Vec::with_capacity(count);
        for index in 0..count {
            let len = r.u32()? as usize;
            if len > MAX_STANZA {
                return Err(ResumptionStateError::TooLong("stanza"));
            }
            let raw = r.take(len)?;
            unacked.push(read_stanza(raw).ok_or(ResumptionStateError::InvalidStanza(index))?);
        }
        if !r.0.is_empty() {
            return Err(ResumptionStateError::TrailingBytes);
        }
        Ok(ResumptionState {
            id,
            location,
            jid,
            handled,
            acked,
            unacked,
        })
    }
}

fn put_short(out: &mut Vec<u8>, field: &[u8]) {
    // Every short field is bounded far below 2^16 where it is accepted.
    let len = field.len().min(u16::MAX as usize);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&field[..len]);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ResumptionStateError> {
        if self.0.len() < n {
            return Err(ResumptionStateError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, ResumptionStateError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, ResumptionStateError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn text(&mut self, field: &'static str, max: usize) -> Result<String, ResumptionStateError> {
        let b = self.take(2)?;
        let len = u16::from_be_bytes([b[0], b[1]]) as usize;
        if len > max {
            return Err(ResumptionStateError::TooLong(field));
        }
        match std::str::from_utf8(self.take(len)?) {
            Ok(s) if !s.is_empty() => Ok(s.to_string()),
            _ => Err(ResumptionStateError::InvalidText(field)),
        }
    }
}

/// One whole stanza of our stream, read and written anew; `None` for
/// anything else (several elements, text, another element, bad XML).
pub(crate) fn read_stanza(raw: &[u8]) -> Option<Unacked> {
    let limits = ReaderLimits {
        max_stanza_size: MAX_STANZA,
        ..ReaderLimits::default()
    };
    let mut reader = StreamReader::new(limits);
    reader.feed(
        b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
    );
    reader.feed(raw);
    reader.feed(b"</stream:stream>");
    reader.finish();
    let mut element: Option<Element> = None;
    let mut ended = false;
    while let Some(event) = reader.next_event() {
        match event.ok()? {
            StreamEvent::Header(_) => {}
            StreamEvent::Element(e) if element.is_none() && !ended => element = Some(e),
            StreamEvent::End if element.is_some() => ended = true,
            _ => return None,
        }
    }
    let element = element.filter(|_| ended)?;
    if element.ns() != NS_CLIENT {
        return None;
    }
    let kind = Kind::of(element.local_name())?;
    let mut bytes = Vec::with_capacity(raw.len());
    element.write_in_stream(&mut bytes, NS_CLIENT);
    Some(Unacked {
        kind,
        id: element.attr("id").map(str::to_string),
        bytes: bytes.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> ResumptionState {
        let mut s = ResumptionState::new(
            "sm-1",
            FullJid::new("juliet@example.com/balcony").unwrap(),
            7,
            u32::MAX,
        )
        .unwrap();
        s.location = Some("[2001:db8::1]:5222".into());
        for raw in [
            "<message to='romeo@example.net' id='m1' type='chat'><body>a &amp; b</body></message>",
            "<presence/>",
        ] {
            s.unacked.push(read_stanza(raw.as_bytes()).unwrap());
        }
        s
    }

    #[test]
    fn round_trips_through_bytes() {
        let s = state();
        let bytes = s.to_bytes();
        assert_eq!(&bytes[..4], b"XSM\x01");
        let back = ResumptionState::from_bytes(&bytes).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.unacked_ids().collect::<Vec<_>>(), [Some("m1"), None]);
        assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn hostile_bytes_are_typed_errors() {
        use ResumptionStateError as E;
        let good = state().to_bytes();
        assert_eq!(ResumptionState::from_bytes(b""), Err(E::Truncated));
        assert_eq!(ResumptionState::from_bytes(b"XYZ\x01"), Err(E::NotAState));
        assert_eq!(
            ResumptionState::from_bytes(b"XSM\x02"),
            Err(E::UnsupportedVersion(2))
        );
        // Every truncation is refused.
        for n in 0..good.len() {
            assert!(ResumptionState::from_bytes(&good[..n]).is_err(), "{n}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(
            ResumptionState::from_bytes(&trailing),
            Err(E::TrailingBytes)
        );
        // A count of stanzas far beyond the bytes allocates nothing.
        let mut huge = state();
        huge.unacked.clear();
        let mut b = huge.to_bytes();
        let at = b.len() - 4;
        b[at..].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(ResumptionState::from_bytes(&b), Err(E::Truncated));
        // A stanza that is not one whole stanza of ours.
        for bad in [
            "<message/><message/>",
            "<message>",
            "</stream:stream><message/>",
            "<foo xmlns='urn:x'/>",
            "text",
            "<message xmlns='urn:other'/>",
            "",
        ] {
            let mut s = state();
            s.unacked.truncate(0);
            let mut b = s.to_bytes();
            let at = b.len() - 4;
            b[at..].copy_from_slice(&1u32.to_be_bytes());
            b.extend_from_slice(&(bad.len() as u32).to_be_bytes());
            b.extend_from_slice(bad.as_bytes());
            assert_eq!(
                ResumptionState::from_bytes(&b),
                Err(E::InvalidStanza(0)),
                "{bad}"
            );
        }
        // A JID that is not full (no resource).
        let s = state();
        let mut b = s.to_bytes();
        let jid = b"juliet@example.com/balcony";
        let at = b.windows(jid.len()).position(|w| w == jid).unwrap();
        b[at + 18] = b'x';
        assert_eq!(ResumptionState::from_bytes(&b), Err(E::InvalidJid));
        assert!(ResumptionState::new("", s.jid.clone(), 0, 0).is_err());
        assert!(ResumptionState::new("x".repeat(5000), s.jid.clone(), 0, 0).is_err());
    }
}
