//! Two clients talk through a real server: alice logs in over STARTTLS, bob
//! over direct TLS (XEP-0368); alice sends bob a few messages asking for
//! delivery receipts (XEP-0184), bob's client answers each receipt by
//! itself and bob answers each message; alice's second client, her phone,
//! sees both directions as carbon copies (XEP-0280). Then alice creates a
//! room (XEP-0045), bob joins, they talk there, and alice destroys it;
//! alice edits her vCard (XEP-0054) and bob reads it; alice's phone reads
//! the conversation back from her message archive (XEP-0313). Last, bob's
//! connection (through a small local proxy) is cut under him while alice
//! writes to him: his client resumes the stream (XEP-0198) and both
//! messages arrive, once each. Everyone prints what they received
//! and closes cleanly.
//!
//! Run it with `scripts/demo`, which starts the private Prosody of
//! `scripts/prosody` (accounts alice/alice-pass and bob/bob-pass) and sets
//! `PROSODY_HOST`, `PROSODY_C2S_PORT`, `PROSODY_TLS_PORT`, `PROSODY_CA` and
//! `PROSODY_DOMAIN` for it.

use std::process::ExitCode;
use std::time::Duration;

use xmpp_io_tokio::{connect, ConnectOptions, Event, Events, Handle, ReconnectPolicy, TlsMode};
use xmpp_proto::mam::{Mam, MamEvent, Page, Query};
use xmpp_proto::messages::{Carbons, CarbonsEvent, ChatMessage, Messages};
use xmpp_proto::muc::{Join, Muc, MucEvent, StatusCode};
use xmpp_proto::stanza::MessageType;
use xmpp_proto::stanza::{BareJid, Jid, Message, Presence};
use xmpp_proto::vcard::{Email, VCardEvent, VCards};
use xmpp_test_support::proxy::Proxy;

const ROUNDS: usize = 3;

struct Server {
    host: String,
    c2s_port: u16,
    tls_port: u16,
    ca: String,
    domain: String,
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set: run this through scripts/demo"))
}

fn server() -> Result<Server, String> {
    let port = |name: &str| -> Result<u16, String> {
        env(name)?
            .parse()
            .map_err(|_| format!("{name} is not a port"))
    };
    Ok(Server {
        host: env("PROSODY_HOST")?,
        c2s_port: port("PROSODY_C2S_PORT")?,
        tls_port: port("PROSODY_TLS_PORT")?,
        ca: env("PROSODY_CA")?,
        domain: env("PROSODY_DOMAIN")?,
    })
}

async fn login(
    s: &Server,
    user: &str,
    password: &str,
    resource: &str,
    direct_tls: bool,
    via: Option<&Proxy>,
) -> Result<(Handle, Events), String> {
    let jid = format!("{user}@{}", s.domain)
        .parse()
        .map_err(|e| format!("{e}"))?;
    let (port, mode) = if direct_tls {
        (s.tls_port, TlsMode::DirectTls)
    } else {
        (s.c2s_port, TlsMode::StartTls)
    };
    let (host, port) = match via {
        Some(proxy) => ("127.0.0.1".to_string(), proxy.port()),
        None => (s.host.clone(), port),
    };
    let options = ConnectOptions::new(jid, password)
        .server(host, port)
        .reconnect(ReconnectPolicy::new())
        .tls_mode(mode)
        .ca_file(&s.ca)
        .resource(resource)
        .timeout(Duration::from_secs(15))
        .on_client(|client| {
            // Every message decoded (receipts answered), carbons enabled.
            let _ = client.register(VCards::new());
            let _ = client.register(Muc::new());
            let _ = client.register(Mam::new());
            let _ = client.register(Carbons::new());
            let _ = client.register(Messages::new());
        });
    let (handle, mut events) = connect(options).await.map_err(|e| format!("{user}: {e}"))?;
    // Online is the last event of the login (a SCRAM login reports its
    // salted keys before it).
    while let Some(event) = events.try_next() {
        let Event::Core(xmpp_proto::Event::Online { jid, mechanism, .. }) = event else {
            continue;
        };
        let info = handle.connection_info().await.map_err(|e| e.to_string())?;
        println!(
            "{jid} online: {} over {}, SASL {}, TCP_NODELAY {}",
            if direct_tls { "direct TLS" } else { "STARTTLS" },
            info.tls_version.as_deref().unwrap_or("no TLS"),
            mechanism.name(),
            info.nodelay,
        );
    }
    // The carbons enabled at login (answered before anything sent later).
    loop {
        match next_event(user, &mut events).await? {
            xmpp_proto::Event::Carbons(CarbonsEvent::Enabled) => break,
            xmpp_proto::Event::Carbons(other) => return Err(format!("{user}: carbons: {other:?}")),
            _ => {}
        }
    }
    // Available, so that messages to the bare JID reach this resource.
    handle
        .send(Presence::available())
        .await
        .map_err(|e| e.to_string())?;
    Ok((handle, events))
}

/// The next event of the core, skipping the adapter's.
async fn next_event(who: &str, events: &mut Events) -> Result<xmpp_proto::Event, String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), events.next()).await {
            Err(_) => return Err(format!("{who}: nothing within 10 s")),
            Ok(None) => return Err(format!("{who}: the session ended")),
            Ok(Some(Event::Core(e))) => return Ok(e),
            Ok(Some(Event::Disconnected { reason })) => {
                return Err(format!("{who}: disconnected: {reason:?}"))
            }
            Ok(Some(_)) => {}
        }
    }
}

/// The next message matching `want`, skipping other events.
async fn next_message(
    who: &str,
    events: &mut Events,
    want: impl Fn(&ChatMessage) -> bool,
) -> Result<ChatMessage, String> {
    loop {
        if let xmpp_proto::Event::ChatMessage(m) = next_event(who, events).await? {
            if want(&m) {
                return Ok(m);
            }
        }
    }
}

/// `who` says `line` in `room`; `other` hears it (live, not history).
async fn say(
    handle: &Handle,
    who: &str,
    room: &BareJid,
    line: &'static str,
    other: &str,
    other_events: &mut Events,
) -> Result<(), String> {
    let r = room.clone();
    handle
        .with(move |c, now| c.with_module(now, |m: &mut Muc, cx| m.send_message(cx, &r, line)))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("{who}: {e}"))?;
    let m = next_message(other, other_events, |m| {
        m.message.type_ == MessageType::Groupchat && m.message.body.as_deref() == Some(line)
    })
    .await?;
    println!("{other} heard in {room}: {}: {}", from(&m), body(&m));
    Ok(())
}

/// Joins `room` as `nick` and waits until in; a room this join created is
/// given its default configuration (XEP-0045 §10.1.2, status 201).
async fn join(
    handle: &Handle,
    events: &mut Events,
    who: &str,
    room: &BareJid,
    nick: &'static str,
) -> Result<(), String> {
    let r = room.clone();
    handle
        .with(move |c, now| c.with_module(now, |m: &mut Muc, cx| m.join(cx, Join::new(r, nick))))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("{who}: {e}"))?;
    loop {
        match next_event(who, events).await? {
            xmpp_proto::Event::Muc(MucEvent::Joined {
                room: joined,
                occupants,
                codes,
                ..
            }) if joined == *room => {
                let names: Vec<&str> = occupants.iter().map(|o| o.nick.as_str()).collect();
                println!(
                    "{who} joined {room} as {nick}; present: {}",
                    names.join(", ")
                );
                if codes.contains(&StatusCode::Created) {
                    let r = room.clone();
                    let id = handle
                        .with(move |c, now| {
                            c.with_module(now, |m: &mut Muc, cx| m.accept_default_config(cx, &r))
                        })
                        .await
                        .map_err(|e| e.to_string())?
                        .map_err(|e| e.to_string())?
                        .map_err(|e| format!("{who}: {e}"))?;
                    loop {
                        if let xmpp_proto::Event::Muc(MucEvent::Done {
                            id: done, result, ..
                        }) = next_event(who, events).await?
                        {
                            if done == id {
                                result.map_err(|e| format!("{who} configuring {room}: {e}"))?;
                                println!("{who} created {room} with its default configuration");
                                break;
                            }
                        }
                    }
                }
                return Ok(());
            }
            xmpp_proto::Event::Muc(MucEvent::JoinFailed {
                room: failed,
                error,
                ..
            }) if failed == *room => return Err(format!("{who} could not join {room}: {error:?}")),
            _ => {}
        }
    }
}

fn from(m: &ChatMessage) -> &str {
    m.message.from.as_ref().map(Jid::as_str).unwrap_or("?")
}

fn body(m: &ChatMessage) -> &str {
    m.message.body.as_deref().unwrap_or("")
}

async fn run() -> Result<(), String> {
    let s = server()?;
    // Bob reaches the server through a proxy that can cut his connection.
    let target = (s.host.as_str(), s.tls_port);
    let target = std::net::ToSocketAddrs::to_socket_addrs(&target)
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address for the server")?;
    let bob_link = Proxy::start(target).map_err(|e| e.to_string())?;
    let (bob, mut bob_events) = login(&s, "bob", "bob-pass", "demo", true, Some(&bob_link)).await?;
    let (alice, mut alice_events) = login(&s, "alice", "alice-pass", "demo", false, None).await?;
    let (phone, mut phone_events) = login(&s, "alice", "alice-pass", "phone", false, None).await?;
    let bob_jid: Jid = format!("bob@{}", s.domain)
        .parse()
        .map_err(|e| format!("{e}"))?;
    let has_body = |m: &ChatMessage| m.message.body.is_some();

    for i in 1..=ROUNDS {
        let text = format!("Hello Bob, this is message {i} of {ROUNDS}.");
        let id = alice
            .send(Message::chat(bob_jid.clone(), text).with_receipt_request())
            .await
            .map_err(|e| e.to_string())?;
        let m = next_message("bob", &mut bob_events, has_body).await?;
        println!("bob received from {}: {}", from(&m), body(&m));
        let receipt = next_message("alice", &mut alice_events, |m| {
            m.receipt_for.as_deref() == Some(id.as_str())
        })
        .await?;
        println!(
            "alice got a delivery receipt from {} for {id}",
            from(&receipt)
        );
        let copy = next_message("alice's phone", &mut phone_events, has_body).await?;
        println!(
            "alice's phone got a {} carbon: to {}: {}",
            copy.carbon().map_or("(not a)", |c| c.as_str()),
            copy.message.to.as_ref().map(Jid::as_str).unwrap_or("?"),
            body(&copy)
        );
        bob.send(m.message.reply(format!("Got your message {i}, Alice.")))
            .await
            .map_err(|e| e.to_string())?;
        let r = next_message("alice", &mut alice_events, has_body).await?;
        println!("alice received from {}: {}", from(&r), body(&r));
        let copy = next_message("alice's phone", &mut phone_events, has_body).await?;
        println!(
            "alice's phone got a {} carbon: from {}: {}",
            copy.carbon().map_or("(not a)", |c| c.as_str()),
            from(&copy),
            body(&copy)
        );
    }
    // A room: alice creates it, bob joins, they talk, alice destroys it.
    let room: BareJid = format!("demo@conference.{}", s.domain)
        .parse()
        .map_err(|e| format!("{e}"))?;
    join(&alice, &mut alice_events, "alice", &room, "Alice").await?;
    join(&bob, &mut bob_events, "bob", &room, "Bob").await?;
    say(
        &alice,
        "alice",
        &room,
        "Welcome to the room, Bob.",
        "bob",
        &mut bob_events,
    )
    .await?;
    say(
        &bob,
        "bob",
        &room,
        "Thanks, Alice: nice room.",
        "alice",
        &mut alice_events,
    )
    .await?;
    let r = room.clone();
    alice
        .with(move |c, now| {
            c.with_module(now, |m: &mut Muc, cx| {
                m.destroy(cx, &r, Some("demo over"), None)
            })
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("alice: {e}"))?;
    loop {
        if let xmpp_proto::Event::Muc(MucEvent::Left {
            room: left,
            departure,
            ..
        }) = next_event("bob", &mut bob_events).await?
        {
            if left == room {
                println!("bob was told the room is gone: {departure:?}");
                break;
            }
        }
    }

    // History: alice's phone reads the conversation back from the archive
    // (the last page: each round's two messages and the receipt between
    // them, which the archive keeps too; the receipts are not printed).
    let with = bob_jid.clone();
    let started = phone
        .with(move |c, now| {
            c.with_module(now, |m: &mut Mam, cx| {
                let page = Page::new().with_max(3 * ROUNDS).last();
                m.query(cx, Query::new().with(with).page(page))
            })
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    loop {
        match next_event("alice's phone", &mut phone_events).await? {
            xmpp_proto::Event::ChatMessage(m) if m.is_archived() && has_body(&m) => println!(
                "alice's phone read from the archive: [{}] {}: {}",
                m.delay.as_ref().map_or("?", |d| d.stamp.as_str()),
                from(&m),
                body(&m)
            ),
            xmpp_proto::Event::Mam(MamEvent::Done { id, complete, .. }) if id == started.id => {
                println!("alice's phone reached the end of the page (complete: {complete})");
                break;
            }
            xmpp_proto::Event::Mam(MamEvent::Failed { id, error, .. }) if id == started.id => {
                return Err(format!("alice's archive: {error}"));
            }
            _ => {}
        }
    }

    // Profiles: alice edits her vCard, bob reads it.
    let edit = alice
        .with(|c, now| {
            c.with_module(now, |v: &mut VCards, cx| {
                v.update(cx, |card| {
                    card.full_name = Some("Alice Liddell".into());
                    card.nickname = Some("alice".into());
                    card.emails = vec![Email::new("alice@wonderland.example")];
                })
            })
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    loop {
        if let xmpp_proto::Event::VCard(VCardEvent::Done { id, result }) =
            next_event("alice", &mut alice_events).await?
        {
            if id == edit {
                result.map_err(|e| format!("alice's vCard: {e}"))?;
                println!("alice stored her vCard");
                break;
            }
        }
    }
    let alice_jid: BareJid = format!("alice@{}", s.domain)
        .parse()
        .map_err(|e| format!("{e}"))?;
    let asked = alice_jid.clone();
    let fetch = bob
        .with(move |c, now| c.with_module(now, |v: &mut VCards, cx| v.fetch(cx, Some(asked))))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    loop {
        if let xmpp_proto::Event::VCard(VCardEvent::Fetched { id, jid, result }) =
            next_event("bob", &mut bob_events).await?
        {
            if id == fetch {
                let card = result.map_err(|e| format!("bob reading {jid}'s vCard: {e}"))?;
                println!(
                    "bob read {jid}'s vCard: FN {:?}, NICKNAME {:?}, EMAIL {:?}",
                    card.full_name.as_deref().unwrap_or(""),
                    card.nickname.as_deref().unwrap_or(""),
                    card.email().unwrap_or("")
                );
                break;
            }
        }
    }

    // A cut: bob's connection dies under him; alice writes meanwhile.
    let cut = bob_link.cut();
    println!("bob's connection was cut ({cut} connection closed under him)");
    for i in 1..=2 {
        alice
            .send(Message::chat(
                bob_jid.clone(),
                format!("While you were away, Bob ({i}/2)."),
            ))
            .await
            .map_err(|e| e.to_string())?;
    }
    let mut got: Vec<String> = Vec::new();
    while got.iter().collect::<std::collections::HashSet<_>>().len() < 2 {
        match tokio::time::timeout(Duration::from_secs(20), bob_events.next()).await {
            Err(_) => return Err(format!("bob: nothing within 20 s; got {got:?}")),
            Ok(None) => return Err("bob: the session ended".into()),
            Ok(Some(Event::Reconnected { resumed, .. })) => println!(
                "bob's client reconnected: the stream was {}",
                if resumed {
                    "resumed (XEP-0198): nothing to send again by hand"
                } else {
                    "not resumed: a new session"
                }
            ),
            Ok(Some(Event::Core(xmpp_proto::Event::ChatMessage(m)))) if has_body(&m) => {
                println!(
                    "bob received after the cut, from {}: {}",
                    from(&m),
                    body(&m)
                );
                got.push(body(&m).to_string());
            }
            Ok(Some(_)) => {}
        }
    }
    if got.len() != 2 {
        return Err(format!(
            "bob received {} copies of 2 messages: {got:?}",
            got.len()
        ));
    }
    println!("bob got both messages, each once");

    alice.close().await;
    phone.close().await;
    bob.close().await;
    println!("all three sessions closed cleanly");
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::FAILURE
        }
    }
}
