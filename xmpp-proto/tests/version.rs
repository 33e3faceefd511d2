//! The software-version module (XEP-0092) as transcripts: not answering
//! unless registered, the answer about us byte for byte, and queries of
//! other entities reported as typed events.

use xmpp_test_support::session;

use session::{config, Session};
use xmpp_proto::stanza::{DefinedCondition, Jid};
use xmpp_proto::version::{SoftwareInfo, Version, VersionEvent};
use xmpp_proto::{Event, IqFailure};

const QUERY: &str = "<iq from='romeo@example.net/orchard' to='juliet@example.com/balcony' id='v1' type='get'><query xmlns='jabber:iq:version'/></iq>";

fn online(version: Option<Version>) -> Session {
    Session::login_with(config().build(), "", |c| {
        if let Some(v) = version {
            c.register(v).expect("register");
        }
    })
}

fn versions(s: &mut Session) -> Vec<VersionEvent> {
    s.drain();
    s.events
        .drain(..)
        .filter_map(|e| match e {
            Event::Version(v) => Some(v),
            _ => None,
        })
        .collect()
}

fn disco_features(s: &mut Session) -> String {
    s.server("<iq from='romeo@example.net/orchard' id='d1' type='get'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    s.sent()
}

#[test]
fn without_the_module_nothing_is_revealed() {
    let mut s = online(None);
    s.server(QUERY);
    assert_eq!(
        s.sent(),
        "<iq to='romeo@example.net/orchard' id='v1' type='error'><error type='cancel'>\
         <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    );
    assert!(!disco_features(&mut s).contains("jabber:iq:version"));
}

#[test]
fn the_module_answers_with_name_and_version() {
    let mut s = online(Some(Version::new("xmpp-cli", "0.1.0")));
    s.server(QUERY);
    assert_eq!(
        s.sent(),
        "<iq to='romeo@example.net/orchard' id='v1' type='result'><query xmlns='jabber:iq:version'>\
         <name>xmpp-cli</name><version>0.1.0</version></query></iq>"
    );
    assert!(disco_features(&mut s).contains("<feature var='jabber:iq:version'/>"));
    // There is nothing to set.
    s.server("<iq from='romeo@example.net/orchard' id='v2' type='set'><query xmlns='jabber:iq:version'><name>x</name></query></iq>");
    let reply = s.sent();
    assert!(
        reply.contains("id='v2' type='error'") && reply.contains("<not-allowed"),
        "{reply}"
    );
}

#[test]
fn the_os_is_told_only_when_configured() {
    let mut s = online(Some(Version::new("xmpp-cli", "0.1.0").with_os("Linux")));
    s.server(QUERY);
    assert!(s
        .sent()
        .ends_with("<version>0.1.0</version><os>Linux</os></query></iq>"),);
}

#[test]
fn a_query_reports_the_answer_of_the_entity_asked() {
    let mut s = online(Some(Version::new("a", "1")));
    let romeo: Jid = "romeo@example.net/orchard".parse().expect("jid");
    let to = romeo.clone();
    let id = s
        .client
        .with_module(s.now, |v: &mut Version, cx| v.query(cx, to))
        .expect("registered")
        .expect("online");
    assert_eq!(
        s.sent(),
        format!(
            "<iq to='romeo@example.net/orchard' id='{id}' type='get'><query xmlns='jabber:iq:version'/></iq>"
        )
    );
    // Anyone else's answer is not romeo's.
    s.server(&format!(
        "<iq from='mallory@evil.example/x' id='{id}' type='result'><query xmlns='jabber:iq:version'><name>evil</name></query></iq>"
    ));
    assert!(versions(&mut s).is_empty());
    s.server(&format!(
        "<iq from='romeo@example.net/orchard' id='{id}' type='result'><query xmlns='jabber:iq:version'>\
         <name>Exodus</name><version>0.7.0.4</version><os>Windows-XP 5.01.2600</os></query></iq>"
    ));
    assert_eq!(
        versions(&mut s),
        [VersionEvent {
            id,
            jid: romeo.clone(),
            result: Ok(SoftwareInfo {
                name: Some("Exodus".into()),
                version: Some("0.7.0.4".into()),
                os: Some("Windows-XP 5.01.2600".into()),
            }),
        }]
    );
    // An answer that leaves fields out, and one that is an error.
    for (answer, expected) in [
        (
            "type='result'><query xmlns='jabber:iq:version'><name>Bare</name></query></iq>",
            Ok(SoftwareInfo {
                name: Some("Bare".into()),
                ..SoftwareInfo::default()
            }),
        ),
        (
            "type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
            Err(DefinedCondition::ServiceUnavailable),
        ),
    ] {
        let to = romeo.clone();
        let id = s
            .client
            .with_module(s.now, |v: &mut Version, cx| v.query(cx, to))
            .expect("registered")
            .expect("online");
        s.sent();
        s.server(&format!(
            "<iq from='romeo@example.net/orchard' id='{id}' {answer}"
        ));
        let events = versions(&mut s);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].id, id);
        match (&events[0].result, expected) {
            (Ok(got), Ok(want)) => assert_eq!(*got, want),
            (Err(IqFailure::Error(e)), Err(want)) => assert_eq!(e.condition, want),
            (got, want) => panic!("{got:?} vs {want:?}"),
        }
    }
}
