/* rm_fields: named input values, parsed from JSON or form bodies, coerced with DRF's rules. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rm_fields_new(rm_fields **out)
{
    if (!out)
        return rm__error_misuse("out is NULL");
    rm_fields *f = calloc(1, sizeof(*f));
    if (!f || !(f->obj = json_object()) || !(f->strcache = json_object())) {
        rm_fields_free(f);
        *out = NULL;
        return rm__error_nomem();
    }
    *out = f;
    return RM_OK;
}

void rm_fields_free(rm_fields *f)
{
    if (!f)
        return;
    json_decref(f->obj);
    json_decref(f->strcache);
    free(f);
}

static int set_value(rm_fields *f, const char *name, json_t *v)
{
    if (!f || !name) {
        json_decref(v);
        return rm__error_misuse("fields and name are required");
    }
    if (!v)
        return rm__error_nomem();
    if (!rm__utf8_valid(name, strlen(name))) {
        json_decref(v);
        return rm__error_set(RM_EINVALID, "field name is not valid UTF-8");
    }
    json_object_del(f->strcache, name);
    if (json_object_set_new(f->obj, name, v) != 0)
        return rm__error_nomem();
    return RM_OK;
}

int rm_fields_set_string(rm_fields *f, const char *name, const char *value)
{
    if (!value)
        return set_value(f, name, json_null());
    if (f && name && !rm__utf8_valid(value, strlen(value)))
        return rm__error_field(name, "Invalid UTF-8 text.");
    return set_value(f, name, json_string(value));
}

int rm_fields_set_int(rm_fields *f, const char *name, int64_t value) { return set_value(f, name, json_integer(value)); }
int rm_fields_set_bool(rm_fields *f, const char *name, int value) { return set_value(f, name, json_boolean(value)); }
int rm_fields_set_null(rm_fields *f, const char *name) { return set_value(f, name, json_null()); }

int rm_fields_unset(rm_fields *f, const char *name)
{
    if (!f || !name)
        return rm__error_misuse("fields and name are required");
    json_object_del(f->obj, name);
    json_object_del(f->strcache, name);
    return RM_OK;
}

json_t *rm__fields_value(const rm_fields *f, const char *name) { return f ? json_object_get(f->obj, name) : NULL; }

int rm_fields_has(const rm_fields *f, const char *name) { return f && name && json_object_get(f->obj, name) != NULL; }

/* Python's repr(float), which DRF's str() gives: the shortest text that reads back as the same double,
 * fixed notation for decimal exponents -4..15 (with ".0" when integral), otherwise scientific with at
 * least two exponent digits ("1e+16", "1.5e-05"). printf's "%.17g" gives "0.10000000000000001" and "100". */
static void format_real(char out[48], double x)
{
    char sci[48];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(sci, sizeof(sci), "%.*e", prec - 1, x);
        if (strtod(sci, NULL) == x)
            break;
    }
    const char *p = sci;
    char digits[24];
    int nd = 0;
    char *o = out;
    if (*p == '-')
        *o++ = *p++;
    for (; *p && *p != 'e' && nd < 20; p++)
        if (*p != '.')
            digits[nd++] = *p;
    int exp = *p == 'e' ? atoi(p + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    if (exp >= -4 && exp < 16) {
        if (exp < 0) {
            *o++ = '0';
            *o++ = '.';
            for (int i = 0; i < -exp - 1; i++)
                *o++ = '0';
            memcpy(o, digits, (size_t)nd);
            o += nd;
        } else {
            for (int i = 0; i <= exp; i++)
                *o++ = i < nd ? digits[i] : '0';
            *o++ = '.';
            if (nd > exp + 1) {
                memcpy(o, digits + exp + 1, (size_t)(nd - exp - 1));
                o += nd - exp - 1;
            } else {
                *o++ = '0';
            }
        }
    } else {
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)(nd - 1));
            o += nd - 1;
        }
        o += sprintf(o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
    *o = '\0';
}

const char *rm_fields_get_string(const rm_fields *f, const char *name)
{
    if (!f || !name)
        return NULL;
    json_t *v = json_object_get(f->obj, name);
    if (json_is_string(v))
        return json_string_value(v);
    if (!json_is_number(v))
        return NULL;
    json_t *c = json_object_get(f->strcache, name);
    if (!c) {
        char buf[64];
        if (json_is_integer(v))
            snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else
            format_real(buf, json_real_value(v));
        c = json_string(buf);
        if (!c || json_object_set_new(f->strcache, name, c) != 0)
            return NULL;
    }
    return json_string_value(c);
}

const char *rm__json_pytype(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "dict";
    case JSON_ARRAY: return "list";
    case JSON_STRING: return "str";
    case JSON_INTEGER: return "int";
    case JSON_REAL: return "float";
    case JSON_TRUE:
    case JSON_FALSE: return "bool";
    default: return "NoneType";
    }
}

int rm_fields_parse_json(rm_fields **out, const char *text, size_t len)
{
    if (!out || (!text && len))
        return rm__error_misuse("out and text are required");
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(text ? text : "", len, JSON_DECODE_ANY, &jerr);
    if (!root)
        return rm__error_set(RM_EPARSE, "JSON parse error - %s: line %d column %d (char %d)", jerr.text, jerr.line,
                             jerr.column, jerr.position);
    if (!json_is_object(root)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "Invalid data. Expected a dictionary, but got %s.", rm__json_pytype(root));
        json_decref(root);
        return rm__error_field("non_field_errors", msg);
    }
    rm_fields *f = calloc(1, sizeof(*f));
    if (!f || !(f->strcache = json_object())) {
        free(f);
        json_decref(root);
        return rm__error_nomem();
    }
    f->obj = root;
    *out = f;
    return RM_OK;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode [s, s+n) with '+' as space into a new string. */
static char *form_decode(const char *s, size_t n)
{
    char *d = malloc(n + 1), *p = d;
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            *p++ = ' ';
        } else if (s[i] == '%') {
            int hi = i + 1 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(d);
                return NULL;
            }
            *p++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *p++ = s[i];
        }
    }
    *p = '\0';
    size_t len = (size_t)(p - d);
    if (!rm__utf8_valid(d, len)) {
        free(d);
        return NULL;
    }
    return d;
}

int rm_fields_parse_form(rm_fields **out, const char *text, size_t len)
{
    if (!out || (!text && len))
        return rm__error_misuse("out and text are required");
    *out = NULL;
    rm_fields *f;
    int rc = rm_fields_new(&f);
    if (rc)
        return rc;
    f->form = true;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && text[end] != '&')
            end++;
        if (end > i) {
            size_t eq = i;
            while (eq < end && text[eq] != '=')
                eq++;
            char *k = form_decode(text + i, eq - i);
            char *v = eq < end ? form_decode(text + eq + 1, end - eq - 1) : strdup("");
            if (!k || !v) {
                free(k);
                free(v);
                rm_fields_free(f);
                return rm__error_set(RM_EPARSE, "Form parse error - invalid percent-encoding or UTF-8");
            }
            rc = set_value(f, k, json_string(v));
            free(k);
            free(v);
            if (rc) {
                rm_fields_free(f);
                return rc;
            }
        }
        i = end + 1;
    }
    *out = f;
    return RM_OK;
}

/* ---- DRF coercion ---- */

/* Python's str.strip(): Unicode whitespace at both ends. */
static bool is_space_at(const unsigned char *s, size_t *adv)
{
    unsigned c = s[0];
    *adv = 1;
    if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F))
        return true;
    if (c == 0xC2 && (s[1] == 0x85 || s[1] == 0xA0)) {
        *adv = 2;
        return true;
    }
    if (c == 0xE1 && s[1] == 0x9A && s[2] == 0x80) { /* U+1680 */
        *adv = 3;
        return true;
    }
    if (c == 0xE2 && s[1] == 0x80 && ((s[2] >= 0x80 && s[2] <= 0x8A) || s[2] == 0xA8 || s[2] == 0xA9 || s[2] == 0xAF)) {
        *adv = 3;
        return true;
    }
    if (c == 0xE2 && s[1] == 0x81 && s[2] == 0x9F) { /* U+205F */
        *adv = 3;
        return true;
    }
    if (c == 0xE3 && s[1] == 0x80 && s[2] == 0x80) { /* U+3000 */
        *adv = 3;
        return true;
    }
    return false;
}

char *rm__strip_dup(const char *s)
{
    const unsigned char *b = (const unsigned char *)s;
    size_t adv;
    while (*b && is_space_at(b, &adv))
        b += adv;
    /* find the end of the last non-space character */
    const unsigned char *p = b, *last = b;
    while (*p) {
        if (is_space_at(p, &adv)) {
            p += adv;
        } else {
            p++;
            while ((*p & 0xC0) == 0x80)
                p++;
            last = p;
        }
    }
    return rm__strndup((const char *)b, (size_t)(last - b));
}

int rm__field_char(rm__ferr *fe, const rm_fields *f, const char *name, const rm__charspec *spec, char **out)
{
    *out = NULL;
    json_t *v = rm__fields_value(f, name);
    if (!v) {
        if (!spec->required)
            return 0;
        rm__ferr_add(fe, name, "This field is required.");
        return -1;
    }
    if (f->form && json_is_string(v) && json_string_length(v) == 0 && spec->allow_null && !spec->allow_blank)
        v = NULL; /* DRF: an empty form value of a nullable field is null */
    if (!v || json_is_null(v)) {
        if (spec->allow_null)
            return 1;
        rm__ferr_add(fe, name, "This field may not be null.");
        return -1;
    }
    char numbuf[64];
    const char *raw;
    if (json_is_string(v)) {
        raw = json_string_value(v);
    } else if (json_is_integer(v)) {
        snprintf(numbuf, sizeof(numbuf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        raw = numbuf;
    } else if (json_is_real(v)) {
        format_real(numbuf, json_real_value(v));
        raw = numbuf;
    } else {
        rm__ferr_add(fe, name, "Not a valid string.");
        return -1;
    }
    char *val = spec->trim ? rm__strip_dup(raw) : strdup(raw);
    if (!val) {
        rm__ferr_add(fe, name, "out of memory");
        return -1;
    }
    char *stripped = spec->trim ? NULL : rm__strip_dup(raw);
    bool blank = spec->trim ? val[0] == '\0' : (stripped && stripped[0] == '\0');
    free(stripped);
    if (blank) {
        if (!spec->allow_blank) {
            free(val);
            rm__ferr_add(fe, name, "This field may not be blank.");
            return -1;
        }
        val[0] = spec->trim ? '\0' : val[0];
    }
    if (spec->max_length && rm__utf8_len(val) > spec->max_length) {
        rm__ferr_addf(fe, name, "Ensure this field has no more than %zu characters.", spec->max_length);
        free(val);
        return -1;
    }
    *out = val;
    return 1;
}

int rm__field_bool(rm__ferr *fe, const rm_fields *f, const char *name, int *out)
{
    json_t *v = rm__fields_value(f, name);
    if (!v)
        return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 1;
    }
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *out = (int)json_integer_value(v);
        return 1;
    }
    if (json_is_string(v)) {
        static const char *const t[] = {"true", "True", "TRUE", "1", "on", "On", "ON", "yes", "Yes", "YES", "y", "Y", "t", "T"};
        static const char *const fl[] = {"false", "False", "FALSE", "0", "off", "Off", "OFF", "no", "No", "NO", "n", "N", "f", "F"};
        const char *s = json_string_value(v);
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
            if (strcmp(s, t[i]) == 0) {
                *out = 1;
                return 1;
            }
        for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
            if (strcmp(s, fl[i]) == 0) {
                *out = 0;
                return 1;
            }
    }
    if (json_is_null(v))
        rm__ferr_add(fe, name, "This field may not be null.");
    else
        rm__ferr_add(fe, name, "Must be a valid boolean.");
    return -1;
}

int rm__field_int(rm__ferr *fe, const rm_fields *f, const char *name, int64_t min, int64_t max, int64_t *out)
{
    json_t *v = rm__fields_value(f, name);
    if (!v)
        return 0;
    int64_t n;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v) && fabs(json_real_value(v)) < 9e15) {
        n = (int64_t)json_real_value(v);
    } else if (json_is_string(v)) {
        char *s = rm__strip_dup(json_string_value(v)), *end;
        char *dot = s ? strrchr(s, '.') : NULL;
        if (dot && strspn(dot + 1, "0") == strlen(dot + 1))
            *dot = '\0'; /* DRF drops a decimal part of zeros first ("5.0", "5.") */
        errno = 0;
        long long ll = s && *s ? strtoll(s, &end, 10) : 0;
        bool ok = s && *s && *end == '\0' && errno == 0;
        free(s);
        if (!ok) {
            rm__ferr_add(fe, name, "A valid integer is required.");
            return -1;
        }
        n = ll;
    } else if (json_is_null(v)) {
        rm__ferr_add(fe, name, "This field may not be null.");
        return -1;
    } else {
        rm__ferr_add(fe, name, "A valid integer is required.");
        return -1;
    }
    if (n < min) {
        rm__ferr_addf(fe, name, "Ensure this value is greater than or equal to %lld.", (long long)min);
        return -1;
    }
    if (n > max) {
        rm__ferr_addf(fe, name, "Ensure this value is less than or equal to %lld.", (long long)max);
        return -1;
    }
    *out = n;
    return 1;
}
