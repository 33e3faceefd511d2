//! Cross-crate integration tests of the workspace; the library itself is empty.
//!
//! The tests live in `tests/tests/`:
//!
//! - `w3c_conformance.rs` runs the W3C XML Conformance Test Suite (vendored in
//!   `tests/xmlconf/`) through `xmpp_proto::xml::StreamReader`, whole and in
//!   1-byte chunks, and checks every outcome against the restricted-XML
//!   profile (see `docs/conformance.md`);
//! - `xml_check_cli.rs` runs the `xml-check` example of `xmpp-proto` as a
//!   black box;
//! - `cli_contract.rs` checks that `docs/cli.md`, the command-line client's
//!   contract, is the shared reference `../shared/cli-contract.md` when that
//!   is checked out beside the repository;
//! - `extension_version.rs` writes an extension (XEP-0092) outside the
//!   core with only its public API, and plugs it into a session;
//! - `interop.rs` (ignored in a plain `cargo test`) drives each adapter's
//!   `xmpp-cli` against a private Prosody; `scripts/test` runs it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
