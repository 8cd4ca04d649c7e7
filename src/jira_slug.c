/*
 * Project slugs: Django's slugify() with libunistring's NFKD, Sentry's
 * reserved words and suffixes (reference: sentry-behaviour.md §5.2).
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <uninorm.h>
#include <unistr.h>

#include "jira_slug.h"


static int jira_slug_space(unsigned char c);
static int jira_slug_word(unsigned char c);


/* sentry.constants.RESERVED_PROJECT_SLUGS */
static const char  *jira_slug_reserved_words[] = {
    "$all", "api-keys", "audit-log", "auth", "members", "projects",
    "rate-limits", "repos", "settings", "teams", "billing", "payments",
    "legal", "subscription", "support", "integrations",
    "developer-settings", "usage", NULL
};

/* the sizes of the suffix tries, in order */
static const unsigned char  jira_slug_sizes[JIRA_SLUG_SUFFIX_TRIES] = {
    2,
    3, 3, 3, 3, 3,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    12
};


/*
 * Python's \s for a str pattern, restricted to ASCII: str.isspace()
 * also counts the four separators 0x1c-0x1f.
 */
static int
jira_slug_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}


/* \w on what is left after the ASCII filter */
static int
jira_slug_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_';
}


char *
jira_slugify(const char *s, size_t len, size_t *out_len)
{
    int             dash;
    char           *out;
    size_t          n, i, o, start, end;
    unsigned char   c;
    uint8_t        *nfkd;

    if (u8_check((const uint8_t *) s, len) != NULL) {
        errno = EILSEQ;
        return NULL;
    }

    nfkd = NULL;
    n = 0;

    if (len) {
        nfkd = u8_normalize(UNINORM_NFKD, (const uint8_t *) s, len, NULL,
                            &n);
        if (nfkd == NULL) {
            return NULL;
        }
    }

    out = malloc(n + 1);
    if (out == NULL) {
        free(nfkd);
        errno = ENOMEM;
        return NULL;
    }

    /*
     * One pass does the ASCII filter (every byte of a character beyond
     * ASCII is >= 0x80), lower(), the removal of [^\w\s-] and the
     * collapse of [-\s]+.
     */

    o = 0;
    dash = 0;

    for (i = 0; i < n; i++) {
        c = nfkd[i];

        if (c >= 0x80) {
            continue;
        }

        if (c == '-' || jira_slug_space(c)) {
            if (!dash) {
                out[o++] = '-';
                dash = 1;
            }

            continue;
        }

        if (!jira_slug_word(c)) {
            continue;
        }

        if (c >= 'A' && c <= 'Z') {
            c += 'a' - 'A';
        }

        out[o++] = (char) c;
        dash = 0;
    }

    free(nfkd);

    /* strip("-_") */

    start = 0;
    end = o;

    while (start < end && (out[start] == '-' || out[start] == '_')) {
        start++;
    }

    while (end > start && (out[end - 1] == '-' || out[end - 1] == '_')) {
        end--;
    }

    memmove(out, out + start, end - start);
    out[end - start] = '\0';

    if (out_len != NULL) {
        *out_len = end - start;
    }

    return out;
}


int
jira_slug_base(const char *label, size_t len, size_t max, char *out)
{
    char    *slug;
    size_t   n, start;

    slug = jira_slugify(label, len, &n);
    if (slug == NULL) {
        return -1;
    }

    /* [:max].strip("-"); the later strip() finds no whitespace left */

    if (n > max) {
        n = max;
    }

    start = 0;

    while (start < n && slug[start] == '-') {
        start++;
    }

    while (n > start && slug[n - 1] == '-') {
        n--;
    }

    n -= start;
    memcpy(out, slug + start, n);
    out[n] = '\0';

    free(slug);

    if (jira_slug_reserved(out)) {
        out[0] = '\0';
        return 0;
    }

    return (int) n;
}


int
jira_slug_reserved(const char *s)
{
    const char  **w;

    for (w = jira_slug_reserved_words; *w != NULL; w++) {
        if (strcmp(s, *w) == 0) {
            return 1;
        }
    }

    return 0;
}


int
jira_slug_valid(const char *s, size_t len)
{
    int            digits;
    size_t         i;
    unsigned char  c;

    if (len == 0) {
        return 0;
    }

    digits = 1;

    for (i = 0; i < len; i++) {
        c = s[i];

        if (c >= '0' && c <= '9') {
            continue;
        }

        digits = 0;

        if (!((c >= 'a' && c <= 'z') || c == '_' || c == '-')) {
            return 0;
        }
    }

    return !digits;
}


int
jira_slug_decimal(const char *s)
{
    if (*s == '\0') {
        return 0;
    }

    while (*s >= '0' && *s <= '9') {
        s++;
    }

    return *s == '\0';
}


size_t
jira_slug_suffix_len(unsigned n)
{
    return n < JIRA_SLUG_SUFFIX_TRIES ? jira_slug_sizes[n] : 0;
}


size_t
jira_slug_suffixed(const char *base, size_t max, const char *suffix,
    size_t size, char *out)
{
    size_t  n, end;

    end = (max > size) ? max - size - 1 : 0;

    n = strlen(base);
    if (n > end) {
        n = end;
    }

    memcpy(out, base, n);
    out[n++] = '-';
    memcpy(out + n, suffix, size);
    n += size;
    out[n] = '\0';

    return n;
}


int
jira_slug_random(char *out, size_t n, const char *alphabet)
{
    size_t          i, k, alen, limit;
    unsigned char   buf[64];

    alen = strlen(alphabet);

    if (alen == 0 || alen > 256) {
        return -1;
    }

    /* rejection sampling keeps every position equally likely */
    limit = 256 - 256 % alen;

    i = 0;

    while (i < n) {
        if (RAND_bytes(buf, sizeof(buf)) != 1) {
            return -1;
        }

        for (k = 0; k < sizeof(buf) && i < n; k++) {
            if (buf[k] < limit) {
                out[i++] = alphabet[buf[k] % alen];
            }
        }
    }

    out[n] = '\0';

    return 0;
}
