//! The command-line client of `docs/cli.md` on the Tokio adapter.
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

use cli_common::args::Args;
use cli_common::command::{self, Plan};
use cli_common::{print, session, Exit};
use serde_json::Value;
use tokio::sync::mpsc;
use xmpp_io_tokio::{connect, Handle};

fn main() -> ExitCode {
    let args = match session::args_from_env() {
        Ok(args) => args,
        Err(code) => return code,
    };
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
    let (handle, mut events) = match connect(session::options(&args)).await {
        Ok(pair) => pair,
        Err(e) => return session::connect_failed(&e),
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
                if cli_common::store::wants_resumption(&event) {
                    let state = handle
                        .with(|c, _| c.resumption_state().map(|s| s.to_bytes()))
                        .await;
                    cli_common::store::save_resumption(state.ok().flatten());
                }
                // Whatever was queued for stdout goes before the last event.
                let drain = || while let Ok(v) = out_rx.try_recv() { print(&v) };
                if let Some(exit) = session::on_event(event, &args.jid, drain) {
                    return exit;
                }
            }
        }
    }
}

/// Carries out one command line; returns true for `quit`.
async fn handle_line(
    line: &str,
    args: &Args,
    handle: &Handle,
    out: &mpsc::UnboundedSender<Value>,
) -> bool {
    let Some(command) = session::decode(line, &args.jid) else {
        return false;
    };
    match command.plan {
        Plan::Send(ref stanza) => {
            let outcome = handle
                .send(stanza.clone())
                .await
                .map_err(|e| session::command_error(&e));
            print(&command::sent(&command, outcome));
        }
        Plan::Request(ref iq, ref expect) => {
            // IQs run concurrently; their events are printed when they answer.
            let (handle, out, iq, expect) =
                (handle.clone(), out.clone(), iq.clone(), expect.clone());
            tokio::spawn(async move {
                let outcome = handle
                    .send_iq(iq)
                    .await
                    .map_err(|e| session::command_error(&e));
                for value in command::iq_outcome(&command, &expect, outcome) {
                    let _ = out.send(value);
                }
            });
        }
        Plan::Module(ref cmd) => {
            let (cmd, shared) = (cmd.clone(), command.clone());
            let outcome = handle
                .with(move |client, now| cmd.run(&shared, client, now))
                .await
                .map_err(|e| session::command_error(&e))
                .and_then(|r| r);
            if let Some(result) = command::module_result(&command, outcome) {
                print(&result);
            }
        }
        Plan::Quit => {
            handle.close().await;
            print(&command::result(&command, Ok(())));
            return true;
        }
    }
    false
}
