"""SMTP submission end to end: the real binary's submission listeners (STARTTLS and implicit
TLS) driven by swaks, Python's smtplib and nodemailer, authenticating with SES SMTP
credentials derived by `sesame smtp-password`; every message goes through the same accept
path as the API and reaches the sink MX (aiosmtpd) DKIM-signed, verified by dkimpy against
dnsmasq. Wrong password, AUTH without TLS, unverified sender, sandbox recipient, throttling,
STARTTLS injection and SMTP smuggling get SES's replies. Run with /usr/bin/python3."""
import json
import os
import re
import shutil
import smtplib
import socket
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
HOST = "mta.sesame.test"  # Sesame's hostname: its self-signed certificate names it
SES_ID = r"[0-9a-f]{16}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-000000"


def message(sender, to, subject, body="Hello over SMTP.\r\n"):
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}").encode()


class PinnedSMTP_SSL(smtplib.SMTP_SSL):
    """SMTP_SSL that checks the certificate against Sesame's name while connecting to an IP."""

    def _get_socket(self, host, port, timeout):
        sock = socket.create_connection((host, port), timeout, self.source_address)
        return self.context.wrap_socket(sock, server_hostname=HOST)


class Submission(harness.MailChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.workdir = tempfile.mkdtemp(prefix="sesame-smtp-")
        port = harness.free_port()
        cls.sink = harness.Sink(cls.workdir, tls=harness.make_cert(cls.workdir), port=port).start()
        cls.dns = harness.Dnsmasq(cls.workdir)
        cls.dns.mx += [("sink.test", "mx.sink.test", 10), ("shop.example", "mx.sink.test", 10)]
        cls.dns.hosts += [("mx.sink.test", "127.0.0.1")]
        cls.dns.start()
        cls.server = harness.Sesame(dns_port=cls.dns.port, extra_config=(
            f'hostname = "{HOST}"\n[delivery]\nmx_port = {port}\nbounce_domain = "bounces.sesame.test"\n'
            'retry_base_seconds = 1\nretry_max_interval_seconds = 2\n'))
        cls.server.start()
        cls.account = cls.server.unthrottled_sender("shop.example", rate=1000, verify=False)
        harness.verify_through_dns(cls.server, cls.dns, cls.account, "shop.example")
        key, secret = cls.server.credentials()
        cls.user = key
        cls.password = cls.server.cli("smtp-password", "--secret", secret).strip()
        cls.ca = os.path.join(cls.server.data_dir, "tls", "cert.pem")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.sink.stop()
        cls.dns.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    # -- helpers -----------------------------------------------------------------------
    def tls_context(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    def starttls_client(self, source="127.0.0.1"):
        c = smtplib.SMTP("127.0.0.1", self.server.smtp_port, local_hostname="client.test", timeout=20,
                         source_address=(source, 0))
        c.ehlo()
        c._host = HOST  # the name the certificate is checked against
        c.starttls(context=self.tls_context())
        c.ehlo()
        return c

    def implicit_tls_client(self):
        c = PinnedSMTP_SSL("127.0.0.1", self.server.smtps_port, local_hostname="client.test", timeout=20,
                           context=self.tls_context())
        c.ehlo()
        return c

    def send(self, client, sender, rcpts, data):
        """MAIL, RCPT, DATA by hand, so the final reply is seen as it is: (code, text)."""
        code, text = client.mail(sender)
        self.assertEqual(code, 250, text)
        for r in rcpts:
            code, text = client.rcpt(r)
            self.assertEqual(code, 250, text)
        return client.data(data)

    def accepted_id(self, reply):
        code, text = reply
        self.assertEqual(code, 250, text)
        m = re.fullmatch(r"Ok (" + SES_ID + ")", text.decode())
        self.assertIsNotNone(m, text)
        return m.group(1)

    def assert_delivered(self, mid, rcpt="bob@sink.test"):
        [m] = self.received(mid)
        self.assertEqual(m["rcpt_tos"], [rcpt])
        self.assertEqual(m["mail_from"], f"{mid}@bounces.sesame.test")
        self.assert_signed(m["data"])
        parsed = self.parse(m["data"])
        self.assertEqual(parsed["Message-ID"], f"<{mid}@email.amazonses.com>")
        return parsed

    def swaks(self, *args):
        r = subprocess.run(["swaks", "--server", "127.0.0.1", *args, "--helo", "client.test",
                            "--timeout", "20"], capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr

    def new_account(self, name, production=False):
        """Another account (SMTP credentials from `sesame account create`) with shop.example
        verified for it."""
        out = json.loads(self.server.cli("account", "create", "--name", name, *(["--production"] if production else [])))
        self.assertRegex(out["SmtpPassword"], r"^B[A-Za-z0-9+/]{43}$")
        self.assertEqual(out["SmtpUsername"], out["AccessKeyId"])
        v2 = self.server.client("sesv2", out["AccessKeyId"], out["SecretAccessKey"])
        v2.create_email_identity(EmailIdentity="shop.example")
        self.server.cli("identity", "verify", "--account", out["AccountId"], "shop.example")
        return out

    # -- real clients --------------------------------------------------------------------
    def test_swaks_starttls_auth_login(self):
        rc, out = self.swaks("--port", str(self.server.smtp_port), "-tls", "--tls-verify", "--tls-ca-path", self.ca,
                             "--tls-sni", HOST, "--auth", "LOGIN", "--auth-user", self.user, "--auth-password", self.password,
                             "--from", "news@shop.example", "--to", "bob@sink.test", "--header", "Subject: swaks starttls")
        self.assertEqual(rc, 0, out)
        m = re.search(r"<~  250 Ok (" + SES_ID + ")", out)
        self.assertIsNotNone(m, out)
        parsed = self.assert_delivered(m.group(1))
        self.assertEqual(str(parsed["Subject"]), "swaks starttls")

    def test_swaks_implicit_tls_auth_plain(self):
        rc, out = self.swaks("--port", str(self.server.smtps_port), "--tlsc", "--auth", "PLAIN", "--auth-user", self.user,
                             "--auth-password", self.password, "--from", "news@shop.example", "--to", "bob@sink.test")
        self.assertEqual(rc, 0, out)
        m = re.search(r"<~  250 Ok (" + SES_ID + ")", out)
        self.assertIsNotNone(m, out)
        self.assert_delivered(m.group(1))

    def test_smtplib_starttls_and_implicit_tls(self):
        for make in (self.starttls_client, self.implicit_tls_client):
            with make() as c:
                self.assertNotIn("starttls", c.esmtp_features, "STARTTLS is offered only before TLS")
                self.assertIn("auth", c.esmtp_features)
                c.login(self.user, self.password)
                mid = self.accepted_id(self.send(c, "news@shop.example", ["bob@sink.test"],
                                                 message("Shop <news@shop.example>", "bob@sink.test", "smtplib " + make.__name__,
                                                         "caf\u00e9\r\n.leading dot\r\n".replace("\u00e9", "e"))))
            parsed = self.assert_delivered(mid)
            self.assertIn(".leading dot", parsed.get_content(), "dot-stuffing undone exactly once")

    def test_8bit_headers_that_are_not_utf8(self):
        """Legacy clients send Latin-1 in headers: the message is accepted and delivered as
        sent, and its events carry the header with U+FFFD for each invalid byte."""
        raw = (b"From: news@shop.example\r\nTo: bob@sink.test\r\nSubject: caf\xe9 cr\xe8me\r\n"
               b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nd\xe9j\xe0 vu\r\n")
        with self.starttls_client() as c:
            c.login(self.user, self.password)
            mid = self.accepted_id(self.send(c, "news@shop.example", ["bob@sink.test"], raw))
        [m] = self.received(mid)
        self.assert_signed(m["data"])
        self.assertIn(b"Subject: caf\xe9 cr\xe8me\r\n", m["data"])
        self.assertIn(b"d\xe9j\xe0 vu", m["data"])
        events = dict(self.events(mid))
        self.assertEqual(events["Send"]["mail"]["commonHeaders"]["subject"], "caf\ufffd cr\ufffdme")
        self.assertIn({"name": "Subject", "value": "caf\ufffd cr\ufffdme"}, events["Send"]["mail"]["headers"])
        deadline = time.time() + 20
        while "Delivery" not in events and time.time() < deadline:
            time.sleep(0.1)
            events = dict(self.events(mid))
        self.assertEqual(events["Delivery"]["mail"], events["Send"]["mail"])

    def test_smtplib_pipelined_transactions_on_one_connection(self):
        with self.implicit_tls_client() as c:
            c.login(self.user, self.password)
            ids = [self.accepted_id(self.send(c, "news@shop.example", ["bob@sink.test"],
                                              message("news@shop.example", "bob@sink.test", f"batch {i}"))) for i in range(5)]
        self.assertEqual(len(set(ids)), 5)
        for mid in ids:
            self.assert_delivered(mid)

    def test_nodemailer_starttls_and_implicit_tls(self):
        js = os.path.join(HERE, "js")
        harness.require(os.path.isdir(os.path.join(js, "node_modules", "nodemailer")), "nodemailer is not installed (make js-deps)")
        env = dict(os.environ, SMTP_PORT=str(self.server.smtp_port), SMTPS_PORT=str(self.server.smtps_port),
                   SMTP_USER=self.user, SMTP_PASS=self.password, FROM="Shop <news@shop.example>", TO="bob@sink.test",
                   CA_FILE=self.ca, TLS_NAME=HOST)
        r = subprocess.run(["node", "smtp_nodemailer.mjs"], cwd=js, env=env, capture_output=True, text=True, timeout=90)
        self.assertEqual(r.returncode, 0, r.stderr)
        results = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertEqual([x["name"] for x in results], ["starttls", "implicit-tls"])
        for x in results:
            self.assertNotIn("error", x, x)
            m = re.fullmatch(r"250 Ok (" + SES_ID + ")", x["response"])
            self.assertIsNotNone(m, x)
            mid = m.group(1)
            # nodemailer reads the MessageId back from "250 Ok <id>" as it does from SES.
            self.assertEqual(x["serverMessageId"], f"<{mid}@email.amazonses.com>")
            parsed = self.assert_delivered(mid)
            self.assertIn("nodemailer over " + x["name"], str(parsed["Subject"]))

    # -- refusals --------------------------------------------------------------------------
    def test_wrong_password_and_growing_delay(self):
        # Failures from one address: two answered at once, then each answered later.
        times = []
        for _ in range(3):
            with self.implicit_tls_client() as c:
                start = time.time()
                with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
                    c.login(self.user, self.password[:-2] + "AA")
                times.append(time.time() - start)
                self.assertEqual(e.exception.smtp_code, 535)
                self.assertIn(b"Authentication Credentials Invalid", e.exception.smtp_error)
        self.assertLess(times[0], 0.9)
        self.assertGreaterEqual(times[2], 0.9, times)
        # Another region's password is another password (credentials are per region).
        _, secret = self.server.credentials()
        other = self.server.cli("smtp-password", "--secret", secret, "--region", "eu-west-1").strip()
        with self.implicit_tls_client() as c:
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                c.login(self.user, other)
        # The right password still works, and resets the count.
        with self.implicit_tls_client() as c:
            c.login(self.user, self.password)

    def test_tls_1_2_or_newer_only(self):
        def s_client(version):
            r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.server.smtps_port}", version,
                                "-cipher", "DEFAULT@SECLEVEL=0", "-servername", HOST],
                               input=b"QUIT\r\n", capture_output=True, timeout=30)
            return r.returncode, (r.stdout + r.stderr).decode(errors="replace")
        rc, out = s_client("-tls1_2")
        self.assertEqual(rc, 0, out)
        self.assertIn("Protocol  : TLSv1.2", out)
        for old in ("-tls1_1", "-tls1"):
            rc, out = s_client(old)
            self.assertNotEqual(rc, 0, out)
            self.assertIn("Cipher is (NONE)", out, f"{old} must not get a session")
            self.assertIn("alert protocol version", out)

    def test_smtp_password_cli_matches_ses_vectors(self):
        secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        for region, want in (("us-east-1", "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"),
                             ("us-west-2", "BF2PynzbSCAjX08zhZZnP/kW+T9P5zs/1Er0pi5vTEmd")):
            self.assertEqual(self.server.cli("smtp-password", "--secret", secret, "--region", region).strip(), want)
        # From stdin, so the secret stays out of the process list.
        r = subprocess.run([harness.SESAME, "smtp-password", "--secret", "-", "--config", self.server.config_path],
                           input=secret + "\n", capture_output=True, text=True, timeout=30)
        self.assertEqual(r.stdout.strip(), "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9")

    def test_auth_and_mail_before_tls_are_refused(self):
        with smtplib.SMTP("127.0.0.1", self.server.smtp_port, local_hostname="client.test", timeout=20) as c:
            c.ehlo()
            self.assertIn("starttls", c.esmtp_features)
            self.assertNotIn("auth", c.esmtp_features, "AUTH is offered only after TLS")
            code, text = c.docmd("AUTH", "PLAIN " + harness_b64(f"\0{self.user}\0{self.password}"))
            self.assertEqual((code, text), (530, b"Must issue a STARTTLS command first"))
            code, text = c.mail("news@shop.example")
            self.assertEqual((code, text), (530, b"Must issue a STARTTLS command first"))
        with self.starttls_client() as c:
            code, text = c.mail("news@shop.example")
            self.assertEqual((code, text), (530, b"Authentication required"), "no open relay")

    def test_unverified_sender(self):
        with self.implicit_tls_client() as c:
            c.login(self.user, self.password)
            code, text = self.send(c, "someone@unverified.example", ["bob@sink.test"],
                                   message("someone@unverified.example", "bob@sink.test", "nope"))
            self.assertEqual(code, 554)
            self.assertEqual(text.decode(), "Message rejected: Email address is not verified. The following identities "
                                            "failed the check in region US-EAST-1: someone@unverified.example")
            # The session goes on: the next transaction is accepted.
            self.accepted_id(self.send(c, "news@shop.example", ["bob@sink.test"], message("news@shop.example", "bob@sink.test", "ok")))

    def test_sandbox_recipient_and_throttling(self):
        # A new account is in the sandbox, with SES's sandbox quota (1 message/s, 200/day).
        acct = self.new_account("smtp-sandbox")
        with self.implicit_tls_client() as c:
            c.login(acct["SmtpUsername"], acct["SmtpPassword"])
            code, text = self.send(c, "news@shop.example", ["bob@sink.test"], message("news@shop.example", "bob@sink.test", "x"))
            self.assertEqual(code, 554)
            self.assertEqual(text.decode(), "Message rejected: Email address is not verified. The following identities "
                                            "failed the check in region US-EAST-1: bob@sink.test")
            # Recipients in the verified domain pass the sandbox; the rate then throttles.
            replies = [self.send(c, "news@shop.example", ["info@shop.example"],
                                 message("news@shop.example", "info@shop.example", f"rate {i}")) for i in range(3)]
        self.assertEqual(replies[0][0], 250, replies)
        self.assertIn((454, b"Throttling failure: Maximum sending rate exceeded."), replies)
        # The daily quota.
        daily = self.new_account("smtp-daily", production=True)
        self.server.cli("account", "quota", "--account", daily["AccountId"], "--max-send-rate", "100", "--max-24-hour-send", "1")
        with self.implicit_tls_client() as c:
            c.login(daily["SmtpUsername"], daily["SmtpPassword"])
            self.accepted_id(self.send(c, "news@shop.example", ["bob@sink.test"], message("news@shop.example", "bob@sink.test", "1")))
            code, text = self.send(c, "news@shop.example", ["bob@sink.test"], message("news@shop.example", "bob@sink.test", "2"))
            self.assertEqual((code, text), (454, b"Throttling failure: Daily message quota exceeded."))

    def test_ses_headers_choose_the_configuration_set(self):
        # X-SES-CONFIGURATION-SET is SMTP's only way to name one (reference §4.4): an unknown
        # name is refused; a known one is used, its tags recorded, and the headers removed.
        _, v2 = self.server.ses_clients()
        v2.create_configuration_set(ConfigurationSetName="smtp-set")
        with self.implicit_tls_client() as c:
            c.login(self.user, self.password)
            code, text = self.send(c, "news@shop.example", ["bob@sink.test"],
                                   b"X-SES-CONFIGURATION-SET: no-such-set\r\n" + message("news@shop.example", "bob@sink.test", "x"))
            self.assertEqual((code, text), (554, b"Configuration Set does not exist: Configuration set <no-such-set> does not exist."))
            mid = self.accepted_id(self.send(
                c, "news@shop.example", ["bob@sink.test"],
                b"X-SES-CONFIGURATION-SET: smtp-set\r\nX-SES-MESSAGE-TAGS: campaign=winter, team=growth\r\n" +
                message("news@shop.example", "bob@sink.test", "with a set")))
        [m] = self.received(mid)
        self.assertNotIn(b"X-SES-", m["data"])
        self.assert_signed(m["data"])
        import sqlite3
        db = sqlite3.connect(f"file:{self.server.data_dir}/sesame.db?mode=ro", uri=True, timeout=10)
        try:
            (body,) = db.execute("SELECT body FROM events WHERE message_id=? AND type='Send'", (mid,)).fetchone()
        finally:
            db.close()
        tags = json.loads(body)["mail"]["tags"]
        self.assertEqual(tags["ses:configuration-set"], ["smtp-set"])
        self.assertEqual(tags["campaign"], ["winter"])
        self.assertEqual(tags["team"], ["growth"])
        self.assertEqual(tags["ses:operation"], ["SendRawEmail"])

    def test_open_and_click_tracking_rewrites_the_html_part(self):
        # SES tracks SMTP (raw) messages too when their configuration set publishes OPEN or
        # CLICK: the HTML alternative's links and an open pixel, before signing; the text
        # alternative and an attached HTML file keep their bytes.
        import email.message
        import urllib.error
        import urllib.request
        _, v2 = self.server.ses_clients()
        v2.create_configuration_set(ConfigurationSetName="smtp-tracked")
        v2.create_configuration_set_event_destination(
            ConfigurationSetName="smtp-tracked", EventDestinationName="engagement",
            EventDestination={"Enabled": True, "MatchingEventTypes": ["OPEN", "CLICK"],
                              "KinesisFirehoseDestination": {
                                  "IamRoleArn": "arn:aws:iam::123456789012:role/x",
                                  "DeliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/x"}})
        msg = email.message.EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "news@shop.example", "bob@sink.test", "tracked over SMTP"
        msg["X-SES-CONFIGURATION-SET"] = "smtp-tracked"
        msg.set_content("Sale: https://shop.example/sale\n")
        html = ("<html><body><p>Caf\u00e9 " + "w" * 120 + ' <a href="https://shop.example/sale?id=7">the sale</a></p>'
                "</body></html>\n")
        msg.add_alternative(html, subtype="html", cte="quoted-printable")
        msg.add_attachment('<a href="https://shop.example/attached">kept</a>\n', subtype="html", filename="page.html")
        data = msg.as_bytes().replace(b"\n", b"\r\n")
        with self.implicit_tls_client() as c:
            c.login(self.user, self.password)
            mid = self.accepted_id(self.send(c, "news@shop.example", ["bob@sink.test"], data))
        parsed = self.assert_delivered(mid)  # DKIM-signed over the rewritten body
        parts = {p.get_content_type() + ("/attachment" if p.get_filename() else ""): p for p in parsed.walk()}
        self.assertEqual(parts["text/plain"].get_content(), "Sale: https://shop.example/sale\n")
        self.assertEqual(parts["text/html/attachment"].get_content(), '<a href="https://shop.example/attached">kept</a>\n')
        self.assertEqual(parts["text/html"]["Content-Transfer-Encoding"], "quoted-printable")
        body = parts["text/html"].get_content()
        self.assertIn("Caf\u00e9 " + "w" * 120, body)
        self.assertNotIn("https://shop.example/sale?id=7", body)
        [click] = re.findall(r'href="(http://127\.0\.0\.1:\d+/t/c/[^"]+)"', body)
        self.assertEqual(len(re.findall(r'src="http://127\.0\.0\.1:\d+/t/o/[^"]+"', body)), 1)

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None
        with self.assertRaises(urllib.error.HTTPError) as ctx:
            urllib.request.build_opener(NoRedirect).open(click, timeout=10)
        self.assertEqual((ctx.exception.code, ctx.exception.headers["Location"]), (302, "https://shop.example/sale?id=7"))
        deadline = time.time() + 10
        while "Click" not in [t for t, _ in self.events(mid)]:
            self.assertLess(time.time(), deadline, "no Click event")
            time.sleep(0.1)
        [click_event] = [e for t, e in self.events(mid) if t == "Click"]
        self.assertEqual(click_event["click"]["link"], "https://shop.example/sale?id=7")

    def test_size_and_recipient_limits(self):
        with self.implicit_tls_client() as c:
            c.login(self.user, self.password)
            self.assertEqual(int(c.esmtp_features["size"]), 40 * 1024 * 1024)
            code, text = c.mail("news@shop.example", ["SIZE=%d" % (41 * 1024 * 1024)])
            self.assertEqual(code, 552, text)
            c.rset()
            self.assertEqual(c.mail("news@shop.example")[0], 250)
            codes = [c.rcpt(f"r{i}@sink.test")[0] for i in range(51)]
            self.assertEqual(codes[:50], [250] * 50)
            self.assertEqual(codes[50], 452)

    # -- hostile input on a real socket ----------------------------------------------------
    def raw_session(self):
        s = socket.create_connection(("127.0.0.1", self.server.smtp_port), timeout=20)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"220 "))
        return s, f

    @staticmethod
    def read_reply(f):
        lines = []
        while True:
            line = f.readline()
            if not line:
                return lines
            lines.append(line.decode().rstrip("\r\n"))
            if len(line) < 4 or line[3:4] != b"-":
                return lines

    def test_starttls_command_injection_is_discarded(self):
        s, f = self.raw_session()
        s.sendall(b"EHLO client.test\r\n")
        self.read_reply(f)
        # Injected commands after STARTTLS in the same packet (CVE-2011-0411 style).
        s.sendall(b"STARTTLS\r\nAUTH PLAIN " + harness_b64(f"\0{self.user}\0{self.password}").encode() +
                  b"\r\nMAIL FROM:<news@shop.example>\r\n")
        self.assertEqual(self.read_reply(f), ["220 Ready to start TLS"])
        t = self.tls_context().wrap_socket(s, server_hostname=HOST)
        tf = t.makefile("rb")
        t.sendall(b"MAIL FROM:<news@shop.example>\r\n")
        # Were the injected AUTH and MAIL run, this would be 235/250, or "nested MAIL".
        self.assertEqual(self.read_reply(tf), ["503 Error: send HELO/EHLO first"])
        t.sendall(b"EHLO client.test\r\nMAIL FROM:<news@shop.example>\r\n")
        self.assertIn("250 SMTPUTF8", self.read_reply(tf))
        self.assertEqual(self.read_reply(tf), ["530 Authentication required"])
        t.close()

    def test_smtp_smuggling_is_refused_and_the_connection_closed(self):
        ctx = self.tls_context()
        t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.server.smtps_port), timeout=20), server_hostname=HOST)
        f = t.makefile("rb")
        self.read_reply(f)
        t.sendall(b"EHLO client.test\r\nAUTH PLAIN " + harness_b64(f"\0{self.user}\0{self.password}").encode() + b"\r\n")
        self.read_reply(f)
        self.assertEqual(self.read_reply(f), ["235 Authentication successful"])
        t.sendall(b"MAIL FROM:<news@shop.example>\r\nRCPT TO:<bob@sink.test>\r\nDATA\r\n")
        self.assertEqual([self.read_reply(f) for _ in range(3)], [["250 Ok"], ["250 Ok"], ["354 End data with <CR><LF>.<CR><LF>"]])
        smuggled = b"Subject: smuggled-inner\r\n\r\nevil"
        t.sendall(b"From: news@shop.example\r\nTo: bob@sink.test\r\nSubject: outer\r\n\r\nbody\n.\n"
                  b"MAIL FROM:<news@shop.example>\r\nRCPT TO:<victim@sink.test>\r\nDATA\r\n" + smuggled +
                  b"\r\n.\n\r\n.\r\n")
        # The first bare line end is answered and the connection closed: nothing after it is
        # read as a command, nothing is delivered.
        reply = self.read_reply(f)
        self.assertEqual(len(reply), 1, reply)
        self.assertRegex(reply[0], r"^521 \S+ Error: bare <CR> or <LF> received")
        self.assertEqual(f.readline(), b"")
        t.close()
        time.sleep(1)
        self.assertFalse([m for m in self.sink.messages() if b"smuggled-inner" in m["data"] or "victim@sink.test" in m["rcpt_tos"]])


def harness_b64(text):
    import base64
    return base64.b64encode(text.encode()).decode()


class TrustedNetworks(unittest.TestCase):
    """[smtp] trusted_networks: loopback clients submit without AUTH and in clear text, as
    Postfix's mynetworks (used by legacy devices and the submission benchmark); a client
    outside the networks still has to authenticate."""

    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.workdir = tempfile.mkdtemp(prefix="sesame-smtp-trusted-")
        cls.server = harness.Sesame(extra_config='[delivery]\nmode = "capture"\n')
        cls.server.start()
        account = cls.server.unthrottled_sender("shop.example")
        cls.server.stop()
        # One worker thread: sessions never hold it while their commit is under way.
        cls.server.extra_config += (f'[smtp]\ntrusted_networks = ["127.0.0.1/32", "::1"]\ntrusted_account = "{account}"\n'
                                    'worker_threads = 1\n')
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def test_trusted_loopback_submits_without_auth_or_tls(self):
        with smtplib.SMTP("127.0.0.1", self.server.smtp_port, timeout=20) as c:
            c.ehlo("device.test")
            c.mail("news@shop.example")
            c.rcpt("bob@example.net")
            code, text = c.data(message("news@shop.example", "bob@example.net", "from a trusted network"))
            self.assertEqual(code, 250, text)
            mid = re.fullmatch(r"Ok (" + SES_ID + ")", text.decode()).group(1)
        import urllib.request
        with urllib.request.urlopen(self.server.endpoint + "/_aws/ses?email=news@shop.example", timeout=10) as r:
            captured = [m for m in json.loads(r.read())["messages"] if m["Id"] == mid]
        self.assertEqual(len(captured), 1)
        self.assertIn("DKIM-Signature:", captured[0]["SignedRawData"])

    def test_one_worker_thread_serves_many_sessions_at_once(self):
        import concurrent.futures

        def submit(n):  # three transactions on one session: the message ids they were given
            ids = []
            with smtplib.SMTP("127.0.0.1", self.server.smtp_port, timeout=20) as c:
                c.ehlo("device.test")
                for i in range(3):
                    c.mail("news@shop.example")
                    c.rcpt("bob@example.net")
                    code, text = c.data(message("news@shop.example", "bob@example.net", f"session {n} message {i}"))
                    self.assertEqual(code, 250, text)
                    ids.append(re.fullmatch(r"Ok (" + SES_ID + ")", text.decode()).group(1))
            return ids

        start = time.time()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            ids = [i for session in pool.map(submit, range(8)) for i in session]
        self.assertEqual(len(set(ids)), 24)  # every message acknowledged with its own id
        self.assertLess(time.time() - start, 20)

    def test_the_signing_worker_is_a_batch_thread_and_the_io_thread_is_not(self):
        # /proc/<pid>/task/<tid>/stat field 41 is the scheduling policy (3 = SCHED_BATCH).
        policies = {}
        for tid in os.listdir(f"/proc/{self.server.proc.pid}/task"):
            try:
                with open(f"/proc/{self.server.proc.pid}/task/{tid}/comm") as f:
                    name = f.read().strip()
                with open(f"/proc/{self.server.proc.pid}/task/{tid}/stat") as f:
                    policy = int(f.read().rsplit(")", 1)[1].split()[38])
            except FileNotFoundError:
                continue  # a thread that ended meanwhile
            policies.setdefault(name, []).append(policy)
        # worker_threads = 1: one per listener (STARTTLS and implicit TLS), both batch.
        self.assertEqual(policies.get("sesame-smtp-wk"), [3, 3])
        self.assertEqual(set(policies.get("sesame-smtp-io", [])), {0})
        self.assertEqual(set(policies.get("sesame-store", [])), {0})

    def test_outside_the_networks_needs_auth(self):
        with smtplib.SMTP("127.0.0.1", self.server.smtp_port, timeout=20, source_address=("127.0.0.2", 0)) as c:
            c.ehlo("outsider.test")
            self.assertEqual(c.mail("news@shop.example"), (530, b"Must issue a STARTTLS command first"))


class Limits(unittest.TestCase):
    """Bounds of the listener: connections per IP, idle time, and a graceful stop that lets
    a transaction in flight finish (its message acknowledged only after the commit)."""

    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.server = harness.Sesame(extra_config='[delivery]\nmode = "capture"\n')
        cls.server.start()
        account = cls.server.unthrottled_sender("shop.example")
        cls.server.stop()
        cls.server.extra_config += (f'[smtp]\ntrusted_networks = ["127.0.0.0/8"]\ntrusted_account = "{account}"\n'
                                    'max_connections_per_ip = 2\ncommand_timeout_seconds = 1\n')
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.server.smtp_port), timeout=10)
        return s, s.makefile("rb")

    def test_per_ip_limit_and_idle_timeout(self):
        a, fa = self.connect()
        b, fb = self.connect()
        self.assertTrue(fa.readline().startswith(b"220 "))
        self.assertTrue(fb.readline().startswith(b"220 "))
        c, fc = self.connect()
        self.assertEqual(fc.readline(), b"421 Too many concurrent SMTP connections from this address\r\n")
        self.assertEqual(fc.readline(), b"")
        # Idle at the prompt beyond command_timeout_seconds: 451, then closed.
        start = time.time()
        self.assertEqual(fa.readline(), b"451 Timeout waiting for data from client\r\n")
        self.assertEqual(fa.readline(), b"")
        self.assertLess(time.time() - start, 5)
        for s in (a, b, c):
            s.close()

    def test_zz_graceful_stop_finishes_the_transaction(self):
        s, f = self.connect()
        f.readline()
        s.sendall(b"EHLO c.test\r\nMAIL FROM:<news@shop.example>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n")
        replies = []
        while len(replies) < 4:
            line = f.readline().decode()
            if line[3:4] == " ":
                replies.append(line)
        self.assertTrue(replies[-1].startswith("354"))
        s.sendall(b"From: news@shop.example\r\nTo: bob@example.net\r\nSubject: in flight\r\n\r\npart one\r\n")
        self.server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        s.sendall(b"part two\r\n.\r\n")
        self.assertRegex(f.readline().decode(), r"^250 Ok " + SES_ID + "\r\n$")
        self.assertRegex(f.readline().decode(), r"^421 \S+ Service shutting down, closing transmission channel\r\n$")
        self.assertEqual(f.readline(), b"")
        s.close()
        self.assertEqual(self.server.proc.wait(20), 0)


if __name__ == "__main__":
    unittest.main()
