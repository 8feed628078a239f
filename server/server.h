/*
 * resumate-server internals shared by the files of server/. Nothing here is public API: the server
 * is a consumer of <resumate/...> like any other application.
 */
#ifndef RESUMATE_SERVER_H
#define RESUMATE_SERVER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include <resumate/resumate.h>

struct MHD_Connection;
struct MHD_Daemon;

/* ---- configuration (config.c) ---- */

/* A DRF-style rate, "100/min": `count` requests per `period_us`; count 0 = unlimited. */
struct srv_rate {
    uint32_t count;
    int64_t period_us;
};

struct srv_config {
    char *bind_addr;           /* --bind, default 127.0.0.1 */
    int port;                  /* --port / PORT, default 8000; 0 = any free port */
    int threads;               /* --threads: HTTP event threads (MHD pool) */
    int workers;               /* --workers: threads for password hashing */
    long hash_queue_max;       /* HASH_QUEUE_MAX: hashing jobs that may wait for a worker; more get 503 */
    char *database_url;        /* sqlite:///path or postgres://… (may hold a password: never print) */
    char *sqlite_path;         /* the file behind database_url when it is SQLite, else NULL */
    char *secret_key;          /* never printed */
    char *secret_key_file;     /* where a generated development key lives, or NULL */
    int debug;
    char **allowed_hosts;
    size_t allowed_host_count;
    char **cors_origins;
    size_t cors_origin_count;
    int cors_allow_all;
    int cors_allow_credentials;
    long hsts_seconds;         /* 0 = no Strict-Transport-Security header */
    int hsts_subdomains;
    char **trusted_proxies;
    size_t trusted_proxy_count;
    size_t max_body;           /* bytes; larger bodies get 413 */
    size_t max_url;            /* bytes of the path; longer gets 414 */
    size_t max_header_memory;  /* per-connection memory for request line + headers */
    unsigned conn_timeout;     /* seconds of client inactivity before the connection is dropped */
    unsigned max_connections;
    struct srv_rate rate_anon, rate_user, rate_auth;
    uint32_t password_iterations;
    int64_t access_lifetime, refresh_lifetime;
    int32_t ai_max_attempts;
    int64_t ai_backoff_ms, ai_deadline_ms;
    int64_t ai_connect_timeout_ms, ai_timeout_ms; /* ctx defaults per provider request; 0 = library's */
    void *ai_settings;         /* AI_MODEL_SETTINGS (JSON or "@file"), parsed and checked at load; NULL if unset */
    int rotate_refresh;
    int cache_ttl;             /* seconds a cached list may serve changes made by other processes */
    int access_log;
    double shutdown_grace;     /* seconds to let in-flight requests finish on SIGTERM */
    char *redis_host;          /* accepted, not used yet */
    int redis_port;
};

/* Fill cfg from argv and the environment. Returns 0 to run, 1 when --help was served (exit 0),
 * 2 for --routes (the caller prints them), -1 after printing one error line (exit 2). */
int srv_config_load(struct srv_config *cfg, int argc, char **argv, int admin);
/* Does url name a PostgreSQL database (postgres:// or postgresql://)? */
int srv_url_is_postgres(const char *url);
void srv_config_free(struct srv_config *cfg);
/* Prepare the database location (directory) and the secret key. -1 after an error line. */
int srv_config_prepare_storage(struct srv_config *cfg, const char *prog, int need_secret);
/* Parse "100/min" ("off"/"none" = unlimited). Returns 0 or -1. */
int srv_rate_parse(struct srv_rate *out, const char *text);
/* The per-model AI settings of AI_MODEL_SETTINGS (ai_settings.c). load parses JSON text or "@path" once
 * and checks every entry (*out NULL when value is unset or empty); apply gives them to a ctx. Both return
 * 0, or -1 with one line of explanation in err (names the model and setting, never a key). */
int srv_ai_settings_load(void **out, const char *value, char *err, size_t errlen);
int srv_ai_settings_apply(rm_ctx *ctx, const void *settings, char *err, size_t errlen);
void srv_ai_settings_free(void *settings);
/* Open the library instance from the configuration; seeds a new database. -1 after an error line. */
int srv_open_ctx(rm_ctx **out, const struct srv_config *cfg, const char *prog);

/* ---- routes (routes.c) ---- */

enum srv_method {
    M_GET = 1, M_POST = 2, M_PUT = 4, M_PATCH = 8, M_DELETE = 16, M_HEAD = 32, M_OPTIONS = 64
};

enum srv_auth { AUTH_NONE, AUTH_OPTIONAL, AUTH_REQUIRED };

struct srv_req;
struct srv_reply;
typedef void (*srv_handler)(struct srv_req *r, struct srv_reply *out);

struct srv_route {
    const char *pattern;       /* "/api/resumes/{id}/" */
    unsigned methods;          /* M_* (HEAD follows GET, OPTIONS is always allowed) */
    unsigned async_methods;    /* methods whose handler runs on a worker (suspend/resume) */
    int auth;                  /* enum srv_auth */
    int auth_scope;            /* nonzero: also throttled by the stricter auth rate per IP */
    int no_host_check;         /* operational endpoints probed by IP address */
    const char *tag;           /* OpenAPI tag */
    const char *summary;
    srv_handler get, post, put, patch, del;
    int handler_parses_body;   /* the POST handler parses the body itself (srv_parse_body), e.g. on
                                  another thread; the checks before it are the same */
};

extern const struct srv_route srv_routes[];
extern const size_t srv_route_count;

/* ---- one request (http.c) ---- */

struct srv;

struct srv_reply {
    unsigned status;
    char *body;                     /* owned; freed with body_free */
    size_t len;
    void (*body_free)(void *);
    void *shared;                   /* a cache blob (refcounted) instead of body; see cache_blob */
    const char *content_type;       /* default application/json */
    const char *allow;
    int www_authenticate;
    const char *cache_status;       /* X-Cache-Status */
    long retry_after;               /* seconds; <= 0 = none */
    char *location;                 /* owned (malloc) */
    int close;                      /* ask for Connection: close */
    int preflight;                  /* a CORS preflight answer */
    int suspended;                  /* the handler suspended the connection; the answer comes later */
    struct MHD_Response *custom;    /* a prepared response (streaming) instead of body */
};

struct srv_req {
    struct srv *srv;
    struct MHD_Connection *conn;
    const char *method;             /* owned by MHD for the whole request */
    const char *url;
    unsigned meth;                  /* M_*, 0 for other methods */
    int64_t start_ns;
    int stage;                      /* 0 new, 1 receiving, 2 at worker, 3 result ready, 4 answered,
                                       5 the client left while queued: close without answering */
    char *body;
    size_t body_len, body_cap;
    int body_too_large;
    const struct srv_route *route;  /* NULL: unmatched */
    int64_t id;                     /* the {id} of the path */
    rm_principal *who;              /* NULL or the caller */
    rm_fields *fields;              /* parsed body for handlers that take one */
    char ip[64];
    struct srv_reply pending;       /* a worker's result */
    unsigned status_sent;
    size_t bytes_sent;
    int64_t user_id;                /* for the access log; 0 anonymous */
    struct gen *gen;                /* an AI generation in flight (generate.c) */
    int resume_paced;               /* answered through generate.c's window of resumed generations */
    int resume_slot;                /* holds a place in that window (else waits in its line) */
    char *idempotency_key;
};

/* Reply helpers (http.c). */
void srv_reply_json(struct srv_reply *out, unsigned status, char *json_malloced);
void srv_reply_lib(struct srv_reply *out, unsigned status, char *json_rm_owned);
void srv_reply_static(struct srv_reply *out, unsigned status, const char *json);
void srv_reply_detail(struct srv_reply *out, unsigned status, const char *detail);
/* Parse the body into r->fields by its Content-Type (JSON, form, multipart). 0 ok; 1: *out holds the
 * error answer (400, 415). Any thread may call it while the connection is suspended. */
int srv_parse_body(struct srv_req *r, struct srv_reply *out);
/* Map the calling thread's last library error to an HTTP answer (400 field errors, 404, …). */
void srv_reply_error(struct srv_reply *out, int status);
/* The same for an error passed explicitly (completion callbacks). */
void srv_reply_error_from(struct srv_reply *out, int status, const rm_error *err);
/* Build a JSON string value (escaped, with quotes) into a malloc'd buffer. */
char *srv_json_string(const char *s);

/* ---- the server (http.c) ---- */

struct srv_cache {
    pthread_mutex_t lock;
    void *blob;                     /* the HIT answer, refcounted */
    uint64_t version;
    int64_t built_us;
    int valid;
};

struct srv {
    struct srv_config *cfg;
    rm_ctx *ctx;
    struct MHD_Daemon *daemon;
    atomic_long in_flight;
    atomic_int draining;
    struct srv_cache models_cache, examples_cache;
    char *openapi_json;
    size_t openapi_len;
};

int srv_start(struct srv *s, int listen_fd);
void srv_stop(struct srv *s);
/* Stop accepting connections (SIGTERM); answers get Connection: close. Returns the listen socket. */
int srv_quiesce(struct srv *s);
/* Whether the library's storage answers (for /healthz). */
int srv_storage_ok(struct srv *s);

/* Cached list answers (http.c): a refcounted immutable body. */
void *srv_blob_new(const char *data, size_t len);
void srv_blob_ref(void *blob);
void srv_blob_unref(void *blob);
const char *srv_blob_data(const void *blob, size_t *len);

/* ---- worker pool (pool.c) ---- */

typedef void (*srv_job_fn)(void *arg);
/* queue_max: jobs that may wait for a worker (0 = unbounded). */
int srv_pool_start(int threads, long queue_max);
/* 0 when a job may be queued; else the queue is at its bound and this is the Retry-After estimate
 * in seconds (>= 1), and the refusal is counted. Checked before suspending; event threads racing
 * past it add at most one job each. */
long srv_pool_full(void);
/* Queue a job; returns 0, or -1 when the pool is stopping. */
int srv_pool_submit(srv_job_fn fn, void *arg);
/* Run every queued job, then join the threads. */
void srv_pool_stop(void);
long srv_pool_pending(void);
/* Count a queued job dropped because its client left. */
void srv_pool_count_gone(void);
/* Requests refused because the queue was full, and jobs dropped for clients that left, so far. */
void srv_pool_counts(long *refused, long *gone);

/* ---- throttling (throttle.c) ---- */

enum srv_scope { SCOPE_ANON = 0, SCOPE_USER = 1, SCOPE_AUTH = 2, SCOPE_COUNT = 3 };
void srv_throttle_init(void);
/* Count a request; 0 if allowed, else the seconds to wait (>= 1). */
long srv_throttle_hit(int scope, const struct srv_rate *rate, const char *key, int64_t now_us);

/* ---- metrics (metrics.c) ---- */

void srv_metrics_observe(int route_index, unsigned status, int64_t duration_ns);
void srv_metrics_throttled(int scope);
/* Render the Prometheus text; malloc'd. */
char *srv_metrics_render(struct srv *s, size_t *len);

/* ---- OpenAPI (openapi.c) ---- */

char *srv_openapi_build(size_t *len);
/* Print every route and its methods, one per line ("GET,POST /api/resumes/"). */
void srv_routes_print(void);

/* ---- AI generation (generate.c) ---- */

void srv_h_generate(struct srv_req *r, struct srv_reply *out);
int srv_generate_start(void);
void srv_generate_cancel_all(void);
void srv_generate_stop(void);
/* A resumed generation was answered, or its connection ended: the next finished one may be resumed.
 * Called by http.c for every request (does nothing for others). */
void srv_generate_answered(struct srv_req *r);
/* Append the generation counters in Prometheus text to buf; returns the bytes written. */
size_t srv_generate_metrics(char *buf, size_t cap);

/* ---- helpers ---- */
int64_t srv_now_ns(void);       /* monotonic */
int64_t srv_wall_us(void);      /* real time */

#endif
