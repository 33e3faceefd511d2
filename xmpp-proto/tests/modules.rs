//! The extension interface, hook by hook: observe and consume, IQ requests
//! routed by payload with one owner, IQ answers after the spoofing check,
//! outgoing annotation of every stanza, nonzas, timers, online/offline,
//! disco#info from the registered modules, commands run with a context,
//! extension events, and stanzas routed again.

use xmpp_test_support::session;

use std::time::{Duration, Instant};

use session::{config, Session};
use xmpp_proto::stanza::{Iq, Message, Stanza};
use xmpp_proto::xml::Element;
use xmpp_proto::{
    Carbon, Event, Handled, IqAnswer, IqFailure, Module, ModuleContext, ModuleError, Provenance,
    RegisterError, StreamFeatures,
};

const NS: &str = "urn:example:counter";
const NS_FWD: &str = "urn:example:forward";

/// Counts its messages, answers `<count/>` requests, asks `<hello/>` when
/// online, stamps every outgoing stanza, and keeps a timer.
#[derive(Default)]
struct Counter {
    seen: usize,
    observed: usize,
    answers: Vec<(String, bool)>,
    online_iq: Option<String>,
    features_seen: Option<bool>,
    online: Vec<bool>,
    offline: Vec<bool>,
    deadline: Option<Instant>,
    fired: usize,
    nonzas: usize,
}

impl Module for Counter {
    fn name(&self) -> &'static str {
        "counter"
    }

    fn features(&self) -> &[&'static str] {
        &[NS]
    }

    fn iq_requests(&self) -> &[(&'static str, &'static str)] {
        &[(NS, "count")]
    }

    fn stream_features(&mut self, features: &StreamFeatures) {
        self.features_seen = Some(features.has("urn:example:feature", "x"));
    }

    fn online(&mut self, ctx: &mut ModuleContext<'_>, resumed: bool) {
        self.online.push(resumed);
        let iq = Iq::get(None, "", Element::new(NS, "hello"));
        self.online_iq = ctx.send_iq(iq).ok();
        self.deadline = Some(ctx.now() + Duration::from_secs(30));
    }

    fn offline(&mut self, resumable: bool) {
        self.offline.push(resumable);
    }

    fn observe_stanza(&mut self, _ctx: &mut ModuleContext<'_>, _stanza: &Stanza) {
        self.observed += 1;
    }

    fn handle_stanza(&mut self, _ctx: &mut ModuleContext<'_>, stanza: &Stanza) -> Handled {
        match stanza {
            Stanza::Message(m) if m.payloads.iter().any(|p| p.ns() == NS) => {
                self.seen += 1;
                Handled::Yes
            }
            _ => Handled::No,
        }
    }

    fn handle_iq_request(&mut self, _ctx: &mut ModuleContext<'_>, _iq: &Iq) -> IqAnswer {
        IqAnswer::Result(Some(
            Element::new(NS, "count").with_text(self.seen.to_string()),
        ))
    }

    fn handle_iq_response(
        &mut self,
        _ctx: &mut ModuleContext<'_>,
        id: &str,
        result: Result<Iq, IqFailure>,
    ) {
        self.answers.push((id.to_string(), result.is_ok()));
    }

    fn on_outgoing(&mut self, stanza: &mut Stanza) {
        if let Stanza::Message(m) = stanza {
            m.payloads.push(Element::new(NS, "stamp"));
        }
    }

    fn handle_nonza(&mut self, _ctx: &mut ModuleContext<'_>, element: &Element) -> Handled {
        if element.ns() == NS {
            self.nonzas += 1;
            Handled::Yes
        } else {
            Handled::No
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    fn handle_timeout(&mut self, ctx: &mut ModuleContext<'_>, _now: Instant) {
        self.fired += 1;
        self.deadline = None;
        let to: xmpp_proto::stanza::Jid = "romeo@example.net".parse().expect("jid");
        let _ = ctx.send(Message::chat(to, "timer"));
    }
}

impl Counter {
    /// A command: sends `<hello/>` and returns the id to correlate.
    fn ask(&mut self, ctx: &mut ModuleContext<'_>) -> Result<String, xmpp_proto::SendError> {
        let to = "romeo@example.net/o".parse().expect("jid");
        ctx.send_iq(Iq::get(Some(to), "", Element::new(NS, "hello")))
    }
}

/// Sees presences (as caps would) after another module consumed them, and
/// unwraps `<forward/>` messages into the message they carry.
#[derive(Default)]
struct Watcher {
    presences: usize,
}

impl Module for Watcher {
    fn name(&self) -> &'static str {
        "watcher"
    }

    fn observe_stanza(&mut self, _ctx: &mut ModuleContext<'_>, stanza: &Stanza) {
        if matches!(stanza, Stanza::Presence(_)) {
            self.presences += 1;
        }
    }

    fn handle_stanza(&mut self, ctx: &mut ModuleContext<'_>, stanza: &Stanza) -> Handled {
        let Stanza::Message(m) = stanza else {
            return Handled::No;
        };
        let Some(inner) = m
            .payloads
            .iter()
            .find(|p| p.is(NS_FWD, "forward"))
            .and_then(|f| f.children().next())
        else {
            return Handled::No;
        };
        match Stanza::parse(inner.clone()) {
            Ok(inner) => ctx.dispatch(inner, Provenance::Carbon(Carbon::Received)),
            Err(e) => ctx.warn(format!("bad forwarded stanza: {e}")),
        }
        ctx.emit_extension(Forwarded(ctx.is_redispatched()));
        Handled::Yes
    }
}

/// The extension event of `Watcher`.
#[derive(Debug, PartialEq)]
struct Forwarded(bool);

/// Consumes every presence.
struct PresenceSink;

impl Module for PresenceSink {
    fn name(&self) -> &'static str {
        "presence-sink"
    }

    fn features(&self) -> &[&'static str] {
        &["urn:example:presence"]
    }

    fn handle_stanza(&mut self, _ctx: &mut ModuleContext<'_>, stanza: &Stanza) -> Handled {
        if matches!(stanza, Stanza::Presence(_)) {
            Handled::Yes
        } else {
            Handled::No
        }
    }
}

fn session() -> (Session, String) {
    let mut s = Session::login_with(config().build(), "<x xmlns='urn:example:feature'/>", |c| {
        c.register(PresenceSink).expect("register");
        c.register(Counter::default()).expect("register");
        c.register(Watcher::default()).expect("register");
    });
    let sent = s.sent();
    assert!(
        sent.contains("<hello xmlns='urn:example:counter'/>"),
        "online() ran and sent: {sent}"
    );
    let counter = s.client.module::<Counter>().expect("registered");
    assert_eq!(counter.online, [false]);
    assert_eq!(counter.features_seen, Some(true), "stream features seen");
    let id = counter.online_iq.clone().expect("iq id");
    (s, id)
}

fn counter(s: &Session) -> &Counter {
    s.client.module::<Counter>().expect("registered")
}

#[test]
fn modules_consume_their_stanzas_and_every_module_observes_every_stanza() {
    let (mut s, _) = session();
    s.server("<message from='romeo@example.net/o'><tick xmlns='urn:example:counter'/></message>");
    s.server("<message from='romeo@example.net/o'><body>plain</body></message>");
    s.server("<presence from='romeo@example.net/o'/>");
    assert_eq!(counter(&s).seen, 1);
    assert_eq!(counter(&s).observed, 3);
    // The presence was consumed by the first module, yet observed by the last.
    assert_eq!(
        s.client.module::<Watcher>().expect("registered").presences,
        1
    );
    let messages = s
        .events
        .iter()
        .filter(|e| matches!(e, Event::Message(_)))
        .count();
    assert_eq!(messages, 1, "the consumed message is not an event");
    assert!(!s.events.iter().any(|e| matches!(e, Event::Presence(_))));
}

#[test]
fn iq_requests_go_to_their_one_owner_whose_answer_the_core_sends() {
    let (mut s, _) = session();
    s.server("<message from='romeo@example.net/o'><tick xmlns='urn:example:counter'/></message>");
    s.server("<iq from='romeo@example.net/o' id='c1' type='get'><count xmlns='urn:example:counter'/></iq>");
    let reply = s.sent();
    assert!(
        reply.contains("type='result'")
            && reply.contains("id='c1'")
            && reply.contains("<count xmlns='urn:example:counter'>1</count>"),
        "{reply}"
    );
    // Not owned: service-unavailable, exactly once.
    s.server("<iq from='romeo@example.net/o' id='c2' type='get'><other xmlns='urn:example:counter'/></iq>");
    let reply = s.sent();
    assert_eq!(reply.matches("service-unavailable").count(), 1, "{reply}");
}

#[test]
fn two_owners_of_one_request_are_refused_at_registration() {
    let mut s = Session::new(config().build());
    s.client.register(Counter::default()).expect("first");
    assert_eq!(
        s.client.register(Counter::default()),
        Err(RegisterError::Duplicate(std::any::type_name::<Counter>()))
    );
    struct Rival([(&'static str, &'static str); 1]);
    impl Module for Rival {
        fn name(&self) -> &'static str {
            "rival"
        }
        fn iq_requests(&self) -> &[(&'static str, &'static str)] {
            &self.0
        }
    }
    let err = s
        .client
        .register(Rival([(NS, "count")]))
        .expect_err("taken");
    assert!(
        matches!(
            err,
            RegisterError::IqConflict {
                owner: "counter",
                ..
            }
        ),
        "{err}"
    );
    let err = s
        .client
        .register(Rival([("http://jabber.org/protocol/disco#info", "query")]))
        .expect_err("the core's");
    assert!(
        matches!(
            err,
            RegisterError::IqConflict {
                owner: "the core",
                ..
            }
        ),
        "{err}"
    );
    // Pings belong to the ping module every session starts with.
    let err = s
        .client
        .register(Rival([("urn:xmpp:ping", "ping")]))
        .expect_err("the ping module's");
    assert!(
        matches!(err, RegisterError::IqConflict { owner: "ping", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("register only one"));
}

#[test]
fn iq_answers_go_to_the_module_after_the_spoofing_check() {
    let (mut s, id) = session();
    s.server(&format!(
        "<iq from='mallory@evil.example' id='{id}' type='result'/>"
    ));
    assert!(counter(&s).answers.is_empty());
    assert!(s.events.iter().any(|e| matches!(e, Event::Warning(_))));
    s.server(&format!("<iq id='{id}' type='result'/>"));
    assert_eq!(counter(&s).answers, [(id, true)]);
    assert!(
        !s.events
            .iter()
            .any(|e| matches!(e, Event::IqResponse { .. })),
        "not the application's"
    );
}

#[test]
fn commands_run_with_a_context_and_their_answers_are_correlated() {
    let (mut s, _) = session();
    let now = s.now;
    let id = s
        .client
        .with_module(now, |c: &mut Counter, cx| c.ask(cx))
        .expect("registered")
        .expect("online");
    let sent = s.sent();
    assert!(sent.contains(&format!("id='{id}'")), "{sent}");
    s.server(&format!(
        "<iq from='romeo@example.net/o' id='{id}' type='error'><error type='cancel'>\
         <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    assert_eq!(counter(&s).answers.last(), Some(&(id, false)));
    // A module that is not registered.
    struct Absent;
    impl Module for Absent {
        fn name(&self) -> &'static str {
            "absent"
        }
    }
    let err = s.client.with_module(now, |_: &mut Absent, _| ());
    assert!(matches!(err, Err(ModuleError::NotRegistered(_))));
}

#[test]
fn every_outgoing_stanza_passes_the_outgoing_hooks() {
    let (mut s, _) = session();
    let to: xmpp_proto::stanza::Jid = "romeo@example.net".parse().expect("jid");
    s.client
        .send(s.now, Message::chat(to, "hello"))
        .expect("online");
    let sent = s.sent();
    assert!(
        sent.contains("<stamp xmlns='urn:example:counter'/>"),
        "{sent}"
    );
    // Sent by a module from a timer: stamped as well.
    s.advance(Duration::from_secs(31));
    assert_eq!(counter(&s).fired, 1);
    let sent = s.sent();
    assert!(
        sent.contains("timer") && sent.contains("<stamp xmlns='urn:example:counter'/>"),
        "{sent}"
    );
}

#[test]
fn module_deadlines_join_the_sessions() {
    let (mut s, _) = session();
    s.drain();
    let deadline = s.deadline.expect("a deadline");
    assert!(deadline <= s.now + Duration::from_secs(30), "{deadline:?}");
}

#[test]
fn nonzas_are_offered_to_modules_then_to_the_application() {
    let (mut s, _) = session();
    s.server("<r xmlns='urn:example:counter'/>");
    s.server("<r xmlns='urn:example:other'/>");
    assert_eq!(counter(&s).nonzas, 1);
    let nonzas = s
        .events
        .iter()
        .filter(|e| matches!(e, Event::Nonza(_)))
        .count();
    assert_eq!(nonzas, 1);
}

#[test]
fn disco_info_lists_exactly_the_core_and_module_features() {
    let (mut s, _) = session();
    s.server("<iq from='romeo@example.net/o' id='d1' type='get'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    let reply = s.sent();
    let features: Vec<&str> = reply
        .split("<feature var='")
        .skip(1)
        .filter_map(|f| f.split('\'').next())
        .collect();
    assert_eq!(
        features,
        [
            "http://jabber.org/protocol/disco#info",
            "http://jabber.org/protocol/disco#items",
            "urn:example:counter",
            "urn:example:presence",
            "urn:xmpp:ping",
        ]
    );
    assert!(
        reply.contains("<identity category='client' type='pc'/>"),
        "{reply}"
    );
    // A node we do not publish.
    s.server("<iq from='romeo@example.net/o' id='d2' type='get'><query xmlns='http://jabber.org/protocol/disco#info' node='x'/></iq>");
    assert!(s.sent().contains("item-not-found"));
}

#[test]
fn forwarded_stanzas_are_routed_again_once() {
    let (mut s, _) = session();
    s.server(
        "<message from='juliet@example.com'><forward xmlns='urn:example:forward'>\
         <message xmlns='jabber:client' from='romeo@example.net/o'><body>inner</body></message>\
         </forward></message>",
    );
    let bodies: Vec<_> = s
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => m.body.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(bodies, ["inner"], "the forwarded message became an event");
    assert_eq!(counter(&s).observed, 2, "observed live and forwarded");
    let forwarded: Vec<_> = s
        .events
        .drain(..)
        .filter_map(|e| match e {
            Event::Extension(x) => x.downcast::<Forwarded>().ok(),
            _ => None,
        })
        .collect();
    assert_eq!(forwarded, [Forwarded(false)]);
    // A forward inside a forward is not routed a second time.
    s.server(
        "<message from='juliet@example.com'><forward xmlns='urn:example:forward'>\
         <message xmlns='jabber:client' from='juliet@example.com'><forward xmlns='urn:example:forward'>\
         <message xmlns='jabber:client'><body>deep</body></message></forward></message>\
         </forward></message>",
    );
    assert!(!s
        .events
        .iter()
        .any(|e| matches!(e, Event::Message(m) if m.body.as_deref() == Some("deep"))));
    assert!(s
        .events
        .iter()
        .any(|e| matches!(e, Event::Warning(w) if w.message.contains("second time"))));
}

#[test]
fn modules_go_offline_with_the_session_and_their_iqs_fail() {
    let (mut s, id) = session();
    s.client
        .handle_input(xmpp_proto::Input::TransportClosed(s.now));
    s.drain();
    assert_eq!(counter(&s).offline, [false]);
    assert_eq!(
        counter(&s).answers,
        [(id, false)],
        "the IQ in flight failed with Disconnected"
    );
}

/// Records its name on a shared log for every message offered to it, and
/// takes those whose body is its name. (`N` makes each a type of its own:
/// a session registers one module per type.)
struct Taker<const N: u8> {
    name: &'static str,
    priority: i32,
    log: std::sync::Arc<std::sync::Mutex<Vec<&'static str>>>,
}

impl<const N: u8> Module for Taker<N> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn routing_priority(&self) -> i32 {
        self.priority
    }

    fn handle_stanza(&mut self, _ctx: &mut ModuleContext<'_>, stanza: &Stanza) -> Handled {
        let Stanza::Message(m) = stanza else {
            return Handled::No;
        };
        let wanted = m.body.as_deref() == Some(self.name);
        self.log.lock().expect("log").push(self.name);
        if wanted {
            Handled::Yes
        } else {
            Handled::No
        }
    }
}

#[test]
fn a_higher_routing_priority_is_offered_messages_first_whatever_the_registration_order() {
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let l = || log.clone();
    // Registered last, offered first; equals keep their registration order.
    let mut s = Session::login_with(config().build(), "", |c| {
        let (a, b, low, high, cc) = (
            Taker::<1> {
                name: "a",
                priority: 0,
                log: l(),
            },
            Taker::<2> {
                name: "b",
                priority: 0,
                log: l(),
            },
            Taker::<3> {
                name: "low",
                priority: -1,
                log: l(),
            },
            Taker::<4> {
                name: "high",
                priority: 10,
                log: l(),
            },
            Taker::<5> {
                name: "c",
                priority: 0,
                log: l(),
            },
        );
        c.register(a).expect("register");
        c.register(b).expect("register");
        c.register(low).expect("register");
        c.register(high).expect("register");
        c.register(cc).expect("register");
    });
    s.server("<message from='romeo@example.net/o'><body>none</body></message>");
    assert_eq!(
        std::mem::take(&mut *log.lock().expect("log")),
        ["high", "a", "b", "c", "low"]
    );
    // The first that consumes it ends the offer.
    s.server("<message from='romeo@example.net/o'><body>high</body></message>");
    assert_eq!(std::mem::take(&mut *log.lock().expect("log")), ["high"]);
    s.server("<message from='romeo@example.net/o'><body>b</body></message>");
    assert_eq!(
        std::mem::take(&mut *log.lock().expect("log")),
        ["high", "a", "b"]
    );
    let bodies: Vec<_> = s
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => m.body.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(bodies, ["none"], "only the message nobody took is an event");
}
