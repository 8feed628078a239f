/* Internal interface of the PostgreSQL backend: pg.c (members), pg_pool.c (connections), pg_schema.c. */
#ifndef RM_STORAGE_PG_INTERNAL_H
#define RM_STORAGE_PG_INTERNAL_H

#include "../core/internal.h"
#include "internal.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>

/* ---- statements (defined in pg.c) ---- */

/* A statement the backend prepares once per connection (on first use) and runs with text parameters. */
typedef struct rm__pg_stmt {
    const char *sql;
    int nparams;
    bool readonly; /* safe to run again on a fresh connection if the first one turned out dead */
} rm__pg_stmt;

#define RM__PG_MAX_STMTS 64

/* ---- one connection ---- */

typedef struct rm__pg_conn {
    PGconn *pg;
    bool broken;                           /* the server went away: drop instead of returning it */
    unsigned char prepared[RM__PG_MAX_STMTS]; /* statement i is prepared on this connection */
} rm__pg_conn;

/* ---- a bounded pool of connections to one server ---- */

/*
 * Every thread shares the pool. A call leases one connection, runs its statements and gives it back
 * before any sink runs, so sinks may call the storage again. Connections open lazily up to `max`.
 * The backend holds one pool for the primary; a second one for read replicas can be added beside it
 * (reads choose their pool; writes always use the primary).
 */
typedef struct rm__pg_pool {
    char *conninfo;          /* libpq URL without our own parameters (holds the password: never print it) */
    char *secret;            /* the password, to scrub from libpq's messages; NULL when there is none */
    char *secret_raw;        /* the password as written (percent-encoded) in the URL */
    const rm__pg_stmt *stmts;
    int n_stmts;
    size_t max;              /* at most this many connections, leased or idle */
    int64_t wait_ms;         /* how long a lease waits for a free connection */
    pthread_mutex_t mu;      /* guards the fields below */
    pthread_cond_t cv;       /* a connection came back or a slot freed */
    rm__pg_conn **idle;      /* free connections (a stack) */
    size_t n_idle, n_open;   /* n_open counts leased, idle and being-opened connections */
} rm__pg_pool;

/* Parsed storage URL: libpq's URL (our parameters removed, defaults added) and the pool settings. */
typedef struct rm__pg_url {
    char *conninfo;
    char *secret_raw;
    size_t pool_size;
    int64_t pool_wait_ms;
} rm__pg_url;

/* Split a postgres:// URL. RM_OK, RM_EINVALID (field "storage_url", message without secrets), RM_ENOMEM. */
int rm__pg_url_parse(rm__pg_url *out, const char *url);
void rm__pg_url_clear(rm__pg_url *u);

/* Initialise a pool (takes ownership of u's strings) without connecting. */
int rm__pg_pool_init(rm__pg_pool *p, rm__pg_url *u, const rm__pg_stmt *stmts, int n_stmts);
/* Close every idle connection and free the pool's memory (all leases must have been given back). */
void rm__pg_pool_clear(rm__pg_pool *p);

/* Lease a live connection (opening one if allowed, or waiting up to wait_ms). */
int rm__pg_lease(rm__pg_pool *p, rm__pg_conn **out);
/* Give a connection back; a broken one (or one left inside a transaction) is closed instead. */
void rm__pg_give(rm__pg_pool *p, rm__pg_conn *c);

/*
 * Run prepared statement `id` with text parameters (NULL = SQL NULL). On success *res holds a result of
 * PGRES_TUPLES_OK or PGRES_COMMAND_OK, with its values in binary format, that the caller PQclear()s. On failure *res is NULL and the
 * return value is RM_ECONFLICT (unique violation) or RM_ESTORAGE, with the error set; a lost
 * connection also marks c broken.
 */
int rm__pg_exec(rm__pg_pool *p, rm__pg_conn *c, int id, const char *const *params, PGresult **res);
/* Run a parameterless command (BEGIN, COMMIT, DDL) through the simple query protocol; `what` names it
 * in error messages (NULL: the SQL itself). */
int rm__pg_command(rm__pg_pool *p, rm__pg_conn *c, const char *sql, const char *what);
/* Set the error for a failed result (res may be NULL) and return the status; `what` names the step. */
int rm__pg_fail(rm__pg_pool *p, rm__pg_conn *c, const PGresult *res, const char *what);

/* ---- the user cache of token checks (pg.c) ---- */

/* Replace the clock (milliseconds, monotonic) of the user cache of a PostgreSQL handle; NULL restores
 * the real one. For tests, which must not depend on how fast they run. No effect on other handles. */
void rm__pg_set_user_cache_clock(rm_storage *s, int64_t (*now_ms)(void));

/* ---- schema (pg_schema.c) ---- */

#define RM__PG_SCHEMA_VERSION 1

/* Create the missing tables (all of them on an empty database, only ours on a Django one) under a
 * transaction-scoped advisory lock, and refuse a schema newer than this library. */
int rm__pg_schema_ensure(rm__pg_pool *p, rm__pg_conn *c);

#endif
