//! XEP-0203 delayed delivery: `<delay stamp='…' from='…'>reason</delay>` on
//! a message stored and delivered later (§3), with its stamp in the
//! XEP-0082 DateTime profile (`CCYY-MM-DDThh:mm:ss[.sss]TZD`, §3.2).

use std::fmt;

use crate::stanza::{Jid, Message};
use crate::xml::Element;

/// The XEP-0203 namespace.
pub const NS_DELAY: &str = "urn:xmpp:delay";

/// Longest stamp accepted: the profile's longest sensible form with nine
/// fraction digits is 35 bytes; anything far longer is not a stamp.
const MAX_STAMP: usize = 64;

/// A XEP-0082 DateTime, validated: the text as received and the instant it
/// names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Stamp {
    text: String,
    unix: i64,
    nanos: u32,
}

/// Why a stamp is not a XEP-0082 DateTime.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a XEP-0082 DateTime (CCYY-MM-DDThh:mm:ss[.sss]TZD): {0:?}")]
pub struct StampError(pub String);

impl Stamp {
    /// Parses a XEP-0082 DateTime.
    pub fn parse(text: &str) -> Result<Stamp, StampError> {
        let bad = || StampError(text.chars().take(MAX_STAMP).collect());
        if text.len() > MAX_STAMP {
            return Err(bad());
        }
        let (unix, nanos) = parse_datetime(text.as_bytes()).ok_or_else(bad)?;
        Ok(Stamp {
            text: text.to_string(),
            unix,
            nanos,
        })
    }

    /// The stamp as received.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Seconds since 1970-01-01T00:00:00Z (negative before), and the
    /// nanoseconds within that second: to order and compare stamps.
    pub fn unix_time(&self) -> (i64, u32) {
        (self.unix, self.nanos)
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `<delay/>`: when (and by whom, and why) a message was delayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delay {
    /// When the message was originally sent (or stored).
    pub stamp: Stamp,
    /// The entity that delayed it, if it said.
    pub from: Option<Jid>,
    /// The reason, if any (`"Offline Storage"`).
    pub reason: Option<String>,
}

impl Delay {
    /// The `<delay/>` a message carries, if it has a valid one (an
    /// invalid stamp or `from` makes it no delay at all: it cannot be
    /// ordered by).
    pub fn of(message: &Message) -> Option<Delay> {
        message
            .payloads
            .iter()
            .find(|p| p.is(NS_DELAY, "delay"))
            .and_then(|p| Delay::try_from(p).ok())
    }
}

impl TryFrom<&Element> for Delay {
    type Error = StampError;

    fn try_from(e: &Element) -> Result<Delay, StampError> {
        let stamp = Stamp::parse(e.attr("stamp").unwrap_or_default())?;
        let from = match e.attr("from") {
            None => None,
            Some(f) => Some(f.parse::<Jid>().map_err(|_| StampError(f.into()))?),
        };
        let text = e.text();
        let reason = (!text.is_empty()).then(|| text.to_string());
        Ok(Delay {
            stamp,
            from,
            reason,
        })
    }
}

impl From<Delay> for Element {
    fn from(d: Delay) -> Element {
        let mut e = Element::new(NS_DELAY, "delay").with_attr("stamp", d.stamp.text);
        if let Some(from) = d.from {
            e.set_attr("from", from.to_string());
        }
        if let Some(reason) = d.reason {
            e = e.with_text(reason);
        }
        e
    }
}

/// `CCYY-MM-DDThh:mm:ss[.fraction](Z|(+|-)hh:mm)` to (unix seconds, nanos).
fn parse_datetime(b: &[u8]) -> Option<(i64, u32)> {
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0i64, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(at(4, b'-') && at(7, b'-') && at(10, b'T') && at(13, b':') && at(16, b':')) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if at(i, b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..9 {
            nanos *= 10;
        }
    }
    let offset = match b.get(i)? {
        b'Z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && at(i + 3, b':') => {
            let (h, m) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = h * 60 + m;
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let unix = days * 86_400 + hour * 3600 + minute * 60 + second - offset * 60;
    Some((unix, nanos))
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xep_0082_examples_and_offsets() {
        // XEP-0082 §3.2 examples: the same instant with and without fraction.
        let s = Stamp::parse("1969-07-21T02:56:15Z").expect("stamp");
        assert_eq!(s.unix_time(), (-14_159_025, 0));
        let s = Stamp::parse("1969-07-20T21:56:15-05:00").expect("stamp");
        assert_eq!(s.unix_time(), (-14_159_025, 0));
        let s = Stamp::parse("2002-09-10T23:08:25.123Z").expect("stamp");
        assert_eq!(s.unix_time(), (1_031_699_305, 123_000_000));
        assert_eq!(s.as_str(), "2002-09-10T23:08:25.123Z");
        let s = Stamp::parse("1970-01-01T00:00:00.000000000001+00:00").expect("stamp");
        assert_eq!(s.unix_time(), (0, 0));
        assert_eq!(
            Stamp::parse("2000-02-29T00:00:00Z")
                .expect("leap")
                .unix_time()
                .0,
            951_782_400
        );
    }

    #[test]
    fn malformed_stamps_are_refused() {
        for bad in [
            "",
            "2002-09-10",
            "2002-09-10T23:08:25",
            "2002-09-10 23:08:25Z",
            "2002-13-10T23:08:25Z",
            "2001-02-29T23:08:25Z",
            "2002-09-10T24:08:25Z",
            "2002-09-10T23:08:25.Z",
            "2002-09-10T23:08:25+0100",
            "2002-09-10T23:08:25Zjunk",
            "２００２-09-10T23:08:25Z",
            &format!("2002-09-10T23:08:25.{}Z", "1".repeat(80)),
        ] {
            assert!(Stamp::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn delay_element_round_trips() {
        let d = Delay {
            stamp: Stamp::parse("2002-09-10T23:08:25Z").expect("stamp"),
            from: Some("capulet.com".parse().expect("jid")),
            reason: Some("Offline Storage".into()),
        };
        let e = Element::from(d.clone());
        assert_eq!(Delay::try_from(&e), Ok(d));
        let m = Message::default().with_payload(e);
        assert!(Delay::of(&m).is_some());
        let m = Message::default()
            .with_payload(Element::new(NS_DELAY, "delay").with_attr("stamp", "yesterday"));
        assert_eq!(Delay::of(&m), None);
    }
}
