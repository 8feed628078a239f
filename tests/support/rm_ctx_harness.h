/* The per-test ctx harness of the domain suites: a fresh ctx with an injected clock, on a SQLite file
 * or ":memory:"; TEST_BOTH runs one body against both. Include once, from one test file per executable
 * (it defines the file's static ctx, clock and fixtures). */
#ifndef RM_CTX_HARNESS_H
#define RM_CTX_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "rm_assert.h"

#define T0 INT64_C(1753322876000000) /* 2025-07-24T02:07:56Z */

static rm_ctx *ctx;
static rm_test_clock_state clk;
static char *db_path;

static void open_ctx(const char *url)
{
    clk.now_us = T0;
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage_url = url;
    o.password_iterations = 1000;
    o.clock = rm_test_clock;
    o.clock_userdata = &clk;
    int rc = rm_ctx_new(&ctx, &o);
    cr_assert_eq(rc, RM_OK, "rm_ctx_new(%s): %s", url, rm_error_message(rm_error_last()));
}
static void setup_file(void)
{
    db_path = rm_test_path(".db");
    open_ctx(db_path);
}
static void setup_mem(void) { open_ctx(":memory:"); }
static void teardown(void)
{
    rm_ctx_free(ctx);
    ctx = NULL;
    if (db_path) {
        char p[600];
        unlink(db_path);
        snprintf(p, sizeof(p), "%s-wal", db_path);
        unlink(p);
        snprintf(p, sizeof(p), "%s-shm", db_path);
        unlink(p);
        free(db_path);
        db_path = NULL;
    }
}
/* A new user (password irrelevant) and a principal for it; unused by some suites, hence inline. */
static inline rm_principal *new_principal(const char *name)
{
    rm_user *u = NULL;
    OK(rm_user_create(&u, ctx, name, "", "irrelevant-pw-1", 0));
    rm_principal *p = NULL;
    OK(rm_principal_for_user(&p, u));
    rm_user_free(u);
    return p;
}

/* One body, run against a SQLite file and against ":memory:". */
#define TEST_BOTH(suite, name)                                                                                         \
    static void suite##_##name##_body(void);                                                                           \
    Test(suite##_file, name, .init = setup_file, .fini = teardown) { suite##_##name##_body(); }                       \
    Test(suite##_mem, name, .init = setup_mem, .fini = teardown) { suite##_##name##_body(); }                         \
    static void suite##_##name##_body(void)

#endif
