/* Storage handles: wrapping a vtable, opening built-in backends by URL. */
#include "../core/internal.h"
#include "internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The vtable version that introduced each member. Append a row when a member is appended. */
unsigned int rm__vt_member_version(size_t offset)
{
    if (offset >= offsetof(rm_storage_vtable, resume_count))
        return 3; /* count members; list members honour search and ordering */
    if (offset >= offsetof(rm_storage_vtable, user_scan))
        return 2; /* export/import members (rm_storage_copy) */
    return 1;
}

int rm_storage_vtable_init(rm_storage_vtable *vtable, unsigned int version)
{
    if (!vtable)
        return rm__error_misuse("vtable is NULL");
    if (version == 0 || version > RM_STORAGE_VTABLE_VERSION)
        return rm__error_set(RM_EVERSION, "storage vtable version %u is not supported (this library knows up to %u)",
                             version, RM_STORAGE_VTABLE_VERSION);
    /* A backend built against older headers has a shorter vtable: clear only that version's members. */
    size_t size = version >= 3 ? sizeof(*vtable)
                  : version == 2 ? offsetof(rm_storage_vtable, resume_count)
                                 : offsetof(rm_storage_vtable, user_scan);
    memset(vtable, 0, size);
    vtable->version = version;
    return RM_OK;
}

int rm_storage_new(rm_storage **out, const rm_storage_vtable *vtable, void *self)
{
    if (!out || !vtable)
        return rm__error_misuse("out and vtable are required");
    *out = NULL;
    if (vtable->version == 0 || vtable->version > RM_STORAGE_VTABLE_VERSION)
        return rm__error_set(RM_EVERSION, "storage vtable version %u is not supported (this library knows up to %u)",
                             vtable->version, RM_STORAGE_VTABLE_VERSION);
    rm_storage *s = calloc(1, sizeof(*s));
    if (!s)
        return rm__error_nomem();
    s->vt = vtable;
    s->self = self;
    *out = s;
    return RM_OK;
}

void rm_storage_free(rm_storage *storage)
{
    if (!storage)
        return;
    if (RM__VT_HAS(storage->vt, close))
        storage->vt->close(storage->self);
    free(storage);
}

const rm_storage_vtable *rm_storage_vtable_of(const rm_storage *storage) { return storage ? storage->vt : NULL; }
void *rm_storage_self(const rm_storage *storage) { return storage ? storage->self : NULL; }

int rm_storage_set_error(int status, const char *message)
{
    return rm__error_set(status, "%s", message ? message : "storage error");
}

int rm_storage_open(rm_storage **out, const char *url)
{
    if (!out || !url)
        return rm__error_misuse("out and url are required");
    *out = NULL;
    if (strcmp(url, ":memory:") == 0 || strcmp(url, "sqlite://:memory:") == 0 || strcmp(url, "sqlite:///:memory:") == 0)
        return rm_storage_open_sqlite(out, ":memory:");
    if (strncmp(url, "sqlite:///", 10) == 0) {
        if (url[10] == '\0')
            return rm__error_field("storage_url", "sqlite URL has no path");
        return rm_storage_open_sqlite(out, url + 10);
    }
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return rm__storage_open_postgres(out, url);
    if (strstr(url, "://"))
        return rm__error_field("storage_url", "unknown storage URL scheme (expected sqlite:/// or postgres://)");
    if (url[0] == '\0')
        return rm__error_field("storage_url", "storage URL is empty");
    return rm_storage_open_sqlite(out, url);
}

#ifndef RM_HAVE_POSTGRES
int rm__storage_open_postgres(rm_storage **out, const char *url)
{
    (void)url;
    *out = NULL;
    return rm__error_field("storage_url", "this libresumate was built without PostgreSQL support");
}

bool rm__pg_user_get_for_token(rm_storage *s, int64_t id, rm_user_sink sink, void *sink_data, int *rc)
{
    (void)s, (void)id, (void)sink, (void)sink_data, (void)rc;
    return false;
}
#endif

int rm__storage_user_get_for_token(rm_storage *s, int64_t id, rm_user_sink sink, void *sink_data)
{
    if (!s || !sink)
        return rm__error_misuse("storage and sink are required");
    int rc;
    if (rm__pg_user_get_for_token(s, id, sink, sink_data, &rc))
        return rc;
    if (!RM__VT_HAS(s->vt, user_get))
        return rm__error_set(RM_ESTORAGE, "storage backend does not support user_get");
    return s->vt->user_get(s->self, id, NULL, sink, sink_data);
}
