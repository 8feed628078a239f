/* The transport handle: version checks around a backend vtable, and the synchronous helper. */
#include "../core/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct rm_transport {
    const rm_transport_vtable *vt;
    void *self;
};

/* The vtable version that introduced each member (all of them: version 1). */
static bool vt_has_submit(const rm_transport_vtable *vt) { return vt->version >= 1 && vt->submit; }
static bool vt_has_cancel(const rm_transport_vtable *vt) { return vt->version >= 1 && vt->cancel; }
static bool vt_has_close(const rm_transport_vtable *vt) { return vt->version >= 1 && vt->close; }

int rm_transport_vtable_init(rm_transport_vtable *vtable, unsigned int version)
{
    if (!vtable)
        return rm__error_misuse("vtable is NULL");
    if (version == 0 || version > RM_TRANSPORT_VTABLE_VERSION)
        return rm__error_set(RM_EVERSION, "transport vtable version %u is not supported", version);
    memset(vtable, 0, sizeof(*vtable));
    vtable->version = version;
    return RM_OK;
}

int rm_transport_request_init(rm_transport_request *req, unsigned int version)
{
    if (!req)
        return rm__error_misuse("req is NULL");
    if (version == 0 || version > RM_TRANSPORT_REQUEST_VERSION)
        return rm__error_set(RM_EVERSION, "transport request version %u is not supported", version);
    memset(req, 0, sizeof(*req));
    req->version = version;
    return RM_OK;
}

int rm_transport_new(rm_transport **out, const rm_transport_vtable *vtable, void *self)
{
    if (!out || !vtable)
        return rm__error_misuse("out and vtable are required");
    *out = NULL;
    if (vtable->version == 0 || vtable->version > RM_TRANSPORT_VTABLE_VERSION)
        return rm__error_set(RM_EVERSION, "transport vtable version %u is not supported", vtable->version);
    if (!vt_has_submit(vtable))
        return rm__error_misuse("the transport vtable has no submit member");
    rm_transport *t = calloc(1, sizeof(*t));
    if (!t)
        return rm__error_nomem();
    t->vt = vtable;
    t->self = self;
    *out = t;
    return RM_OK;
}

void rm_transport_free(rm_transport *t)
{
    if (!t)
        return;
    if (vt_has_close(t->vt))
        t->vt->close(t->self);
    free(t);
}

int rm_transport_submit(rm_transport *t, const rm_transport_request *req, rm_transport_data_fn on_data,
                        rm_transport_done_fn on_done, void *userdata, uint64_t *id_out)
{
    if (!t || !req || !on_done || !req->url || !req->url[0])
        return rm__error_misuse("transport, request, URL and completion callback are required");
    if (req->version == 0 || req->version > RM_TRANSPORT_REQUEST_VERSION)
        return rm__error_set(RM_EVERSION, "transport request version %u is not supported", req->version);
    uint64_t id = 0;
    int rc = t->vt->submit(t->self, req, on_data, on_done, userdata, &id);
    if (rc == RM_OK && id_out)
        *id_out = id;
    return rc;
}

int rm_transport_cancel(rm_transport *t, uint64_t id)
{
    if (!t)
        return rm__error_misuse("transport is NULL");
    if (!vt_has_cancel(t->vt))
        return RM_OK;
    return t->vt->cancel(t->self, id);
}

const char *rm_transport_response_header(const rm_transport_response *r, const char *name)
{
    if (!r || !name)
        return NULL;
    size_t n = strlen(name);
    for (size_t i = 0; i < r->header_count; i++) {
        const char *h = r->headers[i];
        if (h && strncasecmp(h, name, n) == 0 && h[n] == ':') {
            const char *v = h + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
    }
    return NULL;
}

/* ---- synchronous helper ---- */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int kind;
    int status;
    char *body;
    size_t len;
    bool nomem;
} sync_wait;

static void sync_done(void *ud, const rm_transport_response *r)
{
    sync_wait *w = ud;
    pthread_mutex_lock(&w->mu);
    w->kind = r->error_kind;
    w->status = r->status;
    w->body = rm__strndup(r->body ? r->body : "", r->body_len);
    w->len = r->body_len;
    w->nomem = w->body == NULL;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static int sync_status(const sync_wait *w)
{
    switch (w->kind) {
    case RM_TRANSPORT_OK:
        return RM_OK;
    case RM_TRANSPORT_ETIMEOUT:
        return rm__error_set(RM_ETIMEOUT, "the HTTP request timed out");
    case RM_TRANSPORT_ECANCELED:
        return rm__error_set(RM_ECANCELED, "the HTTP request was cancelled");
    case RM_TRANSPORT_ECONNECT:
        return rm__error_set_reason(RM_EUPSTREAM, RM_UPSTREAM_UNAVAILABLE, "could not connect");
    case RM_TRANSPORT_ERESET:
        return rm__error_set_reason(RM_EUPSTREAM, RM_UPSTREAM_UNAVAILABLE, "the connection broke");
    case RM_TRANSPORT_ETLS:
        return rm__error_set_reason(RM_EUPSTREAM, RM_UPSTREAM_UNAVAILABLE, "TLS failure");
    default:
        return rm__error_set_reason(RM_EUPSTREAM, RM_UPSTREAM_UNAVAILABLE, "the HTTP request failed");
    }
}

int rm_transport_perform(int *status_out, char **body_out, size_t *body_len_out, rm_transport *t,
                         const rm_transport_request *req)
{
    if (status_out)
        *status_out = 0;
    if (body_out)
        *body_out = NULL;
    if (body_len_out)
        *body_len_out = 0;
    sync_wait w = {.done = false};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    int rc = rm_transport_submit(t, req, NULL, sync_done, &w, NULL);
    if (rc == RM_OK) {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
        rc = w.nomem ? rm__error_nomem() : sync_status(&w);
        if (status_out)
            *status_out = w.status;
        if (rc == RM_OK && body_out) {
            *body_out = w.body;
            w.body = NULL;
        }
        if (rc == RM_OK && body_len_out)
            *body_len_out = w.len;
    }
    free(w.body);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return rc;
}
