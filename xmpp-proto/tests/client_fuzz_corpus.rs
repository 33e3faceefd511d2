//! Replays the committed seed corpora of the client fuzz targets
//! (`fuzz/corpus/negotiation/`, `fuzz/corpus/online/`) through the same
//! checks as the fuzz targets, so CI exercises them without a fuzzer.

use xmpp_test_support::client_fuzz;

use std::path::PathBuf;

fn replay(dir: &str, check: fn(&[u8])) -> usize {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(dir);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("seed");
        check(&data);
        n += 1;
    }
    n
}

#[test]
fn negotiation_corpus() {
    assert!(replay("negotiation", client_fuzz::check_negotiation) >= 10);
}

#[test]
fn online_corpus() {
    assert!(replay("online", client_fuzz::check_online) >= 10);
}

#[test]
fn the_checks_see_what_they_should() {
    // The corpus runs are not vacuous: a real login transcript gets as far
    // as SASL, and an online message becomes an event (decoded by the
    // messages module the online checks register).
    let data = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/corpus/negotiation/starttls-then-features.xml"),
    )
    .unwrap();
    let run = client_fuzz::negotiation_run(&data, &[]);
    assert!(String::from_utf8_lossy(&run.sent).contains("<auth"));
    let data = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/online/message.xml"),
    )
    .unwrap();
    let run = client_fuzz::online_run(&data, &[]);
    assert!(
        run.events.iter().any(|e| e.starts_with("ChatMessage")),
        "{:?}",
        run.events
    );
}
