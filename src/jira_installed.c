#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "jira_crypto.h"
#include "jira_installed.h"
#include "jira_oauth1.h"


static const char *jira_installed_str(json_t *creds, const char *name);


/* $1 integration, $2 organization (0: the first installation) */
static const jira_stmt_t  jira_installed_stmt = {
    "jira_installed",
    "SELECT i.metadata ->> 'base_url',"
    "       coalesce((i.metadata ->> 'verify_ssl')::boolean, true),"
    "       d.credentials"
    "  FROM integration i"
    "  JOIN organization_integration oi ON oi.integration_id = i.id"
    "  LEFT JOIN identity d ON d.id = oi.default_auth_id"
    " WHERE i.id = $1::bigint"
    "   AND ($2::bigint = 0 OR oi.organization_id = $2::bigint)"
    " ORDER BY oi.id"
    " LIMIT 1"
};


jira_err_e
jira_installed_load(jira_store_t *st, const jira_api_conf_t *conf,
    long long integration_id, long long org_id, jira_installed_t *inst,
    int *found)
{
    int             rc;
    char            iid[32], oid[32];
    json_t         *creds;
    PGresult       *res;
    jira_err_e      err;
    const char     *values[2], *type, *pem;
    unsigned char  *plain;

    memset(inst, 0, sizeof(jira_installed_t));
    *found = 0;

    (void) snprintf(iid, sizeof(iid), "%lld", integration_id);
    (void) snprintf(oid, sizeof(oid), "%lld", org_id);

    values[0] = iid;
    values[1] = oid;

    res = jira_store_exec(st, &jira_installed_stmt, 2, values, &err);
    if (res == NULL) {
        return err;
    }

    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 2)
        || PQgetisnull(res, 0, 0))
    {
        (void) snprintf(inst->error, sizeof(inst->error),
                        "Identity not found.");
        PQclear(res);
        return JIRA_OK;
    }

    if (conf->secret_key == NULL) {
        (void) snprintf(inst->error, sizeof(inst->error),
                        "jira_sync_secret_key_file is not set: stored"
                        " credentials cannot be opened");
        PQclear(res);
        return JIRA_OK;
    }

    inst->integration_id = integration_id;
    inst->base_url = strdup(PQgetvalue(res, 0, 0));
    inst->client.http.verify_ssl = PQgetvalue(res, 0, 1)[0] == 't';

    rc = jira_crypto_open_bytea(conf->secret_key, JIRA_CRYPTO_IDENTITY,
                                PQgetvalue(res, 0, 2), &plain,
                                &inst->plain_len);
    PQclear(res);

    if (inst->base_url == NULL || rc != 0) {
        jira_crypto_free(plain, inst->plain_len);
        (void) snprintf(inst->error, sizeof(inst->error),
                        "the stored credentials cannot be opened with the"
                        " key of jira_sync_secret_key_file");
        jira_installed_free(inst);
        return JIRA_OK;
    }

    inst->plain = (char *) plain;

    creds = json_loadb(inst->plain, inst->plain_len, 0, NULL);
    inst->creds = creds;

    type = jira_installed_str(creds, "type");

    inst->client.base_url = inst->base_url;
    inst->client.http.timeout = conf->jira_timeout;
    inst->client.http.connect_timeout = conf->jira_connect_timeout;
    inst->client.http.ca_file = conf->jira_ca_file;
    inst->client.http.proxy = conf->jira_proxy;

    if (type != NULL && strcmp(type, "personal_access_token") == 0) {
        inst->client.auth = JIRA_CLIENT_PAT;
        inst->client.pat = jira_installed_str(creds,
                                              "personal_access_token");

    } else if (type != NULL && strcmp(type, "oauth1") == 0) {
        inst->client.auth = JIRA_CLIENT_OAUTH1;
        inst->client.consumer_key = jira_installed_str(creds,
                                                       "consumer_key");
        inst->client.token = jira_installed_str(creds, "access_token");
        pem = jira_installed_str(creds, "private_key");

        if (pem != NULL) {
            inst->client.key = jira_oauth1_load_key(pem, strlen(pem));
        }
    }

    if ((inst->client.auth == JIRA_CLIENT_PAT && inst->client.pat == NULL)
        || (inst->client.auth == JIRA_CLIENT_OAUTH1
            && (inst->client.key == NULL
                || inst->client.consumer_key == NULL))
        || inst->client.auth == 0)
    {
        (void) snprintf(inst->error, sizeof(inst->error),
                        "the stored credentials are incomplete");
        jira_installed_free(inst);
        return JIRA_OK;
    }

    *found = 1;

    return JIRA_OK;
}


static const char *
jira_installed_str(json_t *creds, const char *name)
{
    json_t  *v;

    v = json_object_get(creds, name);

    return json_is_string(v) ? json_string_value(v) : NULL;
}


void
jira_installed_free(jira_installed_t *inst)
{
    if (inst->client.key != NULL) {
        EVP_PKEY_free(inst->client.key);
        inst->client.key = NULL;
    }

    /* the parsed copy holds the secrets too: no jansson API wipes it,
       so it is dropped first and the text it came from wiped */
    json_decref(inst->creds);
    inst->creds = NULL;

    if (inst->plain != NULL) {
        jira_crypto_free(inst->plain, inst->plain_len);
        inst->plain = NULL;
    }

    free(inst->base_url);
    inst->base_url = NULL;

    memset(&inst->client, 0, sizeof(jira_client_t));
}
