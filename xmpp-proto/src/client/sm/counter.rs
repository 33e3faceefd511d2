//! XEP-0198 §4 counters: `h` counts stanzas modulo 2^32 ("reset from
//! 2^32-1 back to zero"), in both directions. Every comparison of an `h`
//! from the server with what we sent is made modulo 2^32 too: a counter is
//! never widened, never wrapped by accident, and an `h` the server could
//! not have reached is refused instead of trusted.

/// What an `h` from the server says about our unacknowledged stanzas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The server handled this many more of them (0 when it repeats itself).
    Handled(usize),
    /// More than we ever sent (XEP-0198 §6, `handled-count-too-high`).
    TooHigh,
    /// Fewer than it already acknowledged: it went back.
    Backwards,
}

/// Judges `h` against `acked` (the last `h` accepted) and `sent` (our
/// count of stanzas sent), all modulo 2^32. The stanzas not yet
/// acknowledged are `sent - acked` (mod 2^32); an `h` that moves `acked`
/// forward by no more than that is good. Anything else is too high when it
/// lies ahead of `sent` by less than half the counter's range, else behind
/// `acked` (there is no other way to tell the two apart modulo 2^32; the
/// queue is bounded far below 2^31 stanzas, so the split is exact).
pub(crate) fn judge(acked: u32, sent: u32, h: u32) -> Verdict {
    let unacked = sent.wrapping_sub(acked);
    let forward = h.wrapping_sub(acked);
    if forward <= unacked {
        // `forward` fits: it is at most the queue's length.
        Verdict::Handled(forward as usize)
    } else if acked.wrapping_sub(h) < 1 << 31 {
        Verdict::Backwards
    } else {
        Verdict::TooHigh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h_is_judged_modulo_2_32() {
        assert_eq!(judge(0, 0, 0), Verdict::Handled(0));
        assert_eq!(judge(0, 3, 2), Verdict::Handled(2));
        assert_eq!(judge(0, 3, 3), Verdict::Handled(3));
        assert_eq!(judge(0, 3, 4), Verdict::TooHigh);
        assert_eq!(judge(5, 8, 4), Verdict::Backwards);
        // Across the wrap: 3 sent from 2^32 - 2 on, `sent` is 1.
        let acked = u32::MAX - 1;
        let sent = acked.wrapping_add(3);
        assert_eq!(sent, 1);
        assert_eq!(judge(acked, sent, u32::MAX), Verdict::Handled(1));
        assert_eq!(judge(acked, sent, 0), Verdict::Handled(2));
        assert_eq!(judge(acked, sent, 1), Verdict::Handled(3));
        assert_eq!(judge(acked, sent, 2), Verdict::TooHigh);
        assert_eq!(judge(acked, sent, u32::MAX - 2), Verdict::Backwards);
        // Far away either way.
        assert_eq!(judge(10, 10, 10 + (1 << 31) - 1), Verdict::TooHigh);
        assert_eq!(judge(10, 10, 10 + (1 << 31) + 1), Verdict::Backwards);
    }
}
