/**
 * @file ai.h
 * @brief Resume generation with an AI model: policy, provider calls with retries and circuit
 *        breaking, streaming, cancellation, idempotency, and saving the result as a resume.
 *
 * Input fields (rm_fields): `model` (display name, case-insensitive; the model must exist and be
 * active), `user_input` (required, at least 50 characters), `title` (optional, ≤ 255 characters,
 * default "Untitled Resume") and `application_id` (optional: one of the caller's job applications;
 * the prompt then includes its job title, company and description and the resume is tailored to it).
 *
 * Policy: a model with `login_required` refuses anonymous callers; a model's `daily_limit` counts
 * successful generations per user per model per UTC day, atomically in storage (anonymous callers
 * share the `anonymous_user` account's count). The API key is read from the environment variable the
 * model names each time it is needed; the variable may hold several comma-separated keys, used
 * round-robin. A key that the provider rejects (401/403) or reports as out of daily quota is benched
 * for a cool-down.
 *
 * Resilience: 408, 409, 429, 5xx, timeouts and connection failures are retried with exponential
 * backoff and jitter (Retry-After and Gemini's RetryInfo are honoured up to a cap), within an
 * overall deadline. A circuit breaker per provider and model fails calls fast while open. When a
 * model fails, its fallback models (rm_ai_model_settings_set()) are tried in order. A streamed
 * generation is retried or falls back only until its first chunk reached the caller.
 *
 * Result: the resume is saved for the caller, or for the inactive `anonymous_user`; nothing is saved
 * when the generation fails or is cancelled.
 */
#ifndef RESUMATE_AI_H
#define RESUMATE_AI_H

#include "common.h"
#include "ctx.h"
#include "errors.h"
#include "fields.h"
#include "user.h"

RM_BEGIN_DECLS

/** The fixed one-line answer the model is instructed to give to requests that are not about a resume. */
#define RM_AI_REFUSAL "I can only help with writing resumes."

/** The result of a generation. Immutable; safe to read from many threads. */
typedef struct rm_ai_result rm_ai_result;
/** A generation in progress (rm_ai_generate_async()). */
typedef struct rm_ai_job rm_ai_job;

/** Current version of ::rm_ai_generate_options. */
#define RM_AI_GENERATE_OPTIONS_VERSION 1

/** Per-call options of a generation. Zero members mean "the default". */
typedef struct rm_ai_generate_options {
    unsigned int version;            /**< RM_AI_GENERATE_OPTIONS_VERSION. */
    const char *idempotency_key;     /**< Optional (≤ 255 characters): the same key and caller within 24 hours
                                          returns the first result, without a provider call or a quota charge. */
    int64_t deadline_ms;             /**< Overall deadline including retries; 0 = the ctx's ai_deadline_ms. */
} rm_ai_generate_options;

/** Static initialiser for ::rm_ai_generate_options. */
#define RM_AI_GENERATE_OPTIONS_INIT { .version = RM_AI_GENERATE_OPTIONS_VERSION }

/**
 * Initialise generation options (for bindings that cannot use RM_AI_GENERATE_OPTIONS_INIT).
 * @param opts the options.
 * @param version RM_AI_GENERATE_OPTIONS_VERSION.
 * @return RM_OK, RM_EMISUSE, RM_EVERSION. Thread-safety: safe. @since 1.0
 */
RM_EXTERN int rm_ai_generate_options_init(rm_ai_generate_options *opts, unsigned int version);

/**
 * Generate a resume and save it, waiting for the outcome (not streamed).
 * @param out receives the result; free it with rm_ai_result_free().
 * @param ctx the ctx.
 * @param who the caller (anonymous or a user).
 * @param fields the request fields (see the file comment).
 * @param opts options, or NULL for the defaults.
 * @return RM_OK; RM_EINVALID with field errors (`model`, `user_input`, `title`, `application_id`);
 *         RM_ELIMIT (daily limit; rm_error_retry_after() gives the seconds until the next UTC midnight);
 *         RM_ECONFLICT (a request with the same idempotency key is still running);
 *         RM_EUPSTREAM with an ::rm_reason (RM_UPSTREAM_NO_KEY names the variable, never its value;
 *         no message ever contains a key or a raw provider answer; the overall deadline ending
 *         gives RM_UPSTREAM_UNAVAILABLE); RM_ECANCELED (async only);
 *         RM_ESTORAGE; RM_EMISUSE; RM_ENOMEM.
 * Thread-safety: safe on a shared ctx; blocks the calling thread (never call it from a transport
 * callback). @since 1.0
 */
RM_EXTERN int rm_ai_generate(rm_ai_result **out, rm_ctx *ctx, const rm_principal *who, const rm_fields *fields,
                             const rm_ai_generate_options *opts);

/**
 * Receives a piece of generated text as it streams in (UTF-8, not NUL-terminated).
 * @return 0 to go on, anything else to cancel the generation.
 */
typedef int (*rm_ai_chunk_fn)(void *userdata, const char *text, size_t len);

/**
 * Receives the outcome of an asynchronous generation, exactly once.
 * `status` is RM_OK with `result` (owned by the callee: free it with rm_ai_result_free()), or an
 * ::rm_status with `error` (valid only during the callback; copy it with rm_error_copy()) and a NULL
 * result. Cancellation gives RM_ECANCELED.
 */
typedef void (*rm_ai_done_fn)(void *userdata, int status, rm_ai_result *result, const rm_error *error);

/**
 * Start a generation without waiting. Validation, policy, idempotency lookup and the quota check
 * happen before this returns (and fail it synchronously, setting the last error, without calling
 * on_done); the provider call and the saving happen in the background.
 * @param out receives the job handle (for rm_ai_job_cancel()); free it with rm_ai_job_free() at any
 *        time — freeing does not cancel. May be NULL if the caller never cancels.
 * @param ctx the ctx; must outlive the job.
 * @param who the caller.
 * @param fields the request fields.
 * @param opts options, or NULL.
 * @param on_chunk streaming callback, or NULL for no streaming. Chunks arrive in order from a
 *        background thread; an idempotent replay delivers the whole content as one chunk.
 * @param on_done completion callback (required); called exactly once when RM_OK is returned, from a
 *        background thread or (for a replay or an early failure) from this call itself.
 * @param userdata passed to the callbacks.
 * @return RM_OK (on_done will be called), or the synchronous failures of rm_ai_generate().
 * Thread-safety: safe on a shared ctx; callbacks must not block for long. @since 1.0
 */
RM_EXTERN int rm_ai_generate_async(rm_ai_job **out, rm_ctx *ctx, const rm_principal *who, const rm_fields *fields,
                                   const rm_ai_generate_options *opts, rm_ai_chunk_fn on_chunk, rm_ai_done_fn on_done,
                                   void *userdata);

/**
 * Cancel a generation: the provider request is aborted, nothing is saved, the quota charge is taken
 * back, and on_done runs with RM_ECANCELED (unless the job had already completed: then nothing happens).
 * @param job the job.
 * @return RM_OK, RM_EMISUSE. Thread-safety: safe from any thread, including the callbacks. @since 1.0
 */
RM_EXTERN int rm_ai_job_cancel(rm_ai_job *job);

/**
 * Release the caller's handle on a job (does not cancel it).
 * @param job the job; NULL is a no-op. Thread-safety: safe. @since 1.0
 */
RM_EXTERN void rm_ai_job_free(rm_ai_job *job);

/** @param result a result; NULL is a no-op. @since 1.0 */
RM_EXTERN void rm_ai_result_free(rm_ai_result *result);
/** @param result a result. @return the id of the saved resume. @since 1.0 */
RM_EXTERN int64_t rm_ai_result_resume_id(const rm_ai_result *result);
/** @param result a result. @return the generated Markdown, owned by the result. @since 1.0 */
RM_EXTERN const char *rm_ai_result_content(const rm_ai_result *result);
/** @param result a result. @return the saved resume's title, owned by the result. @since 1.0 */
RM_EXTERN const char *rm_ai_result_title(const rm_ai_result *result);
/** @param result a result. @return the display name of the model that answered (a fallback, maybe). @since 1.0 */
RM_EXTERN const char *rm_ai_result_model(const rm_ai_result *result);
/** @param result a result. @return 1 if it was replayed for an idempotency key (no new generation). @since 1.0 */
RM_EXTERN int rm_ai_result_replayed(const rm_ai_result *result);

/**
 * Render a result as the REST API's answer, `{"resume_id": <id>, "content": "<markdown>"}`.
 * @param out receives the JSON text; free it with rm_free().
 * @param result the result.
 * @return RM_OK, RM_EMISUSE, RM_ENOMEM. Thread-safety: safe. @since 1.0
 */
RM_EXTERN int rm_ai_result_to_json(char **out, const rm_ai_result *result);

/** Current version of ::rm_ai_model_settings. */
#define RM_AI_MODEL_SETTINGS_VERSION 1

/** Per-model settings kept in the ctx (not in storage). Zero members mean "the ctx default". */
typedef struct rm_ai_model_settings {
    unsigned int version;            /**< RM_AI_MODEL_SETTINGS_VERSION. */
    int64_t connect_timeout_ms;      /**< Connect timeout of one provider request; 0 = ctx ai_connect_timeout_ms. */
    int64_t timeout_ms;              /**< Total timeout of one provider request; 0 = ctx ai_timeout_ms. */
    const char *const *fallbacks;    /**< Display names of models tried in order when this one fails (copied). */
    size_t fallback_count;           /**< Number of entries in fallbacks. */
} rm_ai_model_settings;

/** Static initialiser for ::rm_ai_model_settings. */
#define RM_AI_MODEL_SETTINGS_INIT { .version = RM_AI_MODEL_SETTINGS_VERSION }

/**
 * Initialise model settings (for bindings that cannot use RM_AI_MODEL_SETTINGS_INIT).
 * @param settings the settings.
 * @param version RM_AI_MODEL_SETTINGS_VERSION.
 * @return RM_OK, RM_EMISUSE, RM_EVERSION. Thread-safety: safe. @since 1.0
 */
RM_EXTERN int rm_ai_model_settings_init(rm_ai_model_settings *settings, unsigned int version);

/**
 * Set (or, with NULL settings, clear) the settings of a model, by display name (case-insensitive;
 * the model need not exist yet). Applies to generations started afterwards.
 * @param ctx the ctx.
 * @param display_name the model's display name.
 * @param settings the settings (copied), or NULL.
 * @return RM_OK, RM_EMISUSE, RM_EVERSION, RM_EINVALID (a negative timeout, an empty fallback name), RM_ENOMEM.
 * Thread-safety: safe on a shared ctx. @since 1.0
 */
RM_EXTERN int rm_ai_model_settings_set(rm_ctx *ctx, const char *display_name, const rm_ai_model_settings *settings);

/** Circuit breaker states reported by rm_ai_breaker_state(). */
enum rm_ai_breaker {
    RM_AI_BREAKER_CLOSED = 0,        /**< Calls go through. */
    RM_AI_BREAKER_OPEN = 1,          /**< Calls fail fast with RM_UPSTREAM_CIRCUIT_OPEN. */
    RM_AI_BREAKER_HALF_OPEN = 2      /**< The open period is over; one probe call decides. */
};

/**
 * The circuit breaker state of a provider and model, for health checks and metrics.
 * @param ctx the ctx.
 * @param api_provider "google_gemini", "open_router" or "openai_compatible".
 * @param model_name the provider's model identifier.
 * @return an ::rm_ai_breaker (CLOSED for a pair never called), or RM_EMISUSE.
 * Thread-safety: safe. @since 1.0
 */
RM_EXTERN int rm_ai_breaker_state(rm_ctx *ctx, const char *api_provider, const char *model_name);

RM_END_DECLS

#endif
