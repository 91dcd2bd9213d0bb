"""A real SMTP sink for the end-to-end tests (Debian's python3-aiosmtpd), run as its own
process: `sink.py [--host H] --port P --dir D [--tls CERT KEY]`. Every accepted message is written to
D/<n>.json (envelope, peer, whether TLS was on, the bytes as latin-1); every RCPT is logged
to D/rcpts.jsonl. The recipient's local part picks the behaviour:
  bounce*   -> 550 5.1.1 at RCPT          full*  -> 452 4.2.2 at RCPT, always
  tempfail* -> 451 4.3.0 at the first RCPT for that address, 250 afterwards
  stall*    -> DATA never answers (the client's timeout must fire)
  slow*     -> DATA answers after 0.3 s (a backlog builds up behind it)
  dropfirst*    -> the first DATA for that address: the connection is cut, nothing stored
  garbagefirst* -> the first RCPT for that address is answered with a line that is not SMTP
anything else is accepted. It offers PIPELINING (aiosmtpd reads commands in order as they
come); each record says whether the next transaction's MAIL had arrived already, behind the
message's final dot ("ahead"). Stops on SIGTERM."""
import argparse
import asyncio
import json
import os
import signal
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class RecordingSMTP(SMTP):
    """Keeps the last bytes received on the connection (asyncio's public data_received), so
    a handler can see what the client had sent beyond the point being handled."""
    TAIL = 4096

    def data_received(self, data):
        self.received_tail = (getattr(self, "received_tail", b"") + data)[-self.TAIL:]
        super().data_received(data)


class RecordingController(Controller):
    def factory(self):  # aiosmtpd's documented hook for a server class of one's own
        return RecordingSMTP(self.handler, **self.SMTP_kwargs)


class Handler:
    def __init__(self, directory):
        self.dir = directory
        self.seen = {}
        self.count = 0
        self.lock = threading.Lock()

    def log_rcpt(self, address, reply):
        with self.lock, open(os.path.join(self.dir, "rcpts.jsonl"), "a") as f:
            f.write(json.dumps({"rcpt": address, "reply": reply}) + "\n")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        reply = "250 2.1.5 OK"
        if local.startswith("bounce"):
            reply = "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        elif local.startswith("full"):
            reply = "452 4.2.2 Mailbox full"
        elif local.startswith("garbagefirst"):
            n = self.seen.get(address, 0)
            self.seen[address] = n + 1
            if n == 0:
                reply = "this is not an SMTP reply"
        elif local.startswith("tempfail"):
            n = self.seen.get(address, 0)
            self.seen[address] = n + 1
            if n == 0:
                reply = "451 4.3.0 Temporary failure, try again later"
        self.log_rcpt(address, reply)
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return responses[:-1] + ["250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server, session, envelope):
        # What the client had sent behind this message's final dot by now (one write): the
        # received bytes after the last end of data (the next body cannot come before the
        # 354 to its DATA, so the last one is this message's).
        tail = getattr(server, "received_tail", b"")
        end = tail.rfind(b"\r\n.\r\n")
        buffered = tail[end + 5:] if end >= 0 else b""
        if any(r.split("@")[0].lower().startswith("stall") for r in envelope.rcpt_tos):
            await asyncio.sleep(3600)
        drop = [r for r in envelope.rcpt_tos if r.split("@")[0].lower().startswith("dropfirst")]
        if drop and self.seen.get("data:" + drop[0], 0) == 0:
            self.seen["data:" + drop[0]] = 1
            server.transport.abort()  # mid-DATA, before any reply: the client must retry
            await asyncio.sleep(0.5)
            return "451 connection gone"
        if any(r.split("@")[0].lower().startswith("slow") for r in envelope.rcpt_tos):
            await asyncio.sleep(0.3)
        with self.lock:
            self.count += 1
            n = self.count
        # The null reverse-path (DSNs) is recorded as "".
        record = {"mail_from": "" if envelope.mail_from in ("<>", None) else envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "peer": session.peer[0],
                  "tls": session.ssl is not None, "data": envelope.original_content.decode("latin-1"),
                  "ahead": buffered.upper().startswith(b"MAIL FROM:")}
        tmp = os.path.join(self.dir, "%d.tmp" % n)
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.dir, "%d.json" % n))
        return "250 2.0.0 Ok: queued as sink%d" % n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    kwargs = {"enable_SMTPUTF8": True, "decode_data": False, "data_size_limit": 50 * 1024 * 1024}
    if a.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
        kwargs.update(tls_context=ctx, require_starttls=False)
    c = RecordingController(Handler(a.dir), hostname=a.host, port=a.port, **kwargs)
    c.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    c.stop()


if __name__ == "__main__":
    main()
