/* bench_core: in-process throughput of the core domain calls on a SQLite file, and PBKDF2 verification
 * against Python's hashlib in the same run. Prints figures only; nothing here asserts on time.
 *
 *   bench_core [--seconds S] [--iterations N] [--python PATH_TO_pbkdf2_python.py | --no-python]
 *
 * Resume create, get and list (newest 20) run for S seconds each (default 2) with 1 and then 2 threads
 * sharing one rm_ctx; each thread works as its own user. PBKDF2-HMAC-SHA256 verification runs at N
 * iterations (default 720000, Django's default) through the library's verifier (what
 * rm_user_authenticate spends its time in), then bench/pbkdf2_python.py measures hashlib.pbkdf2_hmac
 * at the same settings and the ratio is printed. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/internal.h"
#include <resumate/resumate.h>

#ifndef RM_SOURCE_DIR
#  define RM_SOURCE_DIR "."
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_core: %s failed: %s: %s\n", what, rm_status_name(rc), rm_error_message(rm_error_last()));
    exit(1);
}

#define CHECK(what, expr)                                                                                              \
    do {                                                                                                               \
        int rc_ = (expr);                                                                                              \
        if (rc_ != RM_OK)                                                                                              \
            die(what, rc_);                                                                                            \
    } while (0)

enum op { OP_CREATE, OP_GET, OP_LIST20 };
static const char *const OP_NAMES[] = {"resume create", "resume get", "resume list (20)"};

typedef struct {
    rm_ctx *ctx;
    rm_principal *who;
    enum op op;
    double seconds;
    int64_t *ids; /* for OP_GET: this user's resume ids */
    size_t nids;
    unsigned seed;
    long ops;
    int failures;
} worker;

static void *run_worker(void *p)
{
    worker *w = p;
    rm_fields *f = NULL;
    CHECK("rm_fields_new", rm_fields_new(&f));
    rm_fields_set_string(f, "title", "Senior Backend Engineer");
    rm_fields_set_string(f, "content", "# Jane Doe\n\n## Experience\n\n* Built things in C and SQL for ten years.\n"
                                       "* Led a team of five.\n\n## Skills\n\nC, SQLite, PostgreSQL, HTTP\n");
    rm_list_options lo = RM_LIST_OPTIONS_INIT;
    lo.limit = 20;
    double end = now_s() + w->seconds;
    long ops = 0;
    while (now_s() < end) {
        int rc = RM_OK;
        if (w->op == OP_CREATE) {
            rm_resume *r = NULL;
            rc = rm_resume_create(&r, w->ctx, w->who, f);
            rm_resume_free(r);
        } else if (w->op == OP_GET) {
            rm_resume *r = NULL;
            rc = rm_resume_get(&r, w->ctx, w->who, w->ids[(size_t)rand_r(&w->seed) % w->nids]);
            rm_resume_free(r);
        } else {
            rm_resume_page *page = NULL;
            rc = rm_resume_list(&page, w->ctx, w->who, &lo);
            if (rc == RM_OK && rm_resume_page_count(page) != 20)
                rc = RM_ERROR;
            rm_resume_page_free(page);
        }
        if (rc != RM_OK)
            w->failures++;
        ops++;
    }
    w->ops = ops;
    rm_fields_free(f);
    return NULL;
}

/* The ids of a user's resumes (all of them). */
static int64_t *resume_ids(rm_ctx *ctx, const rm_principal *who, size_t *n)
{
    rm_resume_page *page = NULL;
    CHECK("rm_resume_list", rm_resume_list(&page, ctx, who, NULL));
    *n = rm_resume_page_count(page);
    int64_t *ids = malloc(*n * sizeof(*ids) + 1);
    for (size_t i = 0; i < *n; i++)
        ids[i] = rm_resume_id(rm_resume_page_at(page, i));
    rm_resume_page_free(page);
    return ids;
}

static double run_op(rm_ctx *ctx, rm_principal **who, int threads, enum op op, double seconds)
{
    worker w[2];
    pthread_t t[2];
    for (int i = 0; i < threads; i++) {
        w[i] = (worker){.ctx = ctx, .who = who[i], .op = op, .seconds = seconds, .seed = 12345u + (unsigned)i};
        if (op == OP_GET)
            w[i].ids = resume_ids(ctx, who[i], &w[i].nids);
    }
    double start = now_s();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, run_worker, &w[i]);
    long total = 0;
    int failures = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += w[i].ops;
        failures += w[i].failures;
        free(w[i].ids);
    }
    double elapsed = now_s() - start;
    if (failures) {
        fprintf(stderr, "bench_core: %s: %d of %ld calls failed\n", OP_NAMES[op], failures, total);
        exit(1);
    }
    double rate = (double)total / elapsed;
    printf("  %-18s %d thread%s  %10.0f ops/s  (%ld ops in %.2f s)\n", OP_NAMES[op], threads, threads > 1 ? "s" : " ", rate,
           total, elapsed);
    fflush(stdout);
    return rate;
}

#define READ_ROWS 1000 /* resumes of each reading user: get picks among them, list returns the newest 20 */

static rm_principal *bench_user(rm_ctx *ctx, const char *name)
{
    rm_user *u = NULL;
    rm_principal *p = NULL;
    CHECK("rm_user_create", rm_user_create(&u, ctx, name, "", NULL, 0));
    CHECK("rm_principal_for_user", rm_principal_for_user(&p, u));
    rm_user_free(u);
    return p;
}

static void bench_resumes(double seconds)
{
    char dir[] = "/tmp/rm-bench-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    char path[128];
    snprintf(path, sizeof(path), "%s/bench.db", dir);
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage_url = path;
    rm_ctx *ctx = NULL;
    CHECK("rm_ctx_new", rm_ctx_new(&ctx, &o));
    /* writers and readers are different users, so the readers' row count stays fixed */
    rm_principal *writers[2], *readers[2];
    rm_fields *f = NULL;
    CHECK("rm_fields_new", rm_fields_new(&f));
    rm_fields_set_string(f, "title", "Prepared");
    rm_fields_set_string(f, "content", "# Prepared resume\n\nSome content.\n");
    for (int i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof(name), "bench_writer_%d", i);
        writers[i] = bench_user(ctx, name);
        snprintf(name, sizeof(name), "bench_reader_%d", i);
        readers[i] = bench_user(ctx, name);
        for (int j = 0; j < READ_ROWS; j++)
            CHECK("rm_resume_create", rm_resume_create(NULL, ctx, readers[i], f));
    }
    rm_fields_free(f);
    printf("Resumes on a SQLite file (%s), one rm_ctx shared by the threads, one user per thread,\n"
           "%.1f s per figure; get and list run on users with %d resumes each:\n",
           path, seconds, READ_ROWS);
    for (int threads = 1; threads <= 2; threads++) {
        run_op(ctx, writers, threads, OP_CREATE, seconds);
        run_op(ctx, readers, threads, OP_GET, seconds);
        run_op(ctx, readers, threads, OP_LIST20, seconds);
    }
    for (int i = 0; i < 2; i++) {
        rm_principal_free(writers[i]);
        rm_principal_free(readers[i]);
    }
    rm_ctx_free(ctx);
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        char p[160];
        snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* Verifications per second at `iterations`, for at least `seconds` and at least 3 verifications. */
static double bench_pbkdf2_c(uint32_t iterations, double seconds)
{
    char *hash = NULL;
    CHECK("rm__password_hash", rm__password_hash(&hash, "correct horse battery staple", iterations));
    if (!rm__password_verify("correct horse battery staple", hash)) {
        fprintf(stderr, "bench_core: the hash does not verify\n");
        exit(1);
    }
    double start = now_s(), end = start + seconds;
    long n = 0;
    while (n < 3 || now_s() < end) {
        if (!rm__password_verify("correct horse battery staple", hash)) {
            fprintf(stderr, "bench_core: verification failed\n");
            exit(1);
        }
        n++;
    }
    double elapsed = now_s() - start;
    free(hash);
    double rate = (double)n / elapsed;
    printf("  libresumate rm__password_verify   %8.3f verifications/s  (%ld in %.2f s, %.1f ms each)\n", rate, n, elapsed,
           1000.0 * elapsed / (double)n);
    fflush(stdout);
    return rate;
}

/* Runs the Python script and reads its "ops/s:" figure; 0 if it could not run. */
static double bench_pbkdf2_python(const char *script, uint32_t iterations, double seconds)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "python3 '%s' --iterations %u --seconds %.2f", script, (unsigned)iterations, seconds);
    FILE *p = popen(cmd, "r");
    if (!p) {
        fprintf(stderr, "bench_core: cannot run %s: %s\n", cmd, strerror(errno));
        return 0;
    }
    char line[512];
    double rate = 0;
    while (fgets(line, sizeof(line), p)) {
        fputs("  ", stdout);
        fputs(line, stdout);
        const char *k = strstr(line, "ops/s:");
        if (k)
            rate = strtod(k + 6, NULL);
    }
    int st = pclose(p);
    if (st != 0)
        fprintf(stderr, "bench_core: %s exited with status %d\n", cmd, st);
    fflush(stdout);
    return st == 0 ? rate : 0;
}

int main(int argc, char **argv)
{
    double seconds = 2.0;
    uint32_t iterations = 720000;
    const char *script = RM_SOURCE_DIR "/bench/pbkdf2_python.py";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
            iterations = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--python") == 0 && i + 1 < argc)
            script = argv[++i];
        else if (strcmp(argv[i], "--no-python") == 0)
            script = NULL;
        else {
            fprintf(stderr, "usage: %s [--seconds S] [--iterations N] [--python SCRIPT | --no-python]\n", argv[0]);
            return 2;
        }
    }
    if (seconds <= 0 || iterations == 0) {
        fprintf(stderr, "bench_core: --seconds and --iterations must be positive\n");
        return 2;
    }
    printf("libresumate %s, %ld CPUs online\n", rm_version(), sysconf(_SC_NPROCESSORS_ONLN));
    bench_resumes(seconds);

    printf("PBKDF2-HMAC-SHA256 verification, %u iterations, 1 thread:\n", (unsigned)iterations);
    double c = bench_pbkdf2_c(iterations, seconds);
    if (script) {
        double py = bench_pbkdf2_python(script, iterations, seconds);
        if (py > 0)
            printf("  ratio libresumate / Python hashlib: %.2f\n", c / py);
    }
    return 0;
}
