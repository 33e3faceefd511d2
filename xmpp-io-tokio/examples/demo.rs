//! Two clients talk through a real server: alice logs in over STARTTLS, bob
//! over direct TLS (XEP-0368); alice sends bob a few messages, bob answers
//! each; both print what they received and close cleanly.
//!
//! Run it with `scripts/demo`, which starts the private Prosody of
//! `scripts/prosody` (accounts alice/alice-pass and bob/bob-pass) and sets
//! `PROSODY_HOST`, `PROSODY_C2S_PORT`, `PROSODY_TLS_PORT`, `PROSODY_CA` and
//! `PROSODY_DOMAIN` for it.

use std::process::ExitCode;
use std::time::Duration;

use xmpp_io_tokio::{connect, ConnectOptions, Event, Events, Handle, TlsMode};
use xmpp_proto::stanza::{Jid, Message, Presence};

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
    direct_tls: bool,
) -> Result<(Handle, Events), String> {
    let jid = format!("{user}@{}", s.domain)
        .parse()
        .map_err(|e| format!("{e}"))?;
    let (port, mode) = if direct_tls {
        (s.tls_port, TlsMode::DirectTls)
    } else {
        (s.c2s_port, TlsMode::StartTls)
    };
    let options = ConnectOptions::new(jid, password)
        .server(s.host.clone(), port)
        .tls_mode(mode)
        .ca_file(&s.ca)
        .resource("demo")
        .timeout(Duration::from_secs(15));
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
    // Available, so that messages to the bare JID reach this resource.
    handle
        .send(Presence::available())
        .await
        .map_err(|e| e.to_string())?;
    Ok((handle, events))
}

/// The next chat message with a body, skipping other events.
async fn next_message(who: &str, events: &mut Events) -> Result<Message, String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), events.next()).await {
            Err(_) => return Err(format!("{who}: no message within 10 s")),
            Ok(None) => return Err(format!("{who}: the session ended")),
            Ok(Some(Event::Core(xmpp_proto::Event::Message(m)))) if m.body.is_some() => {
                return Ok(m)
            }
            Ok(Some(Event::Disconnected { reason })) => {
                return Err(format!("{who}: disconnected: {reason:?}"))
            }
            Ok(Some(_)) => {}
        }
    }
}

async fn run() -> Result<(), String> {
    let s = server()?;
    let (bob, mut bob_events) = login(&s, "bob", "bob-pass", true).await?;
    let (alice, mut alice_events) = login(&s, "alice", "alice-pass", false).await?;
    let bob_jid: Jid = format!("bob@{}", s.domain)
        .parse()
        .map_err(|e| format!("{e}"))?;

    for i in 1..=ROUNDS {
        let text = format!("Hello Bob, this is message {i} of {ROUNDS}.");
        alice
            .send(Message::chat(bob_jid.clone(), text))
            .await
            .map_err(|e| e.to_string())?;
        let m = next_message("bob", &mut bob_events).await?;
        println!(
            "bob received from {}: {}",
            m.from.as_ref().map(Jid::as_str).unwrap_or("?"),
            m.body.as_deref().unwrap_or("")
        );
        bob.send(m.reply(format!("Got your message {i}, Alice.")))
            .await
            .map_err(|e| e.to_string())?;
        let r = next_message("alice", &mut alice_events).await?;
        println!(
            "alice received from {}: {}",
            r.from.as_ref().map(Jid::as_str).unwrap_or("?"),
            r.body.as_deref().unwrap_or("")
        );
    }
    alice.close().await;
    bob.close().await;
    println!("both sessions closed cleanly");
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
