/*
 * handle_status_change, get_resolve_sync_action and the sync_status_inbound
 * task of Sentry's Jira Server integration, with GroupManager's
 * update_group_status (reference: sentry-behaviour.md §2.4).
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jira_status.h"


typedef struct {
    char                  id[JIRA_STATUS_ID_LEN];
    unsigned char         done;
} jira_status_cat_t;


typedef struct {
    long long             integration_id;     /* 0: a free slot */
    time_t                fetched;
    size_t                n;
    jira_status_cat_t    *cats;               /* malloc()ed */
} jira_status_list_t;


static int jira_status_done(const jira_status_cat_t *cats, size_t n,
    const char *id);
static jira_status_action_e jira_status_action(const jira_status_cat_t *cats,
    size_t n, const char *from, const char *to);
static void jira_status_store(long long integration_id, time_t now,
    jira_status_cat_t *cats, size_t n);
static void jira_status_changed(jira_sync_changes_t *changes,
    const char *group_id);


static pthread_mutex_t      jira_status_mutex = PTHREAD_MUTEX_INITIALIZER;
static jira_status_list_t   jira_status_lists[JIRA_STATUS_CACHE];


/*
 * Affected groups (get_groups_by_external_issue with where_should_sync
 * for "inbound_status"): as for an assignee change, but kept where the
 * organization has the issue-sync feature and sync_status_reverse.
 * Locked in id order, as every webhook locks groups.
 * $1 integration, $2 issue key.
 */
static const jira_stmt_t  jira_status_groups_stmt = {
    "jira_status_groups",
    "WITH ois AS ("
    "  SELECT oi.organization_id,"
    "         o.integrations_issue_sync"
    "         AND coalesce(oi.config -> 'sync_status_reverse'"
    "                      = 'true'::jsonb, false) AS sync"
    "    FROM organization_integration oi"
    "    JOIN organization o ON o.id = oi.organization_id"
    "   WHERE oi.integration_id = $1::bigint)"
    " SELECT g.id AS group_id, g.project_id, p.organization_id"
    "   FROM issue_group g"
    "   JOIN project p ON p.id = g.project_id"
    "  WHERE g.id IN ("
    "          SELECT gl.group_id"
    "            FROM external_issue ei"
    "            JOIN group_link gl ON gl.linked_id = ei.id"
    "           WHERE ei.integration_id = $1::bigint AND ei.key = $2::text"
    "             AND ei.organization_id IN"
    "                 (SELECT organization_id FROM ois))"
    "    AND p.organization_id IN"
    "        (SELECT organization_id FROM ois WHERE sync)"
    "  ORDER BY g.id"
    "    FOR UPDATE OF g"
};


/*
 * update_group_status for one group: a group already in the target
 * status and substatus is left alone; any other gets them, an Activity
 * with the integration as its source and a GroupHistory row.
 * $1 group, $2 project, $3 organization, $4 status, $5 substatus (NULL
 * for resolved), $6 activity type, $7 history status, $8 integration.
 */
static const jira_stmt_t  jira_status_set_stmt = {
    "jira_status_set",
    "WITH up AS ("
    "  UPDATE issue_group"
    "     SET status = $4::integer, substatus = $5::integer"
    "   WHERE id = $1::bigint"
    "     AND NOT (status = $4::integer"
    "              AND substatus IS NOT DISTINCT FROM $5::integer)"
    "  RETURNING id),"
    " act AS ("
    "  INSERT INTO activity (project_id, group_id, type, data)"
    "  SELECT $2::bigint, $1::bigint, $6::integer, jsonb_build_object("
    "           'provider', 'Jira Server', 'provider_key', 'jira_server',"
    "           'integration_id', $8::bigint)"
    "    FROM up),"
    " hist AS ("
    "  INSERT INTO group_history"
    "         (organization_id, project_id, group_id, status)"
    "  SELECT $3::bigint, $2::bigint, $1::bigint, $7::integer FROM up)"
    " SELECT count(*) FROM up"
};


int
jira_status_decide(long long integration_id, const char *from,
    const char *to, time_t now, jira_status_action_e *action)
{
    int                  rc;
    size_t               i;
    jira_status_list_t  *l;

    rc = -1;

    (void) pthread_mutex_lock(&jira_status_mutex);

    for (i = 0; i < JIRA_STATUS_CACHE; i++) {
        l = &jira_status_lists[i];

        if (l->integration_id != integration_id
            || now - l->fetched >= JIRA_STATUS_TTL
            || now < l->fetched)
        {
            continue;
        }

        *action = jira_status_action(l->cats, l->n, from, to);

        if (*action != JIRA_STATUS_UNKNOWN
            || now - l->fetched < JIRA_STATUS_REFRESH)
        {
            rc = 0;
        }

        break;
    }

    (void) pthread_mutex_unlock(&jira_status_mutex);

    return rc;
}


int
jira_status_fetch(const jira_client_t *c, long long integration_id,
    const char *from, const char *to, time_t now,
    jira_status_action_e *action, jira_client_error_t *err)
{
    size_t              i, n;
    json_t             *list, *status, *id, *category;
    jira_status_cat_t  *cats;

    list = NULL;

    if (jira_client_rest(c, "GET", "/rest/api/2/status", NULL, &list, err)
        != 0)
    {
        return -1;
    }

    if (!json_is_array(list)) {
        json_decref(list);
        err->http_err = JIRA_HTTP_OK;
        err->status = 200;
        err->message[0] = '\0';
        (void) snprintf(err->text, sizeof(err->text),
                        "the answer is not a list of statuses");
        return -1;
    }

    cats = calloc(json_array_size(list) ? json_array_size(list) : 1,
                  sizeof(jira_status_cat_t));
    if (cats == NULL) {
        json_decref(list);
        err->http_err = JIRA_HTTP_EINTERNAL;
        (void) snprintf(err->text, sizeof(err->text), "out of memory");
        return -1;
    }

    n = 0;

    /* get_resolve_sync_action: done is statusCategory.key "done" */

    json_array_foreach(list, i, status) {
        if (n == JIRA_STATUS_MAX) {
            break;
        }

        id = json_object_get(status, "id");

        if (!json_is_string(id) || json_string_length(id) == 0
            || json_string_length(id) >= JIRA_STATUS_ID_LEN)
        {
            continue;
        }

        memcpy(cats[n].id, json_string_value(id),
               json_string_length(id) + 1);

        category = json_object_get(json_object_get(status, "statusCategory"),
                                   "key");
        cats[n].done = json_is_string(category)
                       && strcmp(json_string_value(category), "done") == 0;
        n++;
    }

    json_decref(list);

    *action = jira_status_action(cats, n, from, to);

    jira_status_store(integration_id, now, cats, n);

    return 0;
}


jira_err_e
jira_status_inbound(jira_store_t *st, long long integration_id,
    const char *issue_key, jira_status_action_e action, jira_log_t *log,
    jira_sync_changes_t *changes)
{
    int          i, n, changed;
    char         iid[32], status[4], substatus[4], type[4], history[4];
    PGresult    *res, *set;
    jira_err_e   err;
    const char  *values[8];

    (void) snprintf(iid, sizeof(iid), "%lld", integration_id);

    values[0] = iid;
    values[1] = issue_key;

    res = jira_store_exec(st, &jira_status_groups_stmt, 2, values, &err);
    if (res == NULL) {
        return err;
    }

    n = PQntuples(res);

    if (n == 0) {
        jira_log(log, JIRA_LOG_INFO,
                 "no-affected-groups integration_id=%lld issue_key=\"%s\""
                 " field=status", integration_id, issue_key);
        PQclear(res);
        return JIRA_OK;
    }

    /* resolved has no substatus; unresolved becomes "ongoing" */

    if (action == JIRA_STATUS_RESOLVE) {
        (void) snprintf(status, sizeof(status), "%d", JIRA_GROUP_RESOLVED);
        (void) snprintf(type, sizeof(type), "%d",
                        JIRA_ACTIVITY_SET_RESOLVED);
        (void) snprintf(history, sizeof(history), "%d",
                        JIRA_HISTORY_RESOLVED);
        values[4] = NULL;

    } else {
        (void) snprintf(status, sizeof(status), "%d",
                        JIRA_GROUP_UNRESOLVED);
        (void) snprintf(substatus, sizeof(substatus), "%d",
                        JIRA_SUBSTATUS_ONGOING);
        (void) snprintf(type, sizeof(type), "%d",
                        JIRA_ACTIVITY_SET_UNRESOLVED);
        (void) snprintf(history, sizeof(history), "%d",
                        JIRA_HISTORY_UNRESOLVED);
        values[4] = substatus;
    }

    values[3] = status;
    values[5] = type;
    values[6] = history;
    values[7] = iid;

    changed = 0;
    err = JIRA_OK;

    for (i = 0; i < n; i++) {
        values[0] = PQgetvalue(res, i, 0);
        values[1] = PQgetvalue(res, i, 1);
        values[2] = PQgetvalue(res, i, 2);

        set = jira_store_exec(st, &jira_status_set_stmt, 8, values, &err);
        if (set == NULL) {
            break;
        }

        if (atoi(PQgetvalue(set, 0, 0)) > 0) {
            jira_status_changed(changes, PQgetvalue(res, i, 0));
            changed++;
        }

        PQclear(set);
    }

    if (err == JIRA_OK) {
        jira_log(log, JIRA_LOG_INFO,
                 "sync_status_inbound integration_id=%lld issue_key=\"%s\""
                 " action=%s groups=%d changed=%d", integration_id,
                 issue_key,
                 action == JIRA_STATUS_RESOLVE ? "resolve" : "unresolve",
                 n, changed);
    }

    PQclear(res);

    return err;
}


/* 1 done, 0 not done (also no status at all), -1 not in the list */

static int
jira_status_done(const jira_status_cat_t *cats, size_t n, const char *id)
{
    size_t  i;

    if (id == NULL || id[0] == '\0') {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (strcmp(cats[i].id, id) == 0) {
            return cats[i].done;
        }
    }

    return -1;
}


static jira_status_action_e
jira_status_action(const jira_status_cat_t *cats, size_t n,
    const char *from, const char *to)
{
    int  f, t;

    f = jira_status_done(cats, n, from);
    t = jira_status_done(cats, n, to);

    if (f < 0 || t < 0) {
        return JIRA_STATUS_UNKNOWN;
    }

    if (t && !f) {
        return JIRA_STATUS_RESOLVE;
    }

    if (f && !t) {
        return JIRA_STATUS_UNRESOLVE;
    }

    return JIRA_STATUS_NOOP;
}


/* the integration's slot, else a free one, else the oldest list */

static void
jira_status_store(long long integration_id, time_t now,
    jira_status_cat_t *cats, size_t n)
{
    size_t               i;
    jira_status_list_t  *l, *slot;

    (void) pthread_mutex_lock(&jira_status_mutex);

    slot = NULL;

    for (i = 0; i < JIRA_STATUS_CACHE; i++) {
        l = &jira_status_lists[i];

        if (l->integration_id == integration_id) {
            slot = l;
            break;
        }

        if (slot == NULL || l->integration_id == 0
            || (slot->integration_id != 0 && l->fetched < slot->fetched))
        {
            slot = l;
        }
    }

    free(slot->cats);

    slot->integration_id = integration_id;
    slot->fetched = now;
    slot->n = n;
    slot->cats = cats;

    (void) pthread_mutex_unlock(&jira_status_mutex);
}


static void
jira_status_changed(jira_sync_changes_t *changes, const char *group_id)
{
    if (changes->n == JIRA_SYNC_MAX_GROUPS) {
        changes->overflow = 1;
        return;
    }

    changes->groups[changes->n++] = strtoll(group_id, NULL, 10);
}
