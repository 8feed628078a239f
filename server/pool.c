/*
 * A small pool of worker threads for the work that must not run on an HTTP event thread: password
 * hashing (register, token). The event thread suspends the connection, queues a job, and the job
 * resumes the connection when its answer is ready.
 *
 * The queue is bounded (HASH_QUEUE_MAX jobs waiting for a worker): past the bound the event thread
 * answers 503 with a Retry-After estimated from the recent job duration, instead of queueing work
 * that would only be done long after the client gave up, and holding a suspended connection for it.
 */
#include "server.h"

#include <sched.h>
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
    long pending;    /* queued + running */
    long running;
    long queue_max;  /* bound on queued (not running) jobs; 0 = unbounded */
    int64_t avg_ns;  /* moving average of one job's duration, for Retry-After */
    long refused, gone;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

/* Workers run under SCHED_IDLE (Linux): the scheduler runs them only when no normal thread wants the
 * CPU, and a waking event thread preempts a worker at once. While logins saturate the cores with
 * PBKDF2, other endpoints keep their latency; when nothing else runs, the workers get every core.
 * Where SCHED_IDLE is refused, they fall back to nice 10. Best effort: failure changes nothing else. */
#define SRV_WORKER_NICE 10

static void lower_priority(void)
{
#ifdef SCHED_IDLE
    struct sched_param sp = { .sched_priority = 0 };
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) == 0)
        return;
#endif
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SRV_WORKER_NICE);
}

static void *worker_main(void *unused)
{
    (void)unused;
    lower_priority();
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
        pool.running++;
        pthread_mutex_unlock(&pool.lock);
        int64_t t0 = srv_now_ns();
        j->fn(j->arg);
        int64_t took = srv_now_ns() - t0;
        free(j);
        pthread_mutex_lock(&pool.lock);
        pool.running--;
        pool.pending--;
        /* Jobs skipped for a client that left take microseconds: they do not count. */
        if (took > 1000000)
            pool.avg_ns = pool.avg_ns ? pool.avg_ns + (took - pool.avg_ns) / 8 : took;
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

int srv_pool_start(int threads, long queue_max)
{
    pool.queue_max = queue_max;
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

long srv_pool_full(void)
{
    pthread_mutex_lock(&pool.lock);
    long queued = pool.pending - pool.running;
    long wait = 0;
    if (pool.queue_max > 0 && queued >= pool.queue_max) {
        /* Seconds until the queue has drained, at the recent pace: whole rounds of the workers. */
        int64_t avg = pool.avg_ns ? pool.avg_ns : 1000000000;
        int64_t ns = (queued / (pool.nthreads ? pool.nthreads : 1) + 1) * avg;
        wait = (long)((ns + 999999999) / 1000000000);
        if (wait < 1)
            wait = 1;
        pool.refused++;
    }
    pthread_mutex_unlock(&pool.lock);
    return wait;
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

void srv_pool_count_gone(void)
{
    pthread_mutex_lock(&pool.lock);
    pool.gone++;
    pthread_mutex_unlock(&pool.lock);
}

void srv_pool_counts(long *refused, long *gone)
{
    pthread_mutex_lock(&pool.lock);
    *refused = pool.refused;
    *gone = pool.gone;
    pthread_mutex_unlock(&pool.lock);
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
