import os

import pytest

import resumate as rm

PASSWORD = "correct-horse-battery"
SECRET = "test-secret-key-that-is-long-enough-0123456789"


class FakeClock:
    """A settable clock (µs since the epoch), passed to Ctx(clock=...)."""

    def __init__(self, us=1_753_000_000_000_000):
        self.us = us

    def __call__(self):
        return self.us


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def ctx(clock):
    with rm.Ctx(storage_url=":memory:", secret_key=SECRET, password_iterations=1000, clock=clock) as c:
        yield c


def make_user(ctx, name="alice"):
    return ctx.register(username=name, email=f"{name}@example.com", password=PASSWORD, password2=PASSWORD)


@pytest.fixture
def alice(ctx):
    make_user(ctx, "alice")
    with ctx.authenticate("alice", PASSWORD) as who:
        yield who


def repo_root():
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
