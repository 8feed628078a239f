"""Users, principals, tokens, resumes, applications, examples, AI models — through the package."""
import json

import pytest

import resumate as rm

from conftest import PASSWORD, make_user


def test_users(ctx):
    u = make_user(ctx)
    assert (u.username, u.email, u.is_active, u.is_staff, u.has_usable_password) == \
        ("alice", "alice@example.com", True, False, True)
    assert u.date_joined == ctx.now()
    assert ctx.get_user(u.id) == u
    assert ctx.get_user_by_username("alice").id == u.id
    with pytest.raises(rm.NotFound):
        ctx.get_user(999)
    with pytest.raises(rm.ValidationError) as e:
        make_user(ctx)
    assert e.value.fields == {"username": ["A user with that username already exists."]}
    admin = ctx.create_user("root", email=None, password=None, staff=True, superuser=True)
    assert admin.is_superuser and admin.is_staff and not admin.has_usable_password
    inactive = ctx.create_user("ghost", "g@example.com", "whatever-pass", active=False)
    assert not inactive.is_active
    anon = ctx.anonymous_user()
    assert anon.username == "anonymous_user" and not anon.is_active
    assert u.to_dict()["username"] == "alice"


def test_authenticate_password_change_and_deactivate(ctx):
    u = make_user(ctx)
    with pytest.raises(rm.AuthError):
        ctx.authenticate("alice", "wrong password")
    with pytest.raises(rm.ValidationError):
        ctx.authenticate("", "")
    with pytest.raises(rm.ValidationError) as e:
        ctx.set_password(u.id, "123")
    assert "password" in e.value.fields
    ctx.set_password(u.id, "another-long-passphrase")
    ctx.authenticate("alice", "another-long-passphrase").close()
    ctx.deactivate_user(u.id)
    with pytest.raises(rm.AuthError):
        ctx.authenticate("alice", "another-long-passphrase")
    with pytest.raises(rm.NotFound):
        ctx.deactivate_user(999)


def test_principals(ctx):
    u = make_user(ctx)
    with rm.Principal.anonymous() as anon:
        assert anon.is_anonymous and anon.user_id == 0 and anon.username == ""
        assert repr(anon) == "<Principal anonymous>"
    with rm.Principal.for_user(u) as p, p.dup() as q:
        assert not q.is_anonymous and q.user_id == u.id and q.username == "alice" and not q.is_staff
    with pytest.raises(rm.InvalidArgument):
        rm.Principal.for_user("alice")
    staff = ctx.create_user("boss", "b@example.com", "x", staff=True)
    assert rm.Principal.for_user(staff).is_staff


def test_tokens(ctx, clock, alice):
    pair = ctx.obtain_tokens(alice)
    assert pair.access.count(".") == 2 and pair.refresh.count(".") == 2
    assert "…" in repr(pair) and pair.access not in repr(pair)
    with ctx.authenticate_token(pair.access) as p:
        assert p.username == "alice"
    login = ctx.login("alice", PASSWORD)
    with pytest.raises(rm.AuthError):
        ctx.login("alice", "nope-nope-nope")
    with pytest.raises(rm.TokenError) as e:
        ctx.authenticate_token(login.refresh)
    assert e.value.reason == rm.RM_TOKEN_WRONG_TYPE
    with pytest.raises(rm.TokenError) as e:
        ctx.authenticate_token("not-a-token")
    assert e.value.reason == rm.RM_TOKEN_MALFORMED and "not-a-token" not in str(e.value)
    refreshed = ctx.refresh_tokens(login.refresh)
    assert refreshed.refresh is None and refreshed.to_dict().keys() == {"access"}
    ctx.authenticate_token(refreshed.access).close()
    ctx.revoke_token(login.refresh)
    with pytest.raises(rm.TokenError) as e:
        ctx.refresh_tokens(login.refresh)
    assert e.value.reason == rm.RM_TOKEN_REVOKED
    # Expiry through the injected clock: refresh tokens live a day by default.
    clock.us += 2 * 86400 * 1_000_000
    with pytest.raises(rm.TokenError) as e:
        ctx.authenticate_token(pair.access)
    assert e.value.reason == rm.RM_TOKEN_EXPIRED
    assert ctx.prune_tokens() == 1
    with rm.Principal.anonymous() as anon, pytest.raises(rm.PermissionDenied):
        ctx.obtain_tokens(anon)


def test_token_rotation_and_previous_keys(clock):
    with rm.Ctx(secret_key="old-key-0123456789-0123456789-01", password_iterations=1000, clock=clock) as old:
        make_user(old)
        pair = old.login("alice", PASSWORD)
    with rm.Ctx(secret_key="new-key-0123456789-0123456789-01", password_iterations=1000, clock=clock,
                previous_secret_keys=["old-key-0123456789-0123456789-01"], rotate_refresh_tokens=True) as new:
        make_user(new)
        rotated = new.refresh_tokens(pair.refresh)
        assert rotated.refresh is not None
        with pytest.raises(rm.TokenError):
            new.refresh_tokens(pair.refresh)    # the old refresh token was denylisted


def test_resumes(ctx, alice):
    r = ctx.create_resume(alice, title="  Backend  ", content="# Alice")
    assert (r.title, r.content, r.username, r.user_id) == ("Backend", "# Alice", "alice", alice.user_id)
    assert json.loads(r.to_json())["user"] == "alice"
    assert ctx.get_resume(alice, r.id) == r
    with pytest.raises(rm.ValidationError) as e:
        ctx.create_resume(alice, {"title": ""})
    assert e.value.fields == {"title": ["This field may not be blank."], "content": ["This field is required."]}
    with pytest.raises(rm.ValidationError):
        ctx.update_resume(alice, r.id, title="only title")
    u = ctx.update_resume(alice, r.id, title="New", content="Body")
    assert (u.title, u.content) == ("New", "Body")
    p = ctx.patch_resume(alice, r.id, rm.Fields(content="Patched"))
    assert (p.title, p.content) == ("New", "Patched")
    with pytest.raises(rm.InvalidArgument):
        ctx.patch_resume(alice, r.id, rm.Fields(content="x"), title="both")
    for i in range(4):
        ctx.create_resume(alice, title=f"r{i}", content="c")
    page = ctx.list_resumes(alice, limit=2)
    assert len(page) == 2 and page.next_cursor
    assert [x.title for x in page] == ["r3", "r2"]
    assert len(json.loads(page.to_json())) == 2
    assert [x.title for x in ctx.iter_resumes(alice, page_size=2)] == ["r3", "r2", "r1", "r0", "New"]
    assert [x.title for x in ctx.list_resumes(alice, limit=2, offset=1)] == ["r2", "r1"]
    with pytest.raises(rm.ValidationError):
        ctx.list_resumes(alice, cursor="garbage")
    ctx.delete_resume(alice, r.id)
    with pytest.raises(rm.NotFound):
        ctx.get_resume(alice, r.id)
    with rm.Principal.anonymous() as anon, pytest.raises(rm.PermissionDenied):
        ctx.create_resume(anon, title="t", content="c")


def test_other_users_objects_are_not_found(ctx, alice):
    r = ctx.create_resume(alice, title="t", content="c")
    make_user(ctx, "bob")
    with ctx.authenticate("bob", PASSWORD) as bob:
        with pytest.raises(rm.NotFound):
            ctx.get_resume(bob, r.id)
        with pytest.raises(rm.ValidationError) as e:
            ctx.create_application(bob, resume_used=r.id)
        assert e.value.fields == {"resume_used": [f'Invalid pk "{r.id}" - object does not exist.']}


def test_applications(ctx, alice):
    r = ctx.create_resume(alice, title="t", content="c")
    a = ctx.create_application(alice, job_title="Dev", company_name="ACME", date_applied="2025-07-24",
                               resume_used=r.id, notes=None)
    assert (a.status, a.job_title, a.company_name, a.date_applied, a.resume_used, a.notes) == \
        ("Applied", "Dev", "ACME", "2025-07-24", r.id, None)
    assert not a.is_deleted and not a.is_example and a.original_job_description is None
    assert json.loads(a.to_json())["resume_used"] == r.id
    with pytest.raises(rm.ValidationError) as e:
        ctx.create_application(alice, status="Hired")
    assert e.value.fields == {"status": ['"Hired" is not a valid choice.']}
    b = ctx.update_application(alice, a.id, status="Interviewing")
    assert b.status == "Interviewing" and b.job_title == "Dev"
    c = ctx.patch_application(alice, a.id, notes="call back")
    assert c.notes == "call back"
    ctx.create_application(alice, job_title="Other")
    assert [x.job_title for x in ctx.list_applications(alice, status="Interviewing")] == ["Dev"]
    assert len(list(ctx.iter_applications(alice, page_size=1))) == 2
    ctx.delete_resume(alice, r.id)
    assert ctx.get_application(alice, a.id).resume_used == 0
    ctx.delete_application(alice, a.id)
    with pytest.raises(rm.NotFound):
        ctx.delete_application(alice, a.id)
    assert len(ctx.list_applications(alice)) == 1


def test_search_ordering_and_counts(ctx, alice):
    for title, company, status in [("Python dev", "ACME", "Applied"), ("Designer", "100% Studio", "Offer"),
                                   ("go dev", "python_works", "Applied")]:
        ctx.create_application(alice, job_title=title, company_name=company, status=status)
    assert [a.job_title for a in ctx.list_applications(alice, search="PYTHON")] == ["go dev", "Python dev"]
    assert [a.job_title for a in ctx.list_applications(alice, search="dev, python", status="Applied")] == \
        ["go dev", "Python dev"]
    assert ctx.count_applications(alice, search="100%") == 1
    assert ctx.count_applications(alice, search="0%_") == 0  # literal, no wildcards
    assert ctx.count_applications(alice, status="Applied") == 2
    assert [a.job_title for a in ctx.list_applications(alice, ordering="job_title")] == \
        ["Designer", "Python dev", "go dev"]
    page = ctx.list_applications(alice, ordering="-job_title", limit=2)
    assert [a.job_title for a in page] == ["go dev", "Python dev"] and page.next_cursor == "2.2"
    assert [a.job_title for a in ctx.iter_applications(alice, page_size=1, ordering="job_title")] == \
        ["Designer", "Python dev", "go dev"]
    with pytest.raises(rm.ValidationError) as e:
        ctx.list_applications(alice, ordering="salary")
    assert list(e.value.fields) == ["ordering"] and '"salary"' in e.value.fields["ordering"][0]
    with pytest.raises(rm.ValidationError) as e:
        ctx.count_applications(alice, search=" ".join("abcdefghijklmnopq"))
    assert e.value.fields == {"search": ["Too many search terms (at most 16)."]}
    ctx.create_resume(alice, title="Zeta", content="python")
    ctx.create_resume(alice, title="alpha", content="c")
    assert ctx.count_resumes(alice) == 2 and ctx.count_resumes(alice, search="Python") == 1
    assert [r.title for r in ctx.list_resumes(alice, ordering="title")] == ["Zeta", "alpha"]
    assert [r.title for r in ctx.iter_resumes(alice, page_size=1, search="a")] == ["alpha", "Zeta"]
    ctx.seed_examples()
    assert ctx.count_examples() == 5 and ctx.count_examples(search="python") == 1
    assert [a.company_name for a in ctx.list_examples(ordering="company_name", limit=2)] == \
        ["CloudNet", "Creative Solutions"]


def test_examples(ctx):
    assert ctx.seed_examples() == 5
    assert ctx.seed_examples() == 0
    page = ctx.list_examples()
    assert len(page) == 5 and all(x.is_example for x in page)
    assert ctx.get_example(page[0].id) == page[0]
    assert len(ctx.list_examples(limit=2)) == 2
    with pytest.raises(rm.NotFound):
        ctx.get_example(12345)
    assert page.to_dicts()[0]["is_example"] is True


def test_ai_models(ctx):
    m = ctx.create_ai_model(display_name="Gemini", model_name="gemini-2.5-flash", api_provider="google_gemini",
                            api_key_name="GEMINI_API_KEY", login_required=True, daily_limit=3,
                            response_time_info="fast", description="Google")
    assert (m.display_name, m.api_provider, m.login_required, m.daily_limit, m.is_active, m.base_url) == \
        ("Gemini", "google_gemini", True, 3, True, None)
    local = ctx.create_ai_model(display_name="Local", model_name="llama", api_provider="openai_compatible",
                                api_key_name="", base_url="http://127.0.0.1:11434/v1")
    assert local.base_url == "http://127.0.0.1:11434/v1"
    with pytest.raises(rm.ValidationError) as e:
        ctx.create_ai_model(display_name="gemini", model_name="x", api_provider="google_gemini", api_key_name="K")
    assert "display_name" in e.value.fields
    assert ctx.get_ai_model("GEMINI").id == m.id
    assert ctx.update_ai_model("gemini", daily_limit=0).daily_limit == 0
    ctx.deactivate_ai_model("Local")
    assert [x.display_name for x in ctx.list_ai_models()] == ["Gemini"]
    page = ctx.list_ai_models(include_inactive=True)
    assert [x.display_name for x in page] == ["Gemini", "Local"] and page.next_cursor is None
    assert json.loads(page.public_json())[0] == {"model_name": "Gemini", "login_required": True,
                                                 "response_time_info": "fast", "description": "Google"}
    with pytest.raises(rm.NotFound):
        ctx.get_ai_model("nope")
    ctx.set_ai_model_settings("Gemini", timeout_ms=1000, fallbacks=["Local"])
    ctx.set_ai_model_settings("Gemini", clear=True)
    with pytest.raises(rm.ValidationError):
        ctx.set_ai_model_settings("Gemini", timeout_ms=-1)
    assert ctx.breaker_state("google_gemini", "gemini-2.5-flash") == rm.RM_AI_BREAKER_CLOSED
