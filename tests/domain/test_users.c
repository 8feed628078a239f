/* Users: registration with Django/DRF rules and messages, authentication, passwords, flags, system users. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rm_test.h"

#include "rm_ctx_harness.h"

static rm_fields *reg(const char *username, const char *email, const char *pw, const char *pw2)
{
    rm_fields *f = NULL;
    cr_assert_eq(rm_fields_new(&f), RM_OK);
    if (username)
        rm_fields_set_string(f, "username", username);
    if (email)
        rm_fields_set_string(f, "email", email);
    if (pw)
        rm_fields_set_string(f, "password", pw);
    if (pw2)
        rm_fields_set_string(f, "password2", pw2);
    return f;
}

/* Register and expect RM_EINVALID with exactly these field errors; nothing is stored. */
static void register_fails(rm_fields *f, const char *want)
{
    rm_user *u = (rm_user *)0x1;
    FAILS(RM_EINVALID, rm_user_register(&u, ctx, f));
    cr_assert_null(u);
    ERRORS(want);
    rm_fields_free(f);
}

static rm_user *register_ok(rm_fields *f)
{
    rm_user *u = NULL;
    OK(rm_user_register(&u, ctx, f));
    cr_assert_not_null(u);
    rm_fields_free(f);
    return u;
}

static int64_t make_user(const char *name, const char *pw, unsigned flags);

/* ---- registration ---- */

TEST_BOTH(register, success)
{
    rm_user *u = register_ok(reg("alice", "alice@example.com", "kangaroo-42", "kangaroo-42"));
    cr_assert_gt(rm_user_id(u), 0);
    STREQ(rm_user_username(u), "alice");
    STREQ(rm_user_email(u), "alice@example.com");
    cr_assert_eq(rm_user_is_active(u), 1);
    cr_assert_eq(rm_user_is_staff(u), 0);
    cr_assert_eq(rm_user_is_superuser(u), 0);
    cr_assert_eq(rm_user_has_usable_password(u), 1);
    cr_assert_eq(rm_user_date_joined(u), T0);

    rm_user *g = NULL;
    OK(rm_user_get_by_username(&g, ctx, "alice"));
    cr_assert_eq(rm_user_id(g), rm_user_id(u));
    STREQ(rm_user_email(g), "alice@example.com");
    cr_assert_eq(rm_user_date_joined(g), T0);
    rm_user_free(g);

    rm_principal *p = NULL;
    OK(rm_user_authenticate(&p, ctx, "alice", "kangaroo-42"));
    cr_assert_eq(rm_principal_user_id(p), rm_user_id(u));
    STREQ(rm_principal_username(p), "alice");
    cr_assert_eq(rm_principal_is_anonymous(p), 0);
    rm_principal_free(p);
    rm_user_free(u);
}

TEST_BOTH(register, out_may_be_null)
{
    rm_fields *f = reg("nobody_wants_it", "n@example.com", "kangaroo-42", "kangaroo-42");
    OK(rm_user_register(NULL, ctx, f));
    rm_fields_free(f);
    rm_user *g = NULL;
    OK(rm_user_get_by_username(&g, ctx, "nobody_wants_it"));
    rm_user_free(g);
}

TEST_BOTH(register, unknown_and_read_only_fields_are_ignored)
{
    rm_fields *f = reg("bob", "bob@example.com", "kangaroo-42", "kangaroo-42");
    rm_fields_set_bool(f, "is_staff", 1);
    rm_fields_set_bool(f, "is_superuser", 1);
    rm_fields_set_bool(f, "is_active", 0);
    rm_fields_set_int(f, "id", 999);
    rm_fields_set_string(f, "first_name", "Robert");
    rm_fields_set_string(f, "favourite_colour", "blue");
    rm_user *u = register_ok(f);
    cr_assert_eq(rm_user_is_staff(u), 0);
    cr_assert_eq(rm_user_is_superuser(u), 0);
    cr_assert_eq(rm_user_is_active(u), 1);
    cr_assert_neq(rm_user_id(u), 999);
    rm_user_free(u);
}

TEST_BOTH(register, null_arguments)
{
    rm_fields *f = reg("x", "x@example.com", "kangaroo-42", "kangaroo-42");
    rm_user *u = (rm_user *)0x1;
    FAILS(RM_EMISUSE, rm_user_register(&u, NULL, f));
    cr_assert_null(u);
    FAILS(RM_EMISUSE, rm_user_register(&u, ctx, NULL));
    rm_fields_free(f);
}

/* No password ever reaches an error message or field error. */
TEST_BOTH(register, errors_never_contain_the_password)
{
    static const char *const pws[] = {"Zx9-secret-Pw", "zed-secret", "1234", "Kangaroo-Secret-1"};
    for (size_t i = 0; i < 4; i++) {
        rm_fields *f = reg("zed", i == 1 ? "zed-secret@example.com" : "zed@example.com", pws[i], "other-Secret-7");
        rm_user *u = NULL;
        cr_assert_eq(rm_user_register(&u, ctx, f), RM_EINVALID);
        char *json = NULL;
        OK(rm_error_fields_json(&json, rm_error_last()));
        cr_assert_null(strstr(json, pws[i]), "case %zu: the password leaked into field errors", i);
        cr_assert_null(strstr(json, "other-Secret-7"));
        cr_assert_null(strstr(rm_error_message(rm_error_last()), pws[i]));
        rm_free(json);
        rm_fields_free(f);
    }
    make_user("zed2", "Kangaroo-Secret-1", 0);
    rm_principal *p = NULL;
    cr_assert_eq(rm_user_authenticate(&p, ctx, "zed2", "Kangaroo-Secret-2"), RM_EAUTH);
    cr_assert_null(strstr(rm_error_message(rm_error_last()), "Secret"));
    cr_assert_eq(rm_user_set_password(ctx, 1, "Zx9"), RM_EINVALID);
    cr_assert_null(strstr(rm_error_message(rm_error_last()), "Zx9"));
}

TEST_BOTH(register, every_field_required_in_order)
{
    register_fails(reg(NULL, NULL, NULL, NULL),
                   "{\"username\":[\"This field is required.\"],\"email\":[\"This field is required.\"],"
                   "\"password\":[\"This field is required.\"],\"password2\":[\"This field is required.\"]}");
    register_fails(reg("carol", "carol@example.com", "kangaroo-42", NULL),
                   "{\"password2\":[\"This field is required.\"]}");
    register_fails(reg("carol", NULL, "kangaroo-42", "kangaroo-42"), "{\"email\":[\"This field is required.\"]}");
}

TEST_BOTH(register, blank_and_null)
{
    register_fails(reg("", "", "", ""),
                   "{\"username\":[\"This field may not be blank.\"],\"email\":[\"This field may not be blank.\"],"
                   "\"password\":[\"This field may not be blank.\"],\"password2\":[\"This field may not be blank.\"]}");
    register_fails(reg("   ", "d@example.com", "kangaroo-42", "kangaroo-42"),
                   "{\"username\":[\"This field may not be blank.\"]}");
    rm_fields *f = reg(NULL, "d@example.com", "kangaroo-42", "kangaroo-42");
    rm_fields_set_null(f, "username");
    register_fails(f, "{\"username\":[\"This field may not be null.\"]}");
}

TEST_BOTH(register, username_length)
{
    char name[152];
    memset(name, 'a', 151);
    name[151] = '\0';
    register_fails(reg(name, "e@example.com", "kangaroo-42", "kangaroo-42"),
                   "{\"username\":[\"Ensure this field has no more than 150 characters.\"]}");
    name[150] = '\0';
    rm_user *u = register_ok(reg(name, "e@example.com", "kangaroo-42", "kangaroo-42"));
    cr_assert_eq(strlen(rm_user_username(u)), 150);
    rm_user_free(u);

    /* characters, not bytes: 150 two-byte letters are fine, 151 are not */
    char wide[2 * 151 + 1];
    for (int i = 0; i < 151; i++)
        memcpy(wide + 2 * i, "\xc3\xa9", 2);
    wide[2 * 151] = '\0';
    register_fails(reg(wide, "e@example.com", "kangaroo-42", "kangaroo-42"),
                   "{\"username\":[\"Ensure this field has no more than 150 characters.\"]}");
    wide[2 * 150] = '\0';
    u = register_ok(reg(wide, "e2@example.com", "kangaroo-42", "kangaroo-42"));
    rm_user_free(u);
}

TEST_BOTH(register, username_characters)
{
    static const char *const bad[] = {"bad name", "bad!", "a/b", "semi;colon", "quote'", "tab\tname", "\xe2\x82\xac" "euro", "<script>"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        register_fails(reg(bad[i], "f@example.com", "kangaroo-42", "kangaroo-42"),
                       "{\"username\":[\"Enter a valid username. This value may contain only letters, numbers, and "
                       "@/./+/-/_ characters.\"]}");
    static const char *const good[] = {"a.b@c+d-e_f", "jos\xc3\xa9", "\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd", "007", "_"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        rm_user *u = register_ok(reg(good[i], "f@example.com", "kangaroo-42", "kangaroo-42"));
        STREQ(rm_user_username(u), good[i]);
        rm_user_free(u);
    }
}

TEST_BOTH(register, username_is_trimmed)
{
    rm_user *u = register_ok(reg("  spaced  ", "s@example.com", "kangaroo-42", "kangaroo-42"));
    STREQ(rm_user_username(u), "spaced");
    rm_user_free(u);
}

TEST_BOTH(register, duplicate_username_is_case_sensitive)
{
    rm_user_free(register_ok(reg("dave", "dave@example.com", "kangaroo-42", "kangaroo-42")));
    register_fails(reg("dave", "other@example.com", "different-pw-77", "different-pw-77"),
                   "{\"username\":[\"A user with that username already exists.\"]}");
    /* a duplicate is reported with the other fields' errors, and hides a mismatch */
    register_fails(reg("dave", "not-an-email", "kangaroo-42", "kangaroo-43"),
                   "{\"username\":[\"A user with that username already exists.\"],\"email\":[\"Enter a valid email address.\"]}");
    register_fails(reg("dave", "dave@example.com", "kangaroo-42", "kangaroo-43"),
                   "{\"username\":[\"A user with that username already exists.\"]}");
    rm_user *u = register_ok(reg("Dave", "dave@example.com", "kangaroo-42", "kangaroo-42"));
    STREQ(rm_user_username(u), "Dave");
    rm_user_free(u);
}

TEST_BOTH(register, email_rules)
{
    static const char *const bad[] = {"not-an-email", "a@", "@example.com", "a b@example.com", "a@b", "a@@example.com"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        register_fails(reg("erin", bad[i], "kangaroo-42", "kangaroo-42"), "{\"email\":[\"Enter a valid email address.\"]}");
    char longmail[300];
    memset(longmail, 'x', 250);
    strcpy(longmail + 250, "@example.com");
    register_fails(reg("erin", longmail, "kangaroo-42", "kangaroo-42"),
                   "{\"email\":[\"Ensure this field has no more than 254 characters.\"]}");
    /* email is not unique */
    rm_user_free(register_ok(reg("erin", "o'brien+tag@example.co.uk", "kangaroo-42", "kangaroo-42")));
    rm_user *u = register_ok(reg("erin2", "o'brien+tag@example.co.uk", "kangaroo-42", "kangaroo-42"));
    STREQ(rm_user_email(u), "o'brien+tag@example.co.uk");
    rm_user_free(u);
}

/* Every password rule is reported, together, in Django's order. */
TEST_BOTH(register, all_password_errors_together_in_order)
{
    register_fails(reg("1234", "frank@example.com", "1234", "1234"),
                   "{\"password\":[\"The password is too similar to the username.\","
                   "\"This password is too short. It must contain at least 8 characters.\","
                   "\"This password is too common.\",\"This password is entirely numeric.\"]}");
    register_fails(reg("frank", "frank@example.com", "12345678", "12345678"),
                   "{\"password\":[\"This password is too common.\",\"This password is entirely numeric.\"]}");
    register_fails(reg("frank", "frank@example.com", "zq9", "zq9"),
                   "{\"password\":[\"This password is too short. It must contain at least 8 characters.\"]}");
    register_fails(reg("frank", "frank@example.com", "PassWord", "PassWord"), /* common, case-insensitively */
                   "{\"password\":[\"This password is too common.\"]}");
    register_fails(reg("frank", "frank@example.com", "80808080808080808", "80808080808080808"),
                   "{\"password\":[\"This password is entirely numeric.\"]}");
}

TEST_BOTH(register, password_similarity)
{
    register_fails(reg("zed", "kangaroo42@example.com", "kangaroo42", "kangaroo42"),
                   "{\"password\":[\"The password is too similar to the email address.\"]}");
    /* username is checked first and only one similarity message is given */
    register_fails(reg("kangaroo42", "kangaroo42@example.com", "kangaroo42", "kangaroo42"),
                   "{\"password\":[\"The password is too similar to the username.\"]}");
    register_fails(reg("Kangaroo42", "z@example.com", "KANGAROO42x", "KANGAROO42x"),
                   "{\"password\":[\"The password is too similar to the username.\"]}");
    /* a long password is never "similar" to a short attribute */
    rm_user_free(register_ok(reg("kim", "kim@example.com", "kim-is-a-long-passphrase-indeed", "kim-is-a-long-passphrase-indeed")));
}

TEST_BOTH(register, mismatch_only_when_fields_are_valid)
{
    /* field errors hide the mismatch */
    register_fails(reg("gina", "not-an-email", "kangaroo-42", "different-42"),
                   "{\"email\":[\"Enter a valid email address.\"]}");
    register_fails(reg("gina", "gina@example.com", "short", "other"),
                   "{\"password\":[\"This password is too short. It must contain at least 8 characters.\"]}");
    register_fails(reg("bad name", "gina@example.com", "kangaroo-42", "different-42"),
                   "{\"username\":[\"Enter a valid username. This value may contain only letters, numbers, and "
                   "@/./+/-/_ characters.\"]}");
    /* everything valid: the mismatch, on password */
    register_fails(reg("gina", "gina@example.com", "kangaroo-42", "kangaroo-43"),
                   "{\"password\":[\"Password fields didn't match.\"]}");
    rm_user *u = NULL;
    FAILS(RM_ENOTFOUND, rm_user_get_by_username(&u, ctx, "gina"));
}

TEST_BOTH(register, non_string_values)
{
    rm_fields *f = reg(NULL, "h@example.com", "kangaroo-42", "kangaroo-42");
    rm_fields_set_bool(f, "username", 1);
    register_fails(f, "{\"username\":[\"Not a valid string.\"]}");
    /* DRF turns numbers into strings */
    f = reg(NULL, "h@example.com", "kangaroo-42", "kangaroo-42");
    rm_fields_set_int(f, "username", 4242);
    rm_user *u = register_ok(f);
    STREQ(rm_user_username(u), "4242");
    rm_user_free(u);
}

static int copy_password(void *data, const rm_user_record *r)
{
    snprintf(data, 200, "%s", r->password);
    return 0;
}

/* What reaches storage is Django's pbkdf2_sha256 format at the ctx's iteration count, never the password. */
TEST_BOTH(register, the_password_is_stored_hashed)
{
    rm_user *u = register_ok(reg("henry", "henry@example.com", "kangaroo-42", "kangaroo-42"));
    const rm_storage_vtable *vt = rm_storage_vtable_of(rm_ctx_storage(ctx));
    char stored[200] = "";
    OK(vt->user_get(rm_storage_self(rm_ctx_storage(ctx)), rm_user_id(u), NULL, copy_password, stored));
    cr_assert(strncmp(stored, "pbkdf2_sha256$1000$", 19) == 0, "stored hash has the wrong format");
    cr_assert_null(strstr(stored, "kangaroo"));
    const char *salt = stored + 19, *dollar = strchr(salt, '$');
    cr_assert_not_null(dollar);
    cr_assert_eq(dollar - salt, 22, "22-character salt");
    cr_assert_eq(strlen(dollar + 1), 44, "base64 of 32 bytes");
    /* a second user with the same password gets another salt */
    rm_user *v = register_ok(reg("henry2", "henry@example.com", "kangaroo-42", "kangaroo-42"));
    char stored2[200] = "";
    OK(vt->user_get(rm_storage_self(rm_ctx_storage(ctx)), rm_user_id(v), NULL, copy_password, stored2));
    cr_assert(strcmp(stored, stored2) != 0);
    rm_user_free(u);
    rm_user_free(v);
}

/* ---- authentication ---- */

static int64_t make_user(const char *name, const char *pw, unsigned flags)
{
    rm_user *u = NULL;
    char email[200];
    snprintf(email, sizeof(email), "%s@example.com", name);
    OK(rm_user_create(&u, ctx, name, email, pw, flags));
    int64_t id = rm_user_id(u);
    rm_user_free(u);
    return id;
}

static void auth_fails(const char *username, const char *password)
{
    rm_principal *p = (rm_principal *)0x1;
    FAILS(RM_EAUTH, rm_user_authenticate(&p, ctx, username, password));
    cr_assert_null(p);
    STREQ(rm_error_message(rm_error_last()), "No active account found with the given credentials");
    cr_assert_eq(rm_error_field_count(rm_error_last()), 0);
}

TEST_BOTH(auth, wrong_password_and_unknown_user)
{
    make_user("ivan", "kangaroo-42", 0);
    auth_fails("ivan", "kangaroo-43");
    auth_fails("ivan", "Kangaroo-42");
    auth_fails("ivan", "kangaroo-42 ");
    auth_fails("Ivan", "kangaroo-42"); /* usernames are exact */
    auth_fails("nobody", "kangaroo-42");
    auth_fails("ivan' OR '1'='1", "x' OR '1'='1");
    rm_principal *p = NULL;
    OK(rm_user_authenticate(&p, ctx, "ivan", "kangaroo-42"));
    rm_principal_free(p);
}

TEST_BOTH(auth, missing_credentials_are_field_errors)
{
    rm_principal *p = NULL;
    FAILS(RM_EINVALID, rm_user_authenticate(&p, ctx, NULL, NULL));
    ERRORS("{\"username\":[\"This field is required.\"],\"password\":[\"This field is required.\"]}");
    FAILS(RM_EINVALID, rm_user_authenticate(&p, ctx, "", ""));
    ERRORS("{\"username\":[\"This field may not be blank.\"],\"password\":[\"This field may not be blank.\"]}");
    FAILS(RM_EINVALID, rm_user_authenticate(&p, ctx, "x", ""));
    ERRORS("{\"password\":[\"This field may not be blank.\"]}");
    FAILS(RM_EMISUSE, rm_user_authenticate(NULL, ctx, "x", "y"));
    FAILS(RM_EMISUSE, rm_user_authenticate(&p, NULL, "x", "y"));
    cr_assert_null(p);
}

TEST_BOTH(auth, username_is_trimmed_password_is_not)
{
    make_user("olga", "kangaroo-42", 0);
    rm_principal *p = NULL;
    OK(rm_user_authenticate(&p, ctx, "  olga\t", "kangaroo-42")); /* simplejwt's CharField trims */
    cr_assert_str_eq(rm_principal_username(p), "olga");
    rm_principal_free(p);
    p = NULL;
    auth_fails("olga", " kangaroo-42"); /* its PasswordField does not */
    FAILS(RM_EINVALID, rm_user_authenticate(&p, ctx, "   ", "kangaroo-42"));
    ERRORS("{\"username\":[\"This field may not be blank.\"]}");
    cr_assert_null(p);
}

TEST_BOTH(auth, inactive_users_never_authenticate)
{
    make_user("judy", "kangaroo-42", RM_USER_INACTIVE);
    auth_fails("judy", "kangaroo-42");
    int64_t id = make_user("karl", "kangaroo-42", 0);
    OK(rm_user_deactivate(ctx, id));
    auth_fails("karl", "kangaroo-42");
}

TEST_BOTH(auth, unusable_passwords_never_authenticate)
{
    int64_t a = make_user("liam", NULL, 0);
    int64_t b = make_user("mona", "", 0);
    rm_user *u = NULL;
    OK(rm_user_get(&u, ctx, a));
    cr_assert_eq(rm_user_has_usable_password(u), 0);
    rm_user_free(u);
    OK(rm_user_get(&u, ctx, b));
    cr_assert_eq(rm_user_has_usable_password(u), 0);
    rm_user_free(u);
    auth_fails("liam", "anything");
    auth_fails("liam", "!");
    auth_fails("mona", "!");
}

/* Records written straight through the backend, as another program (Django) would have. */
static int64_t insert_raw_user(const char *username, const char *password_field, int active)
{
    const rm_storage_vtable *vt = rm_storage_vtable_of(rm_ctx_storage(ctx));
    cr_assert_not_null(vt);
    cr_assert_not_null(vt->user_insert);
    rm_user_record rec = {.username = username, .email = "", .password = password_field, .first_name = "",
                          .last_name = "", .is_active = active, .date_joined = T0, .last_login = RM_NO_TIME,
                          .tokens_valid_after = RM_NO_TIME};
    int64_t id = 0;
    int rc = vt->user_insert(rm_storage_self(rm_ctx_storage(ctx)), &rec, &id);
    cr_assert_eq(rc, RM_OK, "user_insert: %s", rm_error_message(rm_error_last()));
    cr_assert_gt(id, 0);
    return id;
}

TEST_BOTH(auth, django_made_hash_authenticates)
{
    /* hashlib.pbkdf2_hmac("sha256", b"django-made-pw-1", b"DjangoSaltAbc123", 260000), Django's format */
    int64_t id = insert_raw_user("django_user",
                                 "pbkdf2_sha256$260000$DjangoSaltAbc123$C623oPcrHYINDgcEM6RtRTlup6mIxbJhfMeH0OcqZbs=", 1);
    rm_principal *p = NULL;
    OK(rm_user_authenticate(&p, ctx, "django_user", "django-made-pw-1"));
    cr_assert_eq(rm_principal_user_id(p), id);
    rm_principal_free(p);
    auth_fails("django_user", "django-made-pw-2");

    insert_raw_user("one_iteration", "pbkdf2_sha256$1$x9$B6rcUU8KvCEkmzEyYWix9P5YrXOhm3JuRvLUCbsIXjA=", 1);
    OK(rm_user_authenticate(&p, ctx, "one_iteration", "other-pw-2"));
    rm_principal_free(p);

    rm_user *u = NULL;
    OK(rm_user_get(&u, ctx, id));
    cr_assert_eq(rm_user_has_usable_password(u), 1);
    rm_user_free(u);
}

TEST_BOTH(auth, odd_stored_passwords_never_authenticate)
{
    insert_raw_user("empty_pw", "", 1);
    insert_raw_user("bang_pw", "!", 1);
    insert_raw_user("md5_pw", "md5$salt$0f3c6bd0a1b0c1b6f2f2f2f2f2f2f2f2", 1);
    insert_raw_user("plain_pw", "plaintext-password", 1);
    insert_raw_user("bad_iter", "pbkdf2_sha256$0$x9$B6rcUU8KvCEkmzEyYWix9P5YrXOhm3JuRvLUCbsIXjA=", 1);
    insert_raw_user("trunc", "pbkdf2_sha256$1$x9$B6rcUU8KvCEkmzEyYWix9P5YrXOhm3JuRvLUCbsIX", 1);
    auth_fails("empty_pw", "x");
    auth_fails("bang_pw", "!");
    auth_fails("md5_pw", "salt");
    auth_fails("plain_pw", "plaintext-password");
    auth_fails("bad_iter", "other-pw-2");
    auth_fails("trunc", "other-pw-2");
    /* inactive with a correct Django hash */
    insert_raw_user("inactive_django", "pbkdf2_sha256$1$x9$B6rcUU8KvCEkmzEyYWix9P5YrXOhm3JuRvLUCbsIXjA=", 0);
    auth_fails("inactive_django", "other-pw-2");
}

/* ---- get ---- */

TEST_BOTH(users, get_by_id_and_username)
{
    int64_t id = make_user("nora", "kangaroo-42", 0);
    rm_user *u = NULL;
    OK(rm_user_get(&u, ctx, id));
    STREQ(rm_user_username(u), "nora");
    STREQ(rm_user_email(u), "nora@example.com");
    rm_user_free(u);
    OK(rm_user_get_by_username(&u, ctx, "nora"));
    cr_assert_eq(rm_user_id(u), id);
    rm_user_free(u);

    u = (rm_user *)0x1;
    FAILS(RM_ENOTFOUND, rm_user_get(&u, ctx, id + 1000));
    cr_assert_null(u);
    STREQ(rm_error_message(rm_error_last()), "Not found.");
    FAILS(RM_ENOTFOUND, rm_user_get(&u, ctx, 0));
    FAILS(RM_ENOTFOUND, rm_user_get(&u, ctx, -1));
    FAILS(RM_ENOTFOUND, rm_user_get(&u, ctx, INT64_MAX));
    FAILS(RM_ENOTFOUND, rm_user_get_by_username(&u, ctx, "Nora"));
    FAILS(RM_ENOTFOUND, rm_user_get_by_username(&u, ctx, ""));
    FAILS(RM_ENOTFOUND, rm_user_get_by_username(&u, ctx, "nora%"));
    FAILS(RM_ENOTFOUND, rm_user_get_by_username(&u, ctx, "no_a"));
    FAILS(RM_ENOTFOUND, rm_user_get_by_username(&u, ctx, "\xff\xfe"));
    cr_assert_null(u);
    FAILS(RM_EMISUSE, rm_user_get(NULL, ctx, id));
    FAILS(RM_EMISUSE, rm_user_get(&u, NULL, id));
    FAILS(RM_EMISUSE, rm_user_get_by_username(&u, ctx, NULL));
    FAILS(RM_EMISUSE, rm_user_get_by_username(NULL, ctx, "nora"));

    /* getters on NULL */
    cr_assert_eq(rm_user_id(NULL), 0);
    cr_assert_null(rm_user_username(NULL));
    cr_assert_null(rm_user_email(NULL));
    cr_assert_eq(rm_user_is_active(NULL), 0);
    cr_assert_eq(rm_user_is_staff(NULL), 0);
    cr_assert_eq(rm_user_is_superuser(NULL), 0);
    cr_assert_eq(rm_user_date_joined(NULL), 0);
    cr_assert_eq(rm_user_has_usable_password(NULL), 0);
    rm_user_free(NULL);
}

/* ---- change password ---- */

TEST_BOTH(users, set_password)
{
    int64_t id = make_user("oscar", "kangaroo-42", 0);
    OK(rm_user_set_password(ctx, id, "wallaby-on-the-run-7"));
    auth_fails("oscar", "kangaroo-42");
    rm_principal *p = NULL;
    OK(rm_user_authenticate(&p, ctx, "oscar", "wallaby-on-the-run-7"));
    rm_principal_free(p);
}

TEST_BOTH(users, set_password_applies_the_rules)
{
    int64_t id = make_user("oscar", "kangaroo-42", 0);
    FAILS(RM_EINVALID, rm_user_set_password(ctx, id, "short"));
    ERRORS("{\"password\":[\"This password is too short. It must contain at least 8 characters.\"]}");
    FAILS(RM_EINVALID, rm_user_set_password(ctx, id, "password"));
    ERRORS("{\"password\":[\"This password is too common.\"]}");
    FAILS(RM_EINVALID, rm_user_set_password(ctx, id, "oscar-xyz"));
    ERRORS("{\"password\":[\"The password is too similar to the username.\"]}");
    FAILS(RM_EINVALID, rm_user_set_password(ctx, id, "0123456789012"));
    ERRORS("{\"password\":[\"This password is entirely numeric.\"]}");
    FAILS(RM_EINVALID, rm_user_set_password(ctx, id, ""));
    ERRORS("{\"password\":[\"This field may not be blank.\"]}");
    FAILS(RM_EINVALID, rm_user_set_password(ctx, id, "caf\xc3"));
    ERRORS("{\"password\":[\"Invalid UTF-8 text.\"]}");
    /* nothing changed */
    rm_principal *p = NULL;
    OK(rm_user_authenticate(&p, ctx, "oscar", "kangaroo-42"));
    rm_principal_free(p);
    FAILS(RM_ENOTFOUND, rm_user_set_password(ctx, id + 1000, "wallaby-on-the-run-7"));
    FAILS(RM_ENOTFOUND, rm_user_set_password(ctx, 0, "wallaby-on-the-run-7"));
    FAILS(RM_EMISUSE, rm_user_set_password(ctx, id, NULL));
    FAILS(RM_EMISUSE, rm_user_set_password(NULL, id, "wallaby-on-the-run-7"));
}

TEST_BOTH(users, set_password_makes_an_unusable_password_usable)
{
    int64_t id = make_user("pia", NULL, 0);
    auth_fails("pia", "wallaby-on-the-run-7");
    OK(rm_user_set_password(ctx, id, "wallaby-on-the-run-7"));
    rm_principal *p = NULL;
    OK(rm_user_authenticate(&p, ctx, "pia", "wallaby-on-the-run-7"));
    rm_principal_free(p);
    rm_user *u = NULL;
    OK(rm_user_get(&u, ctx, id));
    cr_assert_eq(rm_user_has_usable_password(u), 1);
    rm_user_free(u);
}

/* ---- deactivate ---- */

TEST_BOTH(users, deactivate)
{
    int64_t id = make_user("quinn", "kangaroo-42", 0);
    int64_t other = make_user("rita", "kangaroo-42", 0);
    OK(rm_user_deactivate(ctx, id));
    rm_user *u = NULL;
    OK(rm_user_get(&u, ctx, id));
    cr_assert_eq(rm_user_is_active(u), 0);
    STREQ(rm_user_username(u), "quinn");
    cr_assert_eq(rm_user_has_usable_password(u), 1);
    rm_user_free(u);
    auth_fails("quinn", "kangaroo-42");
    OK(rm_user_deactivate(ctx, id)); /* again: still fine */
    /* only that user */
    rm_principal *p = NULL;
    OK(rm_user_authenticate(&p, ctx, "rita", "kangaroo-42"));
    cr_assert_eq(rm_principal_user_id(p), other);
    rm_principal_free(p);
    FAILS(RM_ENOTFOUND, rm_user_deactivate(ctx, other + 1000));
    FAILS(RM_ENOTFOUND, rm_user_deactivate(ctx, -3));
    FAILS(RM_EMISUSE, rm_user_deactivate(NULL, id));
}

/* ---- administrative creation ---- */

TEST_BOTH(users, create_with_flags)
{
    struct {
        const char *name;
        unsigned flags;
        int staff, super, active;
    } cases[] = {
        {"plain", 0, 0, 0, 1},
        {"staffer", RM_USER_STAFF, 1, 0, 1},
        {"root", RM_USER_SUPERUSER, 1, 1, 1},
        {"root2", RM_USER_SUPERUSER | RM_USER_STAFF, 1, 1, 1},
        {"sleepy", RM_USER_INACTIVE, 0, 0, 0},
        {"sleepy_admin", RM_USER_SUPERUSER | RM_USER_INACTIVE, 1, 1, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rm_user *u = NULL;
        OK(rm_user_create(&u, ctx, cases[i].name, "", "1", cases[i].flags)); /* no strength rules */
        cr_assert_eq(rm_user_is_staff(u), cases[i].staff, "%s", cases[i].name);
        cr_assert_eq(rm_user_is_superuser(u), cases[i].super, "%s", cases[i].name);
        cr_assert_eq(rm_user_is_active(u), cases[i].active, "%s", cases[i].name);
        STREQ(rm_user_email(u), "");
        rm_user *g = NULL;
        OK(rm_user_get(&g, ctx, rm_user_id(u)));
        cr_assert_eq(rm_user_is_staff(g), cases[i].staff);
        cr_assert_eq(rm_user_is_superuser(g), cases[i].super);
        cr_assert_eq(rm_user_is_active(g), cases[i].active);
        rm_principal *p = NULL;
        OK(rm_principal_for_user(&p, g));
        cr_assert_eq(rm_principal_is_staff(p), cases[i].staff);
        rm_principal_free(p);
        rm_user_free(g);
        rm_user_free(u);
    }
    rm_principal *p = NULL;
    OK(rm_user_authenticate(&p, ctx, "root", "1"));
    cr_assert_eq(rm_principal_is_staff(p), 1);
    rm_principal_free(p);
    auth_fails("sleepy_admin", "1");
}

TEST_BOTH(users, create_validates_username_and_email)
{
    FAILS(RM_EINVALID, rm_user_create(NULL, ctx, "bad name", "", "x", 0));
    ERRORS("{\"username\":[\"Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.\"]}");
    FAILS(RM_EINVALID, rm_user_create(NULL, ctx, "", "", "x", 0));
    ERRORS("{\"username\":[\"This field may not be blank.\"]}");
    FAILS(RM_EINVALID, rm_user_create(NULL, ctx, NULL, "", "x", 0));
    ERRORS("{\"username\":[\"This field is required.\"]}");
    FAILS(RM_EINVALID, rm_user_create(NULL, ctx, "good", "nope", "x", 0));
    ERRORS("{\"email\":[\"Enter a valid email address.\"]}");
    FAILS(RM_EINVALID, rm_user_create(NULL, ctx, "bad\xff", "nope\xfe", "x\xfd", 0));
    ERRORS("{\"username\":[\"Invalid UTF-8 text.\"],\"email\":[\"Invalid UTF-8 text.\"],\"password\":[\"Invalid UTF-8 text.\"]}");
    OK(rm_user_create(NULL, ctx, "good", NULL, "x", 0));
    FAILS(RM_EINVALID, rm_user_create(NULL, ctx, "good", "", "x", RM_USER_STAFF));
    ERRORS("{\"username\":[\"A user with that username already exists.\"]}");
    FAILS(RM_EMISUSE, rm_user_create(NULL, NULL, "good2", "", "x", 0));
}

/* ---- the anonymous user ---- */

TEST_BOTH(users, anonymous_user_created_on_first_use)
{
    rm_user *u = NULL;
    FAILS(RM_ENOTFOUND, rm_user_get_by_username(&u, ctx, "anonymous_user"));
    OK(rm_user_anonymous(&u, ctx));
    STREQ(rm_user_username(u), "anonymous_user");
    cr_assert_eq(rm_user_is_active(u), 0);
    cr_assert_eq(rm_user_is_staff(u), 0);
    cr_assert_eq(rm_user_is_superuser(u), 0);
    cr_assert_eq(rm_user_has_usable_password(u), 0);
    int64_t id = rm_user_id(u);
    rm_user_free(u);
    OK(rm_user_anonymous(&u, ctx));
    cr_assert_eq(rm_user_id(u), id);
    rm_user_free(u);
    OK(rm_user_get_by_username(&u, ctx, "anonymous_user"));
    cr_assert_eq(rm_user_id(u), id);
    rm_user_free(u);
    auth_fails("anonymous_user", "!");
    auth_fails("anonymous_user", "anonymous_user");
    FAILS(RM_EMISUSE, rm_user_anonymous(NULL, ctx));
    FAILS(RM_EMISUSE, rm_user_anonymous(&u, NULL));
}

/* A second ctx on the same file finds the existing anonymous user instead of making another. */
Test(users_file, anonymous_user_is_found_by_a_new_ctx, .init = setup_file, .fini = teardown)
{
    rm_user *u = NULL;
    OK(rm_user_anonymous(&u, ctx));
    int64_t id = rm_user_id(u);
    rm_user_free(u);
    rm_ctx *second = NULL;
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage_url = db_path;
    OK(rm_ctx_new(&second, &o));
    OK(rm_user_anonymous(&u, second));
    cr_assert_eq(rm_user_id(u), id);
    rm_user_free(u);
    rm_ctx_free(second);
}

/* The name is taken: nobody can register as the anonymous user after it exists. */
TEST_BOTH(users, anonymous_user_name_cannot_be_registered)
{
    rm_user *u = NULL;
    OK(rm_user_anonymous(&u, ctx));
    rm_user_free(u);
    register_fails(reg("anonymous_user", "x@example.com", "kangaroo-42", "kangaroo-42"),
                   "{\"username\":[\"A user with that username already exists.\"]}");
}

/* ---- principals ---- */

TEST_BOTH(users, principals)
{
    rm_principal *a = NULL;
    OK(rm_principal_anonymous(&a));
    cr_assert_eq(rm_principal_is_anonymous(a), 1);
    cr_assert_eq(rm_principal_user_id(a), 0);
    STREQ(rm_principal_username(a), "");
    cr_assert_eq(rm_principal_is_staff(a), 0);

    int64_t id = make_user("sam", "kangaroo-42", RM_USER_STAFF);
    rm_user *u = NULL;
    OK(rm_user_get(&u, ctx, id));
    rm_principal *p = NULL, *d = NULL;
    OK(rm_principal_for_user(&p, u));
    rm_user_free(u); /* the principal keeps its own copy */
    OK(rm_principal_dup(&d, p));
    rm_principal_free(p);
    cr_assert_eq(rm_principal_is_anonymous(d), 0);
    cr_assert_eq(rm_principal_user_id(d), id);
    STREQ(rm_principal_username(d), "sam");
    cr_assert_eq(rm_principal_is_staff(d), 1);
    rm_principal_free(d);

    cr_assert_eq(rm_principal_is_anonymous(NULL), 1);
    cr_assert_eq(rm_principal_user_id(NULL), 0);
    STREQ(rm_principal_username(NULL), "");
    cr_assert_eq(rm_principal_is_staff(NULL), 0);
    FAILS(RM_EMISUSE, rm_principal_anonymous(NULL));
    p = (rm_principal *)0x1;
    FAILS(RM_EMISUSE, rm_principal_for_user(&p, NULL));
    cr_assert_null(p);
    FAILS(RM_EMISUSE, rm_principal_dup(&p, NULL));
    OK(rm_user_get(&u, ctx, id));
    FAILS(RM_EMISUSE, rm_principal_for_user(NULL, u));
    rm_user_free(u);
    FAILS(RM_EMISUSE, rm_principal_dup(NULL, a));
    rm_principal_free(a);
    rm_principal_free(NULL);
}
