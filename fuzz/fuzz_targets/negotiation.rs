//! Fuzz target: arbitrary server bytes from the first byte of a session.
//! Invariants (see xmpp-proto/tests/support/client_fuzz.rs): no panic, one
//! Disconnected at most, no credential before TLS, under several chunkings.
//! NUL bytes separate transport reads.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../xmpp-proto/tests/support/client_fuzz.rs"]
mod client_fuzz;

fuzz_target!(|data: &[u8]| {
    client_fuzz::check_negotiation(data);
});
