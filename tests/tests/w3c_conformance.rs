//! Runs the W3C XML Conformance Test Suite (edition 20130923, vendored in
//! `tests/xmlconf/`) through `xmpp_proto::xml::StreamReader`.
//!
//! Selected: every XML 1.0 (5th edition) and Namespaces 1.0 case for a
//! namespace-aware processor (see `w3c/catalog.rs`). Expected under our
//! restricted-XML profile: every `not-wf` case is rejected; a `valid` or
//! `invalid` case is accepted exactly when `w3c/oracle.rs` says so (UTF-8, no
//! DTD / comment / PI, namespace-well-formed); `error` cases are only run and
//! reported. Each document is fed whole and in 1-byte chunks, and `finish()`
//! is called; "accepted" means no error event at all, and both runs must
//! agree. See `docs/conformance.md`.

mod w3c;

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use w3c::catalog::{load_cases, CaseType};
use w3c::oracle::{expect_well_formed, has_doctype, Verdict};
use xmpp_proto::xml::{StreamReader, XmlError};

/// What the reader did with one document.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Accepted,
    Rejected { kind: &'static str, offset: u64 },
    Panicked(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Accepted => f.write_str("accepted"),
            Outcome::Rejected { kind, offset } => write!(f, "rejected ({kind} at byte {offset})"),
            Outcome::Panicked(msg) => write!(f, "PANIC: {msg}"),
        }
    }
}

/// Feeds `doc` in `chunk`-byte pieces, draining events after each, then
/// calls `finish()`. The first error event decides the outcome.
fn run(doc: &[u8], chunk: usize) -> Outcome {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut reader = StreamReader::new(Default::default());
        for piece in doc.chunks(chunk.max(1)) {
            reader.feed(piece);
            if let Some(e) = first_error(&mut reader) {
                return e;
            }
        }
        reader.finish();
        first_error(&mut reader).map_or(Outcome::Accepted, |e| e)
    }));
    result.unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
        Outcome::Panicked(msg.unwrap_or_default())
    })
}

fn first_error(reader: &mut StreamReader) -> Option<Outcome> {
    while let Some(event) = reader.next_event() {
        if let Err(XmlError { kind, offset, .. }) = event {
            return Some(Outcome::Rejected { kind: kind.as_str(), offset });
        }
    }
    None
}

/// Per case type: how many ran, how many have no DTD, how many the reader accepted.
#[derive(Default)]
struct Tally {
    run: usize,
    without_dtd: usize,
    expect_accept: usize,
    accepted: usize,
}

#[test]
fn w3c_xml_conformance() {
    let cases = load_cases();
    let mut tallies: BTreeMap<CaseType, Tally> = BTreeMap::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut not_wf_kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut optional = Vec::new();
    for case in &cases {
        let doc = std::fs::read(&case.path)
            .unwrap_or_else(|e| panic!("{}: cannot read {}: {e}", case.id, case.path.display()));
        let whole = run(&doc, doc.len());
        let bytewise = run(&doc, 1);
        let expected = match case.ty {
            CaseType::NotWf => Some(Verdict::Reject("not well-formed".into())),
            CaseType::Valid | CaseType::Invalid => Some(expect_well_formed(&doc)),
            CaseType::Error => None,
        };
        let tally = tallies.entry(case.ty).or_default();
        tally.run += 1;
        tally.without_dtd += usize::from(!has_doctype(&doc));
        tally.accepted += usize::from(whole == Outcome::Accepted);
        tally.expect_accept += usize::from(expected == Some(Verdict::Accept));
        if let (CaseType::Valid | CaseType::Invalid, Some(Verdict::Reject(why))) = (case.ty, &expected) {
            let category = why.split(" (").next().unwrap_or(why);
            let category = category.strip_prefix("declares encoding").map_or(category, |_| "non-UTF-8 encoding");
            *reasons.entry(category.to_owned()).or_default() += 1;
        }
        if let (CaseType::NotWf, Outcome::Rejected { kind, .. }) = (case.ty, &whole) {
            *not_wf_kinds.entry(kind.to_string()).or_default() += 1;
        }
        let label = format!("{} ({})", case.id, case.rel_path);
        if whole != bytewise {
            failures.push(format!("{label}: whole input {whole}, but 1-byte chunks {bytewise}"));
        }
        match (&expected, &whole) {
            (_, Outcome::Panicked(_)) => failures.push(format!("{label}: {whole}")),
            (None, _) => optional.push(format!("{label}: {whole}")),
            (Some(Verdict::Accept), Outcome::Accepted)
            | (Some(Verdict::Reject(_)), Outcome::Rejected { .. }) => {}
            (Some(Verdict::Accept), got) => {
                failures.push(format!("{label}: expected accepted, got {got}"))
            }
            (Some(Verdict::Reject(why)), got) => {
                failures.push(format!("{label}: expected rejected ({why}), got {got}"))
            }
        }
    }

    println!("W3C XML Conformance Test Suite 20130923: {} cases run", cases.len());
    for (ty, t) in &tallies {
        println!(
            "  {ty:?}: {} run, {} without a DTD; expected accepted {}, reader accepted {}",
            t.run, t.without_dtd, t.expect_accept, t.accepted
        );
    }
    println!("  valid/invalid cases expected rejected, by reason: {reasons:?}");
    println!("  not-wf cases rejected, by error kind: {not_wf_kinds:?}");
    println!("  optional `error` cases (no expectation):");
    for line in &optional {
        println!("    {line}");
    }

    // Sane minimums, so a broken catalog path or filter cannot pass vacuously.
    let count = |ty| tallies.get(&ty).map_or(0, |t| t.run);
    let expect_accept: usize = tallies.values().map(|t| t.expect_accept).sum();
    assert!(count(CaseType::NotWf) >= 900, "too few not-wf cases ran");
    assert!(count(CaseType::Valid) >= 600, "too few valid cases ran");
    assert!(count(CaseType::Invalid) >= 200, "too few invalid cases ran");
    assert!(count(CaseType::Error) >= 20, "too few error cases ran");
    assert!(expect_accept >= 30, "too few cases expected to be accepted");

    assert!(
        failures.is_empty(),
        "{} of {} W3C cases mismatch:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The oracle itself, on small documents (the suite's namespace cases mostly
/// carry comments, so they never reach its namespace checks).
#[test]
fn oracle_sanity() {
    let accept = |doc: &str| expect_well_formed(doc.as_bytes()) == Verdict::Accept;
    assert!(accept("<a/>"));
    assert!(accept("\u{feff}<?xml version='1.0' encoding='utf-8'?>\n<a x='1'><![CDATA[<!-- <?pi?>]]></a>"));
    assert!(accept("<p:a xmlns:p='urn:p' xmlns:q='urn:q' p:x='1' q:y='2'><b xmlns=''/></p:a>"));
    assert!(!accept("<?xml version='1.0' encoding='ISO-8859-1'?><a/>"));
    assert!(!accept("<!DOCTYPE a><a/>"));
    assert!(!accept("<a/><!-- c -->"));
    assert!(!accept("<?pi?><a/>"));
    assert!(!accept("<p:a/>"));
    assert!(!accept("<a xmlns:p='urn:p' xmlns:q='urn:p' p:x='1' q:x='2'/>"));
    assert!(!accept("<a xmlns:p=''/>"));
    assert!(!accept("<a xmlns:xmlns='urn:x'/>"));
    assert!(!accept("<a xmlns:xml='urn:x'/>"));
    assert!(!accept("<a xmlns:p='urn:p'><p:/></a>"));
    assert!(!accept("<a :b='1'/>"));
    assert!(!accept("<a xmlns:a='urn:a'><a:b:c/></a>"));
    assert!(!expect_well_formed(&[0xff, 0xfe, b'<', 0, b'a', 0, b'/', 0, b'>', 0]).eq(&Verdict::Accept));
}
