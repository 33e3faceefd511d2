//! A tiny in-process XMPP server over real sockets, on Tokio tasks, with
//! TLS from tokio-rustls. Everything else (certificates, plans, scripts,
//! what is recorded, how each read is answered) is in `adapter`, which
//! the blocking adapter's tests use too. It records every byte it received
//! (decrypted), so tests can check what the client did NOT send.

use std::sync::{Arc, Mutex};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

pub use crate::adapter::*;

impl Pki {
    /// A TLS server configuration with a certificate for `names`, ALPN
    /// `xmpp-client` offered (direct TLS clients ask for it).
    pub fn server_config(&self, names: &[&str]) -> Arc<ServerConfig> {
        let (cert, key) = self.issue(names);
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone(), CertificateDer::from(self.ca())],
                key,
            )
            .unwrap();
        config.alpn_protocols = vec![b"xmpp-client".to_vec()];
        Arc::new(config)
    }
}

/// `TestServer::start` on Tokio: a trait (in scope with the rest of this
/// module), since the blocking adapter's server has a `start` of its own.
#[allow(async_fn_in_trait)] // the tests await it where they call it
pub trait StartTokio {
    /// Serves one plan per accepted connection, in order.
    async fn start(config: Arc<ServerConfig>, plans: Vec<Plan>) -> Self;
}

impl StartTokio for TestServer {
    /// Serves one plan per accepted connection, in order.
    async fn start(config: Arc<ServerConfig>, plans: Vec<Plan>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let acceptor = TlsAcceptor::from(config);
        let all = seen.clone();
        tokio::spawn(async move {
            for plan in plans {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let record = TestServer::record_next(&all);
                tokio::spawn(serve(tcp, plan, acceptor.clone(), record));
            }
        });
        TestServer { addr, seen }
    }
}

async fn serve(mut tcp: TcpStream, plan: Plan, acceptor: TlsAcceptor, record: Recorder) {
    let (plan, after) = plan.unwrap_after();
    match plan {
        Plan::DirectTls(mut script) => {
            if let Some(mut tls) = accept(&acceptor, tcp, &record).await {
                pump(&mut tls, Conversation::new(&mut script, &record, after)).await;
            }
        }
        Plan::StartTls(mut script) => {
            let plain = Conversation::new(&mut script, &record, After::default());
            if pump(&mut tcp, plain).await == Next::Proceed {
                if let Some(mut tls) = accept(&acceptor, tcp, &record).await {
                    pump(&mut tls, Conversation::new(&mut script, &record, after)).await;
                }
            }
        }
        _ => {} // Refuse: dropped, so closed
    }
}

async fn accept(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
    record: &Recorder,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let outcome = acceptor.accept(tcp).await;
    record.handshake(match &outcome {
        Ok(tls) => {
            let conn = tls.get_ref().1;
            Ok(Seen {
                sni: conn.server_name().map(str::to_string),
                alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
                channel_binding: conn
                    .export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", None)
                    .ok()
                    .map(|e| e.to_vec()),
                resumed: Some(conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed)),
                ..Seen::default()
            })
        }
        Err(e) => Err(e.to_string()),
    });
    outcome.ok()
}

/// Reads client bytes and answers them until the conversation says to
/// start TLS or to close (or the client closes).
async fn pump<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S, mut talk: Conversation<'_>) -> Next {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match s.read(&mut buf).await {
            Ok(0) | Err(_) => return Next::Close,
            Ok(n) => n,
        };
        let (reply, next) = talk.answer(&buf[..n]);
        if !reply.is_empty() && s.write_all(&reply).await.is_err() {
            return Next::Close;
        }
        match next {
            Next::Read => {}
            Next::Proceed => return next,
            Next::Close => {
                let _ = s.shutdown().await;
                return next;
            }
        }
    }
}
