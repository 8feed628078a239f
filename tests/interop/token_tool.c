/* Test helper for tests/interop/test_tokens_interop.py: drives libresumate's token API from the command line.
 *
 *   token_tool issue | authenticate TOKEN | refresh TOKEN | revoke TOKEN
 *
 * Environment: RM_TOKEN_SECRET (required), RM_TOKEN_PREVIOUS (one previous key, optional),
 * RM_TOKEN_ROTATE=1 (rotate refresh tokens), RM_TOKEN_DB (storage URL or SQLite path; default ":memory:").
 * The database always holds user 1 "interop" (active) and user 2 "sleepy" (inactive); user 3 never exists.
 *
 * Output on stdout: `issue` and `refresh` print {"user_id": 1, "access": "...", "refresh": "..." or null};
 * `authenticate` prints "OK <user_id> <username>"; `revoke` prints "OK". A refused token prints
 * "ETOKEN <reason>" and exits 2; any other failure goes to stderr (never a key or token) and exits 1. */
#include <resumate/resumate.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *reason_name(int reason)
{
    switch (reason) {
    case RM_TOKEN_MALFORMED: return "malformed";
    case RM_TOKEN_BAD_SIGNATURE: return "bad_signature";
    case RM_TOKEN_EXPIRED: return "expired";
    case RM_TOKEN_WRONG_TYPE: return "wrong_type";
    case RM_TOKEN_REVOKED: return "revoked";
    case RM_TOKEN_USER_NOT_FOUND: return "user_not_found";
    case RM_TOKEN_USER_INACTIVE: return "user_inactive";
    case RM_TOKEN_BAD_ALGORITHM: return "bad_algorithm";
    case RM_TOKEN_TOO_LARGE: return "too_large";
    case RM_TOKEN_NOT_YET_VALID: return "not_yet_valid";
    default: return "unknown";
    }
}

static int fail(int rc, const char *what)
{
    const rm_error *e = rm_error_last();
    if (rc == RM_ETOKEN) {
        printf("ETOKEN %s\n", reason_name(rm_error_reason(e)));
        return 2;
    }
    fprintf(stderr, "%s: %s: %s\n", what, rm_status_name(rc), rm_error_message(e));
    return 1;
}

static int ensure_user(rm_ctx *ctx, const char *name, unsigned flags, int64_t want_id)
{
    rm_user *u = NULL;
    int rc = rm_user_get_by_username(&u, ctx, name);
    if (rc == RM_ENOTFOUND)
        rc = rm_user_create(&u, ctx, name, "", NULL, flags);
    if (rc == RM_OK && rm_user_id(u) != want_id) {
        fprintf(stderr, "user %s has id %lld, expected %lld\n", name, (long long)rm_user_id(u), (long long)want_id);
        rc = RM_ERROR;
    }
    rm_user_free(u);
    return rc;
}

static void print_pair(const rm_token_pair *pair)
{
    const char *refresh = rm_token_pair_refresh(pair);
    printf("{\"user_id\": 1, \"access\": \"%s\", ", rm_token_pair_access(pair));
    if (refresh)
        printf("\"refresh\": \"%s\"}\n", refresh);
    else
        printf("\"refresh\": null}\n");
}

static int run(rm_ctx *ctx, const char *cmd, const char *token)
{
    int rc;
    if (strcmp(cmd, "issue") == 0) {
        rm_user *u = NULL;
        rm_principal *who = NULL;
        rm_token_pair *pair = NULL;
        rc = rm_user_get(&u, ctx, 1);
        if (rc == RM_OK)
            rc = rm_principal_for_user(&who, u);
        if (rc == RM_OK)
            rc = rm_token_obtain(&pair, ctx, who);
        if (rc == RM_OK)
            print_pair(pair);
        rm_token_pair_free(pair);
        rm_principal_free(who);
        rm_user_free(u);
        return rc == RM_OK ? 0 : fail(rc, "issue");
    }
    if (!token) {
        fprintf(stderr, "%s needs a token argument\n", cmd);
        return 1;
    }
    if (strcmp(cmd, "authenticate") == 0) {
        rm_principal *p = NULL;
        rc = rm_token_authenticate(&p, ctx, token);
        if (rc == RM_OK)
            printf("OK %lld %s\n", (long long)rm_principal_user_id(p), rm_principal_username(p));
        rm_principal_free(p);
        return rc == RM_OK ? 0 : fail(rc, "authenticate");
    }
    if (strcmp(cmd, "refresh") == 0) {
        rm_token_pair *pair = NULL;
        rc = rm_token_refresh(&pair, ctx, token);
        if (rc == RM_OK)
            print_pair(pair);
        rm_token_pair_free(pair);
        return rc == RM_OK ? 0 : fail(rc, "refresh");
    }
    if (strcmp(cmd, "revoke") == 0) {
        rc = rm_token_revoke(ctx, token);
        if (rc == RM_OK)
            printf("OK\n");
        return rc == RM_OK ? 0 : fail(rc, "revoke");
    }
    fprintf(stderr, "unknown command %s\n", cmd);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: token_tool issue | authenticate TOKEN | refresh TOKEN | revoke TOKEN\n");
        return 1;
    }
    const char *secret = getenv("RM_TOKEN_SECRET");
    const char *previous = getenv("RM_TOKEN_PREVIOUS");
    const char *rotate = getenv("RM_TOKEN_ROTATE");
    const char *db = getenv("RM_TOKEN_DB");
    if (!secret || !secret[0]) {
        fprintf(stderr, "RM_TOKEN_SECRET is not set\n");
        return 1;
    }
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.secret_key = secret;
    o.storage_url = db && db[0] ? db : ":memory:";
    o.rotate_refresh_tokens = rotate && strcmp(rotate, "1") == 0;
    const char *prev[1] = {previous};
    if (previous && previous[0]) {
        o.previous_secret_keys = prev;
        o.previous_secret_key_count = 1;
    }
    rm_ctx *ctx = NULL;
    int rc = rm_ctx_new(&ctx, &o);
    if (rc == RM_OK)
        rc = ensure_user(ctx, "interop", 0, 1);
    if (rc == RM_OK)
        rc = ensure_user(ctx, "sleepy", RM_USER_INACTIVE, 2);
    int status = rc == RM_OK ? run(ctx, argv[1], argc > 2 ? argv[2] : NULL) : fail(rc, "setup");
    rm_ctx_free(ctx);
    return status;
}
