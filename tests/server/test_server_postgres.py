"""resumate-server on PostgreSQL: a fresh database of the cluster named by RM_TEST_PG_URL (scripts/pg.sh
starts one; scripts/test.sh exports it), configured the Django way with DB_NAME/DB_USER/DB_HOST/DB_PORT."""
import os
import secrets
import subprocess
from urllib.parse import urlparse

import pytest

from rm_server import Server

PG_URL = os.environ.get("RM_TEST_PG_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="RM_TEST_PG_URL is not set (scripts/pg.sh prints one)")


def psql(sql):
    subprocess.run(["psql", PG_URL, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True, capture_output=True,
                   timeout=60)


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory):
    name = f"rm_server_{secrets.token_hex(4)}"
    psql(f"CREATE DATABASE {name}")
    u = urlparse(PG_URL)
    env = {"DB_NAME": name, "DB_USER": u.username or "postgres", "DB_HOST": u.hostname or "127.0.0.1",
           "DB_PORT": str(u.port or 5432)}
    srv = Server(tmp_path_factory.mktemp("pg"), env=env)
    del srv.env["DATABASE_URL"]
    srv.start()
    yield srv
    rc = srv.stop()
    psql(f"DROP DATABASE IF EXISTS {name}")
    assert rc == 0


def test_seeded_and_serving(pg_server):
    models = pg_server.get("/api/ai/models/").json()["data"]
    assert [m["model_name"] for m in models] == ["Cypher", "Deepseek", "Gemini"]
    assert len(pg_server.get("/api/example-job-applications/").json()["data"]) == 5
    assert pg_server.get("/healthz").json() == {"status": "ok"}


def test_flows_on_postgres(pg_server):
    _, tok, refresh = pg_server.new_user()
    _, other, _ = pg_server.new_user()
    rid = pg_server.post("/api/resumes/", token=tok, json={"title": "PG", "content": "on postgres"}).json()["id"]
    app = pg_server.post("/api/job-applications/", token=tok, json={"job_title": "DBA", "resume_used": rid,
                                                                    "date_applied": "2025-07-24"})
    assert app.status_code == 201
    aid = app.json()["id"]
    assert pg_server.get(f"/api/job-applications/{aid}/", token=other).status_code == 404
    assert pg_server.delete(f"/api/resumes/{rid}/", token=tok).status_code == 204
    assert pg_server.get(f"/api/job-applications/{aid}/", token=tok).json()["resume_used"] is None
    assert pg_server.delete(f"/api/job-applications/{aid}/", token=tok).status_code == 204
    assert pg_server.get("/api/job-applications/", token=tok).json() == []
    assert pg_server.post("/api/auth/token/blacklist/", json={"refresh": refresh}).status_code == 200
    assert pg_server.post("/api/auth/token/refresh/", json={"refresh": refresh}).status_code == 401
