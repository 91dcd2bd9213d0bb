"""A full disk: the data directory is a small tmpfs; sends go on until the store cannot
commit. The failing send answers an internal error (HTTP 500), never a MessageId; every
MessageId that was answered is still there afterwards, and the server keeps serving.
Needs root (mount); skipped where mounting is not permitted. Run with /usr/bin/python3."""
import json
import os
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class DiskFull(unittest.TestCase):
    def setUp(self):
        import warnings
        warnings.simplefilter("ignore", ResourceWarning)
        self.workdir = tempfile.mkdtemp(prefix="sesame-full-")
        self.mount = os.path.join(self.workdir, "data")
        os.makedirs(self.mount)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", self.mount], capture_output=True, text=True)
        if r.returncode != 0:
            raise unittest.SkipTest("cannot mount a tmpfs here: " + r.stderr.strip())
        self.server = harness.Sesame(workdir=self.workdir, extra_config='[delivery]\nmode = "capture"\n')
        self.server.start()

    def tearDown(self):
        import shutil
        self.server.stop()
        subprocess.run(["umount", self.mount], capture_output=True)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def test_full_disk_acknowledges_nothing_it_did_not_keep(self):
        from botocore.exceptions import ClientError
        self.server.unthrottled_sender("shop.example")
        _, v2 = self.server.ses_clients()
        acked, error = [], None
        for i in range(1000):  # bounded: 3 MiB holds far fewer than 1000 messages of 20 KB
            try:
                r = v2.send_email(FromEmailAddress="news@shop.example", Destination={"ToAddresses": [f"r{i}@x.example"]},
                                  Content={"Simple": {"Subject": {"Data": f"m{i}"}, "Body": {"Text": {"Data": "y" * 20000}}}})
                acked.append(r["MessageId"])
            except ClientError as e:
                error = e
                break
        self.assertIsNotNone(error, "the disk never filled up")
        self.assertEqual(error.response["ResponseMetadata"]["HTTPStatusCode"], 500)
        self.assertNotIn("disk", error.response["Error"]["Message"])  # details stay in the log
        self.assertIn("database or disk is full", open(self.server.log_path).read())
        print(f"\ndisk full after {len(acked)} messages: {error.response['Error']}", file=sys.stderr)
        self.assertGreater(len(acked), 10)
        self.assertTrue(harness.alive(self.server))
        with urllib.request.urlopen(self.server.endpoint + "/_aws/ses", timeout=10) as r:
            kept = {m["Id"] for m in json.loads(r.read())["messages"]}
        self.assertEqual(set(acked) - kept, set(), "an acknowledged message is missing")
        # Reads still work, and after a restart everything acknowledged is still there.
        self.server.stop()
        self.server.start()
        with urllib.request.urlopen(self.server.endpoint + "/_aws/ses", timeout=10) as r:
            kept = {m["Id"] for m in json.loads(r.read())["messages"]}
        self.assertEqual(set(acked) - kept, set())


if __name__ == "__main__":
    unittest.main()
