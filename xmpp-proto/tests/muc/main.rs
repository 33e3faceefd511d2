//! Multi-user chat (XEP-0045) and direct invitations (XEP-0249) as
//! transcripts: the server (playing the rooms) sends these bytes, the
//! client must send those and tell the application this. Every safety
//! rule is played by an attacker, byte for byte: room traffic from a room
//! we are not in, a nick that looks like a JID, a correction from another
//! occupant, invitations from nowhere, and floods past every bound.

use xmpp_test_support::{scram_server, session};

use std::time::Duration;

use scram_server::{Hash, ScramServer};
use session::{config, Session};
use xmpp_proto::connect::Security;
use xmpp_proto::disco::{FieldType, FormKind};
use xmpp_proto::messages::Messages;
use xmpp_proto::muc::{
    Affiliation, Departure, History, InvitationKind, Join, JoinError, Muc, MucError, MucEvent,
    MucLimits, Role, StatusCode,
};
use xmpp_proto::presence::Presence;
use xmpp_proto::stanza::BareJid;
use xmpp_proto::testing::attr_after;
use xmpp_proto::{Event, Input, ModuleContext, ReconnectPolicy};

const OWN: &str = "juliet@example.com/balcony";
const ROOM: &str = "coven@chat.example.org";

fn room() -> BareJid {
    ROOM.parse().expect("jid")
}

/// Online with the messages, presence and MUC modules, in `order`.
fn online_with(muc: Muc, muc_first: bool) -> Session {
    let mut s = Session::login_with(config().build(), "", |c| {
        if muc_first {
            c.register(muc).expect("register");
            c.register(Messages::new()).expect("register");
            c.register(Presence::new()).expect("register");
        } else {
            // The catch-all modules first: the MUC module is offered room
            // traffic before them anyway (its routing priority).
            c.register(Messages::new()).expect("register");
            c.register(Presence::new()).expect("register");
            c.register(muc).expect("register");
        }
    });
    s.sent();
    s.events.clear();
    s
}

fn online() -> Session {
    online_with(Muc::new(), false)
}

/// Runs a command of the MUC module.
fn muc<R>(s: &mut Session, f: impl FnOnce(&mut Muc, &mut ModuleContext<'_>) -> R) -> R {
    let now = s.now;
    let r = s.client.with_module(now, f).expect("registered");
    s.drain();
    r
}

fn muc_events(s: &mut Session) -> Vec<MucEvent> {
    s.drain();
    s.events
        .drain(..)
        .filter_map(|e| match e {
            Event::Muc(m) => Some(m),
            _ => None,
        })
        .collect()
}

/// The room's presence for an occupant: `item` attributes and codes.
fn occupant(nick: &str, item: &str, codes: &[u16]) -> String {
    let codes: String = codes
        .iter()
        .map(|c| format!("<status code='{c}'/>"))
        .collect();
    format!(
        "<presence from='{ROOM}/{nick}' to='{OWN}'>\
         <x xmlns='http://jabber.org/protocol/muc#user'><item {item}/>{codes}</x></presence>"
    )
}

fn gone(nick: &str, inner: &str) -> String {
    format!(
        "<presence from='{ROOM}/{nick}' to='{OWN}' type='unavailable'>\
         <x xmlns='http://jabber.org/protocol/muc#user'>{inner}</x></presence>"
    )
}

/// Joins ROOM as `thirdwitch` with two occupants present; returns the
/// events of the join.
fn joined(s: &mut Session) -> Vec<MucEvent> {
    muc(s, |m, cx| m.join(cx, Join::new(room(), "thirdwitch"))).expect("sent");
    assert!(s.sent().contains(&format!("to='{ROOM}/thirdwitch'")));
    s.server(&occupant(
        "firstwitch",
        "affiliation='owner' role='moderator' jid='crone1@shakespeare.lit/desktop'",
        &[],
    ));
    s.server(&occupant(
        "secondwitch",
        "affiliation='admin' role='moderator'",
        &[],
    ));
    s.server(&occupant(
        "thirdwitch",
        "affiliation='member' role='participant' jid='juliet@example.com/balcony'",
        &[110],
    ));
    muc_events(s)
}

/// Joined, the (empty) history over: the subject came.
fn in_room(s: &mut Session) {
    joined(s);
    s.server(&format!(
        "<message from='{ROOM}' to='{OWN}' type='groupchat'><subject/></message>"
    ));
    s.events.clear();
}

mod admin;
mod rejoin;
mod room;
mod safety;
