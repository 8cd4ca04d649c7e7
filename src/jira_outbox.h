/*
 * Delivery of outbound assignee sync: the rows src/jira_sync.c writes to
 * assignee_outbox are claimed here, sent to Jira (find the Jira user by
 * email, then PUT the assignee) and marked done, retried with
 * exponential backoff, failed or dead.  Runs on a pool thread; several
 * workers and nodes drain one table together.  No nginx headers here.
 */

#ifndef _JIRA_OUTBOX_H_INCLUDED_
#define _JIRA_OUTBOX_H_INCLUDED_


#include "jira_api.h"
#include "jira_log.h"
#include "jira_store.h"


/* Sentry's messages for what cannot be assigned */
#define JIRA_OUTBOX_NO_USER                                                  \
    "No matching Jira Server user found"
#define JIRA_OUTBOX_UNAUTHORIZED                                             \
    "Insufficient permissions to assign user to Jira Server issue"
#define JIRA_OUTBOX_FAILED                                                   \
    "Failed to assign user to Jira Server issue"

#define JIRA_OUTBOX_ERROR_LEN  1024


typedef struct {
    const jira_api_conf_t    *api;          /* database, Jira, key */
    int                       batch;        /* rows per pass at most */
    int                       max_attempts;
    long long                 backoff;      /* ms before the 1st retry */
    long long                 backoff_max;  /* ms, cap of the doubling */
    long long                 budget;       /* ms: claim no more after */
    long long                 keep;         /* s finished rows are kept,
                                               0: forever */
    unsigned                  purge:1;      /* delete old finished rows */
} jira_outbox_conf_t;


typedef struct {
    jira_err_e                err;          /* a database failure ended
                                               the pass */
    char                      error[512];
    unsigned                  delivered;
    unsigned                  retried;
    unsigned                  failed;
    unsigned                  dead;
    unsigned                  skipped;
    long                      purged;
    unsigned                  more:1;       /* rows may be due: soon again */
    jira_log_t                log;
} jira_outbox_result_t;


/* the table's state, for metrics */
typedef struct {
    long long                 pending;
    long long                 due;          /* pending and due now */
    long long                 failed;
    long long                 dead;
    double                    oldest;       /* s the oldest pending row
                                               has waited */
} jira_outbox_stats_t;


/*
 * One pass: claim and deliver up to conf->batch rows, each in its own
 * transaction that holds the row's lock while Jira is called.  An
 * integration whose Jira is unreachable gets no more calls in this pass.
 */
void jira_outbox_drain(const jira_outbox_conf_t *conf,
    jira_outbox_result_t *res);

jira_err_e jira_outbox_stats(jira_store_t *st, jira_outbox_stats_t *stats);

/*
 * Backoff before the next attempt after the attempts-th failed one:
 * base, 2 base, 4 base ... at most max (all in ms).
 */
long long jira_outbox_backoff(long long base, long long max, int attempts);


#endif /* _JIRA_OUTBOX_H_INCLUDED_ */
