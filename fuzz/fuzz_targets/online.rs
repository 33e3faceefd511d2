//! Fuzz target: a logged-in session receiving arbitrary bytes as stanzas.
//! Same invariants as `negotiation`, checked differentially over chunkings.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../xmpp-proto/tests/support/client_fuzz.rs"]
mod client_fuzz;

fuzz_target!(|data: &[u8]| {
    client_fuzz::check_online(data);
});
