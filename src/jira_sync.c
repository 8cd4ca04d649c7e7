/*
 * sync_group_assignee_inbound, GroupAssignee.assign and .deassign as
 * Sentry does them (reference: sentry-behaviour.md §3, §4), with each
 * assign or deassign one statement so that a webhook costs few round
 * trips.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jira_sync.h"


typedef struct {
    const char  *group_id;
    const char  *project_id;
    const char  *organization_id;
    const char  *user_id;           /* NULL: no matching member */
    const char  *user_email;
    const char  *source;            /* the integration the change is from */
} jira_sync_group_t;


static jira_err_e jira_sync_assign(jira_store_t *st,
    const jira_sync_group_t *g, int *affected, size_t *queued);
static jira_err_e jira_sync_deassign(jira_store_t *st,
    const jira_sync_group_t *g, int *affected, size_t *queued);
static void jira_sync_changed(jira_sync_changes_t *changes,
    const char *group_id);


/*
 * Affected groups (Group.objects.get_groups_by_external_issue with
 * where_should_sync): external issues of this integration with this key
 * in any organization that has the integration, their linked groups,
 * kept where the group's organization has the issue-sync feature and
 * sync_reverse_assignment.  For an assignment each row also carries the
 * user to assign: the lowest-id active user owning a verified email
 * equal to $3 ignoring case who is an active member of a team on the
 * group's project.  Organizations in $4 are skipped: their external issue
 * saw a newer change (jira_guard.c).  Groups are locked in id order so
 * that concurrent
 * webhooks for one group run one after the other without deadlock.
 */
const jira_stmt_t  jira_sync_groups_stmt = {
    "jira_sync_groups",
    "WITH ois AS ("
    "  SELECT oi.organization_id,"
    "         o.integrations_issue_sync"
    "         AND coalesce(oi.config -> 'sync_reverse_assignment'"
    "                      = 'true'::jsonb, false) AS sync"
    "    FROM organization_integration oi"
    "    JOIN organization o ON o.id = oi.organization_id"
    "   WHERE oi.integration_id = $1)"
    " SELECT g.id AS group_id, g.project_id, p.organization_id,"
    "        m.id AS user_id, m.email AS user_email"
    "   FROM issue_group g"
    "   JOIN project p ON p.id = g.project_id"
    "   LEFT JOIN LATERAL ("
    "     SELECT u.id, u.email"
    "       FROM user_email ue"
    "       JOIN app_user u ON u.id = ue.user_id"
    "      WHERE $3::text IS NOT NULL"
    "        AND lower(ue.email) = lower($3::text)"
    "        AND ue.is_verified AND u.is_active"
    "        AND EXISTS ("
    "          SELECT 1"
    "            FROM organization_member om"
    "            JOIN organization_member_team omt"
    "              ON omt.organizationmember_id = om.id AND omt.is_active"
    "            JOIN project_team pt ON pt.team_id = omt.team_id"
    "           WHERE om.user_id = u.id AND pt.project_id = g.project_id)"
    "      ORDER BY u.id"
    "      LIMIT 1) m ON true"
    "  WHERE g.id IN ("
    "          SELECT gl.group_id"
    "            FROM external_issue ei"
    "            JOIN group_link gl ON gl.linked_id = ei.id"
    "           WHERE ei.integration_id = $1 AND ei.key = $2"
    "             AND ei.organization_id IN"
    "                 (SELECT organization_id FROM ois))"
    "    AND p.organization_id IN"
    "        (SELECT organization_id FROM ois WHERE sync)"
    "    AND p.organization_id <> ALL ($4::bigint[])"
    "  ORDER BY g.id"
    "    FOR UPDATE OF g"
};


/*
 * Outbound sync (Sentry's sync_group_assignee_outbound, with the checks
 * of its task and of should_sync("outbound_assignee") made here): when
 * the assignee changed (a row in "changed") and the organization has the
 * issue-sync feature, one outbox row per external issue linked to the
 * group whose integration is an active Jira Server integration with
 * sync_forward_assignment in the issue's organization, except the
 * integration the change came from: its own change is never echoed back.
 * $1 is the group, $3 its organization.
 */
#define JIRA_SYNC_OUTBOX(changed, assign, user, source)                    \
    "  INSERT INTO assignee_outbox"                                         \
    "         (external_issue_id, integration_id, group_id,"                \
    "          source_integration_id, assign, user_id)"                     \
    "  SELECT ei.id, ei.integration_id, $1, " source ", " assign ","        \
    "         " user                                                        \
    "    FROM " changed                                                     \
    "    JOIN organization o"                                               \
    "      ON o.id = $3 AND o.integrations_issue_sync"                      \
    "    JOIN group_link gl ON gl.group_id = $1 AND gl.linked_type = 3"     \
    "    JOIN external_issue ei ON ei.id = gl.linked_id"                    \
    "    JOIN integration i"                                                \
    "      ON i.id = ei.integration_id AND i.status = 0"                    \
    "         AND i.provider = 'jira_server'"                               \
    "    JOIN organization_integration oi"                                  \
    "      ON oi.organization_id = ei.organization_id"                      \
    "         AND oi.integration_id = ei.integration_id"                    \
    "   WHERE ei.integration_id IS DISTINCT FROM " source                   \
    "     AND oi.config -> 'sync_forward_assignment' = 'true'::jsonb"       \
    "   ORDER BY ei.id"                                                     \
    "  RETURNING 1)"


/*
 * GroupAssignee.assign for a user, in Sentry's order: subscribe the
 * user (reason assigned; an existing subscription is kept), create or
 * update the assignee row; only when that changed something: Activity
 * ASSIGNED, GroupHistory ASSIGNED and removal of the previous assignee's
 * "assigned" subscriptions.  All sub-statements see the rows as they
 * were before it ran, so "prev" is the previous assignee.  A change
 * also queues outbound sync (JIRA_SYNC_OUTBOX).
 * $1 group, $2 project, $3 organization, $4 user, $5 user's email,
 * $6 the integration the change came from.
 */
const jira_stmt_t  jira_sync_assign_stmt = {
    "jira_sync_assign",
    "WITH prev AS ("
    "  SELECT user_id, team_id FROM group_assignee WHERE group_id = $1),"
    " sub AS ("
    "  INSERT INTO group_subscription"
    "         (project_id, group_id, user_id, is_active, reason)"
    "  VALUES ($2, $1, $4, true, 2)"
    "  ON CONFLICT DO NOTHING),"
    " up AS ("
    "  INSERT INTO group_assignee (project_id, group_id, user_id, team_id)"
    "  VALUES ($2, $1, $4, NULL)"
    "  ON CONFLICT (group_id) DO UPDATE"
    "     SET user_id = EXCLUDED.user_id, team_id = NULL,"
    "         project_id = EXCLUDED.project_id, date_added = now()"
    "   WHERE group_assignee.user_id IS DISTINCT FROM EXCLUDED.user_id"
    "  RETURNING 1),"
    " act AS ("
    "  INSERT INTO activity (project_id, group_id, type, data)"
    "  SELECT $2, $1, 11, jsonb_build_object("
    "           'assignee', $4::text, 'assigneeEmail', $5::text,"
    "           'assigneeType', 'user')"
    "    FROM up),"
    " hist AS ("
    "  INSERT INTO group_history"
    "         (organization_id, project_id, group_id, status)"
    "  SELECT $3, $2, $1, 5 FROM up),"
    " unsub AS ("
    "  DELETE FROM group_subscription s"
    "   USING prev, up"
    "   WHERE s.group_id = $1 AND s.reason = 2"
    "     AND (s.user_id = prev.user_id AND prev.user_id <> $4::bigint"
    "          OR s.team_id = prev.team_id"
    "          OR s.user_id <> $4::bigint AND s.user_id IN ("
    "               SELECT om.user_id"
    "                 FROM organization_member_team omt"
    "                 JOIN organization_member om"
    "                   ON om.id = omt.organizationmember_id"
    "                WHERE omt.team_id = prev.team_id"
    "                  AND omt.is_active))),"
    " ob AS ("
    JIRA_SYNC_OUTBOX("up", "true", "$4::bigint", "$6::bigint")
    " SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM ob)"
};


/*
 * GroupAssignee.deassign: delete the row; only when there was one:
 * Activity UNASSIGNED (no data), GroupHistory UNASSIGNED, and removal of
 * the previous assignee's "assigned" subscriptions; and outbound sync.
 * $1 group, $2 project, $3 organization, $4 the integration the change
 * came from.
 */
const jira_stmt_t  jira_sync_deassign_stmt = {
    "jira_sync_deassign",
    "WITH del AS ("
    "  DELETE FROM group_assignee WHERE group_id = $1"
    "  RETURNING user_id, team_id),"
    " act AS ("
    "  INSERT INTO activity (project_id, group_id, type, data)"
    "  SELECT $2, $1, 12, '{}'::jsonb FROM del),"
    " hist AS ("
    "  INSERT INTO group_history"
    "         (organization_id, project_id, group_id, status)"
    "  SELECT $3, $2, $1, 6 FROM del),"
    " unsub AS ("
    "  DELETE FROM group_subscription s"
    "   USING del"
    "   WHERE s.group_id = $1 AND s.reason = 2"
    "     AND (s.user_id = del.user_id"
    "          OR s.team_id = del.team_id"
    "          OR s.user_id IN ("
    "               SELECT om.user_id"
    "                 FROM organization_member_team omt"
    "                 JOIN organization_member om"
    "                   ON om.id = omt.organizationmember_id"
    "                WHERE omt.team_id = del.team_id"
    "                  AND omt.is_active))),"
    " ob AS ("
    JIRA_SYNC_OUTBOX("del", "false", "NULL::bigint", "$4::bigint")
    " SELECT (SELECT count(*) FROM del), (SELECT count(*) FROM ob)"
};


jira_err_e
jira_sync_assignee_inbound(jira_store_t *st, long long integration_id,
    const char *email, const char *issue_key, int assign,
    const char *skip_orgs, jira_log_t *log, jira_sync_changes_t *changes)
{
    int                 i, n, affected, assigned;
    char                iid[32];
    size_t              queued;
    PGresult           *res;
    jira_err_e          err;
    const char         *values[4];
    jira_sync_group_t   g;

    (void) snprintf(iid, sizeof(iid), "%lld", integration_id);

    values[0] = iid;
    values[1] = issue_key;
    values[2] = assign ? email : NULL;
    values[3] = skip_orgs ? skip_orgs : "{}";

    res = jira_store_exec(st, &jira_sync_groups_stmt, 4, values, &err);
    if (res == NULL) {
        return err;
    }

    n = PQntuples(res);

    if (n == 0) {
        jira_log(log, JIRA_LOG_INFO,
                 "no-affected-groups integration_id=%lld issue_key=\"%s\""
                 " assign=%d", integration_id, issue_key, assign);
        PQclear(res);
        return JIRA_OK;
    }

    assigned = 0;
    affected = 0;
    queued = 0;
    err = JIRA_OK;
    g.source = iid;

    for (i = 0; i < n; i++) {
        g.group_id = PQgetvalue(res, i, 0);
        g.project_id = PQgetvalue(res, i, 1);
        g.organization_id = PQgetvalue(res, i, 2);
        g.user_id = PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3);
        g.user_email = PQgetvalue(res, i, 4);

        if (!assign) {
            err = jira_sync_deassign(st, &g, &affected, &queued);
            if (err != JIRA_OK) {
                break;
            }

            if (affected) {
                jira_sync_changed(changes, g.group_id);
                changes->deassigned++;
            }

            continue;
        }

        if (g.user_id == NULL) {
            jira_log(log, JIRA_LOG_INFO,
                     "sync_group_assignee_inbound._handle_assign"
                     ".user_not_found group_id=%s user_id=None",
                     g.group_id);
            continue;
        }

        jira_log(log, JIRA_LOG_INFO,
                 "sync_group_assignee_inbound._handle_assign.assigning"
                 ".group group_id=%s user_id=%s", g.group_id, g.user_id);

        err = jira_sync_assign(st, &g, &affected, &queued);
        if (err != JIRA_OK) {
            break;
        }

        assigned++;

        if (affected) {
            jira_sync_changed(changes, g.group_id);
            changes->assigned++;
        }
    }

    if (err == JIRA_OK && queued > 0) {
        jira_log(log, JIRA_LOG_INFO,
                 "outbound-queued integration_id=%lld issue_key=\"%s\""
                 " assign=%d rows=%zu", integration_id, issue_key, assign,
                 queued);
    }

    if (err == JIRA_OK && assign && assigned != n) {
        jira_log(log, JIRA_LOG_INFO,
                 "inbound-assignee-not-found integration_id=%lld"
                 " issue_key=\"%s\" assigned=%d groups=%d",
                 integration_id, issue_key, assigned, n);
    }

    PQclear(res);

    return err;
}


static jira_err_e
jira_sync_assign(jira_store_t *st, const jira_sync_group_t *g,
    int *affected, size_t *queued)
{
    PGresult    *res;
    jira_err_e   err;
    const char  *values[6];

    values[0] = g->group_id;
    values[1] = g->project_id;
    values[2] = g->organization_id;
    values[3] = g->user_id;
    values[4] = g->user_email;
    values[5] = g->source;

    res = jira_store_exec(st, &jira_sync_assign_stmt, 6, values, &err);
    if (res == NULL) {
        return err;
    }

    *affected = atoi(PQgetvalue(res, 0, 0)) > 0;
    *queued += (size_t) atoi(PQgetvalue(res, 0, 1));
    PQclear(res);

    return JIRA_OK;
}


static jira_err_e
jira_sync_deassign(jira_store_t *st, const jira_sync_group_t *g,
    int *affected, size_t *queued)
{
    PGresult    *res;
    jira_err_e   err;
    const char  *values[4];

    values[0] = g->group_id;
    values[1] = g->project_id;
    values[2] = g->organization_id;
    values[3] = g->source;

    res = jira_store_exec(st, &jira_sync_deassign_stmt, 4, values, &err);
    if (res == NULL) {
        return err;
    }

    *affected = atoi(PQgetvalue(res, 0, 0)) > 0;
    *queued += (size_t) atoi(PQgetvalue(res, 0, 1));
    PQclear(res);

    return JIRA_OK;
}


static void
jira_sync_changed(jira_sync_changes_t *changes, const char *group_id)
{
    if (changes->n == JIRA_SYNC_MAX_GROUPS) {
        changes->overflow = 1;
        return;
    }

    changes->groups[changes->n++] = strtoll(group_id, NULL, 10);
}
