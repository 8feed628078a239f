/**
 * @file copy.h
 * @brief Copy a whole database from one storage backend to another (SQLite <-> PostgreSQL, or any
 *        backend whose vtable has the version 2 export/import members), preserving ids.
 */
#ifndef RESUMATE_COPY_H
#define RESUMATE_COPY_H

#include "common.h"
#include "storage.h"

RM_BEGIN_DECLS

/** How many rows rm_storage_copy() copied, per kind. */
typedef struct rm_copy_stats {
    int64_t users;            /**< auth_user rows (with tokens_valid_after). */
    int64_t ai_models;        /**< AI models (with base_url). */
    int64_t resumes;          /**< Resumes. */
    int64_t applications;     /**< Job applications, deleted ones and examples included. */
    int64_t denied_tokens;    /**< Token denylist entries. */
    int64_t usage_counts;     /**< Daily usage counts. */
    int64_t idempotency_keys; /**< Idempotency records. */
} rm_copy_stats;

/**
 * Copy every user (password hashes and tokens_valid_after included), AI model (base_url included),
 * resume, application (deleted ones and examples included), token denylist entry, daily usage count
 * and idempotency record from `from` into `to`, keeping every id, so tokens issued against `from`
 * still verify against `to` (with the same signing key) and users log in with the same passwords.
 *
 * `to` must be empty (no row of any of those kinds): the call checks first and refuses otherwise.
 * Rows are read through the vtable's scan members and written through its import members (vtable
 * version 2), users and models first, then resumes, applications and the rest; after the copy the
 * target's id generators continue past the copied ids. The copy is not one transaction: on failure
 * `to` holds the rows copied so far (start again with an empty target). `from` should not be written
 * to during the copy (the scans are not a snapshot across kinds).
 *
 * @param to the target storage; must be empty.
 * @param from the source storage; only read.
 * @param stats_out receives the row counts (also of a partial copy when it fails); may be NULL.
 * @return RM_OK; RM_EMISUSE (NULL handle, or to == from); RM_ESTORAGE (a backend lacks a version 2
 *         member, or failed); RM_ECONFLICT (`to` is not empty — the message names what it holds — or a
 *         row clashed with one already there); RM_ENOMEM. The message names neither passwords nor
 *         tokens.
 * @note Thread-safety: safe to call from any thread; no other thread should write to `from` or `to`
 *       meanwhile.
 * @since 1.0
 */
RM_EXTERN int rm_storage_copy(rm_storage *to, rm_storage *from, rm_copy_stats *stats_out);

RM_END_DECLS

#endif
