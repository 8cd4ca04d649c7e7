/*
 * The webhooks at Jira that belong to an integration of this server:
 * which ones are ours, and removing them when the last organization
 * uninstalls the integration.  Shared by setup (which reuses ours) and
 * uninstall (which deletes ours).  No nginx headers here.
 */

#ifndef _JIRA_HOOKS_H_INCLUDED_
#define _JIRA_HOOKS_H_INCLUDED_


#include <stddef.h>

#include <jansson.h>

#include "jira_client.h"


/*
 * The advisory lock class under which setup and uninstall of one
 * external id exclude each other (the key is hashtext(external_id)); the
 * same number as JIRA_SETUP_LOCK_CLASS in jira_setup.c, "jira" in ASCII.
 */
#define JIRA_HOOKS_LOCK_CLASS        "1785295457"


/* what jira_hooks_remove() did */
typedef struct {
    int                  major;          /* Jira's major version, or 0 */
    size_t               found;          /* webhooks of ours at Jira */
    size_t               removed;        /* of those, deleted */
    char                 failed_id[64];  /* the first one not deleted */
} jira_hooks_removal_t;


/*
 * A webhook as Jira lists it is ours when its URL is under public_url
 * (jira_sync_public_url, no trailing slash) followed by the webhook path,
 * and the token there names external_id in its "id" claim.  The
 * signature is not checked: it may be under an older secret.  Returns 1
 * or 0.
 */
int jira_hooks_is_ours(const char *public_url, json_t *hook,
    const char *external_id);

/*
 * serverInfo, the webhook list, and a DELETE for every webhook of ours.
 * Deleting goes on after a failure; the first failure is in err (and
 * rm->failed_id names its webhook, empty when the list itself failed).
 * Returns 0 when every webhook of ours is gone (also when there was
 * none), -1 otherwise.
 */
int jira_hooks_remove(const jira_client_t *c, const char *public_url,
    const char *external_id, jira_hooks_removal_t *rm,
    jira_client_error_t *err);


#endif /* _JIRA_HOOKS_H_INCLUDED_ */
