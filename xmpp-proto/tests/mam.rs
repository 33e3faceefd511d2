//! Message archive management (XEP-0313) as transcripts: a query of our
//! own archive and of a room's, exactly as sent; its results arriving as
//! archived chat messages with the archive's id and delay, then the end of
//! the query with its paging cursor; errors. And the attacker, byte for
//! byte: a result for a query that is not ours, or from anyone but the
//! archive queried (a contact, a full JID of our own account, another
//! room, an occupant), or nested in another forwarded stanza, is dropped
//! with a warning and never becomes a message.

use xmpp_test_support::session;

use session::{config, Session, Unwrapper, NS_WRAP};
use xmpp_proto::mam::{
    Mam, MamError, MamEvent, Page, Query, QueryError, QueryStarted, MAX_QUERIES_IN_FLIGHT,
};
use xmpp_proto::messages::{ChatMessage, Messages, Stamp};
use xmpp_proto::stanza::DefinedCondition;
use xmpp_proto::{Event, IqFailure, Provenance};

const ROOM: &str = "coven@chat.shakespeare.lit";

/// Online with the messages module registered *before* the archive
/// module: the archive module's routing priority must still put it first.
fn online() -> Session {
    let mut s = Session::login_with(config().build(), "", |c| {
        c.register(Unwrapper).expect("register");
        c.register(Messages::new()).expect("register");
        c.register(Mam::new()).expect("register");
    });
    s.sent();
    s.events.clear();
    s
}

fn query(s: &mut Session, q: Query) -> QueryStarted {
    s.client
        .with_module(s.now, |m: &mut Mam, cx| m.query(cx, q))
        .expect("registered")
        .expect("sent")
}

fn mam_events(s: &Session) -> Vec<MamEvent> {
    s.events
        .iter()
        .filter_map(|e| match e {
            Event::Mam(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

/// A result message from `from` (none: no `from`) for `queryid`.
fn result(from: Option<&str>, queryid: &str, archive_id: &str, inner: &str) -> String {
    let from = from.map(|f| format!(" from='{f}'")).unwrap_or_default();
    format!(
        "<message{from} to='juliet@example.com/balcony' id='m-{archive_id}'>\
         <result xmlns='urn:xmpp:mam:2' queryid='{queryid}' id='{archive_id}'>\
         <forwarded xmlns='urn:xmpp:forward:0'>\
         <delay xmlns='urn:xmpp:delay' stamp='2010-07-10T23:08:25Z'/>{inner}\
         </forwarded></result></message>"
    )
}

const ROMEO_SAYS: &str = "<message xmlns='jabber:client' from='romeo@montague.lit/orchard' \
     to='juliet@example.com/balcony' type='chat' id='r1'><body>Call me but love</body>\
     <stanza-id xmlns='urn:xmpp:sid:0' by='juliet@example.com' id='forged'/></message>";

const WITCH_SAYS: &str = "<message xmlns='jabber:client' \
     from='coven@chat.shakespeare.lit/firstwitch' type='groupchat' id='w1'>\
     <body>Thrice the brinded cat hath mew'd.</body></message>";

#[test]
fn our_archive_is_queried_and_its_results_arrive_as_archived_messages_then_done() {
    let mut s = online();
    let q = Query::new()
        .with("romeo@montague.lit".parse().expect("jid"))
        .start(Stamp::parse("2010-06-07T00:00:00Z").expect("stamp"))
        .page(Page::new().with_max(2).after("09af3-cc343-b409f"));
    let QueryStarted { id, query_id } = query(&mut s, q);
    assert_eq!(
        s.sent(),
        format!(
            "<iq id='{id}' type='set'><query xmlns='urn:xmpp:mam:2' queryid='{query_id}'>\
             <x xmlns='jabber:x:data' type='submit'>\
             <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>\
             <field var='with'><value>romeo@montague.lit</value></field>\
             <field var='start'><value>2010-06-07T00:00:00Z</value></field></x>\
             <set xmlns='http://jabber.org/protocol/rsm'><max>2</max>\
             <after>09af3-cc343-b409f</after></set></query></iq>"
        )
    );
    assert_ne!(id, query_id);
    // One result without `from` (the server speaking for the account), one
    // from the account's bare JID.
    s.server(&result(None, &query_id, "28482-98726-73623", ROMEO_SAYS));
    s.server(&result(
        Some("juliet@example.com"),
        &query_id,
        "09af3-cc343-b409g",
        "<message xmlns='jabber:client' from='juliet@example.com/balcony' \
         to='romeo@montague.lit' type='chat' id='j1'><body>Wherefore</body>\
         <delay xmlns='urn:xmpp:delay' stamp='1999-01-01T00:00:00Z'/></message>",
    ));
    assert!(s.module_warnings().is_empty(), "{:?}", s.events);
    let got = s.chat_messages();
    assert_eq!(got.len(), 2, "{:?}", s.events);
    assert!(got.iter().all(ChatMessage::is_archived));
    assert_eq!(
        got[0].provenance,
        Provenance::Archive {
            archive_id: "28482-98726-73623".into(),
            query_id: Some(query_id.clone()),
            catch_up: false,
        }
    );
    // The archive's id, not the stanza-id the message carried.
    assert_eq!(got[0].stanza_id.as_deref(), Some("28482-98726-73623"));
    assert_eq!(got[0].message.body.as_deref(), Some("Call me but love"));
    assert_eq!(
        got[0].message.from.as_ref().map(|j| j.as_str()),
        Some("romeo@montague.lit/orchard")
    );
    // The archive's delay, not the one the message claims.
    for m in &got {
        let delay = m.delay.as_ref().expect("a delay");
        assert_eq!(delay.stamp.as_str(), "2010-07-10T23:08:25Z");
    }
    assert_eq!(got[1].stanza_id.as_deref(), Some("09af3-cc343-b409g"));
    // No receipt or anything else is sent for history.
    assert_eq!(s.sent(), "");
    assert!(mam_events(&s).is_empty());
    s.events.clear();
    s.server(&format!(
        "<iq type='result' id='{id}'><fin xmlns='urn:xmpp:mam:2' complete='false'>\
         <set xmlns='http://jabber.org/protocol/rsm'><first index='0'>28482-98726-73623</first>\
         <last>09af3-cc343-b409g</last><count>20</count></set></fin></iq>"
    ));
    assert_eq!(
        mam_events(&s),
        [MamEvent::Done {
            id,
            query_id: query_id.clone(),
            complete: false,
            first: Some("28482-98726-73623".into()),
            last: Some("09af3-cc343-b409g".into()),
            count: Some(20),
        }]
    );
    // The query is over: a late result is refused.
    s.events.clear();
    s.server(&result(None, &query_id, "late", ROMEO_SAYS));
    assert!(s.chat_messages().is_empty());
    assert_eq!(s.module_warnings().len(), 1, "{:?}", s.events);
    assert_eq!(s.client.module::<Mam>().expect("registered").in_flight(), 0);
}

#[test]
fn a_rooms_archive_is_queried_at_the_room_and_answers_from_it() {
    let mut s = online();
    let QueryStarted { id, query_id } = query(
        &mut s,
        Query::room(ROOM.parse().expect("jid")).page(Page::new().with_max(5).last()),
    );
    assert_eq!(
        s.sent(),
        format!(
            "<iq to='{ROOM}' id='{id}' type='set'><query xmlns='urn:xmpp:mam:2' \
             queryid='{query_id}'><set xmlns='http://jabber.org/protocol/rsm'><max>5</max>\
             <before/></set></query></iq>"
        )
    );
    s.server(&result(Some(ROOM), &query_id, "room-1", WITCH_SAYS));
    assert!(s.module_warnings().is_empty(), "{:?}", s.events);
    let got = s.chat_messages();
    assert_eq!(got.len(), 1, "{:?}", s.events);
    assert!(got[0].is_archived());
    assert_eq!(got[0].stanza_id.as_deref(), Some("room-1"));
    s.events.clear();
    s.server(&format!(
        "<iq type='result' from='{ROOM}' id='{id}'><fin xmlns='urn:xmpp:mam:2' complete='true'>\
         <set xmlns='http://jabber.org/protocol/rsm'><first>room-1</first><last>room-1</last>\
         </set></fin></iq>"
    ));
    assert_eq!(
        mam_events(&s),
        [MamEvent::Done {
            id,
            query_id,
            complete: true,
            first: Some("room-1".into()),
            last: Some("room-1".into()),
            count: None,
        }]
    );
}

#[test]
fn a_result_for_a_query_that_is_not_ours_in_flight_is_dropped() {
    let mut s = online();
    let QueryStarted { query_id, .. } = query(&mut s, Query::new());
    s.sent();
    for foreign in ["not-ours", "", &format!("{query_id}x")] {
        s.events.clear();
        s.server(&result(None, foreign, "a1", ROMEO_SAYS));
        assert!(s.chat_messages().is_empty(), "{foreign:?}: {:?}", s.events);
        assert!(!s.events.iter().any(|e| matches!(e, Event::Message(_))));
        let w = s.module_warnings();
        assert_eq!(w.len(), 1, "{foreign:?}: {w:?}");
        assert!(w[0].contains("not a query of ours"), "{w:?}");
    }
    // A result without queryid at all.
    s.events.clear();
    s.server(
        "<message><result xmlns='urn:xmpp:mam:2' id='a2'><forwarded xmlns='urn:xmpp:forward:0'>\
         <message xmlns='jabber:client' from='romeo@montague.lit/orchard' type='chat'>\
         <body>x</body></message></forwarded></result></message>",
    );
    assert!(s.chat_messages().is_empty(), "{:?}", s.events);
    assert_eq!(s.module_warnings().len(), 1);
    assert_eq!(s.sent(), "", "nothing answered");
}

#[test]
fn a_result_from_anyone_but_our_own_archive_is_dropped() {
    let mut s = online();
    let QueryStarted { query_id, .. } = query(&mut s, Query::new());
    s.sent();
    for from in [
        // A contact's bare JID, and full JID.
        "romeo@montague.lit",
        "romeo@montague.lit/orchard",
        // Full JIDs of our own account: clients, not the archive.
        "juliet@example.com/chamber",
        "juliet@example.com/balcony",
        // The domain, and a room.
        "example.com",
        ROOM,
    ] {
        s.events.clear();
        s.server(&result(Some(from), &query_id, "a1", ROMEO_SAYS));
        assert!(s.chat_messages().is_empty(), "{from}: {:?}", s.events);
        assert!(!s.events.iter().any(|e| matches!(e, Event::Message(_))));
        let w = s.module_warnings();
        assert_eq!(w.len(), 1, "{from}: {w:?}");
        assert!(w[0].contains(from), "{w:?}");
    }
    // The query is still ours: the real archive is still heard.
    s.events.clear();
    s.server(&result(None, &query_id, "a1", ROMEO_SAYS));
    assert_eq!(s.chat_messages().len(), 1, "{:?}", s.events);
}

#[test]
fn a_result_from_anyone_but_the_rooms_archive_is_dropped() {
    let mut s = online();
    let QueryStarted { query_id, .. } = query(&mut s, Query::room(ROOM.parse().expect("jid")));
    s.sent();
    for from in [
        // Another room, an occupant of the room (a full JID), our own
        // account (its archive was not queried), and no from at all.
        Some("other@chat.shakespeare.lit"),
        Some("coven@chat.shakespeare.lit/firstwitch"),
        Some("juliet@example.com"),
        Some("chat.shakespeare.lit"),
        None,
    ] {
        s.events.clear();
        s.server(&result(from, &query_id, "r1", WITCH_SAYS));
        assert!(s.chat_messages().is_empty(), "{from:?}: {:?}", s.events);
        assert!(!s.events.iter().any(|e| matches!(e, Event::Message(_))));
        let w = s.module_warnings();
        assert_eq!(w.len(), 1, "{from:?}: {w:?}");
        assert!(w[0].contains(ROOM), "{w:?}");
    }
}

#[test]
fn a_result_nested_in_another_forwarded_stanza_is_dropped() {
    let mut s = online();
    let QueryStarted { query_id, .. } = query(&mut s, Query::new());
    s.sent();
    let inner = result(None, &query_id, "a1", ROMEO_SAYS).replacen(
        "<message",
        "<message xmlns='jabber:client'",
        1,
    );
    s.server(&format!(
        "<message from='mallory@evil.example/x'><wrapped xmlns='{NS_WRAP}'>{inner}</wrapped></message>"
    ));
    assert!(s.chat_messages().is_empty(), "{:?}", s.events);
    let w = s.module_warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("nested"), "{w:?}");
}

#[test]
fn an_error_answer_fails_the_query_and_queries_in_flight_are_bounded() {
    let mut s = online();
    let QueryStarted { id, query_id } = query(&mut s, Query::new());
    s.sent();
    s.server(&format!(
        "<iq type='error' id='{id}'><error type='cancel'>\
         <feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    let events = mam_events(&s);
    let [MamEvent::Failed {
        id: failed,
        query_id: q,
        error: QueryError::Iq(IqFailure::Error(e)),
    }] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!((failed, q), (&id, &query_id));
    assert_eq!(e.condition, DefinedCondition::FeatureNotImplemented);
    // An answer without <fin/> fails too.
    s.events.clear();
    let QueryStarted { id, .. } = query(&mut s, Query::new());
    s.sent();
    s.server(&format!("<iq type='result' id='{id}'/>"));
    assert!(matches!(
        &mam_events(&s)[..],
        [MamEvent::Failed {
            error: QueryError::NoFin,
            ..
        }]
    ));
    // At most MAX_QUERIES_IN_FLIGHT at once.
    for _ in 0..MAX_QUERIES_IN_FLIGHT {
        query(&mut s, Query::new());
    }
    let refused = s
        .client
        .with_module(s.now, |m: &mut Mam, cx| m.query(cx, Query::new()))
        .expect("registered");
    assert_eq!(refused, Err(MamError::TooManyQueries));
}

#[test]
fn an_unanswered_query_fails_as_timed_out_and_its_late_results_are_dropped() {
    let mut s = online();
    let QueryStarted { id, query_id } = query(&mut s, Query::room(ROOM.parse().expect("jid")));
    s.sent();
    s.advance(std::time::Duration::from_secs(31));
    assert_eq!(
        mam_events(&s),
        [MamEvent::Failed {
            id,
            query_id: query_id.clone(),
            error: QueryError::Iq(IqFailure::Timeout),
        }]
    );
    assert_eq!(s.client.module::<Mam>().expect("registered").in_flight(), 0);
    s.events.clear();
    s.server(&result(Some(ROOM), &query_id, "r1", WITCH_SAYS));
    assert!(s.chat_messages().is_empty(), "{:?}", s.events);
    assert_eq!(s.module_warnings().len(), 1, "{:?}", s.events);
}
