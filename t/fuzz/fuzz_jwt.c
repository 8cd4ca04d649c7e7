/*
 * libFuzzer target for src/jira_jwt.c.
 *
 * The input is tried twice: as a token (peek and verify must agree and
 * never read past size bytes), and as "secret length byte, secret,
 * claims" for a sign, verify and peek round trip.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jira_jwt.h"


#define FUZZ_NOW            ((time_t) 1700000000)
#define FUZZ_SECRET_MAX     16

#define ERR_DECODE          "Could not decode JWT token"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static int fuzz_time_error(const char *rc);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          n;
    char         id[JIRA_JWT_MAX_ID_LEN + 1];
    char         out[JIRA_JWT_MAX_LEN + 1];
    char         wrong[FUZZ_SECRET_MAX + 1];
    size_t       klen, clen;
    const char  *peeked, *verified, *rc, *token, *secret, *claims;

    token = (const char *) data;

    peeked = jira_jwt_peek_id(token, size, id, sizeof(id));

    if (peeked == NULL && strlen(id) > JIRA_JWT_MAX_ID_LEN) {
        abort();
    }

    verified = jira_jwt_verify_hs256(token, size, "secret", 6, FUZZ_NOW);

    /* a token that verifies is well formed */
    if (verified == NULL && peeked != NULL && strcmp(peeked, ERR_DECODE) == 0)
    {
        abort();
    }

    if (size == 0) {
        return 0;
    }

    klen = data[0] % FUZZ_SECRET_MAX;
    if (klen > size - 1) {
        klen = size - 1;
    }

    secret = (const char *) data + 1;
    claims = secret + klen;
    clen = size - 1 - klen;

    n = jira_jwt_sign_hs256(claims, clen, secret, klen, out, sizeof(out));

    if (n < 0) {
        return 0;
    }

    if ((size_t) n != strlen(out) || n > JIRA_JWT_MAX_LEN) {
        abort();
    }

    rc = jira_jwt_verify_hs256(out, (size_t) n, secret, klen, FUZZ_NOW);
    if (rc != NULL && !fuzz_time_error(rc)) {
        abort();
    }

    rc = jira_jwt_peek_id(out, (size_t) n, id, sizeof(id));
    if (rc != NULL && strcmp(rc, ERR_DECODE) == 0) {
        abort();
    }

    /* another secret, and a changed signature, must both fail */

    memcpy(wrong, secret, klen);
    wrong[klen] = 'x';

    if (jira_jwt_verify_hs256(out, (size_t) n, wrong, klen + 1, FUZZ_NOW)
        == NULL)
    {
        abort();
    }

    out[n - 1 - data[0] % 43] ^= 0x01;

    if (jira_jwt_verify_hs256(out, (size_t) n, secret, klen, FUZZ_NOW)
        == NULL)
    {
        abort();
    }

    return 0;
}


static int
fuzz_time_error(const char *rc)
{
    return strcmp(rc, "Signature has expired") == 0
           || strcmp(rc, "The token is not yet valid (nbf)") == 0
           || strcmp(rc, "Expiration Time claim (exp) must be an integer.")
              == 0
           || strcmp(rc, "Not Before claim (nbf) must be an integer.") == 0;
}
