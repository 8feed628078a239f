/*
 * Read replicas of the PostgreSQL backend (`?replica=<percent-encoded URL>&replica_lag=S`). The
 * "replica" is a second database on the test server that the test keeps in sync itself (with
 * rm_storage_copy) and then changes behind the backend's back, so every read shows where it was served:
 * the replica's copy says "replica", the primary's does not. Checked: reads go to the replica outside
 * the read-your-writes window; right after a write (any thread of the handle) they go to the primary;
 * users, the denylist and idempotency keys always come from the primary; a replica that goes away or
 * never answers is skipped; bad replica parameters are refused without echoing the URL.
 */
#include "test_pg_util.h"

#include <resumate/copy.h>

#define OK(expr)                                                                                              \
    do {                                                                                                      \
        int rc_ = (expr);                                                                                     \
        cr_assert_eq(rc_, RM_OK, "%s -> %d (%s)", #expr, rc_, rm_error_message(rm_error_last()));              \
    } while (0)

#define T0 INT64_C(1700000000123456)

static void fini(void) { pgt_drop_all(); }
TestSuite(pg_replica, .fini = fini, .timeout = 120);

static void pct(char *out, size_t n, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t j = 0;
    for (; *s && j + 4 < n; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
            ch == '_')
            out[j++] = (char)ch;
        else
            out[j++] = '%', out[j++] = hex[ch >> 4], out[j++] = hex[ch & 15];
    }
    out[j] = '\0';
}

static int title_sink(void *d, const rm_resume_record *r)
{
    snprintf(d, 64, "%s", r->title);
    return 0;
}

static void title_of(rm_storage *s, int64_t uid, int64_t id, char *out)
{
    out[0] = '\0';
    OK(rm_storage_vtable_of(s)->resume_get(rm_storage_self(s), uid, id, title_sink, out));
}

static int count_sink(void *d, const rm_resume_record *r)
{
    (void)r;
    ++*(int *)d;
    return 0;
}

static int user_name_sink(void *d, const rm_user_record *r)
{
    snprintf(d, 64, "%s", r->username);
    return 0;
}

static void wait_past_window(void)
{
    /* replica_lag=0.3 below: sleep past it (no timing is asserted). */
    struct timespec ts = {0, 400 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

Test(pg_replica, reads_go_to_the_replica_except_after_writes_and_for_auth)
{
    char primary[1024], replica[1024], enc[2048], url[4096];
    pgt_fresh_db(primary, sizeof(primary));
    pgt_fresh_db(replica, sizeof(replica));

    /* Seed the primary, then make the replica an exact copy of it. */
    rm_storage *plain = pgt_open(primary);
    const rm_storage_vtable *v = rm_storage_vtable_of(plain);
    rm_user_record u = {.username = "ann", .email = "", .password = "!x", .first_name = "", .last_name = "",
                        .is_active = 1, .date_joined = T0, .last_login = RM_NO_TIME, .tokens_valid_after = RM_NO_TIME};
    int64_t uid = 0, rid = 0;
    OK(v->user_insert(rm_storage_self(plain), &u, &uid));
    rm_resume_record r = {.user_id = uid, .title = "original", .content = "c", .created_at = T0, .updated_at = T0};
    OK(v->resume_insert(rm_storage_self(plain), &r, &rid));
    rm_storage *rep = pgt_open(replica);
    OK(rm_storage_copy(rep, plain, NULL));
    rm_storage_free(rep);
    rm_storage_free(plain);
    /* Now change the replica behind the backend's back, so a read shows where it was served. */
    PGconn *rc = pgt_connect(replica);
    pgt_exec(rc, "UPDATE resume_resume SET title = 'replica'");
    pgt_exec(rc, "UPDATE auth_user SET username = 'ann-on-replica'");

    pct(enc, sizeof(enc), replica);
    pgt_url_add(url, sizeof(url), primary, "replica_lag=0.3");
    size_t len = strlen(url);
    snprintf(url + len, sizeof(url) - len, "&replica=%s", enc);
    rm_storage *s = pgt_open(url);
    v = rm_storage_vtable_of(s);
    void *self = rm_storage_self(s);
    char t[64];

    /* Opening (schema check) starts the read-your-writes window; once it is over, with no write
     * through this handle, resume reads come from the replica. Inside it they do not. */
    title_of(s, uid, rid, t);
    cr_assert_str_eq(t, "original", "right after opening, reads use the primary");
    wait_past_window();
    title_of(s, uid, rid, t);
    cr_assert_str_eq(t, "replica");
    /* Users always come from the primary. */
    OK(v->user_get(self, uid, NULL, user_name_sink, t));
    cr_assert_str_eq(t, "ann");

    /* Right after a write, reads see it: they go to the primary. */
    r.id = rid;
    r.title = "written";
    r.updated_at = T0 + 1;
    OK(v->resume_update(self, &r));
    title_of(s, uid, rid, t);
    cr_assert_str_eq(t, "written");
    int64_t rid2 = 0;
    r.title = "second";
    OK(v->resume_insert(self, &r, &rid2));
    int n = 0;
    OK(v->resume_list(self, uid, NULL, count_sink, &n));
    cr_assert_eq(n, 2, "the list right after an insert shows it");

    /* After the window, back to the replica (which never got those writes). */
    wait_past_window();
    title_of(s, uid, rid, t);
    cr_assert_str_eq(t, "replica");
    n = 0;
    OK(v->resume_list(self, uid, NULL, count_sink, &n));
    cr_assert_eq(n, 1);

    /* The denylist is read on the primary even outside the window. */
    OK(v->token_deny(self, "jti-1", uid, T0 + 1000000000));
    wait_past_window();
    int denied = 0;
    OK(v->token_is_denied(self, "jti-1", &denied));
    cr_assert_eq(denied, 1);

    /* The replica goes away: its connections are cut and new ones refused; reads fall back. */
    const char *rname = strrchr(replica, '/') + 1;
    char sql[512];
    snprintf(sql, sizeof(sql), "ALTER DATABASE \"%.*s\" ALLOW_CONNECTIONS false", (int)strcspn(rname, "?"), rname);
    PGconn *admin = pgt_connect(pgt_base_url());
    pgt_exec(admin, sql);
    snprintf(sql, sizeof(sql),
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%.*s' AND pid <> pg_backend_pid()",
             (int)strcspn(rname, "?"), rname);
    pgt_exec(admin, sql);
    PQfinish(rc);
    title_of(s, uid, rid, t);
    cr_assert_str_eq(t, "written", "with the replica down the primary answers");
    title_of(s, uid, rid, t);
    cr_assert_str_eq(t, "written");
    snprintf(sql, sizeof(sql), "ALTER DATABASE \"%.*s\" ALLOW_CONNECTIONS true", (int)strcspn(rname, "?"), rname);
    pgt_exec(admin, sql);
    PQfinish(admin);
    rm_storage_free(s);
}

Test(pg_replica, an_unreachable_replica_never_blocks_reads_or_opening)
{
    char primary[1024], url[2048];
    pgt_fresh_db(primary, sizeof(primary));
    /* Port 1 on 127.0.0.1: refused at once. */
    pgt_url_add(url, sizeof(url), primary, "replica=postgres%3A%2F%2Fpostgres%40127.0.0.1%3A1%2Fnone&replica_lag=0");
    rm_storage *s = pgt_open(url);
    const rm_storage_vtable *v = rm_storage_vtable_of(s);
    rm_user_record u = {.username = "bo", .email = "", .password = "!x", .first_name = "", .last_name = "",
                        .is_active = 1, .date_joined = T0, .last_login = RM_NO_TIME, .tokens_valid_after = RM_NO_TIME};
    int64_t uid = 0, rid = 0;
    OK(v->user_insert(rm_storage_self(s), &u, &uid));
    rm_resume_record r = {.user_id = uid, .title = "t", .content = "c", .created_at = T0, .updated_at = T0};
    OK(v->resume_insert(rm_storage_self(s), &r, &rid));
    wait_past_window();
    char t[64];
    for (int i = 0; i < 3; i++) {
        title_of(s, uid, rid, t);
        cr_assert_str_eq(t, "t");
    }
    rm_storage_free(s);
}

Test(pg_replica, bad_replica_parameters_are_refused_without_echoing_the_url)
{
    char url[2048];
    rm_storage *s = NULL;
    pgt_url_add(url, sizeof(url), pgt_base_url(), "replica=sqlite%3A%2F%2F%2Fsecretpw.db");
    cr_assert_eq(rm_storage_open(&s, url), RM_EINVALID);
    cr_assert_null(strstr(rm_error_message(rm_error_last()), "secretpw"));
    pgt_url_add(url, sizeof(url), pgt_base_url(), "replica=postgres%3A%2F%2Fu%3Asecretpw%40h%ZZ");
    cr_assert_eq(rm_storage_open(&s, url), RM_EINVALID);
    pgt_url_add(url, sizeof(url), pgt_base_url(), "replica_lag=-1");
    cr_assert_eq(rm_storage_open(&s, url), RM_EINVALID);
    pgt_url_add(url, sizeof(url), pgt_base_url(), "replica_lag=abc");
    cr_assert_eq(rm_storage_open(&s, url), RM_EINVALID);
    cr_assert_null(s);
}
