
/*
 * ngx_http_jira_sync_module: directives, configuration and the worker
 * life cycle.  The request handlers live in their own files.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jira_sync_module.h"
#include "jira_http.h"


static void *ngx_http_jira_sync_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_jira_sync_init_main_conf(ngx_conf_t *cf, void *conf);
static char *ngx_http_jira_sync_thread_pool(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_jira_sync_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_jira_sync_public_url(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_jira_sync_read_key(ngx_conf_t *cf,
    ngx_http_jira_sync_main_conf_t *jmcf);
static char *ngx_http_jira_sync_handler_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_jira_sync_outbox_backoff(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_jira_sync_outbox_conf(ngx_conf_t *cf,
    ngx_http_jira_sync_main_conf_t *jmcf);
static ngx_int_t ngx_http_jira_sync_init_process(ngx_cycle_t *cycle);
static void ngx_http_jira_sync_exit_process(ngx_cycle_t *cycle);


static ngx_conf_num_bounds_t  ngx_http_jira_sync_region_bounds = {
    ngx_conf_check_num_bounds, 0, 4095
};


static ngx_conf_num_bounds_t  ngx_http_jira_sync_batch_bounds = {
    ngx_conf_check_num_bounds, 1, 10000
};


static ngx_conf_num_bounds_t  ngx_http_jira_sync_attempts_bounds = {
    ngx_conf_check_num_bounds, 1, 1000
};


static ngx_command_t  ngx_http_jira_sync_commands[] = {

    { ngx_string("jira_sync_db"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, db),
      NULL },

    { ngx_string("jira_sync_db_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, db_timeout),
      NULL },

    { ngx_string("jira_sync_db_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, db_connect_timeout),
      NULL },

    { ngx_string("jira_sync_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_jira_sync_thread_pool,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jira_sync_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_jira_sync_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jira_sync_cache_valid"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, cache_valid),
      NULL },

    { ngx_string("jira_sync_secret_recheck"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, secret_recheck),
      NULL },

    { ngx_string("jira_sync_retry_after"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, retry_after),
      NULL },

    { ngx_string("jira_sync_snowflake"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, snowflake),
      NULL },

    { ngx_string("jira_sync_snowflake_region"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, snowflake_region),
      &ngx_http_jira_sync_region_bounds },

    { ngx_string("jira_sync_public_url"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_jira_sync_public_url,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jira_sync_secret_key_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, secret_key_file),
      NULL },

    { ngx_string("jira_sync_jira_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, jira_timeout),
      NULL },

    { ngx_string("jira_sync_jira_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, jira_connect_timeout),
      NULL },

    { ngx_string("jira_sync_jira_ca_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, jira_ca_file),
      NULL },

    { ngx_string("jira_sync_jira_proxy"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, jira_proxy),
      NULL },

    { ngx_string("jira_sync_pipeline_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, pipeline_ttl),
      NULL },

    { ngx_string("jira_sync_outbox_drain"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, outbox_drain),
      NULL },

    { ngx_string("jira_sync_outbox_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, outbox_interval),
      NULL },

    { ngx_string("jira_sync_outbox_batch"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, outbox_batch),
      &ngx_http_jira_sync_batch_bounds },

    { ngx_string("jira_sync_outbox_max_attempts"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, outbox_max_attempts),
      &ngx_http_jira_sync_attempts_bounds },

    { ngx_string("jira_sync_outbox_backoff"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_jira_sync_outbox_backoff,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jira_sync_outbox_keep"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, outbox_keep),
      NULL },

    { ngx_string("jira_sync_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_jira_sync_handler_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      ngx_http_jira_sync_metrics_handler },

    { ngx_string("jira_sync_webhook"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_jira_sync_handler_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      ngx_http_jira_sync_webhook_handler },

    { ngx_string("jira_sync_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_jira_sync_handler_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      ngx_http_jira_sync_api_handler },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_jira_sync_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_jira_sync_create_main_conf,   /* create main configuration */
    ngx_http_jira_sync_init_main_conf,     /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_jira_sync_module = {
    NGX_MODULE_V1,
    &ngx_http_jira_sync_module_ctx,        /* module context */
    ngx_http_jira_sync_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_jira_sync_init_process,       /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_jira_sync_exit_process,       /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_jira_sync_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_jira_sync_main_conf_t  *jmcf;

    jmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_jira_sync_main_conf_t));
    if (jmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     jmcf->db = { 0, NULL };
     *     jmcf->thread_pool_name = { 0, NULL };
     *     jmcf->thread_pool = NULL;
     *     jmcf->zone = NULL;
     *     jmcf->used = 0;
     */

    jmcf->db_timeout = NGX_CONF_UNSET_MSEC;
    jmcf->db_connect_timeout = NGX_CONF_UNSET;
    jmcf->retry_after = NGX_CONF_UNSET;
    jmcf->cache_valid = NGX_CONF_UNSET;
    jmcf->secret_recheck = NGX_CONF_UNSET;
    jmcf->snowflake = NGX_CONF_UNSET;
    jmcf->snowflake_region = NGX_CONF_UNSET;
    jmcf->jira_timeout = NGX_CONF_UNSET_MSEC;
    jmcf->jira_connect_timeout = NGX_CONF_UNSET_MSEC;
    jmcf->pipeline_ttl = NGX_CONF_UNSET;
    jmcf->outbox_drain = NGX_CONF_UNSET;
    jmcf->outbox_interval = NGX_CONF_UNSET_MSEC;
    jmcf->outbox_batch = NGX_CONF_UNSET_UINT;
    jmcf->outbox_max_attempts = NGX_CONF_UNSET_UINT;
    jmcf->outbox_backoff = NGX_CONF_UNSET_MSEC;
    jmcf->outbox_backoff_max = NGX_CONF_UNSET_MSEC;
    jmcf->outbox_keep = NGX_CONF_UNSET;

    return jmcf;
}


static char *
ngx_http_jira_sync_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_jira_sync_main_conf_t  *jmcf = conf;

    ngx_str_t  name = ngx_string("default");

    ngx_conf_init_msec_value(jmcf->db_timeout, 5000);
    ngx_conf_init_value(jmcf->db_connect_timeout, 5);
    ngx_conf_init_value(jmcf->retry_after, 5);
    ngx_conf_init_value(jmcf->cache_valid, 60);
    ngx_conf_init_value(jmcf->secret_recheck, 1);
    ngx_conf_init_value(jmcf->snowflake, 0);
    ngx_conf_init_value(jmcf->snowflake_region, 0);
    ngx_conf_init_msec_value(jmcf->jira_timeout, 15000);
    ngx_conf_init_msec_value(jmcf->jira_connect_timeout, 5000);
    ngx_conf_init_value(jmcf->pipeline_ttl, 3600);

    if (jmcf->db_connect_timeout < 1) {
        /* libpq reads 0 as "wait forever" */
        jmcf->db_connect_timeout = 1;
    }

    if (!jmcf->used) {
        return NGX_CONF_OK;
    }

    if (jmcf->db.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"jira_sync_webhook\" and \"jira_sync_api\" "
                           "need \"jira_sync_db\" in the http block");
        return NGX_CONF_ERROR;
    }

    if (jmcf->thread_pool == NULL) {
        jmcf->thread_pool_name = name;
        jmcf->thread_pool = ngx_thread_pool_add(cf, &name);
        if (jmcf->thread_pool == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    /* directive arguments are NUL-terminated, as libpq wants them */
    jmcf->store.conninfo = (const char *) jmcf->db.data;
    jmcf->store.statement_timeout = (int) jmcf->db_timeout;
    jmcf->store.connect_timeout = (int) jmcf->db_connect_timeout;

    jmcf->api.store = &jmcf->store;
    jmcf->api.snowflake = (int) jmcf->snowflake;
    jmcf->api.snowflake_region = (int) jmcf->snowflake_region;
    jmcf->api.public_url = jmcf->public_url.len
                           ? (const char *) jmcf->public_url.data : NULL;
    jmcf->api.jira_timeout = (int) jmcf->jira_timeout;
    jmcf->api.jira_connect_timeout = (int) jmcf->jira_connect_timeout;
    jmcf->api.jira_ca_file = jmcf->jira_ca_file.len
                             ? (const char *) jmcf->jira_ca_file.data : NULL;
    jmcf->api.jira_proxy = jmcf->jira_proxy.len
                           ? (const char *) jmcf->jira_proxy.data : NULL;
    jmcf->api.pipeline_ttl = (int) jmcf->pipeline_ttl;

    if (jmcf->secret_key_file.len) {
        if (ngx_http_jira_sync_read_key(cf, jmcf) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        jmcf->api.secret_key = jmcf->secret_key;
    }

    return ngx_http_jira_sync_outbox_conf(cf, jmcf);
}


/*
 * Outbound sync: the drain runs where stored credentials can be opened;
 * turning it on explicitly without the key is a configuration error.
 */

static char *
ngx_http_jira_sync_outbox_conf(ngx_conf_t *cf,
    ngx_http_jira_sync_main_conf_t *jmcf)
{
    if (jmcf->outbox_drain == NGX_CONF_UNSET) {
        jmcf->outbox_drain = (jmcf->secret_key_file.len != 0);

    } else if (jmcf->outbox_drain && jmcf->secret_key_file.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"jira_sync_outbox_drain on\" needs "
                           "\"jira_sync_secret_key_file\" to open the "
                           "stored Jira credentials");
        return NGX_CONF_ERROR;
    }

    ngx_conf_init_msec_value(jmcf->outbox_interval, 1000);
    ngx_conf_init_uint_value(jmcf->outbox_batch, 50);
    ngx_conf_init_uint_value(jmcf->outbox_max_attempts, 10);
    ngx_conf_init_msec_value(jmcf->outbox_backoff, 2000);
    ngx_conf_init_msec_value(jmcf->outbox_backoff_max, 600000);
    ngx_conf_init_value(jmcf->outbox_keep, 7 * 86400);

    if (jmcf->outbox_interval == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"jira_sync_outbox_interval\" must be more "
                           "than 0");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_jira_sync_metrics_zone(cf, jmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* jira_sync_outbox_backoff base [max] */

static char *
ngx_http_jira_sync_outbox_backoff(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_jira_sync_main_conf_t  *jmcf = conf;

    ngx_int_t   base, max;
    ngx_str_t  *value;

    if (jmcf->outbox_backoff != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    base = ngx_parse_time(&value[1], 0);

    if (base == NGX_ERROR || base == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid backoff \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    max = 600000;

    if (cf->args->nelts == 3) {
        max = ngx_parse_time(&value[2], 0);

        if (max == NGX_ERROR || max < base) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid maximum backoff \"%V\", it must "
                               "be a time not less than \"%V\"",
                               &value[2], &value[1]);
            return NGX_CONF_ERROR;
        }

    } else if (max < base) {
        max = base;
    }

    jmcf->outbox_backoff = (ngx_msec_t) base;
    jmcf->outbox_backoff_max = (ngx_msec_t) max;

    return NGX_CONF_OK;
}


static char *
ngx_http_jira_sync_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_jira_sync_main_conf_t  *jmcf = conf;

    ngx_str_t  *value;

    if (jmcf->thread_pool != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    jmcf->thread_pool_name = value[1];
    jmcf->thread_pool = ngx_thread_pool_add(cf, &value[1]);

    if (jmcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_jira_sync_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jira_sync_main_conf_t  *jmcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    if (jmcf->zone != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\", it must be at "
                           "least %uz bytes", &value[2], 8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    jmcf->zone = ngx_http_jira_sync_cache_add(cf, &value[1], size);
    if (jmcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_jira_sync_public_url(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jira_sync_main_conf_t  *jmcf = conf;

    ngx_str_t  *value, url;

    if (jmcf->public_url.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    url = value[1];

    if (!(url.len > 8 && ngx_strncasecmp(url.data, (u_char *) "https://", 8)
                         == 0)
        && !(url.len > 7 && ngx_strncasecmp(url.data, (u_char *) "http://", 7)
                            == 0))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"jira_sync_public_url\" must be an absolute "
                           "http:// or https:// URL, not \"%V\"", &url);
        return NGX_CONF_ERROR;
    }

    /* webhook paths are appended to it */
    while (url.len && url.data[url.len - 1] == '/') {
        url.data[--url.len] = '\0';
    }

    jmcf->public_url = url;

    return NGX_CONF_OK;
}


/*
 * The key that encrypts stored credentials: 32 bytes, written in the file
 * as 64 hex digits (surrounding white space ignored).  Read by the master
 * at configuration time, so workers never open the file.
 */

static ngx_int_t
ngx_http_jira_sync_read_key(ngx_conf_t *cf,
    ngx_http_jira_sync_main_conf_t *jmcf)
{
    u_char           buf[256], *p, *last;
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_int_t        rc, hi, lo;
    ngx_uint_t       i;
    ngx_file_t       file;
    ngx_file_info_t  fi;

    if (ngx_conf_full_name(cf->cycle, &jmcf->secret_key_file, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(jmcf->secret_key_file.data, NGX_FILE_RDONLY,
                       NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed",
                           &jmcf->secret_key_file);
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    if (ngx_fd_info(fd, &fi) != NGX_FILE_ERROR
        && (fi.st_mode & (S_IRWXG|S_IRWXO)))
    {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"%V\" is readable by other users",
                           &jmcf->secret_key_file);
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.fd = fd;
    file.name = jmcf->secret_key_file;
    file.log = cf->log;

    n = ngx_read_file(&file, buf, sizeof(buf), 0);

    if (n == NGX_ERROR) {
        goto done;
    }

    p = buf;
    last = buf + n;

    while (p < last && (*p == ' ' || *p == '\t' || *p == '\r'
                        || *p == '\n'))
    {
        p++;
    }

    while (last > p && (last[-1] == ' ' || last[-1] == '\t'
                        || last[-1] == '\r' || last[-1] == '\n'))
    {
        last--;
    }

    if (last - p != 64) {
        goto invalid;
    }

    for (i = 0; i < 32; i++) {
        hi = ngx_hextoi(&p[2 * i], 1);
        lo = ngx_hextoi(&p[2 * i + 1], 1);

        if (hi == NGX_ERROR || lo == NGX_ERROR) {
            goto invalid;
        }

        jmcf->secret_key[i] = (u_char) (hi << 4 | lo);
    }

    rc = NGX_OK;
    goto done;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" must hold 64 hex digits (a 256-bit key)",
                       &jmcf->secret_key_file);

done:

    ngx_explicit_memzero(buf, sizeof(buf));

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed",
                      &jmcf->secret_key_file);
    }

    return rc;
}


static char *
ngx_http_jira_sync_handler_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_jira_sync_main_conf_t  *jmcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler != NULL) {
        return "is duplicate";
    }

    clcf->handler = (ngx_http_handler_pt) cmd->post;
    jmcf->used = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_jira_sync_init_process(ngx_cycle_t *cycle)
{
    ngx_http_jira_sync_main_conf_t  *jmcf;

    jmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_jira_sync_module);

    if (jmcf == NULL || !jmcf->used) {
        return NGX_OK;
    }

    /* connections are made later, by each pool thread, never before fork */
    if (jira_store_process_init() != 0 || jira_http_process_init() != 0) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "jira_sync: could not initialise libpq or libcurl");
        return NGX_ERROR;
    }

    return ngx_http_jira_sync_outbox_init(cycle, jmcf);
}


/*
 * The thread pool module (a core module, so earlier in the module list)
 * has stopped the pool threads by now: their connections can be closed.
 */

static void
ngx_http_jira_sync_exit_process(ngx_cycle_t *cycle)
{
    jira_store_process_exit();
}
