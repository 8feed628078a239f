/* Django-compatible pbkdf2_sha256 hashes: known answers, verification, malformed input, salts. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "auth/internal.h"
#include "rm_test.h"

/* Computed with Python: "pbkdf2_sha256$%d$%s$%s" % (it, salt,
 * base64.b64encode(hashlib.pbkdf2_hmac("sha256", pw.encode(), salt.encode(), it)).decode()),
 * which is what Django's PBKDF2PasswordHasher.encode does. */
static const struct {
    const char *password, *salt;
    uint32_t iterations;
    const char *encoded;
} VECTORS[] = {
    {"password", "salt", 1, "pbkdf2_sha256$1$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs="},
    {"", "emptypasswordsalt0123A", 1000,
     "pbkdf2_sha256$1000$emptypasswordsalt0123A$JoVSNar+u1/cpDHBxeyb9hZ7ZAlotOBy+OLVvpm1EMc="},
    {"pässwörd✓ 密码", "unicodeSalt0123456789z", 1000,
     "pbkdf2_sha256$1000$unicodeSalt0123456789z$1/i7gASPZ0wKbyF6XvVrrpUUQr3avdaeERxPEfqHInw="},
    {"correct horse battery staple", "Y9VX2qk6ZbdM0aHvHnWwyE", 260000,
     "pbkdf2_sha256$260000$Y9VX2qk6ZbdM0aHvHnWwyE$YHD2p9cy0ftSEG9lHQThPusIAwqAOOm9TaWjh7h8XE0="},
    {"hunter2", "q2KxLzEm8PBwD3cRtN7vYa", 720000,
     "pbkdf2_sha256$720000$q2KxLzEm8PBwD3cRtN7vYa$3NINXxFFLnRitDAmSzWG6IL202qIFST1xO608j7YJ7w="},
    {"", "bE5u0fTzWqXoR1nHc6JmKd", 720000,
     "pbkdf2_sha256$720000$bE5u0fTzWqXoR1nHc6JmKd$u0l1HfFVyjC+kSmbycPF0CKDiTXQkhJqqWklfAB8w/0="},
};

#define NVECTORS (sizeof(VECTORS) / sizeof(VECTORS[0]))

static bool is_alnum_str(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", s[i]))
            return false;
    return true;
}

Test(password, known_answer_vectors_hash_exactly)
{
    for (size_t i = 0; i < NVECTORS; i++) {
        char *out = NULL;
        cr_assert_eq(rm__password_hash_with_salt(&out, VECTORS[i].password, VECTORS[i].salt, VECTORS[i].iterations),
                     RM_OK);
        cr_expect_str_eq(out, VECTORS[i].encoded, "vector %zu", i);
        free(out);
    }
}

Test(password, known_answer_vectors_verify_and_reject_wrong_passwords)
{
    for (size_t i = 0; i < NVECTORS; i++) {
        cr_expect(rm__password_verify(VECTORS[i].password, VECTORS[i].encoded), "vector %zu", i);
        cr_expect(rm__password_usable(VECTORS[i].encoded), "vector %zu", i);
        cr_expect_not(rm__password_verify("wrong", VECTORS[i].encoded), "vector %zu", i);
    }
    cr_expect_not(rm__password_verify("Password", VECTORS[0].encoded));
    cr_expect_not(rm__password_verify("password ", VECTORS[0].encoded));
}

Test(password, hashes_made_by_django_verify)
{
    /* django.contrib.auth.hashers.make_password() of Django 5.1.15 (1,000,000 iterations), and an older
     * 260,000-iteration hash: verification accepts any iteration count. */
    const char *d51 = "pbkdf2_sha256$1000000$795vFr8VFQWiWWLwfNew8e$25vi3L79Jv/mh+JMsYCyTgD1H5dW9D1g8f1v1kHsric=";
    const char *old = "pbkdf2_sha256$260000$eCskht99CC8NqDkjPZ18zp$AXr3TbJuAyyuO+3ozzDLjRU/ZXL7y5kimrty1OFISlw=";
    cr_expect(rm__password_verify("Django-made Pässword!", d51));
    cr_expect_not(rm__password_verify("Django-made Password!", d51));
    cr_expect(rm__password_verify("legacy password", old));
    cr_expect_not(rm__password_verify("legacy password ", old));
}

Test(password, hash_uses_given_iterations_and_a_fresh_salt)
{
    char *a = NULL, *b = NULL;
    cr_assert_eq(rm__password_hash(&a, "s3cret pass", 1000), RM_OK);
    cr_assert_eq(rm__password_hash(&b, "s3cret pass", 1000), RM_OK);
    const char *prefix = "pbkdf2_sha256$1000$";
    size_t plen = strlen(prefix);
    cr_assert_eq(strncmp(a, prefix, plen), 0, "%s", a);
    /* 22-character salt, '$', 44 characters of base64 */
    cr_assert_eq(strlen(a), plen + 22 + 1 + 44, "%s", a);
    cr_expect(is_alnum_str(a + plen, 22), "%s", a);
    cr_expect_eq(a[plen + 22], '$');
    cr_expect_str_neq(a, b);
    cr_expect(rm__password_verify("s3cret pass", a));
    cr_expect(rm__password_verify("s3cret pass", b));
    cr_expect_not(rm__password_verify("s3cret pas", a));
    free(a);
    free(b);
}

Test(password, default_iterations_round_trip)
{
    char *h = NULL;
    cr_assert_eq(RM__PBKDF2_DEFAULT_ITERATIONS, 720000u);
    cr_assert_eq(rm__password_hash(&h, "ünïcødé and spaces", RM__PBKDF2_DEFAULT_ITERATIONS), RM_OK);
    cr_expect_eq(strncmp(h, "pbkdf2_sha256$720000$", 21), 0, "%s", h);
    cr_expect(rm__password_verify("ünïcødé and spaces", h));
    cr_expect_not(rm__password_verify("unicode and spaces", h));
    free(h);
}

Test(password, salts_use_all_62_characters_and_nothing_else)
{
    int seen[256] = {0};
    for (int i = 0; i < 200; i++) {
        char *h = NULL;
        cr_assert_eq(rm__password_hash(&h, "x", 1), RM_OK);
        const char *salt = h + strlen("pbkdf2_sha256$1$");
        cr_assert(is_alnum_str(salt, 22), "%s", h);
        for (int j = 0; j < 22; j++)
            seen[(unsigned char)salt[j]]++;
        free(h);
    }
    /* 4400 draws: each character expected ~71 times; missing one is astronomically unlikely. */
    for (const char *c = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"; *c; c++)
        cr_expect_gt(seen[(unsigned char)*c], 20, "character %c seen %d times", *c, seen[(unsigned char)*c]);
}

Test(password, malformed_and_foreign_hashes_never_verify)
{
    const char *pw = "password";
    const char *bad[] = {
        NULL,
        "",
        "!",
        "!pbkdf2_sha256$1$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2_sha256",
        "pbkdf2_sha256$",
        "pbkdf2_sha256$1",
        "pbkdf2_sha256$1$salt",
        "pbkdf2_sha256$1$salt$",
        "pbkdf2_sha256$$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2_sha256$0$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2_sha256$01$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2_sha256$+1$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2_sha256$-1$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2_sha256$ 1$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2_sha256$1x$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2_sha256$10000001$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2_sha256$99999999999999999999$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2_sha256$4294967297$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2_sha256$1$$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2_sha256$1$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs",
        "pbkdf2_sha256$1$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs==",
        "pbkdf2_sha256$1$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=$",
        "pbkdf2_sha256$1$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4X!=",
        "pbkdf2_sha256$1$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs= ",
        "PBKDF2_SHA256$1$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2_sha1$1$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "argon2$argon2id$v=19$m=102400,t=2,p=8$c29tZXNhbHQ$Ym9ndXNoYXNo",
        "bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuuK0MbyRVHh5zy0LHuBj0rj9Zs0OFnbW",
        "md5$salt$5f4dcc3b5aa765d61d8327deb882cf99",
        "password",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_expect_not(rm__password_verify(pw, bad[i]), "case %zu: %s", i, bad[i] ? bad[i] : "(null)");
        cr_expect_not(rm__password_usable(bad[i]), "case %zu: %s", i, bad[i] ? bad[i] : "(null)");
    }
    cr_expect_not(rm__password_verify(NULL, VECTORS[0].encoded));
}

Test(password, well_formed_hashes_of_another_password_are_usable_but_do_not_verify)
{
    const char *other[] = {
        "pbkdf2_sha256$1$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xt=",
        "pbkdf2_sha256$1$salt$eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2_sha256$1$salt2$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2_sha256$2$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
    };
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        cr_expect(rm__password_usable(other[i]), "case %zu: %s", i, other[i]);
        cr_expect_not(rm__password_verify("password", other[i]), "case %zu: %s", i, other[i]);
    }
}

Test(password, unusable_passwords_look_like_djangos_and_never_verify)
{
    char *a = rm__password_unusable(), *b = rm__password_unusable();
    cr_assert(a && b);
    cr_expect_eq(strlen(a), 41);
    cr_expect_eq(a[0], '!');
    cr_expect(is_alnum_str(a + 1, 40), "%s", a);
    cr_expect_str_neq(a, b);
    cr_expect_not(rm__password_usable(a));
    cr_expect_not(rm__password_verify("", a));
    cr_expect_not(rm__password_verify(a, a));
    cr_expect_not(rm__password_verify(a + 1, a));
    free(a);
    free(b);
}

Test(password, bad_arguments_are_misuse)
{
    char *out = (char *)"sentinel";
    cr_expect_eq(rm__password_hash_with_salt(&out, "pw", "", 1), RM_EMISUSE);
    cr_expect_null(out);
    cr_expect_eq(rm__password_hash_with_salt(&out, "pw", NULL, 1), RM_EMISUSE);
    cr_expect_eq(rm__password_hash_with_salt(&out, "pw", "sa$lt", 1), RM_EMISUSE);
    cr_expect_eq(rm__password_hash_with_salt(&out, NULL, "salt", 1), RM_EMISUSE);
    cr_expect_eq(rm__password_hash_with_salt(&out, "pw", "salt", 0), RM_EMISUSE);
    cr_expect_eq(rm__password_hash_with_salt(&out, "pw", "salt", 10000001u), RM_EMISUSE);
    cr_expect_eq(rm__password_hash_with_salt(NULL, "pw", "salt", 1), RM_EMISUSE);
    cr_expect_eq(rm__password_hash(&out, "pw", 0), RM_EMISUSE);
    cr_expect_null(out);
    cr_expect_eq(rm_error_code(rm_error_last()), RM_EMISUSE);
}

Test(password, the_largest_allowed_iteration_count_is_accepted_by_the_parser)
{
    /* 10,000,000 iterations parse (and would be computed); we only check usability to stay fast. */
    cr_expect(rm__password_usable("pbkdf2_sha256$10000000$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs="));
}

Test(password, dummy_verify_runs_for_any_input)
{
    rm__password_dummy_verify("password", 1000);
    rm__password_dummy_verify(NULL, 1);
    rm__password_dummy_verify("", 0); /* falls back to the default count */
}
