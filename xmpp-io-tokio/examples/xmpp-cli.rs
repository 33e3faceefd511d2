//! The command-line client of `shared/cli-contract.md` on the Tokio adapter.
//!
//! ```text
//! XMPP_PASSWORD=... cargo run -p xmpp-io-tokio --example xmpp-cli -- --jid alice@example.com
//! {"cmd":"send","to":"bob@example.com","body":"hi","tag":"1"}
//! ```
//!
//! The contract's JSON mapping lives in `cli_common/` (shared verbatim with
//! the blocking adapter's CLI); this file is only the Tokio I/O loop and the
//! mapping of this adapter's errors to exit statuses.

mod cli_common;

use std::process::ExitCode;
use std::sync::Arc;

use cli_common::args::{self, Args, ArgsError};
use cli_common::command::{self, Plan};
use cli_common::roster::RosterPush;
use cli_common::{event, print, Exit};
use serde_json::Value;
use tokio::sync::mpsc;
use xmpp_io_tokio::{
    connect, CommandError, ConnectError, ConnectOptions, Disconnect, Event, Handle,
    ReconnectPolicy, TlsMode,
};

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
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("xmpp-cli: cannot start the runtime: {e}");
            return ExitCode::from(Exit::Connection.code());
        }
    };
    let exit = runtime.block_on(run(args));
    ExitCode::from(exit.code())
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

fn options(args: &Args, out: &mpsc::UnboundedSender<Value>) -> ConnectOptions {
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
    let out = out.clone();
    let sink: cli_common::roster::Sink = Arc::new(move |v| {
        let _ = out.send(v);
    });
    options.on_client(move |client| client.register(RosterPush::new(sink.clone())))
}

/// Reads stdin on a thread of its own (a blocking read cannot be cancelled,
/// and must not keep the process alive at exit).
fn stdin_lines() -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

async fn run(args: Args) -> Exit {
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Value>();
    let (handle, mut events) = match connect(options(&args, &out_tx)).await {
        Ok(session) => session,
        Err(e) => {
            eprintln!("xmpp-cli: {e}");
            print(&event::disconnected(&e.to_string()));
            return exit_for(&e);
        }
    };
    let mut stdin = stdin_lines();
    let mut stdin_open = true;
    let mut quitting = false;
    loop {
        tokio::select! {
            line = stdin.recv(), if stdin_open && !quitting => match line {
                Some(line) if line.trim().is_empty() => {}
                Some(line) => {
                    let quit = handle_line(&line, &args, &handle, &out_tx).await;
                    quitting |= quit;
                }
                None => {
                    // End of stdin means quit.
                    stdin_open = false;
                    quitting = true;
                    handle.close().await;
                }
            },
            Some(value) = out_rx.recv() => print(&value),
            event = events.next() => {
                let Some(event) = event else { return Exit::Connection };
                if let Some(exit) = on_event(event, &args, &mut out_rx) {
                    return exit;
                }
            }
        }
    }
}

/// Prints an event; returns the exit status once the session is over.
fn on_event(
    event: Event,
    args: &Args,
    out_rx: &mut mpsc::UnboundedReceiver<Value>,
) -> Option<Exit> {
    match event {
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
            // Whatever was queued for stdout goes first.
            while let Ok(v) = out_rx.try_recv() {
                print(&v);
            }
            return Some(match reason {
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
            });
        }
        _ => {}
    }
    None
}

/// Carries out one command line; returns true for `quit`.
async fn handle_line(
    line: &str,
    args: &Args,
    handle: &Handle,
    out: &mpsc::UnboundedSender<Value>,
) -> bool {
    let command = match command::decode(line, &args.jid) {
        Ok(c) => c,
        Err(result) => {
            print(&result);
            return false;
        }
    };
    match command.plan {
        Plan::Send(ref stanza) => {
            let outcome = handle
                .send(stanza.clone())
                .await
                .map_err(|e| command_error(&e));
            print(&command::result(&command, outcome));
        }
        Plan::Request(ref iq, ref expect) => {
            // IQs run concurrently; their events are printed when they answer.
            let (handle, out, iq, expect) =
                (handle.clone(), out.clone(), iq.clone(), expect.clone());
            tokio::spawn(async move {
                let outcome = handle.send_iq(iq).await.map_err(|e| command_error(&e));
                for value in command::iq_outcome(&command, &expect, outcome) {
                    let _ = out.send(value);
                }
            });
        }
        Plan::Quit => {
            handle.close().await;
            print(&command::result(&command, Ok(())));
            return true;
        }
    }
    false
}
