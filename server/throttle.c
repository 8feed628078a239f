/*
 * In-process request throttling, DRF-style rates ("100/min") per scope and key (client IP or user
 * id). Each key keeps one number, its theoretical arrival time (GCRA): a burst of up to `count`
 * requests is allowed, then one every period/count; a refused request learns exactly how long to
 * wait. Entries whose time has passed are dropped as their bucket is visited, so memory follows the
 * number of recently active clients.
 */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#define SHARDS 64
#define BUCKETS_PER_SHARD 256

struct entry {
    struct entry *next;
    int64_t tat;        /* µs: when this key's budget is fully restored */
    int scope;
    char key[];
};

struct shard {
    pthread_mutex_t lock;
    struct entry *buckets[BUCKETS_PER_SHARD];
};

static struct shard shards[SHARDS];

void srv_throttle_init(void)
{
    for (int i = 0; i < SHARDS; i++)
        pthread_mutex_init(&shards[i].lock, NULL);
}

static uint64_t hash(int scope, const char *key)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)scope;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

long srv_throttle_hit(int scope, const struct srv_rate *rate, const char *key, int64_t now_us)
{
    if (!rate->count)
        return 0;
    uint64_t h = hash(scope, key);
    struct shard *s = &shards[h % SHARDS];
    size_t b = (size_t)((h / SHARDS) % BUCKETS_PER_SHARD);
    int64_t interval = rate->period_us / rate->count;
    long wait = 0;

    pthread_mutex_lock(&s->lock);
    struct entry **pp = &s->buckets[b], *found = NULL;
    while (*pp) {
        struct entry *e = *pp;
        if (e->scope == scope && strcmp(e->key, key) == 0) {
            found = e;
            pp = &e->next;
        } else if (e->tat <= now_us) {
            *pp = e->next; /* expired: its client is back to a full budget anyway */
            free(e);
        } else {
            pp = &e->next;
        }
    }
    if (!found) {
        size_t klen = strlen(key);
        found = malloc(sizeof *found + klen + 1);
        if (!found) {
            pthread_mutex_unlock(&s->lock);
            return 0; /* fail open rather than refuse everyone */
        }
        found->scope = scope;
        found->tat = now_us;
        memcpy(found->key, key, klen + 1);
        found->next = s->buckets[b];
        s->buckets[b] = found;
    }
    int64_t tat = found->tat > now_us ? found->tat : now_us;
    int64_t new_tat = tat + interval;
    if (new_tat - now_us > rate->period_us) {
        int64_t us = new_tat - now_us - rate->period_us;
        wait = (long)((us + 999999) / 1000000);
        if (wait < 1)
            wait = 1;
    } else {
        found->tat = new_tat;
    }
    pthread_mutex_unlock(&s->lock);
    return wait;
}
