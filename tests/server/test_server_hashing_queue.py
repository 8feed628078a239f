"""The password-hashing queue: bounded (HASH_QUEUE_MAX, 503 with Retry-After past it), and a queued
login whose client has gone is dropped without hashing.

Hashing is made slow on purpose (many PBKDF2 iterations, one worker, one event thread) so that
a burst sent at once finds the worker busy; nothing here asserts a duration."""
import json
import re
import socket
import time

from rm_server import PASSWORD

SLOW = {"RESUMATE_PASSWORD_ITERATIONS": "3000000", "HASH_QUEUE_MAX": "2"}
ONE_EACH = ["--workers", "1", "--threads", "1"]


def login_request(port, username):
    body = json.dumps({"username": username, "password": PASSWORD}).encode()
    return (b"POST /api/auth/token/ HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (port, len(body))) + body


def read_answer(sock):
    """One HTTP answer: (status, headers dict with lower-case names, body bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    return status, headers, body


def pending_jobs(srv):
    m = re.search(r"^resumate_worker_jobs_pending (\d+)$", srv.get("/metrics").text, re.M)
    return int(m.group(1))


def dropped(srv, reason):
    m = re.search(r'^resumate_worker_jobs_dropped_total\{reason="%s"\} (\d+)$' % reason, srv.get("/metrics").text, re.M)
    return int(m.group(1))


def wait_for_pending(srv, want):
    # Polls the server's own gauge; the bound is only there so that a bug fails instead of hanging.
    for _ in range(6000):
        if pending_jobs(srv) == want:
            return
        time.sleep(0.01)
    raise AssertionError(f"worker jobs never reached {want}")


def test_burst_past_the_queue_bound_gets_503_with_retry_after(make_server):
    srv = make_server(env=SLOW, args=ONE_EACH)
    name = srv.register()
    socks = [socket.create_connection(("127.0.0.1", srv.port), timeout=120) for _ in range(10)]
    try:
        for s in socks:  # the whole burst is sent before the first hash can finish
            s.sendall(login_request(srv.port, name))
        answers = [read_answer(s) for s in socks]
    finally:
        for s in socks:
            s.close()
    statuses = [a[0] for a in answers]
    assert set(statuses) <= {200, 503}, statuses
    # one worker + HASH_QUEUE_MAX=2 waiting: at least the first two are taken, at most three (plus
    # one more should the first hash finish while the burst is still arriving); the rest are refused
    assert 2 <= statuses.count(200) <= 4, statuses
    assert statuses.count(503) >= 6, statuses
    for status, headers, body in answers:
        if status == 200:
            assert set(json.loads(body)) == {"refresh", "access"}
        else:
            assert json.loads(body) == {"detail": "The server is busy. Retry later."}
            assert int(headers["retry-after"]) >= 1
            assert "close" not in headers.get("connection", "").lower()  # keep-alive stays usable
    wait_for_pending(srv, 0)
    # after the burst the queue takes logins again
    assert srv.post("/api/auth/token/", json={"username": name, "password": PASSWORD}).status_code == 200
    log = [e for e in srv.access_log() if e["path"] == "/api/auth/token/"]
    assert sum(1 for e in log if e["status"] == 503) == statuses.count(503)
    assert dropped(srv, "queue_full") == statuses.count(503)
    assert dropped(srv, "client_gone") == 0


def test_hash_queue_max_zero_means_no_bound(make_server):
    srv = make_server(env={"RESUMATE_PASSWORD_ITERATIONS": "200000", "HASH_QUEUE_MAX": "0"}, args=ONE_EACH)
    name = srv.register()
    socks = [socket.create_connection(("127.0.0.1", srv.port), timeout=120) for _ in range(6)]
    try:
        for s in socks:
            s.sendall(login_request(srv.port, name))
        statuses = [read_answer(s)[0] for s in socks]
    finally:
        for s in socks:
            s.close()
    assert statuses == [200] * 6


def test_bad_hash_queue_max_is_one_clear_line(make_server):
    srv = make_server(env={"HASH_QUEUE_MAX": "-1"}, start=False)
    import subprocess
    from rm_server import SERVER_BIN
    p = subprocess.run([str(SERVER_BIN), "--port", "0"], env=srv.env, cwd=srv.workdir,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert p.stderr.strip().count("\n") == 0 and "HASH_QUEUE_MAX" in p.stderr


def test_queued_login_of_a_client_that_left_is_not_hashed(make_server):
    srv = make_server(env=SLOW, args=ONE_EACH)
    name = srv.register()
    busy = socket.create_connection(("127.0.0.1", srv.port), timeout=120)
    gone = socket.create_connection(("127.0.0.1", srv.port), timeout=120)
    try:
        busy.sendall(login_request(srv.port, name))
        wait_for_pending(srv, 1)       # hashing for `busy`
        gone.sendall(login_request(srv.port, name))
        wait_for_pending(srv, 2)       # `gone` waits in the queue behind it
        gone.close()                   # ... and its client leaves
        status, _, body = read_answer(busy)
        assert status == 200 and "access" in json.loads(body)
        wait_for_pending(srv, 0)
    finally:
        busy.close()
    # the job for `gone` was dropped before hashing, and counted so
    assert dropped(srv, "client_gone") == 1
    assert dropped(srv, "queue_full") == 0
    tokens = [e for e in srv.access_log() if e["path"] == "/api/auth/token/"]
    assert sorted(e["status"] for e in tokens) == [200, 499]
    assert srv.post("/api/auth/token/", json={"username": name, "password": PASSWORD}).status_code == 200
