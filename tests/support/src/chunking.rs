//! Differential chunking check for `StreamReader`, shared by the tests
//! and the fuzz target (`use xmpp_test_support::chunking;`).
//!
//! The reader's contract is that the events and the error it reports depend
//! only on the bytes, never on how they were split into `feed` calls. This
//! module feeds the same bytes whole and split, draining events after every
//! feed, then calls `finish`, and checks that both runs agree exactly
//! (events, inherited languages, error kind and offset, bytes consumed), as
//! well as a few protocol invariants of each single run. It depends on
//! nothing but `xmpp_proto`.

#![allow(dead_code)]

use xmpp_proto::xml::{Element, ReaderLimits, StreamEvent, StreamReader, XmlError};

/// One reader event, owned, comparable.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The stream header (root start tag).
    Header(Element),
    /// A complete top-level element.
    Element(Element),
    /// The root element closed.
    End,
}

impl Event {
    fn from_stream(ev: StreamEvent) -> Self {
        match ev {
            StreamEvent::Header(e) => Event::Header(e),
            StreamEvent::Element(e) => Event::Element(e),
            StreamEvent::End => Event::End,
        }
    }
}

/// Everything one run of the reader over some input reported.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The events, in order.
    pub events: Vec<Event>,
    /// The error that ended the stream, if any (always after all events).
    pub error: Option<XmlError>,
    /// `bytes_consumed()` after `finish` and draining, when the stream did
    /// not fail; 0 after an error (how far the reader got before it stopped
    /// depends on how much had been fed, so it is not compared).
    pub bytes_consumed: u64,
}

impl Outcome {
    /// The number of `Element` events (stanzas).
    pub fn stanzas(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::Element(_)))
            .count()
    }

    /// True when the header, then elements, then `End` arrived without error.
    pub fn is_clean(&self) -> bool {
        self.error.is_none()
            && matches!(self.events.first(), Some(Event::Header(_)))
            && matches!(self.events.last(), Some(Event::End))
    }
}

/// Reader limits as plain numbers (so callers need not build `ReaderLimits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_stanza_size: usize,
    pub max_depth: usize,
    pub max_attributes: usize,
    pub max_buffered: usize,
}

impl Limits {
    /// The reader's own defaults.
    pub fn defaults() -> Self {
        let d = ReaderLimits::default();
        Limits {
            max_stanza_size: d.max_stanza_size,
            max_depth: d.max_depth,
            max_attributes: d.max_attributes,
            max_buffered: d.max_buffered,
        }
    }

    /// Small limits, so that short (fuzz) inputs reach them.
    pub fn small() -> Self {
        Limits {
            max_stanza_size: 200,
            max_depth: 6,
            max_attributes: 4,
            max_buffered: 64,
        }
    }

    /// Limits large enough for the big generated corpora.
    pub fn large() -> Self {
        Limits {
            max_stanza_size: 64 << 20,
            max_depth: 64,
            max_attributes: 64,
            max_buffered: 64 << 20,
        }
    }

    /// The `ReaderLimits` with these numbers.
    pub fn to_reader(self) -> ReaderLimits {
        ReaderLimits {
            max_stanza_size: self.max_stanza_size,
            max_depth: self.max_depth,
            max_attributes: self.max_attributes,
            max_buffered: self.max_buffered,
        }
    }
}

/// Drains every available event into `out`, checking the per-run protocol
/// invariants (header first, nothing after `End` but an error, the error
/// last and once). Returns after `None`.
fn drain(reader: &mut StreamReader, out: &mut Outcome) {
    while let Some(item) = reader.next_event() {
        assert!(
            out.error.is_none(),
            "next_event returned {item:?} after the error {:?}",
            out.error
        );
        match item {
            Ok(ev) => {
                let ev = Event::from_stream(ev);
                let ended = out.events.iter().any(|e| matches!(e, Event::End));
                assert!(!ended, "event {ev:?} after End");
                match &ev {
                    Event::Header(_) => assert!(
                        out.events.is_empty(),
                        "Header after other events: {:?}",
                        out.events.len()
                    ),
                    Event::Element(_) | Event::End => assert!(
                        matches!(out.events.first(), Some(Event::Header(_))),
                        "{ev:?} before any Header"
                    ),
                }
                out.events.push(ev);
            }
            Err(e) => out.error = Some(e),
        }
    }
}

/// Runs a reader over `chunks` (draining after every feed), then `finish`.
/// Also checks that the reader stays silent after an error or after the end
/// (more `feed`, a second `finish`), and that `finish` leaves a stream that
/// produced a header either ended or failed.
pub fn run<'a>(chunks: impl IntoIterator<Item = &'a [u8]>, limits: Limits) -> Outcome {
    let mut reader = StreamReader::new(limits.to_reader());
    let mut out = Outcome {
        events: Vec::new(),
        error: None,
        bytes_consumed: 0,
    };
    for chunk in chunks {
        reader.feed(chunk);
        drain(&mut reader, &mut out);
    }
    reader.finish();
    drain(&mut reader, &mut out);
    out.bytes_consumed = if out.error.is_none() {
        reader.bytes_consumed()
    } else {
        0
    };

    if !out.events.is_empty() {
        assert!(
            out.error.is_some() || matches!(out.events.last(), Some(Event::End)),
            "after finish() a stream with a header must have ended or failed; got {} events, last {:?}",
            out.events.len(),
            out.events.last()
        );
    }
    // After finish: a second finish yields nothing new.
    reader.finish();
    assert!(
        reader.next_event().is_none(),
        "a second finish() produced another event"
    );
    // After an error, more input is ignored.
    if out.error.is_some() {
        reader.feed(b"<a/></stream:stream>");
        reader.finish();
        assert!(
            reader.next_event().is_none(),
            "feed after an error produced an event"
        );
    }
    out
}

/// Splits `data` at `points` (taken modulo `len + 1`, sorted, duplicates
/// kept so that empty chunks are fed too).
pub fn split_at_points<'a>(data: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut pts: Vec<usize> = points.iter().map(|p| p % (data.len() + 1)).collect();
    pts.sort_unstable();
    let mut chunks = Vec::with_capacity(pts.len() + 1);
    let mut prev = 0;
    for p in pts {
        chunks.push(&data[prev..p]);
        prev = p;
    }
    chunks.push(&data[prev..]);
    chunks
}

/// Chunks of `size` bytes (the last may be shorter).
pub fn fixed_chunks(data: &[u8], size: usize) -> Vec<&[u8]> {
    data.chunks(size.max(1)).collect()
}

/// Chunk boundaries from a seeded SplitMix64: about one cut per `mean` bytes.
pub fn pseudo_random_points(len: usize, seed: u64, mean: usize) -> Vec<usize> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut pts = Vec::new();
    let mut pos = 0usize;
    loop {
        pos += (next() % (2 * mean.max(1) as u64 + 1)) as usize;
        if pos > len {
            break;
        }
        pts.push(pos);
    }
    pts
}

/// FNV-1a of `data` (a deterministic seed derived from the input).
pub fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Panics with a readable report when `chunked` differs from `whole`.
pub fn assert_same(whole: &Outcome, chunked: &Outcome, what: &str) {
    if whole == chunked {
        // PartialEq on Element ignores the inherited xml:lang; Debug shows it.
        let (a, b) = (format!("{whole:?}"), format!("{chunked:?}"));
        if a == b {
            return;
        }
    }
    let first_diff = whole
        .events
        .iter()
        .zip(&chunked.events)
        .position(|(a, b)| a != b || format!("{a:?}") != format!("{b:?}"))
        .unwrap_or(whole.events.len().min(chunked.events.len()));
    panic!(
        "chunking changed the result ({what}):\n  whole:   {} events, error {:?}, consumed {}\n  chunked: {} events, error {:?}, consumed {}\n  first differing event #{first_diff}:\n    whole:   {:?}\n    chunked: {:?}",
        whole.events.len(),
        whole.error,
        whole.bytes_consumed,
        chunked.events.len(),
        chunked.error,
        chunked.bytes_consumed,
        whole.events.get(first_diff),
        chunked.events.get(first_diff),
    );
}

/// The differential check: feeds `data` whole, then split at `points`
/// (see [`split_at_points`]), and asserts both runs agree. Returns the
/// whole-input outcome.
pub fn check_split(data: &[u8], points: &[usize], limits: Limits) -> Outcome {
    let whole = run([data], limits);
    let chunked = run(split_at_points(data, points), limits);
    assert_same(&whole, &chunked, "split at given points");
    whole
}

/// The full differential check used by the fuzz target and the corpus test:
/// whole vs the explicit `points`, vs a seeded pseudo-random split, vs
/// 7-byte chunks, and (for inputs up to `one_byte_max` bytes) vs 1-byte
/// chunks. Returns the whole-input outcome.
pub fn check_all(data: &[u8], points: &[usize], limits: Limits, one_byte_max: usize) -> Outcome {
    let whole = run([data], limits);
    if !points.is_empty() {
        let chunked = run(split_at_points(data, points), limits);
        assert_same(&whole, &chunked, "explicit split points");
    }
    let seed = fnv1a(data);
    let random = pseudo_random_points(data.len(), seed, 1 + (seed % 97) as usize);
    assert_same(
        &whole,
        &run(split_at_points(data, &random), limits),
        "seeded pseudo-random split",
    );
    assert_same(&whole, &run(fixed_chunks(data, 7), limits), "7-byte chunks");
    if data.len() <= one_byte_max {
        assert_same(&whole, &run(fixed_chunks(data, 1), limits), "1-byte chunks");
    }
    whole
}

/// Decodes a fuzz input. A plain input is the stream itself (so seed files
/// are readable XMPP streams). An input starting with the two marker bytes
/// `FF 00` (never the start of a UTF-8 stream, nor of a UTF-16 BOM) carries
/// explicit split points and a limits choice first:
/// `FF 00 flags n, n × u16 little-endian split points, stream bytes`
/// (flags bit 0: try [`Limits::small`] first). Returns
/// `(stream, points, small_limits_first)`.
pub fn decode_fuzz_input(input: &[u8]) -> (&[u8], Vec<usize>, bool) {
    if input.len() >= 4 && input[0] == 0xFF && input[1] == 0x00 {
        let flags = input[2];
        let n = input[3] as usize;
        let body = &input[4..];
        let n = n.min(body.len() / 2);
        let points = body[..2 * n]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]) as usize)
            .collect();
        (&body[2 * n..], points, flags & 1 == 1)
    } else {
        (input, Vec::new(), false)
    }
}

/// Encodes `stream` with explicit split points in the format
/// [`decode_fuzz_input`] reads (at most 255 points, each below 65536).
pub fn encode_fuzz_input(stream: &[u8], points: &[usize], small_limits_first: bool) -> Vec<u8> {
    let points: Vec<u16> = points.iter().take(255).map(|&p| p as u16).collect();
    let mut out = vec![0xFF, 0x00, u8::from(small_limits_first), points.len() as u8];
    for p in points {
        out.extend_from_slice(&p.to_le_bytes());
    }
    out.extend_from_slice(stream);
    out
}

/// The fuzz target body: decode, then the differential check under the
/// default limits and under small limits (so that limit errors are also
/// checked for chunking invariance).
pub fn fuzz_one(input: &[u8]) {
    let (data, points, small_first) = decode_fuzz_input(input);
    let order = if small_first {
        [Limits::small(), Limits::defaults()]
    } else {
        [Limits::defaults(), Limits::small()]
    };
    for limits in order {
        check_all(data, &points, limits, 4096);
    }
}
