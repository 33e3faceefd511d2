//! The archive's preferences and query form (XEP-0313 §6, §4.1.4) against
//! the real server, through the library (the CLI has no command for them):
//! read, changed, read back as changed, restored; the form lists the
//! filters Prosody supports.

use std::time::Duration;

use xmpp_io_tokio::{connect, ConnectOptions, Event, Events, Handle};
use xmpp_proto::mam::{DefaultPolicy, Mam, MamEvent, Prefs};

use super::cli::Server;

fn options(s: &Server) -> ConnectOptions {
    let jid = format!("bob@{}", s.domain).parse().expect("jid");
    ConnectOptions::new(jid, "bob-pass")
        .server(s.host.clone(), s.c2s_port.parse().expect("port"))
        .ca_file(s.ca.clone())
        .on_client(|client| client.register(Mam::new()).expect("register"))
}

async fn mam_event(events: &mut Events) -> MamEvent {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("an archive event within 10 s")
            .expect("the session goes on");
        if let Event::Core(xmpp_proto::Event::Mam(e)) = event {
            return e;
        }
    }
}

async fn prefs(handle: &Handle, events: &mut Events, set: Option<Prefs>) -> Prefs {
    handle
        .with(move |c, now| {
            c.with_module(now, |m: &mut Mam, cx| match &set {
                Some(p) => m.set_prefs(cx, p),
                None => m.get_prefs(cx),
            })
        })
        .await
        .expect("online")
        .expect("registered")
        .expect("sent");
    match mam_event(events).await {
        MamEvent::Prefs { result, .. } => result.expect("the server's preferences"),
        other => panic!("{other:?}"),
    }
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn preferences_are_read_changed_and_restored_and_the_form_lists_the_filters() {
    let s = Server::from_env();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (handle, mut events) = connect(options(&s)).await.expect("online");
        let before = prefs(&handle, &mut events, None).await;
        let carol = format!("carol@{}", s.domain).parse().expect("jid");
        let mut wanted = Prefs::new(DefaultPolicy::Roster);
        wanted.never = vec![carol];
        let now = prefs(&handle, &mut events, Some(wanted.clone())).await;
        assert_eq!(now.default, DefaultPolicy::Roster);
        assert_eq!(now.never, wanted.never);
        assert_eq!(prefs(&handle, &mut events, None).await, now, "read back");
        let restored = prefs(&handle, &mut events, Some(before.clone())).await;
        assert_eq!(restored.default, before.default);

        handle
            .with(|c, now| c.with_module(now, |m: &mut Mam, cx| m.query_fields(cx, None)))
            .await
            .expect("online")
            .expect("registered")
            .expect("sent");
        match mam_event(&mut events).await {
            MamEvent::Fields { result, .. } => {
                let form = result.expect("the query form");
                for var in ["with", "start", "end"] {
                    assert!(form.field(var).is_some(), "{var} in {form:?}");
                }
            }
            other => panic!("{other:?}"),
        }
        handle.close().await;
    });
}
