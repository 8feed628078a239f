/*
 * The storage conformance suite: every rule of include/resumate/storage.h, driven only through the
 * public vtable (rm_storage_open, rm_storage_vtable_of, rm_storage_self), so the same file runs
 * against every backend.
 *
 * RM_TEST_STORAGE_URL picks the backend (default ":memory:"):
 *   ":memory:"            each test opens its own private in-memory database;
 *   a path or sqlite:///  each test uses a fresh file "<url>.<pid>.<n>" and deletes it afterwards;
 *   postgres://…          a shared database: tests never wipe it; every user, model name, token id and
 *                         key carries a per-test nonce, and database-wide counts are checked as lower
 *                         bounds there.
 * Only the SQLite-specific tests (Django schema adoption, fresh-schema shape) touch SQLite directly.
 */
#include <criterion/criterion.h>
#include <resumate/resumate.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------------- */
/* Backend selection and per-test state                                                             */
/* ---------------------------------------------------------------------------------------------- */

static rm_storage *S;
static const rm_storage_vtable *V;
static void *SELF;
static char URL[1024];   /* the URL this test opens */
static char FILE_PATH[1024]; /* its file, for file backends */
static char NONCE[48];
static int open_count;

/* 2023-11-14 22:13:20.123456 UTC: a fixed base so times are exact. */
#define BASE INT64_C(1700000000123456)
#define SEC INT64_C(1000000)

static const char *env_url(void)
{
    const char *u = getenv("RM_TEST_STORAGE_URL");
    return u && *u ? u : ":memory:";
}

static bool is_postgres(void)
{
    const char *u = env_url();
    return strncmp(u, "postgres://", 11) == 0 || strncmp(u, "postgresql://", 13) == 0;
}

static bool is_memory(void)
{
    const char *u = env_url();
    return strcmp(u, ":memory:") == 0 || strcmp(u, "sqlite://:memory:") == 0 || strcmp(u, "sqlite:///:memory:") == 0;
}

static bool is_sqlite(void) { return !is_postgres(); }

/* Does this test have the database to itself (so database-wide counts are exact)? */
static bool private_db(void) { return !is_postgres(); }

static void remove_db_files(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char buf[1100];
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
        snprintf(buf, sizeof(buf), "%s%s", path, suffixes[i]);
        unlink(buf);
    }
}

static void open_backend(void)
{
    int rc = rm_storage_open(&S, URL);
    cr_assert_eq(rc, RM_OK, "rm_storage_open(%s) -> %d (%s)", URL, rc, rm_error_message(rm_error_last()));
    V = rm_storage_vtable_of(S);
    SELF = rm_storage_self(S);
    cr_assert_not_null(V);
    cr_assert_geq(V->version, 1u);
    open_count++;
}

static void close_backend(void)
{
    rm_storage_free(S);
    S = NULL;
    V = NULL;
    SELF = NULL;
}

static void setup(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(NONCE, sizeof(NONCE), "%ldx%09ld", (long)getpid(), (long)ts.tv_nsec);
    const char *u = env_url();
    FILE_PATH[0] = '\0';
    if (is_memory() || is_postgres()) {
        snprintf(URL, sizeof(URL), "%s", u);
    } else {
        snprintf(URL, sizeof(URL), "%s.%s.db", u, NONCE);
        snprintf(FILE_PATH, sizeof(FILE_PATH), "%s", strncmp(URL, "sqlite:///", 10) == 0 ? URL + 10 : URL);
        remove_db_files(FILE_PATH);
    }
    open_backend();
}

/* Extra SQLite files a test made (removed by teardown even when an assertion ends the test early). */
static char *temp_paths[4];
static int temp_count;

static void teardown(void)
{
    close_backend();
    if (FILE_PATH[0])
        remove_db_files(FILE_PATH);
    for (int i = 0; i < temp_count; i++) {
        remove_db_files(temp_paths[i]);
        free(temp_paths[i]);
    }
    temp_count = 0;
}

TestSuite(storage, .init = setup, .fini = teardown, .timeout = 240);

/* ---------------------------------------------------------------------------------------------- */
/* Helpers                                                                                          */
/* ---------------------------------------------------------------------------------------------- */

#define OK(expr)                                                                                              \
    do {                                                                                                      \
        int rc_ = (expr);                                                                                     \
        cr_assert_eq(rc_, RM_OK, "%s -> %d (%s)", #expr, rc_, rm_error_message(rm_error_last()));              \
    } while (0)

#define EXPECT(expr, code)                                                                                    \
    do {                                                                                                      \
        int rc_ = (expr);                                                                                     \
        cr_assert_eq(rc_, (code), "%s -> %d, expected %s (%s)", #expr, rc_, #code,                            \
                     rm_error_message(rm_error_last()));                                                      \
    } while (0)

static bool str_same(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }
#define assert_str_same(a, b) cr_assert(str_same((a), (b)), "%s: \"%.80s\" != \"%.80s\"", #a, (a) ? (a) : "(null)", (b) ? (b) : "(null)")

static char *sdup(const char *s) { return s ? strdup(s) : NULL; }

/* A name unique to this test: "<base>-<nonce>". */
static char *uniq(const char *base)
{
    size_t n = strlen(base) + strlen(NONCE) + 2;
    char *s = malloc(n);
    snprintf(s, n, "%s-%s", base, NONCE);
    return s;
}

/* ---- users ---- */

typedef struct {
    int64_t id;
    char *username, *email, *password, *first_name, *last_name;
    int is_active, is_staff, is_superuser;
    int64_t date_joined, last_login, tokens_valid_after;
} user_c;

typedef struct {
    user_c v[4];
    int n;
    int stop_value;
} users;

static int user_sink(void *d, const rm_user_record *r)
{
    users *u = d;
    if (u->n < 4) {
        user_c *c = &u->v[u->n];
        c->id = r->id;
        c->username = sdup(r->username);
        c->email = sdup(r->email);
        c->password = sdup(r->password);
        c->first_name = sdup(r->first_name);
        c->last_name = sdup(r->last_name);
        c->is_active = r->is_active;
        c->is_staff = r->is_staff;
        c->is_superuser = r->is_superuser;
        c->date_joined = r->date_joined;
        c->last_login = r->last_login;
        c->tokens_valid_after = r->tokens_valid_after;
    }
    u->n++;
    return u->stop_value;
}

static void users_free(users *u)
{
    for (int i = 0; i < u->n && i < 4; i++) {
        free(u->v[i].username);
        free(u->v[i].email);
        free(u->v[i].password);
        free(u->v[i].first_name);
        free(u->v[i].last_name);
    }
    memset(u, 0, sizeof(*u));
}

static rm_user_record user_tpl(const char *username)
{
    rm_user_record u = {0};
    u.username = username;
    u.email = "someone@example.com";
    u.password = "pbkdf2_sha256$720000$c2FsdA$aGFzaA==";
    u.first_name = "";
    u.last_name = "";
    u.is_active = 1;
    u.date_joined = BASE;
    u.last_login = RM_NO_TIME;
    u.tokens_valid_after = RM_NO_TIME;
    return u;
}

static int64_t mk_user(const char *base)
{
    char *name = uniq(base);
    rm_user_record u = user_tpl(name);
    int64_t id = 0;
    OK(V->user_insert(SELF, &u, &id));
    cr_assert_gt(id, 0);
    free(name);
    return id;
}

static void assert_user(const user_c *g, const rm_user_record *w, int64_t id)
{
    cr_assert_eq(g->id, id);
    assert_str_same(g->username, w->username);
    assert_str_same(g->email, w->email);
    assert_str_same(g->password, w->password);
    assert_str_same(g->first_name, w->first_name);
    assert_str_same(g->last_name, w->last_name);
    cr_assert_eq(g->is_active, w->is_active);
    cr_assert_eq(g->is_staff, w->is_staff);
    cr_assert_eq(g->is_superuser, w->is_superuser);
    cr_assert_eq(g->date_joined, w->date_joined);
    cr_assert_eq(g->last_login, w->last_login);
    cr_assert_eq(g->tokens_valid_after, w->tokens_valid_after);
}

/* ---- resumes ---- */

typedef struct {
    int64_t id, user_id;
    char *title, *content;
    int64_t created_at, updated_at;
} resume_c;

typedef struct {
    resume_c *v;
    int n, cap;
    int stop_after;  /* stop with stop_value once this many arrived (0: never) */
    int stop_value;
} resumes;

static int resume_sink(void *d, const rm_resume_record *r)
{
    resumes *l = d;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->v = realloc(l->v, (size_t)l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = (resume_c){r->id, r->user_id, sdup(r->title), sdup(r->content), r->created_at, r->updated_at};
    return l->stop_after && l->n >= l->stop_after ? l->stop_value : 0;
}

static void resumes_free(resumes *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->v[i].title);
        free(l->v[i].content);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int64_t mk_resume(int64_t uid, const char *title, const char *content, int64_t created, int64_t updated)
{
    rm_resume_record r = {.user_id = uid, .title = title, .content = content, .created_at = created, .updated_at = updated};
    int64_t id = 0;
    OK(V->resume_insert(SELF, &r, &id));
    cr_assert_gt(id, 0);
    return id;
}

/* The resume, or RM_ENOTFOUND / an error. */
static int get_resume(int64_t uid, int64_t id, resume_c *out)
{
    resumes l = {0};
    int rc = V->resume_get(SELF, uid, id, resume_sink, &l);
    if (rc == RM_OK) {
        cr_assert_eq(l.n, 1, "resume_get called the sink %d times", l.n);
        *out = l.v[0];
        free(l.v);
    } else {
        cr_assert_eq(l.n, 0, "resume_get failed but called the sink");
        resumes_free(&l);
    }
    return rc;
}

static void resume_c_free(resume_c *r)
{
    free(r->title);
    free(r->content);
}

static void list_resumes(int64_t uid, const rm_storage_query *q, resumes *out)
{
    memset(out, 0, sizeof(*out));
    OK(V->resume_list(SELF, uid, q, resume_sink, out));
}

/* ---- applications ---- */

typedef struct {
    int64_t id, user_id;
    char *job_title, *company_name, *original_job_description, *date_applied, *status, *notes;
    int is_deleted, is_example;
    int64_t resume_used, created_at, updated_at;
} app_c;

typedef struct {
    app_c *v;
    int n, cap;
    int stop_after;
    int stop_value;
} apps;

static int app_sink(void *d, const rm_application_record *r)
{
    apps *l = d;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->v = realloc(l->v, (size_t)l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = (app_c){r->id,
                           r->user_id,
                           sdup(r->job_title),
                           sdup(r->company_name),
                           sdup(r->original_job_description),
                           sdup(r->date_applied),
                           sdup(r->status),
                           sdup(r->notes),
                           r->is_deleted,
                           r->is_example,
                           r->resume_used,
                           r->created_at,
                           r->updated_at};
    return l->stop_after && l->n >= l->stop_after ? l->stop_value : 0;
}

static void app_c_free(app_c *a)
{
    free(a->job_title);
    free(a->company_name);
    free(a->original_job_description);
    free(a->date_applied);
    free(a->status);
    free(a->notes);
}

static void apps_free(apps *l)
{
    for (int i = 0; i < l->n; i++)
        app_c_free(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static rm_application_record app_tpl(int64_t uid, const char *status, int64_t created)
{
    rm_application_record a = {0};
    a.user_id = uid;
    a.job_title = "Engineer";
    a.company_name = "ACME";
    a.original_job_description = "Build things.";
    a.date_applied = "2024-03-01";
    a.status = status;
    a.notes = "n";
    a.created_at = created;
    a.updated_at = created;
    return a;
}

static int64_t mk_app_rec(const rm_application_record *a)
{
    int64_t id = 0;
    OK(V->application_insert(SELF, a, &id));
    cr_assert_gt(id, 0);
    return id;
}

static int64_t mk_app(int64_t uid, const char *status, int64_t created)
{
    rm_application_record a = app_tpl(uid, status, created);
    return mk_app_rec(&a);
}

static int get_app(int64_t uid, int64_t id, app_c *out)
{
    apps l = {0};
    int rc = V->application_get(SELF, uid, id, app_sink, &l);
    if (rc == RM_OK) {
        cr_assert_eq(l.n, 1, "application_get called the sink %d times", l.n);
        *out = l.v[0];
        free(l.v);
    } else {
        cr_assert_eq(l.n, 0, "application_get failed but called the sink");
        apps_free(&l);
    }
    return rc;
}

static void list_apps(int64_t uid, const rm_storage_query *q, apps *out)
{
    memset(out, 0, sizeof(*out));
    OK(V->application_list(SELF, uid, q, app_sink, out));
}

static void assert_app(const app_c *g, const rm_application_record *w, int64_t id)
{
    cr_assert_eq(g->id, id);
    cr_assert_eq(g->user_id, w->user_id);
    assert_str_same(g->job_title, w->job_title);
    assert_str_same(g->company_name, w->company_name);
    assert_str_same(g->original_job_description, w->original_job_description);
    assert_str_same(g->date_applied, w->date_applied);
    assert_str_same(g->status, w->status);
    assert_str_same(g->notes, w->notes);
    cr_assert_eq(g->is_deleted, w->is_deleted);
    cr_assert_eq(g->is_example, w->is_example);
    cr_assert_eq(g->resume_used, w->resume_used);
    cr_assert_eq(g->created_at, w->created_at);
    cr_assert_eq(g->updated_at, w->updated_at);
}

/* ---- AI models ---- */

typedef struct {
    int64_t id;
    char *display_name, *model_name, *api_provider, *api_key_name, *response_time_info, *description, *base_url;
    int is_active, login_required;
    int32_t daily_limit;
    int64_t created_at, updated_at;
} model_c;

typedef struct {
    model_c *v;
    int n, cap;
    const char *only_containing; /* keep only names containing this (a shared database holds others) */
    int stop_after;
    int stop_value;
    int calls;
} models;

static int model_sink(void *d, const rm_ai_model_record *r)
{
    models *l = d;
    l->calls++;
    if (l->only_containing && !strstr(r->display_name, l->only_containing))
        return 0;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->v = realloc(l->v, (size_t)l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = (model_c){r->id,
                             sdup(r->display_name),
                             sdup(r->model_name),
                             sdup(r->api_provider),
                             sdup(r->api_key_name),
                             sdup(r->response_time_info),
                             sdup(r->description),
                             sdup(r->base_url),
                             r->is_active,
                             r->login_required,
                             r->daily_limit,
                             r->created_at,
                             r->updated_at};
    return l->stop_after && l->n >= l->stop_after ? l->stop_value : 0;
}

static void model_c_free(model_c *m)
{
    free(m->display_name);
    free(m->model_name);
    free(m->api_provider);
    free(m->api_key_name);
    free(m->response_time_info);
    free(m->description);
    free(m->base_url);
}

static void models_free(models *l)
{
    for (int i = 0; i < l->n; i++)
        model_c_free(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static rm_ai_model_record model_tpl(const char *display_name)
{
    rm_ai_model_record m = {0};
    m.display_name = display_name;
    m.model_name = "gemini-1.5-flash";
    m.api_provider = "google_gemini";
    m.api_key_name = "GEMINI_API_KEY";
    m.is_active = 1;
    m.login_required = 0;
    m.daily_limit = 0;
    m.response_time_info = "fast";
    m.description = "A model.";
    m.created_at = BASE;
    m.updated_at = BASE;
    m.base_url = NULL;
    return m;
}

static int64_t mk_model(const rm_ai_model_record *m)
{
    int64_t id = 0;
    OK(V->ai_model_insert(SELF, m, &id));
    cr_assert_gt(id, 0);
    return id;
}

static int get_model(int64_t id, const char *name, model_c *out)
{
    models l = {0};
    int rc = V->ai_model_get(SELF, id, name, model_sink, &l);
    if (rc == RM_OK) {
        cr_assert_eq(l.n, 1, "ai_model_get called the sink %d times", l.n);
        *out = l.v[0];
        free(l.v);
    } else {
        cr_assert_eq(l.n, 0, "ai_model_get failed but called the sink");
        models_free(&l);
    }
    return rc;
}

static void assert_model(const model_c *g, const rm_ai_model_record *w, int64_t id)
{
    cr_assert_eq(g->id, id);
    assert_str_same(g->display_name, w->display_name);
    assert_str_same(g->model_name, w->model_name);
    assert_str_same(g->api_provider, w->api_provider);
    assert_str_same(g->api_key_name, w->api_key_name);
    assert_str_same(g->response_time_info, w->response_time_info);
    assert_str_same(g->description, w->description);
    assert_str_same(g->base_url, w->base_url);
    cr_assert_eq(g->is_active, w->is_active);
    cr_assert_eq(g->login_required, w->login_required);
    cr_assert_eq(g->daily_limit, w->daily_limit);
    cr_assert_eq(g->created_at, w->created_at);
    cr_assert_eq(g->updated_at, w->updated_at);
}

/* ---------------------------------------------------------------------------------------------- */
/* Basics                                                                                           */
/* ---------------------------------------------------------------------------------------------- */

Test(storage, vtable_is_complete_and_pings)
{
    cr_assert_eq(V->version, RM_STORAGE_VTABLE_VERSION);
    cr_assert(V->close && V->ping && V->user_insert && V->user_get && V->user_update && V->resume_insert &&
              V->resume_get && V->resume_list && V->resume_update && V->resume_delete && V->application_insert &&
              V->application_get && V->application_list && V->application_update && V->application_delete &&
              V->ai_model_insert && V->ai_model_get && V->ai_model_list && V->ai_model_update && V->token_deny &&
              V->token_is_denied && V->token_prune && V->usage_try_increment && V->usage_release && V->usage_get &&
              V->idempotency_put && V->idempotency_get && V->idempotency_prune && V->resume_count &&
              V->application_count);
    OK(V->ping(SELF));
}

/* ---------------------------------------------------------------------------------------------- */
/* Users                                                                                            */
/* ---------------------------------------------------------------------------------------------- */

Test(storage, user_insert_and_get_by_id_and_username)
{
    char *name = uniq("alice");
    rm_user_record u = user_tpl(name);
    u.email = "alice@example.com";
    u.first_name = "Alice";
    u.last_name = "Liddell";
    u.is_staff = 1;
    u.is_superuser = 1;
    u.date_joined = BASE + 1;
    u.last_login = BASE + 2 * SEC + 999999;
    u.tokens_valid_after = BASE + 3 * SEC;
    int64_t id = 0;
    OK(V->user_insert(SELF, &u, &id));
    cr_assert_gt(id, 0);

    users g = {0};
    OK(V->user_get(SELF, id, NULL, user_sink, &g));
    cr_assert_eq(g.n, 1);
    assert_user(&g.v[0], &u, id);
    users_free(&g);

    OK(V->user_get(SELF, 0, name, user_sink, &g));
    cr_assert_eq(g.n, 1);
    assert_user(&g.v[0], &u, id);
    users_free(&g);

    /* NULL times and empty strings survive as such; ids differ. */
    char *name2 = uniq("bob");
    rm_user_record b = user_tpl(name2);
    b.email = "";
    b.password = "!unusable";
    b.is_active = 0;
    b.date_joined = 0; /* the epoch itself is a time, not NULL */
    int64_t id2 = 0;
    OK(V->user_insert(SELF, &b, &id2));
    cr_assert_neq(id2, id);
    OK(V->user_get(SELF, 0, name2, user_sink, &g));
    cr_assert_eq(g.n, 1);
    assert_user(&g.v[0], &b, id2);
    users_free(&g);
    free(name);
    free(name2);
}

Test(storage, user_get_not_found)
{
    users g = {0};
    EXPECT(V->user_get(SELF, INT64_C(9000000000000), NULL, user_sink, &g), RM_ENOTFOUND);
    char *name = uniq("nobody");
    EXPECT(V->user_get(SELF, 0, name, user_sink, &g), RM_ENOTFOUND);
    cr_assert_eq(g.n, 0);
    free(name);
}

Test(storage, username_is_unique_and_case_sensitive)
{
    char *name = uniq("carol");
    rm_user_record u = user_tpl(name);
    int64_t id = 0, id2 = 0;
    OK(V->user_insert(SELF, &u, &id));
    u.email = "other@example.com";
    EXPECT(V->user_insert(SELF, &u, &id2), RM_ECONFLICT);

    /* Same letters, other case: a different user (Django's username is case-sensitive). */
    char *upper = uniq("CAROL");
    rm_user_record c = user_tpl(upper);
    OK(V->user_insert(SELF, &c, &id2));
    cr_assert_neq(id2, id);

    users g = {0};
    OK(V->user_get(SELF, 0, name, user_sink, &g));
    cr_assert_eq(g.v[0].id, id);
    assert_str_same(g.v[0].email, "someone@example.com");
    users_free(&g);
    OK(V->user_get(SELF, 0, upper, user_sink, &g));
    cr_assert_eq(g.v[0].id, id2);
    users_free(&g);
    free(name);
    free(upper);
}

Test(storage, user_update_overwrites_and_reports_missing_and_conflicts)
{
    char *name = uniq("dave"), *renamed = uniq("david"), *other = uniq("erin");
    rm_user_record u = user_tpl(name);
    int64_t id = 0, oid = 0;
    OK(V->user_insert(SELF, &u, &id));
    rm_user_record o = user_tpl(other);
    OK(V->user_insert(SELF, &o, &oid));

    u.id = id;
    u.username = renamed;
    u.email = "d@example.org";
    u.password = "pbkdf2_sha256$1000$x$y";
    u.first_name = "Dave";
    u.last_name = "Jones";
    u.is_active = 0;
    u.is_staff = 1;
    u.is_superuser = 1;
    u.last_login = BASE + 5 * SEC;
    u.tokens_valid_after = BASE + 6 * SEC;
    OK(V->user_update(SELF, &u));
    users g = {0};
    OK(V->user_get(SELF, id, NULL, user_sink, &g));
    assert_user(&g.v[0], &u, id);
    users_free(&g);
    EXPECT(V->user_get(SELF, 0, name, user_sink, &g), RM_ENOTFOUND);

    /* Back to NULL times. */
    u.last_login = RM_NO_TIME;
    u.tokens_valid_after = RM_NO_TIME;
    OK(V->user_update(SELF, &u));
    OK(V->user_get(SELF, 0, renamed, user_sink, &g));
    assert_user(&g.v[0], &u, id);
    users_free(&g);

    /* Renaming onto another user's name conflicts and changes nothing. */
    rm_user_record clash = u;
    clash.username = other;
    clash.email = "changed@example.com";
    EXPECT(V->user_update(SELF, &clash), RM_ECONFLICT);
    OK(V->user_get(SELF, id, NULL, user_sink, &g));
    assert_user(&g.v[0], &u, id);
    users_free(&g);

    rm_user_record missing = u;
    missing.id = INT64_C(9000000000000);
    missing.username = "x";
    EXPECT(V->user_update(SELF, &missing), RM_ENOTFOUND);
    free(name);
    free(renamed);
    free(other);
}

/* ---------------------------------------------------------------------------------------------- */
/* Resumes                                                                                          */
/* ---------------------------------------------------------------------------------------------- */

Test(storage, resume_insert_get_and_owner_scope)
{
    int64_t a = mk_user("ra"), b = mk_user("rb");
    int64_t id = mk_resume(a, "My CV", "# Markdown\n\n- item", BASE, BASE + 7);
    resume_c r;
    OK(get_resume(a, id, &r));
    cr_assert_eq(r.id, id);
    cr_assert_eq(r.user_id, a);
    assert_str_same(r.title, "My CV");
    assert_str_same(r.content, "# Markdown\n\n- item");
    cr_assert_eq(r.created_at, BASE);
    cr_assert_eq(r.updated_at, BASE + 7);
    resume_c_free(&r);

    EXPECT(get_resume(b, id, &r), RM_ENOTFOUND);           /* someone else's */
    EXPECT(get_resume(a, id + 100000, &r), RM_ENOTFOUND);  /* absent */
    EXPECT(get_resume(0, id, &r), RM_ENOTFOUND);           /* nobody's */
}

Test(storage, resume_update_is_owner_scoped)
{
    int64_t a = mk_user("ua"), b = mk_user("ub");
    int64_t id = mk_resume(a, "Old", "old content", BASE, BASE);
    rm_resume_record up = {.id = id, .user_id = a, .title = "New", .content = "new content",
                           .created_at = BASE + 999 * SEC, .updated_at = BASE + 10 * SEC};
    OK(V->resume_update(SELF, &up));
    resume_c r;
    OK(get_resume(a, id, &r));
    assert_str_same(r.title, "New");
    assert_str_same(r.content, "new content");
    cr_assert_eq(r.created_at, BASE, "created_at must not change");
    cr_assert_eq(r.updated_at, BASE + 10 * SEC);
    resume_c_free(&r);

    rm_resume_record theirs = up;
    theirs.user_id = b;
    theirs.title = "Hijacked";
    EXPECT(V->resume_update(SELF, &theirs), RM_ENOTFOUND);
    OK(get_resume(a, id, &r));
    assert_str_same(r.title, "New");
    resume_c_free(&r);

    rm_resume_record missing = up;
    missing.id = id + 100000;
    EXPECT(V->resume_update(SELF, &missing), RM_ENOTFOUND);
}

/* Expected order of resume ids: updated_at DESC, id DESC. */
static void assert_resume_ids(const resumes *l, const int64_t *want, int n)
{
    cr_assert_eq(l->n, n, "got %d rows, want %d", l->n, n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(l->v[i].id, want[i], "row %d: id %lld, want %lld", i, (long long)l->v[i].id, (long long)want[i]);
}

Test(storage, resume_list_orders_pages_and_scopes)
{
    int64_t a = mk_user("la"), b = mk_user("lb");
    resumes l;
    list_resumes(a, NULL, &l);
    cr_assert_eq(l.n, 0);
    resumes_free(&l);

    /* updated_at: r1 +3, r2 +1, r3 +3 (tie with r1), r4 +2, r5 +3 (tie), r6 +0. */
    int64_t r1 = mk_resume(a, "r1", "c", BASE, BASE + 3 * SEC);
    int64_t r2 = mk_resume(a, "r2", "c", BASE, BASE + 1 * SEC);
    int64_t r3 = mk_resume(a, "r3", "c", BASE, BASE + 3 * SEC);
    int64_t r4 = mk_resume(a, "r4", "c", BASE, BASE + 2 * SEC);
    int64_t r5 = mk_resume(a, "r5", "c", BASE, BASE + 3 * SEC);
    int64_t r6 = mk_resume(a, "r6", "c", BASE + 9 * SEC, BASE); /* created late, updated early */
    mk_resume(b, "theirs", "c", BASE, BASE + 100 * SEC);
    const int64_t order[] = {r5, r3, r1, r4, r2, r6};

    list_resumes(a, NULL, &l);
    assert_resume_ids(&l, order, 6);
    for (int i = 0; i < l.n; i++)
        cr_assert_eq(l.v[i].user_id, a);
    resumes_free(&l);

    rm_storage_query q = {.limit = 0, .offset = 0};
    list_resumes(a, &q, &l); /* limit 0 = all */
    assert_resume_ids(&l, order, 6);
    resumes_free(&l);

    q = (rm_storage_query){.limit = 2, .offset = 1};
    list_resumes(a, &q, &l);
    assert_resume_ids(&l, order + 1, 2);
    resumes_free(&l);

    q = (rm_storage_query){.limit = -1, .offset = 4};
    list_resumes(a, &q, &l);
    assert_resume_ids(&l, order + 4, 2);
    resumes_free(&l);

    q = (rm_storage_query){.limit = 10, .offset = 6};
    list_resumes(a, &q, &l);
    cr_assert_eq(l.n, 0);
    resumes_free(&l);

    /* Keyset paging, 2 at a time, walks the same order exactly once. */
    int seen = 0;
    q = (rm_storage_query){.limit = 2};
    for (;;) {
        list_resumes(a, &q, &l);
        if (l.n == 0) {
            resumes_free(&l);
            break;
        }
        cr_assert_leq(l.n, 2);
        for (int i = 0; i < l.n; i++, seen++) {
            cr_assert_lt(seen, 6);
            cr_assert_eq(l.v[i].id, order[seen]);
        }
        q.has_after = 1;
        q.after_time = l.v[l.n - 1].updated_at;
        q.after_id = l.v[l.n - 1].id;
        q.offset = 1000; /* ignored with has_after */
        resumes_free(&l);
    }
    cr_assert_eq(seen, 6);

    /* Keyset from inside the tie: after r3 come r1 (same time, lower id), then r4. */
    q = (rm_storage_query){.has_after = 1, .after_time = BASE + 3 * SEC, .after_id = r3};
    list_resumes(a, &q, &l);
    assert_resume_ids(&l, order + 2, 4);
    resumes_free(&l);

    list_resumes(b, NULL, &l);
    cr_assert_eq(l.n, 1);
    resumes_free(&l);
}

Test(storage, resume_delete_nulls_resume_used_and_is_owner_scoped)
{
    int64_t a = mk_user("da"), b = mk_user("db");
    int64_t r1 = mk_resume(a, "one", "c", BASE, BASE), r2 = mk_resume(a, "two", "c", BASE, BASE);
    rm_application_record x = app_tpl(a, "Applied", BASE);
    x.resume_used = r1;
    int64_t ax = mk_app_rec(&x);
    int64_t ay = mk_app_rec(&x);
    rm_application_record z = app_tpl(a, "Offer", BASE);
    z.resume_used = r2;
    int64_t az = mk_app_rec(&z);

    EXPECT(V->resume_delete(SELF, b, r1), RM_ENOTFOUND);
    resume_c r;
    OK(get_resume(a, r1, &r));
    resume_c_free(&r);
    app_c g;
    OK(get_app(a, ax, &g));
    cr_assert_eq(g.resume_used, r1);
    app_c_free(&g);

    OK(V->resume_delete(SELF, a, r1));
    EXPECT(get_resume(a, r1, &r), RM_ENOTFOUND);
    OK(get_app(a, ax, &g));
    cr_assert_eq(g.resume_used, 0);
    assert_str_same(g.status, "Applied");
    app_c_free(&g);
    OK(get_app(a, ay, &g));
    cr_assert_eq(g.resume_used, 0);
    app_c_free(&g);
    OK(get_app(a, az, &g));
    cr_assert_eq(g.resume_used, r2, "an application of another resume must keep it");
    app_c_free(&g);

    EXPECT(V->resume_delete(SELF, a, r1), RM_ENOTFOUND);
    EXPECT(V->resume_delete(SELF, a, r2 + 100000), RM_ENOTFOUND);
    OK(get_resume(a, r2, &r));
    resume_c_free(&r);
}

/* While one thread deletes resumes, readers check the invariant: once a resume is gone, no
 * application still points at it. (Read the resume first: a commit in between only helps.) */
#define ATOMIC_N 40
static int64_t atomic_user, atomic_resumes[ATOMIC_N], atomic_apps[ATOMIC_N];
static volatile int atomic_done;
static int atomic_violations, atomic_errors, atomic_checks;

static int count_sink_resume(void *d, const rm_resume_record *r)
{
    (void)r;
    (*(int *)d)++;
    return 0;
}

static int resume_used_sink(void *d, const rm_application_record *r)
{
    *(int64_t *)d = r->resume_used;
    return 0;
}

static void *atomic_deleter(void *arg)
{
    (void)arg;
    for (int i = 0; i < ATOMIC_N; i++)
        if (V->resume_delete(SELF, atomic_user, atomic_resumes[i]) != RM_OK)
            __atomic_add_fetch(&atomic_errors, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&atomic_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void *atomic_checker(void *arg)
{
    (void)arg;
    /* Passes until one that started after the deleter finished: that last pass finds every resume
     * gone, so each checker counts at least ATOMIC_N checks however the threads were scheduled. */
    for (;;) {
        int done = __atomic_load_n(&atomic_done, __ATOMIC_SEQ_CST);
        for (int i = 0; i < ATOMIC_N; i++) {
            int n = 0;
            int rc = V->resume_get(SELF, atomic_user, atomic_resumes[i], count_sink_resume, &n);
            if (rc == RM_ENOTFOUND) {
                int64_t used = -1;
                if (V->application_get(SELF, atomic_user, atomic_apps[i], resume_used_sink, &used) != RM_OK)
                    __atomic_add_fetch(&atomic_errors, 1, __ATOMIC_SEQ_CST);
                else if (used != 0)
                    __atomic_add_fetch(&atomic_violations, 1, __ATOMIC_SEQ_CST);
                __atomic_add_fetch(&atomic_checks, 1, __ATOMIC_SEQ_CST);
            } else if (rc != RM_OK) {
                __atomic_add_fetch(&atomic_errors, 1, __ATOMIC_SEQ_CST);
            }
        }
        if (done)
            break;
    }
    return NULL;
}

Test(storage, resume_delete_is_atomic_under_concurrency)
{
    atomic_user = mk_user("atomic");
    for (int i = 0; i < ATOMIC_N; i++) {
        atomic_resumes[i] = mk_resume(atomic_user, "r", "c", BASE, BASE);
        rm_application_record a = app_tpl(atomic_user, "Applied", BASE);
        a.resume_used = atomic_resumes[i];
        atomic_apps[i] = mk_app_rec(&a);
    }
    pthread_t del, chk[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&chk[i], NULL, atomic_checker, NULL), 0);
    cr_assert_eq(pthread_create(&del, NULL, atomic_deleter, NULL), 0);
    pthread_join(del, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(chk[i], NULL);
    cr_assert_eq(atomic_errors, 0);
    cr_assert_eq(atomic_violations, 0, "%d applications still pointed at a deleted resume", atomic_violations);
    cr_assert_geq(atomic_checks, ATOMIC_N);
}

/* ---------------------------------------------------------------------------------------------- */
/* Job applications                                                                                 */
/* ---------------------------------------------------------------------------------------------- */

Test(storage, application_insert_get_nulls_and_owner_scope)
{
    int64_t a = mk_user("aa"), b = mk_user("ab");
    int64_t res = mk_resume(a, "cv", "c", BASE, BASE);
    rm_application_record full = {
        .user_id = a,
        .job_title = "Backend Engineer",
        .company_name = "Initech",
        .original_job_description = "Write C.\nLots of it.",
        .date_applied = "2024-02-29",
        .status = "Interviewing",
        .notes = "Call back Tuesday",
        .is_deleted = 0,
        .is_example = 0,
        .resume_used = res,
        .created_at = BASE + 1,
        .updated_at = BASE + 2,
    };
    int64_t id = mk_app_rec(&full);
    app_c g;
    OK(get_app(a, id, &g));
    assert_app(&g, &full, id);
    app_c_free(&g);

    rm_application_record bare = {.user_id = a, .status = "Applied", .created_at = BASE, .updated_at = BASE};
    int64_t id2 = mk_app_rec(&bare);
    OK(get_app(a, id2, &g));
    assert_app(&g, &bare, id2); /* NULL strings, NULL date, resume_used 0 */
    app_c_free(&g);

    EXPECT(get_app(b, id, &g), RM_ENOTFOUND);
    EXPECT(get_app(0, id, &g), RM_ENOTFOUND); /* not an example */
    EXPECT(get_app(a, id2 + 100000, &g), RM_ENOTFOUND);

    /* A row stored as deleted is invisible to get and list. */
    rm_application_record gone = app_tpl(a, "Applied", BASE + 50 * SEC);
    gone.is_deleted = 1;
    int64_t id3 = mk_app_rec(&gone);
    EXPECT(get_app(a, id3, &g), RM_ENOTFOUND);
    apps l;
    list_apps(a, NULL, &l);
    cr_assert_eq(l.n, 2);
    for (int i = 0; i < l.n; i++)
        cr_assert_neq(l.v[i].id, id3);
    apps_free(&l);
}

static void assert_app_ids(const apps *l, const int64_t *want, int n)
{
    cr_assert_eq(l->n, n, "got %d rows, want %d", l->n, n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(l->v[i].id, want[i], "row %d: id %lld, want %lld", i, (long long)l->v[i].id, (long long)want[i]);
}

Test(storage, application_list_orders_filters_and_pages)
{
    int64_t a = mk_user("pa"), b = mk_user("pb");
    /* created_at: a1 +2 Applied, a2 +5 Interviewing, a3 +2 Interviewing, a4 +9 Offer (deleted later),
     * a5 +5 Applied, a6 +1 Interviewing, a7 +5 Rejected. */
    int64_t a1 = mk_app(a, "Applied", BASE + 2 * SEC);
    int64_t a2 = mk_app(a, "Interviewing", BASE + 5 * SEC);
    int64_t a3 = mk_app(a, "Interviewing", BASE + 2 * SEC);
    int64_t a4 = mk_app(a, "Offer", BASE + 9 * SEC);
    int64_t a5 = mk_app(a, "Applied", BASE + 5 * SEC);
    int64_t a6 = mk_app(a, "Interviewing", BASE + 1 * SEC);
    int64_t a7 = mk_app(a, "Rejected", BASE + 5 * SEC);
    mk_app(b, "Interviewing", BASE + 7 * SEC);
    OK(V->application_delete(SELF, a, a4, BASE + 20 * SEC));

    const int64_t order[] = {a7, a5, a2, a3, a1, a6};
    apps l;
    list_apps(a, NULL, &l);
    assert_app_ids(&l, order, 6);
    apps_free(&l);

    rm_storage_query q = {.limit = 3, .offset = 2};
    list_apps(a, &q, &l);
    assert_app_ids(&l, order + 2, 3);
    apps_free(&l);

    const int64_t interviewing[] = {a2, a3, a6};
    q = (rm_storage_query){.status = "Interviewing"};
    list_apps(a, &q, &l);
    assert_app_ids(&l, interviewing, 3);
    apps_free(&l);

    q = (rm_storage_query){.status = "Interviewing", .limit = 1, .offset = 1};
    list_apps(a, &q, &l);
    assert_app_ids(&l, interviewing + 1, 1);
    apps_free(&l);

    q = (rm_storage_query){.status = "Offer"}; /* the only Offer is deleted */
    list_apps(a, &q, &l);
    cr_assert_eq(l.n, 0);
    apps_free(&l);

    q = (rm_storage_query){.status = "interviewing"}; /* exact case */
    list_apps(a, &q, &l);
    cr_assert_eq(l.n, 0);
    apps_free(&l);

    /* Keyset paging, with and without the status filter. */
    for (int filtered = 0; filtered < 2; filtered++) {
        const int64_t *want = filtered ? interviewing : order;
        int total = filtered ? 3 : 6, seen = 0;
        q = (rm_storage_query){.limit = 2, .status = filtered ? "Interviewing" : NULL};
        for (;;) {
            list_apps(a, &q, &l);
            if (l.n == 0) {
                apps_free(&l);
                break;
            }
            for (int i = 0; i < l.n; i++, seen++) {
                cr_assert_lt(seen, total);
                cr_assert_eq(l.v[i].id, want[seen]);
            }
            q.has_after = 1;
            q.after_time = l.v[l.n - 1].created_at;
            q.after_id = l.v[l.n - 1].id;
            apps_free(&l);
        }
        cr_assert_eq(seen, total);
    }

    /* Keyset inside a tie: after a5 come a2 (same time, lower id), a3, a1, a6. */
    q = (rm_storage_query){.has_after = 1, .after_time = BASE + 5 * SEC, .after_id = a5};
    list_apps(a, &q, &l);
    assert_app_ids(&l, order + 2, 4);
    apps_free(&l);
}

Test(storage, application_examples_are_user_zero)
{
    int64_t ex = mk_user("examples"), other = mk_user("exother");
    rm_application_record e = app_tpl(ex, "Offer", BASE + 3 * SEC);
    e.is_example = 1;
    int64_t e1 = mk_app_rec(&e);
    e.created_at = BASE + 5 * SEC;
    int64_t e2 = mk_app_rec(&e);
    e.created_at = BASE + 3 * SEC;
    int64_t e3 = mk_app_rec(&e);
    e.created_at = BASE + 9 * SEC;
    int64_t e4 = mk_app_rec(&e); /* deleted below */
    OK(V->application_delete(SELF, ex, e4, BASE + 10 * SEC));
    int64_t plain = mk_app(ex, "Applied", BASE + 8 * SEC);
    int64_t theirs = mk_app(other, "Applied", BASE + 8 * SEC);

    app_c g;
    OK(get_app(0, e1, &g));
    cr_assert_eq(g.is_example, 1);
    cr_assert_eq(g.user_id, ex);
    app_c_free(&g);
    EXPECT(get_app(0, e4, &g), RM_ENOTFOUND);
    EXPECT(get_app(0, plain, &g), RM_ENOTFOUND);
    EXPECT(get_app(0, theirs, &g), RM_ENOTFOUND);

    /* The example list holds everyone's examples; keep ours (a shared database has others). */
    apps l;
    list_apps(0, NULL, &l);
    int64_t mine[8];
    int n = 0;
    for (int i = 0; i < l.n; i++) {
        cr_assert_eq(l.v[i].is_example, 1);
        cr_assert_eq(l.v[i].is_deleted, 0);
        if (l.v[i].user_id == ex && n < 8)
            mine[n++] = l.v[i].id;
    }
    if (private_db())
        cr_assert_eq(l.n, 3);
    apps_free(&l);
    cr_assert_eq(n, 3);
    cr_assert_eq(mine[0], e2);
    cr_assert_eq(mine[1], e3);
    cr_assert_eq(mine[2], e1);

    if (private_db()) {
        rm_storage_query q = {.limit = 2};
        list_apps(0, &q, &l);
        const int64_t first[] = {e2, e3};
        assert_app_ids(&l, first, 2);
        apps_free(&l);
    }

    /* The owner sees examples and plain rows in their own list. */
    list_apps(ex, NULL, &l);
    cr_assert_eq(l.n, 4);
    apps_free(&l);
}

/* ---------------------------------------------------------------------------------------------- */
/* Search, ordering and counts (vtable version 3)                                                   */
/* ---------------------------------------------------------------------------------------------- */

static int64_t app_count(int64_t uid, const rm_storage_query *q)
{
    int64_t n = -1;
    OK(V->application_count(SELF, uid, q, &n));
    return n;
}

static int64_t resume_count(int64_t uid, const rm_storage_query *q)
{
    int64_t n = -1;
    OK(V->resume_count(SELF, uid, q, &n));
    return n;
}

static int64_t mk_app_text(int64_t uid, const char *title, const char *company, const char *desc, int64_t created)
{
    rm_application_record a = app_tpl(uid, "Applied", created);
    a.job_title = title;
    a.company_name = company;
    a.original_job_description = desc;
    a.notes = "python in the notes is not searched";
    return mk_app_rec(&a);
}

/* Search an application list: the terms as the library passes them (ASCII-lowercased). */
static void search_apps(int64_t uid, const char *t1, const char *t2, const char *status, apps *out)
{
    const char *terms[2] = {t1, t2};
    rm_storage_query q = {.search = terms, .search_count = t2 ? 2 : 1, .status = status};
    list_apps(uid, &q, out);
    cr_assert_eq(app_count(uid, &q), out->n, "count disagrees with the list");
}

Test(storage, application_search_every_term_in_some_field_ascii_case_literal)
{
    int64_t a = mk_user("sa"), b = mk_user("sb");
    int64_t x1 = mk_app_text(a, "Senior Python Developer", "TechCorp", "Django and REST", BASE + 1 * SEC);
    int64_t x2 = mk_app_text(a, "Frontend Engineer", "Python Works", NULL, BASE + 2 * SEC);
    int64_t x3 = mk_app_text(a, NULL, NULL, "We love PYTHON and 100%_coverage", BASE + 3 * SEC);
    int64_t x4 = mk_app_text(a, "Data Engineer", "\xc3\x9cn\xc3\xaf" "code GmbH", "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln",
                             BASE + 4 * SEC);
    int64_t x5 = mk_app_text(a, "Python (deleted)", "Gone", NULL, BASE + 5 * SEC);
    OK(V->application_delete(SELF, a, x5, BASE + 6 * SEC));
    mk_app_text(b, "Python elsewhere", "Other", "python", BASE + 7 * SEC);

    apps l;
    search_apps(a, "python", NULL, NULL, &l);
    const int64_t py[] = {x3, x2, x1}; /* default order: newest first; deleted and other users' rows out */
    assert_app_ids(&l, py, 3);
    /* Rows found by a search carry every field exactly as the plain list gives them (times included). */
    apps all;
    list_apps(a, NULL, &all);
    for (int i = 0; i < l.n; i++) {
        const app_c *f = &l.v[i], *g = NULL;
        for (int j = 0; j < all.n; j++)
            if (all.v[j].id == f->id)
                g = &all.v[j];
        cr_assert(g, "row %lld is in the plain list", (long long)f->id);
        cr_assert_eq(f->created_at, g->created_at, "created_at %lld vs %lld", (long long)f->created_at,
                     (long long)g->created_at);
        cr_assert_eq(f->updated_at, g->updated_at);
        cr_assert_eq(f->created_at, f->id == x1 ? BASE + 1 * SEC : f->id == x2 ? BASE + 2 * SEC : BASE + 3 * SEC);
        cr_assert_eq(f->user_id, g->user_id);
        cr_assert_eq(f->resume_used, g->resume_used);
        cr_assert_eq(f->is_deleted, g->is_deleted);
        cr_assert_eq(f->is_example, g->is_example);
        cr_assert_str_eq(f->status, g->status);
        cr_assert_str_eq(f->date_applied ? f->date_applied : "-", g->date_applied ? g->date_applied : "-");
        cr_assert_str_eq(f->notes ? f->notes : "-", g->notes ? g->notes : "-");
    }
    apps_free(&all);
    apps_free(&l);

    search_apps(a, "python", "django", NULL, &l); /* every term must match */
    assert_app_ids(&l, (int64_t[]){x1}, 1);
    apps_free(&l);

    search_apps(a, "engineer", "works", NULL, &l); /* the terms may match different fields */
    assert_app_ids(&l, (int64_t[]){x2}, 1);
    apps_free(&l);

    search_apps(a, "ngineer", NULL, NULL, &l); /* substrings */
    assert_app_ids(&l, ((int64_t[]){x4, x2}), 2);
    apps_free(&l);

    search_apps(a, "%", NULL, NULL, &l); /* LIKE wildcards are literal characters */
    assert_app_ids(&l, (int64_t[]){x3}, 1);
    apps_free(&l);
    search_apps(a, "_", NULL, NULL, &l);
    assert_app_ids(&l, (int64_t[]){x3}, 1);
    apps_free(&l);
    search_apps(a, "0%_c", NULL, NULL, &l);
    assert_app_ids(&l, (int64_t[]){x3}, 1);
    apps_free(&l);
    search_apps(a, "1%0", NULL, NULL, &l);
    cr_assert_eq(l.n, 0);
    apps_free(&l);

    search_apps(a, "k\xc3\xb6ln", NULL, NULL, &l); /* ASCII letters fold, non-ASCII bytes match as they are */
    assert_app_ids(&l, (int64_t[]){x4}, 1);
    apps_free(&l);
    search_apps(a, "\xc3\xbcn\xc3\xaf" "code", NULL, NULL, &l); /* "ü" does not match "Ü": ASCII case folding only */
    cr_assert_eq(l.n, 0);
    apps_free(&l);
    search_apps(a, "\xc3\x9cn\xc3\xaf" "code", NULL, NULL, &l);
    assert_app_ids(&l, (int64_t[]){x4}, 1);
    apps_free(&l);

    search_apps(a, "notes", NULL, NULL, &l); /* notes are not searched */
    cr_assert_eq(l.n, 0);
    apps_free(&l);

    search_apps(a, "python", NULL, "Interviewing", &l); /* with the status filter */
    cr_assert_eq(l.n, 0);
    apps_free(&l);
    search_apps(a, "python", NULL, "Applied", &l);
    cr_assert_eq(l.n, 3);
    apps_free(&l);

    /* Paging inside a search: offset, then keyset. */
    const char *terms[1] = {"python"};
    rm_storage_query q = {.search = terms, .search_count = 1, .limit = 2, .offset = 1};
    list_apps(a, &q, &l);
    assert_app_ids(&l, py + 1, 2);
    apps_free(&l);
    q = (rm_storage_query){.search = terms, .search_count = 1, .has_after = 1, .after_time = BASE + 3 * SEC, .after_id = x3};
    list_apps(a, &q, &l);
    assert_app_ids(&l, py + 1, 2);
    apps_free(&l);

    /* Counts: all, by status, per user; paging is ignored. */
    cr_assert_eq(app_count(a, NULL), 4);
    q = (rm_storage_query){.status = "Applied", .limit = 1, .offset = 3};
    cr_assert_eq(app_count(a, &q), 4);
    q = (rm_storage_query){.status = "Offer"};
    cr_assert_eq(app_count(a, &q), 0);
    cr_assert_eq(app_count(b, NULL), 1);
    cr_assert_eq(app_count(INT64_C(999999999), NULL), 0);
}

Test(storage, example_search_and_count)
{
    int64_t ex = mk_user("exs");
    char *tag = uniq("needle"); /* unique to this test: a shared database holds other examples */
    for (char *c = tag; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    rm_application_record e = app_tpl(ex, "Offer", BASE + 3 * SEC);
    e.is_example = 1;
    e.original_job_description = tag;
    int64_t e1 = mk_app_rec(&e);
    e.created_at = BASE + 4 * SEC;
    int64_t e2 = mk_app_rec(&e);
    e.created_at = BASE + 5 * SEC;
    int64_t e3 = mk_app_rec(&e);
    OK(V->application_delete(SELF, ex, e3, BASE + 6 * SEC));
    mk_app_text(ex, "plain", "row", tag, BASE + 7 * SEC); /* not an example */

    apps l;
    search_apps(0, tag, NULL, NULL, &l);
    assert_app_ids(&l, ((int64_t[]){e2, e1}), 2);
    apps_free(&l);
    const char *terms[1] = {tag};
    rm_storage_query q = {.search = terms, .search_count = 1, .ordering = "id"};
    list_apps(0, &q, &l);
    assert_app_ids(&l, ((int64_t[]){e1, e2}), 2);
    apps_free(&l);
    if (private_db())
        cr_assert_eq(app_count(0, NULL), 2);
    else
        cr_assert_geq(app_count(0, NULL), 2);
    free(tag);
}

Test(storage, application_ordering_fields_nulls_and_ties)
{
    int64_t a = mk_user("oa");
    rm_application_record r = app_tpl(a, "Offer", BASE + 5 * SEC);
    r.job_title = "beta";
    r.date_applied = "2024-05-01";
    int64_t o1 = mk_app_rec(&r);
    r = app_tpl(a, "Applied", BASE + 1 * SEC);
    r.job_title = NULL;
    r.company_name = NULL;
    r.date_applied = NULL;
    int64_t o2 = mk_app_rec(&r);
    r = app_tpl(a, "Rejected", BASE + 3 * SEC);
    r.job_title = "Beta";
    r.date_applied = "2023-12-31";
    int64_t o3 = mk_app_rec(&r);
    r = app_tpl(a, "Applied", BASE + 3 * SEC);
    r.job_title = "alpha";
    r.date_applied = "2024-05-01";
    int64_t o4 = mk_app_rec(&r);
    r = app_tpl(a, "Interviewing", BASE + 2 * SEC);
    r.job_title = "beta";
    r.updated_at = BASE + 50 * SEC;
    int64_t o5 = mk_app_rec(&r);

    struct {
        const char *ordering;
        int64_t want[5];
    } cases[] = {
        /* Code-point order ("B" < "a"), NULL last ascending and first descending, ties by id. */
        {"job_title,id", {o3, o4, o1, o5, o2}},
        {"-job_title,-id", {o2, o5, o1, o4, o3}},
        {"job_title,-id", {o3, o4, o5, o1, o2}},
        {"created_at,id", {o2, o5, o3, o4, o1}},
        {"-created_at,-id", {o1, o4, o3, o5, o2}},
        {"created_at,-id", {o2, o5, o4, o3, o1}},
        {"date_applied,id", {o3, o5, o1, o4, o2}},
        {"-date_applied,-id", {o2, o4, o1, o5, o3}},
        {"status,id", {o2, o4, o5, o1, o3}},
        {"-updated_at,id", {o5, o1, o3, o4, o2}},
        {"company_name,created_at,id", {o5, o3, o4, o1, o2}},
        {"id", {o1, o2, o3, o4, o5}},
        {"-id", {o5, o4, o3, o2, o1}},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        rm_storage_query q = {.ordering = cases[c].ordering};
        apps l;
        list_apps(a, &q, &l);
        cr_assert_eq(l.n, 5, "%s", cases[c].ordering);
        for (int i = 0; i < 5; i++)
            cr_assert_eq(l.v[i].id, cases[c].want[i], "ordering %s, row %d: id %lld, want %lld", cases[c].ordering, i,
                         (long long)l.v[i].id, (long long)cases[c].want[i]);
        apps_free(&l);
        /* Paged by offset, the pages concatenate to the same order. */
        for (int off = 0; off < 5; off += 2) {
            q = (rm_storage_query){.ordering = cases[c].ordering, .limit = 2, .offset = off};
            list_apps(a, &q, &l);
            cr_assert_eq(l.n, off + 2 <= 5 ? 2 : 1);
            for (int i = 0; i < l.n; i++)
                cr_assert_eq(l.v[i].id, cases[c].want[off + i], "%s page at %d", cases[c].ordering, off);
            apps_free(&l);
        }
    }

    /* With status and search. */
    const char *terms[1] = {"eta"};
    rm_storage_query q = {.ordering = "job_title,id", .search = terms, .search_count = 1};
    apps l;
    list_apps(a, &q, &l);
    assert_app_ids(&l, ((int64_t[]){o3, o1, o5}), 3);
    apps_free(&l);
    q.status = "Offer";
    list_apps(a, &q, &l);
    assert_app_ids(&l, (int64_t[]){o1}, 1);
    apps_free(&l);
}

Test(storage, resume_search_ordering_and_count)
{
    int64_t a = mk_user("rsa"), b = mk_user("rsb");
    int64_t r1 = mk_resume(a, "Backend CV", "Python, C and SQL", BASE + 1 * SEC, BASE + 9 * SEC);
    int64_t r2 = mk_resume(a, "frontend cv", "React; 50% design", BASE + 2 * SEC, BASE + 8 * SEC);
    int64_t r3 = mk_resume(a, "Zeta", "c++ and python", BASE + 3 * SEC, BASE + 7 * SEC);
    mk_resume(b, "Backend CV", "python", BASE, BASE);

    const char *py[1] = {"python"};
    rm_storage_query q = {.search = py, .search_count = 1};
    resumes l;
    list_resumes(a, &q, &l);
    cr_assert_eq(l.n, 2);
    cr_assert_eq(l.v[0].id, r1);
    cr_assert_eq(l.v[1].id, r3);
    resumes_free(&l);
    cr_assert_eq(resume_count(a, &q), 2);

    const char *two[2] = {"cv", "c"}; /* "cv" in the title, "c" anywhere */
    q = (rm_storage_query){.search = two, .search_count = 2};
    cr_assert_eq(resume_count(a, &q), 2);
    const char *pct[1] = {"0%"};
    q = (rm_storage_query){.search = pct, .search_count = 1};
    list_resumes(a, &q, &l);
    cr_assert_eq(l.n, 1);
    cr_assert_eq(l.v[0].id, r2);
    resumes_free(&l);

    q = (rm_storage_query){.ordering = "title,id"}; /* "B" < "Z" < "f" */
    list_resumes(a, &q, &l);
    cr_assert_eq(l.n, 3);
    cr_assert_eq(l.v[0].id, r1);
    cr_assert_eq(l.v[1].id, r3);
    cr_assert_eq(l.v[2].id, r2);
    resumes_free(&l);
    q = (rm_storage_query){.ordering = "created_at,id", .limit = 1, .offset = 1};
    list_resumes(a, &q, &l);
    cr_assert_eq(l.n, 1);
    cr_assert_eq(l.v[0].id, r2);
    resumes_free(&l);
    q = (rm_storage_query){.ordering = "-title,-id", .search = py, .search_count = 1};
    list_resumes(a, &q, &l);
    cr_assert_eq(l.n, 2);
    cr_assert_eq(l.v[0].id, r3);
    cr_assert_eq(l.v[1].id, r1);
    resumes_free(&l);

    cr_assert_eq(resume_count(a, NULL), 3);
    cr_assert_eq(resume_count(b, NULL), 1);
    cr_assert_eq(resume_count(INT64_C(999999999), NULL), 0);
}

Test(storage, application_update_overwrites_mutable_columns)
{
    int64_t a = mk_user("upa"), b = mk_user("upb");
    int64_t res = mk_resume(a, "cv", "c", BASE, BASE);
    rm_application_record orig = app_tpl(a, "Applied", BASE);
    int64_t id = mk_app_rec(&orig);

    rm_application_record up = {
        .id = id,
        .user_id = a,
        .job_title = "Staff Engineer",
        .company_name = NULL,
        .original_job_description = "new text",
        .date_applied = NULL,
        .status = "Rejected",
        .notes = NULL,
        .is_deleted = 0,
        .is_example = 0,
        .resume_used = res,
        .created_at = BASE, /* immutable; matches */
        .updated_at = BASE + 30 * SEC,
    };
    OK(V->application_update(SELF, &up));
    app_c g;
    OK(get_app(a, id, &g));
    assert_app(&g, &up, id);
    app_c_free(&g);

    up.resume_used = 0;
    up.company_name = "Back";
    up.date_applied = "2024-12-31";
    OK(V->application_update(SELF, &up));
    OK(get_app(a, id, &g));
    assert_app(&g, &up, id);
    app_c_free(&g);

    rm_application_record theirs = up;
    theirs.user_id = b;
    theirs.status = "Offer";
    EXPECT(V->application_update(SELF, &theirs), RM_ENOTFOUND);
    OK(get_app(a, id, &g));
    assert_str_same(g.status, "Rejected");
    app_c_free(&g);

    OK(V->application_delete(SELF, a, id, BASE + 40 * SEC));
    EXPECT(V->application_update(SELF, &up), RM_ENOTFOUND);

    rm_application_record missing = up;
    missing.id = id + 100000;
    EXPECT(V->application_update(SELF, &missing), RM_ENOTFOUND);
}

Test(storage, application_delete_is_soft_and_owner_scoped)
{
    int64_t a = mk_user("sda"), b = mk_user("sdb");
    int64_t id = mk_app(a, "Applied", BASE), keep = mk_app(a, "Applied", BASE + 1);
    EXPECT(V->application_delete(SELF, b, id, BASE + SEC), RM_ENOTFOUND);
    app_c g;
    OK(get_app(a, id, &g));
    app_c_free(&g);

    OK(V->application_delete(SELF, a, id, BASE + SEC));
    EXPECT(get_app(a, id, &g), RM_ENOTFOUND);
    EXPECT(V->application_delete(SELF, a, id, BASE + 2 * SEC), RM_ENOTFOUND);
    EXPECT(V->application_delete(SELF, a, id + 100000, BASE + 2 * SEC), RM_ENOTFOUND);

    apps l;
    list_apps(a, NULL, &l);
    cr_assert_eq(l.n, 1);
    cr_assert_eq(l.v[0].id, keep);
    apps_free(&l);
}

/* ---------------------------------------------------------------------------------------------- */
/* AI models                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

Test(storage, ai_model_insert_get_by_id_and_name_case_insensitively)
{
    char *name = uniq("Gemini Flash");
    rm_ai_model_record m = model_tpl(name);
    m.login_required = 1;
    m.daily_limit = 25;
    m.created_at = BASE + 1;
    m.updated_at = BASE + 2;
    int64_t id = mk_model(&m);

    char *local = uniq("Local Llama");
    rm_ai_model_record o = model_tpl(local);
    o.api_provider = "openai_compatible";
    o.model_name = "llama3.1:8b";
    o.api_key_name = "";
    o.base_url = "http://127.0.0.1:11434/v1";
    o.is_active = 0;
    int64_t oid = mk_model(&o);

    model_c g;
    OK(get_model(id, NULL, &g));
    assert_model(&g, &m, id);
    model_c_free(&g);
    OK(get_model(oid, NULL, &g));
    assert_model(&g, &o, oid);
    model_c_free(&g);

    char *lower = strdup(name), *upper = strdup(name);
    for (char *p = lower; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    for (char *p = upper; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    OK(get_model(0, lower, &g));
    assert_model(&g, &m, id);
    model_c_free(&g);
    OK(get_model(0, upper, &g));
    cr_assert_eq(g.id, id);
    model_c_free(&g);

    char *absent = uniq("No Such Model");
    EXPECT(get_model(0, absent, &g), RM_ENOTFOUND);
    EXPECT(get_model(oid + 100000, NULL, &g), RM_ENOTFOUND);
    free(name);
    free(local);
    free(lower);
    free(upper);
    free(absent);
}

Test(storage, ai_model_display_name_is_unique_case_insensitively)
{
    char *name = uniq("OpenRouter Mix"), *other = uniq("Second");
    rm_ai_model_record m = model_tpl(name);
    int64_t id = mk_model(&m);

    char *shouty = strdup(name);
    for (char *p = shouty; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    rm_ai_model_record dup = model_tpl(shouty);
    int64_t did = 0;
    EXPECT(V->ai_model_insert(SELF, &dup, &did), RM_ECONFLICT);
    EXPECT(V->ai_model_insert(SELF, &m, &did), RM_ECONFLICT);

    rm_ai_model_record s = model_tpl(other);
    int64_t sid = mk_model(&s);
    s.id = sid;
    s.display_name = shouty; /* clashes with the first model */
    EXPECT(V->ai_model_update(SELF, &s), RM_ECONFLICT);
    model_c g;
    OK(get_model(sid, NULL, &g));
    assert_str_same(g.display_name, other);
    model_c_free(&g);

    /* A model may change the case of its own name. */
    m.id = id;
    m.display_name = shouty;
    m.description = "renamed";
    m.updated_at = BASE + SEC;
    OK(V->ai_model_update(SELF, &m));
    OK(get_model(0, name, &g));
    assert_model(&g, &m, id);
    model_c_free(&g);

    rm_ai_model_record missing = model_tpl(uniq("x"));
    missing.id = sid + 100000;
    EXPECT(V->ai_model_update(SELF, &missing), RM_ENOTFOUND);
    free((char *)missing.display_name);
    free(name);
    free(other);
    free(shouty);
}

Test(storage, ai_model_update_overwrites_every_column)
{
    char *name = uniq("Upd"), *renamed = uniq("Updated");
    rm_ai_model_record m = model_tpl(name);
    int64_t id = mk_model(&m);
    rm_ai_model_record u = {
        .id = id,
        .display_name = renamed,
        .model_name = "gpt-4o-mini",
        .api_provider = "openai_compatible",
        .api_key_name = "OPENAI_KEY",
        .is_active = 0,
        .login_required = 1,
        .daily_limit = 7,
        .response_time_info = "slow",
        .description = "changed",
        .created_at = BASE, /* immutable; matches */
        .updated_at = BASE + 9 * SEC,
        .base_url = "https://example.com/v1",
    };
    OK(V->ai_model_update(SELF, &u));
    model_c g;
    OK(get_model(id, NULL, &g));
    assert_model(&g, &u, id);
    model_c_free(&g);
    EXPECT(get_model(0, name, &g), RM_ENOTFOUND);

    u.base_url = NULL;
    u.api_provider = "google_gemini";
    OK(V->ai_model_update(SELF, &u));
    OK(get_model(0, renamed, &g));
    assert_model(&g, &u, id);
    model_c_free(&g);
    free(name);
    free(renamed);
}

Test(storage, ai_model_list_orders_by_name_nocase_and_filters_active)
{
    /* The nonce comes first so all four sort among themselves by the rest of the name. */
    char n1[96], n2[96], n3[96], n4[96];
    snprintf(n1, sizeof(n1), "%s beta", NONCE);
    snprintf(n2, sizeof(n2), "%s Alpha", NONCE);
    snprintf(n3, sizeof(n3), "%s alpha2", NONCE);
    snprintf(n4, sizeof(n4), "%s Gamma", NONCE);
    rm_ai_model_record m = model_tpl(n1);
    int64_t i1 = mk_model(&m);
    m.display_name = n2;
    int64_t i2 = mk_model(&m);
    m.display_name = n3;
    int64_t i3 = mk_model(&m);
    m.display_name = n4;
    m.is_active = 0;
    int64_t i4 = mk_model(&m);

    models l = {.only_containing = NONCE};
    OK(V->ai_model_list(SELF, 0, model_sink, &l));
    cr_assert_eq(l.n, 4);
    cr_assert_eq(l.v[0].id, i2);
    cr_assert_eq(l.v[1].id, i3);
    cr_assert_eq(l.v[2].id, i1);
    cr_assert_eq(l.v[3].id, i4);
    if (private_db())
        cr_assert_eq(l.calls, 4);
    models_free(&l);

    l = (models){.only_containing = NONCE};
    OK(V->ai_model_list(SELF, 1, model_sink, &l));
    cr_assert_eq(l.n, 3);
    cr_assert_eq(l.v[0].id, i2);
    cr_assert_eq(l.v[1].id, i3);
    cr_assert_eq(l.v[2].id, i1);
    models_free(&l);
}

/* ---------------------------------------------------------------------------------------------- */
/* Token denylist                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

Test(storage, token_denylist_deny_check_and_prune)
{
    int64_t u = mk_user("tok");
    char *j1 = uniq("jti-1"), *j2 = uniq("jti-2"), *j3 = uniq("jti-3");
    int denied = -1;
    OK(V->token_is_denied(SELF, j1, &denied));
    cr_assert_eq(denied, 0);

    OK(V->token_deny(SELF, j1, u, BASE + 10));
    OK(V->token_deny(SELF, j1, u, BASE + 10)); /* idempotent */
    OK(V->token_deny(SELF, j2, u, BASE + 20));
    OK(V->token_deny(SELF, j3, u, BASE + 30));
    OK(V->token_is_denied(SELF, j1, &denied));
    cr_assert_eq(denied, 1);
    OK(V->token_is_denied(SELF, j3, &denied));
    cr_assert_eq(denied, 1);

    int64_t removed = -1;
    OK(V->token_prune(SELF, BASE + 20, &removed)); /* expires_at <= now goes */
    if (private_db())
        cr_assert_eq(removed, 2);
    else
        cr_assert_geq(removed, 2);
    OK(V->token_is_denied(SELF, j1, &denied));
    cr_assert_eq(denied, 0);
    OK(V->token_is_denied(SELF, j2, &denied));
    cr_assert_eq(denied, 0);
    OK(V->token_is_denied(SELF, j3, &denied));
    cr_assert_eq(denied, 1);

    OK(V->token_prune(SELF, BASE + 20, NULL)); /* removed may be NULL */
    removed = -1;
    OK(V->token_prune(SELF, BASE + 25, &removed));
    if (private_db())
        cr_assert_eq(removed, 0);
    OK(V->token_is_denied(SELF, j3, &denied));
    cr_assert_eq(denied, 1);
    free(j1);
    free(j2);
    free(j3);
}

/* ---------------------------------------------------------------------------------------------- */
/* Daily usage                                                                                      */
/* ---------------------------------------------------------------------------------------------- */

Test(storage, usage_counts_limits_and_releases)
{
    int64_t u = mk_user("use");
    char *mname = uniq("Limited");
    rm_ai_model_record m = model_tpl(mname);
    int64_t mid = mk_model(&m);
    const char *day = "2024-05-01";
    int32_t count = -1;
    OK(V->usage_get(SELF, u, mid, day, &count));
    cr_assert_eq(count, 0);

    for (int i = 1; i <= 3; i++) {
        OK(V->usage_try_increment(SELF, u, mid, day, 3, &count));
        cr_assert_eq(count, i);
    }
    count = -1;
    EXPECT(V->usage_try_increment(SELF, u, mid, day, 3, &count), RM_ELIMIT);
    cr_assert_eq(count, 3, "count_out at the limit is %d", count);
    EXPECT(V->usage_try_increment(SELF, u, mid, day, 3, NULL), RM_ELIMIT);
    OK(V->usage_get(SELF, u, mid, day, &count));
    cr_assert_eq(count, 3, "a refused increment must not count");

    OK(V->usage_release(SELF, u, mid, day));
    OK(V->usage_get(SELF, u, mid, day, &count));
    cr_assert_eq(count, 2);
    OK(V->usage_try_increment(SELF, u, mid, day, 3, NULL));
    OK(V->usage_get(SELF, u, mid, day, &count));
    cr_assert_eq(count, 3);

    /* limit 0: no limit. */
    for (int i = 4; i <= 10; i++) {
        OK(V->usage_try_increment(SELF, u, mid, day, 0, &count));
        cr_assert_eq(count, i);
    }
    /* A lowered limit refuses without counting. */
    EXPECT(V->usage_try_increment(SELF, u, mid, day, 5, &count), RM_ELIMIT);
    OK(V->usage_get(SELF, u, mid, day, &count));
    cr_assert_eq(count, 10);

    /* Other days, models and users are separate counters. */
    OK(V->usage_get(SELF, u, mid, "2024-05-02", &count));
    cr_assert_eq(count, 0);
    OK(V->usage_try_increment(SELF, u, mid, "2024-05-02", 1, &count));
    cr_assert_eq(count, 1);
    int64_t u2 = mk_user("use2");
    OK(V->usage_get(SELF, u2, mid, day, &count));
    cr_assert_eq(count, 0);
    OK(V->usage_get(SELF, u, mid + 100000, day, &count));
    cr_assert_eq(count, 0);

    /* Never below zero. */
    for (int i = 0; i < 12; i++)
        OK(V->usage_release(SELF, u, mid, day));
    OK(V->usage_get(SELF, u, mid, day, &count));
    cr_assert_eq(count, 0);
    OK(V->usage_release(SELF, u2, mid, "2024-05-03")); /* nothing to release: still fine */
    OK(V->usage_get(SELF, u2, mid, "2024-05-03", &count));
    cr_assert_eq(count, 0);
    OK(V->usage_try_increment(SELF, u, mid, day, 1, &count));
    cr_assert_eq(count, 1);
    free(mname);
}

#define USAGE_THREADS 8
#define USAGE_TRIES 50
#define USAGE_LIMIT 100
static int64_t usage_user, usage_model;
static int usage_ok, usage_limited, usage_other;

static void *usage_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < USAGE_TRIES; i++) {
        int32_t c = 0;
        int rc = V->usage_try_increment(SELF, usage_user, usage_model, "2024-06-01", USAGE_LIMIT, &c);
        if (rc == RM_OK && c >= 1 && c <= USAGE_LIMIT)
            __atomic_add_fetch(&usage_ok, 1, __ATOMIC_SEQ_CST);
        else if (rc == RM_ELIMIT)
            __atomic_add_fetch(&usage_limited, 1, __ATOMIC_SEQ_CST);
        else
            __atomic_add_fetch(&usage_other, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

Test(storage, usage_limit_is_atomic_across_threads)
{
    usage_user = mk_user("race");
    char *mname = uniq("Raced");
    rm_ai_model_record m = model_tpl(mname);
    usage_model = mk_model(&m);
    pthread_t t[USAGE_THREADS];
    for (int i = 0; i < USAGE_THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, usage_worker, NULL), 0);
    for (int i = 0; i < USAGE_THREADS; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(usage_other, 0, "%d calls failed otherwise", usage_other);
    cr_assert_eq(usage_ok, USAGE_LIMIT);
    cr_assert_eq(usage_limited, USAGE_THREADS * USAGE_TRIES - USAGE_LIMIT);
    int32_t count = 0;
    OK(V->usage_get(SELF, usage_user, usage_model, "2024-06-01", &count));
    cr_assert_eq(count, USAGE_LIMIT);
    free(mname);
}

/* ---------------------------------------------------------------------------------------------- */
/* Idempotency keys                                                                                 */
/* ---------------------------------------------------------------------------------------------- */

Test(storage, idempotency_put_get_conflict_and_since)
{
    int64_t a = mk_user("ia"), b = mk_user("ib");
    int64_t ra = mk_resume(a, "a", "c", BASE, BASE), rb = mk_resume(b, "b", "c", BASE, BASE);
    char *key = uniq("key");
    int64_t got = -1;
    EXPECT(V->idempotency_get(SELF, key, a, BASE - SEC, &got), RM_ENOTFOUND);

    OK(V->idempotency_put(SELF, key, a, ra, BASE));
    OK(V->idempotency_get(SELF, key, a, BASE - SEC, &got));
    cr_assert_eq(got, ra);
    OK(V->idempotency_get(SELF, key, a, BASE, &got)); /* at or after since */
    cr_assert_eq(got, ra);
    EXPECT(V->idempotency_get(SELF, key, a, BASE + 1, &got), RM_ENOTFOUND);
    EXPECT(V->idempotency_get(SELF, key, b, BASE - SEC, &got), RM_ENOTFOUND);

    EXPECT(V->idempotency_put(SELF, key, a, rb, BASE + SEC), RM_ECONFLICT);
    OK(V->idempotency_get(SELF, key, a, BASE - SEC, &got));
    cr_assert_eq(got, ra, "a refused put must not replace the first");

    OK(V->idempotency_put(SELF, key, b, rb, BASE + SEC)); /* keys are per user */
    OK(V->idempotency_get(SELF, key, b, BASE, &got));
    cr_assert_eq(got, rb);
    char *other = uniq("KEY");
    EXPECT(V->idempotency_get(SELF, other, a, BASE - SEC, &got), RM_ENOTFOUND);
    free(key);
    free(other);
}

Test(storage, idempotency_prune_frees_old_keys_for_reuse)
{
    int64_t a = mk_user("ip");
    int64_t r1 = mk_resume(a, "a", "c", BASE, BASE), r2 = mk_resume(a, "b", "c", BASE, BASE);
    char *old_key = uniq("old"), *new_key = uniq("new");
    int64_t got = -1, removed = -1;
    OK(V->idempotency_put(SELF, old_key, a, r1, BASE));
    OK(V->idempotency_put(SELF, new_key, a, r2, BASE + 10 * SEC));
    OK(V->idempotency_prune(SELF, BASE + SEC, &removed));
    cr_assert_geq(removed, 1);
    EXPECT(V->idempotency_get(SELF, old_key, a, 0, &got), RM_ENOTFOUND);
    OK(V->idempotency_get(SELF, new_key, a, 0, &got));
    cr_assert_eq(got, r2, "a record newer than the cut-off survives");
    OK(V->idempotency_put(SELF, old_key, a, r2, BASE + 11 * SEC)); /* the key is free again */
    OK(V->idempotency_get(SELF, old_key, a, 0, &got));
    cr_assert_eq(got, r2);
    OK(V->idempotency_prune(SELF, BASE + SEC, NULL));
    free(old_key);
    free(new_key);
}

/* ---------------------------------------------------------------------------------------------- */
/* Verbatim text                                                                                    */
/* ---------------------------------------------------------------------------------------------- */

static const char *const nasty[] = {
    "O'Brien said \"hi\" `back` ticks",
    "'; DROP TABLE auth_user; --",
    "Robert'); DROP TABLE resume_resume;--",
    "\\ backslash \\\\ %s %d %n $1 ?1 :name @p",
    "ünïcödé — 日本語 — Ελληνικά — 🚀👩‍💻 — e\xcc\x81",
    "line\nbreak\r\nand\ttab",
    "",
    "   leading and trailing   ",
};
#define NASTY_N (sizeof(nasty) / sizeof(*nasty))

static char *big_string(size_t n)
{
    static const char pat[] = "It's a \"big\" string; DROP TABLE x; -- ünï ";
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = pat[i % (sizeof(pat) - 1)];
    /* Do not cut a multi-byte character in half. */
    while (n > 0 && ((unsigned char)s[n - 1] & 0x80))
        n--;
    s[n] = '\0';
    return s;
}

Test(storage, text_is_stored_and_returned_verbatim)
{
    int64_t u = mk_user("verbatim");
    char *big = big_string(100 * 1024);
    for (size_t i = 0; i < NASTY_N; i++) {
        /* Resume: title (short) and content. */
        int64_t rid = mk_resume(u, nasty[i], nasty[i], BASE, BASE + (int64_t)i);
        resume_c r;
        OK(get_resume(u, rid, &r));
        assert_str_same(r.title, nasty[i]);
        assert_str_same(r.content, nasty[i]);
        resume_c_free(&r);

        /* Application: every text column, and the status filter with a hostile value. */
        rm_application_record a = {.user_id = u, .job_title = nasty[i], .company_name = nasty[i],
                                   .original_job_description = nasty[i], .status = "Applied", .notes = nasty[i],
                                   .created_at = BASE, .updated_at = BASE};
        int64_t aid = mk_app_rec(&a);
        app_c g;
        OK(get_app(u, aid, &g));
        assert_app(&g, &a, aid);
        app_c_free(&g);
        rm_storage_query q = {.status = nasty[i]};
        apps l;
        list_apps(u, &q, &l);
        cr_assert_eq(l.n, 0);
        apps_free(&l);

        /* Username, looked up by that exact text. */
        char uname[160];
        snprintf(uname, sizeof(uname), "%s%zu%s", NONCE, i, nasty[i]);
        rm_user_record ur = user_tpl(uname);
        ur.first_name = nasty[i];
        ur.email = nasty[i];
        int64_t uid = 0;
        OK(V->user_insert(SELF, &ur, &uid));
        users ug = {0};
        OK(V->user_get(SELF, 0, uname, user_sink, &ug));
        cr_assert_eq(ug.n, 1);
        assert_user(&ug.v[0], &ur, uid);
        users_free(&ug);

        /* AI model name (looked up case-insensitively) and free text. */
        char mname[160];
        snprintf(mname, sizeof(mname), "%zu%s%s", i, NONCE, nasty[i]);
        rm_ai_model_record m = model_tpl(mname);
        m.description = nasty[i];
        m.response_time_info = nasty[i];
        m.base_url = nasty[i];
        int64_t mid = mk_model(&m);
        model_c mg;
        OK(get_model(0, mname, &mg));
        assert_model(&mg, &m, mid);
        model_c_free(&mg);

        /* Token ids and idempotency keys. */
        char jti[160];
        snprintf(jti, sizeof(jti), "%s%zu%s", NONCE, i, nasty[i]);
        int denied = 0;
        OK(V->token_deny(SELF, jti, u, BASE + 1000 * SEC));
        OK(V->token_is_denied(SELF, jti, &denied));
        cr_assert_eq(denied, 1);
        int64_t got = 0;
        OK(V->idempotency_put(SELF, jti, u, rid, BASE));
        OK(V->idempotency_get(SELF, jti, u, BASE, &got));
        cr_assert_eq(got, rid);
    }

    /* 100 KB in every unbounded text column. */
    int64_t rid = mk_resume(u, "big", big, BASE, BASE);
    resume_c r;
    OK(get_resume(u, rid, &r));
    cr_assert_eq(strlen(r.content), strlen(big));
    assert_str_same(r.content, big);
    resume_c_free(&r);
    rm_application_record a = {.user_id = u, .original_job_description = big, .notes = big, .status = "Offer",
                               .created_at = BASE, .updated_at = BASE};
    int64_t aid = mk_app_rec(&a);
    app_c g;
    OK(get_app(u, aid, &g));
    assert_app(&g, &a, aid);
    app_c_free(&g);
    char *mname = uniq("Big");
    rm_ai_model_record m = model_tpl(mname);
    m.description = big;
    int64_t mid = mk_model(&m);
    model_c mg;
    OK(get_model(mid, NULL, &mg));
    assert_model(&mg, &m, mid);
    model_c_free(&mg);

    /* Nothing was dropped, and the tables still answer. */
    OK(V->ping(SELF));
    resumes l;
    list_resumes(u, NULL, &l);
    cr_assert_eq(l.n, (int)NASTY_N + 1);
    resumes_free(&l);
    free(big);
    free(mname);
}

/* ---------------------------------------------------------------------------------------------- */
/* Sinks                                                                                            */
/* ---------------------------------------------------------------------------------------------- */

Test(storage, sink_return_values_stop_and_pass_through)
{
    int64_t u = mk_user("sink");
    for (int i = 0; i < 3; i++) {
        mk_resume(u, "r", "c", BASE, BASE + i);
        mk_app(u, "Applied", BASE + i);
    }
    int64_t rid = mk_resume(u, "r", "c", BASE, BASE);
    char *mname = uniq("Sunk");
    rm_ai_model_record m = model_tpl(mname);
    int64_t mid = mk_model(&m);
    (void)mid;

    resumes rl = {.stop_after = 1, .stop_value = 42};
    EXPECT(V->resume_list(SELF, u, NULL, resume_sink, &rl), 42);
    cr_assert_eq(rl.n, 1, "the list must stop at the first non-zero answer");
    resumes_free(&rl);
    rl = (resumes){.stop_after = 1, .stop_value = -12345};
    EXPECT(V->resume_get(SELF, u, rid, resume_sink, &rl), -12345);
    resumes_free(&rl);

    apps al = {.stop_after = 2, .stop_value = 7};
    EXPECT(V->application_list(SELF, u, NULL, app_sink, &al), 7);
    cr_assert_eq(al.n, 2);
    apps_free(&al);

    users ug = {.stop_value = RM_ENOMEM};
    EXPECT(V->user_get(SELF, u, NULL, user_sink, &ug), RM_ENOMEM);
    users_free(&ug);

    models ml = {.stop_after = 1, .stop_value = 99};
    EXPECT(V->ai_model_list(SELF, 0, model_sink, &ml), 99);
    cr_assert_eq(ml.n, 1);
    models_free(&ml);

    /* The backend is still healthy afterwards. */
    OK(V->ping(SELF));
    resumes all;
    list_resumes(u, NULL, &all);
    cr_assert_eq(all.n, 4);
    resumes_free(&all);
    free(mname);
}

/* ---------------------------------------------------------------------------------------------- */
/* Concurrency                                                                                      */
/* ---------------------------------------------------------------------------------------------- */

#define CONC_THREADS 8
#define CONC_ROWS 50
static int64_t conc_shared_user;

typedef struct {
    int index;
    int errors;
    int64_t user;
    int64_t ids[CONC_ROWS];
} conc_arg;

static int count_resumes(void *d, const rm_resume_record *r)
{
    (void)r;
    (*(int *)d)++;
    return 0;
}

static int count_apps(void *d, const rm_application_record *r)
{
    (void)r;
    (*(int *)d)++;
    return 0;
}

static void *conc_worker(void *p)
{
    conc_arg *arg = p;
    char name[96];
    snprintf(name, sizeof(name), "conc%d-%s", arg->index, NONCE);
    rm_user_record u = user_tpl(name);
    if (V->user_insert(SELF, &u, &arg->user) != RM_OK) {
        arg->errors++;
        return NULL;
    }
    for (int i = 0; i < CONC_ROWS; i++) {
        rm_resume_record r = {.user_id = arg->user, .title = "t", .content = "c", .created_at = BASE,
                              .updated_at = BASE + i};
        if (V->resume_insert(SELF, &r, &arg->ids[i]) != RM_OK)
            arg->errors++;
        r.user_id = conc_shared_user;
        int64_t sid;
        if (V->resume_insert(SELF, &r, &sid) != RM_OK)
            arg->errors++;
        rm_application_record a = app_tpl(arg->user, i % 2 ? "Applied" : "Offer", BASE + i);
        a.resume_used = arg->ids[i];
        int64_t aid;
        if (V->application_insert(SELF, &a, &aid) != RM_OK)
            arg->errors++;
        /* Read back while the others write: our own rows are all there, in full. */
        int n = 0;
        if (V->resume_list(SELF, arg->user, NULL, count_resumes, &n) != RM_OK || n != i + 1)
            arg->errors++;
        n = 0;
        if (V->application_list(SELF, arg->user, NULL, count_apps, &n) != RM_OK || n != i + 1)
            arg->errors++;
        n = 0;
        if (V->resume_list(SELF, conc_shared_user, NULL, count_resumes, &n) != RM_OK || n < i + 1 ||
            n > CONC_THREADS * CONC_ROWS)
            arg->errors++;
    }
    return NULL;
}

Test(storage, many_threads_insert_and_list_exactly)
{
    conc_shared_user = mk_user("shared");
    pthread_t t[CONC_THREADS];
    conc_arg args[CONC_THREADS];
    memset(args, 0, sizeof(args));
    for (int i = 0; i < CONC_THREADS; i++) {
        args[i].index = i;
        cr_assert_eq(pthread_create(&t[i], NULL, conc_worker, &args[i]), 0);
    }
    for (int i = 0; i < CONC_THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < CONC_THREADS; i++)
        cr_assert_eq(args[i].errors, 0, "thread %d saw %d errors", i, args[i].errors);

    int n = 0;
    OK(V->resume_list(SELF, conc_shared_user, NULL, count_resumes, &n));
    cr_assert_eq(n, CONC_THREADS * CONC_ROWS);
    for (int i = 0; i < CONC_THREADS; i++) {
        n = 0;
        OK(V->resume_list(SELF, args[i].user, NULL, count_resumes, &n));
        cr_assert_eq(n, CONC_ROWS);
        rm_storage_query q = {.status = "Offer"};
        n = 0;
        OK(V->application_list(SELF, args[i].user, &q, count_apps, &n));
        cr_assert_eq(n, CONC_ROWS / 2);
        for (int j = 1; j < CONC_ROWS; j++)
            cr_assert_neq(args[i].ids[j], args[i].ids[j - 1]);
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* Durability                                                                                       */
/* ---------------------------------------------------------------------------------------------- */

Test(storage, data_survives_close_and_reopen)
{
    if (is_memory())
        cr_skip_test("an in-memory database does not outlive its handle");
    char *name = uniq("durable");
    rm_user_record u = user_tpl(name);
    u.tokens_valid_after = BASE + 5;
    int64_t uid = 0;
    OK(V->user_insert(SELF, &u, &uid));
    int64_t rid = mk_resume(uid, "kept", "content", BASE, BASE + 1);
    rm_application_record a = app_tpl(uid, "Offer", BASE);
    a.resume_used = rid;
    int64_t aid = mk_app_rec(&a);
    char *mname = uniq("Kept Model");
    rm_ai_model_record m = model_tpl(mname);
    m.base_url = "http://localhost:8080/v1";
    int64_t mid = mk_model(&m);
    char *jti = uniq("jti");
    OK(V->token_deny(SELF, jti, uid, BASE + 100 * SEC));
    OK(V->usage_try_increment(SELF, uid, mid, "2024-01-01", 5, NULL));
    OK(V->idempotency_put(SELF, jti, uid, rid, BASE));

    close_backend();
    open_backend();

    users g = {0};
    OK(V->user_get(SELF, uid, NULL, user_sink, &g));
    assert_user(&g.v[0], &u, uid);
    users_free(&g);
    resume_c r;
    OK(get_resume(uid, rid, &r));
    assert_str_same(r.title, "kept");
    resume_c_free(&r);
    app_c ag;
    OK(get_app(uid, aid, &ag));
    assert_app(&ag, &a, aid);
    app_c_free(&ag);
    model_c mg;
    OK(get_model(0, mname, &mg));
    assert_model(&mg, &m, mid);
    model_c_free(&mg);
    int denied = 0;
    OK(V->token_is_denied(SELF, jti, &denied));
    cr_assert_eq(denied, 1);
    int32_t count = 0;
    OK(V->usage_get(SELF, uid, mid, "2024-01-01", &count));
    cr_assert_eq(count, 1);
    int64_t got = 0;
    OK(V->idempotency_get(SELF, jti, uid, BASE, &got));
    cr_assert_eq(got, rid);
    free(name);
    free(mname);
    free(jti);
}

/* ---------------------------------------------------------------------------------------------- */
/* SQLite only: the schema is Django's                                                              */
/* ---------------------------------------------------------------------------------------------- */

/* What Django 5's SQLite backend creates for the ResuMate models (python manage.py sqlmigrate). */
static const char *const django_ddl =
    "CREATE TABLE \"django_migrations\" (\"id\" integer NOT NULL PRIMARY KEY AUTOINCREMENT, \"app\" varchar(255) NOT NULL, "
    "\"name\" varchar(255) NOT NULL, \"applied\" datetime NOT NULL);"
    "CREATE TABLE \"auth_user\" (\"id\" integer NOT NULL PRIMARY KEY AUTOINCREMENT, \"password\" varchar(128) NOT NULL, "
    "\"last_login\" datetime NULL, \"is_superuser\" bool NOT NULL, \"username\" varchar(150) NOT NULL UNIQUE, "
    "\"last_name\" varchar(150) NOT NULL, \"email\" varchar(254) NOT NULL, \"is_staff\" bool NOT NULL, "
    "\"is_active\" bool NOT NULL, \"date_joined\" datetime NOT NULL, \"first_name\" varchar(150) NOT NULL);"
    "CREATE TABLE \"ai_aimodel\" (\"id\" integer NOT NULL PRIMARY KEY AUTOINCREMENT, \"display_name\" varchar(100) NOT NULL UNIQUE, "
    "\"model_name\" varchar(100) NOT NULL, \"api_provider\" varchar(50) NOT NULL, \"api_key_name\" varchar(100) NOT NULL, "
    "\"is_active\" bool NOT NULL, \"login_required\" bool NOT NULL, "
    "\"daily_limit\" integer unsigned NOT NULL CHECK (\"daily_limit\" >= 0), \"response_time_info\" varchar(100) NOT NULL, "
    "\"description\" text NOT NULL, \"created_at\" datetime NOT NULL, \"updated_at\" datetime NOT NULL);"
    "CREATE TABLE \"resume_resume\" (\"id\" integer NOT NULL PRIMARY KEY AUTOINCREMENT, \"title\" varchar(255) NOT NULL, "
    "\"content\" text NOT NULL, \"created_at\" datetime NOT NULL, \"updated_at\" datetime NOT NULL, "
    "\"user_id\" integer NOT NULL REFERENCES \"auth_user\" (\"id\") DEFERRABLE INITIALLY DEFERRED);"
    "CREATE INDEX \"resume_resume_user_id_0b155703\" ON \"resume_resume\" (\"user_id\");"
    "CREATE TABLE \"job_tracker_jobapplication\" (\"id\" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "
    "\"job_title\" varchar(255) NULL, \"company_name\" varchar(255) NULL, \"original_job_description\" text NULL, "
    "\"date_applied\" date NULL, \"status\" varchar(20) NOT NULL, \"notes\" text NULL, \"is_deleted\" bool NOT NULL, "
    "\"is_example\" bool NOT NULL, \"created_at\" datetime NOT NULL, \"updated_at\" datetime NOT NULL, "
    "\"resume_used_id\" bigint NULL REFERENCES \"resume_resume\" (\"id\") DEFERRABLE INITIALLY DEFERRED, "
    "\"user_id\" integer NOT NULL REFERENCES \"auth_user\" (\"id\") DEFERRABLE INITIALLY DEFERRED);"
    "CREATE INDEX \"job_tracker_jobapplication_resume_used_id_68776f96\" ON \"job_tracker_jobapplication\" (\"resume_used_id\");"
    "CREATE INDEX \"job_tracker_jobapplication_user_id_a3f6cbf6\" ON \"job_tracker_jobapplication\" (\"user_id\");";

/* Rows as Django writes them: no fraction when the microseconds are zero. */
static const char *const django_rows =
    "INSERT INTO \"auth_user\" VALUES (7, 'pbkdf2_sha256$720000$abc$def', '2024-01-02 03:04:05.250000', 0, 'olduser', "
    "'User', 'old@example.com', 0, 1, '2024-01-02 03:04:05', 'Old');"
    "INSERT INTO \"resume_resume\" VALUES (3, 'Django CV', 'made by Django', '2024-01-02 03:04:05', "
    "'2024-01-02 03:04:05', 7);"
    "INSERT INTO \"job_tracker_jobapplication\" VALUES (11, 'Dev', NULL, NULL, '2024-01-03', 'Interviewing', NULL, 0, 1, "
    "'2024-01-02 03:04:05', '2024-01-02 03:04:06.5', 3, 7);"
    "INSERT INTO \"ai_aimodel\" VALUES (5, 'Gemini', 'gemini-1.5-flash', 'google_gemini', 'GEMINI_API_KEY', 1, 1, 0, "
    "'~2s', 'Google''s model', '2024-01-02 03:04:05', '2024-01-02 03:04:05');"
    "INSERT INTO \"django_migrations\" (\"app\", \"name\", \"applied\") VALUES ('resume', '0001_initial', '2024-01-01 00:00:00');";

/* 2024-01-02 03:04:05 UTC in microseconds. */
#define DJ_T INT64_C(1704164645000000)

static void sqlite_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    cr_assert_eq(rc, SQLITE_OK, "sqlite: %s", err ? err : "?");
    sqlite3_close(db);
}

/* The schema text of every table and index, joined, ordered by name. */
static char *sqlite_schema(const char *path, const char *where)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT group_concat(coalesce(sql, ''), ';') FROM "
                               "(SELECT sql FROM sqlite_master WHERE %s ORDER BY name)", where);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    char *out = strdup(sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

/* A fresh SQLite file path, owned and removed by teardown. */
static const char *temp_db_path(const char *tag)
{
    cr_assert_lt(temp_count, 4);
    char *p = malloc(512);
    snprintf(p, 512, "%s/rm-conformance-%s-%s.db", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", tag, NONCE);
    remove_db_files(p);
    temp_paths[temp_count++] = p;
    return p;
}

Test(storage, sqlite_adopts_a_django_database)
{
    if (!is_sqlite())
        cr_skip_test("SQLite only");
    const char *path = temp_db_path("django");
    sqlite_exec(path, django_ddl);
    sqlite_exec(path, django_rows);
    const char *django_tables = "name NOT LIKE 'rm\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";
    char *before = sqlite_schema(path, django_tables);

    close_backend();
    snprintf(URL, sizeof(URL), "%s", path);
    open_backend();

    users g = {0};
    OK(V->user_get(SELF, 0, "olduser", user_sink, &g));
    cr_assert_eq(g.n, 1);
    cr_assert_eq(g.v[0].id, 7);
    assert_str_same(g.v[0].first_name, "Old");
    assert_str_same(g.v[0].last_name, "User");
    assert_str_same(g.v[0].password, "pbkdf2_sha256$720000$abc$def");
    cr_assert_eq(g.v[0].is_active, 1);
    cr_assert_eq(g.v[0].date_joined, DJ_T);
    cr_assert_eq(g.v[0].last_login, DJ_T + 250000);
    cr_assert_eq(g.v[0].tokens_valid_after, RM_NO_TIME);
    users_free(&g);

    resume_c r;
    OK(get_resume(7, 3, &r));
    assert_str_same(r.title, "Django CV");
    cr_assert_eq(r.updated_at, DJ_T);
    resume_c_free(&r);

    app_c a;
    OK(get_app(0, 11, &a)); /* an example */
    cr_assert_eq(a.resume_used, 3);
    assert_str_same(a.date_applied, "2024-01-03");
    cr_assert_null(a.company_name);
    cr_assert_eq(a.updated_at, DJ_T + SEC + 500000);
    app_c_free(&a);

    model_c m;
    OK(get_model(0, "GEMINI", &m));
    cr_assert_eq(m.id, 5);
    assert_str_same(m.description, "Google's model");
    cr_assert_null(m.base_url);
    model_c_free(&m);

    /* Our rows next to Django's: same time, one written with and one without a fraction, still
     * ordered by id and paged exactly once each. */
    int64_t mine = mk_resume(7, "mine", "c", DJ_T, DJ_T);
    cr_assert_gt(mine, 3);
    resumes l;
    list_resumes(7, NULL, &l);
    cr_assert_eq(l.n, 2);
    cr_assert_eq(l.v[0].id, mine);
    cr_assert_eq(l.v[1].id, 3);
    resumes_free(&l);
    rm_storage_query q = {.has_after = 1, .after_time = DJ_T, .after_id = mine};
    list_resumes(7, &q, &l);
    cr_assert_eq(l.n, 1);
    cr_assert_eq(l.v[0].id, 3);
    resumes_free(&l);
    q.after_id = 3; /* nothing comes after the last row, whichever form its time was stored in */
    list_resumes(7, &q, &l);
    cr_assert_eq(l.n, 0);
    resumes_free(&l);

    /* Deleting Django's resume nulls the Django application's resume_used. */
    OK(V->resume_delete(SELF, 7, 3));
    OK(get_app(7, 11, &a));
    cr_assert_eq(a.resume_used, 0);
    app_c_free(&a);

    /* Unique rules hold on adopted tables too. */
    rm_user_record dup = user_tpl("olduser");
    int64_t id = 0;
    EXPECT(V->user_insert(SELF, &dup, &id), RM_ECONFLICT);
    rm_ai_model_record dm = model_tpl("gemini");
    EXPECT(V->ai_model_insert(SELF, &dm, &id), RM_ECONFLICT);
    close_backend();

    /* Django's tables are untouched; ours were added beside them. */
    char *after = sqlite_schema(path, django_tables);
    cr_assert_str_eq(after, before);
    char *ours = sqlite_schema(path, "type = 'table' AND name LIKE 'rm\\_%' ESCAPE '\\'");
    const char *want[] = {"rm_schema_version", "rm_user_ext", "rm_ai_model_ext", "rm_token_denylist",
                          "rm_daily_usage", "rm_idempotency"};
    for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++)
        cr_assert(strstr(ours, want[i]), "missing table %s", want[i]);

    /* A second open changes nothing more. */
    char *all = sqlite_schema(path, "1");
    open_backend();
    close_backend();
    char *again = sqlite_schema(path, "1");
    cr_assert_str_eq(again, all);
    free(before);
    free(after);
    free(ours);
    free(again);
    free(all);
}

/* One line per column, foreign key and index of a table, sorted, so column order does not matter. */
static char *table_shape(const char *path, const char *table)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "SELECT group_concat(line, '\n') FROM (SELECT line FROM ("
             " SELECT 'col ' || name || ' ' || type || ' ' || \"notnull\" || ' ' || pk AS line FROM pragma_table_info(?1)"
             " UNION ALL SELECT 'fk ' || \"from\" || ' ' || \"table\" || ' ' || \"to\" || ' ' || on_delete"
             "   FROM pragma_foreign_key_list(?1)"
             " UNION ALL SELECT 'idx ' || CASE WHEN origin = 'c' THEN name ELSE origin END || ' ' || \"unique\" || ' ' ||"
             "   (SELECT group_concat(name) FROM pragma_index_info(il.name)) FROM pragma_index_list(?1) il"
             "   WHERE il.name NOT LIKE 'rm\\_%%' ESCAPE '\\'" /* our own list-order indexes, checked below */
             ") ORDER BY line)");
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    const char *t = (const char *)sqlite3_column_text(st, 0);
    char *out = strdup(t ? t : "");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

static char *pragma_text(const char *path, const char *pragma)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, pragma, -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    char *out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

Test(storage, sqlite_fresh_schema_matches_djangos)
{
    if (!is_sqlite())
        cr_skip_test("SQLite only");
    const char *django = temp_db_path("django-shape"), *fresh = temp_db_path("fresh");
    sqlite_exec(django, django_ddl);
    close_backend();
    snprintf(URL, sizeof(URL), "%s", fresh);
    open_backend();
    close_backend();

    static const char *const tables[] = {"auth_user", "resume_resume", "job_tracker_jobapplication", "ai_aimodel"};
    for (size_t i = 0; i < sizeof(tables) / sizeof(*tables); i++) {
        char *want = table_shape(django, tables[i]), *got = table_shape(fresh, tables[i]);
        cr_assert(strlen(want) > 0);
        cr_assert_str_eq(got, want, "table %s differs from Django's", tables[i]);
        free(want);
        free(got);
    }
    /* Django's own CREATE text, letter for letter (auth_user differs only in column order). */
    static const char *const exact[] = {"resume_resume", "job_tracker_jobapplication", "ai_aimodel",
                                        "resume_resume_user_id_0b155703",
                                        "job_tracker_jobapplication_resume_used_id_68776f96",
                                        "job_tracker_jobapplication_user_id_a3f6cbf6"};
    for (size_t i = 0; i < sizeof(exact) / sizeof(*exact); i++) {
        char where[160];
        snprintf(where, sizeof(where), "name = '%s'", exact[i]);
        char *want = sqlite_schema(django, where), *got = sqlite_schema(fresh, where);
        cr_assert(strlen(want) > 0);
        cr_assert_str_eq(got, want);
        free(want);
        free(got);
    }
    /* Our only additions to Django's tables are rm_-prefixed indexes serving the list orders. */
    char *extra = sqlite_schema(fresh, "type = 'index' AND name LIKE 'rm\\_%' ESCAPE '\\' AND tbl_name IN "
                                       "('resume_resume', 'job_tracker_jobapplication')");
    cr_assert(strstr(extra, "\"resume_resume\" (\"user_id\", \"updated_at\", \"id\")"), "%s", extra);
    cr_assert(strstr(extra, "\"job_tracker_jobapplication\" (\"user_id\", \"created_at\", \"id\")"), "%s", extra);
    free(extra);
    /* CHECK constraints and AUTOINCREMENT live only in the CREATE text. */
    char *ai = sqlite_schema(fresh, "name = 'ai_aimodel'");
    cr_assert(strstr(ai, "CHECK (\"daily_limit\" >= 0)"));
    cr_assert(strstr(ai, "AUTOINCREMENT"));
    free(ai);
    char *mode = pragma_text(fresh, "PRAGMA journal_mode");
    cr_assert_str_eq(mode, "wal");
    free(mode);
}

/* ---------------------------------------------------------------------------------------------- */
/* Export and import (vtable version 2: the scans and imports behind rm_storage_copy)              */
/* ---------------------------------------------------------------------------------------------- */

/* Ids a scan reported, to check order and membership (a shared PostgreSQL database holds many). */
typedef struct {
    int64_t *v;
    int n, cap;
} idlist;

static void ids_add(idlist *l, int64_t id)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->v = realloc(l->v, (size_t)l->cap * sizeof(*l->v));
        cr_assert_not_null(l->v);
    }
    l->v[l->n++] = id;
}

static void ids_clear(idlist *l)
{
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static bool ids_has(const idlist *l, int64_t id)
{
    for (int i = 0; i < l->n; i++)
        if (l->v[i] == id)
            return true;
    return false;
}

static void ids_assert_increasing(const idlist *l)
{
    for (int i = 1; i < l->n; i++)
        cr_assert_lt(l->v[i - 1], l->v[i], "scan not in id order at %d", i);
}

static int scan_user_id(void *d, const rm_user_record *r) { ids_add(d, r->id); return 0; }
static int scan_resume_id(void *d, const rm_resume_record *r) { ids_add(d, r->id); return 0; }
static int scan_app_id(void *d, const rm_application_record *r) { ids_add(d, r->id); return 0; }

typedef struct {
    const char *want;
    int found;
    int64_t user_id, other;
    char text[64];
} keyfind;

static int scan_token(void *d, const rm_token_deny_record *r)
{
    keyfind *k = d;
    if (strcmp(r->jti, k->want) == 0) {
        k->found++;
        k->user_id = r->user_id;
        k->other = r->expires_at;
    }
    return 0;
}

static int scan_idem(void *d, const rm_idempotency_record *r)
{
    keyfind *k = d;
    if (strcmp(r->key, k->want) == 0) {
        k->found++;
        k->user_id = r->user_id;
        k->other = r->resume_id;
        snprintf(k->text, sizeof(k->text), "%lld", (long long)r->created_at);
    }
    return 0;
}

typedef struct {
    int64_t user_id;
    int found;
    int32_t count;
    char day[16];
} usagefind;

static int scan_usage(void *d, const rm_usage_record *r)
{
    usagefind *u = d;
    if (r->user_id == u->user_id) {
        u->found++;
        u->count = r->count;
        snprintf(u->day, sizeof(u->day), "%s", r->day);
    }
    return 0;
}

static int stop_at_first_user(void *d, const rm_user_record *r)
{
    (void)r;
    ++*(int *)d;
    return 4242;
}

Test(storage, v2_members_are_present)
{
    cr_assert_geq(V->version, 2u);
    cr_assert(V->user_scan && V->resume_scan && V->application_scan && V->token_scan && V->usage_scan &&
              V->idempotency_scan && V->user_import && V->resume_import && V->application_import &&
              V->ai_model_import && V->usage_import);
}

Test(storage, scans_visit_every_row_in_id_order_deleted_and_examples_included)
{
    int64_t u1 = mk_user("scan1"), u2 = mk_user("scan2");
    int64_t r1 = mk_resume(u1, "t1", "c1", BASE, BASE), r2 = mk_resume(u2, "t2", "c2", BASE, BASE);
    int64_t a1 = mk_app(u1, "Applied", BASE);
    rm_application_record ex = app_tpl(u2, "Offer", BASE);
    ex.is_example = 1;
    int64_t a2 = mk_app_rec(&ex);
    OK(V->application_delete(SELF, u1, a1, BASE + SEC));

    idlist *l = &(idlist){0};
    OK(V->user_scan(SELF, scan_user_id, l));
    cr_assert(ids_has(l, u1) && ids_has(l, u2));
    ids_assert_increasing(l);
    if (private_db())
        cr_assert_eq(l->n, 2);
    ids_clear(l);
    OK(V->resume_scan(SELF, scan_resume_id, l));
    cr_assert(ids_has(l, r1) && ids_has(l, r2));
    ids_assert_increasing(l);
    ids_clear(l);
    OK(V->application_scan(SELF, scan_app_id, l));
    cr_assert(ids_has(l, a1), "a deleted application is scanned too");
    cr_assert(ids_has(l, a2));
    ids_assert_increasing(l);
    ids_clear(l);

    /* A sink's non-zero answer stops the scan and comes back. */
    int calls = 0;
    EXPECT(V->user_scan(SELF, stop_at_first_user, &calls), 4242);
    cr_assert_eq(calls, 1);

    char *jti = uniq("jti");
    OK(V->token_deny(SELF, jti, u1, BASE + 7 * SEC + 5));
    keyfind k = {.want = jti};
    OK(V->token_scan(SELF, scan_token, &k));
    cr_assert_eq(k.found, 1);
    cr_assert_eq(k.user_id, u1);
    cr_assert_eq(k.other, BASE + 7 * SEC + 5);

    int32_t n = 0;
    OK(V->usage_try_increment(SELF, u2, 77, "2024-02-29", 0, &n));
    OK(V->usage_try_increment(SELF, u2, 77, "2024-02-29", 0, &n));
    usagefind uf = {.user_id = u2};
    OK(V->usage_scan(SELF, scan_usage, &uf));
    cr_assert_eq(uf.found, 1);
    cr_assert_eq(uf.count, 2);
    cr_assert_str_eq(uf.day, "2024-02-29");

    char *key = uniq("idem");
    OK(V->idempotency_put(SELF, key, u2, r2, BASE + 3));
    keyfind kk = {.want = key};
    OK(V->idempotency_scan(SELF, scan_idem, &kk));
    cr_assert_eq(kk.found, 1);
    cr_assert_eq(kk.user_id, u2);
    cr_assert_eq(kk.other, r2);
    char want[32];
    snprintf(want, sizeof(want), "%lld", (long long)(BASE + 3));
    cr_assert_str_eq(kk.text, want);
    free(jti);
    free(key);
}

Test(storage, imports_keep_ids_and_later_inserts_continue_past_them)
{
    /* Users: the imported id is kept with every column, and the next insert gets a higher id. */
    int64_t base_u = mk_user("imp-base");
    char *name = uniq("imported");
    rm_user_record u = user_tpl(name);
    u.id = base_u + 50;
    u.first_name = "Imp";
    u.last_login = BASE + 5;
    u.tokens_valid_after = BASE + 9 * SEC;
    u.is_staff = 1;
    OK(V->user_import(SELF, &u));
    users g = {0};
    OK(V->user_get(SELF, u.id, NULL, user_sink, &g));
    cr_assert_eq(g.n, 1);
    assert_user(&g.v[0], &u, u.id);
    users_free(&g);
    int64_t next_u = mk_user("imp-next");
    cr_assert_gt(next_u, u.id, "insert after import got id %lld, not past %lld", (long long)next_u, (long long)u.id);
    /* The same id again, or the same username: conflict. */
    char *name2 = uniq("imported-again");
    rm_user_record u2 = user_tpl(name2);
    u2.id = u.id;
    EXPECT(V->user_import(SELF, &u2), RM_ECONFLICT);
    u2.id = next_u + 10;
    u2.username = name;
    EXPECT(V->user_import(SELF, &u2), RM_ECONFLICT);
    EXPECT(V->user_import(SELF, NULL), RM_EMISUSE);

    /* Resumes. */
    int64_t base_r = mk_resume(u.id, "b", "b", BASE, BASE);
    rm_resume_record r = {.id = base_r + 40, .user_id = u.id, .title = "Imported", .content = "# c\n",
                          .created_at = BASE + 1, .updated_at = BASE + 2};
    OK(V->resume_import(SELF, &r));
    resume_c gr;
    OK(get_resume(u.id, r.id, &gr));
    cr_assert_eq(gr.user_id, u.id);
    cr_assert_str_eq(gr.title, "Imported");
    cr_assert_str_eq(gr.content, "# c\n");
    cr_assert_eq(gr.created_at, BASE + 1);
    cr_assert_eq(gr.updated_at, BASE + 2);
    resume_c_free(&gr);
    cr_assert_gt(mk_resume(u.id, "n", "n", BASE, BASE), r.id);
    EXPECT(V->resume_import(SELF, &r), RM_ECONFLICT);

    /* Applications: a deleted one keeps its flag (and so is invisible to get), resume_used kept. */
    int64_t base_a = mk_app(u.id, "Applied", BASE);
    rm_application_record a = app_tpl(u.id, "Interviewing", BASE + 3);
    a.id = base_a + 30;
    a.resume_used = r.id;
    a.notes = NULL;
    OK(V->application_import(SELF, &a));
    app_c ga;
    OK(get_app(u.id, a.id, &ga));
    assert_app(&ga, &a, a.id);
    app_c_free(&ga);
    rm_application_record d = app_tpl(u.id, "Rejected", BASE + 4);
    d.id = a.id + 1;
    d.is_deleted = 1;
    OK(V->application_import(SELF, &d));
    EXPECT(get_app(u.id, d.id, &ga), RM_ENOTFOUND);
    idlist *l = &(idlist){0};
    OK(V->application_scan(SELF, scan_app_id, l));
    cr_assert(ids_has(l, d.id));
    ids_clear(l);
    cr_assert_gt(mk_app(u.id, "Offer", BASE), d.id);
    EXPECT(V->application_import(SELF, &a), RM_ECONFLICT);

    /* AI models: base_url kept; names stay unique case-insensitively. */
    char *mname = uniq("Imported Model");
    rm_ai_model_record probe = model_tpl(mname);
    char *pname = uniq("probe model");
    probe.display_name = pname;
    int64_t base_m = mk_model(&probe);
    rm_ai_model_record m = model_tpl(mname);
    m.id = base_m + 20;
    m.api_provider = "openai_compatible";
    m.base_url = "http://127.0.0.1:9/v1";
    m.daily_limit = 7;
    OK(V->ai_model_import(SELF, &m));
    model_c gm;
    OK(get_model(m.id, NULL, &gm));
    assert_model(&gm, &m, m.id);
    model_c_free(&gm);
    rm_ai_model_record clash = model_tpl(mname);
    for (char *p = (char *)pname; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    clash.display_name = pname; /* the probe's name in upper case */
    clash.id = m.id + 5;
    EXPECT(V->ai_model_import(SELF, &clash), RM_ECONFLICT);
    char *after = uniq("after import");
    rm_ai_model_record next = model_tpl(after);
    cr_assert_gt(mk_model(&next), m.id);

    /* Usage: the count is set, creating or overwriting the row. */
    rm_usage_record us = {.user_id = u.id, .model_id = m.id, .day = "2024-05-06", .count = 5};
    OK(V->usage_import(SELF, &us));
    int32_t n = -1;
    OK(V->usage_get(SELF, u.id, m.id, "2024-05-06", &n));
    cr_assert_eq(n, 5);
    us.count = 2;
    OK(V->usage_import(SELF, &us));
    OK(V->usage_get(SELF, u.id, m.id, "2024-05-06", &n));
    cr_assert_eq(n, 2);
    EXPECT(V->usage_try_increment(SELF, u.id, m.id, "2024-05-06", 3, &n), RM_OK);
    EXPECT(V->usage_try_increment(SELF, u.id, m.id, "2024-05-06", 3, &n), RM_ELIMIT);

    free(name);
    free(name2);
    free(mname);
    free(pname);
    free(after);
}
