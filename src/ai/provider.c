/* Provider wire formats: Gemini generateContent / streamGenerateContent, OpenRouter and
 * OpenAI-compatible chat completions; answers, error bodies and SSE streams. */
#include "internal.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int rm__proto_of(const char *p)
{
    if (!p)
        return 0;
    if (strcmp(p, "google_gemini") == 0)
        return RM__GEMINI;
    if (strcmp(p, "open_router") == 0)
        return RM__OPENROUTER;
    if (strcmp(p, "openai_compatible") == 0)
        return RM__OPENAI;
    return 0;
}

void rm__ai_http_clear(rm__ai_http *h)
{
    free(h->url);
    free(h->body);
    for (size_t i = 0; i < h->header_count; i++) {
        OPENSSL_cleanse(h->headers[i], strlen(h->headers[i])); /* may hold a key */
        free(h->headers[i]);
    }
    memset(h, 0, sizeof(*h));
}

static bool header_safe(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static int add_header(rm__ai_http *h, char *line)
{
    if (!line)
        return -1;
    h->headers[h->header_count++] = line;
    return 0;
}

static json_t *gemini_body(const rm__ai_call *c)
{
    return json_pack("{s:{s:[{s:s}]}, s:[{s:s, s:[{s:s}]}], s:{s:f}}",
                     "systemInstruction", "parts", "text", c->system,
                     "contents", "role", "user", "parts", "text", c->user,
                     "generationConfig", "temperature", 0.7);
}

static json_t *openai_body(const rm__ai_call *c)
{
    json_t *b = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:b}",
                          "model", c->model,
                          "messages", "role", "system", "content", c->system, "role", "user", "content", c->user,
                          "stream", c->stream ? 1 : 0);
    return b;
}

int rm__ai_build(rm__ai_http *out, const rm__ai_call *c)
{
    memset(out, 0, sizeof(*out));
    if (c->key && !header_safe(c->key))
        return rm__error_set_reason(RM_EUPSTREAM, RM_UPSTREAM_NO_KEY, "the API key contains control characters");
    json_t *body = c->proto == RM__GEMINI ? gemini_body(c) : openai_body(c);
    if (!body || !(out->body = json_dumps(body, JSON_COMPACT)))
        goto nomem;
    json_decref(body);
    body = NULL;
    if (c->proto == RM__GEMINI) {
        const char *m = strncmp(c->model, "models/", 7) == 0 ? c->model + 7 : c->model;
        out->url = rm__sprintf("%s/v1beta/models/%s:%s", c->base, m,
                               c->stream ? "streamGenerateContent?alt=sse" : "generateContent");
    } else {
        out->url = rm__sprintf("%s/chat/completions", c->base);
    }
    if (!out->url || add_header(out, rm__strdup("Content-Type: application/json")))
        goto nomem;
    if (c->stream && add_header(out, rm__strdup("Accept: text/event-stream")))
        goto nomem;
    if (c->key && c->key[0]) {
        char *h = c->proto == RM__GEMINI ? rm__sprintf("x-goog-api-key: %s", c->key)
                                         : rm__sprintf("Authorization: Bearer %s", c->key);
        if (add_header(out, h))
            goto nomem;
    }
    if (c->proto == RM__OPENROUTER && c->referer && header_safe(c->referer) &&
        add_header(out, rm__sprintf("HTTP-Referer: %s", c->referer)))
        goto nomem;
    if (c->proto == RM__OPENROUTER && c->title && header_safe(c->title) &&
        (add_header(out, rm__sprintf("X-Title: %s", c->title)) ||
         add_header(out, rm__sprintf("X-OpenRouter-Title: %s", c->title))))
        goto nomem;
    return RM_OK;
nomem:
    json_decref(body);
    rm__ai_http_clear(out);
    return rm__error_nomem();
}

/* ---- classification ---- */

static void fail_set(rm__ai_fail *f, int reason, bool retryable, bool counts, const char *what)
{
    f->reason = reason;
    f->retryable = retryable;
    f->counts = counts;
    f->what = what;
}

static int64_t parse_retry_after(const char *v, int64_t now_s)
{
    if (!v || !*v)
        return -1;
    char *end;
    double d = strtod(v, &end);
    if (end != v && (*end == '\0' || *end == ' ') && d >= 0)
        return (int64_t)(d * 1000.0);
    struct tm tm = {0};
    const char *e = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!e)
        return -1;
    int64_t t = (int64_t)timegm(&tm);
    return t > now_s ? (t - now_s) * 1000 : 0;
}

/* "47s", "1.5s" */
static int64_t parse_duration(const char *v)
{
    if (!v)
        return -1;
    char *end;
    double d = strtod(v, &end);
    if (end == v || d < 0 || (*end && *end != 's'))
        return -1;
    return (int64_t)(d * 1000.0);
}

/* The error object of a body: {"error": {...}}, possibly inside a one-element array. */
static json_t *error_object(json_t *root)
{
    if (json_is_array(root) && json_array_size(root) == 1)
        root = json_array_get(root, 0);
    json_t *e = json_object_get(root, "error");
    return json_is_object(e) ? e : NULL;
}

typedef struct {
    bool key_invalid, daily, moderation;
    int64_t retry_info_ms;
} err_hints;

static void read_hints(err_hints *h, json_t *err)
{
    h->retry_info_ms = -1;
    json_t *details = json_object_get(err, "details"), *d;
    size_t i;
    json_array_foreach(details, i, d) {
        const char *type = json_string_value(json_object_get(d, "@type"));
        if (!type)
            continue;
        if (strstr(type, "RetryInfo"))
            h->retry_info_ms = parse_duration(json_string_value(json_object_get(d, "retryDelay")));
        if (strstr(type, "ErrorInfo")) {
            const char *r = json_string_value(json_object_get(d, "reason"));
            if (r && strcmp(r, "API_KEY_INVALID") == 0)
                h->key_invalid = true;
        }
        if (strstr(type, "QuotaFailure")) {
            json_t *v;
            size_t j;
            json_array_foreach(json_object_get(d, "violations"), j, v) {
                const char *q = json_string_value(json_object_get(v, "quotaId"));
                if (q && strstr(q, "PerDay"))
                    h->daily = true;
            }
        }
    }
    const char *msg = json_string_value(json_object_get(err, "message"));
    if (msg && strstr(msg, "API key not valid"))
        h->key_invalid = true;
    const char *code = json_string_value(json_object_get(err, "code"));
    const char *type = json_string_value(json_object_get(err, "type"));
    if ((code && strcmp(code, "insufficient_quota") == 0) || (type && strcmp(type, "insufficient_quota") == 0))
        h->daily = true;
    json_t *meta = json_object_get(err, "metadata");
    if (json_object_get(meta, "reasons") || json_object_get(meta, "flagged_input"))
        h->moderation = true;
}

static void classify_status(rm__ai_fail *f, int proto, int status, const err_hints *h)
{
    (void)proto;
    f->http_status = status;
    if (status == 401 || (status == 403 && !h->moderation) || (status == 400 && h->key_invalid)) {
        fail_set(f, RM_UPSTREAM_AUTH, false, false, "the provider rejected the API key");
        f->bench_key = true;
    } else if (status == 403) {
        fail_set(f, RM_UPSTREAM_BLOCKED, false, false, "the provider refused the content");
    } else if (status == 402 || (status == 429 && h->daily)) {
        fail_set(f, RM_UPSTREAM_RATE_LIMIT, false, false, "the API key is out of quota");
        f->bench_key = true;
    } else if (status == 429) {
        fail_set(f, RM_UPSTREAM_RATE_LIMIT, true, false, "the provider rate-limited the request");
    } else if (status == 408 || status == 409) {
        fail_set(f, RM_UPSTREAM_UNAVAILABLE, true, true, "the provider timed out");
    } else if (status >= 500) {
        fail_set(f, RM_UPSTREAM_UNAVAILABLE, true, true, "the provider is unavailable");
    } else {
        fail_set(f, RM_UPSTREAM_BAD_REQUEST, false, false, "the provider refused the request");
    }
    if (h->retry_info_ms >= 0)
        f->retry_after_ms = h->retry_info_ms;
}

void rm__ai_classify_http(rm__ai_fail *f, int proto, int status, const char *body, size_t len, const char *retry_after,
                          const char *retry_after_ms, int64_t now_s)
{
    memset(f, 0, sizeof(*f));
    f->retry_after_ms = -1;
    if (retry_after_ms) {
        char *end;
        double d = strtod(retry_after_ms, &end);
        if (end != retry_after_ms && d >= 0)
            f->retry_after_ms = (int64_t)d;
    }
    if (f->retry_after_ms < 0)
        f->retry_after_ms = parse_retry_after(retry_after, now_s);
    int64_t header_ms = f->retry_after_ms;
    err_hints h = {.retry_info_ms = -1};
    json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *err = error_object(root);
    if (err)
        read_hints(&h, err);
    classify_status(f, proto, status, &h);
    if (f->retry_after_ms < 0)
        f->retry_after_ms = header_ms;
    json_decref(root);
}

void rm__ai_classify_transport(rm__ai_fail *f, int kind)
{
    memset(f, 0, sizeof(*f));
    f->retry_after_ms = -1;
    switch (kind) {
    case RM_TRANSPORT_ETIMEOUT:
        fail_set(f, RM_UPSTREAM_UNAVAILABLE, true, true, "the provider did not answer in time");
        break;
    case RM_TRANSPORT_ECONNECT:
        fail_set(f, RM_UPSTREAM_UNAVAILABLE, true, true, "could not connect to the provider");
        break;
    case RM_TRANSPORT_ERESET:
        fail_set(f, RM_UPSTREAM_UNAVAILABLE, true, true, "the connection to the provider broke");
        break;
    case RM_TRANSPORT_ETLS:
        fail_set(f, RM_UPSTREAM_UNAVAILABLE, false, true, "TLS with the provider failed");
        break;
    default:
        fail_set(f, RM_UPSTREAM_UNAVAILABLE, false, true, "the request to the provider failed");
        break;
    }
}

/* ---- answers ---- */

static void doc_fail(rm__ai_doc *d, int reason, bool retryable, bool counts, const char *what)
{
    d->failed = true;
    memset(&d->fail, 0, sizeof(d->fail));
    d->fail.retry_after_ms = -1;
    d->fail.http_status = 200;
    fail_set(&d->fail, reason, retryable, counts, what);
}

/* An error object inside a 2xx answer (OpenRouter's HTTP-200 errors, Gemini mid-stream errors). */
static void doc_error(rm__ai_doc *d, int proto, json_t *err)
{
    json_t *code = json_object_get(err, "code");
    int status = json_is_integer(code) ? (int)json_integer_value(code) : 0;
    if (json_is_string(code))
        status = atoi(json_string_value(code));
    if (status < 400)
        status = 502; /* unknown: treat as an upstream failure */
    err_hints h = {.retry_info_ms = -1};
    read_hints(&h, err);
    d->failed = true;
    memset(&d->fail, 0, sizeof(d->fail));
    d->fail.retry_after_ms = -1;
    classify_status(&d->fail, proto, status, &h);
}

static char *cat(char *a, const char *b)
{
    size_t la = a ? strlen(a) : 0, lb = strlen(b);
    char *r = realloc(a, la + lb + 1);
    if (!r) {
        free(a);
        return NULL;
    }
    memcpy(r + la, b, lb + 1);
    return r;
}

static void gemini_finish(rm__ai_doc *d, const char *fr)
{
    if (!fr)
        return;
    if (strcmp(fr, "STOP") == 0)
        d->finished = true;
    else if (strcmp(fr, "MAX_TOKENS") == 0)
        doc_fail(d, RM_UPSTREAM_BAD_RESPONSE, false, false, "the answer was cut off (MAX_TOKENS)");
    else if (strcmp(fr, "FINISH_REASON_UNSPECIFIED") == 0 || strcmp(fr, "MALFORMED_FUNCTION_CALL") == 0 ||
             strcmp(fr, "UNEXPECTED_TOOL_CALL") == 0 || strcmp(fr, "TOO_MANY_TOOL_CALLS") == 0)
        doc_fail(d, RM_UPSTREAM_BAD_RESPONSE, false, true, "the provider ended the answer abnormally");
    else /* SAFETY, RECITATION, LANGUAGE, OTHER, BLOCKLIST, PROHIBITED_CONTENT, SPII, IMAGE_SAFETY, … */
        doc_fail(d, RM_UPSTREAM_BLOCKED, false, false, "the provider refused the content");
}

static void gemini_doc(rm__ai_doc *d, json_t *root)
{
    if (json_is_array(root) && json_array_size(root) == 1)
        root = json_array_get(root, 0);
    json_t *fb = json_object_get(root, "promptFeedback");
    if (json_string_value(json_object_get(fb, "blockReason"))) {
        doc_fail(d, RM_UPSTREAM_BLOCKED, false, false, "the provider blocked the prompt");
        return;
    }
    json_t *cands = json_object_get(root, "candidates");
    if (!json_is_array(cands)) {
        if (!json_object_get(root, "usageMetadata"))
            doc_fail(d, RM_UPSTREAM_BAD_RESPONSE, false, true, "the provider's answer has no candidates");
        return;
    }
    json_t *c0 = json_array_get(cands, 0);
    json_t *parts = json_object_get(json_object_get(c0, "content"), "parts"), *p;
    size_t i;
    json_array_foreach(parts, i, p) {
        if (json_is_true(json_object_get(p, "thought")))
            continue;
        const char *t = json_string_value(json_object_get(p, "text"));
        if (t && !(d->text = cat(d->text, t)))
            return;
    }
    gemini_finish(d, json_string_value(json_object_get(c0, "finishReason")));
}

static void openai_doc(rm__ai_doc *d, int proto, json_t *root)
{
    json_t *c0 = json_array_get(json_object_get(root, "choices"), 0);
    if (!c0) {
        if (!json_is_array(json_object_get(root, "choices")))
            doc_fail(d, RM_UPSTREAM_BAD_RESPONSE, false, true, "the provider's answer has no choices");
        return; /* a usage-only stream chunk */
    }
    json_t *msg = json_object_get(c0, "message");
    if (!msg)
        msg = json_object_get(c0, "delta");
    const char *t = json_string_value(json_object_get(msg, "content"));
    if (t && !(d->text = cat(d->text, t)))
        return;
    json_t *cerr = json_object_get(c0, "error");
    const char *fr = json_string_value(json_object_get(c0, "finish_reason"));
    if (json_is_object(cerr) || (fr && strcmp(fr, "error") == 0)) {
        if (json_is_object(cerr))
            doc_error(d, proto, cerr);
        else
            doc_fail(d, RM_UPSTREAM_UNAVAILABLE, true, true, "the provider failed while answering");
        return;
    }
    if (!fr)
        return;
    if (strcmp(fr, "stop") == 0)
        d->finished = true;
    else if (strcmp(fr, "length") == 0)
        doc_fail(d, RM_UPSTREAM_BAD_RESPONSE, false, false, "the answer was cut off (length)");
    else if (strcmp(fr, "content_filter") == 0)
        doc_fail(d, RM_UPSTREAM_BLOCKED, false, false, "the provider refused the content");
    else
        doc_fail(d, RM_UPSTREAM_BAD_RESPONSE, false, true, "the provider ended the answer abnormally");
}

void rm__ai_parse_doc(rm__ai_doc *d, int proto, const char *json, size_t len)
{
    memset(d, 0, sizeof(*d));
    d->text = strdup("");
    json_t *root = json_loadb(json, len, 0, NULL);
    if (!root) {
        doc_fail(d, RM_UPSTREAM_BAD_RESPONSE, false, true, "the provider's answer is not valid JSON");
        return;
    }
    json_t *err = error_object(root);
    if (err)
        doc_error(d, proto, err);
    else if (proto == RM__GEMINI)
        gemini_doc(d, root);
    else
        openai_doc(d, proto, root);
    json_decref(root);
    if (!d->text && !d->failed)
        doc_fail(d, RM_UPSTREAM_BAD_RESPONSE, false, false, "out of memory reading the answer");
}

/* ---- server-sent events ---- */

static int sse_dispatch(rm__sse *s, rm__sse_event_fn fn, void *arg)
{
    if (!s->has_data)
        return 0;
    s->has_data = false;
    size_t n = s->data_len;
    s->data_len = 0;
    return fn(arg, s->data, n);
}

static int sse_line(rm__sse *s, const char *line, size_t n, rm__sse_event_fn fn, void *arg)
{
    if (n == 0)
        return sse_dispatch(s, fn, arg);
    if (line[0] == ':') /* comment / keep-alive */
        return 0;
    if (n >= 5 && memcmp(line, "data:", 5) == 0) {
        const char *v = line + 5;
        size_t vn = n - 5;
        if (vn && *v == ' ') {
            v++;
            vn--;
        }
        if (s->has_data && rm__buf_append(&s->data, &s->data_len, &s->data_cap, "\n", 1))
            return -1;
        if (rm__buf_append(&s->data, &s->data_len, &s->data_cap, v, vn))
            return -1;
        if (!s->data) /* empty first data line */
            if (rm__buf_append(&s->data, &s->data_len, &s->data_cap, "", 0))
                return -1;
        s->has_data = true;
        return 0;
    }
    const char *colon = memchr(line, ':', n);
    bool field = colon && (size_t)(colon - line) <= 5 && line[0] != '{' && line[0] != '[' && line[0] != '"';
    if (field) /* event:, id:, retry: */
        return 0;
    /* Not SSE at all: keep it (Gemini may send a bare JSON error on the stream). */
    if (rm__buf_append(&s->raw, &s->raw_len, &s->raw_cap, line, n) || rm__buf_append(&s->raw, &s->raw_len, &s->raw_cap, "\n", 1))
        return -1;
    return 0;
}

int rm__sse_feed(rm__sse *s, const char *buf, size_t len, rm__sse_event_fn fn, void *arg)
{
    for (size_t i = 0; i < len; i++) {
        char ch = buf[i];
        if (ch == '\n') {
            size_t n = s->line_len;
            if (n && s->line[n - 1] == '\r')
                n--;
            int rc = sse_line(s, s->line ? s->line : "", n, fn, arg);
            s->line_len = 0;
            if (rc)
                return rc;
        } else if (rm__buf_append(&s->line, &s->line_len, &s->line_cap, &ch, 1)) {
            return -1;
        }
    }
    return 0;
}

int rm__sse_finish(rm__sse *s, rm__sse_event_fn fn, void *arg)
{
    if (s->line_len) {
        int rc = sse_line(s, s->line, s->line_len, fn, arg);
        s->line_len = 0;
        if (rc)
            return rc;
    }
    return sse_dispatch(s, fn, arg);
}

void rm__sse_clear(rm__sse *s)
{
    free(s->line);
    free(s->data);
    free(s->raw);
    memset(s, 0, sizeof(*s));
}
