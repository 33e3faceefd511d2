#!/usr/bin/env python3
"""Probe an XMPP server the way scripts/prosody's instance is meant to be used.

For STARTTLS (TLS 1.3, then TLS 1.2 at most) and direct TLS it prints the TLS
version, whether the certificate verified against --ca for --domain, and the
SASL mechanisms offered; then it logs in with SCRAM-SHA-1 and with PLAIN,
checks that a wrong password is refused, and binds a resource. Standard
library only. Exit status 0 if every step passed.

Used by `scripts/prosody check`; see docs/interop.md.
"""

import argparse
import base64
import hashlib
import hmac
import os
import re
import socket
import ssl
import sys
import time

NS_STREAM = "http://etherx.jabber.org/streams"


class Fail(Exception):
    pass


class Conn:
    def __init__(self, sock, timeout):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.buf = ""

    def send(self, text):
        self.sock.sendall(text.encode())

    def read_until(self, pattern):
        rx = re.compile(pattern, re.S)
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            data = self.sock.recv(65536)
            if not data:
                raise Fail("connection closed; unread: %r" % self.buf[-300:])
            self.buf += data.decode()

    def open_stream(self, domain):
        self.send(
            "<?xml version='1.0'?><stream:stream to='%s' version='1.0' "
            "xmlns='jabber:client' xmlns:stream='%s'>" % (domain, NS_STREAM)
        )
        self.read_until(r"<stream:stream[^>]*>")
        m = self.read_until(r"<stream:features[^>]*>(.*?)</stream:features>")
        return m.group(1)


def mechanisms(features):
    return re.findall(r"<mechanism>([^<]+)</mechanism>", features)


def tls_context(ca, max_tls12=False):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    if max_tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def describe_tls(tls):
    cert = tls.getpeercert()
    sans = [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]
    return "%s %s, certificate verified (SAN %s)" % (tls.version(), tls.cipher()[0], ",".join(sans))


def connect_starttls(a, max_tls12=False):
    sock = socket.create_connection((a.host, a.starttls_port), timeout=a.timeout)
    c = Conn(sock, a.timeout)
    feats = c.open_stream(a.domain)
    if "urn:ietf:params:xml:ns:xmpp-tls" not in feats:
        raise Fail("no <starttls/> offered: %s" % feats)
    if "<required" not in feats:
        raise Fail("<starttls/> is not <required/>: %s" % feats)
    if mechanisms(feats):
        raise Fail("SASL offered before TLS: %s" % mechanisms(feats))
    c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    c.read_until(r"<proceed[^>]*/>")
    if c.buf:
        raise Fail("data after <proceed/>")
    c.sock = tls_context(a.ca, max_tls12).wrap_socket(sock, server_hostname=a.domain)
    c.sock.settimeout(a.timeout)
    return c, c.open_stream(a.domain)


def connect_direct_tls(a):
    sock = socket.create_connection((a.host, a.tls_port), timeout=a.timeout)
    tls = tls_context(a.ca).wrap_socket(sock, server_hostname=a.domain)
    c = Conn(tls, a.timeout)
    return c, c.open_stream(a.domain)


def b64(b):
    return base64.b64encode(b).decode()


def auth_plain(c, user, password):
    c.send(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>"
        % b64(b"\0" + user.encode() + b"\0" + password.encode())
    )
    m = c.read_until(r"<(success|failure)[^>]*?(/>|>.*?</\1>)")
    return m.group(1) == "success", m.group(0)


def auth_scram_sha1(c, user, password):
    cnonce = b64(os.urandom(18))
    bare = "n=%s,r=%s" % (user, cnonce)
    c.send(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>%s</auth>"
        % b64(("n,," + bare).encode())
    )
    m = c.read_until(r"<(challenge|failure)[^>]*?(/>|>(.*?)</\1>)")
    if m.group(1) != "challenge":
        return False, m.group(0)
    server_first = base64.b64decode(m.group(3)).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    if not attrs["r"].startswith(cnonce):
        raise Fail("server nonce does not extend ours")
    salted = hashlib.pbkdf2_hmac("sha1", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha1).digest()
    stored_key = hashlib.sha1(client_key).digest()
    without_proof = "c=%s,r=%s" % (b64(b"n,,"), attrs["r"])
    auth_msg = ",".join((bare, server_first, without_proof)).encode()
    client_sig = hmac.new(stored_key, auth_msg, hashlib.sha1).digest()
    proof = bytes(x ^ y for x, y in zip(client_key, client_sig))
    c.send(
        "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</response>"
        % b64((without_proof + ",p=" + b64(proof)).encode())
    )
    m = c.read_until(r"<(success|failure)[^>]*?(/>|>(.*?)</\1>)")
    if m.group(1) != "success":
        return False, m.group(0)
    server_key = hmac.new(salted, b"Server Key", hashlib.sha1).digest()
    want = "v=" + b64(hmac.new(server_key, auth_msg, hashlib.sha1).digest())
    got = base64.b64decode(m.group(3) or "").decode()
    if got != want:
        raise Fail("server signature mismatch: %r" % got)
    return True, "success (server signature verified, %s iterations)" % attrs["i"]


def bind(c, domain):
    feats = c.open_stream(domain)
    if "urn:ietf:params:xml:ns:xmpp-bind" not in feats:
        raise Fail("no bind feature after auth: %s" % feats)
    extras = [ns for ns in ("urn:xmpp:sm:3", "urn:xmpp:csi:0") if ns in feats]
    c.send(
        "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
        "<resource>probe</resource></bind></iq>"
    )
    m = c.read_until(r"<jid>([^<]+)</jid>")
    return m.group(1), extras


def close(c):
    try:
        c.send("</stream:stream>")
        c.sock.close()
    except OSError:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--starttls-port", type=int, default=15222)
    ap.add_argument("--tls-port", type=int, default=15223)
    ap.add_argument("--domain", default="localhost")
    ap.add_argument("--ca", required=True)
    ap.add_argument("--user", default="alice")
    ap.add_argument("--password", default="alice-pass")
    ap.add_argument("--timeout", type=float, default=10)
    a = ap.parse_args()

    failures = 0

    def step(name, fn):
        nonlocal failures
        t = time.monotonic()
        try:
            detail = fn()
            print("ok   %-44s %s (%.0f ms)" % (name, detail, 1000 * (time.monotonic() - t)))
        except (Fail, OSError, ssl.SSLError, KeyError, ValueError) as e:
            failures += 1
            print("FAIL %-44s %s" % (name, e))

    def starttls_mechs(max12):
        def run():
            c, feats = connect_starttls(a, max12)
            desc = describe_tls(c.sock)
            close(c)
            return "%s; mechanisms: %s" % (desc, " ".join(mechanisms(feats)))
        return run

    def direct_mechs():
        c, feats = connect_direct_tls(a)
        desc = describe_tls(c.sock)
        close(c)
        return "%s; mechanisms: %s" % (desc, " ".join(mechanisms(feats)))

    def login(connect, mech, password, expect_ok=True):
        def run():
            c, feats = connect()
            if mech not in mechanisms(feats):
                raise Fail("%s not offered (%s)" % (mech, mechanisms(feats)))
            fn = auth_scram_sha1 if mech == "SCRAM-SHA-1" else auth_plain
            ok, detail = fn(c, a.user, password)
            if ok != expect_ok:
                raise Fail("expected %s, got %s" % ("success" if expect_ok else "failure", detail))
            if not ok:
                close(c)
                return "refused as expected: %s" % detail
            jid, extras = bind(c, a.domain)
            close(c)
            return "%s; bound %s; stream features after auth include %s" % (detail, jid, extras or "none")
        return run

    def unencrypted_refused():
        sock = socket.create_connection((a.host, a.starttls_port), timeout=a.timeout)
        c = Conn(sock, a.timeout)
        c.open_stream(a.domain)
        c.send(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>"
            % b64(b"\0" + a.user.encode() + b"\0" + a.password.encode())
        )
        try:
            m = c.read_until(r"<(success|failure|stream:error)[^>]*?(/>|>.*?</\1>)")
        except Fail as e:
            return "server closed the stream (%s)" % str(e)[:60]
        if m.group(1) == "success":
            raise Fail("PLAIN auth succeeded without TLS")
        close(c)
        return "refused: %s" % re.sub(r"\s+", " ", m.group(0))[:120]

    def untrusted_rejected():
        # Without our CA (system trust store only) the chain must not verify.
        sock = socket.create_connection((a.host, a.tls_port), timeout=a.timeout)
        try:
            ssl.create_default_context().wrap_socket(sock, server_hostname=a.domain)
        except ssl.SSLCertVerificationError as e:
            return "rejected: %s" % e.verify_message
        finally:
            sock.close()
        raise Fail("certificate accepted without --ca")

    def disco():
        c, _ = connect_starttls(a)
        ok, detail = auth_scram_sha1(c, a.user, a.password)
        if not ok:
            raise Fail(detail)
        jid, _ = bind(c, a.domain)
        bare = jid.split("/")[0]
        out = []
        for i, target in enumerate((a.domain, bare, "conference." + a.domain)):
            c.send("<iq type='get' id='d%d' to='%s'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>" % (i, target))
            m = c.read_until(r"<iq[^>]*id=.d%d.[^>]*>(.*?)</iq>" % i)
            feats = sorted(re.findall(r"<feature var=.([^'\"]+)", m.group(1)))
            out.append("%s: %s" % (target, " ".join(feats)))
        close(c)
        return "\n       " + "\n       ".join(out)

    step("STARTTLS (TLS 1.3 allowed)", starttls_mechs(False))
    step("STARTTLS (TLS 1.2 at most)", starttls_mechs(True))
    step("direct TLS", direct_mechs)
    step("SCRAM-SHA-1 login over STARTTLS", login(lambda: connect_starttls(a), "SCRAM-SHA-1", a.password))
    step("PLAIN login over direct TLS", login(lambda: connect_direct_tls(a), "PLAIN", a.password))
    step("SCRAM-SHA-1 with a wrong password", login(lambda: connect_starttls(a), "SCRAM-SHA-1", a.password + "x", False))
    step("auth before STARTTLS", unencrypted_refused)
    step("certificate without our CA", untrusted_rejected)
    step("disco#info (server, account, MUC service)", disco)
    print("%d passed, %d failed" % (9 - failures, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
