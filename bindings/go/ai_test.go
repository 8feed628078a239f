package resumate

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
)

const answer = "# Alice\n\nBackend engineer."

// A fake OpenAI-compatible model server on 127.0.0.1.
func fakeModelServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer go-test-key" {
			w.WriteHeader(400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": "c1", "object": "chat.completion", "model": body["model"],
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": answer}}}})
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/v1"
}

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
