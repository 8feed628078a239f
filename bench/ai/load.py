#!/usr/bin/env python3
"""Load client for the AI benchmark: POST /api/ai/generate/ at resumate-server (standard library only).

    load.py burst  --port P [--n 1000] [--model Deepseek] [--token JWT]
    load.py closed --port P [--clients 50] [--duration 20] [--delay 2.0] [--model ...] [--token JWT]

burst:  opens N connections to 127.0.0.1:P (not timed), then writes one generation request on each,
        all at once, and reads every answer. Latency of a request = from its write to the last byte of
        its answer; wall time = from the first write to the last answer. A success is a 201 whose body
        has a "resume_id".
closed: CLIENTS keep-alive connections, each sending one generation at a time for DURATION seconds
        (no new request starts after that; the ones in flight are awaited). Rate = successes divided
        by the time from the start to the last answer; the bound is CLIENTS / DELAY.

Prints "key value" lines (one measurement a line) for bench/ai/run.sh to format. Exits 1 if any
request failed. Everything goes to 127.0.0.1 only.
"""
import argparse
import asyncio
import json
import sys
import time

USER_INPUT = ("Senior C engineer, ten years of Linux systems work, PostgreSQL and SQLite, "
              "embedded HTTP servers, Python bindings; wants a one-page resume for a backend role.")


def request_bytes(port, model, token, keep_alive):
    body = json.dumps({"model": model, "user_input": USER_INPUT, "title": "Benchmark resume"}).encode()
    head = ["POST /api/ai/generate/ HTTP/1.1", "Host: 127.0.0.1:%d" % port, "Accept: application/json",
            "Content-Type: application/json", "Content-Length: %d" % len(body)]
    if token:
        head.append("Authorization: Bearer " + token)
    if not keep_alive:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def parse_head(raw):
    """(status, content_length) of a response head (bytes without the blank line)."""
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return status, length


def ok_body(status, body):
    if status != 201:
        return False
    try:
        return isinstance(json.loads(body).get("resume_id"), int)
    except (ValueError, AttributeError):
        return False


def pct(sorted_values, p):
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[i]


# ---- burst: N connections, one request each, all at once ----

class OneShot(asyncio.Protocol):
    def __init__(self, done):
        self.done = done          # future set to (ok, status, t_end)
        self.buf = b""
        self.transport = None
        self.t_sent = None
        self.status = None
        self.length = None
        self.head_end = None

    def connection_made(self, transport):
        self.transport = transport

    def send(self, payload):
        self.t_sent = time.monotonic()
        self.transport.write(payload)

    def data_received(self, data):
        self.buf += data
        if self.head_end is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            self.head_end = end + 4
            self.status, self.length = parse_head(self.buf[:end])
        if len(self.buf) - self.head_end >= self.length and not self.done.done():
            body = self.buf[self.head_end:self.head_end + self.length]
            self.done.set_result((ok_body(self.status, body), self.status, time.monotonic()))
            self.transport.close()

    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_result((False, self.status or 0, time.monotonic()))


async def burst(args):
    loop = asyncio.get_running_loop()
    payload = request_bytes(args.port, args.model, args.token, keep_alive=False)
    gate = asyncio.Semaphore(128)  # connect in waves, not as one SYN flood

    async def connect():
        async with gate:
            fut = loop.create_future()
            _, proto = await loop.create_connection(lambda: OneShot(fut), "127.0.0.1", args.port)
            return proto

    t_conn = time.monotonic()
    protos = await asyncio.gather(*(connect() for _ in range(args.n)))
    t_conn = time.monotonic() - t_conn
    if args.go_fifo:  # tell run.sh the connections are open, then wait for its go
        print("connected", file=sys.stderr, flush=True)
        with open(args.go_fifo) as go:
            go.readline()
    t0 = time.monotonic()
    for p in protos:
        p.send(payload)
    t_written = time.monotonic() - t0
    try:
        results = await asyncio.wait_for(asyncio.gather(*(p.done for p in protos)), args.timeout)
    except asyncio.TimeoutError:
        results = [p.done.result() if p.done.done() else (False, 0, time.monotonic()) for p in protos]
    lat = sorted(end - p.t_sent for p, (_, _, end) in zip(protos, results))
    ok = sum(1 for r in results if r[0])
    wall = max(end for _, _, end in results) - t0
    statuses = {}
    for _, st, _ in results:
        statuses[st] = statuses.get(st, 0) + 1
    print("connect_s %.3f" % t_conn)
    print("write_s %.3f" % t_written)
    print("requests %d" % args.n)
    print("successes %d" % ok)
    print("statuses %s" % ",".join("%s:%d" % kv for kv in sorted(statuses.items())))
    print("wall_s %.3f" % wall)
    print("throughput %.1f" % (ok / wall if wall > 0 else 0.0))
    print("p50_s %.3f" % pct(lat, 50))
    print("p99_s %.3f" % pct(lat, 99))
    print("max_s %.3f" % lat[-1])
    return 0 if ok == args.n else 1


# ---- closed loop: C clients, one request at a time each, for D seconds ----

async def closed(args):
    payload = request_bytes(args.port, args.model, args.token, keep_alive=True)
    t0 = time.monotonic()
    stop_at = t0 + args.duration
    lat, failures, last = [], [0], [t0]

    async def client():
        reader = writer = None
        while time.monotonic() < stop_at:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
                t = time.monotonic()
                writer.write(payload)
                head = await reader.readuntil(b"\r\n\r\n")
                status, length = parse_head(head[:-4])
                body = await reader.readexactly(length)
                end = time.monotonic()
                if ok_body(status, body):
                    lat.append(end - t)
                    last[0] = max(last[0], end)
                else:
                    failures[0] += 1
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                failures[0] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.1)
        if writer is not None:
            writer.close()

    await asyncio.gather(*(client() for _ in range(args.clients)))
    elapsed = last[0] - t0
    rate = len(lat) / elapsed if elapsed > 0 else 0.0
    bound = args.clients / args.delay
    lat.sort()
    print("clients %d" % args.clients)
    print("duration_s %.1f" % args.duration)
    print("successes %d" % len(lat))
    print("failures %d" % failures[0])
    print("elapsed_s %.3f" % elapsed)
    print("rate %.2f" % rate)
    print("bound %.2f" % bound)
    print("percent_of_bound %.1f" % (100.0 * rate / bound))
    print("p50_s %.3f" % pct(lat, 50))
    print("p99_s %.3f" % pct(lat, 99))
    return 0 if failures[0] == 0 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=("burst", "closed"))
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--model", default="Deepseek")
    ap.add_argument("--token", default="", help="access token (default: anonymous)")
    ap.add_argument("--n", type=int, default=1000, help="burst: concurrent requests")
    ap.add_argument("--timeout", type=float, default=60.0, help="burst: give up after this many seconds")
    ap.add_argument("--go-fifo", default="", help="burst: after connecting, print 'connected' on stderr and "
                    "wait for a line from this FIFO before writing the requests")
    ap.add_argument("--clients", type=int, default=50, help="closed: concurrent clients")
    ap.add_argument("--duration", type=float, default=20.0, help="closed: seconds to start requests")
    ap.add_argument("--delay", type=float, default=2.0, help="closed: the provider's latency (for the bound)")
    args = ap.parse_args()
    try:  # uvloop (PyPI) when installed: the same code, a cheaper event loop
        import uvloop
        uvloop.install()
        print("loop uvloop")
    except ImportError:
        print("loop asyncio")
    return asyncio.run(burst(args) if args.mode == "burst" else closed(args))


if __name__ == "__main__":
    sys.exit(main())
