/*
 * The Jira Server setup pipeline and build_integration (reference:
 * sentry-behaviour.md §1.1a, §1.3; jira-server-api.md §1, §4), with
 * these differences from Sentry: the webhook secret is random, the
 * pipeline state lives in PostgreSQL, a Personal Access Token may stand
 * in for OAuth 1.0a, registration reuses a webhook that is already ours,
 * and credentials are sealed before they reach the database.
 */

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "jira_client.h"
#include "jira_crypto.h"
#include "jira_hooks.h"
#include "jira_jwt.h"
#include "jira_oauth1.h"
#include "jira_setup.h"


#define JIRA_SETUP_TRIES             3
#define JIRA_SETUP_EXTERNAL_ID_LEN   64       /* characters, as Sentry */
#define JIRA_SETUP_CONSUMER_KEY_LEN  200
#define JIRA_SETUP_PAT_LEN           512
#define JIRA_SETUP_URL_LEN           2048
#define JIRA_SETUP_SECRET_BYTES      32       /* 256-bit webhook secret */
#define JIRA_SETUP_ID_BYTES          16       /* pipeline ids */
#define JIRA_SETUP_MAX_SECRETS       8
#define JIRA_SETUP_LOG_TEXT          200

/* advisory lock class of setups, "jira" in ASCII */
#define JIRA_SETUP_LOCK_CLASS        "1785295457"

#define JIRA_SETUP_REQUIRED    "This field is required."
#define JIRA_SETUP_NULL        "This field may not be null."
#define JIRA_SETUP_BLANK       "This field may not be blank."
#define JIRA_SETUP_NOT_STRING  "Not a valid string."
#define JIRA_SETUP_NUL_CHAR    "Null characters are not allowed."
#define JIRA_SETUP_BAD_URL     "Enter a valid URL."
#define JIRA_SETUP_BAD_BOOL    "Must be a valid boolean."
#define JIRA_SETUP_BAD_KEY                                                   \
    "Private key must be a valid SSH private key encoded in a PEM format."
#define JIRA_SETUP_NO_SESSION  "No active pipeline session"
#define JIRA_SETUP_IN_PROGRESS                                               \
    "This setup is being finished by another request."
#define JIRA_SETUP_BUSY                                                      \
    "Another installation of this Jira integration is in progress." \
    " Try again when it has finished."
#define JIRA_SETUP_OTHER_USER                                                \
    "The provided Jira Server account is linked to a different Sentry"      \
    " user. To continue linking the current Sentry user, please use a"      \
    " different Jira Server account."

#define JIRA_SETUP_HOOK_CREATED      1
#define JIRA_SETUP_HOOK_UPDATED      2
#define JIRA_SETUP_HOOK_REUSED       3


/* the installation data and what the OAuth dance adds to it */
typedef struct {
    char                *url;             /* trailing slashes stripped */
    char                 netloc[256];     /* host[:port] as written */
    int                  verify_ssl;
    char                *consumer_key;
    char                *private_key;     /* PEM text */
    EVP_PKEY            *key;
    char                *pat;
    char                *request_token;
    char                *request_secret;
    char                *access_token;
    char                *access_secret;
    char                *jira_user;       /* the PAT's user */
} jira_setup_install_t;


/* one request: where it logs, whom it acts for, what it must not show */
typedef struct {
    const jira_api_in_t  *in;
    jira_api_out_t       *out;
    jira_store_t         *st;
    long long             org_id;
    long long             user_id;
    const char           *pipeline_id;    /* finishing a pipeline */
    size_t                nsecrets;
    const char           *secrets[JIRA_SETUP_MAX_SECRETS];
} jira_setup_ctx_t;


/* how a step ended, before it becomes JSON or a page */
typedef struct {
    int                  status;          /* 0: database failure */
    jira_err_e           err;
    int                  advance;         /* 200 "advance" */
    char                 detail[JIRA_CLIENT_ERROR_LEN + 128];
    char                 pipeline[2 * JIRA_SETUP_ID_BYTES + 1];
    char                *oauth_url;
    long long            integration_id;
    char                 name[256];
    char                 external_id[256];
    char                 domain[256];
} jira_setup_result_t;


/* what registration did at Jira, to undo it if the database fails */
typedef struct {
    int                  major;
    int                  action;
    char                 id[64];
    json_t              *previous;       /* the webhook before the update */
} jira_setup_hook_t;


/* a step's own fields of the form: 0, or -1 with errors added */
typedef int (*jira_setup_fields_pt)(json_t *body, json_t *errors,
    jira_setup_install_t *inst);


static json_t *jira_setup_body(const jira_api_in_t *in, jira_api_out_t *out);
static int jira_setup_string(json_t *body, const char *field, int required,
    size_t max, json_t *errors, char **value);
static int jira_setup_bool(json_t *body, const char *field, int dflt,
    json_t *errors, int *value);
static int jira_setup_url(json_t *body, json_t *errors,
    jira_setup_install_t *inst);
static int jira_setup_url_valid(const char *url);
static int jira_setup_form(jira_setup_ctx_t *ctx, json_t *body,
    jira_setup_fields_pt fields, jira_setup_install_t *inst,
    jira_setup_result_t *r);
static int jira_setup_oauth_fields(json_t *body, json_t *errors,
    jira_setup_install_t *inst);
static int jira_setup_pat_fields(json_t *body, json_t *errors,
    jira_setup_install_t *inst);
static int jira_setup_host_valid(const char *host, size_t len);
static int jira_setup_configured(const jira_api_in_t *in,
    jira_api_out_t *out);
static void jira_setup_install_free(jira_setup_install_t *inst);
static void jira_setup_client(const jira_setup_ctx_t *ctx,
    const jira_setup_install_t *inst, jira_client_t *c);
static void jira_setup_secret(jira_setup_ctx_t *ctx, const char *secret);
static void jira_setup_text(const jira_setup_ctx_t *ctx, char *dst,
    size_t size, const char *src);
static void jira_setup_log_text(char *dst, size_t size, const char *src);
static void jira_setup_fail(jira_setup_result_t *r, int status,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__ ((format (printf, 3, 4)))
#endif
    ;

static void jira_setup_config_step(jira_setup_ctx_t *ctx, json_t *body,
    jira_setup_result_t *r);
static void jira_setup_pat_step(jira_setup_ctx_t *ctx, json_t *body,
    jira_setup_result_t *r);
static void jira_setup_oauth_step(jira_setup_ctx_t *ctx, json_t *body,
    jira_setup_result_t *r);
static void jira_setup_finish(jira_setup_ctx_t *ctx, const char *state,
    const char *verifier, jira_setup_result_t *r);
static void jira_setup_finished(jira_setup_ctx_t *ctx, const char *id,
    jira_setup_result_t *r);
static char *jira_setup_seal_state(const jira_setup_ctx_t *ctx,
    const jira_setup_install_t *inst);
static char *jira_setup_seal(const jira_setup_ctx_t *ctx,
    const char *context, json_t *json);
static int jira_setup_open_state(const jira_setup_ctx_t *ctx,
    const char *param, jira_setup_install_t *inst);

static void jira_setup_build(jira_setup_ctx_t *ctx,
    jira_setup_install_t *inst, jira_setup_result_t *r);
static size_t jira_setup_truncate(char *s, size_t chars);
static char *jira_setup_credentials(const jira_setup_ctx_t *ctx,
    const jira_setup_install_t *inst);
static char *jira_setup_webhook_url(const jira_setup_ctx_t *ctx,
    const char *external_id, const char *secret);
static char *jira_setup_webhook_body(const char *url);
static int jira_setup_register(jira_setup_ctx_t *ctx, const jira_client_t *c,
    const char *external_id, const char *url, jira_setup_hook_t *hook,
    jira_client_error_t *err);
static void jira_setup_unregister(jira_setup_ctx_t *ctx,
    const jira_client_t *c, const char *external_id,
    jira_setup_hook_t *hook);
static jira_err_e jira_setup_persist(jira_setup_ctx_t *ctx,
    const jira_setup_install_t *inst, const char *external_id,
    const char *name, const char *metadata, const char *credentials,
    long long *integration_id);

static void jira_setup_changed(jira_api_out_t *out,
    const jira_setup_result_t *r);
static void jira_setup_answer(jira_api_out_t *out,
    const jira_setup_result_t *r);
static void jira_setup_page(jira_api_out_t *out,
    const jira_setup_result_t *r);
static size_t jira_setup_html(char *dst, const char *s);


/* $1 id, $2 organization, $3 user, $4 token hash, $5 state, $6 ttl (s) */
static const jira_stmt_t  jira_setup_insert_stmt = {
    "jira_setup_insert",
    "WITH gc AS ("
    "  DELETE FROM setup_pipeline WHERE expires_at < now())"
    " INSERT INTO setup_pipeline"
    "        (id, organization_id, user_id, request_token_hash, state,"
    "         expires_at)"
    " VALUES ($1, $2::bigint, $3::bigint, $4::bytea, $5::bytea,"
    "         now() + make_interval(secs => $6::int))"
};


/* single use: the first claim wins, later ones find nothing */
static const jira_stmt_t  jira_setup_claim_id_stmt = {
    "jira_setup_claim_id",
    "UPDATE setup_pipeline SET claimed_at = now()"
    " WHERE id = $1 AND organization_id = $2::bigint"
    "   AND user_id = $3::bigint"
    "   AND claimed_at IS NULL AND expires_at > now()"
    " RETURNING state"
};


static const jira_stmt_t  jira_setup_claim_token_stmt = {
    "jira_setup_claim_token",
    "UPDATE setup_pipeline SET claimed_at = now()"
    " WHERE request_token_hash = $1::bytea"
    "   AND claimed_at IS NULL AND expires_at > now()"
    " RETURNING id, organization_id, user_id, state"
};


/* a pipeline that was claimed already: finished, or being finished */
static const jira_stmt_t  jira_setup_status_stmt = {
    "jira_setup_status",
    "SELECT i.id, i.name, i.external_id, i.metadata ->> 'domain_name'"
    "  FROM setup_pipeline p"
    "  LEFT JOIN integration i ON i.id = p.integration_id"
    " WHERE p.id = $1 AND p.organization_id = $2::bigint"
    "   AND p.user_id = $3::bigint AND p.expires_at > now()"
};


static const jira_stmt_t  jira_setup_drop_stmt = {
    "jira_setup_drop",
    "DELETE FROM setup_pipeline WHERE id = $1"
};


/* the secrets in the state are not needed any more */
static const jira_stmt_t  jira_setup_done_stmt = {
    "jira_setup_done",
    "UPDATE setup_pipeline"
    "   SET integration_id = $2::bigint, state = ''::bytea"
    " WHERE id = $1"
};


/* one setup of one Jira account at a time, across all nodes */
static const jira_stmt_t  jira_setup_lock_stmt = {
    "jira_setup_lock",
    "SELECT pg_try_advisory_lock($1::int, hashtext($2))"
};


static const jira_stmt_t  jira_setup_unlock_stmt = {
    "jira_setup_unlock",
    "SELECT pg_advisory_unlock($1::int, hashtext($2))"
};


/* $1 external id, $2 user: the identity belongs to someone else */
static const jira_stmt_t  jira_setup_other_user_stmt = {
    "jira_setup_other_user",
    "SELECT 1"
    "  FROM identity d"
    "  JOIN identity_provider p ON p.id = d.idp_id"
    " WHERE p.type = 'jira_server' AND p.external_id = $1"
    "   AND d.external_id = $1"
    "   AND d.user_id IS DISTINCT FROM $2::bigint"
};


/*
 * finish_pipeline: Integration get_or_create (updated when it exists),
 * IdentityProvider get_or_create, Identity link_identity, and
 * add_organization with the identity as default_auth_id; an existing
 * organization integration keeps its config.
 * $1 external id, $2 name, $3 metadata, $4 user, $5 credentials,
 * $6 organization.
 */
static const jira_stmt_t  jira_setup_persist_stmt = {
    "jira_setup_persist",
    "WITH i AS ("
    "  INSERT INTO integration (provider, external_id, name, metadata,"
    "                           status)"
    "  VALUES ('jira_server', $1, $2, $3::jsonb, 0)"
    "  ON CONFLICT (provider, external_id) DO UPDATE"
    "     SET name = EXCLUDED.name, metadata = EXCLUDED.metadata,"
    "         status = 0, date_updated = now()"
    "  RETURNING id),"
    " p AS ("
    "  INSERT INTO identity_provider (type, external_id, config)"
    "  VALUES ('jira_server', $1, '{}')"
    "  ON CONFLICT (type, external_id) DO UPDATE SET type = EXCLUDED.type"
    "  RETURNING id),"
    " d AS ("
    "  INSERT INTO identity (idp_id, user_id, external_id, credentials,"
    "                        scopes, status, date_verified)"
    "  SELECT p.id, $4::bigint, $1, $5::bytea, '{}', 1, now() FROM p"
    "  ON CONFLICT (idp_id, user_id) DO UPDATE"
    "     SET external_id = EXCLUDED.external_id,"
    "         credentials = EXCLUDED.credentials, scopes = '{}',"
    "         status = 1, date_verified = now()"
    "  RETURNING id),"
    " o AS ("
    "  INSERT INTO organization_integration"
    "         (organization_id, integration_id, config, status,"
    "          default_auth_id)"
    "  SELECT $6::bigint, i.id, '{}', 0, d.id FROM i, d"
    "  ON CONFLICT (organization_id, integration_id) DO UPDATE"
    "     SET default_auth_id = EXCLUDED.default_auth_id, status = 0"
    "  RETURNING id)"
    " SELECT i.id FROM i, o"
};


/* --- the endpoint ---------------------------------------------------- */


void
jira_setup_pipeline(const jira_api_in_t *in, jira_api_out_t *out)
{
    char                 *text, msg[128];
    json_t               *body, *step, *errors;
    const char           *name;
    jira_store_t         *st;
    jira_api_actor_t      actor;
    jira_setup_ctx_t      ctx;
    jira_setup_result_t  *r;

    st = jira_api_store(in, out);
    if (st == NULL) {
        return;
    }

    if (in->nparams < 2
        || jira_api_auth(st, in, "org:integrations", in->params[1], &actor,
                         out) != 0)
    {
        return;
    }

    body = jira_setup_body(in, out);
    if (body == NULL) {
        return;
    }

    step = json_object_get(body, "step");
    name = json_is_string(step) ? json_string_value(step) : NULL;

    if (name == NULL || (strcmp(name, "installation_config") != 0
                         && strcmp(name, "oauth_callback") != 0))
    {
        errors = json_object();
        if (errors == NULL) {
            json_decref(body);
            jira_api_fail(out, JIRA_EDB);
            return;
        }

        if (step == NULL) {
            jira_api_field_error(errors, "step", JIRA_SETUP_REQUIRED);

        } else if (json_is_null(step)) {
            jira_api_field_error(errors, "step", JIRA_SETUP_NULL);

        } else {
            text = json_dumps(step, JSON_ENCODE_ANY | JSON_COMPACT);
            (void) snprintf(msg, sizeof(msg), "\"%.64s\" is not a valid"
                            " choice.", name ? name : text ? text : "");
            free(text);
            jira_api_field_error(errors, "step", msg);
        }

        json_decref(body);
        jira_api_json(out, 400, errors);
        return;
    }

    r = calloc(1, sizeof(jira_setup_result_t));
    if (r == NULL) {
        json_decref(body);
        jira_api_fail(out, JIRA_EDB);
        return;
    }

    memset(&ctx, 0, sizeof(jira_setup_ctx_t));
    ctx.in = in;
    ctx.out = out;
    ctx.st = st;
    ctx.org_id = actor.org_id;
    ctx.user_id = actor.user_id;

    if (strcmp(name, "oauth_callback") == 0) {
        jira_setup_oauth_step(&ctx, body, r);

    } else if (json_object_get(body, "personalAccessToken") != NULL) {
        jira_setup_pat_step(&ctx, body, r);

    } else {
        jira_setup_config_step(&ctx, body, r);
    }

    json_decref(body);

    /* a step that answered field errors itself leaves status 0, no err */
    if (r->status != 0 || r->err != JIRA_OK) {
        jira_setup_answer(out, r);
    }

    free(r->oauth_url);
    free(r);
}


void
jira_setup_callback(const jira_api_in_t *in, jira_api_out_t *out)
{
    char                  hash[JIRA_AUTH_HASH_PARAM_LEN], id[64];
    char                 *token, *verifier, *state;
    PGresult             *res;
    jira_err_e            err;
    const char           *values[1];
    jira_store_t         *st;
    jira_setup_ctx_t      ctx;
    jira_setup_result_t  *r;

    out->content_type = "text/html; charset=utf-8";

    r = calloc(1, sizeof(jira_setup_result_t));
    if (r == NULL) {
        jira_api_fail(out, JIRA_EDB);
        return;
    }

    token = NULL;
    verifier = NULL;
    state = NULL;

    if (in->query != NULL) {
        token = jira_oauth1_form_get(in->query, strlen(in->query),
                                     "oauth_token");
        verifier = jira_oauth1_form_get(in->query, strlen(in->query),
                                        "oauth_verifier");
    }

    if (token == NULL) {
        jira_setup_fail(r, 400, "Missing oauth_token");
        goto done;
    }

    if (jira_setup_configured(in, out) != 0) {
        goto failed;
    }

    st = jira_api_store(in, out);
    if (st == NULL) {
        goto failed;
    }

    memset(&ctx, 0, sizeof(jira_setup_ctx_t));
    ctx.in = in;
    ctx.out = out;
    ctx.st = st;

    jira_auth_hash_param(token, strlen(token), hash);
    values[0] = hash;

    res = jira_store_exec(st, &jira_setup_claim_token_stmt, 1, values, &err);
    if (res == NULL) {
        jira_api_fail(out, err);
        goto failed;
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        jira_log(&out->log, JIRA_LOG_INFO,
                 "jira-server.setup.callback-refused: unknown, used or"
                 " expired request token");
        jira_setup_fail(r, 404, JIRA_SETUP_NO_SESSION);
        goto done;
    }

    (void) snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    ctx.org_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    ctx.user_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    state = strdup(PQgetvalue(res, 0, 3));
    PQclear(res);

    if (state == NULL) {
        jira_api_fail(out, JIRA_EDB);
        goto failed;
    }

    ctx.pipeline_id = id;

    /* Jira sends a verifier when it has one; Sentry uses the token */
    jira_setup_finish(&ctx, state, verifier ? verifier : token, r);

    if (r->status == 0) {
        jira_api_fail(out, r->err);
        goto failed;
    }

done:

    jira_setup_page(out, r);

failed:

    free(token);
    free(verifier);
    free(state);
    free(r->oauth_url);
    free(r);
}


/*
 * The first step's form: url, the credentials (read by fields) and
 * verifySsl, every field's errors answered together with 400 as DRF
 * does; then whether the module is configured for setup at all.
 * 0 to go on, -1 when answered (or r->err set).
 */

static int
jira_setup_form(jira_setup_ctx_t *ctx, json_t *body,
    jira_setup_fields_pt fields, jira_setup_install_t *inst,
    jira_setup_result_t *r)
{
    int      rc;
    json_t  *errors;

    errors = json_object();
    if (errors == NULL) {
        r->err = JIRA_EDB;
        return -1;
    }

    rc = jira_setup_url(body, errors, inst);

    if (fields(body, errors, inst) != 0) {
        rc = -1;
    }

    if (jira_setup_bool(body, "verifySsl", 1, errors, &inst->verify_ssl)
        != 0)
    {
        rc = -1;
    }

    if (rc != 0) {
        /* the answer takes the errors over */
        jira_api_json(ctx->out, 400, errors);
        return -1;
    }

    json_decref(errors);

    return jira_setup_configured(ctx->in, ctx->out);
}


/* OAuth 1.0a: the consumer key, and an RSA private key that loads */

static int
jira_setup_oauth_fields(json_t *body, json_t *errors,
    jira_setup_install_t *inst)
{
    int  rc;

    rc = jira_setup_string(body, "consumerKey", 1,
                           JIRA_SETUP_CONSUMER_KEY_LEN, errors,
                           &inst->consumer_key);

    if (jira_setup_string(body, "privateKey", 1, 0, errors,
                          &inst->private_key) != 0)
    {
        return -1;
    }

    inst->key = jira_oauth1_load_key(inst->private_key,
                                     strlen(inst->private_key));
    if (inst->key == NULL) {
        jira_api_field_error(errors, "privateKey", JIRA_SETUP_BAD_KEY);
        return -1;
    }

    return rc;
}


static int
jira_setup_pat_fields(json_t *body, json_t *errors,
    jira_setup_install_t *inst)
{
    return jira_setup_string(body, "personalAccessToken", 1,
                             JIRA_SETUP_PAT_LEN, errors, &inst->pat);
}


/* --- steps --------------------------------------------------------------- */


static void
jira_setup_config_step(jira_setup_ctx_t *ctx, json_t *body,
    jira_setup_result_t *r)
{
    char                  *callback, *state, *p;
    size_t                 len;
    PGresult              *res;
    jira_err_e             err;
    const char            *values[6];
    jira_client_t          c;
    jira_client_error_t    cerr;
    jira_setup_install_t   inst;
    char                   hash[JIRA_AUTH_HASH_PARAM_LEN], ttl[32];
    char                   text[JIRA_CLIENT_ERROR_LEN], log[512];
    char                   org[32], user[32];

    memset(&inst, 0, sizeof(jira_setup_install_t));
    callback = NULL;
    state = NULL;

    if (jira_setup_form(ctx, body, jira_setup_oauth_fields, &inst, r) != 0) {
        goto done;
    }

    jira_setup_secret(ctx, inst.private_key);

    len = strlen(ctx->in->conf->public_url)
          + sizeof(JIRA_SETUP_CALLBACK_PATH);
    callback = malloc(len);
    if (callback == NULL) {
        r->err = JIRA_EDB;
        goto done;
    }

    (void) snprintf(callback, len, "%s" JIRA_SETUP_CALLBACK_PATH,
                    ctx->in->conf->public_url);

    jira_setup_client(ctx, &inst, &c);

    if (jira_client_request_token(&c, callback, &inst.request_token,
                                  &inst.request_secret, &cerr)
        != 0)
    {
        jira_setup_text(ctx, text, sizeof(text), cerr.text);
        jira_setup_log_text(log, sizeof(log), text);
        jira_log(&ctx->out->log, JIRA_LOG_INFO,
                 "identity.jira-server.request-token url=\"%s\""
                 " error=\"%s\"", inst.url, log);
        jira_setup_fail(r, 400,
                        "Could not fetch a request token from Jira. %s",
                        text);
        goto done;
    }

    jira_setup_secret(ctx, inst.request_secret);

    if (inst.request_token == NULL || inst.request_secret == NULL) {
        jira_setup_log_text(log, sizeof(log), cerr.keys);
        jira_log(&ctx->out->log, JIRA_LOG_INFO,
                 "identity.jira-server.oauth-token url=\"%s\""
                 " data_keys=[%s]", inst.url, log);
        jira_setup_fail(r, 400, "Missing oauth_token");
        goto done;
    }

    if (jira_crypto_random_hex(r->pipeline, JIRA_SETUP_ID_BYTES) != 0) {
        r->err = JIRA_EDB;
        goto done;
    }

    state = jira_setup_seal_state(ctx, &inst);
    if (state == NULL) {
        r->err = JIRA_EDB;
        goto done;
    }

    jira_auth_hash_param(inst.request_token, strlen(inst.request_token),
                         hash);
    (void) snprintf(org, sizeof(org), "%lld", ctx->org_id);
    (void) snprintf(user, sizeof(user), "%lld", ctx->user_id);
    (void) snprintf(ttl, sizeof(ttl), "%d", ctx->in->conf->pipeline_ttl);

    values[0] = r->pipeline;
    values[1] = org;
    values[2] = user;
    values[3] = hash;
    values[4] = state;
    values[5] = ttl;

    res = jira_store_exec(ctx->st, &jira_setup_insert_stmt, 6, values, &err);
    if (res == NULL) {
        r->err = err;
        goto done;
    }

    PQclear(res);

    /* Sentry's authorize URL; the token is escaped should Jira need it */
    len = strlen(inst.url) + sizeof("/plugins/servlet/oauth/authorize"
                                    "?oauth_token=")
          + 3 * strlen(inst.request_token);

    r->oauth_url = malloc(len);
    if (r->oauth_url == NULL) {
        r->err = JIRA_EDB;
        goto done;
    }

    p = r->oauth_url;
    p += sprintf(p, "%s/plugins/servlet/oauth/authorize?oauth_token=",
                 inst.url);
    p += jira_oauth1_encode(p, inst.request_token,
                            strlen(inst.request_token));
    *p = '\0';

    r->status = 200;
    r->advance = 1;

done:

    free(callback);
    jira_crypto_free(state, state ? strlen(state) : 0);
    jira_setup_install_free(&inst);
}


static void
jira_setup_pat_step(jira_setup_ctx_t *ctx, json_t *body,
    jira_setup_result_t *r)
{
    char                   text[JIRA_CLIENT_ERROR_LEN], log[512];
    jira_client_t          c;
    jira_client_error_t    cerr;
    jira_setup_install_t   inst;

    memset(&inst, 0, sizeof(jira_setup_install_t));

    if (jira_setup_form(ctx, body, jira_setup_pat_fields, &inst, r) != 0) {
        jira_setup_install_free(&inst);
        return;
    }

    jira_setup_secret(ctx, inst.pat);
    jira_setup_client(ctx, &inst, &c);

    if (jira_client_myself(&c, &inst.jira_user, &cerr) != 0) {
        jira_setup_text(ctx, text, sizeof(text),
                        cerr.message[0] ? cerr.message : cerr.text);
        jira_setup_log_text(log, sizeof(log), text);
        jira_log(&ctx->out->log, JIRA_LOG_INFO,
                 "identity.jira-server.myself url=\"%s\" status=%ld"
                 " error=\"%s\"", inst.url, cerr.status, log);
        jira_setup_fail(r, 400, "Could not fetch the Jira user of the"
                        " personal access token. %s", text);
        jira_setup_install_free(&inst);
        return;
    }

    jira_setup_build(ctx, &inst, r);
    jira_setup_install_free(&inst);
}


static void
jira_setup_oauth_step(jira_setup_ctx_t *ctx, json_t *body,
    jira_setup_result_t *r)
{
    int           rc;
    char          org[32], user[32];
    char         *id, *token, *state;
    size_t        i;
    json_t       *errors;
    PGresult     *res;
    jira_err_e    err;
    const char   *values[3];

    id = NULL;
    token = NULL;
    state = NULL;

    errors = json_object();
    if (errors == NULL) {
        r->err = JIRA_EDB;
        return;
    }

    rc = jira_setup_string(body, "pipeline", 1, 64, errors, &id);

    if (jira_setup_string(body, "oauthToken", 1, 1024, errors, &token) != 0) {
        rc = -1;
    }

    if (rc != 0) {
        /* the answer takes the errors over */
        jira_api_json(ctx->out, 400, errors);
        errors = NULL;
        goto done;
    }

    json_decref(errors);
    errors = NULL;

    /* ids are 32 lower-case hex digits: anything else names nothing */
    for (i = 0; id[i] != '\0'; i++) {
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a'
                                                  && id[i] <= 'f')))
        {
            break;
        }
    }

    if (id[i] != '\0' || i != 2 * JIRA_SETUP_ID_BYTES) {
        jira_setup_fail(r, 404, JIRA_SETUP_NO_SESSION);
        goto done;
    }

    if (jira_setup_configured(ctx->in, ctx->out) != 0) {
        goto done;
    }

    (void) snprintf(org, sizeof(org), "%lld", ctx->org_id);
    (void) snprintf(user, sizeof(user), "%lld", ctx->user_id);

    values[0] = id;
    values[1] = org;
    values[2] = user;

    res = jira_store_exec(ctx->st, &jira_setup_claim_id_stmt, 3, values,
                          &err);
    if (res == NULL) {
        r->err = err;
        goto done;
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        jira_setup_finished(ctx, id, r);
        goto done;
    }

    state = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);

    if (state == NULL) {
        r->err = JIRA_EDB;
        goto done;
    }

    ctx->pipeline_id = id;

    /* Jira Server takes the callback's oauth_token as the verifier */
    jira_setup_finish(ctx, state, token, r);

done:

    json_decref(errors);
    free(id);
    free(token);
    free(state);
}


/*
 * A pipeline that could not be claimed: finished (answer its result
 * again), being finished elsewhere, or unknown and expired.
 */

static void
jira_setup_finished(jira_setup_ctx_t *ctx, const char *id,
    jira_setup_result_t *r)
{
    char         org[32], user[32];
    PGresult    *res;
    jira_err_e   err;
    const char  *values[3];

    (void) snprintf(org, sizeof(org), "%lld", ctx->org_id);
    (void) snprintf(user, sizeof(user), "%lld", ctx->user_id);

    values[0] = id;
    values[1] = org;
    values[2] = user;

    res = jira_store_exec(ctx->st, &jira_setup_status_stmt, 3, values, &err);
    if (res == NULL) {
        r->err = err;
        return;
    }

    if (PQntuples(res) != 1) {
        jira_setup_fail(r, 404, JIRA_SETUP_NO_SESSION);

    } else if (PQgetisnull(res, 0, 0)) {
        jira_setup_fail(r, 400, JIRA_SETUP_IN_PROGRESS);

    } else {
        r->status = 200;
        r->integration_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        (void) snprintf(r->name, sizeof(r->name), "%s",
                        PQgetvalue(res, 0, 1));
        (void) snprintf(r->external_id, sizeof(r->external_id), "%s",
                        PQgetvalue(res, 0, 2));
        (void) snprintf(r->domain, sizeof(r->domain), "%s",
                        PQgetvalue(res, 0, 3));
    }

    PQclear(res);
}


/*
 * The last step, from the API or the browser: the access token, then
 * build_integration.  The pipeline was claimed; it is dropped unless
 * the integration was built.
 */

static void
jira_setup_finish(jira_setup_ctx_t *ctx, const char *state,
    const char *verifier, jira_setup_result_t *r)
{
    char                   text[JIRA_CLIENT_ERROR_LEN], log[512];
    jira_err_e             err;
    const char            *values[1];
    jira_client_t          c;
    jira_client_error_t    cerr;
    jira_setup_install_t   inst;

    memset(&inst, 0, sizeof(jira_setup_install_t));

    if (jira_setup_open_state(ctx, state, &inst) != 0) {
        /* another key, or altered: nothing can finish this pipeline */
        jira_log(&ctx->out->log, JIRA_LOG_ERR,
                 "jira-server.setup: the state of pipeline %s cannot be"
                 " opened with the key of jira_sync_secret_key_file",
                 ctx->pipeline_id);
        jira_setup_fail(r, 404, JIRA_SETUP_NO_SESSION);
        goto drop;
    }

    jira_setup_secret(ctx, inst.private_key);
    jira_setup_secret(ctx, inst.request_secret);
    jira_setup_client(ctx, &inst, &c);

    if (jira_client_access_token(&c, inst.request_token, verifier,
                                 &inst.access_token, &inst.access_secret,
                                 &cerr)
        != 0)
    {
        jira_setup_text(ctx, text, sizeof(text), cerr.text);
        jira_setup_log_text(log, sizeof(log), text);
        jira_log(&ctx->out->log, JIRA_LOG_INFO,
                 "identity.jira-server.access-token url=\"%s\" status=%ld"
                 " error=\"%s\"", inst.url, cerr.status, log);
        jira_setup_fail(r, 400, "Could not fetch an access token from Jira");
        goto drop;
    }

    jira_setup_secret(ctx, inst.access_token);
    jira_setup_secret(ctx, inst.access_secret);

    jira_setup_build(ctx, &inst, r);

    if (r->status == 200) {
        jira_setup_install_free(&inst);
        return;
    }

drop:

    jira_setup_install_free(&inst);

    values[0] = ctx->pipeline_id;

    if (jira_store_run(ctx->st, &jira_setup_drop_stmt, 1, values, &err)
        < 0)
    {
        /* it stays claimed and expires: nobody can use it again */
        jira_log(&ctx->out->log, JIRA_LOG_WARN,
                 "jira-server.setup: could not drop pipeline %s: %s",
                 ctx->pipeline_id, jira_store_error());
    }
}


static char *
jira_setup_seal_state(const jira_setup_ctx_t *ctx,
    const jira_setup_install_t *inst)
{
    return jira_setup_seal(ctx, JIRA_CRYPTO_PIPELINE,
                           json_pack("{s:s, s:b, s:s, s:s, s:s, s:s}",
                                     "url", inst->url,
                                     "verify_ssl", inst->verify_ssl,
                                     "consumer_key", inst->consumer_key,
                                     "private_key", inst->private_key,
                                     "request_token", inst->request_token,
                                     "request_token_secret",
                                     inst->request_secret));
}


/* JSON (its reference taken) as sealed text in a bytea parameter */

static char *
jira_setup_seal(const jira_setup_ctx_t *ctx, const char *context,
    json_t *json)
{
    char  *text, *param;

    if (json == NULL) {
        return NULL;
    }

    text = json_dumps(json, JSON_COMPACT);
    json_decref(json);

    if (text == NULL) {
        return NULL;
    }

    param = jira_crypto_seal_bytea(ctx->in->conf->secret_key, context,
                                   text);
    jira_crypto_free(text, strlen(text));

    return param;
}


static int
jira_setup_open_state(const jira_setup_ctx_t *ctx, const char *param,
    jira_setup_install_t *inst)
{
    int             rc, verify;
    char           *url, *key, *pem, *token, *secret;
    size_t          plain_len;
    json_t         *json, *v;
    const char     *k;
    unsigned char  *plain;

    if (jira_crypto_open_bytea(ctx->in->conf->secret_key,
                               JIRA_CRYPTO_PIPELINE, param, &plain,
                               &plain_len)
        != 0)
    {
        return -1;
    }

    json = json_loadb((const char *) plain, plain_len, 0, NULL);
    jira_crypto_free(plain, plain_len);

    if (json == NULL) {
        return -1;
    }

    rc = -1;

    if (json_unpack(json, "{s:s, s:b, s:s, s:s, s:s, s:s}",
                    "url", &url, "verify_ssl", &verify,
                    "consumer_key", &key, "private_key", &pem,
                    "request_token", &token,
                    "request_token_secret", &secret) == 0)
    {
        inst->url = strdup(url);
        inst->consumer_key = strdup(key);
        inst->private_key = strdup(pem);
        inst->request_token = strdup(token);
        inst->request_secret = strdup(secret);
        inst->verify_ssl = verify;

        if (inst->url && inst->consumer_key && inst->private_key
            && inst->request_token && inst->request_secret
            && jira_http_netloc(inst->url, inst->netloc,
                                sizeof(inst->netloc)) > 0)
        {
            inst->key = jira_oauth1_load_key(inst->private_key,
                                             strlen(inst->private_key));
            rc = inst->key ? 0 : -1;
        }
    }

    /* the object holds the private key: wipe it before it goes */
    if (json_is_object(json)) {
        json_object_foreach(json, k, v) {
            if (json_is_string(v)) {
                OPENSSL_cleanse((void *) json_string_value(v),
                                json_string_length(v));
            }
        }
    }

    json_decref(json);

    return rc;
}


/* --- build_integration -------------------------------------------------- */


static void
jira_setup_build(jira_setup_ctx_t *ctx, jira_setup_install_t *inst,
    jira_setup_result_t *r)
{
    int                   locked, tries;
    size_t                nsecrets;
    char                  secret[2 * JIRA_SETUP_SECRET_BYTES + 1];
    char                  user[32], text[JIRA_CLIENT_ERROR_LEN], log[512];
    char                 *external_id, *url, *metadata, *credentials;
    size_t                len;
    json_t               *json;
    PGresult             *res;
    jira_err_e            err;
    const char           *name, *values[2];
    jira_client_t         c;
    jira_setup_hook_t     hook;
    jira_client_error_t   cerr;

    external_id = NULL;
    url = NULL;
    metadata = NULL;
    credentials = NULL;
    locked = 0;
    nsecrets = ctx->nsecrets;
    memset(&hook, 0, sizeof(jira_setup_hook_t));

    name = inst->pat ? inst->jira_user : inst->consumer_key;

    /* "{hostname}:{consumer key}"[:64], in characters as Python cuts */
    len = strlen(inst->netloc) + 1 + strlen(name) + 1;
    external_id = malloc(len);
    if (external_id == NULL) {
        r->err = JIRA_EDB;
        goto done;
    }

    (void) snprintf(external_id, len, "%s:%s", inst->netloc, name);
    (void) jira_setup_truncate(external_id, JIRA_SETUP_EXTERNAL_ID_LEN);

    /* Sentry derives the secret from the key; a random one cannot leak */
    if (jira_crypto_random_hex(secret, JIRA_SETUP_SECRET_BYTES) != 0) {
        r->err = JIRA_EDB;
        goto done;
    }

    jira_setup_secret(ctx, secret);

    /* the URL carries the token: a Jira error may quote it */
    url = jira_setup_webhook_url(ctx, external_id, secret);
    jira_setup_secret(ctx, url);
    credentials = jira_setup_credentials(ctx, inst);

    json = json_pack("{s:s, s:s, s:b, s:s}",
                     "base_url", inst->url,
                     "domain_name", inst->netloc,
                     "verify_ssl", inst->verify_ssl,
                     "webhook_secret", secret);
    if (json != NULL) {
        metadata = json_dumps(json, JSON_COMPACT);
        json_decref(json);
    }

    if (url == NULL || credentials == NULL || metadata == NULL) {
        r->err = JIRA_EDB;
        goto done;
    }

    values[0] = JIRA_SETUP_LOCK_CLASS;
    values[1] = external_id;

    res = jira_store_exec(ctx->st, &jira_setup_lock_stmt, 2, values, &err);
    if (res == NULL) {
        r->err = err;
        goto done;
    }

    locked = (PQgetvalue(res, 0, 0)[0] == 't');
    PQclear(res);

    if (!locked) {
        jira_setup_fail(r, 400, JIRA_SETUP_BUSY);
        goto done;
    }

    /* checked before Jira is touched, so that a refusal leaves nothing */
    (void) snprintf(user, sizeof(user), "%lld", ctx->user_id);
    values[1] = user;
    values[0] = external_id;

    res = jira_store_exec(ctx->st, &jira_setup_other_user_stmt, 2, values,
                          &err);
    if (res == NULL) {
        r->err = err;
        goto done;
    }

    if (PQntuples(res) != 0) {
        PQclear(res);
        jira_setup_fail(r, 400, JIRA_SETUP_OTHER_USER);
        goto done;
    }

    PQclear(res);

    /* create_webhook: before a single row is written */
    jira_setup_client(ctx, inst, &c);

    if (jira_setup_register(ctx, &c, external_id, url, &hook, &cerr) != 0) {
        jira_setup_text(ctx, text, sizeof(text), cerr.text);
        jira_setup_log_text(log, sizeof(log), text);
        jira_log(&ctx->out->log, JIRA_LOG_INFO,
                 "jira-server.webhook.failed external_id=\"%s\" status=%ld"
                 " error=\"%s\"", external_id, cerr.status, log);

        /* Jira's first message, else (no answer at all) why not */
        if (cerr.message[0] != '\0') {
            jira_setup_text(ctx, text, sizeof(text), cerr.message);

        } else if (cerr.http_err == JIRA_HTTP_OK) {
            text[0] = '\0';
        }

        jira_setup_fail(r, 400, "Could not create issue webhook in Jira. %s",
                        text);
        goto done;
    }

    for (tries = 1; /* void */; tries++) {
        err = jira_setup_persist(ctx, inst, external_id, name, metadata,
                                 credentials, &r->integration_id);

        if (err != JIRA_ERETRY || tries == JIRA_SETUP_TRIES) {
            break;
        }
    }

    if (err != JIRA_OK) {
        jira_setup_unregister(ctx, &c, external_id, &hook);

        if (err == JIRA_ECONFLICT) {
            jira_setup_fail(r, 400, JIRA_SETUP_OTHER_USER);

        } else {
            r->err = err;
        }

        goto done;
    }

    jira_log(&ctx->out->log, JIRA_LOG_INFO,
             "jira-server.installed integration_id=%lld external_id=\"%s\""
             " organization_id=%lld webhook=%s jira_version=%d",
             r->integration_id, external_id, ctx->org_id,
             hook.action == JIRA_SETUP_HOOK_CREATED ? "created"
             : hook.action == JIRA_SETUP_HOOK_UPDATED ? "updated"
             : "reused", hook.major);

    r->status = 200;
    (void) snprintf(r->name, sizeof(r->name), "%s", name);
    (void) snprintf(r->external_id, sizeof(r->external_id), "%s",
                    external_id);
    (void) snprintf(r->domain, sizeof(r->domain), "%s", inst->netloc);

done:

    if (locked) {
        values[0] = JIRA_SETUP_LOCK_CLASS;
        values[1] = external_id;

        res = jira_store_exec(ctx->st, &jira_setup_unlock_stmt, 2, values,
                              &err);
        if (res != NULL) {
            PQclear(res);
        }
    }

    /* the secrets of this build are about to be freed */
    ctx->nsecrets = nsecrets;

    json_decref(hook.previous);
    free(external_id);
    free(url);
    jira_crypto_free(metadata, metadata ? strlen(metadata) : 0);
    jira_crypto_free(credentials, credentials ? strlen(credentials) : 0);
    OPENSSL_cleanse(secret, sizeof(secret));
}


/* keep the first chars characters of UTF-8 text; returns the new length */

static size_t
jira_setup_truncate(char *s, size_t chars)
{
    size_t  i, n;

    n = 0;

    for (i = 0; s[i] != '\0'; i++) {
        if (((unsigned char) s[i] & 0xc0) != 0x80) {
            if (n == chars) {
                s[i] = '\0';
                break;
            }

            n++;
        }
    }

    return i;
}


/* identity.credentials: the secrets as JSON, sealed, as a bytea param */

static char *
jira_setup_credentials(const jira_setup_ctx_t *ctx,
    const jira_setup_install_t *inst)
{
    json_t  *json;

    if (inst->pat != NULL) {
        json = json_pack("{s:s, s:s, s:s}",
                         "type", "personal_access_token",
                         "personal_access_token", inst->pat,
                         "username", inst->jira_user);

    } else {
        json = json_pack("{s:s, s:s, s:s, s:s, s:s}",
                         "type", "oauth1",
                         "consumer_key", inst->consumer_key,
                         "private_key", inst->private_key,
                         "access_token", inst->access_token,
                         "access_token_secret", inst->access_secret);
    }

    return jira_setup_seal(ctx, JIRA_CRYPTO_IDENTITY, json);
}


/* {public_url}/extensions/jira-server/issue-updated/{JWT {"id"}}/ */

static char *
jira_setup_webhook_url(const jira_setup_ctx_t *ctx, const char *external_id,
    const char *secret)
{
    int      n;
    char    *claims, *url, token[JIRA_JWT_MAX_LEN + 1];
    size_t   len;
    json_t  *json;

    json = json_pack("{s:s}", "id", external_id);
    if (json == NULL) {
        return NULL;
    }

    claims = json_dumps(json, JSON_COMPACT);
    json_decref(json);

    if (claims == NULL) {
        return NULL;
    }

    n = jira_jwt_sign_hs256(claims, strlen(claims), secret, strlen(secret),
                            token, sizeof(token));
    free(claims);

    if (n < 0) {
        return NULL;
    }

    len = strlen(ctx->in->conf->public_url) + sizeof(JIRA_SETUP_WEBHOOK_PATH)
          + n + 1;

    url = malloc(len);
    if (url != NULL) {
        (void) snprintf(url, len, "%s" JIRA_SETUP_WEBHOOK_PATH "%s/",
                        ctx->in->conf->public_url, token);
    }

    OPENSSL_cleanse(token, sizeof(token));

    return url;
}


static char *
jira_setup_webhook_body(const char *url)
{
    char    *text;
    json_t  *json;

    json = json_pack("{s:s, s:s, s:[s, s]}",
                     "name", JIRA_SETUP_WEBHOOK_NAME,
                     "url", url,
                     "events", "jira:issue_created", "jira:issue_updated");
    if (json == NULL) {
        return NULL;
    }

    text = json_dumps(json, JSON_COMPACT);
    json_decref(json);

    return text;
}


/*
 * serverInfo picks the resource; a webhook of ours is reused (its URL
 * updated when it differs) and further ones of ours are removed, else
 * one is created.  Jira never gets a second webhook for one
 * integration.
 */

static int
jira_setup_register(jira_setup_ctx_t *ctx, const jira_client_t *c,
    const char *external_id, const char *url, jira_setup_hook_t *hook,
    jira_client_error_t *err)
{
    int                   rc;
    char                 *body, *id, buf[64];
    size_t                i;
    json_t               *list, *item, *v, *kept;
    jira_client_error_t   derr;

    if (jira_client_server_major(c, &hook->major, err) != 0) {
        return -1;
    }

    if (jira_client_webhooks(c, hook->major, &list, err) != 0) {
        return -1;
    }

    body = jira_setup_webhook_body(url);
    if (body == NULL) {
        json_decref(list);
        memset(err, 0, sizeof(jira_client_error_t));
        err->http_err = JIRA_HTTP_EINTERNAL;
        (void) snprintf(err->text, sizeof(err->text), "out of memory");
        return -1;
    }

    kept = NULL;
    rc = 0;

    json_array_foreach(list, i, item) {
        if (!jira_hooks_is_ours(ctx->in->conf->public_url, item,
                                external_id)
            || jira_client_webhook_id(item, buf, sizeof(buf)) == NULL)
        {
            continue;
        }

        if (kept == NULL) {
            kept = item;
            (void) snprintf(hook->id, sizeof(hook->id), "%s", buf);
            continue;
        }

        /* a duplicate delivers every change twice: remove it */
        if (jira_client_webhook_delete(c, hook->major, buf, &derr) != 0) {
            jira_log(&ctx->out->log, JIRA_LOG_WARN,
                     "jira-server.webhook.duplicate external_id=\"%s\""
                     " webhook_id=%s status=%ld: could not remove it",
                     external_id, buf, derr.status);

        } else {
            jira_log(&ctx->out->log, JIRA_LOG_INFO,
                     "jira-server.webhook.duplicate-removed"
                     " external_id=\"%s\" webhook_id=%s", external_id, buf);
        }
    }

    if (kept != NULL) {
        v = json_object_get(kept, "url");

        if (json_is_string(v) && strcmp(json_string_value(v), url) == 0) {
            hook->action = JIRA_SETUP_HOOK_REUSED;

        } else if (jira_client_webhook_update(c, hook->major, hook->id, body,
                                              err) != 0)
        {
            rc = -1;

        } else {
            hook->action = JIRA_SETUP_HOOK_UPDATED;
            hook->previous = json_deep_copy(kept);
        }

    } else if (jira_client_webhook_create(c, hook->major, body, &id, err)
               != 0)
    {
        rc = -1;

    } else {
        hook->action = JIRA_SETUP_HOOK_CREATED;

        if (id != NULL) {
            (void) snprintf(hook->id, sizeof(hook->id), "%s", id);
            free(id);
        }
    }

    json_decref(list);
    free(body);

    return rc;
}


/* the database refused: leave Jira as it was, as far as it lets us */

static void
jira_setup_unregister(jira_setup_ctx_t *ctx, const jira_client_t *c,
    const char *external_id, jira_setup_hook_t *hook)
{
    int                   rc;
    char                 *body;
    json_t               *v;
    jira_client_error_t   err;

    rc = 0;

    if (hook->action == JIRA_SETUP_HOOK_CREATED && hook->id[0] != '\0') {
        rc = jira_client_webhook_delete(c, hook->major, hook->id, &err);

    } else if (hook->action == JIRA_SETUP_HOOK_UPDATED
               && hook->previous != NULL)
    {
        v = json_object_get(hook->previous, "url");
        body = json_is_string(v) ? jira_setup_webhook_body(
                                       json_string_value(v))
                                 : NULL;

        rc = body ? jira_client_webhook_update(c, hook->major, hook->id,
                                               body, &err)
                  : -1;
        free(body);

    } else {
        return;
    }

    jira_log(&ctx->out->log, rc == 0 ? JIRA_LOG_INFO : JIRA_LOG_WARN,
             "jira-server.webhook.%s external_id=\"%s\" webhook_id=%s%s",
             hook->action == JIRA_SETUP_HOOK_CREATED ? "removed"
                                                     : "restored",
             external_id, hook->id[0] ? hook->id : "-",
             rc == 0 ? "" : ": failed, remove or fix it in Jira");
}


static jira_err_e
jira_setup_persist(jira_setup_ctx_t *ctx, const jira_setup_install_t *inst,
    const char *external_id, const char *name, const char *metadata,
    const char *credentials, long long *integration_id)
{
    char          user[32], org[32], iid[32];
    PGresult     *res;
    jira_err_e    err;
    const char   *values[6];

    (void) snprintf(user, sizeof(user), "%lld", ctx->user_id);
    (void) snprintf(org, sizeof(org), "%lld", ctx->org_id);

    err = jira_store_begin(ctx->st);
    if (err != JIRA_OK) {
        return err;
    }

    values[0] = external_id;
    values[1] = name;
    values[2] = metadata;
    values[3] = user;
    values[4] = credentials;
    values[5] = org;

    res = jira_store_exec(ctx->st, &jira_setup_persist_stmt, 6, values,
                          &err);
    if (res == NULL) {
        goto failed;
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        err = JIRA_EDB;
        goto failed;
    }

    *integration_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);

    if (ctx->pipeline_id != NULL) {
        (void) snprintf(iid, sizeof(iid), "%lld", *integration_id);
        values[0] = ctx->pipeline_id;
        values[1] = iid;

        if (jira_store_run(ctx->st, &jira_setup_done_stmt, 2, values, &err)
            < 0)
        {
            goto failed;
        }
    }

    err = jira_store_commit(ctx->st);
    if (err == JIRA_OK) {
        return JIRA_OK;
    }

failed:

    jira_store_rollback(ctx->st);

    return err;
}


/* --- validation ---------------------------------------------------------- */


/* the body as a JSON object; DRF's answers otherwise */

static json_t *
jira_setup_body(const jira_api_in_t *in, jira_api_out_t *out)
{
    char           msg[160];
    json_t        *body, *errors;
    const char    *type;
    json_error_t   jerr;

    if (in->body == NULL || in->body_len == 0) {
        body = json_object();
        if (body == NULL) {
            jira_api_fail(out, JIRA_EDB);
        }

        return body;
    }

    body = json_loadb(in->body, in->body_len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                     &jerr);

    if (body == NULL) {
        jira_api_detail(out, 400, "JSON parse error - %s", jerr.text);
        return NULL;
    }

    if (json_is_object(body)) {
        return body;
    }

    type = jira_api_python_type(body);

    json_decref(body);

    (void) snprintf(msg, sizeof(msg),
                    "Invalid data. Expected a dictionary, but got %s.", type);

    errors = json_pack("{s:[s]}", "non_field_errors", msg);
    if (errors == NULL) {
        jira_api_fail(out, JIRA_EDB);
        return NULL;
    }

    jira_api_json(out, 400, errors);

    return NULL;
}



/*
 * A DRF CharField: required, not null, a string (numbers are taken as
 * their text), no NUL, white space trimmed, not blank, at most max
 * characters (0: no limit).  Returns 0 with *value malloc()ed (NULL when
 * absent and optional), or -1 with the error added.
 */

static int
jira_setup_string(json_t *body, const char *field, int required,
    size_t max, json_t *errors, char **value)
{
    char         msg[96], num[64];
    size_t       len, chars, i;
    json_t      *v;
    const char  *s;

    *value = NULL;

    v = json_object_get(body, field);

    if (v == NULL) {
        if (!required) {
            return 0;
        }

        jira_api_field_error(errors, field, JIRA_SETUP_REQUIRED);
        return -1;
    }

    if (json_is_null(v)) {
        jira_api_field_error(errors, field, JIRA_SETUP_NULL);
        return -1;
    }

    if (json_is_string(v)) {
        s = json_string_value(v);
        len = json_string_length(v);

        if (strlen(s) != len) {
            jira_api_field_error(errors, field, JIRA_SETUP_NUL_CHAR);
            return -1;
        }

    } else if (json_is_integer(v)) {
        (void) snprintf(num, sizeof(num), "%lld",
                        (long long) json_integer_value(v));
        s = num;
        len = strlen(num);

    } else if (json_is_real(v)) {
        (void) snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        s = num;
        len = strlen(num);

    } else {
        jira_api_field_error(errors, field, JIRA_SETUP_NOT_STRING);
        return -1;
    }

    while (len && (*s == ' ' || (*s >= '\t' && *s <= '\r'))) {
        s++;
        len--;
    }

    while (len && (s[len - 1] == ' '
                   || (s[len - 1] >= '\t' && s[len - 1] <= '\r')))
    {
        len--;
    }

    if (len == 0) {
        jira_api_field_error(errors, field, JIRA_SETUP_BLANK);
        return -1;
    }

    if (max) {
        chars = 0;
        for (i = 0; i < len; i++) {
            chars += (((unsigned char) s[i] & 0xc0) != 0x80);
        }

        if (chars > max) {
            (void) snprintf(msg, sizeof(msg), "Ensure this field has no more"
                            " than %zu characters.", max);
            jira_api_field_error(errors, field, msg);
            return -1;
        }
    }

    *value = strndup(s, len);
    if (*value == NULL) {
        jira_api_field_error(errors, field, "out of memory");
        return -1;
    }

    return 0;
}


/* a DRF BooleanField with a default */

static int
jira_setup_bool(json_t *body, const char *field, int dflt, json_t *errors,
    int *value)
{
    json_t  *v;

    v = json_object_get(body, field);
    *value = dflt;

    if (v == NULL) {
        return 0;
    }

    if (json_is_null(v)) {
        jira_api_field_error(errors, field, JIRA_SETUP_NULL);
        return -1;
    }

    if (jira_api_bool(v, value) != 0) {
        jira_api_field_error(errors, field, JIRA_SETUP_BAD_BOOL);
        return -1;
    }

    return 0;
}


/* "url": a URLField, then url.rstrip("/") */

static int
jira_setup_url(json_t *body, json_t *errors, jira_setup_install_t *inst)
{
    size_t  len;

    if (jira_setup_string(body, "url", 1, 0, errors, &inst->url) != 0) {
        return -1;
    }

    if (!jira_setup_url_valid(inst->url)
        || jira_http_netloc(inst->url, inst->netloc, sizeof(inst->netloc))
           <= 0)
    {
        jira_api_field_error(errors, "url", JIRA_SETUP_BAD_URL);
        free(inst->url);
        inst->url = NULL;
        return -1;
    }

    len = strlen(inst->url);

    while (len && inst->url[len - 1] == '/') {
        inst->url[--len] = '\0';
    }

    return 0;
}


/*
 * Django's URLValidator for http and https, narrowed to what a Jira base
 * URL can be: no user information (it would end up in external_id and
 * in the metadata), no query and no fragment.
 */

static int
jira_setup_url_valid(const char *url)
{
    size_t          len, host_len;
    unsigned        port;
    const char     *auth, *end, *host, *p, *colon;
    char            ip6[64];
    unsigned char   addr[16];

    len = strlen(url);

    if (len > JIRA_SETUP_URL_LEN) {
        return 0;
    }

    if (strncasecmp(url, "https://", 8) == 0) {
        auth = url + 8;

    } else if (strncasecmp(url, "http://", 7) == 0) {
        auth = url + 7;

    } else {
        return 0;
    }

    end = auth + strcspn(auth, "/?#");

    for (p = end; *p != '\0'; p++) {
        if ((unsigned char) *p <= ' ' || *p == 0x7f || *p == '?'
            || *p == '#')
        {
            return 0;
        }
    }

    if (end == auth || memchr(auth, '@', end - auth) != NULL) {
        return 0;
    }

    host = auth;
    colon = NULL;

    if (*host == '[') {
        p = memchr(host, ']', end - host);
        if (p == NULL || (size_t) (p - host - 1) >= sizeof(ip6)) {
            return 0;
        }

        memcpy(ip6, host + 1, p - host - 1);
        ip6[p - host - 1] = '\0';

        if (inet_pton(AF_INET6, ip6, addr) != 1) {
            return 0;
        }

        p++;

        if (p != end) {
            if (*p != ':') {
                return 0;
            }

            colon = p;
        }

    } else {
        colon = memchr(host, ':', end - host);
        host_len = (colon ? colon : end) - host;

        if (!jira_setup_host_valid(host, host_len)) {
            return 0;
        }
    }

    if (colon != NULL) {
        p = colon + 1;

        if (p == end || end - p > 5) {
            return 0;
        }

        port = 0;

        for ( /* void */ ; p < end; p++) {
            if (*p < '0' || *p > '9') {
                return 0;
            }

            port = port * 10 + (unsigned) (*p - '0');
        }

        if (port == 0 || port > 65535) {
            return 0;
        }
    }

    return 1;
}


/* a dotted IPv4 address, "localhost", or a host name with a TLD */

static int
jira_setup_host_valid(const char *host, size_t len)
{
    int          digits, alpha, octets, value;
    size_t       i, label;
    const char  *p, *end, *dot, *tld;

    if (len == 0 || len > 253) {
        return 0;
    }

    if (len == 9 && strncasecmp(host, "localhost", 9) == 0) {
        return 1;
    }

    /* IPv4: four decimal octets without leading zeros */
    end = host + len;
    octets = 0;

    for (p = host; p < end; p = dot + 1) {
        dot = memchr(p, '.', end - p);
        if (dot == NULL) {
            dot = end;
        }

        value = 0;
        digits = (int) (dot - p);

        if (digits == 0 || digits > 3 || (digits > 1 && *p == '0')) {
            octets = -1;
            break;
        }

        for (i = 0; i < (size_t) digits; i++) {
            if (p[i] < '0' || p[i] > '9') {
                octets = -1;
                break;
            }

            value = value * 10 + (p[i] - '0');
        }

        if (octets < 0 || value > 255) {
            octets = -1;
            break;
        }

        octets++;

        if (dot == end) {
            break;
        }
    }

    if (octets == 4) {
        return 1;
    }

    /* a host name: labels of letters, digits and inner hyphens */
    if (host[len - 1] == '.') {
        len--;
        end = host + len;
    }

    tld = NULL;
    label = 0;

    for (p = host; p < end; p = dot + 1) {
        dot = memchr(p, '.', end - p);
        if (dot == NULL) {
            dot = end;
        }

        if (dot == p || dot - p > 63 || *p == '-' || dot[-1] == '-') {
            return 0;
        }

        for (i = 0; i < (size_t) (dot - p); i++) {
            if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')
                  || (p[i] >= '0' && p[i] <= '9') || p[i] == '-'
                  || (unsigned char) p[i] >= 0x80))
            {
                return 0;
            }
        }

        label++;
        tld = p;

        if (dot == end) {
            break;
        }
    }

    if (label < 2 || tld == NULL) {
        return 0;
    }

    /* the TLD: letters (or "xn--" punycode), at least two */
    if (end - tld < 2) {
        return 0;
    }

    if (end - tld > 4 && strncasecmp(tld, "xn--", 4) == 0) {
        return 1;
    }

    alpha = 1;

    for (p = tld; p < end; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || *p == '-' || (unsigned char) *p >= 0x80))
        {
            alpha = 0;
        }
    }

    return alpha;
}


/* setup needs both directives; a missing one is the operator's to fix */

static int
jira_setup_configured(const jira_api_in_t *in, jira_api_out_t *out)
{
    if (in->conf->public_url != NULL && in->conf->secret_key != NULL) {
        return 0;
    }

    out->err = JIRA_EDB;
    out->status = 500;
    (void) snprintf(out->error, sizeof(out->error),
                    "Jira setup needs \"jira_sync_public_url\" and"
                    " \"jira_sync_secret_key_file\" in the http block");

    return -1;
}


/* --- helpers ---------------------------------------------------------- */


static void
jira_setup_install_free(jira_setup_install_t *inst)
{
    char   **p;
    size_t   i;

    char  **secrets[] = {
        &inst->consumer_key, &inst->private_key, &inst->pat,
        &inst->request_token, &inst->request_secret, &inst->access_token,
        &inst->access_secret
    };

    for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        p = secrets[i];

        if (*p != NULL) {
            jira_crypto_free(*p, strlen(*p));
            *p = NULL;
        }
    }

    free(inst->url);
    free(inst->jira_user);
    inst->url = NULL;
    inst->jira_user = NULL;

    if (inst->key != NULL) {
        EVP_PKEY_free(inst->key);
        inst->key = NULL;
    }
}


static void
jira_setup_client(const jira_setup_ctx_t *ctx,
    const jira_setup_install_t *inst, jira_client_t *c)
{
    const jira_api_conf_t  *conf = ctx->in->conf;

    memset(c, 0, sizeof(jira_client_t));

    c->base_url = inst->url;
    c->http.timeout = conf->jira_timeout;
    c->http.connect_timeout = conf->jira_connect_timeout;
    c->http.verify_ssl = inst->verify_ssl;
    c->http.ca_file = conf->jira_ca_file;
    c->http.proxy = conf->jira_proxy;

    if (inst->pat != NULL) {
        c->auth = JIRA_CLIENT_PAT;
        c->pat = inst->pat;

    } else {
        c->auth = JIRA_CLIENT_OAUTH1;
        c->consumer_key = inst->consumer_key;
        c->key = inst->key;
        c->token = inst->access_token;
    }
}


/* remember a secret so that no text shown or logged can carry it */

static void
jira_setup_secret(jira_setup_ctx_t *ctx, const char *secret)
{
    if (secret != NULL && strlen(secret) >= 4
        && ctx->nsecrets < JIRA_SETUP_MAX_SECRETS)
    {
        ctx->secrets[ctx->nsecrets++] = secret;
    }
}


/*
 * Copy Jira's text with every known secret replaced, as written and
 * percent-encoded: a 401 of Jira's OAuth filter echoes the signed base
 * string, access token included.
 */

static void
jira_setup_text(const jira_setup_ctx_t *ctx, char *dst, size_t size,
    const char *src)
{
    char         enc[3 * 512 + 1];
    size_t       i, n, len, slen, elen;
    const char  *p, *s;

    static const char  redacted[] = "[redacted]";

    n = 0;
    p = src;

    while (*p != '\0' && n + 1 < size) {
        len = 0;

        for (i = 0; i < ctx->nsecrets; i++) {
            s = ctx->secrets[i];
            slen = strlen(s);

            if (strncmp(p, s, slen) == 0) {
                len = slen;
                break;
            }

            if (slen <= 512) {
                elen = jira_oauth1_encode(enc, s, slen);
                enc[elen] = '\0';

                if (elen != slen && strncmp(p, enc, elen) == 0) {
                    len = elen;
                    break;
                }
            }
        }

        if (len == 0) {
            dst[n++] = *p++;
            continue;
        }

        p += len;

        for (i = 0; redacted[i] != '\0' && n + 1 < size; i++) {
            dst[n++] = redacted[i];
        }
    }

    dst[n] = '\0';
}


/* one line of a log: no control characters, no double quotes, short */

static void
jira_setup_log_text(char *dst, size_t size, const char *src)
{
    size_t  n, max;

    max = size - 1 < JIRA_SETUP_LOG_TEXT ? size - 1 : JIRA_SETUP_LOG_TEXT;

    for (n = 0; src[n] != '\0' && n < max; n++) {
        dst[n] = ((unsigned char) src[n] < ' ' || src[n] == 0x7f) ? ' '
                 : (src[n] == '"') ? '\'' : src[n];
    }

    dst[n] = '\0';
}


static void
jira_setup_fail(jira_setup_result_t *r, int status, const char *fmt, ...)
{
    va_list  args;

    r->status = status;

    va_start(args, fmt);
    (void) vsnprintf(r->detail, sizeof(r->detail), fmt, args);
    va_end(args);
}


/* --- answers ------------------------------------------------------------ */


static void
jira_setup_answer(jira_api_out_t *out, const jira_setup_result_t *r)
{
    char     id[32];
    json_t  *json;

    jira_setup_changed(out, r);

    if (r->status == 0) {
        jira_api_fail(out, r->err);
        return;
    }

    if (r->status == 404) {
        jira_api_detail(out, 404, "%s", r->detail);
        return;
    }

    if (r->status != 200) {
        json = json_pack("{s:s, s:{s:s}}", "status", "error",
                         "data", "detail", r->detail);

    } else if (r->advance) {
        json = json_pack("{s:s, s:s, s:i, s:i, s:{s:s, s:s}}",
                         "status", "advance",
                         "step", "oauth_callback",
                         "stepIndex", 1,
                         "totalSteps", 2,
                         "data",
                         "oauthUrl", r->oauth_url,
                         "pipeline", r->pipeline);

    } else {
        (void) snprintf(id, sizeof(id), "%lld", r->integration_id);

        json = json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s}}",
                         "status", "complete",
                         "data",
                         "id", id,
                         "name", r->name,
                         "provider", "jira_server",
                         "externalId", r->external_id,
                         "domainName", r->domain,
                         "status", "active");
    }

    if (json == NULL) {
        jira_api_fail(out, JIRA_EDB);
        return;
    }

    jira_api_json(out, r->status, json);
}


/* the browser's page: self-contained, nothing loaded from elsewhere */

static void
jira_setup_page(jira_api_out_t *out, const jira_setup_result_t *r)
{
    char        *p, *body;
    size_t       len;
    const char  *title;

    jira_setup_changed(out, r);

    static const char  head[] =
        "<!DOCTYPE html>\n"
        "<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width,"
        " initial-scale=1\">\n"
        "<meta name=\"referrer\" content=\"no-referrer\">\n"
        "<title>";

    static const char  style[] =
        "</title>\n<style>\n"
        "body{font-family:system-ui,-apple-system,\"Segoe UI\",sans-serif;"
        "max-width:36rem;margin:4rem auto;padding:0 1rem;color:#2b2233;"
        "line-height:1.5}\n"
        "h1{font-size:1.5rem}\n"
        ".ok{color:#2ba185}\n.error{color:#c0392b}\n"
        "code{background:#f4f2f7;padding:0 .25rem;border-radius:3px}\n"
        "</style>\n</head>\n<body>\n";

    title = (r->status == 200) ? "Jira Server connected" : "Setup Error";

    len = sizeof(head) + sizeof(style) + 2 * strlen(title) + 512
          + 6 * (strlen(r->detail) + strlen(r->name) + strlen(r->domain)
                 + strlen(r->external_id));

    body = malloc(len);
    if (body == NULL) {
        jira_api_fail(out, JIRA_EDB);
        return;
    }

    p = body;
    p += sprintf(p, "%s%s%s", head, title, style);

    if (r->status == 200) {
        p += sprintf(p, "<h1 class=\"ok\">%s</h1>\n<p>The Jira Server"
                     " integration <strong>", title);
        p += jira_setup_html(p, r->name);
        p += sprintf(p, "</strong> for <code>");
        p += jira_setup_html(p, r->domain);
        p += sprintf(p, "</code> is connected (<code>");
        p += jira_setup_html(p, r->external_id);
        p += sprintf(p, "</code>). Issue changes in Jira now reach this"
                     " server.</p>\n<p>You can close this window.</p>\n");

    } else {
        p += sprintf(p, "<h1 class=\"error\">%s</h1>\n<p>", title);
        p += jira_setup_html(p, r->detail);
        p += sprintf(p, "</p>\n<p>Start the setup again from the"
                     " beginning.</p>\n");
    }

    p += sprintf(p, "</body>\n</html>\n");

    free(out->body);
    out->body = body;
    out->body_len = p - body;
    out->status = r->status;
    out->content_type = "text/html; charset=utf-8";
}


static size_t
jira_setup_html(char *dst, const char *s)
{
    char  *p;

    for (p = dst; *s != '\0'; s++) {
        switch (*s) {
        case '&':
            p += sprintf(p, "&amp;");
            break;
        case '<':
            p += sprintf(p, "&lt;");
            break;
        case '>':
            p += sprintf(p, "&gt;");
            break;
        case '"':
            p += sprintf(p, "&quot;");
            break;
        case '\'':
            p += sprintf(p, "&#39;");
            break;
        default:
            *p++ = *s;
        }
    }

    return p - dst;
}


/*
 * A (re)installed integration has a new webhook secret: every worker
 * must drop the one it may have cached.
 */

static void
jira_setup_changed(jira_api_out_t *out, const jira_setup_result_t *r)
{
    if (r->status == 200 && !r->advance && r->integration_id != 0) {
        (void) snprintf(out->integration_changed,
                        sizeof(out->integration_changed), "%s",
                        r->external_id);
    }
}
