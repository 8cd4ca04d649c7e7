
/*
 * Two caches in one shared zone, so that every worker sees one
 * invalidation: issue reads by group id (the assignee cache), and each
 * integration's webhook secret by external id, so that a webhook's token
 * is verified without a database round trip.
 *
 * The assignee cache:
 *
 * A read that missed fetches from PostgreSQL on a pool thread and stores
 * the answer afterwards; an invalidation may land in between.  Stamps
 * stop the stale answer: each key hashes to one of a fixed set of
 * counters that every invalidation of that key bumps; a reader keeps the
 * stamp it saw at its miss and stores only if the stamp is unchanged.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jira_sync_module.h"


#define NGX_HTTP_JIRA_SYNC_STAMPS  1024


typedef struct {
    ngx_rbtree_node_t              node;      /* key: group id */
    ngx_queue_t                    queue;     /* least recently used last */
    time_t                         expires;
    size_t                         version_len;
    size_t                         len;
    u_char                         data[1];   /* version, then value */
} ngx_http_jira_sync_cache_node_t;


typedef struct {
    ngx_str_node_t                 sn;        /* the external id */
    ngx_queue_t                    queue;
    int64_t                        integration_id;
    ngx_int_t                      status;
    time_t                         expires;
    time_t                         fetched;
    size_t                         secret_len;
    u_char                         data[1];   /* external id, secret */
} ngx_http_jira_sync_secret_node_t;


typedef struct {
    ngx_rbtree_t                   rbtree;
    ngx_rbtree_node_t              sentinel;
    ngx_queue_t                    queue;
    uint64_t                       epoch;     /* bumped by a flush */
    uint64_t                       stamps[NGX_HTTP_JIRA_SYNC_STAMPS];

    ngx_rbtree_t                   secrets;
    ngx_rbtree_node_t              secrets_sentinel;
    ngx_queue_t                    secrets_queue;
    uint64_t                       secrets_stamp;
} ngx_http_jira_sync_cache_sh_t;


typedef struct {
    ngx_http_jira_sync_cache_sh_t  *sh;
    ngx_slab_pool_t                *shpool;
} ngx_http_jira_sync_cache_t;


static ngx_int_t ngx_http_jira_sync_cache_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_jira_sync_cache_node_t *ngx_http_jira_sync_cache_lookup(
    ngx_http_jira_sync_cache_t *cache, int64_t key);
static void ngx_http_jira_sync_cache_delete(ngx_http_jira_sync_cache_t *cache,
    ngx_http_jira_sync_cache_node_t *cn);
static void ngx_http_jira_sync_secret_delete(
    ngx_http_jira_sync_cache_t *cache, ngx_http_jira_sync_secret_node_t *sn);
static uint64_t ngx_http_jira_sync_cache_stamp(
    ngx_http_jira_sync_cache_sh_t *sh, int64_t key);


ngx_shm_zone_t *
ngx_http_jira_sync_cache_add(ngx_conf_t *cf, ngx_str_t *name, size_t size)
{
    ngx_shm_zone_t              *zone;
    ngx_http_jira_sync_cache_t  *cache;

    cache = ngx_pcalloc(cf->pool, sizeof(ngx_http_jira_sync_cache_t));
    if (cache == NULL) {
        return NULL;
    }

    zone = ngx_shared_memory_add(cf, name, size, &ngx_http_jira_sync_module);
    if (zone == NULL) {
        return NULL;
    }

    if (zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", name);
        return NULL;
    }

    zone->init = ngx_http_jira_sync_cache_init_zone;
    zone->data = cache;

    return zone;
}


static ngx_int_t
ngx_http_jira_sync_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_jira_sync_cache_t  *ocache = data;

    size_t                       len;
    ngx_http_jira_sync_cache_t  *cache;

    cache = shm_zone->data;
    cache->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (ocache && ocache->sh) {
        /* a reload: keep what the zone holds */
        cache->shpool = ocache->shpool;
        cache->sh = ocache->sh;
        return NGX_OK;
    }

    if (shm_zone->shm.exists) {
        cache->sh = cache->shpool->data;
        return NGX_OK;
    }

    cache->sh = ngx_slab_calloc(cache->shpool,
                                sizeof(ngx_http_jira_sync_cache_sh_t));
    if (cache->sh == NULL) {
        return NGX_ERROR;
    }

    cache->shpool->data = cache->sh;

    ngx_rbtree_init(&cache->sh->rbtree, &cache->sh->sentinel,
                    ngx_rbtree_insert_value);
    ngx_queue_init(&cache->sh->queue);

    ngx_rbtree_init(&cache->sh->secrets, &cache->sh->secrets_sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&cache->sh->secrets_queue);

    len = sizeof(" in jira_sync_zone \"\"") + shm_zone->shm.name.len;

    cache->shpool->log_ctx = ngx_slab_alloc(cache->shpool, len);
    if (cache->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(cache->shpool->log_ctx, " in jira_sync_zone \"%V\"%Z",
                &shm_zone->shm.name);

    cache->shpool->log_nomem = 0;

    return NGX_OK;
}


/*
 * NGX_OK with the cached value copied into pool, or NGX_DECLINED with
 * *stamp set for a later ngx_http_jira_sync_cache_put().
 */

ngx_int_t
ngx_http_jira_sync_cache_get(ngx_shm_zone_t *zone, int64_t key,
    ngx_str_t *version, ngx_str_t *value, ngx_pool_t *pool, uint64_t *stamp)
{
    ngx_http_jira_sync_cache_t       *cache;
    ngx_http_jira_sync_cache_node_t  *cn;

    cache = zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    cn = ngx_http_jira_sync_cache_lookup(cache, key);

    if (cn != NULL && cn->expires <= ngx_time()) {
        ngx_http_jira_sync_cache_delete(cache, cn);
        cn = NULL;
    }

    if (cn == NULL) {
        *stamp = ngx_http_jira_sync_cache_stamp(cache->sh, key);
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_DECLINED;
    }

    version->data = ngx_pnalloc(pool, cn->version_len + 1 + cn->len);
    if (version->data == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_ERROR;
    }

    /* the version NUL-terminated, for the pool thread */
    version->len = cn->version_len;
    ngx_memcpy(version->data, cn->data, cn->version_len);
    version->data[cn->version_len] = '\0';

    value->data = version->data + cn->version_len + 1;
    value->len = cn->len;
    ngx_memcpy(value->data, cn->data + cn->version_len, cn->len);

    ngx_queue_remove(&cn->queue);
    ngx_queue_insert_head(&cache->sh->queue, &cn->queue);

    ngx_shmtx_unlock(&cache->shpool->mutex);

    return NGX_OK;
}


void
ngx_http_jira_sync_cache_put(ngx_shm_zone_t *zone, int64_t key,
    ngx_str_t *version, ngx_str_t *value, uint64_t stamp, time_t valid)
{
    size_t                            size;
    ngx_uint_t                        i;
    ngx_queue_t                      *q;
    ngx_http_jira_sync_cache_t       *cache;
    ngx_http_jira_sync_cache_node_t  *cn;

    cache = zone->data;
    size = offsetof(ngx_http_jira_sync_cache_node_t, data) + version->len
           + value->len;

    ngx_shmtx_lock(&cache->shpool->mutex);

    if (ngx_http_jira_sync_cache_stamp(cache->sh, key) != stamp) {
        /* invalidated while the value was read: it may be stale */
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return;
    }

    cn = ngx_http_jira_sync_cache_lookup(cache, key);
    if (cn != NULL) {
        ngx_http_jira_sync_cache_delete(cache, cn);
    }

    cn = ngx_slab_alloc_locked(cache->shpool, size);

    /* full: make room from the least recently used end */
    for (i = 0; cn == NULL && i < 16; i++) {
        if (ngx_queue_empty(&cache->sh->queue)) {
            break;
        }

        q = ngx_queue_last(&cache->sh->queue);
        ngx_http_jira_sync_cache_delete(cache,
            ngx_queue_data(q, ngx_http_jira_sync_cache_node_t, queue));

        cn = ngx_slab_alloc_locked(cache->shpool, size);
    }

    if (cn == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return;
    }

    cn->node.key = (ngx_rbtree_key_t) key;
    cn->expires = ngx_time() + valid;
    cn->version_len = version->len;
    cn->len = value->len;
    ngx_memcpy(cn->data, version->data, version->len);
    ngx_memcpy(cn->data + version->len, value->data, value->len);

    ngx_rbtree_insert(&cache->sh->rbtree, &cn->node);
    ngx_queue_insert_head(&cache->sh->queue, &cn->queue);

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


void
ngx_http_jira_sync_cache_invalidate(ngx_shm_zone_t *zone, int64_t key)
{
    ngx_http_jira_sync_cache_t       *cache;
    ngx_http_jira_sync_cache_node_t  *cn;

    cache = zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    cache->sh->stamps[(uint64_t) key % NGX_HTTP_JIRA_SYNC_STAMPS]++;

    cn = ngx_http_jira_sync_cache_lookup(cache, key);
    if (cn != NULL) {
        ngx_http_jira_sync_cache_delete(cache, cn);
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


void
ngx_http_jira_sync_cache_flush(ngx_shm_zone_t *zone)
{
    ngx_queue_t                 *q;
    ngx_http_jira_sync_cache_t  *cache;

    cache = zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    cache->sh->epoch++;

    while (!ngx_queue_empty(&cache->sh->queue)) {
        q = ngx_queue_last(&cache->sh->queue);
        ngx_http_jira_sync_cache_delete(cache,
            ngx_queue_data(q, ngx_http_jira_sync_cache_node_t, queue));
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


static uint64_t
ngx_http_jira_sync_cache_stamp(ngx_http_jira_sync_cache_sh_t *sh,
    int64_t key)
{
    /* a flush changes every stamp at once */
    return sh->stamps[(uint64_t) key % NGX_HTTP_JIRA_SYNC_STAMPS]
           + (sh->epoch << 32);
}


static ngx_http_jira_sync_cache_node_t *
ngx_http_jira_sync_cache_lookup(ngx_http_jira_sync_cache_t *cache,
    int64_t key)
{
    ngx_rbtree_key_t    k;
    ngx_rbtree_node_t  *node, *sentinel;

    k = (ngx_rbtree_key_t) key;
    node = cache->sh->rbtree.root;
    sentinel = cache->sh->rbtree.sentinel;

    while (node != sentinel) {
        if (k < node->key) {
            node = node->left;
            continue;
        }

        if (k > node->key) {
            node = node->right;
            continue;
        }

        return (ngx_http_jira_sync_cache_node_t *) node;
    }

    return NULL;
}


static void
ngx_http_jira_sync_cache_delete(ngx_http_jira_sync_cache_t *cache,
    ngx_http_jira_sync_cache_node_t *cn)
{
    ngx_queue_remove(&cn->queue);
    ngx_rbtree_delete(&cache->sh->rbtree, &cn->node);
    ngx_slab_free_locked(cache->shpool, cn);
}


/*
 * The cached integration for an external id: NGX_OK with *secret
 * copied into pool, or NGX_DECLINED; either way *stamp is set for a
 * later ngx_http_jira_sync_secret_put().
 */

ngx_int_t
ngx_http_jira_sync_secret_get(ngx_shm_zone_t *zone, ngx_str_t *external_id,
    ngx_http_jira_sync_secret_t *secret, ngx_pool_t *pool, uint64_t *stamp)
{
    uint32_t                           hash;
    ngx_http_jira_sync_cache_t        *cache;
    ngx_http_jira_sync_secret_node_t  *sn;

    cache = zone->data;
    hash = ngx_crc32_short(external_id->data, external_id->len);

    ngx_shmtx_lock(&cache->shpool->mutex);

    *stamp = cache->sh->secrets_stamp;

    sn = (ngx_http_jira_sync_secret_node_t *)
         ngx_str_rbtree_lookup(&cache->sh->secrets, external_id, hash);

    if (sn != NULL && sn->expires <= ngx_time()) {
        ngx_http_jira_sync_secret_delete(cache, sn);
        sn = NULL;
    }

    if (sn == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_DECLINED;
    }

    secret->secret.data = ngx_pnalloc(pool, sn->secret_len + 1);
    if (secret->secret.data == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_ERROR;
    }

    ngx_memcpy(secret->secret.data, sn->data + sn->sn.str.len,
               sn->secret_len);
    secret->secret.data[sn->secret_len] = '\0';
    secret->secret.len = sn->secret_len;
    secret->integration_id = sn->integration_id;
    secret->status = sn->status;
    secret->age = ngx_time() - sn->fetched;

    ngx_queue_remove(&sn->queue);
    ngx_queue_insert_head(&cache->sh->secrets_queue, &sn->queue);

    ngx_shmtx_unlock(&cache->shpool->mutex);

    return NGX_OK;
}


void
ngx_http_jira_sync_secret_put(ngx_shm_zone_t *zone, ngx_str_t *external_id,
    ngx_http_jira_sync_secret_t *secret, uint64_t stamp, time_t valid)
{
    size_t                             size;
    uint32_t                           hash;
    ngx_uint_t                         i;
    ngx_queue_t                       *q;
    ngx_http_jira_sync_cache_t        *cache;
    ngx_http_jira_sync_secret_node_t  *sn;

    cache = zone->data;
    hash = ngx_crc32_short(external_id->data, external_id->len);
    size = offsetof(ngx_http_jira_sync_secret_node_t, data)
           + external_id->len + secret->secret.len;

    ngx_shmtx_lock(&cache->shpool->mutex);

    if (cache->sh->secrets_stamp != stamp) {
        /* an integration changed while this one was read */
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return;
    }

    sn = (ngx_http_jira_sync_secret_node_t *)
         ngx_str_rbtree_lookup(&cache->sh->secrets, external_id, hash);
    if (sn != NULL) {
        ngx_http_jira_sync_secret_delete(cache, sn);
    }

    sn = ngx_slab_alloc_locked(cache->shpool, size);

    for (i = 0; sn == NULL && i < 16; i++) {
        if (ngx_queue_empty(&cache->sh->secrets_queue)) {
            break;
        }

        q = ngx_queue_last(&cache->sh->secrets_queue);
        ngx_http_jira_sync_secret_delete(cache,
            ngx_queue_data(q, ngx_http_jira_sync_secret_node_t, queue));

        sn = ngx_slab_alloc_locked(cache->shpool, size);
    }

    if (sn == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return;
    }

    ngx_memcpy(sn->data, external_id->data, external_id->len);
    ngx_memcpy(sn->data + external_id->len, secret->secret.data,
               secret->secret.len);

    sn->sn.node.key = hash;
    sn->sn.str.data = sn->data;
    sn->sn.str.len = external_id->len;
    sn->integration_id = secret->integration_id;
    sn->status = secret->status;
    sn->secret_len = secret->secret.len;
    sn->fetched = ngx_time();
    sn->expires = sn->fetched + valid;

    ngx_rbtree_insert(&cache->sh->secrets, &sn->sn.node);
    ngx_queue_insert_head(&cache->sh->secrets_queue, &sn->queue);

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


void
ngx_http_jira_sync_secret_invalidate(ngx_shm_zone_t *zone,
    ngx_str_t *external_id)
{
    ngx_http_jira_sync_cache_t        *cache;
    ngx_http_jira_sync_secret_node_t  *sn;

    cache = zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    cache->sh->secrets_stamp++;

    sn = (ngx_http_jira_sync_secret_node_t *)
         ngx_str_rbtree_lookup(&cache->sh->secrets, external_id,
                               ngx_crc32_short(external_id->data,
                                               external_id->len));
    if (sn != NULL) {
        ngx_http_jira_sync_secret_delete(cache, sn);
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


static void
ngx_http_jira_sync_secret_delete(ngx_http_jira_sync_cache_t *cache,
    ngx_http_jira_sync_secret_node_t *sn)
{
    /* the secret must not linger in freed slab memory */
    ngx_explicit_memzero(sn->data, sn->sn.str.len + sn->secret_len);

    ngx_queue_remove(&sn->queue);
    ngx_rbtree_delete(&cache->sh->secrets, &sn->sn.node);
    ngx_slab_free_locked(cache->shpool, sn);
}
