/**
 * @file user.h
 * @brief Users, passwords and principals (who is calling).
 */
#ifndef RESUMATE_USER_H
#define RESUMATE_USER_H

#include "common.h"
#include "ctx.h"
#include "fields.h"

RM_BEGIN_DECLS

/** A user, as read from storage. Immutable; safe to read from many threads. */
typedef struct rm_user rm_user;
/** Who is calling: a user or anonymous. Immutable; safe to read from many threads. */
typedef struct rm_principal rm_principal;

/** Flags for rm_user_create(). */
enum rm_user_flags {
    RM_USER_STAFF = 1,       /**< is_staff */
    RM_USER_SUPERUSER = 2,   /**< is_superuser (implies staff) */
    RM_USER_INACTIVE = 4     /**< create inactive */
};

/**
 * Register a user with the REST API's rules: fields `username`, `email`, `password`, `password2`.
 * Username: required, at most 150 characters, letters, digits and @.+-_, unique (case-sensitive).
 * Email: required, valid. Password: not too similar to the username or email, at least 8
 * characters, not common, not entirely numeric — all reported together in that order. A mismatch
 * with password2 is reported (on `password`) only when every field is otherwise valid.
 * The password is hashed with PBKDF2 (CPU-heavy: call it off any event loop).
 * @param out receives the new user, or NULL if the caller does not want it; free with rm_user_free().
 * @param ctx the ctx.
 * @param fields the request.
 * @return RM_OK, RM_EINVALID (field errors), RM_ESTORAGE, RM_EMISUSE. Thread-safety: safe. @since 1.0
 */
RM_EXTERN int rm_user_register(rm_user **out, rm_ctx *ctx, const rm_fields *fields);

/**
 * Create a user administratively (no password-strength rules; username and email rules apply).
 * An empty or NULL password makes the password unusable: the user can never log in with one.
 * @param out receives the user, or NULL; free with rm_user_free().
 * @param ctx the ctx.
 * @param username the username.
 * @param email the email address, may be "" or NULL.
 * @param password the password, or NULL/"" for an unusable one.
 * @param flags bitwise OR of ::rm_user_flags.
 * @return RM_OK, RM_EINVALID, RM_ESTORAGE, RM_EMISUSE. @since 1.0
 */
RM_EXTERN int rm_user_create(rm_user **out, rm_ctx *ctx, const char *username, const char *email,
                             const char *password, unsigned int flags);

/**
 * Check a username and password. Inactive users and unusable passwords never authenticate; the
 * time taken does not reveal whether the user exists.
 * @param out receives the principal; free with rm_principal_free().
 * @param ctx the ctx.
 * @param username the username (exact match after trimming surrounding whitespace, as simplejwt does).
 * @param password the password (used as it is, never trimmed).
 * @return RM_OK; RM_EAUTH for any wrong credential; RM_EINVALID (field errors "This field is
 *         required." / "This field may not be blank.") for NULL or empty arguments; RM_ESTORAGE.
 * Thread-safety: safe; CPU-heavy. @since 1.0
 */
RM_EXTERN int rm_user_authenticate(rm_principal **out, rm_ctx *ctx, const char *username, const char *password);

/**
 * Get a user by id.
 * @param out receives the user; free with rm_user_free().
 * @param ctx the ctx.
 * @param id the id.
 * @return RM_OK, RM_ENOTFOUND, RM_ESTORAGE, RM_EMISUSE. @since 1.0
 */
RM_EXTERN int rm_user_get(rm_user **out, rm_ctx *ctx, int64_t id);

/**
 * Get a user by exact username.
 * @param out receives the user; free with rm_user_free().
 * @param ctx the ctx.
 * @param username the username.
 * @return RM_OK, RM_ENOTFOUND, RM_ESTORAGE, RM_EMISUSE. @since 1.0
 */
RM_EXTERN int rm_user_get_by_username(rm_user **out, rm_ctx *ctx, const char *username);

/**
 * Change a user's password, checking it against the password rules (similarity, length, common,
 * numeric). Tokens issued before the change stop working.
 * @param ctx the ctx.
 * @param user_id the user.
 * @param new_password the new password.
 * @return RM_OK, RM_EINVALID (field `password`), RM_ENOTFOUND, RM_ESTORAGE, RM_EMISUSE. @since 1.0
 */
RM_EXTERN int rm_user_set_password(rm_ctx *ctx, int64_t user_id, const char *new_password);

/**
 * Deactivate a user: they can no longer log in and their tokens stop working.
 * @param ctx the ctx.
 * @param user_id the user.
 * @return RM_OK, RM_ENOTFOUND, RM_ESTORAGE. @since 1.0
 */
RM_EXTERN int rm_user_deactivate(rm_ctx *ctx, int64_t user_id);

/**
 * The inactive user that owns anonymous generations; created on first use.
 * @param out receives the user; free with rm_user_free().
 * @param ctx the ctx.
 * @return RM_OK, RM_ESTORAGE. @since 1.0
 */
RM_EXTERN int rm_user_anonymous(rm_user **out, rm_ctx *ctx);

/**
 * Free a user.
 * @param user the user; NULL is a no-op. @since 1.0
 */
RM_EXTERN void rm_user_free(rm_user *user);

/** @param user a user. @return its id. @since 1.0 */
RM_EXTERN int64_t rm_user_id(const rm_user *user);
/** @param user a user. @return its username, owned by the user. @since 1.0 */
RM_EXTERN const char *rm_user_username(const rm_user *user);
/** @param user a user. @return its email (possibly ""), owned by the user. @since 1.0 */
RM_EXTERN const char *rm_user_email(const rm_user *user);
/** @param user a user. @return 1 if active. @since 1.0 */
RM_EXTERN int rm_user_is_active(const rm_user *user);
/** @param user a user. @return 1 if staff. @since 1.0 */
RM_EXTERN int rm_user_is_staff(const rm_user *user);
/** @param user a user. @return 1 if superuser. @since 1.0 */
RM_EXTERN int rm_user_is_superuser(const rm_user *user);
/** @param user a user. @return when it joined, µs since the epoch. @since 1.0 */
RM_EXTERN int64_t rm_user_date_joined(const rm_user *user);
/** @param user a user. @return 1 if it has a usable password (one that can ever authenticate). @since 1.0 */
RM_EXTERN int rm_user_has_usable_password(const rm_user *user);

/**
 * The anonymous principal.
 * @param out receives it; free with rm_principal_free().
 * @return RM_OK, RM_EMISUSE, RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_principal_anonymous(rm_principal **out);

/**
 * A principal acting as the given user (the caller vouches for the user's identity).
 * @param out receives it; free with rm_principal_free().
 * @param user the user.
 * @return RM_OK, RM_EMISUSE, RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_principal_for_user(rm_principal **out, const rm_user *user);

/**
 * Copy a principal.
 * @param out receives the copy; free with rm_principal_free().
 * @param who the principal.
 * @return RM_OK, RM_EMISUSE, RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_principal_dup(rm_principal **out, const rm_principal *who);

/**
 * Free a principal.
 * @param who the principal; NULL is a no-op. @since 1.0
 */
RM_EXTERN void rm_principal_free(rm_principal *who);

/** @param who a principal. @return 1 if anonymous (also for NULL). @since 1.0 */
RM_EXTERN int rm_principal_is_anonymous(const rm_principal *who);
/** @param who a principal. @return the user id, 0 if anonymous. @since 1.0 */
RM_EXTERN int64_t rm_principal_user_id(const rm_principal *who);
/** @param who a principal. @return the username, "" if anonymous; owned by the principal. @since 1.0 */
RM_EXTERN const char *rm_principal_username(const rm_principal *who);
/** @param who a principal. @return 1 if staff. @since 1.0 */
RM_EXTERN int rm_principal_is_staff(const rm_principal *who);

RM_END_DECLS

#endif
