/* rm_ai_generate: validation, policy, idempotency and quota up front; then a job that calls the
 * provider through the transport, retries on a timer, falls back to other models, streams, and saves
 * the resume when the answer is complete.
 *
 * Threads: the job's steps run on the caller's thread (the first attempt), the transport's thread
 * (completions) and the timer thread (retries). `phase` under `mu` says where the job is, so that a
 * cancel from any thread reaches the request in flight or the pending timer. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { PH_IDLE, PH_SUBMITTING, PH_IN_FLIGHT, PH_WAITING, PH_DONE };

struct rm_ai_result {
    int64_t resume_id;
    char *content, *title, *model;
    bool replayed;
};

typedef struct {
    char *display, *provider, *model_name, *key_var, *base_url;
    int proto;
    int64_t connect_ms, timeout_ms;
} chain_model;

struct rm_ai_job {
    int refs;                      /* atomic */
    pthread_mutex_t mu;
    rm_ctx *ctx;
    rm_transport *transport;
    rm__timers *timers;
    rm_principal *owner;           /* the resume's owner (the caller or anonymous_user) */
    char *title, *user_prompt, *idem_key;
    bool idem_registered;
    bool quota_reserved;
    int64_t quota_model_id;
    char day[16];
    chain_model *chain;
    size_t nchain, cur;
    int attempt;                   /* attempts made on chain[cur] */
    int64_t deadline;              /* monotonic ms */
    bool stream;
    /* guarded by mu */
    int phase;
    uint64_t tid, timer_id;
    bool canceled, finished;
    /* the attempt in flight (one at a time) */
    char *key;
    bool probe;
    rm__sse sse;
    char *text;
    size_t text_len, text_cap;
    bool emitted, stream_failed, saw_finish, saw_done;
    rm__ai_fail stream_fail;
    char *errbody;
    size_t err_len, err_cap;
    /* the last failure */
    bool have_fail;
    rm__ai_fail fail;
    int fail_code;
    char *fail_msg;
    rm_ai_chunk_fn on_chunk;
    rm_ai_done_fn on_done;
    void *ud;
};

static void job_start(rm_ai_job *job);

/* ---- results ---- */

void rm_ai_result_free(rm_ai_result *r)
{
    if (!r)
        return;
    free(r->content);
    free(r->title);
    free(r->model);
    free(r);
}

int64_t rm_ai_result_resume_id(const rm_ai_result *r) { return r ? r->resume_id : 0; }
const char *rm_ai_result_content(const rm_ai_result *r) { return r ? r->content : NULL; }
const char *rm_ai_result_title(const rm_ai_result *r) { return r ? r->title : NULL; }
const char *rm_ai_result_model(const rm_ai_result *r) { return r ? r->model : NULL; }
int rm_ai_result_replayed(const rm_ai_result *r) { return r ? r->replayed : 0; }

int rm_ai_result_to_json(char **out, const rm_ai_result *r)
{
    if (!out || !r)
        return rm__error_misuse("out and result are required");
    *out = NULL;
    json_t *o = json_pack("{s:I, s:s}", "resume_id", (json_int_t)r->resume_id, "content", r->content);
    return o ? rm__dump(out, o) : rm__error_nomem();
}

static rm_ai_result *result_make(const rm_resume *res, const char *model, bool replayed)
{
    rm_ai_result *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->resume_id = rm_resume_id(res);
    r->content = strdup(rm_resume_content(res));
    r->title = strdup(rm_resume_title(res));
    r->model = strdup(model);
    r->replayed = replayed;
    if (!r->content || !r->title || !r->model) {
        rm_ai_result_free(r);
        return NULL;
    }
    return r;
}

int rm_ai_generate_options_init(rm_ai_generate_options *opts, unsigned int version)
{
    if (!opts)
        return rm__error_misuse("opts is NULL");
    if (version == 0 || version > RM_AI_GENERATE_OPTIONS_VERSION)
        return rm__error_set(RM_EVERSION, "AI generate options version %u is not supported", version);
    memset(opts, 0, sizeof(*opts));
    opts->version = version;
    return RM_OK;
}

/* ---- job lifetime ---- */

static void chain_clear(rm_ai_job *job)
{
    for (size_t i = 0; i < job->nchain; i++) {
        chain_model *c = &job->chain[i];
        free(c->display);
        free(c->provider);
        free(c->model_name);
        free(c->key_var);
        free(c->base_url);
    }
    free(job->chain);
}

static void attempt_reset(rm_ai_job *job)
{
    rm__key_free(job->key);
    job->key = NULL;
    rm__sse_clear(&job->sse);
    free(job->text);
    free(job->errbody);
    job->text = job->errbody = NULL;
    job->text_len = job->text_cap = job->err_len = job->err_cap = 0;
    job->stream_failed = job->saw_finish = job->saw_done = false;
}

static void job_unref(rm_ai_job *job)
{
    if (__atomic_sub_fetch(&job->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    attempt_reset(job);
    chain_clear(job);
    rm_principal_free(job->owner);
    free(job->title);
    free(job->user_prompt);
    free(job->idem_key);
    free(job->fail_msg);
    pthread_mutex_destroy(&job->mu);
    free(job);
}

void rm_ai_job_free(rm_ai_job *job)
{
    if (job)
        job_unref(job);
}

static void day_of(char buf[16], int64_t now_us, int64_t *secs_to_midnight)
{
    int64_t secs = now_us / 1000000;
    int64_t days = secs / 86400 - (secs % 86400 < 0);
    int64_t y;
    unsigned m, d;
    rm__civil_from_days(days, &y, &m, &d);
    snprintf(buf, 16, "%04lld-%02u-%02u", (long long)y, m, d);
    if (secs_to_midnight)
        *secs_to_midnight = (days + 1) * 86400 - secs;
}

/* Complete the job exactly once: give back the quota on failure, call on_done, drop the running ref. */
static void finish(rm_ai_job *job, int status, rm_ai_result *result)
{
    pthread_mutex_lock(&job->mu);
    bool already = job->finished;
    job->finished = true;
    job->phase = PH_DONE;
    pthread_mutex_unlock(&job->mu);
    if (already) {
        rm_ai_result_free(result);
        return;
    }
    rm_ctx *ctx = job->ctx;
    if (status != RM_OK && job->quota_reserved)
        (void)RM__STORE(ctx, usage_release, rm_principal_user_id(job->owner), job->quota_model_id, job->day);
    if (job->idem_registered)
        rm__ai_inflight_remove(ctx, rm_principal_user_id(job->owner), job->idem_key);
    if (status == RM_ECANCELED) {
        rm__error_set(RM_ECANCELED, "The generation was cancelled.");
    } else if (status != RM_OK && job->fail_msg) {
        rm__error_set_reason(job->fail_code, job->have_fail ? job->fail.reason : RM_REASON_NONE, "%s", job->fail_msg);
        if (job->have_fail && job->fail.retry_after_ms > 0)
            rm__error_set_retry_after((job->fail.retry_after_ms + 999) / 1000);
    }
    job->on_done(job->ud, status, status == RM_OK ? result : NULL, status == RM_OK ? NULL : rm_error_last());
    if (status != RM_OK)
        rm_ai_result_free(result);
    job_unref(job);
}

/* Record a failure of the current model with our own message (never provider text or a key). */
static void record_fail(rm_ai_job *job, int code, const rm__ai_fail *f, const char *fmt_extra)
{
    const chain_model *cm = &job->chain[job->cur < job->nchain ? job->cur : job->nchain - 1];
    job->have_fail = f != NULL;
    if (f)
        job->fail = *f;
    job->fail_code = code;
    free(job->fail_msg);
    if (fmt_extra)
        job->fail_msg = rm__sprintf("The AI service is unavailable: %s", fmt_extra);
    else if (f && f->http_status)
        job->fail_msg = rm__sprintf("The AI service is unavailable: %s (model \"%s\", HTTP %d).", f->what, cm->display,
                                    f->http_status);
    else
        job->fail_msg = rm__sprintf("The AI service is unavailable: %s (model \"%s\").", f ? f->what : "failure",
                                    cm->display);
}

/* Move to the next fallback model, or finish with the last failure. */
static void next_model(rm_ai_job *job)
{
    bool fallback_ok = !job->emitted && !(job->have_fail && job->fail.reason == RM_UPSTREAM_BLOCKED);
    if (fallback_ok && job->cur + 1 < job->nchain) {
        job->cur++;
        job->attempt = 0;
        job_start(job);
        return;
    }
    finish(job, job->fail_code ? job->fail_code : RM_EUPSTREAM, NULL);
}

/* ---- saving ---- */

static void save_result(rm_ai_job *job)
{
    rm_ctx *ctx = job->ctx;
    rm_fields *f = NULL;
    rm_resume *res = NULL;
    int rc = rm_fields_new(&f);
    if (!rc)
        rc = rm_fields_set_string(f, "title", job->title);
    if (!rc)
        rc = rm_fields_set_string(f, "content", job->text);
    if (!rc)
        rc = rm_resume_create(&res, ctx, job->owner, f);
    rm_fields_free(f);
    if (rc) {
        free(job->fail_msg);
        job->fail_msg = strdup(rm_error_message(rm_error_last()));
        job->fail_code = rc;
        job->have_fail = false;
        finish(job, rc, NULL);
        return;
    }
    if (job->idem_key) {
        int prc = RM__STORE(ctx, idempotency_put, job->idem_key, rm_principal_user_id(job->owner), rm_resume_id(res),
                            rm_ctx_now(ctx));
        (void)prc; /* a conflict means another process stored the key first; this result stands */
    }
    rm_ai_result *r = result_make(res, job->chain[job->cur].display, false);
    rm_resume_free(res);
    if (!r) {
        job->fail_code = RM_ENOMEM;
        free(job->fail_msg);
        job->fail_msg = strdup("out of memory");
        finish(job, RM_ENOMEM, NULL);
        return;
    }
    finish(job, RM_OK, r);
}

/* ---- one attempt's answer ---- */

static int on_event(void *arg, const char *data, size_t len)
{
    rm_ai_job *job = arg;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        job->saw_done = true;
        return 0;
    }
    rm__ai_doc d;
    rm__ai_parse_doc(&d, job->chain[job->cur].proto, data, len);
    int rc = 0;
    size_t n = d.text ? strlen(d.text) : 0;
    if (n && rm__buf_append(&job->text, &job->text_len, &job->text_cap, d.text, n) != 0) {
        rc = 1;
    } else if (n && job->on_chunk) {
        job->emitted = true;
        if (job->on_chunk(job->ud, d.text, n) != 0) {
            pthread_mutex_lock(&job->mu);
            job->canceled = true;
            pthread_mutex_unlock(&job->mu);
            rc = 1;
        }
    }
    if (d.finished)
        job->saw_finish = true;
    if (d.failed && !rc) {
        job->stream_failed = true;
        job->stream_fail = d.fail;
        rc = 1;
    }
    free(d.text);
    return rc;
}

static int on_data(void *ud, int status, const char *data, size_t len)
{
    rm_ai_job *job = ud;
    if (status < 200 || status >= 300) {
        if (job->err_len + len > 65536) /* enough to classify an error body */
            return 0;
        char *b = realloc(job->errbody, job->err_len + len + 1);
        if (!b)
            return 1;
        memcpy(b + job->err_len, data, len);
        job->err_len += len;
        b[job->err_len] = '\0';
        job->errbody = b;
        return 0;
    }
    return rm__sse_feed(&job->sse, data, len, on_event, job) ? 1 : 0;
}

/* Decide what the response means: true with job->text on success, false with *f. */
static bool evaluate(rm_ai_job *job, const rm_transport_response *r, rm__ai_fail *f)
{
    int proto = job->chain[job->cur].proto;
    if (job->stream_failed) {
        *f = job->stream_fail;
        return false;
    }
    if (r->error_kind != RM_TRANSPORT_OK) {
        rm__ai_classify_transport(f, r->error_kind);
        return false;
    }
    if (r->status < 200 || r->status >= 300) {
        const char *body = job->stream ? job->errbody : r->body;
        size_t blen = job->stream ? job->err_len : r->body_len;
        rm__ai_classify_http(f, proto, r->status, body, blen, rm_transport_response_header(r, "Retry-After"),
                             rm_transport_response_header(r, "retry-after-ms"), (int64_t)time(NULL));
        return false;
    }
    if (job->stream) {
        if (rm__sse_finish(&job->sse, on_event, job) != 0 && job->stream_failed) {
            *f = job->stream_fail;
            return false;
        }
        if (job->sse.raw_len && !job->text_len) { /* a bare JSON error instead of events */
            rm__ai_doc d;
            rm__ai_parse_doc(&d, proto, job->sse.raw, job->sse.raw_len);
            free(d.text);
            if (d.failed) {
                *f = d.fail;
                return false;
            }
        }
        if (!job->saw_finish && !job->saw_done) {
            rm__ai_classify_transport(f, RM_TRANSPORT_ERESET);
            f->what = "the provider's stream ended early";
            return false;
        }
    } else {
        rm__ai_doc d;
        rm__ai_parse_doc(&d, proto, r->body, r->body_len);
        if (d.failed) {
            free(d.text);
            *f = d.fail;
            return false;
        }
        job->text = d.text;
        job->text_len = strlen(d.text);
    }
    const char *p = job->text ? job->text : "";
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    if (!*p) {
        memset(f, 0, sizeof(*f));
        f->reason = RM_UPSTREAM_BAD_RESPONSE;
        f->retry_after_ms = -1;
        f->counts = true;
        f->what = "the provider's answer is empty";
        return false;
    }
    return true;
}

static void on_timer(void *arg)
{
    rm_ai_job *job = arg;
    pthread_mutex_lock(&job->mu);
    job->phase = PH_IDLE;
    job->timer_id = 0;
    pthread_mutex_unlock(&job->mu);
    job_start(job);
}

/* After a failed attempt: retry (now or after a backoff), or move on to a fallback. */
static void after_failure(rm_ai_job *job, const rm__ai_fail *f)
{
    struct rm__ai_state *s = job->ctx->ai;
    record_fail(job, RM_EUPSTREAM, f, NULL);
    job->attempt++;
    if (job->emitted) {
        finish(job, RM_EUPSTREAM, NULL);
        return;
    }
    bool more = job->attempt < s->max_attempts;
    if (more && f->bench_key) { /* another key may work: try it at once */
        job_start(job);
        return;
    }
    if (more && f->retryable) {
        int64_t delay = rm__backoff_ms(s->backoff_base_ms, s->backoff_cap_ms, job->attempt);
        bool ok = true;
        if (f->retry_after_ms >= 0) {
            if (f->retry_after_ms > s->retry_after_cap_ms)
                ok = false;
            else if (f->retry_after_ms > delay)
                delay = f->retry_after_ms;
        }
        if (ok && rm__mono_ms() + delay < job->deadline) {
            pthread_mutex_lock(&job->mu);
            if (!job->canceled) {
                job->phase = PH_WAITING;
                job->timer_id = rm__timer_add(job->timers, delay, on_timer, job);
                ok = job->timer_id != 0;
            }
            bool canceled = job->canceled;
            pthread_mutex_unlock(&job->mu);
            if (canceled)
                finish(job, RM_ECANCELED, NULL);
            if (canceled || ok)
                return;
        }
    }
    next_model(job);
}

static void on_response(void *ud, const rm_transport_response *r)
{
    rm_ai_job *job = ud;
    pthread_mutex_lock(&job->mu);
    job->phase = PH_IDLE;
    job->tid = 0;
    bool canceled = job->canceled;
    pthread_mutex_unlock(&job->mu);
    chain_model *cm = &job->chain[job->cur];
    struct rm__ai_state *s = job->ctx->ai;
    rm__ai_fail f;
    bool ok = !canceled && evaluate(job, r, &f);
    if (canceled) {
        rm__breaker_release(s->breakers, cm->provider, cm->model_name, job->probe);
    } else if (ok || f.counts) {
        rm__breaker_report(s->breakers, cm->provider, cm->model_name, ok, job->probe);
    } else {
        rm__breaker_release(s->breakers, cm->provider, cm->model_name, job->probe);
    }
    job->probe = false;
    if (!ok && !canceled && f.bench_key)
        rm__keyring_bench(s->keys, cm->key_var, job->key);
    rm__key_free(job->key);
    job->key = NULL;
    if (canceled) {
        finish(job, RM_ECANCELED, NULL);
    } else if (ok) {
        save_result(job);
    } else {
        after_failure(job, &f);
    }
}

/* ---- starting an attempt ---- */

static int submit_attempt(rm_ai_job *job, chain_model *cm)
{
    struct rm__ai_state *s = job->ctx->ai;
    const char *base = cm->proto == RM__GEMINI ? s->gemini_base : cm->proto == RM__OPENROUTER ? s->openrouter_base : cm->base_url;
    rm__ai_call call = {.proto = cm->proto, .base = base, .model = cm->model_name, .key = job->key,
                        .referer = s->referer, .title = s->title, .system = rm__ai_system_prompt(),
                        .user = job->user_prompt, .stream = job->stream};
    rm__ai_http h;
    int rc = rm__ai_build(&h, &call);
    if (rc)
        return rc;
    int64_t left = job->deadline - rm__mono_ms();
    int64_t total = cm->timeout_ms < left ? cm->timeout_ms : left;
    rm_transport_request req = {.version = RM_TRANSPORT_REQUEST_VERSION, .method = "POST", .url = h.url,
                                .headers = (const char *const *)h.headers, .header_count = h.header_count,
                                .body = h.body, .body_len = strlen(h.body),
                                .connect_timeout_ms = cm->connect_ms, .timeout_ms = total > 0 ? total : 1};
    pthread_mutex_lock(&job->mu);
    job->phase = PH_SUBMITTING;
    pthread_mutex_unlock(&job->mu);
    /* The completion may run (and finish the job, dropping its running reference) on the transport's
     * thread before rm_transport_submit() even returns: keep the job alive until we are done with it. */
    __atomic_add_fetch(&job->refs, 1, __ATOMIC_ACQ_REL);
    uint64_t id = 0;
    rc = rm_transport_submit(job->transport, &req, job->stream ? on_data : NULL, on_response, job, &id);
    rm__ai_http_clear(&h);
    if (rc) {
        pthread_mutex_lock(&job->mu);
        job->phase = PH_IDLE;
        pthread_mutex_unlock(&job->mu);
        job_unref(job);
        return rc;
    }
    pthread_mutex_lock(&job->mu);
    bool cancel_now = false;
    if (job->phase == PH_SUBMITTING) { /* the completion has not run yet */
        job->phase = PH_IN_FLIGHT;
        job->tid = id;
        cancel_now = job->canceled;
    }
    pthread_mutex_unlock(&job->mu);
    if (cancel_now)
        rm_transport_cancel(job->transport, id);
    job_unref(job);
    return RM_OK;
}

static void job_start(rm_ai_job *job)
{
    struct rm__ai_state *s = job->ctx->ai;
    for (;;) {
        pthread_mutex_lock(&job->mu);
        bool canceled = job->canceled;
        pthread_mutex_unlock(&job->mu);
        if (canceled) {
            finish(job, RM_ECANCELED, NULL);
            return;
        }
        chain_model *cm = &job->chain[job->cur];
        attempt_reset(job);
        if (rm__mono_ms() >= job->deadline) {
            rm__ai_fail f = {.reason = RM_UPSTREAM_UNAVAILABLE, .retry_after_ms = -1, .what = "no answer within the deadline"};
            record_fail(job, RM_EUPSTREAM, &f, NULL);
            finish(job, RM_EUPSTREAM, NULL);
            return;
        }
        if (!rm__breaker_allow(s->breakers, cm->provider, cm->model_name, &job->probe)) {
            rm__ai_fail f = {.reason = RM_UPSTREAM_CIRCUIT_OPEN, .retry_after_ms = -1,
                             .what = "calls are paused after repeated failures (circuit breaker open)"};
            record_fail(job, RM_EUPSTREAM, &f, NULL);
            next_model(job);
            return;
        }
        int why = 0;
        job->key = rm__keyring_pick(s->keys, cm->key_var, &why);
        if (!job->key && (cm->proto != RM__OPENAI || why == 2)) {
            rm__breaker_release(s->breakers, cm->provider, cm->model_name, job->probe);
            job->probe = false;
            rm__ai_fail f = {.reason = why == 2 ? RM_UPSTREAM_AUTH : RM_UPSTREAM_NO_KEY, .retry_after_ms = -1,
                             .what = why == 2 ? "every API key was rejected recently" : "the API key is not set"};
            char *msg = why == 2 ? rm__sprintf("every API key in %s was rejected recently; try again later.", cm->key_var)
                                 : rm__sprintf("the model \"%s\" is not configured: the environment variable %s is not set.",
                                               cm->display, cm->key_var && cm->key_var[0] ? cm->key_var : "(none)");
            record_fail(job, RM_EUPSTREAM, &f, msg ? msg : "the API key is not set.");
            free(msg);
            next_model(job);
            return;
        }
        int rc = submit_attempt(job, cm);
        if (rc == RM_OK)
            return;
        rm__breaker_release(s->breakers, cm->provider, cm->model_name, job->probe);
        job->probe = false;
        rm__ai_fail f = {.reason = RM_UPSTREAM_UNAVAILABLE, .retry_after_ms = -1, .what = "the request could not be sent"};
        record_fail(job, RM_EUPSTREAM, &f, NULL);
        next_model(job);
        return;
    }
}

int rm_ai_job_cancel(rm_ai_job *job)
{
    if (!job)
        return rm__error_misuse("job is NULL");
    pthread_mutex_lock(&job->mu);
    if (job->finished || job->canceled) {
        pthread_mutex_unlock(&job->mu);
        return RM_OK;
    }
    job->canceled = true;
    int phase = job->phase;
    uint64_t tid = job->tid, timer = job->timer_id;
    bool removed = phase == PH_WAITING && rm__timer_cancel(job->timers, timer);
    pthread_mutex_unlock(&job->mu);
    if (phase == PH_IN_FLIGHT)
        rm_transport_cancel(job->transport, tid);
    else if (removed)
        finish(job, RM_ECANCELED, NULL);
    /* otherwise the step running now sees `canceled` */
    return RM_OK;
}

/* ---- the request: validation, policy, idempotency, quota ---- */

static const char MSG_BAD_MODEL[] = "This model is not valid or is currently disabled.";

/* Look up an active model by display name: 1 found, 0 not usable, <0 storage error (set). */
static int active_model(rm_ctx *ctx, const char *name, rm_ai_model **out)
{
    *out = NULL;
    int rc = rm_ai_model_get(out, ctx, name);
    if (rc == RM_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (!rm_ai_model_is_active(*out) || !rm__proto_of(rm_ai_model_api_provider(*out))) {
        rm_ai_model_free(*out);
        *out = NULL;
        return 0;
    }
    return 1;
}

/* application_id: DRF PrimaryKeyRelatedField rules. 1 with *id, 0 absent/null, -1 error added. */
static int field_pk(rm__ferr *fe, const rm_fields *f, const char *name, int64_t *id)
{
    json_t *v = rm__fields_value(f, name);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        *id = json_integer_value(v);
        return 1;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        long long n = strtoll(s, &end, 10);
        if (*s && *end == '\0') {
            *id = n;
            return 1;
        }
        rm__ferr_addf(fe, name, "Incorrect type. Expected pk value, received %s.", "str");
        return -1;
    }
    rm__ferr_addf(fe, name, "Incorrect type. Expected pk value, received %s.", rm__json_pytype(v));
    return -1;
}

typedef struct {
    rm_ai_model *model;
    char *user_input, *title;
    rm_application *app;
} request;

static void request_clear(request *q)
{
    rm_ai_model_free(q->model);
    rm_application_free(q->app);
    free(q->user_input);
    free(q->title);
}

static int validate(request *q, rm_ctx *ctx, const rm_principal *who, const rm_fields *fields)
{
    rm__ferr *fe = rm__ferr_new();
    if (!fe)
        return rm__error_nomem();
    char *model = NULL;
    int rc = RM_OK;
    const rm__charspec mspec = {.required = true, .trim = true, .max_length = 100};
    if (rm__field_char(fe, fields, "model", &mspec, &model) == 1) {
        int found = active_model(ctx, model, &q->model);
        if (found < 0) {
            rc = found;
            goto out;
        }
        if (!found)
            rm__ferr_add(fe, "model", MSG_BAD_MODEL);
        else if (rm_ai_model_login_required(q->model) && rm_principal_is_anonymous(who))
            rm__ferr_addf(fe, "model", "You must be logged in to use the %s model.", rm_ai_model_display_name(q->model));
    }
    const rm__charspec uspec = {.required = true, .trim = true};
    if (rm__field_char(fe, fields, "user_input", &uspec, &q->user_input) == 1 && rm__utf8_len(q->user_input) < 50)
        rm__ferr_add(fe, "user_input", "Ensure this field has at least 50 characters.");
    const rm__charspec tspec = {.trim = true, .max_length = 255};
    if (rm__field_char(fe, fields, "title", &tspec, &q->title) == 0 && !q->title)
        q->title = strdup("Untitled Resume");
    int64_t app_id = 0;
    if (field_pk(fe, fields, "application_id", &app_id) == 1) {
        int arc = rm_principal_is_anonymous(who) ? RM_ENOTFOUND : rm_application_get(&q->app, ctx, who, app_id);
        if (arc == RM_ENOTFOUND || arc == RM_EPERM)
            rm__ferr_addf(fe, "application_id", "Invalid pk \"%lld\" - object does not exist.", (long long)app_id);
        else if (arc) {
            rc = arc;
            goto out;
        }
    }
    if (!rm__ferr_empty(fe)) {
        rc = rm__error_fields(fe, NULL);
        fe = NULL;
    } else if (!q->title) {
        rc = rm__error_nomem();
    }
out:
    rm__ferr_free(fe);
    free(model);
    return rc;
}

/* The principal that owns the result: the caller, or the anonymous_user account. */
static int owner_of(rm_principal **out, rm_ctx *ctx, const rm_principal *who)
{
    if (!rm_principal_is_anonymous(who))
        return rm_principal_dup(out, who);
    int64_t id = 0;
    int rc = rm__system_user(ctx, "anonymous_user", &ctx->anonymous_user_id, &id);
    if (rc)
        return rc;
    rm_user_record rec = {.id = id, .username = "anonymous_user"};
    return rm__principal_from_record(out, &rec);
}

static int chain_add(rm_ai_job *job, const rm_ai_model *m, const rm__ai_settings *st, const struct rm__ai_state *s)
{
    chain_model *c = &job->chain[job->nchain];
    memset(c, 0, sizeof(*c));
    c->display = strdup(rm_ai_model_display_name(m));
    c->provider = strdup(rm_ai_model_api_provider(m));
    c->model_name = strdup(rm_ai_model_model_name(m));
    c->key_var = strdup(rm_ai_model_api_key_name(m) ? rm_ai_model_api_key_name(m) : "");
    c->base_url = rm__strdup(rm_ai_model_base_url(m));
    c->proto = rm__proto_of(c->provider);
    c->connect_ms = st && st->connect_timeout_ms > 0 ? st->connect_timeout_ms : s->connect_timeout_ms;
    c->timeout_ms = st && st->timeout_ms > 0 ? st->timeout_ms : s->timeout_ms;
    job->nchain++;
    if (!c->display || !c->provider || !c->model_name || !c->key_var || (rm_ai_model_base_url(m) && !c->base_url))
        return rm__error_nomem();
    if (c->proto == RM__OPENAI) { /* drop a trailing slash */
        size_t n = c->base_url ? strlen(c->base_url) : 0;
        while (n && c->base_url[n - 1] == '/')
            c->base_url[--n] = '\0';
        if (!n)
            return rm__error_set_reason(RM_EUPSTREAM, RM_UPSTREAM_BAD_REQUEST, "the model \"%s\" has no base URL", c->display);
    }
    return RM_OK;
}

/* The requested model, then its usable fallbacks. */
static int build_chain(rm_ai_job *job, const rm_ai_model *primary, bool anonymous)
{
    struct rm__ai_state *s = job->ctx->ai;
    rm__ai_settings *st = NULL;
    int rc = rm__ai_settings_get(job->ctx, rm_ai_model_display_name(primary), &st);
    if (rc)
        return rc;
    job->chain = calloc(1 + st->fallback_count, sizeof(chain_model));
    if (!job->chain) {
        rm__ai_settings_free(st);
        return rm__error_nomem();
    }
    rc = chain_add(job, primary, st, s);
    for (size_t i = 0; rc == RM_OK && i < st->fallback_count; i++) {
        rm_ai_model *m = NULL;
        int found = active_model(job->ctx, st->fallbacks[i], &m);
        bool dup = false;
        for (size_t j = 0; found == 1 && j < job->nchain; j++)
            dup |= rm_ai_model_id(m) == rm_ai_model_id(primary) ||
                   strcmp(job->chain[j].display, rm_ai_model_display_name(m)) == 0;
        if (found == 1 && !dup && !(anonymous && rm_ai_model_login_required(m))) {
            rm__ai_settings *fst = NULL;
            rc = rm__ai_settings_get(job->ctx, rm_ai_model_display_name(m), &fst);
            if (!rc)
                rc = chain_add(job, m, fst, s);
            rm__ai_settings_free(fst);
        } else if (found < 0) {
            rc = found;
        }
        rm_ai_model_free(m);
    }
    rm__ai_settings_free(st);
    return rc;
}

/* An earlier result for this idempotency key: 1 with *out, 0 none, <0 error. */
static int idem_lookup(rm_ai_result **out, rm_ctx *ctx, const rm_principal *owner, const char *key)
{
    int64_t now = rm_ctx_now(ctx), resume_id = 0;
    int rc = RM__STORE(ctx, idempotency_get, key, rm_principal_user_id(owner), now - INT64_C(86400000000), &resume_id);
    if (rc == RM_ENOTFOUND || (rc == RM_OK && resume_id <= 0))
        return 0;
    if (rc)
        return rm__storage_status(rc);
    rm_resume *res = NULL;
    rc = rm_resume_get(&res, ctx, owner, resume_id);
    if (rc == RM_ENOTFOUND) /* deleted since: generate again */
        return 0;
    if (rc)
        return rc;
    *out = result_make(res, "", true);
    rm_resume_free(res);
    return *out ? 1 : rm__error_nomem();
}

static int reserve_quota(rm_ai_job *job, const rm_ai_model *m)
{
    int32_t limit = rm_ai_model_daily_limit(m);
    if (limit <= 0)
        return RM_OK;
    int64_t to_midnight = 0;
    day_of(job->day, rm_ctx_now(job->ctx), &to_midnight);
    int32_t count = 0;
    int rc = RM__STORE(job->ctx, usage_try_increment, rm_principal_user_id(job->owner), rm_ai_model_id(m), job->day, limit,
                       &count);
    if (rc == RM_ELIMIT) {
        rc = rm__error_set(RM_ELIMIT, "Daily limit of %d generations with the %s model reached; it resets at midnight UTC.",
                           (int)limit, rm_ai_model_display_name(m));
        rm__error_set_retry_after(to_midnight);
        return rc;
    }
    if (rc)
        return rm__storage_status(rc);
    job->quota_reserved = true;
    job->quota_model_id = rm_ai_model_id(m);
    return RM_OK;
}

static int job_prepare(rm_ai_job *job, request *q, const rm_principal *who, const rm_ai_generate_options *opts,
                       rm_ai_result **replay)
{
    rm_ctx *ctx = job->ctx;
    int rc = owner_of(&job->owner, ctx, who);
    if (rc)
        return rc;
    const char *key = opts ? opts->idempotency_key : NULL;
    if (key && key[0]) {
        if (strlen(key) > 255)
            return rm__error_field("idempotency_key", "Ensure this field has no more than 255 characters.");
        if (!(job->idem_key = strdup(key)))
            return rm__error_nomem();
        if ((rc = idem_lookup(replay, ctx, job->owner, key)) != 0) {
            if (rc == 1) {
                free((*replay)->model);
                (*replay)->model = NULL;
            }
            if (rc == 1 && !((*replay)->model = strdup(rm_ai_model_display_name(q->model))))
                return rm__error_nomem();
            return rc == 1 ? RM_OK : rc;
        }
        if (!rm__ai_inflight_add(ctx, rm_principal_user_id(job->owner), key))
            return rm__error_set(RM_ECONFLICT, "A request with this Idempotency-Key is already in progress.");
        job->idem_registered = true;
    }
    if ((rc = build_chain(job, q->model, rm_principal_is_anonymous(who))))
        return rc;
    rm__ai_job_info info = {0};
    if (q->app) {
        info.job_title = rm_application_job_title(q->app);
        info.company = rm_application_company_name(q->app);
        info.description = rm_application_original_job_description(q->app);
    }
    if (!(job->user_prompt = rm__ai_user_prompt(q->user_input, &info)))
        return rm__error_nomem();
    job->title = q->title;
    q->title = NULL;
    if ((rc = rm__ai_runtime(ctx, &job->transport, &job->timers)))
        return rc;
    int64_t deadline_ms = opts && opts->deadline_ms > 0 ? opts->deadline_ms : ctx->ai->deadline_ms;
    job->deadline = rm__mono_ms() + deadline_ms;
    return reserve_quota(job, q->model); /* last: nothing after it can fail before the job runs */
}

int rm_ai_generate_async(rm_ai_job **out, rm_ctx *ctx, const rm_principal *who, const rm_fields *fields,
                         const rm_ai_generate_options *opts, rm_ai_chunk_fn on_chunk, rm_ai_done_fn on_done,
                         void *userdata)
{
    if (out)
        *out = NULL;
    if (!ctx || !who || !fields || !on_done)
        return rm__error_misuse("ctx, who, fields and on_done are required");
    if (opts && (opts->version == 0 || opts->version > RM_AI_GENERATE_OPTIONS_VERSION))
        return rm__error_set(RM_EVERSION, "AI generate options version %u is not supported", opts->version);
    request q = {0};
    int rc = validate(&q, ctx, who, fields);
    if (rc) {
        request_clear(&q);
        return rc;
    }
    rm_ai_job *job = calloc(1, sizeof(*job));
    if (!job) {
        request_clear(&q);
        return rm__error_nomem();
    }
    pthread_mutex_init(&job->mu, NULL);
    job->refs = 1;
    job->ctx = ctx;
    job->stream = on_chunk != NULL;
    job->on_chunk = on_chunk;
    job->on_done = on_done;
    job->ud = userdata;
    rm_ai_result *replay = NULL;
    rc = job_prepare(job, &q, who, opts, &replay);
    request_clear(&q);
    if (rc) {
        if (job->idem_registered)
            rm__ai_inflight_remove(ctx, rm_principal_user_id(job->owner), job->idem_key);
        job_unref(job);
        return rc;
    }
    if (out) {
        __atomic_add_fetch(&job->refs, 1, __ATOMIC_ACQ_REL);
        *out = job;
    }
    if (replay) {
        if (on_chunk)
            on_chunk(userdata, replay->content, strlen(replay->content));
        finish(job, RM_OK, replay);
        return RM_OK;
    }
    job_start(job);
    return RM_OK;
}

/* ---- the synchronous call ---- */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int status;
    rm_ai_result *result;
    rm_error *err;
} sync_wait;

static void sync_done(void *ud, int status, rm_ai_result *result, const rm_error *err)
{
    sync_wait *w = ud;
    pthread_mutex_lock(&w->mu);
    w->status = status;
    w->result = result;
    if (err && rm_error_copy(&w->err, err) != RM_OK)
        w->err = NULL;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int rm_ai_generate(rm_ai_result **out, rm_ctx *ctx, const rm_principal *who, const rm_fields *fields,
                   const rm_ai_generate_options *opts)
{
    if (!out)
        return rm__error_misuse("out is NULL");
    *out = NULL;
    sync_wait w = {.done = false};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    int rc = rm_ai_generate_async(NULL, ctx, who, fields, opts, NULL, sync_done, &w);
    if (rc == RM_OK) {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
        rc = w.status;
        if (rc == RM_OK) {
            *out = w.result;
        } else { /* re-raise the job's error on this thread */
            rm__error_set_reason(rc, rm_error_reason(w.err), "%s", w.err ? rm_error_message(w.err) : "generation failed");
            if (rm_error_retry_after(w.err) > 0)
                rm__error_set_retry_after(rm_error_retry_after(w.err));
        }
    }
    rm_error_free(w.err);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return rc;
}
