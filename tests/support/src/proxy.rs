//! A loopback TCP proxy between a client and the real server, for interop
//! tests that cut connections: every connection accepted is forwarded to
//! the target; [`Proxy::cut`] closes all of them at once (both sockets, so
//! the server sees the close at once, as when a phone loses its network);
//! [`Proxy::cut_after`] closes them after so many more bytes in one
//! direction (the last chunk forwarded only in part: mid-stanza, mid-TLS
//! record). Threads and std only.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Which way bytes flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the client to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

/// A running proxy; it stops accepting when dropped.
pub struct Proxy {
    port: u16,
    live: Arc<Mutex<Vec<TcpStream>>>,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    /// Bytes left before a cut, per direction (negative: no cut planned).
    budget: Arc<[AtomicI64; 2]>,
    /// Bytes forwarded, per direction.
    forwarded: Arc<[AtomicUsize; 2]>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `target`.
    pub fn start(target: SocketAddr) -> std::io::Result<Proxy> {
        Proxy::start_delayed(target, Duration::ZERO)
    }

    /// As [`Proxy::start`], every byte held `one_way` in each direction
    /// (a round trip costs twice that): a slow link, for counting the
    /// round trips of a login by its time.
    pub fn start_delayed(target: SocketAddr, one_way: Duration) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let live = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let budget = Arc::new([AtomicI64::new(-1), AtomicI64::new(-1)]);
        let forwarded = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let (l, a, s) = (live.clone(), accepted.clone(), stop.clone());
        let (b, f) = (budget.clone(), forwarded.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                if let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) {
                    let mut guard = l.lock().unwrap_or_else(|e| e.into_inner());
                    guard.push(c2);
                    guard.push(s2);
                }
                a.fetch_add(1, Ordering::SeqCst);
                let shared = Shared {
                    live: l.clone(),
                    budget: b.clone(),
                    forwarded: f.clone(),
                    delay: one_way,
                };
                pipe(&client, &server, Direction::ToServer, shared.clone());
                pipe(&server, &client, Direction::ToClient, shared);
            }
        });
        Ok(Proxy {
            port,
            live,
            accepted,
            stop,
            budget,
            forwarded,
        })
    }

    /// Cuts every connection once `bytes` more have been forwarded in
    /// `direction` (the chunk that crosses the mark is forwarded only up to
    /// it). Replaces any cut planned before.
    pub fn cut_after(&self, direction: Direction, bytes: usize) {
        let other = 1 - direction as usize;
        self.budget[other].store(-1, Ordering::SeqCst);
        self.budget[direction as usize].store(bytes as i64, Ordering::SeqCst);
    }

    /// Forgets a planned [`Proxy::cut_after`].
    pub fn cancel_cut(&self) {
        for b in self.budget.iter() {
            b.store(-1, Ordering::SeqCst);
        }
    }

    /// True while a [`Proxy::cut_after`] has not happened yet.
    pub fn cut_pending(&self) -> bool {
        self.budget.iter().any(|b| b.load(Ordering::SeqCst) >= 0)
    }

    /// Bytes forwarded so far in `direction`, over all connections.
    pub fn forwarded(&self, direction: Direction) -> usize {
        self.forwarded[direction as usize].load(Ordering::SeqCst)
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Closes every connection open now (both ends); returns how many.
    pub fn cut(&self) -> usize {
        cut_all(&self.live)
    }
}

/// What the pipes of every connection share.
#[derive(Clone)]
struct Shared {
    live: Arc<Mutex<Vec<TcpStream>>>,
    budget: Arc<[AtomicI64; 2]>,
    forwarded: Arc<[AtomicUsize; 2]>,
    delay: Duration,
}

fn cut_all(live: &Mutex<Vec<TcpStream>>) -> usize {
    let mut guard = live.lock().unwrap_or_else(|e| e.into_inner());
    let n = guard.len() / 2;
    for s in guard.drain(..) {
        let _ = s.shutdown(Shutdown::Both);
    }
    n
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut();
        // Wake the accept loop so it sees `stop`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Copies `from` to `to` on a thread until either side closes, or a
/// planned cut in this direction comes.
fn pipe(from: &TcpStream, to: &TcpStream, direction: Direction, shared: Shared) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    let d = direction as usize;
    let delay = shared.delay;
    // With a delay, a second thread writes each chunk when its time comes.
    let delayed = (!delay.is_zero()).then(|| {
        let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
        let mut out = to.try_clone();
        thread::spawn(move || {
            for (at, bytes) in rx {
                thread::sleep(at.saturating_duration_since(Instant::now()));
                let Ok(o) = out.as_mut() else { break };
                if o.write_all(&bytes).is_err() {
                    break;
                }
            }
            if let Ok(o) = out {
                let _ = o.shutdown(Shutdown::Both);
            }
        });
        tx
    });
    thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let budget = shared.budget[d].load(Ordering::SeqCst);
            let (n, cut) = if budget >= 0 && n as i64 >= budget {
                (budget as usize, true)
            } else {
                if budget >= 0 {
                    shared.budget[d].fetch_sub(n as i64, Ordering::SeqCst);
                }
                (n, false)
            };
            let written = match &delayed {
                Some(tx) => tx.send((Instant::now() + delay, buf[..n].to_vec())).is_ok(),
                None => to.write_all(&buf[..n]).is_ok(),
            };
            if !written {
                break;
            }
            shared.forwarded[d].fetch_add(n, Ordering::SeqCst);
            if cut {
                shared.budget[d].store(-1, Ordering::SeqCst);
                cut_all(&shared.live);
                break;
            }
        }
        // With a delay, the writer closes `to` once the last chunk is out.
        if delayed.is_none() {
            let _ = to.shutdown(Shutdown::Both);
        }
        let _ = from.shutdown(Shutdown::Both);
    });
}

/// `t` as an XEP-0082 UTC date-time (seconds), e.g. for an archive query's
/// `start`: the civil date from the days since 1970 (H. Hinnant's
/// algorithm).
pub fn utc_stamp(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn stamps_are_utc_civil_dates() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_723); // 2000-02-29
        assert_eq!(utc_stamp(t), "2000-02-29T01:02:03Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_798_761_599);
        assert_eq!(utc_stamp(t), "2026-12-31T23:59:59Z");
    }

    #[test]
    fn bytes_pass_through_and_a_cut_closes_both_ends() {
        let server = TcpListener::bind("127.0.0.1:0").expect("bind");
        let proxy = Proxy::start(server.local_addr().expect("addr")).expect("proxy");
        let mut client = TcpStream::connect(("127.0.0.1", proxy.port())).expect("connect");
        let (mut far, _) = server.accept().expect("accept");
        client.write_all(b"ping").expect("write");
        let mut buf = [0u8; 4];
        far.read_exact(&mut buf).expect("read");
        assert_eq!(&buf, b"ping");
        while proxy.accepted() == 0 {
            thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(proxy.cut(), 1);
        let mut rest = Vec::new();
        assert_eq!(far.read_to_end(&mut rest).map(|_| rest.len()).ok(), Some(0));
    }

    #[test]
    fn a_planned_cut_forwards_up_to_the_mark_then_closes() {
        let server = TcpListener::bind("127.0.0.1:0").expect("bind");
        let proxy = Proxy::start(server.local_addr().expect("addr")).expect("proxy");
        let mut client = TcpStream::connect(("127.0.0.1", proxy.port())).expect("connect");
        let (mut far, _) = server.accept().expect("accept");
        proxy.cut_after(Direction::ToServer, 6);
        assert!(proxy.cut_pending());
        client.write_all(b"<mess").expect("write");
        let mut buf = [0u8; 5];
        far.read_exact(&mut buf).expect("read");
        client.write_all(b"age/>").expect("write");
        let mut rest = Vec::new();
        let _ = far.read_to_end(&mut rest);
        assert_eq!(rest, b"a", "one more byte, then the close");
        assert!(!proxy.cut_pending());
        assert_eq!(proxy.forwarded(Direction::ToServer), 6);
    }
}
