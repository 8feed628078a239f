/*
 * PostgreSQL schema: adopting a Django-made database without changing it, creating the same schema
 * on an empty one, concurrent first opens, and refusing a newer schema.
 * Needs RM_TEST_PG_URL (scripts/pg.sh); each test works in scratch databases it drops afterwards.
 */
#include "test_pg_util.h"

#include <pthread.h>

static void fini(void) { pgt_drop_all(); }

TestSuite(pg_adopt, .fini = fini, .timeout = 120);

#define OK(expr)                                                                                      \
    do {                                                                                              \
        int rc_ = (expr);                                                                             \
        cr_assert_eq(rc_, RM_OK, "%s -> %d (%s)", #expr, rc_, rm_error_message(rm_error_last()));      \
    } while (0)

#define FOUR "('auth_user', 'ai_aimodel', 'resume_resume', 'job_tracker_jobapplication')"

/*
 * Everything about the shape of some tables in schema public: tables, columns (type, length, nullability,
 * default), constraints (with their definition and deferrability), indexes, and sequences (type, bounds,
 * owner). `filter` is an SQL condition on a table name written as %s, e.g. "%s NOT LIKE 'rm\\_%%'".
 */
static char *shape(PGconn *c, const char *filter)
{
    char f_tab[200], f_col[200], f_con[200], f_idx[200], f_seq[200], sql[4096];
    snprintf(f_tab, sizeof(f_tab), filter, "t.relname");
    snprintf(f_col, sizeof(f_col), filter, "c.table_name");
    snprintf(f_con, sizeof(f_con), filter, "t.relname");
    snprintf(f_idx, sizeof(f_idx), filter, "i.tablename");
    snprintf(f_seq, sizeof(f_seq), filter, "regexp_replace(s.relname, '_id_seq$', '')");
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(string_agg(x, E'\\n' ORDER BY x), '') FROM ("
             " SELECT format('table %%s kind=%%s persistence=%%s options=%%s', t.relname, t.relkind, t.relpersistence, t.reloptions) AS x"
             "  FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace"
             "  WHERE n.nspname = 'public' AND t.relkind IN ('r', 'p') AND %s"
             " UNION ALL"
             " SELECT format('column %%s.%%s #%%s %%s(%%s,%%s,%%s) nullable=%%s default=%%s', c.table_name, c.column_name,"
             "  c.ordinal_position, c.data_type, c.character_maximum_length, c.numeric_precision, c.datetime_precision,"
             "  c.is_nullable, c.column_default)"
             "  FROM information_schema.columns c WHERE c.table_schema = 'public' AND %s"
             " UNION ALL"
             " SELECT format('constraint %%s %%s %%s deferrable=%%s deferred=%%s', t.relname, k.conname,"
             "  pg_get_constraintdef(k.oid), k.condeferrable, k.condeferred)"
             "  FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace"
             "  WHERE n.nspname = 'public' AND %s"
             " UNION ALL"
             " SELECT format('index %%s', i.indexdef) FROM pg_indexes i WHERE i.schemaname = 'public' AND %s"
             " UNION ALL"
             " SELECT format('sequence %%s %%s start=%%s inc=%%s min=%%s max=%%s cache=%%s owner=%%s.%%s', s.relname,"
             "  q.seqtypid::regtype, q.seqstart, q.seqincrement, q.seqmin, q.seqmax, q.seqcache, o.relname, a.attname)"
             "  FROM pg_sequence q JOIN pg_class s ON s.oid = q.seqrelid JOIN pg_namespace n ON n.oid = s.relnamespace"
             "  LEFT JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.deptype = 'a'"
             "  LEFT JOIN pg_class o ON o.oid = d.refobjid"
             "  LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
             "  WHERE n.nspname = 'public' AND %s"
             ") s",
             f_tab, f_col, f_con, f_idx, f_seq);
    char *v = pgt_value(c, sql);
    cr_assert_not_null(v);
    return v;
}

static char *tables(PGconn *c)
{
    return pgt_value(c, "SELECT coalesce(string_agg(relname, ',' ORDER BY relname), '') FROM pg_class t "
                        "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public' AND t.relkind = 'r'");
}

/* Load Django's pg_dump (our shipped copy of shared/django-schema.sql) into the database at url. */
static void load_django_schema(const char *url)
{
    char *ddl = pgt_read_file(RM_SOURCE_DIR "/tests/data/django-schema.sql");
    PGconn *c = pgt_connect(url);
    pgt_exec(c, ddl);
    PQfinish(c);
    free(ddl);
}

/* Rows as Django writes them, in a session whose time zone is not UTC (the values carry their offset). */
static const char *const django_rows =
    "SET TimeZone = 'America/New_York';"
    "INSERT INTO auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, "
    " is_staff, is_active, date_joined) VALUES "
    " (7, 'pbkdf2_sha256$720000$abc$def=', '2024-01-02 03:04:05.25+00', false, 'olduser', 'Old', 'User', "
    "  'old@example.com', false, true, '2024-01-02 03:04:05+00'),"
    " (8, '!unusable', NULL, true, 'admin', '', '', '', true, true, '2023-12-31 23:59:59.999999+00');"
    "SELECT setval('auth_user_id_seq', 8);"
    "INSERT INTO resume_resume (id, title, content, created_at, updated_at, user_id) VALUES "
    " (3, 'Django CV', 'made by Django', '2024-01-02 03:04:05+00', '2024-01-02 03:04:05.5+00', 7);"
    "SELECT setval('resume_resume_id_seq', 3);"
    "INSERT INTO job_tracker_jobapplication (id, job_title, company_name, original_job_description, date_applied, "
    " status, notes, is_deleted, is_example, created_at, updated_at, resume_used_id, user_id) VALUES "
    " (11, 'Dev', NULL, NULL, '2024-01-03', 'Interviewing', NULL, false, true, '2024-01-02 03:04:05+00', "
    "  '2024-01-02 03:04:06.5+00', 3, 7);"
    "SELECT setval('job_tracker_jobapplication_id_seq', 11);"
    "INSERT INTO ai_aimodel (id, display_name, model_name, api_provider, api_key_name, is_active, login_required, "
    " daily_limit, response_time_info, description, created_at, updated_at) VALUES "
    " (5, 'Gemini', 'gemini-1.5-flash', 'google_gemini', 'GEMINI_API_KEY', true, true, 0, '~2s', 'Google''s model', "
    "  '2024-01-02 03:04:05+00', '2024-01-02 03:04:05+00');"
    "SELECT setval('ai_aimodel_id_seq', 5);"
    "INSERT INTO django_migrations (app, name, applied) VALUES ('resume', '0001_initial', now());";

/* 2024-01-02 03:04:05 UTC in microseconds. */
#define DJ_T INT64_C(1704164645000000)

typedef struct {
    int n;
    int64_t id, t1, t2, t3, ref;
    char s1[128], s2[128];
    int flag;
} got;

static int user_sink(void *d, const rm_user_record *r)
{
    got *g = d;
    g->n++;
    g->id = r->id;
    g->t1 = r->date_joined;
    g->t2 = r->last_login;
    g->t3 = r->tokens_valid_after;
    snprintf(g->s1, sizeof(g->s1), "%s", r->username);
    snprintf(g->s2, sizeof(g->s2), "%s", r->password);
    g->flag = r->is_superuser;
    return 0;
}

static int resume_sink(void *d, const rm_resume_record *r)
{
    got *g = d;
    g->n++;
    g->id = r->id;
    g->t1 = r->created_at;
    g->t2 = r->updated_at;
    g->ref = r->user_id;
    snprintf(g->s1, sizeof(g->s1), "%s", r->title);
    snprintf(g->s2, sizeof(g->s2), "%s", r->content);
    return 0;
}

static int app_sink(void *d, const rm_application_record *r)
{
    got *g = d;
    g->n++;
    g->id = r->id;
    g->t1 = r->created_at;
    g->t2 = r->updated_at;
    g->ref = r->resume_used;
    snprintf(g->s1, sizeof(g->s1), "%s|%s|%s", r->job_title ? r->job_title : "(null)",
             r->company_name ? r->company_name : "(null)", r->date_applied ? r->date_applied : "(null)");
    snprintf(g->s2, sizeof(g->s2), "%s", r->status);
    g->flag = r->is_example;
    return 0;
}

static int model_sink(void *d, const rm_ai_model_record *r)
{
    got *g = d;
    g->n++;
    g->id = r->id;
    g->t1 = r->created_at;
    snprintf(g->s1, sizeof(g->s1), "%s", r->display_name);
    snprintf(g->s2, sizeof(g->s2), "%s", r->base_url ? r->base_url : "(null)");
    g->flag = r->login_required;
    return 0;
}

Test(pg_adopt, adopts_a_django_database_and_changes_none_of_its_tables)
{
    char url[1024];
    pgt_fresh_db(url, sizeof(url));
    load_django_schema(url);
    PGconn *c = pgt_connect(url);
    pgt_exec(c, django_rows);
    char *shape_before = shape(c, "%s NOT LIKE 'rm\\_%%'");
    char *tables_before = tables(c);
    cr_assert_str_eq(tables_before, "ai_aimodel,auth_user,django_migrations,job_tracker_jobapplication,resume_resume");

    rm_storage *s = pgt_open(url);
    const rm_storage_vtable *V = rm_storage_vtable_of(s);
    void *S = rm_storage_self(s);

    /* Django's rows read back exactly, times to the microsecond. */
    got g = {0};
    OK(V->user_get(S, 7, NULL, user_sink, &g));
    cr_assert_eq(g.n, 1);
    cr_assert_str_eq(g.s1, "olduser");
    cr_assert_str_eq(g.s2, "pbkdf2_sha256$720000$abc$def=");
    cr_assert_eq(g.t1, DJ_T);
    cr_assert_eq(g.t2, DJ_T + 250000);
    cr_assert_eq(g.t3, RM_NO_TIME);
    g = (got){0};
    OK(V->user_get(S, 0, "admin", user_sink, &g));
    cr_assert_eq(g.id, 8);
    cr_assert_eq(g.t1, INT64_C(1704067199999999));
    cr_assert_eq(g.t2, RM_NO_TIME);
    cr_assert_eq(g.flag, 1);

    g = (got){0};
    OK(V->resume_get(S, 7, 3, resume_sink, &g));
    cr_assert_str_eq(g.s1, "Django CV");
    cr_assert_str_eq(g.s2, "made by Django");
    cr_assert_eq(g.t1, DJ_T);
    cr_assert_eq(g.t2, DJ_T + 500000);

    g = (got){0};
    OK(V->application_get(S, 0, 11, app_sink, &g)); /* an example, visible to everyone */
    cr_assert_str_eq(g.s1, "Dev|(null)|2024-01-03");
    cr_assert_str_eq(g.s2, "Interviewing");
    cr_assert_eq(g.ref, 3);
    cr_assert_eq(g.flag, 1);
    cr_assert_eq(g.t2, DJ_T + 1500000);

    g = (got){0};
    OK(V->ai_model_get(S, 0, "GEMINI", model_sink, &g));
    cr_assert_eq(g.id, 5);
    cr_assert_str_eq(g.s1, "Gemini");
    cr_assert_str_eq(g.s2, "(null)");
    cr_assert_eq(g.flag, 1);

    /* Writes continue Django's sequences and respect its constraints. */
    rm_user_record u = {.username = "newuser", .email = "", .password = "!", .first_name = "", .last_name = "",
                        .is_active = 1, .date_joined = DJ_T + 1, .last_login = RM_NO_TIME,
                        .tokens_valid_after = DJ_T + 2};
    int64_t uid = 0;
    OK(V->user_insert(S, &u, &uid));
    cr_assert_eq(uid, 9);
    char *dj = pgt_value(c, "SELECT date_joined = '2024-01-02 03:04:05.000001+00' FROM auth_user WHERE id = 9");
    cr_assert_str_eq(dj, "t", "Django must see the same instant");
    free(dj);
    rm_user_record dup = u;
    dup.username = "olduser";
    cr_assert_eq(V->user_insert(S, &dup, &uid), RM_ECONFLICT);
    rm_ai_model_record m = {.display_name = "gemini", .model_name = "x", .api_provider = "google_gemini",
                            .api_key_name = "K", .response_time_info = "", .description = "",
                            .created_at = DJ_T, .updated_at = DJ_T};
    int64_t mid = 0;
    cr_assert_eq(V->ai_model_insert(S, &m, &mid), RM_ECONFLICT, "names are unique case-insensitively");
    m.display_name = "Local";
    m.base_url = "http://127.0.0.1:11434/v1";
    OK(V->ai_model_insert(S, &m, &mid));
    cr_assert_eq(mid, 6);
    OK(V->resume_delete(S, 7, 3));
    g = (got){0};
    OK(V->application_get(S, 7, 11, app_sink, &g));
    cr_assert_eq(g.ref, 0);

    /* Reopening is a no-op. */
    rm_storage_free(s);
    s = pgt_open(url);
    rm_storage_free(s);

    /* Nothing of Django's changed shape; only our tables were added. */
    char *shape_after = shape(c, "%s NOT LIKE 'rm\\_%%'");
    cr_assert_str_eq(shape_after, shape_before);
    char *tables_after = tables(c);
    cr_assert_str_eq(tables_after, "ai_aimodel,auth_user,django_migrations,job_tracker_jobapplication,"
                                   "resume_resume,rm_ai_model_ext,rm_daily_usage,rm_idempotency,rm_schema_version,"
                                   "rm_token_denylist,rm_user_ext");
    cr_assert_eq(pgt_int(c, "SELECT count(*) FROM rm_schema_version"), 1);
    cr_assert_eq(pgt_int(c, "SELECT count(*) FROM django_migrations"), 1);
    free(shape_before);
    free(shape_after);
    free(tables_before);
    free(tables_after);
    PQfinish(c);
}

Test(pg_adopt, creates_djangos_schema_exactly_on_an_empty_database)
{
    char durl[1024], rurl[1024];
    pgt_fresh_db(durl, sizeof(durl));
    load_django_schema(durl);
    pgt_fresh_db(rurl, sizeof(rurl));
    rm_storage_free(pgt_open(rurl));

    PGconn *dc = pgt_connect(durl), *rc = pgt_connect(rurl);
    char *want = shape(dc, "%s IN " FOUR), *have = shape(rc, "%s IN " FOUR);
    cr_assert_gt(strlen(want), 1000, "the reference schema did not load");
    cr_assert_str_eq(have, want);
    char *t = tables(rc);
    cr_assert_str_eq(t, "ai_aimodel,auth_user,job_tracker_jobapplication,resume_resume,rm_ai_model_ext,"
                        "rm_daily_usage,rm_idempotency,rm_schema_version,rm_token_denylist,rm_user_ext");
    free(t);
    free(want);
    free(have);
    PQfinish(dc);
    PQfinish(rc);
}

/* A database where Django's auth app is migrated but ResuMate's apps are not: only what is missing appears. */
Test(pg_adopt, creates_only_the_missing_tables)
{
    char durl[1024], rurl[1024];
    pgt_fresh_db(durl, sizeof(durl));
    load_django_schema(durl);
    pgt_fresh_db(rurl, sizeof(rurl));
    load_django_schema(rurl);
    PGconn *rc = pgt_connect(rurl);
    pgt_exec(rc, "DROP TABLE job_tracker_jobapplication; DROP TABLE resume_resume; DROP TABLE ai_aimodel;"
                 "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
                 "is_active, date_joined) VALUES ('x', false, 'kept', '', '', '', false, true, now())");
    rm_storage_free(pgt_open(rurl));
    PGconn *dc = pgt_connect(durl);
    char *want = shape(dc, "%s IN " FOUR), *have = shape(rc, "%s IN " FOUR);
    cr_assert_str_eq(have, want);
    cr_assert_eq(pgt_int(rc, "SELECT count(*) FROM auth_user WHERE username = 'kept'"), 1);
    free(want);
    free(have);
    PQfinish(dc);
    PQfinish(rc);
}

#define OPENERS 6
static char race_url[1024];
static int race_rc[OPENERS];
static char race_msg[OPENERS][256];

static void *race_open(void *arg)
{
    int i = (int)(intptr_t)arg;
    rm_storage *s = NULL;
    race_rc[i] = rm_storage_open(&s, race_url);
    if (race_rc[i] != RM_OK) {
        snprintf(race_msg[i], sizeof(race_msg[i]), "%s", rm_error_message(rm_error_last()));
        return NULL;
    }
    char name[32];
    snprintf(name, sizeof(name), "racer%d", i);
    rm_user_record u = {.username = name, .email = "", .password = "!", .first_name = "", .last_name = "",
                        .is_active = 1, .date_joined = 0, .last_login = RM_NO_TIME, .tokens_valid_after = RM_NO_TIME};
    int64_t id;
    race_rc[i] = rm_storage_vtable_of(s)->user_insert(rm_storage_self(s), &u, &id);
    if (race_rc[i] != RM_OK)
        snprintf(race_msg[i], sizeof(race_msg[i]), "%s", rm_error_message(rm_error_last()));
    rm_storage_free(s);
    return NULL;
}

Test(pg_adopt, concurrent_first_opens_create_the_schema_once)
{
    pgt_fresh_db(race_url, sizeof(race_url));
    pthread_t t[OPENERS];
    for (int i = 0; i < OPENERS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, race_open, (void *)(intptr_t)i), 0);
    for (int i = 0; i < OPENERS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < OPENERS; i++)
        cr_assert_eq(race_rc[i], RM_OK, "opener %d: %d (%s)", i, race_rc[i], race_msg[i]);
    PGconn *c = pgt_connect(race_url);
    cr_assert_eq(pgt_int(c, "SELECT count(*) FROM rm_schema_version"), 1);
    cr_assert_eq(pgt_int(c, "SELECT count(*) FROM auth_user"), OPENERS);
    PQfinish(c);
}

Test(pg_adopt, refuses_a_schema_newer_than_the_library)
{
    char url[1024];
    pgt_fresh_db(url, sizeof(url));
    rm_storage_free(pgt_open(url));
    PGconn *c = pgt_connect(url);
    pgt_exec(c, "INSERT INTO rm_schema_version (version, applied_at) VALUES (99, now())");
    rm_storage *s = NULL;
    cr_assert_eq(rm_storage_open(&s, url), RM_ESTORAGE);
    cr_assert_null(s);
    cr_assert(strstr(rm_error_message(rm_error_last()), "99"), "message: %s", rm_error_message(rm_error_last()));
    PQfinish(c);
}
