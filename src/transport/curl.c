/* The built-in transport: libcurl's multi interface driven by a few threads of its own ("loops", one
 * per online CPU, at most MAX_LOOPS; requests are handed to them in turn).
 *
 * Callers hand a request over to its loop through a locked queue and wake it through an eventfd; a
 * loop owns its multi handle and every easy handle on it, so each curl handle is only ever touched
 * from one thread. Callbacks run on the loop's thread without the lock held, so they may submit or
 * cancel.
 *
 * The thread drives curl with curl_multi_socket_action() over an epoll set (curl tells which sockets
 * to watch through CURLMOPT_SOCKETFUNCTION and when to time out through CURLMOPT_TIMERFUNCTION):
 * a wake-up costs work for the sockets that are ready, not for every request in flight. With a
 * thousand requests waiting on a slow provider, curl_multi_poll() + curl_multi_perform() polled a
 * thousand sockets and walked a thousand handles on every wake-up. */
#include "../core/internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

typedef struct creq {
    uint64_t id;
    CURL *easy;
    struct curl_slist *hdrs;
    char *url;
    char *method;
    char *body;
    size_t body_len;
    long connect_ms, total_ms;
    char *resp;                 /* collected body */
    size_t resp_len, resp_cap;
    char **rh;                  /* response header lines */
    size_t rh_count, rh_cap;
    bool oom;
    bool aborted;               /* the data callback asked to stop */
    bool canceled;
    char errbuf[CURL_ERROR_SIZE];
    rm_transport_data_fn on_data;
    rm_transport_done_fn on_done;
    void *ud;
    struct creq *next, *prev;   /* pending queue (next only) or active list */
} creq;

typedef struct {
    CURLM *multi;
    pthread_t thread;
    int epfd;                          /* the sockets curl asked to watch, and evfd */
    int evfd;                          /* wakes the thread: new requests, cancels, close */
    pthread_mutex_t mu;
    creq *pending_head, *pending_tail; /* guarded by mu */
    uint64_t *cancels;                 /* guarded by mu */
    size_t ncancel, cancel_cap;
    bool stopping;                     /* guarded by mu */
    bool woken;                        /* guarded by mu: evfd was written and not drained yet */
    creq *active;                      /* thread only */
    int64_t timer_at;                  /* thread only: when curl wants its timeout action (ms), -1 none */
} curl_tp;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wake the thread once per batch of submissions: the first caller writes the eventfd, later ones
 * see `woken` and skip the system call until the thread has drained the queue. Called with mu held. */
static bool wake_locked(curl_tp *tp)
{
    bool need = !tp->woken;
    tp->woken = true;
    return need;
}

static void wake(curl_tp *tp)
{
    uint64_t one = 1;
    ssize_t n = write(tp->evfd, &one, sizeof(one));
    (void)n; /* EAGAIN: the counter is already nonzero, the thread will wake anyway */
}

/* CURLMOPT_SOCKETFUNCTION: keep the epoll set in step with what curl wants to hear about. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    curl_tp *tp = userp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(tp->epfd, EPOLL_CTL_DEL, s, NULL); /* may fail if curl closed it first: harmless */
        curl_multi_assign(tp->multi, s, NULL);
        return 0;
    }
    struct epoll_event ev = {.events = 0, .data.fd = s};
    if (what & CURL_POLL_IN)
        ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        ev.events |= EPOLLOUT;
    int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(tp->epfd, op, s, &ev) != 0) {
        /* The socket was closed and its number reused behind our back, or curl reassigned it. */
        op = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(tp->epfd, op, s, &ev) != 0)
            return -1;
    }
    if (!socketp)
        curl_multi_assign(tp->multi, s, tp); /* any non-NULL value: "in the set" */
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: remember when curl wants curl_multi_socket_action(CURL_SOCKET_TIMEOUT). */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    curl_tp *tp = userp;
    tp->timer_at = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
    return 0;
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;
static void global_init(void) { global_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

static void creq_free(creq *r)
{
    if (!r)
        return;
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->hdrs);
    free(r->url);
    free(r->method);
    free(r->body);
    free(r->resp);
    for (size_t i = 0; i < r->rh_count; i++)
        free(r->rh[i]);
    free(r->rh);
    free(r);
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    creq *r = ud;
    size_t n = size * nmemb;
    if (r->on_data) {
        long status = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        if (r->on_data(r->ud, (int)status, data, n) != 0) {
            r->aborted = true;
            return 0;
        }
        return n;
    }
    if (rm__buf_append(&r->resp, &r->resp_len, &r->resp_cap, data, n) != 0) {
        r->oom = true;
        return 0;
    }
    return n;
}

static void headers_clear(creq *r)
{
    for (size_t i = 0; i < r->rh_count; i++)
        free(r->rh[i]);
    r->rh_count = 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    creq *r = ud;
    size_t n = size * nmemb, len = n;
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        headers_clear(r); /* a new response (after 100 Continue): keep only the final one's headers */
        return n;
    }
    if (len == 0)
        return n;
    if (r->rh_count == r->rh_cap) {
        size_t c = r->rh_cap ? r->rh_cap * 2 : 16;
        char **nh = realloc(r->rh, c * sizeof(char *));
        if (!nh) {
            r->oom = true;
            return 0;
        }
        r->rh = nh;
        r->rh_cap = c;
    }
    if (!(r->rh[r->rh_count] = rm__strndup(data, len))) {
        r->oom = true;
        return 0;
    }
    r->rh_count++;
    return n;
}

static int classify(CURLcode cc, const creq *r)
{
    if (r->canceled || r->aborted)
        return RM_TRANSPORT_ECANCELED;
    switch (cc) {
    case CURLE_OK:
        return RM_TRANSPORT_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return RM_TRANSPORT_ETIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return RM_TRANSPORT_ECONNECT;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return RM_TRANSPORT_ERESET;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return RM_TRANSPORT_ETLS;
    default:
        return RM_TRANSPORT_EOTHER;
    }
}

/* Call the completion callback and free the request. */
static void complete(creq *r, CURLcode cc)
{
    long status = 0;
    if (r->easy)
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    int kind = r->oom ? RM_TRANSPORT_EOTHER : classify(cc, r);
    const char *msg = "";
    if (kind == RM_TRANSPORT_ECANCELED)
        msg = "cancelled";
    else if (r->oom)
        msg = "out of memory";
    else if (kind != RM_TRANSPORT_OK)
        msg = r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc);
    rm_transport_response resp = {
        .version = RM_TRANSPORT_RESPONSE_VERSION,
        .error_kind = kind,
        .error_message = msg,
        .status = (int)status,
        .headers = (const char *const *)r->rh,
        .header_count = r->rh_count,
        .body = r->resp ? r->resp : "",
        .body_len = r->resp_len,
    };
    r->on_done(r->ud, &resp);
    creq_free(r);
}

static int setup_easy(creq *r)
{
    CURL *e = r->easy = curl_easy_init();
    if (!e)
        return -1;
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, r->connect_ms);
    if (r->total_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->total_ms);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (r->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    }
    if (r->method)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    return 0;
}

static void active_unlink(curl_tp *tp, creq *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        tp->active = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->next = r->prev = NULL;
}

static void start_request(curl_tp *tp, creq *r)
{
    if (r->canceled) {
        complete(r, CURLE_ABORTED_BY_CALLBACK);
        return;
    }
    if (setup_easy(r) != 0 || curl_multi_add_handle(tp->multi, r->easy) != CURLM_OK) {
        r->oom = true;
        complete(r, CURLE_OUT_OF_MEMORY);
        return;
    }
    r->prev = NULL;
    r->next = tp->active;
    if (tp->active)
        tp->active->prev = r;
    tp->active = r;
}

static void finish_active(curl_tp *tp, creq *r, CURLcode cc)
{
    active_unlink(tp, r);
    curl_multi_remove_handle(tp->multi, r->easy);
    complete(r, cc);
}

static void apply_cancels(curl_tp *tp, const uint64_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (creq *r = tp->active; r; r = r->next) {
            if (r->id == ids[i]) {
                r->canceled = true;
                finish_active(tp, r, CURLE_ABORTED_BY_CALLBACK);
                break;
            }
        }
    }
}

static void drain_done(curl_tp *tp)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(tp->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        creq *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        CURLcode cc = m->data.result;
        if (r)
            finish_active(tp, r, cc);
    }
}

static void *loop(void *arg)
{
    curl_tp *tp = arg;
    enum { MAX_EVENTS = 256 };
    struct epoll_event evs[MAX_EVENTS];
    int running = 0;
    for (;;) {
        pthread_mutex_lock(&tp->mu);
        creq *pend = tp->pending_head;
        tp->pending_head = tp->pending_tail = NULL;
        uint64_t *cancels = tp->cancels;
        size_t ncancel = tp->ncancel;
        tp->cancels = NULL;
        tp->ncancel = tp->cancel_cap = 0;
        bool stopping = tp->stopping;
        tp->woken = false; /* from here on a submission writes the eventfd again */
        pthread_mutex_unlock(&tp->mu);

        while (pend) {
            creq *r = pend;
            pend = r->next;
            r->next = NULL;
            if (stopping)
                r->canceled = true;
            start_request(tp, r);
        }
        apply_cancels(tp, cancels, ncancel);
        free(cancels);
        if (stopping) {
            while (tp->active) {
                tp->active->canceled = true;
                finish_active(tp, tp->active, CURLE_ABORTED_BY_CALLBACK);
            }
            break;
        }
        drain_done(tp); /* requests that failed while being added */

        int wait = 1000;
        if (tp->timer_at >= 0) {
            int64_t left = tp->timer_at - mono_ms();
            wait = left <= 0 ? 0 : left < wait ? (int)left : wait;
        }
        int n = epoll_wait(tp->epfd, evs, MAX_EVENTS, wait);
        if (n < 0 && errno != EINTR)
            n = 0;
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == tp->evfd) {
                uint64_t v;
                ssize_t rd = read(tp->evfd, &v, sizeof(v));
                (void)rd;
                continue;
            }
            int flags = 0;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))
                flags |= CURL_CSELECT_IN;
            if (evs[i].events & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
            if (evs[i].events & EPOLLERR)
                flags |= CURL_CSELECT_ERR;
            curl_multi_socket_action(tp->multi, fd, flags, &running);
        }
        if (tp->timer_at >= 0 && mono_ms() >= tp->timer_at) {
            tp->timer_at = -1;
            curl_multi_socket_action(tp->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        drain_done(tp);
    }
    return NULL;
}

static creq *creq_make(const rm_transport_request *req)
{
    creq *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->connect_ms = req->connect_timeout_ms > 0 ? (long)req->connect_timeout_ms : 10000L;
    r->total_ms = req->timeout_ms > 0 ? (long)req->timeout_ms : 0;
    if (!(r->url = strdup(req->url)))
        goto fail;
    if (req->method && !(r->method = strdup(req->method)))
        goto fail;
    if (req->body) {
        if (!(r->body = rm__strndup(req->body, req->body_len)))
            goto fail;
        r->body_len = req->body_len;
    }
    for (size_t i = 0; i < req->header_count; i++) {
        if (!req->headers || !req->headers[i])
            continue;
        struct curl_slist *s = curl_slist_append(r->hdrs, req->headers[i]);
        if (!s)
            goto fail;
        r->hdrs = s;
    }
    if (req->body) { /* no "Expect: 100-continue" round trip for large bodies */
        struct curl_slist *s = curl_slist_append(r->hdrs, "Expect:");
        if (!s)
            goto fail;
        r->hdrs = s;
    }
    return r;
fail:
    creq_free(r);
    return NULL;
}

/* The backend: a few loops (one per CPU, at most MAX_LOOPS), each a thread with its own multi
 * handle, epoll set and connection cache. Requests go round-robin by id, so a cancel finds its loop
 * from the id alone. On two cores two loops set up connections, parse answers and run completions
 * (which save the resume) side by side instead of queueing behind one thread. */
#define MAX_LOOPS 4

typedef struct {
    size_t n;
    uint64_t next_id; /* atomic */
    curl_tp *loops[MAX_LOOPS];
} curl_pool;

static curl_tp *loop_of(curl_pool *pool, uint64_t id) { return pool->loops[id % pool->n]; }

static int tp_submit(void *self, const rm_transport_request *req, rm_transport_data_fn on_data,
                     rm_transport_done_fn on_done, void *ud, uint64_t *id_out)
{
    curl_pool *pool = self;
    creq *r = creq_make(req);
    if (!r)
        return rm__error_nomem();
    r->on_data = on_data;
    r->on_done = on_done;
    r->ud = ud;
    r->id = __atomic_add_fetch(&pool->next_id, 1, __ATOMIC_RELAXED);
    curl_tp *tp = loop_of(pool, r->id);
    pthread_mutex_lock(&tp->mu);
    if (tp->stopping) {
        pthread_mutex_unlock(&tp->mu);
        creq_free(r);
        return rm__error_set(RM_ERROR, "the transport is shutting down");
    }
    if (tp->pending_tail)
        tp->pending_tail->next = r;
    else
        tp->pending_head = r;
    tp->pending_tail = r;
    *id_out = r->id;
    bool need_wake = wake_locked(tp);
    pthread_mutex_unlock(&tp->mu);
    if (need_wake)
        wake(tp);
    return RM_OK;
}

static int tp_cancel(void *self, uint64_t id)
{
    curl_pool *pool = self;
    if (id == 0)
        return RM_OK;
    curl_tp *tp = loop_of(pool, id);
    pthread_mutex_lock(&tp->mu);
    for (creq *r = tp->pending_head; r; r = r->next) {
        if (r->id == id) {
            r->canceled = true; /* completed as cancelled when the thread picks it up */
            bool need_wake = wake_locked(tp);
            pthread_mutex_unlock(&tp->mu);
            if (need_wake)
                wake(tp);
            return RM_OK;
        }
    }
    if (tp->ncancel == tp->cancel_cap) {
        size_t c = tp->cancel_cap ? tp->cancel_cap * 2 : 8;
        uint64_t *n = realloc(tp->cancels, c * sizeof(*n));
        if (!n) {
            pthread_mutex_unlock(&tp->mu);
            return rm__error_nomem();
        }
        tp->cancels = n;
        tp->cancel_cap = c;
    }
    tp->cancels[tp->ncancel++] = id;
    bool need_wake = wake_locked(tp);
    pthread_mutex_unlock(&tp->mu);
    if (need_wake)
        wake(tp);
    return RM_OK;
}

static void loop_stop(curl_tp *tp)
{
    pthread_mutex_lock(&tp->mu);
    tp->stopping = true;
    tp->woken = true;
    pthread_mutex_unlock(&tp->mu);
    wake(tp);
}

static void loop_free(curl_tp *tp)
{
    curl_multi_cleanup(tp->multi);
    close(tp->epfd);
    close(tp->evfd);
    free(tp->cancels);
    pthread_mutex_destroy(&tp->mu);
    free(tp);
}

static void tp_close(void *self)
{
    curl_pool *pool = self;
    for (size_t i = 0; i < pool->n; i++) /* all loops stop at once, then each is joined */
        loop_stop(pool->loops[i]);
    for (size_t i = 0; i < pool->n; i++) {
        pthread_join(pool->loops[i]->thread, NULL);
        loop_free(pool->loops[i]);
    }
    free(pool);
}

static const rm_transport_vtable curl_vtable = {
    .version = RM_TRANSPORT_VTABLE_VERSION,
    .close = tp_close,
    .submit = tp_submit,
    .cancel = tp_cancel,
};

/* One loop with its thread started; NULL with the error set. */
static curl_tp *loop_new(void)
{
    curl_tp *tp = calloc(1, sizeof(*tp));
    if (!tp) {
        rm__error_nomem();
        return NULL;
    }
    pthread_mutex_init(&tp->mu, NULL);
    tp->timer_at = -1;
    tp->epfd = epoll_create1(EPOLL_CLOEXEC);
    tp->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = tp->evfd};
    if (tp->epfd < 0 || tp->evfd < 0 || epoll_ctl(tp->epfd, EPOLL_CTL_ADD, tp->evfd, &ev) != 0) {
        if (tp->epfd >= 0)
            close(tp->epfd);
        if (tp->evfd >= 0)
            close(tp->evfd);
        pthread_mutex_destroy(&tp->mu);
        free(tp);
        rm__error_set(RM_ERROR, "could not create the transport's event descriptors");
        return NULL;
    }
    if (!(tp->multi = curl_multi_init())) {
        close(tp->epfd);
        close(tp->evfd);
        pthread_mutex_destroy(&tp->mu);
        free(tp);
        rm__error_set(RM_ERROR, "libcurl multi handle creation failed");
        return NULL;
    }
    curl_multi_setopt(tp->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(tp->multi, CURLMOPT_SOCKETDATA, tp);
    curl_multi_setopt(tp->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(tp->multi, CURLMOPT_TIMERDATA, tp);
    if (pthread_create(&tp->thread, NULL, loop, tp) != 0) {
        loop_free(tp);
        rm__error_set(RM_ERROR, "could not start the transport thread");
        return NULL;
    }
    pthread_setname_np(tp->thread, "rm-transport");
    return tp;
}

int rm_transport_new_curl(rm_transport **out)
{
    if (!out)
        return rm__error_misuse("out is NULL");
    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return rm__error_set(RM_ERROR, "libcurl initialisation failed");
    curl_pool *pool = calloc(1, sizeof(*pool));
    if (!pool)
        return rm__error_nomem();
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t want = cpus < 1 ? 1 : cpus > MAX_LOOPS ? MAX_LOOPS : (size_t)cpus;
    for (; pool->n < want; pool->n++) {
        if (!(pool->loops[pool->n] = loop_new())) {
            if (pool->n == 0) {
                free(pool);
                return rm_error_code(rm_error_last());
            }
            rm_error_clear(); /* fewer loops than CPUs still works */
            break;
        }
    }
    int rc = rm_transport_new(out, &curl_vtable, pool);
    if (rc)
        tp_close(pool);
    return rc;
}
