/*
 * Prometheus metrics: requests by route and status, a latency histogram per route, requests in
 * flight, throttled requests by scope. Lock-free relaxed atomic counters; /metrics renders them.
 */
#include "server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES 64
static const unsigned status_codes[] = { 200, 201, 204, 301, 400, 401, 403, 404, 405, 406,
                                         408, 413, 414, 415, 429, 431, 500, 503 };
#define NSTATUS (sizeof status_codes / sizeof status_codes[0] + 1) /* last: other */
static const double bucket_le[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                    0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define NBUCKETS (sizeof bucket_le / sizeof bucket_le[0])

/* Index MAX_ROUTES - 1 collects unmatched paths. */
static atomic_ulong requests[MAX_ROUTES][NSTATUS];
static atomic_ulong other_status_code[MAX_ROUTES];
static atomic_ulong hist[MAX_ROUTES][NBUCKETS + 1];
static atomic_ulong hist_sum_ns[MAX_ROUTES];
static atomic_ulong throttled[SCOPE_COUNT];

static size_t status_index(unsigned status)
{
    for (size_t i = 0; i < NSTATUS - 1; i++)
        if (status_codes[i] == status)
            return i;
    return NSTATUS - 1;
}

void srv_metrics_observe(int route_index, unsigned status, int64_t duration_ns)
{
    int r = (route_index < 0 || route_index >= MAX_ROUTES - 1) ? MAX_ROUTES - 1 : route_index;
    size_t si = status_index(status);
    atomic_fetch_add_explicit(&requests[r][si], 1, memory_order_relaxed);
    if (si == NSTATUS - 1)
        atomic_store_explicit(&other_status_code[r], status, memory_order_relaxed);
    double secs = (double)duration_ns / 1e9;
    size_t b = 0;
    while (b < NBUCKETS && secs > bucket_le[b])
        b++;
    atomic_fetch_add_explicit(&hist[r][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&hist_sum_ns[r], (unsigned long)(duration_ns > 0 ? duration_ns : 0),
                              memory_order_relaxed);
}

void srv_metrics_throttled(int scope)
{
    if (scope >= 0 && scope < SCOPE_COUNT)
        atomic_fetch_add_explicit(&throttled[scope], 1, memory_order_relaxed);
}

struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 8192;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            return;
        b->p = np;
        b->cap = cap;
    }
}

static const char *route_label(int r)
{
    if (r == MAX_ROUTES - 1 || (size_t)r >= srv_route_count)
        return "unmatched";
    return srv_routes[r].pattern;
}

char *srv_metrics_render(struct srv *s, size_t *len)
{
    struct buf b = { 0 };
    put(&b, "# HELP resumate_http_requests_total HTTP requests answered, by route and status.\n"
            "# TYPE resumate_http_requests_total counter\n");
    for (int r = 0; r < MAX_ROUTES; r++) {
        for (size_t si = 0; si < NSTATUS; si++) {
            unsigned long n = atomic_load_explicit(&requests[r][si], memory_order_relaxed);
            if (!n)
                continue;
            unsigned code = si < NSTATUS - 1 ? status_codes[si]
                                             : (unsigned)atomic_load_explicit(&other_status_code[r],
                                                                              memory_order_relaxed);
            put(&b, "resumate_http_requests_total{route=\"%s\",status=\"%u\"} %lu\n", route_label(r), code, n);
        }
    }
    put(&b, "# HELP resumate_http_request_duration_seconds Time from the request's arrival to its answer.\n"
            "# TYPE resumate_http_request_duration_seconds histogram\n");
    for (int r = 0; r < MAX_ROUTES; r++) {
        unsigned long total = 0, counts[NBUCKETS + 1];
        for (size_t i = 0; i <= NBUCKETS; i++) {
            counts[i] = atomic_load_explicit(&hist[r][i], memory_order_relaxed);
            total += counts[i];
        }
        if (!total)
            continue;
        unsigned long cum = 0;
        for (size_t i = 0; i < NBUCKETS; i++) {
            cum += counts[i];
            put(&b, "resumate_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lu\n", route_label(r),
                bucket_le[i], cum);
        }
        put(&b, "resumate_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n", route_label(r),
            total);
        put(&b, "resumate_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n", route_label(r),
            (double)atomic_load_explicit(&hist_sum_ns[r], memory_order_relaxed) / 1e9);
        put(&b, "resumate_http_request_duration_seconds_count{route=\"%s\"} %lu\n", route_label(r), total);
    }
    put(&b, "# HELP resumate_http_requests_in_flight Requests received and not yet answered.\n"
            "# TYPE resumate_http_requests_in_flight gauge\n"
            "resumate_http_requests_in_flight %ld\n",
        atomic_load(&s->in_flight));
    static const char *scope_names[SCOPE_COUNT] = { "anon", "user", "auth" };
    put(&b, "# HELP resumate_http_requests_throttled_total Requests refused with 429, by throttle scope.\n"
            "# TYPE resumate_http_requests_throttled_total counter\n");
    for (int i = 0; i < SCOPE_COUNT; i++)
        put(&b, "resumate_http_requests_throttled_total{scope=\"%s\"} %lu\n", scope_names[i],
            atomic_load_explicit(&throttled[i], memory_order_relaxed));
    put(&b, "# HELP resumate_worker_jobs_pending Jobs (password hashing, AI calls) queued or running.\n"
            "# TYPE resumate_worker_jobs_pending gauge\n"
            "resumate_worker_jobs_pending %ld\n",
        srv_pool_pending());
    long refused = 0, gone = 0;
    srv_pool_counts(&refused, &gone);
    put(&b, "# HELP resumate_worker_jobs_dropped_total Hashing requests not hashed: refused with 503 (queue_full),\n"
            "# or dropped from the queue because the client had left (client_gone).\n"
            "# TYPE resumate_worker_jobs_dropped_total counter\n"
            "resumate_worker_jobs_dropped_total{reason=\"queue_full\"} %ld\n"
            "resumate_worker_jobs_dropped_total{reason=\"client_gone\"} %ld\n",
        refused, gone);
    char gen[4096];
    size_t gl = srv_generate_metrics(gen, sizeof gen);
    put(&b, "%.*s", (int)gl, gen);
    *len = b.len;
    return b.p;
}
