/*
 * Unit tests for src/jira_oauth1.c: percent-encoding, the signature base
 * string of RFC 5849, RSA-SHA1 signatures and the Authorization header.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "jira_oauth1.h"
#include "tap.h"


#define P(n, v)  { n, sizeof(n) - 1, v, sizeof(v) - 1 }


/*
 * RFC 5849 section 3.4.1.1: the example request and the base string the
 * RFC prints for it (realm and oauth_signature are not part of it).
 */

#define RFC_URL                                                              \
    "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b"

#define RFC_FORM  "c2&a3=2+q"

#define RFC_BASE                                                             \
    "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q"     \
    "%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_"    \
    "key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_"     \
    "method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkk"    \
    "k9d7dh3k39sjv7"


/*
 * An RSA-SHA1 known answer computed outside this code base: the base
 * string with Python's standard library, the signature with the openssl
 * command line, for KAT_KEY (openssl genrsa -traditional 1024):
 *
 *   python3 -c 'from urllib.parse import quote
 *   e = lambda s: quote(s, safe="~")
 *   p = {"oauth_consumer_key": "sentry-bot",
 *        "oauth_nonce": "4572616e48616d6d65724c61686176",
 *        "oauth_signature_method": "RSA-SHA1",
 *        "oauth_timestamp": "1700000000", "oauth_token": "req-token",
 *        "oauth_verifier": "callback-token", "oauth_version": "1.0"}
 *   n = "&".join("%s=%s" % kv for kv in sorted((e(k), e(v))
 *                                                for k, v in p.items()))
 *   print("&".join([e("POST"), e("https://jira.example.com/plugins/"
 *                  "servlet/oauth/access-token"), e(n)]), end="")' > base
 *   openssl dgst -sha1 -sign key.pem base | base64 -w0
 */

#define KAT_KEY                                                              \
    "-----BEGIN RSA PRIVATE KEY-----\n"                                      \
    "MIICXAIBAAKBgQDG61JUQTq9i3S/JGgCGuT3d4jHUuTYWsXh92Pv0SvCYFCXKeS8\n"     \
    "Fs770Y6LNbqeDqQS45t2nHjxhAv4RyO/8uxXf1nY/wrw8hYP8ViA6mwDIZ1YSVA6\n"     \
    "p6NrY76mklfGT83sFr45wl7cfwf5I/Gfy3WW1kc6Mb876kHxEGg90Sff+wIDAQAB\n"     \
    "AoGAUGNHST93MqSKELjww3EE+TE4eHz6eKjucWxd2cvpaEsuJnjKtGxvR3sfpQiY\n"     \
    "m0mFaxDKgfuoMMpRYAu32dmdQuPOqTjahaqtvdWoRtxDbfuPQrLgwQtkuOCo6qMN\n"     \
    "/s6dbZE3sGYO/STTsRQDxjSl2nK9qOzF+oBM4wRxpK1cyTECQQD3UTBeTLZKJHFu\n"     \
    "ntSfiLU8kkj8HF8WUah98xro9vM86VNGFfo+J47g1pKY2hMaf2joxpDr4gswy/WK\n"     \
    "PjUxin4TAkEAzeclnK0dlEeQHUV+goWP/+IGl1+42LQ0kvEB7G8LV6xAwMEhuBbB\n"     \
    "npw1h9h/QuVjjsupaeiuLMBZNkKJEqmzeQJAYwl8GQcXKHGXivjHpGsWSH88AtlJ\n"     \
    "qqJgmq8zY38gwI+e7T33y9QDfz3tzo/lfoLu++goOI14db33QbjPjFstSQJAFSAW\n"     \
    "F9EbK8971cT/idyyPYqvKnDDwlga3MilbeCmxUQDEMO/9ec/zkowo9Numyp14Hy8\n"     \
    "0QTyedzySkLhVWzb4QJBAJkhQl2Jo/t0GIB97uukjtctJcfh/KMLnoWa3iq8bk9+\n"     \
    "6gLXtm9uz3/a7bsIS3HYTVFQsiCMWk/vekTKfvmCqXc=\n"                         \
    "-----END RSA PRIVATE KEY-----\n"

#define KAT_URL                                                              \
    "https://jira.example.com/plugins/servlet/oauth/access-token"

#define KAT_BASE                                                             \
    "POST&https%3A%2F%2Fjira.example.com%2Fplugins%2Fservlet%2Foauth%2Fac"   \
    "cess-token&oauth_consumer_key%3Dsentry-bot%26oauth_nonce%3D4572616e4"   \
    "8616d6d65724c61686176%26oauth_signature_method%3DRSA-SHA1%26oauth_ti"   \
    "mestamp%3D1700000000%26oauth_token%3Dreq-token%26oauth_verifier%3Dca"   \
    "llback-token%26oauth_version%3D1.0"

#define KAT_SIGNATURE                                                        \
    "WnOgzNwYoyJS45mXJCcsyjyEy9JnQKt3JZZ1T7vHQjnFBf8NlihMVar3pJ0Gdv+3YcLT"   \
    "vAjAeDGEO55nohKJSj/fSyEYYTjDW/O2LGpOaxELAcKPJYjO08ye6QxvaEjYjoCH3JzH"   \
    "7W5af8vAciBm830SJtIMMY1WEynJbLS1c6I="

#define KAT_HEADER                                                           \
    "OAuth oauth_consumer_key=\"sentry-bot\", oauth_nonce=\"4572616e48616d6"  \
    "d65724c61686176\", oauth_signature=\"WnOgzNwYoyJS45mXJCcsyjyEy9JnQKt3"  \
    "JZZ1T7vHQjnFBf8NlihMVar3pJ0Gdv%2B3YcLTvAjAeDGEO55nohKJSj%2FfSyEYYTjDW"  \
    "%2FO2LGpOaxELAcKPJYjO08ye6QxvaEjYjoCH3JzH7W5af8vAciBm830SJtIMMY1WEynJ"  \
    "bLS1c6I%3D\", oauth_signature_method=\"RSA-SHA1\", oauth_timestamp=\"1"  \
    "700000000\", oauth_token=\"req-token\", oauth_verifier=\"callback-toke"  \
    "n\", oauth_version=\"1.0\""


static char *
encoded(const char *s, size_t len)
{
    char    *out;
    size_t   n;

    out = malloc(3 * len + 1);
    n = jira_oauth1_encode(out, s, len);
    out[n] = '\0';

    return out;
}


static char *
decoded(const char *s)
{
    char    *out;
    size_t   n;

    out = malloc(strlen(s) + 1);
    n = jira_oauth1_decode(out, s, strlen(s));
    out[n] = '\0';

    return out;
}


static void
is_encoded(const char *in, size_t len, const char *want, const char *name)
{
    char  *s;

    s = encoded(in, len);
    is_str(s, want, "encode: %s", name);
    free(s);
}


static void
is_decoded(const char *in, const char *want, const char *name)
{
    char  *s;

    s = decoded(in);
    is_str(s, want, "decode: %s", name);
    free(s);
}


static char *
base(const char *method, const char *url, const jira_oauth1_param_t *params,
    size_t n, const char *form)
{
    return jira_oauth1_base_string(method, url, strlen(url), params, n, form,
                                   form ? strlen(form) : 0);
}


/* want: the encoded URI and parameters, or NULL for a refused URL */

static void
is_base_uri(const char *url, const char *want, const char *name)
{
    char  *b, expect[512];

    b = base("GET", url, NULL, 0, NULL);
    (void) snprintf(expect, sizeof(expect), "GET&%s", want ? want : "");
    is_str(b, want ? expect : NULL, "base string URI: %s", name);
    free(b);
}


static int
verify(EVP_PKEY *key, const char *text, const char *sig_b64)
{
    int            rc, len;
    EVP_MD_CTX    *ctx;
    unsigned char  sig[1024];

    len = EVP_DecodeBlock(sig, (const unsigned char *) sig_b64,
                          (int) strlen(sig_b64));
    if (len < 0) {
        return 0;
    }

    /* EVP_DecodeBlock counts the padding as bytes */
    len -= (sig_b64[strlen(sig_b64) - 1] == '=')
           + (sig_b64[strlen(sig_b64) - 2] == '=');

    ctx = EVP_MD_CTX_new();
    rc = EVP_DigestVerifyInit(ctx, NULL, EVP_sha1(), NULL, key) == 1
         && EVP_DigestVerify(ctx, sig, len, (const unsigned char *) text,
                             strlen(text)) == 1;
    EVP_MD_CTX_free(ctx);

    return rc;
}


static char *
pem_of(EVP_PKEY *key, const EVP_CIPHER *cipher, int pkcs8)
{
    BIO      *bio;
    char     *data, *out;
    long      len;

    bio = BIO_new(BIO_s_mem());

    if (pkcs8) {
        PEM_write_bio_PKCS8PrivateKey(bio, key, cipher, NULL, 0, NULL,
                                      (void *) "secret");

    } else {
        PEM_write_bio_PrivateKey(bio, key, cipher, NULL, 0, NULL,
                                 (void *) "secret");
    }

    len = BIO_get_mem_data(bio, &data);
    out = strndup(data, len);
    BIO_free(bio);

    return out;
}


int
main(void)
{
    int                   ok1;
    char                 *b, *h, *h2, *sig, *pem, *v;
    EVP_PKEY             *key, *other;
    jira_oauth1_t         o;
    jira_oauth1_param_t   rfc[] = {
        P("oauth_consumer_key", "9djdj82h48djs9d2"),
        P("oauth_token", "kkk9d7dh3k39sjv7"),
        P("oauth_signature_method", "HMAC-SHA1"),
        P("oauth_timestamp", "137131201"),
        P("oauth_nonce", "7d8f3e4a"),
    };
    jira_oauth1_param_t   dup[] = {
        P("a", "b"), P("a", "B"), P("a", "a b"), P("A", "z"), P("a~", "1"),
        P("a%", "1"),
    };
    jira_oauth1_param_t   odd[] = {
        P("oauth_callback", "http://nginx.example/cb/?x=1&y=2"),
        P("\xc3\xa9t\xc3\xa9", "\xe2\x82\xac"),
    };

    /* --- percent-encoding ------------------------------------------- */

    is_encoded("AZaz09-._~", 10, "AZaz09-._~", "unreserved unchanged");
    is_encoded(" !*'();:@&=+$,/?#[]%", sizeof(" !*'();:@&=+$,/?#[]%") - 1,
               "%20%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%2F%3F%23%5B%5D%25",
               "reserved, upper-case hex");
    is_encoded("\xc3\xa9\xe2\x82\xac", 5, "%C3%A9%E2%82%AC", "UTF-8 bytes");
    is_encoded("a\0b", 3, "a%00b", "NUL byte");
    is_encoded("", 0, "", "empty");

    is_decoded("a+b%20c", "a b c", "plus and %20 are spaces");
    is_decoded("%41%4a%6b", "AJk", "either case of hex");
    is_decoded("100%", "100%", "a lone % is kept");
    is_decoded("%4", "%4", "a short escape is kept");
    is_decoded("%zz%4g", "%zz%4g", "a bad escape is kept");

    /* --- parse_qsl ------------------------------------------------------ */

    v = jira_oauth1_form_get("a=1&oauth_token=x%2By+z&b", 26, "oauth_token");
    is_str(v, "x+y z", "form value decoded");
    free(v);
    v = jira_oauth1_form_get("oauth_token=&x=1", 16, "oauth_token");
    ok(v == NULL, "a blank value is no value (parse_qsl)");
    v = jira_oauth1_form_get("oauth_tokenx=1", 14, "oauth_token");
    ok(v == NULL, "a longer name is another name");
    v = jira_oauth1_form_get("t=1&t=2", 7, "t");
    is_str(v, "2", "the last occurrence wins");
    free(v);
    v = jira_oauth1_form_get("", 0, "t");
    ok(v == NULL, "empty text");

    /* --- the RFC 5849 example ------------------------------------------ */

    b = base("POST", RFC_URL, rfc, 5, RFC_FORM);
    is_str(b, RFC_BASE, "RFC 5849 3.4.1.1 base string");
    free(b);

    b = base("post", RFC_URL, rfc, 5, RFC_FORM);
    is_str(b, RFC_BASE, "method upper-cased");
    free(b);

    b = base("POST", RFC_URL "#fragment", rfc, 5, RFC_FORM);
    is_str(b, RFC_BASE, "fragment ignored");
    free(b);

    /* --- the base string URI (3.4.1.2) ------------------------------- */

    is_base_uri("HTTP://EXAMPLE.COM:80/r%20v/X?id=123",
                "http%3A%2F%2Fexample.com%2Fr%2520v%2FX&id%3D123",
                "scheme and host lower-cased, port 80 dropped");
    is_base_uri("https://www.example.net:8080/?q=1",
                "https%3A%2F%2Fwww.example.net%3A8080%2F&q%3D1",
                "a non-default port kept");
    is_base_uri("https://example.net:443/Path", "https%3A%2F%2Fexample.net"
                "%2FPath&", "port 443 dropped for https, path case kept");
    is_base_uri("http://example.net:443/", "http%3A%2F%2Fexample.net%3A443"
                "%2F&", "port 443 kept for http");
    is_base_uri("http://example.net", "http%3A%2F%2Fexample.net%2F&",
                "empty path is /");
    is_base_uri("http://example.net:/x", "http%3A%2F%2Fexample.net%2Fx&",
                "an empty port is the default");
    is_base_uri("http://user:pw@example.net/",
                "http%3A%2F%2Fexample.net%2F&", "user information left out");
    is_base_uri("http://[::1]:8080/jira", "http%3A%2F%2F%5B%3A%3A1%5D%3A8080"
                "%2Fjira&", "IPv6 literal");

    b = base("GET", "http://example.net/?b=2&a=1&&c", NULL, 0, NULL);
    is_str(b, "GET&http%3A%2F%2Fexample.net%2F&a%3D1%26b%3D2%26c%3D",
           "query parameters sorted, empty pieces skipped");
    free(b);

    is_base_uri("ftp://example.net/", NULL, "ftp refused");
    is_base_uri("example.net/x", NULL, "relative refused");
    is_base_uri("http:///x", NULL, "no host refused");
    is_base_uri("http://example.net:http/", NULL, "named port refused");
    is_base_uri("http://example.net:0/", NULL, "port 0 refused");
    is_base_uri("http://example.net:65536/", NULL, "port over 65535 refused");
    is_base_uri("http://[::1/", NULL, "unclosed IPv6 literal refused");

    b = jira_oauth1_base_string("", "http://a.b/", 11, NULL, 0, NULL, 0);
    ok(b == NULL, "empty method refused");
    b = jira_oauth1_base_string("GET", "http://a\0b/", 11, NULL, 0, NULL, 0);
    ok(b == NULL, "a NUL in the host refused");

    /* --- parameter normalisation (3.4.1.3.2) ------------------------- */

    b = base("GET", "http://a.example/", dup, 6, NULL);
    is_str(b, "GET&http%3A%2F%2Fa.example%2F&A%3Dz%26a%3DB%26a%3Da%2520b"
           "%26a%3Db%26a%2525%3D1%26a~%3D1",
           "sorted by encoded name, then encoded value, byte order");
    free(b);

    b = base("POST", "http://a.example/cb", odd, 2, "x=%E2%82%AC");
    is_str(b, "POST&http%3A%2F%2Fa.example%2Fcb&%25C3%25A9t%25C3%25A9%3D%25"
           "E2%2582%25AC%26oauth_callback%3Dhttp%253A%252F%252Fnginx.exampl"
           "e%252Fcb%252F%253Fx%253D1%2526y%253D2%26x%3D%25E2%2582%25AC",
           "callback encoded twice, UTF-8 names and values, form decoded"
           " then encoded, \"%%\" sorting first");
    free(b);

    /* --- keys ------------------------------------------------------------- */

    key = jira_oauth1_load_key(KAT_KEY, sizeof(KAT_KEY) - 1);
    ok(key != NULL, "PKCS#1 PEM key loads");

    pem = pem_of(key, NULL, 1);
    other = jira_oauth1_load_key(pem, strlen(pem));
    ok(other != NULL && strstr(pem, "BEGIN PRIVATE KEY") != NULL,
       "PKCS#8 PEM key loads");
    EVP_PKEY_free(other);
    free(pem);

    pem = pem_of(key, EVP_aes_256_cbc(), 0);
    other = jira_oauth1_load_key(pem, strlen(pem));
    ok(other == NULL, "an encrypted key is refused without a prompt");
    free(pem);

    pem = pem_of(key, EVP_aes_256_cbc(), 1);
    other = jira_oauth1_load_key(pem, strlen(pem));
    ok(other == NULL, "an encrypted PKCS#8 key is refused");
    free(pem);

    other = EVP_EC_gen("P-256");
    pem = pem_of(other, NULL, 1);
    EVP_PKEY_free(other);
    other = jira_oauth1_load_key(pem, strlen(pem));
    ok(other == NULL, "an EC key is refused: RSA-SHA1 needs RSA");
    free(pem);

    ok(jira_oauth1_load_key("hot-garbage", 11) == NULL, "garbage refused");
    ok(jira_oauth1_load_key("", 0) == NULL, "empty refused");
    ok(jira_oauth1_load_key(KAT_KEY, 200) == NULL, "a cut key refused");

    /* --- RSA-SHA1 known answer ----------------------------------------- */

    sig = jira_oauth1_sign(key, KAT_BASE, sizeof(KAT_BASE) - 1);
    is_str(sig, KAT_SIGNATURE, "RSA-SHA1 signature of the KAT base string");
    ok(verify(key, KAT_BASE, sig), "it verifies with the public key");
    ok(!verify(key, KAT_BASE "x", sig), "and not for other text");
    free(sig);

    memset(&o, 0, sizeof(jira_oauth1_t));
    o.consumer_key = "sentry-bot";
    o.token = "req-token";
    o.verifier = "callback-token";
    o.nonce = "4572616e48616d6d65724c61686176";
    o.timestamp = 1700000000;

    h = jira_oauth1_authorization(&o, key, "POST", KAT_URL, NULL, 0, &b);
    is_str(b, KAT_BASE, "the base string the header signs");
    is_str(h, KAT_HEADER, "Authorization header, parameters sorted");
    free(h);
    free(b);

    /* the callback is signed when given, the token left out when not */
    memset(&o, 0, sizeof(jira_oauth1_t));
    o.consumer_key = "sentry-bot";
    o.callback = "https://nginx.example/extensions/jira-server/setup/"
                 "callback/";

    h = jira_oauth1_authorization(&o, key, "POST", "https://jira.example.com"
                                  "/plugins/servlet/oauth/request-token",
                                  NULL, 0, &b);
    ok(h != NULL && strstr(h, "oauth_callback=\"https%3A%2F%2Fnginx.example"
                           "%2Fextensions%2Fjira-server%2Fsetup%2Fcallback"
                           "%2F\"") != NULL, "request token: oauth_callback");
    ok(h != NULL && strstr(h, "oauth_token=") == NULL,
       "request token: no oauth_token");
    ok(b != NULL && strstr(b, "oauth_callback%3Dhttps%253A%252F%252Fnginx")
                    != NULL, "oauth_callback is part of the base string");

    /* a fresh nonce and the current time when none are injected */
    h2 = jira_oauth1_authorization(&o, key, "POST", "https://jira.example."
                                   "com/plugins/servlet/oauth/request-token",
                                   NULL, 0, NULL);
    ok1 = h != NULL && h2 != NULL && strcmp(h, h2) != 0;
    ok(ok1, "every header has its own nonce");

    v = h2 ? strstr(h2, "oauth_nonce=\"") : NULL;
    ok(v != NULL && strspn(v + 13, "0123456789abcdef") == 32
       && v[45] == '"', "128-bit hex nonce");

    v = h2 ? strstr(h2, "oauth_timestamp=\"") : NULL;
    ok(v != NULL && llabs(atoll(v + 17) - (long long) time(NULL)) < 5,
       "timestamp is now");

    free(h);
    free(h2);
    free(b);

    h = jira_oauth1_authorization(&o, key, "GET", "ftp://x/", NULL, 0, NULL);
    ok(h == NULL, "no header for a URL that is not http(s)");

    EVP_PKEY_free(key);

    return done_testing();
}
