
/*
 * Request bodies in, responses out: the plumbing both handlers share.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jira_sync_module.h"
#include "jira_json.h"


/*
 * Describe the body for a pool thread (jira_body_load()): bodies nginx
 * spooled to a temporary file are read there, not in the event loop.
 */

ngx_int_t
ngx_http_jira_sync_body(ngx_http_request_t *r, jira_body_t *body)
{
    ngx_buf_t         *b;
    ngx_chain_t       *cl;
    jira_body_part_t  *part;

    body->n = 0;
    body->len = 0;

    if (r->request_body == NULL) {
        return NGX_OK;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_size(b) == 0) {
            continue;
        }

        if (body->n == JIRA_BODY_PARTS) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "jira_sync: request body in too many pieces");
            return NGX_ERROR;
        }

        part = &body->parts[body->n++];

        if (b->in_file) {
            part->mem = NULL;
            part->fd = b->file->fd;
            part->off = b->file_pos;
            part->len = (size_t) (b->file_last - b->file_pos);

        } else {
            part->mem = (const char *) b->pos;
            part->fd = -1;
            part->off = 0;
            part->len = (size_t) (b->last - b->pos);
        }

        body->len += part->len;
    }

    return NGX_OK;
}


/* send a whole response; returns what a content handler returns */

ngx_int_t
ngx_http_jira_sync_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *content_type, u_char *data, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (r->connection->error) {
        return NGX_HTTP_CLIENT_CLOSED_REQUEST;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    if (content_type != NULL) {
        r->headers_out.content_type.len = ngx_strlen(content_type);
        r->headers_out.content_type.data = (u_char *) content_type;
        r->headers_out.content_type_len = r->headers_out.content_type.len;
    }

    if (len == 0 || r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_jira_sync_send_detail(ngx_http_request_t *r, ngx_uint_t status,
    const char *detail)
{
    u_char  *p;
    size_t   len;

    len = sizeof("{\"detail\": }") - 1 + jira_json_quoted_len(detail);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    len = ngx_sprintf(p, "{\"detail\": ") - p;
    len += jira_json_quote((char *) p + len, detail);
    p[len++] = '}';

    return ngx_http_jira_sync_send(r, status, "application/json", p, len);
}


/* 503 with Retry-After: the database or the thread pool cannot take it */

ngx_int_t
ngx_http_jira_sync_send_unavailable(ngx_http_request_t *r)
{
    ngx_table_elt_t                 *h;
    ngx_http_jira_sync_main_conf_t  *jmcf;

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jira_sync_module);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (h->value.data == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    h->value.len = ngx_sprintf(h->value.data, "%T", jmcf->retry_after)
                   - h->value.data;

    return ngx_http_jira_sync_send_detail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                          "Service temporarily unavailable,"
                                          " retry later.");
}


/* a failure of the bridge: logged, then 503 or 500 */

ngx_int_t
ngx_http_jira_sync_send_error(ngx_http_request_t *r, jira_err_e err,
    const char *error)
{
    static time_t  schema_logged;

    ngx_http_jira_sync_metrics_add(
        ngx_http_get_module_main_conf(r, ngx_http_jira_sync_module),
        NGX_HTTP_JIRA_SYNC_DB_ERRORS, 1);

    if (err == JIRA_ESCHEMA) {
        /* one clear line a minute per worker, not one per request */
        if (ngx_time() - schema_logged >= 60) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "jira_sync: %s", error);
            schema_logged = ngx_time();
        }

        return ngx_http_jira_sync_send_unavailable(r);
    }

    if (error != NULL && error[0] != '\0') {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "jira_sync: %s", error);
    }

    if (err == JIRA_EUNAVAIL) {
        return ngx_http_jira_sync_send_unavailable(r);
    }

    return ngx_http_jira_sync_send_detail(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                          "Internal Error");
}


void
ngx_http_jira_sync_log_lines(ngx_log_t *log, jira_log_t *lines)
{
    size_t      i;
    ngx_uint_t  level;

    for (i = 0; i < lines->n; i++) {
        switch (lines->lines[i].level) {
        case JIRA_LOG_ERR:
            level = NGX_LOG_ERR;
            break;
        case JIRA_LOG_WARN:
            level = NGX_LOG_WARN;
            break;
        default:
            level = NGX_LOG_INFO;
        }

        ngx_log_error(level, log, 0, "jira_sync: %s", lines->lines[i].text);
    }

    if (lines->dropped) {
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "jira_sync: %uz more log lines dropped",
                      lines->dropped);
    }
}


/*
 * DRF's answer to a method the endpoint does not take: 405 naming the
 * method, or 200 for OPTIONS; both carry Allow.
 */

ngx_int_t
ngx_http_jira_sync_method_not_allowed(ngx_http_request_t *r,
    const char *allow)
{
    u_char           *p;
    size_t            len;
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Allow");
    h->value.data = (u_char *) allow;
    h->value.len = ngx_strlen(allow);

    if (r->method == NGX_HTTP_OPTIONS) {
        return ngx_http_jira_sync_send(r, NGX_HTTP_OK, NULL, NULL, 0);
    }

    len = sizeof("Method \"\" not allowed.") - 1 + r->method_name.len;

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the method name is a run of upper-case letters: safe in JSON */
    ngx_sprintf(p, "Method \"%V\" not allowed.%Z", &r->method_name);

    return ngx_http_jira_sync_send_detail(r, NGX_HTTP_NOT_ALLOWED,
                                          (const char *) p);
}


/* an unknown path under the module's location: JSON, as every error */

ngx_int_t
ngx_http_jira_sync_not_found(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_jira_sync_send_detail(r, NGX_HTTP_NOT_FOUND,
                                          "Not found.");
}
