/*
 * Configuration of resumate-server and resumate-admin: command-line flags and the environment
 * variables of the Django deployment (SECRET_KEY, DEBUG, ALLOWED_HOSTS, DB_*, DATABASE_URL, …).
 * Every error is one line on stderr; secrets (SECRET_KEY, DB_PASSWORD, a DATABASE_URL with a
 * password) are never printed.
 */
#include "server.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *g_prog = "resumate-server";

static void fail_line(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "%s: ", g_prog);
    fprintf(stderr, fmt, a ? a : "", b ? b : "");
    fputc('\n', stderr);
}

static char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d) {
        fprintf(stderr, "%s: out of memory\n", g_prog);
        exit(1);
    }
    return d;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return (v && *v) ? v : NULL;
}

static int parse_long(const char *text, long lo, long hi, long *out)
{
    if (!text || !*text)
        return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *text)
{
    if (!text)
        return 0;
    return strcasecmp(text, "1") == 0 || strcasecmp(text, "true") == 0 || strcasecmp(text, "yes") == 0 ||
           strcasecmp(text, "on") == 0;
}

/* Split "a, b,c" into trimmed non-empty items. */
static char **split_list(const char *text, size_t *count)
{
    *count = 0;
    if (!text)
        return NULL;
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += (*p == ',');
    char **items = calloc(cap, sizeof *items);
    if (!items)
        return NULL;
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, ',');
        if (!e)
            e = p + strlen(p);
        const char *a = p, *b = e;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a)
            items[(*count)++] = strndup(a, (size_t)(b - a));
        p = *e ? e + 1 : e;
    }
    return items;
}

int srv_rate_parse(struct srv_rate *out, const char *text)
{
    if (!text)
        return -1;
    if (strcasecmp(text, "off") == 0 || strcasecmp(text, "none") == 0 || strcmp(text, "0") == 0) {
        out->count = 0;
        out->period_us = 1;
        return 0;
    }
    const char *slash = strchr(text, '/');
    if (!slash)
        return -1;
    char num[16];
    size_t n = (size_t)(slash - text);
    if (n == 0 || n >= sizeof num)
        return -1;
    memcpy(num, text, n);
    num[n] = '\0';
    long count;
    if (parse_long(num, 1, 100000000L, &count))
        return -1;
    int64_t period;
    switch (tolower((unsigned char)slash[1])) {
    case 's': period = 1; break;
    case 'm': period = 60; break;
    case 'h': period = 3600; break;
    case 'd': period = 86400; break;
    default: return -1;
    }
    out->count = (uint32_t)count;
    out->period_us = period * 1000000;
    return 0;
}

static void usage(FILE *f, int admin)
{
    if (admin) {
        fputs("Usage: resumate-admin COMMAND [ARGS]\n"
              "\n"
              "Commands:\n"
              "  createsuperuser USERNAME EMAIL   create a superuser; the password is read from the\n"
              "                                   environment variable RESUMATE_ADMIN_PASSWORD or from stdin\n"
              "  models list                      list every AI model (active or not)\n"
              "  models create FIELD=VALUE...     register a model (display_name=, model_name=, api_provider=,\n"
              "                                   api_key_name=, login_required=, daily_limit=, base_url=, ...)\n"
              "  models update NAME FIELD=VALUE...  change fields of a model\n"
              "  models deactivate NAME           deactivate a model\n"
              "  seed                             seed the five example applications and the default models\n"
              "\n"
              "The database is configured exactly as for resumate-server: DATABASE_URL, or DB_NAME, DB_USER,\n"
              "DB_PASSWORD, DB_HOST, DB_PORT (PostgreSQL); default sqlite:///var/resumate.sqlite3.\n",
              f);
        return;
    }
    fputs("Usage: resumate-server [--bind ADDR] [--port N] [--threads N] [--workers N] [--routes] [--help]\n"
          "\n"
          "The reference REST server of libresumate, wire-compatible with the ResuMate REST API.\n"
          "\n"
          "Flags:\n"
          "  --bind ADDR      address to listen on (default 127.0.0.1)\n"
          "  --port N         port (default 8000, or PORT); 0 picks a free port\n"
          "  --threads N      HTTP event threads (default: number of CPUs, twice that with PostgreSQL)\n"
          "  --workers N      threads for password hashing and AI calls (default: number of CPUs)\n"
          "  --routes         print every route and its methods, then exit\n"
          "  --help           this text\n"
          "\n"
          "Environment:\n"
          "  SECRET_KEY            key that signs tokens; unset: a development key is generated and kept\n"
          "                        next to the SQLite database (file mode 0600), with a warning\n"
          "  DEBUG                 1/true: log libmicrohttpd diagnostics\n"
          "  ALLOWED_HOSTS         comma-separated Host values ('*' = any, '.example.com' = subdomains);\n"
          "                        default localhost,127.0.0.1,[::1]\n"
          "  DATABASE_URL          sqlite:///relative/path, sqlite:////absolute/path or postgres://...\n"
          "  DB_NAME, DB_USER, DB_PASSWORD, DB_HOST, DB_PORT\n"
          "                        PostgreSQL settings, used when DATABASE_URL is unset and DB_NAME is set\n"
          "                        default database: sqlite:///var/resumate.sqlite3 (./var/ is created)\n"
          "  REDIS_HOST, REDIS_PORT  accepted for compatibility; Redis is NOT used yet: throttling counters\n"
          "                        and the response cache live in this process\n"
          "  PORT                  port when --port is not given\n"
          "  CORS_ALLOWED_ORIGINS  comma-separated origins allowed by CORS ('*' = any)\n"
          "  CORS_ALLOW_CREDENTIALS 1/true: send Access-Control-Allow-Credentials\n"
          "  SECURE_HSTS_SECONDS   send Strict-Transport-Security with this max-age (default off)\n"
          "  SECURE_HSTS_INCLUDE_SUBDOMAINS 1/true: add includeSubDomains\n"
          "  TRUSTED_PROXIES       comma-separated proxy addresses whose X-Forwarded-For is believed\n"
          "  THROTTLE_ANON         rate for anonymous clients per IP (default 100/min; 'off' disables)\n"
          "  THROTTLE_USER         rate per authenticated user (default 1000/min)\n"
          "  THROTTLE_AUTH         rate of register and token requests per IP (default 20/min)\n"
          "  MAX_BODY_BYTES        largest request body (default 1048576); larger gets 413\n"
          "  MAX_URL_BYTES         longest path (default 2048); longer gets 414\n"
          "  MAX_HEADER_BYTES      memory for the request line and headers (default 16384); more gets 431\n"
          "  CONN_TIMEOUT          seconds of client inactivity before a connection is dropped (default 30)\n"
          "  MAX_CONNECTIONS       simultaneous connections (default 1024)\n"
          "  HASH_QUEUE_MAX        register/token requests that may wait for a hashing worker (default\n"
          "                        32 per worker; 0 = no bound); more get 503 with Retry-After\n"
          "  CACHE_TTL             seconds a cached list may serve changes made by other processes,\n"
          "                        e.g. resumate-admin (default 60); changes made through this server\n"
          "                        invalidate the cache at once\n"
          "  ACCESS_TOKEN_LIFETIME, REFRESH_TOKEN_LIFETIME  seconds (default 300 and 86400)\n"
          "  ROTATE_REFRESH_TOKENS 1/true: refreshing also returns a new refresh token\n"
          "  RESUMATE_PASSWORD_ITERATIONS  PBKDF2 iterations for new password hashes (default 720000;\n"
          "                        lower only for tests)\n"
          "  GEMINI_API_KEY, OPENROUTER_API_KEY  provider keys, named by each model's api_key_name\n"
          "                        (several comma-separated keys are used round-robin)\n"
          "  RESUMATE_GEMINI_BASE_URL, RESUMATE_OPENROUTER_BASE_URL  provider endpoints (tests, proxies)\n"
          "  AI_MAX_ATTEMPTS, AI_BACKOFF_MS, AI_DEADLINE_MS  provider retries: attempts per model (default 3),\n"
          "                        first backoff (default 500), overall deadline (default 120000)\n"
          "  AI_CONNECT_TIMEOUT_MS, AI_TIMEOUT_MS  connect and total timeout of one provider request\n"
          "                        (defaults 10000 and 60000)\n"
          "  AI_MODEL_SETTINGS     per-model settings, JSON or @file: {\"Gemini\": {\"fallbacks\": [\"Deepseek\"],\n"
          "                        \"connect_timeout_ms\": 5000, \"timeout_ms\": 30000}}\n"
          "  ACCESS_LOG            0 disables the JSON access log on stderr (default on)\n"
          "  SHUTDOWN_GRACE        seconds in-flight requests get to finish on SIGTERM (default 10)\n",
          f);
}

static void percent_encode(char *dst, size_t cap, const char *src)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t j = 0;
    for (const unsigned char *p = (const unsigned char *)src; *p && j + 4 < cap; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            dst[j++] = (char)*p;
        } else {
            dst[j++] = '%';
            dst[j++] = hex[*p >> 4];
            dst[j++] = hex[*p & 15];
        }
    }
    dst[j] = '\0';
}

static int load_database(struct srv_config *cfg)
{
    const char *url = env("DATABASE_URL");
    if (url) {
        if (strncmp(url, "sqlite:///", 10) == 0) {
            if (!url[10]) {
                fail_line("DATABASE_URL: a sqlite URL needs a path (sqlite:///relative or sqlite:////absolute)%s%s",
                          NULL, NULL);
                return -1;
            }
            cfg->database_url = xstrdup(url);
            if (strcmp(url + 10, ":memory:") != 0)
                cfg->sqlite_path = xstrdup(url + 10);
            return 0;
        }
        if (srv_url_is_postgres(url)) {
            cfg->database_url = xstrdup(url);
            return 0;
        }
        /* Print the scheme only: the rest may hold a password. */
        char scheme[32] = "";
        const char *colon = strstr(url, "://");
        if (colon && (size_t)(colon - url) < sizeof scheme)
            memcpy(scheme, url, (size_t)(colon - url));
        fail_line("DATABASE_URL: unsupported or unparsable URL%s%s (expected sqlite:///path or postgres://...)",
                  scheme[0] ? " with scheme " : "", scheme);
        return -1;
    }
    const char *name = env("DB_NAME");
    if (name) {
        char user[256] = "", pass[512] = "", host[256] = "localhost", db[256] = "";
        long port = 5432;
        if (env("DB_USER"))
            percent_encode(user, sizeof user, env("DB_USER"));
        if (env("DB_PASSWORD"))
            percent_encode(pass, sizeof pass, env("DB_PASSWORD"));
        if (env("DB_HOST"))
            snprintf(host, sizeof host, "%s", env("DB_HOST"));
        if (env("DB_PORT") && parse_long(env("DB_PORT"), 1, 65535, &port)) {
            fail_line("DB_PORT: not a port number: %s%s", env("DB_PORT"), NULL);
            return -1;
        }
        percent_encode(db, sizeof db, name);
        size_t cap = strlen(user) + strlen(pass) + strlen(host) + strlen(db) + 64;
        char *u = malloc(cap);
        if (!u)
            return -1;
        char auth[800] = "";
        if (user[0] || pass[0])
            snprintf(auth, sizeof auth, "%s%s%s@", user, pass[0] ? ":" : "", pass);
        snprintf(u, cap, "postgres://%s%s:%ld/%s", auth, host, port, db);
        explicit_bzero(pass, sizeof pass);
        explicit_bzero(auth, sizeof auth);
        cfg->database_url = u;
        return 0;
    }
    cfg->database_url = xstrdup("sqlite:///var/resumate.sqlite3");
    cfg->sqlite_path = xstrdup("var/resumate.sqlite3");
    return 0;
}

static int load_rate(struct srv_rate *rate, const char *name, const char *def)
{
    const char *v = env(name) ? env(name) : def;
    if (srv_rate_parse(rate, v)) {
        fail_line("%s: not a rate like 100/min or 'off': %s", name, v);
        return -1;
    }
    return 0;
}

static int env_long(const char *name, long lo, long hi, long def, long *out)
{
    const char *v = env(name);
    if (!v) {
        *out = def;
        return 0;
    }
    if (parse_long(v, lo, hi, out)) {
        fail_line("%s: not a number in range: %s", name, v);
        return -1;
    }
    return 0;
}

int srv_url_is_postgres(const char *url)
{
    return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

int srv_config_load(struct srv_config *cfg, int argc, char **argv, int admin)
{
    memset(cfg, 0, sizeof *cfg);
    g_prog = admin ? "resumate-admin" : "resumate-server";
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1)
        ncpu = 1;
    cfg->threads = 0; /* set below: its default depends on the database */
    cfg->workers = (int)ncpu;
    cfg->port = 8000;
    long v;

    if (!admin) {
        if (env("PORT")) {
            if (parse_long(env("PORT"), 0, 65535, &v)) {
                fail_line("PORT: not a port number: %s%s", env("PORT"), NULL);
                return -1;
            }
            cfg->port = (int)v;
        }
        for (int i = 1; i < argc; i++) {
            const char *a = argv[i];
            const char *val = (i + 1 < argc) ? argv[i + 1] : NULL;
            if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                usage(stdout, 0);
                return 1;
            } else if (strcmp(a, "--routes") == 0) {
                return 2;
            } else if (strcmp(a, "--bind") == 0 && val) {
                free(cfg->bind_addr);
                cfg->bind_addr = xstrdup(val);
                i++;
            } else if (strcmp(a, "--port") == 0 && val) {
                if (parse_long(val, 0, 65535, &v)) {
                    fail_line("--port: not a port number: %s%s", val, NULL);
                    return -1;
                }
                cfg->port = (int)v;
                i++;
            } else if (strcmp(a, "--threads") == 0 && val) {
                if (parse_long(val, 1, 256, &v)) {
                    fail_line("--threads: expected 1 to 256, got %s%s", val, NULL);
                    return -1;
                }
                cfg->threads = (int)v;
                i++;
            } else if (strcmp(a, "--workers") == 0 && val) {
                if (parse_long(val, 1, 256, &v)) {
                    fail_line("--workers: expected 1 to 256, got %s%s", val, NULL);
                    return -1;
                }
                cfg->workers = (int)v;
                i++;
            } else {
                fail_line("unknown or incomplete argument: %s%s (try --help)", a, NULL);
                return -1;
            }
        }
    } else if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout, 1);
        return argc < 2 ? -1 : 1;
    }
    if (!cfg->bind_addr)
        cfg->bind_addr = xstrdup("127.0.0.1");

    if (load_database(cfg))
        return -1;
    /* Default event threads: one per CPU; with PostgreSQL two per CPU, because an event thread waits
     * out a network round trip to the database on every request and another thread can use the CPU
     * meanwhile (bench/pg/run.sh, GET applications: 9,062-11,788 rps with 2 threads, 12,956 with 4). */
    if (cfg->threads == 0)
        cfg->threads = (int)(srv_url_is_postgres(cfg->database_url) ? 2 * ncpu : ncpu);
    if (cfg->threads > 256)
        cfg->threads = 256;
    cfg->secret_key = xstrdup(env("SECRET_KEY"));
    cfg->debug = parse_bool(env("DEBUG"));
    cfg->allowed_hosts = split_list(env("ALLOWED_HOSTS") ? env("ALLOWED_HOSTS") : "localhost,127.0.0.1,[::1]",
                                    &cfg->allowed_host_count);
    cfg->cors_origins = split_list(env("CORS_ALLOWED_ORIGINS"), &cfg->cors_origin_count);
    for (size_t i = 0; i < cfg->cors_origin_count; i++)
        if (strcmp(cfg->cors_origins[i], "*") == 0)
            cfg->cors_allow_all = 1;
    cfg->cors_allow_credentials = parse_bool(env("CORS_ALLOW_CREDENTIALS"));
    cfg->trusted_proxies = split_list(env("TRUSTED_PROXIES"), &cfg->trusted_proxy_count);
    if (env_long("SECURE_HSTS_SECONDS", 0, 1L << 30, 0, &cfg->hsts_seconds))
        return -1;
    cfg->hsts_subdomains = parse_bool(env("SECURE_HSTS_INCLUDE_SUBDOMAINS"));
    if (env_long("MAX_BODY_BYTES", 1, 1L << 30, 1 << 20, &v))
        return -1;
    cfg->max_body = (size_t)v;
    if (env_long("MAX_URL_BYTES", 16, 1 << 20, 2048, &v))
        return -1;
    cfg->max_url = (size_t)v;
    if (env_long("MAX_HEADER_BYTES", 2048, 1 << 20, 16384, &v))
        return -1;
    cfg->max_header_memory = (size_t)v;
    if (env_long("CONN_TIMEOUT", 1, 86400, 30, &v))
        return -1;
    cfg->conn_timeout = (unsigned)v;
    if (env_long("MAX_CONNECTIONS", 1, 1000000, 1024, &v))
        return -1;
    cfg->max_connections = (unsigned)v;
    if (!admin) {
        if (env_long("HASH_QUEUE_MAX", 0, 1000000, 32L * cfg->workers, &v))
            return -1;
        cfg->hash_queue_max = v;
    }
    if (load_rate(&cfg->rate_anon, "THROTTLE_ANON", "100/min") ||
        load_rate(&cfg->rate_user, "THROTTLE_USER", "1000/min") ||
        load_rate(&cfg->rate_auth, "THROTTLE_AUTH", "20/min"))
        return -1;
    if (env_long("RESUMATE_PASSWORD_ITERATIONS", 1, 100000000L, 0, &v))
        return -1;
    cfg->password_iterations = (uint32_t)v;
    if (env_long("ACCESS_TOKEN_LIFETIME", 1, 1L << 30, 300, &v))
        return -1;
    cfg->access_lifetime = v;
    if (env_long("REFRESH_TOKEN_LIFETIME", 1, 1L << 30, 86400, &v))
        return -1;
    cfg->refresh_lifetime = v;
    cfg->rotate_refresh = parse_bool(env("ROTATE_REFRESH_TOKENS"));
    if (env_long("AI_MAX_ATTEMPTS", 0, 100, 0, &v))
        return -1;
    cfg->ai_max_attempts = (int32_t)v;
    if (env_long("AI_BACKOFF_MS", 0, 3600000, 0, &v))
        return -1;
    cfg->ai_backoff_ms = v;
    if (env_long("AI_DEADLINE_MS", 0, 3600000, 0, &v))
        return -1;
    cfg->ai_deadline_ms = v;
    if (env_long("AI_CONNECT_TIMEOUT_MS", 0, 3600000, 0, &v))
        return -1;
    cfg->ai_connect_timeout_ms = v;
    if (env_long("AI_TIMEOUT_MS", 0, 3600000, 0, &v))
        return -1;
    cfg->ai_timeout_ms = v;
    if (!admin) {
        char err[512];
        if (srv_ai_settings_load(&cfg->ai_settings, env("AI_MODEL_SETTINGS"), err, sizeof err)) {
            fail_line("%s%s", err, "");
            return -1;
        }
    }
    if (env_long("CACHE_TTL", 0, 1L << 30, 60, &v))
        return -1;
    cfg->cache_ttl = (int)v;
    cfg->access_log = env("ACCESS_LOG") ? parse_bool(env("ACCESS_LOG")) : 1;
    if (env_long("SHUTDOWN_GRACE", 0, 3600, 10, &v))
        return -1;
    cfg->shutdown_grace = (double)v;
    cfg->redis_host = xstrdup(env("REDIS_HOST"));
    if (env_long("REDIS_PORT", 1, 65535, 6379, &v))
        return -1;
    cfg->redis_port = (int)v;
    return 0;
}

static void free_list(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

void srv_config_free(struct srv_config *cfg)
{
    free(cfg->bind_addr);
    free(cfg->database_url);
    free(cfg->sqlite_path);
    if (cfg->secret_key) {
        explicit_bzero(cfg->secret_key, strlen(cfg->secret_key));
        free(cfg->secret_key);
    }
    free(cfg->secret_key_file);
    free_list(cfg->allowed_hosts, cfg->allowed_host_count);
    free_list(cfg->cors_origins, cfg->cors_origin_count);
    free_list(cfg->trusted_proxies, cfg->trusted_proxy_count);
    free(cfg->redis_host);
    srv_ai_settings_free(cfg->ai_settings);
    memset(cfg, 0, sizeof *cfg);
}

/* mkdir -p for the directory part of `path`. */
static int make_parent_dirs(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -1;
    char *slash = strrchr(buf, '/');
    if (!slash)
        return 0;
    *slash = '\0';
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (buf[0] && mkdir(buf, 0755) && errno != EEXIST)
        return -1;
    return 0;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    return strndup(path, (size_t)(slash - path));
}

static int load_or_make_secret(struct srv_config *cfg, const char *dir)
{
    size_t n = strlen(dir) + 32;
    char *file = malloc(n);
    if (!file)
        return -1;
    snprintf(file, n, "%s/secret_key", dir);
    cfg->secret_key_file = file;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char key[256];
        ssize_t got = read(fd, key, sizeof key - 1);
        close(fd);
        if (got < 32) {
            fail_line("development secret key file %s is unreadable or too short; delete it or set SECRET_KEY%s",
                      file, NULL);
            return -1;
        }
        key[got] = '\0';
        key[strcspn(key, "\r\n")] = '\0';
        cfg->secret_key = xstrdup(key);
        explicit_bzero(key, sizeof key);
        return 0;
    }
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)";
    unsigned char raw[50];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        fail_line("cannot read random bytes for a secret key: %s%s", strerror(errno), NULL);
        return -1;
    }
    char key[51];
    for (size_t i = 0; i < 50; i++)
        key[i] = alphabet[raw[i] % (sizeof alphabet - 1)];
    key[50] = '\0';
    fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, key, 50) != 50 || write(fd, "\n", 1) != 1) {
        fail_line("cannot write the development secret key file %s: %s", file, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    cfg->secret_key = xstrdup(key);
    explicit_bzero(key, sizeof key);
    explicit_bzero(raw, sizeof raw);
    return 0;
}

int srv_config_prepare_storage(struct srv_config *cfg, const char *prog, int need_secret)
{
    g_prog = prog;
    if (cfg->sqlite_path) {
        char *dir = dir_of(cfg->sqlite_path);
        if (make_parent_dirs(cfg->sqlite_path) || access(dir, W_OK | X_OK)) {
            fail_line("database directory %s is not writable: %s", dir, strerror(errno ? errno : EACCES));
            free(dir);
            return -1;
        }
        if (need_secret && !cfg->secret_key) {
            if (load_or_make_secret(cfg, dir)) {
                free(dir);
                return -1;
            }
            fprintf(stderr,
                    "%s: warning: SECRET_KEY is not set; using the generated key in %s — for development only\n",
                    prog, cfg->secret_key_file);
        }
        free(dir);
    } else if (need_secret && !cfg->secret_key) {
        fail_line("SECRET_KEY must be set when the database is not a SQLite file%s%s", NULL, NULL);
        return -1;
    }
    return 0;
}

static int seed_model(rm_ctx *ctx, const char *display, const char *provider, const char *model, int login,
                      int limit, const char *key, const char *rt, const char *desc)
{
    rm_fields *f = NULL;
    int rc = rm_fields_new(&f);
    if (rc)
        return rc;
    rm_fields_set_string(f, "display_name", display);
    rm_fields_set_string(f, "model_name", model);
    rm_fields_set_string(f, "api_provider", provider);
    rm_fields_set_string(f, "api_key_name", key);
    rm_fields_set_bool(f, "is_active", 1);
    rm_fields_set_bool(f, "login_required", login);
    rm_fields_set_int(f, "daily_limit", limit);
    rm_fields_set_string(f, "response_time_info", rt);
    rm_fields_set_string(f, "description", desc);
    rc = rm_ai_model_create(NULL, ctx, f);
    rm_fields_free(f);
    return rc;
}

/* Seed the three default models when the registry is empty (a new database), and the examples. */
static int seed_defaults(rm_ctx *ctx, int *seeded)
{
    rm_ai_model_page *page = NULL;
    int rc = rm_ai_model_list(&page, ctx, 1);
    if (rc)
        return rc;
    size_t n = rm_ai_model_page_count(page);
    rm_ai_model_page_free(page);
    *seeded = 0;
    if (n > 0)
        return RM_OK;
    rc = seed_model(ctx, "Gemini", "google_gemini", "gemini-2.0-flash-exp", 1, 5, "GEMINI_API_KEY",
                    "Fast (about 5 seconds)", "Google's Gemini 2.0 Flash: quick, polished resumes. Login required.");
    if (!rc)
        rc = seed_model(ctx, "Deepseek", "open_router", "deepseek/deepseek-r1", 0, 0, "OPENROUTER_API_KEY",
                        "Slow (about 30 seconds)", "DeepSeek R1 through OpenRouter: careful reasoning, slower.");
    if (!rc)
        rc = seed_model(ctx, "Cypher", "open_router", "teknium/openhermes-2.5", 0, 0, "OPENROUTER_API_KEY",
                        "Medium (about 15 seconds)", "OpenHermes 2.5 through OpenRouter: a balanced open model.");
    if (!rc)
        rc = rm_example_seed(ctx, NULL);
    *seeded = 1;
    return rc;
}

/* Belt and braces: blank out the URL's password (raw and as written) wherever a message repeats it. */
static void scrub_password(char *msg, const char *url)
{
    const char *scheme = url ? strstr(url, "://") : NULL;
    if (!scheme)
        return;
    const char *auth = scheme + 3;
    const char *at = strchr(auth, '@');
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon || colon + 1 >= at)
        return;
    char pw[512];
    size_t n = (size_t)(at - colon - 1);
    if (n >= sizeof pw)
        n = sizeof pw - 1;
    memcpy(pw, colon + 1, n);
    pw[n] = '\0';
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) { /* the decoded form */
            char *o = pw;
            for (const char *p = pw; *p; p++) {
                if (*p == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
                    char hx[3] = { p[1], p[2], 0 };
                    *o++ = (char)strtol(hx, NULL, 16);
                    p += 2;
                } else {
                    *o++ = *p;
                }
            }
            *o = '\0';
        }
        size_t pl = strlen(pw);
        if (pl < 3)
            continue;
        for (char *hit = strstr(msg, pw); hit; hit = strstr(hit, pw)) {
            memset(hit, '*', pl);
        }
    }
    explicit_bzero(pw, sizeof pw);
}

int srv_open_ctx(rm_ctx **out, const struct srv_config *cfg, const char *prog)
{
    rm_ctx_options o = RM_CTX_OPTIONS_INIT;
    o.storage_url = cfg->database_url;
    o.secret_key = cfg->secret_key;
    o.password_iterations = cfg->password_iterations;
    o.access_token_lifetime = cfg->access_lifetime;
    o.refresh_token_lifetime = cfg->refresh_lifetime;
    o.rotate_refresh_tokens = cfg->rotate_refresh;
    o.ai_max_attempts = cfg->ai_max_attempts;
    o.ai_backoff_base_ms = cfg->ai_backoff_ms;
    o.ai_deadline_ms = cfg->ai_deadline_ms;
    o.ai_connect_timeout_ms = cfg->ai_connect_timeout_ms;
    o.ai_timeout_ms = cfg->ai_timeout_ms;
    int rc = rm_ctx_new(out, &o);
    if (rc) {
        /* The library's messages carry no secrets (no URL with its password). */
        const rm_error *e = rm_error_last();
        const char *detail = rm_error_message(e);
        if (rm_error_field_count(e) > 0 && rm_error_field_message_count(e, 0) > 0)
            detail = rm_error_field_message(e, 0, 0);
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", detail && *detail ? detail : "failed");
        scrub_password(msg, cfg->database_url);
        fprintf(stderr, "%s: cannot open the database: %s (%s)\n", prog, msg, rm_status_name(rc));
        explicit_bzero(msg, sizeof msg);
        return -1;
    }
    char err[512];
    if (srv_ai_settings_apply(*out, cfg->ai_settings, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        rm_ctx_free(*out);
        *out = NULL;
        return -1;
    }
    int seeded = 0;
    rc = seed_defaults(*out, &seeded);
    if (rc) {
        fprintf(stderr, "%s: cannot seed the new database: %s (%s)\n", prog, rm_error_message(rm_error_last()),
                rm_status_name(rc));
        rm_ctx_free(*out);
        *out = NULL;
        return -1;
    }
    if (seeded)
        fprintf(stderr, "%s: new database: seeded the default AI models and the example applications\n", prog);
    return 0;
}
