/*
 * The part of the Jira webhook endpoint that runs on a pool thread:
 * token steps 4 and 5, the body, the Jira calls a change needs (a hidden
 * assignee email, the status categories), then the assignee and status
 * changes in one transaction.  The event loop has already done token
 * steps 1 to 3.  No nginx headers here.
 */

#ifndef _JIRA_WEBHOOK_H_INCLUDED_
#define _JIRA_WEBHOOK_H_INCLUDED_


#include <stddef.h>
#include <time.h>

#include "jira_api.h"
#include "jira_log.h"
#include "jira_store.h"
#include "jira_sync.h"


#define JIRA_DETAIL_LEN  256
#define JIRA_SECRET_MAX  256


typedef struct {
    const jira_store_conf_t  *store;
    const jira_api_conf_t    *conf;            /* for calls to Jira */
    const char               *token;
    size_t                    token_len;
    const char               *external_id;     /* from the token's claims */
    const char               *body;
    size_t                    body_len;
    time_t                    now;

    /* the event loop verified the token with a cached secret */
    unsigned                  verified:1;
    long long                 integration_id;
    int                       integration_status;
} jira_webhook_in_t;


typedef struct {
    int                       status;          /* HTTP status to answer */
    jira_err_e                err;             /* why, for 5xx */
    unsigned                  token_error:1;   /* detail is a token error */
    long long                 integration_id;  /* 0 until found */
    int                       integration_status;
    unsigned                  fetched:1;       /* secret read: cache it */
    char                      secret[JIRA_SECRET_MAX];
    char                      detail[JIRA_DETAIL_LEN];
    char                      error[512];      /* database error text */
    jira_log_t                log;
    jira_sync_changes_t       changes;
} jira_webhook_out_t;


/* exported for the benchmark, which runs the same SQL through pgbench */
extern const jira_stmt_t  jira_webhook_integration_stmt;


void jira_webhook_process(const jira_webhook_in_t *in,
    jira_webhook_out_t *out);


#endif /* _JIRA_WEBHOOK_H_INCLUDED_ */
