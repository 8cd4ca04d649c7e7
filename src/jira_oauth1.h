/*
 * OAuth 1.0a (RFC 5849) with RSA-SHA1, the only signature Jira Server's
 * application links accept: the signature base string, the parameter
 * encoding, the signature and the Authorization header.  Pure functions
 * apart from the nonce and the clock, which a caller may inject.  No
 * nginx headers here.
 */

#ifndef _JIRA_OAUTH1_H_INCLUDED_
#define _JIRA_OAUTH1_H_INCLUDED_


#include <stddef.h>

#include <openssl/evp.h>


/* the longest PEM text a private key is accepted in */
#define JIRA_OAUTH1_MAX_PEM       16384


typedef struct {
    const char          *name;
    size_t               name_len;
    const char          *value;
    size_t               value_len;
} jira_oauth1_param_t;


/* what one signed request carries besides the consumer key */
typedef struct {
    const char          *consumer_key;
    const char          *token;        /* NULL on the request-token call */
    const char          *verifier;     /* access-token call only */
    const char          *callback;     /* request-token call only */
    const char          *nonce;        /* NULL: 128 random bits as hex */
    long long            timestamp;    /* 0: the current time */
} jira_oauth1_t;


/*
 * RFC 3986 percent-encoding, every byte outside ALPHA / DIGIT / "-" /
 * "." / "_" / "~" as %XX with upper-case hex.  dst needs 3 * len bytes;
 * returns the bytes written (no NUL).
 */
size_t jira_oauth1_encode(char *dst, const char *src, size_t len);

/*
 * Decode application/x-www-form-urlencoded text ("+" is a space, %XX a
 * byte; a malformed escape is kept as written).  dst needs len bytes;
 * returns the bytes written.
 */
size_t jira_oauth1_decode(char *dst, const char *src, size_t len);

/*
 * The value of name in form-encoded text ("a=1&b=2"), decoded and
 * malloc()ed; NULL when it is absent or blank (as Python's parse_qsl
 * drops blank values) or memory ran out.  The last occurrence wins.
 */
char *jira_oauth1_form_get(const char *s, size_t len, const char *name);

/*
 * The signature base string (RFC 5849 section 3.4.1) of a request:
 * upper-case method, the base string URI (scheme and host in lower
 * case, default port dropped, no query or fragment), and the normalised
 * parameters: params, the URL's query and the form body (form may be
 * NULL), each name and value encoded, sorted by name then value.
 *
 * Returns a malloc()ed NUL-terminated string, or NULL when url is not
 * an absolute http or https URL, the method is empty, or memory ran
 * out.
 */
char *jira_oauth1_base_string(const char *method, const char *url,
    size_t url_len, const jira_oauth1_param_t *params, size_t nparams,
    const char *form, size_t form_len);

/*
 * A PEM private key ("RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY") without
 * a passphrase; NULL when the text is not one, is encrypted, or is not
 * an RSA key.  Release with EVP_PKEY_free().
 */
EVP_PKEY *jira_oauth1_load_key(const char *pem, size_t len);

/* the RSASSA-PKCS1-v1_5 SHA-1 signature of text, base64; malloc()ed */
char *jira_oauth1_sign(EVP_PKEY *key, const char *text, size_t len);

/*
 * The Authorization header value ("OAuth oauth_consumer_key=...") for
 * a request signed with RSA-SHA1.  form is the body when it is
 * application/x-www-form-urlencoded, else NULL.  Returns a malloc()ed
 * string, or NULL on failure.  When base is not NULL it receives the
 * malloc()ed base string that was signed (for tests).
 */
char *jira_oauth1_authorization(const jira_oauth1_t *o, EVP_PKEY *key,
    const char *method, const char *url, const char *form, size_t form_len,
    char **base);


#endif /* _JIRA_OAUTH1_H_INCLUDED_ */
