//! Hostile inputs against the stream reader, each about one maximal stanza
//! (under the default 256 KiB limit), fed whole, in 7-byte and in 1-byte
//! reads: the time to the end of the input (events drained as they come)
//! and the outcome, which must be the same in all three chunkings.
//!
//! `cargo bench -p xmpp-proto --bench adversarial` (about 10 s). Figures
//! are in docs/performance.md. Best of 7 runs per figure; plain `main`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use xmpp_proto::xml::{ReaderLimits, StreamEvent, StreamReader, XmlErrorKind};

const OPEN: &str =
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

/// Events and the first error's kind, for the sameness check.
#[derive(Debug, PartialEq)]
struct Outcome {
    elements: usize,
    error: Option<(XmlErrorKind, u64)>,
}

fn parse(doc: &[u8], chunk: usize) -> Outcome {
    let mut reader = StreamReader::new(ReaderLimits::default());
    let mut out = Outcome {
        elements: 0,
        error: None,
    };
    let drain = |reader: &mut StreamReader, out: &mut Outcome| {
        while let Some(event) = reader.next_event() {
            match event {
                Ok(StreamEvent::Element(e)) => {
                    black_box(&e);
                    out.elements += 1;
                }
                Ok(_) => {}
                Err(e) => out.error = Some((e.kind, e.offset)),
            }
        }
    };
    for piece in doc.chunks(chunk) {
        reader.feed(piece);
        drain(&mut reader, &mut out);
    }
    drain(&mut reader, &mut out);
    out
}

fn best(doc: &[u8], chunk: usize) -> Duration {
    (0..7)
        .map(|_| {
            let t = Instant::now();
            black_box(parse(doc, chunk));
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// `n` prefix declarations per level over `depth` levels, then `leaves`
/// leaves each with `n` attributes in the innermost level's prefixes: every
/// attribute's prefix lookup walks the whole scope chain.
fn prefixes(depth: usize, n: usize, leaves: usize) -> String {
    let mut s = String::from(OPEN);
    s.push_str("<message>");
    for d in 0..depth {
        s.push_str("<e");
        for j in 0..n {
            s.push_str(&format!(" xmlns:p{d}x{j}='u{j}'"));
        }
        s.push('>');
    }
    let last = depth.saturating_sub(1);
    for _ in 0..leaves {
        s.push_str("<l");
        for j in 0..n {
            s.push_str(&format!(" p{last}x{j}:a='1'"));
        }
        s.push_str("/>");
    }
    for _ in 0..depth {
        s.push_str("</e>");
    }
    s.push_str("</message>");
    s
}

fn in_message(body: &str) -> String {
    format!("{OPEN}<message>{body}</message>")
}

fn main() {
    let cases: Vec<(&str, String)> = vec![
        ("250 KB of text", in_message(&"y".repeat(250_000))),
        (
            "17,000 x `y<![CDATA[x]]>`",
            in_message(&"y<![CDATA[x]]>".repeat(17_000)),
        ),
        (
            "19,000 x `<![CDATA[x]]>`",
            in_message(&"<![CDATA[x]]>".repeat(19_000)),
        ),
        (
            "50,000 x `x<b/>` (text and tags)",
            in_message(&"x<b/>".repeat(50_000)),
        ),
        (
            "255 leaves x 40 prefixed attrs, 60 x 40 decls",
            prefixes(60, 40, 255),
        ),
        ("the same leaves at depth 1", prefixes(1, 40, 255)),
        (
            "one CDATA section full of `<`",
            in_message(&format!("<![CDATA[{}]]>", "<".repeat(200_000))),
        ),
        (
            "15,000 tiny CDATA sections holding `<`",
            in_message(&"<![CDATA[a<b]]>".repeat(15_000)),
        ),
        (
            "200 KB attribute value full of `<>` (error)",
            in_message(&format!("<x a='{}'/>", "<>".repeat(100_000))),
        ),
        ("200,000 `<` (error)", in_message(&"<".repeat(200_000))),
        (
            "unterminated comment (error)",
            in_message(&format!("<!--{}", "c".repeat(200_000))),
        ),
        (
            "endless text (buffer limit)",
            format!("{OPEN}<message>{}", "t".repeat(400_000)),
        ),
    ];
    println!(
        "{:<48} {:>8} {:>10} {:>10} {:>10}  outcome",
        "input", "size", "whole", "7 B reads", "1 B reads"
    );
    println!("{}", "-".repeat(110));
    for (name, doc) in &cases {
        let doc = doc.as_bytes();
        let whole = parse(doc, doc.len());
        for chunk in [7, 1] {
            assert_eq!(
                parse(doc, chunk),
                whole,
                "{name}: {chunk}-byte reads changed the outcome"
            );
        }
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
        let outcome = match &whole.error {
            None => format!("{} element(s)", whole.elements),
            Some((kind, at)) => format!("{kind:?} at {at}"),
        };
        println!(
            "{:<48} {:>6}KB {:>10} {:>10} {:>10}  {}",
            name,
            doc.len() / 1000,
            ms(best(doc, doc.len())),
            ms(best(doc, 7)),
            ms(best(doc, 1)),
            outcome
        );
    }
}
