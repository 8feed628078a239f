/* JWT access and refresh tokens in djangorestframework-simplejwt's format (see include/resumate/token.h).
 *
 * Signing: libjwt 1.10 always serialises the claims with sorted keys, but simplejwt (PyJWT) writes them in
 * insertion order (token_type, exp, iat, jti, user_id). To produce byte-for-byte the layout simplejwt
 * produces, the payload is serialised with jansson (which keeps insertion order) and signed with OpenSSL's
 * HMAC-SHA256; the header is PyJWT's, a constant. Verification goes through libjwt (jwt_decode with each
 * key), after we have checked `alg` ourselves: libjwt 1.10 skips verification when given no key and follows
 * the token's own `alg`, so it must never see a token whose alg is not HS256.
 *
 * The verified-token cache: rm_token_authenticate() runs on every request that carries an access token,
 * and decoding one (base64url, four JSON parses, HMAC-SHA256) costs about 10 us. So a ctx remembers the
 * access tokens it has verified: 1024 slots, each the exact bytes of one token with its user_id, exp
 * and iat. A token equal byte for byte (compared in constant time) to a remembered one has the same
 * signature and claims, and the keys of a ctx never change, so only what can change is checked again:
 * the times (against the clock now) and the user (exists, active, not revoked). Tokens that fail are
 * never remembered. The slot is chosen by a hash seeded at random per ctx, so a client cannot aim its
 * tokens at another's slot; an evicted token only costs one full decode. Entries are wiped when freed.
 */
#include "../core/internal.h"
#include "../storage/internal.h"

#include <jansson.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define US 1000000
#define JTI_MAX 255

/* base64url of {"alg":"HS256","typ":"JWT"}: PyJWT's header (sorted keys, compact). */
static const char HEADER_B64[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

struct rm_token_pair {
    char *access;
    char *refresh;
};

/* A verified token. */
typedef struct tok {
    json_t *claims; /* the payload, owned */
    const char *type;
    const char *jti;
    int64_t exp, iat, user_id;
} tok;

/* What the user check found. */
typedef struct user_probe {
    bool want_principal;
    bool cache_ok; /* an access token check: the storage may answer from its user cache */
    bool found;
    bool is_active;
    int64_t valid_after;
    rm_principal *principal;
    int rc;
} user_probe;

#define TOKEN_SLOTS 1024

typedef struct token_slot {
    pthread_mutex_t mu;
    char *token; /* NULL or a verified access token (len bytes, NUL-terminated) */
    size_t len;
    int64_t user_id, exp, iat;
} token_slot;

struct rm__token_cache {
    uint64_t seed;
    token_slot slots[TOKEN_SLOTS];
};

/* ---- small helpers ---- */

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t sat_us(int64_t seconds)
{
    int64_t r;
    if (__builtin_mul_overflow(seconds, (int64_t)US, &r))
        return seconds > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t floor_s(int64_t us) { return us >= 0 ? us / US : -((-(us + 1)) / US) - 1; }
static int64_t ceil_s(int64_t us) { return -floor_s(-us); }
static int64_t leeway_s(const rm_ctx *ctx) { return ctx->leeway_s > 0 ? ctx->leeway_s : 0; }

static int tok_err(int reason, const char *message) { return rm__error_set_reason(RM_ETOKEN, reason, "%s", message); }

static int check_ctx(rm_ctx *ctx)
{
    if (!ctx)
        return rm__error_misuse("ctx");
    if (!ctx->secret_key || !ctx->secret_key[0])
        return rm__error_set(RM_EMISUSE, "the ctx has no secret_key; token calls need one");
    if (!ctx->storage)
        return rm__error_set(RM_EMISUSE, "the ctx has no storage");
    return RM_OK;
}

static void wipe_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

/* ---- base64url (OpenSSL's codec, with the URL alphabet and no padding) ---- */

static char *b64url_encode(const unsigned char *in, size_t n)
{
    char *out = rm__malloc(4 * ((n + 2) / 3) + 1);
    if (!out)
        return NULL;
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (int i = 0; i < len; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return out;
}

static bool b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Decode n characters of unpadded base64url into out (capacity 3 * (n + 3) / 4 + 1, NUL-terminated).
 * Returns the decoded length, or -1 if the text is not base64url. */
static long b64url_decode(unsigned char *out, const char *s, size_t n, char *scratch)
{
    if (n % 4 == 1)
        return -1;
    size_t i;
    for (i = 0; i < n; i++) {
        if (!b64url_char(s[i]))
            return -1;
        scratch[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    }
    size_t pad = (4 - n % 4) % 4;
    for (size_t k = 0; k < pad; k++)
        scratch[i++] = '=';
    if (i == 0) {
        out[0] = '\0';
        return 0;
    }
    int len = EVP_DecodeBlock(out, (const unsigned char *)scratch, (int)i);
    if (len < 0)
        return -1;
    len -= (int)pad;
    out[len] = '\0';
    return len;
}

/* Decode a segment into a JSON object. NULL if it is not one. */
static json_t *segment_json(const char *s, size_t n)
{
    /* Tokens are at most RM_TOKEN_MAX_LENGTH bytes, so segments fit on the stack. */
    char scratch[RM_TOKEN_MAX_LENGTH + 4];
    unsigned char raw[RM_TOKEN_MAX_LENGTH + 4];
    long len = b64url_decode(raw, s, n, scratch);
    if (len <= 0)
        return NULL;
    json_t *j = json_loadb((const char *)raw, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* ---- the verified-token cache (see the top of the file) ---- */

int rm__token_cache_init(rm_ctx *ctx)
{
    struct rm__token_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return rm__error_nomem();
    if (RAND_bytes((unsigned char *)&c->seed, sizeof(c->seed)) != 1) {
        free(c);
        return rm__error_set(RM_ERROR, "the system random generator failed");
    }
    for (size_t i = 0; i < TOKEN_SLOTS; i++)
        pthread_mutex_init(&c->slots[i].mu, NULL);
    ctx->tokens = c;
    return RM_OK;
}

static void wipe_token(char *token, size_t len)
{
    if (token) {
        OPENSSL_cleanse(token, len);
        free(token);
    }
}

void rm__token_cache_free(rm_ctx *ctx)
{
    struct rm__token_cache *c = ctx->tokens;
    if (!c)
        return;
    for (size_t i = 0; i < TOKEN_SLOTS; i++) {
        wipe_token(c->slots[i].token, c->slots[i].len);
        pthread_mutex_destroy(&c->slots[i].mu);
    }
    free(c);
    ctx->tokens = NULL;
}

static token_slot *token_slot_of(struct rm__token_cache *c, const char *token, size_t len)
{
    uint64_t h = c->seed ^ UINT64_C(0xcbf29ce484222325); /* FNV-1a, seeded */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)token[i]) * UINT64_C(0x100000001b3);
    h ^= h >> 29;
    return &c->slots[h % TOKEN_SLOTS];
}

/* Fill t (claims NULL) from the cache if token was verified before. */
static bool token_cached(rm_ctx *ctx, const char *token, size_t len, tok *t)
{
    if (!ctx->tokens)
        return false;
    token_slot *s = token_slot_of(ctx->tokens, token, len);
    bool hit = false;
    pthread_mutex_lock(&s->mu);
    if (s->token && s->len == len && CRYPTO_memcmp(s->token, token, len) == 0) {
        memset(t, 0, sizeof(*t));
        t->type = "access";
        t->user_id = s->user_id;
        t->exp = s->exp;
        t->iat = s->iat;
        hit = true;
    }
    pthread_mutex_unlock(&s->mu);
    return hit;
}

/* Remember a token that has just been verified (best effort: out of memory only skips it). */
static void token_remember(rm_ctx *ctx, const char *token, size_t len, const tok *t)
{
    if (!ctx->tokens)
        return;
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, token, len + 1);
    token_slot *s = token_slot_of(ctx->tokens, token, len);
    pthread_mutex_lock(&s->mu);
    char *old = s->token;
    size_t old_len = s->len;
    s->token = copy;
    s->len = len;
    s->user_id = t->user_id;
    s->exp = t->exp;
    s->iat = t->iat;
    pthread_mutex_unlock(&s->mu);
    wipe_token(old, old_len);
}

/* ---- signing ---- */

static int sign(char **out, const rm_ctx *ctx, const json_t *claims)
{
    char *payload = json_dumps(claims, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!payload)
        return rm__error_nomem();
    char *p64 = b64url_encode((const unsigned char *)payload, strlen(payload));
    free(payload);
    char *input = p64 ? rm__sprintf("%s.%s", HEADER_B64, p64) : NULL;
    free(p64);
    if (!input)
        return rm__error_nomem();

    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    const char *key = ctx->secret_key;
    if (!HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)input, strlen(input), mac, &mac_len)) {
        free(input);
        return rm__error_set(RM_ERROR, "HMAC-SHA256 failed");
    }
    char *s64 = b64url_encode(mac, mac_len);
    *out = s64 ? rm__sprintf("%s.%s", input, s64) : NULL;
    free(input);
    free(s64);
    return *out ? RM_OK : rm__error_nomem();
}

static int new_jti(char out[33])
{
    unsigned char raw[16];
    static const char hex[] = "0123456789abcdef";
    if (rm__random_bytes(raw, sizeof(raw)) != 0)
        return rm__error_set(RM_ERROR, "the random number generator failed");
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[32] = '\0';
    return RM_OK;
}

/* Set the jti, exp and iat of claims (in place: keys already present keep their position). */
static int set_times(json_t *claims, int64_t exp, int64_t iat)
{
    char jti[33];
    int rc = new_jti(jti);
    if (rc != RM_OK)
        return rc;
    if (json_object_set_new(claims, "exp", json_integer(exp)) || json_object_set_new(claims, "iat", json_integer(iat)) ||
        json_object_set_new(claims, "jti", json_string(jti)))
        return rm__error_nomem();
    return RM_OK;
}

/* A fresh token's claims in simplejwt's order: token_type, exp, iat, jti. */
static json_t *claims_new(const char *type, int64_t exp, int64_t iat, int *rc)
{
    json_t *c = json_object();
    if (!c || json_object_set_new(c, "token_type", json_string(type))) {
        json_decref(c);
        *rc = rm__error_nomem();
        return NULL;
    }
    *rc = set_times(c, exp, iat);
    if (*rc != RM_OK) {
        json_decref(c);
        return NULL;
    }
    return c;
}

/* The iat of a token issued now. A whole-second iat in the same second as a password change or
 * deactivation that happened before now would count as "before the change" (see token.h), so such
 * a token gets the next second instead. */
static int64_t issue_iat(int64_t now_us, int64_t valid_after)
{
    int64_t s = floor_s(now_us);
    if (valid_after != RM_NO_TIME && sat_us(s) < valid_after && valid_after <= now_us)
        return s + 1;
    return s;
}

/* simplejwt's RefreshToken.access_token: a new access token (exp from now, new jti) carrying every
 * other claim of the refresh token, its iat included. */
static int access_from_refresh(char **out, const rm_ctx *ctx, const json_t *refresh, int64_t now_us)
{
    int64_t s = floor_s(now_us);
    int rc;
    json_t *c = claims_new("access", sat_add(s, ctx->access_lifetime_s), s, &rc);
    if (!c)
        return rc;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)refresh, key, value)
    {
        if (strcmp(key, "token_type") == 0 || strcmp(key, "exp") == 0 || strcmp(key, "jti") == 0)
            continue;
        if (json_object_set(c, key, value)) {
            json_decref(c);
            return rm__error_nomem();
        }
    }
    rc = sign(out, ctx, c);
    json_decref(c);
    return rc;
}

/* ---- verification ---- */

static int signature_ok(const rm_ctx *ctx, const char *token)
{
    const char *key = ctx->secret_key;
    for (size_t i = 0;; i++) {
        if (key && key[0]) {
            jwt_t *jwt = NULL;
            int r = jwt_decode(&jwt, token, (const unsigned char *)key, (int)strlen(key));
            jwt_free(jwt);
            if (r == 0)
                return 1;
        }
        if (i >= ctx->previous_key_count)
            return 0;
        key = ctx->previous_keys[i];
    }
}

static bool claim_int(const json_t *claims, const char *name, int64_t *out)
{
    json_t *v = json_object_get(claims, name);
    if (!json_is_integer(v))
        return false;
    *out = (int64_t)json_integer_value(v);
    return true;
}

static int read_claims(tok *t)
{
    json_t *type = json_object_get(t->claims, "token_type");
    json_t *jti = json_object_get(t->claims, "jti");
    if (!json_is_string(type))
        return tok_err(RM_TOKEN_MALFORMED, "token has no type");
    if (!claim_int(t->claims, "exp", &t->exp))
        return tok_err(RM_TOKEN_MALFORMED, "token has no integer 'exp' claim");
    if (!claim_int(t->claims, "iat", &t->iat))
        return tok_err(RM_TOKEN_MALFORMED, "token has no integer 'iat' claim");
    if (!json_is_string(jti) || json_string_length(jti) == 0 || json_string_length(jti) > JTI_MAX)
        return tok_err(RM_TOKEN_MALFORMED, "token has no id");
    if (!claim_int(t->claims, "user_id", &t->user_id))
        return tok_err(RM_TOKEN_MALFORMED, "token contained no recognizable user identification");
    t->type = json_string_value(type);
    t->jti = json_string_value(jti);
    return RM_OK;
}

static int check_times(const rm_ctx *ctx, const tok *t, int64_t now_us)
{
    int64_t leeway = leeway_s(ctx);
    if (now_us >= sat_us(sat_add(t->exp, leeway)))
        return tok_err(RM_TOKEN_EXPIRED, "token is expired");
    if (t->iat > sat_add(ceil_s(now_us), leeway))
        return tok_err(RM_TOKEN_NOT_YET_VALID, "token is not yet valid (iat is in the future)");
    return RM_OK;
}

static int check_header(const char *s, size_t n)
{
    json_t *h = segment_json(s, n);
    if (!h)
        return tok_err(RM_TOKEN_MALFORMED, "token header is not a base64url JSON object");
    json_t *alg = json_object_get(h, "alg");
    json_t *typ = json_object_get(h, "typ");
    int rc = RM_OK;
    if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0)
        rc = tok_err(RM_TOKEN_BAD_ALGORITHM, "token algorithm is not HS256");
    else if (typ && (!json_is_string(typ) || strcasecmp(json_string_value(typ), "JWT") != 0))
        rc = tok_err(RM_TOKEN_MALFORMED, "token header has a 'typ' other than JWT");
    json_decref(h);
    return rc;
}

/* Decode and check a token of the wanted type: size, shape, alg, signature, claims, times, type.
 * On RM_OK the caller owns t->claims. */
static int decode(tok *t, const rm_ctx *ctx, const char *token, const char *want_type)
{
    memset(t, 0, sizeof(*t));
    size_t n = strnlen(token, RM_TOKEN_MAX_LENGTH + 1);
    if (n > RM_TOKEN_MAX_LENGTH)
        return tok_err(RM_TOKEN_TOO_LARGE, "token is larger than 8 KiB");
    const char *d1 = memchr(token, '.', n);
    const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - token)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - token)))
        return tok_err(RM_TOKEN_MALFORMED, "token is not a JWT (three dot-separated parts)");

    int rc = check_header(token, (size_t)(d1 - token));
    if (rc != RM_OK)
        return rc;
    t->claims = segment_json(d1 + 1, (size_t)(d2 - d1 - 1));
    if (!t->claims)
        return tok_err(RM_TOKEN_MALFORMED, "token payload is not a base64url JSON object");
    if (!signature_ok(ctx, token))
        rc = tok_err(RM_TOKEN_BAD_SIGNATURE, "token signature is invalid");
    if (rc == RM_OK)
        rc = read_claims(t);
    if (rc == RM_OK)
        rc = check_times(ctx, t, rm_ctx_now((rm_ctx *)ctx));
    if (rc == RM_OK && strcmp(t->type, want_type) != 0)
        rc = tok_err(RM_TOKEN_WRONG_TYPE, "token has wrong type");
    if (rc != RM_OK) {
        json_decref(t->claims);
        t->claims = NULL;
    }
    return rc;
}

static int user_sink(void *data, const rm_user_record *rec)
{
    user_probe *p = data;
    p->found = true;
    p->is_active = rec->is_active != 0;
    p->valid_after = rec->tokens_valid_after;
    if (p->want_principal && !p->principal)
        p->rc = rm__principal_from_record(&p->principal, rec);
    return p->rc;
}

/* A storage member failed: make sure the last error describes it (backends may leave it unset). */
static int storage_failed(int rc)
{
    if (rm_error_code(rm_error_last()) != rc)
        rm__error_set(rc, "storage failed (%s)", rm_status_name(rc));
    return rc;
}

/* Read user id (one storage call). RM_ENOTFOUND is returned without setting an error. */
static int probe_user(user_probe *p, rm_ctx *ctx, int64_t user_id)
{
    if (user_id <= 0)
        return RM_ENOTFOUND;
    int rc = p->cache_ok ? rm__storage_user_get_for_token(ctx->storage, user_id, user_sink, p)
                         : RM__STORE(ctx, user_get, user_id, NULL, user_sink, p);
    if (rc == RM_OK && !p->found)
        rc = RM_ENOTFOUND;
    if (rc != RM_OK) {
        rm_principal_free(p->principal);
        p->principal = NULL;
        if (rc != RM_ENOTFOUND)
            storage_failed(rc);
    }
    return rc;
}

/* The user checks of a verified token: exists, not revoked by a password change or deactivation, active. */
static int check_user(user_probe *p, rm_ctx *ctx, const tok *t)
{
    int rc = probe_user(p, ctx, t->user_id);
    if (rc == RM_ENOTFOUND)
        return tok_err(RM_TOKEN_USER_NOT_FOUND, "user not found");
    if (rc != RM_OK)
        return rc;
    if (p->valid_after != RM_NO_TIME && sat_us(t->iat) < p->valid_after)
        rc = tok_err(RM_TOKEN_REVOKED, "token was revoked by a password change or deactivation");
    else if (!p->is_active)
        rc = tok_err(RM_TOKEN_USER_INACTIVE, "user is inactive");
    if (rc != RM_OK) {
        rm_principal_free(p->principal);
        p->principal = NULL;
    }
    return rc;
}

static int check_not_denied(rm_ctx *ctx, const tok *t)
{
    int denied = 0;
    int rc = RM__STORE(ctx, token_is_denied, t->jti, &denied);
    if (rc != RM_OK)
        return storage_failed(rc);
    return denied ? tok_err(RM_TOKEN_REVOKED, "token is blacklisted") : RM_OK;
}

/* ---- pairs ---- */

static int pair_new(rm_token_pair **out, char *access, char *refresh)
{
    rm_token_pair *p = rm__calloc(1, sizeof(*p));
    if (!p) {
        wipe_free(access);
        wipe_free(refresh);
        return rm__error_nomem();
    }
    p->access = access;
    p->refresh = refresh;
    *out = p;
    return RM_OK;
}

const char *rm_token_pair_access(const rm_token_pair *pair) { return pair ? pair->access : NULL; }
const char *rm_token_pair_refresh(const rm_token_pair *pair) { return pair ? pair->refresh : NULL; }

void rm_token_pair_free(rm_token_pair *pair)
{
    if (!pair)
        return;
    wipe_free(pair->access);
    wipe_free(pair->refresh);
    free(pair);
}

/* ---- public API ---- */

int rm_token_obtain(rm_token_pair **out, rm_ctx *ctx, const rm_principal *who)
{
    if (!out)
        return rm__error_misuse("out");
    *out = NULL;
    int rc = check_ctx(ctx);
    if (rc != RM_OK)
        return rc;
    if (!who)
        return rm__error_misuse("who");
    if (rm_principal_is_anonymous(who))
        return rm__error_set(RM_EPERM, "tokens are only issued to users");

    user_probe p = {0};
    int64_t user_id = rm_principal_user_id(who);
    rc = probe_user(&p, ctx, user_id);
    if (rc == RM_ENOTFOUND)
        return rm__error_set(RM_ENOTFOUND, "the user no longer exists");
    if (rc != RM_OK)
        return rc;
    if (!p.is_active)
        return rm__error_set(RM_EPERM, "the user is inactive");

    int64_t now = rm_ctx_now(ctx);
    json_t *refresh = claims_new("refresh", sat_add(floor_s(now), ctx->refresh_lifetime_s), issue_iat(now, p.valid_after), &rc);
    if (!refresh)
        return rc;
    char *access = NULL, *refresh_s = NULL;
    if (json_object_set_new(refresh, "user_id", json_integer(user_id)))
        rc = rm__error_nomem();
    if (rc == RM_OK)
        rc = sign(&refresh_s, ctx, refresh);
    if (rc == RM_OK)
        rc = access_from_refresh(&access, ctx, refresh, now);
    json_decref(refresh);
    if (rc != RM_OK) {
        wipe_free(refresh_s);
        return rc;
    }
    return pair_new(out, access, refresh_s);
}

int rm_token_login(rm_token_pair **out, rm_ctx *ctx, const char *username, const char *password)
{
    if (!out)
        return rm__error_misuse("out");
    *out = NULL;
    int rc = check_ctx(ctx);
    if (rc != RM_OK)
        return rc;
    rm_principal *who = NULL;
    rc = rm_user_authenticate(&who, ctx, username, password);
    if (rc == RM_OK)
        rc = rm_token_obtain(out, ctx, who);
    rm_principal_free(who);
    return rc;
}

int rm_token_authenticate(rm_principal **out, rm_ctx *ctx, const char *access_token)
{
    if (!out)
        return rm__error_misuse("out");
    *out = NULL;
    int rc = check_ctx(ctx);
    if (rc != RM_OK)
        return rc;
    if (!access_token)
        return rm__error_misuse("access_token");
    tok t;
    size_t len = strnlen(access_token, RM_TOKEN_MAX_LENGTH + 1);
    if (len <= RM_TOKEN_MAX_LENGTH && token_cached(ctx, access_token, len, &t)) {
        rc = check_times(ctx, &t, rm_ctx_now(ctx));
    } else {
        rc = decode(&t, ctx, access_token, "access");
        if (rc == RM_OK)
            token_remember(ctx, access_token, len, &t);
    }
    if (rc != RM_OK)
        return rc;
    user_probe p = {.want_principal = true, .cache_ok = true};
    rc = check_user(&p, ctx, &t);
    json_decref(t.claims);
    if (rc == RM_OK)
        *out = p.principal;
    return rc;
}

int rm_token_refresh(rm_token_pair **out, rm_ctx *ctx, const char *refresh_token)
{
    if (!out)
        return rm__error_misuse("out");
    *out = NULL;
    int rc = check_ctx(ctx);
    if (rc != RM_OK)
        return rc;
    if (!refresh_token)
        return rm__error_misuse("refresh_token");
    tok t;
    rc = decode(&t, ctx, refresh_token, "refresh");
    if (rc != RM_OK)
        return rc;
    user_probe p = {0};
    rc = check_not_denied(ctx, &t);
    if (rc == RM_OK)
        rc = check_user(&p, ctx, &t);

    int64_t now = rm_ctx_now(ctx);
    char *access = NULL, *rotated = NULL;
    if (rc == RM_OK)
        rc = access_from_refresh(&access, ctx, t.claims, now);
    if (rc == RM_OK && ctx->rotate_refresh) {
        /* simplejwt: blacklist the old token, then the same claims with a new jti, exp and iat. */
        rc = RM__STORE(ctx, token_deny, t.jti, t.user_id, sat_us(t.exp));
        if (rc != RM_OK)
            storage_failed(rc);
        json_t *c = rc == RM_OK ? json_copy(t.claims) : NULL;
        if (rc == RM_OK && !c)
            rc = rm__error_nomem();
        if (rc == RM_OK)
            rc = set_times(c, sat_add(floor_s(now), ctx->refresh_lifetime_s), issue_iat(now, p.valid_after));
        if (rc == RM_OK)
            rc = sign(&rotated, ctx, c);
        json_decref(c);
    }
    json_decref(t.claims);
    if (rc != RM_OK) {
        wipe_free(access);
        return rc;
    }
    return pair_new(out, access, rotated);
}

int rm_token_revoke(rm_ctx *ctx, const char *refresh_token)
{
    int rc = check_ctx(ctx);
    if (rc != RM_OK)
        return rc;
    if (!refresh_token)
        return rm__error_misuse("refresh_token");
    tok t;
    rc = decode(&t, ctx, refresh_token, "refresh");
    if (rc != RM_OK)
        return rc;
    rc = check_not_denied(ctx, &t);
    if (rc == RM_OK && (rc = RM__STORE(ctx, token_deny, t.jti, t.user_id, sat_us(t.exp))) != RM_OK)
        storage_failed(rc);
    json_decref(t.claims);
    return rc;
}

int rm_token_prune(rm_ctx *ctx, int64_t *removed)
{
    if (removed)
        *removed = 0;
    if (!ctx)
        return rm__error_misuse("ctx");
    if (!ctx->storage)
        return rm__error_set(RM_EMISUSE, "the ctx has no storage");
    /* Keep entries while a token could still pass the exp check thanks to the leeway. */
    int64_t cutoff = sat_add(rm_ctx_now(ctx), -sat_us(leeway_s(ctx)));
    int rc = RM__STORE(ctx, token_prune, cutoff, removed);
    return rc == RM_OK ? RM_OK : storage_failed(rc);
}
