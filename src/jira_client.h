/*
 * The Jira Server / Data Center calls the module makes: the OAuth 1.0a
 * dance, the current user, the server version and the webhook
 * resources, signed with OAuth 1.0a RSA-SHA1 or a Personal Access Token.
 * Failures are described the way Sentry's ApiError describes them.  No
 * nginx headers here.
 */

#ifndef _JIRA_CLIENT_H_INCLUDED_
#define _JIRA_CLIENT_H_INCLUDED_


#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "jira_http.h"


#define JIRA_CLIENT_OAUTH1        1
#define JIRA_CLIENT_PAT           2

#define JIRA_CLIENT_ERROR_LEN     1024


typedef struct {
    const char          *base_url;       /* no trailing slash */
    jira_http_conf_t     http;
    int                  auth;           /* JIRA_CLIENT_OAUTH1 or _PAT */
    const char          *consumer_key;   /* OAuth 1.0a */
    EVP_PKEY            *key;
    const char          *token;          /* access token, or NULL */
    const char          *pat;            /* Personal Access Token */
} jira_client_t;


typedef struct {
    jira_http_err_e      http_err;       /* JIRA_HTTP_OK: Jira answered */
    long                 status;         /* the answer's HTTP status */

    /*
     * str(ApiError): the body Jira answered with, or "Timed out
     * attempting to reach host: {host}", "Unable to reach host: {host}"
     */
    char                 text[JIRA_CLIENT_ERROR_LEN];

    /* Jira's first message ("messages", "errorMessages", ...), or "" */
    char                 message[JIRA_CLIENT_ERROR_LEN];

    /* the field names of a token answer without the token (for logs) */
    char                 keys[256];
} jira_client_error_t;


/*
 * POST /plugins/servlet/oauth/request-token with oauth_callback.  On
 * success *token and *secret are malloc()ed; either may be NULL when
 * Jira's answer lacks it (err->keys then lists the names it had).
 * Returns 0, or -1 when the call failed (err filled).
 */
int jira_client_request_token(const jira_client_t *c, const char *callback,
    char **token, char **secret, jira_client_error_t *err);

/*
 * POST /plugins/servlet/oauth/access-token signed with the request token
 * and the verifier.  Returns 0 with both malloc()ed, or -1 (err filled;
 * also when the answer lacks either value).
 */
int jira_client_access_token(const jira_client_t *c,
    const char *request_token, const char *verifier, char **token,
    char **secret, jira_client_error_t *err);

/*
 * Any REST call: method and path (with its query, percent-encoded) under
 * base_url, body a JSON text or NULL.  On a 2xx answer returns 0 and,
 * when answer is not NULL, *answer is the parsed body (NULL for an empty
 * body such as 204's; json_decref it).  Returns -1 with err filled
 * otherwise, also when the answer is not JSON.
 */
int jira_client_rest(const jira_client_t *c, const char *method,
    const char *path, const char *body, json_t **answer,
    jira_client_error_t *err);

/* GET /rest/api/2/myself: the user's "name" (malloc()ed) */
int jira_client_myself(const jira_client_t *c, char **name,
    jira_client_error_t *err);

/*
 * GET /rest/api/2/serverInfo: the major version ("versionNumbers"[0], or
 * the leading number of "version"; 0 when neither is readable).
 */
int jira_client_server_major(const jira_client_t *c, int *major,
    jira_client_error_t *err);

/* the webhook resource: /rest/jira-webhook/1.0/webhooks from Jira 10 */
const char *jira_client_webhook_path(int major);

/* GET the registered webhooks: *list is a JSON array (json_decref it) */
int jira_client_webhooks(const jira_client_t *c, int major, json_t **list,
    jira_client_error_t *err);

/*
 * POST a webhook (body is JSON text).  *id (malloc()ed) is the new
 * webhook's id when Jira's answer names it, else NULL.
 */
int jira_client_webhook_create(const jira_client_t *c, int major,
    const char *body, char **id, jira_client_error_t *err);

int jira_client_webhook_update(const jira_client_t *c, int major,
    const char *id, const char *body, jira_client_error_t *err);

int jira_client_webhook_delete(const jira_client_t *c, int major,
    const char *id, jira_client_error_t *err);

/*
 * The id of a webhook as the list returns it: "id" (Jira 10), or the last
 * path segment of "self" (older versions).  Returns buf, or NULL.
 */
const char *jira_client_webhook_id(json_t *hook, char *buf, size_t size);

/*
 * Jira's first error message in a JSON error body: the first value of
 * "messages"[0], else "errorMessages"[0], else the first of "errors",
 * else "message".  Returns 0 and fills buf, or -1 when there is none.
 */
int jira_client_message(const char *body, size_t len, char *buf,
    size_t size);


#endif /* _JIRA_CLIENT_H_INCLUDED_ */
