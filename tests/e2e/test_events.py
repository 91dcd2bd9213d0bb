"""Event publishing end to end (issue 6, first slice): a configuration set's Firehose-style
event destinations get SES event records, one JSON per line, in files under
[events] firehose_dir, for the event types they match and only those; events of messages
sent without the set go nowhere; a restart neither loses nor repeats records; CloudWatch-
style destinations are counters on GET /metrics with their dimensions. The real binary,
dnsmasq and an aiosmtpd sink; boto3, the AWS CLI and urllib. Run with /usr/bin/python3."""
import glob
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

STREAM_ARN = "arn:aws:firehose:us-east-1:123456789012:deliverystream/{}"


class Events(harness.MailWorld, unittest.TestCase):
    prefix = "sesame-events-"

    @classmethod
    def extra_config(cls, workdir):
        cls.firehose = os.path.join(workdir, "firehose")
        return f'[events]\nfirehose_dir = "{cls.firehose}"\npoll_ms = 50\n'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.v2.create_configuration_set(ConfigurationSetName="tracked")
        cls.v2.create_configuration_set_event_destination(
            ConfigurationSetName="tracked", EventDestinationName="all",
            EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "DELIVERY", "RENDERING_FAILURE"],
                              "KinesisFirehoseDestination": {"IamRoleArn": "arn:aws:iam::123456789012:role/x",
                                                             "DeliveryStreamArn": STREAM_ARN.format("ses-all")}})
        cls.v2.create_configuration_set_event_destination(
            ConfigurationSetName="tracked", EventDestinationName="bounces",
            EventDestination={"Enabled": True, "MatchingEventTypes": ["BOUNCE"],
                              "KinesisFirehoseDestination": {"IamRoleArn": "arn:aws:iam::123456789012:role/x",
                                                             "DeliveryStreamArn": STREAM_ARN.format("ses-bounces")}})
        cls.v2.create_email_template(TemplateName="hello", TemplateContent={"Subject": "Hi {{name}}", "Text": "x"})

    def records(self, stream):
        out = []
        for path in sorted(glob.glob(os.path.join(self.firehose, stream, "*", "*", "*", "*", f"{stream}-1-*"))):
            with open(path) as f:
                out += [json.loads(line) for line in f if line.strip()]
        return out

    def wait_records(self, stream, predicate, timeout=20):
        deadline = time.time() + timeout
        while True:
            recs = self.records(stream)
            if predicate(recs):
                return recs
            if time.time() > deadline:
                self.fail(f"{stream}: {[(r['eventType'], r['mail']['messageId']) for r in recs]}")
            time.sleep(0.1)

    def send(self, to, configuration_set="tracked"):
        kw = {"ConfigurationSetName": configuration_set} if configuration_set else {}
        return self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": [to]},
                                  Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
                                  **kw)["MessageId"]

    def of(self, recs, mid):
        return [r["eventType"] for r in recs if r["mail"]["messageId"] == mid]

    def test_send_and_delivery_reach_the_stream_in_order(self):
        mid = self.send("e1@sink.test")
        recs = self.wait_records("ses-all", lambda rs: self.of(rs, mid) == ["Send", "Delivery"])
        send, delivery = [r for r in recs if r["mail"]["messageId"] == mid]
        self.assertEqual(send["mail"]["tags"]["ses:configuration-set"], ["tracked"])
        self.assertEqual(send["mail"]["destination"], ["e1@sink.test"])
        self.assertEqual(delivery["delivery"]["recipients"], ["e1@sink.test"])
        self.assertFalse([r for r in self.records("ses-bounces") if r["mail"]["messageId"] == mid])
        # The file layout is Firehose's: <stream>/YYYY/MM/DD/HH/<stream>-1-<time>-<seq>.
        [path] = [p for p in glob.glob(os.path.join(self.firehose, "ses-all", "*", "*", "*", "*", "*"))][:1]
        self.assertRegex(os.path.relpath(path, self.firehose),
                         r"^ses-all/\d{4}/\d{2}/\d{2}/\d{2}/ses-all-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d+$")

    def test_rendering_failure_is_published(self):
        mid = self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": ["e2@sink.test"]},
                                 ConfigurationSetName="tracked",
                                 Content={"Template": {"TemplateName": "hello", "TemplateData": "{}"}})["MessageId"]
        recs = self.wait_records("ses-all", lambda rs: self.of(rs, mid) == ["Rendering Failure"])
        [r] = [r for r in recs if r["mail"]["messageId"] == mid]
        self.assertEqual(r["failure"]["templateName"], "hello")

    def test_mail_without_the_set_is_not_published(self):
        plain = self.send("e3@sink.test", configuration_set=None)
        tracked = self.send("e4@sink.test")
        self.wait_records("ses-all", lambda rs: self.of(rs, tracked) == ["Send", "Delivery"])
        self.received(plain)
        time.sleep(0.5)
        self.assertEqual(self.of(self.records("ses-all"), plain), [])

    def test_v1_destination_with_the_cli(self):
        self.server.aws("ses", "create-configuration-set", "--configuration-set", "Name=v1set")
        self.server.aws("ses", "create-configuration-set-event-destination", "--configuration-set-name", "v1set",
                        "--event-destination", json.dumps({
                            "Name": "fh", "Enabled": True, "MatchingEventTypes": ["send"],
                            "KinesisFirehoseDestination": {"IAMRoleARN": "arn:aws:iam::123456789012:role/x",
                                                           "DeliveryStreamARN": STREAM_ARN.format("ses-v1")}}))
        mid = self.send("e5@sink.test", configuration_set="v1set")
        self.wait_records("ses-v1", lambda rs: self.of(rs, mid) == ["Send"])
        self.received(mid)
        time.sleep(0.5)
        self.assertEqual(self.of(self.records("ses-v1"), mid), ["Send"])  # Delivery does not match

    def test_cloudwatch_destination_counts_on_metrics(self):
        import urllib.request
        self.v2.create_configuration_set(ConfigurationSetName="counted")
        self.v2.create_configuration_set_event_destination(
            ConfigurationSetName="counted", EventDestinationName="cw",
            EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "DELIVERY"],
                              "CloudWatchDestination": {"DimensionConfigurations": [
                                  {"DimensionName": "campaign", "DimensionValueSource": "MESSAGE_TAG",
                                   "DefaultDimensionValue": "none"}]}})
        for to, tags in (("m1@sink.test", [{"Name": "campaign", "Value": "spring"}]),
                         ("m2@sink.test", [{"Name": "campaign", "Value": "spring"}]), ("m3@sink.test", [])):
            mid = self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": [to]},
                                     ConfigurationSetName="counted", EmailTags=tags,
                                     Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}})
            self.received(mid["MessageId"])
        prefix = (f'ses_events_total{{account="{self.account}",region="us-east-1",configuration_set="counted",'
                  'destination="cw",')
        want = [prefix + 'event_type="Send",campaign="spring"} 2', prefix + 'event_type="Delivery",campaign="spring"} 2',
                prefix + 'event_type="Send",campaign="none"} 1', prefix + 'event_type="Delivery",campaign="none"} 1']
        deadline = time.time() + 20
        while True:
            with urllib.request.urlopen(self.server.endpoint + "/metrics", timeout=5) as r:
                self.assertTrue(r.headers["Content-Type"].startswith("text/plain"))
                text = r.read().decode()
            if all(w in text.splitlines() for w in want):
                break
            if time.time() > deadline:
                self.fail(text)
            time.sleep(0.1)
        self.assertIn("# TYPE ses_events_total counter", text)

    # -- the account's suppression list ---------------------------------------------------

    def test_suppression_list_api(self):
        v2 = self.v2
        v2.put_suppressed_destination(EmailAddress="Gone@Sink.Test", Reason="BOUNCE")
        v2.put_suppressed_destination(EmailAddress="angry@sink.test", Reason="COMPLAINT")
        got = v2.get_suppressed_destination(EmailAddress="gone@sink.test")["SuppressedDestination"]
        self.assertEqual((got["EmailAddress"], got["Reason"]), ("gone@sink.test", "BOUNCE"))
        listed = v2.list_suppressed_destinations(Reasons=["COMPLAINT"])["SuppressedDestinationSummaries"]
        self.assertIn("angry@sink.test", [e["EmailAddress"] for e in listed])
        self.assertNotIn("gone@sink.test", [e["EmailAddress"] for e in listed])
        # Paging in address order, one per page.
        seen, token = [], None
        for _ in range(20):
            page = v2.list_suppressed_destinations(PageSize=1, **({"NextToken": token} if token else {}))
            seen += [e["EmailAddress"] for e in page["SuppressedDestinationSummaries"]]
            token = page.get("NextToken")
            if not token:
                break
        self.assertEqual(seen, sorted(set(seen)))
        self.assertTrue({"gone@sink.test", "angry@sink.test"} <= set(seen))
        # The CLI, and the errors.
        rc, out, err = self.server.aws("sesv2", "get-suppressed-destination", "--email-address", "angry@sink.test",
                                       check=False)
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["SuppressedDestination"]["Reason"], "COMPLAINT")
        v2.delete_suppressed_destination(EmailAddress="angry@sink.test")
        with self.assertRaises(v2.exceptions.NotFoundException):
            v2.get_suppressed_destination(EmailAddress="angry@sink.test")
        with self.assertRaises(v2.exceptions.NotFoundException):
            v2.delete_suppressed_destination(EmailAddress="angry@sink.test")

    def test_suppressed_recipients_are_not_attempted(self):
        self.v2.put_suppressed_destination(EmailAddress="blocked@sink.test", Reason="BOUNCE")
        mid = self.v2.send_email(FromEmailAddress="news@shop.example",
                                 Destination={"ToAddresses": ["blocked@sink.test", "open@sink.test"]},
                                 ConfigurationSetName="tracked",
                                 Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}})["MessageId"]
        [m] = self.received(mid)
        self.assertEqual(m["rcpt_tos"], ["open@sink.test"])
        recs = self.wait_records("ses-bounces", lambda rs: self.of(rs, mid) == ["Bounce"])
        [b] = [r for r in recs if r["mail"]["messageId"] == mid]
        self.assertEqual(b["bounce"]["bounceType"], "Permanent")
        self.assertEqual(b["bounce"]["bounceSubType"], "OnAccountSuppressionList")
        self.assertEqual([r["emailAddress"] for r in b["bounce"]["bouncedRecipients"]], ["blocked@sink.test"])
        self.assertEqual(b["mail"]["destination"], ["blocked@sink.test", "open@sink.test"])
        # Every recipient suppressed: accepted, nothing sent, Send and Bounce recorded.
        only = self.send("blocked@sink.test")
        time.sleep(0.5)
        self.assertEqual([t for t, _ in self.events(only)], ["Send", "Bounce"])
        self.assertFalse([x for x in self.sink.messages() if only.encode() in x["data"]])
        # A configuration set whose SuppressionOptions leave BOUNCE out sends to it.
        self.v2.create_configuration_set(ConfigurationSetName="nosuppress",
                                         SuppressionOptions={"SuppressedReasons": ["COMPLAINT"]})
        through = self.send("blocked@sink.test", configuration_set="nosuppress")
        self.received(through)
        # Off the list again: the very next send is attempted (the cached view of the list
        # is dropped by the change).
        self.v2.delete_suppressed_destination(EmailAddress="blocked@sink.test")
        self.received(self.send("blocked@sink.test"))
        self.v2.put_suppressed_destination(EmailAddress="blocked@sink.test", Reason="BOUNCE")
        again = self.send("blocked@sink.test")
        time.sleep(0.5)
        self.assertEqual([t for t, _ in self.events(again)], ["Send", "Bounce"])

    def test_hard_bounces_join_the_list(self):
        mid = self.send("bounce-hard@sink.test")
        self.wait_records("ses-bounces", lambda rs: self.of(rs, mid) == ["Bounce"])
        deadline = time.time() + 10
        while True:
            try:
                got = self.v2.get_suppressed_destination(EmailAddress="bounce-hard@sink.test")["SuppressedDestination"]
                break
            except self.v2.exceptions.NotFoundException:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.assertEqual(got["Reason"], "BOUNCE")
        self.assertEqual(got["Attributes"]["MessageId"], mid)
        self.assertTrue(got["Attributes"]["FeedbackId"])
        # The next send to it is not attempted.
        again = self.send("bounce-hard@sink.test")
        recs = self.wait_records("ses-bounces", lambda rs: self.of(rs, again) == ["Bounce"])
        [b] = [r for r in recs if r["mail"]["messageId"] == again]
        self.assertEqual(b["bounce"]["bounceSubType"], "OnAccountSuppressionList")

    # -- the mailbox simulator ----------------------------------------------------------------
    def test_mailbox_simulator(self):
        sim = "simulator.amazonses.com"
        rcpts = [f"success@{sim}", f"ooto@{sim}", f"complaint+x@{sim}", f"bounce@{sim}", f"suppressionlist@{sim}"]
        mid = self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": rcpts},
                                 Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}})["MessageId"]
        deadline = time.time() + 20
        while len(self.events(mid)) < 7 and time.time() < deadline:
            time.sleep(0.1)
        ev = self.events(mid)
        self.assertEqual([t for t, _ in ev], ["Send", "Delivery", "Delivery", "Delivery", "Complaint", "Bounce", "Bounce"])
        delivered = sorted(b["delivery"]["recipients"][0] for t, b in ev if t == "Delivery")
        self.assertEqual(delivered, sorted(rcpts[:3]))
        [complaint] = [b["complaint"] for t, b in ev if t == "Complaint"]
        self.assertEqual(complaint["complainedRecipients"], [{"emailAddress": f"complaint+x@{sim}"}])
        self.assertEqual(complaint["complaintFeedbackType"], "abuse")
        bounces = {b["bounce"]["bounceSubType"]: b["bounce"] for t, b in ev if t == "Bounce"}
        self.assertEqual(bounces["General"]["bouncedRecipients"][0]["emailAddress"], f"bounce@{sim}")
        self.assertEqual(bounces["OnAccountSuppressionList"]["bouncedRecipients"][0]["emailAddress"], f"suppressionlist@{sim}")
        # ooto@ answers the sender with an automatic reply.
        replies = lambda ms: [m for m in ms if m["rcpt_tos"] == ["news@shop.example"]  # noqa: E731
                              and b"\r\nSubject: Out of the office\r\n" in m["data"]]
        [reply] = replies(self.sink.wait_for(replies, 20, "out-of-office reply"))
        self.assertEqual(reply["mail_from"], "")
        parsed = self.parse(reply["data"])
        self.assertEqual(parsed["Auto-Submitted"], "auto-replied")
        self.assertEqual(str(parsed["from"]), f"ooto@{sim}")
        # Nothing went over the network, and the simulator's bounces stay off the list.
        self.assertFalse([m for m in self.sink.messages() if any(sim in r for r in m["rcpt_tos"])])
        with self.assertRaises(self.v2.exceptions.NotFoundException):
            self.v2.get_suppressed_destination(EmailAddress=f"bounce@{sim}")

    def test_mailbox_simulator_in_the_sandbox(self):
        out = json.loads(self.server.cli("account", "create", "--name", "sandboxed-sim"))
        v2 = self.server.client("sesv2", out["AccessKeyId"], out["SecretAccessKey"])
        v2.create_email_identity(EmailIdentity="sandbox.example")
        self.server.cli("identity", "verify", "--account", out["AccountId"], "sandbox.example")
        mid = v2.send_email(FromEmailAddress="me@sandbox.example",
                            Destination={"ToAddresses": ["success@simulator.amazonses.com"]},
                            Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}})["MessageId"]
        deadline = time.time() + 20
        while [t for t, _ in self.events(mid)] != ["Send", "Delivery"] and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual([t for t, _ in self.events(mid)], ["Send", "Delivery"])
        with self.assertRaises(v2.exceptions.MessageRejected):  # the sandbox still holds for others
            v2.send_email(FromEmailAddress="me@sandbox.example", Destination={"ToAddresses": ["x@sink.test"]},
                          Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}})

    def test_restart_neither_loses_nor_repeats(self):
        before = self.send("e6@sink.test")
        self.wait_records("ses-all", lambda rs: self.of(rs, before) == ["Send", "Delivery"])
        self.server.restart()
        after = self.send("e7@sink.test")
        recs = self.wait_records("ses-all", lambda rs: self.of(rs, after) == ["Send", "Delivery"])
        self.assertEqual(self.of(recs, before), ["Send", "Delivery"])
        keys = [(r["eventType"], r["mail"]["messageId"]) for r in recs]
        self.assertEqual(len(keys), len(set(keys)), "a record was published twice")


if __name__ == "__main__":
    unittest.main()
