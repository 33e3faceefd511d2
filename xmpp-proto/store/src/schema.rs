//! The schema, versioned with `PRAGMA user_version` and marked ours with
//! `PRAGMA application_id`; created in one transaction, so a crash while
//! creating it leaves an empty file that the next open fills.
//!
//! Privacy by construction: no column holds a password. The SCRAM row holds
//! the salted password (RFC 5802 `SaltedPassword`) at most, which a test
//! checks against this text.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::StoreError;

/// The schema version this crate writes and reads.
pub(crate) const VERSION: i64 = 1;

/// `PRAGMA application_id` of a store: "XMPS" in ASCII.
pub(crate) const APPLICATION_ID: i64 = 0x584d_5053;

/// Version 1. Every per-account row is keyed by the account's bare JID.
pub(crate) const SCHEMA: &str = "
CREATE TABLE account (
    account TEXT PRIMARY KEY NOT NULL,
    roster_ver TEXT,
    archive_cursor TEXT,
    resumption BLOB
);
CREATE TABLE roster_item (
    account TEXT NOT NULL,
    jid TEXT NOT NULL,
    name TEXT,
    subscription TEXT NOT NULL,
    ask INTEGER NOT NULL,
    approved INTEGER NOT NULL,
    PRIMARY KEY (account, jid)
);
CREATE TABLE roster_group (
    account TEXT NOT NULL,
    jid TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (account, jid, position)
);
CREATE TABLE scram_key (
    account TEXT PRIMARY KEY NOT NULL,
    hash TEXT NOT NULL,
    salt BLOB NOT NULL,
    iterations INTEGER NOT NULL,
    salted_password BLOB NOT NULL
);
CREATE TABLE caps (
    seq INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    ver TEXT NOT NULL,
    info TEXT NOT NULL,
    UNIQUE (hash, ver)
);
CREATE TABLE vcard (
    seq INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    jid TEXT NOT NULL,
    card TEXT NOT NULL,
    UNIQUE (account, jid)
);
CREATE INDEX vcard_account ON vcard (account, seq);
CREATE TABLE avatar (
    seq INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    jid TEXT NOT NULL,
    hash TEXT NOT NULL,
    mime_type TEXT,
    data BLOB NOT NULL,
    UNIQUE (account, jid)
);
CREATE INDEX avatar_account ON avatar (account, seq);
CREATE TABLE message (
    seq INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    archive TEXT NOT NULL,
    stanza_id TEXT NOT NULL,
    time INTEGER NOT NULL,
    peer TEXT NOT NULL,
    from_jid TEXT,
    to_jid TEXT,
    type TEXT NOT NULL,
    id TEXT,
    body TEXT NOT NULL,
    delay TEXT,
    replaces TEXT,
    carbon TEXT,
    archived INTEGER NOT NULL,
    UNIQUE (account, archive, stanza_id)
);
CREATE INDEX message_time ON message (account, archive, time, seq);
CREATE INDEX message_peer ON message (account, archive, peer, time, seq);
";

/// Creates the schema in an empty database, or checks the one there.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let read = StoreError::sql("reading the schema version");
    // Immediate: two processes opening a new file at once create it once.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::sql("reading the schema version"))?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(read)?;
    let app: i64 = tx
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(StoreError::sql("reading the application id"))?;
    let not_ours = || StoreError::NotAStore {
        path: path.to_path_buf(),
    };
    if app != 0 && app != APPLICATION_ID {
        return Err(not_ours());
    }
    match version {
        0 => {
            let tables: i64 = tx
                .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
                .map_err(StoreError::sql("reading the schema"))?;
            if tables != 0 {
                return Err(not_ours());
            }
            let create = StoreError::sql("creating the schema");
            tx.execute_batch(SCHEMA).map_err(create)?;
            tx.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {VERSION};"
            ))
            .map_err(StoreError::sql("creating the schema"))?;
        }
        VERSION if app == APPLICATION_ID => {}
        VERSION => return Err(not_ours()),
        found if found > VERSION => {
            return Err(StoreError::NewerSchema {
                found,
                supported: VERSION,
            })
        }
        _ => return Err(not_ours()),
    }
    tx.commit().map_err(StoreError::sql("creating the schema"))
}
