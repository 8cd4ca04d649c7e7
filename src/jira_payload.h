/*
 * The parts of a Jira Server "jira:issue_updated" webhook body that the
 * sync reads.  No nginx headers here.
 */

#ifndef _JIRA_PAYLOAD_H_INCLUDED_
#define _JIRA_PAYLOAD_H_INCLUDED_


#include <stddef.h>


typedef enum {
    JIRA_PAYLOAD_OK = 0,
    JIRA_PAYLOAD_NOT_JSON,        /* not parseable as JSON */
    JIRA_PAYLOAD_NOT_OBJECT,      /* valid JSON, but not an object */
    JIRA_PAYLOAD_INVALID          /* an object of the wrong shape */
} jira_payload_rc_e;


typedef struct {
    void          *root;              /* json_t *, owns every string */

    unsigned       has_changelog:1;   /* "changelog" present and truthy */
    unsigned       has_items:1;       /* changelog.items non-empty array */
    unsigned       assignee_changed:1;
    unsigned       status_changed:1;
    unsigned       has_assignee:1;    /* issue.fields.assignee non-null */

    const char    *issue_key;         /* issue.key */
    const char    *assignee_email;    /* NULL when absent or "" */
    const char    *assignee_name;     /* issue.fields.assignee.name */
    const char    *assignee_key;      /* issue.fields.assignee.key */
    const char    *changelog_id;      /* changelog.id as text, or NULL */

    const char    *assignee_to;       /* first "assignee" item: to (the
                                         Jira user key), or NULL */

    const char    *status_from;       /* first "status" item: from */
    const char    *status_to;         /*   and to (status ids) */

    const char    *updated;           /* issue.fields.updated, or NULL */
    long long      timestamp;         /* top-level "timestamp" ms, or 0 */

    char           changelog_id_buf[32];  /* changelog_id if a number */

    char           error[200];        /* reason when rc != OK */
} jira_payload_t;


/*
 * Parse body (len bytes, not NUL-terminated; len 0 means "{}").
 * Duplicate keys are refused.  On JIRA_PAYLOAD_OK the fields above are
 * set; strings point into root and live until jira_payload_free().
 *
 * Shape rules (Sentry reads data["changelog"]["items"][*]["field"],
 * data["issue"]["fields"], data["issue"]["key"]):
 *   - changelog absent, null, false, 0, "", {} or [] -> has_changelog 0;
 *   - changelog present but not an object -> INVALID;
 *   - items absent or null or [] -> has_items 0; not an array -> INVALID;
 *   - items that are not objects, or whose "field" is not a string, are
 *     skipped;
 *   - an assignee or status item with issue, issue.fields missing or not
 *     objects, or issue.key missing or not a non-empty string -> INVALID;
 *   - fields.assignee absent or null -> has_assignee 0; an object -> 1;
 *     anything else -> INVALID.
 */
jira_payload_rc_e jira_payload_parse(const char *body, size_t len,
    jira_payload_t *p);

void jira_payload_free(jira_payload_t *p);


#endif /* _JIRA_PAYLOAD_H_INCLUDED_ */
