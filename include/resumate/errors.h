/**
 * @file errors.h
 * @brief Error detail: a thread-local last error with a message and field errors.
 */
#ifndef RESUMATE_ERRORS_H
#define RESUMATE_ERRORS_H

#include "common.h"

RM_BEGIN_DECLS

/** Error detail. Opaque; read it with the accessors below. */
typedef struct rm_error rm_error;

/**
 * Sub-reasons carried by rm_error_reason().
 * For RM_ETOKEN they say why a token was refused; for RM_EUPSTREAM what went wrong upstream.
 * The numbers are fixed forever.
 */
enum rm_reason {
    RM_REASON_NONE = 0,                 /**< No sub-reason. */
    RM_TOKEN_MALFORMED = 1,             /**< Not a JWT, or claims missing or of the wrong type. */
    RM_TOKEN_BAD_SIGNATURE = 2,         /**< Signature does not verify with any configured key. */
    RM_TOKEN_EXPIRED = 3,               /**< `exp` is in the past (beyond the leeway). */
    RM_TOKEN_WRONG_TYPE = 4,            /**< An access token where a refresh token is needed, or the reverse. */
    RM_TOKEN_REVOKED = 5,               /**< Denylisted, or issued before a password change or deactivation. */
    RM_TOKEN_USER_NOT_FOUND = 6,        /**< `user_id` names no user. */
    RM_TOKEN_USER_INACTIVE = 7,         /**< The user is inactive. */
    RM_TOKEN_BAD_ALGORITHM = 8,         /**< `alg` is anything but HS256. */
    RM_TOKEN_TOO_LARGE = 9,             /**< Longer than 8 KiB. */
    RM_TOKEN_NOT_YET_VALID = 10,        /**< `iat` is in the future beyond the leeway. */
    RM_UPSTREAM_NO_KEY = 20,            /**< The model's API key variable is unset or empty. */
    RM_UPSTREAM_AUTH = 21,              /**< The provider rejected the key. */
    RM_UPSTREAM_RATE_LIMIT = 22,        /**< The provider rate-limited us after all retries. */
    RM_UPSTREAM_UNAVAILABLE = 23,       /**< 5xx, timeout, connection failure after retries. */
    RM_UPSTREAM_BLOCKED = 24,           /**< The provider refused the content. */
    RM_UPSTREAM_BAD_RESPONSE = 25,      /**< The provider's answer could not be understood. */
    RM_UPSTREAM_CIRCUIT_OPEN = 26,      /**< The circuit breaker is open; the call failed fast. */
    RM_UPSTREAM_BAD_REQUEST = 27        /**< The provider refused the request as invalid. */
};

/**
 * The last error raised on the calling thread.
 * Every failing call replaces it; successful calls leave it alone.
 * @return never NULL: with no error yet, an error whose code is RM_OK and message is "".
 * Ownership: owned by the library, valid until the next libresumate call on this thread.
 * Thread-safety: thread-local. @since 1.0
 */
RM_EXTERN const rm_error *rm_error_last(void);

/**
 * Reset the calling thread's last error to RM_OK.
 * Thread-safety: thread-local. @since 1.0
 */
RM_EXTERN void rm_error_clear(void);

/**
 * Status code of an error.
 * @param err an error; NULL gives RM_OK.
 * @return the ::rm_status. @since 1.0
 */
RM_EXTERN int rm_error_code(const rm_error *err);

/**
 * Sub-reason of an error (::rm_reason).
 * @param err an error; NULL gives RM_REASON_NONE.
 * @return the reason, RM_REASON_NONE if there is none. @since 1.0
 */
RM_EXTERN int rm_error_reason(const rm_error *err);

/**
 * Human-readable message. Never contains a secret (password, key, token).
 * @param err an error; NULL gives "".
 * @return a string owned by err. @since 1.0
 */
RM_EXTERN const char *rm_error_message(const rm_error *err);

/**
 * For RM_ELIMIT (and upstream rate limits): seconds until the limit resets.
 * @param err an error; NULL gives 0.
 * @return seconds, or 0 when not applicable. @since 1.0
 */
RM_EXTERN int64_t rm_error_retry_after(const rm_error *err);

/**
 * Number of fields with validation messages (RM_EINVALID).
 * @param err an error; NULL gives 0.
 * @return the number of fields, in the order they were reported. @since 1.0
 */
RM_EXTERN size_t rm_error_field_count(const rm_error *err);

/**
 * Name of the i-th field with errors, such as "username" or "non_field_errors".
 * @param err an error.
 * @param i index below rm_error_field_count().
 * @return a string owned by err, or NULL if i is out of range. @since 1.0
 */
RM_EXTERN const char *rm_error_field_name(const rm_error *err, size_t i);

/**
 * Number of messages for the i-th field.
 * @param err an error.
 * @param i field index.
 * @return the number of messages, 0 if i is out of range. @since 1.0
 */
RM_EXTERN size_t rm_error_field_message_count(const rm_error *err, size_t i);

/**
 * The j-th message of the i-th field.
 * @param err an error.
 * @param i field index.
 * @param j message index.
 * @return a string owned by err, or NULL if out of range. @since 1.0
 */
RM_EXTERN const char *rm_error_field_message(const rm_error *err, size_t i, size_t j);

/**
 * Render the field errors as a JSON object in DRF's shape, `{"field": ["message", ...]}`.
 * @param out receives a NUL-terminated string; free it with rm_free().
 * @param err an error with field errors.
 * @return RM_OK, RM_EMISUSE for NULL arguments, RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_error_fields_json(char **out, const rm_error *err);

/**
 * Copy an error so it survives later calls or can move to another thread.
 * @param out receives the copy; free it with rm_error_free().
 * @param err the error to copy.
 * @return RM_OK, RM_EMISUSE, RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_error_copy(rm_error **out, const rm_error *err);

/**
 * Free an error made by rm_error_copy(). Never pass the pointer from rm_error_last().
 * @param err the error; NULL is a no-op. @since 1.0
 */
RM_EXTERN void rm_error_free(rm_error *err);

RM_END_DECLS

#endif
