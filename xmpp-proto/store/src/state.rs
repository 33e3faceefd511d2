//! Per-account state: the roster and its version, the SCRAM keys, the
//! archive cursor, the resumption data; [`Store::load`] reads it all back
//! as [`Stored`].

use std::collections::BTreeMap;
use std::fmt;

use rusqlite::{params, Connection, OptionalExtension};
use xmpp_proto::disco::{CapsHash, DiscoInfo};
use xmpp_proto::roster::{RosterItem, Subscription};
use xmpp_proto::sasl::{ScramHash, ScramKeys};
use xmpp_proto::stanza::BareJid;

use crate::{cache, Store, StoreError};

/// What a store holds for an account, to start a session with. `Debug`
/// shows neither the salted password nor the resumption data.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stored {
    /// The roster's version, for
    /// [`Roster::with_stored`](xmpp_proto::roster::Roster::with_stored).
    pub roster_ver: Option<String>,
    /// The roster's items, by JID.
    pub roster: Vec<RosterItem>,
    /// The last archive stanza-id the application saw
    /// ([`Store::set_archive_cursor`]): where a catch-up starts.
    pub archive_cursor: Option<String>,
    /// The salted SCRAM keys of the last login, for
    /// [`Credentials::Salted`](xmpp_proto::sasl::Credentials::Salted).
    pub scram_keys: Option<ScramKeys>,
    /// The verified entity-capabilities cache (shared by all accounts),
    /// oldest first, for [`Caps::with_cache`](xmpp_proto::disco::Caps::with_cache).
    pub caps: Vec<(CapsHash, String, DiscoInfo)>,
    /// The contacts whose XEP-0153 avatar the store holds, with its SHA-1,
    /// for [`VCards::with_avatar_hashes`](xmpp_proto::vcard::VCards::with_avatar_hashes);
    /// the images come from [`Store::avatar`].
    pub avatar_hashes: Vec<(BareJid, String)>,
    /// Stream-management resumption data ([`Store::set_resumption`]).
    pub resumption: Option<Vec<u8>>,
}

impl fmt::Debug for Stored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stored")
            .field("roster_ver", &self.roster_ver)
            .field("roster", &self.roster)
            .field("archive_cursor", &self.archive_cursor)
            // ScramKeys' own Debug redacts the salted password.
            .field("scram_keys", &self.scram_keys)
            .field("caps", &self.caps.len())
            .field("avatar_hashes", &self.avatar_hashes)
            .field(
                "resumption",
                &self
                    .resumption
                    .as_ref()
                    .map(|r| format!("<{} bytes redacted>", r.len())),
            )
            .finish()
    }
}

impl Store {
    /// Everything stored for `account` (empty when nothing is).
    pub fn load(&self, account: &BareJid) -> Result<Stored, StoreError> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(StoreError::sql("reading the stored state"))?;
        let a = account.as_str();
        let row = tx
            .query_row(
                "SELECT roster_ver, archive_cursor, resumption FROM account WHERE account = ?1",
                [a],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(StoreError::sql("reading the account"))?;
        let (roster_ver, archive_cursor, resumption) = row.unwrap_or((None, None, None));
        let stored = Stored {
            roster_ver,
            roster: roster(&tx, a)?,
            archive_cursor,
            scram_keys: scram_keys(&tx, a)?,
            caps: cache::caps(&tx)?,
            avatar_hashes: cache::avatar_hashes(&tx, a)?,
            resumption,
        };
        tx.finish()
            .map_err(StoreError::sql("reading the stored state"))?;
        Ok(stored)
    }

    /// Records the last archive stanza-id the application saw (`None`
    /// forgets it).
    pub fn set_archive_cursor(
        &mut self,
        account: &BareJid,
        cursor: Option<&str>,
    ) -> Result<(), StoreError> {
        set_archive_cursor(&self.conn, account, cursor)
            .map_err(StoreError::sql("storing the archive cursor"))
    }

    /// Records stream-management resumption data, opaque to the store
    /// (`None` forgets it, as after a session that cannot be resumed).
    pub fn set_resumption(
        &mut self,
        account: &BareJid,
        data: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        set_account_column(&self.conn, account, "resumption", data)
            .map_err(StoreError::sql("storing the resumption data"))
    }

    /// Records the salted SCRAM keys (`None` forgets them: do so when a
    /// login with them failed, e.g. after the password changed).
    pub fn set_scram_keys(
        &mut self,
        account: &BareJid,
        keys: Option<&ScramKeys>,
    ) -> Result<(), StoreError> {
        match keys {
            Some(keys) => put_scram_keys(&self.conn, account, keys),
            None => self
                .conn
                .execute(
                    "DELETE FROM scram_key WHERE account = ?1",
                    [account.as_str()],
                )
                .map(drop),
        }
        .map_err(StoreError::sql("storing the SCRAM keys"))
    }

    /// Deletes everything stored for `account`, in one transaction (the
    /// shared caps cache stays).
    pub fn forget_account(&mut self, account: &BareJid) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction()
            .map_err(StoreError::sql("forgetting the account"))?;
        for table in [
            "account",
            "roster_item",
            "roster_group",
            "scram_key",
            "vcard",
            "avatar",
            "message",
        ] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE account = ?1"),
                [account.as_str()],
            )
            .map_err(StoreError::sql("forgetting the account"))?;
        }
        tx.commit()
            .map_err(StoreError::sql("forgetting the account"))
    }
}

/// Sets one column of the account's row, creating the row.
fn set_account_column(
    conn: &Connection,
    account: &BareJid,
    column: &'static str,
    value: impl rusqlite::ToSql,
) -> rusqlite::Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO account (account, {column}) VALUES (?1, ?2) \
         ON CONFLICT (account) DO UPDATE SET {column} = excluded.{column}"
    ))?
    .execute(params![account.as_str(), value])
    .map(drop)
}

/// The last archive stanza-id seen (for an event that reports it, too).
pub(crate) fn set_archive_cursor(
    conn: &Connection,
    account: &BareJid,
    cursor: Option<&str>,
) -> rusqlite::Result<()> {
    set_account_column(conn, account, "archive_cursor", cursor)
}

/// The roster's version, as an event left it.
pub(crate) fn set_roster_ver(
    conn: &Connection,
    account: &BareJid,
    ver: Option<&str>,
) -> rusqlite::Result<()> {
    set_account_column(conn, account, "roster_ver", ver)
}

/// Replaces the whole roster.
pub(crate) fn replace_roster(
    conn: &Connection,
    account: &BareJid,
    items: &[RosterItem],
) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM roster_item WHERE account = ?1",
        [account.as_str()],
    )?;
    conn.execute(
        "DELETE FROM roster_group WHERE account = ?1",
        [account.as_str()],
    )?;
    for item in items {
        put_roster_item(conn, account, item)?;
    }
    Ok(())
}

/// Adds or replaces one item.
pub(crate) fn put_roster_item(
    conn: &Connection,
    account: &BareJid,
    item: &RosterItem,
) -> rusqlite::Result<()> {
    let (a, jid) = (account.as_str(), item.jid.as_str());
    remove_roster_item(conn, account, &item.jid)?;
    conn.prepare_cached(
        "INSERT INTO roster_item (account, jid, name, subscription, ask, approved) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        a,
        jid,
        item.name,
        item.subscription.as_str(),
        item.ask,
        item.approved
    ])?;
    let mut group = conn.prepare_cached(
        "INSERT INTO roster_group (account, jid, position, name) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (position, name) in item.groups.iter().enumerate() {
        group.execute(params![a, jid, position as i64, name])?;
    }
    Ok(())
}

/// Removes one item (nothing when absent).
pub(crate) fn remove_roster_item(
    conn: &Connection,
    account: &BareJid,
    jid: &BareJid,
) -> rusqlite::Result<()> {
    let (a, jid) = (account.as_str(), jid.as_str());
    conn.prepare_cached("DELETE FROM roster_item WHERE account = ?1 AND jid = ?2")?
        .execute([a, jid])?;
    conn.prepare_cached("DELETE FROM roster_group WHERE account = ?1 AND jid = ?2")?
        .execute([a, jid])?;
    Ok(())
}

/// Adds or replaces the SCRAM keys.
pub(crate) fn put_scram_keys(
    conn: &Connection,
    account: &BareJid,
    keys: &ScramKeys,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO scram_key (account, hash, salt, iterations, salted_password) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        account.as_str(),
        hash_name(keys.mechanism_hash),
        keys.salt,
        keys.iterations,
        keys.salted_password
    ])
    .map(drop)
}

fn hash_name(hash: ScramHash) -> &'static str {
    match hash {
        ScramHash::Sha1 => "SHA-1",
        ScramHash::Sha256 => "SHA-256",
    }
}

fn scram_keys(conn: &Connection, account: &str) -> Result<Option<ScramKeys>, StoreError> {
    let row = conn
        .query_row(
            "SELECT hash, salt, iterations, salted_password FROM scram_key WHERE account = ?1",
            [account],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, u32>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            },
        )
        .optional()
        .map_err(StoreError::sql("reading the SCRAM keys"))?;
    let Some((hash, salt, iterations, salted_password)) = row else {
        return Ok(None);
    };
    let mechanism_hash = match hash.as_str() {
        "SHA-1" => ScramHash::Sha1,
        "SHA-256" => ScramHash::Sha256,
        _ => return Err(StoreError::corrupt("scram_key.hash")),
    };
    if salted_password.len() != mechanism_hash.output_len() {
        return Err(StoreError::corrupt(
            "scram_key.salted_password (its length)",
        ));
    }
    Ok(Some(ScramKeys {
        mechanism_hash,
        salt,
        iterations,
        salted_password,
    }))
}

fn subscription(name: &str) -> Option<Subscription> {
    Some(match name {
        "none" => Subscription::None,
        "to" => Subscription::To,
        "from" => Subscription::From,
        "both" => Subscription::Both,
        _ => return None,
    })
}

fn roster(conn: &Connection, account: &str) -> Result<Vec<RosterItem>, StoreError> {
    let read = StoreError::sql("reading the roster");
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut stmt = conn
        .prepare_cached(
            "SELECT jid, name FROM roster_group WHERE account = ?1 ORDER BY jid, position",
        )
        .map_err(StoreError::sql("reading the roster"))?;
    let rows = stmt
        .query_map([account], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))
        .map_err(StoreError::sql("reading the roster"))?;
    for row in rows {
        let (jid, name) = row.map_err(StoreError::sql("reading the roster"))?;
        groups.entry(jid).or_default().push(name);
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT jid, name, subscription, ask, approved FROM roster_item \
             WHERE account = ?1 ORDER BY jid",
        )
        .map_err(read)?;
    let rows = stmt
        .query_map([account], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, bool>(4)?,
            ))
        })
        .map_err(StoreError::sql("reading the roster"))?;
    let mut items = Vec::new();
    for row in rows {
        let (jid, name, sub, ask, approved) = row.map_err(StoreError::sql("reading the roster"))?;
        let jid_value: BareJid = jid
            .parse()
            .map_err(|_| StoreError::corrupt("roster_item.jid"))?;
        let mut item = RosterItem::new(jid_value);
        item.name = name;
        item.subscription =
            subscription(&sub).ok_or_else(|| StoreError::corrupt("roster_item.subscription"))?;
        item.ask = ask;
        item.approved = approved;
        item.groups = groups.remove(&jid).unwrap_or_default();
        items.push(item);
    }
    Ok(items)
}
