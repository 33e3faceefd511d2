//! Fuzz target: arbitrary server bytes from the first byte of a session.
//! Invariants (see tests/support/src/client_fuzz.rs): no panic, one
//! Disconnected at most, no credential before TLS, under several chunkings.
//! NUL bytes separate transport reads.
#![no_main]

use libfuzzer_sys::fuzz_target;

use xmpp_test_support::client_fuzz;

fuzz_target!(|data: &[u8]| {
    client_fuzz::check_negotiation(data);
});
