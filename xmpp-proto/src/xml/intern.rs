//! Static strings for the names, namespaces and values that fill XMPP
//! streams. A static `ByteString` costs nothing to clone or drop, while a
//! slice of the receive buffer costs an atomic increment and decrement; the
//! tree of a chat message holds about fifteen strings, so this matters.
//!
//! The lookup returns a `&'static str` (two registers) rather than a
//! `ByteString` (returned through memory): the caller then builds the static
//! `ByteString` inline. [`Interned`] keeps that knowledge for strings that
//! are copied into every element (namespace URIs, the inherited `xml:lang`),
//! so each copy is a few stores instead of a call through the `Bytes` vtable.

use bytestring::ByteString;

/// A string that is either one of the static names below or a shared slice.
#[derive(Clone, Debug)]
pub(crate) enum Interned {
    Static(&'static str),
    Shared(ByteString),
}

impl Interned {
    /// A `ByteString` copy (inline for static strings).
    #[inline]
    pub(crate) fn get(&self) -> ByteString {
        match self {
            Interned::Static(s) => ByteString::from_static(s),
            Interned::Shared(b) => b.clone(),
        }
    }

    /// The `ByteString` itself.
    #[inline]
    pub(crate) fn into_bytestring(self) -> ByteString {
        match self {
            Interned::Static(s) => ByteString::from_static(s),
            Interned::Shared(b) => b,
        }
    }

    /// The static twin when this is a common name (any length).
    pub(crate) fn into_static(self) -> Interned {
        match self {
            Interned::Shared(b) => match common(&b) {
                Some(st) => Interned::Static(st),
                None => Interned::Shared(b),
            },
            st => st,
        }
    }

    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Interned::Static(s) => s,
            Interned::Shared(b) => b,
        }
    }
}

/// `s` (a slice of `frag`) as an [`Interned`] string.
#[inline]
pub(crate) fn interned(frag: &ByteString, s: &str) -> Interned {
    match common(s) {
        Some(st) => Interned::Static(st),
        None => Interned::Shared(frag.slice_ref(s)),
    }
}

/// The static twin of `s`, if it is a common name.
#[inline]
pub(crate) fn common(s: &str) -> Option<&'static str> {
    let known: &'static str = match s.len() {
        1 => match s {
            "c" => "c",
            "x" => "x",
            _ => return None,
        },
        2 => match s {
            "to" => "to",
            "id" => "id",
            "iq" => "iq",
            "by" => "by",
            "en" => "en",
            _ => return None,
        },
        3 => match s {
            "jid" => "jid",
            "ver" => "ver",
            _ => return None,
        },
        4 => match s {
            "from" => "from",
            "type" => "type",
            "body" => "body",
            "item" => "item",
            "role" => "role",
            "name" => "name",
            "node" => "node",
            "hash" => "hash",
            "show" => "show",
            "chat" => "chat",
            "lang" => "lang",
            "last" => "last",
            _ => return None,
        },
        5 => match s {
            "query" => "query",
            "delay" => "delay",
            "stamp" => "stamp",
            "group" => "group",
            "first" => "first",
            "error" => "error",
            "photo" => "photo",
            _ => return None,
        },
        6 => match s {
            "status" => "status",
            "result" => "result",
            "active" => "active",
            "thread" => "thread",
            "stream" => "stream",
            _ => return None,
        },
        7 => match s {
            "message" => "message",
            "subject" => "subject",
            "queryid" => "queryid",
            _ => return None,
        },
        8 => match s {
            "presence" => "presence",
            "priority" => "priority",
            "markable" => "markable",
            "received" => "received",
            _ => return None,
        },
        9 => match s {
            "stanza-id" => "stanza-id",
            "forwarded" => "forwarded",
            "origin-id" => "origin-id",
            _ => return None,
        },
        10 => match s {
            "vcard-temp" => "vcard-temp",
            _ => return None,
        },
        11 => match s {
            "affiliation" => "affiliation",
            "unavailable" => "unavailable",
            _ => return None,
        },
        12 => match s {
            "subscription" => "subscription",
            _ => return None,
        },
        13 => match s {
            "jabber:client" => "jabber:client",
            "urn:xmpp:ping" => "urn:xmpp:ping",
            _ => return None,
        },
        14 => match s {
            "urn:xmpp:sid:0" => "urn:xmpp:sid:0",
            "urn:xmpp:delay" => "urn:xmpp:delay",
            "urn:xmpp:mam:2" => "urn:xmpp:mam:2",
            _ => return None,
        },
        16 => match s {
            "jabber:iq:roster" => "jabber:iq:roster",
            _ => return None,
        },
        17 => match s {
            "urn:xmpp:receipts" => "urn:xmpp:receipts",
            _ => return None,
        },
        18 => match s {
            "urn:xmpp:forward:0" => "urn:xmpp:forward:0",
            "urn:xmpp:carbons:2" => "urn:xmpp:carbons:2",
            _ => return None,
        },
        19 => match s {
            "vcard-temp:x:update" => "vcard-temp:x:update",
            _ => return None,
        },
        22 => match s {
            "urn:xmpp:occupant-id:0" => "urn:xmpp:occupant-id:0",
            _ => return None,
        },
        23 => match s {
            "urn:xmpp:chat-markers:0" => "urn:xmpp:chat-markers:0",
            _ => return None,
        },
        30 => match s {
            "http://jabber.org/protocol/rsm" => "http://jabber.org/protocol/rsm",
            _ => return None,
        },
        31 => match s {
            "http://jabber.org/protocol/caps" => "http://jabber.org/protocol/caps",
            _ => return None,
        },
        32 => match s {
            "http://etherx.jabber.org/streams" => "http://etherx.jabber.org/streams",
            _ => return None,
        },
        35 => match s {
            "http://jabber.org/protocol/muc#user" => "http://jabber.org/protocol/muc#user",
            "urn:ietf:params:xml:ns:xmpp-stanzas" => "urn:ietf:params:xml:ns:xmpp-stanzas",
            _ => return None,
        },
        36 => match s {
            "http://www.w3.org/XML/1998/namespace" => "http://www.w3.org/XML/1998/namespace",
            _ => return None,
        },
        37 => match s {
            "http://jabber.org/protocol/chatstates" => "http://jabber.org/protocol/chatstates",
            _ => return None,
        },
        _ => return None,
    };
    Some(known)
}

/// `s` as a shared string: static when common, else a slice of `frag`.
#[inline]
pub(crate) fn slice(frag: &ByteString, s: &str) -> ByteString {
    match common(s) {
        Some(st) => ByteString::from_static(st),
        None => frag.slice_ref(s),
    }
}

/// Byte equality without a call into `memcmp` (names are short).
#[inline]
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_names_are_static_and_equal() {
        for s in [
            "to",
            "message",
            "jabber:client",
            "http://jabber.org/protocol/caps",
            "jabber:iq:roster",
        ] {
            assert_eq!(common(s), Some(s));
        }
        assert_eq!(common("tox"), None);
        assert!(same("body", "body") && !same("body", "bodx") && !same("a", "ab"));
    }
}
