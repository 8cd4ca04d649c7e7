
/*
 * jira_sync_metrics: Prometheus text.  Counters live in a small shared
 * zone that every worker adds to (they survive reloads, not restarts);
 * the outbox's state is read from PostgreSQL on a pool thread at each
 * scrape, so it is the same on every node.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jira_sync_module.h"
#include "jira_outbox.h"


#define NGX_HTTP_JIRA_SYNC_METRICS_LEN  4096


typedef struct {
    ngx_atomic_t                 counters[NGX_HTTP_JIRA_SYNC_COUNTERS];
} ngx_http_jira_sync_metrics_sh_t;


/* filled on a pool thread */
typedef struct {
    const jira_store_conf_t     *store;
    jira_err_e                   err;
    char                         error[512];
    jira_outbox_stats_t          stats;
} ngx_http_jira_sync_metrics_ctx_t;


typedef struct {
    const char                  *name;
    const char                  *help;
    const char                  *labels;     /* "", or {name="value"} */
} ngx_http_jira_sync_metric_t;


static ngx_int_t ngx_http_jira_sync_metrics_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);
static void ngx_http_jira_sync_metrics_work(void *data);
static void ngx_http_jira_sync_metrics_done(ngx_http_request_t *r,
    void *data);
static ngx_int_t ngx_http_jira_sync_metrics_send(ngx_http_request_t *r,
    ngx_http_jira_sync_metrics_ctx_t *ctx);


/* in the order of ngx_http_jira_sync_counter_e */
static ngx_http_jira_sync_metric_t  ngx_http_jira_sync_counters[] = {
    { "jira_sync_outbox_deliveries_total",
      "Outbound changes Jira took, by this node.", "" },
    { "jira_sync_outbox_retries_total",
      "Failed delivery attempts scheduled for a retry, by this node.", "" },
    { "jira_sync_outbox_failed_total",
      "Outbound changes Jira refused for good, by this node.", "" },
    { "jira_sync_outbox_dead_total",
      "Outbound changes that used up their attempts, by this node.", "" },
    { "jira_sync_outbox_skipped_total",
      "Outbound changes whose sync was turned off before delivery,"
      " by this node.", "" },
    { "jira_sync_outbox_passes_total",
      "Outbox drain passes run by this node.", "" },
    { "jira_sync_outbox_drain_errors_total",
      "Outbox drain passes ended by a database error, on this node.", "" },
    { "jira_sync_webhooks_total",
      "Webhook deliveries answered by this node, by outcome.",
      "{outcome=\"ok\"}" },
    { "jira_sync_webhooks_total", NULL, "{outcome=\"rejected\"}" },
    { "jira_sync_webhooks_total", NULL, "{outcome=\"unavailable\"}" },
    { "jira_sync_webhooks_total", NULL, "{outcome=\"error\"}" },
    { "jira_sync_assignments_total",
      "Groups assigned by webhooks on this node.", "" },
    { "jira_sync_deassignments_total",
      "Groups deassigned by webhooks on this node.", "" },
    { "jira_sync_database_errors_total",
      "Webhooks and API calls on this node that failed in PostgreSQL.",
      "" }
};


/* the upper bounds of the latency buckets, in ms, -1 for +Inf */
static ngx_int_t  ngx_http_jira_sync_buckets[] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 5000, -1
};


ngx_int_t
ngx_http_jira_sync_metrics_zone(ngx_conf_t *cf,
    ngx_http_jira_sync_main_conf_t *jmcf)
{
    ngx_str_t        name = ngx_string("ngx_http_jira_sync_metrics");
    ngx_shm_zone_t  *zone;

    zone = ngx_shared_memory_add(cf, &name, 8 * ngx_pagesize,
                                 &ngx_http_jira_sync_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_http_jira_sync_metrics_init_zone;
    jmcf->metrics_zone = zone;

    return NGX_OK;
}


static ngx_int_t
ngx_http_jira_sync_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t                  *shpool;
    ngx_http_jira_sync_metrics_sh_t  *sh;

    if (data != NULL) {
        /* a reload keeps the memory: the counters go on */
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_http_jira_sync_metrics_sh_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    shpool->data = sh;
    shm_zone->data = sh;

    return NGX_OK;
}


void
ngx_http_jira_sync_metrics_add(ngx_http_jira_sync_main_conf_t *jmcf,
    ngx_http_jira_sync_counter_e counter, ngx_atomic_int_t n)
{
    ngx_http_jira_sync_metrics_sh_t  *sh;

    if (n == 0 || jmcf->metrics_zone == NULL) {
        return;
    }

    sh = jmcf->metrics_zone->data;

    if (sh != NULL) {
        (void) ngx_atomic_fetch_add(&sh->counters[counter], n);
    }
}


ngx_int_t
ngx_http_jira_sync_metrics_handler(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    ngx_http_jira_sync_main_conf_t    *jmcf;
    ngx_http_jira_sync_metrics_ctx_t  *ctx;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_jira_sync_method_not_allowed(r, "GET, HEAD");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jira_sync_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_jira_sync_metrics_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->store = &jmcf->store;

    r->main->count++;

    rc = ngx_http_jira_sync_post(r, ngx_http_jira_sync_metrics_work,
                                 ngx_http_jira_sync_metrics_done, ctx);

    if (rc == NGX_DECLINED) {
        /* the pool is busy: the counters still answer */
        ctx->err = JIRA_EUNAVAIL;
        ngx_http_finalize_request(r, ngx_http_jira_sync_metrics_send(r, ctx));

    } else if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }

    return NGX_DONE;
}


static void
ngx_http_jira_sync_metrics_work(void *data)
{
    ngx_http_jira_sync_metrics_ctx_t  *ctx = data;

    jira_store_t  *st;

    st = jira_store_thread(ctx->store, &ctx->err);

    if (st != NULL) {
        ctx->err = jira_outbox_stats(st, &ctx->stats);
    }

    if (ctx->err != JIRA_OK) {
        (void) snprintf(ctx->error, sizeof(ctx->error), "%s",
                        jira_store_error());
    }
}


static void
ngx_http_jira_sync_metrics_done(ngx_http_request_t *r, void *data)
{
    ngx_http_jira_sync_metrics_ctx_t  *ctx = data;

    if (ctx->err != JIRA_OK && ctx->error[0] != '\0') {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "jira_sync: metrics without the outbox's state: %s",
                      ctx->error);
    }

    ngx_http_finalize_request(r, ngx_http_jira_sync_metrics_send(r, ctx));
}


static ngx_int_t
ngx_http_jira_sync_metrics_send(ngx_http_request_t *r,
    ngx_http_jira_sync_metrics_ctx_t *ctx)
{
    u_char                           *buf, *p, *last;
    ngx_uint_t                        i;
    ngx_atomic_uint_t                 value, total;
    ngx_http_jira_sync_metric_t      *m;
    jira_outbox_stats_t              *s;
    ngx_http_jira_sync_main_conf_t   *jmcf;
    ngx_http_jira_sync_metrics_sh_t  *sh;

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jira_sync_module);

    buf = ngx_pnalloc(r->pool, NGX_HTTP_JIRA_SYNC_METRICS_LEN);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = buf;
    last = buf + NGX_HTTP_JIRA_SYNC_METRICS_LEN;

    p = ngx_slprintf(p, last,
                     "# HELP jira_sync_database_up Whether the outbox's"
                     " state below could be read from PostgreSQL.\n"
                     "# TYPE jira_sync_database_up gauge\n"
                     "jira_sync_database_up %d\n",
                     ctx->err == JIRA_OK ? 1 : 0);

    if (ctx->err == JIRA_OK) {
        s = &ctx->stats;

        p = ngx_slprintf(p, last,
                "# HELP jira_sync_outbox_pending Outbound changes waiting"
                " for delivery (the whole outbox).\n"
                "# TYPE jira_sync_outbox_pending gauge\n"
                "jira_sync_outbox_pending %L\n"
                "# HELP jira_sync_outbox_due Pending outbound changes whose"
                " next attempt is due.\n"
                "# TYPE jira_sync_outbox_due gauge\n"
                "jira_sync_outbox_due %L\n"
                "# HELP jira_sync_outbox_oldest_pending_seconds Age of the"
                " oldest pending outbound change.\n"
                "# TYPE jira_sync_outbox_oldest_pending_seconds gauge\n"
                "jira_sync_outbox_oldest_pending_seconds %.3f\n"
                "# HELP jira_sync_outbox_dead Outbound changes that used up"
                " their attempts (the whole outbox).\n"
                "# TYPE jira_sync_outbox_dead gauge\n"
                "jira_sync_outbox_dead %L\n"
                "# HELP jira_sync_outbox_failed Outbound changes Jira"
                " refused for good (the whole outbox).\n"
                "# TYPE jira_sync_outbox_failed gauge\n"
                "jira_sync_outbox_failed %L\n",
                (int64_t) s->pending, (int64_t) s->due, s->oldest,
                (int64_t) s->dead, (int64_t) s->failed);
    }

    sh = jmcf->metrics_zone ? jmcf->metrics_zone->data : NULL;

    for (i = 0; i < NGX_HTTP_JIRA_SYNC_LATENCY_5MS; i++) {
        m = &ngx_http_jira_sync_counters[i];
        value = sh ? sh->counters[i] : 0;

        if (m->help != NULL) {
            p = ngx_slprintf(p, last, "# HELP %s %s\n# TYPE %s counter\n",
                             m->name, m->help, m->name);
        }

        p = ngx_slprintf(p, last, "%s%s %uA\n", m->name, m->labels, value);
    }

    /* the histogram: buckets are kept apart and summed up here */
    p = ngx_slprintf(p, last,
                     "# HELP jira_sync_webhook_duration_seconds Time from"
                     " a webhook's arrival to its answer, on this node.\n"
                     "# TYPE jira_sync_webhook_duration_seconds"
                     " histogram\n");

    total = 0;

    for (i = 0; i <= NGX_HTTP_JIRA_SYNC_LATENCY_INF
                     - NGX_HTTP_JIRA_SYNC_LATENCY_5MS; i++)
    {
        total += sh ? sh->counters[NGX_HTTP_JIRA_SYNC_LATENCY_5MS + i] : 0;

        if (ngx_http_jira_sync_buckets[i] < 0) {
            p = ngx_slprintf(p, last, "jira_sync_webhook_duration_seconds"
                             "_bucket{le=\"+Inf\"} %uA\n", total);

        } else {
            p = ngx_slprintf(p, last, "jira_sync_webhook_duration_seconds"
                             "_bucket{le=\"%.3f\"} %uA\n",
                             ngx_http_jira_sync_buckets[i] / 1000.0, total);
        }
    }

    value = sh ? sh->counters[NGX_HTTP_JIRA_SYNC_LATENCY_SUM_MS] : 0;

    p = ngx_slprintf(p, last,
                     "jira_sync_webhook_duration_seconds_sum %.3f\n"
                     "jira_sync_webhook_duration_seconds_count %uA\n",
                     value / 1000.0, total);

    return ngx_http_jira_sync_send(r, NGX_HTTP_OK,
                                   "text/plain; version=0.0.4;"
                                   " charset=utf-8", buf, p - buf);
}


/* a webhook's answer: its outcome and how long it took */

void
ngx_http_jira_sync_metrics_webhook(ngx_http_request_t *r, ngx_uint_t status)
{
    ngx_uint_t                       i;
    ngx_time_t                      *tp;
    ngx_msec_int_t                   ms;
    ngx_http_jira_sync_counter_e     outcome;
    ngx_http_jira_sync_main_conf_t  *jmcf;

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jira_sync_module);

    if (jmcf->metrics_zone == NULL) {
        return;
    }

    if (status == NGX_HTTP_OK) {
        outcome = NGX_HTTP_JIRA_SYNC_WEBHOOKS_OK;

    } else if (status == NGX_HTTP_SERVICE_UNAVAILABLE) {
        outcome = NGX_HTTP_JIRA_SYNC_WEBHOOKS_UNAVAILABLE;

    } else if (status >= NGX_HTTP_INTERNAL_SERVER_ERROR) {
        outcome = NGX_HTTP_JIRA_SYNC_WEBHOOKS_FAILED;

    } else {
        outcome = NGX_HTTP_JIRA_SYNC_WEBHOOKS_REJECTED;
    }

    ngx_http_jira_sync_metrics_add(jmcf, outcome, 1);

    tp = ngx_timeofday();
    ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                           + (tp->msec - r->start_msec));
    ms = ngx_max(ms, 0);

    for (i = 0; ngx_http_jira_sync_buckets[i] >= 0
                && ms > ngx_http_jira_sync_buckets[i]; i++)
    {
        /* void */
    }

    ngx_http_jira_sync_metrics_add(jmcf, NGX_HTTP_JIRA_SYNC_LATENCY_5MS + i,
                                   1);
    ngx_http_jira_sync_metrics_add(jmcf, NGX_HTTP_JIRA_SYNC_LATENCY_SUM_MS,
                                   ms);
}
