//! A property: whatever the interleaving of sends, acks (partial or
//! whole), cuts (losing what was in flight or not) and resumption
//! outcomes (resumed, failed with `h`, failed without), every message the
//! application handed over is reported exactly once, as acknowledged or
//! as given up, never both; every acknowledged one reached the server; and
//! when no resumption failed without `h` the server got each exactly once.

use std::collections::HashSet;

use proptest::prelude::*;

use super::*;
use xmpp_proto::Mechanism;

#[derive(Clone, Debug)]
enum Op {
    /// The application sends this many messages.
    Send(u8),
    /// The server acknowledges all it has but this many.
    Ack(u8),
    /// The connection is cut; `lose`: what the client wrote last never
    /// arrived. Then the resumption goes as `outcome` says.
    Cut { lose: bool, outcome: Outcome },
}

#[derive(Clone, Copy, Debug)]
enum Outcome {
    Resumed,
    FailedWithH,
    FailedWithoutH,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u8..4).prop_map(Op::Send),
        3 => (0u8..3).prop_map(Op::Ack),
        1 => (any::<bool>(), prop_oneof![
            Just(Outcome::Resumed),
            Just(Outcome::FailedWithH),
            Just(Outcome::FailedWithoutH)
        ])
            .prop_map(|(lose, outcome)| Op::Cut { lose, outcome }),
    ]
}

/// The server's side, as far as stream management goes.
struct Model {
    s: Session,
    /// Counting our stanzas (after `<enable/>` or a resume).
    counting: bool,
    /// Stanzas it handled in this SM session.
    handled: u32,
    /// The last `h` it sent.
    acked: u32,
    /// Every message id it received, in order (duplicates kept).
    received: Vec<String>,
    sent: Vec<String>,
    acked_ids: Vec<String>,
    unacked_ids: Vec<String>,
    next: u32,
    duplicates_allowed: bool,
}

impl Model {
    /// The client's bytes reach the server (or are lost).
    fn deliver(&mut self, lose: bool) {
        let bytes = self.s.sent();
        if lose {
            return;
        }
        let mut rest = bytes.as_str();
        while let Some(at) = rest.find('<') {
            rest = &rest[at..];
            if rest.starts_with("<enable ") {
                self.counting = true;
                self.handled = 0;
                self.acked = 0;
            } else if rest.starts_with("<message ") && self.counting {
                self.handled = self.handled.wrapping_add(1);
                let id = xmpp_proto::testing::attr_after(rest, "<message", "id").unwrap();
                self.received.push(id);
            } else if rest.starts_with("<iq ") && self.counting {
                self.handled = self.handled.wrapping_add(1);
            }
            rest = &rest[1..];
        }
    }

    fn collect(&mut self) {
        for e in sm_events(&mut self.s) {
            match e {
                SmEvent::Acked { ids } => self.acked_ids.extend(ids),
                SmEvent::Unacked { ids } => self.unacked_ids.extend(ids),
                _ => {}
            }
        }
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Send(n) => {
                for _ in 0..n {
                    let id = format!("m{}", self.next);
                    self.next += 1;
                    if self.s.client.send(self.s.now, message(&id)).is_ok() {
                        self.sent.push(id);
                    }
                }
                self.deliver(false);
            }
            Op::Ack(but) => {
                self.deliver(false);
                let h = self.handled.wrapping_sub(u32::from(but));
                if h.wrapping_sub(self.acked) <= self.handled.wrapping_sub(self.acked) {
                    self.acked = h;
                    self.s.server(&a(h));
                }
            }
            Op::Cut { lose, outcome } => {
                self.deliver(lose);
                self.counting = false;
                self.s
                    .client
                    .handle_input(Input::TransportClosed(self.s.now));
                self.s.drain();
                self.s.advance(Duration::from_secs(1));
                self.s.close_transport = false;
                self.s.start_tls.clear();
                self.s
                    .client
                    .handle_input(Input::Connected(self.s.now, Security::StartTls));
                self.s.starttls_to_sasl(&["PLAIN"], "", None);
                assert!(self.s.sent().contains("mechanism='PLAIN'"));
                self.s
                    .server("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
                let restart = self.s.sent();
                let features = format!("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>{SM}");
                let resume = restart_features(&mut self.s, &restart, &features);
                assert!(resume.starts_with("<resume "), "{resume}");
                match outcome {
                    Outcome::Resumed => {
                        self.counting = true;
                        self.acked = self.handled;
                        self.s.server(&format!(
                            "<resumed xmlns='urn:xmpp:sm:3' previd='sm-1' h='{}'/>",
                            self.handled
                        ));
                    }
                    Outcome::FailedWithH | Outcome::FailedWithoutH => {
                        if matches!(outcome, Outcome::FailedWithH) {
                            self.s.server(&format!(
                                "<failed xmlns='urn:xmpp:sm:3' h='{}'/>",
                                self.handled
                            ));
                        } else {
                            self.duplicates_allowed = true;
                            self.s.server("<failed xmlns='urn:xmpp:sm:3'/>");
                        }
                        let bind = self.s.sent();
                        self.s.server(&bound(&bind, "again"));
                        self.deliver(false);
                        self.s.server(ENABLED);
                    }
                }
                self.deliver(false);
            }
        }
        self.collect();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_message_is_reported_once_and_none_is_lost(
        ops in prop::collection::vec(op(), 1..24),
        final_ack in any::<bool>(),
    ) {
        let sm = SmConfig { max_unacked: 8, ..sm_config(3) };
        let c = config()
            .stream_management(sm)
            .timeouts(timeouts())
            .reconnect(policy())
            .mechanisms(&[Mechanism::Plain])
            .build();
        let mut s = Session::new(c);
        s.starttls_to_sasl(&["PLAIN"], "", None);
        s.sent();
        s.server("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
        s.bind_with_features("balcony", SM);
        let mut m = Model {
            s,
            counting: false,
            handled: 0,
            acked: 0,
            received: Vec::new(),
            sent: Vec::new(),
            acked_ids: Vec::new(),
            unacked_ids: Vec::new(),
            next: 0,
            duplicates_allowed: false,
        };
        m.deliver(false);
        m.s.server(ENABLED);
        for op in ops {
            m.apply(op);
            prop_assert!(m.s.client.is_online());
        }
        m.s.client.close(m.s.now);
        m.deliver(false);
        if final_ack {
            m.s.server(&(a(m.handled) + "</stream:stream>"));
        } else {
            m.s.server("</stream:stream>");
        }
        m.collect();
        let acked: HashSet<&String> = m.acked_ids.iter().collect();
        let unacked: HashSet<&String> = m.unacked_ids.iter().collect();
        let sent: HashSet<&String> = m.sent.iter().collect();
        prop_assert_eq!(acked.len(), m.acked_ids.len(), "acked twice: {:?}", m.acked_ids);
        prop_assert_eq!(unacked.len(), m.unacked_ids.len(), "given up twice: {:?}", m.unacked_ids);
        prop_assert!(acked.is_disjoint(&unacked), "both: {:?} {:?}", m.acked_ids, m.unacked_ids);
        let reported: HashSet<&String> = acked.union(&unacked).copied().collect();
        prop_assert_eq!(reported, sent, "every message reported");
        let received: HashSet<&String> = m.received.iter().collect();
        for id in &acked {
            prop_assert!(received.contains(id), "{} acknowledged, never received", id);
        }
        if final_ack {
            prop_assert!(m.unacked_ids.is_empty(), "all confirmed: {:?}", m.unacked_ids);
        }
        if !m.duplicates_allowed {
            prop_assert_eq!(received.len(), m.received.len(), "received twice: {:?}", m.received);
        }
    }
}
