/* Memory, strings, UTF-8, time and randomness used across the library. */
#include "internal.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void *rm__malloc(size_t n) { return malloc(n ? n : 1); }
void *rm__calloc(size_t n, size_t size) { return calloc(n ? n : 1, size ? size : 1); }
void *rm__realloc(void *p, size_t n) { return realloc(p, n ? n : 1); }

char *rm__strdup(const char *s) { return s ? strdup(s) : NULL; }

char *rm__strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int rm__buf_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n + 1)
            c *= 2;
        char *b = realloc(*buf, c);
        if (!b)
            return -1;
        *buf = b;
        *cap = c;
    }
    if (n)
        memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

char *rm__sprintf(const char *fmt, ...)
{
    va_list ap, cp;
    va_start(ap, fmt);
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    char *s = n < 0 ? NULL : malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void rm_free(void *ptr) { free(ptr); }

bool rm__utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str, *end = s + len;
    while (s < end) {
        unsigned c = *s;
        size_t n;
        uint32_t cp;
        if (c == 0)
            return false;
        if (c < 0x80) {
            s++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(end - s) <= n)
            return false;
        for (size_t i = 1; i <= n; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        s += n + 1;
    }
    return true;
}

size_t rm__utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

bool rm__ct_equal(const void *a, const void *b, size_t n) { return CRYPTO_memcmp(a, b, n) == 0; }

int rm__random_bytes(void *buf, size_t n) { return RAND_bytes(buf, (int)n) == 1 ? 0 : -1; }

int64_t rm__realtime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Howard Hinnant's civil-date algorithms. */
int64_t rm__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void rm__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void split_time(int64_t us, int64_t *y, unsigned *mo, unsigned *d, int *h, int *mi, int *s, int *frac)
{
    int64_t secs = us / 1000000, rem = us % 1000000;
    if (rem < 0) {
        rem += 1000000;
        secs--;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    rm__civil_from_days(days, y, mo, d);
    *h = (int)(sod / 3600);
    *mi = (int)(sod / 60 % 60);
    *s = (int)(sod % 60);
    *frac = (int)rem;
}

void rm__time_to_sql(char buf[32], int64_t us)
{
    int64_t y;
    unsigned mo, d;
    int h, mi, s, f;
    split_time(us, &y, &mo, &d, &h, &mi, &s, &f);
    /* Python's isoformat(" "), as Django's SQLite backend stores it: no fraction when it is zero. */
    if (f)
        snprintf(buf, 32, "%04d-%02u-%02u %02d:%02d:%02d.%06d", (int)y, mo, d, h, mi, s, f);
    else
        snprintf(buf, 32, "%04d-%02u-%02u %02d:%02d:%02d", (int)y, mo, d, h, mi, s);
}

/* v as exactly n decimal digits (zero-padded; v < 10^n). */
static void put_digits(char *p, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

int rm_format_timestamp(char *buf, size_t size, int64_t us)
{
    if (!buf || size < 28)
        return rm__error_misuse("buf must hold at least 28 bytes");
    int64_t y;
    unsigned mo, d;
    int h, mi, s, f;
    split_time(us, &y, &mo, &d, &h, &mi, &s, &f);
    if (y < 0 || y > 9999) { /* outside the four-digit years: printf's own (rare) layout */
        snprintf(buf, size, "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", (int)y, mo, d, h, mi, s, f);
        return RM_OK;
    }
    /* Every list row renders two of these: digits by hand, the same bytes as the printf above. */
    put_digits(buf, (unsigned)y, 4);
    buf[4] = '-';
    put_digits(buf + 5, mo, 2);
    buf[7] = '-';
    put_digits(buf + 8, d, 2);
    buf[10] = 'T';
    put_digits(buf + 11, (unsigned)h, 2);
    buf[13] = ':';
    put_digits(buf + 14, (unsigned)mi, 2);
    buf[16] = ':';
    put_digits(buf + 17, (unsigned)s, 2);
    buf[19] = '.';
    put_digits(buf + 20, (unsigned)f, 6);
    buf[26] = 'Z';
    buf[27] = '\0';
    return RM_OK;
}

static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (**p < '0' || **p > '9')
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    return v;
}

static bool civil_ok(int y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return false;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

bool rm__date_valid(const char *s)
{
    const char *p = s;
    int y = digits(&p, 4);
    if (y < 0 || *p++ != '-')
        return false;
    int m = digits(&p, 2);
    if (m < 0 || *p++ != '-')
        return false;
    int d = digits(&p, 2);
    return d >= 0 && *p == '\0' && civil_ok(y, m, d);
}

int64_t rm__time_from_sql(const char *s)
{
    if (!s)
        return RM_NO_TIME;
    const char *p = s;
    int y = digits(&p, 4);
    if (y < 0 || *p++ != '-')
        return RM_NO_TIME;
    int mo = digits(&p, 2);
    if (mo < 0 || *p++ != '-')
        return RM_NO_TIME;
    int d = digits(&p, 2);
    if (d < 0 || !civil_ok(y, mo, d))
        return RM_NO_TIME;
    int h = 0, mi = 0, sec = 0;
    int64_t frac = 0;
    int64_t offset = 0;
    if (*p == ' ' || *p == 'T') {
        p++;
        h = digits(&p, 2);
        if (h < 0 || *p++ != ':')
            return RM_NO_TIME;
        mi = digits(&p, 2);
        if (mi < 0 || *p++ != ':')
            return RM_NO_TIME;
        sec = digits(&p, 2);
        if (sec < 0)
            return RM_NO_TIME;
        if (*p == '.') {
            p++;
            int n = 0;
            while (*p >= '0' && *p <= '9') {
                if (n < 6) {
                    frac = frac * 10 + (*p - '0');
                    n++;
                }
                p++;
            }
            if (n == 0)
                return RM_NO_TIME;
            while (n++ < 6)
                frac *= 10;
        }
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1;
            int oh = digits(&p, 2), om = 0;
            if (oh < 0)
                return RM_NO_TIME;
            if (*p == ':')
                p++;
            if (*p) {
                om = digits(&p, 2);
                if (om < 0)
                    return RM_NO_TIME;
            }
            offset = sign * ((int64_t)oh * 3600 + om * 60);
        }
    }
    if (*p)
        return RM_NO_TIME;
    int64_t secs = rm__days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    return secs * 1000000 + frac;
}

/* ---- version ---- */
int rm_version_number(void) { return RM_VERSION_NUMBER; }
const char *rm_version(void) { return RM_VERSION_STRING; }

const char *rm_status_name(int status)
{
    switch (status) {
    case RM_OK: return "RM_OK";
    case RM_ERROR: return "RM_ERROR";
    case RM_EINVALID: return "RM_EINVALID";
    case RM_ENOTFOUND: return "RM_ENOTFOUND";
    case RM_ECONFLICT: return "RM_ECONFLICT";
    case RM_EAUTH: return "RM_EAUTH";
    case RM_EPERM: return "RM_EPERM";
    case RM_ELIMIT: return "RM_ELIMIT";
    case RM_EUPSTREAM: return "RM_EUPSTREAM";
    case RM_ESTORAGE: return "RM_ESTORAGE";
    case RM_ENOMEM: return "RM_ENOMEM";
    case RM_EVERSION: return "RM_EVERSION";
    case RM_EMISUSE: return "RM_EMISUSE";
    case RM_ETOKEN: return "RM_ETOKEN";
    case RM_ECANCELED: return "RM_ECANCELED";
    case RM_ETIMEOUT: return "RM_ETIMEOUT";
    case RM_EPARSE: return "RM_EPARSE";
    default: return "RM_UNKNOWN";
    }
}
