/* Job applications: owner-scoped, soft-deleted; the public examples. */
#include "internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const STATUSES[] = {"Applied", "Interviewing", "Offer", "Rejected"};

static void app_release(rm_application_record *r)
{
    free((char *)r->job_title);
    free((char *)r->company_name);
    free((char *)r->original_job_description);
    free((char *)r->date_applied);
    free((char *)r->status);
    free((char *)r->notes);
}

void rm_application_free(rm_application *a)
{
    if (!a)
        return;
    app_release(&a->r);
    free(a);
}

static void app_free_any(void *p) { rm_application_free(p); }

static int app_copy(rm_application **out, const rm_application_record *rec)
{
    rm_application *a = calloc(1, sizeof(*a));
    if (!a)
        return rm__error_nomem();
    a->r = *rec;
    a->r.job_title = rm__strdup(rec->job_title);
    a->r.company_name = rm__strdup(rec->company_name);
    a->r.original_job_description = rm__strdup(rec->original_job_description);
    a->r.date_applied = rm__strdup(rec->date_applied);
    a->r.status = strdup(rec->status ? rec->status : "Applied");
    a->r.notes = rm__strdup(rec->notes);
    if ((rec->job_title && !a->r.job_title) || (rec->company_name && !a->r.company_name) ||
        (rec->original_job_description && !a->r.original_job_description) ||
        (rec->date_applied && !a->r.date_applied) || !a->r.status || (rec->notes && !a->r.notes)) {
        rm_application_free(a);
        return rm__error_nomem();
    }
    *out = a;
    return RM_OK;
}

typedef struct {
    rm_application *one;
    rm__vec *many;
} app_sink_data;

static int app_sink(void *data, const rm_application_record *rec)
{
    app_sink_data *d = data;
    rm_application *a;
    int rc = app_copy(&a, rec);
    if (rc)
        return rc;
    if (d->many) {
        if ((rc = rm__vec_push(d->many, a)))
            rm_application_free(a);
        return rc;
    }
    rm_application_free(d->one);
    d->one = a;
    return RM_OK;
}

/* user_id 0 = examples */
static int app_fetch(rm_application **out, rm_ctx *ctx, int64_t user_id, int64_t id)
{
    app_sink_data d = {0};
    int rc = id > 0 ? RM__STORE(ctx, application_get, user_id, id, app_sink, &d) : RM_ENOTFOUND;
    if (rc == RM_OK && !d.one)
        rc = RM_ENOTFOUND;
    if (rc) {
        rm_application_free(d.one);
        return rm__storage_status(rc);
    }
    *out = d.one;
    return RM_OK;
}

/* ---- validation ---- */

/* Changes decoded from fields; each *_set flag says the field was present. */
typedef struct {
    bool job_title_set, company_set, desc_set, date_set, status_set, notes_set, resume_set;
    char *job_title, *company, *desc, *date, *status, *notes;
    int64_t resume_used;
} app_input;

static void input_free(app_input *in)
{
    free(in->job_title);
    free(in->company);
    free(in->desc);
    free(in->date);
    free(in->status);
    free(in->notes);
}

static void text_field(rm__ferr *fe, const rm_fields *f, const char *name, size_t max, bool *set, char **out)
{
    const rm__charspec spec = {.allow_null = true, .allow_blank = true, .trim = true, .max_length = max};
    *set = rm__field_char(fe, f, name, &spec, out) > 0;
}

static void date_field(rm__ferr *fe, const rm_fields *f, app_input *in)
{
    json_t *v = rm__fields_value(f, "date_applied");
    if (!v)
        return;
    in->date_set = true;
    if (json_is_null(v) || (f->form && json_is_string(v) && json_string_length(v) == 0))
        return;
    int y, m, d, n = 0;
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    char buf[16];
    /* django.utils.dateparse.parse_date: YYYY-M(M)-D(D) */
    if (s && strlen(s) <= 10 && sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && s[n] == '\0' && s[0] >= '0' &&
        s[0] <= '9' && s[4] == '-' && strspn(s, "0123456789-") == strlen(s)) {
        snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
        if (rm__date_valid(buf)) {
            in->date = strdup(buf);
            return;
        }
    }
    rm__ferr_add(fe, "date_applied", "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.");
}

static void status_field(rm__ferr *fe, const rm_fields *f, app_input *in)
{
    json_t *v = rm__fields_value(f, "status");
    if (!v)
        return;
    in->status_set = true;
    if (json_is_null(v)) {
        rm__ferr_add(fe, "status", "This field may not be null.");
        return;
    }
    const char *s = rm_fields_get_string(f, "status");
    for (size_t i = 0; s && i < 4; i++)
        if (strcmp(s, STATUSES[i]) == 0) {
            in->status = strdup(s);
            return;
        }
    char *shown = s ? strndup(s, 100) : strdup(json_is_true(v) ? "True" : json_is_false(v) ? "False" : "...");
    rm__ferr_addf(fe, "status", "\"%s\" is not a valid choice.", shown ? shown : "");
    free(shown);
}

static void resume_field(rm__ferr *fe, rm_ctx *ctx, const rm_principal *who, const rm_fields *f, app_input *in)
{
    json_t *v = rm__fields_value(f, "resume_used");
    if (!v)
        return;
    in->resume_set = true;
    if (json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        return; /* DRF relational fields turn "" into null */
    char shown[64];
    int64_t pk;
    if (json_is_integer(v)) {
        pk = json_integer_value(v);
        snprintf(shown, sizeof(shown), "%lld", (long long)pk);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        long long ll = strtoll(s, &end, 10);
        if (!*s || *end || strlen(s) > 19) {
            rm__ferr_add(fe, "resume_used", "Incorrect type. Expected pk value, received str.");
            return;
        }
        pk = ll;
        snprintf(shown, sizeof(shown), "%.60s", s);
    } else {
        rm__ferr_addf(fe, "resume_used", "Incorrect type. Expected pk value, received %s.", rm__json_pytype(v));
        return;
    }
    rm_resume *r = NULL;
    int rc = pk > 0 ? rm_resume_get(&r, ctx, who, pk) : RM_ENOTFOUND;
    rm_resume_free(r);
    if (rc == RM_OK) {
        in->resume_used = pk;
    } else if (rc == RM_ENOTFOUND) {
        rm__ferr_addf(fe, "resume_used", "Invalid pk \"%s\" - object does not exist.", shown);
    } else {
        rm__ferr_add(fe, "resume_used", "Could not check the resume (storage error).");
    }
}

static int app_validate(rm_ctx *ctx, const rm_principal *who, const rm_fields *f, app_input *in)
{
    memset(in, 0, sizeof(*in));
    rm__ferr *fe = rm__ferr_new();
    if (!fe)
        return rm__error_nomem();
    text_field(fe, f, "job_title", 255, &in->job_title_set, &in->job_title);
    text_field(fe, f, "company_name", 255, &in->company_set, &in->company);
    text_field(fe, f, "original_job_description", 0, &in->desc_set, &in->desc);
    date_field(fe, f, in);
    status_field(fe, f, in);
    text_field(fe, f, "notes", 0, &in->notes_set, &in->notes);
    resume_field(fe, ctx, who, f, in);
    if (!rm__ferr_empty(fe)) {
        input_free(in);
        memset(in, 0, sizeof(*in));
        return rm__error_fields(fe, "Job application data is invalid.");
    }
    rm__ferr_free(fe);
    return RM_OK;
}

/* Point rec's members at the input's values where set (no copies). */
static void apply_input(rm_application_record *rec, const app_input *in)
{
    if (in->job_title_set)
        rec->job_title = in->job_title;
    if (in->company_set)
        rec->company_name = in->company;
    if (in->desc_set)
        rec->original_job_description = in->desc;
    if (in->date_set)
        rec->date_applied = in->date;
    if (in->status_set)
        rec->status = in->status;
    if (in->notes_set)
        rec->notes = in->notes;
    if (in->resume_set)
        rec->resume_used = in->resume_used;
}

static int check_args(rm_ctx *ctx, const rm_principal *who, const void *fields)
{
    if (!ctx || !who || !fields)
        return rm__error_misuse("ctx, who and fields are required");
    return rm__require_user(who);
}

int rm_application_create(rm_application **out, rm_ctx *ctx, const rm_principal *who, const rm_fields *fields)
{
    if (out)
        *out = NULL;
    int rc = check_args(ctx, who, fields);
    if (rc)
        return rc;
    app_input in;
    if ((rc = app_validate(ctx, who, fields, &in)))
        return rc;
    int64_t now = rm_ctx_now(ctx);
    rm_application_record rec = {.user_id = who->user_id, .status = "Applied", .created_at = now, .updated_at = now};
    apply_input(&rec, &in);
    rc = RM__STORE(ctx, application_insert, &rec, &rec.id);
    if (rc)
        rc = rm__storage_status(rc);
    else if (out)
        rc = app_copy(out, &rec);
    input_free(&in);
    return rc;
}

int rm_application_get(rm_application **out, rm_ctx *ctx, const rm_principal *who, int64_t id)
{
    if (!out || !ctx || !who)
        return rm__error_misuse("out, ctx and who are required");
    *out = NULL;
    int rc = rm__require_user(who);
    return rc ? rc : app_fetch(out, ctx, who->user_id, id);
}

static int app_change(rm_application **out, rm_ctx *ctx, const rm_principal *who, int64_t id, const rm_fields *fields)
{
    if (out)
        *out = NULL;
    int rc = check_args(ctx, who, fields);
    if (rc)
        return rc;
    rm_application *cur = NULL;
    if ((rc = app_fetch(&cur, ctx, who->user_id, id)))
        return rc;
    app_input in;
    if ((rc = app_validate(ctx, who, fields, &in))) {
        rm_application_free(cur);
        return rc;
    }
    rm_application_record rec = cur->r;
    apply_input(&rec, &in);
    rec.updated_at = rm_ctx_now(ctx);
    rc = RM__STORE(ctx, application_update, &rec);
    if (rc)
        rc = rm__storage_status(rc);
    else if (out)
        rc = app_copy(out, &rec);
    input_free(&in);
    rm_application_free(cur);
    return rc;
}

int rm_application_update(rm_application **out, rm_ctx *ctx, const rm_principal *who, int64_t id, const rm_fields *fields)
{
    return app_change(out, ctx, who, id, fields);
}

int rm_application_patch(rm_application **out, rm_ctx *ctx, const rm_principal *who, int64_t id, const rm_fields *fields)
{
    return app_change(out, ctx, who, id, fields);
}

int rm_application_delete(rm_ctx *ctx, const rm_principal *who, int64_t id)
{
    if (!ctx || !who)
        return rm__error_misuse("ctx and who are required");
    int rc = rm__require_user(who);
    if (rc)
        return rc;
    rc = id > 0 ? RM__STORE(ctx, application_delete, who->user_id, id, rm_ctx_now(ctx)) : RM_ENOTFOUND;
    return rc ? rm__storage_status(rc) : RM_OK;
}

/* ---- lists ---- */

struct rm_application_page {
    rm__vec v;
};

#define APP_OFF(m) offsetof(rm_application_record, m)
static const rm__sortfield app_fields[] = {
    {"id", RM__F_INT, APP_OFF(id)},
    {"created_at", RM__F_TIME, APP_OFF(created_at)},
    {"updated_at", RM__F_TIME, APP_OFF(updated_at)},
    {"job_title", RM__F_TEXT, APP_OFF(job_title)},
    {"company_name", RM__F_TEXT, APP_OFF(company_name)},
    {"status", RM__F_TEXT, APP_OFF(status)},
    {"date_applied", RM__F_TEXT, APP_OFF(date_applied)},
};
static const size_t app_search[] = {APP_OFF(job_title), APP_OFF(company_name), APP_OFF(original_job_description)};
static const rm__listspec app_spec = {app_fields, sizeof app_fields / sizeof app_fields[0], app_search, 3,
                                      "-created_at,-id", APP_OFF(created_at), true};
static const rm__listspec example_spec = {app_fields, sizeof app_fields / sizeof app_fields[0], app_search, 3,
                                          "-created_at,-id", APP_OFF(created_at), false};

static int app_list(rm_application_page **out, rm_ctx *ctx, int64_t user_id, const rm_list_options *opts, bool examples)
{
    const rm__listspec *spec = examples ? &example_spec : &app_spec;
    rm__listq lq;
    int rc = rm__listq_init(&lq, opts, spec);
    rm_application_page *page = rc ? NULL : calloc(1, sizeof(*page));
    if (!rc && !page)
        rc = rm__error_nomem();
    if (!rc) {
        app_sink_data d = {.many = &page->v};
        bool local = rm__list_needs_local(RM__VT_HAS(RM__CTX_VT(ctx), application_count), &lq);
        rm_storage_query bq = rm__listq_backend(&lq);
        rc = RM__STORE(ctx, application_list, user_id, local ? &bq : &lq.q, app_sink, &d);
        if (rc)
            rc = rm__storage_status(rc);
        else if (local)
            rc = rm__list_local(&page->v, &lq, spec, app_free_any);
        if (!rc)
            rc = rm__list_finish(&page->v, opts, &lq, spec, app_free_any);
    }
    rm__listq_clear(&lq);
    if (rc) {
        rm_application_page_free(page);
        return rc;
    }
    *out = page;
    return RM_OK;
}

static int app_count(int64_t *out, rm_ctx *ctx, int64_t user_id, const rm_list_options *opts, bool examples)
{
    const rm__listspec *spec = examples ? &example_spec : &app_spec;
    rm__listq lq;
    int rc = rm__listq_init(&lq, opts, spec);
    if (!rc && RM__VT_HAS(RM__CTX_VT(ctx), application_count)) {
        rc = RM__CTX_VT(ctx)->application_count(RM__CTX_SELF(ctx), user_id, &lq.q, out);
        if (rc)
            rc = rm__storage_status(rc);
    } else if (!rc) { /* an older backend: count its full list */
        rm_storage_query bq = {.status = lq.q.status};
        rm__vec v = {0};
        app_sink_data d = {.many = &v};
        rc = RM__STORE(ctx, application_list, user_id, &bq, app_sink, &d);
        if (rc)
            rc = rm__storage_status(rc);
        rm__list_filter(&v, &lq, spec, app_free_any);
        *out = (int64_t)v.count;
        rm__vec_clear(&v, app_free_any);
    }
    rm__listq_clear(&lq);
    if (rc)
        *out = 0;
    return rc;
}

int rm_application_list(rm_application_page **out, rm_ctx *ctx, const rm_principal *who, const rm_list_options *opts)
{
    if (!out || !ctx || !who)
        return rm__error_misuse("out, ctx and who are required");
    *out = NULL;
    int rc = rm__require_user(who);
    return rc ? rc : app_list(out, ctx, who->user_id, opts, false);
}

int rm_application_count(int64_t *out, rm_ctx *ctx, const rm_principal *who, const rm_list_options *opts)
{
    if (!out || !ctx || !who)
        return rm__error_misuse("out, ctx and who are required");
    *out = 0;
    int rc = rm__require_user(who);
    return rc ? rc : app_count(out, ctx, who->user_id, opts, false);
}

int rm_example_list(rm_application_page **out, rm_ctx *ctx, const rm_list_options *opts)
{
    if (!out || !ctx)
        return rm__error_misuse("out and ctx are required");
    *out = NULL;
    return app_list(out, ctx, 0, opts, true);
}

int rm_example_count(int64_t *out, rm_ctx *ctx, const rm_list_options *opts)
{
    if (!out || !ctx)
        return rm__error_misuse("out and ctx are required");
    *out = 0;
    return app_count(out, ctx, 0, opts, true);
}

int rm_example_get(rm_application **out, rm_ctx *ctx, int64_t id)
{
    if (!out || !ctx)
        return rm__error_misuse("out and ctx are required");
    *out = NULL;
    return app_fetch(out, ctx, 0, id);
}

static const struct {
    const char *title, *company, *desc, *status, *date, *notes;
} EXAMPLES[] = {
    {"Senior Python Developer", "TechCorp",
     "We are looking for a senior Python developer with 5+ years of experience in Django, REST APIs and PostgreSQL.",
     "Applied", "2025-07-10", "Applied through the company website."},
    {"Frontend Engineer (React)", "Innovate Inc.",
     "Build responsive, accessible user interfaces with React, TypeScript and modern CSS.", "Interviewing",
     "2025-07-11", "First interview went well; technical round next week."},
    {"UX/UI Designer", "Creative Solutions",
     "Design intuitive user experiences, wireframes and prototypes; Figma and user research required.", "Applied",
     "2025-07-12", "Portfolio sent with the application."},
    {"DevOps Engineer", "CloudNet",
     "Own CI/CD pipelines, Kubernetes clusters and infrastructure as code on a major cloud platform.", "Offer",
     "2025-07-13", "Offer received; reviewing the package."},
    {"Product Manager", "Visionary Products",
     "Lead the product roadmap, work with engineering and design, and define success metrics.", "Rejected",
     "2025-07-14", "Position filled internally."},
};

/* Serialises "are there examples? if not, insert five" so concurrent seeds in one process make five, not
 * ten. Process-wide rather than per ctx: two ctxs may share one database. */
static pthread_mutex_t seed_lock = PTHREAD_MUTEX_INITIALIZER;

static int example_seed_locked(rm_ctx *ctx, int *created_out);

int rm_example_seed(rm_ctx *ctx, int *created_out)
{
    if (created_out)
        *created_out = 0;
    if (!ctx)
        return rm__error_misuse("ctx is required");
    pthread_mutex_lock(&seed_lock);
    int rc = example_seed_locked(ctx, created_out);
    pthread_mutex_unlock(&seed_lock);
    return rc;
}

static int example_seed_locked(rm_ctx *ctx, int *created_out)
{
    rm_storage_query q = {.limit = 1};
    app_sink_data d = {.many = &(rm__vec){0}};
    int rc = RM__STORE(ctx, application_list, 0, &q, app_sink, &d);
    size_t existing = d.many->count;
    rm__vec_clear(d.many, app_free_any);
    if (rc)
        return rm__storage_status(rc);
    if (existing)
        return RM_OK;
    int64_t owner;
    if ((rc = rm__system_user(ctx, "example_user", &ctx->example_user_id, &owner)))
        return rc;
    int created = 0;
    for (size_t i = 0; i < sizeof(EXAMPLES) / sizeof(EXAMPLES[0]); i++) {
        int64_t now = rm_ctx_now(ctx) + (int64_t)i; /* distinct times keep the seed order stable */
        rm_application_record rec = {.user_id = owner, .job_title = EXAMPLES[i].title,
                                     .company_name = EXAMPLES[i].company,
                                     .original_job_description = EXAMPLES[i].desc, .date_applied = EXAMPLES[i].date,
                                     .status = EXAMPLES[i].status, .notes = EXAMPLES[i].notes, .is_example = 1,
                                     .created_at = now, .updated_at = now};
        if ((rc = RM__STORE(ctx, application_insert, &rec, &rec.id)))
            break;
        created++;
    }
    if (created)
        rm__ctx_bump(ctx, RM_DATA_EXAMPLES);
    if (created_out)
        *created_out = created;
    return rc ? rm__storage_status(rc) : RM_OK;
}

/* ---- getters and JSON ---- */

int64_t rm_application_id(const rm_application *a) { return a ? a->r.id : 0; }
int64_t rm_application_user_id(const rm_application *a) { return a ? a->r.user_id : 0; }
const char *rm_application_job_title(const rm_application *a) { return a ? a->r.job_title : NULL; }
const char *rm_application_company_name(const rm_application *a) { return a ? a->r.company_name : NULL; }
const char *rm_application_original_job_description(const rm_application *a) { return a ? a->r.original_job_description : NULL; }
const char *rm_application_date_applied(const rm_application *a) { return a ? a->r.date_applied : NULL; }
const char *rm_application_status(const rm_application *a) { return a ? a->r.status : NULL; }
const char *rm_application_notes(const rm_application *a) { return a ? a->r.notes : NULL; }
int rm_application_is_deleted(const rm_application *a) { return a ? a->r.is_deleted != 0 : 0; }
int rm_application_is_example(const rm_application *a) { return a ? a->r.is_example != 0 : 0; }
int64_t rm_application_resume_used(const rm_application *a) { return a ? a->r.resume_used : 0; }
int64_t rm_application_created_at(const rm_application *a) { return a ? a->r.created_at : 0; }
int64_t rm_application_updated_at(const rm_application *a) { return a ? a->r.updated_at : 0; }

static void app_render(rm__sb *sb, const rm_application *a)
{
    const rm_application_record *r = &a->r;
    rm__sb_puts(sb, "{\"id\":");
    rm__sb_int(sb, r->id);
    rm__sb_puts(sb, ",\"job_title\":");
    rm__sb_str(sb, r->job_title);
    rm__sb_puts(sb, ",\"company_name\":");
    rm__sb_str(sb, r->company_name);
    rm__sb_puts(sb, ",\"original_job_description\":");
    rm__sb_str(sb, r->original_job_description);
    rm__sb_puts(sb, ",\"date_applied\":");
    rm__sb_str(sb, r->date_applied);
    rm__sb_puts(sb, ",\"status\":");
    rm__sb_str(sb, r->status);
    rm__sb_puts(sb, ",\"notes\":");
    rm__sb_str(sb, r->notes);
    rm__sb_puts(sb, r->is_deleted ? ",\"is_deleted\":true" : ",\"is_deleted\":false");
    rm__sb_puts(sb, r->is_example ? ",\"is_example\":true" : ",\"is_example\":false");
    rm__sb_puts(sb, ",\"created_at\":");
    rm__sb_time(sb, r->created_at);
    rm__sb_puts(sb, ",\"updated_at\":");
    rm__sb_time(sb, r->updated_at);
    rm__sb_puts(sb, ",\"user\":");
    rm__sb_int(sb, r->user_id);
    rm__sb_puts(sb, ",\"resume_used\":");
    if (r->resume_used)
        rm__sb_int(sb, r->resume_used);
    else
        rm__sb_puts(sb, "null");
    rm__sb_puts(sb, "}");
}

int rm_application_to_json(char **out, const rm_application *a)
{
    if (!out || !a)
        return rm__error_misuse("out and app are required");
    rm__sb sb = {0};
    app_render(&sb, a);
    return rm__sb_finish(&sb, out);
}

void rm_application_page_free(rm_application_page *p)
{
    if (!p)
        return;
    rm__vec_clear(&p->v, app_free_any);
    free(p);
}

size_t rm_application_page_count(const rm_application_page *p) { return p ? p->v.count : 0; }
const rm_application *rm_application_page_at(const rm_application_page *p, size_t i) { return p && i < p->v.count ? p->v.items[i] : NULL; }
const char *rm_application_page_next_cursor(const rm_application_page *p) { return p ? p->v.next_cursor : NULL; }

int rm_application_page_to_json(char **out, const rm_application_page *p)
{
    if (!out || !p)
        return rm__error_misuse("out and page are required");
    rm__sb sb = {0};
    rm__sb_reserve(&sb, 512 * p->v.count + 2);
    rm__sb_puts(&sb, "[");
    for (size_t i = 0; i < p->v.count; i++) {
        if (i)
            rm__sb_puts(&sb, ",");
        app_render(&sb, p->v.items[i]);
    }
    rm__sb_puts(&sb, "]");
    return rm__sb_finish(&sb, out);
}
