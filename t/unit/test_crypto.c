/*
 * Unit tests for src/jira_crypto.c: AES-256-GCM seal and open, the
 * versioned format, random tokens and bytea text.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jira_crypto.h"
#include "tap.h"


/*
 * A known answer computed outside this code base with Python's
 * cryptography package:
 *
 *   from cryptography.hazmat.primitives.ciphers.aead import AESGCM
 *   key, nonce = bytes(range(32)), bytes(range(12))
 *   aad = b"\x01" + b"jira_sync identity.credentials"
 *   pt = b'{"type":"oauth1","access_token":"at-1"}'
 *   print((b"\x01" + nonce + AESGCM(key).encrypt(nonce, pt, aad)).hex())
 */

#define KAT_PLAIN   "{\"type\":\"oauth1\",\"access_token\":\"at-1\"}"

#define KAT_SEALED                                                           \
    "\\x01000102030405060708090a0b3c20a262b580e021af2ef6fec581494faff4e6"    \
    "57931e2c0f67138aee780722882371dad19ee36ff3b63d45d91bbb104581f54a7aa0"   \
    "8688"


int
main(void)
{
    int             i, all_hex;
    char            a[65], b[65], *text;
    size_t          len, plen, klen;
    unsigned char   key[JIRA_CRYPTO_KEY_LEN], other[JIRA_CRYPTO_KEY_LEN];
    unsigned char  *sealed, *sealed2, *plain, *kat, *copy;

    static const char  msg[] = "{\"private_key\":\"-----BEGIN RSA...\"}";

    for (i = 0; i < JIRA_CRYPTO_KEY_LEN; i++) {
        key[i] = (unsigned char) i;
        other[i] = (unsigned char) (i + 1);
    }

    /* --- the known answer ----------------------------------------------- */

    kat = jira_crypto_unhex(KAT_SEALED, &klen);
    ok(kat != NULL && klen == 68, "KAT decodes");

    ok(jira_crypto_open(key, JIRA_CRYPTO_IDENTITY, kat, klen, &plain, &plen)
       == 0, "KAT opens");
    is_str((char *) plain, KAT_PLAIN, "KAT plaintext");
    is_int((long long) plen, (long long) sizeof(KAT_PLAIN) - 1, "KAT length");
    jira_crypto_free(plain, plen);

    ok(jira_crypto_open(key, JIRA_CRYPTO_PIPELINE, kat, klen, &plain, &plen)
       != 0 && plain == NULL, "KAT does not open in another context");
    ok(jira_crypto_open(other, JIRA_CRYPTO_IDENTITY, kat, klen, &plain,
                        &plen) != 0, "nor under another key");

    /* --- seal and open --------------------------------------------- */

    ok(jira_crypto_seal(key, JIRA_CRYPTO_IDENTITY, msg, sizeof(msg) - 1,
                        &sealed, &len) == 0, "seal");
    is_int((long long) len, (long long) (sizeof(msg) - 1
                                         + JIRA_CRYPTO_OVERHEAD),
           "version, 96-bit nonce and 128-bit tag added");
    is_int(sealed[0], JIRA_CRYPTO_VERSION, "version byte first");
    ok(memmem(sealed, len, "BEGIN RSA", 9) == NULL, "no plaintext inside");

    ok(jira_crypto_open(key, JIRA_CRYPTO_IDENTITY, sealed, len, &plain,
                        &plen) == 0, "open");
    ok(plen == sizeof(msg) - 1 && memcmp(plain, msg, plen) == 0
       && plain[plen] == '\0', "round trip, NUL-terminated");
    jira_crypto_free(plain, plen);

    ok(jira_crypto_seal(key, JIRA_CRYPTO_IDENTITY, msg, sizeof(msg) - 1,
                        &sealed2, &len) == 0, "seal again");
    ok(memcmp(sealed + 1, sealed2 + 1, JIRA_CRYPTO_NONCE_LEN) != 0,
       "a fresh nonce every time");
    ok(memcmp(sealed, sealed2, len) != 0, "so the same text seals apart");
    free(sealed2);

    /* --- every alteration is refused --------------------------------- */

    copy = malloc(len);

    for (i = 0; i < (int) len; i++) {
        memcpy(copy, sealed, len);
        copy[i] ^= 0x01;

        if (jira_crypto_open(key, JIRA_CRYPTO_IDENTITY, copy, len, &plain,
                             &plen) == 0)
        {
            break;
        }
    }

    is_int(i, (long long) len, "a flipped bit anywhere is refused");

    ok(jira_crypto_open(key, JIRA_CRYPTO_IDENTITY, sealed, len - 1, &plain,
                        &plen) != 0, "a cut message is refused");
    ok(jira_crypto_open(key, JIRA_CRYPTO_IDENTITY, sealed,
                        JIRA_CRYPTO_OVERHEAD - 1, &plain, &plen) != 0,
       "shorter than the overhead is refused");

    memcpy(copy, sealed, len);
    copy[0] = 2;
    ok(jira_crypto_open(key, JIRA_CRYPTO_IDENTITY, copy, len, &plain, &plen)
       != 0, "an unknown version is refused");

    ok(jira_crypto_open(NULL, JIRA_CRYPTO_IDENTITY, sealed, len, &plain,
                        &plen) != 0, "no key, no plaintext");

    free(copy);
    free(sealed);

    ok(jira_crypto_seal(key, JIRA_CRYPTO_PIPELINE, "", 0, &sealed, &len) == 0
       && len == JIRA_CRYPTO_OVERHEAD, "an empty message seals");
    ok(jira_crypto_open(key, JIRA_CRYPTO_PIPELINE, sealed, len, &plain,
                        &plen) == 0 && plen == 0, "and opens");
    jira_crypto_free(plain, plen);
    free(sealed);

    ok(jira_crypto_seal(NULL, JIRA_CRYPTO_PIPELINE, "x", 1, &sealed, &len)
       != 0, "sealing needs a key");

    /* --- random hex -------------------------------------------------- */

    ok(jira_crypto_random_hex(a, 32) == 0 && jira_crypto_random_hex(b, 32)
       == 0, "random hex");
    is_int((long long) strlen(a), 64, "32 bytes are 64 digits");
    all_hex = strspn(a, "0123456789abcdef") == 64;
    ok(all_hex, "lower-case hex");
    ok(strcmp(a, b) != 0, "never the same twice");
    ok(jira_crypto_random_hex(a, 65) != 0, "more than 64 bytes refused");

    /* --- bytea text ---------------------------------------------------- */

    text = jira_crypto_bytea((const unsigned char *) "\x00\xff\x10", 3);
    is_str(text, "\\x00ff10", "bytea parameter");
    plain = jira_crypto_unhex(text, &plen);
    ok(plain != NULL && plen == 3 && memcmp(plain, "\x00\xff\x10", 3) == 0,
       "and back");
    free(plain);
    free(text);

    ok(jira_crypto_unhex("00ff", &plen) == NULL, "no \\x prefix refused");
    ok(jira_crypto_unhex("\\x0", &plen) == NULL, "odd length refused");
    ok(jira_crypto_unhex("\\xzz", &plen) == NULL, "non-hex refused");
    plain = jira_crypto_unhex("\\x", &plen);
    ok(plain != NULL && plen == 0, "empty bytea");
    free(plain);

    /* --- sealed text as a bytea parameter, and back ------------------ */

    text = jira_crypto_seal_bytea(key, JIRA_CRYPTO_IDENTITY, msg);
    ok(text != NULL && strncmp(text, "\\x", 2) == 0,
       "text sealed into a bytea parameter");
    ok(strstr(text, "7072697661746") == NULL, "no plaintext in hex");
    ok(jira_crypto_open_bytea(key, JIRA_CRYPTO_IDENTITY, text, &plain, &plen)
       == 0, "the parameter opens");
    is_str((char *) plain, msg, "to the same text");
    jira_crypto_free(plain, plen);
    ok(jira_crypto_open_bytea(key, JIRA_CRYPTO_PIPELINE, text, &plain,
                              &plen) != 0 && plain == NULL,
       "not in another context");
    ok(jira_crypto_open_bytea(key, JIRA_CRYPTO_IDENTITY, "\\xzz", &plain,
                              &plen) != 0, "nor from a malformed value");
    ok(jira_crypto_seal_bytea(NULL, JIRA_CRYPTO_IDENTITY, msg) == NULL,
       "sealing a parameter needs a key");
    free(text);

    free(kat);

    return done_testing();
}
