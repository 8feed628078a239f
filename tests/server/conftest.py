"""pytest fixtures for tests/server: see rm_server.py."""
from rm_server import make_server, server  # noqa: F401  (fixtures)
