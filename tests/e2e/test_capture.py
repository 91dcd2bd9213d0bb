"""Sending in capture mode: boto3 and the AWS CLI send through v1 and v2 (Simple, Raw,
attachments, UTF-8); GET /_aws/ses shows the messages in LocalStack's shape; the DKIM
signature verifies with dkimpy; SES's refusals (unverified sender, sandbox recipients,
rate) come back with SES's codes. Run with /usr/bin/python3."""
import base64
import email
import email.policy
import json
import os
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class Capture(harness.ServerCase):
    extra_config = '[delivery]\nmode = "capture"\n'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.v1, cls.v2 = cls.server.ses_clients()
        cls.v2.create_email_identity(EmailIdentity="shop.example")
        for ident in ["shop.example", "a@rcpt.example", "b@rcpt.example", "c@rcpt.example"]:
            if "@" in ident:
                cls.v1.verify_email_identity(EmailAddress=ident)
            cls.server.cli("identity", "verify", "--account", cls.account, ident)
        records = json.loads(cls.server.cli("identity", "records", "--account", cls.account, "shop.example"))
        cls.dkim_records = {r["Name"]: r["Value"] for r in records}

    def setUp(self):
        req = urllib.request.Request(self.server.endpoint + "/_aws/ses", method="DELETE")
        urllib.request.urlopen(req, timeout=5).close()
        time.sleep(1.05)  # the sandbox allows one message per second

    def captured(self, email_filter=None):
        url = self.server.endpoint + "/_aws/ses" + (f"?email={email_filter}" if email_filter else "")
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read())["messages"]

    def raw_of(self, message_id):
        """The signed message as delivery would send it (the capture view's SignedRawData)."""
        for m in self.captured():
            if m["Id"] == message_id:
                return m["SignedRawData"].encode()
        self.fail(f"message {message_id} not captured")

    def dns(self, name, timeout=5):
        return self.dkim_records[name.decode().rstrip(".")].encode()

    def test_v1_send_email_signed_and_captured(self):
        r = self.v1.send_email(Source="Shop <news@shop.example>",
                               Destination={"ToAddresses": ["a@rcpt.example"], "BccAddresses": ["b@rcpt.example"]},
                               Message={"Subject": {"Data": "Grüße"}, "Body": {"Text": {"Data": "Hallo"},
                                                                               "Html": {"Data": "<p>Hallo</p>"}}},
                               Tags=[{"Name": "campaign", "Value": "spring"}])
        mid = r["MessageId"]
        self.assertRegex(mid, r"^0100[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-000000$")
        msgs = self.captured()
        self.assertEqual(len(msgs), 1)
        m = msgs[0]
        self.assertEqual(m["Id"], mid)
        self.assertEqual(m["Subject"], "Grüße")
        self.assertEqual(m["Body"]["text_part"], "Hallo")
        self.assertEqual(m["Destination"]["BccAddresses"], ["b@rcpt.example"])
        raw = self.raw_of(mid)
        self.assertTrue(raw.startswith(b"DKIM-Signature:"))
        self.assertNotIn(b"b@rcpt.example", raw)  # Bcc never reaches the message
        self.assertIn(f"Message-ID: <{mid}@email.amazonses.com>".encode(), raw)
        import dkim
        self.assertTrue(dkim.verify(raw, dnsfunc=self.dns))
        parsed = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.default)
        self.assertEqual(str(parsed["subject"]), "Grüße")
        quota = self.v1.get_send_quota()
        self.assertGreaterEqual(quota["SentLast24Hours"], 2.0)

    def test_v2_raw_strips_bcc_and_takes_ses_headers(self):
        self.v2.create_configuration_set(ConfigurationSetName="capture-cs")
        raw = (b"From: news@shop.example\r\nTo: a@rcpt.example\r\nBcc: c@rcpt.example\r\nSubject: raw\r\n"
               b"X-SES-CONFIGURATION-SET: capture-cs\r\nMessage-ID: <mine@local>\r\n\r\nbody\r\n")
        mid = self.v2.send_email(Content={"Raw": {"Data": raw}})["MessageId"]
        stored = self.raw_of(mid)
        self.assertNotIn(b"c@rcpt.example", stored)
        self.assertNotIn(b"X-SES-CONFIGURATION-SET", stored)
        self.assertNotIn(b"mine@local", stored)
        self.assertEqual([m["Id"] for m in self.captured("news@shop.example")], [mid])
        self.assertEqual(self.captured("nobody@x.example"), [])

    def test_v2_simple_with_attachment(self):
        # Debian's boto3 1.26 and AWS CLI 2.9 predate Attachments: a signed raw request instead.
        body = json.dumps({"FromEmailAddress": "news@shop.example", "Destination": {"ToAddresses": ["a@rcpt.example"]},
                           "Content": {"Simple": {"Subject": {"Data": "files"}, "Body": {"Text": {"Data": "see"}},
                                                  "Attachments": [{"FileName": "r.txt",
                                                                   "RawContent": base64.b64encode(b"report").decode()}]}}})
        status, _, data = harness.signed_request(self.server, "POST", "/v2/email/outbound-emails", body,
                                                 {"Content-Type": "application/json"})
        self.assertEqual(status, 200, data)
        mid = json.loads(data)["MessageId"]
        stored = self.raw_of(mid)
        parsed = email.message_from_bytes(stored.replace(b"\r\n", b"\n"), policy=email.policy.default)
        atts = list(parsed.iter_attachments())
        self.assertEqual(atts[0].get_filename(), "r.txt")
        self.assertEqual(atts[0].get_payload(decode=True), b"report")

    def test_daily_quota(self):
        from botocore.exceptions import ClientError
        sent = int(self.v1.get_send_quota()["SentLast24Hours"])
        self.server.cli("account", "quota", "--account", self.account, "--max-24-hour-send", str(sent + 1))
        try:
            self.assertEqual(self.v1.get_send_quota()["Max24HourSend"], sent + 1)
            ok = dict(Source="news@shop.example", Destination={"ToAddresses": ["a@rcpt.example"]},
                      Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}})
            self.v1.send_email(**ok)
            self.assertEqual(self.v1.get_send_quota()["SentLast24Hours"], sent + 1)
            time.sleep(1.05)
            with self.assertRaises(ClientError) as cm:
                self.v1.send_email(**ok)
            self.assertEqual(cm.exception.response["Error"]["Code"], "Throttling")
            self.assertEqual(cm.exception.response["Error"]["Message"], "Daily message quota exceeded.")
            with self.assertRaises(ClientError) as cm:
                self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": ["a@rcpt.example"]},
                                   Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}})
            self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 429)
            self.assertEqual(cm.exception.response["Error"]["Message"], "Daily message quota exceeded.")
            # Deleting captured mail does not give the quota back: it counts sends.
            req = urllib.request.Request(self.server.endpoint + "/_aws/ses", method="DELETE")
            urllib.request.urlopen(req, timeout=5).close()
            self.assertEqual(self.v1.get_send_quota()["SentLast24Hours"], sent + 1)
        finally:
            self.server.cli("account", "quota", "--account", self.account, "--max-24-hour-send", "200")

    def test_verification_mail_is_captured(self):
        self.v1.verify_email_identity(EmailAddress="z@rcpt.example")
        [m] = [m for m in self.captured() if m["Destination"]["ToAddresses"] == ["z@rcpt.example"]]
        self.assertEqual(m["Subject"], "Email Address Verification Request in region us-east-1")
        self.assertIn(self.server.endpoint + "/_sesame/verify-email?", m["Body"]["text_part"])

    def test_v1_send_email_with_the_cli(self):
        rc, out, err = self.server.aws("ses", "send-email", "--from", "news@shop.example", "--to", "a@rcpt.example",
                                       "--subject", "cli", "--text", "hello", check=False)
        self.assertEqual(rc, 0, err)
        mid = json.loads(out)["MessageId"]
        self.assertEqual([m["Subject"] for m in self.captured() if m["Id"] == mid], ["cli"])

    def test_refusals(self):
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            self.v1.send_email(Source="x@unverified.example", Destination={"ToAddresses": ["a@rcpt.example"]},
                               Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}})
        self.assertEqual(cm.exception.response["Error"]["Code"], "MessageRejected")
        self.assertIn("failed the check in region US-EAST-1: x@unverified.example", cm.exception.response["Error"]["Message"])
        with self.assertRaises(ClientError) as cm:
            self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": ["z@stranger.example"]},
                               Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}})
        self.assertEqual(cm.exception.response["Error"]["Code"], "MessageRejected")
        self.assertIn("z@stranger.example", cm.exception.response["Error"]["Message"])
        # The sandbox rate is one message per second: the second of two quick sends is throttled.
        ok = dict(Source="news@shop.example", Destination={"ToAddresses": ["a@rcpt.example"]},
                  Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}})
        self.v1.send_email(**ok)
        with self.assertRaises(ClientError) as cm:
            self.v1.send_email(**ok)
        self.assertEqual(cm.exception.response["Error"]["Code"], "Throttling")
        self.assertEqual(cm.exception.response["Error"]["Message"], "Maximum sending rate exceeded.")
        with self.assertRaises(ClientError) as cm:
            self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": ["a@rcpt.example"]},
                               Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}})
        self.assertEqual(cm.exception.response["Error"]["Code"], "TooManyRequestsException")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 429)
        time.sleep(1.05)
        with self.assertRaises(ClientError) as cm:
            self.v1.send_email(Source="news@shop.example", Destination={"ToAddresses": ["a@rcpt.example"]},
                               Message={"Subject": {"Data": "bad\r\nBcc: evil@x.example"}, "Body": {"Text": {"Data": "b"}}})
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidParameterValue")


class DeliverMode(harness.ServerCase):
    def test_no_capture_view(self):
        # Outside capture mode mail is delivered (test_delivery.py) and there is no capture view.
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(self.server.endpoint + "/_aws/ses", timeout=5)
        self.assertEqual(cm.exception.code, 404)


if __name__ == "__main__":
    unittest.main()
