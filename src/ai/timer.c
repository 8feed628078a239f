/* Delayed callbacks (retry backoff) on one background thread: a list sorted by due time. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

typedef struct tnode {
    uint64_t id;
    int64_t due_ms;
    rm__timer_fn fn;
    void *arg;
    struct tnode *next;
} tnode;

struct rm__timers {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    tnode *head;
    uint64_t next_id;
    bool stopping;
};

int64_t rm__mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *timer_loop(void *arg)
{
    rm__timers *t = arg;
    pthread_mutex_lock(&t->mu);
    while (!t->stopping) {
        if (!t->head) {
            pthread_cond_wait(&t->cv, &t->mu);
            continue;
        }
        int64_t now = rm__mono_ms();
        if (t->head->due_ms > now) {
            struct timespec ts;
            int64_t due = t->head->due_ms;
            ts.tv_sec = due / 1000;
            ts.tv_nsec = (due % 1000) * 1000000;
            pthread_cond_timedwait(&t->cv, &t->mu, &ts);
            continue;
        }
        tnode *n = t->head;
        t->head = n->next;
        pthread_mutex_unlock(&t->mu);
        n->fn(n->arg);
        free(n);
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

int rm__timers_new(rm__timers **out)
{
    rm__timers *t = calloc(1, sizeof(*t));
    if (!t)
        return rm__error_nomem();
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&t->mu, NULL);
    if (pthread_create(&t->thread, NULL, timer_loop, t) != 0) {
        pthread_cond_destroy(&t->cv);
        pthread_mutex_destroy(&t->mu);
        free(t);
        return rm__error_set(RM_ERROR, "could not start the AI timer thread");
    }
    *out = t;
    return RM_OK;
}

void rm__timers_free(rm__timers *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->stopping = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    while (t->head) {
        tnode *n = t->head->next;
        free(t->head);
        t->head = n;
    }
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

uint64_t rm__timer_add(rm__timers *t, int64_t delay_ms, rm__timer_fn fn, void *arg)
{
    tnode *n = calloc(1, sizeof(*n));
    if (!n)
        return 0;
    n->due_ms = rm__mono_ms() + (delay_ms > 0 ? delay_ms : 0);
    n->fn = fn;
    n->arg = arg;
    pthread_mutex_lock(&t->mu);
    n->id = ++t->next_id;
    tnode **pp = &t->head;
    while (*pp && (*pp)->due_ms <= n->due_ms)
        pp = &(*pp)->next;
    n->next = *pp;
    *pp = n;
    pthread_cond_signal(&t->cv);
    uint64_t id = n->id;
    pthread_mutex_unlock(&t->mu);
    return id;
}

bool rm__timer_cancel(rm__timers *t, uint64_t id)
{
    bool removed = false;
    pthread_mutex_lock(&t->mu);
    for (tnode **pp = &t->head; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            tnode *n = *pp;
            *pp = n->next;
            free(n);
            removed = true;
            break;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return removed;
}
