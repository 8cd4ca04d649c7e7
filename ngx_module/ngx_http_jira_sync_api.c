
/*
 * jira_sync_api: the /api/0/ endpoints.  This file routes and checks
 * what needs no database; the work runs on a pool thread.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jira_sync_module.h"
#include "jira_api.h"
#include "jira_issue.h"


typedef struct {
    jira_issue_in_t             in;
    jira_issue_out_t            out;
    uint64_t                    stamp;
    ngx_str_t                   cached;
} ngx_http_jira_sync_issue_ctx_t;


typedef struct {
    const jira_api_route_t     *route;
    jira_body_t                 body;
    jira_api_in_t               in;
    jira_api_out_t              out;
} ngx_http_jira_sync_call_ctx_t;


static ngx_int_t ngx_http_jira_sync_api_path(ngx_http_request_t *r,
    ngx_http_jira_sync_path_t *path);
static const char *ngx_http_jira_sync_allow(ngx_http_request_t *r,
    unsigned methods);
static void ngx_http_jira_sync_call_body(ngx_http_request_t *r);
static void ngx_http_jira_sync_call_post(ngx_http_request_t *r);
static void ngx_http_jira_sync_call_work(void *data);
static void ngx_http_jira_sync_call_done(ngx_http_request_t *r,
    void *data);
static ngx_int_t ngx_http_jira_sync_api_bearer(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_int_t ngx_http_jira_sync_issue(ngx_http_request_t *r,
    ngx_str_t *id);
static void ngx_http_jira_sync_issue_work(void *data);
static void ngx_http_jira_sync_issue_done(ngx_http_request_t *r,
    void *data);


ngx_int_t
ngx_http_jira_sync_api_handler(ngx_http_request_t *r)
{
    ngx_uint_t                  i;
    const char                 *segs[NGX_HTTP_JIRA_SYNC_MAX_SEGMENTS];
    size_t                      lens[NGX_HTTP_JIRA_SYNC_MAX_SEGMENTS];
    const jira_api_route_t     *route;
    ngx_http_jira_sync_path_t   path;

    if (ngx_http_jira_sync_api_path(r, &path) != NGX_OK) {
        return ngx_http_jira_sync_not_found(r);
    }

    for (i = 0; i < path.n; i++) {
        segs[i] = (const char *) path.seg[i].data;
        lens[i] = path.seg[i].len;
    }

    route = jira_api_route(segs, lens, path.n);

    if (route != NULL) {
        return ngx_http_jira_sync_call(r, &path, route);
    }

    /* issues/{id}/ */
    if (path.n == 2 && ngx_strncmp(path.seg[0].data, "issues", 6) == 0
        && path.seg[0].len == 6)
    {
        if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
            return ngx_http_jira_sync_method_not_allowed(r,
                                                       "GET, HEAD, OPTIONS");
        }

        return ngx_http_jira_sync_issue(r, &path.seg[1]);
    }

    return ngx_http_jira_sync_not_found(r);
}


/*
 * Run route's function on the thread pool for this request: the path
 * segments become in->params, the bearer token (if any) in->token, the
 * body (POST, PUT) in->body.  Also used by jira_sync_webhook for the
 * setup browser callback.
 */

ngx_int_t
ngx_http_jira_sync_call(ngx_http_request_t *r,
    ngx_http_jira_sync_path_t *path, const jira_api_route_t *route)
{
    int                              method;
    u_char                          *p;
    ngx_int_t                        rc;
    ngx_str_t                        token;
    ngx_uint_t                       i, n;
    const char                      *allow;
    ngx_http_jira_sync_call_ctx_t   *ctx;
    ngx_http_jira_sync_main_conf_t  *jmcf;

    switch (r->method) {
    case NGX_HTTP_GET:
    case NGX_HTTP_HEAD:
        method = JIRA_METHOD_GET;
        break;
    case NGX_HTTP_POST:
        method = JIRA_METHOD_POST;
        break;
    case NGX_HTTP_PUT:
        method = JIRA_METHOD_PUT;
        break;
    case NGX_HTTP_DELETE:
        method = JIRA_METHOD_DELETE;
        break;
    default:
        method = 0;
    }

    if (method == 0 || !(route->methods & JIRA_ALLOW(method))) {
        allow = ngx_http_jira_sync_allow(r, route->methods);
        if (allow == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_jira_sync_method_not_allowed(r, allow);
    }

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jira_sync_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_jira_sync_call_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->route = route;
    ctx->in.conf = &jmcf->api;
    ctx->in.method = method;
    ctx->in.now = ngx_time();

    if (ngx_http_jira_sync_api_bearer(r, &token) == NGX_OK) {
        p = ngx_pnalloc(r->pool, token.len + 1);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(p, token.data, token.len);
        p[token.len] = '\0';
        ctx->in.token = (const char *) p;
        ctx->in.token_len = token.len;
    }

    /* the "*" segments, NUL-terminated, in order */
    n = 0;

    for (i = 0; i < path->n && n < JIRA_API_MAX_PARAMS; i++) {
        p = ngx_pnalloc(r->pool, path->seg[i].len + 1);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(p, path->seg[i].data, path->seg[i].len);
        p[path->seg[i].len] = '\0';
        ctx->in.params[n++] = (const char *) p;
    }

    ctx->in.nparams = n;

    if (r->args.len) {
        p = ngx_pnalloc(r->pool, r->args.len + 1);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(p, r->args.data, r->args.len);
        p[r->args.len] = '\0';
        ctx->in.query = (const char *) p;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_jira_sync_module);

    if (method == JIRA_METHOD_POST || method == JIRA_METHOD_PUT) {
        rc = ngx_http_read_client_request_body(r,
                                               ngx_http_jira_sync_call_body);
        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    r->main->count++;
    ngx_http_jira_sync_call_post(r);

    return NGX_DONE;
}


/* the Allow header for a route's methods */

static const char *
ngx_http_jira_sync_allow(ngx_http_request_t *r, unsigned methods)
{
    u_char  *p, *allow;

    allow = ngx_pnalloc(r->pool, sizeof("GET, HEAD, POST, PUT, DELETE, "
                                        "OPTIONS"));
    if (allow == NULL) {
        return NULL;
    }

    p = allow;

    if (methods & JIRA_ALLOW(JIRA_METHOD_GET)) {
        p = ngx_cpymem(p, "GET, HEAD, ", sizeof("GET, HEAD, ") - 1);
    }

    if (methods & JIRA_ALLOW(JIRA_METHOD_POST)) {
        p = ngx_cpymem(p, "POST, ", sizeof("POST, ") - 1);
    }

    if (methods & JIRA_ALLOW(JIRA_METHOD_PUT)) {
        p = ngx_cpymem(p, "PUT, ", sizeof("PUT, ") - 1);
    }

    if (methods & JIRA_ALLOW(JIRA_METHOD_DELETE)) {
        p = ngx_cpymem(p, "DELETE, ", sizeof("DELETE, ") - 1);
    }

    ngx_memcpy(p, "OPTIONS", sizeof("OPTIONS"));

    return (const char *) allow;
}


static void
ngx_http_jira_sync_call_body(ngx_http_request_t *r)
{
    ngx_http_jira_sync_call_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_jira_sync_module);

    if (ngx_http_jira_sync_body(r, &ctx->body) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->in.body_len = ctx->body.len;

    ngx_http_jira_sync_call_post(r);
}


/* post the call; on failure answer and end the request here */

static void
ngx_http_jira_sync_call_post(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_http_jira_sync_call_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_jira_sync_module);

    rc = ngx_http_jira_sync_post(r, ngx_http_jira_sync_call_work,
                                 ngx_http_jira_sync_call_done, ctx);

    if (rc == NGX_OK) {
        return;
    }

    ngx_http_finalize_request(r, rc == NGX_DECLINED
                                 ? ngx_http_jira_sync_send_unavailable(r)
                                 : NGX_HTTP_INTERNAL_SERVER_ERROR);
}


static void
ngx_http_jira_sync_call_work(void *data)
{
    ngx_http_jira_sync_call_ctx_t  *ctx = data;

    char  *owned;

    if (jira_body_load(&ctx->body, &ctx->in.body, &owned, ctx->out.error,
                       sizeof(ctx->out.error))
        != 0)
    {
        ctx->out.status = 500;
        ctx->out.err = JIRA_EDB;
        return;
    }

    ctx->route->fn(&ctx->in, &ctx->out);

    free(owned);
}


static void
ngx_http_jira_sync_call_done(ngx_http_request_t *r, void *data)
{
    ngx_http_jira_sync_call_ctx_t  *ctx = data;

    u_char                          *body;
    size_t                           i, len;
    ngx_str_t                        name;
    ngx_int_t                        rc;
    jira_api_out_t                  *out;
    ngx_table_elt_t                 *h;
    ngx_http_jira_sync_main_conf_t  *jmcf;

    out = &ctx->out;
    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jira_sync_module);

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

    if (jmcf->zone != NULL && out->integration_changed[0] != '\0') {
        name.data = (u_char *) out->integration_changed;
        name.len = ngx_strlen(out->integration_changed);
        ngx_http_jira_sync_secret_invalidate(jmcf->zone, &name);
    }

    ngx_http_jira_sync_log_lines(r->connection->log, &out->log);

    len = out->body_len;
    body = NULL;

    if (out->body != NULL && len) {
        body = ngx_pnalloc(r->pool, len);
        if (body != NULL) {
            ngx_memcpy(body, out->body, len);
        }
    }

    free(out->body);
    out->body = NULL;

    if (out->status >= 500 || out->status == 0) {
        rc = ngx_http_jira_sync_send_error(r, out->err, out->error);
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (len && body == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (out->location != NULL) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Location");
        h->value.len = ngx_strlen(out->location);
        h->value.data = ngx_pnalloc(r->pool, h->value.len);
        if (h->value.data == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_memcpy(h->value.data, out->location, h->value.len);
    }

    rc = ngx_http_jira_sync_send(r, out->status,
                                 len ? (out->content_type
                                        ? out->content_type
                                        : "application/json")
                                     : NULL,
                                 body, len);
    ngx_http_finalize_request(r, rc);
}


/* the segments after "/api/0/"; the trailing slash is optional */

static ngx_int_t
ngx_http_jira_sync_api_path(ngx_http_request_t *r,
    ngx_http_jira_sync_path_t *path)
{
    u_char  *p, *last, *start;

    static u_char  prefix[] = "/api/0/";

    last = r->uri.data + r->uri.len;

    p = ngx_strlcasestrn(r->uri.data, last, prefix, sizeof(prefix) - 2);
    if (p == NULL || ngx_strncmp(p, prefix, sizeof(prefix) - 1) != 0) {
        return NGX_DECLINED;
    }

    p += sizeof(prefix) - 1;
    path->n = 0;

    while (p < last) {
        start = p;

        while (p < last && *p != '/') {
            p++;
        }

        if (p == start) {
            return NGX_DECLINED;        /* an empty segment */
        }

        if (path->n == NGX_HTTP_JIRA_SYNC_MAX_SEGMENTS) {
            return NGX_DECLINED;
        }

        path->seg[path->n].data = start;
        path->seg[path->n].len = p - start;
        path->n++;

        if (p < last) {
            p++;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_jira_sync_api_bearer(ngx_http_request_t *r, ngx_str_t *token)
{
    u_char           *p, *last;
    ngx_table_elt_t  *h;

    h = r->headers_in.authorization;

    if (h == NULL || h->value.len < sizeof("Bearer ") - 1
        || ngx_strncasecmp(h->value.data, (u_char *) "Bearer ",
                           sizeof("Bearer ") - 1) != 0)
    {
        return NGX_DECLINED;
    }

    p = h->value.data + sizeof("Bearer ") - 1;
    last = h->value.data + h->value.len;

    while (p < last && *p == ' ') {
        p++;
    }

    while (last > p && last[-1] == ' ') {
        last--;
    }

    if (p == last || last - p > 512) {
        return NGX_DECLINED;
    }

    token->data = p;
    token->len = last - p;

    return NGX_OK;
}


static ngx_int_t
ngx_http_jira_sync_issue(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_str_t                        version;
    ngx_int_t                        rc, group;
    ngx_str_t                        token;
    ngx_http_jira_sync_issue_ctx_t  *ctx;
    ngx_http_jira_sync_main_conf_t  *jmcf;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jira_sync_module);

    if (ngx_http_jira_sync_api_bearer(r, &token) != NGX_OK) {
        return ngx_http_jira_sync_send_detail(r, NGX_HTTP_UNAUTHORIZED,
                           jira_auth_detail(JIRA_AUTH_MISSING));
    }

    group = ngx_atoi(id->data, id->len);

    if (group == NGX_ERROR || id->len > 18) {
        /* no group has id 0: the token is still checked first, as DRF */
        group = 0;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_jira_sync_issue_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->in.store = &jmcf->store;
    ctx->in.token = (const char *) token.data;
    ctx->in.token_len = token.len;
    ctx->in.group_id = group;

    if (jmcf->zone != NULL && group != 0) {
        rc = ngx_http_jira_sync_cache_get(jmcf->zone, group, &version,
                                          &ctx->cached, r->pool,
                                          &ctx->stamp);
        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_OK) {
            ctx->in.cached_version = (const char *) version.data;
        }
    }

    rc = ngx_http_jira_sync_post(r, ngx_http_jira_sync_issue_work,
                                 ngx_http_jira_sync_issue_done, ctx);

    if (rc == NGX_DECLINED) {
        return ngx_http_jira_sync_send_unavailable(r);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_jira_sync_issue_work(void *data)
{
    ngx_http_jira_sync_issue_ctx_t  *ctx = data;

    jira_issue_read(&ctx->in, &ctx->out);
}


static void
ngx_http_jira_sync_issue_done(ngx_http_request_t *r, void *data)
{
    ngx_http_jira_sync_issue_ctx_t  *ctx = data;

    ngx_int_t                        rc;
    ngx_str_t                        body, version;
    jira_issue_out_t                *out;
    ngx_http_jira_sync_main_conf_t  *jmcf;

    out = &ctx->out;
    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jira_sync_module);

    if (out->json != NULL) {
        body.len = out->json_len;
        body.data = ngx_pnalloc(r->pool, body.len);

        if (body.data != NULL) {
            ngx_memcpy(body.data, out->json, body.len);
        }

        free(out->json);
        out->json = NULL;

        if (body.data == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        if (jmcf->zone != NULL && jmcf->cache_valid > 0) {
            version.data = (u_char *) out->version;
            version.len = ngx_strlen(out->version);

            ngx_http_jira_sync_cache_put(jmcf->zone, ctx->in.group_id,
                                         &version, &body, ctx->stamp,
                                         jmcf->cache_valid);
        }

    } else {
        body = ctx->cached;
    }

    switch (out->status) {

    case NGX_HTTP_OK:
        rc = ngx_http_jira_sync_send(r, NGX_HTTP_OK, "application/json",
                                     body.data, body.len);
        break;

    case NGX_HTTP_UNAUTHORIZED:
    case NGX_HTTP_FORBIDDEN:
    case NGX_HTTP_NOT_FOUND:
        rc = ngx_http_jira_sync_send_detail(r, out->status, out->detail);
        break;

    default:
        rc = ngx_http_jira_sync_send_error(r, out->err, out->error);
    }

    ngx_http_finalize_request(r, rc);
}
