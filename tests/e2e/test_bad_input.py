"""Bad input sent as raw but correctly SigV4-signed HTTP requests (boto3 would refuse to send most of
it). After every test the server is alive and nothing was created.
Run with /usr/bin/python3 (Debian boto3)."""
import json
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
JSON = {"Content-Type": "application/json"}


class BadInput(harness.ServerCase):
    extra_config = "[api]\nmax_body_bytes = 100000\n"

    # -- helpers -----------------------------------------------------------------------------

    def v1_raw(self, body):
        status, hdrs, data = harness.signed_request(self.server, "POST", "/", body, FORM)
        code = msg = None
        if status >= 400 and data.strip().startswith(b"<"):
            try:
                code, msg = harness.xml_error(data)
            except Exception:  # not well-formed XML: let the test show the body
                code = msg = "<not well-formed XML>"
        return status, code, msg, data

    def v1(self, action, params=None, version="2010-12-01"):
        body, _ = harness.v1_form(action, params, version)
        return self.v1_raw(body)

    def v2(self, method, path, body=b"", headers=None):
        status, hdrs, data = harness.signed_request(self.server, method, path, body, headers or JSON)
        code = hdrs.get("x-amzn-errortype", "").split(":")[0] or None
        if code is None and data.strip().startswith(b"{"):
            try:
                code = json.loads(data).get("__type")
            except ValueError:
                pass
        return status, code, data

    def state(self):
        ses, v2 = self.server.client("ses"), self.server.client("sesv2")
        return {
            "identities": sorted(ses.list_identities()["Identities"]),
            "configuration_sets": sorted(v2.list_configuration_sets()["ConfigurationSets"]),
            "templates": sorted(t["TemplateName"] for t in v2.list_email_templates()["TemplatesMetadata"]),
            "rule_sets": sorted(r["Name"] for r in ses.list_receipt_rule_sets()["RuleSets"]),
            "filters": sorted(f["Name"] for f in ses.list_receipt_filters()["Filters"]),
            "cvts": sorted(t["TemplateName"] for t in
                           v2.list_custom_verification_email_templates()["CustomVerificationEmailTemplates"]),
        }

    def setUp(self):
        self.before = self.state()

    def tearDown(self):
        self.assertTrue(harness.alive(self.server), "the server died")
        self.assertEqual(self.state(), self.before, "bad input created something")

    # -- v1 form and protocol ------------------------------------------------------------------

    def test_config_applies(self):
        # The extra [api] table was merged with the harness's own (TOML allows a table once).
        with open(self.server.config_path) as f:
            cfg = f.read()
        self.assertEqual(cfg.count("[api]"), 1)
        self.assertIn("max_body_bytes = 100000", cfg)

    def test_malformed_form_escape(self):
        status, code, msg, data = self.v1_raw("Action=ListIdentities&Version=2010-12-01&IdentityType=%zz")
        self.assertEqual(status, 400, data)
        self.assertTrue(code, data)
        status, code, msg, data = self.v1_raw("Action=VerifyDomainIdentity&Version=2010-12-01&Domain=bad%")
        self.assertEqual(status, 400, data)

    def test_invalid_utf8_in_form(self):
        status, code, msg, data = self.v1_raw("Action=VerifyDomainIdentity&Version=2010-12-01&Domain=%FF%FE.example")
        self.assertEqual(status, 400, data)
        # The error document must still be well-formed XML (UTF-8) that clients can parse.
        self.assertNotEqual(code, "<not well-formed XML>", data)
        data.decode("utf-8")

    def test_invalid_utf8_in_free_text_is_refused(self):
        # Not a name that validation would refuse anyway: a template's subject. Refused with
        # 400 when the form is decoded, never a 500 when the document is stored.
        status, code, msg, data = self.v1_raw("Action=CreateTemplate&Version=2010-12-01&Template.TemplateName=bad8"
                                              "&Template.SubjectPart=caf%E9&Template.TextPart=x")
        self.assertEqual((status, code), (400, "ValidationError"), data)
        self.assertIn(b"Template.SubjectPart is not valid UTF-8", data)
        data.decode("utf-8")
        status, code, msg, data = self.v1("ListTemplates")
        self.assertNotIn(b"bad8", data)

    def test_unknown_action(self):
        status, code, msg, data = self.v1("DoSomethingWeird")
        self.assertEqual(status, 400, data)
        self.assertEqual(code, "InvalidAction")

    def test_missing_action(self):
        status, code, msg, data = self.v1_raw("Version=2010-12-01&Foo=bar")
        self.assertEqual(status, 400, data)
        status, code, msg, data = self.v1_raw("")
        self.assertEqual(status, 400, data)

    def test_wrong_version(self):
        status, code, msg, data = self.v1("GetSendStatistics", version="2012-12-01")
        self.assertEqual(status, 400, data)
        self.assertEqual(code, "InvalidAction")
        self.assertIn("Could not find operation GetSendStatistics for version 2012-12-01", msg)
        status, code, msg, data = self.v1("GetSendStatistics", version=None)
        self.assertEqual(status, 400, data)

    def test_v1_missing_required_member(self):
        status, code, msg, data = self.v1("CreateConfigurationSet")
        self.assertEqual(status, 400, data)
        self.assertEqual(code, "ValidationError")
        self.assertIn("Member must not be null", msg)
        status, code, msg, data = self.v1("VerifyEmailIdentity")
        self.assertEqual((status, code), (400, "ValidationError"), data)
        self.assertIn("Member must not be null", msg)
        status, code, msg, data = self.v1("CreateReceiptFilter", {"Filter.Name": "f1"})
        self.assertEqual((status, code), (400, "ValidationError"), data)

    def test_v1_wrong_types(self):
        status, code, msg, data = self.v1("UpdateAccountSendingEnabled", {"Enabled": "maybe"})
        self.assertEqual(status, 400, data)
        status, code, msg, data = self.v1("ListIdentities", {"MaxItems": "lots"})
        self.assertEqual(status, 400, data)
        status, code, msg, data = self.v1("ListIdentities", {"MaxItems": "99999999999999999999999"})
        self.assertEqual(status, 400, data)
        # The sending flag did not change.
        self.assertTrue(self.server.client("ses").get_account_sending_enabled()["Enabled"])

    def test_v1_strange_list_indexes(self):
        for key in ("Identities.member.0", "Identities.member.99999999999999999999", "Identities.member.-1",
                    "Identities.member.x"):
            status, code, msg, data = self.v1("GetIdentityVerificationAttributes", {key: "a.example"})
            self.assertLess(status, 500, (key, data))

    def test_v1_bad_names(self):
        cases = [
            ("CreateConfigurationSet", {"ConfigurationSet.Name": "bad name"}, "InvalidConfigurationSet"),
            ("CreateConfigurationSet", {"ConfigurationSet.Name": "x" * 65}, "InvalidConfigurationSet"),
            ("CreateConfigurationSet", {"ConfigurationSet.Name": "caf\u00e9"}, "InvalidConfigurationSet"),
            ("CreateReceiptRuleSet", {"RuleSetName": "bad name!"}, None),
            ("CreateReceiptRuleSet", {"RuleSetName": "r" * 65}, None),
            ("CreateReceiptFilter", {"Filter.Name": "bad name", "Filter.IpFilter.Policy": "Block",
                                     "Filter.IpFilter.Cidr": "10.0.0.0/8"}, None),
            ("CreateReceiptFilter", {"Filter.Name": "okname", "Filter.IpFilter.Policy": "Block",
                                     "Filter.IpFilter.Cidr": "not-a-cidr"}, None),
            ("CreateTemplate", {"Template.TemplateName": "bad name", "Template.SubjectPart": "s"}, None),
            ("CreateTemplate", {"Template.TemplateName": "t" * 65, "Template.SubjectPart": "s"}, None),
            ("VerifyDomainIdentity", {"Domain": "bad domain.example"}, None),
            ("VerifyDomainIdentity", {"Domain": ("a" * 63 + ".") * 5 + "example"}, None),
            ("VerifyEmailIdentity", {"EmailAddress": "no-at-sign"}, None),
            ("VerifyEmailIdentity", {"EmailAddress": "a b@example.com"}, None),
        ]
        for action, params, want in cases:
            with self.subTest(action=action, params=params):
                status, code, msg, data = self.v1(action, params)
                self.assertEqual(status, 400, data)
                if want:
                    self.assertEqual(code, want, data)

    def test_v1_bad_enum(self):
        status, code, msg, data = self.v1("ListIdentities", {"IdentityType": "Pigeon"})
        self.assertEqual(status, 400, data)
        status, code, msg, data = self.v1("CreateConfigurationSet", {"ConfigurationSet.Name": "enumcs"})
        self.assertEqual(status, 200, data)
        try:
            status, code, msg, data = self.v1("PutConfigurationSetDeliveryOptions", {
                "ConfigurationSetName": "enumcs", "DeliveryOptions.TlsPolicy": "Sometimes"})
            self.assertEqual(status, 400, data)
        finally:
            self.server.client("ses").delete_configuration_set(ConfigurationSetName="enumcs")

    def test_v1_invalid_notification_type(self):
        self.server.client("ses").verify_domain_identity(Domain="notif.bad.example")
        self.before = self.state()
        status, code, msg, data = self.v1("SetIdentityNotificationTopic", {
            "Identity": "notif.bad.example", "NotificationType": "Pigeon",
            "SnsTopic": "arn:aws:sns:us-east-1:123456789012:t"})
        self.assertEqual((status, code), (400, "InvalidParameterValue"), data)
        attrs = self.server.client("ses").get_identity_notification_attributes(
            Identities=["notif.bad.example"])["NotificationAttributes"]["notif.bad.example"]
        self.assertFalse(attrs.get("BounceTopic"))

    def test_v1_oversized_body(self):
        body = "Action=VerifyDomainIdentity&Version=2010-12-01&Domain=" + "a" * 200000
        status, code, msg, data = self.v1_raw(body)
        self.assertEqual(status, 413, data)

    # -- v2 JSON ------------------------------------------------------------------------------

    def test_v2_malformed_json(self):
        for body in (b"{bad", b'{"ConfigurationSetName": "x"', b"\xff\xfe", b'{"ConfigurationSetName": "x"} trailing'):
            with self.subTest(body=body):
                status, code, data = self.v2("POST", "/v2/email/configuration-sets", body)
                self.assertEqual((status, code), (400, "BadRequestException"), data)

    def test_v2_invalid_utf8(self):
        status, code, data = self.v2("POST", "/v2/email/identities", b'{"EmailIdentity": "\xff\xfe.example"}')
        self.assertEqual((status, code), (400, "BadRequestException"), data)
        json.loads(data.decode("utf-8"))  # the error body itself is valid UTF-8 JSON
        status, code, data = self.v2("GET", "/v2/email/identities/%FF%FE.example")
        self.assertIn(status, (400, 404), data)
        if data:
            json.loads(data.decode("utf-8"))

    def test_v2_body_not_an_object(self):
        for body in (b"[]", b'"x"', b"42", b"null"):
            with self.subTest(body=body):
                status, code, data = self.v2("POST", "/v2/email/configuration-sets", body)
                self.assertEqual(status, 400, data)

    def test_v2_wrong_json_types(self):
        cases = [
            ("POST", "/v2/email/configuration-sets", {"ConfigurationSetName": 123}),
            ("POST", "/v2/email/configuration-sets", {"ConfigurationSetName": ["a"]}),
            ("POST", "/v2/email/configuration-sets", {"ConfigurationSetName": "typ",
                                                      "SendingOptions": {"SendingEnabled": "yes"}}),
            ("POST", "/v2/email/configuration-sets", {"ConfigurationSetName": "typ2", "Tags": {"k": "v"}}),
            ("POST", "/v2/email/identities", {"EmailIdentity": {"a": 1}}),
            ("POST", "/v2/email/templates", {"TemplateName": "tt", "TemplateContent": "not an object"}),
            ("PUT", "/v2/email/account/sending", {"SendingEnabled": "false"}),
            ("PUT", "/v2/email/account/suppression", {"SuppressedReasons": "BOUNCE"}),
        ]
        for method, path, body in cases:
            with self.subTest(path=path, body=body):
                status, code, data = self.v2(method, path, json.dumps(body))
                self.assertEqual((status, code), (400, "BadRequestException"), data)
        self.assertTrue(self.server.client("sesv2").get_account()["SendingEnabled"])

    def test_v2_deeply_nested_json(self):
        for body in ("[" * 10000 + "]" * 10000, '{"a":' * 10000 + "1" + "}" * 10000,
                     '{"ConfigurationSetName":"deep","Tags":' + "[" * 10000 + "]" * 10000 + "}"):
            status, code, data = self.v2("POST", "/v2/email/configuration-sets", body)
            self.assertEqual(status, 400, data[:300])
            self.assertTrue(harness.alive(self.server))

    def test_v1_deeply_nested_parameter_name(self):
        key = ".".join(["member"] * 5000)
        status, code, msg, data = self.v1("ListIdentities", {key: "x"})
        self.assertLess(status, 500, data[:300])

    def test_v2_missing_required_member(self):
        for path, body in (("/v2/email/identities", {}), ("/v2/email/configuration-sets", {}),
                           ("/v2/email/templates", {"TemplateName": "only-name"}),
                           ("/v2/email/custom-verification-email-templates", {"TemplateName": "x"})):
            with self.subTest(path=path):
                status, code, data = self.v2("POST", path, json.dumps(body))
                self.assertEqual((status, code), (400, "BadRequestException"), data)

    def test_v2_bad_names(self):
        cases = [
            ("/v2/email/configuration-sets", {"ConfigurationSetName": "bad name"}),
            ("/v2/email/configuration-sets", {"ConfigurationSetName": "c" * 65}),
            ("/v2/email/configuration-sets", {"ConfigurationSetName": ""}),
            ("/v2/email/templates", {"TemplateName": "bad name", "TemplateContent": {"Subject": "s"}}),
            ("/v2/email/templates", {"TemplateName": "t" * 65, "TemplateContent": {"Subject": "s"}}),
            ("/v2/email/identities", {"EmailIdentity": "bad domain.example"}),
            ("/v2/email/identities", {"EmailIdentity": "x" * 400 + "@example.com"}),
            ("/v2/email/identities", {"EmailIdentity": ""}),
        ]
        for path, body in cases:
            with self.subTest(path=path, body=body):
                status, code, data = self.v2("POST", path, json.dumps(body))
                self.assertEqual((status, code), (400, "BadRequestException"), data)

    def test_v2_bad_enum(self):
        status, code, data = self.v2("POST", "/v2/email/configuration-sets", json.dumps(
            {"ConfigurationSetName": "enum2", "DeliveryOptions": {"TlsPolicy": "SOMETIMES"}}))
        self.assertEqual((status, code), (400, "BadRequestException"), data)

    def test_v2_oversized_body(self):
        body = json.dumps({"TemplateName": "big", "TemplateContent": {"Subject": "s", "Text": "x" * 200000}})
        status, code, data = self.v2("POST", "/v2/email/templates", body)
        self.assertEqual(status, 413, data[:300])

    def test_v2_unknown_path(self):
        for method, path in (("GET", "/v2/email/nothing-here"), ("GET", "/v2/email/identities/a/b/c/d"),
                             ("POST", "/v2/email/account"), ("GET", "/v2/email")):
            with self.subTest(method=method, path=path):
                status, code, data = self.v2(method, path, b"{}" if method == "POST" else b"")
                self.assertEqual(status, 404, data)

    def test_v2_bad_query_values(self):
        status, code, data = self.v2("GET", "/v2/email/identities?PageSize=lots")
        self.assertEqual(status, 400, data)
        status, code, data = self.v2("GET", "/v2/email/identities?NextToken=" + urllib.parse.quote("garbage!!"))
        self.assertEqual(status, 400, data)

    def test_v2_unknown_members_ignored(self):
        status, code, data = self.v2("PUT", "/v2/email/account/sending",
                                     json.dumps({"SendingEnabled": True, "NoSuchMember": 1}))
        self.assertEqual(status, 200, data)

    def test_non_ses_path(self):
        status, _, data = harness.signed_request(self.server, "GET", "/definitely/not/ses")
        self.assertIn(status, (400, 404), data)


if __name__ == "__main__":
    unittest.main()
