/*
 * JiraServerIssueUpdatedWebhook.post after the token's claims were read
 * (reference: sentry-behaviour.md §2).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "jira_guard.h"
#include "jira_jwt.h"
#include "jira_payload.h"
#include "jira_time.h"
#include "jira_webhook.h"


#define JIRA_WEBHOOK_TRIES  3
#define JIRA_INTEGRATION_ACTIVE  0


typedef struct {
    long long    id;
    int          status;
    char        *secret;
} jira_webhook_integration_t;


static jira_err_e jira_webhook_integration(jira_store_t *st,
    const char *external_id, jira_webhook_integration_t *integration,
    int *found);
static void jira_webhook_assignee(jira_store_t *st,
    const jira_webhook_in_t *in, const jira_payload_t *p,
    jira_webhook_out_t *out);
static void jira_webhook_fail(jira_webhook_out_t *out, jira_err_e err);
static void jira_webhook_wipe(char *secret);


const jira_stmt_t  jira_webhook_integration_stmt = {
    "jira_webhook_integration",
    "SELECT id AS integration_id, status,"
    "       metadata ->> 'webhook_secret' AS webhook_secret"
    "  FROM integration"
    " WHERE provider = 'jira_server' AND external_id = $1"
};


void
jira_webhook_process(const jira_webhook_in_t *in, jira_webhook_out_t *out)
{
    int                          found;
    const char                  *reason;
    jira_err_e                   err;
    jira_store_t                *st;
    jira_payload_t               p;
    jira_payload_rc_e            rc;
    jira_webhook_integration_t   integration;

    out->status = 500;
    out->err = JIRA_OK;

    st = NULL;

    if (in->verified) {
        integration.id = in->integration_id;
        integration.status = in->integration_status;

    } else {
        /* token step 4: the integration named by the token */

        st = jira_store_thread(in->store, &err);
        if (st == NULL) {
            jira_webhook_fail(out, err);
            return;
        }

        err = jira_webhook_integration(st, in->external_id, &integration,
                                       &found);
        if (err != JIRA_OK) {
            jira_webhook_fail(out, err);
            return;
        }

        if (!found) {
            out->status = 400;
            out->token_error = 1;
            (void) snprintf(out->detail, sizeof(out->detail), "%s",
                            JIRA_JWT_NO_INTEGRATION);
            return;
        }

        /* token step 5: the signature, under the integration's secret */

        if (integration.secret == NULL) {
            reason = "Signature verification failed";

        } else {
            reason = jira_jwt_verify_hs256(in->token, in->token_len,
                                           integration.secret,
                                           strlen(integration.secret),
                                           in->now);

            /* the event loop caches what it may verify later tokens with */
            if (strlen(integration.secret) < sizeof(out->secret)) {
                memcpy(out->secret, integration.secret,
                       strlen(integration.secret) + 1);
                out->fetched = 1;
            }

            jira_webhook_wipe(integration.secret);
        }

        free(integration.secret);

        out->integration_id = integration.id;
        out->integration_status = integration.status;

        if (reason != NULL) {
            out->status = 400;
            out->token_error = 1;
            (void) snprintf(out->detail, sizeof(out->detail),
                            "Could not validate JWT. Got %s", reason);
            return;
        }
    }

    out->integration_id = integration.id;

    if (integration.status != JIRA_INTEGRATION_ACTIVE) {
        jira_log(&out->log, JIRA_LOG_INFO,
                 "integration-inactive integration_id=%lld status=%d:"
                 " webhook ignored", integration.id, integration.status);
        out->status = 200;
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

    if (p.assignee_changed) {
        if (st == NULL) {
            st = jira_store_thread(in->store, &err);
        }

        if (st == NULL) {
            jira_webhook_fail(out, err);

        } else {
            jira_webhook_assignee(st, in, &p, out);
        }
    }

    jira_payload_free(&p);
}


static void
jira_webhook_assignee(jira_store_t *st, const jira_webhook_in_t *in,
    const jira_payload_t *p, jira_webhook_out_t *out)
{
    int            try;
    size_t         logged;
    long long      event_ms;
    jira_err_e     err;
    const char    *email;
    jira_guard_t   guard;

    if (p->has_assignee) {
        email = p->assignee_email;

        if (email == NULL) {
            jira_log(&out->log, JIRA_LOG_INFO,
                     "missing-assignee-email issue_key=\"%s\""
                     " integration_id=%lld", p->issue_key,
                     out->integration_id);
            return;
        }

    } else {
        email = NULL;
    }

    /* the change's time: when the issue was updated, else when Jira sent
       it; neither means no ordering guard, as in Sentry */
    event_ms = jira_time_parse_ms(p->updated);
    if (event_ms < 0 && p->timestamp > 0) {
        event_ms = p->timestamp;
    }

    logged = out->log.n;

    for (try = 1; /* void */; try++) {
        memset(&out->changes, 0, sizeof(out->changes));
        out->log.n = logged;

        err = jira_store_begin(st);

        if (err == JIRA_OK) {
            err = jira_guard_delivery(st, out->integration_id, p->issue_key,
                                      event_ms, p->changelog_id, &guard);
        }

        if (err == JIRA_OK && guard.duplicate) {
            jira_log(&out->log, JIRA_LOG_INFO,
                     "duplicate-delivery integration_id=%lld"
                     " issue_key=\"%s\" changelog_id=\"%s\": already"
                     " applied", out->integration_id, p->issue_key,
                     p->changelog_id);

        } else if (err == JIRA_OK) {
            if (strcmp(guard.stale, "{}") != 0) {
                jira_log(&out->log, JIRA_LOG_INFO,
                         "stale-event integration_id=%lld issue_key=\"%s\""
                         " organizations=%s: a newer change was applied",
                         out->integration_id, p->issue_key, guard.stale);
            }

            err = jira_sync_assignee_inbound(st, out->integration_id, email,
                                             p->issue_key,
                                             p->has_assignee, guard.stale,
                                             &out->log, &out->changes);
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

    if (PQntuples(res) == 1) {
        *found = 1;
        integration->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        integration->status = atoi(PQgetvalue(res, 0, 1));

        if (!PQgetisnull(res, 0, 2)) {
            integration->secret = strdup(PQgetvalue(res, 0, 2));
            if (integration->secret == NULL) {
                PQclear(res);
                return JIRA_EDB;
            }
        }
    }

    PQclear(res);

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
