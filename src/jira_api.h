/*
 * The /api/0/ endpoints that run on a pool thread: one function per
 * endpoint takes plain input and fills a plain answer; the nginx glue
 * reads the body, posts the call and sends what it returns.  No nginx
 * headers here.
 */

#ifndef _JIRA_API_H_INCLUDED_
#define _JIRA_API_H_INCLUDED_


#include <stddef.h>
#include <time.h>

#include "jira_auth.h"
#include "jira_log.h"
#include "jira_store.h"
#include "jira_sync.h"


#define JIRA_API_MAX_PARAMS  6

#define JIRA_METHOD_GET      1
#define JIRA_METHOD_POST     2
#define JIRA_METHOD_PUT      3
#define JIRA_METHOD_DELETE   4


/* settings from nginx.conf the endpoints need, filled at startup */
typedef struct {
    const jira_store_conf_t  *store;
    int                       snowflake;          /* jira_sync_snowflake */
    int                       snowflake_region;   /* 0..4095 */
    const char               *public_url;         /* no trailing slash,
                                                     or NULL */
    const unsigned char      *secret_key;         /* 32 bytes, or NULL */
    int                       jira_timeout;       /* ms, whole call */
    int                       jira_connect_timeout;   /* ms */
    const char               *jira_ca_file;       /* NULL: system CAs */
    const char               *jira_proxy;         /* NULL: no proxy */
    int                       pipeline_ttl;       /* s */
} jira_api_conf_t;


typedef struct {
    const jira_api_conf_t    *conf;
    int                       method;
    const char               *token;              /* bearer, or NULL */
    size_t                    token_len;
    size_t                    nparams;            /* path segments */
    const char               *params[JIRA_API_MAX_PARAMS];
    const char               *query;              /* raw args, or NULL */
    const char               *body;
    size_t                    body_len;
    time_t                    now;
} jira_api_in_t;


typedef struct {
    int                       status;
    char                     *body;               /* malloc()ed, or NULL */
    size_t                    body_len;
    const char               *content_type;       /* default JSON */
    const char               *location;           /* Location header */
    char                      location_buf[512];
    jira_err_e                err;                /* for 5xx */
    char                      error[512];
    jira_log_t                log;
    jira_sync_changes_t       changes;            /* cache entries to drop */
    char                      integration_changed[256];
                                                  /* its cached secret too */
} jira_api_out_t;


typedef void (*jira_api_fn)(const jira_api_in_t *in, jira_api_out_t *out);


/*
 * A route: path segments after "/api/0/" ("*" matches one segment, whose
 * text becomes the next entry of in->params), the methods it takes (an
 * OR of 1 << JIRA_METHOD_*) and the function that answers.
 */
typedef struct {
    const char               *pattern;
    unsigned                  methods;
    jira_api_fn               fn;
} jira_api_route_t;


#define JIRA_ALLOW(m)        (1u << (m))


/* every route; src/jira_api_routes.c */
extern const jira_api_route_t  jira_api_routes[];

/* the route for the segments segs[0..n), or NULL */
const jira_api_route_t *jira_api_route(const char *const *segs,
    const size_t *lens, size_t n);


/* the organization and user a checked token acts for */
typedef struct {
    long long                 user_id;
    long long                 org_id;
} jira_api_actor_t;


/*
 * Check the bearer token for scope in the organization with this slug:
 * 401 without a valid token, 403 without the scope, 404 for an unknown
 * organization, 403 for a user who is not a member.  Returns 0 when the
 * caller may go on; otherwise out is filled (status and detail, or a
 * database error) and the caller returns.
 */
int jira_api_auth(jira_store_t *st, const jira_api_in_t *in,
    const char *scope, const char *org_slug, jira_api_actor_t *actor,
    jira_api_out_t *out);

/* the calling thread's store, or out filled with the error */
jira_store_t *jira_api_store(const jira_api_in_t *in, jira_api_out_t *out);

/* answer {"detail": text} */
void jira_api_detail(jira_api_out_t *out, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__ ((format (printf, 3, 4)))
#endif
    ;

/* answer a jansson value (json_t *), which is released */
void jira_api_json(jira_api_out_t *out, int status, void *json);

/* one step of an endpoint inside a transaction: see jira_api_txn() */
typedef jira_err_e (*jira_api_txn_pt)(jira_store_t *st, void *ctx,
    jira_api_out_t *out);

/*
 * Run txn in a transaction, again after a deadlock or serialization
 * failure.  txn answers 2xx to commit, or 4xx to roll back and answer
 * that; both return JIRA_OK.  Any other failure returns the error with
 * the answer and the cache changes cleared, for the caller to report.
 */
jira_err_e jira_api_txn(jira_store_t *st, jira_api_txn_pt txn, void *ctx,
    jira_api_out_t *out);

/* DRF's BooleanField: a JSON value as 0 or 1 in *value, or -1 */
int jira_api_bool(void *json, int *value);

/* Python's name of a JSON value's type, as DRF's messages show it */
const char *jira_api_python_type(void *json);

/* add message to the DRF-style list of field (json_t * errors object);
   0, or -1 out of memory */
int jira_api_field_error(void *errors, const char *field,
    const char *message);

/* a database failure: 503 or 500, with the store's error text */
void jira_api_fail(jira_api_out_t *out, jira_err_e err);


#endif /* _JIRA_API_H_INCLUDED_ */
