"""Edge cases found in review: unauthenticated bodies are not read, regions are validated,
receipt rule reordering cannot lose rules, VdmOptions round-trip, MAIL FROM on mixed-case
identities, SES's reply for Set* on an unknown identity, edge errors in the client's protocol.
Run with /usr/bin/python3 (Debian boto3)."""
import json
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class EdgeCases(harness.ServerCase):
    extra_config = "[api]\nmax_body_bytes = 100000\n"

    def test_unauthenticated_body_is_never_read(self):
        # Announce a body (within the size limit) without Authorization: the answer comes
        # before any of the body is sent.
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            s.sendall(b"POST /v2/email/templates HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 90000\r\n\r\n")
            data = s.recv(65536)
        self.assertIn(b" 403 ", data.split(b"\r\n")[0])
        self.assertIn(b"MissingAuthenticationTokenException", data)
        self.assertTrue(harness.alive(self.server))

    def test_unknown_key_rejected_before_body(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                      b"Authorization: AWS4-HMAC-SHA256 Credential=AKIANOTAKEY000000000/20240101/us-east-1/ses/"
                      b"aws4_request, SignedHeaders=host, Signature=" + b"0" * 64 + b"\r\n"
                      b"Content-Length: 90000\r\n\r\n")
            data = s.recv(65536)
        self.assertIn(b" 403 ", data.split(b"\r\n")[0])
        self.assertIn(b"<Code>InvalidClientTokenId</Code>", data)

    def test_oversized_v1_body_gets_xml_error(self):
        body, hdrs = harness.v1_form("CreateTemplate", {"Template.TemplateName": "big", "Template.TextPart": "x" * 200000})
        status, h, data = harness.signed_request(self.server, "POST", "/", body, hdrs)
        self.assertEqual(status, 413)
        self.assertEqual(harness.xml_error(data)[0], "RequestEntityTooLarge")

    def test_invalid_region_rejected(self):
        status, h, data = harness.signed_request(self.server, "GET", "/v2/email/account", region="..")
        self.assertEqual(status, 403)
        self.assertEqual(h.get("x-amzn-errortype"), "InvalidSignatureException")
        self.assertIn(b"valid region", data)
        status, _, data = harness.signed_request(self.server, "POST", "/", *harness.v1_form("GetSendQuota"),
                                                 region="not_a_region")
        self.assertEqual(status, 403)
        self.assertEqual(harness.xml_error(data)[0], "SignatureDoesNotMatch")

    def test_reorder_with_duplicates_loses_nothing(self):
        ses = self.server.client("ses")
        ses.create_receipt_rule_set(RuleSetName="dups")
        ses.create_receipt_rule(RuleSetName="dups", Rule={"Name": "a"})
        ses.create_receipt_rule(RuleSetName="dups", Rule={"Name": "b"}, After="a")
        with self.assertClientError("InvalidParameterValue", 400):
            ses.reorder_receipt_rule_set(RuleSetName="dups", RuleNames=["a", "a"])
        names = [r["Name"] for r in ses.describe_receipt_rule_set(RuleSetName="dups")["Rules"]]
        self.assertEqual(names, ["a", "b"])

    def test_vdm_options_round_trip(self):
        v2 = self.server.client("sesv2")
        v2.create_configuration_set(ConfigurationSetName="vdm")
        v2.put_configuration_set_vdm_options(ConfigurationSetName="vdm",
                                             VdmOptions={"DashboardOptions": {"EngagementMetrics": "ENABLED"}})
        got = v2.get_configuration_set(ConfigurationSetName="vdm")
        self.assertEqual(got["VdmOptions"], {"DashboardOptions": {"EngagementMetrics": "ENABLED"}})

    def test_mail_from_on_mixed_case_identity(self):
        ses = self.server.client("ses")
        ses.verify_domain_identity(Domain="MixedCase.Example")
        ses.set_identity_mail_from_domain(Identity="MixedCase.Example", MailFromDomain="bounce.mixedcase.example")
        attrs = ses.get_identity_mail_from_domain_attributes(Identities=["mixedcase.example"])
        self.assertEqual(attrs["MailFromDomainAttributes"]["mixedcase.example"]["MailFromDomain"],
                         "bounce.mixedcase.example")

    def test_set_on_unknown_identity_is_message_rejected(self):
        ses = self.server.client("ses")
        with self.assertClientError("MessageRejected", 400, "is not verified or does not exist"):
            ses.set_identity_dkim_enabled(Identity="nobody.example", DkimEnabled=True)

    def test_identity_attributes_capped_at_100(self):
        ses = self.server.client("ses")
        with self.assertClientError("InvalidParameterValue", 400):
            ses.get_identity_verification_attributes(Identities=[f"d{i}.example" for i in range(101)])

    def test_out_of_range_timestamp_refused(self):
        status, h, _ = harness.signed_request(
            self.server, "PUT", "/v2/email/configuration-sets/none/reputation-options",
            json.dumps({"ReputationMetricsEnabled": True}), {"Content-Type": "application/json"})
        self.assertEqual(status, 404)
        status, h, _ = harness.signed_request(
            self.server, "POST", "/v2/email/configuration-sets",
            json.dumps({"ConfigurationSetName": "ts", "ReputationOptions": {"LastFreshStart": 1e300}}),
            {"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        self.assertEqual(h.get("x-amzn-errortype"), "BadRequestException")


class Shutdown(unittest.TestCase):
    def test_sigterm_with_idle_keepalive_connections_is_quick(self):
        server = harness.Sesame().start()
        try:
            v2 = server.client("sesv2")
            v2.get_account()  # leaves a pooled keep-alive connection open
            t0 = time.time()
            rc = server.stop()
            self.assertEqual(rc, 0)
            self.assertLess(time.time() - t0, 3.0)
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
