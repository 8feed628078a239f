/* Internal interface of the domain area: handle layouts, field coercion, list plumbing. */
#ifndef RM_DOMAIN_INTERNAL_H
#define RM_DOMAIN_INTERNAL_H

#include "../core/internal.h"

#include <jansson.h>

/* ---- fields.c ---- */
struct rm_fields {
    json_t *obj;      /* name -> value */
    json_t *strcache; /* name -> decimal string of numeric values, for rm_fields_get_string */
    bool form;        /* came from a form body: "" counts as null for nullable non-blank fields */
};
/* The JSON value of a field, or NULL if absent. */
json_t *rm__fields_value(const rm_fields *f, const char *name);

/* DRF CharField. Returns 1 with *out set (malloc'ed, trimmed when trim; NULL when null), 0 when absent
 * and not required, -1 after adding a field error to fe. */
typedef struct {
    bool required, allow_null, allow_blank, trim;
    size_t max_length; /* 0 = none */
} rm__charspec;
int rm__field_char(rm__ferr *fe, const rm_fields *f, const char *name, const rm__charspec *spec, char **out);
/* DRF BooleanField (true/false, 1/0, "true"/"false"...). 1 with *out, 0 absent, -1 error. */
int rm__field_bool(rm__ferr *fe, const rm_fields *f, const char *name, int *out);
/* DRF IntegerField with a minimum. 1 with *out, 0 absent, -1 error. */
int rm__field_int(rm__ferr *fe, const rm_fields *f, const char *name, int64_t min, int64_t max, int64_t *out);
/* Python's str.strip() (Unicode whitespace) into a new string; NULL on ENOMEM. */
char *rm__strip_dup(const char *s);
/* Python type name of a JSON value, as DRF prints it ("str", "int", "bool", "list", "dict", "float"). */
const char *rm__json_pytype(const json_t *v);

/* ---- handles ---- */
struct rm_user {
    rm_user_record r; /* strings owned */
};
struct rm_principal {
    int64_t user_id;
    char *username;
    int is_staff, is_superuser;
};
struct rm_resume {
    rm_resume_record r;
    char *username;
};
struct rm_application {
    rm_application_record r;
};
struct rm_ai_model {
    rm_ai_model_record r;
};

/* A growable array of owned handle pointers plus an optional next cursor. */
typedef struct {
    void **items;
    size_t count, cap;
    char *next_cursor;
} rm__vec;
int rm__vec_push(rm__vec *v, void *item);
void rm__vec_clear(rm__vec *v, void (*free_item)(void *));

/* What a list may be filtered and ordered by. Offsets are into the record, which is the first member of
 * every handle, so they apply to handle pointers too. */
typedef enum { RM__F_INT, RM__F_TIME, RM__F_TEXT } rm__fkind;
typedef struct {
    const char *name; /* the API's field name */
    rm__fkind kind;
    size_t off;       /* offset of the member in the record */
} rm__sortfield;
typedef struct {
    const rm__sortfield *fields; /* the allowed ordering fields; "id" among them */
    size_t n_fields;
    const size_t *search;        /* offsets of the searched (nullable) text members */
    size_t n_search;
    const char *default_order;   /* the default order, normalised (e.g. "-created_at,-id") */
    size_t time_off;             /* the default order's time member (keyset cursors) */
    bool allow_status;
} rm__listspec;

#define RM__MAX_SEARCH_TERMS 16
#define RM__MAX_ORDER_FIELDS 8

/* Validated list options as a storage query, with the memory the query points into. */
typedef struct {
    rm_storage_query q;   /* asks for one row more than limit, so the caller can tell there is a next page */
    int64_t position;     /* offset of the first row asked for (position cursors) */
    char *ordering;       /* q.ordering, owned; NULL for the default order */
    char *terms_buf;      /* the search terms, owned */
    const char **terms;   /* q.search, owned */
    struct {
        const rm__sortfield *f;
        bool desc;
    } order[RM__MAX_ORDER_FIELDS + 1];
    size_t n_order;       /* parsed ordering (0 for the default) */
} rm__listq;

/* Validate limit/offset/cursor/status/search/ordering (field errors name the option) into lq; clear lq
 * with rm__listq_clear() whatever the outcome. */
int rm__listq_init(rm__listq *lq, const rm_list_options *opts, const rm__listspec *spec);
void rm__listq_clear(rm__listq *lq);
/* Whether lq searches or orders and the backend cannot: a backend declares that its list members honour
 * search and ordering by having the count member of that list (vtable version 3, non-NULL; `capable`
 * is RM__VT_HAS of it). Then list with rm__listq_backend() and finish with rm__list_local(). */
bool rm__list_needs_local(bool capable, const rm__listq *lq);
/* The query to send such a backend: status and keyset cursor only (no paging, search or ordering). */
rm_storage_query rm__listq_backend(const rm__listq *lq);
/* Search, sort and page v in the library, as a version-3 backend would have. */
int rm__list_local(rm__vec *v, const rm__listq *lq, const rm__listspec *spec, void (*free_item)(void *));
/* Drop the items of v that do not match lq's search terms. */
void rm__list_filter(rm__vec *v, const rm__listq *lq, const rm__listspec *spec, void (*free_item)(void *));
/* Trim the extra row and set v->next_cursor: keyset (time, id) of the last kept item in the default
 * order, the next position with a custom ordering. */
int rm__list_finish(rm__vec *v, const rm_list_options *opts, const rm__listq *lq, const rm__listspec *spec,
                    void (*free_item)(void *));

/* ---- user.c ---- */
int rm__user_copy(rm_user **out, const rm_user_record *rec);
/* Find or create a system user (inactive, unusable password): "anonymous_user" / "example_user". */
int rm__system_user(rm_ctx *ctx, const char *username, int64_t *cache, int64_t *id_out);
/* RM_EPERM unless who is a user. */
int rm__require_user(const rm_principal *who);

/* ---- common.c ---- */
int rm__dump(char **out, json_t *v); /* steals v */

/* ---- render.c: a string builder for JSON answers ---- */
typedef struct {
    char *buf;
    size_t len, cap;
    bool oom;
} rm__sb;
void rm__sb_reserve(rm__sb *sb, size_t more);
void rm__sb_putn(rm__sb *sb, const char *s, size_t n);
void rm__sb_puts(rm__sb *sb, const char *s);
void rm__sb_int(rm__sb *sb, int64_t v);
void rm__sb_str(rm__sb *sb, const char *s);  /* a JSON string, or null for NULL */
void rm__sb_time(rm__sb *sb, int64_t us);    /* ISO 8601 string, or null for RM_NO_TIME */
/* Hand the buffer to *out (or free it and fail with RM_ENOMEM). */
int rm__sb_finish(rm__sb *sb, char **out);

/* Set the standard not-found error and return RM_ENOTFOUND. */
int rm__not_found(void);
/* Map a storage status that has no error set to a clear message. */
int rm__storage_status(int rc);

#endif
