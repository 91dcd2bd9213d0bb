"""End-to-end harness: starts the real `sesame` binary on loopback with a temporary data
directory, and (when asked) a real dnsmasq on a loopback port serving TXT records.

Every process started here is stopped by its PID; every wait is bounded.

Also: `ServerCase` (a unittest base class: one server per test class), `signed_request` (raw
SigV4-signed HTTP for bad-input and auth tests), `v1_form`, `xml_error`, `alive`,
`byodkim_private_key`. `extra_config` may contain [api] / [dns] tables: their keys are merged
into the tables the harness writes. Set SESAME_BUILD to test a copy of the binary.
Run with Debian's interpreter: /usr/bin/python3 (boto3 and botocore from python3-boto3).
"""
import configparser
import email
import email.policy
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SESAME_BUILD", os.path.join(ROOT, "build"))
SESAME = os.path.join(BUILD, "src", "sesame")
AWS = os.environ.get("SESAME_AWS_CLI", "/usr/bin/aws")


def require(condition, why):
    """Skips the calling test when `condition` is false, or fails it under `make test`
    (SESAME_E2E_STRICT=1), where every prerequisite is installed and a skip would hide a gap."""
    if condition:
        return
    if os.environ.get("SESAME_E2E_STRICT") == "1":
        raise AssertionError("prerequisite missing: " + why)
    raise unittest.SkipTest(why)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_tcp_port():
    """A port free for both UDP and TCP on 127.0.0.1 (dnsmasq binds both)."""
    for _ in range(50):
        p = free_port()
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.bind(("127.0.0.1", p))
            return p
        except OSError:
            continue
    raise RuntimeError("no free port")


def wait_listening(proc, host, port, timeout, what, log=None):
    """Waits (bounded) until `proc` accepts TCP connections on host:port; fails if it exits."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited at start" + (": " + open(log).read() if log else ""))
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start")


class Dnsmasq:
    """A dnsmasq on 127.0.0.1:<port> answering only from its own records (no upstream)."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.port = free_udp_tcp_port()
        self.proc = None
        self.txt = []  # (name, value)
        self.mx = []  # (name, host, preference)
        self.cname = []  # (alias, target)
        self.hosts = []  # (name, address)

    def start(self):
        conf = os.path.join(self.workdir, "dnsmasq.conf")
        with open(conf, "w") as f:
            f.write("no-resolv\nno-hosts\nno-poll\nbind-interfaces\nlisten-address=127.0.0.1\n")
            f.write(f"port={self.port}\n")
            # Names we do not serve get NXDOMAIN instead of a forward.
            f.write("local=/#/\n")
            for name, value in self.txt:
                # dnsmasq splits at commas; quote each 255-byte chunk of one TXT record.
                chunks = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
                f.write("txt-record=" + name + "," + ",".join('"%s"' % c for c in chunks) + "\n")
            for name, host, pref in self.mx:
                f.write(f"mx-host={name},{host},{pref}\n")
            for alias, target in self.cname:
                f.write(f"cname={alias},{target}\n")
            for name, address in self.hosts:
                f.write(f"host-record={name},{address}\n")
        self.proc = subprocess.Popen(["/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=" + conf,
                                      "--pid-file=", "--user=root", "--log-facility=-"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(self.proc, "127.0.0.1", self.port, 10, "dnsmasq")
        return self

    def restart(self):
        self.stop()
        return self.start()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


def make_cert(directory, name="mx.sink.test"):
    """A self-signed certificate and key (openssl CLI) for a TLS-speaking sink."""
    cert, key = os.path.join(directory, "sink.crt"), os.path.join(directory, "sink.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=" + name,
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return cert, key


class Sink:
    """tests/e2e/sink.py (aiosmtpd) in its own process on a free loopback port."""

    def __init__(self, workdir, tls=None, name="sink", host="127.0.0.1", port=None):
        self.dir = os.path.join(workdir, name)
        self.host = host
        self.port = port or free_port()
        self.tls = tls
        self.proc = None

    def start(self):
        args = [sys.executable if sys.executable.startswith("/usr/bin") else "/usr/bin/python3",
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "sink.py"),
                "--host", self.host, "--port", str(self.port), "--dir", self.dir]
        if self.tls:
            args += ["--tls", *self.tls]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(self.dir + ".log", "ab"))
        wait_listening(self.proc, self.host, self.port, 15, "sink", self.dir + ".log")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def messages(self):
        """Every message received so far: dicts with mail_from, rcpt_tos, tls, data (bytes)."""
        out = []
        if not os.path.isdir(self.dir):
            return out
        names = sorted((f for f in os.listdir(self.dir) if f.endswith(".json")), key=lambda f: int(f.split(".")[0]))
        for name in names:
            with open(os.path.join(self.dir, name)) as f:
                m = json.load(f)
            m["data"] = m["data"].encode("latin-1")
            out.append(m)
        return out

    def rcpt_log(self):
        path = os.path.join(self.dir, "rcpts.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def wait_for(self, predicate, timeout=20, what="messages"):
        """Polls messages() until predicate(messages) is true; bounded in time."""
        deadline = time.time() + timeout
        while True:
            msgs = self.messages()
            if predicate(msgs):
                return msgs
            if time.time() > deadline:
                raise AssertionError(f"sink: timed out waiting for {what}; have {len(msgs)} messages")
            time.sleep(0.1)


def verify_through_dns(server, dns, account, domain, timeout=20):
    """Verifies `domain` the real way: its Easy DKIM records are published in dnsmasq and
    Sesame finds them through its resolver (dkimpy later reads the same records)."""
    records = json.loads(server.cli("identity", "records", "--account", account, domain))
    dns.txt += [(r["Name"], r["Value"]) for r in records if r["Type"] == "TXT"]
    dns.restart()
    _, v2 = server.ses_clients()
    deadline = time.time() + timeout
    while not v2.get_email_identity(EmailIdentity=domain)["VerifiedForSendingStatus"]:
        if time.time() > deadline:
            raise AssertionError(f"{domain} was not verified through DNS")
        time.sleep(0.2)


class MailChecks:
    """Checks on what a sink received, for test cases with `self.sink` and `self.dns`
    (dnsmasq publishing the DKIM keys), and on the events `self.server` stored."""

    def events(self, message_id):
        """[(type, record)] of one message, in the order they were committed (read from the
        store: the publishing destinations are tested on their own)."""
        import sqlite3
        db = sqlite3.connect(f"file:{self.server.data_dir}/sesame.db?mode=ro", uri=True, timeout=10)
        try:
            rows = db.execute("SELECT type, body FROM events WHERE message_id=? ORDER BY seq", (message_id,)).fetchall()
        finally:
            db.close()
        return [(t, json.loads(b)) for t, b in rows]

    def received(self, message_id, sink=None, timeout=20):
        """The copies of one message the sink got (DSNs, which quote its headers, excluded)."""
        header = f"{message_id}@email.amazonses.com".encode()
        mine = lambda ms: [m for m in ms if header in m["data"] and m["mail_from"] != ""]  # noqa: E731
        return mine((sink or self.sink).wait_for(lambda ms: mine(ms), timeout, f"message {message_id}"))

    def dkim_dns(self, name, timeout=5):
        """dkimpy's DNS lookups, answered by the test's dnsmasq (dnspython)."""
        import dns.resolver
        r = dns.resolver.Resolver(configure=False)
        r.nameservers, r.port = ["127.0.0.1"], self.dns.port
        answer = r.resolve(name.decode().rstrip("."), "TXT", lifetime=timeout)
        return b"".join(b"".join(rdata.strings) for rdata in answer)

    def assert_signed(self, data):
        import dkim
        self.assertTrue(data.startswith(b"DKIM-Signature:"), data[:200])
        self.assertTrue(dkim.verify(data, dnsfunc=self.dkim_dns))

    def parse(self, data):
        return email.message_from_bytes(data.replace(b"\r\n", b"\n"), policy=email.policy.default)


class MailWorld(MailChecks):
    """A test class's world for sending: a real sink MX (mx.sink.test, 127.0.0.1, STARTTLS
    when `sink_tls`), dnsmasq publishing MX records for sink.test and shop.example, and
    Sesame delivering to them, with shop.example verified (through DNS with `verify_via_dns`, so
    dkimpy can check signatures) for an unthrottled production account. Subclasses set
    `prefix`, and may add TOML with `extra_config(cls, workdir)`."""
    prefix = "sesame-mail-"
    sink_tls = False
    verify_via_dns = False

    @classmethod
    def extra_config(cls, workdir):
        return ""

    @classmethod
    def setUpClass(cls):
        import tempfile
        import warnings
        warnings.simplefilter("ignore", ResourceWarning)
        cls.workdir = tempfile.mkdtemp(prefix=cls.prefix)
        port = free_port()
        cls.sink = Sink(cls.workdir, tls=make_cert(cls.workdir) if cls.sink_tls else None, name="sink", port=port).start()
        cls.dns = Dnsmasq(cls.workdir)
        cls.dns.mx += [("sink.test", "mx.sink.test", 10), ("shop.example", "mx.sink.test", 10)]
        cls.dns.hosts += [("mx.sink.test", "127.0.0.1")]
        cls.dns.start()
        cls.server = Sesame(dns_port=cls.dns.port, extra_config=(
            f'hostname = "mta.sesame.test"\n[delivery]\nmx_port = {port}\nbounce_domain = "bounces.sesame.test"\n'
            + cls.extra_config(cls.workdir)))
        cls.server.start()
        cls.account = cls.server.unthrottled_sender("shop.example", rate=1000, verify=not cls.verify_via_dns)
        cls.v1, cls.v2 = cls.server.ses_clients()
        if cls.verify_via_dns:
            verify_through_dns(cls.server, cls.dns, cls.account, "shop.example")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        for p in (cls.sink, cls.dns):
            p.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)


def split_toml_tables(text):
    """({key: raw value} of the top level, {table: {key: raw value}}) of a simple TOML snippet
    (one `key = value` per line, `[table]` headers; comments and blank lines dropped)."""
    top, tables, cur = {}, {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            cur = tables.setdefault(line[1:-1].strip(), {})
            continue
        key, _, value = line.partition("=")
        (top if cur is None else cur)[key.strip()] = value.strip()
    return top, tables


class Sesame:
    """The real binary, on a free loopback port, with its own data directory."""

    def __init__(self, workdir=None, dns_port=None, extra_config="", region="us-east-1"):
        self.own_dir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="sesame-e2e-")
        self.data_dir = os.path.join(self.workdir, "data")
        self.port = free_port()
        self.smtp_port = free_port()   # submission with STARTTLS
        self.smtps_port = free_port()  # submission over implicit TLS
        self.region = region
        self.dns_port = dns_port
        self.extra_config = extra_config
        self.proc = None
        self.log_path = os.path.join(self.workdir, "sesame.log")

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def write_config(self):
        path = os.path.join(self.workdir, "sesame.toml")
        # extra_config may name tables the harness writes itself ([api], [dns]): TOML allows a
        # table once, so their keys are merged into the harness's tables (extra keys win).
        top, tables = split_toml_tables(self.extra_config)
        api = {"listen": f'"127.0.0.1:{self.port}"'}
        # A DNS server that is not there answers nothing: lookups fail fast.
        dns_port = self.dns_port or free_port()
        dns = {"servers": f'["127.0.0.1:{dns_port}"]', "timeout_ms": "300"}
        smtp = {"submission_listen": f'"127.0.0.1:{self.smtp_port}"',
                "submission_tls_listen": f'"127.0.0.1:{self.smtps_port}"'}
        smtp.update(tables.pop("smtp", {}))
        api.update(tables.pop("api", {}))
        dns.update(tables.pop("dns", {}))
        # Tests re-check DNS on every read; the default throttles reads to one check per 10 s.
        verification = {"recheck_on_read_seconds": "0"}
        verification.update(tables.pop("verification", {}))
        with open(path, "w") as f:
            f.write(f'data_dir = "{self.data_dir}"\nregion = "{self.region}"\n')
            for k, v in top.items():
                f.write(f"{k} = {v}\n")
            for name, kv in (("api", api), ("dns", dns), ("verification", verification), ("smtp", smtp),
                             *tables.items()):
                f.write(f"[{name}]\n")
                for k, v in kv.items():
                    f.write(f"{k} = {v}\n")
        return path

    def start(self):
        cfg = self.write_config()
        self.config_path = cfg
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([SESAME, "serve", "--config", cfg], stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sesame exited at start:\n" + open(self.log_path).read())
            try:
                with urllib.request.urlopen(self.endpoint + "/_sesame/health", timeout=0.5) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sesame did not become ready:\n" + open(self.log_path).read())

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()
        return rc

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def credentials(self):
        cp = configparser.ConfigParser()
        cp.read(os.path.join(self.data_dir, "credentials"))
        return cp["default"]["aws_access_key_id"], cp["default"]["aws_secret_access_key"]

    def account_id(self):
        """The account the first start created (from the STS-free route: GetIdentity ARNs are
        per account, so read it from the server log line written at first start)."""
        import re
        with open(self.log_path) as f:
            m = re.search(r"created account (\d{12})", f.read())
        return m.group(1) if m else None

    def cli(self, *args):
        """Runs a sesame admin subcommand against this data directory; returns stdout."""
        r = subprocess.run([SESAME, *args, "--config", self.config_path], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"sesame {' '.join(args)} failed: {r.stderr}")
        return r.stdout

    def client(self, service, key=None, secret=None, region=None):
        import boto3
        k, s = (key, secret) if key else self.credentials()
        return boto3.client(service, endpoint_url=self.endpoint, region_name=region or self.region,
                            aws_access_key_id=k, aws_secret_access_key=s)

    def ses_clients(self):
        """boto3 SES v1 and v2 clients that never retry (a retry would hide SES's errors)."""
        import boto3
        from botocore.config import Config
        key, secret = self.credentials()
        no_retry = Config(retries={"total_max_attempts": 1})
        return tuple(boto3.client(name, endpoint_url=self.endpoint, region_name=self.region, aws_access_key_id=key,
                                  aws_secret_access_key=secret, config=no_retry) for name in ("ses", "sesv2"))

    def unthrottled_sender(self, domain, rate=100000, verify=True):
        """The first account out of the sandbox with its send rate raised, and `domain`
        created (Easy DKIM) and, unless verify=False, marked verified by the operator."""
        account = self.account_id()
        self.cli("account", "production", "--account", account)
        self.cli("account", "quota", "--account", account, "--max-send-rate", str(rate))
        _, v2 = self.ses_clients()
        v2.create_email_identity(EmailIdentity=domain)
        if verify:
            self.cli("identity", "verify", "--account", account, domain)
        return account

    def aws_env(self):
        k, s = self.credentials()
        env = dict(os.environ)
        env.update({"AWS_ACCESS_KEY_ID": k, "AWS_SECRET_ACCESS_KEY": s, "AWS_DEFAULT_REGION": self.region,
                    "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PAGER": ""})
        return env

    def aws(self, *args, check=True):
        """Runs the AWS CLI with --endpoint-url; returns (returncode, stdout, stderr)."""
        r = subprocess.run([AWS, *args, "--endpoint-url", self.endpoint], env=self.aws_env(), capture_output=True,
                           text=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r.returncode, r.stdout, r.stderr


# ---------------------------------------------------------------------------------------------
# Raw signed requests (for tests that must bypass boto3's client-side validation).

def signed_request(server, method, path, body=b"", headers=None, region=None, key=None, secret=None,
                   when=None, sign=True, timeout=30, service="ses"):
    """Sends one HTTP request to `server`, SigV4-signed (service 'ses') with the server's
    credentials unless key/secret are given. `when` (a naive UTC datetime) fixes the signing
    time. Returns (status, headers dict with lower-case names, body bytes)."""
    import datetime
    import http.client
    from unittest import mock

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    if isinstance(body, str):
        body = body.encode()
    hdrs = dict(headers or {})
    url = server.endpoint + path
    req = AWSRequest(method=method, url=url, data=body, headers=hdrs)
    if sign:
        k, s = (key, secret) if key else server.credentials()
        auth = SigV4Auth(Credentials(k, s), service, region or server.region)
        if when is None:
            auth.add_auth(req)
        else:
            fake = mock.MagicMock(wraps=datetime)
            fake.datetime.utcnow.return_value = when
            with mock.patch("botocore.auth.datetime", fake):
                auth.add_auth(req)
    prepared = req.prepare()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request(method, prepared.url[len(server.endpoint):] or "/", body=body,
                     headers=dict(prepared.headers.items()))
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def v1_form(action, params=None, version="2010-12-01"):
    """A v1 Query body (x-www-form-urlencoded) and its headers."""
    import urllib.parse
    fields = [("Action", action)]
    if version is not None:
        fields.append(("Version", version))
    fields += list((params or {}).items())
    return urllib.parse.urlencode(fields), {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def xml_error(body):
    """(Code, Message) from a v1 XML error body."""
    import xml.etree.ElementTree as ET
    root = ET.fromstring(body)
    code = msg = None
    for el in root.iter():
        tag = el.tag.split("}")[-1]
        if tag == "Code" and code is None:
            code = el.text
        elif tag == "Message" and msg is None:
            msg = el.text
    return code, msg


def alive(server):
    """True when the server answers its health check and is still running."""
    if server.proc is None or server.proc.poll() is not None:
        return False
    try:
        with urllib.request.urlopen(server.endpoint + "/_sesame/health", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------
# unittest support: one server per test class.

import contextlib  # noqa: E402
import unittest  # noqa: E402


class ServerCase(unittest.TestCase):
    """Starts one Sesame for the class (setUpClass) and removes it (tearDownClass)."""

    extra_config = ""
    dns_port = None

    @classmethod
    def setUpClass(cls):
        import warnings
        # boto3 keeps pooled connections to servers that the tests stop: not a test failure.
        warnings.simplefilter("ignore", ResourceWarning)
        cls.server = Sesame(dns_port=cls.dns_port, extra_config=cls.extra_config)
        try:
            cls.server.start()
        except Exception:
            cls.server.cleanup()
            raise
        cls.account = cls.server.account_id()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    @contextlib.contextmanager
    def assertClientError(self, code, status=None, message=None):
        """Expects a botocore ClientError with this error code (and HTTP status / message part)."""
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            yield cm
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], code, err)
        if status is not None:
            self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], status, err)
        if message is not None:
            self.assertIn(message, err["Error"].get("Message", ""), err)

    def assertOk(self, response):
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 200, response)
        return response


def byodkim_private_key():
    """A fresh RSA 2048 private key as SES BYODKIM wants it: the base64 DER body of
    `openssl genrsa 2048`, without the BEGIN/END lines and line breaks."""
    pem = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    return "".join(line.strip() for line in pem.splitlines() if line and not line.startswith("-----"))
