"""The deletion commands of the SES privacy guide, run VERBATIM through the AWS CLI (/usr/bin/aws)
with only --endpoint-url added; plus some create/list CLI calls for `aws ses` and `aws sesv2`.
Run with /usr/bin/python3 (Debian boto3)."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class PrivacyGuideDeletes(harness.ServerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ses = cls.server.client("ses")
        cls.v2 = cls.server.client("sesv2")

    def run_verbatim(self, command):
        """`command` is the guide's text; the only change is --endpoint-url (added by harness.aws)."""
        args = command.split()
        self.assertEqual(args[0], "aws")
        rc, out, err = self.server.aws(*args[1:], check=False)
        self.assertEqual(rc, 0, f"{command}\nstdout: {out}\nstderr: {err}")
        return out

    def test_delete_configuration_set_event_destination(self):
        self.ses.create_configuration_set(ConfigurationSet={"Name": "configSet"})
        topic = self.server.client("sns").create_topic(Name="t")["TopicArn"]
        self.ses.create_configuration_set_event_destination(ConfigurationSetName="configSet", EventDestination={
            "Name": "eventDestination", "Enabled": True, "MatchingEventTypes": ["send"],
            "SNSDestination": {"TopicARN": topic}})
        self.run_verbatim("aws ses delete-configuration-set-event-destination --configuration-set-name configSet "
                          "--event-destination-name eventDestination")
        d = self.ses.describe_configuration_set(ConfigurationSetName="configSet",
                                                ConfigurationSetAttributeNames=["eventDestinations"])
        self.assertEqual(d.get("EventDestinations", []), [])

    def test_delete_identity(self):
        self.ses.verify_email_identity(EmailAddress="sender@example.com")
        self.assertIn("sender@example.com", self.ses.list_identities()["Identities"])
        self.run_verbatim("aws ses delete-identity --identity sender@example.com")
        self.assertNotIn("sender@example.com", self.ses.list_identities()["Identities"])

    def test_delete_identity_policy(self):
        self.ses.verify_domain_identity(Domain="example.com")
        policy = {"Version": "2012-10-17", "Statement": [{
            "Sid": "s", "Effect": "Allow", "Resource": f"arn:aws:ses:us-east-1:{self.account}:identity/example.com",
            "Principal": {"AWS": ["123456789012"]}, "Action": ["ses:SendEmail"]}]}
        self.ses.put_identity_policy(Identity="example.com", PolicyName="samplePolicy", Policy=json.dumps(policy))
        self.assertEqual(self.ses.list_identity_policies(Identity="example.com")["PolicyNames"], ["samplePolicy"])
        self.run_verbatim("aws ses delete-identity-policy --identity example.com --policy-name samplePolicy")
        self.assertEqual(self.ses.list_identity_policies(Identity="example.com")["PolicyNames"], [])

    def test_delete_receipt_rule(self):
        self.ses.create_receipt_rule_set(RuleSetName="myRuleSet")
        self.ses.create_receipt_rule(RuleSetName="myRuleSet", Rule={
            "Name": "myReceiptRule", "Enabled": True,
            "Actions": [{"AddHeaderAction": {"HeaderName": "X-A", "HeaderValue": "1"}}]})
        self.run_verbatim("aws ses delete-receipt-rule --rule-set myRuleSet --rule-name myReceiptRule")
        self.assertEqual(self.ses.describe_receipt_rule_set(RuleSetName="myRuleSet").get("Rules", []), [])
        with self.assertClientError("RuleDoesNotExist", 400):
            self.ses.describe_receipt_rule(RuleSetName="myRuleSet", RuleName="myReceiptRule")

    def test_delete_receipt_filter(self):
        self.ses.create_receipt_filter(Filter={"Name": "IPfilter", "IpFilter": {"Policy": "Block",
                                                                                "Cidr": "192.0.2.0/24"}})
        self.run_verbatim("aws ses delete-receipt-filter --filter-name IPfilter")
        self.assertNotIn("IPfilter", [f["Name"] for f in self.ses.list_receipt_filters()["Filters"]])

    def test_delete_template(self):
        self.ses.create_template(Template={"TemplateName": "sampleTemplate", "SubjectPart": "s", "TextPart": "t"})
        self.run_verbatim("aws ses delete-template --template-name sampleTemplate")
        with self.assertClientError("TemplateDoesNotExist", 400):
            self.ses.get_template(TemplateName="sampleTemplate")

    def test_delete_custom_verification_email_template(self):
        self.ses.verify_email_identity(EmailAddress="from@privacy.example")
        self.server.cli("identity", "verify", "--account", self.account, "from@privacy.example")
        self.ses.create_custom_verification_email_template(
            TemplateName="verificationEmailTemplate", FromEmailAddress="from@privacy.example",
            TemplateSubject="Verify", TemplateContent="<p>v</p>", SuccessRedirectionURL="https://example.com/s",
            FailureRedirectionURL="https://example.com/f")
        self.run_verbatim("aws ses delete-custom-verification-email-template "
                          "--template-name verificationEmailTemplate")
        with self.assertClientError("CustomVerificationEmailTemplateDoesNotExist", 400):
            self.ses.get_custom_verification_email_template(TemplateName="verificationEmailTemplate")


class CliCreateAndList(harness.ServerCase):
    def aws_json(self, *args):
        rc, out, err = self.server.aws(*args, "--output", "json")
        return json.loads(out) if out.strip() else {}

    def test_ses_cli(self):
        self.aws_json("ses", "verify-email-identity", "--email-address", "cli@cli.example")
        self.aws_json("ses", "verify-domain-identity", "--domain", "cli.example")
        ids = self.aws_json("ses", "list-identities")["Identities"]
        self.assertIn("cli@cli.example", ids)
        self.assertIn("cli.example", ids)
        self.aws_json("ses", "create-configuration-set", "--configuration-set", "Name=cliSet")
        sets = self.aws_json("ses", "list-configuration-sets")["ConfigurationSets"]
        self.assertIn("cliSet", [s["Name"] for s in sets])
        self.aws_json("ses", "create-template", "--template",
                      "TemplateName=cliTpl,SubjectPart=Hello,TextPart=Body")
        self.assertEqual(self.aws_json("ses", "get-template", "--template-name", "cliTpl")["Template"]["SubjectPart"],
                         "Hello")
        quota = self.aws_json("ses", "get-send-quota")
        self.assertEqual(quota["Max24HourSend"], 200.0)
        rc, _, err = self.server.aws("ses", "get-template", "--template-name", "nope", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("TemplateDoesNotExist", err)

    def test_sesv2_cli(self):
        r = self.aws_json("sesv2", "create-email-identity", "--email-identity", "cli2.example")
        self.assertEqual(r["IdentityType"], "DOMAIN")
        self.assertEqual(len(r["DkimAttributes"]["Tokens"]), 3)
        names = [i["IdentityName"] for i in self.aws_json("sesv2", "list-email-identities")["EmailIdentities"]]
        self.assertIn("cli2.example", names)
        g = self.aws_json("sesv2", "get-email-identity", "--email-identity", "cli2.example")
        self.assertEqual(g["DkimAttributes"]["Tokens"], r["DkimAttributes"]["Tokens"])
        self.aws_json("sesv2", "create-configuration-set", "--configuration-set-name", "cliSet2")
        self.assertIn("cliSet2", self.aws_json("sesv2", "list-configuration-sets")["ConfigurationSets"])
        acct = self.aws_json("sesv2", "get-account")
        self.assertFalse(acct["ProductionAccessEnabled"])
        self.aws_json("sesv2", "delete-email-identity", "--email-identity", "cli2.example")
        rc, _, err = self.server.aws("sesv2", "get-email-identity", "--email-identity", "cli2.example", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("NotFoundException", err)


if __name__ == "__main__":
    unittest.main()
