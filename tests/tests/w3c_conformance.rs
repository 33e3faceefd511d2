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

use w3c::catalog::{load_cases, Case, CaseType};
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
        first_error(&mut reader).unwrap_or(Outcome::Accepted)
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
            return Some(Outcome::Rejected {
                kind: kind.as_str(),
                offset,
            });
        }
    }
    None
}

/// Per case type: how many ran, how many have no DTD, how many were expected
/// to be accepted, and how many the reader accepted.
#[derive(Default)]
struct Tally {
    run: usize,
    without_dtd: usize,
    expect_accept: usize,
    accepted: usize,
}

/// Everything the run found out.
#[derive(Default)]
struct Report {
    tallies: BTreeMap<CaseType, Tally>,
    /// Why valid/invalid cases are expected to be rejected.
    reasons: BTreeMap<String, usize>,
    /// Which error kinds rejected the not-wf cases.
    not_wf_kinds: BTreeMap<&'static str, usize>,
    /// Outcomes of the `error` cases (no expectation).
    optional: Vec<String>,
    failures: Vec<String>,
}

impl Report {
    fn check(&mut self, case: &Case) {
        let doc = std::fs::read(&case.path)
            .unwrap_or_else(|e| panic!("{}: cannot read {}: {e}", case.id, case.path.display()));
        let whole = run(&doc, doc.len());
        let bytewise = run(&doc, 1);
        let expected = match case.ty {
            CaseType::NotWf => Some(Verdict::Reject("not well-formed".into())),
            CaseType::Valid | CaseType::Invalid => Some(expect_well_formed(&doc)),
            CaseType::Error => None,
        };
        let tally = self.tallies.entry(case.ty).or_default();
        tally.run += 1;
        tally.without_dtd += usize::from(!has_doctype(&doc));
        tally.accepted += usize::from(whole == Outcome::Accepted);
        tally.expect_accept += usize::from(expected == Some(Verdict::Accept));
        match (&expected, &whole) {
            (Some(Verdict::Reject(why)), _) if case.ty != CaseType::NotWf => {
                let reason = why.split(" (").next().unwrap_or(why);
                let reason = reason
                    .strip_prefix("declares encoding")
                    .map_or(reason, |_| "non-UTF-8 encoding");
                *self.reasons.entry(reason.to_owned()).or_default() += 1;
            }
            (_, Outcome::Rejected { kind, .. }) if case.ty == CaseType::NotWf => {
                *self.not_wf_kinds.entry(kind).or_default() += 1;
            }
            _ => {}
        }

        let label = format!("{} ({})", case.id, case.rel_path);
        if whole != bytewise {
            let failure = format!("{label}: whole input {whole}, but 1-byte chunks {bytewise}");
            self.failures.push(failure);
        }
        match (&expected, &whole) {
            (_, Outcome::Panicked(_)) => self.failures.push(format!("{label}: {whole}")),
            (None, _) => self.optional.push(format!("{label}: {whole}")),
            (Some(Verdict::Accept), Outcome::Accepted)
            | (Some(Verdict::Reject(_)), Outcome::Rejected { .. }) => {}
            (Some(Verdict::Accept), got) => {
                let failure = format!("{label}: expected accepted, got {got}");
                self.failures.push(failure);
            }
            (Some(Verdict::Reject(why)), got) => {
                let failure = format!("{label}: expected rejected ({why}), got {got}");
                self.failures.push(failure);
            }
        }
    }

    fn print(&self, total: usize) {
        println!("W3C XML Conformance Test Suite 20130923: {total} cases run");
        for (ty, t) in &self.tallies {
            println!(
                "  {ty:?}: {} run, {} without a DTD; expected accepted {}, reader accepted {}",
                t.run, t.without_dtd, t.expect_accept, t.accepted
            );
        }
        println!(
            "  valid/invalid expected rejected, by reason: {:?}",
            self.reasons
        );
        println!("  not-wf rejected, by error kind: {:?}", self.not_wf_kinds);
        println!("  optional `error` cases (no expectation):");
        for line in &self.optional {
            println!("    {line}");
        }
    }

    fn count(&self, ty: CaseType) -> usize {
        self.tallies.get(&ty).map_or(0, |t| t.run)
    }
}

#[test]
fn w3c_xml_conformance() {
    let cases = load_cases();
    let mut report = Report::default();
    for case in &cases {
        report.check(case);
    }
    report.print(cases.len());

    // Sane minimums, so a broken catalog path or filter cannot pass vacuously.
    let expect_accept: usize = report.tallies.values().map(|t| t.expect_accept).sum();
    assert!(
        report.count(CaseType::NotWf) >= 1000,
        "too few not-wf cases ran"
    );
    assert!(
        report.count(CaseType::Valid) >= 700,
        "too few valid cases ran"
    );
    assert!(
        report.count(CaseType::Invalid) >= 200,
        "too few invalid cases ran"
    );
    assert!(
        report.count(CaseType::Error) >= 20,
        "too few error cases ran"
    );
    assert!(expect_accept >= 30, "too few cases expected to be accepted");

    let failures = &report.failures;
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
    assert!(accept(
        "\u{feff}<?xml version='1.0' encoding='utf-8'?>\n<a x='1'><![CDATA[<!-- <?pi?>]]></a>"
    ));
    assert!(accept(
        "<p:a xmlns:p='urn:p' xmlns:q='urn:q' p:x='1' q:y='2'><b xmlns=''/></p:a>"
    ));
    assert!(!accept("<?xml version='1.0' encoding='ISO-8859-1'?><a/>"));
    assert!(!accept("<!DOCTYPE a><a/>"));
    assert!(!accept("<a/><!-- c -->"));
    assert!(!accept("<?pi?><a/>"));
    assert!(!accept("<p:a/>"));
    assert!(!accept(
        "<a xmlns:p='urn:p' xmlns:q='urn:p' p:x='1' q:x='2'/>"
    ));
    assert!(!accept("<a xmlns:p=''/>"));
    assert!(!accept("<a xmlns:xmlns='urn:x'/>"));
    assert!(!accept("<a xmlns:xml='urn:x'/>"));
    assert!(!accept("<a xmlns:p='urn:p'><p:/></a>"));
    assert!(!accept("<a :b='1'/>"));
    assert!(!accept("<a xmlns:a='urn:a'><a:b:c/></a>"));
    assert!(
        !expect_well_formed(&[0xff, 0xfe, b'<', 0, b'a', 0, b'/', 0, b'>', 0]).eq(&Verdict::Accept)
    );
}
