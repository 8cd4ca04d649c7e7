/*
 * Issue reads.  DRF's order: authentication (401), the scope (403), the
 * object (404), then membership of its organization (403).
 *
 * The answer may come from the shared-memory cache, but PostgreSQL stays
 * the source of truth: the token check, which needs the database anyway,
 * also reads the rows' version, and a cached answer of another version
 * is read again.  So a read never shows an assignee older than the last
 * committed change, whichever node made it.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jira_issue.h"


static void jira_issue_fail(jira_issue_out_t *out, jira_err_e err);


/*
 * What a cached answer is checked against: the transaction ids that last
 * wrote the group, its assignee row and its project.  Any assign,
 * deassign, status change or rename, on any node, changes it.
 */
#define JIRA_ISSUE_VERSION                                                  \
    "g.xmin::text || '/' || coalesce(a.xmin::text, '-') || '/'"            \
    " || p.xmin::text"


/* $1 token hash, $2 group id, $3 scopes that grant the read */
static const jira_stmt_t  jira_issue_read_stmt = {
    "jira_issue_read",
    "SELECT t.scopes && $3::text[],"
    "       g.id IS NOT NULL,"
    "       p.organization_id,"
    "       EXISTS (SELECT 1 FROM organization_member om"
    "                WHERE om.organization_id = p.organization_id"
    "                  AND om.user_id = t.user_id),"
    "       " JIRA_ISSUE_VERSION ","
    "       json_build_object("
    "         'id', g.id::text,"
    "         'title', g.title,"
    "         'status', CASE g.status WHEN 1 THEN 'resolved'"
    "                                 WHEN 2 THEN 'ignored'"
    "                                 ELSE 'unresolved' END,"
    "         'project', json_build_object('id', p.id::text,"
    "                                      'slug', p.slug,"
    "                                      'name', p.name),"
    "         'assignedTo',"
    "         CASE WHEN a.user_id IS NOT NULL THEN"
    "                json_build_object('type', 'user',"
    "                                  'id', a.user_id::text,"
    "                                  'name', u.name,"
    "                                  'email', u.email)"
    "              WHEN a.team_id IS NOT NULL THEN"
    "                json_build_object('type', 'team',"
    "                                  'id', a.team_id::text,"
    "                                  'name', tm.slug)"
    "         END)::text"
    "  FROM api_token t"
    "  JOIN app_user tu ON tu.id = t.user_id AND tu.is_active"
    "  LEFT JOIN issue_group g ON g.id = $2::bigint"
    "  LEFT JOIN project p ON p.id = g.project_id"
    "  LEFT JOIN group_assignee a ON a.group_id = g.id"
    "  LEFT JOIN app_user u ON u.id = a.user_id"
    "  LEFT JOIN team tm ON tm.id = a.team_id"
    " WHERE t.token_hash = $1::bytea"
    "   AND (t.expires_at IS NULL OR t.expires_at > now())"
};


/*
 * The same checks when the cache has an answer: only the version is
 * read, not the answer itself.
 */
static const jira_stmt_t  jira_issue_check_stmt = {
    "jira_issue_check",
    "SELECT t.scopes && $3::text[],"
    "       g.id IS NOT NULL,"
    "       p.organization_id,"
    "       EXISTS (SELECT 1 FROM organization_member om"
    "                WHERE om.organization_id = p.organization_id"
    "                  AND om.user_id = t.user_id),"
    "       " JIRA_ISSUE_VERSION ","
    "       NULL::text"
    "  FROM api_token t"
    "  JOIN app_user tu ON tu.id = t.user_id AND tu.is_active"
    "  LEFT JOIN issue_group g ON g.id = $2::bigint"
    "  LEFT JOIN project p ON p.id = g.project_id"
    "  LEFT JOIN group_assignee a ON a.group_id = g.id"
    " WHERE t.token_hash = $1::bytea"
    "   AND (t.expires_at IS NULL OR t.expires_at > now())"
};


void
jira_issue_read(const jira_issue_in_t *in, jira_issue_out_t *out)
{
    char                hash[JIRA_AUTH_HASH_PARAM_LEN];
    char                id[32], scopes[128];
    PGresult           *res;
    jira_err_e          err;
    const char         *values[3];
    jira_store_t       *st;
    const jira_stmt_t  *stmt;

    out->status = 500;
    out->json = NULL;

    st = jira_store_thread(in->store, &err);
    if (st == NULL) {
        jira_issue_fail(out, err);
        return;
    }

    jira_auth_hash_param(in->token, in->token_len, hash);
    (void) jira_auth_scopes_param("event:read", scopes, sizeof(scopes));
    (void) snprintf(id, sizeof(id), "%lld", in->group_id);

    values[0] = hash;
    values[1] = id;
    values[2] = scopes;

    stmt = in->cached_version ? &jira_issue_check_stmt
                              : &jira_issue_read_stmt;

again:

    res = jira_store_exec(st, stmt, 3, values, &err);
    if (res == NULL) {
        jira_issue_fail(out, err);
        return;
    }

    if (PQntuples(res) != 1) {
        out->auth = JIRA_AUTH_INVALID;

    } else if (PQgetvalue(res, 0, 0)[0] != 't') {
        out->auth = JIRA_AUTH_SCOPE;

    } else if (PQgetvalue(res, 0, 1)[0] != 't') {
        out->status = 404;
        out->detail = "The requested resource does not exist";
        PQclear(res);
        return;

    } else if (PQgetvalue(res, 0, 3)[0] != 't') {
        out->auth = JIRA_AUTH_MEMBER;

    } else if (stmt == &jira_issue_check_stmt
               && strcmp(PQgetvalue(res, 0, 4), in->cached_version) != 0)
    {
        /* changed since it was cached, here or on another node */
        PQclear(res);
        stmt = &jira_issue_read_stmt;
        goto again;

    } else {
        out->auth = JIRA_AUTH_OK;
        out->org = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        (void) snprintf(out->version, sizeof(out->version), "%s",
                        PQgetvalue(res, 0, 4));

        if (!PQgetisnull(res, 0, 5)) {
            out->json_len = PQgetlength(res, 0, 5);
            out->json = malloc(out->json_len);

            if (out->json == NULL) {
                PQclear(res);
                jira_issue_fail(out, JIRA_EDB);
                return;
            }

            memcpy(out->json, PQgetvalue(res, 0, 5), out->json_len);
        }
    }

    PQclear(res);

    out->status = jira_auth_status(out->auth);
    out->detail = jira_auth_detail(out->auth);
}


static void
jira_issue_fail(jira_issue_out_t *out, jira_err_e err)
{
    out->err = err;
    out->status = (err == JIRA_EUNAVAIL || err == JIRA_ESCHEMA) ? 503 : 500;

    (void) snprintf(out->error, sizeof(out->error), "%s",
                    jira_store_error());
}
