/*
 * Helpers of the PostgreSQL-specific suites (test_pg_*.c): the server comes from RM_TEST_PG_URL
 * (scripts/pg.sh prints one); every test makes its own scratch databases there and drops them.
 * Without RM_TEST_PG_URL the tests fail: they must not pass where they did not run.
 */
#ifndef RM_TEST_PG_UTIL_H
#define RM_TEST_PG_UTIL_H

#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <resumate/resumate.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline const char *pgt_base_url(void)
{
    const char *u = getenv("RM_TEST_PG_URL");
    cr_assert(u && *u, "RM_TEST_PG_URL is not set: start a server with scripts/pg.sh and export the URL it prints");
    return u;
}

static inline void pgt_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static inline PGconn *pgt_connect(const char *url)
{
    PGconn *c = PQconnectdb(url);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "cannot connect to the test server: %s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, pgt_quiet, NULL);
    return c;
}

/* Run SQL (one or more statements); fail the test on error. */
static inline void pgt_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "SQL failed: %s\n%.300s", PQerrorMessage(c), sql);
    PQclear(r);
}

/* The first column of the first row (NULL for SQL NULL or no row); caller frees. */
static inline char *pgt_value(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "SQL failed: %s\n%.300s", PQerrorMessage(c), sql);
    char *v = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    return v;
}

static inline long long pgt_int(PGconn *c, const char *sql)
{
    char *v = pgt_value(c, sql);
    cr_assert_not_null(v, "no value from: %s", sql);
    long long n = atoll(v);
    free(v);
    return n;
}

/* base with its database replaced by db (the query string is kept), into out. */
static inline void pgt_url_with_db(char *out, size_t n, const char *base, const char *db)
{
    const char *auth = strstr(base, "://");
    cr_assert_not_null(auth);
    auth += 3;
    size_t alen = strcspn(auth, "/?");
    const char *rest = auth + alen;
    if (*rest == '/')
        rest += strcspn(rest, "?");
    snprintf(out, n, "%.*s/%s%s", (int)(auth + alen - base), base, db, rest);
}

/* base + "&k=v" or "?k=v". */
static inline void pgt_url_add(char *out, size_t n, const char *base, const char *param)
{
    snprintf(out, n, "%s%c%s", base, strchr(base, '?') ? '&' : '?', param);
}

/* Scratch databases made by this test process, dropped by pgt_drop_all(). */
static char pgt_dbs[8][64];
static int pgt_ndbs;

/* Create an empty database; its URL goes to url (size n), its name is returned. */
static inline const char *pgt_fresh_db(char *url, size_t n)
{
    static int seq;
    cr_assert_lt(pgt_ndbs, 8);
    char *name = pgt_dbs[pgt_ndbs++];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(name, 64, "rm_t_%d_%d_%ld", (int)getpid(), ++seq, (long)ts.tv_nsec);
    PGconn *admin = pgt_connect(pgt_base_url());
    char sql[160];
    snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\" TEMPLATE template0 ENCODING 'UTF8'", name);
    pgt_exec(admin, sql);
    PQfinish(admin);
    pgt_url_with_db(url, n, pgt_base_url(), name);
    return name;
}

static inline void pgt_drop_all(void)
{
    const char *base = getenv("RM_TEST_PG_URL");
    if (!base || !*base || pgt_ndbs == 0)
        return;
    PGconn *admin = PQconnectdb(base);
    if (PQstatus(admin) == CONNECTION_OK) {
        PQsetNoticeProcessor(admin, pgt_quiet, NULL);
        for (int i = 0; i < pgt_ndbs; i++) {
            char sql[160];
            snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", pgt_dbs[i]);
            PQclear(PQexec(admin, sql));
        }
    }
    PQfinish(admin);
    pgt_ndbs = 0;
}

/* The whole of a text file; caller frees. */
static inline char *pgt_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)len + 1);
    cr_assert_eq(fread(s, 1, (size_t)len, f), (size_t)len);
    s[len] = '\0';
    fclose(f);
    return s;
}

/* Open the backend or fail the test with the library's message. */
static inline rm_storage *pgt_open(const char *url)
{
    rm_storage *s = NULL;
    int rc = rm_storage_open(&s, url);
    cr_assert_eq(rc, RM_OK, "rm_storage_open -> %d (%s)", rc, rm_error_message(rm_error_last()));
    return s;
}

#endif
