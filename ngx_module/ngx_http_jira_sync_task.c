
/*
 * Running bridge work on the nginx thread pool and resuming the request
 * in the event loop when it is done.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jira_sync_module.h"


typedef struct {
    ngx_http_request_t          *request;
    ngx_http_jira_sync_work_pt   work;
    ngx_http_jira_sync_done_pt   done;
    void                        *data;
    ngx_event_t                  pending;
} ngx_http_jira_sync_task_ctx_t;


static void ngx_http_jira_sync_task_handler(void *data, ngx_log_t *log);
static void ngx_http_jira_sync_task_event_handler(ngx_event_t *ev);
static void ngx_http_jira_sync_task_pending(ngx_event_t *ev);


/*
 * Returns NGX_OK when the work is queued, NGX_DECLINED when the queue is
 * full (the caller answers 503), NGX_ERROR on allocation failure.  While
 * queued the request is blocked, so its pool (and data, which must live
 * in it or longer) survives even if the client goes away.
 */

ngx_int_t
ngx_http_jira_sync_post(ngx_http_request_t *r,
    ngx_http_jira_sync_work_pt work, ngx_http_jira_sync_done_pt done,
    void *data)
{
    ngx_thread_task_t               *task;
    ngx_http_jira_sync_task_ctx_t   *ctx;
    ngx_http_jira_sync_main_conf_t  *jmcf;

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jira_sync_module);

    task = ngx_thread_task_alloc(r->pool,
                                 sizeof(ngx_http_jira_sync_task_ctx_t));
    if (task == NULL) {
        return NGX_ERROR;
    }

    ctx = task->ctx;
    ctx->request = r;
    ctx->work = work;
    ctx->done = done;
    ctx->data = data;

    task->handler = ngx_http_jira_sync_task_handler;
    task->event.data = task;
    task->event.handler = ngx_http_jira_sync_task_event_handler;

    if (ngx_thread_task_post(jmcf->thread_pool, task) != NGX_OK) {
        /* the pool logged "thread pool ... queue overflow" */
        return NGX_DECLINED;
    }

    r->main->blocked++;
    r->aio = 1;

    /*
     * A request waiting for a pool thread has no timer of its own, and a
     * worker that is shutting down gracefully (a reload) exits once no
     * timer is left, aborting the request with "open socket left".  A
     * timer that is not cancelable keeps the worker until the answer.
     */
    ctx->pending.handler = ngx_http_jira_sync_task_pending;
    ctx->pending.data = r;
    ctx->pending.log = r->connection->log;
    ngx_add_timer(&ctx->pending, 3600 * 1000);

    return NGX_OK;
}


static void
ngx_http_jira_sync_task_pending(ngx_event_t *ev)
{
    /* an hour on the pool: keep waiting, every call has its own timeout */
    ngx_add_timer(ev, 3600 * 1000);
}


static void
ngx_http_jira_sync_task_handler(void *data, ngx_log_t *log)
{
    ngx_http_jira_sync_task_ctx_t  *ctx = data;

    /* a pool thread: no nginx pools, logs or shared memory from here */
    ctx->work(ctx->data);
}


static void
ngx_http_jira_sync_task_event_handler(ngx_event_t *ev)
{
    ngx_thread_task_t              *task;
    ngx_connection_t               *c;
    ngx_http_request_t             *r;
    ngx_http_jira_sync_task_ctx_t  *ctx;

    task = ev->data;
    ctx = task->ctx;
    r = ctx->request;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    if (ctx->pending.timer_set) {
        ngx_del_timer(&ctx->pending);
    }

    r->main->blocked--;
    r->aio = 0;

    /*
     * done() runs even when the client has gone (c->error): the database
     * changed, so caches must be invalidated and log lines written.
     */
    ctx->done(r, ctx->data);

    ngx_http_run_posted_requests(c);
}
