//! A tiny in-process XMPP server over real sockets, on plain threads, with
//! native-tls's server side. Everything else (certificates, plans,
//! scripts, what is recorded, how each read is answered) is `adapter`,
//! which the Tokio adapter's tests use too. It records every byte it
//! received (decrypted) with the time it arrived, so tests can check what
//! the client did NOT send, and when it sent it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use native_tls::{Identity, TlsAcceptor, TlsStream};

pub use crate::adapter::*;

/// A server's TLS side: the acceptor and its certificate.
pub struct ServerTls {
    pub acceptor: TlsAcceptor,
    /// The DER of the server's own (leaf) certificate.
    pub leaf_der: Vec<u8>,
}

impl Pki {
    /// A TLS server with a certificate for `names` issued by this CA (the
    /// chain sent: leaf, CA). The key goes to native-tls as PKCS#8 PEM;
    /// ALPN `xmpp-client` is accepted (direct TLS clients ask for it).
    pub fn server(&self, names: &[&str]) -> Arc<ServerTls> {
        let (cert, key) = self.issue(names);
        let chain = format!("{}{}", cert.pem(), self.ca_pem());
        let identity = Identity::from_pkcs8(chain.as_bytes(), key.serialize_pem().as_bytes())
            .expect("native-tls identity from PKCS#8");
        let acceptor = TlsAcceptor::builder(identity)
            .accept_alpn(&["xmpp-client"])
            .build()
            .unwrap();
        Arc::new(ServerTls {
            acceptor,
            leaf_der: cert.der().to_vec(),
        })
    }
}

/// `TestServer::start` on threads: a trait (in scope with the rest of this
/// module), since the Tokio adapter's server has a `start` of its own.
pub trait StartBlocking {
    /// Serves one plan per accepted connection, in order, each on a thread.
    fn start(tls: Arc<ServerTls>, plans: Vec<Plan>) -> Self;
}

impl StartBlocking for TestServer {
    /// Serves one plan per accepted connection, in order, each on a thread.
    fn start(tls: Arc<ServerTls>, plans: Vec<Plan>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let all = seen.clone();
        std::thread::spawn(move || {
            for plan in plans {
                let Ok((tcp, _)) = listener.accept() else {
                    return;
                };
                let record = TestServer::record_next(&all);
                let tls = tls.clone();
                std::thread::spawn(move || serve(tcp, plan, &tls, &record));
            }
        });
        TestServer { addr, seen }
    }
}

/// A stream the server can half-close (after a TLS close_notify).
trait Closable: Read + Write {
    fn close(&mut self);
}

impl Closable for TcpStream {
    fn close(&mut self) {
        let _ = self.shutdown(Shutdown::Write);
    }
}

impl Closable for TlsStream<TcpStream> {
    fn close(&mut self) {
        let _ = self.shutdown();
        let _ = self.get_ref().shutdown(Shutdown::Write);
    }
}

fn serve(mut tcp: TcpStream, plan: Plan, tls: &ServerTls, record: &Recorder) {
    let (plan, after) = plan.unwrap_after();
    match plan {
        Plan::DirectTls(mut script) => {
            if let Some(mut stream) = accept(tls, tcp, record) {
                pump(&mut stream, Conversation::new(&mut script, record, after));
            }
        }
        Plan::StartTls(mut script) => {
            let plain = Conversation::new(&mut script, record, After::default());
            if pump(&mut tcp, plain) == Next::Proceed {
                if let Some(mut stream) = accept(tls, tcp, record) {
                    pump(&mut stream, Conversation::new(&mut script, record, after));
                }
            }
        }
        _ => {
            // Refuse
            let _ = tcp.shutdown(Shutdown::Both);
        }
    }
}

fn accept(tls: &ServerTls, tcp: TcpStream, record: &Recorder) -> Option<TlsStream<TcpStream>> {
    let outcome = tls.acceptor.accept(tcp);
    record.handshake(match &outcome {
        Ok(stream) => Ok(Seen {
            alpn: stream.negotiated_alpn().ok().flatten(),
            channel_binding: stream.tls_server_end_point().ok().flatten(),
            ..Seen::default()
        }),
        Err(e) => Err(e.to_string()),
    });
    outcome.ok()
}

/// Reads client bytes and answers them until the conversation says to
/// start TLS or to close (or the client closes).
fn pump<S: Closable>(s: &mut S, mut talk: Conversation<'_>) -> Next {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => return Next::Close,
            Ok(n) => n,
        };
        let (reply, next) = talk.answer(&buf[..n]);
        if !reply.is_empty() && (s.write_all(&reply).is_err() || s.flush().is_err()) {
            return Next::Close;
        }
        match next {
            Next::Read => {}
            Next::Proceed => return next,
            Next::Close => {
                s.close();
                return next;
            }
        }
    }
}
