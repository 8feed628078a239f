"""POST /api/ai/generate/ against the fake AI provider of tests/ai (real HTTP on 127.0.0.1)."""
import json
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from rm_server import Server

FAKE = Path(__file__).resolve().parents[1] / "ai" / "fake_provider.py"
INPUT = "I am a backend engineer with ten years of C, Python and PostgreSQL experience."
KEYS = {"OPENROUTER_API_KEY": "sk-or-test-key-123", "GEMINI_API_KEY": "gm-test-key-456"}


@pytest.fixture(scope="module")
def fake():
    proc = subprocess.Popen([sys.executable, str(FAKE)], stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline().split()[1])
    url = f"http://127.0.0.1:{port}"
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def control(fake, what, body=None):
    if body is None:
        return requests.get(f"{fake}/_control/{what}", timeout=10).json()
    return requests.post(f"{fake}/_control/{what}", json=body, timeout=10)


@pytest.fixture(scope="module")
def gen_server(fake, tmp_path_factory):
    env = {"RESUMATE_OPENROUTER_BASE_URL": f"{fake}/api/v1", "RESUMATE_GEMINI_BASE_URL": fake,
           "AI_BACKOFF_MS": "10", "AI_MAX_ATTEMPTS": "2", **KEYS}
    srv = Server(tmp_path_factory.mktemp("gen"), env=env).start()
    yield srv
    assert srv.stop() == 0


@pytest.fixture(autouse=True)
def reset(fake):
    control(fake, "reset", {})


def resume_count(srv):
    with sqlite3.connect(srv.db) as db:
        return db.execute("SELECT count(*) FROM resume_resume").fetchone()[0]


def test_anonymous_generation_with_a_public_model(gen_server):
    r = gen_server.post("/api/ai/generate/", json={"model": "deepseek", "user_input": INPUT})
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"resume_id", "content"} and body["content"].startswith("# Jane Doe")
    # saved under the inactive anonymous_user, so nobody's list shows it
    _, tok, _ = gen_server.new_user()
    assert gen_server.get("/api/resumes/", token=tok).json() == []


def test_logged_in_generation_honours_the_title(gen_server, fake):
    _, tok, _ = gen_server.new_user()
    r = gen_server.post("/api/ai/generate/", token=tok, json={"model": "Gemini", "user_input": INPUT,
                                                              "title": "For ACME"})
    assert r.status_code == 201
    mine = gen_server.get("/api/resumes/", token=tok).json()
    assert [(x["id"], x["title"]) for x in mine] == [(r.json()["resume_id"], "For ACME")]
    calls = control(fake, "log")
    assert len(calls) == 1 and "gemini-2.0-flash-exp" in calls[0]["path"]


def test_validation_and_policy_errors(gen_server):
    r = gen_server.post("/api/ai/generate/", json={"model": "Gemini", "user_input": INPUT})
    assert r.status_code == 400
    assert r.json() == {"model": ["You must be logged in to use the Gemini model."]}
    r = gen_server.post("/api/ai/generate/", json={"model": "gpt-99", "user_input": "too short"})
    assert r.status_code == 400
    assert r.json() == {"model": ["This model is not valid or is currently disabled."],
                        "user_input": ["Ensure this field has at least 50 characters."]}
    r = gen_server.post("/api/ai/generate/", json={})
    assert r.status_code == 400 and r.json()["user_input"] == ["This field is required."]


def test_body_errors_are_the_ones_of_every_other_endpoint(gen_server):
    # The body of a plain generation is parsed on the intake thread, a streamed one's on the event
    # thread: both answer exactly what any other endpoint answers for the same body.
    bodies = [
        ({"Content-Type": "application/json"}, b'{"model": "Deepseek", "user_input": '),  # broken JSON
        ({"Content-Type": "application/json"}, b'["not", "an", "object"]'),
        ({"Content-Type": "application/json"}, b"\xff\xfe not utf-8"),
        ({"Content-Type": "text/plain"}, b"model=Deepseek"),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"model=%zz"),
    ]
    for headers, data in bodies:
        other = gen_server.post("/api/auth/token/refresh/", headers=headers, data=data)
        assert other.status_code in (400, 415), (data, other.status_code, other.text)
        for accept in ({}, {"Accept": "text/event-stream"}):
            r = gen_server.post("/api/ai/generate/", headers={**headers, **accept}, data=data)
            assert (r.status_code, r.json()) == (other.status_code, other.json()), (data, accept)
            assert r.headers["Content-Type"] == "application/json"
    # a form body is parsed like JSON: the same field errors
    r = gen_server.post("/api/ai/generate/", data={"model": "gpt-99", "user_input": "too short"})
    assert r.status_code == 400
    assert r.json() == {"model": ["This model is not valid or is currently disabled."],
                        "user_input": ["Ensure this field has at least 50 characters."]}


def test_daily_limit_is_enforced(gen_server):
    _, tok, _ = gen_server.new_user()
    codes = [gen_server.post("/api/ai/generate/", token=tok, json={"model": "Gemini", "user_input": INPUT}).status_code
             for _ in range(5)]
    assert codes == [201] * 5
    r = gen_server.post("/api/ai/generate/", token=tok, json={"model": "Gemini", "user_input": INPUT})
    assert r.status_code == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 86400
    assert "detail" in r.json()


def test_provider_failure_is_503_without_secrets(gen_server, fake):
    control(fake, "script", {"model": "*", "steps": [
        {"status": 500, "kind": "error", "message": "boom", "raw": "upstream secret body"}] * 4})
    before = resume_count(gen_server)
    r = gen_server.post("/api/ai/generate/", json={"model": "Deepseek", "user_input": INPUT})
    assert r.status_code == 503
    text = r.text
    assert set(r.json()) == {"error"}
    assert "upstream secret body" not in text and KEYS["OPENROUTER_API_KEY"] not in text
    assert resume_count(gen_server) == before
    assert KEYS["OPENROUTER_API_KEY"] not in gen_server.log_text()


def test_missing_key_is_503(fake, make_server):
    srv = make_server(env={"RESUMATE_OPENROUTER_BASE_URL": f"{fake}/api/v1", "OPENROUTER_API_KEY": ""})
    r = srv.post("/api/ai/generate/", json={"model": "Cypher", "user_input": INPUT})
    assert r.status_code == 503
    assert set(r.json()) == {"error"}
    assert control(fake, "log") == []


def test_idempotency_key_replays(gen_server, fake):
    _, tok, _ = gen_server.new_user()
    h = {"Idempotency-Key": "abc-123"}
    a = gen_server.post("/api/ai/generate/", token=tok, headers=h, json={"model": "Cypher", "user_input": INPUT})
    b = gen_server.post("/api/ai/generate/", token=tok, headers=h, json={"model": "Cypher", "user_input": INPUT})
    assert a.status_code == 201 and b.status_code in (200, 201)
    assert a.json()["resume_id"] == b.json()["resume_id"]
    assert len(control(fake, "log")) == 1


def send_generation_and_wait_for_provider(s, fake):
    """Write one plain generation on socket s and wait until the fake provider has it; returns the
    deadline (10 s from now) the caller keeps using."""
    body = json.dumps({"model": "Deepseek", "user_input": INPUT}).encode()
    s.sendall(b"POST /api/ai/generate/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not control(fake, "log"):
        time.sleep(0.05)
    assert control(fake, "log"), "the provider was never called"
    return deadline


def provider_outcome(fake, deadline):
    """The fake provider's outcome of its first logged request, once it is no longer pending."""
    outcome = None
    while time.monotonic() < deadline:
        outcome = control(fake, "log")[0]["outcome"]
        if outcome != "pending":
            break
        time.sleep(0.05)
    return outcome


def test_client_that_disconnects_cancels_its_generation(gen_server, fake):
    control(fake, "script", {"model": "*", "steps": [{"delay": 5}]})
    before = resume_count(gen_server)
    s = socket.create_connection(("127.0.0.1", gen_server.port), timeout=10)
    send_generation_and_wait_for_provider(s, fake)
    s.close()
    assert provider_outcome(fake, time.monotonic() + 10) == "client_closed"  # the server aborted the provider request
    time.sleep(0.3)
    assert resume_count(gen_server) == before
    assert canceled(gen_server) >= 1


def read_http_response(s):
    """(status, body) of one HTTP/1.1 response with a Content-Length, read from socket s."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        assert chunk, "the server closed the connection"
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(v) for k, _, v in (line.partition(":") for line in lines[1:]) if k.lower() == "content-length")
    while len(rest) < length:
        chunk = s.recv(65536)
        assert chunk, "the server closed the connection"
        rest += chunk
    return int(lines[0].split()[1]), rest[:length], rest[length:]


def test_client_that_sends_more_while_waiting_keeps_its_generation(gen_server, fake):
    # Data arriving on a waiting connection (a pipelined request) is not a departure: the generation
    # finishes, its answer comes first, then the pipelined request's.
    control(fake, "script", {"model": "*", "steps": [{"delay": 1}]})
    before = resume_count(gen_server)
    with socket.create_connection(("127.0.0.1", gen_server.port), timeout=10) as s:
        deadline = send_generation_and_wait_for_provider(s, fake)
        s.sendall(b"GET /api/ai/models/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, answer, rest = read_http_response(s)
        assert status == 201 and json.loads(answer)["resume_id"] > 0
        s.settimeout(10)
        status, models, _ = read_http_response_after(s, rest)
        assert status == 200 and b"Deepseek" in models
    assert [e["outcome"] for e in control(fake, "log")] == ["answered"]
    assert resume_count(gen_server) == before + 1


def read_http_response_after(s, already):
    """read_http_response for a response whose first bytes were already read."""
    class Prefixed:
        def __init__(self):
            self.pending = already

        def recv(self, n):
            if self.pending:
                out, self.pending = self.pending, b""
                return out
            return s.recv(n)
    return read_http_response(Prefixed())


def test_client_that_half_closes_while_waiting_cancels_its_generation(gen_server, fake):
    # A client that shuts down its sending side while waiting counts as gone, as one that closes.
    control(fake, "script", {"model": "*", "steps": [{"delay": 5}]})
    before = resume_count(gen_server)
    cancels = canceled(gen_server)
    with socket.create_connection(("127.0.0.1", gen_server.port), timeout=10) as s:
        deadline = send_generation_and_wait_for_provider(s, fake)
        s.shutdown(socket.SHUT_WR)
        assert provider_outcome(fake, deadline) == "client_closed"  # the server aborted the provider request
    while time.monotonic() < deadline and canceled(gen_server) == cancels:
        time.sleep(0.05)
    assert canceled(gen_server) == cancels + 1
    assert resume_count(gen_server) == before


def test_many_generations_at_once_all_succeed_while_other_requests_are_answered(gen_server, fake):
    # Started off the event threads (the intake thread) and spread over the transport's threads:
    # every one is answered with its own resume, and GETs are served while they wait on the provider.
    control(fake, "script", {"model": "*", "steps": [{"delay": 1}] * 40})
    before = resume_count(gen_server)
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=40) as pool:
        futures = [pool.submit(gen_server.post, "/api/ai/generate/",
                               json={"model": "Deepseek", "user_input": INPUT, "title": f"Burst {i}"})
                   for i in range(40)]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(control(fake, "log")) < 40:
            time.sleep(0.05)
        assert len(control(fake, "log")) == 40, "the generations did not reach the provider together"
        models = gen_server.get("/api/ai/models/")
        assert models.status_code == 200 and "Deepseek" in models.text
        answers = [f.result() for f in futures]
    assert [a.status_code for a in answers] == [201] * 40
    ids = {a.json()["resume_id"] for a in answers}
    assert len(ids) == 40
    assert resume_count(gen_server) == before + 40


def test_generations_of_clients_that_left_do_not_hold_up_later_ones(gen_server, fake):
    # Finished generations are answered a few at a time (a window of 16): those of clients that left
    # must give their place back, or the generations after them would never be answered.
    n = 40
    control(fake, "script", {"model": "*", "steps": [{"delay": 5}] * n})
    before = resume_count(gen_server)
    body = json.dumps({"model": "Deepseek", "user_input": INPUT}).encode()
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", gen_server.port), timeout=10)
        s.sendall(b"POST /api/ai/generate/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        socks.append(s)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(control(fake, "log")) < n:
        time.sleep(0.05)
    assert len(control(fake, "log")) == n, "the generations did not reach the provider together"
    for s in socks:
        s.close()
    while time.monotonic() < deadline and any(e["outcome"] == "pending" for e in control(fake, "log")):
        time.sleep(0.05)
    assert all(e["outcome"] == "client_closed" for e in control(fake, "log"))
    control(fake, "reset", {})
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=n) as pool:
        answers = list(pool.map(lambda i: gen_server.post("/api/ai/generate/", json={
            "model": "Deepseek", "user_input": INPUT, "title": f"After {i}"}), range(n)))
    assert [a.status_code for a in answers] == [201] * n
    assert resume_count(gen_server) == before + n


def sse_events(raw):
    events = []
    for block in raw.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_streaming_generation_as_server_sent_events(gen_server, fake):
    control(fake, "script", {"model": "*", "steps": [{"chunks": ["# Jane", "\n\nDoe ", "streams"], "drip": 0.1}]})
    r = gen_server.post("/api/ai/generate/", headers={"Accept": "text/event-stream"},
                        json={"model": "Deepseek", "user_input": INPUT}, stream=True)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/event-stream"
    events = sse_events(r.content.decode())
    assert [e for e, _ in events] == ["chunk", "chunk", "chunk", "done"]
    assert "".join(d["text"] for e, d in events if e == "chunk") == "# Jane\n\nDoe streams"
    done = events[-1][1]
    assert done["content"] == "# Jane\n\nDoe streams" and done["resume_id"] > 0
    # errors found before streaming starts are plain JSON answers
    r = gen_server.post("/api/ai/generate/", headers={"Accept": "text/event-stream"},
                        json={"model": "Nope", "user_input": INPUT})
    assert r.status_code == 400 and r.headers["Content-Type"] == "application/json"
    # other media types are still refused
    r = gen_server.post("/api/ai/generate/", headers={"Accept": "text/html"}, json={})
    assert r.status_code == 406


def canceled(srv):
    m = re.search(r'resumate_ai_generations_total\{provider="open_router",outcome="canceled"\} (\d+)',
                  srv.get("/metrics").text)
    return int(m.group(1)) if m else 0


def test_streaming_client_that_leaves_cancels(gen_server, fake):
    control(fake, "script", {"model": "*", "steps": [{"chunks": ["a", "b", "c", "d"], "drip": 1.0}]})
    before = resume_count(gen_server)
    cancels = canceled(gen_server)
    body = json.dumps({"model": "Deepseek", "user_input": INPUT}).encode()
    s = socket.create_connection(("127.0.0.1", gen_server.port), timeout=10)
    s.sendall(b"POST /api/ai/generate/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
              b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    first = s.recv(4096)
    assert b"200 OK" in first.split(b"\r\n")[0]
    s.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and canceled(gen_server) == cancels:
        time.sleep(0.05)
    assert canceled(gen_server) == cancels + 1
    # the provider was either never called or its request was aborted
    while time.monotonic() < deadline and any(e["outcome"] == "pending" for e in control(fake, "log")):
        time.sleep(0.05)
    assert all(e["outcome"] == "client_closed" for e in control(fake, "log"))
    assert resume_count(gen_server) == before


@pytest.fixture(scope="module")
def settings_server(fake, tmp_path_factory):
    """A server whose Deepseek falls back to Cypher, and whose Cypher gives a provider request 300 ms."""
    workdir = tmp_path_factory.mktemp("settings")
    (workdir / "ai.json").write_text(json.dumps({
        "Deepseek": {"fallbacks": ["Cypher"]},
        "Cypher": {"timeout_ms": 300, "connect_timeout_ms": 1000}}))
    env = {"RESUMATE_OPENROUTER_BASE_URL": f"{fake}/api/v1", "RESUMATE_GEMINI_BASE_URL": fake,
           "AI_BACKOFF_MS": "10", "AI_MAX_ATTEMPTS": "1", "AI_MODEL_SETTINGS": f"@{workdir / 'ai.json'}", **KEYS}
    srv = Server(workdir, env=env).start()
    yield srv
    assert srv.stop() == 0


def test_configured_fallback_answers_when_the_model_fails(settings_server, fake):
    control(fake, "script", {"model": "deepseek/deepseek-r1", "steps": [{"status": 503, "kind": "error"}]})
    r = settings_server.post("/api/ai/generate/", json={"model": "Deepseek", "user_input": INPUT})
    assert r.status_code == 201, r.text
    assert r.json()["content"].startswith("# Jane Doe")
    assert [c["model"] for c in control(fake, "log")] == ["deepseek/deepseek-r1", "teknium/openhermes-2.5"]


def test_configured_timeout_ends_a_slow_provider_request(settings_server, fake):
    before = resume_count(settings_server)
    control(fake, "script", {"model": "teknium/openhermes-2.5", "steps": [{"delay": 5}]})
    r = settings_server.post("/api/ai/generate/", json={"model": "Cypher", "user_input": INPUT}, timeout=4)
    assert r.status_code == 503, r.text
    assert resume_count(settings_server) == before
    deadline = time.monotonic() + 5  # the fake notices the closed connection on its own schedule
    while (log := control(fake, "log")) and log[0]["outcome"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(log) == 1 and log[0]["outcome"] == "client_closed"
