"""Helpers and fixtures for the resumate-server end-to-end tests (imported by conftest.py).

Every test module gets its own real `resumate-server` process on 127.0.0.1 (a free port chosen by
the server itself with --port 0) and a fresh SQLite database in a temporary directory. The binary is
$RM_BUILD_DIR/server/resumate-server (default <repo>/build). Passwords are hashed with few PBKDF2
iterations (RESUMATE_PASSWORD_ITERATIONS) so the tests are fast.
"""
import itertools
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("RM_BUILD_DIR", REPO / "build")).resolve()
SERVER_BIN = BUILD_DIR / "server" / "resumate-server"
ADMIN_BIN = BUILD_DIR / "server" / "resumate-admin"

if not SERVER_BIN.exists():
    pytest.skip(f"resumate-server is not built: {SERVER_BIN}", allow_module_level=True)

PASSWORD = "Zq7-long-enough-pass"
_names = itertools.count(1)

# Generous defaults so that ordinary tests never hit the throttle; throttle tests set their own.
BASE_ENV = {
    "RESUMATE_PASSWORD_ITERATIONS": "1000",
    "THROTTLE_ANON": "100000/min",
    "THROTTLE_USER": "100000/min",
    "THROTTLE_AUTH": "100000/min",
}
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


class Server:
    """A running resumate-server process."""

    def __init__(self, workdir, env=None, args=(), secret=None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.secret = secret or secrets.token_urlsafe(40)
        self.db = self.workdir / "db.sqlite3"
        self.env = dict(os.environ)
        for k in list(self.env):
            # nothing from the caller's environment may point the server at a real database or provider
            if k in ("DATABASE_URL", "DB_NAME", "PORT", "ALLOWED_HOSTS", "CORS_ALLOWED_ORIGINS", "TRUSTED_PROXIES",
                     "GEMINI_API_KEY", "OPENROUTER_API_KEY", "RESUMATE_GEMINI_BASE_URL",
                     "RESUMATE_OPENROUTER_BASE_URL"):
                del self.env[k]
        self.env.update(BASE_ENV)
        self.env["DATABASE_URL"] = f"sqlite:///{self.db}"  # absolute path: sqlite:////tmp/...
        self.env["SECRET_KEY"] = self.secret
        self.env.update(env or {})
        self.args = list(args)
        self.log_path = self.workdir / "server.log"
        self.proc = None
        self.port = None

    def start(self, timeout=20):
        self.log = open(self.log_path, "ab")
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.proc = subprocess.Popen(
            [str(SERVER_BIN), "--port", "0", "--bind", "127.0.0.1", *self.args],
            cwd=self.workdir, env=self.env, stdout=subprocess.DEVNULL, stderr=self.log,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = LISTENING.search(self.log_text(since_start=True))
            if m:
                self.port = int(m.group(1))
                self.url = f"http://127.0.0.1:{self.port}"
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log_text()[-2000:]}")
            time.sleep(0.02)
        raise RuntimeError("server did not start in time")

    def log_text(self, since_start=False):
        data = self.log_path.read_bytes() if self.log_path.exists() else b""
        if since_start:
            data = data[self._log_start:]
        return data.decode("utf-8", "replace")

    def access_log(self):
        lines = []
        for line in self.log_text().splitlines():
            if line.startswith('{"time"'):
                lines.append(json.loads(line))
        return lines

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        if hasattr(self, "log"):
            self.log.close()
        return self.proc.returncode if self.proc else None

    # ---- HTTP helpers ----

    def request(self, method, path, token=None, headers=None, **kw):
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", 30)
        return requests.request(method, self.url + path, headers=h, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def register(self, username=None, password=PASSWORD, email=None):
        username = username or f"user{next(_names)}_{secrets.token_hex(3)}"
        r = self.post("/api/auth/register/", json={
            "username": username, "email": email or f"{username}@example.com",
            "password": password, "password2": password,
        })
        assert r.status_code == 201, r.text
        return username

    def login(self, username, password=PASSWORD):
        r = self.post("/api/auth/token/", json={"username": username, "password": password})
        assert r.status_code == 200, r.status_code
        return r.json()

    def new_user(self):
        """Register a user and return (username, access token, refresh token)."""
        name = self.register()
        pair = self.login(name)
        return name, pair["access"], pair["refresh"]


def raw_http(port, data, timeout=5.0):
    """Send raw bytes and return the raw answer (for requests `requests` cannot make)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
            if b"\r\n\r\n" in b"".join(chunks) and b"Connection: close" not in b"".join(chunks):
                head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
                m = re.search(rb"Content-Length: (\d+)", head)
                if m and len(body) >= int(m.group(1)):
                    break
        return b"".join(chunks)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("server")).start()
    yield srv
    rc = srv.stop()
    assert rc == 0, f"server exit status {rc}"


@pytest.fixture(scope="module")
def make_server(tmp_path_factory):
    """Start extra servers with their own environment; all are stopped at the end of the module."""
    started = []

    def make(env=None, args=(), start=True, workdir=None):
        srv = Server(workdir or tmp_path_factory.mktemp("server"), env=env, args=args)
        started.append(srv)
        return srv.start() if start else srv

    yield make
    codes = [srv.stop() for srv in started]
    assert all(rc == 0 for rc in codes if rc is not None), f"server exit statuses {codes}"
