//! User avatars (XEP-0084) through PEP as transcripts: metadata
//! notifications (asked for with `+notify`), metadata and data fetched,
//! ours published; and the attacker: a notification from a full JID (a
//! client posing as a PEP service) or forwarded inside another stanza,
//! data that does not hash to its id, data past the size limit.

use xmpp_test_support::session;

use session::{config, Session, Unwrapper, NS_WRAP};
use xmpp_proto::avatar::{
    sha1_hex, AvatarCommandError, AvatarError, AvatarEvent, AvatarImage, AvatarInfo,
    AvatarMetadata, Avatars, NS_AVATAR_METADATA_NOTIFY,
};
use xmpp_proto::messages::Messages;
use xmpp_proto::pep::AccessModel;
use xmpp_proto::stanza::BareJid;
use xmpp_proto::testing::attr_after;
use xmpp_proto::{Event, WarningKind};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n romeo's face";
const PNG_B64: &str = "iVBORw0KGgogcm9tZW8ncyBmYWNl";

fn jid(s: &str) -> BareJid {
    s.parse().expect("jid")
}

fn last_id(sent: &str) -> String {
    let at = sent.rfind("<iq").expect("an iq");
    attr_after(&sent[at..], "<iq", "id").expect("an id")
}

/// Online with the avatar module (and the messages module after it, which
/// would turn any message it is offered into a chat message).
fn online(avatars: Avatars) -> Session {
    let mut s = Session::login_with(config().build(), "", |c| {
        c.register(Unwrapper).expect("register");
        c.register(avatars).expect("register");
        c.register(Messages::new()).expect("register");
    });
    assert_eq!(s.sent(), "", "nothing asked at login");
    s
}

fn avatar_events(s: &mut Session) -> Vec<AvatarEvent> {
    s.drain();
    s.events
        .drain(..)
        .filter_map(|e| match e {
            Event::Avatar(a) => Some(a),
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

fn info(hash: &str, bytes: usize) -> AvatarInfo {
    AvatarInfo {
        id: hash.to_string(),
        bytes: bytes as u64,
        mime_type: "image/png".into(),
        width: Some(64),
        height: Some(64),
        url: None,
    }
}

/// A metadata notification from `from`.
fn metadata_notification(from: &str, hash: &str) -> String {
    format!(
        "<message from='{from}' to='juliet@example.com/balcony' type='headline' id='n1'>\
         <event xmlns='http://jabber.org/protocol/pubsub#event'>\
         <items node='urn:xmpp:avatar:metadata'><item id='{hash}'>\
         <metadata xmlns='urn:xmpp:avatar:metadata'>\
         <info bytes='{}' id='{hash}' height='64' type='image/png' width='64'/>\
         </metadata></item></items></event>\
         <addresses xmlns='http://jabber.org/protocol/address'>\
         <address type='replyto' jid='{from}/orchard'/></addresses></message>",
        PNG.len()
    )
}

#[test]
fn our_disco_info_asks_for_metadata_notifications() {
    let s = online(Avatars::new());
    assert!(s
        .client
        .disco_info()
        .features
        .iter()
        .any(|f| f == NS_AVATAR_METADATA_NOTIFY));
}

#[test]
fn a_contacts_metadata_notification_is_read_and_consumed() {
    let mut s = online(Avatars::new());
    let hash = sha1_hex(PNG);
    s.server(&metadata_notification("romeo@montague.net", &hash));
    assert_eq!(
        avatar_events(&mut s),
        [AvatarEvent::Notified {
            jid: jid("romeo@montague.net"),
            metadata: Some(AvatarMetadata {
                infos: vec![info(&hash, PNG.len())]
            }),
        }]
    );
    // Ours, without from, and "no avatar" (§3.5: an empty metadata item).
    s.server(
        "<message to='juliet@example.com/balcony' type='headline'>\
         <event xmlns='http://jabber.org/protocol/pubsub#event'>\
         <items node='urn:xmpp:avatar:metadata'><item id='current'>\
         <metadata xmlns='urn:xmpp:avatar:metadata'/></item></items></event></message>",
    );
    assert_eq!(
        avatar_events(&mut s),
        [AvatarEvent::Notified {
            jid: jid("juliet@example.com"),
            metadata: None,
        }]
    );
    // Malformed metadata: a warning, no event.
    s.server(
        "<message from='romeo@montague.net' type='headline'>\
         <event xmlns='http://jabber.org/protocol/pubsub#event'>\
         <items node='urn:xmpp:avatar:metadata'><item id='x'>\
         <metadata xmlns='urn:xmpp:avatar:metadata'><info id='x'/></metadata>\
         </item></items></event></message>",
    );
    assert_eq!(warnings(&s), 1);
    assert!(avatar_events(&mut s).is_empty());
    // Another node's notification is not ours: a message like any other.
    s.server(
        "<message from='romeo@montague.net' type='headline'>\
         <event xmlns='http://jabber.org/protocol/pubsub#event'>\
         <items node='http://jabber.org/protocol/tune'/></event></message>",
    );
    assert!(s.events.iter().any(|e| matches!(e, Event::ChatMessage(_))));
}

#[test]
fn a_notification_from_a_full_jid_or_forwarded_is_refused() {
    let mut s = online(Avatars::new());
    let hash = sha1_hex(PNG);
    // A client posing as a PEP service: a contact's resource, another
    // account's, one of our own resources.
    for from in [
        "romeo@montague.net/orchard",
        "mallory@evil.example/x",
        "juliet@example.com/chamber",
    ] {
        s.events.clear();
        s.server(&metadata_notification(from, &hash));
        assert_eq!(warnings(&s), 1, "{from}");
        assert!(avatar_events(&mut s).is_empty(), "{from}");
        assert_eq!(s.sent(), "", "{from}");
    }
    // Romeo's notification forwarded by Mallory inside another message.
    s.events.clear();
    let inner = metadata_notification("romeo@montague.net", &hash)
        .replace("<message ", "<message xmlns='jabber:client' ");
    s.server(&format!(
        "<message from='mallory@evil.example/x'><wrapped xmlns='{NS_WRAP}'>{inner}</wrapped></message>"
    ));
    s.drain();
    assert!(
        !s.events.iter().any(|e| matches!(e, Event::Avatar(_))),
        "{:?}",
        s.events
    );
}

#[test]
fn data_is_fetched_by_its_id_and_must_hash_to_it() {
    let mut s = online(Avatars::new());
    let romeo = jid("romeo@montague.net");
    let hash = sha1_hex(PNG);
    let fetch = |s: &mut Session, info: AvatarInfo| {
        let romeo = romeo.clone();
        s.client
            .with_module(s.now, move |a: &mut Avatars, cx| {
                a.fetch_data(cx, romeo, &info)
            })
            .expect("registered")
    };
    let id = fetch(&mut s, info(&hash, PNG.len())).expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq to='romeo@montague.net' id='{id}' type='get'>\
             <pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:avatar:data'>\
             <item id='{hash}'/></items></pubsub></iq>"
        )
    );
    s.server(&format!(
        "<iq from='romeo@montague.net' type='result' id='{id}'>\
         <pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:avatar:data'>\
         <item id='{hash}'><data xmlns='urn:xmpp:avatar:data'>\n{PNG_B64}\n</data></item>\
         </items></pubsub></iq>"
    ));
    assert_eq!(
        avatar_events(&mut s),
        [AvatarEvent::Data {
            id,
            jid: romeo.clone(),
            hash: hash.clone(),
            result: Ok(AvatarImage::new("image/png", PNG.to_vec())),
        }]
    );

    // The attacker's data under Romeo's id: refused.
    let id = fetch(&mut s, info(&hash, PNG.len())).expect("sent");
    s.sent();
    s.server(&format!(
        "<iq from='romeo@montague.net' type='result' id='{id}'>\
         <pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:avatar:data'>\
         <item id='{hash}'><data xmlns='urn:xmpp:avatar:data'>bWFsbG9yeQ==</data></item>\
         </items></pubsub></iq>"
    ));
    assert_eq!(warnings(&s), 1);
    assert_eq!(
        avatar_events(&mut s),
        [AvatarEvent::Data {
            id,
            jid: romeo.clone(),
            hash: hash.clone(),
            result: Err(AvatarError::HashMismatch {
                expected: hash.clone(),
                actual: sha1_hex(b"mallory"),
            }),
        }]
    );
}

#[test]
fn data_past_the_limit_is_refused_before_asking_or_decoding() {
    let mut s = online(Avatars::new().max_bytes(8));
    let romeo = jid("romeo@montague.net");
    let hash = sha1_hex(PNG);
    // Announced too large: nothing is asked.
    let refused = s
        .client
        .with_module(s.now, |a: &mut Avatars, cx| {
            a.fetch_data(cx, romeo.clone(), &info(&hash, 9))
        })
        .expect("registered");
    assert_eq!(
        refused,
        Err(AvatarCommandError::TooLarge { size: 9, max: 8 })
    );
    assert_eq!(s.sent(), "");
    // Announced small, served large (and not even base64): measured, not decoded.
    let id = s
        .client
        .with_module(s.now, |a: &mut Avatars, cx| {
            a.fetch_data(cx, romeo.clone(), &info(&hash, 8))
        })
        .expect("registered")
        .expect("sent");
    s.sent();
    let junk = "*".repeat(4096);
    s.server(&format!(
        "<iq from='romeo@montague.net' type='result' id='{id}'>\
         <pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:avatar:data'>\
         <item id='{hash}'><data xmlns='urn:xmpp:avatar:data'>{junk}</data></item>\
         </items></pubsub></iq>"
    ));
    let events = avatar_events(&mut s);
    assert!(
        matches!(
            &events[..],
            [AvatarEvent::Data {
                result: Err(AvatarError::TooLarge { max: 8, .. }),
                ..
            }]
        ),
        "{events:?}"
    );
}

#[test]
fn the_latest_metadata_is_fetched() {
    let mut s = online(Avatars::new());
    let romeo = jid("romeo@montague.net");
    let hash = sha1_hex(PNG);
    let id = s
        .client
        .with_module(s.now, |a: &mut Avatars, cx| {
            a.fetch_metadata(cx, romeo.clone())
        })
        .expect("registered")
        .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq to='romeo@montague.net' id='{id}' type='get'>\
             <pubsub xmlns='http://jabber.org/protocol/pubsub'>\
             <items node='urn:xmpp:avatar:metadata' max_items='1'/></pubsub></iq>"
        )
    );
    s.server(&format!(
        "<iq from='romeo@montague.net' type='result' id='{id}'>\
         <pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:avatar:metadata'>\
         <item id='{hash}'><metadata xmlns='urn:xmpp:avatar:metadata'>\
         <info bytes='{}' id='{hash}' type='image/png' width='64' height='64'/>\
         </metadata></item></items></pubsub></iq>",
        PNG.len()
    ));
    assert_eq!(
        avatar_events(&mut s),
        [AvatarEvent::Metadata {
            id,
            jid: romeo,
            result: Ok(Some(AvatarMetadata {
                infos: vec![info(&hash, PNG.len())]
            })),
        }]
    );
}

#[test]
fn publishing_ours_sends_the_data_then_the_metadata() {
    let mut s = online(Avatars::new());
    let image = AvatarImage::new("image/png", PNG.to_vec());
    let hash = sha1_hex(PNG);
    let id = s
        .client
        .with_module(s.now, |a: &mut Avatars, cx| {
            a.publish(cx, &image, Some((64, 64)))
        })
        .expect("registered")
        .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq id='{id}' type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub'>\
             <publish node='urn:xmpp:avatar:data'><item id='{hash}'>\
             <data xmlns='urn:xmpp:avatar:data'>{PNG_B64}</data></item></publish></pubsub></iq>"
        )
    );
    s.server(&format!("<iq type='result' id='{id}'/>"));
    let sent = s.sent();
    let meta = last_id(&sent);
    assert_eq!(
        sent,
        format!(
            "<iq id='{meta}' type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub'>\
             <publish node='urn:xmpp:avatar:metadata'><item id='{hash}'>\
             <metadata xmlns='urn:xmpp:avatar:metadata'>\
             <info bytes='{}' id='{hash}' type='image/png' width='64' height='64'/>\
             </metadata></item></publish></pubsub></iq>",
            PNG.len()
        )
    );
    assert!(avatar_events(&mut s).is_empty(), "not done yet");
    s.server(&format!("<iq type='result' id='{meta}'/>"));
    assert_eq!(
        avatar_events(&mut s),
        [AvatarEvent::Published { id, result: Ok(()) }]
    );
    // Too large: refused before anything is sent.
    let big = AvatarImage::new("image/png", vec![0; 64 * 1024 + 1]);
    let refused = s
        .client
        .with_module(s.now, |a: &mut Avatars, cx| a.publish(cx, &big, None))
        .expect("registered");
    assert!(matches!(refused, Err(AvatarCommandError::TooLarge { .. })));
    assert_eq!(s.sent(), "");
    // No avatar (§3.5).
    let id = s
        .client
        .with_module(s.now, |a: &mut Avatars, cx| a.disable(cx))
        .expect("registered")
        .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq id='{id}' type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub'>\
             <publish node='urn:xmpp:avatar:metadata'><item>\
             <metadata xmlns='urn:xmpp:avatar:metadata'/></item></publish></pubsub></iq>"
        )
    );
}

#[test]
fn an_access_model_goes_with_each_publication_as_a_publish_option() {
    let mut s = online(Avatars::new().access_model(AccessModel::Open));
    let image = AvatarImage::new("image/png", PNG.to_vec());
    let id = s
        .client
        .with_module(s.now, |a: &mut Avatars, cx| a.publish(cx, &image, None))
        .expect("registered")
        .expect("sent");
    let options = "<publish-options><x xmlns='jabber:x:data' type='submit'>\
         <field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>\
         <field var='pubsub#access_model'><value>open</value></field></x></publish-options>";
    let sent = s.sent();
    assert!(
        sent.ends_with(&format!("</publish>{options}</pubsub></iq>")),
        "{sent}"
    );
    s.server(&format!("<iq type='result' id='{id}'/>"));
    let sent = s.sent();
    assert!(sent.contains("node='urn:xmpp:avatar:metadata'"), "{sent}");
    assert!(
        sent.ends_with(&format!("</publish>{options}</pubsub></iq>")),
        "{sent}"
    );
}
