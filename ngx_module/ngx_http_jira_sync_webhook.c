
/*
 * POST /extensions/jira-server/issue-updated/{token}/
 * GET  /extensions/jira-server/setup/callback/ (src/jira_setup.c)
 *
 * Token steps 1 to 3 (reference S§2.1) need no database and run here, so
 * malformed tokens are refused before the body is read; the rest runs on
 * a pool thread (src/jira_webhook.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jira_sync_module.h"
#include "jira_jwt.h"
#include "jira_setup.h"
#include "jira_webhook.h"


typedef struct {
    ngx_str_t            token;
    jira_body_t          body;
    uint64_t             stamp;         /* of the secret cache */
    char                 external_id[JIRA_JWT_MAX_ID_LEN];
    jira_webhook_in_t    in;
    jira_webhook_out_t   out;
} ngx_http_jira_sync_webhook_ctx_t;


static ngx_int_t ngx_http_jira_sync_webhook_token(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_int_t ngx_http_jira_sync_setup_callback(ngx_http_request_t *r);
static ngx_int_t ngx_http_jira_sync_webhook_redact(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_int_t ngx_http_jira_sync_webhook_reject(ngx_http_request_t *r,
    const char *error);
static ngx_int_t ngx_http_jira_sync_webhook_cached(ngx_http_request_t *r,
    ngx_http_jira_sync_webhook_ctx_t *ctx);
static void ngx_http_jira_sync_webhook_body(ngx_http_request_t *r);
static void ngx_http_jira_sync_webhook_work(void *data);
static void ngx_http_jira_sync_webhook_done(ngx_http_request_t *r,
    void *data);


static ngx_str_t  ngx_http_jira_sync_issue_updated =
    ngx_string("/extensions/jira-server/issue-updated");


/* where Jira sends the operator's browser: no bearer token needed */
static const jira_api_route_t  ngx_http_jira_sync_callback_route = {
    "setup/callback", JIRA_ALLOW(JIRA_METHOD_GET), jira_setup_callback
};


ngx_int_t
ngx_http_jira_sync_webhook_handler(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    ngx_str_t                          token;
    ngx_uint_t                         i;
    const char                        *error;
    ngx_http_jira_sync_path_t          path;
    ngx_http_jira_sync_webhook_ctx_t  *ctx;

    static const char  *args[] = { "oauth_token", "oauth_verifier" };

    if (ngx_http_jira_sync_setup_callback(r) == NGX_OK) {
        /* the request token and verifier stay out of the logs */
        for (i = 0; i < 2; i++) {
            if (ngx_http_arg(r, (u_char *) args[i], ngx_strlen(args[i]),
                             &token)
                == NGX_OK
                && ngx_http_jira_sync_webhook_redact(r, &token) != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        path.n = 0;
        return ngx_http_jira_sync_call(r, &path,
                                       &ngx_http_jira_sync_callback_route);
    }

    if (ngx_http_jira_sync_webhook_token(r, &token) != NGX_OK) {
        return ngx_http_jira_sync_not_found(r);
    }

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_jira_sync_method_not_allowed(r, "POST, OPTIONS");
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_jira_sync_webhook_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->token = token;

    if (ngx_http_jira_sync_webhook_redact(r, &ctx->token) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* step 1: Python's "not token": only the empty string is falsy */
    if (token.len == 0) {
        return ngx_http_jira_sync_webhook_reject(r, "Token was empty");
    }

    /* steps 2 and 3: claims read without the signature */
    error = jira_jwt_peek_id((const char *) token.data, token.len,
                             ctx->external_id, sizeof(ctx->external_id));
    if (error != NULL) {
        return ngx_http_jira_sync_webhook_reject(r, error);
    }

    /* steps 4 and 5 with the cached secret, when the zone has it */
    rc = ngx_http_jira_sync_webhook_cached(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_jira_sync_module);

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_jira_sync_webhook_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/*
 * The token is the path segment after ".../extensions/jira-server/
 * issue-updated/" (case matters, as in Sentry's route; a prefix before it
 * is allowed for deployments under a sub-path); one trailing slash may
 * follow, nothing else.
 */

static ngx_int_t
ngx_http_jira_sync_webhook_token(ngx_http_request_t *r, ngx_str_t *token)
{
    u_char     *p, *last, *start;
    ngx_str_t  *marker;

    marker = &ngx_http_jira_sync_issue_updated;
    last = r->uri.data + r->uri.len;

    p = ngx_strlcasestrn(r->uri.data, last, marker->data, marker->len - 1);

    if (p != NULL && ngx_strncmp(p, marker->data, marker->len) != 0) {
        return NGX_DECLINED;
    }
    if (p == NULL) {
        return NGX_DECLINED;
    }

    p += marker->len;

    token->len = 0;
    token->data = p;

    if (p == last) {
        return NGX_OK;
    }

    if (*p++ != '/') {
        return NGX_DECLINED;
    }

    start = p;

    while (p < last && *p != '/') {
        p++;
    }

    token->data = start;
    token->len = p - start;

    if (p < last) {
        p++;                        /* the trailing slash */
    }

    return p == last ? NGX_OK : NGX_DECLINED;
}


/*
 * The token is the credential for posting webhooks: keep it out of the
 * error log (whose lines quote the request line) and out of $request and
 * $request_uri in the access log.  The token itself is copied first, as
 * it may share memory with the request line.
 */

static ngx_int_t
ngx_http_jira_sync_webhook_redact(ngx_http_request_t *r, ngx_str_t *token)
{
    u_char     *copy, *p, *q;
    ngx_str_t  *line, *lines[2];
    ngx_uint_t  i;

    static u_char  mask[] = "<token>";

    if (token->len == 0) {
        return NGX_OK;
    }

    copy = ngx_pnalloc(r->pool, token->len);
    if (copy == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(copy, token->data, token->len);
    token->data = copy;

    lines[0] = &r->request_line;
    lines[1] = &r->unparsed_uri;

    for (i = 0; i < 2; i++) {
        line = lines[i];

        p = ngx_strlcasestrn(line->data, line->data + line->len,
                             token->data, token->len - 1);
        if (p == NULL) {
            continue;
        }

        q = ngx_pnalloc(r->pool, line->len - token->len + sizeof(mask) - 1);
        if (q == NULL) {
            return NGX_ERROR;
        }

        line->len = ngx_sprintf(q, "%*s%s%*s",
                                (size_t) (p - line->data), line->data, mask,
                                (size_t) (line->data + line->len - p
                                          - token->len),
                                p + token->len)
                    - q;
        line->data = q;
    }

    return NGX_OK;
}


/*
 * The URI ends in "/extensions/jira-server/setup/callback", with or
 * without a trailing slash (a prefix before it is allowed, as for
 * webhooks).
 */

static ngx_int_t
ngx_http_jira_sync_setup_callback(ngx_http_request_t *r)
{
    size_t   len;
    u_char  *last;

    static u_char  suffix[] = "/extensions/jira-server/setup/callback";

    len = sizeof(suffix) - 1;
    last = r->uri.data + r->uri.len;

    if (r->uri.len && last[-1] == '/') {
        last--;
    }

    if ((size_t) (last - r->uri.data) < len
        || ngx_strncmp(last - len, suffix, len) != 0)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * Verify the token with the integration's secret from the zone, so that
 * neither a valid nor a forged token costs a database round trip.  A
 * secret read less than jira_sync_secret_recheck ago is trusted to refuse
 * a token; an older one only to accept: a refusal is then checked again
 * against the database (the secret may have changed on another node),
 * which reads the secret afresh, so that happens at most once per
 * jira_sync_secret_recheck per integration.  NGX_DECLINED: go on (ctx->in
 * says whether the token was verified); anything else is the handler's
 * answer, already sent.
 */

static ngx_int_t
ngx_http_jira_sync_webhook_cached(ngx_http_request_t *r,
    ngx_http_jira_sync_webhook_ctx_t *ctx)
{
    u_char                          *p;
    ngx_int_t                        rc;
    ngx_str_t                        id;
    const char                      *reason;
    ngx_http_jira_sync_secret_t      secret;
    ngx_http_jira_sync_main_conf_t  *jmcf;

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jira_sync_module);

    if (jmcf->zone == NULL || jmcf->cache_valid == 0) {
        return NGX_DECLINED;
    }

    id.data = (u_char *) ctx->external_id;
    id.len = ngx_strlen(ctx->external_id);

    rc = ngx_http_jira_sync_secret_get(jmcf->zone, &id, &secret, r->pool,
                                       &ctx->stamp);
    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return NGX_DECLINED;
    }

    reason = jira_jwt_verify_hs256((const char *) ctx->token.data,
                                   ctx->token.len,
                                   (const char *) secret.secret.data,
                                   secret.secret.len, ngx_time());

    ngx_explicit_memzero(secret.secret.data, secret.secret.len);

    if (reason == NULL) {
        ctx->in.verified = 1;
        ctx->in.integration_id = secret.integration_id;
        ctx->in.integration_status = (int) secret.status;
        return NGX_DECLINED;
    }

    if (secret.age >= jmcf->secret_recheck) {
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(r->pool, sizeof("Could not validate JWT. Got ")
                             + ngx_strlen(reason));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_sprintf(p, "Could not validate JWT. Got %s%Z", reason);

    return ngx_http_jira_sync_webhook_reject(r, (const char *) p);
}


static ngx_int_t
ngx_http_jira_sync_webhook_reject(ngx_http_request_t *r, const char *error)
{
    ngx_int_t  rc;

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "jira_sync: token-validation-error error=\"%s\"", error);

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_http_jira_sync_metrics_webhook(r, NGX_HTTP_BAD_REQUEST);

    return ngx_http_jira_sync_send_detail(r, NGX_HTTP_BAD_REQUEST, error);
}


static void
ngx_http_jira_sync_webhook_body(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    ngx_http_jira_sync_webhook_ctx_t  *ctx;
    ngx_http_jira_sync_main_conf_t    *jmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_jira_sync_module);
    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jira_sync_module);

    if (ngx_http_jira_sync_body(r, &ctx->body) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->in.store = &jmcf->store;
    ctx->in.conf = &jmcf->api;
    ctx->in.token = (const char *) ctx->token.data;
    ctx->in.token_len = ctx->token.len;
    ctx->in.external_id = ctx->external_id;
    ctx->in.body_len = ctx->body.len;
    ctx->in.now = ngx_time();

    rc = ngx_http_jira_sync_post(r, ngx_http_jira_sync_webhook_work,
                                 ngx_http_jira_sync_webhook_done, ctx);

    if (rc == NGX_OK) {
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_jira_sync_metrics_webhook(r, NGX_HTTP_SERVICE_UNAVAILABLE);
        ngx_http_finalize_request(r, ngx_http_jira_sync_send_unavailable(r));
        return;
    }

    ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
}


static void
ngx_http_jira_sync_webhook_work(void *data)
{
    ngx_http_jira_sync_webhook_ctx_t  *ctx = data;

    char  *owned;

    if (jira_body_load(&ctx->body, &ctx->in.body, &owned, ctx->out.error,
                       sizeof(ctx->out.error))
        != 0)
    {
        ctx->out.status = 500;
        ctx->out.err = JIRA_EDB;
        return;
    }

    jira_webhook_process(&ctx->in, &ctx->out);

    free(owned);
}


static void
ngx_http_jira_sync_webhook_done(ngx_http_request_t *r, void *data)
{
    ngx_http_jira_sync_webhook_ctx_t  *ctx = data;

    size_t                           i;
    ngx_int_t                        rc;
    ngx_str_t                        id;
    jira_webhook_out_t              *out;
    ngx_http_jira_sync_secret_t      secret;
    ngx_http_jira_sync_main_conf_t  *jmcf;

    out = &ctx->out;
    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jira_sync_module);

    if (out->fetched && jmcf->zone != NULL && jmcf->cache_valid > 0) {
        id.data = (u_char *) ctx->external_id;
        id.len = ngx_strlen(ctx->external_id);
        secret.integration_id = out->integration_id;
        secret.status = out->integration_status;
        secret.secret.data = (u_char *) out->secret;
        secret.secret.len = ngx_strlen(out->secret);

        ngx_http_jira_sync_secret_put(jmcf->zone, &id, &secret, ctx->stamp,
                                      jmcf->cache_valid);
    }

    ngx_explicit_memzero(out->secret, sizeof(out->secret));

    /* the transaction committed: no later read may see the old rows */
    if (jmcf->zone != NULL) {
        if (out->changes.overflow) {
            ngx_http_jira_sync_cache_flush(jmcf->zone);

        } else {
            for (i = 0; i < out->changes.n; i++) {
                ngx_http_jira_sync_cache_invalidate(jmcf->zone,
                                                    out->changes.groups[i]);
            }
        }
    }

    ngx_http_jira_sync_log_lines(r->connection->log, &out->log);

    if (out->token_error) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "jira_sync: token-validation-error integration_id=%L"
                      " error=\"%s\"", out->integration_id, out->detail);
    }

    ngx_http_jira_sync_metrics_webhook(r, out->status);
    ngx_http_jira_sync_metrics_add(jmcf, NGX_HTTP_JIRA_SYNC_ASSIGNMENTS,
                                   out->changes.assigned);
    ngx_http_jira_sync_metrics_add(jmcf, NGX_HTTP_JIRA_SYNC_DEASSIGNMENTS,
                                   out->changes.deassigned);

    switch (out->status) {

    case NGX_HTTP_OK:
        rc = ngx_http_jira_sync_send(r, NGX_HTTP_OK, NULL, NULL, 0);
        break;

    case NGX_HTTP_BAD_REQUEST:
        rc = ngx_http_jira_sync_send_detail(r, NGX_HTTP_BAD_REQUEST,
                                            out->detail);
        break;

    default:
        rc = ngx_http_jira_sync_send_error(r, out->err, out->error);
    }

    ngx_http_finalize_request(r, rc);
}
