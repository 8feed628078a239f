/*
 * A real PostgreSQL restart under an open backend: while the server is down calls fail with
 * RM_ESTORAGE and a clear message; once it is back, calls succeed again without reopening, and the
 * data written before the restart is there. Uses its own throwaway cluster (scripts/pg.sh with a
 * private RM_PG_DIR and port), so other suites sharing RM_TEST_PG_URL are not disturbed.
 */
#include <criterion/criterion.h>
#include <resumate/resumate.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OK(expr)                                                                                      \
    do {                                                                                              \
        int rc_ = (expr);                                                                             \
        cr_assert_eq(rc_, RM_OK, "%s -> %d (%s)", #expr, rc_, rm_error_message(rm_error_last()));      \
    } while (0)

static char dir[256];
static char env[512];

/* Run scripts/pg.sh <cmd> for our private cluster; the last line of its output into url (if given). */
static int pg_sh(const char *cmd, char *url, size_t n)
{
    char line[1024];
    snprintf(line, sizeof(line), "%s %s/scripts/pg.sh %s 2>>%s/pg.sh.log", env, RM_SOURCE_DIR, cmd, dir);
    FILE *p = popen(line, "r");
    cr_assert_not_null(p);
    char buf[1024] = "";
    while (fgets(buf, sizeof(buf), p))
        if (url)
            snprintf(url, n, "%.*s", (int)strcspn(buf, "\n"), buf);
    return pclose(p);
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/rm-pg-restart-%d", (int)getpid());
    snprintf(env, sizeof(env), "RM_PG_DIR=%s RM_PG_PORT=%d RM_PG_DB=restart_test", dir, 56100 + (int)(getpid() % 800));
    cr_assert_eq(mkdir(dir, 0755), 0, "cannot create %s", dir);
}

static void teardown(void)
{
    pg_sh("stop", NULL, 0);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(pg_restart, .init = setup, .fini = teardown, .timeout = 180);

static int count_sink(void *d, const rm_user_record *r)
{
    (void)r;
    (*(int *)d)++;
    return 0;
}

Test(pg_restart, the_backend_survives_a_server_restart)
{
    char url[1024] = "";
    if (pg_sh("", url, sizeof(url)) != 0) {
        /* The directory goes with the teardown: show the script's last words here. */
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "tail -n 15 %s/pg.sh.log %s/postgres.log >&2", dir, dir);
        if (system(cmd) != 0)
            fprintf(stderr, "(no log in %s)\n", dir);
        cr_assert_fail("scripts/pg.sh failed (its log is above)");
    }
    cr_assert(strncmp(url, "postgres://", 11) == 0, "pg.sh printed %s", url);
    char purl[1100];
    snprintf(purl, sizeof(purl), "%s?pool=4", url);

    rm_storage *s = NULL;
    OK(rm_storage_open(&s, purl));
    const rm_storage_vtable *V = rm_storage_vtable_of(s);
    void *S = rm_storage_self(s);
    rm_user_record u = {.username = "before", .email = "", .password = "!", .first_name = "", .last_name = "",
                        .is_active = 1, .date_joined = 1, .last_login = RM_NO_TIME, .tokens_valid_after = RM_NO_TIME};
    int64_t id = 0;
    OK(V->user_insert(S, &u, &id));

    cr_assert_eq(pg_sh("stop", NULL, 0), 0);
    int n = 0;
    cr_assert_eq(V->user_get(S, id, NULL, count_sink, &n), RM_ESTORAGE);
    const char *msg = rm_error_message(rm_error_last());
    cr_assert(strstr(msg, "postgres:") && strstr(msg, "connect"), "message: %s", msg);
    cr_assert_eq(V->ping(S), RM_ESTORAGE);

    char again[1024] = "";
    cr_assert_eq(pg_sh("", again, sizeof(again)), 0);
    cr_assert_str_eq(again, url, "the cluster came back elsewhere");
    /* The first call after the restart may fail cleanly; the next must succeed. */
    int rc = V->ping(S);
    cr_assert(rc == RM_OK || rc == RM_ESTORAGE, "ping -> %d", rc);
    OK(V->ping(S));
    n = 0;
    OK(V->user_get(S, id, NULL, count_sink, &n));
    cr_assert_eq(n, 1, "the row written before the restart is gone");
    u.username = "after";
    OK(V->user_insert(S, &u, &id));
    rm_storage_free(s);
}
