#include <string.h>

#include "jira_json.h"


static size_t jira_json_utf8_len(const unsigned char *p);


static const char  jira_json_hex[] = "0123456789abcdef";


/* length of the valid UTF-8 sequence at p, or 0 if it is not one */

static size_t
jira_json_utf8_len(const unsigned char *p)
{
    size_t          n, i;
    unsigned int    c, min;

    c = p[0];

    if (c < 0x80) {
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        c &= 0x1f;
        min = 0x80;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        c &= 0x0f;
        min = 0x800;

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        c &= 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    return n;
}


size_t
jira_json_quoted_len(const char *s)
{
    size_t                len, n;
    const unsigned char  *p;

    len = 2;

    for (p = (const unsigned char *) s; *p; p += n) {
        n = jira_json_utf8_len(p);

        if (n == 0) {
            len += 3;               /* U+FFFD in UTF-8 */
            n = 1;

        } else if (*p == '"' || *p == '\\') {
            len += 2;

        } else if (*p < 0x20 || *p == 0x7f) {
            len += 6;

        } else {
            len += n;
        }
    }

    return len;
}


size_t
jira_json_quote(char *dst, const char *s)
{
    char                 *d;
    size_t                n;
    const unsigned char  *p;

    d = dst;
    *d++ = '"';

    for (p = (const unsigned char *) s; *p; p += n) {
        n = jira_json_utf8_len(p);

        if (n == 0) {
            *d++ = (char) 0xef;
            *d++ = (char) 0xbf;
            *d++ = (char) 0xbd;
            n = 1;

        } else if (*p == '"' || *p == '\\') {
            *d++ = '\\';
            *d++ = (char) *p;

        } else if (*p < 0x20 || *p == 0x7f) {
            *d++ = '\\';
            *d++ = 'u';
            *d++ = '0';
            *d++ = '0';
            *d++ = jira_json_hex[*p >> 4];
            *d++ = jira_json_hex[*p & 0xf];

        } else {
            memcpy(d, p, n);
            d += n;
        }
    }

    *d++ = '"';

    return d - dst;
}
