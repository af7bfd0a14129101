"""SMTP over TLS and SMTP AUTH, as a customer's mail server sees them.

A throwaway CA and server certificates for 127.0.0.1, made with Debian's
openssl in a temp dir at the start, and Debian's python3-aiosmtpd on a free
loopback port, in this process, recording every byte it receives and whether
a TLS session carried it. Mails are sent by tests/reminder/mail_driver
(common/io/sk_mailer, as the reminder worker sends) and, for AUTH, by the
real skonto-reminder with a queued reminder:

- STARTTLS required (SKONTO_SMTP_STARTTLS=1): delivered, only EHLO and
  STARTTLS in clear;
- a server that offers no STARTTLS, or refuses it: nothing else in clear
  (no AUTH, no MAIL, no password), outcome retry with a clear reason;
- smtps:// (implicit TLS): delivered, nothing in clear;
- a certificate SKONTO_SMTP_CA_FILE does not trust, one for another host
  name, our CA's without SKONTO_SMTP_CA_FILE: refused, nothing sent;
- AUTH LOGIN and AUTH PLAIN (SKONTO_SMTP_USER, SKONTO_SMTP_PASSWORD_FILE)
  over STARTTLS: a wrong password is retry with the server's text and no
  mail, the right one delivers; the password is in no log.
"""
import email
import email.policy
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import unittest

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

from harness import free_port
import test_reminder as tr

BUILD = os.environ.get("SK_BUILD_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "build")
DRIVER = os.path.join(BUILD, "tests", "reminder", "mail_driver")
USER = "billing-relay"
PASSWORD = "S3cret-pass-9f1c"
WRONG = "Wrong-pass-7a2e"
NO_STARTTLS = "the server offers no STARTTLS, and SKONTO_SMTP_STARTTLS=1 requires it: nothing sent"
CERTS = None  # the temp dir of setUpModule


def _openssl(*args):
    subprocess.run(["openssl", *args], cwd=CERTS, check=True, capture_output=True)


def _ca(name):
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", name + ".key", "-out", name + ".pem", "-subj", "/CN=Skonto test " + name,
             "-days", "2")


def _server_cert(name, ca, san, serial):
    """name.pem/name.key: a server certificate with subjectAltName san, signed by ca."""
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name)
    with open(os.path.join(CERTS, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n" % san)
    _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
             "-set_serial", str(serial), "-days", "2", "-out", name + ".pem",
             "-extfile", name + ".ext")


def setUpModule():
    global CERTS
    CERTS = tempfile.mkdtemp(prefix="skonto-tls-")
    _ca("ca")
    _ca("other-ca")
    _server_cert("server", "ca", "IP:127.0.0.1", 2)        # what SKONTO_SMTP_CA_FILE trusts
    _server_cert("untrusted", "other-ca", "IP:127.0.0.1", 3)  # right name, another CA
    _server_cert("wrongname", "ca", "DNS:mail.skonto.test", 4)  # our CA, another host
    tr.setUpModule()


def tearDownModule():
    shutil.rmtree(CERTS, ignore_errors=True)


def cert(name):
    return os.path.join(CERTS, name + ".pem")


def tls_context(name="server"):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert(name), os.path.join(CERTS, name + ".key"))
    return ctx


class Box:
    """The handler: keeps each mail with the TLS version of its session and
    the login that authenticated it; checks AUTH against USER/PASSWORD."""

    def __init__(self):
        self.lock = threading.Lock()
        self.mails = []  # dicts: to, raw, tls, login, peer
        self.auth = []   # (mechanism, login, ok)

    async def handle_DATA(self, server, session, envelope):
        so = server.transport.get_extra_info("ssl_object")
        with self.lock:
            self.mails.append({"to": list(envelope.rcpt_tos), "raw": envelope.original_content,
                               "tls": so.version() if so else None,
                               "login": session.auth_data.login if session.authenticated else None,
                               "peer": session.peer})
        return "250 2.0.0 Message accepted"

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode())
        with self.lock:
            self.auth.append((mechanism, auth_data.login.decode(), ok))
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class RecordingSMTP(SMTP):
    """aiosmtpd's SMTP, recording what it receives: (under TLS?, bytes)."""

    def __init__(self, *args, received, refuse_starttls=None, **kw):
        super().__init__(*args, **kw)
        self.received = received
        self.refuse_starttls = refuse_starttls

    def data_received(self, data):
        tls = self.transport.get_extra_info("ssl_object") is not None
        self.received.append((tls, bytes(data)))
        super().data_received(data)

    async def smtp_STARTTLS(self, arg):
        if self.refuse_starttls:
            return await self.push(self.refuse_starttls)
        return await super().smtp_STARTTLS(arg)


class Server(Controller):
    """A Controller whose sessions record into self.received."""

    def __init__(self, handler, refuse_starttls=None, **kw):
        self.port = free_port()
        self.received = []
        self.refuse_starttls = refuse_starttls
        super().__init__(handler, hostname="127.0.0.1", port=self.port, **kw)

    def factory(self):
        return RecordingSMTP(self.handler, received=self.received,
                             refuse_starttls=self.refuse_starttls, **self.SMTP_kwargs)

    def clear_lines(self):
        """The command lines received outside TLS."""
        data = b"".join(b for tls, b in self.received if not tls)
        return [l.decode("latin-1") for l in data.split(b"\r\n") if l]

    def all_bytes(self):
        return b"".join(b for _, b in self.received)


def verbs(lines):
    return [l.split()[0].upper() for l in lines]


class DriverCase(unittest.TestCase):
    def setUp(self):
        self.box = Box()
        self.servers = []
        self.pwfile = os.path.join(CERTS, "%s.pass" % self.id())

    def tearDown(self):
        for s in self.servers:
            s.stop()

    def server(self, **kw):
        s = Server(self.box, **kw)
        s.start()
        self.servers.append(s)
        return s

    def env(self, url, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKONTO_")}
        env.update(SKONTO_SMTP_URL=url, SKONTO_SMTP_CA_FILE=cert("ca"))
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def password(self, pw):
        with open(self.pwfile, "w") as f:
            f.write(pw + "\n")
        return self.pwfile

    def drive(self, env, *targets):
        out = subprocess.run([DRIVER, *targets], env=env, capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        for secret in (PASSWORD, WRONG):
            self.assertNotIn(secret, out.stdout + out.stderr)
        return [json.loads(l) for l in out.stdout.splitlines()]


class StartTlsTest(DriverCase):
    def test_starttls_delivered(self):
        """STARTTLS required: both mails arrive over TLS on one connection, and
        nothing but EHLO and STARTTLS went in clear."""
        s = self.server(tls_context=tls_context())
        res = self.drive(self.env("smtp://127.0.0.1:%d" % s.port, SKONTO_SMTP_STARTTLS="1"),
                         "en-US:ann@example.com", "en-US:bob@example.com")
        self.assertEqual([r["outcome"] for r in res], ["sent", "sent"], res)
        self.assertEqual([r["connects"] for r in res], [1, 0])
        self.assertEqual([m["to"] for m in self.box.mails],
                         [["ann@example.com"], ["bob@example.com"]])
        for m in self.box.mails:
            self.assertIn(m["tls"], ("TLSv1.2", "TLSv1.3"))
        self.assertEqual(self.box.mails[0]["peer"], self.box.mails[1]["peer"])
        self.assertEqual(verbs(s.clear_lines()), ["EHLO", "STARTTLS"])
        msg = email.message_from_bytes(self.box.mails[0]["raw"], policy=email.policy.default)
        self.assertEqual(msg["Message-ID"], "<reminder.SO-1.1@skonto.test>")

    def test_no_starttls_offered(self):
        """The server offers no STARTTLS: nothing else is sent in clear (no
        AUTH, no MAIL, not the password), and the mail is retried with a
        reason that says so."""
        s = self.server()  # no tls_context: EHLO lists no STARTTLS
        env = self.env("smtp://127.0.0.1:%d" % s.port, SKONTO_SMTP_STARTTLS="1",
                       SKONTO_SMTP_USER=USER, SKONTO_SMTP_PASSWORD_FILE=self.password(PASSWORD))
        res = self.drive(env, "en-US:ann@example.com", "en-US:bob@example.com")
        self.assertEqual([r["outcome"] for r in res], ["retry", "retry"], res)
        self.assertEqual([r["detail"] for r in res], [NO_STARTTLS, NO_STARTTLS])
        self.assertEqual(self.box.mails, [])
        self.assertEqual(set(verbs(s.clear_lines())), {"EHLO"}, s.clear_lines())
        self.assertNotIn(PASSWORD.encode(), s.all_bytes())
        self.assertNotIn(b"ann@example.com", s.all_bytes())

    def test_starttls_refused_5xx_is_retry(self):
        """STARTTLS offered but refused with a 5xx: the server's text, retry
        (not permanent: it is no verdict on the address), nothing sent."""
        s = self.server(tls_context=tls_context(), refuse_starttls="554 5.7.3 TLS unavailable today")
        res = self.drive(self.env("smtp://127.0.0.1:%d" % s.port, SKONTO_SMTP_STARTTLS="1"),
                         "en-US:ann@example.com")
        self.assertEqual((res[0]["outcome"], res[0]["detail"]),
                         ("retry", "554 5.7.3 TLS unavailable today"))
        self.assertEqual(self.box.mails, [])
        self.assertNotIn("MAIL", verbs(s.clear_lines()))


class ImplicitTlsTest(DriverCase):
    def test_smtps_delivered(self):
        """smtps://: delivered over TLS, not one byte in clear."""
        s = self.server(ssl_context=tls_context())
        res = self.drive(self.env("smtps://127.0.0.1:%d" % s.port), "zh-CN:li.wei@example.cn")
        self.assertEqual(res[0]["outcome"], "sent", res)
        self.assertEqual(len(self.box.mails), 1)
        self.assertIn(self.box.mails[0]["tls"], ("TLSv1.2", "TLSv1.3"))
        self.assertEqual(self.box.mails[0]["to"], ["li.wei@example.cn"])
        self.assertTrue(s.received)
        self.assertEqual(s.clear_lines(), [])


class CertificateTest(DriverCase):
    def refused(self, s, env, why):
        res = self.drive(env, "en-US:ann@example.com")
        self.assertEqual(res[0]["outcome"], "retry", res)
        self.assertIn(why, res[0]["detail"])
        self.assertEqual(self.box.mails, [])
        self.assertNotIn(b"MAIL FROM", s.all_bytes())
        self.assertNotIn(b"ann@example.com", s.all_bytes())

    def test_untrusted_starttls(self):
        """STARTTLS to a certificate the CA file does not trust: refused after
        the handshake, no fallback to clear, nothing sent."""
        s = self.server(tls_context=tls_context("untrusted"))
        self.refused(s, self.env("smtp://127.0.0.1:%d" % s.port, SKONTO_SMTP_STARTTLS="1"),
                     "SSL certificate problem")
        self.assertEqual(verbs(s.clear_lines()), ["EHLO", "STARTTLS"])

    def test_untrusted_smtps(self):
        s = self.server(ssl_context=tls_context("untrusted"))
        self.refused(s, self.env("smtps://127.0.0.1:%d" % s.port), "SSL certificate problem")

    def test_wrong_host_name(self):
        """Our CA's certificate, but for mail.skonto.test: the host name is checked."""
        s = self.server(ssl_context=tls_context("wrongname"))
        self.refused(s, self.env("smtps://127.0.0.1:%d" % s.port),
                     "no alternative certificate subject name matches")

    def test_default_is_the_system_store(self):
        """Without SKONTO_SMTP_CA_FILE the throwaway CA is not trusted: the
        system's store is used, and verification stays on."""
        s = self.server(ssl_context=tls_context())
        self.refused(s, self.env("smtps://127.0.0.1:%d" % s.port, SKONTO_SMTP_CA_FILE=None),
                     "SSL certificate problem")

    def test_missing_ca_file(self):
        env = self.env("smtps://127.0.0.1:1", SKONTO_SMTP_CA_FILE=os.path.join(CERTS, "nope.pem"))
        out = subprocess.run([DRIVER, "en-US:ann@example.com"], env=env, capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn("SKONTO_SMTP_CA_FILE", out.stderr)
        self.assertIn("nope.pem", out.stderr)


class AuthTest(DriverCase):
    def auth_server(self, mechanism):
        other = {"LOGIN": "PLAIN", "PLAIN": "LOGIN"}[mechanism]
        return self.server(tls_context=tls_context(), authenticator=self.box.authenticator,
                           auth_required=True, auth_exclude_mechanism=[other])

    def check(self, mechanism):
        s = self.auth_server(mechanism)
        url = "smtp://127.0.0.1:%d" % s.port
        wrong = self.drive(self.env(url, SKONTO_SMTP_STARTTLS="1", SKONTO_SMTP_USER=USER,
                                    SKONTO_SMTP_PASSWORD_FILE=self.password(WRONG)),
                           "en-US:ann@example.com")
        self.assertEqual((wrong[0]["outcome"], wrong[0]["code"], wrong[0]["detail"]),
                         ("retry", 535, "535 5.7.8 Authentication credentials invalid"))
        self.assertEqual(self.box.mails, [])
        right = self.drive(self.env(url, SKONTO_SMTP_STARTTLS="1", SKONTO_SMTP_USER=USER,
                                    SKONTO_SMTP_PASSWORD_FILE=self.password(PASSWORD)),
                           "en-US:ann@example.com")
        self.assertEqual(right[0]["outcome"], "sent", right)
        self.assertEqual(self.box.auth, [(mechanism, USER, False), (mechanism, USER, True)])
        self.assertEqual(len(self.box.mails), 1)
        self.assertEqual(self.box.mails[0]["login"], USER.encode())
        self.assertIn(self.box.mails[0]["tls"], ("TLSv1.2", "TLSv1.3"))
        # the credentials went only inside TLS
        clear = b"".join(b for tls, b in s.received if not tls)
        self.assertNotIn(b"AUTH", clear)
        self.assertEqual(set(verbs(s.clear_lines())), {"EHLO", "STARTTLS"})

    def test_auth_login(self):
        self.check("LOGIN")

    def test_auth_plain(self):
        self.check("PLAIN")


class WorkerAuthTest(tr.ReminderCase):
    """The real skonto-reminder, AUTH over STARTTLS: a wrong password is a
    retry with the server's text in its log and no mail, no record, no dead
    letter; restarted with the right one, the queued reminder goes out, over
    TLS, as the user. The password is in neither log."""

    def setUp(self):
        self.box = Box()
        self.workers = []
        self.owned = False  # ReminderCase.own_queue: the discount worker's keys go first
        self.smtp = Server(self.box, tls_context=tls_context(), authenticator=self.box.authenticator,
                           auth_required=True)
        self.smtp.start()
        self.smtp_port = self.smtp.port
        self.pwfile = os.path.join(CERTS, "worker.pass")

    def start_tls_reminder(self, name, pw):
        with open(self.pwfile, "w") as f:
            f.write(pw + "\n")
        return self.start_reminder(name, SKONTO_SMTP_STARTTLS="1", SKONTO_SMTP_CA_FILE=cert("ca"),
                                   SKONTO_SMTP_USER=USER, SKONTO_SMTP_PASSWORD_FILE=self.pwfile,
                                   SKONTO_REMINDER_RETRY_MAX_MS="1500")

    def test_wrong_then_right_password(self):
        self.customer("C-T1", mail="tls@example.com")
        self.order("SO-T1", "C-T1")
        k = tr.rkey("SO-T1", 1, "2026-11-12", 3)
        self.queue("C-T1", k, "2026-11-09T14:00:00Z")
        self.start_tls_reminder("reminder-1", WRONG)
        self.wait_metric("skonto_reminder_retried_total", 2)
        self.assertEqual(self.box.mails, [])
        self.assertIsNone(self.record("C-T1", k))
        self.assertIn(self.metric("skonto_reminder_dead_lettered_total"), (None, 0))
        self.assertEqual(self.r("HGET", "sk:{s%d}:undeliv" % tr.shard("C-T1"), "C-T1"), "")
        self.assertIn("535 5.7.8 Authentication credentials invalid", self.st.log("reminder-1"))
        self.assertTrue(all(ok is False for _, _, ok in self.box.auth), self.box.auth)
        self.st.stop("reminder-1")
        self.workers.remove("reminder-1")

        self.start_tls_reminder("reminder-2", PASSWORD)
        self.wait_metric("skonto_reminder_sent_total", 1, kind="reminder")
        self.assertEqual(len(self.box.mails), 1)
        m = self.box.mails[0]
        self.assertEqual((m["to"], m["login"]), (["tls@example.com"], USER.encode()))
        self.assertIn(m["tls"], ("TLSv1.2", "TLSv1.3"))
        msg = email.message_from_bytes(m["raw"], policy=email.policy.default)
        self.assertEqual(msg["Message-ID"], tr.msgid(k))
        self.assertEqual(self.record("C-T1", k)["outcome"], "sent")
        self.assertNotIn(b"AUTH", b"".join(b for tls, b in self.smtp.received if not tls))
        for name in ("reminder-1", "reminder-2"):
            log = self.st.raw_log(name)
            self.assertTrue(log)
            for secret in (PASSWORD, WRONG):
                self.assertNotIn(secret, log, name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
