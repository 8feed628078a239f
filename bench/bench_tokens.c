/* Tokens issued and verified per second, in-process, with 1 and 2 threads.
 *
 *   bench_tokens [seconds-per-run] [storage-url]
 *
 * Defaults: 2 seconds per run, a SQLite file in /tmp (WAL, as a server would use). Each run has every
 * thread call rm_token_obtain() (issue) or rm_token_authenticate() in a loop for the given time:
 * "verify" checks one token again and again (after its first use the ctx remembers that its signature
 * and claims were verified: times and one user read are what is left), "verify-new" goes round 4096
 * distinct tokens, more than the ctx remembers, so each call decodes in full (signature, claims, one
 * user read). Figures are printed, nothing is asserted. */
#define _GNU_SOURCE
#include <resumate/resumate.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N_TOKENS 4096

typedef struct job {
    rm_ctx *ctx;
    const rm_principal *who;
    const char *access;
    char **tokens; /* verify-new: N_TOKENS distinct tokens, used in turn */
    int verify;
    double seconds;
    long done;
    int failed;
} job;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
    job *j = arg;
    double end = now_s() + j->seconds;
    while (!j->failed) {
        for (int i = 0; i < 64; i++) {
            int rc;
            if (j->verify) {
                rm_principal *p = NULL;
                const char *t = j->tokens ? j->tokens[(size_t)j->done % N_TOKENS] : j->access;
                rc = rm_token_authenticate(&p, j->ctx, t);
                rm_principal_free(p);
            } else {
                rm_token_pair *pair = NULL;
                rc = rm_token_obtain(&pair, j->ctx, j->who);
                rm_token_pair_free(pair);
            }
            if (rc != RM_OK) {
                fprintf(stderr, "call failed: %s: %s\n", rm_status_name(rc), rm_error_message(rm_error_last()));
                j->failed = 1;
                break;
            }
            j->done++;
        }
        if (now_s() >= end)
            break;
    }
    return NULL;
}

static int measure(rm_ctx *ctx, const rm_principal *who, const char *access, char **tokens, int verify, int threads,
                   double seconds)
{
    job jobs[2];
    pthread_t tid[2];
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (job){.ctx = ctx, .who = who, .access = access, .tokens = tokens, .verify = verify,
                        .seconds = seconds, .done = i * (N_TOKENS / 2)};
        if (pthread_create(&tid[i], NULL, run, &jobs[i]) != 0)
            return -1;
    }
    long total = 0;
    int failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        total += jobs[i].done - i * (N_TOKENS / 2);
        failed |= jobs[i].failed;
    }
    double dt = now_s() - t0;
    if (failed)
        return -1;
    printf("%-10s threads=%d  %10.0f tokens/s  (%ld in %.2f s, %.2f us/call/thread)\n",
           !verify ? "issue" : tokens ? "verify-new" : "verify",
           threads, (double)total / dt, total, dt, dt * 1e6 * threads / (double)total);
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    char url[256];
    char path[200] = "";
    if (argc > 2) {
        snprintf(url, sizeof(url), "%s", argv[2]);
    } else {
        snprintf(path, sizeof(path), "/tmp/bench-tokens-%d.sqlite3", (int)getpid());
        snprintf(url, sizeof(url), "%s", path);
    }
    if (seconds <= 0)
        seconds = 2.0;

    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage_url = url;
    o.secret_key = "bench-secret-key-bench-secret-key-0123456789";
    rm_ctx *ctx = NULL;
    rm_user *user = NULL;
    rm_principal *who = NULL;
    rm_token_pair *pair = NULL;
    int rc = rm_ctx_new(&ctx, &o);
    if (rc == RM_OK)
        rc = rm_user_create(&user, ctx, "bench", "bench@example.com", NULL, 0);
    if (rc == RM_OK)
        rc = rm_principal_for_user(&who, user);
    if (rc == RM_OK)
        rc = rm_token_obtain(&pair, ctx, who);
    if (rc != RM_OK) {
        fprintf(stderr, "setup failed: %s: %s\n", rm_status_name(rc), rm_error_message(rm_error_last()));
        return 1;
    }
    char **tokens = calloc(N_TOKENS, sizeof(*tokens));
    for (size_t i = 0; rc == RM_OK && tokens && i < N_TOKENS; i++) {
        rm_token_pair *p = NULL;
        if ((rc = rm_token_obtain(&p, ctx, who)) == RM_OK && !(tokens[i] = strdup(rm_token_pair_access(p))))
            rc = RM_ENOMEM;
        rm_token_pair_free(p);
    }
    if (rc != RM_OK || !tokens) {
        fprintf(stderr, "setup failed: %s\n", rm_status_name(rc));
        return 1;
    }
    printf("storage %s, %.1f s per run, libresumate %s\n", argc > 2 ? url : "sqlite file (WAL)", seconds, rm_version());
    int status = 0;
    for (int threads = 1; threads <= 2 && status == 0; threads++) {
        status |= measure(ctx, who, NULL, NULL, 0, threads, seconds);
        status |= measure(ctx, who, rm_token_pair_access(pair), NULL, 1, threads, seconds);
        status |= measure(ctx, who, NULL, tokens, 1, threads, seconds);
    }
    for (size_t i = 0; i < N_TOKENS; i++)
        free(tokens[i]);
    free(tokens);
    rm_token_pair_free(pair);
    rm_principal_free(who);
    rm_user_free(user);
    rm_ctx_free(ctx);
    if (path[0]) {
        char extra[256];
        unlink(path);
        snprintf(extra, sizeof(extra), "%s-wal", path);
        unlink(extra);
        snprintf(extra, sizeof(extra), "%s-shm", path);
        unlink(extra);
    }
    return status == 0 ? 0 : 1;
}
