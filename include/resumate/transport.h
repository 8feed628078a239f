/**
 * @file transport.h
 * @brief The HTTP transport extension point: an asynchronous, versioned vtable, the built-in libcurl
 *        backend, and a synchronous helper on top.
 *
 * A transport takes a request (method, URL, headers, body, timeouts) and later calls a completion
 * callback exactly once for every request it accepted: with the HTTP status, the response headers and
 * the body, or with a transport error (connection failure, reset, timeout, cancellation). A request
 * can be cancelled at any time; its completion callback then still runs once, with RM_ECANCELED,
 * unless the request had already completed.
 *
 * Streaming: when a request is submitted with a data callback, the body is not collected; it is
 * handed to the data callback in pieces as it arrives (the HTTP status and headers are already known
 * then), and the completion callback receives an empty body.
 *
 * The built-in backend drives libcurl's multi interface (curl_multi_socket_action() over epoll) on
 * threads of its own, one per online CPU and at most four, handing requests to them in turn; any
 * number of requests in flight need no additional threads. It reuses connections, verifies TLS certificates and
 * host names, and honours the usual proxy environment variables (`http_proxy`, `https_proxy`,
 * `no_proxy`, `all_proxy`).
 */
#ifndef RESUMATE_TRANSPORT_H
#define RESUMATE_TRANSPORT_H

#include "common.h"

RM_BEGIN_DECLS

/** A transport handle (the built-in backend or a custom vtable). Thread-safe. */
typedef struct rm_transport rm_transport;

/** Current version of ::rm_transport_request. */
#define RM_TRANSPORT_REQUEST_VERSION 1

/** One HTTP request. Everything it points to needs to live only until the submit call returns. */
typedef struct rm_transport_request {
    unsigned int version;            /**< RM_TRANSPORT_REQUEST_VERSION. */
    const char *method;              /**< "GET", "POST", …; NULL = "GET" without a body, "POST" with one. */
    const char *url;                 /**< Absolute http:// or https:// URL. */
    const char *const *headers;      /**< Request headers as "Name: value" strings; may be NULL. */
    size_t header_count;             /**< Number of entries in headers. */
    const char *body;                /**< Request body; may be NULL. */
    size_t body_len;                 /**< Its length in bytes. */
    int64_t connect_timeout_ms;      /**< Connection (including TLS) timeout; 0 = 10 s. */
    int64_t timeout_ms;              /**< Total timeout of the whole exchange; 0 = none. */
} rm_transport_request;

/** Static initialiser for ::rm_transport_request (C99 designated initialiser). */
#define RM_TRANSPORT_REQUEST_INIT { .version = RM_TRANSPORT_REQUEST_VERSION }

/** Transport-level failure kinds reported in ::rm_transport_response.error_kind. Fixed numbers. */
enum rm_transport_error_kind {
    RM_TRANSPORT_OK = 0,             /**< An HTTP response was received (any status). */
    RM_TRANSPORT_ECONNECT = 1,       /**< Could not resolve or connect. */
    RM_TRANSPORT_ERESET = 2,         /**< The connection broke (reset, closed early, incomplete body). */
    RM_TRANSPORT_ETIMEOUT = 3,       /**< A connect or total timeout expired. */
    RM_TRANSPORT_ETLS = 4,           /**< TLS handshake or certificate verification failed. */
    RM_TRANSPORT_ECANCELED = 5,      /**< Cancelled by the caller (or aborted by a data callback). */
    RM_TRANSPORT_EOTHER = 6          /**< Anything else (bad URL, out of memory, …). */
};

/** Current version of ::rm_transport_response. */
#define RM_TRANSPORT_RESPONSE_VERSION 1

/** The outcome of a request, passed to the completion callback; valid only during the callback. */
typedef struct rm_transport_response {
    unsigned int version;            /**< RM_TRANSPORT_RESPONSE_VERSION. */
    int error_kind;                  /**< An ::rm_transport_error_kind; RM_TRANSPORT_OK when status is valid. */
    const char *error_message;       /**< Short description of a transport error (no secrets); "" when none. */
    int status;                      /**< HTTP status, 0 when no response arrived. */
    const char *const *headers;      /**< Response headers of the final response, "Name: value", no CR/LF. */
    size_t header_count;             /**< Number of entries in headers. */
    const char *body;                /**< The body (NUL-terminated for convenience), "" when streamed or absent. */
    size_t body_len;                 /**< Its length in bytes. */
} rm_transport_response;

/**
 * Receives a piece of a streamed response body.
 * @return 0 to go on; anything else aborts the request (completion with RM_TRANSPORT_ECANCELED).
 * Runs on the transport's thread: return quickly and never call back into the same transport
 * synchronously except rm_transport_cancel().
 */
typedef int (*rm_transport_data_fn)(void *userdata, int status, const char *data, size_t len);

/**
 * Receives the outcome of a request, exactly once per accepted request. Runs on the transport's
 * thread; it may submit new requests.
 */
typedef void (*rm_transport_done_fn)(void *userdata, const rm_transport_response *response);

/** Current version of ::rm_transport_vtable. */
#define RM_TRANSPORT_VTABLE_VERSION 1

/**
 * A transport backend. Members receive the backend's `self` first. The library checks the version
 * before calling a member, and never calls a NULL member.
 */
typedef struct rm_transport_vtable {
    unsigned int version;            /**< RM_TRANSPORT_VTABLE_VERSION. */
    /** Release the backend: complete pending requests with RM_TRANSPORT_ECANCELED first. */
    void (*close)(void *self);
    /**
     * Start a request. On RM_OK the backend owns a copy of everything it needs, stores a nonzero
     * request id in *id_out, and will call on_done exactly once. On failure on_done is never called.
     * on_data may be NULL (collect the body).
     */
    int (*submit)(void *self, const rm_transport_request *req, rm_transport_data_fn on_data,
                  rm_transport_done_fn on_done, void *userdata, uint64_t *id_out);
    /** Abort request `id`; a no-op (RM_OK) if it already completed. */
    int (*cancel)(void *self, uint64_t id);
} rm_transport_vtable;

/** Static initialiser for ::rm_transport_vtable (members NULL). */
#define RM_TRANSPORT_VTABLE_INIT { .version = RM_TRANSPORT_VTABLE_VERSION }

/**
 * Initialise a vtable: version set, members NULL (for bindings that cannot use the macro).
 * @param vtable the vtable.
 * @param version RM_TRANSPORT_VTABLE_VERSION.
 * @return RM_OK, RM_EMISUSE, RM_EVERSION. Thread-safety: safe. @since 1.0
 */
RM_EXTERN int rm_transport_vtable_init(rm_transport_vtable *vtable, unsigned int version);

/**
 * Initialise a request struct (for bindings that cannot use RM_TRANSPORT_REQUEST_INIT).
 * @param req the request.
 * @param version RM_TRANSPORT_REQUEST_VERSION.
 * @return RM_OK, RM_EMISUSE, RM_EVERSION. Thread-safety: safe. @since 1.0
 */
RM_EXTERN int rm_transport_request_init(rm_transport_request *req, unsigned int version);

/**
 * Wrap a custom backend in a transport handle.
 * @param out receives the handle; free it with rm_transport_free() (which calls vtable->close).
 * @param vtable the backend's functions; borrowed, must outlive the handle; submit is required.
 * @param self the backend's state, passed to every member.
 * @return RM_OK, RM_EMISUSE, RM_EVERSION, RM_ENOMEM. Thread-safety: safe. @since 1.0
 */
RM_EXTERN int rm_transport_new(rm_transport **out, const rm_transport_vtable *vtable, void *self);

/**
 * Start the built-in libcurl backend (one background thread per CPU, at most four; requests in
 * flight need no thread each).
 * @param out receives the handle; free it with rm_transport_free().
 * @return RM_OK, RM_ERROR (libcurl or thread start-up failed), RM_EMISUSE, RM_ENOMEM.
 * Thread-safety: safe. @since 1.0
 */
RM_EXTERN int rm_transport_new_curl(rm_transport **out);

/**
 * Stop a transport: pending requests complete with RM_TRANSPORT_ECANCELED, then the backend is
 * released. Must not be called from a transport callback.
 * @param transport the handle; NULL is a no-op. @since 1.0
 */
RM_EXTERN void rm_transport_free(rm_transport *transport);

/**
 * Submit a request asynchronously.
 * @param transport the transport.
 * @param req the request (copied as needed).
 * @param on_data streaming callback, or NULL to collect the body.
 * @param on_done completion callback (required); called exactly once when RM_OK is returned.
 * @param userdata passed to both callbacks.
 * @param id_out receives the request id for rm_transport_cancel(); may be NULL.
 * @return RM_OK; RM_EMISUSE (missing argument, no URL); RM_EVERSION (request or vtable version);
 *         RM_ENOMEM; RM_ERROR if the transport is shutting down.
 * Thread-safety: safe from any thread, including transport callbacks. @since 1.0
 */
RM_EXTERN int rm_transport_submit(rm_transport *transport, const rm_transport_request *req,
                                  rm_transport_data_fn on_data, rm_transport_done_fn on_done, void *userdata,
                                  uint64_t *id_out);

/**
 * Cancel a request. Its completion callback runs once with RM_TRANSPORT_ECANCELED, unless it has
 * already completed (then this is a no-op).
 * @param transport the transport.
 * @param id the id from rm_transport_submit().
 * @return RM_OK, RM_EMISUSE. Thread-safety: safe from any thread. @since 1.0
 */
RM_EXTERN int rm_transport_cancel(rm_transport *transport, uint64_t id);

/**
 * Synchronous helper: perform a request and wait for its outcome.
 * @param status_out receives the HTTP status (0 on a transport error); may be NULL.
 * @param body_out receives the body, NUL-terminated; free with rm_free(); may be NULL.
 * @param body_len_out receives the body length; may be NULL.
 * @param transport the transport.
 * @param req the request.
 * @return RM_OK when any HTTP response arrived (check the status); RM_ETIMEOUT; RM_ECANCELED;
 *         RM_EUPSTREAM for connection, reset and TLS failures (reason RM_UPSTREAM_UNAVAILABLE);
 *         RM_EMISUSE; RM_ENOMEM. Thread-safety: safe; never call it from a transport callback.
 * @since 1.0
 */
RM_EXTERN int rm_transport_perform(int *status_out, char **body_out, size_t *body_len_out, rm_transport *transport,
                                   const rm_transport_request *req);

/**
 * Find a response header by name, case-insensitively (helper for completion callbacks).
 * @param response the response.
 * @param name the header name, without the colon.
 * @return the value (leading blanks skipped), pointing into the response; NULL if absent.
 * Thread-safety: safe. @since 1.0
 */
RM_EXTERN const char *rm_transport_response_header(const rm_transport_response *response, const char *name);

RM_END_DECLS

#endif
