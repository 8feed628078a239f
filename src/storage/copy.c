/* rm_storage_copy(): a whole database from one backend to another through the version 2 vtable
 * members (scans on the source, imports on the target), keeping ids. */
#include "../core/internal.h"
#include "internal.h"

#include <resumate/copy.h>

#include <string.h>

/* A sink's answer that stops an emptiness probe at its first row; not an ::rm_status. */
#define FOUND_ROW 0x7e57

typedef struct copy_run {
    const rm_storage_vtable *vt; /* the target's */
    void *self;
    int64_t *count;
} copy_run;

/* ---- emptiness probes ---- */

static int any_user(void *d, const rm_user_record *r) { (void)d, (void)r; return FOUND_ROW; }
static int any_resume(void *d, const rm_resume_record *r) { (void)d, (void)r; return FOUND_ROW; }
static int any_application(void *d, const rm_application_record *r) { (void)d, (void)r; return FOUND_ROW; }
static int any_ai_model(void *d, const rm_ai_model_record *r) { (void)d, (void)r; return FOUND_ROW; }
static int any_token(void *d, const rm_token_deny_record *r) { (void)d, (void)r; return FOUND_ROW; }
static int any_usage(void *d, const rm_usage_record *r) { (void)d, (void)r; return FOUND_ROW; }
static int any_idempotency(void *d, const rm_idempotency_record *r) { (void)d, (void)r; return FOUND_ROW; }

/* RM_OK when the probe saw no row; RM_ECONFLICT naming `what` when it saw one; else the failure. */
static int empty_or_conflict(int rc, const char *what)
{
    if (rc == FOUND_ROW)
        return rm__error_set(RM_ECONFLICT, "copy: the target storage is not empty (it holds %s); copy only into an "
                                           "empty database", what);
    return rc;
}

static int target_empty(const rm_storage_vtable *vt, void *self)
{
    int rc;
    if ((rc = empty_or_conflict(vt->user_scan(self, any_user, NULL), "users")) != RM_OK ||
        (rc = empty_or_conflict(vt->ai_model_list(self, 0, any_ai_model, NULL), "AI models")) != RM_OK ||
        (rc = empty_or_conflict(vt->resume_scan(self, any_resume, NULL), "resumes")) != RM_OK ||
        (rc = empty_or_conflict(vt->application_scan(self, any_application, NULL), "job applications")) != RM_OK ||
        (rc = empty_or_conflict(vt->token_scan(self, any_token, NULL), "token denylist entries")) != RM_OK ||
        (rc = empty_or_conflict(vt->usage_scan(self, any_usage, NULL), "daily usage counts")) != RM_OK)
        return rc;
    return empty_or_conflict(vt->idempotency_scan(self, any_idempotency, NULL), "idempotency keys");
}

/* ---- row copiers: import into the target, count ---- */

static int put_user(void *d, const rm_user_record *r)
{
    copy_run *c = d;
    int rc = c->vt->user_import(c->self, r);
    *c->count += rc == RM_OK;
    return rc;
}

static int put_ai_model(void *d, const rm_ai_model_record *r)
{
    copy_run *c = d;
    int rc = c->vt->ai_model_import(c->self, r);
    *c->count += rc == RM_OK;
    return rc;
}

static int put_resume(void *d, const rm_resume_record *r)
{
    copy_run *c = d;
    int rc = c->vt->resume_import(c->self, r);
    *c->count += rc == RM_OK;
    return rc;
}

static int put_application(void *d, const rm_application_record *r)
{
    copy_run *c = d;
    int rc = c->vt->application_import(c->self, r);
    *c->count += rc == RM_OK;
    return rc;
}

static int put_token(void *d, const rm_token_deny_record *r)
{
    copy_run *c = d;
    int rc = c->vt->token_deny(c->self, r->jti, r->user_id, r->expires_at);
    *c->count += rc == RM_OK;
    return rc;
}

static int put_usage(void *d, const rm_usage_record *r)
{
    copy_run *c = d;
    int rc = c->vt->usage_import(c->self, r);
    *c->count += rc == RM_OK;
    return rc;
}

static int put_idempotency(void *d, const rm_idempotency_record *r)
{
    copy_run *c = d;
    int rc = c->vt->idempotency_put(c->self, r->key, r->user_id, r->resume_id, r->created_at);
    *c->count += rc == RM_OK;
    return rc;
}

/* Both sides must have every member the copy uses (version 2 backends). */
#define NEED(vt, m, side)                                                                                       \
    do {                                                                                                         \
        if (!RM__VT_HAS(vt, m))                                                                                  \
            return rm__error_set(RM_ESTORAGE, "copy: the %s storage backend does not support " #m                 \
                                              " (it needs storage vtable version 2)", side);                     \
    } while (0)

static int check_source(const rm_storage_vtable *vt)
{
    NEED(vt, user_scan, "source");
    NEED(vt, ai_model_list, "source");
    NEED(vt, resume_scan, "source");
    NEED(vt, application_scan, "source");
    NEED(vt, token_scan, "source");
    NEED(vt, usage_scan, "source");
    NEED(vt, idempotency_scan, "source");
    return RM_OK;
}

static int check_target(const rm_storage_vtable *vt)
{
    int rc = check_source(vt); /* the emptiness probes use the same members */
    if (rc != RM_OK)
        return rm__error_set(rc, "copy: the target storage backend lacks a scan member (it needs storage vtable "
                                 "version 2)");
    NEED(vt, user_import, "target");
    NEED(vt, ai_model_import, "target");
    NEED(vt, resume_import, "target");
    NEED(vt, application_import, "target");
    NEED(vt, token_deny, "target");
    NEED(vt, usage_import, "target");
    NEED(vt, idempotency_put, "target");
    return RM_OK;
}

int rm_storage_copy(rm_storage *to, rm_storage *from, rm_copy_stats *stats_out)
{
    rm_copy_stats st;
    memset(&st, 0, sizeof(st));
    if (stats_out)
        *stats_out = st;
    if (!to || !from)
        return rm__error_misuse("to and from are required");
    if (to == from)
        return rm__error_misuse("copy: to and from are the same storage");
    const rm_storage_vtable *fv = from->vt, *tv = to->vt;
    void *fs = from->self;
    int rc;
    if ((rc = check_source(fv)) != RM_OK || (rc = check_target(tv)) != RM_OK)
        return rc;
    if ((rc = target_empty(tv, to->self)) != RM_OK)
        return rc;

    copy_run c = {.vt = tv, .self = to->self};
    /* Owners before what refers to them: users and models, then resumes, applications (resume_used). */
    c.count = &st.users;
    if ((rc = fv->user_scan(fs, put_user, &c)) != RM_OK)
        goto done;
    c.count = &st.ai_models;
    if ((rc = fv->ai_model_list(fs, 0, put_ai_model, &c)) != RM_OK)
        goto done;
    c.count = &st.resumes;
    if ((rc = fv->resume_scan(fs, put_resume, &c)) != RM_OK)
        goto done;
    c.count = &st.applications;
    if ((rc = fv->application_scan(fs, put_application, &c)) != RM_OK)
        goto done;
    c.count = &st.denied_tokens;
    if ((rc = fv->token_scan(fs, put_token, &c)) != RM_OK)
        goto done;
    c.count = &st.usage_counts;
    if ((rc = fv->usage_scan(fs, put_usage, &c)) != RM_OK)
        goto done;
    c.count = &st.idempotency_keys;
    rc = fv->idempotency_scan(fs, put_idempotency, &c);
done:
    if (stats_out)
        *stats_out = st;
    return rc;
}
