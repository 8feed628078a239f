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

/* Page options -> storage query. Validates limit/offset/cursor/status. The query asks for one row
 * more than limit so the caller can tell whether there is a next page. */
int rm__list_query(rm_storage_query *q, const rm_list_options *opts, bool allow_status);
/* Trim the extra row and set v->next_cursor from the last kept item's (time, id). */
int rm__list_finish(rm__vec *v, const rm_list_options *opts, int64_t (*time_of)(const void *),
                    int64_t (*id_of)(const void *), void (*free_item)(void *));

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
