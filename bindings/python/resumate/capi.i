/*
 * capi.i — the low-level SWIG module behind the `resumate` Python package.
 *
 * This module mirrors the C API one to one (every rm_ function keeps its name); the hand-written
 * package in resumate/__init__.py makes it Pythonic. Conventions of the mapping:
 *   - `T **out` parameters disappear from the Python signature; the call returns [status, handle]
 *     (handle None when the call failed);
 *   - `char **out` results come back as str (or None) and are released with rm_free() here;
 *   - `int64_t *removed`, `int64_t *out` (the count calls), `int *created_out`: returned as an extra int;
 *   - `const char *` getters return str or None;
 *   - a NULL (None) handle where the C function would dereference it raises ValueError before the
 *     C function runs; only the rm_*_free functions accept None (a no-op, as in C);
 *   - the GIL is released around every C call (-threads), so PBKDF2 hashing and AI calls do not
 *     block other Python threads; callbacks from C threads take the GIL (PyGILState_Ensure). The
 *     helpers that touch Python objects are marked %nothread and keep the GIL;
 *   - asynchronous generation (rm_ai_generate_async) never calls into Python from the library's
 *     threads: the C callbacks rmpy_on_chunk/rmpy_on_done buffer chunks and the outcome in an
 *     rmpy_async state (mutex + condition variable) that Python waits on and drains.
 * Versioned option structs are filled by the rmpy_* helpers at the end (SWIG cannot use the C99
 * *_INIT macros, and the structs hold borrowed strings).
 *
 * The headers to wrap are passed by setup.py in capi_headers.i (every header of the include
 * directory, so a new header is wrapped without editing this file), together with %ignore lines for
 * functions a header declares but the library being built against does not export.
 */
%module(package="resumate") capi

%{
#define SWIG_FILE_WITH_INIT
#include <resumate/resumate.h>
#include <stdlib.h>
#include <string.h>

/* A NULL handle is refused before the C call, except by the free functions (NULL is a no-op). */
static int rmpy_null_ok(const char *symname)
{
    size_t n = strlen(symname);
    return n >= 5 && strcmp(symname + n - 5, "_free") == 0;
}
%}

%include <stdint.i>

#pragma SWIG nowarn=451

/* ---- handles: `T **out` becomes a returned pointer; NULL inputs are refused ---- */
%define RM_HANDLE(T)
%typemap(in, numinputs=0) T **out (T *tmp = NULL) { $1 = &tmp; }
%typemap(argout) T **out {
    $result = SWIG_AppendOutput($result, SWIG_NewPointerObj(SWIG_as_voidptr(tmp$argnum), $descriptor(T *), 0));
}
%typemap(check) T * {
    if (!$1 && !rmpy_null_ok("$symname")) SWIG_exception_fail(SWIG_ValueError, "NULL " #T " handle");
}
%typemap(check) const T * {
    if (!$1 && !rmpy_null_ok("$symname")) SWIG_exception_fail(SWIG_ValueError, "NULL " #T " handle");
}
%enddef

RM_HANDLE(rm_ctx)
RM_HANDLE(rm_storage)
RM_HANDLE(rm_fields)
RM_HANDLE(rm_user)
RM_HANDLE(rm_principal)
RM_HANDLE(rm_resume)
RM_HANDLE(rm_resume_page)
RM_HANDLE(rm_application)
RM_HANDLE(rm_application_page)
RM_HANDLE(rm_ai_model)
RM_HANDLE(rm_ai_model_page)
RM_HANDLE(rm_token_pair)
RM_HANDLE(rm_transport)
RM_HANDLE(rm_ai_result)
RM_HANDLE(rm_ai_job)
RM_HANDLE(rm_ctx_options)
RM_HANDLE(rm_list_options)
RM_HANDLE(rm_storage_vtable)
RM_HANDLE(rm_transport_vtable)
RM_HANDLE(rm_transport_request)
RM_HANDLE(rm_transport_response)
RM_HANDLE(rm_ai_generate_options)
RM_HANDLE(rm_ai_model_settings)
RM_HANDLE(rmpy_async)

/* rm_error: the accessors accept NULL (documented), so only the out typemaps. */
%typemap(in, numinputs=0) rm_error **out (rm_error *tmp = NULL) { $1 = &tmp; }
%typemap(argout) rm_error **out {
    $result = SWIG_AppendOutput($result, SWIG_NewPointerObj(SWIG_as_voidptr(tmp$argnum), $descriptor(rm_error *), 0));
}

/* Options arguments may be NULL ("the defaults"). */
%typemap(check) const rm_ctx_options *opts "";
%typemap(check) const rm_list_options *opts "";
%typemap(check) const rm_ai_generate_options *opts "";
%typemap(check) const rm_ai_model_settings *settings "";

/* ---- char **out: an allocated string, returned as str and freed here ---- */
%typemap(in, numinputs=0) char **out (char *tmp = NULL) { $1 = &tmp; }
%typemap(argout) char **out {
    PyObject *s_;
    if (tmp$argnum) {
        s_ = PyUnicode_DecodeUTF8(tmp$argnum, (Py_ssize_t)strlen(tmp$argnum), "surrogateescape");
        rm_free(tmp$argnum);
        if (!s_) SWIG_fail;
    } else {
        s_ = Py_None;
        Py_INCREF(s_);
    }
    $result = SWIG_AppendOutput($result, s_);
}

/* ---- scalar outputs ---- */
%typemap(in, numinputs=0) int64_t *removed (int64_t tmp = 0), int64_t *out (int64_t tmp = 0), int *created_out (int tmp = 0),
                          int *status_out (int tmp = 0), uint64_t *id_out (uint64_t tmp = 0) { $1 = &tmp; }
%typemap(argout) int64_t *removed, int64_t *out { $result = SWIG_AppendOutput($result, PyLong_FromLongLong((long long)tmp$argnum)); }
%typemap(argout) int *created_out, int *status_out { $result = SWIG_AppendOutput($result, PyLong_FromLong(tmp$argnum)); }
%typemap(argout) uint64_t *id_out { $result = SWIG_AppendOutput($result, PyLong_FromUnsignedLongLong(tmp$argnum)); }

/* rm_transport_perform: the body comes back as bytes (it need not be text). */
%typemap(in, numinputs=0) (char **body_out, size_t *body_len_out) (char *tmp = NULL, size_t len = 0) {
    $1 = &tmp;
    $2 = &len;
}
%typemap(argout) (char **body_out, size_t *body_len_out) {
    PyObject *b_ = PyBytes_FromStringAndSize(tmp$argnum ? tmp$argnum : "", tmp$argnum ? (Py_ssize_t)len$argnum : 0);
    rm_free(tmp$argnum);
    if (!b_) SWIG_fail;
    $result = SWIG_AppendOutput($result, b_);
}

/* rm_format_timestamp(char *buf, size_t size, int64_t): a str result from a 64-byte buffer. */
%typemap(in, numinputs=0) (char *buf, size_t size) (char tmp[64]) {
    tmp[0] = 0;
    $1 = tmp;
    $2 = sizeof tmp;
}
%typemap(argout) (char *buf, size_t size) {
    $result = SWIG_AppendOutput($result, PyUnicode_FromString(tmp$argnum));
}

/* Function pointers stored in vtables and option structs are C-only. */
%ignore rm_ctx_options::clock;
%ignore rm_ctx_options::clock_userdata;
%immutable rm_ai_generate_options::idempotency_key;

%include "capi_headers.i"

/* These helpers read or build Python objects: they must keep the GIL (no -threads release). */
%nothread rmpy_ctx_options_set_previous_keys;
%nothread rmpy_ctx_options_set_clock;
%nothread rmpy_transport_request_new;
%nothread rmpy_ai_model_settings_new;
%nothread rmpy_async_take_text;

/* ---------------------------------------------------------------------------------------------- */
/* Helpers that fill versioned option structs. Every string is copied and freed with the struct.   */
/* ---------------------------------------------------------------------------------------------- */
%{
typedef struct rmpy_strings {
    char **v;
    size_t n;
} rmpy_strings;

static char *rmpy_keep(rmpy_strings *s, const char *text)
{
    if (!text) return NULL;
    char **nv = realloc(s->v, (s->n + 1) * sizeof *nv);
    if (!nv) return NULL;
    s->v = nv;
    nv[s->n] = strdup(text);
    if (!nv[s->n]) return NULL;
    return nv[s->n++];
}

static void rmpy_strings_free(rmpy_strings *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

/* rm_ctx_options plus the strings and arrays it points to. */
typedef struct rmpy_ctx_options {
    rm_ctx_options opts;           /* first: a pointer to this is a pointer to the options */
    rmpy_strings strings;
    const char **keys;
    PyObject *clock;               /* a Python callable returning µs, or NULL */
} rmpy_ctx_options;

static int64_t rmpy_clock_trampoline(void *userdata)
{
    PyGILState_STATE st = PyGILState_Ensure();
    int64_t now = 0;
    PyObject *r = PyObject_CallNoArgs((PyObject *)userdata);
    if (r) {
        now = (int64_t)PyLong_AsLongLong(r);
        Py_DECREF(r);
    }
    if (PyErr_Occurred()) {
        PyErr_WriteUnraisable((PyObject *)userdata);
        now = 0;
    }
    PyGILState_Release(st);
    return now;
}
%}

%inline %{
/* Create ctx options at the current version with their defaults. */
rm_ctx_options *rmpy_ctx_options_new(void)
{
    rmpy_ctx_options *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    if (rm_ctx_options_init(&o->opts, RM_CTX_OPTIONS_VERSION) != RM_OK) {
        free(o);
        return NULL;
    }
    return &o->opts;
}

void rmpy_ctx_options_free(rm_ctx_options *opts)
{
    rmpy_ctx_options *o = (rmpy_ctx_options *)opts;
    if (!o) return;
    rmpy_strings_free(&o->strings);
    free(o->keys);
    if (o->clock) {
        PyGILState_STATE st = PyGILState_Ensure();
        Py_DECREF(o->clock);
        PyGILState_Release(st);
    }
    free(o);
}

/* Set a string member by name; returns 0, or -1 for an unknown name or no memory. */
int rmpy_ctx_options_set_string(rm_ctx_options *opts, const char *name, const char *value)
{
    rmpy_ctx_options *o = (rmpy_ctx_options *)opts;
    const char **slot = NULL;
    if (!o || !name) return -1;
    if (!strcmp(name, "storage_url")) slot = &opts->storage_url;
    else if (!strcmp(name, "secret_key")) slot = &opts->secret_key;
    else if (!strcmp(name, "gemini_base_url")) slot = &opts->gemini_base_url;
    else if (!strcmp(name, "openrouter_base_url")) slot = &opts->openrouter_base_url;
    else if (!strcmp(name, "openrouter_referer")) slot = &opts->openrouter_referer;
    else if (!strcmp(name, "openrouter_title")) slot = &opts->openrouter_title;
    if (!slot) return -1;
    if (!value) { *slot = NULL; return 0; }
    *slot = rmpy_keep(&o->strings, value);
    return *slot ? 0 : -1;
}

/* Set an integer member by name; returns 0, or -1 for an unknown name. */
int rmpy_ctx_options_set_int(rm_ctx_options *opts, const char *name, int64_t value)
{
    if (!opts || !name) return -1;
#define RMPY_INT(member) if (!strcmp(name, #member)) { opts->member = value; return 0; }
    RMPY_INT(password_iterations)
    RMPY_INT(access_token_lifetime)
    RMPY_INT(refresh_token_lifetime)
    RMPY_INT(token_leeway)
    RMPY_INT(rotate_refresh_tokens)
    RMPY_INT(ai_max_attempts)
    RMPY_INT(ai_backoff_base_ms)
    RMPY_INT(ai_backoff_cap_ms)
    RMPY_INT(ai_retry_after_cap_ms)
    RMPY_INT(ai_deadline_ms)
    RMPY_INT(ai_connect_timeout_ms)
    RMPY_INT(ai_timeout_ms)
    RMPY_INT(ai_breaker_threshold)
    RMPY_INT(ai_breaker_open_ms)
    RMPY_INT(ai_key_cooldown_ms)
#undef RMPY_INT
    return -1;
}

void rmpy_ctx_options_set_storage(rm_ctx_options *opts, rm_storage *storage) { if (opts) opts->storage = storage; }
void rmpy_ctx_options_set_transport(rm_ctx_options *opts, rm_transport *transport) { if (opts) opts->transport = transport; }

/* Older secret keys still accepted for verification: a sequence of str. Returns 0 or -1. */
int rmpy_ctx_options_set_previous_keys(rm_ctx_options *opts, PyObject *keys)
{
    rmpy_ctx_options *o = (rmpy_ctx_options *)opts;
    if (!o || !PyList_Check(keys)) return -1;
    Py_ssize_t n = PyList_Size(keys);
    const char **v = calloc(n > 0 ? (size_t)n : 1, sizeof *v);
    if (!v) return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *k = PyUnicode_Check(PyList_GetItem(keys, i)) ? PyUnicode_AsUTF8(PyList_GetItem(keys, i)) : NULL;
        if (!k || !(v[i] = rmpy_keep(&o->strings, k))) {
            PyErr_Clear();
            free(v);
            return -1;
        }
    }
    free(o->keys);
    o->keys = v;
    opts->previous_secret_keys = v;
    opts->previous_secret_key_count = (size_t)n;
    return 0;
}

/* A Python callable returning microseconds since the epoch, used as the ctx clock. The options
 * hold a reference until rmpy_ctx_options_free(); the Python Ctx keeps the callable alive after. */
int rmpy_ctx_options_set_clock(rm_ctx_options *opts, PyObject *clock)
{
    rmpy_ctx_options *o = (rmpy_ctx_options *)opts;
    if (!o || !PyCallable_Check(clock)) return -1;
    Py_INCREF(clock);
    Py_XDECREF(o->clock);
    o->clock = clock;
    opts->clock = rmpy_clock_trampoline;
    opts->clock_userdata = clock;
    return 0;
}

/* List options (limit, offset, cursor, status, search, ordering); strings copied. */
void rmpy_list_options_free(rm_list_options *opts)
{
    if (!opts) return;
    free((char *)opts->cursor);
    free((char *)opts->status);
    free((char *)opts->search);
    free((char *)opts->ordering);
    free(opts);
}

rm_list_options *rmpy_list_options_new(int64_t limit, int64_t offset, const char *cursor, const char *status,
                                       const char *search, const char *ordering)
{
    rm_list_options *o = calloc(1, sizeof *o);
    if (!o || rm_list_options_init(o, RM_LIST_OPTIONS_VERSION) != RM_OK) { free(o); return NULL; }
    o->limit = limit;
    o->offset = offset;
    o->cursor = cursor ? strdup(cursor) : NULL;
    o->status = status ? strdup(status) : NULL;
    o->search = search ? strdup(search) : NULL;
    o->ordering = ordering ? strdup(ordering) : NULL;
    if ((cursor && !o->cursor) || (status && !o->status) || (search && !o->search) || (ordering && !o->ordering)) {
        rmpy_list_options_free(o);
        return NULL;
    }
    return o;
}

/* A transport request; headers is a list of "Name: value" str, body bytes or None. */
rm_transport_request *rmpy_transport_request_new(const char *method, const char *url, PyObject *headers,
                                                 PyObject *body, int64_t connect_timeout_ms, int64_t timeout_ms)
{
    if (!url || !PyList_Check(headers) || (body != Py_None && !PyBytes_Check(body))) return NULL;
    Py_ssize_t n = PyList_Size(headers);
    size_t size = sizeof(rm_transport_request) + sizeof(char *) * (size_t)(n + 1);
    rm_transport_request *r = calloc(1, size);
    if (!r || rm_transport_request_init(r, RM_TRANSPORT_REQUEST_VERSION) != RM_OK) { free(r); return NULL; }
    const char **hv = (const char **)(r + 1);
    int ok = 1;
    for (Py_ssize_t i = 0; i < n && ok; i++) {
        PyObject *h = PyList_GetItem(headers, i);
        const char *t = PyUnicode_Check(h) ? PyUnicode_AsUTF8(h) : NULL;
        ok = t && (hv[i] = strdup(t)) != NULL;
    }
    r->method = method ? strdup(method) : NULL;
    r->url = strdup(url);
    if (body != Py_None) {
        char *b = malloc((size_t)PyBytes_Size(body) + 1);
        if (b) {
            memcpy(b, PyBytes_AsString(body), (size_t)PyBytes_Size(body));
            r->body = b;
            r->body_len = (size_t)PyBytes_Size(body);
        } else {
            ok = 0;
        }
    }
    r->headers = hv;
    r->header_count = (size_t)n;
    r->connect_timeout_ms = connect_timeout_ms;
    r->timeout_ms = timeout_ms;
    if (!ok || !r->url || (method && !r->method)) {
        PyErr_Clear();
        for (Py_ssize_t i = 0; i < n; i++) free((char *)hv[i]);
        free((char *)r->method); free((char *)r->url); free((char *)r->body); free(r);
        return NULL;
    }
    return r;
}

void rmpy_transport_request_free(rm_transport_request *req)
{
    if (!req) return;
    for (size_t i = 0; i < req->header_count; i++) free((char *)req->headers[i]);
    free((char *)req->method); free((char *)req->url); free((char *)req->body);
    free(req);
}
/* AI model settings: timeouts and fallback display names (list of str, copied). */
rm_ai_model_settings *rmpy_ai_model_settings_new(int64_t connect_timeout_ms, int64_t timeout_ms, PyObject *fallbacks)
{
    if (!PyList_Check(fallbacks)) return NULL;
    Py_ssize_t n = PyList_Size(fallbacks);
    rm_ai_model_settings *s = calloc(1, sizeof *s + sizeof(char *) * (size_t)(n + 1));
    if (!s || rm_ai_model_settings_init(s, RM_AI_MODEL_SETTINGS_VERSION) != RM_OK) { free(s); return NULL; }
    const char **v = (const char **)(s + 1);
    s->connect_timeout_ms = connect_timeout_ms;
    s->timeout_ms = timeout_ms;
    s->fallbacks = v;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PyList_GetItem(fallbacks, i);
        const char *t = PyUnicode_Check(o) ? PyUnicode_AsUTF8(o) : NULL;
        if (!t || !(v[i] = strdup(t))) {
            PyErr_Clear();
            for (Py_ssize_t j = 0; j < i; j++) free((char *)v[j]);
            free(s);
            return NULL;
        }
        s->fallback_count = (size_t)i + 1;
    }
    return s;
}

void rmpy_ai_model_settings_free(rm_ai_model_settings *settings)
{
    if (!settings) return;
    for (size_t i = 0; i < settings->fallback_count; i++) free((char *)settings->fallbacks[i]);
    free(settings);
}
/* The idempotency key of generation options (copied; rmpy_ai_options_clear_key frees it). */
void rmpy_ai_options_set_key(rm_ai_generate_options *opts, const char *key)
{
    if (!opts) return;
    free((char *)opts->idempotency_key);
    opts->idempotency_key = key ? strdup(key) : NULL;
}

void rmpy_ai_options_clear_key(rm_ai_generate_options *opts)
{
    if (!opts) return;
    free((char *)opts->idempotency_key);
    opts->idempotency_key = NULL;
}
%}

/* ---------------------------------------------------------------------------------------------- */
/* Asynchronous generation: C callbacks that buffer, for Python to wait on and drain.              */
/*                                                                                                  */
/*   state = rmpy_async_new()                       # two references: Python's and on_done's        */
/*   status, job = rm_ai_generate_async(ctx, who, fields, opts, rmpy_on_chunk or None,            */
/*                                      rmpy_on_done, state)                                        */
/*   if status != RM_OK: rmpy_async_free(state)     # on_done will never run: drop its reference    */
/*   rmpy_async_wait(state, timeout_ms, want_text)  # 1 done, 2 text buffered, 0 timed out          */
/*   rmpy_async_take_text(state) -> bytes;  rmpy_async_take_result(state) -> [status, result]       */
/*   rmpy_async_error(state) -> rm_error (valid until the state is freed); rmpy_async_free(state)   */
/* ---------------------------------------------------------------------------------------------- */
%{
#include <errno.h>
#include <pthread.h>
#include <time.h>

struct rmpy_async {
    pthread_mutex_t mu;
    pthread_cond_t cv;        /* signalled on every chunk and on completion */
    int refs;                 /* Python's handle + the pending on_done */
    char *text;               /* chunks not yet taken by Python */
    size_t len, cap;
    int done, status, taken;
    rm_ai_result *result;     /* owned until taken */
    rm_error *error;          /* a copy of on_done's error */
};
typedef struct rmpy_async rmpy_async;

static void rmpy_async_unref(rmpy_async *s)
{
    pthread_mutex_lock(&s->mu);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (!last) return;
    rm_ai_result_free(s->result);
    rm_error_free(s->error);
    free(s->text);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* rm_ai_chunk_fn: runs on a library thread; buffers only (no Python here). */
static int rmpy_async_on_chunk(void *userdata, const char *text, size_t len)
{
    rmpy_async *s = userdata;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (s->len + len + 1 > s->cap) {
        size_t ncap = s->cap ? s->cap : 256;
        while (ncap < s->len + len + 1) ncap *= 2;
        char *p = realloc(s->text, ncap);
        if (p) { s->text = p; s->cap = ncap; }
        else rc = 1; /* out of memory: cancel the generation rather than lose text */
    }
    if (rc == 0) {
        memcpy(s->text + s->len, text, len);
        s->len += len;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* rm_ai_done_fn: runs once, on a library thread or inside rm_ai_generate_async itself. */
static void rmpy_async_on_done(void *userdata, int status, rm_ai_result *result, const rm_error *error)
{
    rmpy_async *s = userdata;
    rm_error *copy = NULL;
    if (status != RM_OK && error && rm_error_copy(&copy, error) != RM_OK) copy = NULL;
    pthread_mutex_lock(&s->mu);
    s->status = status;
    s->result = result;
    s->error = copy;
    s->done = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    rmpy_async_unref(s); /* on_done's reference: no callback comes after this one */
}
%}

%constant rm_ai_chunk_fn rmpy_on_chunk = rmpy_async_on_chunk;
%constant rm_ai_done_fn rmpy_on_done = rmpy_async_on_done;

%inline %{
/* A new state holding two references: the caller's (rmpy_async_free) and the pending on_done's. */
rmpy_async *rmpy_async_new(void)
{
    rmpy_async *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int ok = pthread_mutex_init(&s->mu, NULL) == 0;
    if (ok && pthread_cond_init(&s->cv, &ca) != 0) {
        pthread_mutex_destroy(&s->mu);
        ok = 0;
    }
    pthread_condattr_destroy(&ca);
    if (!ok) { free(s); return NULL; }
    s->refs = 2;
    return s;
}

/* Drop one reference (the caller's; or on_done's when rm_ai_generate_async failed). NULL: no-op. */
void rmpy_async_free(rmpy_async *state)
{
    if (state) rmpy_async_unref(state);
}

/* Wait up to timeout_ms (< 0: no limit) for the outcome or, with want_text, for buffered text.
 * Returns 1 when done, 2 when text is waiting (want_text only), 0 on timeout. Releases the GIL. */
int rmpy_async_wait(rmpy_async *state, int64_t timeout_ms, int want_text)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    if (timeout_ms > 0) {
        until.tv_sec += (time_t)(timeout_ms / 1000);
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
    }
    int r = 0;
    pthread_mutex_lock(&state->mu);
    for (;;) {
        if (want_text && state->len > 0) { r = 2; break; }
        if (state->done) { r = 1; break; }
        if (timeout_ms == 0) break;
        if (timeout_ms < 0) {
            pthread_cond_wait(&state->cv, &state->mu);
        } else if (pthread_cond_timedwait(&state->cv, &state->mu, &until) == ETIMEDOUT) {
            r = want_text && state->len > 0 ? 2 : state->done;
            break;
        }
    }
    pthread_mutex_unlock(&state->mu);
    return r;
}

/* The text streamed since the last call, as bytes (UTF-8; a character may be split between calls). */
PyObject *rmpy_async_take_text(rmpy_async *state)
{
    pthread_mutex_lock(&state->mu);
    PyObject *b = PyBytes_FromStringAndSize(state->text ? state->text : "", (Py_ssize_t)state->len);
    if (b) state->len = 0;
    pthread_mutex_unlock(&state->mu);
    return b;
}

/* The outcome: [RM_OK, result] (ownership passes to the caller, once), [status, None] on failure,
 * [RM_EMISUSE, None] before completion or when the result was already taken. */
int rmpy_async_take_result(rm_ai_result **out, rmpy_async *state)
{
    int rc;
    pthread_mutex_lock(&state->mu);
    if (!state->done || state->taken) {
        rc = RM_EMISUSE;
    } else {
        rc = state->status;
        if (rc == RM_OK) {
            *out = state->result;
            state->result = NULL;
            state->taken = 1;
        }
    }
    pthread_mutex_unlock(&state->mu);
    return rc;
}

/* The failure's error (a copy made in on_done), or NULL; owned by the state. */
const rm_error *rmpy_async_error(rmpy_async *state)
{
    pthread_mutex_lock(&state->mu);
    const rm_error *e = state->done ? state->error : NULL;
    pthread_mutex_unlock(&state->mu);
    return e;
}
%}
