//! The vCard module (XEP-0054, with XEP-0153 vCard-based avatars) as
//! transcripts: our card fetched at login and its hash on every available
//! presence, fetching, setting and editing cards, contacts' hashes fetched
//! once per change; and the attacker: a photo past the limit (never
//! decoded), a photo that does not hash to what was advertised, a card
//! answered by someone else, hashes in presences that are not a contact's.

use xmpp_test_support::session;

use session::{config, Session, Unwrapper, NS_WRAP};
use xmpp_proto::avatar::{sha1_hex, AvatarImage};
use xmpp_proto::stanza::{BareJid, DefinedCondition, Presence};
use xmpp_proto::testing::attr_after;
use xmpp_proto::vcard::{
    AdvertisedPhoto, AvatarLimits, AvatarUnavailable, Email, EmailType, Photo, VCard, VCardAvatar,
    VCardError, VCardEvent, VCardLimits, VCardParseError, VCards,
};
use xmpp_proto::{Event, IqFailure, WarningKind};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n juliet's face";
const PNG_B64: &str = "iVBORw0KGgoganVsaWV0J3MgZmFjZQ==";
const OTHER_PNG: &[u8] = b"\x89PNG\r\n\x1a\n romeo's face";

fn jid(s: &str) -> BareJid {
    s.parse().expect("jid")
}

fn b64(data: &[u8]) -> String {
    use std::fmt::Write as _;
    // A small encoder so the test does not share the module's.
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let _ = write!(out, "{}", T[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The id of the last IQ the client sent.
fn last_id(sent: &str) -> String {
    let at = sent.rfind("<iq").expect("an iq");
    attr_after(&sent[at..], "<iq", "id").expect("an id")
}

/// A card with only a photo.
fn card_with_photo(b64: &str) -> String {
    format!(
        "<vCard xmlns='vcard-temp'><FN>X</FN><PHOTO><TYPE>image/png</TYPE>\
         <BINVAL>{b64}</BINVAL></PHOTO></vCard>"
    )
}

/// Online with `vcards` registered; the login's own-card request (if
/// any) answered with `own` (a `<vCard/>`, or an error for `None`).
fn online(vcards: VCards, own: Option<&str>) -> Session {
    let mut s = Session::login_with(config().build(), "", |c| {
        c.register(vcards).expect("register")
    });
    let sent = s.sent();
    if sent.contains("vcard-temp") {
        let id = last_id(&sent);
        match own {
            Some(card) => s.server(&format!("<iq type='result' id='{id}'>{card}</iq>")),
            None => s.server(&format!(
                "<iq type='error' id='{id}'><error type='cancel'>\
                 <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
            )),
        }
    }
    s.events.clear();
    s
}

fn vcard_events(s: &mut Session) -> Vec<VCardEvent> {
    s.drain();
    s.events
        .drain(..)
        .filter_map(|e| match e {
            Event::VCard(v) => Some(v),
            _ => None,
        })
        .collect()
}

/// A contact's available presence advertising `photo` (`None`: `<photo/>`).
fn presence_with(from: &str, photo: Option<&str>) -> String {
    let photo = match photo {
        Some(h) => format!("<photo>{h}</photo>"),
        None => "<photo/>".into(),
    };
    format!(
        "<presence from='{from}' to='juliet@example.com/balcony'>\
         <x xmlns='vcard-temp:x:update'>{photo}</x></presence>"
    )
}

fn broadcast(s: &mut Session) -> String {
    let id = s.client.send(s.now, Presence::available()).expect("online");
    let sent = s.sent();
    assert!(sent.contains(&format!("id='{id}'")), "{sent}");
    sent
}

#[test]
fn our_card_is_fetched_at_login_and_every_available_presence_carries_its_hash() {
    let mut s = Session::login_with(config().build(), "", |c| {
        c.register(VCards::new()).expect("register")
    });
    // §4.2 rule 1: our card first.
    let sent = s.sent();
    let id = last_id(&sent);
    assert_eq!(
        sent,
        format!("<iq id='{id}' type='get'><vCard xmlns='vcard-temp'/></iq>")
    );
    // Until it is known: the update element without <photo/> (§4.1 rule 2).
    let p = broadcast(&mut s);
    let pid = attr_after(&p, "<presence", "id").expect("id");
    assert_eq!(
        p,
        format!("<presence id='{pid}'><x xmlns='vcard-temp:x:update'/></presence>")
    );
    // The card arrives: our presence is sent again with the hash (§4.1 rule 3).
    s.server(&format!(
        "<iq type='result' id='{id}'>{}</iq>",
        card_with_photo(PNG_B64)
    ));
    let hash = sha1_hex(PNG);
    assert_eq!(
        s.sent(),
        format!(
            "<presence id='{pid}'><x xmlns='vcard-temp:x:update'><photo>{hash}</photo></x></presence>"
        )
    );
    assert_eq!(
        vcard_events(&mut s),
        [VCardEvent::Avatar {
            jid: jid("juliet@example.com"),
            advertised: Some(hash.clone()),
            avatar: VCardAvatar::Image(AvatarImage::new("image/png", PNG.to_vec())),
        }]
    );
    assert_eq!(
        s.client.module::<VCards>().expect("registered").own_photo(),
        &AdvertisedPhoto::Hash(hash.clone())
    );
    // Every later available presence, directed ones too; not unavailable.
    let p = broadcast(&mut s);
    assert!(p.contains(&format!("<photo>{hash}</photo>")), "{p}");
    let to_room = Presence::available().with_to(
        "orchard@conference.example.com/Juliet"
            .parse::<xmpp_proto::stanza::Jid>()
            .expect("jid"),
    );
    s.client.send(s.now, to_room).expect("online");
    assert!(s.sent().contains(&format!("<photo>{hash}</photo>")));
    s.client
        .send(s.now, Presence::unavailable())
        .expect("online");
    assert!(!s.sent().contains("vcard-temp:x:update"));
}

#[test]
fn without_a_card_our_presence_says_no_photo() {
    let mut s = online(VCards::new(), None);
    assert_eq!(
        s.client.module::<VCards>().expect("registered").own_photo(),
        &AdvertisedPhoto::None
    );
    let p = broadcast(&mut s);
    assert!(
        p.contains("<x xmlns='vcard-temp:x:update'><photo/></x>"),
        "{p}"
    );
}

#[test]
fn fetch_a_contacts_card_with_its_typed_fields() {
    let mut s = online(VCards::new(), None);
    let romeo = jid("romeo@montague.net");
    let id = s
        .client
        .with_module(s.now, |v: &mut VCards, cx| v.fetch(cx, Some(romeo.clone())))
        .expect("registered")
        .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq to='romeo@montague.net' id='{id}' type='get'><vCard xmlns='vcard-temp'/></iq>"
        )
    );
    s.server(&format!(
        "<iq from='romeo@montague.net' type='result' id='{id}'><vCard xmlns='vcard-temp'>\
         <FN>Romeo Montague</FN><N><FAMILY>Montague</FAMILY><GIVEN>Romeo</GIVEN><MIDDLE/></N>\
         <NICKNAME>Romy</NICKNAME>\
         <EMAIL><INTERNET/><PREF/><USERID>romeo@montague.net</USERID></EMAIL>\
         <EMAIL><HOME/><USERID>r@example.org</USERID></EMAIL>\
         <TEL><CELL/><NUMBER>+39 555</NUMBER></TEL><TEL><FAX/><NUMBER/></TEL>\
         <ADR><HOME/><LOCALITY>Verona</LOCALITY><CTRY>Italy</CTRY></ADR>\
         <ORG><ORGNAME>House Montague</ORGNAME><ORGUNIT>Heirs</ORGUNIT></ORG>\
         <TITLE>Heir</TITLE><URL>https://montague.net/</URL><BDAY>1290-01-01</BDAY>\
         <DESC>Lover</DESC><JABBERID>romeo@montague.net</JABBERID>\
         <PHOTO><EXTVAL>https://montague.net/romeo.png</EXTVAL></PHOTO>\
         </vCard></iq>"
    ));
    let events = vcard_events(&mut s);
    let [VCardEvent::Fetched {
        id: got,
        jid: whose,
        result: Ok(card),
    }] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!((got, whose), (&id, &romeo));
    assert_eq!(card.full_name.as_deref(), Some("Romeo Montague"));
    let n = card.name.as_ref().expect("N");
    assert_eq!(
        (n.family.as_deref(), n.given.as_deref(), n.middle.as_deref()),
        (Some("Montague"), Some("Romeo"), None)
    );
    assert_eq!(card.nickname.as_deref(), Some("Romy"));
    assert_eq!(card.email(), Some("romeo@montague.net"));
    assert_eq!(
        card.emails[0].types,
        [EmailType::Internet, EmailType::Pref].into()
    );
    assert_eq!(card.emails[1].address, "r@example.org");
    assert_eq!(
        card.telephones.len(),
        1,
        "the empty NUMBER is a placeholder"
    );
    assert_eq!(card.telephones[0].number, "+39 555");
    assert_eq!(card.addresses[0].locality.as_deref(), Some("Verona"));
    let org = card.org.as_ref().expect("ORG");
    assert_eq!(
        (org.name.as_deref(), &org.units[..]),
        (Some("House Montague"), &["Heirs".to_string()][..])
    );
    assert_eq!(
        (
            card.title.as_deref(),
            card.url.as_deref(),
            card.birthday.as_deref(),
            card.description.as_deref()
        ),
        (
            Some("Heir"),
            Some("https://montague.net/"),
            Some("1290-01-01"),
            Some("Lover")
        )
    );
    assert_eq!(
        card.photo,
        Some(Photo::External("https://montague.net/romeo.png".into()))
    );
    assert_eq!(card.other.len(), 1, "JABBERID kept raw");

    // No card: the server's error.
    let id = s
        .client
        .with_module(s.now, |v: &mut VCards, cx| {
            v.fetch(cx, Some(jid("nobody@montague.net")))
        })
        .expect("registered")
        .expect("sent");
    s.sent();
    s.server(&format!(
        "<iq from='nobody@montague.net' type='error' id='{id}'><error type='cancel'>\
         <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    let events = vcard_events(&mut s);
    assert!(
        matches!(&events[..], [VCardEvent::Fetched { result: Err(VCardError::Iq(IqFailure::Error(e))), .. }]
            if e.condition == DefinedCondition::ServiceUnavailable),
        "{events:?}"
    );
}

#[test]
fn setting_our_card_advertises_its_photo() {
    let mut s = online(VCards::new(), None);
    let p = broadcast(&mut s);
    let pid = attr_after(&p, "<presence", "id").expect("id");
    let card = VCard {
        full_name: Some("Juliet Capulet".into()),
        emails: vec![Email::new("juliet@capulet.lit")],
        photo: Some(Photo::Binary(AvatarImage::new("image/png", PNG.to_vec()))),
        ..VCard::new()
    };
    let id = s
        .client
        .with_module(s.now, |v: &mut VCards, cx| v.set(cx, card))
        .expect("registered")
        .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq id='{id}' type='set'><vCard xmlns='vcard-temp'><FN>Juliet Capulet</FN>\
             <PHOTO><TYPE>image/png</TYPE><BINVAL>{PNG_B64}</BINVAL></PHOTO>\
             <EMAIL><USERID>juliet@capulet.lit</USERID></EMAIL></vCard></iq>"
        )
    );
    assert_eq!(b64(PNG), PNG_B64);
    // Nothing advertised before the server took it.
    assert_eq!(
        s.client.module::<VCards>().expect("registered").own_photo(),
        &AdvertisedPhoto::None
    );
    s.server(&format!("<iq type='result' id='{id}'/>"));
    let hash = sha1_hex(PNG);
    assert_eq!(
        s.sent(),
        format!(
            "<presence id='{pid}'><x xmlns='vcard-temp:x:update'><photo>{hash}</photo></x></presence>"
        ),
        "§4.2 rule 1: a card just uploaded is advertised"
    );
    let events = vcard_events(&mut s);
    assert!(
        matches!(&events[..], [
            VCardEvent::Done { id: done, result: Ok(()) },
            VCardEvent::Avatar { advertised: Some(h), avatar: VCardAvatar::Image(_), .. },
        ] if *done == id && *h == hash),
        "{events:?}"
    );
}

#[test]
fn update_edits_our_card_and_keeps_what_it_does_not_know() {
    let limits = VCardLimits {
        max_photo_bytes: 8,
        ..VCardLimits::default()
    };
    let mut s = online(VCards::new().limits(limits), None);
    let id = s
        .client
        .with_module(s.now, |v: &mut VCards, cx| {
            v.update(cx, |card| card.nickname = Some("Jules".into()))
        })
        .expect("registered")
        .expect("sent");
    let sent = s.sent();
    assert_eq!(
        sent,
        format!("<iq id='{id}' type='get'><vCard xmlns='vcard-temp'/></iq>")
    );
    // Another client's property and a photo past our limit: kept as they came.
    s.server(&format!(
        "<iq type='result' id='{id}'><vCard xmlns='vcard-temp'><FN>Juliet</FN>\
         <NICKNAME>Jule</NICKNAME><X-CLIENT xmlns='urn:example'>state</X-CLIENT>\
         <PHOTO><TYPE>image/png</TYPE><BINVAL>{PNG_B64}</BINVAL></PHOTO></vCard></iq>"
    ));
    let sent = s.sent();
    let set = last_id(&sent);
    assert_eq!(
        sent,
        format!(
            "<iq id='{set}' type='set'><vCard xmlns='vcard-temp'><FN>Juliet</FN>\
             <NICKNAME>Jules</NICKNAME>\
             <PHOTO><TYPE>image/png</TYPE><BINVAL>{PNG_B64}</BINVAL></PHOTO>\
             <X-CLIENT xmlns='urn:example'>state</X-CLIENT></vCard></iq>"
        )
    );
    s.server(&format!("<iq type='result' id='{set}'/>"));
    let events = vcard_events(&mut s);
    assert!(
        matches!(&events[0], VCardEvent::Done { id: done, result: Ok(()) } if *done == id),
        "{events:?}"
    );

    // A card that cannot be read is not overwritten.
    let id = s
        .client
        .with_module(s.now, |v: &mut VCards, cx| {
            v.update(cx, |card| card.nickname = None)
        })
        .expect("registered")
        .expect("sent");
    s.sent();
    s.server(&format!(
        "<iq type='result' id='{id}'><vCard xmlns='vcard-temp'>\
         <PHOTO><BINVAL>**</BINVAL></PHOTO></vCard></iq>"
    ));
    assert_eq!(s.sent(), "", "nothing stored");
    assert_eq!(
        vcard_events(&mut s),
        [VCardEvent::Done {
            id,
            result: Err(VCardError::Invalid(VCardParseError::InvalidPhoto))
        }]
    );
}

#[test]
fn a_contacts_changed_hash_triggers_one_fetch_and_an_unchanged_one_none() {
    let mut s = online(VCards::new(), None);
    let hash = sha1_hex(OTHER_PNG);
    s.server(&presence_with("romeo@montague.net/orchard", Some(&hash)));
    let sent = s.sent();
    let id = last_id(&sent);
    // To the bare JID (XEP-0153 §3.2).
    assert_eq!(
        sent,
        format!(
            "<iq to='romeo@montague.net' id='{id}' type='get'><vCard xmlns='vcard-temp'/></iq>"
        )
    );
    // The same hash again (another resource, a presence update): no fetch,
    // not even while the first is in flight; upper case is the same hash.
    s.server(&presence_with("romeo@montague.net/orchard", Some(&hash)));
    s.server(&presence_with(
        "romeo@montague.net/garden",
        Some(&hash.to_uppercase()),
    ));
    assert_eq!(s.sent(), "");
    s.server(&format!(
        "<iq from='romeo@montague.net' type='result' id='{id}'>{}</iq>",
        card_with_photo(&b64(OTHER_PNG))
    ));
    assert_eq!(
        vcard_events(&mut s),
        [VCardEvent::Avatar {
            jid: jid("romeo@montague.net"),
            advertised: Some(hash.clone()),
            avatar: VCardAvatar::Image(AvatarImage::new("image/png", OTHER_PNG.to_vec())),
        }]
    );
    s.server(&presence_with("romeo@montague.net/orchard", Some(&hash)));
    assert_eq!(s.sent(), "", "unchanged: no fetch");
    assert_eq!(
        s.client
            .module::<VCards>()
            .expect("registered")
            .advertised(&jid("romeo@montague.net")),
        Some(Some(hash.as_str()))
    );

    // A new hash: one more fetch.
    let new = sha1_hex(PNG);
    s.server(&presence_with("romeo@montague.net/orchard", Some(&new)));
    let id = last_id(&s.sent());
    s.server(&format!(
        "<iq from='romeo@montague.net' type='result' id='{id}'>{}</iq>",
        card_with_photo(PNG_B64)
    ));
    assert!(matches!(
        &vcard_events(&mut s)[..],
        [VCardEvent::Avatar {
            avatar: VCardAvatar::Image(_),
            ..
        }]
    ));

    // No avatar any more: news, and nothing to fetch.
    s.server(&presence_with("romeo@montague.net/orchard", None));
    assert_eq!(s.sent(), "");
    assert_eq!(
        vcard_events(&mut s),
        [VCardEvent::Avatar {
            jid: jid("romeo@montague.net"),
            advertised: None,
            avatar: VCardAvatar::None,
        }]
    );
    // A presence without <photo/> ("not ready") or without <x/>: nothing.
    s.server(
        "<presence from='romeo@montague.net/orchard'><x xmlns='vcard-temp:x:update'/></presence>",
    );
    s.server("<presence from='romeo@montague.net/orchard'/>");
    assert_eq!(s.sent(), "");
    assert!(vcard_events(&mut s).is_empty());
}

#[test]
fn a_known_avatar_is_not_fetched_again() {
    let hash = sha1_hex(OTHER_PNG);
    let vcards =
        VCards::new().with_avatar_hashes([(jid("romeo@montague.net"), hash.to_uppercase())]);
    let mut s = online(vcards, None);
    s.server(&presence_with("romeo@montague.net/orchard", Some(&hash)));
    assert_eq!(s.sent(), "", "the application has it already");
}

#[test]
fn one_fetch_per_contact_and_a_bounded_number_in_flight() {
    let limits = AvatarLimits {
        fetches: 2,
        ..AvatarLimits::default()
    };
    let mut s = online(VCards::new().avatar_limits(limits), None);
    let h = |n: u8| sha1_hex(&[n]);
    for (i, who) in ["a", "b", "c"].iter().enumerate() {
        s.server(&presence_with(
            &format!("{who}@example.net/x"),
            Some(&h(i as u8)),
        ));
    }
    let sent = s.sent();
    assert_eq!(sent.matches("<iq ").count(), 2, "{sent}");
    assert!(sent.contains("to='a@example.net'") && sent.contains("to='b@example.net'"));
    let a_id = attr_after(&sent, "<iq to='a@example.net'", "id").expect("id");
    // a changes its hash while its fetch is in flight: still one for a.
    s.server(&presence_with("a@example.net/x", Some(&h(9))));
    assert_eq!(s.sent(), "");
    assert_eq!(
        s.client
            .module::<VCards>()
            .expect("registered")
            .avatar_fetches(),
        2
    );
    // a's answer (for the old hash): its new hash is asked for next; c waits on.
    s.server(&format!(
        "<iq from='a@example.net' type='result' id='{a_id}'>{}</iq>",
        card_with_photo(&b64(&[0]))
    ));
    let sent = s.sent();
    assert_eq!(sent.matches("<iq ").count(), 1, "{sent}");
    assert!(sent.contains("to='a@example.net'"), "{sent}");
    let a_id = last_id(&sent);
    s.server(&format!(
        "<iq from='a@example.net' type='result' id='{a_id}'>{}</iq>",
        card_with_photo(&b64(&[9]))
    ));
    let sent = s.sent();
    assert!(sent.contains("to='c@example.net'"), "c's turn: {sent}");
}

#[test]
fn a_photo_past_the_limit_is_measured_and_never_decoded() {
    let limits = VCardLimits {
        max_photo_bytes: 16,
        ..VCardLimits::default()
    };
    let mut s = online(VCards::new().limits(limits), None);
    // The attacker advertises a hash and serves 1 KiB of "base64" that is
    // not even valid: decoding it would fail; it is refused unread.
    let hash = sha1_hex(b"whatever");
    s.server(&presence_with("mallory@evil.example/x", Some(&hash)));
    let id = last_id(&s.sent());
    let junk = "*".repeat(1024);
    s.server(&format!(
        "<iq from='mallory@evil.example' type='result' id='{id}'>{}</iq>",
        card_with_photo(&junk)
    ));
    let w = s.module_warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("max_photo_bytes"), "{w:?}");
    assert_eq!(
        vcard_events(&mut s),
        [VCardEvent::Avatar {
            jid: jid("mallory@evil.example"),
            advertised: Some(hash.clone()),
            avatar: VCardAvatar::Unavailable(AvatarUnavailable::TooLarge {
                encoded_len: 1024,
                max: 16
            }),
        }]
    );
    // The same hash again: not fetched again.
    s.server(&presence_with("mallory@evil.example/x", Some(&hash)));
    assert_eq!(s.sent(), "");
}

#[test]
fn a_photo_that_does_not_hash_to_the_advertised_hash_is_a_mismatch() {
    let mut s = online(VCards::new(), None);
    let advertised = sha1_hex(PNG);
    s.server(&presence_with("mallory@evil.example/x", Some(&advertised)));
    let id = last_id(&s.sent());
    s.server(&format!(
        "<iq from='mallory@evil.example' type='result' id='{id}'>{}</iq>",
        card_with_photo(&b64(OTHER_PNG))
    ));
    let w = s.module_warnings();
    assert!(
        w.len() == 1 && w[0].contains("not to the advertised"),
        "{w:?}"
    );
    assert_eq!(
        vcard_events(&mut s),
        [VCardEvent::Avatar {
            jid: jid("mallory@evil.example"),
            advertised: Some(advertised.clone()),
            avatar: VCardAvatar::Mismatch {
                image: AvatarImage::new("image/png", OTHER_PNG.to_vec()),
                actual: sha1_hex(OTHER_PNG),
            },
        }]
    );
    // The advertised hash counts as fetched: repeating it fetches nothing.
    s.server(&presence_with("mallory@evil.example/x", Some(&advertised)));
    assert_eq!(s.sent(), "");
}

#[test]
fn a_card_answered_by_someone_else_is_refused_and_the_fetch_waits() {
    let mut s = online(VCards::new(), None);
    let hash = sha1_hex(OTHER_PNG);
    s.server(&presence_with("romeo@montague.net/orchard", Some(&hash)));
    let id = last_id(&s.sent());
    // Mallory guesses the id and answers with her photo.
    for from in ["mallory@evil.example", "romeo@montague.net/orchard"] {
        s.server(&format!(
            "<iq from='{from}' type='result' id='{id}'>{}</iq>",
            card_with_photo(&b64(PNG))
        ));
        assert!(
            s.events.iter().any(
                |e| matches!(e, Event::Warning(w) if w.kind == WarningKind::SpoofedIqResponse)
            ),
            "{from}: {:?}",
            s.events
        );
        assert!(vcard_events(&mut s).is_empty(), "{from}");
    }
    assert_eq!(
        s.client
            .module::<VCards>()
            .expect("registered")
            .avatar_fetches(),
        1,
        "still waiting for Romeo's server"
    );
    s.server(&format!(
        "<iq from='romeo@montague.net' type='result' id='{id}'>{}</iq>",
        card_with_photo(&b64(OTHER_PNG))
    ));
    assert!(matches!(
        &vcard_events(&mut s)[..],
        [VCardEvent::Avatar {
            avatar: VCardAvatar::Image(_),
            ..
        }]
    ));
}

#[test]
fn hashes_in_room_presences_forwarded_stanzas_or_malformed_are_not_read() {
    let mut s = online(VCards::new(), None);
    let hash = sha1_hex(PNG);
    // A room occupant: the room is no contact whose card to fetch.
    s.server(&format!(
        "<presence from='orchard@conference.example.com/Romeo'>\
         <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/></x>\
         <x xmlns='vcard-temp:x:update'><photo>{hash}</photo></x></presence>"
    ));
    // Not a SHA-1.
    s.server(&presence_with(
        "romeo@montague.net/orchard",
        Some("not-a-hash"),
    ));
    assert_eq!(s.sent(), "");
    let w = s.module_warnings();
    assert!(w.len() == 1 && w[0].contains("not a SHA-1"), "{w:?}");
}

#[test]
fn a_presence_unwrapped_from_another_stanza_is_not_read() {
    let mut s = Session::login_with(config().build(), "", |c| {
        c.register(Unwrapper).expect("register");
        c.register(VCards::new()).expect("register");
    });
    let id = last_id(&s.sent());
    s.server(&format!(
        "<iq type='result' id='{id}'><vCard xmlns='vcard-temp'/></iq>"
    ));
    s.events.clear();
    // Mallory wraps a presence claiming to be another resource of ours
    // (which would make us fetch our card) and one of Romeo's.
    for from in ["juliet@example.com/chamber", "romeo@montague.net/orchard"] {
        s.server(&format!(
            "<message from='mallory@evil.example/x'><wrapped xmlns='{NS_WRAP}'>{}</wrapped></message>",
            presence_with(from, Some(&sha1_hex(b"forged"))).replace(
                "<presence ",
                "<presence xmlns='jabber:client' "
            )
        ));
        assert_eq!(s.sent(), "", "{from}: nothing fetched");
    }
    assert_eq!(
        s.client
            .module::<VCards>()
            .expect("registered")
            .advertised(&jid("romeo@montague.net")),
        None
    );
}

#[test]
fn another_resource_of_ours_with_another_hash_makes_us_defer_to_our_card() {
    let mut s = online(VCards::new(), Some(&card_with_photo(PNG_B64)));
    let ours = sha1_hex(PNG);
    let p = broadcast(&mut s);
    let pid = attr_after(&p, "<presence", "id").expect("id");
    // Our own broadcast echoed back: nothing.
    s.server(&presence_with("juliet@example.com/balcony", Some(&ours)));
    // Another resource with the same hash: nothing.
    s.server(&presence_with("juliet@example.com/chamber", Some(&ours)));
    assert_eq!(s.sent(), "");
    // Another resource changed the card (§4.3): we fetch ours, not theirs.
    let theirs = sha1_hex(OTHER_PNG);
    s.server(&presence_with("juliet@example.com/chamber", Some(&theirs)));
    let sent = s.sent();
    let id = last_id(&sent);
    assert_eq!(
        sent,
        format!("<iq id='{id}' type='get'><vCard xmlns='vcard-temp'/></iq>")
    );
    s.server(&format!(
        "<iq type='result' id='{id}'>{}</iq>",
        card_with_photo(&b64(OTHER_PNG))
    ));
    assert_eq!(
        s.sent(),
        format!(
            "<presence id='{pid}'><x xmlns='vcard-temp:x:update'><photo>{theirs}</photo></x></presence>"
        )
    );
    assert!(matches!(
        &vcard_events(&mut s)[..],
        [VCardEvent::Avatar { advertised: Some(h), .. }] if *h == theirs
    ));
}

#[test]
fn without_avatar_updates_nothing_is_added_or_fetched() {
    let mut s = Session::login_with(config().build(), "", |c| {
        c.register(VCards::new().without_avatar_updates())
            .expect("register")
    });
    assert_eq!(s.sent(), "", "no own card at login");
    let p = broadcast(&mut s);
    assert!(!p.contains("vcard-temp"), "{p}");
    s.server(&presence_with(
        "romeo@montague.net/orchard",
        Some(&sha1_hex(PNG)),
    ));
    assert_eq!(s.sent(), "");
}

#[test]
fn a_hostile_card_is_a_typed_error() {
    let mut s = online(VCards::new(), None);
    let id = s
        .client
        .with_module(s.now, |v: &mut VCards, cx| {
            v.fetch(cx, Some(jid("mallory@evil.example")))
        })
        .expect("registered")
        .expect("sent");
    s.sent();
    let emails: String = (0..65)
        .map(|i| format!("<EMAIL><USERID>m{i}@evil.example</USERID></EMAIL>"))
        .collect();
    s.server(&format!(
        "<iq from='mallory@evil.example' type='result' id='{id}'><vCard xmlns='vcard-temp'>{emails}</vCard></iq>"
    ));
    assert_eq!(
        vcard_events(&mut s),
        [VCardEvent::Fetched {
            id,
            jid: jid("mallory@evil.example"),
            result: Err(VCardError::Invalid(VCardParseError::TooMany {
                what: "email addresses",
                max: 64
            })),
        }]
    );
}
