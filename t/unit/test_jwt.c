/*
 * Unit tests for src/jira_jwt.c: peek, verify and sign of HS256 tokens.
 */


#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jira_jwt.h"
#include "tap.h"


#define NOW                 ((time_t) 1700000000)

#define ERR_DECODE          "Could not decode JWT token"
#define ERR_NO_ID           "Token did not contain `id`"
#define ERR_NO_INTEGRATION  "Could not find integration for token"
#define ERR_INVALID         "Invalid token"
#define ERR_ALG             "The specified alg value is not allowed"
#define ERR_SIGNATURE       "Signature verification failed"
#define ERR_EXP_TYPE        "Expiration Time claim (exp) must be an integer."
#define ERR_EXPIRED         "Signature has expired"
#define ERR_NBF_TYPE        "Not Before claim (nbf) must be an integer."
#define ERR_IMMATURE        "The token is not yet valid (nbf)"

#define HEADER_JSON         "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define KAT_CLAIMS          "{\"id\":\"jira.example.com:sentry-consumer\"}"
#define KAT_ID              "jira.example.com:sentry-consumer"

/*
 * The expected tokens were computed outside this code base, with Python's
 * standard library only:
 *
 *   python3 -c 'import hmac, hashlib, base64
 *   b = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
 *   s = b(b"{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "." \
 *       + b(b"{\"id\":\"jira.example.com:sentry-consumer\"}")
 *   for k in (b"secret", b""):
 *       print(s + "." + b(hmac.new(k, s.encode(), hashlib.sha256).digest()))'
 */

#define KAT_TOKEN                                                           \
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"                                  \
    ".eyJpZCI6ImppcmEuZXhhbXBsZS5jb206c2VudHJ5LWNvbnN1bWVyIn0"              \
    ".gBiMi7KeMtYHo4-TWQ5YnBREqRGUfBzfsX5bpDsUaPE"

#define KAT_TOKEN_EMPTY_KEY                                                 \
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"                                  \
    ".eyJpZCI6ImppcmEuZXhhbXBsZS5jb206c2VudHJ5LWNvbnN1bWVyIn0"              \
    ".49y2FOaD1kD4UC_NzaLh2dhJN--lqbRH1xh5xtCk2ZU"

#define TOKEN_BUF           (JIRA_JWT_MAX_LEN * 2 + 64)

#define THREADS             4
#define THREAD_LOOPS        300


typedef struct {
    int   n;
    int   failures;
} thread_arg_t;


static void b64url(const void *src, size_t len, char *dst);
static int b64url_value(char c);
static void mk_token(const char *header, const char *claims,
    const char *secret, char *out);
static void mk_raw(const char *h, const char *c, const char *s, char *out);
static const char *peek(const char *token, char *id, size_t id_size);
static const char *verify(const char *token, const char *secret);
static size_t nth_dot(const char *s, int n);
static void test_known_answer(void);
static void test_round_trip(void);
static void test_sign_errors(void);
static void test_tampering(void);
static void test_alg(void);
static void test_header_typ(void);
static void test_malformed(void);
static void test_base64(void);
static void test_not_objects(void);
static void test_length(void);
static void test_id(void);
static void test_times(void);
static void *thread_main(void *data);
static void test_threads(void);


static const char  b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


int
main(void)
{
    test_known_answer();
    test_round_trip();
    test_sign_errors();
    test_tampering();
    test_alg();
    test_header_typ();
    test_malformed();
    test_base64();
    test_not_objects();
    test_length();
    test_id();
    test_times();
    test_threads();

    return done_testing();
}


/* a second, independent base64url encoder (no padding) */

static void
b64url(const void *src, size_t len, char *dst)
{
    size_t                i;
    unsigned long         bits;
    unsigned int          nbits;
    const unsigned char  *s;

    s = src;
    bits = 0;
    nbits = 0;

    for (i = 0; i < len; i++) {
        bits = (bits << 8) | s[i];
        nbits += 8;

        while (nbits >= 6) {
            nbits -= 6;
            *dst++ = b64_alphabet[(bits >> nbits) & 0x3f];
        }
    }

    if (nbits > 0) {
        *dst++ = b64_alphabet[(bits << (6 - nbits)) & 0x3f];
    }

    *dst = '\0';
}


static int
b64url_value(char c)
{
    const char  *p;

    p = strchr(b64_alphabet, c);

    return (p == NULL || c == '\0') ? -1 : (int) (p - b64_alphabet);
}


/* a correctly signed token with any header and claims text */

static void
mk_token(const char *header, const char *claims, const char *secret,
    char *out)
{
    size_t         n;
    unsigned int   mac_len;
    unsigned char  mac[EVP_MAX_MD_SIZE];

    b64url(header, strlen(header), out);
    n = strlen(out);
    out[n++] = '.';
    b64url(claims, strlen(claims), out + n);
    n = strlen(out);

    HMAC(EVP_sha256(), secret, (int) strlen(secret),
         (const unsigned char *) out, n, mac, &mac_len);

    out[n++] = '.';
    b64url(mac, mac_len, out + n);
}


static void
mk_raw(const char *h, const char *c, const char *s, char *out)
{
    sprintf(out, "%s.%s.%s", h, c, s);
}


static const char *
peek(const char *token, char *id, size_t id_size)
{
    return jira_jwt_peek_id(token, strlen(token), id, id_size);
}


static const char *
verify(const char *token, const char *secret)
{
    return jira_jwt_verify_hs256(token, strlen(token), secret,
                                 strlen(secret), NOW);
}


/* index of the n-th '.' (1-based) */

static size_t
nth_dot(const char *s, int n)
{
    size_t  i;

    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] == '.' && --n == 0) {
            return i;
        }
    }

    return (size_t) -1;
}


static void
test_known_answer(void)
{
    int   n;
    char  id[JIRA_JWT_MAX_ID_LEN + 1], buf[TOKEN_BUF];

    n = jira_jwt_sign_hs256(KAT_CLAIMS, strlen(KAT_CLAIMS), "secret", 6,
                            buf, sizeof(buf));
    is_int(n, (long long) strlen(KAT_TOKEN), "sign: known answer length");
    is_str(buf, KAT_TOKEN, "sign: known answer token");

    mk_token(HEADER_JSON, KAT_CLAIMS, "secret", buf);
    is_str(buf, KAT_TOKEN, "test helper agrees with the known answer");

    is_str(verify(KAT_TOKEN, "secret"), NULL, "verify: known answer");
    is_str(peek(KAT_TOKEN, id, sizeof(id)), NULL, "peek: known answer");
    is_str(id, KAT_ID, "peek: id of the known answer");

    n = jira_jwt_sign_hs256(KAT_CLAIMS, strlen(KAT_CLAIMS), "", 0,
                            buf, sizeof(buf));
    is_str(buf, KAT_TOKEN_EMPTY_KEY, "sign: known answer, empty secret");
    is_int(n, (long long) strlen(KAT_TOKEN_EMPTY_KEY),
           "sign: known answer length, empty secret");

    n = jira_jwt_sign_hs256(KAT_CLAIMS, strlen(KAT_CLAIMS), NULL, 0,
                            buf, sizeof(buf));
    is_str(buf, KAT_TOKEN_EMPTY_KEY, "sign: NULL secret is the empty key");

    is_str(verify(KAT_TOKEN_EMPTY_KEY, ""), NULL,
           "verify: empty secret");
    is_str(jira_jwt_verify_hs256(KAT_TOKEN_EMPTY_KEY,
                                 strlen(KAT_TOKEN_EMPTY_KEY), NULL, 0, NOW),
           NULL, "verify: NULL secret is the empty key");
    is_str(jira_jwt_verify_hs256(KAT_TOKEN, strlen(KAT_TOKEN), NULL, 6, NOW),
           ERR_SIGNATURE, "verify: NULL secret with a length");
    is_int(jira_jwt_sign_hs256(KAT_CLAIMS, strlen(KAT_CLAIMS), NULL, 6, buf,
                               sizeof(buf)),
           -1, "sign: NULL secret with a length");
    is_str(verify(KAT_TOKEN_EMPTY_KEY, "secret"), ERR_SIGNATURE,
           "verify: empty-key token with a secret");
    is_str(verify(KAT_TOKEN, ""), ERR_SIGNATURE,
           "verify: token with an empty secret");

    is_str(verify(KAT_TOKEN, "Secret"), ERR_SIGNATURE, "wrong secret: case");
    is_str(verify(KAT_TOKEN, "secre"), ERR_SIGNATURE, "wrong secret: prefix");
    is_str(verify(KAT_TOKEN, "secret "), ERR_SIGNATURE,
           "wrong secret: longer");
    is_str(jira_jwt_verify_hs256(KAT_TOKEN, strlen(KAT_TOKEN), "secret\0x",
                                 8, NOW),
           ERR_SIGNATURE, "wrong secret: bytes after a NUL count");

    /* the token need not be NUL-terminated */

    memset(buf, 'x', sizeof(buf));
    memcpy(buf, KAT_TOKEN, strlen(KAT_TOKEN));

    is_str(jira_jwt_verify_hs256(buf, strlen(KAT_TOKEN), "secret", 6, NOW),
           NULL, "verify: unterminated token");
    is_str(jira_jwt_peek_id(buf, strlen(KAT_TOKEN), id, sizeof(id)), NULL,
           "peek: unterminated token");
    is_str(id, KAT_ID, "peek: id of an unterminated token");
}


static void
test_round_trip(void)
{
    int          i, n;
    char         id[JIRA_JWT_MAX_ID_LEN + 1], buf[TOKEN_BUF];
    const char  *secret;

    static const struct {
        const char  *claims;
        const char  *id;
    } cases[] = {
        { "{\"id\":\"\"}", "" },
        { "{\"id\":\"a\"}", "a" },
        { "{\"id\":\"ab\"}", "ab" },
        { "{\"id\":\"abc\"}", "abc" },
        { "{\"id\":\"jira.example.com:8443:consumer\"}",
          "jira.example.com:8443:consumer" },
        { "{\"id\":\"j\\u00e9ra:c\"}", "j\xc3\xa9ra:c" },
        { "{\"id\":\"a\\\"b\\\\c\\/d\"}", "a\"b\\c/d" },
        { "{\"id\":\"x\",\"exp\":1700000060}", "x" },
        { "{\"sub\":1,\"id\":\"y\",\"nbf\":1600000000}", "y" },
        { " { \"id\" : \"spaced\" } ", "spaced" },
    };

    static const char  *secrets[] = {
        "secret",
        "8ab5b9a4ac1e4d4a3ba7f12fa5ae4c1bc0e8b1c4",
        "",
        ("a secret that is longer than the sixty-four byte SHA-256 block, "
         "so HMAC hashes it first"),
    };

    for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++) {
        secret = secrets[i % (sizeof(secrets) / sizeof(secrets[0]))];

        n = jira_jwt_sign_hs256(cases[i].claims, strlen(cases[i].claims),
                                secret, strlen(secret), buf, sizeof(buf));

        ok(n > 0 && (size_t) n == strlen(buf), "round trip %d: sign", i);
        is_str(verify(buf, secret), NULL, "round trip %d: verify", i);
        is_str(peek(buf, id, sizeof(id)), NULL, "round trip %d: peek", i);
        is_str(id, cases[i].id, "round trip %d: id", i);
        is_str(verify(buf, "other"), ERR_SIGNATURE,
               "round trip %d: other secret", i);
    }
}


static void
test_sign_errors(void)
{
    int          i, n;
    char         buf[TOKEN_BUF];
    const char  *bad[] = {
        "", "[]", "\"id\"", "1", "null", "{", "{\"id\":\"a\"} x",
        "{\"id\":\"a\",\"id\":\"b\"}", "{\"id\":\"\xff\"}",
    };

    for (i = 0; i < (int) (sizeof(bad) / sizeof(bad[0])); i++) {
        strcpy(buf, "junk");
        n = jira_jwt_sign_hs256(bad[i], strlen(bad[i]), "k", 1, buf,
                                sizeof(buf));
        ok(n == -1 && buf[0] == '\0', "sign refuses claims '%s'", bad[i]);
    }

    n = jira_jwt_sign_hs256(NULL, 0, "k", 1, buf, sizeof(buf));
    is_int(n, -1, "sign: NULL claims");

    n = jira_jwt_sign_hs256("{\"id\":\"a\\u0000b\"}",
                            strlen("{\"id\":\"a\\u0000b\"}"), "k", 1, buf,
                            sizeof(buf));
    is_int(n, -1, "sign: NUL inside a claim");

    n = jira_jwt_sign_hs256(KAT_CLAIMS, strlen(KAT_CLAIMS), "secret", 6,
                            buf, strlen(KAT_TOKEN));
    ok(n == -1 && buf[0] == '\0', "sign: no room for the NUL");

    n = jira_jwt_sign_hs256(KAT_CLAIMS, strlen(KAT_CLAIMS), "secret", 6,
                            buf, strlen(KAT_TOKEN) + 1);
    ok(n == (int) strlen(KAT_TOKEN) && strcmp(buf, KAT_TOKEN) == 0,
       "sign: exactly enough room");

    n = jira_jwt_sign_hs256(KAT_CLAIMS, strlen(KAT_CLAIMS), "secret", 6,
                            buf, 0);
    is_int(n, -1, "sign: zero-sized output");

    n = jira_jwt_sign_hs256(KAT_CLAIMS, strlen(KAT_CLAIMS), "secret", 6,
                            NULL, 100);
    is_int(n, -1, "sign: NULL output");
}


static void
test_tampering(void)
{
    int          v, hits;
    char         buf[TOKEN_BUF], seg[256];
    size_t       i, d1, d2, len;
    const char  *rc;

    d1 = nth_dot(KAT_TOKEN, 1);
    d2 = nth_dot(KAT_TOKEN, 2);
    len = strlen(KAT_TOKEN);

    /*
     * Each character changed to one 4 places further in the alphabet:
     * the low two bits stay, so every segment stays canonical base64url
     * and only the MAC can catch the change.
     */

    for (i = d2 + 1; i < len; i++) {
        strcpy(buf, KAT_TOKEN);
        v = b64url_value(buf[i]);
        buf[i] = b64_alphabet[(v + 4) % 64];
        is_str(verify(buf, "secret"), ERR_SIGNATURE,
               "signature char %zu changed", i - d2 - 1);
    }

    for (i = d1 + 1; i < d2; i++) {
        strcpy(buf, KAT_TOKEN);
        v = b64url_value(buf[i]);
        buf[i] = b64_alphabet[(v + 4) % 64];
        is_str(verify(buf, "secret"), ERR_SIGNATURE,
               "claims char %zu changed", i - d1 - 1);
    }

    /* a changed header may stop being JSON: any refusal will do */

    hits = 0;

    for (i = 0; i < d1; i++) {
        strcpy(buf, KAT_TOKEN);
        v = b64url_value(buf[i]);
        buf[i] = b64_alphabet[(v + 4) % 64];
        rc = verify(buf, "secret");
        if (rc == NULL) {
            diag("header char %zu changed: accepted", i);

        } else {
            hits++;
        }
    }

    is_int(hits, (long long) d1, "every header char change is refused");

    /* whole segments replaced */

    b64url("{\"alg\":\"HS256\",\"typ\":\"JWS\"}", 27, seg);
    mk_raw(seg, "eyJpZCI6ImppcmEuZXhhbXBsZS5jb206c2VudHJ5LWNvbnN1bWVyIn0",
           "gBiMi7KeMtYHo4-TWQ5YnBREqRGUfBzfsX5bpDsUaPE", buf);
    is_str(verify(buf, "secret"), ERR_SIGNATURE, "header typ changed");

    b64url("{\"typ\":\"JWT\",\"alg\":\"HS256\"}", 27, seg);
    mk_raw(seg, "eyJpZCI6ImppcmEuZXhhbXBsZS5jb206c2VudHJ5LWNvbnN1bWVyIn0",
           "gBiMi7KeMtYHo4-TWQ5YnBREqRGUfBzfsX5bpDsUaPE", buf);
    is_str(verify(buf, "secret"), ERR_SIGNATURE, "header keys reordered");

    b64url("{\"id\":\"jira.example.com:sentry-consumeR\"}", 41, seg);
    mk_raw("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", seg,
           "gBiMi7KeMtYHo4-TWQ5YnBREqRGUfBzfsX5bpDsUaPE", buf);
    is_str(verify(buf, "secret"), ERR_SIGNATURE, "claims replaced");
    is_str(peek(buf, seg, sizeof(seg)), NULL,
           "peek does not look at the signature");
    is_str(seg, "jira.example.com:sentry-consumeR", "peek: replaced id");

    strcpy(buf, KAT_TOKEN);
    strcpy(buf + d2 + 1, "49y2FOaD1kD4UC_NzaLh2dhJN--lqbRH1xh5xtCk2ZU");
    is_str(verify(buf, "secret"), ERR_SIGNATURE,
           "signature of another key");

    strcpy(buf, KAT_TOKEN);
    strcpy(buf + d2 + 1, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    is_str(verify(buf, "secret"), ERR_SIGNATURE, "all-zero signature");

    strcpy(buf, KAT_TOKEN);
    buf[d2 + 1] = '\0';
    is_str(verify(buf, "secret"), ERR_SIGNATURE, "empty signature");
    is_str(peek(buf, seg, sizeof(seg)), NULL, "peek: empty signature");

    strcpy(buf, KAT_TOKEN);
    buf[len - 1] = '\0';
    strcat(buf, "AA");
    is_str(verify(buf, "secret"), ERR_SIGNATURE, "44-char signature");

    strcpy(buf, KAT_TOKEN);
    buf[d2 + 1 + 40] = '\0';
    strcat(buf, "AA");
    is_str(verify(buf, "secret"), ERR_SIGNATURE, "42-char signature");

    /* a 64-byte MAC (what HS512 would give) */
    strcpy(buf, KAT_TOKEN);
    strcat(buf, "gBiMi7KeMtYHo4-TWQ5YnBREqRGUfBzfsX5bpDsUaPE");
    buf[len + 43 - 1 - 1] = 'A';
    buf[len + 43 - 1] = 'A';
    is_str(verify(buf, "secret"), ERR_SIGNATURE, "86-char signature");
}


static void
test_alg(void)
{
    int          i;
    char         buf[TOKEN_BUF], id[64];
    size_t       d2;
    const char  *headers[] = {
        "{\"alg\":\"none\",\"typ\":\"JWT\"}",
        "{\"alg\":\"None\"}",
        "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
        "{\"alg\":\"ES256\",\"typ\":\"JWT\"}",
        "{\"alg\":\"PS256\",\"typ\":\"JWT\"}",
        "{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
        "{\"alg\":\"HS384\",\"typ\":\"JWT\"}",
        "{\"alg\":\"hs256\",\"typ\":\"JWT\"}",
        "{\"alg\":\"HS256 \",\"typ\":\"JWT\"}",
        "{\"alg\":\" HS256\",\"typ\":\"JWT\"}",
        "{\"alg\":\"HS2560\",\"typ\":\"JWT\"}",
        "{\"alg\":\"HS25\",\"typ\":\"JWT\"}",
        "{\"alg\":\"\",\"typ\":\"JWT\"}",
        "{\"typ\":\"JWT\"}",
        "{}",
        "{\"ALG\":\"HS256\"}",
        "{\"alg\":null}",
        "{\"alg\":256}",
        "{\"alg\":true}",
        "{\"alg\":[\"HS256\"]}",
        "{\"alg\":{\"name\":\"HS256\"}}",
        "{\"header\":{\"alg\":\"HS256\"}}",
    };

    for (i = 0; i < (int) (sizeof(headers) / sizeof(headers[0])); i++) {
        mk_token(headers[i], KAT_CLAIMS, "secret", buf);
        is_str(verify(buf, "secret"), ERR_ALG, "alg refused: %s",
               headers[i]);
        is_str(peek(buf, id, sizeof(id)), NULL,
               "peek ignores alg: %s", headers[i]);
    }

    /* the classic "none" token: no signature at all */

    mk_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", KAT_CLAIMS, "", buf);
    d2 = nth_dot(buf, 2);
    buf[d2 + 1] = '\0';
    is_str(verify(buf, "secret"), ERR_ALG, "alg none, empty signature");
    is_str(verify(buf, ""), ERR_ALG, "alg none, empty signature and key");

    mk_token("{\"alg\":\"HS256\"}", KAT_CLAIMS, "secret", buf);
    is_str(verify(buf, "secret"), NULL, "header with alg only");

    mk_token("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}", KAT_CLAIMS,
             "secret", buf);
    is_str(verify(buf, "secret"), NULL, "extra header member");
}


static void
test_header_typ(void)
{
    char  buf[TOKEN_BUF], id[64];

    mk_token("{\"alg\":\"HS256\",\"typ\":\"JOSE\"}", KAT_CLAIMS, "secret",
             buf);
    is_str(verify(buf, "secret"), NULL, "typ JOSE: verify");
    is_str(peek(buf, id, sizeof(id)), NULL, "typ JOSE: peek");

    mk_token("{\"alg\":\"HS256\",\"typ\":\"\"}", KAT_CLAIMS, "secret", buf);
    is_str(verify(buf, "secret"), NULL, "typ empty string: verify");

    mk_token("{\"alg\":\"HS256\",\"typ\":1}", KAT_CLAIMS, "secret", buf);
    is_str(verify(buf, "secret"), ERR_INVALID, "typ number: verify");
    is_str(peek(buf, id, sizeof(id)), ERR_DECODE, "typ number: peek");

    mk_token("{\"alg\":\"HS256\",\"typ\":null}", KAT_CLAIMS, "secret", buf);
    is_str(verify(buf, "secret"), ERR_INVALID, "typ null: verify");
    is_str(peek(buf, id, sizeof(id)), ERR_DECODE, "typ null: peek");

    mk_token("{\"alg\":\"HS256\",\"typ\":[\"JWT\"]}", KAT_CLAIMS, "secret",
             buf);
    is_str(verify(buf, "secret"), ERR_INVALID, "typ array: verify");
}


static void
test_malformed(void)
{
    int          i;
    char         buf[TOKEN_BUF], id[64];
    size_t       k, d2, len;
    const char  *rc;
    int          bad_verify, bad_peek;

    static const char  *tokens[] = {
        "",
        ".",
        "..",
        "...",
        "abc",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
            ".eyJpZCI6ImppcmEuZXhhbXBsZS5jb206c2VudHJ5LWNvbnN1bWVyIn0",
        KAT_TOKEN ".",
        KAT_TOKEN ".gBiMi7KeMtYHo4-TWQ5YnBREqRGUfBzfsX5bpDsUaPE",
        "." KAT_TOKEN,
        ".eyJpZCI6ImppcmEuZXhhbXBsZS5jb206c2VudHJ5LWNvbnN1bWVyIn0"
            ".gBiMi7KeMtYHo4-TWQ5YnBREqRGUfBzfsX5bpDsUaPE",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.."
            "gBiMi7KeMtYHo4-TWQ5YnBREqRGUfBzfsX5bpDsUaPE",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
            "..eyJpZCI6ImppcmEuZXhhbXBsZS5jb206c2VudHJ5LWNvbnN1bWVyIn0"
            ".gBiMi7KeMtYHo4-TWQ5YnBREqRGUfBzfsX5bpDsUaPE",
        " " KAT_TOKEN,
        KAT_TOKEN " ",
        KAT_TOKEN "\n",
        "Bearer " KAT_TOKEN,
    };

    for (i = 0; i < (int) (sizeof(tokens) / sizeof(tokens[0])); i++) {
        is_str(peek(tokens[i], id, sizeof(id)), ERR_DECODE,
               "malformed %d: peek", i);
        is_str(verify(tokens[i], "secret"), ERR_INVALID,
               "malformed %d: verify", i);
    }

    is_str(jira_jwt_peek_id(NULL, 0, id, sizeof(id)), ERR_DECODE,
           "peek: NULL token");
    is_str(jira_jwt_verify_hs256(NULL, 0, "k", 1, NOW), ERR_INVALID,
           "verify: NULL token");

    /* every proper prefix of a good token */

    len = strlen(KAT_TOKEN);
    d2 = nth_dot(KAT_TOKEN, 2);
    bad_verify = 0;
    bad_peek = 0;

    for (k = 0; k < len; k++) {
        memcpy(buf, KAT_TOKEN, k);
        buf[k] = '\0';

        if (verify(buf, "secret") == NULL) {
            diag("prefix of %zu bytes verified", k);
            bad_verify++;
        }

        rc = peek(buf, id, sizeof(id));

        if (k <= d2 && (rc == NULL || strcmp(rc, ERR_DECODE) != 0)) {
            diag("prefix of %zu bytes peeked: %s", k, rc ? rc : "NULL");
            bad_peek++;
        }
    }

    is_int(bad_verify, 0, "no truncated token verifies");
    is_int(bad_peek, 0, "a token cut before its signature does not decode");

    /* the length argument, not the NUL, ends the token */

    /* 42 chars leave 4 spare bits, and the last char uses them */
    is_str(jira_jwt_verify_hs256(KAT_TOKEN, len - 1, "secret", 6, NOW),
           ERR_INVALID, "length one short");
    is_str(jira_jwt_peek_id(KAT_TOKEN, d2, id, sizeof(id)), ERR_DECODE,
           "length up to the second dot");
}


static void
test_base64(void)
{
    int          i, v;
    char         buf[TOKEN_BUF], seg[TOKEN_BUF], id[64];
    size_t       k, d1, d2, len;
    const char   bad_chars[] = { '=', '+', '/', ' ', '\t', '\n', '%', '~',
                                 '!', '\\', '"', '\x7f', '\x80', '\xff' };

    len = strlen(KAT_TOKEN);
    d1 = nth_dot(KAT_TOKEN, 1);
    d2 = nth_dot(KAT_TOKEN, 2);

    /* a character outside [A-Za-z0-9_-] in each segment */

    for (i = 0; i < (int) sizeof(bad_chars); i++) {
        size_t  pos[3];

        pos[0] = 5;
        pos[1] = d1 + 7;
        pos[2] = d2 + 11;

        for (k = 0; k < 3; k++) {
            strcpy(buf, KAT_TOKEN);
            buf[pos[k]] = bad_chars[i];
            is_str(peek(buf, id, sizeof(id)), ERR_DECODE,
                   "byte 0x%02x in segment %zu: peek",
                   (unsigned char) bad_chars[i], k);
            is_str(verify(buf, "secret"), ERR_INVALID,
                   "byte 0x%02x in segment %zu: verify",
                   (unsigned char) bad_chars[i], k);
        }
    }

    /* an embedded NUL, with the length covering the whole token */

    strcpy(buf, KAT_TOKEN);
    buf[d1 + 3] = '\0';
    is_str(jira_jwt_peek_id(buf, len, id, sizeof(id)), ERR_DECODE,
           "NUL inside the claims: peek");
    is_str(jira_jwt_verify_hs256(buf, len, "secret", 6, NOW), ERR_INVALID,
           "NUL inside the claims: verify");

    /* padding, which PyJWT never writes */

    strcpy(buf, KAT_TOKEN);
    strcat(buf, "=");
    is_str(peek(buf, id, sizeof(id)), ERR_DECODE, "padded signature: peek");
    is_str(verify(buf, "secret"), ERR_INVALID, "padded signature: verify");

    mk_raw("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
           "eyJpZCI6ImppcmEuZXhhbXBsZS5jb206c2VudHJ5LWNvbnN1bWVyIn0==",
           "gBiMi7KeMtYHo4-TWQ5YnBREqRGUfBzfsX5bpDsUaPE", buf);
    is_str(peek(buf, id, sizeof(id)), ERR_DECODE, "padded claims: peek");
    is_str(verify(buf, "secret"), ERR_INVALID, "padded claims: verify");

    mk_raw("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9====",
           "eyJpZCI6ImppcmEuZXhhbXBsZS5jb206c2VudHJ5LWNvbnN1bWVyIn0",
           "gBiMi7KeMtYHo4-TWQ5YnBREqRGUfBzfsX5bpDsUaPE", buf);
    is_str(peek(buf, id, sizeof(id)), ERR_DECODE, "padded header: peek");

    /* standard base64 of the same bytes: '+' and '/' are not base64url */

    mk_raw("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
           "eyJpZCI6ImppcmEuZXhhbXBsZS5jb206c2VudHJ5LWNvbnN1bWVyIn0",
           "gBiMi7KeMtYHo4+TWQ5YnBREqRGUfBzfsX5bpDsUaPE", buf);
    is_str(verify(buf, "secret"), ERR_INVALID, "'+' in the signature");

    /*
     * Non-canonical trailing bits: a lax decoder ignores the spare low
     * bits of the last char, so these would decode to the same bytes.
     * The KAT claims segment is 55 chars and the signature 43, both with
     * 2 spare bits; {"id":"a"} is 14 chars with 4 spare bits.
     */

    strcpy(buf, KAT_TOKEN);
    v = b64url_value(buf[d2 - 1]);
    buf[d2 - 1] = b64_alphabet[v | 1];
    is_str(peek(buf, id, sizeof(id)), ERR_DECODE,
           "non-canonical claims: peek");
    is_str(verify(buf, "secret"), ERR_INVALID,
           "non-canonical claims: verify");

    strcpy(buf, KAT_TOKEN);
    buf[d2 - 1] = b64_alphabet[b64url_value(buf[d2 - 1]) | 2];
    is_str(peek(buf, id, sizeof(id)), ERR_DECODE,
           "non-canonical claims, high spare bit: peek");

    mk_token(HEADER_JSON, "{\"id\":\"a\"}", "secret", seg);
    is_str(peek(seg, id, sizeof(id)), NULL, "14-char claims: peek");
    is_int((long long) (nth_dot(seg, 2) - nth_dot(seg, 1) - 1), 14,
           "14-char claims: length");

    for (v = 1; v <= 8; v <<= 1) {
        strcpy(buf, seg);
        k = nth_dot(buf, 2) - 1;
        buf[k] = b64_alphabet[b64url_value(buf[k]) | v];
        is_str(peek(buf, id, sizeof(id)), ERR_DECODE,
               "14-char claims, spare bit %d set: peek", v);
    }

    strcpy(buf, KAT_TOKEN);
    v = b64url_value(buf[len - 1]);
    buf[len - 1] = b64_alphabet[v | 1];
    is_str(peek(buf, id, sizeof(id)), ERR_DECODE,
           "non-canonical signature: peek");
    is_str(verify(buf, "secret"), ERR_INVALID,
           "non-canonical signature: verify");

    strcpy(buf, KAT_TOKEN);
    buf[len - 1] = b64_alphabet[b64url_value(buf[len - 1]) | 2];
    is_str(verify(buf, "secret"), ERR_INVALID,
           "non-canonical signature, high spare bit: verify");

    /* {"alg":"HS256","k":"v"} is 23 bytes: 31 chars, 2 spare bits */

    mk_token("{\"alg\":\"HS256\",\"k\":\"v\"}", KAT_CLAIMS, "secret", buf);
    is_str(verify(buf, "secret"), NULL, "31-char header verifies");
    d1 = nth_dot(buf, 1);
    is_int((long long) d1, 31, "31-char header length");
    buf[d1 - 1] = b64_alphabet[b64url_value(buf[d1 - 1]) | 1];
    is_str(peek(buf, id, sizeof(id)), ERR_DECODE,
           "non-canonical header: peek");
    is_str(verify(buf, "secret"), ERR_INVALID,
           "non-canonical header: verify");

    /* a segment of length 1 (mod 4) cannot be base64 */

    mk_raw("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
           "eyJpZCI6ImppcmEuZXhhbXBsZS5jb206c2VudHJ5LWNvbnN1bWVyI",
           "gBiMi7KeMtYHo4-TWQ5YnBREqRGUfBzfsX5bpDsUaPE", buf);
    is_str(peek(buf, id, sizeof(id)), ERR_DECODE, "claims 53 chars: peek");
    is_str(verify(buf, "secret"), ERR_INVALID, "claims 53 chars: verify");

    mk_raw("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
           "eyJpZCI6ImppcmEuZXhhbXBsZS5jb206c2VudHJ5LWNvbnN1bWVyIn0",
           "gBiMi7KeMtYHo4-TWQ5YnBREqRGUfBzfsX5bp", buf);
    is_str(peek(buf, id, sizeof(id)), ERR_DECODE,
           "signature 37 chars: peek");
    is_str(verify(buf, "secret"), ERR_INVALID,
           "signature 37 chars: verify");

    mk_raw("A", "eyJpZCI6ImppcmEuZXhhbXBsZS5jb206c2VudHJ5LWNvbnN1bWVyIn0",
           "gBiMi7KeMtYHo4-TWQ5YnBREqRGUfBzfsX5bpDsUaPE", buf);
    is_str(peek(buf, id, sizeof(id)), ERR_DECODE, "header 1 char: peek");
}


static void
test_not_objects(void)
{
    int          i;
    char         buf[TOKEN_BUF], id[64];
    const char  *docs[] = {
        "[]", "[{\"alg\":\"HS256\"}]", "\"HS256\"", "1", "null", "true",
        "{", "{\"alg\":\"HS256\"", "{\"alg\":\"HS256\"} x", "not json",
        "{\"alg\":\"HS256\"}{}", "{'alg':'HS256'}", "\xff\xfe",
        "{\"alg\":\"HS256\",\"x\":\"\xc3\"}",
    };

    for (i = 0; i < (int) (sizeof(docs) / sizeof(docs[0])); i++) {
        mk_token(docs[i], KAT_CLAIMS, "secret", buf);
        is_str(peek(buf, id, sizeof(id)), ERR_DECODE,
               "header document %d: peek", i);
        is_str(verify(buf, "secret"), ERR_INVALID,
               "header document %d: verify", i);

        /* claims are read after the MAC, which is right here */
        mk_token(HEADER_JSON, docs[i], "secret", buf);
        is_str(peek(buf, id, sizeof(id)), ERR_DECODE,
               "claims document %d: peek", i);
        is_str(verify(buf, "secret"), ERR_INVALID,
               "claims document %d: verify", i);
    }

    /* duplicate members */

    mk_token("{\"alg\":\"HS256\",\"alg\":\"HS256\"}", KAT_CLAIMS, "secret",
             buf);
    is_str(peek(buf, id, sizeof(id)), ERR_DECODE,
           "duplicate header member: peek");
    is_str(verify(buf, "secret"), ERR_INVALID,
           "duplicate header member: verify");

    mk_token("{\"alg\":\"none\",\"alg\":\"HS256\"}", KAT_CLAIMS, "secret",
             buf);
    is_str(verify(buf, "secret"), ERR_INVALID,
           "duplicate alg, none first: verify");

    mk_token(HEADER_JSON, "{\"id\":\"a\",\"id\":\"b\"}", "secret", buf);
    is_str(peek(buf, id, sizeof(id)), ERR_DECODE,
           "duplicate id: peek");
    is_str(verify(buf, "secret"), ERR_INVALID, "duplicate id: verify");

    mk_token(HEADER_JSON, "{\"id\":\"a\",\"x\":{\"k\":1,\"k\":2}}", "secret",
             buf);
    is_str(peek(buf, id, sizeof(id)), ERR_DECODE,
           "nested duplicate member: peek");

    mk_token(HEADER_JSON, "{\"id\":\"a\\u0000b\"}", "secret", buf);
    is_str(peek(buf, id, sizeof(id)), ERR_DECODE, "NUL escape in id: peek");
}


static void
test_length(void)
{
    int          n;
    char        *claims, *buf, id[64];
    size_t       pad, len;

    claims = malloc(JIRA_JWT_MAX_LEN * 2);
    buf = malloc(TOKEN_BUF * 4);

    if (claims == NULL || buf == NULL) {
        ok(0, "out of memory");
        free(claims);
        free(buf);
        return;
    }

    /*
     * Token length is 36 + 1 + ceil(4c/3) + 1 + 43 for c bytes of claims:
     * c = 3011 gives exactly JIRA_JWT_MAX_LEN (4096), c = 3012 one more.
     * {"id":"a","pad":""} is 19 bytes.
     */

    for (pad = 2992; pad <= 2993; pad++) {
        strcpy(claims, "{\"id\":\"a\",\"pad\":\"");
        memset(claims + 17, 'p', pad);
        strcpy(claims + 17 + pad, "\"}");

        mk_token(HEADER_JSON, claims, "secret", buf);
        len = strlen(buf);

        if (pad == 2992) {
            is_int((long long) len, JIRA_JWT_MAX_LEN, "token at the limit");
            is_str(peek(buf, id, sizeof(id)), NULL, "at the limit: peek");
            is_str(verify(buf, "secret"), NULL, "at the limit: verify");

            n = jira_jwt_sign_hs256(claims, strlen(claims), "secret", 6,
                                    buf + TOKEN_BUF, TOKEN_BUF);
            ok(n == JIRA_JWT_MAX_LEN && strcmp(buf, buf + TOKEN_BUF) == 0,
               "at the limit: sign");

        } else {
            is_int((long long) len, JIRA_JWT_MAX_LEN + 1,
                   "token one over the limit");
            is_str(peek(buf, id, sizeof(id)), ERR_DECODE,
                   "over the limit: peek");
            is_str(verify(buf, "secret"), ERR_INVALID,
                   "over the limit: verify");

            n = jira_jwt_sign_hs256(claims, strlen(claims), "secret", 6,
                                    buf + TOKEN_BUF, TOKEN_BUF);
            is_int(n, -1, "over the limit: sign");
        }
    }

    /* a huge input is refused before it is looked at */

    memset(buf, 'A', TOKEN_BUF * 4 - 1);
    buf[TOKEN_BUF * 4 - 1] = '\0';
    buf[100] = '.';
    buf[200] = '.';
    is_str(peek(buf, id, sizeof(id)), ERR_DECODE, "huge token: peek");
    is_str(verify(buf, "secret"), ERR_INVALID, "huge token: verify");

    n = jira_jwt_sign_hs256(buf, TOKEN_BUF * 4 - 1, "secret", 6, claims,
                            JIRA_JWT_MAX_LEN * 2);
    is_int(n, -1, "huge claims: sign");

    free(claims);
    free(buf);
}


static void
test_id(void)
{
    char         buf[TOKEN_BUF], id[JIRA_JWT_MAX_ID_LEN + 64];
    char         claims[JIRA_JWT_MAX_ID_LEN + 64];
    char         longid[JIRA_JWT_MAX_ID_LEN + 2];
    const char  *rc;

    mk_token(HEADER_JSON, "{\"sub\":\"x\"}", "secret", buf);
    strcpy(id, "junk");
    is_str(peek(buf, id, sizeof(id)), ERR_NO_ID, "id absent");
    is_str(id, "", "id absent: id emptied");

    mk_token(HEADER_JSON, "{}", "secret", buf);
    is_str(peek(buf, id, sizeof(id)), ERR_NO_ID, "empty claims");

    mk_token(HEADER_JSON, "{\"Id\":\"x\",\"ID\":\"y\"}", "secret", buf);
    is_str(peek(buf, id, sizeof(id)), ERR_NO_ID, "id with other case");

    mk_token(HEADER_JSON, "{\"claims\":{\"id\":\"x\"}}", "secret", buf);
    is_str(peek(buf, id, sizeof(id)), ERR_NO_ID, "id nested only");

    mk_token(HEADER_JSON, "{\"id\":5}", "secret", buf);
    rc = peek(buf, id, sizeof(id));
    ok(rc == JIRA_JWT_NO_INTEGRATION, "id a number: the constant");
    is_str(rc, ERR_NO_INTEGRATION, "id a number: text");
    is_str(JIRA_JWT_NO_INTEGRATION, ERR_NO_INTEGRATION, "constant text");

    mk_token(HEADER_JSON, "{\"id\":null}", "secret", buf);
    ok(peek(buf, id, sizeof(id)) == JIRA_JWT_NO_INTEGRATION, "id null");

    mk_token(HEADER_JSON, "{\"id\":true}", "secret", buf);
    ok(peek(buf, id, sizeof(id)) == JIRA_JWT_NO_INTEGRATION, "id true");

    mk_token(HEADER_JSON, "{\"id\":[\"a\"]}", "secret", buf);
    ok(peek(buf, id, sizeof(id)) == JIRA_JWT_NO_INTEGRATION, "id array");

    mk_token(HEADER_JSON, "{\"id\":{\"v\":\"a\"}}", "secret", buf);
    ok(peek(buf, id, sizeof(id)) == JIRA_JWT_NO_INTEGRATION, "id object");

    mk_token(HEADER_JSON, "{\"id\":1.5}", "secret", buf);
    ok(peek(buf, id, sizeof(id)) == JIRA_JWT_NO_INTEGRATION, "id real");

    mk_token(HEADER_JSON, "{\"id\":\"\"}", "secret", buf);
    strcpy(id, "junk");
    is_str(peek(buf, id, sizeof(id)), NULL, "id empty string: decodes");
    is_str(id, "", "id empty string: copied");

    /* the longest id, and one byte more */

    memset(longid, 'i', JIRA_JWT_MAX_ID_LEN);
    longid[JIRA_JWT_MAX_ID_LEN] = '\0';
    sprintf(claims, "{\"id\":\"%s\"}", longid);
    mk_token(HEADER_JSON, claims, "secret", buf);

    is_str(jira_jwt_peek_id(buf, strlen(buf), id, JIRA_JWT_MAX_ID_LEN + 1),
           NULL, "id of JIRA_JWT_MAX_ID_LEN bytes");
    is_str(id, longid, "longest id copied");
    ok(jira_jwt_peek_id(buf, strlen(buf), id, JIRA_JWT_MAX_ID_LEN)
       == JIRA_JWT_NO_INTEGRATION, "longest id, buffer one short");
    is_str(id, "", "buffer one short: id emptied");

    longid[JIRA_JWT_MAX_ID_LEN] = 'i';
    longid[JIRA_JWT_MAX_ID_LEN + 1] = '\0';
    sprintf(claims, "{\"id\":\"%s\"}", longid);
    mk_token(HEADER_JSON, claims, "secret", buf);

    ok(peek(buf, id, sizeof(id)) == JIRA_JWT_NO_INTEGRATION,
       "id over JIRA_JWT_MAX_ID_LEN, big buffer");
    is_str(verify(buf, "secret"), NULL, "id over the limit still verifies");

    mk_token(HEADER_JSON, "{\"id\":\"0123456789\"}", "secret", buf);
    ok(jira_jwt_peek_id(buf, strlen(buf), id, 10) == JIRA_JWT_NO_INTEGRATION,
       "10-byte id, 10-byte buffer");
    is_str(jira_jwt_peek_id(buf, strlen(buf), id, 11), NULL,
           "10-byte id, 11-byte buffer");
    is_str(id, "0123456789", "10-byte id copied");
    ok(jira_jwt_peek_id(buf, strlen(buf), NULL, 0) == JIRA_JWT_NO_INTEGRATION,
       "no id buffer");
    ok(jira_jwt_peek_id(buf, strlen(buf), id, 0) == JIRA_JWT_NO_INTEGRATION,
       "zero-sized id buffer");

    /* a bad token leaves no stale id behind */

    strcpy(id, "stale");
    peek("x.y", id, sizeof(id));
    is_str(id, "", "malformed token: id emptied");
}


static void
test_times(void)
{
    int          i;
    char         buf[TOKEN_BUF], id[64];

    static const struct {
        const char  *claims;
        const char  *rc;
    } cases[] = {
        { "{\"id\":\"a\",\"exp\":1699999999}", ERR_EXPIRED },
        { "{\"id\":\"a\",\"exp\":1700000000}", ERR_EXPIRED },
        { "{\"id\":\"a\",\"exp\":1700000001}", NULL },
        { "{\"id\":\"a\",\"exp\":0}", ERR_EXPIRED },
        { "{\"id\":\"a\",\"exp\":-1}", ERR_EXPIRED },
        { "{\"id\":\"a\",\"exp\":9223372036854775807}", NULL },
        { "{\"id\":\"a\",\"exp\":\"1800000000\"}", ERR_EXP_TYPE },
        { "{\"id\":\"a\",\"exp\":1800000000.0}", ERR_EXP_TYPE },
        { "{\"id\":\"a\",\"exp\":1.8e9}", ERR_EXP_TYPE },
        { "{\"id\":\"a\",\"exp\":null}", ERR_EXP_TYPE },
        { "{\"id\":\"a\",\"exp\":true}", ERR_EXP_TYPE },
        { "{\"id\":\"a\",\"exp\":[1800000000]}", ERR_EXP_TYPE },
        { "{\"id\":\"a\",\"nbf\":1700000001}", ERR_IMMATURE },
        { "{\"id\":\"a\",\"nbf\":1700000000}", NULL },
        { "{\"id\":\"a\",\"nbf\":1600000000}", NULL },
        { "{\"id\":\"a\",\"nbf\":-9223372036854775807}", NULL },
        { "{\"id\":\"a\",\"nbf\":\"1600000000\"}", ERR_NBF_TYPE },
        { "{\"id\":\"a\",\"nbf\":1.5}", ERR_NBF_TYPE },
        { "{\"id\":\"a\",\"nbf\":null}", ERR_NBF_TYPE },
        { "{\"id\":\"a\",\"nbf\":1600000000,\"exp\":1800000000}", NULL },
        { "{\"id\":\"a\",\"nbf\":1800000000,\"exp\":1600000000}",
          ERR_IMMATURE },
        { "{\"id\":\"a\",\"exp\":1600000000,\"nbf\":1800000000}",
          ERR_IMMATURE },
        { "{\"id\":\"a\",\"nbf\":\"x\",\"exp\":\"y\"}", ERR_NBF_TYPE },
        { "{\"id\":\"a\",\"nbf\":1600000000,\"exp\":\"y\"}", ERR_EXP_TYPE },
        { "{\"id\":\"a\",\"iat\":1600000000}", NULL },
        { "{\"id\":\"a\",\"EXP\":0,\"Nbf\":\"x\"}", NULL },
    };

    for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++) {
        mk_token(HEADER_JSON, cases[i].claims, "secret", buf);
        is_str(verify(buf, "secret"), cases[i].rc, "times: %s",
               cases[i].claims);
    }

    /* the signature is checked before the times */

    mk_token(HEADER_JSON, "{\"id\":\"a\",\"exp\":0}", "secret", buf);
    is_str(verify(buf, "other"), ERR_SIGNATURE,
           "expired token, wrong secret");

    /* peek does not look at the times */

    is_str(peek(buf, id, sizeof(id)), NULL, "peek ignores exp");

    mk_token(HEADER_JSON, "{\"id\":\"a\",\"nbf\":\"x\"}", "secret", buf);
    is_str(peek(buf, id, sizeof(id)), NULL, "peek ignores nbf");

    /* now is an argument */

    mk_token(HEADER_JSON, "{\"id\":\"a\",\"exp\":1700000000}", "secret", buf);
    is_str(jira_jwt_verify_hs256(buf, strlen(buf), "secret", 6, NOW - 1),
           NULL, "exp one second ahead of now");
}


static void *
thread_main(void *data)
{
    int            i, n;
    char           claims[64], secret[32], want[64], id[64];
    char           token[TOKEN_BUF];
    thread_arg_t  *arg;

    arg = data;

    for (i = 0; i < THREAD_LOOPS; i++) {
        sprintf(claims, "{\"id\":\"thread-%d-%d\",\"exp\":1800000000}",
                arg->n, i);
        sprintf(want, "thread-%d-%d", arg->n, i);
        sprintf(secret, "s%d", i % 7);

        n = jira_jwt_sign_hs256(claims, strlen(claims), secret,
                                strlen(secret), token, sizeof(token));

        if (n < 0
            || jira_jwt_verify_hs256(token, (size_t) n, secret,
                                     strlen(secret), NOW) != NULL
            || jira_jwt_verify_hs256(token, (size_t) n, "x", 1, NOW) == NULL
            || jira_jwt_peek_id(token, (size_t) n, id, sizeof(id)) != NULL
            || strcmp(id, want) != 0)
        {
            arg->failures++;
        }
    }

    return NULL;
}


static void
test_threads(void)
{
    int           i, started, failures;
    pthread_t     tid[THREADS];
    thread_arg_t  args[THREADS];

    started = 0;
    failures = 0;

    for (i = 0; i < THREADS; i++) {
        args[i].n = i;
        args[i].failures = 0;

        if (pthread_create(&tid[i], NULL, thread_main, &args[i]) == 0) {
            started++;

        } else {
            break;
        }
    }

    for (i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
        failures += args[i].failures;
    }

    is_int(started, THREADS, "threads started");
    is_int(failures, 0, "concurrent sign, verify and peek agree");
}
