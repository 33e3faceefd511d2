//! The server side of SCRAM (RFC 5802 §3), written independently of the
//! client code, for scripted-server tests. Built on the `sasl` crate's
//! hash/HMAC/PBKDF2 primitives; the nonce suffix, salt and iteration count
//! are fixed so transcripts are reproducible. `Tamper` lets a test play a
//! server that lies.
#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sasl::common::scram::{ScramProvider, Sha1, Sha256};
use sasl::common::Password;

/// How the server misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Tamper {
    /// An honest server.
    #[default]
    None,
    /// server-final carries a wrong `v=`.
    WrongSignature,
    /// `<success/>` without `v=`.
    NoSignature,
    /// The server nonce does not start with the client nonce.
    ForeignNonce,
    /// An absurd iteration count (10^10 does not fit; use u32::MAX).
    HugeIterations,
}

/// Which hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    /// SCRAM-SHA-1
    Sha1,
    /// SCRAM-SHA-256
    Sha256,
}

/// One SCRAM exchange, server side.
#[derive(Debug)]
pub struct ScramServer {
    pub hash: Hash,
    pub password: String,
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub tamper: Tamper,
    /// Extra attributes appended to server-first (e.g. XEP-0474's `d=`).
    pub server_first_extra: String,
    client_first_bare: String,
    server_first: String,
    /// The GS2 header the client sent ("n,,", "y,,", "p=tls-exporter,,").
    pub gs2_header: String,
    /// What the client's `c=` decoded to.
    pub cbind_input: Vec<u8>,
}

fn hmac(h: Hash, key: &[u8], data: &[u8]) -> Vec<u8> {
    match h {
        Hash::Sha1 => Sha1::hmac(data, key).expect("hmac"),
        Hash::Sha256 => Sha256::hmac(data, key).expect("hmac"),
    }
}

fn digest(h: Hash, data: &[u8]) -> Vec<u8> {
    match h {
        Hash::Sha1 => Sha1::hash(data),
        Hash::Sha256 => Sha256::hash(data),
    }
}

/// PBKDF2 of the password (RFC 5802 `Hi`).
pub fn salted_password(h: Hash, password: &str, salt: &[u8], iterations: u32) -> Vec<u8> {
    let p = Password::Plain(password.to_string());
    match h {
        Hash::Sha1 => Sha1::derive(&p, salt, iterations).expect("derive"),
        Hash::Sha256 => Sha256::derive(&p, salt, iterations).expect("derive"),
    }
}

/// The base64 text between `<tag …>` and `</tag>` in the client's XML.
pub fn payload_of(xml: &str, tag: &str) -> Vec<u8> {
    let start = xml.find(&format!("<{tag}")).expect("tag sent");
    let body_start = start + xml[start..].find('>').expect("tag end") + 1;
    let body_end = body_start + xml[body_start..].find('<').expect("end tag");
    let text = &xml[body_start..body_end];
    if text == "=" {
        return Vec::new();
    }
    B64.decode(text).expect("base64 payload")
}

impl ScramServer {
    pub fn new(hash: Hash, password: &str) -> Self {
        ScramServer {
            hash,
            password: password.into(),
            salt: b"QSXCR+Q6sek8bf92".to_vec(),
            iterations: 4096,
            tamper: Tamper::None,
            server_first_extra: String::new(),
            client_first_bare: String::new(),
            server_first: String::new(),
            gs2_header: String::new(),
            cbind_input: Vec::new(),
        }
    }

    /// The salted keys a client derives for this server's salt and count
    /// from `password` (what a first login hands out as `Event::ScramKeys`).
    pub fn keys(&self, password: &str) -> xmpp_proto::sasl::ScramKeys {
        xmpp_proto::sasl::ScramKeys {
            mechanism_hash: match self.hash {
                Hash::Sha1 => xmpp_proto::sasl::ScramHash::Sha1,
                Hash::Sha256 => xmpp_proto::sasl::ScramHash::Sha256,
            },
            salted_password: salted_password(self.hash, password, &self.salt, self.iterations),
            salt: self.salt.clone(),
            iterations: self.iterations,
        }
    }

    /// Appends XEP-0474's downgrade-protection hash of the mechanism list
    /// `mechanisms` (joined by U+001E, hashed with this exchange's hash) to
    /// server-first.
    pub fn advertise_mechanisms(&mut self, mechanisms: &[&str]) {
        let h = digest(self.hash, mechanisms.join("\u{1e}").as_bytes());
        self.server_first_extra = format!(",h={}", B64.encode(h));
    }

    /// The `<challenge/>` answering the client's `<auth/>` in `xml`.
    pub fn challenge(&mut self, xml: &str) -> String {
        let first = String::from_utf8(payload_of(xml, "auth")).expect("utf8 client-first");
        // gs2-header = cbind-flag "," [authzid] ","
        let mut parts = first.splitn(3, ',');
        let flag = parts.next().unwrap_or_default();
        let authz = parts.next().unwrap_or_default();
        let bare = parts.next().unwrap_or_default().to_string();
        self.gs2_header = format!("{flag},{authz},");
        let cnonce = bare
            .split(',')
            .find_map(|a| a.strip_prefix("r="))
            .expect("client nonce")
            .to_string();
        let nonce = match self.tamper {
            Tamper::ForeignNonce => "someoneelsesnonce3rfcNHYJY1ZVvWVs7j".to_string(),
            _ => format!("{cnonce}3rfcNHYJY1ZVvWVs7j"),
        };
        let iterations = match self.tamper {
            Tamper::HugeIterations => u32::MAX,
            _ => self.iterations,
        };
        self.server_first = format!(
            "r={nonce},s={},i={iterations}{}",
            B64.encode(&self.salt),
            self.server_first_extra
        );
        self.client_first_bare = bare;
        format!(
            "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</challenge>",
            B64.encode(&self.server_first)
        )
    }

    /// The `<success/>` (or `<failure/>` for a wrong proof) answering the
    /// client's `<response/>` in `xml`.
    pub fn outcome(&mut self, xml: &str) -> String {
        let fin = String::from_utf8(payload_of(xml, "response")).expect("utf8 client-final");
        let (without_proof, proof) = fin.rsplit_once(",p=").expect("proof");
        let c = without_proof
            .split(',')
            .find_map(|a| a.strip_prefix("c="))
            .expect("c=");
        self.cbind_input = B64.decode(c).expect("c= base64");
        let auth_message = format!(
            "{},{},{}",
            self.client_first_bare, self.server_first, without_proof
        );
        let h = self.hash;
        let salted = salted_password(h, &self.password, &self.salt, self.iterations);
        let client_key = hmac(h, &salted, b"Client Key");
        let stored_key = digest(h, &client_key);
        let client_sig = hmac(h, &stored_key, auth_message.as_bytes());
        let expected: Vec<u8> = client_key
            .iter()
            .zip(&client_sig)
            .map(|(a, b)| a ^ b)
            .collect();
        if B64.decode(proof).ok().as_deref() != Some(&expected[..]) {
            return "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/>\
                    <text xml:lang='en'>Invalid username or password</text></failure>"
                .into();
        }
        let server_key = hmac(h, &salted, b"Server Key");
        let mut server_sig = hmac(h, &server_key, auth_message.as_bytes());
        let v = match self.tamper {
            Tamper::NoSignature => {
                return "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>".into();
            }
            Tamper::WrongSignature => {
                server_sig[0] ^= 1;
                B64.encode(&server_sig)
            }
            _ => B64.encode(&server_sig),
        };
        format!(
            "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</success>",
            B64.encode(format!("v={v}"))
        )
    }
}
