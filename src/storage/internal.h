/* Internal interface between storage.c and the built-in backends. */
#ifndef RM_STORAGE_INTERNAL_H
#define RM_STORAGE_INTERNAL_H

#include "../core/internal.h"

#include <stdbool.h>

/* PostgreSQL backend (src/storage/pg.c); without libpq it fails with RM_EINVALID naming the URL. */
int rm__storage_open_postgres(rm_storage **out, const char *url);

/* ---- list SQL with search and ordering (listsql.c), shared by the SQL backends ---- */

/* A field a list may be ordered by: the API name and its SQL column. */
typedef struct {
    const char *name;
    const char *col;
    bool text;
} rm__sql_field;

/* How a backend spells the pieces. */
typedef struct {
    /* A search term test: printf format taking the column (%s), then the term's parameter number (%d). */
    const char *match_fmt;
    /* Appended after a text column in ORDER BY (a collation), or "". */
    const char *text_collate;
} rm__sql_dialect;

/* The fields lists may be ordered by and searched in, shared by the SQL backends (plain column names). */
typedef struct {
    const rm__sql_field *order;
    size_t n_order;
    const char *const *search;
    size_t n_search;
} rm__list_fields;

extern const rm__list_fields rm__list_app_fields;    /* job applications */
extern const rm__list_fields rm__list_resume_fields; /* resumes */

/*
 * Build head [keyset when q has no ordering] [one AND (...) per search term, parameters first_term,
 * first_term+1, …] [ORDER BY the ordering, or default_order; none when default_order is NULL] tail.
 * Only the field table's column names and fixed text reach the SQL; an ordering naming a field not in the
 * table is RM_EMISUSE. *out is malloc'ed.
 */
int rm__sql_list(char **out, const rm__sql_dialect *d, const char *head, const char *keyset,
                 const rm_storage_query *q, const rm__list_fields *f, int first_term, const char *default_order,
                 const char *tail);

/* user_get by id for a token check (rm_token_authenticate). The PostgreSQL backend may answer from its
 * user cache (pg.c: user_cache_ttl, at most 1 s, emptied by any user write made in this process);
 * any other backend, or a build without PostgreSQL, reads the user. */
int rm__storage_user_get_for_token(rm_storage *s, int64_t id, rm_user_sink sink, void *sink_data);
/* The PostgreSQL backend's part of it: true with *rc when s is a PostgreSQL handle with its user cache on
 * (pg.c); false otherwise, and always without PostgreSQL (storage.c). */
bool rm__pg_user_get_for_token(rm_storage *s, int64_t id, rm_user_sink sink, void *sink_data, int *rc);

#endif
