//! Reader throughput benchmark: `cargo bench -p xmpp-proto --bench reader`.
//!
//! For each generated corpus (see `xmpp_test_support::corpus`) it
//! measures, in the same run and on the same bytes:
//!   (a) raw `xmlparser::Tokenizer` tokenization of the whole document
//!       (every token visited, none may be an error; the UTF-8 check that
//!       `&str` needs is done once, outside the timing),
//!   (b) `StreamReader` fed the whole document, draining every event and
//!       building every stanza's element tree (UTF-8 validation, namespace
//!       resolution, unescaping included),
//! and prints MB/s, stanzas/s, heap allocations per stanza for (b) (counted
//! by a wrapping global allocator) and the (b)/(a) throughput ratio. Then the
//! cost of chunked input: the same parse fed in small chunks vs whole.
//!
//! Each figure is the best of several samples. Plain `main`, no criterion.
//! Options: `cargo bench -p xmpp-proto --bench reader -- --quick` (fewer
//! samples, smaller corpora; for smoke tests); a plain argument runs only the
//! corpora whose name contains it (`-- plain_messages`, for profiling), and
//! `--reader-only` skips timing (a).

use xmpp_test_support::corpus;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use xmpp_proto::xml::{ReaderLimits, StreamEvent, StreamReader};

// ---------------------------------------------------------------------------
// Counting allocator

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static REALLOCS: AtomicU64 = AtomicU64::new(0);
static ALLOC_BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the counters are plain atomics and never affect the result.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        ALLOC_BYTES.fetch_add(layout.size() as u64, Relaxed);
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        ALLOC_BYTES.fetch_add(layout.size() as u64, Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        REALLOCS.fetch_add(1, Relaxed);
        ALLOC_BYTES.fetch_add(new_size.saturating_sub(layout.size()) as u64, Relaxed);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Clone, Copy, Default)]
struct AllocCount {
    allocs: u64,
    reallocs: u64,
    bytes: u64,
}

fn alloc_snapshot() -> AllocCount {
    AllocCount {
        allocs: ALLOCS.load(Relaxed),
        reallocs: REALLOCS.load(Relaxed),
        bytes: ALLOC_BYTES.load(Relaxed),
    }
}

fn allocs_during<R>(f: impl FnOnce() -> R) -> (R, AllocCount) {
    let a = alloc_snapshot();
    let r = f();
    let b = alloc_snapshot();
    (
        r,
        AllocCount {
            allocs: b.allocs - a.allocs,
            reallocs: b.reallocs - a.reallocs,
            bytes: b.bytes - a.bytes,
        },
    )
}

// ---------------------------------------------------------------------------
// The two workloads

/// (a): visit every xmlparser token of the document; returns the token count.
fn tokenize(doc: &str) -> usize {
    let mut n = 0usize;
    for token in xmlparser::Tokenizer::from(doc) {
        match token {
            Ok(t) => {
                black_box(&t);
                n += 1;
            }
            Err(e) => panic!("xmlparser failed on the corpus: {e}"),
        }
    }
    n
}

fn limits() -> ReaderLimits {
    ReaderLimits {
        max_stanza_size: 64 << 20,
        max_buffered: 1 << 30,
        max_depth: 64,
        max_attributes: 64,
    }
}

/// (b): run a `StreamReader` over `doc` fed in `chunk`-byte pieces (whole
/// when `None`), draining after every feed; returns the number of stanzas.
/// Panics on any error or a missing header/end.
fn parse(doc: &[u8], chunk: Option<usize>) -> usize {
    let mut reader = StreamReader::new(limits());
    let mut stanzas = 0usize;
    let mut header = false;
    let mut end = false;
    let mut drain = |reader: &mut StreamReader| {
        while let Some(ev) = reader.next_event() {
            match ev {
                Ok(StreamEvent::Element(e)) => {
                    black_box(&e);
                    stanzas += 1;
                }
                Ok(StreamEvent::Header(h)) => {
                    black_box(&h);
                    header = true;
                }
                Ok(StreamEvent::End) => end = true,
                Err(e) => panic!("StreamReader failed on the corpus: {e}"),
            }
        }
    };
    match chunk {
        None => {
            reader.feed(doc);
            drain(&mut reader);
        }
        Some(size) => {
            for piece in doc.chunks(size) {
                reader.feed(piece);
                drain(&mut reader);
            }
        }
    }
    reader.finish();
    drain(&mut reader);
    assert!(header && end, "stream header or end missing");
    stanzas
}

// ---------------------------------------------------------------------------
// Timing

struct Timing {
    quick: bool,
}

impl Timing {
    /// Best per-iteration time of `f` over several samples (see `best_pair`).
    fn best(&self, f: impl FnMut()) -> Duration {
        self.sampled(&mut [Box::new(f)])[0]
    }

    /// Best per-iteration times of `f` and `g`, their samples alternating
    /// (f, g, f, g, ...), so that both see the same machine: this VM's
    /// speed drifts by several percent over seconds, which moves a ratio
    /// of two figures timed in separate windows.
    fn best_pair(&self, f: impl FnMut(), g: impl FnMut()) -> (Duration, Duration) {
        let best = self.sampled(&mut [Box::new(f), Box::new(g)]);
        (best[0], best[1])
    }

    /// Each sample runs one function enough times to last at least ~30 ms;
    /// the functions take turns, at least 3 and at most `max_rounds` rounds,
    /// stopping early once `budget` is spent. Returns each one's best
    /// per-iteration time.
    fn sampled(&self, fs: &mut [Box<dyn FnMut() + '_>]) -> Vec<Duration> {
        let (max_rounds, budget) = if self.quick {
            (2, Duration::from_millis(300) * fs.len() as u32)
        } else {
            (9, Duration::from_secs(4) * fs.len() as u32)
        };
        // Warm-up, and a first estimate of each.
        let counts: Vec<u32> = fs
            .iter_mut()
            .map(|f| {
                let t = Instant::now();
                f();
                let one = t.elapsed().max(Duration::from_nanos(1));
                ((Duration::from_millis(30).as_nanos() / one.as_nanos()) as u32).max(1)
            })
            .collect();
        let started = Instant::now();
        let mut best = vec![Duration::MAX; fs.len()];
        for round in 0..max_rounds {
            for ((f, &n), best) in fs.iter_mut().zip(&counts).zip(best.iter_mut()) {
                let t = Instant::now();
                for _ in 0..n {
                    f();
                }
                *best = (*best).min(t.elapsed() / n);
            }
            if round >= 2 && started.elapsed() > budget {
                break;
            }
        }
        best
    }
}

fn mb_per_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn per_s(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn human_rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.1} ")
    }
}

fn human_bytes(n: usize) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1 << 20) as f64)
    } else {
        format!("{:.0} KiB", n as f64 / 1024.0)
    }
}

// ---------------------------------------------------------------------------

struct Corpus {
    name: String,
    doc: Vec<u8>,
    stanzas: usize,
}

fn main() {
    // `cargo bench` passes `--bench`; libtest-style filters are ignored.
    let quick = std::env::args().any(|a| a == "--quick");
    // For profilers: time only the StreamReader side.
    let reader_only = std::env::args().any(|a| a == "--reader-only");
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let selected = |name: &str| filter.as_ref().is_none_or(|f| name.contains(f.as_str()));
    let timing = Timing { quick };
    let scale = |n: usize| if quick { (n / 20).max(1) } else { n };

    let t0 = Instant::now();
    let make = |name: &str, (bytes, stanzas): (Vec<u8>, usize)| Corpus {
        name: name.to_string(),
        doc: corpus::with_footer(bytes),
        stanzas,
    };
    let corpora = [
        make(
            &format!("messages {}", scale(100_000)),
            corpus::messages(scale(100_000)),
        ),
        make(
            &format!("plain_messages {}", scale(100_000)),
            corpus::plain_messages(scale(100_000)),
        ),
        make(
            &format!("roster {} items", scale(5_000)),
            corpus::roster(scale(5_000)),
        ),
        make(
            &format!("presences {}", scale(50_000)),
            corpus::presences(scale(50_000)),
        ),
        make(
            &format!("mam {}x100", scale(100)),
            corpus::mam_pages(scale(100), 100),
        ),
        make("vcard 256 KiB", corpus::vcard(256 * 1024)),
    ];
    eprintln!(
        "generated {} corpora in {:.2?}",
        corpora.len(),
        t0.elapsed()
    );

    println!();
    let head = format!(
        "{:<22} {:>9} {:>8} | {:>10} {:>11} | {:>10} {:>11} {:>9} {:>11} {:>9} | {:>7}",
        "corpus",
        "size",
        "stanzas",
        "(a) MB/s",
        "stanzas/s",
        "(b) MB/s",
        "stanzas/s",
        "allocs/st",
        "reallocs/st",
        "KiB/st",
        "(b)/(a)"
    );
    println!("{head}");
    println!("{}", "-".repeat(head.len()));

    let mut summary = Vec::new();
    for c in corpora.iter().filter(|c| selected(&c.name)) {
        let text = std::str::from_utf8(&c.doc).expect("corpus is UTF-8");
        assert!(tokenize(text) > c.stanzas);
        let (n, allocs) = allocs_during(|| parse(&c.doc, None));
        assert_eq!(n, c.stanzas, "{}: element count", c.name);
        let reader = || {
            let n = parse(black_box(&c.doc), None);
            assert_eq!(n, c.stanzas);
        };
        let (ta, tb) = if reader_only {
            (Duration::from_secs(1), timing.best(reader))
        } else {
            timing.best_pair(
                || {
                    black_box(tokenize(black_box(text)));
                },
                reader,
            )
        };

        let ratio = ta.as_secs_f64() / tb.as_secs_f64();
        let st = c.stanzas as f64;
        println!(
            "{:<22} {:>9} {:>8} | {:>10.1} {:>11} | {:>10.1} {:>11} {:>9.2} {:>11.2} {:>9.2} | {:>6.0}%",
            c.name,
            human_bytes(c.doc.len()),
            c.stanzas,
            mb_per_s(c.doc.len(), ta),
            human_rate(per_s(c.stanzas, ta)),
            mb_per_s(c.doc.len(), tb),
            human_rate(per_s(c.stanzas, tb)),
            allocs.allocs as f64 / st,
            allocs.reallocs as f64 / st,
            allocs.bytes as f64 / st / 1024.0,
            ratio * 100.0
        );
        summary.push((c.name.clone(), ratio, allocs, c.stanzas));
    }

    println!();
    let head = format!(
        "{:<40} {:>12} {:>12} {:>10} {:>13} {:>9}",
        "chunked input", "whole MB/s", "chunked MB/s", "ratio", "allocs w/c", "target"
    );
    println!("{head}");
    println!("{}", "-".repeat(head.len()));
    // The two targeted cases, then every stream corpus in 4 KiB reads (what
    // a client's socket loop typically feeds) for information.
    let mut chunk_cases: Vec<(&Corpus, usize, &str)> =
        vec![(&corpora[5], 1024, "<= 1.5x"), (&corpora[2], 64, "<= 1.5x")];
    for i in [0, 1, 3, 4] {
        chunk_cases.push((&corpora[i], 4096, "(info)"));
    }
    let mut chunk_ratios = Vec::new();
    for (c, size, target) in chunk_cases {
        if !selected(&c.name) {
            continue;
        }
        assert_eq!(parse(&c.doc, Some(size)), c.stanzas);
        let (_, whole_allocs) = allocs_during(|| parse(&c.doc, None));
        let (_, chunk_allocs) = allocs_during(|| parse(&c.doc, Some(size)));
        let (tw, tc) = timing.best_pair(
            || {
                black_box(parse(black_box(&c.doc), None));
            },
            || {
                black_box(parse(black_box(&c.doc), Some(size)));
            },
        );
        let ratio = tc.as_secs_f64() / tw.as_secs_f64();
        let label = format!("{} in {} B chunks", c.name, size);
        println!(
            "{:<40} {:>12.1} {:>12.1} {:>9.2}x {:>13} {:>9}",
            label,
            mb_per_s(c.doc.len(), tw),
            mb_per_s(c.doc.len(), tc),
            ratio,
            format!(
                "{}/{}",
                whole_allocs.allocs + whole_allocs.reallocs,
                chunk_allocs.allocs + chunk_allocs.reallocs
            ),
            target
        );
        chunk_ratios.push((label, ratio, target));
    }

    if filter.is_some() {
        return;
    }
    println!();
    println!("targets:");
    let msg = &summary[0];
    println!(
        "  (b) >= 50% of (a) on {}: {:.0}% -> {}",
        msg.0,
        msg.1 * 100.0,
        if msg.1 >= 0.5 { "met" } else { "MISSED" }
    );
    let plain = &summary[1];
    let per = (plain.2.allocs + plain.2.reallocs) as f64 / plain.3 as f64;
    println!(
        "  <= 4 allocations per stanza on {}: {:.2} (allocs {:.2} + reallocs {:.2}) -> {}",
        plain.0,
        per,
        plain.2.allocs as f64 / plain.3 as f64,
        plain.2.reallocs as f64 / plain.3 as f64,
        if per <= 4.0 { "met" } else { "MISSED" }
    );
    for (label, ratio, target) in chunk_ratios {
        if target.starts_with("<=") {
            println!(
                "  chunked/whole <= 1.5x for {}: {:.2}x -> {}",
                label,
                ratio,
                if ratio <= 1.5 { "met" } else { "MISSED" }
            );
        }
    }
    eprintln!("total bench time {:.1?}", t0.elapsed());
}
