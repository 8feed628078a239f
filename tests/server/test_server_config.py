"""Configuration of resumate-server and the resumate-admin tool."""
import os
import socket
import stat
import subprocess

import pytest

from rm_server import ADMIN_BIN, SERVER_BIN, Server


def run(binary, args=(), env=None, cwd=None, input=None, timeout=30):
    e = {k: v for k, v in os.environ.items()
         if k not in ("DATABASE_URL", "DB_NAME", "SECRET_KEY", "PORT")}
    e["RESUMATE_PASSWORD_ITERATIONS"] = "1000"
    e.update(env or {})
    return subprocess.run([str(binary), *args], capture_output=True, text=True, env=e, cwd=cwd, input=input,
                          timeout=timeout)


def test_help_documents_flags_and_environment():
    r = run(SERVER_BIN, ["--help"])
    assert r.returncode == 0
    for word in ["--bind", "--port", "--threads", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "DB_NAME",
                 "REDIS_HOST", "NOT used yet", "THROTTLE_ANON", "CORS_ALLOWED_ORIGINS", "TRUSTED_PROXIES",
                 "RESUMATE_PASSWORD_ITERATIONS", "AI_MODEL_SETTINGS", "AI_TIMEOUT_MS", "AI_CONNECT_TIMEOUT_MS"]:
        assert word in r.stdout, word


@pytest.mark.parametrize("env,args,needle", [
    ({"DATABASE_URL": "mysql://user:hunter2@db/x"}, [], "DATABASE_URL"),
    ({"DATABASE_URL": "sqlite:///"}, [], "DATABASE_URL"),
    ({"PORT": "http"}, [], "PORT"),
    ({}, ["--port", "70000"], "--port"),
    ({}, ["--bind", "not-an-ip"], "--bind"),
    ({"THROTTLE_ANON": "lots"}, [], "THROTTLE_ANON"),
    ({}, ["--frobnicate"], "--frobnicate"),
    ({"AI_MODEL_SETTINGS": "{not json"}, [], "AI_MODEL_SETTINGS: not valid JSON"),
    ({"AI_MODEL_SETTINGS": "[1]"}, [], "AI_MODEL_SETTINGS: expected a JSON object"),
    ({"AI_MODEL_SETTINGS": '{"Gemini": {"fallback": ["Cypher"]}}'}, [], 'unknown setting "fallback"'),
    ({"AI_MODEL_SETTINGS": '{"Gemini": {"timeout_ms": -1}}'}, [], '"Gemini": timeout_ms must be'),
    ({"AI_MODEL_SETTINGS": '{"Gemini": {"connect_timeout_ms": "5s"}}'}, [], '"Gemini": connect_timeout_ms'),
    ({"AI_MODEL_SETTINGS": '{"Gemini": {"fallbacks": "Cypher"}}'}, [], '"Gemini": fallbacks must be a list'),
    ({"AI_MODEL_SETTINGS": '{"Gemini": {"fallbacks": [""]}}'}, [], '"Gemini": fallbacks must hold'),
    ({"AI_MODEL_SETTINGS": '{"Gemini": {"fallbacks": ["gemini"]}}'}, [], "its own fallback"),
    ({"AI_MODEL_SETTINGS": "@/nonexistent/ai.json"}, [], "AI_MODEL_SETTINGS: cannot read /nonexistent/ai.json"),
    ({"AI_TIMEOUT_MS": "soon"}, [], "AI_TIMEOUT_MS"),
])
def test_bad_configuration_is_one_clear_line(tmp_path, env, args, needle):
    env = dict(env)
    env.setdefault("SECRET_KEY", "k" * 40)
    r = run(SERVER_BIN, args, env=env, cwd=tmp_path)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert needle in lines[0]
    assert "hunter2" not in r.stderr


def test_port_in_use(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = run(SERVER_BIN, ["--port", str(port)], env={"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
                                                        "SECRET_KEY": "k" * 40}, cwd=tmp_path)
    assert r.returncode != 0
    assert "Address already in use" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_directory(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    r = run(SERVER_BIN, [], env={"DATABASE_URL": f"sqlite:///{ro}/sub/db.sqlite3"}, cwd=tmp_path)
    assert r.returncode != 0 and "not writable" in r.stderr


def test_unwritable_database_location(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    r = run(SERVER_BIN, [], env={"DATABASE_URL": f"sqlite:///{blocker}/db.sqlite3"}, cwd=tmp_path)
    assert r.returncode != 0
    assert len(r.stderr.strip().splitlines()) == 1 and "not writable" in r.stderr


def test_defaults_make_a_development_setup(tmp_path):
    srv = Server(tmp_path)
    del srv.env["DATABASE_URL"]
    del srv.env["SECRET_KEY"]
    srv.start()
    try:
        assert srv.get("/api/ai/models/").status_code == 200
        key = tmp_path / "var" / "secret_key"
        assert (tmp_path / "var" / "resumate.sqlite3").exists()
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        log = srv.log_text()
        assert "SECRET_KEY is not set" in log and "development" in log
        assert f"({os.cpu_count()} HTTP threads," in log  # one per CPU on SQLite
        assert key.read_text().strip() not in log
        # tokens survive a restart: the key is kept
        name, tok, _ = srv.new_user()
    finally:
        assert srv.stop() == 0
    srv2 = Server(tmp_path)
    del srv2.env["DATABASE_URL"]
    del srv2.env["SECRET_KEY"]
    srv2.start()
    try:
        assert srv2.get("/api/resumes/", token=tok).status_code == 200
        assert "new database" not in srv2.log_text(since_start=True)
    finally:
        assert srv2.stop() == 0


@pytest.mark.parametrize("env", [
    {"DB_NAME": "resumate", "DB_PASSWORD": "s3cr3t!", "DB_PORT": "1"},  # a password without a user
    {"DATABASE_URL": "postgres://app:s3cr3t!@127.0.0.1:1/x?port=bad-s3cr3t!"},  # echoed by libpq
])
def test_database_errors_never_show_the_password(tmp_path, env):
    r = run(SERVER_BIN, ["--port", "0"], env={**env, "SECRET_KEY": "k" * 40}, cwd=tmp_path)
    assert r.returncode != 0
    assert len(r.stderr.strip().splitlines()) == 1
    assert "s3cr3t" not in r.stderr


def test_postgres_settings_are_read(tmp_path):
    # No PostgreSQL server here: the point is that DB_* become a postgres URL, and that the failure is
    # one line without the password.
    r = run(SERVER_BIN, ["--port", "0"], env={"DB_NAME": "resumate", "DB_USER": "app", "DB_PASSWORD": "s3cr3t!",
                                             "DB_HOST": "127.0.0.1", "DB_PORT": "1", "SECRET_KEY": "k" * 40},
            cwd=tmp_path)
    assert r.returncode != 0
    assert "database" in r.stderr and "s3cr3t" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


# ---- resumate-admin ----

def admin(tmp_path, *args, input=None, env=None):
    e = {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    e.update(env or {})
    return run(ADMIN_BIN, args, env=e, cwd=tmp_path, input=input)


def test_admin_manages_models_and_users(tmp_path):
    r = admin(tmp_path, "models", "list")
    assert r.returncode == 0
    assert [line.split()[0] for line in r.stdout.splitlines()[1:]] == ["Cypher", "Deepseek", "Gemini"]
    r = admin(tmp_path, "models", "create", "display_name=Local", "model_name=llama3", "api_provider=openai_compatible",
              "base_url=http://127.0.0.1:11434/v1", "api_key_name=", "daily_limit=3", "login_required=true")
    assert r.returncode == 0, r.stderr
    r = admin(tmp_path, "models", "create", "display_name=Bad", "api_provider=nope")
    assert r.returncode == 1 and "api_provider" in r.stderr
    assert admin(tmp_path, "models", "update", "local", "description=Runs at home").returncode == 0
    assert admin(tmp_path, "models", "deactivate", "Cypher").returncode == 0
    assert admin(tmp_path, "models", "deactivate", "Nope").returncode == 1
    listing = admin(tmp_path, "models", "list").stdout
    assert "Local" in listing and "openai_compatible" in listing
    r = admin(tmp_path, "createsuperuser", "root", "root@example.com", input="Adm1n-password-long\n")
    assert r.returncode == 0, r.stderr
    assert "Adm1n-password-long" not in r.stdout + r.stderr
    assert admin(tmp_path, "createsuperuser", "root", "root@example.com",
                 env={"RESUMATE_ADMIN_PASSWORD": "x" * 12}).returncode == 1
    assert "examples created: 0" in admin(tmp_path, "seed").stdout

    srv = Server(tmp_path / "srv")
    srv.env["DATABASE_URL"] = f"sqlite:///{tmp_path}/db.sqlite3"
    srv.start()
    try:
        names = [m["model_name"] for m in srv.get("/api/ai/models/").json()["data"]]
        assert names == ["Deepseek", "Gemini", "Local"]  # Cypher deactivated, Local added
        tok = srv.login("root", "Adm1n-password-long")["access"]
        assert srv.get("/api/resumes/", token=tok).status_code == 200
    finally:
        assert srv.stop() == 0


def test_admin_usage_errors(tmp_path):
    assert admin(tmp_path).returncode == 2
    assert admin(tmp_path, "frobnicate").returncode == 2
    assert admin(tmp_path, "--help").returncode == 0


def test_cache_sees_changes_from_other_processes_within_the_ttl(tmp_path):
    srv = Server(tmp_path / "srv", env={"CACHE_TTL": "1"})
    srv.start()
    try:
        srv.get("/api/ai/models/")
        hit = srv.get("/api/ai/models/")
        assert hit.headers["X-Cache-Status"] == "HIT"
        assert "Cypher" in [m["model_name"] for m in hit.json()["data"]]
        r = run(ADMIN_BIN, ["models", "deactivate", "Cypher"], env={"DATABASE_URL": srv.env["DATABASE_URL"]})
        assert r.returncode == 0, r.stderr
        import time
        time.sleep(1.2)
        fresh = srv.get("/api/ai/models/")
        assert fresh.headers["X-Cache-Status"] == "MISS"
        assert fresh.json()["cache_status"] == "MISS (Response from database)"
        assert "Cypher" not in [m["model_name"] for m in fresh.json()["data"]]
    finally:
        assert srv.stop() == 0
