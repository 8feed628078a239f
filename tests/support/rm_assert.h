/* Assertion macros shared by the Criterion suites: status codes with the last error's message. */
#ifndef RM_ASSERT_H
#define RM_ASSERT_H

#include <criterion/criterion.h>
#include <string.h>

#include "rm_test.h"

#define OK(expr)                                                                                                       \
    do {                                                                                                               \
        int rc_ = (expr);                                                                                              \
        cr_assert_eq(rc_, RM_OK, "%s -> %s: %s", #expr, rm_status_name(rc_), rm_error_message(rm_error_last()));      \
    } while (0)
#define FAILS(code, expr)                                                                                              \
    do {                                                                                                               \
        int rc_ = (expr);                                                                                              \
        cr_assert_eq(rc_, (code), "%s -> %s, want %s: %s", #expr, rm_status_name(rc_), rm_status_name(code),          \
                     rm_error_message(rm_error_last()));                                                               \
        cr_assert_eq(rm_error_code(rm_error_last()), (code), "last error of %s", #expr);                              \
    } while (0)
#define STREQ(a, b)                                                                                                    \
    do {                                                                                                               \
        const char *a_ = (a), *b_ = (b);                                                                               \
        cr_assert(a_ && b_ && strcmp(a_, b_) == 0, "%s: \"%s\", want \"%s\"", #a, a_ ? a_ : "(null)",                   \
                  b_ ? b_ : "(null)");                                                                                  \
    } while (0)
#define ERRORS(want)                                                                                                   \
    do {                                                                                                               \
        char *j_ = NULL;                                                                                               \
        cr_assert_eq(rm_error_fields_json(&j_, rm_error_last()), RM_OK);                                              \
        cr_assert(strcmp(j_, (want)) == 0, "field errors\n  got  %s\n  want %s", j_, (want));                         \
        rm_free(j_);                                                                                                   \
    } while (0)

#endif
