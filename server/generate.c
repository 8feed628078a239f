/*
 * POST /api/ai/generate/ on top of rm_ai_generate_async(): the connection is suspended while the
 * provider works (no HTTP thread waits), and resumed from the completion callback. A watcher thread
 * watches the sockets of generations in flight (libmicrohttpd does not poll suspended connections)
 * and cancels the generation of a client that went away, so no provider call and no resume are left
 * behind for nobody. It waits on an epoll set of those sockets (edge-triggered: a socket is looked at
 * when something arrives on it, a close or data), so its cost follows what clients do, not how many
 * generations are in flight.
 */
#include "server.h"

#include <microhttpd.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <resumate/ai.h>

/* A generation in flight. Two references: the completion callback's and the starting handler's
 * (plus one held briefly by the watcher while it cancels); the job goes with the last of them. The
 * struct itself also stays while it is `retired`: the watcher may still hold an epoll event that
 * points at it, and frees it after handling the events of that wake-up. */
struct gen {
    struct gen *next, *prev;  /* in gen_list while linked (not done) */
    struct gen *rnext;        /* in gen_retired while retired */
    rm_ai_job *job;
    int fd;                /* the client's socket; -1 when unknown */
    int watched;           /* fd is in the watcher's epoll set */
    int retired;           /* unwatched, waiting for the watcher to let go of the struct */
    int done;
    int refs;
    int provider;          /* index into provider_names */
};

static pthread_mutex_t gen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gen *gen_list;
static struct gen *gen_retired;  /* unwatched gens the watcher has not let go of yet */
static pthread_t watcher;
static int watcher_running, watcher_stop;
static int watch_ep = -1;        /* epoll set of the watched client sockets */
static int watch_wake = -1;      /* eventfd: wakes the watcher (stop, first generation after idle) */
static int watcher_idle;         /* the watcher sleeps without a timeout */

/* Plain generations waiting for the intake thread, oldest first. */
struct intake {
    struct srv_req *r;
    struct intake *next;
};
static pthread_mutex_t intake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t intake_cond = PTHREAD_COND_INITIALIZER;
static struct intake *intake_head, *intake_tail;
static pthread_t intake_thread;
static int intake_running, intake_stop;
static atomic_int intake_refuse; /* shutting down: queued generations are answered 503, not started */

/* ---- metrics: generations by provider and outcome ---- */

static const char *const provider_names[] = { "google_gemini", "open_router", "openai_compatible", "unknown" };
#define NPROV 4
static const char *const outcome_names[] = { "ok", "invalid", "limit", "upstream", "timeout", "canceled", "error" };
#define NOUT 7
static atomic_ulong gen_counts[NPROV][NOUT];

static int outcome_of(int status)
{
    switch (status) {
    case RM_OK: return 0;
    case RM_EINVALID: return 1;
    case RM_ELIMIT: return 2;
    case RM_EUPSTREAM: return 3;
    case RM_ETIMEOUT: return 4;
    case RM_ECANCELED: return 5;
    default: return 6;
    }
}

static void count(int provider, int status)
{
    atomic_fetch_add_explicit(&gen_counts[provider][outcome_of(status)], 1, memory_order_relaxed);
}

size_t srv_generate_metrics(char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "# HELP resumate_ai_generations_total AI generations by provider and "
                                          "outcome.\n# TYPE resumate_ai_generations_total counter\n");
    for (int p = 0; p < NPROV; p++)
        for (int o = 0; o < NOUT; o++) {
            unsigned long v = atomic_load_explicit(&gen_counts[p][o], memory_order_relaxed);
            if (v && n < cap)
                n += (size_t)snprintf(buf + n, cap - n, "resumate_ai_generations_total{provider=\"%s\",outcome=\"%s\"} %lu\n",
                                      provider_names[p], outcome_names[o], v);
        }
    return n < cap ? n : cap;
}

/* ---- the list of suspended generations ---- */

static void gen_release_locked(struct gen *g)
{
    if (--g->refs == 0) {
        rm_ai_job_free(g->job);
        g->job = NULL;
        if (!g->watched && !g->retired)
            free(g);
    }
}

static void watcher_wake(void)
{
    uint64_t one = 1;
    ssize_t n = write(watch_wake, &one, sizeof one);
    (void)n; /* EAGAIN: the counter is already nonzero, the watcher will wake anyway */
}

/* Watch g's socket for its client leaving. Best effort: without it the generation just runs on. */
static void gen_watch_locked(struct gen *g)
{
    if (g->fd < 0 || watch_ep < 0)
        return;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = g };
    if (epoll_ctl(watch_ep, EPOLL_CTL_ADD, g->fd, &ev) == 0) {
        g->watched = 1;
        if (watcher_idle) { /* it sleeps without a timeout: it must come back to let go of retired gens */
            watcher_idle = 0;
            watcher_wake();
        }
    }
}

/* Stop watching g's socket, while it is still open (before the connection is resumed or closed).
 * The watcher lets go of the struct after the events of its current wake-up. */
static void gen_unwatch_locked(struct gen *g)
{
    if (!g->watched)
        return;
    (void)epoll_ctl(watch_ep, EPOLL_CTL_DEL, g->fd, NULL);
    g->watched = 0;
    g->retired = 1;
    g->rnext = gen_retired;
    gen_retired = g;
}

/* Cancel generations the caller took a reference on, then drop those references. Called and returns with
 * gen_lock held; the lock is let go around the cancels (a cancel may complete a job synchronously). */
static void gen_cancel_release_locked(struct gen **gens, int n)
{
    pthread_mutex_unlock(&gen_lock);
    for (int i = 0; i < n; i++)
        rm_ai_job_cancel(gens[i]->job);
    pthread_mutex_lock(&gen_lock);
    for (int i = 0; i < n; i++)
        gen_release_locked(gens[i]);
}

static void gen_link_locked(struct gen *g)
{
    g->prev = NULL;
    g->next = gen_list;
    if (gen_list)
        gen_list->prev = g;
    gen_list = g;
}

/* O(1): a thousand generations finishing at once must not walk the list a thousand times. */
static void gen_unlink_locked(struct gen *g)
{
    if (!g->done) {
        if (g->prev)
            g->prev->next = g->next;
        else
            gen_list = g->next;
        if (g->next)
            g->next->prev = g->prev;
        g->next = g->prev = NULL;
    }
    g->done = 1;
    gen_unwatch_locked(g);
}

/* Whether the peer closed its end (EOF, a half-close counts) or the socket failed, from the events
 * epoll reported for its socket. Data that arrived (a pipelined request) is not a departure. */
static int peer_gone(int fd, uint32_t events)
{
    if (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))
        return 1;
    if (events & EPOLLIN) {
        char c;
        ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
    }
    return 0;
}

/* Let go of the structs of unwatched generations. Called with gen_lock held, after the events of a
 * wake-up are handled: none of those events can point at them any more. */
static void gen_free_retired_locked(void)
{
    while (gen_retired) {
        struct gen *g = gen_retired;
        gen_retired = g->rnext;
        g->retired = 0;
        g->rnext = NULL;
        if (g->refs == 0)
            free(g);
    }
}

static void *watch_main(void *unused)
{
    (void)unused;
    enum { MAXEV = 64 };
    struct epoll_event evs[MAXEV];
    pthread_mutex_lock(&gen_lock);
    while (!watcher_stop) {
        /* Without generations in flight or retired, sleep until woken; else come back within 100 ms
         * to let go of the retired ones (an epoll_wait with nothing ready costs next to nothing). */
        int timeout = gen_list || gen_retired ? 100 : -1;
        watcher_idle = timeout < 0;
        pthread_mutex_unlock(&gen_lock);
        int n = epoll_wait(watch_ep, evs, MAXEV, timeout);
        pthread_mutex_lock(&gen_lock);
        watcher_idle = 0;
        struct gen *cancel[MAXEV];
        int nc = 0;
        for (int i = 0; i < n; i++) {
            struct gen *g = evs[i].data.ptr;
            if (!g) { /* the eventfd */
                uint64_t v;
                ssize_t r = read(watch_wake, &v, sizeof v);
                (void)r;
                continue;
            }
            if (!g->watched || g->done || !g->job || !peer_gone(g->fd, evs[i].events))
                continue;
            gen_unwatch_locked(g); /* cancel once */
            g->refs++;
            cancel[nc++] = g;
        }
        gen_cancel_release_locked(cancel, nc);
        gen_free_retired_locked();
    }
    gen_free_retired_locked();
    pthread_mutex_unlock(&gen_lock);
    return NULL;
}

static void gen_start_job(void *arg);

/* Starts the plain (not streamed) generations handed over by the event threads, in arrival order,
 * until told to stop with nothing left. */
static void *intake_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&intake_lock);
    for (;;) {
        while (!intake_head && !intake_stop)
            pthread_cond_wait(&intake_cond, &intake_lock);
        struct intake *it = intake_head;
        if (!it)
            break;
        intake_head = it->next;
        if (!intake_head)
            intake_tail = NULL;
        pthread_mutex_unlock(&intake_lock);
        gen_start_job(it->r);
        free(it);
        pthread_mutex_lock(&intake_lock);
    }
    pthread_mutex_unlock(&intake_lock);
    return NULL;
}

/* Queue r for the intake thread: 0, or -1 (stopping, out of memory). */
static int intake_submit(struct srv_req *r)
{
    struct intake *it = malloc(sizeof *it);
    if (!it)
        return -1;
    it->r = r;
    it->next = NULL;
    pthread_mutex_lock(&intake_lock);
    if (intake_stop || !intake_running) {
        pthread_mutex_unlock(&intake_lock);
        free(it);
        return -1;
    }
    if (intake_tail)
        intake_tail->next = it;
    else
        intake_head = it;
    intake_tail = it;
    pthread_cond_signal(&intake_cond);
    pthread_mutex_unlock(&intake_lock);
    return 0;
}

int srv_generate_start(void)
{
    watcher_stop = 0;
    watch_ep = epoll_create1(EPOLL_CLOEXEC);
    watch_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    if (watch_ep < 0 || watch_wake < 0 || epoll_ctl(watch_ep, EPOLL_CTL_ADD, watch_wake, &ev) != 0 ||
        pthread_create(&watcher, NULL, watch_main, NULL)) {
        if (watch_ep >= 0)
            close(watch_ep);
        if (watch_wake >= 0)
            close(watch_wake);
        watch_ep = watch_wake = -1;
        return -1;
    }
    watcher_running = 1;
    intake_stop = 0;
    atomic_store(&intake_refuse, 0);
    if (pthread_create(&intake_thread, NULL, intake_main, NULL))
        return -1;
    pthread_mutex_lock(&intake_lock);
    intake_running = 1;
    pthread_mutex_unlock(&intake_lock);
    return 0;
}

void srv_generate_cancel_all(void)
{
    atomic_store(&intake_refuse, 1);
    struct gen *cancel[256];
    int n = 0;
    pthread_mutex_lock(&gen_lock);
    for (struct gen *g = gen_list; g && n < 256; g = g->next)
        if (!g->done && g->job) {
            g->refs++;
            cancel[n++] = g;
        }
    gen_cancel_release_locked(cancel, n);
    pthread_mutex_unlock(&gen_lock);
}

void srv_generate_stop(void)
{
    pthread_mutex_lock(&intake_lock);
    int joining = intake_running;
    intake_stop = 1;
    pthread_cond_broadcast(&intake_cond);
    pthread_mutex_unlock(&intake_lock);
    if (joining) { /* whatever is queued is started (and answered) first */
        pthread_join(intake_thread, NULL);
        intake_running = 0;
    }
    if (!watcher_running)
        return;
    pthread_mutex_lock(&gen_lock);
    watcher_stop = 1;
    watcher_wake();
    pthread_mutex_unlock(&gen_lock);
    pthread_join(watcher, NULL);
    watcher_running = 0;
    close(watch_ep);
    close(watch_wake);
    watch_ep = watch_wake = -1;
}

/* ---- answering finished generations, a few at a time ----
 *
 * libmicrohttpd handles every connection resumed since its last look in one pass of its event loop,
 * and the other connections of that event thread wait for the whole pass. A thousand generations
 * that finish within a few milliseconds (the provider answers them together) would make one pass
 * of hundreds of answers, tens of milliseconds long. So at most RESUME_WINDOW finished generations
 * are resumed and not yet answered at a time; the others wait in order, and each answer (or the end
 * of its connection) lets the next one go. The event thread then answers a handful per pass,
 * between its other connections' requests. */
#define RESUME_WINDOW 16

struct resume_wait {
    struct srv_req *r;
    struct resume_wait *next;
};
static pthread_mutex_t resume_lock = PTHREAD_MUTEX_INITIALIZER;
static struct resume_wait *resume_head, *resume_tail;
static int resume_open; /* resumed, not yet answered */

/* r's answer is in r->pending (stage 3) and its connection is suspended: resume it now, or after the
 * generations ahead of it are answered. */
static void gen_resume(struct srv_req *r)
{
    r->stage = 3;
    r->resume_paced = 1;
    struct resume_wait *w = NULL;
    pthread_mutex_lock(&resume_lock);
    if (resume_open >= RESUME_WINDOW) {
        w = malloc(sizeof *w);
        if (w) {
            w->r = r;
            w->next = NULL;
            if (resume_tail)
                resume_tail->next = w;
            else
                resume_head = w;
            resume_tail = w;
            r->resume_slot = 0;
        }
    }
    if (!w) { /* a free place in the window (or no memory to wait: answer it now, over the window) */
        resume_open++;
        r->resume_slot = 1;
    }
    pthread_mutex_unlock(&resume_lock);
    if (!w)
        MHD_resume_connection(r->conn);
}

void srv_generate_answered(struct srv_req *r)
{
    if (!r->resume_paced) /* set before the connection was resumed, never cleared */
        return;
    struct resume_wait *next = NULL;
    pthread_mutex_lock(&resume_lock);
    if (r->resume_slot) {
        r->resume_slot = 0;
        next = resume_head;
        if (next) { /* the place passes to the next one in line */
            resume_head = next->next;
            if (!resume_head)
                resume_tail = NULL;
            next->r->resume_slot = 1;
        } else {
            resume_open--;
        }
    } else { /* still waiting in line (its connection ended while the daemon stops): leave the line */
        for (struct resume_wait **pp = &resume_head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next)
            if ((*pp)->r == r) {
                struct resume_wait *gone = *pp;
                *pp = gone->next;
                if (resume_tail == gone)
                    resume_tail = prev;
                free(gone);
                break;
            }
    }
    r->resume_paced = 0;
    pthread_mutex_unlock(&resume_lock);
    if (next) {
        MHD_resume_connection(next->r->conn);
        free(next);
    }
}

/* ---- the handler ---- */

static void render_outcome(struct srv_reply *out, int status, const rm_ai_result *result, const rm_error *err)
{
    if (status == RM_OK) {
        char *json = NULL;
        if (rm_ai_result_to_json(&json, result) == RM_OK)
            srv_reply_lib(out, 201, json);
        else
            srv_reply_static(out, 500, "{\"detail\": \"A server error occurred.\"}");
        return;
    }
    switch (status) {
    case RM_ECONFLICT:
        srv_reply_static(out, 409, "{\"detail\": \"A request with this Idempotency-Key is still running.\"}");
        return;
    case RM_ETIMEOUT:
        srv_reply_static(out, 503, "{\"error\": \"The AI provider did not answer in time. Please try again.\"}");
        return;
    case RM_ECANCELED:
        srv_reply_static(out, 503, "{\"error\": \"The generation was cancelled.\"}");
        return;
    default:
        srv_reply_error_from(out, status, err);
    }
}

static void gen_done(void *userdata, int status, rm_ai_result *result, const rm_error *err)
{
    struct srv_req *r = userdata;
    struct gen *g = r->gen;
    render_outcome(&r->pending, status, result, err);
    rm_ai_result_free(result);
    count(g->provider, status);
    pthread_mutex_lock(&gen_lock);
    gen_unlink_locked(g);
    gen_release_locked(g);
    pthread_mutex_unlock(&gen_lock);
    gen_resume(r);
}

/* The metrics label of a model's provider. Remembered per model name while the models' data
 * version is unchanged, for at most PROVIDER_CACHE_US (changes made by other processes), so that a
 * generation costs no extra storage lookup for its label. */
#define PROVIDER_CACHE_SLOTS 16
#define PROVIDER_CACHE_US (60 * 1000000LL)
static struct {
    char name[64];
    int idx;
    uint64_t version;
    int64_t at_us;
} provider_cache[PROVIDER_CACHE_SLOTS];
static unsigned provider_cache_next;
static pthread_mutex_t provider_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static int provider_index(rm_ctx *ctx, const rm_fields *fields)
{
    const char *name = rm_fields_get_string(fields, "model");
    int idx = NPROV - 1;
    if (!name)
        return idx;
    uint64_t version = rm_ctx_data_version(ctx, RM_DATA_AI_MODELS);
    int64_t now = srv_wall_us();
    size_t len = strlen(name);
    if (len < sizeof provider_cache[0].name) {
        pthread_mutex_lock(&provider_cache_lock);
        for (int i = 0; i < PROVIDER_CACHE_SLOTS; i++)
            if (provider_cache[i].version == version && now - provider_cache[i].at_us < PROVIDER_CACHE_US &&
                strcmp(provider_cache[i].name, name) == 0 && provider_cache[i].at_us) {
                idx = provider_cache[i].idx;
                pthread_mutex_unlock(&provider_cache_lock);
                return idx;
            }
        pthread_mutex_unlock(&provider_cache_lock);
    }
    rm_ai_model *m = NULL;
    int found = rm_ai_model_get(&m, ctx, name) == RM_OK;
    if (found) {
        const char *p = rm_ai_model_api_provider(m);
        for (int i = 0; i < NPROV - 1; i++)
            if (strcmp(p, provider_names[i]) == 0)
                idx = i;
    }
    rm_ai_model_free(m);
    rm_error_clear();
    if (found && len < sizeof provider_cache[0].name) { /* unknown names are not remembered */
        pthread_mutex_lock(&provider_cache_lock);
        unsigned slot = provider_cache_next++ % PROVIDER_CACHE_SLOTS;
        memcpy(provider_cache[slot].name, name, len + 1);
        provider_cache[slot].idx = idx;
        provider_cache[slot].version = version;
        provider_cache[slot].at_us = now;
        pthread_mutex_unlock(&provider_cache_lock);
    }
    return idx;
}

/* ---- streaming (Accept: text/event-stream) ---- */

/* The events of one streamed generation, written by the library's callbacks and read by
 * libmicrohttpd's content reader, which suspends the connection while there is nothing to send. */
struct stream {
    pthread_mutex_t lock;
    char *buf;
    size_t len, cap, off;
    int finished;          /* the final event is in buf */
    int waiting;           /* the reader suspended the connection */
    int closed;            /* libmicrohttpd released the response */
    int refs;              /* the response's and the library callbacks' */
    struct MHD_Connection *conn;
    struct gen *g;
};

static void stream_release(struct stream *st)
{
    pthread_mutex_lock(&st->lock);
    int last = --st->refs == 0;
    pthread_mutex_unlock(&st->lock);
    if (last) {
        pthread_mutex_destroy(&st->lock);
        free(st->buf);
        free(st);
    }
}

/* Append one SSE event (data is one line of JSON) and wake the reader. Called with st->lock held. */
static void stream_event_locked(struct stream *st, const char *event, const char *data)
{
    size_t need = strlen(event) + strlen(data) + 32;
    if (st->len + need > st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 4096;
        while (cap < st->len + need)
            cap *= 2;
        char *b = realloc(st->buf, cap);
        if (!b)
            return;
        st->buf = b;
        st->cap = cap;
    }
    st->len += (size_t)snprintf(st->buf + st->len, st->cap - st->len, "event: %s\ndata: %s\n\n", event, data);
    if (st->waiting && !st->closed) {
        st->waiting = 0;
        MHD_resume_connection(st->conn);
    }
}

static int stream_chunk(void *userdata, const char *text, size_t len)
{
    struct stream *st = userdata;
    char *copy = strndup(text, len);
    char *js = copy ? srv_json_string(copy) : NULL;
    free(copy);
    if (!js)
        return 1;
    size_t n = strlen(js) + 16;
    char *data = malloc(n);
    if (data)
        snprintf(data, n, "{\"text\": %s}", js);
    free(js);
    pthread_mutex_lock(&st->lock);
    int gone = st->closed;
    if (!gone && data)
        stream_event_locked(st, "chunk", data);
    pthread_mutex_unlock(&st->lock);
    free(data);
    return gone; /* nonzero cancels the generation */
}

static void stream_done(void *userdata, int status, rm_ai_result *result, const rm_error *err)
{
    struct stream *st = userdata;
    struct srv_reply out = { 0 };
    render_outcome(&out, status, result, err);
    rm_ai_result_free(result);
    const char *body = out.body ? out.body : "{}";
    char *data = NULL;
    if (status == RM_OK) {
        data = strdup(body);
    } else {
        size_t n = strlen(body) + 32;
        data = malloc(n);
        if (data)
            snprintf(data, n, "{\"status\": %u, \"body\": %s}", out.status, body);
    }
    if (out.body && out.body_free)
        out.body_free(out.body);
    count(st->g->provider, status);
    pthread_mutex_lock(&st->lock);
    stream_event_locked(st, status == RM_OK ? "done" : "error", data ? data : "{}");
    st->finished = 1;
    if (st->waiting && !st->closed) {
        st->waiting = 0;
        MHD_resume_connection(st->conn);
    }
    pthread_mutex_unlock(&st->lock);
    free(data);
    pthread_mutex_lock(&gen_lock);
    gen_unlink_locked(st->g);
    gen_release_locked(st->g);
    pthread_mutex_unlock(&gen_lock);
    stream_release(st);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct stream *st = cls;
    pthread_mutex_lock(&st->lock);
    if (st->off < st->len) {
        size_t n = st->len - st->off < max ? st->len - st->off : max;
        memcpy(buf, st->buf + st->off, n);
        st->off += n;
        if (st->off == st->len)
            st->off = st->len = 0;
        pthread_mutex_unlock(&st->lock);
        return (ssize_t)n;
    }
    if (st->finished) {
        pthread_mutex_unlock(&st->lock);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    st->waiting = 1; /* nothing yet: park the connection until the next event */
    MHD_suspend_connection(st->conn);
    pthread_mutex_unlock(&st->lock);
    return 0;
}

static void stream_free(void *cls)
{
    struct stream *st = cls;
    pthread_mutex_lock(&st->lock);
    st->closed = 1;
    int cancel = !st->finished;
    pthread_mutex_unlock(&st->lock);
    pthread_mutex_lock(&gen_lock);
    struct gen *g = st->g;
    gen_unwatch_locked(g); /* libmicrohttpd closes the socket after this */
    rm_ai_job *job = cancel && !g->done ? g->job : NULL;
    if (job)
        g->refs++;
    pthread_mutex_unlock(&gen_lock);
    if (job) { /* the client left mid-stream */
        rm_ai_job_cancel(job);
        pthread_mutex_lock(&gen_lock);
        gen_release_locked(g);
        pthread_mutex_unlock(&gen_lock);
    }
    pthread_mutex_lock(&gen_lock);
    gen_release_locked(g); /* the stream's reference */
    pthread_mutex_unlock(&gen_lock);
    stream_release(st);
}

static int wants_stream(struct srv_req *r)
{
    const char *accept = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Accept");
    return accept && strcasestr(accept, "text/event-stream") != NULL;
}

/* ---- the handler ---- */

/* Start a generation: the library validates (model lookup, policy, quota), builds the provider call
 * and hands it to the transport. `out` is where a synchronous answer goes: for a streamed
 * generation the event thread's reply (a custom response or an error); for a plain one r->pending,
 * with the connection already suspended (resumed here on an early error, by gen_done otherwise). */
static void gen_start(struct srv_req *r, struct srv_reply *out, int streaming)
{
    rm_ctx *ctx = r->srv->ctx;
    if (!r->who && rm_principal_anonymous(&r->who) != RM_OK) {
        srv_reply_static(out, 500, "{\"detail\": \"A server error occurred.\"}");
        goto early;
    }
    int provider = provider_index(ctx, r->fields);
    rm_ai_generate_options opts = RM_AI_GENERATE_OPTIONS_INIT;
    const char *key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Idempotency-Key");
    if (key && *key) {
        r->idempotency_key = strdup(key);
        opts.idempotency_key = r->idempotency_key;
    }
    struct gen *g = calloc(1, sizeof *g);
    struct stream *st = streaming ? calloc(1, sizeof *st) : NULL;
    if (!g || (streaming && !st)) {
        free(g);
        free(st);
        srv_reply_static(out, 500, "{\"detail\": \"A server error occurred.\"}");
        goto early;
    }
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    g->fd = ci ? ci->connect_fd : -1;
    g->refs = streaming ? 3 : 2; /* on_done's, this handler's, and the stream's */
    g->provider = provider;
    r->gen = g;
    if (st) {
        pthread_mutex_init(&st->lock, NULL);
        st->conn = r->conn;
        st->g = g;
        st->refs = 2; /* the response's and the library callbacks' */
    }
    pthread_mutex_lock(&gen_lock);
    gen_link_locked(g);
    gen_watch_locked(g);
    pthread_mutex_unlock(&gen_lock);

    rm_ai_job *job = NULL;
    int rc = streaming ? rm_ai_generate_async(&job, ctx, r->who, r->fields, &opts, stream_chunk, stream_done, st)
                       : rm_ai_generate_async(&job, ctx, r->who, r->fields, &opts, NULL, gen_done, r);
    pthread_mutex_lock(&gen_lock);
    g->job = job;
    if (rc != RM_OK) { /* failed before starting: on_done will not run, drop its reference too */
        gen_unlink_locked(g);
        g->refs -= streaming ? 2 : 1;
    }
    gen_release_locked(g); /* the handler's reference */
    pthread_mutex_unlock(&gen_lock);
    if (rc != RM_OK) {
        count(provider, rc);
        if (streaming) {
            /* A plain JSON error, as without streaming. */
            pthread_mutex_destroy(&st->lock);
            free(st);
        }
        render_outcome(out, rc, NULL, rm_error_last());
        goto early;
    }
    if (streaming) {
        struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st,
                                                                      stream_free);
        if (!resp) { /* cannot answer: stop the work */
            rm_ai_job_cancel(job);
            stream_release(st);
            srv_reply_static(out, 500, "{\"detail\": \"A server error occurred.\"}");
            return;
        }
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        MHD_add_response_header(resp, "X-Accel-Buffering", "no");
        out->status = 200;
        out->custom = resp;
        out->content_type = "text/event-stream";
    }
    return;
early:
    if (!streaming) /* the answer is in r->pending: wake the suspended connection */
        gen_resume(r);
}

static void gen_start_job(void *arg)
{
    struct srv_req *r = arg;
    if (srv_parse_body(r, &r->pending)) { /* the answer any endpoint gives for that body */
        gen_resume(r);
        return;
    }
    if (atomic_load(&intake_refuse)) {
        srv_reply_static(&r->pending, 503, "{\"detail\": \"The server is shutting down.\"}");
        r->pending.close = 1;
        gen_resume(r);
        return;
    }
    gen_start(r, &r->pending, 0);
}

void srv_h_generate(struct srv_req *r, struct srv_reply *out)
{
    if (wants_stream(r)) { /* the streamed response is created here, on the event thread */
        if (!srv_parse_body(r, out))
            gen_start(r, out, 1);
        return;
    }
    /* The rest — parsing the body, model lookup, policy, quota, building the provider call — runs
     * on the intake thread, so that a thousand generations arriving at once do not hold up the event
     * threads' other connections (a GET behind them in the same epoll batch waited for all of them).
     * Not the worker pool: its nice-10 workers starve while the event threads are saturated. */
    r->stage = 2;
    MHD_suspend_connection(r->conn);
    out->suspended = 1;
    if (intake_submit(r) != 0) {
        srv_reply_static(&r->pending, 503, "{\"detail\": \"The server is shutting down.\"}");
        r->pending.close = 1;
        gen_resume(r);
    }
}
