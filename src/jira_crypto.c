/*
 * AES-256-GCM through OpenSSL's EVP interface.
 */

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "jira_crypto.h"


static int jira_crypto_aad(EVP_CIPHER_CTX *ctx, const char *context);


static const char  jira_crypto_hexdigits[] = "0123456789abcdef";


static int
jira_crypto_aad(EVP_CIPHER_CTX *ctx, const char *context)
{
    int            n;
    unsigned char  version;

    version = JIRA_CRYPTO_VERSION;

    if (EVP_CipherUpdate(ctx, NULL, &n, &version, 1) != 1) {
        return -1;
    }

    if (context[0] != '\0'
        && EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *) context,
                             (int) strlen(context)) != 1)
    {
        return -1;
    }

    return 0;
}


int
jira_crypto_seal(const unsigned char *key, const char *context,
    const void *in, size_t len, unsigned char **out, size_t *out_len)
{
    int              n, rc;
    unsigned char   *buf, *p;
    EVP_CIPHER_CTX  *ctx;

    *out = NULL;
    *out_len = 0;

    if (key == NULL || len > INT_MAX - JIRA_CRYPTO_OVERHEAD) {
        return -1;
    }

    buf = malloc(len + JIRA_CRYPTO_OVERHEAD);
    if (buf == NULL) {
        return -1;
    }

    buf[0] = JIRA_CRYPTO_VERSION;

    /* a fresh random nonce per message: the key seals few messages */
    if (RAND_bytes(buf + 1, JIRA_CRYPTO_NONCE_LEN) != 1) {
        free(buf);
        return -1;
    }

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        free(buf);
        return -1;
    }

    rc = -1;
    p = buf + 1 + JIRA_CRYPTO_NONCE_LEN;

    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
                               JIRA_CRYPTO_NONCE_LEN, NULL) != 1
        || EVP_EncryptInit_ex(ctx, NULL, NULL, key, buf + 1) != 1
        || jira_crypto_aad(ctx, context) != 0)
    {
        goto done;
    }

    n = 0;

    if (len && EVP_EncryptUpdate(ctx, p, &n, in, (int) len) != 1) {
        goto done;
    }

    p += n;

    if (EVP_EncryptFinal_ex(ctx, p, &n) != 1) {
        goto done;
    }

    p += n;

    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, JIRA_CRYPTO_TAG_LEN,
                            p) != 1)
    {
        goto done;
    }

    p += JIRA_CRYPTO_TAG_LEN;

    *out = buf;
    *out_len = p - buf;
    rc = 0;

done:

    EVP_CIPHER_CTX_free(ctx);

    if (rc != 0) {
        jira_crypto_free(buf, len + JIRA_CRYPTO_OVERHEAD);
        ERR_clear_error();
    }

    return rc;
}


int
jira_crypto_open(const unsigned char *key, const char *context,
    const unsigned char *in, size_t len, unsigned char **out,
    size_t *out_len)
{
    int                   n, rc;
    size_t                clen;
    unsigned char        *buf, tag[JIRA_CRYPTO_TAG_LEN];
    EVP_CIPHER_CTX       *ctx;
    const unsigned char  *nonce, *cipher;

    *out = NULL;
    *out_len = 0;

    if (key == NULL || len < JIRA_CRYPTO_OVERHEAD || len > INT_MAX
        || in[0] != JIRA_CRYPTO_VERSION)
    {
        return -1;
    }

    nonce = in + 1;
    cipher = nonce + JIRA_CRYPTO_NONCE_LEN;
    clen = len - JIRA_CRYPTO_OVERHEAD;

    memcpy(tag, cipher + clen, JIRA_CRYPTO_TAG_LEN);

    buf = malloc(clen + 1);
    if (buf == NULL) {
        return -1;
    }

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        free(buf);
        return -1;
    }

    rc = -1;
    n = 0;

    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
                               JIRA_CRYPTO_NONCE_LEN, NULL) != 1
        || EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) != 1
        || jira_crypto_aad(ctx, context) != 0)
    {
        goto done;
    }

    if (clen && EVP_DecryptUpdate(ctx, buf, &n, cipher, (int) clen) != 1) {
        goto done;
    }

    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, JIRA_CRYPTO_TAG_LEN,
                            tag) != 1)
    {
        goto done;
    }

    /* the tag is checked here: nothing is returned before it passed */
    if (EVP_DecryptFinal_ex(ctx, buf + n, &n) != 1) {
        goto done;
    }

    buf[clen] = '\0';
    *out = buf;
    *out_len = clen;
    rc = 0;

done:

    EVP_CIPHER_CTX_free(ctx);

    if (rc != 0) {
        jira_crypto_free(buf, clen + 1);
        ERR_clear_error();
    }

    return rc;
}


void
jira_crypto_free(void *p, size_t len)
{
    if (p != NULL) {
        OPENSSL_cleanse(p, len);
        free(p);
    }
}


int
jira_crypto_random_hex(char *out, size_t nbytes)
{
    size_t          i;
    unsigned char   buf[64];

    if (nbytes > sizeof(buf) || RAND_bytes(buf, (int) nbytes) != 1) {
        return -1;
    }

    for (i = 0; i < nbytes; i++) {
        out[2 * i] = jira_crypto_hexdigits[buf[i] >> 4];
        out[2 * i + 1] = jira_crypto_hexdigits[buf[i] & 0xf];
    }

    out[2 * nbytes] = '\0';
    OPENSSL_cleanse(buf, sizeof(buf));

    return 0;
}


char *
jira_crypto_bytea(const unsigned char *data, size_t len)
{
    char    *out;
    size_t   i;

    out = malloc(2 + 2 * len + 1);
    if (out == NULL) {
        return NULL;
    }

    out[0] = '\\';
    out[1] = 'x';

    for (i = 0; i < len; i++) {
        out[2 + 2 * i] = jira_crypto_hexdigits[data[i] >> 4];
        out[3 + 2 * i] = jira_crypto_hexdigits[data[i] & 0xf];
    }

    out[2 + 2 * len] = '\0';

    return out;
}


unsigned char *
jira_crypto_unhex(const char *text, size_t *len)
{
    int             hi, lo;
    size_t          i, n;
    unsigned char  *out;

    if (text[0] != '\\' || text[1] != 'x') {
        return NULL;
    }

    text += 2;
    n = strlen(text);

    if (n % 2) {
        return NULL;
    }

    out = malloc(n / 2 + 1);
    if (out == NULL) {
        return NULL;
    }

    for (i = 0; i < n / 2; i++) {
        hi = OPENSSL_hexchar2int((unsigned char) text[2 * i]);
        lo = OPENSSL_hexchar2int((unsigned char) text[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }

        out[i] = (unsigned char) (hi << 4 | lo);
    }

    *len = n / 2;

    return out;
}


char *
jira_crypto_seal_bytea(const unsigned char *key, const char *context,
    const char *text)
{
    char           *param;
    size_t          len;
    unsigned char  *sealed;

    if (jira_crypto_seal(key, context, text, strlen(text), &sealed, &len)
        != 0)
    {
        return NULL;
    }

    param = jira_crypto_bytea(sealed, len);
    free(sealed);

    return param;
}


int
jira_crypto_open_bytea(const unsigned char *key, const char *context,
    const char *value, unsigned char **out, size_t *out_len)
{
    int             rc;
    size_t          len;
    unsigned char  *sealed;

    *out = NULL;
    *out_len = 0;

    sealed = jira_crypto_unhex(value, &len);
    if (sealed == NULL) {
        return -1;
    }

    rc = jira_crypto_open(key, context, sealed, len, out, out_len);
    free(sealed);

    return rc;
}
