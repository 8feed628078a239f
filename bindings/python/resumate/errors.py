"""Exceptions of the resumate package: one class per libresumate status code.

Every failing library call raises a subclass of ResumateError carrying the thread's last error:
``code`` (the rm_status number), ``status`` (its name, e.g. "RM_ENOTFOUND"), ``reason`` (an
rm_reason number, 0 if none), ``message``, ``retry_after`` (seconds, for limits) and ``fields``
(field errors as {name: [messages]}, for validation). Messages never contain secrets.
"""

from . import capi as _c

__all__ = [
    "ResumateError", "ValidationError", "NotFound", "Conflict", "AuthError", "PermissionDenied",
    "LimitExceeded", "UpstreamError", "StorageError", "OutOfMemory", "VersionError", "MisuseError",
    "InvalidArgument", "ClosedError", "TokenError", "Cancelled", "Timeout", "ParseError",
    "error_from_status",
]


class ResumateError(Exception):
    """Base class. ``code`` is the rm_status, ``reason`` the rm_reason (0 if none)."""

    code = _c.RM_ERROR

    def __init__(self, message="", code=None, reason=0, retry_after=0, fields=None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.reason = reason
        self.retry_after = retry_after
        self.fields = dict(fields or {})

    @property
    def status(self):
        """Symbolic name of the status code, such as "RM_ENOTFOUND"."""
        return _c.rm_status_name(self.code)

    def __str__(self):
        text = f"{self.status}: {self.message}" if self.message else self.status
        if self.fields:
            text += " " + repr(self.fields)
        return text


class ValidationError(ResumateError, ValueError):
    """RM_EINVALID: ``fields`` maps each invalid field to its messages (DRF's shape)."""
    code = _c.RM_EINVALID


class NotFound(ResumateError, LookupError):
    """RM_ENOTFOUND: absent, deleted, or someone else's."""
    code = _c.RM_ENOTFOUND


class Conflict(ResumateError):
    """RM_ECONFLICT: a uniqueness rule, or an idempotency key in use."""
    code = _c.RM_ECONFLICT


class AuthError(ResumateError):
    """RM_EAUTH: credentials were rejected."""
    code = _c.RM_EAUTH


class PermissionDenied(ResumateError, PermissionError):
    """RM_EPERM: the principal may not do this."""
    code = _c.RM_EPERM


class LimitExceeded(ResumateError):
    """RM_ELIMIT: ``retry_after`` says in how many seconds the limit resets."""
    code = _c.RM_ELIMIT


class UpstreamError(ResumateError):
    """RM_EUPSTREAM: an AI provider failed or is not configured; ``reason`` says how."""
    code = _c.RM_EUPSTREAM


class StorageError(ResumateError):
    """RM_ESTORAGE: the storage backend failed."""
    code = _c.RM_ESTORAGE


class OutOfMemory(ResumateError, MemoryError):
    """RM_ENOMEM."""
    code = _c.RM_ENOMEM


class VersionError(ResumateError):
    """RM_EVERSION: a struct or vtable version this library does not support."""
    code = _c.RM_EVERSION


class MisuseError(ResumateError):
    """RM_EMISUSE, and misuse caught in Python before reaching C."""
    code = _c.RM_EMISUSE


class InvalidArgument(MisuseError, TypeError):
    """An argument of the wrong type or value for the C API (None, wrong type, NUL in a string)."""


class ClosedError(MisuseError):
    """A handle was used after close() (or while another thread was closing it)."""


class TokenError(ResumateError):
    """RM_ETOKEN: ``reason`` is an RM_TOKEN_* value saying why the token was refused."""
    code = _c.RM_ETOKEN


class Cancelled(ResumateError):
    """RM_ECANCELED."""
    code = _c.RM_ECANCELED


class Timeout(ResumateError, TimeoutError):
    """RM_ETIMEOUT."""
    code = _c.RM_ETIMEOUT


class ParseError(ResumateError, ValueError):
    """RM_EPARSE: a body could not be parsed."""
    code = _c.RM_EPARSE


_BY_CODE = {cls.code: cls for cls in (
    ValidationError, NotFound, Conflict, AuthError, PermissionDenied, LimitExceeded, UpstreamError,
    StorageError, OutOfMemory, VersionError, MisuseError, TokenError, Cancelled, Timeout, ParseError)}


def _fields_of(err):
    out = {}
    for i in range(_c.rm_error_field_count(err)):
        name = _c.rm_error_field_name(err, i)
        out[name] = [_c.rm_error_field_message(err, i, j) for j in range(_c.rm_error_field_message_count(err, i))]
    return out


def error_from_status(status, err=None):
    """The exception for a failed call's status, filled from ``err`` (default: the thread's last error)."""
    if err is None:
        err = _c.rm_error_last()
    same = _c.rm_error_code(err) == status
    cls = _BY_CODE.get(status, ResumateError)
    return cls(
        _c.rm_error_message(err) if same else "",
        code=status,
        reason=_c.rm_error_reason(err) if same else 0,
        retry_after=_c.rm_error_retry_after(err) if same else 0,
        fields=_fields_of(err) if same else None,
    )
