"""Library-wide functions, errors, fields, storage, ctx options."""
import re
import threading

import pytest

import resumate as rm
from resumate import capi

from conftest import PASSWORD, SECRET, make_user


def test_version_matches_the_header_macros():
    assert rm.version() == capi.RM_VERSION_STRING
    assert rm.version_number() == capi.RM_VERSION_NUMBER
    assert re.fullmatch(r"\d+\.\d+\.\d+", rm.version())


def test_status_names():
    assert rm.status_name(rm.RM_ENOTFOUND) == "RM_ENOTFOUND"
    assert rm.status_name(12345) == "RM_UNKNOWN"
    with pytest.raises(rm.InvalidArgument):
        rm.status_name("x")


def test_format_timestamp():
    assert rm.format_timestamp(0) == "1970-01-01T00:00:00.000000Z"
    assert rm.format_timestamp(1_721_786_876_123_456) == "2024-07-24T02:07:56.123456Z"
    with pytest.raises(rm.InvalidArgument):
        rm.format_timestamp(2 ** 64)


def test_fields_setters_getters_and_unset():
    with rm.Fields(a="x", n=42, b=True, z=None) as f:
        assert f.get_string("a") == "x"
        assert f.get_string("n") == "42"
        assert f.get_string("b") is None and "b" in f
        assert "z" in f and f.get_string("z") is None
        f["a"] = "y"
        assert f.get_string("a") == "y"
        del f["a"]
        assert "a" not in f
        with pytest.raises(rm.InvalidArgument):
            f.set("x", 1.5)
        with pytest.raises(rm.InvalidArgument):
            f.set("x", "nul\x00inside")
        with pytest.raises(rm.InvalidArgument):
            f.set(None, "v")
    with pytest.raises(rm.ClosedError):
        f.get_string("a")


def test_fields_from_json_and_form():
    f = rm.Fields.from_json('{"title": "T", "n": 3}')
    assert f.get_string("title") == "T" and f.get_string("n") == "3"
    with pytest.raises(rm.ParseError) as e:
        rm.Fields.from_json("{nope")
    assert e.value.message.startswith("JSON parse error")
    with pytest.raises(rm.ValidationError) as e:
        rm.Fields.from_json("[1]")
    assert e.value.fields == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
    g = rm.Fields.from_form(b"title=Hello%20world&x=1&x=2")
    assert g.get_string("title") == "Hello world" and g.get_string("x") == "2"
    with pytest.raises(rm.ParseError):
        rm.Fields.from_form("a=%zz")


def test_validation_error_carries_field_errors(ctx):
    with pytest.raises(rm.ValidationError) as e:
        ctx.register(username="bob", email="bob@example.com", password="12345678", password2="12345678")
    err = e.value
    assert err.code == rm.RM_EINVALID and err.status == "RM_EINVALID"
    assert err.fields == {"password": ["This password is too common.", "This password is entirely numeric."]}
    assert isinstance(err, ValueError) and isinstance(err, rm.ResumateError)


def test_last_error_copy_and_clear(ctx):
    with pytest.raises(rm.ValidationError):
        ctx.register(username="", email="x", password="", password2="")
    snap = rm.last_error()
    assert isinstance(snap, rm.ValidationError) and "username" in snap.fields
    assert '"username"' in snap.fields_json
    rm.clear_error()
    assert rm.last_error().code == rm.RM_OK


def test_storage_open_and_borrow(tmp_path):
    st = rm.Storage.open_sqlite(str(tmp_path / "a.db"))
    assert st.has_vtable and st.has_backend_state
    with rm.Ctx(storage=st, secret_key=SECRET, password_iterations=1000) as ctx:
        assert ctx.has_storage
        make_user(ctx)
        with pytest.raises(rm.MisuseError):
            st.close()   # the ctx still borrows it
    st.close()
    st.close()           # twice is fine
    with pytest.raises(rm.ClosedError):
        st.has_vtable
    # The data is in the file: a second storage sees the user.
    with rm.Storage.open("sqlite:///" + str(tmp_path / "a.db")) as st2, rm.Ctx(storage=st2) as ctx2:
        assert ctx2.get_user_by_username("alice").email == "alice@example.com"


def test_storage_copy_keeps_rows_and_ids(tmp_path):
    with rm.Storage.open_sqlite(str(tmp_path / "src.db")) as src:
        with rm.Ctx(storage=src, secret_key=SECRET, password_iterations=1000) as ctx:
            make_user(ctx)
            uid = ctx.get_user_by_username("alice").id
        with rm.Storage.open_sqlite(str(tmp_path / "dst.db")) as dst:
            stats = src.copy_to(dst)
            assert stats["users"] >= 1 and set(stats) == set(rm.Storage._COPY_STATS)
            with rm.Ctx(storage=dst, secret_key=SECRET, password_iterations=1000) as ctx2:
                assert ctx2.get_user_by_username("alice").id == uid
            with pytest.raises(rm.Conflict):
                src.copy_to(dst)  # the target is no longer empty
            with pytest.raises(rm.InvalidArgument):
                src.copy_to("not a storage")


def test_storage_open_errors():
    with pytest.raises(rm.ValidationError):
        rm.Storage.open("nosuchscheme://x")
    with pytest.raises(rm.StorageError):
        rm.Storage.open_sqlite("/nonexistent-dir/deeper/x.db")
    with pytest.raises(rm.InvalidArgument):
        rm.Storage.open(None)


def test_ctx_options_are_checked():
    with pytest.raises(rm.InvalidArgument):
        rm.Ctx(no_such_option=1)
    with pytest.raises(rm.InvalidArgument):
        rm.Ctx(storage="not a storage")
    with pytest.raises(rm.InvalidArgument):
        rm.Ctx(clock=5)
    with rm.Ctx(password_iterations=1000, rotate_refresh_tokens=True, gemini_base_url="http://127.0.0.1:9") as c:
        assert c.now() > 0


def test_ctx_clock_and_data_version(ctx, clock):
    assert ctx.now() == clock.us
    clock.us += 5
    assert ctx.now() == clock.us
    before = ctx.data_version(rm.RM_DATA_EXAMPLES)
    ctx.seed_examples()
    assert ctx.data_version(rm.RM_DATA_EXAMPLES) > before
    assert ctx.data_version(999) == 0


def test_closed_ctx_and_none_handles_raise_instead_of_crashing(ctx):
    make_user(ctx)
    who = ctx.authenticate("alice", PASSWORD)
    with pytest.raises(rm.InvalidArgument):
        ctx.get_resume(None, 1)
    with pytest.raises(rm.InvalidArgument):
        ctx.get_resume(who, "1")
    with pytest.raises(rm.InvalidArgument):
        ctx.get_resume(who, True)
    with pytest.raises(rm.InvalidArgument):
        ctx.create_resume(who, title=object())
    who.close()
    with pytest.raises(rm.ClosedError):
        ctx.list_resumes(who)
    with pytest.raises(rm.ClosedError):
        who.username
    ctx.close()
    with pytest.raises(rm.ClosedError):
        ctx.get_user(1)
    # The low-level module refuses NULL handles too.
    with pytest.raises(ValueError):
        capi.rm_user_id(None)
    with pytest.raises(ValueError):
        capi.rm_resume_list(None, None, None)
    capi.rm_user_free(None)   # free(NULL) is a no-op, as in C


def test_ctx_is_shared_by_threads(ctx):
    make_user(ctx)
    errors = []

    def work(n):
        try:
            with ctx.authenticate("alice", PASSWORD) as who:
                for i in range(5):
                    ctx.create_resume(who, title=f"t{n}-{i}", content="c")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with ctx.authenticate("alice", PASSWORD) as who:
        assert len(ctx.list_resumes(who)) == 20
