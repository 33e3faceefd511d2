//! What can go wrong with a store, and what to do about it. No variant
//! carries a stored value: an error names a file, an action, a table or a
//! stanza-id, never a key, a body or a resumption token.

use std::path::PathBuf;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store file could not be created, opened or made owner-only.
    #[error(
        "cannot create or secure the store file {path}: {source} \
         (check that its directory exists and belongs to this user)"
    )]
    File {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The path names something other than a regular file.
    #[error(
        "the store path {path} is not a regular file (give the path of a file to create or reuse)"
    )]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// SQLite failed.
    #[error(
        "the store's database failed while {action}: {source} \
         (if this persists, move the file away: everything in it is a cache \
         the server fills again, except the archive cursor)"
    )]
    Sqlite {
        /// What the store was doing (`"storing the roster"`).
        action: &'static str,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The file is an SQLite database of another application.
    #[error(
        "the file {path} is a database of another program, not an XMPP store \
         (give the path of a new file)"
    )]
    NotAStore {
        /// The file.
        path: PathBuf,
    },
    /// The file was written by a newer version of this crate.
    #[error(
        "the store's schema version is {found}, newer than the {supported} this program \
         knows (use a newer program, or another file)"
    )]
    NewerSchema {
        /// The file's version.
        found: i64,
        /// The newest this crate reads.
        supported: i64,
    },
    /// A stored value does not read back (the file was edited by hand or
    /// damaged).
    #[error(
        "the store holds a value this program cannot read: {what} \
         (forget the account, or move the file away)"
    )]
    Corrupt {
        /// Which value (table and column, never the value itself).
        what: String,
    },
    /// An archive page was asked before or after a stanza-id the store
    /// does not hold in that archive.
    #[error(
        "no stored message has the stanza-id {id:?} in that archive (page from the latest instead)"
    )]
    UnknownStanzaId {
        /// The stanza-id asked for.
        id: String,
    },
}

impl StoreError {
    /// A closure that wraps an SQLite error with what the store was doing.
    pub(crate) fn sql(action: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        move |source| StoreError::Sqlite { action, source }
    }

    /// A value that does not read back.
    pub(crate) fn corrupt(what: impl Into<String>) -> StoreError {
        StoreError::Corrupt { what: what.into() }
    }
}
