/*
 * Outgoing HTTP for pool threads: libcurl with one easy handle per
 * thread (kept for connection reuse, reset before every call), hard
 * timeouts, http and https only, a proxy only when configured (the
 * environment is never read) and a cap on the response size.  No nginx
 * headers here.
 */

#ifndef _JIRA_HTTP_H_INCLUDED_
#define _JIRA_HTTP_H_INCLUDED_


#include <stddef.h>


/* Jira's answers the module reads are small; anything larger is refused */
#define JIRA_HTTP_MAX_BODY        (1024 * 1024)


typedef enum {
    JIRA_HTTP_OK = 0,        /* a response arrived (any status) */
    JIRA_HTTP_ETIMEOUT,      /* connect or total timeout */
    JIRA_HTTP_ECONNECT,      /* DNS, connect, TLS or transfer failure */
    JIRA_HTTP_ETOOBIG,       /* the response exceeded max_body */
    JIRA_HTTP_EINTERNAL      /* out of memory, bad URL, libcurl setup */
} jira_http_err_e;


typedef struct {
    int                  timeout;            /* ms, whole call */
    int                  connect_timeout;    /* ms */
    int                  verify_ssl;
    const char          *ca_file;            /* NULL: system CAs */
    const char          *proxy;              /* NULL: none */
    size_t               max_body;           /* 0: JIRA_HTTP_MAX_BODY */
} jira_http_conf_t;


typedef struct {
    const char          *method;             /* "GET", "POST", "PUT", ... */
    const char          *url;
    const char          *authorization;      /* header value, or NULL */
    const char          *content_type;       /* of body, or NULL */
    const char          *accept;             /* NULL: no Accept header */
    const char          *body;               /* NULL: none */
    size_t               body_len;
} jira_http_req_t;


typedef struct {
    jira_http_err_e      err;
    long                 status;             /* 0 without a response */
    char                *body;               /* malloc()ed, NUL-ended */
    size_t               body_len;
    char                 content_type[128];
    char                 location[512];      /* of a redirect, not followed */
    char                 error[256];         /* libcurl's reason */
} jira_http_res_t;


/* once per process, in the main thread before pool threads call out */
int jira_http_process_init(void);

/*
 * Run one request on the calling thread.  Returns res->err; res->body is
 * set (possibly empty) whenever a response arrived and must be released
 * with jira_http_res_free().
 */
jira_http_err_e jira_http_request(const jira_http_conf_t *conf,
    const jira_http_req_t *req, jira_http_res_t *res);

void jira_http_res_free(jira_http_res_t *res);

/*
 * The authority ("host[:port]") of an http or https URL as written, into
 * out; returns its length, or -1 when url is not such a URL or out is
 * too small.  Error texts name the host this way, as Sentry does.
 */
int jira_http_netloc(const char *url, char *out, size_t size);


#endif /* _JIRA_HTTP_H_INCLUDED_ */
