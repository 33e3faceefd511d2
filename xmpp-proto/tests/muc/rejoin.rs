//! Rejoining after a new session: history since the last message seen.

use super::*;

/// The transport drops and a new session logs in (no resumption).
fn reconnect(s: &mut Session) {
    s.client.handle_input(Input::TransportClosed(s.now));
    s.drain();
    let delay = s.deadline.expect("reconnect timer") - s.now;
    s.advance(delay);
    s.close_transport = false;
    s.start_tls.clear();
    s.client
        .handle_input(Input::Connected(s.now, Security::StartTls));
    s.starttls_to_sasl(&["SCRAM-SHA-1", "PLAIN"], "", None);
    let mut scram = ScramServer::new(Hash::Sha1, session::PASSWORD);
    s.scram(&mut scram);
    // The same resource again: the rooms' stanzas keep their address.
    s.bind("balcony");
}

#[test]
fn after_a_new_session_the_rooms_are_rejoined_with_history_since_the_last_message_seen() {
    let policy = ReconnectPolicy::new().backoff(Duration::from_secs(2), Duration::from_secs(2), 1);
    let mut s = Session::login_with(config().reconnect(policy).build(), "", |c| {
        c.register(Messages::new()).expect("register");
        c.register(Muc::new()).expect("register");
    });
    s.sent();
    s.events.clear();
    joined(&mut s);
    let msg = |n: u32, stamp: Option<&str>| {
        let delay = stamp
            .map(|st| format!("<delay xmlns='urn:xmpp:delay' from='{ROOM}' stamp='{st}'/>"))
            .unwrap_or_default();
        format!(
            "<message from='{ROOM}/firstwitch' to='{OWN}' type='groupchat' id='m{n}'><body>{n}</body>\
             {delay}<stanza-id xmlns='urn:xmpp:sid:0' id='s{n}' by='{ROOM}'/></message>"
        )
    };
    // History 1-2 (stamped by the room), subject, live 3-4.
    s.server(&msg(1, Some("2024-01-01T10:00:00Z")));
    s.server(&msg(2, Some("2024-01-01T10:01:00Z")));
    s.server(&format!(
        "<message from='{ROOM}' to='{OWN}' type='groupchat'><subject/></message>"
    ));
    s.server(&msg(3, None));
    s.server(&msg(4, None));
    assert_eq!(s.chat_messages().len(), 4);
    s.events.clear();

    reconnect(&mut s);
    let sent = s.sent();
    let id = attr_after(
        &sent[sent.find("<presence").expect("rejoin")..],
        "<presence",
        "id",
    )
    .expect("id");
    assert!(
        sent.contains(&format!(
            "<presence to='{ROOM}/thirdwitch' id='{id}'><x xmlns='http://jabber.org/protocol/muc'>\
             <history maxstanzas='50' since='2024-01-01T10:01:00Z'/></x></presence>"
        )),
        "{sent}"
    );
    assert!(s
        .events
        .iter()
        .any(|e| matches!(e, Event::Reconnected { .. })));
    s.events.clear();
    s.server(&occupant(
        "firstwitch",
        "affiliation='owner' role='moderator'",
        &[],
    ));
    s.server(&occupant(
        "thirdwitch",
        "affiliation='member' role='participant'",
        &[110],
    ));
    assert!(matches!(
        muc_events(&mut s).as_slice(),
        [MucEvent::Joined { rejoined: true, occupants, .. }] if occupants.len() == 2
    ));
    // The room replays from message 2: 2-4 were seen, 5-6 were missed.
    for n in 2..=6 {
        s.server(&msg(n, Some(&format!("2024-01-01T10:0{n}:00Z"))));
    }
    s.server(&format!(
        "<message from='{ROOM}' to='{OWN}' type='groupchat'><subject/></message>"
    ));
    let bodies: Vec<_> = s
        .chat_messages()
        .iter()
        .map(|c| {
            (
                c.message.body.clone().unwrap_or_default(),
                c.delay.is_some(),
            )
        })
        .collect();
    assert_eq!(
        bodies,
        [("5".to_string(), true), ("6".to_string(), true)],
        "replays up to the last seen are dropped; the missed ones arrive as history"
    );
    s.events.clear();
    // Live again: the replay filter is off, a new message arrives; a copy
    // of one delivered before (the room's stanza-id) is a duplicate the
    // messages module drops.
    s.server(&msg(7, None));
    s.server(&msg(3, None));
    assert_eq!(s.chat_messages().len(), 1);
    assert_eq!(s.chat_messages()[0].message.body.as_deref(), Some("7"));
}

#[test]
fn a_room_being_left_when_the_connection_drops_is_left_not_rejoined() {
    let policy = ReconnectPolicy::new().backoff(Duration::from_secs(2), Duration::from_secs(2), 1);
    let mut s = Session::login_with(config().reconnect(policy).build(), "", |c| {
        c.register(Muc::new()).expect("register");
    });
    s.sent();
    s.events.clear();
    joined(&mut s);
    muc(&mut s, |m, cx| m.leave(cx, &room(), None)).expect("sent");
    s.sent();
    reconnect(&mut s);
    assert!(
        !s.sent().contains("http://jabber.org/protocol/muc"),
        "no rejoin"
    );
    assert!(matches!(
        muc_events(&mut s).as_slice(),
        [MucEvent::Left {
            departure: Departure::Left,
            ..
        }]
    ));
    assert_eq!(s.client.module::<Muc>().map(|m| m.rooms().count()), Some(0));
}

#[test]
fn a_delay_an_occupant_forged_does_not_steer_the_next_rejoin() {
    let policy = ReconnectPolicy::new().backoff(Duration::from_secs(2), Duration::from_secs(2), 1);
    let mut s = Session::login_with(config().reconnect(policy).build(), "", |c| {
        c.register(Messages::new()).expect("register");
        c.register(Muc::new()).expect("register");
    });
    s.sent();
    joined(&mut s);
    // History: the occupant's own delay (claiming the room, far in the
    // future) comes first, the room's own stamp last.
    s.server(&format!(
        "<message from='{ROOM}/firstwitch' to='{OWN}' type='groupchat' id='h1'><body>old</body>\
         <delay xmlns='urn:xmpp:delay' from='{ROOM}' stamp='2099-01-01T00:00:00Z'/>\
         <delay xmlns='urn:xmpp:delay' from='mallory@evil.example' stamp='2098-01-01T00:00:00Z'/>\
         <delay xmlns='urn:xmpp:delay' from='{ROOM}' stamp='2024-01-01T10:00:00Z'/></message>"
    ));
    s.server(&format!(
        "<message from='{ROOM}' to='{OWN}' type='groupchat'><subject/></message>"
    ));
    // Live, with a forged delay claiming the room: not history, not used.
    s.server(&format!(
        "<message from='{ROOM}/firstwitch' to='{OWN}' type='groupchat' id='l1'><body>now</body>\
         <delay xmlns='urn:xmpp:delay' from='{ROOM}' stamp='2099-06-01T00:00:00Z'/></message>"
    ));
    assert_eq!(s.chat_messages().len(), 2);
    reconnect(&mut s);
    let sent = s.sent();
    assert!(
        sent.contains("<history maxstanzas='50' since='2024-01-01T10:00:00Z'/>"),
        "{sent}"
    );
}
