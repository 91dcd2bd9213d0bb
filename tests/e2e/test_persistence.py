"""Everything survives a restart: create one of every resource (v1 and v2), stop the server with
SIGTERM (exit code 0), start it again on the same data directory, and read everything back.
Also checks the first-start credentials file and the database file modes.
Run with /usr/bin/python3 (Debian boto3)."""
import json
import os
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SNS_TOPIC = "arn:aws:sns:us-east-1:123456789012:t"


def strip(r):
    r = dict(r)
    r.pop("ResponseMetadata", None)
    return r


class Persistence(harness.ServerCase):
    def test_first_start_files(self):
        data = self.server.data_dir
        cred = os.path.join(data, "credentials")
        self.assertTrue(os.path.isfile(cred))
        self.assertEqual(stat.S_IMODE(os.stat(cred).st_mode), 0o600)
        with open(self.server.log_path) as f:
            log = f.read()
        self.assertIn(cred, log)
        self.assertIn(self.account, log)
        key, secret = self.server.credentials()
        self.assertTrue(key.startswith("AKIA"))
        self.assertEqual(len(secret), 40)
        db = os.path.join(data, "sesame.db")
        self.assertTrue(os.path.isfile(db))
        self.assertEqual(stat.S_IMODE(os.stat(db).st_mode) & 0o007, 0, oct(os.stat(db).st_mode))
        # The data directory itself is private too.
        self.assertEqual(stat.S_IMODE(os.stat(data).st_mode) & 0o007, 0)

    def create_everything(self):
        ses, v2 = self.server.client("ses"), self.server.client("sesv2")
        acct = self.account
        # An SNS topic with a (pending) subscription: event destinations below name it.
        sns = self.server.client("sns")
        topic = sns.create_topic(Name="t", Attributes={"DisplayName": "persisted"})["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=f"http://127.0.0.1:{harness.free_port()}/hook")
        # v1 identities and their attributes.
        ses.verify_email_identity(EmailAddress="p1@persist.example")
        ses.verify_domain_identity(Domain="persist.example")
        ses.verify_domain_dkim(Domain="persist.example")
        ses.set_identity_mail_from_domain(Identity="persist.example", MailFromDomain="mf.persist.example",
                                          BehaviorOnMXFailure="RejectMessage")
        ses.set_identity_notification_topic(Identity="persist.example", NotificationType="Bounce", SnsTopic=SNS_TOPIC)
        ses.set_identity_notification_topic(Identity="persist.example", NotificationType="Complaint",
                                            SnsTopic=SNS_TOPIC)
        ses.set_identity_feedback_forwarding_enabled(Identity="persist.example", ForwardingEnabled=False)
        ses.set_identity_headers_in_notifications_enabled(Identity="persist.example", NotificationType="Bounce",
                                                          Enabled=True)
        ses.set_identity_dkim_enabled(Identity="persist.example", DkimEnabled=False)
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Resource": f"arn:aws:ses:us-east-1:{acct}:identity/persist.example",
            "Principal": {"AWS": ["123456789012"]}, "Action": ["ses:SendEmail"]}]})
        ses.put_identity_policy(Identity="persist.example", PolicyName="pp", Policy=policy)
        ses.verify_email_identity(EmailAddress="verified@persist.example")
        self.server.cli("identity", "verify", "--account", acct, "verified@persist.example")
        # v1 configuration set with everything.
        ses.create_configuration_set(ConfigurationSet={"Name": "pcs"})
        ses.create_configuration_set_event_destination(ConfigurationSetName="pcs", EventDestination={
            "Name": "sns", "Enabled": True, "MatchingEventTypes": ["send", "bounce"],
            "SNSDestination": {"TopicARN": topic}})
        ses.create_configuration_set_event_destination(ConfigurationSetName="pcs", EventDestination={
            "Name": "cw", "Enabled": False, "MatchingEventTypes": ["delivery"],
            "CloudWatchDestination": {"DimensionConfigurations": [
                {"DimensionName": "d", "DimensionValueSource": "emailHeader", "DefaultDimensionValue": "x"}]}})
        ses.create_configuration_set_tracking_options(ConfigurationSetName="pcs",
                                                      TrackingOptions={"CustomRedirectDomain": "persist.example"})
        ses.put_configuration_set_delivery_options(ConfigurationSetName="pcs", DeliveryOptions={"TlsPolicy": "Require"})
        ses.update_configuration_set_reputation_metrics_enabled(ConfigurationSetName="pcs", Enabled=True)
        ses.update_configuration_set_sending_enabled(ConfigurationSetName="pcs", Enabled=False)
        # Templates.
        ses.create_template(Template={"TemplateName": "ptpl", "SubjectPart": "S {{a}}", "TextPart": "T",
                                      "HtmlPart": "<p>H</p>"})
        ses.create_custom_verification_email_template(
            TemplateName="pcvt", FromEmailAddress="verified@persist.example", TemplateSubject="Subj",
            TemplateContent="<p>c</p>", SuccessRedirectionURL="https://example.com/s",
            FailureRedirectionURL="https://example.com/f")
        # Receipt rules and filters.
        ses.create_receipt_rule_set(RuleSetName="prs")
        ses.create_receipt_rule(RuleSetName="prs", Rule={
            "Name": "r1", "Enabled": True, "TlsPolicy": "Require", "Recipients": ["persist.example"],
            "ScanEnabled": True, "Actions": [{"AddHeaderAction": {"HeaderName": "X-A", "HeaderValue": "1"}}]})
        ses.create_receipt_rule(RuleSetName="prs", After="r1", Rule={
            "Name": "r2", "Enabled": False, "Actions": [{"StopAction": {"Scope": "RuleSet"}}]})
        ses.set_active_receipt_rule_set(RuleSetName="prs")
        ses.create_receipt_filter(Filter={"Name": "pf", "IpFilter": {"Policy": "Block", "Cidr": "10.1.0.0/16"}})
        # Account.
        ses.update_account_sending_enabled(Enabled=False)
        # v2 resources.
        v2.create_email_identity(EmailIdentity="v2.persist.example", Tags=[{"Key": "k", "Value": "v"}])
        v2.put_email_identity_dkim_attributes(EmailIdentity="v2.persist.example", SigningEnabled=False)
        v2.create_email_identity(EmailIdentity="v2@persist.example")
        v2.create_configuration_set(ConfigurationSetName="pcs2", DeliveryOptions={"TlsPolicy": "REQUIRE"},
                                    SendingOptions={"SendingEnabled": True},
                                    SuppressionOptions={"SuppressedReasons": ["COMPLAINT"]},
                                    ReputationOptions={"ReputationMetricsEnabled": True},
                                    Tags=[{"Key": "ck", "Value": "cv"}])
        v2.create_configuration_set_event_destination(
            ConfigurationSetName="pcs2", EventDestinationName="ed",
            EventDestination={"Enabled": True, "MatchingEventTypes": ["REJECT"],
                              "SnsDestination": {"TopicArn": topic}})
        v2.put_email_identity_configuration_set_attributes(EmailIdentity="v2@persist.example",
                                                          ConfigurationSetName="pcs2")
        v2.create_email_template(TemplateName="ptpl2", TemplateContent={"Subject": "s2", "Text": "t2"})
        v2.tag_resource(ResourceArn=f"arn:aws:ses:us-east-1:{acct}:template/ptpl2", Tags=[{"Key": "tk", "Value": "tv"}])
        v2.create_email_identity_policy(EmailIdentity="v2.persist.example", PolicyName="v2p", Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Resource": f"arn:aws:ses:us-east-1:{acct}:identity/v2.persist.example",
                "Principal": {"AWS": ["123456789012"]}, "Action": ["ses:SendRawEmail"]}]}))
        v2.put_account_details(MailType="MARKETING", WebsiteURL="https://persist.example",
                               UseCaseDescription="newsletters", ContactLanguage="EN",
                               ProductionAccessEnabled=True)
        v2.put_account_suppression_attributes(SuppressedReasons=["BOUNCE"])
        # A second account with its own resource.
        second = json.loads(self.server.cli("account", "create", "--name", "persist-second"))
        self.__class__.second = second
        self.server.client("ses", second["AccessKeyId"], second["SecretAccessKey"]).verify_domain_identity(
            Domain="second.persist.example")

    def snapshot(self):
        ses, v2 = self.server.client("ses"), self.server.client("sesv2")
        ids = sorted(ses.list_identities()["Identities"])
        snap = {"identities": ids}
        sns = self.server.client("sns")
        snap["topics"] = strip(sns.list_topics())
        snap["subscriptions"] = strip(sns.list_subscriptions())
        snap["topic"] = {k: v for k, v in sns.get_topic_attributes(TopicArn=snap["topics"]["Topics"][0]["TopicArn"])[
            "Attributes"].items()} if snap["topics"].get("Topics") else {}
        snap["verification"] = strip(ses.get_identity_verification_attributes(Identities=ids))
        snap["dkim"] = strip(ses.get_identity_dkim_attributes(Identities=ids))
        snap["mailfrom"] = strip(ses.get_identity_mail_from_domain_attributes(Identities=ids))
        snap["notif"] = strip(ses.get_identity_notification_attributes(Identities=ids))
        snap["policies"] = strip(ses.get_identity_policies(Identity="persist.example", PolicyNames=["pp"]))
        snap["verified_emails"] = sorted(ses.list_verified_email_addresses()["VerifiedEmailAddresses"])
        snap["cs_list"] = sorted(c["Name"] for c in ses.list_configuration_sets()["ConfigurationSets"])
        d = strip(ses.describe_configuration_set(ConfigurationSetName="pcs", ConfigurationSetAttributeNames=[
            "eventDestinations", "trackingOptions", "deliveryOptions", "reputationOptions"]))
        d["EventDestinations"] = sorted(d.get("EventDestinations", []), key=lambda e: e["Name"])
        snap["pcs"] = d
        snap["tpl"] = strip(ses.get_template(TemplateName="ptpl"))
        snap["tpl_list"] = sorted((t["Name"], t["CreatedTimestamp"]) for t in ses.list_templates()["TemplatesMetadata"])
        snap["cvt"] = strip(ses.get_custom_verification_email_template(TemplateName="pcvt"))
        snap["rule_sets"] = sorted(r["Name"] for r in ses.list_receipt_rule_sets()["RuleSets"])
        snap["prs"] = strip(ses.describe_receipt_rule_set(RuleSetName="prs"))
        snap["active"] = strip(ses.describe_active_receipt_rule_set())
        snap["filters"] = strip(ses.list_receipt_filters())
        snap["sending"] = strip(ses.get_account_sending_enabled())
        snap["quota"] = strip(ses.get_send_quota())
        snap["v2_ids"] = sorted((i["IdentityName"], i["IdentityType"]) for i in
                                v2.list_email_identities()["EmailIdentities"])
        for ident in ("v2.persist.example", "v2@persist.example", "persist.example"):
            snap["v2id:" + ident] = strip(v2.get_email_identity(EmailIdentity=ident))
        snap["pcs2"] = strip(v2.get_configuration_set(ConfigurationSetName="pcs2"))
        snap["pcs2_ed"] = strip(v2.get_configuration_set_event_destinations(ConfigurationSetName="pcs2"))
        snap["ptpl2"] = strip(v2.get_email_template(TemplateName="ptpl2"))
        snap["v2pol"] = strip(v2.get_email_identity_policies(EmailIdentity="v2.persist.example"))
        snap["account"] = strip(v2.get_account())
        snap["tags_cs"] = strip(v2.list_tags_for_resource(
            ResourceArn=f"arn:aws:ses:us-east-1:{self.account}:configuration-set/pcs2"))
        snap["tags_tpl"] = strip(v2.list_tags_for_resource(
            ResourceArn=f"arn:aws:ses:us-east-1:{self.account}:template/ptpl2"))
        second = self.server.client("ses", self.second["AccessKeyId"], self.second["SecretAccessKey"])
        snap["second"] = sorted(second.list_identities()["Identities"])
        snap["second_token"] = strip(second.get_identity_verification_attributes(
            Identities=["second.persist.example"]))
        return snap

    def test_restart_keeps_everything(self):
        self.create_everything()
        before = self.snapshot()
        # Sanity: the snapshot saw what was created.
        self.assertIn("persist.example", before["identities"])
        self.assertEqual(before["notif"]["NotificationAttributes"]["persist.example"]["ForwardingEnabled"], False)
        self.assertEqual([r["Name"] for r in before["prs"]["Rules"]], ["r1", "r2"])
        self.assertEqual(before["account"]["Details"]["ReviewDetails"]["Status"], "PENDING")
        self.assertIn("verified@persist.example", before["verified_emails"])
        self.assertEqual(before["second"], ["second.persist.example"])
        key_before = self.server.credentials()

        rc = self.server.stop()
        self.assertEqual(rc, 0, "sesame did not exit cleanly on SIGTERM")
        self.server.start()
        self.assertEqual(self.server.credentials(), key_before)
        after = self.snapshot()
        for k in before:
            self.assertEqual(after[k], before[k], k)
        # And it still takes writes.
        self.assertOk(self.server.client("ses").delete_template(TemplateName="ptpl"))

    def test_restart_with_no_changes_keeps_account(self):
        acct = self.account
        self.server.restart()
        with open(self.server.log_path) as f:
            log = f.read()
        # The account is created once; a restart does not make another.
        self.assertEqual(log.count("first start: created account"), 1)
        self.assertEqual(self.server.account_id(), acct)
        self.assertOk(self.server.client("ses").get_send_quota())

    def test_admin_cli_against_stopped_server_data(self):
        """The admin subcommand reads the same data directory the server uses."""
        ses = self.server.client("ses")
        ses.verify_domain_identity(Domain="cli.persist.example")
        out = self.server.cli("identity", "records", "--account", self.account, "cli.persist.example")
        records = json.loads(out)
        token = ses.get_identity_verification_attributes(
            Identities=["cli.persist.example"])["VerificationAttributes"]["cli.persist.example"]["VerificationToken"]
        self.assertIn({"Type": "TXT", "Name": "_amazonses.cli.persist.example", "Value": token},
                      [{k: r[k] for k in ("Type", "Name", "Value")} for r in records])
        r = subprocess.run([harness.SESAME, "identity", "records", "--account", self.account, "nope.example",
                            "--config", self.server.config_path], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    unittest.main()
