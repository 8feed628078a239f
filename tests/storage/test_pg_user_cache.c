/*
 * PostgreSQL: the user cache of access-token checks (URL parameter user_cache_ttl). A password change,
 * deactivation or tokens_valid_after made in this process refuses old tokens at once, through any
 * handle; a change made elsewhere (here: plain SQL on another connection) within the TTL; 0 disables
 * the cache; only rm_token_authenticate uses it. The cache's clock is replaced by a hand-driven one, so
 * nothing depends on how fast the test runs. Needs RM_TEST_PG_URL (scripts/pg.sh).
 */
#include "rm_test.h"
#include "storage/pg_internal.h"
#include "test_pg_util.h"

#define KEY "test-secret-key-for-the-user-cache-0123456789"
#define T0 1700000000000000LL /* µs, a whole second */

static void fini(void) { pgt_drop_all(); }

TestSuite(pg_user_cache, .fini = fini, .timeout = 120);

#define OK(expr)                                                                                      \
    do {                                                                                              \
        int rc_ = (expr);                                                                             \
        cr_assert_eq(rc_, RM_OK, "%s -> %d (%s)", #expr, rc_, rm_error_message(rm_error_last()));      \
    } while (0)

static int64_t cache_ms; /* the cache's clock */
static int64_t cache_clock(void) { return cache_ms; }

static rm_test_clock_state clk; /* the ctx's clock (token times) */
static char url[1100];
static PGconn *sql; /* "another process": plain SQL on its own connection */

typedef struct handle {
    rm_storage *s;
    rm_ctx *ctx;
} handle;

static handle open_handle(const char *u)
{
    handle h = {0};
    OK(rm_storage_open(&h.s, u));
    rm__pg_set_user_cache_clock(h.s, cache_clock);
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage = h.s;
    o.secret_key = KEY;
    o.clock = rm_test_clock;
    o.clock_userdata = &clk;
    o.password_iterations = 1000;
    OK(rm_ctx_new(&h.ctx, &o));
    return h;
}

static void close_handle(handle *h)
{
    rm_ctx_free(h->ctx);
    rm_storage_free(h->s);
}

/* A fresh database at url (with `param` added), user "alice" in it, and an access token for her. */
static char *setup_db(const char *param, int64_t *alice_id)
{
    char base[1024];
    pgt_fresh_db(base, sizeof(base));
    pgt_url_add(url, sizeof(url), base, param);
    sql = pgt_connect(base);
    cache_ms = 1000000;
    clk.now_us = T0;
    handle h = open_handle(url);
    rm_user *u = NULL;
    OK(rm_user_create(&u, h.ctx, "alice", "", "correct horse battery", 0));
    *alice_id = rm_user_id(u);
    rm_principal *who = NULL;
    OK(rm_principal_for_user(&who, u));
    rm_user_free(u);
    rm_token_pair *pair = NULL;
    OK(rm_token_obtain(&pair, h.ctx, who));
    char *access = strdup(rm_token_pair_access(pair));
    rm_token_pair_free(pair);
    rm_principal_free(who);
    close_handle(&h);
    clk.now_us = T0 + 500000; /* later changes stamp tokens_valid_after after the token's iat */
    return access;
}

/* rm_token_authenticate: RM_OK, or the rm_reason of the RM_ETOKEN refusal. The principal's username
 * goes to name (size 64) when given. */
static int auth(handle *h, const char *access, char *name)
{
    rm_principal *who = NULL;
    int rc = rm_token_authenticate(&who, h->ctx, access);
    if (rc == RM_OK) {
        if (name)
            snprintf(name, 64, "%s", rm_principal_username(who));
        rm_principal_free(who);
        return RM_OK;
    }
    cr_assert_eq(rc, RM_ETOKEN, "authenticate -> %d (%s)", rc, rm_error_message(rm_error_last()));
    return rm_error_reason(rm_error_last());
}

Test(pg_user_cache, change_elsewhere_is_seen_after_the_ttl)
{
    int64_t id;
    char *access = setup_db("user_cache_ttl=1", &id);
    handle h = open_handle(url);
    cr_assert_eq(auth(&h, access, NULL), RM_OK); /* fills the cache */

    char q[256];
    snprintf(q, sizeof(q), "UPDATE auth_user SET is_active = false WHERE id = %lld", (long long)id);
    pgt_exec(sql, q);
    cache_ms += 999; /* within the TTL: the entry is still used */
    cr_assert_eq(auth(&h, access, NULL), RM_OK);
    cache_ms += 1; /* 1 s after the read: refused */
    cr_assert_eq(auth(&h, access, NULL), RM_TOKEN_USER_INACTIVE);

    /* Revocation by tokens_valid_after from elsewhere, the same way. */
    snprintf(q, sizeof(q),
             "UPDATE auth_user SET is_active = true WHERE id = %lld; INSERT INTO rm_user_ext (user_id, tokens_valid_after) "
             "VALUES (%lld, now()) ON CONFLICT (user_id) DO UPDATE SET tokens_valid_after = now()",
             (long long)id, (long long)id);
    cache_ms += 1000;
    cr_assert_eq(auth(&h, access, NULL), RM_TOKEN_USER_INACTIVE); /* read again at this time... */
    pgt_exec(sql, q);
    cr_assert_eq(auth(&h, access, NULL), RM_TOKEN_USER_INACTIVE); /* ...and served from the cache */
    cache_ms += 1000;
    cr_assert_eq(auth(&h, access, NULL), RM_TOKEN_REVOKED);
    close_handle(&h);
    free(access);
    PQfinish(sql);
}

Test(pg_user_cache, changes_in_this_process_are_seen_at_once)
{
    int64_t id;
    char *access = setup_db("user_cache_ttl=1", &id);
    handle h = open_handle(url);
    cr_assert_eq(auth(&h, access, NULL), RM_OK);
    cr_assert_eq(auth(&h, access, NULL), RM_OK);
    OK(rm_user_set_password(h.ctx, id, "another horse battery"));
    cr_assert_eq(auth(&h, access, NULL), RM_TOKEN_REVOKED); /* the cache clock did not move */
    free(access);

    /* A new token, then deactivation. */
    rm_principal *who = NULL;
    OK(rm_user_authenticate(&who, h.ctx, "alice", "another horse battery"));
    clk.now_us += 1000000;
    rm_token_pair *pair = NULL;
    OK(rm_token_obtain(&pair, h.ctx, who));
    rm_principal_free(who);
    cr_assert_eq(auth(&h, rm_token_pair_access(pair), NULL), RM_OK);
    cr_assert_eq(auth(&h, rm_token_pair_access(pair), NULL), RM_OK);
    clk.now_us += 500000;
    OK(rm_user_deactivate(h.ctx, id));
    cr_assert_neq(auth(&h, rm_token_pair_access(pair), NULL), RM_OK);
    rm_token_pair_free(pair);
    close_handle(&h);
    PQfinish(sql);
}

Test(pg_user_cache, another_handle_of_this_process_invalidates)
{
    int64_t id;
    char *access = setup_db("user_cache_ttl=1", &id);
    handle a = open_handle(url), b = open_handle(url);
    cr_assert_eq(auth(&a, access, NULL), RM_OK);
    cr_assert_eq(auth(&b, access, NULL), RM_OK);
    OK(rm_user_deactivate(b.ctx, id));
    cr_assert_neq(auth(&a, access, NULL), RM_OK);
    close_handle(&a);
    close_handle(&b);
    free(access);
    PQfinish(sql);
}

Test(pg_user_cache, zero_ttl_disables_it)
{
    int64_t id;
    char *access = setup_db("user_cache_ttl=0", &id);
    handle h = open_handle(url);
    cr_assert_eq(auth(&h, access, NULL), RM_OK);
    char q[128];
    snprintf(q, sizeof(q), "UPDATE auth_user SET is_active = false WHERE id = %lld", (long long)id);
    pgt_exec(sql, q);
    cr_assert_eq(auth(&h, access, NULL), RM_TOKEN_USER_INACTIVE);
    close_handle(&h);
    free(access);
    PQfinish(sql);
}

Test(pg_user_cache, default_ttl_is_one_second)
{
    int64_t id;
    char *access = setup_db("application_name=libresumate", &id);
    handle h = open_handle(url);
    cr_assert_eq(auth(&h, access, NULL), RM_OK);
    char q[128];
    snprintf(q, sizeof(q), "UPDATE auth_user SET is_active = false WHERE id = %lld", (long long)id);
    pgt_exec(sql, q);
    cache_ms += 999;
    cr_assert_eq(auth(&h, access, NULL), RM_OK);
    cache_ms += 1;
    cr_assert_eq(auth(&h, access, NULL), RM_TOKEN_USER_INACTIVE);
    close_handle(&h);
    free(access);
    PQfinish(sql);
}

Test(pg_user_cache, only_access_token_checks_use_it)
{
    int64_t id;
    char *access = setup_db("user_cache_ttl=1", &id);
    handle h = open_handle(url);
    char name[64];
    cr_assert_eq(auth(&h, access, name), RM_OK);
    cr_assert_str_eq(name, "alice");
    char q[128];
    snprintf(q, sizeof(q), "UPDATE auth_user SET username = 'alicia' WHERE id = %lld", (long long)id);
    pgt_exec(sql, q);
    cr_assert_eq(auth(&h, access, name), RM_OK);
    cr_assert_str_eq(name, "alice", "the token check is served from the cache");
    rm_user *u = NULL;
    OK(rm_user_get(&u, h.ctx, id));
    cr_assert_str_eq(rm_user_username(u), "alicia", "rm_user_get reads the database");
    rm_user_free(u);
    cache_ms += 1000;
    cr_assert_eq(auth(&h, access, name), RM_OK);
    cr_assert_str_eq(name, "alicia");
    close_handle(&h);
    free(access);
    PQfinish(sql);
}

Test(pg_user_cache, refresh_reads_the_database)
{
    int64_t id;
    char base[1024];
    pgt_fresh_db(base, sizeof(base));
    pgt_url_add(url, sizeof(url), base, "user_cache_ttl=1");
    sql = pgt_connect(base);
    clk.now_us = T0;
    handle h = open_handle(url);
    rm_user *u = NULL;
    OK(rm_user_create(&u, h.ctx, "bob", "", "correct horse battery", 0));
    id = rm_user_id(u);
    rm_principal *who = NULL;
    OK(rm_principal_for_user(&who, u));
    rm_user_free(u);
    rm_token_pair *pair = NULL;
    OK(rm_token_obtain(&pair, h.ctx, who));
    rm_principal_free(who);
    cr_assert_eq(auth(&h, rm_token_pair_access(pair), NULL), RM_OK);
    char q[128];
    snprintf(q, sizeof(q), "UPDATE auth_user SET is_active = false WHERE id = %lld", (long long)id);
    pgt_exec(sql, q);
    cr_assert_eq(auth(&h, rm_token_pair_access(pair), NULL), RM_OK); /* cached */
    rm_token_pair *next = NULL;
    cr_assert_eq(rm_token_refresh(&next, h.ctx, rm_token_pair_refresh(pair)), RM_ETOKEN);
    cr_assert_eq(rm_error_reason(rm_error_last()), RM_TOKEN_USER_INACTIVE);
    rm_token_pair_free(pair);
    close_handle(&h);
    PQfinish(sql);
}

Test(pg_user_cache, ttl_parameter_is_checked)
{
    char base[1024];
    pgt_fresh_db(base, sizeof(base));
    const char *bad[] = {"user_cache_ttl=2", "user_cache_ttl=1.5", "user_cache_ttl=-1", "user_cache_ttl=x",
                         "user_cache_ttl="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        pgt_url_add(url, sizeof(url), base, bad[i]);
        rm_storage *s = NULL;
        cr_assert_eq(rm_storage_open(&s, url), RM_EINVALID, "%s", bad[i]);
        const rm_error *e = rm_error_last();
        cr_assert_eq(rm_error_field_count(e), 1);
        cr_assert_str_eq(rm_error_field_name(e, 0), "storage_url");
        cr_assert(strstr(rm_error_field_message(e, 0, 0), "user_cache_ttl"), "%s", rm_error_field_message(e, 0, 0));
    }
    pgt_url_add(url, sizeof(url), base, "user_cache_ttl=0.25");
    rm_storage *s = NULL;
    OK(rm_storage_open(&s, url));
    rm_storage_free(s);
}
