/*
 * The integrations of an organization (SPEC §4 "Integrations"): Sentry's
 * OrganizationIntegrationsEndpoint.get, OrganizationIntegrationDetails
 * Endpoint .get, .post (update_organization_config) and .delete, with
 * the answer of OrganizationIntegrationSerializer.  DRF's order:
 * authentication (401), scope and membership (403), the organization and
 * the integration (404), then the body (400).
 *
 * Differences from Sentry: the switches are the five booleans of the
 * Jira Server integration, checked like DRF BooleanFields and refused
 * when unknown; uninstall deletes the organization integration at once
 * (Sentry schedules the deletion) and, when no organization uses the
 * integration any more, removes our webhook from Jira.  The default
 * identity goes with the organization integration, as in Sentry, unless
 * another installation still uses it.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jira_hooks.h"
#include "jira_installed.h"
#include "jira_integrations.h"
#include "jira_oauth1.h"


#define JIRA_INTEGRATIONS_ID_DIGITS   18
#define JIRA_INTEGRATIONS_LOG_TEXT    200
#define JIRA_INTEGRATIONS_PROVIDER    "jira_server"

#define JIRA_INTEGRATIONS_NOT_FOUND   "The requested resource does not exist"
#define JIRA_INTEGRATIONS_UNKNOWN     "Unknown field."
#define JIRA_INTEGRATIONS_NULL        "This field may not be null."
#define JIRA_INTEGRATIONS_BAD_BOOL    "Must be a valid boolean."
#define JIRA_INTEGRATIONS_NO_FEATURE                                         \
    "Your organization does not have access to this feature"
#define JIRA_INTEGRATIONS_BUSY                                               \
    "Another installation or removal of this Jira integration is in"        \
    " progress. Try again when it has finished."

/* what happened to our webhook at Jira on uninstall */
#define JIRA_INTEGRATIONS_HOOK_KEPT     0   /* other organizations use it */
#define JIRA_INTEGRATIONS_HOOK_REMOVED  1
#define JIRA_INTEGRATIONS_HOOK_NONE     2   /* Jira had none of ours */
#define JIRA_INTEGRATIONS_HOOK_FAILED   3


/* a sync switch of organization_integration.config */
typedef struct {
    const char              *name;
    const char              *label;
    const char              *help;
} jira_integrations_switch_t;


typedef struct {
    const jira_api_in_t     *in;
    jira_store_t            *st;
    jira_api_actor_t         actor;
    char                     org[32];         /* actor.org_id as text */
    char                     id[32];          /* the integration */
    json_t                  *patch;           /* PUT: switches to set */

    /* DELETE */
    int                      locked;          /* the advisory lock */
    long                     others;          /* organizations left */
    int                      identity_deleted;
    int                      jira_server;     /* provider jira_server */
    char                     external_id[256];
    int                      loaded;          /* inst holds a client */
    jira_installed_t         inst;
    char                     no_client[256];  /* why inst holds none */
} jira_integrations_ctx_t;


static int jira_integrations_begin(const jira_api_in_t *in,
    jira_api_out_t *out, int with_id, jira_integrations_ctx_t *ctx);
static int jira_integrations_id(const char *s, char *buf, size_t size);
static void jira_integrations_run(jira_integrations_ctx_t *ctx,
    jira_api_txn_pt txn, jira_api_out_t *out);
static void jira_integrations_get(jira_integrations_ctx_t *ctx,
    jira_api_out_t *out);
static void jira_integrations_update(jira_integrations_ctx_t *ctx,
    jira_api_out_t *out);
static jira_err_e jira_integrations_update_txn(jira_store_t *st,
    void *data, jira_api_out_t *out);
static int jira_integrations_body(const jira_api_in_t *in,
    jira_api_out_t *out, json_t **patch, json_t **errors);
static void jira_integrations_delete(jira_integrations_ctx_t *ctx,
    jira_api_out_t *out);
static jira_err_e jira_integrations_delete_txn(jira_store_t *st,
    void *data, jira_api_out_t *out);
static int jira_integrations_remove_hooks(jira_integrations_ctx_t *ctx,
    jira_api_out_t *out);
static void jira_integrations_unlock(jira_integrations_ctx_t *ctx);
static void jira_integrations_log_text(const jira_integrations_ctx_t *ctx,
    char *dst, size_t size, const char *src);
static json_t *jira_integrations_serialize(PGresult *res, int row,
    int include_config);
static json_t *jira_integrations_provider(const char *key);
static json_t *jira_integrations_config_fields(int feature);
static json_t *jira_integrations_config_data(const char *text);
static json_t *jira_integrations_json_text(const char *text);
static const char *jira_integrations_status(const char *value);


/*
 * The Jira Server integration's switches (JiraServerIntegration's keys);
 * sync_status_forward is a plain switch here, not Sentry's per-project
 * status mapping.
 */
static const jira_integrations_switch_t  jira_integrations_switches[] = {
    { "sync_status_forward", "Sync Sentry Status to Jira Server",
      "When an issue is resolved or unresolved here, move its linked Jira"
      " Server ticket along." },
    { "sync_forward_assignment", "Sync Sentry Assignment to Jira Server",
      "When an issue is assigned here, assign its linked Jira Server ticket"
      " to the same user." },
    { "sync_comments", "Sync Sentry Comments to Jira Server",
      "Post the comments of an issue to its linked Jira Server ticket." },
    { "sync_status_reverse", "Sync Jira Server Status to Sentry",
      "When a linked Jira Server ticket is marked done, resolve the issue;"
      " when it leaves done, unresolve it." },
    { "sync_reverse_assignment", "Sync Jira Server Assignment to Sentry",
      "When a linked Jira Server ticket is assigned, assign the issue to"
      " the same user." },
    { NULL, NULL, NULL }
};


/*
 * What the serializer reads of an organization integration: the
 * integration (never its webhook secret), the organization integration
 * and the organization's issue-sync feature.
 */
#define JIRA_INTEGRATIONS_COLUMNS                                            \
    " i.id::text, i.name, i.provider, i.external_id, i.status,"             \
    " i.metadata ->> 'domain_name',"                                        \
    " coalesce(i.metadata -> 'icon', 'null'::jsonb)::text,"                 \
    " coalesce(i.metadata -> 'account_type', 'null'::jsonb)::text,"         \
    " coalesce(i.metadata -> 'scopes', 'null'::jsonb)::text,"               \
    " oi.organization_id::text, oi.status, oi.config::text,"                \
    " o.integrations_issue_sync"

#define JIRA_INTEGRATIONS_FROM                                               \
    "  JOIN integration i ON i.id = oi.integration_id"                      \
    "  JOIN organization o ON o.id = oi.organization_id"


/*
 * $1 organization, $2 provider or NULL: ObjectStatus ACTIVE, DISABLED
 * and PENDING_DELETION, ordered by integration name as Sentry pages them
 */
static const jira_stmt_t  jira_integrations_list_stmt = {
    "jira_integrations_list",
    "SELECT" JIRA_INTEGRATIONS_COLUMNS
    "  FROM organization_integration oi"
    JIRA_INTEGRATIONS_FROM
    " WHERE oi.organization_id = $1::bigint AND oi.status IN (0, 1, 2)"
    "   AND ($2::text IS NULL OR i.provider = $2::text)"
    " ORDER BY i.name, i.id"
};


/* $1 organization, $2 integration */
static const jira_stmt_t  jira_integrations_get_stmt = {
    "jira_integrations_get",
    "SELECT" JIRA_INTEGRATIONS_COLUMNS
    "  FROM organization_integration oi"
    JIRA_INTEGRATIONS_FROM
    " WHERE oi.organization_id = $1::bigint"
    "   AND oi.integration_id = $2::bigint"
};


/*
 * config.update(data): the switches in $3 merged into the stored config
 * in one statement, so that concurrent updates of different switches
 * all stay.  $1 organization, $2 integration.
 */
static const jira_stmt_t  jira_integrations_update_stmt = {
    "jira_integrations_update",
    "WITH oi AS ("
    "  UPDATE organization_integration"
    "     SET config = CASE WHEN jsonb_typeof(config) = 'object'"
    "                       THEN config ELSE '{}'::jsonb END"
    "                  || $3::jsonb"
    "   WHERE organization_id = $1::bigint AND integration_id = $2::bigint"
    "  RETURNING organization_id, integration_id, status, config)"
    " SELECT" JIRA_INTEGRATIONS_COLUMNS
    "  FROM oi"
    JIRA_INTEGRATIONS_FROM
};


/*
 * Uninstall, first statement: the integration, locked so that uninstalls
 * of one integration from several organizations take turns and the last
 * one knows it is the last.  $1 integration, $2 organization.
 */
static const jira_stmt_t  jira_integrations_lock_stmt = {
    "jira_integrations_lock",
    "SELECT i.external_id, i.provider = 'jira_server'"
    "  FROM integration i"
    " WHERE i.id = $1::bigint"
    "   AND EXISTS (SELECT 1 FROM organization_integration oi"
    "                WHERE oi.integration_id = i.id"
    "                  AND oi.organization_id = $2::bigint)"
    "   FOR NO KEY UPDATE"
};


/* then, with a snapshot taken after the lock: who else uses it */
static const jira_stmt_t  jira_integrations_others_stmt = {
    "jira_integrations_others",
    "SELECT oi.default_auth_id::text,"
    "       (SELECT count(*) FROM organization_integration x"
    "         WHERE x.integration_id = $1::bigint"
    "           AND x.organization_id <> $2::bigint)"
    "  FROM organization_integration oi"
    " WHERE oi.integration_id = $1::bigint"
    "   AND oi.organization_id = $2::bigint"
};


/*
 * Setup holds this lock from listing Jira's webhooks until its rows are
 * written: while the last uninstall holds it, no setup can reuse the
 * webhook that is about to be deleted.
 */
static const jira_stmt_t  jira_integrations_try_lock_stmt = {
    "jira_integrations_try_lock",
    "SELECT pg_try_advisory_lock($1::int, hashtext($2))"
};


static const jira_stmt_t  jira_integrations_unlock_stmt = {
    "jira_integrations_unlock",
    "SELECT pg_advisory_unlock($1::int, hashtext($2))"
};


static const jira_stmt_t  jira_integrations_delete_stmt = {
    "jira_integrations_delete",
    "DELETE FROM organization_integration"
    " WHERE integration_id = $1::bigint AND organization_id = $2::bigint"
};


/* the default identity and its credentials, unless still a default */
static const jira_stmt_t  jira_integrations_identity_stmt = {
    "jira_integrations_identity",
    "DELETE FROM identity d"
    " WHERE d.id = $1::bigint"
    "   AND NOT EXISTS (SELECT 1 FROM organization_integration x"
    "                    WHERE x.default_auth_id = d.id)"
};


/* --- the endpoints --------------------------------------------------- */


void
jira_integrations_list(const jira_api_in_t *in, jira_api_out_t *out)
{
    int                       i, n, include;
    char                     *provider, *flag, *p;
    json_t                   *list, *item;
    PGresult                 *res;
    jira_err_e                err;
    const char               *values[2];
    jira_integrations_ctx_t   ctx;

    if (jira_integrations_begin(in, out, 0, &ctx) != 0) {
        return;
    }

    provider = NULL;
    flag = NULL;

    if (in->query != NULL) {
        provider = jira_oauth1_form_get(in->query, strlen(in->query),
                                        "providerKey");
        if (provider == NULL) {
            provider = jira_oauth1_form_get(in->query, strlen(in->query),
                                            "provider_key");
        }

        flag = jira_oauth1_form_get(in->query, strlen(in->query),
                                    "includeConfig");
    }

    /* configurations are included unless includeConfig is "0" */
    include = (flag == NULL || strcmp(flag, "0") != 0);
    free(flag);

    if (provider != NULL) {
        for (p = provider; *p != '\0'; p++) {
            if (*p >= 'A' && *p <= 'Z') {
                *p = (char) (*p - 'A' + 'a');
            }
        }
    }

    values[0] = ctx.org;
    values[1] = provider;

    res = jira_store_exec(ctx.st, &jira_integrations_list_stmt, 2, values,
                          &err);
    free(provider);

    if (res == NULL) {
        jira_api_fail(out, err);
        return;
    }

    list = json_array();
    n = PQntuples(res);

    for (i = 0; list != NULL && i < n; i++) {
        item = jira_integrations_serialize(res, i, include);

        if (item == NULL || json_array_append_new(list, item) != 0) {
            json_decref(list);
            list = NULL;
        }
    }

    PQclear(res);

    if (list == NULL) {
        jira_api_fail(out, JIRA_EDB);
        return;
    }

    jira_api_json(out, 200, list);
}


void
jira_integrations_details(const jira_api_in_t *in, jira_api_out_t *out)
{
    jira_integrations_ctx_t  ctx;

    if (jira_integrations_begin(in, out, 1, &ctx) != 0) {
        return;
    }

    switch (in->method) {

    case JIRA_METHOD_GET:
        jira_integrations_get(&ctx, out);
        break;

    case JIRA_METHOD_DELETE:
        jira_integrations_delete(&ctx, out);
        break;

    default:
        jira_integrations_update(&ctx, out);
    }
}


/*
 * The store, the caller's rights in {org} (params[1]) and, with_id, the
 * integration id in params[3].  Returns 0, or -1 with out filled.
 */

static int
jira_integrations_begin(const jira_api_in_t *in, jira_api_out_t *out,
    int with_id, jira_integrations_ctx_t *ctx)
{
    memset(ctx, 0, sizeof(jira_integrations_ctx_t));
    ctx->in = in;

    /* the routes give organizations/{org}/integrations[/{id}] */
    if (in->nparams < (with_id ? 4u : 3u)) {
        jira_api_detail(out, 404, JIRA_INTEGRATIONS_NOT_FOUND);
        return -1;
    }

    ctx->st = jira_api_store(in, out);
    if (ctx->st == NULL) {
        return -1;
    }

    if (jira_api_auth(ctx->st, in, "org:integrations", in->params[1],
                      &ctx->actor, out)
        != 0)
    {
        return -1;
    }

    (void) snprintf(ctx->org, sizeof(ctx->org), "%lld", ctx->actor.org_id);

    if (with_id
        && jira_integrations_id(in->params[3], ctx->id, sizeof(ctx->id))
           != 0)
    {
        jira_api_detail(out, 404, JIRA_INTEGRATIONS_NOT_FOUND);
        return -1;
    }

    return 0;
}


/* a positive decimal id that fits a bigint, written without zeros ahead */

static int
jira_integrations_id(const char *s, char *buf, size_t size)
{
    size_t     i, len;
    long long  id;

    len = strlen(s);

    if (len == 0 || len > JIRA_INTEGRATIONS_ID_DIGITS) {
        return -1;
    }

    id = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        id = id * 10 + (s[i] - '0');
    }

    if (id == 0) {
        return -1;
    }

    (void) snprintf(buf, size, "%lld", id);

    return 0;
}


/*
 * One transaction, run again after a deadlock or serialization failure.
 * txn answers 2xx to commit, or 4xx to roll back and answer that; any
 * other failure leaves out filled by jira_api_fail().
 */

static void
jira_integrations_run(jira_integrations_ctx_t *ctx, jira_api_txn_pt txn,
    jira_api_out_t *out)
{
    jira_err_e  err;

    err = jira_api_txn(ctx->st, txn, ctx, out);

    if (err != JIRA_OK) {
        jira_api_fail(out, err);
    }
}


/* --- GET ------------------------------------------------------------- */


static void
jira_integrations_get(jira_integrations_ctx_t *ctx, jira_api_out_t *out)
{
    json_t      *item;
    PGresult    *res;
    jira_err_e   err;
    const char  *values[2];

    values[0] = ctx->org;
    values[1] = ctx->id;

    res = jira_store_exec(ctx->st, &jira_integrations_get_stmt, 2, values,
                          &err);
    if (res == NULL) {
        jira_api_fail(out, err);
        return;
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        jira_api_detail(out, 404, JIRA_INTEGRATIONS_NOT_FOUND);
        return;
    }

    item = jira_integrations_serialize(res, 0, 1);
    PQclear(res);

    if (item == NULL) {
        jira_api_fail(out, JIRA_EDB);
        return;
    }

    jira_api_json(out, 200, item);
}


/* --- PUT ------------------------------------------------------------- */


static void
jira_integrations_update(jira_integrations_ctx_t *ctx, jira_api_out_t *out)
{
    json_t      *errors;
    PGresult    *res;
    jira_err_e   err;
    const char  *values[2];

    errors = NULL;

    if (jira_integrations_body(ctx->in, out, &ctx->patch, &errors) != 0) {
        return;
    }

    if (errors != NULL) {
        /* an unknown integration is 404 whatever the body says */
        values[0] = ctx->org;
        values[1] = ctx->id;

        res = jira_store_exec(ctx->st, &jira_integrations_get_stmt, 2,
                              values, &err);
        if (res == NULL) {
            json_decref(errors);
            jira_api_fail(out, err);
            return;
        }

        if (PQntuples(res) != 1) {
            json_decref(errors);
            jira_api_detail(out, 404, JIRA_INTEGRATIONS_NOT_FOUND);

        } else {
            jira_api_json(out, 400, errors);
        }

        PQclear(res);
        return;
    }

    jira_integrations_run(ctx, jira_integrations_update_txn, out);

    json_decref(ctx->patch);
    ctx->patch = NULL;
}


static jira_err_e
jira_integrations_update_txn(jira_store_t *st, void *data,
    jira_api_out_t *out)
{
    jira_integrations_ctx_t  *ctx = data;

    char        *patch;
    json_t      *item;
    PGresult    *res;
    jira_err_e   err;
    const char  *values[3];

    patch = json_dumps(ctx->patch, JSON_COMPACT);
    if (patch == NULL) {
        return JIRA_EDB;
    }

    values[0] = ctx->org;
    values[1] = ctx->id;
    values[2] = patch;

    res = jira_store_exec(ctx->st, &jira_integrations_update_stmt, 3,
                          values, &err);
    if (res == NULL) {
        free(patch);
        return err;
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        free(patch);
        jira_api_detail(out, 404, JIRA_INTEGRATIONS_NOT_FOUND);
        return JIRA_OK;
    }

    item = jira_integrations_serialize(res, 0, 1);
    PQclear(res);

    if (item == NULL) {
        free(patch);
        return JIRA_EDB;
    }

    /* INTEGRATION_EDIT: who changed what, in the error log */
    jira_log(&out->log, JIRA_LOG_INFO,
             "integration.config-updated integration_id=%s"
             " organization_id=%s user_id=%lld config=%s",
             ctx->id, ctx->org, ctx->actor.user_id, patch);
    free(patch);

    jira_api_json(out, 200, item);

    return out->status == 200 ? JIRA_OK : JIRA_EDB;
}


/*
 * The body: a JSON object of switches at its top level, as Sentry's
 * update_organization_config(request.data) takes them.  Each value is
 * read as a DRF BooleanField reads it.  Returns 0 with *patch (the
 * switches as JSON booleans) or *errors ({"field": ["message"]}, or
 * {"detail": …} for a body that is not JSON), or -1 with out filled.
 */

static int
jira_integrations_body(const jira_api_in_t *in, jira_api_out_t *out,
    json_t **patch, json_t **errors)
{
    int            value, known;
    char           msg[256];
    size_t         i;
    json_t        *body, *v, *err;
    const char    *key, *type;
    json_error_t   jerr;

    *patch = NULL;
    *errors = NULL;

    /* a PUT without a body changes nothing */
    if (in->body == NULL || in->body_len == 0) {
        body = json_object();

    } else {
        body = json_loadb(in->body, in->body_len,
                          JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);

        if (body == NULL) {
            /* jansson may quote the bytes it choked on: ASCII only */
            (void) snprintf(msg, sizeof(msg), "JSON parse error - %s",
                            jerr.text);

            for (i = 0; msg[i] != '\0'; i++) {
                if ((unsigned char) msg[i] < ' '
                    || (unsigned char) msg[i] > '~')
                {
                    msg[i] = '?';
                }
            }

            *errors = json_object();
            v = json_string(msg);

            if (*errors == NULL || v == NULL
                || json_object_set_new(*errors, "detail", v) != 0)
            {
                json_decref(*errors);
                *errors = NULL;
                jira_api_fail(out, JIRA_EDB);
                return -1;
            }

            return 0;
        }
    }

    if (body != NULL && !json_is_object(body)) {
        type = jira_api_python_type(body);

        json_decref(body);

        (void) snprintf(msg, sizeof(msg),
                        "Invalid data. Expected a dictionary, but got %s.",
                        type);

        *errors = json_pack("{s:[s]}", "non_field_errors", msg);
        if (*errors == NULL) {
            jira_api_fail(out, JIRA_EDB);
            return -1;
        }

        return 0;
    }

    *patch = json_object();
    err = json_object();

    if (body == NULL || *patch == NULL || err == NULL) {
        json_decref(body);
        json_decref(*patch);
        json_decref(err);
        *patch = NULL;
        jira_api_fail(out, JIRA_EDB);
        return -1;
    }

    json_object_foreach(body, key, v) {
        known = 0;

        for (i = 0; jira_integrations_switches[i].name != NULL; i++) {
            if (strcmp(key, jira_integrations_switches[i].name) == 0) {
                known = 1;
                break;
            }
        }

        if (!known) {
            jira_api_field_error(err, key,
                                          JIRA_INTEGRATIONS_UNKNOWN);
            continue;
        }

        if (json_is_null(v)) {
            jira_api_field_error(err, key, JIRA_INTEGRATIONS_NULL);
            continue;
        }

        if (jira_api_bool(v, &value) != 0) {
            jira_api_field_error(err, key,
                                          JIRA_INTEGRATIONS_BAD_BOOL);
            continue;
        }

        (void) json_object_set_new(*patch, key, json_boolean(value));
    }

    json_decref(body);

    if (json_object_size(err) != 0) {
        json_decref(*patch);
        *patch = NULL;
        *errors = err;
        return 0;
    }

    json_decref(err);

    return 0;
}


/* --- DELETE ---------------------------------------------------------- */


/*
 * The rows first, in one transaction; then, when this was the last
 * organization, our webhooks at Jira.  A Jira that cannot be reached or
 * refuses does not keep the integration installed: the rows are gone,
 * the failure is logged, and the answer is 204 as Sentry's.
 */

static void
jira_integrations_delete(jira_integrations_ctx_t *ctx, jira_api_out_t *out)
{
    int  hook;

    jira_integrations_run(ctx, jira_integrations_delete_txn, out);

    hook = JIRA_INTEGRATIONS_HOOK_KEPT;

    if (out->status == 204 && ctx->others == 0) {
        hook = ctx->jira_server ? jira_integrations_remove_hooks(ctx, out)
                                : JIRA_INTEGRATIONS_HOOK_NONE;
    }

    jira_integrations_unlock(ctx);

    if (ctx->loaded) {
        jira_installed_free(&ctx->inst);
        ctx->loaded = 0;
    }

    if (out->status != 204) {
        return;
    }

    jira_log(&out->log, JIRA_LOG_INFO,
             "jira-server.uninstalled integration_id=%s external_id=\"%s\""
             " organization_id=%s user_id=%lld organizations_left=%ld"
             " identity=%s webhook=%s",
             ctx->id, ctx->external_id, ctx->org, ctx->actor.user_id,
             ctx->others, ctx->identity_deleted ? "deleted" : "kept",
             hook == JIRA_INTEGRATIONS_HOOK_REMOVED ? "removed"
             : hook == JIRA_INTEGRATIONS_HOOK_NONE ? "none"
             : hook == JIRA_INTEGRATIONS_HOOK_FAILED ? "failed" : "kept");
}


static jira_err_e
jira_integrations_delete_txn(jira_store_t *st, void *data,
    jira_api_out_t *out)
{
    jira_integrations_ctx_t  *ctx = data;

    int          found;
    char         identity[32];
    long         n;
    PGresult    *res;
    jira_err_e   err;
    const char  *values[2];

    /* a run again after a serialization failure starts afresh */
    if (ctx->loaded) {
        jira_installed_free(&ctx->inst);
        ctx->loaded = 0;
    }

    ctx->identity_deleted = 0;
    ctx->no_client[0] = '\0';

    values[0] = ctx->id;
    values[1] = ctx->org;

    res = jira_store_exec(ctx->st, &jira_integrations_lock_stmt, 2, values,
                          &err);
    if (res == NULL) {
        return err;
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        jira_api_detail(out, 404, JIRA_INTEGRATIONS_NOT_FOUND);
        return JIRA_OK;
    }

    (void) snprintf(ctx->external_id, sizeof(ctx->external_id), "%s",
                    PQgetvalue(res, 0, 0));
    ctx->jira_server = (PQgetvalue(res, 0, 1)[0] == 't');
    PQclear(res);

    res = jira_store_exec(ctx->st, &jira_integrations_others_stmt, 2,
                          values, &err);
    if (res == NULL) {
        return err;
    }

    if (PQntuples(res) != 1) {
        /* uninstalled by a request that held the lock before us */
        PQclear(res);
        jira_api_detail(out, 404, JIRA_INTEGRATIONS_NOT_FOUND);
        return JIRA_OK;
    }

    identity[0] = '\0';

    if (!PQgetisnull(res, 0, 0)) {
        (void) snprintf(identity, sizeof(identity), "%s",
                        PQgetvalue(res, 0, 0));
    }

    ctx->others = strtol(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);

    if (ctx->others == 0 && ctx->jira_server) {
        /* the last organization: the webhook goes, and nobody reuses it */
        if (!ctx->locked) {
            values[0] = JIRA_HOOKS_LOCK_CLASS;
            values[1] = ctx->external_id;

            res = jira_store_exec(ctx->st, &jira_integrations_try_lock_stmt,
                                  2, values, &err);
            if (res == NULL) {
                return err;
            }

            ctx->locked = (PQgetvalue(res, 0, 0)[0] == 't');
            PQclear(res);

            if (!ctx->locked) {
                jira_api_detail(out, 409, JIRA_INTEGRATIONS_BUSY);
                return JIRA_OK;
            }
        }

        /* the credentials are read while the installation is there */
        err = jira_installed_load(ctx->st, ctx->in->conf,
                                  strtoll(ctx->id, NULL, 10),
                                  ctx->actor.org_id, &ctx->inst, &found);
        if (err != JIRA_OK) {
            return err;
        }

        if (found) {
            ctx->loaded = 1;

        } else {
            (void) snprintf(ctx->no_client, sizeof(ctx->no_client), "%s",
                            ctx->inst.error);
        }
    }

    values[0] = ctx->id;
    values[1] = ctx->org;

    n = jira_store_run(ctx->st, &jira_integrations_delete_stmt, 2, values,
                       &err);
    if (n < 0) {
        return err;
    }

    if (identity[0] != '\0') {
        values[0] = identity;

        n = jira_store_run(ctx->st, &jira_integrations_identity_stmt, 1,
                           values, &err);
        if (n < 0) {
            return err;
        }

        ctx->identity_deleted = (n > 0);
    }

    out->status = 204;

    return JIRA_OK;
}


/* list Jira's webhooks and delete ours; returns a HOOK_ outcome */

static int
jira_integrations_remove_hooks(jira_integrations_ctx_t *ctx,
    jira_api_out_t *out)
{
    char                   text[JIRA_INTEGRATIONS_LOG_TEXT + 1];
    const char            *why;
    jira_client_error_t    err;
    jira_hooks_removal_t   rm;

    why = NULL;

    if (!ctx->loaded) {
        why = ctx->no_client[0] != '\0' ? ctx->no_client
                                        : "Identity not found.";

    } else if (ctx->in->conf->public_url == NULL) {
        why = "jira_sync_public_url is not set: the webhooks of this"
              " server cannot be told apart";
    }

    if (why != NULL) {
        jira_log(&out->log, JIRA_LOG_WARN,
                 "jira-server.webhook.delete-failed integration_id=%s"
                 " external_id=\"%s\" webhook_id=- status=0 error=\"%s\":"
                 " remove the webhook in Jira", ctx->id, ctx->external_id,
                 why);
        return JIRA_INTEGRATIONS_HOOK_FAILED;
    }

    if (jira_hooks_remove(&ctx->inst.client, ctx->in->conf->public_url,
                          ctx->external_id, &rm, &err)
        != 0)
    {
        /* a host error names the host; Jira's own words come next */
        jira_integrations_log_text(ctx, text, sizeof(text),
                                   err.http_err != JIRA_HTTP_OK
                                   || err.message[0] == '\0'
                                   ? err.text : err.message);

        jira_log(&out->log, JIRA_LOG_WARN,
                 "jira-server.webhook.delete-failed integration_id=%s"
                 " external_id=\"%s\" webhook_id=%s status=%ld"
                 " error=\"%s\": remove the webhook in Jira", ctx->id,
                 ctx->external_id, rm.failed_id[0] ? rm.failed_id : "-",
                 err.status, text);

        return JIRA_INTEGRATIONS_HOOK_FAILED;
    }

    if (rm.found == 0) {
        return JIRA_INTEGRATIONS_HOOK_NONE;
    }

    jira_log(&out->log, JIRA_LOG_INFO,
             "jira-server.webhook.deleted integration_id=%s"
             " external_id=\"%s\" webhooks=%zu jira_version=%d", ctx->id,
             ctx->external_id, rm.removed, rm.major);

    return JIRA_INTEGRATIONS_HOOK_REMOVED;
}


static void
jira_integrations_unlock(jira_integrations_ctx_t *ctx)
{
    PGresult    *res;
    jira_err_e   err;
    const char  *values[2];

    if (!ctx->locked) {
        return;
    }

    values[0] = JIRA_HOOKS_LOCK_CLASS;
    values[1] = ctx->external_id;

    /* a lost connection took the lock with it */
    res = jira_store_exec(ctx->st, &jira_integrations_unlock_stmt, 2, values,
                          &err);
    if (res != NULL) {
        PQclear(res);
    }

    ctx->locked = 0;
}


/*
 * One line of a log from Jira's text: short, no control characters or
 * double quotes, and nothing that lets someone act for us: a token of a
 * webhook URL (a JWT, "eyJ…") and the credentials the client signs with,
 * as written and percent-encoded, become "[redacted]".
 */

static void
jira_integrations_log_text(const jira_integrations_ctx_t *ctx, char *dst,
    size_t size, const char *src)
{
    char         enc[2][3 * 512 + 1];
    size_t       i, n, len, slen, elen[2];
    const char  *p, *secrets[2];

    static const char  redacted[] = "[redacted]";

    secrets[0] = ctx->loaded ? ctx->inst.client.pat : NULL;
    secrets[1] = ctx->loaded ? ctx->inst.client.token : NULL;

    for (i = 0; i < 2; i++) {
        elen[i] = 0;

        if (secrets[i] != NULL && strlen(secrets[i]) >= 4
            && strlen(secrets[i]) <= 512)
        {
            elen[i] = jira_oauth1_encode(enc[i], secrets[i],
                                         strlen(secrets[i]));
        }

        enc[i][elen[i]] = '\0';
    }

    n = 0;
    p = src;

    while (*p != '\0' && n + 1 < size) {
        len = 0;

        if (strncmp(p, "eyJ", 3) == 0) {
            len = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvw"
                            "xyz0123456789-_.");
        }

        for (i = 0; len == 0 && i < 2; i++) {
            if (elen[i] == 0) {
                continue;
            }

            slen = strlen(secrets[i]);

            if (strncmp(p, secrets[i], slen) == 0) {
                len = slen;

            } else if (strncmp(p, enc[i], elen[i]) == 0) {
                len = elen[i];
            }
        }

        if (len == 0) {
            dst[n++] = ((unsigned char) *p < ' ' || *p == 0x7f) ? ' '
                       : (*p == '"') ? '\'' : *p;
            p++;
            continue;
        }

        p += len;

        for (i = 0; redacted[i] != '\0' && n + 1 < size; i++) {
            dst[n++] = redacted[i];
        }
    }

    dst[n] = '\0';
}


/* --- the answer ------------------------------------------------------ */


/*
 * OrganizationIntegrationSerializer: the integration (IntegrationConfig
 * Serializer) with configOrganization, then configData, externalId,
 * organizationId, organizationIntegrationStatus and gracePeriodEnd.
 * Without include_config there is no configOrganization and configData
 * is null.
 */

static json_t *
jira_integrations_serialize(PGresult *res, int row, int include_config)
{
    int      feature;
    json_t  *item, *v;

    feature = (PQgetvalue(res, row, 12)[0] == 't');

    item = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:o}",
                     "id", PQgetvalue(res, row, 0),
                     "name", PQgetvalue(res, row, 1),
                     "icon",
                     jira_integrations_json_text(PQgetvalue(res, row, 6)),
                     "domainName",
                     PQgetisnull(res, row, 5)
                     ? json_null()
                     : json_string(PQgetvalue(res, row, 5)),
                     "accountType",
                     jira_integrations_json_text(PQgetvalue(res, row, 7)),
                     "scopes",
                     jira_integrations_json_text(PQgetvalue(res, row, 8)),
                     "status",
                     jira_integrations_status(PQgetvalue(res, row, 4)),
                     "provider",
                     jira_integrations_provider(PQgetvalue(res, row, 2)));
    if (item == NULL) {
        return NULL;
    }

    if (include_config) {
        v = jira_integrations_config_fields(feature);
        if (v == NULL
            || json_object_set_new(item, "configOrganization", v) != 0)
        {
            json_decref(item);
            return NULL;
        }

        v = jira_integrations_config_data(PQgetvalue(res, row, 11));

    } else {
        v = json_null();
    }

    if (v == NULL || json_object_set_new(item, "configData", v) != 0) {
        json_decref(item);
        return NULL;
    }

    v = json_pack("{s:s, s:I, s:s, s:n}",
                  "externalId", PQgetvalue(res, row, 3),
                  "organizationId",
                  (json_int_t) strtoll(PQgetvalue(res, row, 9), NULL, 10),
                  "organizationIntegrationStatus",
                  jira_integrations_status(PQgetvalue(res, row, 10)),
                  "gracePeriodEnd");

    if (v == NULL || json_object_update(item, v) != 0) {
        json_decref(v);
        json_decref(item);
        return NULL;
    }

    json_decref(v);

    return item;
}


/* serialize_provider() for the Jira Server provider */

static json_t *
jira_integrations_provider(const char *key)
{
    if (strcmp(key, JIRA_INTEGRATIONS_PROVIDER) == 0) {
        return json_pack("{s:s, s:s, s:s, s:b, s:b, s:[s, s], s:{}}",
                         "key", key,
                         "slug", key,
                         "name", "Jira Server",
                         "canAdd", 1,
                         "canDisable", 0,
                         "features", "issue-basic", "issue-sync",
                         "aspects");
    }

    /* rows of other providers are shown, not served */
    return json_pack("{s:s, s:s, s:s, s:b, s:b, s:[], s:{}}",
                     "key", key,
                     "slug", key,
                     "name", key,
                     "canAdd", 0,
                     "canDisable", 0,
                     "features",
                     "aspects");
}


/*
 * get_organization_config(): a form field per switch; all of them
 * disabled, as Sentry shows them, when the organization lacks the
 * integrations-issue-sync feature.
 */

static json_t *
jira_integrations_config_fields(int feature)
{
    size_t                             i;
    json_t                            *fields, *field;
    const jira_integrations_switch_t  *sw;

    fields = json_array();
    if (fields == NULL) {
        return NULL;
    }

    for (i = 0; jira_integrations_switches[i].name != NULL; i++) {
        sw = &jira_integrations_switches[i];

        field = json_pack("{s:s, s:s, s:s, s:s}",
                          "name", sw->name,
                          "type", "boolean",
                          "label", sw->label,
                          "help", sw->help);

        if (field != NULL && !feature
            && (json_object_set_new(field, "disabled", json_true()) != 0
                || json_object_set_new(field, "disabledReason",
                                       json_string(
                                           JIRA_INTEGRATIONS_NO_FEATURE))
                   != 0))
        {
            json_decref(field);
            field = NULL;
        }

        if (field == NULL || json_array_append_new(fields, field) != 0) {
            json_decref(fields);
            return NULL;
        }
    }

    return fields;
}


/*
 * get_config_data(): the stored config as it is, each switch it lacks
 * shown as false (should_sync() reads a missing key as False)
 */

static json_t *
jira_integrations_config_data(const char *text)
{
    size_t   i;
    json_t  *config;

    config = json_loads(text, 0, NULL);

    if (config != NULL && !json_is_object(config)) {
        json_decref(config);
        config = NULL;
    }

    if (config == NULL) {
        config = json_object();
        if (config == NULL) {
            return NULL;
        }
    }

    for (i = 0; jira_integrations_switches[i].name != NULL; i++) {
        if (json_object_get(config, jira_integrations_switches[i].name)
            == NULL
            && json_object_set_new(config,
                                   jira_integrations_switches[i].name,
                                   json_false())
               != 0)
        {
            json_decref(config);
            return NULL;
        }
    }

    return config;
}


/* a jsonb value as text; null when it cannot be read */

static json_t *
jira_integrations_json_text(const char *text)
{
    json_t  *v;

    v = json_loads(text, JSON_DECODE_ANY, NULL);

    return v ? v : json_null();
}


/* ObjectStatus.to_str() */

static const char *
jira_integrations_status(const char *value)
{
    switch (strtol(value, NULL, 10)) {
    case 0:
        return "active";
    case 1:
        return "disabled";
    case 2:
        return "pending_deletion";
    case 3:
        return "deletion_in_progress";
    default:
        return "unknown";
    }
}
