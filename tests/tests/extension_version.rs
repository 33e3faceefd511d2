//! The extension interface is public: XEP-0092 (software version) written
//! outside `xmpp-proto`, with nothing but its public API, answers the
//! server's query, is listed in our disco#info, queries others, and reports
//! their answer as its own event type through `Event::Extension`.
//!
//! The core has a built-in module for the same XEP
//! (`xmpp_proto::version::Version`, with `Event::Version`); this one stays
//! as the test of the public interface, under names of its own
//! (`SoftwareVersion`, `VersionReply`, module `software-version`). Both on
//! one session would answer the same requests: that is refused.

use std::time::Instant;

use xmpp_proto::sasl::Credentials;
use xmpp_proto::stanza::{DefinedCondition, ErrorType, Iq, IqPayload, Jid};
use xmpp_proto::testing::{pump, ScriptedServer};
use xmpp_proto::xml::Element;
use xmpp_proto::{
    Client, Config, Event, Input, IqAnswer, IqFailure, Mechanism, Module, ModuleContext, Output,
    SendError,
};

const NS_VERSION: &str = "jabber:iq:version";

/// XEP-0092: who we are, and the answers to our own queries.
struct SoftwareVersion {
    name: &'static str,
    version: &'static str,
}

/// What the extension reports.
#[derive(Debug, PartialEq)]
enum VersionReply {
    /// Another entity's answer to `query`.
    Answer {
        id: String,
        name: Option<String>,
        version: Option<String>,
    },
    /// No answer.
    Failed { id: String },
}

impl SoftwareVersion {
    /// Asks `to` for its software version; the answer comes back as a
    /// `VersionReply` with this id.
    fn query(&mut self, cx: &mut ModuleContext<'_>, to: Jid) -> Result<String, SendError> {
        cx.send_iq(Iq::get(Some(to), "", Element::new(NS_VERSION, "query")))
    }
}

impl Module for SoftwareVersion {
    fn name(&self) -> &'static str {
        "software-version"
    }

    fn features(&self) -> &[&'static str] {
        &[NS_VERSION]
    }

    fn iq_requests(&self) -> &[(&'static str, &'static str)] {
        &[(NS_VERSION, "query")]
    }

    fn handle_iq_request(&mut self, _cx: &mut ModuleContext<'_>, iq: &Iq) -> IqAnswer {
        if !matches!(iq.payload, IqPayload::Get(_)) {
            return IqAnswer::error(ErrorType::Cancel, DefinedCondition::NotAllowed);
        }
        IqAnswer::Result(Some(
            Element::new(NS_VERSION, "query")
                .with_child(Element::new(NS_VERSION, "name").with_text(self.name))
                .with_child(Element::new(NS_VERSION, "version").with_text(self.version)),
        ))
    }

    fn handle_iq_response(
        &mut self,
        cx: &mut ModuleContext<'_>,
        id: &str,
        result: Result<Iq, IqFailure>,
    ) {
        let id = id.to_string();
        let event = match result {
            Ok(iq) => {
                let query = iq.payload_element();
                let text = |name| {
                    query
                        .and_then(|q| q.child_text(NS_VERSION, name))
                        .map(|t| t.to_string())
                };
                VersionReply::Answer {
                    id,
                    name: text("name"),
                    version: text("version"),
                }
            }
            Err(_) => VersionReply::Failed { id },
        };
        cx.emit_extension(event);
    }
}

/// Feeds `xml` as the server's bytes; returns what the client wrote and its events.
fn server_says(client: &mut Client, now: Instant, xml: &str) -> (String, Vec<Event>) {
    client.handle_input(Input::Received(now, xml.as_bytes()));
    let (mut sent, mut events) = (String::new(), Vec::new());
    loop {
        match client.poll_output() {
            Output::Transmit(t) => sent.push_str(&String::from_utf8_lossy(&t.bytes)),
            Output::Event(e) => events.push(e),
            Output::StartTls { .. } | Output::CloseTransport | Output::Connect => {}
            Output::Timeout(_) => return (sent, events),
        }
    }
}

#[test]
fn a_third_party_extension_plugs_in_through_the_public_api() {
    let now = Instant::now();
    let config = Config::builder(
        "juliet@example.com".parse().expect("jid"),
        Credentials::Password("secret".into()),
        [9; 32],
    )
    .mechanisms(&[Mechanism::Plain])
    .build();
    let mut client = Client::new(config, now);
    client
        .register(SoftwareVersion {
            name: "xmpp-proto-tests",
            version: "1.0",
        })
        .expect("register");
    let mut server = ScriptedServer::login_plain("example.com", "juliet", "balcony");
    let events = pump(&mut client, &mut server, now);
    assert!(events.iter().any(|e| matches!(e, Event::Online { .. })));

    // The server asks us.
    let (sent, _) = server_says(
        &mut client,
        now,
        "<iq type='get' id='v1' from='example.com'><query xmlns='jabber:iq:version'/></iq>",
    );
    assert!(
        sent.contains("id='v1'")
            && sent.contains("type='result'")
            && sent.contains("<name>xmpp-proto-tests</name><version>1.0</version>"),
        "{sent}"
    );
    // Our disco#info lists it.
    let (sent, _) = server_says(
        &mut client,
        now,
        "<iq type='get' id='d1' from='example.com'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
    );
    assert!(
        sent.contains("<feature var='jabber:iq:version'/>"),
        "{sent}"
    );

    // We ask the server, with the same call shape the adapters run.
    let id = client
        .with_module(now, |v: &mut SoftwareVersion, cx| {
            v.query(cx, "example.com".parse().expect("jid"))
        })
        .expect("registered")
        .expect("online");
    let (_, events) = server_says(
        &mut client,
        now,
        &format!(
            "<iq type='result' id='{id}' from='example.com'><query xmlns='jabber:iq:version'>\
             <name>Prosody</name><version>0.12.3</version></query></iq>"
        ),
    );
    let answers: Vec<VersionReply> = events
        .into_iter()
        .filter_map(|e| match e {
            Event::Extension(x) => x.downcast::<VersionReply>().ok(),
            _ => None,
        })
        .collect();
    assert_eq!(
        answers,
        [VersionReply::Answer {
            id,
            name: Some("Prosody".into()),
            version: Some("0.12.3".into()),
        }]
    );

    // The built-in module answers the same requests: one owner only.
    let err = client
        .register(xmpp_proto::version::Version::new("built-in", "1"))
        .expect_err("the requests are this extension's");
    assert!(
        matches!(
            err,
            xmpp_proto::RegisterError::IqConflict {
                owner: "software-version",
                ..
            }
        ),
        "{err}"
    );
}
