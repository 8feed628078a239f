/* rm_ctx options and versions, storage URLs, custom storage vtables, data-set counters. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "rm_assert.h"

static void expect_fields_json(const char *want)
{
    char *json = NULL;
    cr_assert_eq(rm_error_fields_json(&json, rm_error_last()), RM_OK);
    cr_assert(strcmp(json, want) == 0, "fields json %s, want %s", json, want);
    rm_free(json);
}

/* ---- options ---- */

Test(ctx, options_init_and_versions)
{
    rm_ctx_options o;
    memset(&o, 0x5a, sizeof(o));
    OK(rm_ctx_options_init(&o, RM_CTX_OPTIONS_VERSION));
    cr_assert_eq(o.version, RM_CTX_OPTIONS_VERSION);
    cr_assert_null(o.storage);
    cr_assert_null(o.storage_url);
    cr_assert_eq(o.password_iterations, 0);
    cr_assert_null(o.clock);
    FAILS(RM_EVERSION, rm_ctx_options_init(&o, 0));
    FAILS(RM_EVERSION, rm_ctx_options_init(&o, 99));
    FAILS(RM_EMISUSE, rm_ctx_options_init(NULL, RM_CTX_OPTIONS_VERSION));
}

Test(ctx, new_rejects_unknown_option_versions)
{
    rm_ctx *ctx = (rm_ctx *)0x1;
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.version = 0;
    FAILS(RM_EVERSION, rm_ctx_new(&ctx, &o));
    cr_assert_null(ctx);
    o.version = 99;
    FAILS(RM_EVERSION, rm_ctx_new(&ctx, &o));
    cr_assert_null(ctx);
    FAILS(RM_EMISUSE, rm_ctx_new(NULL, &o));
}

Test(ctx, defaults_are_an_in_memory_database)
{
    rm_ctx *ctx = NULL;
    OK(rm_ctx_new(&ctx, NULL));
    cr_assert_not_null(rm_ctx_storage(ctx));
    /* usable right away: the schema exists */
    rm_user *u = NULL;
    FAILS(RM_ENOTFOUND, rm_user_get_by_username(&u, ctx, "nobody"));
    int64_t before = rm_ctx_now(ctx);
    cr_assert(before > INT64_C(1700000000000000), "real clock by default");
    rm_ctx_free(ctx);
    rm_ctx_free(NULL);
}

Test(ctx, bad_options_are_field_errors)
{
    rm_ctx *ctx = NULL;
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.access_token_lifetime = -1;
    FAILS(RM_EINVALID, rm_ctx_new(&ctx, &o));
    expect_fields_json("{\"access_token_lifetime\":[\"Ensure this value is greater than or equal to 0.\"]}");
    o = (rm_ctx_options)RM_CTX_OPTIONS_INIT;
    o.refresh_token_lifetime = -5;
    FAILS(RM_EINVALID, rm_ctx_new(&ctx, &o));
    cr_assert_eq(rm_error_field_count(rm_error_last()), 1);
    STREQ(rm_error_field_name(rm_error_last(), 0), "refresh_token_lifetime");
    o = (rm_ctx_options)RM_CTX_OPTIONS_INIT;
    o.secret_key = "";
    FAILS(RM_EINVALID, rm_ctx_new(&ctx, &o));
    STREQ(rm_error_field_name(rm_error_last(), 0), "secret_key");
    o = (rm_ctx_options)RM_CTX_OPTIONS_INIT;
    o.previous_secret_key_count = 2;
    FAILS(RM_EINVALID, rm_ctx_new(&ctx, &o));
    STREQ(rm_error_field_name(rm_error_last(), 0), "previous_secret_keys");
    const char *keys[] = {"old-key-1", ""};
    o.previous_secret_keys = keys;
    FAILS(RM_EINVALID, rm_ctx_new(&ctx, &o)); /* the second is empty; the first copy must not leak */
    cr_assert_null(ctx);
    /* secrets never reach the message */
    cr_assert_null(strstr(rm_error_message(rm_error_last()), "old-key-1"));
}

Test(ctx, secret_keys_are_copied)
{
    char key[] = "a-secret-signing-key";
    char old[] = "an-older-signing-key";
    const char *olds[] = {old};
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.secret_key = key;
    o.previous_secret_keys = olds;
    o.previous_secret_key_count = 1;
    rm_ctx *ctx = NULL;
    OK(rm_ctx_new(&ctx, &o));
    memset(key, 'x', sizeof(key) - 1);
    memset(old, 'y', sizeof(old) - 1);
    rm_ctx_free(ctx);
}

Test(ctx, injected_clock)
{
    rm_test_clock_state clk = {.now_us = INT64_C(1753322876000000)};
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.clock = rm_test_clock;
    o.clock_userdata = &clk;
    rm_ctx *ctx = NULL;
    OK(rm_ctx_new(&ctx, &o));
    cr_assert_eq(rm_ctx_now(ctx), INT64_C(1753322876000000));
    clk.now_us += 5;
    cr_assert_eq(rm_ctx_now(ctx), INT64_C(1753322876000005));
    cr_assert_eq(rm_ctx_now(NULL), 0);
    cr_assert_null(rm_ctx_storage(NULL));
    rm_ctx_free(ctx);
}

/* ---- storage URLs ---- */

static void open_and_check(const char *url)
{
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage_url = url;
    o.password_iterations = 1000;
    rm_ctx *ctx = NULL;
    OK(rm_ctx_new(&ctx, &o));
    OK(rm_user_create(NULL, ctx, "urluser", "", "irrelevant-pw-1", 0));
    rm_ctx_free(ctx);
}

Test(ctx, storage_urls)
{
    open_and_check(":memory:");
    open_and_check("sqlite://:memory:");
    char *plain = rm_test_path(".db");
    open_and_check(plain);
    cr_assert_eq(access(plain, F_OK), 0, "the file was created");
    char url[600];
    char *abs = rm_test_path(".sqlite3");
    snprintf(url, sizeof(url), "sqlite:///%s", abs); /* sqlite:////tmp/... (absolute) */
    open_and_check(url);
    cr_assert_eq(access(abs, F_OK), 0);

    /* the data persists in the file across ctxs */
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage_url = url;
    rm_ctx *ctx = NULL;
    OK(rm_ctx_new(&ctx, &o));
    rm_user *u = NULL;
    OK(rm_user_get_by_username(&u, ctx, "urluser"));
    rm_user_free(u);
    rm_ctx_free(ctx);
    free(plain);
    free(abs);
}

Test(ctx, bad_storage_urls)
{
    rm_ctx *ctx = NULL;
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage_url = "mysql://localhost/db";
    FAILS(RM_EINVALID, rm_ctx_new(&ctx, &o));
    STREQ(rm_error_field_name(rm_error_last(), 0), "storage_url");
    cr_assert_null(ctx);
    o.storage_url = "sqlite:///";
    FAILS(RM_EINVALID, rm_ctx_new(&ctx, &o));
    o.storage_url = "";
    FAILS(RM_EINVALID, rm_ctx_new(&ctx, &o));
    o.storage_url = "/nonexistent-dir-for-rm-tests/x/y.db";
    FAILS(RM_ESTORAGE, rm_ctx_new(&ctx, &o));
    cr_assert_null(ctx);
    rm_storage *s = (rm_storage *)0x1;
    FAILS(RM_EMISUSE, rm_storage_open(&s, NULL));
    FAILS(RM_EMISUSE, rm_storage_open(NULL, ":memory:"));
    FAILS(RM_EMISUSE, rm_storage_open_sqlite(NULL, ":memory:"));
}

/* A borrowed storage outlives the ctx and can serve two ctxs in turn. */
Test(ctx, borrowed_storage)
{
    rm_storage *s = NULL;
    char *path = rm_test_path(".db");
    OK(rm_storage_open_sqlite(&s, path));
    cr_assert_not_null(rm_storage_vtable_of(s));
    cr_assert_eq(rm_storage_vtable_of(s)->version, RM_STORAGE_VTABLE_VERSION);
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage = s;
    o.storage_url = "mysql://ignored-when-storage-is-given";
    o.password_iterations = 1000;
    rm_ctx *a = NULL, *b = NULL;
    OK(rm_ctx_new(&a, &o));
    cr_assert_eq(rm_ctx_storage(a), s);
    OK(rm_user_create(NULL, a, "shared", "", "pw-irrelevant-1", 0));
    rm_ctx_free(a);
    OK(rm_ctx_new(&b, &o));
    rm_user *u = NULL;
    OK(rm_user_get_by_username(&u, b, "shared"));
    rm_user_free(u);
    rm_ctx_free(b);
    rm_storage_free(s);
    rm_storage_free(NULL);
    free(path);
}

/* ---- custom vtables ---- */

Test(ctx, vtable_init_and_versions)
{
    rm_storage_vtable vt;
    memset(&vt, 0x33, sizeof(vt));
    OK(rm_storage_vtable_init(&vt, RM_STORAGE_VTABLE_VERSION));
    cr_assert_eq(vt.version, RM_STORAGE_VTABLE_VERSION);
    cr_assert_null(vt.close);
    cr_assert_null(vt.user_get);
    cr_assert_null(vt.idempotency_get);
    cr_assert_null(vt.application_count);
    /* A backend built against version 2 has a shorter vtable: version 2 touches only its members. */
    memset(&vt, 0x33, sizeof(vt));
    OK(rm_storage_vtable_init(&vt, 2));
    cr_assert_eq(vt.version, 2);
    cr_assert_null(vt.usage_import);
    const unsigned char *vtail = (const unsigned char *)&vt.resume_count;
    for (size_t i = 0; i < sizeof(vt) - offsetof(rm_storage_vtable, resume_count); i++)
        cr_assert_eq(vtail[i], 0x33, "byte %zu past the version-2 members was written", i);
    FAILS(RM_EVERSION, rm_storage_vtable_init(&vt, 0));
    FAILS(RM_EVERSION, rm_storage_vtable_init(&vt, RM_STORAGE_VTABLE_VERSION + 1));
    FAILS(RM_EMISUSE, rm_storage_vtable_init(NULL, RM_STORAGE_VTABLE_VERSION));

    rm_storage *s = (rm_storage *)0x1;
    rm_storage_vtable v0 = RM_STORAGE_VTABLE_INIT;
    v0.version = 0;
    FAILS(RM_EVERSION, rm_storage_new(&s, &v0, NULL));
    cr_assert_null(s);
    v0.version = 99;
    FAILS(RM_EVERSION, rm_storage_new(&s, &v0, NULL));
    FAILS(RM_EMISUSE, rm_storage_new(&s, NULL, NULL));
    FAILS(RM_EMISUSE, rm_storage_new(NULL, &v0, NULL));
    cr_assert_null(rm_storage_vtable_of(NULL));
    cr_assert_null(rm_storage_self(NULL));
}

/* A tiny backend that knows only users: a fixed table in memory, no locking (single-threaded test). */
typedef struct {
    int closed;
    int64_t next_id;
    char names[4][32];
    char hashes[4][160];
    int active[4];
    int count;
    int fail_ping;
} tiny_store;

static void tiny_close(void *self) { ((tiny_store *)self)->closed++; }

static int tiny_user_insert(void *self, const rm_user_record *rec, int64_t *id_out)
{
    tiny_store *t = self;
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->names[i], rec->username) == 0)
            return RM_ECONFLICT;
    if (t->count == 4)
        return rm_storage_set_error(RM_ESTORAGE, "tiny store is full");
    snprintf(t->names[t->count], sizeof(t->names[0]), "%s", rec->username);
    snprintf(t->hashes[t->count], sizeof(t->hashes[0]), "%s", rec->password);
    t->active[t->count] = rec->is_active;
    t->count++;
    *id_out = ++t->next_id;
    return RM_OK;
}

static int tiny_user_get(void *self, int64_t id, const char *username, rm_user_sink sink, void *sink_data)
{
    tiny_store *t = self;
    for (int i = 0; i < t->count; i++) {
        if ((username && strcmp(t->names[i], username) == 0) || (!username && id == i + 1)) {
            rm_user_record r = {.id = i + 1, .username = t->names[i], .email = "", .password = t->hashes[i],
                                .first_name = "", .last_name = "", .is_active = t->active[i],
                                .date_joined = 0, .last_login = RM_NO_TIME, .tokens_valid_after = RM_NO_TIME};
            return sink(sink_data, &r);
        }
    }
    return RM_ENOTFOUND;
}

static int tiny_ping(void *self) { return ((tiny_store *)self)->fail_ping ? rm_storage_set_error(RM_ESTORAGE, "tiny store: disk on fire") : RM_OK; }

Test(ctx, partial_vtable_missing_members_are_estorage)
{
    tiny_store t = {0};
    rm_storage_vtable vt = RM_STORAGE_VTABLE_INIT;
    vt.close = tiny_close;
    vt.ping = tiny_ping;
    vt.user_insert = tiny_user_insert;
    vt.user_get = tiny_user_get;
    rm_storage *s = NULL;
    OK(rm_storage_new(&s, &vt, &t));
    cr_assert_eq(rm_storage_vtable_of(s), &vt);
    cr_assert_eq(rm_storage_self(s), &t);

    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage = s;
    o.password_iterations = 1000;
    rm_ctx *ctx = NULL;
    OK(rm_ctx_new(&ctx, &o));

    /* what the backend has works */
    rm_user *u = NULL;
    OK(rm_user_create(&u, ctx, "tina", "tina@example.com", "irrelevant-pw-7", 0));
    cr_assert_eq(rm_user_id(u), 1);
    rm_principal *who = NULL;
    OK(rm_principal_for_user(&who, u));
    rm_principal *auth = NULL;
    OK(rm_user_authenticate(&auth, ctx, "tina", "irrelevant-pw-7"));
    cr_assert_eq(rm_principal_user_id(auth), 1);
    rm_principal_free(auth);
    FAILS(RM_EAUTH, rm_user_authenticate(&auth, ctx, "tina", "wrong-password"));
    FAILS(RM_EINVALID, rm_user_create(NULL, ctx, "tina", "", "x", 0)); /* ECONFLICT -> duplicate message */
    expect_fields_json("{\"username\":[\"A user with that username already exists.\"]}");
    OK(rm_user_create(NULL, ctx, "t2", "", NULL, 0));
    OK(rm_user_create(NULL, ctx, "t3", "", NULL, 0));
    OK(rm_user_create(NULL, ctx, "t4", "", NULL, 0));
    FAILS(RM_ESTORAGE, rm_user_create(NULL, ctx, "t5", "", NULL, 0));
    STREQ(rm_error_message(rm_error_last()), "tiny store is full"); /* rm_storage_set_error's message survives */

    /* everything else is RM_ESTORAGE, never a crash */
    rm_fields *f = rm_test_fields("title", "T", "content", "C", NULL);
    rm_resume *r = NULL;
    FAILS(RM_ESTORAGE, rm_resume_create(&r, ctx, who, f));
    cr_assert_null(r);
    cr_assert(strstr(rm_error_message(rm_error_last()), "resume_insert") != NULL, "%s", rm_error_message(rm_error_last()));
    FAILS(RM_ESTORAGE, rm_resume_get(&r, ctx, who, 1));
    rm_resume_page *rp = NULL;
    FAILS(RM_ESTORAGE, rm_resume_list(&rp, ctx, who, NULL));
    cr_assert_null(rp);
    FAILS(RM_ESTORAGE, rm_resume_update(&r, ctx, who, 1, f));
    FAILS(RM_ESTORAGE, rm_resume_patch(&r, ctx, who, 1, f));
    FAILS(RM_ESTORAGE, rm_resume_delete(ctx, who, 1));
    rm_application *a = NULL;
    FAILS(RM_ESTORAGE, rm_application_create(&a, ctx, who, f));
    FAILS(RM_ESTORAGE, rm_application_get(&a, ctx, who, 1));
    rm_application_page *ap = NULL;
    FAILS(RM_ESTORAGE, rm_application_list(&ap, ctx, who, NULL));
    FAILS(RM_ESTORAGE, rm_application_update(&a, ctx, who, 1, f));
    FAILS(RM_ESTORAGE, rm_application_delete(ctx, who, 1));
    FAILS(RM_ESTORAGE, rm_example_list(&ap, ctx, NULL));
    FAILS(RM_ESTORAGE, rm_example_get(&a, ctx, 1));
    int created = -1;
    FAILS(RM_ESTORAGE, rm_example_seed(ctx, &created));
    cr_assert_eq(created, 0);
    rm_ai_model *m = NULL;
    FAILS(RM_ESTORAGE, rm_ai_model_get(&m, ctx, "x"));
    rm_ai_model_page *mp = NULL;
    FAILS(RM_ESTORAGE, rm_ai_model_list(&mp, ctx, 1));
    FAILS(RM_ESTORAGE, rm_ai_model_deactivate(ctx, "x"));
    rm_fields *mf = rm_test_fields("display_name", "X", "model_name", "x", "api_provider", "google_gemini",
                                   "api_key_name", "GEMINI_API_KEY", NULL);
    FAILS(RM_ESTORAGE, rm_ai_model_create(&m, ctx, mf));
    cr_assert_eq(rm_ctx_data_version(ctx, RM_DATA_AI_MODELS), 0);
    FAILS(RM_ESTORAGE, rm_user_set_password(ctx, 1, "a-much-better-pw-9")); /* user_update is missing */
    FAILS(RM_ESTORAGE, rm_user_deactivate(ctx, 1));

    /* the backend's own message comes through */
    t.fail_ping = 1;
    FAILS(RM_ESTORAGE, vt.ping(&t));
    STREQ(rm_error_message(rm_error_last()), "tiny store: disk on fire");

    rm_fields_free(f);
    rm_fields_free(mf);
    rm_principal_free(who);
    rm_user_free(u);
    rm_ctx_free(ctx);
    cr_assert_eq(t.closed, 0, "a borrowed storage is not closed by the ctx");
    rm_storage_free(s);
    cr_assert_eq(t.closed, 1);
}

/* A vtable with nothing at all. */
Test(ctx, empty_vtable)
{
    rm_storage_vtable vt;
    OK(rm_storage_vtable_init(&vt, RM_STORAGE_VTABLE_VERSION));
    rm_storage *s = NULL;
    OK(rm_storage_new(&s, &vt, NULL));
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage = s;
    rm_ctx *ctx = NULL;
    OK(rm_ctx_new(&ctx, &o));
    rm_user *u = NULL;
    FAILS(RM_ESTORAGE, rm_user_get(&u, ctx, 1));
    FAILS(RM_ESTORAGE, rm_user_get_by_username(&u, ctx, "x"));
    FAILS(RM_ESTORAGE, rm_user_anonymous(&u, ctx));
    cr_assert_null(u);
    rm_principal *p = NULL;
    FAILS(RM_ESTORAGE, rm_user_authenticate(&p, ctx, "x", "y"));
    rm_fields *f = rm_test_fields("username", "newbie", "email", "n@example.com", "password", "kangaroo-42",
                                  "password2", "kangaroo-42", NULL);
    FAILS(RM_ESTORAGE, rm_user_register(&u, ctx, f));
    rm_fields_free(f);
    rm_ctx_free(ctx);
    rm_storage_free(s); /* no close member: nothing to call */
}

/* A backend that bends the rules: NULL strings, no sink call, two sink calls, more rows than asked,
 * an unexpected status. The library copes: defaults for NULL, RM_ENOTFOUND, no leaks, trimmed pages. */
static int odd_user_get(void *self, int64_t id, const char *username, rm_user_sink sink, void *d)
{
    (void)self;
    if (username && strcmp(username, "conflict") == 0)
        return RM_ECONFLICT; /* without rm_storage_set_error */
    rm_user_record r = {.id = id ? id : 7, .is_active = 1, .date_joined = 0, .last_login = RM_NO_TIME,
                        .tokens_valid_after = RM_NO_TIME}; /* every string NULL */
    return sink(d, &r);
}

static int odd_resume_get(void *self, int64_t user_id, int64_t id, rm_resume_sink sink, void *d)
{
    (void)self;
    if (id == 1)
        return RM_OK; /* claims success, delivers nothing */
    rm_resume_record r = {.id = id, .user_id = user_id, .created_at = 5, .updated_at = 6};
    int rc = sink(d, &r); /* NULL title and content, delivered twice */
    return rc ? rc : sink(d, &r);
}

static int odd_resume_list(void *self, int64_t user_id, const rm_storage_query *q, rm_resume_sink sink, void *d)
{
    (void)self;
    (void)q; /* ignores the limit */
    for (int64_t i = 10; i > 0; i--) {
        rm_resume_record r = {.id = i, .user_id = user_id, .title = "t", .content = NULL, .created_at = i, .updated_at = i};
        int rc = sink(d, &r);
        if (rc)
            return rc;
    }
    return RM_OK;
}

static int odd_app_get(void *self, int64_t user_id, int64_t id, rm_application_sink sink, void *d)
{
    (void)self;
    rm_application_record r = {.id = id, .user_id = user_id ? user_id : 99, .is_example = user_id == 0,
                               .created_at = RM_NO_TIME, .updated_at = RM_NO_TIME}; /* status NULL too */
    return sink(d, &r);
}

static int odd_model_get(void *self, int64_t id, const char *name, rm_ai_model_sink sink, void *d)
{
    (void)self;
    (void)name;
    rm_ai_model_record r = {.id = id ? id : 3, .is_active = 1};
    return sink(d, &r);
}

Test(ctx, odd_backend_records)
{
    rm_storage_vtable vt = RM_STORAGE_VTABLE_INIT;
    vt.user_get = odd_user_get;
    vt.resume_get = odd_resume_get;
    vt.resume_list = odd_resume_list;
    vt.application_get = odd_app_get;
    vt.ai_model_get = odd_model_get;
    rm_storage *s = NULL;
    OK(rm_storage_new(&s, &vt, NULL));
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage = s;
    rm_ctx *ctx = NULL;
    OK(rm_ctx_new(&ctx, &o));

    rm_user *u = NULL;
    OK(rm_user_get(&u, ctx, 7));
    STREQ(rm_user_username(u), "");
    STREQ(rm_user_email(u), "");
    cr_assert_eq(rm_user_has_usable_password(u), 0);
    rm_principal *who = NULL;
    OK(rm_principal_for_user(&who, u));
    rm_user_free(u);
    FAILS(RM_ECONFLICT, rm_user_get_by_username(&u, ctx, "conflict"));
    cr_assert(strlen(rm_error_message(rm_error_last())) > 0, "a message even when the backend set none");
    rm_principal *p = NULL;
    FAILS(RM_EAUTH, rm_user_authenticate(&p, ctx, "x", "y")); /* NULL stored password never matches */

    rm_resume *r = (rm_resume *)0x1;
    FAILS(RM_ENOTFOUND, rm_resume_get(&r, ctx, who, 1));
    cr_assert_null(r);
    OK(rm_resume_get(&r, ctx, who, 2));
    STREQ(rm_resume_title(r), "");
    STREQ(rm_resume_content(r), "");
    char *json = NULL;
    OK(rm_resume_to_json(&json, r));
    STREQ(json, "{\"id\":2,\"user\":\"\",\"title\":\"\",\"content\":\"\",\"created_at\":\"1970-01-01T00:00:00.000005Z\","
                "\"updated_at\":\"1970-01-01T00:00:00.000006Z\"}");
    rm_free(json);
    rm_resume_free(r);

    rm_list_options lo = RM_LIST_OPTIONS_INIT;
    lo.limit = 3;
    rm_resume_page *page = NULL;
    OK(rm_resume_list(&page, ctx, who, &lo));
    cr_assert_eq(rm_resume_page_count(page), 3, "the page is cut to the limit");
    STREQ(rm_resume_page_next_cursor(page), "1.8.8");
    STREQ(rm_resume_content(rm_resume_page_at(page, 2)), "");
    rm_resume_page_free(page);

    rm_application *a = NULL;
    OK(rm_application_get(&a, ctx, who, 4));
    STREQ(rm_application_status(a), "Applied");
    cr_assert_null(rm_application_job_title(a));
    OK(rm_application_to_json(&json, a));
    cr_assert(strstr(json, "\"created_at\":null,\"updated_at\":null") != NULL, "%s", json);
    rm_free(json);
    rm_application_free(a);
    OK(rm_example_get(&a, ctx, 5));
    cr_assert_eq(rm_application_is_example(a), 1);
    rm_application_free(a);

    rm_ai_model *m = NULL;
    OK(rm_ai_model_get(&m, ctx, "anything"));
    STREQ(rm_ai_model_display_name(m), "");
    STREQ(rm_ai_model_api_provider(m), "");
    cr_assert_null(rm_ai_model_base_url(m));
    rm_ai_model_free(m);

    rm_principal_free(who);
    rm_ctx_free(ctx);
    rm_storage_free(s);
}

/* ---- data-set counters ---- */

Test(ctx, data_version_bounds)
{
    rm_ctx *ctx = NULL;
    OK(rm_ctx_new(&ctx, NULL));
    cr_assert_eq(rm_ctx_data_version(ctx, RM_DATA_AI_MODELS), 0);
    cr_assert_eq(rm_ctx_data_version(ctx, RM_DATA_EXAMPLES), 0);
    cr_assert_eq(rm_ctx_data_version(ctx, 0), 0);
    cr_assert_eq(rm_ctx_data_version(ctx, 3), 0);
    cr_assert_eq(rm_ctx_data_version(ctx, -1), 0);
    cr_assert_eq(rm_ctx_data_version(NULL, RM_DATA_AI_MODELS), 0);
    int created = 0;
    OK(rm_example_seed(ctx, &created));
    cr_assert_eq(created, 5);
    cr_assert_eq(rm_ctx_data_version(ctx, RM_DATA_EXAMPLES), 1);
    cr_assert_eq(rm_ctx_data_version(ctx, RM_DATA_AI_MODELS), 0);
    rm_ctx_free(ctx);
}

/* ---- list options ---- */

Test(ctx, list_options_versions)
{
    rm_list_options lo;
    memset(&lo, 0x7f, sizeof(lo));
    OK(rm_list_options_init(&lo, RM_LIST_OPTIONS_VERSION));
    cr_assert_eq(lo.version, RM_LIST_OPTIONS_VERSION);
    cr_assert_eq(lo.limit, 0);
    cr_assert_null(lo.cursor);
    cr_assert_null(lo.status);
    cr_assert_null(lo.search);
    cr_assert_null(lo.ordering);
    FAILS(RM_EVERSION, rm_list_options_init(&lo, 0));
    FAILS(RM_EVERSION, rm_list_options_init(&lo, RM_LIST_OPTIONS_VERSION + 1));
    /* A caller built against version 1 has a shorter struct: version 1 touches only its members. */
    memset(&lo, 0x7f, sizeof(lo));
    OK(rm_list_options_init(&lo, 1));
    cr_assert_eq(lo.version, 1);
    cr_assert_null(lo.status);
    const unsigned char *tail = (const unsigned char *)&lo.search;
    for (size_t i = 0; i < sizeof(lo) - offsetof(rm_list_options, search); i++)
        cr_assert_eq(tail[i], 0x7f, "byte %zu past the version-1 members was written", i);
    FAILS(RM_EMISUSE, rm_list_options_init(NULL, 1));

    rm_ctx *ctx = NULL;
    OK(rm_ctx_new(&ctx, NULL));
    rm_application_page *p = NULL;
    rm_list_options bad = RM_LIST_OPTIONS_INIT;
    bad.version = 0;
    FAILS(RM_EVERSION, rm_example_list(&p, ctx, &bad));
    bad.version = 7;
    FAILS(RM_EVERSION, rm_example_list(&p, ctx, &bad));
    cr_assert_null(p);
    rm_ctx_free(ctx);
}
