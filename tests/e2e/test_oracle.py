"""botocore oracle test: for EVERY operation of both vendored SES models, build a full sample
input (every member, recursively), serialize it with botocore's own serializer against the
vendored model, prepare it into the HTTP request botocore would send, and check that Sesame's
real request decoder (build/tests/sesame_decode_tool) gives back the same operation and the
same input value.

Run with Debian's interpreter: /usr/bin/python3 -m unittest tests/e2e/test_oracle.py -v
"""
import base64
import datetime
import json
import os
import subprocess
import unittest
import urllib.parse

import botocore.awsrequest
import botocore.model
import botocore.serialize

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SESAME_BUILD", os.path.join(ROOT, "build"))
DECODE_TOOL = os.path.join(BUILD, "tests", "sesame_decode_tool")
MODELS = os.path.join(ROOT, "src", "api", "models")

SERVICES = [
    # (model file, service name, expected "api" from the decode tool)
    ("ses-2010-12-01.json", "ses", "v1"),
    ("sesv2-2019-09-27.json", "sesv2", "v2"),
]

# Characters that break naive decoders: '+' (form space), '@', ' ', '&' (separator),
# '/' (path separator in URI labels), '=' and a non-ASCII letter (UTF-8 percent-encoding).
SPECIAL = "a+b@c d&e/f=é"
UTC = datetime.timezone.utc


def load_model(filename, service_name):
    with open(os.path.join(MODELS, filename)) as f:
        return botocore.model.ServiceModel(json.load(f), service_name=service_name)


class SampleBuilder:
    """Builds one full sample value for a shape. Deterministic; a running counter varies the
    enum choices, booleans and numbers so that list items and map entries differ."""

    def __init__(self, protocol):
        self.protocol = protocol
        self.counter = 0

    def tick(self):
        self.counter += 1
        return self.counter

    def value(self, shape, name, location=None, depth=0):
        if depth > 20:
            raise RuntimeError("recursive shape at " + name)
        t = shape.type_name
        if t == "structure":
            return {m: self.value(ms, m, ms.serialization.get("location"), depth + 1)
                    for m, ms in shape.members.items()}
        if t == "list":
            return [self.value(shape.member, name, location, depth + 1) for _ in range(2)]
        if t == "map":
            out = {}
            for i in range(2):
                k = self.string(shape.key, "k%d" % (i + 1), unique=str(i + 1))
                out[k] = self.value(shape.value, name, location, depth + 1)
            return out
        if t == "string":
            return self.string(shape, name)
        if t in ("integer", "long"):
            lo = shape.metadata.get("min")
            hi = shape.metadata.get("max")
            v = (1234567890123 if t == "long" else 42) + self.tick()
            if hi is not None and v > hi:
                v = int(hi)
            if lo is not None and v < lo:
                v = int(lo)
            return v
        if t == "double":
            lo = shape.metadata.get("min")
            hi = shape.metadata.get("max")
            v = 12.25 + self.tick()
            if hi is not None and v > hi:
                v = float(hi) - 0.25 if lo is None or float(hi) - 0.25 >= lo else float(hi)
            if lo is not None and v < lo:
                v = float(lo) + 0.25 if hi is None or float(lo) + 0.25 <= hi else float(lo)
            return v
        if t == "boolean":
            return self.tick() % 2 == 1
        if t == "timestamp":
            n = self.tick()
            micro = 250000
            if self.protocol == "rest-json" and location is None:
                # botocore 1.26-1.29's JSON serializer writes body timestamps as
                # int(calendar.timegm(...)), dropping the fraction; use whole seconds there so
                # that what we expect is what botocore actually sent.
                micro = 0
            return datetime.datetime(2024, 1, 2, 3, 4, 5 + (n % 50), micro, tzinfo=UTC)
        if t == "blob":
            return b"\x00\xff\xfe blob+/=" + "é".encode() + bytes([self.tick() % 256])
        raise RuntimeError("unhandled shape type %s at %s" % (t, name))

    def string(self, shape, name, unique=""):
        enum = shape.enum
        if enum:
            return enum[(self.tick() + len(unique)) % len(enum)]
        s = unique + name + "-" + SPECIAL + str(self.tick())
        hi = shape.metadata.get("max")
        lo = shape.metadata.get("min")
        if hi is not None and len(s) > hi:
            # Keep the distinguishing prefix and as many special characters as fit.
            tail = SPECIAL
            keep = max(int(hi) - len(tail), 0)
            s = (unique + name)[:keep] + tail
            s = s[-int(hi):] if len(s) > hi else s
            if unique and not s.startswith(unique) and hi >= len(unique):
                s = unique + s[len(unique):]
        if lo is not None and len(s) < lo:
            s = s + "x" * (int(lo) - len(s))
        return s


def build_request(service_model, op_name, params):
    op = service_model.operation_model(op_name)
    serializer = botocore.serialize.create_serializer(service_model.metadata["protocol"])
    request_dict = serializer.serialize_to_request(params, op)
    botocore.awsrequest.prepare_request_dict(request_dict, endpoint_url="http://127.0.0.1")
    prepared = botocore.awsrequest.create_request_object(request_dict).prepare()
    parts = urllib.parse.urlsplit(prepared.url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in prepared.headers.items()}
    return {"method": prepared.method, "target": target, "headers": headers,
            "body_b64": base64.b64encode(body).decode("ascii")}


def normalize(v):
    """Expected-side normalization: timestamps -> epoch seconds, blobs -> base64 text."""
    if isinstance(v, dict):
        return {k: normalize(x) for k, x in v.items()}
    if isinstance(v, list):
        return [normalize(x) for x in v]
    if isinstance(v, datetime.datetime):
        return v.timestamp()
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode("ascii")
    return v


def diff(expected, actual, path, out):
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            out.append("%s: expected object %r, decoded %r" % (path or "<input>", expected, actual))
            return
        for k in expected:
            if k not in actual:
                out.append("%s: missing (expected %r)" % (path + "." + k if path else k, expected[k]))
            else:
                diff(expected[k], actual[k], path + "." + k if path else k, out)
        for k in actual:
            if k not in expected:
                out.append("%s: unexpected member, decoded %r" % (path + "." + k if path else k, actual[k]))
        return
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            out.append("%s: expected %r, decoded %r" % (path, expected, actual))
            return
        for i, (e, a) in enumerate(zip(expected, actual)):
            diff(e, a, "%s[%d]" % (path, i), out)
        return
    if isinstance(expected, bool) or isinstance(actual, bool):
        if expected is not actual:
            out.append("%s: expected %r, decoded %r" % (path, expected, actual))
        return
    if isinstance(expected, float):
        if not isinstance(actual, (int, float)) or abs(expected - actual) > 1e-3:
            out.append("%s: expected %r, decoded %r" % (path, expected, actual))
        return
    if isinstance(expected, int):
        if not isinstance(actual, (int, float)) or actual != expected:
            out.append("%s: expected %r, decoded %r" % (path, expected, actual))
        return
    if expected != actual:
        out.append("%s: expected %r, decoded %r" % (path, expected, actual))


class OracleTest(unittest.TestCase):
    cases = []  # (api, operation name, params, request, decoded line or None, build error)

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(DECODE_TOOL):
            raise RuntimeError("decode tool not built: %s (build the project first)" % DECODE_TOOL)
        cases = []
        for filename, service_name, api in SERVICES:
            model = load_model(filename, service_name)
            builder = SampleBuilder(model.metadata["protocol"])
            for op_name in model.operation_names:
                op = model.operation_model(op_name)
                params = builder.value(op.input_shape, op_name) if op.input_shape else {}
                try:
                    req = build_request(model, op_name, params)
                    cases.append([api, op_name, params, req, None, None])
                except Exception as e:  # reported per operation below
                    cases.append([api, op_name, params, None, None, "%s: %s" % (type(e).__name__, e)])
        lines = "".join(json.dumps(c[3]) + "\n" for c in cases if c[3] is not None)
        proc = subprocess.run([DECODE_TOOL], input=lines.encode(), capture_output=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError("decode tool exited %d: %s" % (proc.returncode, proc.stderr.decode(errors="replace")))
        outputs = proc.stdout.decode().splitlines()
        with_req = [c for c in cases if c[3] is not None]
        if len(outputs) != len(with_req):
            raise RuntimeError("decode tool printed %d lines for %d requests" % (len(outputs), len(with_req)))
        for c, line in zip(with_req, outputs):
            c[4] = json.loads(line)
        cls.cases = cases

    def check_api(self, api, expected_count):
        cases = [c for c in self.cases if c[0] == api]
        self.assertEqual(len(cases), expected_count, "operation count of the %s model" % api)
        failures = []
        for _, op_name, params, req, out, err in cases:
            with self.subTest(operation=op_name):
                problems = []
                if err:
                    problems.append("botocore could not serialize: " + err)
                elif "error" in out:
                    problems.append("decode error: %s" % out["error"])
                else:
                    if out.get("api") != api:
                        problems.append("api: expected %s, decoded %s" % (api, out.get("api")))
                    if out.get("operation") != op_name:
                        problems.append("operation: expected %s, decoded %s" % (op_name, out.get("operation")))
                    decoded = out.get("input")
                    if decoded is None and not params:
                        decoded = {}
                    diff(normalize(params), decoded, "", problems)
                if problems:
                    failures.append(op_name)
                    self.fail("%s %s\n  request: %s %s\n  body: %s\n  " % (
                        api, op_name, req and req["method"], req and req["target"],
                        req and base64.b64decode(req["body_b64"]).decode(errors="replace")[:2000])
                        + "\n  ".join(problems))
        if failures:
            print("\n%s operations failing the oracle: %s" % (api, ", ".join(failures)))

    def test_v1_query_all_operations(self):
        self.check_api("v1", len(load_model("ses-2010-12-01.json", "ses").operation_names))

    def test_v2_rest_json_all_operations(self):
        self.check_api("v2", len(load_model("sesv2-2019-09-27.json", "sesv2").operation_names))

    def test_samples_exercise_special_characters(self):
        """Guards the generator itself: the samples must contain the characters that matter."""
        blob = json.dumps([normalize(c[2]) for c in self.cases], ensure_ascii=False)
        for ch in ["+", "@", " ", "&", "/", "é"]:
            self.assertIn(ch, blob)
        v2_targets = " ".join(c[3]["target"] for c in self.cases if c[0] == "v2" and c[3])
        for enc in ["%2B", "%20", "%2F", "%C3%A9"]:
            self.assertIn(enc, v2_targets, "v2 URI/query string should carry " + enc)


if __name__ == "__main__":
    unittest.main()
