/*
 * JiraServerIssueUpdatedWebhook.post after the token's claims were read
 * (reference: sentry-behaviour.md §2).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "jira_guard.h"
#include "jira_installed.h"
#include "jira_jwt.h"
#include "jira_payload.h"
#include "jira_status.h"
#include "jira_time.h"
#include "jira_users.h"
#include "jira_webhook.h"


#define JIRA_WEBHOOK_TRIES  3
#define JIRA_INTEGRATION_ACTIVE  0


typedef struct {
    long long    id;
    int          status;
    char        *secret;
} jira_webhook_integration_t;


/* what the transaction applies, decided before it begins */
typedef struct {
    unsigned                assignee:1;     /* the assignee change */
    const char             *email;          /* NULL: deassign */
    jira_status_action_e    status;         /* resolve, unresolve or NOOP */
    char                    email_buf[JIRA_USER_EMAIL_LEN];
} jira_webhook_plan_t;


/* the integration's Jira client, loaded when a call first needs it */
typedef struct {
    unsigned                tried:1;
    unsigned                found:1;
    jira_installed_t        inst;
} jira_webhook_jira_t;


static jira_err_e jira_webhook_integration(jira_store_t *st,
    const char *external_id, jira_webhook_integration_t *integration,
    int *found);
static jira_err_e jira_webhook_integration_read(PGresult *res,
    jira_webhook_integration_t *integration, int *found);
static int jira_webhook_check(jira_store_t *st, const jira_webhook_in_t *in,
    jira_webhook_out_t *out, jira_webhook_integration_t *integration);
static int jira_webhook_verify(const jira_webhook_in_t *in,
    jira_webhook_out_t *out, jira_webhook_integration_t *integration,
    int found);
static int jira_webhook_recheck(const jira_webhook_in_t *in,
    jira_webhook_out_t *out, PGresult *res);
static int jira_webhook_admit(jira_store_t *st, const jira_webhook_in_t *in,
    jira_webhook_out_t *out);
static int jira_webhook_inactive(jira_webhook_out_t *out,
    const jira_webhook_integration_t *integration);
static int jira_webhook_plain(const jira_payload_t *p);
static jira_err_e jira_webhook_plan(jira_store_t *st,
    const jira_webhook_in_t *in, const jira_payload_t *p,
    jira_webhook_out_t *out, jira_webhook_plan_t *plan);
static jira_err_e jira_webhook_linked(jira_store_t *st,
    long long integration_id, const jira_payload_t *p, int *duplicate,
    int *assignee, int *status);
static jira_err_e jira_webhook_email(jira_store_t *st,
    const jira_webhook_in_t *in, const jira_payload_t *p,
    jira_webhook_jira_t *jira, jira_webhook_out_t *out,
    jira_webhook_plan_t *plan);
static jira_err_e jira_webhook_categories(jira_store_t *st,
    const jira_webhook_in_t *in, const jira_payload_t *p,
    jira_webhook_jira_t *jira, jira_webhook_out_t *out,
    jira_webhook_plan_t *plan);
static jira_err_e jira_webhook_client(jira_store_t *st,
    const jira_webhook_in_t *in, long long integration_id,
    jira_webhook_jira_t *jira);
static int jira_webhook_transient(const jira_client_error_t *cerr);
static void jira_webhook_unreachable(jira_webhook_out_t *out,
    const jira_payload_t *p, const char *call,
    const jira_client_error_t *cerr);
static void jira_webhook_apply(jira_store_t *st, const jira_webhook_in_t *in,
    const jira_payload_t *p, const jira_webhook_plan_t *plan,
    jira_webhook_out_t *out, int check);
static void jira_webhook_fail(jira_webhook_out_t *out, jira_err_e err);
static void jira_webhook_wipe(char *secret);


const jira_stmt_t  jira_webhook_integration_stmt = {
    "jira_webhook_integration",
    "SELECT id AS integration_id, status,"
    "       metadata ->> 'webhook_secret' AS webhook_secret"
    "  FROM integration"
    " WHERE provider = 'jira_server' AND external_id = $1"
};


/*
 * Before any call to Jira, outside the transaction: was this changelog
 * applied already, and has an assignee or a status change any group to
 * go to (the rules of jira_sync_groups_stmt and jira_status.c)?  Jira is
 * asked nothing for an issue that is linked nowhere, as most are.
 * $1 integration, $2 issue key, $3 changelog id (NULL: none).
 */
static const jira_stmt_t  jira_webhook_linked_stmt = {
    "jira_webhook_linked",
    "WITH ois AS ("
    "  SELECT oi.organization_id,"
    "         o.integrations_issue_sync"
    "         AND coalesce(oi.config -> 'sync_reverse_assignment'"
    "                      = 'true'::jsonb, false) AS assignee,"
    "         o.integrations_issue_sync"
    "         AND coalesce(oi.config -> 'sync_status_reverse'"
    "                      = 'true'::jsonb, false) AS status"
    "    FROM organization_integration oi"
    "    JOIN organization o ON o.id = oi.organization_id"
    "   WHERE oi.integration_id = $1::bigint),"
    " orgs AS ("
    "  SELECT DISTINCT p.organization_id"
    "    FROM external_issue ei"
    "    JOIN group_link gl ON gl.linked_id = ei.id"
    "    JOIN issue_group g ON g.id = gl.group_id"
    "    JOIN project p ON p.id = g.project_id"
    "   WHERE ei.integration_id = $1::bigint AND ei.key = $2::text"
    "     AND ei.organization_id IN (SELECT organization_id FROM ois))"
    " SELECT EXISTS (SELECT 1 FROM webhook_delivery"
    "                 WHERE integration_id = $1::bigint"
    "                   AND changelog_id = $3::text),"
    "        EXISTS (SELECT 1 FROM orgs JOIN ois USING (organization_id)"
    "                 WHERE ois.assignee),"
    "        EXISTS (SELECT 1 FROM orgs JOIN ois USING (organization_id)"
    "                 WHERE ois.status)"
};


void
jira_webhook_process(const jira_webhook_in_t *in, jira_webhook_out_t *out)
{
    int                          check;
    jira_err_e                   err;
    jira_store_t                *st;
    jira_payload_t               p;
    jira_payload_rc_e            rc;
    jira_webhook_plan_t          plan;
    jira_webhook_integration_t   integration;

    out->status = 500;
    out->err = JIRA_OK;

    st = NULL;
    check = 0;

    if (in->verified) {
        integration.id = in->integration_id;
        integration.status = in->integration_status;

    } else {
        st = jira_store_thread(in->store, &err);
        if (st == NULL) {
            jira_webhook_fail(out, err);
            return;
        }

        if (jira_webhook_check(st, in, out, &integration) != 0) {
            return;
        }
    }

    out->integration_id = integration.id;

    if (jira_webhook_inactive(out, &integration)) {
        return;
    }

    rc = jira_payload_parse(in->body, in->body_len, &p);

    if (rc != JIRA_PAYLOAD_OK) {
        out->status = 400;
        (void) snprintf(out->detail, sizeof(out->detail), "%s", p.error);
        jira_payload_free(&p);
        return;
    }

    if (!p.has_changelog || !p.has_items) {
        jira_log(&out->log, JIRA_LOG_INFO,
                 "missing-changelog integration_id=%lld", integration.id);
        out->status = 200;
        jira_payload_free(&p);
        return;
    }

    out->status = 200;

    if (!p.assignee_changed && !p.status_changed) {
        jira_payload_free(&p);
        return;
    }

    if (st == NULL) {
        st = jira_store_thread(in->store, &err);
        if (st == NULL) {
            jira_webhook_fail(out, err);
            jira_payload_free(&p);
            return;
        }

        /*
         * The token was verified in the event loop with a cached secret,
         * which another node may have replaced since: before anything is
         * read for or applied by this change, check the token against
         * the secret in PostgreSQL.  Deliveries that change nothing need
         * no such check, and no database at all.  A change that needs
         * nothing read before its transaction has the check sent with
         * the transaction's first statement, and undone if it fails.
         */
        check = jira_webhook_plain(&p);

        if (!check && jira_webhook_admit(st, in, out) != 0) {
            jira_payload_free(&p);
            return;
        }
    }

    if (jira_webhook_plan(st, in, &p, out, &plan) == JIRA_OK
        && out->status == 200
        && (plan.assignee || plan.status != JIRA_STATUS_NOOP))
    {
        jira_webhook_apply(st, in, &p, &plan, out, check);
    }

    jira_payload_free(&p);
}


/*
 * Token steps 4 and 5 against PostgreSQL: the integration named by the
 * token, and the signature under its secret, which is handed to the
 * event loop to cache.  Returns 0, or -1 with out answered.
 */

static int
jira_webhook_check(jira_store_t *st, const jira_webhook_in_t *in,
    jira_webhook_out_t *out, jira_webhook_integration_t *integration)
{
    int          found;
    jira_err_e   err;

    err = jira_webhook_integration(st, in->external_id, integration,
                                   &found);
    if (err != JIRA_OK) {
        jira_webhook_fail(out, err);
        return -1;
    }

    return jira_webhook_verify(in, out, integration, found);
}


static int
jira_webhook_verify(const jira_webhook_in_t *in, jira_webhook_out_t *out,
    jira_webhook_integration_t *integration, int found)
{
    size_t       len;
    const char  *reason;

    if (!found) {
        out->status = 400;
        out->token_error = 1;
        (void) snprintf(out->detail, sizeof(out->detail), "%s",
                        JIRA_JWT_NO_INTEGRATION);
        return -1;
    }

    if (integration->secret == NULL) {
        reason = "Signature verification failed";

    } else {
        len = strlen(integration->secret);
        reason = jira_jwt_verify_hs256(in->token, in->token_len,
                                       integration->secret, len, in->now);

        /* the event loop caches what it may verify later tokens with */
        if (len < sizeof(out->secret)) {
            memcpy(out->secret, integration->secret, len + 1);
            out->fetched = 1;
        }

        jira_webhook_wipe(integration->secret);
        free(integration->secret);
        integration->secret = NULL;
    }

    out->integration_id = integration->id;
    out->integration_status = integration->status;

    if (reason != NULL) {
        out->status = 400;
        out->token_error = 1;
        (void) snprintf(out->detail, sizeof(out->detail),
                        "Could not validate JWT. Got %s", reason);
        return -1;
    }

    return 0;
}


/*
 * The token check of a verified-by-cache token, sent with the guard:
 * 0 when it holds for the integration the guard ran for, 1 when the
 * integration was replaced under the same name (the transaction runs
 * again for the new one), -1 with out answered.
 */

static int
jira_webhook_recheck(const jira_webhook_in_t *in, jira_webhook_out_t *out,
    PGresult *res)
{
    int                          found;
    long long                    id;
    jira_err_e                   err;
    jira_webhook_integration_t   integration;

    id = out->integration_id;

    err = jira_webhook_integration_read(res, &integration, &found);
    PQclear(res);

    if (err != JIRA_OK) {
        jira_webhook_fail(out, err);
        return -1;
    }

    if (jira_webhook_verify(in, out, &integration, found) != 0
        || jira_webhook_inactive(out, &integration))
    {
        return -1;
    }

    return integration.id != id;
}


/* the token check alone, and the integration active: 0, or -1 answered */

static int
jira_webhook_admit(jira_store_t *st, const jira_webhook_in_t *in,
    jira_webhook_out_t *out)
{
    jira_webhook_integration_t  integration;

    if (jira_webhook_check(st, in, out, &integration) != 0
        || jira_webhook_inactive(out, &integration))
    {
        return -1;
    }

    return 0;
}


/* an integration that is not active takes no change: 200, logged */

static int
jira_webhook_inactive(jira_webhook_out_t *out,
    const jira_webhook_integration_t *integration)
{
    if (integration->status == JIRA_INTEGRATION_ACTIVE) {
        return 0;
    }

    jira_log(&out->log, JIRA_LOG_INFO,
             "integration-inactive integration_id=%lld status=%d:"
             " webhook ignored", integration->id, integration->status);
    out->status = 200;

    return 1;
}


/* nothing to read before the transaction: no Jira call, no link check */

static int
jira_webhook_plain(const jira_payload_t *p)
{
    return !p->status_changed
           && !(p->assignee_changed && p->has_assignee
                && p->assignee_email == NULL);
}


/*
 * Everything that needs Jira happens here, before the transaction, so
 * that no row lock is held over a network call.  Jira unreachable means
 * 503 with nothing applied; Jira refusing (credentials revoked, say)
 * leaves that change out and logs why, and the rest is still applied.
 */

static jira_err_e
jira_webhook_plan(jira_store_t *st, const jira_webhook_in_t *in,
    const jira_payload_t *p, jira_webhook_out_t *out,
    jira_webhook_plan_t *plan)
{
    int                   lookup, duplicate, assignee, status;
    jira_err_e            err;
    jira_webhook_jira_t   jira;

    memset(plan, 0, sizeof(jira_webhook_plan_t));
    plan->status = JIRA_STATUS_NOOP;

    /* Sentry: a null or absent assignee deassigns; an email assigns */

    lookup = p->assignee_changed && p->has_assignee
             && p->assignee_email == NULL;

    if (p->assignee_changed && !lookup) {
        plan->assignee = 1;
        plan->email = p->has_assignee ? p->assignee_email : NULL;
    }

    if (!lookup && !p->status_changed) {
        return JIRA_OK;
    }

    err = jira_webhook_linked(st, out->integration_id, p, &duplicate,
                              &assignee, &status);
    if (err != JIRA_OK) {
        jira_webhook_fail(out, err);
        return err;
    }

    if (duplicate) {
        jira_log(&out->log, JIRA_LOG_INFO,
                 "duplicate-delivery integration_id=%lld"
                 " issue_key=\"%s\" changelog_id=\"%s\": already"
                 " applied", out->integration_id, p->issue_key,
                 p->changelog_id);
        plan->assignee = 0;
        return JIRA_OK;
    }

    memset(&jira, 0, sizeof(jira_webhook_jira_t));
    err = JIRA_OK;

    if (lookup) {
        if (assignee) {
            err = jira_webhook_email(st, in, p, &jira, out, plan);

        } else {
            jira_log(&out->log, JIRA_LOG_INFO,
                     "missing-assignee-email issue_key=\"%s\""
                     " integration_id=%lld", p->issue_key,
                     out->integration_id);
        }
    }

    if (p->status_changed && err == JIRA_OK && out->status == 200) {
        if (status) {
            err = jira_webhook_categories(st, in, p, &jira, out, plan);

        } else {
            jira_log(&out->log, JIRA_LOG_INFO,
                     "no-affected-groups integration_id=%lld"
                     " issue_key=\"%s\" field=status", out->integration_id,
                     p->issue_key);
        }
    }

    /* the opened credentials go before anything else happens */
    jira_installed_free(&jira.inst);

    if (err != JIRA_OK) {
        jira_webhook_fail(out, err);
    }

    return err;
}


static jira_err_e
jira_webhook_linked(jira_store_t *st, long long integration_id,
    const jira_payload_t *p, int *duplicate, int *assignee, int *status)
{
    char         iid[32];
    PGresult    *res;
    jira_err_e   err;
    const char  *values[3];

    *duplicate = 0;
    *assignee = 0;
    *status = 0;

    (void) snprintf(iid, sizeof(iid), "%lld", integration_id);

    values[0] = iid;
    values[1] = p->issue_key;
    values[2] = p->changelog_id;

    res = jira_store_exec(st, &jira_webhook_linked_stmt, 3, values, &err);
    if (res == NULL) {
        return err;
    }

    *duplicate = PQgetvalue(res, 0, 0)[0] == 't';
    *assignee = PQgetvalue(res, 0, 1)[0] == 't';
    *status = PQgetvalue(res, 0, 2)[0] == 't';

    PQclear(res);

    return JIRA_OK;
}


/*
 * Hidden emails: the assignee bean has no "emailAddress", so ask Jira for
 * the user the changelog names (its "to" is the user key), with the
 * integration's credentials.  Without an email nothing changes, as in
 * Sentry: this is not a deassignment.
 */

static jira_err_e
jira_webhook_email(jira_store_t *st, const jira_webhook_in_t *in,
    const jira_payload_t *p, jira_webhook_jira_t *jira,
    jira_webhook_out_t *out, jira_webhook_plan_t *plan)
{
    int                   level;
    char                  text[256];
    jira_err_e            err;
    const char           *key, *reason;
    jira_user_rc_e        rc;
    jira_client_error_t   cerr;

    key = p->assignee_to != NULL ? p->assignee_to : p->assignee_key;

    level = JIRA_LOG_INFO;
    reason = NULL;
    memset(&cerr, 0, sizeof(jira_client_error_t));

    if (key == NULL || key[0] == '\0') {
        key = "";
        reason = "the changelog names no user key";
        goto missing;
    }

    if (!jira_user_cached(out->integration_id, key, in->now, &rc,
                          plan->email_buf, sizeof(plan->email_buf)))
    {
        err = jira_webhook_client(st, in, out->integration_id, jira);
        if (err != JIRA_OK) {
            return err;
        }

        if (!jira->found) {
            level = JIRA_LOG_WARN;
            reason = jira->inst.error;
            goto missing;
        }

        rc = jira_user_fetch(&jira->inst.client, out->integration_id, key,
                             in->now, plan->email_buf,
                             sizeof(plan->email_buf), &cerr);
    }

    switch (rc) {

    case JIRA_USER_EMAIL:
        plan->assignee = 1;
        plan->email = plan->email_buf;
        jira_log(&out->log, JIRA_LOG_INFO,
                 "assignee-email-from-jira issue_key=\"%s\""
                 " integration_id=%lld user_key=\"%s\"", p->issue_key,
                 out->integration_id, key);
        return JIRA_OK;

    case JIRA_USER_NO_EMAIL:
        reason = "Jira shows no email for this user";
        break;

    case JIRA_USER_NOT_FOUND:
        reason = "Jira has no user with this key";
        break;

    default: /* JIRA_USER_ERROR */

        if (jira_webhook_transient(&cerr)) {
            jira_webhook_unreachable(out, p, "GET /rest/api/2/user", &cerr);
            return JIRA_OK;
        }

        level = JIRA_LOG_WARN;
        (void) snprintf(text, sizeof(text),
                        "the user lookup failed: %ld %.200s", cerr.status,
                        cerr.message[0] ? cerr.message : cerr.text);
        reason = text;
    }

missing:

    jira_log(&out->log, level,
             "missing-assignee-email issue_key=\"%s\" integration_id=%lld"
             " user_key=\"%s\" reason=\"%s\"", p->issue_key,
             out->integration_id, key, reason);

    return JIRA_OK;
}


/*
 * get_resolve_sync_action: the "done" category of the old and the new
 * status, from Jira's status list.  An id Jira does not list is never
 * guessed at: nothing changes (Sentry would count it as not done).
 */

static jira_err_e
jira_webhook_categories(jira_store_t *st, const jira_webhook_in_t *in,
    const jira_payload_t *p, jira_webhook_jira_t *jira,
    jira_webhook_out_t *out, jira_webhook_plan_t *plan)
{
    jira_err_e             err;
    jira_client_error_t    cerr;
    jira_status_action_e   action;

    if (jira_status_decide(out->integration_id, p->status_from,
                           p->status_to, in->now, &action)
        != 0)
    {
        err = jira_webhook_client(st, in, out->integration_id, jira);
        if (err != JIRA_OK) {
            return err;
        }

        if (!jira->found) {
            jira_log(&out->log, JIRA_LOG_WARN,
                     "status-sync-failed integration_id=%lld"
                     " issue_key=\"%s\" reason=\"%s\"",
                     out->integration_id, p->issue_key, jira->inst.error);
            return JIRA_OK;
        }

        if (jira_status_fetch(&jira->inst.client, out->integration_id,
                              p->status_from, p->status_to, in->now,
                              &action, &cerr)
            != 0)
        {
            if (jira_webhook_transient(&cerr)) {
                jira_webhook_unreachable(out, p, "GET /rest/api/2/status",
                                         &cerr);
                return JIRA_OK;
            }

            jira_log(&out->log, JIRA_LOG_WARN,
                     "status-sync-failed integration_id=%lld"
                     " issue_key=\"%s\" reason=\"the status list could"
                     " not be read: %ld %.200s\"", out->integration_id,
                     p->issue_key, cerr.status,
                     cerr.message[0] ? cerr.message : cerr.text);
            return JIRA_OK;
        }
    }

    if (action == JIRA_STATUS_UNKNOWN) {
        jira_log(&out->log, JIRA_LOG_INFO,
                 "unknown-status integration_id=%lld issue_key=\"%s\""
                 " from=\"%s\" to=\"%s\": Jira does not list it,"
                 " nothing changed", out->integration_id, p->issue_key,
                 p->status_from ? p->status_from : "",
                 p->status_to ? p->status_to : "");
        return JIRA_OK;
    }

    plan->status = action;

    return JIRA_OK;
}


static jira_err_e
jira_webhook_client(jira_store_t *st, const jira_webhook_in_t *in,
    long long integration_id, jira_webhook_jira_t *jira)
{
    int         found;
    jira_err_e  err;

    if (jira->tried) {
        return JIRA_OK;
    }

    if (in->conf == NULL) {
        jira->tried = 1;
        (void) snprintf(jira->inst.error, sizeof(jira->inst.error),
                        "no Jira client is configured");
        return JIRA_OK;
    }

    err = jira_installed_load(st, in->conf, integration_id, 0, &jira->inst,
                              &found);
    if (err != JIRA_OK) {
        return err;
    }

    jira->tried = 1;
    jira->found = found;

    return JIRA_OK;
}


/* worth a retry by Jira: no answer, or one that says "later" */

static int
jira_webhook_transient(const jira_client_error_t *cerr)
{
    if (cerr->http_err == JIRA_HTTP_ETIMEOUT
        || cerr->http_err == JIRA_HTTP_ECONNECT)
    {
        return 1;
    }

    return cerr->http_err == JIRA_HTTP_OK
           && (cerr->status >= 500 || cerr->status == 429
               || cerr->status == 408);
}


/* nothing was applied yet: 503 asks Jira, or whoever replays, to retry */

static void
jira_webhook_unreachable(jira_webhook_out_t *out, const jira_payload_t *p,
    const char *call, const jira_client_error_t *cerr)
{
    jira_log(&out->log, JIRA_LOG_ERR,
             "jira-unavailable integration_id=%lld issue_key=\"%s\""
             " call=\"%s\" status=%ld error=\"%.200s\": nothing applied",
             out->integration_id, p->issue_key, call, cerr->status,
             cerr->message[0] ? cerr->message : cerr->text);

    out->status = 503;
    out->err = JIRA_EUNAVAIL;
    out->error[0] = '\0';
}


/*
 * The change in one transaction, run again after a deadlock or a
 * serialization failure.  With check, the token check of a cached secret
 * is still to be made: it goes in the first round trip, with BEGIN and
 * the guard.
 */

static void
jira_webhook_apply(jira_store_t *st, const jira_webhook_in_t *in,
    const jira_payload_t *p, const jira_webhook_plan_t *plan,
    jira_webhook_out_t *out, int check)
{
    int            try, rc;
    size_t         logged;
    PGresult      *lookup;
    long long      event_ms;
    jira_err_e     err;
    jira_guard_t   guard;

    /* the change's time: when the issue was updated, else when Jira sent
       it; neither means no ordering guard, as in Sentry.  The watermark
       is the assignee's: a status change neither moves nor obeys it */

    event_ms = -1;

    if (plan->assignee) {
        event_ms = jira_time_parse_ms(p->updated);
        if (event_ms < 0 && p->timestamp > 0) {
            event_ms = p->timestamp;
        }
    }

    logged = out->log.n;

    for (try = 1; /* void */; try++) {
        memset(&out->changes, 0, sizeof(out->changes));
        out->log.n = logged;

        lookup = NULL;
        err = jira_store_begin(st);

        if (err == JIRA_OK && check) {
            err = jira_store_queue(st, &jira_webhook_integration_stmt, 1,
                                   &in->external_id, &lookup);
        }

        if (err == JIRA_OK) {
            err = jira_guard_delivery(st, out->integration_id, p->issue_key,
                                      event_ms, p->changelog_id, &guard);
        }

        /*
         * The guard ran for the integration the cache named.  If that was
         * replaced under the same name, the check tells, or the guard
         * failed on the gone id (a database error, not an outage or a
         * deadlock); then the check alone decides, and the transaction
         * runs again for the integration found, not counted as a try.
         */

        if (lookup != NULL) {
            check = 0;
            rc = jira_webhook_recheck(in, out, lookup);

            if (rc != 0) {
                jira_store_rollback(st);

                if (rc < 0) {
                    return;
                }

                try--;
                continue;
            }

        } else if (check && err == JIRA_EDB) {
            check = 0;
            jira_store_rollback(st);

            if (jira_webhook_admit(st, in, out) != 0) {
                return;
            }

            try--;
            continue;
        }

        if (err == JIRA_OK && guard.duplicate) {
            jira_log(&out->log, JIRA_LOG_INFO,
                     "duplicate-delivery integration_id=%lld"
                     " issue_key=\"%s\" changelog_id=\"%s\": already"
                     " applied", out->integration_id, p->issue_key,
                     p->changelog_id);

        } else if (err == JIRA_OK) {
            if (plan->assignee) {
                if (strcmp(guard.stale, "{}") != 0) {
                    jira_log(&out->log, JIRA_LOG_INFO,
                             "stale-event integration_id=%lld"
                             " issue_key=\"%s\" organizations=%s: a newer"
                             " change was applied", out->integration_id,
                             p->issue_key, guard.stale);
                }

                err = jira_sync_assignee_inbound(st, out->integration_id,
                                                 plan->email, p->issue_key,
                                                 plan->email != NULL,
                                                 guard.stale, &out->log,
                                                 &out->changes);
            }

            if (err == JIRA_OK && plan->status != JIRA_STATUS_NOOP) {
                err = jira_status_inbound(st, out->integration_id,
                                          p->issue_key, plan->status,
                                          &out->log, &out->changes);
            }
        }

        if (err == JIRA_OK) {
            err = jira_store_commit(st);
            if (err == JIRA_OK) {
                return;
            }
        }

        jira_store_rollback(st);
        memset(&out->changes, 0, sizeof(out->changes));

        if (err != JIRA_ERETRY || try == JIRA_WEBHOOK_TRIES) {
            break;
        }
    }

    jira_webhook_fail(out, err);
}


static jira_err_e
jira_webhook_integration(jira_store_t *st, const char *external_id,
    jira_webhook_integration_t *integration, int *found)
{
    PGresult    *res;
    jira_err_e   err;

    *found = 0;
    integration->secret = NULL;

    res = jira_store_exec(st, &jira_webhook_integration_stmt, 1,
                          &external_id, &err);
    if (res == NULL) {
        return err;
    }

    err = jira_webhook_integration_read(res, integration, found);
    PQclear(res);

    return err;
}


static jira_err_e
jira_webhook_integration_read(PGresult *res,
    jira_webhook_integration_t *integration, int *found)
{
    *found = 0;
    integration->secret = NULL;

    if (PQntuples(res) != 1) {
        return JIRA_OK;
    }

    *found = 1;
    integration->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    integration->status = atoi(PQgetvalue(res, 0, 1));

    if (!PQgetisnull(res, 0, 2)) {
        integration->secret = strdup(PQgetvalue(res, 0, 2));
        if (integration->secret == NULL) {
            return JIRA_EDB;
        }
    }

    return JIRA_OK;
}


static void
jira_webhook_fail(jira_webhook_out_t *out, jira_err_e err)
{
    out->err = err;
    out->status = (err == JIRA_EUNAVAIL || err == JIRA_ESCHEMA) ? 503 : 500;

    (void) snprintf(out->error, sizeof(out->error), "%s",
                    jira_store_error());
}


/* secrets do not outlive their use in freed heap memory */

static void
jira_webhook_wipe(char *secret)
{
    OPENSSL_cleanse(secret, strlen(secret));
}
