/* SQLite file databases under a stream of writes (see src/storage/sqlite.c): the background
 * checkpointer copies the WAL into the database file, the WAL starts over instead of growing without
 * bound, and concurrent writes through the one writer connection each keep their own outcome: a write
 * is visible to every other handle once its call returns, and a failing write takes nothing else with
 * it. */
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

static int count_user(void *data, const rm_user_record *rec)
{
    (void)rec;
    ++*(int *)data;
    return RM_OK;
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

/* 24,000 inserts write about six times as many WAL frames as the 20,000-page hard limit, yet the
 * WAL file stays near that limit (it started over from its beginning), and every row is there. */
Test(sqlite_wal, wal_starts_over_under_sustained_writes, .init = setup_file, .fini = teardown, .timeout = 240)
{
    rm_principal *who = new_principal("walstream");
    long long peak = 0;
    for (int round = 0; round < 48; round++) {
        create_n(who, round * 500, 500);
        long long w = file_size(db_path, "-wal");
        if (w > peak)
            peak = w;
    }
    /* The WAL starts over at about 20,000 frames (4 KiB pages + 24-byte headers); the commits that
     * cross that mark before the catch-up gets the checkpoint lock (the checkpointer thread may hold
     * it for a while) add some more. Without the restart these inserts write about 120,000 frames. */
    long long bound = 40000LL * (4096 + 24) + 32;
    cr_assert_leq(peak, bound, "WAL reached %lld bytes (bound %lld)", peak, bound);
    cr_assert_eq(count_of(who), 24000);
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

/* ---- concurrent writes ---- */

enum { WRITERS = 6, WRITES = 300 };

typedef struct rjob {
    rm_principal *who;
    rm_ctx *other; /* a second ctx (its own storage handle and connections) on the same file */
    int index;
    int failures;
} rjob;

/* Each write, once its call has returned, is read back through the other handle. */
static void *resume_writer(void *arg)
{
    rjob *j = arg;
    for (int i = 0; i < WRITES; i++) {
        char title[48];
        snprintf(title, sizeof(title), "t%d-%d", j->index, i);
        rm_fields *f = rm_test_fields("title", title, "content", "x", NULL);
        rm_resume *r = NULL;
        int rc = rm_resume_create(&r, ctx, j->who, f);
        rm_fields_free(f);
        if (rc != RM_OK) {
            j->failures++;
            continue;
        }
        rm_resume *seen = NULL;
        if (rm_resume_get(&seen, j->other, j->who, rm_resume_id(r)) != RM_OK)
            j->failures++;
        rm_resume_free(seen);
        rm_resume_free(r);
    }
    return NULL;
}

/* Storage-level user inserts, every other one a duplicate username (a UNIQUE violation), from several
 * threads at once: the duplicates fail with RM_ECONFLICT, the others succeed. */
typedef struct ujob {
    rm_storage *s;
    int index;
    int ok, conflicts, other;
} ujob;

static void *user_writer(void *arg)
{
    ujob *j = arg;
    const rm_storage_vtable *vt = rm_storage_vtable_of(j->s);
    void *self = rm_storage_self(j->s);
    for (int i = 0; i < WRITES; i++) {
        char name[48];
        if (i % 2)
            snprintf(name, sizeof(name), "dup-%d", j->index); /* inserted at i == 1, then conflicts */
        else
            snprintf(name, sizeof(name), "u-%d-%d", j->index, i);
        rm_user_record u = {.username = name, .email = "", .password = "!", .first_name = "", .last_name = "",
                            .is_active = 1, .date_joined = T0, .last_login = RM_NO_TIME,
                            .tokens_valid_after = RM_NO_TIME};
        int64_t id = 0;
        int rc = vt->user_insert(self, &u, &id);
        if (rc == RM_OK && id > 0)
            j->ok++;
        else if (rc == RM_ECONFLICT)
            j->conflicts++;
        else
            j->other++;
    }
    return NULL;
}

Test(sqlite_writes, every_write_is_visible_to_another_handle_when_its_call_returns, .init = setup_file,
     .fini = teardown)
{
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage_url = db_path;
    o.password_iterations = 1000;
    rm_ctx *other = NULL;
    OK(rm_ctx_new(&other, &o));
    rm_principal *who = new_principal("concurrent");
    rjob jobs[WRITERS];
    pthread_t t[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        jobs[i] = (rjob){.who = who, .other = other, .index = i};
        cr_assert_eq(pthread_create(&t[i], NULL, resume_writer, &jobs[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(jobs[i].failures, 0, "writer %d: %d writes failed or were not visible", i, jobs[i].failures);
    }
    cr_assert_eq(count_of(who), WRITERS * WRITES);
    rm_principal_free(who);
    rm_ctx_free(other);
}

Test(sqlite_writes, a_failing_write_takes_nothing_else_with_it, .init = setup_file, .fini = teardown)
{
    rm_storage *s = rm_ctx_storage(ctx);
    ujob jobs[WRITERS];
    pthread_t t[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        jobs[i] = (ujob){.s = s, .index = i};
        cr_assert_eq(pthread_create(&t[i], NULL, user_writer, &jobs[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
    /* Read back through a fresh handle: exactly the successful inserts are there. */
    rm_storage *fresh = NULL;
    OK(rm_storage_open(&fresh, db_path));
    const rm_storage_vtable *vt = rm_storage_vtable_of(fresh);
    for (int i = 0; i < WRITERS; i++) {
        cr_assert_eq(jobs[i].other, 0, "writer %d: %d unexpected failures", i, jobs[i].other);
        cr_assert_eq(jobs[i].ok, WRITES / 2 + 1, "writer %d: %d inserted", i, jobs[i].ok);
        cr_assert_eq(jobs[i].conflicts, WRITES / 2 - 1);
        for (int k = 0; k < WRITES; k += 2) {
            char name[48];
            snprintf(name, sizeof(name), "u-%d-%d", i, k);
            int found = 0;
            cr_assert_eq(vt->user_get(rm_storage_self(fresh), 0, name, count_user, &found), RM_OK);
            cr_assert_eq(found, 1, "%s is missing", name);
        }
    }
    rm_storage_free(fresh);
}
