/* Resumes: owner-scoped CRUD, DRF validation messages, ordering, paging, isolation, concurrency. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rm_test.h"

#include "rm_ctx_harness.h"

static rm_resume *create_resume(const rm_principal *who, const char *title, const char *content)
{
    rm_fields *f = rm_test_fields("title", title, "content", content, NULL);
    rm_resume *r = NULL;
    OK(rm_resume_create(&r, ctx, who, f));
    rm_fields_free(f);
    return r;
}

/* Create with these fields and expect exactly these field errors. */
static void create_fails(const rm_principal *who, rm_fields *f, const char *want)
{
    rm_resume *r = (rm_resume *)0x1;
    FAILS(RM_EINVALID, rm_resume_create(&r, ctx, who, f));
    cr_assert_null(r);
    ERRORS(want);
    rm_fields_free(f);
}

static size_t count_resumes(const rm_principal *who)
{
    rm_resume_page *p = NULL;
    OK(rm_resume_list(&p, ctx, who, NULL));
    size_t n = rm_resume_page_count(p);
    rm_resume_page_free(p);
    return n;
}

TEST_BOTH(resumes, create_and_get)
{
    rm_principal *alice = new_principal("alice");
    rm_resume *r = create_resume(alice, "Backend Engineer", "# Alice\n\n* C\n* SQL");
    cr_assert_gt(rm_resume_id(r), 0);
    cr_assert_eq(rm_resume_user_id(r), rm_principal_user_id(alice));
    STREQ(rm_resume_username(r), "alice");
    STREQ(rm_resume_title(r), "Backend Engineer");
    STREQ(rm_resume_content(r), "# Alice\n\n* C\n* SQL");
    cr_assert_eq(rm_resume_created_at(r), T0);
    cr_assert_eq(rm_resume_updated_at(r), T0);

    rm_resume *g = NULL;
    OK(rm_resume_get(&g, ctx, alice, rm_resume_id(r)));
    cr_assert_eq(rm_resume_id(g), rm_resume_id(r));
    STREQ(rm_resume_username(g), "alice");
    STREQ(rm_resume_title(g), "Backend Engineer");
    STREQ(rm_resume_content(g), "# Alice\n\n* C\n* SQL");
    cr_assert_eq(rm_resume_created_at(g), T0);
    cr_assert_eq(rm_resume_updated_at(g), T0);

    char *json = NULL;
    OK(rm_resume_to_json(&json, g));
    char want[512];
    snprintf(want, sizeof(want),
             "{\"id\":%lld,\"user\":\"alice\",\"title\":\"Backend Engineer\",\"content\":\"# Alice\\n\\n* C\\n* SQL\","
             "\"created_at\":\"2025-07-24T02:07:56.000000Z\",\"updated_at\":\"2025-07-24T02:07:56.000000Z\"}",
             (long long)rm_resume_id(r));
    STREQ(json, want);
    rm_free(json);
    rm_resume_free(g);
    rm_resume_free(r);
    rm_principal_free(alice);
}

TEST_BOTH(resumes, out_may_be_null_on_create)
{
    rm_principal *p = new_principal("nullout");
    rm_fields *f = rm_test_fields("title", "T", "content", "C", NULL);
    OK(rm_resume_create(NULL, ctx, p, f));
    rm_fields_free(f);
    cr_assert_eq(count_resumes(p), 1);
    rm_principal_free(p);
}

TEST_BOTH(resumes, microsecond_timestamps_survive_storage)
{
    rm_principal *p = new_principal("micro");
    clk.now_us = T0 + 123457;
    rm_resume *r = create_resume(p, "T", "C");
    rm_resume *g = NULL;
    OK(rm_resume_get(&g, ctx, p, rm_resume_id(r)));
    cr_assert_eq(rm_resume_created_at(g), T0 + 123457);
    char *json = NULL;
    OK(rm_resume_to_json(&json, g));
    cr_assert(strstr(json, "\"created_at\":\"2025-07-24T02:07:56.123457Z\"") != NULL, "%s", json);
    rm_free(json);
    rm_resume_free(g);
    rm_resume_free(r);
    rm_principal_free(p);
}

TEST_BOTH(resumes, required_blank_null)
{
    rm_principal *p = new_principal("val");
    create_fails(p, rm_test_fields(NULL),
                 "{\"title\":[\"This field is required.\"],\"content\":[\"This field is required.\"]}");
    create_fails(p, rm_test_fields("title", "T", NULL), "{\"content\":[\"This field is required.\"]}");
    create_fails(p, rm_test_fields("title", "", "content", "", NULL),
                 "{\"title\":[\"This field may not be blank.\"],\"content\":[\"This field may not be blank.\"]}");
    create_fails(p, rm_test_fields("title", " \t\n ", "content", "\xe2\x80\x83\xc2\xa0\xe3\x80\x80", NULL),
                 "{\"title\":[\"This field may not be blank.\"],\"content\":[\"This field may not be blank.\"]}");
    create_fails(p, rm_test_fields("title", NULL, "content", NULL, NULL),
                 "{\"title\":[\"This field may not be null.\"],\"content\":[\"This field may not be null.\"]}");
    cr_assert_eq(count_resumes(p), 0);
    rm_principal_free(p);
}

TEST_BOTH(resumes, title_length_in_characters)
{
    rm_principal *p = new_principal("len");
    char t[256 * 3 + 1];
    memset(t, 'x', 256);
    t[256] = '\0';
    create_fails(p, rm_test_fields("title", t, "content", "C", NULL),
                 "{\"title\":[\"Ensure this field has no more than 255 characters.\"]}");
    t[255] = '\0';
    rm_resume *r = create_resume(p, t, "C");
    cr_assert_eq(strlen(rm_resume_title(r)), 255);
    rm_resume_free(r);
    /* 255 three-byte characters (765 bytes) fit; 256 do not */
    for (int i = 0; i < 256; i++)
        memcpy(t + 3 * i, "\xe2\x82\xac", 3);
    t[3 * 256] = '\0';
    create_fails(p, rm_test_fields("title", t, "content", "C", NULL),
                 "{\"title\":[\"Ensure this field has no more than 255 characters.\"]}");
    t[3 * 255] = '\0';
    r = create_resume(p, t, "C");
    STREQ(rm_resume_title(r), t);
    rm_resume_free(r);
    /* the limit applies after trimming */
    char padded[300];
    memset(padded, 'y', 255);
    padded[255] = '\0';
    char spaced[320];
    snprintf(spaced, sizeof(spaced), "   %s   ", padded);
    r = create_resume(p, spaced, "C");
    STREQ(rm_resume_title(r), padded);
    rm_resume_free(r);
    rm_principal_free(p);
}

TEST_BOTH(resumes, whitespace_is_trimmed)
{
    rm_principal *p = new_principal("trim");
    rm_resume *r = create_resume(p, "  \tMy Title \n", "\n\n  body keeps inner   spacing  \n ");
    STREQ(rm_resume_title(r), "My Title");
    STREQ(rm_resume_content(r), "body keeps inner   spacing");
    rm_resume *g = NULL;
    OK(rm_resume_get(&g, ctx, p, rm_resume_id(r)));
    STREQ(rm_resume_title(g), "My Title");
    STREQ(rm_resume_content(g), "body keeps inner   spacing");
    rm_resume_free(g);
    rm_resume_free(r);
    rm_principal_free(p);
}

TEST_BOTH(resumes, non_string_types)
{
    rm_principal *p = new_principal("types");
    rm_fields *f = rm_test_fields("content", "C", NULL);
    rm_fields_set_bool(f, "title", 1);
    create_fails(p, f, "{\"title\":[\"Not a valid string.\"]}");

    rm_fields *j = NULL;
    const char *body = "{\"title\":[\"a\"],\"content\":{\"k\":1}}";
    OK(rm_fields_parse_json(&j, body, strlen(body)));
    create_fails(p, j, "{\"title\":[\"Not a valid string.\"],\"content\":[\"Not a valid string.\"]}");

    /* numbers become their decimal text, as DRF does */
    f = rm_test_fields("content", "C", NULL);
    rm_fields_set_int(f, "title", 42);
    rm_resume *r = NULL;
    OK(rm_resume_create(&r, ctx, p, f));
    STREQ(rm_resume_title(r), "42");
    rm_resume_free(r);
    rm_fields_free(f);
    body = "{\"title\":-7,\"content\":2.5}";
    OK(rm_fields_parse_json(&j, body, strlen(body)));
    OK(rm_resume_create(&r, ctx, p, j));
    STREQ(rm_resume_title(r), "-7");
    STREQ(rm_resume_content(r), "2.5");
    rm_resume_free(r);
    rm_fields_free(j);
    body = "{\"title\":100.0,\"content\":0.1}"; /* str(100.0) and str(0.1) in Python */
    OK(rm_fields_parse_json(&j, body, strlen(body)));
    OK(rm_resume_create(&r, ctx, p, j));
    STREQ(rm_resume_title(r), "100.0");
    STREQ(rm_resume_content(r), "0.1");
    rm_resume_free(r);
    rm_fields_free(j);
    rm_principal_free(p);
}

TEST_BOTH(resumes, user_and_read_only_fields_in_the_request_are_ignored)
{
    rm_principal *a = new_principal("owner_a");
    rm_principal *b = new_principal("owner_b");
    rm_fields *f = rm_test_fields("title", "T", "content", "C", "user", "owner_b", NULL);
    rm_fields_set_int(f, "id", 777);
    rm_fields_set_string(f, "created_at", "1999-01-01T00:00:00Z");
    rm_resume *r = NULL;
    OK(rm_resume_create(&r, ctx, a, f));
    cr_assert_eq(rm_resume_user_id(r), rm_principal_user_id(a));
    STREQ(rm_resume_username(r), "owner_a");
    cr_assert_neq(rm_resume_id(r), 777);
    cr_assert_eq(rm_resume_created_at(r), T0);
    cr_assert_eq(count_resumes(b), 0);
    cr_assert_eq(count_resumes(a), 1);
    rm_resume_free(r);
    rm_fields_free(f);
    rm_principal_free(a);
    rm_principal_free(b);
}

TEST_BOTH(resumes, list_newest_updated_first)
{
    rm_principal *p = new_principal("lister");
    int64_t ids[3];
    const char *titles[3] = {"first", "second", "third"};
    for (int i = 0; i < 3; i++) {
        clk.now_us = T0 + i * 1000000;
        rm_resume *r = create_resume(p, titles[i], "C");
        ids[i] = rm_resume_id(r);
        rm_resume_free(r);
    }
    rm_resume_page *page = NULL;
    OK(rm_resume_list(&page, ctx, p, NULL));
    cr_assert_eq(rm_resume_page_count(page), 3);
    cr_assert_eq(rm_resume_id(rm_resume_page_at(page, 0)), ids[2]);
    cr_assert_eq(rm_resume_id(rm_resume_page_at(page, 1)), ids[1]);
    cr_assert_eq(rm_resume_id(rm_resume_page_at(page, 2)), ids[0]);
    cr_assert_null(rm_resume_page_at(page, 3));
    cr_assert_null(rm_resume_page_next_cursor(page));
    rm_resume_page_free(page);

    /* touching the oldest moves it to the front */
    clk.now_us = T0 + 10 * 1000000;
    rm_fields *f = rm_test_fields("content", "edited", NULL);
    OK(rm_resume_patch(NULL, ctx, p, ids[0], f));
    rm_fields_free(f);
    OK(rm_resume_list(&page, ctx, p, NULL));
    cr_assert_eq(rm_resume_id(rm_resume_page_at(page, 0)), ids[0]);
    cr_assert_eq(rm_resume_id(rm_resume_page_at(page, 1)), ids[2]);
    cr_assert_eq(rm_resume_id(rm_resume_page_at(page, 2)), ids[1]);
    STREQ(rm_resume_content(rm_resume_page_at(page, 0)), "edited");
    STREQ(rm_resume_username(rm_resume_page_at(page, 0)), "lister");

    char *json = NULL;
    OK(rm_resume_page_to_json(&json, page));
    cr_assert_eq(json[0], '[');
    cr_assert(strstr(json, "\"title\":\"first\"") < strstr(json, "\"title\":\"third\""), "%s", json);
    rm_free(json);
    rm_resume_page_free(page);

    /* equal times: the higher id first */
    clk.now_us = T0 + 20 * 1000000;
    rm_resume *x = create_resume(p, "x", "C"), *y = create_resume(p, "y", "C");
    OK(rm_resume_list(&page, ctx, p, NULL));
    cr_assert_eq(rm_resume_id(rm_resume_page_at(page, 0)), rm_resume_id(y));
    cr_assert_eq(rm_resume_id(rm_resume_page_at(page, 1)), rm_resume_id(x));
    rm_resume_page_free(page);
    rm_resume_free(x);
    rm_resume_free(y);
    rm_principal_free(p);
}

TEST_BOTH(resumes, empty_list_renders_as_empty_array)
{
    rm_principal *p = new_principal("empty");
    rm_resume_page *page = NULL;
    OK(rm_resume_list(&page, ctx, p, NULL));
    cr_assert_eq(rm_resume_page_count(page), 0);
    char *json = NULL;
    OK(rm_resume_page_to_json(&json, page));
    STREQ(json, "[]");
    rm_free(json);
    rm_resume_page_free(page);
    rm_principal_free(p);
}

TEST_BOTH(resumes, list_paging)
{
    rm_principal *p = new_principal("pager");
    int64_t ids[7];
    for (int i = 0; i < 7; i++) {
        clk.now_us = T0 + i;
        rm_resume *r = create_resume(p, "T", "C");
        ids[6 - i] = rm_resume_id(r); /* ids[] in list order */
        rm_resume_free(r);
    }
    rm_list_options o = RM_LIST_OPTIONS_INIT;
    o.limit = 3;
    o.offset = 2;
    rm_resume_page *page = NULL;
    OK(rm_resume_list(&page, ctx, p, &o));
    cr_assert_eq(rm_resume_page_count(page), 3);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(rm_resume_id(rm_resume_page_at(page, i)), ids[2 + i]);
    rm_resume_page_free(page);

    /* cursor through everything, two at a time */
    o = (rm_list_options)RM_LIST_OPTIONS_INIT;
    o.limit = 2;
    char cursor[128] = "";
    size_t seen = 0;
    for (int round = 0; round < 10; round++) {
        o.cursor = cursor[0] ? cursor : NULL;
        OK(rm_resume_list(&page, ctx, p, &o));
        for (size_t i = 0; i < rm_resume_page_count(page); i++, seen++)
            cr_assert_eq(rm_resume_id(rm_resume_page_at(page, i)), ids[seen]);
        const char *next = rm_resume_page_next_cursor(page);
        if (!next) {
            rm_resume_page_free(page);
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", next);
        rm_resume_page_free(page);
    }
    cr_assert_eq(seen, 7);

    /* a status filter is not for resumes; a bad cursor or limit is a field error */
    o = (rm_list_options)RM_LIST_OPTIONS_INIT;
    o.status = "Applied";
    FAILS(RM_EINVALID, rm_resume_list(&page, ctx, p, &o));
    o = (rm_list_options)RM_LIST_OPTIONS_INIT;
    o.cursor = "garbage";
    FAILS(RM_EINVALID, rm_resume_list(&page, ctx, p, &o));
    ERRORS("{\"cursor\":[\"Invalid cursor\"]}");
    o.cursor = NULL;
    o.limit = -1;
    FAILS(RM_EINVALID, rm_resume_list(&page, ctx, p, &o));
    ERRORS("{\"limit\":[\"Ensure this value is greater than or equal to 0.\"]}");
    o.limit = 0;
    o.offset = -1;
    FAILS(RM_EINVALID, rm_resume_list(&page, ctx, p, &o));
    cr_assert_null(page);
    rm_principal_free(p);
}

TEST_BOTH(resumes, put_requires_both_fields)
{
    rm_principal *p = new_principal("putter");
    rm_resume *r = create_resume(p, "Old title", "Old content");
    int64_t id = rm_resume_id(r);
    rm_resume_free(r);
    rm_fields *f = rm_test_fields("title", "New title", NULL);
    FAILS(RM_EINVALID, rm_resume_update(&r, ctx, p, id, f));
    ERRORS("{\"content\":[\"This field is required.\"]}");
    cr_assert_null(r);
    rm_fields_free(f);
    f = rm_test_fields(NULL);
    FAILS(RM_EINVALID, rm_resume_update(&r, ctx, p, id, f));
    ERRORS("{\"title\":[\"This field is required.\"],\"content\":[\"This field is required.\"]}");
    rm_fields_free(f);

    clk.now_us = T0 + 5000000;
    f = rm_test_fields("title", " New title ", "content", "New content", NULL);
    OK(rm_resume_update(&r, ctx, p, id, f));
    rm_fields_free(f);
    cr_assert_eq(rm_resume_id(r), id);
    STREQ(rm_resume_title(r), "New title");
    STREQ(rm_resume_content(r), "New content");
    STREQ(rm_resume_username(r), "putter");
    cr_assert_eq(rm_resume_created_at(r), T0);
    cr_assert_eq(rm_resume_updated_at(r), T0 + 5000000);
    rm_resume_free(r);
    OK(rm_resume_get(&r, ctx, p, id));
    STREQ(rm_resume_title(r), "New title");
    STREQ(rm_resume_content(r), "New content");
    cr_assert_eq(rm_resume_created_at(r), T0);
    cr_assert_eq(rm_resume_updated_at(r), T0 + 5000000);
    rm_resume_free(r);
    rm_principal_free(p);
}

TEST_BOTH(resumes, patch_is_partial)
{
    rm_principal *p = new_principal("patcher");
    rm_resume *r = create_resume(p, "Title", "Content");
    int64_t id = rm_resume_id(r);
    rm_resume_free(r);

    clk.now_us = T0 + 1000000;
    rm_fields *f = rm_test_fields("title", "Only the title", NULL);
    OK(rm_resume_patch(&r, ctx, p, id, f));
    rm_fields_free(f);
    STREQ(rm_resume_title(r), "Only the title");
    STREQ(rm_resume_content(r), "Content");
    cr_assert_eq(rm_resume_updated_at(r), T0 + 1000000);
    cr_assert_eq(rm_resume_created_at(r), T0);
    rm_resume_free(r);

    /* an empty patch changes nothing but the time */
    clk.now_us = T0 + 2000000;
    f = rm_test_fields(NULL);
    OK(rm_resume_patch(&r, ctx, p, id, f));
    rm_fields_free(f);
    STREQ(rm_resume_title(r), "Only the title");
    STREQ(rm_resume_content(r), "Content");
    rm_resume_free(r);

    /* present fields are still validated */
    f = rm_test_fields("content", "   ", NULL);
    FAILS(RM_EINVALID, rm_resume_patch(&r, ctx, p, id, f));
    ERRORS("{\"content\":[\"This field may not be blank.\"]}");
    rm_fields_free(f);
    f = rm_test_fields("title", NULL, NULL);
    FAILS(RM_EINVALID, rm_resume_patch(&r, ctx, p, id, f));
    ERRORS("{\"title\":[\"This field may not be null.\"]}");
    rm_fields_free(f);
    OK(rm_resume_get(&r, ctx, p, id));
    STREQ(rm_resume_title(r), "Only the title");
    STREQ(rm_resume_content(r), "Content");
    cr_assert_eq(rm_resume_updated_at(r), T0 + 2000000);
    rm_resume_free(r);
    rm_principal_free(p);
}

TEST_BOTH(resumes, delete)
{
    rm_principal *p = new_principal("deleter");
    rm_resume *keep = create_resume(p, "keep", "C");
    rm_resume *gone = create_resume(p, "gone", "C");
    OK(rm_resume_delete(ctx, p, rm_resume_id(gone)));
    rm_resume *r = (rm_resume *)0x1;
    FAILS(RM_ENOTFOUND, rm_resume_get(&r, ctx, p, rm_resume_id(gone)));
    cr_assert_null(r);
    STREQ(rm_error_message(rm_error_last()), "Not found.");
    FAILS(RM_ENOTFOUND, rm_resume_delete(ctx, p, rm_resume_id(gone)));
    rm_fields *f = rm_test_fields("title", "T", "content", "C", NULL);
    FAILS(RM_ENOTFOUND, rm_resume_update(&r, ctx, p, rm_resume_id(gone), f));
    FAILS(RM_ENOTFOUND, rm_resume_patch(&r, ctx, p, rm_resume_id(gone), f));
    rm_fields_free(f);
    cr_assert_eq(count_resumes(p), 1);
    OK(rm_resume_get(&r, ctx, p, rm_resume_id(keep)));
    rm_resume_free(r);
    rm_resume_free(keep);
    rm_resume_free(gone);
    rm_principal_free(p);
}

TEST_BOTH(resumes, ids_that_do_not_exist)
{
    rm_principal *p = new_principal("ghost");
    rm_resume *r = NULL;
    rm_fields *f = rm_test_fields("title", "T", "content", "C", NULL);
    const int64_t ids[] = {0, -1, 999999, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        FAILS(RM_ENOTFOUND, rm_resume_get(&r, ctx, p, ids[i]));
        FAILS(RM_ENOTFOUND, rm_resume_update(&r, ctx, p, ids[i], f));
        FAILS(RM_ENOTFOUND, rm_resume_patch(&r, ctx, p, ids[i], f));
        FAILS(RM_ENOTFOUND, rm_resume_delete(ctx, p, ids[i]));
    }
    cr_assert_null(r);
    rm_fields_free(f);
    rm_principal_free(p);
}

/* Another user's resume does not exist for you: RM_ENOTFOUND everywhere, never RM_EPERM, and it stays intact. */
TEST_BOTH(resumes, another_users_resume_is_not_found)
{
    rm_principal *owner = new_principal("owner");
    rm_principal *other = new_principal("intruder");
    rm_resume *mine = create_resume(owner, "Mine", "Private");
    int64_t id = rm_resume_id(mine);
    rm_resume_free(mine);

    rm_resume *r = (rm_resume *)0x1;
    FAILS(RM_ENOTFOUND, rm_resume_get(&r, ctx, other, id));
    cr_assert_null(r);
    STREQ(rm_error_message(rm_error_last()), "Not found.");
    rm_fields *f = rm_test_fields("title", "Hacked", "content", "Hacked", NULL);
    FAILS(RM_ENOTFOUND, rm_resume_update(&r, ctx, other, id, f));
    FAILS(RM_ENOTFOUND, rm_resume_patch(&r, ctx, other, id, f));
    rm_fields_free(f);
    /* invalid input does not reveal existence either: not-found comes first */
    f = rm_test_fields("title", "", NULL);
    FAILS(RM_ENOTFOUND, rm_resume_patch(&r, ctx, other, id, f));
    rm_fields_free(f);
    FAILS(RM_ENOTFOUND, rm_resume_delete(ctx, other, id));
    cr_assert_eq(count_resumes(other), 0);

    OK(rm_resume_get(&r, ctx, owner, id));
    STREQ(rm_resume_title(r), "Mine");
    STREQ(rm_resume_content(r), "Private");
    rm_resume_free(r);
    rm_principal_free(owner);
    rm_principal_free(other);
}

TEST_BOTH(resumes, anonymous_is_eperm)
{
    rm_principal *owner = new_principal("real");
    rm_resume *mine = create_resume(owner, "T", "C");
    int64_t id = rm_resume_id(mine);
    rm_resume_free(mine);
    rm_principal *anon = NULL;
    OK(rm_principal_anonymous(&anon));
    rm_fields *f = rm_test_fields("title", "T", "content", "C", NULL);
    rm_resume *r = (rm_resume *)0x1;
    FAILS(RM_EPERM, rm_resume_create(&r, ctx, anon, f));
    cr_assert_null(r);
    FAILS(RM_EPERM, rm_resume_get(&r, ctx, anon, id));
    rm_resume_page *page = (rm_resume_page *)0x1;
    FAILS(RM_EPERM, rm_resume_list(&page, ctx, anon, NULL));
    cr_assert_null(page);
    FAILS(RM_EPERM, rm_resume_update(&r, ctx, anon, id, f));
    FAILS(RM_EPERM, rm_resume_patch(&r, ctx, anon, id, f));
    FAILS(RM_EPERM, rm_resume_delete(ctx, anon, id));
    rm_fields_free(f);
    cr_assert_eq(count_resumes(owner), 1);
    rm_principal_free(anon);
    rm_principal_free(owner);
}

TEST_BOTH(resumes, null_arguments_are_misuse)
{
    rm_principal *p = new_principal("nulls");
    rm_fields *f = rm_test_fields("title", "T", "content", "C", NULL);
    rm_resume *r = NULL;
    FAILS(RM_EMISUSE, rm_resume_create(&r, NULL, p, f));
    FAILS(RM_EMISUSE, rm_resume_create(&r, ctx, NULL, f));
    FAILS(RM_EMISUSE, rm_resume_create(&r, ctx, p, NULL));
    FAILS(RM_EMISUSE, rm_resume_get(NULL, ctx, p, 1));
    FAILS(RM_EMISUSE, rm_resume_get(&r, NULL, p, 1));
    FAILS(RM_EMISUSE, rm_resume_get(&r, ctx, NULL, 1));
    rm_resume_page *page = NULL;
    FAILS(RM_EMISUSE, rm_resume_list(NULL, ctx, p, NULL));
    FAILS(RM_EMISUSE, rm_resume_list(&page, NULL, p, NULL));
    FAILS(RM_EMISUSE, rm_resume_list(&page, ctx, NULL, NULL));
    FAILS(RM_EMISUSE, rm_resume_update(&r, NULL, p, 1, f));
    FAILS(RM_EMISUSE, rm_resume_update(&r, ctx, NULL, 1, f));
    FAILS(RM_EMISUSE, rm_resume_update(&r, ctx, p, 1, NULL));
    FAILS(RM_EMISUSE, rm_resume_patch(&r, ctx, p, 1, NULL));
    FAILS(RM_EMISUSE, rm_resume_delete(NULL, p, 1));
    FAILS(RM_EMISUSE, rm_resume_delete(ctx, NULL, 1));
    char *json = NULL;
    FAILS(RM_EMISUSE, rm_resume_to_json(&json, NULL));
    FAILS(RM_EMISUSE, rm_resume_page_to_json(&json, NULL));
    rm_resume *made = create_resume(p, "T", "C");
    FAILS(RM_EMISUSE, rm_resume_to_json(NULL, made));
    rm_resume_free(made);
    cr_assert_null(json);
    cr_assert_null(r);
    cr_assert_null(page);
    /* getters and frees on NULL */
    cr_assert_eq(rm_resume_id(NULL), 0);
    cr_assert_eq(rm_resume_user_id(NULL), 0);
    cr_assert_null(rm_resume_username(NULL));
    cr_assert_null(rm_resume_title(NULL));
    cr_assert_null(rm_resume_content(NULL));
    cr_assert_eq(rm_resume_created_at(NULL), 0);
    cr_assert_eq(rm_resume_updated_at(NULL), 0);
    cr_assert_eq(rm_resume_page_count(NULL), 0);
    cr_assert_null(rm_resume_page_at(NULL, 0));
    cr_assert_null(rm_resume_page_next_cursor(NULL));
    rm_resume_free(NULL);
    rm_resume_page_free(NULL);
    rm_fields_free(f);
    rm_principal_free(p);
}

/* SQL metacharacters, quotes, NUL-free control characters and non-ASCII text go in and come out verbatim. */
TEST_BOTH(resumes, sql_metacharacters_verbatim)
{
    rm_principal *p = new_principal("bobby");
    static const char *const texts[] = {
        "Robert'); DROP TABLE resume_resume;--",
        "\" OR 1=1 --",
        "100% _wild_ \\escape\\ [brackets] ^caret$",
        "?1 ?2 :name @x $y",
        "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87",
        "tab\tinside and \x01\x1f controls",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        rm_resume *r = create_resume(p, texts[i], texts[i]);
        rm_resume *g = NULL;
        OK(rm_resume_get(&g, ctx, p, rm_resume_id(r)));
        STREQ(rm_resume_title(g), texts[i]);
        STREQ(rm_resume_content(g), texts[i]);
        char *json = NULL;
        OK(rm_resume_to_json(&json, g));
        rm_fields *back = NULL;
        OK(rm_fields_parse_json(&back, json, strlen(json)));
        STREQ(rm_fields_get_string(back, "title"), texts[i]);
        rm_fields_free(back);
        rm_free(json);
        rm_resume_free(g);
        rm_resume_free(r);
    }
    cr_assert_eq(count_resumes(p), sizeof(texts) / sizeof(texts[0]));
    rm_principal_free(p);
}

TEST_BOTH(resumes, large_content)
{
    rm_principal *p = new_principal("big");
    size_t n = 1 << 20;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = '\0';
    rm_resume *r = create_resume(p, "Big", big);
    rm_resume *g = NULL;
    OK(rm_resume_get(&g, ctx, p, rm_resume_id(r)));
    cr_assert_eq(strlen(rm_resume_content(g)), n);
    cr_assert(strcmp(rm_resume_content(g), big) == 0);
    rm_resume_free(g);
    rm_resume_free(r);
    /* a 1 MiB title is refused with the length message */
    rm_fields *f = rm_test_fields("title", big, "content", "C", NULL);
    create_fails(p, f, "{\"title\":[\"Ensure this field has no more than 255 characters.\"]}");
    free(big);
    rm_principal_free(p);
}

/* ---- concurrency: 8 threads on one ctx backed by one SQLite file ---- */

#define THREADS 8
#define PER_THREAD 25

typedef struct {
    rm_principal *own;
    rm_principal *shared;
    int failures;
    int first_rc;
    char first_msg[200];
} worker_arg;

static void note_failure(worker_arg *a, int rc, const char *what)
{
    if (a->failures++ == 0) {
        a->first_rc = rc;
        snprintf(a->first_msg, sizeof(a->first_msg), "%s: %s", what, rm_error_message(rm_error_last()));
    }
}

static void *worker(void *p)
{
    worker_arg *a = p;
    rm_fields *f = rm_test_fields("title", "Concurrent", "content", "Written by a thread", NULL);
    for (int i = 0; i < PER_THREAD; i++) {
        rm_resume *r = NULL;
        int rc = rm_resume_create(&r, ctx, a->own, f);
        if (rc) {
            note_failure(a, rc, "create own");
            continue;
        }
        rm_resume *g = NULL;
        rc = rm_resume_get(&g, ctx, a->own, rm_resume_id(r));
        if (rc || rm_resume_id(g) != rm_resume_id(r))
            note_failure(a, rc, "get own");
        rm_resume_free(g);
        rm_resume_free(r);
        rm_resume_page *page = NULL;
        rc = rm_resume_list(&page, ctx, a->own, NULL);
        if (rc)
            note_failure(a, rc, "list own");
        else if (rm_resume_page_count(page) != (size_t)i + 1)
            note_failure(a, RM_ERROR, "own count");
        rm_resume_page_free(page);
        if ((rc = rm_resume_create(NULL, ctx, a->shared, f)))
            note_failure(a, rc, "create shared");
        if ((rc = rm_resume_list(&page, ctx, a->shared, NULL)))
            note_failure(a, rc, "list shared");
        rm_resume_page_free(page);
    }
    rm_fields_free(f);
    return NULL;
}

static void eight_threads_body(void);
Test(resumes_file, eight_threads_create_and_list, .init = setup_file, .fini = teardown, .timeout = 120) { eight_threads_body(); }
Test(resumes_mem, eight_threads_create_and_list, .init = setup_mem, .fini = teardown, .timeout = 120) { eight_threads_body(); }

static void eight_threads_body(void)
{
    rm_principal *shared = new_principal("shared");
    worker_arg args[THREADS];
    pthread_t t[THREADS];
    char name[32];
    for (int i = 0; i < THREADS; i++) {
        snprintf(name, sizeof(name), "worker%d", i);
        args[i] = (worker_arg){.own = new_principal(name), .shared = shared};
    }
    for (int i = 0; i < THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, worker, &args[i]), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        cr_expect_eq(args[i].failures, 0, "thread %d: %d failures, first %s (%s)", i, args[i].failures,
                     args[i].first_msg, rm_status_name(args[i].first_rc));
        cr_assert_eq(count_resumes(args[i].own), PER_THREAD);
        rm_principal_free(args[i].own);
    }
    cr_assert_eq(count_resumes(shared), THREADS * PER_THREAD);
    /* every id is distinct */
    rm_resume_page *page = NULL;
    OK(rm_resume_list(&page, ctx, shared, NULL));
    for (size_t i = 1; i < rm_resume_page_count(page); i++)
        for (size_t j = 0; j < i; j++)
            cr_assert_neq(rm_resume_id(rm_resume_page_at(page, i)), rm_resume_id(rm_resume_page_at(page, j)));
    rm_resume_page_free(page);
    rm_principal_free(shared);
}
