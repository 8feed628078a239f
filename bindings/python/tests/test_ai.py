"""AI generation through an OpenAI-compatible model server faked on 127.0.0.1."""
import http.server
import json
import threading

import pytest

import resumate as rm
from resumate import capi

from conftest import PASSWORD, make_user

pytestmark = pytest.mark.skipif(not hasattr(capi, "rm_ai_generate"),
                                reason="the library being tested does not export rm_ai_generate yet "
                                       "(test_coverage fails for it)")

ANSWER = "# Alice\n\nBackend engineer with ten years of C."


class FakeOpenAI(http.server.BaseHTTPRequestHandler):
    requests = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        FakeOpenAI.requests.append((self.path, self.headers.get("Authorization"), body))
        if body.get("stream"):
            events = [{"choices": [{"delta": {"content": ANSWER[:10]}}]},
                      {"choices": [{"delta": {"content": ANSWER[10:]}, "finish_reason": "stop"}]}]
            data = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
            ctype = "text/event-stream"
        else:
            data = json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": ANSWER}}]})
            ctype = "application/json"
        raw = data.encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def model_server(monkeypatch):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    monkeypatch.setenv("RM_PYTEST_LOCAL_KEY", "local-test-key")
    FakeOpenAI.requests.clear()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()
    srv.server_close()


def test_generate_saves_a_resume(ctx, model_server):
    ctx.create_ai_model(display_name="Local", model_name="llama", api_provider="openai_compatible",
                        api_key_name="RM_PYTEST_LOCAL_KEY", base_url=model_server, daily_limit=1)
    make_user(ctx)
    with ctx.authenticate("alice", PASSWORD) as who:
        res = ctx.generate(who, model="local", user_input="x" * 60, title="Mine", idempotency_key="k1")
        assert (res.content, res.title, res.model, res.replayed) == (ANSWER, "Mine", "Local", False)
        assert json.loads(res.to_json()) == {"resume_id": res.resume_id, "content": ANSWER}
        assert ctx.get_resume(who, res.resume_id).content == ANSWER
        again = ctx.generate(who, model="local", user_input="x" * 60, title="Mine", idempotency_key="k1")
        assert again.replayed and again.resume_id == res.resume_id
        with pytest.raises(rm.LimitExceeded) as e:
            ctx.generate(who, model="local", user_input="y" * 60)
        assert e.value.retry_after > 0
        with pytest.raises(rm.ValidationError) as e:
            ctx.generate(who, model="nope", user_input="short")
        assert {"model", "user_input"} <= set(e.value.fields)
    path, auth, body = FakeOpenAI.requests[0]
    assert path == "/v1/chat/completions" and auth == "Bearer local-test-key" and body["model"] == "llama"
