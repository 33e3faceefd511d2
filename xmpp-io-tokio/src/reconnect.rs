//! Opt-in automatic reconnection with exponential backoff and full jitter
//! (the shared [`Backoff`] of `xmpp_proto::connect`).
//!
//! After an established session is lost, the driver waits
//! [`Backoff::next_delay`] (fresh OS entropy each attempt), reports
//! [`Event::Reconnecting`](crate::Event::Reconnecting), and connects anew
//! exactly as [`connect`](crate::connect) did (resolution, TCP, TLS, login).
//! It never retries after a final failure ([`ConnectError::is_final`]:
//! authentication, any TLS or certificate failure, missing STARTTLS, or a
//! core reason that [`DisconnectReason::is_final`] calls final), after the
//! application closed the session, or after every [`Handle`](crate::Handle)
//! was dropped.
//!
//! [`ConnectError::is_final`]: crate::ConnectError::is_final
//! [`DisconnectReason::is_final`]: xmpp_proto::DisconnectReason::is_final

use std::time::Duration;

use tokio::sync::mpsc;
pub use xmpp_proto::connect::Backoff;

use crate::driver::{establish, Connection, Session, Shared, Sink};
use crate::handle::Command;
use crate::{ConnectError, Disconnect, Event};

/// When and how often to reconnect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ReconnectPolicy {
    /// The delay before each attempt.
    pub backoff: Backoff,
    /// Give up after this many failed attempts in a row (`None`: never).
    pub max_attempts: Option<u32>,
}

impl ReconnectPolicy {
    /// The default backoff (1 s doubling up to 5 min), unlimited attempts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the backoff.
    pub fn backoff(mut self, initial: Duration, max: Duration, factor: u32) -> Self {
        self.backoff = Backoff {
            initial,
            max,
            factor,
        };
        self
    }

    /// Gives up after `n` failed attempts in a row.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = Some(n);
        self
    }

    /// The delay before attempt `attempt` (1-based), or `None` when the
    /// policy gives up.
    pub(crate) fn delay(&self, attempt: u32) -> Option<Duration> {
        if self.max_attempts.is_some_and(|max| attempt > max) {
            return None;
        }
        Some(self.backoff.next_delay(attempt, crate::entropy::u64()))
    }
}

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
        let Some(delay) = policy.delay(attempt) else {
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
