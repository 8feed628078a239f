"""resumate — Python binding of libresumate.

A Pythonic layer over the SWIG module ``resumate.capi`` (which mirrors the C API one to one)::

    import resumate
    with resumate.Ctx(storage_url=":memory:", secret_key="s3cret") as ctx:
        ctx.register(username="alice", email="a@example.com", password="correct-horse-battery",
                     password2="correct-horse-battery")
        with ctx.authenticate("alice", "correct-horse-battery") as who:
            resume = ctx.create_resume(who, title="Backend engineer", content="# Alice")
            for r in ctx.list_resumes(who):
                print(r.id, r.title)

Conventions:
  - failures raise a ResumateError subclass per status (see resumate.errors);
  - handles (Ctx, Storage, Transport, Principal, and the objects below) are context managers with
    close(); they are also closed when garbage-collected. A closed handle raises ClosedError;
    None, a wrong type or a string with NUL raises InvalidArgument — never a crash;
  - records (User, Resume, Application, AIModel) are immutable objects with attributes and
    to_dict(); list calls return pages that are sequences with ``next_cursor`` and ``to_json()``;
  - input fields are keyword arguments (str, int, bool or None), a dict, or a Fields object;
  - times are microseconds since the Unix epoch, UTC (format them with format_timestamp()).
Thread-safety: a Ctx may be shared by threads (the GIL is released during library calls);
closing a handle while another thread is using it raises MisuseError instead of freeing it.
"""

import threading
from contextlib import contextmanager

from . import capi as _c
from .errors import *  # noqa: F401,F403 — the exception classes are part of the package's API
from .errors import (ClosedError, InvalidArgument, MisuseError, ResumateError, error_from_status)
from . import errors as _errors

__version__ = "1.0.0"

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

# Status, reason and data-set constants, re-exported without the RM_ prefix's module.
for _name in dir(_c):
    if _name.startswith(("RM_TOKEN_", "RM_UPSTREAM_", "RM_REASON_", "RM_DATA_", "RM_AI_BREAKER_",
                         "RM_USER_", "RM_TRANSPORT_")) or _name in (
            "RM_OK", "RM_ERROR", "RM_EINVALID", "RM_ENOTFOUND", "RM_ECONFLICT", "RM_EAUTH", "RM_EPERM",
            "RM_ELIMIT", "RM_EUPSTREAM", "RM_ESTORAGE", "RM_ENOMEM", "RM_EVERSION", "RM_EMISUSE",
            "RM_ETOKEN", "RM_ECANCELED", "RM_ETIMEOUT", "RM_EPARSE", "RM_NO_TIME"):
        globals()[_name] = getattr(_c, _name)
del _name


# ---------------------------------------------------------------------------------------------
# argument guards: every value reaching C is checked here first
# ---------------------------------------------------------------------------------------------

def _str(value, name, nullable=False):
    if value is None:
        if nullable:
            return None
        raise InvalidArgument(f"{name} must be a str, not None")
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be a str, not {type(value).__name__}")
    if "\x00" in value:
        raise InvalidArgument(f"{name} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgument(f"{name} is not encodable as UTF-8") from None
    return value


def _int(value, name, lo=_INT64_MIN, hi=_INT64_MAX):
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name} must be an int, not {type(value).__name__}")
    if not lo <= value <= hi:
        raise InvalidArgument(f"{name} is out of range ({lo}..{hi})")
    return value


def _check(status):
    """Raise the exception for a non-zero status."""
    if status != _c.RM_OK:
        raise error_from_status(status)


def _out(result):
    """[status, value] from a call with an output: the value, or the exception."""
    _check(result[0])
    return result[1] if len(result) == 2 else tuple(result[1:])


def _handle_of(obj, cls, name):
    if not isinstance(obj, cls):
        raise InvalidArgument(f"{name} must be a {cls.__name__}, not {type(obj).__name__}")
    return obj._get()


# ---------------------------------------------------------------------------------------------
# library-wide functions
# ---------------------------------------------------------------------------------------------

def version():
    """The runtime library version string, such as "1.0.0"."""
    return _c.rm_version()


def version_number():
    """The runtime library version as MAJOR*10000 + MINOR*100 + PATCH."""
    return _c.rm_version_number()


def status_name(code):
    """Symbolic name of a status code ("RM_UNKNOWN" for unknown numbers)."""
    return _c.rm_status_name(_int(code, "code", -(1 << 31), (1 << 31) - 1))


def format_timestamp(us):
    """ISO 8601 UTC text with microseconds and Z for a time in µs since the epoch."""
    return _out(_c.rm_format_timestamp(_int(us, "us")))


def last_error():
    """A copy of the calling thread's last error as an exception object (not raised)."""
    err = _out(_c.rm_error_copy(_c.rm_error_last()))
    try:
        exc = error_from_status(_c.rm_error_code(err), err)
        exc.fields_json = _out(_c.rm_error_fields_json(err))
        return exc
    finally:
        _c.rm_error_free(err)


def clear_error():
    """Reset the calling thread's last error to RM_OK."""
    _c.rm_error_clear()


# ---------------------------------------------------------------------------------------------
# handles
# ---------------------------------------------------------------------------------------------

class _Handle:
    """An owned (or borrowed, when ``owner`` is set) C handle with close() and use tracking."""

    _free_fn = None

    def __init__(self, ptr, owner=None):
        if ptr is None:
            raise MisuseError(f"{type(self).__name__}: the library returned no handle")
        self._ptr = ptr
        self._owner = owner
        self._lock = threading.Lock()
        self._busy = 0

    @property
    def closed(self):
        """True once close() ran."""
        return self._ptr is None

    def _get(self):
        ptr = self._ptr
        if ptr is None:
            raise ClosedError(f"{type(self).__name__} is closed")
        return ptr

    @contextmanager
    def _use(self):
        with self._lock:
            if self._ptr is None:
                raise ClosedError(f"{type(self).__name__} is closed")
            self._busy += 1
        try:
            yield self._ptr
        finally:
            with self._lock:
                self._busy -= 1

    def _can_close(self):
        return None

    def close(self):
        """Release the handle; further use raises ClosedError. Closing twice is fine."""
        with self._lock:
            if self._ptr is None:
                return
            if self._busy:
                raise MisuseError(f"{type(self).__name__} is in use by another thread")
            why = self._can_close()
            if why:
                raise MisuseError(why)
            ptr, self._ptr = self._ptr, None
        if self._owner is None and type(self)._free_fn is not None:
            type(self)._free_fn(ptr)
        self._owner = None

    def __enter__(self):
        self._get()
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            if getattr(self, "_ptr", None) is not None:
                self.close()
        except Exception:  # interpreter shutdown, or still in use: nothing sensible to do
            pass


class Fields(_Handle):
    """rm_fields: named input values (str, int, bool or None). Mutable; one thread at a time."""

    _free_fn = staticmethod(_c.rm_fields_free)

    def __init__(self, _ptr=None, **values):
        super().__init__(_ptr if _ptr is not None else _out(_c.rm_fields_new()))
        self.update(values)

    @classmethod
    def from_json(cls, text):
        """Parse a JSON object (str or bytes). Raises ParseError or ValidationError."""
        data = _bytes(text, "text")
        return cls(_out(_c.rm_fields_parse_json(data.decode("utf-8", "surrogateescape"), len(data))))

    @classmethod
    def from_form(cls, text):
        """Parse an application/x-www-form-urlencoded body (str or bytes). Raises ParseError."""
        data = _bytes(text, "text")
        return cls(_out(_c.rm_fields_parse_form(data.decode("utf-8", "surrogateescape"), len(data))))

    def set(self, name, value):
        """Set one field: str, int, bool or None (null)."""
        ptr, name = self._get(), _str(name, "name")
        if value is None:
            _check(_c.rm_fields_set_null(ptr, name))
        elif isinstance(value, bool):
            _check(_c.rm_fields_set_bool(ptr, name, 1 if value else 0))
        elif isinstance(value, int):
            _check(_c.rm_fields_set_int(ptr, name, _int(value, name)))
        elif isinstance(value, str):
            _check(_c.rm_fields_set_string(ptr, name, _str(value, name)))
        else:
            raise InvalidArgument(f"field {name!r}: unsupported type {type(value).__name__}")

    def update(self, values):
        if not isinstance(values, dict):
            raise InvalidArgument(f"fields must be a dict, not {type(values).__name__}")
        for k, v in values.items():
            self.set(k, v)

    def unset(self, name):
        """Make a field absent."""
        _check(_c.rm_fields_unset(self._get(), _str(name, "name")))

    def __contains__(self, name):
        return bool(_c.rm_fields_has(self._get(), _str(name, "name")))

    def get_string(self, name):
        """The field as text (str, or an int in decimal); None if absent, null or a bool."""
        return _c.rm_fields_get_string(self._get(), _str(name, "name"))

    def __setitem__(self, name, value):
        self.set(name, value)

    def __delitem__(self, name):
        self.unset(name)


def _bytes(text, name):
    if isinstance(text, bytes):
        if b"\x00" in text:
            raise InvalidArgument(f"{name} must not contain NUL bytes")
        return text
    return _str(text, name).encode("utf-8")


@contextmanager
def _fields(fields, kwargs):
    """A Fields for a call from a Fields object, a dict and/or keyword arguments."""
    if isinstance(fields, Fields) and not kwargs:
        with fields._use() as ptr:
            yield ptr
        return
    values = {}
    if isinstance(fields, Fields):
        raise InvalidArgument("pass either a Fields object or keyword arguments, not both")
    if fields is not None:
        if not isinstance(fields, dict):
            raise InvalidArgument(f"fields must be a dict or Fields, not {type(fields).__name__}")
        values.update(fields)
    values.update(kwargs)
    f = Fields(**values)
    try:
        yield f._get()
    finally:
        f.close()


class Storage(_Handle):
    """A storage backend handle (built-in SQLite or PostgreSQL). Thread-safe."""

    _free_fn = staticmethod(_c.rm_storage_free)

    def __init__(self, _ptr):
        super().__init__(_ptr)
        self._users = []  # Ctx objects borrowing this storage (weakly: see _can_close)

    @classmethod
    def open(cls, url):
        """Open "sqlite:///path", ":memory:", a file path, or "postgres://…" where built."""
        return cls(_out(_c.rm_storage_open(_str(url, "url"))))

    @classmethod
    def open_sqlite(cls, path):
        """Open (create) a SQLite database file, or ":memory:"."""
        return cls(_out(_c.rm_storage_open_sqlite(_str(path, "path"))))

    def _can_close(self):
        if any(ctx() is not None and not ctx().closed for ctx in self._users):
            return "Storage is still used by an open Ctx: close the Ctx first"
        return None

    _COPY_STATS = ("users", "ai_models", "resumes", "applications", "denied_tokens", "usage_counts",
                   "idempotency_keys")

    def copy_to(self, target):
        """Copy every row of this storage into `target`, an empty Storage, keeping ids
        (rm_storage_copy). Returns the row counts as a dict. A non-empty target raises Conflict."""
        to = _handle_of(target, Storage, "target")
        if target is self:
            raise InvalidArgument("target must be another storage")
        stats = _c.rm_copy_stats()
        _check(_c.rm_storage_copy(to, self._get(), stats))
        return {name: int(getattr(stats, name)) for name in self._COPY_STATS}

    @property
    def has_vtable(self):
        """True: every storage handle is backed by a vtable (rm_storage_vtable_of)."""
        return _c.rm_storage_vtable_of(self._get()) is not None

    @property
    def has_backend_state(self):
        """Whether the backend keeps state behind the handle (rm_storage_self)."""
        return _c.rm_storage_self(self._get()) is not None


class Transport(_Handle):
    """An HTTP transport (the built-in libcurl one). Thread-safe."""

    _free_fn = staticmethod(_c.rm_transport_free)

    def __init__(self, _ptr):
        super().__init__(_ptr)
        self._users = []

    @classmethod
    def curl(cls):
        """Start the built-in libcurl transport (one background thread)."""
        return cls(_out(_c.rm_transport_new_curl()))

    def _can_close(self):
        if any(ctx() is not None and not ctx().closed for ctx in self._users):
            return "Transport is still used by an open Ctx: close the Ctx first"
        return None

    def perform(self, url, method=None, headers=(), body=None, connect_timeout_ms=0, timeout_ms=0):
        """Perform one request and wait: returns (status, body bytes). Raises UpstreamError, Timeout…"""
        hdrs = [_str(h, "header") for h in headers] if not isinstance(headers, (str, bytes)) else None
        if hdrs is None:
            raise InvalidArgument("headers must be a sequence of 'Name: value' strings")
        if body is not None:
            body = _bytes(body, "body") if isinstance(body, str) else body
            if not isinstance(body, bytes):
                raise InvalidArgument("body must be bytes, str or None")
        req = _c.rmpy_transport_request_new(_str(method, "method", True), _str(url, "url"), hdrs, body,
                                            _int(connect_timeout_ms, "connect_timeout_ms"),
                                            _int(timeout_ms, "timeout_ms"))
        if req is None:
            raise MisuseError("could not build the request")
        try:
            with self._use() as ptr:
                status, code, data = _c.rm_transport_perform(ptr, req)
            _check(status)
            return code, data
        finally:
            _c.rmpy_transport_request_free(req)


class Principal(_Handle):
    """Who is calling: a user or anonymous. Immutable."""

    _free_fn = staticmethod(_c.rm_principal_free)

    @classmethod
    def anonymous(cls):
        return cls(_out(_c.rm_principal_anonymous()))

    @classmethod
    def for_user(cls, user):
        """A principal acting as ``user`` (a User); the caller vouches for the identity."""
        return cls(_out(_c.rm_principal_for_user(_handle_of(user, User, "user"))))

    def dup(self):
        return Principal(_out(_c.rm_principal_dup(self._get())))

    @property
    def is_anonymous(self):
        return bool(_c.rm_principal_is_anonymous(self._get()))

    @property
    def user_id(self):
        return _c.rm_principal_user_id(self._get())

    @property
    def username(self):
        return _c.rm_principal_username(self._get())

    @property
    def is_staff(self):
        return bool(_c.rm_principal_is_staff(self._get()))

    def __repr__(self):
        if self.closed:
            return "<Principal closed>"
        return "<Principal anonymous>" if self.is_anonymous else f"<Principal {self.username!r} ({self.user_id})>"


class _Record(_Handle):
    """A record read from the library: its attributes are copied when it is made."""

    _fields = ()
    _bools = ()

    def __init__(self, ptr, owner=None):
        super().__init__(ptr, owner)
        prefix = type(self)._prefix
        for name in self._fields:
            value = getattr(_c, prefix + name)(ptr)
            object.__setattr__(self, name, bool(value) if name in self._bools else value)

    def to_dict(self):
        """The attributes as a dict."""
        return {name: getattr(self, name) for name in self._fields}

    def __repr__(self):
        return f"<{type(self).__name__} {self.to_dict()!r}>"

    def __eq__(self, other):
        return type(other) is type(self) and other.to_dict() == self.to_dict()

    __hash__ = None


class User(_Record):
    """A user, as read from storage."""
    _prefix = "rm_user_"
    _free_fn = staticmethod(_c.rm_user_free)
    _fields = ("id", "username", "email", "is_active", "is_staff", "is_superuser", "date_joined",
               "has_usable_password")
    _bools = ("is_active", "is_staff", "is_superuser", "has_usable_password")


class Resume(_Record):
    """A resume."""
    _prefix = "rm_resume_"
    _free_fn = staticmethod(_c.rm_resume_free)
    _fields = ("id", "user_id", "username", "title", "content", "created_at", "updated_at")

    def to_json(self):
        """The REST API's JSON object for this resume."""
        return _out(_c.rm_resume_to_json(self._get()))


class Application(_Record):
    """A job application."""
    _prefix = "rm_application_"
    _free_fn = staticmethod(_c.rm_application_free)
    _fields = ("id", "user_id", "job_title", "company_name", "original_job_description", "date_applied",
               "status", "notes", "is_deleted", "is_example", "resume_used", "created_at", "updated_at")
    _bools = ("is_deleted", "is_example")

    def to_json(self):
        """The REST API's JSON object for this application."""
        return _out(_c.rm_application_to_json(self._get()))


class AIModel(_Record):
    """An AI model of the registry."""
    _prefix = "rm_ai_model_"
    _free_fn = staticmethod(_c.rm_ai_model_free)
    _fields = ("id", "display_name", "model_name", "api_provider", "api_key_name", "base_url", "is_active",
               "login_required", "daily_limit", "response_time_info", "description", "created_at", "updated_at")
    _bools = ("is_active", "login_required")


class _Page(_Handle):
    """A page of records: a read-only sequence. Items stay valid as long as the page object lives."""

    def __init__(self, ptr):
        super().__init__(ptr)
        n = type(self)._count(ptr)
        self._items = tuple(type(self)._item(type(self)._at(ptr, i), owner=self) for i in range(n))

    def __len__(self):
        return len(self._items)

    def __getitem__(self, i):
        return self._items[i]

    def __iter__(self):
        return iter(self._items)

    def to_dicts(self):
        return [item.to_dict() for item in self._items]


class ResumePage(_Page):
    _free_fn = staticmethod(_c.rm_resume_page_free)
    _count = staticmethod(_c.rm_resume_page_count)
    _at = staticmethod(_c.rm_resume_page_at)
    _item = Resume

    def __init__(self, ptr):
        super().__init__(ptr)
        self.next_cursor = _c.rm_resume_page_next_cursor(ptr)

    def to_json(self):
        return _out(_c.rm_resume_page_to_json(self._get()))


class ApplicationPage(_Page):
    _free_fn = staticmethod(_c.rm_application_page_free)
    _count = staticmethod(_c.rm_application_page_count)
    _at = staticmethod(_c.rm_application_page_at)
    _item = Application

    def __init__(self, ptr):
        super().__init__(ptr)
        self.next_cursor = _c.rm_application_page_next_cursor(ptr)

    def to_json(self):
        return _out(_c.rm_application_page_to_json(self._get()))


class AIModelPage(_Page):
    _free_fn = staticmethod(_c.rm_ai_model_page_free)
    _count = staticmethod(_c.rm_ai_model_page_count)
    _at = staticmethod(_c.rm_ai_model_page_at)
    _item = AIModel
    next_cursor = None

    def public_json(self):
        """The public view: [{model_name (the display name), login_required, response_time_info, description}]."""
        return _out(_c.rm_ai_model_page_public_json(self._get()))


class AIResult(_Record):
    """The result of a generation: the saved resume's id, the Markdown, the model that answered."""
    _prefix = "rm_ai_result_"
    _free_fn = staticmethod(_c.rm_ai_result_free) if hasattr(_c, "rm_ai_result_free") else None
    _fields = ("resume_id", "content", "title", "model", "replayed")
    _bools = ("replayed",)

    def to_json(self):
        """The REST API's answer, {"resume_id": …, "content": …}."""
        return _out(_c.rm_ai_result_to_json(self._get()))


class Job:
    """An AI generation running in the background (rm_ai_job), from Ctx.generate_async().

    result(timeout=None) waits for the saved resume (an AIResult) or raises the generation's error
    (Cancelled after cancel()); cancel() aborts it (nothing is saved). Streamed text goes to the
    ``on_chunk`` callable given to generate_async, called in order on a Python thread of the job's
    own (never on the library's threads), all of it before result() returns. If on_chunk raises, the
    generation is cancelled and result() raises that exception (should the generation have finished
    before the cancel took effect, its resume stays saved).

    A Job is a context manager: leaving the ``with`` block cancels a generation still running and
    closes the job. close() alone releases the job handle without cancelling (like rm_ai_job_free):
    cancel() is no longer possible, result() and done() still are. A Ctx cannot be closed while one of
    its generations is still running.
    """

    _SLICE_MS = 100  # waits are sliced so that KeyboardInterrupt still works

    def __init__(self, ctx, state, job, on_chunk):
        import codecs
        self._ctx = ctx
        self._state = state
        self._job = job
        self._on_chunk = on_chunk
        self._lock = threading.Lock()
        self._state_refs = 1           # Python's reference on the C state: __del__ and the pump drop theirs
        self._outcome = None           # (AIResult, None) or (None, exception) once collected
        self._chunk_error = None
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pump = None
        if on_chunk is not None:
            self._state_refs += 1
            self._pump = threading.Thread(target=self._pump_loop, name="resumate-job-chunks", daemon=True)
            self._pump.start()

    # -- the C state --
    def _release_state(self):
        with self._lock:
            self._state_refs -= 1
            state = self._state if self._state_refs == 0 else None
            if state is not None:
                self._state = None
        if state is not None:
            _c.rmpy_async_free(state)

    def _pump_loop(self):
        state = self._state
        try:
            while True:
                r = _c.rmpy_async_wait(state, -1, 1)
                if r == 2:
                    text = self._decoder.decode(_c.rmpy_async_take_text(state))
                    if text and self._chunk_error is None:
                        try:
                            self._on_chunk(text)
                        except BaseException as e:  # noqa: B902 — handed to result()
                            self._chunk_error = e
                            try:
                                self.cancel()
                            except ResumateError:  # closed meanwhile: the generation just goes on
                                pass
                elif r == 1:
                    tail = self._decoder.decode(b"", final=True)
                    if tail and self._chunk_error is None:
                        try:
                            self._on_chunk(tail)
                        except BaseException as e:  # noqa: B902
                            self._chunk_error = e
                    return
        finally:
            self._release_state()

    @contextmanager
    def _hold(self):
        """The C state, kept alive for the block even if another thread closes the job meanwhile."""
        with self._lock:
            if self._state is None:
                raise ClosedError("Job is closed")
            self._state_refs += 1
            state = self._state
        try:
            yield state
        finally:
            self._release_state()

    # -- the public interface --
    def done(self):
        """True once the generation finished (saved, failed or cancelled) and every chunk was delivered."""
        if self._outcome is not None:
            return True
        with self._hold() as state:
            finished = _c.rmpy_async_wait(state, 0, 0) == 1
        return finished and (self._pump is None or not self._pump.is_alive())

    def result(self, timeout=None):
        """Wait for the outcome: the AIResult, or raise the generation's error. ``timeout`` is in
        seconds (None: no limit); when it passes first, TimeoutError is raised and the job goes on."""
        import time
        if self._outcome is None:
            if self._pump is not None and threading.current_thread() is self._pump:
                raise MisuseError("result() cannot wait from inside on_chunk (the outcome comes after it)")
            if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))):
                raise InvalidArgument(f"timeout must be a number of seconds, not {type(timeout).__name__}")
            end = None if timeout is None else time.monotonic() + max(0.0, timeout)

            def left_ms():
                if end is None:
                    return self._SLICE_MS
                return min(self._SLICE_MS, max(0, int((end - time.monotonic()) * 1000)))

            with self._hold() as state:
                while _c.rmpy_async_wait(state, left_ms(), 0) != 1:
                    if end is not None and time.monotonic() >= end:
                        raise TimeoutError("the generation is still running")
                while self._pump is not None and self._pump.is_alive():
                    self._pump.join(left_ms() / 1000)
                    if self._pump.is_alive() and end is not None and time.monotonic() >= end:
                        raise TimeoutError("the generation's chunks are still being delivered")
                self._collect(state)
        res, exc = self._outcome
        if exc is not None:
            raise exc
        return res

    def _collect(self, state):
        with self._lock:
            if self._outcome is not None:
                return
            status, ptr = _c.rmpy_async_take_result(state)
            if status == _c.RM_OK:
                self._outcome = (AIResult(ptr), None)
            else:
                err = _c.rmpy_async_error(state)
                exc = (error_from_status(status, err) if err is not None
                       else _errors._BY_CODE.get(status, ResumateError)("", code=status))
                self._outcome = (None, exc)
            if self._chunk_error is not None:   # even if the generation finished before the cancel
                self._outcome = (None, self._chunk_error)
        self._ctx._job_finished(self)

    def cancel(self):
        """Abort the generation: nothing is saved, the quota charge is taken back, result() raises
        Cancelled. A no-op once it finished. Safe from any thread, including on_chunk."""
        with self._lock:
            job = self._job
            if job is None:
                raise ClosedError("Job is closed")
            _check(_c.rm_ai_job_cancel(job))

    @property
    def closed(self):
        """True once close() ran."""
        return self._job is None

    def close(self):
        """Release the job handle (a running generation goes on; see cancel()). Closing twice is fine."""
        with self._lock:
            job, self._job = self._job, None
        if job is not None:
            _c.rm_ai_job_free(job)

    def __enter__(self):
        if self._job is None:
            raise ClosedError("Job is closed")
        return self

    def __exit__(self, *exc):
        try:
            if self._job is not None and not self.done():
                self.cancel()
        finally:
            self.close()

    def __del__(self):
        try:
            self.close()
            if getattr(self, "_state", None) is not None:
                self._release_state()
        except Exception:  # interpreter shutdown: nothing sensible to do
            pass

    def __repr__(self):
        return f"<resumate.Job {'done' if self.done() else 'running'}>"


class TokenPair:
    """An access token and (unless refreshed without rotation) a refresh token."""

    __slots__ = ("access", "refresh")

    def __init__(self, ptr):
        try:
            self.access = _c.rm_token_pair_access(ptr)
            self.refresh = _c.rm_token_pair_refresh(ptr)
        finally:
            _c.rm_token_pair_free(ptr)

    def to_dict(self):
        d = {"access": self.access}
        if self.refresh is not None:
            d["refresh"] = self.refresh
        return d

    def __repr__(self):  # tokens are secrets: never print them
        return f"<TokenPair access=… refresh={'…' if self.refresh else None}>"


def _owned(result, cls):
    return cls(_out(result))


class _ListOptions:
    def __init__(self, limit, offset, cursor, status, search=None, ordering=None):
        self.ptr = _c.rmpy_list_options_new(_int(limit or 0, "limit"), _int(offset or 0, "offset"),
                                            _str(cursor, "cursor", True), _str(status, "status", True),
                                            _str(search, "search", True), _str(ordering, "ordering", True))
        if self.ptr is None:
            raise MisuseError("could not build list options")

    def __enter__(self):
        return self.ptr

    def __exit__(self, *exc):
        _c.rmpy_list_options_free(self.ptr)


class Ctx(_Handle):
    """One library instance (rm_ctx): configuration, storage, caches. Share it between threads.

    Ctx(storage=None, storage_url=None, transport=None, secret_key=None, clock=None,
        previous_secret_keys=None, **options)

    ``storage`` is a Storage (borrowed: it must stay open while the Ctx is); otherwise
    ``storage_url`` is opened (default ":memory:"). ``clock`` is a callable returning µs since the
    epoch. Other options are the integer or string members of rm_ctx_options, by name
    (password_iterations, access_token_lifetime, refresh_token_lifetime, token_leeway,
    rotate_refresh_tokens, ai_* timeouts, gemini_base_url, …).
    """

    _free_fn = staticmethod(_c.rm_ctx_free)

    def __init__(self, storage=None, transport=None, clock=None, previous_secret_keys=None, **options):
        import weakref
        self._jobs = set()               # generations started here and not yet seen finished
        self._jobs_lock = threading.Lock()
        opts = _c.rmpy_ctx_options_new()
        if opts is None:
            raise MisuseError("could not allocate ctx options")
        try:
            if storage is not None:
                _c.rmpy_ctx_options_set_storage(opts, _handle_of(storage, Storage, "storage"))
            if transport is not None:
                _c.rmpy_ctx_options_set_transport(opts, _handle_of(transport, Transport, "transport"))
            if clock is not None:
                if not callable(clock):
                    raise InvalidArgument("clock must be callable")
                _c.rmpy_ctx_options_set_clock(opts, clock)
            if previous_secret_keys is not None:
                keys = [_str(k, "previous_secret_keys item") for k in previous_secret_keys]
                if _c.rmpy_ctx_options_set_previous_keys(opts, keys) != 0:
                    raise MisuseError("could not set previous_secret_keys")
            for name, value in options.items():
                if isinstance(value, bool):
                    value = int(value)
                if value is None or isinstance(value, str):
                    rc = _c.rmpy_ctx_options_set_string(opts, name, _str(value, name, True))
                elif isinstance(value, int):
                    rc = _c.rmpy_ctx_options_set_int(opts, name, _int(value, name))
                else:
                    raise InvalidArgument(f"option {name}: unsupported type {type(value).__name__}")
                if rc != 0:
                    raise InvalidArgument(f"unknown ctx option {name!r} for a {type(value).__name__} value")
            super().__init__(_out(_c.rm_ctx_new(opts)))
        finally:
            _c.rmpy_ctx_options_free(opts)
        self._clock = clock           # the C ctx calls it: keep it alive as long as the ctx
        self._storage = storage       # borrowed: must outlive the ctx
        self._transport = transport
        for borrowed in (storage, transport):
            if borrowed is not None:
                borrowed._users.append(weakref.ref(self))

    # -- the ctx itself --
    def now(self):
        """The ctx clock: µs since the epoch."""
        with self._use() as ctx:
            return _c.rm_ctx_now(ctx)

    def data_version(self, data_set):
        """Change counter of RM_DATA_AI_MODELS or RM_DATA_EXAMPLES (for caches)."""
        with self._use() as ctx:
            return _c.rm_ctx_data_version(ctx, _int(data_set, "data_set", -(1 << 31), (1 << 31) - 1))

    @property
    def has_storage(self):
        """Whether the ctx has a storage handle (rm_ctx_storage); always true for an open ctx."""
        with self._use() as ctx:
            return _c.rm_ctx_storage(ctx) is not None

    # -- users --
    def register(self, fields=None, **kwargs):
        """Register a user (username, email, password, password2). Raises ValidationError."""
        with self._use() as ctx, _fields(fields, kwargs) as f:
            return _owned(_c.rm_user_register(ctx, f), User)

    def create_user(self, username, email=None, password=None, staff=False, superuser=False, active=True):
        """Create a user administratively (no password-strength rules; None password = unusable)."""
        flags = (_c.RM_USER_STAFF if staff else 0) | (_c.RM_USER_SUPERUSER if superuser else 0) | \
            (0 if active else _c.RM_USER_INACTIVE)
        with self._use() as ctx:
            return _owned(_c.rm_user_create(ctx, _str(username, "username"), _str(email, "email", True),
                                            _str(password, "password", True), flags), User)

    def authenticate(self, username, password):
        """Check a username and password: a Principal, or AuthError."""
        with self._use() as ctx:
            return _owned(_c.rm_user_authenticate(ctx, _str(username, "username", True),
                                                  _str(password, "password", True)), Principal)

    def get_user(self, user_id):
        with self._use() as ctx:
            return _owned(_c.rm_user_get(ctx, _int(user_id, "user_id")), User)

    def get_user_by_username(self, username):
        with self._use() as ctx:
            return _owned(_c.rm_user_get_by_username(ctx, _str(username, "username")), User)

    def set_password(self, user_id, new_password):
        """Change a password (password rules apply); the user's older tokens stop working."""
        with self._use() as ctx:
            _check(_c.rm_user_set_password(ctx, _int(user_id, "user_id"), _str(new_password, "new_password")))

    def deactivate_user(self, user_id):
        with self._use() as ctx:
            _check(_c.rm_user_deactivate(ctx, _int(user_id, "user_id")))

    def anonymous_user(self):
        """The inactive user owning anonymous generations."""
        with self._use() as ctx:
            return _owned(_c.rm_user_anonymous(ctx), User)

    # -- tokens --
    def obtain_tokens(self, who):
        """Issue an access and refresh token for a principal's user."""
        with self._use() as ctx:
            return TokenPair(_out(_c.rm_token_obtain(ctx, _handle_of(who, Principal, "who"))))

    def login(self, username, password):
        """Authenticate and issue tokens: a TokenPair, or AuthError."""
        with self._use() as ctx:
            return TokenPair(_out(_c.rm_token_login(ctx, _str(username, "username", True),
                                                    _str(password, "password", True))))

    def authenticate_token(self, access_token):
        """Verify an access token: a Principal, or TokenError (``reason`` says why)."""
        with self._use() as ctx:
            return _owned(_c.rm_token_authenticate(ctx, _str(access_token, "access_token")), Principal)

    def refresh_tokens(self, refresh_token):
        """A new access token (and a new refresh token when rotation is on)."""
        with self._use() as ctx:
            return TokenPair(_out(_c.rm_token_refresh(ctx, _str(refresh_token, "refresh_token"))))

    def revoke_token(self, refresh_token):
        """Log out: denylist a refresh token."""
        with self._use() as ctx:
            _check(_c.rm_token_revoke(ctx, _str(refresh_token, "refresh_token")))

    def prune_tokens(self):
        """Remove expired denylist entries; returns how many."""
        with self._use() as ctx:
            return _out(_c.rm_token_prune(ctx))

    # -- resumes --
    def create_resume(self, who, fields=None, **kwargs):
        with self._use() as ctx, _fields(fields, kwargs) as f:
            return _owned(_c.rm_resume_create(ctx, _handle_of(who, Principal, "who"), f), Resume)

    def get_resume(self, who, resume_id):
        with self._use() as ctx:
            return _owned(_c.rm_resume_get(ctx, _handle_of(who, Principal, "who"), _int(resume_id, "id")), Resume)

    def list_resumes(self, who, limit=None, offset=None, cursor=None, search=None, ordering=None):
        """One page of ``who``'s resumes, newest first (or by ``ordering``, e.g. "title,-created_at"),
        optionally only those matching every ``search`` term in title or content."""
        with self._use() as ctx, _ListOptions(limit, offset, cursor, None, search, ordering) as opts:
            return _owned(_c.rm_resume_list(ctx, _handle_of(who, Principal, "who"), opts), ResumePage)

    def count_resumes(self, who, search=None):
        """How many of ``who``'s resumes match ``search`` (all of them without it)."""
        with self._use() as ctx, _ListOptions(None, None, None, None, search, None) as opts:
            return _out(_c.rm_resume_count(ctx, _handle_of(who, Principal, "who"), opts))

    def iter_resumes(self, who, page_size=100, search=None, ordering=None):
        """Every resume of ``who``, fetched page by page with cursors."""
        return _iterate(lambda cursor: self.list_resumes(who, limit=page_size, cursor=cursor, search=search,
                                                         ordering=ordering))

    def update_resume(self, who, resume_id, fields=None, **kwargs):
        """Replace a resume (PUT): title and content required."""
        with self._use() as ctx, _fields(fields, kwargs) as f:
            return _owned(_c.rm_resume_update(ctx, _handle_of(who, Principal, "who"), _int(resume_id, "id"), f),
                          Resume)

    def patch_resume(self, who, resume_id, fields=None, **kwargs):
        """Change only the given fields of a resume (PATCH)."""
        with self._use() as ctx, _fields(fields, kwargs) as f:
            return _owned(_c.rm_resume_patch(ctx, _handle_of(who, Principal, "who"), _int(resume_id, "id"), f),
                          Resume)

    def delete_resume(self, who, resume_id):
        with self._use() as ctx:
            _check(_c.rm_resume_delete(ctx, _handle_of(who, Principal, "who"), _int(resume_id, "id")))

    # -- job applications --
    def create_application(self, who, fields=None, **kwargs):
        with self._use() as ctx, _fields(fields, kwargs) as f:
            return _owned(_c.rm_application_create(ctx, _handle_of(who, Principal, "who"), f), Application)

    def get_application(self, who, application_id):
        with self._use() as ctx:
            return _owned(_c.rm_application_get(ctx, _handle_of(who, Principal, "who"),
                                                _int(application_id, "id")), Application)

    def list_applications(self, who, limit=None, offset=None, cursor=None, status=None, search=None, ordering=None):
        """One page of ``who``'s applications, newest first (or by ``ordering``), optionally of one status
        and matching every ``search`` term in job_title, company_name or original_job_description."""
        with self._use() as ctx, _ListOptions(limit, offset, cursor, status, search, ordering) as opts:
            return _owned(_c.rm_application_list(ctx, _handle_of(who, Principal, "who"), opts), ApplicationPage)

    def count_applications(self, who, status=None, search=None):
        """How many of ``who``'s applications match ``status`` and ``search``."""
        with self._use() as ctx, _ListOptions(None, None, None, status, search, None) as opts:
            return _out(_c.rm_application_count(ctx, _handle_of(who, Principal, "who"), opts))

    def iter_applications(self, who, page_size=100, status=None, search=None, ordering=None):
        return _iterate(lambda cursor: self.list_applications(who, limit=page_size, cursor=cursor, status=status,
                                                              search=search, ordering=ordering))

    def update_application(self, who, application_id, fields=None, **kwargs):
        with self._use() as ctx, _fields(fields, kwargs) as f:
            return _owned(_c.rm_application_update(ctx, _handle_of(who, Principal, "who"),
                                                   _int(application_id, "id"), f), Application)

    def patch_application(self, who, application_id, fields=None, **kwargs):
        with self._use() as ctx, _fields(fields, kwargs) as f:
            return _owned(_c.rm_application_patch(ctx, _handle_of(who, Principal, "who"),
                                                  _int(application_id, "id"), f), Application)

    def delete_application(self, who, application_id):
        """Soft-delete; a second delete raises NotFound."""
        with self._use() as ctx:
            _check(_c.rm_application_delete(ctx, _handle_of(who, Principal, "who"), _int(application_id, "id")))

    # -- examples --
    def list_examples(self, limit=None, offset=None, cursor=None, search=None, ordering=None):
        with self._use() as ctx, _ListOptions(limit, offset, cursor, None, search, ordering) as opts:
            return _owned(_c.rm_example_list(ctx, opts), ApplicationPage)

    def count_examples(self, search=None):
        """How many example applications match ``search``."""
        with self._use() as ctx, _ListOptions(None, None, None, None, search, None) as opts:
            return _out(_c.rm_example_count(ctx, opts))

    def get_example(self, application_id):
        with self._use() as ctx:
            return _owned(_c.rm_example_get(ctx, _int(application_id, "id")), Application)

    def seed_examples(self):
        """Seed the standard examples unless some exist; returns how many were created."""
        with self._use() as ctx:
            return _out(_c.rm_example_seed(ctx))

    # -- AI models --
    def create_ai_model(self, fields=None, **kwargs):
        with self._use() as ctx, _fields(fields, kwargs) as f:
            return _owned(_c.rm_ai_model_create(ctx, f), AIModel)

    def update_ai_model(self, display_name, fields=None, **kwargs):
        with self._use() as ctx, _fields(fields, kwargs) as f:
            return _owned(_c.rm_ai_model_update(ctx, _str(display_name, "display_name"), f), AIModel)

    def get_ai_model(self, display_name):
        with self._use() as ctx:
            return _owned(_c.rm_ai_model_get(ctx, _str(display_name, "display_name")), AIModel)

    def list_ai_models(self, include_inactive=False):
        with self._use() as ctx:
            return _owned(_c.rm_ai_model_list(ctx, 1 if include_inactive else 0), AIModelPage)

    def deactivate_ai_model(self, display_name):
        with self._use() as ctx:
            _check(_c.rm_ai_model_deactivate(ctx, _str(display_name, "display_name")))

    def set_ai_model_settings(self, display_name, connect_timeout_ms=0, timeout_ms=0, fallbacks=None,
                              clear=False):
        """Per-model settings kept in the ctx (timeouts, fallback models); clear=True removes them."""
        name = _str(display_name, "display_name")
        if clear:
            with self._use() as ctx:
                _check(_c.rm_ai_model_settings_set(ctx, name, None))
            return
        fb = [_str(x, "fallback") for x in (fallbacks or [])]
        settings = _c.rmpy_ai_model_settings_new(_int(connect_timeout_ms, "connect_timeout_ms"),
                                                 _int(timeout_ms, "timeout_ms"), fb)
        if settings is None:
            raise MisuseError("could not build model settings")
        try:
            with self._use() as ctx:
                _check(_c.rm_ai_model_settings_set(ctx, name, settings))
        finally:
            _c.rmpy_ai_model_settings_free(settings)

    def generate(self, who, fields=None, idempotency_key=None, deadline_ms=0, **kwargs):
        """Generate a resume with an AI model and save it (fields: model, user_input, title,
        application_id). Blocks this thread (not the others). Raises ValidationError,
        LimitExceeded (retry_after), UpstreamError (reason), Timeout, Conflict."""
        opts = _c.rm_ai_generate_options()
        _check(_c.rm_ai_generate_options_init(opts, _c.RM_AI_GENERATE_OPTIONS_VERSION))
        opts.deadline_ms = _int(deadline_ms, "deadline_ms")
        _c.rmpy_ai_options_set_key(opts, _str(idempotency_key, "idempotency_key", True))
        try:
            with self._use() as ctx, _fields(fields, kwargs) as f:
                return _owned(_c.rm_ai_generate(ctx, _handle_of(who, Principal, "who"), f, opts), AIResult)
        finally:
            _c.rmpy_ai_options_clear_key(opts)

    def generate_async(self, who, fields=None, idempotency_key=None, deadline_ms=0, on_chunk=None, **kwargs):
        """Start a generation without waiting and return its Job (same fields and errors as
        generate(); validation, policy and quota failures are raised here). ``on_chunk`` is a
        callable receiving the streamed text piece by piece (str), or None for no streaming."""
        if on_chunk is not None and not callable(on_chunk):
            raise InvalidArgument("on_chunk must be callable or None")
        opts = _c.rm_ai_generate_options()
        _check(_c.rm_ai_generate_options_init(opts, _c.RM_AI_GENERATE_OPTIONS_VERSION))
        opts.deadline_ms = _int(deadline_ms, "deadline_ms")
        _c.rmpy_ai_options_set_key(opts, _str(idempotency_key, "idempotency_key", True))
        state = _c.rmpy_async_new()
        if state is None:
            _c.rmpy_ai_options_clear_key(opts)
            raise MisuseError("could not allocate the job state")
        try:
            with self._use() as ctx, _fields(fields, kwargs) as f:
                status, job = _c.rm_ai_generate_async(ctx, _handle_of(who, Principal, "who"), f, opts,
                                                      _c.rmpy_on_chunk if on_chunk is not None else None,
                                                      _c.rmpy_on_done, state)
                if status != _c.RM_OK:
                    _c.rmpy_async_free(state)   # on_done will not run: drop its reference
                    raise error_from_status(status)
                j = Job(self, state, job, on_chunk)
                state = None
                with self._jobs_lock:
                    self._jobs.add(j)
                return j
        finally:
            if state is not None:
                _c.rmpy_async_free(state)
            _c.rmpy_ai_options_clear_key(opts)

    def _job_finished(self, job):
        with self._jobs_lock:
            self._jobs.discard(job)

    def _can_close(self):
        with self._jobs_lock:
            self._jobs = {j for j in self._jobs if not j.done()}
            if self._jobs:
                return (f"{len(self._jobs)} AI generation(s) still running on this Ctx: "
                        "cancel them or wait for their results first")
        return None

    def breaker_state(self, api_provider, model_name):
        """Circuit breaker state of a provider and model: RM_AI_BREAKER_CLOSED, _OPEN or _HALF_OPEN."""
        with self._use() as ctx:
            state = _c.rm_ai_breaker_state(ctx, _str(api_provider, "api_provider"), _str(model_name, "model_name"))
        if state < 0:
            _check(state)
        return state


def _iterate(fetch):
    cursor = None
    while True:
        page = fetch(cursor)
        try:
            yield from page
            cursor = page.next_cursor
        finally:
            pass
        if not cursor or len(page) == 0:
            return
