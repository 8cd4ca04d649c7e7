/*
 * Inbound status sync (Sentry's sync_status_inbound for Jira Server):
 * a status change moves the linked groups to resolved when the new
 * status is in Jira's "done" category and the old one is not, and back
 * to unresolved in the reverse case.  The categories come from GET
 * /rest/api/2/status, kept per integration in a small cache of the
 * process.  No nginx headers here.
 */

#ifndef _JIRA_STATUS_H_INCLUDED_
#define _JIRA_STATUS_H_INCLUDED_


#include <time.h>

#include "jira_client.h"
#include "jira_log.h"
#include "jira_store.h"
#include "jira_sync.h"


#define JIRA_STATUS_TTL          300   /* s a status list is reused */
#define JIRA_STATUS_REFRESH      10    /* an id missing from a list at
                                          least this old fetches it anew */
#define JIRA_STATUS_CACHE        16    /* integrations kept per process */
#define JIRA_STATUS_MAX          1024  /* statuses kept per integration */
#define JIRA_STATUS_ID_LEN       32

/* Sentry's GroupStatus, GroupSubStatus, ActivityType, GroupHistoryStatus */
#define JIRA_GROUP_UNRESOLVED          0
#define JIRA_GROUP_RESOLVED            1
#define JIRA_SUBSTATUS_ONGOING         3
#define JIRA_ACTIVITY_SET_RESOLVED     1
#define JIRA_ACTIVITY_SET_UNRESOLVED   2
#define JIRA_HISTORY_UNRESOLVED        0
#define JIRA_HISTORY_RESOLVED          1


typedef enum {
    JIRA_STATUS_NOOP = 0,        /* both categories done, or neither */
    JIRA_STATUS_RESOLVE,         /* to done from not done */
    JIRA_STATUS_UNRESOLVE,       /* from done to not done */
    JIRA_STATUS_UNKNOWN          /* Jira does not list from or to */
} jira_status_action_e;


/*
 * The action for a change from status id "from" to "to" (NULL or "":
 * no status, which is not done) by the cached list of integration_id.
 * Returns 0 with *action set, or -1 when the list must be fetched first:
 * none is cached, it expired, or it lacks an id and is old enough to
 * have missed a status added since.
 */
int jira_status_decide(long long integration_id, const char *from,
    const char *to, time_t now, jira_status_action_e *action);

/*
 * Fetch the list with c, cache it and decide by it.  Returns 0 with
 * *action set, or -1 with err filled.
 */
int jira_status_fetch(const jira_client_t *c, long long integration_id,
    const char *from, const char *to, time_t now,
    jira_status_action_e *action, jira_client_error_t *err);

/*
 * Apply action (RESOLVE or UNRESOLVE) to the groups linked to issue_key
 * whose organization has the issue-sync feature and sync_status_reverse,
 * inside the caller's transaction.  Changed groups are added to changes
 * (their cached issue reads show the old status).
 */
jira_err_e jira_status_inbound(jira_store_t *st, long long integration_id,
    const char *issue_key, jira_status_action_e action, jira_log_t *log,
    jira_sync_changes_t *changes);


#endif /* _JIRA_STATUS_H_INCLUDED_ */
