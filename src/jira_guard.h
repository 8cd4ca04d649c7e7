/*
 * Repeated and out-of-order deliveries (Sentry's inbound ordering guard,
 * plus a once-only rule per changelog).  Runs inside the webhook's
 * transaction, before anything is applied.  No nginx headers here.
 */

#ifndef _JIRA_GUARD_H_INCLUDED_
#define _JIRA_GUARD_H_INCLUDED_


#include "jira_store.h"


typedef struct {
    int          duplicate;      /* this changelog was applied before */
    char         stale[512];     /* organizations whose issue has a newer
                                    change: a PostgreSQL bigint[] literal */
} jira_guard_t;


/* exported for the benchmark, which runs the same SQL through pgbench */
extern const jira_stmt_t  jira_guard_stmt;


/*
 * Record the delivery of changelog_id (NULL: none) and lock the
 * integration's external issues with this key.  event_ms (-1: unknown)
 * raises each issue's watermark; issues whose watermark is later than it
 * name their organizations in g->stale.
 */
jira_err_e jira_guard_delivery(jira_store_t *st, long long integration_id,
    const char *issue_key, long long event_ms, const char *changelog_id,
    jira_guard_t *g);


#endif /* _JIRA_GUARD_H_INCLUDED_ */
