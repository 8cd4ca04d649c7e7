/*
 * Inbound assignee sync (Sentry's sync_group_assignee_inbound) and the
 * assign / deassign operations with their side effects, outbound sync
 * rows included (src/jira_outbox.h delivers them).  Runs on a pool
 * thread inside the caller's transaction.  No nginx headers here.
 */

#ifndef _JIRA_SYNC_H_INCLUDED_
#define _JIRA_SYNC_H_INCLUDED_


#include "jira_log.h"
#include "jira_store.h"


#define JIRA_SYNC_MAX_GROUPS      64

#define JIRA_ACTIVITY_ASSIGNED    11
#define JIRA_ACTIVITY_UNASSIGNED  12
#define JIRA_HISTORY_ASSIGNED     5
#define JIRA_HISTORY_UNASSIGNED   6
#define JIRA_SUBSCRIPTION_ASSIGNED  2


/* groups whose assignee changed: their cache entries must go */
typedef struct {
    size_t           n;
    unsigned         overflow:1;    /* more than fit: drop the whole cache */
    long long        groups[JIRA_SYNC_MAX_GROUPS];
    size_t           assigned;
    size_t           deassigned;
} jira_sync_changes_t;


/* exported for the benchmark, which runs the same SQL through pgbench */
extern const jira_stmt_t  jira_sync_groups_stmt;
extern const jira_stmt_t  jira_sync_assign_stmt;
extern const jira_stmt_t  jira_sync_deassign_stmt;


/*
 * email NULL with assign 0 deassigns every affected group.  skip_orgs (a
 * bigint[] literal, or NULL) names organizations to leave alone.  Each
 * change also queues outbound sync to the other integrations linked to
 * the group (never to integration_id, where the change came from).
 * Returns JIRA_OK also when nothing matched (that is logged, not an
 * error).
 */
jira_err_e jira_sync_assignee_inbound(jira_store_t *st,
    long long integration_id, const char *email, const char *issue_key,
    int assign, const char *skip_orgs, jira_log_t *log,
    jira_sync_changes_t *changes);


#endif /* _JIRA_SYNC_H_INCLUDED_ */
