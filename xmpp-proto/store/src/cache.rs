//! The caches: entity capabilities (shared by all accounts), vCards and
//! XEP-0153 avatar images (per account). Caps answers and cards are kept
//! as the XML the core writes for them (`to_element`) and read back with
//! the core's own bounded reader and parser; each cache is bounded
//! ([`StoreLimits`](crate::StoreLimits)), least recently written first out.

use rusqlite::{params, Connection, OptionalExtension};
use xmpp_proto::avatar::AvatarImage;
use xmpp_proto::disco::{CapsHash, DiscoInfo};
use xmpp_proto::stanza::BareJid;
use xmpp_proto::vcard::VCard;
use xmpp_proto::xml::{Element, ReaderLimits, StreamEvent, StreamReader};

use crate::{Store, StoreError};

/// Reads one element written by [`Element::to_xml`], with the core's
/// default reader limits.
fn parse_element(xml: &str) -> Option<Element> {
    let mut reader = StreamReader::new(ReaderLimits::default());
    reader.feed(
        b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
    );
    reader.feed(xml.as_bytes());
    match (reader.next_event(), reader.next_event()) {
        (Some(Ok(StreamEvent::Header(_))), Some(Ok(StreamEvent::Element(e)))) => Some(e),
        _ => None,
    }
}

/// Drops the oldest rows of `table` (for `account`, if given) past `keep`.
fn bound(
    conn: &Connection,
    table: &'static str,
    account: Option<&BareJid>,
    keep: usize,
) -> rusqlite::Result<()> {
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    match account {
        Some(a) => conn
            .prepare_cached(&format!(
                "DELETE FROM {table} WHERE account = ?1 AND seq <= \
                 (SELECT seq FROM {table} WHERE account = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)"
            ))?
            .execute(params![a.as_str(), keep]),
        None => conn
            .prepare_cached(&format!(
                "DELETE FROM {table} WHERE seq <= \
                 (SELECT seq FROM {table} ORDER BY seq DESC LIMIT 1 OFFSET ?1)"
            ))?
            .execute([keep]),
    }
    .map(drop)
}

/// Caches a verified caps answer (the newest write last).
pub(crate) fn put_caps(
    conn: &Connection,
    hash: CapsHash,
    ver: &str,
    info: &DiscoInfo,
    keep: usize,
) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO caps (hash, ver, info) VALUES (?1, ?2, ?3)")?
        .execute(params![hash.as_str(), ver, info.to_element(None).to_xml()])?;
    bound(conn, "caps", None, keep)
}

/// The caps cache, oldest first. An entry that no longer reads back is
/// skipped (the core verifies each one again anyway).
pub(crate) fn caps(conn: &Connection) -> Result<Vec<(CapsHash, String, DiscoInfo)>, StoreError> {
    let read = StoreError::sql("reading the caps cache");
    let mut stmt = conn
        .prepare_cached("SELECT hash, ver, info FROM caps ORDER BY seq")
        .map_err(read)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(StoreError::sql("reading the caps cache"))?;
    let mut out = Vec::new();
    for row in rows {
        let (hash, ver, info) = row.map_err(StoreError::sql("reading the caps cache"))?;
        let info = parse_element(&info).and_then(|e| DiscoInfo::parse(&e).ok());
        if let (Some(hash), Some(info)) = (CapsHash::from_name(&hash), info) {
            out.push((hash, ver, info));
        }
    }
    Ok(out)
}

/// Caches `jid`'s card.
pub(crate) fn put_vcard(
    conn: &Connection,
    account: &BareJid,
    jid: &BareJid,
    card: &VCard,
    keep: usize,
) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO vcard (account, jid, card) VALUES (?1, ?2, ?3)")?
        .execute(params![
            account.as_str(),
            jid.as_str(),
            card.to_element().to_xml()
        ])?;
    bound(conn, "vcard", Some(account), keep)
}

/// Caches `jid`'s avatar image.
pub(crate) fn put_avatar(
    conn: &Connection,
    account: &BareJid,
    jid: &BareJid,
    image: &AvatarImage,
    keep: usize,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO avatar (account, jid, hash, mime_type, data) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        account.as_str(),
        jid.as_str(),
        image.sha1_hex(),
        image.mime_type,
        image.data
    ])?;
    bound(conn, "avatar", Some(account), keep)
}

/// Forgets `jid`'s avatar (it has none now).
pub(crate) fn remove_avatar(
    conn: &Connection,
    account: &BareJid,
    jid: &BareJid,
) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM avatar WHERE account = ?1 AND jid = ?2")?
        .execute([account.as_str(), jid.as_str()])
        .map(drop)
}

/// The contacts whose avatar is cached, with its SHA-1.
pub(crate) fn avatar_hashes(
    conn: &Connection,
    account: &str,
) -> Result<Vec<(BareJid, String)>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT jid, hash FROM avatar WHERE account = ?1 ORDER BY seq")
        .map_err(StoreError::sql("reading the avatars"))?;
    let rows = stmt
        .query_map([account], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(StoreError::sql("reading the avatars"))?;
    let mut out = Vec::new();
    for row in rows {
        let (jid, hash) = row.map_err(StoreError::sql("reading the avatars"))?;
        let jid = jid.parse().map_err(|_| StoreError::corrupt("avatar.jid"))?;
        out.push((jid, hash));
    }
    Ok(out)
}

impl Store {
    /// The cached card of `jid` (as the last fetch returned it), if any.
    pub fn vcard(&self, account: &BareJid, jid: &BareJid) -> Result<Option<VCard>, StoreError> {
        let xml: Option<String> = self
            .conn
            .prepare_cached("SELECT card FROM vcard WHERE account = ?1 AND jid = ?2")
            .and_then(|mut s| {
                s.query_row([account.as_str(), jid.as_str()], |r| r.get(0))
                    .optional()
            })
            .map_err(StoreError::sql("reading a vCard"))?;
        let Some(xml) = xml else { return Ok(None) };
        parse_element(&xml)
            .and_then(|e| VCard::parse(&e).ok())
            .map(Some)
            .ok_or_else(|| StoreError::corrupt("vcard.card"))
    }

    /// The cached XEP-0153 avatar of `jid` and its SHA-1, if any.
    pub fn avatar(
        &self,
        account: &BareJid,
        jid: &BareJid,
    ) -> Result<Option<(String, AvatarImage)>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT hash, mime_type, data FROM avatar WHERE account = ?1 AND jid = ?2",
            )
            .and_then(|mut s| {
                s.query_row([account.as_str(), jid.as_str()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        AvatarImage {
                            mime_type: r.get(1)?,
                            data: r.get(2)?,
                        },
                    ))
                })
                .optional()
            })
            .map_err(StoreError::sql("reading an avatar"))
    }
}
