/* The ctx's AI state: options, lazily started transport and timer thread, per-model settings,
 * idempotency keys in flight. */
#include "internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int64_t pick(int64_t v, int64_t def) { return v > 0 ? v : def; }

static char *base_from(const char *opt, const char *env, const char *def)
{
    const char *v = opt && opt[0] ? opt : NULL;
    if (!v) {
        const char *e = getenv(env);
        v = e && e[0] ? e : def;
    }
    char *s = strdup(v);
    if (s) {
        size_t n = strlen(s);
        while (n > 0 && s[n - 1] == '/')
            s[--n] = '\0';
    }
    return s;
}

static char *lower_dup(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

int rm__ai_ctx_init(rm_ctx *ctx, const rm_ctx_options *o)
{
    if (o->ai_max_attempts < 0 || o->ai_backoff_base_ms < 0 || o->ai_backoff_cap_ms < 0 || o->ai_deadline_ms < 0 ||
        o->ai_retry_after_cap_ms < 0 || o->ai_connect_timeout_ms < 0 || o->ai_timeout_ms < 0 ||
        o->ai_breaker_threshold < 0 || o->ai_breaker_open_ms < 0 || o->ai_key_cooldown_ms < 0)
        return rm__error_field("ai", "AI retry, timeout and breaker options must not be negative");
    struct rm__ai_state *s = calloc(1, sizeof(*s));
    if (!s)
        return rm__error_nomem();
    ctx->ai = s;
    pthread_mutex_init(&s->mu, NULL);
    s->transport = o->transport;
    s->max_attempts = o->ai_max_attempts > 0 ? o->ai_max_attempts : 3;
    s->backoff_base_ms = pick(o->ai_backoff_base_ms, 500);
    s->backoff_cap_ms = pick(o->ai_backoff_cap_ms, 8000);
    s->retry_after_cap_ms = pick(o->ai_retry_after_cap_ms, 120000);
    s->deadline_ms = pick(o->ai_deadline_ms, 120000);
    s->connect_timeout_ms = pick(o->ai_connect_timeout_ms, 10000);
    s->timeout_ms = pick(o->ai_timeout_ms, 60000);
    s->breakers = rm__breakers_new((rm__breaker_conf){.threshold = o->ai_breaker_threshold > 0 ? o->ai_breaker_threshold : 5,
                                                      .open_ms = pick(o->ai_breaker_open_ms, 30000)});
    s->keys = rm__keyring_new(pick(o->ai_key_cooldown_ms, 60000));
    s->gemini_base = base_from(o->gemini_base_url, "RESUMATE_GEMINI_BASE_URL", "https://generativelanguage.googleapis.com");
    s->openrouter_base = base_from(o->openrouter_base_url, "RESUMATE_OPENROUTER_BASE_URL", "https://openrouter.ai/api/v1");
    if (o->openrouter_referer && o->openrouter_referer[0])
        s->referer = strdup(o->openrouter_referer);
    if (o->openrouter_title && o->openrouter_title[0])
        s->title = strdup(o->openrouter_title);
    if (!s->breakers || !s->keys || !s->gemini_base || !s->openrouter_base ||
        (o->openrouter_referer && o->openrouter_referer[0] && !s->referer) ||
        (o->openrouter_title && o->openrouter_title[0] && !s->title))
        return rm__error_nomem(); /* the caller frees the ctx, and with it this state */
    return RM_OK;
}

void rm__ai_settings_free(rm__ai_settings *st)
{
    if (!st)
        return;
    free(st->display_name);
    for (size_t i = 0; i < st->fallback_count; i++)
        free(st->fallbacks[i]);
    free(st->fallbacks);
    free(st);
}

void rm__ai_ctx_free(rm_ctx *ctx)
{
    struct rm__ai_state *s = ctx->ai;
    if (!s)
        return;
    /* The transport first: it may still complete requests whose callbacks arm timers. */
    rm_transport_free(s->owned_transport);
    rm__timers_free(s->timers);
    rm__breakers_free(s->breakers);
    rm__keyring_free(s->keys);
    while (s->settings) {
        rm__ai_settings *n = s->settings->next;
        rm__ai_settings_free(s->settings);
        s->settings = n;
    }
    while (s->inflight) {
        rm__ai_inflight *n = s->inflight->next;
        free(s->inflight->key);
        free(s->inflight);
        s->inflight = n;
    }
    free(s->gemini_base);
    free(s->openrouter_base);
    free(s->referer);
    free(s->title);
    pthread_mutex_destroy(&s->mu);
    free(s);
    ctx->ai = NULL;
}

int rm__ai_runtime(rm_ctx *ctx, rm_transport **transport, rm__timers **timers)
{
    struct rm__ai_state *s = ctx->ai;
    int rc = RM_OK;
    pthread_mutex_lock(&s->mu);
    if (!s->transport) {
        rc = rm_transport_new_curl(&s->owned_transport);
        s->transport = s->owned_transport;
    }
    if (rc == RM_OK && !s->timers)
        rc = rm__timers_new(&s->timers);
    *transport = s->transport;
    *timers = s->timers;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static rm__ai_settings *settings_find(struct rm__ai_state *s, const char *lname, rm__ai_settings ***link)
{
    rm__ai_settings **pp = &s->settings;
    for (; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->display_name, lname) == 0)
            break;
    if (link)
        *link = pp;
    return *pp;
}

static rm__ai_settings *settings_copy(const char *lname, const rm__ai_settings *src)
{
    rm__ai_settings *c = calloc(1, sizeof(*c));
    if (!c || !(c->display_name = strdup(lname)))
        goto fail;
    if (!src)
        return c;
    c->connect_timeout_ms = src->connect_timeout_ms;
    c->timeout_ms = src->timeout_ms;
    if (src->fallback_count) {
        if (!(c->fallbacks = calloc(src->fallback_count, sizeof(char *))))
            goto fail;
        for (size_t i = 0; i < src->fallback_count; i++, c->fallback_count++)
            if (!(c->fallbacks[i] = strdup(src->fallbacks[i])))
                goto fail;
    }
    return c;
fail:
    rm__ai_settings_free(c);
    return NULL;
}

int rm__ai_settings_get(rm_ctx *ctx, const char *display_name, rm__ai_settings **out)
{
    struct rm__ai_state *s = ctx->ai;
    char *lname = lower_dup(display_name);
    if (!lname)
        return rm__error_nomem();
    pthread_mutex_lock(&s->mu);
    *out = settings_copy(lname, settings_find(s, lname, NULL));
    pthread_mutex_unlock(&s->mu);
    free(lname);
    return *out ? RM_OK : rm__error_nomem();
}

int rm_ai_model_settings_init(rm_ai_model_settings *st, unsigned int version)
{
    if (!st)
        return rm__error_misuse("settings is NULL");
    if (version == 0 || version > RM_AI_MODEL_SETTINGS_VERSION)
        return rm__error_set(RM_EVERSION, "AI model settings version %u is not supported", version);
    memset(st, 0, sizeof(*st));
    st->version = version;
    return RM_OK;
}

int rm_ai_model_settings_set(rm_ctx *ctx, const char *display_name, const rm_ai_model_settings *st)
{
    if (!ctx || !display_name || !display_name[0])
        return rm__error_misuse("ctx and display_name are required");
    if (st && (st->version == 0 || st->version > RM_AI_MODEL_SETTINGS_VERSION))
        return rm__error_set(RM_EVERSION, "AI model settings version %u is not supported", st->version);
    if (st && (st->connect_timeout_ms < 0 || st->timeout_ms < 0))
        return rm__error_field("timeout_ms", "Ensure this value is greater than or equal to 0.");
    if (st && st->fallback_count && !st->fallbacks)
        return rm__error_field("fallbacks", "fallback_count is set but the list is NULL");
    for (size_t i = 0; st && i < st->fallback_count; i++)
        if (!st->fallbacks[i] || !st->fallbacks[i][0])
            return rm__error_field("fallbacks", "This field may not be blank.");
    char *lname = lower_dup(display_name);
    rm__ai_settings *n = NULL;
    if (!lname)
        return rm__error_nomem();
    if (st) {
        rm__ai_settings tmp = {.connect_timeout_ms = st->connect_timeout_ms, .timeout_ms = st->timeout_ms,
                               .fallbacks = (char **)st->fallbacks, .fallback_count = st->fallback_count};
        if (!(n = settings_copy(lname, &tmp))) {
            free(lname);
            return rm__error_nomem();
        }
    }
    struct rm__ai_state *s = ctx->ai;
    pthread_mutex_lock(&s->mu);
    rm__ai_settings **link;
    rm__ai_settings *old = settings_find(s, lname, &link);
    if (old) {
        *link = old->next;
        old->next = NULL;
    }
    if (n) {
        n->next = s->settings;
        s->settings = n;
    }
    pthread_mutex_unlock(&s->mu);
    rm__ai_settings_free(old);
    free(lname);
    return RM_OK;
}

bool rm__ai_inflight_add(rm_ctx *ctx, int64_t user_id, const char *key)
{
    struct rm__ai_state *s = ctx->ai;
    bool ok = true;
    pthread_mutex_lock(&s->mu);
    for (rm__ai_inflight *i = s->inflight; i; i = i->next)
        if (i->user_id == user_id && strcmp(i->key, key) == 0)
            ok = false;
    if (ok) {
        rm__ai_inflight *n = calloc(1, sizeof(*n));
        if (n && (n->key = strdup(key))) {
            n->user_id = user_id;
            n->next = s->inflight;
            s->inflight = n;
        } else {
            free(n);
            ok = false;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void rm__ai_inflight_remove(rm_ctx *ctx, int64_t user_id, const char *key)
{
    struct rm__ai_state *s = ctx->ai;
    pthread_mutex_lock(&s->mu);
    for (rm__ai_inflight **pp = &s->inflight; *pp; pp = &(*pp)->next) {
        if ((*pp)->user_id == user_id && strcmp((*pp)->key, key) == 0) {
            rm__ai_inflight *d = *pp;
            *pp = d->next;
            free(d->key);
            free(d);
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

int rm_ai_breaker_state(rm_ctx *ctx, const char *api_provider, const char *model_name)
{
    if (!ctx || !api_provider || !model_name)
        return rm__error_misuse("ctx, api_provider and model_name are required");
    return rm__breaker_state(ctx->ai->breakers, api_provider, model_name);
}
