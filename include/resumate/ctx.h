/**
 * @file ctx.h
 * @brief rm_ctx: one library instance — configuration, storage, caches. Shared safely by many threads.
 */
#ifndef RESUMATE_CTX_H
#define RESUMATE_CTX_H

#include "common.h"

RM_BEGIN_DECLS

/** A library instance. Thread-safe: share one among all threads. */
typedef struct rm_ctx rm_ctx;
/** A storage backend handle; see storage.h. */
typedef struct rm_storage rm_storage;

/**
 * A clock: microseconds since 1970-01-01T00:00:00Z. Tests inject one to control time.
 * Must be callable from any thread.
 */
typedef int64_t (*rm_clock_fn)(void *userdata);

/** Current version of ::rm_ctx_options. */
#define RM_CTX_OPTIONS_VERSION 1

/**
 * Options for rm_ctx_new(). Initialise with RM_CTX_OPTIONS_INIT or rm_ctx_options_init(), then set
 * what you need; zero means "the default" for every member. New members are only appended, with a
 * new version number; the library reads only the members that the version covers.
 */
typedef struct rm_ctx_options {
    unsigned int version;            /**< RM_CTX_OPTIONS_VERSION. */
    rm_storage *storage;             /**< Borrowed storage; must outlive the ctx. If NULL, storage_url is opened. */
    const char *storage_url;         /**< Opened and owned by the ctx when storage is NULL: "sqlite:///path", ":memory:", "postgres://…". NULL = ":memory:". */
    uint32_t password_iterations;    /**< PBKDF2 iterations for new hashes; 0 = 720000. */
    const char *secret_key;          /**< Key that signs tokens (copied). Needed for token calls. */
    rm_clock_fn clock;               /**< Clock; NULL = the system's real-time clock. */
    void *clock_userdata;            /**< Passed to clock. */
    int64_t access_token_lifetime;   /**< Seconds; 0 = 300 (5 minutes). */
    int64_t refresh_token_lifetime;  /**< Seconds; 0 = 86400 (1 day). */
    int64_t token_leeway;            /**< Seconds of clock skew tolerated on exp/iat; 0 = none, negative = none. */
    int rotate_refresh_tokens;       /**< Nonzero: refreshing also returns a new refresh token and revokes the old one. */
    const char *const *previous_secret_keys; /**< Older keys still accepted for verification (copied); may be NULL. */
    size_t previous_secret_key_count;        /**< Number of entries in previous_secret_keys. */
    struct rm_transport *transport;  /**< Borrowed HTTP transport for AI providers (transport.h); must outlive the ctx. NULL = the built-in libcurl one, started on first use. */
    const char *gemini_base_url;     /**< Gemini API root (copied); NULL = $RESUMATE_GEMINI_BASE_URL, else "https://generativelanguage.googleapis.com". */
    const char *openrouter_base_url; /**< OpenRouter API base (copied); NULL = $RESUMATE_OPENROUTER_BASE_URL, else "https://openrouter.ai/api/v1". */
    const char *openrouter_referer;  /**< `HTTP-Referer` sent to OpenRouter (copied); NULL = none. */
    const char *openrouter_title;    /**< `X-Title` sent to OpenRouter (copied); NULL = none. */
    int32_t ai_max_attempts;         /**< Provider attempts per model, the first included; 0 = 3, 1 = no retries. */
    int64_t ai_backoff_base_ms;      /**< First retry delay before jitter (doubling each retry); 0 = 500. */
    int64_t ai_backoff_cap_ms;       /**< Largest computed retry delay; 0 = 8000. */
    int64_t ai_retry_after_cap_ms;   /**< Longest Retry-After/RetryInfo delay honoured; a longer one ends the retries; 0 = 120000. */
    int64_t ai_deadline_ms;          /**< Overall deadline of one generation, retries and fallbacks included; 0 = 120000. */
    int64_t ai_connect_timeout_ms;   /**< Connect timeout of one provider request; 0 = 10000. */
    int64_t ai_timeout_ms;           /**< Total timeout of one provider request; 0 = 60000. */
    int32_t ai_breaker_threshold;    /**< Consecutive failures that open a provider+model circuit breaker; 0 = 5. */
    int64_t ai_breaker_open_ms;      /**< How long an open breaker fails fast before a half-open probe; 0 = 30000. */
    int64_t ai_key_cooldown_ms;      /**< How long a rejected or exhausted API key is benched; 0 = 60000. */
} rm_ctx_options;

/** Static initialiser for ::rm_ctx_options (C99 designated initialiser; C++ callers use rm_ctx_options_init()). */
#define RM_CTX_OPTIONS_INIT { .version = RM_CTX_OPTIONS_VERSION }

/**
 * Initialise options to their defaults (for bindings that cannot use RM_CTX_OPTIONS_INIT).
 * @param opts the options to fill.
 * @param version RM_CTX_OPTIONS_VERSION.
 * @return RM_OK, RM_EMISUSE for NULL, RM_EVERSION for a version this library does not know. @since 1.0
 */
RM_EXTERN int rm_ctx_options_init(rm_ctx_options *opts, unsigned int version);

/**
 * Create a library instance. Opens storage_url if no storage is given, and creates the schema.
 * @param out receives the ctx; free it with rm_ctx_free().
 * @param opts options; NULL means all defaults (an in-memory SQLite database).
 * @return RM_OK, RM_EVERSION, RM_ESTORAGE, RM_EINVALID (bad option; field error names it), RM_ENOMEM.
 * Thread-safety: safe. @since 1.0
 */
RM_EXTERN int rm_ctx_new(rm_ctx **out, const rm_ctx_options *opts);

/**
 * Free a ctx and the storage it opened itself. No other call may be using it.
 * @param ctx the ctx; NULL is a no-op. @since 1.0
 */
RM_EXTERN void rm_ctx_free(rm_ctx *ctx);

/**
 * The ctx's clock.
 * @param ctx the ctx.
 * @return microseconds since the Unix epoch, UTC; 0 if ctx is NULL. @since 1.0
 */
RM_EXTERN int64_t rm_ctx_now(rm_ctx *ctx);

/**
 * The ctx's storage (borrowed from the caller or opened by the ctx).
 * @param ctx the ctx.
 * @return the storage, owned by whoever opened it; NULL if ctx is NULL. @since 1.0
 */
RM_EXTERN rm_storage *rm_ctx_storage(rm_ctx *ctx);

/** Data sets whose changes rm_ctx_data_version() counts, for caches in front of the library. */
enum rm_data_set {
    RM_DATA_AI_MODELS = 1,   /**< The AI model registry. */
    RM_DATA_EXAMPLES = 2     /**< The example job applications. */
};

/**
 * A counter that grows whenever this ctx changes the given data set. A cache of a rendered
 * answer is valid while the counter it was built under is unchanged.
 * @param ctx the ctx.
 * @param set an ::rm_data_set.
 * @return the counter, or 0 for NULL ctx or an unknown set. Thread-safety: safe. @since 1.0
 */
RM_EXTERN uint64_t rm_ctx_data_version(rm_ctx *ctx, int set);

RM_END_DECLS

#endif
