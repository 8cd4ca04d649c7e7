/*
 * An organization's integrations: the list with their config, the sync
 * switches, and uninstall, which removes our webhook from Jira once no
 * organization uses the integration any more (SPEC §4 "Integrations";
 * Sentry's OrganizationIntegrationsEndpoint and
 * OrganizationIntegrationDetailsEndpoint).  No nginx headers here.
 */

#ifndef _JIRA_INTEGRATIONS_H_INCLUDED_
#define _JIRA_INTEGRATIONS_H_INCLUDED_


#include "jira_api.h"


/*
 * GET organizations/{org}/integrations/ (org:integrations): every
 * integration of the organization, ordered by name; query parameters
 * providerKey and includeConfig=0 as in Sentry.
 */
void jira_integrations_list(const jira_api_in_t *in, jira_api_out_t *out);

/*
 * organizations/{org}/integrations/{id}/ (org:integrations):
 *   GET           the integration as the list shows it;
 *   PUT or POST   {"sync_…": bool, …} merged into the organization
 *                 integration's config -> 200 with the integration;
 *   DELETE        uninstall from the organization -> 204.
 */
void jira_integrations_details(const jira_api_in_t *in,
    jira_api_out_t *out);


#endif /* _JIRA_INTEGRATIONS_H_INCLUDED_ */
