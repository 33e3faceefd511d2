//! The command-line client of `docs/cli.md` on the blocking adapter.
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

use cli_common::args::Args;
use cli_common::command::{self, Command, Expect, Plan};
use cli_common::{print, session, Exit};
use xmpp_io_blocking::{connect, Event, Reader, Sender};

/// IQ commands waiting for their answer, by IQ id.
type Requests = Arc<Mutex<HashMap<String, (Command, Expect)>>>;

/// The `quit` command, once given: its result is printed when the session
/// has closed (as the Tokio CLI prints it after `close` returns).
type Quit = Arc<Mutex<Option<Command>>>;

fn main() -> ExitCode {
    let args = match session::args_from_env() {
        Ok(args) => args,
        Err(code) => return code,
    };
    ExitCode::from(run(&args).code())
}

fn run(args: &Args) -> Exit {
    let client = match connect(session::options(args)) {
        Ok(client) => client,
        Err(e) => return session::connect_failed(&e),
    };
    let (mut reader, sender) = client.split();
    let requests: Requests = Arc::default();
    let quit: Quit = Arc::default();
    stdin_commands(args.clone(), sender.clone(), requests.clone(), quit.clone());
    events(&mut reader, &sender, args, &requests, &quit)
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
    let Some(command) = session::decode(line, &args.jid) else {
        return false;
    };
    match command.plan {
        Plan::Send(ref stanza) => {
            let outcome = sender
                .send(stanza.clone())
                .map_err(|e| session::command_error(&e));
            print(&command::sent(&command, outcome));
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
                    for value in
                        command::iq_outcome(&command, &expect, Err(session::command_error(&e)))
                    {
                        print(&value);
                    }
                }
            }
        }
        Plan::Module(ref cmd) => {
            let (cmd, shared) = (cmd.clone(), command.clone());
            let outcome = sender
                .with(move |client, now| cmd.run(&shared, client, now))
                .map_err(|e| session::command_error(&e))
                .and_then(|r| r);
            if let Some(result) = command::module_result(&command, outcome) {
                print(&result);
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
fn events(
    reader: &mut Reader,
    sender: &Sender,
    args: &Args,
    requests: &Requests,
    quit: &Quit,
) -> Exit {
    for event in reader.iter() {
        let event = match event {
            Event::Core(xmpp_proto::Event::IqResponse { id, result }) => {
                let Some((command, expect)) = requests.lock().unwrap().remove(&id) else {
                    continue; // not one of ours: nothing to print
                };
                let outcome = result.map_err(|f| command::iq_failure(&f));
                for value in command::iq_outcome(&command, &expect, outcome) {
                    print(&value);
                }
                continue;
            }
            other => other,
        };
        if cli_common::store::wants_resumption(&event) {
            let state = sender.with(|c, _| c.resumption_state().map(|s| s.to_bytes()));
            cli_common::store::save_resumption(state.ok().flatten());
        }
        // The quit command's result goes before the last event.
        let quit_result = || {
            if let Some(command) = quit.lock().unwrap().take() {
                print(&command::result(&command, Ok(())));
            }
        };
        if let Some(exit) = session::on_event(event, &args.jid, quit_result) {
            return exit;
        }
    }
    Exit::Connection
}
