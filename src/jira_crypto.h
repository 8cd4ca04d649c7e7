/*
 * Secrets at rest: AES-256-GCM with a random 96-bit nonce per message,
 * under the key of jira_sync_secret_key_file, and random tokens from
 * OpenSSL's CSPRNG.  No nginx headers here.
 *
 * A sealed message is
 *
 *     version (1 byte, 1) | nonce (12 bytes) | ciphertext | tag (16 bytes)
 *
 * and the additional authenticated data is the version byte followed by
 * a context string, so that a value sealed for one column cannot be
 * opened as another.
 */

#ifndef _JIRA_CRYPTO_H_INCLUDED_
#define _JIRA_CRYPTO_H_INCLUDED_


#include <stddef.h>


#define JIRA_CRYPTO_KEY_LEN       32
#define JIRA_CRYPTO_VERSION       1
#define JIRA_CRYPTO_NONCE_LEN     12
#define JIRA_CRYPTO_TAG_LEN       16
#define JIRA_CRYPTO_OVERHEAD                                                 \
    (1 + JIRA_CRYPTO_NONCE_LEN + JIRA_CRYPTO_TAG_LEN)

/* the contexts of the module's sealed columns */
#define JIRA_CRYPTO_IDENTITY      "jira_sync identity.credentials"
#define JIRA_CRYPTO_PIPELINE      "jira_sync setup_pipeline.state"


/*
 * Seal len bytes of in; *out (malloc()ed) receives len +
 * JIRA_CRYPTO_OVERHEAD bytes.  Returns 0, or -1 on failure.
 */
int jira_crypto_seal(const unsigned char *key, const char *context,
    const void *in, size_t len, unsigned char **out, size_t *out_len);

/*
 * Open a sealed message; *out (malloc()ed, NUL-terminated for text)
 * receives the plaintext.  Returns 0, or -1 when the message is
 * malformed, of an unknown version, sealed for another context or
 * under another key, or was altered.
 */
int jira_crypto_open(const unsigned char *key, const char *context,
    const unsigned char *in, size_t len, unsigned char **out,
    size_t *out_len);

/* wipe and free a buffer that held a secret */
void jira_crypto_free(void *p, size_t len);

/* nbytes random bytes as 2 * nbytes lower-case hex digits and a NUL */
int jira_crypto_random_hex(char *out, size_t nbytes);

/*
 * bytea parameters and values in PostgreSQL's text form ("\x" and hex):
 * jira_crypto_bytea() returns a malloc()ed parameter; jira_crypto_unhex()
 * decodes a value into a malloc()ed buffer.  NULL on failure.
 */
char *jira_crypto_bytea(const unsigned char *data, size_t len);
unsigned char *jira_crypto_unhex(const char *text, size_t *len);

/*
 * The two together: text sealed as a bytea parameter (NULL on failure),
 * and a bytea value opened (as jira_crypto_open()).
 */
char *jira_crypto_seal_bytea(const unsigned char *key, const char *context,
    const char *text);
int jira_crypto_open_bytea(const unsigned char *key, const char *context,
    const char *value, unsigned char **out, size_t *out_len);


#endif /* _JIRA_CRYPTO_H_INCLUDED_ */
