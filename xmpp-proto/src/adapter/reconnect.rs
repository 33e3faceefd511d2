//! The opt-in reconnection policy: exponential backoff with full jitter
//! (the shared [`Backoff`]) and an optional cap on attempts.
//!
//! After an established session is lost, an adapter reports
//! [`Event::Reconnecting`](super::Event::Reconnecting), waits
//! [`ReconnectPolicy::delay`] (fresh OS entropy each attempt) and connects
//! anew exactly as its `connect` did (resolution, TCP, TLS, login). It
//! never retries after a final failure ([`ConnectError::is_final`]), after
//! the application closed the session, or after the application dropped
//! its side of the session.
//!
//! [`ConnectError::is_final`]: super::ConnectError::is_final

use std::time::Duration;

use crate::connect::Backoff;

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

    /// The delay before attempt `attempt` (1-based) with `random` bits from
    /// the OS for the jitter, or `None` when the policy gives up. Pass
    /// `None` for `random` when the OS's random source failed: the jitter
    /// then takes the middle of its range (predictable, which a backoff
    /// may be).
    pub fn delay(&self, attempt: u32, random: Option<u64>) -> Option<Duration> {
        if self.max_attempts.is_some_and(|max| attempt > max) {
            return None;
        }
        Some(self.backoff.next_delay(attempt, super::jitter_bits(random)))
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
        for random in [Some(0), None, Some(u64::MAX)] {
            assert!(policy.delay(1, random).unwrap() <= Duration::from_millis(10));
            assert!(policy.delay(3, random).unwrap() <= Duration::from_millis(40));
            assert_eq!(policy.delay(4, random), None);
        }
        assert!(ReconnectPolicy::new().delay(1_000, Some(7)).is_some());
    }
}
