//! The local message archive: every chat message with a stanza-id (live,
//! carbon or from an archive query), once per (account, archive,
//! stanza-id), with what the application shows of it (no raw XML), paged
//! in time order.
//!
//! Which archive a stanza-id belongs to: the room's for a groupchat
//! message (the room stamps it, XEP-0359 and XEP-0313 §3.2), the
//! account's for anything else. Order: the message's delay stamp
//! (XEP-0203; an archive result always has one), or the time it was
//! stored; ties in insertion order.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, Row};
use xmpp_proto::messages::{ChatMessage, Stamp};
use xmpp_proto::stanza::{BareJid, Jid, MessageType};
use xmpp_proto::Carbon;

use crate::{Store, StoreError};

/// A message as the store keeps it: what a client shows, nothing else.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredMessage {
    /// The archive that gave the stanza-id: the account's bare JID, or
    /// the room's for a groupchat message.
    pub archive: BareJid,
    /// The stanza-id that archive gave it (XEP-0359).
    pub stanza_id: String,
    /// The conversation: the contact (whichever way the message went), or
    /// the room.
    pub peer: BareJid,
    /// The sender, as received.
    pub from: Option<Jid>,
    /// The recipient, as received.
    pub to: Option<Jid>,
    /// The message type.
    pub type_: MessageType,
    /// The sender's message id.
    pub id: Option<String>,
    /// The body.
    pub body: String,
    /// When it was first sent, if it was delayed (XEP-0203).
    pub delay: Option<Stamp>,
    /// The id of the message it corrects (XEP-0308).
    pub replaces: Option<String>,
    /// Which carbon copy it came as, if one (XEP-0280).
    pub carbon: Option<Carbon>,
    /// Whether it came from an archive query (XEP-0313).
    pub archived: bool,
    /// Its place in time, in microseconds since 1970: the delay stamp, or
    /// when it was stored.
    pub time_us: i64,
}

impl StoredMessage {
    /// What the store keeps of `message` received on `account`: `None`
    /// for a message without stanza-id or body, or an error message.
    /// `now_us` (microseconds since 1970) places a message without delay.
    pub fn from_chat(account: &BareJid, message: &ChatMessage, now_us: i64) -> Option<Self> {
        let m = &message.message;
        let stanza_id = message.stanza_id.clone()?;
        let body = m.body.clone()?;
        if m.type_ == MessageType::Error {
            return None;
        }
        let from_bare = m.from.as_ref().map(Jid::to_bare);
        let (archive, peer) = if m.type_ == MessageType::Groupchat {
            let room = from_bare?;
            (room.clone(), room)
        } else {
            let ours = from_bare.as_ref().is_none_or(|f| f == account);
            let peer = if ours {
                m.to.as_ref().map_or_else(|| account.clone(), Jid::to_bare)
            } else {
                from_bare.unwrap_or_else(|| account.clone())
            };
            (account.clone(), peer)
        };
        let delay = message.delay.as_ref().map(|d| d.stamp.clone());
        let time_us = delay.as_ref().map_or(now_us, stamp_us);
        Some(StoredMessage {
            archive,
            stanza_id,
            peer,
            from: m.from.clone(),
            to: m.to.clone(),
            type_: m.type_,
            id: m.id.clone(),
            body,
            delay,
            replaces: message.replaces.clone(),
            carbon: message.carbon(),
            archived: message.is_archived(),
            time_us,
        })
    }
}

/// Microseconds since 1970 of a stamp (saturating far from now).
fn stamp_us(stamp: &Stamp) -> i64 {
    let (secs, nanos) = stamp.unix_time();
    secs.saturating_mul(1_000_000)
        .saturating_add(i64::from(nanos / 1_000))
}

/// Microseconds since 1970, now (0 if the clock is before 1970).
pub(crate) fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Where a page starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Position {
    /// The newest messages.
    Latest,
    /// The oldest messages.
    Earliest,
    /// The messages just before the one with this stanza-id.
    Before(String),
    /// The messages just after the one with this stanza-id.
    After(String),
}

/// Which page of the local archive to read ([`Store::archive_page`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveQuery {
    /// A room's archive, or `None` for the account's.
    pub room: Option<BareJid>,
    /// Only the conversation with this contact (in the account's archive).
    pub with: Option<BareJid>,
    /// Where the page is.
    pub position: Position,
    /// At most this many messages.
    pub max: usize,
}

impl ArchiveQuery {
    /// The newest `max` messages of the account's archive.
    pub fn latest(max: usize) -> Self {
        ArchiveQuery {
            room: None,
            with: None,
            position: Position::Latest,
            max,
        }
    }

    /// The oldest `max` messages of the account's archive.
    pub fn earliest(max: usize) -> Self {
        ArchiveQuery {
            position: Position::Earliest,
            ..ArchiveQuery::latest(max)
        }
    }

    /// The page just before `stanza_id` (the previous page of one whose
    /// first message it is).
    pub fn before(mut self, stanza_id: impl Into<String>) -> Self {
        self.position = Position::Before(stanza_id.into());
        self
    }

    /// The page just after `stanza_id` (the next page of one whose last
    /// message it is).
    pub fn after(mut self, stanza_id: impl Into<String>) -> Self {
        self.position = Position::After(stanza_id.into());
        self
    }

    /// Only the conversation with `jid`.
    pub fn with(mut self, jid: BareJid) -> Self {
        self.with = Some(jid);
        self
    }

    /// The room's archive instead of the account's.
    pub fn room(mut self, room: BareJid) -> Self {
        self.room = Some(room);
        self
    }
}

/// A page of the local archive, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchivePage {
    /// The messages, oldest first.
    pub messages: Vec<StoredMessage>,
    /// True when nothing more lies in the page's direction (older for
    /// `Latest` and `Before`, newer for `Earliest` and `After`).
    pub complete: bool,
}

const COLUMNS: &str = "archive, stanza_id, peer, from_jid, to_jid, type, id, body, delay, \
     replaces, carbon, archived, time";

/// Inserts `m` unless its (archive, stanza-id) is stored already; true
/// when it was new.
pub(crate) fn insert(
    conn: &Connection,
    account: &BareJid,
    m: &StoredMessage,
) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached(&format!(
            "INSERT OR IGNORE INTO message (account, {COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        ))?
        .execute(params![
            account.as_str(),
            m.archive.as_str(),
            m.stanza_id,
            m.peer.as_str(),
            m.from.as_ref().map(Jid::as_str),
            m.to.as_ref().map(Jid::as_str),
            m.type_.as_str(),
            m.id,
            m.body,
            m.delay.as_ref().map(Stamp::as_str),
            m.replaces,
            m.carbon.map(Carbon::as_str),
            m.archived,
            m.time_us,
        ])?;
    Ok(n == 1)
}

fn read_row(r: &Row<'_>) -> rusqlite::Result<[Option<String>; 11]> {
    let mut out: [Option<String>; 11] = Default::default();
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = r.get(i)?;
    }
    Ok(out)
}

fn decode(
    text: [Option<String>; 11],
    archived: bool,
    time_us: i64,
) -> Result<StoredMessage, StoreError> {
    let [archive, stanza_id, peer, from, to, type_, id, body, delay, replaces, carbon] = text;
    let bad = |what: &str| StoreError::corrupt(format!("message.{what}"));
    let bare = |v: Option<String>, what: &str| -> Result<BareJid, StoreError> {
        v.and_then(|v| v.parse().ok()).ok_or_else(|| bad(what))
    };
    let jid = |v: Option<String>, what: &str| -> Result<Option<Jid>, StoreError> {
        v.map(|v| v.parse().map_err(|_| bad(what))).transpose()
    };
    Ok(StoredMessage {
        archive: bare(archive, "archive")?,
        stanza_id: stanza_id.ok_or_else(|| bad("stanza_id"))?,
        peer: bare(peer, "peer")?,
        from: jid(from, "from_jid")?,
        to: jid(to, "to_jid")?,
        type_: type_
            .as_deref()
            .and_then(MessageType::from_attr)
            .ok_or_else(|| bad("type"))?,
        id,
        body: body.ok_or_else(|| bad("body"))?,
        delay: delay
            .map(|d| Stamp::parse(&d).map_err(|_| bad("delay")))
            .transpose()?,
        replaces,
        carbon: match carbon.as_deref() {
            None => None,
            Some("sent") => Some(Carbon::Sent),
            Some("received") => Some(Carbon::Received),
            Some(_) => return Err(bad("carbon")),
        },
        archived,
        time_us,
    })
}

impl Store {
    /// A page of the local archive (see [`ArchiveQuery`]), oldest first.
    /// `Before` and `After` an id the archive does not hold is
    /// [`StoreError::UnknownStanzaId`].
    pub fn archive_page(
        &self,
        account: &BareJid,
        query: &ArchiveQuery,
    ) -> Result<ArchivePage, StoreError> {
        let read = || StoreError::sql("reading the archive");
        let archive = query.room.as_ref().unwrap_or(account);
        let anchor = match &query.position {
            Position::Before(id) | Position::After(id) => {
                let found: Option<(i64, i64)> = self
                    .conn
                    .prepare_cached(
                        "SELECT time, seq FROM message \
                         WHERE account = ?1 AND archive = ?2 AND stanza_id = ?3",
                    )
                    .and_then(|mut s| {
                        s.query_row(params![account.as_str(), archive.as_str(), id], |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })
                        .optional()
                    })
                    .map_err(read())?;
                Some(found.ok_or_else(|| StoreError::UnknownStanzaId { id: id.clone() })?)
            }
            Position::Latest | Position::Earliest => None,
        };
        let (range, newest_first) = match query.position {
            Position::Latest => ("", true),
            Position::Earliest => ("", false),
            Position::Before(_) => ("AND (time, seq) < (?4, ?5)", true),
            Position::After(_) => ("AND (time, seq) > (?4, ?5)", false),
        };
        let peer = if query.with.is_some() {
            "AND peer = ?3"
        } else {
            "AND ?3 IS NULL"
        };
        let order = if newest_first { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {COLUMNS} FROM message WHERE account = ?1 AND archive = ?2 {peer} {range} \
             ORDER BY time {order}, seq {order} LIMIT ?6"
        );
        let (t, s) = anchor.unwrap_or((0, 0));
        let limit = i64::try_from(query.max.saturating_add(1)).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(read())?;
        let rows = stmt
            .query_map(
                params![
                    account.as_str(),
                    archive.as_str(),
                    query.with.as_ref().map(|w| w.as_str()),
                    t,
                    s,
                    limit
                ],
                |r| Ok((read_row(r)?, r.get::<_, bool>(11)?, r.get::<_, i64>(12)?)),
            )
            .map_err(read())?;
        let mut messages = Vec::new();
        for row in rows {
            let (text, archived, time) = row.map_err(read())?;
            messages.push(decode(text, archived, time)?);
        }
        let complete = messages.len() <= query.max;
        messages.truncate(query.max);
        if newest_first {
            messages.reverse();
        }
        Ok(ArchivePage { messages, complete })
    }

    /// How many messages the local archive holds for `account` (its own
    /// archive and rooms').
    pub fn archive_len(&self, account: &BareJid) -> Result<usize, StoreError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM message WHERE account = ?1",
                [account.as_str()],
                |r| r.get(0),
            )
            .map_err(StoreError::sql("counting the archive"))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Keeps only the newest `keep_last` messages of `account` (all its
    /// archives together), in one transaction; returns how many were
    /// deleted. A pruned message that an archive query returns again is
    /// stored again.
    pub fn prune_archive(
        &mut self,
        account: &BareJid,
        keep_last: usize,
    ) -> Result<usize, StoreError> {
        let keep = i64::try_from(keep_last).unwrap_or(i64::MAX);
        self.conn
            .execute(
                "DELETE FROM message WHERE seq IN (SELECT seq FROM message WHERE account = ?1 \
                 ORDER BY time DESC, seq DESC LIMIT -1 OFFSET ?2)",
                params![account.as_str(), keep],
            )
            .map_err(StoreError::sql("pruning the archive"))
    }
}
