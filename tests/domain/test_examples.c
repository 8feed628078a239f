/* The example job applications: seeding, public listing and retrieval, isolation from user data. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rm_test.h"

#include "rm_ctx_harness.h"

static const struct {
    const char *title, *company, *status, *date;
} SEED[5] = {
    {"Senior Python Developer", "TechCorp", "Applied", "2025-07-10"},
    {"Frontend Engineer (React)", "Innovate Inc.", "Interviewing", "2025-07-11"},
    {"UX/UI Designer", "Creative Solutions", "Applied", "2025-07-12"},
    {"DevOps Engineer", "CloudNet", "Offer", "2025-07-13"},
    {"Product Manager", "Visionary Products", "Rejected", "2025-07-14"},
};

static void seed(int want_created)
{
    int created = -1;
    OK(rm_example_seed(ctx, &created));
    cr_assert_eq(created, want_created);
}

TEST_BOTH(examples, seed_creates_exactly_the_five)
{
    cr_assert_eq(rm_ctx_data_version(ctx, RM_DATA_EXAMPLES), 0);
    seed(5);
    cr_assert_eq(rm_ctx_data_version(ctx, RM_DATA_EXAMPLES), 1);

    rm_user *owner = NULL;
    OK(rm_user_get_by_username(&owner, ctx, "example_user"));
    cr_assert_eq(rm_user_is_active(owner), 0);
    cr_assert_eq(rm_user_has_usable_password(owner), 0);
    cr_assert_eq(rm_user_is_staff(owner), 0);

    rm_application_page *page = NULL;
    OK(rm_example_list(&page, ctx, NULL));
    cr_assert_eq(rm_application_page_count(page), 5);
    for (size_t i = 0; i < 5; i++) {
        const rm_application *a = rm_application_page_at(page, i);
        size_t s = 4 - i; /* newest first: the last seeded comes first */
        STREQ(rm_application_job_title(a), SEED[s].title);
        STREQ(rm_application_company_name(a), SEED[s].company);
        STREQ(rm_application_status(a), SEED[s].status);
        STREQ(rm_application_date_applied(a), SEED[s].date);
        cr_assert_not_null(rm_application_original_job_description(a));
        cr_assert_gt(strlen(rm_application_original_job_description(a)), 20);
        cr_assert_not_null(rm_application_notes(a));
        cr_assert_eq(rm_application_is_example(a), 1);
        cr_assert_eq(rm_application_is_deleted(a), 0);
        cr_assert_eq(rm_application_resume_used(a), 0);
        cr_assert_eq(rm_application_user_id(a), rm_user_id(owner));
    }
    char *json = NULL;
    OK(rm_application_to_json(&json, rm_application_page_at(page, 0)));
    cr_assert(strstr(json, "\"is_deleted\":false,\"is_example\":true") != NULL, "%s", json);
    char frag[64];
    snprintf(frag, sizeof(frag), "\"user\":%lld,\"resume_used\":null}", (long long)rm_user_id(owner));
    cr_assert(strstr(json, frag) != NULL, "%s", json);
    rm_free(json);
    OK(rm_application_page_to_json(&json, page));
    cr_assert(strstr(json, "\"job_title\":\"Product Manager\"") < strstr(json, "\"job_title\":\"Senior Python Developer\""));
    rm_free(json);
    rm_application_page_free(page);
    rm_user_free(owner);
}

TEST_BOTH(examples, seeding_twice_creates_nothing)
{
    seed(5);
    seed(0);
    OK(rm_example_seed(ctx, NULL));
    cr_assert_eq(rm_ctx_data_version(ctx, RM_DATA_EXAMPLES), 1);
    rm_application_page *page = NULL;
    OK(rm_example_list(&page, ctx, NULL));
    cr_assert_eq(rm_application_page_count(page), 5);
    rm_application_page_free(page);
}

Test(examples_file, a_new_ctx_sees_the_seed, .init = setup_file, .fini = teardown)
{
    seed(5);
    rm_ctx *second = NULL;
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage_url = db_path;
    OK(rm_ctx_new(&second, &o));
    int created = -1;
    OK(rm_example_seed(second, &created));
    cr_assert_eq(created, 0);
    cr_assert_eq(rm_ctx_data_version(second, RM_DATA_EXAMPLES), 0);
    rm_application_page *page = NULL;
    OK(rm_example_list(&page, second, NULL));
    cr_assert_eq(rm_application_page_count(page), 5);
    rm_application_page_free(page);
    rm_ctx_free(second);
}

TEST_BOTH(examples, empty_before_seeding)
{
    rm_application_page *page = NULL;
    OK(rm_example_list(&page, ctx, NULL));
    cr_assert_eq(rm_application_page_count(page), 0);
    char *json = NULL;
    OK(rm_application_page_to_json(&json, page));
    STREQ(json, "[]");
    rm_free(json);
    rm_application_page_free(page);
    rm_application *a = NULL;
    FAILS(RM_ENOTFOUND, rm_example_get(&a, ctx, 1));
}

TEST_BOTH(examples, gettable_without_a_principal)
{
    seed(5);
    rm_application_page *page = NULL;
    OK(rm_example_list(&page, ctx, NULL));
    for (size_t i = 0; i < rm_application_page_count(page); i++) {
        const rm_application *want = rm_application_page_at(page, i);
        rm_application *a = NULL;
        OK(rm_example_get(&a, ctx, rm_application_id(want)));
        STREQ(rm_application_job_title(a), rm_application_job_title(want));
        STREQ(rm_application_notes(a), rm_application_notes(want));
        cr_assert_eq(rm_application_is_example(a), 1);
        char *j1 = NULL, *j2 = NULL;
        OK(rm_application_to_json(&j1, a));
        OK(rm_application_to_json(&j2, want));
        STREQ(j1, j2);
        rm_free(j1);
        rm_free(j2);
        rm_application_free(a);
    }
    rm_application_page_free(page);
}

TEST_BOTH(examples, a_normal_application_is_not_an_example)
{
    seed(5);
    rm_principal *p = new_principal("norm");
    rm_fields *f = rm_test_fields("job_title", "Mine", NULL);
    rm_application *mine = NULL;
    OK(rm_application_create(&mine, ctx, p, f));
    rm_fields_free(f);
    rm_application *a = (rm_application *)0x1;
    FAILS(RM_ENOTFOUND, rm_example_get(&a, ctx, rm_application_id(mine)));
    cr_assert_null(a);
    rm_application_page *page = NULL;
    OK(rm_example_list(&page, ctx, NULL));
    cr_assert_eq(rm_application_page_count(page), 5);
    for (size_t i = 0; i < 5; i++)
        cr_assert_neq(rm_application_id(rm_application_page_at(page, i)), rm_application_id(mine));

    /* and the examples are not any user's own applications */
    int64_t ex = rm_application_id(rm_application_page_at(page, 0));
    FAILS(RM_ENOTFOUND, rm_application_get(&a, ctx, p, ex));
    FAILS(RM_ENOTFOUND, rm_application_delete(ctx, p, ex));
    f = rm_test_fields("job_title", "defaced", NULL);
    FAILS(RM_ENOTFOUND, rm_application_patch(&a, ctx, p, ex, f));
    rm_fields_free(f);
    rm_application_page *own = NULL;
    OK(rm_application_list(&own, ctx, p, NULL));
    cr_assert_eq(rm_application_page_count(own), 1);
    rm_application_page_free(own);
    OK(rm_example_get(&a, ctx, ex));
    STREQ(rm_application_job_title(a), "Product Manager");
    rm_application_free(a);
    rm_application_page_free(page);
    rm_application_free(mine);
    rm_principal_free(p);
}

TEST_BOTH(examples, example_user_never_authenticates)
{
    seed(5);
    rm_principal *p = NULL;
    FAILS(RM_EAUTH, rm_user_authenticate(&p, ctx, "example_user", "example_user"));
    FAILS(RM_EAUTH, rm_user_authenticate(&p, ctx, "example_user", "!"));
    cr_assert_null(p);
}

TEST_BOTH(examples, paging)
{
    seed(5);
    rm_application_page *all = NULL;
    OK(rm_example_list(&all, ctx, NULL));
    rm_list_options o = RM_LIST_OPTIONS_INIT;
    o.limit = 2;
    char cursor[128] = "";
    size_t seen = 0;
    for (int round = 0; round < 10; round++) {
        o.cursor = cursor[0] ? cursor : NULL;
        rm_application_page *page = NULL;
        OK(rm_example_list(&page, ctx, &o));
        for (size_t i = 0; i < rm_application_page_count(page); i++, seen++)
            cr_assert_eq(rm_application_id(rm_application_page_at(page, i)), rm_application_id(rm_application_page_at(all, seen)));
        const char *next = rm_application_page_next_cursor(page);
        snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
        rm_application_page_free(page);
        if (!next)
            break;
    }
    cr_assert_eq(seen, 5);
    o = (rm_list_options)RM_LIST_OPTIONS_INIT;
    o.limit = 2;
    o.offset = 4;
    rm_application_page *page = NULL;
    OK(rm_example_list(&page, ctx, &o));
    cr_assert_eq(rm_application_page_count(page), 1);
    cr_assert_eq(rm_application_id(rm_application_page_at(page, 0)), rm_application_id(rm_application_page_at(all, 4)));
    rm_application_page_free(page);
    o.cursor = "bogus";
    FAILS(RM_EINVALID, rm_example_list(&page, ctx, &o));
    o.cursor = NULL;
    o.limit = -3;
    FAILS(RM_EINVALID, rm_example_list(&page, ctx, &o));
    o.limit = 0;
    o.status = "Offer";
    FAILS(RM_EINVALID, rm_example_list(&page, ctx, &o));
    cr_assert_null(page);
    rm_application_page_free(all);
}

/* Users, including a real user who registered first, do not disturb the system users. */
TEST_BOTH(examples, system_users_are_distinct)
{
    seed(5);
    rm_user *anon = NULL, *ex = NULL;
    OK(rm_user_anonymous(&anon, ctx));
    OK(rm_user_get_by_username(&ex, ctx, "example_user"));
    cr_assert_neq(rm_user_id(anon), rm_user_id(ex));
    rm_user_free(anon);
    rm_user_free(ex);
}

/* Many threads seeding at once still make exactly five examples and one example_user. */
static void *seed_thread(void *arg)
{
    int *created = arg;
    if (rm_example_seed(ctx, created) != RM_OK)
        *created = -100;
    return NULL;
}

Test(examples_file, concurrent_seeding_creates_five, .init = setup_file, .fini = teardown, .timeout = 60)
{
    pthread_t t[6];
    int created[6] = {0};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, seed_thread, &created[i]), 0);
    int total = 0;
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        cr_assert_geq(created[i], 0, "thread %d failed", i);
        total += created[i];
    }
    cr_assert_eq(total, 5);
    rm_application_page *page = NULL;
    OK(rm_example_list(&page, ctx, NULL));
    cr_assert_eq(rm_application_page_count(page), 5);
    rm_application_page_free(page);
    cr_assert_eq(rm_ctx_data_version(ctx, RM_DATA_EXAMPLES), 1);
}
