//! What both CLIs do with their adapter, now that the adapters share their
//! types (`xmpp_proto::adapter`): flags to [`ConnectOptions`], adapter
//! errors to exit statuses and short reasons, session events to JSON lines.

use std::process::ExitCode;

use xmpp_proto::adapter::{
    CommandError, ConnectError, ConnectOptions, Disconnect, Event, ReconnectPolicy, TlsMode,
};
use xmpp_proto::connect::Security;
use xmpp_proto::messages::{Carbons, Messages};
use xmpp_proto::sasl::Credentials;
use xmpp_proto::stanza::BareJid;

use super::args::{self, Args, ArgsError};
use super::disco;
use super::{blocking, mam, muc, ping, presence, roster, vcard};
use super::{command, event, print, store, Exit};

/// The flags and `XMPP_PASSWORD` of this process, or the exit status for
/// `--help` and bad flags (the usage already printed).
pub fn args_from_env() -> Result<Args, ExitCode> {
    let argv = std::env::args().skip(1);
    let args = match args::parse(argv, std::env::var("XMPP_PASSWORD").ok()) {
        Ok(a) => a,
        Err(ArgsError::Help) => {
            eprintln!("{}", args::USAGE);
            return Err(ExitCode::SUCCESS);
        }
        Err(ArgsError::Bad(message)) => {
            eprintln!("xmpp-cli: {message}\n\n{}", args::USAGE);
            return Err(ExitCode::from(Exit::Usage.code()));
        }
    };
    if let Some(path) = &args.store {
        if let Err(e) = store::open(path, &args.jid) {
            eprintln!("xmpp-cli: {e}");
            return Err(ExitCode::from(Exit::Usage.code()));
        }
    }
    Ok(args)
}

/// The connection options the flags ask for, with the modules the
/// contract's commands use registered on the session's core.
pub fn options(args: &Args) -> ConnectOptions {
    // With --store: what the last run kept. The salted keys go with the
    // password (used when they still fit the server's salt: no PBKDF2).
    let stored = store::loaded().unwrap_or_default();
    let credentials = match stored.scram_keys.clone() {
        Some(keys) => Credentials::PasswordAndKeys(args.password.clone(), keys),
        None => Credentials::Password(args.password.clone()),
    };
    let mut options = ConnectOptions::with_credentials(args.jid.clone(), credentials)
        .tls_mode(if args.direct_tls {
            TlsMode::DirectTls
        } else {
            TlsMode::Auto
        })
        .allow_plaintext(args.allow_plaintext)
        .timeout(args.timeout);
    if let Some(resource) = &args.resource {
        options = options.resource(resource.clone());
    }
    if let Some((host, port)) = &args.server {
        options = options.server(host.clone(), *port);
    }
    if let Some(ca) = &args.ca_file {
        options = options.ca_file(ca.clone());
    }
    if args.reconnect {
        options = options.reconnect(ReconnectPolicy::new());
    }
    // With --store: a session the last run left open (killed, or cut
    // without reconnect) is resumed on the first connection if the server
    // still keeps it, and each `h` the server hears is kept (one hook: a
    // second `configure` would replace the first).
    if args.store.is_some() {
        let resume = stored
            .resumption
            .as_deref()
            .and_then(|b| xmpp_proto::sm::ResumptionState::from_bytes(b).ok());
        options = options.configure(move |c| {
            let c = c.stream_management(xmpp_proto::sm::SmConfig {
                report_handled: true,
                ..xmpp_proto::sm::SmConfig::default()
            });
            match resume.clone() {
                Some(state) => c.resume_from(state),
                None => c,
            }
        });
    }
    let catch_up = if args.store.is_some() {
        Some(stored.archive_cursor.clone())
    } else {
        args.reconnect.then_some(None)
    };
    options.on_client(move |client| {
        // The roster first: its request leaves before our presence (RFC 6121 §2.2).
        roster::register(client, stored.roster_ver.clone(), stored.roster.clone());
        // The block list before our presence as well (XEP-0191 §3.2).
        blocking::register(client);
        presence::register(client);
        disco::register(client, stored.caps.clone());
        // Room traffic checked before the messages module takes every
        // message (the MUC module's routing priority says so anyway).
        muc::register(client);
        // Profiles, before the messages module: PEP notifications are theirs.
        vcard::register(client, stored.avatar_hashes.clone());
        let _ = client.register(xmpp_proto::avatar::Avatars::new());
        let _ = client.register(xmpp_proto::bookmarks::Bookmarks::new());
        // The archive, before the messages module takes every message (its
        // routing priority says so anyway); catching up after each new
        // session when the run keeps state or reconnects.
        mam::register(client, catch_up.clone());
        // Carbons, then every message decoded (receipts, corrections, ids).
        let _ = client.register(Carbons::new());
        let _ = client.register(Messages::new());
        // XEP-0092: who we are. (The ping module every core has already.)
        let version = xmpp_proto::version::Version::new("xmpp-cli", env!("CARGO_PKG_VERSION"));
        let _ = client.register(version);
    })
}

/// The exit status for an adapter error.
pub fn exit_for(error: &ConnectError) -> Exit {
    match error {
        ConnectError::CaFile { .. } | ConnectError::CaCertificate { .. } => Exit::Usage,
        ConnectError::Auth(_) => Exit::Auth,
        ConnectError::Tls(_) | ConnectError::TlsNotOffered => Exit::Tls,
        // Direct TLS against a STARTTLS port: the TLS handshake failed (4);
        // the other way round the stream never started (5).
        ConnectError::WrongPort {
            tried: Security::DirectTls,
            ..
        } => Exit::Tls,
        _ => Exit::Connection,
    }
}

/// The short reason for a failed command.
pub fn command_error(error: &CommandError) -> String {
    match error {
        CommandError::Rejected(e) => command::send_failure(e),
        CommandError::Iq(f) => command::iq_failure(f),
        CommandError::Ended => "disconnected".into(),
        other => other.to_string(),
    }
}

/// Decodes a command line; a bad one gets its `result` event printed.
pub fn decode(line: &str, jid: &BareJid) -> Option<command::Command> {
    command::decode(line, jid)
        .map_err(|result| print(&result))
        .ok()
}

/// The diagnostic for an adapter error (stderr): the same text, except
/// that an unusable CA file is named as the flag that gave it, quoted (an
/// empty or odd path stays visible).
pub fn diagnostic(error: &ConnectError) -> String {
    match error {
        ConnectError::CaFile { path, reason } => {
            format!("--ca-file {path:?}: cannot use it as a CA certificate: {reason}")
        }
        other => other.to_string(),
    }
}

/// A failed `connect`: the session never went online, so nothing is
/// printed on stdout (a `disconnected` event is for a session that was
/// online); the error goes to stderr, and the exit status tells why.
pub fn connect_failed(error: &ConnectError) -> Exit {
    eprintln!("xmpp-cli: {}", diagnostic(error));
    exit_for(error)
}

/// A session that was online and is lost for good: the error on stderr,
/// the `disconnected` event, and the exit status.
pub fn lost(error: &ConnectError) -> Exit {
    eprintln!("xmpp-cli: {}", diagnostic(error));
    print(&event::disconnected(&error.to_string()));
    exit_for(error)
}

/// Prints a session event of the account `jid`; returns the exit status
/// once the session is over. `before_end` runs just before the last
/// event's lines (to print what is still queued).
pub fn on_event(event: Event, jid: &BareJid, before_end: impl FnOnce()) -> Option<Exit> {
    if let Event::Core(e) = &event {
        store::apply(e);
    }
    match event {
        Event::Core(xmpp_proto::Event::PresenceUpdate(e)) => {
            if let Some(v) = presence::event(&e) {
                print(&v);
            }
        }
        Event::Core(xmpp_proto::Event::Roster(e)) => {
            for v in roster::event(&e) {
                print(&v);
            }
        }
        Event::Core(xmpp_proto::Event::Ping(e)) => {
            if let Some(v) = ping::event(&e) {
                print(&v);
            }
        }
        Event::Core(xmpp_proto::Event::Blocking(e)) => {
            for v in blocking::event(&e) {
                print(&v);
            }
        }
        Event::Core(xmpp_proto::Event::Disco(e)) => {
            for v in disco::event(&e) {
                print(&v);
            }
        }
        Event::Core(xmpp_proto::Event::VCard(e)) => {
            for v in vcard::event(&e) {
                print(&v);
            }
        }
        Event::Core(xmpp_proto::Event::Muc(e)) => {
            for v in muc::event(&e) {
                print(&v);
            }
        }
        Event::Core(xmpp_proto::Event::StreamManagement(e)) => {
            for v in super::sent::event(&e) {
                print(&v);
            }
        }
        Event::Core(xmpp_proto::Event::Mam(e)) => {
            for v in mam::event(&e) {
                print(&v);
            }
        }
        Event::Core(e) => {
            if let Some(v) = event::core_event(&e, jid) {
                print(&v);
            }
        }
        Event::Reconnecting {
            attempt,
            delay,
            error,
        } => eprintln!(
            "xmpp-cli: {error}; reconnecting (attempt {attempt}) in {:.1} s",
            delay.as_secs_f64()
        ),
        Event::Reconnected { jid, resumed } => print(&event::reconnected(&jid, resumed)),
        Event::Disconnected { reason } => {
            before_end();
            return Some(match reason {
                Disconnect::Closed => {
                    store::save_resumption(None);
                    print(&event::disconnected("closed"));
                    Exit::Clean
                }
                Disconnect::Error(e) => lost(&e),
                _ => Exit::Connection,
            });
        }
        _ => {}
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unusable_ca_file_is_named_with_what_was_wrong() {
        let error = ConnectError::CaFile {
            path: "".into(),
            reason: "No such file or directory (os error 2)".into(),
        };
        assert_eq!(
            diagnostic(&error),
            "--ca-file \"\": cannot use it as a CA certificate: \
             No such file or directory (os error 2)"
        );
        assert_eq!(exit_for(&error), Exit::Usage);
        let error = ConnectError::CaFile {
            path: "/tmp/ca.pem".into(),
            reason: "no PEM certificate in the file".into(),
        };
        assert!(diagnostic(&error).starts_with("--ca-file \"/tmp/ca.pem\": "));
    }

    #[test]
    fn a_wrong_password_gives_its_advice_once() {
        use xmpp_proto::sasl::SaslFailure;
        use xmpp_proto::DisconnectReason;
        let failure = SaslFailure::new("not-authorized", Some("Invalid username or password"));
        let error = ConnectError::from_reason(DisconnectReason::AuthFailed(failure));
        let text = diagnostic(&error);
        assert_eq!(text.matches("and password").count(), 1, "{text}");
        assert!(text.starts_with("authentication failed: "), "{text}");
        assert!(text.contains("not-authorized"), "{text}");
        assert_eq!(exit_for(&error), Exit::Auth);
    }

    #[test]
    fn a_wrong_port_exits_as_the_contract_says() {
        use xmpp_proto::connect::Greeting;
        // The TLS handshake failed: 4, as any TLS failure.
        let direct = ConnectError::WrongPort {
            tried: Security::DirectTls,
            answer: Some(Greeting::Xml),
            source: None,
        };
        assert_eq!(exit_for(&direct), Exit::Tls);
        // The stream never started: a connection error, 5.
        let starttls = ConnectError::WrongPort {
            tried: Security::StartTls,
            answer: Some(Greeting::Tls),
            source: None,
        };
        assert_eq!(exit_for(&starttls), Exit::Connection);
        assert!(diagnostic(&starttls).contains("--direct-tls"));
    }

    #[test]
    fn other_errors_keep_their_text() {
        let error = ConnectError::TlsNotOffered;
        assert_eq!(diagnostic(&error), error.to_string());
        assert_eq!(exit_for(&error), Exit::Tls);
    }
}
