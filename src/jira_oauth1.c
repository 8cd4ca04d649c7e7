/*
 * OAuth 1.0a signing (RFC 5849 sections 3.4 and 3.5.1) with OpenSSL.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "jira_oauth1.h"


#define JIRA_OAUTH1_MAX_HEADER_PARAMS  8


typedef struct {
    char                *name;        /* encoded, NUL-terminated */
    char                *value;
} jira_oauth1_pair_t;


typedef struct {
    jira_oauth1_pair_t  *pairs;
    size_t               n;
    size_t               size;
} jira_oauth1_list_t;


static int jira_oauth1_unreserved(unsigned char c);
static int jira_oauth1_hex(unsigned char c);
static char *jira_oauth1_encoded(const char *s, size_t len);
static int jira_oauth1_add(jira_oauth1_list_t *list, const char *name,
    size_t name_len, const char *value, size_t value_len, int decode);
static int jira_oauth1_add_form(jira_oauth1_list_t *list, const char *s,
    size_t len);
static int jira_oauth1_cmp(const void *a, const void *b);
static void jira_oauth1_list_free(jira_oauth1_list_t *list);
static char *jira_oauth1_base_uri(const char *url, size_t url_len,
    const char **query, size_t *query_len);
static int jira_oauth1_no_passphrase(char *buf, int size, int rwflag,
    void *data);


static int
jira_oauth1_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9')
           || c == '-' || c == '.' || c == '_' || c == '~';
}


static int
jira_oauth1_hex(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


size_t
jira_oauth1_encode(char *dst, const char *src, size_t len)
{
    char           *p;
    size_t          i;
    unsigned char   c;

    static const char  hex[] = "0123456789ABCDEF";

    p = dst;

    for (i = 0; i < len; i++) {
        c = (unsigned char) src[i];

        if (jira_oauth1_unreserved(c)) {
            *p++ = (char) c;

        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xf];
        }
    }

    return p - dst;
}


size_t
jira_oauth1_decode(char *dst, const char *src, size_t len)
{
    int      hi, lo;
    char    *p;
    size_t   i;

    p = dst;

    for (i = 0; i < len; i++) {
        if (src[i] == '+') {
            *p++ = ' ';
            continue;
        }

        if (src[i] == '%' && i + 2 < len) {
            hi = jira_oauth1_hex((unsigned char) src[i + 1]);
            lo = jira_oauth1_hex((unsigned char) src[i + 2]);

            if (hi >= 0 && lo >= 0) {
                *p++ = (char) (hi << 4 | lo);
                i += 2;
                continue;
            }
        }

        *p++ = src[i];
    }

    return p - dst;
}


char *
jira_oauth1_form_get(const char *s, size_t len, const char *name)
{
    char        *v, *value;
    size_t       nlen, n;
    const char  *p, *end, *amp, *eq;

    value = NULL;
    nlen = strlen(name);
    p = s;
    end = s + len;

    while (p < end) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        eq = memchr(p, '=', amp - p);

        if (eq != NULL && (size_t) (eq - p) == nlen
            && memcmp(p, name, nlen) == 0 && amp > eq + 1)
        {
            v = malloc(amp - eq);
            if (v == NULL) {
                free(value);
                return NULL;
            }

            n = jira_oauth1_decode(v, eq + 1, amp - eq - 1);
            v[n] = '\0';

            free(value);
            value = v;
        }

        p = amp + 1;
    }

    return value;
}


static char *
jira_oauth1_encoded(const char *s, size_t len)
{
    char    *out;
    size_t   n;

    if (len > ((size_t) -1 - 1) / 3) {
        return NULL;
    }

    out = malloc(3 * len + 1);
    if (out == NULL) {
        return NULL;
    }

    n = jira_oauth1_encode(out, s, len);
    out[n] = '\0';

    return out;
}


static int
jira_oauth1_add(jira_oauth1_list_t *list, const char *name, size_t name_len,
    const char *value, size_t value_len, int decode)
{
    char                *dn, *dv;
    size_t               size;
    jira_oauth1_pair_t  *pairs, *pair;

    if (list->n == list->size) {
        size = list->size ? 2 * list->size : 16;

        pairs = realloc(list->pairs, size * sizeof(jira_oauth1_pair_t));
        if (pairs == NULL) {
            return -1;
        }

        list->pairs = pairs;
        list->size = size;
    }

    dn = NULL;
    dv = NULL;

    if (decode) {
        dn = malloc(name_len + 1);
        dv = malloc(value_len + 1);

        if (dn == NULL || dv == NULL) {
            free(dn);
            free(dv);
            return -1;
        }

        name_len = jira_oauth1_decode(dn, name, name_len);
        value_len = jira_oauth1_decode(dv, value, value_len);
        name = dn;
        value = dv;
    }

    pair = &list->pairs[list->n];
    pair->name = jira_oauth1_encoded(name, name_len);
    pair->value = jira_oauth1_encoded(value, value_len);

    free(dn);
    free(dv);

    if (pair->name == NULL || pair->value == NULL) {
        free(pair->name);
        free(pair->value);
        return -1;
    }

    list->n++;

    return 0;
}


/* "a=1&b&c=" as in a query or a form body: empty pieces are skipped */

static int
jira_oauth1_add_form(jira_oauth1_list_t *list, const char *s, size_t len)
{
    const char  *p, *end, *amp, *eq;

    p = s;
    end = s + len;

    while (p < end) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        if (amp > p) {
            eq = memchr(p, '=', amp - p);

            if (eq == NULL) {
                if (jira_oauth1_add(list, p, amp - p, "", 0, 1) != 0) {
                    return -1;
                }

            } else if (jira_oauth1_add(list, p, eq - p, eq + 1,
                                       amp - eq - 1, 1) != 0)
            {
                return -1;
            }
        }

        p = amp + 1;
    }

    return 0;
}


static int
jira_oauth1_cmp(const void *a, const void *b)
{
    int                        rc;
    const jira_oauth1_pair_t  *pa = a;
    const jira_oauth1_pair_t  *pb = b;

    rc = strcmp(pa->name, pb->name);

    return rc ? rc : strcmp(pa->value, pb->value);
}


static void
jira_oauth1_list_free(jira_oauth1_list_t *list)
{
    size_t  i;

    for (i = 0; i < list->n; i++) {
        free(list->pairs[i].name);
        free(list->pairs[i].value);
    }

    free(list->pairs);
    list->pairs = NULL;
    list->n = 0;
    list->size = 0;
}


/*
 * "scheme://host[:port]/path" as section 3.4.1.2 wants it, and where the
 * query is.  NULL for anything but an absolute http or https URL with a
 * host and a numeric port.
 */

static char *
jira_oauth1_base_uri(const char *url, size_t url_len, const char **query,
    size_t *query_len)
{
    int          https;
    char        *out, *p;
    size_t       i, host_len, path_len;
    unsigned     port;
    const char  *s, *end, *auth, *auth_end, *host, *port_s, *path, *q;

    end = url + url_len;

    if (url_len >= 8 && strncasecmp(url, "https://", 8) == 0) {
        https = 1;
        auth = url + 8;

    } else if (url_len >= 7 && strncasecmp(url, "http://", 7) == 0) {
        https = 0;
        auth = url + 7;

    } else {
        return NULL;
    }

    for (auth_end = auth; auth_end < end; auth_end++) {
        if (*auth_end == '/' || *auth_end == '?' || *auth_end == '#') {
            break;
        }
    }

    /* user information is not part of the base string URI */
    host = auth;
    for (s = auth_end; s > auth; s--) {
        if (s[-1] == '@') {
            host = s;
            break;
        }
    }

    port_s = NULL;

    if (host < auth_end && *host == '[') {
        s = memchr(host, ']', auth_end - host);
        if (s == NULL) {
            return NULL;
        }

        s++;
        host_len = s - host;

        if (s < auth_end) {
            if (*s != ':') {
                return NULL;
            }

            port_s = s + 1;
        }

    } else {
        s = NULL;
        for (q = auth_end; q > host; q--) {
            if (q[-1] == ':') {
                s = q - 1;
                break;
            }
        }

        if (s != NULL) {
            host_len = s - host;
            port_s = s + 1;

        } else {
            host_len = auth_end - host;
        }
    }

    if (host_len == 0) {
        return NULL;
    }

    port = 0;

    if (port_s != NULL) {
        if (port_s == auth_end) {
            port_s = NULL;              /* "host:" means the default */

        } else {
            for (s = port_s; s < auth_end; s++) {
                if (*s < '0' || *s > '9' || port > 65535) {
                    return NULL;
                }

                port = port * 10 + (unsigned) (*s - '0');
            }

            if (port == 0 || port > 65535) {
                return NULL;
            }

            if (port == (https ? 443u : 80u)) {
                port_s = NULL;
            }
        }
    }

    path = auth_end;
    for (q = path; q < end && *q != '?' && *q != '#'; q++) {
        /* void */
    }

    path_len = q - path;

    *query = NULL;
    *query_len = 0;

    if (q < end && *q == '?') {
        *query = q + 1;

        for (s = q + 1; s < end && *s != '#'; s++) {
            /* void */
        }

        *query_len = s - (q + 1);
    }

    out = malloc(sizeof("https://") + host_len + sizeof(":65535")
                 + (path_len ? path_len : 1) + 1);
    if (out == NULL) {
        return NULL;
    }

    p = out;
    p += sprintf(p, "%s", https ? "https://" : "http://");

    for (i = 0; i < host_len; i++) {
        *p++ = (host[i] >= 'A' && host[i] <= 'Z') ? host[i] | 0x20 : host[i];
    }

    if (port_s != NULL) {
        p += sprintf(p, ":%u", port);
    }

    if (path_len) {
        memcpy(p, path, path_len);
        p += path_len;

    } else {
        *p++ = '/';
    }

    *p = '\0';

    /* the URI is encoded as a whole: it must not hide a NUL */
    if ((size_t) (p - out) != strlen(out)) {
        free(out);
        return NULL;
    }

    return out;
}


char *
jira_oauth1_base_string(const char *method, const char *url, size_t url_len,
    const jira_oauth1_param_t *params, size_t nparams, const char *form,
    size_t form_len)
{
    char                *uri, *m, *joined, *out, *p;
    size_t               i, mlen, ulen, jlen, len;
    const char          *query;
    size_t               query_len;
    jira_oauth1_list_t   list;

    mlen = strlen(method);
    if (mlen == 0) {
        return NULL;
    }

    uri = jira_oauth1_base_uri(url, url_len, &query, &query_len);
    if (uri == NULL) {
        return NULL;
    }

    memset(&list, 0, sizeof(jira_oauth1_list_t));
    joined = NULL;
    out = NULL;

    m = malloc(mlen + 1);
    if (m == NULL) {
        goto done;
    }

    for (i = 0; i < mlen; i++) {
        m[i] = (method[i] >= 'a' && method[i] <= 'z') ? method[i] & ~0x20
                                                       : method[i];
    }

    m[mlen] = '\0';

    for (i = 0; i < nparams; i++) {
        if (jira_oauth1_add(&list, params[i].name, params[i].name_len,
                            params[i].value, params[i].value_len, 0)
            != 0)
        {
            goto done;
        }
    }

    if (query != NULL && jira_oauth1_add_form(&list, query, query_len) != 0) {
        goto done;
    }

    if (form != NULL && jira_oauth1_add_form(&list, form, form_len) != 0) {
        goto done;
    }

    if (list.n > 1) {
        qsort(list.pairs, list.n, sizeof(jira_oauth1_pair_t),
              jira_oauth1_cmp);
    }

    jlen = 0;
    for (i = 0; i < list.n; i++) {
        jlen += strlen(list.pairs[i].name) + 1
                + strlen(list.pairs[i].value) + 1;
    }

    joined = malloc(jlen + 1);
    if (joined == NULL) {
        goto done;
    }

    p = joined;

    for (i = 0; i < list.n; i++) {
        if (i) {
            *p++ = '&';
        }

        len = strlen(list.pairs[i].name);
        memcpy(p, list.pairs[i].name, len);
        p += len;
        *p++ = '=';

        len = strlen(list.pairs[i].value);
        memcpy(p, list.pairs[i].value, len);
        p += len;
    }

    jlen = p - joined;
    ulen = strlen(uri);

    out = malloc(3 * mlen + 1 + 3 * ulen + 1 + 3 * jlen + 1);
    if (out == NULL) {
        goto done;
    }

    p = out;
    p += jira_oauth1_encode(p, m, mlen);
    *p++ = '&';
    p += jira_oauth1_encode(p, uri, ulen);
    *p++ = '&';
    p += jira_oauth1_encode(p, joined, jlen);
    *p = '\0';

done:

    free(m);
    free(uri);
    free(joined);
    jira_oauth1_list_free(&list);

    return out;
}


static int
jira_oauth1_no_passphrase(char *buf, int size, int rwflag, void *data)
{
    /* an encrypted key is refused, never prompted for */
    return 0;
}


EVP_PKEY *
jira_oauth1_load_key(const char *pem, size_t len)
{
    BIO       *bio;
    EVP_PKEY  *key;

    if (pem == NULL || len == 0 || len > JIRA_OAUTH1_MAX_PEM) {
        return NULL;
    }

    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL) {
        return NULL;
    }

    key = PEM_read_bio_PrivateKey(bio, NULL, jira_oauth1_no_passphrase,
                                  NULL);
    BIO_free(bio);

    if (key != NULL && EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
        EVP_PKEY_free(key);
        key = NULL;
    }

    /* leave no failure behind for the next OpenSSL call of this thread */
    ERR_clear_error();

    return key;
}


char *
jira_oauth1_sign(EVP_PKEY *key, const char *text, size_t len)
{
    char           *out;
    size_t          siglen;
    EVP_MD_CTX     *ctx;
    unsigned char  *sig;

    out = NULL;
    sig = NULL;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return NULL;
    }

    if (EVP_DigestSignInit(ctx, NULL, EVP_sha1(), NULL, key) != 1
        || EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *) text,
                          len) != 1)
    {
        goto done;
    }

    sig = malloc(siglen);
    if (sig == NULL) {
        goto done;
    }

    if (EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *) text, len)
        != 1)
    {
        goto done;
    }

    out = malloc(4 * ((siglen + 2) / 3) + 1);
    if (out == NULL) {
        goto done;
    }

    (void) EVP_EncodeBlock((unsigned char *) out, sig, (int) siglen);

done:

    free(sig);
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();

    return out;
}


char *
jira_oauth1_authorization(const jira_oauth1_t *o, EVP_PKEY *key,
    const char *method, const char *url, const char *form, size_t form_len,
    char **base)
{
    int                   i, j, n;
    char                  nonce[33], timestamp[32], *b, *sig, *out, *p;
    size_t                len;
    unsigned char         rnd[16];
    jira_oauth1_param_t   params[JIRA_OAUTH1_MAX_HEADER_PARAMS];
    jira_oauth1_param_t   tmp;

    static const char  hex[] = "0123456789abcdef";

    if (base != NULL) {
        *base = NULL;
    }

    if (o->nonce == NULL) {
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            return NULL;
        }

        for (i = 0; i < (int) sizeof(rnd); i++) {
            nonce[2 * i] = hex[rnd[i] >> 4];
            nonce[2 * i + 1] = hex[rnd[i] & 0xf];
        }

        nonce[32] = '\0';

    } else {
        (void) snprintf(nonce, sizeof(nonce), "%s", o->nonce);
    }

    (void) snprintf(timestamp, sizeof(timestamp), "%lld",
                    o->timestamp ? o->timestamp : (long long) time(NULL));

    n = 0;

#define jira_oauth1_param(k, v)                                              \
    params[n].name = k;                                                      \
    params[n].name_len = sizeof(k) - 1;                                      \
    params[n].value = v;                                                     \
    params[n].value_len = strlen(v);                                         \
    n++

    jira_oauth1_param("oauth_consumer_key", o->consumer_key);
    jira_oauth1_param("oauth_nonce", nonce);
    jira_oauth1_param("oauth_signature_method", "RSA-SHA1");
    jira_oauth1_param("oauth_timestamp", timestamp);
    jira_oauth1_param("oauth_version", "1.0");

    if (o->token != NULL) {
        jira_oauth1_param("oauth_token", o->token);
    }

    if (o->verifier != NULL) {
        jira_oauth1_param("oauth_verifier", o->verifier);
    }

    if (o->callback != NULL) {
        jira_oauth1_param("oauth_callback", o->callback);
    }

#undef jira_oauth1_param

    b = jira_oauth1_base_string(method, url, strlen(url), params, n, form,
                                form ? form_len : 0);
    if (b == NULL) {
        return NULL;
    }

    sig = jira_oauth1_sign(key, b, strlen(b));

    if (base != NULL) {
        *base = b;

    } else {
        free(b);
    }

    if (sig == NULL) {
        if (base != NULL) {
            free(*base);
            *base = NULL;
        }

        return NULL;
    }

    /* the header lists the parameters sorted, the signature among them */
    params[n].name = "oauth_signature";
    params[n].name_len = sizeof("oauth_signature") - 1;
    params[n].value = sig;
    params[n].value_len = strlen(sig);
    n++;

    for (i = 1; i < n; i++) {
        for (j = i; j > 0 && strcmp(params[j - 1].name, params[j].name) > 0;
             j--)
        {
            tmp = params[j];
            params[j] = params[j - 1];
            params[j - 1] = tmp;
        }
    }

    len = sizeof("OAuth ");
    for (i = 0; i < n; i++) {
        len += params[i].name_len + sizeof("=\"\", ")
               + 3 * params[i].value_len;
    }

    out = malloc(len);
    if (out == NULL) {
        free(sig);
        if (base != NULL) {
            free(*base);
            *base = NULL;
        }

        return NULL;
    }

    p = out;
    p += sprintf(p, "OAuth ");

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
            *p++ = ' ';
        }

        memcpy(p, params[i].name, params[i].name_len);
        p += params[i].name_len;
        *p++ = '=';
        *p++ = '"';
        p += jira_oauth1_encode(p, params[i].value, params[i].value_len);
        *p++ = '"';
    }

    *p = '\0';

    free(sig);

    return out;
}
