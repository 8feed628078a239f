/* JWT access/refresh tokens: simplejwt layout, every verification path, refresh, rotation, revocation,
 * key rotation. Time comes from an injected clock. */
#include "rm_test.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY "test-secret-key-for-tokens-0123456789abcdef"
#define OLD_KEY "previous-secret-key-9876543210-zyxwvu"
#define T0 1700000000LL /* whole seconds */
#define US 1000000LL
#define PEM_PUBLIC_KEY                                                                                            \
    "-----BEGIN PUBLIC KEY-----\n"                                                                                \
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\n"                                          \
    "q9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n"                                              \
    "-----END PUBLIC KEY-----\n"

static rm_test_clock_state clk;
static rm_ctx *ctx;
static int64_t alice_id;
static rm_principal *alice;

static rm_ctx *make_ctx(const char *url, const char *key, const char *const *previous, size_t n_previous,
                        int64_t leeway, int rotate)
{
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage_url = url;
    o.secret_key = key;
    o.previous_secret_keys = previous;
    o.previous_secret_key_count = n_previous;
    o.clock = rm_test_clock;
    o.clock_userdata = &clk;
    o.token_leeway = leeway;
    o.rotate_refresh_tokens = rotate;
    o.password_iterations = 1000;
    rm_ctx *c = NULL;
    cr_assert_eq(rm_ctx_new(&c, &o), RM_OK, "%s", rm_error_message(rm_error_last()));
    return c;
}

static int64_t add_user(rm_ctx *c, const char *name, const char *password, unsigned flags)
{
    rm_user *u = NULL;
    cr_assert_eq(rm_user_create(&u, c, name, "", password, flags), RM_OK, "%s", rm_error_message(rm_error_last()));
    int64_t id = rm_user_id(u);
    rm_user_free(u);
    return id;
}

static void setup_with(int64_t leeway, int rotate)
{
    clk.now_us = T0 * US + 250000; /* T0.25 s */
    ctx = make_ctx(NULL, KEY, NULL, 0, leeway, rotate);
    alice_id = add_user(ctx, "alice", "correct horse battery", 0);
    rm_user *u = NULL;
    cr_assert_eq(rm_user_get(&u, ctx, alice_id), RM_OK);
    cr_assert_eq(rm_principal_for_user(&alice, u), RM_OK);
    rm_user_free(u);
}

static void teardown(void)
{
    rm_principal_free(alice);
    alice = NULL;
    rm_ctx_free(ctx);
    ctx = NULL;
}

/* Criterion runs the suite's init before a test's own: the variants replace the default fixture. */
static void setup(void) { setup_with(0, 0); }
static void setup_leeway(void)
{
    teardown();
    setup_with(10, 0);
}
static void setup_rotate(void)
{
    teardown();
    setup_with(0, 1);
}

/* ---- helpers: base64url, minting arbitrary tokens, reading claims ---- */

static char *b64u(const void *data, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    int len = EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

/* header.payload signed with HMAC-SHA256 under key; key NULL gives an empty signature. */
static char *mint(const char *header, const char *payload, const char *key)
{
    char *h = b64u(header, strlen(header)), *p = b64u(payload, strlen(payload));
    size_t n = strlen(h) + strlen(p) + 2;
    char *input = malloc(n);
    snprintf(input, n, "%s.%s", h, p);
    char *sig = strdup("");
    if (key) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)input, strlen(input), mac, &mac_len);
        free(sig);
        sig = b64u(mac, mac_len);
    }
    char *out = malloc(strlen(input) + strlen(sig) + 2);
    sprintf(out, "%s.%s", input, sig);
    free(h);
    free(p);
    free(input);
    free(sig);
    return out;
}

static const char *HS256 = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* A token in simplejwt's layout for alice, with the given type, exp and iat. */
static char *mint_std(const char *type, int64_t exp, int64_t iat, int64_t user_id, const char *key)
{
    char payload[256];
    snprintf(payload, sizeof(payload),
             "{\"token_type\":\"%s\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"0123456789abcdef0123456789abcdef\",\"user_id\":%lld}",
             type, (long long)exp, (long long)iat, (long long)user_id);
    return mint(HS256, payload, key);
}

static char *segment_text(const char *token, int index)
{
    const char *s = token;
    for (int i = 0; i < index; i++)
        s = strchr(s, '.') + 1;
    const char *e = strchr(s, '.');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    char *tmp = calloc(1, n + 4);
    for (size_t i = 0; i < n; i++)
        tmp[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    size_t padded = n;
    while (padded % 4)
        tmp[padded++] = '=';
    unsigned char *out = calloc(1, padded + 1);
    int len = EVP_DecodeBlock(out, (unsigned char *)tmp, (int)padded);
    cr_assert_geq(len, 0);
    out[len - (int)(padded - n)] = '\0';
    free(tmp);
    return (char *)out;
}

static json_t *claims_of(const char *token)
{
    char *text = segment_text(token, 1);
    json_t *j = json_loads(text, 0, NULL);
    cr_assert_not_null(j, "payload is not JSON: %s", text);
    free(text);
    return j;
}

static int64_t claim(json_t *claims, const char *name)
{
    json_t *v = json_object_get(claims, name);
    cr_assert(json_is_integer(v), "claim %s is not an integer", name);
    return (int64_t)json_integer_value(v);
}

/* Assert the key order of a payload, as a comma-separated list. */
static void assert_claim_order(json_t *claims, const char *expected)
{
    char order[256] = "";
    const char *key;
    json_t *value;
    json_object_foreach(claims, key, value)
    {
        if (order[0])
            strcat(order, ",");
        strcat(order, key);
    }
    cr_assert_str_eq(order, expected);
}

static void assert_jti(json_t *claims)
{
    const char *jti = json_string_value(json_object_get(claims, "jti"));
    cr_assert_not_null(jti);
    cr_assert_eq(strlen(jti), 32);
    for (const char *p = jti; *p; p++)
        cr_assert((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'), "jti has %c", *p);
}

/* The last error is RM_ETOKEN with the given reason, and its message reveals neither key nor token. */
static void assert_token_error(int rc, int reason, const char *token)
{
    const rm_error *e = rm_error_last();
    cr_assert_eq(rc, RM_ETOKEN, "rc %s (%s)", rm_status_name(rc), rm_error_message(e));
    cr_assert_eq(rm_error_reason(e), reason, "reason %d, want %d (%s)", rm_error_reason(e), reason, rm_error_message(e));
    const char *msg = rm_error_message(e);
    cr_assert_null(strstr(msg, KEY));
    cr_assert_null(strstr(msg, OLD_KEY));
    if (token && strlen(token) >= 8) {
        char head[9];
        memcpy(head, token, 8);
        head[8] = '\0';
        cr_assert_null(strstr(msg, head), "message contains the token: %s", msg);
    }
}

static int authenticate(const char *token)
{
    rm_principal *p = NULL;
    int rc = rm_token_authenticate(&p, ctx, token);
    if (rc == RM_OK) {
        cr_assert_not_null(p);
        cr_assert_eq(rm_principal_user_id(p), alice_id);
    } else {
        cr_assert_null(p);
    }
    rm_principal_free(p);
    return rc;
}

static int refresh(rm_token_pair **out, const char *token)
{
    rm_token_pair *tmp = NULL;
    int rc = rm_token_refresh(out ? out : &tmp, ctx, token);
    rm_token_pair_free(tmp);
    return rc;
}

static rm_token_pair *obtain(void)
{
    rm_token_pair *pair = NULL;
    cr_assert_eq(rm_token_obtain(&pair, ctx, alice), RM_OK, "%s", rm_error_message(rm_error_last()));
    return pair;
}

TestSuite(token, .init = setup, .fini = teardown);

/* ---- issuing ---- */

Test(token, obtain_issues_simplejwt_layout)
{
    rm_token_pair *pair = obtain();
    const char *access = rm_token_pair_access(pair), *refresh_t = rm_token_pair_refresh(pair);
    cr_assert_not_null(access);
    cr_assert_not_null(refresh_t);

    char *header = segment_text(access, 0);
    cr_assert_str_eq(header, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
    free(header);
    cr_assert_eq(strncmp(access, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37), 0);

    json_t *a = claims_of(access), *r = claims_of(refresh_t);
    assert_claim_order(a, "token_type,exp,iat,jti,user_id");
    assert_claim_order(r, "token_type,exp,iat,jti,user_id");
    cr_assert_str_eq(json_string_value(json_object_get(a, "token_type")), "access");
    cr_assert_str_eq(json_string_value(json_object_get(r, "token_type")), "refresh");
    cr_assert_eq(claim(a, "exp"), T0 + 300);
    cr_assert_eq(claim(r, "exp"), T0 + 86400);
    cr_assert_eq(claim(a, "iat"), T0);
    cr_assert_eq(claim(r, "iat"), T0);
    cr_assert_eq(claim(a, "user_id"), alice_id);
    cr_assert_eq(claim(r, "user_id"), alice_id);
    assert_jti(a);
    assert_jti(r);
    cr_assert_str_neq(json_string_value(json_object_get(a, "jti")), json_string_value(json_object_get(r, "jti")));
    /* Exact bytes of the payload, as PyJWT's json.dumps(separators=(",", ":")) writes it. */
    char *text = segment_text(access, 1), expected[256];
    snprintf(expected, sizeof(expected), "{\"token_type\":\"access\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"%s\",\"user_id\":%lld}",
             T0 + 300, T0, json_string_value(json_object_get(a, "jti")), (long long)alice_id);
    cr_assert_str_eq(text, expected);
    free(text);
    json_decref(a);
    json_decref(r);
    rm_token_pair_free(pair);
}

Test(token, jti_is_fresh_each_time)
{
    rm_token_pair *p1 = obtain(), *p2 = obtain();
    json_t *a1 = claims_of(rm_token_pair_access(p1)), *a2 = claims_of(rm_token_pair_access(p2));
    cr_assert_str_neq(json_string_value(json_object_get(a1, "jti")), json_string_value(json_object_get(a2, "jti")));
    json_decref(a1);
    json_decref(a2);
    rm_token_pair_free(p1);
    rm_token_pair_free(p2);
}

Test(token, issued_tokens_verify_with_libjwt)
{
    rm_token_pair *pair = obtain();
    jwt_t *jwt = NULL;
    cr_assert_eq(jwt_decode(&jwt, rm_token_pair_access(pair), (const unsigned char *)KEY, (int)strlen(KEY)), 0);
    cr_assert_eq(jwt_get_alg(jwt), JWT_ALG_HS256);
    cr_assert_eq(jwt_get_grant_int(jwt, "user_id"), alice_id);
    jwt_free(jwt);
    jwt = NULL;
    cr_assert_neq(jwt_decode(&jwt, rm_token_pair_access(pair), (const unsigned char *)"another-key", 11), 0);
    jwt_free(jwt);
    rm_token_pair_free(pair);
}

Test(token, configured_lifetimes)
{
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.secret_key = KEY;
    o.clock = rm_test_clock;
    o.clock_userdata = &clk;
    o.access_token_lifetime = 60;
    o.refresh_token_lifetime = 3600;
    rm_ctx *c = NULL;
    cr_assert_eq(rm_ctx_new(&c, &o), RM_OK);
    int64_t id = add_user(c, "bob", NULL, 0);
    rm_user *u = NULL;
    rm_principal *bob = NULL;
    rm_token_pair *pair = NULL;
    cr_assert_eq(rm_user_get(&u, c, id), RM_OK);
    cr_assert_eq(rm_principal_for_user(&bob, u), RM_OK);
    cr_assert_eq(rm_token_obtain(&pair, c, bob), RM_OK);
    json_t *a = claims_of(rm_token_pair_access(pair)), *r = claims_of(rm_token_pair_refresh(pair));
    cr_assert_eq(claim(a, "exp"), T0 + 60);
    cr_assert_eq(claim(r, "exp"), T0 + 3600);
    json_decref(a);
    json_decref(r);
    rm_token_pair_free(pair);
    rm_principal_free(bob);
    rm_user_free(u);
    rm_ctx_free(c);
}

Test(token, obtain_refuses_anonymous_inactive_and_missing_users)
{
    rm_token_pair *pair = NULL;
    rm_principal *anon = NULL;
    cr_assert_eq(rm_principal_anonymous(&anon), RM_OK);
    cr_assert_eq(rm_token_obtain(&pair, ctx, anon), RM_EPERM);
    cr_assert_null(pair);
    rm_principal_free(anon);

    int64_t id = add_user(ctx, "sleepy", NULL, RM_USER_INACTIVE);
    rm_user *u = NULL;
    rm_principal *p = NULL;
    cr_assert_eq(rm_user_get(&u, ctx, id), RM_OK);
    cr_assert_eq(rm_principal_for_user(&p, u), RM_OK);
    cr_assert_eq(rm_token_obtain(&pair, ctx, p), RM_EPERM);
    cr_assert_null(pair);
    rm_principal_free(p);
    rm_user_free(u);

    /* A principal from another database whose user does not exist here. */
    rm_ctx *other = make_ctx(NULL, KEY, NULL, 0, 0, 0);
    add_user(other, "x1", NULL, 0);
    add_user(other, "x2", NULL, 0);
    int64_t ghost_id = add_user(other, "ghost", NULL, 0);
    cr_assert_gt(ghost_id, alice_id + 1);
    cr_assert_eq(rm_user_get(&u, other, ghost_id), RM_OK);
    cr_assert_eq(rm_principal_for_user(&p, u), RM_OK);
    cr_assert_eq(rm_token_obtain(&pair, ctx, p), RM_ENOTFOUND);
    rm_principal_free(p);
    rm_user_free(u);
    rm_ctx_free(other);
}

Test(token, login)
{
    rm_token_pair *pair = NULL;
    cr_assert_eq(rm_token_login(&pair, ctx, "alice", "correct horse battery"), RM_OK);
    cr_assert_eq(authenticate(rm_token_pair_access(pair)), RM_OK);
    rm_token_pair_free(pair);
    pair = NULL;
    cr_assert_eq(rm_token_login(&pair, ctx, "alice", "wrong password"), RM_EAUTH);
    cr_assert_null(pair);
    cr_assert_eq(rm_token_login(&pair, ctx, "nobody", "correct horse battery"), RM_EAUTH);
    cr_assert_eq(rm_token_login(&pair, ctx, "alice", ""), RM_EINVALID);
    cr_assert_null(pair);
}

Test(token, misuse)
{
    rm_token_pair *pair = NULL;
    rm_principal *p = NULL;
    cr_assert_eq(rm_token_obtain(NULL, ctx, alice), RM_EMISUSE);
    cr_assert_eq(rm_token_obtain(&pair, NULL, alice), RM_EMISUSE);
    cr_assert_eq(rm_token_obtain(&pair, ctx, NULL), RM_EMISUSE);
    cr_assert_eq(rm_token_authenticate(&p, ctx, NULL), RM_EMISUSE);
    cr_assert_eq(rm_token_authenticate(NULL, ctx, "x"), RM_EMISUSE);
    cr_assert_eq(rm_token_refresh(&pair, ctx, NULL), RM_EMISUSE);
    cr_assert_eq(rm_token_revoke(ctx, NULL), RM_EMISUSE);
    cr_assert_eq(rm_token_revoke(NULL, "x"), RM_EMISUSE);
    cr_assert_eq(rm_token_prune(NULL, NULL), RM_EMISUSE);
    cr_assert_null(rm_token_pair_access(NULL));
    cr_assert_null(rm_token_pair_refresh(NULL));
    rm_token_pair_free(NULL);

    /* A ctx without a secret key cannot issue or verify. */
    rm_ctx *nokey = make_ctx(NULL, NULL, NULL, 0, 0, 0);
    cr_assert_eq(rm_token_obtain(&pair, nokey, alice), RM_EMISUSE);
    char *t = mint_std("access", T0 + 300, T0, 1, KEY);
    cr_assert_eq(rm_token_authenticate(&p, nokey, t), RM_EMISUSE);
    free(t);
    rm_ctx_free(nokey);
}

/* ---- verification ---- */

Test(token, authenticate_gives_the_principal)
{
    rm_token_pair *pair = obtain();
    rm_principal *p = NULL;
    cr_assert_eq(rm_token_authenticate(&p, ctx, rm_token_pair_access(pair)), RM_OK);
    cr_assert_eq(rm_principal_user_id(p), alice_id);
    cr_assert_str_eq(rm_principal_username(p), "alice");
    cr_assert_eq(rm_principal_is_anonymous(p), 0);
    rm_principal_free(p);
    rm_token_pair_free(pair);
}

Test(token, accepts_simplejwt_layout_and_sorted_layout)
{
    char *t = mint_std("access", T0 + 300, T0, alice_id, KEY);
    cr_assert_eq(authenticate(t), RM_OK);
    free(t);

    /* libjwt's own layout (sorted claims) is a valid token too. */
    jwt_t *jwt = NULL;
    cr_assert_eq(jwt_new(&jwt), 0);
    jwt_add_grant(jwt, "token_type", "access");
    jwt_add_grant_int(jwt, "exp", T0 + 300);
    jwt_add_grant_int(jwt, "iat", T0);
    jwt_add_grant(jwt, "jti", "fedcba9876543210fedcba9876543210");
    jwt_add_grant_int(jwt, "user_id", alice_id);
    jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)KEY, (int)strlen(KEY));
    char *sorted = jwt_encode_str(jwt);
    cr_assert_eq(authenticate(sorted), RM_OK);
    free(sorted);
    jwt_free(jwt);
}

Test(token, expires_exactly_at_exp)
{
    rm_token_pair *pair = obtain();
    const char *access = rm_token_pair_access(pair);
    clk.now_us = (T0 + 300) * US - 1;
    cr_assert_eq(authenticate(access), RM_OK);
    clk.now_us = (T0 + 300) * US;
    assert_token_error(authenticate(access), RM_TOKEN_EXPIRED, access);
    clk.now_us = (T0 + 86400) * US - 1;
    cr_assert_eq(refresh(NULL, rm_token_pair_refresh(pair)), RM_OK);
    clk.now_us = (T0 + 86400) * US;
    assert_token_error(refresh(NULL, rm_token_pair_refresh(pair)), RM_TOKEN_EXPIRED, rm_token_pair_refresh(pair));
    rm_token_pair_free(pair);
}

Test(token, iat_in_the_future)
{
    clk.now_us = T0 * US; /* exactly on a second */
    char *ok = mint_std("access", T0 + 300, T0, alice_id, KEY);
    char *ahead = mint_std("access", T0 + 300, T0 + 1, alice_id, KEY);
    cr_assert_eq(authenticate(ok), RM_OK);
    assert_token_error(authenticate(ahead), RM_TOKEN_NOT_YET_VALID, ahead);
    /* iat is whole seconds: within a second, up to the next whole second is accepted. */
    clk.now_us = T0 * US + 1;
    cr_assert_eq(authenticate(ahead), RM_OK);
    char *two = mint_std("access", T0 + 300, T0 + 2, alice_id, KEY);
    assert_token_error(authenticate(two), RM_TOKEN_NOT_YET_VALID, two);
    free(ok);
    free(ahead);
    free(two);
}

Test(token, leeway_edges, .init = setup_leeway, .fini = teardown)
{
    rm_token_pair *pair = obtain();
    const char *access = rm_token_pair_access(pair);
    clk.now_us = (T0 + 300 + 10) * US - 1;
    cr_assert_eq(authenticate(access), RM_OK);
    clk.now_us = (T0 + 300 + 10) * US;
    assert_token_error(authenticate(access), RM_TOKEN_EXPIRED, access);
    rm_token_pair_free(pair);

    clk.now_us = T0 * US;
    char *edge = mint_std("access", T0 + 300, T0 + 10, alice_id, KEY);
    char *beyond = mint_std("access", T0 + 300, T0 + 11, alice_id, KEY);
    cr_assert_eq(authenticate(edge), RM_OK);
    assert_token_error(authenticate(beyond), RM_TOKEN_NOT_YET_VALID, beyond);
    free(edge);
    free(beyond);
}

Test(token, wrong_type)
{
    rm_token_pair *pair = obtain();
    const char *access = rm_token_pair_access(pair), *refresh_t = rm_token_pair_refresh(pair);
    assert_token_error(authenticate(refresh_t), RM_TOKEN_WRONG_TYPE, refresh_t);
    assert_token_error(refresh(NULL, access), RM_TOKEN_WRONG_TYPE, access);
    assert_token_error(rm_token_revoke(ctx, access), RM_TOKEN_WRONG_TYPE, access);
    char *other = mint_std("id", T0 + 300, T0, alice_id, KEY);
    assert_token_error(authenticate(other), RM_TOKEN_WRONG_TYPE, other);
    free(other);
    rm_token_pair_free(pair);
}

Test(token, malformed)
{
    const char *shapes[] = {"", "abc", "a.b", "a.b.c.d", "....", "eyJhbGciOiJIUzI1NiJ9..x", "!!!.???.###",
                            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0 .x"};
    for (size_t i = 0; i < sizeof(shapes) / sizeof(*shapes); i++)
        assert_token_error(authenticate(shapes[i]), RM_TOKEN_MALFORMED, shapes[i]);

    const char *payloads[] = {
        "not json",
        "[1,2]",
        "{\"token_type\":\"access\",\"iat\":1700000000,\"jti\":\"j\",\"user_id\":1}",                    /* no exp */
        "{\"token_type\":\"access\",\"exp\":\"1700000300\",\"iat\":1700000000,\"jti\":\"j\",\"user_id\":1}", /* exp string */
        "{\"token_type\":\"access\",\"exp\":1700000300.5,\"iat\":1700000000,\"jti\":\"j\",\"user_id\":1}", /* exp real */
        "{\"token_type\":\"access\",\"exp\":1700000300,\"jti\":\"j\",\"user_id\":1}",                    /* no iat */
        "{\"token_type\":\"access\",\"exp\":1700000300,\"iat\":1700000000,\"user_id\":1}",               /* no jti */
        "{\"token_type\":\"access\",\"exp\":1700000300,\"iat\":1700000000,\"jti\":\"\",\"user_id\":1}",  /* empty jti */
        "{\"token_type\":\"access\",\"exp\":1700000300,\"iat\":1700000000,\"jti\":\"j\"}",               /* no user_id */
        "{\"token_type\":\"access\",\"exp\":1700000300,\"iat\":1700000000,\"jti\":\"j\",\"user_id\":\"1\"}",
        "{\"token_type\":\"access\",\"exp\":1700000300,\"iat\":1700000000,\"jti\":\"j\",\"user_id\":1.0}",
        "{\"token_type\":\"access\",\"exp\":1700000300,\"iat\":1700000000,\"jti\":\"j\",\"user_id\":null}",
        "{\"token_type\":\"access\",\"exp\":1700000300,\"iat\":1700000000,\"jti\":\"j\",\"user_id\":true}",
        "{\"exp\":1700000300,\"iat\":1700000000,\"jti\":\"j\",\"user_id\":1}", /* no token_type */
        "{\"token_type\":1,\"exp\":1700000300,\"iat\":1700000000,\"jti\":\"j\",\"user_id\":1}",
        "{\"token_type\":\"access\",\"exp\":1700000300,\"exp\":1800000000,\"iat\":1700000000,\"jti\":\"j\",\"user_id\":1}",
    };
    for (size_t i = 0; i < sizeof(payloads) / sizeof(*payloads); i++) {
        char *t = mint(HS256, payloads[i], KEY);
        assert_token_error(authenticate(t), RM_TOKEN_MALFORMED, t);
        free(t);
    }
    /* Header problems other than the algorithm. */
    char *t = mint("not json", "{}", KEY);
    assert_token_error(authenticate(t), RM_TOKEN_MALFORMED, t);
    free(t);
    t = mint("{\"alg\":\"HS256\",\"typ\":\"JWE\"}", "{\"token_type\":\"access\"}", KEY);
    assert_token_error(authenticate(t), RM_TOKEN_MALFORMED, t);
    free(t);
}

Test(token, bad_signature)
{
    rm_token_pair *pair = obtain();
    char *t = strdup(rm_token_pair_access(pair));
    size_t n = strlen(t);
    t[n - 2] = t[n - 2] == 'A' ? 'B' : 'A'; /* tampered signature */
    assert_token_error(authenticate(t), RM_TOKEN_BAD_SIGNATURE, t);
    free(t);

    /* Tampered payload (another user id) with the original signature. */
    char *orig = strdup(rm_token_pair_access(pair));
    char *sig = strrchr(orig, '.');
    char *forged_body = mint_std("access", T0 + 300, T0, alice_id + 1, "not the key");
    char *forged_sig = strrchr(forged_body, '.');
    strcpy(forged_sig, sig);
    assert_token_error(authenticate(forged_body), RM_TOKEN_BAD_SIGNATURE, forged_body);
    free(orig);
    free(forged_body);

    /* Wrong key; missing signature. */
    t = mint_std("access", T0 + 300, T0, alice_id, "some other key");
    assert_token_error(authenticate(t), RM_TOKEN_BAD_SIGNATURE, t);
    free(t);
    t = mint_std("access", T0 + 300, T0, alice_id, NULL);
    assert_token_error(authenticate(t), RM_TOKEN_BAD_SIGNATURE, t);
    free(t);
    rm_token_pair_free(pair);
}

Test(token, rejects_every_algorithm_but_hs256)
{
    const char *payload_fmt = "{\"token_type\":\"access\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"abc\",\"user_id\":%lld}";
    char payload[200];
    snprintf(payload, sizeof(payload), payload_fmt, T0 + 300, T0, (long long)alice_id);
    const char *headers[] = {"{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"alg\":\"None\"}", "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
                             "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", "{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
                             "{\"alg\":\"HS384\"}", "{\"alg\":\"hs256\"}", "{\"alg\":\"HS256 \"}", "{\"typ\":\"JWT\"}",
                             "{\"alg\":null}", "{\"alg\":[\"HS256\"]}"};
    for (size_t i = 0; i < sizeof(headers) / sizeof(*headers); i++) {
        /* Signed with the real key, and unsigned: either way the algorithm decides first. */
        char *t = mint(headers[i], payload, KEY);
        assert_token_error(authenticate(t), RM_TOKEN_BAD_ALGORITHM, t);
        free(t);
        t = mint(headers[i], payload, NULL);
        assert_token_error(authenticate(t), RM_TOKEN_BAD_ALGORITHM, t);
        free(t);
    }

    /* libjwt-made "none" tokens. */
    jwt_t *jwt = NULL;
    jwt_new(&jwt);
    jwt_add_grant(jwt, "token_type", "access");
    jwt_add_grant_int(jwt, "exp", T0 + 300);
    jwt_add_grant_int(jwt, "iat", T0);
    jwt_add_grant(jwt, "jti", "abc");
    jwt_add_grant_int(jwt, "user_id", alice_id);
    char *none = jwt_encode_str(jwt);
    assert_token_error(authenticate(none), RM_TOKEN_BAD_ALGORITHM, none);
    free(none);
    jwt_free(jwt);
}

Test(token, key_confusion_with_a_public_key_secret)
{
    /* The classic attack: the server's secret looks like a public key and the attacker signs an RS256 or
     * ES256 token with HMAC over that text. */
    rm_ctx *pem = make_ctx(NULL, PEM_PUBLIC_KEY, NULL, 0, 0, 0);
    int64_t id = add_user(pem, "carol", NULL, 0);
    char payload[200];
    snprintf(payload, sizeof(payload), "{\"token_type\":\"access\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"abc\",\"user_id\":%lld}",
             T0 + 300, T0, (long long)id);
    const char *headers[] = {"{\"alg\":\"RS256\",\"typ\":\"JWT\"}", "{\"alg\":\"ES256\",\"typ\":\"JWT\"}",
                             "{\"alg\":\"PS256\",\"typ\":\"JWT\"}"};
    rm_principal *p = NULL;
    for (size_t i = 0; i < 3; i++) {
        char *t = mint(headers[i], payload, PEM_PUBLIC_KEY);
        cr_assert_eq(rm_token_authenticate(&p, pem, t), RM_ETOKEN);
        cr_assert_eq(rm_error_reason(rm_error_last()), RM_TOKEN_BAD_ALGORITHM);
        cr_assert_null(strstr(rm_error_message(rm_error_last()), "PUBLIC KEY"));
        free(t);
    }
    /* The same secret does work for HS256. */
    char *t = mint(HS256, payload, PEM_PUBLIC_KEY);
    cr_assert_eq(rm_token_authenticate(&p, pem, t), RM_OK);
    rm_principal_free(p);
    free(t);
    rm_ctx_free(pem);
}

Test(token, size_limit)
{
    /* A correctly signed token over 8 KiB is refused for its size, before anything else. */
    char payload[8192];
    int len = snprintf(payload, sizeof(payload),
                       "{\"token_type\":\"access\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"abc\",\"user_id\":%lld,\"x\":\"",
                       T0 + 300, T0, (long long)alice_id);
    memset(payload + len, 'x', 7000);
    strcpy(payload + len + 7000, "\"}");
    char *t = mint(HS256, payload, KEY);
    cr_assert_gt(strlen(t), RM_TOKEN_MAX_LENGTH);
    assert_token_error(authenticate(t), RM_TOKEN_TOO_LARGE, t);
    free(t);
    char *big = malloc(RM_TOKEN_MAX_LENGTH + 2);
    memset(big, 'a', RM_TOKEN_MAX_LENGTH + 1);
    big[RM_TOKEN_MAX_LENGTH + 1] = '\0';
    assert_token_error(authenticate(big), RM_TOKEN_TOO_LARGE, big);
    free(big);
}

Test(token, exactly_max_length_is_accepted)
{
    /* Pad an extra claim until the whole token is exactly 8192 bytes: accepted; one byte more is too large. */
    char payload[8192];
    rm_principal *p = NULL;
    int found = 0;
    for (size_t pad = 5900; pad < 6200 && !found; pad++) {
        int len = snprintf(payload, sizeof(payload),
                           "{\"token_type\":\"access\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"abc\",\"user_id\":%lld,\"x\":\"",
                           T0 + 300, T0, (long long)alice_id);
        memset(payload + len, 'x', pad);
        strcpy(payload + len + pad, "\"}");
        char *t = mint(HS256, payload, KEY);
        size_t n = strlen(t);
        if (n == RM_TOKEN_MAX_LENGTH) {
            found = 1;
            cr_assert_eq(rm_token_authenticate(&p, ctx, t), RM_OK, "%s", rm_error_message(rm_error_last()));
            rm_principal_free(p);
            char *more = malloc(n + 2);
            memcpy(more, t, n);
            more[n] = 'A';
            more[n + 1] = '\0';
            assert_token_error(authenticate(more), RM_TOKEN_TOO_LARGE, more);
            free(more);
        }
        free(t);
    }
    cr_assert(found, "could not build an 8192-byte token");
}

Test(token, user_not_found_and_inactive)
{
    char *t = mint_std("access", T0 + 300, T0, alice_id + 1000, KEY);
    assert_token_error(authenticate(t), RM_TOKEN_USER_NOT_FOUND, t);
    free(t);
    t = mint_std("access", T0 + 300, T0, 0, KEY);
    assert_token_error(authenticate(t), RM_TOKEN_USER_NOT_FOUND, t);
    free(t);
    t = mint_std("access", T0 + 300, T0, -5, KEY);
    assert_token_error(authenticate(t), RM_TOKEN_USER_NOT_FOUND, t);
    free(t);

    int64_t sleepy = add_user(ctx, "sleepy", NULL, RM_USER_INACTIVE);
    t = mint_std("access", T0 + 300, T0, sleepy, KEY);
    rm_principal *p = NULL;
    assert_token_error(rm_token_authenticate(&p, ctx, t), RM_TOKEN_USER_INACTIVE, t);
    cr_assert_null(p);
    free(t);
    t = mint_std("refresh", T0 + 300, T0, sleepy, KEY);
    assert_token_error(refresh(NULL, t), RM_TOKEN_USER_INACTIVE, t);
    free(t);
}

/* ---- revocation by password change and deactivation ---- */

Test(token, password_change_revokes_earlier_tokens)
{
    rm_token_pair *pair = obtain();
    clk.now_us += 5 * US;
    cr_assert_eq(rm_user_set_password(ctx, alice_id, "a brand new passphrase"), RM_OK);
    assert_token_error(authenticate(rm_token_pair_access(pair)), RM_TOKEN_REVOKED, NULL);
    assert_token_error(refresh(NULL, rm_token_pair_refresh(pair)), RM_TOKEN_REVOKED, NULL);
    rm_token_pair_free(pair);

    clk.now_us += 2 * US;
    rm_token_pair *fresh = NULL;
    cr_assert_eq(rm_token_login(&fresh, ctx, "alice", "a brand new passphrase"), RM_OK);
    cr_assert_eq(authenticate(rm_token_pair_access(fresh)), RM_OK);
    cr_assert_eq(refresh(NULL, rm_token_pair_refresh(fresh)), RM_OK);
    rm_token_pair_free(fresh);
}

Test(token, same_second_as_the_change)
{
    /* Issued at T0.25, password changed at T0.50: the old token is refused although iat == T0. */
    rm_token_pair *before = obtain();
    clk.now_us = T0 * US + 500000;
    cr_assert_eq(rm_user_set_password(ctx, alice_id, "a brand new passphrase"), RM_OK);
    assert_token_error(authenticate(rm_token_pair_access(before)), RM_TOKEN_REVOKED, NULL);

    /* Issued at T0.75, after the change: iat is T0 + 1, and it works at once and later. */
    clk.now_us = T0 * US + 750000;
    rm_token_pair *after = obtain();
    json_t *a = claims_of(rm_token_pair_access(after)), *r = claims_of(rm_token_pair_refresh(after));
    cr_assert_eq(claim(r, "iat"), T0 + 1);
    cr_assert_eq(claim(a, "iat"), T0 + 1);
    cr_assert_eq(claim(a, "exp"), T0 + 300);
    json_decref(a);
    json_decref(r);
    cr_assert_eq(authenticate(rm_token_pair_access(after)), RM_OK);
    clk.now_us = (T0 + 1) * US;
    cr_assert_eq(authenticate(rm_token_pair_access(after)), RM_OK);
    rm_token_pair_free(before);
    rm_token_pair_free(after);
}

Test(token, deactivation_revokes)
{
    rm_token_pair *pair = obtain();
    clk.now_us += US;
    cr_assert_eq(rm_user_deactivate(ctx, alice_id), RM_OK);
    assert_token_error(authenticate(rm_token_pair_access(pair)), RM_TOKEN_REVOKED, NULL);
    assert_token_error(refresh(NULL, rm_token_pair_refresh(pair)), RM_TOKEN_REVOKED, NULL);
    /* A token minted after the deactivation (it cannot be obtained, but could be forged with the key). */
    clk.now_us += US;
    char *t = mint_std("access", T0 + 300, clk.now_us / US, alice_id, KEY);
    assert_token_error(authenticate(t), RM_TOKEN_USER_INACTIVE, t);
    free(t);
    rm_token_pair_free(pair);
}

/* ---- refresh, rotation, revocation ---- */

Test(token, refresh_without_rotation)
{
    rm_token_pair *pair = obtain();
    clk.now_us += 100 * US;
    rm_token_pair *next = NULL;
    cr_assert_eq(refresh(&next, rm_token_pair_refresh(pair)), RM_OK);
    cr_assert_null(rm_token_pair_refresh(next));
    const char *access = rm_token_pair_access(next);
    json_t *a = claims_of(access), *old = claims_of(rm_token_pair_access(pair));
    assert_claim_order(a, "token_type,exp,iat,jti,user_id");
    cr_assert_str_eq(json_string_value(json_object_get(a, "token_type")), "access");
    cr_assert_eq(claim(a, "exp"), T0 + 100 + 300);
    cr_assert_eq(claim(a, "iat"), T0); /* simplejwt copies the refresh token's iat */
    cr_assert_eq(claim(a, "user_id"), alice_id);
    assert_jti(a);
    cr_assert_str_neq(json_string_value(json_object_get(a, "jti")), json_string_value(json_object_get(old, "jti")));
    cr_assert_eq(authenticate(access), RM_OK);
    json_decref(a);
    json_decref(old);
    /* Without rotation the refresh token stays usable. */
    cr_assert_eq(refresh(NULL, rm_token_pair_refresh(pair)), RM_OK);
    rm_token_pair_free(next);
    rm_token_pair_free(pair);
}

Test(token, refresh_copies_extra_claims)
{
    char payload[256];
    snprintf(payload, sizeof(payload),
             "{\"token_type\":\"refresh\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"0123456789abcdef0123456789abcdef\","
             "\"user_id\":%lld,\"role\":\"admin\"}",
             T0 + 86400, T0, (long long)alice_id);
    char *t = mint(HS256, payload, KEY);
    rm_token_pair *next = NULL;
    cr_assert_eq(refresh(&next, t), RM_OK);
    json_t *a = claims_of(rm_token_pair_access(next));
    assert_claim_order(a, "token_type,exp,iat,jti,user_id,role");
    cr_assert_str_eq(json_string_value(json_object_get(a, "role")), "admin");
    json_decref(a);
    rm_token_pair_free(next);
    free(t);
}

Test(token, refresh_with_rotation, .init = setup_rotate, .fini = teardown)
{
    rm_token_pair *pair = obtain();
    clk.now_us += 60 * US;
    rm_token_pair *next = NULL;
    cr_assert_eq(refresh(&next, rm_token_pair_refresh(pair)), RM_OK);
    const char *rotated = rm_token_pair_refresh(next);
    cr_assert_not_null(rotated);
    json_t *r = claims_of(rotated), *old = claims_of(rm_token_pair_refresh(pair));
    assert_claim_order(r, "token_type,exp,iat,jti,user_id");
    cr_assert_str_eq(json_string_value(json_object_get(r, "token_type")), "refresh");
    cr_assert_eq(claim(r, "exp"), T0 + 60 + 86400);
    cr_assert_eq(claim(r, "iat"), T0 + 60);
    cr_assert_eq(claim(r, "user_id"), alice_id);
    assert_jti(r);
    cr_assert_str_neq(json_string_value(json_object_get(r, "jti")), json_string_value(json_object_get(old, "jti")));
    json_decref(r);
    json_decref(old);

    /* The old refresh token is denylisted; the new one works. */
    assert_token_error(refresh(NULL, rm_token_pair_refresh(pair)), RM_TOKEN_REVOKED, NULL);
    cr_assert_eq(authenticate(rm_token_pair_access(next)), RM_OK);
    rm_token_pair *third = NULL;
    cr_assert_eq(refresh(&third, rotated), RM_OK);
    cr_assert_not_null(rm_token_pair_refresh(third));
    rm_token_pair_free(third);
    rm_token_pair_free(next);
    rm_token_pair_free(pair);
}

Test(token, revoke_is_logout)
{
    rm_token_pair *pair = obtain();
    const char *refresh_t = rm_token_pair_refresh(pair);
    cr_assert_eq(rm_token_revoke(ctx, refresh_t), RM_OK);
    assert_token_error(refresh(NULL, refresh_t), RM_TOKEN_REVOKED, refresh_t);
    assert_token_error(rm_token_revoke(ctx, refresh_t), RM_TOKEN_REVOKED, refresh_t);
    /* As in simplejwt, access tokens are not denylisted: they expire on their own. */
    cr_assert_eq(authenticate(rm_token_pair_access(pair)), RM_OK);
    /* Bad tokens are refused by revoke with their reason. */
    char *t = mint_std("refresh", T0 + 300, T0, alice_id, "wrong key");
    assert_token_error(rm_token_revoke(ctx, t), RM_TOKEN_BAD_SIGNATURE, t);
    free(t);
    rm_token_pair_free(pair);
}

Test(token, revocation_is_shared_through_storage)
{
    /* Two ctxs on one SQLite file stand for two processes sharing a database. */
    char *path = rm_test_path(".sqlite3");
    rm_ctx *a = make_ctx(path, KEY, NULL, 0, 0, 0);
    rm_ctx *b = make_ctx(path, KEY, NULL, 0, 0, 0);
    int64_t id = add_user(a, "dave", NULL, 0);
    rm_user *u = NULL;
    rm_principal *p = NULL;
    rm_token_pair *pair = NULL, *next = NULL;
    cr_assert_eq(rm_user_get(&u, a, id), RM_OK);
    cr_assert_eq(rm_principal_for_user(&p, u), RM_OK);
    cr_assert_eq(rm_token_obtain(&pair, a, p), RM_OK);
    cr_assert_eq(rm_token_refresh(&next, b, rm_token_pair_refresh(pair)), RM_OK);
    rm_token_pair_free(next);
    next = NULL;
    cr_assert_eq(rm_token_revoke(a, rm_token_pair_refresh(pair)), RM_OK);
    cr_assert_eq(rm_token_refresh(&next, b, rm_token_pair_refresh(pair)), RM_ETOKEN);
    cr_assert_eq(rm_error_reason(rm_error_last()), RM_TOKEN_REVOKED);
    rm_token_pair_free(pair);
    rm_principal_free(p);
    rm_user_free(u);
    rm_ctx_free(a);
    rm_ctx_free(b);
    free(path);
}

Test(token, prune_removes_expired_entries)
{
    rm_token_pair *pair = obtain();
    cr_assert_eq(rm_token_revoke(ctx, rm_token_pair_refresh(pair)), RM_OK);
    int64_t removed = -1;
    clk.now_us = (T0 + 86400) * US - 1;
    cr_assert_eq(rm_token_prune(ctx, &removed), RM_OK);
    cr_assert_eq(removed, 0);
    clk.now_us = (T0 + 86400) * US;
    cr_assert_eq(rm_token_prune(ctx, &removed), RM_OK);
    cr_assert_eq(removed, 1);
    cr_assert_eq(rm_token_prune(ctx, NULL), RM_OK);
    rm_token_pair_free(pair);
}

Test(token, prune_keeps_entries_within_the_leeway, .init = setup_leeway, .fini = teardown)
{
    rm_token_pair *pair = obtain();
    const char *refresh_t = rm_token_pair_refresh(pair);
    cr_assert_eq(rm_token_revoke(ctx, refresh_t), RM_OK);
    int64_t removed = -1;
    /* Past exp but within the leeway the token would still pass the exp check: keep its entry. */
    clk.now_us = (T0 + 86400 + 10) * US - 1;
    cr_assert_eq(rm_token_prune(ctx, &removed), RM_OK);
    cr_assert_eq(removed, 0);
    assert_token_error(refresh(NULL, refresh_t), RM_TOKEN_REVOKED, refresh_t);
    clk.now_us = (T0 + 86400 + 10) * US;
    cr_assert_eq(rm_token_prune(ctx, &removed), RM_OK);
    cr_assert_eq(removed, 1);
    assert_token_error(refresh(NULL, refresh_t), RM_TOKEN_EXPIRED, refresh_t);
    rm_token_pair_free(pair);
}

/* ---- key rotation ---- */

Test(token, previous_keys_verify_current_key_signs)
{
    char *old = mint_std("access", T0 + 300, T0, alice_id, OLD_KEY);
    assert_token_error(authenticate(old), RM_TOKEN_BAD_SIGNATURE, old);

    const char *previous[] = {"unrelated-older-key-xxxxxxxxxxxxxxxx", OLD_KEY};
    rm_ctx *rotated = make_ctx(NULL, KEY, previous, 2, 0, 0);
    int64_t id = add_user(rotated, "alice", NULL, 0);
    cr_assert_eq(id, alice_id);
    rm_principal *p = NULL;
    cr_assert_eq(rm_token_authenticate(&p, rotated, old), RM_OK, "%s", rm_error_message(rm_error_last()));
    cr_assert_eq(rm_principal_user_id(p), id);
    rm_principal_free(p);

    /* New tokens are signed with the current key only. */
    rm_user *u = NULL;
    rm_principal *who = NULL;
    rm_token_pair *pair = NULL;
    cr_assert_eq(rm_user_get(&u, rotated, id), RM_OK);
    cr_assert_eq(rm_principal_for_user(&who, u), RM_OK);
    cr_assert_eq(rm_token_obtain(&pair, rotated, who), RM_OK);
    jwt_t *jwt = NULL;
    cr_assert_eq(jwt_decode(&jwt, rm_token_pair_access(pair), (const unsigned char *)KEY, (int)strlen(KEY)), 0);
    jwt_free(jwt);
    jwt = NULL;
    cr_assert_neq(jwt_decode(&jwt, rm_token_pair_access(pair), (const unsigned char *)OLD_KEY, (int)strlen(OLD_KEY)), 0);
    jwt_free(jwt);

    /* A refresh token signed with the old key refreshes into tokens signed with the new one. */
    char *old_refresh = mint_std("refresh", T0 + 86400, T0, id, OLD_KEY);
    rm_token_pair *next = NULL;
    cr_assert_eq(rm_token_refresh(&next, rotated, old_refresh), RM_OK);
    jwt = NULL;
    cr_assert_eq(jwt_decode(&jwt, rm_token_pair_access(next), (const unsigned char *)KEY, (int)strlen(KEY)), 0);
    jwt_free(jwt);

    /* Once the old key is dropped from the list, its tokens stop working. */
    rm_ctx *dropped = make_ctx(NULL, KEY, previous, 1, 0, 0);
    add_user(dropped, "alice", NULL, 0);
    cr_assert_eq(rm_token_authenticate(&p, dropped, old), RM_ETOKEN);
    cr_assert_eq(rm_error_reason(rm_error_last()), RM_TOKEN_BAD_SIGNATURE);

    free(old_refresh);
    rm_token_pair_free(next);
    rm_token_pair_free(pair);
    rm_principal_free(who);
    rm_user_free(u);
    rm_ctx_free(rotated);
    rm_ctx_free(dropped);
    free(old);
}

/* ---- the verified-token cache: a token accepted once is checked again on every later use ---- */

Test(token, remembered_token_is_still_checked_for_time_and_user)
{
    rm_token_pair *pair = obtain();
    const char *access = rm_token_pair_access(pair);
    cr_assert_eq(authenticate(access), RM_OK);
    cr_assert_eq(authenticate(access), RM_OK); /* the remembered path */

    /* One byte changed anywhere is another token: decoded in full and refused. */
    char *forged = strdup(access);
    size_t n = strlen(forged);
    forged[n - 2] = forged[n - 2] == 'A' ? 'B' : 'A';
    assert_token_error(authenticate(forged), RM_TOKEN_BAD_SIGNATURE, forged);
    cr_assert_eq(authenticate(access), RM_OK);
    free(forged);

    /* Another ctx on another key does not share what this one verified. */
    rm_ctx *other = make_ctx(NULL, "another-key-of-at-least-32-bytes-xxxxx", NULL, 0, 0, 0);
    add_user(other, "alice", NULL, 0);
    rm_principal *p = NULL;
    assert_token_error(rm_token_authenticate(&p, other, access), RM_TOKEN_BAD_SIGNATURE, access);
    cr_assert_null(p);
    rm_ctx_free(other);

    /* Deactivation after the token was remembered revokes it. */
    clk.now_us += US;
    cr_assert_eq(rm_user_deactivate(ctx, alice_id), RM_OK);
    assert_token_error(authenticate(access), RM_TOKEN_REVOKED, NULL);
    rm_token_pair_free(pair);
}

Test(token, remembered_token_expires_and_revokes_on_password_change)
{
    rm_token_pair *pair = obtain();
    const char *access = rm_token_pair_access(pair);
    cr_assert_eq(authenticate(access), RM_OK);
    clk.now_us += 5 * US;
    cr_assert_eq(authenticate(access), RM_OK);
    cr_assert_eq(rm_user_set_password(ctx, alice_id, "a brand new passphrase"), RM_OK);
    assert_token_error(authenticate(access), RM_TOKEN_REVOKED, NULL);
    rm_token_pair_free(pair);

    clk.now_us += 2 * US;
    rm_token_pair *fresh = NULL;
    cr_assert_eq(rm_token_login(&fresh, ctx, "alice", "a brand new passphrase"), RM_OK);
    access = rm_token_pair_access(fresh);
    cr_assert_eq(authenticate(access), RM_OK);
    clk.now_us = (T0 + 7 + 300) * US; /* exp of a token issued at T0 + 7 */
    assert_token_error(authenticate(access), RM_TOKEN_EXPIRED, access);
    rm_token_pair_free(fresh);
}

/* More distinct tokens than the cache has slots: every one still verifies (evicted ones decode again),
 * and a refused token is never remembered as good. */
Test(token, many_tokens_and_refused_ones)
{
    enum { N = 3000 };
    char **t = calloc(N, sizeof(*t));
    for (int i = 0; i < N; i++)
        t[i] = mint_std("access", T0 + 300 + i, T0, alice_id, KEY);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < N; i++)
            cr_assert_eq(authenticate(t[i]), RM_OK, "token %d, round %d", i, round);
    char *wrong_key = mint_std("access", T0 + 300, T0, alice_id, OLD_KEY);
    char *refresh_t = mint_std("refresh", T0 + 300, T0, alice_id, KEY);
    for (int round = 0; round < 2; round++) {
        assert_token_error(authenticate(wrong_key), RM_TOKEN_BAD_SIGNATURE, wrong_key);
        assert_token_error(authenticate(refresh_t), RM_TOKEN_WRONG_TYPE, refresh_t);
    }
    free(wrong_key);
    free(refresh_t);
    for (int i = 0; i < N; i++)
        free(t[i]);
    free(t);
}

/* Keys of one SHA-256 block (64 bytes) and longer (hashed first, RFC 2104) verify what HMAC() signed. */
Test(token, keys_of_a_block_and_longer)
{
    const char *keys[] = {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                          "a-secret-key-longer-than-one-sha256-block-0123456789-0123456789-0123456789-0123456789"};
    cr_assert_eq(strlen(keys[0]), 64);
    cr_assert_gt(strlen(keys[1]), 64);
    for (size_t k = 0; k < 2; k++) {
        rm_ctx *c = make_ctx(NULL, keys[k], NULL, 0, 0, 0);
        int64_t id = add_user(c, "alice", NULL, 0);
        char *good = mint_std("access", T0 + 300, T0, id, keys[k]);
        rm_principal *p = NULL;
        cr_assert_eq(rm_token_authenticate(&p, c, good), RM_OK, "%s", rm_error_message(rm_error_last()));
        cr_assert_eq(rm_principal_user_id(p), id);
        rm_principal_free(p);
        p = NULL;
        /* The same key one byte shorter (the long key: still over a block) is another key. */
        char *shorter = strndup(keys[k], strlen(keys[k]) - 1);
        char *bad = mint_std("access", T0 + 300, T0, id, shorter);
        cr_assert_eq(rm_token_authenticate(&p, c, bad), RM_ETOKEN);
        cr_assert_eq(rm_error_reason(rm_error_last()), RM_TOKEN_BAD_SIGNATURE);
        cr_assert_null(p);
        free(bad);
        free(shorter);
        free(good);
        rm_ctx_free(c);
    }
}
