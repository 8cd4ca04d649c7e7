
/*
 * jira_sync_api: the /api/0/ endpoints.  This file routes and checks
 * what needs no database; the work runs on a pool thread.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jira_sync_module.h"
#include "jira_issue.h"


#define NGX_HTTP_JIRA_SYNC_MAX_SEGMENTS  8


typedef struct {
    ngx_uint_t                  n;
    ngx_str_t                   seg[NGX_HTTP_JIRA_SYNC_MAX_SEGMENTS];
} ngx_http_jira_sync_path_t;


typedef struct {
    jira_issue_in_t             in;
    jira_issue_out_t            out;
    uint64_t                    stamp;
    ngx_str_t                   cached;
} ngx_http_jira_sync_issue_ctx_t;


static ngx_int_t ngx_http_jira_sync_api_path(ngx_http_request_t *r,
    ngx_http_jira_sync_path_t *path);
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
    ngx_http_jira_sync_path_t  path;

    if (ngx_http_jira_sync_api_path(r, &path) != NGX_OK) {
        return NGX_HTTP_NOT_FOUND;
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

    return NGX_HTTP_NOT_FOUND;
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
    if (p == NULL) {
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
    int64_t                          org;
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

    if (group == NGX_ERROR || group == 0 || id->len > 18) {
        return ngx_http_jira_sync_send_detail(r, NGX_HTTP_NOT_FOUND,
                           "The requested resource does not exist");
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_jira_sync_issue_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->in.store = &jmcf->store;
    ctx->in.token = (const char *) token.data;
    ctx->in.token_len = token.len;
    ctx->in.group_id = group;

    if (jmcf->zone != NULL) {
        rc = ngx_http_jira_sync_cache_get(jmcf->zone, group, &org,
                                          &ctx->cached, r->pool,
                                          &ctx->stamp);
        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_OK) {
            ctx->in.cached_org = org;
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
    ngx_str_t                        body;
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

        if (jmcf->zone != NULL) {
            ngx_http_jira_sync_cache_put(jmcf->zone, ctx->in.group_id,
                                         out->org, &body, ctx->stamp,
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
