"""Templated sends end to end: the real binary, dnsmasq on loopback publishing MX and DKIM
records, a real SMTP sink (aiosmtpd). boto3 and the AWS CLI send with v1
SendTemplatedEmail / SendBulkTemplatedEmail and v2 SendEmail (template by name, by ARN,
inline) / SendBulkEmail; every recipient gets its own rendering, DKIM-signed; bulk responses
carry per-destination status; a template that fails to render records a Rendering Failure
event and sends nothing; test renders return MIME that Python's email parser reads back.
Run with /usr/bin/python3."""
import json
import os
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

NEWSLETTER = {
    "Subject": "{{shop.name}} picks for {{user.first}}",
    "Text": "Hi {{user.first}},\n{{#each items}}\n- {{title}}: {{price}} {{../currency}}\n{{/each}}\n",
    "Html": "<h1>Hi {{user.first}}</h1>{{#if vip}}<p>VIP</p>{{else}}<p>Regular</p>{{/if}}"
            "<ul>{{#each items}}<li>{{@index}} {{title}}</li>{{/each}}</ul>",
}


class Templates(harness.MailWorld, unittest.TestCase):
    prefix = "sesame-templates-"
    sink_tls = True
    verify_via_dns = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.v2.create_email_template(TemplateName="newsletter", TemplateContent=NEWSLETTER)
        cls.v1.create_template(Template={"TemplateName": "welcome", "SubjectPart": "Welcome, {{name}}!",
                                         "TextPart": "Dear {{name}}, your code is {{code}}.",
                                         "HtmlPart": "<p>Dear {{name}}, your code is <b>{{code}}</b>.</p>"})

    # -- helpers -----------------------------------------------------------------------
    def db(self, sql, *args):
        db = sqlite3.connect(f"file:{self.server.data_dir}/sesame.db?mode=ro", uri=True, timeout=10)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def delivered(self, message_id):
        [m] = self.received(message_id)
        self.assert_signed(m["data"])
        return m, self.parse(m["data"])

    @staticmethod
    def body(parsed, kind):
        return parsed.get_body((kind,)).get_content()

    def newsletter_data(self, first, vip, titles):
        return json.dumps({"user": {"first": first}, "vip": vip, "items": [{"title": t, "price": 2.5} for t in titles]})

    # -- v1 ----------------------------------------------------------------------------
    def test_v1_send_templated_email(self):
        mid = self.v1.send_templated_email(Source="Shop <news@shop.example>", Destination={"ToAddresses": ["ann@sink.test"]},
                                           Template="welcome", TemplateData=json.dumps({"name": "Ann", "code": "X1"}),
                                           Tags=[{"Name": "campaign", "Value": "welcome"}])["MessageId"]
        m, p = self.delivered(mid)
        self.assertEqual(m["rcpt_tos"], ["ann@sink.test"])
        self.assertEqual(str(p["subject"]), "Welcome, Ann!")
        self.assertEqual(self.body(p, "plain").strip(), "Dear Ann, your code is X1.")
        self.assertEqual(self.body(p, "html").strip(), "<p>Dear Ann, your code is <b>X1</b>.</p>")
        [send] = [b for t, b in self.events(mid) if t == "Send"]
        self.assertEqual(send["mail"]["tags"]["ses:operation"], ["SendTemplatedEmail"])
        self.assertEqual(send["mail"]["tags"]["campaign"], ["welcome"])

    def test_v1_send_templated_email_with_the_cli(self):
        rc, out, err = self.server.aws("ses", "send-templated-email", "--source", "news@shop.example",
                                       "--destination", "ToAddresses=cli1@sink.test", "--template", "welcome",
                                       "--template-data", json.dumps({"name": "Cleo", "code": "C9"}), check=False)
        self.assertEqual(rc, 0, err)
        _, p = self.delivered(json.loads(out)["MessageId"])
        self.assertEqual(str(p["subject"]), "Welcome, Cleo!")

    def test_v1_bulk_each_destination_its_own_data(self):
        r = self.v1.send_bulk_templated_email(
            Source="news@shop.example", Template="newsletter",
            DefaultTemplateData=json.dumps({"user": {"first": "friend"}, "vip": False, "currency": "EUR",
                                            "shop": {"name": "Acme"}, "items": [{"title": "Default", "price": 1}]}),
            DefaultTags=[{"Name": "kind", "Value": "news"}],
            Destinations=[
                {"Destination": {"ToAddresses": ["b1@sink.test"]},
                 "ReplacementTemplateData": json.dumps({"user": {"first": "Bea"}, "vip": True,
                                                        "items": [{"title": "Mug", "price": 9.5}]})},
                {"Destination": {"ToAddresses": ["not an address"]}, "ReplacementTemplateData": "{}"},
                {"Destination": {"ToAddresses": ["b3@sink.test"]}, "ReplacementTemplateData": "{}",
                 "ReplacementTags": [{"Name": "kind", "Value": "special"}]},
            ])
        statuses = r["Status"]
        self.assertEqual([s["Status"] for s in statuses], ["Success", "InvalidParameterValue", "Success"])
        self.assertNotIn("MessageId", statuses[1])
        self.assertTrue(statuses[1]["Error"])
        _, p1 = self.delivered(statuses[0]["MessageId"])
        self.assertEqual(str(p1["subject"]), "Acme picks for Bea")
        self.assertIn("<p>VIP</p>", self.body(p1, "html"))
        self.assertEqual(self.body(p1, "plain").replace("\r\n", "\n"), "Hi Bea,\n- Mug: 9.5 EUR\n")
        _, p3 = self.delivered(statuses[2]["MessageId"])
        self.assertEqual(str(p3["subject"]), "Acme picks for friend")  # "{}": the defaults
        self.assertIn("<li>0 Default</li>", self.body(p3, "html"))
        [send] = [b for t, b in self.events(statuses[2]["MessageId"]) if t == "Send"]
        self.assertEqual(send["mail"]["tags"]["kind"], ["special"])
        self.assertEqual(send["mail"]["tags"]["ses:operation"], ["SendBulkTemplatedEmail"])

    def test_v1_errors(self):
        with self.assertRaises(self.v1.exceptions.TemplateDoesNotExistException):
            self.v1.send_templated_email(Source="news@shop.example", Destination={"ToAddresses": ["x@sink.test"]},
                                         Template="nope", TemplateData="{}")
        before = self.db("SELECT count(*) FROM messages")[0][0]
        with self.assertRaises(self.v1.exceptions.ClientError) as e:
            self.v1.send_templated_email(Source="news@shop.example", Destination={"ToAddresses": ["x@sink.test"]},
                                         Template="welcome", TemplateData="{not json")
        self.assertEqual(e.exception.response["Error"]["Code"], "InvalidParameterValue")
        with self.assertRaises(self.v1.exceptions.ClientError) as e:
            self.v1.send_bulk_templated_email(Source="news@shop.example", Template="welcome", DefaultTemplateData="{}",
                                              Destinations=[{"Destination": {"ToAddresses": ["y@sink.test"]},
                                                             "ReplacementTemplateData": "[1,2]"}])
        self.assertEqual(e.exception.response["Error"]["Code"], "InvalidParameterValue")
        self.assertEqual(self.db("SELECT count(*) FROM messages")[0][0], before, "nothing may be queued")
        with self.assertRaises(self.v1.exceptions.MessageRejected):  # the sender is checked for the whole request
            self.v1.send_bulk_templated_email(Source="someone@unverified.example", Template="welcome",
                                              DefaultTemplateData="{}",
                                              Destinations=[{"Destination": {"ToAddresses": ["y@sink.test"]}}])

    def test_rendering_failure_is_recorded_and_nothing_is_sent(self):
        mid = self.v1.send_templated_email(Source="news@shop.example", Destination={"ToAddresses": ["rf@sink.test"]},
                                           Template="welcome", TemplateData=json.dumps({"name": "NoCode"}))["MessageId"]
        [(kind, ev)] = self.events(mid)
        self.assertEqual(kind, "Rendering Failure")
        self.assertEqual(ev["eventType"], "Rendering Failure")
        self.assertEqual(ev["failure"], {"templateName": "welcome",
                                         "errorMessage": "Attribute 'code' is not present in the rendering data."})
        self.assertEqual(ev["mail"]["messageId"], mid)
        self.assertEqual(self.db("SELECT count(*) FROM messages WHERE id=?", mid)[0][0], 0)
        # Bulk: the failure is per destination; the others are delivered.
        r = self.v2.send_bulk_email(
            FromEmailAddress="news@shop.example",
            DefaultContent={"Template": {"TemplateName": "welcome", "TemplateData": json.dumps({"name": "Default"})}},
            BulkEmailEntries=[
                {"Destination": {"ToAddresses": ["rf1@sink.test"]},
                 "ReplacementEmailContent": {"ReplacementTemplate": {"ReplacementTemplateData": json.dumps({"code": "A"})}}},
                {"Destination": {"ToAddresses": ["rf2@sink.test"]}}])
        ok, failed = r["BulkEmailEntryResults"]
        self.assertEqual((ok["Status"], failed["Status"]), ("SUCCESS", "SUCCESS"))  # SES renders after accepting
        _, p = self.delivered(ok["MessageId"])
        self.assertEqual(str(p["subject"]), "Welcome, Default!")
        self.assertEqual([t for t, _ in self.events(failed["MessageId"])], ["Rendering Failure"])
        time.sleep(1)
        self.assertFalse([m for m in self.sink.messages() if "rf2@sink.test" in m["rcpt_tos"]])

    # -- v2 ----------------------------------------------------------------------------
    def test_v2_send_email_template_by_name_arn_and_inline(self):
        data = self.newsletter_data("Cy", False, ["Pen", "Cup"])
        data = json.dumps(dict(json.loads(data), currency="USD", shop={"name": "Shop"}))
        by_name = self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": ["c1@sink.test"]},
                                     Content={"Template": {"TemplateName": "newsletter", "TemplateData": data}})["MessageId"]
        arn = f"arn:aws:ses:us-east-1:{self.account}:template/newsletter"
        by_arn = self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": ["c2@sink.test"]},
                                    Content={"Template": {"TemplateArn": arn, "TemplateData": data}})["MessageId"]
        # Debian's boto3 predates inline TemplateContent and Headers: the request is signed by hand.
        status, _, out = harness.signed_request(self.server, "POST", "/v2/email/outbound-emails", json.dumps({
            "FromEmailAddress": "news@shop.example", "Destination": {"ToAddresses": ["c3@sink.test"]},
            "Content": {"Template": {"TemplateContent": {"Subject": "Inline {{n}}", "Text": "n={{n}}"},
                                     "TemplateData": json.dumps({"n": 3}),
                                     "Headers": [{"Name": "X-Campaign", "Value": "inline"}]}}}).encode(),
            headers={"Content-Type": "application/json"})
        self.assertEqual(status, 200, out)
        inline = json.loads(out)["MessageId"]
        for mid in (by_name, by_arn):
            _, p = self.delivered(mid)
            self.assertEqual(str(p["subject"]), "Shop picks for Cy")
            self.assertEqual(self.body(p, "plain").replace("\r\n", "\n"), "Hi Cy,\n- Pen: 2.5 USD\n- Cup: 2.5 USD\n")
            self.assertIn("<p>Regular</p><ul><li>0 Pen</li><li>1 Cup</li></ul>", self.body(p, "html"))
        m, p = self.delivered(inline)
        self.assertEqual(str(p["subject"]), "Inline 3")
        self.assertEqual(p["X-Campaign"], "inline")
        self.assertEqual(p.get_content_type(), "text/plain")
        with self.assertRaises(self.v2.exceptions.NotFoundException):
            self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": ["c4@sink.test"]},
                               Content={"Template": {"TemplateName": "nope", "TemplateData": "{}"}})
        with self.assertRaises(self.v2.exceptions.BadRequestException):
            self.v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": ["c4@sink.test"]},
                               Content={"Template": {"TemplateName": "newsletter", "TemplateData": "{oops"}})

    def test_v2_send_bulk_email_with_the_cli(self):
        entries = [{"Destination": {"ToAddresses": [f"d{i}@sink.test"]},
                    "ReplacementEmailContent": {"ReplacementTemplate": {
                        "ReplacementTemplateData": json.dumps({"name": f"Reader{i}", "code": f"K{i}"})}}}
                   for i in range(5)]
        path = os.path.join(self.workdir, "bulk.json")
        with open(path, "w") as f:
            json.dump({"FromEmailAddress": "news@shop.example",
                       "DefaultContent": {"Template": {"TemplateName": "welcome", "TemplateData": "{}"}},
                       "BulkEmailEntries": entries}, f)
        rc, out, err = self.server.aws("sesv2", "send-bulk-email", "--cli-input-json", f"file://{path}", check=False)
        self.assertEqual(rc, 0, err)
        results = json.loads(out)["BulkEmailEntryResults"]
        self.assertEqual([r["Status"] for r in results], ["SUCCESS"] * 5)
        for i, r in enumerate(results):
            m, p = self.delivered(r["MessageId"])
            self.assertEqual(m["rcpt_tos"], [f"d{i}@sink.test"])
            self.assertEqual(str(p["subject"]), f"Welcome, Reader{i}!")
            self.assertIn(f"<b>K{i}</b>", self.body(p, "html"))

    # -- test renders --------------------------------------------------------------------
    def test_v1_test_render_template(self):
        rendered = self.v1.test_render_template(TemplateName="welcome",
                                                TemplateData=json.dumps({"name": "Zoë", "code": "Z"}))["RenderedTemplate"]
        p = self.parse(rendered.encode())
        self.assertEqual(str(p["subject"]), "Welcome, Zoë!")
        self.assertEqual(p.get_content_type(), "multipart/alternative")
        self.assertEqual(self.body(p, "plain").strip(), "Dear Zoë, your code is Z.")
        self.assertEqual(self.body(p, "html").strip(), "<p>Dear Zoë, your code is <b>Z</b>.</p>")
        self.assertIsNone(p["From"])
        with self.assertRaises(self.v1.exceptions.MissingRenderingAttributeException) as e:
            self.v1.test_render_template(TemplateName="welcome", TemplateData=json.dumps({"name": "x"}))
        self.assertEqual(e.exception.response["Error"]["Message"], "Attribute 'code' is not present in the rendering data.")
        with self.assertRaises(self.v1.exceptions.InvalidRenderingParameterException):
            self.v1.test_render_template(TemplateName="welcome", TemplateData="not json")
        with self.assertRaises(self.v1.exceptions.TemplateDoesNotExistException):
            self.v1.test_render_template(TemplateName="missing", TemplateData="{}")

    def test_v2_test_render_email_template_with_the_cli(self):
        data = self.newsletter_data("Dee", True, ["Hat"])
        data = json.dumps(dict(json.loads(data), currency="GBP", shop={"name": "Shop"}))
        rc, out, err = self.server.aws("sesv2", "test-render-email-template", "--template-name", "newsletter",
                                       "--template-data", data, check=False)
        self.assertEqual(rc, 0, err)
        p = self.parse(json.loads(out)["RenderedTemplate"].encode())
        self.assertEqual(str(p["subject"]), "Shop picks for Dee")
        self.assertIn("- Hat: 2.5 GBP", self.body(p, "plain"))
        self.assertIn("<p>VIP</p>", self.body(p, "html"))
        with self.assertRaises(self.v2.exceptions.BadRequestException):
            self.v2.test_render_email_template(TemplateName="newsletter", TemplateData="{}")
        with self.assertRaises(self.v2.exceptions.NotFoundException):
            self.v2.test_render_email_template(TemplateName="missing", TemplateData="{}")

    # -- custom verification emails --------------------------------------------------------
    def test_custom_verification_email(self):
        import urllib.error
        import urllib.request
        self.v2.create_custom_verification_email_template(
            TemplateName="join", FromEmailAddress="welcome@shop.example", TemplateSubject="Please confirm",
            TemplateContent="<html><body><h1>Welcome to Acme</h1><p>Confirm below.</p></body></html>",
            SuccessRedirectionURL="https://acme.example/verified", FailureRedirectionURL="https://acme.example/failed")
        mid = self.v2.send_custom_verification_email(EmailAddress="joiner@sink.test", TemplateName="join")["MessageId"]
        self.assertTrue(mid)
        to_joiner = lambda ms: [m for m in ms if m["rcpt_tos"] == ["joiner@sink.test"]]  # noqa: E731
        [m] = to_joiner(self.sink.wait_for(to_joiner, 20, "verification mail"))
        p = self.parse(m["data"])
        self.assertEqual(str(p["subject"]), "Please confirm")
        self.assertIn("welcome@shop.example", str(p["from"]))
        html = self.body(p, "html")
        self.assertIn("<h1>Welcome to Acme</h1>", html)
        import re
        link = re.search(r'href="([^"]+)"', html).group(1)
        self.assertTrue(link.startswith(self.server.endpoint + "/_sesame/verify-email?"), link)
        self.assertEqual(self.v2.get_email_identity(EmailIdentity="joiner@sink.test")["VerifiedForSendingStatus"], False)

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None
        opener = urllib.request.build_opener(NoRedirect)
        with self.assertRaises(urllib.error.HTTPError) as e:
            opener.open(link.replace("token=", "token=x"), timeout=5)
        self.assertEqual(e.exception.code, 400)  # a forged token gets no redirect
        with self.assertRaises(urllib.error.HTTPError) as e:
            opener.open(link, timeout=5)
        self.assertEqual(e.exception.code, 302)
        self.assertEqual(e.exception.headers["Location"], "https://acme.example/verified")
        self.assertTrue(self.v2.get_email_identity(EmailIdentity="joiner@sink.test")["VerifiedForSendingStatus"])
        # v1, and its errors.
        self.assertTrue(self.v1.send_custom_verification_email(EmailAddress="joiner2@sink.test", TemplateName="join")["MessageId"])
        self.sink.wait_for(lambda ms: [m for m in ms if m["rcpt_tos"] == ["joiner2@sink.test"]], 20, "v1 verification mail")
        with self.assertRaises(self.v1.exceptions.CustomVerificationEmailTemplateDoesNotExistException):
            self.v1.send_custom_verification_email(EmailAddress="x@sink.test", TemplateName="nope")
        with self.assertRaises(self.v2.exceptions.NotFoundException):
            self.v2.send_custom_verification_email(EmailAddress="x@sink.test", TemplateName="nope")
        # A sandboxed account may not send them (SES: ProductionAccessNotGranted).
        out = json.loads(self.server.cli("account", "create", "--name", "sandboxed"))
        sandboxed = self.server.client("ses", out["AccessKeyId"], out["SecretAccessKey"])
        sandboxed.verify_domain_identity(Domain="shop.example")
        self.server.cli("identity", "verify", "--account", out["AccountId"], "shop.example")
        sandboxed.create_custom_verification_email_template(
            TemplateName="join", FromEmailAddress="welcome@shop.example", TemplateSubject="s", TemplateContent="c",
            SuccessRedirectionURL="https://a.example/", FailureRedirectionURL="https://a.example/")
        with self.assertRaises(sandboxed.exceptions.ProductionAccessNotGrantedException):
            sandboxed.send_custom_verification_email(EmailAddress="x@sink.test", TemplateName="join")

    def test_syntax_errors_are_refused_when_the_template_is_stored(self):
        with self.assertRaises(self.v2.exceptions.BadRequestException) as e:
            self.v2.create_email_template(TemplateName="broken", TemplateContent={"Subject": "s", "Html": "<p>\n{{#if a}}</p>"})
        self.assertIn("line 2", e.exception.response["Error"]["Message"])
        with self.assertRaises(self.v1.exceptions.InvalidTemplateException):
            self.v1.create_template(Template={"TemplateName": "broken", "SubjectPart": "{{#each x}}", "TextPart": "t"})

    def test_hostile_templates_and_data(self):
        start = time.time()
        deep = "{{#if a}}" * 10000 + "x" + "{{/if}}" * 10000
        with self.assertRaises(self.v2.exceptions.BadRequestException) as e:
            self.v2.create_email_template(TemplateName="deep", TemplateContent={"Subject": "s", "Html": deep})
        self.assertIn("nested", e.exception.response["Error"]["Message"])
        with self.assertRaises(self.v2.exceptions.BadRequestException):
            self.v2.create_email_template(TemplateName="huge", TemplateContent={"Subject": "s", "Html": "x" * (501 * 1024)})
        nested = "[" * 5000 + "]" * 5000
        with self.assertRaises(self.v1.exceptions.InvalidRenderingParameterException):
            self.v1.test_render_template(TemplateName="welcome", TemplateData='{"a": ' + nested + "}")
        with self.assertRaises(self.v1.exceptions.ClientError) as e:
            self.v1.send_templated_email(Source="news@shop.example", Destination={"ToAddresses": ["h@sink.test"]},
                                         Template="welcome", TemplateData='{"a": ' + nested + "}")
        self.assertEqual(e.exception.response["Error"]["Code"], "InvalidParameterValue")
        # A template that multiplies its output is stopped, and the server stays up.
        self.v2.create_email_template(TemplateName="bomb", TemplateContent={
            "Subject": "s", "Text": "{{#each a}}{{#each ../a}}{{#each ../../a}}{{#each ../../../a}}xxxxxxxxxx"
                                    "{{/each}}{{/each}}{{/each}}{{/each}}"})
        data = json.dumps({"a": list(range(200))})
        with self.assertRaises(self.v2.exceptions.BadRequestException) as e:
            self.v2.test_render_email_template(TemplateName="bomb", TemplateData=data)
        self.assertIn("Rendering stopped", e.exception.response["Error"]["Message"])
        self.assertLess(time.time() - start, 20)
        self.assertTrue(harness.alive(self.server))

    def test_a_changed_template_is_used_at_once(self):
        self.v2.create_email_template(TemplateName="changing", TemplateContent={"Subject": "v1 {{n}}", "Text": "t"})
        r1 = self.v2.test_render_email_template(TemplateName="changing", TemplateData='{"n": 1}')["RenderedTemplate"]
        self.v2.update_email_template(TemplateName="changing", TemplateContent={"Subject": "v2 {{n}}", "Text": "t"})
        r2 = self.v2.test_render_email_template(TemplateName="changing", TemplateData='{"n": 1}')["RenderedTemplate"]
        self.assertEqual(str(self.parse(r1.encode())["subject"]), "v1 1")
        self.assertEqual(str(self.parse(r2.encode())["subject"]), "v2 1")


if __name__ == "__main__":
    unittest.main()
