/*
 * Projects: create, rename and delete (Sentry's Project.save and
 * Project.delete, reference: sentry-behaviour.md §5), as /api/0/
 * endpoints on a pool thread.  No nginx headers here.
 */

#ifndef _JIRA_PROJECT_H_INCLUDED_
#define _JIRA_PROJECT_H_INCLUDED_


#include "jira_api.h"


/* RegionOutbox: OutboxScope.ORGANIZATION_SCOPE, OutboxCategory */
#define JIRA_OUTBOX_SCOPE_ORGANIZATION    0
#define JIRA_OUTBOX_PROJECT_UPDATE        8

#define JIRA_PROJECT_NAME_MAX             200


/* POST teams/{org}/{team}/projects/: {"name", "slug"?} -> 201 */
void jira_project_create(const jira_api_in_t *in, jira_api_out_t *out);

/* PUT projects/{org}/{slug}/: {"name"?, "slug"?} -> 200 */
void jira_project_update(const jira_api_in_t *in, jira_api_out_t *out);

/* DELETE projects/{org}/{slug}/ -> 204 */
void jira_project_delete(const jira_api_in_t *in, jira_api_out_t *out);

/* projects/{org}/{slug}/: PUT or DELETE, for the route table */
void jira_project_details(const jira_api_in_t *in, jira_api_out_t *out);


#endif /* _JIRA_PROJECT_H_INCLUDED_ */
