/* Resumes: owner-scoped CRUD with DRF validation. */
#include "internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void rm_resume_free(rm_resume *r)
{
    if (!r)
        return;
    free((char *)r->r.title);
    free((char *)r->r.content);
    free(r->username);
    free(r);
}

static void resume_free_any(void *p) { rm_resume_free(p); }

typedef struct {
    const char *username;
    rm_resume *one;
    rm__vec *many;
} resume_sink_data;

static int resume_copy(rm_resume **out, const rm_resume_record *rec, const char *username)
{
    rm_resume *r = calloc(1, sizeof(*r));
    if (!r)
        return rm__error_nomem();
    r->r = *rec;
    r->r.title = strdup(rec->title ? rec->title : "");
    r->r.content = strdup(rec->content ? rec->content : "");
    r->username = strdup(username ? username : "");
    if (!r->r.title || !r->r.content || !r->username) {
        rm_resume_free(r);
        return rm__error_nomem();
    }
    *out = r;
    return RM_OK;
}

static int resume_sink(void *data, const rm_resume_record *rec)
{
    resume_sink_data *d = data;
    rm_resume *r;
    int rc = resume_copy(&r, rec, d->username);
    if (rc)
        return rc;
    if (d->many) {
        if ((rc = rm__vec_push(d->many, r)))
            rm_resume_free(r);
        return rc;
    }
    rm_resume_free(d->one);
    d->one = r;
    return RM_OK;
}

static int resume_fetch(rm_resume **out, rm_ctx *ctx, const rm_principal *who, int64_t id)
{
    resume_sink_data d = {.username = who->username};
    int rc = id > 0 ? RM__STORE(ctx, resume_get, who->user_id, id, resume_sink, &d) : RM_ENOTFOUND;
    if (rc == RM_OK && !d.one)
        rc = RM_ENOTFOUND;
    if (rc) {
        rm_resume_free(d.one);
        return rm__storage_status(rc);
    }
    *out = d.one;
    return RM_OK;
}

/* Validate title/content; partial: only present fields. Results are malloc'ed or NULL when absent. */
static int resume_validate(const rm_fields *f, bool partial, char **title, char **content)
{
    rm__ferr *fe = rm__ferr_new();
    if (!fe)
        return rm__error_nomem();
    const rm__charspec tspec = {.required = !partial, .trim = true, .max_length = 255};
    const rm__charspec cspec = {.required = !partial, .trim = true};
    rm__field_char(fe, f, "title", &tspec, title);
    rm__field_char(fe, f, "content", &cspec, content);
    if (!rm__ferr_empty(fe)) {
        free(*title);
        free(*content);
        *title = *content = NULL;
        return rm__error_fields(fe, "Resume data is invalid.");
    }
    rm__ferr_free(fe);
    return RM_OK;
}

static int check_args(rm_ctx *ctx, const rm_principal *who, const void *fields)
{
    if (!ctx || !who || !fields)
        return rm__error_misuse("ctx, who and fields are required");
    return rm__require_user(who);
}

int rm_resume_create(rm_resume **out, rm_ctx *ctx, const rm_principal *who, const rm_fields *fields)
{
    if (out)
        *out = NULL;
    int rc = check_args(ctx, who, fields);
    if (rc)
        return rc;
    char *title = NULL, *content = NULL;
    if ((rc = resume_validate(fields, false, &title, &content)))
        return rc;
    int64_t now = rm_ctx_now(ctx);
    rm_resume_record rec = {.user_id = who->user_id, .title = title, .content = content, .created_at = now, .updated_at = now};
    rc = RM__STORE(ctx, resume_insert, &rec, &rec.id);
    if (rc)
        rc = rm__storage_status(rc);
    else if (out)
        rc = resume_copy(out, &rec, who->username);
    free(title);
    free(content);
    return rc;
}

int rm_resume_get(rm_resume **out, rm_ctx *ctx, const rm_principal *who, int64_t id)
{
    if (!out || !ctx || !who)
        return rm__error_misuse("out, ctx and who are required");
    *out = NULL;
    int rc = rm__require_user(who);
    return rc ? rc : resume_fetch(out, ctx, who, id);
}

#define RES_OFF(m) offsetof(rm_resume_record, m)
static const rm__sortfield resume_fields[] = {
    {"id", RM__F_INT, RES_OFF(id)},
    {"created_at", RM__F_TIME, RES_OFF(created_at)},
    {"updated_at", RM__F_TIME, RES_OFF(updated_at)},
    {"title", RM__F_TEXT, RES_OFF(title)},
};
static const size_t resume_search[] = {RES_OFF(title), RES_OFF(content)};
static const rm__listspec resume_spec = {resume_fields, sizeof resume_fields / sizeof resume_fields[0], resume_search,
                                         2, "-updated_at,-id", RES_OFF(updated_at), false};

struct rm_resume_page {
    rm__vec v;
};

int rm_resume_list(rm_resume_page **out, rm_ctx *ctx, const rm_principal *who, const rm_list_options *opts)
{
    if (!out || !ctx || !who)
        return rm__error_misuse("out, ctx and who are required");
    *out = NULL;
    int rc = rm__require_user(who);
    if (rc)
        return rc;
    rm__listq lq;
    rc = rm__listq_init(&lq, opts, &resume_spec);
    rm_resume_page *page = rc ? NULL : calloc(1, sizeof(*page));
    if (!rc && !page)
        rc = rm__error_nomem();
    if (!rc) {
        resume_sink_data d = {.username = who->username, .many = &page->v};
        bool local = rm__list_needs_local(RM__VT_HAS(RM__CTX_VT(ctx), resume_count), &lq);
        rm_storage_query bq = rm__listq_backend(&lq);
        rc = RM__STORE(ctx, resume_list, who->user_id, local ? &bq : &lq.q, resume_sink, &d);
        if (rc)
            rc = rm__storage_status(rc);
        else if (local)
            rc = rm__list_local(&page->v, &lq, &resume_spec, resume_free_any);
        if (!rc)
            rc = rm__list_finish(&page->v, opts, &lq, &resume_spec, resume_free_any);
    }
    rm__listq_clear(&lq);
    if (rc) {
        rm_resume_page_free(page);
        return rc;
    }
    *out = page;
    return RM_OK;
}

int rm_resume_count(int64_t *out, rm_ctx *ctx, const rm_principal *who, const rm_list_options *opts)
{
    if (!out || !ctx || !who)
        return rm__error_misuse("out, ctx and who are required");
    *out = 0;
    int rc = rm__require_user(who);
    if (rc)
        return rc;
    rm__listq lq;
    rc = rm__listq_init(&lq, opts, &resume_spec);
    if (!rc && RM__VT_HAS(RM__CTX_VT(ctx), resume_count)) {
        rc = RM__CTX_VT(ctx)->resume_count(RM__CTX_SELF(ctx), who->user_id, &lq.q, out);
        if (rc)
            rc = rm__storage_status(rc);
    } else if (!rc) { /* an older backend: count its full list */
        rm_storage_query bq = {0};
        rm__vec v = {0};
        resume_sink_data d = {.username = who->username, .many = &v};
        rc = RM__STORE(ctx, resume_list, who->user_id, &bq, resume_sink, &d);
        if (rc)
            rc = rm__storage_status(rc);
        rm__list_filter(&v, &lq, &resume_spec, resume_free_any);
        *out = (int64_t)v.count;
        rm__vec_clear(&v, resume_free_any);
    }
    rm__listq_clear(&lq);
    if (rc)
        *out = 0;
    return rc;
}

static int resume_change(rm_resume **out, rm_ctx *ctx, const rm_principal *who, int64_t id, const rm_fields *fields,
                         bool partial)
{
    if (out)
        *out = NULL;
    int rc = check_args(ctx, who, fields);
    if (rc)
        return rc;
    rm_resume *cur = NULL;
    if ((rc = resume_fetch(&cur, ctx, who, id)))
        return rc;
    char *title = NULL, *content = NULL;
    if ((rc = resume_validate(fields, partial, &title, &content))) {
        rm_resume_free(cur);
        return rc;
    }
    rm_resume_record rec = cur->r;
    if (title)
        rec.title = title;
    if (content)
        rec.content = content;
    rec.updated_at = rm_ctx_now(ctx);
    rc = RM__STORE(ctx, resume_update, &rec);
    if (rc)
        rc = rm__storage_status(rc);
    else if (out)
        rc = resume_copy(out, &rec, who->username);
    free(title);
    free(content);
    rm_resume_free(cur);
    return rc;
}

int rm_resume_update(rm_resume **out, rm_ctx *ctx, const rm_principal *who, int64_t id, const rm_fields *fields)
{
    return resume_change(out, ctx, who, id, fields, false);
}

int rm_resume_patch(rm_resume **out, rm_ctx *ctx, const rm_principal *who, int64_t id, const rm_fields *fields)
{
    return resume_change(out, ctx, who, id, fields, true);
}

int rm_resume_delete(rm_ctx *ctx, const rm_principal *who, int64_t id)
{
    if (!ctx || !who)
        return rm__error_misuse("ctx and who are required");
    int rc = rm__require_user(who);
    if (rc)
        return rc;
    rc = id > 0 ? RM__STORE(ctx, resume_delete, who->user_id, id) : RM_ENOTFOUND;
    return rc ? rm__storage_status(rc) : RM_OK;
}

int64_t rm_resume_id(const rm_resume *r) { return r ? r->r.id : 0; }
int64_t rm_resume_user_id(const rm_resume *r) { return r ? r->r.user_id : 0; }
const char *rm_resume_username(const rm_resume *r) { return r ? r->username : NULL; }
const char *rm_resume_title(const rm_resume *r) { return r ? r->r.title : NULL; }
const char *rm_resume_content(const rm_resume *r) { return r ? r->r.content : NULL; }
int64_t rm_resume_created_at(const rm_resume *r) { return r ? r->r.created_at : 0; }
int64_t rm_resume_updated_at(const rm_resume *r) { return r ? r->r.updated_at : 0; }

static void resume_render(rm__sb *sb, const rm_resume *r)
{
    rm__sb_puts(sb, "{\"id\":");
    rm__sb_int(sb, r->r.id);
    rm__sb_puts(sb, ",\"user\":");
    rm__sb_str(sb, r->username);
    rm__sb_puts(sb, ",\"title\":");
    rm__sb_str(sb, r->r.title);
    rm__sb_puts(sb, ",\"content\":");
    rm__sb_str(sb, r->r.content);
    rm__sb_puts(sb, ",\"created_at\":");
    rm__sb_time(sb, r->r.created_at);
    rm__sb_puts(sb, ",\"updated_at\":");
    rm__sb_time(sb, r->r.updated_at);
    rm__sb_puts(sb, "}");
}

int rm_resume_to_json(char **out, const rm_resume *r)
{
    if (!out || !r)
        return rm__error_misuse("out and resume are required");
    rm__sb sb = {0};
    resume_render(&sb, r);
    return rm__sb_finish(&sb, out);
}

void rm_resume_page_free(rm_resume_page *p)
{
    if (!p)
        return;
    rm__vec_clear(&p->v, resume_free_any);
    free(p);
}

size_t rm_resume_page_count(const rm_resume_page *p) { return p ? p->v.count : 0; }
const rm_resume *rm_resume_page_at(const rm_resume_page *p, size_t i) { return p && i < p->v.count ? p->v.items[i] : NULL; }
const char *rm_resume_page_next_cursor(const rm_resume_page *p) { return p ? p->v.next_cursor : NULL; }

int rm_resume_page_to_json(char **out, const rm_resume_page *p)
{
    if (!out || !p)
        return rm__error_misuse("out and page are required");
    rm__sb sb = {0};
    rm__sb_puts(&sb, "[");
    for (size_t i = 0; i < p->v.count; i++) {
        if (i)
            rm__sb_puts(&sb, ",");
        resume_render(&sb, p->v.items[i]);
    }
    rm__sb_puts(&sb, "]");
    return rm__sb_finish(&sb, out);
}
