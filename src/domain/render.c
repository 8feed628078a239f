/* Direct JSON rendering of the REST shapes: the hot path of every list answer, so no DOM, one buffer.
 * Output matches DRF's JSONRenderer (compact separators, ensure_ascii=False: UTF-8 as it is, control
 * characters escaped, "/" not escaped). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

void rm__sb_reserve(rm__sb *sb, size_t more)
{
    if (sb->oom || sb->len + more + 1 <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + more + 1)
        cap *= 2;
    char *n = realloc(sb->buf, cap);
    if (!n) {
        sb->oom = true;
        return;
    }
    sb->buf = n;
    sb->cap = cap;
}

void rm__sb_putn(rm__sb *sb, const char *s, size_t n)
{
    rm__sb_reserve(sb, n);
    if (sb->oom)
        return;
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void rm__sb_puts(rm__sb *sb, const char *s) { rm__sb_putn(sb, s, strlen(s)); }

void rm__sb_int(rm__sb *sb, int64_t v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    rm__sb_putn(sb, p, (size_t)(tmp + sizeof(tmp) - p));
}

void rm__sb_str(rm__sb *sb, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (!s) {
        rm__sb_putn(sb, "null", 4);
        return;
    }
    size_t n = strlen(s);
    rm__sb_reserve(sb, n + 2);
    rm__sb_putn(sb, "\"", 1);
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rm__sb_putn(sb, run, (size_t)(p - run));
        char esc[6] = {'\\', 0};
        size_t en = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            en = 6;
        }
        rm__sb_putn(sb, esc, en);
        run = p + 1;
    }
    rm__sb_putn(sb, run, strlen(run));
    rm__sb_putn(sb, "\"", 1);
}

void rm__sb_time(rm__sb *sb, int64_t us)
{
    if (us == RM_NO_TIME) {
        rm__sb_putn(sb, "null", 4);
        return;
    }
    char buf[48] = "\"";
    rm_format_timestamp(buf + 1, sizeof(buf) - 2, us);
    size_t n = 1 + strlen(buf + 1);
    buf[n++] = '"';
    rm__sb_putn(sb, buf, n);
}

int rm__sb_finish(rm__sb *sb, char **out)
{
    if (sb->oom || !sb->buf) {
        free(sb->buf);
        return rm__error_nomem();
    }
    *out = sb->buf;
    return RM_OK;
}
