/*
 * HS256 JSON Web Tokens as they appear in Jira webhook URLs.
 *
 * Parsing is strict on purpose: exactly three segments, the base64url
 * alphabet only, no padding and no non-canonical trailing bits, so that
 * one token has exactly one spelling.  The MAC is checked by encoding the
 * computed HMAC and comparing it with the signature segment in constant
 * time.
 */


#include <limits.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jira_jwt.h"


#define JIRA_JWT_MAC_LEN          32    /* SHA-256 */
#define JIRA_JWT_SIG_LEN          43    /* base64url of 32 bytes */

/* base64url of {"alg":"HS256","typ":"JWT"}, the header PyJWT writes */
#define JIRA_JWT_HEADER_B64       "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

/* room for the decoded form of any segment of an accepted token */
#define JIRA_JWT_DECODED_MAX      (JIRA_JWT_MAX_LEN / 4 * 3 + 3)

#define JIRA_JWT_ERR_DECODE       "Could not decode JWT token"
#define JIRA_JWT_ERR_NO_ID        "Token did not contain `id`"
#define JIRA_JWT_ERR_INVALID      "Invalid token"
#define JIRA_JWT_ERR_ALG          "The specified alg value is not allowed"
#define JIRA_JWT_ERR_SIGNATURE    "Signature verification failed"
#define JIRA_JWT_ERR_EXP_TYPE                                               \
    "Expiration Time claim (exp) must be an integer."
#define JIRA_JWT_ERR_EXPIRED      "Signature has expired"
#define JIRA_JWT_ERR_NBF_TYPE     "Not Before claim (nbf) must be an integer."
#define JIRA_JWT_ERR_IMMATURE     "The token is not yet valid (nbf)"


typedef struct {
    const char    *header;
    const char    *claims;
    const char    *sig;
    size_t         header_len;
    size_t         claims_len;
    size_t         sig_len;
} jira_jwt_parts_t;


static int jira_jwt_split(const char *token, size_t len,
    jira_jwt_parts_t *parts);
static int jira_b64url_value(unsigned char c);
static int jira_b64url_check(const char *s, size_t len);
static size_t jira_b64url_decode(const char *src, size_t len,
    unsigned char *dst);
static size_t jira_b64url_encode(const unsigned char *src, size_t len,
    char *dst);
static json_t *jira_jwt_load(const char *seg, size_t len, int header);
static int jira_jwt_hmac(const char *secret, size_t secret_len,
    const char *data, size_t len, unsigned char *mac);
static const char *jira_jwt_check_times(json_t *claims, time_t now);


const char  JIRA_JWT_NO_INTEGRATION[] = "Could not find integration for token";

static const char  jira_b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


const char *
jira_jwt_peek_id(const char *token, size_t len, char *id, size_t id_size)
{
    size_t             n;
    json_t            *obj, *v;
    const char        *rc;
    jira_jwt_parts_t   parts;

    if (id != NULL && id_size > 0) {
        id[0] = '\0';
    }

    if (jira_jwt_split(token, len, &parts) != 0) {
        return JIRA_JWT_ERR_DECODE;
    }

    obj = jira_jwt_load(parts.header, parts.header_len, 1);
    if (obj == NULL) {
        return JIRA_JWT_ERR_DECODE;
    }

    json_decref(obj);

    obj = jira_jwt_load(parts.claims, parts.claims_len, 0);
    if (obj == NULL) {
        return JIRA_JWT_ERR_DECODE;
    }

    v = json_object_get(obj, "id");

    if (v == NULL) {
        rc = JIRA_JWT_ERR_NO_ID;

    } else if (!json_is_string(v)) {
        /* Sentry would look it up and find nothing */
        rc = JIRA_JWT_NO_INTEGRATION;

    } else {
        n = json_string_length(v);

        if (id == NULL || n > JIRA_JWT_MAX_ID_LEN || n >= id_size) {
            rc = JIRA_JWT_NO_INTEGRATION;

        } else {
            memcpy(id, json_string_value(v), n);
            id[n] = '\0';
            rc = NULL;
        }
    }

    json_decref(obj);

    return rc;
}


const char *
jira_jwt_verify_hs256(const char *token, size_t len, const char *secret,
    size_t secret_len, time_t now)
{
    int                diff;
    char               enc[JIRA_JWT_SIG_LEN + 1];
    json_t            *obj, *alg;
    const char        *rc;
    unsigned char      mac[JIRA_JWT_MAC_LEN];
    jira_jwt_parts_t   parts;

    if (jira_jwt_split(token, len, &parts) != 0) {
        return JIRA_JWT_ERR_INVALID;
    }

    obj = jira_jwt_load(parts.header, parts.header_len, 1);
    if (obj == NULL) {
        return JIRA_JWT_ERR_INVALID;
    }

    /* pinned: "none", other HMACs and public-key algorithms are refused */

    alg = json_object_get(obj, "alg");

    if (alg == NULL
        || !json_is_string(alg)
        || json_string_length(alg) != sizeof("HS256") - 1
        || memcmp(json_string_value(alg), "HS256", sizeof("HS256") - 1)
           != 0)
    {
        json_decref(obj);
        return JIRA_JWT_ERR_ALG;
    }

    json_decref(obj);

    if (parts.sig_len != JIRA_JWT_SIG_LEN) {
        return JIRA_JWT_ERR_SIGNATURE;
    }

    if (jira_jwt_hmac(secret, secret_len, token,
                      parts.header_len + 1 + parts.claims_len, mac)
        != 0)
    {
        return JIRA_JWT_ERR_SIGNATURE;
    }

    jira_b64url_encode(mac, JIRA_JWT_MAC_LEN, enc);

    diff = CRYPTO_memcmp(enc, parts.sig, JIRA_JWT_SIG_LEN);

    OPENSSL_cleanse(mac, sizeof(mac));
    OPENSSL_cleanse(enc, sizeof(enc));

    if (diff != 0) {
        return JIRA_JWT_ERR_SIGNATURE;
    }

    /* as PyJWT: the claims are looked at only after the signature */

    obj = jira_jwt_load(parts.claims, parts.claims_len, 0);
    if (obj == NULL) {
        return JIRA_JWT_ERR_INVALID;
    }

    rc = jira_jwt_check_times(obj, now);

    json_decref(obj);

    return rc;
}


int
jira_jwt_sign_hs256(const char *claims, size_t claims_len,
    const char *secret, size_t secret_len, char *out, size_t out_size)
{
    int             is_object;
    char           *p;
    size_t          hlen, clen, len;
    json_t         *obj;
    json_error_t    err;
    unsigned char   mac[JIRA_JWT_MAC_LEN];

    if (out == NULL || out_size == 0) {
        return -1;
    }

    out[0] = '\0';

    if (claims == NULL || claims_len > JIRA_JWT_MAX_LEN) {
        return -1;
    }

    /* never sign a token that peek or verify would call malformed */

    obj = json_loadb(claims, claims_len, JSON_REJECT_DUPLICATES, &err);
    if (obj == NULL) {
        return -1;
    }

    is_object = json_is_object(obj);
    json_decref(obj);

    if (!is_object) {
        return -1;
    }

    hlen = sizeof(JIRA_JWT_HEADER_B64) - 1;
    clen = (claims_len * 4 + 2) / 3;
    len = hlen + 1 + clen + 1 + JIRA_JWT_SIG_LEN;

    if (len > JIRA_JWT_MAX_LEN || len >= out_size) {
        return -1;
    }

    p = out;

    memcpy(p, JIRA_JWT_HEADER_B64, hlen);
    p += hlen;
    *p++ = '.';
    p += jira_b64url_encode((const unsigned char *) claims, claims_len, p);

    if (jira_jwt_hmac(secret, secret_len, out, (size_t) (p - out), mac)
        != 0)
    {
        out[0] = '\0';
        return -1;
    }

    *p++ = '.';
    p += jira_b64url_encode(mac, JIRA_JWT_MAC_LEN, p);
    *p = '\0';

    OPENSSL_cleanse(mac, sizeof(mac));

    return (int) len;
}


static int
jira_jwt_split(const char *token, size_t len, jira_jwt_parts_t *parts)
{
    const char  *last, *dot1, *dot2;

    if (token == NULL || len > JIRA_JWT_MAX_LEN) {
        return -1;
    }

    last = token + len;

    dot1 = memchr(token, '.', len);
    if (dot1 == NULL) {
        return -1;
    }

    dot2 = memchr(dot1 + 1, '.', (size_t) (last - dot1 - 1));
    if (dot2 == NULL) {
        return -1;
    }

    if (memchr(dot2 + 1, '.', (size_t) (last - dot2 - 1)) != NULL) {
        return -1;
    }

    parts->header = token;
    parts->header_len = (size_t) (dot1 - token);
    parts->claims = dot1 + 1;
    parts->claims_len = (size_t) (dot2 - dot1 - 1);
    parts->sig = dot2 + 1;
    parts->sig_len = (size_t) (last - dot2 - 1);

    if (parts->header_len == 0 || parts->claims_len == 0) {
        return -1;
    }

    if (jira_b64url_check(parts->header, parts->header_len) != 0
        || jira_b64url_check(parts->claims, parts->claims_len) != 0
        || jira_b64url_check(parts->sig, parts->sig_len) != 0)
    {
        return -1;
    }

    return 0;
}


static int
jira_b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '-') {
        return 62;
    }

    if (c == '_') {
        return 63;
    }

    return -1;
}


static int
jira_b64url_check(const char *s, size_t len)
{
    int     v;
    size_t  i;

    /* a lone last character carries 6 bits, less than a byte */
    if (len % 4 == 1) {
        return -1;
    }

    v = 0;

    for (i = 0; i < len; i++) {
        v = jira_b64url_value((unsigned char) s[i]);
        if (v < 0) {
            return -1;
        }
    }

    /* the bits of the last character that fill no byte must be zero */

    switch (len % 4) {

    case 2:
        return (v & 0x0f) ? -1 : 0;

    case 3:
        return (v & 0x03) ? -1 : 0;

    default:
        return 0;
    }
}


/* src must have passed jira_b64url_check() */

static size_t
jira_b64url_decode(const char *src, size_t len, unsigned char *dst)
{
    size_t    i, n;
    unsigned  acc, bits;

    n = 0;
    acc = 0;
    bits = 0;

    for (i = 0; i < len; i++) {
        acc = (acc << 6) | (unsigned) jira_b64url_value((unsigned char) src[i]);
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            dst[n++] = (unsigned char) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }

    return n;
}


static size_t
jira_b64url_encode(const unsigned char *src, size_t len, char *dst)
{
    char        *d;
    const char  *a;

    a = jira_b64url_alphabet;
    d = dst;

    while (len > 2) {
        *d++ = a[src[0] >> 2];
        *d++ = a[((src[0] & 0x03) << 4) | (src[1] >> 4)];
        *d++ = a[((src[1] & 0x0f) << 2) | (src[2] >> 6)];
        *d++ = a[src[2] & 0x3f];

        src += 3;
        len -= 3;
    }

    if (len == 1) {
        *d++ = a[src[0] >> 2];
        *d++ = a[(src[0] & 0x03) << 4];

    } else if (len == 2) {
        *d++ = a[src[0] >> 2];
        *d++ = a[((src[0] & 0x03) << 4) | (src[1] >> 4)];
        *d++ = a[(src[1] & 0x0f) << 2];
    }

    return (size_t) (d - dst);
}


/* seg must come from jira_jwt_split(); returns a JSON object or NULL */

static json_t *
jira_jwt_load(const char *seg, size_t len, int header)
{
    size_t          n;
    json_t         *obj, *typ;
    json_error_t    err;
    unsigned char   buf[JIRA_JWT_DECODED_MAX];

    n = jira_b64url_decode(seg, len, buf);

    obj = json_loadb((const char *) buf, n, JSON_REJECT_DUPLICATES, &err);
    if (obj == NULL) {
        return NULL;
    }

    if (!json_is_object(obj)) {
        goto failed;
    }

    if (header) {
        typ = json_object_get(obj, "typ");

        if (typ != NULL && !json_is_string(typ)) {
            goto failed;
        }
    }

    return obj;

failed:

    json_decref(obj);

    return NULL;
}


static int
jira_jwt_hmac(const char *secret, size_t secret_len, const char *data,
    size_t len, unsigned char *mac)
{
    unsigned int    mac_len;
    unsigned char   empty;
    const void     *key;

    /* an empty secret is a valid HMAC key; never hand OpenSSL a NULL one */

    empty = 0;

    if (secret_len == 0) {
        key = &empty;

    } else if (secret == NULL || secret_len > INT_MAX) {
        return -1;

    } else {
        key = secret;
    }

    mac_len = 0;

    if (HMAC(EVP_sha256(), key, (int) secret_len,
             (const unsigned char *) data, len, mac, &mac_len)
        == NULL)
    {
        return -1;
    }

    return (mac_len == JIRA_JWT_MAC_LEN) ? 0 : -1;
}


/* PyJWT's order: "nbf" before "exp", no leeway */

static const char *
jira_jwt_check_times(json_t *claims, time_t now)
{
    json_t  *v;

    v = json_object_get(claims, "nbf");

    if (v != NULL) {
        if (!json_is_integer(v)) {
            return JIRA_JWT_ERR_NBF_TYPE;
        }

        if (json_integer_value(v) > (json_int_t) now) {
            return JIRA_JWT_ERR_IMMATURE;
        }
    }

    v = json_object_get(claims, "exp");

    if (v != NULL) {
        if (!json_is_integer(v)) {
            return JIRA_JWT_ERR_EXP_TYPE;
        }

        if (json_integer_value(v) <= (json_int_t) now) {
            return JIRA_JWT_ERR_EXPIRED;
        }
    }

    return NULL;
}
