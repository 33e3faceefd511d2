//! `--store PATH`: what the CLI keeps between runs, in the SQLite store of
//! `xmpp-store` (one file, owner-only, never the password). At start the
//! account's state is loaded and handed to the core (the roster and its
//! version, the salted SCRAM keys, the archive cursor the catch-up starts
//! from, the caps cache, the avatar hashes); while the session runs, every
//! event the core reports is applied to the store (one transaction each).
//! A store that fails while running only costs what it could not write: the
//! error goes to stderr, the session goes on.

use std::path::Path;
use std::sync::{LazyLock, Mutex, MutexGuard};

use xmpp_proto::stanza::BareJid;
use xmpp_proto::Event;
use xmpp_store::{Store, Stored};

/// Archived messages kept per account; older ones are pruned at start.
pub const KEEP_MESSAGES: usize = 10_000;

/// The open store, its account, and what was loaded at start.
struct Open {
    store: Store,
    account: BareJid,
    loaded: Stored,
}

fn slot() -> MutexGuard<'static, Option<Open>> {
    static SLOT: LazyLock<Mutex<Option<Open>>> = LazyLock::new(Mutex::default);
    SLOT.lock().unwrap_or_else(|e| e.into_inner())
}

/// Opens (or creates) the store at `path` for `account` and loads its
/// state. `Err` is the diagnostic for stderr.
pub fn open(path: &Path, account: &BareJid) -> Result<(), String> {
    let mut store = Store::open(path).map_err(|e| format!("--store {}: {e}", path.display()))?;
    store
        .prune_archive(account, KEEP_MESSAGES)
        .map_err(|e| format!("--store {}: {e}", path.display()))?;
    let loaded = store
        .load(account)
        .map_err(|e| format!("--store {}: {e}", path.display()))?;
    *slot() = Some(Open {
        store,
        account: account.clone(),
        loaded,
    });
    Ok(())
}

/// What was loaded at start, if a store is open.
pub fn loaded() -> Option<Stored> {
    slot().as_ref().map(|o| o.loaded.clone())
}

/// Whether the resumption state changed in a way the server knows and a
/// store keeps it: stream management news (enabled, acks, each `h` told to
/// the server, `SmConfig::report_handled`) and a resumption. (Each received
/// stanza changes our count too, but only the `h` the server heard must be
/// kept: a resumption with a lower one is refused.)
pub fn wants_resumption(event: &xmpp_proto::adapter::Event) -> bool {
    use xmpp_proto::adapter::Event as A;
    slot().is_some()
        && matches!(
            event,
            A::Core(Event::StreamManagement(_)) | A::Reconnected { .. }
        )
}

/// Keeps the session's resumption state (XEP-0198), or forgets it (a
/// clean close ends the session: nothing to resume).
pub fn save_resumption(bytes: Option<Vec<u8>>) {
    let mut slot = slot();
    let Some(open) = slot.as_mut() else { return };
    if let Err(e) = open.store.set_resumption(&open.account, bytes.as_deref()) {
        eprintln!("xmpp-cli: --store: {e}; the session goes on without it");
    }
}

/// Applies one of the core's events, if a store is open.
pub fn apply(event: &Event) {
    let mut slot = slot();
    let Some(open) = slot.as_mut() else { return };
    if let Err(e) = open.store.apply(&open.account, event) {
        eprintln!("xmpp-cli: --store: {e}; the session goes on without it");
    }
}
