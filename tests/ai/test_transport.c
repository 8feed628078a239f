/* The transport: the libcurl multi backend against the fake provider on 127.0.0.1, the synchronous
 * helper, cancellation, transport errors, streaming, and many requests in flight on few threads. */
#include "fake.h"
#include "rm_test.h"

#include <pthread.h>
#include <resumate/resumate.h>

static rm_transport *tp;
static void *allocated[8]; /* test-side state, freed once the transport has stopped */
static int nallocated;

static void setup(void)
{
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    fake_start();
    cr_assert_eq(rm_transport_new_curl(&tp), RM_OK);
}

static void teardown(void)
{
    rm_transport_free(tp);
    for (int i = 0; i < nallocated; i++)
        free(allocated[i]);
    fake_stop();
}

TestSuite(transport, .init = setup, .fini = teardown, .timeout = 30);

static rm_transport_request post_to(const char *path, const char *body)
{
    static char url[256];
    snprintf(url, sizeof(url), "%s%s", fake.base, path);
    rm_transport_request r = RM_TRANSPORT_REQUEST_INIT;
    r.method = "POST";
    r.url = url;
    r.body = body;
    r.body_len = strlen(body);
    return r;
}

Test(transport, perform_returns_status_and_body)
{
    const char *hdrs[] = {"Content-Type: application/json", "x-goog-api-key: test-key-1"};
    rm_transport_request r = post_to("/v1beta/models/m1:generateContent", "{}");
    r.headers = hdrs;
    r.header_count = 2;
    int status = 0;
    char *body = NULL;
    size_t len = 0;
    cr_assert_eq(rm_transport_perform(&status, &body, &len, tp, &r), RM_OK);
    cr_assert_eq(status, 200);
    cr_assert_eq(strlen(body), len);
    cr_assert(strstr(body, "Jane Doe"));
    rm_free(body);
    json_t *log = fake_log();
    json_t *h = json_object_get(json_array_get(log, 0), "headers");
    cr_assert_str_eq(json_string_value(json_object_get(h, "x-goog-api-key")), "test-key-1");
    json_decref(log);
}

Test(transport, perform_reports_http_errors_as_responses)
{
    fake_script("*", "[{\"status\": 503}]");
    rm_transport_request r = post_to("/v1beta/models/m1:generateContent", "{}");
    int status = 0;
    char *body = NULL;
    cr_assert_eq(rm_transport_perform(&status, &body, NULL, tp, &r), RM_OK);
    cr_assert_eq(status, 503);
    cr_assert(strstr(body, "UNAVAILABLE"));
    rm_free(body);
}

Test(transport, connection_reset_is_a_transport_error)
{
    fake_script("*", "[{\"kind\": \"reset\"}]");
    rm_transport_request r = post_to("/v1beta/models/m1:generateContent", "{}");
    int status = -1;
    cr_assert_eq(rm_transport_perform(&status, NULL, NULL, tp, &r), RM_EUPSTREAM);
    cr_assert_eq(status, 0);
    cr_assert_eq(rm_error_reason(rm_error_last()), RM_UPSTREAM_UNAVAILABLE);
}

Test(transport, total_timeout_expires)
{
    fake_script("*", "[{\"delay\": 3}]");
    rm_transport_request r = post_to("/v1beta/models/m1:generateContent", "{}");
    r.timeout_ms = 200;
    cr_assert_eq(rm_transport_perform(NULL, NULL, NULL, tp, &r), RM_ETIMEOUT);
}

Test(transport, refused_connection_is_a_connect_error)
{
    rm_transport_request r = RM_TRANSPORT_REQUEST_INIT;
    r.url = "http://127.0.0.1:1/nothing"; /* port 1: nothing listens */
    cr_assert_eq(rm_transport_perform(NULL, NULL, NULL, tp, &r), RM_EUPSTREAM);
}

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, canceled, ok, kinds[8];
    int statuses[1024];
    char streamed[4096];
    size_t streamed_len;
    char retry_after[32];
} collector;

static collector *collector_new(void)
{
    collector *c = calloc(1, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    allocated[nallocated++] = c;
    return c;
}

static void collect_done(void *ud, const rm_transport_response *r)
{
    collector *c = ud;
    pthread_mutex_lock(&c->mu);
    if (r->error_kind >= 0 && r->error_kind < 8)
        c->kinds[r->error_kind]++;
    if (r->error_kind == RM_TRANSPORT_OK)
        c->ok++;
    const char *ra = rm_transport_response_header(r, "Retry-After");
    if (ra)
        snprintf(c->retry_after, sizeof(c->retry_after), "%s", ra);
    c->done++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void wait_done(collector *c, int n)
{
    pthread_mutex_lock(&c->mu);
    while (c->done < n)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

Test(transport, response_headers_reach_the_callback)
{
    fake_script("*", "[{\"status\": 429, \"retry_after\": 7}]");
    collector *c = collector_new();
    rm_transport_request r = post_to("/api/v1/chat/completions", "{\"model\": \"a/b\"}");
    cr_assert_eq(rm_transport_submit(tp, &r, NULL, collect_done, c, NULL), RM_OK);
    wait_done(c, 1);
    cr_assert_str_eq(c->retry_after, "7");
}

Test(transport, cancel_completes_once_with_cancelled_and_aborts_the_request)
{
    fake_script("*", "[{\"delay\": 5}]");
    collector *c = collector_new();
    rm_transport_request r = post_to("/v1beta/models/m1:generateContent", "{}");
    uint64_t id = 0;
    cr_assert_eq(rm_transport_submit(tp, &r, NULL, collect_done, c, &id), RM_OK);
    cr_assert_neq(id, 0);
    cr_assert(fake_wait_count(1));
    cr_assert_eq(rm_transport_cancel(tp, id), RM_OK);
    wait_done(c, 1);
    cr_assert_eq(c->kinds[RM_TRANSPORT_ECANCELED], 1);
    cr_assert_eq(rm_transport_cancel(tp, id), RM_OK); /* after completion: a no-op */
    usleep(300000);
    cr_assert_eq(c->done, 1, "the completion callback ran more than once");
    /* the fake saw the client go away before its 5 s delay ended */
    bool closed = false;
    for (int i = 0; i < 100 && !closed; i++) {
        json_t *log = fake_log();
        closed = strcmp(json_string_value(json_object_get(json_array_get(log, 0), "outcome")), "client_closed") == 0;
        json_decref(log);
        if (!closed)
            usleep(20000);
    }
    cr_assert(closed, "the provider request was not aborted");
}

Test(transport, cancels_reach_every_request_whichever_thread_runs_it)
{
    /* Requests are spread over the backend's threads by id: cancelling each must still find it. */
    enum { N = 8 };
    fake_default("{\"delay\": 5}");
    collector *c = collector_new();
    uint64_t ids[N];
    for (int i = 0; i < N; i++) {
        rm_transport_request r = post_to("/v1beta/models/m1:generateContent", "{}");
        cr_assert_eq(rm_transport_submit(tp, &r, NULL, collect_done, c, &ids[i]), RM_OK);
        for (int j = 0; j < i; j++)
            cr_assert_neq(ids[i], ids[j], "two requests got the same id");
    }
    cr_assert(fake_wait_count(N), "the requests did not all reach the provider");
    for (int i = 0; i < N; i++)
        cr_assert_eq(rm_transport_cancel(tp, ids[i]), RM_OK);
    wait_done(c, N);
    cr_assert_eq(c->kinds[RM_TRANSPORT_ECANCELED], N);
    usleep(200000);
    cr_assert_eq(c->done, N, "a completion callback ran more than once");
}

Test(transport, answers_keep_coming_after_a_quiet_spell)
{
    /* The backend sleeps in epoll between requests; a request submitted later must wake it. */
    collector *c = collector_new();
    for (int i = 0; i < 3; i++) {
        rm_transport_request r = post_to("/v1beta/models/m1:generateContent", "{}");
        cr_assert_eq(rm_transport_submit(tp, &r, NULL, collect_done, c, NULL), RM_OK);
        wait_done(c, i + 1);
        usleep(150000);
    }
    cr_assert_eq(c->ok, 3);
}

static int collect_data(void *ud, int status, const char *data, size_t len)
{
    collector *c = ud;
    cr_assert_eq(status, 200);
    if (c->streamed_len + len < sizeof(c->streamed)) {
        memcpy(c->streamed + c->streamed_len, data, len);
        c->streamed_len += len;
    }
    return 0;
}

Test(transport, streaming_hands_the_body_over_in_pieces)
{
    fake_script("*", "[{\"chunks\": [\"one \", \"two \", \"three\"], \"drip\": 0.05}]");
    collector *c = collector_new();
    rm_transport_request r = post_to("/api/v1/chat/completions", "{\"model\": \"a/b\", \"stream\": true}");
    cr_assert_eq(rm_transport_submit(tp, &r, collect_data, collect_done, c, NULL), RM_OK);
    wait_done(c, 1);
    cr_assert_eq(c->ok, 1);
    cr_assert(strstr(c->streamed, ": OPENROUTER PROCESSING"));
    cr_assert(strstr(c->streamed, "data: [DONE]"));
    cr_assert(strstr(c->streamed, "\"three\""));
}

static int abort_data(void *ud, int status, const char *data, size_t len) { return 1; }

Test(transport, a_data_callback_can_abort)
{
    collector *c = collector_new();
    rm_transport_request r = post_to("/api/v1/chat/completions", "{\"model\": \"a/b\", \"stream\": true}");
    cr_assert_eq(rm_transport_submit(tp, &r, abort_data, collect_done, c, NULL), RM_OK);
    wait_done(c, 1);
    cr_assert_eq(c->kinds[RM_TRANSPORT_ECANCELED], 1);
}

static int thread_count(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

Test(transport, many_requests_in_flight_need_no_extra_threads)
{
    enum { N = 200 };
    fake_default("{\"delay\": 0.5}");
    collector *c = collector_new();
    int before = thread_count();
    for (int i = 0; i < N; i++) {
        rm_transport_request r = post_to("/v1beta/models/m1:generateContent", "{}");
        cr_assert_eq(rm_transport_submit(tp, &r, NULL, collect_done, c, NULL), RM_OK);
    }
    cr_assert(fake_wait_count(N / 2), "requests did not arrive concurrently");
    int during = thread_count();
    wait_done(c, N);
    cr_assert_eq(c->ok, N);
    cr_assert_leq(during, before, "threads grew from %d to %d with requests in flight", before, during);
}

Test(transport, vtable_version_is_checked)
{
    rm_transport_vtable vt;
    cr_assert_eq(rm_transport_vtable_init(&vt, RM_TRANSPORT_VTABLE_VERSION), RM_OK);
    rm_transport *t = NULL;
    cr_assert_eq(rm_transport_new(&t, &vt, NULL), RM_EMISUSE); /* no submit member */
    vt.version = RM_TRANSPORT_VTABLE_VERSION + 1;
    cr_assert_eq(rm_transport_new(&t, &vt, NULL), RM_EVERSION);
    rm_transport_request r;
    cr_assert_eq(rm_transport_request_init(&r, 99), RM_EVERSION);
}
