/*
 * A small pool of worker threads for the work that must not run on an HTTP event thread: password
 * hashing (register, token) and AI calls. The event thread suspends the connection, queues a job,
 * and the job resumes the connection when its answer is ready.
 */
#include "server.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

struct job {
    srv_job_fn fn;
    void *arg;
    struct job *next;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct job *head, *tail;
    pthread_t *threads;
    int nthreads;
    int stopping;
    long pending;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

/* Workers run at a lower CPU priority than the event threads (Linux applies nice per thread): while
 * logins saturate the cores with PBKDF2, the scheduler still runs the event threads as soon as a
 * request arrives, so other endpoints keep their latency. Best effort: failure changes nothing else. */
#define SRV_WORKER_NICE 10

static void *worker_main(void *unused)
{
    (void)unused;
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SRV_WORKER_NICE);
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (!pool.head && !pool.stopping)
            pthread_cond_wait(&pool.cond, &pool.lock);
        struct job *j = pool.head;
        if (!j)
            break; /* stopping and nothing left */
        pool.head = j->next;
        if (!pool.head)
            pool.tail = NULL;
        pthread_mutex_unlock(&pool.lock);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&pool.lock);
        pool.pending--;
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

int srv_pool_start(int threads)
{
    pool.threads = calloc((size_t)threads, sizeof *pool.threads);
    if (!pool.threads)
        return -1;
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&pool.threads[i], NULL, worker_main, NULL))
            return -1;
        pool.nthreads++;
    }
    return 0;
}

int srv_pool_submit(srv_job_fn fn, void *arg)
{
    struct job *j = malloc(sizeof *j);
    if (!j)
        return -1;
    j->fn = fn;
    j->arg = arg;
    j->next = NULL;
    pthread_mutex_lock(&pool.lock);
    if (pool.stopping) {
        pthread_mutex_unlock(&pool.lock);
        free(j);
        return -1;
    }
    if (pool.tail)
        pool.tail->next = j;
    else
        pool.head = j;
    pool.tail = j;
    pool.pending++;
    pthread_cond_signal(&pool.cond);
    pthread_mutex_unlock(&pool.lock);
    return 0;
}

long srv_pool_pending(void)
{
    pthread_mutex_lock(&pool.lock);
    long n = pool.pending;
    pthread_mutex_unlock(&pool.lock);
    return n;
}

void srv_pool_stop(void)
{
    pthread_mutex_lock(&pool.lock);
    pool.stopping = 1;
    pthread_cond_broadcast(&pool.cond);
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < pool.nthreads; i++)
        pthread_join(pool.threads[i], NULL);
    free(pool.threads);
    pool.threads = NULL;
    pool.nthreads = 0;
}
