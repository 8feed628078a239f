/**
 * @file application.h
 * @brief Job applications: owner-scoped, soft-deleted, plus the public example applications.
 *
 * Writable fields (all optional): `job_title`, `company_name` (≤ 255, nullable),
 * `original_job_description`, `date_applied` ("YYYY-MM-DD" or null), `status` ("Applied" default,
 * "Interviewing", "Offer", "Rejected"; exact case), `notes`, `resume_used` (one of the owner's
 * resume ids, or null). `user`, `is_example` and `is_deleted` cannot be set by callers.
 */
#ifndef RESUMATE_APPLICATION_H
#define RESUMATE_APPLICATION_H

#include "common.h"
#include "ctx.h"
#include "fields.h"
#include "list.h"
#include "user.h"

RM_BEGIN_DECLS

/** A job application. Immutable; safe to read from many threads. */
typedef struct rm_application rm_application;
/** A page of job applications. Immutable. */
typedef struct rm_application_page rm_application_page;

/**
 * Create a job application owned by `who`.
 * @param out receives it, or NULL; free with rm_application_free().
 * @param ctx the ctx.
 * @param who the owner; must be a user.
 * @param fields the input.
 * @return RM_OK, RM_EINVALID, RM_EPERM (anonymous), RM_ESTORAGE, RM_EMISUSE. @since 1.0
 */
RM_EXTERN int rm_application_create(rm_application **out, rm_ctx *ctx, const rm_principal *who, const rm_fields *fields);

/**
 * Get one of `who`'s applications (not deleted).
 * @param out receives it; free with rm_application_free().
 * @param ctx the ctx.
 * @param who the owner.
 * @param id the id.
 * @return RM_OK, RM_ENOTFOUND, RM_EPERM, RM_ESTORAGE. @since 1.0
 */
RM_EXTERN int rm_application_get(rm_application **out, rm_ctx *ctx, const rm_principal *who, int64_t id);

/**
 * List `who`'s applications (deleted ones excluded), newest first.
 * @param out receives the page; free with rm_application_page_free().
 * @param ctx the ctx.
 * @param who the owner.
 * @param opts paging, `status`, `search` and `ordering`, or NULL.
 * @return RM_OK, RM_EPERM, RM_EINVALID (bad cursor, limit, offset, status, search or ordering; the
 *         field error names it), RM_EVERSION, RM_ESTORAGE. @since 1.0
 */
RM_EXTERN int rm_application_list(rm_application_page **out, rm_ctx *ctx, const rm_principal *who, const rm_list_options *opts);

/**
 * Count `who`'s applications (deleted ones excluded) that rm_application_list() would return without
 * paging: `status` and `search` apply; limit, offset, cursor and ordering are validated but ignored.
 * @param out receives the count.
 * @param ctx the ctx.
 * @param who the owner.
 * @param opts filters, or NULL for all.
 * @return RM_OK, RM_EPERM, RM_EINVALID, RM_EVERSION, RM_ESTORAGE, RM_EMISUSE. @since 1.0
 */
RM_EXTERN int rm_application_count(int64_t *out, rm_ctx *ctx, const rm_principal *who, const rm_list_options *opts);

/**
 * Update an application (PUT). Every field is optional, so absent fields keep their values.
 * @param out receives the updated application, or NULL.
 * @param ctx the ctx.
 * @param who the owner.
 * @param id the id.
 * @param fields the input.
 * @return RM_OK, RM_EINVALID, RM_ENOTFOUND, RM_EPERM, RM_ESTORAGE. @since 1.0
 */
RM_EXTERN int rm_application_update(rm_application **out, rm_ctx *ctx, const rm_principal *who, int64_t id, const rm_fields *fields);

/**
 * Partially update an application (PATCH). Same effect as rm_application_update() since every field is optional.
 * @param out receives the updated application, or NULL.
 * @param ctx the ctx.
 * @param who the owner.
 * @param id the id.
 * @param fields the input.
 * @return RM_OK, RM_EINVALID, RM_ENOTFOUND, RM_EPERM, RM_ESTORAGE. @since 1.0
 */
RM_EXTERN int rm_application_patch(rm_application **out, rm_ctx *ctx, const rm_principal *who, int64_t id, const rm_fields *fields);

/**
 * Soft-delete an application. A second delete is RM_ENOTFOUND.
 * @param ctx the ctx.
 * @param who the owner.
 * @param id the id.
 * @return RM_OK, RM_ENOTFOUND, RM_EPERM, RM_ESTORAGE. @since 1.0
 */
RM_EXTERN int rm_application_delete(rm_ctx *ctx, const rm_principal *who, int64_t id);

/**
 * List the example applications (no principal needed), newest first.
 * @param out receives the page; free with rm_application_page_free().
 * @param ctx the ctx.
 * @param opts paging, `search` and `ordering` (no `status`), or NULL for all.
 * @return RM_OK, RM_EINVALID, RM_EVERSION, RM_ESTORAGE. @since 1.0
 */
RM_EXTERN int rm_example_list(rm_application_page **out, rm_ctx *ctx, const rm_list_options *opts);

/**
 * Count the example applications rm_example_list() would return without paging (`search` applies).
 * @param out receives the count.
 * @param ctx the ctx.
 * @param opts filters, or NULL for all.
 * @return RM_OK, RM_EINVALID, RM_EVERSION, RM_ESTORAGE, RM_EMISUSE. @since 1.0
 */
RM_EXTERN int rm_example_count(int64_t *out, rm_ctx *ctx, const rm_list_options *opts);

/**
 * Get an example application.
 * @param out receives it; free with rm_application_free().
 * @param ctx the ctx.
 * @param id the id.
 * @return RM_OK, RM_ENOTFOUND (absent, deleted, or not an example), RM_ESTORAGE. @since 1.0
 */
RM_EXTERN int rm_example_get(rm_application **out, rm_ctx *ctx, int64_t id);

/**
 * Seed the five standard example applications, owned by the inactive `example_user`, unless
 * examples already exist.
 * @param ctx the ctx.
 * @param created_out receives how many were created (0 if examples existed); may be NULL.
 * @return RM_OK, RM_ESTORAGE. @since 1.0
 */
RM_EXTERN int rm_example_seed(rm_ctx *ctx, int *created_out);

/** @param app an application; NULL is a no-op. @since 1.0 */
RM_EXTERN void rm_application_free(rm_application *app);
/** @param app an application. @return its id. @since 1.0 */
RM_EXTERN int64_t rm_application_id(const rm_application *app);
/** @param app an application. @return the owner's id. @since 1.0 */
RM_EXTERN int64_t rm_application_user_id(const rm_application *app);
/** @param app an application. @return the job title, NULL if null. @since 1.0 */
RM_EXTERN const char *rm_application_job_title(const rm_application *app);
/** @param app an application. @return the company name, NULL if null. @since 1.0 */
RM_EXTERN const char *rm_application_company_name(const rm_application *app);
/** @param app an application. @return the job description, NULL if null. @since 1.0 */
RM_EXTERN const char *rm_application_original_job_description(const rm_application *app);
/** @param app an application. @return "YYYY-MM-DD", NULL if null. @since 1.0 */
RM_EXTERN const char *rm_application_date_applied(const rm_application *app);
/** @param app an application. @return the status. @since 1.0 */
RM_EXTERN const char *rm_application_status(const rm_application *app);
/** @param app an application. @return the notes, NULL if null. @since 1.0 */
RM_EXTERN const char *rm_application_notes(const rm_application *app);
/** @param app an application. @return 1 if soft-deleted. @since 1.0 */
RM_EXTERN int rm_application_is_deleted(const rm_application *app);
/** @param app an application. @return 1 if an example. @since 1.0 */
RM_EXTERN int rm_application_is_example(const rm_application *app);
/** @param app an application. @return the resume id used, 0 if null. @since 1.0 */
RM_EXTERN int64_t rm_application_resume_used(const rm_application *app);
/** @param app an application. @return creation time, µs. @since 1.0 */
RM_EXTERN int64_t rm_application_created_at(const rm_application *app);
/** @param app an application. @return last change, µs. @since 1.0 */
RM_EXTERN int64_t rm_application_updated_at(const rm_application *app);

/**
 * Render an application as the REST API's JSON object.
 * @param out receives the JSON text; free with rm_free().
 * @param app the application.
 * @return RM_OK, RM_EMISUSE, RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_application_to_json(char **out, const rm_application *app);

/** @param page a page; NULL is a no-op. @since 1.0 */
RM_EXTERN void rm_application_page_free(rm_application_page *page);
/** @param page a page. @return number of items. @since 1.0 */
RM_EXTERN size_t rm_application_page_count(const rm_application_page *page);
/** @param page a page. @param i index. @return the i-th item (owned by the page), NULL if out of range. @since 1.0 */
RM_EXTERN const rm_application *rm_application_page_at(const rm_application_page *page, size_t i);
/** @param page a page. @return cursor for the next page, NULL if this is the last. @since 1.0 */
RM_EXTERN const char *rm_application_page_next_cursor(const rm_application_page *page);
/**
 * Render a page as a JSON array of application objects.
 * @param out receives the JSON text; free with rm_free().
 * @param page the page.
 * @return RM_OK, RM_EMISUSE, RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_application_page_to_json(char **out, const rm_application_page *page);

RM_END_DECLS

#endif
