#!/usr/bin/env python3
"""A fast fake OpenAI-style chat-completions provider for the AI benchmark (standard library only).

Unlike tests/ai/fake_provider.py (a ThreadingHTTPServer: one thread per connection, scriptable), this
one is a single asyncio event loop speaking raw HTTP/1.1 with keep-alive, so that a thousand
concurrent provider calls cost a timer each and no thread.

    fake_provider.py [--port N] [--delay SECONDS]

Listens on 127.0.0.1 (port 0 = ephemeral) and prints "PORT <n>" as its first stdout line.
  POST <anything>/chat/completions   answered after --delay seconds (default 2.0) with a
                                     chat.completion JSON (or an SSE stream if the body asks
                                     "stream": true)
  GET  /_stats                       {"requests": n, "answered": n, "open": n, "max_open": n,
                                      "max_in_flight": n, "burst_requests": n, "burst_spread_ms": x}
                                     (the last burst: the completions that arrived since the
                                     fake was last idle, and the time from the first to the last)
  anything else                      404
A client that closes its connection while waiting is simply dropped. SIGTERM or SIGINT exits 0.
"""
import argparse
import asyncio
import json
import signal
import sys
import time

TEXT = ("# Jane Doe\\n\\n## Experience\\n\\nSoftware engineer at ACME, 2019-2025: built the order "
        "pipeline in C and Python.\\n\\n## Skills\\n\\nC, Python, PostgreSQL, Linux.")
STATS = {"requests": 0, "answered": 0, "open": 0, "max_open": 0, "in_flight": 0, "max_in_flight": 0,
         "burst_requests": 0, "burst_first": 0.0, "burst_last": 0.0}
MAX_HEAD = 65536
MAX_BODY = 4 << 20


def completion(model):
    body = ('{"id":"gen-bench","object":"chat.completion","created":%d,"model":%s,"choices":[{"index":0,'
            '"message":{"role":"assistant","content":"%s"},"finish_reason":"stop"}],'
            '"usage":{"prompt_tokens":10,"completion_tokens":40,"total_tokens":50}}'
            % (int(time.time()), json.dumps(model), TEXT)).encode()
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)) + body


def completion_stream(model):
    m = json.dumps(model)
    events = [
        '{"id":"gen-bench","object":"chat.completion.chunk","model":%s,"choices":[{"index":0,'
        '"delta":{"content":"%s"},"finish_reason":null}]}' % (m, TEXT),
        '{"id":"gen-bench","object":"chat.completion.chunk","model":%s,"choices":[{"index":0,'
        '"delta":{},"finish_reason":"stop"}]}' % m,
        "[DONE]",
    ]
    body = "".join("data: %s\n\n" % e for e in events).encode()
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body


def plain(status, obj):
    body = json.dumps(obj).encode()
    return (b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (status, len(body))) + body


class Conn(asyncio.Protocol):
    """One client connection: parse requests as bytes arrive, answer each after the delay, in order."""

    def __init__(self, delay):
        self.delay = delay
        self.buf = b""
        self.transport = None
        self.timers = []
        self.close_after = False

    def connection_made(self, transport):
        self.transport = transport
        STATS["open"] += 1
        STATS["max_open"] = max(STATS["max_open"], STATS["open"])

    def connection_lost(self, exc):
        STATS["open"] -= 1
        for t in self.timers:
            if not t.cancelled():
                t.cancel()
                STATS["in_flight"] -= 1
        self.timers = []
        self.transport = None

    def data_received(self, data):
        self.buf += data
        while self.transport is not None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    self.fail(431)
                return
            head = self.buf[:end].decode("latin-1").split("\r\n")
            try:
                method, target, version = head[0].split(" ", 2)
            except ValueError:
                self.fail(400)
                return
            length, close = 0, version == "HTTP/1.0"
            for line in head[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    try:
                        length = int(value)
                    except ValueError:
                        self.fail(400)
                        return
                elif name == "connection":
                    close = value.strip().lower() == "close"
                elif name == "transfer-encoding":
                    self.fail(501)  # nobody sends chunked bodies to this fake
                    return
            if length < 0 or length > MAX_BODY:
                self.fail(413)
                return
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4:end + 4 + length]
            self.buf = self.buf[end + 4 + length:]
            self.request(method, target.split("?")[0], body, close)

    def fail(self, status):
        self.transport.write(plain(status, {"error": {"code": status, "message": "bad request"}}))
        self.transport.close()
        self.transport = None

    def request(self, method, path, body, close):
        STATS["requests"] += 1
        if method == "GET" and path == "/_stats":
            out = {k: STATS[k] for k in ("requests", "answered", "open", "max_open", "max_in_flight", "burst_requests")}
            out["burst_spread_ms"] = round((STATS["burst_last"] - STATS["burst_first"]) * 1000.0, 3)
            self.answer(plain(200, out), close)
            return
        if method != "POST" or not path.endswith("/chat/completions"):
            self.answer(plain(404, {"error": {"code": 404, "message": "not found"}}), close)
            return
        try:
            req = json.loads(body or b"{}")
            model, stream = str(req.get("model", "")), bool(req.get("stream"))
        except (ValueError, AttributeError):
            self.answer(plain(400, {"error": {"code": 400, "message": "the body is not JSON"}}), close)
            return
        payload = completion_stream(model) if stream else completion(model)
        now = time.monotonic()
        if STATS["in_flight"] == 0:
            STATS["burst_requests"], STATS["burst_first"] = 0, now
        STATS["burst_requests"] += 1
        STATS["burst_last"] = now
        STATS["in_flight"] += 1
        STATS["max_in_flight"] = max(STATS["max_in_flight"], STATS["in_flight"])
        loop = asyncio.get_running_loop()
        handle = loop.call_later(self.delay, self.later, payload, close)
        self.timers.append(handle)

    def later(self, payload, close):
        STATS["in_flight"] -= 1
        if self.timers:
            self.timers.pop(0)  # answers leave in request order; this is the oldest timer
        STATS["answered"] += 1
        self.answer(payload, close)

    def answer(self, payload, close):
        if self.transport is None:
            return
        self.transport.write(payload)
        if close:
            self.transport.close()
            self.transport = None


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay", type=float, default=2.0, help="seconds before each answer (default 2.0)")
    args = ap.parse_args()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Conn(args.delay), "127.0.0.1", args.port, backlog=4096,
                                      reuse_address=True)
    print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    return 0


def run():
    try:  # uvloop (PyPI) when installed: the same code, a cheaper event loop
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(main())


if __name__ == "__main__":
    sys.exit(run())
