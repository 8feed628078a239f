"""libresumate tokens interoperate with PyJWT and djangorestframework-simplejwt.

The C side is the token_tool helper (tests/interop/token_tool.c), found at
$RM_BUILD_DIR/tests/interop/token_tool (default: <repo>/build). Tokens and keys are never put into
assertion messages.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import time
from pathlib import Path

import jwt
import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("RM_BUILD_DIR", REPO / "build"))
TOOL = BUILD_DIR / "tests" / "interop" / "token_tool"

SECRET = secrets.token_urlsafe(48)
OLD_SECRET = secrets.token_urlsafe(48)
CLAIM_ORDER = ["token_type", "exp", "iat", "jti", "user_id"]
JTI = re.compile(r"^[0-9a-f]{32}$")

pytestmark = pytest.mark.skipif(not TOOL.exists(), reason=f"helper not built: {TOOL}")


def tool(*args, secret=SECRET, previous=None, rotate=False, db=None):
    env = dict(os.environ, RM_TOKEN_SECRET=secret)
    for name in ("RM_TOKEN_PREVIOUS", "RM_TOKEN_ROTATE", "RM_TOKEN_DB"):
        env.pop(name, None)
    if previous:
        env["RM_TOKEN_PREVIOUS"] = previous
    if rotate:
        env["RM_TOKEN_ROTATE"] = "1"
    if db:
        env["RM_TOKEN_DB"] = str(db)
    return subprocess.run([str(TOOL), *args], capture_output=True, text=True, timeout=60, env=env)


def issue(**kw):
    r = tool("issue", **kw)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def outcome(r):
    """'OK ...' / 'ETOKEN <reason>' — never the token itself."""
    assert r.returncode in (0, 2), r.stderr
    return r.stdout.strip()


def authenticate(token, **kw):
    return outcome(tool("authenticate", token, **kw))


def refresh(token, **kw):
    r = tool("refresh", token, **kw)
    if r.returncode == 0:
        return json.loads(r.stdout)
    return outcome(r)


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header, payload, key):
    """A JWT with an arbitrary header, HMAC-SHA256-signed with key whatever the header says."""
    signing_input = b64u(json.dumps(header, separators=(",", ":")).encode()) + "." + b64u(
        json.dumps(payload, separators=(",", ":")).encode())
    sig = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64u(sig)


def simplejwt_payload(token_type, user_id=1, lifetime=300, now=None):
    """The payload simplejwt builds, in its order."""
    now = int(time.time()) if now is None else now
    return {"token_type": token_type, "exp": now + lifetime, "iat": now, "jti": secrets.token_hex(16),
            "user_id": user_id}


# ---- libresumate tokens, read by PyJWT ----

def test_issued_tokens_have_simplejwts_claims():
    before = int(time.time())
    pair = issue()
    after = int(time.time())
    for name, lifetime in (("access", 300), ("refresh", 86400)):
        token = pair[name]
        assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        assert list(claims) == CLAIM_ORDER
        assert claims["token_type"] == name
        assert type(claims["user_id"]) is int and claims["user_id"] == 1
        assert type(claims["exp"]) is int and type(claims["iat"]) is int
        assert before <= claims["iat"] <= after
        assert claims["exp"] - claims["iat"] == lifetime
        assert JTI.match(claims["jti"])
    a = jwt.decode(pair["access"], SECRET, algorithms=["HS256"])
    r = jwt.decode(pair["refresh"], SECRET, algorithms=["HS256"])
    assert a["jti"] != r["jti"] and a["iat"] == r["iat"]


def test_issued_tokens_are_byte_identical_to_pyjwts_encoding():
    # simplejwt encodes with jwt.encode(payload, key, algorithm="HS256"): the same claims in the same
    # order must give exactly our token.
    pair = issue()
    for token in (pair["access"], pair["refresh"]):
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        assert jwt.encode(claims, SECRET, algorithm="HS256") == token


def test_refreshed_access_token_copies_the_refresh_tokens_claims():
    pair = issue()
    out = refresh(pair["refresh"])
    assert out["refresh"] is None
    r = jwt.decode(pair["refresh"], SECRET, algorithms=["HS256"])
    a = jwt.decode(out["access"], SECRET, algorithms=["HS256"])
    assert list(a) == CLAIM_ORDER and a["token_type"] == "access"
    assert a["iat"] == r["iat"] and a["user_id"] == r["user_id"] and a["jti"] != r["jti"]
    assert jwt.encode(a, SECRET, algorithm="HS256") == out["access"]


# ---- tokens built by PyJWT in simplejwt's layout, read by libresumate ----

def test_pyjwt_token_in_simplejwt_layout_authenticates():
    token = jwt.encode(simplejwt_payload("access"), SECRET, algorithm="HS256")
    assert authenticate(token) == "OK 1 interop"


def test_pyjwt_refresh_token_refreshes():
    token = jwt.encode(simplejwt_payload("refresh", lifetime=86400), SECRET, algorithm="HS256")
    out = refresh(token)
    assert isinstance(out, dict), out
    assert authenticate(out["access"]) == "OK 1 interop"


def test_tampered_signature_is_rejected():
    token = jwt.encode(simplejwt_payload("access"), SECRET, algorithm="HS256")
    head, body, sig = token.split(".")
    sig = ("A" if sig[0] != "A" else "B") + sig[1:]
    assert authenticate(".".join((head, body, sig))) == "ETOKEN bad_signature"
    # A payload for another user under the original signature.
    other = jwt.encode(simplejwt_payload("access", user_id=2), SECRET, algorithm="HS256")
    assert authenticate(".".join((head, other.split(".")[1], token.split(".")[2]))) == "ETOKEN bad_signature"


def test_alg_none_is_rejected():
    token = jwt.encode(simplejwt_payload("access"), None, algorithm="none")
    assert authenticate(token) == "ETOKEN bad_algorithm"
    # ... even with a signature made with the right key.
    assert authenticate(handmade({"alg": "none", "typ": "JWT"}, simplejwt_payload("access"), SECRET)) == \
        "ETOKEN bad_algorithm"


@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256", "HS384", "HS512", "hs256"])
def test_other_algorithms_are_rejected_whatever_the_key(alg):
    assert authenticate(handmade({"alg": alg, "typ": "JWT"}, simplejwt_payload("access"), SECRET)) == \
        "ETOKEN bad_algorithm"


def test_rs256_signed_with_a_public_key_secret_is_rejected():
    pem = ("-----BEGIN PUBLIC KEY-----\n"
           "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\n"
           "q9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n"
           "-----END PUBLIC KEY-----\n")
    for alg in ("RS256", "ES256"):
        token = handmade({"alg": alg, "typ": "JWT"}, simplejwt_payload("access"), pem)
        assert authenticate(token, secret=pem) == "ETOKEN bad_algorithm"
    assert authenticate(handmade({"alg": "HS256", "typ": "JWT"}, simplejwt_payload("access"), pem), secret=pem) == \
        "OK 1 interop"


def test_wrong_key_is_rejected():
    token = jwt.encode(simplejwt_payload("access"), "some-other-secret-key-entirely-000000", algorithm="HS256")
    assert authenticate(token) == "ETOKEN bad_signature"


def test_expired_is_rejected():
    now = int(time.time())
    token = jwt.encode(simplejwt_payload("access", now=now - 400), SECRET, algorithm="HS256")
    assert authenticate(token) == "ETOKEN expired"
    token = jwt.encode(simplejwt_payload("refresh", now=now - 90000, lifetime=86400), SECRET, algorithm="HS256")
    assert refresh(token) == "ETOKEN expired"


def test_iat_in_the_future_is_rejected():
    token = jwt.encode(simplejwt_payload("access", now=int(time.time()) + 120), SECRET, algorithm="HS256")
    assert authenticate(token) == "ETOKEN not_yet_valid"


def test_wrong_type_is_rejected():
    pair = issue()
    assert authenticate(pair["refresh"]) == "ETOKEN wrong_type"
    assert refresh(pair["access"]) == "ETOKEN wrong_type"
    assert authenticate(jwt.encode(simplejwt_payload("refresh"), SECRET, algorithm="HS256")) == "ETOKEN wrong_type"


def test_user_checks():
    assert authenticate(jwt.encode(simplejwt_payload("access", user_id=3), SECRET, algorithm="HS256")) == \
        "ETOKEN user_not_found"
    assert authenticate(jwt.encode(simplejwt_payload("access", user_id=2), SECRET, algorithm="HS256")) == \
        "ETOKEN user_inactive"


def test_missing_and_non_integer_claims_are_malformed():
    for change in ({"user_id": "1"}, {"user_id": 1.0}, {"user_id": None}, {"exp": "soon"}):
        payload = simplejwt_payload("access")
        payload.update(change)
        assert authenticate(jwt.encode(payload, SECRET, algorithm="HS256")) == "ETOKEN malformed"
    for claim in ("user_id", "exp", "token_type", "jti"):
        payload = simplejwt_payload("access")
        del payload[claim]
        assert authenticate(jwt.encode(payload, SECRET, algorithm="HS256")) == "ETOKEN malformed"


def test_token_over_8_kib_is_rejected():
    payload = simplejwt_payload("access")
    payload["pad"] = "x" * 7000
    token = jwt.encode(payload, SECRET, algorithm="HS256")
    assert len(token) > 8192
    assert authenticate(token) == "ETOKEN too_large"


# ---- key rotation, rotation of refresh tokens, revocation across processes ----

def test_previous_key_still_verifies_and_current_key_signs():
    old = jwt.encode(simplejwt_payload("access"), OLD_SECRET, algorithm="HS256")
    assert authenticate(old) == "ETOKEN bad_signature"
    assert authenticate(old, previous=OLD_SECRET) == "OK 1 interop"
    pair = issue(previous=OLD_SECRET)
    jwt.decode(pair["access"], SECRET, algorithms=["HS256"])
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(pair["access"], OLD_SECRET, algorithms=["HS256"])


def test_rotation_and_revocation_are_shared_through_the_database(tmp_path):
    db = tmp_path / "tokens.sqlite3"
    pair = issue(db=db)
    out = refresh(pair["refresh"], rotate=True, db=db)
    assert isinstance(out, dict), out
    rotated = jwt.decode(out["refresh"], SECRET, algorithms=["HS256"])
    assert list(rotated) == CLAIM_ORDER and rotated["token_type"] == "refresh"
    # The old refresh token was denylisted by that process; this one refuses it.
    assert refresh(pair["refresh"], db=db) == "ETOKEN revoked"
    # Logout in one process, refused in the next.
    assert outcome(tool("revoke", out["refresh"], db=db)) == "OK"
    assert refresh(out["refresh"], db=db) == "ETOKEN revoked"
    assert outcome(tool("revoke", out["refresh"], db=db)) == "ETOKEN revoked"


# ---- the real djangorestframework-simplejwt (optional) ----

def _simplejwt():
    pytest.importorskip("django")
    simplejwt = pytest.importorskip("rest_framework_simplejwt")
    from django.conf import settings
    if not settings.configured:
        settings.configure(
            SECRET_KEY=SECRET, USE_TZ=True, DATABASES={},
            INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework",
                            "rest_framework_simplejwt"],
            SIMPLE_JWT={"SIGNING_KEY": SECRET})
        import django
        django.setup()
    return simplejwt


class _User:
    id = 1
    is_active = True
    password = ""


def _simplejwt_version(mod):
    from importlib.metadata import version
    return tuple(int(x) for x in version("djangorestframework-simplejwt").split(".")[:2])


def test_same_claims_as_simplejwt():
    mod = _simplejwt()
    if _simplejwt_version(mod) >= (5, 5):
        pytest.skip("simplejwt >= 5.5 writes user_id as a string; the ResuMate server's tokens have an integer")
    from rest_framework_simplejwt.tokens import RefreshToken
    theirs = RefreshToken.for_user(_User())
    ours = issue()
    for their_token, our_token in ((str(theirs), ours["refresh"]), (str(theirs.access_token), ours["access"])):
        t = jwt.decode(their_token, SECRET, algorithms=["HS256"])
        o = jwt.decode(our_token, SECRET, algorithms=["HS256"])
        assert list(t) == list(o) == CLAIM_ORDER
        assert {k: type(v) for k, v in t.items()} == {k: type(v) for k, v in o.items()}
        assert t["token_type"] == o["token_type"] and t["user_id"] == o["user_id"]
        assert t["exp"] - t["iat"] == o["exp"] - o["iat"]
        assert jwt.get_unverified_header(their_token) == jwt.get_unverified_header(our_token)
        assert their_token.split(".")[0] == our_token.split(".")[0]


def test_simplejwt_accepts_ours_and_we_accept_simplejwts():
    _simplejwt()
    from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
    ours = issue()
    assert AccessToken(ours["access"])["user_id"] == 1
    assert RefreshToken(ours["refresh"])["user_id"] == 1
    theirs = RefreshToken.for_user(_User())
    if isinstance(theirs["user_id"], int):
        assert authenticate(str(theirs.access_token)) == "OK 1 interop"
        out = refresh(str(theirs))
        assert isinstance(out, dict), out
        assert AccessToken(out["access"])["token_type"] == "access"
    else:
        # simplejwt >= 5.5 stringifies user_id; the issue requires an integer, so this layout is refused.
        assert authenticate(str(theirs.access_token)) == "ETOKEN malformed"
