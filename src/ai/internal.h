/* Internal interface of the AI area: ctx state, timers, resilience, providers, prompt. */
#ifndef RM_AI_INTERNAL_H
#define RM_AI_INTERNAL_H

#include "../domain/internal.h"

#include <pthread.h>

/* ---- timer.c: one background thread running delayed callbacks ---- */
typedef struct rm__timers rm__timers;
typedef void (*rm__timer_fn)(void *arg);
int rm__timers_new(rm__timers **out);
/* Stop the thread; timers not yet fired are dropped. */
void rm__timers_free(rm__timers *t);
/* Run fn(arg) on the timer thread after delay_ms. Returns a nonzero id, 0 on out of memory. */
uint64_t rm__timer_add(rm__timers *t, int64_t delay_ms, rm__timer_fn fn, void *arg);
/* Remove a timer that has not fired yet: true if it was removed (fn will never run). */
bool rm__timer_cancel(rm__timers *t, uint64_t id);
/* Monotonic milliseconds. */
int64_t rm__mono_ms(void);

/* ---- resilience.c ---- */
typedef struct rm__breakers rm__breakers;
typedef struct rm__keyring rm__keyring;

typedef struct {
    int32_t threshold;
    int64_t open_ms;
} rm__breaker_conf;

rm__breakers *rm__breakers_new(rm__breaker_conf conf);
void rm__breakers_free(rm__breakers *b);
/* May a call go out now? Half-open admits one probe; *probe tells the caller it holds it. */
bool rm__breaker_allow(rm__breakers *b, const char *provider, const char *model, bool *probe);
/* Report an attempt's outcome: success closes; a counted failure may open. */
void rm__breaker_report(rm__breakers *b, const char *provider, const char *model, bool success, bool probe);
/* An attempt abandoned without an outcome (cancelled): give back a half-open probe. */
void rm__breaker_release(rm__breakers *b, const char *provider, const char *model, bool probe);
int rm__breaker_state(rm__breakers *b, const char *provider, const char *model);

rm__keyring *rm__keyring_new(int64_t cooldown_ms);
void rm__keyring_free(rm__keyring *k);
/* Pick the next usable key from the comma-separated list in env var `var`, round-robin.
 * Returns a malloc'ed key, or NULL with *why set: 1 = unset/empty, 2 = every key benched, 3 = no memory. */
char *rm__keyring_pick(rm__keyring *k, const char *var, int *why);
/* Bench a key for the cool-down. */
void rm__keyring_bench(rm__keyring *k, const char *var, const char *key);
/* Wipe and free a key. */
void rm__key_free(char *key);

/* Retry delay after the n-th failed attempt (n >= 1): min(cap, base * 2^(n-1)) scaled by a jitter
 * factor in [0.75, 1.0]. */
int64_t rm__backoff_ms(int64_t base_ms, int64_t cap_ms, int n);

/* ---- provider.c ---- */
enum rm__proto { RM__GEMINI = 1, RM__OPENROUTER = 2, RM__OPENAI = 3 };
int rm__proto_of(const char *api_provider); /* 0 if unknown */

/* Why an attempt failed. */
typedef struct {
    int reason;            /* RM_UPSTREAM_* */
    bool retryable;        /* 408/409/429/5xx/timeouts/resets */
    bool bench_key;        /* the key was rejected or is out of daily quota: bench it, try another */
    bool counts;           /* counts as a failure for the circuit breaker */
    int64_t retry_after_ms;/* provider's hint, -1 when none */
    int http_status;       /* 0 when no response */
    const char *what;      /* short static description, never provider text */
} rm__ai_fail;

/* An HTTP request to send; strings owned. */
typedef struct {
    char *url;
    char *body;
    char *headers[6];
    size_t header_count;
} rm__ai_http;
void rm__ai_http_clear(rm__ai_http *h);

typedef struct {
    int proto;
    const char *base;       /* API root / base URL */
    const char *model;      /* provider model id */
    const char *key;        /* may be NULL (openai_compatible) */
    const char *referer;    /* OpenRouter extras, may be NULL */
    const char *title;
    const char *system;
    const char *user;
    bool stream;
} rm__ai_call;
int rm__ai_build(rm__ai_http *out, const rm__ai_call *c);

/* What one JSON document (a full answer or one stream event) said. */
typedef struct {
    char *text;            /* text in this document (malloc'ed, may be "") */
    bool finished;         /* a clean finish reason was seen */
    bool failed;           /* fail is set */
    rm__ai_fail fail;
} rm__ai_doc;
/* Parse a 2xx document of the protocol. */
void rm__ai_parse_doc(rm__ai_doc *d, int proto, const char *json, size_t len);
/* Classify a non-2xx HTTP answer (body may be NULL) with its Retry-After and retry-after-ms header
 * values (either may be NULL); now_s is the Unix time for HTTP-date values. */
void rm__ai_classify_http(rm__ai_fail *f, int proto, int status, const char *body, size_t len,
                          const char *retry_after, const char *retry_after_ms, int64_t now_s);
/* Classify a transport failure kind. */
void rm__ai_classify_transport(rm__ai_fail *f, int kind);

/* SSE parser: feed bytes, get complete events' data. */
typedef struct {
    char *line;
    size_t line_len, line_cap;
    char *data;
    size_t data_len, data_cap;
    bool has_data;
    char *raw;             /* non-SSE lines (a bare JSON error on a Gemini stream) */
    size_t raw_len, raw_cap;
} rm__sse;
typedef int (*rm__sse_event_fn)(void *arg, const char *data, size_t len);
/* Returns 0, a nonzero value returned by on_event, or -1 on out of memory. */
int rm__sse_feed(rm__sse *s, const char *buf, size_t len, rm__sse_event_fn on_event, void *arg);
/* Dispatch a last event without a closing blank line. */
int rm__sse_finish(rm__sse *s, rm__sse_event_fn on_event, void *arg);
void rm__sse_clear(rm__sse *s);

/* ---- prompt.c ---- */
typedef struct {
    const char *job_title, *company, *description; /* all may be NULL */
} rm__ai_job_info;
/* Our resume-writer instructions (static text). */
const char *rm__ai_system_prompt(void);
/* The user message: the caller's text as delimited data, plus the job when given. malloc'ed. */
char *rm__ai_user_prompt(const char *user_input, const rm__ai_job_info *job);

/* ---- state.c: the ctx's AI state ---- */
typedef struct rm__ai_settings rm__ai_settings;
struct rm__ai_settings {
    char *display_name;    /* lower-cased key */
    int64_t connect_timeout_ms, timeout_ms;
    char **fallbacks;
    size_t fallback_count;
    rm__ai_settings *next;
};

typedef struct rm__ai_inflight rm__ai_inflight;
struct rm__ai_inflight {
    int64_t user_id;
    char *key;
    rm__ai_inflight *next;
};

struct rm__ai_state {
    pthread_mutex_t mu;            /* guards the lazily started transport/timers, settings, inflight */
    rm_transport *transport;       /* borrowed or owned_transport */
    rm_transport *owned_transport;
    rm__timers *timers;
    rm__breakers *breakers;
    rm__keyring *keys;
    rm__ai_settings *settings;
    rm__ai_inflight *inflight;
    char *gemini_base, *openrouter_base, *referer, *title;
    int32_t max_attempts;
    int64_t backoff_base_ms, backoff_cap_ms, retry_after_cap_ms, deadline_ms;
    int64_t connect_timeout_ms, timeout_ms;
};

/* The transport and timers, started on first use. RM_OK or an error (set). */
int rm__ai_runtime(rm_ctx *ctx, rm_transport **transport, rm__timers **timers);
/* Copy of a model's timeouts and fallbacks (defaults when none); caller frees with rm__ai_settings_free. */
int rm__ai_settings_get(rm_ctx *ctx, const char *display_name, rm__ai_settings **out);
void rm__ai_settings_free(rm__ai_settings *s);
/* Idempotency keys in flight in this process: false if (user, key) is already registered. */
bool rm__ai_inflight_add(rm_ctx *ctx, int64_t user_id, const char *key);
void rm__ai_inflight_remove(rm_ctx *ctx, int64_t user_id, const char *key);

#endif
