/*
 * rm_storage_copy() between backends: a SQLite database with every kind of row is copied into a fresh
 * PostgreSQL database and from there into a fresh SQLite file; all three must hold exactly the same
 * rows (ids included), users must still log in with their passwords, tokens issued against the
 * original must still verify (and revoked or superseded ones still fail), and a non-empty target is
 * refused. The PostgreSQL server comes from RM_TEST_PG_URL (scripts/pg.sh).
 */
#include "test_pg_util.h"

#include <resumate/copy.h>
#include <rm_test.h>

#define OK(expr)                                                                                              \
    do {                                                                                                      \
        int rc_ = (expr);                                                                                     \
        cr_assert_eq(rc_, RM_OK, "%s -> %d (%s)", #expr, rc_, rm_error_message(rm_error_last()));              \
    } while (0)

#define SEC INT64_C(1000000)
#define T0 INT64_C(1700000000123456)

static void fini(void) { pgt_drop_all(); }
TestSuite(pg_copy, .fini = fini, .timeout = 120);

/* ---- a canonical text dump of everything a storage holds ---- */

static void q(FILE *f, const char *s)
{
    if (s)
        fprintf(f, "\"%s\"", s);
    else
        fputs("NULL", f);
}

static int d_user(void *d, const rm_user_record *r)
{
    FILE *f = d;
    fprintf(f, "user %lld ", (long long)r->id);
    q(f, r->username), q(f, r->email), q(f, r->password), q(f, r->first_name), q(f, r->last_name);
    fprintf(f, " %d%d%d %lld %lld %lld\n", r->is_active, r->is_staff, r->is_superuser, (long long)r->date_joined,
            (long long)r->last_login, (long long)r->tokens_valid_after);
    return 0;
}

static int d_model(void *d, const rm_ai_model_record *r)
{
    FILE *f = d;
    fprintf(f, "model %lld ", (long long)r->id);
    q(f, r->display_name), q(f, r->model_name), q(f, r->api_provider), q(f, r->api_key_name);
    q(f, r->response_time_info), q(f, r->description), q(f, r->base_url);
    fprintf(f, " %d%d %d %lld %lld\n", r->is_active, r->login_required, (int)r->daily_limit, (long long)r->created_at,
            (long long)r->updated_at);
    return 0;
}

static int d_resume(void *d, const rm_resume_record *r)
{
    FILE *f = d;
    fprintf(f, "resume %lld %lld ", (long long)r->id, (long long)r->user_id);
    q(f, r->title), q(f, r->content);
    fprintf(f, " %lld %lld\n", (long long)r->created_at, (long long)r->updated_at);
    return 0;
}

static int d_app(void *d, const rm_application_record *r)
{
    FILE *f = d;
    fprintf(f, "app %lld %lld ", (long long)r->id, (long long)r->user_id);
    q(f, r->job_title), q(f, r->company_name), q(f, r->original_job_description), q(f, r->date_applied);
    q(f, r->status), q(f, r->notes);
    fprintf(f, " %d%d %lld %lld %lld\n", r->is_deleted, r->is_example, (long long)r->resume_used,
            (long long)r->created_at, (long long)r->updated_at);
    return 0;
}

static int d_token(void *d, const rm_token_deny_record *r)
{
    fprintf(d, "deny \"%s\" %lld %lld\n", r->jti, (long long)r->user_id, (long long)r->expires_at);
    return 0;
}

static int d_usage(void *d, const rm_usage_record *r)
{
    fprintf(d, "usage %lld %lld %s %d\n", (long long)r->user_id, (long long)r->model_id, r->day, (int)r->count);
    return 0;
}

static int d_idem(void *d, const rm_idempotency_record *r)
{
    fprintf(d, "idem \"%s\" %lld %lld %lld\n", r->key, (long long)r->user_id, (long long)r->resume_id,
            (long long)r->created_at);
    return 0;
}

static char *dump(rm_storage *s)
{
    const rm_storage_vtable *v = rm_storage_vtable_of(s);
    void *self = rm_storage_self(s);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    OK(v->user_scan(self, d_user, f));
    OK(v->ai_model_list(self, 0, d_model, f));
    OK(v->resume_scan(self, d_resume, f));
    OK(v->application_scan(self, d_app, f));
    OK(v->token_scan(self, d_token, f));
    OK(v->usage_scan(self, d_usage, f));
    OK(v->idempotency_scan(self, d_idem, f));
    fclose(f);
    return buf;
}

/* ---- helpers ---- */

static rm_ctx *ctx_on(rm_storage *s, rm_test_clock_state *clock)
{
    rm_ctx_options o;
    OK(rm_ctx_options_init(&o, RM_CTX_OPTIONS_VERSION));
    o.storage = s;
    o.secret_key = "copy-test-signing-key-0123456789abcdef";
    o.password_iterations = 1000;
    o.clock = rm_test_clock;
    o.clock_userdata = clock;
    o.refresh_token_lifetime = 86400 * 30;
    o.access_token_lifetime = 86400 * 30;
    rm_ctx *c = NULL;
    OK(rm_ctx_new(&c, &o));
    return c;
}

static char *sqlite_url(const char *tag)
{
    char *p = rm_test_path(tag);
    char *u = malloc(strlen(p) + 16);
    sprintf(u, "sqlite:///%s", p);
    free(p);
    return u;
}

static int64_t user_id_of(rm_ctx *c, const char *username)
{
    rm_user *u = NULL;
    OK(rm_user_get_by_username(&u, c, username));
    int64_t id = rm_user_id(u);
    rm_user_free(u);
    return id;
}

typedef struct {
    char *alice_access, *alice_refresh_revoked, *alice_refresh_live, *bob_access_old;
    int64_t alice, bob, carol;
} fixture;

/* Fill a SQLite store with every kind of row, through the library and the vtable. */
static void populate(rm_storage *s, rm_test_clock_state *clock, fixture *fx)
{
    rm_ctx *c = ctx_on(s, clock);
    const rm_storage_vtable *v = rm_storage_vtable_of(s);
    void *self = rm_storage_self(s);
    OK(rm_user_create(NULL, c, "alice", "alice@example.com", "correct horse battery", 0));
    OK(rm_user_create(NULL, c, "bob", "", "bob's password 1", 0));
    OK(rm_user_create(NULL, c, "carol", "carol@example.com", NULL, 0)); /* unusable password */
    fx->alice = user_id_of(c, "alice");
    fx->bob = user_id_of(c, "bob");
    fx->carol = user_id_of(c, "carol");

    rm_token_pair *p = NULL;
    OK(rm_token_login(&p, c, "alice", "correct horse battery"));
    fx->alice_access = strdup(rm_token_pair_access(p));
    fx->alice_refresh_live = strdup(rm_token_pair_refresh(p));
    rm_token_pair_free(p);
    OK(rm_token_login(&p, c, "alice", "correct horse battery"));
    fx->alice_refresh_revoked = strdup(rm_token_pair_refresh(p));
    rm_token_pair_free(p);
    OK(rm_token_revoke(c, fx->alice_refresh_revoked));
    OK(rm_token_login(&p, c, "bob", "bob's password 1"));
    fx->bob_access_old = strdup(rm_token_pair_access(p));
    rm_token_pair_free(p);
    /* Bob changes his password later: his old token is superseded (tokens_valid_after). */
    clock->now_us += 10 * SEC;
    OK(rm_user_set_password(c, fx->bob, "bob's password 2"));

    /* Ids with gaps, so preserving them is visible. */
    rm_resume_record r = {.user_id = fx->alice, .title = "CV", .content = "# Alice\n\n* ünïcode ✓", .created_at = T0,
                          .updated_at = T0 + 5};
    int64_t r1 = 0, r2 = 0, r3 = 0;
    OK(v->resume_insert(self, &r, &r1));
    r.title = "gone";
    OK(v->resume_insert(self, &r, &r2));
    OK(v->resume_delete(self, fx->alice, r2));
    r.user_id = fx->bob;
    r.title = "Bob's";
    r.content = "";
    OK(v->resume_insert(self, &r, &r3));

    rm_application_record a = {.user_id = fx->alice, .job_title = "Engineer", .company_name = "ACME",
                               .original_job_description = "Build.", .date_applied = "2024-02-29",
                               .status = "Interviewing", .notes = NULL, .resume_used = r1,
                               .created_at = T0 + 1, .updated_at = T0 + 2};
    int64_t a1 = 0, a2 = 0, a3 = 0;
    OK(v->application_insert(self, &a, &a1));
    a.resume_used = 0;
    a.job_title = NULL;
    a.date_applied = NULL;
    a.status = "Rejected";
    OK(v->application_insert(self, &a, &a2));
    OK(v->application_delete(self, fx->alice, a2, T0 + 3));
    a.user_id = fx->carol;
    a.is_example = 1;
    a.status = "Offer";
    a.notes = "example";
    OK(v->application_insert(self, &a, &a3));

    rm_ai_model_record m = {.display_name = "Gemini Flash", .model_name = "gemini-1.5-flash",
                            .api_provider = "google_gemini", .api_key_name = "GEMINI_API_KEY", .is_active = 1,
                            .daily_limit = 5, .response_time_info = "fast", .description = "d",
                            .created_at = T0, .updated_at = T0 + 1};
    int64_t m1 = 0, m2 = 0;
    OK(v->ai_model_insert(self, &m, &m1));
    m.display_name = "Local LLM";
    m.api_provider = "openai_compatible";
    m.api_key_name = "LOCAL_KEY";
    m.base_url = "http://127.0.0.1:8000/v1";
    m.is_active = 0;
    m.login_required = 1;
    OK(v->ai_model_insert(self, &m, &m2));

    int32_t n;
    OK(v->usage_try_increment(self, fx->alice, m1, "2024-03-01", 5, &n));
    OK(v->usage_try_increment(self, fx->alice, m1, "2024-03-01", 5, &n));
    OK(v->usage_try_increment(self, fx->bob, m2, "2024-03-02", 0, &n));
    OK(v->idempotency_put(self, "key-1", fx->alice, r1, T0 + 7));
    OK(v->idempotency_put(self, "key-1", fx->bob, r3, T0 + 8));
    rm_ctx_free(c);
}

static void assert_logins_and_tokens(rm_storage *s, rm_test_clock_state *clock, const fixture *fx)
{
    rm_ctx *c = ctx_on(s, clock);
    rm_principal *who = NULL;
    OK(rm_user_authenticate(&who, c, "alice", "correct horse battery"));
    cr_assert_eq(rm_principal_user_id(who), fx->alice);
    rm_principal_free(who);
    OK(rm_user_authenticate(&who, c, "bob", "bob's password 2"));
    cr_assert_eq(rm_principal_user_id(who), fx->bob);
    rm_principal_free(who);
    cr_assert_eq(rm_user_authenticate(&who, c, "bob", "bob's password 1"), RM_EAUTH);
    cr_assert_eq(rm_user_authenticate(&who, c, "carol", ""), RM_EINVALID);
    cr_assert_eq(rm_user_authenticate(&who, c, "alice", "wrong"), RM_EAUTH);

    /* A token issued against the original store verifies against the copy. */
    OK(rm_token_authenticate(&who, c, fx->alice_access));
    cr_assert_eq(rm_principal_user_id(who), fx->alice);
    cr_assert_str_eq(rm_principal_username(who), "alice");
    rm_principal_free(who);
    rm_token_pair *p = NULL;
    OK(rm_token_refresh(&p, c, fx->alice_refresh_live));
    rm_token_pair_free(p);
    /* The revoked refresh token stays revoked; Bob's pre-password-change token stays superseded. */
    cr_assert_eq(rm_token_refresh(&p, c, fx->alice_refresh_revoked), RM_ETOKEN);
    cr_assert_eq(rm_error_reason(rm_error_last()), RM_TOKEN_REVOKED);
    cr_assert_eq(rm_token_authenticate(&who, c, fx->bob_access_old), RM_ETOKEN);
    rm_ctx_free(c);
}

Test(pg_copy, sqlite_to_postgres_to_sqlite_keeps_everything)
{
    rm_test_clock_state clock = {.now_us = T0 + 100 * SEC};
    fixture fx = {0};
    char *a_url = sqlite_url("copy-a.db"), *b_url = sqlite_url("copy-b.db");
    char pg_url[1024];
    pgt_fresh_db(pg_url, sizeof(pg_url));

    rm_storage *a = pgt_open(a_url);
    populate(a, &clock, &fx);
    char *want = dump(a);
    cr_assert(strstr(want, "deny "), "the fixture has a denylist entry:\n%s", want);
    cr_assert(strstr(want, "\"http://127.0.0.1:8000/v1\""));

    rm_storage *pg = pgt_open(pg_url);
    rm_copy_stats st;
    OK(rm_storage_copy(pg, a, &st));
    cr_assert_eq(st.users, 3);
    cr_assert_eq(st.resumes, 2);
    cr_assert_eq(st.applications, 3);
    cr_assert_eq(st.ai_models, 2);
    cr_assert_eq(st.denied_tokens, 1);
    cr_assert_eq(st.usage_counts, 2);
    cr_assert_eq(st.idempotency_keys, 2);
    char *got_pg = dump(pg);
    cr_assert_str_eq(got_pg, want);

    /* Through a fresh connection pool too (nothing is only cached). */
    rm_storage_free(pg);
    pg = pgt_open(pg_url);
    free(got_pg);
    got_pg = dump(pg);
    cr_assert_str_eq(got_pg, want);
    assert_logins_and_tokens(pg, &clock, &fx);

    rm_storage *b = pgt_open(b_url);
    OK(rm_storage_copy(b, pg, &st));
    cr_assert_eq(st.users, 3);
    char *got_b = dump(b);
    cr_assert_str_eq(got_b, want);
    assert_logins_and_tokens(b, &clock, &fx);

    /* New rows get fresh ids past the copied ones in both targets. */
    rm_resume_record r = {.user_id = fx.alice, .title = "new", .content = "", .created_at = T0, .updated_at = T0};
    int64_t id_pg = 0, id_b = 0;
    OK(rm_storage_vtable_of(pg)->resume_insert(rm_storage_self(pg), &r, &id_pg));
    OK(rm_storage_vtable_of(b)->resume_insert(rm_storage_self(b), &r, &id_b));
    cr_assert_gt(id_pg, 3);
    cr_assert_eq(id_pg, id_b);

    /* A non-empty target is refused, and nothing is written to it. */
    char *before = dump(b);
    cr_assert_eq(rm_storage_copy(b, a, &st), RM_ECONFLICT);
    cr_assert(strstr(rm_error_message(rm_error_last()), "not empty"), "%s", rm_error_message(rm_error_last()));
    cr_assert_eq(st.users, 0);
    char *after = dump(b);
    cr_assert_str_eq(after, before);
    cr_assert_eq(rm_storage_copy(pg, pg, NULL), RM_EMISUSE);

    /* Neither secrets nor hashes leak into the error. */
    cr_assert_null(strstr(rm_error_message(rm_error_last()), "pbkdf2"));

    free(before), free(after), free(want), free(got_pg), free(got_b);
    free(fx.alice_access), free(fx.alice_refresh_live), free(fx.alice_refresh_revoked), free(fx.bob_access_old);
    rm_storage_free(a), rm_storage_free(pg), rm_storage_free(b);
    free(a_url), free(b_url);
}

/* Only one kind of row in the target is enough to refuse, and the message names it. */
Test(pg_copy, refuses_a_target_with_only_usage_counts)
{
    char pg_url[1024];
    pgt_fresh_db(pg_url, sizeof(pg_url));
    rm_storage *pg = pgt_open(pg_url), *src = pgt_open(":memory:");
    int32_t n;
    OK(rm_storage_vtable_of(pg)->usage_try_increment(rm_storage_self(pg), 1, 1, "2024-01-01", 0, &n));
    rm_copy_stats st;
    cr_assert_eq(rm_storage_copy(pg, src, &st), RM_ECONFLICT);
    cr_assert(strstr(rm_error_message(rm_error_last()), "daily usage"), "%s", rm_error_message(rm_error_last()));
    /* An empty source into an empty target copies nothing and succeeds. */
    rm_storage *empty = pgt_open(":memory:");
    OK(rm_storage_copy(empty, src, &st));
    cr_assert_eq(st.users + st.resumes + st.applications + st.ai_models + st.usage_counts, 0);
    rm_storage_free(pg), rm_storage_free(src), rm_storage_free(empty);
}
