/* Internal interface between storage.c and the built-in backends. */
#ifndef RM_STORAGE_INTERNAL_H
#define RM_STORAGE_INTERNAL_H

#include "../core/internal.h"

/* PostgreSQL backend (src/storage/pg.c); without libpq it fails with RM_EINVALID naming the URL. */
int rm__storage_open_postgres(rm_storage **out, const char *url);

#endif
