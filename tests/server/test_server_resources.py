"""Resumes, job applications, examples and AI models over HTTP, including the "differ on purpose"
items of API.md and cross-user access (always 404)."""
import re

import pytest

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
NOT_FOUND = {"detail": "Not found."}


@pytest.fixture(scope="module")
def alice(server):
    return server.new_user()


@pytest.fixture(scope="module")
def bob(server):
    return server.new_user()


# ---- resumes ----

def test_resume_crud(server, alice):
    name, tok, _ = alice
    r = server.post("/api/resumes/", token=tok, json={"title": "First", "content": "# Me", "user": 999})
    assert r.status_code == 201
    res = r.json()
    assert set(res) == {"id", "user", "title", "content", "created_at", "updated_at"}
    assert res["user"] == name and TS.match(res["created_at"]) and TS.match(res["updated_at"])
    rid = res["id"]
    assert server.get(f"/api/resumes/{rid}/", token=tok).json() == res
    r = server.put(f"/api/resumes/{rid}/", token=tok, json={"title": "Second", "content": "## Me"})
    assert r.status_code == 200 and r.json()["title"] == "Second"
    r = server.put(f"/api/resumes/{rid}/", token=tok, json={"title": "Only title"})
    assert r.status_code == 400 and r.json() == {"content": ["This field is required."]}
    r = server.patch(f"/api/resumes/{rid}/", token=tok, json={"content": "patched"})
    assert r.status_code == 200 and r.json()["content"] == "patched" and r.json()["title"] == "Second"
    r = server.delete(f"/api/resumes/{rid}/", token=tok)
    assert r.status_code == 204 and r.content == b""
    assert server.get(f"/api/resumes/{rid}/", token=tok).status_code == 404
    assert server.delete(f"/api/resumes/{rid}/", token=tok).status_code == 404


def test_resume_validation(server, alice):
    _, tok, _ = alice
    r = server.post("/api/resumes/", token=tok, json={})
    assert r.status_code == 400
    assert r.json() == {"title": ["This field is required."], "content": ["This field is required."]}
    r = server.post("/api/resumes/", token=tok, json={"title": "x" * 256, "content": " "})
    assert r.status_code == 400
    assert r.json() == {"title": ["Ensure this field has no more than 255 characters."],
                        "content": ["This field may not be blank."]}
    r = server.post("/api/resumes/", token=tok, json={"title": None, "content": "c"})
    assert r.json() == {"title": ["This field may not be null."]}


def test_resume_list_newest_first_and_paging(server):
    _, tok, _ = server.new_user()
    ids = [server.post("/api/resumes/", token=tok, json={"title": f"R{i}", "content": "c"}).json()["id"]
           for i in range(3)]
    server.patch(f"/api/resumes/{ids[0]}/", token=tok, json={"title": "R0 changed"})
    lst = server.get("/api/resumes/", token=tok).json()
    assert isinstance(lst, list)
    assert [x["id"] for x in lst] == [ids[0], ids[2], ids[1]]
    page = server.get("/api/resumes/?limit=2", token=tok).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["previous"] is None
    assert page["next"].endswith("/api/resumes/?limit=2&offset=2")


def test_deleting_a_resume_nulls_resume_used(server):
    _, tok, _ = server.new_user()
    rid = server.post("/api/resumes/", token=tok, json={"title": "T", "content": "C"}).json()["id"]
    app = server.post("/api/job-applications/", token=tok, json={"job_title": "Dev", "resume_used": rid}).json()
    assert app["resume_used"] == rid
    assert server.delete(f"/api/resumes/{rid}/", token=tok).status_code == 204
    assert server.get(f"/api/job-applications/{app['id']}/", token=tok).json()["resume_used"] is None


# ---- job applications ----

APP_FIELDS = {"id", "job_title", "company_name", "original_job_description", "date_applied", "status", "notes",
              "is_deleted", "is_example", "created_at", "updated_at", "user", "resume_used"}


def test_application_crud_and_soft_delete(server, alice):
    _, tok, _ = alice
    r = server.post("/api/job-applications/", token=tok, json={})
    assert r.status_code == 201
    app = r.json()
    assert set(app) == APP_FIELDS
    assert app["status"] == "Applied" and app["is_deleted"] is False and app["is_example"] is False
    aid = app["id"]
    r = server.post("/api/job-applications/", token=tok, json={
        "job_title": "Engineer", "company_name": "ACME", "date_applied": "2025-07-01", "status": "Interviewing",
        "notes": "n", "is_example": True, "is_deleted": True, "user": 12345})
    assert r.status_code == 201
    full = r.json()
    assert full["is_example"] is False and full["is_deleted"] is False and full["user"] == app["user"]
    assert full["date_applied"] == "2025-07-01"
    r = server.patch(f"/api/job-applications/{aid}/", token=tok, json={"status": "Offer"})
    assert r.status_code == 200 and r.json()["status"] == "Offer"
    r = server.put(f"/api/job-applications/{aid}/", token=tok, json={"notes": "put"})
    assert r.status_code == 200 and r.json()["notes"] == "put" and r.json()["status"] == "Offer"
    assert server.delete(f"/api/job-applications/{aid}/", token=tok).status_code == 204
    assert server.get(f"/api/job-applications/{aid}/", token=tok).json() == NOT_FOUND
    assert server.delete(f"/api/job-applications/{aid}/", token=tok).status_code == 404
    assert aid not in [a["id"] for a in server.get("/api/job-applications/", token=tok).json()]


def test_application_validation(server, alice, bob):
    _, tok, _ = alice
    _, btok, _ = bob
    bob_resume = server.post("/api/resumes/", token=btok, json={"title": "B", "content": "B"}).json()["id"]
    cases = [
        ({"status": "Hired"}, {"status": ['"Hired" is not a valid choice.']}),
        ({"status": "applied"}, {"status": ['"applied" is not a valid choice.']}),
        ({"date_applied": "01/07/2025"},
         {"date_applied": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]}),
        ({"company_name": "c" * 256}, {"company_name": ["Ensure this field has no more than 255 characters."]}),
        ({"resume_used": 999999}, {"resume_used": ['Invalid pk "999999" - object does not exist.']}),
        # another user's resume is rejected exactly like a missing one
        ({"resume_used": bob_resume}, {"resume_used": [f'Invalid pk "{bob_resume}" - object does not exist.']}),
        ({"resume_used": "abc"}, {"resume_used": ["Incorrect type. Expected pk value, received str."]}),
    ]
    for body, expected in cases:
        r = server.post("/api/job-applications/", token=tok, json=body)
        assert r.status_code == 400, body
        assert r.json() == expected, body
    ok = server.post("/api/job-applications/", token=tok, json={"company_name": None, "date_applied": None})
    assert ok.status_code == 201 and ok.json()["company_name"] is None


def test_application_list_filters_and_paging_are_opt_in(server):
    _, tok, _ = server.new_user()
    for st in ["Applied", "Offer", "Applied", "Rejected", "Applied"]:
        assert server.post("/api/job-applications/", token=tok, json={"status": st}).status_code == 201
    plain = server.get("/api/job-applications/", token=tok).json()
    assert isinstance(plain, list) and len(plain) == 5
    ids = [a["id"] for a in plain]
    assert ids == sorted(ids, reverse=True)
    applied = server.get("/api/job-applications/?status=Applied", token=tok).json()
    assert isinstance(applied, list) and [a["status"] for a in applied] == ["Applied"] * 3
    page = server.get("/api/job-applications/?limit=2&offset=2", token=tok).json()
    assert page["count"] == 5 and [a["id"] for a in page["results"]] == ids[2:4]
    assert page["next"].endswith("?limit=2&offset=4") and page["previous"].endswith("?limit=2")
    page = server.get("/api/job-applications/?limit=2&status=Applied", token=tok).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and "status=Applied" in page["next"]
    r = server.get("/api/job-applications/?status=Hired", token=tok)
    assert r.status_code == 400


# ---- cross-user access: every route with an id is 404 for someone else's object ----

def test_cross_user_access_is_not_found_everywhere(server, alice, bob):
    _, atok, _ = alice
    _, btok, _ = bob
    rid = server.post("/api/resumes/", token=atok, json={"title": "A", "content": "A"}).json()["id"]
    aid = server.post("/api/job-applications/", token=atok, json={"job_title": "A"}).json()["id"]
    for path in [f"/api/resumes/{rid}/", f"/api/job-applications/{aid}/"]:
        for method, body in [("GET", None), ("PUT", {"title": "x", "content": "y"}), ("PATCH", {"notes": "x"}),
                             ("DELETE", None)]:
            r = server.request(method, path, token=btok, json=body)
            assert r.status_code == 404, (method, path)
            assert r.json() == NOT_FOUND
    assert rid not in [x["id"] for x in server.get("/api/resumes/", token=btok).json()]
    assert aid not in [x["id"] for x in server.get("/api/job-applications/", token=btok).json()]
    # untouched for the owner
    assert server.get(f"/api/resumes/{rid}/", token=atok).json()["title"] == "A"
    assert server.get(f"/api/job-applications/{aid}/", token=atok).json()["job_title"] == "A"


def test_ids_that_are_not_numbers_or_too_large(server, alice):
    _, tok, _ = alice
    for path in ["/api/resumes/abc/", "/api/resumes/1.5/", "/api/job-applications/x1/",
                 "/api/resumes/99999999999999999999999/", "/api/job-applications/0/"]:
        r = server.get(path, token=tok)
        assert r.status_code == 404, path
        assert r.json() == NOT_FOUND


# ---- public data ----

def test_models_list_and_cache_status(server):
    first = server.get("/api/ai/models/")
    second = server.get("/api/ai/models/")
    assert first.status_code == second.status_code == 200
    statuses = [first.headers["X-Cache-Status"], second.headers["X-Cache-Status"]]
    assert statuses[1] == "HIT"
    for r in (first, second):
        body = r.json()
        assert body["cache_status"] == {"HIT": "HIT (Response from Redis cache)",
                                        "MISS": "MISS (Response from database)"}[r.headers["X-Cache-Status"]]
        assert [m["model_name"] for m in body["data"]] == ["Cypher", "Deepseek", "Gemini"]
        for m in body["data"]:
            assert set(m) == {"model_name", "login_required", "response_time_info", "description"}
    gemini = [m for m in second.json()["data"] if m["model_name"] == "Gemini"][0]
    assert gemini["login_required"] is True
    _, tok, _ = server.new_user()
    assert server.get("/api/ai/models/", token=tok).json()["data"] == second.json()["data"]


def test_examples_list_detail_and_cache(server, alice):
    r = server.get("/api/example-job-applications/")
    assert r.status_code == 200
    body = r.json()
    assert body["cache_status"] in ("HIT (Response from Redis cache)", "MISS (Response from database)")
    assert 1 <= len(body["data"]) <= 5
    again = server.get("/api/example-job-applications/")
    assert again.headers["X-Cache-Status"] == "HIT"
    assert again.json()["cache_status"] == "HIT (Response from Redis cache)"
    assert again.json()["data"] == body["data"]
    ex = body["data"][0]
    assert ex["is_example"] is True
    # the detail view works (it was a 500 on the Django server)
    d = server.get(f"/api/example-job-applications/{ex['id']}/")
    assert d.status_code == 200 and d.json() == ex
    _, tok, _ = alice
    own = server.post("/api/job-applications/", token=tok, json={"job_title": "mine"}).json()["id"]
    assert server.get(f"/api/example-job-applications/{own}/").json() == NOT_FOUND
    assert server.get("/api/example-job-applications/999999/").status_code == 404
    # examples are not anyone's own applications
    assert ex["id"] not in [a["id"] for a in server.get("/api/job-applications/", token=tok).json()]
