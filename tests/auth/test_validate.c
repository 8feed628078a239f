/* Registration rules: usernames, emails and Django's default password validators, with DRF's messages
 * and order. The tables' expected answers come from Django 5.1 itself (UnicodeUsernameValidator,
 * EmailValidator, and validate_password with the four default AUTH_PASSWORD_VALIDATORS on
 * User(username=..., email=...)). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "auth/internal.h"
#include "rm_test.h"

#define MSG_USERNAME "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
#define MSG_USERNAME_LONG "Ensure this field has no more than 150 characters."
#define MSG_EMAIL "Enter a valid email address."
#define MSG_EMAIL_LONG "Ensure this field has no more than 254 characters."
#define MSG_SIM_USER "The password is too similar to the username."
#define MSG_SIM_EMAIL "The password is too similar to the email address."
#define MSG_SHORT "This password is too short. It must contain at least 8 characters."
#define MSG_COMMON "This password is too common."
#define MSG_NUMERIC "This password is entirely numeric."

extern const char *const rm__common_passwords[];
extern const size_t rm__common_passwords_count;

/* The messages of fe (which must name no other field), joined with " | ", "" for none. Takes fe. */
static char *messages(rm__ferr *fe, const char *field)
{
    rm__error_fields(fe, NULL);
    const rm_error *e = rm_error_last();
    size_t len = 1;
    for (size_t i = 0; i < rm_error_field_count(e); i++) {
        cr_assert_str_eq(rm_error_field_name(e, i), field);
        for (size_t j = 0; j < rm_error_field_message_count(e, i); j++)
            len += strlen(rm_error_field_message(e, i, j)) + 3;
    }
    char *out = calloc(1, len);
    for (size_t i = 0; i < rm_error_field_count(e); i++)
        for (size_t j = 0; j < rm_error_field_message_count(e, i); j++) {
            if (*out)
                strcat(out, " | ");
            strcat(out, rm_error_field_message(e, i, j));
        }
    return out;
}

static char *join(const char *const *msgs)
{
    size_t len = 1;
    for (size_t i = 0; msgs[i]; i++)
        len += strlen(msgs[i]) + 3;
    char *out = calloc(1, len);
    for (size_t i = 0; msgs[i]; i++) {
        if (i)
            strcat(out, " | ");
        strcat(out, msgs[i]);
    }
    return out;
}

static char *check_username(const char *username)
{
    rm__ferr *fe = rm__ferr_new();
    cr_assert_eq(rm__validate_username(fe, "username", username), RM_OK);
    return messages(fe, "username");
}

static char *check_email(const char *email)
{
    rm__ferr *fe = rm__ferr_new();
    cr_assert_eq(rm__validate_email(fe, "email", email), RM_OK);
    return messages(fe, "email");
}

static char *check_password(const char *password, const char *username, const char *email)
{
    rm__ferr *fe = rm__ferr_new();
    cr_assert_eq(rm__validate_password(fe, "password", password, username, email), RM_OK);
    return messages(fe, "password");
}

/* unit repeated n times, then suffix. */
static char *repeat(const char *unit, size_t n, const char *suffix)
{
    size_t u = strlen(unit), s = strlen(suffix);
    char *out = malloc(u * n + s + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(out + i * u, unit, u);
    memcpy(out + u * n, suffix, s + 1);
    return out;
}

static void expect_username(const char *username, const char *want)
{
    char *got = check_username(username);
    cr_expect_str_eq(got, want, "username \"%.20s...\"", username);
    free(got);
}

static void expect_email(const char *email, const char *want)
{
    char *got = check_email(email);
    cr_expect_str_eq(got, want, "email \"%.20s...\"", email);
    free(got);
}

/* ---- usernames ---- */

static const struct {
    const char *username;
    bool valid;
} USERNAMES[] = {
    {"alice", true},
    {"Алиса", true},
    {"用户名", true},
    {"josé.garcía+tag@x-y_z", true},
    {"bad name!", false},
    {"emoji\U0001f600", false},
    {"name\n", false},
    {"ª", true},
    {"²", true},
    {"¼", true},
    {"x\u0301", false},
    {"a\u00b7b", false},
    {"a/b", false},
    {"a,b", false},
    {"Zoë_O'Neil", false},
    {"ZoëONeil", true},
    {"ไทย", true},
    {"مرحبا", true},
    {"日本語ユーザー", true},
    {"user\u3000name", false},
    {"ｆｕｌｌ", true},
    {"ｆｕｌｌ\uff01", false},
    {"x\u00a0y", false},
    {"①", true},
    {"〆", true},
    {"a\u200bb", false},
    {"\u00d7", false},
    {"µ", true},
    {"ß", true},
    {"\ue000", false},
    {"tab\tname", false},
    {"..@@++--__", true},
};

Test(validate, usernames_match_djangos_unicode_username_validator)
{
    for (size_t i = 0; i < sizeof(USERNAMES) / sizeof(USERNAMES[0]); i++) {
        char *got = check_username(USERNAMES[i].username);
        cr_expect_str_eq(got, USERNAMES[i].valid ? "" : MSG_USERNAME, "username %zu \"%s\"", i, USERNAMES[i].username);
        free(got);
    }
}

Test(validate, username_length_counts_characters_not_bytes)
{
    char *a150 = repeat("a", 150, ""), *a151 = repeat("a", 151, "");
    char *e150 = repeat("é", 150, ""), *e151 = repeat("é", 151, "");
    expect_username(a150, "");
    expect_username(e150, "");
    expect_username(a151, MSG_USERNAME_LONG);
    expect_username(e151, MSG_USERNAME_LONG);
    free(a150);
    free(a151);
    free(e150);
    free(e151);
}

Test(validate, bad_and_long_username_reports_the_regex_first_as_drf)
{
    char *name = repeat("a", 150, "!");
    expect_username(name, MSG_USERNAME " | " MSG_USERNAME_LONG);
    free(name);
}

Test(validate, username_that_is_not_utf8_is_invalid)
{
    expect_username("caf\xe9", MSG_USERNAME);
    expect_username("", MSG_USERNAME);
}

/* ---- emails ---- */

static const struct {
    const char *email;
    bool valid;
} EMAILS[] = {
    {"alice@example.com", true},
    {"Alice.Smith+tag@Example.CO.uk", true},
    {"a@b.co", true},
    {"a@b.c", false},
    {"a@localhost", true},
    {"a@LOCALHOST", false},
    {"a@b", false},
    {"@example.com", false},
    {"alice@", false},
    {"alice", false},
    {"a@@example.com", false},
    {"a.@example.com", false},
    {".a@example.com", false},
    {"a..b@example.com", false},
    {"\"a b\"@example.com", false},
    {"\"a\\\"b\"@example.com", true},
    {"\"a@b\"@example.com", true},
    {"\"a\\\\\"@example.com", true},
    {"\"ab\\\"@example.com", false},
    {"\"\"@example.com", true},
    {"a@[127.0.0.1]", true},
    {"a@[127.0.0.01]", false},
    {"a@[256.1.1.1]", false},
    {"a@[::1]", true},
    {"a@[IPv6:::1]", false},
    {"a@[2001:db8::ff00:42:8329]", true},
    {"a@[1:2:3:4:5:6:7:8::]", false},
    {"a@[1::2:3:4:5:6:7:8]", false},
    {"a@[::ffff:1.2.3.4]", true},
    {"a@[0000:0000:0000:0000:0000:0000:0000:00001]", false},
    {"a@[1.2.3]", false},
    {"user@пример.рф", true},
    {"user@例え.テスト", true},
    {"user@xn--e1afmkfd.xn--p1ai", true},
    {"user@example.123", false},
    {"user@123.com", true},
    {"user@-example.com", false},
    {"user@example-.com", false},
    {"user@ex--ample.com", true},
    {"user@example.c-m", true},
    {"user@example.-com", false},
    {"user@example.com-", false},
    {"user@example.com.", false},
    {"user@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", true},
    {"user@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", false},
    {"user@example.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true},
    {"user@example.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
    {"user@example.xn--aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true},
    {"user@example.xn--aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
    {"user@example.XN--P1AI", true},
    {"ſ@example.com", true},
    {"\u212a@example.com", true}, /* KELVIN SIGN matches [A-Z] under re.IGNORECASE */
    {"İ@example.com", true},
    {"é@example.com", false},
    {"user@exa_mple.com", false},
    {"user@exam ple.com", false},
    {"user@example.com\n", false},
    {"us er@example.com", false},
    {"a!#$%&'*+/=?^_`{}|~-@example.com", true},
    {"user@\U0001f600.com", false},
    {"user@example.\U0001f600", false},
    {"user@\u00a0x.com", false},
    {"user@\u00a1x.com", true},
    {"a@b.xn--1", true},
    {"a@b.xn--ſ", true},
    {"user@e.x", false},
    {"user@ex ample.com", false},
    {"a@ab.cd.ef.gh", true},
    {"\"\tx\"@example.com", false},
    {"\"\\\tx\"@example.com", true},
};

Test(validate, emails_match_djangos_email_validator)
{
    for (size_t i = 0; i < sizeof(EMAILS) / sizeof(EMAILS[0]); i++) {
        char *got = check_email(EMAILS[i].email);
        cr_expect_str_eq(got, EMAILS[i].valid ? "" : MSG_EMAIL, "email %zu \"%s\"", i, EMAILS[i].email);
        free(got);
    }
}

Test(validate, email_max_length_is_254_and_comes_before_the_format_message)
{
    char *e254 = repeat("a", 254 - 12, "@example.com"), *e255 = repeat("a", 255 - 12, "@example.com");
    char *e320 = repeat("a", 320 - 12, "@example.com"), *e321 = repeat("a", 321 - 12, "@example.com");
    char *bad255 = repeat("a", 255 - 4, "@b.c");
    expect_email(e254, "");
    expect_email(e255, MSG_EMAIL_LONG);
    /* EmailValidator itself refuses more than 320 characters (RFC 3696). */
    expect_email(e320, MSG_EMAIL_LONG);
    expect_email(e321, MSG_EMAIL_LONG " | " MSG_EMAIL);
    expect_email(bad255, MSG_EMAIL_LONG " | " MSG_EMAIL);
    free(e254);
    free(e255);
    free(e320);
    free(e321);
    free(bad255);
}

Test(validate, email_that_is_not_utf8_is_invalid)
{
    expect_email("user@caf\xe9.com", MSG_EMAIL);
    expect_email("", MSG_EMAIL);
}

/* ---- passwords ---- */

static const struct {
    const char *password, *username, *email;
    const char *messages[5];
} PASSWORDS[] = {
    {"12345678", NULL, NULL, {MSG_COMMON, MSG_NUMERIC, NULL}},
    {"abc", NULL, NULL, {MSG_SHORT, MSG_COMMON, NULL}},
    {"alice123", "alice", "alice@example.com", {MSG_SIM_USER, MSG_COMMON, NULL}},
    {"example1", "bob", "bob@example.com", {MSG_SIM_EMAIL, NULL}},
    {"abcdefgxyz", "abcdefghij", NULL, {MSG_SIM_USER, NULL}},
    {"abcdefwxyz", "abcdefghij", NULL, {NULL}},
    {"", "alice.", NULL, {MSG_SIM_USER, MSG_SHORT, NULL}},
    {"", "alice", NULL, {MSG_SHORT, NULL}},
    {"smithjohn", "john.smith", NULL, {MSG_SIM_USER, NULL}},
    {"bob@example.com", "zzz", "bob@example.com", {MSG_SIM_EMAIL, NULL}},
    {" password ", NULL, NULL, {MSG_COMMON, NULL}},
    {"PASSWORD", NULL, NULL, {MSG_COMMON, NULL}},
    {"Password1", NULL, NULL, {MSG_COMMON, NULL}},
    {"ÄLICEÄ12", "äliceä", NULL, {MSG_SIM_USER, NULL}},
    {"Ольга2024", "ольга", NULL, {MSG_SIM_USER, NULL}},
    {"ОЛЬГА2024", "ольга", NULL, {MSG_SIM_USER, NULL}},
    {"correct horse battery staple", "alice", "alice@example.com", {NULL}},
    {"1234567", "u", "u@example.com", {MSG_SHORT, MSG_COMMON, MSG_NUMERIC, NULL}},
    {"qwertyuiop", NULL, NULL, {MSG_COMMON, NULL}},
    {"пароль", NULL, NULL, {MSG_SHORT, MSG_COMMON, NULL}},
    {"ПАРОЛЬ", NULL, NULL, {MSG_SHORT, MSG_COMMON, NULL}},
    {"ПАРОЛЬ123", NULL, NULL, {NULL}},
    {"iloveyou", NULL, NULL, {MSG_COMMON, NULL}},
    {"99999999999999999999", NULL, NULL, {MSG_NUMERIC, NULL}},
    {"Tr0ub4dor&3", "troubadour", "t@example.com", {NULL}},
    {"examplecom", "x", "someone@example.com", {MSG_SIM_EMAIL, NULL}},
    {"someone12", "x", "someone@example.com", {MSG_SIM_EMAIL, NULL}},
    {"xy", "xy", NULL, {MSG_SIM_USER, MSG_SHORT, NULL}},
    {"a", "b", NULL, {MSG_SHORT, MSG_COMMON, NULL}},
    {"zzzzzzzzzzzzzzzzzzzzzz", "z", NULL, {NULL}},
    {"abcdefghijklmnopqrstuvwxyz", "ab", NULL, {NULL}},
    {"abcdefghijklmnopqrst", "ab", NULL, {NULL}},
    {"\tletmein\n", NULL, NULL, {MSG_COMMON, NULL}},
    {"ab12CD34ef", "ab12cd34ef", NULL, {MSG_SIM_USER, NULL}},
    {"longpassword1!", "long", "pass@word.com", {NULL}},
    {"passwordxyz", "", "password@x.io", {MSG_SIM_EMAIL, NULL}},
};

Test(validate, passwords_match_djangos_default_validators_in_order)
{
    for (size_t i = 0; i < sizeof(PASSWORDS) / sizeof(PASSWORDS[0]); i++) {
        char *got = check_password(PASSWORDS[i].password, PASSWORDS[i].username, PASSWORDS[i].email);
        char *want = join(PASSWORDS[i].messages);
        cr_expect_str_eq(got, want, "password %zu \"%s\" (username %s, email %s)", i, PASSWORDS[i].password,
                         PASSWORDS[i].username ? PASSWORDS[i].username : "-",
                         PASSWORDS[i].email ? PASSWORDS[i].email : "-");
        free(got);
        free(want);
    }
}

Test(validate, similarity_reports_only_the_first_attribute)
{
    /* Too similar to the username and to the email's local part: one message, for the username. */
    char *got = check_password("zebracorn", "zebracorn", "zebracorn@example.com");
    cr_expect_str_eq(got, MSG_SIM_USER);
    free(got);
}

Test(validate, the_common_list_is_djangos_sorted_and_deduplicated)
{
    /* Django's 20,000 lines hold 19,729 distinct passwords. */
    cr_assert_eq(rm__common_passwords_count, 19729);
    cr_assert_geq(rm__common_passwords_count, 10000);
    for (size_t i = 1; i < rm__common_passwords_count; i++)
        cr_assert_lt(strcmp(rm__common_passwords[i - 1], rm__common_passwords[i]), 0, "entry %zu \"%s\"", i,
                     rm__common_passwords[i]);
}

Test(validate, common_lookup_is_case_insensitive_and_strips_whitespace)
{
    cr_expect(rm__password_is_common("password"));
    cr_expect(rm__password_is_common("PASSWORD"));
    cr_expect(rm__password_is_common("PassWord"));
    cr_expect(rm__password_is_common(" password\t\n"));
    cr_expect(rm__password_is_common("\u3000password\u00a0")); /* Python's str.strip() removes these too */
    cr_expect(rm__password_is_common("123456"));
    cr_expect(rm__password_is_common("ПАРОЛЬ"));
    /* Entries with a semicolon, quotes or '#' survive the CMake embedding. */
    cr_expect(rm__password_is_common("asdfjkl;"));
    cr_expect(rm__password_is_common("\"zxcvbnm,\""));
    cr_expect(rm__password_is_common("&#2336;"));
    cr_expect_not(rm__password_is_common("correct horse battery staple"));
    cr_expect_not(rm__password_is_common("pass word"));
    cr_expect_not(rm__password_is_common(""));
    cr_expect_not(rm__password_is_common(NULL));
}

Test(validate, bad_arguments_are_misuse)
{
    rm__ferr *fe = rm__ferr_new();
    cr_expect_eq(rm__validate_username(NULL, "username", "alice"), RM_EMISUSE);
    cr_expect_eq(rm__validate_email(fe, NULL, "a@b.co"), RM_EMISUSE);
    cr_expect_eq(rm__validate_password(fe, "password", NULL, NULL, NULL), RM_EMISUSE);
    cr_expect(rm__ferr_empty(fe));
    rm__ferr_free(fe);
}
