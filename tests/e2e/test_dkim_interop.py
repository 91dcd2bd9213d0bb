"""Sesame's DKIM signer (mailauth/dkim) against an independent verifier: dkimpy
(Debian python3-dkim), with the public key served by a stub DNS function, plus tampering.
Run with /usr/bin/python3."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TOOL = os.path.join(harness.BUILD, "tests", "sesame_dkim_tool")

MESSAGES = [
    b"From: Shop <news@example.com>\r\nTo: a@example.net, b@example.net\r\nSubject: Hello\r\n"
    b"Date: Mon, 15 Jan 2024 12:00:00 +0000\r\nMessage-ID: <1@example.com>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=UTF-8\r\n\r\nHi there,\r\n  spaced   line \t\r\n\r\n\r\n",
    # folded headers, a long subject, an empty body
    b"From: news@example.com\r\nTo: a@example.net\r\nSubject: a very long subject that is folded\r\n"
    b" onto a second line\r\nX-Other: not signed\r\n\r\n",
    # bare LF line ends are signed as CRLF
    b"From: news@example.com\nTo: a@example.net\nSubject: lf\n\nbody\nmore\n",
]


class DkimInterop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require(os.path.exists(TOOL), "sesame_dkim_tool not built")
        import dkim  # noqa: F401  (python3-dkim)
        cls.dir = tempfile.mkdtemp(prefix="sesame-dkim-")
        cls.pub = subprocess.run([TOOL, "generate", cls.dir, "example.com", "k1"], check=True,
                                 capture_output=True, text=True).stdout.strip()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def sign(self, msg):
        return subprocess.run([TOOL, "sign", self.dir, "example.com", "k1", "sel1"], input=msg, check=True,
                              capture_output=True).stdout

    def dns(self, name, timeout=5):
        self.assertEqual(name, b"sel1._domainkey.example.com.")
        return b"v=DKIM1; k=rsa; p=" + self.pub.encode()

    def test_dkimpy_verifies_our_signatures(self):
        import dkim
        for msg in MESSAGES:
            signed = self.sign(msg)
            if b"\r\n" not in msg:  # what travels on the wire is CRLF
                signed = signed.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            self.assertTrue(dkim.verify(signed, dnsfunc=self.dns), signed[:400])

    def test_dkimpy_rejects_tampered_messages(self):
        import dkim
        signed = self.sign(MESSAGES[0])
        self.assertFalse(dkim.verify(signed.replace(b"Hi there", b"Hi THERE"), dnsfunc=self.dns))
        self.assertFalse(dkim.verify(signed.replace(b"Subject: Hello", b"Subject: Hellp"), dnsfunc=self.dns))


if __name__ == "__main__":
    unittest.main()
