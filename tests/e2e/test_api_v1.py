"""SES v1 (Query/XML) API through boto3's `ses` client: CRUD for every v1 resource, status
codes and error codes. Run with /usr/bin/python3 (Debian boto3)."""
import base64
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SNS_TOPIC = "arn:aws:sns:us-east-1:123456789012:t"
SNS_TOPIC2 = "arn:aws:sns:us-east-1:123456789012:t2"
ALL_CS_ATTRIBUTES = ["eventDestinations", "trackingOptions", "deliveryOptions", "reputationOptions"]


class V1Identities(harness.ServerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ses = cls.server.client("ses")

    def identities(self, **kw):
        return self.assertOk(self.ses.list_identities(**kw))["Identities"]

    def all_identities(self, **kw):
        out, token = [], None
        for _ in range(100):
            args = dict(kw)
            if token:
                args["NextToken"] = token
            r = self.ses.list_identities(**args)
            out += r["Identities"]
            token = r.get("NextToken")
            if not token:
                return out
        self.fail("ListIdentities paging did not terminate")

    def test_verify_email_identity(self):
        self.assertOk(self.ses.verify_email_identity(EmailAddress="alice@v1.example"))
        self.assertIn("alice@v1.example", self.identities())
        attrs = self.ses.get_identity_verification_attributes(Identities=["alice@v1.example"])
        entry = attrs["VerificationAttributes"]["alice@v1.example"]
        self.assertEqual(entry["VerificationStatus"], "Pending")
        self.assertNotIn("VerificationToken", entry)
        # Verifying again is accepted.
        self.assertOk(self.ses.verify_email_identity(EmailAddress="alice@v1.example"))
        self.assertEqual(self.identities().count("alice@v1.example"), 1)

    def test_verify_email_address_legacy_and_list_verified(self):
        self.assertOk(self.ses.verify_email_address(EmailAddress="legacy@v1.example"))
        self.assertIn("legacy@v1.example", self.identities(IdentityType="EmailAddress"))
        # Only verified addresses are listed by the legacy call.
        listed = self.assertOk(self.ses.list_verified_email_addresses())["VerifiedEmailAddresses"]
        self.assertNotIn("legacy@v1.example", listed)
        self.server.cli("identity", "verify", "--account", self.account, "legacy@v1.example")
        listed = self.ses.list_verified_email_addresses()["VerifiedEmailAddresses"]
        self.assertIn("legacy@v1.example", listed)
        attrs = self.ses.get_identity_verification_attributes(Identities=["legacy@v1.example"])
        self.assertEqual(attrs["VerificationAttributes"]["legacy@v1.example"]["VerificationStatus"], "Success")
        self.assertOk(self.ses.delete_verified_email_address(EmailAddress="legacy@v1.example"))
        self.assertNotIn("legacy@v1.example", self.ses.list_verified_email_addresses()["VerifiedEmailAddresses"])
        self.assertNotIn("legacy@v1.example", self.identities())

    def test_verify_domain_identity(self):
        r = self.assertOk(self.ses.verify_domain_identity(Domain="dom1.v1.example"))
        token = r["VerificationToken"]
        self.assertEqual(len(token), 44)
        base64.b64decode(token, validate=True)
        attrs = self.ses.get_identity_verification_attributes(Identities=["dom1.v1.example"])
        entry = attrs["VerificationAttributes"]["dom1.v1.example"]
        self.assertIn(entry["VerificationStatus"], ("Pending", "TemporaryFailure"))
        self.assertEqual(entry["VerificationToken"], token)
        # Asking again keeps the same token.
        again = self.ses.verify_domain_identity(Domain="dom1.v1.example")["VerificationToken"]
        self.assertEqual(again, token)
        self.assertIn("dom1.v1.example", self.identities(IdentityType="Domain"))

    def test_unknown_identity_has_no_verification_attributes(self):
        attrs = self.ses.get_identity_verification_attributes(Identities=["nobody.v1.example"])
        self.assertEqual(attrs["VerificationAttributes"], {})

    def test_verify_domain_dkim_and_toggle(self):
        r = self.assertOk(self.ses.verify_domain_dkim(Domain="dkim.v1.example"))
        tokens = r["DkimTokens"]
        self.assertEqual(len(tokens), 3)
        for t in tokens:
            self.assertRegex(t, r"^[a-z2-7]{32}$")
        self.assertIn("dkim.v1.example", self.identities())
        attrs = self.assertOk(self.ses.get_identity_dkim_attributes(Identities=["dkim.v1.example"]))
        entry = attrs["DkimAttributes"]["dkim.v1.example"]
        self.assertTrue(entry["DkimEnabled"])
        self.assertIn(entry["DkimVerificationStatus"], ("Pending", "TemporaryFailure"))
        self.assertEqual(sorted(entry["DkimTokens"]), sorted(tokens))
        self.assertOk(self.ses.set_identity_dkim_enabled(Identity="dkim.v1.example", DkimEnabled=False))
        entry = self.ses.get_identity_dkim_attributes(Identities=["dkim.v1.example"])["DkimAttributes"]["dkim.v1.example"]
        self.assertFalse(entry["DkimEnabled"])
        self.assertOk(self.ses.set_identity_dkim_enabled(Identity="dkim.v1.example", DkimEnabled=True))
        entry = self.ses.get_identity_dkim_attributes(Identities=["dkim.v1.example"])["DkimAttributes"]["dkim.v1.example"]
        self.assertTrue(entry["DkimEnabled"])

    def test_list_identities_filter_and_paging(self):
        emails = [f"page{i}@paging.v1.example" for i in range(4)]
        domains = [f"page{i}.paging.v1.example" for i in range(3)]
        for e in emails:
            self.ses.verify_email_identity(EmailAddress=e)
        for d in domains:
            self.ses.verify_domain_identity(Domain=d)
        everything = self.identities()
        for x in emails + domains:
            self.assertIn(x, everything)
        only_emails = self.identities(IdentityType="EmailAddress")
        only_domains = self.identities(IdentityType="Domain")
        for e in emails:
            self.assertIn(e, only_emails)
            self.assertNotIn(e, only_domains)
        for d in domains:
            self.assertIn(d, only_domains)
            self.assertNotIn(d, only_emails)
        self.assertTrue(all("@" in x for x in only_emails))
        self.assertTrue(all("@" not in x for x in only_domains))
        # Paging: pages of 2 cover everything exactly once.
        first = self.ses.list_identities(MaxItems=2)
        self.assertEqual(len(first["Identities"]), 2)
        self.assertIn("NextToken", first)
        paged = self.all_identities(MaxItems=2)
        self.assertEqual(len(paged), len(set(paged)))
        self.assertEqual(sorted(paged), sorted(self.all_identities()))
        paged_domains = self.all_identities(IdentityType="Domain", MaxItems=1)
        self.assertEqual(sorted(paged_domains), sorted(only_domains))

    def test_mail_from_domain(self):
        self.ses.verify_domain_identity(Domain="mailfrom.v1.example")
        self.assertOk(self.ses.set_identity_mail_from_domain(
            Identity="mailfrom.v1.example", MailFromDomain="bounce.mailfrom.v1.example",
            BehaviorOnMXFailure="RejectMessage"))
        r = self.assertOk(self.ses.get_identity_mail_from_domain_attributes(Identities=["mailfrom.v1.example"]))
        entry = r["MailFromDomainAttributes"]["mailfrom.v1.example"]
        self.assertEqual(entry["MailFromDomain"], "bounce.mailfrom.v1.example")
        self.assertEqual(entry["BehaviorOnMXFailure"], "RejectMessage")
        self.assertIn(entry["MailFromDomainStatus"], ("Pending", "TemporaryFailure", "Failed"))
        # Omitting MailFromDomain disables the custom MAIL FROM domain.
        self.assertOk(self.ses.set_identity_mail_from_domain(Identity="mailfrom.v1.example"))
        r = self.ses.get_identity_mail_from_domain_attributes(Identities=["mailfrom.v1.example"])
        entry = r["MailFromDomainAttributes"].get("mailfrom.v1.example", {})
        self.assertFalse(entry.get("MailFromDomain"))
        # The MAIL FROM domain must be a subdomain of the identity's domain.
        with self.assertClientError("InvalidParameterValue", 400):
            self.ses.set_identity_mail_from_domain(Identity="mailfrom.v1.example", MailFromDomain="bounce.other.example")

    def test_notification_topics(self):
        ident = "notify.v1.example"
        self.ses.verify_domain_identity(Domain=ident)
        attrs = self.ses.get_identity_notification_attributes(Identities=[ident])["NotificationAttributes"][ident]
        self.assertTrue(attrs["ForwardingEnabled"])
        self.assertFalse(attrs.get("BounceTopic"))
        for kind in ("Bounce", "Complaint", "Delivery"):
            self.assertOk(self.ses.set_identity_notification_topic(Identity=ident, NotificationType=kind,
                                                                   SnsTopic=SNS_TOPIC))
        attrs = self.ses.get_identity_notification_attributes(Identities=[ident])["NotificationAttributes"][ident]
        self.assertEqual(attrs["BounceTopic"], SNS_TOPIC)
        self.assertEqual(attrs["ComplaintTopic"], SNS_TOPIC)
        self.assertEqual(attrs["DeliveryTopic"], SNS_TOPIC)
        self.assertFalse(attrs["HeadersInBounceNotificationsEnabled"])
        # Omitting SnsTopic clears that topic.
        self.assertOk(self.ses.set_identity_notification_topic(Identity=ident, NotificationType="Delivery"))
        attrs = self.ses.get_identity_notification_attributes(Identities=[ident])["NotificationAttributes"][ident]
        self.assertFalse(attrs.get("DeliveryTopic"))
        self.assertEqual(attrs["BounceTopic"], SNS_TOPIC)

    def test_feedback_forwarding_needs_topics(self):
        ident = "fwd@v1.example"
        self.ses.verify_email_identity(EmailAddress=ident)
        with self.assertClientError("InvalidParameterValue", 400):
            self.ses.set_identity_feedback_forwarding_enabled(Identity=ident, ForwardingEnabled=False)
        attrs = self.ses.get_identity_notification_attributes(Identities=[ident])["NotificationAttributes"][ident]
        self.assertTrue(attrs["ForwardingEnabled"])
        self.ses.set_identity_notification_topic(Identity=ident, NotificationType="Bounce", SnsTopic=SNS_TOPIC)
        with self.assertClientError("InvalidParameterValue", 400):
            self.ses.set_identity_feedback_forwarding_enabled(Identity=ident, ForwardingEnabled=False)
        self.ses.set_identity_notification_topic(Identity=ident, NotificationType="Complaint", SnsTopic=SNS_TOPIC2)
        self.assertOk(self.ses.set_identity_feedback_forwarding_enabled(Identity=ident, ForwardingEnabled=False))
        attrs = self.ses.get_identity_notification_attributes(Identities=[ident])["NotificationAttributes"][ident]
        self.assertFalse(attrs["ForwardingEnabled"])
        self.assertEqual(attrs["ComplaintTopic"], SNS_TOPIC2)
        self.assertOk(self.ses.set_identity_feedback_forwarding_enabled(Identity=ident, ForwardingEnabled=True))
        attrs = self.ses.get_identity_notification_attributes(Identities=[ident])["NotificationAttributes"][ident]
        self.assertTrue(attrs["ForwardingEnabled"])

    def test_headers_in_notifications(self):
        ident = "headers.v1.example"
        self.ses.verify_domain_identity(Domain=ident)
        self.assertOk(self.ses.set_identity_headers_in_notifications_enabled(
            Identity=ident, NotificationType="Bounce", Enabled=True))
        self.assertOk(self.ses.set_identity_headers_in_notifications_enabled(
            Identity=ident, NotificationType="Delivery", Enabled=True))
        attrs = self.ses.get_identity_notification_attributes(Identities=[ident])["NotificationAttributes"][ident]
        self.assertTrue(attrs["HeadersInBounceNotificationsEnabled"])
        self.assertFalse(attrs["HeadersInComplaintNotificationsEnabled"])
        self.assertTrue(attrs["HeadersInDeliveryNotificationsEnabled"])
        self.ses.set_identity_headers_in_notifications_enabled(Identity=ident, NotificationType="Bounce", Enabled=False)
        attrs = self.ses.get_identity_notification_attributes(Identities=[ident])["NotificationAttributes"][ident]
        self.assertFalse(attrs["HeadersInBounceNotificationsEnabled"])

    def test_delete_identity(self):
        self.ses.verify_domain_identity(Domain="gone.v1.example")
        self.ses.verify_email_identity(EmailAddress="gone@v1.example")
        self.assertOk(self.ses.delete_identity(Identity="gone.v1.example"))
        self.assertOk(self.ses.delete_identity(Identity="gone@v1.example"))
        ids = self.identities()
        self.assertNotIn("gone.v1.example", ids)
        self.assertNotIn("gone@v1.example", ids)
        self.assertEqual(self.ses.get_identity_verification_attributes(
            Identities=["gone.v1.example"])["VerificationAttributes"], {})
        # Deleting an identity that does not exist succeeds (SES is idempotent here).
        self.assertOk(self.ses.delete_identity(Identity="never.v1.example"))

    def test_identity_policies(self):
        ident = "policy.v1.example"
        self.ses.verify_domain_identity(Domain=ident)
        policy = {
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "AuthorizeAccount", "Effect": "Allow",
                "Resource": f"arn:aws:ses:us-east-1:{self.account}:identity/{ident}",
                "Principal": {"AWS": ["123456789012"]},
                "Action": ["ses:SendEmail", "ses:SendRawEmail"],
            }],
        }
        self.assertOk(self.ses.put_identity_policy(Identity=ident, PolicyName="p1", Policy=json.dumps(policy)))
        self.assertOk(self.ses.put_identity_policy(Identity=ident, PolicyName="p2", Policy=json.dumps(policy)))
        names = self.assertOk(self.ses.list_identity_policies(Identity=ident))["PolicyNames"]
        self.assertEqual(sorted(names), ["p1", "p2"])
        got = self.assertOk(self.ses.get_identity_policies(Identity=ident, PolicyNames=["p1"]))["Policies"]
        self.assertEqual(list(got), ["p1"])
        self.assertEqual(json.loads(got["p1"]), policy)
        # Replacing a policy keeps one entry.
        policy["Statement"][0]["Sid"] = "Changed"
        self.ses.put_identity_policy(Identity=ident, PolicyName="p1", Policy=json.dumps(policy))
        got = self.ses.get_identity_policies(Identity=ident, PolicyNames=["p1", "p2"])["Policies"]
        self.assertEqual(json.loads(got["p1"])["Statement"][0]["Sid"], "Changed")
        self.assertEqual(sorted(got), ["p1", "p2"])
        self.assertOk(self.ses.delete_identity_policy(Identity=ident, PolicyName="p1"))
        self.assertEqual(self.ses.list_identity_policies(Identity=ident)["PolicyNames"], ["p2"])
        self.ses.delete_identity_policy(Identity=ident, PolicyName="p2")
        self.assertEqual(self.ses.list_identity_policies(Identity=ident)["PolicyNames"], [])
        with self.assertClientError("InvalidPolicy", 400):
            self.ses.put_identity_policy(Identity=ident, PolicyName="bad", Policy="{not json")
        self.assertEqual(self.ses.list_identity_policies(Identity=ident)["PolicyNames"], [])

    def test_delete_identity_removes_its_policies(self):
        ident = "policy2.v1.example"
        self.ses.verify_domain_identity(Domain=ident)
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Resource": f"arn:aws:ses:us-east-1:{self.account}:identity/{ident}",
            "Principal": {"AWS": ["123456789012"]}, "Action": ["ses:SendEmail"]}]})
        self.ses.put_identity_policy(Identity=ident, PolicyName="p", Policy=policy)
        self.ses.delete_identity(Identity=ident)
        self.ses.verify_domain_identity(Domain=ident)
        self.assertEqual(self.ses.list_identity_policies(Identity=ident)["PolicyNames"], [])


class V1ConfigurationSets(harness.ServerCase):
    @classmethod
    def setUpClass(cls):
        global SNS_TOPIC, SNS_TOPIC2
        super().setUpClass()
        cls.ses = cls.server.client("ses")
        # SNS destinations must name existing topics (this server's SNS-compatible API).
        sns = cls.server.client("sns")
        SNS_TOPIC, SNS_TOPIC2 = (sns.create_topic(Name=n)["TopicArn"] for n in ("t", "t2"))

    def describe(self, name):
        return self.assertOk(self.ses.describe_configuration_set(
            ConfigurationSetName=name, ConfigurationSetAttributeNames=ALL_CS_ATTRIBUTES))

    def list_names(self):
        out, token = [], None
        for _ in range(100):
            r = self.ses.list_configuration_sets(**({"NextToken": token} if token else {}))
            out += [c["Name"] for c in r["ConfigurationSets"]]
            token = r.get("NextToken")
            if not token:
                return out
        self.fail("paging did not terminate")

    def test_create_describe_list_delete(self):
        self.assertOk(self.ses.create_configuration_set(ConfigurationSet={"Name": "cs-basic"}))
        d = self.describe("cs-basic")
        self.assertEqual(d["ConfigurationSet"]["Name"], "cs-basic")
        self.assertEqual(d.get("EventDestinations", []), [])
        rep = d["ReputationOptions"]
        self.assertTrue(rep["SendingEnabled"])
        self.assertFalse(rep["ReputationMetricsEnabled"])
        self.assertIn("cs-basic", self.list_names())
        # Only the attributes asked for are returned.
        plain = self.ses.describe_configuration_set(ConfigurationSetName="cs-basic")
        self.assertEqual(plain["ConfigurationSet"]["Name"], "cs-basic")
        for k in ("EventDestinations", "TrackingOptions", "DeliveryOptions", "ReputationOptions"):
            self.assertFalse(plain.get(k), k)
        with self.assertClientError("ConfigurationSetAlreadyExists", 400):
            self.ses.create_configuration_set(ConfigurationSet={"Name": "cs-basic"})
        self.assertOk(self.ses.delete_configuration_set(ConfigurationSetName="cs-basic"))
        self.assertNotIn("cs-basic", self.list_names())
        with self.assertClientError("ConfigurationSetDoesNotExist", 400):
            self.describe("cs-basic")
        with self.assertClientError("ConfigurationSetDoesNotExist", 400):
            self.ses.delete_configuration_set(ConfigurationSetName="cs-basic")

    def test_list_paging(self):
        for i in range(3):
            self.ses.create_configuration_set(ConfigurationSet={"Name": f"cs-page-{i}"})
        first = self.ses.list_configuration_sets(MaxItems=1)
        self.assertEqual(len(first["ConfigurationSets"]), 1)
        self.assertIn("NextToken", first)
        names, token = [], None
        for _ in range(50):
            r = self.ses.list_configuration_sets(MaxItems=2, **({"NextToken": token} if token else {}))
            names += [c["Name"] for c in r["ConfigurationSets"]]
            token = r.get("NextToken")
            if not token:
                break
        self.assertEqual(len(names), len(set(names)))
        for i in range(3):
            self.assertIn(f"cs-page-{i}", names)

    def test_invalid_name(self):
        before = self.list_names()
        with self.assertClientError("InvalidConfigurationSet", 400):
            self.ses.create_configuration_set(ConfigurationSet={"Name": "bad name"})
        with self.assertClientError("InvalidConfigurationSet", 400):
            self.ses.create_configuration_set(ConfigurationSet={"Name": "x" * 65})
        self.assertEqual(self.list_names(), before)

    def test_event_destinations(self):
        cs = "cs-events"
        self.ses.create_configuration_set(ConfigurationSet={"Name": cs})
        sns = {"Name": "to-sns", "Enabled": True, "MatchingEventTypes": ["send", "bounce"],
               "SNSDestination": {"TopicARN": SNS_TOPIC}}
        cw = {"Name": "to-cw", "Enabled": False, "MatchingEventTypes": ["delivery", "open", "click"],
              "CloudWatchDestination": {"DimensionConfigurations": [
                  {"DimensionName": "campaign", "DimensionValueSource": "messageTag",
                   "DefaultDimensionValue": "none"}]}}
        self.assertOk(self.ses.create_configuration_set_event_destination(ConfigurationSetName=cs,
                                                                          EventDestination=sns))
        self.assertOk(self.ses.create_configuration_set_event_destination(ConfigurationSetName=cs,
                                                                          EventDestination=cw))
        dests = {d["Name"]: d for d in self.describe(cs)["EventDestinations"]}
        self.assertEqual(sorted(dests), ["to-cw", "to-sns"])
        self.assertEqual(dests["to-sns"]["SNSDestination"]["TopicARN"], SNS_TOPIC)
        self.assertEqual(sorted(dests["to-sns"]["MatchingEventTypes"]), ["bounce", "send"])
        self.assertTrue(dests["to-sns"]["Enabled"])
        self.assertFalse(dests["to-cw"]["Enabled"])
        dim = dests["to-cw"]["CloudWatchDestination"]["DimensionConfigurations"][0]
        self.assertEqual(dim, {"DimensionName": "campaign", "DimensionValueSource": "messageTag",
                               "DefaultDimensionValue": "none"})
        with self.assertClientError("EventDestinationAlreadyExists", 400):
            self.ses.create_configuration_set_event_destination(ConfigurationSetName=cs, EventDestination=sns)
        # Update.
        sns2 = dict(sns, MatchingEventTypes=["complaint"], SNSDestination={"TopicARN": SNS_TOPIC2})
        self.assertOk(self.ses.update_configuration_set_event_destination(ConfigurationSetName=cs,
                                                                          EventDestination=sns2))
        dests = {d["Name"]: d for d in self.describe(cs)["EventDestinations"]}
        self.assertEqual(dests["to-sns"]["MatchingEventTypes"], ["complaint"])
        self.assertEqual(dests["to-sns"]["SNSDestination"]["TopicARN"], SNS_TOPIC2)
        with self.assertClientError("EventDestinationDoesNotExist", 400):
            self.ses.update_configuration_set_event_destination(
                ConfigurationSetName=cs, EventDestination=dict(sns, Name="missing"))
        # Delete.
        self.assertOk(self.ses.delete_configuration_set_event_destination(ConfigurationSetName=cs,
                                                                          EventDestinationName="to-cw"))
        self.assertEqual([d["Name"] for d in self.describe(cs)["EventDestinations"]], ["to-sns"])
        with self.assertClientError("EventDestinationDoesNotExist", 400):
            self.ses.delete_configuration_set_event_destination(ConfigurationSetName=cs,
                                                                EventDestinationName="to-cw")
        # On a configuration set that does not exist.
        with self.assertClientError("ConfigurationSetDoesNotExist", 400):
            self.ses.create_configuration_set_event_destination(ConfigurationSetName="cs-nope", EventDestination=sns)
        with self.assertClientError("ConfigurationSetDoesNotExist", 400):
            self.ses.delete_configuration_set_event_destination(ConfigurationSetName="cs-nope",
                                                                EventDestinationName="to-sns")

    def test_tracking_options(self):
        cs = "cs-tracking"
        self.ses.create_configuration_set(ConfigurationSet={"Name": cs})
        for d in ("track.v1cs.example", "track2.v1cs.example"):
            self.ses.verify_domain_identity(Domain=d)
            self.server.cli("identity", "verify", "--account", self.account, d)
        self.assertOk(self.ses.create_configuration_set_tracking_options(
            ConfigurationSetName=cs, TrackingOptions={"CustomRedirectDomain": "track.v1cs.example"}))
        self.assertEqual(self.describe(cs)["TrackingOptions"]["CustomRedirectDomain"], "track.v1cs.example")
        with self.assertClientError("TrackingOptionsAlreadyExistsException", 400):
            self.ses.create_configuration_set_tracking_options(
                ConfigurationSetName=cs, TrackingOptions={"CustomRedirectDomain": "track.v1cs.example"})
        self.assertOk(self.ses.update_configuration_set_tracking_options(
            ConfigurationSetName=cs, TrackingOptions={"CustomRedirectDomain": "track2.v1cs.example"}))
        self.assertEqual(self.describe(cs)["TrackingOptions"]["CustomRedirectDomain"], "track2.v1cs.example")
        self.assertOk(self.ses.delete_configuration_set_tracking_options(ConfigurationSetName=cs))
        self.assertFalse(self.describe(cs).get("TrackingOptions", {}).get("CustomRedirectDomain"))
        with self.assertClientError("TrackingOptionsDoesNotExistException", 400):
            self.ses.delete_configuration_set_tracking_options(ConfigurationSetName=cs)
        with self.assertClientError("ConfigurationSetDoesNotExist", 400):
            self.ses.create_configuration_set_tracking_options(
                ConfigurationSetName="cs-nope", TrackingOptions={"CustomRedirectDomain": "track.v1cs.example"})

    def test_delivery_reputation_sending(self):
        cs = "cs-options"
        self.ses.create_configuration_set(ConfigurationSet={"Name": cs})
        self.assertOk(self.ses.put_configuration_set_delivery_options(
            ConfigurationSetName=cs, DeliveryOptions={"TlsPolicy": "Require"}))
        self.assertEqual(self.describe(cs)["DeliveryOptions"]["TlsPolicy"], "Require")
        self.assertOk(self.ses.update_configuration_set_reputation_metrics_enabled(ConfigurationSetName=cs,
                                                                                  Enabled=True))
        self.assertTrue(self.describe(cs)["ReputationOptions"]["ReputationMetricsEnabled"])
        self.assertOk(self.ses.update_configuration_set_sending_enabled(ConfigurationSetName=cs, Enabled=False))
        self.assertFalse(self.describe(cs)["ReputationOptions"]["SendingEnabled"])
        self.ses.update_configuration_set_sending_enabled(ConfigurationSetName=cs, Enabled=True)
        self.assertTrue(self.describe(cs)["ReputationOptions"]["SendingEnabled"])
        with self.assertClientError("ConfigurationSetDoesNotExist", 400):
            self.ses.update_configuration_set_sending_enabled(ConfigurationSetName="cs-nope", Enabled=True)
        with self.assertClientError("ConfigurationSetDoesNotExist", 400):
            self.ses.put_configuration_set_delivery_options(ConfigurationSetName="cs-nope",
                                                            DeliveryOptions={"TlsPolicy": "Require"})


class V1Templates(harness.ServerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ses = cls.server.client("ses")

    def names(self):
        return [t["Name"] for t in self.ses.list_templates()["TemplatesMetadata"]]

    def test_template_crud(self):
        t = {"TemplateName": "tpl1", "SubjectPart": "Hi {{name}}", "TextPart": "Hello {{name}}",
             "HtmlPart": "<p>Hello {{name}}</p>"}
        self.assertOk(self.ses.create_template(Template=t))
        got = self.assertOk(self.ses.get_template(TemplateName="tpl1"))["Template"]
        self.assertEqual(got, t)
        with self.assertClientError("AlreadyExists", 400):
            self.ses.create_template(Template=t)
        t2 = dict(t, SubjectPart="Bye {{name}}")
        self.assertOk(self.ses.update_template(Template=t2))
        self.assertEqual(self.ses.get_template(TemplateName="tpl1")["Template"]["SubjectPart"], "Bye {{name}}")
        listed = self.assertOk(self.ses.list_templates())["TemplatesMetadata"]
        entry = [x for x in listed if x["Name"] == "tpl1"]
        self.assertEqual(len(entry), 1)
        self.assertIn("CreatedTimestamp", entry[0])
        self.assertOk(self.ses.delete_template(TemplateName="tpl1"))
        self.assertNotIn("tpl1", self.names())
        with self.assertClientError("TemplateDoesNotExist", 400):
            self.ses.get_template(TemplateName="tpl1")
        with self.assertClientError("TemplateDoesNotExist", 400):
            self.ses.update_template(Template=t)

    def test_template_special_characters_round_trip(self):
        t = {"TemplateName": "tpl-chars", "SubjectPart": "Caf\u00e9 <&> \"q\" 'a' \U0001F600 {{x}}",
             "TextPart": "line1\nline2 & more", "HtmlPart": "<p class=\"a\">&amp; &lt;</p>"}
        self.ses.create_template(Template=t)
        self.assertEqual(self.ses.get_template(TemplateName="tpl-chars")["Template"], t)

    def test_invalid_template_syntax(self):
        before = self.names()
        with self.assertClientError("InvalidTemplate", 400):
            self.ses.create_template(Template={"TemplateName": "tpl-bad", "SubjectPart": "s",
                                               "HtmlPart": "{{#each items}}<li>{{this}}</li>"})
        self.assertEqual(self.names(), before)

    def test_template_list_paging(self):
        for i in range(3):
            self.ses.create_template(Template={"TemplateName": f"page-{i}", "SubjectPart": "s", "TextPart": "t"})
        first = self.ses.list_templates(MaxItems=1)
        self.assertEqual(len(first["TemplatesMetadata"]), 1)
        self.assertIn("NextToken", first)
        names, token = [], None
        for _ in range(50):
            r = self.ses.list_templates(MaxItems=2, **({"NextToken": token} if token else {}))
            names += [t["Name"] for t in r["TemplatesMetadata"]]
            token = r.get("NextToken")
            if not token:
                break
        self.assertEqual(len(names), len(set(names)))
        for i in range(3):
            self.assertIn(f"page-{i}", names)

    def test_custom_verification_templates(self):
        sender = "verifier@cvt.v1.example"
        args = {"TemplateName": "cvt1", "FromEmailAddress": sender, "TemplateSubject": "Please verify",
                "TemplateContent": "<html><body>Click the link</body></html>",
                "SuccessRedirectionURL": "https://example.com/ok",
                "FailureRedirectionURL": "https://example.com/fail"}
        with self.assertClientError("FromEmailAddressNotVerified", 400):
            self.ses.create_custom_verification_email_template(**args)
        self.ses.verify_email_identity(EmailAddress=sender)
        with self.assertClientError("FromEmailAddressNotVerified", 400):
            self.ses.create_custom_verification_email_template(**args)
        self.server.cli("identity", "verify", "--account", self.account, sender)
        self.assertOk(self.ses.create_custom_verification_email_template(**args))
        with self.assertClientError("CustomVerificationEmailTemplateAlreadyExists", 400):
            self.ses.create_custom_verification_email_template(**args)
        got = self.assertOk(self.ses.get_custom_verification_email_template(TemplateName="cvt1"))
        for k, v in args.items():
            self.assertEqual(got[k], v, k)
        self.assertOk(self.ses.update_custom_verification_email_template(TemplateName="cvt1",
                                                                         TemplateSubject="Verify now"))
        got = self.ses.get_custom_verification_email_template(TemplateName="cvt1")
        self.assertEqual(got["TemplateSubject"], "Verify now")
        self.assertEqual(got["TemplateContent"], args["TemplateContent"])
        listed = self.assertOk(self.ses.list_custom_verification_email_templates(MaxResults=10))
        names = [t["TemplateName"] for t in listed["CustomVerificationEmailTemplates"]]
        self.assertIn("cvt1", names)
        self.assertOk(self.ses.delete_custom_verification_email_template(TemplateName="cvt1"))
        with self.assertClientError("CustomVerificationEmailTemplateDoesNotExist", 400):
            self.ses.get_custom_verification_email_template(TemplateName="cvt1")
        with self.assertClientError("CustomVerificationEmailTemplateDoesNotExist", 400):
            self.ses.update_custom_verification_email_template(TemplateName="cvt1", TemplateSubject="x")
        names = [t["TemplateName"] for t in
                 self.ses.list_custom_verification_email_templates()["CustomVerificationEmailTemplates"]]
        self.assertNotIn("cvt1", names)


def rule(name, **kw):
    r = {"Name": name, "Enabled": True, "TlsPolicy": "Optional", "Recipients": ["rcv.v1.example"],
         "ScanEnabled": True,
         "Actions": [{"AddHeaderAction": {"HeaderName": "X-Rule", "HeaderValue": name}}]}
    r.update(kw)
    return r


class V1ReceiptRules(harness.ServerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ses = cls.server.client("ses")

    def order(self, rs):
        return [r["Name"] for r in self.assertOk(self.ses.describe_receipt_rule_set(RuleSetName=rs))["Rules"]]

    def test_rule_sets_and_rules(self):
        ses = self.ses
        self.assertOk(ses.create_receipt_rule_set(RuleSetName="rs1"))
        with self.assertClientError("AlreadyExists", 400):
            ses.create_receipt_rule_set(RuleSetName="rs1")
        self.assertOk(ses.create_receipt_rule(RuleSetName="rs1", Rule=rule("r1")))
        self.assertOk(ses.create_receipt_rule(RuleSetName="rs1", After="r1", Rule=rule("r2")))
        # Without After the rule goes first.
        self.assertOk(ses.create_receipt_rule(RuleSetName="rs1", Rule=rule("r0")))
        self.assertOk(ses.create_receipt_rule(RuleSetName="rs1", After="r1", Rule=rule(
            "r1b", Actions=[{"StopAction": {"Scope": "RuleSet"}}])))
        self.assertEqual(self.order("rs1"), ["r0", "r1", "r1b", "r2"])
        d = ses.describe_receipt_rule_set(RuleSetName="rs1")
        self.assertEqual(d["Metadata"]["Name"], "rs1")
        self.assertIn("CreatedTimestamp", d["Metadata"])
        with self.assertClientError("AlreadyExists", 400):
            ses.create_receipt_rule(RuleSetName="rs1", Rule=rule("r1"))
        with self.assertClientError("RuleDoesNotExist", 400):
            ses.create_receipt_rule(RuleSetName="rs1", After="nope", Rule=rule("r9"))
        with self.assertClientError("RuleSetDoesNotExist", 400):
            ses.create_receipt_rule(RuleSetName="rs-nope", Rule=rule("r9"))

        # Describe / update a rule.
        got = self.assertOk(ses.describe_receipt_rule(RuleSetName="rs1", RuleName="r1"))["Rule"]
        self.assertEqual(got, rule("r1"))
        changed = rule("r1", Enabled=False, TlsPolicy="Require", Recipients=["a@rcv.v1.example"])
        self.assertOk(ses.update_receipt_rule(RuleSetName="rs1", Rule=changed))
        self.assertEqual(ses.describe_receipt_rule(RuleSetName="rs1", RuleName="r1")["Rule"], changed)
        self.assertEqual(self.order("rs1"), ["r0", "r1", "r1b", "r2"])
        with self.assertClientError("RuleDoesNotExist", 400):
            ses.update_receipt_rule(RuleSetName="rs1", Rule=rule("nope"))
        with self.assertClientError("RuleDoesNotExist", 400):
            ses.describe_receipt_rule(RuleSetName="rs1", RuleName="nope")
        with self.assertClientError("RuleSetDoesNotExist", 400):
            ses.describe_receipt_rule(RuleSetName="rs-nope", RuleName="r1")
        with self.assertClientError("RuleSetDoesNotExist", 400):
            ses.describe_receipt_rule_set(RuleSetName="rs-nope")

        # Reorder and position.
        self.assertOk(ses.reorder_receipt_rule_set(RuleSetName="rs1", RuleNames=["r2", "r1b", "r1", "r0"]))
        self.assertEqual(self.order("rs1"), ["r2", "r1b", "r1", "r0"])
        self.assertOk(ses.set_receipt_rule_position(RuleSetName="rs1", RuleName="r0", After="r2"))
        self.assertEqual(self.order("rs1"), ["r2", "r0", "r1b", "r1"])
        self.assertOk(ses.set_receipt_rule_position(RuleSetName="rs1", RuleName="r1"))
        self.assertEqual(self.order("rs1"), ["r1", "r2", "r0", "r1b"])
        with self.assertClientError("RuleDoesNotExist", 400):
            ses.set_receipt_rule_position(RuleSetName="rs1", RuleName="nope", After="r2")

        # Active rule set.
        self.assertOk(ses.set_active_receipt_rule_set(RuleSetName="rs1"))
        active = self.assertOk(ses.describe_active_receipt_rule_set())
        self.assertEqual(active["Metadata"]["Name"], "rs1")
        self.assertEqual([r["Name"] for r in active["Rules"]], ["r1", "r2", "r0", "r1b"])
        with self.assertClientError("CannotDelete", 400):
            ses.delete_receipt_rule_set(RuleSetName="rs1")
        with self.assertClientError("RuleSetDoesNotExist", 400):
            ses.set_active_receipt_rule_set(RuleSetName="rs-nope")

        # Clone.
        self.assertOk(ses.clone_receipt_rule_set(RuleSetName="rs2", OriginalRuleSetName="rs1"))
        self.assertEqual(self.order("rs2"), ["r1", "r2", "r0", "r1b"])
        self.assertEqual(ses.describe_receipt_rule(RuleSetName="rs2", RuleName="r1")["Rule"], changed)
        with self.assertClientError("AlreadyExists", 400):
            ses.clone_receipt_rule_set(RuleSetName="rs2", OriginalRuleSetName="rs1")
        with self.assertClientError("RuleSetDoesNotExist", 400):
            ses.clone_receipt_rule_set(RuleSetName="rs3", OriginalRuleSetName="rs-nope")
        sets = [r["Name"] for r in self.assertOk(ses.list_receipt_rule_sets())["RuleSets"]]
        self.assertIn("rs1", sets)
        self.assertIn("rs2", sets)

        # Delete rules and sets.
        self.assertOk(ses.delete_receipt_rule(RuleSetName="rs2", RuleName="r0"))
        self.assertEqual(self.order("rs2"), ["r1", "r2", "r1b"])
        self.assertEqual(self.order("rs1"), ["r1", "r2", "r0", "r1b"])
        self.assertOk(ses.set_active_receipt_rule_set())  # no name: deactivate
        self.assertNotIn("Metadata", ses.describe_active_receipt_rule_set())
        self.assertOk(ses.delete_receipt_rule_set(RuleSetName="rs1"))
        with self.assertClientError("RuleSetDoesNotExist", 400):
            ses.describe_receipt_rule_set(RuleSetName="rs1")
        sets = [r["Name"] for r in ses.list_receipt_rule_sets()["RuleSets"]]
        self.assertNotIn("rs1", sets)
        self.assertIn("rs2", sets)

    def test_receipt_filters(self):
        f = {"Name": "f-block", "IpFilter": {"Policy": "Block", "Cidr": "10.0.0.0/8"}}
        self.assertOk(self.ses.create_receipt_filter(Filter=f))
        self.assertOk(self.ses.create_receipt_filter(
            Filter={"Name": "f-allow", "IpFilter": {"Policy": "Allow", "Cidr": "192.0.2.1"}}))
        filters = {x["Name"]: x for x in self.assertOk(self.ses.list_receipt_filters())["Filters"]}
        self.assertEqual(filters["f-block"], f)
        self.assertEqual(filters["f-allow"]["IpFilter"]["Policy"], "Allow")
        with self.assertClientError("AlreadyExists", 400):
            self.ses.create_receipt_filter(Filter=f)
        self.assertOk(self.ses.delete_receipt_filter(FilterName="f-block"))
        names = [x["Name"] for x in self.ses.list_receipt_filters()["Filters"]]
        self.assertNotIn("f-block", names)
        self.assertIn("f-allow", names)


class V1Account(harness.ServerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ses = cls.server.client("ses")

    def test_send_quota_sandbox(self):
        q = self.assertOk(self.ses.get_send_quota())
        self.assertEqual(q["Max24HourSend"], 200.0)
        self.assertEqual(q["MaxSendRate"], 1.0)
        self.assertEqual(q["SentLast24Hours"], 0.0)

    def test_account_sending_enabled(self):
        self.assertTrue(self.assertOk(self.ses.get_account_sending_enabled())["Enabled"])
        self.assertOk(self.ses.update_account_sending_enabled(Enabled=False))
        self.assertFalse(self.ses.get_account_sending_enabled()["Enabled"])
        self.assertOk(self.ses.update_account_sending_enabled(Enabled=True))
        self.assertTrue(self.ses.get_account_sending_enabled()["Enabled"])

    def test_send_statistics(self):
        r = self.assertOk(self.ses.get_send_statistics())
        self.assertEqual(r["SendDataPoints"], [])

    def test_unimplemented_operation(self):
        with self.assertClientError("NotImplemented", 501, "SendBounce"):
            self.ses.send_bounce(OriginalMessageId="m", BounceSender="b@example.com",
                                 BouncedRecipientInfoList=[{"Recipient": "a@example.com", "BounceType": "DoesNotExist"}])
        self.assertTrue(harness.alive(self.server))

    def test_response_metadata(self):
        r = self.ses.get_send_quota()
        self.assertTrue(r["ResponseMetadata"]["RequestId"])
        self.assertIn("date", r["ResponseMetadata"]["HTTPHeaders"])


if __name__ == "__main__":
    unittest.main()
