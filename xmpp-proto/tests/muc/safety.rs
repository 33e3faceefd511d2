//! The safety rules, played by the attacker: room traffic from rooms we are
//! not in, nicks taken for real JIDs, another occupant's corrections, forged
//! invitations, and bounds on everything a peer can grow.

use super::*;

#[test]
fn room_traffic_from_a_room_we_are_not_in_is_dropped_with_a_warning_whatever_the_module_order() {
    for muc_first in [true, false] {
        let mut s = online_with(Muc::new(), muc_first);
        in_room(&mut s);
        // The attacker poses as another room, as an occupant of it, and as
        // a bare contact sending "groupchat".
        for from in [
            "lair@chat.evil.example/mallory",
            "lair@chat.evil.example",
            "mallory@evil.example/x",
        ] {
            s.server(&format!(
                "<message from='{from}' to='{OWN}' type='groupchat' id='g1'><body>pwned</body>\
                 <stanza-id xmlns='urn:xmpp:sid:0' id='x' by='lair@chat.evil.example'/></message>"
            ));
            assert!(s.chat_messages().is_empty(), "{from}: {:?}", s.events);
            assert!(
                !s.events.iter().any(|e| matches!(e, Event::Message(_))),
                "not delivered raw either"
            );
            let w = s.module_warnings();
            assert_eq!(w.len(), 1, "{w:?}");
            assert!(w[0].contains("not a room we are in"), "{w:?}");
            s.events.clear();
        }
        // A subject from nowhere: no Subject event.
        s.server(&format!(
            "<message from='lair@chat.evil.example' to='{OWN}' type='groupchat'><subject>owned</subject></message>"
        ));
        assert!(muc_events_and_warnings(&mut s).0.is_empty());
        // An occupant presence of a room we are not in: not an occupant,
        // not a contact's presence either.
        s.server(&format!(
            "<presence from='lair@chat.evil.example/mallory' to='{OWN}'>\
             <x xmlns='http://jabber.org/protocol/muc#user'>\
             <item affiliation='owner' role='moderator' jid='juliet@example.com/balcony'/>\
             <status code='110'/></x></presence>"
        ));
        let (events, w) = muc_events_and_warnings(&mut s);
        assert!(events.is_empty(), "{events:?}");
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(!s
            .events
            .iter()
            .any(|e| matches!(e, Event::Presence(_) | Event::PresenceUpdate(_))));
        assert_eq!(s.client.module::<Muc>().map(|m| m.rooms().count()), Some(1));
        // The real room's traffic still flows.
        s.server(&format!(
            "<message from='{ROOM}/firstwitch' to='{OWN}' type='groupchat' id='ok'><body>hi</body></message>"
        ));
        assert_eq!(s.chat_messages().len(), 1);
        assert!(s.module_warnings().is_empty());
    }
}

fn muc_events_and_warnings(s: &mut Session) -> (Vec<MucEvent>, Vec<String>) {
    let w = s.module_warnings();
    (muc_events(s), w)
}

#[test]
fn a_nick_is_never_taken_as_a_real_jid() {
    let mut s = online();
    in_room(&mut s);
    // A semi-anonymous room: no item jid, whatever the nick looks like.
    s.server(&occupant(
        "romeo@montague.lit",
        "affiliation='none' role='participant'",
        &[],
    ));
    s.server(&occupant(
        "juliet@example.com",
        "affiliation='none' role='participant'",
        &[],
    ));
    let events = muc_events(&mut s);
    assert_eq!(events.len(), 2);
    for e in &events {
        let MucEvent::OccupantJoined { occupant, .. } = e else {
            panic!("{e:?}")
        };
        assert_eq!(occupant.jid, None, "{occupant:?}");
    }
    let r = s
        .client
        .module::<Muc>()
        .and_then(|m| m.room(&room()))
        .expect("room");
    assert_eq!(
        r.occupant("romeo@montague.lit").and_then(|o| o.jid.clone()),
        None
    );
    // The room's item is the one source of a real JID.
    s.server(&occupant(
        "benvolio",
        "affiliation='none' role='participant' jid='benvolio@montague.lit/street'",
        &[],
    ));
    let events = muc_events(&mut s);
    assert!(matches!(
        events.as_slice(),
        [MucEvent::OccupantJoined { occupant, .. }]
            if occupant.jid.as_ref().map(|j| j.as_str()) == Some("benvolio@montague.lit/street")
    ));
}

#[test]
fn an_occupants_correction_applies_only_to_a_message_of_the_same_occupant() {
    let mut s = online();
    in_room(&mut s);
    s.server(&format!(
        "<message from='{ROOM}/firstwitch' to='{OWN}' type='groupchat' id='m1'><body>Thrice</body></message>"
    ));
    s.events.clear();
    // Another occupant claims to correct it: a new message, a warning.
    s.server(&format!(
        "<message from='{ROOM}/secondwitch' to='{OWN}' type='groupchat' id='m2'><body>Never</body>\
         <replace xmlns='urn:xmpp:message-correct:0' id='m1'/></message>"
    ));
    let c = s.chat_messages();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].replaces, None);
    assert_eq!(s.module_warnings().len(), 1);
    s.events.clear();
    // The room itself (its bare JID) is not that occupant either.
    s.server(&format!(
        "<message from='{ROOM}' to='{OWN}' type='groupchat' id='m3'><body>Never</body>\
         <replace xmlns='urn:xmpp:message-correct:0' id='m1'/></message>"
    ));
    assert_eq!(s.chat_messages()[0].replaces, None);
    s.events.clear();
    // The same occupant: a correction.
    s.server(&format!(
        "<message from='{ROOM}/firstwitch' to='{OWN}' type='groupchat' id='m4'><body>Thrice!</body>\
         <replace xmlns='urn:xmpp:message-correct:0' id='m1'/></message>"
    ));
    let c = s.chat_messages();
    assert_eq!(c[0].replaces.as_deref(), Some("m1"));
    assert!(s.module_warnings().is_empty());
}

#[test]
fn a_mediated_invitation_is_believed_only_from_a_rooms_bare_jid() {
    let mut s = online();
    // A full JID is no room: dropped with a warning.
    s.server(&format!(
        "<message from='mallory@evil.example/x' to='{OWN}'><x xmlns='http://jabber.org/protocol/muc#user'>\
         <invite from='romeo@montague.lit'/></x></message>\
         <message from='mallory@evil.example/x' to='{OWN}'><x xmlns='jabber:x:conference' jid='lair@chat.evil.example/x'/></message>"
    ));
    let (events, w) = muc_events_and_warnings(&mut s);
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(w.len(), 2, "{w:?}");
    assert_eq!(
        s.client.module::<Muc>().map(|m| m.invitations().count()),
        Some(0)
    );
}

#[test]
fn everything_a_peer_can_grow_is_bounded() {
    let limits = MucLimits {
        rooms: 2,
        occupants: 3,
        invitations: 2,
        ..MucLimits::default()
    };
    let mut s = online_with(Muc::new().with_limits(limits), false);
    in_room(&mut s); // 3 occupants: the limit
    s.server(&occupant(
        "hecate",
        "affiliation='none' role='participant'",
        &[],
    ));
    let (events, w) = muc_events_and_warnings(&mut s);
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("MucLimits::occupants"));
    // Known occupants still update.
    s.server(&occupant(
        "firstwitch",
        "affiliation='owner' role='participant'",
        &[],
    ));
    assert!(matches!(
        muc_events(&mut s).as_slice(),
        [MucEvent::OccupantChanged { .. }]
    ));
    // Rooms.
    let other: BareJid = "heath@chat.example.org".parse().expect("jid");
    muc(&mut s, |m, cx| m.join(cx, Join::new(other, "w"))).expect("sent");
    let third: BareJid = "lair@chat.example.org".parse().expect("jid");
    assert_eq!(
        muc(&mut s, |m, cx| m.join(cx, Join::new(third, "w"))),
        Err(MucError::TooManyRooms { limit: 2 })
    );
    // Invitations.
    for n in 0..5 {
        s.server(&format!(
            "<message from='crone1@shakespeare.lit/desktop' to='{OWN}'>\
             <x xmlns='jabber:x:conference' jid='room{n}@chat.example.org'/></message>"
        ));
    }
    let (events, w) = muc_events_and_warnings(&mut s);
    assert_eq!(events.len(), 2);
    assert_eq!(w.len(), 3);
    assert_eq!(
        s.client.module::<Muc>().map(|m| m.invitations().count()),
        Some(2)
    );
}
