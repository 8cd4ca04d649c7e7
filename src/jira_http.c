/*
 * libcurl on pool threads.  The handle of a thread lives in thread-
 * specific data so that the pool thread's exit releases it, and is
 * reset before each call so that no option leaks from one call into the
 * next.  CURLOPT_NOSIGNAL keeps libcurl away from SIGALRM, which nginx
 * threads must not receive.
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "jira_http.h"


typedef struct {
    char                *data;
    size_t               len;
    size_t               size;
    size_t               max;
    int                  too_big;
} jira_http_buf_t;


static void jira_http_once(void);
static jira_http_err_e jira_http_perform(CURL *curl,
    const jira_http_conf_t *conf, const jira_http_req_t *req,
    jira_http_res_t *res);
static size_t jira_http_write(char *ptr, size_t size, size_t nmemb,
    void *data);
static struct curl_slist *jira_http_header(struct curl_slist *list,
    const char *name, const char *value, int *failed);
static CURLcode jira_http_setup(CURL *curl, const jira_http_conf_t *conf,
    const jira_http_req_t *req, struct curl_slist *headers,
    jira_http_buf_t *buf);


static pthread_once_t  jira_http_once_ctl = PTHREAD_ONCE_INIT;
static int             jira_http_ready;


static void
jira_http_once(void)
{
    jira_http_ready = (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
}


/*
 * libcurl's global setup is not thread-safe: the worker's main thread
 * runs it at start, before any pool thread makes a call.
 */

int
jira_http_process_init(void)
{
    (void) pthread_once(&jira_http_once_ctl, jira_http_once);

    return jira_http_ready ? 0 : -1;
}


/*
 * One easy handle per call, freed by the calling thread: a handle kept
 * in thread-specific data would be freed by a destructor that may run
 * after nginx has unloaded the module at worker exit.  Setup and the
 * outbound drain make few calls, so reusing connections buys little.
 */

jira_http_err_e
jira_http_request(const jira_http_conf_t *conf, const jira_http_req_t *req,
    jira_http_res_t *res)
{
    CURL             *curl;
    jira_http_err_e   rc;

    (void) jira_http_process_init();

    curl = jira_http_ready ? curl_easy_init() : NULL;

    rc = jira_http_perform(curl, conf, req, res);

    if (curl != NULL) {
        curl_easy_cleanup(curl);
    }

    return rc;
}


static jira_http_err_e
jira_http_perform(CURL *curl, const jira_http_conf_t *conf,
    const jira_http_req_t *req, jira_http_res_t *res)
{
    int                  failed;
    char                *ct;
    CURLcode             rc;
    jira_http_buf_t      buf;
    struct curl_slist   *headers;

    memset(res, 0, sizeof(jira_http_res_t));
    memset(&buf, 0, sizeof(jira_http_buf_t));

    buf.max = conf->max_body ? conf->max_body : JIRA_HTTP_MAX_BODY;

    if (curl == NULL) {
        (void) snprintf(res->error, sizeof(res->error),
                        "could not set up libcurl");
        res->err = JIRA_HTTP_EINTERNAL;
        return res->err;
    }

    failed = 0;
    headers = NULL;

    /* an empty Expect: stops the 100-continue round trip on POST and PUT */
    headers = jira_http_header(headers, "Expect", "", &failed);

    if (req->authorization != NULL) {
        headers = jira_http_header(headers, "Authorization",
                                   req->authorization, &failed);
    }

    if (req->content_type != NULL) {
        headers = jira_http_header(headers, "Content-Type",
                                   req->content_type, &failed);
    }

    if (req->accept != NULL) {
        headers = jira_http_header(headers, "Accept", req->accept, &failed);
    }

    if (failed) {
        curl_slist_free_all(headers);
        (void) snprintf(res->error, sizeof(res->error), "out of memory");
        res->err = JIRA_HTTP_EINTERNAL;
        return res->err;
    }

    rc = jira_http_setup(curl, conf, req, headers, &buf);

    if (rc == CURLE_OK) {
        rc = curl_easy_perform(curl);
    }

    /* the handle keeps pointers to the list until the next reset */
    (void) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);

    if (rc != CURLE_OK) {
        free(buf.data);

        if (rc == CURLE_OPERATION_TIMEDOUT) {
            res->err = JIRA_HTTP_ETIMEOUT;

        } else if (rc == CURLE_WRITE_ERROR && buf.too_big) {
            res->err = JIRA_HTTP_ETOOBIG;

        } else if (rc == CURLE_FILESIZE_EXCEEDED) {
            res->err = JIRA_HTTP_ETOOBIG;

        } else if (rc == CURLE_OUT_OF_MEMORY || rc == CURLE_URL_MALFORMAT
                   || rc == CURLE_UNKNOWN_OPTION
                   || rc == CURLE_BAD_FUNCTION_ARGUMENT
                   || rc == CURLE_FAILED_INIT)
        {
            res->err = JIRA_HTTP_EINTERNAL;

        } else {
            res->err = JIRA_HTTP_ECONNECT;
        }

        (void) snprintf(res->error, sizeof(res->error), "%s",
                        res->err == JIRA_HTTP_ETOOBIG
                        ? "response body too large"
                        : curl_easy_strerror(rc));
        return res->err;
    }

    if (buf.data == NULL) {
        buf.data = malloc(1);
        if (buf.data == NULL) {
            (void) snprintf(res->error, sizeof(res->error), "out of memory");
            res->err = JIRA_HTTP_EINTERNAL;
            return res->err;
        }
    }

    buf.data[buf.len] = '\0';

    res->body = buf.data;
    res->body_len = buf.len;

    (void) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res->status);

    ct = NULL;
    if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK
        && ct != NULL)
    {
        (void) snprintf(res->content_type, sizeof(res->content_type), "%s",
                        ct);
    }

    ct = NULL;
    if (curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &ct) == CURLE_OK
        && ct != NULL)
    {
        (void) snprintf(res->location, sizeof(res->location), "%s", ct);
    }

    res->err = JIRA_HTTP_OK;

    return JIRA_HTTP_OK;
}


static CURLcode
jira_http_setup(CURL *curl, const jira_http_conf_t *conf,
    const jira_http_req_t *req, struct curl_slist *headers,
    jira_http_buf_t *buf)
{
    CURLcode  rc;

#define jira_http_opt(opt, val)                                              \
    rc = curl_easy_setopt(curl, opt, val);                                   \
    if (rc != CURLE_OK) {                                                    \
        return rc;                                                           \
    }

    jira_http_opt(CURLOPT_URL, req->url);
    jira_http_opt(CURLOPT_NOSIGNAL, 1L);
    jira_http_opt(CURLOPT_TIMEOUT_MS, (long) conf->timeout);
    jira_http_opt(CURLOPT_CONNECTTIMEOUT_MS, (long) conf->connect_timeout);

#if LIBCURL_VERSION_NUM >= 0x075500
    jira_http_opt(CURLOPT_PROTOCOLS_STR, "http,https");
    jira_http_opt(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    jira_http_opt(CURLOPT_PROTOCOLS,
                  (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
    jira_http_opt(CURLOPT_REDIR_PROTOCOLS,
                  (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif

    /* signed requests are never replayed to another URL */
    jira_http_opt(CURLOPT_FOLLOWLOCATION, 0L);

    /* "" disables proxies, including the ones the environment names */
    jira_http_opt(CURLOPT_PROXY, conf->proxy ? conf->proxy : "");

    jira_http_opt(CURLOPT_SSL_VERIFYPEER, conf->verify_ssl ? 1L : 0L);
    jira_http_opt(CURLOPT_SSL_VERIFYHOST, conf->verify_ssl ? 2L : 0L);

    if (conf->ca_file != NULL) {
        jira_http_opt(CURLOPT_CAINFO, conf->ca_file);
    }

    jira_http_opt(CURLOPT_USERAGENT, "nginx-jira-sync");
    jira_http_opt(CURLOPT_HTTPHEADER, headers);
    jira_http_opt(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) buf->max);
    jira_http_opt(CURLOPT_WRITEFUNCTION, jira_http_write);
    jira_http_opt(CURLOPT_WRITEDATA, buf);

    if (strcmp(req->method, "GET") == 0) {
        jira_http_opt(CURLOPT_HTTPGET, 1L);

    } else if (strcmp(req->method, "POST") == 0) {
        jira_http_opt(CURLOPT_POST, 1L);
        jira_http_opt(CURLOPT_POSTFIELDSIZE_LARGE,
                      (curl_off_t) (req->body ? req->body_len : 0));
        jira_http_opt(CURLOPT_POSTFIELDS, req->body ? req->body : "");

    } else {
        jira_http_opt(CURLOPT_CUSTOMREQUEST, req->method);

        if (req->body != NULL) {
            jira_http_opt(CURLOPT_POSTFIELDSIZE_LARGE,
                          (curl_off_t) req->body_len);
            jira_http_opt(CURLOPT_POSTFIELDS, req->body);
        }
    }

#undef jira_http_opt

    return CURLE_OK;
}


static struct curl_slist *
jira_http_header(struct curl_slist *list, const char *name,
    const char *value, int *failed)
{
    char               *line;
    size_t              len;
    struct curl_slist  *next;

    if (*failed) {
        return list;
    }

    len = strlen(name) + 2 + strlen(value) + 1;

    line = malloc(len);
    if (line == NULL) {
        *failed = 1;
        return list;
    }

    /* "Name:" alone removes a header libcurl would add */
    if (value[0] == '\0') {
        (void) snprintf(line, len, "%s:", name);

    } else {
        (void) snprintf(line, len, "%s: %s", name, value);
    }

    next = curl_slist_append(list, line);
    free(line);

    if (next == NULL) {
        *failed = 1;
        return list;
    }

    return next;
}


static size_t
jira_http_write(char *ptr, size_t size, size_t nmemb, void *data)
{
    jira_http_buf_t  *buf = data;

    char    *p;
    size_t   n, want;

    n = size * nmemb;

    if (n > buf->max - buf->len) {
        buf->too_big = 1;
        return 0;
    }

    if (buf->len + n + 1 > buf->size) {
        want = buf->size ? buf->size : 4096;

        while (want < buf->len + n + 1) {
            want *= 2;
        }

        p = realloc(buf->data, want);
        if (p == NULL) {
            return 0;
        }

        buf->data = p;
        buf->size = want;
    }

    memcpy(buf->data + buf->len, ptr, n);
    buf->len += n;

    return n;
}


void
jira_http_res_free(jira_http_res_t *res)
{
    free(res->body);
    res->body = NULL;
    res->body_len = 0;
}


int
jira_http_netloc(const char *url, char *out, size_t size)
{
    size_t       len;
    const char  *p, *end, *at;

    if (strncasecmp(url, "https://", 8) == 0) {
        p = url + 8;

    } else if (strncasecmp(url, "http://", 7) == 0) {
        p = url + 7;

    } else {
        return -1;
    }

    end = p + strcspn(p, "/?#");

    /* credentials in the authority are never part of a host name */
    for (at = end; at > p; at--) {
        if (at[-1] == '@') {
            p = at;
            break;
        }
    }

    len = end - p;

    if (len == 0 || len >= size) {
        return -1;
    }

    memcpy(out, p, len);
    out[len] = '\0';

    return (int) len;
}
