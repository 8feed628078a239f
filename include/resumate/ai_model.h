/**
 * @file ai_model.h
 * @brief The AI model registry. Administrative: these calls trust their caller.
 *
 * Fields: `display_name` (required, unique case-insensitively, ≤ 100), `model_name` (required, ≤ 100),
 * `api_provider` ("google_gemini", "open_router", "openai_compatible"), `api_key_name` (≤ 100; may be ""
 * for openai_compatible), `is_active` (default true), `login_required` (default false),
 * `daily_limit` (integer ≥ 0, 0 = none; default 0), `response_time_info` (≤ 100), `description`,
 * `base_url` (http(s) URL; required for openai_compatible).
 */
#ifndef RESUMATE_AI_MODEL_H
#define RESUMATE_AI_MODEL_H

#include "common.h"
#include "ctx.h"
#include "fields.h"

RM_BEGIN_DECLS

/** An AI model. Immutable; safe to read from many threads. */
typedef struct rm_ai_model rm_ai_model;
/** A list of AI models. Immutable. */
typedef struct rm_ai_model_page rm_ai_model_page;

/**
 * Register a model.
 * @param out receives it, or NULL; free with rm_ai_model_free().
 * @param ctx the ctx.
 * @param fields the input.
 * @return RM_OK, RM_EINVALID, RM_ESTORAGE, RM_EMISUSE. @since 1.0
 */
RM_EXTERN int rm_ai_model_create(rm_ai_model **out, rm_ctx *ctx, const rm_fields *fields);

/**
 * Change some fields of a model (only those present).
 * @param out receives the updated model, or NULL.
 * @param ctx the ctx.
 * @param display_name the model's display name (case-insensitive).
 * @param fields the input.
 * @return RM_OK, RM_EINVALID, RM_ENOTFOUND, RM_ESTORAGE. @since 1.0
 */
RM_EXTERN int rm_ai_model_update(rm_ai_model **out, rm_ctx *ctx, const char *display_name, const rm_fields *fields);

/**
 * Get a model by display name, case-insensitively (active or not).
 * @param out receives it; free with rm_ai_model_free().
 * @param ctx the ctx.
 * @param display_name the display name.
 * @return RM_OK, RM_ENOTFOUND, RM_ESTORAGE, RM_EMISUSE. @since 1.0
 */
RM_EXTERN int rm_ai_model_get(rm_ai_model **out, rm_ctx *ctx, const char *display_name);

/**
 * List models ordered by display name.
 * @param out receives the list; free with rm_ai_model_page_free().
 * @param ctx the ctx.
 * @param include_inactive nonzero to include inactive models.
 * @return RM_OK, RM_ESTORAGE, RM_EMISUSE. @since 1.0
 */
RM_EXTERN int rm_ai_model_list(rm_ai_model_page **out, rm_ctx *ctx, int include_inactive);

/**
 * Deactivate a model.
 * @param ctx the ctx.
 * @param display_name the display name (case-insensitive).
 * @return RM_OK, RM_ENOTFOUND, RM_ESTORAGE. @since 1.0
 */
RM_EXTERN int rm_ai_model_deactivate(rm_ctx *ctx, const char *display_name);

/** @param model a model; NULL is a no-op. @since 1.0 */
RM_EXTERN void rm_ai_model_free(rm_ai_model *model);
/** @param model a model. @return its id. @since 1.0 */
RM_EXTERN int64_t rm_ai_model_id(const rm_ai_model *model);
/** @param model a model. @return the display name. @since 1.0 */
RM_EXTERN const char *rm_ai_model_display_name(const rm_ai_model *model);
/** @param model a model. @return the provider's model identifier. @since 1.0 */
RM_EXTERN const char *rm_ai_model_model_name(const rm_ai_model *model);
/** @param model a model. @return the provider. @since 1.0 */
RM_EXTERN const char *rm_ai_model_api_provider(const rm_ai_model *model);
/** @param model a model. @return the name of the key's environment variable. @since 1.0 */
RM_EXTERN const char *rm_ai_model_api_key_name(const rm_ai_model *model);
/** @param model a model. @return the base URL, NULL if unset. @since 1.0 */
RM_EXTERN const char *rm_ai_model_base_url(const rm_ai_model *model);
/** @param model a model. @return 1 if active. @since 1.0 */
RM_EXTERN int rm_ai_model_is_active(const rm_ai_model *model);
/** @param model a model. @return 1 if a login is required. @since 1.0 */
RM_EXTERN int rm_ai_model_login_required(const rm_ai_model *model);
/** @param model a model. @return generations per user per UTC day, 0 for no limit. @since 1.0 */
RM_EXTERN int32_t rm_ai_model_daily_limit(const rm_ai_model *model);
/** @param model a model. @return the response time text. @since 1.0 */
RM_EXTERN const char *rm_ai_model_response_time_info(const rm_ai_model *model);
/** @param model a model. @return the description. @since 1.0 */
RM_EXTERN const char *rm_ai_model_description(const rm_ai_model *model);
/** @param model a model. @return creation time, µs. @since 1.0 */
RM_EXTERN int64_t rm_ai_model_created_at(const rm_ai_model *model);
/** @param model a model. @return last change, µs. @since 1.0 */
RM_EXTERN int64_t rm_ai_model_updated_at(const rm_ai_model *model);

/** @param page a list; NULL is a no-op. @since 1.0 */
RM_EXTERN void rm_ai_model_page_free(rm_ai_model_page *page);
/** @param page a list. @return number of models. @since 1.0 */
RM_EXTERN size_t rm_ai_model_page_count(const rm_ai_model_page *page);
/** @param page a list. @param i index. @return the i-th model, NULL if out of range. @since 1.0 */
RM_EXTERN const rm_ai_model *rm_ai_model_page_at(const rm_ai_model_page *page, size_t i);
/**
 * Render a list in the public view: a JSON array of {`model_name` (the display name),
 * `login_required`, `response_time_info`, `description`}.
 * @param out receives the JSON text; free with rm_free().
 * @param page the list.
 * @return RM_OK, RM_EMISUSE, RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_ai_model_page_public_json(char **out, const rm_ai_model_page *page);

RM_END_DECLS

#endif
