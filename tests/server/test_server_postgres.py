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


def test_default_event_threads_are_two_per_cpu(pg_server):
    # Each request waits out a round trip to PostgreSQL, so the default is twice the CPUs.
    assert f"({2 * os.cpu_count()} HTTP threads," in pg_server.log_text()


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


# ---- a database made by the Django ResuMate server, served as it is ----

def django_hash(password, salt="Q9pW2xLmZ8vR4tY6uI0oPa", iterations=260000):
    """A pbkdf2_sha256 hash exactly as Django makes it (computed from the PBKDF2 definition)."""
    import base64
    import hashlib
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(dk).decode()}"


@pytest.fixture(scope="module")
def django_db():
    """A fresh database loaded with Django's schema dump and rows inserted the way Django stores them."""
    name = f"rm_django_{secrets.token_hex(4)}"
    psql(f"CREATE DATABASE {name}")
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    schema = os.path.join(os.path.dirname(__file__), "..", "data", "django-schema.sql")
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-f", schema], check=True, capture_output=True,
                   timeout=60)
    rows = f"""
    INSERT INTO auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email,
                           is_staff, is_active, date_joined) VALUES
      (7, '{django_hash("Old-Django-pass-7")}', NULL, false, 'dora', '', '', 'dora@example.com', false, true,
       '2025-07-01 10:00:00+00'),
      (8, '', NULL, false, 'empty', '', '', '', false, true, '2025-07-01 10:00:00+00'),
      (9, '!unusableDjangoPasswordxxxxxxxxxxxxxxxxx', NULL, false, 'unusable', '', '', '', false, true,
       '2025-07-01 10:00:00+00');
    SELECT setval('auth_user_id_seq', 9);
    INSERT INTO resume_resume (id, title, content, created_at, updated_at, user_id) VALUES
      (31, 'Dora''s CV', '# Dora', '2025-07-02 09:00:00.5+00', '2025-07-03 09:00:00+00', 7);
    SELECT setval('resume_resume_id_seq', 31);
    INSERT INTO job_tracker_jobapplication (id, job_title, company_name, original_job_description, date_applied,
        status, notes, is_deleted, is_example, created_at, updated_at, resume_used_id, user_id) VALUES
      (41, 'Data Engineer', 'Old Co', NULL, '2025-07-04', 'Interviewing', NULL, false, false,
       '2025-07-04 12:00:00+00', '2025-07-04 12:00:00+00', 31, 7),
      (42, 'Gone', NULL, NULL, NULL, 'Applied', NULL, true, false,
       '2025-07-05 12:00:00+00', '2025-07-05 12:00:00+00', NULL, 7);
    SELECT setval('job_tracker_jobapplication_id_seq', 42);
    """
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", rows], check=True, capture_output=True,
                   timeout=60)
    yield name, url
    psql(f"DROP DATABASE IF EXISTS {name}")


def test_serves_a_django_database_with_its_passwords(django_db, tmp_path_factory):
    name, url = django_db
    columns_before = subprocess.run(
        ["psql", url, "-Atc", "SELECT table_name, column_name, data_type FROM information_schema.columns "
                              "WHERE table_schema = 'public' AND table_name NOT LIKE 'rm\\_%' ORDER BY 1, 2"],
        check=True, capture_output=True, text=True, timeout=60).stdout
    srv = Server(tmp_path_factory.mktemp("django"), env={"DATABASE_URL": url})
    srv.start()
    try:
        pair = srv.login("dora", "Old-Django-pass-7")  # the password Django hashed
        resumes = srv.get("/api/resumes/", token=pair["access"]).json()
        assert [(r["id"], r["title"], r["user"]) for r in resumes] == [(31, "Dora's CV", "dora")]
        assert resumes[0]["created_at"] == "2025-07-02T09:00:00.500000Z"
        apps = srv.get("/api/job-applications/", token=pair["access"]).json()
        assert [(a["id"], a["status"], a["resume_used"], a["user"]) for a in apps] == [(41, "Interviewing", 31, 7)]
        for user in ("empty", "unusable"):  # Django's empty and "!" passwords never authenticate
            for pw in ("", "x", "!unusableDjangoPasswordxxxxxxxxxxxxxxxxx"):
                r = srv.post("/api/auth/token/", json={"username": user, "password": pw})
                assert r.status_code in (400, 401), (user, pw, r.status_code)
        # new rows get ids after Django's
        new = srv.post("/api/resumes/", token=pair["access"], json={"title": "New", "content": "x"}).json()
        assert new["id"] > 31
    finally:
        assert srv.stop() == 0
    columns_after = subprocess.run(
        ["psql", url, "-Atc", "SELECT table_name, column_name, data_type FROM information_schema.columns "
                              "WHERE table_schema = 'public' AND table_name NOT LIKE 'rm\\_%' ORDER BY 1, 2"],
        check=True, capture_output=True, text=True, timeout=60).stdout
    assert columns_after == columns_before
