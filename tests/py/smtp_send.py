#!/usr/bin/env python3
"""`podsift brief --send` against a real SMTP server (aiosmtpd) on 127.0.0.1.

    smtp_send.py PODSIFT_BIN INDEX_DIR WORK_DIR

Run by tests/integration/mail.rs against an index of the demo corpus (with a
hostile transcript whose text holds `<script>`). The server requires STARTTLS
(a throwaway CA and certificate made here, trusted through `ca_file`) and
AUTH (a password from the variable `password_env` names). In order:

1. a wrong password: the server answers 535; exit 2, one clean line
   naming the login, state unchanged;
2. the server refuses the message (550, with a terminal escape in its
   reply): exit 2, one clean line, state unchanged;
3. the server vanishes after reading the message, before its reply: exit 2,
   state unchanged;
4. a good send: exit 0; the message arrives once, parses with `email`, is
   multipart/alternative with text/plain and text/html, both holding every
   insight (its deep link, or for a local file its title), no `<script>`; the state now records them, and
   they are the insights the failed runs would have sent;
5. the next send does not repeat them.

Prints one line per check; exits non-zero on the first failure.
"""
import datetime
import email
import email.policy
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

BIN, INDEX, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
STATE = os.path.join(INDEX, "brief-state.json")
PASSWORD = "correct horse battery staple"


def ok(what):
    print(f"ok: {what}", flush=True)


def check(cond, what, detail=""):
    if not cond:
        raise AssertionError(f"{what}: {detail}")
    ok(what)


def throwaway_tls():
    """A CA and a certificate for 127.0.0.1 it signed; the CA's PEM path and a server context."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "podsift test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])).issuer_name(ca_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)
    ca_path, cert_path, key_path = (os.path.join(WORK, n) for n in ("ca.pem", "server.pem", "server.key"))
    with open(ca_path, "wb") as f:
        f.write(pem(ca))
    with open(cert_path, "wb") as f:
        f.write(pem(cert))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert_path, key_path)
    return ca_path, ctx


class Handler:
    """Keeps what arrives; `mode` says how to answer the end of DATA."""

    def __init__(self):
        self.mode = "accept"
        self.received = []
        self.tls_seen = []

    async def handle_DATA(self, server, session, envelope):
        self.tls_seen.append(session.ssl is not None)
        if self.mode == "refuse":
            return "550 5.7.1 \x1b[2Jmessage refused by policy"
        if self.mode == "vanish":
            # The whole message was read; the server goes away before it
            # answers, so the client cannot know it was kept.
            server.transport.abort()
            return "250 never sent"
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK queued"


def authenticator(server, session, envelope, mechanism, auth_data):
    good = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
    # handled=False: aiosmtpd answers a failure itself (535); with its
    # default (True) it sends nothing and the client waits for a reply.
    return AuthResult(success=good, handled=False)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def state_bytes():
    try:
        with open(STATE, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def podsift(*args, password=PASSWORD):
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR")}
    env.update(HF_HUB_OFFLINE="1", PODSIFT_SMTP_PASSWORD=password)
    p = subprocess.run([BIN, "--index", INDEX, *args], cwd=WORK, env=env, capture_output=True,
                       text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def failed_send(handler, mode, password, needle, what):
    handler.mode = mode
    before, n = state_bytes(), len(handler.received)
    code, out, err = podsift("brief", "--profile", "profile.toml", "--send", password=password)
    lines = err.strip().splitlines()
    check(code == 2, f"{what}: exit 2", f"{code} {err}")
    check(len(lines) == 1 and needle in lines[0], f"{what}: one line saying why", err)
    check("\x1b" not in err and "state unchanged" in err, f"{what}: clean, says the state is unchanged", err)
    check(state_bytes() == before and len(handler.received) == n, f"{what}: brief state unchanged")


def main():
    ca, ctx = throwaway_tls()
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=ctx,
                            require_starttls=True, authenticator=authenticator, auth_require_tls=True)
    controller.start()
    try:
        with open(os.path.join(WORK, "profile.toml"), "w") as f:
            f.write(f"""interests = ["composting at home", "computer chips", "compost heap temperature"]
n = 4
related = 1
since = "30d"

[email]
to = "Reader <reader@example.com>"
from = "podsift <podsift@example.com>"
smtp = "smtp://127.0.0.1:{port}"
tls = "starttls"
password_env = "PODSIFT_SMTP_PASSWORD"
ca_file = "ca.pem"
""")
        # What the brief would send (a dry run records nothing).
        code, out, err = podsift("--json", "brief", "--profile", "profile.toml", "--dry-run")
        check(code == 0, "dry-run brief", err)
        want = [json.loads(l) for l in out.splitlines() if l.strip()]
        want = [i for i in want if i["type"] == "insight"]
        check(len(want) >= 2, "the brief has insights", want)
        check(any("<script>" in i["text"] for i in want), "one insight holds the hostile <script> text")
        code, out, err = podsift("brief", "--profile", "profile.toml", "--send", "--dry-run")
        check(code == 0 and "Content-Type: multipart/alternative" in out and not handler.received
              and state_bytes() is None, "--send --dry-run prints the message, sends nothing", err)

        failed_send(handler, "accept", "not the password", "did not accept the login", "wrong password")
        failed_send(handler, "refuse", PASSWORD, "refused the message: 550", "550 refusal")
        failed_send(handler, "vanish", PASSWORD, "could not deliver to 127.0.0.1", "vanishing server")

        handler.mode = "accept"
        eml = os.path.join(WORK, "brief.eml")
        code, out, err = podsift("brief", "--profile", "profile.toml", "--send", "-o", eml)
        check(code == 0, "the next send delivers", err)
        check(f"sent the brief ({len(want)} insights) to Reader <reader@example.com>" in err, "it says so", err)
        check(len(handler.received) == 1 and all(handler.tls_seen[-1:]), "one message arrived, over TLS")
        sender, rcpts, raw = handler.received[0]
        check(sender == "podsift@example.com" and rcpts == ["reader@example.com"], "envelope", (sender, rcpts))
        with open(eml, "rb") as f:
            saved = f.read()
        check(saved.replace(b"\r\n", b"\n").strip() == raw.replace(b"\r\n", b"\n").strip(),
              "-o saved the message as sent", saved[:200])
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        check(msg.get_content_type() == "multipart/alternative", "multipart/alternative", msg.get_content_type())
        check(msg["Subject"].startswith("podsift brief, ") and f"{len(want)} insights" in msg["Subject"], "subject", msg["Subject"])
        check("List-Unsubscribe" not in msg and "Precedence" not in msg, "a personal message")
        parts = {p.get_content_type(): p for p in msg.iter_parts()}
        check(set(parts) == {"text/plain", "text/html"}, "text and HTML parts", list(parts))
        text = parts["text/plain"].get_content()
        html = parts["text/html"].get_content()
        check(all(p.get_content_charset() == "utf-8" for p in parts.values()), "UTF-8 parts")
        for i in want:
            if i["link"]:
                check(i["link"] in text and i["link"].replace("&", "&amp;") in html,
                      f"both parts link insight {i['id']}", i["link"])
            else:  # a local file without a URL: its episode is named
                check(i["title"] in text, f"the text part names insight {i['id']}", i["title"])
            for r in i["related"]:
                if r["link"]:
                    check(r["link"] in text and r["link"] in html, f"both parts link related {r['id']}")
        check("<script" not in html.lower() and "&lt;script&gt;" in html, "no <script> in the HTML, escaped")
        state = json.loads(state_bytes())
        check({int(i["id"], 16) for i in want} <= set(state["sent"]), "the state records the insights sent",
              state)

        # The next send has nothing new to repeat.
        code, out, err = podsift("brief", "--profile", "profile.toml", "--send")
        check(code == 0, "a second send runs", err)
        if len(handler.received) == 2:
            again = email.message_from_bytes(handler.received[1][2], policy=email.policy.default)
            body = again.get_body(("plain",)).get_content()
            check(not any(i["link"] and i["link"] in body for i in want), "the next brief repeats none of them")
        else:
            check("No email sent" in err, "nothing new: no email", err)
    finally:
        controller.stop()
    print("all checks passed", flush=True)


main()
