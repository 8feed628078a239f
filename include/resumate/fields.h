/**
 * @file fields.h
 * @brief rm_fields: the input of every create and update call, a set of named values.
 *
 * A field is absent, null, a string, an integer, a boolean or a number. Values are validated by the
 * call that consumes them, with Django REST framework's rules and messages, so a field of the wrong
 * type is reported as a field error of that call (for example `"Incorrect type. Expected pk value,
 * received str."`), not by the setter. Names the consuming call does not know are ignored, as are
 * read-only ones (`id`, `user`, `is_example`, `is_deleted`, `created_at`, `updated_at`).
 */
#ifndef RESUMATE_FIELDS_H
#define RESUMATE_FIELDS_H

#include "common.h"

RM_BEGIN_DECLS

/** A set of named input values. Not thread-safe: use one per thread or lock it yourself. */
typedef struct rm_fields rm_fields;

/**
 * Create an empty field set.
 * @param out receives the set; free it with rm_fields_free().
 * @return RM_OK, RM_EMISUSE, RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_fields_new(rm_fields **out);

/**
 * Free a field set.
 * @param fields the set; NULL is a no-op. @since 1.0
 */
RM_EXTERN void rm_fields_free(rm_fields *fields);

/**
 * Set a string value (copied). A NULL value sets the field to null.
 * @param fields the set.
 * @param name field name, UTF-8.
 * @param value UTF-8 text or NULL.
 * @return RM_OK; RM_EINVALID (field error on `name`) if value is not valid UTF-8; RM_EMISUSE. @since 1.0
 */
RM_EXTERN int rm_fields_set_string(rm_fields *fields, const char *name, const char *value);

/**
 * Set an integer value.
 * @param fields the set.
 * @param name field name.
 * @param value the value.
 * @return RM_OK, RM_EMISUSE, RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_fields_set_int(rm_fields *fields, const char *name, int64_t value);

/**
 * Set a boolean value.
 * @param fields the set.
 * @param name field name.
 * @param value zero for false, anything else for true.
 * @return RM_OK, RM_EMISUSE, RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_fields_set_bool(rm_fields *fields, const char *name, int value);

/**
 * Set a field to null.
 * @param fields the set.
 * @param name field name.
 * @return RM_OK, RM_EMISUSE, RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_fields_set_null(rm_fields *fields, const char *name);

/**
 * Remove a field, making it absent.
 * @param fields the set.
 * @param name field name.
 * @return RM_OK (also when it was absent), RM_EMISUSE. @since 1.0
 */
RM_EXTERN int rm_fields_unset(rm_fields *fields, const char *name);

/**
 * Whether a field is present (null counts as present).
 * @param fields the set.
 * @param name field name.
 * @return 1 if present, 0 if absent or on NULL arguments. @since 1.0
 */
RM_EXTERN int rm_fields_has(const rm_fields *fields, const char *name);

/**
 * A field's value as a string: strings as they are, integers and numbers in decimal.
 * @param fields the set.
 * @param name field name.
 * @return a string owned by the set (valid until the field changes), or NULL if the field is absent,
 *         null, a boolean, or a list or object. @since 1.0
 */
RM_EXTERN const char *rm_fields_get_string(const rm_fields *fields, const char *name);

/**
 * Parse a JSON request body into a field set.
 * @param out receives the set; free it with rm_fields_free().
 * @param text the body, UTF-8; need not be NUL-terminated.
 * @param len its length in bytes.
 * @return RM_OK; RM_EPARSE for malformed JSON (message "JSON parse error - <reason>"); RM_EINVALID
 *         with `non_field_errors` "Invalid data. Expected a dictionary, but got <type>." if the body
 *         is not an object; RM_EMISUSE; RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_fields_parse_json(rm_fields **out, const char *text, size_t len);

/**
 * Parse an `application/x-www-form-urlencoded` body into a field set (all values are strings; for a
 * repeated name the last value wins; an empty value of a nullable field counts as null, as in DRF).
 * @param out receives the set; free it with rm_fields_free().
 * @param text the body; need not be NUL-terminated.
 * @param len its length in bytes.
 * @return RM_OK; RM_EPARSE for bad percent-encoding or invalid UTF-8; RM_EMISUSE; RM_ENOMEM. @since 1.0
 */
RM_EXTERN int rm_fields_parse_form(rm_fields **out, const char *text, size_t len);

RM_END_DECLS

#endif
