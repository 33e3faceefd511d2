//! Private messages, moderation and administration, invitations, features.

use super::*;

#[test]
fn private_messages_go_to_an_occupant_and_come_back_as_chat_messages() {
    let mut s = online();
    in_room(&mut s);
    let id = muc(&mut s, |m, cx| {
        m.send_private(cx, &room(), "firstwitch", "I'll give thee a wind.")
    })
    .expect("sent");
    let sent = s.sent();
    assert!(
        sent.starts_with(&format!(
            "<message to='{ROOM}/firstwitch' id='{id}' type='chat'><body>I'll give thee a wind.</body>\
             <x xmlns='http://jabber.org/protocol/muc#user'/>"
        )),
        "{sent}"
    );
    s.server(&format!(
        "<message from='{ROOM}/firstwitch' to='{OWN}' type='chat' id='p1'><body>Thou art kind.</body>\
         <x xmlns='http://jabber.org/protocol/muc#user'/></message>"
    ));
    let c = s.chat_messages();
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0].message.from.as_ref().map(|j| j.to_string()).as_deref(),
        Some("coven@chat.example.org/firstwitch")
    );
    // And to everyone: a groupchat message to the room's bare JID.
    let id = muc(&mut s, |m, cx| m.send_message(cx, &room(), "All hail")).expect("sent");
    assert!(s.sent().starts_with(&format!(
        "<message to='{ROOM}' id='{id}' type='groupchat'><body>All hail</body>"
    )));
}

#[test]
fn moderation_and_administration_requests() {
    let mut s = online();
    in_room(&mut s);
    let q = |inner: &str| {
        format!("<query xmlns='http://jabber.org/protocol/muc#admin'>{inner}</query>")
    };
    let id = muc(&mut s, |m, cx| {
        m.kick(cx, &room(), "pistol", Some("Avaunt, you cullion!"))
    })
    .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq to='{ROOM}' id='{id}' type='set'>{}</iq>",
            q("<item nick='pistol' role='none'><reason>Avaunt, you cullion!</reason></item>")
        )
    );
    s.server(&format!(
        "<iq from='{ROOM}' to='{OWN}' id='{id}' type='result'/>"
    ));
    assert!(matches!(
        muc_events(&mut s).as_slice(),
        [MucEvent::Done { result: Ok(()), .. }]
    ));
    let cambridge: BareJid = "earlofcambridge@shakespeare.lit".parse().expect("jid");
    let id = muc(&mut s, |m, cx| {
        m.ban(cx, &room(), &cambridge, Some("Treason"))
    })
    .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq to='{ROOM}' id='{id}' type='set'>{}</iq>",
            q("<item affiliation='outcast' jid='earlofcambridge@shakespeare.lit'><reason>Treason</reason></item>")
        )
    );
    for (f, item) in [
        (
            Box::new(|m: &mut Muc, cx: &mut ModuleContext<'_>| {
                m.grant_voice(cx, &room(), "thirdwitch")
            })
                as Box<dyn Fn(&mut Muc, &mut ModuleContext<'_>) -> Result<String, MucError>>,
            "<item nick='thirdwitch' role='participant'/>",
        ),
        (
            Box::new(|m: &mut Muc, cx: &mut ModuleContext<'_>| {
                m.revoke_voice(cx, &room(), "thirdwitch")
            }),
            "<item nick='thirdwitch' role='visitor'/>",
        ),
        (
            Box::new(|m: &mut Muc, cx: &mut ModuleContext<'_>| {
                let hecate: BareJid = "hecate@shakespeare.lit".parse().expect("jid");
                m.set_affiliation(cx, &room(), &hecate, Affiliation::Member, None)
            }),
            "<item affiliation='member' jid='hecate@shakespeare.lit'/>",
        ),
        (
            Box::new(|m: &mut Muc, cx: &mut ModuleContext<'_>| {
                let hecate: BareJid = "hecate@shakespeare.lit".parse().expect("jid");
                m.set_affiliation(cx, &room(), &hecate, Affiliation::Owner, None)
            }),
            "<item affiliation='owner' jid='hecate@shakespeare.lit'/>",
        ),
    ] {
        let id = muc(&mut s, |m, cx| f(m, cx)).expect("sent");
        assert_eq!(
            s.sent(),
            format!("<iq to='{ROOM}' id='{id}' type='set'>{}</iq>", q(item))
        );
    }
    // A list: the ban list comes back as items.
    let id = muc(&mut s, |m, cx| {
        m.request_affiliations(cx, &room(), Affiliation::Outcast)
    })
    .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq to='{ROOM}' id='{id}' type='get'>{}</iq>",
            q("<item affiliation='outcast'/>")
        )
    );
    s.server(&format!(
        "<iq from='{ROOM}' to='{OWN}' id='{id}' type='result'>{}</iq>",
        q("<item affiliation='outcast' jid='earlofcambridge@shakespeare.lit'><reason>Treason</reason></item>")
    ));
    let events = muc_events(&mut s);
    let [MucEvent::Items {
        result: Ok(items), ..
    }] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].affiliation, Some(Affiliation::Outcast));
    assert_eq!(items[0].reason.as_deref(), Some("Treason"));
    // Destroy, with an alternate venue.
    let heath: BareJid = "heath@chat.example.org".parse().expect("jid");
    let id = muc(&mut s, |m, cx| {
        m.destroy(cx, &room(), Some("Macbeth doth come."), Some(&heath))
    })
    .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq to='{ROOM}' id='{id}' type='set'><query xmlns='http://jabber.org/protocol/muc#owner'>\
             <destroy jid='heath@chat.example.org'><reason>Macbeth doth come.</reason></destroy></query></iq>"
        )
    );
    // An answer from someone else than the room is not the room's.
    s.server(&format!(
        "<iq from='mallory@evil.example/x' to='{OWN}' id='{id}' type='result'/>"
    ));
    assert!(muc_events(&mut s).is_empty());
}

#[test]
fn invitations_both_ways_mediated_and_direct() {
    let mut s = online();
    in_room(&mut s);
    let hecate = "hecate@shakespeare.lit".parse().expect("jid");
    let id = muc(&mut s, |m, cx| {
        m.invite(cx, &room(), &hecate, Some("the place for all good witches"))
    })
    .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<message to='{ROOM}' id='{id}'><x xmlns='http://jabber.org/protocol/muc#user'>\
             <invite to='hecate@shakespeare.lit'><reason>the place for all good witches</reason></invite></x>\
             <origin-id xmlns='urn:xmpp:sid:0' id='{id}'/></message>"
        )
    );
    let id = muc(&mut s, |m, cx| {
        m.invite_direct(cx, &room(), &hecate, Some("come"))
    })
    .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<message to='hecate@shakespeare.lit' id='{id}'>\
             <x xmlns='jabber:x:conference' jid='{ROOM}' reason='come'/>\
             <origin-id xmlns='urn:xmpp:sid:0' id='{id}'/></message>"
        )
    );
    // Someone declines through the room.
    s.server(&format!(
        "<message from='{ROOM}' to='{OWN}'><x xmlns='http://jabber.org/protocol/muc#user'>\
         <decline from='hecate@shakespeare.lit'><reason>Too busy</reason></decline></x></message>"
    ));
    assert!(matches!(
        muc_events(&mut s).as_slice(),
        [MucEvent::Declined { reason: Some(r), .. }] if r == "Too busy"
    ));
    // Received: a mediated one (from the room) and a direct one.
    s.server(
        "<message from='darkcave@chat.example.org' to='juliet@example.com/balcony' id='i1'>\
         <x xmlns='http://jabber.org/protocol/muc#user'>\
         <invite from='crone1@shakespeare.lit/desktop'><reason>Hey</reason></invite>\
         <password>cauldronburn</password></x></message>\
         <message from='crone1@shakespeare.lit/desktop' to='juliet@example.com/balcony' id='i2'>\
         <x xmlns='jabber:x:conference' jid='heath@chat.example.org' password='p' reason='Come'/></message>",
    );
    let events = muc_events(&mut s);
    let kinds: Vec<_> = events
        .iter()
        .map(|e| match e {
            MucEvent::Invited(i) => (
                i.room.to_string(),
                i.kind,
                i.from.as_ref().map(|j| j.to_string()),
                i.password.clone(),
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "darkcave@chat.example.org".to_string(),
                InvitationKind::Mediated,
                Some("crone1@shakespeare.lit/desktop".to_string()),
                Some("cauldronburn".to_string())
            ),
            (
                "heath@chat.example.org".into(),
                InvitationKind::Direct,
                Some("crone1@shakespeare.lit/desktop".into()),
                Some("p".into())
            ),
        ]
    );
    assert!(
        s.chat_messages().is_empty(),
        "invitations are not chat messages"
    );
    // The same room again, or a room we are in: not presented twice.
    s.server(&format!(
        "<message from='crone1@shakespeare.lit/desktop' to='{OWN}'><x xmlns='jabber:x:conference' jid='heath@chat.example.org'/></message>\
         <message from='crone1@shakespeare.lit/desktop' to='{OWN}'><x xmlns='jabber:x:conference' jid='{ROOM}'/></message>"
    ));
    assert!(muc_events(&mut s).is_empty());
    assert_eq!(
        s.client.module::<Muc>().map(|m| m.invitations().count()),
        Some(2)
    );
    // Declining the mediated one goes through the room to the inviter.
    let darkcave: BareJid = "darkcave@chat.example.org".parse().expect("jid");
    muc(&mut s, |m, cx| m.decline(cx, &darkcave, Some("Sorry"))).expect("sent");
    let sent = s.sent();
    assert!(
        sent.starts_with(
            "<message to='darkcave@chat.example.org' id='"
        ) && sent.contains(
            "<x xmlns='http://jabber.org/protocol/muc#user'><decline to='crone1@shakespeare.lit/desktop'>\
             <reason>Sorry</reason></decline></x>"
        ),
        "{sent}"
    );
    // Accepting the direct one joins with its password.
    let heath: BareJid = "heath@chat.example.org".parse().expect("jid");
    muc(&mut s, |m, cx| m.accept(cx, &heath, "thirdwitch")).expect("sent");
    assert!(s.sent().contains("<password>p</password>"));
    assert_eq!(
        s.client.module::<Muc>().map(|m| m.invitations().count()),
        Some(0)
    );
    assert_eq!(
        muc(&mut s, |m, cx| m.decline(cx, &heath, None)),
        Err(MucError::NoInvitation(heath))
    );
}

#[test]
fn the_module_advertises_muc_and_direct_invitations() {
    let s = online();
    let features = s.client.disco_features();
    assert!(features.contains(&"http://jabber.org/protocol/muc"));
    assert!(features.contains(&"jabber:x:conference"));
}
