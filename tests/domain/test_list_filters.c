/* List search, ordering and counts through the public API: validation (field errors), position cursors,
 * version-1 options, and a version-2 backend (no search/ordering/count members) for which the library
 * filters, sorts and counts itself — with the same answers as a version-3 backend. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rm_test.h"

#include "rm_ctx_harness.h"

static int64_t new_app(rm_ctx *c, const rm_principal *who, const char *title, const char *company, const char *status)
{
    rm_fields *f = rm_test_fields("job_title", title, "company_name", company, "status", status,
                                  "original_job_description", "We need 100% focus_and C.", NULL);
    rm_application *a = NULL;
    OK(rm_application_create(&a, c, who, f));
    rm_fields_free(f);
    int64_t id = rm_application_id(a);
    rm_application_free(a);
    return id;
}

static int64_t new_resume(rm_ctx *c, const rm_principal *who, const char *title, const char *content)
{
    rm_fields *f = rm_test_fields("title", title, "content", content, NULL);
    rm_resume *r = NULL;
    OK(rm_resume_create(&r, c, who, f));
    rm_fields_free(f);
    int64_t id = rm_resume_id(r);
    rm_resume_free(r);
    return id;
}

/* The application list as ids, or the failure status. */
static int app_ids(rm_ctx *c, const rm_principal *who, const rm_list_options *o, int64_t *ids, size_t *n, char *next,
                   size_t next_cap)
{
    rm_application_page *page = NULL;
    int rc = rm_application_list(&page, c, who, o);
    *n = 0;
    if (rc)
        return rc;
    for (size_t i = 0; i < rm_application_page_count(page) && i < 32; i++)
        ids[(*n)++] = rm_application_id(rm_application_page_at(page, i));
    const char *nc = rm_application_page_next_cursor(page);
    snprintf(next, next_cap, "%s", nc ? nc : "");
    rm_application_page_free(page);
    return RM_OK;
}

static void assert_list_error(const rm_principal *who, const rm_list_options *o, const char *want)
{
    rm_application_page *page = (rm_application_page *)0x1;
    FAILS(RM_EINVALID, rm_application_list(&page, ctx, who, o));
    cr_assert_null(page);
    ERRORS(want);
    int64_t n = 7;
    FAILS(RM_EINVALID, rm_application_count(&n, ctx, who, o));
    cr_assert_eq(n, 0);
    ERRORS(want);
}

TEST_BOTH(lists, validation_names_the_option)
{
    rm_principal *p = new_principal("val");
    rm_list_options o = RM_LIST_OPTIONS_INIT;
    o.ordering = "salary";
    assert_list_error(p, &o,
                      "{\"ordering\":[\"Unknown ordering field \\\"salary\\\". Allowed: id, created_at, updated_at, "
                      "job_title, company_name, status, date_applied.\"]}");
    o.ordering = "job_title, -";
    assert_list_error(p, &o,
                      "{\"ordering\":[\"Unknown ordering field \\\"-\\\". Allowed: id, created_at, updated_at, "
                      "job_title, company_name, status, date_applied.\"]}");
    o.ordering = "--id";
    FAILS(RM_EINVALID, rm_application_list(&(rm_application_page *){NULL}, ctx, p, &o));
    o.ordering = "Job_Title"; /* exact names */
    FAILS(RM_EINVALID, rm_application_list(&(rm_application_page *){NULL}, ctx, p, &o));
    o.ordering = "job_title,company_name,status,date_applied,created_at,updated_at,id"; /* every field once */
    rm_application_page *page = NULL;
    OK(rm_application_list(&page, ctx, p, &o));
    rm_application_page_free(page);
    o.ordering = " , ,"; /* blanks: the default order */
    OK(rm_application_list(&page, ctx, p, &o));
    rm_application_page_free(page);

    /* A keyset cursor belongs to the default order. */
    o.ordering = "job_title";
    o.cursor = "1.1753322876000000.5";
    assert_list_error(p, &o, "{\"cursor\":[\"This cursor continues the default ordering, not the one given.\"]}");
    o.cursor = "2.-1";
    assert_list_error(p, &o, "{\"cursor\":[\"Invalid cursor\"]}");
    o.cursor = "2.";
    assert_list_error(p, &o, "{\"cursor\":[\"Invalid cursor\"]}");
    o.cursor = "2.3";
    OK(rm_application_list(&page, ctx, p, &o));
    rm_application_page_free(page);
    o.ordering = "-created_at"; /* the default order spelled out: keyset cursors still work */
    o.cursor = "1.1753322876000000.5";
    OK(rm_application_list(&page, ctx, p, &o));
    rm_application_page_free(page);
    o.cursor = NULL;
    o.ordering = NULL;

    o.search = "caf\xc3"; /* truncated UTF-8 */
    assert_list_error(p, &o, "{\"search\":[\"Enter valid UTF-8 text.\"]}");
    o.search = "a b c d e f g h i j k l m n o p q";
    assert_list_error(p, &o, "{\"search\":[\"Too many search terms (at most 16).\"]}");
    o.search = "a b c d e f g h i j k l m n o p";
    OK(rm_application_list(&page, ctx, p, &o));
    rm_application_page_free(page);

    /* Resumes: their own fields, no status. */
    o = (rm_list_options)RM_LIST_OPTIONS_INIT;
    o.ordering = "job_title";
    rm_resume_page *rp = NULL;
    FAILS(RM_EINVALID, rm_resume_list(&rp, ctx, p, &o));
    ERRORS("{\"ordering\":[\"Unknown ordering field \\\"job_title\\\". Allowed: id, created_at, updated_at, title.\"]}");
    int64_t n = 0;
    FAILS(RM_EINVALID, rm_resume_count(&n, ctx, p, &o));
    o.ordering = NULL;
    o.status = "Applied";
    FAILS(RM_EINVALID, rm_resume_count(&n, ctx, p, &o));
    ERRORS("{\"status\":[\"This list cannot be filtered by status.\"]}");
    FAILS(RM_EINVALID, rm_example_count(&n, ctx, &o));

    /* Misuse and permissions. */
    FAILS(RM_EMISUSE, rm_application_count(NULL, ctx, p, NULL));
    FAILS(RM_EMISUSE, rm_resume_count(&n, NULL, p, NULL));
    FAILS(RM_EMISUSE, rm_example_count(NULL, ctx, NULL));
    OK(rm_example_count(&n, ctx, NULL)); /* NULL options: everything */
    rm_principal *anon = NULL;
    OK(rm_principal_anonymous(&anon));
    FAILS(RM_EPERM, rm_application_count(&n, ctx, anon, NULL));
    FAILS(RM_EPERM, rm_resume_count(&n, ctx, anon, NULL));
    rm_principal_free(anon);
    rm_principal_free(p);
}

TEST_BOTH(lists, version_1_options_never_read_search_or_ordering)
{
    rm_principal *p = new_principal("v1");
    new_app(ctx, p, "Alpha", "A", "Applied");
    new_app(ctx, p, "Beta", "B", "Offer");
    rm_list_options o = RM_LIST_OPTIONS_INIT;
    o.version = 1;
    o.search = "matches-nothing"; /* garbage past a version-1 struct: must be ignored */
    o.ordering = "not a field";
    int64_t ids[32], n = 0;
    size_t k;
    char next[64];
    OK(app_ids(ctx, p, &o, ids, &k, next, sizeof next));
    cr_assert_eq(k, 2);
    OK(rm_application_count(&n, ctx, p, &o));
    cr_assert_eq(n, 2);
    rm_principal_free(p);
}

TEST_BOTH(lists, search_order_count_and_position_cursor)
{
    rm_principal *p = new_principal("soc"), *q = new_principal("other");
    int64_t ids[6];
    const char *titles[] = {"python dev", "Go Developer", "PYTHON lead", "designer", "Python & Go", "tester"};
    for (int i = 0; i < 6; i++) {
        clk.now_us = T0 + i * 1000000;
        ids[i] = new_app(ctx, p, titles[i], i % 2 ? "Beta Corp" : "alpha inc", i < 3 ? "Applied" : "Offer");
    }
    new_app(ctx, q, "python", "alpha", "Applied"); /* another user's */

    rm_list_options o = RM_LIST_OPTIONS_INIT;
    o.search = "  PYTHON, ";
    int64_t got[32], n = 0;
    size_t k;
    char next[64];
    OK(app_ids(ctx, p, &o, got, &k, next, sizeof next));
    cr_assert_eq(k, 3);
    cr_assert_eq(got[0], ids[4]);
    cr_assert_eq(got[1], ids[2]);
    cr_assert_eq(got[2], ids[0]);
    OK(rm_application_count(&n, ctx, p, &o));
    cr_assert_eq(n, 3);
    o.search = "python go"; /* both terms */
    OK(rm_application_count(&n, ctx, p, &o));
    cr_assert_eq(n, 1);
    o.search = "python,alpha";
    o.status = "Offer";
    OK(rm_application_count(&n, ctx, p, &o));
    cr_assert_eq(n, 1);
    o.search = "100%"; /* in every description, literally */
    o.status = NULL;
    OK(rm_application_count(&n, ctx, p, &o));
    cr_assert_eq(n, 6);
    o.search = "0%_a"; /* "100% focus_and": '%' and '_' literal, no wildcard */
    OK(rm_application_count(&n, ctx, p, &o));
    cr_assert_eq(n, 0);
    o.search = "";
    OK(rm_application_count(&n, ctx, p, &o));
    cr_assert_eq(n, 6);

    /* Ordering by title (code points: "G" < "P" < "d" < "p" < "t"), walked with position cursors. */
    o = (rm_list_options)RM_LIST_OPTIONS_INIT;
    o.ordering = "job_title";
    o.limit = 4;
    const int64_t want[] = {ids[1], ids[2], ids[4], ids[3], ids[0], ids[5]};
    size_t seen = 0;
    char cursor[64] = "";
    for (int round = 0; round < 5; round++) {
        o.cursor = cursor[0] ? cursor : NULL;
        OK(app_ids(ctx, p, &o, got, &k, next, sizeof next));
        for (size_t i = 0; i < k; i++, seen++) {
            cr_assert_lt(seen, 6);
            cr_assert_eq(got[i], want[seen], "item %zu", seen);
        }
        if (!next[0])
            break;
        cr_assert_eq(next[0], '2', "a custom ordering continues by position: %s", next);
        snprintf(cursor, sizeof cursor, "%s", next);
    }
    cr_assert_eq(seen, 6);

    /* Descending, with offset; ties by id in the first field's direction. */
    o = (rm_list_options)RM_LIST_OPTIONS_INIT;
    o.ordering = "-company_name";
    OK(app_ids(ctx, p, &o, got, &k, next, sizeof next));
    cr_assert_eq(k, 6);
    const int64_t by_company[] = {ids[4], ids[2], ids[0], ids[5], ids[3], ids[1]};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(got[i], by_company[i], "row %d", i);
    o.ordering = "status,-job_title";
    o.offset = 1;
    o.limit = 2;
    OK(app_ids(ctx, p, &o, got, &k, next, sizeof next));
    cr_assert_eq(k, 2);
    cr_assert_eq(got[0], ids[2]); /* Applied: python dev, PYTHON lead, Go Developer */
    cr_assert_eq(got[1], ids[1]);
    STREQ(next, "2.3");

    /* Resumes. */
    int64_t r1 = new_resume(ctx, p, "Zebra", "python and SQL");
    int64_t r2 = new_resume(ctx, p, "apple", "Go");
    new_resume(ctx, q, "python", "python");
    o = (rm_list_options)RM_LIST_OPTIONS_INIT;
    o.search = "Python";
    OK(rm_resume_count(&n, ctx, p, &o));
    cr_assert_eq(n, 1);
    o.search = NULL;
    o.ordering = "title";
    rm_resume_page *rp = NULL;
    OK(rm_resume_list(&rp, ctx, p, &o));
    cr_assert_eq(rm_resume_page_count(rp), 2);
    cr_assert_eq(rm_resume_id(rm_resume_page_at(rp, 0)), r1);
    cr_assert_eq(rm_resume_id(rm_resume_page_at(rp, 1)), r2);
    rm_resume_page_free(rp);
    OK(rm_resume_count(&n, ctx, p, NULL));
    cr_assert_eq(n, 2);

    /* Examples. */
    OK(rm_example_seed(ctx, NULL));
    o = (rm_list_options)RM_LIST_OPTIONS_INIT;
    o.search = "python";
    OK(rm_example_count(&n, ctx, &o));
    cr_assert_eq(n, 1);
    OK(rm_example_count(&n, ctx, NULL));
    cr_assert_eq(n, 5);
    o.search = NULL;
    o.ordering = "company_name";
    rm_application_page *ep = NULL;
    OK(rm_example_list(&ep, ctx, &o));
    cr_assert_eq(rm_application_page_count(ep), 5);
    STREQ(rm_application_company_name(rm_application_page_at(ep, 0)), "CloudNet");
    STREQ(rm_application_company_name(rm_application_page_at(ep, 4)), "Visionary Products");
    rm_application_page_free(ep);
    rm_principal_free(p);
    rm_principal_free(q);
}

/* ---- a version-2 backend ---- */

/* The built-in backend behind a version-2 vtable whose list members cannot see search or ordering
 * (a version-2 backend does not know those members): every filter must come from the library. */
static const rm_storage_vtable *inner_vt;
static int old_resume_list(void *self, int64_t user_id, const rm_storage_query *q, rm_resume_sink sink, void *data)
{
    cr_assert(!q || (q->search_count == 0 && q->ordering == NULL && q->search == NULL),
              "a version-2 backend was handed search or ordering");
    rm_storage_query copy = q ? *q : (rm_storage_query){0};
    return inner_vt->resume_list(self, user_id, &copy, sink, data);
}
static int old_application_list(void *self, int64_t user_id, const rm_storage_query *q, rm_application_sink sink,
                                void *data)
{
    cr_assert(!q || (q->search_count == 0 && q->ordering == NULL && q->search == NULL),
              "a version-2 backend was handed search or ordering");
    rm_storage_query copy = q ? *q : (rm_storage_query){0};
    return inner_vt->application_list(self, user_id, &copy, sink, data);
}
static int count_called(void *self, int64_t user_id, const rm_storage_query *q, int64_t *out)
{
    (void)self, (void)user_id, (void)q, (void)out;
    cr_assert_fail("a version-2 backend's count member was called");
    return RM_ESTORAGE;
}

/* version 2: the count members lie beyond the backend's version (never read); version 3 without count
 * members: a backend built against these headers that implements no search (examples/custom_storage.c). */
static void old_backend_same_answers(unsigned version)
{
    inner_vt = rm_storage_vtable_of(rm_ctx_storage(ctx));
    rm_storage_vtable old = *inner_vt;
    old.version = version;
    old.close = NULL; /* the ctx owns the real one */
    old.resume_list = old_resume_list;
    old.application_list = old_application_list;
    old.resume_count = version < 3 ? count_called : NULL;
    old.application_count = version < 3 ? count_called : NULL;
    rm_storage *s = NULL;
    OK(rm_storage_new(&s, &old, rm_storage_self(rm_ctx_storage(ctx))));
    rm_ctx_options co = RM_CTX_OPTIONS_INIT;
    co.storage = s;
    co.password_iterations = 1000;
    co.clock = rm_test_clock;
    co.clock_userdata = &clk;
    rm_ctx *octx = NULL;
    OK(rm_ctx_new(&octx, &co));

    rm_principal *p = new_principal("old"), *other = new_principal("old2");
    const char *titles[] = {"python dev", NULL, "Go Developer", "PYTHON lead", "designer", "Python & Go", "tester", "go"};
    for (int i = 0; i < 8; i++) {
        clk.now_us = T0 + (i % 3) * 1000000; /* equal times: ties broken by id */
        if (titles[i])
            new_app(ctx, p, titles[i], i % 2 ? "Beta" : "alpha", i % 3 ? "Applied" : "Offer");
        else
            new_app(ctx, p, "", "", "Applied"); /* blank title and company */
        new_resume(ctx, p, titles[i] ? titles[i] : "untitled", i % 2 ? "python" : "c");
    }
    new_app(ctx, other, "python", "alpha", "Applied");
    OK(rm_example_seed(ctx, NULL));

    const char *searches[] = {NULL, "python", "go", "python go", "alpha", "zzz", "%", "e,t"};
    const char *orderings[] = {NULL, "job_title", "-job_title", "company_name,-id", "status,created_at", "-id",
                               "-created_at", "date_applied"};
    const char *statuses[] = {NULL, "Applied"};
    const int64_t limits[][2] = {{0, 0}, {3, 0}, {3, 2}, {2, 7}};
    int compared = 0;
    for (size_t si = 0; si < 8; si++)
        for (size_t oi = 0; oi < 8; oi++)
            for (size_t ti = 0; ti < 2; ti++)
                for (size_t li = 0; li < 4; li++) {
                    rm_list_options o = RM_LIST_OPTIONS_INIT;
                    o.search = searches[si];
                    o.ordering = orderings[oi];
                    o.status = statuses[ti];
                    o.limit = limits[li][0];
                    o.offset = limits[li][1];
                    int64_t a[32], b[32];
                    size_t na, nb;
                    char ca[64], cb[64];
                    OK(app_ids(ctx, p, &o, a, &na, ca, sizeof ca));
                    OK(app_ids(octx, p, &o, b, &nb, cb, sizeof cb));
                    cr_assert_eq(na, nb, "search %s ordering %s: %zu vs %zu rows", o.search, o.ordering, na, nb);
                    for (size_t i = 0; i < na; i++)
                        cr_assert_eq(a[i], b[i], "search %s ordering %s row %zu", o.search, o.ordering, i);
                    STREQ(cb, ca);
                    /* And the next page, through the cursor. */
                    if (ca[0]) {
                        char cur[64];
                        snprintf(cur, sizeof cur, "%s", ca);
                        o.cursor = cur;
                        OK(app_ids(ctx, p, &o, a, &na, ca, sizeof ca));
                        OK(app_ids(octx, p, &o, b, &nb, cb, sizeof cb));
                        cr_assert_eq(na, nb, "next page: search %s ordering %s status %s limit %lld offset %lld cursor %s: %zu vs %zu rows",
                                     o.search, o.ordering, o.status, (long long)o.limit, (long long)o.offset, o.cursor, na, nb);
                        for (size_t i = 0; i < na; i++)
                            cr_assert_eq(a[i], b[i], "next page row %zu", i);
                        o.cursor = NULL;
                    }
                    int64_t n1 = -1, n2 = -2;
                    OK(rm_application_count(&n1, ctx, p, &o));
                    OK(rm_application_count(&n2, octx, p, &o));
                    cr_assert_eq(n1, n2);
                    if (ti == 0) { /* examples: no status */
                        OK(rm_example_count(&n1, ctx, &o));
                        OK(rm_example_count(&n2, octx, &o));
                        cr_assert_eq(n1, n2);
                    }
                    compared++;
                }
    cr_assert_eq(compared, 512);

    const char *rorderings[] = {NULL, "title", "-title", "created_at", "-updated_at,id", "id"};
    for (size_t si = 0; si < 8; si++)
        for (size_t oi = 0; oi < 6; oi++) {
            rm_list_options o = RM_LIST_OPTIONS_INIT;
            o.search = searches[si];
            o.ordering = rorderings[oi];
            o.limit = 3;
            o.offset = 1;
            rm_resume_page *ra = NULL, *rb = NULL;
            OK(rm_resume_list(&ra, ctx, p, &o));
            OK(rm_resume_list(&rb, octx, p, &o));
            cr_assert_eq(rm_resume_page_count(ra), rm_resume_page_count(rb));
            for (size_t i = 0; i < rm_resume_page_count(ra); i++)
                cr_assert_eq(rm_resume_id(rm_resume_page_at(ra, i)), rm_resume_id(rm_resume_page_at(rb, i)));
            rm_resume_page_free(ra);
            rm_resume_page_free(rb);
            int64_t n1 = -1, n2 = -2;
            OK(rm_resume_count(&n1, ctx, p, &o));
            OK(rm_resume_count(&n2, octx, p, &o));
            cr_assert_eq(n1, n2);
        }
    int64_t n = 0;
    OK(rm_application_count(&n, octx, other, NULL));
    cr_assert_eq(n, 1);

    rm_principal_free(p);
    rm_principal_free(other);
    rm_ctx_free(octx);
    rm_storage_free(s);
}

TEST_BOTH(lists, version_2_backend_gets_the_same_answers_from_the_library) { old_backend_same_answers(2); }

TEST_BOTH(lists, version_3_backend_without_count_members_gets_the_same_answers) { old_backend_same_answers(3); }
