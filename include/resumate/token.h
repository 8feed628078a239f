/**
 * @file token.h
 * @brief JWT access and refresh tokens, compatible with djangorestframework-simplejwt.
 *
 * Tokens are HS256 JWTs signed with the ctx's `secret_key`. Header `{"alg":"HS256","typ":"JWT"}`;
 * claims exactly as simplejwt makes them and in its order: `token_type` ("access" or "refresh"),
 * `exp`, `iat` (whole seconds since the epoch), `jti` (32 lowercase hex characters, random) and
 * `user_id` (an integer). An access token made from a refresh token carries the refresh token's
 * `iat` and its other claims, as simplejwt's `RefreshToken.access_token` does. Tokens issued by a
 * Django ResuMate server with the same SECRET_KEY are accepted, and the reverse.
 *
 * Lifetimes, leeway, rotation and the keys are ctx options (see ::rm_ctx_options): access 5 minutes
 * and refresh 1 day by default. Tokens are signed with `secret_key` and verified with `secret_key`
 * and then each of `previous_secret_keys`, so keys can be rotated without downtime.
 *
 * Verification refuses, with RM_ETOKEN and an ::rm_reason from rm_error_reason():
 * - RM_TOKEN_TOO_LARGE: longer than 8 KiB (8192 bytes);
 * - RM_TOKEN_MALFORMED: not three base64url parts of JSON objects; a `typ` other than "JWT";
 *   `exp`, `iat` or `user_id` missing or not an integer; `jti` missing or not a non-empty string;
 *   `token_type` missing or not a string;
 * - RM_TOKEN_BAD_ALGORITHM: a header `alg` other than exactly "HS256" ("none", "RS256", "ES256",
 *   "HS512", … whatever the key looks like). This is checked before any key is used;
 * - RM_TOKEN_BAD_SIGNATURE: the signature verifies with none of the keys;
 * - RM_TOKEN_EXPIRED: now >= exp + leeway (so a token is expired exactly at `exp` with no leeway);
 * - RM_TOKEN_NOT_YET_VALID: iat > ceil(now) + leeway, now in seconds (see "Revocation" below for
 *   why `now` is rounded up);
 * - RM_TOKEN_WRONG_TYPE: a refresh token where an access token is needed, or the reverse;
 * - RM_TOKEN_REVOKED: a refresh token whose `jti` is denylisted, or any token issued before the
 *   user's password changed or the user was deactivated;
 * - RM_TOKEN_USER_NOT_FOUND: `user_id` names no user;
 * - RM_TOKEN_USER_INACTIVE: the user is inactive (and the token was not revoked by deactivation).
 * Order: size; shape and header (`alg` before any key is used); payload; signature; claims; exp;
 * iat; type; then (refresh tokens only) the denylist; then the user: not found, revoked by
 * `tokens_valid_after`, inactive. Error messages never contain a token or a key.
 *
 * Revocation. Logging out (rm_token_revoke()) and refresh-token rotation denylist the refresh token's
 * `jti` in storage until its `exp`, so every process sharing the database refuses it from then on;
 * rm_token_prune() removes entries whose `exp` (plus the leeway) has passed. Changing a user's
 * password or deactivating them records the moment (µs) in the user's `tokens_valid_after`; a token
 * is revoked when `iat` × 10⁶ < tokens_valid_after. Because `iat` has whole seconds, a token issued
 * in the same second as the change but before it is refused (the comparison is fail-closed). So that
 * a token issued in that second *after* the change is not refused too, the library issues it with
 * `iat` = the next whole second (at most one second ahead of the clock) and accepts an `iat` up to
 * the next whole second (hence `ceil(now)` above). Such a token's `exp` is computed from the clock
 * as usual.
 *
 * Caching. Verifying an access token is a local signature and claim check plus exactly one
 * storage call: reading the user by id (existence, `is_active`, `tokens_valid_after`). Access tokens
 * are not looked up in the denylist (as in simplejwt, only refresh tokens are denylisted). With
 * SQLite and custom backends nothing is cached, so password changes, deactivation and deleted users
 * take effect on the very next verification in every process. The PostgreSQL backend answers this
 * one read from a per-handle cache (URL parameter `user_cache_ttl`, 0 to 1 s, default 1; 0 turns it
 * off; see rm_storage_open()): a user change made in the same process takes effect at once, one
 * made by another process (another server, an admin tool, plain SQL) within that TTL. Refreshing
 * never uses the cache and adds one denylist lookup (and one insert when rotating).
 * Separately, each ctx remembers the access tokens it has verified (their exact bytes, up to 1024),
 * so a token seen before skips decoding and the signature check, which cannot change while the ctx
 * lives; its times and its user are checked on every call as above, so no answer differs.
 *
 * Concurrency: two refreshes racing with the same refresh token while rotation is on may both
 * succeed (as with simplejwt); afterwards the old token is denylisted.
 */
#ifndef RESUMATE_TOKEN_H
#define RESUMATE_TOKEN_H

#include "common.h"
#include "ctx.h"
#include "user.h"

RM_BEGIN_DECLS

/** The result of issuing or refreshing tokens: an access token and possibly a refresh token. Immutable. */
typedef struct rm_token_pair rm_token_pair;

/** Longest token accepted for verification, in bytes. */
#define RM_TOKEN_MAX_LENGTH 8192

/**
 * Issue an access and refresh token for a user, as simplejwt's `RefreshToken.for_user`.
 * Reads the user once (it must exist and be active).
 * @param out receives the pair; free it with rm_token_pair_free().
 * @param ctx the ctx; it must have a `secret_key`.
 * @param who the user the tokens are for (the caller vouches for it).
 * @return RM_OK; RM_EPERM if who is anonymous or the user is inactive; RM_ENOTFOUND if the user no
 *         longer exists; RM_EMISUSE for NULL arguments or a ctx without a secret key; RM_ESTORAGE;
 *         RM_ENOMEM; RM_ERROR if the random generator or HMAC fails.
 * Ownership: *out belongs to the caller. Thread-safety: safe on a shared ctx. @since 1.0
 */
RM_EXTERN int rm_token_obtain(rm_token_pair **out, rm_ctx *ctx, const rm_principal *who);

/**
 * Log in with a username and password and issue a token pair: rm_user_authenticate() then
 * rm_token_obtain(). CPU-heavy (password hashing): call it off any event loop.
 * @param out receives the pair; free it with rm_token_pair_free().
 * @param ctx the ctx; it must have a `secret_key`.
 * @param username the username (exact).
 * @param password the password.
 * @return RM_OK; RM_EAUTH for a wrong password, an unknown or inactive user; RM_EINVALID (field
 *         errors) for NULL or empty username or password; RM_EMISUSE; RM_ESTORAGE; RM_ENOMEM; RM_ERROR.
 * Ownership: *out belongs to the caller. Thread-safety: safe on a shared ctx. @since 1.0
 */
RM_EXTERN int rm_token_login(rm_token_pair **out, rm_ctx *ctx, const char *username, const char *password);

/**
 * Verify an access token and get the principal it stands for (the `Authorization: Bearer` check).
 * One storage call (the user); see the file comment for every check and its reason.
 * @param out receives the principal; free it with rm_principal_free().
 * @param ctx the ctx; it must have a `secret_key`.
 * @param access_token the token (NUL-terminated).
 * @return RM_OK; RM_ETOKEN with rm_error_reason() saying why; RM_EMISUSE for NULL arguments or a
 *         ctx without a secret key; RM_ESTORAGE; RM_ENOMEM.
 * Ownership: *out belongs to the caller. Thread-safety: safe on a shared ctx. @since 1.0
 */
RM_EXTERN int rm_token_authenticate(rm_principal **out, rm_ctx *ctx, const char *access_token);

/**
 * Exchange a refresh token for a new access token (simplejwt's TokenRefreshView). With
 * `rotate_refresh_tokens` on, also a new refresh token (same claims, new `jti`, `exp` and `iat`),
 * and the old one is denylisted until its `exp`.
 * @param out receives the pair; rm_token_pair_refresh() is NULL unless rotation is on. Free it
 *        with rm_token_pair_free().
 * @param ctx the ctx; it must have a `secret_key`.
 * @param refresh_token the refresh token (NUL-terminated).
 * @return RM_OK; RM_ETOKEN with rm_error_reason() (RM_TOKEN_WRONG_TYPE for an access token,
 *         RM_TOKEN_REVOKED for a denylisted one, …); RM_EMISUSE; RM_ESTORAGE; RM_ENOMEM; RM_ERROR.
 * Ownership: *out belongs to the caller. Thread-safety: safe on a shared ctx. @since 1.0
 */
RM_EXTERN int rm_token_refresh(rm_token_pair **out, rm_ctx *ctx, const char *refresh_token);

/**
 * Log out: denylist a refresh token's `jti` in storage until its `exp` (simplejwt's blacklist view).
 * The token must be a valid refresh token; the user is not consulted.
 * @param ctx the ctx; it must have a `secret_key`.
 * @param refresh_token the refresh token (NUL-terminated).
 * @return RM_OK; RM_ETOKEN with rm_error_reason() (RM_TOKEN_REVOKED if it is already denylisted,
 *         RM_TOKEN_WRONG_TYPE for an access token, …); RM_EMISUSE; RM_ESTORAGE.
 * Ownership: none transferred. Thread-safety: safe on a shared ctx. @since 1.0
 */
RM_EXTERN int rm_token_revoke(rm_ctx *ctx, const char *refresh_token);

/**
 * Remove denylist entries of tokens that expired (beyond the leeway) and so can no longer be used.
 * @param ctx the ctx.
 * @param removed receives how many entries were removed; may be NULL.
 * @return RM_OK, RM_EMISUSE, RM_ESTORAGE.
 * Ownership: none transferred. Thread-safety: safe on a shared ctx. @since 1.0
 */
RM_EXTERN int rm_token_prune(rm_ctx *ctx, int64_t *removed);

/**
 * The access token of a pair.
 * @param pair the pair.
 * @return the token, owned by the pair; NULL if pair is NULL. Thread-safety: safe. @since 1.0
 */
RM_EXTERN const char *rm_token_pair_access(const rm_token_pair *pair);

/**
 * The refresh token of a pair.
 * @param pair the pair.
 * @return the token, owned by the pair; NULL if pair is NULL or if it came from rm_token_refresh()
 *         without rotation. Thread-safety: safe. @since 1.0
 */
RM_EXTERN const char *rm_token_pair_refresh(const rm_token_pair *pair);

/**
 * Free a pair (its token strings are wiped first).
 * @param pair the pair; NULL is a no-op. Thread-safety: not with other calls on the same pair. @since 1.0
 */
RM_EXTERN void rm_token_pair_free(rm_token_pair *pair);

RM_END_DECLS

#endif
