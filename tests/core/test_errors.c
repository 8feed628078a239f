/* The thread-local last error: never NULL, field errors in order, DRF-shaped JSON, copies, threads. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "core/internal.h"
#include "rm_assert.h"

static void expect_fields_json(const rm_error *e, const char *want)
{
    char *json = NULL;
    cr_assert_eq(rm_error_fields_json(&json, e), RM_OK);
    cr_assert(strcmp(json, want) == 0, "fields json %s, want %s", json, want);
    rm_free(json);
}

Test(errors, last_is_never_null_before_any_error)
{
    const rm_error *e = rm_error_last();
    cr_assert_not_null(e);
    cr_assert_eq(rm_error_code(e), RM_OK);
    STREQ(rm_error_message(e), "");
    cr_assert_eq(rm_error_field_count(e), 0);
    cr_assert_eq(rm_error_reason(e), RM_REASON_NONE);
    cr_assert_eq(rm_error_retry_after(e), 0);
    expect_fields_json(e, "{}");
}

Test(errors, failing_call_sets_code_and_message_and_clear_resets)
{
    cr_assert_eq(rm_ctx_new(NULL, NULL), RM_EMISUSE);
    const rm_error *e = rm_error_last();
    cr_assert_eq(rm_error_code(e), RM_EMISUSE);
    cr_assert(strlen(rm_error_message(e)) > 0);
    rm_error_clear();
    e = rm_error_last();
    cr_assert_not_null(e);
    cr_assert_eq(rm_error_code(e), RM_OK);
    STREQ(rm_error_message(e), "");
}

Test(errors, successful_calls_leave_the_last_error_alone)
{
    cr_assert_eq(rm_ctx_new(NULL, NULL), RM_EMISUSE);
    rm_fields *f = NULL;
    cr_assert_eq(rm_fields_new(&f), RM_OK);
    cr_assert_eq(rm_fields_set_string(f, "a", "b"), RM_OK);
    cr_assert_eq(rm_error_code(rm_error_last()), RM_EMISUSE);
    rm_fields_free(f);
}

Test(errors, null_error_accessors_are_safe)
{
    cr_assert_eq(rm_error_code(NULL), RM_OK);
    cr_assert_eq(rm_error_reason(NULL), RM_REASON_NONE);
    STREQ(rm_error_message(NULL), "");
    cr_assert_eq(rm_error_retry_after(NULL), 0);
    cr_assert_eq(rm_error_field_count(NULL), 0);
    cr_assert_null(rm_error_field_name(NULL, 0));
    cr_assert_eq(rm_error_field_message_count(NULL, 0), 0);
    cr_assert_null(rm_error_field_message(NULL, 0, 0));
    char *json = NULL;
    cr_assert_eq(rm_error_fields_json(NULL, rm_error_last()), RM_EMISUSE);
    cr_assert_eq(rm_error_fields_json(&json, NULL), RM_EMISUSE);
    cr_assert_null(json);
    rm_error *c = NULL;
    cr_assert_eq(rm_error_copy(NULL, rm_error_last()), RM_EMISUSE);
    cr_assert_eq(rm_error_copy(&c, NULL), RM_EMISUSE);
    rm_error_free(NULL);
}

/* Field errors built internally keep first-use order of fields and message order within a field. */
Test(errors, field_order_and_messages_are_preserved)
{
    rm__ferr *fe = rm__ferr_new();
    cr_assert_not_null(fe);
    cr_assert_eq(rm__ferr_add(fe, "zeta", "first z"), RM_OK);
    cr_assert_eq(rm__ferr_add(fe, "alpha", "first a"), RM_OK);
    cr_assert_eq(rm__ferr_add(fe, "zeta", "second z"), RM_OK);
    cr_assert_eq(rm__ferr_addf(fe, "mid", "n=%d", 7), RM_OK);
    cr_assert(rm__ferr_has(fe, "alpha"));
    cr_assert_not(rm__ferr_has(fe, "beta"));
    cr_assert_eq(rm__error_fields(fe, "bad input"), RM_EINVALID);

    const rm_error *e = rm_error_last();
    cr_assert_eq(rm_error_code(e), RM_EINVALID);
    STREQ(rm_error_message(e), "bad input");
    cr_assert_eq(rm_error_field_count(e), 3);
    STREQ(rm_error_field_name(e, 0), "zeta");
    STREQ(rm_error_field_name(e, 1), "alpha");
    STREQ(rm_error_field_name(e, 2), "mid");
    cr_assert_null(rm_error_field_name(e, 3));
    cr_assert_eq(rm_error_field_message_count(e, 0), 2);
    STREQ(rm_error_field_message(e, 0, 0), "first z");
    STREQ(rm_error_field_message(e, 0, 1), "second z");
    cr_assert_null(rm_error_field_message(e, 0, 2));
    cr_assert_eq(rm_error_field_message_count(e, 9), 0);
    cr_assert_null(rm_error_field_message(e, 9, 0));
    expect_fields_json(e, "{\"zeta\":[\"first z\",\"second z\"],\"alpha\":[\"first a\"],\"mid\":[\"n=7\"]}");
}

/* JSON escaping of quotes, backslashes, control characters; UTF-8 passes through. */
Test(errors, fields_json_escapes_exactly)
{
    cr_assert_eq(rm__error_field("status", "\"Hired\" is not a valid choice.\\\n\xc3\xa9"), RM_EINVALID);
    expect_fields_json(rm_error_last(), "{\"status\":[\"\\\"Hired\\\" is not a valid choice.\\\\\\n\xc3\xa9\"]}");
}

/* A real call: registration with nothing reports every field, in declaration order. */
Test(errors, fields_from_a_real_call_in_order)
{
    rm_ctx *ctx = NULL;
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.password_iterations = 1000;
    cr_assert_eq(rm_ctx_new(&ctx, &o), RM_OK);
    rm_fields *f = NULL;
    cr_assert_eq(rm_fields_new(&f), RM_OK);
    cr_assert_eq(rm_user_register(NULL, ctx, f), RM_EINVALID);
    expect_fields_json(rm_error_last(), "{\"username\":[\"This field is required.\"],\"email\":[\"This field is required.\"],"
                                        "\"password\":[\"This field is required.\"],\"password2\":[\"This field is required.\"]}");
    rm_fields_free(f);
    rm_ctx_free(ctx);
}

/* Calls that look something up expecting "not found" (a free username, a system user not made yet)
 * and then succeed leave the last error exactly as it was. */
static void expect_sentinel(const char *what)
{
    const rm_error *e = rm_error_last();
    cr_assert_eq(rm_error_code(e), RM_EINVALID, "%s replaced the last error with %s: %s", what,
                 rm_status_name(rm_error_code(e)), rm_error_message(e));
    STREQ(rm_error_message(e), "sentinel message");
    cr_assert_eq(rm_error_field_count(e), 1);
    STREQ(rm_error_field_name(e, 0), "sentinel");
    STREQ(rm_error_field_message(e, 0, 1), "second");
}

static void set_sentinel(void)
{
    rm__ferr *fe = rm__ferr_new();
    rm__ferr_add(fe, "sentinel", "first");
    rm__ferr_add(fe, "sentinel", "second");
    rm__error_fields(fe, "sentinel message");
}

Test(errors, successful_calls_keep_the_previous_error)
{
    rm_ctx *ctx = NULL;
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.password_iterations = 1000;
    cr_assert_eq(rm_ctx_new(&ctx, &o), RM_OK);
    rm_fields *f = rm_test_fields("username", "ann", "email", "ann@example.com", "password", "kangaroo-42", "password2",
                                  "kangaroo-42", NULL);
    rm_user *u = NULL;

    set_sentinel();
    cr_assert_eq(rm_user_register(&u, ctx, f), RM_OK);
    expect_sentinel("rm_user_register");
    rm_user_free(u);
    cr_assert_eq(rm_user_anonymous(&u, ctx), RM_OK);
    expect_sentinel("rm_user_anonymous (first use)");
    rm_user_free(u);
    cr_assert_eq(rm_example_seed(ctx, NULL), RM_OK);
    expect_sentinel("rm_example_seed (first use)");

    /* and a clean slate stays clean */
    rm_error_clear();
    rm_fields_set_string(f, "username", "ann2");
    cr_assert_eq(rm_user_register(NULL, ctx, f), RM_OK);
    cr_assert_eq(rm_error_code(rm_error_last()), RM_OK, "%s", rm_error_message(rm_error_last()));
    rm_ctx *fresh = NULL;
    cr_assert_eq(rm_ctx_new(&fresh, NULL), RM_OK);
    cr_assert_eq(rm_example_seed(fresh, NULL), RM_OK);
    cr_assert_eq(rm_error_code(rm_error_last()), RM_OK, "%s", rm_error_message(rm_error_last()));
    rm_ctx_free(fresh);
    rm_fields_free(f);
    rm_ctx_free(ctx);
}

Test(errors, copy_survives_later_errors_and_free)
{
    rm__ferr *fe = rm__ferr_new();
    rm__ferr_add(fe, "title", "This field may not be blank.");
    rm__ferr_add(fe, "content", "This field is required.");
    rm__error_fields(fe, "Resume data is invalid.");
    rm__error_set_retry_after(42);

    rm_error *copy = NULL;
    cr_assert_eq(rm_error_copy(&copy, rm_error_last()), RM_OK);
    cr_assert_neq((const void *)copy, (const void *)rm_error_last());

    cr_assert_eq(rm_ctx_new(NULL, NULL), RM_EMISUSE); /* replaces the last error */
    cr_assert_eq(rm_error_code(rm_error_last()), RM_EMISUSE);
    cr_assert_eq(rm_error_field_count(rm_error_last()), 0);

    cr_assert_eq(rm_error_code(copy), RM_EINVALID);
    STREQ(rm_error_message(copy), "Resume data is invalid.");
    cr_assert_eq(rm_error_retry_after(copy), 42);
    cr_assert_eq(rm_error_field_count(copy), 2);
    expect_fields_json(copy, "{\"title\":[\"This field may not be blank.\"],\"content\":[\"This field is required.\"]}");

    rm_error *copy2 = NULL;
    cr_assert_eq(rm_error_copy(&copy2, copy), RM_OK);
    rm_error_free(copy);
    STREQ(rm_error_field_message(copy2, 1, 0), "This field is required.");
    rm_error_free(copy2);
}

Test(errors, copy_of_no_error)
{
    rm_error_clear();
    rm_error *copy = NULL;
    cr_assert_eq(rm_error_copy(&copy, rm_error_last()), RM_OK);
    cr_assert_eq(rm_error_code(copy), RM_OK);
    STREQ(rm_error_message(copy), "");
    rm_error_free(copy);
}

Test(errors, reason_and_retry_after)
{
    cr_assert_eq(rm__error_set_reason(RM_ETOKEN, RM_TOKEN_EXPIRED, "Token is invalid or expired"), RM_ETOKEN);
    cr_assert_eq(rm_error_reason(rm_error_last()), RM_TOKEN_EXPIRED);
    rm__error_set(RM_ELIMIT, "limit");
    cr_assert_eq(rm_error_reason(rm_error_last()), RM_REASON_NONE);
    rm__error_set_retry_after(3600);
    cr_assert_eq(rm_error_retry_after(rm_error_last()), 3600);
    rm__error_set(RM_ERROR, "next");
    cr_assert_eq(rm_error_retry_after(rm_error_last()), 0);
}

Test(errors, nomem_has_a_message)
{
    cr_assert_eq(rm__error_nomem(), RM_ENOMEM);
    STREQ(rm_error_message(rm_error_last()), "out of memory");
}

/* ---- thread-locality ---- */

typedef struct {
    pthread_barrier_t *barrier;
    int code;
    int seen_before, seen_after, seen_code_after_other;
    char field[16];
    char seen_field[16];
} thread_arg;

static void *error_thread(void *p)
{
    thread_arg *a = p;
    a->seen_before = rm_error_code(rm_error_last());
    pthread_barrier_wait(a->barrier); /* both threads start clean */
    if (a->code == RM_EINVALID)
        rm__error_field(a->field, "thread message");
    else
        rm__error_set(a->code, "thread %d", a->code);
    pthread_barrier_wait(a->barrier); /* both have set their error */
    const rm_error *e = rm_error_last();
    a->seen_after = rm_error_code(e);
    const char *name = rm_error_field_name(e, 0);
    snprintf(a->seen_field, sizeof(a->seen_field), "%s", name ? name : "");
    pthread_barrier_wait(a->barrier);
    return NULL;
}

Test(errors, thread_local)
{
    pthread_barrier_t b;
    pthread_barrier_init(&b, NULL, 2);
    rm__error_set(RM_ESTORAGE, "main thread");
    thread_arg x = {.barrier = &b, .code = RM_EINVALID, .field = "from_x"};
    thread_arg y = {.barrier = &b, .code = RM_EAUTH};
    pthread_t tx, ty;
    cr_assert_eq(pthread_create(&tx, NULL, error_thread, &x), 0);
    cr_assert_eq(pthread_create(&ty, NULL, error_thread, &y), 0);
    pthread_join(tx, NULL);
    pthread_join(ty, NULL);
    pthread_barrier_destroy(&b);
    cr_assert_eq(x.seen_before, RM_OK);
    cr_assert_eq(y.seen_before, RM_OK);
    cr_assert_eq(x.seen_after, RM_EINVALID);
    STREQ(x.seen_field, "from_x");
    cr_assert_eq(y.seen_after, RM_EAUTH);
    STREQ(y.seen_field, "");
    cr_assert_eq(rm_error_code(rm_error_last()), RM_ESTORAGE);
    STREQ(rm_error_message(rm_error_last()), "main thread");
}

/* A copy made on one thread can be read and freed on another. */
static void *read_copy(void *p)
{
    rm_error *c = p;
    int ok = rm_error_code(c) == RM_EINVALID && strcmp(rm_error_field_name(c, 0), "moved") == 0;
    rm_error_free(c);
    return (void *)(intptr_t)ok;
}

Test(errors, copy_moves_between_threads)
{
    rm__error_field("moved", "across");
    rm_error *c = NULL;
    cr_assert_eq(rm_error_copy(&c, rm_error_last()), RM_OK);
    pthread_t t;
    void *res = NULL;
    cr_assert_eq(pthread_create(&t, NULL, read_copy, c), 0);
    pthread_join(t, &res);
    cr_assert_eq((intptr_t)res, 1);
}

/* ---- status names, versions, timestamps ---- */

Test(errors, status_names)
{
    STREQ(rm_status_name(RM_OK), "RM_OK");
    STREQ(rm_status_name(RM_EINVALID), "RM_EINVALID");
    STREQ(rm_status_name(RM_ENOTFOUND), "RM_ENOTFOUND");
    STREQ(rm_status_name(RM_EVERSION), "RM_EVERSION");
    STREQ(rm_status_name(RM_EMISUSE), "RM_EMISUSE");
    STREQ(rm_status_name(RM_EPARSE), "RM_EPARSE");
    STREQ(rm_status_name(-17), "RM_UNKNOWN");
    STREQ(rm_status_name(1), "RM_UNKNOWN");
    /* the numbers are fixed forever */
    cr_assert_eq(RM_EINVALID, -2);
    cr_assert_eq(RM_ENOTFOUND, -3);
    cr_assert_eq(RM_EMISUSE, -12);
    cr_assert_eq(RM_EPARSE, -16);
}

Test(errors, version)
{
    cr_assert_eq(rm_version_number(), RM_VERSION_NUMBER);
    STREQ(rm_version(), RM_VERSION_STRING);
    cr_assert_eq(RM_VERSION_NUMBER, RM_VERSION_MAJOR * 10000 + RM_VERSION_MINOR * 100 + RM_VERSION_PATCH);
}

Test(errors, format_timestamp)
{
    char buf[28];
    cr_assert_eq(rm_format_timestamp(buf, sizeof(buf), INT64_C(1753322876123456)), RM_OK);
    STREQ(buf, "2025-07-24T02:07:56.123456Z");
    cr_assert_eq(rm_format_timestamp(buf, sizeof(buf), 0), RM_OK);
    STREQ(buf, "1970-01-01T00:00:00.000000Z");
    cr_assert_eq(rm_format_timestamp(buf, sizeof(buf), -1), RM_OK);
    STREQ(buf, "1969-12-31T23:59:59.999999Z");
    cr_assert_eq(rm_format_timestamp(buf, sizeof(buf), INT64_C(951782400000000)), RM_OK); /* leap day 2000 */
    STREQ(buf, "2000-02-29T00:00:00.000000Z");
    /* The edges of the four-digit years, and past them (printf's layout, in a larger buffer). */
    cr_assert_eq(rm_format_timestamp(buf, sizeof(buf), INT64_C(253402300799999999)), RM_OK);
    STREQ(buf, "9999-12-31T23:59:59.999999Z");
    cr_assert_eq(rm_format_timestamp(buf, sizeof(buf), INT64_C(-62135596800000000)), RM_OK);
    STREQ(buf, "0001-01-01T00:00:00.000000Z");
    char big[40];
    cr_assert_eq(rm_format_timestamp(big, sizeof(big), INT64_C(253402300800000000)), RM_OK);
    STREQ(big, "10000-01-01T00:00:00.000000Z");
    cr_assert_eq(rm_format_timestamp(buf, 27, 0), RM_EMISUSE);
    cr_assert_eq(rm_format_timestamp(NULL, 28, 0), RM_EMISUSE);
}

/* The internal time helpers round-trip through Django's SQLite text form. */
Test(errors, sql_time_round_trip)
{
    char buf[32];
    rm__time_to_sql(buf, INT64_C(1753322876123456));
    STREQ(buf, "2025-07-24 02:07:56.123456");
    cr_assert_eq(rm__time_from_sql(buf), INT64_C(1753322876123456));
    cr_assert_eq(rm__time_from_sql("2025-07-24T02:07:56Z"), INT64_C(1753322876000000));
    cr_assert_eq(rm__time_from_sql("2025-07-24 04:07:56.5+02:00"), INT64_C(1753322876500000));
    cr_assert_eq(rm__time_from_sql("2025-02-30 00:00:00"), RM_NO_TIME);
    cr_assert_eq(rm__time_from_sql("garbage"), RM_NO_TIME);
    cr_assert_eq(rm__time_from_sql(NULL), RM_NO_TIME);
    cr_assert(rm__date_valid("2024-02-29"));
    cr_assert_not(rm__date_valid("2023-02-29"));
    cr_assert_not(rm__date_valid("2025-7-10"));
    cr_assert_not(rm__date_valid("2025-07-10 "));
}

Test(errors, utf8_validation)
{
    cr_assert(rm__utf8_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", strlen("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80")));
    cr_assert_not(rm__utf8_valid("\xff", 1));
    cr_assert_not(rm__utf8_valid("\xc3", 1));           /* truncated */
    cr_assert_not(rm__utf8_valid("\xc0\xaf", 2));       /* overlong */
    cr_assert_not(rm__utf8_valid("\xed\xa0\x80", 3));   /* surrogate */
    cr_assert_not(rm__utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    cr_assert_not(rm__utf8_valid("a\0b", 3));           /* NUL */
    cr_assert_eq(rm__utf8_len("h\xc3\xa9\xe2\x82\xac"), 3);
}
