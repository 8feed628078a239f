package resumate

/*
#include <resumate/resumate.h>
#include <stdlib.h>
rm_ctx_options *rmgo_ctx_options_new(void);
rm_list_options *rmgo_list_options_new(void);
rm_transport_request *rmgo_request_new(size_t nheaders);
void rmgo_request_set_header(rm_transport_request *r, size_t i, const char *h);
rm_ai_model_settings *rmgo_settings_new(size_t n);
void rmgo_settings_set(rm_ai_model_settings *s, size_t i, const char *name);
*/
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// Storage is a storage backend handle (SQLite, PostgreSQL where built). Thread-safe.
type Storage struct{ h handle }

func newStorage(p *C.rm_storage) *Storage {
	s := &Storage{h: handle{ptr: unsafe.Pointer(p), free: func(p unsafe.Pointer) { C.rm_storage_free((*C.rm_storage)(p)) }}}
	runtime.SetFinalizer(s, (*Storage).Close)
	return s
}

// OpenStorage opens "sqlite:///path", ":memory:", a file path, or "postgres://…".
func OpenStorage(url string) (*Storage, error) {
	cs, free, err := cstrs(url)
	if err != nil {
		return nil, err
	}
	defer free()
	var p *C.rm_storage
	if err := call(func() C.int { return C.rm_storage_open(&p, cs[0]) }); err != nil {
		return nil, err
	}
	return newStorage(p), nil
}

// OpenSQLite opens (creates) a SQLite database file or ":memory:".
func OpenSQLite(path string) (*Storage, error) {
	cs, free, err := cstrs(path)
	if err != nil {
		return nil, err
	}
	defer free()
	var p *C.rm_storage
	if err := call(func() C.int { return C.rm_storage_open_sqlite(&p, cs[0]) }); err != nil {
		return nil, err
	}
	return newStorage(p), nil
}

// Close closes the storage. Close every Ctx using it first.
func (s *Storage) Close() { s.h.close() }

// HasVtable reports whether the handle is backed by a vtable (always, for an open handle).
func (s *Storage) HasVtable() bool {
	ok := false
	_ = s.h.use(func(p unsafe.Pointer) error {
		ok = C.rm_storage_vtable_of((*C.rm_storage)(p)) != nil && C.rm_storage_self((*C.rm_storage)(p)) != nil
		return nil
	})
	return ok
}

// CopyStats counts the rows rm_storage_copy copied, per kind.
type CopyStats struct {
	Users, AIModels, Resumes, Applications, DeniedTokens, UsageCounts, IdempotencyKeys int64
}

// CopyTo copies every row of s into target, an empty storage, keeping ids (rm_storage_copy).
// A non-empty target fails with ErrConflict.
func (s *Storage) CopyTo(target *Storage) (CopyStats, error) {
	var st CopyStats
	if s == nil || target == nil {
		return st, misuse("nil storage")
	}
	if s == target {
		return st, misuse("target must be another storage")
	}
	err := s.h.use(func(from unsafe.Pointer) error {
		return target.h.use(func(to unsafe.Pointer) error {
			var cs C.rm_copy_stats
			if err := call(func() C.int {
				return C.rm_storage_copy((*C.rm_storage)(to), (*C.rm_storage)(from), &cs)
			}); err != nil {
				return err
			}
			st = CopyStats{int64(cs.users), int64(cs.ai_models), int64(cs.resumes), int64(cs.applications),
				int64(cs.denied_tokens), int64(cs.usage_counts), int64(cs.idempotency_keys)}
			return nil
		})
	})
	return st, err
}

// Transport is an HTTP transport for AI providers (the built-in libcurl one). Thread-safe.
type Transport struct{ h handle }

// NewCurlTransport starts the built-in libcurl transport (one background thread).
func NewCurlTransport() (*Transport, error) {
	var p *C.rm_transport
	if err := call(func() C.int { return C.rm_transport_new_curl(&p) }); err != nil {
		return nil, err
	}
	t := &Transport{h: handle{ptr: unsafe.Pointer(p), free: func(p unsafe.Pointer) { C.rm_transport_free((*C.rm_transport)(p)) }}}
	runtime.SetFinalizer(t, (*Transport).Close)
	return t, nil
}

// Close stops the transport. Close every Ctx using it first.
func (t *Transport) Close() { t.h.close() }

// Request is one HTTP request for Transport.Perform.
type Request struct {
	Method           string // "" = GET without a body, POST with one
	URL              string
	Headers          []string // "Name: value"
	Body             []byte
	ConnectTimeoutMs int64
	TimeoutMs        int64
}

// Perform runs a request and waits: the HTTP status and the body.
func (t *Transport) Perform(r Request) (int, []byte, error) {
	strs := append([]string{r.URL, r.Method}, r.Headers...)
	cs, free, err := cstrs(strs...)
	if err != nil {
		return 0, nil, err
	}
	defer free()
	req := C.rmgo_request_new(C.size_t(len(r.Headers)))
	if req == nil {
		return 0, nil, ErrNoMem
	}
	defer C.free(unsafe.Pointer(req))
	req.url = cs[0]
	if r.Method != "" {
		req.method = cs[1]
	}
	for i := range r.Headers {
		C.rmgo_request_set_header(req, C.size_t(i), cs[2+i])
	}
	if len(r.Body) > 0 {
		b := C.CBytes(r.Body)
		defer C.free(b)
		req.body = (*C.char)(b)
		req.body_len = C.size_t(len(r.Body))
	}
	req.connect_timeout_ms = C.int64_t(r.ConnectTimeoutMs)
	req.timeout_ms = C.int64_t(r.TimeoutMs)
	var status C.int
	var body *C.char
	var n C.size_t
	err = t.h.use(func(p unsafe.Pointer) error {
		return call(func() C.int { return C.rm_transport_perform(&status, &body, &n, (*C.rm_transport)(p), req) })
	})
	if err != nil {
		return 0, nil, err
	}
	defer C.rm_free(unsafe.Pointer(body))
	return int(status), C.GoBytes(unsafe.Pointer(body), C.int(n)), nil
}

// Options configure NewCtx; zero values mean the library's defaults.
type Options struct {
	Storage              *Storage   // borrowed; must stay open while the Ctx is
	StorageURL           string     // opened when Storage is nil; "" = ":memory:"
	Transport            *Transport // borrowed; nil = the built-in one, started on first use
	SecretKey            string     // signs tokens
	PreviousSecretKeys   []string   // still accepted for verification
	PasswordIterations   uint32
	AccessTokenLifetime  int64 // seconds
	RefreshTokenLifetime int64 // seconds
	TokenLeeway          int64
	RotateRefreshTokens  bool
	GeminiBaseURL        string
	OpenRouterBaseURL    string
	AIMaxAttempts        int32
	AIDeadlineMs         int64
	AITimeoutMs          int64
}

// Ctx is one library instance. Safe for concurrent use by many goroutines.
type Ctx struct {
	h         handle
	storage   *Storage
	transport *Transport
	jobs      sync.WaitGroup // generations started by GenerateAsync and not finished yet
}

// NewCtx creates a library instance.
func NewCtx(o Options) (*Ctx, error) {
	opts := C.rmgo_ctx_options_new()
	if opts == nil {
		return nil, ErrNoMem
	}
	defer C.free(unsafe.Pointer(opts))
	strs := append([]string{o.StorageURL, o.SecretKey, o.GeminiBaseURL, o.OpenRouterBaseURL}, o.PreviousSecretKeys...)
	cs, free, err := cstrs(strs...)
	if err != nil {
		return nil, err
	}
	defer free()
	set := func(dst **C.char, i int) {
		if strs[i] != "" {
			*dst = cs[i]
		}
	}
	set(&opts.storage_url, 0)
	set(&opts.secret_key, 1)
	set(&opts.gemini_base_url, 2)
	set(&opts.openrouter_base_url, 3)
	if n := len(o.PreviousSecretKeys); n > 0 {
		keys := (**C.char)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(uintptr(0)))))
		defer C.free(unsafe.Pointer(keys))
		ks := unsafe.Slice(keys, n)
		copy(ks, cs[4:])
		opts.previous_secret_keys = keys
		opts.previous_secret_key_count = C.size_t(n)
	}
	opts.password_iterations = C.uint32_t(o.PasswordIterations)
	opts.access_token_lifetime = C.int64_t(o.AccessTokenLifetime)
	opts.refresh_token_lifetime = C.int64_t(o.RefreshTokenLifetime)
	opts.token_leeway = C.int64_t(o.TokenLeeway)
	if o.RotateRefreshTokens {
		opts.rotate_refresh_tokens = 1
	}
	opts.ai_max_attempts = C.int32_t(o.AIMaxAttempts)
	opts.ai_deadline_ms = C.int64_t(o.AIDeadlineMs)
	opts.ai_timeout_ms = C.int64_t(o.AITimeoutMs)
	var ctxOut *Ctx
	body := func() error {
		var p *C.rm_ctx
		if err := call(func() C.int { return C.rm_ctx_new(&p, opts) }); err != nil {
			return err
		}
		c := &Ctx{h: handle{ptr: unsafe.Pointer(p), free: func(p unsafe.Pointer) { C.rm_ctx_free((*C.rm_ctx)(p)) }},
			storage: o.Storage, transport: o.Transport}
		runtime.SetFinalizer(c, (*Ctx).Close)
		ctxOut = c
		return nil
	}
	// Hold the borrowed handles' read locks while the ctx is made, so they cannot close meanwhile.
	withBorrowed := func(fn func() error) error { return fn() }
	if o.Storage != nil {
		inner := withBorrowed
		withBorrowed = func(fn func() error) error {
			return o.Storage.h.use(func(p unsafe.Pointer) error {
				opts.storage = (*C.rm_storage)(p)
				return inner(fn)
			})
		}
	}
	if o.Transport != nil {
		inner := withBorrowed
		withBorrowed = func(fn func() error) error {
			return o.Transport.h.use(func(p unsafe.Pointer) error {
				opts.transport = (*C.rm_transport)(p)
				return inner(fn)
			})
		}
	}
	if err := withBorrowed(body); err != nil {
		return nil, err
	}
	return ctxOut, nil
}

// Close frees the ctx (waiting for calls in progress, and for generations started by GenerateAsync
// to finish). Close it before its Storage and Transport.
func (c *Ctx) Close() {
	if c == nil {
		return
	}
	c.h.mu.Lock()
	p := c.h.ptr
	c.h.ptr = nil
	c.h.mu.Unlock()
	if p != nil {
		c.jobs.Wait() // every Add happened under the read lock, so before this
		c.h.free(p)
	}
	runtime.KeepAlive(c.storage)
	runtime.KeepAlive(c.transport)
}

func (c *Ctx) use(fn func(*C.rm_ctx) error) error {
	if c == nil {
		return misuse("nil Ctx")
	}
	return c.h.use(func(p unsafe.Pointer) error { return fn((*C.rm_ctx)(p)) })
}

// Now is the ctx clock, µs since the epoch.
func (c *Ctx) Now() (int64, error) {
	var now int64
	err := c.use(func(p *C.rm_ctx) error { now = int64(C.rm_ctx_now(p)); return nil })
	return now, err
}

// DataVersion is the change counter of DataAIModels or DataExamples.
func (c *Ctx) DataVersion(set int) (uint64, error) {
	var v uint64
	err := c.use(func(p *C.rm_ctx) error { v = uint64(C.rm_ctx_data_version(p, C.int(set))); return nil })
	return v, err
}

// HasStorage reports whether the ctx has a storage handle.
func (c *Ctx) HasStorage() bool {
	ok := false
	_ = c.use(func(p *C.rm_ctx) error { ok = C.rm_ctx_storage(p) != nil; return nil })
	return ok
}

// listOptions makes C list options; the returned func frees them.
func listOptions(l ListOptions) (*C.rm_list_options, func(), error) {
	cs, free, err := cstrs(l.Cursor, l.Status, l.Search, l.Ordering)
	if err != nil {
		return nil, nil, err
	}
	o := C.rmgo_list_options_new()
	if o == nil {
		free()
		return nil, nil, ErrNoMem
	}
	o.limit = C.int64_t(l.Limit)
	o.offset = C.int64_t(l.Offset)
	if l.Cursor != "" {
		o.cursor = cs[0]
	}
	if l.Status != "" {
		o.status = cs[1]
	}
	if l.Search != "" {
		o.search = cs[2]
	}
	if l.Ordering != "" {
		o.ordering = cs[3]
	}
	return o, func() { C.free(unsafe.Pointer(o)); free() }, nil
}

// ListOptions page, filter and order list calls; zero values mean everything in the default order.
type ListOptions struct {
	Limit    int64
	Offset   int64
	Cursor   string
	Status   string // applications only
	Search   string // terms separated by spaces or commas; each must occur in a searched field (ASCII case ignored)
	Ordering string // e.g. "company_name,-created_at"; unknown fields are ErrInvalid naming "ordering"
}

// SetAIModelSettings sets a model's timeouts and fallbacks (display names), or clears them (nil).
func (c *Ctx) SetAIModelSettings(displayName string, s *AIModelSettings) error {
	strs := []string{displayName}
	if s != nil {
		strs = append(strs, s.Fallbacks...)
	}
	cs, free, err := cstrs(strs...)
	if err != nil {
		return err
	}
	defer free()
	var cset *C.rm_ai_model_settings
	if s != nil {
		cset = C.rmgo_settings_new(C.size_t(len(s.Fallbacks)))
		if cset == nil {
			return ErrNoMem
		}
		defer C.free(unsafe.Pointer(cset))
		cset.connect_timeout_ms = C.int64_t(s.ConnectTimeoutMs)
		cset.timeout_ms = C.int64_t(s.TimeoutMs)
		for i := range s.Fallbacks {
			C.rmgo_settings_set(cset, C.size_t(i), cs[1+i])
		}
	}
	return c.use(func(p *C.rm_ctx) error {
		return call(func() C.int { return C.rm_ai_model_settings_set(p, cs[0], cset) })
	})
}

// AIModelSettings are per-model settings kept in the ctx.
type AIModelSettings struct {
	ConnectTimeoutMs int64
	TimeoutMs        int64
	Fallbacks        []string
}

// BreakerState is the circuit breaker state of a provider and model (BreakerClosed, ...).
func (c *Ctx) BreakerState(apiProvider, modelName string) (int, error) {
	cs, free, err := cstrs(apiProvider, modelName)
	if err != nil {
		return 0, err
	}
	defer free()
	var st C.int
	err = c.use(func(p *C.rm_ctx) error {
		return call(func() C.int {
			st = C.rm_ai_breaker_state(p, cs[0], cs[1])
			if st < 0 {
				return st
			}
			return C.RM_OK
		})
	})
	return int(st), err
}
