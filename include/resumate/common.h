/**
 * @file common.h
 * @brief Export macro, version, status codes and memory helpers shared by every libresumate header.
 */
#ifndef RESUMATE_COMMON_H
#define RESUMATE_COMMON_H

#include <stddef.h>
#include <stdint.h>

/** Marks a public function: default visibility in the shared library (empty with RM_STATIC_DEFINE). */
#if defined(RM_STATIC_DEFINE)
#  define RM_EXTERN
#elif defined(__GNUC__) || defined(__clang__)
#  define RM_EXTERN __attribute__((visibility("default")))
#else
#  define RM_EXTERN
#endif

#ifdef __cplusplus
#  define RM_BEGIN_DECLS extern "C" {
#  define RM_END_DECLS }
#else
/** Opens C linkage for a header's declarations (`extern "C" {` in C++, empty in C). */
#  define RM_BEGIN_DECLS
/** Closes the C linkage opened by RM_BEGIN_DECLS. */
#  define RM_END_DECLS
#endif

/** Major version; the SONAME is libresumate.so.RM_VERSION_MAJOR. */
#define RM_VERSION_MAJOR 1
/** Minor version: grows with backwards-compatible additions. */
#define RM_VERSION_MINOR 0
/** Patch version: fixes only. */
#define RM_VERSION_PATCH 0
/** The version as one number, MAJOR*10000 + MINOR*100 + PATCH. */
#define RM_VERSION_NUMBER (RM_VERSION_MAJOR * 10000 + RM_VERSION_MINOR * 100 + RM_VERSION_PATCH)
/** The version as a string. */
#define RM_VERSION_STRING "1.0.0"

RM_BEGIN_DECLS

/**
 * Status codes. Every function that can fail returns one of these as an `int`.
 * The numbers are fixed forever; a retired code keeps its number as a placeholder.
 */
enum rm_status {
    RM_OK = 0,            /**< Success. */
    RM_ERROR = -1,        /**< Unclassified failure; see rm_error_message(). */
    RM_EINVALID = -2,     /**< Input failed validation; field errors say which fields and why. */
    RM_ENOTFOUND = -3,    /**< No such object, or it belongs to someone else, or it is deleted. */
    RM_ECONFLICT = -4,    /**< A uniqueness rule was violated (storage level). */
    RM_EAUTH = -5,        /**< Credentials were rejected. */
    RM_EPERM = -6,        /**< The principal may not do this. */
    RM_ELIMIT = -7,       /**< A limit was reached; rm_error_retry_after() says when it resets. */
    RM_EUPSTREAM = -8,    /**< An upstream service (AI provider) failed or is not configured. */
    RM_ESTORAGE = -9,     /**< The storage backend failed. */
    RM_ENOMEM = -10,      /**< Out of memory. */
    RM_EVERSION = -11,    /**< A struct or vtable version is not supported by this library. */
    RM_EMISUSE = -12,     /**< API misuse: a NULL handle or argument where one is required. */
    RM_ETOKEN = -13,      /**< A token was rejected; rm_error_reason() gives an ::rm_reason. */
    RM_ECANCELED = -14,   /**< The operation was cancelled. */
    RM_ETIMEOUT = -15,    /**< The operation timed out. */
    RM_EPARSE = -16       /**< A request body could not be parsed (malformed JSON or form data). */
};

/**
 * Symbolic name of a status code, such as "RM_ENOTFOUND".
 * @param status a status code.
 * @return a static string; "RM_UNKNOWN" for numbers this library does not know.
 * Thread-safety: safe. @since 1.0
 */
RM_EXTERN const char *rm_status_name(int status);

/**
 * Runtime library version as a number (RM_VERSION_NUMBER of the library binary).
 * @return the version number. Thread-safety: safe. @since 1.0
 */
RM_EXTERN int rm_version_number(void);

/**
 * Runtime library version as a string, such as "1.0.0".
 * @return a static string. Thread-safety: safe. @since 1.0
 */
RM_EXTERN const char *rm_version(void);

/**
 * Free memory that the library handed to the caller through a `char **out` parameter.
 * @param ptr the memory; NULL is a no-op. Thread-safety: safe. @since 1.0
 */
RM_EXTERN void rm_free(void *ptr);

/**
 * Format a timestamp as ISO 8601 UTC with microseconds and `Z`, e.g. "2025-07-24T02:07:56.123456Z".
 * @param buf receives the NUL-terminated text; at least 28 bytes.
 * @param size size of buf.
 * @param us_since_epoch microseconds since 1970-01-01T00:00:00Z.
 * @return RM_OK, or RM_EMISUSE if buf is NULL or too small.
 * Thread-safety: safe. @since 1.0
 */
RM_EXTERN int rm_format_timestamp(char *buf, size_t size, int64_t us_since_epoch);

RM_END_DECLS

#endif
