/*
 * libFuzzer target for the OAuth 1.0a base string builder of
 * src/jira_oauth1.c.
 *
 * The input is "method NUL url NUL form NUL name NUL value" (missing
 * parts are empty).  Whatever it is, the builder must not read past it,
 * and a base string it returns must be three encoded parts joined by
 * "&": only unreserved characters, "%XX" escapes and exactly two "&".
 * Encoding must also round-trip through decoding, and the form lookup
 * must stay inside the text.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jira_oauth1.h"


#define FUZZ_PARTS  5


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void fuzz_check_base(const char *b);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   n;
    char                 *copy, *b, *enc, *dec, *v;
    size_t                i, len[FUZZ_PARTS], elen, dlen;
    const char           *part[FUZZ_PARTS], *p, *end;
    jira_oauth1_param_t   params[2];

    /* an exact-size copy: any read past the input is caught by ASan */
    copy = malloc(size + 1);
    if (copy == NULL) {
        return 0;
    }

    memcpy(copy, data, size);
    copy[size] = '\0';

    p = copy;
    end = copy + size;

    for (n = 0; n < FUZZ_PARTS; n++) {
        part[n] = p;
        len[n] = 0;

        if (p < end) {
            v = memchr(p, '\0', end - p);
            len[n] = (v ? (const char *) v : end) - p;
            p += len[n] + (v ? 1 : 0);
        }
    }

    params[0].name = "oauth_consumer_key";
    params[0].name_len = sizeof("oauth_consumer_key") - 1;
    params[0].value = part[1];
    params[0].value_len = len[1];
    params[1].name = part[3];
    params[1].name_len = len[3];
    params[1].value = part[4];
    params[1].value_len = len[4];

    /* the method is a C string; the rest are counted bytes */
    b = jira_oauth1_base_string(part[0], part[1], len[1], params, 2,
                                len[2] ? part[2] : NULL, len[2]);
    if (b != NULL) {
        fuzz_check_base(b);
        free(b);
    }

    /* encode, then decode, gives the bytes back */
    enc = malloc(3 * size + 1);
    dec = malloc(3 * size + 1);

    if (enc != NULL && dec != NULL) {
        elen = jira_oauth1_encode(enc, (const char *) data, size);

        for (i = 0; i < elen; i++) {
            if (enc[i] == '+' || enc[i] == '&' || enc[i] == '=') {
                abort();
            }
        }

        dlen = jira_oauth1_decode(dec, enc, elen);

        if (dlen != size || memcmp(dec, data, size) != 0) {
            abort();
        }

        /* decoding never grows the text */
        if (jira_oauth1_decode(dec, (const char *) data, size) > size) {
            abort();
        }
    }

    free(enc);
    free(dec);

    v = jira_oauth1_form_get(part[2], len[2], "oauth_token");
    if (v != NULL && v[0] == '\0') {
        abort();                    /* blank values are no values */
    }

    free(v);
    free(copy);

    return 0;
}


static void
fuzz_check_base(const char *b)
{
    int          amps;
    const char  *p;

    amps = 0;

    for (p = b; *p != '\0'; p++) {
        if (*p == '&') {
            amps++;
            continue;
        }

        if (*p == '%') {
            if (!((p[1] >= '0' && p[1] <= '9') || (p[1] >= 'A' && p[1] <= 'F'))
                || !((p[2] >= '0' && p[2] <= '9')
                     || (p[2] >= 'A' && p[2] <= 'F')))
            {
                abort();
            }

            p += 2;
            continue;
        }

        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')
              || (*p >= '0' && *p <= '9')
              || *p == '-' || *p == '.' || *p == '_' || *p == '~'))
        {
            abort();
        }
    }

    /* method & URI & parameters, and never an empty method */
    if (amps != 2 || b[0] == '&') {
        abort();
    }

    /* the URI part starts with an encoded http:// or https:// */
    p = strchr(b, '&') + 1;

    if (strncmp(p, "http%3A%2F%2F", 13) != 0
        && strncmp(p, "https%3A%2F%2F", 14) != 0)
    {
        abort();
    }
}
