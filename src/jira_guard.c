#include <stdio.h>
#include <string.h>

#include "jira_guard.h"


/*
 * $1 integration, $2 issue key, $3 event time in ms (NULL: unknown),
 * $4 changelog id (NULL: none).
 *
 * dup records the delivery; a conflict means the changelog was applied
 * by a transaction that committed (a concurrent one waits on the key).
 * old forgets deliveries after a week, a few rows at a time, oldest
 * first: ordered by received_at, the index is the cheap plan even when
 * the statistics expect many old rows (there are usually none, and a
 * scan hoping to meet them early reads the whole table).  ei locks the
 * external issues in id order, before the groups, as every webhook
 * does; upd raises their watermark.  Only strictly older events are
 * stale.
 */
const jira_stmt_t  jira_guard_stmt = {
    "jira_guard",
    "WITH dup AS ("
    "  INSERT INTO webhook_delivery (integration_id, changelog_id)"
    "  SELECT $1::bigint, $4::text WHERE $4::text IS NOT NULL"
    "  ON CONFLICT DO NOTHING"
    "  RETURNING 1),"
    " old AS ("
    "  DELETE FROM webhook_delivery"
    "   WHERE (integration_id, changelog_id) IN ("
    "          SELECT integration_id, changelog_id FROM webhook_delivery"
    "           WHERE integration_id = $1::bigint"
    "             AND received_at < now() - interval '7 days'"
    "           ORDER BY received_at"
    "           LIMIT 16)),"
    " ei AS ("
    "  SELECT id, organization_id, provider_assignee_updated_at AS at"
    "    FROM external_issue"
    "   WHERE integration_id = $1::bigint AND key = $2::text"
    "   ORDER BY id"
    "     FOR UPDATE),"
    " upd AS ("
    "  UPDATE external_issue e"
    "     SET provider_assignee_updated_at ="
    "         to_timestamp($3::bigint / 1000.0)"
    "    FROM ei"
    "   WHERE $3::bigint IS NOT NULL AND e.id = ei.id"
    "     AND (ei.at IS NULL"
    "          OR ei.at < to_timestamp($3::bigint / 1000.0)))"
    " SELECT $4::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dup)"
    "        AS duplicate,"
    "        coalesce((SELECT array_agg(DISTINCT organization_id)"
    "                    FROM ei"
    "                   WHERE at > to_timestamp($3::bigint / 1000.0)),"
    "                 '{}')::text AS stale"
};


jira_err_e
jira_guard_delivery(jira_store_t *st, long long integration_id,
    const char *issue_key, long long event_ms, const char *changelog_id,
    jira_guard_t *g)
{
    char         iid[32], ms[32];
    PGresult    *res;
    jira_err_e   err;
    const char  *values[4];

    (void) snprintf(iid, sizeof(iid), "%lld", integration_id);
    (void) snprintf(ms, sizeof(ms), "%lld", event_ms);

    values[0] = iid;
    values[1] = issue_key;
    values[2] = event_ms >= 0 ? ms : NULL;
    values[3] = changelog_id;

    res = jira_store_exec(st, &jira_guard_stmt, 4, values, &err);
    if (res == NULL) {
        return err;
    }

    g->duplicate = PQgetvalue(res, 0, 0)[0] == 't';

    if (PQgetlength(res, 0, 1) >= (int) sizeof(g->stale)) {
        /* too many to list: treat every organization as up to date,
           as Sentry does without a timestamp */
        (void) snprintf(g->stale, sizeof(g->stale), "{}");

    } else {
        (void) snprintf(g->stale, sizeof(g->stale), "%s",
                        PQgetvalue(res, 0, 1));
    }

    PQclear(res);

    return JIRA_OK;
}
