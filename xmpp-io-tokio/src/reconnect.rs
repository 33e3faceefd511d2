//! Opt-in automatic reconnection with exponential backoff and full jitter
//! (the shared [`ReconnectPolicy`] of `xmpp_proto::adapter`).
//!
//! After an established session is lost, the driver waits
//! [`ReconnectPolicy::delay`] (fresh OS entropy each attempt), reports
//! [`Event::Reconnecting`], and connects anew exactly as
//! [`connect`](crate::connect()) did (resolution, TCP, TLS, login).
//! It never retries after a final failure ([`ConnectError::is_final`]:
//! authentication, any TLS or certificate failure, missing STARTTLS, or a
//! core reason that [`DisconnectReason::is_final`] calls final), after the
//! application closed the session, or after every [`Handle`](crate::Handle)
//! was dropped.
//!
//! [`ConnectError::is_final`]: crate::ConnectError::is_final
//! [`DisconnectReason::is_final`]: xmpp_proto::DisconnectReason::is_final

use tokio::sync::mpsc;
use xmpp_proto::adapter::ReconnectPolicy;

use crate::driver::{establish, Connection, Session, Shared, Sink};
use crate::handle::Command;
use crate::{ConnectError, Disconnect, Event};

/// Reconnects after `error` until a connection is online again, or the
/// session must end (a final failure, the policy giving up, a close).
pub(crate) async fn run(
    policy: &ReconnectPolicy,
    shared: &Shared,
    rx: &mut mpsc::Receiver<Command>,
    sink: &Sink,
    session: &mut Session,
    mut error: ConnectError,
) -> Result<Connection, Disconnect> {
    let mut attempt = 1;
    loop {
        let Some(delay) = policy.delay(attempt, getrandom::u64().ok()) else {
            tracing::info!(attempts = attempt - 1, "giving up reconnecting");
            return Err(Disconnect::Error(error));
        };
        tracing::info!(attempt, ?delay, %error, "reconnecting");
        let _ = sink.send(Event::Reconnecting {
            attempt,
            delay,
            error,
        });
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                command = rx.recv(), if !session.handles_gone => {
                    if !session.between_connections(command) {
                        return Err(Disconnect::Closed);
                    }
                }
            }
        }
        let attempt_fut = establish(shared, sink, true);
        tokio::pin!(attempt_fut);
        let result = loop {
            tokio::select! {
                result = &mut attempt_fut => break result,
                command = rx.recv(), if !session.handles_gone => {
                    if !session.between_connections(command) {
                        return Err(Disconnect::Closed);
                    }
                }
            }
        };
        match result {
            Ok(conn) => {
                tracing::info!(attempt, "reconnected");
                return Ok(conn);
            }
            Err(e) if e.is_final() => {
                tracing::warn!(error = %e, "reconnection failed for good");
                return Err(Disconnect::Error(e));
            }
            Err(e) => {
                tracing::debug!(error = %e, attempt, "reconnection attempt failed");
                error = e;
                attempt = attempt.saturating_add(1);
            }
        }
    }
}
