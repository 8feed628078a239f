/* SQLite file databases under a stream of writes: the background checkpointer copies the WAL into the
 * database file, and the WAL starts over instead of growing without bound (see src/storage/sqlite.c). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "rm_test.h"

#include "rm_ctx_harness.h"

static long long file_size(const char *path, const char *suffix)
{
    char p[600];
    snprintf(p, sizeof(p), "%s%s", path, suffix);
    struct stat st;
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

/* About 1 KiB of content, different per resume, so every insert touches a few pages. */
static void create_n(const rm_principal *who, int from, int n)
{
    char content[1100];
    for (int i = from; i < from + n; i++) {
        int len = snprintf(content, sizeof(content), "# Resume %d\n", i);
        while (len < 1000)
            len += snprintf(content + len, sizeof(content) - (size_t)len, "line %d of resume %d. ", len, i);
        char title[32];
        snprintf(title, sizeof(title), "Resume %d", i);
        rm_fields *f = rm_test_fields("title", title, "content", content, NULL);
        OK(rm_resume_create(NULL, ctx, who, f));
        rm_fields_free(f);
    }
}

static int64_t count_of(const rm_principal *who)
{
    int64_t n = -1;
    OK(rm_resume_count(&n, ctx, who, NULL));
    return n;
}

/* The checkpointer runs by itself once the WAL passes its threshold: the rows reach the database
 * file while nothing else happens. */
Test(sqlite_wal, checkpointer_copies_into_the_database_file, .init = setup_file, .fini = teardown)
{
    rm_principal *who = new_principal("walwriter");
    long long before = file_size(db_path, "");
    cr_assert_gt(before, 0);
    create_n(who, 0, 1500); /* ~1.5 MB of content alone: well past the 1000-page threshold */
    cr_assert_gt(file_size(db_path, "-wal"), 1000 * 4096LL);
    long long after = before;
    for (int i = 0; i < 1000 && after < before + 1000 * 1024LL; i++) { /* polls up to ~10 s */
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
        after = file_size(db_path, "");
    }
    cr_assert_geq(after, before + 1000 * 1024LL, "database file %lld -> %lld bytes: nothing was checkpointed", before,
                  after);
    cr_assert_eq(count_of(who), 1500);
    rm_principal_free(who);
}

/* 12,000 inserts write far more WAL frames than the 20,000-page hard limit, yet the WAL file stays
 * below it (it started over from its beginning), and every row is there. */
Test(sqlite_wal, wal_starts_over_under_sustained_writes, .init = setup_file, .fini = teardown, .timeout = 240)
{
    rm_principal *who = new_principal("walstream");
    long long peak = 0;
    for (int round = 0; round < 24; round++) {
        create_n(who, round * 500, 500);
        long long w = file_size(db_path, "-wal");
        if (w > peak)
            peak = w;
    }
    /* 20,000 frames of 4 KiB pages + their 24-byte headers, plus the one commit that crosses it. */
    long long bound = 20000LL * (4096 + 24) + 64 * (4096 + 24) + 32;
    cr_assert_leq(peak, bound, "WAL reached %lld bytes (bound %lld)", peak, bound);
    cr_assert_eq(count_of(who), 12000);
    rm_principal_free(who);
}

/* Writes from two threads and reads from a third, interleaved: each writer then reads back every
 * row it wrote, through whichever connection its read gets. */
typedef struct {
    rm_principal *who;
    int from;
} job;

static void *writer_main(void *arg)
{
    job *j = arg;
    create_n(j->who, j->from, 400);
    return NULL;
}

static volatile int stop_reading;

static void *reader_main(void *arg)
{
    const rm_principal *who = arg;
    int64_t last = 0;
    while (!stop_reading) {
        int64_t n = count_of(who);
        cr_assert_geq(n, last, "a reader saw %lld rows after %lld", (long long)n, (long long)last);
        last = n;
    }
    return NULL;
}

TEST_BOTH(sqlite_wal, concurrent_writers_and_readers_see_every_commit)
{
    rm_principal *a = new_principal("walwa");
    rm_principal *b = new_principal("walwb");
    job ja = {a, 0}, jb = {b, 0};
    pthread_t ta, tb, tr;
    stop_reading = 0;
    cr_assert_eq(pthread_create(&tr, NULL, reader_main, a), 0);
    cr_assert_eq(pthread_create(&ta, NULL, writer_main, &ja), 0);
    cr_assert_eq(pthread_create(&tb, NULL, writer_main, &jb), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    stop_reading = 1;
    pthread_join(tr, NULL);
    cr_assert_eq(count_of(a), 400);
    cr_assert_eq(count_of(b), 400);
    rm_principal_free(a);
    rm_principal_free(b);
}
