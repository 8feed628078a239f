"""?search= and ?ordering= on the lists (API.md "Extensions"): DRF SearchFilter/OrderingFilter semantics,
400s naming the parameter, the combination with ?status= and ?limit=/?offset= (count from the library's
count call, links that carry the filters), the default shapes unchanged, and each user seeing only their
own rows. Every test runs on SQLite and, when RM_TEST_PG_URL is set, on a fresh PostgreSQL database."""
import os
import secrets
import subprocess
from urllib.parse import parse_qs, urlparse, urlsplit

import pytest
from rm_server import Server

PG_URL = os.environ.get("RM_TEST_PG_URL")

APPS = "/api/job-applications/"
RESUMES = "/api/resumes/"
EXAMPLES = "/api/example-job-applications/"
APP_FIELDS = "id, created_at, updated_at, job_title, company_name, status, date_applied"


def psql(sql):
    subprocess.run(["psql", PG_URL, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True, capture_output=True,
                   timeout=60)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request, tmp_path_factory):
    """This module's server: SQLite, then PostgreSQL (skipped without RM_TEST_PG_URL)."""
    env, name = None, None
    if request.param == "postgres":
        if not PG_URL:
            pytest.skip("RM_TEST_PG_URL is not set (scripts/pg.sh prints one)")
        name = f"rm_lists_{secrets.token_hex(4)}"
        psql(f"CREATE DATABASE {name}")
        u = urlparse(PG_URL)
        env = {"DB_NAME": name, "DB_USER": u.username or "postgres", "DB_HOST": u.hostname or "127.0.0.1",
               "DB_PORT": str(u.port or 5432)}
    srv = Server(tmp_path_factory.mktemp(request.param), env=env)
    if name:
        del srv.env["DATABASE_URL"]
    srv.start()
    yield srv
    rc = srv.stop()
    if name:
        psql(f"DROP DATABASE IF EXISTS {name}")
    assert rc == 0, f"server exit status {rc}"


@pytest.fixture(scope="module")
def carol(server):
    """A user with six applications and three resumes; another user with look-alike rows."""
    _, tok, _ = server.new_user()
    rows = [
        {"job_title": "Senior Python Developer", "company_name": "TechCorp", "status": "Applied",
         "original_job_description": "Django, REST and 100% test coverage", "date_applied": "2025-07-01"},
        {"job_title": "Frontend Engineer", "company_name": "Python Works", "status": "Interviewing",
         "date_applied": "2025-06-01"},
        {"job_title": "Data Engineer", "company_name": "Ünïcode GmbH", "status": "Applied",
         "original_job_description": "Grüße aus Köln"},
        {"job_title": "backend dev", "company_name": "acme_corp", "status": "Offer", "date_applied": "2025-08-01"},
        {"job_title": "Designer", "company_name": "Studio", "status": "Rejected",
         "original_job_description": "figma, python scripting"},
        {"job_title": None, "company_name": None, "status": "Applied", "notes": "python in notes only"},
    ]
    ids = []
    for body in rows:
        r = server.post(APPS, token=tok, json=body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    rids = [server.post(RESUMES, token=tok, json=body).json()["id"] for body in [
        {"title": "Backend CV", "content": "Python, C and SQL"},
        {"title": "frontend cv", "content": "React; 50% design"},
        {"title": "Zeta", "content": "c++ and PYTHON"},
    ]]
    _, other, _ = server.new_user()
    server.post(APPS, token=other, json={"job_title": "Python everywhere", "company_name": "TechCorp"})
    server.post(RESUMES, token=other, json={"title": "Python", "content": "python"})
    return tok, ids, rids, other


def ids_of(resp):
    assert resp.status_code == 200, resp.text
    body = resp.json()
    rows = body["results"] if isinstance(body, dict) else body
    return [row["id"] for row in rows]


def test_search_terms_all_match_any_field_case_insensitive(server, carol):
    tok, ids, _, _ = carol
    newest = list(reversed(ids))
    assert ids_of(server.get(APPS, token=tok, params={"search": "python"})) == [ids[4], ids[1], ids[0]]
    assert ids_of(server.get(APPS, token=tok, params={"search": "PYTHON"})) == [ids[4], ids[1], ids[0]]
    assert ids_of(server.get(APPS, token=tok, params={"search": "python django"})) == [ids[0]]
    assert ids_of(server.get(APPS, token=tok, params={"search": "engineer,works"})) == [ids[1]]
    assert ids_of(server.get(APPS, token=tok, params={"search": "  "})) == newest  # blank: no filter
    assert ids_of(server.get(APPS, token=tok, params={"search": ""})) == newest
    assert ids_of(server.get(APPS, token=tok, params={"search": "nothing-like-this"})) == []
    # notes are not a search field
    assert ids_of(server.get(APPS, token=tok, params={"search": "notes"})) == []


def test_search_wildcards_are_literal_and_non_ascii_folds_ascii_only(server, carol):
    tok, ids, rids, _ = carol
    assert ids_of(server.get(APPS, token=tok, params={"search": "100%"})) == [ids[0]]
    assert ids_of(server.get(APPS, token=tok, params={"search": "%"})) == [ids[0]]
    assert ids_of(server.get(APPS, token=tok, params={"search": "_"})) == [ids[3]]
    assert ids_of(server.get(APPS, token=tok, params={"search": "e_c"})) == [ids[3]]  # acme_corp
    assert ids_of(server.get(APPS, token=tok, params={"search": "e%c"})) == []
    assert ids_of(server.get(APPS, token=tok, params={"search": "köln"})) == [ids[2]]
    assert ids_of(server.get(APPS, token=tok, params={"search": "KÖLN"})) == []  # Ö is not folded
    assert ids_of(server.get(APPS, token=tok, params={"search": "ünïcode"})) == []
    assert ids_of(server.get(APPS, token=tok, params={"search": "Ünïcode"})) == [ids[2]]
    assert ids_of(server.get(RESUMES, token=tok, params={"search": "50%"})) == [rids[1]]
    # Invalid UTF-8 in the query is a 400, never a crash.
    r = server.get(APPS + "?search=%C3", token=tok)
    assert r.status_code == 400 and r.json() == {"search": ["Enter valid UTF-8 text."]}
    r = server.get(APPS + "?search=" + "+".join("abcdefghijklmnopq"), token=tok)
    assert r.status_code == 400 and r.json() == {"search": ["Too many search terms (at most 16)."]}


def test_ordering_fields_directions_nulls_and_ties(server, carol):
    tok, ids, _, _ = carol

    def order(o):
        return ids_of(server.get(APPS, token=tok, params={"ordering": o}))

    # code-point order ("D" < "F" < "S" < "b"), null last ascending and first descending
    assert order("job_title") == [ids[2], ids[4], ids[1], ids[0], ids[3], ids[5]]
    assert order("-job_title") == [ids[5], ids[3], ids[0], ids[1], ids[4], ids[2]]
    assert order("date_applied") == [ids[1], ids[0], ids[3], ids[2], ids[4], ids[5]]  # nulls by id, ascending
    assert order("-date_applied") == [ids[5], ids[4], ids[2], ids[3], ids[0], ids[1]]
    assert order("status,-id") == [ids[5], ids[2], ids[0], ids[1], ids[3], ids[4]]
    assert order("created_at") == ids
    assert order("-created_at") == list(reversed(ids)) == order("")
    assert order("id") == ids and order(" -id ") == list(reversed(ids))
    assert order("company_name,,job_title") == order("company_name")
    assert ids_of(server.get(APPS, token=tok, params={"ordering": "job_title", "search": "python"})) == \
        [ids[4], ids[1], ids[0]]
    assert ids_of(server.get(APPS, token=tok, params={"ordering": "-job_title", "status": "Applied"})) == \
        [ids[5], ids[0], ids[2]]


def test_ordering_unknown_field_is_a_400_naming_it(server, carol):
    tok, _, _, _ = carol
    r = server.get(APPS, token=tok, params={"ordering": "salary"})
    assert r.status_code == 400
    assert r.json() == {"ordering": [f'Unknown ordering field "salary". Allowed: {APP_FIELDS}.']}
    r = server.get(APPS, token=tok, params={"ordering": "job_title,-notes", "limit": 2})
    assert r.status_code == 400 and "\"-notes\"" in r.json()["ordering"][0]
    r = server.get(RESUMES, token=tok, params={"ordering": "job_title"})
    assert r.status_code == 400
    assert r.json() == {"ordering": ['Unknown ordering field "job_title". Allowed: id, created_at, updated_at, title.']}
    r = server.get(RESUMES, token=tok, params={"search": "%FF"})  # a literal "%FF" is fine
    assert r.status_code == 200 and r.json() == []
    r = server.get(EXAMPLES, params={"ordering": "nope"})
    assert r.status_code == 400 and list(r.json()) == ["ordering"]


def test_paged_envelope_counts_filtered_rows_and_links_keep_the_filters(server, carol):
    tok, ids, _, _ = carol
    r = server.get(APPS, token=tok, params={"search": "e", "ordering": "job_title", "limit": 2, "offset": 1})
    body = r.json()
    everything = ids_of(server.get(APPS, token=tok, params={"search": "e", "ordering": "job_title"}))
    assert body["count"] == len(everything) == 5
    assert [a["id"] for a in body["results"]] == everything[1:3]
    nxt = urlsplit(body["next"])
    assert parse_qs(nxt.query) == {"limit": ["2"], "offset": ["3"], "ordering": ["job_title"], "search": ["e"]}
    assert nxt.query == "limit=2&offset=3&ordering=job_title&search=e"  # DRF's sorted parameter order
    assert urlsplit(body["previous"]).query == "limit=2&ordering=job_title&search=e"
    # following the links walks the same rows
    seen = [a["id"] for a in body["results"]]
    url = body["next"]
    while url:
        page = server.get(url[url.index("/api/"):], token=tok).json()
        seen += [a["id"] for a in page["results"]]
        url = page["next"]
    assert seen == everything[1:]
    # status and search together, with a space and a '&' encoded in the links
    r = server.get(APPS, token=tok, params={"search": "python &", "status": "Applied", "limit": 1})
    body = r.json()
    assert body["count"] == 0 and body["next"] is None
    r = server.get(APPS, token=tok, params={"search": "python dev", "status": "Applied", "limit": 1})
    body = r.json()
    assert body["count"] == 1 and body["results"][0]["id"] == ids[0] and body["next"] is None
    r = server.get(APPS, token=tok, params={"search": "e r", "status": "Applied", "limit": 1})
    body = r.json()
    assert body["count"] == 2
    assert urlsplit(body["next"]).query == "limit=1&offset=1&search=e+r&status=Applied"
    assert parse_qs(urlsplit(body["next"]).query)["search"] == ["e r"]
    # resumes
    body = server.get(RESUMES, token=tok, params={"search": "python", "limit": 1, "ordering": "title"}).json()
    assert body["count"] == 2 and body["results"][0]["title"] == "Backend CV"
    assert urlsplit(body["next"]).query == "limit=1&offset=1&ordering=title&search=python"


def test_default_shapes_are_unchanged(server, carol):
    tok, ids, rids, _ = carol
    plain = server.get(APPS, token=tok).json()
    assert isinstance(plain, list) and [a["id"] for a in plain] == list(reversed(ids))
    assert isinstance(server.get(APPS, token=tok, params={"search": "python"}).json(), list)
    assert isinstance(server.get(RESUMES, token=tok, params={"ordering": "title"}).json(), list)
    page = server.get(APPS, token=tok, params={"limit": 4}).json()
    assert list(page) == ["count", "next", "previous", "results"] and page["count"] == 6
    assert page["next"].endswith("?limit=4&offset=4") and page["previous"] is None
    page = server.get(RESUMES, token=tok, params={"limit": 2, "offset": 2}).json()
    assert page["count"] == 3 and [r["id"] for r in page["results"]] == [rids[0]]
    assert page["next"] is None and page["previous"].endswith("/api/resumes/?limit=2")


def test_each_user_searches_and_counts_only_their_own_rows(server, carol):
    tok, ids, rids, other = carol
    assert ids_of(server.get(APPS, token=tok, params={"search": "everywhere"})) == []
    theirs = server.get(APPS, token=other, params={"search": "python", "limit": 10}).json()
    assert theirs["count"] == 1 and theirs["results"][0]["job_title"] == "Python everywhere"
    assert server.get(APPS, token=other, params={"search": "techcorp", "limit": 10}).json()["count"] == 1
    assert server.get(RESUMES, token=other, params={"search": "python", "limit": 10}).json()["count"] == 1
    assert server.get(RESUMES, token=tok, params={"search": "python", "limit": 10}).json()["count"] == 2
    assert server.get(APPS, params={"search": "python"}).status_code == 401


def test_examples_search_and_ordering_skip_the_cache(server):
    cached = server.get(EXAMPLES).json()
    assert len(cached["data"]) == 5
    r = server.get(EXAMPLES, params={"search": "python"})
    assert r.status_code == 200 and r.json()["cache_status"].startswith("MISS")
    assert [a["job_title"] for a in r.json()["data"]] == ["Senior Python Developer"]
    r = server.get(EXAMPLES, params={"ordering": "company_name"})
    assert [a["company_name"] for a in r.json()["data"]] == \
        ["CloudNet", "Creative Solutions", "Innovate Inc.", "TechCorp", "Visionary Products"]
    assert server.get(EXAMPLES).json()["data"] == cached["data"]


def test_openapi_lists_the_list_parameters(server):
    doc = server.get("/api/schema/").json()

    def params(path):
        return {p["name"]: p for p in doc["paths"][path]["get"].get("parameters", [])}

    apps, resumes, examples = params(APPS), params(RESUMES), params(EXAMPLES)
    assert set(apps) == {"limit", "offset", "status", "search", "ordering"}
    assert set(resumes) == {"limit", "offset", "search", "ordering"}
    assert set(examples) == {"search", "ordering"}
    assert all(p["in"] == "query" and p["required"] is False for p in [*apps.values(), *resumes.values()])
    assert APP_FIELDS in apps["ordering"]["description"]
    assert "id, created_at, updated_at, title." in resumes["ordering"]["description"]
    assert apps["status"]["schema"]["enum"] == ["Applied", "Interviewing", "Offer", "Rejected"]
    get = doc["paths"][APPS]["get"]
    assert "400" in get["responses"]
    shapes = get["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"]
    assert shapes[0]["type"] == "array" and set(shapes[1]["properties"]) == {"count", "next", "previous", "results"}
    assert "parameters" not in doc["paths"]["/api/ai/models/"]["get"]
