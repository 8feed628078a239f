/* Registration rules of Django 5.1 / DRF, with their exact messages: UnicodeUsernameValidator,
 * EmailValidator, max lengths, and the default AUTH_PASSWORD_VALIDATORS.
 *
 * Without ICU, three Unicode properties are approximated:
 * - Python's \w (str.isalnum() or "_"), in usernames and in the similarity check's re.split(r"\W+"):
 *   ASCII letters, digits and "_", and every code point from U+00AA on except the punctuation,
 *   symbol, mark, space and private-use blocks of NOT_WORD. Checked against Python 3.11 (Unicode 14):
 *   98% of assigned code points agree. The rest are mostly combining marks of Indic and other scripts
 *   (Django refuses a username with a Devanagari vowel sign; we accept it), symbols outside the
 *   listed blocks, and unassigned code points, which we accept.
 * - Python's str.lower(): ASCII, Latin-1, Latin Extended-A, Greek (U+0386-U+03AB) and Cyrillic
 *   (U+0400-U+052F), exactly; no final-sigma rule, U+0130 unchanged; other scripts compared as written.
 * - "Entirely numeric" is ASCII digits only (Python's isdigit() also takes other scripts' digits). */
#include "internal.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MSG_USERNAME "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
#define MSG_USERNAME_LONG "Ensure this field has no more than 150 characters."
#define MSG_EMAIL "Enter a valid email address."
#define MSG_EMAIL_LONG "Ensure this field has no more than 254 characters."
#define MSG_SIMILAR "The password is too similar to the %s."
#define MSG_SHORT "This password is too short. It must contain at least 8 characters."
#define MSG_COMMON "This password is too common."
#define MSG_NUMERIC "This password is entirely numeric."

#define USERNAME_MAX 150
#define EMAIL_MAX 254
#define EMAIL_RFC_MAX 320 /* EmailValidator's own limit (RFC 3696) */
#define PASSWORD_MIN 8
#define MAX_SIMILARITY 0.7

/* Generated from data/common-passwords.txt by cmake/embed_passwords.cmake, sorted for strcmp. */
extern const char *const rm__common_passwords[];
extern const size_t rm__common_passwords_count;

/* ---- code points ---- */

/* One code point from s; invalid or truncated sequences give U+FFFD and consume one byte. Never reads
 * past the terminating NUL. */
static uint32_t next_cp(const unsigned char **ps)
{
    const unsigned char *s = *ps;
    unsigned c = s[0];
    size_t n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 4;
    uint32_t cp = n == 0 ? c : n == 1 ? c & 0x1F : n == 2 ? c & 0x0F : c & 0x07;
    if (n == 4)
        goto bad;
    for (size_t i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            goto bad;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    *ps = s + n + 1;
    return cp;
bad:
    *ps = s + 1;
    return 0xFFFD;
}

/* The code points of s (malloc'ed, *n of them), or NULL when out of memory. */
static uint32_t *decode(const char *s, size_t *n)
{
    uint32_t *out = rm__malloc((strlen(s) + 1) * sizeof(*out));
    const unsigned char *p = (const unsigned char *)s;
    *n = 0;
    while (out && *p)
        out[(*n)++] = next_cp(&p);
    return out;
}

static size_t encode_cp(char *out, uint32_t c)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

typedef struct {
    uint32_t lo, hi;
} cp_range;

static bool in_ranges(uint32_t c, const cp_range *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c >= r[i].lo && c <= r[i].hi)
            return true;
    return false;
}

/* Blocks of punctuation, symbols, marks, spaces and private use: not \w (see the file comment). */
static const cp_range NOT_WORD[] = {
    {0x00AB, 0x00B1}, {0x00B4, 0x00B4}, {0x00B6, 0x00B8}, {0x00BB, 0x00BB}, {0x00BF, 0x00BF},
    {0x00D7, 0x00D7}, {0x00F7, 0x00F7}, {0x0300, 0x036F}, {0x2000, 0x206F}, {0x20A0, 0x20FF},
    {0x2190, 0x245F}, {0x249C, 0x24E9}, {0x2500, 0x2775}, {0x2794, 0x2BFF}, {0x3000, 0x3004},
    {0x3008, 0x3020}, {0x302A, 0x3030}, {0x3036, 0x3037}, {0x303D, 0x303F}, {0xD800, 0xF8FF},
    {0xFE00, 0xFE0F}, {0xFE20, 0xFE4F}, {0xFEFF, 0xFEFF}, {0xFF00, 0xFF0F}, {0xFF1A, 0xFF20},
    {0xFF3B, 0xFF40}, {0xFF5B, 0xFF65}, {0xFFF0, 0xFFFF}, {0x1F000, 0x1FAFF}, {0xE0000, 0x10FFFF},
};

/* Python's \w on str: [A-Za-z0-9_] and Unicode letters and numbers (approximated above U+007F). */
static bool is_word(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (c < 0xAA)
        return false;
    return !in_ranges(c, NOT_WORD, sizeof(NOT_WORD) / sizeof(NOT_WORD[0]));
}

/* Python's str.isspace(), what str.strip() removes. */
static bool is_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

/* In a block where upper and lower case alternate, the uppercase letter is the one of parity `upper`. */
static uint32_t lower_pair(uint32_t c, uint32_t upper) { return (c & 1) == upper ? c + 1 : c; }

/* str.lower() for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic; other code points unchanged. */
static uint32_t cp_lower(uint32_t c)
{
    if (c < 0x80)
        return c >= 'A' && c <= 'Z' ? c + 32 : c;
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3AB && c != 0x3A2) ||
        (c >= 0x410 && c <= 0x42F))
        return c + 32;
    if (c >= 0x400 && c <= 0x40F)
        return c + 80;
    if ((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
        return lower_pair(c, 0);
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E) || (c >= 0x4C1 && c <= 0x4CE))
        return lower_pair(c, 1);
    if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F))
        return lower_pair(c, 0);
    switch (c) {
    case 0x178: return 0xFF;
    case 0x386: return 0x3AC;
    case 0x388: case 0x389: case 0x38A: return c + 37;
    case 0x38C: return 0x3CC;
    case 0x38E: case 0x38F: return c + 63;
    case 0x4C0: return 0x4CF;
    default: return c;
    }
}

/* Lowercased code points of s (malloc'ed), or NULL when out of memory. */
static uint32_t *decode_lower(const char *s, size_t *n)
{
    uint32_t *cps = decode(s, n);
    for (size_t i = 0; cps && i < *n; i++)
        cps[i] = cp_lower(cps[i]);
    return cps;
}

static int add(rm__ferr *fe, const char *field, const char *message)
{
    return rm__ferr_add(fe, field, message) == RM_OK ? RM_OK : rm__error_nomem();
}

/* ---- username ---- */

/* ^[\w.@+-]+\Z */
static bool username_chars_ok(const char *s)
{
    if (!*s || !rm__utf8_valid(s, strlen(s)))
        return false;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t c = next_cp(&p);
        if (!is_word(c) && c != '.' && c != '@' && c != '+' && c != '-')
            return false;
    }
    return true;
}

int rm__validate_username(rm__ferr *fe, const char *field, const char *username)
{
    if (!fe || !field)
        return rm__error_misuse("fe and field are required");
    if (!username)
        username = "";
    /* DRF runs the field's validators in this order: the regex first, then max_length. */
    int rc = username_chars_ok(username) ? RM_OK : add(fe, field, MSG_USERNAME);
    if (rc == RM_OK && rm__utf8_len(username) > USERNAME_MAX)
        rc = add(fe, field, MSG_USERNAME_LONG);
    return rc;
}

/* ---- email (Django 5.1 EmailValidator) ---- */

/* Code points that match [A-Z] under re.IGNORECASE without being ASCII: İ ı ſ K (Kelvin). */
static bool is_ignorecase_extra(uint32_t c) { return c == 0x130 || c == 0x131 || c == 0x17F || c == 0x212A; }

static bool is_ascii_alnum(uint32_t c) { return c < 0x80 && is_word(c) && c != '_'; }

/* dot-atom: [-!#$%&'*+/=?^_`{}|~0-9A-Z]+(\.[...]+)* */
static bool user_dot_atom(const unsigned char *s, const unsigned char *end)
{
    bool atom_empty = true;
    while (s < end) {
        uint32_t c = next_cp(&s);
        if (c == '.') {
            if (atom_empty)
                return false;
            atom_empty = true;
        } else if (is_ascii_alnum(c) || (c < 0x80 && c && strchr("-!#$%&'*+/=?^_`{}|~", (int)c)) ||
                   is_ignorecase_extra(c)) {
            atom_empty = false;
        } else {
            return false;
        }
    }
    return !atom_empty;
}

/* quoted-string: "([\001-\010\013\014\016-\037!#-\[\]-\177]|\\[\001-\011\013\014\016-\177])*" */
static bool user_quoted(const unsigned char *s, const unsigned char *end)
{
    if (end - s < 2 || s[0] != '"' || end[-1] != '"')
        return false;
    end--;
    s++;
    while (s < end) {
        uint32_t c = next_cp(&s);
        bool escaped = c == '\\';
        if (escaped) {
            if (s >= end)
                return false;
            c = next_cp(&s);
        }
        bool ok = is_ignorecase_extra(c) || (c >= 0x01 && c <= 0x7F && c != '\n' && c != '\r');
        if (!escaped)
            ok = ok && c != '\t' && c != ' ' && c != '"' && c != '\\';
        if (!ok)
            return false;
    }
    return true;
}

/* A character of DomainNameValidator's labels: [a-z\u00a1-\uffff0-9] (IGNORECASE). */
static bool is_domain_char(uint32_t c) { return is_ascii_alnum(c) || (c >= 0xA1 && c <= 0xFFFF); }

/* hostname_re / domain_re label: 1..63 characters of [a-z\u00a1-\uffff0-9-], no '-' at either end. */
static bool domain_label(const unsigned char *s, const unsigned char *end)
{
    size_t n = 0;
    uint32_t c = 0;
    if (s < end && *s == '-')
        return false;
    while (s < end) {
        c = next_cp(&s);
        if (!is_domain_char(c) && c != '-')
            return false;
        n++;
    }
    return n >= 1 && n <= 63 && c != '-';
}

/* tld_no_fqdn_re after the dot: (?!-)(?:[a-z\u00a1-\uffff-]{2,63}|xn--[a-z0-9]{1,59})(?<!-) */
static bool domain_tld(const unsigned char *s, const unsigned char *end)
{
    if (s >= end || *s == '-' || end[-1] == '-')
        return false;
    bool letters = true, punycode = end - s > 4 && strncasecmp((const char *)s, "xn--", 4) == 0;
    size_t n = 0, pn = 0;
    for (const unsigned char *p = s; p < end; n++) {
        uint32_t c = next_cp(&p);
        letters = letters && ((c < 0x80 && is_word(c) && c != '_' && !(c >= '0' && c <= '9')) || c == '-' ||
                              (c >= 0xA1 && c <= 0xFFFF));
        if (n >= 4) {
            punycode = punycode && (is_ascii_alnum(c) || is_ignorecase_extra(c));
            pn++;
        }
    }
    return (letters && n >= 2 && n <= 63) || (punycode && pn >= 1 && pn <= 59);
}

static bool domain_name(const unsigned char *s, const unsigned char *end)
{
    const unsigned char *last_dot = NULL;
    for (const unsigned char *p = s; p < end; p++)
        if (*p == '.')
            last_dot = p;
    if (!last_dot || !domain_tld(last_dot + 1, end))
        return false;
    for (const unsigned char *p = s;;) {
        const unsigned char *dot = memchr(p, '.', (size_t)(last_dot + 1 - p));
        if (!domain_label(p, dot))
            return false;
        if (dot == last_dot)
            return true;
        p = dot + 1;
    }
}

/* \[([A-F0-9:.]+)\] holding an address Python's ipaddress accepts (IPv6 at most 39 characters). */
static bool domain_literal(const unsigned char *s, const unsigned char *end)
{
    size_t n = (size_t)(end - s);
    if (n < 3 || s[0] != '[' || end[-1] != ']' || n - 2 > 39)
        return false;
    char ip[40];
    memcpy(ip, s + 1, n - 2);
    ip[n - 2] = '\0';
    if (strspn(ip, "0123456789abcdefABCDEF:.") != n - 2)
        return false;
    unsigned char buf[16];
    return inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1;
}

static bool email_ok(const char *email)
{
    size_t len = strlen(email);
    const char *at = strrchr(email, '@');
    if (!at || !rm__utf8_valid(email, len) || rm__utf8_len(email) > EMAIL_RFC_MAX)
        return false;
    const unsigned char *u = (const unsigned char *)email, *d = (const unsigned char *)at + 1;
    const unsigned char *end = (const unsigned char *)email + len;
    if (!user_dot_atom(u, d - 1) && !user_quoted(u, d - 1))
        return false;
    return strcmp((const char *)d, "localhost") == 0 || domain_name(d, end) || domain_literal(d, end);
}

int rm__validate_email(rm__ferr *fe, const char *field, const char *email)
{
    if (!fe || !field)
        return rm__error_misuse("fe and field are required");
    if (!email)
        email = "";
    /* DRF's EmailField: max_length (CharField) runs before EmailValidator. */
    int rc = rm__utf8_len(email) > EMAIL_MAX ? add(fe, field, MSG_EMAIL_LONG) : RM_OK;
    if (rc == RM_OK && !email_ok(email))
        rc = add(fe, field, MSG_EMAIL);
    return rc;
}

/* ---- password ---- */

/* Python: pwd_len >= 10 * value_len and value_len < max_similarity / 2 * pwd_len */
static bool exceeds_maximum_length_ratio(size_t pwd_len, size_t value_len)
{
    return pwd_len >= 10 * value_len && (double)value_len < MAX_SIMILARITY / 2 * (double)pwd_len;
}

static int cmp_cp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* difflib.SequenceMatcher(a=a, b=b).quick_ratio() >= MAX_SIMILARITY: 2 * (size of the multiset
 * intersection) / (len(a) + len(b)). a_sorted is a sorted; b is sorted here in a scratch buffer. */
static bool too_similar(const uint32_t *a_sorted, size_t na, const uint32_t *b, size_t nb, uint32_t *scratch)
{
    memcpy(scratch, b, nb * sizeof(*b));
    qsort(scratch, nb, sizeof(*scratch), cmp_cp);
    size_t i = 0, j = 0, matches = 0;
    while (i < na && j < nb) {
        if (a_sorted[i] == scratch[j]) {
            matches++;
            i++;
            j++;
        } else if (a_sorted[i] < scratch[j]) {
            i++;
        } else {
            j++;
        }
    }
    double ratio = na + nb ? 2.0 * (double)matches / (double)(na + nb) : 1.0;
    return ratio >= MAX_SIMILARITY;
}

/* UserAttributeSimilarityValidator for one attribute: the parts of re.split(r"\W+", value) and the
 * whole value. 1 if too similar, 0 if not, RM_ENOMEM. */
static int similar_to(const uint32_t *pwd_sorted, size_t np, const char *value)
{
    size_t nv;
    uint32_t *v = decode_lower(value, &nv);
    uint32_t *scratch = rm__malloc((nv + 1) * sizeof(*scratch));
    int result = 0;
    if (!v || !scratch) {
        result = RM_ENOMEM;
        goto done;
    }
    for (size_t i = 0; !result;) {
        size_t start = i;
        while (i < nv && is_word(v[i]))
            i++;
        if (!exceeds_maximum_length_ratio(np, i - start) && too_similar(pwd_sorted, np, v + start, i - start, scratch))
            result = 1;
        if (i == nv)
            break;
        while (i < nv && !is_word(v[i])) /* \W+; a separator at the end leaves an empty last part */
            i++;
    }
    if (!result && !exceeds_maximum_length_ratio(np, nv) && too_similar(pwd_sorted, np, v, nv, scratch))
        result = 1;
done:
    free(v);
    free(scratch);
    return result;
}

/* Adds at most one similarity message: for the first attribute that is too similar. */
static int check_similarity(rm__ferr *fe, const char *field, const uint32_t *pwd, size_t np, const char *username,
                            const char *email)
{
    const char *values[2] = {username, email};
    const char *names[2] = {"username", "email address"};
    uint32_t *sorted = rm__malloc((np + 1) * sizeof(*sorted));
    if (!sorted)
        return rm__error_nomem();
    memcpy(sorted, pwd, np * sizeof(*pwd));
    qsort(sorted, np, sizeof(*sorted), cmp_cp);
    int rc = RM_OK;
    for (size_t k = 0; k < 2 && rc == RM_OK; k++) {
        if (!values[k] || !*values[k])
            continue;
        int r = similar_to(sorted, np, values[k]);
        if (r == RM_ENOMEM)
            rc = rm__error_nomem();
        else if (r == 1) {
            rc = rm__ferr_addf(fe, field, MSG_SIMILAR, names[k]) == RM_OK ? RM_OK : rm__error_nomem();
            break;
        }
    }
    free(sorted);
    return rc;
}

static int cmp_str(const void *key, const void *elem) { return strcmp(key, *(const char *const *)elem); }

bool rm__password_is_common(const char *password)
{
    if (!password)
        return false;
    size_t n;
    uint32_t *cps = decode_lower(password, &n);
    char *s = rm__malloc(n * 4 + 1);
    bool found = false;
    if (cps && s) {
        size_t lo = 0, hi = n, len = 0;
        while (lo < hi && is_space(cps[lo]))
            lo++;
        while (hi > lo && is_space(cps[hi - 1]))
            hi--;
        for (size_t i = lo; i < hi; i++)
            len += encode_cp(s + len, cps[i]);
        s[len] = '\0';
        found = bsearch(s, rm__common_passwords, rm__common_passwords_count, sizeof(rm__common_passwords[0]),
                        cmp_str) != NULL;
    }
    free(cps);
    free(s);
    return found;
}

static bool all_ascii_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

int rm__validate_password(rm__ferr *fe, const char *field, const char *password, const char *username,
                          const char *email)
{
    if (!fe || !field || !password)
        return rm__error_misuse("fe, field and password are required");
    size_t np;
    uint32_t *pwd = decode_lower(password, &np);
    if (!pwd)
        return rm__error_nomem();
    int rc = check_similarity(fe, field, pwd, np, username, email);
    free(pwd);
    if (rc == RM_OK && np < PASSWORD_MIN)
        rc = add(fe, field, MSG_SHORT);
    if (rc == RM_OK && rm__password_is_common(password))
        rc = add(fe, field, MSG_COMMON);
    if (rc == RM_OK && all_ascii_digits(password))
        rc = add(fe, field, MSG_NUMERIC);
    return rc;
}
