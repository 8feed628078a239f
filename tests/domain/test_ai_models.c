/* The AI model registry: validation, case-insensitive names, ordering, deactivation, data-set counter. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rm_test.h"

#include "rm_ctx_harness.h"

static rm_ai_model *create_model(rm_fields *f)
{
    rm_ai_model *m = NULL;
    OK(rm_ai_model_create(&m, ctx, f));
    cr_assert_not_null(m);
    rm_fields_free(f);
    return m;
}

static rm_fields *gemini(const char *display)
{
    return rm_test_fields("display_name", display, "model_name", "gemini-2.5-flash", "api_provider", "google_gemini",
                          "api_key_name", "GEMINI_API_KEY", NULL);
}

static void create_fails(rm_fields *f, const char *want)
{
    uint64_t v = rm_ctx_data_version(ctx, RM_DATA_AI_MODELS);
    rm_ai_model *m = (rm_ai_model *)0x1;
    FAILS(RM_EINVALID, rm_ai_model_create(&m, ctx, f));
    cr_assert_null(m);
    ERRORS(want);
    rm_fields_free(f);
    cr_assert_eq(rm_ctx_data_version(ctx, RM_DATA_AI_MODELS), v, "a failed create does not count as a change");
}

static void update_fails(const char *name, rm_fields *f, const char *want)
{
    rm_ai_model *m = (rm_ai_model *)0x1;
    FAILS(RM_EINVALID, rm_ai_model_update(&m, ctx, name, f));
    cr_assert_null(m);
    ERRORS(want);
    rm_fields_free(f);
}

TEST_BOTH(ai_models, create_with_defaults)
{
    rm_ai_model *m = create_model(gemini("Gemini Flash"));
    cr_assert_gt(rm_ai_model_id(m), 0);
    STREQ(rm_ai_model_display_name(m), "Gemini Flash");
    STREQ(rm_ai_model_model_name(m), "gemini-2.5-flash");
    STREQ(rm_ai_model_api_provider(m), "google_gemini");
    STREQ(rm_ai_model_api_key_name(m), "GEMINI_API_KEY");
    cr_assert_null(rm_ai_model_base_url(m));
    cr_assert_eq(rm_ai_model_is_active(m), 1);
    cr_assert_eq(rm_ai_model_login_required(m), 0);
    cr_assert_eq(rm_ai_model_daily_limit(m), 0);
    STREQ(rm_ai_model_response_time_info(m), "");
    STREQ(rm_ai_model_description(m), "");
    cr_assert_eq(rm_ai_model_created_at(m), T0);
    cr_assert_eq(rm_ai_model_updated_at(m), T0);
    rm_ai_model_free(m);

    OK(rm_ai_model_get(&m, ctx, "Gemini Flash"));
    STREQ(rm_ai_model_model_name(m), "gemini-2.5-flash");
    cr_assert_null(rm_ai_model_base_url(m));
    cr_assert_eq(rm_ai_model_is_active(m), 1);
    cr_assert_eq(rm_ai_model_created_at(m), T0);
    rm_ai_model_free(m);
}

TEST_BOTH(ai_models, create_every_field)
{
    rm_fields *f = rm_test_fields("display_name", " Router Pro ", "model_name", "openai/gpt-4o", "api_provider", "open_router",
                                  "api_key_name", "OPENROUTER_API_KEY", "response_time_info", "~10 s", "description",
                                  "A capable model.", NULL);
    rm_fields_set_bool(f, "is_active", 0);
    rm_fields_set_bool(f, "login_required", 1);
    rm_fields_set_int(f, "daily_limit", 25);
    rm_ai_model *m = create_model(f);
    STREQ(rm_ai_model_display_name(m), "Router Pro");
    cr_assert_eq(rm_ai_model_is_active(m), 0);
    cr_assert_eq(rm_ai_model_login_required(m), 1);
    cr_assert_eq(rm_ai_model_daily_limit(m), 25);
    rm_ai_model_free(m);
    OK(rm_ai_model_get(&m, ctx, "router pro"));
    STREQ(rm_ai_model_response_time_info(m), "~10 s");
    STREQ(rm_ai_model_description(m), "A capable model.");
    cr_assert_eq(rm_ai_model_is_active(m), 0);
    cr_assert_eq(rm_ai_model_login_required(m), 1);
    cr_assert_eq(rm_ai_model_daily_limit(m), 25);
    rm_ai_model_free(m);

    /* booleans and integers from form text, as DRF takes them */
    f = rm_test_fields("display_name", "Form Model", "model_name", "m", "api_provider", "google_gemini", "api_key_name",
                       "K", "is_active", "false", "login_required", "true", "daily_limit", " 7 ", NULL);
    m = create_model(f);
    cr_assert_eq(rm_ai_model_is_active(m), 0);
    cr_assert_eq(rm_ai_model_login_required(m), 1);
    cr_assert_eq(rm_ai_model_daily_limit(m), 7);
    rm_ai_model_free(m);
}

TEST_BOTH(ai_models, required_fields_and_choices)
{
    create_fails(rm_test_fields(NULL), "{\"display_name\":[\"This field is required.\"],\"model_name\":[\"This field is required.\"],"
                                       "\"api_provider\":[\"This field is required.\"]}");
    create_fails(rm_test_fields("display_name", "", "model_name", " ", "api_provider", "", NULL),
                 "{\"display_name\":[\"This field may not be blank.\"],\"model_name\":[\"This field may not be blank.\"],"
                 "\"api_provider\":[\"This field may not be blank.\"]}");
    create_fails(rm_test_fields("display_name", NULL, "model_name", "m", "api_provider", "google_gemini", "api_key_name", "K", NULL),
                 "{\"display_name\":[\"This field may not be null.\"]}");
    create_fails(rm_test_fields("display_name", "X", "model_name", "m", "api_provider", "openai", "api_key_name", "K", NULL),
                 "{\"api_provider\":[\"\\\"openai\\\" is not a valid choice.\"]}");
    create_fails(rm_test_fields("display_name", "X", "model_name", "m", "api_provider", "Google_Gemini", "api_key_name", "K", NULL),
                 "{\"api_provider\":[\"\\\"Google_Gemini\\\" is not a valid choice.\"]}");
    /* a provider other than openai_compatible needs a key name */
    create_fails(rm_test_fields("display_name", "X", "model_name", "m", "api_provider", "google_gemini", NULL),
                 "{\"api_key_name\":[\"This field may not be blank.\"]}");
    create_fails(rm_test_fields("display_name", "X", "model_name", "m", "api_provider", "open_router", "api_key_name", "", NULL),
                 "{\"api_key_name\":[\"This field may not be blank.\"]}");
    create_fails(rm_test_fields("display_name", "X", "model_name", "m", "api_provider", "open_router", "api_key_name",
                                "MY KEY; rm -rf /", NULL),
                 "{\"api_key_name\":[\"Enter the name of an environment variable (letters, digits and _).\"]}");
}

TEST_BOTH(ai_models, lengths)
{
    char s101[102];
    memset(s101, 'n', 101);
    s101[101] = '\0';
    create_fails(rm_test_fields("display_name", s101, "model_name", s101, "api_provider", "google_gemini", "api_key_name", "K",
                                "response_time_info", s101, NULL),
                 "{\"display_name\":[\"Ensure this field has no more than 100 characters.\"],"
                 "\"model_name\":[\"Ensure this field has no more than 100 characters.\"],"
                 "\"response_time_info\":[\"Ensure this field has no more than 100 characters.\"]}");
    s101[100] = '\0';
    rm_ai_model *m = create_model(rm_test_fields("display_name", s101, "model_name", s101, "api_provider", "google_gemini",
                                                 "api_key_name", "K", "response_time_info", s101, NULL));
    cr_assert_eq(strlen(rm_ai_model_display_name(m)), 100);
    rm_ai_model_free(m);
}

TEST_BOTH(ai_models, openai_compatible_requires_base_url)
{
    create_fails(rm_test_fields("display_name", "Local", "model_name", "llama3", "api_provider", "openai_compatible", NULL),
                 "{\"base_url\":[\"This field is required for openai_compatible models.\"]}");
    create_fails(rm_test_fields("display_name", "Local", "model_name", "llama3", "api_provider", "openai_compatible",
                                "base_url", "", NULL),
                 "{\"base_url\":[\"This field is required for openai_compatible models.\"]}");
    static const char *const bad[] = {"ftp://host/v1", "localhost:11434", "http://", "https:///v1", "http://ho st/v1",
                                      "javascript:alert(1)"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        create_fails(rm_test_fields("display_name", "Local", "model_name", "llama3", "api_provider", "openai_compatible",
                                    "base_url", bad[i], NULL),
                     "{\"base_url\":[\"Enter a valid URL.\"]}");
    /* no key name needed for a local server */
    rm_ai_model *m = create_model(rm_test_fields("display_name", "Local", "model_name", "llama3", "api_provider",
                                                 "openai_compatible", "base_url", "http://127.0.0.1:11434/v1", NULL));
    STREQ(rm_ai_model_base_url(m), "http://127.0.0.1:11434/v1");
    STREQ(rm_ai_model_api_key_name(m), "");
    rm_ai_model_free(m);
    OK(rm_ai_model_get(&m, ctx, "local"));
    STREQ(rm_ai_model_base_url(m), "http://127.0.0.1:11434/v1");
    rm_ai_model_free(m);
    /* switching the provider away keeps the rules: a key name is then needed */
    update_fails("Local", rm_test_fields("api_provider", "open_router", NULL), "{\"api_key_name\":[\"This field may not be blank.\"]}");
    /* and removing the URL of an openai_compatible model is refused */
    update_fails("Local", rm_test_fields("base_url", NULL, NULL),
                 "{\"base_url\":[\"This field is required for openai_compatible models.\"]}");
}

TEST_BOTH(ai_models, daily_limit)
{
    rm_fields *neg = gemini("Limited");
    rm_fields_set_int(neg, "daily_limit", -1);
    create_fails(neg, "{\"daily_limit\":[\"Ensure this value is greater than or equal to 0.\"]}");
    create_fails(rm_test_fields("display_name", "L", "model_name", "m", "api_provider", "google_gemini", "api_key_name", "K",
                                "daily_limit", "many", NULL),
                 "{\"daily_limit\":[\"A valid integer is required.\"]}");
    create_fails(rm_test_fields("display_name", "L", "model_name", "m", "api_provider", "google_gemini", "api_key_name", "K",
                                "daily_limit", "2.5", NULL),
                 "{\"daily_limit\":[\"A valid integer is required.\"]}");
    create_fails(rm_test_fields("display_name", "L", "model_name", "m", "api_provider", "google_gemini", "api_key_name", "K",
                                "daily_limit", NULL, NULL),
                 "{\"daily_limit\":[\"This field may not be null.\"]}");
    rm_fields *f = gemini("L");
    rm_fields_set_int(f, "daily_limit", (int64_t)INT32_MAX + 1);
    create_fails(f, "{\"daily_limit\":[\"Ensure this value is less than or equal to 2147483647.\"]}");
    f = gemini("L");
    rm_fields_set_bool(f, "is_active", 1);
    rm_fields_set_string(f, "login_required", "sometimes");
    create_fails(f, "{\"login_required\":[\"Must be a valid boolean.\"]}");

    /* DRF drops a zero decimal part of integer text, and takes JSON 3.0 */
    f = gemini("Decimal text");
    rm_fields_set_string(f, "daily_limit", "5.0");
    rm_ai_model *d = create_model(f);
    cr_assert_eq(rm_ai_model_daily_limit(d), 5);
    rm_ai_model_free(d);
    f = NULL;
    const char *body = "{\"display_name\":\"Json real\",\"model_name\":\"m\",\"api_provider\":\"google_gemini\","
                       "\"api_key_name\":\"K\",\"daily_limit\":3.0}";
    OK(rm_fields_parse_json(&f, body, strlen(body)));
    d = create_model(f);
    cr_assert_eq(rm_ai_model_daily_limit(d), 3);
    rm_ai_model_free(d);
    create_fails(rm_test_fields("display_name", "L", "model_name", "m", "api_provider", "google_gemini", "api_key_name", "K",
                                "daily_limit", ".", NULL),
                 "{\"daily_limit\":[\"A valid integer is required.\"]}");

    f = gemini("Zero");
    rm_fields_set_int(f, "daily_limit", 0);
    rm_ai_model *m = create_model(f);
    cr_assert_eq(rm_ai_model_daily_limit(m), 0);
    rm_ai_model_free(m);
    f = gemini("Max");
    rm_fields_set_int(f, "daily_limit", INT32_MAX);
    m = create_model(f);
    cr_assert_eq(rm_ai_model_daily_limit(m), INT32_MAX);
    rm_ai_model_free(m);
}

TEST_BOTH(ai_models, duplicate_display_name_case_insensitive)
{
    rm_ai_model_free(create_model(gemini("Gemini Flash")));
    create_fails(gemini("Gemini Flash"), "{\"display_name\":[\"ai model with this display name already exists.\"]}");
    create_fails(gemini("GEMINI FLASH"), "{\"display_name\":[\"ai model with this display name already exists.\"]}");
    create_fails(gemini("  gemini flash "), "{\"display_name\":[\"ai model with this display name already exists.\"]}");
    rm_ai_model_page *page = NULL;
    OK(rm_ai_model_list(&page, ctx, 1));
    cr_assert_eq(rm_ai_model_page_count(page), 1);
    rm_ai_model_page_free(page);
}

TEST_BOTH(ai_models, get_is_case_insensitive_and_exact)
{
    rm_ai_model_free(create_model(gemini("Gemini Flash")));
    rm_ai_model_free(create_model(gemini("abc")));
    rm_ai_model *m = NULL;
    static const char *const hits[] = {"Gemini Flash", "gemini flash", "GEMINI FLASH", "gEmInI fLaSh"};
    for (size_t i = 0; i < 4; i++) {
        OK(rm_ai_model_get(&m, ctx, hits[i]));
        STREQ(rm_ai_model_display_name(m), "Gemini Flash");
        rm_ai_model_free(m);
    }
    static const char *const misses[] = {"Gemini", "Gemini Flash ", "Gemini%", "Gemini_Flash", "a_c", "a%", "%", "_bc", "",
                                         "' OR 1=1 --", "\xff"};
    for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
        m = (rm_ai_model *)0x1;
        FAILS(RM_ENOTFOUND, rm_ai_model_get(&m, ctx, misses[i]));
        cr_assert_null(m);
    }
    FAILS(RM_EMISUSE, rm_ai_model_get(&m, ctx, NULL));
    FAILS(RM_EMISUSE, rm_ai_model_get(NULL, ctx, "abc"));
    FAILS(RM_EMISUSE, rm_ai_model_get(&m, NULL, "abc"));
}

TEST_BOTH(ai_models, list_active_ordered_by_display_name)
{
    static const char *const names[] = {"zeta", "Alpha", "beta", "Gamma", "alpha2"};
    for (size_t i = 0; i < 5; i++)
        rm_ai_model_free(create_model(gemini(names[i])));
    OK(rm_ai_model_deactivate(ctx, "BETA"));
    rm_ai_model_page *page = NULL;
    OK(rm_ai_model_list(&page, ctx, 0));
    static const char *const active[] = {"Alpha", "alpha2", "Gamma", "zeta"};
    cr_assert_eq(rm_ai_model_page_count(page), 4);
    for (size_t i = 0; i < 4; i++)
        STREQ(rm_ai_model_display_name(rm_ai_model_page_at(page, i)), active[i]);
    cr_assert_null(rm_ai_model_page_at(page, 4));
    rm_ai_model_page_free(page);
    OK(rm_ai_model_list(&page, ctx, 1));
    static const char *const all[] = {"Alpha", "alpha2", "beta", "Gamma", "zeta"};
    cr_assert_eq(rm_ai_model_page_count(page), 5);
    for (size_t i = 0; i < 5; i++)
        STREQ(rm_ai_model_display_name(rm_ai_model_page_at(page, i)), all[i]);
    cr_assert_eq(rm_ai_model_is_active(rm_ai_model_page_at(page, 2)), 0);
    rm_ai_model_page_free(page);
}

TEST_BOTH(ai_models, public_json)
{
    rm_fields *f = rm_test_fields("display_name", "Gemini", "model_name", "gemini-2.5-pro", "api_provider", "google_gemini",
                                  "api_key_name", "GEMINI_API_KEY", "response_time_info", "fast", "description",
                                  "Google \"Gemini\"", NULL);
    rm_fields_set_bool(f, "login_required", 1);
    rm_ai_model_free(create_model(f));
    rm_ai_model_free(create_model(rm_test_fields("display_name", "Another", "model_name", "x", "api_provider", "open_router",
                                                 "api_key_name", "OR_KEY", NULL)));
    rm_ai_model_page *page = NULL;
    OK(rm_ai_model_list(&page, ctx, 0));
    char *json = NULL;
    OK(rm_ai_model_page_public_json(&json, page));
    STREQ(json, "[{\"model_name\":\"Another\",\"login_required\":false,\"response_time_info\":\"\",\"description\":\"\"},"
                "{\"model_name\":\"Gemini\",\"login_required\":true,\"response_time_info\":\"fast\","
                "\"description\":\"Google \\\"Gemini\\\"\"}]");
    cr_assert_null(strstr(json, "GEMINI_API_KEY"), "the key's variable name is not public");
    cr_assert_null(strstr(json, "gemini-2.5-pro"), "the provider's model id is not public");
    rm_free(json);
    rm_ai_model_page_free(page);
    OK(rm_ai_model_list(&page, ctx, 0));
    OK(rm_ai_model_deactivate(ctx, "another"));
    OK(rm_ai_model_deactivate(ctx, "gemini"));
    rm_ai_model_page_free(page);
    OK(rm_ai_model_list(&page, ctx, 0));
    OK(rm_ai_model_page_public_json(&json, page));
    STREQ(json, "[]");
    rm_free(json);
    rm_ai_model_page_free(page);
}

TEST_BOTH(ai_models, deactivate)
{
    rm_ai_model_free(create_model(gemini("Gemini Flash")));
    clk.now_us = T0 + 1000000;
    OK(rm_ai_model_deactivate(ctx, "gemini FLASH"));
    rm_ai_model *m = NULL;
    OK(rm_ai_model_get(&m, ctx, "Gemini Flash"));
    cr_assert_eq(rm_ai_model_is_active(m), 0);
    cr_assert_eq(rm_ai_model_updated_at(m), T0 + 1000000);
    cr_assert_eq(rm_ai_model_created_at(m), T0);
    STREQ(rm_ai_model_model_name(m), "gemini-2.5-flash");
    rm_ai_model_free(m);
    OK(rm_ai_model_deactivate(ctx, "Gemini Flash")); /* idempotent */
    FAILS(RM_ENOTFOUND, rm_ai_model_deactivate(ctx, "No Such Model"));
    FAILS(RM_EMISUSE, rm_ai_model_deactivate(ctx, NULL));
    FAILS(RM_EMISUSE, rm_ai_model_deactivate(NULL, "Gemini Flash"));
}

TEST_BOTH(ai_models, update)
{
    rm_ai_model_free(create_model(gemini("Gemini Flash")));
    rm_ai_model_free(create_model(gemini("Other")));
    clk.now_us = T0 + 2000000;
    rm_fields *f = rm_test_fields("description", "now with limits", NULL);
    rm_fields_set_int(f, "daily_limit", 10);
    rm_fields_set_bool(f, "login_required", 1);
    rm_ai_model *m = NULL;
    OK(rm_ai_model_update(&m, ctx, "gemini flash", f));
    rm_fields_free(f);
    STREQ(rm_ai_model_display_name(m), "Gemini Flash");
    STREQ(rm_ai_model_description(m), "now with limits");
    cr_assert_eq(rm_ai_model_daily_limit(m), 10);
    cr_assert_eq(rm_ai_model_login_required(m), 1);
    STREQ(rm_ai_model_api_key_name(m), "GEMINI_API_KEY");
    cr_assert_eq(rm_ai_model_updated_at(m), T0 + 2000000);
    int64_t id = rm_ai_model_id(m);
    rm_ai_model_free(m);
    OK(rm_ai_model_get(&m, ctx, "GEMINI FLASH"));
    cr_assert_eq(rm_ai_model_id(m), id);
    cr_assert_eq(rm_ai_model_daily_limit(m), 10);
    STREQ(rm_ai_model_description(m), "now with limits");
    rm_ai_model_free(m);

    /* renaming: to its own name in another case is fine, to another model's name is not */
    f = rm_test_fields("display_name", "GEMINI flash", NULL);
    OK(rm_ai_model_update(&m, ctx, "Gemini Flash", f));
    rm_fields_free(f);
    STREQ(rm_ai_model_display_name(m), "GEMINI flash");
    rm_ai_model_free(m);
    update_fails("gemini flash", rm_test_fields("display_name", "OTHER", NULL),
                 "{\"display_name\":[\"ai model with this display name already exists.\"]}");
    update_fails("gemini flash", rm_test_fields("display_name", "", NULL), "{\"display_name\":[\"This field may not be blank.\"]}");
    f = rm_test_fields(NULL);
    rm_fields_set_int(f, "daily_limit", -5);
    update_fails("gemini flash", f, "{\"daily_limit\":[\"Ensure this value is greater than or equal to 0.\"]}");
    f = rm_test_fields("display_name", "Brand New", NULL);
    OK(rm_ai_model_update(NULL, ctx, "gemini flash", f));
    FAILS(RM_ENOTFOUND, rm_ai_model_get(&m, ctx, "gemini flash"));
    OK(rm_ai_model_get(&m, ctx, "brand new"));
    cr_assert_eq(rm_ai_model_id(m), id);
    rm_ai_model_free(m);
    FAILS(RM_ENOTFOUND, rm_ai_model_update(&m, ctx, "nope", f));
    FAILS(RM_EMISUSE, rm_ai_model_update(&m, ctx, "brand new", NULL));
    FAILS(RM_EMISUSE, rm_ai_model_update(&m, ctx, NULL, f));
    FAILS(RM_EMISUSE, rm_ai_model_update(&m, NULL, "brand new", f));
    rm_fields_free(f);
}

TEST_BOTH(ai_models, data_version_counts_changes)
{
    uint64_t v0 = rm_ctx_data_version(ctx, RM_DATA_AI_MODELS);
    rm_ai_model_free(create_model(gemini("Counted")));
    uint64_t v1 = rm_ctx_data_version(ctx, RM_DATA_AI_MODELS);
    cr_assert_gt(v1, v0);
    rm_fields *f = rm_test_fields("description", "x", NULL);
    OK(rm_ai_model_update(NULL, ctx, "counted", f));
    rm_fields_free(f);
    uint64_t v2 = rm_ctx_data_version(ctx, RM_DATA_AI_MODELS);
    cr_assert_gt(v2, v1);
    OK(rm_ai_model_deactivate(ctx, "counted"));
    uint64_t v3 = rm_ctx_data_version(ctx, RM_DATA_AI_MODELS);
    cr_assert_gt(v3, v2);
    /* reads and failures do not count */
    rm_ai_model *m = NULL;
    OK(rm_ai_model_get(&m, ctx, "counted"));
    rm_ai_model_free(m);
    rm_ai_model_page *page = NULL;
    OK(rm_ai_model_list(&page, ctx, 1));
    rm_ai_model_page_free(page);
    FAILS(RM_ENOTFOUND, rm_ai_model_deactivate(ctx, "missing"));
    f = rm_test_fields("daily_limit", "-1", NULL);
    FAILS(RM_EINVALID, rm_ai_model_update(NULL, ctx, "counted", f));
    rm_fields_free(f);
    create_fails(gemini("COUNTED"), "{\"display_name\":[\"ai model with this display name already exists.\"]}");
    cr_assert_eq(rm_ctx_data_version(ctx, RM_DATA_AI_MODELS), v3);
    cr_assert_eq(rm_ctx_data_version(ctx, RM_DATA_EXAMPLES), 0, "examples are a different set");
}

TEST_BOTH(ai_models, null_arguments)
{
    rm_fields *f = gemini("N");
    rm_ai_model *m = NULL;
    FAILS(RM_EMISUSE, rm_ai_model_create(&m, NULL, f));
    FAILS(RM_EMISUSE, rm_ai_model_create(&m, ctx, NULL));
    OK(rm_ai_model_create(NULL, ctx, f)); /* out may be NULL */
    rm_fields_free(f);
    rm_ai_model_page *page = NULL;
    FAILS(RM_EMISUSE, rm_ai_model_list(NULL, ctx, 0));
    FAILS(RM_EMISUSE, rm_ai_model_list(&page, NULL, 0));
    char *json = NULL;
    FAILS(RM_EMISUSE, rm_ai_model_page_public_json(&json, NULL));
    OK(rm_ai_model_list(&page, ctx, 0));
    FAILS(RM_EMISUSE, rm_ai_model_page_public_json(NULL, page));
    rm_ai_model_page_free(page);
    cr_assert_null(json);
    cr_assert_eq(rm_ai_model_id(NULL), 0);
    cr_assert_null(rm_ai_model_display_name(NULL));
    cr_assert_null(rm_ai_model_model_name(NULL));
    cr_assert_null(rm_ai_model_api_provider(NULL));
    cr_assert_null(rm_ai_model_api_key_name(NULL));
    cr_assert_null(rm_ai_model_base_url(NULL));
    cr_assert_eq(rm_ai_model_is_active(NULL), 0);
    cr_assert_eq(rm_ai_model_login_required(NULL), 0);
    cr_assert_eq(rm_ai_model_daily_limit(NULL), 0);
    cr_assert_null(rm_ai_model_response_time_info(NULL));
    cr_assert_null(rm_ai_model_description(NULL));
    cr_assert_eq(rm_ai_model_created_at(NULL), 0);
    cr_assert_eq(rm_ai_model_updated_at(NULL), 0);
    cr_assert_eq(rm_ai_model_page_count(NULL), 0);
    cr_assert_null(rm_ai_model_page_at(NULL, 0));
    rm_ai_model_free(NULL);
    rm_ai_model_page_free(NULL);
}
