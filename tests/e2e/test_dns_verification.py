"""Identity verification against a real DNS server (dnsmasq on loopback).
Run with /usr/bin/python3 (Debian boto3)."""
import json
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class DnsCase(harness.ServerCase):
    """A Sesame whose resolver is a dnsmasq that this class starts and stops."""

    @classmethod
    def setUpClass(cls):
        cls.dns_dir = tempfile.mkdtemp(prefix="sesame-dns-")
        cls.dns = harness.Dnsmasq(cls.dns_dir)
        cls.dns.start()
        cls.dns_port = cls.dns.port
        try:
            super().setUpClass()
        except Exception:
            cls.dns.stop()
            shutil.rmtree(cls.dns_dir, ignore_errors=True)
            raise
        cls.ses = cls.server.client("ses")
        cls.v2 = cls.server.client("sesv2")

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.dns.stop()
            shutil.rmtree(cls.dns_dir, ignore_errors=True)

    def publish(self, txt=(), cname=(), mx=()):
        self.dns.txt.extend(txt)
        self.dns.cname.extend(cname)
        self.dns.mx.extend(mx)
        self.dns.restart()

    def poll(self, fn, want, timeout=10.0):
        """Calls fn() until it returns `want` (bounded); returns the last value."""
        deadline = time.time() + timeout
        value = fn()
        while value != want and time.time() < deadline:
            time.sleep(0.2)
            value = fn()
        return value

    def v1_status(self, ident):
        attrs = self.ses.get_identity_verification_attributes(Identities=[ident])["VerificationAttributes"]
        return attrs[ident]["VerificationStatus"]

    def v1_dkim_status(self, ident):
        return self.ses.get_identity_dkim_attributes(
            Identities=[ident])["DkimAttributes"][ident]["DkimVerificationStatus"]

    def records(self, ident):
        return json.loads(self.server.cli("identity", "records", "--account", self.account, ident))


class DnsVerification(DnsCase):
    def test_a_domain_txt_record_success(self):
        token = self.ses.verify_domain_identity(Domain="d1.example")["VerificationToken"]
        self.assertIn(self.v1_status("d1.example"), ("Pending",))
        self.publish(txt=[("_amazonses.d1.example", token)])
        self.assertEqual(self.poll(lambda: self.v1_status("d1.example"), "Success"), "Success")
        g = self.v2.get_email_identity(EmailIdentity="d1.example")
        self.assertEqual(g["VerificationStatus"], "SUCCESS")
        self.assertTrue(g["VerifiedForSendingStatus"])
        # A verified domain is listed as such.
        info = [i for i in self.v2.list_email_identities()["EmailIdentities"] if i["IdentityName"] == "d1.example"]
        self.assertEqual(info[0]["VerificationStatus"], "SUCCESS")

    def test_a_records_command_lists_the_txt_record(self):
        token = self.ses.verify_domain_identity(Domain="d1r.example")["VerificationToken"]
        recs = self.records("d1r.example")
        self.assertIn(("TXT", "_amazonses.d1r.example", token), [(r["Type"], r["Name"], r["Value"]) for r in recs])

    def test_b_without_record_pending(self):
        self.ses.verify_domain_identity(Domain="d1b.example")
        # A wrong token does not verify either.
        self.publish(txt=[("_amazonses.d1b.example", "not-the-token")])
        time.sleep(0.5)
        self.assertEqual(self.v1_status("d1b.example"), "Pending")
        self.assertEqual(self.v2.get_email_identity(EmailIdentity="d1b.example")["VerificationStatus"], "PENDING")
        self.assertFalse(self.v2.get_email_identity(EmailIdentity="d1b.example")["VerifiedForSendingStatus"])

    def test_d_v2_easy_dkim_success(self):
        r = self.v2.create_email_identity(EmailIdentity="d2.example")
        tokens = r["DkimAttributes"]["Tokens"]
        recs = self.records("d2.example")
        dkim = [r for r in recs if "._domainkey." in r["Name"]]
        self.assertEqual(len(dkim), 3)
        for rec in dkim:
            self.assertEqual(rec["Type"], "TXT")
            self.assertTrue(rec["Value"].startswith("v=DKIM1; k=rsa; p="), rec)
        self.assertEqual(sorted(r["Name"] for r in dkim), sorted(f"{t}._domainkey.d2.example" for t in tokens))
        g = self.v2.get_email_identity(EmailIdentity="d2.example")
        self.assertEqual(g["DkimAttributes"]["Status"], "PENDING")
        self.assertFalse(g["VerifiedForSendingStatus"])
        self.publish_records(recs)

        def status():
            g = self.v2.get_email_identity(EmailIdentity="d2.example")
            return g["VerificationStatus"], g["DkimAttributes"]["Status"], g["VerifiedForSendingStatus"]
        self.assertEqual(self.poll(status, ("SUCCESS", "SUCCESS", True)), ("SUCCESS", "SUCCESS", True))
        self.assertEqual(self.v1_status("d2.example"), "Success")
        self.assertEqual(self.v1_dkim_status("d2.example"), "Success")

    def test_d_partial_dkim_records_stay_pending(self):
        self.v2.create_email_identity(EmailIdentity="d2p.example")
        recs = self.records("d2p.example")
        self.publish(txt=[(recs[0]["Name"], recs[0]["Value"])])
        time.sleep(0.5)
        g = self.v2.get_email_identity(EmailIdentity="d2p.example")
        self.assertEqual(g["DkimAttributes"]["Status"], "PENDING")
        self.assertFalse(g["VerifiedForSendingStatus"])

    def test_d_v1_verify_domain_dkim_success(self):
        tokens = self.ses.verify_domain_dkim(Domain="d2v1.example")["DkimTokens"]
        recs = self.records("d2v1.example")
        dkim = [r for r in recs if "._domainkey." in r["Name"]]
        self.assertEqual(sorted(r["Name"] for r in dkim), sorted(f"{t}._domainkey.d2v1.example" for t in tokens))
        self.publish(txt=[(r["Name"], r["Value"]) for r in dkim])
        self.assertEqual(self.poll(lambda: self.v1_dkim_status("d2v1.example"), "Success"), "Success")

    def test_e_dkim_through_cname_chain(self):
        r = self.v2.create_email_identity(EmailIdentity="d3.example")
        recs = {rec["Name"]: rec["Value"] for rec in self.records("d3.example")}
        txt, cname = [], []
        for t in r["DkimAttributes"]["Tokens"]:
            target = f"{t}.keys.d3host.example"
            cname.append((f"{t}._domainkey.d3.example", target))
            txt.append((target, recs[f"{t}._domainkey.d3.example"]))
        self.publish(txt=txt, cname=cname)

        def status():
            return self.v2.get_email_identity(EmailIdentity="d3.example")["DkimAttributes"]["Status"]
        self.assertEqual(self.poll(status, "SUCCESS"), "SUCCESS")
        self.assertTrue(self.v2.get_email_identity(EmailIdentity="d3.example")["VerifiedForSendingStatus"])

    def test_e_byodkim_selector_record(self):
        self.v2.create_email_identity(EmailIdentity="d4.example", DkimSigningAttributes={
            "DomainSigningSelector": "mysel", "DomainSigningPrivateKey": harness.byodkim_private_key()})
        recs = self.records("d4.example")
        self.assertEqual([r["Name"] for r in recs], ["mysel._domainkey.d4.example"])
        self.publish(txt=[(recs[0]["Name"], recs[0]["Value"])])

        def status():
            return self.v2.get_email_identity(EmailIdentity="d4.example")["DkimAttributes"]["Status"]
        self.assertEqual(self.poll(status, "SUCCESS"), "SUCCESS")

    def test_g_email_pending_until_operator_verifies(self):
        ident = "person@d5.example"
        self.ses.verify_email_identity(EmailAddress=ident)
        self.v2.create_email_identity(EmailIdentity="other@d5.example")
        time.sleep(0.3)
        self.assertEqual(self.v1_status(ident), "Pending")
        self.assertEqual(self.records(ident), [])
        self.server.cli("identity", "verify", "--account", self.account, ident)
        self.assertEqual(self.v1_status(ident), "Success")
        g = self.v2.get_email_identity(EmailIdentity=ident)
        self.assertEqual(g["VerificationStatus"], "SUCCESS")
        self.assertTrue(g["VerifiedForSendingStatus"])
        self.assertEqual(self.v1_status("other@d5.example"), "Pending")

    def publish_records(self, recs):
        txt, mx, cname = [], [], []
        for r in recs:
            if r["Type"] == "TXT":
                txt.append((r["Name"], r["Value"]))
            elif r["Type"] == "MX":
                pref, host = r["Value"].split()
                mx.append((r["Name"], host.rstrip("."), int(pref)))
            elif r["Type"] == "CNAME":
                cname.append((r["Name"], r["Value"].rstrip(".")))
            else:
                self.fail(f"unexpected record type {r}")
        self.publish(txt=txt, mx=mx, cname=cname)

    def test_h_mail_from_mx_success(self):
        self.ses.verify_domain_identity(Domain="d6.example")
        self.ses.set_identity_mail_from_domain(Identity="d6.example", MailFromDomain="bounce.d6.example",
                                               BehaviorOnMXFailure="UseDefaultValue")
        recs = self.records("d6.example")
        self.assertIn("bounce.d6.example", [r["Name"] for r in recs if r["Type"] == "MX"])
        self.publish_records(recs)

        def status():
            a = self.ses.get_identity_mail_from_domain_attributes(Identities=["d6.example"])
            return a["MailFromDomainAttributes"]["d6.example"]["MailFromDomainStatus"]
        self.assertEqual(self.poll(status, "Success"), "Success")
        self.assertEqual(self.v1_status("d6.example"), "Success")
        m = self.v2.get_email_identity(EmailIdentity="d6.example")["MailFromAttributes"]
        self.assertEqual(m["MailFromDomainStatus"], "SUCCESS")

    def test_h_mail_from_without_mx_pending(self):
        self.ses.verify_domain_identity(Domain="d7.example")
        self.ses.set_identity_mail_from_domain(Identity="d7.example", MailFromDomain="bounce.d7.example")
        time.sleep(0.3)
        a = self.ses.get_identity_mail_from_domain_attributes(Identities=["d7.example"])
        self.assertEqual(a["MailFromDomainAttributes"]["d7.example"]["MailFromDomainStatus"], "Pending")


class DnsWindow(DnsCase):
    extra_config = "[verification]\nwindow_seconds = 2\n"

    def test_c_failed_after_window(self):
        self.ses.verify_domain_identity(Domain="late.example")
        self.v2.create_email_identity(EmailIdentity="late2.example")
        self.assertEqual(self.v1_status("late.example"), "Pending")
        time.sleep(2.6)
        self.assertEqual(self.v1_status("late.example"), "Failed")
        g = self.v2.get_email_identity(EmailIdentity="late2.example")
        self.assertEqual(g["DkimAttributes"]["Status"], "FAILED")
        self.assertEqual(g["VerificationStatus"], "FAILED")
        self.assertFalse(g["VerifiedForSendingStatus"])


class DnsServerDown(DnsCase):
    def test_f_temporary_failure_when_dns_is_down(self):
        self.ses.verify_domain_identity(Domain="down.example")
        self.v2.create_email_identity(EmailIdentity="down2.example")
        self.dns.stop()
        try:
            self.assertEqual(self.poll(lambda: self.v1_status("down.example"), "TemporaryFailure"),
                             "TemporaryFailure")
            g = self.v2.get_email_identity(EmailIdentity="down2.example")
            self.assertEqual(g["DkimAttributes"]["Status"], "TEMPORARY_FAILURE")
            self.assertEqual(g["VerificationStatus"], "TEMPORARY_FAILURE")
            self.assertEqual(self.v1_dkim_status("down2.example"), "TemporaryFailure")
            self.assertTrue(harness.alive(self.server))
        finally:
            self.dns.start()
        # Once DNS answers again (NXDOMAIN here), the status goes back to pending.
        self.assertEqual(self.poll(lambda: self.v1_status("down.example"), "Pending"), "Pending")


if __name__ == "__main__":
    unittest.main()
