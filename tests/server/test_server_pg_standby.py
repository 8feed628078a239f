"""resumate-server on PostgreSQL with a real streaming-replication hot standby as its read replica.

scripts/pg-standby.sh makes the standby (pg_basebackup -R of the RM_TEST_PG_URL cluster, on 127.0.0.1).
Pausing the standby's WAL replay makes every read show where it was served: a row written after the
pause exists on the primary only. Checked through HTTP: the writer reads its own write at once (the
primary, inside replica_lag); after replica_lag the list comes from the standby (the row is not there
yet); after replay resumes the standby has it; when the standby is stopped, reads still succeed; the
standby's log shows no failed statement (a replica without the schema yet is never asked).
"""
import os
import secrets
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from rm_server import Server

PG_URL = os.environ.get("RM_TEST_PG_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="RM_TEST_PG_URL is not set (scripts/pg.sh prints one)")
STANDBY = Path(__file__).resolve().parents[2] / "scripts" / "pg-standby.sh"
LAG = 0.5  # replica_lag of the server, seconds


def sql(url, query):
    r = subprocess.run(["psql", url, "-X", "-v", "ON_ERROR_STOP=1", "-tAq", "-c", query], check=True,
                       capture_output=True, text=True, timeout=60)
    return r.stdout.strip()


def db_url(url, name):
    return url.rsplit("/", 1)[0] + "/" + name


def wait_replayed(primary, standby, timeout=30):
    """Until the standby has replayed everything the primary wrote so far."""
    target = sql(primary, "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + timeout
    while sql(standby, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") != "t":
        assert time.monotonic() < deadline, "the standby did not catch up"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def standby():
    r = subprocess.run(["bash", str(STANDBY)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    url = r.stdout.strip().splitlines()[-1]
    yield url
    subprocess.run(["bash", str(STANDBY), "stop"], capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def replicated(standby, tmp_path_factory):
    name = f"rm_standby_{secrets.token_hex(4)}"
    sql(PG_URL, f"CREATE DATABASE {name}")
    primary, replica = db_url(PG_URL, name), db_url(standby, name)
    wait_replayed(PG_URL, standby)
    srv = Server(tmp_path_factory.mktemp("standby"))
    srv.env["DATABASE_URL"] = f"{primary}?replica={quote(replica, safe='')}&replica_lag={LAG}"
    srv.start()
    wait_replayed(primary, replica)  # the schema and the seed
    yield srv, primary, replica
    rc = srv.stop()
    sql(PG_URL, f"DROP DATABASE IF EXISTS {name}")
    assert rc == 0


def titles(srv, tok):
    r = srv.get("/api/job-applications/", token=tok)
    assert r.status_code == 200, r.text
    return {a["job_title"] for a in r.json()}


def test_the_standby_is_a_real_hot_standby(standby):
    assert sql(standby, "SELECT pg_is_in_recovery()") == "t"
    assert sql(standby, "SHOW transaction_read_only") == "on"
    assert sql(standby, "SELECT status FROM pg_stat_wal_receiver") == "streaming"


def test_reads_go_to_the_standby_except_the_writers_own_recent_writes(replicated):
    srv, primary, replica = replicated
    _, tok, _ = srv.new_user()
    first = srv.post("/api/job-applications/", token=tok, json={"job_title": "Before pause", "company_name": "A"})
    assert first.status_code == 201, first.text
    wait_replayed(primary, replica)
    time.sleep(LAG + 0.3)
    assert titles(srv, tok) == {"Before pause"}

    sql(replica, "SELECT pg_wal_replay_pause()")
    deadline = time.monotonic() + 30
    while sql(replica, "SELECT pg_get_wal_replay_pause_state()") != "paused":
        assert time.monotonic() < deadline, "the standby did not pause its replay"
        time.sleep(0.05)
    try:
        r = srv.post("/api/job-applications/", token=tok, json={"job_title": "After pause", "company_name": "B"})
        assert r.status_code == 201, r.text
        # inside replica_lag: the primary answers, so the writer sees its write
        assert titles(srv, tok) == {"Before pause", "After pause"}
        time.sleep(LAG + 0.3)
        assert sql(replica, "SELECT count(*) FROM job_tracker_jobapplication WHERE NOT is_example") == "1"
        # outside it: the paused standby answers, and it has not replayed the second row
        assert titles(srv, tok) == {"Before pause"}
    finally:
        sql(replica, "SELECT pg_wal_replay_resume()")
    wait_replayed(primary, replica)
    assert titles(srv, tok) == {"Before pause", "After pause"}
    log = Path(os.environ.get("RM_PG_DIR", "/tmp/resumate-pg")) / "standby" / "postgres.log"
    assert "ERROR" not in log.read_text()


def test_a_stopped_standby_is_skipped(replicated):
    srv, primary, replica = replicated
    _, tok, _ = srv.new_user()
    assert srv.post("/api/job-applications/", token=tok, json={"job_title": "Kept", "company_name": "C"}).status_code == 201
    subprocess.run(["bash", str(STANDBY), "stop"], check=True, capture_output=True, timeout=60)
    time.sleep(LAG + 0.3)
    for _ in range(5):
        assert titles(srv, tok) == {"Kept"}
    assert srv.get("/healthz").status_code == 200
