/*
 * What every /api/0/ endpoint shares: the token check and the answers.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jira_api.h"
#include "jira_json.h"


#define JIRA_API_TRIES  3


/*
 * $1 token hash, $2 organization slug, $3 scopes that grant the call.
 * No row: invalid token.  The organization columns are NULL when no
 * organization has the slug.
 */
static const jira_stmt_t  jira_api_auth_stmt = {
    "jira_api_auth",
    "SELECT t.user_id, t.scopes && $3::text[], o.id,"
    "       EXISTS (SELECT 1 FROM organization_member om"
    "                WHERE om.organization_id = o.id"
    "                  AND om.user_id = t.user_id)"
    "  FROM api_token t"
    "  JOIN app_user tu ON tu.id = t.user_id AND tu.is_active"
    "  LEFT JOIN organization o ON o.slug = $2"
    " WHERE t.token_hash = $1::bytea"
    "   AND (t.expires_at IS NULL OR t.expires_at > now())"
};


jira_store_t *
jira_api_store(const jira_api_in_t *in, jira_api_out_t *out)
{
    jira_err_e     err;
    jira_store_t  *st;

    st = jira_store_thread(in->conf->store, &err);
    if (st == NULL) {
        jira_api_fail(out, err);
    }

    return st;
}


int
jira_api_auth(jira_store_t *st, const jira_api_in_t *in, const char *scope,
    const char *org_slug, jira_api_actor_t *actor, jira_api_out_t *out)
{
    char          hash[JIRA_AUTH_HASH_PARAM_LEN], scopes[256];
    PGresult     *res;
    jira_err_e    err;
    jira_auth_e   rc;
    const char   *values[3];

    if (in->token == NULL) {
        rc = JIRA_AUTH_MISSING;
        goto failed;
    }

    jira_auth_hash_param(in->token, in->token_len, hash);

    if (jira_auth_scopes_param(scope, scopes, sizeof(scopes)) != 0) {
        jira_api_fail(out, JIRA_EDB);
        return -1;
    }

    values[0] = hash;
    values[1] = org_slug;
    values[2] = scopes;

    res = jira_store_exec(st, &jira_api_auth_stmt, 3, values, &err);
    if (res == NULL) {
        jira_api_fail(out, err);
        return -1;
    }

    if (PQntuples(res) != 1) {
        rc = JIRA_AUTH_INVALID;

    } else if (PQgetvalue(res, 0, 1)[0] != 't') {
        rc = JIRA_AUTH_SCOPE;

    } else if (PQgetisnull(res, 0, 2)) {
        PQclear(res);
        jira_api_detail(out, 404, "The requested resource does not exist");
        return -1;

    } else if (PQgetvalue(res, 0, 3)[0] != 't') {
        rc = JIRA_AUTH_MEMBER;

    } else {
        actor->user_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        actor->org_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        PQclear(res);
        return 0;
    }

    PQclear(res);

failed:

    jira_api_detail(out, jira_auth_status(rc), "%s", jira_auth_detail(rc));
    return -1;
}


void
jira_api_detail(jira_api_out_t *out, int status, const char *fmt, ...)
{
    char     text[1024];
    size_t   len;
    va_list  args;

    va_start(args, fmt);
    (void) vsnprintf(text, sizeof(text), fmt, args);
    va_end(args);

    free(out->body);

    len = sizeof("{\"detail\": }") - 1 + jira_json_quoted_len(text);

    out->body = malloc(len);
    if (out->body == NULL) {
        out->body_len = 0;
        jira_api_fail(out, JIRA_EDB);
        return;
    }

    memcpy(out->body, "{\"detail\": ", sizeof("{\"detail\": ") - 1);
    len = sizeof("{\"detail\": ") - 1;
    len += jira_json_quote(out->body + len, text);
    out->body[len++] = '}';

    out->body_len = len;
    out->status = status;
}


void
jira_api_json(jira_api_out_t *out, int status, void *json)
{
    char  *text;

    text = json ? json_dumps(json, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(json);

    if (text == NULL) {
        (void) snprintf(out->error, sizeof(out->error),
                        "could not serialise a response");
        out->err = JIRA_EDB;
        out->status = 500;
        return;
    }

    free(out->body);
    out->body = text;
    out->body_len = strlen(text);
    out->status = status;
}


void
jira_api_fail(jira_api_out_t *out, jira_err_e err)
{
    out->err = err;
    out->status = (err == JIRA_EUNAVAIL || err == JIRA_ESCHEMA) ? 503 : 500;

    free(out->body);
    out->body = NULL;
    out->body_len = 0;

    /* an endpoint may have put a better reason there already */
    if (err != JIRA_EDB || out->error[0] == '\0') {
        (void) snprintf(out->error, sizeof(out->error), "%s",
                        jira_store_error());
    }
}


int
jira_api_field_error(void *errors, const char *field, const char *message)
{
    json_t  *list, *item;

    list = json_object_get(errors, field);

    if (list == NULL) {
        list = json_array();
        if (list == NULL || json_object_set_new(errors, field, list) != 0) {
            return -1;
        }
    }

    item = json_string(message);

    if (item == NULL) {
        /* a value quoted back was cut inside a character */
        item = json_string("Invalid value.");
    }

    return json_array_append_new(list, item);
}


jira_err_e
jira_api_txn(jira_store_t *st, jira_api_txn_pt txn, void *ctx,
    jira_api_out_t *out)
{
    int          try;
    size_t       logged;
    jira_err_e   err;

    logged = out->log.n;

    for (try = 1; /* void */; try++) {
        free(out->body);
        out->body = NULL;
        out->body_len = 0;
        out->status = 0;
        out->error[0] = '\0';
        out->log.n = logged;
        memset(&out->changes, 0, sizeof(out->changes));

        err = jira_store_begin(st);

        if (err == JIRA_OK) {
            err = txn(st, ctx, out);
        }

        if (err == JIRA_OK && out->status >= 400) {
            jira_store_rollback(st);
            memset(&out->changes, 0, sizeof(out->changes));
            return JIRA_OK;
        }

        if (err == JIRA_OK) {
            err = jira_store_commit(st);
            if (err == JIRA_OK) {
                return JIRA_OK;
            }
        }

        jira_store_rollback(st);

        if (err != JIRA_ERETRY || try == JIRA_API_TRIES) {
            break;
        }
    }

    memset(&out->changes, 0, sizeof(out->changes));
    out->log.n = logged;

    return err;
}


/* DRF BooleanField: true, false, 1, 0, and its strings */

int
jira_api_bool(void *json, int *value)
{
    size_t       i;
    json_t      *v;
    const char  *s;

    static const char  *yes[] = {
        "t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
        "on", "On", "ON", "1", NULL
    };

    static const char  *no[] = {
        "f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE",
        "off", "Off", "OFF", "0", NULL
    };

    v = json;

    if (json_is_boolean(v)) {
        *value = json_is_true(v);
        return 0;
    }

    if (json_is_number(v)
        && (json_number_value(v) == 1 || json_number_value(v) == 0))
    {
        *value = (json_number_value(v) == 1);
        return 0;
    }

    if (!json_is_string(v)) {
        return -1;
    }

    s = json_string_value(v);

    /* a NUL inside the string: no choice can equal it */
    if (strlen(s) != json_string_length(v)) {
        return -1;
    }

    for (i = 0; yes[i] != NULL; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *value = 1;
            return 0;
        }
    }

    for (i = 0; no[i] != NULL; i++) {
        if (strcmp(s, no[i]) == 0) {
            *value = 0;
            return 0;
        }
    }

    return -1;
}


const char *
jira_api_python_type(void *json)
{
    if (json == NULL) {
        return "NoneType";
    }

    switch (json_typeof((json_t *) json)) {
    case JSON_OBJECT:
        return "dict";
    case JSON_ARRAY:
        return "list";
    case JSON_STRING:
        return "str";
    case JSON_INTEGER:
        return "int";
    case JSON_REAL:
        return "float";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    default:
        return "NoneType";
    }
}
