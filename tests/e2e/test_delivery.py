"""Delivery end to end: the real binary, dnsmasq on loopback publishing MX, A and DKIM
records, and two real SMTP sinks (aiosmtpd): mx.sink.test (127.0.0.1, STARTTLS with a
self-signed certificate) and mx.plain.test (127.0.0.2, no STARTTLS), on the same port
(`[delivery] mx_port`). boto3 and the AWS CLI send through v1 and v2; the sink gets the mail
DKIM-signed (dkimpy verifies it); 4xx then 2xx gives DeliveryDelay then Delivery; 5xx gives
a Bounce and a DSN to the sender; TLS policy REQUIRE never sends in clear. Events are read
from the store (the events issue will publish them). Run with /usr/bin/python3."""
import base64
import email
import email.policy
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

BOUNCE_DOMAIN = "bounces.sesame.test"


class Delivery(harness.MailChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import tempfile
        import warnings
        warnings.simplefilter("ignore", ResourceWarning)
        cls.workdir = tempfile.mkdtemp(prefix="sesame-delivery-")
        port = harness.free_port()
        cert = harness.make_cert(cls.workdir)
        cls.sink = harness.Sink(cls.workdir, tls=cert, name="sink", host="127.0.0.1", port=port).start()
        cls.plain = harness.Sink(cls.workdir, name="plain", host="127.0.0.2", port=port).start()
        cls.dns = harness.Dnsmasq(cls.workdir)
        cls.dns.mx += [("sink.test", "mx.sink.test", 10), ("shop.example", "mx.sink.test", 10),
                       ("plain.test", "mx.plain.test", 10), ("nullmx.test", ".", 0)]
        cls.dns.hosts += [("mx.sink.test", "127.0.0.1"), ("mx.plain.test", "127.0.0.2")]
        cls.dns.start()
        cls.server = harness.Sesame(dns_port=cls.dns.port, extra_config=(
            f'hostname = "mta.sesame.test"\n[delivery]\nmx_port = {port}\nbounce_domain = "{BOUNCE_DOMAIN}"\n'
            'retry_base_seconds = 1\nretry_max_interval_seconds = 2\ncommand_timeout_seconds = 3\n'
            'connect_timeout_seconds = 2\n'))
        cls.server.start()
        cls.account = cls.server.unthrottled_sender("shop.example", rate=1000, verify=False)
        cls.v1, cls.v2 = cls.server.ses_clients()
        harness.verify_through_dns(cls.server, cls.dns, cls.account, "shop.example")

    @classmethod
    def tearDownClass(cls):
        import shutil
        cls.server.cleanup()
        for p in (cls.sink, cls.plain, cls.dns):
            p.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    # -- helpers -----------------------------------------------------------------------

    def wait_events(self, message_id, predicate, timeout=25):
        deadline = time.time() + timeout
        while True:
            ev = self.events(message_id)
            if predicate([t for t, _ in ev]):
                return ev
            if time.time() > deadline:
                self.fail(f"events of {message_id}: {[t for t, _ in ev]}\n" + open(self.server.log_path).read()[-3000:])
            time.sleep(0.1)

    # -- tests -------------------------------------------------------------------------
    def test_v2_simple_delivered_signed_over_starttls(self):
        mid = self.v2.send_email(FromEmailAddress="Shop <news@shop.example>",
                                 Destination={"ToAddresses": ["alice@sink.test"]},
                                 Content={"Simple": {"Subject": {"Data": "Grüße aus Köln"},
                                                     "Body": {"Text": {"Data": "Hallo Wörld"},
                                                              "Html": {"Data": "<p>Hallo</p>"}}}})["MessageId"]
        [m] = self.received(mid)
        self.assertEqual(m["mail_from"], f"{mid}@{BOUNCE_DOMAIN}")
        self.assertEqual(m["rcpt_tos"], ["alice@sink.test"])
        self.assertTrue(m["tls"], "STARTTLS was offered, so the message must travel encrypted")
        self.assert_signed(m["data"])
        parsed = self.parse(m["data"])
        self.assertEqual(str(parsed["subject"]), "Grüße aus Köln")
        self.assertEqual(parsed.get_body(("plain",)).get_content().strip(), "Hallo Wörld")
        ev = self.wait_events(mid, lambda t: "Delivery" in t)
        self.assertEqual([t for t, _ in ev], ["Send", "Delivery"])
        d = ev[1][1]
        self.assertEqual(d["eventType"], "Delivery")
        self.assertEqual(d["mail"]["messageId"], mid)
        self.assertEqual(d["delivery"]["recipients"], ["alice@sink.test"])
        self.assertRegex(d["delivery"]["smtpResponse"], r"^250 2\.0\.0 Ok: queued as sink\d+$")
        self.assertEqual(d["delivery"]["remoteMtaIp"], "127.0.0.1")
        self.assertEqual(d["delivery"]["reportingMTA"], "mta.sesame.test")
        self.assertIsInstance(d["delivery"]["processingTimeMillis"], int)
        self.assertTrue(d["delivery"]["timestamp"].endswith("Z"))

    def test_v1_raw_with_attachment_and_bcc(self):
        raw = (b"From: news@shop.example\r\nTo: bob@sink.test\r\nBcc: carol@sink.test\r\nSubject: report\r\n"
               b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
               b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
               b"caf\xc3\xa9\r\n.leading dot\r\n--XX\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Disposition: attachment; filename=r.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               + base64.b64encode(b"\x00\x01report") + b"\r\n--XX--\r\n")
        mid = self.v1.send_raw_email(RawMessage={"Data": raw})["MessageId"]
        [m] = self.received(mid)
        self.assertEqual(sorted(m["rcpt_tos"]), ["bob@sink.test", "carol@sink.test"])  # one transaction
        self.assertNotIn(b"carol@sink.test", m["data"])
        self.assertIn(b"\r\n.leading dot\r\n", m["data"])  # dot-stuffing undone by the receiver
        self.assert_signed(m["data"])
        atts = list(self.parse(m["data"]).iter_attachments())
        self.assertEqual(atts[0].get_payload(decode=True), b"\x00\x01report")
        self.wait_events(mid, lambda t: t.count("Delivery") == 2)

    def test_v1_send_email_with_the_cli(self):
        rc, out, err = self.server.aws("ses", "send-email", "--from", "news@shop.example", "--to", "dave@sink.test",
                                       "--subject", "from the cli", "--text", "hello", check=False)
        self.assertEqual(rc, 0, err)
        mid = json.loads(out)["MessageId"]
        [m] = self.received(mid)
        self.assert_signed(m["data"])

    def test_v2_raw_with_the_cli(self):
        raw = b"From: news@shop.example\r\nTo: erin@sink.test\r\nSubject: raw cli\r\n\r\nbody\r\n"
        path = os.path.join(self.workdir, "raw.json")
        with open(path, "w") as f:
            json.dump({"Raw": {"Data": base64.b64encode(raw).decode()}}, f)
        rc, out, err = self.server.aws("sesv2", "send-email", "--content", f"file://{path}", check=False)
        self.assertEqual(rc, 0, err)
        [m] = self.received(json.loads(out)["MessageId"])
        self.assert_signed(m["data"])

    def test_tempfail_then_delivered(self):
        mid = self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": ["tempfail1@sink.test"]},
                                 Content={"Simple": {"Subject": {"Data": "retry"}, "Body": {"Text": {"Data": "x"}}}})["MessageId"]
        ev = self.wait_events(mid, lambda t: "Delivery" in t)
        types = [t for t, _ in ev]
        self.assertEqual(types, ["Send", "DeliveryDelay", "Delivery"])
        delay = ev[1][1]["deliveryDelay"]
        self.assertEqual(delay["delayType"], "RecipientServerError")
        self.assertEqual(delay["delayedRecipients"][0]["emailAddress"], "tempfail1@sink.test")
        self.assertEqual(delay["delayedRecipients"][0]["status"], "4.3.0")
        self.assertIn("451 4.3.0", delay["delayedRecipients"][0]["diagnosticCode"])
        self.assertTrue(delay["expirationTime"].endswith("Z"))
        self.assertEqual(len(self.received(mid)), 1)

    def test_bounce_yields_event_and_dsn(self):
        mid = self.v2.send_email(FromEmailAddress="news@shop.example",
                                 Destination={"ToAddresses": ["bounce1@sink.test", "frank@sink.test"]},
                                 Content={"Simple": {"Subject": {"Data": "hard"}, "Body": {"Text": {"Data": "x"}}}})["MessageId"]
        ev = self.wait_events(mid, lambda t: "Bounce" in t and "Delivery" in t)
        bounce = [b for t, b in ev if t == "Bounce"][0]["bounce"]
        self.assertEqual(bounce["bounceType"], "Permanent")
        self.assertEqual(bounce["bounceSubType"], "NoEmail")
        r = bounce["bouncedRecipients"][0]
        self.assertEqual((r["emailAddress"], r["action"], r["status"]), ("bounce1@sink.test", "failed", "5.1.1"))
        self.assertTrue(r["diagnosticCode"].startswith("smtp; 550 5.1.1"))
        self.assertRegex(bounce["feedbackId"], r"^0100[0-9a-f]{12}-.*-000000$")
        got = self.received(mid)
        self.assertEqual([m["rcpt_tos"] for m in got], [["frank@sink.test"]], [m["mail_from"] for m in got])
        # The DSN goes to the sender, from the null reverse-path, through the sender's MX.
        dsns = self.sink.wait_for(lambda ms: any(mid.encode() in x["data"] and x["mail_from"] == "" for x in ms),
                                  20, "the DSN")
        dsn = [x for x in dsns if x["mail_from"] == "" and mid.encode() in x["data"]][0]
        self.assertEqual(dsn["rcpt_tos"], ["news@shop.example"])
        parsed = self.parse(dsn["data"])
        self.assertEqual(parsed.get_content_type(), "multipart/report")
        self.assertEqual(parsed.get_param("report-type"), "delivery-status")
        status = [p for p in parsed.walk() if p.get_content_type() == "message/delivery-status"][0]
        text = status.as_string()
        self.assertIn("Final-Recipient: rfc822; bounce1@sink.test", text)
        self.assertIn("Status: 5.1.1", text)
        self.assertIn("Action: failed", text)

    def test_tls_require_never_sends_in_clear(self):
        self.v2.create_configuration_set(ConfigurationSetName="tls-required",
                                         DeliveryOptions={"TlsPolicy": "REQUIRE"})
        mid = self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": ["gina@plain.test"]},
                                 ConfigurationSetName="tls-required",
                                 Content={"Simple": {"Subject": {"Data": "secret"}, "Body": {"Text": {"Data": "x"}}}})["MessageId"]
        ev = self.wait_events(mid, lambda t: t.count("DeliveryDelay") >= 2)
        delay = [b for t, b in ev if t == "DeliveryDelay"][0]["deliveryDelay"]
        self.assertIn("REQUIRE", delay["delayedRecipients"][0]["diagnosticCode"])
        self.assertEqual(self.plain.rcpt_log(), [], "no RCPT may be sent without TLS")
        self.assertEqual([m for m in self.plain.messages() if mid.encode() in m["data"]], [])
        # The same sink takes mail in clear when the policy allows it: the refusal above was the policy.
        mid2 = self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": ["gina@plain.test"]},
                                  Content={"Simple": {"Subject": {"Data": "open"}, "Body": {"Text": {"Data": "x"}}}})["MessageId"]
        [m] = self.received(mid2, sink=self.plain)
        self.assertFalse(m["tls"])
        self.assertEqual([m for m in self.plain.messages() if mid.encode() in m["data"]], [])

    def test_stalled_server_is_retried(self):
        mid = self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": ["stall@sink.test"]},
                                 Content={"Simple": {"Subject": {"Data": "stall"}, "Body": {"Text": {"Data": "x"}}}})["MessageId"]
        ev = self.wait_events(mid, lambda t: "DeliveryDelay" in t, timeout=30)
        delay = [b for t, b in ev if t == "DeliveryDelay"][0]["deliveryDelay"]
        self.assertEqual(delay["delayType"], "TransientCommunicationFailure")
        self.assertIn("timed out", delay["delayedRecipients"][0]["diagnosticCode"])

    def test_a_stalled_destination_does_not_hold_back_other_mail(self):
        # A worker left on a transaction that stalls is no longer counted on for the jobs
        # behind it: they are delivered by others at once, not after the stall's timeout.
        self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": ["stall-hold@sink.test"]},
                           Content={"Simple": {"Subject": {"Data": "stall"}, "Body": {"Text": {"Data": "x"}}}})
        time.sleep(0.3)  # its worker now waits for the DATA reply (3 s command timeout)
        start = time.time()
        mids = [self.v2.send_email(FromEmailAddress="news@shop.example",
                                   Destination={"ToAddresses": [f"behind{i}@sink.test"]},
                                   Content={"Simple": {"Subject": {"Data": "behind"}, "Body": {"Text": {"Data": "x"}}}})["MessageId"]
                for i in range(6)]
        for mid in mids:
            self.assertEqual(len(self.received(mid, timeout=10)), 1)
        self.assertLess(time.time() - start, 2.5)

    def test_a_backlog_is_pipelined_behind_each_message(self):
        # 24 messages to one domain whose server takes 0.3 s per message: 8 go out at once
        # (the per-domain limit), the rest wait. Each worker then takes a waiting one, and
        # sends the next waiting one's MAIL, RCPT and DATA behind that message's final dot
        # (RFC 2920; the server answered the message before within half a second), one round
        # trip per message instead of two. Every message arrives
        # once, signed, to its own recipient.
        mids = {}
        for i in range(24):
            rcpt = f"slowpipe{i}@sink.test"
            mids[rcpt] = self.v2.send_email(
                FromEmailAddress="news@shop.example", Destination={"ToAddresses": [rcpt]},
                Content={"Simple": {"Subject": {"Data": f"pipelined {i}"}, "Body": {"Text": {"Data": f"body {i}"}}}})["MessageId"]
        ahead = 0
        for rcpt, mid in mids.items():
            [m] = self.received(mid, timeout=30)
            self.assertEqual(m["rcpt_tos"], [rcpt])
            self.assertIn(b"DKIM-Signature:", m["data"])
            ahead += m["ahead"]
        self.assertGreater(ahead, 0, "no message had the next transaction's commands behind it")
        for mid in mids.values():
            self.wait_events(mid, lambda t: "Delivery" in t)

    def test_dropped_connection_and_garbage_are_retried_without_duplicates(self):
        mid = self.v2.send_email(FromEmailAddress="news@shop.example",
                                 Destination={"ToAddresses": ["dropfirst1@sink.test", "ivan@sink.test"]},
                                 Content={"Simple": {"Subject": {"Data": "cut"}, "Body": {"Text": {"Data": "x"}}}})["MessageId"]
        # The cut ends that attempt for both recipients; they are tried again (at once on a
        # fresh connection when the cut one was reused, else after a DeliveryDelay).
        ev = self.wait_events(mid, lambda t: t.count("Delivery") == 2)
        for t, b in ev:
            if t == "DeliveryDelay":
                self.assertEqual(b["deliveryDelay"]["delayType"], "TransientCommunicationFailure")
        self.assertEqual(len([r for r in self.sink.rcpt_log() if r["rcpt"] == "dropfirst1@sink.test"]), 2)
        [m] = self.received(mid)  # one copy, both recipients, after the retry
        self.assertEqual(sorted(m["rcpt_tos"]), ["dropfirst1@sink.test", "ivan@sink.test"])
        mid = self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": ["garbagefirst1@sink.test"]},
                                 Content={"Simple": {"Subject": {"Data": "junk"}, "Body": {"Text": {"Data": "x"}}}})["MessageId"]
        # The garbage answer ends that connection; the recipient is tried again (on a fresh
        # connection at once when the first was a reused one, else after a DeliveryDelay).
        self.wait_events(mid, lambda t: "Delivery" in t)
        replies = [r["reply"] for r in self.sink.rcpt_log() if r["rcpt"] == "garbagefirst1@sink.test"]
        self.assertEqual(replies, ["this is not an SMTP reply", "250 2.1.5 OK"])
        self.assertEqual(len(self.received(mid)), 1)

    def test_unroutable_domains_bounce(self):
        for domain, status in (("nxdomain.test", "5.1.2"), ("nullmx.test", "5.1.10")):
            mid = self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": [f"x@{domain}"]},
                                     Content={"Simple": {"Subject": {"Data": "nowhere"}, "Body": {"Text": {"Data": "x"}}}})["MessageId"]
            ev = self.wait_events(mid, lambda t: "Bounce" in t)
            bounce = [b for t, b in ev if t == "Bounce"][0]["bounce"]
            self.assertEqual(bounce["bounceType"], "Permanent", domain)
            self.assertEqual(bounce["bouncedRecipients"][0]["status"], status, domain)

    def test_verification_mail_link_verifies_the_address(self):
        import urllib.error
        import urllib.request
        self.v1.verify_email_identity(EmailAddress="newuser@sink.test")
        status = self.v1.get_identity_verification_attributes(Identities=["newuser@sink.test"])
        self.assertEqual(status["VerificationAttributes"]["newuser@sink.test"]["VerificationStatus"], "Pending")
        msgs = self.sink.wait_for(lambda ms: any(m["rcpt_tos"] == ["newuser@sink.test"] for m in ms), 20,
                                  "the verification mail")
        mail = [m for m in msgs if m["rcpt_tos"] == ["newuser@sink.test"]][0]
        self.assertEqual(mail["mail_from"], "")  # system mail: nothing bounces back to it
        text = self.parse(mail["data"]).get_body(("plain",)).get_content()
        link = [w for w in text.split() if w.startswith(self.server.endpoint + "/_sesame/verify-email?")][0]
        bad = link[:link.index("token=") + 6] + "wrong"
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(bad, timeout=5)
        self.assertEqual(cm.exception.code, 400)
        with urllib.request.urlopen(link, timeout=5) as r:
            self.assertEqual(r.status, 200)
            self.assertIn(b"successfully verified", r.read())
        status = self.v1.get_identity_verification_attributes(Identities=["newuser@sink.test"])
        self.assertEqual(status["VerificationAttributes"]["newuser@sink.test"]["VerificationStatus"], "Success")
        with urllib.request.urlopen(link, timeout=5) as r:  # opening it again changes nothing
            self.assertEqual(r.status, 200)
        # v2 CreateEmailIdentity sends one too.
        self.v2.create_email_identity(EmailIdentity="other@sink.test")
        self.sink.wait_for(lambda ms: any(m["rcpt_tos"] == ["other@sink.test"] for m in ms), 20, "the v2 verification mail")

    def test_send_statistics_count_attempts(self):
        mid = self.v1.send_email(Source="news@shop.example", Destination={"ToAddresses": ["henry@sink.test"]},
                                 Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}})["MessageId"]
        self.received(mid)
        points = self.v1.get_send_statistics()["SendDataPoints"]
        self.assertGreaterEqual(sum(p["DeliveryAttempts"] for p in points), 1)
        for p in points:
            self.assertEqual(set(p), {"Timestamp", "DeliveryAttempts", "Bounces", "Complaints", "Rejects"})


if __name__ == "__main__":
    unittest.main()
