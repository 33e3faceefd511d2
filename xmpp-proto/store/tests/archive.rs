//! The local archive, fed with real events from a core session: live
//! messages, carbons and archive pages stored once per (archive,
//! stanza-id), what is kept of each, paging in both directions with and
//! without a contact filter, a room's archive apart from ours, pruning.

mod common;

use common::{account, chat, fin, groupchat, live, result, Session, ACCOUNT, ROOM};
use xmpp_proto::stanza::MessageType;
use xmpp_proto::{Carbon, Event};
use xmpp_store::{Applied, ArchivePage, ArchiveQuery, Store, StoreError};

fn ids(page: &ArchivePage) -> Vec<String> {
    page.messages.iter().map(|m| m.stanza_id.clone()).collect()
}

/// One archive page of ours: `n` results, `contact(i)` the other party of
/// the i-th, archived at second `i`, ids `a0`, `a1`, ...
fn archive_page(s: &mut Session, n: u32, contact: impl Fn(u32) -> &'static str) -> Vec<Event> {
    let q = s.query(None);
    let mut bytes = String::new();
    for i in 0..n {
        let inner = chat(contact(i), &format!("body {i}"), i % 3 == 0);
        bytes.push_str(&result(&q.query_id, &format!("a{i}"), i, &inner, None));
    }
    bytes.push_str(&fin(&q.id, "a0", &format!("a{}", n - 1), true, None));
    let events = s.feed(bytes.as_bytes());
    assert_eq!(common::chat_messages(&events), n as usize, "{events:?}");
    events
}

#[test]
fn a_live_message_is_stored_once_with_what_a_client_shows() {
    let mut s = Session::online();
    let mut store = Store::in_memory().expect("store");
    let me = account();
    let events = s.feed(live("romeo@montague.lit/orchard", "s1", "Hello", None).as_bytes());
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        store.apply(&me, &events[0]).expect("apply"),
        Applied::Stored
    );
    // The same stanza-id again live: the core's messages module drops it.
    let again = s.feed(live("romeo@montague.lit/orchard", "s1", "Hello", None).as_bytes());
    assert!(again.is_empty(), "{again:?}");
    let q = s.query(None);
    let archived = s.feed(
        result(
            &q.query_id,
            "s1",
            5,
            &chat("romeo@montague.lit", "Hello", false),
            None,
        )
        .as_bytes(),
    );
    assert_eq!(
        store.apply(&me, &archived[0]).expect("apply"),
        Applied::Duplicate
    );
    assert_eq!(store.archive_len(&me).expect("len"), 1);

    let page = store
        .archive_page(&me, &ArchiveQuery::latest(10))
        .expect("page");
    assert!(page.complete);
    let m = &page.messages[0];
    assert_eq!(m.stanza_id, "s1");
    assert_eq!(m.archive.as_str(), ACCOUNT);
    assert_eq!(m.peer.as_str(), "romeo@montague.lit");
    assert_eq!(
        m.from.as_ref().map(|j| j.as_str()),
        Some("romeo@montague.lit/orchard")
    );
    assert_eq!(
        m.to.as_ref().map(|j| j.as_str()),
        Some("juliet@example.com/balcony")
    );
    assert_eq!(m.type_, MessageType::Chat);
    assert_eq!(m.id.as_deref(), Some("m-s1"));
    assert_eq!(m.body, "Hello");
    assert_eq!(m.delay, None);
    assert_eq!(m.carbon, None);
    assert!(!m.archived);
    assert!(
        m.time_us > 1_600_000_000_000_000,
        "stored now: {}",
        m.time_us
    );
}

#[test]
fn messages_without_stanza_id_or_body_are_not_stored() {
    let mut s = Session::online();
    let mut store = Store::in_memory().expect("store");
    let me = account();
    let no_id = s.feed(chat("romeo@montague.lit", "no id", false).as_bytes());
    let no_body = s.feed(
        b"<message from='romeo@montague.lit/orchard' to='juliet@example.com/balcony' \
          type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/>\
          <stanza-id xmlns='urn:xmpp:sid:0' by='juliet@example.com' id='cs'/></message>",
    );
    // A stanza-id stamped by someone else than our archive is not ours.
    let foreign = s.feed(
        b"<message from='romeo@montague.lit/orchard' to='juliet@example.com/balcony' \
          type='chat'><body>x</body>\
          <stanza-id xmlns='urn:xmpp:sid:0' by='romeo@montague.lit' id='forged'/></message>",
    );
    for events in [no_id, no_body, foreign] {
        assert_eq!(common::chat_messages(&events), 1, "{events:?}");
        for event in &events {
            assert_eq!(store.apply(&me, event).expect("apply"), Applied::Ignored);
        }
    }
    assert_eq!(store.archive_len(&me).expect("len"), 0);
}

#[test]
fn delay_correction_and_carbon_are_kept() {
    let mut s = Session::online();
    let mut store = Store::in_memory().expect("store");
    let me = account();
    let mut events = s.feed(live("romeo@montague.lit/orchard", "d1", "Helo", Some(60)).as_bytes());
    events.extend(s.feed(
        b"<message from='romeo@montague.lit/orchard' to='juliet@example.com/balcony' \
          type='chat' id='fix'><body>Hello</body>\
          <replace xmlns='urn:xmpp:message-correct:0' id='m-d1'/>\
          <stanza-id xmlns='urn:xmpp:sid:0' by='juliet@example.com' id='d2'/></message>",
    ));
    events.extend(s.feed(
        b"<message from='juliet@example.com' to='juliet@example.com/balcony'>\
          <sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\
          <message xmlns='jabber:client' from='juliet@example.com/phone' \
          to='nurse@capulet.lit/kitchen' type='chat' id='c1'><body>Anon</body>\
          <stanza-id xmlns='urn:xmpp:sid:0' by='juliet@example.com' id='d3'/></message>\
          </forwarded></sent></message>",
    ));
    let applied = store.apply_all(&me, &events).expect("apply");
    assert_eq!(applied, [Applied::Stored; 3], "{events:?}");
    let page = store
        .archive_page(&me, &ArchiveQuery::earliest(10))
        .expect("page");
    assert_eq!(ids(&page), ["d1", "d2", "d3"]);
    let [helo, fix, sent] = &page.messages[..] else {
        panic!("three messages")
    };
    assert_eq!(
        helo.delay.as_ref().map(|d| d.as_str()),
        Some("2024-01-01T00:01:00Z")
    );
    assert_eq!(helo.time_us, 1_704_067_260_000_000);
    assert_eq!(fix.replaces.as_deref(), Some("m-d1"));
    assert_eq!(sent.carbon, Some(Carbon::Sent));
    // Sent by us: the conversation is with the recipient.
    assert_eq!(sent.peer.as_str(), "nurse@capulet.lit");
    assert_eq!(
        sent.from.as_ref().map(|j| j.as_str()),
        Some("juliet@example.com/phone")
    );
}

#[test]
fn pages_go_back_and_forth_through_the_whole_archive() {
    let mut s = Session::online();
    let mut store = Store::in_memory().expect("store");
    let me = account();
    let events = archive_page(&mut s, 23, |i| {
        if i % 2 == 0 {
            "romeo@montague.lit"
        } else {
            "nurse@capulet.lit"
        }
    });
    let applied = store.apply_all(&me, &events).expect("apply");
    assert_eq!(
        applied.iter().filter(|a| **a == Applied::Stored).count(),
        23
    );
    assert!(events
        .iter()
        .zip(&applied)
        .all(|(e, a)| matches!(e, Event::ChatMessage(_)) == (*a == Applied::Stored)));
    let all: Vec<String> = (0..23).map(|i| format!("a{i}")).collect();
    let page = store
        .archive_page(&me, &ArchiveQuery::earliest(100))
        .expect("page");
    assert!(page.messages.iter().all(|m| m.archived));

    // Backwards from the newest, 5 at a time: every message once, in order.
    let mut seen: Vec<String> = Vec::new();
    let mut query = ArchiveQuery::latest(5);
    loop {
        let page = store.archive_page(&me, &query).expect("page");
        assert!(page.messages.len() <= 5);
        let mut ids = ids(&page);
        ids.extend(seen);
        seen = ids;
        if page.complete {
            break;
        }
        query = ArchiveQuery::latest(5).before(page.messages[0].stanza_id.clone());
    }
    assert_eq!(seen, all);

    // Forwards from the oldest, 4 at a time.
    let mut seen: Vec<String> = Vec::new();
    let mut query = ArchiveQuery::earliest(4);
    let mut pages = 0;
    loop {
        let page = store.archive_page(&me, &query).expect("page");
        pages += 1;
        seen.extend(ids(&page));
        if page.complete {
            break;
        }
        let last = page.messages.last().expect("a full page").stanza_id.clone();
        query = ArchiveQuery::earliest(4).after(last);
    }
    assert_eq!(seen, all);
    assert_eq!(pages, 6);

    // Only the conversation with romeo (the even ones), both ways.
    let romeo: Vec<String> = (0..23).step_by(2).map(|i| format!("a{i}")).collect();
    let with = |q: ArchiveQuery| q.with("romeo@montague.lit".parse().expect("jid"));
    let newest = store
        .archive_page(&me, &with(ArchiveQuery::latest(5)))
        .expect("page");
    assert_eq!(ids(&newest), romeo[7..]);
    assert!(!newest.complete);
    let before = store
        .archive_page(&me, &with(ArchiveQuery::latest(5).before("a14")))
        .expect("page");
    assert_eq!(ids(&before), romeo[2..7]);
    let older = store
        .archive_page(&me, &with(ArchiveQuery::latest(5).before("a4")))
        .expect("page");
    assert_eq!(ids(&older), romeo[..2]);
    assert!(older.complete);
    // An anchor of the other conversation places the page just as well.
    let after = store
        .archive_page(&me, &with(ArchiveQuery::earliest(3).after("a5")))
        .expect("page");
    assert_eq!(ids(&after), ["a6", "a8", "a10"]);
    assert!(!after.complete);
    let last = store
        .archive_page(&me, &with(ArchiveQuery::earliest(3).after("a18")))
        .expect("page");
    assert_eq!(ids(&last), ["a20", "a22"]);
    assert!(last.complete);
}

#[test]
fn a_rooms_archive_is_apart_from_ours() {
    let mut s = Session::online();
    let mut store = Store::in_memory().expect("store");
    let me = account();
    let q = s.query(Some(ROOM));
    let mut bytes = String::new();
    for i in 0..3 {
        let inner = groupchat(ROOM, "firstwitch", &format!("mew {i}"));
        bytes.push_str(&result(
            &q.query_id,
            &format!("a{i}"),
            i,
            &inner,
            Some(ROOM),
        ));
    }
    bytes.push_str(&fin(&q.id, "a0", "a2", true, Some(ROOM)));
    let mut events = s.feed(bytes.as_bytes());
    assert_eq!(common::chat_messages(&events), 3, "{events:?}");
    // The same id in our archive is another message.
    events.extend(archive_page(&mut s, 1, |_| "romeo@montague.lit"));
    let applied = store.apply_all(&me, &events).expect("apply");
    assert_eq!(applied.iter().filter(|a| **a == Applied::Stored).count(), 4);

    let room = store
        .archive_page(
            &me,
            &ArchiveQuery::latest(10).room(ROOM.parse().expect("jid")),
        )
        .expect("page");
    assert_eq!(ids(&room), ["a0", "a1", "a2"]);
    assert!(room.messages.iter().all(|m| m.archive.as_str() == ROOM
        && m.peer.as_str() == ROOM
        && m.type_ == MessageType::Groupchat));
    let ours = store
        .archive_page(&me, &ArchiveQuery::latest(10))
        .expect("page");
    assert_eq!(ids(&ours), ["a0"]);
    assert_eq!(ours.messages[0].peer.as_str(), "romeo@montague.lit");
    // Another account's store rows are not ours.
    let other = "romeo@montague.lit".parse().expect("jid");
    assert!(store
        .archive_page(&other, &ArchiveQuery::latest(10))
        .expect("page")
        .messages
        .is_empty());
}

#[test]
fn an_unknown_anchor_is_an_error_and_pruning_keeps_the_newest() {
    let mut s = Session::online();
    let mut store = Store::in_memory().expect("store");
    let me = account();
    let events = archive_page(&mut s, 10, |_| "romeo@montague.lit");
    store.apply_all(&me, &events).expect("apply");
    let err = store
        .archive_page(&me, &ArchiveQuery::latest(5).before("nope"))
        .expect_err("unknown id");
    assert!(
        matches!(&err, StoreError::UnknownStanzaId { id } if id == "nope"),
        "{err}"
    );
    assert_eq!(store.prune_archive(&me, 4).expect("prune"), 6);
    let page = store
        .archive_page(&me, &ArchiveQuery::earliest(100))
        .expect("page");
    assert_eq!(ids(&page), ["a6", "a7", "a8", "a9"]);
    assert_eq!(store.prune_archive(&me, 4).expect("prune"), 0);
    // A pruned message that comes again is stored again.
    let again = archive_page(&mut s, 1, |_| "romeo@montague.lit");
    let applied = store.apply_all(&me, &again).expect("apply");
    assert!(applied.contains(&Applied::Stored));
    assert_eq!(store.archive_len(&me).expect("len"), 5);
}
