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
    /* A caller built against older headers has a shorter struct: clear only that version's members. */
    memset(opts, 0, version >= 2 ? sizeof(*opts) : offsetof(rm_list_options, search));
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

static bool ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }
static char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

static const rm__sortfield *sort_field(const rm__listspec *spec, const char *name, size_t len)
{
    for (size_t i = 0; i < spec->n_fields; i++)
        if (strlen(spec->fields[i].name) == len && memcmp(spec->fields[i].name, name, len) == 0)
            return &spec->fields[i];
    return NULL;
}

/* "Unknown ordering field "x". Allowed: a, b, c." */
static int ordering_error(const rm__listspec *spec, const char *name, size_t len)
{
    char allowed[256] = "";
    for (size_t i = 0; i < spec->n_fields; i++) {
        size_t n = strlen(allowed);
        snprintf(allowed + n, sizeof allowed - n, "%s%s", i ? ", " : "", spec->fields[i].name);
    }
    rm__ferr *fe = rm__ferr_new();
    if (!fe)
        return rm__error_nomem();
    rm__ferr_addf(fe, "ordering", "Unknown ordering field \"%.*s\". Allowed: %s.", (int)(len > 64 ? 64 : len), name,
                  allowed);
    return rm__error_fields(fe, NULL);
}

/* DRF OrderingFilter: comma-separated names, '-' for descending, blanks skipped. Normalised to the
 * fields up to the first id, duplicates dropped, ending with id in the first field's direction. */
static int parse_ordering(rm__listq *lq, const char *text, const rm__listspec *spec)
{
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && ascii_space(*a))
            a++;
        while (b > a && ascii_space(b[-1]))
            b--;
        p = *end ? end + 1 : end;
        if (a == b)
            continue;
        bool desc = *a == '-';
        const rm__sortfield *f = sort_field(spec, a + desc, (size_t)(b - a - desc));
        if (!f)
            return ordering_error(spec, a, (size_t)(b - a));
        bool seen = false, done = false;
        for (size_t i = 0; i < lq->n_order; i++) {
            seen = seen || lq->order[i].f == f;
            done = done || strcmp(lq->order[i].f->name, "id") == 0;
        }
        if (done || seen) /* after id every row is already in place; a repeated field changes nothing */
            continue;
        if (lq->n_order == RM__MAX_ORDER_FIELDS)
            return rm__error_field("ordering", "Too many ordering fields (at most 8).");
        lq->order[lq->n_order].f = f;
        lq->order[lq->n_order].desc = desc;
        lq->n_order++;
    }
    if (lq->n_order == 0)
        return RM_OK;
    if (strcmp(lq->order[lq->n_order - 1].f->name, "id") != 0) {
        const rm__sortfield *id = sort_field(spec, "id", 2);
        lq->order[lq->n_order].f = id;
        lq->order[lq->n_order].desc = lq->order[0].desc;
        lq->n_order++;
    }
    rm__sb sb = {0};
    for (size_t i = 0; i < lq->n_order; i++) {
        if (i)
            rm__sb_puts(&sb, ",");
        if (lq->order[i].desc)
            rm__sb_puts(&sb, "-");
        rm__sb_puts(&sb, lq->order[i].f->name);
    }
    if (rm__sb_finish(&sb, &lq->ordering))
        return rm__error_nomem();
    if (strcmp(lq->ordering, spec->default_order) == 0) { /* the default order: keep its fast path and cursors */
        free(lq->ordering);
        lq->ordering = NULL;
        lq->n_order = 0;
    }
    lq->q.ordering = lq->ordering;
    return RM_OK;
}

/* DRF SearchFilter: terms split at whitespace and commas. Stored ASCII-lowercased. */
static int parse_search(rm__listq *lq, const char *text)
{
    size_t len = strlen(text);
    if (!rm__utf8_valid(text, len))
        return rm__error_field("search", "Enter valid UTF-8 text.");
    if (!(lq->terms_buf = malloc(len + 1)) || !(lq->terms = calloc(RM__MAX_SEARCH_TERMS, sizeof(char *))))
        return rm__error_nomem();
    size_t n = 0;
    char *o = lq->terms_buf;
    for (const char *p = text; *p;) {
        if (ascii_space(*p) || *p == ',') {
            p++;
            continue;
        }
        if (n == RM__MAX_SEARCH_TERMS)
            return rm__error_field("search", "Too many search terms (at most 16).");
        lq->terms[n++] = o;
        while (*p && !ascii_space(*p) && *p != ',')
            *o++ = ascii_lower(*p++);
        *o++ = '\0';
    }
    lq->q.search = n ? lq->terms : NULL;
    lq->q.search_count = n;
    return RM_OK;
}

void rm__listq_clear(rm__listq *lq)
{
    free(lq->ordering);
    free(lq->terms_buf);
    free(lq->terms);
    memset(lq, 0, sizeof(*lq));
}

int rm__listq_init(rm__listq *lq, const rm_list_options *o, const rm__listspec *spec)
{
    memset(lq, 0, sizeof(*lq));
    rm_storage_query *q = &lq->q;
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
    int rc;
    if (o->version >= 2 && o->ordering && (rc = parse_ordering(lq, o->ordering, spec)))
        return rc;
    if (o->cursor) {
        int64_t t, id;
        const char *p = o->cursor;
        if (strncmp(p, "2.", 2) == 0) { /* a position: any ordering */
            p += 2;
            if (!parse_i64(&p, &t) || *p || t < 0)
                return rm__error_field("cursor", "Invalid cursor");
            q->offset = t;
        } else {
            if (strncmp(p, "1.", 2) != 0 || !(p += 2, parse_i64(&p, &t)) || *p++ != '.' || !parse_i64(&p, &id) ||
                *p || id <= 0)
                return rm__error_field("cursor", "Invalid cursor");
            if (lq->ordering)
                return rm__error_field("cursor", "This cursor continues the default ordering, not the one given.");
            q->has_after = 1;
            q->after_time = t;
            q->after_id = id;
            q->offset = 0;
        }
    }
    lq->position = q->offset;
    if (o->status) {
        bool ok = false;
        for (size_t i = 0; i < 4; i++)
            ok = ok || strcmp(o->status, statuses[i]) == 0;
        if (!spec->allow_status)
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
    if (o->version >= 2 && o->search && (rc = parse_search(lq, o->search)))
        return rc;
    return RM_OK;
}

bool rm__list_needs_local(bool capable, const rm__listq *lq)
{
    return !capable && (lq->q.search_count > 0 || lq->q.ordering);
}

rm_storage_query rm__listq_backend(const rm__listq *lq)
{
    rm_storage_query q = {.has_after = lq->q.has_after, .after_time = lq->q.after_time,
                          .after_id = lq->q.after_id, .status = lq->q.status};
    return q;
}

static const char *text_at(const void *item, size_t off) { return *(const char *const *)((const char *)item + off); }
static int64_t int_at(const void *item, size_t off) { return *(const int64_t *)((const char *)item + off); }

/* Does hay contain term (already ASCII-lowercased), ignoring ASCII case? */
static bool contains_ci(const char *hay, const char *term)
{
    if (!hay)
        return false;
    size_t n = strlen(term);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && ascii_lower(hay[i]) == term[i])
            i++;
        if (i == n)
            return true;
    }
    return n == 0;
}

static bool matches(const void *item, const rm__listq *lq, const rm__listspec *spec)
{
    for (size_t t = 0; t < lq->q.search_count; t++) {
        bool any = false;
        for (size_t f = 0; f < spec->n_search && !any; f++)
            any = contains_ci(text_at(item, spec->search[f]), lq->q.search[t]);
        if (!any)
            return false;
    }
    return true;
}

void rm__list_filter(rm__vec *v, const rm__listq *lq, const rm__listspec *spec, void (*free_item)(void *))
{
    size_t k = 0;
    for (size_t i = 0; i < v->count; i++) {
        if (matches(v->items[i], lq, spec))
            v->items[k++] = v->items[i];
        else
            free_item(v->items[i]);
    }
    v->count = k;
}

static int compare(const void *a, const void *b, const rm__listq *lq)
{
    for (size_t i = 0; i < lq->n_order; i++) {
        const rm__sortfield *f = lq->order[i].f;
        int c;
        if (f->kind == RM__F_TEXT) {
            const char *x = text_at(a, f->off), *y = text_at(b, f->off);
            c = x && y ? strcmp(x, y) : x ? -1 : y ? 1 : 0; /* NULL after every value */
        } else {
            int64_t x = int_at(a, f->off), y = int_at(b, f->off);
            c = x < y ? -1 : x > y;
        }
        if (c)
            return lq->order[i].desc ? -c : c;
    }
    return 0;
}

/* Stable merge sort of items[0..n) using tmp[0..n). */
static void merge_sort(void **items, void **tmp, size_t n, const rm__listq *lq)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(items, tmp, h, lq);
    merge_sort(items + h, tmp, n - h, lq);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = compare(items[j], items[i], lq) < 0 ? items[j++] : items[i++];
    while (i < h)
        tmp[k++] = items[i++];
    while (j < n)
        tmp[k++] = items[j++];
    memcpy(items, tmp, n * sizeof(*items));
}

int rm__list_local(rm__vec *v, const rm__listq *lq, const rm__listspec *spec, void (*free_item)(void *))
{
    rm__list_filter(v, lq, spec, free_item);
    if (lq->n_order && v->count > 1) {
        void **tmp = malloc(v->count * sizeof(void *));
        if (!tmp)
            return rm__error_nomem();
        merge_sort(v->items, tmp, v->count, lq);
        free(tmp);
    }
    /* The backend applied status and the keyset cursor; apply offset and limit as it would have. */
    size_t skip = !lq->q.has_after && lq->q.offset > 0 ? (size_t)(lq->q.offset < (int64_t)v->count ? lq->q.offset : (int64_t)v->count) : 0;
    for (size_t i = 0; i < skip; i++)
        free_item(v->items[i]);
    memmove(v->items, v->items + skip, (v->count - skip) * sizeof(void *));
    v->count -= skip;
    while (lq->q.limit > 0 && v->count > (size_t)lq->q.limit)
        free_item(v->items[--v->count]);
    return RM_OK;
}

int rm__list_finish(rm__vec *v, const rm_list_options *o, const rm__listq *lq, const rm__listspec *spec,
                    void (*free_item)(void *))
{
    if (!o || o->limit == 0 || v->count <= (size_t)o->limit)
        return RM_OK;
    while (v->count > (size_t)o->limit)
        free_item(v->items[--v->count]);
    const void *last = v->items[v->count - 1];
    if (lq->ordering)
        v->next_cursor = rm__sprintf("2.%" PRId64, lq->position > INT64_MAX - o->limit ? INT64_MAX : lq->position + o->limit);
    else
        v->next_cursor = rm__sprintf("1.%" PRId64 ".%" PRId64, int_at(last, spec->time_off), int_at(last, 0));
    return v->next_cursor ? RM_OK : rm__error_nomem();
}
