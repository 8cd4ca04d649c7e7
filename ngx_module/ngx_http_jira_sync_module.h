
/*
 * ngx_http_jira_sync_module: declarations shared by the glue files.
 */


#ifndef _NGX_HTTP_JIRA_SYNC_MODULE_H_INCLUDED_
#define _NGX_HTTP_JIRA_SYNC_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jira_api.h"
#include "jira_body.h"
#include "jira_log.h"
#include "jira_store.h"


typedef struct {
    ngx_str_t                 db;
    ngx_str_t                 thread_pool_name;
    ngx_thread_pool_t        *thread_pool;
    ngx_shm_zone_t           *zone;
    ngx_msec_t                db_timeout;
    time_t                    db_connect_timeout;
    time_t                    retry_after;
    time_t                    cache_valid;
    time_t                    secret_recheck;
    ngx_flag_t                snowflake;
    ngx_int_t                 snowflake_region;
    ngx_str_t                 public_url;
    ngx_str_t                 secret_key_file;
    u_char                    secret_key[32];
    ngx_msec_t                jira_timeout;
    ngx_msec_t                jira_connect_timeout;
    ngx_str_t                 jira_ca_file;
    ngx_str_t                 jira_proxy;
    time_t                    pipeline_ttl;
    ngx_flag_t                outbox_drain;
    ngx_msec_t                outbox_interval;
    ngx_uint_t                outbox_batch;
    ngx_uint_t                outbox_max_attempts;
    ngx_msec_t                outbox_backoff;
    ngx_msec_t                outbox_backoff_max;
    time_t                    outbox_keep;
    ngx_shm_zone_t           *metrics_zone;
    ngx_flag_t                used;
    jira_store_conf_t         store;
    jira_api_conf_t           api;
} ngx_http_jira_sync_main_conf_t;


#define NGX_HTTP_JIRA_SYNC_MAX_SEGMENTS  8


/* the path segments after "/api/0/" (or another endpoint prefix) */
typedef struct {
    ngx_uint_t                n;
    ngx_str_t                 seg[NGX_HTTP_JIRA_SYNC_MAX_SEGMENTS];
} ngx_http_jira_sync_path_t;


/* an integration's webhook secret as the zone keeps it */
typedef struct {
    int64_t                   integration_id;
    ngx_int_t                 status;
    ngx_str_t                 secret;         /* NUL-terminated */
    time_t                    age;            /* s since it was read */
} ngx_http_jira_sync_secret_t;


/* work for a pool thread: plain data in, plain data out */
typedef void (*ngx_http_jira_sync_work_pt)(void *data);
typedef void (*ngx_http_jira_sync_done_pt)(ngx_http_request_t *r,
    void *data);


extern ngx_module_t  ngx_http_jira_sync_module;


/* ngx_http_jira_sync_task.c */
ngx_int_t ngx_http_jira_sync_post(ngx_http_request_t *r,
    ngx_http_jira_sync_work_pt work, ngx_http_jira_sync_done_pt done,
    void *data);

/* ngx_http_jira_sync_reply.c */
ngx_int_t ngx_http_jira_sync_body(ngx_http_request_t *r, jira_body_t *body);
ngx_int_t ngx_http_jira_sync_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *content_type, u_char *data, size_t len);
ngx_int_t ngx_http_jira_sync_send_detail(ngx_http_request_t *r,
    ngx_uint_t status, const char *detail);
ngx_int_t ngx_http_jira_sync_send_unavailable(ngx_http_request_t *r);
ngx_int_t ngx_http_jira_sync_send_error(ngx_http_request_t *r,
    jira_err_e err, const char *error);
void ngx_http_jira_sync_log_lines(ngx_log_t *log, jira_log_t *lines);
ngx_int_t ngx_http_jira_sync_method_not_allowed(ngx_http_request_t *r,
    const char *allow);
ngx_int_t ngx_http_jira_sync_not_found(ngx_http_request_t *r);

/* ngx_http_jira_sync_cache.c */
ngx_shm_zone_t *ngx_http_jira_sync_cache_add(ngx_conf_t *cf,
    ngx_str_t *name, size_t size);
ngx_int_t ngx_http_jira_sync_cache_get(ngx_shm_zone_t *zone, int64_t key,
    ngx_str_t *version, ngx_str_t *value, ngx_pool_t *pool,
    uint64_t *stamp);
void ngx_http_jira_sync_cache_put(ngx_shm_zone_t *zone, int64_t key,
    ngx_str_t *version, ngx_str_t *value, uint64_t stamp, time_t valid);
void ngx_http_jira_sync_cache_invalidate(ngx_shm_zone_t *zone,
    int64_t key);
void ngx_http_jira_sync_cache_flush(ngx_shm_zone_t *zone);
ngx_int_t ngx_http_jira_sync_secret_get(ngx_shm_zone_t *zone,
    ngx_str_t *external_id, ngx_http_jira_sync_secret_t *secret,
    ngx_pool_t *pool, uint64_t *stamp);
void ngx_http_jira_sync_secret_put(ngx_shm_zone_t *zone,
    ngx_str_t *external_id, ngx_http_jira_sync_secret_t *secret,
    uint64_t stamp, time_t valid);
void ngx_http_jira_sync_secret_invalidate(ngx_shm_zone_t *zone,
    ngx_str_t *external_id);

/* counters every worker adds to, in the metrics zone */
typedef enum {
    NGX_HTTP_JIRA_SYNC_OUTBOX_DELIVERED = 0,
    NGX_HTTP_JIRA_SYNC_OUTBOX_RETRIED,
    NGX_HTTP_JIRA_SYNC_OUTBOX_FAILED,
    NGX_HTTP_JIRA_SYNC_OUTBOX_DEAD,
    NGX_HTTP_JIRA_SYNC_OUTBOX_SKIPPED,
    NGX_HTTP_JIRA_SYNC_OUTBOX_PASSES,
    NGX_HTTP_JIRA_SYNC_OUTBOX_ERRORS,
    NGX_HTTP_JIRA_SYNC_WEBHOOKS_OK,
    NGX_HTTP_JIRA_SYNC_WEBHOOKS_REJECTED,
    NGX_HTTP_JIRA_SYNC_WEBHOOKS_UNAVAILABLE,
    NGX_HTTP_JIRA_SYNC_WEBHOOKS_FAILED,
    NGX_HTTP_JIRA_SYNC_ASSIGNMENTS,
    NGX_HTTP_JIRA_SYNC_DEASSIGNMENTS,
    NGX_HTTP_JIRA_SYNC_DB_ERRORS,
    /* webhook latency: one counter per bucket (cumulative when shown) */
    NGX_HTTP_JIRA_SYNC_LATENCY_5MS,
    NGX_HTTP_JIRA_SYNC_LATENCY_10MS,
    NGX_HTTP_JIRA_SYNC_LATENCY_25MS,
    NGX_HTTP_JIRA_SYNC_LATENCY_50MS,
    NGX_HTTP_JIRA_SYNC_LATENCY_100MS,
    NGX_HTTP_JIRA_SYNC_LATENCY_250MS,
    NGX_HTTP_JIRA_SYNC_LATENCY_500MS,
    NGX_HTTP_JIRA_SYNC_LATENCY_1S,
    NGX_HTTP_JIRA_SYNC_LATENCY_5S,
    NGX_HTTP_JIRA_SYNC_LATENCY_INF,
    NGX_HTTP_JIRA_SYNC_LATENCY_SUM_MS,
    NGX_HTTP_JIRA_SYNC_COUNTERS
} ngx_http_jira_sync_counter_e;

/* ngx_http_jira_sync_outbox.c */
ngx_int_t ngx_http_jira_sync_outbox_init(ngx_cycle_t *cycle,
    ngx_http_jira_sync_main_conf_t *jmcf);

/* ngx_http_jira_sync_metrics.c */
ngx_int_t ngx_http_jira_sync_metrics_zone(ngx_conf_t *cf,
    ngx_http_jira_sync_main_conf_t *jmcf);
void ngx_http_jira_sync_metrics_add(ngx_http_jira_sync_main_conf_t *jmcf,
    ngx_http_jira_sync_counter_e counter, ngx_atomic_int_t n);
ngx_int_t ngx_http_jira_sync_metrics_handler(ngx_http_request_t *r);
void ngx_http_jira_sync_metrics_webhook(ngx_http_request_t *r,
    ngx_uint_t status);

/* ngx_http_jira_sync_webhook.c, ngx_http_jira_sync_api.c */
ngx_int_t ngx_http_jira_sync_webhook_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_jira_sync_api_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_jira_sync_call(ngx_http_request_t *r,
    ngx_http_jira_sync_path_t *path, const jira_api_route_t *route);


#endif /* _NGX_HTTP_JIRA_SYNC_MODULE_H_INCLUDED_ */
