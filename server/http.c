/*
 * The HTTP layer of resumate-server on libmicrohttpd: the request life cycle (body collection,
 * answering on the call after the body is complete so keep-alive works), the checks every request
 * goes through in Django REST framework's order (Host, route and trailing slash, CORS preflight,
 * Accept, authentication, permission, throttling, method, body), response headers (security, CORS),
 * suspend/resume for work handed to the worker pool, the JSON access log and metrics.
 */
#include "server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <resumate/token.h>

int64_t srv_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t srv_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- refcounted immutable bodies for cached answers ---- */

struct blob {
    atomic_int refs;
    size_t len;
    char data[];
};

void *srv_blob_new(const char *data, size_t len)
{
    struct blob *b = malloc(sizeof *b + len + 1);
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    b->len = len;
    memcpy(b->data, data, len);
    b->data[len] = '\0';
    return b;
}

void srv_blob_ref(void *blob)
{
    atomic_fetch_add_explicit(&((struct blob *)blob)->refs, 1, memory_order_relaxed);
}

void srv_blob_unref(void *blob)
{
    struct blob *b = blob;
    if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        free(b);
}

const char *srv_blob_data(const void *blob, size_t *len)
{
    const struct blob *b = blob;
    *len = b->len;
    return b->data;
}

/* ---- JSON and reply helpers ---- */

char *srv_json_string(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n * 6 + 3);
    if (!out)
        return NULL;
    char *o = out;
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': *o++ = '\\'; *o++ = '"'; break;
        case '\\': *o++ = '\\'; *o++ = '\\'; break;
        case '\n': *o++ = '\\'; *o++ = 'n'; break;
        case '\r': *o++ = '\\'; *o++ = 'r'; break;
        case '\t': *o++ = '\\'; *o++ = 't'; break;
        default:
            if (*p < 0x20)
                o += sprintf(o, "\\u%04x", *p);
            else
                *o++ = (char)*p;
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

void srv_reply_json(struct srv_reply *out, unsigned status, char *json_malloced)
{
    out->status = status;
    out->body = json_malloced;
    out->len = json_malloced ? strlen(json_malloced) : 0;
    out->body_free = free;
    if (!json_malloced)
        srv_reply_static(out, 500, "{\"detail\": \"A server error occurred.\"}");
}

void srv_reply_lib(struct srv_reply *out, unsigned status, char *json_rm_owned)
{
    out->status = status;
    out->body = json_rm_owned;
    out->len = json_rm_owned ? strlen(json_rm_owned) : 0;
    out->body_free = rm_free;
    if (!json_rm_owned)
        srv_reply_static(out, 500, "{\"detail\": \"A server error occurred.\"}");
}

void srv_reply_static(struct srv_reply *out, unsigned status, const char *json)
{
    out->status = status;
    out->body = (char *)json;
    out->len = strlen(json);
    out->body_free = NULL;
}

void srv_reply_detail(struct srv_reply *out, unsigned status, const char *detail)
{
    char *s = srv_json_string(detail);
    if (!s) {
        srv_reply_static(out, 500, "{\"detail\": \"A server error occurred.\"}");
        return;
    }
    size_t n = strlen(s) + 16;
    char *body = malloc(n);
    if (body)
        snprintf(body, n, "{\"detail\": %s}", s);
    free(s);
    srv_reply_json(out, status, body);
}

void srv_reply_error(struct srv_reply *out, int status)
{
    srv_reply_error_from(out, status, rm_error_last());
}

void srv_reply_error_from(struct srv_reply *out, int status, const rm_error *e)
{
    switch (status) {
    case RM_EINVALID: {
        char *json = NULL;
        if (rm_error_fields_json(&json, e) == RM_OK && rm_error_field_count(e) > 0) {
            srv_reply_lib(out, 400, json);
        } else {
            rm_free(json);
            srv_reply_detail(out, 400, rm_error_message(e));
        }
        return;
    }
    case RM_EPARSE:
        srv_reply_detail(out, 400, rm_error_message(e));
        return;
    case RM_ENOTFOUND:
        srv_reply_static(out, 404, "{\"detail\": \"Not found.\"}");
        return;
    case RM_EPERM:
        srv_reply_static(out, 403, "{\"detail\": \"You do not have permission to perform this action.\"}");
        return;
    case RM_ELIMIT:
        srv_reply_detail(out, 429, rm_error_message(e));
        out->retry_after = (long)rm_error_retry_after(e);
        if (out->retry_after < 1)
            out->retry_after = 1;
        return;
    case RM_EUPSTREAM: {
        char *s = srv_json_string(rm_error_message(e)[0] ? rm_error_message(e) : "The AI provider failed.");
        size_t n = s ? strlen(s) + 16 : 0;
        char *body = s ? malloc(n) : NULL;
        if (body)
            snprintf(body, n, "{\"error\": %s}", s);
        free(s);
        srv_reply_json(out, 503, body);
        return;
    }
    default:
        /* Library messages carry no secrets; log them for the operator, answer generically. */
        {
            char *m = srv_json_string(rm_error_message(e));
            fprintf(stderr, "{\"event\":\"error\",\"status\":\"%s\",\"message\":%s}\n", rm_status_name(status),
                    m ? m : "\"\"");
            free(m);
        }
        srv_reply_static(out, 500, "{\"detail\": \"A server error occurred.\"}");
        return;
    }
}

static void reply_free(struct srv_reply *out)
{
    if (out->body && out->body_free)
        out->body_free(out->body);
    if (out->shared)
        srv_blob_unref(out->shared);
    if (out->custom)
        MHD_destroy_response(out->custom);
    free(out->location);
    memset(out, 0, sizeof *out);
}

/* ---- small parsers ---- */

static unsigned method_bit(const char *m)
{
    switch (m[0]) {
    case 'G': return strcmp(m, "GET") == 0 ? M_GET : 0;
    case 'P':
        if (strcmp(m, "POST") == 0) return M_POST;
        if (strcmp(m, "PUT") == 0) return M_PUT;
        if (strcmp(m, "PATCH") == 0) return M_PATCH;
        return 0;
    case 'D': return strcmp(m, "DELETE") == 0 ? M_DELETE : 0;
    case 'H': return strcmp(m, "HEAD") == 0 ? M_HEAD : 0;
    case 'O': return strcmp(m, "OPTIONS") == 0 ? M_OPTIONS : 0;
    default: return 0;
    }
}

/* Match a path against "/a/{id}/b/": {id} is one or more ASCII digits (Django's <int:pk>). */
static int pattern_match(const char *pat, const char *path, int64_t *id)
{
    while (*pat) {
        if (strncmp(pat, "{id}", 4) == 0) {
            if (!isdigit((unsigned char)*path))
                return 0;
            int64_t v = 0;
            int overflow = 0;
            while (isdigit((unsigned char)*path)) {
                if (v > (INT64_MAX - 9) / 10)
                    overflow = 1;
                else
                    v = v * 10 + (*path - '0');
                path++;
            }
            *id = overflow ? -1 : v; /* -1: matches, but no row can have it */
            pat += 4;
            continue;
        }
        if (*pat != *path)
            return 0;
        pat++;
        path++;
    }
    return *path == '\0';
}

static const struct srv_route *route_find(const char *path, int64_t *id)
{
    for (size_t i = 0; i < srv_route_count; i++)
        if (pattern_match(srv_routes[i].pattern, path, id))
            return &srv_routes[i];
    return NULL;
}

/* The Allow header as DRF writes it: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS order. */
static const char *allow_header(unsigned methods)
{
    static __thread char buf[64];
    buf[0] = '\0';
    static const struct { unsigned bit; const char *name; } order[] = {
        { M_GET, "GET" }, { M_POST, "POST" }, { M_PUT, "PUT" }, { M_PATCH, "PATCH" }, { M_DELETE, "DELETE" },
    };
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (methods & order[i].bit) {
            strcat(buf, order[i].name);
            strcat(buf, ", ");
        }
    if (methods & M_GET)
        strcat(buf, "HEAD, ");
    strcat(buf, "OPTIONS");
    return buf;
}

static int host_allowed(const struct srv_config *cfg, const char *host)
{
    if (!host || !*host)
        return 0;
    char h[256];
    size_t n;
    if (host[0] == '[') {
        const char *e = strchr(host, ']');
        if (!e)
            return 0;
        n = (size_t)(e - host) + 1;
    } else {
        n = strcspn(host, ":");
    }
    if (n == 0 || n >= sizeof h)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)host[i];
        if (!(isalnum(c) || c == '.' || c == '-' || c == '_' || c == '[' || c == ']' || c == ':'))
            return 0;
        h[i] = (char)tolower(c);
    }
    h[n] = '\0';
    if (n > 1 && h[n - 1] == '.')
        h[--n] = '\0';
    for (size_t i = 0; i < cfg->allowed_host_count; i++) {
        const char *a = cfg->allowed_hosts[i];
        if (strcmp(a, "*") == 0 || strcasecmp(a, h) == 0)
            return 1;
        if (a[0] == '.') {
            size_t al = strlen(a);
            if (strcasecmp(a + 1, h) == 0 || (n > al && strcasecmp(h + n - al, a) == 0))
                return 1;
        }
    }
    return 0;
}

static int accept_ok(const char *accept, int allow_event_stream)
{
    if (!accept)
        return 1;
    const char *p = accept;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p + strcspn(p, ",;");
        size_t n = (size_t)(e - p);
        while (n && p[n - 1] == ' ')
            n--;
        if ((n == 3 && strncmp(p, "*/*", 3) == 0) || (n == 13 && strncasecmp(p, "application/*", 13) == 0) ||
            (n == 16 && strncasecmp(p, "application/json", 16) == 0) ||
            (allow_event_stream && n == 17 && strncasecmp(p, "text/event-stream", 17) == 0))
            return 1;
        p = e + strcspn(e, ",");
    }
    return 0;
}

static int ip_trusted(const struct srv_config *cfg, const char *ip)
{
    for (size_t i = 0; i < cfg->trusted_proxy_count; i++)
        if (strcmp(cfg->trusted_proxies[i], ip) == 0)
            return 1;
    return 0;
}

/* The client's address: the peer, or — when the peer is a trusted proxy — the right-most
 * X-Forwarded-For entry that is not itself a trusted proxy. */
static void client_ip(struct srv_req *r)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    strcpy(r->ip, "unknown");
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->ip, sizeof r->ip);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->ip, sizeof r->ip);
    }
    const struct srv_config *cfg = r->srv->cfg;
    if (!cfg->trusted_proxy_count || !ip_trusted(cfg, r->ip))
        return;
    const char *xff = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Forwarded-For");
    if (!xff)
        return;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", xff);
    for (;;) {
        char *comma = strrchr(buf, ',');
        char *item = comma ? comma + 1 : buf;
        while (*item == ' ')
            item++;
        size_t n = strlen(item);
        while (n && item[n - 1] == ' ')
            item[--n] = '\0';
        if (n && n < sizeof r->ip) {
            if (!ip_trusted(cfg, item) || !comma) {
                struct in6_addr a6;
                struct in_addr a4;
                if (inet_pton(AF_INET, item, &a4) == 1 || inet_pton(AF_INET6, item, &a6) == 1)
                    memcpy(r->ip, item, n + 1); /* n < sizeof r->ip */
                return;
            }
        }
        if (!comma)
            return;
        *comma = '\0';
    }
}

/* ---- authentication: simplejwt's JWTAuthentication ---- */

static const char *const NOT_PROVIDED = "{\"detail\": \"Authentication credentials were not provided.\"}";

/* 0: anonymous or authenticated (r->who); 1: *out holds a 401. */
static int authenticate(struct srv_req *r, struct srv_reply *out)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    if (!h)
        return 0;
    /* Python's str.split(): whitespace-separated parts. */
    const char *parts[3];
    size_t lens[3];
    int n = 0;
    const char *p = h;
    while (*p) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (n < 3) {
            parts[n] = s;
            lens[n] = (size_t)(p - s);
        }
        n++;
    }
    if (n == 0 || lens[0] != 6 || strncmp(parts[0], "Bearer", 6) != 0)
        return 0; /* another scheme: not ours, the request stays anonymous */
    if (n != 2) {
        srv_reply_static(out, 401, "{\"detail\": \"Authorization header must contain two space-delimited values\", "
                                   "\"code\": \"bad_authorization_header\"}");
        out->www_authenticate = 1;
        return 1;
    }
    char token[RM_TOKEN_MAX_LENGTH + 2];
    size_t tl = lens[1] < sizeof token - 1 ? lens[1] : sizeof token - 1;
    memcpy(token, parts[1], tl);
    token[tl] = '\0';
    rm_principal *who = NULL;
    int rc = rm_token_authenticate(&who, r->srv->ctx, token);
    explicit_bzero(token, tl);
    if (rc == RM_OK) {
        r->who = who;
        r->user_id = rm_principal_user_id(who);
        return 0;
    }
    out->www_authenticate = 1;
    if (rc == RM_ETOKEN) {
        switch (rm_error_reason(rm_error_last())) {
        case RM_TOKEN_USER_NOT_FOUND:
            srv_reply_static(out, 401, "{\"detail\": \"User not found\", \"code\": \"user_not_found\"}");
            return 1;
        case RM_TOKEN_USER_INACTIVE:
            srv_reply_static(out, 401, "{\"detail\": \"User is inactive\", \"code\": \"user_inactive\"}");
            return 1;
        case RM_TOKEN_WRONG_TYPE:
            srv_reply_static(out, 401,
                             "{\"detail\": \"Given token not valid for any token type\", \"code\": \"token_not_valid\", "
                             "\"messages\": [{\"token_class\": \"AccessToken\", \"token_type\": \"access\", "
                             "\"message\": \"Token has wrong type\"}]}");
            return 1;
        default:
            srv_reply_static(out, 401,
                             "{\"detail\": \"Given token not valid for any token type\", \"code\": \"token_not_valid\", "
                             "\"messages\": [{\"token_class\": \"AccessToken\", \"token_type\": \"access\", "
                             "\"message\": \"Token is invalid or expired\"}]}");
            return 1;
        }
    }
    out->www_authenticate = 0;
    srv_reply_error(out, rc);
    return 1;
}

/* ---- throttling ---- */

static int throttle(struct srv_req *r, struct srv_reply *out)
{
    const struct srv_config *cfg = r->srv->cfg;
    int64_t now = srv_wall_us();
    long wait = 0;
    int scope = -1;
    char key[32];
    if (r->route->auth_scope) {
        wait = srv_throttle_hit(SCOPE_AUTH, &cfg->rate_auth, r->ip, now);
        if (wait)
            scope = SCOPE_AUTH;
    }
    if (!wait) {
        if (r->who) {
            snprintf(key, sizeof key, "%lld", (long long)rm_principal_user_id(r->who));
            wait = srv_throttle_hit(SCOPE_USER, &cfg->rate_user, key, now);
            scope = SCOPE_USER;
        } else {
            wait = srv_throttle_hit(SCOPE_ANON, &cfg->rate_anon, r->ip, now);
            scope = SCOPE_ANON;
        }
    }
    if (!wait)
        return 0;
    srv_metrics_throttled(scope);
    char msg[96];
    snprintf(msg, sizeof msg, "Request was throttled. Expected available in %ld second%s.", wait,
             wait == 1 ? "" : "s");
    srv_reply_detail(out, 429, msg);
    out->retry_after = wait;
    return 1;
}

/* ---- body ---- */

/* multipart/form-data: libmicrohttpd's post processor collects the non-file parts, which are then
 * re-encoded as application/x-www-form-urlencoded so that the library applies the same form rules
 * (strings, last value wins, empty nullable = null). File parts are ignored, as DRF keeps them out
 * of request.data. */
struct form_acc {
    char *text;
    size_t len, cap;
    int failed;
};

static void form_put(struct form_acc *f, const char *data, size_t n, int encode)
{
    static const char hex[] = "0123456789ABCDEF";
    if (f->len + 3 * n + 2 > f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 1024;
        while (cap < f->len + 3 * n + 2)
            cap *= 2;
        char *t = realloc(f->text, cap);
        if (!t) {
            f->failed = 1;
            return;
        }
        f->text = t;
        f->cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)data[i];
        if (!encode || isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            f->text[f->len++] = (char)c;
        } else {
            f->text[f->len++] = '%';
            f->text[f->len++] = hex[c >> 4];
            f->text[f->len++] = hex[c & 15];
        }
    }
    f->text[f->len] = '\0';
}

static enum MHD_Result form_part(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                 const char *content_type, const char *transfer_encoding, const char *data,
                                 uint64_t off, size_t size)
{
    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    struct form_acc *f = cls;
    if (filename)
        return MHD_YES;
    if (off == 0) { /* a new part: "&key=" */
        if (f->len)
            form_put(f, "&", 1, 0);
        form_put(f, key, strlen(key), 1);
        form_put(f, "=", 1, 0);
    }
    form_put(f, data, size, 1);
    return f->failed ? MHD_NO : MHD_YES;
}

static int parse_multipart(struct srv_req *r)
{
    struct form_acc f = { 0 };
    struct MHD_PostProcessor *pp = MHD_create_post_processor(r->conn, 8192, form_part, &f);
    if (!pp)
        return rm_fields_parse_form(&r->fields, "%", 1); /* unusable: report a parse error */
    enum MHD_Result ok = MHD_post_process(pp, r->body, r->body_len);
    MHD_destroy_post_processor(pp);
    int rc = (ok == MHD_YES && !f.failed) ? rm_fields_parse_form(&r->fields, f.text ? f.text : "", f.len)
                                          : rm_fields_parse_form(&r->fields, "%", 1);
    free(f.text);
    return rc;
}

int srv_parse_body(struct srv_req *r, struct srv_reply *out)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    int rc;
    if (!ct || r->body_len == 0) {
        /* DRF: no body or no media type means empty data. */
        rc = rm_fields_new(&r->fields);
        if (rc) {
            srv_reply_error(out, rc);
            return 1;
        }
        return 0;
    }
    size_t n = strcspn(ct, ";");
    while (n && isspace((unsigned char)ct[n - 1]))
        n--;
    const char *t = ct;
    while (n && isspace((unsigned char)*t)) {
        t++;
        n--;
    }
    if (n == 16 && strncasecmp(t, "application/json", 16) == 0) {
        rc = rm_fields_parse_json(&r->fields, r->body, r->body_len);
    } else if (n == 33 && strncasecmp(t, "application/x-www-form-urlencoded", 33) == 0) {
        rc = rm_fields_parse_form(&r->fields, r->body, r->body_len);
    } else if (n == 19 && strncasecmp(t, "multipart/form-data", 19) == 0) {
        rc = parse_multipart(r);
    } else {
        char *q = srv_json_string(ct);
        size_t cap = (q ? strlen(q) : 0) + 64;
        char *body = q ? malloc(cap) : NULL;
        if (body) {
            /* q includes its quotes, escaped: build  Unsupported media type \"x\" in request. */
            snprintf(body, cap, "{\"detail\": \"Unsupported media type \\\"%.*s\\\" in request.\"}",
                     (int)(strlen(q) - 2), q + 1);
        }
        free(q);
        srv_reply_json(out, 415, body);
        return 1;
    }
    if (rc) {
        srv_reply_error(out, rc);
        return 1;
    }
    return 0;
}

/* ---- sending ---- */

static void blob_free_cb(void *blob) { srv_blob_unref(blob); }

static void add_cors(struct srv_req *r, struct MHD_Response *resp, int preflight)
{
    const struct srv_config *cfg = r->srv->cfg;
    const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
    if (!origin || (!cfg->cors_origin_count))
        return;
    int ok = cfg->cors_allow_all;
    for (size_t i = 0; !ok && i < cfg->cors_origin_count; i++)
        ok = strcasecmp(cfg->cors_origins[i], origin) == 0;
    if (!ok)
        return;
    MHD_add_response_header(resp, "Access-Control-Allow-Origin",
                            (cfg->cors_allow_all && !cfg->cors_allow_credentials) ? "*" : origin);
    if (cfg->cors_allow_credentials)
        MHD_add_response_header(resp, "Access-Control-Allow-Credentials", "true");
    if (preflight) {
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", "DELETE, GET, OPTIONS, PATCH, POST, PUT");
        MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                "accept, authorization, content-type, idempotency-key, origin, user-agent, "
                                "x-csrftoken, x-requested-with");
        MHD_add_response_header(resp, "Access-Control-Max-Age", "86400");
    } else {
        MHD_add_response_header(resp, "Access-Control-Expose-Headers", "Retry-After, X-Cache-Status");
    }
}

static enum MHD_Result send_reply(struct srv_req *r, struct srv_reply *out)
{
    struct MHD_Response *resp;
    size_t len = 0;
    if (out->custom) {
        resp = out->custom;
        out->custom = NULL;
    } else if (out->shared) {
        const char *data = srv_blob_data(out->shared, &len);
        resp = MHD_create_response_from_buffer_with_free_callback_cls(len, (void *)data, blob_free_cb, out->shared);
        out->shared = NULL;
    } else if (out->body && out->body_free) {
        len = out->len;
        resp = MHD_create_response_from_buffer_with_free_callback(len, out->body, out->body_free);
        out->body = NULL;
    } else {
        len = out->body ? out->len : 0;
        resp = MHD_create_response_from_buffer(len, out->body ? out->body : (char *)"", MHD_RESPMEM_PERSISTENT);
        out->body = NULL;
    }
    if (!resp) {
        reply_free(out);
        return MHD_NO;
    }
    const struct srv_config *cfg = r->srv->cfg;
    if (len || out->content_type)
        MHD_add_response_header(resp, "Content-Type", out->content_type ? out->content_type : "application/json");
    MHD_add_response_header(resp, "Vary", cfg->cors_origin_count ? "Accept, Origin" : "Accept");
    if (r->route && !r->route->no_host_check)
        MHD_add_response_header(resp, "Allow", out->allow ? out->allow : allow_header(r->route->methods));
    else if (out->allow)
        MHD_add_response_header(resp, "Allow", out->allow);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    if (cfg->hsts_seconds > 0) {
        char v[64];
        snprintf(v, sizeof v, "max-age=%ld%s", cfg->hsts_seconds, cfg->hsts_subdomains ? "; includeSubDomains" : "");
        MHD_add_response_header(resp, "Strict-Transport-Security", v);
    }
    add_cors(r, resp, out->preflight);
    if (out->www_authenticate)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"api\"");
    if (out->cache_status)
        MHD_add_response_header(resp, "X-Cache-Status", out->cache_status);
    if (out->retry_after > 0) {
        char v[32];
        snprintf(v, sizeof v, "%ld", out->retry_after);
        MHD_add_response_header(resp, "Retry-After", v);
    }
    if (out->location)
        MHD_add_response_header(resp, "Location", out->location);
    if (out->close || atomic_load(&r->srv->draining))
        MHD_add_response_header(resp, "Connection", "close");
    r->status_sent = out->status;
    r->bytes_sent = len;
    enum MHD_Result ret = MHD_queue_response(r->conn, out->status, resp);
    MHD_destroy_response(resp);
    reply_free(out);
    r->stage = 4;
    return ret;
}

/* ---- the pipeline ---- */

static enum MHD_Result append_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    char **q = cls;
    static const char hex[] = "0123456789ABCDEF";
    const char *parts[2] = { key, value };
    size_t need = strlen(*q) + 3 * (strlen(key) + (value ? strlen(value) : 0)) + 4;
    char *n = realloc(*q, need);
    if (!n)
        return MHD_NO;
    *q = n;
    size_t cur = strlen(n);
    char *o = n + cur;
    *o++ = cur ? '&' : '?';
    for (int k = 0; k < 2; k++) {
        if (k == 1) {
            if (!value)
                break;
            *o++ = '=';
        }
        for (const unsigned char *p = (const unsigned char *)parts[k]; *p; p++) {
            if (isalnum(*p) || strchr("-_.~", *p)) {
                *o++ = (char)*p;
            } else {
                *o++ = '%';
                *o++ = hex[*p >> 4];
                *o++ = hex[*p & 15];
            }
        }
    }
    *o = '\0';
    return MHD_YES;
}

static void redirect_with_slash(struct srv_req *r, struct srv_reply *out)
{
    char *q = calloc(1, 1);
    if (q)
        MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, append_query, &q);
    size_t n = strlen(r->url) + (q ? strlen(q) : 0) + 2;
    char *loc = malloc(n);
    if (loc)
        snprintf(loc, n, "%s/%s", r->url, q ? q : "");
    free(q);
    out->status = 301;
    out->location = loc;
}

struct job {
    struct srv_req *r;
    srv_handler h;
};

/* Whether the client of a suspended connection closed its end or reset it. libmicrohttpd does not
 * watch suspended sockets, so a job checks before it spends a PBKDF2 on an answer nobody reads (a
 * load test that stopped, a client that timed out). A client that only half-closes (shutdown of its
 * writing side) while waiting counts as gone too, as with the AI generations (generate.c). */
static int client_gone(struct srv_req *r)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci || ci->connect_fd < 0)
        return 0;
    struct pollfd p = { .fd = ci->connect_fd, .events = POLLIN | POLLRDHUP };
    if (poll(&p, 1, 0) != 1)
        return 0;
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL | POLLRDHUP))
        return 1;
    char c;
    return (p.revents & POLLIN) && recv(p.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static void run_job(void *arg)
{
    struct job *j = arg;
    struct srv_req *r = j->r;
    if (client_gone(r)) {
        r->stage = 5; /* resumed only to be closed: completed() logs 499 */
        srv_pool_count_gone();
    } else {
        j->h(r, &r->pending);
        r->stage = 3;
    }
    free(j);
    MHD_resume_connection(r->conn);
}

static void handle(struct srv_req *r, struct srv_reply *out, srv_handler *async_out)
{
    struct srv *s = r->srv;
    const struct srv_config *cfg = s->cfg;
    client_ip(r);
    if (r->body_too_large) {
        char msg[96];
        snprintf(msg, sizeof msg, "Request body is larger than the limit of %zu bytes.", cfg->max_body);
        srv_reply_detail(out, 413, msg);
        out->close = 1;
        return;
    }
    if (strlen(r->url) > cfg->max_url) {
        srv_reply_static(out, 414, "{\"detail\": \"Request URI too long.\"}");
        return;
    }
    int64_t id = 0;
    r->route = route_find(r->url, &id);
    r->id = id;
    if (!(r->route && r->route->no_host_check) &&
        !host_allowed(cfg, MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host"))) {
        r->route = NULL;
        srv_reply_static(out, 400, "{\"detail\": \"Invalid HTTP_HOST header.\"}");
        return;
    }
    if (!r->route) {
        size_t n = strlen(r->url);
        if (n && r->url[n - 1] != '/' && n < cfg->max_url) {
            char *slashed = malloc(n + 2);
            int64_t id2;
            if (slashed) {
                memcpy(slashed, r->url, n);
                slashed[n] = '/';
                slashed[n + 1] = '\0';
                const struct srv_route *rt = route_find(slashed, &id2);
                free(slashed);
                if (rt && !rt->no_host_check) {
                    redirect_with_slash(r, out);
                    return;
                }
            }
        }
        srv_reply_static(out, 404, "{\"detail\": \"Not found.\"}");
        return;
    }
    const struct srv_route *rt = r->route;
    if (rt->no_host_check) { /* /healthz, /metrics: GET and HEAD only, no auth, no throttle */
        if (!(r->meth & (M_GET | M_HEAD))) {
            char msg[64];
            snprintf(msg, sizeof msg, "Method \"%s\" not allowed.", r->method);
            srv_reply_detail(out, 405, msg);
            out->allow = "GET, HEAD";
            return;
        }
        rt->get(r, out);
        return;
    }
    const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
    if (r->meth == M_OPTIONS && origin &&
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Access-Control-Request-Method")) {
        out->status = 200; /* CORS preflight; add_cors() adds the origin when it is allowed */
        out->preflight = 1;
        return;
    }
    if (!accept_ok(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Accept"), rt->post == srv_h_generate)) {
        srv_reply_static(out, 406, "{\"detail\": \"Could not satisfy the request Accept header.\"}");
        return;
    }
    if (rt->auth != AUTH_NONE && authenticate(r, out))
        return;
    if (rt->auth == AUTH_REQUIRED && !r->who) {
        srv_reply_static(out, 401, NOT_PROVIDED);
        out->www_authenticate = 1;
        return;
    }
    if (throttle(r, out))
        return;
    if (r->meth == M_OPTIONS) {
        char *name = srv_json_string(rt->summary);
        size_t cap = (name ? strlen(name) : 0) + 256;
        char *body = name ? malloc(cap) : NULL;
        if (body)
            snprintf(body, cap,
                     "{\"name\": %s, \"description\": \"\", \"renders\": [\"application/json\"], \"parses\": "
                     "[\"application/json\", \"application/x-www-form-urlencoded\", \"multipart/form-data\"]}",
                     name);
        free(name);
        srv_reply_json(out, 200, body);
        return;
    }
    srv_handler h = NULL;
    unsigned m = r->meth == M_HEAD ? M_GET : r->meth;
    if (rt->methods & m) {
        switch (m) {
        case M_GET: h = rt->get; break;
        case M_POST: h = rt->post; break;
        case M_PUT: h = rt->put; break;
        case M_PATCH: h = rt->patch; break;
        case M_DELETE: h = rt->del; break;
        default: break;
        }
    }
    if (!h) {
        char msg[96];
        snprintf(msg, sizeof msg, "Method \"%.40s\" not allowed.", r->method);
        srv_reply_detail(out, 405, msg);
        return;
    }
    if ((m & (M_POST | M_PUT | M_PATCH)) && !(m == M_POST && rt->handler_parses_body) && srv_parse_body(r, out))
        return;
    if (rt->async_methods & m) {
        *async_out = h;
        return;
    }
    h(r, out);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                      const char *version, const char *upload_data, size_t *upload_data_size,
                                      void **req_cls)
{
    (void)version;
    struct srv *s = cls;
    struct srv_req *r = *req_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->srv = s;
        r->conn = conn;
        r->url = url;
        r->method = method;
        r->meth = method_bit(method);
        r->start_ns = srv_now_ns();
        r->stage = 1;
        *req_cls = r;
        atomic_fetch_add(&s->in_flight, 1);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(cl, &end, 10);
            if (errno || *end || v > s->cfg->max_body) {
                /* Answer before reading the body; the connection closes afterwards. */
                r->body_too_large = 1;
                struct srv_reply out = { 0 };
                srv_handler unused = NULL;
                handle(r, &out, &unused);
                return send_reply(r, &out);
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->stage != 1)
            return MHD_YES;
        if (r->body_too_large || r->body_len + n > s->cfg->max_body) {
            r->body_too_large = 1;
            r->body_len += n; /* counts what was dropped; give up on a client that keeps going */
            return r->body_len > 16 * s->cfg->max_body ? MHD_NO : MHD_YES;
        }
        if (r->body_len + n + 1 > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap : 1024;
            while (cap < r->body_len + n + 1)
                cap *= 2;
            char *b = realloc(r->body, cap);
            if (!b)
                return MHD_NO;
            r->body = b;
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload_data, n);
        r->body_len += n;
        r->body[r->body_len] = '\0';
        return MHD_YES;
    }
    if (r->stage == 5)
        return MHD_NO;
    if (r->stage == 3) {
        struct srv_reply out = r->pending;
        memset(&r->pending, 0, sizeof r->pending);
        enum MHD_Result ret = send_reply(r, &out);
        srv_generate_answered(r);
        return ret;
    }
    if (r->stage != 1)
        return MHD_YES;
    struct srv_reply out = { 0 };
    srv_handler async = NULL;
    handle(r, &out, &async);
    if (out.suspended)
        return MHD_YES; /* resumed by the work's completion */
    if (async) {
        long wait = srv_pool_full();
        if (wait) {
            /* Every hashing worker is busy and HASH_QUEUE_MAX requests already wait: refuse now,
             * with the time the queue needs to drain, rather than hold the connection. */
            srv_reply_static(&out, 503, "{\"detail\": \"The server is busy. Retry later.\"}");
            out.retry_after = wait;
            return send_reply(r, &out);
        }
        struct job *j = malloc(sizeof *j);
        if (j) {
            j->r = r;
            j->h = async;
            r->stage = 2;
            MHD_suspend_connection(conn);
            if (srv_pool_submit(run_job, j) == 0)
                return MHD_YES;
            free(j);
            MHD_resume_connection(conn);
            r->stage = 1;
        }
        srv_reply_static(&out, 503, "{\"detail\": \"The server is shutting down.\"}");
        out.close = 1;
    }
    return send_reply(r, &out);
}

/* ---- completion: access log, metrics, cleanup ---- */

static void log_line(struct srv_req *r, unsigned status, double ms)
{
    char ts[40];
    rm_format_timestamp(ts, sizeof ts, srv_wall_us());
    char shortpath[1024];
    snprintf(shortpath, sizeof shortpath, "%s", r->url ? r->url : ""); /* long paths are cut, not the JSON */
    char *path = srv_json_string(shortpath);
    char *method = srv_json_string(r->method ? r->method : "");
    if (!path || !method) {
        free(path);
        free(method);
        return;
    }
    char user[32];
    if (r->user_id)
        snprintf(user, sizeof user, "%lld", (long long)r->user_id);
    else
        snprintf(user, sizeof user, "\"anonymous\"");
    char line[4096];
    int n = snprintf(line, sizeof line,
                     "{\"time\":\"%s\",\"method\":%s,\"path\":%s,\"status\":%u,\"duration_ms\":%.3f,"
                     "\"user\":%s,\"bytes\":%zu,\"ip\":\"%s\"}\n",
                     ts, method, path, status, ms, user, r->bytes_sent, r->ip[0] ? r->ip : "unknown");
    free(path);
    free(method);
    if (n > 0) {
        size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
        line[len - 1] = '\n';
        ssize_t w = write(STDERR_FILENO, line, len);
        (void)w;
    }
}

static void completed(void *cls, struct MHD_Connection *conn, void **req_cls, enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    struct srv *s = cls;
    struct srv_req *r = *req_cls;
    if (!r)
        return;
    *req_cls = NULL;
    int64_t dur = srv_now_ns() - r->start_ns;
    unsigned status = r->status_sent ? r->status_sent : 499; /* the client went away first */
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && r->status_sent == 0)
        status = 499;
    if (!r->ip[0])
        client_ip(r);
    srv_generate_answered(r); /* a resumed generation whose connection ended before its answer */
    srv_metrics_observe(r->route ? (int)(r->route - srv_routes) : -1, status, dur);
    if (s->cfg->access_log)
        log_line(r, status, (double)dur / 1e6);
    reply_free(&r->pending);
    rm_principal_free(r->who);
    rm_fields_free(r->fields);
    free(r->idempotency_key);
    free(r->body);
    free(r);
    atomic_fetch_sub(&s->in_flight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    char *j = srv_json_string(msg);
    if (j) {
        fprintf(stderr, "{\"event\":\"libmicrohttpd\",\"message\":%s}\n", j);
        free(j);
    }
}

int srv_start(struct srv *s, int listen_fd)
{
    const struct srv_config *cfg = s->cfg;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
    if (cfg->debug)
        flags |= MHD_USE_ERROR_LOG;
    if (srv_generate_start())
        return -1;
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, access_handler, s,
                                 MHD_OPTION_LISTEN_SOCKET, listen_fd,
                                 MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
                                 MHD_OPTION_CONNECTION_TIMEOUT, cfg->conn_timeout,
                                 MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->max_header_memory + 4096,
                                 MHD_OPTION_NOTIFY_COMPLETED, completed, s,
                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                                 MHD_OPTION_END);
    return s->daemon ? 0 : -1;
}

void srv_stop(struct srv *s)
{
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    srv_generate_stop();
}

int srv_storage_ok(struct srv *s)
{
    rm_storage *st = rm_ctx_storage(s->ctx);
    const rm_storage_vtable *vt = rm_storage_vtable_of(st);
    if (!vt || !vt->ping)
        return 0;
    return vt->ping(rm_storage_self(st)) == RM_OK;
}

int srv_quiesce(struct srv *s)
{
    atomic_store(&s->draining, 1);
    return s->daemon ? (int)MHD_quiesce_daemon(s->daemon) : -1;
}
