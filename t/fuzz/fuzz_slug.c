/*
 * libFuzzer target for src/jira_slug.c: slugify any bytes, and check
 * what comes out is a slug Django could have made, that the base slug
 * is its cut, and that slugify() leaves a slug as it is.
 */


#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jira_slug.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void fuzz_check_slug(const char *s, size_t len);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int        n;
    char      *slug, *again, base[JIRA_SLUG_BUF], out[JIRA_SLUG_BUF];
    size_t     len, len2, n_suffix;
    unsigned   try;

    errno = 0;
    slug = jira_slugify((const char *) data, size, &len);

    if (slug == NULL) {
        if (errno != EILSEQ && errno != ENOMEM) {
            abort();
        }

        if (jira_slug_base((const char *) data, size, JIRA_SLUG_MAX_LEN,
                           base)
            != -1)
        {
            abort();
        }

        return 0;
    }

    if (strlen(slug) != len) {
        abort();
    }

    fuzz_check_slug(slug, len);

    /* stable: a slug slugifies to itself */
    again = jira_slugify(slug, len, &len2);
    if (again == NULL || len2 != len || memcmp(again, slug, len) != 0) {
        abort();
    }

    free(again);

    /* the base is slug[:50].strip("-"), or "" when reserved */
    n = jira_slug_base((const char *) data, size, JIRA_SLUG_MAX_LEN, base);

    if (n < 0 || (size_t) n != strlen(base) || n > JIRA_SLUG_MAX_LEN) {
        abort();
    }

    if (n > 0) {
        if (base[0] == '-' || base[n - 1] == '-' || jira_slug_reserved(base)
            || memcmp(slug, base, n) != 0)
        {
            abort();
        }

        if (!jira_slug_valid(base, n) && !jira_slug_decimal(base)) {
            abort();
        }

        /* every suffixed form stays within 50 and ends in its suffix */
        for (try = 0; (n_suffix = jira_slug_suffix_len(try)) != 0; try++) {
            len2 = jira_slug_suffixed(base, JIRA_SLUG_MAX_LEN,
                                      "abcdefghijkl", n_suffix, out);

            if (len2 > JIRA_SLUG_MAX_LEN || strlen(out) != len2
                || out[len2 - n_suffix - 1] != '-'
                || memcmp(out + len2 - n_suffix, "abcdefghijkl", n_suffix)
                   != 0)
            {
                abort();
            }
        }

    } else if (len > 0) {
        /* nothing left of a slug: its cut was a reserved word */
        len2 = len < JIRA_SLUG_MAX_LEN ? len : JIRA_SLUG_MAX_LEN;
        memcpy(out, slug, len2);

        while (len2 > 0 && out[len2 - 1] == '-') {
            len2--;
        }

        out[len2] = '\0';

        if (!jira_slug_reserved(out)) {
            abort();
        }
    }

    free(slug);

    return 0;
}


/* Django's output: [a-z0-9_-], no "-" or "_" at the ends, no "--" */

static void
fuzz_check_slug(const char *s, size_t len)
{
    size_t  i;
    char    c;

    for (i = 0; i < len; i++) {
        c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
              || c == '-'))
        {
            abort();
        }

        if (c == '-' && i > 0 && s[i - 1] == '-') {
            abort();
        }
    }

    if (len > 0 && (s[0] == '-' || s[0] == '_' || s[len - 1] == '-'
                    || s[len - 1] == '_'))
    {
        abort();
    }
}
