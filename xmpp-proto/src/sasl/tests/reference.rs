//! An independent SCRAM computation (RFC 5802 §3) for scripted servers: the
//! `hmac`, `sha1` and `sha2` crates directly, with `Hi` written out, and no
//! code shared with the implementation under test.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::sasl::ScramHash;

pub(crate) fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

pub(crate) fn unb64(data: &str) -> Vec<u8> {
    STANDARD.decode(data).unwrap()
}

fn hmac(h: ScramHash, key: &[u8], data: &[u8]) -> Vec<u8> {
    match h {
        ScramHash::Sha1 => {
            let mut m = Hmac::<Sha1>::new_from_slice(key).unwrap();
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        ScramHash::Sha256 => {
            let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
    }
}

fn hash(h: ScramHash, data: &[u8]) -> Vec<u8> {
    match h {
        ScramHash::Sha1 => Sha1::digest(data).to_vec(),
        ScramHash::Sha256 => Sha256::digest(data).to_vec(),
    }
}

/// `Hi(str, salt, i)` exactly as RFC 5802 §2.2 spells it.
pub(crate) fn hi(h: ScramHash, password: &str, salt: &[u8], i: u32) -> Vec<u8> {
    let mut first = salt.to_vec();
    first.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac(h, password.as_bytes(), &first);
    let mut out = u.clone();
    for _ in 1..i {
        u = hmac(h, password.as_bytes(), &u);
        out.iter_mut().zip(&u).for_each(|(o, x)| *o ^= x);
    }
    out
}

/// The `client-first-message-bare` inside an initial response: everything
/// after the GS2 header (`flag "," [authzid] ","`).
pub(crate) fn bare(initial: &[u8]) -> String {
    let text = std::str::from_utf8(initial).unwrap();
    text.splitn(3, ',').nth(2).unwrap().to_owned()
}

/// The client nonce inside an initial response.
pub(crate) fn nonce(initial: &[u8]) -> String {
    let b = bare(initial);
    b.split(',')
        .find_map(|a| a.strip_prefix("r="))
        .unwrap()
        .to_owned()
}

/// What a correct client must answer and what a correct server signs.
pub(crate) struct Expected {
    pub(crate) client_final: String,
    pub(crate) server_final: String,
    pub(crate) salted_password: Vec<u8>,
}

/// Computes the client-final and server-final messages for a server-first
/// message `server_first` (whose `r=` holds the combined nonce).
pub(crate) fn expected(
    h: ScramHash,
    password: &str,
    initial: &[u8],
    server_first: &str,
    cbind_input: &[u8],
) -> Expected {
    let (mut salt, mut iterations, mut combined) = (None, None, None);
    for attr in server_first.split(',') {
        let (k, v) = attr.split_at(2);
        match k {
            "r=" => combined = Some(v.to_owned()),
            "s=" => salt = Some(unb64(v)),
            "i=" => iterations = Some(v.parse::<u32>().unwrap()),
            _ => {}
        }
    }
    let salted = hi(h, password, &salt.unwrap(), iterations.unwrap());
    let without_proof = format!("c={},r={}", b64(cbind_input), combined.unwrap());
    let auth = format!("{},{},{}", bare(initial), server_first, without_proof);
    let client_key = hmac(h, &salted, b"Client Key");
    let stored = hash(h, &client_key);
    let sig = hmac(h, &stored, auth.as_bytes());
    let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
    let server_key = hmac(h, &salted, b"Server Key");
    Expected {
        client_final: format!("{without_proof},p={}", b64(&proof)),
        server_final: format!("v={}", b64(&hmac(h, &server_key, auth.as_bytes()))),
        salted_password: salted,
    }
}

/// A server-first-message for an initial response: our nonce plus `suffix`,
/// the salt, the count, and `extra` (e.g. `",h=..."`) appended verbatim.
pub(crate) fn server_first(
    initial: &[u8],
    suffix: &str,
    salt: &[u8],
    i: u32,
    extra: &str,
) -> String {
    format!("r={}{suffix},s={},i={i}{extra}", nonce(initial), b64(salt))
}

/// The XEP-0474 `h=` value computed independently from the offer lists.
pub(crate) fn ssdp_h(h: ScramHash, mechanisms: &[&str], cb_types: Option<&[&str]>) -> String {
    let mut m: Vec<&str> = mechanisms.to_vec();
    m.sort();
    let mut s = m.join("\u{1e}");
    if let Some(types) = cb_types {
        let mut t = types.to_vec();
        t.sort();
        s.push('\u{1f}');
        s.push_str(&t.join("\u{1e}"));
    }
    b64(&hash(h, s.as_bytes()))
}

#[test]
fn reference_hi_matches_rfc_6070_pbkdf2_sha1_vector() {
    // RFC 6070 test case 2: P="password", S="salt", c=2.
    let out = hi(ScramHash::Sha1, "password", b"salt", 2);
    let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
}
