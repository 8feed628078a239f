/**
 * @file storage.h
 * @brief The storage extension point: a versioned vtable at the level of the domain, and the
 *        built-in backends (SQLite; PostgreSQL where built).
 *
 * A backend stores users, resumes, job applications and AI models. The library does all validation
 * and ownership decisions before it calls the backend; the backend only stores and fetches, keeps
 * the two-part changes atomic (resume delete + nulling `resume_used`), and is safe to call from many
 * threads at once.
 *
 * Records travel from the backend to the library through sink callbacks: the backend passes a
 * pointer to a record it owns, valid only during the callback, and the library copies what it needs.
 * Records grow only by appending members; a member added in vtable version N is read only from
 * backends whose vtable version is at least N.
 *
 * Times are microseconds since the Unix epoch, UTC. RM_NO_TIME stands for SQL NULL.
 */
#ifndef RESUMATE_STORAGE_H
#define RESUMATE_STORAGE_H

#include "common.h"
#include "ctx.h"

RM_BEGIN_DECLS

/** A missing timestamp (SQL NULL). */
#define RM_NO_TIME INT64_MIN

/** A row of `auth_user`. Strings are UTF-8; NULL stands for SQL NULL only where noted. */
typedef struct rm_user_record {
    int64_t id;                 /**< Primary key; ignored on insert. */
    const char *username;       /**< Unique, case-sensitive. */
    const char *email;          /**< May be "". */
    const char *password;       /**< Django-format hash, "" or "!…" for unusable. */
    const char *first_name;     /**< "" when unset. */
    const char *last_name;      /**< "" when unset. */
    int is_active;              /**< 0 or 1. */
    int is_staff;               /**< 0 or 1. */
    int is_superuser;           /**< 0 or 1. */
    int64_t date_joined;        /**< Creation time. */
    int64_t last_login;         /**< RM_NO_TIME when never. */
    int64_t tokens_valid_after; /**< Tokens issued before this time are refused (password change, deactivation); RM_NO_TIME when never. Kept in an `rm_` table. */
} rm_user_record;

/** A row of `resume_resume`. */
typedef struct rm_resume_record {
    int64_t id;                 /**< Primary key; ignored on insert. */
    int64_t user_id;            /**< Owner. */
    const char *title;          /**< At most 255 characters. */
    const char *content;        /**< Markdown. */
    int64_t created_at;         /**< Creation time. */
    int64_t updated_at;         /**< Last change. */
} rm_resume_record;

/** A row of `job_tracker_jobapplication`. NULL strings are SQL NULL. */
typedef struct rm_application_record {
    int64_t id;                         /**< Primary key; ignored on insert. */
    int64_t user_id;                    /**< Owner. */
    const char *job_title;              /**< Nullable. */
    const char *company_name;           /**< Nullable. */
    const char *original_job_description; /**< Nullable. */
    const char *date_applied;           /**< "YYYY-MM-DD" or NULL. */
    const char *status;                 /**< "Applied", "Interviewing", "Offer" or "Rejected". */
    const char *notes;                  /**< Nullable. */
    int is_deleted;                     /**< Soft-delete flag. */
    int is_example;                     /**< Example application, visible to everyone. */
    int64_t resume_used;                /**< Resume id, 0 for NULL. */
    int64_t created_at;                 /**< Creation time. */
    int64_t updated_at;                 /**< Last change. */
} rm_application_record;

/** A row of `ai_aimodel` plus the library's own per-model settings (kept in an `rm_` table). */
typedef struct rm_ai_model_record {
    int64_t id;                     /**< Primary key; ignored on insert. */
    const char *display_name;       /**< Unique; looked up case-insensitively. */
    const char *model_name;         /**< The provider's identifier. */
    const char *api_provider;       /**< "google_gemini", "open_router" or "openai_compatible". */
    const char *api_key_name;       /**< Name of the environment variable holding the key. */
    int is_active;                  /**< 0 or 1. */
    int login_required;             /**< 0 or 1. */
    int32_t daily_limit;            /**< Per user per UTC day; 0 = no limit. */
    const char *response_time_info; /**< Free text. */
    const char *description;        /**< Free text. */
    int64_t created_at;             /**< Creation time. */
    int64_t updated_at;             /**< Last change. */
    const char *base_url;           /**< openai_compatible base URL; NULL when unset. */
} rm_ai_model_record;

/** A row of the token denylist (vtable version 2). */
typedef struct rm_token_deny_record {
    const char *jti;            /**< The token id. */
    int64_t user_id;            /**< The token's user. */
    int64_t expires_at;         /**< When the entry may be pruned. */
} rm_token_deny_record;

/** One user's generation count with one model on one UTC day (vtable version 2). */
typedef struct rm_usage_record {
    int64_t user_id;            /**< The user. */
    int64_t model_id;           /**< The AI model. */
    const char *day;            /**< "YYYY-MM-DD", UTC. */
    int32_t count;              /**< Generations counted (>= 0). */
} rm_usage_record;

/** A remembered idempotency key (vtable version 2). */
typedef struct rm_idempotency_record {
    const char *key;            /**< The client's key. */
    int64_t user_id;            /**< The user who sent it. */
    int64_t resume_id;          /**< The resume it produced. */
    int64_t created_at;         /**< When it was recorded. */
} rm_idempotency_record;

/** Paging and filtering of a list call. */
typedef struct rm_storage_query {
    int64_t limit;          /**< At most this many rows; <= 0 for all. */
    int64_t offset;         /**< Skip this many rows (ignored when has_after is set). */
    int has_after;          /**< Nonzero: keyset paging, start strictly after (after_time, after_id) in list order. */
    int64_t after_time;     /**< Sort time of the last row already seen. */
    int64_t after_id;       /**< Id of the last row already seen. */
    const char *status;     /**< Applications only: only this status; NULL for any. */
    /**
     * Search terms (vtable version 3; passed only to a backend that has the list's count member): a
     * row matches when every term is a substring of at least one searched field (applications:
     * job_title, company_name, original_job_description; resumes: title, content) after
     * ASCII-lowercasing the field; null fields match nothing. The library
     * passes terms that are non-empty, ASCII-lowercased, valid UTF-8 and free of whitespace and
     * commas; they are literal text (no wildcards). NULL when search_count is 0.
     */
    const char *const *search;
    size_t search_count;    /**< Number of search terms (vtable version 3); 0 for no search. */
    /**
     * Ordering (vtable version 3; like search): NULL for the default list order. Otherwise the library's validated
     * list of comma-separated field names (the ones documented at ::rm_list_options), each optionally
     * prefixed with '-' for descending, always ending with "id" or "-id"; has_after is then 0. Text
     * compares bytewise, and NULL sorts after every value ascending and before them descending.
     */
    const char *ordering;
} rm_storage_query;

/** Receives a user record. Return 0 to go on, anything else to stop (the backend returns it). */
typedef int (*rm_user_sink)(void *sink_data, const rm_user_record *rec);
/** Receives a resume record. Return 0 to go on, anything else to stop (the backend returns it). */
typedef int (*rm_resume_sink)(void *sink_data, const rm_resume_record *rec);
/** Receives an application record. Return 0 to go on, anything else to stop (the backend returns it). */
typedef int (*rm_application_sink)(void *sink_data, const rm_application_record *rec);
/** Receives an AI model record. Return 0 to go on, anything else to stop (the backend returns it). */
typedef int (*rm_ai_model_sink)(void *sink_data, const rm_ai_model_record *rec);
/** Receives a denylist entry. Return 0 to go on, anything else to stop (the backend returns it). */
typedef int (*rm_token_deny_sink)(void *sink_data, const rm_token_deny_record *rec);
/** Receives a daily usage count. Return 0 to go on, anything else to stop (the backend returns it). */
typedef int (*rm_usage_sink)(void *sink_data, const rm_usage_record *rec);
/** Receives an idempotency record. Return 0 to go on, anything else to stop (the backend returns it). */
typedef int (*rm_idempotency_sink)(void *sink_data, const rm_idempotency_record *rec);

/** Current version of ::rm_storage_vtable (3 added search, ordering and the count members). */
#define RM_STORAGE_VTABLE_VERSION 3

/**
 * The storage backend interface. Every member receives the backend's `self` pointer first and
 * returns an ::rm_status (RM_OK, RM_ENOTFOUND, RM_ECONFLICT, RM_ESTORAGE, or a sink's return value);
 * on failure it may describe the error with rm_storage_set_error(). Members may be NULL when the
 * backend cannot do that operation; the library then fails the call with RM_ESTORAGE.
 * All members must be safe to call concurrently from many threads.
 */
typedef struct rm_storage_vtable {
    unsigned int version;   /**< RM_STORAGE_VTABLE_VERSION. */

    /** Release the backend (called by rm_storage_free()). */
    void (*close)(void *self);
    /** Answer whether the store is reachable (health checks). */
    int (*ping)(void *self);

    /** Insert a user; store the new id in *id_out. RM_ECONFLICT if the username is taken. */
    int (*user_insert)(void *self, const rm_user_record *rec, int64_t *id_out);
    /** Find a user by id (username NULL) or by exact username (id 0); call sink once. */
    int (*user_get)(void *self, int64_t id, const char *username, rm_user_sink sink, void *sink_data);
    /** Overwrite every mutable column of the user with rec->id. RM_ENOTFOUND if absent. */
    int (*user_update)(void *self, const rm_user_record *rec);

    /** Insert a resume; store the new id in *id_out. */
    int (*resume_insert)(void *self, const rm_resume_record *rec, int64_t *id_out);
    /** Find resume `id` owned by `user_id`; call sink once. RM_ENOTFOUND otherwise. */
    int (*resume_get)(void *self, int64_t user_id, int64_t id, rm_resume_sink sink, void *sink_data);
    /** List resumes of `user_id`, newest updated_at first, then highest id first. */
    int (*resume_list)(void *self, int64_t user_id, const rm_storage_query *q, rm_resume_sink sink, void *sink_data);
    /** Overwrite title, content and updated_at of the resume with rec->id and rec->user_id. */
    int (*resume_update)(void *self, const rm_resume_record *rec);
    /** Delete resume `id` of `user_id` and, atomically with it, null resume_used where it was used. */
    int (*resume_delete)(void *self, int64_t user_id, int64_t id);

    /** Insert an application; store the new id in *id_out. */
    int (*application_insert)(void *self, const rm_application_record *rec, int64_t *id_out);
    /** Find a not-deleted application `id` of `user_id`, or (user_id 0) a not-deleted example. */
    int (*application_get)(void *self, int64_t user_id, int64_t id, rm_application_sink sink, void *sink_data);
    /** List not-deleted applications of `user_id`, or (user_id 0) examples; newest created_at first, then highest id. */
    int (*application_list)(void *self, int64_t user_id, const rm_storage_query *q, rm_application_sink sink, void *sink_data);
    /** Overwrite every mutable column of the not-deleted application with rec->id and rec->user_id. */
    int (*application_update)(void *self, const rm_application_record *rec);
    /** Soft-delete application `id` of `user_id` (set is_deleted, updated_at = now). RM_ENOTFOUND if absent or already deleted. */
    int (*application_delete)(void *self, int64_t user_id, int64_t id, int64_t now);

    /** Insert an AI model; store the new id in *id_out. RM_ECONFLICT if the display name is taken (case-insensitively). */
    int (*ai_model_insert)(void *self, const rm_ai_model_record *rec, int64_t *id_out);
    /** Find a model by id (display_name NULL) or by display name, case-insensitively (id 0). */
    int (*ai_model_get)(void *self, int64_t id, const char *display_name, rm_ai_model_sink sink, void *sink_data);
    /** List models ordered by display name (case-insensitively, then id); only active ones if active_only. */
    int (*ai_model_list)(void *self, int active_only, rm_ai_model_sink sink, void *sink_data);
    /** Overwrite every mutable column of the model with rec->id. RM_ECONFLICT on a display-name clash. */
    int (*ai_model_update)(void *self, const rm_ai_model_record *rec);

    /** Denylist a token id until expires_at (idempotent: a second call succeeds). */
    int (*token_deny)(void *self, const char *jti, int64_t user_id, int64_t expires_at);
    /** Set *denied to 1 if jti is denylisted, else 0. */
    int (*token_is_denied)(void *self, const char *jti, int *denied);
    /** Remove denylist entries whose expires_at <= now; store how many in *removed (may be NULL). */
    int (*token_prune)(void *self, int64_t now, int64_t *removed);

    /**
     * Atomically count one generation of user_id with model_id on `day` ("YYYY-MM-DD", UTC): if limit > 0
     * and the count already reached it, return RM_ELIMIT without counting; otherwise add one. *count_out
     * (may be NULL) receives the count after the call.
     */
    int (*usage_try_increment)(void *self, int64_t user_id, int64_t model_id, const char *day, int32_t limit, int32_t *count_out);
    /** Take back one count (a reserved generation that failed); never below zero. */
    int (*usage_release)(void *self, int64_t user_id, int64_t model_id, const char *day);
    /** Read the count of user_id with model_id on day (0 when none). */
    int (*usage_get)(void *self, int64_t user_id, int64_t model_id, const char *day, int32_t *count_out);

    /** Remember that idempotency key `key` of user_id produced resume_id at created_at. RM_ECONFLICT if the key is taken for that user. */
    int (*idempotency_put)(void *self, const char *key, int64_t user_id, int64_t resume_id, int64_t created_at);
    /** Find the resume of key for user_id recorded at or after `since`; RM_ENOTFOUND otherwise. */
    int (*idempotency_get)(void *self, const char *key, int64_t user_id, int64_t since, int64_t *resume_id_out);
    /** Remove idempotency records created before `before`; store how many in *removed (may be NULL). */
    int (*idempotency_prune)(void *self, int64_t before, int64_t *removed);

    /*
     * Version 2: whole-database export and import, used by rm_storage_copy() (include/resumate/copy.h).
     * The scans visit every row regardless of owner, deleted flag or example flag. A scan need not be a
     * consistent snapshot of a store that is being written to: copy a quiescent store. The imports write
     * a record exactly as given, its id included (no validation beyond the store's own constraints), and
     * leave the store's id generator (sequence, AUTOINCREMENT) past the highest id, so later inserts get
     * fresh ids. An id or unique value that is already taken is RM_ECONFLICT.
     */

    /** Every user, in id order. @since 1.0 (vtable version 2) */
    int (*user_scan)(void *self, rm_user_sink sink, void *sink_data);
    /** Every resume of every user, in id order. @since 1.0 (vtable version 2) */
    int (*resume_scan)(void *self, rm_resume_sink sink, void *sink_data);
    /** Every application, deleted ones and examples included, in id order. @since 1.0 (vtable version 2) */
    int (*application_scan)(void *self, rm_application_sink sink, void *sink_data);
    /** Every token denylist entry, in jti order. @since 1.0 (vtable version 2) */
    int (*token_scan)(void *self, rm_token_deny_sink sink, void *sink_data);
    /** Every daily usage count, in (user_id, model_id, day) order. @since 1.0 (vtable version 2) */
    int (*usage_scan)(void *self, rm_usage_sink sink, void *sink_data);
    /** Every idempotency record, in (user_id, key) order. @since 1.0 (vtable version 2) */
    int (*idempotency_scan)(void *self, rm_idempotency_sink sink, void *sink_data);
    /** Insert the user with rec->id (tokens_valid_after included). @since 1.0 (vtable version 2) */
    int (*user_import)(void *self, const rm_user_record *rec);
    /** Insert the resume with rec->id; its user must exist. @since 1.0 (vtable version 2) */
    int (*resume_import)(void *self, const rm_resume_record *rec);
    /** Insert the application with rec->id, is_deleted as given; its user and resume_used must exist. @since 1.0 (vtable version 2) */
    int (*application_import)(void *self, const rm_application_record *rec);
    /** Insert the model with rec->id (base_url included); RM_ECONFLICT on a display-name clash (any case). @since 1.0 (vtable version 2) */
    int (*ai_model_import)(void *self, const rm_ai_model_record *rec);
    /** Set the count of (user_id, model_id, day) to rec->count, creating the row. @since 1.0 (vtable version 2) */
    int (*usage_import)(void *self, const rm_usage_record *rec);

    /*
     * Version 3: these count members answer how many rows a list would return without paging, and by
     * setting one a backend declares that the matching list member (resume_list, application_list)
     * honours rm_storage_query's search and ordering. When it is NULL — a backend of an older version,
     * or one built against these headers that does not implement them — the library never passes
     * search or ordering to that list member: it lists with status and keyset only and filters,
     * sorts, pages and counts itself.
     */

    /** Store in *count_out how many resumes of `user_id` match q's search (paging and ordering ignored). @since 1.0 (vtable version 3) */
    int (*resume_count)(void *self, int64_t user_id, const rm_storage_query *q, int64_t *count_out);
    /** Store in *count_out how many not-deleted applications of `user_id` (or, user_id 0, examples) match q's status and search. @since 1.0 (vtable version 3) */
    int (*application_count)(void *self, int64_t user_id, const rm_storage_query *q, int64_t *count_out);
} rm_storage_vtable;

/** Static initialiser for ::rm_storage_vtable (all members NULL; C99 designated initialiser — C++ callers use rm_storage_vtable_init()). */
#define RM_STORAGE_VTABLE_INIT { .version = RM_STORAGE_VTABLE_VERSION }

/**
 * Initialise a vtable: version set, every member NULL (for bindings that cannot use the macro).
 * @param vtable the vtable.
 * @param version RM_STORAGE_VTABLE_VERSION, or an older version (then only that version's members are
 *        touched, so a backend built against older headers is safe).
 * @return RM_OK, RM_EMISUSE, RM_EVERSION. @since 1.0
 */
RM_EXTERN int rm_storage_vtable_init(rm_storage_vtable *vtable, unsigned int version);

/**
 * Wrap a custom backend in a storage handle.
 * @param out receives the handle; free it with rm_storage_free() (which calls vtable->close).
 * @param vtable the backend's functions; borrowed, must outlive the handle.
 * @param self the backend's state, passed to every member.
 * @return RM_OK, RM_EMISUSE, RM_EVERSION (version 0 or newer than this library), RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_storage_new(rm_storage **out, const rm_storage_vtable *vtable, void *self);

/**
 * Open a built-in backend from a URL: "sqlite:///relative/or/absolute/path", "sqlite://:memory:",
 * ":memory:", a plain file path (SQLite), or "postgres://…" / "postgresql://…" where built.
 * The schema is created or upgraded on open.
 *
 * PostgreSQL URL parameters of the library (the others go to libpq): `pool=N` and `pool_timeout=S`
 * (connection pool), `replica=<percent-encoded postgres:// URL>` (a read replica; repeat for up to 8)
 * and `replica_lag=S` (seconds, default 5, fractions allowed). With replicas, writes, transactions and
 * the reads of users, the token denylist and idempotency keys use the primary; reads of resumes,
 * applications, AI models and usage use the replicas in turn, except within `replica_lag` seconds after
 * the latest write made through this handle by any thread, when they use the primary — so a caller
 * reads its own writes provided the replicas lag by less than that. A failing replica is skipped for
 * 5 s (the read goes to another replica or the primary); replicas connect lazily.
 * `user_cache_ttl=S` (seconds from 0 to 1, default 1, fractions allowed; 0 disables it): how long the
 * user row read by an access-token check (rm_token_authenticate()) may be reused by later checks of
 * the same handle instead of a database round trip. Any user write made in this process (any handle)
 * empties it, so a password change, deactivation or revocation made here refuses old tokens at once;
 * one made by another process (another server, Django, SQL) is seen within S seconds. Other user
 * reads never use it.
 * @param out receives the handle; free it with rm_storage_free().
 * @param url the URL.
 * @return RM_OK, RM_EINVALID (unparsable URL, unknown scheme, bad pool/replica parameter; the message
 *         never repeats the URL), RM_ESTORAGE, RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_storage_open(rm_storage **out, const char *url);

/**
 * Open a SQLite database file (created if missing) or ":memory:". WAL mode, foreign keys on,
 * busy timeout 5 s; the schema is created or upgraded on open.
 * @param out receives the handle; free it with rm_storage_free().
 * @param path file path or ":memory:".
 * @return RM_OK, RM_ESTORAGE, RM_EMISUSE, RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_storage_open_sqlite(rm_storage **out, const char *path);

/**
 * Close a storage handle. No ctx may still be using it.
 * @param storage the handle; NULL is a no-op. @since 1.0
 */
RM_EXTERN void rm_storage_free(rm_storage *storage);

/**
 * The vtable behind a handle, so code written against the vtable (a conformance suite, a copy tool)
 * can drive any backend directly.
 * @param storage the handle.
 * @return the vtable, or NULL. @since 1.0
 */
RM_EXTERN const rm_storage_vtable *rm_storage_vtable_of(const rm_storage *storage);

/**
 * The backend state behind a handle (the `self` passed to every vtable member).
 * @param storage the handle.
 * @return the state, or NULL. @since 1.0
 */
RM_EXTERN void *rm_storage_self(const rm_storage *storage);

/**
 * For backend authors: describe the failure of the current vtable call (message without secrets).
 * @param status the ::rm_status the member is about to return.
 * @param message a short message (copied).
 * @return status, so a member can `return rm_storage_set_error(RM_ESTORAGE, "…");`. @since 1.0
 */
RM_EXTERN int rm_storage_set_error(int status, const char *message);

RM_END_DECLS

#endif
