#!/usr/bin/env python3
"""A scriptable fake AI provider for the libresumate tests (standard library only).

Speaks, on 127.0.0.1 and an ephemeral port printed as "PORT <n>" on the first stdout line:
  Gemini      POST /v1beta/models/<model>:generateContent
              POST /v1beta/models/<model>:streamGenerateContent?alt=sse
  OpenAI-ish  POST <anything>/chat/completions   (OpenRouter and OpenAI-compatible; "stream": true -> SSE)

Every provider request takes the next *step* from the queue of its model (or of "*"), else the
default step. A step is a JSON object; all members are optional:
  status        HTTP status (200)
  delay         seconds to wait before answering (the wait ends early if the client goes away)
  kind          "ok" | "error" | "malformed" | "reset" | "blocked" | "error200" | "finish" | "mid_reset"
  text          the generated text ("# Jane Doe\\n\\nResume body")
  chunks        list of text pieces for streaming (default: text split in three)
  drip          seconds between streamed events (slow drip)
  finish        finishReason / finish_reason to report (kind "finish"), e.g. "SAFETY", "MAX_TOKENS"
  thought       a Gemini thought part to put before the text
  retry_after   Retry-After header value
  retry_info    Gemini RetryInfo retryDelay, e.g. "1s"
  quota_id      Gemini QuotaFailure quotaId, e.g. "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
  message       error message text
  raw           an OpenRouter metadata.raw upstream body (tests check it never leaks)

Control endpoints (JSON):
  POST /_control/script  {"model": "<model or *>", "steps": [step...]}  append steps to that queue
  POST /_control/default {step}                                       replace the default step
  POST /_control/reset                                                clear queues, default and log
  GET  /_control/log     [{"path", "model", "stream", "headers": {...}, "body": {...}, "outcome"}...]

A script file given with --script holds {"default": step, "queues": {"model": [step...]}}.
"""
import argparse
import json
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"queues": {}, "default": {}, "log": []}
DEFAULT_TEXT = "# Jane Doe\n\n## Experience\n\nSoftware engineer."
KEEP_HEADERS = ("x-goog-api-key", "authorization", "http-referer", "x-title", "x-openrouter-title",
                "content-type")


def take_step(model):
    with LOCK:
        for key in (model, "*"):
            q = STATE["queues"].get(key)
            if q:
                return dict(q.pop(0))
        return dict(STATE["default"])


def gemini_status(code):
    return {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
            429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}.get(code, "UNKNOWN")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    # ---- plumbing ----
    def client_gone(self, seconds):
        """Wait up to seconds; True if the client closed the connection meanwhile."""
        end = time.monotonic() + seconds
        sock = self.connection
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return False
            sock.settimeout(min(left, 0.05))
            try:
                data = sock.recv(1, socket.MSG_PEEK)
                if data == b"":
                    return True
                time.sleep(min(left, 0.05))
            except socket.timeout:
                pass
            except OSError:
                return True
            finally:
                sock.settimeout(None)

    def send_json(self, status, obj, extra=None, raw=None):
        body = raw.encode() if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def start_sse(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def sse(self, payload, drip):
        if drip and self.client_gone(drip):
            raise ConnectionError("client went away")
        self.wfile.write(payload.encode())
        self.wfile.flush()

    # ---- control ----
    def control(self, body):
        path = self.path.split("?")[0]
        with LOCK:
            if path == "/_control/script":
                STATE["queues"].setdefault(body.get("model", "*"), []).extend(body.get("steps", []))
            elif path == "/_control/default":
                STATE["default"] = body
            elif path == "/_control/reset":
                STATE["queues"].clear()
                STATE["default"] = {}
                STATE["log"].clear()
            elif path == "/_control/log":
                return self.send_json(200, STATE["log"])
            else:
                return self.send_json(404, {"error": "no such control"})
        self.send_json(200, {"ok": True})

    def do_GET(self):
        if self.path.startswith("/_control/"):
            return self.control({})
        self.send_json(404, {"error": {"code": 404, "message": "not found"}})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_unparsable": raw.decode("latin-1")}
        if self.path.startswith("/_control/"):
            return self.control(body)
        path = self.path
        if ":generateContent" in path or ":streamGenerateContent" in path:
            proto = "gemini"
            model = path.split("/models/")[-1].split(":")[0]
            stream = ":streamGenerateContent" in path
        elif path.split("?")[0].endswith("/chat/completions"):
            proto = "openai"
            model = body.get("model", "")
            stream = bool(body.get("stream"))
        else:
            return self.send_json(404, {"error": {"code": 404, "message": "not found"}})
        entry = {"path": path, "model": model, "stream": stream, "t": time.time(), "outcome": "pending",
                 "headers": {k: self.headers[k] for k in KEEP_HEADERS if self.headers.get(k) is not None},
                 "body": body}
        with LOCK:
            STATE["log"].append(entry)
        step = take_step(model)
        try:
            if step.get("delay") and self.client_gone(float(step["delay"])):
                entry["outcome"] = "client_closed"
                self.close_connection = True
                return
            outcome = self.answer(proto, model, stream, step)
            entry["outcome"] = outcome or "answered"
        except (ConnectionError, BrokenPipeError, OSError):
            entry["outcome"] = "client_closed"
            self.close_connection = True

    # ---- provider answers ----
    def answer(self, proto, model, stream, step):
        kind = step.get("kind", "ok")
        status = int(step.get("status", 200))
        if kind == "error" or status >= 400:
            return self.error(proto, status or 500, step)
        if kind == "reset":
            self.reset()
            return "reset"
        if kind == "malformed":
            if stream:
                self.start_sse()
                self.sse("data: {not json at all\n\n", 0)
                return "malformed"
            self.send_json(200, None, raw="{\"candidates\": [ {not json")
            return "malformed"
        text = step.get("text", DEFAULT_TEXT)
        chunks = step.get("chunks")
        if chunks is None:
            third = max(1, len(text) // 3)
            chunks = [text[:third], text[third:2 * third], text[2 * third:]]
        if proto == "gemini":
            return self.gemini(stream, step, kind, text, chunks)
        return self.openai(model, stream, step, kind, text, chunks)

    def error(self, proto, status, step):
        msg = step.get("message", "fake failure %d" % status)
        headers = {}
        if step.get("retry_after") is not None:
            headers["Retry-After"] = str(step["retry_after"])
        if proto == "gemini":
            details = []
            if step.get("retry_info"):
                details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": step["retry_info"]})
            if step.get("quota_id"):
                details.append({"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                                "violations": [{"quotaId": step["quota_id"]}]})
            obj = {"error": {"code": status, "message": msg, "status": gemini_status(status), "details": details}}
        else:
            obj = {"error": {"code": status, "message": msg, "metadata": {"raw": step.get("raw", "")}}}
        self.send_json(status, obj, headers)
        return "error"

    def gemini(self, stream, step, kind, text, chunks):
        if kind == "blocked":
            obj = {"promptFeedback": {"blockReason": "SAFETY"}}
            if stream:
                self.start_sse()
                self.sse("data: " + json.dumps(obj) + "\n\n", 0)
            else:
                self.send_json(200, obj)
            return "blocked"
        finish = step.get("finish", "STOP") if kind == "finish" else "STOP"
        usage = {"promptTokenCount": 10, "candidatesTokenCount": 20, "totalTokenCount": 30}
        if not stream:
            parts = []
            if step.get("thought"):
                parts.append({"text": step["thought"], "thought": True})
            parts.append({"text": text})
            self.send_json(200, {"candidates": [{"content": {"role": "model", "parts": parts},
                                                 "finishReason": finish, "index": 0}],
                                 "usageMetadata": usage})
            return "answered"
        self.start_sse()
        drip = float(step.get("drip", 0))
        if step.get("thought"):
            self.sse("data: " + json.dumps({"candidates": [{"content": {"role": "model", "parts": [
                {"text": step["thought"], "thought": True}]}}]}) + "\n\n", drip)
        for i, c in enumerate(chunks):
            cand = {"content": {"role": "model", "parts": [{"text": c}]}, "index": 0}
            if i == len(chunks) - 1:
                cand["finishReason"] = finish
            ev = {"candidates": [cand]}
            if i == len(chunks) - 1:
                ev["usageMetadata"] = usage
            self.sse("data: " + json.dumps(ev) + "\r\n\r\n", drip)
            if kind == "mid_reset" and i == 0:
                self.reset()
                return "mid_reset"
        return "answered"

    def openai(self, model, stream, step, kind, text, chunks):
        finish = "stop"
        if kind == "blocked":
            finish, text, chunks = "content_filter", "", [""]
        elif kind == "finish":
            finish = step.get("finish", "length")
        err = {"code": 502, "message": step.get("message", "provider unavailable"),
               "metadata": {"raw": step.get("raw", ""), "error_type": "provider_unavailable"}}
        if not stream:
            if kind == "error200":
                self.send_json(200, {"error": err})
                return "error200"
            self.send_json(200, {"id": "gen-1", "object": "chat.completion", "created": int(time.time()),
                                 "model": model,
                                 "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                              "finish_reason": finish}],
                                 "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}})
            return "answered"
        self.start_sse()
        drip = float(step.get("drip", 0))
        self.sse(": OPENROUTER PROCESSING\n\n", 0)
        for i, c in enumerate(chunks):
            ev = {"id": "gen-1", "object": "chat.completion.chunk", "model": model,
                  "choices": [{"index": 0, "delta": {"content": c}, "finish_reason": None}]}
            self.sse("data: " + json.dumps(ev) + "\n\n", drip)
            if kind == "mid_reset" and i == 0:
                self.reset()
                return "mid_reset"
            if kind == "error200" and i == 0:
                self.sse("data: " + json.dumps({"error": err, "choices": [
                    {"index": 0, "delta": {"content": ""}, "finish_reason": "error", "error": err}]}) + "\n\n", 0)
                return "error200"
        self.sse("data: " + json.dumps({"id": "gen-1", "object": "chat.completion.chunk", "model": model,
                                        "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}) + "\n\n", drip)
        self.sse("data: " + json.dumps({"id": "gen-1", "choices": [], "usage": {
            "prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}}) + "\n\n", 0)
        self.sse("data: [DONE]\n\n", 0)
        return "answered"


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 2048
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that go away and scripted resets are expected


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--script", help="JSON script file")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    if args.script:
        with open(args.script) as f:
            s = json.load(f)
        STATE["default"] = s.get("default", {})
        STATE["queues"] = {k: list(v) for k, v in s.get("queues", {}).items()}
    srv = Server(("127.0.0.1", args.port), Handler)
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
