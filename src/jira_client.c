/*
 * Jira Server REST and OAuth calls on a pool thread.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jira_client.h"
#include "jira_oauth1.h"


#define JIRA_CLIENT_URL_LEN       2304


/* what one call signs beyond the client's access token */
typedef struct {
    const char          *token;       /* overrides c->token when set */
    const char          *verifier;
    const char          *callback;
} jira_client_sign_t;


static int jira_client_call(const jira_client_t *c, const char *method,
    const char *path, const char *body, const jira_client_sign_t *sign,
    jira_http_res_t *res, jira_client_error_t *err);
static void jira_client_api_error(const char *url, jira_http_res_t *res,
    jira_client_error_t *err);
static int jira_client_token(const jira_client_t *c, const char *path,
    const jira_client_sign_t *sign, char **token, char **secret,
    jira_client_error_t *err);
static void jira_client_form_keys(const char *body, size_t len, char *keys,
    size_t size);
static json_t *jira_client_json(jira_http_res_t *res,
    jira_client_error_t *err);
static int jira_client_webhook_item(const jira_client_t *c, int major,
    const char *method, const char *id, const char *body,
    jira_client_error_t *err);


static int
jira_client_call(const jira_client_t *c, const char *method,
    const char *path, const char *body, const jira_client_sign_t *sign,
    jira_http_res_t *res, jira_client_error_t *err)
{
    int               n;
    char              url[JIRA_CLIENT_URL_LEN], *auth;
    jira_oauth1_t     o;
    jira_http_req_t   req;
    jira_http_err_e   rc;

    memset(err, 0, sizeof(jira_client_error_t));

    n = snprintf(url, sizeof(url), "%s%s", c->base_url, path);
    if (n < 0 || (size_t) n >= sizeof(url)) {
        err->http_err = JIRA_HTTP_EINTERNAL;
        (void) snprintf(err->text, sizeof(err->text), "URL too long");
        return -1;
    }

    auth = NULL;

    if (c->auth == JIRA_CLIENT_PAT) {
        auth = malloc(sizeof("Bearer ") + strlen(c->pat));
        if (auth != NULL) {
            (void) sprintf(auth, "Bearer %s", c->pat);
        }

    } else {
        memset(&o, 0, sizeof(jira_oauth1_t));
        o.consumer_key = c->consumer_key;
        o.token = (sign && sign->token) ? sign->token : c->token;
        o.verifier = sign ? sign->verifier : NULL;
        o.callback = sign ? sign->callback : NULL;

        auth = jira_oauth1_authorization(&o, c->key, method, url, NULL, 0,
                                         NULL);
    }

    if (auth == NULL) {
        err->http_err = JIRA_HTTP_EINTERNAL;
        (void) snprintf(err->text, sizeof(err->text),
                        "could not sign the request");
        return -1;
    }

    memset(&req, 0, sizeof(jira_http_req_t));
    req.method = method;
    req.url = url;
    req.authorization = auth;
    req.accept = "application/json";

    if (body != NULL) {
        req.body = body;
        req.body_len = strlen(body);
        req.content_type = "application/json";
    }

    rc = jira_http_request(&c->http, &req, res);

    /* the header carries the PAT or a signature: wipe it */
    memset(auth, 0, strlen(auth));
    free(auth);

    if (rc != JIRA_HTTP_OK || res->status < 200 || res->status > 299) {
        jira_client_api_error(url, res, err);
        jira_http_res_free(res);
        return -1;
    }

    return 0;
}


/* ApiError.from_response, ApiTimeoutError and ApiHostError */

static void
jira_client_api_error(const char *url, jira_http_res_t *res,
    jira_client_error_t *err)
{
    char  host[256];

    err->http_err = res->err;
    err->status = res->status;

    if (jira_http_netloc(url, host, sizeof(host)) < 0) {
        (void) snprintf(host, sizeof(host), "[invalid URL]");
    }

    switch (res->err) {

    case JIRA_HTTP_OK:
        if (res->status >= 300 && res->status <= 399 && res->location[0]) {
            /* signed calls are not replayed elsewhere: say where to go */
            (void) snprintf(err->text, sizeof(err->text),
                            "Jira answered %ld, redirecting to %s: use"
                            " that address as the Jira URL", res->status,
                            res->location);
            break;
        }

        (void) snprintf(err->text, sizeof(err->text), "%.*s",
                        (int) (res->body_len < sizeof(err->text)
                               ? res->body_len : sizeof(err->text) - 1),
                        res->body ? res->body : "");

        if (res->body != NULL
            && jira_client_message(res->body, res->body_len, err->message,
                                   sizeof(err->message)) != 0)
        {
            err->message[0] = '\0';
        }

        break;

    case JIRA_HTTP_ETIMEOUT:
        (void) snprintf(err->text, sizeof(err->text),
                        "Timed out attempting to reach host: %s", host);
        break;

    case JIRA_HTTP_ECONNECT:
        (void) snprintf(err->text, sizeof(err->text),
                        "Unable to reach host: %s", host);
        break;

    case JIRA_HTTP_ETOOBIG:
        (void) snprintf(err->text, sizeof(err->text),
                        "The answer of host %s is too large", host);
        break;

    default:
        (void) snprintf(err->text, sizeof(err->text), "%s", res->error);
    }
}


int
jira_client_message(const char *body, size_t len, char *buf, size_t size)
{
    int          rc;
    json_t      *json, *v, *first;
    const char  *key;

    json = json_loadb(body, len, 0, NULL);
    if (json == NULL) {
        return -1;
    }

    rc = -1;
    first = NULL;

    if (!json_is_object(json)) {
        goto done;
    }

    /* {"messages": [{"key": "text"}]}: Sentry takes the first value */
    v = json_array_get(json_object_get(json, "messages"), 0);

    if (json_is_object(v)) {
        json_object_foreach(v, key, first) {
            break;
        }

    } else if (json_is_string(v)) {
        first = v;
    }

    if (!json_is_string(first)) {
        first = json_array_get(json_object_get(json, "errorMessages"), 0);
    }

    if (!json_is_string(first)) {
        first = NULL;
        v = json_object_get(json, "errors");

        if (json_is_object(v)) {
            json_object_foreach(v, key, first) {
                break;
            }
        }
    }

    if (!json_is_string(first)) {
        first = json_object_get(json, "message");
    }

    if (json_is_string(first)) {
        (void) snprintf(buf, size, "%s", json_string_value(first));
        rc = 0;
    }

done:

    json_decref(json);

    return rc;
}


static void
jira_client_form_keys(const char *body, size_t len, char *keys, size_t size)
{
    size_t       used, klen;
    const char  *p, *end, *amp, *eq;

    used = 0;
    keys[0] = '\0';
    p = body;
    end = body + len;

    while (p < end && used + 1 < size) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        eq = memchr(p, '=', amp - p);
        klen = (eq ? eq : amp) - p;

        if (klen) {
            used += snprintf(keys + used, size - used, "%s%.*s",
                             used ? "," : "", (int) klen, p);

            if (used >= size) {
                keys[size - 1] = '\0';
                break;
            }
        }

        p = amp + 1;
    }
}


int
jira_client_request_token(const jira_client_t *c, const char *callback,
    char **token, char **secret, jira_client_error_t *err)
{
    jira_client_sign_t  sign;

    memset(&sign, 0, sizeof(jira_client_sign_t));
    sign.callback = callback;

    return jira_client_token(c, "/plugins/servlet/oauth/request-token",
                             &sign, token, secret, err);
}


int
jira_client_access_token(const jira_client_t *c, const char *request_token,
    const char *verifier, char **token, char **secret,
    jira_client_error_t *err)
{
    jira_client_sign_t  sign;

    memset(&sign, 0, sizeof(jira_client_sign_t));
    sign.token = request_token;
    sign.verifier = verifier;

    if (jira_client_token(c, "/plugins/servlet/oauth/access-token", &sign,
                          token, secret, err)
        != 0)
    {
        return -1;
    }

    if (*token == NULL || *secret == NULL) {
        (void) snprintf(err->text, sizeof(err->text),
                        "the answer has no oauth_token and"
                        " oauth_token_secret");
        free(*token);
        free(*secret);
        *token = NULL;
        *secret = NULL;
        return -1;
    }

    return 0;
}


/*
 * POST to one of Jira's OAuth token endpoints: the answer's oauth_token
 * and oauth_token_secret, either NULL when the answer lacks it (the keys
 * it had are then in err->keys).
 */

static int
jira_client_token(const jira_client_t *c, const char *path,
    const jira_client_sign_t *sign, char **token, char **secret,
    jira_client_error_t *err)
{
    jira_http_res_t  res;

    *token = NULL;
    *secret = NULL;

    if (jira_client_call(c, "POST", path, NULL, sign, &res, err) != 0) {
        return -1;
    }

    *token = jira_oauth1_form_get(res.body, res.body_len, "oauth_token");
    *secret = jira_oauth1_form_get(res.body, res.body_len,
                                   "oauth_token_secret");

    if (*token == NULL || *secret == NULL) {
        jira_client_form_keys(res.body, res.body_len, err->keys,
                              sizeof(err->keys));
    }

    jira_http_res_free(&res);

    return 0;
}


/* a 2xx answer that must be JSON; a malformed one is an error too */

static json_t *
jira_client_json(jira_http_res_t *res, jira_client_error_t *err)
{
    json_t  *json;

    json = json_loadb(res->body, res->body_len, 0, NULL);

    if (json == NULL) {
        err->http_err = JIRA_HTTP_OK;
        err->status = res->status;
        (void) snprintf(err->text, sizeof(err->text), "%.*s",
                        (int) (res->body_len < sizeof(err->text)
                               ? res->body_len : sizeof(err->text) - 1),
                        res->body);
        err->message[0] = '\0';
    }

    jira_http_res_free(res);

    return json;
}


int
jira_client_rest(const jira_client_t *c, const char *method,
    const char *path, const char *body, json_t **answer,
    jira_client_error_t *err)
{
    jira_http_res_t  res;

    if (answer != NULL) {
        *answer = NULL;
    }

    if (jira_client_call(c, method, path, body, NULL, &res, err) != 0) {
        return -1;
    }

    if (answer == NULL || res.body_len == 0) {
        jira_http_res_free(&res);
        return 0;
    }

    *answer = jira_client_json(&res, err);

    return *answer ? 0 : -1;
}


int
jira_client_myself(const jira_client_t *c, char **name,
    jira_client_error_t *err)
{
    json_t           *json, *v;
    jira_http_res_t   res;

    *name = NULL;

    if (jira_client_call(c, "GET", "/rest/api/2/myself", NULL, NULL, &res,
                         err)
        != 0)
    {
        return -1;
    }

    json = jira_client_json(&res, err);
    if (json == NULL) {
        return -1;
    }

    v = json_object_get(json, "name");

    if (json_is_string(v) && json_string_length(v) > 0) {
        *name = strdup(json_string_value(v));
    }

    if (*name == NULL) {
        (void) snprintf(err->text, sizeof(err->text),
                        "the answer names no user");
    }

    json_decref(json);

    return *name ? 0 : -1;
}


int
jira_client_server_major(const jira_client_t *c, int *major,
    jira_client_error_t *err)
{
    json_t           *json, *v;
    const char       *s;
    jira_http_res_t   res;

    *major = 0;

    if (jira_client_call(c, "GET", "/rest/api/2/serverInfo", NULL, NULL,
                         &res, err)
        != 0)
    {
        return -1;
    }

    json = jira_client_json(&res, err);
    if (json == NULL) {
        return -1;
    }

    v = json_array_get(json_object_get(json, "versionNumbers"), 0);

    if (json_is_integer(v) && json_integer_value(v) > 0
        && json_integer_value(v) < 10000)
    {
        *major = (int) json_integer_value(v);

    } else {
        v = json_object_get(json, "version");

        if (json_is_string(v)) {
            for (s = json_string_value(v);
                 *s >= '0' && *s <= '9' && *major < 10000;
                 s++)
            {
                *major = *major * 10 + (*s - '0');
            }
        }
    }

    json_decref(json);

    return 0;
}


const char *
jira_client_webhook_path(int major)
{
    return major >= 10 ? "/rest/jira-webhook/1.0/webhooks"
                       : "/rest/webhooks/1.0/webhook";
}


int
jira_client_webhooks(const jira_client_t *c, int major, json_t **list,
    jira_client_error_t *err)
{
    json_t           *json, *values;
    jira_http_res_t   res;

    *list = NULL;

    if (jira_client_call(c, "GET", jira_client_webhook_path(major), NULL,
                         NULL, &res, err)
        != 0)
    {
        return -1;
    }

    json = jira_client_json(&res, err);
    if (json == NULL) {
        return -1;
    }

    if (json_is_array(json)) {
        *list = json;
        return 0;
    }

    /* a paged answer keeps the webhooks in "values" */
    values = json_object_get(json, "values");

    if (json_is_array(values)) {
        *list = json_incref(values);
        json_decref(json);
        return 0;
    }

    json_decref(json);

    (void) snprintf(err->text, sizeof(err->text),
                    "the webhook list is not a JSON array");
    return -1;
}


const char *
jira_client_webhook_id(json_t *hook, char *buf, size_t size)
{
    json_t      *v;
    size_t       i, len;
    const char  *s, *e, *slash;

    v = json_object_get(hook, "id");

    if (json_is_integer(v)) {
        (void) snprintf(buf, size, "%lld",
                        (long long) json_integer_value(v));
        return buf;
    }

    if (json_is_string(v)) {
        s = json_string_value(v);
        e = s + json_string_length(v);

    } else {
        v = json_object_get(hook, "self");
        if (!json_is_string(v)) {
            return NULL;
        }

        s = json_string_value(v);
        e = s + json_string_length(v);

        while (e > s && e[-1] == '/') {
            e--;
        }

        slash = e;
        while (slash > s && slash[-1] != '/') {
            slash--;
        }

        s = slash;
    }

    len = e - s;

    if (len == 0 || len >= size) {
        return NULL;
    }

    /* the id goes into a request path: nothing that could leave it */
    for (i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z')
              || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-' || s[i] == '_'))
        {
            return NULL;
        }
    }

    memcpy(buf, s, len);
    buf[len] = '\0';

    return buf;
}


int
jira_client_webhook_create(const jira_client_t *c, int major,
    const char *body, char **id, jira_client_error_t *err)
{
    char              buf[64];
    json_t           *json;
    jira_http_res_t   res;

    *id = NULL;

    if (jira_client_call(c, "POST", jira_client_webhook_path(major), body,
                         NULL, &res, err)
        != 0)
    {
        return -1;
    }

    /* any 2xx is success; Sentry's tests even answer 204 without a body */
    json = json_loadb(res.body, res.body_len, 0, NULL);
    jira_http_res_free(&res);

    if (json != NULL) {
        if (jira_client_webhook_id(json, buf, sizeof(buf)) != NULL) {
            *id = strdup(buf);
        }

        json_decref(json);
    }

    return 0;
}


/* PUT or DELETE one webhook of the resource */

static int
jira_client_webhook_item(const jira_client_t *c, int major,
    const char *method, const char *id, const char *body,
    jira_client_error_t *err)
{
    int   n;
    char  path[256];

    n = snprintf(path, sizeof(path), "%s/%s", jira_client_webhook_path(major),
                 id);
    if (n < 0 || (size_t) n >= sizeof(path)) {
        memset(err, 0, sizeof(jira_client_error_t));
        (void) snprintf(err->text, sizeof(err->text), "webhook id too long");
        return -1;
    }

    return jira_client_rest(c, method, path, body, NULL, err);
}


int
jira_client_webhook_update(const jira_client_t *c, int major,
    const char *id, const char *body, jira_client_error_t *err)
{
    return jira_client_webhook_item(c, major, "PUT", id, body, err);
}


int
jira_client_webhook_delete(const jira_client_t *c, int major,
    const char *id, jira_client_error_t *err)
{
    return jira_client_webhook_item(c, major, "DELETE", id, NULL, err);
}
