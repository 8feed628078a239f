"""Registration, tokens (obtain, refresh, blacklist) and every 401 body of API.md."""
import base64
import hashlib
import hmac
import json
import secrets
import time

import pytest

from rm_server import PASSWORD

NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}
BAD_HEADER = {"detail": "Authorization header must contain two space-delimited values",
              "code": "bad_authorization_header"}


def invalid_access(message="Token is invalid or expired"):
    return {"detail": "Given token not valid for any token type", "code": "token_not_valid",
            "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}]}


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(secret, **claims):
    """An HS256 JWT signed with the server's key, shaped like simplejwt's."""
    now = int(time.time())
    body = {"token_type": "access", "exp": now + 300, "iat": now, "jti": secrets.token_hex(16), "user_id": 1}
    body.update(claims)
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64(json.dumps(body, separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), f"{head}.{payload}".encode(), hashlib.sha256).digest()
    return f"{head}.{payload}.{b64(sig)}"


def register(server, **fields):
    return server.post("/api/auth/register/", json=fields)


def test_register_answers_username_and_email_only(server):
    r = register(server, username="carol", email="carol@example.com", password=PASSWORD, password2=PASSWORD,
                 is_staff=True, first_name="ignored")
    assert r.status_code == 201
    assert r.json() == {"username": "carol", "email": "carol@example.com"}


def test_register_form_encoded(server):
    r = server.post("/api/auth/register/", data={"username": "formuser", "email": "f@example.com",
                                                  "password": PASSWORD, "password2": PASSWORD})
    assert r.status_code == 201, r.text


def test_register_validation_messages(server):
    r = register(server)
    assert r.status_code == 400
    body = r.json()
    for f in ("username", "email", "password", "password2"):
        assert body[f] == ["This field is required."], f
    r = register(server, username="bad name!", email="x@example.com", password=PASSWORD, password2=PASSWORD)
    assert r.status_code == 400
    assert r.json()["username"] == ["Enter a valid username. This value may contain only letters, numbers, "
                                    "and @/./+/-/_ characters."]
    r = register(server, username="dup", email="d@example.com", password=PASSWORD, password2=PASSWORD)
    assert r.status_code == 201
    r = register(server, username="dup", email="d@example.com", password=PASSWORD, password2=PASSWORD)
    assert r.status_code == 400
    assert r.json() == {"username": ["A user with that username already exists."]}
    r = register(server, username="Dup", email="d@example.com", password=PASSWORD, password2=PASSWORD)
    assert r.status_code == 201  # case-sensitive
    r = register(server, username="mismatch", email="m@example.com", password=PASSWORD, password2=PASSWORD + "x")
    assert r.status_code == 400
    assert r.json() == {"password": ["Password fields didn't match."]}
    r = register(server, username="weakling", email="w@example.com", password="12345", password2="12345")
    assert r.status_code == 400
    assert r.json()["password"] == ["This password is too short. It must contain at least 8 characters.",
                                    "This password is too common.", "This password is entirely numeric."]
    r = register(server, username="similarperson", email="s@example.com", password="similarperson1",
                 password2="similarperson1")
    assert r.status_code == 400
    assert r.json()["password"][0] == "The password is too similar to the username."


def test_token_obtain_and_wrong_credentials(server):
    name = server.register()
    pair = server.login(name)
    assert set(pair) == {"refresh", "access"}
    for body in [{"username": name, "password": "wrong-password"}, {"username": "nobody", "password": PASSWORD}]:
        r = server.post("/api/auth/token/", json=body)
        assert r.status_code == 401
        assert r.json() == {"detail": "No active account found with the given credentials"}
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    r = server.post("/api/auth/token/", json={})
    assert r.status_code == 400
    assert r.json() == {"username": ["This field is required."], "password": ["This field is required."]}
    r = server.post("/api/auth/token/", json={"username": "", "password": name})
    assert r.status_code == 400
    assert r.json() == {"username": ["This field may not be blank."]}


def test_refresh(server):
    name, access, refresh = server.new_user()
    r = server.post("/api/auth/token/refresh/", json={"refresh": refresh})
    assert r.status_code == 200
    assert set(r.json()) == {"access"}
    assert server.get("/api/resumes/", token=r.json()["access"]).status_code == 200
    r = server.post("/api/auth/token/refresh/", json={"refresh": access})
    assert r.status_code == 401
    assert r.json() == {"detail": "Token has wrong type", "code": "token_not_valid"}
    r = server.post("/api/auth/token/refresh/", json={"refresh": "garbage"})
    assert r.status_code == 401
    assert r.json() == {"detail": "Token is invalid or expired", "code": "token_not_valid"}
    r = server.post("/api/auth/token/refresh/", json={})
    assert r.status_code == 400
    assert r.json() == {"refresh": ["This field is required."]}


def test_refresh_rotation(make_server):
    srv = make_server(env={"ROTATE_REFRESH_TOKENS": "1"})
    _, _, refresh = srv.new_user()
    r = srv.post("/api/auth/token/refresh/", json={"refresh": refresh})
    assert r.status_code == 200
    assert set(r.json()) == {"access", "refresh"}
    again = srv.post("/api/auth/token/refresh/", json={"refresh": refresh})
    assert again.status_code == 401
    assert again.json() == {"detail": "Token is blacklisted", "code": "token_not_valid"}


def test_blacklist_logs_out(server):
    _, _, refresh = server.new_user()
    r = server.post("/api/auth/token/blacklist/", json={"refresh": refresh})
    assert r.status_code == 200
    assert r.json() == {}
    r = server.post("/api/auth/token/refresh/", json={"refresh": refresh})
    assert r.status_code == 401
    assert r.json() == {"detail": "Token is blacklisted", "code": "token_not_valid"}
    r = server.post("/api/auth/token/blacklist/", json={"refresh": refresh})
    assert r.status_code == 401


@pytest.mark.parametrize("header", [None, "Token abc", "bearer abc", "Basic dXNlcjpwYXNz", ""])
def test_no_credentials(server, header):
    headers = {"Authorization": header} if header is not None else {}
    r = server.get("/api/resumes/", headers=headers)
    assert r.status_code == 401
    assert r.json() == NOT_PROVIDED
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer a  b c"])
def test_bearer_with_wrong_number_of_parts(server, header):
    r = server.get("/api/ai/models/", headers={"Authorization": header})
    assert r.status_code == 401
    assert r.json() == BAD_HEADER
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_bad_tokens_on_private_and_public_endpoints(server):
    _, access, refresh = server.new_user()
    expired = make_token(server.secret, exp=int(time.time()) - 10, iat=int(time.time()) - 400)
    forged = make_token("not-the-key", user_id=1)
    for path in ["/api/resumes/", "/api/ai/models/", "/api/example-job-applications/"]:
        for tok in ["not.a.token", expired, forged, access[:-2] + "xx"]:
            r = server.get(path, token=tok)
            assert r.status_code == 401, path
            assert r.json() == invalid_access()
            assert r.headers["WWW-Authenticate"] == 'Bearer realm="api"'
        r = server.get(path, token=refresh)
        assert r.status_code == 401
        assert r.json() == invalid_access("Token has wrong type")
    r = server.post("/api/auth/register/", token="not.a.token", json={})
    assert r.status_code == 401


def test_token_for_a_user_that_does_not_exist(server):
    tok = make_token(server.secret, user_id=987654)
    r = server.get("/api/resumes/", token=tok)
    assert r.status_code == 401
    assert r.json() == {"detail": "User not found", "code": "user_not_found"}


def test_token_endpoints_ignore_the_authorization_header(server):
    # simplejwt's token views have no authentication classes
    name = server.register()
    r = server.post("/api/auth/token/", token="garbage", json={"username": name, "password": PASSWORD})
    assert r.status_code == 200
