/*
 * custom_transport.c — an application that routes libresumate's AI provider calls through its own
 * HTTP transport.
 *
 * The transport here, plugged in through rm_transport_vtable (<resumate/transport.h>), never touches
 * the network: it records every request (method, URL, header names, body size) and answers from a
 * fixture, a canned OpenAI-compatible chat completion, from a thread of its own (a transport's
 * callbacks run on the transport's thread). A streamed request (one submitted with a data callback)
 * gets the same answer as a server-sent event stream. The same shape fits a transport built on an
 * application's existing HTTP client, a test double, or a recorder/replayer.
 *
 * Flow: register an `openai_compatible` AI model whose base URL points nowhere real, generate a resume
 * with the synchronous rm_ai_generate() through a ctx using this transport, print the saved resume's
 * id and content, generate once more with rm_ai_generate_async() and streamed chunks, then print the
 * recorded requests. Header values are never printed: the Authorization header carries the API key.
 * Every step is checked; the program exits non-zero on any failure.
 *
 * Build against an installed library:
 *   cc -std=c11 -pthread custom_transport.c $(pkg-config --cflags --libs resumate)
 */
#define _POSIX_C_SOURCE 200809L

#include <resumate/resumate.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_VAR "RESUMATE_EXAMPLE_API_KEY"
#define KEY_VALUE "example-key-only-for-this-program"

/* The fixture: what an OpenAI-compatible server answers to POST {base_url}/chat/completions. */
static const char FIXTURE_JSON[] =
    "{\"id\":\"chatcmpl-fixture\",\"object\":\"chat.completion\",\"created\":1753000000,\"model\":\"llama-3\","
    "\"choices\":[{\"index\":0,\"finish_reason\":\"stop\",\"message\":{\"role\":\"assistant\",\"content\":"
    "\"# Jane Doe\\n\\nBackend engineer: C11, PostgreSQL, HTTP services.\"}}],"
    "\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":14,\"total_tokens\":134}}";
/* The same answer streamed (stream: true), as two server-sent events and the end marker. */
static const char *const FIXTURE_SSE[] = {
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"# Jane Doe\\n\\n\"}}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Backend engineer: C11, PostgreSQL, HTTP services.\"},"
    "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
};
static const char EXPECTED[] = "# Jane Doe\n\nBackend engineer: C11, PostgreSQL, HTTP services.";

/* ---------------------------------------------------------------------------------------------- */
/* The transport                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

/* What is remembered of a request: never a header value. */
typedef struct recorded {
    char *method, *url;
    char **header_names;
    size_t header_count;
    size_t body_len;
    int streamed;
    int authorization_ok; /* the Authorization value was "Bearer <the key>" (checked, never printed) */
} recorded;

/* A request waiting for the worker thread. */
typedef struct pending {
    uint64_t id;
    rm_transport_data_fn on_data;
    rm_transport_done_fn on_done;
    void *userdata;
    int canceled;
    struct pending *next;
} pending;

typedef struct fixture_transport {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    pending *head, *tail; /* FIFO of accepted requests */
    int stopping;
    uint64_t next_id;
    recorded *log;
    size_t nlog, caplog;
} fixture_transport;

static void complete(const pending *p, int error_kind, const char *message)
{
    static const char *const headers[] = {"Content-Type: application/json", "X-Fixture: yes"};
    static const char *const sse_headers[] = {"Content-Type: text/event-stream"};
    rm_transport_response r = {.version = RM_TRANSPORT_RESPONSE_VERSION, .error_kind = error_kind,
                               .error_message = message, .body = ""};
    if (error_kind == RM_TRANSPORT_OK) {
        r.status = 200;
        if (p->on_data) {
            r.headers = sse_headers;
            r.header_count = 1;
            /* Streamed: the body goes to the data callback in pieces; a non-zero return aborts. */
            for (size_t i = 0; i < sizeof FIXTURE_SSE / sizeof FIXTURE_SSE[0]; i++) {
                if (p->on_data(p->userdata, 200, FIXTURE_SSE[i], strlen(FIXTURE_SSE[i])) != 0) {
                    r = (rm_transport_response){.version = RM_TRANSPORT_RESPONSE_VERSION,
                                                .error_kind = RM_TRANSPORT_ECANCELED,
                                                .error_message = "aborted by the data callback", .body = ""};
                    break;
                }
            }
        } else {
            r.headers = headers;
            r.header_count = 2;
            r.body = FIXTURE_JSON;
            r.body_len = strlen(FIXTURE_JSON);
        }
    }
    p->on_done(p->userdata, &r);
}

/* The transport's thread: answer requests in order; on close, cancel whatever is left. */
static void *worker(void *arg)
{
    fixture_transport *t = arg;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (!t->head && !t->stopping)
            pthread_cond_wait(&t->cv, &t->mu);
        if (!t->head)
            break;
        pending *p = t->head;
        t->head = p->next;
        if (!t->head)
            t->tail = NULL;
        int canceled = p->canceled || t->stopping;
        /* Never hold the lock while calling back: a completion callback may submit a new request. */
        pthread_mutex_unlock(&t->mu);
        if (canceled)
            complete(p, RM_TRANSPORT_ECANCELED, "canceled");
        else
            complete(p, RM_TRANSPORT_OK, "");
        free(p);
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static void recorded_clear(recorded *r)
{
    free(r->method);
    free(r->url);
    for (size_t i = 0; i < r->header_count; i++)
        free(r->header_names[i]);
    free(r->header_names);
}

/* Copy what the log keeps of a request: method, URL, header names (up to the colon). 0 on success. */
static int record(recorded *r, const rm_transport_request *req, int streamed)
{
    memset(r, 0, sizeof *r);
    r->method = strdup(req->method ? req->method : req->body ? "POST" : "GET");
    r->url = strdup(req->url);
    r->header_names = calloc(req->header_count ? req->header_count : 1, sizeof *r->header_names);
    r->body_len = req->body_len;
    r->streamed = streamed;
    if (!r->method || !r->url || !r->header_names)
        return -1;
    for (size_t i = 0; i < req->header_count; i++) {
        const char *h = req->headers[i], *colon = strchr(h, ':');
        size_t n = colon ? (size_t)(colon - h) : strlen(h);
        if (!(r->header_names[i] = malloc(n + 1)))
            return -1;
        memcpy(r->header_names[i], h, n);
        r->header_names[i][n] = 0;
        r->header_count = i + 1;
        if (colon && strncmp(h, "Authorization", n) == 0 && n == strlen("Authorization"))
            r->authorization_ok = strcmp(colon + 1, " Bearer " KEY_VALUE) == 0;
    }
    return 0;
}

static int ft_submit(void *self, const rm_transport_request *req, rm_transport_data_fn on_data,
                     rm_transport_done_fn on_done, void *userdata, uint64_t *id_out)
{
    fixture_transport *t = self;
    pending *p = calloc(1, sizeof *p);
    if (!p)
        return RM_ENOMEM;
    p->on_data = on_data;
    p->on_done = on_done;
    p->userdata = userdata;
    pthread_mutex_lock(&t->mu);
    if (t->stopping) {
        pthread_mutex_unlock(&t->mu);
        free(p);
        return RM_ERROR;
    }
    if (t->nlog == t->caplog) {
        size_t ncap = t->caplog ? t->caplog * 2 : 4;
        recorded *nl = realloc(t->log, ncap * sizeof *nl);
        if (!nl) {
            pthread_mutex_unlock(&t->mu);
            free(p);
            return RM_ENOMEM;
        }
        t->log = nl;
        t->caplog = ncap;
    }
    if (record(&t->log[t->nlog], req, on_data != NULL)) {
        recorded_clear(&t->log[t->nlog]);
        pthread_mutex_unlock(&t->mu);
        free(p);
        return RM_ENOMEM;
    }
    t->nlog++;
    /* Accepted: on_done will run exactly once, on the worker thread. */
    p->id = *id_out = ++t->next_id;
    if (t->tail)
        t->tail->next = p;
    else
        t->head = p;
    t->tail = p;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return RM_OK;
}

static int ft_cancel(void *self, uint64_t id)
{
    fixture_transport *t = self;
    pthread_mutex_lock(&t->mu);
    for (pending *p = t->head; p; p = p->next)
        if (p->id == id)
            p->canceled = 1; /* the worker completes it with RM_TRANSPORT_ECANCELED */
    pthread_mutex_unlock(&t->mu);
    return RM_OK; /* already completed: a no-op */
}

static void ft_close(void *self)
{
    fixture_transport *t = self;
    pthread_mutex_lock(&t->mu);
    t->stopping = 1; /* the worker cancels what is still queued, then exits */
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    for (size_t i = 0; i < t->nlog; i++)
        recorded_clear(&t->log[i]);
    free(t->log);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static const rm_transport_vtable fixture_vtable = {
    .version = RM_TRANSPORT_VTABLE_VERSION,
    .close = ft_close,
    .submit = ft_submit,
    .cancel = ft_cancel,
};

static int fixture_transport_new(rm_transport **out, fixture_transport **state)
{
    fixture_transport *t = calloc(1, sizeof *t);
    if (!t)
        return RM_ENOMEM;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    if (pthread_create(&t->thread, NULL, worker, t) != 0) {
        pthread_cond_destroy(&t->cv);
        pthread_mutex_destroy(&t->mu);
        free(t);
        return RM_ERROR;
    }
    int rc = rm_transport_new(out, &fixture_vtable, t);
    if (rc != RM_OK)
        ft_close(t);
    else
        *state = t;
    return rc;
}

/* ---------------------------------------------------------------------------------------------- */
/* The application                                                                                 */
/* ---------------------------------------------------------------------------------------------- */

static int report(const char *what, int rc)
{
    const rm_error *err = rm_error_last();
    fprintf(stderr, "%s failed: %s: %s\n", what, rm_status_name(rc), rm_error_message(err));
    char *fields = NULL;
    if (rm_error_field_count(err) > 0 && rm_error_fields_json(&fields, err) == RM_OK)
        fprintf(stderr, "  field errors: %s\n", fields);
    rm_free(fields);
    return rc;
}

#define CHECK(call)                          \
    do {                                     \
        int rc_ = (call);                    \
        if (rc_ != RM_OK) {                  \
            report(#call, rc_);              \
            goto done;                       \
        }                                    \
    } while (0)

#define EXPECT(cond)                                            \
    do {                                                        \
        if (!(cond)) {                                          \
            fprintf(stderr, "unexpected: %s\n", #cond);         \
            goto done;                                          \
        }                                                       \
    } while (0)

/* The asynchronous generation's outcome, filled by the callbacks (which run on other threads). */
typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char text[512]; /* streamed chunks, concatenated */
    size_t len;
    size_t chunks;
    int done, status;
    rm_ai_result *result;
    char message[256];
} waiter;

static int on_chunk(void *userdata, const char *text, size_t len)
{
    waiter *w = userdata;
    pthread_mutex_lock(&w->mu);
    size_t n = len < sizeof w->text - 1 - w->len ? len : sizeof w->text - 1 - w->len;
    memcpy(w->text + w->len, text, n);
    w->len += n;
    w->text[w->len] = 0;
    w->chunks++;
    pthread_mutex_unlock(&w->mu);
    return 0;
}

static void on_done(void *userdata, int status, rm_ai_result *result, const rm_error *error)
{
    waiter *w = userdata;
    pthread_mutex_lock(&w->mu);
    w->status = status;
    w->result = result; /* ours now: freed by main */
    snprintf(w->message, sizeof w->message, "%s", error ? rm_error_message(error) : "");
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int main(void)
{
    int status = EXIT_FAILURE;
    rm_transport *transport = NULL;
    fixture_transport *ft = NULL;
    rm_ctx *ctx = NULL;
    rm_fields *in = NULL;
    rm_ai_model *model = NULL;
    rm_principal *who = NULL;
    rm_ai_result *res = NULL;
    rm_ai_job *job = NULL;
    char *json = NULL;
    waiter w = {.done = 0};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);

    /* The model's API key comes from the environment variable the model names. */
    if (setenv(KEY_VAR, KEY_VALUE, 1) != 0) {
        perror("setenv");
        return EXIT_FAILURE;
    }
    printf("libresumate %s with a recording fixture transport of this program's own\n", rm_version());
    CHECK(fixture_transport_new(&transport, &ft));
    rm_ctx_options opts = RM_CTX_OPTIONS_INIT;
    opts.transport = transport; /* borrowed: free the ctx first, then the transport */
    opts.storage_url = ":memory:";
    CHECK(rm_ctx_new(&ctx, &opts));

    /* An OpenAI-compatible model; the transport answers, so the base URL is never connected to. */
    CHECK(rm_fields_new(&in));
    CHECK(rm_fields_set_string(in, "display_name", "Local Llama"));
    CHECK(rm_fields_set_string(in, "model_name", "llama-3"));
    CHECK(rm_fields_set_string(in, "api_provider", "openai_compatible"));
    CHECK(rm_fields_set_string(in, "api_key_name", KEY_VAR));
    CHECK(rm_fields_set_string(in, "base_url", "http://models.example.invalid/v1"));
    CHECK(rm_ai_model_create(&model, ctx, in));
    rm_fields_free(in);
    in = NULL;
    printf("registered model \"%s\" (%s, %s)\n", rm_ai_model_display_name(model), rm_ai_model_api_provider(model),
           rm_ai_model_base_url(model));

    /* Synchronous generation, as an anonymous caller (the resume is saved for `anonymous_user`). */
    CHECK(rm_principal_anonymous(&who));
    CHECK(rm_fields_new(&in));
    CHECK(rm_fields_set_string(in, "model", "local llama")); /* display names match case-insensitively */
    CHECK(rm_fields_set_string(in, "user_input",
                               "Jane Doe, backend engineer, eight years of C11, PostgreSQL and HTTP services."));
    CHECK(rm_fields_set_string(in, "title", "Jane's resume"));
    CHECK(rm_ai_generate(&res, ctx, who, in, NULL));
    printf("saved resume %lld \"%s\" from model %s:\n%s\n", (long long)rm_ai_result_resume_id(res),
           rm_ai_result_title(res), rm_ai_result_model(res), rm_ai_result_content(res));
    CHECK(rm_ai_result_to_json(&json, res));
    printf("REST answer: %s\n", json);
    EXPECT(strcmp(rm_ai_result_content(res), EXPECTED) == 0 && rm_ai_result_resume_id(res) > 0);

    /* The same, asynchronously and streamed: chunks and the outcome arrive on other threads. */
    CHECK(rm_ai_generate_async(&job, ctx, who, in, NULL, on_chunk, on_done, &w));
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    rm_ai_job_free(job);
    job = NULL;
    if (w.status != RM_OK) {
        fprintf(stderr, "asynchronous generation failed: %s: %s\n", rm_status_name(w.status), w.message);
        goto done;
    }
    printf("streamed resume %lld in %zu chunk(s): %zu bytes\n", (long long)rm_ai_result_resume_id(w.result), w.chunks,
           w.len);
    EXPECT(strcmp(w.text, EXPECTED) == 0 && strcmp(rm_ai_result_content(w.result), EXPECTED) == 0);
    EXPECT(rm_ai_result_resume_id(w.result) != rm_ai_result_resume_id(res));

    /* What went over the "wire". Header names only: values may hold secrets (the API key). */
    pthread_mutex_lock(&ft->mu);
    size_t nlog = ft->nlog;
    int auth_ok = nlog == 2;
    for (size_t i = 0; i < nlog; i++) {
        const recorded *r = &ft->log[i];
        printf("request %zu: %s %s (%zu-byte body%s)\n  headers:", i + 1, r->method, r->url, r->body_len,
               r->streamed ? ", streamed" : "");
        for (size_t j = 0; j < r->header_count; j++)
            printf(" %s", r->header_names[j]);
        printf("\n");
        auth_ok = auth_ok && r->authorization_ok && strcmp(r->method, "POST") == 0 &&
                  strcmp(r->url, "http://models.example.invalid/v1/chat/completions") == 0;
    }
    pthread_mutex_unlock(&ft->mu);
    EXPECT(auth_ok);
    printf("every request went to {base_url}/chat/completions with the key from %s (value not shown)\n", KEY_VAR);
    status = EXIT_SUCCESS;

done:
    rm_ai_job_free(job);
    rm_ai_result_free(w.result);
    rm_free(json);
    rm_ai_result_free(res);
    rm_principal_free(who);
    rm_ai_model_free(model);
    rm_fields_free(in);
    rm_ctx_free(ctx);
    rm_transport_free(transport); /* calls ft_close(): pending requests are canceled, the thread joined */
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    puts(status == EXIT_SUCCESS ? "done" : "FAILED");
    return status;
}
