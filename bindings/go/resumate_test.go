package resumate

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

const pw = "correct-horse-battery"

func newCtx(t *testing.T, o Options) *Ctx {
	t.Helper()
	if o.SecretKey == "" {
		o.SecretKey = "test-secret-key-that-is-long-enough-0123456789"
	}
	o.PasswordIterations = 1000
	c, err := NewCtx(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func register(t *testing.T, c *Ctx, name string) (*User, *Principal) {
	t.Helper()
	u, err := c.Register(map[string]any{"username": name, "email": name + "@example.com", "password": pw, "password2": pw})
	if err != nil {
		t.Fatal(err)
	}
	who, err := c.Authenticate(name, pw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(who.Close)
	return u, who
}

// must returns v, or fails the test (by panicking, which go test reports) on an error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestLibraryFunctions(t *testing.T) {
	if Version() == "" || VersionNumber() < 10000 {
		t.Fatalf("version %q %d", Version(), VersionNumber())
	}
	if StatusName(-3) != "RM_ENOTFOUND" || StatusName(999) != "RM_UNKNOWN" {
		t.Fatal("status names")
	}
	if ts := must(FormatTimestamp(1721786876123456)); ts != "2024-07-24T02:07:56.123456Z" {
		t.Fatal(ts)
	}
}

func TestErrorsAndValidation(t *testing.T) {
	c := newCtx(t, Options{})
	_, err := c.Register(map[string]any{"username": "bob", "email": "bob@example.com", "password": "12345678", "password2": "12345678"})
	var v *ValidationError
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &v) {
		t.Fatalf("got %v", err)
	}
	want := []string{"This password is too common.", "This password is entirely numeric."}
	if strings.Join(v.Fields["password"], "|") != strings.Join(want, "|") {
		t.Fatalf("fields %v", v.Fields)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != -2 {
		t.Fatal("errors.As *Error")
	}
	js := must(FieldsJSON())
	if !strings.Contains(js, "entirely numeric") {
		t.Fatal(js)
	}
	if le := LastError(); !errors.Is(le, ErrInvalid) {
		t.Fatalf("last error %v", le)
	}
	ClearError()
	if LastError() != nil {
		t.Fatal("ClearError")
	}
	if _, err := c.GetUser(42); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v", err)
	}
	if _, err := c.Authenticate("nobody", "whatever-pass"); !errors.Is(err, ErrAuth) {
		t.Fatal(err)
	}
}

func TestFields(t *testing.T) {
	f := must(NewFields(map[string]any{"a": "x", "n": 42, "b": true, "z": nil, "i": int64(7)}))
	if s := must(f.GetString("n")); s == nil || *s != "42" {
		t.Fatal("n")
	}
	if !f.Has("z") || !f.Has("b") || f.Has("nope") {
		t.Fatal("Has")
	}
	if err := f.Unset("a"); err != nil || f.Has("a") {
		t.Fatal("Unset")
	}
	if err := f.Set("x", 1.5); !errors.Is(err, ErrMisuse) {
		t.Fatal("float accepted")
	}
	if err := f.Set("x", "nul\x00"); !errors.Is(err, ErrMisuse) {
		t.Fatal("NUL accepted")
	}
	f.Close()
	f.Close()
	if _, err := f.GetString("n"); !errors.Is(err, ErrClosed) {
		t.Fatal("closed")
	}
	g := must(ParseJSON([]byte(`{"title":"T"}`)))
	defer g.Close()
	if s, _ := g.GetString("title"); *s != "T" {
		t.Fatal("json")
	}
	if _, err := ParseJSON([]byte("{nope")); !errors.Is(err, ErrParse) {
		t.Fatal(err)
	}
	h := must(ParseForm([]byte("title=Hello%20world")))
	defer h.Close()
	if s, _ := h.GetString("title"); *s != "Hello world" {
		t.Fatal("form")
	}
}

func TestStorageAndClosedHandles(t *testing.T) {
	dir := t.TempDir()
	st := must(OpenSQLite(filepath.Join(dir, "a.db")))
	if !st.HasVtable() {
		t.Fatal("vtable")
	}
	c := newCtx(t, Options{Storage: st})
	if !c.HasStorage() {
		t.Fatal("storage")
	}
	register(t, c, "alice")
	c.Close()
	st.Close()
	if _, err := c.GetUser(1); !errors.Is(err, ErrClosed) || !errors.Is(err, ErrMisuse) {
		t.Fatal(err)
	}
	st2 := must(OpenStorage("sqlite:///" + filepath.Join(dir, "a.db")))
	defer st2.Close()
	c2 := newCtx(t, Options{Storage: st2})
	if u := must(c2.GetUserByUsername("alice")); u.Email != "alice@example.com" {
		t.Fatal(u.Email)
	}
	if _, err := OpenStorage("nosuch://x"); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	var nilCtx *Ctx
	if _, err := nilCtx.GetUser(1); !errors.Is(err, ErrMisuse) {
		t.Fatal("nil ctx")
	}
	if _, err := c2.CreateResume(nil, map[string]any{"title": "t"}); !errors.Is(err, ErrMisuse) {
		t.Fatal("nil principal")
	}
	if _, err := PrincipalForUser(nil); !errors.Is(err, ErrMisuse) {
		t.Fatal("nil user")
	}
}

func TestStorageCopyTo(t *testing.T) {
	dir := t.TempDir()
	src := must(OpenSQLite(filepath.Join(dir, "src.db")))
	defer src.Close()
	c := newCtx(t, Options{Storage: src})
	register(t, c, "alice")
	id := must(c.GetUserByUsername("alice")).ID
	c.Close()
	dst := must(OpenSQLite(filepath.Join(dir, "dst.db")))
	defer dst.Close()
	st, err := src.CopyTo(dst)
	if err != nil || st.Users < 1 {
		t.Fatal(st, err)
	}
	c2 := newCtx(t, Options{Storage: dst})
	if u := must(c2.GetUserByUsername("alice")); u.ID != id {
		t.Fatal("id not kept", u.ID, id)
	}
	c2.Close()
	if _, err := src.CopyTo(dst); !errors.Is(err, ErrConflict) {
		t.Fatal("non-empty target:", err)
	}
	if _, err := src.CopyTo(nil); !errors.Is(err, ErrMisuse) {
		t.Fatal("nil target:", err)
	}
}

func TestUsersPrincipalsTokens(t *testing.T) {
	c := newCtx(t, Options{RotateRefreshTokens: true})
	u, who := register(t, c, "alice")
	if !u.IsActive || u.IsStaff || !u.HasUsablePassword || u.DateJoined == 0 {
		t.Fatalf("%+v", u)
	}
	admin := must(c.CreateUser("root", "", "", UserStaff|UserSuperuser))
	if !admin.IsSuperuser || admin.HasUsablePassword {
		t.Fatal("admin")
	}
	anonUser := must(c.AnonymousUser())
	if anonUser.Username != "anonymous_user" || anonUser.IsActive {
		t.Fatal("anonymous user")
	}
	p := must(PrincipalForUser(u))
	q := must(p.Dup())
	if q.Username() != "alice" || q.UserID() != u.ID || q.IsAnonymous() || q.IsStaff() {
		t.Fatal("principal")
	}
	p.Close()
	q.Close()
	anon := must(AnonymousPrincipal())
	defer anon.Close()
	if !anon.IsAnonymous() {
		t.Fatal("anon")
	}
	pair := must(c.ObtainTokens(who))
	if strings.Count(pair.Access, ".") != 2 || pair.Refresh == "" {
		t.Fatal("tokens")
	}
	tp := must(c.AuthenticateToken(pair.Access))
	tp.Close()
	_, err := c.AuthenticateToken(pair.Refresh)
	var e *Error
	if !errors.Is(err, ErrToken) || !errors.As(err, &e) || e.Reason != TokenWrongType {
		t.Fatal(err)
	}
	login := must(c.Login("alice", pw))
	rot := must(c.RefreshTokens(login.Refresh))
	if rot.Refresh == "" {
		t.Fatal("rotation")
	}
	if _, err := c.RefreshTokens(login.Refresh); !errors.As(err, &e) || e.Reason != TokenRevoked {
		t.Fatal(err)
	}
	if err := c.RevokeToken(rot.Refresh); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PruneTokens(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ObtainTokens(anon); !errors.Is(err, ErrPerm) {
		t.Fatal(err)
	}
	if err := c.SetPassword(u.ID, "123"); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	if err := c.SetPassword(u.ID, "another-long-passphrase"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeactivateUser(u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login("alice", "another-long-passphrase"); !errors.Is(err, ErrAuth) {
		t.Fatal(err)
	}
}

func TestResumesApplicationsExamples(t *testing.T) {
	c := newCtx(t, Options{})
	_, who := register(t, c, "alice")
	r := must(c.CreateResume(who, map[string]any{"title": " Backend ", "content": "# Alice"}))
	if r.Title != "Backend" || r.Username != "alice" || !strings.Contains(r.JSON, `"user":"alice"`) {
		t.Fatalf("%+v", r)
	}
	if g := must(c.GetResume(who, r.ID)); g.Content != "# Alice" {
		t.Fatal("get")
	}
	if _, err := c.UpdateResume(who, r.ID, map[string]any{"title": "x"}); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	must(c.UpdateResume(who, r.ID, map[string]any{"title": "New", "content": "Body"}))
	if p := must(c.PatchResume(who, r.ID, map[string]any{"content": "P"})); p.Title != "New" || p.Content != "P" {
		t.Fatal("patch")
	}
	for i := 0; i < 3; i++ {
		must(c.CreateResume(who, map[string]any{"title": "r", "content": "c"}))
	}
	page := must(c.ListResumes(who, ListOptions{Limit: 2}))
	if len(page.Items) != 2 || page.NextCursor == "" {
		t.Fatal("page")
	}
	rest := must(c.ListResumes(who, ListOptions{Limit: 10, Cursor: page.NextCursor}))
	if len(rest.Items) != 2 || rest.NextCursor != "" {
		t.Fatalf("rest %d %q", len(rest.Items), rest.NextCursor)
	}
	var arr []map[string]any
	if json.Unmarshal([]byte(page.JSON), &arr) != nil || len(arr) != 2 {
		t.Fatal("page json")
	}
	a := must(c.CreateApplication(who, map[string]any{"job_title": "Dev", "resume_used": r.ID, "notes": nil}))
	if a.Status != "Applied" || *a.JobTitle != "Dev" || a.Notes != nil || a.ResumeUsed != r.ID {
		t.Fatalf("%+v", a)
	}
	if _, err := c.CreateApplication(who, map[string]any{"status": "Hired"}); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	must(c.UpdateApplication(who, a.ID, map[string]any{"status": "Offer"}))
	if p := must(c.PatchApplication(who, a.ID, map[string]any{"notes": "n"})); p.Status != "Offer" || *p.Notes != "n" {
		t.Fatal("patch app")
	}
	if l := must(c.ListApplications(who, ListOptions{Status: "Offer"})); len(l.Items) != 1 {
		t.Fatal("filter")
	}
	must(c.CreateApplication(who, map[string]any{"job_title": "Designer", "company_name": "100% Studio"}))
	if n := must(c.CountApplications(who, ListOptions{Search: "DEV"})); n != 1 {
		t.Fatalf("search count %d", n)
	}
	if n := must(c.CountApplications(who, ListOptions{Search: "100%", Status: "Applied"})); n != 1 {
		t.Fatalf("search+status count %d", n)
	}
	if l := must(c.ListApplications(who, ListOptions{Ordering: "job_title"})); len(l.Items) != 2 || *l.Items[0].JobTitle != "Designer" {
		t.Fatal("ordering")
	}
	if _, err := c.ListApplications(who, ListOptions{Ordering: "salary"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown ordering field: %v", err)
	} else if ve := (*ValidationError)(nil); !errors.As(err, &ve) || ve.Fields["ordering"] == nil {
		t.Fatalf("the error names ordering: %v", err)
	}
	if n := must(c.CountResumes(who, ListOptions{Search: "c"})); n != 3 {
		t.Fatalf("resume count %d", n)
	}
	if err := c.DeleteResume(who, r.ID); err != nil {
		t.Fatal(err)
	}
	if g := must(c.GetApplication(who, a.ID)); g.ResumeUsed != 0 {
		t.Fatal("resume_used not nulled")
	}
	if err := c.DeleteApplication(who, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteApplication(who, a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if n := must(c.SeedExamples()); n != 5 {
		t.Fatal(n)
	}
	if n := must(c.CountExamples(ListOptions{Search: "python"})); n != 1 {
		t.Fatalf("examples matching python: %d", n)
	}
	byCompany := must(c.ListExamples(ListOptions{Ordering: "company_name", Limit: 2}))
	if len(byCompany.Items) != 2 || *byCompany.Items[0].CompanyName != "CloudNet" || byCompany.NextCursor != "2.2" {
		t.Fatalf("examples by company: %+v %q", byCompany.Items[0], byCompany.NextCursor)
	}
	ex := must(c.ListExamples(ListOptions{}))
	if len(ex.Items) != 5 || !ex.Items[0].IsExample {
		t.Fatal("examples")
	}
	if g := must(c.GetExample(ex.Items[0].ID)); g.ID != ex.Items[0].ID {
		t.Fatal("example")
	}
	if v := must(c.DataVersion(DataExamples)); v == 0 {
		t.Fatal("data version")
	}
	if now := must(c.Now()); now <= 0 {
		t.Fatal("now")
	}
}

func TestAIModels(t *testing.T) {
	c := newCtx(t, Options{})
	m := must(c.CreateAIModel(map[string]any{"display_name": "Gemini", "model_name": "gemini-2.5-flash",
		"api_provider": "google_gemini", "api_key_name": "GEMINI_API_KEY", "daily_limit": 3, "description": "G"}))
	if m.DailyLimit != 3 || !m.IsActive || m.BaseURL != nil {
		t.Fatalf("%+v", m)
	}
	if _, err := c.CreateAIModel(map[string]any{"display_name": "gemini"}); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	if g := must(c.GetAIModel("GEMINI")); g.ID != m.ID {
		t.Fatal("get")
	}
	if u := must(c.UpdateAIModel("gemini", map[string]any{"login_required": true})); !u.LoginRequired {
		t.Fatal("update")
	}
	if err := c.SetAIModelSettings("Gemini", &AIModelSettings{TimeoutMs: 1000, Fallbacks: []string{"Other"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAIModelSettings("Gemini", nil); err != nil {
		t.Fatal(err)
	}
	if st := must(c.BreakerState("google_gemini", "gemini-2.5-flash")); st != BreakerClosed {
		t.Fatal(st)
	}
	if err := c.DeactivateAIModel("Gemini"); err != nil {
		t.Fatal(err)
	}
	if l := must(c.ListAIModels(false)); len(l.Items) != 0 || l.JSON != "[]" {
		t.Fatalf("%+v", l)
	}
	if l := must(c.ListAIModels(true)); len(l.Items) != 1 {
		t.Fatal("inactive")
	}
}

func TestTransportPerform(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(201)
		w.Write([]byte(r.Method + " " + r.Header.Get("X-Test")))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	tr := must(NewCurlTransport())
	code, body, err := tr.Perform(Request{URL: "http://" + ln.Addr().String() + "/", Method: "POST",
		Headers: []string{"X-Test: yes"}, Body: []byte("x"), TimeoutMs: 5000})
	if err != nil || code != 201 || string(body) != "POST yes" {
		t.Fatalf("%d %q %v", code, body, err)
	}
	if _, _, err := tr.Perform(Request{URL: "http://127.0.0.1:1/", TimeoutMs: 5000}); !errors.Is(err, ErrUpstream) {
		t.Fatal(err)
	}
	c := newCtx(t, Options{Transport: tr})
	c.Close()
	tr.Close()
	if _, _, err := tr.Perform(Request{URL: "http://127.0.0.1:1/"}); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := newCtx(t, Options{})
	_, who := register(t, c, "alice")
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if _, err := c.CreateResume(who, map[string]any{"title": "t", "content": "c"}); err != nil {
					errs <- err
				}
				if _, err := c.GetUser(999); !errors.Is(err, ErrNotFound) {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if l := must(c.ListResumes(who, ListOptions{})); len(l.Items) != 40 {
		t.Fatal(len(l.Items))
	}
}

// cOnly are C extension points the Go package leaves to C, with the reason.
var cOnly = map[string]string{
	"rm_storage_new":               "custom storage backends are C vtables of function pointers",
	"rm_storage_vtable_init":       "only needed by C storage backends",
	"rm_storage_set_error":         "only meaningful inside a C storage backend",
	"rm_transport_new":             "custom transports are C vtables of function pointers",
	"rm_transport_vtable_init":     "only needed by C transports",
	"rm_transport_submit":          "asynchronous C callbacks; Go uses Transport.Perform in a goroutine",
	"rm_transport_cancel":          "cancels rm_transport_submit requests, which are C-only",
	"rm_transport_response_header": "reads a response valid only inside a C callback",
}

// pending would list functions still waiting for a Go wrapper (none: asynchronous generation is
// Ctx.GenerateAsync, with C trampolines in ai_async.go).
var pending = map[string]string{}

func TestEveryFunctionHasAWrapper(t *testing.T) {
	inc := os.Getenv("RESUMATE_INCLUDE_DIR")
	if inc == "" {
		inc = "../../include"
	}
	headers, _ := filepath.Glob(filepath.Join(inc, "resumate", "*.h"))
	if len(headers) == 0 {
		t.Fatalf("no headers under %s", inc)
	}
	decl := regexp.MustCompile(`(?ms)^\s*RM_EXTERN\b[^;]*?\b(rm_\w+)\s*\(`)
	declared := map[string]bool{}
	for _, h := range headers {
		text, _ := os.ReadFile(h)
		for _, m := range decl.FindAllStringSubmatch(string(text), -1) {
			declared[m[1]] = true
		}
	}
	used := map[string]bool{}
	sources, _ := filepath.Glob("*.go")
	use := regexp.MustCompile(`\bC\.(rm_\w+)\b|\b(rm_\w+_init)\(`)
	for _, f := range sources {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		text, _ := os.ReadFile(f)
		for _, m := range use.FindAllStringSubmatch(string(text), -1) {
			used[m[1]+m[2]] = true
		}
	}
	var missing []string
	for name := range declared {
		if !used[name] && cOnly[name] == "" && pending[name] == "" {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(declared) < 100 || len(missing) > 0 {
		t.Fatalf("%d declared; public functions with no Go wrapper: %v", len(declared), missing)
	}
}
