/*
 * A Jira client for an installed integration: its base URL and TLS
 * setting from the integration's metadata, its credentials opened from
 * the organization integration's default identity.  For the calls made
 * after setup (uninstall, outbound sync, user and status lookups).  No
 * nginx headers here.
 */

#ifndef _JIRA_INSTALLED_H_INCLUDED_
#define _JIRA_INSTALLED_H_INCLUDED_


#include "jira_api.h"
#include "jira_client.h"
#include "jira_store.h"


typedef struct {
    jira_client_t        client;
    long long            integration_id;
    char                *base_url;
    char                *plain;          /* opened credentials (JSON) */
    size_t               plain_len;
    void                *creds;          /* json_t * over plain */
    char                 error[256];     /* why loading failed */
} jira_installed_t;


/*
 * Load the client of integration_id, with the default identity of its
 * installation in org_id (0: of its first installation).  JIRA_OK with
 * *found 1: inst->client is ready.  JIRA_OK with *found 0: there is
 * nothing to call Jira with, and inst->error says why ("Identity not
 * found." as Sentry says, or why the credentials cannot be opened).
 * Anything else is a database error.
 */
jira_err_e jira_installed_load(jira_store_t *st, const jira_api_conf_t *conf,
    long long integration_id, long long org_id, jira_installed_t *inst,
    int *found);

/* wipe and free what jira_installed_load() allocated; safe to repeat */
void jira_installed_free(jira_installed_t *inst);


#endif /* _JIRA_INSTALLED_H_INCLUDED_ */
