/* Internal interface of the auth area: password hashing and the registration rules. */
#ifndef RM_AUTH_INTERNAL_H
#define RM_AUTH_INTERNAL_H

#include "../core/internal.h"

/* ---- password.c: Django's pbkdf2_sha256 format ---- */

/* Default iterations (Django 5.0's default; DESIGN.md fixes it). */
#define RM__PBKDF2_DEFAULT_ITERATIONS 720000u

/* Hash with a random 22-character [A-Za-z0-9] salt: "pbkdf2_sha256$<iter>$<salt>$<base64 sha256>".
 * *out is malloc'ed. Returns RM_OK, RM_ENOMEM or RM_ERROR (OpenSSL failure, last error set). */
int rm__password_hash(char **out, const char *password, uint32_t iterations);
/* Same with a given salt (known-answer tests). */
int rm__password_hash_with_salt(char **out, const char *password, const char *salt, uint32_t iterations);
/* True only if encoded is a pbkdf2_sha256 hash (any iteration count) matching password, compared in
 * constant time. Empty, "!"-prefixed, malformed or other-algorithm hashes are false. */
bool rm__password_verify(const char *password, const char *encoded);
/* False for "", NULL, "!..." and anything that is not a known hash format. */
bool rm__password_usable(const char *encoded);
/* A fresh unusable hash, "!" followed by 40 random [A-Za-z0-9] (Django's make_password(None)). malloc'ed. */
char *rm__password_unusable(void);
/* Burn the time of one verification at `iterations` (user-not-found path, so timing does not tell). */
void rm__password_dummy_verify(const char *password, uint32_t iterations);

/* ---- validate.c: Django/DRF rules and messages ---- */

/* Username rule of Django's UnicodeUsernameValidator and max_length 150 (characters). Appends to fe
 * under `field`; the caller has already handled absent/null/blank. */
int rm__validate_username(rm__ferr *fe, const char *field, const char *username);
/* Django's EmailValidator (and max_length 254): appends "Enter a valid email address." on failure. */
int rm__validate_email(rm__ferr *fe, const char *field, const char *email);
/* Django's default AUTH_PASSWORD_VALIDATORS, in order, every failing one reported:
 * similarity to username / email (UserAttributeSimilarityValidator, 0.7, quick_ratio), minimum
 * length 8, common password (case-insensitive), entirely numeric. username/email may be NULL. */
int rm__validate_password(rm__ferr *fe, const char *field, const char *password, const char *username,
                          const char *email);
/* Case-insensitive membership in the shipped common-password list. */
bool rm__password_is_common(const char *password);

#endif
