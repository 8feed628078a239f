/* Job applications: every field's DRF validation, ownership, soft delete, resume_used, paging and cursors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rm_test.h"

#include "rm_ctx_harness.h"

static int64_t new_resume(const rm_principal *who, const char *title)
{
    rm_fields *f = rm_test_fields("title", title, "content", "C", NULL);
    rm_resume *r = NULL;
    OK(rm_resume_create(&r, ctx, who, f));
    rm_fields_free(f);
    int64_t id = rm_resume_id(r);
    rm_resume_free(r);
    return id;
}

static rm_application *create_app(const rm_principal *who, rm_fields *f)
{
    rm_application *a = NULL;
    OK(rm_application_create(&a, ctx, who, f));
    cr_assert_not_null(a);
    rm_fields_free(f);
    return a;
}

static int64_t create_app_id(const rm_principal *who, rm_fields *f)
{
    rm_application *a = create_app(who, f);
    int64_t id = rm_application_id(a);
    rm_application_free(a);
    return id;
}

/* Create with these fields and expect exactly these field errors. */
static void create_fails(const rm_principal *who, rm_fields *f, const char *want)
{
    rm_application *a = (rm_application *)0x1;
    FAILS(RM_EINVALID, rm_application_create(&a, ctx, who, f));
    cr_assert_null(a);
    ERRORS(want);
    rm_fields_free(f);
}

static rm_fields *json_fields(const char *body)
{
    rm_fields *f = NULL;
    OK(rm_fields_parse_json(&f, body, strlen(body)));
    return f;
}

static size_t count_apps(const rm_principal *who)
{
    rm_application_page *p = NULL;
    OK(rm_application_list(&p, ctx, who, NULL));
    size_t n = rm_application_page_count(p);
    rm_application_page_free(p);
    return n;
}

#define STRNULL(a) cr_assert_null((a), "%s is not null", #a)

TEST_BOTH(applications, defaults_and_json_shape)
{
    rm_principal *p = new_principal("amy");
    rm_application *a = create_app(p, rm_test_fields(NULL));
    cr_assert_gt(rm_application_id(a), 0);
    cr_assert_eq(rm_application_user_id(a), rm_principal_user_id(p));
    STRNULL(rm_application_job_title(a));
    STRNULL(rm_application_company_name(a));
    STRNULL(rm_application_original_job_description(a));
    STRNULL(rm_application_date_applied(a));
    STRNULL(rm_application_notes(a));
    STREQ(rm_application_status(a), "Applied");
    cr_assert_eq(rm_application_resume_used(a), 0);
    cr_assert_eq(rm_application_is_deleted(a), 0);
    cr_assert_eq(rm_application_is_example(a), 0);
    cr_assert_eq(rm_application_created_at(a), T0);
    cr_assert_eq(rm_application_updated_at(a), T0);

    rm_application *g = NULL;
    OK(rm_application_get(&g, ctx, p, rm_application_id(a)));
    char *json = NULL;
    OK(rm_application_to_json(&json, g));
    char want[1024];
    snprintf(want, sizeof(want),
             "{\"id\":%lld,\"job_title\":null,\"company_name\":null,\"original_job_description\":null,"
             "\"date_applied\":null,\"status\":\"Applied\",\"notes\":null,\"is_deleted\":false,\"is_example\":false,"
             "\"created_at\":\"2025-07-24T02:07:56.000000Z\",\"updated_at\":\"2025-07-24T02:07:56.000000Z\","
             "\"user\":%lld,\"resume_used\":null}",
             (long long)rm_application_id(a), (long long)rm_principal_user_id(p));
    STREQ(json, want);
    rm_free(json);
    rm_application_free(g);
    rm_application_free(a);
    rm_principal_free(p);
}

TEST_BOTH(applications, every_field_set)
{
    rm_principal *p = new_principal("ben");
    int64_t rid = new_resume(p, "CV");
    rm_fields *f = rm_test_fields("job_title", "  Staff Engineer ", "company_name", "ACME", "original_job_description",
                                  "Build things.", "date_applied", "2025-07-10", "status", "Interviewing", "notes",
                                  "Call back Friday", NULL);
    rm_fields_set_int(f, "resume_used", rid);
    rm_application *a = create_app(p, f);
    STREQ(rm_application_job_title(a), "Staff Engineer");
    STREQ(rm_application_company_name(a), "ACME");
    STREQ(rm_application_original_job_description(a), "Build things.");
    STREQ(rm_application_date_applied(a), "2025-07-10");
    STREQ(rm_application_status(a), "Interviewing");
    STREQ(rm_application_notes(a), "Call back Friday");
    cr_assert_eq(rm_application_resume_used(a), rid);
    rm_application *g = NULL;
    OK(rm_application_get(&g, ctx, p, rm_application_id(a)));
    STREQ(rm_application_job_title(g), "Staff Engineer");
    STREQ(rm_application_date_applied(g), "2025-07-10");
    STREQ(rm_application_status(g), "Interviewing");
    cr_assert_eq(rm_application_resume_used(g), rid);
    char *json = NULL;
    OK(rm_application_to_json(&json, g));
    char frag[64];
    snprintf(frag, sizeof(frag), "\"resume_used\":%lld}", (long long)rid);
    cr_assert(strstr(json, frag) != NULL, "%s", json);
    cr_assert(strstr(json, "\"date_applied\":\"2025-07-10\",\"status\":\"Interviewing\"") != NULL, "%s", json);
    rm_free(json);
    rm_application_free(g);
    rm_application_free(a);
    rm_principal_free(p);
}

TEST_BOTH(applications, text_field_rules)
{
    rm_principal *p = new_principal("cat");
    char longs[300];
    memset(longs, 'x', 256);
    longs[256] = '\0';
    create_fails(p, rm_test_fields("job_title", longs, "company_name", longs, NULL),
                 "{\"job_title\":[\"Ensure this field has no more than 255 characters.\"],"
                 "\"company_name\":[\"Ensure this field has no more than 255 characters.\"]}");
    create_fails(p, json_fields("{\"job_title\":[\"x\"],\"company_name\":{},\"notes\":true,\"original_job_description\":false}"),
                 "{\"job_title\":[\"Not a valid string.\"],\"company_name\":[\"Not a valid string.\"],"
                 "\"original_job_description\":[\"Not a valid string.\"],\"notes\":[\"Not a valid string.\"]}");
    /* nullable and blank-able; blanks are trimmed to "" */
    longs[255] = '\0';
    rm_application *a = create_app(p, rm_test_fields("job_title", "   ", "company_name", longs, "notes", NULL, NULL));
    STREQ(rm_application_job_title(a), "");
    STREQ(rm_application_company_name(a), longs);
    STRNULL(rm_application_notes(a));
    rm_application_free(a);
    /* long descriptions have no limit */
    size_t n = 200000;
    char *desc = malloc(n + 1);
    memset(desc, 'd', n);
    desc[n] = '\0';
    a = create_app(p, rm_test_fields("original_job_description", desc, NULL));
    cr_assert_eq(strlen(rm_application_original_job_description(a)), n);
    rm_application_free(a);
    free(desc);
    rm_principal_free(p);
}

TEST_BOTH(applications, status_choices_are_exact)
{
    rm_principal *p = new_principal("dan");
    static const char *const ok[] = {"Applied", "Interviewing", "Offer", "Rejected"};
    for (size_t i = 0; i < 4; i++) {
        rm_application *a = create_app(p, rm_test_fields("status", ok[i], NULL));
        STREQ(rm_application_status(a), ok[i]);
        rm_application_free(a);
    }
    create_fails(p, rm_test_fields("status", "Hired", NULL), "{\"status\":[\"\\\"Hired\\\" is not a valid choice.\"]}");
    create_fails(p, rm_test_fields("status", "applied", NULL), "{\"status\":[\"\\\"applied\\\" is not a valid choice.\"]}");
    create_fails(p, rm_test_fields("status", "OFFER", NULL), "{\"status\":[\"\\\"OFFER\\\" is not a valid choice.\"]}");
    create_fails(p, rm_test_fields("status", " Applied", NULL), "{\"status\":[\"\\\" Applied\\\" is not a valid choice.\"]}");
    create_fails(p, rm_test_fields("status", "", NULL), "{\"status\":[\"\\\"\\\" is not a valid choice.\"]}");
    create_fails(p, rm_test_fields("status", NULL, NULL), "{\"status\":[\"This field may not be null.\"]}");
    create_fails(p, json_fields("{\"status\":3}"), "{\"status\":[\"\\\"3\\\" is not a valid choice.\"]}");
    cr_assert_eq(count_apps(p), 4);
    rm_principal_free(p);
}

TEST_BOTH(applications, date_applied_rules)
{
    rm_principal *p = new_principal("eve");
    static const char *const bad[] = {"2025/07/10", "10-07-2025", "2025-13-01", "2025-02-30", "2023-02-29", "yesterday",
                                      "2025-07-10T00:00:00", "2025-07-10 ", " 2025-07-10", "", "25-07-10", "2025-07-100",
                                      "+2025-07-10", "2025-0x-10"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        create_fails(p, rm_test_fields("date_applied", bad[i], NULL),
                     "{\"date_applied\":[\"Date has wrong format. Use one of these formats instead: YYYY-MM-DD.\"]}");
    create_fails(p, json_fields("{\"date_applied\":20250710}"),
                 "{\"date_applied\":[\"Date has wrong format. Use one of these formats instead: YYYY-MM-DD.\"]}");
    create_fails(p, json_fields("{\"date_applied\":[\"2025-07-10\"]}"),
                 "{\"date_applied\":[\"Date has wrong format. Use one of these formats instead: YYYY-MM-DD.\"]}");
    rm_application *a = create_app(p, rm_test_fields("date_applied", "2024-02-29", NULL));
    STREQ(rm_application_date_applied(a), "2024-02-29");
    rm_application_free(a);
    a = create_app(p, rm_test_fields("date_applied", "2025-7-1", NULL)); /* Django's parse_date takes 1-digit parts */
    STREQ(rm_application_date_applied(a), "2025-07-01");
    rm_application_free(a);
    a = create_app(p, rm_test_fields("date_applied", NULL, NULL));
    STRNULL(rm_application_date_applied(a));
    rm_application_free(a);
    rm_principal_free(p);
}

TEST_BOTH(applications, resume_used_rules)
{
    rm_principal *p = new_principal("fay");
    rm_principal *q = new_principal("gus");
    int64_t mine = new_resume(p, "mine");
    int64_t theirs = new_resume(q, "theirs");
    int64_t missing = theirs + 1000;

    rm_fields *f = rm_test_fields(NULL);
    rm_fields_set_int(f, "resume_used", mine);
    rm_application *a = create_app(p, f);
    cr_assert_eq(rm_application_resume_used(a), mine);
    rm_application_free(a);

    /* as a string, as form bodies send it */
    char idtext[32];
    snprintf(idtext, sizeof(idtext), "%lld", (long long)mine);
    a = create_app(p, rm_test_fields("resume_used", idtext, NULL));
    cr_assert_eq(rm_application_resume_used(a), mine);
    rm_application_free(a);

    /* another user's resume is refused exactly like a missing one */
    char want[160];
    f = rm_test_fields(NULL);
    rm_fields_set_int(f, "resume_used", theirs);
    snprintf(want, sizeof(want), "{\"resume_used\":[\"Invalid pk \\\"%lld\\\" - object does not exist.\"]}", (long long)theirs);
    create_fails(p, f, want);
    f = rm_test_fields(NULL);
    rm_fields_set_int(f, "resume_used", missing);
    snprintf(want, sizeof(want), "{\"resume_used\":[\"Invalid pk \\\"%lld\\\" - object does not exist.\"]}", (long long)missing);
    create_fails(p, f, want);
    snprintf(idtext, sizeof(idtext), "%lld", (long long)theirs);
    snprintf(want, sizeof(want), "{\"resume_used\":[\"Invalid pk \\\"%lld\\\" - object does not exist.\"]}", (long long)theirs);
    create_fails(p, rm_test_fields("resume_used", idtext, NULL), want);
    create_fails(p, json_fields("{\"resume_used\":0}"), "{\"resume_used\":[\"Invalid pk \\\"0\\\" - object does not exist.\"]}");
    create_fails(p, json_fields("{\"resume_used\":-4}"), "{\"resume_used\":[\"Invalid pk \\\"-4\\\" - object does not exist.\"]}");

    create_fails(p, rm_test_fields("resume_used", "abc", NULL),
                 "{\"resume_used\":[\"Incorrect type. Expected pk value, received str.\"]}");
    create_fails(p, rm_test_fields("resume_used", "12abc", NULL),
                 "{\"resume_used\":[\"Incorrect type. Expected pk value, received str.\"]}");
    create_fails(p, json_fields("{\"resume_used\":true}"),
                 "{\"resume_used\":[\"Incorrect type. Expected pk value, received bool.\"]}");
    create_fails(p, json_fields("{\"resume_used\":[1]}"),
                 "{\"resume_used\":[\"Incorrect type. Expected pk value, received list.\"]}");

    /* null and "" are null */
    a = create_app(p, rm_test_fields("resume_used", NULL, NULL));
    cr_assert_eq(rm_application_resume_used(a), 0);
    rm_application_free(a);
    a = create_app(p, rm_test_fields("resume_used", "", NULL));
    cr_assert_eq(rm_application_resume_used(a), 0);
    rm_application_free(a);
    rm_principal_free(p);
    rm_principal_free(q);
}

TEST_BOTH(applications, several_errors_in_field_order)
{
    rm_principal *p = new_principal("hal");
    char longs[300];
    memset(longs, 'x', 256);
    longs[256] = '\0';
    create_fails(p, rm_test_fields("resume_used", "abc", "status", "Hired", "date_applied", "someday", "job_title", longs, NULL),
                 "{\"job_title\":[\"Ensure this field has no more than 255 characters.\"],"
                 "\"date_applied\":[\"Date has wrong format. Use one of these formats instead: YYYY-MM-DD.\"],"
                 "\"status\":[\"\\\"Hired\\\" is not a valid choice.\"],"
                 "\"resume_used\":[\"Incorrect type. Expected pk value, received str.\"]}");
    cr_assert_eq(count_apps(p), 0);
    rm_principal_free(p);
}

TEST_BOTH(applications, read_only_fields_are_ignored)
{
    rm_principal *p = new_principal("ida");
    rm_principal *q = new_principal("jon");
    rm_fields *f = rm_test_fields("job_title", "Sneaky", NULL);
    rm_fields_set_int(f, "user", rm_principal_user_id(q));
    rm_fields_set_bool(f, "is_example", 1);
    rm_fields_set_bool(f, "is_deleted", 1);
    rm_fields_set_int(f, "id", 4242);
    rm_fields_set_string(f, "created_at", "2001-01-01T00:00:00Z");
    rm_application *a = create_app(p, f);
    cr_assert_eq(rm_application_user_id(a), rm_principal_user_id(p));
    cr_assert_eq(rm_application_is_example(a), 0);
    cr_assert_eq(rm_application_is_deleted(a), 0);
    cr_assert_neq(rm_application_id(a), 4242);
    cr_assert_eq(rm_application_created_at(a), T0);
    int64_t id = rm_application_id(a);
    rm_application_free(a);
    cr_assert_eq(count_apps(p), 1);
    cr_assert_eq(count_apps(q), 0);
    rm_application_page *ex = NULL;
    OK(rm_example_list(&ex, ctx, NULL));
    cr_assert_eq(rm_application_page_count(ex), 0);
    rm_application_page_free(ex);
    FAILS(RM_ENOTFOUND, rm_example_get(&a, ctx, id));

    /* nor on update */
    f = rm_test_fields("notes", "n", NULL);
    rm_fields_set_bool(f, "is_deleted", 1);
    rm_fields_set_bool(f, "is_example", 1);
    rm_fields_set_int(f, "user", rm_principal_user_id(q));
    OK(rm_application_update(&a, ctx, p, id, f));
    rm_fields_free(f);
    cr_assert_eq(rm_application_is_deleted(a), 0);
    cr_assert_eq(rm_application_is_example(a), 0);
    cr_assert_eq(rm_application_user_id(a), rm_principal_user_id(p));
    rm_application_free(a);
    OK(rm_application_get(&a, ctx, p, id));
    STREQ(rm_application_notes(a), "n");
    rm_application_free(a);
    FAILS(RM_ENOTFOUND, rm_example_get(&a, ctx, id));
    rm_principal_free(p);
    rm_principal_free(q);
}

TEST_BOTH(applications, update_and_patch_keep_absent_fields)
{
    rm_principal *p = new_principal("kay");
    int64_t rid = new_resume(p, "cv");
    rm_fields *f = rm_test_fields("job_title", "Dev", "company_name", "Initech", "date_applied", "2025-07-01", "notes", "n1", NULL);
    rm_fields_set_int(f, "resume_used", rid);
    int64_t id = create_app_id(p, f);

    clk.now_us = T0 + 3000000;
    rm_application *a = NULL;
    f = rm_test_fields("status", "Offer", NULL);
    OK(rm_application_update(&a, ctx, p, id, f));
    rm_fields_free(f);
    STREQ(rm_application_status(a), "Offer");
    STREQ(rm_application_job_title(a), "Dev");
    STREQ(rm_application_company_name(a), "Initech");
    STREQ(rm_application_date_applied(a), "2025-07-01");
    STREQ(rm_application_notes(a), "n1");
    cr_assert_eq(rm_application_resume_used(a), rid);
    cr_assert_eq(rm_application_created_at(a), T0);
    cr_assert_eq(rm_application_updated_at(a), T0 + 3000000);
    rm_application_free(a);

    clk.now_us = T0 + 4000000;
    f = rm_test_fields("company_name", NULL, "date_applied", NULL, "resume_used", NULL, "notes", "", NULL);
    OK(rm_application_patch(&a, ctx, p, id, f));
    rm_fields_free(f);
    rm_application_free(a);
    OK(rm_application_get(&a, ctx, p, id));
    STREQ(rm_application_job_title(a), "Dev");
    STRNULL(rm_application_company_name(a));
    STRNULL(rm_application_date_applied(a));
    STREQ(rm_application_notes(a), "");
    STREQ(rm_application_status(a), "Offer");
    cr_assert_eq(rm_application_resume_used(a), 0);
    cr_assert_eq(rm_application_created_at(a), T0);
    cr_assert_eq(rm_application_updated_at(a), T0 + 4000000);
    rm_application_free(a);

    /* invalid input changes nothing */
    f = rm_test_fields("status", "Hired", "job_title", "Changed", NULL);
    FAILS(RM_EINVALID, rm_application_patch(&a, ctx, p, id, f));
    cr_assert_null(a);
    rm_fields_free(f);
    OK(rm_application_get(&a, ctx, p, id));
    STREQ(rm_application_job_title(a), "Dev");
    STREQ(rm_application_status(a), "Offer");
    rm_application_free(a);
    rm_principal_free(p);
}

TEST_BOTH(applications, soft_delete)
{
    rm_principal *p = new_principal("lou");
    int64_t keep = create_app_id(p, rm_test_fields("job_title", "keep", NULL));
    int64_t gone = create_app_id(p, rm_test_fields("job_title", "gone", NULL));
    cr_assert_eq(count_apps(p), 2);
    OK(rm_application_delete(ctx, p, gone));
    cr_assert_eq(count_apps(p), 1);
    rm_application *a = (rm_application *)0x1;
    FAILS(RM_ENOTFOUND, rm_application_get(&a, ctx, p, gone));
    cr_assert_null(a);
    STREQ(rm_error_message(rm_error_last()), "Not found.");
    FAILS(RM_ENOTFOUND, rm_application_delete(ctx, p, gone));
    rm_fields *f = rm_test_fields("notes", "revive?", NULL);
    FAILS(RM_ENOTFOUND, rm_application_update(&a, ctx, p, gone, f));
    FAILS(RM_ENOTFOUND, rm_application_patch(&a, ctx, p, gone, f));
    rm_fields_free(f);
    OK(rm_application_get(&a, ctx, p, keep));
    rm_application_free(a);

    /* the row is still there underneath, flagged: the backend's list skips it, with and without a filter */
    rm_list_options o = RM_LIST_OPTIONS_INIT;
    o.status = "Applied";
    rm_application_page *page = NULL;
    OK(rm_application_list(&page, ctx, p, &o));
    cr_assert_eq(rm_application_page_count(page), 1);
    cr_assert_eq(rm_application_id(rm_application_page_at(page, 0)), keep);
    rm_application_page_free(page);
    rm_principal_free(p);
}

TEST_BOTH(applications, deleting_a_resume_nulls_resume_used)
{
    rm_principal *p = new_principal("max");
    int64_t r1 = new_resume(p, "one"), r2 = new_resume(p, "two");
    rm_fields *f = rm_test_fields(NULL);
    rm_fields_set_int(f, "resume_used", r1);
    int64_t a1 = create_app_id(p, f);
    f = rm_test_fields(NULL);
    rm_fields_set_int(f, "resume_used", r1);
    int64_t a2 = create_app_id(p, f);
    f = rm_test_fields(NULL);
    rm_fields_set_int(f, "resume_used", r2);
    int64_t a3 = create_app_id(p, f);
    /* a soft-deleted application that used it is also cleared underneath, but stays invisible */
    f = rm_test_fields(NULL);
    rm_fields_set_int(f, "resume_used", r1);
    int64_t a4 = create_app_id(p, f);
    OK(rm_application_delete(ctx, p, a4));

    OK(rm_resume_delete(ctx, p, r1));
    rm_application *a = NULL;
    OK(rm_application_get(&a, ctx, p, a1));
    cr_assert_eq(rm_application_resume_used(a), 0);
    char *json = NULL;
    OK(rm_application_to_json(&json, a));
    cr_assert(strstr(json, "\"resume_used\":null}") != NULL, "%s", json);
    rm_free(json);
    rm_application_free(a);
    OK(rm_application_get(&a, ctx, p, a2));
    cr_assert_eq(rm_application_resume_used(a), 0);
    rm_application_free(a);
    OK(rm_application_get(&a, ctx, p, a3));
    cr_assert_eq(rm_application_resume_used(a), r2);
    rm_application_free(a);
    FAILS(RM_ENOTFOUND, rm_application_get(&a, ctx, p, a4));

    /* and the deleted resume can no longer be chosen */
    f = rm_test_fields(NULL);
    rm_fields_set_int(f, "resume_used", r1);
    char want[160];
    snprintf(want, sizeof(want), "{\"resume_used\":[\"Invalid pk \\\"%lld\\\" - object does not exist.\"]}", (long long)r1);
    create_fails(p, f, want);
    rm_principal_free(p);
}

TEST_BOTH(applications, another_users_application_is_not_found)
{
    rm_principal *owner = new_principal("ned");
    rm_principal *other = new_principal("olga");
    int64_t id = create_app_id(owner, rm_test_fields("job_title", "Secret", NULL));
    rm_application *a = (rm_application *)0x1;
    FAILS(RM_ENOTFOUND, rm_application_get(&a, ctx, other, id));
    cr_assert_null(a);
    rm_fields *f = rm_test_fields("job_title", "Mine now", NULL);
    FAILS(RM_ENOTFOUND, rm_application_update(&a, ctx, other, id, f));
    FAILS(RM_ENOTFOUND, rm_application_patch(&a, ctx, other, id, f));
    rm_fields_free(f);
    f = rm_test_fields("status", "Hired", NULL); /* not-found before validation */
    FAILS(RM_ENOTFOUND, rm_application_patch(&a, ctx, other, id, f));
    rm_fields_free(f);
    FAILS(RM_ENOTFOUND, rm_application_delete(ctx, other, id));
    cr_assert_eq(count_apps(other), 0);
    OK(rm_application_get(&a, ctx, owner, id));
    STREQ(rm_application_job_title(a), "Secret");
    cr_assert_eq(rm_application_is_deleted(a), 0);
    rm_application_free(a);
    rm_principal_free(owner);
    rm_principal_free(other);
}

TEST_BOTH(applications, ids_that_do_not_exist)
{
    rm_principal *p = new_principal("pat");
    rm_fields *f = rm_test_fields("notes", "x", NULL);
    rm_application *a = NULL;
    const int64_t ids[] = {0, -1, 424242, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        FAILS(RM_ENOTFOUND, rm_application_get(&a, ctx, p, ids[i]));
        FAILS(RM_ENOTFOUND, rm_application_update(&a, ctx, p, ids[i], f));
        FAILS(RM_ENOTFOUND, rm_application_patch(&a, ctx, p, ids[i], f));
        FAILS(RM_ENOTFOUND, rm_application_delete(ctx, p, ids[i]));
        FAILS(RM_ENOTFOUND, rm_example_get(&a, ctx, ids[i]));
    }
    cr_assert_null(a);
    rm_fields_free(f);
    rm_principal_free(p);
}

TEST_BOTH(applications, anonymous_is_eperm)
{
    rm_principal *owner = new_principal("quin");
    int64_t id = create_app_id(owner, rm_test_fields(NULL));
    rm_principal *anon = NULL;
    OK(rm_principal_anonymous(&anon));
    rm_fields *f = rm_test_fields("notes", "x", NULL);
    rm_application *a = (rm_application *)0x1;
    FAILS(RM_EPERM, rm_application_create(&a, ctx, anon, f));
    cr_assert_null(a);
    FAILS(RM_EPERM, rm_application_get(&a, ctx, anon, id));
    rm_application_page *page = (rm_application_page *)0x1;
    FAILS(RM_EPERM, rm_application_list(&page, ctx, anon, NULL));
    cr_assert_null(page);
    FAILS(RM_EPERM, rm_application_update(&a, ctx, anon, id, f));
    FAILS(RM_EPERM, rm_application_patch(&a, ctx, anon, id, f));
    FAILS(RM_EPERM, rm_application_delete(ctx, anon, id));
    rm_fields_free(f);
    cr_assert_eq(count_apps(owner), 1);
    rm_principal_free(anon);
    rm_principal_free(owner);
}

TEST_BOTH(applications, null_arguments_are_misuse)
{
    rm_principal *p = new_principal("ray");
    rm_fields *f = rm_test_fields(NULL);
    rm_application *a = NULL;
    rm_application_page *page = NULL;
    FAILS(RM_EMISUSE, rm_application_create(&a, NULL, p, f));
    FAILS(RM_EMISUSE, rm_application_create(&a, ctx, NULL, f));
    FAILS(RM_EMISUSE, rm_application_create(&a, ctx, p, NULL));
    FAILS(RM_EMISUSE, rm_application_get(NULL, ctx, p, 1));
    FAILS(RM_EMISUSE, rm_application_get(&a, NULL, p, 1));
    FAILS(RM_EMISUSE, rm_application_get(&a, ctx, NULL, 1));
    FAILS(RM_EMISUSE, rm_application_list(NULL, ctx, p, NULL));
    FAILS(RM_EMISUSE, rm_application_list(&page, NULL, p, NULL));
    FAILS(RM_EMISUSE, rm_application_list(&page, ctx, NULL, NULL));
    FAILS(RM_EMISUSE, rm_application_update(&a, NULL, p, 1, f));
    FAILS(RM_EMISUSE, rm_application_update(&a, ctx, NULL, 1, f));
    FAILS(RM_EMISUSE, rm_application_update(&a, ctx, p, 1, NULL));
    FAILS(RM_EMISUSE, rm_application_patch(&a, ctx, p, 1, NULL));
    FAILS(RM_EMISUSE, rm_application_delete(NULL, p, 1));
    FAILS(RM_EMISUSE, rm_application_delete(ctx, NULL, 1));
    FAILS(RM_EMISUSE, rm_example_list(NULL, ctx, NULL));
    FAILS(RM_EMISUSE, rm_example_list(&page, NULL, NULL));
    FAILS(RM_EMISUSE, rm_example_get(NULL, ctx, 1));
    FAILS(RM_EMISUSE, rm_example_get(&a, NULL, 1));
    FAILS(RM_EMISUSE, rm_example_seed(NULL, NULL));
    char *json = NULL;
    FAILS(RM_EMISUSE, rm_application_to_json(&json, NULL));
    FAILS(RM_EMISUSE, rm_application_page_to_json(&json, NULL));
    rm_application *made = create_app(p, rm_test_fields(NULL));
    FAILS(RM_EMISUSE, rm_application_to_json(NULL, made));
    rm_application_free(made);
    cr_assert_null(a);
    cr_assert_null(page);
    cr_assert_null(json);
    cr_assert_eq(rm_application_id(NULL), 0);
    cr_assert_eq(rm_application_user_id(NULL), 0);
    cr_assert_null(rm_application_job_title(NULL));
    cr_assert_null(rm_application_company_name(NULL));
    cr_assert_null(rm_application_original_job_description(NULL));
    cr_assert_null(rm_application_date_applied(NULL));
    cr_assert_null(rm_application_status(NULL));
    cr_assert_null(rm_application_notes(NULL));
    cr_assert_eq(rm_application_is_deleted(NULL), 0);
    cr_assert_eq(rm_application_is_example(NULL), 0);
    cr_assert_eq(rm_application_resume_used(NULL), 0);
    cr_assert_eq(rm_application_created_at(NULL), 0);
    cr_assert_eq(rm_application_updated_at(NULL), 0);
    cr_assert_eq(rm_application_page_count(NULL), 0);
    cr_assert_null(rm_application_page_at(NULL, 0));
    cr_assert_null(rm_application_page_next_cursor(NULL));
    rm_application_free(NULL);
    rm_application_page_free(NULL);
    rm_fields_free(f);
    rm_principal_free(p);
}

TEST_BOTH(applications, form_bodies)
{
    rm_principal *p = new_principal("sue");
    const char *body = "job_title=&company_name=&date_applied=&resume_used=&status=Offer&notes=line+one%0Aline+two";
    rm_fields *f = NULL;
    OK(rm_fields_parse_form(&f, body, strlen(body)));
    rm_application *a = create_app(p, f);
    STREQ(rm_application_job_title(a), ""); /* blank-able: "" stays "" */
    STREQ(rm_application_company_name(a), "");
    STRNULL(rm_application_date_applied(a)); /* a date: "" is null */
    cr_assert_eq(rm_application_resume_used(a), 0);
    STREQ(rm_application_status(a), "Offer");
    STREQ(rm_application_notes(a), "line one\nline two");
    rm_application_free(a);
    body = "status=";
    OK(rm_fields_parse_form(&f, body, strlen(body)));
    create_fails(p, f, "{\"status\":[\"\\\"\\\" is not a valid choice.\"]}");
    rm_principal_free(p);
}

TEST_BOTH(applications, sql_metacharacters_verbatim)
{
    rm_principal *p = new_principal("tim");
    const char *evil = "'; UPDATE job_tracker_jobapplication SET is_example=1; -- %_\\ \"q\" \xe2\x9c\x93";
    rm_application *a = create_app(p, rm_test_fields("job_title", evil, "company_name", evil, "notes", evil,
                                                     "original_job_description", evil, NULL));
    rm_application *g = NULL;
    OK(rm_application_get(&g, ctx, p, rm_application_id(a)));
    STREQ(rm_application_job_title(g), evil);
    STREQ(rm_application_company_name(g), evil);
    STREQ(rm_application_notes(g), evil);
    STREQ(rm_application_original_job_description(g), evil);
    cr_assert_eq(rm_application_is_example(g), 0);
    rm_application_free(g);
    rm_application_free(a);
    rm_application_page *ex = NULL;
    OK(rm_example_list(&ex, ctx, NULL));
    cr_assert_eq(rm_application_page_count(ex), 0);
    rm_application_page_free(ex);
    rm_principal_free(p);
}

/* ---- lists and paging ---- */

static const char *const CYCLE[] = {"Applied", "Interviewing", "Offer", "Rejected"};

/* n applications, one second apart, status cycling; ids returned newest first. */
static void make_many(const rm_principal *p, int n, int64_t *ids_newest_first, bool same_time)
{
    for (int i = 0; i < n; i++) {
        if (!same_time)
            clk.now_us = T0 + (int64_t)i * 1000000;
        char title[32];
        snprintf(title, sizeof(title), "job %d", i);
        ids_newest_first[n - 1 - i] = create_app_id(p, rm_test_fields("job_title", title, "status", CYCLE[i % 4], NULL));
    }
}

/* Walk every page with a cursor; returns how many were seen and checks them against want[]. */
static size_t walk(const rm_principal *p, int64_t limit, const char *status, const int64_t *want, size_t nwant)
{
    rm_list_options o = RM_LIST_OPTIONS_INIT;
    o.limit = limit;
    o.status = status;
    char cursor[128] = "";
    size_t seen = 0;
    for (int round = 0; round < 100; round++) {
        o.cursor = cursor[0] ? cursor : NULL;
        rm_application_page *page = NULL;
        OK(rm_application_list(&page, ctx, p, &o));
        cr_assert_leq(rm_application_page_count(page), (size_t)limit);
        for (size_t i = 0; i < rm_application_page_count(page); i++, seen++) {
            cr_assert_lt(seen, nwant, "more items than expected");
            cr_assert_eq(rm_application_id(rm_application_page_at(page, i)), want[seen], "item %zu", seen);
        }
        const char *next = rm_application_page_next_cursor(page);
        if (!next) {
            rm_application_page_free(page);
            return seen;
        }
        cr_assert_eq(rm_application_page_count(page), (size_t)limit, "only full pages have a next cursor");
        snprintf(cursor, sizeof(cursor), "%s", next);
        rm_application_page_free(page);
    }
    cr_assert_fail("cursor never ended");
    return seen;
}

TEST_BOTH(applications, list_newest_first_with_offset_and_limit)
{
    rm_principal *p = new_principal("uma");
    int64_t ids[10];
    make_many(p, 10, ids, false);
    rm_application_page *page = NULL;
    OK(rm_application_list(&page, ctx, p, NULL));
    cr_assert_eq(rm_application_page_count(page), 10);
    for (size_t i = 0; i < 10; i++)
        cr_assert_eq(rm_application_id(rm_application_page_at(page, i)), ids[i]);
    cr_assert_null(rm_application_page_next_cursor(page));
    char *json = NULL;
    OK(rm_application_page_to_json(&json, page));
    cr_assert(json[0] == '[' && strstr(json, "\"job_title\":\"job 9\"") < strstr(json, "\"job_title\":\"job 0\""));
    rm_free(json);
    rm_application_page_free(page);

    rm_list_options o = RM_LIST_OPTIONS_INIT;
    o.limit = 4;
    o.offset = 3;
    OK(rm_application_list(&page, ctx, p, &o));
    cr_assert_eq(rm_application_page_count(page), 4);
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(rm_application_id(rm_application_page_at(page, i)), ids[3 + i]);
    cr_assert_not_null(rm_application_page_next_cursor(page));
    rm_application_page_free(page);
    o.offset = 8;
    OK(rm_application_list(&page, ctx, p, &o));
    cr_assert_eq(rm_application_page_count(page), 2);
    cr_assert_null(rm_application_page_next_cursor(page));
    rm_application_page_free(page);
    o.offset = 50;
    OK(rm_application_list(&page, ctx, p, &o));
    cr_assert_eq(rm_application_page_count(page), 0);
    rm_application_page_free(page);
    /* exactly as many as the limit: no next page */
    o.offset = 0;
    o.limit = 10;
    OK(rm_application_list(&page, ctx, p, &o));
    cr_assert_eq(rm_application_page_count(page), 10);
    cr_assert_null(rm_application_page_next_cursor(page));
    rm_application_page_free(page);
    rm_principal_free(p);
}

TEST_BOTH(applications, cursor_walks_every_page_once)
{
    rm_principal *p = new_principal("vic");
    rm_principal *q = new_principal("wes");
    int64_t ids[23], other[3];
    make_many(p, 23, ids, false);
    make_many(q, 3, other, false);
    for (int64_t limit = 1; limit <= 24; limit += (limit < 6 ? 1 : 6))
        cr_assert_eq(walk(p, limit, NULL, ids, 23), 23, "limit %lld", (long long)limit);
    cr_assert_eq(walk(q, 2, NULL, other, 3), 3, "the other user's list is separate");
    rm_principal_free(p);
    rm_principal_free(q);
}

TEST_BOTH(applications, cursor_with_equal_times)
{
    rm_principal *p = new_principal("xia");
    int64_t ids[9];
    make_many(p, 9, ids, true); /* one timestamp: the id breaks the tie */
    for (int64_t limit = 1; limit <= 5; limit++)
        cr_assert_eq(walk(p, limit, NULL, ids, 9), 9);
    rm_principal_free(p);
}

TEST_BOTH(applications, cursor_is_stable_under_inserts_and_deletes)
{
    rm_principal *p = new_principal("yan");
    int64_t ids[8];
    make_many(p, 8, ids, false);
    rm_list_options o = RM_LIST_OPTIONS_INIT;
    o.limit = 3;
    rm_application_page *page = NULL;
    OK(rm_application_list(&page, ctx, p, &o));
    char cursor[128];
    snprintf(cursor, sizeof(cursor), "%s", rm_application_page_next_cursor(page));
    rm_application_page_free(page);
    /* a newer application arrives, and one already seen is deleted */
    clk.now_us = T0 + 100 * 1000000;
    create_app_id(p, rm_test_fields("job_title", "newcomer", NULL));
    OK(rm_application_delete(ctx, p, ids[0]));
    o.cursor = cursor;
    o.limit = 100;
    OK(rm_application_list(&page, ctx, p, &o));
    cr_assert_eq(rm_application_page_count(page), 5);
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(rm_application_id(rm_application_page_at(page, i)), ids[3 + i]);
    rm_application_page_free(page);
    rm_principal_free(p);
}

TEST_BOTH(applications, status_filter)
{
    rm_principal *p = new_principal("zoe");
    int64_t ids[12];
    make_many(p, 12, ids, false);
    for (size_t s = 0; s < 4; s++) {
        int64_t want[3];
        size_t n = 0;
        for (int i = 11; i >= 0; i--) /* newest first */
            if (i % 4 == (int)s)
                want[n++] = ids[11 - i];
        cr_assert_eq(n, 3);
        rm_list_options o = RM_LIST_OPTIONS_INIT;
        o.status = CYCLE[s];
        rm_application_page *page = NULL;
        OK(rm_application_list(&page, ctx, p, &o));
        cr_assert_eq(rm_application_page_count(page), 3, "%s", CYCLE[s]);
        for (size_t i = 0; i < 3; i++) {
            STREQ(rm_application_status(rm_application_page_at(page, i)), CYCLE[s]);
            cr_assert_eq(rm_application_id(rm_application_page_at(page, i)), want[i]);
        }
        rm_application_page_free(page);
        cr_assert_eq(walk(p, 2, CYCLE[s], want, 3), 3);
    }
    rm_list_options o = RM_LIST_OPTIONS_INIT;
    rm_application_page *page = NULL;
    o.status = "Hired";
    FAILS(RM_EINVALID, rm_application_list(&page, ctx, p, &o));
    cr_assert_eq(rm_error_field_count(rm_error_last()), 1);
    STREQ(rm_error_field_name(rm_error_last(), 0), "status");
    o.status = "applied";
    FAILS(RM_EINVALID, rm_application_list(&page, ctx, p, &o));
    o.status = "";
    FAILS(RM_EINVALID, rm_application_list(&page, ctx, p, &o));
    cr_assert_null(page);
    rm_principal_free(p);
}

TEST_BOTH(applications, bad_cursor_and_limit)
{
    rm_principal *p = new_principal("abe");
    int64_t ids[3];
    make_many(p, 3, ids, false);
    static const char *const bad[] = {"", "abc", "1", "1.5", "1.x.y", "2.1.1", "1.1.0", "1.1.-5", "1.1.1junk",
                                      "0.1.1", "1.99999999999999999999.1", "1.1.99999999999999999999",
                                      "1. 5.6", "1.+5.6", "1.5. 6", " 1.5.6", "1.5.6 "};
    rm_list_options o = RM_LIST_OPTIONS_INIT;
    rm_application_page *page = NULL;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o.cursor = bad[i];
        int rc = rm_application_list(&page, ctx, p, &o);
        cr_assert_eq(rc, RM_EINVALID, "cursor \"%s\" -> %s", bad[i], rm_status_name(rc));
        ERRORS("{\"cursor\":[\"Invalid cursor\"]}");
        cr_assert_null(page);
    }
    o.cursor = NULL;
    o.limit = -1;
    FAILS(RM_EINVALID, rm_application_list(&page, ctx, p, &o));
    ERRORS("{\"limit\":[\"Ensure this value is greater than or equal to 0.\"]}");
    o.limit = INT64_MIN;
    FAILS(RM_EINVALID, rm_application_list(&page, ctx, p, &o));
    o.limit = 0;
    o.offset = -2;
    FAILS(RM_EINVALID, rm_application_list(&page, ctx, p, &o));
    ERRORS("{\"offset\":[\"Ensure this value is greater than or equal to 0.\"]}");
    /* huge but valid */
    o.offset = 0;
    o.limit = INT64_MAX - 1;
    OK(rm_application_list(&page, ctx, p, &o));
    cr_assert_eq(rm_application_page_count(page), 3);
    cr_assert_null(rm_application_page_next_cursor(page));
    rm_application_page_free(page);
    o.limit = INT64_MAX;
    FAILS(RM_EINVALID, rm_application_list(&page, ctx, p, &o));
    rm_principal_free(p);
}
