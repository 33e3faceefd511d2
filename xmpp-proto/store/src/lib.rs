//! # xmpp-store: an optional persistent store for `xmpp-proto` sessions
//!
//! The core keeps nothing between runs: what an application may keep goes
//! in as data when a session starts and comes out as change events. This
//! crate is one such application part, on SQLite (compiled in, no server):
//! [`Store::apply`] records the events that carry state, and
//! [`Store::load`] hands it back for the next session. The core never
//! depends on this crate, and both adapters use it the same way: the store
//! sees events, never sockets.
//!
//! What it keeps, per account (its bare JID):
//! - the roster and its version ([`RosterEvent`](xmpp_proto::roster::RosterEvent)),
//!   for [`Roster::with_stored`](xmpp_proto::roster::Roster::with_stored);
//! - the salted SCRAM keys ([`Event::ScramKeys`](xmpp_proto::Event::ScramKeys)),
//!   for [`Credentials::Salted`](xmpp_proto::sasl::Credentials::Salted);
//!   never a password;
//! - the message archive: every chat message with a stanza-id, once per
//!   (archive, stanza-id), paged with [`Store::archive_page`]; and the
//!   last archive stanza-id seen ([`Store::set_archive_cursor`]);
//! - vCards and XEP-0153 avatars ([`VCardEvent`](xmpp_proto::vcard::VCardEvent));
//! - stream-management resumption data ([`Store::set_resumption`]);
//!
//! and for all accounts the verified entity-capabilities cache
//! ([`DiscoEvent::CapsLearned`](xmpp_proto::disco::DiscoEvent::CapsLearned)),
//! for [`Caps::with_cache`](xmpp_proto::disco::Caps::with_cache).
//!
//! Every change is one SQLite transaction (a batch of events, one in all,
//! [`Store::apply_all`]), in WAL mode, so a process killed at any point
//! leaves a file that opens cleanly with each batch wholly there or wholly
//! absent. The file is created owner-only (0600). [`Store::in_memory`] is
//! the same store without a file.
//!
//! ```
//! use xmpp_proto::roster::{Roster, RosterEvent, RosterItem};
//! use xmpp_proto::Event;
//! use xmpp_store::Store;
//!
//! let account = "juliet@example.com".parse().unwrap();
//! // Store::open("state.db") for a file; the same store in memory:
//! let mut store = Store::in_memory().unwrap();
//!
//! // Events from a session, as the driver drains them.
//! let romeo = RosterItem::new("romeo@example.net".parse().unwrap()).with_name("Romeo");
//! let loaded = Event::Roster(RosterEvent::Loaded { ver: Some("v1".into()), items: vec![romeo] });
//! store.apply(&account, &loaded).unwrap();
//!
//! // The next session starts from what was stored.
//! let stored = store.load(&account).unwrap();
//! assert_eq!(stored.roster_ver.as_deref(), Some("v1"));
//! let roster = Roster::with_stored(stored.roster_ver, stored.roster);
//! assert_eq!(roster.len(), 1);
//! ```
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![warn(unreachable_pub)]

mod apply;
mod archive;
mod cache;
mod error;
mod file;
mod schema;
mod state;

use std::fmt;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

pub use apply::Applied;
pub use archive::{ArchivePage, ArchiveQuery, Position, StoredMessage};
pub use error::StoreError;
pub use state::Stored;

/// How many cache rows the store keeps; past a bound, the least recently
/// written rows go first. The archive is bounded by
/// [`Store::prune_archive`] instead, which the application calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreLimits {
    /// Entity-capabilities answers, for all accounts. Default 1,000 (the
    /// core's own cache size).
    pub caps: usize,
    /// vCards per account. Default 1,000.
    pub vcards: usize,
    /// Avatar images per account (each at most the core's photo limit,
    /// 64 KiB by default). Default 1,000.
    pub avatars: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            caps: 1_000,
            vcards: 1_000,
            avatars: 1_000,
        }
    }
}

/// A store: a file ([`Store::open`]) or memory ([`Store::in_memory`]).
/// Not shared between threads (move it to the thread that applies the
/// events); two processes may open the same file, SQLite serializes them.
pub struct Store {
    conn: Connection,
    limits: StoreLimits,
    path: Option<PathBuf>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("limits", &self.limits)
            .finish()
    }
}

impl Store {
    /// Opens the store at `path`, creating it if needed. The file is made
    /// owner-only (0600 on Unix) before SQLite opens it: created so, or
    /// tightened to it when it exists with group or other permissions
    /// (its `-wal` and `-shm` files too, which SQLite creates with the
    /// database's mode). WAL journal with `synchronous=NORMAL`: a commit
    /// survives the process being killed; an operating-system crash or
    /// power loss may lose the last commits, never the file's integrity.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref();
        file::prepare(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(StoreError::sql("opening the database"))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(StoreError::sql("switching to the WAL journal"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            // A file system without shared memory: SQLite keeps its
            // rollback journal, which is as crash-safe (and slower).
            conn.execute_batch("PRAGMA journal_mode = DELETE")
                .map_err(StoreError::sql("choosing a journal"))?;
        }
        Store::setup(conn, Some(path.to_path_buf()))
    }

    /// A store in memory, gone when dropped: the default when the
    /// application keeps nothing.
    pub fn in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory().map_err(StoreError::sql("opening the database"))?;
        Store::setup(conn, None)
    }

    fn setup(mut conn: Connection, path: Option<PathBuf>) -> Result<Store, StoreError> {
        // NORMAL in WAL mode: commits are not synced one by one, only at
        // checkpoints; still atomic and crash-safe for the process.
        // secure_delete: deleted rows (an old key, pruned messages) are
        // overwritten, not left in free pages.
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON; PRAGMA busy_timeout = 5000;",
        )
        .map_err(StoreError::sql("setting up the database"))?;
        // Every statement the store prepares stays prepared (about 30).
        conn.set_prepared_statement_cache_capacity(64);
        let shown = path.clone().unwrap_or_else(|| PathBuf::from(":memory:"));
        schema::migrate(&mut conn, &shown)?;
        Ok(Store {
            conn,
            limits: StoreLimits::default(),
            path,
        })
    }

    /// With these cache bounds (applied at the next write of each cache).
    pub fn with_limits(mut self, limits: StoreLimits) -> Store {
        self.limits = limits;
        self
    }

    /// The file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// `PRAGMA integrity_check`: `true` when SQLite finds the file sound.
    pub fn integrity_check(&self) -> Result<bool, StoreError> {
        let result: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(StoreError::sql("checking the database"))?;
        Ok(result == "ok")
    }
}
