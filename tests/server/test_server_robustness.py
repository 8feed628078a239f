"""Throttling, slow clients, many concurrent clients, graceful shutdown, and the three flows of a
typical load test."""
import concurrent.futures as cf
import signal
import socket
import sqlite3
import threading
import time

import requests

from rm_server import PASSWORD, Server


def test_throttle_per_scope_with_retry_after(make_server):
    srv = make_server(env={"THROTTLE_ANON": "5/min", "THROTTLE_AUTH": "3/min", "THROTTLE_USER": "4/min"})
    codes = [srv.get("/api/ai/models/").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    r = srv.get("/api/example-job-applications/")
    assert r.status_code == 429
    assert r.json()["detail"].startswith("Request was throttled. Expected available in ")
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # operational endpoints are never throttled
    assert srv.get("/healthz").status_code == 200
    m = srv.get("/metrics").text
    assert 'resumate_http_requests_throttled_total{scope="anon"} 2' in m


def test_auth_scope_is_stricter(make_server):
    srv = make_server(env={"THROTTLE_AUTH": "3/min"})
    codes = [srv.post("/api/auth/token/", json={"username": "x", "password": "y"}).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    r = srv.post("/api/auth/register/", json={})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    # other routes are not affected by the auth scope
    assert srv.get("/api/ai/models/").status_code == 200


def test_user_scope_counts_per_user(make_server):
    srv = make_server(env={"THROTTLE_USER": "3/min"})
    _, a, _ = srv.new_user()
    _, b, _ = srv.new_user()
    assert [srv.get("/api/resumes/", token=a).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert srv.get("/api/resumes/", token=b).status_code == 200


def test_forwarded_for_is_trusted_only_from_configured_proxies(make_server):
    untrusted = make_server(env={"THROTTLE_ANON": "2/min"})
    codes = [untrusted.get("/api/ai/models/", headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code
             for i in range(3)]
    assert codes == [200, 200, 429]  # the header is ignored: all from 127.0.0.1
    trusted = make_server(env={"THROTTLE_ANON": "2/min", "TRUSTED_PROXIES": "127.0.0.1"})
    codes = [trusted.get("/api/ai/models/", headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code
             for i in range(3)]
    assert codes == [200, 200, 200]  # three different clients behind the proxy
    ips = {e["ip"] for e in trusted.access_log() if e["path"] == "/api/ai/models/"}
    assert ips == {"10.0.0.0", "10.0.0.1", "10.0.0.2"}


def test_slow_client_is_dropped(make_server):
    srv = make_server(env={"CONN_TIMEOUT": "1"})
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(b"GET /api/ai/models/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finishes its headers
    # others are served meanwhile
    assert srv.get("/api/ai/models/").status_code == 200
    start = time.monotonic()
    try:
        data = s.recv(1024)
    except ConnectionResetError:
        data = b""
    assert data == b"" or b"408" in data.split(b"\r\n")[0]
    assert time.monotonic() - start < 9  # dropped by the server, not by our own socket timeout
    s.close()


def test_hundred_concurrent_clients(server):
    users = [server.new_user() for _ in range(4)]

    def client(i):
        _, tok, _ = users[i % len(users)]
        with requests.Session() as s:
            h = {"Authorization": f"Bearer {tok}"}
            r1 = s.post(server.url + "/api/job-applications/", json={"job_title": f"job {i}"}, headers=h, timeout=60)
            r2 = s.get(server.url + "/api/job-applications/", headers=h, timeout=60)
            r3 = s.get(server.url + "/api/ai/models/", timeout=60)
            return r1.status_code, r2.status_code, r3.status_code, r1.json()["id"]

    with cf.ThreadPoolExecutor(max_workers=100) as ex:
        results = list(ex.map(client, range(100)))
    assert all(r[:3] == (201, 200, 200) for r in results)
    assert len({r[3] for r in results}) == 100
    total = sum(len(server.get("/api/job-applications/", token=u[1]).json()) for u in users)
    assert total >= 100


def test_sigterm_during_writes_loses_nothing_acknowledged(tmp_path):
    srv = Server(tmp_path / "term", env={"SHUTDOWN_GRACE": "10"}).start()
    _, tok, _ = srv.new_user()
    acknowledged = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(n):
        with requests.Session() as s:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = s.post(srv.url + "/api/job-applications/", json={"job_title": f"w{n}-{i}"},
                               headers={"Authorization": f"Bearer {tok}"}, timeout=10)
                except requests.RequestException:
                    return
                if r.status_code == 201:
                    with lock:
                        acknowledged.append(r.json()["id"])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    while len(acknowledged) < 50:
        time.sleep(0.01)
    srv.proc.send_signal(signal.SIGTERM)
    rc = srv.proc.wait(timeout=30)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    srv.log.close()
    assert rc == 0
    assert '"event":"stopped"' in srv.log_text()
    with sqlite3.connect(srv.db) as db:
        stored = {row[0] for row in db.execute("SELECT id FROM job_tracker_jobapplication")}
    missing = [i for i in acknowledged if i not in stored]
    assert not missing and len(acknowledged) >= 50


def test_three_load_test_flows(server):
    # 1. an anonymous visitor browses the models and the examples
    models = server.get("/api/ai/models/").json()["data"]
    examples = server.get("/api/example-job-applications/").json()["data"]
    assert models and examples
    assert server.get(f"/api/example-job-applications/{examples[0]['id']}/").status_code == 200
    # 2. a new user registers, logs in, tracks applications through their stages
    name = server.register()
    tok = server.login(name)["access"]
    aid = server.post("/api/job-applications/", token=tok, json={"job_title": "SRE", "company_name": "Initech",
                                                                 "date_applied": "2025-07-24"}).json()["id"]
    for st in ["Interviewing", "Offer"]:
        assert server.patch(f"/api/job-applications/{aid}/", token=tok, json={"status": st}).status_code == 200
    assert server.get("/api/job-applications/", token=tok).json()[0]["status"] == "Offer"
    # 3. a returning user refreshes the token and manages resumes
    pair = server.login(name)
    access = server.post("/api/auth/token/refresh/", json={"refresh": pair["refresh"]}).json()["access"]
    rid = server.post("/api/resumes/", token=access, json={"title": "CV", "content": "# CV"}).json()["id"]
    assert server.put(f"/api/resumes/{rid}/", token=access, json={"title": "CV 2", "content": "# CV 2"}).ok
    assert [r["title"] for r in server.get("/api/resumes/", token=access).json()] == ["CV 2"]
    assert server.post("/api/auth/token/blacklist/", json={"refresh": pair["refresh"]}).status_code == 200


def test_password_hashing_does_not_block_other_requests(make_server):
    # realistic iteration count: registration takes a noticeable time on a worker thread
    srv = make_server(env={"RESUMATE_PASSWORD_ITERATIONS": "720000"}, args=["--workers", "1", "--threads", "1"])
    done = threading.Event()

    def register():
        srv.register(password=PASSWORD)
        done.set()

    t = threading.Thread(target=register)
    t.start()
    served_while_hashing = 0
    while not done.is_set():
        if srv.get("/api/ai/models/").status_code == 200 and not done.is_set():
            served_while_hashing += 1
    t.join()
    assert served_while_hashing > 0
