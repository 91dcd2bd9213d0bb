"""SES v2 (REST-JSON) API through boto3's `sesv2` client, and v1/v2 as two views of one store.
Run with /usr/bin/python3 (Debian boto3)."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SNS_TOPIC = "arn:aws:sns:us-east-1:123456789012:t"
SNS_TOPIC2 = "arn:aws:sns:us-east-1:123456789012:t2"


byodkim_private_key = harness.byodkim_private_key


class V2Base(harness.ServerCase):
    @classmethod
    def setUpClass(cls):
        global SNS_TOPIC, SNS_TOPIC2
        super().setUpClass()
        cls.v2 = cls.server.client("sesv2")
        cls.ses = cls.server.client("ses")
        # SNS destinations must name existing topics (this server's SNS-compatible API).
        sns = cls.server.client("sns")
        SNS_TOPIC, SNS_TOPIC2 = (sns.create_topic(Name=n)["TopicArn"] for n in ("t", "t2"))

    def arn(self, kind, name):
        return f"arn:aws:ses:us-east-1:{self.account}:{kind}/{name}"

    def all_identities(self, page_size=None):
        out, token = [], None
        for _ in range(100):
            args = {}
            if page_size:
                args["PageSize"] = page_size
            if token:
                args["NextToken"] = token
            r = self.assertOk(self.v2.list_email_identities(**args))
            out += r["EmailIdentities"]
            token = r.get("NextToken")
            if not token:
                return out
        self.fail("paging did not terminate")


class V2Identities(V2Base):
    def test_create_email_identity_email(self):
        r = self.assertOk(self.v2.create_email_identity(EmailIdentity="bob@v2.example"))
        self.assertEqual(r["IdentityType"], "EMAIL_ADDRESS")
        self.assertFalse(r["VerifiedForSendingStatus"])
        g = self.assertOk(self.v2.get_email_identity(EmailIdentity="bob@v2.example"))
        self.assertEqual(g["IdentityType"], "EMAIL_ADDRESS")
        self.assertEqual(g["VerificationStatus"], "PENDING")
        self.assertFalse(g["VerifiedForSendingStatus"])
        self.assertTrue(g["FeedbackForwardingStatus"])
        with self.assertClientError("AlreadyExistsException", 400):
            self.v2.create_email_identity(EmailIdentity="bob@v2.example")

    def test_create_email_identity_domain(self):
        r = self.assertOk(self.v2.create_email_identity(
            EmailIdentity="dom.v2.example", Tags=[{"Key": "team", "Value": "mail"}]))
        self.assertEqual(r["IdentityType"], "DOMAIN")
        self.assertFalse(r["VerifiedForSendingStatus"])
        dkim = r["DkimAttributes"]
        self.assertEqual(dkim["Status"], "PENDING")
        self.assertEqual(len(dkim["Tokens"]), 3)
        self.assertTrue(dkim["SigningEnabled"])
        self.assertEqual(dkim["SigningAttributesOrigin"], "AWS_SES")
        g = self.assertOk(self.v2.get_email_identity(EmailIdentity="dom.v2.example"))
        self.assertEqual(g["DkimAttributes"]["Tokens"], dkim["Tokens"])
        self.assertIn(g["VerificationStatus"], ("PENDING", "TEMPORARY_FAILURE"))
        self.assertEqual(g["Tags"], [{"Key": "team", "Value": "mail"}])
        self.assertEqual(g.get("Policies", {}), {})

    def test_bad_identity_is_bad_request(self):
        before = self.all_identities()
        with self.assertClientError("BadRequestException", 400):
            self.v2.create_email_identity(EmailIdentity="not an identity")
        self.assertEqual(self.all_identities(), before)

    def test_list_paging(self):
        names = [f"p{i}@paging.v2.example" for i in range(5)]
        for n in names:
            self.v2.create_email_identity(EmailIdentity=n)
        first = self.v2.list_email_identities(PageSize=2)
        self.assertEqual(len(first["EmailIdentities"]), 2)
        self.assertIn("NextToken", first)
        paged = self.all_identities(page_size=2)
        paged_names = [i["IdentityName"] for i in paged]
        self.assertEqual(len(paged_names), len(set(paged_names)))
        self.assertEqual(sorted(paged_names), sorted(i["IdentityName"] for i in self.all_identities()))
        for n in names:
            self.assertIn(n, paged_names)
        info = [i for i in paged if i["IdentityName"] == names[0]][0]
        self.assertEqual(info["IdentityType"], "EMAIL_ADDRESS")
        self.assertEqual(info["VerificationStatus"], "PENDING")
        self.assertFalse(info["SendingEnabled"])

    def test_delete_email_identity(self):
        self.v2.create_email_identity(EmailIdentity="del.v2.example")
        self.assertOk(self.v2.delete_email_identity(EmailIdentity="del.v2.example"))
        with self.assertClientError("NotFoundException", 404):
            self.v2.get_email_identity(EmailIdentity="del.v2.example")
        with self.assertClientError("NotFoundException", 404):
            self.v2.delete_email_identity(EmailIdentity="del.v2.example")
        self.assertNotIn("del.v2.example", [i["IdentityName"] for i in self.all_identities()])

    def test_dkim_attributes(self):
        self.v2.create_email_identity(EmailIdentity="dkimtoggle.v2.example")
        self.assertOk(self.v2.put_email_identity_dkim_attributes(EmailIdentity="dkimtoggle.v2.example",
                                                                 SigningEnabled=False))
        g = self.v2.get_email_identity(EmailIdentity="dkimtoggle.v2.example")
        self.assertFalse(g["DkimAttributes"]["SigningEnabled"])
        self.v2.put_email_identity_dkim_attributes(EmailIdentity="dkimtoggle.v2.example", SigningEnabled=True)
        g = self.v2.get_email_identity(EmailIdentity="dkimtoggle.v2.example")
        self.assertTrue(g["DkimAttributes"]["SigningEnabled"])
        with self.assertClientError("NotFoundException", 404):
            self.v2.put_email_identity_dkim_attributes(EmailIdentity="missing.v2.example", SigningEnabled=True)

    def test_dkim_signing_attributes_aws_ses_1024(self):
        ident = "easy1024.v2.example"
        self.v2.create_email_identity(EmailIdentity=ident)
        r = self.assertOk(self.v2.put_email_identity_dkim_signing_attributes(
            EmailIdentity=ident, SigningAttributesOrigin="AWS_SES",
            SigningAttributes={"NextSigningKeyLength": "RSA_1024_BIT"}))
        self.assertEqual(len(r["DkimTokens"]), 3)
        self.assertIn(r["DkimStatus"], ("PENDING", "TEMPORARY_FAILURE", "NOT_STARTED"))
        g = self.v2.get_email_identity(EmailIdentity=ident)["DkimAttributes"]
        self.assertEqual(g["SigningAttributesOrigin"], "AWS_SES")
        self.assertEqual(g["NextSigningKeyLength"], "RSA_1024_BIT")
        self.assertEqual(sorted(g["Tokens"]), sorted(r["DkimTokens"]))

    def test_dkim_signing_attributes_byodkim(self):
        ident = "byo.v2.example"
        self.v2.create_email_identity(EmailIdentity=ident)
        key = byodkim_private_key()
        r = self.assertOk(self.v2.put_email_identity_dkim_signing_attributes(
            EmailIdentity=ident, SigningAttributesOrigin="EXTERNAL",
            SigningAttributes={"DomainSigningSelector": "sel1", "DomainSigningPrivateKey": key}))
        self.assertEqual(r["DkimTokens"], ["sel1"])
        g = self.v2.get_email_identity(EmailIdentity=ident)["DkimAttributes"]
        self.assertEqual(g["SigningAttributesOrigin"], "EXTERNAL")
        self.assertEqual(g["Tokens"], ["sel1"])
        # A key that is not a key is a bad request; nothing changes.
        with self.assertClientError("BadRequestException", 400):
            self.v2.put_email_identity_dkim_signing_attributes(
                EmailIdentity=ident, SigningAttributesOrigin="EXTERNAL",
                SigningAttributes={"DomainSigningSelector": "sel2", "DomainSigningPrivateKey": "bm90IGEga2V5"})
        self.assertEqual(self.v2.get_email_identity(EmailIdentity=ident)["DkimAttributes"]["Tokens"], ["sel1"])

    def test_byodkim_at_creation(self):
        key = byodkim_private_key()
        r = self.assertOk(self.v2.create_email_identity(
            EmailIdentity="byo2.v2.example",
            DkimSigningAttributes={"DomainSigningSelector": "s2", "DomainSigningPrivateKey": key}))
        self.assertEqual(r["DkimAttributes"]["SigningAttributesOrigin"], "EXTERNAL")
        self.assertEqual(r["DkimAttributes"]["Tokens"], ["s2"])
        g = self.v2.get_email_identity(EmailIdentity="byo2.v2.example")["DkimAttributes"]
        self.assertEqual(g["Tokens"], ["s2"])

    def test_dkim_signing_attributes_on_current_model_path(self):
        """Newer SDK models route PutEmailIdentityDkimSigningAttributes to /v2/email/...; botocore
        1.29 (above) uses the historical /v1/email/... path. Both must work."""
        ident = "byo3.v2.example"
        self.v2.create_email_identity(EmailIdentity=ident)
        body = json.dumps({"SigningAttributesOrigin": "EXTERNAL", "SigningAttributes": {
            "DomainSigningSelector": "sel3", "DomainSigningPrivateKey": byodkim_private_key()}})
        status, _, data = harness.signed_request(self.server, "PUT", f"/v2/email/identities/{ident}/dkim/signing",
                                                 body, {"Content-Type": "application/json"})
        self.assertEqual(status, 200, data)
        self.assertEqual(json.loads(data)["DkimTokens"], ["sel3"])
        g = self.v2.get_email_identity(EmailIdentity=ident)["DkimAttributes"]
        self.assertEqual(g["SigningAttributesOrigin"], "EXTERNAL")
        self.assertEqual(g["Tokens"], ["sel3"])
        body = json.dumps({"SigningAttributesOrigin": "AWS_SES",
                           "SigningAttributes": {"NextSigningKeyLength": "RSA_1024_BIT"}})
        status, _, data = harness.signed_request(self.server, "PUT", f"/v2/email/identities/{ident}/dkim/signing",
                                                 body, {"Content-Type": "application/json"})
        self.assertEqual(status, 200, data)
        self.assertEqual(len(json.loads(data)["DkimTokens"]), 3)
        g = self.v2.get_email_identity(EmailIdentity=ident)["DkimAttributes"]
        self.assertEqual(g["SigningAttributesOrigin"], "AWS_SES")
        self.assertEqual(g["NextSigningKeyLength"], "RSA_1024_BIT")

    def test_mail_from_attributes(self):
        ident = "mf.v2.example"
        self.v2.create_email_identity(EmailIdentity=ident)
        self.assertOk(self.v2.put_email_identity_mail_from_attributes(
            EmailIdentity=ident, MailFromDomain="bounce.mf.v2.example", BehaviorOnMxFailure="REJECT_MESSAGE"))
        m = self.v2.get_email_identity(EmailIdentity=ident)["MailFromAttributes"]
        self.assertEqual(m["MailFromDomain"], "bounce.mf.v2.example")
        self.assertEqual(m["BehaviorOnMxFailure"], "REJECT_MESSAGE")
        self.assertIn(m["MailFromDomainStatus"], ("PENDING", "TEMPORARY_FAILURE", "FAILED"))
        # Visible through v1 too.
        v1 = self.ses.get_identity_mail_from_domain_attributes(Identities=[ident])["MailFromDomainAttributes"][ident]
        self.assertEqual(v1["MailFromDomain"], "bounce.mf.v2.example")
        self.assertEqual(v1["BehaviorOnMXFailure"], "RejectMessage")
        self.assertOk(self.v2.put_email_identity_mail_from_attributes(EmailIdentity=ident))
        m = self.v2.get_email_identity(EmailIdentity=ident).get("MailFromAttributes", {})
        self.assertFalse(m.get("MailFromDomain"))

    def test_feedback_attributes(self):
        ident = "fb@v2.example"
        self.v2.create_email_identity(EmailIdentity=ident)
        self.ses.set_identity_notification_topic(Identity=ident, NotificationType="Bounce", SnsTopic=SNS_TOPIC)
        self.ses.set_identity_notification_topic(Identity=ident, NotificationType="Complaint", SnsTopic=SNS_TOPIC)
        self.assertOk(self.v2.put_email_identity_feedback_attributes(EmailIdentity=ident,
                                                                     EmailForwardingEnabled=False))
        self.assertFalse(self.v2.get_email_identity(EmailIdentity=ident)["FeedbackForwardingStatus"])
        v1 = self.ses.get_identity_notification_attributes(Identities=[ident])["NotificationAttributes"][ident]
        self.assertFalse(v1["ForwardingEnabled"])
        self.v2.put_email_identity_feedback_attributes(EmailIdentity=ident, EmailForwardingEnabled=True)
        self.assertTrue(self.v2.get_email_identity(EmailIdentity=ident)["FeedbackForwardingStatus"])

    def test_configuration_set_attribute(self):
        ident = "csattr.v2.example"
        self.v2.create_email_identity(EmailIdentity=ident)
        self.v2.create_configuration_set(ConfigurationSetName="cs-for-identity")
        self.assertOk(self.v2.put_email_identity_configuration_set_attributes(
            EmailIdentity=ident, ConfigurationSetName="cs-for-identity"))
        self.assertEqual(self.v2.get_email_identity(EmailIdentity=ident)["ConfigurationSetName"], "cs-for-identity")
        self.assertOk(self.v2.put_email_identity_configuration_set_attributes(EmailIdentity=ident))
        self.assertNotIn("ConfigurationSetName", self.v2.get_email_identity(EmailIdentity=ident))
        with self.assertClientError("NotFoundException", 404):
            self.v2.put_email_identity_configuration_set_attributes(EmailIdentity=ident,
                                                                    ConfigurationSetName="cs-missing")

    def test_identity_policies(self):
        ident = "pol.v2.example"
        self.v2.create_email_identity(EmailIdentity=ident)
        policy = {"Version": "2012-10-17", "Statement": [{
            "Sid": "s1", "Effect": "Allow", "Resource": self.arn("identity", ident),
            "Principal": {"AWS": ["123456789012"]}, "Action": ["ses:SendEmail"]}]}
        self.assertOk(self.v2.create_email_identity_policy(EmailIdentity=ident, PolicyName="pa",
                                                           Policy=json.dumps(policy)))
        with self.assertClientError("AlreadyExistsException", 400):
            self.v2.create_email_identity_policy(EmailIdentity=ident, PolicyName="pa", Policy=json.dumps(policy))
        got = self.assertOk(self.v2.get_email_identity_policies(EmailIdentity=ident))["Policies"]
        self.assertEqual(json.loads(got["pa"]), policy)
        self.assertEqual(json.loads(self.v2.get_email_identity(EmailIdentity=ident)["Policies"]["pa"]), policy)
        # Same data through v1.
        self.assertEqual(self.ses.list_identity_policies(Identity=ident)["PolicyNames"], ["pa"])
        policy["Statement"][0]["Sid"] = "s2"
        self.assertOk(self.v2.update_email_identity_policy(EmailIdentity=ident, PolicyName="pa",
                                                           Policy=json.dumps(policy)))
        got = self.v2.get_email_identity_policies(EmailIdentity=ident)["Policies"]
        self.assertEqual(json.loads(got["pa"])["Statement"][0]["Sid"], "s2")
        with self.assertClientError("NotFoundException", 404):
            self.v2.update_email_identity_policy(EmailIdentity=ident, PolicyName="nope", Policy=json.dumps(policy))
        with self.assertClientError("BadRequestException", 400):
            self.v2.create_email_identity_policy(EmailIdentity=ident, PolicyName="bad", Policy="{nope")
        self.assertOk(self.v2.delete_email_identity_policy(EmailIdentity=ident, PolicyName="pa"))
        self.assertEqual(self.v2.get_email_identity_policies(EmailIdentity=ident)["Policies"], {})
        with self.assertClientError("NotFoundException", 404):
            self.v2.delete_email_identity_policy(EmailIdentity=ident, PolicyName="pa")

    def test_identity_path_with_plus(self):
        ident = "user+tag@v2.example"
        self.assertOk(self.v2.create_email_identity(EmailIdentity=ident))
        self.assertEqual(self.v2.get_email_identity(EmailIdentity=ident)["IdentityType"], "EMAIL_ADDRESS")
        self.assertIn(ident, self.ses.list_identities()["Identities"])
        self.assertOk(self.v2.delete_email_identity(EmailIdentity=ident))
        with self.assertClientError("NotFoundException", 404):
            self.v2.get_email_identity(EmailIdentity=ident)


class V2ConfigurationSets(V2Base):
    def test_configuration_set_crud(self):
        self.ses.verify_domain_identity(Domain="trk.v2cs.example")
        self.server.cli("identity", "verify", "--account", self.account, "trk.v2cs.example")
        self.assertOk(self.v2.create_configuration_set(
            ConfigurationSetName="cs2",
            TrackingOptions={"CustomRedirectDomain": "trk.v2cs.example"},
            DeliveryOptions={"TlsPolicy": "REQUIRE"},
            ReputationOptions={"ReputationMetricsEnabled": True},
            SendingOptions={"SendingEnabled": False},
            SuppressionOptions={"SuppressedReasons": ["BOUNCE"]},
            Tags=[{"Key": "k", "Value": "v"}]))
        g = self.assertOk(self.v2.get_configuration_set(ConfigurationSetName="cs2"))
        self.assertEqual(g["ConfigurationSetName"], "cs2")
        self.assertEqual(g["TrackingOptions"]["CustomRedirectDomain"], "trk.v2cs.example")
        self.assertEqual(g["DeliveryOptions"]["TlsPolicy"], "REQUIRE")
        self.assertTrue(g["ReputationOptions"]["ReputationMetricsEnabled"])
        self.assertFalse(g["SendingOptions"]["SendingEnabled"])
        self.assertEqual(g["SuppressionOptions"]["SuppressedReasons"], ["BOUNCE"])
        self.assertEqual(g["Tags"], [{"Key": "k", "Value": "v"}])
        self.assertIn("cs2", self.assertOk(self.v2.list_configuration_sets())["ConfigurationSets"])
        with self.assertClientError("AlreadyExistsException", 400):
            self.v2.create_configuration_set(ConfigurationSetName="cs2")
        # Put*Options.
        self.assertOk(self.v2.put_configuration_set_delivery_options(ConfigurationSetName="cs2",
                                                                     TlsPolicy="OPTIONAL"))
        self.assertOk(self.v2.put_configuration_set_reputation_options(ConfigurationSetName="cs2",
                                                                       ReputationMetricsEnabled=False))
        self.assertOk(self.v2.put_configuration_set_sending_options(ConfigurationSetName="cs2",
                                                                    SendingEnabled=True))
        self.assertOk(self.v2.put_configuration_set_suppression_options(
            ConfigurationSetName="cs2", SuppressedReasons=["BOUNCE", "COMPLAINT"]))
        self.assertOk(self.v2.put_configuration_set_tracking_options(ConfigurationSetName="cs2"))
        g = self.v2.get_configuration_set(ConfigurationSetName="cs2")
        self.assertEqual(g["DeliveryOptions"]["TlsPolicy"], "OPTIONAL")
        self.assertFalse(g["ReputationOptions"]["ReputationMetricsEnabled"])
        self.assertTrue(g["SendingOptions"]["SendingEnabled"])
        self.assertEqual(sorted(g["SuppressionOptions"]["SuppressedReasons"]), ["BOUNCE", "COMPLAINT"])
        self.assertFalse(g.get("TrackingOptions", {}).get("CustomRedirectDomain"))
        with self.assertClientError("NotFoundException", 404):
            self.v2.put_configuration_set_sending_options(ConfigurationSetName="cs-missing", SendingEnabled=True)
        # Delete.
        self.assertOk(self.v2.delete_configuration_set(ConfigurationSetName="cs2"))
        with self.assertClientError("NotFoundException", 404):
            self.v2.get_configuration_set(ConfigurationSetName="cs2")
        with self.assertClientError("NotFoundException", 404):
            self.v2.delete_configuration_set(ConfigurationSetName="cs2")
        self.assertNotIn("cs2", self.v2.list_configuration_sets()["ConfigurationSets"])

    def test_bad_enum_value(self):
        before = self.v2.list_configuration_sets()["ConfigurationSets"]
        with self.assertClientError("BadRequestException", 400):
            self.v2.create_configuration_set(ConfigurationSetName="cs-badenum",
                                             DeliveryOptions={"TlsPolicy": "SOMETIMES"})
        self.assertEqual(self.v2.list_configuration_sets()["ConfigurationSets"], before)

    def test_list_paging(self):
        for i in range(3):
            self.v2.create_configuration_set(ConfigurationSetName=f"cs2-page-{i}")
        first = self.v2.list_configuration_sets(PageSize=1)
        self.assertEqual(len(first["ConfigurationSets"]), 1)
        self.assertIn("NextToken", first)
        names, token = [], None
        for _ in range(50):
            r = self.v2.list_configuration_sets(PageSize=2, **({"NextToken": token} if token else {}))
            names += r["ConfigurationSets"]
            token = r.get("NextToken")
            if not token:
                break
        self.assertEqual(len(names), len(set(names)))
        for i in range(3):
            self.assertIn(f"cs2-page-{i}", names)

    def test_event_destinations(self):
        cs = "cs2-events"
        self.v2.create_configuration_set(ConfigurationSetName=cs)
        self.assertOk(self.v2.create_configuration_set_event_destination(
            ConfigurationSetName=cs, EventDestinationName="sns",
            EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "BOUNCE"],
                              "SnsDestination": {"TopicArn": SNS_TOPIC}}))
        self.assertOk(self.v2.create_configuration_set_event_destination(
            ConfigurationSetName=cs, EventDestinationName="cw",
            EventDestination={"Enabled": False, "MatchingEventTypes": ["DELIVERY"],
                              "CloudWatchDestination": {"DimensionConfigurations": [
                                  {"DimensionName": "d", "DimensionValueSource": "MESSAGE_TAG",
                                   "DefaultDimensionValue": "x"}]}}))
        with self.assertClientError("AlreadyExistsException", 400):
            self.v2.create_configuration_set_event_destination(
                ConfigurationSetName=cs, EventDestinationName="sns",
                EventDestination={"MatchingEventTypes": ["SEND"], "SnsDestination": {"TopicArn": SNS_TOPIC}})
        dests = {d["Name"]: d for d in self.assertOk(
            self.v2.get_configuration_set_event_destinations(ConfigurationSetName=cs))["EventDestinations"]}
        self.assertEqual(sorted(dests), ["cw", "sns"])
        self.assertEqual(sorted(dests["sns"]["MatchingEventTypes"]), ["BOUNCE", "SEND"])
        self.assertEqual(dests["sns"]["SnsDestination"]["TopicArn"], SNS_TOPIC)
        self.assertTrue(dests["sns"]["Enabled"])
        self.assertFalse(dests["cw"]["Enabled"])
        self.assertEqual(dests["cw"]["CloudWatchDestination"]["DimensionConfigurations"][0]["DimensionValueSource"],
                         "MESSAGE_TAG")
        # v1 sees the same destinations with v1 spellings.
        v1 = self.ses.describe_configuration_set(ConfigurationSetName=cs,
                                                 ConfigurationSetAttributeNames=["eventDestinations"])
        v1d = {d["Name"]: d for d in v1["EventDestinations"]}
        self.assertEqual(sorted(v1d["sns"]["MatchingEventTypes"]), ["bounce", "send"])
        self.assertEqual(v1d["sns"]["SNSDestination"]["TopicARN"], SNS_TOPIC)
        # Update.
        self.assertOk(self.v2.update_configuration_set_event_destination(
            ConfigurationSetName=cs, EventDestinationName="sns",
            EventDestination={"Enabled": False, "MatchingEventTypes": ["COMPLAINT"],
                              "SnsDestination": {"TopicArn": SNS_TOPIC2}}))
        dests = {d["Name"]: d for d in
                 self.v2.get_configuration_set_event_destinations(ConfigurationSetName=cs)["EventDestinations"]}
        self.assertEqual(dests["sns"]["MatchingEventTypes"], ["COMPLAINT"])
        self.assertEqual(dests["sns"]["SnsDestination"]["TopicArn"], SNS_TOPIC2)
        self.assertFalse(dests["sns"]["Enabled"])
        with self.assertClientError("NotFoundException", 404):
            self.v2.update_configuration_set_event_destination(
                ConfigurationSetName=cs, EventDestinationName="nope",
                EventDestination={"MatchingEventTypes": ["SEND"], "SnsDestination": {"TopicArn": SNS_TOPIC}})
        # Delete.
        self.assertOk(self.v2.delete_configuration_set_event_destination(ConfigurationSetName=cs,
                                                                         EventDestinationName="cw"))
        dests = self.v2.get_configuration_set_event_destinations(ConfigurationSetName=cs)["EventDestinations"]
        self.assertEqual([d["Name"] for d in dests], ["sns"])
        with self.assertClientError("NotFoundException", 404):
            self.v2.delete_configuration_set_event_destination(ConfigurationSetName=cs, EventDestinationName="cw")
        with self.assertClientError("NotFoundException", 404):
            self.v2.get_configuration_set_event_destinations(ConfigurationSetName="cs-missing")


class V2Concurrency(V2Base):
    def test_concurrent_creates(self):
        import concurrent.futures
        from botocore.exceptions import ClientError

        def create_same(_):
            c = self.server.client("sesv2")
            try:
                c.create_configuration_set(ConfigurationSetName="race-cs")
                return "ok"
            except ClientError as e:
                return e.response["Error"]["Code"]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(create_same, range(8)))
        self.assertEqual(results.count("ok"), 1, results)
        self.assertEqual(results.count("AlreadyExistsException"), 7, results)

        def create_distinct(i):
            self.server.client("sesv2").create_email_identity(EmailIdentity=f"race{i}@v2race.example")
            return i

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(create_distinct, range(16)))
        names = {i["IdentityName"] for i in self.all_identities()}
        for i in range(16):
            self.assertIn(f"race{i}@v2race.example", names)


class V2Templates(V2Base):
    def test_email_template_crud(self):
        content = {"Subject": "Hi {{n}}", "Text": "T {{n}}", "Html": "<b>{{n}}</b>"}
        self.assertOk(self.v2.create_email_template(TemplateName="et1", TemplateContent=content))
        with self.assertClientError("AlreadyExistsException", 400):
            self.v2.create_email_template(TemplateName="et1", TemplateContent=content)
        g = self.assertOk(self.v2.get_email_template(TemplateName="et1"))
        self.assertEqual(g["TemplateName"], "et1")
        self.assertEqual(g["TemplateContent"], content)
        self.assertOk(self.v2.update_email_template(TemplateName="et1",
                                                    TemplateContent=dict(content, Subject="Bye")))
        self.assertEqual(self.v2.get_email_template(TemplateName="et1")["TemplateContent"]["Subject"], "Bye")
        listed = self.assertOk(self.v2.list_email_templates())["TemplatesMetadata"]
        entry = [t for t in listed if t["TemplateName"] == "et1"]
        self.assertEqual(len(entry), 1)
        self.assertIn("CreatedTimestamp", entry[0])
        # v1 reads the same template.
        v1 = self.ses.get_template(TemplateName="et1")["Template"]
        self.assertEqual(v1["SubjectPart"], "Bye")
        self.assertEqual(v1["TextPart"], "T {{n}}")
        self.assertOk(self.v2.delete_email_template(TemplateName="et1"))
        with self.assertClientError("NotFoundException", 404):
            self.v2.get_email_template(TemplateName="et1")
        with self.assertClientError("NotFoundException", 404):
            self.v2.update_email_template(TemplateName="et1", TemplateContent=content)
        with self.assertClientError("NotFoundException", 404):
            self.v2.delete_email_template(TemplateName="et1")

    def test_email_template_paging(self):
        for i in range(3):
            self.v2.create_email_template(TemplateName=f"etp-{i}", TemplateContent={"Subject": "s", "Text": "t"})
        first = self.v2.list_email_templates(PageSize=1)
        self.assertEqual(len(first["TemplatesMetadata"]), 1)
        self.assertIn("NextToken", first)

    def test_custom_verification_templates(self):
        sender = "cv@v2tpl.example"
        self.v2.create_email_identity(EmailIdentity=sender)
        self.server.cli("identity", "verify", "--account", self.account, sender)
        args = {"TemplateName": "cv2", "FromEmailAddress": sender, "TemplateSubject": "Verify",
                "TemplateContent": "<p>verify</p>", "SuccessRedirectionURL": "https://example.com/s",
                "FailureRedirectionURL": "https://example.com/f"}
        self.assertOk(self.v2.create_custom_verification_email_template(**args))
        with self.assertClientError("AlreadyExistsException", 400):
            self.v2.create_custom_verification_email_template(**args)
        g = self.assertOk(self.v2.get_custom_verification_email_template(TemplateName="cv2"))
        for k, v in args.items():
            self.assertEqual(g[k], v, k)
        upd = dict(args, TemplateSubject="Verify please")
        self.assertOk(self.v2.update_custom_verification_email_template(**upd))
        self.assertEqual(self.v2.get_custom_verification_email_template(TemplateName="cv2")["TemplateSubject"],
                         "Verify please")
        names = [t["TemplateName"] for t in self.assertOk(
            self.v2.list_custom_verification_email_templates())["CustomVerificationEmailTemplates"]]
        self.assertIn("cv2", names)
        v1names = [t["TemplateName"] for t in
                   self.ses.list_custom_verification_email_templates()["CustomVerificationEmailTemplates"]]
        self.assertIn("cv2", v1names)
        self.assertOk(self.v2.delete_custom_verification_email_template(TemplateName="cv2"))
        with self.assertClientError("NotFoundException", 404):
            self.v2.get_custom_verification_email_template(TemplateName="cv2")


class V2Account(V2Base):
    def test_get_account(self):
        a = self.assertOk(self.v2.get_account())
        self.assertFalse(a["ProductionAccessEnabled"])
        self.assertTrue(a["SendingEnabled"])
        self.assertEqual(a["EnforcementStatus"], "HEALTHY")
        self.assertEqual(a["SendQuota"]["Max24HourSend"], 200.0)
        self.assertEqual(a["SendQuota"]["MaxSendRate"], 1.0)
        self.assertEqual(a["SendQuota"]["SentLast24Hours"], 0.0)

    def test_put_account_details(self):
        self.assertOk(self.v2.put_account_details(
            MailType="TRANSACTIONAL", WebsiteURL="https://example.com", ContactLanguage="EN",
            UseCaseDescription="Receipts for our shop", AdditionalContactEmailAddresses=["ops@example.com"],
            ProductionAccessEnabled=True))
        a = self.v2.get_account()
        d = a["Details"]
        self.assertEqual(d["MailType"], "TRANSACTIONAL")
        self.assertEqual(d["WebsiteURL"], "https://example.com")
        self.assertEqual(d["ContactLanguage"], "EN")
        self.assertEqual(d["UseCaseDescription"], "Receipts for our shop")
        self.assertEqual(d["AdditionalContactEmailAddresses"], ["ops@example.com"])
        self.assertEqual(d["ReviewDetails"]["Status"], "PENDING")
        self.assertFalse(a["ProductionAccessEnabled"])  # only the operator grants it

    def test_sending_and_suppression_attributes(self):
        self.assertOk(self.v2.put_account_sending_attributes(SendingEnabled=False))
        try:
            self.assertFalse(self.v2.get_account()["SendingEnabled"])
            self.assertFalse(self.ses.get_account_sending_enabled()["Enabled"])
        finally:
            self.v2.put_account_sending_attributes(SendingEnabled=True)
        self.assertTrue(self.v2.get_account()["SendingEnabled"])
        self.assertOk(self.v2.put_account_suppression_attributes(SuppressedReasons=["COMPLAINT"]))
        self.assertEqual(self.v2.get_account()["SuppressionAttributes"]["SuppressedReasons"], ["COMPLAINT"])
        self.v2.put_account_suppression_attributes(SuppressedReasons=[])
        self.assertEqual(self.v2.get_account()["SuppressionAttributes"].get("SuppressedReasons", []), [])
        with self.assertClientError("BadRequestException", 400):
            self.v2.put_account_suppression_attributes(SuppressedReasons=["SPAM"])

    def test_v1_quota_matches_v2(self):
        q = self.ses.get_send_quota()
        a = self.v2.get_account()["SendQuota"]
        self.assertEqual(q["Max24HourSend"], a["Max24HourSend"])
        self.assertEqual(q["MaxSendRate"], a["MaxSendRate"])

    def test_unimplemented_operation(self):
        with self.assertClientError("NotImplemented", 501) as cm:
            self.v2.list_contact_lists()
        self.assertIn("ListContactLists", cm.exception.response["Error"]["Message"])
        self.assertTrue(harness.alive(self.server))


class V2Tags(V2Base):
    def check_tags(self, arn):
        self.assertOk(self.v2.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"},
                                                                   {"Key": "b", "Value": "2"}]))
        tags = self.assertOk(self.v2.list_tags_for_resource(ResourceArn=arn))["Tags"]
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in tags), [("a", "1"), ("b", "2")])
        # Re-tagging an existing key replaces its value.
        self.v2.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "3"}])
        tags = self.v2.list_tags_for_resource(ResourceArn=arn)["Tags"]
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in tags), [("a", "3"), ("b", "2")])
        self.assertOk(self.v2.untag_resource(ResourceArn=arn, TagKeys=["a"]))
        self.assertEqual(self.v2.list_tags_for_resource(ResourceArn=arn)["Tags"], [{"Key": "b", "Value": "2"}])

    def test_tags_identity(self):
        self.v2.create_email_identity(EmailIdentity="tag.v2.example")
        arn = self.arn("identity", "tag.v2.example")
        self.check_tags(arn)
        self.assertEqual(self.v2.get_email_identity(EmailIdentity="tag.v2.example")["Tags"],
                         [{"Key": "b", "Value": "2"}])

    def test_tags_configuration_set(self):
        self.v2.create_configuration_set(ConfigurationSetName="tagged-cs")
        self.check_tags(self.arn("configuration-set", "tagged-cs"))
        self.assertEqual(self.v2.get_configuration_set(ConfigurationSetName="tagged-cs")["Tags"],
                         [{"Key": "b", "Value": "2"}])

    def test_tags_template(self):
        self.v2.create_email_template(TemplateName="tagged-tpl", TemplateContent={"Subject": "s", "Text": "t"})
        self.check_tags(self.arn("template", "tagged-tpl"))

    def test_tags_missing_resource(self):
        with self.assertClientError("NotFoundException", 404):
            self.v2.list_tags_for_resource(ResourceArn=self.arn("configuration-set", "no-such-cs"))
        with self.assertClientError("NotFoundException", 404):
            self.v2.tag_resource(ResourceArn=self.arn("identity", "no-such.v2.example"),
                                 Tags=[{"Key": "a", "Value": "1"}])


class V1V2SameData(V2Base):
    def test_v1_dkim_tokens_are_v2_tokens(self):
        tokens = self.ses.verify_domain_dkim(Domain="cross1.example")["DkimTokens"]
        g = self.v2.get_email_identity(EmailIdentity="cross1.example")
        self.assertEqual(sorted(g["DkimAttributes"]["Tokens"]), sorted(tokens))
        self.assertEqual(g["IdentityType"], "DOMAIN")

    def test_v2_identity_in_v1(self):
        r = self.v2.create_email_identity(EmailIdentity="cross2.example")
        self.assertIn("cross2.example", self.ses.list_identities(IdentityType="Domain")["Identities"])
        v1 = self.ses.get_identity_dkim_attributes(Identities=["cross2.example"])["DkimAttributes"]["cross2.example"]
        self.assertEqual(sorted(v1["DkimTokens"]), sorted(r["DkimAttributes"]["Tokens"]))
        self.assertTrue(v1["DkimEnabled"])
        self.v2.create_email_identity(EmailIdentity="x@cross2.example")
        attrs = self.ses.get_identity_verification_attributes(Identities=["x@cross2.example"])
        self.assertEqual(attrs["VerificationAttributes"]["x@cross2.example"]["VerificationStatus"], "Pending")
        # Deleting through v1 removes it from v2.
        self.ses.delete_identity(Identity="x@cross2.example")
        with self.assertClientError("NotFoundException", 404):
            self.v2.get_email_identity(EmailIdentity="x@cross2.example")

    def test_v1_email_identity_in_v2(self):
        self.ses.verify_email_identity(EmailAddress="v1made@cross.example")
        names = [i["IdentityName"] for i in self.all_identities()]
        self.assertIn("v1made@cross.example", names)
        self.assertEqual(self.v2.get_email_identity(EmailIdentity="v1made@cross.example")["VerificationStatus"],
                         "PENDING")

    def test_configuration_sets_shared(self):
        self.v2.create_configuration_set(ConfigurationSetName="cross-cs-v2")
        self.assertIn("cross-cs-v2", [c["Name"] for c in self.ses.list_configuration_sets()["ConfigurationSets"]])
        self.ses.create_configuration_set(ConfigurationSet={"Name": "cross-cs-v1"})
        self.assertIn("cross-cs-v1", self.v2.list_configuration_sets()["ConfigurationSets"])
        self.ses.put_configuration_set_delivery_options(ConfigurationSetName="cross-cs-v1",
                                                        DeliveryOptions={"TlsPolicy": "Require"})
        self.assertEqual(self.v2.get_configuration_set(ConfigurationSetName="cross-cs-v1")["DeliveryOptions"]
                         ["TlsPolicy"], "REQUIRE")
        self.v2.delete_configuration_set(ConfigurationSetName="cross-cs-v1")
        with self.assertClientError("ConfigurationSetDoesNotExist", 400):
            self.ses.describe_configuration_set(ConfigurationSetName="cross-cs-v1")

    def test_templates_shared(self):
        self.ses.create_template(Template={"TemplateName": "cross-tpl", "SubjectPart": "S", "HtmlPart": "<i>h</i>"})
        g = self.v2.get_email_template(TemplateName="cross-tpl")
        self.assertEqual(g["TemplateContent"]["Subject"], "S")
        self.assertEqual(g["TemplateContent"]["Html"], "<i>h</i>")
        with self.assertClientError("AlreadyExistsException", 400):
            self.v2.create_email_template(TemplateName="cross-tpl", TemplateContent={"Subject": "x"})

    def test_policies_shared(self):
        ident = "crosspol.example"
        self.ses.verify_domain_identity(Domain=ident)
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Resource": self.arn("identity", ident),
            "Principal": {"AWS": ["123456789012"]}, "Action": ["ses:SendRawEmail"]}]})
        self.ses.put_identity_policy(Identity=ident, PolicyName="v1pol", Policy=policy)
        self.assertEqual(json.loads(self.v2.get_email_identity_policies(EmailIdentity=ident)["Policies"]["v1pol"]),
                         json.loads(policy))


if __name__ == "__main__":
    unittest.main()
