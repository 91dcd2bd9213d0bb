"""mime::build_simple read back by an independent parser: Python's email package (the
policy SMTP clients and tests use). Run with /usr/bin/python3."""
import base64
import email
import email.policy
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TOOL = os.path.join(harness.BUILD, "tests", "sesame_mime_tool")


class MimeInterop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require(os.path.exists(TOOL), "sesame_mime_tool not built")

    def build(self, spec):
        r = subprocess.run([TOOL], input=json.dumps(spec).encode(), capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        # Line ends become LF first, as a receiving MTA stores them; the CRLF before each
        # boundary belongs to the boundary (RFC 2046 §5.1.1), so parts end without one.
        return email.message_from_bytes(r.stdout.replace(b"\r\n", b"\n"), policy=email.policy.default), r.stdout

    def test_alternative_with_utf8(self):
        msg, raw = self.build({"from": "Café Shop <news@example.com>", "to": ["a@example.net", "Bé <b@example.net>"],
                               "subject": "Grüße — 10% off " + "x" * 80, "text": "Hallo Grüße\nline two",
                               "html": "<p>Grüße</p>", "headers": [["X-Campaign", "frühling"]]})
        self.assertEqual(str(msg["subject"]), "Grüße — 10% off " + "x" * 80)
        self.assertEqual(msg["from"].addresses[0].display_name, "Café Shop")
        self.assertEqual([a.addr_spec for a in msg["to"].addresses], ["a@example.net", "b@example.net"])
        self.assertEqual(str(msg["x-campaign"]), "frühling")
        self.assertEqual(msg.get_content_type(), "multipart/alternative")
        self.assertEqual(msg.get_body(("plain",)).get_content(), "Hallo Grüße\nline two")
        self.assertEqual(msg.get_body(("html",)).get_content(), "<p>Grüße</p>")
        self.assertTrue(all(len(line) <= 998 for line in raw.split(b"\r\n")))
        self.assertEqual(raw.count(b"\n"), raw.count(b"\r\n"))

    def test_attachments(self):
        pdf = bytes(range(256)) * 10
        msg, _ = self.build({"from": "news@example.com", "to": ["a@example.net"], "subject": "files",
                             "html": '<img src="cid:logo">', "attachments": [
                                 {"name": "logo.png", "b64": base64.b64encode(b"\x89PNG..").decode(), "inline": True,
                                  "cid": "logo"},
                                 {"name": "résumé.pdf", "b64": base64.b64encode(pdf).decode()}]})
        self.assertEqual(msg.get_content_type(), "multipart/mixed")
        atts = list(msg.iter_attachments())
        self.assertEqual(len(atts), 1)
        self.assertEqual(atts[0].get_filename(), "résumé.pdf")
        self.assertEqual(atts[0].get_content(), pdf)
        related = msg.get_payload()[0]
        self.assertEqual(related.get_content_type(), "multipart/related")
        logo = related.get_payload()[1]
        self.assertEqual(logo["Content-ID"], "<logo>")
        self.assertEqual(logo.get_content(), b"\x89PNG..")


if __name__ == "__main__":
    unittest.main()
