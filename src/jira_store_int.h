/*
 * What the connection half (jira_store.c) and the statement half
 * (jira_store_exec.c) of the store share; nothing outside them includes
 * this.
 */

#ifndef _JIRA_STORE_INT_H_INCLUDED_
#define _JIRA_STORE_INT_H_INCLUDED_


#include "jira_store.h"


/* statements that may wait for the next one to go in one round trip */
#define JIRA_STORE_MAX_QUEUED  4


typedef enum {
    JIRA_STORE_TXN_NONE = 0,
    JIRA_STORE_TXN_PENDING,     /* BEGIN waits for the first statement */
    JIRA_STORE_TXN_OPEN         /* BEGIN was sent */
} jira_store_txn_e;


typedef struct {
    const jira_stmt_t        *stmt;
    int                       n;
    const char *const        *values;
    PGresult                **res;
} jira_store_queued_t;


struct jira_store_s {
    jira_store_t             *next;         /* every store of the process */
    PGconn                   *conn;
    const jira_store_conf_t  *conf;
    int                       schema_version;
    int                       nprepared;
    const jira_stmt_t        *prepared[JIRA_STORE_MAX_STMTS];
    long long                 retry_at;
    jira_store_txn_e          txn;
    int                       nqueued;
    jira_store_queued_t       queued[JIRA_STORE_MAX_QUEUED];
};


void jira_store_set_error(const char *prefix, const char *text);
void jira_store_drop(jira_store_t *st);
jira_err_e jira_store_reconnect(jira_store_t *st);
jira_err_e jira_store_classify(jira_store_t *st, PGresult *res);


#endif /* _JIRA_STORE_INT_H_INCLUDED_ */
