/**
 * @file list.h
 * @brief Paging options shared by every list call.
 */
#ifndef RESUMATE_LIST_H
#define RESUMATE_LIST_H

#include "common.h"

RM_BEGIN_DECLS

/** Current version of ::rm_list_options. */
#define RM_LIST_OPTIONS_VERSION 1

/**
 * Paging and filtering for list calls. Zero members mean "no limit", "from the start", "any".
 * A cursor (from a previous page's rm_*_page_next_cursor()) continues after that page's last row
 * and is stable under inserts; offset is simpler but shifts when rows are added.
 */
typedef struct rm_list_options {
    unsigned int version;   /**< RM_LIST_OPTIONS_VERSION. */
    int64_t limit;          /**< At most this many items; 0 for all. */
    int64_t offset;         /**< Skip this many items (ignored with a cursor). */
    const char *cursor;     /**< Continue after this cursor; NULL to start at the beginning. */
    const char *status;     /**< Job applications only: only this status; NULL for any. */
} rm_list_options;

/** Static initialiser for ::rm_list_options. */
#define RM_LIST_OPTIONS_INIT { .version = RM_LIST_OPTIONS_VERSION }

/**
 * Initialise list options (for bindings that cannot use RM_LIST_OPTIONS_INIT).
 * @param opts the options.
 * @param version RM_LIST_OPTIONS_VERSION.
 * @return RM_OK, RM_EMISUSE, RM_EVERSION. @since 1.0
 */
RM_EXTERN int rm_list_options_init(rm_list_options *opts, unsigned int version);

RM_END_DECLS

#endif
