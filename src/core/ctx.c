/* rm_ctx: options, storage ownership, clock, data-set counters. */
#include "internal.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

int rm_ctx_options_init(rm_ctx_options *opts, unsigned int version)
{
    if (!opts)
        return rm__error_misuse("opts is NULL");
    if (version == 0 || version > RM_CTX_OPTIONS_VERSION)
        return rm__error_set(RM_EVERSION, "ctx options version %u is not supported (this library knows up to %u)",
                             version, RM_CTX_OPTIONS_VERSION);
    memset(opts, 0, sizeof(*opts));
    opts->version = version;
    return RM_OK;
}

static int copy_keys(rm_ctx *ctx, const rm_ctx_options *o)
{
    if (o->secret_key && !(ctx->secret_key = strdup(o->secret_key)))
        return rm__error_nomem();
    if (o->previous_secret_key_count == 0)
        return RM_OK;
    if (!o->previous_secret_keys)
        return rm__error_field("previous_secret_keys", "previous_secret_key_count is set but the list is NULL");
    ctx->previous_keys = calloc(o->previous_secret_key_count, sizeof(char *));
    if (!ctx->previous_keys)
        return rm__error_nomem();
    for (size_t i = 0; i < o->previous_secret_key_count; i++) {
        if (!o->previous_secret_keys[i] || !o->previous_secret_keys[i][0])
            return rm__error_field("previous_secret_keys", "previous secret keys must be non-empty strings");
        if (!(ctx->previous_keys[i] = strdup(o->previous_secret_keys[i])))
            return rm__error_nomem();
        ctx->previous_key_count = i + 1;
    }
    return RM_OK;
}

static int check_options(const rm_ctx_options *o)
{
    if (o->version == 0 || o->version > RM_CTX_OPTIONS_VERSION)
        return rm__error_set(RM_EVERSION, "ctx options version %u is not supported (this library knows up to %u)",
                             o->version, RM_CTX_OPTIONS_VERSION);
    if (o->access_token_lifetime < 0)
        return rm__error_field("access_token_lifetime", "Ensure this value is greater than or equal to 0.");
    if (o->refresh_token_lifetime < 0)
        return rm__error_field("refresh_token_lifetime", "Ensure this value is greater than or equal to 0.");
    if (o->secret_key && !o->secret_key[0])
        return rm__error_field("secret_key", "secret_key must not be empty");
    return RM_OK;
}

int rm_ctx_new(rm_ctx **out, const rm_ctx_options *opts)
{
    if (!out)
        return rm__error_misuse("out is NULL");
    *out = NULL;
    rm_ctx_options defaults = RM_CTX_OPTIONS_INIT;
    const rm_ctx_options *o = opts ? opts : &defaults;
    int rc = check_options(o);
    if (rc)
        return rc;

    rm_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return rm__error_nomem();
    pthread_mutex_init(&ctx->lock, NULL);
    ctx->password_iterations = o->password_iterations ? o->password_iterations : 720000u;
    ctx->clock = o->clock;
    ctx->clock_userdata = o->clock_userdata;
    ctx->access_lifetime_s = o->access_token_lifetime ? o->access_token_lifetime : 300;
    ctx->refresh_lifetime_s = o->refresh_token_lifetime ? o->refresh_token_lifetime : 86400;
    ctx->leeway_s = o->token_leeway > 0 ? o->token_leeway : 0;
    ctx->rotate_refresh = o->rotate_refresh_tokens != 0;
    if ((rc = copy_keys(ctx, o)))
        goto fail;
    if (o->storage) {
        ctx->storage = o->storage;
    } else {
        if ((rc = rm_storage_open(&ctx->owned_storage, o->storage_url ? o->storage_url : ":memory:")))
            goto fail;
        ctx->storage = ctx->owned_storage;
    }
    if ((rc = rm__token_cache_init(ctx)))
        goto fail;
    if ((rc = rm__ai_ctx_init(ctx, o)))
        goto fail;
    *out = ctx;
    return RM_OK;
fail:
    rm_ctx_free(ctx);
    return rc;
}

void rm_ctx_free(rm_ctx *ctx)
{
    if (!ctx)
        return;
    rm__ai_ctx_free(ctx);
    rm__token_cache_free(ctx);
    rm_storage_free(ctx->owned_storage);
    if (ctx->secret_key) {
        OPENSSL_cleanse(ctx->secret_key, strlen(ctx->secret_key));
        free(ctx->secret_key);
    }
    for (size_t i = 0; i < ctx->previous_key_count; i++) {
        OPENSSL_cleanse(ctx->previous_keys[i], strlen(ctx->previous_keys[i]));
        free(ctx->previous_keys[i]);
    }
    free(ctx->previous_keys);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

int64_t rm_ctx_now(rm_ctx *ctx)
{
    if (!ctx)
        return 0;
    return ctx->clock ? ctx->clock(ctx->clock_userdata) : rm__realtime_us();
}

rm_storage *rm_ctx_storage(rm_ctx *ctx) { return ctx ? ctx->storage : NULL; }

uint64_t rm_ctx_data_version(rm_ctx *ctx, int set)
{
    if (!ctx || set < RM_DATA_AI_MODELS || set > RM_DATA_EXAMPLES)
        return 0;
    return __atomic_load_n(&ctx->data_version[set], __ATOMIC_ACQUIRE);
}

void rm__ctx_bump(rm_ctx *ctx, int set) { __atomic_add_fetch(&ctx->data_version[set], 1, __ATOMIC_ACQ_REL); }
