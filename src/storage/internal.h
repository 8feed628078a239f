/* Internal interface between storage.c and the built-in backends. */
#ifndef RM_STORAGE_INTERNAL_H
#define RM_STORAGE_INTERNAL_H

#include "../core/internal.h"

/* PostgreSQL backend (src/storage/pg.c); without libpq it fails with RM_EINVALID naming the URL. */
int rm__storage_open_postgres(rm_storage **out, const char *url);

/* user_get by id for a token check (rm_token_authenticate). The PostgreSQL backend may answer from its
 * user cache (pg.c: user_cache_ttl, at most 1 s, emptied by any user write made in this process);
 * any other backend, or a build without PostgreSQL, reads the user. */
int rm__storage_user_get_for_token(rm_storage *s, int64_t id, rm_user_sink sink, void *sink_data);

#endif
