
/*
 * ngx_http_jira_sync_module: directives, configuration and the worker
 * life cycle.  The request handlers live in their own files.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jira_sync_module.h"


static void *ngx_http_jira_sync_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_jira_sync_init_main_conf(ngx_conf_t *cf, void *conf);
static char *ngx_http_jira_sync_thread_pool(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_jira_sync_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_jira_sync_handler_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_jira_sync_init_process(ngx_cycle_t *cycle);


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

    { ngx_string("jira_sync_retry_after"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jira_sync_main_conf_t, retry_after),
      NULL },

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
    NULL,                                  /* exit process */
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
    if (jira_store_process_init() != 0) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "jira_sync: could not create thread-specific storage");
        return NGX_ERROR;
    }

    return NGX_OK;
}
