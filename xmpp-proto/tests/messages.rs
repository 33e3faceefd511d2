//! The messaging extensions (chat states, receipts, ids, delay,
//! corrections, markers) and carbons as transcripts: what the server sends,
//! what the client answers, what the application is told. Every spoofing
//! rule is played by an attacker, byte for byte.

use xmpp_test_support::session;

use session::{config, Session};
use xmpp_proto::messages::{Carbons, CarbonsEvent, ChatMessage, ChatState, MarkerKind, Messages};
use xmpp_proto::stanza::{Jid, Message};
use xmpp_proto::{Carbon, Event, IqFailure, Provenance};

const OWN: &str = "juliet@example.com/balcony";

/// Online with the messages module (and carbons first when `carbons`).
fn online(messages: Messages, carbons: bool) -> Session {
    let mut s = Session::login_with(config().build(), "", |c| {
        if carbons {
            c.register(Carbons::new()).expect("register");
        }
        c.register(messages).expect("register");
    });
    s.sent();
    s.events.clear();
    s
}

fn one_chat(s: &mut Session) -> ChatMessage {
    let all = s.chat_messages();
    assert_eq!(all.len(), 1, "{:?}", s.events);
    all.into_iter().next().expect("one")
}

fn jid(s: &str) -> Jid {
    s.parse().expect("jid")
}

#[test]
fn a_message_arrives_with_its_extensions_decoded_and_its_receipt_sent() {
    let mut s = online(Messages::new(), false);
    s.server(&format!(
        "<message from='romeo@example.net/orchard' to='{OWN}' type='chat' id='m1'>\
         <body>Hello</body>\
         <active xmlns='http://jabber.org/protocol/chatstates'/>\
         <request xmlns='urn:xmpp:receipts'/>\
         <markable xmlns='urn:xmpp:chat-markers:0'/>\
         <origin-id xmlns='urn:xmpp:sid:0' id='o1'/>\
         <stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='juliet@example.com'/>\
         <delay xmlns='urn:xmpp:delay' from='example.com' stamp='2002-09-10T23:08:25Z'>Offline Storage</delay>\
         </message>"
    ));
    let m = one_chat(&mut s);
    assert_eq!(m.message.body.as_deref(), Some("Hello"));
    assert_eq!(m.provenance, Provenance::Live);
    assert_eq!(m.chat_state, Some(ChatState::Active));
    assert!(m.receipt_requested && m.markable);
    assert_eq!(m.origin_id.as_deref(), Some("o1"));
    assert_eq!(m.stanza_id.as_deref(), Some("s1"));
    let delay = m.delay.as_ref().expect("delay");
    assert_eq!(delay.stamp.as_str(), "2002-09-10T23:08:25Z");
    assert_eq!(delay.reason.as_deref(), Some("Offline Storage"));
    assert_eq!((m.replaces, m.marker, m.receipt_for), (None, None, None));
    assert!(s.module_warnings().is_empty(), "{:?}", s.events);
    // The receipt, to the full JID that asked, with an origin-id.
    let sent = s.sent();
    let id = xmpp_proto::testing::attr_after(&sent, "<message", "id").expect("id");
    assert_eq!(
        sent,
        format!(
            "<message to='romeo@example.net/orchard' id='{id}' type='chat'>\
             <received xmlns='urn:xmpp:receipts' id='m1'/>\
             <origin-id xmlns='urn:xmpp:sid:0' id='{id}'/></message>"
        )
    );
}

#[test]
fn receipts_are_never_sent_twice_nor_to_error_groupchat_or_idless_messages() {
    let mut s = online(Messages::new(), false);
    let ask = "<request xmlns='urn:xmpp:receipts'/>";
    // The same id twice from the same sender: one receipt.
    for _ in 0..2 {
        s.server(&format!(
            "<message from='romeo@example.net/orchard' to='{OWN}' type='chat' id='m1'><body>a</body>{ask}</message>"
        ));
    }
    assert_eq!(s.sent().matches("<received").count(), 1);
    s.server(&format!(
        "<message from='romeo@example.net/orchard' to='{OWN}' type='error' id='m2'>{ask}\
         <error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>\
         <message from='room@muc.example.net/nurse' to='{OWN}' type='groupchat' id='m3'><body>b</body>{ask}</message>\
         <message from='romeo@example.net/orchard' to='{OWN}' type='chat'><body>no id</body>{ask}</message>"
    ));
    assert_eq!(s.sent(), "", "no receipt for these");
    assert_eq!(s.chat_messages().len(), 5, "all delivered");
    // Turned off: nothing sent, the application may answer.
    let mut s = online(Messages::new().auto_receipts(false), false);
    s.server(&format!(
        "<message from='romeo@example.net/orchard' to='{OWN}' type='chat' id='m9'><body>a</body>{ask}</message>"
    ));
    assert_eq!(s.sent(), "");
    let m = one_chat(&mut s);
    let now = s.now;
    let sent = s
        .client
        .with_module::<Messages, _>(now, |mm, cx| mm.acknowledge(cx, &m))
        .expect("registered")
        .expect("online");
    assert!(sent.is_some());
    assert!(s
        .sent()
        .contains("<received xmlns='urn:xmpp:receipts' id='m9'/>"));
    let again = s
        .client
        .with_module::<Messages, _>(now, |mm, cx| mm.acknowledge(cx, &m))
        .expect("registered")
        .expect("online");
    assert_eq!(again, None, "never twice");
}

#[test]
fn a_stanza_id_stamped_by_anyone_but_our_server_is_ignored_with_a_warning() {
    let mut s = online(Messages::new(), false);
    // The attacker plants an id that could collide with our archive's.
    s.server(&format!(
        "<message from='mallory@evil.example/x' to='{OWN}' type='chat' id='m1'><body>hi</body>\
         <stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='evil.example'/>\
         <stanza-id xmlns='urn:xmpp:sid:0' id='forged2' by='juliet@example.com/balcony'/></message>"
    ));
    let m = one_chat(&mut s);
    assert_eq!(m.stanza_id, None);
    let w = s.module_warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("stanza-id"), "{w:?}");
    // In a room, the room's stamp counts, not ours.
    s.events.clear();
    s.server(&format!(
        "<message from='room@muc.example.net/romeo' to='{OWN}' type='groupchat' id='g1'><body>hi</body>\
         <stanza-id xmlns='urn:xmpp:sid:0' id='r1' by='room@muc.example.net'/></message>"
    ));
    assert_eq!(one_chat(&mut s).stanza_id.as_deref(), Some("r1"));
    s.events.clear();
    s.server(&format!(
        "<message from='room@muc.example.net/romeo' to='{OWN}' type='groupchat' id='g2'><body>hi</body>\
         <stanza-id xmlns='urn:xmpp:sid:0' id='r2' by='juliet@example.com'/></message>"
    ));
    assert_eq!(one_chat(&mut s).stanza_id, None);
}

#[test]
fn a_correction_replaces_only_a_message_of_the_same_full_jid() {
    let mut s = online(Messages::new(), false);
    s.server(&format!(
        "<message from='romeo@example.net/orchard' to='{OWN}' type='chat' id='m1'><body>Helo</body></message>"
    ));
    s.events.clear();
    // The same full JID: a replacement.
    s.server(&format!(
        "<message from='romeo@example.net/orchard' to='{OWN}' type='chat' id='m2'><body>Hello</body>\
         <replace xmlns='urn:xmpp:message-correct:0' id='m1'/></message>"
    ));
    let m = one_chat(&mut s);
    assert_eq!(m.replaces.as_deref(), Some("m1"));
    assert!(s.module_warnings().is_empty());
    s.events.clear();
    // Another resource of the same contact: a new message and a warning.
    s.server(&format!(
        "<message from='romeo@example.net/ladder' to='{OWN}' type='chat' id='m3'><body>Bye</body>\
         <replace xmlns='urn:xmpp:message-correct:0' id='m1'/></message>"
    ));
    let m = one_chat(&mut s);
    assert_eq!(m.replaces, None);
    assert_eq!(m.message.body.as_deref(), Some("Bye"));
    assert_eq!(s.module_warnings().len(), 1);
    s.events.clear();
    // Someone else entirely, and an id never seen.
    s.server(&format!(
        "<message from='mallory@evil.example/x' to='{OWN}' type='chat' id='m4'><body>pwned</body>\
         <replace xmlns='urn:xmpp:message-correct:0' id='m1'/></message>\
         <message from='romeo@example.net/orchard' to='{OWN}' type='chat' id='m5'><body>?</body>\
         <replace xmlns='urn:xmpp:message-correct:0' id='never'/></message>"
    ));
    assert!(s.chat_messages().iter().all(|m| m.replaces.is_none()));
    assert_eq!(s.module_warnings().len(), 2);
    s.events.clear();
    // In a room: the same occupant may correct, another may not.
    s.server(&format!(
        "<message from='room@muc.example.net/romeo' to='{OWN}' type='groupchat' id='g1'><body>x</body></message>\
         <message from='room@muc.example.net/tybalt' to='{OWN}' type='groupchat' id='g2'><body>y</body>\
         <replace xmlns='urn:xmpp:message-correct:0' id='g1'/></message>\
         <message from='room@muc.example.net/romeo' to='{OWN}' type='groupchat' id='g3'><body>z</body>\
         <replace xmlns='urn:xmpp:message-correct:0' id='g1'/></message>"
    ));
    let replaces: Vec<_> = s.chat_messages().into_iter().map(|m| m.replaces).collect();
    assert_eq!(replaces, [None, None, Some("g1".to_string())]);
    assert_eq!(s.module_warnings().len(), 1);
}

#[test]
fn a_correction_of_a_forgotten_message_is_a_new_message() {
    let mut s = online(Messages::new().memory(2), false);
    for id in ["m1", "m2", "m3"] {
        s.server(&format!(
            "<message from='romeo@example.net/orchard' to='{OWN}' type='chat' id='{id}'><body>x</body></message>"
        ));
    }
    s.events.clear();
    s.server(&format!(
        "<message from='romeo@example.net/orchard' to='{OWN}' type='chat' id='c'><body>y</body>\
         <replace xmlns='urn:xmpp:message-correct:0' id='m1'/></message>"
    ));
    assert_eq!(one_chat(&mut s).replaces, None);
    assert_eq!(s.module_warnings().len(), 1);
}

#[test]
fn every_outgoing_message_gets_an_origin_id_equal_to_its_id() {
    let mut s = online(Messages::new(), false);
    let now = s.now;
    let id = s
        .client
        .send(
            now,
            Message::chat(jid("romeo@example.net"), "Hi")
                .with_chat_state(ChatState::Active)
                .with_receipt_request()
                .with_markable(),
        )
        .expect("online");
    s.drain();
    assert_eq!(
        s.sent(),
        format!(
            "<message to='romeo@example.net' id='{id}' type='chat'><body>Hi</body>\
             <active xmlns='http://jabber.org/protocol/chatstates'/>\
             <request xmlns='urn:xmpp:receipts'/><markable xmlns='urn:xmpp:chat-markers:0'/>\
             <origin-id xmlns='urn:xmpp:sid:0' id='{id}'/></message>"
        )
    );
    // A correction and a chat state through the module's commands.
    let sent = s
        .client
        .with_module::<Messages, _>(now, |_, cx| {
            cx.send(Message::chat(jid("romeo@example.net"), "Hi!").with_replace(id.clone()))
        })
        .expect("registered")
        .expect("online");
    assert!(s.sent().contains(&format!(
        "<replace xmlns='urn:xmpp:message-correct:0' id='{id}'/><origin-id xmlns='urn:xmpp:sid:0' id='{sent}'/>"
    )));
    s.client
        .with_module::<Messages, _>(now, |m, cx| {
            m.send_chat_state(cx, jid("romeo@example.net"), ChatState::Composing)
        })
        .expect("registered")
        .expect("online");
    let sent = s.sent();
    assert!(
        sent.contains("<composing xmlns='http://jabber.org/protocol/chatstates'/><no-store xmlns='urn:xmpp:hints'/>"),
        "{sent}"
    );
    assert!(!sent.contains("<body"), "{sent}");
}

#[test]
fn markers_are_decoded_and_sent_for_markable_messages() {
    let mut s = online(Messages::new(), false);
    let now = s.now;
    s.client
        .send(
            now,
            Message::chat(jid("romeo@example.net"), "hi")
                .with_id("ours-7")
                .with_markable(),
        )
        .expect("online");
    s.drain();
    s.sent();
    s.server(&format!(
        "<message from='romeo@example.net/orchard' to='{OWN}' type='chat' id='m1'>\
         <displayed xmlns='urn:xmpp:chat-markers:0' id='ours-7'/></message>"
    ));
    let m = one_chat(&mut s);
    let marker = m.marker.expect("marker");
    assert_eq!(
        (marker.kind, marker.id.as_str()),
        (MarkerKind::Displayed, "ours-7")
    );
    s.events.clear();
    s.server(&format!(
        "<message from='romeo@example.net/orchard' to='{OWN}' type='chat' id='m2'><body>x</body>\
         <markable xmlns='urn:xmpp:chat-markers:0'/></message>"
    ));
    let m = one_chat(&mut s);
    let now = s.now;
    let sent = s
        .client
        .with_module::<Messages, _>(now, |mm, cx| mm.mark(cx, &m, MarkerKind::Displayed))
        .expect("registered")
        .expect("online");
    assert!(sent.is_some());
    let out = s.sent();
    assert!(
        out.contains("<message to='romeo@example.net/orchard'")
            && out.contains("<displayed xmlns='urn:xmpp:chat-markers:0' id='m2'/>"),
        "{out}"
    );
}

#[test]
fn a_receipt_or_marker_counts_only_from_the_address_our_message_went_to() {
    let mut s = online(Messages::new(), false);
    let now = s.now;
    s.client
        .send(
            now,
            Message::chat(jid("romeo@example.net"), "hi").with_id("ours-1"),
        )
        .expect("online");
    s.drain();
    s.sent();
    // Mallory claims delivery and display of a message we sent Romeo.
    s.server(&format!(
        "<message from='mallory@evil.example/x' to='{OWN}' id='a1'>\
         <received xmlns='urn:xmpp:receipts' id='ours-1'/></message>\
         <message from='mallory@evil.example/x' to='{OWN}' type='chat' id='a2'>\
         <displayed xmlns='urn:xmpp:chat-markers:0' id='ours-1'/></message>\
         <message from='romeo@example.net/orchard' to='{OWN}' id='a3'>\
         <received xmlns='urn:xmpp:receipts' id='never-sent'/></message>"
    ));
    let got = s.chat_messages();
    assert_eq!(got.len(), 3, "delivered, without the claims");
    assert!(got
        .iter()
        .all(|m| m.receipt_for.is_none() && m.marker.is_none()));
    assert_eq!(s.module_warnings().len(), 3, "{:?}", s.module_warnings());
    s.events.clear();
    // Romeo's own receipt, from any of his resources, counts.
    s.server(&format!(
        "<message from='romeo@example.net/orchard' to='{OWN}' id='a4'>\
         <received xmlns='urn:xmpp:receipts' id='ours-1'/></message>"
    ));
    assert_eq!(one_chat(&mut s).receipt_for.as_deref(), Some("ours-1"));
    assert!(s.module_warnings().is_empty());
}

/// A carbon wrapper of `kind` around `inner`, from `from`.
fn carbon(from: &str, kind: &str, inner: &str) -> String {
    format!(
        "<message from='{from}' to='{OWN}' type='chat'><{kind} xmlns='urn:xmpp:carbons:2'>\
         <forwarded xmlns='urn:xmpp:forward:0'>{inner}</forwarded></{kind}></message>"
    )
}

#[test]
fn carbons_are_enabled_on_login_and_the_copies_arrive_marked() {
    let mut s = Session::login_with(config().build(), "", |c| {
        c.register(Carbons::new()).expect("register");
        c.register(Messages::new()).expect("register");
    });
    let sent = s.sent();
    assert!(
        sent.contains("<enable xmlns='urn:xmpp:carbons:2'/>"),
        "{sent}"
    );
    let id = xmpp_proto::testing::attr_after(&sent, "<iq", "id").expect("id");
    s.events.clear();
    s.server(&format!("<iq type='result' id='{id}'/>"));
    assert!(s
        .events
        .iter()
        .any(|e| matches!(e, Event::Carbons(CarbonsEvent::Enabled))));
    assert!(s
        .client
        .module::<Carbons>()
        .expect("registered")
        .is_enabled());
    s.events.clear();
    // A message another resource received, then one it sent.
    s.server(&carbon(
        "juliet@example.com",
        "received",
        "<message xmlns='jabber:client' from='romeo@example.net/orchard' \
         to='juliet@example.com/chamber' type='chat' id='r1'><body>Hi</body>\
         <request xmlns='urn:xmpp:receipts'/></message>",
    ));
    s.server(&carbon(
        "juliet@example.com",
        "sent",
        "<message xmlns='jabber:client' from='juliet@example.com/chamber' \
         to='romeo@example.net/orchard' type='chat' id='s1'><body>Hello</body></message>",
    ));
    let got = s.chat_messages();
    assert_eq!(got.len(), 2, "{:?}", s.events);
    assert_eq!(got[0].carbon(), Some(Carbon::Received));
    assert_eq!(got[0].message.from, Some(jid("romeo@example.net/orchard")));
    assert_eq!(got[0].message.body.as_deref(), Some("Hi"));
    assert_eq!(got[1].carbon(), Some(Carbon::Sent));
    assert_eq!(got[1].message.to, Some(jid("romeo@example.net/orchard")));
    assert!(s.module_warnings().is_empty(), "{:?}", s.events);
    // The other resource answers the receipt request, not us.
    assert_eq!(s.sent(), "");
    // A correction in a sent copy, from the resource that sent the original.
    s.events.clear();
    s.server(&carbon(
        "juliet@example.com",
        "sent",
        "<message xmlns='jabber:client' from='juliet@example.com/chamber' \
         to='romeo@example.net/orchard' type='chat' id='s2'><body>Hello!</body>\
         <replace xmlns='urn:xmpp:message-correct:0' id='s1'/></message>",
    ));
    assert_eq!(one_chat(&mut s).replaces.as_deref(), Some("s1"));
    // Romeo's receipt for what the other resource sent, in a received copy.
    s.events.clear();
    s.server(&carbon(
        "juliet@example.com",
        "received",
        "<message xmlns='jabber:client' from='romeo@example.net/orchard' \
         to='juliet@example.com/chamber' id='rr'><received xmlns='urn:xmpp:receipts' id='s1'/></message>",
    ));
    assert_eq!(one_chat(&mut s).receipt_for.as_deref(), Some("s1"));
    assert!(s.module_warnings().is_empty(), "{:?}", s.events);
}

#[test]
fn a_carbon_from_anyone_but_the_accounts_bare_jid_never_becomes_a_message() {
    let inner = "<message xmlns='jabber:client' from='romeo@example.net/orchard' \
                 to='juliet@example.com/chamber' type='chat' id='r1'><body>I am Romeo</body></message>";
    for from in [
        // Another account forging a copy.
        "mallory@evil.example",
        "mallory@evil.example/x",
        // Our own other resource: a client, not the server.
        "juliet@example.com/chamber",
        // Our server's domain is not the account either.
        "example.com",
    ] {
        let mut s = online(Messages::new(), true);
        s.server(&carbon(from, "received", inner));
        assert!(s.chat_messages().is_empty(), "{from}: {:?}", s.events);
        assert!(
            !s.events.iter().any(|e| matches!(e, Event::Message(_))),
            "{from}"
        );
        let w = s.module_warnings();
        assert_eq!(w.len(), 1, "{from}: {w:?}");
        assert!(w[0].contains("carbon") && w[0].contains(from), "{w:?}");
        assert_eq!(s.sent(), "", "nothing answered");
    }
}

#[test]
fn a_carbon_of_someone_elses_message_or_nested_is_refused() {
    let mut s = online(Messages::new(), true);
    // A sent copy of a message the account did not send.
    s.server(&carbon(
        "juliet@example.com",
        "sent",
        "<message xmlns='jabber:client' from='romeo@example.net/orchard' \
         to='nurse@example.com' type='chat' id='x'><body>forged</body></message>",
    ));
    // A received copy of a message addressed to someone else.
    s.server(&carbon(
        "juliet@example.com",
        "received",
        "<message xmlns='jabber:client' from='romeo@example.net/orchard' \
         to='nurse@example.com' type='chat' id='y'><body>forged</body></message>",
    ));
    // A carbon inside a carbon.
    let nested = carbon(
        "juliet@example.com",
        "received",
        "<message xmlns='jabber:client' from='romeo@example.net/orchard' \
         to='juliet@example.com' type='chat' id='z'><body>deep</body></message>",
    )
    .replace("<message from", "<message xmlns='jabber:client' from")
    .replace(&format!(" to='{OWN}'"), " to='juliet@example.com/chamber'");
    s.server(&carbon("juliet@example.com", "received", &nested));
    assert!(s.chat_messages().is_empty(), "{:?}", s.events);
    assert_eq!(s.module_warnings().len(), 3, "{:?}", s.module_warnings());
}

#[test]
fn carbons_unwrap_whichever_module_was_registered_first() {
    let mut s = Session::login_with(config().build(), "", |c| {
        c.register(Messages::new()).expect("register");
        c.register(Carbons::new()).expect("register");
    });
    s.events.clear();
    s.server(&carbon(
        "juliet@example.com",
        "received",
        "<message xmlns='jabber:client' from='romeo@example.net/orchard' \
         to='juliet@example.com' type='chat' id='r1'><body>Hi</body></message>",
    ));
    let m = one_chat(&mut s);
    assert_eq!(m.carbon(), Some(Carbon::Received));
}

#[test]
fn a_private_message_asks_the_server_not_to_copy_it() {
    let mut s = online(Messages::new(), true);
    let now = s.now;
    s.client
        .send(
            now,
            Message::chat(jid("romeo@example.net"), "secret").with_no_carbons(),
        )
        .expect("online");
    s.drain();
    let sent = s.sent();
    assert!(
        sent.contains("<private xmlns='urn:xmpp:carbons:2'/><no-copy xmlns='urn:xmpp:hints'/>"),
        "{sent}"
    );
}

#[test]
fn a_server_without_carbons_answers_with_an_error_and_nothing_breaks() {
    let mut s = Session::login_with(config().build(), "", |c| {
        c.register(Carbons::new()).expect("register");
    });
    let sent = s.sent();
    let id = xmpp_proto::testing::attr_after(&sent, "<iq", "id").expect("id");
    s.server(&format!(
        "<iq type='error' id='{id}'><error type='cancel'>\
         <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    assert!(s
        .events
        .iter()
        .any(|e| matches!(e, Event::Carbons(CarbonsEvent::Failed(IqFailure::Error(_))))));
    assert!(!s
        .client
        .module::<Carbons>()
        .expect("registered")
        .is_enabled());
    assert!(s.client.is_online());
}
