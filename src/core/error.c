/* The thread-local last error. */
#include "internal.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name;
    char **msgs;
    size_t nmsgs;
} ferr_field;

struct rm__ferr {
    ferr_field *fields;
    size_t count, cap;
};

struct rm_error {
    int code;
    int reason;
    int64_t retry_after;
    char *message;
    rm__ferr *fields;
};

/* Per-thread error, freed by a pthread key destructor when the thread exits. */
static pthread_key_t error_key;
static pthread_once_t error_once = PTHREAD_ONCE_INIT;

static void error_destroy(void *p);
static void error_key_make(void) { (void)pthread_key_create(&error_key, error_destroy); }

static struct rm_error *tls_get(bool create)
{
    pthread_once(&error_once, error_key_make);
    struct rm_error *e = pthread_getspecific(error_key);
    if (!e && create) {
        e = calloc(1, sizeof(*e));
        if (e && pthread_setspecific(error_key, e) != 0) {
            free(e);
            e = NULL;
        }
    }
    return e;
}

/* Used when even the error record cannot be allocated. */
static const struct rm_error nomem_error = {RM_ENOMEM, 0, 0, NULL, NULL};

rm__ferr *rm__ferr_new(void) { return calloc(1, sizeof(rm__ferr)); }

void rm__ferr_free(rm__ferr *fe)
{
    if (!fe)
        return;
    for (size_t i = 0; i < fe->count; i++) {
        for (size_t j = 0; j < fe->fields[i].nmsgs; j++)
            free(fe->fields[i].msgs[j]);
        free(fe->fields[i].msgs);
        free(fe->fields[i].name);
    }
    free(fe->fields);
    free(fe);
}

static ferr_field *ferr_find(const rm__ferr *fe, const char *field)
{
    for (size_t i = 0; i < fe->count; i++)
        if (strcmp(fe->fields[i].name, field) == 0)
            return &fe->fields[i];
    return NULL;
}

int rm__ferr_add(rm__ferr *fe, const char *field, const char *message)
{
    ferr_field *f = ferr_find(fe, field);
    if (!f) {
        if (fe->count == fe->cap) {
            size_t cap = fe->cap ? fe->cap * 2 : 4;
            ferr_field *nf = realloc(fe->fields, cap * sizeof(*nf));
            if (!nf)
                return RM_ENOMEM;
            fe->fields = nf;
            fe->cap = cap;
        }
        f = &fe->fields[fe->count];
        memset(f, 0, sizeof(*f));
        if (!(f->name = strdup(field)))
            return RM_ENOMEM;
        fe->count++;
    }
    char **nm = realloc(f->msgs, (f->nmsgs + 1) * sizeof(char *));
    if (!nm)
        return RM_ENOMEM;
    f->msgs = nm;
    if (!(f->msgs[f->nmsgs] = strdup(message)))
        return RM_ENOMEM;
    f->nmsgs++;
    return RM_OK;
}

int rm__ferr_addf(rm__ferr *fe, const char *field, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return rm__ferr_add(fe, field, buf);
}

bool rm__ferr_has(const rm__ferr *fe, const char *field) { return fe && ferr_find(fe, field) != NULL; }
bool rm__ferr_empty(const rm__ferr *fe) { return !fe || fe->count == 0; }

static void error_reset(struct rm_error *e)
{
    free(e->message);
    rm__ferr_free(e->fields);
    memset(e, 0, sizeof(*e));
}

static void error_destroy(void *p)
{
    if (p) {
        error_reset(p);
        free(p);
    }
}

static int error_install(int code, int reason, char *message, rm__ferr *fields)
{
    struct rm_error *e = tls_get(true);
    if (!e) {
        free(message);
        rm__ferr_free(fields);
        return code;
    }
    error_reset(e);
    e->code = code;
    e->reason = reason;
    e->message = message;
    e->fields = fields;
    return code;
}

static char *vformat(const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

int rm__error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    return error_install(code, RM_REASON_NONE, msg, NULL);
}

int rm__error_set_reason(int code, int reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    return error_install(code, reason, msg, NULL);
}

void rm__error_set_retry_after(int64_t seconds)
{
    struct rm_error *e = tls_get(false);
    if (e)
        e->retry_after = seconds;
}

int rm__error_nomem(void) { return error_install(RM_ENOMEM, RM_REASON_NONE, NULL, NULL); }

int rm__error_misuse(const char *what)
{
    return rm__error_set(RM_EMISUSE, "invalid argument: %s", what);
}

int rm__error_fields(rm__ferr *fe, const char *message)
{
    char *msg = strdup(message ? message : "Invalid input.");
    return error_install(RM_EINVALID, RM_REASON_NONE, msg, fe);
}

int rm__error_field(const char *field, const char *message)
{
    rm__ferr *fe = rm__ferr_new();
    if (!fe || rm__ferr_add(fe, field, message) != RM_OK) {
        rm__ferr_free(fe);
        return rm__error_nomem();
    }
    return rm__error_fields(fe, NULL);
}

/* ---- public ---- */

static const struct rm_error no_error = {RM_OK, 0, 0, NULL, NULL};

const rm_error *rm_error_last(void)
{
    struct rm_error *e = tls_get(false);
    return e ? e : &no_error;
}

void rm_error_clear(void)
{
    struct rm_error *e = tls_get(false);
    if (e)
        error_reset(e);
}

int rm_error_code(const rm_error *err) { return err ? err->code : RM_OK; }
int rm_error_reason(const rm_error *err) { return err ? err->reason : RM_REASON_NONE; }
int64_t rm_error_retry_after(const rm_error *err) { return err ? err->retry_after : 0; }

const char *rm_error_message(const rm_error *err)
{
    if (!err)
        return "";
    if (err->message)
        return err->message;
    if (err->code == RM_ENOMEM)
        return "out of memory";
    return "";
}

size_t rm_error_field_count(const rm_error *err) { return err && err->fields ? err->fields->count : 0; }

const char *rm_error_field_name(const rm_error *err, size_t i)
{
    return i < rm_error_field_count(err) ? err->fields->fields[i].name : NULL;
}

size_t rm_error_field_message_count(const rm_error *err, size_t i)
{
    return i < rm_error_field_count(err) ? err->fields->fields[i].nmsgs : 0;
}

const char *rm_error_field_message(const rm_error *err, size_t i, size_t j)
{
    return j < rm_error_field_message_count(err, i) ? err->fields->fields[i].msgs[j] : NULL;
}

int rm_error_fields_json(char **out, const rm_error *err)
{
    if (!out || !err)
        return rm__error_misuse("out and err are required");
    json_t *obj = json_object();
    if (!obj)
        return rm__error_nomem();
    for (size_t i = 0; i < rm_error_field_count(err); i++) {
        json_t *arr = json_array();
        for (size_t j = 0; j < err->fields->fields[i].nmsgs; j++)
            json_array_append_new(arr, json_string(err->fields->fields[i].msgs[j]));
        json_object_set_new(obj, err->fields->fields[i].name, arr);
    }
    char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    if (!s)
        return rm__error_nomem();
    *out = s;
    return RM_OK;
}

int rm_error_copy(rm_error **out, const rm_error *err)
{
    if (!out || !err)
        return rm__error_misuse("out and err are required");
    rm_error *c = calloc(1, sizeof(*c));
    if (!c)
        return rm__error_nomem();
    c->code = err->code;
    c->reason = err->reason;
    c->retry_after = err->retry_after;
    if (err->message && !(c->message = strdup(err->message)))
        goto fail;
    if (err->fields) {
        if (!(c->fields = rm__ferr_new()))
            goto fail;
        for (size_t i = 0; i < err->fields->count; i++)
            for (size_t j = 0; j < err->fields->fields[i].nmsgs; j++)
                if (rm__ferr_add(c->fields, err->fields->fields[i].name, err->fields->fields[i].msgs[j]))
                    goto fail;
    }
    *out = c;
    return RM_OK;
fail:
    rm_error_free(c);
    return rm__error_nomem();
}

void rm_error_free(rm_error *err)
{
    if (!err || err == &no_error || err == &nomem_error || err == tls_get(false))
        return;
    free(err->message);
    rm__ferr_free(err->fields);
    free(err);
}
