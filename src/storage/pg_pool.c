/*
 * PostgreSQL connections: the storage URL, a bounded pool shared by all threads, prepared statements,
 * and errors that never carry the password.
 *
 * A dead connection (server restart, pg_terminate_backend) is found in two ways. Before an idle
 * connection is leased, its socket is polled: a server that went away has sent EOF (and usually a
 * FATAL message), so the connection is dropped and a fresh one opened; this costs one poll() and makes
 * the first request after a restart succeed. A connection that dies while a request is using it makes
 * that request fail with RM_ESTORAGE; the connection is marked broken and closed when given back, and
 * the next lease opens a new one (whose statements are prepared again on first use).
 */
#include "pg_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL_DEFAULT 8
#define POOL_MAX 1000
#define POOL_WAIT_DEFAULT_MS 30000
#define MIN_SERVER_VERSION 100000 /* ON CONFLICT, to_regclass(text), DEFERRABLE FKs: PostgreSQL 10+ */

/* ---------------------------------------------------------------------------------------------- */
/* Secrets                                                                                          */
/* ---------------------------------------------------------------------------------------------- */

/* Replace every occurrence of needle (if any) in the malloc'd string *s with "***". */
static void scrub_one(char **s, const char *needle)
{
    if (!*s || !needle || !*needle)
        return;
    size_t nl = strlen(needle);
    char *hit;
    while ((hit = strstr(*s, needle)) != NULL) {
        char *t = rm__sprintf("%.*s***%s", (int)(hit - *s), *s, hit + nl);
        if (!t) {
            (*s)[0] = '\0'; /* out of memory: say nothing rather than the secret */
            return;
        }
        free(*s);
        *s = t;
    }
}

/* A libpq message made safe and single-line: no password, no trailing newline, tabs as spaces. */
static char *scrub(const rm__pg_pool *p, const char *msg)
{
    char *s = rm__strdup(msg && *msg ? msg : "unknown error");
    if (!s)
        return NULL;
    scrub_one(&s, p ? p->secret : NULL);
    scrub_one(&s, p ? p->secret_raw : NULL);
    for (char *q = s; *q; q++)
        if (*q == '\n' || *q == '\t' || *q == '\r')
            *q = ' ';
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
    return s;
}

/* ---------------------------------------------------------------------------------------------- */
/* The URL                                                                                          */
/* ---------------------------------------------------------------------------------------------- */

void rm__pg_url_clear(rm__pg_url *u)
{
    if (!u)
        return;
    free(u->conninfo);
    free(u->secret_raw);
    memset(u, 0, sizeof(*u));
}

/* The password as written between "user:" and "@" in the authority, or NULL. */
static char *url_password(const char *url)
{
    const char *a = strstr(url, "://");
    if (!a)
        return NULL;
    a += 3;
    size_t alen = strcspn(a, "/?#");
    const char *at = NULL;
    for (const char *q = a; q < a + alen; q++)
        if (*q == '@')
            at = q;
    if (!at)
        return NULL;
    const char *colon = memchr(a, ':', (size_t)(at - a));
    if (!colon || colon + 1 == at)
        return NULL;
    return rm__strndup(colon + 1, (size_t)(at - colon - 1));
}

static bool parse_count(const char *v, size_t len, int64_t lo, int64_t hi, int64_t *out)
{
    if (len == 0 || len > 9)
        return false;
    int64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        n = n * 10 + (v[i] - '0');
    }
    if (n < lo || n > hi)
        return false;
    *out = n;
    return true;
}

static bool key_is(const char *kv, size_t klen, const char *key)
{
    return strlen(key) == klen && strncmp(kv, key, klen) == 0;
}

int rm__pg_url_parse(rm__pg_url *out, const char *url)
{
    memset(out, 0, sizeof(*out));
    out->pool_size = POOL_DEFAULT;
    out->pool_wait_ms = POOL_WAIT_DEFAULT_MS;
    const char *q = strchr(url, '?');
    size_t base_len = q ? (size_t)(q - url) : strlen(url);
    /* Room for the base, the kept parameters and our two defaults. */
    size_t cap = strlen(url) + 64;
    char *ci = malloc(cap);
    out->secret_raw = url_password(url);
    if (!ci) {
        rm__pg_url_clear(out);
        return rm__error_nomem();
    }
    memcpy(ci, url, base_len);
    size_t n = base_len;
    char sep = '?';
    bool has_app = false, has_timeout = false;
    int rc = RM_OK;
    for (const char *kv = q ? q + 1 : NULL; kv && *kv;) {
        size_t len = strcspn(kv, "&");
        size_t klen = strcspn(kv, "=");
        if (klen > len)
            klen = len;
        const char *v = kv + klen + (klen < len ? 1 : 0);
        size_t vlen = len - (size_t)(v - kv);
        int64_t num = 0;
        if (key_is(kv, klen, "pool")) {
            if (!parse_count(v, vlen, 1, POOL_MAX, &num)) {
                rc = rm__error_field("storage_url", "pool must be a whole number from 1 to 1000");
                goto fail;
            }
            out->pool_size = (size_t)num;
        } else if (key_is(kv, klen, "pool_timeout")) {
            if (!parse_count(v, vlen, 1, 3600, &num)) {
                rc = rm__error_field("storage_url", "pool_timeout must be a whole number of seconds from 1 to 3600");
                goto fail;
            }
            out->pool_wait_ms = num * 1000;
        } else if (len > 0) {
            has_app |= key_is(kv, klen, "application_name");
            has_timeout |= key_is(kv, klen, "connect_timeout");
            ci[n++] = sep;
            memcpy(ci + n, kv, len);
            n += len;
            sep = '&';
        }
        kv += len;
        if (*kv == '&')
            kv++;
    }
    /* Name our sessions (pg_stat_activity) and do not hang for minutes on an unreachable host. */
    if (!has_app) {
        n += (size_t)snprintf(ci + n, cap - n, "%capplication_name=libresumate", sep);
        sep = '&';
    }
    if (!has_timeout)
        n += (size_t)snprintf(ci + n, cap - n, "%cconnect_timeout=10", sep);
    ci[n] = '\0';

    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(ci, &err);
    if (!opts) {
        rm__pg_pool tmp = {.secret_raw = out->secret_raw};
        char *why = err ? scrub(&tmp, err) : NULL;
        char *msg = rm__sprintf("invalid PostgreSQL URL: %s", why ? why : "out of memory");
        rc = rm__error_field("storage_url", msg ? msg : "invalid PostgreSQL URL");
        free(msg);
        free(why);
        PQfreemem(err);
        goto fail;
    }
    PQconninfoFree(opts);
    out->conninfo = ci;
    return RM_OK;
fail:
    free(ci);
    rm__pg_url_clear(out);
    return rc;
}

/* ---------------------------------------------------------------------------------------------- */
/* Connections                                                                                      */
/* ---------------------------------------------------------------------------------------------- */

static void conn_free(rm__pg_conn *c)
{
    if (!c)
        return;
    PQfinish(c->pg);
    free(c);
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int conn_open(rm__pg_pool *p, rm__pg_conn **out)
{
    *out = NULL;
    rm__pg_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return rm__error_nomem();
    c->pg = PQconnectdb(p->conninfo);
    int rc = RM_OK;
    if (!c->pg) {
        rc = rm__error_nomem();
    } else if (PQstatus(c->pg) != CONNECTION_OK) {
        char *why = scrub(p, PQerrorMessage(c->pg));
        rc = rm__error_set(RM_ESTORAGE, "postgres: cannot connect: %s", why ? why : "out of memory");
        free(why);
    } else if (PQserverVersion(c->pg) < MIN_SERVER_VERSION) {
        rc = rm__error_set(RM_ESTORAGE, "postgres: server version %d is too old (10 or newer is needed)",
                           PQserverVersion(c->pg));
    } else if (PQsetClientEncoding(c->pg, "UTF8") != 0) {
        rc = rm__error_set(RM_ESTORAGE, "postgres: cannot set the client encoding to UTF8");
    } else {
        PQsetNoticeProcessor(c->pg, ignore_notice, NULL); /* a library does not write to stderr */
    }
    if (rc != RM_OK) {
        conn_free(c);
        return rc;
    }
    *out = c;
    return RM_OK;
}

/*
 * Is an idle connection still usable? Nothing should arrive on a connection nobody is using (we never
 * LISTEN): a readable socket means the server is going away or already gone (a FATAL message
 * followed by EOF, after pg_terminate_backend or a shutdown). Such a connection is replaced rather
 * than trusted, since its EOF may not have arrived yet.
 */
static bool conn_alive(rm__pg_conn *c)
{
    if (PQstatus(c->pg) != CONNECTION_OK || PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        return false;
    struct pollfd pfd = {.fd = PQsocket(c->pg), .events = POLLIN};
    if (pfd.fd < 0)
        return false;
    int n;
    do
        n = poll(&pfd, 1, 0);
    while (n < 0 && errno == EINTR);
    return n == 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* The pool                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

int rm__pg_pool_init(rm__pg_pool *p, rm__pg_url *u, const rm__pg_stmt *stmts, int n_stmts)
{
    memset(p, 0, sizeof(*p));
    if (n_stmts > RM__PG_MAX_STMTS)
        return rm__error_set(RM_ESTORAGE, "postgres: too many statements");
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return rm__error_nomem();
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int e1 = pthread_mutex_init(&p->mu, NULL);
    int e2 = pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (e1 != 0 || e2 != 0) {
        if (e1 == 0)
            pthread_mutex_destroy(&p->mu);
        if (e2 == 0)
            pthread_cond_destroy(&p->cv);
        return rm__error_nomem();
    }
    p->idle = calloc(u->pool_size, sizeof(*p->idle));
    if (!p->idle) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        return rm__error_nomem();
    }
    p->stmts = stmts;
    p->n_stmts = n_stmts;
    p->max = u->pool_size;
    p->wait_ms = u->pool_wait_ms;
    p->conninfo = u->conninfo;
    p->secret_raw = u->secret_raw;
    u->conninfo = NULL;
    u->secret_raw = NULL;
    /* The password as libpq sees it (decoded, or from a password= parameter), to scrub it too. */
    PQconninfoOption *opts = PQconninfoParse(p->conninfo, NULL);
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
            p->secret = rm__strdup(o->val);
    PQconninfoFree(opts);
    return RM_OK;
}

static void wipe(char *s)
{
    if (s) {
        volatile char *v = s;
        while (*v)
            *v++ = 0;
        free(s);
    }
}

void rm__pg_pool_clear(rm__pg_pool *p)
{
    if (!p || !p->idle)
        return;
    for (size_t i = 0; i < p->n_idle; i++)
        conn_free(p->idle[i]);
    free(p->idle);
    wipe(p->conninfo);
    wipe(p->secret);
    wipe(p->secret_raw);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    memset(p, 0, sizeof(*p));
}

static void deadline_after(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* A connection slot was given up (closed connection or failed open): let a waiter use it. */
static void slot_free(rm__pg_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->n_open--;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int rm__pg_lease(rm__pg_pool *p, rm__pg_conn **out)
{
    struct timespec deadline;
    deadline_after(&deadline, p->wait_ms);
    *out = NULL;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->n_idle > 0) {
            rm__pg_conn *c = p->idle[--p->n_idle];
            pthread_mutex_unlock(&p->mu);
            if (conn_alive(c)) {
                *out = c;
                return RM_OK;
            }
            conn_free(c); /* its server session is gone: replace it */
            pthread_mutex_lock(&p->mu);
            p->n_open--;
            continue;
        }
        if (p->n_open < p->max) {
            p->n_open++;
            pthread_mutex_unlock(&p->mu);
            int rc = conn_open(p, out);
            if (rc != RM_OK)
                slot_free(p);
            return rc;
        }
        int e = pthread_cond_timedwait(&p->cv, &p->mu, &deadline);
        if (e == ETIMEDOUT && p->n_idle == 0 && p->n_open >= p->max) {
            pthread_mutex_unlock(&p->mu);
            return rm__error_set(RM_ESTORAGE, "postgres: no free connection within %lld ms (pool of %zu)",
                                 (long long)p->wait_ms, p->max);
        }
    }
}

void rm__pg_give(rm__pg_pool *p, rm__pg_conn *c)
{
    if (!c)
        return;
    if (!c->broken && PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        /* A member left a transaction open on an error path: never hand that to the next caller. */
        PGresult *r = PQexec(c->pg, "ROLLBACK");
        PQclear(r);
        if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
            c->broken = true;
    }
    if (c->broken || PQstatus(c->pg) != CONNECTION_OK) {
        conn_free(c);
        slot_free(p);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->idle[p->n_idle++] = c;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* ---------------------------------------------------------------------------------------------- */
/* Running statements                                                                               */
/* ---------------------------------------------------------------------------------------------- */

/* What a data exception (SQLSTATE class 22) means, without the offending value libpq would quote. */
static const char *data_error(const char *state)
{
    static const struct { const char *code, *text; } known[] = {
        {"22001", "a value is too long for its column"},
        {"22003", "a number is out of range"},
        {"22007", "invalid date or time"},
        {"22008", "date or time out of range"},
        {"22021", "invalid byte sequence for the encoding"},
        {"22P02", "invalid input syntax"},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
        if (strcmp(state, known[i].code) == 0)
            return known[i].text;
    return "invalid data";
}

int rm__pg_fail(rm__pg_pool *p, rm__pg_conn *c, const PGresult *res, const char *what)
{
    if (!res || PQstatus(c->pg) != CONNECTION_OK) {
        c->broken = true;
        char *why = scrub(p, PQerrorMessage(c->pg));
        int rc = rm__error_set(RM_ESTORAGE, "postgres: connection to the server lost during %s: %s", what,
                               why ? why : "out of memory");
        free(why);
        return rc;
    }
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    if (!state)
        state = "";
    if (strcmp(state, "23505") == 0)
        return rm__error_set(RM_ECONFLICT, "postgres: %s: duplicate value violates unique constraint %s", what,
                             constraint ? constraint : "(unnamed)");
    if (strncmp(state, "22", 2) == 0) /* the primary message may quote the value: leave it out */
        return rm__error_set(RM_ESTORAGE, "postgres: %s: %s (SQLSTATE %s)", what, data_error(state), state);
    char *why = scrub(p, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
    int rc = rm__error_set(RM_ESTORAGE, "postgres: %s: %s (SQLSTATE %s)", what, why ? why : "out of memory", state);
    free(why);
    return rc;
}

static bool result_ok(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    return r && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
}

int rm__pg_exec(rm__pg_pool *p, rm__pg_conn *c, int id, const char *const *params, PGresult **res)
{
    *res = NULL;
    if (id < 0 || id >= p->n_stmts)
        return rm__error_set(RM_ESTORAGE, "postgres: unknown statement %d", id);
    const rm__pg_stmt *s = &p->stmts[id];
    char name[16];
    snprintf(name, sizeof(name), "rm_%d", id);
    if (!c->prepared[id]) {
        PGresult *r = PQprepare(c->pg, name, s->sql, s->nparams, NULL);
        if (!result_ok(r)) {
            int rc = rm__pg_fail(p, c, r, "prepare");
            PQclear(r);
            return rc;
        }
        PQclear(r);
        c->prepared[id] = 1;
    }
    /* Results in binary: the server sends values as stored (no per-row text formatting). */
    PGresult *r = PQexecPrepared(c->pg, name, s->nparams, params, NULL, NULL, 1);
    if (!result_ok(r)) {
        int rc = rm__pg_fail(p, c, r, "query");
        PQclear(r);
        return rc;
    }
    *res = r;
    return RM_OK;
}

int rm__pg_command(rm__pg_pool *p, rm__pg_conn *c, const char *sql, const char *what)
{
    PGresult *r = PQexec(c->pg, sql);
    int rc = result_ok(r) ? RM_OK : rm__pg_fail(p, c, r, what ? what : sql);
    PQclear(r);
    return rc;
}
