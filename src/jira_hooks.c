/*
 * Webhooks of ours at Jira (reference: SPEC §4 "Setup" and
 * "Integrations"): a webhook is recognised by its URL, never by its name,
 * which a Jira administrator may change and which other tools may share.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jira_hooks.h"
#include "jira_jwt.h"
#include "jira_setup.h"


int
jira_hooks_is_ours(const char *public_url, json_t *hook,
    const char *external_id)
{
    char         id[JIRA_JWT_MAX_ID_LEN];
    size_t       plen, ulen, len;
    json_t      *v;
    const char  *url, *token, *end;

    if (public_url == NULL || external_id == NULL) {
        return 0;
    }

    v = json_object_get(hook, "url");
    if (!json_is_string(v)) {
        return 0;
    }

    url = json_string_value(v);

    /* {public_url}/extensions/jira-server/issue-updated/{token}/ */
    ulen = strlen(public_url);
    plen = sizeof(JIRA_SETUP_WEBHOOK_PATH) - 1;

    if (strncmp(url, public_url, ulen) != 0
        || strncmp(url + ulen, JIRA_SETUP_WEBHOOK_PATH, plen) != 0)
    {
        return 0;
    }

    token = url + ulen + plen;
    end = token + strcspn(token, "/?#");
    len = end - token;

    if (len == 0 || jira_jwt_peek_id(token, len, id, sizeof(id)) != NULL) {
        return 0;
    }

    return strcmp(id, external_id) == 0;
}


int
jira_hooks_remove(const jira_client_t *c, const char *public_url,
    const char *external_id, jira_hooks_removal_t *rm,
    jira_client_error_t *err)
{
    int                   rc;
    char                  id[64];
    size_t                i;
    json_t               *list, *item;
    jira_client_error_t   derr;

    memset(rm, 0, sizeof(jira_hooks_removal_t));
    memset(err, 0, sizeof(jira_client_error_t));

    if (jira_client_server_major(c, &rm->major, err) != 0) {
        return -1;
    }

    if (jira_client_webhooks(c, rm->major, &list, err) != 0) {
        return -1;
    }

    rc = 0;

    json_array_foreach(list, i, item) {
        if (!jira_hooks_is_ours(public_url, item, external_id)) {
            continue;
        }

        rm->found++;

        if (jira_client_webhook_id(item, id, sizeof(id)) == NULL) {
            /* listed without a usable id: it cannot be addressed */
            if (rc == 0) {
                (void) snprintf(rm->failed_id, sizeof(rm->failed_id), "-");
                err->http_err = JIRA_HTTP_OK;
                (void) snprintf(err->text, sizeof(err->text),
                                "the webhook list names no id for it");
                rc = -1;
            }

            continue;
        }

        if (jira_client_webhook_delete(c, rm->major, id, &derr) == 0) {
            rm->removed++;
            continue;
        }

        if (rc == 0) {
            (void) snprintf(rm->failed_id, sizeof(rm->failed_id), "%s", id);
            *err = derr;
            rc = -1;
        }
    }

    json_decref(list);

    return rc;
}
