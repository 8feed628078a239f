"""HTTP behaviour every route shares: trailing slashes, HEAD, 405/406/415, Host, 404, bodies,
security headers, CORS, OPTIONS, the schema, /healthz and /metrics."""
import json
import subprocess

import pytest

from rm_server import SERVER_BIN, raw_http

LIST_PATHS = ["/api/resumes/", "/api/job-applications/", "/api/ai/models/", "/api/example-job-applications/",
              "/api/auth/register/", "/api/auth/token/", "/api/auth/token/refresh/", "/api/ai/generate/"]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])
@pytest.mark.parametrize("path", ["/api/resumes", "/api/resumes/7", "/api/auth/token", "/api/ai/models"])
def test_missing_trailing_slash_redirects_for_every_method(server, method, path):
    r = server.request(method, path + "?a=1&b=x%20y")
    assert r.status_code == 301
    assert r.headers["Location"] == path + "/?a=1&b=x%20y"


def test_unknown_paths_answer_json_404(server):
    for path in ["/", "/nope", "/api/", "/api/resumes/abc/", "/api/resumes/1/extra/", "/api/resumes/abc",
                 "/api/job-applications/-1/", "/api/example-job-applications/x/"]:
        r = server.get(path)
        assert r.status_code == 404, path
        assert r.json() == {"detail": "Not found."}
        assert r.headers["Content-Type"] == "application/json"


def test_head_works_wherever_get_does(server):
    for path in ["/api/ai/models/", "/api/example-job-applications/", "/api/schema/", "/healthz"]:
        g = server.get(path)
        h = server.request("HEAD", path)
        assert h.status_code == g.status_code == 200
        assert h.content == b""
        assert h.headers["Content-Type"] == g.headers["Content-Type"]
        assert int(h.headers["Content-Length"]) > 0


def test_method_not_allowed_has_allow_header(server):
    r = server.get("/api/auth/register/")
    assert r.status_code == 405
    assert r.json() == {"detail": 'Method "GET" not allowed.'}
    assert r.headers["Allow"] == "POST, OPTIONS"
    r = server.delete("/api/ai/models/")
    assert r.status_code == 405
    assert r.json() == {"detail": 'Method "DELETE" not allowed.'}
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS"
    _, access, _ = server.new_user()
    r = server.post("/api/resumes/1/", token=access, json={})
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"
    r = server.put("/api/job-applications/", token=access, json={})
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, POST, HEAD, OPTIONS"


def test_unsupported_media_type(server):
    r = server.post("/api/auth/register/", data="username=x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert r.json() == {"detail": 'Unsupported media type "text/plain" in request.'}
    r = server.post("/api/auth/token/", data="<a/>", headers={"Content-Type": "application/xml; charset=utf-8"})
    assert r.status_code == 415
    assert r.json() == {"detail": 'Unsupported media type "application/xml; charset=utf-8" in request.'}


def test_unacceptable_accept_header(server):
    r = server.get("/api/ai/models/", headers={"Accept": "text/html"})
    assert r.status_code == 406
    assert r.json() == {"detail": "Could not satisfy the request Accept header."}
    for ok in ["application/json", "*/*", "application/*", "text/html, application/json;q=0.9"]:
        assert server.get("/api/ai/models/", headers={"Accept": ok}).status_code == 200, ok


def test_host_must_be_allowed(server):
    r = server.get("/api/ai/models/", headers={"Host": "evil.example.com"})
    assert r.status_code == 400
    assert r.json() == {"detail": "Invalid HTTP_HOST header."}
    for host in ["localhost", "localhost:8000", f"127.0.0.1:{server.port}", "[::1]:80"]:
        assert server.get("/api/ai/models/", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_setting(make_server):
    srv = make_server(env={"ALLOWED_HOSTS": "api.example.com,.example.org"})
    assert srv.get("/api/ai/models/", headers={"Host": "api.example.com"}).status_code == 200
    assert srv.get("/api/ai/models/", headers={"Host": "a.b.example.org:443"}).status_code == 200
    assert srv.get("/api/ai/models/", headers={"Host": "example.org"}).status_code == 200
    assert srv.get("/api/ai/models/", headers={"Host": "localhost"}).status_code == 400
    # health checks come by IP address; they are not subject to the Host check
    assert srv.get("/healthz", headers={"Host": "10.0.0.7"}).status_code == 200


def test_malformed_json_and_non_object_bodies(server):
    r = server.post("/api/auth/register/", data='{"username": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["detail"].startswith("JSON parse error - ")
    r = server.post("/api/auth/register/", data="[1, 2]", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
    _, access, _ = server.new_user()
    r = server.post("/api/resumes/", token=access, data="{bad", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON parse error" in r.json()["detail"]


def test_form_encoded_bodies(server):
    _, access, _ = server.new_user()
    r = server.post("/api/resumes/", token=access, data={"title": "Form", "content": "Made with a form"})
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "Form"


def test_body_over_the_limit_gets_413(server):
    big = "x" * (1024 * 1024 + 10)
    r = server.post("/api/auth/register/", data=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert "larger than the limit" in r.json()["detail"]
    # chunked (no Content-Length): the limit holds too
    def gen():
        for _ in range(20):
            yield b"y" * 65536
    r = server.post("/api/auth/register/", data=gen(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    # the server is still fine
    assert server.get("/api/ai/models/").status_code == 200


def test_long_url_gets_414(server):
    r = server.get("/api/" + "a" * 3000 + "/")
    assert r.status_code == 414


def test_security_headers_on_every_answer(server):
    for r in [server.get("/api/ai/models/"), server.get("/nope"), server.get("/api/resumes/"),
              server.post("/api/auth/token/", json={})]:
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in r.headers


def test_hsts_and_cors_when_configured(make_server):
    srv = make_server(env={"SECURE_HSTS_SECONDS": "3600", "CORS_ALLOWED_ORIGINS": "https://app.example.com"})
    r = srv.get("/api/ai/models/", headers={"Origin": "https://app.example.com"})
    assert r.headers["Strict-Transport-Security"] == "max-age=3600"
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Origin" in r.headers["Vary"]
    r = srv.get("/api/ai/models/", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in r.headers
    pre = srv.request("OPTIONS", "/api/resumes/", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert pre.status_code == 200
    assert pre.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    assert "authorization" in pre.headers["Access-Control-Allow-Headers"].lower()
    assert pre.content == b""


def test_options_describes_the_view(server):
    r = server.request("OPTIONS", "/api/ai/models/")
    assert r.status_code == 200
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert r.json()["renders"] == ["application/json"]


def test_schema_lists_every_route(server):
    out = subprocess.run([str(SERVER_BIN), "--routes"], capture_output=True, text=True, timeout=30, check=True)
    routes = [line.split(" ", 1) for line in out.stdout.strip().splitlines()]
    assert len(routes) >= 15
    doc = server.get("/api/schema/").json()
    assert doc["openapi"].startswith("3.")
    for methods, path in routes:
        assert path in doc["paths"], path
        for m in methods.split(","):
            assert m.lower() in doc["paths"][path], (m, path)
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_healthz_and_metrics(server):
    r = server.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    server.get("/api/ai/models/")
    server.get("/does-not-exist/")
    m = server.get("/metrics")
    assert m.status_code == 200
    assert m.headers["Content-Type"].startswith("text/plain")
    text = m.text
    assert 'resumate_http_requests_total{route="/api/ai/models/",status="200"}' in text
    assert 'resumate_http_requests_total{route="unmatched",status="404"}' in text
    assert 'resumate_http_request_duration_seconds_bucket{route="/api/ai/models/",le="+Inf"}' in text
    assert "resumate_http_requests_in_flight " in text
    assert 'resumate_http_requests_throttled_total{scope="anon"}' in text


def test_access_log_is_json_and_has_no_secrets(server):
    name, access, refresh = server.new_user()
    server.get("/api/resumes/", token=access)
    server.post("/api/auth/token/refresh/", json={"refresh": refresh})
    lines = server.access_log()
    assert lines, "no access log lines"
    for entry in lines:
        assert set(entry) >= {"time", "method", "path", "status", "duration_ms", "user", "bytes"}
    mine = [e for e in lines if e["path"] == "/api/resumes/" and e["status"] == 200]
    assert mine and isinstance(mine[-1]["user"], int)
    text = server.log_text()
    assert access not in text and refresh not in text
    assert "Zq7-long-enough-pass" not in text
    assert server.secret not in text


def test_raw_request_without_host_is_refused(server):
    answer = raw_http(server.port, b"GET /api/ai/models/ HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0]


def test_keep_alive_is_kept(server):
    import requests
    with requests.Session() as s:
        for _ in range(5):
            r = s.get(server.url + "/api/ai/models/")
            assert r.status_code == 200
            assert r.headers.get("Connection", "").lower() != "close"


def test_header_limits(server):
    big = raw_http(server.port, b"GET /api/ai/models/ HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 40000 +
                   b"\r\n\r\n")
    assert b" 431 " in big.split(b"\r\n")[0]
    long_line = raw_http(server.port, b"GET /api/" + b"a" * 40000 + b"/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert b" 414 " in long_line.split(b"\r\n")[0]
    assert server.get("/api/ai/models/").status_code == 200


def test_multipart_form_bodies(server):
    _, access, _ = server.new_user()
    r = server.post("/api/resumes/", token=access, data={"title": "Multi part", "content": "é & = %"},
                    files={"attachment": ("cv.txt", b"ignored file", "text/plain")})
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "Multi part" and r.json()["content"] == "é & = %"
    r = server.post("/api/job-applications/", token=access, data={"job_title": "x", "date_applied": ""},
                    files={"f": ("a.txt", b"1")})
    assert r.status_code == 201 and r.json()["date_applied"] is None  # as DRF: empty form value of a date = null
    r = server.post("/api/resumes/", token=access, data={"title": "t"}, files={"f": ("a.txt", b"1")})
    assert r.status_code == 400 and r.json() == {"content": ["This field is required."]}
