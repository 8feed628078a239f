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


SLOW = "PLEASE-HOLD-THIS-REQUEST"   # a prompt containing this is answered only when the test releases it


class FakeOpenAI(http.server.BaseHTTPRequestHandler):
    requests = []
    held = threading.Event()      # set when a SLOW request arrived
    release = threading.Event()   # set by the test (or the fixture's teardown) to answer it

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        FakeOpenAI.requests.append((self.path, self.headers.get("Authorization"), body))
        if body.get("stream") and SLOW in json.dumps(body):
            # The first event now, the rest when the test releases it.
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(f"data: {json.dumps({'choices': [{'delta': {'content': ANSWER[:10]}}]})}\n\n".encode())
            self.wfile.flush()
            FakeOpenAI.held.set()
            FakeOpenAI.release.wait(10)
            rest = {"choices": [{"delta": {"content": ANSWER[10:]}, "finish_reason": "stop"}]}
            self.wfile.write(f"data: {json.dumps(rest)}\n\ndata: [DONE]\n\n".encode())
            return
        if SLOW in json.dumps(body):
            FakeOpenAI.held.set()
            FakeOpenAI.release.wait(10)
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
    FakeOpenAI.held.clear()
    FakeOpenAI.release.clear()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    FakeOpenAI.release.set()
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


def local_model(ctx, base_url, **extra):
    return ctx.create_ai_model(display_name="Local", model_name="llama", api_provider="openai_compatible",
                               api_key_name="RM_PYTEST_LOCAL_KEY", base_url=base_url, **extra)


def test_generate_async_streams_chunks_and_saves(ctx, model_server):
    local_model(ctx, model_server)
    make_user(ctx)
    chunks, threads = [], set()
    with ctx.authenticate("alice", PASSWORD) as who:
        with ctx.generate_async(who, model="local", user_input="x" * 60, title="Async",
                                on_chunk=lambda t: (chunks.append(t), threads.add(threading.get_ident()))) as job:
            res = job.result(timeout=30)
            assert job.done()
            assert job.result() is res                  # the outcome is kept
        assert (res.content, res.title, res.model, res.replayed) == (ANSWER, "Async", "Local", False)
        assert "".join(chunks) == ANSWER and len(chunks) >= 1
        assert threading.get_ident() not in threads    # delivered on the job's own Python thread
        assert ctx.get_resume(who, res.resume_id).content == ANSWER
        with pytest.raises(rm.ClosedError):
            job.cancel()
    assert FakeOpenAI.requests[-1][2]["stream"] is True


def test_generate_async_without_streaming(ctx, model_server):
    local_model(ctx, model_server)
    make_user(ctx)
    with ctx.authenticate("alice", PASSWORD) as who:
        job = ctx.generate_async(who, model="local", user_input="x" * 60, idempotency_key="once")
        res = job.result()
        job.close()
        job.close()                                      # closing twice is fine
        assert res.content == ANSWER and not res.replayed
        # An idempotent replay completes inside rm_ai_generate_async, with the whole text as one chunk.
        chunks = []
        with ctx.generate_async(who, model="local", user_input="x" * 60, idempotency_key="once",
                                on_chunk=chunks.append) as again:
            replay = again.result(timeout=30)
        assert replay.replayed and replay.resume_id == res.resume_id and chunks == [ANSWER]
    assert len(FakeOpenAI.requests) == 1 and FakeOpenAI.requests[0][2].get("stream") in (None, False)


def test_generate_async_synchronous_failures_raise(ctx, model_server):
    local_model(ctx, model_server, daily_limit=1)
    make_user(ctx)
    with ctx.authenticate("alice", PASSWORD) as who:
        with pytest.raises(rm.ValidationError) as e:
            ctx.generate_async(who, model="nope", user_input="short")
        assert {"model", "user_input"} <= set(e.value.fields)
        ctx.generate_async(who, model="local", user_input="x" * 60).result(timeout=30)
        with pytest.raises(rm.LimitExceeded) as e:
            ctx.generate_async(who, model="local", user_input="y" * 60)
        assert e.value.retry_after > 0
        with pytest.raises(rm.InvalidArgument):
            ctx.generate_async(who, model="local", user_input="y" * 60, on_chunk="not callable")
        with pytest.raises(rm.InvalidArgument):
            ctx.generate_async("not a principal", model="local", user_input="y" * 60)


def test_cancel_saves_nothing_and_gives_back_the_quota(ctx, model_server):
    local_model(ctx, model_server, daily_limit=1)
    make_user(ctx)
    with ctx.authenticate("alice", PASSWORD) as who:
        job = ctx.generate_async(who, model="local", user_input=SLOW + " " + "x" * 60)
        assert FakeOpenAI.held.wait(10), "the request never reached the model server"
        with pytest.raises(TimeoutError):
            job.result(timeout=0.05)                     # still running: the job goes on
        assert not job.done()
        with pytest.raises(rm.MisuseError):
            ctx.close()                                  # not while one of its generations runs
        job.cancel()
        with pytest.raises(rm.Cancelled):
            job.result(timeout=30)
        job.cancel()                                     # already finished: a no-op
        assert len(ctx.list_resumes(who)) == 0
        # The reserved quota was given back: the daily limit of one still allows a generation.
        FakeOpenAI.release.set()
        assert ctx.generate(who, model="local", user_input="z" * 60).content == ANSWER


def test_leaving_the_with_block_cancels_and_an_error_in_on_chunk_cancels(ctx, model_server):
    local_model(ctx, model_server)
    make_user(ctx)
    with ctx.authenticate("alice", PASSWORD) as who:
        with ctx.generate_async(who, model="local", user_input=SLOW + " " + "x" * 60) as job:
            assert FakeOpenAI.held.wait(10)
        assert job.closed
        with pytest.raises(rm.Cancelled):
            job.result(timeout=30)                       # the outcome outlives the handle
        with pytest.raises(rm.ClosedError):
            job.cancel()

        # A streamed generation: on_chunk raises on the first piece, while the rest is held back.
        FakeOpenAI.held.clear()
        seen, box, bound = [], {}, threading.Event()

        def boom(text):
            seen.append(text)
            assert bound.wait(10)
            with pytest.raises(rm.MisuseError):
                box["job"].result()                      # cannot wait for itself
            raise KeyError("from on_chunk")
        with ctx.generate_async(who, model="local", user_input=SLOW + " " + "x" * 60, on_chunk=boom) as bad:
            box["job"] = bad
            bound.set()
            assert FakeOpenAI.held.wait(10)
            with pytest.raises(KeyError):
                bad.result(timeout=30)
        assert seen == [ANSWER[:10]]                     # no more calls after the exception
        FakeOpenAI.release.set()
        assert len(ctx.list_resumes(who)) == 0           # neither generation saved anything
    ctx.close()                                          # nothing running any more


def test_jobs_on_many_threads(ctx, model_server):
    local_model(ctx, model_server)
    make_user(ctx)
    with ctx.authenticate("alice", PASSWORD) as who:
        jobs = [ctx.generate_async(who, model="local", user_input=f"{i} " + "x" * 60, title=f"T{i}",
                                   on_chunk=(lambda t: None) if i % 2 else None) for i in range(8)]
        results = [j.result(timeout=60) for j in jobs]
        for j in jobs:
            j.close()
        assert sorted(r.title for r in results) == sorted(f"T{i}" for i in range(8))
        assert len({r.resume_id for r in results}) == 8 and len(ctx.list_resumes(who)) == 8
