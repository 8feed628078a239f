/*
 * The PostgreSQL storage backend (libpq): the vtable members.
 *
 * Every member runs prepared statements (pg_pool.c prepares each once per connection) with text
 * parameters, so text travels verbatim and no value is ever spliced into SQL. A member leases one
 * connection from the pool, runs its statement(s), gives the connection back and only then feeds the
 * rows to the sink: a sink may call the storage again without deadlocking the pool.
 *
 * Two-part changes are single statements with data-modifying CTEs (resume delete + nulling
 * resume_used, a user with its rm_user_ext row), which PostgreSQL runs atomically; the AI model
 * writes need a case-insensitive uniqueness check that Django's schema has no index for, so they run
 * in a transaction that first takes an advisory lock. The daily usage increment is one
 * INSERT … ON CONFLICT DO UPDATE … WHERE count < limit RETURNING count: no row back means the limit
 * was reached.
 *
 * Results come back in binary format (pg_pool.c), read only through the c_*() helpers below, which
 * accept int2/int4/int8, bool, text-like and timestamptz columns in either format. Times: records
 * carry microseconds since the epoch, the tables timestamptz. Parameters go as text through TS() (exact
 * integer arithmetic in SQL); columns come back as they are stored — a binary timestamptz is int8
 * microseconds since 2000-01-01 — and c_time() moves them to the epoch: exact, and no per-row date
 * arithmetic or text formatting on the server.
 */
#include "pg_internal.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Parameter $n (int8 microseconds, NULL for RM_NO_TIME) as a timestamptz. */
#define TS(n) \
    "(timestamptz 'epoch' + ($" n "::int8 / 1000000) * interval '1 second' + ($" n "::int8 % 1000000) * interval '1 microsecond')"
/* A timestamptz column, read with c_time() (binary: microseconds since 2000-01-01; NULL stays NULL). */
#define US(col) col

/* pg_advisory_xact_lock key serialising AI model name changes ("rmainame"). */
#define AI_NAME_LOCK_KEY "8245353598236585317"

enum {
    ST_PING,
    ST_USER_INSERT,
    ST_USER_GET_ID,
    ST_USER_GET_NAME,
    ST_USER_UPDATE,
    ST_RESUME_INSERT,
    ST_RESUME_GET,
    ST_RESUME_LIST,
    ST_RESUME_UPDATE,
    ST_RESUME_DELETE,
    ST_APP_INSERT,
    ST_APP_GET_USER,
    ST_APP_GET_EXAMPLE,
    ST_APP_LIST_USER,
    ST_APP_LIST_EXAMPLE,
    ST_APP_UPDATE,
    ST_APP_DELETE,
    ST_AI_LOCK,
    ST_AI_NAME_TAKEN,
    ST_AI_INSERT,
    ST_AI_EXT_UPSERT,
    ST_AI_GET_ID,
    ST_AI_GET_NAME,
    ST_AI_LIST,
    ST_AI_UPDATE,
    ST_TOKEN_DENY,
    ST_TOKEN_IS_DENIED,
    ST_TOKEN_PRUNE,
    ST_USAGE_INCREMENT,
    ST_USAGE_GET,
    ST_USAGE_RELEASE,
    ST_IDEM_PUT,
    ST_IDEM_GET,
    ST_IDEM_PRUNE,
    ST_USER_SCAN,
    ST_RESUME_SCAN,
    ST_APP_SCAN,
    ST_TOKEN_SCAN,
    ST_USAGE_SCAN,
    ST_IDEM_SCAN,
    ST_USER_IMPORT,
    ST_RESUME_IMPORT,
    ST_APP_IMPORT,
    ST_AI_IMPORT,
    ST_USAGE_SET,
    ST_RESUME_COUNT,
    ST_APP_COUNT_USER,
    ST_APP_COUNT_EXAMPLE,
    ST_COUNT
};

#define USER_SEL                                                                                          \
    "SELECT u.id, u.username, u.email, u.password, u.first_name, u.last_name, u.is_active, u.is_staff, "   \
    "u.is_superuser, " US("u.date_joined") ", " US("u.last_login") ", " US("x.tokens_valid_after") " "      \
    "FROM auth_user u LEFT JOIN rm_user_ext x ON x.user_id = u.id "

#define RESUME_SEL \
    "SELECT id, user_id, title, content, " US("created_at") ", " US("updated_at") " FROM resume_resume "

#define APP_SEL                                                                                              \
    "SELECT id, user_id, job_title, company_name, original_job_description, to_char(date_applied, 'YYYY-MM-DD'), " \
    "status, notes, is_deleted, is_example, resume_used_id, " US("created_at") ", " US("updated_at") " "   \
    "FROM job_tracker_jobapplication "

/* Both application lists: $1 user, $2 has_after, $3 after_time, $4 after_id, $5 limit (NULL: all),
 * $6 offset, $7 status (NULL: any). */
#define APP_LIST_TAIL                                                                        \
    " AND NOT is_deleted AND ($7::text IS NULL OR status = $7::text)"                          \
    " AND ($2::bool IS NOT TRUE OR (created_at, id) < (" TS("3") ", $4::int8))"               \
    " ORDER BY created_at DESC, id DESC LIMIT $5::int8 OFFSET $6::int8"

#define AI_SEL                                                                                                \
    "SELECT m.id, m.display_name, m.model_name, m.api_provider, m.api_key_name, m.is_active, m.login_required, " \
    "m.daily_limit, m.response_time_info, m.description, " US("m.created_at") ", " US("m.updated_at") ", "     \
    "x.base_url FROM ai_aimodel m LEFT JOIN rm_ai_model_ext x ON x.model_id = m.id "

/* After an import into `table` (CTE `i` returning the new id): move the table's sequence to the highest
 * id, so later inserts continue past the imported rows. The statement answers with that id. */
#define SEQ_PAST(table) \
    " SELECT setval(pg_get_serial_sequence('" table "', 'id'), GREATEST(i.id, (SELECT COALESCE(max(id), 1) FROM " \
    table "))) FROM i"

/* Counts: $1 user, $2 status (applications); search terms follow. */
#define RESUME_COUNT_SQL "SELECT count(*) FROM resume_resume WHERE user_id = $1::int8"
#define APP_COUNT_USER_SQL \
    "SELECT count(*) FROM job_tracker_jobapplication WHERE user_id = $1::int8 AND NOT is_deleted AND ($2::text IS NULL OR status = $2::text)"
#define APP_COUNT_EXAMPLE_SQL \
    "SELECT count(*) FROM job_tracker_jobapplication WHERE $1::int8 = 0 AND is_example AND NOT is_deleted AND ($2::text IS NULL OR status = $2::text)"

#define R(sql_, n_) {.sql = (sql_), .nparams = (n_), .readonly = true}
#define W(sql_, n_) {.sql = (sql_), .nparams = (n_), .readonly = false}

static const rm__pg_stmt stmts[ST_COUNT] = {
    [ST_PING] = R("SELECT 1", 0),

    /* One statement: the user and, when set, its tokens_valid_after. */
    [ST_USER_INSERT] = W("WITH u AS (INSERT INTO auth_user (password, last_login, is_superuser, username, first_name, "
                         "last_name, email, is_staff, is_active, date_joined) VALUES ($1::text, " TS("2") ", $3::bool, "
                         "$4::text, $5::text, $6::text, $7::text, $8::bool, $9::bool, " TS("10") ") RETURNING id), "
                         "x AS (INSERT INTO rm_user_ext (user_id, tokens_valid_after) SELECT id, " TS("11") " FROM u "
                         "WHERE $11::int8 IS NOT NULL) SELECT id FROM u",
                         11),
    [ST_USER_GET_ID] = R(USER_SEL "WHERE u.id = $1::int8", 1),
    [ST_USER_GET_NAME] = R(USER_SEL "WHERE u.username = $1::text", 1),
    [ST_USER_UPDATE] = W("WITH u AS (UPDATE auth_user SET password = $2::text, last_login = " TS("3") ", "
                         "is_superuser = $4::bool, username = $5::text, first_name = $6::text, last_name = $7::text, "
                         "email = $8::text, is_staff = $9::bool, is_active = $10::bool WHERE id = $1::int8 RETURNING id), "
                         "x AS (INSERT INTO rm_user_ext (user_id, tokens_valid_after) SELECT id, " TS("11") " FROM u "
                         "ON CONFLICT (user_id) DO UPDATE SET tokens_valid_after = EXCLUDED.tokens_valid_after) "
                         "SELECT count(*) FROM u",
                         11),

    [ST_RESUME_INSERT] = W("INSERT INTO resume_resume (title, content, created_at, updated_at, user_id) "
                           "VALUES ($1::text, $2::text, " TS("3") ", " TS("4") ", $5::int8) RETURNING id",
                           5),
    [ST_RESUME_GET] = R(RESUME_SEL "WHERE id = $1::int8 AND user_id = $2::int8", 2),
    [ST_RESUME_LIST] = R(RESUME_SEL "WHERE user_id = $1::int8"
                                    " AND ($2::bool IS NOT TRUE OR (updated_at, id) < (" TS("3") ", $4::int8))"
                                    " ORDER BY updated_at DESC, id DESC LIMIT $5::int8 OFFSET $6::int8",
                         6),
    [ST_RESUME_UPDATE] = W("UPDATE resume_resume SET title = $3::text, content = $4::text, updated_at = " TS("5")
                           " WHERE id = $1::int8 AND user_id = $2::int8",
                           5),
    /* Both parts in one statement, so both or neither happen; the foreign key is checked at commit. */
    [ST_RESUME_DELETE] = W("WITH d AS (DELETE FROM resume_resume WHERE id = $1::int8 AND user_id = $2::int8 RETURNING id), "
                           "n AS (UPDATE job_tracker_jobapplication SET resume_used_id = NULL "
                           "WHERE resume_used_id IN (SELECT id FROM d)) SELECT count(*) FROM d",
                           2),

    [ST_APP_INSERT] = W("INSERT INTO job_tracker_jobapplication (job_title, company_name, original_job_description, "
                        "date_applied, status, notes, is_deleted, is_example, created_at, updated_at, resume_used_id, "
                        "user_id) VALUES ($1::text, $2::text, $3::text, $4::date, $5::text, $6::text, $7::bool, "
                        "$8::bool, " TS("9") ", " TS("10") ", $11::int8, $12::int8) RETURNING id",
                        12),
    [ST_APP_GET_USER] = R(APP_SEL "WHERE id = $1::int8 AND user_id = $2::int8 AND NOT is_deleted", 2),
    [ST_APP_GET_EXAMPLE] = R(APP_SEL "WHERE id = $1::int8 AND is_example AND NOT is_deleted", 1),
    [ST_APP_LIST_USER] = R(APP_SEL "WHERE user_id = $1::int8" APP_LIST_TAIL, 7),
    [ST_APP_LIST_EXAMPLE] = R(APP_SEL "WHERE $1::int8 = 0 AND is_example" APP_LIST_TAIL, 7),
    [ST_APP_UPDATE] = W("UPDATE job_tracker_jobapplication SET job_title = $3::text, company_name = $4::text, "
                        "original_job_description = $5::text, date_applied = $6::date, status = $7::text, "
                        "notes = $8::text, is_example = $9::bool, resume_used_id = $10::int8, updated_at = " TS("11")
                        " WHERE id = $1::int8 AND user_id = $2::int8 AND NOT is_deleted",
                        11),
    [ST_APP_DELETE] = W("UPDATE job_tracker_jobapplication SET is_deleted = true, updated_at = " TS("3")
                        " WHERE id = $1::int8 AND user_id = $2::int8 AND NOT is_deleted",
                        3),

    [ST_AI_LOCK] = W("SELECT pg_advisory_xact_lock(" AI_NAME_LOCK_KEY ")", 0),
    [ST_AI_NAME_TAKEN] = R("SELECT 1 FROM ai_aimodel WHERE lower(display_name) = lower($1::text) AND id <> $2::int8 LIMIT 1",
                           2),
    [ST_AI_INSERT] = W("INSERT INTO ai_aimodel (display_name, model_name, api_provider, api_key_name, is_active, "
                       "login_required, daily_limit, response_time_info, description, created_at, updated_at) "
                       "VALUES ($1::text, $2::text, $3::text, $4::text, $5::bool, $6::bool, $7::int4, $8::text, "
                       "$9::text, " TS("10") ", " TS("11") ") RETURNING id",
                       11),
    [ST_AI_EXT_UPSERT] = W("INSERT INTO rm_ai_model_ext (model_id, base_url) VALUES ($1::int8, $2::text) "
                           "ON CONFLICT (model_id) DO UPDATE SET base_url = EXCLUDED.base_url",
                           2),
    [ST_AI_GET_ID] = R(AI_SEL "WHERE m.id = $1::int8", 1),
    /* An adopted Django database may hold names differing only in case: prefer the exact one. */
    [ST_AI_GET_NAME] = R(AI_SEL "WHERE lower(m.display_name) = lower($1::text) "
                                "ORDER BY m.display_name = $1::text DESC, m.id LIMIT 1",
                         1),
    /* Byte order of the lower-cased name, like SQLite's NOCASE, whatever the database's collation. */
    [ST_AI_LIST] = R(AI_SEL "WHERE $1::bool IS NOT TRUE OR m.is_active ORDER BY lower(m.display_name) COLLATE \"C\", m.id",
                     1),
    [ST_AI_UPDATE] = W("UPDATE ai_aimodel SET display_name = $2::text, model_name = $3::text, api_provider = $4::text, "
                       "api_key_name = $5::text, is_active = $6::bool, login_required = $7::bool, daily_limit = $8::int4, "
                       "response_time_info = $9::text, description = $10::text, updated_at = " TS("11")
                       " WHERE id = $1::int8",
                       11),

    [ST_TOKEN_DENY] = W("INSERT INTO rm_token_denylist (jti, user_id, expires_at) VALUES ($1::text, $2::int8, " TS("3")
                        ") ON CONFLICT (jti) DO NOTHING",
                        3),
    [ST_TOKEN_IS_DENIED] = R("SELECT 1 FROM rm_token_denylist WHERE jti = $1::text", 1),
    [ST_TOKEN_PRUNE] = W("DELETE FROM rm_token_denylist WHERE expires_at <= " TS("1"), 1),

    /* Counts unless the limit ($4 > 0) is reached; no row comes back when it is. */
    [ST_USAGE_INCREMENT] = W("INSERT INTO rm_daily_usage AS d (user_id, model_id, day, count) "
                             "VALUES ($1::int8, $2::int8, $3::date, 1) ON CONFLICT (user_id, model_id, day) "
                             "DO UPDATE SET count = d.count + 1 WHERE $4::int4 <= 0 OR d.count < $4::int4 "
                             "RETURNING d.count",
                             4),
    [ST_USAGE_GET] = R("SELECT count FROM rm_daily_usage WHERE user_id = $1::int8 AND model_id = $2::int8 "
                       "AND day = $3::date",
                       3),
    [ST_USAGE_RELEASE] = W("UPDATE rm_daily_usage SET count = count - 1 WHERE user_id = $1::int8 "
                           "AND model_id = $2::int8 AND day = $3::date AND count > 0",
                           3),

    [ST_IDEM_PUT] = W("INSERT INTO rm_idempotency (user_id, key, resume_id, created_at) "
                      "VALUES ($1::int8, $2::text, $3::int8, " TS("4") ")",
                      4),
    [ST_IDEM_GET] = R("SELECT resume_id FROM rm_idempotency WHERE user_id = $1::int8 AND key = $2::text "
                      "AND ($3::int8 IS NULL OR created_at >= " TS("3") ")",
                      3),
    [ST_IDEM_PRUNE] = W("DELETE FROM rm_idempotency WHERE created_at < " TS("1"), 1),

    /* Export and import (vtable version 2). */
    [ST_USER_SCAN] = R(USER_SEL "ORDER BY u.id", 0),
    [ST_RESUME_SCAN] = R(RESUME_SEL "ORDER BY id", 0),
    [ST_APP_SCAN] = R(APP_SEL "ORDER BY id", 0),
    [ST_TOKEN_SCAN] = R("SELECT jti, user_id, " US("expires_at") " FROM rm_token_denylist ORDER BY jti COLLATE \"C\"", 0),
    [ST_USAGE_SCAN] = R("SELECT user_id, model_id, to_char(day, 'YYYY-MM-DD'), count FROM rm_daily_usage "
                        "ORDER BY user_id, model_id, day",
                        0),
    [ST_IDEM_SCAN] = R("SELECT key, user_id, resume_id, " US("created_at") " FROM rm_idempotency "
                       "ORDER BY user_id, key COLLATE \"C\"",
                       0),
    [ST_USER_IMPORT] = W("WITH i AS (INSERT INTO auth_user (password, last_login, is_superuser, username, first_name, "
                         "last_name, email, is_staff, is_active, date_joined, id) VALUES ($1::text, " TS("2") ", $3::bool, "
                         "$4::text, $5::text, $6::text, $7::text, $8::bool, $9::bool, " TS("10") ", $12::int8) RETURNING id), "
                         "x AS (INSERT INTO rm_user_ext (user_id, tokens_valid_after) SELECT id, " TS("11") " FROM i "
                         "WHERE $11::int8 IS NOT NULL)" SEQ_PAST("auth_user"),
                         12),
    [ST_RESUME_IMPORT] = W("WITH i AS (INSERT INTO resume_resume (title, content, created_at, updated_at, user_id, id) "
                           "VALUES ($1::text, $2::text, " TS("3") ", " TS("4") ", $5::int8, $6::int8) RETURNING id)"
                           SEQ_PAST("resume_resume"),
                           6),
    [ST_APP_IMPORT] = W("WITH i AS (INSERT INTO job_tracker_jobapplication (job_title, company_name, "
                        "original_job_description, date_applied, status, notes, is_deleted, is_example, created_at, "
                        "updated_at, resume_used_id, user_id, id) VALUES ($1::text, $2::text, $3::text, $4::date, "
                        "$5::text, $6::text, $7::bool, $8::bool, " TS("9") ", " TS("10") ", $11::int8, $12::int8, "
                        "$13::int8) RETURNING id)" SEQ_PAST("job_tracker_jobapplication"),
                        13),
    [ST_AI_IMPORT] = W("WITH i AS (INSERT INTO ai_aimodel (display_name, model_name, api_provider, api_key_name, "
                       "is_active, login_required, daily_limit, response_time_info, description, created_at, updated_at, id) "
                       "VALUES ($1::text, $2::text, $3::text, $4::text, $5::bool, $6::bool, $7::int4, $8::text, "
                       "$9::text, " TS("10") ", " TS("11") ", $12::int8) RETURNING id)" SEQ_PAST("ai_aimodel"),
                       12),
    [ST_USAGE_SET] = W("INSERT INTO rm_daily_usage (user_id, model_id, day, count) VALUES ($1::int8, $2::int8, "
                       "$3::date, $4::int4) ON CONFLICT (user_id, model_id, day) DO UPDATE SET count = EXCLUDED.count",
                       4),

    /* Counts without search (vtable version 3); with search terms the statement is built per call. */
    [ST_RESUME_COUNT] = R(RESUME_COUNT_SQL, 1),
    [ST_APP_COUNT_USER] = R(APP_COUNT_USER_SQL, 2),
    [ST_APP_COUNT_EXAMPLE] = R(APP_COUNT_EXAMPLE_SQL, 2),
};

#undef R
#undef W

/*
 * Read replicas (URL parameter `replica=<percent-encoded postgres URL>`, repeatable; see rm_storage_open).
 * Writes, transactions and the reads that decide authentication or must not be stale (users, the token
 * denylist, idempotency keys) always use the primary. Other reads use a replica, round robin, except
 * within `replica_lag` seconds (default 5) after the latest write made through this handle by any
 * thread: then they use the primary too, so a caller always reads its own writes (as long as the
 * replicas lag by less than that). A replica that fails (cannot connect, connection lost, any error) is
 * skipped for REPLICA_DOWN_MS and the read goes to the next replica or the primary.
 */
#define MAX_REPLICAS 8
#define REPLICA_LAG_DEFAULT_MS 5000
#define REPLICA_DOWN_MS 5000

/*
 * The user cache of token checks (URL parameter `user_cache_ttl=S`, 0 to 1 s, default 1; 0 disables it).
 * Only rm__storage_user_get_for_token() reads it — the user check of every request carrying an access
 * token — so that check costs no round trip while the entry is fresh; every other user read (logins,
 * refresh, rm_user_get, the read before a user update) goes to the database. An entry is used while
 *   - it is younger than the TTL, counted from the moment its read started, and
 *   - no user was written (insert, update, import) through any PostgreSQL handle of this process
 *     since its read started (user_writes below, bumped after each such write returns).
 * So a password change, deactivation or tokens_valid_after made in this process refuses the old tokens
 * at once; one made by another process (another server, resumate-admin, Django, SQL) within the TTL.
 */
#define USER_CACHE_TTL_DEFAULT_MS 1000
#define USER_CACHE_TTL_MAX_MS 1000
#define USER_SLOTS 1024 /* direct-mapped by id */

typedef struct cached_user {
    atomic_int refs;       /* the slot's reference and the readers' */
    int64_t fetched_ms;    /* the cache clock when its read started */
    uint64_t gen;          /* user_writes when its read started */
    size_t size;           /* bytes of this block, to wipe it (it holds the password hash) */
    rm_user_record rec;    /* strings point into the block, after this struct */
} cached_user;

typedef struct user_slot {
    pthread_mutex_t mu;
    cached_user *u; /* NULL or the latest entry whose id maps here */
} user_slot;

/* User writes made through any PostgreSQL handle of this process. */
static _Atomic uint64_t user_writes;

typedef struct rm_pg {
    rm__pg_pool primary;
    rm__pg_pool replicas[MAX_REPLICAS];
    size_t n_replicas;
    int64_t lag_ms;                              /* read-your-writes window */
    _Atomic int64_t last_write_ms;               /* monotonic time of the latest write */
    _Atomic int64_t down_until_ms[MAX_REPLICAS]; /* skip replica i until then */
    atomic_size_t next_replica;                  /* round robin */
    int64_t user_ttl_ms;                         /* the user cache's TTL; 0: no cache */
    user_slot *users;                            /* USER_SLOTS slots, NULL without a cache */
    int64_t (*cache_now_ms)(void);               /* the user cache's clock (monotonic; tests replace it) */
} rm_pg;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads that may be served by a replica: lists and gets of resumes, applications, models, usage. */
static bool replica_read(int id)
{
    switch (id) {
    case ST_RESUME_GET:
    case ST_RESUME_LIST:
    case ST_APP_GET_USER:
    case ST_APP_GET_EXAMPLE:
    case ST_APP_LIST_USER:
    case ST_APP_LIST_EXAMPLE:
    case ST_AI_GET_ID:
    case ST_AI_GET_NAME:
    case ST_AI_LIST:
    case ST_USAGE_GET:
    case ST_RESUME_COUNT:
    case ST_APP_COUNT_USER:
    case ST_APP_COUNT_EXAMPLE:
        return true;
    default:
        return false;
    }
}

/* One statement to run: a prepared one (id >= 0), or SQL built for this call (id < 0; always a read). */
typedef struct {
    int id;
    const char *sql;
    int nparams;
} pg_stmt;

static bool stmt_readonly(const pg_stmt *s) { return s->id < 0 || stmts[s->id].readonly; }
static bool stmt_on_replica(const pg_stmt *s) { return s->id < 0 || replica_read(s->id); }

/* Execute on a leased connection; results in binary format either way. */
static int exec_stmt(rm__pg_pool *p, rm__pg_conn *c, const pg_stmt *s, const char *const *params, PGresult **res)
{
    if (s->id >= 0)
        return rm__pg_exec(p, c, s->id, params, res);
    PGresult *r = PQexecParams(c->pg, s->sql, s->nparams, NULL, params, NULL, NULL, 1);
    if (r && PQresultStatus(r) == PGRES_TUPLES_OK) {
        *res = r;
        return RM_OK;
    }
    int rc = rm__pg_fail(p, c, r, "query");
    PQclear(r);
    return rc;
}

/* Try the replicas that are not marked down, round robin. RM_OK with *res, or not RM_OK: use the primary. */
static int run_on_replica(rm_pg *pg, const pg_stmt *s, const char *const *params, PGresult **res)
{
    int64_t now = mono_ms();
    if (pg->n_replicas == 0 || now - atomic_load(&pg->last_write_ms) < pg->lag_ms)
        return RM_ESTORAGE;
    size_t start = atomic_fetch_add(&pg->next_replica, 1);
    for (size_t k = 0; k < pg->n_replicas; k++) {
        size_t i = (start + k) % pg->n_replicas;
        if (atomic_load(&pg->down_until_ms[i]) > now)
            continue;
        rm__pg_conn *c = NULL;
        int rc = rm__pg_lease(&pg->replicas[i], &c);
        if (rc == RM_OK) {
            rc = exec_stmt(&pg->replicas[i], c, s, params, res);
            rm__pg_give(&pg->replicas[i], c);
            if (rc == RM_OK)
                return RM_OK;
        }
        atomic_store(&pg->down_until_ms[i], mono_ms() + REPLICA_DOWN_MS);
    }
    return RM_ESTORAGE;
}

/* ---------------------------------------------------------------------------------------------- */
/* Parameters and columns                                                                           */
/* ---------------------------------------------------------------------------------------------- */

typedef char numbuf[24];

static const char *p_int(numbuf b, int64_t v)
{
    snprintf(b, sizeof(numbuf), "%lld", (long long)v);
    return b;
}

static const char *p_time(numbuf b, int64_t us) { return us == RM_NO_TIME ? NULL : p_int(b, us); }
static const char *p_ref(numbuf b, int64_t id) { return id == 0 ? NULL : p_int(b, id); } /* 0 is NULL */
static const char *p_bool(int v) { return v ? "t" : "f"; }

/* Columns. Text-like values read the same in both formats (libpq ends binary values with a NUL too). */
static const char *c_opt(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static const char *c_str(const PGresult *r, int row, int col) { return PQgetvalue(r, row, col); }

static bool c_binary(const PGresult *r, int col) { return PQfformat(r, col) == 1; }

/* A big-endian two's-complement integer of n bytes (2, 4 or 8: int2, int4, int8, and timestamptz). */
static int64_t be_int(const char *v, int n)
{
    uint64_t u = 0;
    for (int i = 0; i < n; i++)
        u = u << 8 | (unsigned char)v[i];
    if (n < 8 && (u >> (8 * n - 1)) & 1)
        u |= ~UINT64_C(0) << (8 * n); /* sign-extend */
    return (int64_t)u;
}

static int64_t c_int(const PGresult *r, int row, int col)
{
    const char *v = PQgetvalue(r, row, col);
    if (!c_binary(r, col))
        return strtoll(v, NULL, 10);
    int n = PQgetlength(r, row, col);
    return n == 2 || n == 4 || n == 8 ? be_int(v, n) : 0;
}

static int c_bool(const PGresult *r, int row, int col)
{
    const char *v = PQgetvalue(r, row, col);
    return c_binary(r, col) ? PQgetlength(r, row, col) == 1 && v[0] != 0 : v[0] == 't';
}

#define TIMESTAMPOID 1114
#define TIMESTAMPTZOID 1184
#define PG_EPOCH_US INT64_C(946684800000000) /* 2000-01-01 00:00:00 UTC, PostgreSQL's epoch */

/* A time column (or an int8 of microseconds since the epoch) as microseconds since the epoch. */
static int64_t c_time(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return RM_NO_TIME;
    int64_t v = c_int(r, row, col);
    Oid t = PQftype(r, col);
    if (c_binary(r, col) && (t == TIMESTAMPTZOID || t == TIMESTAMPOID) && PQgetlength(r, row, col) == 8) {
        int64_t us;
        if (__builtin_add_overflow(v, PG_EPOCH_US, &us)) /* +infinity; -infinity cannot overflow */
            us = INT64_MAX;
        return us;
    }
    return v;
}

/* The number of rows an UPDATE or DELETE touched. */
static int64_t affected(const PGresult *r) { return strtoll(PQcmdTuples((PGresult *)r), NULL, 10); }

static int not_found(void) { return rm_storage_set_error(RM_ENOTFOUND, "not found"); }

/* ---------------------------------------------------------------------------------------------- */
/* Running statements                                                                               */
/* ---------------------------------------------------------------------------------------------- */

/*
 * Run one statement on a leased connection. A read that fails because its connection died (between
 * the liveness check and the query) runs once more on a fresh connection; a write does not, because
 * the server may have applied it before the connection broke.
 */
static int run_stmt(rm_pg *pg, const pg_stmt *s, const char *const *params, PGresult **res)
{
    *res = NULL;
    if (stmt_on_replica(s) && run_on_replica(pg, s, params, res) == RM_OK) {
        rm_error_clear();
        return RM_OK;
    }
    bool readonly = stmt_readonly(s);
    if (!readonly)
        atomic_store(&pg->last_write_ms, mono_ms()); /* before: a read racing with the write goes to the primary */
    for (int attempt = 0;; attempt++) {
        rm__pg_conn *c = NULL;
        int rc = rm__pg_lease(&pg->primary, &c);
        if (rc != RM_OK)
            return rc;
        rc = exec_stmt(&pg->primary, c, s, params, res);
        bool lost = c->broken;
        rm__pg_give(&pg->primary, c);
        if (!readonly)
            atomic_store(&pg->last_write_ms, mono_ms()); /* and after: the window starts when the write is done */
        if (rc == RM_OK || !lost || !readonly || attempt > 0)
            return rc;
    }
}

static int run(rm_pg *pg, int id, const char *const *params, PGresult **res)
{
    const pg_stmt s = {.id = id};
    return run_stmt(pg, &s, params, res);
}

/* Run a statement for its row count (UPDATE/DELETE) or its single int8 answer (RETURNING, SELECT). */
static int run_affected(rm_pg *pg, int id, const char *const *params, int64_t *n)
{
    PGresult *r = NULL;
    int rc = run(pg, id, params, &r);
    if (rc == RM_OK)
        *n = affected(r);
    PQclear(r);
    return rc;
}

/* *found = whether a row came back; *v = its first column (0 without a row). */
static int run_scalar(rm_pg *pg, int id, const char *const *params, int64_t *v, bool *found)
{
    PGresult *r = NULL;
    int rc = run(pg, id, params, &r);
    if (rc == RM_OK) {
        *found = PQntuples(r) > 0;
        *v = *found ? c_int(r, 0, 0) : 0;
    }
    PQclear(r);
    return rc;
}

typedef int (*row_fn)(const PGresult *r, int row, const void *sink, void *sink_data);

/* Feed the rows of r (then freed) to a sink; stop at its first non-zero answer. need_row: none is RM_ENOTFOUND. */
static int feed(PGresult *r, row_fn fn, const void *sink, void *sink_data, bool need_row)
{
    int n = PQntuples(r), rc = RM_OK;
    if (n == 0 && need_row)
        rc = not_found();
    for (int i = 0; i < n && rc == RM_OK; i++)
        rc = fn(r, i, sink, sink_data);
    PQclear(r);
    return rc;
}

static int run_rows(rm_pg *pg, int id, const char *const *params, row_fn fn, const void *sink, void *sink_data,
                    bool need_row)
{
    PGresult *r = NULL;
    int rc = run(pg, id, params, &r);
    return rc == RM_OK ? feed(r, fn, sink, sink_data, need_row) : rc;
}

/* Run body inside BEGIN … COMMIT on one connection; roll back when it fails. */
typedef int (*tx_body)(rm_pg *pg, rm__pg_conn *c, void *arg);

static int in_transaction(rm_pg *pg, tx_body body, void *arg)
{
    rm__pg_conn *c = NULL;
    int rc = rm__pg_lease(&pg->primary, &c);
    if (rc != RM_OK)
        return rc;
    atomic_store(&pg->last_write_ms, mono_ms());
    if ((rc = rm__pg_command(&pg->primary, c, "BEGIN", "BEGIN")) == RM_OK) {
        rc = body(pg, c, arg);
        if (rc == RM_OK)
            rc = rm__pg_command(&pg->primary, c, "COMMIT", "COMMIT");
        else if (!c->broken)
            PQclear(PQexec(c->pg, "ROLLBACK"));
    }
    rm__pg_give(&pg->primary, c); /* closes it if broken, rolls back anything left open */
    atomic_store(&pg->last_write_ms, mono_ms());
    return rc;
}

/* ---------------------------------------------------------------------------------------------- */
/* Rows to records                                                                                  */
/* ---------------------------------------------------------------------------------------------- */

static int row_user(const PGresult *r, int i, const void *sink, void *sink_data)
{
    rm_user_record u = {
        .id = c_int(r, i, 0),
        .username = c_str(r, i, 1),
        .email = c_str(r, i, 2),
        .password = c_str(r, i, 3),
        .first_name = c_str(r, i, 4),
        .last_name = c_str(r, i, 5),
        .is_active = c_bool(r, i, 6),
        .is_staff = c_bool(r, i, 7),
        .is_superuser = c_bool(r, i, 8),
        .date_joined = c_time(r, i, 9),
        .last_login = c_time(r, i, 10),
        .tokens_valid_after = c_time(r, i, 11),
    };
    return (*(const rm_user_sink *)sink)(sink_data, &u);
}

static int row_resume(const PGresult *r, int i, const void *sink, void *sink_data)
{
    rm_resume_record v = {
        .id = c_int(r, i, 0),
        .user_id = c_int(r, i, 1),
        .title = c_str(r, i, 2),
        .content = c_str(r, i, 3),
        .created_at = c_time(r, i, 4),
        .updated_at = c_time(r, i, 5),
    };
    return (*(const rm_resume_sink *)sink)(sink_data, &v);
}

static int row_application(const PGresult *r, int i, const void *sink, void *sink_data)
{
    rm_application_record a = {
        .id = c_int(r, i, 0),
        .user_id = c_int(r, i, 1),
        .job_title = c_opt(r, i, 2),
        .company_name = c_opt(r, i, 3),
        .original_job_description = c_opt(r, i, 4),
        .date_applied = c_opt(r, i, 5),
        .status = c_str(r, i, 6),
        .notes = c_opt(r, i, 7),
        .is_deleted = c_bool(r, i, 8),
        .is_example = c_bool(r, i, 9),
        .resume_used = PQgetisnull(r, i, 10) ? 0 : c_int(r, i, 10),
        .created_at = c_time(r, i, 11),
        .updated_at = c_time(r, i, 12),
    };
    return (*(const rm_application_sink *)sink)(sink_data, &a);
}

static int row_ai_model(const PGresult *r, int i, const void *sink, void *sink_data)
{
    rm_ai_model_record m = {
        .id = c_int(r, i, 0),
        .display_name = c_str(r, i, 1),
        .model_name = c_str(r, i, 2),
        .api_provider = c_str(r, i, 3),
        .api_key_name = c_str(r, i, 4),
        .is_active = c_bool(r, i, 5),
        .login_required = c_bool(r, i, 6),
        .daily_limit = (int32_t)c_int(r, i, 7),
        .response_time_info = c_str(r, i, 8),
        .description = c_str(r, i, 9),
        .created_at = c_time(r, i, 10),
        .updated_at = c_time(r, i, 11),
        .base_url = c_opt(r, i, 12),
    };
    return (*(const rm_ai_model_sink *)sink)(sink_data, &m);
}

/* ---------------------------------------------------------------------------------------------- */
/* The vtable members                                                                               */
/* ---------------------------------------------------------------------------------------------- */

static int m_ping(void *self)
{
    PGresult *r = NULL;
    int rc = run(self, ST_PING, NULL, &r);
    PQclear(r);
    return rc;
}

/* ---- users ---- */

static int m_user_insert(void *self, const rm_user_record *u, int64_t *id_out)
{
    if (!u)
        return rm__error_misuse("user record is NULL");
    numbuf b2, b10, b11;
    const char *p[11] = {u->password,          p_time(b2, u->last_login), p_bool(u->is_superuser),
                         u->username,          u->first_name,             u->last_name,
                         u->email,             p_bool(u->is_staff),       p_bool(u->is_active),
                         p_time(b10, u->date_joined), p_time(b11, u->tokens_valid_after)};
    int64_t id = 0;
    bool found = false;
    int rc = run_scalar(self, ST_USER_INSERT, p, &id, &found);
    atomic_fetch_add(&user_writes, 1);
    if (rc == RM_OK && id_out)
        *id_out = id;
    return rc;
}

static int m_user_get(void *self, int64_t id, const char *username, rm_user_sink sink, void *sink_data)
{
    if (!sink || (id == 0 && !username))
        return rm__error_misuse("user_get needs a sink and an id or a username");
    numbuf b1;
    const char *p[1] = {id != 0 ? p_int(b1, id) : username};
    return run_rows(self, id != 0 ? ST_USER_GET_ID : ST_USER_GET_NAME, p, row_user, &sink, sink_data, true);
}

static int m_user_update(void *self, const rm_user_record *u)
{
    if (!u)
        return rm__error_misuse("user record is NULL");
    numbuf b1, b3, b11;
    const char *p[11] = {p_int(b1, u->id), u->password,          p_time(b3, u->last_login),
                         p_bool(u->is_superuser), u->username,   u->first_name,
                         u->last_name,     u->email,             p_bool(u->is_staff),
                         p_bool(u->is_active), p_time(b11, u->tokens_valid_after)};
    int64_t n = 0;
    bool found = false;
    int rc = run_scalar(self, ST_USER_UPDATE, p, &n, &found);
    atomic_fetch_add(&user_writes, 1); /* after the write, even a failed one (it may have been applied) */
    return rc == RM_OK && n == 0 ? not_found() : rc;
}

/* ---- the user cache of token checks ---- */

static void user_unref(cached_user *u)
{
    if (u && atomic_fetch_sub(&u->refs, 1) == 1) {
        volatile unsigned char *v = (volatile unsigned char *)u;
        for (size_t i = 0; i < u->size; i++)
            v[i] = 0;
        free(u);
    }
}

/* A user sink that copies the record into a new cache block (*(cached_user **)data, one reference). */
static int user_capture(void *data, const rm_user_record *r)
{
    const char *str[5] = {r->username, r->email, r->password, r->first_name, r->last_name};
    size_t len[5], size = sizeof(cached_user);
    for (int i = 0; i < 5; i++) {
        len[i] = str[i] ? strlen(str[i]) + 1 : 0;
        size += len[i];
    }
    cached_user *u = malloc(size);
    if (!u)
        return rm__error_nomem();
    atomic_init(&u->refs, 1);
    u->size = size;
    u->rec = *r;
    char *at = (char *)(u + 1);
    const char **dst[5] = {&u->rec.username, &u->rec.email, &u->rec.password, &u->rec.first_name, &u->rec.last_name};
    for (int i = 0; i < 5; i++) {
        if (str[i]) {
            memcpy(at, str[i], len[i]);
            *dst[i] = at;
            at += len[i];
        }
    }
    user_unref(*(cached_user **)data); /* one row is expected; keep the last */
    *(cached_user **)data = u;
    return RM_OK;
}

static int user_get_cached(rm_pg *pg, int64_t id, rm_user_sink sink, void *sink_data)
{
    user_slot *slot = &pg->users[(uint64_t)id % USER_SLOTS];
    int64_t now = pg->cache_now_ms();
    uint64_t gen = atomic_load(&user_writes);
    pthread_mutex_lock(&slot->mu);
    cached_user *u = slot->u;
    if (u && u->rec.id == id && u->gen == gen && now >= u->fetched_ms && now - u->fetched_ms < pg->user_ttl_ms)
        atomic_fetch_add(&u->refs, 1);
    else
        u = NULL;
    pthread_mutex_unlock(&slot->mu);
    if (!u) {
        numbuf b1;
        const char *p[1] = {p_int(b1, id)};
        rm_user_sink capture = user_capture;
        int rc = run_rows(pg, ST_USER_GET_ID, p, row_user, &capture, &u, true);
        if (rc != RM_OK) {
            user_unref(u);
            return rc;
        }
        u->fetched_ms = now;
        u->gen = gen; /* a user write since `gen` was read makes this entry unusable at once */
        atomic_fetch_add(&u->refs, 1);
        pthread_mutex_lock(&slot->mu);
        cached_user *old = slot->u;
        slot->u = u;
        pthread_mutex_unlock(&slot->mu);
        user_unref(old);
    }
    int rc = sink(sink_data, &u->rec); /* outside the slot's lock: the sink may use the storage */
    user_unref(u);
    return rc;
}

static void user_cache_free(rm_pg *pg)
{
    if (!pg->users)
        return;
    for (size_t i = 0; i < USER_SLOTS; i++) {
        user_unref(pg->users[i].u);
        pthread_mutex_destroy(&pg->users[i].mu);
    }
    free(pg->users);
    pg->users = NULL;
}

static int user_cache_init(rm_pg *pg)
{
    pg->cache_now_ms = mono_ms;
    if (pg->user_ttl_ms <= 0)
        return RM_OK;
    pg->users = calloc(USER_SLOTS, sizeof(*pg->users));
    if (!pg->users)
        return rm__error_nomem();
    for (size_t i = 0; i < USER_SLOTS; i++)
        pthread_mutex_init(&pg->users[i].mu, NULL);
    return RM_OK;
}

static const rm_storage_vtable pg_vtable;

bool rm__pg_user_get_for_token(rm_storage *s, int64_t id, rm_user_sink sink, void *sink_data, int *rc)
{
    if (s->vt != &pg_vtable || !((rm_pg *)s->self)->users || id <= 0)
        return false;
    *rc = user_get_cached(s->self, id, sink, sink_data);
    return true;
}

void rm__pg_set_user_cache_clock(rm_storage *s, int64_t (*now_ms)(void))
{
    if (s && s->vt == &pg_vtable)
        ((rm_pg *)s->self)->cache_now_ms = now_ms ? now_ms : mono_ms;
}

/* ---- resumes ---- */

static int m_resume_insert(void *self, const rm_resume_record *r, int64_t *id_out)
{
    if (!r)
        return rm__error_misuse("resume record is NULL");
    numbuf b3, b4, b5;
    const char *p[5] = {r->title, r->content, p_time(b3, r->created_at), p_time(b4, r->updated_at),
                        p_int(b5, r->user_id)};
    int64_t id = 0;
    bool found = false;
    int rc = run_scalar(self, ST_RESUME_INSERT, p, &id, &found);
    if (rc == RM_OK && id_out)
        *id_out = id;
    return rc;
}

static int m_resume_get(void *self, int64_t user_id, int64_t id, rm_resume_sink sink, void *sink_data)
{
    if (!sink)
        return rm__error_misuse("sink is NULL");
    numbuf b1, b2;
    const char *p[2] = {p_int(b1, id), p_int(b2, user_id)};
    return run_rows(self, ST_RESUME_GET, p, row_resume, &sink, sink_data, true);
}

/* Paging parameters $2..$6 of the list statements. */
typedef struct {
    numbuf time, id, limit, offset;
} paging;

static void set_paging(const char **p, paging *b, const rm_storage_query *q)
{
    static const rm_storage_query none = {0};
    if (!q)
        q = &none;
    p[1] = p_bool(q->has_after);
    p[2] = q->has_after ? p_time(b->time, q->after_time) : NULL;
    p[3] = q->has_after ? p_int(b->id, q->after_id) : NULL;
    p[4] = q->limit > 0 ? p_int(b->limit, q->limit) : NULL; /* LIMIT NULL: all rows */
    p[5] = p_int(b->offset, !q->has_after && q->offset > 0 ? q->offset : 0);
}

/* ---- search, custom orderings and counts (vtable version 3) ---- */

/* ASCII-only lowercasing (lower() under the "C" collation) and a substring test (`%`, `_` stay literal);
 * text orders bytewise, as in the SQLite backend. */
static const rm__sql_dialect pg_dialect = {.match_fmt = "strpos(lower(%s COLLATE \"C\"), $%d::text) > 0",
                                           .text_collate = " COLLATE \"C\""};


#define MAX_LIST_PARAMS (7 + RM__PG_MAX_TERMS)
#define RM__PG_MAX_TERMS 64

/* Every parameter must appear in the statement (PostgreSQL infers its type from the use), so the keyset
 * condition stays in even with a custom ordering (the library sends has_after 0 then). */
#define APP_LIST_HEAD_USER \
    APP_SEL "WHERE user_id = $1::int8 AND NOT is_deleted AND ($7::text IS NULL OR status = $7::text)" \
            " AND ($2::bool IS NOT TRUE OR (created_at, id) < (" TS("3") ", $4::int8))"
#define APP_LIST_HEAD_EXAMPLE \
    APP_SEL "WHERE $1::int8 = 0 AND is_example AND NOT is_deleted AND ($7::text IS NULL OR status = $7::text)" \
            " AND ($2::bool IS NOT TRUE OR (created_at, id) < (" TS("3") ", $4::int8))"
#define RESUME_LIST_HEAD \
    RESUME_SEL "WHERE user_id = $1::int8 AND ($2::bool IS NOT TRUE OR (updated_at, id) < (" TS("3") ", $4::int8))"
#define LIST_TAIL " LIMIT $5::int8 OFFSET $6::int8"

/* Run SQL built for this call (a read) like run(): a replica when allowed, else the primary. */
static int run_sql(rm_pg *pg, const char *sql, int n, const char *const *params, PGresult **res)
{
    const pg_stmt s = {.id = -1, .sql = sql, .nparams = n};
    return run_stmt(pg, &s, params, res);
}

/* A list that searches or has a custom ordering: its SQL is built for the call. */
static int list_built(void *self, bool app, int64_t user_id, const rm_storage_query *q, row_fn fn, const void *sink,
                      void *sink_data)
{
    if (q->search_count > RM__PG_MAX_TERMS)
        return rm__error_misuse("storage query: too many search terms");
    int first_term = app ? 8 : 7;
    char *sql = NULL;
    int rc = app ? rm__sql_list(&sql, &pg_dialect, user_id != 0 ? APP_LIST_HEAD_USER : APP_LIST_HEAD_EXAMPLE, NULL, q,
                                &rm__list_app_fields, first_term, "created_at DESC, id DESC", LIST_TAIL)
                 : rm__sql_list(&sql, &pg_dialect, RESUME_LIST_HEAD, NULL, q, &rm__list_resume_fields, first_term,
                                "updated_at DESC, id DESC", LIST_TAIL);
    if (rc != RM_OK)
        return rc;
    numbuf b1;
    paging pb;
    const char *p[MAX_LIST_PARAMS] = {p_int(b1, user_id)};
    set_paging(p, &pb, q);
    if (app)
        p[6] = q->status;
    for (size_t t = 0; t < q->search_count; t++)
        p[first_term - 1 + (int)t] = q->search[t];
    PGresult *r = NULL;
    rc = run_sql(self, sql, first_term - 1 + (int)q->search_count, p, &r);
    free(sql);
    return rc == RM_OK ? feed(r, fn, sink, sink_data, false) : rc;
}

/* A count: the prepared statement without search terms, one built for the call with them. */
static int count_rows(void *self, bool app, int64_t user_id, const rm_storage_query *q, int64_t *count_out)
{
    static const rm_storage_query none = {0};
    if (!count_out)
        return rm__error_misuse("count_out is NULL");
    *count_out = 0;
    if (!q)
        q = &none;
    if (q->search_count > RM__PG_MAX_TERMS)
        return rm__error_misuse("storage query: too many search terms");
    numbuf b1;
    const char *p[MAX_LIST_PARAMS] = {p_int(b1, user_id), app ? q->status : NULL};
    int first_term = app ? 3 : 2;
    int id = !app ? ST_RESUME_COUNT : user_id != 0 ? ST_APP_COUNT_USER : ST_APP_COUNT_EXAMPLE;
    PGresult *r = NULL;
    int rc;
    if (q->search_count == 0) {
        rc = run(self, id, p, &r);
    } else {
        char *sql = NULL;
        rc = rm__sql_list(&sql, &pg_dialect, stmts[id].sql, NULL, q, app ? &rm__list_app_fields : &rm__list_resume_fields,
                          first_term, NULL, "");
        for (size_t t = 0; rc == RM_OK && t < q->search_count; t++)
            p[first_term - 1 + (int)t] = q->search[t];
        if (rc == RM_OK)
            rc = run_sql(self, sql, first_term - 1 + (int)q->search_count, p, &r);
        free(sql);
    }
    if (rc == RM_OK)
        *count_out = PQntuples(r) > 0 ? c_int(r, 0, 0) : 0;
    PQclear(r);
    return rc;
}

static int m_resume_count(void *self, int64_t user_id, const rm_storage_query *q, int64_t *count_out)
{
    return count_rows(self, false, user_id, q, count_out);
}

static int m_application_count(void *self, int64_t user_id, const rm_storage_query *q, int64_t *count_out)
{
    return count_rows(self, true, user_id, q, count_out);
}

static int m_resume_list(void *self, int64_t user_id, const rm_storage_query *q, rm_resume_sink sink,
                         void *sink_data)
{
    if (!sink)
        return rm__error_misuse("sink is NULL");
    if (q && (q->search_count > 0 || q->ordering))
        return list_built(self, false, user_id, q, row_resume, &sink, sink_data);
    numbuf b1;
    paging pb;
    const char *p[6] = {p_int(b1, user_id)};
    set_paging(p, &pb, q);
    return run_rows(self, ST_RESUME_LIST, p, row_resume, &sink, sink_data, false);
}

static int m_resume_update(void *self, const rm_resume_record *r)
{
    if (!r)
        return rm__error_misuse("resume record is NULL");
    numbuf b1, b2, b5;
    const char *p[5] = {p_int(b1, r->id), p_int(b2, r->user_id), r->title, r->content, p_time(b5, r->updated_at)};
    int64_t n = 0;
    int rc = run_affected(self, ST_RESUME_UPDATE, p, &n);
    return rc == RM_OK && n == 0 ? not_found() : rc;
}

static int m_resume_delete(void *self, int64_t user_id, int64_t id)
{
    numbuf b1, b2;
    const char *p[2] = {p_int(b1, id), p_int(b2, user_id)};
    int64_t n = 0;
    bool found = false;
    int rc = run_scalar(self, ST_RESUME_DELETE, p, &n, &found);
    return rc == RM_OK && n == 0 ? not_found() : rc;
}

/* ---- job applications ---- */

static int m_application_insert(void *self, const rm_application_record *a, int64_t *id_out)
{
    if (!a)
        return rm__error_misuse("application record is NULL");
    numbuf b9, b10, b11, b12;
    const char *p[12] = {a->job_title, a->company_name, a->original_job_description, a->date_applied,
                         a->status, a->notes, p_bool(a->is_deleted), p_bool(a->is_example),
                         p_time(b9, a->created_at), p_time(b10, a->updated_at), p_ref(b11, a->resume_used),
                         p_int(b12, a->user_id)};
    int64_t id = 0;
    bool found = false;
    int rc = run_scalar(self, ST_APP_INSERT, p, &id, &found);
    if (rc == RM_OK && id_out)
        *id_out = id;
    return rc;
}

static int m_application_get(void *self, int64_t user_id, int64_t id, rm_application_sink sink, void *sink_data)
{
    if (!sink)
        return rm__error_misuse("sink is NULL");
    numbuf b1, b2;
    const char *p[2] = {p_int(b1, id), p_int(b2, user_id)};
    return run_rows(self, user_id != 0 ? ST_APP_GET_USER : ST_APP_GET_EXAMPLE, p, row_application, &sink,
                    sink_data, true);
}

static int m_application_list(void *self, int64_t user_id, const rm_storage_query *q, rm_application_sink sink,
                              void *sink_data)
{
    if (!sink)
        return rm__error_misuse("sink is NULL");
    if (q && (q->search_count > 0 || q->ordering))
        return list_built(self, true, user_id, q, row_application, &sink, sink_data);
    numbuf b1;
    paging pb;
    const char *p[7] = {p_int(b1, user_id)};
    set_paging(p, &pb, q);
    p[6] = q ? q->status : NULL;
    return run_rows(self, user_id != 0 ? ST_APP_LIST_USER : ST_APP_LIST_EXAMPLE, p, row_application, &sink,
                    sink_data, false);
}

static int m_application_update(void *self, const rm_application_record *a)
{
    if (!a)
        return rm__error_misuse("application record is NULL");
    numbuf b1, b2, b10, b11;
    const char *p[11] = {p_int(b1, a->id), p_int(b2, a->user_id), a->job_title, a->company_name,
                         a->original_job_description, a->date_applied, a->status, a->notes,
                         p_bool(a->is_example), p_ref(b10, a->resume_used), p_time(b11, a->updated_at)};
    int64_t n = 0;
    int rc = run_affected(self, ST_APP_UPDATE, p, &n);
    return rc == RM_OK && n == 0 ? not_found() : rc;
}

static int m_application_delete(void *self, int64_t user_id, int64_t id, int64_t now)
{
    numbuf b1, b2, b3;
    const char *p[3] = {p_int(b1, id), p_int(b2, user_id), p_time(b3, now)};
    int64_t n = 0;
    int rc = run_affected(self, ST_APP_DELETE, p, &n);
    return rc == RM_OK && n == 0 ? not_found() : rc;
}

/* ---- AI models ---- */

typedef struct {
    const rm_ai_model_record *m;
    int64_t id; /* the new id, for inserts */
} ai_write;

/* Inside the transaction: serialise name changes, then refuse a name another model has in any case. */
static int ai_name_free(rm_pg *pg, rm__pg_conn *c, const char *name, int64_t id)
{
    PGresult *r = NULL;
    int rc = rm__pg_exec(&pg->primary, c, ST_AI_LOCK, NULL, &r);
    PQclear(r);
    if (rc != RM_OK)
        return rc;
    numbuf b2;
    const char *p[2] = {name, p_int(b2, id)};
    if ((rc = rm__pg_exec(&pg->primary, c, ST_AI_NAME_TAKEN, p, &r)) != RM_OK)
        return rc;
    bool taken = PQntuples(r) > 0;
    PQclear(r);
    return taken ? rm_storage_set_error(RM_ECONFLICT, "postgres: an AI model with this display name already exists")
                 : RM_OK;
}

static int ai_ext_upsert(rm_pg *pg, rm__pg_conn *c, int64_t id, const char *base_url)
{
    numbuf b1;
    const char *p[2] = {p_int(b1, id), base_url};
    PGresult *r = NULL;
    int rc = rm__pg_exec(&pg->primary, c, ST_AI_EXT_UPSERT, p, &r);
    PQclear(r);
    return rc;
}

static int ai_insert_tx(rm_pg *pg, rm__pg_conn *c, void *arg)
{
    ai_write *w = arg;
    const rm_ai_model_record *m = w->m;
    int rc = ai_name_free(pg, c, m->display_name, 0);
    if (rc != RM_OK)
        return rc;
    numbuf b7, b10, b11;
    const char *p[11] = {m->display_name, m->model_name, m->api_provider, m->api_key_name, p_bool(m->is_active),
                         p_bool(m->login_required), p_int(b7, m->daily_limit), m->response_time_info,
                         m->description, p_time(b10, m->created_at), p_time(b11, m->updated_at)};
    PGresult *r = NULL;
    if ((rc = rm__pg_exec(&pg->primary, c, ST_AI_INSERT, p, &r)) != RM_OK)
        return rc;
    w->id = c_int(r, 0, 0);
    PQclear(r);
    return m->base_url ? ai_ext_upsert(pg, c, w->id, m->base_url) : RM_OK;
}

/* Like ai_insert_tx, with the record's own id (and the sequence moved past it). */
static int ai_import_tx(rm_pg *pg, rm__pg_conn *c, void *arg)
{
    const rm_ai_model_record *m = ((ai_write *)arg)->m;
    int rc = ai_name_free(pg, c, m->display_name, 0);
    if (rc != RM_OK)
        return rc;
    numbuf b7, b10, b11, b12;
    const char *p[12] = {m->display_name, m->model_name, m->api_provider, m->api_key_name, p_bool(m->is_active),
                         p_bool(m->login_required), p_int(b7, m->daily_limit), m->response_time_info,
                         m->description, p_time(b10, m->created_at), p_time(b11, m->updated_at), p_int(b12, m->id)};
    PGresult *r = NULL;
    if ((rc = rm__pg_exec(&pg->primary, c, ST_AI_IMPORT, p, &r)) != RM_OK)
        return rc;
    PQclear(r);
    return m->base_url ? ai_ext_upsert(pg, c, m->id, m->base_url) : RM_OK;
}

static int ai_update_tx(rm_pg *pg, rm__pg_conn *c, void *arg)
{
    const rm_ai_model_record *m = ((ai_write *)arg)->m;
    int rc = ai_name_free(pg, c, m->display_name, m->id);
    if (rc != RM_OK)
        return rc;
    numbuf b1, b8, b11;
    const char *p[11] = {p_int(b1, m->id), m->display_name, m->model_name, m->api_provider, m->api_key_name,
                         p_bool(m->is_active), p_bool(m->login_required), p_int(b8, m->daily_limit),
                         m->response_time_info, m->description, p_time(b11, m->updated_at)};
    PGresult *r = NULL;
    if ((rc = rm__pg_exec(&pg->primary, c, ST_AI_UPDATE, p, &r)) != RM_OK)
        return rc;
    int64_t n = affected(r);
    PQclear(r);
    if (n == 0)
        return not_found();
    return ai_ext_upsert(pg, c, m->id, m->base_url);
}

static int m_ai_model_insert(void *self, const rm_ai_model_record *m, int64_t *id_out)
{
    if (!m || !m->display_name)
        return rm__error_misuse("AI model record or its display name is NULL");
    ai_write w = {.m = m};
    int rc = in_transaction(self, ai_insert_tx, &w);
    if (rc == RM_OK && id_out)
        *id_out = w.id;
    return rc;
}

static int m_ai_model_get(void *self, int64_t id, const char *display_name, rm_ai_model_sink sink, void *sink_data)
{
    if (!sink || (id == 0 && !display_name))
        return rm__error_misuse("ai_model_get needs a sink and an id or a display name");
    numbuf b1;
    const char *p[1] = {id != 0 ? p_int(b1, id) : display_name};
    return run_rows(self, id != 0 ? ST_AI_GET_ID : ST_AI_GET_NAME, p, row_ai_model, &sink, sink_data, true);
}

static int m_ai_model_list(void *self, int active_only, rm_ai_model_sink sink, void *sink_data)
{
    if (!sink)
        return rm__error_misuse("sink is NULL");
    const char *p[1] = {p_bool(active_only)};
    return run_rows(self, ST_AI_LIST, p, row_ai_model, &sink, sink_data, false);
}

static int m_ai_model_update(void *self, const rm_ai_model_record *m)
{
    if (!m || !m->display_name)
        return rm__error_misuse("AI model record or its display name is NULL");
    ai_write w = {.m = m};
    return in_transaction(self, ai_update_tx, &w);
}

/* ---- token denylist ---- */

static int m_token_deny(void *self, const char *jti, int64_t user_id, int64_t expires_at)
{
    if (!jti)
        return rm__error_misuse("jti is NULL");
    numbuf b2, b3;
    const char *p[3] = {jti, p_int(b2, user_id), p_time(b3, expires_at)};
    int64_t n = 0;
    return run_affected(self, ST_TOKEN_DENY, p, &n);
}

static int m_token_is_denied(void *self, const char *jti, int *denied)
{
    if (!jti || !denied)
        return rm__error_misuse("jti and denied are required");
    const char *p[1] = {jti};
    int64_t v = 0;
    bool found = false;
    int rc = run_scalar(self, ST_TOKEN_IS_DENIED, p, &v, &found);
    if (rc == RM_OK)
        *denied = found;
    return rc;
}

static int m_token_prune(void *self, int64_t now, int64_t *removed)
{
    numbuf b1;
    const char *p[1] = {p_time(b1, now)};
    int64_t n = 0;
    int rc = run_affected(self, ST_TOKEN_PRUNE, p, &n);
    if (rc == RM_OK && removed)
        *removed = n;
    return rc;
}

/* ---- daily usage ---- */

static int m_usage_try_increment(void *self, int64_t user_id, int64_t model_id, const char *day, int32_t limit,
                                 int32_t *count_out)
{
    if (!day)
        return rm__error_misuse("day is NULL");
    numbuf b1, b2, b4;
    const char *p[4] = {p_int(b1, user_id), p_int(b2, model_id), day, p_int(b4, limit)};
    int64_t count = 0;
    bool counted = false;
    int rc = run_scalar(self, ST_USAGE_INCREMENT, p, &count, &counted);
    if (rc == RM_OK && !counted) {
        /* The limit was reached: report the count as it stands now. */
        bool found = false;
        if ((rc = run_scalar(self, ST_USAGE_GET, p, &count, &found)) == RM_OK)
            rc = rm_storage_set_error(RM_ELIMIT, "daily limit reached");
    }
    if ((rc == RM_OK || rc == RM_ELIMIT) && count_out)
        *count_out = (int32_t)count;
    return rc;
}

static int m_usage_release(void *self, int64_t user_id, int64_t model_id, const char *day)
{
    if (!day)
        return rm__error_misuse("day is NULL");
    numbuf b1, b2;
    const char *p[3] = {p_int(b1, user_id), p_int(b2, model_id), day};
    int64_t n = 0;
    return run_affected(self, ST_USAGE_RELEASE, p, &n);
}

static int m_usage_get(void *self, int64_t user_id, int64_t model_id, const char *day, int32_t *count_out)
{
    if (!day || !count_out)
        return rm__error_misuse("day and count_out are required");
    numbuf b1, b2;
    const char *p[3] = {p_int(b1, user_id), p_int(b2, model_id), day};
    int64_t count = 0;
    bool found = false;
    int rc = run_scalar(self, ST_USAGE_GET, p, &count, &found);
    if (rc == RM_OK)
        *count_out = (int32_t)count;
    return rc;
}

/* ---- idempotency keys ---- */

static int m_idempotency_put(void *self, const char *key, int64_t user_id, int64_t resume_id, int64_t created_at)
{
    if (!key)
        return rm__error_misuse("key is NULL");
    numbuf b1, b3, b4;
    const char *p[4] = {p_int(b1, user_id), key, p_int(b3, resume_id), p_time(b4, created_at)};
    int64_t n = 0;
    return run_affected(self, ST_IDEM_PUT, p, &n);
}

static int m_idempotency_get(void *self, const char *key, int64_t user_id, int64_t since, int64_t *resume_id_out)
{
    if (!key || !resume_id_out)
        return rm__error_misuse("key and resume_id_out are required");
    numbuf b1, b3;
    const char *p[3] = {p_int(b1, user_id), key, p_time(b3, since)};
    int64_t id = 0;
    bool found = false;
    int rc = run_scalar(self, ST_IDEM_GET, p, &id, &found);
    if (rc == RM_OK && !found)
        rc = not_found();
    if (rc == RM_OK)
        *resume_id_out = id;
    return rc;
}

static int m_idempotency_prune(void *self, int64_t before, int64_t *removed)
{
    numbuf b1;
    const char *p[1] = {p_time(b1, before)};
    int64_t n = 0;
    int rc = run_affected(self, ST_IDEM_PRUNE, p, &n);
    if (rc == RM_OK && removed)
        *removed = n;
    return rc;
}

/* ---- export and import (vtable version 2) ---- */

static int row_token(const PGresult *r, int i, const void *sink, void *sink_data)
{
    rm_token_deny_record t = {.jti = c_str(r, i, 0), .user_id = c_int(r, i, 1), .expires_at = c_time(r, i, 2)};
    return (*(const rm_token_deny_sink *)sink)(sink_data, &t);
}

static int row_usage(const PGresult *r, int i, const void *sink, void *sink_data)
{
    rm_usage_record u = {.user_id = c_int(r, i, 0),
                         .model_id = c_int(r, i, 1),
                         .day = c_str(r, i, 2),
                         .count = (int32_t)c_int(r, i, 3)};
    return (*(const rm_usage_sink *)sink)(sink_data, &u);
}

static int row_idempotency(const PGresult *r, int i, const void *sink, void *sink_data)
{
    rm_idempotency_record k = {
        .key = c_str(r, i, 0), .user_id = c_int(r, i, 1), .resume_id = c_int(r, i, 2), .created_at = c_time(r, i, 3)};
    return (*(const rm_idempotency_sink *)sink)(sink_data, &k);
}

/* The scans read the whole table into one result (the connection goes back before the sinks run). */
#define SCAN_MEMBER(name, sink_t, st_id, row)                           \
    static int name(void *self, sink_t sink, void *sink_data)           \
    {                                                                   \
        if (!sink)                                                      \
            return rm__error_misuse("sink is NULL");                    \
        return run_rows(self, st_id, NULL, row, &sink, sink_data, false); \
    }
SCAN_MEMBER(m_user_scan, rm_user_sink, ST_USER_SCAN, row_user)
SCAN_MEMBER(m_resume_scan, rm_resume_sink, ST_RESUME_SCAN, row_resume)
SCAN_MEMBER(m_application_scan, rm_application_sink, ST_APP_SCAN, row_application)
SCAN_MEMBER(m_token_scan, rm_token_deny_sink, ST_TOKEN_SCAN, row_token)
SCAN_MEMBER(m_usage_scan, rm_usage_sink, ST_USAGE_SCAN, row_usage)
SCAN_MEMBER(m_idempotency_scan, rm_idempotency_sink, ST_IDEM_SCAN, row_idempotency)
#undef SCAN_MEMBER

static int m_user_import(void *self, const rm_user_record *u)
{
    if (!u || u->id <= 0)
        return rm__error_misuse("user_import needs a record with a positive id");
    numbuf b2, b10, b11, b12;
    const char *p[12] = {u->password,          p_time(b2, u->last_login), p_bool(u->is_superuser),
                         u->username,          u->first_name,             u->last_name,
                         u->email,             p_bool(u->is_staff),       p_bool(u->is_active),
                         p_time(b10, u->date_joined), p_time(b11, u->tokens_valid_after), p_int(b12, u->id)};
    int64_t v = 0;
    bool found = false;
    int rc = run_scalar(self, ST_USER_IMPORT, p, &v, &found);
    atomic_fetch_add(&user_writes, 1);
    return rc;
}

static int m_resume_import(void *self, const rm_resume_record *r)
{
    if (!r || r->id <= 0)
        return rm__error_misuse("resume_import needs a record with a positive id");
    numbuf b3, b4, b5, b6;
    const char *p[6] = {r->title, r->content, p_time(b3, r->created_at), p_time(b4, r->updated_at),
                        p_int(b5, r->user_id), p_int(b6, r->id)};
    int64_t v = 0;
    bool found = false;
    return run_scalar(self, ST_RESUME_IMPORT, p, &v, &found);
}

static int m_application_import(void *self, const rm_application_record *a)
{
    if (!a || a->id <= 0)
        return rm__error_misuse("application_import needs a record with a positive id");
    numbuf b9, b10, b11, b12, b13;
    const char *p[13] = {a->job_title, a->company_name, a->original_job_description, a->date_applied,
                         a->status, a->notes, p_bool(a->is_deleted), p_bool(a->is_example),
                         p_time(b9, a->created_at), p_time(b10, a->updated_at), p_ref(b11, a->resume_used),
                         p_int(b12, a->user_id), p_int(b13, a->id)};
    int64_t v = 0;
    bool found = false;
    return run_scalar(self, ST_APP_IMPORT, p, &v, &found);
}

static int m_ai_model_import(void *self, const rm_ai_model_record *m)
{
    if (!m || !m->display_name || m->id <= 0)
        return rm__error_misuse("ai_model_import needs a record with a display name and a positive id");
    ai_write w = {.m = m};
    return in_transaction(self, ai_import_tx, &w);
}

static int m_usage_import(void *self, const rm_usage_record *u)
{
    if (!u || !u->day || u->count < 0)
        return rm__error_misuse("usage_import needs a record with a day and a count >= 0");
    numbuf b1, b2, b4;
    const char *p[4] = {p_int(b1, u->user_id), p_int(b2, u->model_id), u->day, p_int(b4, u->count)};
    int64_t n = 0;
    return run_affected(self, ST_USAGE_SET, p, &n);
}

/* ---------------------------------------------------------------------------------------------- */
/* Opening and closing                                                                              */
/* ---------------------------------------------------------------------------------------------- */

static void m_close(void *self)
{
    rm_pg *pg = self;
    if (!pg)
        return;
    rm__pg_pool_clear(&pg->primary);
    for (size_t i = 0; i < pg->n_replicas; i++)
        rm__pg_pool_clear(&pg->replicas[i]);
    user_cache_free(pg);
    free(pg);
}

static const rm_storage_vtable pg_vtable = {
    .version = RM_STORAGE_VTABLE_VERSION,
    .close = m_close,
    .ping = m_ping,
    .user_insert = m_user_insert,
    .user_get = m_user_get,
    .user_update = m_user_update,
    .resume_insert = m_resume_insert,
    .resume_get = m_resume_get,
    .resume_list = m_resume_list,
    .resume_update = m_resume_update,
    .resume_delete = m_resume_delete,
    .application_insert = m_application_insert,
    .application_get = m_application_get,
    .application_list = m_application_list,
    .application_update = m_application_update,
    .application_delete = m_application_delete,
    .ai_model_insert = m_ai_model_insert,
    .ai_model_get = m_ai_model_get,
    .ai_model_list = m_ai_model_list,
    .ai_model_update = m_ai_model_update,
    .token_deny = m_token_deny,
    .token_is_denied = m_token_is_denied,
    .token_prune = m_token_prune,
    .usage_try_increment = m_usage_try_increment,
    .usage_release = m_usage_release,
    .usage_get = m_usage_get,
    .idempotency_put = m_idempotency_put,
    .idempotency_get = m_idempotency_get,
    .idempotency_prune = m_idempotency_prune,
    .user_scan = m_user_scan,
    .resume_scan = m_resume_scan,
    .application_scan = m_application_scan,
    .token_scan = m_token_scan,
    .usage_scan = m_usage_scan,
    .idempotency_scan = m_idempotency_scan,
    .user_import = m_user_import,
    .resume_import = m_resume_import,
    .application_import = m_application_import,
    .ai_model_import = m_ai_model_import,
    .usage_import = m_usage_import,
    .resume_count = m_resume_count,
    .application_count = m_application_count,
};

static int hexval(int ch) { return isdigit(ch) ? ch - '0' : tolower(ch) - 'a' + 10; }

/* Percent-decode v[0..n) into a new string ('+' stays '+'); NULL on a bad escape or no memory. */
static char *pct_decode(const char *v, size_t n)
{
    char *o = malloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; o && i < n; i++) {
        if (v[i] == '%') {
            if (i + 2 >= n || !isxdigit((unsigned char)v[i + 1]) || !isxdigit((unsigned char)v[i + 2])) {
                free(o);
                return NULL;
            }
            o[j++] = (char)(hexval((unsigned char)v[i + 1]) * 16 + hexval((unsigned char)v[i + 2]));
            i += 2;
        } else {
            o[j++] = v[i];
        }
    }
    if (o)
        o[j] = '\0';
    return o;
}

/*
 * Take our replica parameters out of url: *primary gets the rest (caller frees), replicas[] the decoded
 * replica URLs (caller frees), *lag_ms the replica_lag. Messages never repeat the URLs (passwords).
 */
static int split_replicas(const char *url, char **primary, char **replicas, size_t *n_replicas, int64_t *lag_ms,
                          int64_t *user_ttl_ms)
{
    *primary = NULL;
    *n_replicas = 0;
    *lag_ms = REPLICA_LAG_DEFAULT_MS;
    *user_ttl_ms = USER_CACHE_TTL_DEFAULT_MS;
    const char *q = strchr(url, '?');
    size_t base = q ? (size_t)(q - url) : strlen(url);
    char *p = malloc(strlen(url) + 1);
    if (!p)
        return rm__error_nomem();
    memcpy(p, url, base);
    size_t n = base;
    char sep = '?';
    for (const char *kv = q ? q + 1 : NULL; kv && *kv;) {
        size_t len = strcspn(kv, "&"), klen = strcspn(kv, "=");
        if (klen > len)
            klen = len;
        const char *v = kv + klen + (klen < len ? 1 : 0);
        size_t vlen = len - (size_t)(v - kv);
        if (klen == 7 && strncmp(kv, "replica", 7) == 0) {
            if (*n_replicas == MAX_REPLICAS) {
                free(p);
                return rm__error_field("storage_url", "at most 8 replica parameters are supported");
            }
            char *r = pct_decode(v, vlen);
            if (!r || (strncmp(r, "postgres://", 11) != 0 && strncmp(r, "postgresql://", 13) != 0)) {
                free(r);
                free(p);
                return rm__error_field("storage_url", "replica must be a percent-encoded postgres:// URL");
            }
            replicas[(*n_replicas)++] = r;
        } else if (klen == 11 && strncmp(kv, "replica_lag", 11) == 0) {
            char buf[16] = "";
            char *end = NULL;
            if (vlen > 0 && vlen < sizeof(buf))
                memcpy(buf, v, vlen);
            double sec = buf[0] ? strtod(buf, &end) : -1;
            if (!buf[0] || *end || !(sec >= 0 && sec <= 3600)) {
                free(p);
                return rm__error_field("storage_url", "replica_lag must be a number of seconds from 0 to 3600");
            }
            *lag_ms = (int64_t)(sec * 1000 + 0.5);
        } else if (klen == 14 && strncmp(kv, "user_cache_ttl", 14) == 0) {
            char buf[16] = "";
            char *end = NULL;
            if (vlen > 0 && vlen < sizeof(buf))
                memcpy(buf, v, vlen);
            double sec = buf[0] ? strtod(buf, &end) : -1;
            if (!buf[0] || *end || !(sec >= 0 && sec * 1000 <= USER_CACHE_TTL_MAX_MS)) {
                free(p);
                return rm__error_field("storage_url", "user_cache_ttl must be a number of seconds from 0 to 1");
            }
            *user_ttl_ms = (int64_t)(sec * 1000 + 0.5);
        } else if (len > 0) {
            p[n++] = sep;
            memcpy(p + n, kv, len);
            n += len;
            sep = '&';
        }
        kv += len;
        if (*kv == '&')
            kv++;
    }
    p[n] = '\0';
    *primary = p;
    return RM_OK;
}

int rm__storage_open_postgres(rm_storage **out, const char *url)
{
    if (!out || !url)
        return rm__error_misuse("out and url are required");
    *out = NULL;
    if (!PQisthreadsafe())
        return rm_storage_set_error(RM_ESTORAGE, "postgres: libpq was built without thread safety");
    char *primary_url = NULL, *replica_urls[MAX_REPLICAS];
    size_t n_replicas = 0;
    int64_t lag_ms = 0, user_ttl_ms = 0;
    int rc = split_replicas(url, &primary_url, replica_urls, &n_replicas, &lag_ms, &user_ttl_ms);
    if (rc != RM_OK) {
        for (size_t i = 0; i < n_replicas; i++)
            free(replica_urls[i]);
        return rc;
    }
    rm__pg_url u;
    rc = rm__pg_url_parse(&u, primary_url);
    free(primary_url);
    if (rc != RM_OK) {
        for (size_t i = 0; i < n_replicas; i++)
            free(replica_urls[i]);
        return rc;
    }
    rm_pg *pg = calloc(1, sizeof(*pg));
    if (!pg) {
        rm__pg_url_clear(&u);
        for (size_t i = 0; i < n_replicas; i++)
            free(replica_urls[i]);
        return rm__error_nomem();
    }
    pg->lag_ms = lag_ms;
    pg->user_ttl_ms = user_ttl_ms;
    atomic_init(&pg->last_write_ms, INT64_MIN / 2);
    atomic_init(&pg->next_replica, 0);
    for (size_t i = 0; i < MAX_REPLICAS; i++)
        atomic_init(&pg->down_until_ms[i], 0);
    rc = rm__pg_pool_init(&pg->primary, &u, stmts, ST_COUNT);
    rm__pg_url_clear(&u);
    if (rc == RM_OK && (rc = user_cache_init(pg)) != RM_OK)
        rm__pg_pool_clear(&pg->primary);
    if (rc != RM_OK) {
        free(pg);
        for (size_t i = 0; i < n_replicas; i++)
            free(replica_urls[i]);
        return rc;
    }
    /* Replicas connect lazily (a replica that is down now does not keep the store from opening). */
    for (size_t i = 0; i < n_replicas && rc == RM_OK; i++) {
        if ((rc = rm__pg_url_parse(&u, replica_urls[i])) == RM_OK) {
            if ((rc = rm__pg_pool_init(&pg->replicas[i], &u, stmts, ST_COUNT)) == RM_OK)
                pg->n_replicas++;
            rm__pg_url_clear(&u);
        }
    }
    for (size_t i = 0; i < n_replicas; i++)
        free(replica_urls[i]);
    if (rc != RM_OK)
        goto fail;
    rm__pg_conn *c = NULL;
    if ((rc = rm__pg_lease(&pg->primary, &c)) != RM_OK)
        goto fail;
    rc = rm__pg_schema_ensure(&pg->primary, c);
    rm__pg_give(&pg->primary, c);
    if (rc != RM_OK)
        goto fail;
    /* Creating or upgrading the schema is a write the replicas may not have yet: start the
     * read-your-writes window, or the first reads would fail on a replica without the tables (and
     * bench it for REPLICA_DOWN_MS). */
    atomic_store(&pg->last_write_ms, mono_ms());
    if ((rc = rm_storage_new(out, &pg_vtable, pg)) != RM_OK)
        goto fail;
    return RM_OK;
fail:
    m_close(pg);
    return rc;
}
