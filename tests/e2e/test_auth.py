"""SigV4 authentication errors, clock skew, and tenancy (per account, per region).
Run with /usr/bin/python3 (Debian boto3)."""
import datetime
import json
import os
import sys
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

from botocore.config import Config  # noqa: E402


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class AuthErrors(harness.ServerCase):
    def client(self, service, key, secret):
        import boto3
        return boto3.client(service, endpoint_url=self.server.endpoint, region_name="us-east-1",
                            aws_access_key_id=key, aws_secret_access_key=secret,
                            config=Config(retries={"max_attempts": 1}))

    def test_wrong_secret(self):
        key, _ = self.server.credentials()
        with self.assertClientError("SignatureDoesNotMatch", 403):
            self.client("ses", key, "wrong" * 8).get_send_quota()
        with self.assertClientError("InvalidSignatureException", 403):
            self.client("sesv2", key, "wrong" * 8).get_account()

    def test_unknown_access_key(self):
        with self.assertClientError("InvalidClientTokenId", 403):
            self.client("ses", "AKIAUNKNOWNKEY000000", "x" * 40).get_send_quota()
        with self.assertClientError("UnrecognizedClientException", 403):
            self.client("sesv2", "AKIAUNKNOWNKEY000000", "x" * 40).get_account()

    def test_unsigned_v1(self):
        body, headers = harness.v1_form("ListIdentities")
        req = urllib.request.Request(self.server.endpoint + "/", data=body.encode(), headers=headers, method="POST")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(cm.exception.code, 403)
        code, _ = harness.xml_error(cm.exception.read())
        self.assertEqual(code, "MissingAuthenticationToken")

    def test_unsigned_v2(self):
        req = urllib.request.Request(self.server.endpoint + "/v2/email/identities", method="GET")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(cm.exception.code, 403)
        body = json.loads(cm.exception.read() or b"{}")
        code = cm.exception.headers.get("x-amzn-ErrorType", "").split(":")[0] or body.get("__type")
        self.assertEqual(code, "MissingAuthenticationTokenException")

    def test_clock_skew_past(self):
        when = utcnow() - datetime.timedelta(minutes=10)
        body, headers = harness.v1_form("GetSendQuota")
        status, _, data = harness.signed_request(self.server, "POST", "/", body, headers, when=when)
        self.assertEqual(status, 403, data)
        code, msg = harness.xml_error(data)
        self.assertEqual(code, "SignatureDoesNotMatch")
        self.assertIn("Signature expired", msg)
        status, hdrs, data = harness.signed_request(self.server, "GET", "/v2/email/account", when=when)
        self.assertEqual(status, 403, data)
        self.assertEqual(hdrs.get("x-amzn-errortype", "").split(":")[0], "InvalidSignatureException")
        self.assertIn("Signature expired", json.loads(data).get("message", json.loads(data).get("Message", "")))

    def test_clock_skew_future(self):
        when = utcnow() + datetime.timedelta(minutes=10)
        body, headers = harness.v1_form("GetSendQuota")
        status, _, data = harness.signed_request(self.server, "POST", "/", body, headers, when=when)
        self.assertEqual(status, 403, data)
        self.assertEqual(harness.xml_error(data)[0], "SignatureDoesNotMatch")

    def test_small_skew_accepted(self):
        when = utcnow() - datetime.timedelta(minutes=2)
        body, headers = harness.v1_form("GetSendQuota")
        status, _, data = harness.signed_request(self.server, "POST", "/", body, headers, when=when)
        self.assertEqual(status, 200, data)

    def test_wrong_service_in_scope(self):
        body, headers = harness.v1_form("GetSendQuota")
        status, _, data = harness.signed_request(self.server, "POST", "/", body, headers, service="sqs")
        self.assertEqual(status, 403, data)
        self.assertEqual(harness.xml_error(data)[0], "SignatureDoesNotMatch")
        # Scoped to "sns", the same endpoint is the SNS-compatible API, which has no such action.
        status, _, data = harness.signed_request(self.server, "POST", "/", body, headers, service="sns")
        self.assertEqual(status, 400, data)
        self.assertIn(b'xmlns="http://sns.amazonaws.com/doc/2010-03-31/"', data)
        self.assertEqual(harness.xml_error(data)[0], "InvalidAction")

    def test_signed_request_ok(self):
        body, headers = harness.v1_form("GetSendQuota")
        status, hdrs, data = harness.signed_request(self.server, "POST", "/", body, headers)
        self.assertEqual(status, 200, data)
        self.assertIn("x-amzn-requestid", hdrs)
        self.assertIn("date", hdrs)


class Tenancy(harness.ServerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        out = cls.server.cli("account", "create", "--name", "second")
        cls.second = json.loads(out)

    def test_second_account_created(self):
        self.assertRegex(self.second["AccountId"], r"^\d{12}$")
        self.assertNotEqual(self.second["AccountId"], self.account)
        self.assertTrue(self.second["AccessKeyId"])
        self.assertTrue(self.second["SecretAccessKey"])

    def test_accounts_are_isolated(self):
        first = self.server.client("ses")
        second = self.server.client("ses", self.second["AccessKeyId"], self.second["SecretAccessKey"])
        second_v2 = self.server.client("sesv2", self.second["AccessKeyId"], self.second["SecretAccessKey"])
        first.verify_domain_identity(Domain="first-only.example")
        first.create_configuration_set(ConfigurationSet={"Name": "shared-name"})
        self.assertNotIn("first-only.example", second.list_identities()["Identities"])
        with self.assertClientError("NotFoundException", 404):
            second_v2.get_email_identity(EmailIdentity="first-only.example")
        self.assertEqual(second.get_identity_verification_attributes(
            Identities=["first-only.example"])["VerificationAttributes"], {})
        # The same name can exist in both accounts.
        self.assertOk(second.create_configuration_set(ConfigurationSet={"Name": "shared-name"}))
        second.verify_email_identity(EmailAddress="second-only@example.com")
        self.assertNotIn("second-only@example.com", first.list_identities()["Identities"])
        self.assertIn("second-only@example.com", second.list_identities()["Identities"])
        # Deleting in one account leaves the other's copy.
        second.delete_configuration_set(ConfigurationSetName="shared-name")
        self.assertIn("shared-name", [c["Name"] for c in first.list_configuration_sets()["ConfigurationSets"]])
        # The second account's ARNs carry its own id.
        second_v2.create_configuration_set(ConfigurationSetName="tagged")
        arn = f"arn:aws:ses:us-east-1:{self.second['AccountId']}:configuration-set/tagged"
        self.assertOk(second_v2.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}]))

    def test_regions_are_isolated(self):
        east = self.server.client("ses")
        west = self.server.client("ses", region="eu-west-1")
        west_v2 = self.server.client("sesv2", region="eu-west-1")
        east.verify_domain_identity(Domain="east-only.example")
        east.create_template(Template={"TemplateName": "east-tpl", "SubjectPart": "s", "TextPart": "t"})
        self.assertNotIn("east-only.example", west.list_identities()["Identities"])
        self.assertNotIn("east-tpl", [t["Name"] for t in west.list_templates()["TemplatesMetadata"]])
        with self.assertClientError("NotFoundException", 404):
            west_v2.get_email_identity(EmailIdentity="east-only.example")
        with self.assertClientError("TemplateDoesNotExist", 400):
            west.get_template(TemplateName="east-tpl")
        west.verify_email_identity(EmailAddress="west-only@example.com")
        self.assertIn("west-only@example.com", west.list_identities()["Identities"])
        self.assertNotIn("west-only@example.com", east.list_identities()["Identities"])
        # Each region has its own account settings.
        west.update_account_sending_enabled(Enabled=False)
        try:
            self.assertTrue(east.get_account_sending_enabled()["Enabled"])
            self.assertFalse(west.get_account_sending_enabled()["Enabled"])
        finally:
            west.update_account_sending_enabled(Enabled=True)

    def test_identity_path_with_plus_and_at(self):
        v2 = self.server.client("sesv2")
        ident = "user+tag@example.com"
        self.assertOk(v2.create_email_identity(EmailIdentity=ident))
        g = self.assertOk(v2.get_email_identity(EmailIdentity=ident))
        self.assertEqual(g["IdentityType"], "EMAIL_ADDRESS")
        names = [i["IdentityName"] for i in v2.list_email_identities()["EmailIdentities"]]
        self.assertIn(ident, names)
        self.assertNotIn("user tag@example.com", names)
        self.assertOk(v2.delete_email_identity(EmailIdentity=ident))
        with self.assertClientError("NotFoundException", 404):
            v2.get_email_identity(EmailIdentity=ident)


if __name__ == "__main__":
    unittest.main()
