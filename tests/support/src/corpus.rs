//! Seeded generator of realistic server-to-client XMPP streams.
//!
//! Shared by the benchmarks, the tests (`use xmpp_test_support::corpus;`)
//! and the fuzz seed corpus. Deterministic: every function uses a fixed-seed
//! PRNG, so the same call always returns the same bytes. No dependencies.
//!
//! Every generator returns `(bytes, stanza_count)`: the stream header
//! followed by `stanza_count` top-level elements, WITHOUT the closing
//! `</stream:stream>` (see [`with_footer`]).

#![allow(dead_code)]

/// The closing tag of the stream.
pub const FOOTER: &str = "</stream:stream>";

/// The stanza namespace of the generated streams.
pub const NS_CLIENT: &str = "jabber:client";

/// SplitMix64: tiny, fast, good enough for test data.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator with the given seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent as usize
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }

    /// `len` lowercase hex digits.
    pub fn hex(&mut self, len: usize) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        (0..len).map(|_| HEX[self.below(16)] as char).collect()
    }

    /// `len` characters from an id-safe alphabet.
    pub fn token(&mut self, len: usize) -> String {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..len)
            .map(|_| ALNUM[self.below(ALNUM.len())] as char)
            .collect()
    }
}

/// Appends the closing `</stream:stream>`, returning the bytes.
pub fn with_footer(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.extend_from_slice(FOOTER.as_bytes());
    bytes
}

/// The XML declaration plus the server's stream header (with stream id `id`).
pub fn header(id: &str) -> String {
    format!(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
         xmlns:stream='http://etherx.jabber.org/streams' from='example.com' \
         id='{id}' version='1.0' xml:lang='en'>"
    )
}

/// Length in bytes of the header that [`header`] produces for the stream ids
/// used here (all 16 characters).
pub fn header_len() -> usize {
    header("0123456789abcdef").len()
}

const USERS: &[&str] = &[
    "juliet",
    "romeo",
    "benvolio",
    "mercutio",
    "nurse",
    "tybalt",
    "zoë",
    "jürgen",
    "hélène",
    "søren",
    "李雷",
    "ana.maria",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "example.net",
    "capulet.lit",
    "montague.lit",
    "jabber.example.org",
];
const RESOURCES: &[&str] = &[
    "balcony",
    "orchard",
    "Conversations.xY3z",
    "gajim.K2DF8S",
    "Dino.4fa1c2",
    "phone",
    "laptop-42",
];
const WORDS: &[&str] = &[
    "hello",
    "there",
    "how",
    "are",
    "you",
    "today",
    "the",
    "meeting",
    "is",
    "at",
    "noon",
    "café",
    "über",
    "déjà",
    "vu",
    "naïve",
    "Straße",
    "漢字",
    "日本語",
    "テスト",
    "😀",
    "🎉",
    "👍🏽",
    "&amp;",
    "&lt;tag&gt;",
    "&quot;quoted&quot;",
    "it&apos;s",
    "&#x1F600;",
    "&#233;",
    "5 &gt; 3",
    "a+b=c",
    "https://example.com/?a=1&amp;b=2",
    "ok",
    "thanks!",
    "see",
    "you",
    "soon",
    "—",
    "…",
];
const SHOWS: &[&str] = &["away", "chat", "dnd", "xa"];
const STATUSES: &[&str] = &[
    "In a meeting",
    "Working from home 🏠",
    "Bin gleich zurück",
    "En réunion &amp; occupé",
    "休憩中",
    "&lt;3",
];
const CAPS_NODES: &[&str] = &[
    "https://conversations.im",
    "https://gajim.org",
    "https://dino.im",
    "http://psi-im.org",
];
const GROUPS: &[&str] = &[
    "Friends",
    "Family",
    "Work",
    "Freunde",
    "Collègues",
    "家族",
    "Book club &amp; wine",
];
const SUBSCRIPTIONS: &[&str] = &["both", "both", "both", "to", "from", "none"];
const AFFILIATIONS: &[&str] = &["owner", "admin", "member", "member", "none"];
const ROLES: &[&str] = &["moderator", "participant", "participant", "visitor"];

fn bare_jid(rng: &mut Rng) -> String {
    format!("{}@{}", rng.pick(USERS), rng.pick(DOMAINS))
}

fn full_jid(rng: &mut Rng) -> String {
    format!("{}/{}", bare_jid(rng), rng.pick(RESOURCES))
}

/// A sentence of 3..20 words (already escaped for XML text).
fn sentence(rng: &mut Rng) -> String {
    let n = 3 + rng.below(18);
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(rng.pick(WORDS));
    }
    s
}

fn stamp(rng: &mut Rng) -> String {
    format!(
        "2026-11-{:02}T{:02}:{:02}:{:02}Z",
        1 + rng.below(25),
        rng.below(24),
        rng.below(60),
        rng.below(60)
    )
}

fn start(id_seed: u64) -> (Rng, String) {
    let mut rng = Rng::new(id_seed);
    let id = rng.hex(16);
    (rng, header(&id))
}

/// Writes one chat message's attributes and children (without the outer
/// start/end tags) into `out`; `xmlns` adds an explicit `xmlns='jabber:client'`.
fn chat_message(rng: &mut Rng, out: &mut String, xmlns: bool, rich: bool) {
    let from = full_jid(rng);
    let to = full_jid(rng);
    out.push_str("<message");
    if xmlns {
        out.push_str(" xmlns='jabber:client'");
    }
    out.push_str(&format!(
        " to='{to}' from='{from}' type='chat' id='{}'>",
        rng.token(12)
    ));
    out.push_str("<body>");
    out.push_str(&sentence(rng));
    out.push_str("</body>");
    if rich {
        if rng.chance(20) {
            out.push_str(&format!("<thread>{}</thread>", rng.hex(16)));
        }
        if rng.chance(50) {
            out.push_str("<active xmlns='http://jabber.org/protocol/chatstates'/>");
        }
        if rng.chance(30) {
            out.push_str("<markable xmlns='urn:xmpp:chat-markers:0'/>");
        }
        if rng.chance(40) {
            out.push_str(&format!(
                "<origin-id xmlns='urn:xmpp:sid:0' id='{}'/>",
                rng.token(20)
            ));
        }
        if rng.chance(60) {
            out.push_str(&format!(
                "<stanza-id xmlns='urn:xmpp:sid:0' id='{}' by='{}'/>",
                rng.token(16),
                bare_jid(rng)
            ));
        }
        if rng.chance(20) {
            out.push_str(&format!(
                "<delay xmlns='urn:xmpp:delay' from='{}' stamp='{}'/>",
                rng.pick(DOMAINS),
                stamp(rng)
            ));
        }
    }
    out.push_str("</message>");
}

/// `n` chat messages: full JIDs, ids, bodies with non-ASCII text and
/// entities, some chat states / stanza-ids / delays, about 10% wrapped in a
/// message carbon.
pub fn messages(n: usize) -> (Vec<u8>, usize) {
    let (mut rng, mut out) = start(0x6d65_7373_6167_6573);
    out.reserve(n * 450);
    for i in 0..n {
        if rng.chance(10) {
            let me = bare_jid(&mut rng);
            out.push_str(&format!(
                "<message from='{me}' to='{me}/{}' type='chat' id='carbon-{i}'>\
                 <received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>",
                rng.pick(RESOURCES)
            ));
            chat_message(&mut rng, &mut out, true, true);
            out.push_str("</forwarded></received></message>");
        } else {
            chat_message(&mut rng, &mut out, false, true);
        }
        // The occasional whitespace keepalive between stanzas.
        if rng.chance(2) {
            out.push(' ');
        }
    }
    (out.into_bytes(), n)
}

/// `n` plain chat messages: `<message to from type id><body>…</body></message>` only.
pub fn plain_messages(n: usize) -> (Vec<u8>, usize) {
    let (mut rng, mut out) = start(0x706c_6169_6e00_0001);
    out.reserve(n * 250);
    for _ in 0..n {
        chat_message(&mut rng, &mut out, false, false);
    }
    (out.into_bytes(), n)
}

/// One roster result (`jabber:iq:roster`) with `items` items.
pub fn roster(items: usize) -> (Vec<u8>, usize) {
    let (mut rng, mut out) = start(0x726f_7374_6572_0001);
    out.reserve(items * 120 + 200);
    out.push_str(&format!(
        "<iq to='{}' type='result' id='{}'><query xmlns='jabber:iq:roster' ver='ver{}'>",
        full_jid(&mut rng),
        rng.token(10),
        rng.below(1000)
    ));
    for i in 0..items {
        let user = rng.pick(USERS);
        let domain = rng.pick(DOMAINS);
        out.push_str(&format!("<item jid='{user}{i}@{domain}'"));
        if rng.chance(80) {
            out.push_str(&format!(" name='{} {}'", user, rng.pick(WORDS)));
        }
        out.push_str(&format!(" subscription='{}'", rng.pick(SUBSCRIPTIONS)));
        if rng.chance(5) {
            out.push_str(" ask='subscribe'");
        }
        let groups = match rng.below(10) {
            0..=4 => 0,
            5..=8 => 1,
            _ => 2,
        };
        if groups == 0 {
            out.push_str("/>");
        } else {
            out.push('>');
            for _ in 0..groups {
                out.push_str(&format!("<group>{}</group>", rng.pick(GROUPS)));
            }
            out.push_str("</item>");
        }
    }
    out.push_str("</query></iq>");
    (out.into_bytes(), 1)
}

/// `n` presences: about two thirds contacts (caps, show, status, priority,
/// some vcard-temp:x:update), one third MUC occupants (muc#user items).
pub fn presences(n: usize) -> (Vec<u8>, usize) {
    let (mut rng, mut out) = start(0x7072_6573_656e_6365);
    out.reserve(n * 400);
    let me = full_jid(&mut rng);
    for _ in 0..n {
        let caps = format!(
            "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='{}' ver='{}='/>",
            rng.pick(CAPS_NODES),
            rng.token(27)
        );
        if rng.chance(33) {
            let room = format!("room{}@conference.{}", rng.below(20), rng.pick(DOMAINS));
            out.push_str(&format!(
                "<presence from='{room}/{}' to='{me}' id='{}'>",
                rng.pick(USERS),
                rng.token(8)
            ));
            if rng.chance(30) {
                out.push_str(&format!("<show>{}</show>", rng.pick(SHOWS)));
            }
            out.push_str(&caps);
            if rng.chance(50) {
                out.push_str(&format!(
                    "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='{}'/>",
                    rng.token(24)
                ));
            }
            out.push_str(&format!(
                "<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='{}' role='{}' jid='{}'/>",
                rng.pick(AFFILIATIONS),
                rng.pick(ROLES),
                full_jid(&mut rng)
            ));
            if rng.chance(10) {
                out.push_str("<status code='110'/>");
            }
            out.push_str("</x></presence>");
        } else {
            out.push_str(&format!(
                "<presence from='{}' to='{me}'",
                full_jid(&mut rng)
            ));
            if rng.chance(10) {
                out.push_str(" type='unavailable'/>");
                continue;
            }
            out.push('>');
            if rng.chance(40) {
                out.push_str(&format!("<show>{}</show>", rng.pick(SHOWS)));
            }
            if rng.chance(50) {
                out.push_str(&format!("<status>{}</status>", rng.pick(STATUSES)));
            }
            out.push_str(&format!("<priority>{}</priority>", rng.below(128)));
            out.push_str(&caps);
            if rng.chance(40) {
                out.push_str(&format!(
                    "<x xmlns='vcard-temp:x:update'><photo>{}</photo></x>",
                    rng.hex(40)
                ));
            }
            out.push_str("</presence>");
        }
    }
    (out.into_bytes(), n)
}

/// `pages` MAM result pages of `per_page` archived messages each, every
/// page closed by its `<fin/>` iq: `pages * (per_page + 1)` stanzas.
pub fn mam_pages(pages: usize, per_page: usize) -> (Vec<u8>, usize) {
    let (mut rng, mut out) = start(0x6d61_6d00_0000_0001);
    out.reserve(pages * per_page * 600);
    let me = full_jid(&mut rng);
    for page in 0..pages {
        let queryid = format!("q{page}-{}", rng.token(8));
        let mut first = String::new();
        let mut last = String::new();
        for i in 0..per_page {
            let id = rng.token(16);
            if i == 0 {
                first = id.clone();
            }
            last = id.clone();
            out.push_str(&format!(
                "<message to='{me}' from='{}'><result xmlns='urn:xmpp:mam:2' queryid='{queryid}' id='{id}'>\
                 <forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='{}'/>",
                me.split('/').next().unwrap(),
                stamp(&mut rng)
            ));
            chat_message(&mut rng, &mut out, true, false);
            out.push_str("</forwarded></result></message>");
        }
        out.push_str(&format!(
            "<iq to='{me}' type='result' id='{queryid}'><fin xmlns='urn:xmpp:mam:2' complete='{}'>\
             <set xmlns='http://jabber.org/protocol/rsm'><first index='{}'>{first}</first>\
             <last>{last}</last><count>{}</count></set></fin></iq>",
            if page + 1 == pages { "true" } else { "false" },
            page * per_page,
            pages * per_page
        ));
    }
    (out.into_bytes(), pages * (per_page + 1))
}

/// Standard base64 of `data`, wrapped with '\n' every 76 characters (as
/// many clients send PHOTO BINVAL).
pub fn base64_wrapped(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut raw = String::with_capacity(data.len() * 4 / 3 + 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        raw.push(ALPHABET[(n >> 18) as usize & 63] as char);
        raw.push(ALPHABET[(n >> 12) as usize & 63] as char);
        raw.push(if chunk.len() > 1 {
            ALPHABET[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        raw.push(if chunk.len() > 2 {
            ALPHABET[n as usize & 63] as char
        } else {
            '='
        });
    }
    let mut out = String::with_capacity(raw.len() + raw.len() / 76 + 1);
    for (i, c) in raw.chars().enumerate() {
        if i > 0 && i % 76 == 0 {
            out.push('\n');
        }
        out.push(c);
    }
    out
}

/// One vcard-temp iq result of about `size` bytes of stanza, most of it a
/// base64 PHOTO BINVAL.
pub fn vcard(size: usize) -> (Vec<u8>, usize) {
    let (mut rng, mut out) = start(0x7663_6172_6400_0001);
    let head = format!(
        "<iq from='romeo@example.net' to='{}' type='result' id='{}'><vCard xmlns='vcard-temp'>\
         <FN>Romeo Montague</FN><N><FAMILY>Montague</FAMILY><GIVEN>Romeo</GIVEN><MIDDLE/></N>\
         <NICKNAME>Roméo 🌹</NICKNAME><URL>https://montague.lit/~romeo?lang=en&amp;v=2</URL>\
         <BDAY>1996-07-31</BDAY><ORG><ORGNAME>House Montague</ORGNAME><ORGUNIT>Verona</ORGUNIT></ORG>\
         <TITLE>Lover</TITLE><TEL><HOME/><VOICE/><NUMBER>+39 045 000 0000</NUMBER></TEL>\
         <ADR><HOME/><STREET>Via Cappello 23</STREET><LOCALITY>Verona</LOCALITY><CTRY>Italia</CTRY></ADR>\
         <EMAIL><INTERNET/><PREF/><USERID>romeo@montague.lit</USERID></EMAIL>\
         <DESC>&lt;3 Juliet — 漢字 &amp; more</DESC><PHOTO><TYPE>image/jpeg</TYPE><BINVAL>",
        full_jid(&mut rng),
        rng.token(10)
    );
    let tail = "</BINVAL></PHOTO></vCard></iq>";
    let budget = size.saturating_sub(head.len() + tail.len());
    // base64 with a newline every 76 chars: 77 output bytes per 57 input bytes.
    let raw_len = budget * 57 / 77;
    let photo: Vec<u8> = (0..raw_len).map(|_| rng.next_u64() as u8).collect();
    out.push_str(&head);
    out.push_str(&base64_wrapped(&photo));
    out.push_str(tail);
    (out.into_bytes(), 1)
}

/// A small mixed stream (a few of every kind), handy as a test or fuzz seed.
pub fn mixed_small() -> (Vec<u8>, usize) {
    let parts = [messages(4), presences(4), mam_pages(1, 2), roster(5)];
    let (mut out, _) = plain_messages(0);
    let hl = out.len();
    let mut count = 0;
    for (bytes, n) in parts {
        out.extend_from_slice(&bytes[hl..]);
        count += n;
    }
    (out, count)
}
