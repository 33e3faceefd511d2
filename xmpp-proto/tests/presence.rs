//! The presence module (RFC 6121 §3 subscriptions, §4 presence) as
//! transcripts: what the application commands and the client sends, what
//! the server sends and the application is told, one rule per test; and a
//! property test of the per-contact state, the pending requests and the
//! events against a simple model.

use xmpp_test_support::session;

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;
use session::{config, Session};
use xmpp_proto::presence::{
    Availability, Presence, PresenceError, PresenceEvent, PresenceLimits, NS_PRE_APPROVAL,
};
use xmpp_proto::stanza::{BareJid, Jid, Show};
use xmpp_proto::{Event, Input, ModuleContext};

const PRE_APPROVAL: &str = "<sub xmlns='urn:xmpp:features:pre-approval'/>";

fn online_with(module: Presence, features: &str) -> Session {
    Session::login_with(config().build(), features, |c| {
        c.register(module).expect("register")
    })
}

fn online() -> Session {
    let mut s = online_with(Presence::new(), "");
    assert_eq!(s.sent(), "", "nothing sent before the application says so");
    s
}

fn bare(s: &str) -> BareJid {
    s.parse().expect("jid")
}

fn jid(s: &str) -> Jid {
    s.parse().expect("jid")
}

/// Runs a command of the module.
fn run<R>(s: &mut Session, f: impl FnOnce(&mut Presence, &mut ModuleContext<'_>) -> R) -> R {
    let now = s.now;
    let r = s.client.with_module(now, f).expect("registered");
    s.drain();
    r
}

/// What the client sent, without the generated stanza ids.
fn sent(s: &mut Session) -> String {
    let mut out = s.sent();
    while let Some(at) = out.find(" id='") {
        let end = at + 5 + out[at + 5..].find('\'').expect("end of id") + 1;
        out.replace_range(at..end, "");
    }
    out
}

fn presence_events(s: &mut Session) -> Vec<PresenceEvent> {
    s.events
        .drain(..)
        .filter_map(|e| match e {
            Event::PresenceUpdate(p) => Some(p),
            _ => None,
        })
        .collect()
}

fn module(s: &Session) -> &Presence {
    s.client.module::<Presence>().expect("registered")
}

fn changed(
    jid: &str,
    available: bool,
    show: Option<Show>,
    status: Option<&str>,
    priority: i8,
) -> PresenceEvent {
    PresenceEvent::Changed {
        jid: self::jid(jid),
        available,
        show,
        status: status.map(str::to_string),
        priority,
        payloads: Vec::new(),
    }
}

/// The best resource of `of`, as a string.
fn best(s: &Session, of: &str) -> Option<String> {
    module(s)
        .best_resource(&bare(of))
        .map(|(j, _)| j.to_string())
}

// ===== our presence (§4.2, §4.4, §4.5) =====

#[test]
fn initial_presence_carries_show_status_and_priority_and_is_remembered() {
    let mut s = online();
    let a = Availability::new()
        .with_show(Show::Dnd)
        .with_status("Wooing Romeo")
        .with_priority(1);
    run(&mut s, |p, cx| p.available(cx, a.clone())).expect("online");
    assert_eq!(
        sent(&mut s),
        "<presence><show>dnd</show><status>Wooing Romeo</status><priority>1</priority></presence>"
    );
    assert_eq!(module(&s).own(), Some(&a));
    // A plain update: no show, default priority.
    run(&mut s, |p, cx| p.available(cx, Availability::new())).expect("online");
    assert_eq!(sent(&mut s), "<presence/>");
    assert_eq!(module(&s).own(), Some(&Availability::new()));
    // Sent again on demand (e.g. after something reset it server-side).
    assert_eq!(run(&mut s, |p, cx| p.resend(cx)), Ok(true));
    assert_eq!(sent(&mut s), "<presence/>");
}

#[test]
fn unavailable_carries_its_status_and_forgets_our_presence() {
    let mut s = online();
    run(&mut s, |p, cx| p.available(cx, Availability::new())).expect("online");
    s.sent();
    run(&mut s, |p, cx| {
        p.unavailable(cx, Some("gone to bed".into()))
    })
    .expect("online");
    assert_eq!(
        sent(&mut s),
        "<presence type='unavailable'><status>gone to bed</status></presence>"
    );
    assert_eq!(module(&s).own(), None);
    assert_eq!(run(&mut s, |p, cx| p.resend(cx)), Ok(false));
    assert_eq!(sent(&mut s), "");
    run(&mut s, |p, cx| p.unavailable(cx, None)).expect("online");
    assert_eq!(sent(&mut s), "<presence type='unavailable'/>");
}

#[test]
fn commands_before_login_fail_and_change_nothing() {
    let mut s = Session::new(config().build());
    s.client.register(Presence::new()).expect("register");
    let r = run(&mut s, |p, cx| p.available(cx, Availability::new()));
    assert!(matches!(r, Err(PresenceError::Send(_))), "{r:?}");
    assert!(r
        .unwrap_err()
        .to_string()
        .contains("wait for Event::Online"));
    assert_eq!(module(&s).own(), None);
}

#[test]
fn the_initial_presence_handed_in_is_sent_when_the_session_comes_online() {
    let a = Availability::new()
        .with_show(Show::Away)
        .with_status("back soon");
    let mut s = online_with(Presence::new().with_initial(a.clone()), "");
    let out = sent(&mut s);
    assert!(
        out.ends_with("<presence><show>away</show><status>back soon</status></presence>"),
        "{out}"
    );
    assert_eq!(module(&s).own(), Some(&a));
}

// ===== subscriptions (§3) =====

#[test]
fn subscribe_goes_to_the_bare_jid_with_an_optional_text() {
    let mut s = online();
    run(&mut s, |p, cx| {
        p.subscribe(cx, &bare("romeo@example.net"), Some("I'm Juliet".into()))
    })
    .expect("online");
    assert_eq!(
        sent(&mut s),
        "<presence to='romeo@example.net' type='subscribe'><status>I'm Juliet</status></presence>"
    );
    run(&mut s, |p, cx| {
        p.subscribe(cx, &bare("romeo@example.net"), None)
    })
    .expect("online");
    assert_eq!(
        sent(&mut s),
        "<presence to='romeo@example.net' type='subscribe'/>"
    );
    // The answers.
    s.server("<presence from='romeo@example.net' type='subscribed'/>");
    s.server("<presence from='romeo@example.net' type='unsubscribed'/>");
    assert_eq!(
        presence_events(&mut s),
        [
            PresenceEvent::SubscriptionApproved {
                from: bare("romeo@example.net")
            },
            PresenceEvent::SubscriptionRevoked {
                from: bare("romeo@example.net")
            },
        ]
    );
}

#[test]
fn a_request_from_a_full_jid_is_pending_under_its_bare_jid_until_approved() {
    let mut s = online();
    s.server(
        "<presence from='Romeo@Example.net/orchard' type='subscribe'><status>hi</status></presence>",
    );
    assert_eq!(
        presence_events(&mut s),
        [PresenceEvent::SubscriptionRequest {
            from: bare("romeo@example.net"),
            status: Some("hi".into())
        }]
    );
    assert_eq!(
        module(&s).pending_requests().collect::<Vec<_>>(),
        [(&bare("romeo@example.net"), Some("hi"))]
    );
    run(&mut s, |p, cx| p.approve(cx, &bare("romeo@example.net"))).expect("pending");
    assert_eq!(
        sent(&mut s),
        "<presence to='romeo@example.net' type='subscribed'/>"
    );
    assert_eq!(module(&s).pending_requests().count(), 0);
    // Approving again (or someone who never asked) is refused: that would
    // be a pre-approval.
    let err =
        run(&mut s, |p, cx| p.approve(cx, &bare("romeo@example.net"))).expect_err("not pending");
    assert_eq!(
        err,
        PresenceError::NoPendingRequest {
            jid: bare("romeo@example.net")
        }
    );
    assert!(err.to_string().contains("pre_approve"), "{err}");
    assert_eq!(sent(&mut s), "");
}

#[test]
fn deny_answers_a_pending_request_and_is_harmless_without_one() {
    let mut s = online();
    s.server("<presence from='nurse@example.com' type='subscribe'/>");
    assert_eq!(
        run(&mut s, |p, cx| p.deny(cx, &bare("nurse@example.com"))),
        Ok(true)
    );
    assert_eq!(
        sent(&mut s),
        "<presence to='nurse@example.com' type='unsubscribed'/>"
    );
    assert_eq!(module(&s).pending_requests().count(), 0);
    // Unknown: still sent, and said so.
    assert_eq!(
        run(&mut s, |p, cx| p.deny(cx, &bare("tybalt@example.com"))),
        Ok(false)
    );
    assert_eq!(
        sent(&mut s),
        "<presence to='tybalt@example.com' type='unsubscribed'/>"
    );
}

#[test]
fn unsubscribe_and_cancel_send_their_types() {
    let mut s = online();
    run(&mut s, |p, cx| {
        p.unsubscribe(cx, &bare("romeo@example.net"))
    })
    .expect("online");
    assert_eq!(
        sent(&mut s),
        "<presence to='romeo@example.net' type='unsubscribe'/>"
    );
    s.server("<presence from='benvolio@example.net/a' type='subscribe'/>");
    run(&mut s, |p, cx| p.cancel(cx, &bare("benvolio@example.net"))).expect("online");
    assert_eq!(
        sent(&mut s),
        "<presence to='benvolio@example.net' type='unsubscribed'/>"
    );
    assert_eq!(module(&s).pending_requests().count(), 0, "answered by it");
}

#[test]
fn a_withdrawn_request_is_no_longer_pending() {
    let mut s = online();
    s.server("<presence from='romeo@example.net' type='subscribe'/>");
    s.server("<presence from='romeo@example.net/orchard' type='unsubscribe'/>");
    let events = presence_events(&mut s);
    assert_eq!(
        events.last(),
        Some(&PresenceEvent::ContactUnsubscribed {
            from: bare("romeo@example.net")
        })
    );
    assert_eq!(module(&s).pending_requests().count(), 0);
}

#[test]
fn pre_approval_needs_the_servers_stream_feature() {
    let mut s = online();
    assert!(!module(&s).supports_pre_approval());
    let err = run(&mut s, |p, cx| {
        p.pre_approve(cx, &bare("romeo@example.net"))
    })
    .expect_err("unsupported");
    assert_eq!(
        err,
        PresenceError::PreApprovalUnsupported {
            jid: bare("romeo@example.net")
        }
    );
    assert!(err.to_string().contains("approve it then"), "{err}");
    assert_eq!(sent(&mut s), "", "nothing sent");

    let mut s = online_with(Presence::new(), PRE_APPROVAL);
    assert!(module(&s).supports_pre_approval());
    s.sent();
    run(&mut s, |p, cx| {
        p.pre_approve(cx, &bare("romeo@example.net"))
    })
    .expect("supported");
    assert_eq!(
        sent(&mut s),
        "<presence to='romeo@example.net' type='subscribed'/>"
    );
    assert!(NS_PRE_APPROVAL.ends_with("pre-approval"));
}

#[test]
fn pending_requests_are_bounded() {
    let limits = PresenceLimits {
        pending_requests: 2,
        ..PresenceLimits::default()
    };
    let mut s = online_with(Presence::new().with_limits(limits), "");
    for who in ["a", "b", "c"] {
        s.server(&format!(
            "<presence from='{who}@example.net' type='subscribe'/>"
        ));
    }
    assert_eq!(module(&s).pending_requests().count(), 2);
    let w = s.module_warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("c@example.net") && w[0].contains("pending_requests"));
    assert_eq!(
        presence_events(&mut s).len(),
        2,
        "no event for the refused one"
    );
    // A repeat of a known request is not new.
    s.server("<presence from='a@example.net' type='subscribe'/>");
    assert_eq!(presence_events(&mut s).len(), 1);
}

// ===== others' availability (§4.4, §4.5) =====

#[test]
fn resources_are_tracked_and_the_best_is_by_priority_then_show() {
    let mut s = online();
    s.server("<presence from='romeo@example.net/orchard'><show>away</show><priority>5</priority></presence>");
    s.server("<presence from='romeo@example.net/balcony'><show>chat</show><status>here</status><priority>1</priority></presence>");
    assert_eq!(
        presence_events(&mut s),
        [
            changed("romeo@example.net/orchard", true, Some(Show::Away), None, 5),
            changed(
                "romeo@example.net/balcony",
                true,
                Some(Show::Chat),
                Some("here"),
                1
            ),
        ]
    );
    let romeo = module(&s)
        .contact(&bare("romeo@example.net"))
        .expect("available");
    assert_eq!(romeo.len(), 2);
    assert_eq!(
        romeo.resource(Some("balcony")),
        Some(
            &Availability::new()
                .with_show(Show::Chat)
                .with_status("here")
                .with_priority(1)
        )
    );
    assert_eq!(
        best(&s, "romeo@example.net").as_deref(),
        Some("romeo@example.net/orchard"),
        "priority first"
    );
    // Same priority: show decides (chat > available > away > xa > dnd).
    s.server("<presence from='romeo@example.net/balcony'><priority>5</priority></presence>");
    assert_eq!(
        best(&s, "romeo@example.net").as_deref(),
        Some("romeo@example.net/balcony")
    );
    s.server("<presence from='romeo@example.net/orchard'><show>chat</show><priority>5</priority></presence>");
    assert_eq!(
        best(&s, "romeo@example.net").as_deref(),
        Some("romeo@example.net/orchard")
    );
    // One resource leaves.
    s.server("<presence from='romeo@example.net/orchard' type='unavailable'><status>bye</status></presence>");
    assert_eq!(
        presence_events(&mut s).last(),
        Some(&changed(
            "romeo@example.net/orchard",
            false,
            None,
            Some("bye"),
            0
        ))
    );
    assert_eq!(
        best(&s, "romeo@example.net").as_deref(),
        Some("romeo@example.net/balcony")
    );
    assert_eq!(
        module(&s)
            .contact(&bare("romeo@example.net"))
            .map(|c| c.len()),
        Some(1)
    );
}

#[test]
fn unavailable_from_the_bare_jid_clears_every_resource() {
    let mut s = online();
    s.server("<presence from='romeo@example.net/a'/>");
    s.server("<presence from='romeo@example.net/b'/>");
    s.server("<presence from='romeo@example.net' type='unavailable'/>");
    assert_eq!(
        presence_events(&mut s).last(),
        Some(&changed("romeo@example.net", false, None, None, 0))
    );
    assert!(module(&s).contact(&bare("romeo@example.net")).is_none());
    assert_eq!(best(&s, "romeo@example.net"), None);
}

#[test]
fn extensions_of_a_presence_reach_the_application() {
    let mut s = online();
    s.server(
        "<presence from='romeo@example.net/a'><c xmlns='http://jabber.org/protocol/caps' \
         hash='sha-1' node='n' ver='v'/></presence>",
    );
    let events = presence_events(&mut s);
    let [PresenceEvent::Changed { payloads, .. }] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(payloads.len(), 1);
    assert!(payloads[0].is("http://jabber.org/protocol/caps", "c"));
}

#[test]
fn a_revoked_subscription_forgets_the_contacts_presence() {
    let mut s = online();
    s.server("<presence from='romeo@example.net/a'/>");
    presence_events(&mut s);
    s.server("<presence from='romeo@example.net' type='unsubscribed'/>");
    assert_eq!(
        presence_events(&mut s),
        [
            changed("romeo@example.net", false, None, None, 0),
            PresenceEvent::SubscriptionRevoked {
                from: bare("romeo@example.net")
            }
        ]
    );
    assert!(module(&s).contact(&bare("romeo@example.net")).is_none());
    // Our own unsubscribe, likewise.
    s.server("<presence from='romeo@example.net/a'/>");
    presence_events(&mut s);
    run(&mut s, |p, cx| {
        p.unsubscribe(cx, &bare("romeo@example.net"))
    })
    .expect("online");
    assert_eq!(
        presence_events(&mut s),
        [changed("romeo@example.net", false, None, None, 0)]
    );
    assert!(module(&s).contact(&bare("romeo@example.net")).is_none());
}

#[test]
fn our_own_accounts_resources_are_tracked_like_a_contacts() {
    let mut s = online();
    s.server("<presence from='juliet@example.com/chamber'><show>xa</show></presence>");
    // Our own broadcast, echoed back by the server (RFC 6121 §4.2.2).
    s.server("<presence from='juliet@example.com/balcony'/>");
    let own = module(&s)
        .contact(&bare("juliet@example.com"))
        .expect("tracked");
    assert_eq!(own.len(), 2);
    assert_eq!(
        best(&s, "juliet@example.com").as_deref(),
        Some("juliet@example.com/balcony")
    );
    assert_eq!(presence_events(&mut s).len(), 2);
}

#[test]
fn error_and_muc_presences_are_left_to_others() {
    let mut s = online();
    s.server(
        "<presence from='romeo@example.net' type='error'><error type='cancel'>\
         <remote-server-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>",
    );
    s.server(
        "<presence from='coven@chat.shakespeare.lit/thirdwitch'>\
         <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/></x>\
         </presence>",
    );
    s.server(
        "<presence from='coven@chat.shakespeare.lit/thirdwitch' type='unavailable'>\
         <x xmlns='http://jabber.org/protocol/muc#user'/></presence>",
    );
    let unconsumed = s
        .events
        .iter()
        .filter(|e| matches!(e, Event::Presence(_)))
        .count();
    assert_eq!(unconsumed, 3);
    assert!(presence_events(&mut s).is_empty());
    assert_eq!(module(&s).contacts().count(), 0);
}

#[test]
fn domain_jids_are_contacts_too_and_a_presence_without_sender_is_ignored() {
    let mut s = online();
    // A gateway (XEP-0100) or any service: no localpart, accepted.
    s.server("<presence from='icq.example.net'/>");
    s.server("<presence from='icq.example.net' type='subscribe'/>");
    assert!(module(&s).contact(&bare("icq.example.net")).is_some());
    assert_eq!(module(&s).pending_requests().count(), 1);
    presence_events(&mut s);
    // No sender: nothing to attribute it to.
    s.server("<presence><show>chat</show></presence>");
    s.server("<presence type='subscribe'/>");
    assert_eq!(s.module_warnings().len(), 2, "{:?}", s.events);
    assert!(presence_events(&mut s).is_empty());
    assert!(
        !s.events.iter().any(|e| matches!(e, Event::Presence(_))),
        "consumed"
    );
    assert_eq!(module(&s).contacts().count(), 1);
}

#[test]
fn contacts_and_resources_are_bounded() {
    let limits = PresenceLimits {
        contacts: 2,
        resources: 2,
        ..PresenceLimits::default()
    };
    let mut s = online_with(Presence::new().with_limits(limits), "");
    for from in ["a@example.net/1", "b@example.net/1", "c@example.net/1"] {
        s.server(&format!("<presence from='{from}'/>"));
    }
    assert_eq!(module(&s).contacts().count(), 2);
    for r in 2..=3 {
        s.server(&format!("<presence from='a@example.net/{r}'/>"));
    }
    assert_eq!(
        module(&s).contact(&bare("a@example.net")).map(|c| c.len()),
        Some(2)
    );
    let w = s.module_warnings();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].contains("c@example.net/1") && w[0].contains("PresenceLimits::contacts"),
        "{w:?}"
    );
    assert!(
        w[1].contains("a@example.net/3") && w[1].contains("PresenceLimits::resources"),
        "{w:?}"
    );
    // Updates and departures of what is known still apply; the freed room
    // is usable again.
    s.server("<presence from='a@example.net/2'><show>dnd</show></presence>");
    s.server("<presence from='b@example.net' type='unavailable'/>");
    s.server("<presence from='c@example.net/1'/>");
    assert!(module(&s).contact(&bare("c@example.net")).is_some());
    assert_eq!(s.module_warnings().len(), 2);
}

#[test]
fn a_lost_session_forgets_others_presence_but_not_ours() {
    let mut s = online();
    run(&mut s, |p, cx| {
        p.available(cx, Availability::new().with_priority(3))
    })
    .expect("online");
    s.server("<presence from='romeo@example.net/a'/>");
    s.server("<presence from='nurse@example.com' type='subscribe'/>");
    let now = s.now;
    s.client.handle_input(Input::TransportClosed(now));
    s.drain();
    let m = module(&s);
    assert_eq!(m.contacts().count(), 0);
    assert_eq!(m.pending_requests().count(), 0);
    assert_eq!(
        m.own(),
        Some(&Availability::new().with_priority(3)),
        "to hand to the next session"
    );
}

// ===== property: the per-contact state is a map of resources, the pending
// requests a set, and every availability change an event =====

#[derive(Clone, Debug)]
enum Op {
    /// (contact, resource: None for the bare JID, show, priority)
    Available(usize, Option<usize>, Option<Show>, i8),
    Unavailable(usize, Option<usize>),
    /// The contact asks to subscribe, from one of its resources.
    Request(usize, usize),
    /// The contact withdraws its request (`unsubscribe`).
    Withdraw(usize),
    /// The contact cancels our subscription (`unsubscribed`).
    Revoke(usize),
}

fn show() -> impl Strategy<Value = Option<Show>> {
    prop_oneof![
        Just(None),
        Just(Some(Show::Chat)),
        Just(Some(Show::Away)),
        Just(Some(Show::Xa)),
        Just(Some(Show::Dnd)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let contact = 0..3usize;
    let resource = prop::option::weighted(0.85, 0..3usize);
    prop_oneof![
        3 => (contact.clone(), resource.clone(), show(), -2i8..=2)
            .prop_map(|(c, r, s, p)| Op::Available(c, r, s, p)),
        1 => (contact.clone(), resource).prop_map(|(c, r)| Op::Unavailable(c, r)),
        1 => (contact.clone(), 0..3usize).prop_map(|(c, r)| Op::Request(c, r)),
        1 => contact.clone().prop_map(Op::Withdraw),
        1 => contact.prop_map(Op::Revoke),
    ]
}

fn address(contact: usize, resource: Option<usize>) -> String {
    match resource {
        Some(r) => format!("c{contact}@example.net/r{r}"),
        None => format!("c{contact}@example.net"),
    }
}

/// The model: contact -> resource (`None`: the bare JID) -> (show,
/// priority, when it was last updated).
type Model = HashMap<usize, HashMap<Option<usize>, (Option<Show>, i8, usize)>>;

fn rank(show: Option<Show>) -> u8 {
    match show {
        Some(Show::Chat) => 4,
        None => 3,
        Some(Show::Away) => 2,
        Some(Show::Xa) => 1,
        Some(Show::Dnd) => 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn per_contact_state_and_pending_requests_follow_a_model(ops in prop::collection::vec(op(), 0..40)) {
        let mut s = online();
        let mut model = Model::new();
        let mut pending = BTreeSet::new();
        // Who each availability event must be about, in order.
        let mut changes = Vec::new();
        for (when, op) in ops.iter().enumerate() {
            match *op {
                Op::Available(c, r, show, priority) => {
                    let show_xml = show.map(|s| format!("<show>{s}</show>")).unwrap_or_default();
                    s.server(&format!(
                        "<presence from='{}'>{show_xml}<priority>{priority}</priority></presence>",
                        address(c, r)
                    ));
                    model.entry(c).or_default().insert(r, (show, priority, when));
                    changes.push((address(c, r), true));
                }
                Op::Unavailable(c, r) => {
                    s.server(&format!("<presence from='{}' type='unavailable'/>", address(c, r)));
                    match r {
                        None => { model.remove(&c); }
                        Some(_) => {
                            if let Some(m) = model.get_mut(&c) {
                                m.remove(&r);
                                if m.is_empty() { model.remove(&c); }
                            }
                        }
                    }
                    changes.push((address(c, r), false));
                }
                Op::Request(c, r) => {
                    s.server(&format!("<presence from='{}' type='subscribe'/>", address(c, Some(r))));
                    pending.insert(address(c, None));
                }
                Op::Withdraw(c) => {
                    s.server(&format!("<presence from='{}' type='unsubscribe'/>", address(c, None)));
                    pending.remove(&address(c, None));
                }
                Op::Revoke(c) => {
                    s.server(&format!("<presence from='{}' type='unsubscribed'/>", address(c, None)));
                    if model.remove(&c).is_some() {
                        changes.push((address(c, None), false));
                    }
                }
            }
        }
        let got: Vec<(String, bool)> = s
            .events
            .iter()
            .filter_map(|e| match e {
                Event::PresenceUpdate(PresenceEvent::Changed { jid, available, .. }) => {
                    Some((jid.to_string(), *available))
                }
                _ => None,
            })
            .collect();
        prop_assert_eq!(got, changes);
        let m = module(&s);
        let got: BTreeSet<String> = m.pending_requests().map(|(j, _)| j.to_string()).collect();
        prop_assert_eq!(got, pending);
        prop_assert!(s.module_warnings().is_empty());
        prop_assert_eq!(m.contacts().count(), model.len());
        for c in 0..3 {
            let bare_jid = bare(&format!("c{c}@example.net"));
            let Some(expected) = model.get(&c) else {
                prop_assert!(m.contact(&bare_jid).is_none());
                continue;
            };
            let contact = m.contact(&bare_jid).expect("tracked");
            prop_assert_eq!(contact.len(), expected.len());
            for (r, (show, priority, _)) in expected {
                let got = contact.resource(r.map(|r| format!("r{r}")).as_deref());
                prop_assert_eq!(got, Some(&Availability { show: *show, status: None, priority: *priority }));
            }
            let (r, _) = expected
                .iter()
                .max_by_key(|(_, (show, priority, when))| (*priority, rank(*show), *when))
                .expect("not empty");
            let best = m.best_resource(&bare_jid).map(|(j, _)| j.to_string());
            prop_assert_eq!(best, Some(address(c, *r)));
        }
    }
}
