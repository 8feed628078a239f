/*
 * The route table of resumate-server and its handlers. Handlers are thin: they call the library and
 * render its JSON; validation, ownership and business rules live in libresumate.
 */
#include "server.h"

#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <resumate/token.h>

/* ---- helpers ---- */

static const char *query(struct srv_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* A query parameter that is present and not blank, else NULL (DRF treats "?search=" as absent). */
static const char *query_nonblank(struct srv_req *r, const char *name)
{
    const char *v = query(r, name);
    return v && *v ? v : NULL;
}

/* DRF's _positive_int: a decimal integer >= 0 (> 0 when strict). */
static int positive_int(const char *s, int strict, int64_t *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 0 || (strict && v == 0))
        return -1;
    *out = v;
    return 0;
}

/* A JSON object with string members, from name/value pairs (NULL value = null). */
static char *json_object2(const char *k1, const char *v1, const char *k2, const char *v2)
{
    char *a = srv_json_string(v1 ? v1 : "");
    char *b = k2 ? srv_json_string(v2 ? v2 : "") : NULL;
    if (!a || (k2 && !b)) {
        free(a);
        free(b);
        return NULL;
    }
    size_t cap = strlen(a) + (b ? strlen(b) : 0) + strlen(k1) + (k2 ? strlen(k2) : 0) + 32;
    char *out = malloc(cap);
    if (out) {
        if (k2)
            snprintf(out, cap, "{\"%s\": %s, \"%s\": %s}", k1, a, k2, b);
        else
            snprintf(out, cap, "{\"%s\": %s}", k1, a);
    }
    free(a);
    free(b);
    return out;
}

/* Validate a required CharField (DRF): present, not null, not blank after trimming. The trimmed
 * value is copied into *value. Appends "name": [msg] to errs on failure. */
static int char_field(const rm_fields *f, const char *name, char **value, char *errs, size_t cap)
{
    const char *msg = NULL;
    *value = NULL;
    if (!rm_fields_has(f, name)) {
        msg = "This field is required.";
    } else {
        const char *v = rm_fields_get_string(f, name);
        if (!v) {
            msg = "This field may not be null.";
        } else {
            while (isspace((unsigned char)*v))
                v++;
            size_t n = strlen(v);
            while (n && isspace((unsigned char)v[n - 1]))
                n--;
            if (n == 0)
                msg = "This field may not be blank.";
            else
                *value = strndup(v, n);
        }
    }
    if (!msg)
        return 0;
    size_t len = strlen(errs);
    snprintf(errs + len, cap - len, "%s\"%s\": [\"%s\"]", len > 1 ? ", " : "", name, msg);
    return -1;
}

static void free_secret(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* Paging: ?limit= (positive) turns it on, as DRF's LimitOffsetPagination. */
struct paging {
    int on;
    int64_t limit, offset;
};

static void paging_parse(struct srv_req *r, struct paging *p)
{
    p->on = positive_int(query(r, "limit"), 1, &p->limit) == 0;
    if (!p->on)
        return;
    if (positive_int(query(r, "offset"), 0, &p->offset))
        p->offset = 0;
}

/* The filters a list request carries into its next/previous links. */
struct list_query {
    const char *status, *search, *ordering;
};

/* Python's urllib.parse.quote_plus, which DRF's links use: unreserved bytes as they are, space as '+'. */
static void put_encoded(char **o, const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (isalnum(*p) || *p == '_' || *p == '.' || *p == '-' || *p == '~')
            *(*o)++ = (char)*p;
        else if (*p == ' ')
            *(*o)++ = '+';
        else
            *o += sprintf(*o, "%%%02X", *p);
    }
}

/* A page link: limit, offset, then the filters, in DRF's (sorted) parameter order. */
static char *page_url(struct srv_req *r, int64_t limit, int64_t offset, int with_offset, const struct list_query *lq)
{
    const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
    const char *names[3] = {"ordering", "search", "status"};
    const char *values[3] = {lq->ordering, lq->search, lq->status};
    size_t cap = strlen(host ? host : "") + strlen(r->url) + 96;
    for (int i = 0; i < 3; i++)
        cap += values[i] ? strlen(names[i]) + 2 + strlen(values[i]) * 3 : 0;
    char *url = malloc(cap);
    if (!url)
        return NULL;
    char *o = url;
    o += sprintf(o, "http://%s%s?limit=%lld", host ? host : "", r->url, (long long)limit);
    if (with_offset)
        o += sprintf(o, "&offset=%lld", (long long)offset);
    for (int i = 0; i < 3; i++) {
        if (!values[i])
            continue;
        o += sprintf(o, "&%s=", names[i]);
        put_encoded(&o, values[i]);
    }
    *o = '\0';
    return url;
}

/* {"count", "next", "previous", "results"} around a rendered page. */
static void reply_envelope(struct srv_req *r, struct srv_reply *out, const struct paging *p, int64_t count,
                           char *results, const struct list_query *lq)
{
    char *next = NULL, *prev = NULL, *nj = NULL, *pj = NULL;
    if (p->offset + p->limit < count)
        next = page_url(r, p->limit, p->offset + p->limit, 1, lq);
    if (p->offset > 0)
        prev = page_url(r, p->limit, p->offset - p->limit, p->offset - p->limit > 0, lq);
    nj = next ? srv_json_string(next) : NULL;
    pj = prev ? srv_json_string(prev) : NULL;
    size_t cap = strlen(results) + (nj ? strlen(nj) : 4) + (pj ? strlen(pj) : 4) + 96;
    char *body = malloc(cap);
    if (body)
        snprintf(body, cap, "{\"count\": %lld, \"next\": %s, \"previous\": %s, \"results\": %s}", (long long)count,
                 nj ? nj : "null", pj ? pj : "null", results);
    free(next);
    free(prev);
    free(nj);
    free(pj);
    rm_free(results);
    srv_reply_json(out, 200, body);
}

/* ---- cached public lists ---- */

static const char HIT[] = "HIT (Response from Redis cache)";
static const char MISS[] = "MISS (Response from database)";

static char *envelope(const char *status, const char *data)
{
    size_t cap = strlen(data) + 96;
    char *s = malloc(cap);
    if (s)
        snprintf(s, cap, "{\"cache_status\": \"%s\", \"data\": %s}", status, data);
    return s;
}

typedef int (*render_fn)(char **out, rm_ctx *ctx);

static void cached_list(struct srv_req *r, struct srv_reply *out, struct srv_cache *c, int set, render_fn render)
{
    struct srv *s = r->srv;
    uint64_t version = rm_ctx_data_version(s->ctx, set);
    int64_t now = srv_wall_us();
    int64_t ttl = (int64_t)s->cfg->cache_ttl * 1000000;
    pthread_mutex_lock(&c->lock);
    if (c->valid && c->version == version && (ttl == 0 || now - c->built_us < ttl)) {
        srv_blob_ref(c->blob);
        out->shared = c->blob;
        pthread_mutex_unlock(&c->lock);
        out->status = 200;
        out->cache_status = "HIT";
        return;
    }
    pthread_mutex_unlock(&c->lock);

    char *data = NULL;
    int rc = render(&data, s->ctx);
    if (rc) {
        srv_reply_error(out, rc);
        return;
    }
    char *miss = envelope(MISS, data);
    char *hit = envelope(HIT, data);
    rm_free(data);
    void *blob = hit ? srv_blob_new(hit, strlen(hit)) : NULL;
    free(hit);
    if (blob) {
        pthread_mutex_lock(&c->lock);
        void *old = c->blob;
        c->blob = blob;
        c->version = version;
        c->built_us = now;
        c->valid = 1;
        pthread_mutex_unlock(&c->lock);
        srv_blob_unref(old);
    }
    srv_reply_json(out, 200, miss);
    out->cache_status = "MISS";
}

static int render_models(char **out, rm_ctx *ctx)
{
    rm_ai_model_page *page = NULL;
    int rc = rm_ai_model_list(&page, ctx, 0);
    if (!rc)
        rc = rm_ai_model_page_public_json(out, page);
    rm_ai_model_page_free(page);
    return rc;
}

static int render_examples(char **out, rm_ctx *ctx)
{
    rm_list_options o = RM_LIST_OPTIONS_INIT;
    o.limit = 5;
    rm_application_page *page = NULL;
    int rc = rm_example_list(&page, ctx, &o);
    if (!rc)
        rc = rm_application_page_to_json(out, page);
    rm_application_page_free(page);
    return rc;
}

static void h_models(struct srv_req *r, struct srv_reply *out)
{
    cached_list(r, out, &r->srv->models_cache, RM_DATA_AI_MODELS, render_models);
}

static void h_examples(struct srv_req *r, struct srv_reply *out)
{
    const char *search = query_nonblank(r, "search"), *ordering = query_nonblank(r, "ordering");
    if (!search && !ordering) {
        cached_list(r, out, &r->srv->examples_cache, RM_DATA_EXAMPLES, render_examples);
        return;
    }
    /* Filtered or reordered: the same shape and limit, straight from the database. */
    rm_list_options o = RM_LIST_OPTIONS_INIT;
    o.limit = 5;
    o.search = search;
    o.ordering = ordering;
    rm_application_page *page = NULL;
    char *data = NULL;
    int rc = rm_example_list(&page, r->srv->ctx, &o);
    if (!rc)
        rc = rm_application_page_to_json(&data, page);
    rm_application_page_free(page);
    if (rc) {
        srv_reply_error(out, rc);
        return;
    }
    srv_reply_json(out, 200, envelope(MISS, data));
    rm_free(data);
    out->cache_status = "MISS";
}

static void h_example_get(struct srv_req *r, struct srv_reply *out)
{
    rm_application *a = NULL;
    char *json = NULL;
    int rc = rm_example_get(&a, r->srv->ctx, r->id);
    if (!rc)
        rc = rm_application_to_json(&json, a);
    rm_application_free(a);
    if (rc)
        srv_reply_error(out, rc);
    else
        srv_reply_lib(out, 200, json);
}

/* ---- auth ---- */

static void h_register(struct srv_req *r, struct srv_reply *out)
{
    rm_user *u = NULL;
    int rc = rm_user_register(&u, r->srv->ctx, r->fields);
    if (rc) {
        srv_reply_error(out, rc);
        return;
    }
    srv_reply_json(out, 201, json_object2("username", rm_user_username(u), "email", rm_user_email(u)));
    rm_user_free(u);
}

static void reply_pair(struct srv_reply *out, const rm_token_pair *pair, int refresh_first)
{
    const char *access = rm_token_pair_access(pair), *refresh = rm_token_pair_refresh(pair);
    char *body;
    if (!refresh)
        body = json_object2("access", access, NULL, NULL);
    else if (refresh_first)
        body = json_object2("refresh", refresh, "access", access);
    else
        body = json_object2("access", access, "refresh", refresh);
    srv_reply_json(out, 200, body);
}

static void h_token(struct srv_req *r, struct srv_reply *out)
{
    char errs[512] = "{";
    char *username = NULL, *password = NULL;
    int bad = char_field(r->fields, "username", &username, errs, sizeof errs);
    bad |= char_field(r->fields, "password", &password, errs, sizeof errs);
    if (bad) {
        strcat(errs, "}");
        srv_reply_json(out, 400, strdup(errs));
        free(username);
        free_secret(password);
        return;
    }
    rm_token_pair *pair = NULL;
    int rc = rm_token_login(&pair, r->srv->ctx, username, password);
    free(username);
    free_secret(password);
    if (rc == RM_EAUTH || rc == RM_EPERM) {
        srv_reply_static(out, 401, "{\"detail\": \"No active account found with the given credentials\"}");
        out->www_authenticate = 1;
    } else if (rc) {
        srv_reply_error(out, rc);
    } else {
        reply_pair(out, pair, 1);
    }
    rm_token_pair_free(pair);
}

static void reply_refresh_error(struct srv_reply *out, int rc)
{
    if (rc != RM_ETOKEN) {
        srv_reply_error(out, rc);
        return;
    }
    out->www_authenticate = 1;
    switch (rm_error_reason(rm_error_last())) {
    case RM_TOKEN_WRONG_TYPE:
        srv_reply_static(out, 401, "{\"detail\": \"Token has wrong type\", \"code\": \"token_not_valid\"}");
        break;
    case RM_TOKEN_REVOKED:
        srv_reply_static(out, 401, "{\"detail\": \"Token is blacklisted\", \"code\": \"token_not_valid\"}");
        break;
    case RM_TOKEN_USER_NOT_FOUND:
    case RM_TOKEN_USER_INACTIVE:
        srv_reply_static(out, 401, "{\"detail\": \"No active account found for the given token.\", "
                                   "\"code\": \"no_active_account\"}");
        break;
    default:
        srv_reply_static(out, 401, "{\"detail\": \"Token is invalid or expired\", \"code\": \"token_not_valid\"}");
    }
}

/* The `refresh` field, as a string; NULL with *out set on failure. */
static char *refresh_field(struct srv_req *r, struct srv_reply *out)
{
    char errs[256] = "{";
    char *tok = NULL;
    if (char_field(r->fields, "refresh", &tok, errs, sizeof errs)) {
        strcat(errs, "}");
        srv_reply_json(out, 400, strdup(errs));
        return NULL;
    }
    return tok;
}

static void h_refresh(struct srv_req *r, struct srv_reply *out)
{
    char *tok = refresh_field(r, out);
    if (!tok)
        return;
    rm_token_pair *pair = NULL;
    int rc = rm_token_refresh(&pair, r->srv->ctx, tok);
    free_secret(tok);
    if (rc)
        reply_refresh_error(out, rc);
    else
        reply_pair(out, pair, 0);
    rm_token_pair_free(pair);
}

static void h_blacklist(struct srv_req *r, struct srv_reply *out)
{
    char *tok = refresh_field(r, out);
    if (!tok)
        return;
    int rc = rm_token_revoke(r->srv->ctx, tok);
    free_secret(tok);
    if (rc)
        reply_refresh_error(out, rc);
    else
        srv_reply_static(out, 200, "{}");
}

/* ---- resumes ---- */

static void reply_resume(struct srv_reply *out, int rc, rm_resume *res, unsigned status)
{
    char *json = NULL;
    if (!rc)
        rc = rm_resume_to_json(&json, res);
    rm_resume_free(res);
    if (rc)
        srv_reply_error(out, rc);
    else
        srv_reply_lib(out, status, json);
}

/* A list endpoint: plain array by default; with ?limit=/?offset= the paging envelope, whose count comes
 * from the library's count call with the same filters. ?search= and ?ordering= apply to both shapes;
 * the library validates them (a bad one is a 400 naming the parameter). */
struct lister {
    int (*list)(void **page, struct srv_req *r, const rm_list_options *o);
    int (*count)(int64_t *n, struct srv_req *r, const rm_list_options *o);
    int (*to_json)(char **out, const void *page);
    void (*free)(void *page);
};

static void reply_list(struct srv_req *r, struct srv_reply *out, const struct lister *l, rm_list_options *o,
                       const char *status)
{
    struct paging p;
    paging_parse(r, &p);
    struct list_query lq = {status, query_nonblank(r, "search"), query_nonblank(r, "ordering")};
    o->search = lq.search;
    o->ordering = lq.ordering;
    void *page = NULL;
    int64_t count = 0;
    int rc = RM_OK;
    if (p.on) {
        rc = l->count(&count, r, o);
        o->limit = p.limit;
        o->offset = p.offset;
    }
    if (!rc)
        rc = l->list(&page, r, o);
    char *json = NULL;
    if (!rc)
        rc = l->to_json(&json, page);
    l->free(page);
    if (rc)
        srv_reply_error(out, rc);
    else if (p.on)
        reply_envelope(r, out, &p, count, json, &lq);
    else
        srv_reply_lib(out, 200, json);
}

static int resumes_list(void **page, struct srv_req *r, const rm_list_options *o)
{
    return rm_resume_list((rm_resume_page **)page, r->srv->ctx, r->who, o);
}
static int resumes_count(int64_t *n, struct srv_req *r, const rm_list_options *o)
{
    return rm_resume_count(n, r->srv->ctx, r->who, o);
}
static int resumes_json(char **out, const void *page) { return rm_resume_page_to_json(out, page); }
static void resumes_free(void *page) { rm_resume_page_free(page); }
static const struct lister resume_lister = {resumes_list, resumes_count, resumes_json, resumes_free};

/* 204 on success (a delete), else the error. */
static void reply_no_content(struct srv_reply *out, int rc)
{
    if (rc)
        srv_reply_error(out, rc);
    else
        out->status = 204;
}

static void h_resume_list(struct srv_req *r, struct srv_reply *out)
{
    rm_list_options o = RM_LIST_OPTIONS_INIT;
    reply_list(r, out, &resume_lister, &o, NULL);
}

static void h_resume_create(struct srv_req *r, struct srv_reply *out)
{
    rm_resume *res = NULL;
    int rc = rm_resume_create(&res, r->srv->ctx, r->who, r->fields);
    reply_resume(out, rc, res, 201);
}

static void h_resume_get(struct srv_req *r, struct srv_reply *out)
{
    rm_resume *res = NULL;
    int rc = rm_resume_get(&res, r->srv->ctx, r->who, r->id);
    reply_resume(out, rc, res, 200);
}

static void h_resume_put(struct srv_req *r, struct srv_reply *out)
{
    rm_resume *res = NULL;
    int rc = rm_resume_update(&res, r->srv->ctx, r->who, r->id, r->fields);
    reply_resume(out, rc, res, 200);
}

static void h_resume_patch(struct srv_req *r, struct srv_reply *out)
{
    rm_resume *res = NULL;
    int rc = rm_resume_patch(&res, r->srv->ctx, r->who, r->id, r->fields);
    reply_resume(out, rc, res, 200);
}

static void h_resume_delete(struct srv_req *r, struct srv_reply *out)
{
    reply_no_content(out, rm_resume_delete(r->srv->ctx, r->who, r->id));
}

/* ---- job applications ---- */

static void reply_app(struct srv_reply *out, int rc, rm_application *a, unsigned status)
{
    char *json = NULL;
    if (!rc)
        rc = rm_application_to_json(&json, a);
    rm_application_free(a);
    if (rc)
        srv_reply_error(out, rc);
    else
        srv_reply_lib(out, status, json);
}

static int apps_list(void **page, struct srv_req *r, const rm_list_options *o)
{
    return rm_application_list((rm_application_page **)page, r->srv->ctx, r->who, o);
}
static int apps_count(int64_t *n, struct srv_req *r, const rm_list_options *o)
{
    return rm_application_count(n, r->srv->ctx, r->who, o);
}
static int apps_json(char **out, const void *page) { return rm_application_page_to_json(out, page); }
static void apps_free(void *page) { rm_application_page_free(page); }
static const struct lister app_lister = {apps_list, apps_count, apps_json, apps_free};

static void h_app_list(struct srv_req *r, struct srv_reply *out)
{
    rm_list_options o = RM_LIST_OPTIONS_INIT;
    const char *status = query(r, "status");
    if (status && *status)
        o.status = status;
    else
        status = NULL;
    reply_list(r, out, &app_lister, &o, status);
}

static void h_app_create(struct srv_req *r, struct srv_reply *out)
{
    rm_application *a = NULL;
    int rc = rm_application_create(&a, r->srv->ctx, r->who, r->fields);
    reply_app(out, rc, a, 201);
}

static void h_app_get(struct srv_req *r, struct srv_reply *out)
{
    rm_application *a = NULL;
    int rc = rm_application_get(&a, r->srv->ctx, r->who, r->id);
    reply_app(out, rc, a, 200);
}

static void h_app_put(struct srv_req *r, struct srv_reply *out)
{
    rm_application *a = NULL;
    int rc = rm_application_update(&a, r->srv->ctx, r->who, r->id, r->fields);
    reply_app(out, rc, a, 200);
}

static void h_app_patch(struct srv_req *r, struct srv_reply *out)
{
    rm_application *a = NULL;
    int rc = rm_application_patch(&a, r->srv->ctx, r->who, r->id, r->fields);
    reply_app(out, rc, a, 200);
}

static void h_app_delete(struct srv_req *r, struct srv_reply *out)
{
    reply_no_content(out, rm_application_delete(r->srv->ctx, r->who, r->id));
}

/* ---- operational ---- */

static void h_schema(struct srv_req *r, struct srv_reply *out)
{
    out->status = 200;
    out->body = r->srv->openapi_json;
    out->len = r->srv->openapi_len;
    out->body_free = NULL;
}

static void h_healthz(struct srv_req *r, struct srv_reply *out)
{
    if (srv_storage_ok(r->srv))
        srv_reply_static(out, 200, "{\"status\": \"ok\"}");
    else
        srv_reply_static(out, 503, "{\"status\": \"unavailable\"}");
}

static void h_metrics(struct srv_req *r, struct srv_reply *out)
{
    size_t len = 0;
    char *text = srv_metrics_render(r->srv, &len);
    srv_reply_json(out, 200, text);
    out->len = len;
    out->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* ---- the table ---- */

const struct srv_route srv_routes[] = {
    { "/api/auth/register/", M_POST, M_POST, AUTH_OPTIONAL, 1, 0, "auth", "Register a user",
      .post = h_register },
    { "/api/auth/token/", M_POST, M_POST, AUTH_NONE, 1, 0, "auth", "Obtain an access and a refresh token",
      .post = h_token },
    { "/api/auth/token/refresh/", M_POST, 0, AUTH_NONE, 1, 0, "auth", "Refresh an access token",
      .post = h_refresh },
    { "/api/auth/token/blacklist/", M_POST, 0, AUTH_NONE, 1, 0, "auth", "Log out: revoke a refresh token",
      .post = h_blacklist },
    { "/api/ai/models/", M_GET, 0, AUTH_OPTIONAL, 0, 0, "ai", "List the active AI models", .get = h_models },
    { "/api/ai/generate/", M_POST, 0, AUTH_OPTIONAL, 0, 0, "ai", "Generate a resume with an AI model",
      .post = srv_h_generate, .handler_parses_body = 1 },
    { "/api/resumes/", M_GET | M_POST, 0, AUTH_REQUIRED, 0, 0, "resumes", "List or create resumes",
      .get = h_resume_list, .post = h_resume_create },
    { "/api/resumes/{id}/", M_GET | M_PUT | M_PATCH | M_DELETE, 0, AUTH_REQUIRED, 0, 0, "resumes",
      "Read, replace, change or delete a resume", .get = h_resume_get, .put = h_resume_put,
      .patch = h_resume_patch, .del = h_resume_delete },
    { "/api/job-applications/", M_GET | M_POST, 0, AUTH_REQUIRED, 0, 0, "job-applications",
      "List or create job applications", .get = h_app_list, .post = h_app_create },
    { "/api/job-applications/{id}/", M_GET | M_PUT | M_PATCH | M_DELETE, 0, AUTH_REQUIRED, 0, 0,
      "job-applications", "Read, update or soft-delete a job application", .get = h_app_get,
      .put = h_app_put, .patch = h_app_patch, .del = h_app_delete },
    { "/api/example-job-applications/", M_GET, 0, AUTH_OPTIONAL, 0, 0, "examples",
      "List the example job applications", .get = h_examples },
    { "/api/example-job-applications/{id}/", M_GET, 0, AUTH_OPTIONAL, 0, 0, "examples",
      "Read an example job application", .get = h_example_get },
    { "/api/schema/", M_GET, 0, AUTH_OPTIONAL, 0, 0, "meta", "This API as an OpenAPI 3 document",
      .get = h_schema },
    { "/healthz", M_GET, 0, AUTH_NONE, 0, 1, "meta", "Health: 200 when the storage answers", .get = h_healthz },
    { "/metrics", M_GET, 0, AUTH_NONE, 0, 1, "meta", "Prometheus metrics", .get = h_metrics },
};

const size_t srv_route_count = sizeof srv_routes / sizeof srv_routes[0];

void srv_routes_print(void)
{
    static const struct { unsigned bit; const char *name; } order[] = {
        { M_GET, "GET" }, { M_POST, "POST" }, { M_PUT, "PUT" }, { M_PATCH, "PATCH" }, { M_DELETE, "DELETE" },
    };
    for (size_t i = 0; i < srv_route_count; i++) {
        const char *sep = "";
        for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
            if (srv_routes[i].methods & order[k].bit) {
                printf("%s%s", sep, order[k].name);
                sep = ",";
            }
        printf(" %s\n", srv_routes[i].pattern);
    }
}
