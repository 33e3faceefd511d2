//! Applying the core's events: the store changes only through what a
//! session reports, one SQLite transaction per event, or per batch.

use rusqlite::{Connection, TransactionBehavior};
use xmpp_proto::disco::DiscoEvent;
use xmpp_proto::mam::MamEvent;
use xmpp_proto::roster::{RosterChange, RosterEvent};
use xmpp_proto::stanza::BareJid;
use xmpp_proto::vcard::{VCardAvatar, VCardEvent};
use xmpp_proto::Event;

use crate::archive::{self, now_us, StoredMessage};
use crate::{cache, state, Store, StoreError, StoreLimits};

/// What [`Store::apply`] did with an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The store changed (a message: it was new).
    Stored,
    /// A message whose stanza-id the archive holds already: a duplicate,
    /// e.g. a live message that an archive query returns again.
    Duplicate,
    /// The event carries nothing the store keeps.
    Ignored,
}

/// Whether the store keeps anything of `event` (without touching it).
fn relevant(event: &Event) -> bool {
    match event {
        Event::Roster(r) => matches!(
            r,
            RosterEvent::Loaded { .. }
                | RosterEvent::Unchanged { .. }
                | RosterEvent::Changed { .. }
        ),
        Event::ScramKeys(_) => true,
        Event::Mam(m) => matches!(m, MamEvent::Cursor { .. }),
        Event::Disco(d) => matches!(d, DiscoEvent::CapsLearned { .. }),
        Event::VCard(v) => matches!(
            v,
            VCardEvent::Fetched { result: Ok(_), .. }
                | VCardEvent::Avatar {
                    avatar: VCardAvatar::Image(_) | VCardAvatar::None,
                    ..
                }
        ),
        Event::ChatMessage(m) => {
            m.stanza_id.is_some()
                && m.message.body.is_some()
                && m.message.type_ != xmpp_proto::stanza::MessageType::Error
        }
        _ => false,
    }
}

/// Applies one event inside the caller's transaction.
fn apply_in(
    conn: &Connection,
    limits: &StoreLimits,
    account: &BareJid,
    event: &Event,
    now: i64,
) -> Result<Applied, StoreError> {
    let done = |r: rusqlite::Result<()>, action| {
        r.map(|()| Applied::Stored).map_err(StoreError::sql(action))
    };
    match event {
        Event::Roster(RosterEvent::Loaded { ver, items }) => done(
            state::replace_roster(conn, account, items)
                .and_then(|()| state::set_roster_ver(conn, account, ver.as_deref())),
            "storing the roster",
        ),
        Event::Roster(RosterEvent::Unchanged { ver }) => done(
            state::set_roster_ver(conn, account, ver.as_deref()),
            "storing the roster version",
        ),
        Event::Roster(RosterEvent::Changed { change, ver }) => done(
            match change {
                RosterChange::Set(item) => state::put_roster_item(conn, account, item),
                RosterChange::Removed(jid) => state::remove_roster_item(conn, account, jid),
            }
            .and_then(|()| state::set_roster_ver(conn, account, ver.as_deref())),
            "storing a roster change",
        ),
        Event::ScramKeys(keys) => done(
            state::put_scram_keys(conn, account, keys),
            "storing the SCRAM keys",
        ),
        Event::Mam(MamEvent::Cursor { id }) => done(
            state::set_archive_cursor(conn, account, Some(id)),
            "storing the archive cursor",
        ),
        Event::Disco(DiscoEvent::CapsLearned { hash, ver, info }) => done(
            cache::put_caps(conn, *hash, ver, info, limits.caps),
            "caching a caps answer",
        ),
        Event::VCard(VCardEvent::Fetched {
            jid,
            result: Ok(card),
            ..
        }) => done(
            cache::put_vcard(conn, account, jid, card, limits.vcards),
            "caching a vCard",
        ),
        Event::VCard(VCardEvent::Avatar {
            jid,
            avatar: VCardAvatar::Image(image),
            ..
        }) => done(
            cache::put_avatar(conn, account, jid, image, limits.avatars),
            "caching an avatar",
        ),
        Event::VCard(VCardEvent::Avatar {
            jid,
            avatar: VCardAvatar::None,
            ..
        }) => done(
            cache::remove_avatar(conn, account, jid),
            "forgetting an avatar",
        ),
        Event::ChatMessage(m) => match StoredMessage::from_chat(account, m, now) {
            Some(stored) => match archive::insert(conn, account, &stored) {
                Ok(true) => Ok(Applied::Stored),
                Ok(false) => Ok(Applied::Duplicate),
                Err(e) => Err(StoreError::Sqlite {
                    action: "storing a message",
                    source: e,
                }),
            },
            None => Ok(Applied::Ignored),
        },
        _ => Ok(Applied::Ignored),
    }
}

impl Store {
    /// Records what `event`, reported by `account`'s session, changes:
    /// roster loads, pushes and "unchanged" answers (with the version),
    /// SCRAM keys, learned caps, fetched vCards and XEP-0153 avatars, and
    /// chat messages with a stanza-id and a body (into the archive, once
    /// per stanza-id: [`Applied::Duplicate`] the second time). One
    /// transaction; other events are [`Applied::Ignored`] without one.
    pub fn apply(&mut self, account: &BareJid, event: &Event) -> Result<Applied, StoreError> {
        if !relevant(event) {
            return Ok(Applied::Ignored);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting a transaction"))?;
        let applied = apply_in(&tx, &self.limits, account, event, now_us())?;
        tx.commit()
            .map_err(StoreError::sql("committing a transaction"))?;
        Ok(applied)
    }

    /// [`Store::apply`] for several events in one transaction (an archive
    /// page, say): all of them are recorded, or, on an error, none.
    /// Returns what each one did, in order.
    pub fn apply_all<'e>(
        &mut self,
        account: &BareJid,
        events: impl IntoIterator<Item = &'e Event>,
    ) -> Result<Vec<Applied>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting a transaction"))?;
        let now = now_us();
        let mut out = Vec::new();
        for event in events {
            out.push(if relevant(event) {
                apply_in(&tx, &self.limits, account, event, now)?
            } else {
                Applied::Ignored
            });
        }
        tx.commit()
            .map_err(StoreError::sql("committing a transaction"))?;
        Ok(out)
    }
}
