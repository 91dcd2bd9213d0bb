"""Crash safety: `kill -9` the server while a load of sends is in flight. After a restart
every acknowledged MessageId reaches the sink (none lost). A recipient may be delivered twice
only when the crash fell between the sink's 250 and Sesame's commit of it; the test counts
and reports such duplicates (expected: at most the number of transactions in flight).
Run with /usr/bin/python3."""
import os
import re
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

THREADS = 6
MAX_CONNECTIONS = 16  # with a sink that takes 0.3 s per message: a backlog is queued at the kill


class CrashDuringLoad(unittest.TestCase):
    def setUp(self):
        import tempfile
        import warnings
        warnings.simplefilter("ignore", ResourceWarning)
        self.workdir = tempfile.mkdtemp(prefix="sesame-crash-")
        self.sink = harness.Sink(self.workdir).start()
        self.dns = harness.Dnsmasq(self.workdir)
        self.dns.mx.append(("sink.test", "mx.sink.test", 10))
        self.dns.hosts.append(("mx.sink.test", "127.0.0.1"))
        self.dns.start()
        self.server = harness.Sesame(dns_port=self.dns.port, extra_config=(
            f"[delivery]\nmx_port = {self.sink.port}\nmax_connections = {MAX_CONNECTIONS}\n"
            "retry_base_seconds = 1\nretry_max_interval_seconds = 2\n"))
        self.server.start()
        self.server.unthrottled_sender("shop.example")

    def tearDown(self):
        import shutil
        self.server.cleanup()
        self.sink.stop()
        self.dns.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def test_kill_9_loses_no_acknowledged_message(self):
        acked, lock, stop = [], threading.Lock(), threading.Event()

        def load(n):
            _, v2 = self.server.ses_clients()
            i = 0
            while not stop.is_set() and i < 2000:  # bounded
                i += 1
                try:
                    r = v2.send_email(FromEmailAddress="news@shop.example",
                                      Destination={"ToAddresses": [f"slow{n}-{i}@sink.test"]},
                                      Content={"Simple": {"Subject": {"Data": f"crash {n}-{i}"},
                                                          "Body": {"Text": {"Data": "x" * 2000}}}})
                except Exception:  # the server died under us: this one was not acknowledged
                    return
                with lock:
                    acked.append(r["MessageId"])

        threads = [threading.Thread(target=load, args=(n,)) for n in range(THREADS)]
        for t in threads:
            t.start()
        deadline = time.time() + 20
        while len(acked) < 300 and time.time() < deadline:
            time.sleep(0.05)
        self.server.proc.kill()  # SIGKILL, mid-load
        self.server.proc.wait(10)
        stop.set()
        for t in threads:
            t.join(30)
        self.server.stop()
        with lock:
            acknowledged = set(acked)
        self.assertGreater(len(acknowledged), 100, "the load did not get going before the kill")
        before = len(self.sink.messages())

        self.server.start()
        pattern = re.compile(rb"Message-ID: <([0-9a-f-]{60})@")

        def delivered(msgs):
            ids = {}
            for m in msgs:
                found = pattern.search(m["data"])
                if found:
                    ids[found.group(1).decode()] = ids.get(found.group(1).decode(), 0) + 1
            return ids

        msgs = self.sink.wait_for(lambda ms: acknowledged <= set(delivered(ms)), timeout=120,
                                  what=f"all {len(acknowledged)} acknowledged messages")
        counts = delivered(msgs)
        duplicates = sum(c - 1 for c in counts.values() if c > 1)
        print(f"\ncrash test: {len(acknowledged)} acknowledged, {before} delivered before the kill, "
              f"{len(counts)} distinct delivered in all, {duplicates} duplicate deliveries", file=sys.stderr)
        self.assertEqual(acknowledged - set(counts), set())
        self.assertGreater(len(acknowledged) - before, 20, "too little was still queued at the kill to test recovery")
        self.assertLessEqual(duplicates, MAX_CONNECTIONS, "more duplicates than transactions that could be in flight")


if __name__ == "__main__":
    unittest.main()
