//! Archive catch-up, preferences and duplicate suppression as transcripts:
//! a login with a stored cursor pages forwards from it and reports each
//! page's cursor; a first login learns the newest id without delivering
//! it; live messages move the cursor (held back while a catch-up runs); a
//! message that arrives both live and from the archive (or twice live, as
//! after a resumption) reaches the application once; a catch-up cut by a
//! lost connection starts again from the last complete page; a message the
//! server held back between the catch-up and our initial presence (stored
//! offline, not pushed because we query the archive) is fetched once the
//! server reflects that presence. And the archiving preferences and query
//! form, with hostile answers refused.

use xmpp_test_support::{scram_server, session};

use std::time::Duration;

use scram_server::{Hash, ScramServer};
use session::{config, Session};
use xmpp_proto::connect::Security;
use xmpp_proto::mam::{DefaultPolicy, Mam, MamEvent, Prefs, PrefsError, QueryError};
use xmpp_proto::messages::Messages;
use xmpp_proto::{Event, Input, IqFailure, ReconnectPolicy};

fn with_mam(mam: Mam, reconnect: bool) -> Session {
    let mut c = config();
    if reconnect {
        c = c.reconnect(ReconnectPolicy::new().backoff(
            Duration::from_secs(1),
            Duration::from_secs(1),
            1,
        ));
    }
    Session::login_with(c.build(), "", |c| {
        c.register(Messages::new()).expect("register");
        c.register(mam).expect("register");
    })
}

/// The value of `attr='…'` in the first element of `xml` that has it.
fn attr(xml: &str, attr: &str) -> String {
    let key = format!(" {attr}='");
    let start = xml
        .find(&key)
        .unwrap_or_else(|| panic!("no {attr} in {xml}"))
        + key.len();
    let end = xml[start..].find('\'').expect("closing quote") + start;
    xml[start..end].to_string()
}

fn mam_events(s: &mut Session) -> Vec<MamEvent> {
    s.take_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Mam(m) => Some(m),
            _ => None,
        })
        .collect()
}

/// An archive result (no `from`: our own archive) with a chat message from
/// Romeo whose origin-id is `o-ARCHIVE_ID`.
fn result(queryid: &str, archive_id: &str) -> String {
    format!(
        "<message to='juliet@example.com/balcony'>\
         <result xmlns='urn:xmpp:mam:2' queryid='{queryid}' id='{archive_id}'>\
         <forwarded xmlns='urn:xmpp:forward:0'>\
         <delay xmlns='urn:xmpp:delay' stamp='2010-07-10T23:08:25Z'/>\
         <message xmlns='jabber:client' from='romeo@montague.lit/orchard' \
         to='juliet@example.com/balcony' type='chat' id='m-{archive_id}'>\
         <body>{archive_id}</body><origin-id xmlns='urn:xmpp:sid:0' id='o-{archive_id}'/>\
         </message></forwarded></result></message>"
    )
}

/// The same message as it arrives live, stamped by our archive.
fn live(archive_id: &str) -> String {
    format!(
        "<message from='romeo@montague.lit/orchard' to='juliet@example.com/balcony' \
         type='chat' id='m-{archive_id}'><body>{archive_id}</body>\
         <origin-id xmlns='urn:xmpp:sid:0' id='o-{archive_id}'/>\
         <stanza-id xmlns='urn:xmpp:sid:0' by='juliet@example.com' id='{archive_id}'/></message>"
    )
}

fn fin(id: &str, complete: bool, last: Option<&str>) -> String {
    let set = last
        .map(|l| {
            format!("<set xmlns='http://jabber.org/protocol/rsm'><first>x</first><last>{l}</last></set>")
        })
        .unwrap_or_default();
    format!(
        "<iq type='result' id='{id}'><fin xmlns='urn:xmpp:mam:2' complete='{complete}'>{set}</fin></iq>"
    )
}

fn bodies(s: &Session) -> Vec<String> {
    s.chat_messages()
        .iter()
        .filter_map(|m| m.message.body.clone())
        .collect()
}

#[test]
fn a_login_with_a_cursor_pages_forward_from_it_and_reports_each_pages_cursor() {
    let mut s = with_mam(
        Mam::new().catch_up(Some("a0".into())).catch_up_page(2),
        false,
    );
    let sent = s.sent();
    assert!(
        sent.contains(
            "<set xmlns='http://jabber.org/protocol/rsm'><max>2</max><after>a0</after></set>"
        ),
        "{sent}"
    );
    let (id, qid) = (attr(&sent, "id"), attr(&sent, "queryid"));
    s.server(&result(&qid, "a1"));
    // A live message while the catch-up runs: delivered, cursor held back.
    s.server(&live("b1"));
    s.server(&result(&qid, "a2"));
    s.server(&fin(&id, false, Some("a2")));
    assert_eq!(bodies(&s), ["a1", "b1", "a2"]);
    assert!(s.chat_messages().iter().all(|m| m.is_archived()
        == m.message
            .body
            .as_deref()
            .is_some_and(|b| b.starts_with('a'))));
    assert_eq!(
        mam_events(&mut s),
        [MamEvent::Cursor { id: "a2".into() }],
        "the page's cursor, not the live id"
    );
    let sent = s.sent();
    assert!(sent.contains("<after>a2</after>"), "the next page: {sent}");
    let (id, qid) = (attr(&sent, "id"), attr(&sent, "queryid"));
    // The live message is in the archive too: not delivered twice.
    s.server(&result(&qid, "b1"));
    s.server(&fin(&id, true, Some("b1")));
    assert!(s.chat_messages().is_empty(), "{:?}", s.events);
    assert_eq!(
        mam_events(&mut s),
        [
            MamEvent::Cursor { id: "b1".into() },
            MamEvent::CaughtUp {
                results: 3,
                result: Ok(())
            }
        ]
    );
    // Now live messages move the cursor at once.
    s.server(&live("b2"));
    assert_eq!(bodies(&s), ["b2"]);
    assert_eq!(mam_events(&mut s), [MamEvent::Cursor { id: "b2".into() }]);
    assert_eq!(s.client.module::<Mam>().and_then(Mam::cursor), Some("b2"));
    assert_eq!(s.sent(), "", "no receipt or query for anything");
}

#[test]
fn a_first_login_learns_the_newest_id_and_delivers_nothing() {
    let mut s = with_mam(Mam::new().catch_up(None), false);
    let sent = s.sent();
    assert!(
        sent.contains("<set xmlns='http://jabber.org/protocol/rsm'><max>1</max><before/></set>"),
        "{sent}"
    );
    let (id, qid) = (attr(&sent, "id"), attr(&sent, "queryid"));
    s.server(&result(&qid, "z9"));
    s.server(&fin(&id, true, Some("z9")));
    assert!(s.chat_messages().is_empty(), "history is not news");
    assert_eq!(
        mam_events(&mut s),
        [
            MamEvent::Cursor { id: "z9".into() },
            MamEvent::CaughtUp {
                results: 0,
                result: Ok(())
            }
        ]
    );
}

/// Our initial presence as the server reflects it to us.
const OWN_PRESENCE: &str =
    "<presence from='juliet@example.com/balcony' to='juliet@example.com/balcony'/>";

#[test]
fn what_the_server_held_back_before_our_presence_is_fetched_once_it_reflects_it() {
    let mut s = with_mam(Mam::new().catch_up(None), false);
    let sent = s.sent();
    let (id, qid) = (attr(&sent, "id"), attr(&sent, "queryid"));
    s.server(&result(&qid, "z9"));
    s.server(&fin(&id, true, Some("z9")));
    mam_events(&mut s);
    // Someone else's presence, or ours unavailable: nothing.
    s.server("<presence from='romeo@montague.lit/orchard' to='juliet@example.com/balcony'/>");
    s.server("<presence from='juliet@example.com/phone' to='juliet@example.com/balcony'/>");
    assert_eq!(s.sent(), "", "not our own initial presence");
    // Meanwhile z10 came for our bare JID: stored offline, not pushed.
    s.server(OWN_PRESENCE);
    let sent = s.sent();
    assert!(
        sent.contains(
            "<set xmlns='http://jabber.org/protocol/rsm'><max>50</max><after>z9</after></set>"
        ),
        "a follow-up from where the catch-up reached: {sent}"
    );
    let (id, qid) = (attr(&sent, "id"), attr(&sent, "queryid"));
    s.server(&result(&qid, "z10"));
    s.server(&fin(&id, true, Some("z10")));
    assert_eq!(bodies(&s), ["z10"]);
    assert!(s.chat_messages()[0].is_archived());
    assert_eq!(
        mam_events(&mut s),
        [
            MamEvent::Cursor { id: "z10".into() },
            MamEvent::CaughtUp {
                results: 1,
                result: Ok(())
            }
        ]
    );
    // Once per session: a presence update reflected again asks nothing.
    s.server(OWN_PRESENCE);
    assert_eq!(s.sent(), "");
}

#[test]
fn our_presence_reflected_during_a_catch_up_is_followed_up_when_it_ends() {
    let mut s = with_mam(Mam::new().catch_up(Some("a0".into())), false);
    let sent = s.sent();
    let (id, qid) = (attr(&sent, "id"), attr(&sent, "queryid"));
    s.server(OWN_PRESENCE);
    assert_eq!(s.sent(), "", "one query at a time");
    s.server(&result(&qid, "a1"));
    s.server(&fin(&id, true, Some("a1")));
    let sent = s.sent();
    assert!(sent.contains("<after>a1</after>"), "{sent}");
    let (id, qid) = (attr(&sent, "id"), attr(&sent, "queryid"));
    s.server(&result(&qid, "a2"));
    s.server(&fin(&id, true, Some("a2")));
    assert_eq!(bodies(&s), ["a1", "a2"]);
    assert_eq!(s.client.module::<Mam>().and_then(Mam::cursor), Some("a2"));
}

#[test]
fn a_live_message_before_our_presence_does_not_make_the_follow_up_skip_the_held_back_one() {
    let mut s = with_mam(Mam::new().catch_up(Some("a0".into())), false);
    let sent = s.sent();
    let id = attr(&sent, "id");
    s.server(&fin(&id, true, None));
    // a1 to our bare JID is held back; b2, to our full JID, comes live
    // and moves the cursor past it.
    s.server(&live("b2"));
    assert_eq!(bodies(&s), ["b2"]);
    assert_eq!(s.client.module::<Mam>().and_then(Mam::cursor), Some("b2"));
    mam_events(&mut s);
    s.server(OWN_PRESENCE);
    let sent = s.sent();
    assert!(sent.contains("<after>a0</after>"), "{sent}");
    assert_eq!(
        mam_events(&mut s),
        [MamEvent::Cursor { id: "a0".into() }],
        "back to what the catch-up covered, so that a crash now skips nothing"
    );
    let (id, qid) = (attr(&sent, "id"), attr(&sent, "queryid"));
    s.server(&result(&qid, "a1"));
    s.server(&result(&qid, "b2"));
    s.server(&fin(&id, true, Some("b2")));
    assert_eq!(bodies(&s), ["a1"], "b2 once");
    assert_eq!(s.client.module::<Mam>().and_then(Mam::cursor), Some("b2"));
}

#[test]
fn a_message_that_comes_twice_is_delivered_once() {
    let mut s = with_mam(Mam::new(), false);
    s.sent();
    s.server(&live("c1"));
    // Again (a resumed stream's resend, an offline copy): same stanza-id.
    s.server(&live("c1"));
    // Sent again by its sender after a failed resumption: a new stanza-id
    // from the archive, the same origin-id, another resource.
    s.server(
        &live("c1")
            .replace("id='c1'/>", "id='c1-again'/>")
            .replace("/orchard", "/garden"),
    );
    assert_eq!(bodies(&s), ["c1"]);
    // The same origin-id from someone else is another message.
    s.server(
        &live("c1")
            .replace("id='c1'/>", "id='c2'/>")
            .replace("romeo@montague.lit", "mercutio@verona.lit"),
    );
    assert_eq!(bodies(&s).len(), 2);
    // History the application asks for is delivered whole.
    s.events.clear();
    let started = s
        .client
        .with_module(s.now, |m: &mut Mam, cx| m.query(cx, Default::default()))
        .expect("registered")
        .expect("sent");
    s.server(&result(&started.query_id, "c1"));
    assert_eq!(bodies(&s), ["c1"]);
}

#[test]
fn a_catch_up_cut_by_a_lost_connection_starts_again_from_the_last_complete_page() {
    let mut s = with_mam(
        Mam::new().catch_up(Some("a0".into())).catch_up_page(1),
        true,
    );
    let sent = s.sent();
    let (id, qid) = (attr(&sent, "id"), attr(&sent, "queryid"));
    s.server(&result(&qid, "a1"));
    s.server(&fin(&id, false, Some("a1")));
    let sent = s.sent();
    let qid = attr(&sent, "queryid");
    s.server(&result(&qid, "a2"));
    s.server(&live("b1"));
    s.events.clear();
    s.client.handle_input(Input::TransportClosed(s.now));
    let events = mam_events(&mut s);
    assert_eq!(
        events,
        [MamEvent::CaughtUp {
            results: 2,
            result: Err(QueryError::Iq(IqFailure::Disconnected))
        }],
        "a2 came without its page's end, b1 while catching up: the cursor stays at a1"
    );
    assert_eq!(s.client.module::<Mam>().and_then(Mam::cursor), Some("a1"));
    // A new transport and a login that is not a resumption: again from a1.
    s.advance(Duration::from_secs(2));
    s.close_transport = false;
    s.start_tls.clear();
    s.client
        .handle_input(Input::Connected(s.now, Security::StartTls));
    s.starttls_to_sasl(&["SCRAM-SHA-1", "PLAIN"], "", None);
    s.scram(&mut ScramServer::new(Hash::Sha1, session::PASSWORD));
    s.bind("again");
    let sent = s.sent();
    assert!(sent.contains("<after>a1</after>"), "{sent}");
    let (id, qid) = (attr(&sent, "id"), attr(&sent, "queryid"));
    s.events.clear();
    for a in ["a2", "b1"] {
        s.server(&result(&qid, a));
    }
    s.server(&fin(&id, true, Some("b1")));
    assert!(
        s.chat_messages().is_empty(),
        "both were delivered before the cut: {:?}",
        s.events
    );
}

#[test]
fn preferences_and_the_query_form_are_read_and_set() {
    let mut s = with_mam(Mam::new(), false);
    s.sent();
    let id = s
        .client
        .with_module(s.now, |m: &mut Mam, cx| m.get_prefs(cx))
        .expect("registered")
        .expect("sent");
    assert_eq!(
        s.sent(),
        format!("<iq id='{id}' type='get'><prefs xmlns='urn:xmpp:mam:2'/></iq>")
    );
    s.server(&format!(
        "<iq type='result' id='{id}'><prefs xmlns='urn:xmpp:mam:2' default='roster'>\
         <always><jid>romeo@montague.lit</jid></always><never/></prefs></iq>"
    ));
    let prefs = Prefs {
        default: DefaultPolicy::Roster,
        always: vec!["romeo@montague.lit".parse().expect("jid")],
        never: vec![],
    };
    assert_eq!(
        mam_events(&mut s),
        [MamEvent::Prefs {
            id,
            result: Ok(prefs)
        }]
    );

    let id = s
        .client
        .with_module(s.now, |m: &mut Mam, cx| {
            m.set_prefs(cx, &Prefs::new(DefaultPolicy::Never))
        })
        .expect("registered")
        .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq id='{id}' type='set'><prefs xmlns='urn:xmpp:mam:2' default='never'>\
             <always/><never/></prefs></iq>"
        )
    );
    // A hostile answer: a typed error, nothing else.
    s.server(&format!(
        "<iq type='result' id='{id}'><prefs xmlns='urn:xmpp:mam:2' default='sometimes'/></iq>"
    ));
    assert_eq!(
        mam_events(&mut s),
        [MamEvent::Prefs {
            id,
            result: Err(QueryError::Prefs(PrefsError::BadDefault(Some(
                "sometimes".into()
            ))))
        }]
    );

    let id = s
        .client
        .with_module(s.now, |m: &mut Mam, cx| m.query_fields(cx, None))
        .expect("registered")
        .expect("sent");
    assert_eq!(
        s.sent(),
        format!("<iq id='{id}' type='get'><query xmlns='urn:xmpp:mam:2'/></iq>")
    );
    s.server(&format!(
        "<iq type='result' id='{id}'><query xmlns='urn:xmpp:mam:2'>\
         <x xmlns='jabber:x:data' type='form'>\
         <field type='hidden' var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field>\
         <field type='jid-single' var='with'/><field type='text-single' var='start'/>\
         </x></query></iq>"
    ));
    match mam_events(&mut s).as_slice() {
        [MamEvent::Fields {
            result: Ok(form), ..
        }] => {
            assert!(form.field("with").is_some() && form.field("start").is_some());
            assert!(form.field("end").is_none());
        }
        other => panic!("{other:?}"),
    }
}
