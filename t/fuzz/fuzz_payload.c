/*
 * libFuzzer target for src/jira_payload.c: parse, check the result's
 * invariants, read every string, free twice.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jira_payload.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static size_t fuzz_len(const char *s);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t             total;
    jira_payload_t     p;
    jira_payload_rc_e  rc;

    rc = jira_payload_parse((const char *) data, size, &p);

    if (rc != JIRA_PAYLOAD_OK) {
        if (p.error[0] == '\0' || p.root != NULL || p.issue_key != NULL) {
            abort();
        }

        jira_payload_free(&p);
        jira_payload_free(&p);

        return 0;
    }

    if (p.error[0] != '\0' || p.root == NULL) {
        abort();
    }

    if (p.has_items && !p.has_changelog) {
        abort();
    }

    if ((p.assignee_changed || p.status_changed)
        && (!p.has_items || p.issue_key == NULL || p.issue_key[0] == '\0'))
    {
        abort();
    }

    if (p.assignee_email != NULL
        && (p.assignee_email[0] == '\0' || !p.has_assignee))
    {
        abort();
    }

    if ((p.changelog_id != NULL || p.status_from != NULL
         || p.status_to != NULL)
        && !p.has_changelog)
    {
        abort();
    }

    /* every pointer must be a readable string */

    total = fuzz_len(p.issue_key) + fuzz_len(p.assignee_email)
            + fuzz_len(p.assignee_name) + fuzz_len(p.assignee_key)
            + fuzz_len(p.changelog_id) + fuzz_len(p.status_from)
            + fuzz_len(p.status_to) + fuzz_len(p.updated);

    if (total > size) {
        abort();
    }

    jira_payload_free(&p);
    jira_payload_free(&p);

    if (p.root != NULL || p.issue_key != NULL) {
        abort();
    }

    return 0;
}


static size_t
fuzz_len(const char *s)
{
    return (s == NULL) ? 0 : strlen(s);
}
