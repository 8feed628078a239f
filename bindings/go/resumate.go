// Package resumate is the Go binding of libresumate (hand-written cgo; see README.md).
//
// Every failing call returns an error that matches a sentinel with errors.Is (ErrNotFound,
// ErrInvalid, ...) and is an *Error (errors.As) with the status code, reason, message and, for
// validation failures, a *ValidationError with the field errors. Handles have Close(); a finalizer
// closes a forgotten one. A Ctx may be shared by goroutines.
package resumate

/*
#cgo pkg-config: resumate
#include <resumate/resumate.h>
#include <stdlib.h>

// Fill ctx options without Go pointers inside C memory: strings are C copies owned by the caller.
rm_ctx_options *rmgo_ctx_options_new(void)
{
    rm_ctx_options *o = calloc(1, sizeof *o);
    if (o && rm_ctx_options_init(o, RM_CTX_OPTIONS_VERSION) != RM_OK) { free(o); o = NULL; }
    return o;
}
rm_list_options *rmgo_list_options_new(void)
{
    rm_list_options *o = calloc(1, sizeof *o);
    if (o && rm_list_options_init(o, RM_LIST_OPTIONS_VERSION) != RM_OK) { free(o); o = NULL; }
    return o;
}
rm_transport_request *rmgo_request_new(size_t nheaders)
{
    rm_transport_request *r = calloc(1, sizeof *r + sizeof(char *) * (nheaders + 1));
    if (r && rm_transport_request_init(r, RM_TRANSPORT_REQUEST_VERSION) != RM_OK) { free(r); return NULL; }
    if (r) r->headers = (const char *const *)(r + 1);
    return r;
}
void rmgo_request_set_header(rm_transport_request *r, size_t i, const char *h)
{
    ((const char **)(r + 1))[i] = h;
    r->header_count = i + 1;
}
rm_ai_model_settings *rmgo_settings_new(size_t n)
{
    rm_ai_model_settings *s = calloc(1, sizeof *s + sizeof(char *) * (n + 1));
    if (s && rm_ai_model_settings_init(s, RM_AI_MODEL_SETTINGS_VERSION) != RM_OK) { free(s); return NULL; }
    if (s) s->fallbacks = (const char *const *)(s + 1);
    return s;
}
void rmgo_settings_set(rm_ai_model_settings *s, size_t i, const char *name)
{
    ((const char **)(s + 1))[i] = name;
    s->fallback_count = i + 1;
}
*/
import "C"

import (
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// call runs a C call on one OS thread and reads that thread's last error if it failed.
func call(fn func() C.int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if st := fn(); st != C.RM_OK {
		return errorFrom(st, nil)
	}
	return nil
}

// cstr makes a C copy of s; free it with C.free. Strings with NUL bytes are refused.
func cstr(s string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, misuse("string contains a NUL byte")
	}
	return C.CString(s), nil
}

// cstrs converts several strings; the returned func frees them all.
func cstrs(ss ...string) ([]*C.char, func(), error) {
	out := make([]*C.char, 0, len(ss))
	free := func() {
		for _, p := range out {
			C.free(unsafe.Pointer(p))
		}
	}
	for _, s := range ss {
		p, err := cstr(s)
		if err != nil {
			free()
			return nil, func() {}, err
		}
		out = append(out, p)
	}
	return out, free, nil
}

func goStringOrNil(p *C.char) *string {
	if p == nil {
		return nil
	}
	s := C.GoString(p)
	return &s
}

func takeString(p *C.char) string {
	defer C.rm_free(unsafe.Pointer(p))
	return C.GoString(p)
}

// Version is the runtime library version, such as "1.0.0".
func Version() string { return C.GoString(C.rm_version()) }

// VersionNumber is MAJOR*10000 + MINOR*100 + PATCH of the runtime library.
func VersionNumber() int { return int(C.rm_version_number()) }

// StatusName is the symbolic name of a status code ("RM_UNKNOWN" for unknown numbers).
func StatusName(code int) string { return C.GoString(C.rm_status_name(C.int(code))) }

// FormatTimestamp formats µs since the epoch as ISO 8601 UTC with microseconds and Z.
func FormatTimestamp(us int64) (string, error) {
	var buf [64]C.char
	if err := call(func() C.int { return C.rm_format_timestamp(&buf[0], C.size_t(len(buf)), C.int64_t(us)) }); err != nil {
		return "", err
	}
	return C.GoString(&buf[0]), nil
}

// LastError returns a copy of the calling OS thread's last error (RM_OK: nil). Mostly for tests:
// calls of this package already return their errors.
func LastError() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cp *C.rm_error
	if C.rm_error_copy(&cp, C.rm_error_last()) != C.RM_OK {
		return ErrNoMem
	}
	defer C.rm_error_free(cp)
	if C.rm_error_code(cp) == C.RM_OK {
		return nil
	}
	return errorFrom(C.rm_error_code(cp), cp)
}

// ClearError resets the calling OS thread's last error.
func ClearError() { C.rm_error_clear() }

// FieldsJSON renders the field errors of the thread's last error as DRF's JSON object.
func FieldsJSON() (string, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var out *C.char
	if st := C.rm_error_fields_json(&out, C.rm_error_last()); st != C.RM_OK {
		return "", errorFrom(st, nil)
	}
	return takeString(out), nil
}

// handle is the common part of owned C handles: a pointer guarded against use after Close.
type handle struct {
	mu   sync.RWMutex
	ptr  unsafe.Pointer
	free func(unsafe.Pointer)
}

// use runs fn with the pointer while holding a read lock, so Close waits for running calls.
func (h *handle) use(fn func(p unsafe.Pointer) error) error {
	if h == nil {
		return misuse("nil handle")
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.ptr == nil {
		return ErrClosed
	}
	return fn(h.ptr)
}

func (h *handle) close() {
	if h == nil {
		return
	}
	h.mu.Lock()
	p := h.ptr
	h.ptr = nil
	h.mu.Unlock()
	if p != nil && h.free != nil {
		h.free(p)
	}
}

// Fields is the input of create and update calls (rm_fields).
type Fields struct{ h handle }

// NewFields makes a field set from a map of string, int, int64, bool or nil values.
func NewFields(values map[string]any) (*Fields, error) {
	var p *C.rm_fields
	if err := call(func() C.int { return C.rm_fields_new(&p) }); err != nil {
		return nil, err
	}
	f := newFields(p)
	for k, v := range values {
		if err := f.Set(k, v); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

func newFields(p *C.rm_fields) *Fields {
	f := &Fields{h: handle{ptr: unsafe.Pointer(p), free: func(p unsafe.Pointer) { C.rm_fields_free((*C.rm_fields)(p)) }}}
	runtime.SetFinalizer(f, (*Fields).Close)
	return f
}

// ParseJSON parses a JSON object body into fields (ErrParse, ErrInvalid).
func ParseJSON(body []byte) (*Fields, error) {
	var p *C.rm_fields
	cb := C.CBytes(body)
	defer C.free(cb)
	if err := call(func() C.int { return C.rm_fields_parse_json(&p, (*C.char)(cb), C.size_t(len(body))) }); err != nil {
		return nil, err
	}
	return newFields(p), nil
}

// ParseForm parses an application/x-www-form-urlencoded body into fields (ErrParse).
func ParseForm(body []byte) (*Fields, error) {
	var p *C.rm_fields
	cb := C.CBytes(body)
	defer C.free(cb)
	if err := call(func() C.int { return C.rm_fields_parse_form(&p, (*C.char)(cb), C.size_t(len(body))) }); err != nil {
		return nil, err
	}
	return newFields(p), nil
}

// Close frees the field set; later use returns ErrClosed.
func (f *Fields) Close() { f.h.close() }

// Set sets a field to a string, int, int64, bool or nil (null).
func (f *Fields) Set(name string, value any) error {
	if f == nil {
		return misuse("nil Fields")
	}
	cs, free, err := cstrs(name)
	if err != nil {
		return err
	}
	defer free()
	return f.h.use(func(p unsafe.Pointer) error {
		fp := (*C.rm_fields)(p)
		switch v := value.(type) {
		case nil:
			return call(func() C.int { return C.rm_fields_set_null(fp, cs[0]) })
		case string:
			sv, err := cstr(v)
			if err != nil {
				return err
			}
			defer C.free(unsafe.Pointer(sv))
			return call(func() C.int { return C.rm_fields_set_string(fp, cs[0], sv) })
		case bool:
			b := C.int(0)
			if v {
				b = 1
			}
			return call(func() C.int { return C.rm_fields_set_bool(fp, cs[0], b) })
		case int:
			return call(func() C.int { return C.rm_fields_set_int(fp, cs[0], C.int64_t(v)) })
		case int64:
			return call(func() C.int { return C.rm_fields_set_int(fp, cs[0], C.int64_t(v)) })
		default:
			return misuse("field %q: unsupported type %T", name, value)
		}
	})
}

// Unset removes a field.
func (f *Fields) Unset(name string) error {
	cs, free, err := cstrs(name)
	if err != nil {
		return err
	}
	defer free()
	return f.h.use(func(p unsafe.Pointer) error {
		return call(func() C.int { return C.rm_fields_unset((*C.rm_fields)(p), cs[0]) })
	})
}

// Has reports whether a field is present (null counts).
func (f *Fields) Has(name string) bool {
	cs, free, err := cstrs(name)
	if err != nil {
		return false
	}
	defer free()
	has := false
	_ = f.h.use(func(p unsafe.Pointer) error { has = C.rm_fields_has((*C.rm_fields)(p), cs[0]) != 0; return nil })
	return has
}

// GetString is the field as text (strings, and integers in decimal); nil when absent, null or bool.
func (f *Fields) GetString(name string) (*string, error) {
	cs, free, err := cstrs(name)
	if err != nil {
		return nil, err
	}
	defer free()
	var out *string
	err = f.h.use(func(p unsafe.Pointer) error {
		out = goStringOrNil(C.rm_fields_get_string((*C.rm_fields)(p), cs[0]))
		return nil
	})
	return out, err
}

// withFields runs fn with a temporary C field set made from values.
func withFields(values map[string]any, fn func(*C.rm_fields) error) error {
	f, err := NewFields(values)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.h.use(func(p unsafe.Pointer) error { return fn((*C.rm_fields)(p)) })
}
