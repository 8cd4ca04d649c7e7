/*
 * The "jira:issue_updated" webhook body: only what the assignee and status
 * sync read.  A shape that would make Sentry's handler raise (KeyError,
 * AttributeError) is INVALID here, except that odd changelog items are
 * skipped rather than fatal.
 */


#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "jira_payload.h"


static jira_payload_rc_e jira_payload_issue(jira_payload_t *p, json_t *root);
static int jira_json_truthy(json_t *v);
static const char *jira_json_string(json_t *obj, const char *key);
static void jira_payload_clear(jira_payload_t *p);


jira_payload_rc_e
jira_payload_parse(const char *body, size_t len, jira_payload_t *p)
{
    size_t              i;
    json_t             *root, *changelog, *items, *item, *field, *v;
    const char         *name;
    json_error_t        err;
    unsigned char      *c;
    jira_payload_rc_e   rc;

    memset(p, 0, sizeof(jira_payload_t));

    /* Jira sends no body at all when the webhook excludes it */

    if (len == 0) {
        body = "{}";
        len = 2;
    }

    root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                      &err);
    if (root == NULL) {
        if (snprintf(p->error, sizeof(p->error),
                     "JSON parse error - %s at line %d column %d",
                     err.text, err.line, err.column)
            < 0)
        {
            p->error[0] = '\0';
        }

        /* jansson quotes input near the error: keep logs plain ASCII */

        for (c = (unsigned char *) p->error; *c != '\0'; c++) {
            if (*c < 0x20 || *c > 0x7e) {
                *c = '?';
            }
        }

        return JIRA_PAYLOAD_NOT_JSON;
    }

    if (!json_is_object(root)) {
        json_decref(root);
        (void) snprintf(p->error, sizeof(p->error),
                        "Request body must be a JSON object.");
        return JIRA_PAYLOAD_NOT_OBJECT;
    }

    p->root = root;

    v = json_object_get(root, "timestamp");
    if (json_is_integer(v)) {
        p->timestamp = (long long) json_integer_value(v);
    }

    /* Sentry: "if not request.data.get("changelog")" */

    changelog = json_object_get(root, "changelog");

    if (!jira_json_truthy(changelog)) {
        (void) jira_payload_issue(p, root);
        return JIRA_PAYLOAD_OK;
    }

    if (!json_is_object(changelog)) {
        rc = JIRA_PAYLOAD_INVALID;
        (void) snprintf(p->error, sizeof(p->error),
                        "changelog must be an object");
        goto failed;
    }

    p->has_changelog = 1;

    v = json_object_get(changelog, "id");

    if (json_is_string(v)) {
        p->changelog_id = json_string_value(v);

    } else if (json_is_integer(v)) {
        (void) snprintf(p->changelog_id_buf, sizeof(p->changelog_id_buf),
                        "%lld", (long long) json_integer_value(v));
        p->changelog_id = p->changelog_id_buf;
    }

    items = json_object_get(changelog, "items");

    if (items != NULL && !json_is_null(items)) {

        if (!json_is_array(items)) {
            rc = JIRA_PAYLOAD_INVALID;
            (void) snprintf(p->error, sizeof(p->error),
                            "changelog.items must be an array");
            goto failed;
        }

        p->has_items = (json_array_size(items) != 0);

        json_array_foreach(items, i, item) {

            if (!json_is_object(item)) {
                continue;
            }

            field = json_object_get(item, "field");
            if (!json_is_string(field)) {
                continue;
            }

            name = json_string_value(field);

            if (strcmp(name, "assignee") == 0) {
                if (!p->assignee_changed) {
                    p->assignee_changed = 1;
                    p->assignee_to = jira_json_string(item, "to");
                }

            } else if (strcmp(name, "status") == 0 && !p->status_changed) {
                p->status_changed = 1;
                p->status_from = jira_json_string(item, "from");
                p->status_to = jira_json_string(item, "to");
            }
        }
    }

    rc = jira_payload_issue(p, root);

    if (rc == JIRA_PAYLOAD_OK) {
        return JIRA_PAYLOAD_OK;
    }

failed:

    jira_payload_clear(p);

    return rc;
}


void
jira_payload_free(jira_payload_t *p)
{
    if (p == NULL) {
        return;
    }

    jira_payload_clear(p);
}


/*
 * Reads issue.key, issue.fields.updated and issue.fields.assignee.  Their
 * shape matters only when an assignee or status item makes Sentry read
 * them, and the assignee's only for an assignee item; otherwise whatever
 * has the right shape is filled in and the rest is left NULL.
 */

static jira_payload_rc_e
jira_payload_issue(jira_payload_t *p, json_t *root)
{
    int          strict;
    json_t      *issue, *fields, *key, *assignee;
    const char  *email;

    strict = p->assignee_changed || p->status_changed;

    issue = json_object_get(root, "issue");
    if (!json_is_object(issue)) {
        if (strict) {
            (void) snprintf(p->error, sizeof(p->error),
                            "issue must be an object");
            return JIRA_PAYLOAD_INVALID;
        }

        return JIRA_PAYLOAD_OK;
    }

    fields = json_object_get(issue, "fields");
    if (!json_is_object(fields)) {
        if (strict) {
            (void) snprintf(p->error, sizeof(p->error),
                            "issue.fields must be an object");
            return JIRA_PAYLOAD_INVALID;
        }

        fields = NULL;
    }

    key = json_object_get(issue, "key");

    if (json_is_string(key) && json_string_length(key) != 0) {
        p->issue_key = json_string_value(key);

    } else if (strict) {
        (void) snprintf(p->error, sizeof(p->error),
                        "issue.key must be a non-empty string");
        return JIRA_PAYLOAD_INVALID;
    }

    if (fields == NULL) {
        return JIRA_PAYLOAD_OK;
    }

    p->updated = jira_json_string(fields, "updated");

    assignee = json_object_get(fields, "assignee");

    if (assignee == NULL || json_is_null(assignee)) {
        return JIRA_PAYLOAD_OK;
    }

    if (!json_is_object(assignee)) {
        if (p->assignee_changed) {
            (void) snprintf(p->error, sizeof(p->error),
                            "issue.fields.assignee must be an object or null");
            return JIRA_PAYLOAD_INVALID;
        }

        return JIRA_PAYLOAD_OK;
    }

    p->has_assignee = 1;
    p->assignee_name = jira_json_string(assignee, "name");
    p->assignee_key = jira_json_string(assignee, "key");

    /* Sentry: "if not email" treats "" as missing */

    email = jira_json_string(assignee, "emailAddress");
    if (email != NULL && email[0] != '\0') {
        p->assignee_email = email;
    }

    return JIRA_PAYLOAD_OK;
}


/* Python truthiness of a JSON value; NULL (absent) is false */

static int
jira_json_truthy(json_t *v)
{
    if (v == NULL) {
        return 0;
    }

    switch (json_typeof(v)) {

    case JSON_OBJECT:
        return json_object_size(v) != 0;

    case JSON_ARRAY:
        return json_array_size(v) != 0;

    case JSON_STRING:
        return json_string_length(v) != 0;

    case JSON_INTEGER:
        return json_integer_value(v) != 0;

    case JSON_REAL:
        return json_real_value(v) != 0.0;

    case JSON_TRUE:
        return 1;

    default: /* JSON_FALSE, JSON_NULL */
        return 0;
    }
}


static const char *
jira_json_string(json_t *obj, const char *key)
{
    json_t  *v;

    v = json_object_get(obj, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}


/* drops the document and every pointer into it, keeps error */

static void
jira_payload_clear(jira_payload_t *p)
{
    if (p->root != NULL) {
        json_decref((json_t *) p->root);
    }

    p->root = NULL;

    p->has_changelog = 0;
    p->has_items = 0;
    p->assignee_changed = 0;
    p->status_changed = 0;
    p->has_assignee = 0;

    p->issue_key = NULL;
    p->assignee_email = NULL;
    p->assignee_name = NULL;
    p->assignee_key = NULL;
    p->changelog_id = NULL;
    p->assignee_to = NULL;
    p->status_from = NULL;
    p->status_to = NULL;
    p->updated = NULL;
    p->timestamp = 0;
    p->changelog_id_buf[0] = '\0';
}
