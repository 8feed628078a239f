/* Plumbing shared by the domain: JSON output, pages and cursors, standard errors. */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rm__dump(char **out, json_t *v)
{
    if (!v)
        return rm__error_nomem();
    char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    json_decref(v);
    if (!s)
        return rm__error_nomem();
    *out = s;
    return RM_OK;
}

int rm__not_found(void) { return rm__error_set(RM_ENOTFOUND, "Not found."); }

int rm__storage_status(int rc)
{
    const rm_error *e = rm_error_last();
    if (rc == RM_ENOTFOUND)
        return rm__not_found();
    if (rm_error_code(e) != rc)
        return rm__error_set(rc, "storage failed (%s)", rm_status_name(rc));
    return rc;
}

int rm__vec_push(rm__vec *v, void *item)
{
    if (v->count == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        void **n = realloc(v->items, cap * sizeof(void *));
        if (!n)
            return rm__error_nomem();
        v->items = n;
        v->cap = cap;
    }
    v->items[v->count++] = item;
    return RM_OK;
}

void rm__vec_clear(rm__vec *v, void (*free_item)(void *))
{
    for (size_t i = 0; i < v->count; i++)
        free_item(v->items[i]);
    free(v->items);
    free(v->next_cursor);
    memset(v, 0, sizeof(*v));
}

int rm_list_options_init(rm_list_options *opts, unsigned int version)
{
    if (!opts)
        return rm__error_misuse("opts is NULL");
    if (version == 0 || version > RM_LIST_OPTIONS_VERSION)
        return rm__error_set(RM_EVERSION, "list options version %u is not supported", version);
    memset(opts, 0, sizeof(*opts));
    opts->version = version;
    return RM_OK;
}

/* Exactly what "%" PRId64 writes: an optional '-', digits, no overflow (sscanf would also take spaces,
 * '+' and out-of-range numbers). Advances *p past the number. */
static bool parse_i64(const char **p, int64_t *out)
{
    const char *s = *p;
    bool neg = *s == '-';
    s += neg;
    if (*s < '0' || *s > '9')
        return false;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    *p = s;
    return true;
}

static const char *const statuses[] = {"Applied", "Interviewing", "Offer", "Rejected"};

int rm__list_query(rm_storage_query *q, const rm_list_options *o, bool allow_status)
{
    memset(q, 0, sizeof(*q));
    if (!o)
        return RM_OK;
    if (o->version == 0 || o->version > RM_LIST_OPTIONS_VERSION)
        return rm__error_set(RM_EVERSION, "list options version %u is not supported", o->version);
    if (o->limit < 0)
        return rm__error_field("limit", "Ensure this value is greater than or equal to 0.");
    if (o->offset < 0)
        return rm__error_field("offset", "Ensure this value is greater than or equal to 0.");
    if (o->limit > INT64_MAX - 1)
        return rm__error_field("limit", "Ensure this value is less than or equal to 9223372036854775806.");
    q->limit = o->limit ? o->limit + 1 : 0;
    q->offset = o->offset;
    if (o->cursor) {
        int64_t t, id;
        const char *p = o->cursor;
        if (strncmp(p, "1.", 2) != 0 || !(p += 2, parse_i64(&p, &t)) || *p++ != '.' || !parse_i64(&p, &id) || *p ||
            id <= 0)
            return rm__error_field("cursor", "Invalid cursor");
        q->has_after = 1;
        q->after_time = t;
        q->after_id = id;
        q->offset = 0;
    }
    if (o->status) {
        bool ok = false;
        for (size_t i = 0; i < 4; i++)
            ok = ok || strcmp(o->status, statuses[i]) == 0;
        if (!allow_status)
            return rm__error_field("status", "This list cannot be filtered by status.");
        if (!ok) {
            rm__ferr *fe = rm__ferr_new();
            if (!fe)
                return rm__error_nomem();
            rm__ferr_addf(fe, "status", "Select a valid choice. %.64s is not one of the available choices.", o->status);
            return rm__error_fields(fe, NULL);
        }
        q->status = o->status;
    }
    return RM_OK;
}

int rm__list_finish(rm__vec *v, const rm_list_options *o, int64_t (*time_of)(const void *),
                    int64_t (*id_of)(const void *), void (*free_item)(void *))
{
    if (!o || o->limit == 0 || v->count <= (size_t)o->limit)
        return RM_OK;
    while (v->count > (size_t)o->limit)
        free_item(v->items[--v->count]);
    const void *last = v->items[v->count - 1];
    v->next_cursor = rm__sprintf("1.%" PRId64 ".%" PRId64, time_of(last), id_of(last));
    return v->next_cursor ? RM_OK : rm__error_nomem();
}
