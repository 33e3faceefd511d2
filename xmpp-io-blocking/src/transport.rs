//! What wakes a session's loop, and the thread that reads its socket.
//!
//! ## The wakeup mechanism
//!
//! A session's loop (run by whoever calls
//! [`Reader::next_event`](crate::Reader::next_event)) waits on **one
//! `std::sync::mpsc` channel**, with `recv_timeout` set to the time left
//! until the core's next deadline (clamped to at least 1 ms). Three kinds of
//! [`Msg`] arrive there:
//!
//! * bytes read from the socket, sent by the connection's **reader thread**
//!   ([`spawn_reader`]), which does nothing but blocking `read`s;
//! * the outcome of resolving and connecting (a dialer thread per attempt);
//! * [`Msg::Wake`], sent by a [`Sender`](crate::Sender) after a command: the
//!   command itself was already carried out and written on the sender's
//!   thread (under the session's lock), so the wake only makes the loop
//!   look again at the core's deadline (a command may have moved it
//!   earlier: an IQ's timeout), its events and its end.
//!
//! So a command is written promptly whatever the loop is doing, deadlines
//! fire on time, and an idle session sleeps in two blocking calls (the
//! reader thread's `read`, the loop's `recv_timeout` until the next
//! keepalive) without using any CPU. The alternatives were a socket read
//! timeout polled for commands (a command would wait up to the timeout, or
//! the loop would spin), and a self-pipe with `poll(2)` (platform-specific
//! and `unsafe`, or an extra dependency, and a TLS session cannot be read
//! and written from two threads at once anyway).
//!
//! The reader thread ends when the socket reaches end of file or fails:
//! closing or dropping a connection shuts the socket down, which ends it.

use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::mpsc;

use xmpp_proto::connect::Candidate;

use crate::ConnectError;

/// The most one read takes: one maximal TLS record.
const READ_BUFFER: usize = 16 * 1024;

/// Something for the session's loop.
pub(crate) enum Msg {
    /// From the reader thread of connection `gen`.
    Net {
        /// Which connection (messages of an earlier one are ignored).
        gen: u64,
        /// What the socket gave.
        data: NetData,
    },
    /// From the dialer thread of attempt `gen`: resolution and TCP are done.
    Dialed {
        /// Which attempt.
        gen: u64,
        /// The connected socket and its candidate, or why there is none.
        result: Result<(TcpStream, Candidate), ConnectError>,
    },
    /// A command changed the session: look at it again.
    Wake,
}

/// What one `read` of the socket gave.
pub(crate) enum NetData {
    /// Bytes (encrypted, once TLS is on).
    Bytes(Vec<u8>),
    /// End of file.
    Eof,
    /// The read failed.
    Error(io::Error),
}

/// Starts the thread that reads `tcp` (a clone of the connection's socket)
/// and sends what it reads to the session's loop.
///
/// While the server sends nothing, the thread waits in a `peek` of one
/// byte: no read buffer is held by an idle session. Once bytes are there,
/// it reads them into a buffer of [`READ_BUFFER`] bytes made for this read
/// and sent on, shrunk to what was read (in place).
pub(crate) fn spawn_reader(tcp: TcpStream, gen: u64, tx: mpsc::Sender<Msg>) -> io::Result<()> {
    std::thread::Builder::new()
        .name("xmpp-io-blocking-read".into())
        .spawn(move || loop {
            let data = match read(&tcp) {
                Ok(buf) if buf.is_empty() => NetData::Eof,
                Ok(buf) => {
                    quick_ack(&tcp);
                    NetData::Bytes(buf)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => NetData::Error(e),
            };
            let last = !matches!(data, NetData::Bytes(_));
            if tx.send(Msg::Net { gen, data }).is_err() || last {
                return;
            }
        })
        .map(drop)
}

/// Waits for bytes without a buffer, then reads what is there (at most
/// [`READ_BUFFER`] bytes); empty at the end of the stream.
fn read(mut tcp: &TcpStream) -> io::Result<Vec<u8>> {
    if tcp.peek(&mut [0u8; 1])? == 0 {
        return Ok(Vec::new());
    }
    let mut buf = vec![0u8; READ_BUFFER];
    let n = tcp.read(&mut buf)?;
    buf.truncate(n);
    buf.shrink_to_fit();
    Ok(buf)
}

/// Acknowledges received data at once instead of after the delayed-ACK
/// timer (up to 40 ms on Linux), as the Tokio adapter does: servers that
/// write a response in several small segments without TCP_NODELAY (Prosody
/// sends two TLS 1.3 session tickets, then the stream features) otherwise
/// wait, under Nagle, for the ACK of the first segment. The reads happen
/// below TLS, so reads that only carry TLS records count too. Linux only;
/// elsewhere it does nothing.
fn quick_ack(tcp: &TcpStream) {
    // Best effort: a failure only means the usual delayed ACK.
    #[cfg(target_os = "linux")]
    let _ = socket2::SockRef::from(tcp).set_tcp_quickack(true);
    #[cfg(not(target_os = "linux"))]
    let _ = tcp;
}
