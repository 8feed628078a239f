/*
 * basic.c — a tour of libresumate in one file.
 *
 * Opens a SQLite database in a fresh temporary directory, registers a user, logs them in, creates a
 * resume and a job application that used it, lists both, and cleans up. Every call is checked; on
 * failure the status name and the thread's last error are printed.
 *
 * Build against an installed library:  cc -std=c11 basic.c $(pkg-config --cflags --libs resumate)
 */
#define _POSIX_C_SOURCE 200809L

#include <resumate/resumate.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Print why a call failed: its status and the last error (message and any field errors). */
static int report(const char *what, int rc)
{
    const rm_error *err = rm_error_last();
    fprintf(stderr, "%s failed: %s: %s\n", what, rm_status_name(rc), rm_error_message(err));
    char *fields = NULL;
    if (rm_error_field_count(err) > 0 && rm_error_fields_json(&fields, err) == RM_OK)
        fprintf(stderr, "  field errors: %s\n", fields);
    rm_free(fields);
    return rc;
}

#define CHECK(call)                          \
    do {                                     \
        int rc_ = (call);                    \
        if (rc_ != RM_OK) {                  \
            report(#call, rc_);              \
            goto done;                       \
        }                                    \
    } while (0)

/* Field sets are the input of every create call; each setter copies its value. */
static rm_fields *fields_of(const char *const pairs[][2], size_t n)
{
    rm_fields *f = NULL;
    if (rm_fields_new(&f) != RM_OK)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (rm_fields_set_string(f, pairs[i][0], pairs[i][1]) != RM_OK) {
            rm_fields_free(f);
            return NULL;
        }
    }
    return f;
}

int main(void)
{
    int status = EXIT_FAILURE;
    char dir[512], db[600];
    rm_storage *storage = NULL;
    rm_ctx *ctx = NULL;
    rm_fields *in = NULL;
    rm_user *user = NULL;
    rm_principal *who = NULL;
    rm_resume *resume = NULL;
    rm_application *app = NULL;
    rm_resume_page *resumes = NULL;
    rm_application_page *apps = NULL;
    char *json = NULL;

    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/resumate-basic-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    snprintf(db, sizeof db, "%s/resumate.db", dir);
    printf("libresumate %s (headers %s), database %s\n", rm_version(), RM_VERSION_STRING, db);

    /* Storage is a separate handle: the ctx borrows it, so it must outlive the ctx. */
    CHECK(rm_storage_open_sqlite(&storage, db));
    rm_ctx_options opts = RM_CTX_OPTIONS_INIT;
    opts.storage = storage;
    CHECK(rm_ctx_new(&ctx, &opts));

    /* A weak password is refused with field errors in the REST API's shape. */
    const char *const weak[][2] = {
        {"username", "bob"}, {"email", "bob@example.com"}, {"password", "12345678"}, {"password2", "12345678"}};
    in = fields_of(weak, sizeof weak / sizeof weak[0]);
    if (!in)
        goto done;
    int rc = rm_user_register(NULL, ctx, in);
    if (rc != RM_EINVALID) {
        fprintf(stderr, "registering with a weak password gave %s, expected RM_EINVALID\n", rm_status_name(rc));
        goto done;
    }
    CHECK(rm_error_fields_json(&json, rm_error_last()));
    printf("weak password refused: %s\n", json);
    rm_free(json);
    json = NULL;
    rm_fields_free(in);
    in = NULL;

    /* Register and authenticate (PBKDF2 hashing: CPU-heavy, keep it off event loops). */
    const char *const alice[][2] = {{"username", "alice"},
                                    {"email", "alice@example.com"},
                                    {"password", "correct-horse-battery"},
                                    {"password2", "correct-horse-battery"}};
    in = fields_of(alice, sizeof alice / sizeof alice[0]);
    if (!in)
        goto done;
    CHECK(rm_user_register(&user, ctx, in));
    rm_fields_free(in);
    in = NULL;
    printf("registered user %lld: %s <%s>\n", (long long)rm_user_id(user), rm_user_username(user),
           rm_user_email(user));

    rc = rm_user_authenticate(&who, ctx, "alice", "wrong password");
    if (rc != RM_EAUTH) {
        fprintf(stderr, "a wrong password gave %s, expected RM_EAUTH\n", rm_status_name(rc));
        goto done;
    }
    rm_principal_free(who);
    who = NULL;
    CHECK(rm_user_authenticate(&who, ctx, "alice", "correct-horse-battery"));
    printf("authenticated as %s (user %lld)\n", rm_principal_username(who), (long long)rm_principal_user_id(who));

    /* A resume and a job application owned by the principal. */
    const char *const cv[][2] = {{"title", "Backend engineer"},
                                 {"content", "# Alice\n\nC, SQL and distributed systems."}};
    in = fields_of(cv, sizeof cv / sizeof cv[0]);
    if (!in)
        goto done;
    CHECK(rm_resume_create(&resume, ctx, who, in));
    rm_fields_free(in);
    in = NULL;

    const char *const job[][2] = {{"job_title", "Senior C developer"},
                                  {"company_name", "Example Corp"},
                                  {"date_applied", "2025-07-24"},
                                  {"status", "Applied"}};
    in = fields_of(job, sizeof job / sizeof job[0]);
    if (!in)
        goto done;
    CHECK(rm_fields_set_int(in, "resume_used", rm_resume_id(resume)));
    CHECK(rm_application_create(&app, ctx, who, in));
    rm_fields_free(in);
    in = NULL;
    printf("created resume %lld and application %lld (status %s)\n", (long long)rm_resume_id(resume),
           (long long)rm_application_id(app), rm_application_status(app));

    /* Lists: NULL options mean everything. Items are owned by their page. */
    CHECK(rm_resume_list(&resumes, ctx, who, NULL));
    CHECK(rm_resume_page_to_json(&json, resumes));
    printf("%zu resume(s): %s\n", rm_resume_page_count(resumes), json);
    rm_free(json);
    json = NULL;

    rm_list_options page = RM_LIST_OPTIONS_INIT;
    page.status = "Applied";
    CHECK(rm_application_list(&apps, ctx, who, &page));
    for (size_t i = 0; i < rm_application_page_count(apps); i++) {
        const rm_application *a = rm_application_page_at(apps, i);
        printf("application %lld: %s at %s, applied %s, resume %lld\n", (long long)rm_application_id(a),
               rm_application_job_title(a), rm_application_company_name(a), rm_application_date_applied(a),
               (long long)rm_application_resume_used(a));
    }
    if (rm_resume_page_count(resumes) != 1 || rm_application_page_count(apps) != 1) {
        fprintf(stderr, "expected one resume and one application\n");
        goto done;
    }
    status = EXIT_SUCCESS;

done:
    rm_free(json);
    rm_application_page_free(apps);
    rm_resume_page_free(resumes);
    rm_application_free(app);
    rm_resume_free(resume);
    rm_principal_free(who);
    rm_user_free(user);
    rm_fields_free(in);
    rm_ctx_free(ctx);
    rm_storage_free(storage);
    const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char path[640];
        snprintf(path, sizeof path, "%s%s", db, suffixes[i]);
        remove(path);
    }
    rmdir(dir);
    puts(status == EXIT_SUCCESS ? "done" : "FAILED");
    return status;
}
