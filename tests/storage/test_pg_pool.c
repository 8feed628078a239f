/*
 * PostgreSQL connections: recovery after the server drops them, a request in flight at that moment,
 * the bounded shared pool, URL parameters, secrets in messages, and exact times.
 * Needs RM_TEST_PG_URL (scripts/pg.sh); each test works in a scratch database it drops afterwards.
 */
#include "test_pg_util.h"

#include <pthread.h>
#include <time.h>

static void fini(void) { pgt_drop_all(); }

TestSuite(pg_pool, .fini = fini, .timeout = 120);

#define OK(expr)                                                                                      \
    do {                                                                                              \
        int rc_ = (expr);                                                                             \
        cr_assert_eq(rc_, RM_OK, "%s -> %d (%s)", #expr, rc_, rm_error_message(rm_error_last()));      \
    } while (0)

static const rm_storage_vtable *V;
static void *S;

static rm_storage *open_vt(const char *url)
{
    rm_storage *s = pgt_open(url);
    V = rm_storage_vtable_of(s);
    S = rm_storage_self(s);
    return s;
}

static int64_t mk_user(const char *name)
{
    rm_user_record u = {.username = name, .email = "", .password = "!", .first_name = "", .last_name = "",
                        .is_active = 1, .date_joined = 0, .last_login = RM_NO_TIME, .tokens_valid_after = RM_NO_TIME};
    int64_t id = 0;
    OK(V->user_insert(S, &u, &id));
    return id;
}

static int64_t mk_resume(int64_t user, int64_t t)
{
    rm_resume_record r = {.user_id = user, .title = "t", .content = "c", .created_at = t, .updated_at = t};
    int64_t id = 0;
    OK(V->resume_insert(S, &r, &id));
    return id;
}

static int count_sink(void *d, const rm_resume_record *r)
{
    (void)r;
    (*(int *)d)++;
    return 0;
}

static int64_t used_of(int64_t user, int64_t app);

/* Sleep a little (polling loops only; nothing asserts on durations). */
static void nap_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Terminate every session of our backend on database db and wait (bounded) until those sessions are
 * gone. Only the terminated ones: under load the pool opens new sessions at once, as it should. */
static int terminate_sessions(const char *db)
{
    PGconn *admin = pgt_connect(pgt_base_url());
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(array_agg(pid)::text, '{}') FROM pg_stat_activity WHERE datname = '%s' "
             "AND application_name = 'libresumate'", db);
    PGresult *res = PQexec(admin, sql);
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(admin));
    char pids[256];
    snprintf(pids, sizeof(pids), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    snprintf(sql, sizeof(sql), "SELECT count(pg_terminate_backend(pid)) FROM unnest('%s'::int[]) AS pid", pids);
    int n = (int)pgt_int(admin, sql);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY('%s'::int[])", pids);
    for (int i = 0; i < 200 && pgt_int(admin, sql) > 0; i++)
        nap_ms(25);
    cr_assert_eq(pgt_int(admin, sql), 0, "sessions survived pg_terminate_backend");
    PQfinish(admin);
    return n;
}

Test(pg_pool, recovers_after_the_server_drops_every_connection)
{
    char url[1024], purl[1100];
    const char *db = pgt_fresh_db(url, sizeof(url));
    pgt_url_add(purl, sizeof(purl), url, "pool=3");
    rm_storage *s = open_vt(purl);
    int64_t u = mk_user("before");
    mk_resume(u, 1);

    for (int round = 0; round < 3; round++) {
        cr_assert_geq(terminate_sessions(db), 1);
        /* The next call may fail, but only cleanly; the one after must work. Writes first, then reads. */
        int64_t id = 0;
        rm_resume_record r = {.user_id = u, .title = "after", .content = "c", .created_at = 2, .updated_at = 2};
        int rc = V->resume_insert(S, &r, &id);
        cr_assert(rc == RM_OK || rc == RM_ESTORAGE, "round %d: %d (%s)", round, rc, rm_error_message(rm_error_last()));
        if (rc == RM_ESTORAGE)
            cr_assert(strstr(rm_error_message(rm_error_last()), "connection"), "%s", rm_error_message(rm_error_last()));
        OK(V->resume_insert(S, &r, &id));
        int n = 0;
        OK(V->resume_list(S, u, NULL, count_sink, &n));
        cr_assert_geq(n, 2 + round);
        OK(V->ping(S));
    }
    rm_storage_free(s);
}

/* Several threads keep working while the server drops their connections twice. */
#define CHURN_THREADS 4
#define CHURN_OPS 40
static int64_t churn_user;
static int churn_ok, churn_storage_errors, churn_other_errors;

static void *churn_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < CHURN_OPS; i++) {
        rm_resume_record r = {.user_id = churn_user, .title = "churn", .content = "c", .created_at = i, .updated_at = i};
        int64_t id = 0;
        int rc = V->resume_insert(S, &r, &id);
        int n = 0;
        if (rc == RM_OK)
            rc = V->resume_get(S, churn_user, id, count_sink, &n);
        if (rc == RM_OK && n == 1)
            __atomic_add_fetch(&churn_ok, 1, __ATOMIC_SEQ_CST);
        else if (rc == RM_ESTORAGE)
            __atomic_add_fetch(&churn_storage_errors, 1, __ATOMIC_SEQ_CST);
        else
            __atomic_add_fetch(&churn_other_errors, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

Test(pg_pool, threads_survive_connections_dropped_under_load)
{
    char url[1024], purl[1100];
    const char *db = pgt_fresh_db(url, sizeof(url));
    pgt_url_add(purl, sizeof(purl), url, "pool=3");
    rm_storage *s = open_vt(purl);
    churn_user = mk_user("churn");
    pthread_t t[CHURN_THREADS];
    for (int i = 0; i < CHURN_THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, churn_worker, NULL), 0);
    for (int k = 0; k < 2; k++) {
        nap_ms(30);
        terminate_sessions(db);
    }
    for (int i = 0; i < CHURN_THREADS; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(churn_other_errors, 0);
    cr_assert_eq(churn_ok + churn_storage_errors, CHURN_THREADS * CHURN_OPS);
    cr_assert_gt(churn_ok, 0);
    /* Every reported success is stored; a failed insert may or may not have committed, never twice. */
    int n = 0;
    OK(V->resume_list(S, churn_user, NULL, count_sink, &n));
    cr_assert_geq(n, churn_ok);
    cr_assert_leq(n, churn_ok + churn_storage_errors);
    OK(V->ping(S));
    rm_storage_free(s);
}

/*
 * A resume delete is in flight (its application row is locked by another session, so it waits after
 * deleting the resume) when the server terminates its connection: it must fail with RM_ESTORAGE and
 * leave both parts undone; retried later, it succeeds.
 */
static int64_t inflight_user, inflight_resume;
static int inflight_rc;
static char inflight_msg[512];

static void *inflight_delete(void *arg)
{
    (void)arg;
    inflight_rc = V->resume_delete(S, inflight_user, inflight_resume);
    snprintf(inflight_msg, sizeof(inflight_msg), "%s", rm_error_message(rm_error_last()));
    return NULL;
}

static int app_used_sink(void *d, const rm_application_record *r)
{
    *(int64_t *)d = r->resume_used;
    return 0;
}

static int64_t used_of(int64_t user, int64_t app)
{
    int64_t used = -1;
    OK(V->application_get(S, user, app, app_used_sink, &used));
    return used;
}

Test(pg_pool, a_request_in_flight_fails_cleanly_and_writes_nothing)
{
    char url[1024];
    const char *db = pgt_fresh_db(url, sizeof(url));
    rm_storage *s = open_vt(url);
    inflight_user = mk_user("inflight");
    inflight_resume = mk_resume(inflight_user, 5);
    rm_application_record a = {.user_id = inflight_user, .status = "Applied", .resume_used = inflight_resume,
                               .created_at = 5, .updated_at = 5};
    int64_t app = 0;
    OK(V->application_insert(S, &a, &app));

    PGconn *locker = pgt_connect(url);
    char sql[512];
    snprintf(sql, sizeof(sql), "BEGIN; SELECT 1 FROM job_tracker_jobapplication WHERE id = %lld FOR UPDATE",
             (long long)app);
    pgt_exec(locker, sql);

    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, inflight_delete, NULL), 0);
    PGconn *admin = pgt_connect(pgt_base_url());
    snprintf(sql, sizeof(sql), "SELECT pid FROM pg_stat_activity WHERE datname = '%s' AND "
                               "application_name = 'libresumate' AND wait_event_type = 'Lock'", db);
    char *pid = NULL;
    for (int i = 0; i < 400 && !(pid = pgt_value(admin, sql)); i++)
        nap_ms(25);
    cr_assert_not_null(pid, "the delete never waited on the lock");
    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%s)", pid);
    free(pgt_value(admin, sql));
    pthread_join(t, NULL);
    pgt_exec(locker, "ROLLBACK");

    cr_assert_eq(inflight_rc, RM_ESTORAGE, "rc %d (%s)", inflight_rc, inflight_msg);
    cr_assert(strstr(inflight_msg, "connection"), "message: %s", inflight_msg);
    /* Neither part happened. */
    int n = 0;
    OK(V->resume_get(S, inflight_user, inflight_resume, count_sink, &n));
    cr_assert_eq(n, 1);
    cr_assert_eq(used_of(inflight_user, app), inflight_resume);
    /* And the backend carries on. */
    OK(V->resume_delete(S, inflight_user, inflight_resume));
    cr_assert_eq(used_of(inflight_user, app), 0);
    free(pid);
    PQfinish(admin);
    PQfinish(locker);
    rm_storage_free(s);
}

/* ---- the pool's bound ---- */

#define BOUND_THREADS 8
static volatile int bound_stop;
static int bound_errors;
static int64_t bound_users[BOUND_THREADS];
static char bound_db[64];
static long long bound_max_seen;

static void *bound_worker(void *arg)
{
    int64_t user = bound_users[(intptr_t)arg];
    for (int i = 0; i < 30; i++) {
        rm_resume_record r = {.user_id = user, .title = "b", .content = "c", .created_at = i, .updated_at = i};
        int64_t id;
        int n = 0;
        if (V->resume_insert(S, &r, &id) != RM_OK || V->resume_list(S, user, NULL, count_sink, &n) != RM_OK ||
            n != i + 1)
            __atomic_add_fetch(&bound_errors, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static void *bound_monitor(void *arg)
{
    (void)arg;
    PGconn *admin = pgt_connect(pgt_base_url());
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' "
                               "AND application_name = 'libresumate'", bound_db);
    while (!__atomic_load_n(&bound_stop, __ATOMIC_SEQ_CST)) {
        long long n = pgt_int(admin, sql);
        if (n > bound_max_seen)
            bound_max_seen = n;
        nap_ms(2);
    }
    PQfinish(admin);
    return NULL;
}

Test(pg_pool, threads_share_a_bounded_pool)
{
    char url[1024], purl[1100];
    snprintf(bound_db, sizeof(bound_db), "%s", pgt_fresh_db(url, sizeof(url)));
    pgt_url_add(purl, sizeof(purl), url, "pool=2");
    rm_storage *s = open_vt(purl);
    for (int i = 0; i < BOUND_THREADS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "bound%d", i);
        bound_users[i] = mk_user(name);
    }
    pthread_t mon, t[BOUND_THREADS];
    cr_assert_eq(pthread_create(&mon, NULL, bound_monitor, NULL), 0);
    for (int i = 0; i < BOUND_THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, bound_worker, (void *)(intptr_t)i), 0);
    for (int i = 0; i < BOUND_THREADS; i++)
        pthread_join(t[i], NULL);
    __atomic_store_n(&bound_stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(mon, NULL);
    cr_assert_eq(bound_errors, 0);
    cr_assert_geq(bound_max_seen, 1);
    cr_assert_leq(bound_max_seen, 2, "%lld connections were open with pool=2", bound_max_seen);
    rm_storage_free(s);
}

/* With pool=1, a second caller waits for the only connection and gives up after pool_timeout. */
static int waiter_rc;

static void *hold_the_connection(void *arg)
{
    (void)arg;
    rm_ai_model_record m = {.display_name = "held", .model_name = "m", .api_provider = "google_gemini",
                            .api_key_name = "K", .response_time_info = "", .description = ""};
    int64_t id;
    waiter_rc = V->ai_model_insert(S, &m, &id); /* blocks on the advisory lock the test holds */
    return NULL;
}

Test(pg_pool, a_caller_waits_for_a_free_connection_then_gives_up)
{
    char url[1024], purl[1100];
    const char *db = pgt_fresh_db(url, sizeof(url));
    pgt_url_add(purl, sizeof(purl), url, "pool=1&pool_timeout=1");
    rm_storage *s = open_vt(purl);
    PGconn *locker = pgt_connect(url);
    pgt_exec(locker, "BEGIN; SELECT pg_advisory_xact_lock(8245353598236585317)"); /* the AI-name lock */
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, hold_the_connection, NULL), 0);
    PGconn *admin = pgt_connect(pgt_base_url());
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT 1 FROM pg_stat_activity WHERE datname = '%s' AND "
                               "application_name = 'libresumate' AND wait_event_type = 'Lock'", db);
    char *waiting = NULL;
    for (int i = 0; i < 400 && !(waiting = pgt_value(admin, sql)); i++)
        nap_ms(25);
    cr_assert_not_null(waiting);
    free(waiting);

    cr_assert_eq(V->ping(S), RM_ESTORAGE);
    cr_assert(strstr(rm_error_message(rm_error_last()), "no free connection"), "%s", rm_error_message(rm_error_last()));
    pgt_exec(locker, "COMMIT");
    pthread_join(t, NULL);
    cr_assert_eq(waiter_rc, RM_OK);
    OK(V->ping(S));
    PQfinish(admin);
    PQfinish(locker);
    rm_storage_free(s);
}

/* ---- URL parameters and secrets ---- */

Test(pg_pool, url_parameters_are_checked_and_passed_to_libpq)
{
    char url[1024], purl[1200];
    const char *db = pgt_fresh_db(url, sizeof(url));
    static const char *const bad[] = {"pool=0", "pool=1001", "pool=abc", "pool=", "pool_timeout=0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        pgt_url_add(purl, sizeof(purl), url, bad[i]);
        rm_storage *s = NULL;
        cr_assert_eq(rm_storage_open(&s, purl), RM_EINVALID, "%s", bad[i]);
        cr_assert_null(s);
    }
    /* libpq's own parameters go through untouched. */
    pgt_url_add(purl, sizeof(purl), url, "application_name=rm-param-test&pool=2&sslmode=disable");
    rm_storage *s = open_vt(purl);
    OK(V->ping(S));
    PGconn *admin = pgt_connect(pgt_base_url());
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' "
                               "AND application_name = 'rm-param-test'", db);
    cr_assert_geq(pgt_int(admin, sql), 1);
    PQfinish(admin);
    rm_storage_free(s);

    pgt_url_add(purl, sizeof(purl), url, "no_such_libpq_option=1");
    cr_assert_eq(rm_storage_open(&s, purl), RM_EINVALID);
}

Test(pg_pool, passwords_never_reach_error_messages)
{
    /* Port 1 on loopback refuses at once; the message names the host, never the password. */
    static const char *const urls[] = {
        "postgres://postgres:Sup3rSecretPw@127.0.0.1:1/db",
        "postgresql://postgres:S3cr%40t%2FPw99@127.0.0.1:1/db?pool=2",
        "postgres://postgres@127.0.0.1:1/db?password=Sup3rSecretPw",
        "postgres://postgres:Sup3rSecretPw@127.0.0.1:1/db?no_such_libpq_option=Sup3rSecretPw",
        "postgres://postgres:Sup3rSecretPw@127.0.0.1:notaport/db",
        "postgres://postgres:Sup3rSecretPw@127.0.0.1:1/db?pool=Sup3rSecretPw",
    };
    for (size_t i = 0; i < sizeof(urls) / sizeof(*urls); i++) {
        rm_storage *s = NULL;
        int rc = rm_storage_open(&s, urls[i]);
        cr_assert(rc == RM_ESTORAGE || rc == RM_EINVALID, "url %zu: %d", i, rc);
        const rm_error *e = rm_error_last();
        const char *msg = rm_error_message(e);
        cr_assert_gt(strlen(msg), 10, "url %zu: an empty message helps nobody", i);
        cr_assert_null(strstr(msg, "Sup3rSecretPw"), "url %zu leaked: %s", i, msg);
        cr_assert_null(strstr(msg, "S3cr"), "url %zu leaked: %s", i, msg);
        for (size_t f = 0; f < rm_error_field_count(e); f++)
            for (size_t j = 0; j < rm_error_field_message_count(e, f); j++) {
                const char *fm = rm_error_field_message(e, f, j);
                cr_assert_null(strstr(fm, "Sup3rSecretPw"), "url %zu leaked in a field: %s", i, fm);
                cr_assert_null(strstr(fm, "S3cr"), "url %zu leaked in a field: %s", i, fm);
            }
    }
}

/* ---- times ---- */

typedef struct {
    int64_t created, updated;
} times;

static int times_sink(void *d, const rm_resume_record *r)
{
    ((times *)d)->created = r->created_at;
    ((times *)d)->updated = r->updated_at;
    return 0;
}

Test(pg_pool, times_round_trip_to_the_microsecond_in_any_session_time_zone)
{
    static const struct {
        int64_t us;
        const char *utc; /* what PostgreSQL stores, in UTC */
    } cases[] = {
        {0, "1970-01-01 00:00:00.000000"},
        {1, "1970-01-01 00:00:00.000001"},
        {-1, "1969-12-31 23:59:59.999999"},
        {-1000001, "1969-12-31 23:59:58.999999"},
        {INT64_C(1700000000123456), "2023-11-14 22:13:20.123456"},
        {INT64_C(1700000000000000), "2023-11-14 22:13:20.000000"},
        {INT64_C(1710054000999999), "2024-03-10 07:00:00.999999"},   /* a US DST change */
        {INT64_C(-2208988800000001), "1899-12-31 23:59:59.999999"}, /* Amsterdam had +00:19:32 then */
        {INT64_C(253402300799999999), "9999-12-31 23:59:59.999999"},
        {INT64_C(-62135596800000000), "0001-01-01 00:00:00.000000"},
    };
    char url[1024], zurl[1200];
    pgt_fresh_db(url, sizeof(url));
    pgt_url_add(zurl, sizeof(zurl), url, "options=-c%20TimeZone%3DEurope%2FAmsterdam");
    rm_storage *s = open_vt(zurl);
    int64_t u = mk_user("clock");
    PGconn *c = pgt_connect(url);
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        rm_resume_record r = {.user_id = u, .title = "t", .content = "c", .created_at = cases[i].us,
                              .updated_at = cases[i].us + 1};
        int64_t id = 0;
        OK(V->resume_insert(S, &r, &id));
        times got = {0};
        OK(V->resume_get(S, u, id, times_sink, &got));
        cr_assert_eq(got.created, cases[i].us, "case %zu: %lld came back as %lld", i, (long long)cases[i].us,
                     (long long)got.created);
        cr_assert_eq(got.updated, cases[i].us + 1, "case %zu", i);
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') "
                                   "FROM resume_resume WHERE id = %lld", (long long)id);
        char *stored = pgt_value(c, sql);
        cr_assert_str_eq(stored, cases[i].utc, "case %zu", i);
        free(stored);
    }
    /* RM_NO_TIME is SQL NULL. */
    char *null_login = pgt_value(c, "SELECT (last_login IS NULL)::text FROM auth_user WHERE username = 'clock'");
    cr_assert_str_eq(null_login, "true");
    free(null_login);
    PQfinish(c);
    rm_storage_free(s);
}
