"""The benchmark's SMTP sink: accepts every message and writes one line per message.

Run as its own process (``python bench/sink.py --port N --out FILE``) so that
its work does not share a GIL with the orchestrator. Each accepted message
becomes one tab-separated line in FILE::

    <unix time> <recipient> <X-Petitio-Message key> <confirmation path or ->

The orchestrator reads FILE to count messages per recipient and per key (each
signer must be emailed exactly once) and to collect confirmation links. The
sink deduplicates nothing: a message handed to it twice is written twice.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
import threading
import time

from aiosmtpd.controller import Controller

KEY = re.compile(rb"^X-Petitio-Message:\s*(\S+)", re.MULTILINE | re.IGNORECASE)
CONFIRM = re.compile(rb"https?://[^\s/]+(/petitions/\d+/confirm/[\w-]+/)")


class Handler:
    def __init__(self, out) -> None:
        self.out = out
        self.lock = threading.Lock()
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        head = content[:8192]
        key = KEY.search(head)
        link = CONFIRM.search(content)
        now = time.time()
        lines = "".join(
            f"{now:.6f}\t{rcpt.lower()}\t{key.group(1).decode() if key else '-'}\t"
            f"{link.group(1).decode() if link else '-'}\n"
            for rcpt in envelope.rcpt_tos
        )
        with self.lock:
            self.out.write(lines)
            self.count += len(envelope.rcpt_tos)
        return "250 OK: queued"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = open(args.out, "a", buffering=1 << 16)  # noqa: SIM115 - flushed by the loop below
    handler = Handler(out)
    controller = Controller(handler, hostname="127.0.0.1", port=args.port, ready_timeout=30)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"sink ready on 127.0.0.1:{args.port}", flush=True)
    while not stop.wait(0.2):
        with handler.lock:
            out.flush()
    controller.stop()
    with handler.lock:
        out.flush()
    out.close()
    print(f"sink stopped after {handler.count} messages", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
