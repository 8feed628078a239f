/* Django's pbkdf2_sha256 password hashes: "pbkdf2_sha256$<iterations>$<salt>$<base64 of 32 bytes>".
 * PBKDF2, base64, randomness and the comparison all come from OpenSSL. */
#include "internal.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define ALGORITHM "pbkdf2_sha256"
#define SALT_LEN 22
#define UNUSABLE_LEN 40
#define KEY_LEN 32
#define B64_LEN 44 /* 4 * ceil(KEY_LEN / 3) */
/* Far above any real setting; stops a crafted hash from costing minutes of CPU. */
#define MAX_ITERATIONS 10000000u
/* Salt for the dummy verification; its value does not matter, its cost does. */
#define DUMMY_SALT "rmDummySaltForTiming0"

static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* n random characters of [A-Za-z0-9]. Bytes >= 248 are rejected so that byte % 62 is uniform
 * (248 = 4 * 62). 0 or RM_ERROR with the last error set. */
static int random_alnum(char *out, size_t n)
{
    unsigned char buf[64];
    size_t i = 0;
    while (i < n) {
        if (rm__random_bytes(buf, sizeof(buf)) != 0)
            return rm__error_set(RM_ERROR, "random number generator failed");
        for (size_t j = 0; j < sizeof(buf) && i < n; j++)
            if (buf[j] < 248)
                out[i++] = ALNUM[buf[j] % 62];
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}

/* b64 (B64_LEN + 1 bytes) = base64(PBKDF2-HMAC-SHA256(password, salt, iterations, 32 bytes)). */
static bool derive_b64(char b64[B64_LEN + 1], const char *password, size_t plen, const char *salt,
                       size_t slen, uint32_t iterations)
{
    unsigned char key[KEY_LEN];
    if (plen > INT_MAX || slen > INT_MAX || iterations == 0 || iterations > MAX_ITERATIONS)
        return false;
    int ok = PKCS5_PBKDF2_HMAC(password, (int)plen, (const unsigned char *)salt, (int)slen, (int)iterations,
                               EVP_sha256(), KEY_LEN, key);
    if (ok == 1)
        ok = EVP_EncodeBlock((unsigned char *)b64, key, KEY_LEN) == B64_LEN;
    OPENSSL_cleanse(key, sizeof(key));
    return ok == 1;
}

int rm__password_hash_with_salt(char **out, const char *password, const char *salt, uint32_t iterations)
{
    if (!out)
        return rm__error_misuse("out");
    *out = NULL;
    if (!password)
        return rm__error_misuse("password");
    /* As Django: a salt is non-empty and cannot contain the separator. */
    if (!salt || !*salt || strchr(salt, '$'))
        return rm__error_misuse("salt");
    if (iterations == 0 || iterations > MAX_ITERATIONS)
        return rm__error_misuse("iterations");

    char b64[B64_LEN + 1];
    if (!derive_b64(b64, password, strlen(password), salt, strlen(salt), iterations))
        return rm__error_set(RM_ERROR, "password hashing failed");
    *out = rm__sprintf(ALGORITHM "$%u$%s$%s", (unsigned)iterations, salt, b64);
    OPENSSL_cleanse(b64, sizeof(b64));
    return *out ? RM_OK : rm__error_nomem();
}

int rm__password_hash(char **out, const char *password, uint32_t iterations)
{
    char salt[SALT_LEN + 1];
    if (out)
        *out = NULL;
    int rc = random_alnum(salt, SALT_LEN);
    if (rc != 0)
        return rc;
    salt[SALT_LEN] = '\0';
    return rm__password_hash_with_salt(out, password, salt, iterations);
}

/* The parts of a well-formed hash. Pointers into the encoded string. */
typedef struct {
    uint32_t iterations;
    const char *salt;
    size_t salt_len;
    const char *hash; /* exactly B64_LEN characters */
} parsed_hash;

/* Decimal without sign, spaces or leading zeros (what Django writes with "%d"; anything else could
 * never compare equal to Django's re-encoding), in 1..MAX_ITERATIONS. */
static bool parse_iterations(const char *s, size_t len, uint32_t *out)
{
    if (len == 0 || len > 8 || s[0] == '0')
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (v > MAX_ITERATIONS)
        return false;
    *out = v;
    return true;
}

/* 43 base64 characters then one '=': the only shape base64 of 32 bytes can have. */
static bool is_key_b64(const char *s)
{
    for (size_t i = 0; i < B64_LEN - 1; i++)
        if (!s[i] || !(strchr(ALNUM, s[i]) || s[i] == '+' || s[i] == '/'))
            return false;
    return s[B64_LEN - 1] == '=' && s[B64_LEN] == '\0';
}

static bool parse_hash(const char *encoded, parsed_hash *p)
{
    const size_t alen = sizeof(ALGORITHM) - 1;
    if (!encoded || strncmp(encoded, ALGORITHM "$", alen + 1) != 0)
        return false;
    const char *it = encoded + alen + 1;
    const char *d1 = strchr(it, '$');
    if (!d1 || !parse_iterations(it, (size_t)(d1 - it), &p->iterations))
        return false;
    p->salt = d1 + 1;
    const char *d2 = strchr(p->salt, '$');
    if (!d2 || d2 == p->salt)
        return false;
    p->salt_len = (size_t)(d2 - p->salt);
    p->hash = d2 + 1;
    return is_key_b64(p->hash);
}

bool rm__password_usable(const char *encoded)
{
    parsed_hash p;
    return parse_hash(encoded, &p);
}

bool rm__password_verify(const char *password, const char *encoded)
{
    parsed_hash p;
    if (!password || !parse_hash(encoded, &p))
        return false;
    char b64[B64_LEN + 1];
    if (!derive_b64(b64, password, strlen(password), p.salt, p.salt_len, p.iterations))
        return false;
    bool ok = CRYPTO_memcmp(b64, p.hash, B64_LEN) == 0;
    OPENSSL_cleanse(b64, sizeof(b64));
    return ok;
}

char *rm__password_unusable(void)
{
    char *s = rm__malloc(1 + UNUSABLE_LEN + 1);
    if (!s) {
        rm__error_nomem();
        return NULL;
    }
    s[0] = '!';
    if (random_alnum(s + 1, UNUSABLE_LEN) != 0) {
        free(s);
        return NULL;
    }
    s[1 + UNUSABLE_LEN] = '\0';
    return s;
}

void rm__password_dummy_verify(const char *password, uint32_t iterations)
{
    char b64[B64_LEN + 1];
    if (iterations == 0 || iterations > MAX_ITERATIONS)
        iterations = RM__PBKDF2_DEFAULT_ITERATIONS;
    if (!password)
        password = "";
    (void)derive_b64(b64, password, strlen(password), DUMMY_SALT, sizeof(DUMMY_SALT) - 1, iterations);
    OPENSSL_cleanse(b64, sizeof(b64));
}
