//! Bookmarks (XEP-0402) as transcripts: the list fetched at login with its
//! autojoin rooms, set with the publish-options the XEP names, removed with
//! a notifying retraction, notifications keeping the copy current; and the
//! attacker who is not our account: a notification from anyone else (a
//! contact's bare JID, any full JID, our own other resource, the domain)
//! or forwarded inside another stanza is refused byte for byte and changes
//! nothing. The copy is bounded.

use xmpp_test_support::session;

use session::{config, Session, Unwrapper, NS_WRAP};
use xmpp_proto::bookmarks::{
    Bookmark, Bookmarks, BookmarksError, BookmarksEvent, NS_BOOKMARKS_NOTIFY,
};
use xmpp_proto::messages::Messages;
use xmpp_proto::stanza::{BareJid, DefinedCondition};
use xmpp_proto::testing::attr_after;
use xmpp_proto::xml::Element;
use xmpp_proto::{Event, IqFailure, WarningKind};

fn jid(s: &str) -> BareJid {
    s.parse().expect("jid")
}

fn last_id(sent: &str) -> String {
    let at = sent.rfind("<iq").expect("an iq");
    attr_after(&sent[at..], "<iq", "id").expect("an id")
}

fn conference(room: &str, name: &str, autojoin: &str, nick: &str) -> String {
    format!(
        "<item id='{room}'><conference xmlns='urn:xmpp:bookmarks:1' name='{name}' autojoin='{autojoin}'>\
         <nick>{nick}</nick></conference></item>"
    )
}

/// Online with `bookmarks` registered (with the messages module after it,
/// which turns any message it is offered into a chat message); the login's
/// fetch answered with these `<item/>`s.
fn online(bookmarks: Bookmarks, items: &str) -> Session {
    let mut s = Session::login_with(config().build(), "", |c| {
        c.register(Unwrapper).expect("register");
        c.register(bookmarks).expect("register");
        c.register(Messages::new()).expect("register");
    });
    let id = last_id(&s.sent());
    s.server(&format!(
        "<iq type='result' id='{id}'><pubsub xmlns='http://jabber.org/protocol/pubsub'>\
         <items node='urn:xmpp:bookmarks:1'>{items}</items></pubsub></iq>"
    ));
    s.events.clear();
    s
}

fn bookmark_events(s: &mut Session) -> Vec<BookmarksEvent> {
    s.drain();
    s.events
        .drain(..)
        .filter_map(|e| match e {
            Event::Bookmarks(b) => Some(b),
            Event::ChatMessage(m) => panic!("a notification became a chat message: {m:?}"),
            _ => None,
        })
        .collect()
}

fn warnings(s: &Session) -> usize {
    s.events
        .iter()
        .filter(|e| matches!(e, Event::Warning(w) if w.kind == WarningKind::Module))
        .count()
}

fn rooms(s: &Session) -> Vec<(String, bool)> {
    s.client
        .module::<Bookmarks>()
        .expect("registered")
        .iter()
        .map(|b| (b.jid.to_string(), b.autojoin))
        .collect()
}

fn notification(from: Option<&str>, items: &str) -> String {
    let from = from.map(|f| format!(" from='{f}'")).unwrap_or_default();
    format!(
        "<message{from} to='juliet@example.com/balcony' type='headline' id='n1'>\
         <event xmlns='http://jabber.org/protocol/pubsub#event'>\
         <items node='urn:xmpp:bookmarks:1'>{items}</items></event></message>"
    )
}

#[test]
fn the_list_is_fetched_at_login_with_its_autojoin_rooms() {
    let mut s = Session::login_with(config().build(), "", |c| {
        c.register(Bookmarks::new()).expect("register")
    });
    let sent = s.sent();
    let id = last_id(&sent);
    assert_eq!(
        sent,
        format!(
            "<iq id='{id}' type='get'><pubsub xmlns='http://jabber.org/protocol/pubsub'>\
             <items node='urn:xmpp:bookmarks:1'/></pubsub></iq>"
        )
    );
    assert!(s
        .client
        .disco_info()
        .features
        .iter()
        .any(|f| f == NS_BOOKMARKS_NOTIFY));
    s.server(&format!(
        "<iq type='result' id='{id}'><pubsub xmlns='http://jabber.org/protocol/pubsub'>\
         <items node='urn:xmpp:bookmarks:1'>{}{}\
         <item id='not a jid@@'><conference xmlns='urn:xmpp:bookmarks:1'/></item>\
         </items></pubsub></iq>",
        conference(
            "orchard@conference.example.com",
            "The Orchard",
            "true",
            "JC"
        ),
        conference("balcony@conference.example.com", "Balcony", "false", "J"),
    ));
    assert_eq!(warnings(&s), 1, "the invalid item");
    let events = bookmark_events(&mut s);
    let [loaded @ BookmarksEvent::Loaded(list), BookmarksEvent::Done {
        id: done,
        result: Ok(()),
    }] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!(done, &id);
    assert_eq!(list.len(), 2);
    let join: Vec<&str> = loaded
        .rooms_to_join()
        .iter()
        .map(|b| b.jid.as_str())
        .collect();
    assert_eq!(join, ["orchard@conference.example.com"]);
    let orchard = &list[1];
    assert_eq!(
        (
            orchard.name.as_deref(),
            orchard.nick.as_deref(),
            orchard.autojoin
        ),
        (Some("The Orchard"), Some("JC"), true)
    );
    let module = s.client.module::<Bookmarks>().expect("registered");
    assert_eq!(module.autojoin().count(), 1);
}

#[test]
fn no_node_yet_means_no_bookmarks() {
    let mut s = Session::login_with(config().build(), "", |c| {
        c.register(Bookmarks::new()).expect("register")
    });
    let id = last_id(&s.sent());
    s.server(&format!(
        "<iq type='error' id='{id}'><error type='cancel'>\
         <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    assert_eq!(
        bookmark_events(&mut s),
        [
            BookmarksEvent::Loaded(Vec::new()),
            BookmarksEvent::Done { id, result: Ok(()) }
        ]
    );
}

#[test]
fn set_publishes_with_the_options_of_xep_0402_and_remove_retracts_with_notify() {
    let mut s = online(Bookmarks::new(), "");
    let room = jid("orchard@conference.example.com");
    let mut bookmark = Bookmark::new(room.clone())
        .with_name("The Orchard")
        .with_nick("JC")
        .with_autojoin(true);
    bookmark.extensions = Some(
        Element::new("urn:xmpp:bookmarks:1", "extensions")
            .with_child(Element::new("urn:example:client", "pinned")),
    );
    let b = bookmark.clone();
    let id = s
        .client
        .with_module(s.now, |m: &mut Bookmarks, cx| m.set(cx, b))
        .expect("registered")
        .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq id='{id}' type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub'>\
             <publish node='urn:xmpp:bookmarks:1'><item id='orchard@conference.example.com'>\
             <conference xmlns='urn:xmpp:bookmarks:1' name='The Orchard' autojoin='true'>\
             <nick>JC</nick><extensions><pinned xmlns='urn:example:client'/></extensions>\
             </conference></item></publish>\
             <publish-options><x xmlns='jabber:x:data' type='submit'>\
             <field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>\
             <field var='pubsub#persist_items'><value>true</value></field>\
             <field var='pubsub#max_items'><value>max</value></field>\
             <field var='pubsub#send_last_published_item'><value>never</value></field>\
             <field var='pubsub#access_model'><value>whitelist</value></field>\
             </x></publish-options></pubsub></iq>"
        )
    );
    assert!(rooms(&s).is_empty(), "not before the server took it");
    s.server(&format!("<iq type='result' id='{id}'/>"));
    assert_eq!(
        bookmark_events(&mut s),
        [
            BookmarksEvent::Changed(bookmark.clone()),
            BookmarksEvent::Done { id, result: Ok(()) }
        ]
    );
    // Its notification repeats it: not reported twice.
    s.server(&notification(
        Some("juliet@example.com"),
        &format!(
            "<item id='orchard@conference.example.com'>{}</item>",
            bookmark.to_element().to_xml()
        ),
    ));
    assert!(bookmark_events(&mut s).is_empty());

    let id = s
        .client
        .with_module(s.now, |m: &mut Bookmarks, cx| m.remove(cx, &room))
        .expect("registered")
        .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq id='{id}' type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub'>\
             <retract node='urn:xmpp:bookmarks:1' notify='true'>\
             <item id='orchard@conference.example.com'/></retract></pubsub></iq>"
        )
    );
    s.server(&format!(
        "<iq type='error' id='{id}'><error type='cancel'>\
         <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    let events = bookmark_events(&mut s);
    assert!(
        matches!(&events[..], [BookmarksEvent::Done { result: Err(BookmarksError::Iq(IqFailure::Error(e))), .. }]
            if e.condition == DefinedCondition::ItemNotFound),
        "{events:?}"
    );
    assert_eq!(rooms(&s).len(), 1, "refused: still there");
}

#[test]
fn notifications_from_our_account_keep_the_list_current() {
    let mut s = online(
        Bookmarks::new(),
        &conference("balcony@conference.example.com", "Balcony", "false", "J"),
    );
    // Another client of ours adds one (from our bare JID) ...
    s.server(&notification(
        Some("juliet@example.com"),
        &conference("orchard@conference.example.com", "The Orchard", "1", "JC"),
    ));
    let events = bookmark_events(&mut s);
    let [changed @ BookmarksEvent::Changed(b)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(b.jid.as_str(), "orchard@conference.example.com");
    assert_eq!(changed.rooms_to_join().len(), 1, "autojoin: join it now");
    // ... and removes one (without from: our account too).
    s.server(&notification(
        None,
        "<retract id='balcony@conference.example.com'/>",
    ));
    assert_eq!(
        bookmark_events(&mut s),
        [BookmarksEvent::Removed(jid(
            "balcony@conference.example.com"
        ))]
    );
    assert_eq!(
        rooms(&s),
        [("orchard@conference.example.com".to_string(), true)]
    );
    // The node purged.
    s.server(
        "<message from='juliet@example.com' type='headline'>\
         <event xmlns='http://jabber.org/protocol/pubsub#event'>\
         <purge node='urn:xmpp:bookmarks:1'/></event></message>",
    );
    assert_eq!(bookmark_events(&mut s), [BookmarksEvent::Cleared]);
    assert!(rooms(&s).is_empty());
}

#[test]
fn notifications_from_anyone_but_our_account_are_refused_and_change_nothing() {
    let before = conference("balcony@conference.example.com", "Balcony", "false", "J");
    let mut s = online(Bookmarks::new(), &before);
    let evil_add = conference("trap@evil.example", "Trap", "true", "Juliet");
    let evil_remove = "<retract id='balcony@conference.example.com'/>";
    for from in [
        "romeo@montague.net",         // a contact publishing an open node of that name
        "mallory@evil.example/x",     // anyone's client
        "juliet@example.com/chamber", // another resource of ours: a client, not our PEP service
        "juliet@example.com/balcony", // our own full JID
        "example.com",                // our server's domain is not our account
    ] {
        for items in [evil_add.as_str(), evil_remove] {
            s.events.clear();
            s.server(&notification(Some(from), items));
            assert_eq!(warnings(&s), 1, "{from}");
            assert!(bookmark_events(&mut s).is_empty(), "{from}");
            assert_eq!(s.sent(), "", "{from}");
            assert_eq!(
                rooms(&s),
                [("balcony@conference.example.com".to_string(), false)],
                "{from}: the list changed"
            );
        }
    }
    // Our own account's notification, forwarded by Mallory in a wrapper.
    s.events.clear();
    let inner = notification(Some("juliet@example.com"), &evil_add)
        .replace("<message ", "<message xmlns='jabber:client' ");
    s.server(&format!(
        "<message from='mallory@evil.example/x'><wrapped xmlns='{NS_WRAP}'>{inner}</wrapped></message>"
    ));
    s.drain();
    assert!(
        !s.events.iter().any(|e| matches!(e, Event::Bookmarks(_))),
        "{:?}",
        s.events
    );
    assert_eq!(rooms(&s).len(), 1);
}

#[test]
fn the_list_is_bounded() {
    let items: String = (0..3)
        .map(|i| conference(&format!("r{i}@conference.example.com"), "R", "false", "J"))
        .collect();
    let mut s = Session::login_with(config().build(), "", |c| {
        c.register(Bookmarks::new().max_items(2)).expect("register")
    });
    let id = last_id(&s.sent());
    // Three items in a result that may hold two: refused as a pubsub result.
    s.server(&format!(
        "<iq type='result' id='{id}'><pubsub xmlns='http://jabber.org/protocol/pubsub'>\
         <items node='urn:xmpp:bookmarks:1'>{items}</items></pubsub></iq>"
    ));
    assert_eq!(warnings(&s), 1);
    let events = bookmark_events(&mut s);
    assert!(
        matches!(
            &events[..],
            [BookmarksEvent::Done {
                result: Err(BookmarksError::Pubsub(_)),
                ..
            }]
        ),
        "{events:?}"
    );
    // Filled by notifications, then one more is refused.
    for i in 0..3 {
        s.events.clear();
        s.server(&notification(
            None,
            &conference(&format!("r{i}@conference.example.com"), "R", "false", "J"),
        ));
    }
    assert_eq!(warnings(&s), 1, "the third");
    assert_eq!(rooms(&s).len(), 2);
}

/// Online with the bookmarks and MUC modules; the login's fetch answered
/// with these `<item/>`s. Returns what the client sent after the answer.
fn online_with_muc(muc: xmpp_proto::muc::Muc, items: &str) -> (Session, String) {
    let mut s = Session::login_with(config().build(), "", |c| {
        c.register(Bookmarks::new()).expect("register");
        c.register(muc).expect("register");
        c.register(Messages::new()).expect("register");
    });
    let sent = s.sent();
    let at = sent.find("urn:xmpp:bookmarks:1").expect("the fetch");
    let id = last_id(&sent[..at]);
    s.server(&format!(
        "<iq type='result' id='{id}'><pubsub xmlns='http://jabber.org/protocol/pubsub'>\
         <items node='urn:xmpp:bookmarks:1'>{items}</items></pubsub></iq>"
    ));
    let sent = s.sent();
    (s, sent)
}

#[test]
fn the_rooms_bookmarks_mark_autojoin_are_joined_by_the_muc_module() {
    use xmpp_proto::muc::Muc;
    let (mut s, sent) = online_with_muc(
        Muc::new(),
        &(conference("room@muc.example.com", "Room", "true", "jules")
            + &conference("later@muc.example.com", "Later", "false", "jules")
            + "<item id='nonick@muc.example.com'><conference xmlns='urn:xmpp:bookmarks:1' autojoin='1'/></item>"),
    );
    // The autojoin rooms, with the bookmark's nick or our localpart.
    assert!(
        sent.contains("<presence to='room@muc.example.com/jules'"),
        "{sent}"
    );
    assert!(
        sent.contains("<presence to='nonick@muc.example.com/juliet'"),
        "{sent}"
    );
    assert!(!sent.contains("later@"), "{sent}");
    assert_eq!(
        sent.matches("http://jabber.org/protocol/muc'").count(),
        2,
        "{sent}"
    );
    // The application sees the list, then (for each room) the outcome.
    assert!(s
        .events
        .iter()
        .any(|e| matches!(e, Event::Bookmarks(BookmarksEvent::Loaded(_)))));
    // Another client marks a room autojoin: joined; one we are in: not again.
    s.server(&notification(
        Some("juliet@example.com"),
        &(conference("later@muc.example.com", "Later", "true", "jules")
            + &conference("room@muc.example.com", "Room", "true", "jules")),
    ));
    let sent = s.sent();
    assert!(
        sent.contains("<presence to='later@muc.example.com/jules'"),
        "{sent}"
    );
    assert!(!sent.contains("room@muc"), "already joining: {sent}");
    // Turned off: nothing joined.
    let (_, sent) = online_with_muc(
        Muc::new().autojoin_bookmarks(false),
        &conference("room@muc.example.com", "Room", "true", "jules"),
    );
    assert!(!sent.contains("<presence"), "{sent}");
}
