/**
 * @file resume.h
 * @brief Resumes: owner-scoped create, read, update, delete. Another user's resume is RM_ENOTFOUND.
 */
#ifndef RESUMATE_RESUME_H
#define RESUMATE_RESUME_H

#include "common.h"
#include "ctx.h"
#include "fields.h"
#include "list.h"
#include "user.h"

RM_BEGIN_DECLS

/** A resume. Immutable; safe to read from many threads. */
typedef struct rm_resume rm_resume;
/** A page of resumes. Immutable. */
typedef struct rm_resume_page rm_resume_page;

/**
 * Create a resume owned by `who`. Fields: `title` (required, not blank, ≤ 255 characters, trimmed)
 * and `content` (required, not blank, trimmed).
 * @param out receives the resume, or NULL; free with rm_resume_free().
 * @param ctx the ctx.
 * @param who the owner; must be a user.
 * @param fields the input.
 * @return RM_OK, RM_EINVALID, RM_EPERM (anonymous), RM_ESTORAGE, RM_EMISUSE. @since 1.0
 */
RM_EXTERN int rm_resume_create(rm_resume **out, rm_ctx *ctx, const rm_principal *who, const rm_fields *fields);

/**
 * Get one of `who`'s resumes.
 * @param out receives the resume; free with rm_resume_free().
 * @param ctx the ctx.
 * @param who the owner.
 * @param id the resume id.
 * @return RM_OK, RM_ENOTFOUND (absent or another user's), RM_EPERM (anonymous), RM_ESTORAGE. @since 1.0
 */
RM_EXTERN int rm_resume_get(rm_resume **out, rm_ctx *ctx, const rm_principal *who, int64_t id);

/**
 * List `who`'s resumes, newest updated_at first.
 * @param out receives the list; free with rm_resume_page_free().
 * @param ctx the ctx.
 * @param who the owner.
 * @param opts paging, `search` and `ordering` (no `status`), or NULL for everything.
 * @return RM_OK, RM_EPERM, RM_EINVALID (bad cursor, limit, offset, search or ordering; the field error
 *         names it), RM_EVERSION, RM_ESTORAGE. @since 1.0
 */
RM_EXTERN int rm_resume_list(rm_resume_page **out, rm_ctx *ctx, const rm_principal *who, const rm_list_options *opts);

/**
 * Count `who`'s resumes that rm_resume_list() would return without paging (`search` applies; limit,
 * offset, cursor and ordering are validated but ignored).
 * @param out receives the count.
 * @param ctx the ctx.
 * @param who the owner.
 * @param opts filters, or NULL for all.
 * @return RM_OK, RM_EPERM, RM_EINVALID, RM_EVERSION, RM_ESTORAGE, RM_EMISUSE. @since 1.0
 */
RM_EXTERN int rm_resume_count(int64_t *out, rm_ctx *ctx, const rm_principal *who, const rm_list_options *opts);

/**
 * Replace a resume (PUT): `title` and `content` are required.
 * @param out receives the updated resume, or NULL.
 * @param ctx the ctx.
 * @param who the owner.
 * @param id the resume id.
 * @param fields the input.
 * @return RM_OK, RM_EINVALID, RM_ENOTFOUND, RM_EPERM, RM_ESTORAGE. @since 1.0
 */
RM_EXTERN int rm_resume_update(rm_resume **out, rm_ctx *ctx, const rm_principal *who, int64_t id, const rm_fields *fields);

/**
 * Change some fields of a resume (PATCH): only the fields present are validated and changed.
 * @param out receives the updated resume, or NULL.
 * @param ctx the ctx.
 * @param who the owner.
 * @param id the resume id.
 * @param fields the input.
 * @return RM_OK, RM_EINVALID, RM_ENOTFOUND, RM_EPERM, RM_ESTORAGE. @since 1.0
 */
RM_EXTERN int rm_resume_patch(rm_resume **out, rm_ctx *ctx, const rm_principal *who, int64_t id, const rm_fields *fields);

/**
 * Delete a resume; applications that used it get `resume_used` null in the same transaction.
 * @param ctx the ctx.
 * @param who the owner.
 * @param id the resume id.
 * @return RM_OK, RM_ENOTFOUND, RM_EPERM, RM_ESTORAGE. @since 1.0
 */
RM_EXTERN int rm_resume_delete(rm_ctx *ctx, const rm_principal *who, int64_t id);

/** @param resume a resume; NULL is a no-op. @since 1.0 */
RM_EXTERN void rm_resume_free(rm_resume *resume);
/** @param resume a resume. @return its id. @since 1.0 */
RM_EXTERN int64_t rm_resume_id(const rm_resume *resume);
/** @param resume a resume. @return the owner's id. @since 1.0 */
RM_EXTERN int64_t rm_resume_user_id(const rm_resume *resume);
/** @param resume a resume. @return the owner's username, owned by the resume. @since 1.0 */
RM_EXTERN const char *rm_resume_username(const rm_resume *resume);
/** @param resume a resume. @return the title, owned by the resume. @since 1.0 */
RM_EXTERN const char *rm_resume_title(const rm_resume *resume);
/** @param resume a resume. @return the content, owned by the resume. @since 1.0 */
RM_EXTERN const char *rm_resume_content(const rm_resume *resume);
/** @param resume a resume. @return creation time, µs since the epoch. @since 1.0 */
RM_EXTERN int64_t rm_resume_created_at(const rm_resume *resume);
/** @param resume a resume. @return last change, µs since the epoch. @since 1.0 */
RM_EXTERN int64_t rm_resume_updated_at(const rm_resume *resume);

/**
 * Render a resume as the REST API's JSON object (`id`, `user`, `title`, `content`, `created_at`, `updated_at`).
 * @param out receives the JSON text; free with rm_free().
 * @param resume the resume.
 * @return RM_OK, RM_EMISUSE, RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_resume_to_json(char **out, const rm_resume *resume);

/** @param list a list; NULL is a no-op. @since 1.0 */
RM_EXTERN void rm_resume_page_free(rm_resume_page *list);
/** @param list a list. @return number of items. @since 1.0 */
RM_EXTERN size_t rm_resume_page_count(const rm_resume_page *list);
/** @param list a list. @param i index. @return the i-th item (owned by the list), NULL if out of range. @since 1.0 */
RM_EXTERN const rm_resume *rm_resume_page_at(const rm_resume_page *list, size_t i);
/** @param list a list. @return cursor for the next page (owned by the list), NULL if this page is the last. @since 1.0 */
RM_EXTERN const char *rm_resume_page_next_cursor(const rm_resume_page *list);
/**
 * Render a list as a JSON array of resume objects.
 * @param out receives the JSON text; free with rm_free().
 * @param list the list.
 * @return RM_OK, RM_EMISUSE, RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_resume_page_to_json(char **out, const rm_resume_page *list);

RM_END_DECLS

#endif
