//! The module interface: a module sees the stanzas routed to it, consumes
//! what it handles, sends IQs whose answers come back to it (spoofing
//! checks included), and is reachable by type from the application.

#[path = "support/scram_server.rs"]
mod scram_server;
#[path = "support/session.rs"]
mod session;

use std::any::Any;

use session::{config, Session};
use xmpp_proto::stanza::{Iq, IqPayload, Stanza};
use xmpp_proto::xml::Element;
use xmpp_proto::{Event, Handled, IqFailure, Module, ModuleContext};

const NS: &str = "urn:example:counter";

#[derive(Default)]
struct Counter {
    seen: usize,
    answers: Vec<(String, bool)>,
    online_iq: Option<String>,
}

impl Module for Counter {
    fn name(&self) -> &'static str {
        "counter"
    }

    fn handle_stanza(&mut self, ctx: &mut ModuleContext<'_>, stanza: &Stanza) -> Handled {
        match stanza {
            Stanza::Message(m) if m.payloads.iter().any(|p| p.ns() == NS) => {
                self.seen += 1;
                Handled::Yes
            }
            Stanza::Iq(iq) if matches!(&iq.payload, IqPayload::Get(p) if p.ns() == NS) => {
                let count = Element::new(NS, "count").with_text(self.seen.to_string());
                ctx.send(Iq::result_with(iq, count));
                Handled::Yes
            }
            _ => Handled::No,
        }
    }

    fn handle_iq_response(
        &mut self,
        _ctx: &mut ModuleContext<'_>,
        id: &str,
        result: Result<Iq, IqFailure>,
    ) {
        self.answers.push((id.to_string(), result.is_ok()));
    }

    fn online(&mut self, ctx: &mut ModuleContext<'_>) {
        let iq = Iq::get(None, "", Element::new(NS, "hello"));
        self.online_iq = ctx.send_iq(iq).ok();
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

fn session_with_counter() -> (Session, String) {
    let mut s = Session::new(config().build());
    s.client.register(Counter::default());
    s.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    let mut scram = scram_server::ScramServer::new(scram_server::Hash::Sha1, session::PASSWORD);
    s.scram(&mut scram);
    s.bind("balcony");
    let sent = s.sent();
    assert!(
        sent.contains("<hello xmlns='urn:example:counter'/>"),
        "online() ran: {sent}"
    );
    let id = s
        .client
        .module::<Counter>()
        .and_then(|c| c.online_iq.clone())
        .expect("iq id");
    (s, id)
}

#[test]
fn modules_consume_their_stanzas_and_answer_requests() {
    let (mut s, _) = session_with_counter();
    s.server("<message from='romeo@example.net/o'><tick xmlns='urn:example:counter'/></message>");
    s.server("<message from='romeo@example.net/o'><body>plain</body></message>");
    assert_eq!(s.client.module::<Counter>().unwrap().seen, 1);
    let messages = s
        .events
        .iter()
        .filter(|e| matches!(e, Event::Message(_)))
        .count();
    assert_eq!(messages, 1, "the consumed message is not an event");
    s.server("<iq from='romeo@example.net/o' id='c1' type='get'><count xmlns='urn:example:counter'/></iq>");
    let reply = s.sent();
    assert!(
        reply.contains("type='result'")
            && reply.contains("<count xmlns='urn:example:counter'>1</count>"),
        "{reply}"
    );
    assert!(!reply.contains("service-unavailable"));
}

#[test]
fn module_iq_answers_go_to_the_module_after_the_spoofing_check() {
    let (mut s, id) = session_with_counter();
    s.server(&format!(
        "<iq from='mallory@evil.example' id='{id}' type='result'/>"
    ));
    assert!(s.client.module::<Counter>().unwrap().answers.is_empty());
    s.server(&format!("<iq id='{id}' type='result'/>"));
    assert_eq!(s.client.module::<Counter>().unwrap().answers, [(id, true)]);
    assert!(
        !s.events
            .iter()
            .any(|e| matches!(e, Event::IqResponse { .. })),
        "not the application's"
    );
    s.client.module_mut::<Counter>().unwrap().seen = 7;
    assert_eq!(s.client.module::<Counter>().unwrap().seen, 7);
}
