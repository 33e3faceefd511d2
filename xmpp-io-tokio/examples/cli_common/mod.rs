//! The command-line client contract (`docs/cli.md`), independent
//! of any adapter: flags, JSON-lines commands in, JSON-lines events out,
//! exit statuses. It maps between JSON and `xmpp_proto` types only; each
//! adapter's `xmpp-cli` example adds its I/O loop around it.
//!
//! Both CLIs include these files verbatim, so they cannot drift apart:
//!
//! ```text
//! #[path = "../../xmpp-io-tokio/examples/cli_common/mod.rs"]
//! mod cli_common;
//! ```
//!
//! Dependencies: `xmpp_proto`, `serde_json`, `xmpp_store` (for `--store`)
//! and std, nothing else.
#![allow(dead_code)] // each CLI uses what its adapter needs

pub mod args;
pub mod blocking;
pub mod command;
pub mod disco;
pub mod event;
pub mod mam;
pub mod muc;
pub mod ping;
pub mod presence;
pub mod roster;
pub mod sent;
pub mod session;
pub mod store;
pub mod vcard;

/// Exit statuses of the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// `quit` or end of stdin, stream closed cleanly.
    Clean = 0,
    /// Bad flags or bad command line.
    Usage = 2,
    /// Authentication failed (wrong password, bad server signature, no
    /// acceptable mechanism).
    Auth = 3,
    /// TLS failed or was refused (untrusted certificate, name mismatch, no
    /// STARTTLS without `--allow-plaintext`).
    Tls = 4,
    /// Connection or stream error (refused, closed, stream error, timeout).
    Connection = 5,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Writes one JSON line to stdout (the only thing ever written there).
/// A closed stdout is ignored: the session still ends properly.
pub fn print(value: &serde_json::Value) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}
