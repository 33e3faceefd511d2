//! Fuzz target: a logged-in session receiving arbitrary bytes as stanzas.
//! Same invariants as `negotiation`, checked differentially over chunkings.
#![no_main]

use libfuzzer_sys::fuzz_target;

use xmpp_test_support::client_fuzz;

fuzz_target!(|data: &[u8]| {
    client_fuzz::check_online(data);
});
