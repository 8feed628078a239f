/* SQL text of the list and count statements that search or use a custom ordering (vtable version 3).
 * The statement's shape depends on the number of search terms and the ordering, so it is built per call,
 * from fixed text and whitelisted column names only; every value travels as a parameter. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* `text` marks columns the dialect's text collation applies to (date_applied is a date on PostgreSQL). */
static const rm__sql_field app_order[] = {
    {"id", "id", false},
    {"created_at", "created_at", false},
    {"updated_at", "updated_at", false},
    {"job_title", "job_title", true},
    {"company_name", "company_name", true},
    {"status", "status", true},
    {"date_applied", "date_applied", false},
};
static const char *const app_search[] = {"job_title", "company_name", "original_job_description"};
static const rm__sql_field resume_order[] = {
    {"id", "id", false},
    {"created_at", "created_at", false},
    {"updated_at", "updated_at", false},
    {"title", "title", true},
};
static const char *const resume_search[] = {"title", "content"};

#define N_(a) (sizeof(a) / sizeof((a)[0]))
const rm__list_fields rm__list_app_fields = {app_order, N_(app_order), app_search, N_(app_search)};
const rm__list_fields rm__list_resume_fields = {resume_order, N_(resume_order), resume_search, N_(resume_search)};

typedef struct {
    char *buf;
    size_t len, cap;
    bool oom;
} sql_buf;

static void put(sql_buf *b, const char *fmt, ...) RM__PRINTF(2, 3);
static void put(sql_buf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->buf ? b->buf + b->len : NULL, b->buf ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->buf && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap ? b->cap : 256) * 2 + (size_t)n;
        char *nb = realloc(b->buf, cap);
        if (!nb) {
            b->oom = true;
            return;
        }
        b->buf = nb;
        b->cap = cap;
    }
}

int rm__sql_list(char **out, const rm__sql_dialect *d, const char *head, const char *keyset,
                 const rm_storage_query *q, const rm__list_fields *lf, int first_term, const char *default_order,
                 const char *tail)
{
    *out = NULL;
    sql_buf b = {0};
    put(&b, "%s", head);
    if (keyset && !q->ordering)
        put(&b, "%s", keyset);
    for (size_t t = 0; t < q->search_count; t++) {
        put(&b, " AND (");
        for (size_t c = 0; c < lf->n_search; c++) {
            put(&b, "%s", c ? " OR " : "");
            put(&b, d->match_fmt, lf->search[c], first_term + (int)t);
        }
        put(&b, ")");
    }
    if (default_order && q->ordering) {
        put(&b, " ORDER BY ");
        const char *p = q->ordering;
        for (int k = 0; *p; k++) {
            size_t len = strcspn(p, ",");
            bool desc = *p == '-';
            const rm__sql_field *f = NULL;
            for (size_t i = 0; i < lf->n_order && !f; i++)
                if (strlen(lf->order[i].name) == len - desc && memcmp(lf->order[i].name, p + desc, len - desc) == 0)
                    f = &lf->order[i];
            if (!f) {
                free(b.buf);
                return rm__error_misuse("storage query: unknown ordering field");
            }
            put(&b, "%s%s%s %s", k ? ", " : "", f->col, f->text ? d->text_collate : "",
                desc ? "DESC NULLS FIRST" : "ASC NULLS LAST");
            p += len + (p[len] == ',');
        }
    } else if (default_order) {
        put(&b, " ORDER BY %s", default_order);
    }
    put(&b, "%s", tail);
    if (b.oom) {
        free(b.buf);
        return rm__error_nomem();
    }
    *out = b.buf;
    return RM_OK;
}
