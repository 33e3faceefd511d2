//! One session across transports: the reconnection decisions and the reset
//! of everything that belongs to one connection.
//!
//! Rules:
//! 1. A [`Client`] is one account session. Its modules (and their state),
//!    its stanza-id stream and its configuration outlive every transport;
//!    the negotiation state, the XML reader, the TLS flag and channel
//!    binding, the SASL mechanism, the bound JID, the session timers and
//!    the unsent output of a dead connection do not (`Client::reset_connection`).
//! 2. Reconnecting is opt-in ([`Config::reconnect`](super::Config::reconnect))
//!    and only for a session that was online once: the first login's
//!    failure ends the session, as `connect` of an adapter returns it.
//! 3. When a connection ends, the core decides, once for every driver: a
//!    final reason ([`DisconnectReason::is_final`], which also carries the
//!    adapter's verdict on a failed connection attempt,
//!    [`DisconnectReason::ConnectFailed`]), the application's
//!    [`close`](Client::close), or the policy's attempt cap end the session
//!    ([`Event::Disconnected`]); anything else is announced with
//!    [`Event::Reconnecting`], the transport is closed
//!    ([`Output::CloseTransport`](super::Output::CloseTransport)), and after
//!    the delay the driver is asked for a new one
//!    ([`Output::Connect`](super::Output::Connect)).
//! 4. The delay is the policy's backoff with full jitter drawn from the
//!    core's own seeded entropy (never the OS), and never less than
//!    [`MIN_RECONNECT_DELAY`], also before the first attempt after a drop.
//! 5. IQs in flight fail with `IqFailure::Disconnected` and the modules go
//!    `offline` when a connection that was online ends (unless stream
//!    management keeps the session for a resumption: `sm/`); after each
//!    later login they go `online` again and the application sees
//!    [`Event::Reconnected`] instead of [`Event::Online`].

use std::time::Duration;

use crate::connect::{Backoff, Security};
use crate::entropy::Entropy;
use crate::stanza::FullJid;
use crate::xml::StreamReader;

use super::event::{Event, WarningKind};
use super::negotiate::State;
use super::timer::{Timer, TimerTable};
use super::{Client, DisconnectReason, TlsPolicy};

/// The shortest wait before any reconnection attempt, whatever the policy
/// says: a server that drops every client at once is not met by all of
/// them again within the same second.
pub const MIN_RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// When and how often to reconnect: exponential backoff with full jitter
/// (the shared `Backoff` of `xmpp_proto::connect`), never less than 1 s
/// between attempts, and an optional cap on attempts.
///
/// The core applies it ([`Config::reconnect`](super::Config::reconnect)):
/// after an established session is lost it reports
/// [`Event::Reconnecting`], waits [`ReconnectPolicy::delay`] with jitter
/// from its own seeded entropy, and asks its driver for a new transport.
/// It never retries after a final failure (`DisconnectReason::is_final`,
/// `ConnectError::is_final`), after the application closed the session,
/// or after the first login failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ReconnectPolicy {
    /// The delay before each attempt (at least 1 s is waited whatever it says).
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

    /// The delay before attempt `attempt` (1-based) with `random` bits for
    /// the jitter, or `None` when the policy gives up. Never less than
    /// 1 s. `None` for `random` takes the middle of the jitter's range
    /// (predictable, which a backoff may be). The core draws `random` from
    /// its seeded entropy.
    pub fn delay(&self, attempt: u32, random: Option<u64>) -> Option<Duration> {
        if self.max_attempts.is_some_and(|max| attempt > max) {
            return None;
        }
        let jitter = random.unwrap_or(u64::MAX / 2);
        Some(
            self.backoff
                .next_delay(attempt, jitter)
                .max(MIN_RECONNECT_DELAY),
        )
    }
}

/// Where the session stands between transports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Link {
    /// A transport is in use (logging in, online, or closing).
    Up,
    /// Waiting for `Timer::Reconnect` before asking for a transport.
    Waiting,
    /// `Output::Connect` is queued or handed out; waiting for
    /// `Input::Connected` or `Input::ConnectFailed`.
    Connecting,
}

/// What the session keeps across transports for reconnecting.
#[derive(Debug)]
pub(super) struct Reconnect {
    pub(super) link: Link,
    /// `Output::Connect` is still to be handed out.
    pub(super) connect: bool,
    /// The attempt being waited for or made (1 for the first after a
    /// drop); 0 while a transport is up.
    attempt: u32,
    /// Some connection of this session got online.
    was_online: bool,
    /// The application closed the session: nothing is retried.
    pub(super) closed_by_app: bool,
    /// A draw for the jitter and for each connection's negotiation
    /// (SCRAM nonces, the bind id), separate from the stanza ids: derived
    /// from the seed, so the first connection's transcript is what it was.
    entropy: Entropy,
    /// The TLS policy of a STARTTLS transport (the configuration's, or
    /// `Required` when the session began with direct TLS).
    starttls: TlsPolicy,
}

impl Reconnect {
    pub(super) fn new(seed: [u8; 32], tls: TlsPolicy) -> Self {
        Reconnect {
            link: Link::Up,
            connect: false,
            attempt: 0,
            was_online: false,
            closed_by_app: false,
            entropy: Entropy::new(seed).derive(b"xmpp-proto reconnect"),
            starttls: match tls {
                TlsPolicy::DirectTls => TlsPolicy::Required,
                other => other,
            },
        }
    }
}

impl Client {
    /// Called by `end` when a connection ends: the attempt and its delay
    /// when the session goes on with a new transport, `None` when it ends.
    pub(super) fn reconnect_plan(&mut self, reason: &DisconnectReason) -> Option<(u32, Duration)> {
        // A transport asked for but not yet handed out is no longer wanted.
        self.reconnect.connect = false;
        let policy = self.config.reconnect?;
        let r = &mut self.reconnect;
        if !r.was_online || r.closed_by_app || reason.is_final() {
            return None;
        }
        let attempt = r.attempt.saturating_add(1);
        let mut random = [0u8; 8];
        r.entropy.fill(&mut random);
        let delay = policy.delay(attempt, Some(u64::from_be_bytes(random)))?;
        Some((attempt, delay))
    }

    /// After the connection's teardown, a planned attempt: `Reconnecting`
    /// is queued and the wait armed.
    pub(super) fn reconnect_wait(
        &mut self,
        attempt: u32,
        delay: Duration,
        reason: DisconnectReason,
    ) {
        let r = &mut self.reconnect;
        r.attempt = attempt;
        r.link = Link::Waiting;
        let at = self.now.checked_add(delay).unwrap_or(self.now + FAR);
        self.timers.set(Timer::Reconnect, at);
        self.events.push_back(Event::Reconnecting {
            attempt,
            delay,
            reason,
        });
    }

    /// `Timer::Reconnect` fired: ask the driver for a transport.
    pub(super) fn reconnect_due(&mut self) {
        if self.reconnect.link == Link::Waiting {
            self.reconnect.link = Link::Connecting;
            self.reconnect.connect = true;
        }
    }

    /// `Input::Connected`: a new transport, secured as `security` says.
    pub(super) fn transport_connected(&mut self, security: Security) {
        if self.reconnect.link != Link::Connecting {
            return self.warn(
                WarningKind::UnexpectedInput,
                "Connected while no transport was asked for (Output::Connect); ignored".into(),
            );
        }
        self.reconnect.link = Link::Up;
        self.reconnect.connect = false;
        self.config.tls = match security {
            Security::DirectTls => TlsPolicy::DirectTls,
            Security::StartTls => self.reconnect.starttls,
        };
        self.reset_connection();
    }

    /// `Input::ConnectFailed`: the transport could not be opened or
    /// secured; `is_final` is the driver's verdict (`ConnectError::is_final`).
    pub(super) fn transport_failed(&mut self, is_final: bool) {
        if self.reconnect.link == Link::Waiting {
            // A late report about a transport already given up.
            return;
        }
        self.reconnect.link = Link::Up;
        self.reconnect.connect = false;
        // Nothing can be written any more.
        self.outbox.clear();
        self.end(DisconnectReason::ConnectFailed { is_final });
    }

    /// True from [`Output::Connect`](super::Output::Connect) until the
    /// driver feeds `Input::Connected` or `Input::ConnectFailed` (or the
    /// session ends, say by [`close`](Client::close)): a driver opening a
    /// transport abandons it when this turns false.
    pub fn is_connecting(&self) -> bool {
        !self.ended && self.reconnect.link == Link::Connecting
    }

    /// Whether input about the transport (bytes, its close) belongs to a
    /// transport in use; between transports it is a stale report of the
    /// old one, dropped.
    pub(super) fn transport_up(&self) -> bool {
        self.reconnect.link == Link::Up
    }

    /// Everything that belongs to one connection starts afresh; the
    /// modules, the stanza-id stream and the configuration stay.
    fn reset_connection(&mut self) {
        let mut seed = [0u8; 32];
        self.reconnect.entropy.fill(&mut seed);
        let direct = self.config.tls == TlsPolicy::DirectTls;
        self.state = State::initial(Entropy::new(seed), direct);
        self.reader = StreamReader::new(self.config.limits);
        self.outbox.clear();
        self.outbox.open = false;
        self.outbox.wrote = false;
        self.timers = TimerTable::default();
        self.timers
            .set(Timer::Connect, self.now + self.config.timeouts.connect);
        self.start_tls = false;
        self.close_transport = false;
        self.tls = false;
        self.channel_binding = None;
        self.mechanism = None;
        self.bound = None;
        self.heard = false;
        if !direct {
            self.open_plain_stream();
        }
    }

    /// The login event: `Online` for the session's first login,
    /// `Reconnected` for every later one; `resumed` for a XEP-0198
    /// resumption.
    pub(super) fn login_event(&mut self, jid: FullJid, resumed: bool) -> Event {
        let tls = self.tls;
        let mechanism = self.mechanism.unwrap_or(crate::sasl::Mechanism::Plain);
        let r = &mut self.reconnect;
        r.attempt = 0;
        if std::mem::replace(&mut r.was_online, true) {
            Event::Reconnected {
                jid,
                tls,
                mechanism,
                resumed,
            }
        } else {
            Event::Online {
                jid,
                tls,
                mechanism,
                resumed,
            }
        }
    }
}

/// A wait long enough to mean "never" that an `Instant` can still hold.
const FAR: Duration = Duration::from_secs(365 * 24 * 3600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_up_after_max_attempts_and_never_waits_less_than_a_second() {
        let policy = ReconnectPolicy::new()
            .backoff(Duration::from_millis(10), Duration::from_secs(4), 2)
            .max_attempts(3);
        for random in [Some(0), None, Some(u64::MAX)] {
            assert_eq!(policy.delay(1, random), Some(MIN_RECONNECT_DELAY));
            assert!(policy.delay(3, random).unwrap() >= MIN_RECONNECT_DELAY);
            assert_eq!(policy.delay(4, random), None);
        }
        let long =
            ReconnectPolicy::new().backoff(Duration::from_secs(8), Duration::from_secs(8), 1);
        assert_eq!(long.delay(9, Some(u64::MAX)), Some(Duration::from_secs(8)));
        assert!(ReconnectPolicy::new().delay(1_000, Some(7)).is_some());
    }
}
