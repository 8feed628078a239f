#include "rm_test.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *rm_test_tmpdir(void)
{
    static char dir[256];
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/rm-test-XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    return dir;
}

char *rm_test_path(const char *suffix)
{
    static int seq;
    char *p = malloc(512);
    snprintf(p, 512, "%s/t%d-%d%s", rm_test_tmpdir(), (int)getpid(), __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST),
             suffix ? suffix : "");
    return p;
}

int64_t rm_test_clock(void *userdata) { return ((rm_test_clock_state *)userdata)->now_us; }

rm_fields *rm_test_fields(const char *name, ...)
{
    rm_fields *f = NULL;
    if (rm_fields_new(&f) != RM_OK)
        return NULL;
    va_list ap;
    va_start(ap, name);
    for (const char *n = name; n; n = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        rm_fields_set_string(f, n, v);
    }
    va_end(ap);
    return f;
}

const char *rm_test_field_msg(const char *field, size_t j)
{
    const rm_error *e = rm_error_last();
    for (size_t i = 0; i < rm_error_field_count(e); i++)
        if (strcmp(rm_error_field_name(e, i), field) == 0)
            return rm_error_field_message(e, i, j);
    return NULL;
}
