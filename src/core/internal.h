/* Internal helpers shared by every area of the library. Never installed. */
#ifndef RM_CORE_INTERNAL_H
#define RM_CORE_INTERNAL_H

#include <resumate/resumate.h>
#include <stdarg.h>
#include <stdbool.h>

#if defined(__GNUC__)
#  define RM__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#  define RM__PRINTF(a, b)
#endif

/* ---- errors (src/core/error.c) ---- */

/* An ordered map field -> list of messages, built while validating. */
typedef struct rm__ferr rm__ferr;

rm__ferr *rm__ferr_new(void);
void rm__ferr_free(rm__ferr *fe);
/* Append a message to a field (created on first use, keeps first-use order). 0 or RM_ENOMEM. */
int rm__ferr_add(rm__ferr *fe, const char *field, const char *message);
int rm__ferr_addf(rm__ferr *fe, const char *field, const char *fmt, ...) RM__PRINTF(3, 4);
bool rm__ferr_has(const rm__ferr *fe, const char *field);
bool rm__ferr_empty(const rm__ferr *fe);
/* Make fe the thread's last error (RM_EINVALID, takes ownership) and return RM_EINVALID. */
int rm__error_fields(rm__ferr *fe, const char *message);
/* Shortcut: one field, one message. */
int rm__error_field(const char *field, const char *message);

/* Set the thread's last error; returns code. Messages must never contain secrets. */
int rm__error_set(int code, const char *fmt, ...) RM__PRINTF(2, 3);
int rm__error_set_reason(int code, int reason, const char *fmt, ...) RM__PRINTF(3, 4);
/* Attach retry-after seconds to the current last error. */
void rm__error_set_retry_after(int64_t seconds);
/* RM_ENOMEM with its message. */
int rm__error_nomem(void);
/* RM_EMISUSE naming the argument. */
int rm__error_misuse(const char *what);

/* ---- memory and strings (src/core/util.c) ---- */
void *rm__malloc(size_t n);
void *rm__calloc(size_t n, size_t size);
void *rm__realloc(void *p, size_t n);
char *rm__strdup(const char *s);           /* NULL -> NULL */
char *rm__strndup(const char *s, size_t n);
char *rm__sprintf(const char *fmt, ...) RM__PRINTF(1, 2);
/* Append n bytes to a growable buffer kept NUL-terminated (*buf may start NULL, capacities double).
 * 0, or -1 when out of memory (the buffer is left as it was). */
int rm__buf_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n);
/* Valid UTF-8 without NUL bytes in [s, s+len)? */
bool rm__utf8_valid(const char *s, size_t len);
/* Number of code points of valid UTF-8. */
size_t rm__utf8_len(const char *s);
/* Constant-time comparison of equal-length buffers. */
bool rm__ct_equal(const void *a, const void *b, size_t n);
/* Fill with cryptographically strong random bytes. 0 on success. */
int rm__random_bytes(void *buf, size_t n);

/* ---- time (src/core/util.c) ---- */
int64_t rm__realtime_us(void);
/* "YYYY-MM-DD HH:MM:SS[.ffffff]" (Django's SQLite storage form; no fraction when it is 0) into buf[32]. */
void rm__time_to_sql(char buf[32], int64_t us);
/* Parse "YYYY-MM-DD HH:MM:SS[.f{1,6}][+00:00]" or with 'T'/'Z'; RM_NO_TIME on failure. */
int64_t rm__time_from_sql(const char *s);
/* Days since epoch <-> civil date. */
int64_t rm__days_from_civil(int64_t y, unsigned m, unsigned d);
void rm__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
/* Strict "YYYY-MM-DD" with a real calendar date. */
bool rm__date_valid(const char *s);

/* ---- storage plumbing (src/storage/storage.c) ---- */
struct rm_storage {
    const rm_storage_vtable *vt;
    void *self;
};
/* true if vt covers member (by version) and it is non-NULL. */
#define RM__VT_HAS(vt, member) \
    ((vt) != NULL && (vt)->version >= rm__vt_member_version(offsetof(rm_storage_vtable, member)) && (vt)->member != NULL)
unsigned int rm__vt_member_version(size_t offset);


/* ---- the ctx (src/core/ctx.c) ---- */
#include <pthread.h>

struct rm_ctx {
    rm_storage *storage;
    rm_storage *owned_storage;       /* opened by the ctx from storage_url */
    uint32_t password_iterations;
    char *secret_key;
    char **previous_keys;
    size_t previous_key_count;
    rm_clock_fn clock;
    void *clock_userdata;
    int64_t access_lifetime_s;
    int64_t refresh_lifetime_s;
    int64_t leeway_s;
    bool rotate_refresh;
    uint64_t data_version[3];        /* indexed by rm_data_set; atomics */
    pthread_mutex_t lock;            /* guards the lazily created system users below */
    int64_t anonymous_user_id;       /* 0 until created/found */
    int64_t example_user_id;
    struct rm__ai_state *ai;         /* AI generation state (src/ai) */
    struct rm__token_cache *tokens;  /* access tokens whose signature and claims were verified (src/auth) */
};

/* The verified-token cache of a ctx (src/auth/token.c): created in rm_ctx_new, freed in rm_ctx_free. */
int rm__token_cache_init(rm_ctx *ctx);
void rm__token_cache_free(rm_ctx *ctx);

/* AI generation state of a ctx (src/ai/state.c): created in rm_ctx_new, freed first in rm_ctx_free. */
int rm__ai_ctx_init(rm_ctx *ctx, const rm_ctx_options *o);
void rm__ai_ctx_free(rm_ctx *ctx);

#define RM__CTX_VT(ctx) ((ctx)->storage->vt)
#define RM__CTX_SELF(ctx) ((ctx)->storage->self)
/* Call a storage member, failing with RM_ESTORAGE if the backend lacks it. */
#define RM__STORE(ctx, member, ...)                                                                            \
    (RM__VT_HAS(RM__CTX_VT(ctx), member) ? RM__CTX_VT(ctx)->member(RM__CTX_SELF(ctx), __VA_ARGS__)              \
                                         : rm__error_set(RM_ESTORAGE, "storage backend does not support " #member))
void rm__ctx_bump(rm_ctx *ctx, int set);

/* ---- principals (src/domain/user.c) ---- */
/* A principal for the user in rec (no storage access). */
int rm__principal_from_record(rm_principal **out, const rm_user_record *rec);

#endif
