/* bench_ai: N concurrent generations (default 1000) against tests/ai/fake_provider.py with a fixed
 * provider latency (default 2 s), in process, through the built-in libcurl transport.
 * Prints successes, wall time, throughput, latency p50/p99 and peak RSS.
 * Usage: bench_ai [N] [latency_seconds] */
#define _GNU_SOURCE
#include <resumate/resumate.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct {
    double start, end;
    int status;
} slot;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done_count;

static void on_done(void *ud, int status, rm_ai_result *r, const rm_error *e)
{
    slot *s = ud;
    s->end = now_s();
    s->status = status;
    rm_ai_result_free(r);
    pthread_mutex_lock(&mu);
    done_count++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static pid_t start_fake(int *port)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execlp("python3", "python3", RM_SOURCE_DIR "/tests/ai/fake_provider.py", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    if (!f || fscanf(f, "PORT %d", port) != 1)
        return -1;
    fclose(f);
    return pid;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    double latency = argc > 2 ? atof(argv[2]) : 2.0;
    setenv("no_proxy", "127.0.0.1", 1);
    int port = 0;
    pid_t fake = start_fake(&port);
    if (fake < 0) {
        fprintf(stderr, "could not start the fake provider\n");
        return 1;
    }
    char base[64], cmd[256];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d/v1", port);
    snprintf(cmd, sizeof(cmd), "curl -s -o /dev/null -d '{\"delay\": %g}' http://127.0.0.1:%d/_control/default", latency, port);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not set the fake's latency\n");

    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage_url = ":memory:";
    o.ai_timeout_ms = 60000;
    o.ai_connect_timeout_ms = 30000;
    o.ai_deadline_ms = 120000;
    rm_ctx *ctx = NULL;
    rm_fields *mf = NULL;
    if (rm_ctx_new(&ctx, &o) || rm_fields_new(&mf)) {
        fprintf(stderr, "ctx: %s\n", rm_error_message(rm_error_last()));
        return 1;
    }
    rm_fields_set_string(mf, "display_name", "Local");
    rm_fields_set_string(mf, "model_name", "bench-llm");
    rm_fields_set_string(mf, "api_provider", "openai_compatible");
    rm_fields_set_string(mf, "api_key_name", "");
    rm_fields_set_string(mf, "base_url", base);
    if (rm_ai_model_create(NULL, ctx, mf)) {
        fprintf(stderr, "model: %s\n", rm_error_message(rm_error_last()));
        return 1;
    }
    rm_principal *anon = NULL;
    rm_principal_anonymous(&anon);
    rm_fields *f = NULL;
    rm_fields_new(&f);
    rm_fields_set_string(f, "model", "Local");
    rm_fields_set_string(f, "user_input", "I am a software engineer with eight years of experience in C and Python.");

    slot *slots = calloc((size_t)n, sizeof(slot));
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        slots[i].start = now_s();
        int rc = rm_ai_generate_async(NULL, ctx, anon, f, NULL, NULL, on_done, &slots[i]);
        if (rc) {
            fprintf(stderr, "submit %d: %s\n", i, rm_error_message(rm_error_last()));
            slots[i].status = rc;
            pthread_mutex_lock(&mu);
            done_count++;
            pthread_mutex_unlock(&mu);
        }
    }
    pthread_mutex_lock(&mu);
    while (done_count < n)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    double wall = now_s() - t0;

    int ok = 0;
    double *lat = calloc((size_t)n, sizeof(double));
    for (int i = 0; i < n; i++) {
        ok += slots[i].status == RM_OK;
        lat[i] = slots[i].end - slots[i].start;
    }
    qsort(lat, (size_t)n, sizeof(double), cmp);
    printf("generations: %d, succeeded: %d, provider latency: %.1f s\n", n, ok, latency);
    printf("wall: %.2f s, throughput: %.1f generations/s\n", wall, n / wall);
    printf("latency p50: %.3f s, p99: %.3f s, max: %.3f s\n", lat[n / 2], lat[(n * 99) / 100], lat[n - 1]);
    printf("peak RSS: %ld KiB\n", peak_rss_kb());

    rm_fields_free(f);
    rm_fields_free(mf);
    rm_principal_free(anon);
    rm_ctx_free(ctx);
    kill(fake, SIGTERM);
    waitpid(fake, NULL, 0);
    free(slots);
    free(lat);
    return ok == n ? 0 : 1;
}
