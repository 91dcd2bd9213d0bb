"""Feedback from outside end to end (issue 6 item 4): asynchronous bounces (an RFC 3464 DSN,
and qmail's plain-text form) and an ARF complaint report (RFC 5965) mailed with smtplib to
the inbound feedback listener ([smtp] feedback_listen) become Bounce and Complaint events
of the message they are about, found through the envelope address or the reported
Message-ID, and put the addresses on the suppression list, so a later send skips them. The
listener takes no AUTH and is no relay. The real binary, dnsmasq and an aiosmtpd sink.
Run with /usr/bin/python3."""
import os
import smtplib
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def dsn(to, recipient, status="5.1.1", diagnostic="550 5.1.1 <{r}>: Recipient address rejected: User unknown",
        original_id=None):
    headers = f"Message-ID: <{original_id}>\r\n" if original_id else ""
    diag = diagnostic.format(r=recipient)
    return (f"From: MAILER-DAEMON@mx.remote.example\r\nTo: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            "MIME-Version: 1.0\r\nAuto-Submitted: auto-replied\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="B0UND"\r\n\r\n'
            "--B0UND\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n\r\n"
            "--B0UND\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.remote.example\r\nArrival-Date: Sun, 06 Dec 2026 10:00:00 +0000\r\n\r\n"
            f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\nAction: failed\r\n"
            f"Status: {status}\r\nRemote-MTA: dns; inbox.remote.example\r\n"
            f"Diagnostic-Code: smtp; {diag}\r\n\r\n"
            f"--B0UND\r\nContent-Type: text/rfc822-headers\r\n\r\n{headers}Subject: hello\r\n\r\n--B0UND--\r\n")


def arf(to, recipient, original_id, feedback_type="abuse"):
    return (f"From: fbl@isp.example\r\nTo: {to}\r\nSubject: Abuse report\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=feedback-report; boundary="ARFB"\r\n\r\n'
            "--ARFB\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n\r\n"
            "--ARFB\r\nContent-Type: message/feedback-report\r\n\r\n"
            f"Feedback-Type: {feedback_type}\r\nUser-Agent: ExampleISP-FBL/1.0\r\nVersion: 1\r\n"
            f"Original-Rcpt-To: {recipient}\r\nArrival-Date: Sun, 06 Dec 2026 10:00:00 GMT\r\n\r\n"
            f"--ARFB\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <{original_id}>\r\nTo: {recipient}\r\n"
            "From: news@shop.example\r\nSubject: hello\r\n\r\nbody\r\n\r\n--ARFB--\r\n")


class Feedback(harness.MailWorld, unittest.TestCase):
    prefix = "sesame-feedback-"

    @classmethod
    def extra_config(cls, workdir):
        cls.feedback_port = harness.free_port()
        return f'[smtp]\nfeedback_listen = "127.0.0.1:{cls.feedback_port}"\n'

    def send(self, to):
        mid = self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": [to]},
                                 Content={"Simple": {"Subject": {"Data": "hello"}, "Body": {"Text": {"Data": "b"}}}})[
            "MessageId"]
        [copy] = self.received(mid)
        return mid, copy["mail_from"]

    def send_only(self, to):
        return self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": [to]},
                                  Content={"Simple": {"Subject": {"Data": "hello"}, "Body": {"Text": {"Data": "b"}}}})[
            "MessageId"]

    def forwarded(self, subject, needle):
        """The forwarded report (null reverse path, to the sender) whose text holds `needle`."""
        want = lambda ms: [m for m in ms if m["mail_from"] == "" and "news@shop.example" in m["rcpt_tos"]  # noqa: E731
                           and f"Subject: {subject}".encode() in m["data"] and needle in m["data"]]
        return want(self.sink.wait_for(lambda ms: want(ms), 30, f"forwarded '{subject}'"))[0]

    def report(self, rcpt, text, mail_from=""):
        with smtplib.SMTP("127.0.0.1", self.feedback_port, timeout=20) as s:
            s.ehlo("mx.remote.example")
            self.assertNotIn("auth", s.esmtp_features)  # never offered
            s.sendmail(mail_from, [rcpt], text.encode())

    def wait_event(self, mid, type_, count=1, timeout=20):
        deadline = time.time() + timeout
        while True:
            got = [r for t, r in self.events(mid) if t == type_]
            if len(got) >= count:
                return got
            if time.time() > deadline:
                self.fail(f"{mid}: no {type_} event; have {[t for t, _ in self.events(mid)]}")
            time.sleep(0.1)

    def test_an_asynchronous_dsn_is_a_bounce_and_suppresses(self):
        mid, return_path = self.send("gone@sink.test")
        self.assertEqual(return_path, f"{mid}@bounces.sesame.test")
        self.report(return_path, dsn(return_path, "gone@sink.test"))
        [bounce] = self.wait_event(mid, "Bounce")
        b = bounce["bounce"]
        self.assertEqual((b["bounceType"], b["bounceSubType"]), ("Permanent", "NoEmail"))
        [r] = b["bouncedRecipients"]
        self.assertEqual((r["emailAddress"], r["action"], r["status"]), ("gone@sink.test", "failed", "5.1.1"))
        self.assertEqual(r["diagnosticCode"],
                         "smtp; 550 5.1.1 <gone@sink.test>: Recipient address rejected: User unknown")
        self.assertEqual(b["reportingMTA"], "dns; mx.remote.example")
        self.assertEqual(bounce["mail"]["messageId"], mid)
        entry = self.v2.get_suppressed_destination(EmailAddress="gone@sink.test")["SuppressedDestination"]
        self.assertEqual(entry["Reason"], "BOUNCE")
        # Email feedback forwarding (on by default): the sender gets the report.
        fwd = self.forwarded("Delivery Status Notification (Failure)", b"gone@sink.test")
        self.assertIn(b"report-type=delivery-status", fwd["data"])
        # The same DSN again is not a second bounce.
        self.report(return_path, dsn(return_path, "gone@sink.test"))
        time.sleep(0.5)
        self.assertEqual(len([t for t, _ in self.events(mid) if t == "Bounce"]), 1)
        # A later send to the address is not attempted.
        before = len(self.sink.messages())
        again = self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": ["gone@sink.test"]},
                                   Content={"Simple": {"Subject": {"Data": "x"}, "Body": {"Text": {"Data": "b"}}}})[
            "MessageId"]
        [sup] = self.wait_event(again, "Bounce")
        self.assertEqual(sup["bounce"]["bounceSubType"], "OnAccountSuppressionList")
        time.sleep(0.5)
        self.assertFalse([m for m in self.sink.messages()[before:] if "gone@sink.test" in m["rcpt_tos"]])

    def test_an_arf_report_is_a_complaint_found_by_message_id(self):
        mid, _ = self.send("angry@sink.test")
        # Sent to a plain feedback address: the reported Message-ID leads to the message.
        self.report("complaints@bounces.sesame.test",
                    arf("complaints@bounces.sesame.test", "angry@sink.test", f"{mid}@email.amazonses.com"),
                    mail_from="fbl@isp.example")
        [c] = self.wait_event(mid, "Complaint")
        comp = c["complaint"]
        self.assertEqual(comp["complainedRecipients"], [{"emailAddress": "angry@sink.test"}])
        self.assertEqual(comp["complaintFeedbackType"], "abuse")
        self.assertEqual(comp["userAgent"], "ExampleISP-FBL/1.0")
        self.assertEqual(comp["arrivalDate"], "2026-12-06T10:00:00.000Z")
        self.assertRegex(comp["feedbackId"], r"^[0-9a-f]{16}-")
        entry = self.v2.get_suppressed_destination(EmailAddress="angry@sink.test")["SuppressedDestination"]
        self.assertEqual(entry["Reason"], "COMPLAINT")
        fwd = self.forwarded("Complaint about your message", b"angry@sink.test")
        self.assertIn(b"report-type=feedback-report", fwd["data"])

    def test_a_simulator_complaint_is_forwarded_to_the_sender(self):
        mid = self.send_only("complaint@simulator.amazonses.com")
        self.wait_event(mid, "Complaint")
        fwd = self.forwarded("Complaint about your message", mid.encode())
        self.assertIn(b"Feedback-Type: abuse", fwd["data"])
        self.assertIn(b"Original-Rcpt-To: <complaint@simulator.amazonses.com>", fwd["data"])

    def test_a_qmail_style_bounce_is_understood(self):
        mid, return_path = self.send("old@sink.test")
        text = (f"From: MAILER-DAEMON@qmail.remote.example\r\nTo: {return_path}\r\nSubject: failure notice\r\n\r\n"
                "Hi. This is the qmail-send program at qmail.remote.example.\r\n"
                "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
                "This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
                "<old@sink.test>:\r\n192.0.2.7 does not like recipient.\r\n"
                "Remote host said: 550 5.1.1 mailbox unavailable\r\nGiving up on 192.0.2.7.\r\n\r\n")
        self.report(return_path, text)
        [bounce] = self.wait_event(mid, "Bounce")
        self.assertEqual(bounce["bounce"]["bounceType"], "Permanent")
        self.assertEqual(bounce["bounce"]["bouncedRecipients"][0]["emailAddress"], "old@sink.test")
        self.assertEqual(bounce["bounce"]["bouncedRecipients"][0]["status"], "5.1.1")

    def test_the_listener_is_no_relay_and_takes_what_it_cannot_use(self):
        with smtplib.SMTP("127.0.0.1", self.feedback_port, timeout=20) as s:
            s.ehlo("somebody.example")
            s.mail("spammer@example.org")
            code, msg = s.rcpt("victim@example.org")
            self.assertEqual(code, 550, msg)
            code, _ = s.rcpt("x@bounces.sesame.test")
            self.assertEqual(code, 250)
            # Not a report (an out-of-office reply): accepted and dropped, nothing recorded.
            s.data(b"From: a@example.org\r\nAuto-Submitted: auto-replied\r\nSubject: away\r\n\r\nI am away.\r\n")
        # A malformed report about no message of ours is taken too (no bounce ping-pong).
        self.report("0100aaaaaaaaaaaa-00000000-0000-0000-0000-000000000000-000000@bounces.sesame.test",
                    "Content-Type: multipart/report; boundary=\"x\"\r\n\r\n--x\r\n\x01garbage\r\n")
        self.assertIn("nothing recorded", open(self.server.log_path).read())


if __name__ == "__main__":
    unittest.main()
