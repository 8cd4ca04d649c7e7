/*
 * GET /api/0/issues/{id}/ on a pool thread: the bearer token, and the
 * issue with its assignee when the cache did not have it.  No nginx
 * headers here.
 */

#ifndef _JIRA_ISSUE_H_INCLUDED_
#define _JIRA_ISSUE_H_INCLUDED_


#include "jira_auth.h"
#include "jira_store.h"


typedef struct {
    const jira_store_conf_t  *store;
    const char               *token;
    size_t                    token_len;
    long long                 group_id;
    const char               *cached_version;   /* NULL: not cached */
} jira_issue_in_t;


typedef struct {
    int                       status;
    jira_err_e                err;
    jira_auth_e               auth;
    const char               *detail;        /* static text */
    long long                 org;
    char                      version[64];   /* of the rows read */
    char                     *json;          /* malloc()ed, or NULL */
    size_t                    json_len;
    char                      error[512];
} jira_issue_out_t;


void jira_issue_read(const jira_issue_in_t *in, jira_issue_out_t *out);


#endif /* _JIRA_ISSUE_H_INCLUDED_ */
