/*
 * The SQLite storage backend.
 *
 * Schema: the four Django tables exactly as Django's SQLite backend creates them (so a Django-made
 * database is adopted as it is), plus our own `rm_` tables and two `rm_` indexes for the list
 * orders. Datetimes are TEXT in Django's canonical form "YYYY-MM-DD HH:MM:SS.ffffff", without the
 * fraction when it is zero (Python's isoformat), and we write exactly that form too: each instant has
 * one text, and byte order equals time order ("…:56" < "…:56.000001" < "…:57"), so comparisons and
 * ORDER BY use the raw columns and the indexes serve list pages without a sort.
 *
 * Concurrency: a pool of connections, each with its own cache of persistent prepared statements,
 * guarded by a mutex and a condition variable. A call leases one connection for its whole duration
 * (sinks run while the row is still in SQLite's buffer, so nothing is copied). Files get up to
 * POOL_FILE connections, opened lazily, in WAL mode so readers never wait for the writer.
 *
 * ":memory:" uses ONE connection, serialised by the same pool. Every connection to ":memory:" would
 * see its own private database; the alternatives that share one in-memory database between
 * connections are shared cache (table-level locks that fail with SQLITE_LOCKED, which busy_timeout does
 * not retry, so it needs sqlite3_unlock_notify plumbing everywhere) and the memdb VFS (no WAL, so
 * readers and writers block each other anyway). A single connection is simple, always correct, and
 * fast enough for what ":memory:" is for: tests and small embedded uses.
 *
 * Writes: multi-statement writes run in BEGIN IMMEDIATE transactions, so a writer in another process
 * waits on busy_timeout instead of failing on a lock upgrade. Inside this process writers also queue
 * on a mutex (write_mu) so they never sleep in SQLite's busy handler because of each other, and a
 * file's writes all use one connection (`writer`, opened on the first write, outside the pool): in WAL
 * mode a connection drops its whole page cache when another connection has written since its last
 * transaction, so writes spread over the pool re-read every page they touch (about 15 reads per
 * insert), while the one writer's cache stays valid from one write to the next.
 *
 * Checkpoints: SQLite's automatic checkpoint runs inside the commit that crosses 1000 WAL pages, so
 * that one write (and every writer queued behind it on write_mu) waits for the copy into the database
 * file and its two fsyncs. Files instead get a checkpointer thread with its own connection: the pool's
 * connections have no automatic checkpoint, their WAL hook wakes the thread once per CKPT_PAGES new
 * pages (not on every commit past the threshold: that ran a checkpoint, with its two fsyncs, every few
 * commits), and the thread runs PASSIVE checkpoints (never blocking readers or writers). Should the WAL still grow
 * past CKPT_HARD_PAGES (the thread starved of CPU or disk), the committing writer checkpoints itself
 * again, as SQLite would. Durability does not change: WAL + synchronous=NORMAL, a commit is in the WAL
 * (in the OS) before it returns, and checkpoints sync the WAL before copying it.
 * Trade-off: under a sustained stream of writes the background checkpoint never quite reaches the end
 * of the WAL (writers keep appending while it copies), so the WAL only restarts from its beginning when
 * a writer crosses CKPT_HARD_PAGES and finishes the (by then short) catch-up itself: the WAL file grows
 * to about CKPT_HARD_PAGES pages (~80 MB) under such load instead of SQLite's ~4 MB, and that one
 * commit in 20000 pages waits for the catch-up, instead of one in 1000 waiting for a full checkpoint.
 *
 * Sinks must not call back into the same storage handle: that could wait forever for a connection
 * (always, for ":memory:"). Such a nested call is detected and fails with RM_ESTORAGE instead.
 */
#include "../core/internal.h"
#include "internal.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_FILE 8
#define BUSY_TIMEOUT_MS 5000
#define CKPT_PAGES 1000       /* WAL pages that wake the checkpointer (SQLite's own default threshold) */
#define CKPT_HARD_PAGES 20000 /* past this (about 80 MB with 4 KiB pages) a writer checkpoints itself */
#define SCHEMA_VERSION 1

/* A datetime column in list orders and keyset comparisons (canonical text: see the top of the file). */
#define TS(col) col

/* ---------------------------------------------------------------------------------------------- */
/* Schema                                                                                           */
/* ---------------------------------------------------------------------------------------------- */

/* Version 1: Django's tables as its SQLite backend creates them (IF NOT EXISTS, to adopt a Django
 * database), then our own tables. Each element of migrations[] moves the schema one version up. */
static const char *const migration_1 =
    "CREATE TABLE IF NOT EXISTS \"auth_user\" ("
    "\"id\" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "
    "\"password\" varchar(128) NOT NULL, "
    "\"last_login\" datetime NULL, "
    "\"is_superuser\" bool NOT NULL, "
    "\"username\" varchar(150) NOT NULL UNIQUE, "
    "\"first_name\" varchar(150) NOT NULL, "
    "\"last_name\" varchar(150) NOT NULL, "
    "\"email\" varchar(254) NOT NULL, "
    "\"is_staff\" bool NOT NULL, "
    "\"is_active\" bool NOT NULL, "
    "\"date_joined\" datetime NOT NULL);"

    "CREATE TABLE IF NOT EXISTS \"resume_resume\" ("
    "\"id\" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "
    "\"title\" varchar(255) NOT NULL, "
    "\"content\" text NOT NULL, "
    "\"created_at\" datetime NOT NULL, "
    "\"updated_at\" datetime NOT NULL, "
    "\"user_id\" integer NOT NULL REFERENCES \"auth_user\" (\"id\") DEFERRABLE INITIALLY DEFERRED);"
    "CREATE INDEX IF NOT EXISTS \"resume_resume_user_id_0b155703\" ON \"resume_resume\" (\"user_id\");"

    "CREATE TABLE IF NOT EXISTS \"job_tracker_jobapplication\" ("
    "\"id\" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "
    "\"job_title\" varchar(255) NULL, "
    "\"company_name\" varchar(255) NULL, "
    "\"original_job_description\" text NULL, "
    "\"date_applied\" date NULL, "
    "\"status\" varchar(20) NOT NULL, "
    "\"notes\" text NULL, "
    "\"is_deleted\" bool NOT NULL, "
    "\"is_example\" bool NOT NULL, "
    "\"created_at\" datetime NOT NULL, "
    "\"updated_at\" datetime NOT NULL, "
    "\"resume_used_id\" bigint NULL REFERENCES \"resume_resume\" (\"id\") DEFERRABLE INITIALLY DEFERRED, "
    "\"user_id\" integer NOT NULL REFERENCES \"auth_user\" (\"id\") DEFERRABLE INITIALLY DEFERRED);"
    "CREATE INDEX IF NOT EXISTS \"job_tracker_jobapplication_resume_used_id_68776f96\" "
    "ON \"job_tracker_jobapplication\" (\"resume_used_id\");"
    "CREATE INDEX IF NOT EXISTS \"job_tracker_jobapplication_user_id_a3f6cbf6\" "
    "ON \"job_tracker_jobapplication\" (\"user_id\");"

    "CREATE TABLE IF NOT EXISTS \"ai_aimodel\" ("
    "\"id\" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "
    "\"display_name\" varchar(100) NOT NULL UNIQUE, "
    "\"model_name\" varchar(100) NOT NULL, "
    "\"api_provider\" varchar(50) NOT NULL, "
    "\"api_key_name\" varchar(100) NOT NULL, "
    "\"is_active\" bool NOT NULL, "
    "\"login_required\" bool NOT NULL, "
    "\"daily_limit\" integer unsigned NOT NULL CHECK (\"daily_limit\" >= 0), "
    "\"response_time_info\" varchar(100) NOT NULL, "
    "\"description\" text NOT NULL, "
    "\"created_at\" datetime NOT NULL, "
    "\"updated_at\" datetime NOT NULL);"

    "CREATE TABLE IF NOT EXISTS \"rm_schema_version\" ("
    "\"version\" integer NOT NULL PRIMARY KEY, "
    "\"applied_at\" datetime NOT NULL);"

    /* Cascades keep the extension rows in step when Django (or anyone) deletes a user or model. */
    "CREATE TABLE IF NOT EXISTS \"rm_user_ext\" ("
    "\"user_id\" integer NOT NULL PRIMARY KEY "
    "REFERENCES \"auth_user\" (\"id\") ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, "
    "\"tokens_valid_after\" datetime NULL);"

    "CREATE TABLE IF NOT EXISTS \"rm_ai_model_ext\" ("
    "\"model_id\" integer NOT NULL PRIMARY KEY "
    "REFERENCES \"ai_aimodel\" (\"id\") ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, "
    "\"base_url\" text NULL);"

    "CREATE TABLE IF NOT EXISTS \"rm_token_denylist\" ("
    "\"jti\" varchar(255) NOT NULL PRIMARY KEY, "
    "\"user_id\" integer NOT NULL, "
    "\"expires_at\" datetime NOT NULL);"
    "CREATE INDEX IF NOT EXISTS \"rm_token_denylist_expires_at\" ON \"rm_token_denylist\" (\"expires_at\");"
    "CREATE INDEX IF NOT EXISTS \"rm_resume_user_updated\" ON \"resume_resume\" (\"user_id\", \"updated_at\", \"id\");"
    "CREATE INDEX IF NOT EXISTS \"rm_application_user_created\" "
    "ON \"job_tracker_jobapplication\" (\"user_id\", \"created_at\", \"id\");"

    "CREATE TABLE IF NOT EXISTS \"rm_daily_usage\" ("
    "\"user_id\" integer NOT NULL, "
    "\"model_id\" bigint NOT NULL, "
    "\"day\" date NOT NULL, "
    "\"count\" integer NOT NULL CHECK (\"count\" >= 0), "
    "PRIMARY KEY (\"user_id\", \"model_id\", \"day\")) WITHOUT ROWID;"

    "CREATE TABLE IF NOT EXISTS \"rm_idempotency\" ("
    "\"user_id\" integer NOT NULL, "
    "\"key\" varchar(255) NOT NULL, "
    "\"resume_id\" bigint NOT NULL, "
    "\"created_at\" datetime NOT NULL, "
    "PRIMARY KEY (\"user_id\", \"key\")) WITHOUT ROWID;";

static const char *const migrations[SCHEMA_VERSION] = {migration_1};

/* ---------------------------------------------------------------------------------------------- */
/* Statements                                                                                       */
/* ---------------------------------------------------------------------------------------------- */

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_PING,
    ST_USER_INSERT,
    ST_USER_EXT_UPSERT,
    ST_USER_GET_ID,
    ST_USER_GET_NAME,
    ST_USER_UPDATE,
    ST_RESUME_INSERT,
    ST_RESUME_GET,
    ST_RESUME_LIST,
    ST_RESUME_UPDATE,
    ST_RESUME_DELETE,
    ST_RESUME_UNLINK,
    ST_APP_INSERT,
    ST_APP_GET_USER,
    ST_APP_GET_EXAMPLE,
    ST_APP_LIST_USER,
    ST_APP_LIST_EXAMPLE,
    ST_APP_UPDATE,
    ST_APP_DELETE,
    ST_AI_INSERT,
    ST_AI_EXT_UPSERT,
    ST_AI_NAME_TAKEN,
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
    ST_USAGE_SET,
    ST_RESUME_COUNT,
    ST_APP_COUNT_USER,
    ST_APP_COUNT_EXAMPLE,
    ST_COUNT
};

#define USER_COLS                                                                                                     \
    "SELECT u.\"id\", u.\"username\", u.\"email\", u.\"password\", u.\"first_name\", u.\"last_name\", u.\"is_active\", " \
    "u.\"is_staff\", u.\"is_superuser\", u.\"date_joined\", u.\"last_login\", x.\"tokens_valid_after\" "                 \
    "FROM \"auth_user\" u LEFT JOIN \"rm_user_ext\" x ON x.\"user_id\" = u.\"id\" "

#define RESUME_COLS \
    "SELECT \"id\", \"user_id\", \"title\", \"content\", \"created_at\", \"updated_at\" FROM \"resume_resume\" "

#define APP_COLS                                                                                                  \
    "SELECT \"id\", \"user_id\", \"job_title\", \"company_name\", \"original_job_description\", \"date_applied\", " \
    "\"status\", \"notes\", \"is_deleted\", \"is_example\", \"resume_used_id\", \"created_at\", \"updated_at\" "    \
    "FROM \"job_tracker_jobapplication\" "

/* Parameters of both application lists: ?1 user, ?2 has_after, ?3 after_time, ?4 after_id, ?5 limit,
 * ?6 offset, ?7 status. */
#define APP_LIST_TAIL                                                                                       \
    " AND \"is_deleted\" = 0 AND (?7 IS NULL OR \"status\" = ?7)"                                           \
    " AND (?2 = 0 OR " TS("\"created_at\"") " < ?3 OR (" TS("\"created_at\"") " = ?3 AND \"id\" < ?4))"     \
    " ORDER BY " TS("\"created_at\"") " DESC, \"id\" DESC LIMIT ?5 OFFSET ?6"

#define AI_COLS                                                                                                     \
    "SELECT m.\"id\", m.\"display_name\", m.\"model_name\", m.\"api_provider\", m.\"api_key_name\", m.\"is_active\", " \
    "m.\"login_required\", m.\"daily_limit\", m.\"response_time_info\", m.\"description\", m.\"created_at\", "         \
    "m.\"updated_at\", x.\"base_url\" "                                                                                \
    "FROM \"ai_aimodel\" m LEFT JOIN \"rm_ai_model_ext\" x ON x.\"model_id\" = m.\"id\" "

static const char *const sql_text[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_PING] = "SELECT 1",

    [ST_USER_INSERT] = "INSERT INTO \"auth_user\" (\"password\", \"last_login\", \"is_superuser\", \"username\", "
                       "\"first_name\", \"last_name\", \"email\", \"is_staff\", \"is_active\", \"date_joined\", \"id\") "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_USER_EXT_UPSERT] = "INSERT INTO \"rm_user_ext\" (\"user_id\", \"tokens_valid_after\") VALUES (?1, ?2) "
                           "ON CONFLICT (\"user_id\") DO UPDATE SET \"tokens_valid_after\" = excluded.\"tokens_valid_after\"",
    [ST_USER_GET_ID] = USER_COLS "WHERE u.\"id\" = ?1",
    [ST_USER_GET_NAME] = USER_COLS "WHERE u.\"username\" = ?1",
    [ST_USER_UPDATE] = "UPDATE \"auth_user\" SET \"password\" = ?2, \"last_login\" = ?3, \"is_superuser\" = ?4, "
                       "\"username\" = ?5, \"first_name\" = ?6, \"last_name\" = ?7, \"email\" = ?8, \"is_staff\" = ?9, "
                       "\"is_active\" = ?10 WHERE \"id\" = ?1",

    [ST_RESUME_INSERT] = "INSERT INTO \"resume_resume\" (\"title\", \"content\", \"created_at\", \"updated_at\", "
                         "\"user_id\", \"id\") VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_RESUME_GET] = RESUME_COLS "WHERE \"id\" = ?1 AND \"user_id\" = ?2",
    [ST_RESUME_LIST] = RESUME_COLS "WHERE \"user_id\" = ?1"
                                   " AND (?2 = 0 OR " TS("\"updated_at\"") " < ?3 OR (" TS("\"updated_at\"") " = ?3 AND \"id\" < ?4))"
                                   " ORDER BY " TS("\"updated_at\"") " DESC, \"id\" DESC LIMIT ?5 OFFSET ?6",
    [ST_RESUME_UPDATE] = "UPDATE \"resume_resume\" SET \"title\" = ?3, \"content\" = ?4, \"updated_at\" = ?5 "
                         "WHERE \"id\" = ?1 AND \"user_id\" = ?2",
    [ST_RESUME_DELETE] = "DELETE FROM \"resume_resume\" WHERE \"id\" = ?1 AND \"user_id\" = ?2",
    [ST_RESUME_UNLINK] = "UPDATE \"job_tracker_jobapplication\" SET \"resume_used_id\" = NULL WHERE \"resume_used_id\" = ?1",

    [ST_APP_INSERT] = "INSERT INTO \"job_tracker_jobapplication\" (\"job_title\", \"company_name\", "
                      "\"original_job_description\", \"date_applied\", \"status\", \"notes\", \"is_deleted\", "
                      "\"is_example\", \"created_at\", \"updated_at\", \"resume_used_id\", \"user_id\", \"id\") "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [ST_APP_GET_USER] = APP_COLS "WHERE \"id\" = ?1 AND \"user_id\" = ?2 AND \"is_deleted\" = 0",
    [ST_APP_GET_EXAMPLE] = APP_COLS "WHERE \"id\" = ?1 AND \"is_example\" = 1 AND \"is_deleted\" = 0",
    [ST_APP_LIST_USER] = APP_COLS "WHERE \"user_id\" = ?1" APP_LIST_TAIL,
    [ST_APP_LIST_EXAMPLE] = APP_COLS "WHERE ?1 = 0 AND \"is_example\" = 1" APP_LIST_TAIL,
    [ST_APP_UPDATE] = "UPDATE \"job_tracker_jobapplication\" SET \"job_title\" = ?3, \"company_name\" = ?4, "
                      "\"original_job_description\" = ?5, \"date_applied\" = ?6, \"status\" = ?7, \"notes\" = ?8, "
                      "\"is_example\" = ?9, \"resume_used_id\" = ?10, \"updated_at\" = ?11 "
                      "WHERE \"id\" = ?1 AND \"user_id\" = ?2 AND \"is_deleted\" = 0",
    [ST_APP_DELETE] = "UPDATE \"job_tracker_jobapplication\" SET \"is_deleted\" = 1, \"updated_at\" = ?3 "
                      "WHERE \"id\" = ?1 AND \"user_id\" = ?2 AND \"is_deleted\" = 0",

    [ST_AI_INSERT] = "INSERT INTO \"ai_aimodel\" (\"display_name\", \"model_name\", \"api_provider\", \"api_key_name\", "
                     "\"is_active\", \"login_required\", \"daily_limit\", \"response_time_info\", \"description\", "
                     "\"created_at\", \"updated_at\", \"id\") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [ST_AI_EXT_UPSERT] = "INSERT INTO \"rm_ai_model_ext\" (\"model_id\", \"base_url\") VALUES (?1, ?2) "
                         "ON CONFLICT (\"model_id\") DO UPDATE SET \"base_url\" = excluded.\"base_url\"",
    [ST_AI_NAME_TAKEN] = "SELECT 1 FROM \"ai_aimodel\" WHERE \"display_name\" = ?1 COLLATE NOCASE AND \"id\" <> ?2 LIMIT 1",
    [ST_AI_GET_ID] = AI_COLS "WHERE m.\"id\" = ?1",
    /* An adopted Django database may hold names differing only in case: prefer the exact one. */
    [ST_AI_GET_NAME] = AI_COLS "WHERE m.\"display_name\" = ?1 COLLATE NOCASE "
                               "ORDER BY m.\"display_name\" = ?1 DESC, m.\"id\" LIMIT 1",
    [ST_AI_LIST] = AI_COLS "WHERE ?1 = 0 OR m.\"is_active\" = 1 ORDER BY m.\"display_name\" COLLATE NOCASE, m.\"id\"",
    [ST_AI_UPDATE] = "UPDATE \"ai_aimodel\" SET \"display_name\" = ?2, \"model_name\" = ?3, \"api_provider\" = ?4, "
                     "\"api_key_name\" = ?5, \"is_active\" = ?6, \"login_required\" = ?7, \"daily_limit\" = ?8, "
                     "\"response_time_info\" = ?9, \"description\" = ?10, \"updated_at\" = ?11 WHERE \"id\" = ?1",

    [ST_TOKEN_DENY] = "INSERT INTO \"rm_token_denylist\" (\"jti\", \"user_id\", \"expires_at\") VALUES (?1, ?2, ?3) "
                      "ON CONFLICT (\"jti\") DO NOTHING",
    [ST_TOKEN_IS_DENIED] = "SELECT 1 FROM \"rm_token_denylist\" WHERE \"jti\" = ?1",
    [ST_TOKEN_PRUNE] = "DELETE FROM \"rm_token_denylist\" WHERE \"expires_at\" <= ?1",

    /* One statement: counts unless the limit (?4 > 0) is reached; no row comes back when it is. */
    [ST_USAGE_INCREMENT] = "INSERT INTO \"rm_daily_usage\" (\"user_id\", \"model_id\", \"day\", \"count\") "
                           "VALUES (?1, ?2, ?3, 1) ON CONFLICT (\"user_id\", \"model_id\", \"day\") "
                           "DO UPDATE SET \"count\" = \"count\" + 1 WHERE ?4 <= 0 OR \"count\" < ?4 RETURNING \"count\"",
    [ST_USAGE_GET] = "SELECT \"count\" FROM \"rm_daily_usage\" WHERE \"user_id\" = ?1 AND \"model_id\" = ?2 AND \"day\" = ?3",
    [ST_USAGE_RELEASE] = "UPDATE \"rm_daily_usage\" SET \"count\" = \"count\" - 1 "
                         "WHERE \"user_id\" = ?1 AND \"model_id\" = ?2 AND \"day\" = ?3 AND \"count\" > 0",

    [ST_IDEM_PUT] = "INSERT INTO \"rm_idempotency\" (\"user_id\", \"key\", \"resume_id\", \"created_at\") "
                    "VALUES (?1, ?2, ?3, ?4)",
    [ST_IDEM_GET] = "SELECT \"resume_id\" FROM \"rm_idempotency\" WHERE \"user_id\" = ?1 AND \"key\" = ?2 "
                    "AND (?3 IS NULL OR \"created_at\" >= ?3)",
    [ST_IDEM_PRUNE] = "DELETE FROM \"rm_idempotency\" WHERE \"created_at\" < ?1",

    /* Export and import (vtable version 2). */
    [ST_USER_SCAN] = USER_COLS "ORDER BY u.\"id\"",
    [ST_RESUME_SCAN] = RESUME_COLS "ORDER BY \"id\"",
    [ST_APP_SCAN] = APP_COLS "ORDER BY \"id\"",
    [ST_TOKEN_SCAN] = "SELECT \"jti\", \"user_id\", \"expires_at\" FROM \"rm_token_denylist\" ORDER BY \"jti\"",
    [ST_USAGE_SCAN] = "SELECT \"user_id\", \"model_id\", \"day\", \"count\" FROM \"rm_daily_usage\" "
                      "ORDER BY \"user_id\", \"model_id\", \"day\"",
    [ST_IDEM_SCAN] = "SELECT \"key\", \"user_id\", \"resume_id\", \"created_at\" FROM \"rm_idempotency\" "
                     "ORDER BY \"user_id\", \"key\"",
    [ST_USAGE_SET] = "INSERT INTO \"rm_daily_usage\" (\"user_id\", \"model_id\", \"day\", \"count\") VALUES (?1, ?2, ?3, ?4) "
                     "ON CONFLICT (\"user_id\", \"model_id\", \"day\") DO UPDATE SET \"count\" = excluded.\"count\"",

    /* Counts (vtable version 3): ?1 user, ?7 status (applications); search terms are appended from ?8. */
    [ST_RESUME_COUNT] = "SELECT count(*) FROM \"resume_resume\" WHERE \"user_id\" = ?1",
    [ST_APP_COUNT_USER] = "SELECT count(*) FROM \"job_tracker_jobapplication\" WHERE \"user_id\" = ?1 "
                          "AND \"is_deleted\" = 0 AND (?7 IS NULL OR \"status\" = ?7)",
    [ST_APP_COUNT_EXAMPLE] = "SELECT count(*) FROM \"job_tracker_jobapplication\" WHERE ?1 = 0 AND \"is_example\" = 1 "
                             "AND \"is_deleted\" = 0 AND (?7 IS NULL OR \"status\" = ?7)",
};

/* ---------------------------------------------------------------------------------------------- */
/* Connections and the pool                                                                         */
/* ---------------------------------------------------------------------------------------------- */

typedef struct conn {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
} conn;

typedef struct rm_sqlite {
    char *path;
    bool memory;
    pthread_mutex_t mu;      /* guards the fields below */
    pthread_cond_t cv;       /* a connection came back (or a slot freed) */
    conn **all;              /* every open connection */
    conn **idle;             /* the free ones (a stack) */
    size_t n_all, n_idle, n_opening, max;
    pthread_mutex_t write_mu; /* in-process writers queue here rather than in SQLite's busy handler */
    conn *writer;             /* files: the one connection writes use (guarded by write_mu), opened lazily */
    /* The checkpointer (files only; see the top of the file). */
    pthread_mutex_t ck_mu;
    pthread_cond_t ck_cv;
    pthread_t ck_thread;
    bool ck_running;          /* the thread exists: pool connections get the WAL hook */
    bool ck_wanted, ck_stop;  /* guarded by ck_mu */
    int ck_mark;              /* guarded by ck_mu: WAL pages when the thread was last woken */
    conn *ck_conn;            /* the thread's own connection */
} rm_sqlite;

/* The leases a thread holds, innermost first, to refuse a nested call from a sink. */
typedef struct lease {
    rm_sqlite *p;
    conn *c;
    bool writing;
    bool pooled; /* c came from the pool (not the writer connection) */
    struct lease *prev;
} lease;
static _Thread_local lease *tl_leases;

static int sql_error(sqlite3 *db, int rc)
{
    int ext = db ? sqlite3_extended_errcode(db) : rc;
    int status = (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) ? RM_ECONFLICT : RM_ESTORAGE;
    /* SQLite's messages name tables and columns, never bound values. */
    char msg[256];
    snprintf(msg, sizeof(msg), "sqlite: %s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    return rm_storage_set_error(status, msg);
}

static int not_found(void) { return rm_storage_set_error(RM_ENOTFOUND, "not found"); }

static void conn_close(conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(c->st[i]);
    sqlite3_close(c->db);
    free(c);
}

static int conn_exec(conn *c, const char *sql)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? RM_OK : sql_error(c->db, rc);
}

static int conn_open(const rm_sqlite *p, conn **out)
{
    *out = NULL;
    conn *c = calloc(1, sizeof(*c));
    if (!c)
        return rm__error_nomem();
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(p->path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = c->db ? sql_error(c->db, rc) : rm__error_nomem();
        goto fail;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    if ((rc = conn_exec(c, "PRAGMA foreign_keys = ON")) != RM_OK ||
        (rc = conn_exec(c, "PRAGMA temp_store = MEMORY")) != RM_OK)
        goto fail;
    if (!p->memory && ((rc = conn_exec(c, "PRAGMA journal_mode = WAL")) != RM_OK ||
                       (rc = conn_exec(c, "PRAGMA synchronous = NORMAL")) != RM_OK))
        goto fail;
    *out = c;
    return RM_OK;
fail:
    conn_close(c);
    return rc;
}

/* WAL hook of the pool's connections, called after each commit with the pages now in the WAL. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    rm_sqlite *p = arg;
    if (pages >= CKPT_HARD_PAGES) {
        /* The checkpointer is not keeping up: back-pressure on the writers, as autocheckpoint would. */
        (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    } else if (pages >= CKPT_PAGES) {
        pthread_mutex_lock(&p->ck_mu);
        if (pages < p->ck_mark)
            p->ck_mark = 0; /* the WAL started over since */
        /* One checkpoint per CKPT_PAGES new pages, as SQLite's autocheckpoint: waking the thread on
         * every commit past the threshold would run a checkpoint (two fsyncs) every few commits. */
        if (!p->ck_wanted && pages - p->ck_mark >= CKPT_PAGES) {
            p->ck_mark = pages;
            p->ck_wanted = true;
            pthread_cond_signal(&p->ck_cv);
        }
        pthread_mutex_unlock(&p->ck_mu);
    }
    return SQLITE_OK;
}

/* Pool connections of a file with a checkpointer: no automatic checkpoint, the hook instead. */
static void conn_hook(rm_sqlite *p, conn *c)
{
    if (p->ck_running)
        sqlite3_wal_hook(c->db, wal_hook, p); /* replaces the autocheckpoint hook */
}

static void *ck_main(void *arg)
{
    rm_sqlite *p = arg;
    pthread_mutex_lock(&p->ck_mu);
    for (;;) {
        while (!p->ck_wanted && !p->ck_stop)
            pthread_cond_wait(&p->ck_cv, &p->ck_mu);
        if (p->ck_stop)
            break;
        p->ck_wanted = false;
        pthread_mutex_unlock(&p->ck_mu);
        /* PASSIVE: copies what no reader still needs, takes no writer lock, never waits. SQLITE_BUSY
         * (another process checkpointing) is fine: the next commit past the threshold wakes us again. */
        (void)sqlite3_wal_checkpoint_v2(p->ck_conn->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&p->ck_mu);
    }
    pthread_mutex_unlock(&p->ck_mu);
    return NULL;
}

/* Start the checkpointer of a file database. On failure the connections keep SQLite's automatic
 * checkpoint, which is correct, only slower for the writer that runs it. */
static void ck_start(rm_sqlite *p)
{
    if (p->memory || pthread_mutex_init(&p->ck_mu, NULL) != 0)
        return;
    if (pthread_cond_init(&p->ck_cv, NULL) != 0) {
        pthread_mutex_destroy(&p->ck_mu);
        return;
    }
    if (conn_open(p, &p->ck_conn) != RM_OK || pthread_create(&p->ck_thread, NULL, ck_main, p) != 0) {
        conn_close(p->ck_conn);
        p->ck_conn = NULL;
        pthread_cond_destroy(&p->ck_cv);
        pthread_mutex_destroy(&p->ck_mu);
        return;
    }
    pthread_setname_np(p->ck_thread, "rm-checkpoint");
    p->ck_running = true;
}

/* Stop the checkpointer (before the pool's connections close; the last close checkpoints the rest). */
static void ck_stop(rm_sqlite *p)
{
    if (!p->ck_running)
        return;
    pthread_mutex_lock(&p->ck_mu);
    p->ck_stop = true;
    pthread_cond_signal(&p->ck_cv);
    pthread_mutex_unlock(&p->ck_mu);
    pthread_join(p->ck_thread, NULL);
    conn_close(p->ck_conn);
    p->ck_conn = NULL;
    pthread_cond_destroy(&p->ck_cv);
    pthread_mutex_destroy(&p->ck_mu);
    p->ck_running = false;
}

/* The cached statement `id` of c, prepared on first use. */
static sqlite3_stmt *stmt(conn *c, int id, int *rc)
{
    if (!c->st[id]) {
        int r = sqlite3_prepare_v3(c->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT, &c->st[id], NULL);
        if (r != SQLITE_OK) {
            *rc = sql_error(c->db, r);
            sqlite3_finalize(c->st[id]);
            c->st[id] = NULL;
            return NULL;
        }
    }
    *rc = RM_OK;
    return c->st[id];
}

static void stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static int lease_take(rm_sqlite *p, lease *l, bool writing)
{
    for (lease *h = tl_leases; h; h = h->prev)
        if (h->p == p)
            return rm_storage_set_error(RM_ESTORAGE, "sqlite: storage called again from inside one of its own sinks");
    conn *c = NULL;
    bool pooled = !writing || p->memory;
    if (!pooled) {
        /* Files: every write of this process goes through one connection. Its page cache stays
         * valid from one write to the next (a pool connection's cache is dropped whenever another
         * connection has written since its last transaction, so a write on one re-read every page
         * it touched: about 15 reads per insert). */
        pthread_mutex_lock(&p->write_mu);
        if (!p->writer) {
            int rc = conn_open(p, &p->writer);
            if (rc != RM_OK) {
                pthread_mutex_unlock(&p->write_mu);
                return rc;
            }
            conn_hook(p, p->writer);
        }
        c = p->writer;
        goto leased;
    }
    bool may_grow = true;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->n_idle > 0) {
            c = p->idle[--p->n_idle];
            break;
        }
        if (may_grow && p->n_all + p->n_opening < p->max) {
            p->n_opening++;
            pthread_mutex_unlock(&p->mu);
            int rc = conn_open(p, &c);
            if (rc == RM_OK)
                conn_hook(p, c);
            pthread_mutex_lock(&p->mu);
            p->n_opening--;
            if (rc == RM_OK) {
                p->all[p->n_all++] = c;
                break;
            }
            pthread_cond_signal(&p->cv); /* the slot is free again for a waiter to try */
            if (p->n_all == 0) {
                pthread_mutex_unlock(&p->mu);
                return rc;
            }
            may_grow = false; /* e.g. out of file descriptors: wait for an open connection instead */
            continue;
        }
        pthread_cond_wait(&p->cv, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    if (writing)
        pthread_mutex_lock(&p->write_mu);
leased:
    l->p = p;
    l->c = c;
    l->pooled = pooled;
    l->writing = writing;
    l->prev = tl_leases;
    tl_leases = l;
    return RM_OK;
}

static void lease_give(lease *l)
{
    rm_sqlite *p = l->p;
    tl_leases = l->prev;
    if (l->writing)
        pthread_mutex_unlock(&p->write_mu);
    if (!l->pooled)
        return;
    pthread_mutex_lock(&p->mu);
    p->idle[p->n_idle++] = l->c;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* ---------------------------------------------------------------------------------------------- */
/* Binding, stepping, transactions                                                                  */
/* ---------------------------------------------------------------------------------------------- */

/* Binders accumulate the first failure in *rc so a statement is bound in a straight line. */
static void b_text(sqlite3_stmt *st, int i, const char *s, int *rc)
{
    if (*rc == SQLITE_OK)
        *rc = s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static void b_int(sqlite3_stmt *st, int i, int64_t v, int *rc)
{
    if (*rc == SQLITE_OK)
        *rc = sqlite3_bind_int64(st, i, v);
}

static void b_bool(sqlite3_stmt *st, int i, int v, int *rc) { b_int(st, i, v ? 1 : 0, rc); }

/* 0 is SQL NULL (a missing foreign key). */
static void b_ref(sqlite3_stmt *st, int i, int64_t v, int *rc)
{
    if (*rc == SQLITE_OK)
        *rc = v ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
}

static void b_time(sqlite3_stmt *st, int i, int64_t us, int *rc)
{
    if (*rc != SQLITE_OK)
        return;
    if (us == RM_NO_TIME) {
        *rc = sqlite3_bind_null(st, i);
        return;
    }
    char buf[32];
    rm__time_to_sql(buf, us);
    *rc = sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
}

static int bind_failed(conn *c, sqlite3_stmt *st, int brc)
{
    int rc = sql_error(c->db, brc);
    stmt_done(st);
    return rc;
}

/* Run a statement that returns no rows. */
static int step_done(conn *c, sqlite3_stmt *st)
{
    int r = sqlite3_step(st);
    int rc = r == SQLITE_DONE ? RM_OK : sql_error(c->db, r);
    stmt_done(st);
    return rc;
}

static int run_cached(conn *c, int id)
{
    int rc;
    sqlite3_stmt *st = stmt(c, id, &rc);
    return st ? step_done(c, st) : rc;
}

static int tx_begin(conn *c) { return run_cached(c, ST_BEGIN); }

static void tx_rollback(conn *c)
{
    if (!sqlite3_get_autocommit(c->db)) {
        int rc;
        sqlite3_stmt *st = stmt(c, ST_ROLLBACK, &rc);
        if (st) {
            sqlite3_step(st);
            stmt_done(st);
        }
    }
}

/* Commit if rc is RM_OK, else roll back; returns the outcome. */
static int tx_end(conn *c, int rc)
{
    if (rc == RM_OK)
        rc = run_cached(c, ST_COMMIT);
    if (rc != RM_OK)
        tx_rollback(c);
    return rc;
}

static int64_t col_time(sqlite3_stmt *st, int i)
{
    return rm__time_from_sql((const char *)sqlite3_column_text(st, i));
}

static const char *col_text(sqlite3_stmt *st, int i) { return (const char *)sqlite3_column_text(st, i); }

/* NOT NULL text: never hand a sink NULL for it. */
static const char *col_str(sqlite3_stmt *st, int i)
{
    const char *s = col_text(st, i);
    return s ? s : "";
}

/* Turns the current row into a record and feeds the sink; returns the sink's answer. */
typedef int (*row_fn)(sqlite3_stmt *st, const void *sink, void *sink_data);

/* Step through the rows of a bound statement. With need_row, no row at all is RM_ENOTFOUND. */
static int each_row(conn *c, sqlite3_stmt *st, row_fn fn, const void *sink, void *sink_data, bool need_row)
{
    int r, rc = RM_OK;
    bool any = false;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        any = true;
        rc = fn(st, sink, sink_data);
        if (rc != 0)
            break;
    }
    if (rc == RM_OK) {
        if (r != SQLITE_DONE)
            rc = sql_error(c->db, r);
        else if (need_row && !any)
            rc = not_found();
    }
    stmt_done(st);
    return rc;
}

static int row_user(sqlite3_stmt *st, const void *sink, void *sink_data)
{
    rm_user_record r = {
        .id = sqlite3_column_int64(st, 0),
        .username = col_str(st, 1),
        .email = col_str(st, 2),
        .password = col_str(st, 3),
        .first_name = col_str(st, 4),
        .last_name = col_str(st, 5),
        .is_active = sqlite3_column_int(st, 6) != 0,
        .is_staff = sqlite3_column_int(st, 7) != 0,
        .is_superuser = sqlite3_column_int(st, 8) != 0,
        .date_joined = col_time(st, 9),
        .last_login = col_time(st, 10),
        .tokens_valid_after = col_time(st, 11),
    };
    return (*(const rm_user_sink *)sink)(sink_data, &r);
}

static int row_resume(sqlite3_stmt *st, const void *sink, void *sink_data)
{
    rm_resume_record r = {
        .id = sqlite3_column_int64(st, 0),
        .user_id = sqlite3_column_int64(st, 1),
        .title = col_str(st, 2),
        .content = col_str(st, 3),
        .created_at = col_time(st, 4),
        .updated_at = col_time(st, 5),
    };
    return (*(const rm_resume_sink *)sink)(sink_data, &r);
}

static int row_application(sqlite3_stmt *st, const void *sink, void *sink_data)
{
    rm_application_record r = {
        .id = sqlite3_column_int64(st, 0),
        .user_id = sqlite3_column_int64(st, 1),
        .job_title = col_text(st, 2),
        .company_name = col_text(st, 3),
        .original_job_description = col_text(st, 4),
        .date_applied = col_text(st, 5),
        .status = col_str(st, 6),
        .notes = col_text(st, 7),
        .is_deleted = sqlite3_column_int(st, 8) != 0,
        .is_example = sqlite3_column_int(st, 9) != 0,
        .resume_used = sqlite3_column_int64(st, 10), /* NULL reads as 0 */
        .created_at = col_time(st, 11),
        .updated_at = col_time(st, 12),
    };
    return (*(const rm_application_sink *)sink)(sink_data, &r);
}

static int row_ai_model(sqlite3_stmt *st, const void *sink, void *sink_data)
{
    rm_ai_model_record r = {
        .id = sqlite3_column_int64(st, 0),
        .display_name = col_str(st, 1),
        .model_name = col_str(st, 2),
        .api_provider = col_str(st, 3),
        .api_key_name = col_str(st, 4),
        .is_active = sqlite3_column_int(st, 5) != 0,
        .login_required = sqlite3_column_int(st, 6) != 0,
        .daily_limit = (int32_t)sqlite3_column_int64(st, 7),
        .response_time_info = col_str(st, 8),
        .description = col_str(st, 9),
        .created_at = col_time(st, 10),
        .updated_at = col_time(st, 11),
        .base_url = col_text(st, 12),
    };
    return (*(const rm_ai_model_sink *)sink)(sink_data, &r);
}

/* Bind paging: ?2 has_after, ?3 after_time, ?4 after_id, ?5 limit, ?6 offset. */
static void b_query(sqlite3_stmt *st, const rm_storage_query *q, int *rc)
{
    static const rm_storage_query none = {0};
    if (!q)
        q = &none;
    b_int(st, 2, q->has_after ? 1 : 0, rc);
    b_time(st, 3, q->has_after ? q->after_time : RM_NO_TIME, rc);
    b_int(st, 4, q->has_after ? q->after_id : 0, rc);
    b_int(st, 5, q->limit > 0 ? q->limit : -1, rc);
    b_int(st, 6, !q->has_after && q->offset > 0 ? q->offset : 0, rc);
}

/* ---------------------------------------------------------------------------------------------- */
/* The vtable members                                                                               */
/* ---------------------------------------------------------------------------------------------- */

/* Lease a connection into `c` (a local) for the rest of the member; RELEASE gives it back. */
#define LEASE(self, writing)                                   \
    lease l_;                                                  \
    int rc = lease_take((rm_sqlite *)(self), &l_, (writing));  \
    if (rc != RM_OK)                                           \
        return rc;                                             \
    conn *c = l_.c;                                            \
    sqlite3_stmt *st = NULL;                                   \
    int brc = SQLITE_OK;                                       \
    (void)st;                                                  \
    (void)brc
#define RELEASE() lease_give(&l_)

/* Prepare (on first use) cached statement `id` into `st`, or jump to `out` with rc set. */
#define STMT(id)                            \
    do {                                    \
        if (!(st = stmt(c, (id), &rc)))     \
            goto out;                       \
        brc = SQLITE_OK;                    \
    } while (0)
/* After binding: fail to `out` if a bind failed. */
#define BOUND()                                    \
    do {                                           \
        if (brc != SQLITE_OK) {                    \
            rc = bind_failed(c, st, brc);          \
            goto out;                              \
        }                                          \
    } while (0)

static void m_close(void *self);

static int m_ping(void *self)
{
    LEASE(self, false);
    STMT(ST_PING);
    int r = sqlite3_step(st);
    rc = (r == SQLITE_ROW || r == SQLITE_DONE) ? RM_OK : sql_error(c->db, r);
    stmt_done(st);
out:
    RELEASE();
    return rc;
}

/* ---- users ---- */

/* Insert a user with the id `want` (0: the next free one). */
static int user_write(void *self, const rm_user_record *u, int64_t want, int64_t *id_out)
{
    int64_t id = 0;
    LEASE(self, true);
    if ((rc = tx_begin(c)) != RM_OK)
        goto out;
    STMT(ST_USER_INSERT);
    b_text(st, 1, u->password, &brc);
    b_time(st, 2, u->last_login, &brc);
    b_bool(st, 3, u->is_superuser, &brc);
    b_text(st, 4, u->username, &brc);
    b_text(st, 5, u->first_name, &brc);
    b_text(st, 6, u->last_name, &brc);
    b_text(st, 7, u->email, &brc);
    b_bool(st, 8, u->is_staff, &brc);
    b_bool(st, 9, u->is_active, &brc);
    b_time(st, 10, u->date_joined, &brc);
    b_ref(st, 11, want, &brc);
    BOUND();
    if ((rc = step_done(c, st)) != RM_OK)
        goto out;
    id = sqlite3_last_insert_rowid(c->db);
    if (u->tokens_valid_after != RM_NO_TIME) {
        STMT(ST_USER_EXT_UPSERT);
        b_int(st, 1, id, &brc);
        b_time(st, 2, u->tokens_valid_after, &brc);
        BOUND();
        rc = step_done(c, st);
    }
out:
    if (!sqlite3_get_autocommit(c->db))
        rc = tx_end(c, rc);
    RELEASE();
    if (rc == RM_OK && id_out)
        *id_out = id;
    return rc;
}

static int m_user_insert(void *self, const rm_user_record *u, int64_t *id_out)
{
    if (!u)
        return rm__error_misuse("user record is NULL");
    return user_write(self, u, 0, id_out);
}

static int m_user_get(void *self, int64_t id, const char *username, rm_user_sink sink, void *sink_data)
{
    if (!sink || (id == 0 && !username))
        return rm__error_misuse("user_get needs a sink and an id or a username");
    LEASE(self, false);
    if (id != 0) {
        STMT(ST_USER_GET_ID);
        b_int(st, 1, id, &brc);
    } else {
        STMT(ST_USER_GET_NAME);
        b_text(st, 1, username, &brc);
    }
    BOUND();
    rc = each_row(c, st, row_user, &sink, sink_data, true);
out:
    RELEASE();
    return rc;
}

static int m_user_update(void *self, const rm_user_record *u)
{
    if (!u)
        return rm__error_misuse("user record is NULL");
    LEASE(self, true);
    if ((rc = tx_begin(c)) != RM_OK)
        goto out;
    STMT(ST_USER_UPDATE);
    b_int(st, 1, u->id, &brc);
    b_text(st, 2, u->password, &brc);
    b_time(st, 3, u->last_login, &brc);
    b_bool(st, 4, u->is_superuser, &brc);
    b_text(st, 5, u->username, &brc);
    b_text(st, 6, u->first_name, &brc);
    b_text(st, 7, u->last_name, &brc);
    b_text(st, 8, u->email, &brc);
    b_bool(st, 9, u->is_staff, &brc);
    b_bool(st, 10, u->is_active, &brc);
    BOUND();
    if ((rc = step_done(c, st)) != RM_OK)
        goto out;
    if (sqlite3_changes(c->db) == 0) {
        rc = not_found();
        goto out;
    }
    STMT(ST_USER_EXT_UPSERT);
    b_int(st, 1, u->id, &brc);
    b_time(st, 2, u->tokens_valid_after, &brc);
    BOUND();
    rc = step_done(c, st);
out:
    if (!sqlite3_get_autocommit(c->db))
        rc = tx_end(c, rc);
    RELEASE();
    return rc;
}

/* ---- search, custom orderings and counts (vtable version 3) ---- */

/* ASCII-only lower() (SQLite's built-in one, without ICU) and a substring test: `%` and `_` stay literal. */
static const rm__sql_dialect sqlite_dialect = {.match_fmt = "instr(lower(%s), ?%d) > 0", .text_collate = ""};

/* Parameters as in the cached lists: ?1 user, ?2-?6 paging, ?7 status; search terms from ?8. */
#define APP_WHERE_USER "WHERE \"user_id\" = ?1 AND \"is_deleted\" = 0 AND (?7 IS NULL OR \"status\" = ?7)"
#define APP_WHERE_EXAMPLE "WHERE ?1 = 0 AND \"is_example\" = 1 AND \"is_deleted\" = 0 AND (?7 IS NULL OR \"status\" = ?7)"
#define APP_KEYSET " AND (?2 = 0 OR " TS("\"created_at\"") " < ?3 OR (" TS("\"created_at\"") " = ?3 AND \"id\" < ?4))"
#define RESUME_WHERE "WHERE \"user_id\" = ?1"
#define RESUME_KEYSET " AND (?2 = 0 OR " TS("\"updated_at\"") " < ?3 OR (" TS("\"updated_at\"") " = ?3 AND \"id\" < ?4))"
#define TERM_PARAM 8

/* Run a list or count statement: bind ?1 user, paging (lists), ?7 status (applications), the terms; then
 * feed the rows (fn) or read the one count. A statement from sql_text when cached_id >= 0, else sql. */
static int run_list(void *self, int cached_id, const char *sql, bool app, int64_t user_id, const rm_storage_query *q,
                    row_fn fn, const void *sink, void *sink_data, int64_t *count_out)
{
    LEASE(self, false);
    if (cached_id >= 0) {
        STMT(cached_id);
    } else {
        int r = sqlite3_prepare_v3(c->db, sql, -1, 0, &st, NULL);
        if (r != SQLITE_OK) {
            rc = sql_error(c->db, r);
            sqlite3_finalize(st);
            st = NULL;
            goto out;
        }
    }
    b_int(st, 1, user_id, &brc);
    if (fn)
        b_query(st, q, &brc);
    if (app)
        b_text(st, 7, q->status, &brc);
    for (size_t t = 0; t < q->search_count; t++)
        b_text(st, TERM_PARAM + (int)t, q->search[t], &brc);
    if (brc != SQLITE_OK) {
        rc = sql_error(c->db, brc);
        stmt_done(st);
        goto out;
    }
    if (fn) {
        rc = each_row(c, st, fn, sink, sink_data, false);
    } else {
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW)
            *count_out = sqlite3_column_int64(st, 0);
        else
            rc = sql_error(c->db, r);
        stmt_done(st);
    }
out:
    if (cached_id < 0)
        sqlite3_finalize(st);
    RELEASE();
    return rc;
}

/* A list that searches or has a custom ordering: its SQL is built for the call. */
static int list_built(void *self, bool app, int64_t user_id, const rm_storage_query *q, row_fn fn, const void *sink,
                      void *sink_data)
{
    char *sql = NULL;
    int rc = app ? rm__sql_list(&sql, &sqlite_dialect, user_id != 0 ? APP_COLS APP_WHERE_USER : APP_COLS APP_WHERE_EXAMPLE,
                                APP_KEYSET, q, &rm__list_app_fields, TERM_PARAM,
                                TS("\"created_at\"") " DESC, \"id\" DESC", " LIMIT ?5 OFFSET ?6")
                 : rm__sql_list(&sql, &sqlite_dialect, RESUME_COLS RESUME_WHERE, RESUME_KEYSET, q, &rm__list_resume_fields,
                                TERM_PARAM, TS("\"updated_at\"") " DESC, \"id\" DESC", " LIMIT ?5 OFFSET ?6");
    if (rc == RM_OK)
        rc = run_list(self, -1, sql, app, user_id, q, fn, sink, sink_data, NULL);
    free(sql);
    return rc;
}

/* A count: the cached statement without search terms, one built for the call with them. */
static int count_rows(void *self, bool app, int64_t user_id, const rm_storage_query *q, int64_t *count_out)
{
    static const rm_storage_query none = {0};
    if (!count_out)
        return rm__error_misuse("count_out is NULL");
    *count_out = 0;
    if (!q)
        q = &none;
    int cached = !app ? ST_RESUME_COUNT : user_id != 0 ? ST_APP_COUNT_USER : ST_APP_COUNT_EXAMPLE;
    if (q->search_count == 0)
        return run_list(self, cached, NULL, app, user_id, q, NULL, NULL, NULL, count_out);
    char *sql = NULL;
    int rc = rm__sql_list(&sql, &sqlite_dialect, sql_text[cached], NULL, q,
                          app ? &rm__list_app_fields : &rm__list_resume_fields, TERM_PARAM, NULL, "");
    if (rc == RM_OK)
        rc = run_list(self, -1, sql, app, user_id, q, NULL, NULL, NULL, count_out);
    free(sql);
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

/* ---- resumes ---- */

static int resume_write(void *self, const rm_resume_record *r, int64_t want, int64_t *id_out)
{
    int64_t id = 0;
    LEASE(self, true);
    STMT(ST_RESUME_INSERT);
    b_text(st, 1, r->title, &brc);
    b_text(st, 2, r->content, &brc);
    b_time(st, 3, r->created_at, &brc);
    b_time(st, 4, r->updated_at, &brc);
    b_int(st, 5, r->user_id, &brc);
    b_ref(st, 6, want, &brc);
    BOUND();
    if ((rc = step_done(c, st)) == RM_OK)
        id = sqlite3_last_insert_rowid(c->db);
out:
    RELEASE();
    if (rc == RM_OK && id_out)
        *id_out = id;
    return rc;
}

static int m_resume_insert(void *self, const rm_resume_record *r, int64_t *id_out)
{
    if (!r)
        return rm__error_misuse("resume record is NULL");
    return resume_write(self, r, 0, id_out);
}

static int m_resume_get(void *self, int64_t user_id, int64_t id, rm_resume_sink sink, void *sink_data)
{
    if (!sink)
        return rm__error_misuse("sink is NULL");
    LEASE(self, false);
    STMT(ST_RESUME_GET);
    b_int(st, 1, id, &brc);
    b_int(st, 2, user_id, &brc);
    BOUND();
    rc = each_row(c, st, row_resume, &sink, sink_data, true);
out:
    RELEASE();
    return rc;
}

static int m_resume_list(void *self, int64_t user_id, const rm_storage_query *q, rm_resume_sink sink,
                         void *sink_data)
{
    if (!sink)
        return rm__error_misuse("sink is NULL");
    if (q && (q->search_count > 0 || q->ordering))
        return list_built(self, false, user_id, q, row_resume, &sink, sink_data);
    LEASE(self, false);
    STMT(ST_RESUME_LIST);
    b_int(st, 1, user_id, &brc);
    b_query(st, q, &brc);
    BOUND();
    rc = each_row(c, st, row_resume, &sink, sink_data, false);
out:
    RELEASE();
    return rc;
}

static int m_resume_update(void *self, const rm_resume_record *r)
{
    if (!r)
        return rm__error_misuse("resume record is NULL");
    LEASE(self, true);
    STMT(ST_RESUME_UPDATE);
    b_int(st, 1, r->id, &brc);
    b_int(st, 2, r->user_id, &brc);
    b_text(st, 3, r->title, &brc);
    b_text(st, 4, r->content, &brc);
    b_time(st, 5, r->updated_at, &brc);
    BOUND();
    if ((rc = step_done(c, st)) == RM_OK && sqlite3_changes(c->db) == 0)
        rc = not_found();
out:
    RELEASE();
    return rc;
}

static int m_resume_delete(void *self, int64_t user_id, int64_t id)
{
    LEASE(self, true);
    if ((rc = tx_begin(c)) != RM_OK)
        goto out;
    STMT(ST_RESUME_DELETE);
    b_int(st, 1, id, &brc);
    b_int(st, 2, user_id, &brc);
    BOUND();
    if ((rc = step_done(c, st)) != RM_OK)
        goto out;
    if (sqlite3_changes(c->db) == 0) {
        rc = not_found();
        goto out;
    }
    STMT(ST_RESUME_UNLINK);
    b_int(st, 1, id, &brc);
    BOUND();
    rc = step_done(c, st);
out:
    if (!sqlite3_get_autocommit(c->db))
        rc = tx_end(c, rc);
    RELEASE();
    return rc;
}

/* ---- job applications ---- */

static int application_write(void *self, const rm_application_record *a, int64_t want, int64_t *id_out)
{
    int64_t id = 0;
    LEASE(self, true);
    STMT(ST_APP_INSERT);
    b_text(st, 1, a->job_title, &brc);
    b_text(st, 2, a->company_name, &brc);
    b_text(st, 3, a->original_job_description, &brc);
    b_text(st, 4, a->date_applied, &brc);
    b_text(st, 5, a->status, &brc);
    b_text(st, 6, a->notes, &brc);
    b_bool(st, 7, a->is_deleted, &brc);
    b_bool(st, 8, a->is_example, &brc);
    b_time(st, 9, a->created_at, &brc);
    b_time(st, 10, a->updated_at, &brc);
    b_ref(st, 11, a->resume_used, &brc);
    b_int(st, 12, a->user_id, &brc);
    b_ref(st, 13, want, &brc);
    BOUND();
    if ((rc = step_done(c, st)) == RM_OK)
        id = sqlite3_last_insert_rowid(c->db);
out:
    RELEASE();
    if (rc == RM_OK && id_out)
        *id_out = id;
    return rc;
}

static int m_application_insert(void *self, const rm_application_record *a, int64_t *id_out)
{
    if (!a)
        return rm__error_misuse("application record is NULL");
    return application_write(self, a, 0, id_out);
}

static int m_application_get(void *self, int64_t user_id, int64_t id, rm_application_sink sink, void *sink_data)
{
    if (!sink)
        return rm__error_misuse("sink is NULL");
    LEASE(self, false);
    if (user_id != 0) {
        STMT(ST_APP_GET_USER);
        b_int(st, 2, user_id, &brc);
    } else {
        STMT(ST_APP_GET_EXAMPLE);
    }
    b_int(st, 1, id, &brc);
    BOUND();
    rc = each_row(c, st, row_application, &sink, sink_data, true);
out:
    RELEASE();
    return rc;
}

static int m_application_list(void *self, int64_t user_id, const rm_storage_query *q, rm_application_sink sink,
                              void *sink_data)
{
    if (!sink)
        return rm__error_misuse("sink is NULL");
    if (q && (q->search_count > 0 || q->ordering))
        return list_built(self, true, user_id, q, row_application, &sink, sink_data);
    LEASE(self, false);
    STMT(user_id != 0 ? ST_APP_LIST_USER : ST_APP_LIST_EXAMPLE);
    b_int(st, 1, user_id, &brc);
    b_query(st, q, &brc);
    b_text(st, 7, q ? q->status : NULL, &brc);
    BOUND();
    rc = each_row(c, st, row_application, &sink, sink_data, false);
out:
    RELEASE();
    return rc;
}

static int m_application_update(void *self, const rm_application_record *a)
{
    if (!a)
        return rm__error_misuse("application record is NULL");
    LEASE(self, true);
    STMT(ST_APP_UPDATE);
    b_int(st, 1, a->id, &brc);
    b_int(st, 2, a->user_id, &brc);
    b_text(st, 3, a->job_title, &brc);
    b_text(st, 4, a->company_name, &brc);
    b_text(st, 5, a->original_job_description, &brc);
    b_text(st, 6, a->date_applied, &brc);
    b_text(st, 7, a->status, &brc);
    b_text(st, 8, a->notes, &brc);
    b_bool(st, 9, a->is_example, &brc);
    b_ref(st, 10, a->resume_used, &brc);
    b_time(st, 11, a->updated_at, &brc);
    BOUND();
    if ((rc = step_done(c, st)) == RM_OK && sqlite3_changes(c->db) == 0)
        rc = not_found();
out:
    RELEASE();
    return rc;
}

static int m_application_delete(void *self, int64_t user_id, int64_t id, int64_t now)
{
    LEASE(self, true);
    STMT(ST_APP_DELETE);
    b_int(st, 1, id, &brc);
    b_int(st, 2, user_id, &brc);
    b_time(st, 3, now, &brc);
    BOUND();
    if ((rc = step_done(c, st)) == RM_OK && sqlite3_changes(c->db) == 0)
        rc = not_found();
out:
    RELEASE();
    return rc;
}

/* ---- AI models ---- */

/* Inside a write transaction: RM_ECONFLICT if another model (not `id`) has this name in any case. */
static int ai_name_free(conn *c, const char *display_name, int64_t id)
{
    int rc, brc = SQLITE_OK;
    sqlite3_stmt *st = stmt(c, ST_AI_NAME_TAKEN, &rc);
    if (!st)
        return rc;
    b_text(st, 1, display_name, &brc);
    b_int(st, 2, id, &brc);
    if (brc != SQLITE_OK)
        return bind_failed(c, st, brc);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        rc = rm_storage_set_error(RM_ECONFLICT, "sqlite: an AI model with this display name already exists");
    else if (r != SQLITE_DONE)
        rc = sql_error(c->db, r);
    stmt_done(st);
    return rc;
}

static void b_ai_model(sqlite3_stmt *st, int first, const rm_ai_model_record *m, int *brc)
{
    b_text(st, first + 0, m->display_name, brc);
    b_text(st, first + 1, m->model_name, brc);
    b_text(st, first + 2, m->api_provider, brc);
    b_text(st, first + 3, m->api_key_name, brc);
    b_bool(st, first + 4, m->is_active, brc);
    b_bool(st, first + 5, m->login_required, brc);
    b_int(st, first + 6, m->daily_limit, brc);
    b_text(st, first + 7, m->response_time_info, brc);
    b_text(st, first + 8, m->description, brc);
}

static int ai_model_write(void *self, const rm_ai_model_record *m, int64_t want, int64_t *id_out)
{
    int64_t id = 0;
    LEASE(self, true);
    if ((rc = tx_begin(c)) != RM_OK || (rc = ai_name_free(c, m->display_name, 0)) != RM_OK)
        goto out;
    STMT(ST_AI_INSERT);
    b_ai_model(st, 1, m, &brc);
    b_time(st, 10, m->created_at, &brc);
    b_time(st, 11, m->updated_at, &brc);
    b_ref(st, 12, want, &brc);
    BOUND();
    if ((rc = step_done(c, st)) != RM_OK)
        goto out;
    id = sqlite3_last_insert_rowid(c->db);
    if (m->base_url) {
        STMT(ST_AI_EXT_UPSERT);
        b_int(st, 1, id, &brc);
        b_text(st, 2, m->base_url, &brc);
        BOUND();
        rc = step_done(c, st);
    }
out:
    if (!sqlite3_get_autocommit(c->db))
        rc = tx_end(c, rc);
    RELEASE();
    if (rc == RM_OK && id_out)
        *id_out = id;
    return rc;
}

static int m_ai_model_insert(void *self, const rm_ai_model_record *m, int64_t *id_out)
{
    if (!m || !m->display_name)
        return rm__error_misuse("AI model record or its display name is NULL");
    return ai_model_write(self, m, 0, id_out);
}

static int m_ai_model_get(void *self, int64_t id, const char *display_name, rm_ai_model_sink sink, void *sink_data)
{
    if (!sink || (id == 0 && !display_name))
        return rm__error_misuse("ai_model_get needs a sink and an id or a display name");
    LEASE(self, false);
    if (id != 0) {
        STMT(ST_AI_GET_ID);
        b_int(st, 1, id, &brc);
    } else {
        STMT(ST_AI_GET_NAME);
        b_text(st, 1, display_name, &brc);
    }
    BOUND();
    rc = each_row(c, st, row_ai_model, &sink, sink_data, true);
out:
    RELEASE();
    return rc;
}

static int m_ai_model_list(void *self, int active_only, rm_ai_model_sink sink, void *sink_data)
{
    if (!sink)
        return rm__error_misuse("sink is NULL");
    LEASE(self, false);
    STMT(ST_AI_LIST);
    b_bool(st, 1, active_only, &brc);
    BOUND();
    rc = each_row(c, st, row_ai_model, &sink, sink_data, false);
out:
    RELEASE();
    return rc;
}

static int m_ai_model_update(void *self, const rm_ai_model_record *m)
{
    if (!m || !m->display_name)
        return rm__error_misuse("AI model record or its display name is NULL");
    LEASE(self, true);
    if ((rc = tx_begin(c)) != RM_OK || (rc = ai_name_free(c, m->display_name, m->id)) != RM_OK)
        goto out;
    STMT(ST_AI_UPDATE);
    b_int(st, 1, m->id, &brc);
    b_ai_model(st, 2, m, &brc);
    b_time(st, 11, m->updated_at, &brc);
    BOUND();
    if ((rc = step_done(c, st)) != RM_OK)
        goto out;
    if (sqlite3_changes(c->db) == 0) {
        rc = not_found();
        goto out;
    }
    STMT(ST_AI_EXT_UPSERT);
    b_int(st, 1, m->id, &brc);
    b_text(st, 2, m->base_url, &brc);
    BOUND();
    rc = step_done(c, st);
out:
    if (!sqlite3_get_autocommit(c->db))
        rc = tx_end(c, rc);
    RELEASE();
    return rc;
}

/* ---- token denylist ---- */

static int m_token_deny(void *self, const char *jti, int64_t user_id, int64_t expires_at)
{
    if (!jti)
        return rm__error_misuse("jti is NULL");
    LEASE(self, true);
    STMT(ST_TOKEN_DENY);
    b_text(st, 1, jti, &brc);
    b_int(st, 2, user_id, &brc);
    b_time(st, 3, expires_at, &brc);
    BOUND();
    rc = step_done(c, st);
out:
    RELEASE();
    return rc;
}

static int m_token_is_denied(void *self, const char *jti, int *denied)
{
    if (!jti || !denied)
        return rm__error_misuse("jti and denied are required");
    LEASE(self, false);
    STMT(ST_TOKEN_IS_DENIED);
    b_text(st, 1, jti, &brc);
    BOUND();
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW || r == SQLITE_DONE)
        *denied = r == SQLITE_ROW;
    else
        rc = sql_error(c->db, r);
    stmt_done(st);
out:
    RELEASE();
    return rc;
}

static int m_token_prune(void *self, int64_t now, int64_t *removed)
{
    int64_t n = 0;
    LEASE(self, true);
    STMT(ST_TOKEN_PRUNE);
    b_time(st, 1, now, &brc);
    BOUND();
    if ((rc = step_done(c, st)) == RM_OK)
        n = sqlite3_changes64(c->db);
out:
    RELEASE();
    if (rc == RM_OK && removed)
        *removed = n;
    return rc;
}

/* ---- daily usage ---- */

/* Read one integer column of a single-row statement into *out (0 when there is no row). */
static int one_int(conn *c, sqlite3_stmt *st, int64_t *out, bool *found)
{
    int r = sqlite3_step(st), rc = RM_OK;
    *out = 0;
    *found = r == SQLITE_ROW;
    if (r == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else if (r != SQLITE_DONE)
        rc = sql_error(c->db, r);
    stmt_done(st);
    return rc;
}

static int usage_read(conn *c, int64_t user_id, int64_t model_id, const char *day, int64_t *count)
{
    int rc, brc = SQLITE_OK;
    bool found;
    sqlite3_stmt *st = stmt(c, ST_USAGE_GET, &rc);
    if (!st)
        return rc;
    b_int(st, 1, user_id, &brc);
    b_int(st, 2, model_id, &brc);
    b_text(st, 3, day, &brc);
    if (brc != SQLITE_OK)
        return bind_failed(c, st, brc);
    return one_int(c, st, count, &found);
}

static int m_usage_try_increment(void *self, int64_t user_id, int64_t model_id, const char *day, int32_t limit,
                                 int32_t *count_out)
{
    if (!day)
        return rm__error_misuse("day is NULL");
    int64_t count = 0;
    bool counted = false;
    LEASE(self, true);
    STMT(ST_USAGE_INCREMENT);
    b_int(st, 1, user_id, &brc);
    b_int(st, 2, model_id, &brc);
    b_text(st, 3, day, &brc);
    b_int(st, 4, limit, &brc);
    BOUND();
    if ((rc = one_int(c, st, &count, &counted)) != RM_OK)
        goto out;
    if (!counted) {
        /* The limit was reached. write_mu is still ours, so no writer of this process moved the count since. */
        if ((rc = usage_read(c, user_id, model_id, day, &count)) == RM_OK)
            rc = rm_storage_set_error(RM_ELIMIT, "daily limit reached");
    }
out:
    RELEASE();
    if ((rc == RM_OK || rc == RM_ELIMIT) && count_out)
        *count_out = (int32_t)count;
    return rc;
}

static int m_usage_release(void *self, int64_t user_id, int64_t model_id, const char *day)
{
    if (!day)
        return rm__error_misuse("day is NULL");
    LEASE(self, true);
    STMT(ST_USAGE_RELEASE);
    b_int(st, 1, user_id, &brc);
    b_int(st, 2, model_id, &brc);
    b_text(st, 3, day, &brc);
    BOUND();
    rc = step_done(c, st);
out:
    RELEASE();
    return rc;
}

static int m_usage_get(void *self, int64_t user_id, int64_t model_id, const char *day, int32_t *count_out)
{
    if (!day || !count_out)
        return rm__error_misuse("day and count_out are required");
    int64_t count = 0;
    LEASE(self, false);
    rc = usage_read(c, user_id, model_id, day, &count);
    RELEASE();
    if (rc == RM_OK)
        *count_out = (int32_t)count;
    return rc;
}

/* ---- idempotency keys ---- */

static int m_idempotency_put(void *self, const char *key, int64_t user_id, int64_t resume_id, int64_t created_at)
{
    if (!key)
        return rm__error_misuse("key is NULL");
    LEASE(self, true);
    STMT(ST_IDEM_PUT);
    b_int(st, 1, user_id, &brc);
    b_text(st, 2, key, &brc);
    b_int(st, 3, resume_id, &brc);
    b_time(st, 4, created_at, &brc);
    BOUND();
    rc = step_done(c, st);
out:
    RELEASE();
    return rc;
}

static int m_idempotency_prune(void *self, int64_t before, int64_t *removed)
{
    int64_t n = 0;
    LEASE(self, true);
    STMT(ST_IDEM_PRUNE);
    b_time(st, 1, before, &brc);
    BOUND();
    if ((rc = step_done(c, st)) == RM_OK)
        n = sqlite3_changes64(c->db);
out:
    RELEASE();
    if (rc == RM_OK && removed)
        *removed = n;
    return rc;
}

static int m_idempotency_get(void *self, const char *key, int64_t user_id, int64_t since, int64_t *resume_id_out)
{
    if (!key || !resume_id_out)
        return rm__error_misuse("key and resume_id_out are required");
    int64_t id = 0;
    bool found = false;
    LEASE(self, false);
    STMT(ST_IDEM_GET);
    b_int(st, 1, user_id, &brc);
    b_text(st, 2, key, &brc);
    b_time(st, 3, since, &brc);
    BOUND();
    if ((rc = one_int(c, st, &id, &found)) == RM_OK && !found)
        rc = not_found();
out:
    RELEASE();
    if (rc == RM_OK)
        *resume_id_out = id;
    return rc;
}

/* ---- export and import (vtable version 2) ---- */

/* Run a parameterless scan statement, feeding each row to fn. */
static int scan(void *self, int id, row_fn fn, const void *sink, void *sink_data)
{
    LEASE(self, false);
    STMT(id);
    BOUND();
    rc = each_row(c, st, fn, sink, sink_data, false);
out:
    RELEASE();
    return rc;
}

static int row_token(sqlite3_stmt *st, const void *sink, void *sink_data)
{
    rm_token_deny_record r = {.jti = col_str(st, 0), .user_id = sqlite3_column_int64(st, 1), .expires_at = col_time(st, 2)};
    return (*(const rm_token_deny_sink *)sink)(sink_data, &r);
}

static int row_usage(sqlite3_stmt *st, const void *sink, void *sink_data)
{
    rm_usage_record r = {.user_id = sqlite3_column_int64(st, 0),
                         .model_id = sqlite3_column_int64(st, 1),
                         .day = col_str(st, 2),
                         .count = (int32_t)sqlite3_column_int64(st, 3)};
    return (*(const rm_usage_sink *)sink)(sink_data, &r);
}

static int row_idempotency(sqlite3_stmt *st, const void *sink, void *sink_data)
{
    rm_idempotency_record r = {.key = col_str(st, 0),
                               .user_id = sqlite3_column_int64(st, 1),
                               .resume_id = sqlite3_column_int64(st, 2),
                               .created_at = col_time(st, 3)};
    return (*(const rm_idempotency_sink *)sink)(sink_data, &r);
}

static int m_user_scan(void *self, rm_user_sink sink, void *sink_data)
{
    if (!sink)
        return rm__error_misuse("sink is NULL");
    return scan(self, ST_USER_SCAN, row_user, &sink, sink_data);
}
static int m_resume_scan(void *self, rm_resume_sink sink, void *sink_data)
{
    if (!sink)
        return rm__error_misuse("sink is NULL");
    return scan(self, ST_RESUME_SCAN, row_resume, &sink, sink_data);
}
static int m_application_scan(void *self, rm_application_sink sink, void *sink_data)
{
    if (!sink)
        return rm__error_misuse("sink is NULL");
    return scan(self, ST_APP_SCAN, row_application, &sink, sink_data);
}
static int m_token_scan(void *self, rm_token_deny_sink sink, void *sink_data)
{
    if (!sink)
        return rm__error_misuse("sink is NULL");
    return scan(self, ST_TOKEN_SCAN, row_token, &sink, sink_data);
}
static int m_usage_scan(void *self, rm_usage_sink sink, void *sink_data)
{
    if (!sink)
        return rm__error_misuse("sink is NULL");
    return scan(self, ST_USAGE_SCAN, row_usage, &sink, sink_data);
}
static int m_idempotency_scan(void *self, rm_idempotency_sink sink, void *sink_data)
{
    if (!sink)
        return rm__error_misuse("sink is NULL");
    return scan(self, ST_IDEM_SCAN, row_idempotency, &sink, sink_data);
}

/* The explicit id is stored as is; AUTOINCREMENT (sqlite_sequence) then continues past it by itself. */
static int m_user_import(void *self, const rm_user_record *u)
{
    if (!u || u->id <= 0)
        return rm__error_misuse("user_import needs a record with a positive id");
    return user_write(self, u, u->id, NULL);
}
static int m_resume_import(void *self, const rm_resume_record *r)
{
    if (!r || r->id <= 0)
        return rm__error_misuse("resume_import needs a record with a positive id");
    return resume_write(self, r, r->id, NULL);
}
static int m_application_import(void *self, const rm_application_record *a)
{
    if (!a || a->id <= 0)
        return rm__error_misuse("application_import needs a record with a positive id");
    return application_write(self, a, a->id, NULL);
}
static int m_ai_model_import(void *self, const rm_ai_model_record *m)
{
    if (!m || !m->display_name || m->id <= 0)
        return rm__error_misuse("ai_model_import needs a record with a display name and a positive id");
    return ai_model_write(self, m, m->id, NULL);
}

static int m_usage_import(void *self, const rm_usage_record *u)
{
    if (!u || !u->day || u->count < 0)
        return rm__error_misuse("usage_import needs a record with a day and a count >= 0");
    LEASE(self, true);
    STMT(ST_USAGE_SET);
    b_int(st, 1, u->user_id, &brc);
    b_int(st, 2, u->model_id, &brc);
    b_text(st, 3, u->day, &brc);
    b_int(st, 4, u->count, &brc);
    BOUND();
    rc = step_done(c, st);
out:
    RELEASE();
    return rc;
}

/* ---------------------------------------------------------------------------------------------- */
/* Opening and closing                                                                              */
/* ---------------------------------------------------------------------------------------------- */

static const rm_storage_vtable sqlite_vtable = {
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

/* Read the schema version (0 for a database we never touched). */
static int schema_version(conn *c, int64_t *version)
{
    static const char *const q_has =
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'rm_schema_version'";
    static const char *const q_max = "SELECT coalesce(max(\"version\"), 0) FROM \"rm_schema_version\"";
    sqlite3_stmt *st = NULL;
    bool found;
    int r = sqlite3_prepare_v2(c->db, q_has, -1, &st, NULL);
    if (r != SQLITE_OK)
        return sql_error(c->db, r);
    int64_t has = 0;
    int rc = one_int(c, st, &has, &found);
    sqlite3_finalize(st);
    *version = 0;
    if (rc != RM_OK || !has)
        return rc;
    if ((r = sqlite3_prepare_v2(c->db, q_max, -1, &st, NULL)) != SQLITE_OK)
        return sql_error(c->db, r);
    rc = one_int(c, st, version, &found);
    sqlite3_finalize(st);
    return rc;
}

static int schema_record(conn *c, int64_t version)
{
    sqlite3_stmt *st = NULL;
    int r = sqlite3_prepare_v2(c->db, "INSERT INTO \"rm_schema_version\" (\"version\", \"applied_at\") VALUES (?1, ?2)",
                               -1, &st, NULL);
    if (r != SQLITE_OK)
        return sql_error(c->db, r);
    int brc = SQLITE_OK;
    b_int(st, 1, version, &brc);
    b_time(st, 2, rm__realtime_us(), &brc);
    int rc = brc != SQLITE_OK ? bind_failed(c, st, brc) : step_done(c, st);
    sqlite3_finalize(st);
    return rc;
}

/* Create or upgrade the schema, in one write transaction so concurrent openers agree. */
static int schema_ensure(conn *c)
{
    int64_t version = 0;
    int rc = tx_begin(c);
    if (rc != RM_OK)
        return rc;
    if ((rc = schema_version(c, &version)) != RM_OK)
        goto out;
    if (version > SCHEMA_VERSION) {
        char msg[160];
        snprintf(msg, sizeof(msg), "sqlite: database schema version %lld is newer than this library's (%d)",
                 (long long)version, SCHEMA_VERSION);
        rc = rm_storage_set_error(RM_ESTORAGE, msg);
        goto out;
    }
    for (int64_t v = version + 1; v <= SCHEMA_VERSION && rc == RM_OK; v++) {
        if ((rc = conn_exec(c, migrations[v - 1])) == RM_OK)
            rc = schema_record(c, v);
    }
out:
    return tx_end(c, rc);
}

static void pool_free(rm_sqlite *p)
{
    if (!p)
        return;
    ck_stop(p);
    conn_close(p->writer);
    for (size_t i = 0; i < p->n_all; i++)
        conn_close(p->all[i]);
    free(p->all);
    free(p->idle);
    free(p->path);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->write_mu);
    free(p);
}

static void m_close(void *self) { pool_free(self); }

int rm_storage_open_sqlite(rm_storage **out, const char *path)
{
    if (!out || !path || !*path)
        return rm__error_misuse("out and a non-empty path are required");
    *out = NULL;
    if (!sqlite3_threadsafe())
        return rm_storage_set_error(RM_ESTORAGE, "sqlite: the SQLite library was built without thread support");
    rm_sqlite *p = calloc(1, sizeof(*p));
    if (!p)
        return rm__error_nomem();
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        return rm__error_nomem();
    }
    if (pthread_cond_init(&p->cv, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        free(p);
        return rm__error_nomem();
    }
    if (pthread_mutex_init(&p->write_mu, NULL) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return rm__error_nomem();
    }
    p->memory = strcmp(path, ":memory:") == 0;
    p->max = p->memory ? 1 : POOL_FILE;
    p->path = rm__strdup(path);
    p->all = calloc(p->max, sizeof(*p->all));
    p->idle = calloc(p->max, sizeof(*p->idle));
    int rc = RM_OK;
    conn *c = NULL;
    if (!p->path || !p->all || !p->idle) {
        rc = rm__error_nomem();
        goto fail;
    }
    if ((rc = conn_open(p, &c)) != RM_OK)
        goto fail;
    p->all[p->n_all++] = c;
    if ((rc = schema_ensure(c)) != RM_OK)
        goto fail;
    ck_start(p);
    conn_hook(p, c);
    p->idle[p->n_idle++] = c;
    if ((rc = rm_storage_new(out, &sqlite_vtable, p)) != RM_OK)
        goto fail;
    return RM_OK;
fail:
    pool_free(p);
    return rc;
}
