"""Runs the AWS SDK for JavaScript v3 end-to-end test (tests/e2e/js/test_sdk.mjs) against a
real Sesame started by the harness.

Needs node (v20+) and tests/e2e/js/node_modules (`npm ci` in tests/e2e/js; the Makefile does it).
Run with Debian's interpreter: /usr/bin/python3 -m unittest tests/e2e/test_js_sdk.py -v
"""
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
JS_DIR = os.path.join(HERE, "js")
SCRIPT = os.path.join(JS_DIR, "test_sdk.mjs")
NODE = os.environ.get("SESAME_NODE", "node")


class JsSdkTest(unittest.TestCase):
    def setUp(self):
        harness.require(os.path.isdir(os.path.join(JS_DIR, "node_modules", "@aws-sdk", "client-sesv2")),
                        "tests/e2e/js/node_modules is missing: run `npm ci` in tests/e2e/js")
        harness.require(shutil.which(NODE) is not None, "node is not installed")
        self.sesame = harness.Sesame().start()
        self.addCleanup(self.sesame.cleanup)

    def test_js_sdk_v3(self):
        key, secret = self.sesame.credentials()
        # --no-warnings: the SDK warns on every run that future releases need node >= 22.
        args = [NODE, "--no-warnings", SCRIPT, self.sesame.endpoint, key, secret]
        account = self.sesame.account_id()
        self.assertTrue(account, "account id not found in the server log")
        args.append(account)
        # The SNS topic the script's event destination points at (SES checks that it exists).
        self.sesame.client("sns").create_topic(Name="sesame-js-events")
        env = dict(os.environ)
        # Keep the SDK from reading a developer's AWS config or credentials.
        env.update({"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})
        for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SES", "AWS_ENDPOINT_URL_SESV2", "AWS_REGION"):
            env.pop(k, None)
        r = subprocess.run(args, cwd=JS_DIR, env=env, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            log = open(self.sesame.log_path, errors="replace").read()[-4000:]
            self.fail("node test_sdk.mjs failed (%d):\n%s\n%s\n--- server log tail ---\n%s"
                      % (r.returncode, r.stdout[-12000:], r.stderr[-4000:], log))


if __name__ == "__main__":
    unittest.main()
