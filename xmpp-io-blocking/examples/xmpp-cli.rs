//! The command-line client of `shared/cli-contract.md` on the blocking adapter.
//!
//! ```text
//! XMPP_PASSWORD=... cargo run -p xmpp-io-blocking --example xmpp-cli -- --jid alice@example.com
//! {"cmd":"send","to":"bob@example.com","body":"hi","tag":"1"}
//! ```
//!
//! The contract's JSON mapping is the Tokio adapter's `cli_common/`,
//! included verbatim, so the two CLIs cannot drift apart; this file is only
//! the blocking I/O loop and the mapping of this adapter's errors to exit
//! statuses. Threads: `main` runs the session's loop (the [`Reader`]) and
//! prints events; a stdin thread decodes command lines and carries them out
//! through a [`Sender`], each written at once.

#[path = "../../xmpp-io-tokio/examples/cli_common/mod.rs"]
mod cli_common;

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use cli_common::args::{self, Args, ArgsError};
use cli_common::command::{self, Command, Expect, Plan};
use cli_common::roster::RosterPush;
use cli_common::{event, print, Exit};
use xmpp_io_blocking::{
    connect, CommandError, ConnectError, ConnectOptions, Disconnect, Event, Reader,
    ReconnectPolicy, Sender, TlsMode,
};

/// IQ commands waiting for their answer, by IQ id.
type Requests = Arc<Mutex<HashMap<String, (Command, Expect)>>>;

/// The `quit` command, once given: its result is printed when the session
/// has closed (as the Tokio CLI prints it after `close` returns).
type Quit = Arc<Mutex<Option<Command>>>;

fn main() -> ExitCode {
    let argv = std::env::args().skip(1);
    let args = match args::parse(argv, std::env::var("XMPP_PASSWORD").ok()) {
        Ok(a) => a,
        Err(ArgsError::Help) => {
            eprintln!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(ArgsError::Bad(message)) => {
            eprintln!("xmpp-cli: {message}\n\n{}", args::USAGE);
            return ExitCode::from(Exit::Usage.code());
        }
    };
    if let Some(store) = &args.store {
        eprintln!(
            "xmpp-cli: --store {}: not implemented yet; nothing is kept between runs",
            store.display()
        );
    }
    ExitCode::from(run(&args).code())
}

/// The exit status for an adapter error.
fn exit_for(error: &ConnectError) -> Exit {
    match error {
        ConnectError::CaFile { .. } => Exit::Usage,
        ConnectError::Auth(_) => Exit::Auth,
        ConnectError::Tls(_) | ConnectError::TlsNotOffered => Exit::Tls,
        _ => Exit::Connection,
    }
}

/// The short reason for a failed command.
fn command_error(error: &CommandError) -> String {
    match error {
        CommandError::Rejected(e) => command::send_failure(e),
        CommandError::Iq(f) => command::iq_failure(f),
        CommandError::Ended => "disconnected".into(),
        other => other.to_string(),
    }
}

fn options(args: &Args) -> ConnectOptions {
    let mut options = ConnectOptions::new(args.jid.clone(), args.password.clone())
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
    // Roster pushes are printed as they are processed, on the loop's thread.
    let sink: cli_common::roster::Sink = Arc::new(|v| print(&v));
    options.on_client(move |client| client.register(RosterPush::new(sink.clone())))
}

fn run(args: &Args) -> Exit {
    let client = match connect(options(args)) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("xmpp-cli: {e}");
            print(&event::disconnected(&e.to_string()));
            return exit_for(&e);
        }
    };
    let (mut reader, sender) = client.split();
    let requests: Requests = Arc::default();
    let quit: Quit = Arc::default();
    stdin_commands(args.clone(), sender, requests.clone(), quit.clone());
    events(&mut reader, args, &requests, &quit)
}

/// Reads stdin on a thread of its own (a blocking read cannot be
/// cancelled, and must not keep the process alive at exit) and carries out
/// each line. End of stdin means quit.
fn stdin_commands(args: Args, sender: Sender, requests: Requests, quit: Quit) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if line.trim().is_empty() {
                continue;
            }
            if handle_line(&line, &args, &sender, &requests, &quit) {
                return;
            }
        }
        sender.close();
    });
}

/// Carries out one command line; returns true for `quit`.
fn handle_line(line: &str, args: &Args, sender: &Sender, requests: &Requests, quit: &Quit) -> bool {
    let command = match command::decode(line, &args.jid) {
        Ok(c) => c,
        Err(result) => {
            print(&result);
            return false;
        }
    };
    match command.plan {
        Plan::Send(ref stanza) => {
            let outcome = sender.send(stanza.clone()).map_err(|e| command_error(&e));
            print(&command::result(&command, outcome));
        }
        Plan::Request(ref iq, ref expect) => {
            // Sent without waiting; the loop prints the answer when it
            // comes. The map is locked across the send, so the answer
            // cannot be looked up before it is recorded.
            let expect = expect.clone();
            let mut pending = requests.lock().unwrap();
            match sender.send_iq_nowait(iq.clone()) {
                Ok(id) => {
                    pending.insert(id, (command, expect));
                }
                Err(e) => {
                    drop(pending);
                    for value in command::iq_outcome(&command, &expect, Err(command_error(&e))) {
                        print(&value);
                    }
                }
            }
        }
        Plan::Quit => {
            *quit.lock().unwrap() = Some(command);
            sender.close();
            return true;
        }
    }
    false
}

/// Runs the session and prints its events; returns the exit status once
/// it is over.
fn events(reader: &mut Reader, args: &Args, requests: &Requests, quit: &Quit) -> Exit {
    for event in reader.iter() {
        match event {
            Event::Core(xmpp_proto::Event::IqResponse { id, result }) => {
                let Some((command, expect)) = requests.lock().unwrap().remove(&id) else {
                    continue;
                };
                let outcome = result.map_err(|f| command::iq_failure(&f));
                for value in command::iq_outcome(&command, &expect, outcome) {
                    print(&value);
                }
            }
            Event::Core(e) => {
                if let Some(v) = event::core_event(&e, &args.jid) {
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
                if let Some(command) = quit.lock().unwrap().take() {
                    print(&command::result(&command, Ok(())));
                }
                return match reason {
                    Disconnect::Closed => {
                        print(&event::disconnected("closed"));
                        Exit::Clean
                    }
                    Disconnect::Error(e) => {
                        eprintln!("xmpp-cli: {e}");
                        print(&event::disconnected(&e.to_string()));
                        exit_for(&e)
                    }
                    _ => Exit::Connection,
                };
            }
            _ => {}
        }
    }
    Exit::Connection
}
