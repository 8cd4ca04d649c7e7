
/*
 * The outbox drain of each worker: a timer posts one drain pass to the
 * thread pool (src/jira_outbox.c), and the pass's completion, back in
 * the event loop, logs what happened, adds to the metrics and arms the
 * timer again.  At most one pass per worker is in flight; the timer is
 * cancelable, so a graceful shutdown does not wait for it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jira_sync_module.h"
#include "jira_outbox.h"


/* a failing database is logged once in this many seconds per worker */
#define NGX_HTTP_JIRA_SYNC_OUTBOX_ERROR_EVERY  60

/* finished rows are purged at most this often per worker, in seconds */
#define NGX_HTTP_JIRA_SYNC_OUTBOX_PURGE_EVERY  60


typedef struct {
    jira_outbox_conf_t               conf;
    jira_outbox_result_t             result;
} ngx_http_jira_sync_outbox_ctx_t;


typedef struct {
    ngx_event_t                      timer;
    ngx_connection_t                 dummy;      /* timer debug logs read
                                                    ev->data as one */
    ngx_thread_task_t               *task;
    ngx_http_jira_sync_main_conf_t  *jmcf;
    ngx_log_t                       *log;
    time_t                           purged;
    time_t                           error_logged;
    ngx_uint_t                       busy;       /* a pass is in flight */
} ngx_http_jira_sync_outbox_t;


static void ngx_http_jira_sync_outbox_timer(ngx_event_t *ev);
static void ngx_http_jira_sync_outbox_work(void *data, ngx_log_t *log);
static void ngx_http_jira_sync_outbox_done(ngx_event_t *ev);
static void ngx_http_jira_sync_outbox_arm(ngx_msec_t delay);


static ngx_http_jira_sync_outbox_t  ngx_http_jira_sync_outbox;


/*
 * In each worker process at start.  Cache manager and loader processes
 * have no thread pool: nothing runs there.
 */

ngx_int_t
ngx_http_jira_sync_outbox_init(ngx_cycle_t *cycle,
    ngx_http_jira_sync_main_conf_t *jmcf)
{
    jira_outbox_conf_t               *conf;
    ngx_http_jira_sync_outbox_t      *ob;
    ngx_http_jira_sync_outbox_ctx_t  *ctx;

    if (!jmcf->outbox_drain
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        return NGX_OK;
    }

    ob = &ngx_http_jira_sync_outbox;
    ngx_memzero(ob, sizeof(ngx_http_jira_sync_outbox_t));

    /* one task for the worker's life, reused by every pass */
    ob->task = ngx_thread_task_alloc(cycle->pool,
                                     sizeof(ngx_http_jira_sync_outbox_ctx_t));
    if (ob->task == NULL) {
        return NGX_ERROR;
    }

    ob->jmcf = jmcf;
    ob->log = cycle->log;

    ctx = ob->task->ctx;
    conf = &ctx->conf;

    conf->api = &jmcf->api;
    conf->batch = (int) jmcf->outbox_batch;
    conf->max_attempts = (int) jmcf->outbox_max_attempts;
    conf->backoff = (long long) jmcf->outbox_backoff;
    conf->backoff_max = (long long) jmcf->outbox_backoff_max;
    conf->keep = (long long) jmcf->outbox_keep;

    /* a pass stops claiming rows after about one Jira call's time, so
       that a worker's exit waits for little more than that */
    conf->budget = (long long) ngx_max(jmcf->jira_timeout,
                                       jmcf->outbox_interval);

    ob->task->handler = ngx_http_jira_sync_outbox_work;
    ob->task->event.handler = ngx_http_jira_sync_outbox_done;
    ob->task->event.data = ob->task;

    ob->dummy.fd = (ngx_socket_t) -1;

    ob->timer.handler = ngx_http_jira_sync_outbox_timer;
    ob->timer.data = &ob->dummy;
    ob->timer.log = cycle->log;
    ob->timer.cancelable = 1;

    /* the first purge waits a while: workers start together */
    ob->purged = ngx_time();

    ngx_http_jira_sync_outbox_arm(jmcf->outbox_interval);

    return NGX_OK;
}


static void
ngx_http_jira_sync_outbox_timer(ngx_event_t *ev)
{
    ngx_http_jira_sync_outbox_t      *ob;
    ngx_http_jira_sync_outbox_ctx_t  *ctx;

    ob = &ngx_http_jira_sync_outbox;

    if (ngx_exiting || ngx_quit || ngx_terminate || ob->busy) {
        return;
    }

    ctx = ob->task->ctx;

    ctx->conf.purge = 0;

    if (ngx_time() - ob->purged >= NGX_HTTP_JIRA_SYNC_OUTBOX_PURGE_EVERY) {
        ctx->conf.purge = 1;
        ob->purged = ngx_time();
    }

    if (ngx_thread_task_post(ob->jmcf->thread_pool, ob->task) != NGX_OK) {
        /* the queue is full (the pool logged it): webhooks come first */
        ngx_http_jira_sync_outbox_arm(ob->jmcf->outbox_interval);
        return;
    }

    ob->busy = 1;
}


/* a pool thread: no nginx pools, logs or shared memory from here */

static void
ngx_http_jira_sync_outbox_work(void *data, ngx_log_t *log)
{
    ngx_http_jira_sync_outbox_ctx_t  *ctx = data;

    jira_outbox_drain(&ctx->conf, &ctx->result);
}


static void
ngx_http_jira_sync_outbox_done(ngx_event_t *ev)
{
    jira_outbox_result_t             *res;
    ngx_http_jira_sync_outbox_t      *ob;
    ngx_http_jira_sync_main_conf_t   *jmcf;
    ngx_http_jira_sync_outbox_ctx_t  *ctx;

    ob = &ngx_http_jira_sync_outbox;
    ob->busy = 0;

    jmcf = ob->jmcf;
    ctx = ob->task->ctx;
    res = &ctx->result;

    ngx_http_jira_sync_log_lines(ob->log, &res->log);

    if (res->log.dropped) {
        /* the rows' own lines did not all fit: the pass in numbers */
        ngx_log_error(NGX_LOG_INFO, ob->log, 0,
                      "jira_sync: outbound-pass delivered=%ui retried=%ui"
                      " failed=%ui dead=%ui skipped=%ui",
                      (ngx_uint_t) res->delivered, (ngx_uint_t) res->retried,
                      (ngx_uint_t) res->failed, (ngx_uint_t) res->dead,
                      (ngx_uint_t) res->skipped);
    }

    ngx_http_jira_sync_metrics_add(jmcf, NGX_HTTP_JIRA_SYNC_OUTBOX_PASSES, 1);
    ngx_http_jira_sync_metrics_add(jmcf, NGX_HTTP_JIRA_SYNC_OUTBOX_DELIVERED,
                                   res->delivered);
    ngx_http_jira_sync_metrics_add(jmcf, NGX_HTTP_JIRA_SYNC_OUTBOX_RETRIED,
                                   res->retried);
    ngx_http_jira_sync_metrics_add(jmcf, NGX_HTTP_JIRA_SYNC_OUTBOX_FAILED,
                                   res->failed);
    ngx_http_jira_sync_metrics_add(jmcf, NGX_HTTP_JIRA_SYNC_OUTBOX_DEAD,
                                   res->dead);
    ngx_http_jira_sync_metrics_add(jmcf, NGX_HTTP_JIRA_SYNC_OUTBOX_SKIPPED,
                                   res->skipped);

    if (res->purged > 0) {
        ngx_log_error(NGX_LOG_INFO, ob->log, 0,
                      "jira_sync: outbound-purged rows=%l", res->purged);
    }

    if (res->err != JIRA_OK) {
        ngx_http_jira_sync_metrics_add(jmcf, NGX_HTTP_JIRA_SYNC_OUTBOX_ERRORS,
                                       1);

        /* while the database is away every pass fails the same way */
        if (ngx_time() - ob->error_logged
            >= NGX_HTTP_JIRA_SYNC_OUTBOX_ERROR_EVERY)
        {
            ngx_log_error(NGX_LOG_ERR, ob->log, 0,
                          "jira_sync: outbox drain failed: %s",
                          res->error);
            ob->error_logged = ngx_time();
        }

    } else {
        ob->error_logged = 0;
    }

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    /* a full pass means more rows may be due: go on at once */
    ngx_http_jira_sync_outbox_arm(res->more ? 1 : jmcf->outbox_interval);
}


static void
ngx_http_jira_sync_outbox_arm(ngx_msec_t delay)
{
    ngx_http_jira_sync_outbox_t  *ob;

    ob = &ngx_http_jira_sync_outbox;

    ngx_add_timer(&ob->timer, delay);
}
