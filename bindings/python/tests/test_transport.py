"""The built-in libcurl transport against a local HTTP server on 127.0.0.1."""
import http.server
import threading

import pytest

import resumate as rm


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        answer = b"echo:" + body + b";" + self.headers.get("X-Test", "").encode()
        self.send_response(201)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def do_GET(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_perform(server):
    with rm.Transport.curl() as tr:
        status, body = tr.perform(server + "/x", method="POST", headers=["X-Test: yes"], body=b"\x00\x01hi",
                                  timeout_ms=5000)
        assert status == 201 and body == b"echo:\x00\x01hi;yes"
        assert tr.perform(server + "/missing", timeout_ms=5000) == (404, b"")


def test_perform_connection_refused_and_bad_arguments(server):
    with rm.Transport.curl() as tr:
        port = int(server.rsplit(":", 1)[1])
        with pytest.raises(rm.UpstreamError) as e:
            tr.perform("http://127.0.0.1:1/", timeout_ms=5000)
        assert e.value.reason == rm.RM_UPSTREAM_UNAVAILABLE and port != 1
        with pytest.raises(rm.InvalidArgument):
            tr.perform(None)
        with pytest.raises(rm.InvalidArgument):
            tr.perform(server, headers="X: y")
        with pytest.raises(rm.InvalidArgument):
            tr.perform(server, body=5)
    with pytest.raises(rm.ClosedError):
        tr.perform(server)


def test_ctx_borrows_a_transport():
    tr = rm.Transport.curl()
    ctx = rm.Ctx(transport=tr)
    with pytest.raises(rm.MisuseError):
        tr.close()
    ctx.close()
    tr.close()
