"""SNS-style webhooks end to end (issue 6): topics and HTTP subscriptions made with the AWS
CLI (`aws sns --endpoint-url`) and boto3, the SubscriptionConfirmation handshake, SES event
records delivered as signed SNS notifications to this test's own HTTP server on loopback
(signatures checked with python3-cryptography against the certificate fetched from
SigningCertURL), raw delivery, Publish, the UnsubscribeURL, and a webhook that is down for
a while getting every event once it is back, in order per message. The real binary,
dnsmasq and an aiosmtpd sink. Run with /usr/bin/python3."""
import base64
import http.server
import json
import os
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ALL_TYPES = ["SEND", "REJECT", "BOUNCE", "COMPLAINT", "DELIVERY", "DELIVERY_DELAY", "OPEN", "CLICK",
             "RENDERING_FAILURE"]
PROBE = "Successfully validated SNS topic for Amazon SES event publishing."


class Webhook:
    """An HTTP server on loopback recording every POST (headers, body); `stop()` takes it
    off the network (connection refused), `start()` brings it back on the same port."""

    def __init__(self, port=None):
        self.port = port or harness.free_port()
        self.received = []
        self.lock = threading.Lock()
        self.server = None

    def start(self):
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with hook.lock:
                    hook.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def messages(self, path=None):
        with self.lock:
            got = list(self.received)
        return [(h, b) for p, h, b in got if path is None or p == path]

    def wait(self, path, predicate, timeout=30, what="notifications"):
        deadline = time.time() + timeout
        while True:
            msgs = self.messages(path)
            if predicate(msgs):
                return msgs
            if time.time() > deadline:
                raise AssertionError(f"webhook {path}: timed out waiting for {what}; have "
                                     f"{[h.get('x-amz-sns-message-type') for h, _ in msgs]}")
            time.sleep(0.1)


def verify_signature(test, body):
    """Checks an SNS message's signature against the certificate at its SigningCertURL."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    if body["Type"] == "Notification":
        keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    text = "".join(f"{k}\n{body[k]}\n" for k in keys if k in body).encode()
    with urllib.request.urlopen(body["SigningCertURL"], timeout=10) as r:
        cert = x509.load_pem_x509_certificate(r.read())
    algo = hashes.SHA256() if body["SignatureVersion"] == "2" else hashes.SHA1()
    cert.public_key().verify(base64.b64decode(body["Signature"]), text, padding.PKCS1v15(), algo)  # raises if bad
    test.assertRegex(body["SigningCertURL"], r"/SimpleNotificationService-[0-9a-f]{32}\.pem$")


class Webhooks(harness.MailWorld, unittest.TestCase):
    prefix = "sesame-webhooks-"

    @classmethod
    def extra_config(cls, workdir):
        return ("[events]\npoll_ms = 50\nwebhook_max_backoff_ms = 300\n"
                "[delivery]\nretry_base_seconds = 1\nretry_max_interval_seconds = 2\n")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.hook = Webhook().start()
        cls.sns = cls.server.client("sns")

    @classmethod
    def tearDownClass(cls):
        cls.hook.stop()
        super().tearDownClass()

    # -- helpers -------------------------------------------------------------------------
    def subscribe(self, topic_arn, path, raw=False):
        """Subscribes the webhook (AWS CLI), confirms through SubscribeURL, returns the
        subscription ARN."""
        args = ["sns", "subscribe", "--topic-arn", topic_arn, "--protocol", "http",
                "--notification-endpoint", self.hook.url(path)]
        if raw:
            args += ["--attributes", "RawMessageDelivery=true"]
        _, out, _ = self.server.aws(*args)
        self.assertEqual(json.loads(out)["SubscriptionArn"], "pending confirmation")
        [(headers, raw_body)] = self.hook.wait(path, lambda m: len(m) >= 1, what="SubscriptionConfirmation")
        self.assertEqual(headers["x-amz-sns-message-type"], "SubscriptionConfirmation")
        self.assertEqual(headers["x-amz-sns-topic-arn"], topic_arn)
        self.assertNotIn("x-amz-sns-subscription-arn", headers)
        body = json.loads(raw_body)
        self.assertEqual(list(body), ["Type", "MessageId", "Token", "TopicArn", "Message", "SubscribeURL", "Timestamp",
                                      "SignatureVersion", "Signature", "SigningCertURL"])
        self.assertEqual(body["MessageId"], headers["x-amz-sns-message-id"])
        verify_signature(self, body)
        # Nothing is delivered before confirmation; the SubscribeURL confirms (no signature).
        with urllib.request.urlopen(body["SubscribeURL"], timeout=10) as r:
            self.assertEqual(r.status, 200)
            xml = r.read().decode()
        self.assertIn("<ConfirmSubscriptionResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">", xml)
        arn = xml.split("<SubscriptionArn>")[1].split("</SubscriptionArn>")[0]
        self.assertTrue(arn.startswith(topic_arn + ":"), arn)
        return arn

    def notifications(self, path):
        out = []
        for headers, body in self.hook.messages(path):
            if headers.get("x-amz-sns-message-type") == "Notification":
                out.append((headers, json.loads(body)))
        return out

    def events_of(self, path, mid):
        out = []
        for _, n in self.notifications(path):
            if n["Message"] == PROBE:
                continue
            record = json.loads(n["Message"])
            if record["mail"]["messageId"] == mid:
                out.append(record)
        return out

    def wait_events(self, path, mid, types, timeout=40):
        deadline = time.time() + timeout
        while True:
            got = [r["eventType"] for r in self.events_of(path, mid)]
            if got == types:
                return self.events_of(path, mid)
            if time.time() > deadline:
                self.fail(f"{mid}: wanted {types}, have {got}")
            time.sleep(0.1)

    def send(self, to, configuration_set):
        return self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": [to]},
                                  Content={"Simple": {"Subject": {"Data": "hello"}, "Body": {"Text": {"Data": "b"}}}},
                                  ConfigurationSetName=configuration_set)["MessageId"]

    def engagement_set(self, name, path):
        """A configuration set `name` publishing every event type to a topic of the same name
        that `path` subscribes to (OPEN and CLICK among them: its mail is tracked)."""
        arn = self.sns.create_topic(Name=name)["TopicArn"]
        self.subscribe(arn, path)
        self.event_set(name, arn)

    def event_set(self, name, topic_arn):
        self.v2.create_configuration_set(ConfigurationSetName=name)
        self.v2.create_configuration_set_event_destination(
            ConfigurationSetName=name, EventDestinationName="sns",
            EventDestination={"Enabled": True, "MatchingEventTypes": ALL_TYPES,
                              "SnsDestination": {"TopicArn": topic_arn}})

    # -- tests ---------------------------------------------------------------------------
    def test_topics_and_subscriptions_with_the_aws_cli(self):
        _, out, _ = self.server.aws("sns", "create-topic", "--name", "cli-topic")
        arn = json.loads(out)["TopicArn"]
        self.assertEqual(arn, f"arn:aws:sns:us-east-1:{self.account}:cli-topic")
        # CreateTopic is idempotent.
        _, again, _ = self.server.aws("sns", "create-topic", "--name", "cli-topic")
        self.assertEqual(json.loads(again)["TopicArn"], arn)
        _, out, _ = self.server.aws("sns", "list-topics")
        self.assertIn({"TopicArn": arn}, json.loads(out)["Topics"])
        sub = self.subscribe(arn, "/cli")
        _, out, _ = self.server.aws("sns", "list-subscriptions-by-topic", "--topic-arn", arn)
        [s] = json.loads(out)["Subscriptions"]
        self.assertEqual((s["SubscriptionArn"], s["Protocol"], s["Endpoint"]), (sub, "http", self.hook.url("/cli")))
        attrs = self.sns.get_topic_attributes(TopicArn=arn)["Attributes"]
        self.assertEqual((attrs["SubscriptionsConfirmed"], attrs["SubscriptionsPending"]), ("1", "0"))
        self.server.aws("sns", "unsubscribe", "--subscription-arn", sub)
        _, out, _ = self.server.aws("sns", "list-subscriptions-by-topic", "--topic-arn", arn)
        self.assertEqual(json.loads(out)["Subscriptions"], [])
        self.server.aws("sns", "delete-topic", "--topic-arn", arn)
        rc, _, err = self.server.aws("sns", "get-topic-attributes", "--topic-arn", arn, check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("NotFound", err)

    def test_event_records_arrive_signed_with_ses_schema(self):
        arn = self.sns.create_topic(Name="ses-events")["TopicArn"]
        sub = self.subscribe(arn, "/events")
        self.event_set("hooked", arn)
        # SES validates the topic with a plain-text notification without Subject.
        [(headers, probe)] = self.hook.wait("/events", lambda m: len(m) >= 2, what="probe")[1:2]
        probe = json.loads(probe)
        self.assertEqual(probe["Message"], PROBE)
        self.assertNotIn("Subject", probe)
        sim = "simulator.amazonses.com"
        delivered = self.send("w1@sink.test", "hooked")
        bounced = self.send(f"bounce@{sim}", "hooked")
        complained = self.send(f"complaint@{sim}", "hooked")
        delayed = self.send("tempfail-w1@sink.test", "hooked")
        # The EICAR anti-virus test file as an attachment: accepted, then Reject, not delivered.
        from email.mime.application import MIMEApplication
        from email.mime.multipart import MIMEMultipart
        from email.mime.text import MIMEText
        raw = MIMEMultipart()
        raw["From"], raw["To"], raw["Subject"] = "news@shop.example", "w-virus@sink.test", "invoice"
        raw.attach(MIMEText("see attached"))
        raw.attach(MIMEApplication(b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
                                   Name="invoice.com"))
        rejected = self.v2.send_email(Content={"Raw": {"Data": raw.as_bytes()}}, ConfigurationSetName="hooked")[
            "MessageId"]
        send, delivery = self.wait_events("/events", delivered, ["Send", "Delivery"])
        self.wait_events("/events", bounced, ["Send", "Bounce"])
        self.wait_events("/events", complained, ["Send", "Delivery", "Complaint"])
        self.wait_events("/events", delayed, ["Send", "DeliveryDelay", "Delivery"])
        reject = self.wait_events("/events", rejected, ["Send", "Reject"])[1]
        self.assertEqual(reject["reject"], {"reason": "Bad content"})
        self.assertFalse([m for m in self.sink.messages() if "w-virus@sink.test" in m["rcpt_tos"]])
        for headers, n in self.notifications("/events"):
            self.assertEqual(headers["x-amz-sns-subscription-arn"], sub)
            self.assertEqual(headers["x-amz-sns-topic-arn"], arn)
            self.assertEqual(headers["user-agent"], "Amazon Simple Notification Service Agent")
            self.assertTrue(headers["content-type"].startswith("text/plain"))
            self.assertEqual(n["MessageId"], headers["x-amz-sns-message-id"])
            self.assertEqual(n["SignatureVersion"], "2")
            self.assertIn("Action=Unsubscribe&SubscriptionArn=", n["UnsubscribeURL"])
            verify_signature(self, n)
            if n["Message"] != PROBE:
                self.assertEqual(n["Subject"], "Amazon SES Email Event Notification")
                self.assertEqual(list(n), ["Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
                                           "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL"])
        # The records follow SES's schema (reference §6.2, §6.3).
        self.assertEqual(send["send"], {})
        mail = send["mail"]
        for key in ("timestamp", "source", "sourceArn", "sendingAccountId", "messageId", "destination",
                    "headersTruncated", "headers", "commonHeaders", "tags"):
            self.assertIn(key, mail)
        self.assertRegex(mail["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(mail["tags"]["ses:configuration-set"], ["hooked"])
        self.assertEqual(mail["commonHeaders"]["subject"], "hello")
        self.assertEqual(delivery["delivery"]["recipients"], ["w1@sink.test"])
        self.assertTrue(delivery["delivery"]["smtpResponse"].startswith("250"))
        bounce = self.events_of("/events", bounced)[1]["bounce"]
        self.assertEqual((bounce["bounceType"], bounce["bounceSubType"]), ("Permanent", "General"))
        self.assertEqual(bounce["bouncedRecipients"][0]["emailAddress"], f"bounce@{sim}")
        complaint = self.events_of("/events", complained)[2]["complaint"]
        self.assertEqual(complaint["complainedRecipients"], [{"emailAddress": f"complaint@{sim}"}])
        self.assertEqual(complaint["complaintFeedbackType"], "abuse")
        delay = self.events_of("/events", delayed)[1]["deliveryDelay"]
        self.assertEqual(delay["delayedRecipients"][0]["emailAddress"], "tempfail-w1@sink.test")
        self.assertTrue(delay["delayedRecipients"][0]["status"].startswith("4."))

    def test_a_webhook_that_is_down_gets_every_event_later_in_order(self):
        down = Webhook().start()
        try:
            arn = self.sns.create_topic(Name="outage")["TopicArn"]
            # The subscription is made and confirmed while the endpoint is up.
            args = ["sns", "subscribe", "--topic-arn", arn, "--protocol", "http",
                    "--notification-endpoint", down.url("/o")]
            self.server.aws(*args)
            [(_, conf)] = down.wait("/o", lambda m: len(m) == 1)
            urllib.request.urlopen(json.loads(conf)["SubscribeURL"], timeout=10).read()
            self.event_set("outage-set", arn)
            down.wait("/o", lambda m: len(m) == 2, what="probe")
            down.stop()
            mids = [self.send(f"o{i}@sink.test", "outage-set") for i in range(3)]
            # Delivered to the sink meanwhile; the webhook gets nothing while it is down.
            self.sink.wait_for(lambda ms: all(any(f"o{i}@sink.test" in m["rcpt_tos"] for m in ms) for i in range(3)))
            time.sleep(1.5)  # several failed attempts (backoff capped at 300 ms here)
            down.received.clear()
            down.start()
            deadline = time.time() + 30
            while True:
                got = {}
                for headers, body in down.messages("/o"):
                    rec = json.loads(json.loads(body)["Message"])
                    got.setdefault(rec["mail"]["messageId"], []).append(rec["eventType"])
                if all(got.get(m) == ["Send", "Delivery"] for m in mids):
                    break
                if time.time() > deadline:
                    self.fail(f"after the outage: {got}")
                time.sleep(0.1)
            # Every event once, nothing else.
            self.assertEqual(len(down.messages("/o")), 6)
        finally:
            down.stop()

    def test_publish_raw_delivery_and_the_unsubscribe_link(self):
        arn = self.sns.create_topic(Name="plain", Attributes={"SignatureVersion": "1"})["TopicArn"]
        sub = self.subscribe(arn, "/plain")
        raw_sub = self.subscribe(arn, "/raw", raw=True)
        self.assertEqual(self.sns.get_subscription_attributes(SubscriptionArn=raw_sub)["Attributes"]["RawMessageDelivery"],
                         "true")
        mid = self.sns.publish(TopicArn=arn, Message="hello hooks", Subject="greeting")["MessageId"]
        [(h, body)] = self.hook.wait("/plain", lambda m: len(m) >= 2, what="notification")[1:]
        n = json.loads(body)
        self.assertEqual((n["Message"], n["Subject"], n["MessageId"]), ("hello hooks", "greeting", mid))
        self.assertEqual(n["SignatureVersion"], "1")  # the topic asked for SHA1
        verify_signature(self, n)
        [(rh, rbody)] = self.hook.wait("/raw", lambda m: len(m) >= 2, what="raw notification")[1:]
        self.assertEqual(rbody, b"hello hooks")
        self.assertEqual(rh["x-amz-sns-message-id"], mid)
        self.assertEqual(rh["x-amz-sns-subscription-arn"], raw_sub)
        # The UnsubscribeURL works without a signature, and the endpoint is told.
        with urllib.request.urlopen(n["UnsubscribeURL"], timeout=10) as r:
            self.assertEqual(r.status, 200)
        got = self.hook.wait("/plain", lambda m: any(h["x-amz-sns-message-type"] == "UnsubscribeConfirmation"
                                                     for h, _ in m), what="UnsubscribeConfirmation")
        self.assertEqual(len(got), 3)
        arns = [s["SubscriptionArn"] for s in self.sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]]
        self.assertEqual(arns, [raw_sub])
        self.assertNotIn(sub, arns)

    def test_identity_notifications_use_the_older_form(self):
        arn = self.sns.create_topic(Name="identity-feedback")["TopicArn"]
        self.subscribe(arn, "/ident")
        for kind in ("Bounce", "Delivery"):
            self.v1.set_identity_notification_topic(Identity="shop.example", NotificationType=kind, SnsTopic=arn)
        self.v1.set_identity_headers_in_notifications_enabled(Identity="shop.example", NotificationType="Bounce",
                                                              Enabled=True)
        try:
            bounced = self.v2.send_email(FromEmailAddress="news@shop.example",
                                         Destination={"ToAddresses": ["bounce@simulator.amazonses.com"]},
                                         Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}})[
                "MessageId"]
            delivered = self.v2.send_email(FromEmailAddress="news@shop.example",
                                           Destination={"ToAddresses": ["ident@sink.test"]},
                                           Content={"Simple": {"Subject": {"Data": "s"},
                                                               "Body": {"Text": {"Data": "b"}}}})["MessageId"]

            def of(mid):
                out = []
                for _, n in self.notifications("/ident"):
                    rec = json.loads(n["Message"])
                    if rec.get("mail", {}).get("messageId") == mid:
                        out.append((n, rec))
                return out
            deadline = time.time() + 30
            while not (of(bounced) and of(delivered)):
                self.assertLess(time.time(), deadline, "identity notifications did not arrive")
                time.sleep(0.1)
            [(n, bounce)] = of(bounced)
            verify_signature(self, n)
            self.assertNotIn("Subject", n)
            self.assertEqual(bounce["notificationType"], "Bounce")
            self.assertNotIn("eventType", bounce)
            self.assertEqual(bounce["bounce"]["bounceType"], "Permanent")
            mail = bounce["mail"]
            self.assertNotIn("tags", mail)
            self.assertIn("sourceIp", mail)
            self.assertIn("callerIdentity", mail)
            self.assertIn("headers", mail)  # headers enabled for Bounce
            [(_, delivery)] = of(delivered)
            self.assertEqual(delivery["notificationType"], "Delivery")
            self.assertNotIn("headers", delivery["mail"])  # not for Delivery
            self.assertNotIn("commonHeaders", delivery["mail"])
        finally:
            for kind in ("Bounce", "Delivery"):
                self.v1.set_identity_notification_topic(Identity="shop.example", NotificationType=kind)

    def test_open_and_click_tracking(self):
        import email
        import re
        self.engagement_set("tracked-set", "/engage")
        html = ('<html><body><p>Hi <a href="https://shop.example/sale?id=7&amp;src=mail" '
                'ses:tags="campaign:spring">the sale</a> <a href="https://shop.example/private" ses:no-track>'
                'untracked</a></p></body></html>')
        mid = self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": ["t1@sink.test"]},
                                 Content={"Simple": {"Subject": {"Data": "sale"},
                                                     "Body": {"Html": {"Data": html}, "Text": {"Data": "t"}}}},
                                 ConfigurationSetName="tracked-set")["MessageId"]
        [copy] = self.received(mid)
        msg = email.message_from_bytes(copy["data"])
        [part] = [p for p in msg.walk() if p.get_content_type() == "text/html"]
        body = part.get_payload(decode=True).decode()
        self.assertIn(b"DKIM-Signature:", copy["data"])  # signed after the rewrite (body hash of this HTML)
        self.assertIn('href="https://shop.example/private" ses:no-track', body)
        [click] = re.findall(r'href="(http://127\.0\.0\.1:\d+/t/c/[^"]+)"', body)
        [pixel] = re.findall(r'src="(http://127\.0\.0\.1:\d+/t/o/[^"]+)"', body)

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None
        opener = urllib.request.build_opener(NoRedirect)
        req = urllib.request.Request(click, headers={"User-Agent": "TestMail/1.0"})
        with self.assertRaises(urllib.error.HTTPError) as ctx:
            opener.open(req, timeout=10)
        self.assertEqual(ctx.exception.code, 302)
        self.assertEqual(ctx.exception.headers["Location"], "https://shop.example/sale?id=7&src=mail")
        with urllib.request.urlopen(urllib.request.Request(pixel, headers={"User-Agent": "TestMail/1.0"}),
                                    timeout=10) as r:
            self.assertEqual((r.status, r.headers["Content-Type"]), (200, "image/gif"))
        # Tampered links are not ours.
        with self.assertRaises(urllib.error.HTTPError) as ctx:
            urllib.request.urlopen(click[:-3] + ("AAA" if not click.endswith("AAA") else "BBB"), timeout=10)
        self.assertEqual(ctx.exception.code, 404)
        recs = self.wait_events("/engage", mid, ["Send", "Delivery", "Click", "Open"])
        for _, n in self.notifications("/engage"):
            verify_signature(self, n)
        c, o = recs[2]["click"], recs[3]["open"]
        self.assertEqual(c["link"], "https://shop.example/sale?id=7&src=mail")
        self.assertEqual(c["linkTags"], {"campaign": ["spring"]})
        self.assertEqual((c["ipAddress"], c["userAgent"]), ("127.0.0.1", "TestMail/1.0"))
        self.assertEqual((o["ipAddress"], o["userAgent"]), ("127.0.0.1", "TestMail/1.0"))
        self.assertRegex(o["timestamp"], r"Z$")

    def test_send_raw_email_is_tracked_too(self):
        # SendRawEmail (v1, boto3): a single-part 7bit HTML message comes out with its links
        # and an open pixel rewritten, quoted-printable (the tracking URLs make lines too long
        # for 7bit) and signed; the pixel's hit is an Open event.
        import email
        import re
        self.engagement_set("tracked-raw", "/engage-raw")
        raw = ("From: news@shop.example\r\nTo: t2@sink.test\r\nSubject: raw sale\r\nMIME-Version: 1.0\r\n"
               "Content-Type: text/html; charset=us-ascii\r\n\r\n"
               '<html><body><a href="https://shop.example/raw">raw sale</a></body></html>\r\n')
        mid = self.v1.send_raw_email(RawMessage={"Data": raw.encode()}, ConfigurationSetName="tracked-raw")["MessageId"]
        [copy] = self.received(mid)
        self.assertIn(b"DKIM-Signature:", copy["data"])  # signed after the rewrite
        msg = email.message_from_bytes(copy["data"])
        self.assertEqual(msg["Content-Transfer-Encoding"], "quoted-printable")
        body = msg.get_payload(decode=True).decode()
        self.assertNotIn("https://shop.example/raw", body)
        self.assertEqual(len(re.findall(r'href="http://127\.0\.0\.1:\d+/t/c/[^"]+"', body)), 1)
        [pixel] = re.findall(r'src="(http://127\.0\.0\.1:\d+/t/o/[^"]+)"', body)
        with urllib.request.urlopen(pixel, timeout=10) as r:
            self.assertEqual(r.status, 200)
        self.wait_events("/engage-raw", mid, ["Send", "Delivery", "Open"])

    def test_bad_requests_get_sns_errors(self):
        from botocore.exceptions import ClientError
        arn = self.sns.create_topic(Name="strict")["TopicArn"]
        cases = [
            (lambda: self.sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="a@b.example"), "InvalidParameter"),
            (lambda: self.sns.subscribe(TopicArn=arn, Protocol="http", Endpoint="ftp://x"), "InvalidParameter"),
            (lambda: self.sns.get_topic_attributes(TopicArn=arn + "-missing"), "NotFound"),
            (lambda: self.sns.create_topic(Name="bad name!"), "InvalidParameter"),
            (lambda: self.sns.create_topic(Name="strict", Attributes={"SignatureVersion": "1"}), "InvalidParameter"),
            (lambda: self.sns.publish(TopicArn=arn, Message="x" * (256 * 1024 + 1)), "InvalidParameter"),
            (lambda: self.sns.confirm_subscription(TopicArn=arn, Token="nope"), "InvalidParameter"),
        ]
        for call, code in cases:
            with self.assertRaises(ClientError) as ctx:
                call()
            self.assertEqual(ctx.exception.response["Error"]["Code"], code)
        # An SNS destination needs an existing topic, in both SES APIs.
        self.v2.create_configuration_set(ConfigurationSetName="no-topic")
        with self.assertRaises(ClientError) as ctx:
            self.v1.create_configuration_set_event_destination(
                ConfigurationSetName="no-topic",
                EventDestination={"Name": "d", "Enabled": True, "MatchingEventTypes": ["send"],
                                  "SNSDestination": {"TopicARN": arn + "-gone"}})
        self.assertEqual(ctx.exception.response["Error"]["Code"], "InvalidSNSDestination")
        # A signature for SES does not open SNS, and the other way round.
        status, _, body = harness.signed_request(self.server, "POST", "/", b"Action=ListTopics&Version=2010-03-31",
                                                 {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 400)


class WebhooksAcrossACrash(harness.MailWorld, unittest.TestCase):
    """kill -9 while a slow webhook has a backlog: after the restart every event still
    arrives (at least once; the one in flight at the kill may come twice), Send before
    Delivery for every message."""
    prefix = "sesame-webhooks-crash-"

    @classmethod
    def extra_config(cls, workdir):
        return "[events]\npoll_ms = 50\nwebhook_max_backoff_ms = 300\nwebhook_threads = 1\n"

    def test_kill_9_loses_no_event(self):
        import signal
        hook = Webhook()
        slow = {"delay": 0.05}
        orig = hook.start

        def start_slow():
            orig()
            handler = hook.server.RequestHandlerClass
            post = handler.do_POST

            def do_post(h):
                time.sleep(slow["delay"])
                post(h)
            handler.do_POST = do_post
            return hook
        hook.start = start_slow
        hook.start()
        try:
            sns = self.server.client("sns")
            arn = sns.create_topic(Name="crash")["TopicArn"]
            self.server.aws("sns", "subscribe", "--topic-arn", arn, "--protocol", "http",
                            "--notification-endpoint", hook.url("/c"))
            [(_, conf)] = hook.wait("/c", lambda m: len(m) == 1)
            urllib.request.urlopen(json.loads(conf)["SubscribeURL"], timeout=10).read()
            self.v2.create_configuration_set(ConfigurationSetName="crash-set")
            self.v2.create_configuration_set_event_destination(
                ConfigurationSetName="crash-set", EventDestinationName="sns",
                EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "DELIVERY"],
                                  "SnsDestination": {"TopicArn": arn}})
            mids = [self.v2.send_email(FromEmailAddress="news@shop.example",
                                       Destination={"ToAddresses": [f"success+{i}@simulator.amazonses.com"]},
                                       Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
                                       ConfigurationSetName="crash-set")["MessageId"] for i in range(40)]
            # Part of the backlog is through when the server dies.
            hook.wait("/c", lambda m: len(m) >= 10, what="the first notifications")
            self.server.stop(sig=signal.SIGKILL)
            self.server.start()
            slow["delay"] = 0

            def per_message():
                got = {}
                for _, body in hook.messages("/c"):
                    msg = json.loads(body).get("Message", "")
                    if not msg.startswith("{"):
                        continue
                    rec = json.loads(msg)
                    got.setdefault(rec["mail"]["messageId"], []).append(rec["eventType"])
                return got
            deadline = time.time() + 60
            while True:
                got = per_message()
                if all(set(got.get(m, [])) == {"Send", "Delivery"} for m in mids):
                    break
                if time.time() > deadline:
                    missing = [m for m in mids if set(got.get(m, [])) != {"Send", "Delivery"}]
                    self.fail(f"after the crash, {len(missing)} messages lack events: {missing[:3]}")
                time.sleep(0.1)
            for m in mids:
                types = got[m]
                self.assertEqual(types.index("Send"), 0, types)  # Send first, whatever repeats
            dupes = sum(len(t) - 2 for t in got.values())
            print(f"webhook crash test: {len(mids)} messages, {dupes} repeated notifications", file=sys.stderr)
            self.assertLessEqual(dupes, 16)  # at most one group of recorded deliveries (events/webhooks.cpp)
        finally:
            hook.stop()


if __name__ == "__main__":
    unittest.main()
