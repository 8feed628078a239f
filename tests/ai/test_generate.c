/* rm_ai_generate end to end: a ctx on a SQLite file, the built-in libcurl transport, and the fake
 * provider on 127.0.0.1 scripted per request. */
#include "fake.h"
#include "rm_test.h"

#include <pthread.h>
#include <resumate/resumate.h>

static rm_ctx *ctx;
static void *allocated[8]; /* test-side state, freed once the ctx has stopped */
static int nallocated;
static char *db_path;
static rm_principal *alice, *anon;
static rm_test_clock_state clk = {.now_us = INT64_C(1753401540000000)}; /* 2025-07-24T23:59:00Z */

static const char INPUT[] = "I am Jane Doe, a software engineer with eight years of Python and Go experience.";

static void model(const char *display, const char *provider, const char *name, const char *key_var, const char *extra_k,
                  const char *extra_v)
{
    rm_fields *f = rm_test_fields("display_name", display, "model_name", name, "api_provider", provider, "api_key_name",
                                  key_var, NULL);
    if (strcmp(provider, "openai_compatible") == 0) {
        char url[128];
        snprintf(url, sizeof(url), "%s/v1/", fake.base);
        rm_fields_set_string(f, "base_url", url);
    }
    if (extra_k)
        rm_fields_set_string(f, extra_k, extra_v);
    cr_assert_eq(rm_ai_model_create(NULL, ctx, f), RM_OK, "%s", rm_error_message(rm_error_last()));
    rm_fields_free(f);
}

static rm_ctx *open_ctx(void (*tweak)(rm_ctx_options *))
{
    char url[512], orbase[128];
    snprintf(url, sizeof(url), "sqlite:///%s", db_path);
    snprintf(orbase, sizeof(orbase), "%s/api/v1", fake.base);
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage_url = url;
    o.password_iterations = 1000;
    o.clock = rm_test_clock;
    o.clock_userdata = &clk;
    o.gemini_base_url = fake.base;
    o.openrouter_base_url = orbase;
    o.openrouter_referer = "https://resumate.test";
    o.openrouter_title = "ResuMate Tests";
    o.ai_backoff_base_ms = 40;
    o.ai_backoff_cap_ms = 100;
    o.ai_deadline_ms = 10000;
    o.ai_breaker_threshold = 1000;
    if (tweak)
        tweak(&o);
    rm_ctx *c = NULL;
    cr_assert_eq(rm_ctx_new(&c, &o), RM_OK, "%s", rm_error_message(rm_error_last()));
    return c;
}

static void start(void (*tweak)(rm_ctx_options *))
{
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    setenv("RM_T_GEMINI_KEY", "gem-secret-1", 1);
    setenv("RM_T_OR_KEY", "or-secret-1", 1);
    fake_start();
    db_path = rm_test_path(".db");
    ctx = open_ctx(tweak);
    model("Gemini", "google_gemini", "gemini-test", "RM_T_GEMINI_KEY", "login_required", "true");
    model("Router", "open_router", "vendor/router", "RM_T_OR_KEY", NULL, NULL);
    model("Backup", "open_router", "vendor/backup", "RM_T_OR_KEY", NULL, NULL);
    model("Local", "openai_compatible", "local-llm", "", NULL, NULL);
    model("Limited", "open_router", "vendor/limited", "RM_T_OR_KEY", "daily_limit", "2");
    model("Retired", "open_router", "vendor/retired", "RM_T_OR_KEY", "is_active", "false");
    rm_user *u = NULL;
    cr_assert_eq(rm_user_create(&u, ctx, "alice", "alice@example.com", "correct horse battery", 0), RM_OK);
    cr_assert_eq(rm_principal_for_user(&alice, u), RM_OK);
    rm_user_free(u);
    cr_assert_eq(rm_principal_anonymous(&anon), RM_OK);
}

static void teardown(void)
{
    rm_principal_free(alice);
    rm_principal_free(anon);
    rm_ctx_free(ctx);
    for (int i = 0; i < nallocated; i++)
        free(allocated[i]);
    fake_stop();
}

TestSuite(generate, .fini = teardown, .timeout = 60);

static rm_fields *req(const char *model_name, const char *title)
{
    rm_fields *f = rm_test_fields("model", model_name, "user_input", INPUT, NULL);
    if (title)
        rm_fields_set_string(f, "title", title);
    return f;
}

static int gen(rm_ai_result **out, const rm_principal *who, const char *model_name, const char *idem)
{
    rm_fields *f = req(model_name, NULL);
    rm_ai_generate_options o = RM_AI_GENERATE_OPTIONS_INIT;
    o.idempotency_key = idem;
    int rc = rm_ai_generate(out, ctx, who, f, &o);
    rm_fields_free(f);
    return rc;
}

static size_t resume_count(const rm_principal *who)
{
    rm_resume_page *p = NULL;
    cr_assert_eq(rm_resume_list(&p, ctx, who, NULL), RM_OK);
    size_t n = rm_resume_page_count(p);
    rm_resume_page_free(p);
    return n;
}

static const char *log_str(json_t *log, size_t i, const char *a, const char *b)
{
    json_t *v = json_object_get(json_array_get(log, i), a);
    if (b)
        v = json_object_get(v, b);
    return json_string_value(v);
}

static double log_t(json_t *log, size_t i) { return json_real_value(json_object_get(json_array_get(log, i), "t")); }

static char *fields_json(void)
{
    char *s = NULL;
    cr_assert_eq(rm_error_fields_json(&s, rm_error_last()), RM_OK);
    return s;
}

/* ---- success paths ---- */

Test(generate, gemini_answer_is_saved_for_the_caller)
{
    start(NULL);
    rm_ai_result *r = NULL;
    cr_assert_eq(gen(&r, alice, "gemini", NULL), RM_OK, "%s", rm_error_message(rm_error_last()));
    cr_assert_str_eq(rm_ai_result_content(r), "# Jane Doe\n\n## Experience\n\nSoftware engineer.");
    cr_assert_str_eq(rm_ai_result_title(r), "Untitled Resume");
    cr_assert_str_eq(rm_ai_result_model(r), "Gemini");
    rm_resume *res = NULL;
    cr_assert_eq(rm_resume_get(&res, ctx, alice, rm_ai_result_resume_id(r)), RM_OK);
    cr_assert_str_eq(rm_resume_content(res), rm_ai_result_content(r));
    rm_resume_free(res);
    char *json = NULL;
    cr_assert_eq(rm_ai_result_to_json(&json, r), RM_OK);
    cr_assert(strstr(json, "\"resume_id\"") && strstr(json, "\"content\""));
    rm_free(json);
    rm_ai_result_free(r);

    json_t *log = fake_log();
    cr_assert_eq(json_array_size(log), 1);
    cr_assert_str_eq(log_str(log, 0, "path", NULL), "/v1beta/models/gemini-test:generateContent");
    cr_assert_str_eq(log_str(log, 0, "headers", "x-goog-api-key"), "gem-secret-1");
    json_t *body = json_object_get(json_array_get(log, 0), "body");
    const char *sys = json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(body, "systemInstruction"), "parts"), 0), "text"));
    json_t *c0 = json_array_get(json_object_get(body, "contents"), 0);
    const char *user = json_string_value(json_object_get(json_array_get(json_object_get(c0, "parts"), 0), "text"));
    cr_assert(sys && strstr(sys, "Markdown") && !strstr(sys, "Jane Doe"), "instructions and data are kept apart");
    cr_assert(user && strstr(user, "<user_input>") && strstr(user, INPUT));
    cr_assert_str_eq(json_string_value(json_object_get(c0, "role")), "user");
    json_decref(log);
}

Test(generate, anonymous_generation_is_saved_under_anonymous_user)
{
    start(NULL);
    rm_fields *f = req("ROUTER", "My CV");
    rm_ai_result *r = NULL;
    cr_assert_eq(rm_ai_generate(&r, ctx, anon, f, NULL), RM_OK, "%s", rm_error_message(rm_error_last()));
    rm_fields_free(f);
    rm_user *au = NULL;
    cr_assert_eq(rm_user_anonymous(&au, ctx), RM_OK);
    cr_assert_not(rm_user_is_active(au));
    rm_principal *ap = NULL;
    cr_assert_eq(rm_principal_for_user(&ap, au), RM_OK);
    rm_resume *res = NULL;
    cr_assert_eq(rm_resume_get(&res, ctx, ap, rm_ai_result_resume_id(r)), RM_OK);
    cr_assert_str_eq(rm_resume_title(res), "My CV");
    rm_resume_free(res);
    rm_principal_free(ap);
    rm_user_free(au);
    rm_ai_result_free(r);

    json_t *log = fake_log();
    cr_assert_str_eq(log_str(log, 0, "path", NULL), "/api/v1/chat/completions");
    cr_assert_str_eq(log_str(log, 0, "headers", "authorization"), "Bearer or-secret-1");
    cr_assert_str_eq(log_str(log, 0, "headers", "http-referer"), "https://resumate.test");
    cr_assert_str_eq(log_str(log, 0, "headers", "x-title"), "ResuMate Tests");
    json_t *msgs = json_object_get(json_object_get(json_array_get(log, 0), "body"), "messages");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(msgs, 0), "role")), "system");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(msgs, 1), "role")), "user");
    cr_assert_str_eq(log_str(log, 0, "model", NULL), "vendor/router");
    json_decref(log);
}

Test(generate, openai_compatible_needs_no_key)
{
    start(NULL);
    rm_ai_result *r = NULL;
    cr_assert_eq(gen(&r, alice, "Local", NULL), RM_OK, "%s", rm_error_message(rm_error_last()));
    rm_ai_result_free(r);
    json_t *log = fake_log();
    cr_assert_str_eq(log_str(log, 0, "path", NULL), "/v1/chat/completions");
    cr_assert_null(log_str(log, 0, "headers", "authorization"));
    json_decref(log);
}

Test(generate, application_tailors_the_prompt_and_must_be_the_callers)
{
    start(NULL);
    rm_fields *af = rm_test_fields("job_title", "Data Engineer", "company_name", "Acme Corp", "original_job_description",
                                   "Build Spark pipelines.", NULL);
    rm_application *app = NULL;
    cr_assert_eq(rm_application_create(&app, ctx, alice, af), RM_OK);
    rm_fields_free(af);
    rm_fields *f = req("Router", NULL);
    rm_fields_set_int(f, "application_id", rm_application_id(app));
    rm_ai_result *r = NULL;
    cr_assert_eq(rm_ai_generate(&r, ctx, alice, f, NULL), RM_OK, "%s", rm_error_message(rm_error_last()));
    rm_ai_result_free(r);
    json_t *log = fake_log();
    json_t *msgs = json_object_get(json_object_get(json_array_get(log, 0), "body"), "messages");
    const char *user = json_string_value(json_object_get(json_array_get(msgs, 1), "content"));
    cr_assert(strstr(user, "Data Engineer") && strstr(user, "Acme Corp") && strstr(user, "Build Spark pipelines."));
    json_decref(log);

    /* someone else's (or no one's) application is a field error, before any provider call */
    rm_user *bob = NULL;
    rm_principal *bp = NULL;
    cr_assert_eq(rm_user_create(&bob, ctx, "bob", "bob@example.com", "another good pass", 0), RM_OK);
    rm_principal_for_user(&bp, bob);
    cr_assert_eq(rm_ai_generate(&r, ctx, bp, f, NULL), RM_EINVALID);
    char *j = fields_json();
    char want[128];
    snprintf(want, sizeof(want), "{\"application_id\":[\"Invalid pk \\\"%lld\\\" - object does not exist.\"]}",
             (long long)rm_application_id(app));
    cr_assert_str_eq(j, want);
    rm_free(j);
    cr_assert_eq(fake_count(), 1);
    rm_fields_free(f);
    rm_principal_free(bp);
    rm_user_free(bob);
    rm_application_free(app);
}

/* ---- validation and policy ---- */

Test(generate, validation_errors_are_field_errors)
{
    start(NULL);
    rm_ai_result *r = NULL;
    rm_fields *f = rm_test_fields("model", "Router", "user_input", "too short", NULL);
    cr_assert_eq(rm_ai_generate(&r, ctx, alice, f, NULL), RM_EINVALID);
    char *j = fields_json();
    cr_assert_str_eq(j, "{\"user_input\":[\"Ensure this field has at least 50 characters.\"]}");
    rm_free(j);
    rm_fields_free(f);

    f = rm_test_fields("model", "No Such Model", NULL);
    cr_assert_eq(rm_ai_generate(&r, ctx, alice, f, NULL), RM_EINVALID);
    j = fields_json();
    cr_assert_str_eq(j, "{\"model\":[\"This model is not valid or is currently disabled.\"],"
                        "\"user_input\":[\"This field is required.\"]}");
    rm_free(j);
    rm_fields_free(f);

    f = req("Retired", NULL);
    cr_assert_eq(rm_ai_generate(&r, ctx, alice, f, NULL), RM_EINVALID);
    j = fields_json();
    cr_assert_str_eq(j, "{\"model\":[\"This model is not valid or is currently disabled.\"]}");
    rm_free(j);
    rm_fields_free(f);

    char title[300];
    memset(title, 'x', 299);
    title[299] = '\0';
    f = req("Router", title);
    cr_assert_eq(rm_ai_generate(&r, ctx, alice, f, NULL), RM_EINVALID);
    j = fields_json();
    cr_assert_str_eq(j, "{\"title\":[\"Ensure this field has no more than 255 characters.\"]}");
    rm_free(j);
    rm_fields_free(f);
    cr_assert_eq(fake_count(), 0, "no provider call for invalid input");
}

Test(generate, login_required_refuses_anonymous_callers)
{
    start(NULL);
    rm_ai_result *r = NULL;
    rm_fields *f = req("gemini", NULL);
    cr_assert_eq(rm_ai_generate(&r, ctx, anon, f, NULL), RM_EINVALID);
    char *j = fields_json();
    cr_assert_str_eq(j, "{\"model\":[\"You must be logged in to use the Gemini model.\"]}");
    rm_free(j);
    rm_fields_free(f);
    cr_assert_eq(fake_count(), 0);
}

Test(generate, a_missing_key_names_the_variable_and_a_rotated_key_is_picked_up)
{
    start(NULL);
    unsetenv("RM_T_OR_KEY");
    rm_ai_result *r = NULL;
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_EUPSTREAM);
    cr_assert_eq(rm_error_reason(rm_error_last()), RM_UPSTREAM_NO_KEY);
    cr_assert(strstr(rm_error_message(rm_error_last()), "RM_T_OR_KEY"));
    cr_assert_eq(fake_count(), 0);
    cr_assert_eq(resume_count(alice), 0);
    setenv("RM_T_OR_KEY", "or-rotated-2", 1);
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_OK);
    rm_ai_result_free(r);
    json_t *log = fake_log();
    cr_assert_str_eq(log_str(log, 0, "headers", "authorization"), "Bearer or-rotated-2");
    json_decref(log);
}

/* ---- retries ---- */

Test(generate, retries_transient_failures_with_backoff)
{
    start(NULL);
    /* the reset comes first, on a fresh connection: libcurl transparently re-sends a request whose
     * reused keep-alive connection died, which would hide it from us */
    fake_script("vendor/router", "[{\"kind\": \"reset\"}, {\"status\": 503}]");
    rm_ai_result *r = NULL;
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_OK, "%s", rm_error_message(rm_error_last()));
    rm_ai_result_free(r);
    json_t *log = fake_log();
    cr_assert_eq(json_array_size(log), 3);
    /* backoff: at least 0.75 x 40 ms, then 0.75 x 80 ms */
    cr_assert_geq(log_t(log, 1) - log_t(log, 0), 0.030);
    cr_assert_geq(log_t(log, 2) - log_t(log, 1), 0.060);
    json_decref(log);
}

Test(generate, exhausted_retries_give_upstream_unavailable_without_secrets)
{
    start(NULL);
    fake_default("{\"status\": 502, \"message\": \"RAW-UPSTREAM-BODY\", \"raw\": \"RAW-UPSTREAM-BODY\"}");
    rm_ai_result *r = NULL;
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_EUPSTREAM);
    const rm_error *e = rm_error_last();
    cr_assert_eq(rm_error_reason(e), RM_UPSTREAM_UNAVAILABLE);
    cr_assert_not(strstr(rm_error_message(e), "RAW-UPSTREAM-BODY"), "%s", rm_error_message(e));
    cr_assert_not(strstr(rm_error_message(e), "or-secret-1"));
    cr_assert_eq(fake_count(), 3, "max attempts is 3");
    cr_assert_eq(resume_count(alice), 0);
}

Test(generate, http_200_with_error_is_retried)
{
    start(NULL);
    fake_script("vendor/router", "[{\"kind\": \"error200\"}]");
    rm_ai_result *r = NULL;
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_OK, "%s", rm_error_message(rm_error_last()));
    rm_ai_result_free(r);
    cr_assert_eq(fake_count(), 2);
}

Test(generate, retry_after_is_honoured)
{
    start(NULL);
    fake_script("vendor/router", "[{\"status\": 429, \"retry_after\": \"0.4\"}]");
    rm_ai_result *r = NULL;
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_OK, "%s", rm_error_message(rm_error_last()));
    rm_ai_result_free(r);
    json_t *log = fake_log();
    cr_assert_eq(json_array_size(log), 2);
    cr_assert_geq(log_t(log, 1) - log_t(log, 0), 0.38);
    json_decref(log);
}

Test(generate, gemini_retry_info_is_honoured)
{
    start(NULL);
    fake_script("gemini-test", "[{\"status\": 429, \"retry_info\": \"0.3s\"}]");
    rm_ai_result *r = NULL;
    cr_assert_eq(gen(&r, alice, "Gemini", NULL), RM_OK, "%s", rm_error_message(rm_error_last()));
    rm_ai_result_free(r);
    json_t *log = fake_log();
    cr_assert_eq(json_array_size(log), 2);
    cr_assert_geq(log_t(log, 1) - log_t(log, 0), 0.28);
    json_decref(log);
}

static void short_retry_after_cap(rm_ctx_options *o) { o->ai_retry_after_cap_ms = 1000; }

Test(generate, retry_after_beyond_the_cap_ends_retries)
{
    start(short_retry_after_cap);
    fake_script("vendor/router", "[{\"status\": 429, \"retry_after\": 30}]");
    rm_ai_result *r = NULL;
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_EUPSTREAM);
    cr_assert_eq(rm_error_reason(rm_error_last()), RM_UPSTREAM_RATE_LIMIT);
    cr_assert_eq(rm_error_retry_after(rm_error_last()), 30);
    cr_assert_eq(fake_count(), 1);
}

Test(generate, client_errors_and_malformed_answers_are_not_retried)
{
    start(NULL);
    fake_script("vendor/router", "[{\"status\": 400}]");
    rm_ai_result *r = NULL;
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_EUPSTREAM);
    cr_assert_eq(rm_error_reason(rm_error_last()), RM_UPSTREAM_BAD_REQUEST);
    cr_assert_eq(fake_count(), 1);
    fake_script("gemini-test", "[{\"kind\": \"malformed\"}]");
    cr_assert_eq(gen(&r, alice, "Gemini", NULL), RM_EUPSTREAM);
    cr_assert_eq(rm_error_reason(rm_error_last()), RM_UPSTREAM_BAD_RESPONSE);
    cr_assert_eq(fake_count(), 2);
    fake_script("gemini-test", "[{\"kind\": \"blocked\"}]");
    cr_assert_eq(gen(&r, alice, "Gemini", NULL), RM_EUPSTREAM);
    cr_assert_eq(rm_error_reason(rm_error_last()), RM_UPSTREAM_BLOCKED);
    cr_assert_eq(fake_count(), 3);
}

static void fast_deadline(rm_ctx_options *o) { o->ai_deadline_ms = 400; }

Test(generate, the_overall_deadline_bounds_a_slow_provider)
{
    start(fast_deadline);
    fake_default("{\"delay\": 3}");
    rm_ai_result *r = NULL;
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_EUPSTREAM);
    cr_assert_eq(rm_error_reason(rm_error_last()), RM_UPSTREAM_UNAVAILABLE);
    cr_assert_eq(resume_count(alice), 0);
}

/* ---- circuit breaker ---- */

static void breaker_opts(rm_ctx_options *o)
{
    o->ai_breaker_threshold = 2;
    o->ai_breaker_open_ms = 300;
    o->ai_max_attempts = 1;
}

Test(generate, breaker_opens_fails_fast_and_recovers)
{
    start(breaker_opts);
    fake_script("vendor/router", "[{\"status\": 503}, {\"status\": 503}]");
    rm_ai_result *r = NULL;
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_EUPSTREAM);
    cr_assert_eq(rm_ai_breaker_state(ctx, "open_router", "vendor/router"), RM_AI_BREAKER_CLOSED);
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_EUPSTREAM);
    cr_assert_eq(rm_ai_breaker_state(ctx, "open_router", "vendor/router"), RM_AI_BREAKER_OPEN);
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_EUPSTREAM);
    cr_assert_eq(rm_error_reason(rm_error_last()), RM_UPSTREAM_CIRCUIT_OPEN);
    cr_assert_eq(fake_count(), 2, "an open breaker makes no provider call");
    cr_assert_eq(rm_ai_breaker_state(ctx, "open_router", "vendor/backup"), RM_AI_BREAKER_CLOSED, "per model");
    usleep(350000);
    cr_assert_eq(rm_ai_breaker_state(ctx, "open_router", "vendor/router"), RM_AI_BREAKER_HALF_OPEN);
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_OK);
    rm_ai_result_free(r);
    cr_assert_eq(rm_ai_breaker_state(ctx, "open_router", "vendor/router"), RM_AI_BREAKER_CLOSED);
}

/* ---- keys ---- */

Test(generate, keys_rotate_and_a_rejected_key_is_benched)
{
    start(NULL);
    setenv("RM_T_OR_KEY", "key-A, key-B", 1);
    rm_ai_result *r = NULL;
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_OK);
    rm_ai_result_free(r);
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_OK);
    rm_ai_result_free(r);
    fake_script("vendor/router", "[{\"status\": 401}]"); /* the next call uses key-A, which is now refused */
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_OK, "%s", rm_error_message(rm_error_last()));
    rm_ai_result_free(r);
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_OK);
    rm_ai_result_free(r);
    json_t *log = fake_log();
    const char *want[] = {"Bearer key-A", "Bearer key-B", "Bearer key-A", "Bearer key-B", "Bearer key-B"};
    cr_assert_eq(json_array_size(log), 5);
    for (size_t i = 0; i < 5; i++)
        cr_assert_str_eq(log_str(log, i, "headers", "authorization"), want[i], "request %zu", i);
    json_decref(log);
}

/* ---- fallback ---- */

static void one_attempt(rm_ctx_options *o) { o->ai_max_attempts = 2; }

Test(generate, a_failing_model_falls_back_in_order)
{
    start(one_attempt);
    const char *fb[] = {"Retired", "Backup", "Local"};
    rm_ai_model_settings st = RM_AI_MODEL_SETTINGS_INIT;
    st.fallbacks = fb;
    st.fallback_count = 3;
    cr_assert_eq(rm_ai_model_settings_set(ctx, "router", &st), RM_OK);
    fake_script("vendor/router", "[{\"status\": 503}, {\"status\": 500}]");
    rm_ai_result *r = NULL;
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_OK, "%s", rm_error_message(rm_error_last()));
    cr_assert_str_eq(rm_ai_result_model(r), "Backup", "inactive fallbacks are skipped");
    rm_ai_result_free(r);
    json_t *log = fake_log();
    cr_assert_eq(json_array_size(log), 3);
    cr_assert_str_eq(log_str(log, 2, "model", NULL), "vendor/backup");
    json_decref(log);
    /* content refusals do not fall back */
    fake_script("vendor/router", "[{\"kind\": \"blocked\"}]");
    cr_assert_eq(gen(&r, alice, "Router", NULL), RM_EUPSTREAM);
    cr_assert_eq(rm_error_reason(rm_error_last()), RM_UPSTREAM_BLOCKED);
    cr_assert_eq(fake_count(), 4);
}

/* ---- idempotency and quota ---- */

static int32_t usage(rm_ctx *c, const rm_principal *who, const char *display)
{
    rm_ai_model *m = NULL;
    cr_assert_eq(rm_ai_model_get(&m, c, display), RM_OK);
    const rm_storage_vtable *vt = rm_storage_vtable_of(rm_ctx_storage(c));
    int32_t n = -1;
    cr_assert_eq(vt->usage_get(rm_storage_self(rm_ctx_storage(c)), rm_principal_user_id(who), rm_ai_model_id(m),
                               "2025-07-24", &n), RM_OK);
    rm_ai_model_free(m);
    return n;
}

Test(generate, an_idempotency_key_returns_the_first_result)
{
    start(NULL);
    rm_ai_result *a = NULL, *b = NULL;
    cr_assert_eq(gen(&a, alice, "Limited", "key-123"), RM_OK, "%s", rm_error_message(rm_error_last()));
    cr_assert_eq(gen(&b, alice, "Limited", "key-123"), RM_OK);
    cr_assert_eq(rm_ai_result_resume_id(a), rm_ai_result_resume_id(b));
    cr_assert_str_eq(rm_ai_result_content(a), rm_ai_result_content(b));
    cr_assert_not(rm_ai_result_replayed(a));
    cr_assert(rm_ai_result_replayed(b));
    cr_assert_eq(fake_count(), 1, "no second provider call");
    cr_assert_eq(usage(ctx, alice, "Limited"), 1, "no second quota charge");
    cr_assert_eq(resume_count(alice), 1);
    rm_ai_result_free(a);
    rm_ai_result_free(b);
    /* another principal with the same key is a new generation */
    cr_assert_eq(gen(&a, anon, "Router", "key-123"), RM_OK);
    cr_assert_eq(fake_count(), 2);
    rm_ai_result_free(a);
    /* after 24 hours the key is forgotten */
    clk.now_us += INT64_C(86400000000) + 1;
    cr_assert_eq(gen(&a, alice, "Router", "key-123"), RM_OK);
    cr_assert_not(rm_ai_result_replayed(a));
    rm_ai_result_free(a);
    cr_assert_eq(fake_count(), 3);
}

Test(generate, the_daily_limit_counts_successes_and_says_when_it_resets)
{
    start(NULL);
    rm_ai_result *r = NULL;
    fake_script("vendor/limited", "[{\"status\": 400}]"); /* a failure is not counted */
    cr_assert_eq(gen(&r, alice, "Limited", NULL), RM_EUPSTREAM);
    cr_assert_eq(usage(ctx, alice, "Limited"), 0);
    cr_assert_eq(gen(&r, alice, "Limited", NULL), RM_OK);
    rm_ai_result_free(r);
    cr_assert_eq(gen(&r, alice, "Limited", NULL), RM_OK);
    rm_ai_result_free(r);
    cr_assert_eq(gen(&r, alice, "Limited", NULL), RM_ELIMIT);
    cr_assert_eq(rm_error_retry_after(rm_error_last()), 60, "23:59:00Z resets in 60 s");
    cr_assert_eq(fake_count(), 3);
    cr_assert_eq(gen(&r, anon, "Limited", NULL), RM_OK, "the limit is per user");
    rm_ai_result_free(r);
}

Test(generate, the_quota_is_shared_by_two_ctx_on_one_database)
{
    start(NULL);
    rm_ctx *other = open_ctx(NULL);
    rm_ai_result *r = NULL;
    cr_assert_eq(gen(&r, alice, "Limited", NULL), RM_OK);
    rm_ai_result_free(r);
    rm_fields *f = req("Limited", NULL);
    cr_assert_eq(rm_ai_generate(&r, other, alice, f, NULL), RM_OK, "%s", rm_error_message(rm_error_last()));
    rm_ai_result_free(r);
    cr_assert_eq(rm_ai_generate(&r, other, alice, f, NULL), RM_ELIMIT);
    cr_assert_eq(gen(&r, alice, "Limited", NULL), RM_ELIMIT);
    rm_fields_free(f);
    rm_ctx_free(other);
    cr_assert_eq(fake_count(), 2);
}

/* ---- async: streaming and cancellation ---- */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int status, chunks, stop_after;
    int reason;
    char text[4096];
    rm_ai_result *result;
} waiter;

static waiter *waiter_new(void)
{
    waiter *w = calloc(1, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    allocated[nallocated++] = w;
    return w;
}

static int on_chunk(void *ud, const char *t, size_t n)
{
    waiter *w = ud;
    pthread_mutex_lock(&w->mu);
    strncat(w->text, t, n);
    w->chunks++;
    int stop = w->stop_after && w->chunks >= w->stop_after;
    pthread_mutex_unlock(&w->mu);
    return stop;
}

static void on_done(void *ud, int status, rm_ai_result *r, const rm_error *e)
{
    waiter *w = ud;
    pthread_mutex_lock(&w->mu);
    cr_assert_not(w->done, "on_done ran twice");
    w->done = true;
    w->status = status;
    w->result = r;
    w->reason = rm_error_reason(e);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void wait_for(waiter *w)
{
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

static void stream_check(const char *display, const char *model_id)
{
    char steps[256];
    snprintf(steps, sizeof(steps), "[{\"chunks\": [\"# Jane\", \" Doe\\n\", \"Engineer\"], \"drip\": 0.02, \"thought\": \"hmm\"}]");
    fake_script(model_id, steps);
    waiter *w = waiter_new();
    rm_fields *f = req(display, NULL);
    rm_ai_job *job = NULL;
    cr_assert_eq(rm_ai_generate_async(&job, ctx, alice, f, NULL, on_chunk, on_done, w), RM_OK);
    rm_fields_free(f);
    wait_for(w);
    cr_assert_eq(w->status, RM_OK, "reason %d", w->reason);
    cr_assert_eq(w->chunks, 3);
    cr_assert_str_eq(w->text, "# Jane Doe\nEngineer", "thought parts are not streamed");
    cr_assert_str_eq(rm_ai_result_content(w->result), "# Jane Doe\nEngineer");
    rm_ai_result_free(w->result);
    rm_ai_job_free(job);
}

Test(generate, streaming_gemini_and_openrouter)
{
    start(NULL);
    stream_check("Gemini", "gemini-test");
    stream_check("Router", "vendor/router");
    json_t *log = fake_log();
    cr_assert_str_eq(log_str(log, 0, "path", NULL), "/v1beta/models/gemini-test:streamGenerateContent?alt=sse");
    cr_assert(json_is_true(json_object_get(json_object_get(json_array_get(log, 1), "body"), "stream")));
    json_decref(log);
    cr_assert_eq(resume_count(alice), 2);
}

Test(generate, a_stream_that_fails_after_its_first_chunk_is_not_retried)
{
    start(NULL);
    fake_script("vendor/router", "[{\"kind\": \"error200\", \"chunks\": [\"# Jane\", \" Doe\"]}]");
    waiter *w = waiter_new();
    rm_fields *f = req("Router", NULL);
    cr_assert_eq(rm_ai_generate_async(NULL, ctx, alice, f, NULL, on_chunk, on_done, w), RM_OK);
    rm_fields_free(f);
    wait_for(w);
    cr_assert_eq(w->status, RM_EUPSTREAM);
    cr_assert_eq(w->chunks, 1);
    cr_assert_eq(fake_count(), 1);
    cr_assert_eq(resume_count(alice), 0);
}

Test(generate, cancelling_aborts_the_provider_call_and_saves_nothing)
{
    start(NULL);
    fake_script("vendor/limited", "[{\"delay\": 5}]");
    waiter *w = waiter_new();
    rm_fields *f = req("Limited", NULL);
    rm_ai_job *job = NULL;
    cr_assert_eq(rm_ai_generate_async(&job, ctx, alice, f, NULL, NULL, on_done, w), RM_OK);
    rm_fields_free(f);
    cr_assert(fake_wait_count(1));
    cr_assert_eq(usage(ctx, alice, "Limited"), 1, "reserved while running");
    cr_assert_eq(rm_ai_job_cancel(job), RM_OK);
    wait_for(w);
    cr_assert_eq(w->status, RM_ECANCELED);
    cr_assert_eq(rm_ai_job_cancel(job), RM_OK, "cancelling twice is harmless");
    rm_ai_job_free(job);
    bool closed = false;
    for (int i = 0; i < 100 && !closed; i++) {
        json_t *log = fake_log();
        closed = strcmp(log_str(log, 0, "outcome", NULL), "client_closed") == 0;
        json_decref(log);
        if (!closed)
            usleep(20000);
    }
    cr_assert(closed, "the provider request was not aborted");
    cr_assert_eq(resume_count(alice), 0);
    cr_assert_eq(usage(ctx, alice, "Limited"), 0, "the quota charge is taken back");
}

Test(generate, cancelling_during_a_backoff_stops_the_retries)
{
    start(NULL);
    fake_default("{\"status\": 503, \"retry_after\": \"3\"}");
    waiter *w = waiter_new();
    rm_fields *f = req("Router", NULL);
    rm_ai_job *job = NULL;
    cr_assert_eq(rm_ai_generate_async(&job, ctx, alice, f, NULL, NULL, on_done, w), RM_OK);
    rm_fields_free(f);
    cr_assert(fake_wait_count(1));
    usleep(100000);
    cr_assert_eq(rm_ai_job_cancel(job), RM_OK);
    wait_for(w);
    cr_assert_eq(w->status, RM_ECANCELED);
    rm_ai_job_free(job);
    cr_assert_eq(fake_count(), 1);
}

Test(generate, a_chunk_callback_can_cancel)
{
    start(NULL);
    fake_script("vendor/router", "[{\"chunks\": [\"a\", \"b\", \"c\"], \"drip\": 0.05}]");
    waiter *w = waiter_new();
    w->stop_after = 1;
    rm_fields *f = req("Router", NULL);
    cr_assert_eq(rm_ai_generate_async(NULL, ctx, alice, f, NULL, on_chunk, on_done, w), RM_OK);
    rm_fields_free(f);
    wait_for(w);
    cr_assert_eq(w->status, RM_ECANCELED);
    cr_assert_eq(resume_count(alice), 0);
}
