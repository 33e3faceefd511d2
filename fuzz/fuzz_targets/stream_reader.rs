//! Differential fuzz target for `xmpp_proto::xml::StreamReader`.
//!
//! Input: arbitrary bytes. A plain input is the stream itself; an input that
//! starts with the bytes FF 00 carries explicit chunk split points first (see
//! `decode_fuzz_input` in tests/support/src/chunking.rs). The bytes are
//! fed whole, then split at those points, at seeded pseudo-random points, in
//! 7-byte and (up to 4 KiB) 1-byte chunks, draining events after every feed
//! and calling finish(); every run must agree on events and error, and
//! nothing may panic. Done under the default limits and under small limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

use xmpp_test_support::chunking;

fuzz_target!(|data: &[u8]| {
    chunking::fuzz_one(data);
});
