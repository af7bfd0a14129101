"""What a customer's mail server receives (issue 8, the mail block).

A real SMTP server (Debian's python3-aiosmtpd, on a free loopback port, in
this process) and tests/reminder/mail_driver, which renders reminders and
delivers them through common/io/sk_mailer exactly as the reminder worker
will: two mails over one connection, read back with Python's email package
(recipient, subject, language, amounts, dates, MIME structure); a 4xx and a
5xx answer and how each is classified (retry; permanent with the server's
text); a connection lost after the body (ambiguous); and the maildir way,
read with Python's mailbox module.
"""
import email
import email.policy
import json
import mailbox
import os
import subprocess
import tempfile
import unittest

from aiosmtpd.controller import Controller

from harness import free_port

BUILD = os.environ.get("SK_BUILD_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "build")
DRIVER = os.path.join(BUILD, "tests", "reminder", "mail_driver")
FROM = "Skonto Billing <billing@skonto.test>"
REPLY_TO = "Sales <sales@skonto.test>"


class Handler:
    """Accepts mail, except: RCPT busy@ -> 450, nouser@ -> 550; after the
    body: late@ -> 451, drop@ -> connection closed without an answer."""

    def __init__(self):
        self.received = []  # (envelope rcpts, raw bytes, session peer)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("busy@"):
            return "450 4.2.1 Mailbox busy, try again later"
        if address.startswith("nouser@"):
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        rcpt = envelope.rcpt_tos[0]
        if rcpt.startswith("late@"):
            return "451 4.3.0 Temporary failure after the data"
        if rcpt.startswith("drop@"):
            server.transport.close()
            return "250 never seen"  # the client is gone before this is written
        self.received.append((list(envelope.rcpt_tos), envelope.original_content, session.peer))
        return "250 2.0.0 Message accepted"


def drive(env, *targets):
    out = subprocess.run([DRIVER, *targets], env=env, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError("mail_driver exit %d: %s" % (out.returncode, out.stderr))
    return [json.loads(line) for line in out.stdout.splitlines()]


class SmtpTest(unittest.TestCase):
    def setUp(self):
        self.handler = Handler()
        self.port = free_port()
        self.ctl = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.ctl.start()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SKONTO_")}
        self.env.update(SKONTO_SMTP_URL="smtp://127.0.0.1:%d" % self.port,
                        SKONTO_MAIL_FROM=FROM, SKONTO_MAIL_REPLY_TO=REPLY_TO)

    def tearDown(self):
        self.ctl.stop()

    def test_two_mails_one_connection(self):
        res = drive(self.env, "en-US:ann@example.com", "zh-CN:li.wei@example.cn")
        self.assertEqual([r["outcome"] for r in res], ["sent", "sent"])
        self.assertEqual([r["code"] for r in res], [250, 250])
        # the first send connected, the second reused that connection
        self.assertEqual([r["connects"] for r in res], [1, 0])
        self.assertEqual(len(self.handler.received), 2)
        self.assertEqual(self.handler.received[0][2], self.handler.received[1][2],
                         "both mails came over the same client port")

        (to_en, raw_en, _), (to_zh, raw_zh, _) = self.handler.received
        self.assertEqual(to_en, ["ann@example.com"])
        self.assertEqual(to_zh, ["li.wei@example.cn"])
        for raw in (raw_en, raw_zh):
            self.assertTrue(all(b < 128 for b in raw), "7-bit on the wire")
            self.assertNotIn(b"\n", raw.replace(b"\r\n", b""), "CRLF only")
            self.assertLessEqual(max(len(l) for l in raw.split(b"\r\n")), 998)

        en = email.message_from_bytes(raw_en, policy=email.policy.default)
        self.assertEqual(en["Subject"],
                         "Invoice SO-1: save $22.60 if paid by Monday, November 9, 2026")
        self.assertEqual(en["Message-ID"], "<reminder.SO-1.1@skonto.test>")
        self.assertEqual(en["From"].addresses[0].addr_spec, "billing@skonto.test")
        self.assertEqual(en["Reply-To"].addresses[0].addr_spec, "sales@skonto.test")
        self.assertEqual(en["To"].addresses[0].addr_spec, "ann@example.com")
        self.assertEqual(en["To"].addresses[0].display_name, "李伟 & Partners")
        self.assertEqual(en["List-Unsubscribe"],
                         "<mailto:billing@skonto.test?subject=unsubscribe>")
        self.assertEqual(en.get_content_type(), "multipart/alternative")
        text = en.get_body(("plain",))
        html = en.get_body(("html",))
        self.assertEqual(text.get_content_charset(), "utf-8")
        self.assertIn(text["Content-Transfer-Encoding"], ("quoted-printable", "base64"))
        body = text.get_content()
        self.assertIn("Dear 李伟 & Partners,", body)
        self.assertIn("Pay $1,107.40 by then instead of $1,130.00, and you save $22.60.", body)
        self.assertIn("by Thursday, November 19, 2026: pay $1,118.70 (save $11.30, 1%)", body)
        self.assertIn("$1,130.00 is due on Wednesday, December 2, 2026", body)
        self.assertIn("李伟 &amp; Partners", html.get_content())

        zh = email.message_from_bytes(raw_zh, policy=email.policy.default)
        self.assertEqual(zh["Subject"],
                         "发票 SO-2：请于 2026年11月9日星期一 前付款，可节省 ¥22.60")
        self.assertEqual(zh["Message-ID"], "<reminder.SO-2.1@skonto.test>")
        zbody = zh.get_body(("plain",)).get_content()
        self.assertIn("只需支付 ¥1,107.40（全额 ¥1,130.00），可节省 ¥22.60", zbody)
        self.assertIn("2026年12月2日星期三 到期", zbody)
        self.assertIn('<html lang="zh-CN">', zh.get_body(("html",)).get_content())

    def test_4xx_and_5xx(self):
        res = drive(self.env, "en-US:first@example.com", "en-US:busy@example.com",
                    "en-US:nouser@example.com", "en-US:late@example.com",
                    "en-US:last@example.com")
        self.assertEqual([r["outcome"] for r in res],
                         ["sent", "retry", "permanent", "retry", "sent"])
        self.assertEqual([r["code"] for r in res], [250, 450, 550, 451, 250])
        self.assertEqual(res[1]["detail"], "450 4.2.1 Mailbox busy, try again later")
        # the dead letter will carry the server's own words
        self.assertEqual(res[2]["detail"],
                         "550 5.1.1 <nouser@example.com>: no such user here")
        self.assertEqual(res[3]["detail"], "451 4.3.0 Temporary failure after the data")
        # only the accepted mails arrived
        self.assertEqual([r[0] for r in self.handler.received],
                         [["first@example.com"], ["last@example.com"]])

    def test_lost_after_body_is_ambiguous(self):
        res = drive(self.env, "en-US:drop@example.com", "en-US:after@example.com")
        self.assertEqual(res[0]["outcome"], "ambiguous", res[0])
        # the connection is gone: the next mail connects again and is sent
        self.assertEqual(res[1]["outcome"], "sent")
        self.assertEqual(res[1]["connects"], 1)

    def test_server_down_is_retry(self):
        self.ctl.stop()
        try:
            res = drive(self.env, "en-US:ann@example.com")
            self.assertEqual(res[0]["outcome"], "retry")
            self.assertEqual(res[0]["code"], 0)
        finally:
            self.ctl = Controller(self.handler, hostname="127.0.0.1", port=self.port)
            self.ctl.start()


class MaildirTest(unittest.TestCase):
    def test_maildir(self):
        with tempfile.TemporaryDirectory(prefix="skonto-maildir-") as d:
            box = os.path.join(d, "mail")
            env = {k: v for k, v in os.environ.items() if not k.startswith("SKONTO_")}
            env.update(SKONTO_MAILDIR=box, SKONTO_MAIL_FROM=FROM)
            res = drive(env, "en-US:ann@example.com", "de-DE:max@example.de")
            self.assertEqual([r["outcome"] for r in res], ["sent", "sent"])
            self.assertEqual(os.listdir(os.path.join(box, "tmp")), [])
            md = mailbox.Maildir(box, factory=None, create=False)
            msgs = {m["Message-ID"]: m for m in
                    (email.message_from_bytes(md.get_bytes(k), policy=email.policy.default)
                     for k in md.keys())}
            self.assertEqual(sorted(msgs), ["<reminder.SO-1.1@skonto.test>",
                                            "<reminder.SO-2.1@skonto.test>"])
            de = msgs["<reminder.SO-2.1@skonto.test>"]
            self.assertEqual(de["To"].addresses[0].addr_spec, "max@example.de")
            self.assertIsNone(de["Reply-To"])
            # the English mail, amounts as a German reads them
            self.assertEqual(de["Subject"],
                             "Invoice SO-2: save 22,60\u00a0€ if paid by Monday, 9 November 2026")
            self.assertIn("Pay 1.107,40\u00a0€ by then", de.get_body(("plain",)).get_content())


if __name__ == "__main__":
    unittest.main(verbosity=2)
