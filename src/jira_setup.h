/*
 * Jira Server integration setup, as Sentry's API pipeline does it
 * (reference: sentry-behaviour.md §1): installation data, the OAuth 1.0a
 * dance or a Personal Access Token, and build_integration, which
 * registers the Jira webhook before anything is written and then
 * persists the integration in one transaction.  No nginx headers here.
 */

#ifndef _JIRA_SETUP_H_INCLUDED_
#define _JIRA_SETUP_H_INCLUDED_


#include "jira_api.h"


/* the path of the browser callback under jira_sync_public_url */
#define JIRA_SETUP_CALLBACK_PATH  "/extensions/jira-server/setup/callback/"

/* and of the webhook Jira posts issue changes to */
#define JIRA_SETUP_WEBHOOK_PATH   "/extensions/jira-server/issue-updated/"

#define JIRA_SETUP_WEBHOOK_NAME   "Sentry Issue Sync"


/*
 * POST /api/0/organizations/{org}/integrations/jira-server/setup/
 * (org:integrations): the steps installation_config and oauth_callback.
 */
void jira_setup_pipeline(const jira_api_in_t *in, jira_api_out_t *out);

/*
 * GET /extensions/jira-server/setup/callback/?oauth_token=...: where Jira
 * sends the operator's browser after approval.  No bearer token: the
 * pipeline is found by its request token, single-use and expiring.
 * Answers a small HTML page.
 */
void jira_setup_callback(const jira_api_in_t *in, jira_api_out_t *out);


#endif /* _JIRA_SETUP_H_INCLUDED_ */
