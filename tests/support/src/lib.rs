//! Test helpers shared by the workspace's tests, benchmarks and fuzz
//! targets; never published. Each module was written as a test-support
//! file and is used as one: `use xmpp_test_support::session;`.
//!
//! Without features (what `xmpp-proto`'s tests and benches and the fuzz
//! targets use; nothing beyond `xmpp-proto`'s own dependencies):
//!
//! - [`session`]: a transcript harness, the test plays the server byte for
//!   byte;
//! - [`scram_server`]: the server side of SCRAM, written independently of
//!   the client's;
//! - [`chunking`]: the differential chunking check of the stream reader (the
//!   `stream_reader` fuzz target and its corpus replay);
//! - [`client_fuzz`]: the client fuzz checks (the `negotiation` and `online`
//!   fuzz targets and their corpus replay);
//! - [`corpus`]: the seeded generator of realistic server streams (the
//!   benchmarks, the property tests, the fuzz seeds).
//!
//! Behind the feature `cli`, module `cli` (with `serde_json`): drives an
//! adapter's `xmpp-cli` as a black box through its contract (the interop
//! tests and benchmark of `xmpp-tests`), and module `proxy`: a loopback
//! TCP proxy that cuts connections on demand.
//!
//! Behind features, the adapters' in-process test servers:
//!
//! - `adapter` (module `adapter`): what both share (private CA, plans,
//!   scripts, recording, checks);
//! - `tokio` (module `tokio_server`): the Tokio adapter's, with rustls;
//! - `native-tls` (module `blocking_server`): the blocking adapter's, on
//!   threads with native-tls.
#![forbid(unsafe_code)]

pub mod chunking;
pub mod client_fuzz;
pub mod corpus;
pub mod scram_server;
pub mod session;

#[cfg(feature = "adapter")]
pub mod adapter;
#[cfg(feature = "native-tls")]
pub mod blocking_server;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "proxy")]
pub mod proxy;
#[cfg(feature = "tokio")]
pub mod tokio_server;
