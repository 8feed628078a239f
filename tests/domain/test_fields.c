/* rm_fields: setters and getters, JSON and form bodies, DRF's parse errors, invalid UTF-8. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rm_test.h"

#include "rm_assert.h"

static rm_fields *parse_json_ok(const char *body)
{
    rm_fields *f = NULL;
    OK(rm_fields_parse_json(&f, body, strlen(body)));
    cr_assert_not_null(f);
    return f;
}

static void json_parse_error(const char *body, size_t len)
{
    rm_fields *f = (rm_fields *)0x1;
    FAILS(RM_EPARSE, rm_fields_parse_json(&f, body, len));
    cr_assert_null(f);
    const char *msg = rm_error_message(rm_error_last());
    cr_assert(strncmp(msg, "JSON parse error - ", 19) == 0 && strlen(msg) > 19, "message: %s", msg);
    cr_assert_eq(rm_error_field_count(rm_error_last()), 0);
}

static void not_a_dict(const char *body, const char *type)
{
    rm_fields *f = (rm_fields *)0x1;
    FAILS(RM_EINVALID, rm_fields_parse_json(&f, body, strlen(body)));
    cr_assert_null(f);
    char want[128];
    snprintf(want, sizeof(want), "{\"non_field_errors\":[\"Invalid data. Expected a dictionary, but got %s.\"]}", type);
    ERRORS(want);
}

static rm_fields *form_ok(const char *body)
{
    rm_fields *f = NULL;
    OK(rm_fields_parse_form(&f, body, strlen(body)));
    cr_assert_not_null(f);
    return f;
}

static void form_error(const char *body)
{
    rm_fields *f = (rm_fields *)0x1;
    int rc = rm_fields_parse_form(&f, body, strlen(body));
    cr_assert_eq(rc, RM_EPARSE, "form \"%s\" -> %s", body, rm_status_name(rc));
    cr_assert_null(f);
}

Test(fields, setters_and_getters)
{
    rm_fields *f = NULL;
    OK(rm_fields_new(&f));
    cr_assert_eq(rm_fields_has(f, "a"), 0);
    cr_assert_null(rm_fields_get_string(f, "a"));
    OK(rm_fields_set_string(f, "a", "text"));
    OK(rm_fields_set_int(f, "i", -42));
    OK(rm_fields_set_int(f, "big", INT64_MAX));
    OK(rm_fields_set_bool(f, "b", 7));
    OK(rm_fields_set_null(f, "n"));
    OK(rm_fields_set_string(f, "s_null", NULL));
    OK(rm_fields_set_string(f, "empty", ""));
    OK(rm_fields_set_string(f, "", "empty name"));
    cr_assert_eq(rm_fields_has(f, "a"), 1);
    cr_assert_eq(rm_fields_has(f, "n"), 1, "null counts as present");
    cr_assert_eq(rm_fields_has(f, "s_null"), 1);
    STREQ(rm_fields_get_string(f, "a"), "text");
    STREQ(rm_fields_get_string(f, "i"), "-42");
    STREQ(rm_fields_get_string(f, "big"), "9223372036854775807");
    STREQ(rm_fields_get_string(f, "empty"), "");
    STREQ(rm_fields_get_string(f, ""), "empty name");
    cr_assert_null(rm_fields_get_string(f, "b"));
    cr_assert_null(rm_fields_get_string(f, "n"));
    cr_assert_null(rm_fields_get_string(f, "s_null"));
    /* replacing a value, including its type */
    OK(rm_fields_set_string(f, "i", "now text"));
    STREQ(rm_fields_get_string(f, "i"), "now text");
    OK(rm_fields_set_int(f, "a", 5));
    STREQ(rm_fields_get_string(f, "a"), "5");
    OK(rm_fields_set_int(f, "a", 6)); /* the decimal cache follows the value */
    STREQ(rm_fields_get_string(f, "a"), "6");
    OK(rm_fields_unset(f, "a"));
    cr_assert_eq(rm_fields_has(f, "a"), 0);
    cr_assert_null(rm_fields_get_string(f, "a"));
    OK(rm_fields_unset(f, "never-there"));
    rm_fields_free(f);
    rm_fields_free(NULL);
}

Test(fields, null_arguments)
{
    rm_fields *f = NULL;
    FAILS(RM_EMISUSE, rm_fields_new(NULL));
    OK(rm_fields_new(&f));
    FAILS(RM_EMISUSE, rm_fields_set_string(NULL, "a", "b"));
    FAILS(RM_EMISUSE, rm_fields_set_string(NULL, "a", NULL));
    FAILS(RM_EMISUSE, rm_fields_set_string(f, NULL, "b"));
    FAILS(RM_EMISUSE, rm_fields_set_string(NULL, "a", "\xff"));
    FAILS(RM_EMISUSE, rm_fields_set_int(NULL, "a", 1));
    FAILS(RM_EMISUSE, rm_fields_set_int(f, NULL, 1));
    FAILS(RM_EMISUSE, rm_fields_set_bool(NULL, "a", 1));
    FAILS(RM_EMISUSE, rm_fields_set_bool(f, NULL, 1));
    FAILS(RM_EMISUSE, rm_fields_set_null(NULL, "a"));
    FAILS(RM_EMISUSE, rm_fields_set_null(f, NULL));
    FAILS(RM_EMISUSE, rm_fields_unset(NULL, "a"));
    FAILS(RM_EMISUSE, rm_fields_unset(f, NULL));
    cr_assert_eq(rm_fields_has(NULL, "a"), 0);
    cr_assert_eq(rm_fields_has(f, NULL), 0);
    cr_assert_null(rm_fields_get_string(NULL, "a"));
    cr_assert_null(rm_fields_get_string(f, NULL));
    FAILS(RM_EMISUSE, rm_fields_parse_json(NULL, "{}", 2));
    FAILS(RM_EMISUSE, rm_fields_parse_json(&f, NULL, 2));
    FAILS(RM_EMISUSE, rm_fields_parse_form(NULL, "a=b", 3));
    FAILS(RM_EMISUSE, rm_fields_parse_form(&f, NULL, 3));
    rm_fields_free(f);
}

Test(fields, invalid_utf8_is_refused_by_the_setter)
{
    rm_fields *f = NULL;
    OK(rm_fields_new(&f));
    static const char *const bad[] = {"\xff", "caf\xc3", "\xc0\xaf", "\xed\xa0\x80", "ok\xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        FAILS(RM_EINVALID, rm_fields_set_string(f, "title", bad[i]));
        ERRORS("{\"title\":[\"Invalid UTF-8 text.\"]}");
        cr_assert_eq(rm_fields_has(f, "title"), 0, "nothing was stored");
    }
    OK(rm_fields_set_string(f, "title", "caf\xc3\xa9"));
    FAILS(RM_EINVALID, rm_fields_set_string(f, "title", "\xfe"));
    STREQ(rm_fields_get_string(f, "title"), "caf\xc3\xa9"); /* the old value is kept */
    /* names must be UTF-8 too */
    FAILS(RM_EINVALID, rm_fields_set_string(f, "ti\xfftle", "x"));
    FAILS(RM_EINVALID, rm_fields_set_int(f, "\xff", 1));
    rm_fields_free(f);
}

Test(fields, json_object)
{
    rm_fields *f = parse_json_ok("{\"title\":\"T\",\"n\":12,\"r\":1.5,\"t\":true,\"z\":null,\"l\":[1],\"o\":{\"k\":\"v\"},"
                                 "\"u\":\"caf\\u00e9 \\ud83d\\ude00\",\"dup\":1,\"dup\":2}");
    STREQ(rm_fields_get_string(f, "title"), "T");
    STREQ(rm_fields_get_string(f, "n"), "12");
    STREQ(rm_fields_get_string(f, "r"), "1.5");
    STREQ(rm_fields_get_string(f, "u"), "caf\xc3\xa9 \xf0\x9f\x98\x80");
    STREQ(rm_fields_get_string(f, "dup"), "2"); /* the last duplicate wins, as in Python */
    cr_assert_null(rm_fields_get_string(f, "t"));
    cr_assert_null(rm_fields_get_string(f, "z"));
    cr_assert_null(rm_fields_get_string(f, "l"));
    cr_assert_null(rm_fields_get_string(f, "o"));
    cr_assert_eq(rm_fields_has(f, "z"), 1);
    cr_assert_eq(rm_fields_has(f, "k"), 0, "nested keys are not fields");
    /* a parsed set can be changed */
    OK(rm_fields_set_string(f, "title", "U"));
    STREQ(rm_fields_get_string(f, "title"), "U");
    rm_fields_free(f);

    /* not NUL-terminated: only len bytes are read */
    const char buf[] = "{\"a\":\"b\"}GARBAGE";
    OK(rm_fields_parse_json(&f, buf, 9));
    STREQ(rm_fields_get_string(f, "a"), "b");
    rm_fields_free(f);
    f = parse_json_ok("  {}  \n");
    cr_assert_eq(rm_fields_has(f, "a"), 0);
    rm_fields_free(f);
}

Test(fields, json_parse_errors)
{
    json_parse_error("", 0);
    json_parse_error("{", 1);
    json_parse_error("{\"a\":}", 6);
    json_parse_error("{'a': 1}", 8);
    json_parse_error("{\"a\":1,}", 8);
    json_parse_error("{\"a\":1} {}", 10);
    json_parse_error("nope", 4);
    json_parse_error("{\"a\":\"\xff\"}", 8);          /* invalid UTF-8 inside a string */
    json_parse_error("{\"\xc3\":1}", 7);              /* invalid UTF-8 in a name */
    json_parse_error("{\"a\":\"x\\u0000y\"}", 15);     /* NUL cannot be a field value */
    json_parse_error("{\"a\":\"\\ud800\"}", 14);       /* lone surrogate */
    json_parse_error("{\"a\":1}\0{}", 10);            /* embedded NUL */
    rm_fields *f = NULL;
    json_parse_error("{\"a\":1}", 3); /* truncated by len */
    cr_assert_null(f);
}

Test(fields, json_not_an_object)
{
    not_a_dict("[1,2]", "list");
    not_a_dict("[]", "list");
    not_a_dict("\"text\"", "str");
    not_a_dict("42", "int");
    not_a_dict("4.5", "float");
    not_a_dict("true", "bool");
}

Test(fields, json_deep_nesting_and_size)
{
    /* a deeply nested value is either refused as a parse error or kept as a non-string field: never a crash */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 16);
    size_t n = 0;
    n += (size_t)sprintf(deep, "{\"a\":");
    for (size_t i = 0; i < depth; i++)
        deep[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    rm_fields *f = NULL;
    int rc = rm_fields_parse_json(&f, deep, n);
    cr_assert(rc == RM_OK || rc == RM_EPARSE, "%s", rm_status_name(rc));
    if (rc == RM_OK)
        cr_assert_null(rm_fields_get_string(f, "a"));
    rm_fields_free(f);
    free(deep);

    /* a 4 MiB string value */
    size_t big = 4u << 20;
    char *body = malloc(big + 32);
    n = (size_t)sprintf(body, "{\"content\":\"");
    memset(body + n, 'x', big);
    n += big;
    n += (size_t)sprintf(body + n, "\"}");
    OK(rm_fields_parse_json(&f, body, n));
    cr_assert_eq(strlen(rm_fields_get_string(f, "content")), big);
    rm_fields_free(f);
    free(body);
}

Test(fields, form_bodies)
{
    rm_fields *f = form_ok("a=1&b=hello+world&c=%41%42%2b&d=&e&f=caf%C3%A9&g=%7e%7E&h=a%3Db%26c");
    STREQ(rm_fields_get_string(f, "a"), "1");
    STREQ(rm_fields_get_string(f, "b"), "hello world");
    STREQ(rm_fields_get_string(f, "c"), "AB+");
    STREQ(rm_fields_get_string(f, "d"), "");
    STREQ(rm_fields_get_string(f, "e"), "");
    STREQ(rm_fields_get_string(f, "f"), "caf\xc3\xa9");
    STREQ(rm_fields_get_string(f, "g"), "~~");
    STREQ(rm_fields_get_string(f, "h"), "a=b&c");
    cr_assert_eq(rm_fields_has(f, "x"), 0);
    rm_fields_free(f);

    f = form_ok("k=first&k=second&my+key=v&%6Bey2=v2&&&=nameless");
    STREQ(rm_fields_get_string(f, "k"), "second"); /* the last one wins */
    STREQ(rm_fields_get_string(f, "my key"), "v");
    STREQ(rm_fields_get_string(f, "key2"), "v2");
    STREQ(rm_fields_get_string(f, ""), "nameless");
    rm_fields_free(f);

    f = form_ok("");
    cr_assert_eq(rm_fields_has(f, ""), 0);
    rm_fields_free(f);

    /* only len bytes */
    const char buf[] = "a=b&c=d";
    OK(rm_fields_parse_form(&f, buf, 3));
    STREQ(rm_fields_get_string(f, "a"), "b");
    cr_assert_eq(rm_fields_has(f, "c"), 0);
    rm_fields_free(f);
    OK(rm_fields_parse_form(&f, buf, 5)); /* "a=b&c" */
    STREQ(rm_fields_get_string(f, "c"), "");
    rm_fields_free(f);
}

Test(fields, form_parse_errors)
{
    form_error("a=%");
    form_error("a=%4");
    form_error("a=%G1");
    form_error("a=%1G");
    form_error("a=100%");
    form_error("a=%%41");
    form_error("%ZZ=1");
    form_error("a=%FF");           /* invalid UTF-8 after decoding */
    form_error("a=caf%C3");        /* truncated sequence */
    form_error("a=%00");           /* NUL */
    form_error("%00=1");
    form_error("a=ok&b=%C0%AF");   /* overlong */
    const char raw[] = "a=\xff";
    rm_fields *f = (rm_fields *)0x1;
    FAILS(RM_EPARSE, rm_fields_parse_form(&f, raw, 3));
    cr_assert_null(f);
    /* a truncated escape at the end of len, even if the buffer goes on */
    const char cut[] = "a=%41";
    FAILS(RM_EPARSE, rm_fields_parse_form(&f, cut, 4));
}

/* Numbers read as text the way DRF's str() writes them (Python's repr for floats). */
Test(fields, numbers_as_text_like_python)
{
    static const struct {
        const char *json, *text;
    } cases[] = {
        {"0.1", "0.1"},          {"100.0", "100.0"},     {"1.5", "1.5"},         {"-2.25", "-2.25"},
        {"0.0", "0.0"},          {"-0.0", "-0.0"},       {"1e16", "1e+16"},      {"1e15", "1000000000000000.0"},
        {"0.0001", "0.0001"},    {"0.00001", "1e-05"},   {"1.5e-7", "1.5e-07"},  {"123456.789", "123456.789"},
        {"1.7976931348623157e308", "1.7976931348623157e+308"}, {"5e-324", "5e-324"},
        {"0.30000000000000004", "0.30000000000000004"}, {"12345678901234567890.0", "1.2345678901234567e+19"},
        {"7", "7"},              {"-9223372036854775808", "-9223372036854775808"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[96];
        snprintf(body, sizeof(body), "{\"v\":%s}", cases[i].json);
        rm_fields *f = parse_json_ok(body);
        STREQ(rm_fields_get_string(f, "v"), cases[i].text);
        rm_fields_free(f);
    }
}
