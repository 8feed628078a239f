/* Shared helpers for the Criterion suites. */
#ifndef RM_TEST_H
#define RM_TEST_H

#include <resumate/resumate.h>

/* A temporary directory made for this process (removed by the caller if it likes). */
const char *rm_test_tmpdir(void);
/* A fresh path inside rm_test_tmpdir() with the given suffix. Caller frees. */
char *rm_test_path(const char *suffix);

/* A controllable clock: pass rm_test_clock as the ctx clock and a rm_test_clock_state as userdata. */
typedef struct rm_test_clock_state { int64_t now_us; } rm_test_clock_state;
int64_t rm_test_clock(void *userdata);

/* Build fields from name/value string pairs, terminated by NULL. A value of NULL sets null. */
rm_fields *rm_test_fields(const char *name, ...);

/* Assert helpers for the last error. */
const char *rm_test_field_msg(const char *field, size_t j);

#endif
