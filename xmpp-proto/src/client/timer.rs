//! The session's timers: a closed set in a fixed table (as quinn-proto's
//! `TimerTable`), plus the IQ tracker's own deadlines.

use std::time::Instant;

/// One of the session's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The login must complete before this.
    Connect,
    /// Send a whitespace keepalive (nothing sent for a while).
    Keepalive,
    /// Our `</stream:stream>` went out; stop waiting for the server's.
    Close,
    /// The reconnection delay passed: ask for a new transport.
    Reconnect,
    /// XEP-0198: a stanza waited `SmConfig::ack_after` without an `<r/>`.
    AckRequest,
}

const COUNT: usize = 5;

impl Timer {
    const ALL: [Timer; COUNT] = [
        Timer::Connect,
        Timer::Keepalive,
        Timer::Close,
        Timer::Reconnect,
        Timer::AckRequest,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// Deadlines by timer.
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable {
    at: [Option<Instant>; COUNT],
}

impl TimerTable {
    pub(crate) fn set(&mut self, t: Timer, at: Instant) {
        self.at[t.index()] = Some(at);
    }

    pub(crate) fn stop(&mut self, t: Timer) {
        self.at[t.index()] = None;
    }

    pub(crate) fn get(&self, t: Timer) -> Option<Instant> {
        self.at[t.index()]
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.at.iter().flatten().min().copied()
    }

    /// Removes and returns the timers due at `now`, in table order.
    pub(crate) fn expired(&mut self, now: Instant) -> Vec<Timer> {
        let mut due = Vec::new();
        for t in Timer::ALL {
            if self.at[t.index()].is_some_and(|at| at <= now) {
                self.at[t.index()] = None;
                due.push(t);
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn next_and_expired() {
        let t0 = Instant::now();
        let mut t = TimerTable::default();
        assert_eq!(t.next(), None);
        t.set(Timer::Close, t0 + Duration::from_secs(5));
        t.set(Timer::Connect, t0 + Duration::from_secs(2));
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(2)));
        assert_eq!(t.expired(t0 + Duration::from_secs(3)), vec![Timer::Connect]);
        assert_eq!(t.get(Timer::Connect), None);
        t.stop(Timer::Close);
        assert_eq!(t.next(), None);
    }
}
