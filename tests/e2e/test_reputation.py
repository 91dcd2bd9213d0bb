"""Reputation end to end (issue 6 item 7): hard bounces from a real MX (the sink refuses
bounce* addresses with 550 5.1.1) push the account's bounce rate past the pause threshold;
the account goes to EnforcementStatus SHUTDOWN, every send is refused with SES's paused
errors (v2 SendingPausedException, v1 AccountSendingPausedException), GET /metrics shows
the rates, and the operator's `sesame account resume` lifts the pause with fresh rates.
The real binary, dnsmasq and an aiosmtpd sink. Run with /usr/bin/python3."""
import os
import re
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class Reputation(harness.MailWorld, unittest.TestCase):
    prefix = "sesame-reputation-"

    @classmethod
    def extra_config(cls, workdir):
        return "[reputation]\ncheck_seconds = 0.2\nmin_volume = 10\n"

    def send(self, to):
        return self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": [to]},
                                  Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}})[
            "MessageId"]

    def wait_status(self, status, timeout=30):
        deadline = time.time() + timeout
        while True:
            acct = self.v2.get_account()
            if acct["EnforcementStatus"] == status:
                return acct
            if time.time() > deadline:
                self.fail(f"EnforcementStatus stayed {acct['EnforcementStatus']}, wanted {status}")
            time.sleep(0.2)

    def test_bounces_past_the_threshold_pause_sending_until_resumed(self):
        from botocore.exceptions import ClientError
        self.assertEqual(self.v2.get_account()["EnforcementStatus"], "HEALTHY")
        # Simulator bounces do not count, however many.
        simulated = [self.send(f"bounce+{i}@simulator.amazonses.com") for i in range(12)]
        mids = [self.send(f"fine{i}@sink.test") for i in range(6)] + [self.send(f"bounce{i}@sink.test") for i in range(4)]
        # Every outcome, the simulator's too (the Bounce count below includes them).
        for mid in simulated + mids:
            deadline = time.time() + 30
            while not [t for t, _ in self.events(mid) if t in ("Delivery", "Bounce")]:
                self.assertLess(time.time(), deadline, f"no outcome for {mid}")
                time.sleep(0.1)
        acct = self.wait_status("SHUTDOWN")
        self.assertFalse(acct["SendingEnabled"])
        self.assertFalse(self.v1.get_account_sending_enabled()["Enabled"])
        with self.assertRaises(ClientError) as ctx:
            self.send("fine-later@sink.test")
        self.assertEqual(ctx.exception.response["Error"]["Code"], "SendingPausedException")
        with self.assertRaises(ClientError) as ctx:
            self.v1.send_email(Source="news@shop.example", Destination={"ToAddresses": ["fine-later@sink.test"]},
                               Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}})
        self.assertEqual(ctx.exception.response["Error"]["Code"], "AccountSendingPausedException")
        # The account cannot lift a review pause itself.
        self.v1.update_account_sending_enabled(Enabled=True)
        self.assertFalse(self.v2.get_account()["SendingEnabled"])
        # The event counters move as the publisher passes the events (its poll interval).
        deadline = time.time() + 15
        while True:
            with urllib.request.urlopen(self.server.endpoint + "/metrics", timeout=10) as r:
                metrics = r.read().decode()
            m = re.search(r'sesame_events_total\{account="' + self.account + r'",region="us-east-1",event_type="Bounce"\} (\d+)',
                          metrics)
            if (m and int(m.group(1)) >= 16) or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertIn(f'ses_reputation_bounce_rate{{account="{self.account}",region="us-east-1",configuration_set=""}} '
                      "0.400000", metrics)
        self.assertIn(f'ses_account_enforcement{{account="{self.account}",region="us-east-1",status="SHUTDOWN"}} 1',
                      metrics)
        self.assertIn('sesame_events_total{account="' + self.account + '",region="us-east-1",event_type="Bounce"}',
                      metrics)
        self.assertIn('sesame_delivery_jobs{state="waiting"}', metrics)
        # Valid Prometheus text: Prometheus' own Python parser reads every family.
        from prometheus_client.parser import text_string_to_metric_families
        families = {f.name: f for f in text_string_to_metric_families(metrics)}
        for name, kind in (("sesame_events", "counter"), ("ses_reputation_bounce_rate", "gauge"),
                           ("ses_account_enforcement", "gauge"), ("sesame_delivery_jobs", "gauge")):
            self.assertEqual(families[name].type, kind, name)
        sent = {s.labels["event_type"]: s.value for s in families["sesame_events"].samples
                if s.name == "sesame_events_total"}
        self.assertGreaterEqual(sent["Send"], 22)
        self.assertGreaterEqual(sent["Delivery"], 6)
        self.assertGreaterEqual(sent["Bounce"], 16)
        # The operator resumes; the rates start afresh, so the old bounces do not pause it again.
        out = self.server.cli("account", "resume", "--account", self.account)
        self.assertIn("sending resumed", out)
        self.wait_status("HEALTHY")
        time.sleep(0.6)  # several checks
        self.assertEqual(self.v2.get_account()["EnforcementStatus"], "HEALTHY")
        self.assertTrue(self.v2.get_account()["SendingEnabled"])
        mid = self.send("fine-after@sink.test")
        self.received(mid)


if __name__ == "__main__":
    unittest.main()
