/**
 * @file list.h
 * @brief Paging options shared by every list call.
 */
#ifndef RESUMATE_LIST_H
#define RESUMATE_LIST_H

#include "common.h"

RM_BEGIN_DECLS

/** Current version of ::rm_list_options (2 added `search` and `ordering`). */
#define RM_LIST_OPTIONS_VERSION 2

/**
 * Paging, filtering and ordering for list calls. Zero members mean "no limit", "from the start",
 * "any", "default order".
 *
 * A cursor (from a previous page's rm_*_page_next_cursor()) continues after that page's last row;
 * pass the same status, search and ordering with it. In the default order the cursor is stable
 * under inserts; with a custom `ordering` it continues by position (like offset), so rows added or
 * removed meanwhile shift it. Offset is simpler but always shifts when rows are added.
 *
 * `search` (DRF SearchFilter): the text is split at ASCII whitespace and commas into at most 16
 * terms; a row matches when every term occurs in at least one searched field (job applications:
 * job_title, company_name, original_job_description; resumes: title, content). Matching is a plain
 * substring test (`%` and `_` are ordinary characters) that ignores ASCII case only: "É" does not
 * match "é". The text must be valid UTF-8.
 *
 * `ordering` (DRF OrderingFilter): comma-separated field names, `-` for descending. Job
 * applications: id, created_at, updated_at, job_title, company_name, status, date_applied; resumes:
 * id, created_at, updated_at, title. Text sorts by Unicode code point (case-sensitively: "Z" before
 * "a"); null values sort after every value ascending and before them descending. Ties are broken by
 * id in the direction of the first field. An unknown field is RM_EINVALID naming `ordering`
 * (DRF would ignore it). The defaults are "-created_at" (applications) and "-updated_at" (resumes).
 */
typedef struct rm_list_options {
    unsigned int version;   /**< RM_LIST_OPTIONS_VERSION. */
    int64_t limit;          /**< At most this many items; 0 for all. */
    int64_t offset;         /**< Skip this many items (ignored with a cursor). */
    const char *cursor;     /**< Continue after this cursor; NULL to start at the beginning. */
    const char *status;     /**< Job applications only: only this status; NULL for any. */
    const char *search;     /**< Search text; NULL or blank for none. @since 1.0 (version 2) */
    const char *ordering;   /**< Ordering, e.g. "company_name,-created_at"; NULL or blank for the default. @since 1.0 (version 2) */
} rm_list_options;

/** Static initialiser for ::rm_list_options. */
#define RM_LIST_OPTIONS_INIT { .version = RM_LIST_OPTIONS_VERSION }

/**
 * Initialise list options (for bindings that cannot use RM_LIST_OPTIONS_INIT).
 * @param opts the options.
 * @param version RM_LIST_OPTIONS_VERSION, or an older version (then only that version's members are
 *        touched, so a caller built against older headers is safe).
 * @return RM_OK, RM_EMISUSE, RM_EVERSION. @since 1.0
 */
RM_EXTERN int rm_list_options_init(rm_list_options *opts, unsigned int version);

RM_END_DECLS

#endif
