//! Opt-in automatic reconnection with exponential backoff and full jitter
//! (the shared [`Backoff`] of `xmpp_proto::connect`).
//!
//! After an established session is lost, the reader half reports
//! [`Event::Reconnecting`](crate::Event::Reconnecting), waits
//! [`Backoff::next_delay`] (fresh OS entropy each attempt), and connects
//! anew exactly as [`connect`](crate::connect) did (resolution, TCP, TLS,
//! login). It never retries after a final failure
//! ([`ConnectError::is_final`]: authentication, any certificate or TLS
//! failure, missing STARTTLS, or a core reason that
//! [`DisconnectReason::is_final`] calls final), after the application
//! closed the session, or after the reader half was dropped.
//!
//! [`ConnectError::is_final`]: crate::ConnectError::is_final
//! [`DisconnectReason::is_final`]: xmpp_proto::DisconnectReason::is_final

use std::time::Duration;

pub use xmpp_proto::connect::Backoff;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_up_after_max_attempts_and_stays_under_the_ceiling() {
        let policy = ReconnectPolicy::new()
            .backoff(Duration::from_millis(10), Duration::from_millis(40), 2)
            .max_attempts(3);
        assert!(policy.delay(1).unwrap() <= Duration::from_millis(10));
        assert!(policy.delay(3).unwrap() <= Duration::from_millis(40));
        assert_eq!(policy.delay(4), None);
        assert!(ReconnectPolicy::new().delay(1_000).is_some());
    }
}
