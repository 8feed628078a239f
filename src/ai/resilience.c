/* Circuit breakers per provider+model, API key rotation with benching, and backoff delays. */
#include "internal.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

/* ---- circuit breakers ---- */

typedef struct brk {
    char *provider, *model;
    int state;             /* enum rm_ai_breaker */
    int32_t failures;      /* consecutive */
    int64_t opened_ms;
    bool probe_out;        /* half-open probe in flight */
    struct brk *next;
} brk;

struct rm__breakers {
    pthread_mutex_t mu;
    rm__breaker_conf conf;
    brk *list;
};

rm__breakers *rm__breakers_new(rm__breaker_conf conf)
{
    rm__breakers *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    pthread_mutex_init(&b->mu, NULL);
    b->conf = conf;
    return b;
}

void rm__breakers_free(rm__breakers *b)
{
    if (!b)
        return;
    while (b->list) {
        brk *n = b->list->next;
        free(b->list->provider);
        free(b->list->model);
        free(b->list);
        b->list = n;
    }
    pthread_mutex_destroy(&b->mu);
    free(b);
}

static brk *brk_find(rm__breakers *b, const char *provider, const char *model, bool create)
{
    for (brk *k = b->list; k; k = k->next)
        if (strcmp(k->provider, provider) == 0 && strcmp(k->model, model) == 0)
            return k;
    if (!create)
        return NULL;
    brk *k = calloc(1, sizeof(*k));
    if (!k || !(k->provider = strdup(provider)) || !(k->model = strdup(model))) {
        if (k)
            free(k->provider);
        free(k);
        return NULL;
    }
    k->next = b->list;
    b->list = k;
    return k;
}

/* Move an open breaker whose time is up to half-open. */
static void brk_tick(rm__breakers *b, brk *k)
{
    if (k->state == RM_AI_BREAKER_OPEN && rm__mono_ms() - k->opened_ms >= b->conf.open_ms) {
        k->state = RM_AI_BREAKER_HALF_OPEN;
        k->probe_out = false;
    }
}

bool rm__breaker_allow(rm__breakers *b, const char *provider, const char *model, bool *probe)
{
    *probe = false;
    pthread_mutex_lock(&b->mu);
    brk *k = brk_find(b, provider, model, false);
    bool ok = true;
    if (k) {
        brk_tick(b, k);
        if (k->state == RM_AI_BREAKER_OPEN) {
            ok = false;
        } else if (k->state == RM_AI_BREAKER_HALF_OPEN) {
            ok = !k->probe_out;
            if (ok)
                k->probe_out = *probe = true;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return ok;
}

void rm__breaker_report(rm__breakers *b, const char *provider, const char *model, bool success, bool probe)
{
    pthread_mutex_lock(&b->mu);
    brk *k = brk_find(b, provider, model, !success);
    if (k) {
        if (probe)
            k->probe_out = false;
        if (success) {
            k->state = RM_AI_BREAKER_CLOSED;
            k->failures = 0;
        } else if (k->state == RM_AI_BREAKER_HALF_OPEN || ++k->failures >= b->conf.threshold) {
            k->state = RM_AI_BREAKER_OPEN;
            k->opened_ms = rm__mono_ms();
            k->failures = 0;
        }
    }
    pthread_mutex_unlock(&b->mu);
}

void rm__breaker_release(rm__breakers *b, const char *provider, const char *model, bool probe)
{
    if (!probe)
        return;
    pthread_mutex_lock(&b->mu);
    brk *k = brk_find(b, provider, model, false);
    if (k)
        k->probe_out = false;
    pthread_mutex_unlock(&b->mu);
}

int rm__breaker_state(rm__breakers *b, const char *provider, const char *model)
{
    pthread_mutex_lock(&b->mu);
    brk *k = brk_find(b, provider, model, false);
    int st = RM_AI_BREAKER_CLOSED;
    if (k) {
        brk_tick(b, k);
        st = k->state;
    }
    pthread_mutex_unlock(&b->mu);
    return st;
}

/* ---- API keys ---- */

/* Benched keys are remembered by a hash, never by value. */
typedef struct bench {
    uint64_t hash;
    int64_t until_ms;
    struct bench *next;
} bench;

typedef struct ring {
    char *var;
    uint64_t rr;
    bench *benched;
    struct ring *next;
} ring;

struct rm__keyring {
    pthread_mutex_t mu;
    int64_t cooldown_ms;
    ring *list;
};

static uint64_t key_hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ULL;
    }
    return h;
}

rm__keyring *rm__keyring_new(int64_t cooldown_ms)
{
    rm__keyring *k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    pthread_mutex_init(&k->mu, NULL);
    k->cooldown_ms = cooldown_ms;
    return k;
}

void rm__keyring_free(rm__keyring *k)
{
    if (!k)
        return;
    while (k->list) {
        ring *n = k->list->next;
        while (k->list->benched) {
            bench *b = k->list->benched->next;
            free(k->list->benched);
            k->list->benched = b;
        }
        free(k->list->var);
        free(k->list);
        k->list = n;
    }
    pthread_mutex_destroy(&k->mu);
    free(k);
}

static ring *ring_find(rm__keyring *k, const char *var)
{
    for (ring *r = k->list; r; r = r->next)
        if (strcmp(r->var, var) == 0)
            return r;
    ring *r = calloc(1, sizeof(*r));
    if (!r || !(r->var = strdup(var))) {
        free(r);
        return NULL;
    }
    r->next = k->list;
    k->list = r;
    return r;
}

static bool is_benched(ring *r, uint64_t h, int64_t now)
{
    for (bench **pp = &r->benched; *pp;) {
        if ((*pp)->until_ms <= now) { /* cool-down over */
            bench *d = *pp;
            *pp = d->next;
            free(d);
            continue;
        }
        if ((*pp)->hash == h)
            return true;
        pp = &(*pp)->next;
    }
    return false;
}

/* The i-th comma-separated, blank-trimmed, non-empty key of list: start and length. */
static bool key_at(const char *list, size_t i, const char **start, size_t *len)
{
    size_t idx = 0;
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *s = p;
        while (n && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
            n--;
        if (n) {
            if (idx == i) {
                *start = s;
                *len = n;
                return true;
            }
            idx++;
        }
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

char *rm__keyring_pick(rm__keyring *k, const char *var, int *why)
{
    *why = 1;
    const char *env = var && var[0] ? getenv(var) : NULL;
    if (!env || !env[0])
        return NULL;
    char *list = strdup(env); /* read once: a rotated value is picked up on the next call */
    if (!list) {
        *why = 3;
        return NULL;
    }
    size_t count = 0;
    const char *s;
    size_t n;
    while (key_at(list, count, &s, &n))
        count++;
    char *key = NULL;
    if (count) {
        *why = 2;
        int64_t now = rm__mono_ms();
        pthread_mutex_lock(&k->mu);
        ring *r = ring_find(k, var);
        for (size_t tries = 0; r && tries < count && !key; tries++) {
            size_t i = (size_t)(r->rr++ % count);
            key_at(list, i, &s, &n);
            if (!is_benched(r, key_hash(s, n), now)) {
                key = rm__strndup(s, n);
                if (!key)
                    *why = 3;
            }
        }
        if (!r)
            *why = 3;
        pthread_mutex_unlock(&k->mu);
    }
    OPENSSL_cleanse(list, strlen(list));
    free(list);
    return key;
}

void rm__keyring_bench(rm__keyring *k, const char *var, const char *key)
{
    if (!key || !var)
        return;
    pthread_mutex_lock(&k->mu);
    ring *r = ring_find(k, var);
    bench *b = r ? calloc(1, sizeof(*b)) : NULL;
    if (b) {
        b->hash = key_hash(key, strlen(key));
        b->until_ms = rm__mono_ms() + k->cooldown_ms;
        b->next = r->benched;
        r->benched = b;
    }
    pthread_mutex_unlock(&k->mu);
}

void rm__key_free(char *key)
{
    if (!key)
        return;
    OPENSSL_cleanse(key, strlen(key));
    free(key);
}

/* ---- backoff ---- */

int64_t rm__backoff_ms(int64_t base_ms, int64_t cap_ms, int n)
{
    int64_t d = base_ms;
    for (int i = 1; i < n && d < cap_ms; i++)
        d *= 2;
    if (d > cap_ms)
        d = cap_ms;
    uint32_t r = 0;
    if (rm__random_bytes(&r, sizeof(r)) != 0)
        r = 0;
    /* jitter factor in [0.75, 1.0] */
    double f = 0.75 + 0.25 * ((double)r / 4294967295.0);
    return (int64_t)((double)d * f);
}
