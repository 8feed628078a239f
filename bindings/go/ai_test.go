package resumate

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

const answer = "# Alice\n\nBackend engineer."

// slowMarker in a prompt makes the fake server hold the answer (after the first streamed event)
// until the test releases it or the client goes away.
const slowMarker = "PLEASE-HOLD-THIS-REQUEST"

type fakeModel struct {
	URL     string
	mu      sync.Mutex
	bodies  []map[string]any
	held    chan struct{} // one token per held request
	release chan struct{} // closed by the test (or the cleanup) to answer held requests
	once    sync.Once
}

func (m *fakeModel) Release() { m.once.Do(func() { close(m.release) }) }

func (m *fakeModel) Bodies() []map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]map[string]any(nil), m.bodies...)
}

// A fake OpenAI-compatible model server on 127.0.0.1 (chat completions, streamed or not).
func newFakeModel(t *testing.T) *fakeModel {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeModel{held: make(chan struct{}, 16), release: make(chan struct{})}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer go-test-key" {
			w.WriteHeader(400)
			return
		}
		m.mu.Lock()
		m.bodies = append(m.bodies, body)
		m.mu.Unlock()
		raw, _ := json.Marshal(body)
		slow := strings.Contains(string(raw), slowMarker)
		hold := func() bool {
			m.held <- struct{}{}
			select {
			case <-m.release:
				return true
			case <-r.Context().Done(): // the client cancelled
				return false
			}
		}
		if body["stream"] == true {
			w.Header().Set("Content-Type", "text/event-stream")
			event := func(v any) { b, _ := json.Marshal(v); w.Write([]byte("data: " + string(b) + "\n\n")) }
			event(map[string]any{"choices": []any{map[string]any{"delta": map[string]any{"content": answer[:8]}}}})
			w.(http.Flusher).Flush()
			if slow && !hold() {
				return
			}
			event(map[string]any{"choices": []any{map[string]any{"delta": map[string]any{"content": answer[8:]}, "finish_reason": "stop"}}})
			w.Write([]byte("data: [DONE]\n\n"))
			return
		}
		if slow && !hold() {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": "c1", "object": "chat.completion", "model": body["model"],
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": answer}}}})
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { m.Release(); srv.Close() })
	m.URL = "http://" + ln.Addr().String() + "/v1"
	return m
}

func fakeModelServer(t *testing.T) string { return newFakeModel(t).URL }

func TestGenerate(t *testing.T) {
	t.Setenv("RM_GOTEST_KEY", "go-test-key")
	c := newCtx(t, Options{})
	must(c.CreateAIModel(map[string]any{"display_name": "Local", "model_name": "llama", "api_provider": "openai_compatible",
		"api_key_name": "RM_GOTEST_KEY", "base_url": fakeModelServer(t), "daily_limit": 1}))
	_, who := register(t, c, "alice")
	in := map[string]any{"model": "local", "user_input": strings.Repeat("x", 60), "title": "Mine"}
	res := must(c.Generate(who, in, GenerateOptions{IdempotencyKey: "k1"}))
	if res.Content != answer || res.Title != "Mine" || res.Model != "Local" || res.Replayed {
		t.Fatalf("%+v", res)
	}
	if r := must(c.GetResume(who, res.ResumeID)); r.Content != answer {
		t.Fatal("resume not saved")
	}
	again := must(c.Generate(who, in, GenerateOptions{IdempotencyKey: "k1"}))
	if !again.Replayed || again.ResumeID != res.ResumeID {
		t.Fatal("replay")
	}
	_, err := c.Generate(who, map[string]any{"model": "local", "user_input": strings.Repeat("y", 60)}, GenerateOptions{})
	var e *Error
	if !errors.Is(err, ErrLimit) || !errors.As(err, &e) || e.RetryAfter <= 0 {
		t.Fatal(err)
	}
	_, err = c.Generate(who, map[string]any{"model": "nope", "user_input": "short"}, GenerateOptions{})
	var v *ValidationError
	if !errors.As(err, &v) || v.Fields["model"] == nil || v.Fields["user_input"] == nil {
		t.Fatal(err)
	}
}

// localModel registers the fake server as model "Local" and returns an authenticated principal.
func localModel(t *testing.T, c *Ctx, m *fakeModel, dailyLimit int) *Principal {
	t.Helper()
	t.Setenv("RM_GOTEST_KEY", "go-test-key")
	must(c.CreateAIModel(map[string]any{"display_name": "Local", "model_name": "llama", "api_provider": "openai_compatible",
		"api_key_name": "RM_GOTEST_KEY", "base_url": m.URL, "daily_limit": dailyLimit}))
	_, who := register(t, c, "alice")
	return who
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestGenerateAsyncStreams(t *testing.T) {
	c := newCtx(t, Options{})
	m := newFakeModel(t)
	who := localModel(t, c, m, 0)
	var chunks []string
	job := must(c.GenerateAsync(who, map[string]any{"model": "local", "user_input": strings.Repeat("x", 60), "title": "Async"},
		GenerateOptions{}, func(text string) error { chunks = append(chunks, text); return nil }))
	defer job.Close()
	res := must(job.Wait(waitCtx(t)))
	if res.Content != answer || res.Title != "Async" || res.Model != "Local" || res.Replayed || !strings.Contains(res.JSON, `"resume_id"`) {
		t.Fatalf("%+v", res)
	}
	if strings.Join(chunks, "") != answer {
		t.Fatalf("chunks %q", chunks)
	}
	select {
	case <-job.Done():
	default:
		t.Fatal("Done not closed after Wait returned")
	}
	if r := must(c.GetResume(who, res.ResumeID)); r.Content != answer {
		t.Fatal("resume not saved")
	}
	if b := m.Bodies(); len(b) != 1 || b[0]["stream"] != true {
		t.Fatalf("requests %v", b)
	}
}

func TestGenerateAsyncReplayAndSynchronousErrors(t *testing.T) {
	c := newCtx(t, Options{})
	m := newFakeModel(t)
	who := localModel(t, c, m, 1)
	in := map[string]any{"model": "local", "user_input": strings.Repeat("x", 60)}
	job := must(c.GenerateAsync(who, in, GenerateOptions{IdempotencyKey: "once"}, nil))
	first := must(job.Wait(waitCtx(t)))
	job.Close()
	job.Close() // twice is fine
	if again := must(job.Wait(waitCtx(t))); again != first {
		t.Fatal("the outcome is kept after Close")
	}
	if err := job.Cancel(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Cancel after Close: %v", err)
	}
	// A replay completes inside rm_ai_generate_async, with the whole text as one chunk.
	var chunks []string
	replay := must(c.GenerateAsync(who, in, GenerateOptions{IdempotencyKey: "once"}, func(s string) error { chunks = append(chunks, s); return nil }))
	r := must(replay.Wait(waitCtx(t)))
	if !r.Replayed || r.ResumeID != first.ResumeID || len(chunks) != 1 || chunks[0] != answer {
		t.Fatalf("%+v %q", r, chunks)
	}
	if len(m.Bodies()) != 1 {
		t.Fatal("a replay called the provider")
	}
	_, err := c.GenerateAsync(who, map[string]any{"model": "local", "user_input": strings.Repeat("y", 60)}, GenerateOptions{}, nil)
	var e *Error
	if !errors.Is(err, ErrLimit) || !errors.As(err, &e) || e.RetryAfter <= 0 {
		t.Fatal(err)
	}
	_, err = c.GenerateAsync(who, map[string]any{"model": "nope", "user_input": "short"}, GenerateOptions{}, nil)
	var v *ValidationError
	if !errors.As(err, &v) || v.Fields["model"] == nil || v.Fields["user_input"] == nil {
		t.Fatal(err)
	}
	if _, err := c.GenerateAsync(nil, in, GenerateOptions{}, nil); !errors.Is(err, ErrMisuse) {
		t.Fatal(err)
	}
}

func TestGenerateAsyncCancel(t *testing.T) {
	c := newCtx(t, Options{})
	m := newFakeModel(t)
	who := localModel(t, c, m, 1)
	job := must(c.GenerateAsync(who, map[string]any{"model": "local", "user_input": slowMarker + strings.Repeat("x", 60)}, GenerateOptions{}, nil))
	defer job.Close()
	<-m.held
	short, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := job.Wait(short); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with an ended context: %v", err)
	}
	if err := job.Cancel(); err != nil {
		t.Fatal(err)
	}
	if _, err := job.Wait(waitCtx(t)); !errors.Is(err, ErrCanceled) {
		t.Fatalf("after Cancel: %v", err)
	}
	if err := job.Cancel(); err != nil { // finished: a no-op
		t.Fatal(err)
	}
	if l := must(c.ListResumes(who, ListOptions{})); len(l.Items) != 0 {
		t.Fatal("a cancelled generation saved a resume")
	}
	// The quota charge was taken back: the daily limit of one still allows a generation.
	m.Release()
	if r := must(c.Generate(who, map[string]any{"model": "local", "user_input": strings.Repeat("z", 60)}, GenerateOptions{})); r.Content != answer {
		t.Fatal(r.Content)
	}
}

func TestGenerateAsyncChunkErrorCancels(t *testing.T) {
	c := newCtx(t, Options{})
	m := newFakeModel(t)
	who := localModel(t, c, m, 0)
	stop := errors.New("enough")
	var seen []string
	job := must(c.GenerateAsync(who, map[string]any{"model": "local", "user_input": slowMarker + strings.Repeat("x", 60)}, GenerateOptions{},
		func(s string) error { seen = append(seen, s); return stop }))
	defer job.Close()
	if _, err := job.Wait(waitCtx(t)); !errors.Is(err, stop) {
		t.Fatalf("Wait: %v", err)
	}
	if len(seen) != 1 || seen[0] != answer[:8] {
		t.Fatalf("chunks after the error: %q", seen)
	}
	if l := must(c.ListResumes(who, ListOptions{})); len(l.Items) != 0 {
		t.Fatal("a cancelled generation saved a resume")
	}
}

func TestCtxCloseWaitsForGenerations(t *testing.T) {
	c := newCtx(t, Options{})
	m := newFakeModel(t)
	who := localModel(t, c, m, 0)
	job := must(c.GenerateAsync(who, map[string]any{"model": "local", "user_input": slowMarker + strings.Repeat("x", 60)}, GenerateOptions{}, nil))
	defer job.Close()
	<-m.held
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	// Once Close has taken the handle, calls fail with ErrClosed; the generation still runs.
	for i := 0; ; i++ {
		if _, err := c.Now(); errors.Is(err, ErrClosed) {
			break
		}
		if i == 1000 {
			t.Fatal("Close never took the ctx")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case <-closed:
		t.Fatal("Close freed the ctx while a generation was running")
	default:
	}
	if err := job.Cancel(); err != nil {
		t.Fatal(err)
	}
	<-closed
	if _, err := job.Wait(waitCtx(t)); !errors.Is(err, ErrCanceled) {
		t.Fatal(err)
	}
}

func TestGenerateAsyncConcurrent(t *testing.T) {
	c := newCtx(t, Options{})
	m := newFakeModel(t)
	who := localModel(t, c, m, 0)
	var jobs []*Job
	for i := 0; i < 8; i++ {
		var on func(string) error
		if i%2 == 1 {
			on = func(string) error { return nil }
		}
		jobs = append(jobs, must(c.GenerateAsync(who, map[string]any{"model": "local", "user_input": strings.Repeat("x", 60),
			"title": "T" + string(rune('0'+i))}, GenerateOptions{}, on)))
	}
	ids := map[int64]bool{}
	for _, j := range jobs {
		ids[must(j.Wait(waitCtx(t))).ResumeID] = true
		j.Close()
	}
	if l := must(c.ListResumes(who, ListOptions{})); len(ids) != 8 || len(l.Items) != 8 {
		t.Fatalf("%d ids, %d resumes", len(ids), len(l.Items))
	}
}

func TestSplitUTF8(t *testing.T) {
	s := "aé€😀"
	for cut := 0; cut <= len(s); cut++ {
		whole, rest := splitUTF8(s[:cut])
		if whole+rest != s[:cut] || !utf8.ValidString(whole) || len(rest) >= utf8.UTFMax {
			t.Fatalf("cut %d: %q %q", cut, whole, rest)
		}
	}
}
