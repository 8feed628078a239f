/* The direct JSON renderers produce exactly what DRF's JSONRenderer (json.dumps with
 * ensure_ascii=False and compact separators) produces for the same objects. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rm_test.h"

static rm_ctx *ctx;
static rm_principal *who;
static rm_test_clock_state clk = {.now_us = 1753322876123456}; /* 2025-07-24T02:07:56.123456Z */

static void setup(void)
{
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage_url = ":memory:";
    o.password_iterations = 1000;
    o.clock = rm_test_clock;
    o.clock_userdata = &clk;
    cr_assert_eq(rm_ctx_new(&ctx, &o), RM_OK);
    rm_user *u = NULL;
    cr_assert_eq(rm_user_create(&u, ctx, "r\xc3\xa9nder", "r@example.com", "pw-123456", 0), RM_OK);
    cr_assert_eq(rm_principal_for_user(&who, u), RM_OK);
    rm_user_free(u);
}

static void teardown(void)
{
    rm_principal_free(who);
    rm_ctx_free(ctx);
}

TestSuite(render, .init = setup, .fini = teardown);

/* Text that needs every kind of escaping, and some that must stay as it is. */
static const char TRICKY[] = "a\"b\\c\nd\te\x01" "f/\xc3\xa9\xe2\x9c\x93\xe2\x80\xa8\x7f";
/* json.dumps(TRICKY, ensure_ascii=False) */
static const char TRICKY_JSON[] = "\"a\\\"b\\\\c\\nd\\te\\u0001f/\xc3\xa9\xe2\x9c\x93\xe2\x80\xa8\x7f\"";

Test(render, resume_matches_drf_byte_for_byte)
{
    rm_fields *f = rm_test_fields("title", "T", "content", TRICKY, NULL);
    rm_resume *r = NULL;
    cr_assert_eq(rm_resume_create(&r, ctx, who, f), RM_OK);
    char *json = NULL;
    cr_assert_eq(rm_resume_to_json(&json, r), RM_OK);
    char want[512];
    snprintf(want, sizeof(want),
             "{\"id\":%lld,\"user\":\"r\xc3\xa9nder\",\"title\":\"T\",\"content\":%s,"
             "\"created_at\":\"2025-07-24T02:07:56.123456Z\",\"updated_at\":\"2025-07-24T02:07:56.123456Z\"}",
             (long long)rm_resume_id(r), TRICKY_JSON);
    cr_assert_str_eq(json, want);
    rm_free(json);

    rm_resume_page *page = NULL;
    cr_assert_eq(rm_resume_list(&page, ctx, who, NULL), RM_OK);
    cr_assert_eq(rm_resume_page_to_json(&json, page), RM_OK);
    char wantlist[600];
    snprintf(wantlist, sizeof(wantlist), "[%s]", want);
    cr_assert_str_eq(json, wantlist);
    rm_free(json);
    rm_resume_page_free(page);
    rm_resume_free(r);
    rm_fields_free(f);
}

Test(render, application_nulls_booleans_and_order)
{
    rm_fields *f = rm_test_fields("job_title", TRICKY, "company_name", NULL, "date_applied", "2025-07-10", NULL);
    rm_application *a = NULL;
    cr_assert_eq(rm_application_create(&a, ctx, who, f), RM_OK);
    char *json = NULL;
    cr_assert_eq(rm_application_to_json(&json, a), RM_OK);
    char want[700];
    snprintf(want, sizeof(want),
             "{\"id\":%lld,\"job_title\":%s,\"company_name\":null,\"original_job_description\":null,"
             "\"date_applied\":\"2025-07-10\",\"status\":\"Applied\",\"notes\":null,\"is_deleted\":false,"
             "\"is_example\":false,\"created_at\":\"2025-07-24T02:07:56.123456Z\","
             "\"updated_at\":\"2025-07-24T02:07:56.123456Z\",\"user\":%lld,\"resume_used\":null}",
             (long long)rm_application_id(a), TRICKY_JSON, (long long)rm_principal_user_id(who));
    cr_assert_str_eq(json, want);
    rm_free(json);

    rm_application_page *page = NULL;
    cr_assert_eq(rm_application_list(&page, ctx, who, NULL), RM_OK);
    cr_assert_eq(rm_application_page_to_json(&json, page), RM_OK);
    char wantlist[800];
    snprintf(wantlist, sizeof(wantlist), "[%s]", want);
    cr_assert_str_eq(json, wantlist);
    rm_free(json);
    rm_application_page_free(page);
    rm_application_free(a);
    rm_fields_free(f);
}

Test(render, empty_pages_are_empty_arrays)
{
    rm_application_page *page = NULL;
    char *json = NULL;
    cr_assert_eq(rm_application_list(&page, ctx, who, NULL), RM_OK);
    cr_assert_eq(rm_application_page_to_json(&json, page), RM_OK);
    cr_assert_str_eq(json, "[]");
    rm_free(json);
    rm_application_page_free(page);
}
