/*
 * Outbound assignee sync: JiraServerIntegration.sync_assignee_outbound
 * (reference: sentry-behaviour.md §4) driven by a durable outbox instead
 * of a task queue.
 *
 * Each row is claimed in its own transaction with FOR UPDATE SKIP
 * LOCKED, and only when no earlier row of the same external issue is
 * still pending: two drainers never work on one issue at once, and an
 * issue's changes reach Jira in the order they were made.  The row stays
 * locked while Jira is called, so a drainer that dies releases it with
 * its connection; the outcome is written before COMMIT.  A COMMIT that
 * fails after Jira took the change leaves the row pending, and the same
 * (idempotent) PUT is made again later.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "jira_installed.h"
#include "jira_oauth1.h"
#include "jira_outbox.h"


#define JIRA_OUTBOX_MAX_CLIENTS  8
#define JIRA_OUTBOX_MAX_DOWN     32
#define JIRA_OUTBOX_PATH_LEN     2048
#define JIRA_OUTBOX_LOG_TEXT     200


typedef enum {
    JIRA_OUTBOX_DONE = 0,
    JIRA_OUTBOX_RETRY,           /* may work later */
    JIRA_OUTBOX_FAIL             /* Jira says it cannot be done */
} jira_outbox_outcome_e;


typedef struct {
    long long                 id;
    long long                 integration_id;
    long long                 organization_id;
    long long                 user_id;          /* 0: none */
    int                       assign;
    int                       attempts;
    char                      key[260];
    char                      skip[128];        /* why not any more */
} jira_outbox_row_t;


typedef struct {
    jira_outbox_outcome_e     outcome;
    unsigned                  down:1;           /* Jira unreachable */
    char                      jira_user[256];
    char                      error[JIRA_OUTBOX_ERROR_LEN];
} jira_outbox_try_t;


typedef struct {
    long long                 integration_id;
    long long                 organization_id;
    int                       found;
    jira_installed_t          inst;
} jira_outbox_client_t;


typedef struct {
    const jira_outbox_conf_t *conf;
    jira_store_t             *st;
    jira_outbox_result_t     *res;
    size_t                    nclients;
    jira_outbox_client_t      clients[JIRA_OUTBOX_MAX_CLIENTS];
    size_t                    ndown;
    long long                 down[JIRA_OUTBOX_MAX_DOWN];
} jira_outbox_pass_t;


static int jira_outbox_one(jira_outbox_pass_t *pass);
static jira_err_e jira_outbox_claim(jira_outbox_pass_t *pass,
    jira_outbox_row_t *row, int *found);
static jira_err_e jira_outbox_client(jira_outbox_pass_t *pass,
    const jira_outbox_row_t *row, jira_outbox_client_t **client);
static jira_err_e jira_outbox_deliver(jira_outbox_pass_t *pass,
    const jira_outbox_client_t *client, const jira_outbox_row_t *row,
    jira_outbox_try_t *t);
static jira_err_e jira_outbox_find_user(jira_outbox_pass_t *pass,
    const jira_outbox_client_t *client, const jira_outbox_row_t *row,
    jira_outbox_try_t *t);
static void jira_outbox_jira_error(const jira_outbox_client_t *client,
    const char *what, const jira_client_error_t *err,
    jira_outbox_try_t *t);
static jira_err_e jira_outbox_mark(jira_outbox_pass_t *pass,
    const jira_outbox_row_t *row, const char *status, int attempted,
    const char *error, const char *jira_user, long long delay);
static void jira_outbox_report(jira_outbox_pass_t *pass,
    const jira_outbox_row_t *row, const char *status,
    const jira_outbox_try_t *t, long long delay);
static void jira_outbox_redact(const jira_client_t *c, char *dst,
    size_t size, const char *src);
static size_t jira_outbox_utf8(const unsigned char *p, size_t left);
static void jira_outbox_log_text(char *dst, size_t size, const char *src);
static int jira_outbox_query(char *dst, size_t size, const char *fmt,
    const char *a, const char *b);
static void jira_outbox_fail(jira_outbox_result_t *res, jira_err_e err);
static long long jira_outbox_now_ms(void);


static const jira_stmt_t  jira_outbox_due_stmt = {
    "jira_outbox_due",
    "SELECT EXISTS ("
    "  SELECT 1 FROM assignee_outbox"
    "   WHERE status = 'pending' AND next_attempt_at <= now())"
};


/*
 * The oldest due row of an external issue that has no earlier pending
 * row (an earlier row waiting for its retry holds the later ones back),
 * with the gates Sentry's task checks again at delivery time.  $1 is a
 * bigint[] of integrations to leave alone in this pass.
 */
static const jira_stmt_t  jira_outbox_claim_stmt = {
    "jira_outbox_claim",
    "SELECT o.id, o.integration_id, ei.organization_id, ei.key,"
    "       o.assign, o.user_id, o.attempts,"
    "       CASE WHEN ei.id IS NULL"
    "            THEN 'the external issue no longer exists'"
    "            WHEN i.status <> 0 OR i.provider <> 'jira_server'"
    "            THEN 'the integration is not active'"
    "            WHEN oi.id IS NULL"
    "            THEN 'the integration is not installed in the"
    " organization'"
    "            WHEN NOT org.integrations_issue_sync"
    "            THEN 'the organization''s integrations-issue-sync feature"
    " is off'"
    "            WHEN NOT coalesce(oi.config -> 'sync_forward_assignment'"
    "                              = 'true'::jsonb, false)"
    "            THEN 'sync_forward_assignment is off'"
    "       END"
    "  FROM assignee_outbox o"
    "  JOIN integration i ON i.id = o.integration_id"
    "  LEFT JOIN external_issue ei ON ei.id = o.external_issue_id"
    "  LEFT JOIN organization org ON org.id = ei.organization_id"
    "  LEFT JOIN organization_integration oi"
    "    ON oi.organization_id = ei.organization_id"
    "   AND oi.integration_id = o.integration_id"
    " WHERE o.status = 'pending' AND o.next_attempt_at <= now()"
    "   AND o.integration_id <> ALL ($1::bigint[])"
    "   AND NOT EXISTS ("
    "         SELECT 1 FROM assignee_outbox e"
    "          WHERE e.external_issue_id = o.external_issue_id"
    "            AND e.id < o.id AND e.status = 'pending')"
    " ORDER BY o.id"
    " LIMIT 1"
    "   FOR UPDATE OF o SKIP LOCKED"
};


/* the user's verified addresses, the primary one first */
static const jira_stmt_t  jira_outbox_emails_stmt = {
    "jira_outbox_emails",
    "SELECT ue.email"
    "  FROM user_email ue"
    "  JOIN app_user u ON u.id = ue.user_id"
    " WHERE ue.user_id = $1::bigint AND ue.is_verified"
    " ORDER BY lower(ue.email) = lower(u.email) DESC, ue.id"
    " LIMIT 16"
};


/* $1 row, $2 status, $3 attempts to add, $4 error, $5 Jira user,
   $6 ms until the next attempt */
static const jira_stmt_t  jira_outbox_mark_stmt = {
    "jira_outbox_mark",
    "UPDATE assignee_outbox"
    "   SET status = $2::text, attempts = attempts + $3::integer,"
    "       last_error = $4::text, jira_user = $5::text,"
    "       next_attempt_at = now() + $6::bigint * interval '1 millisecond',"
    "       delivered_at = CASE WHEN $2::text = 'done' THEN now() END,"
    "       updated_at = now()"
    " WHERE id = $1::bigint"
};


/* finished rows older than $1 seconds, a bounded number per pass */
static const jira_stmt_t  jira_outbox_purge_stmt = {
    "jira_outbox_purge",
    "DELETE FROM assignee_outbox"
    " WHERE id IN ("
    "   SELECT id FROM assignee_outbox"
    "    WHERE status IN ('done', 'skipped')"
    "      AND updated_at < now() - $1::bigint * interval '1 second'"
    "    LIMIT 1000)"
};


static const jira_stmt_t  jira_outbox_stats_stmt = {
    "jira_outbox_stats",
    "SELECT count(*) FILTER (WHERE status = 'pending'),"
    "       count(*) FILTER (WHERE status = 'pending'"
    "                          AND next_attempt_at <= now()),"
    "       count(*) FILTER (WHERE status = 'failed'),"
    "       count(*) FILTER (WHERE status = 'dead'),"
    "       coalesce(extract(epoch FROM now() - min(created_at)"
    "                FILTER (WHERE status = 'pending')), 0)"
    "  FROM assignee_outbox"
    " WHERE status IN ('pending', 'failed', 'dead')"
};


void
jira_outbox_drain(const jira_outbox_conf_t *conf, jira_outbox_result_t *res)
{
    int                  i, rc;
    char                 keep[32];
    long                 n;
    size_t               k;
    PGresult            *pg;
    long long            start;
    jira_err_e           err;
    const char          *value;
    jira_outbox_pass_t  *pass;

    memset(res, 0, sizeof(jira_outbox_result_t));

    pass = calloc(1, sizeof(jira_outbox_pass_t));
    if (pass == NULL) {
        res->err = JIRA_EDB;
        (void) snprintf(res->error, sizeof(res->error), "out of memory");
        return;
    }

    pass->conf = conf;
    pass->res = res;

    pass->st = jira_store_thread(conf->api->store, &err);
    if (pass->st == NULL) {
        jira_outbox_fail(res, err);
        goto done;
    }

    if (conf->purge && conf->keep > 0) {
        (void) snprintf(keep, sizeof(keep), "%lld", conf->keep);
        value = keep;

        n = jira_store_run(pass->st, &jira_outbox_purge_stmt, 1, &value,
                           &err);
        if (n < 0) {
            jira_outbox_fail(res, err);
            goto done;
        }

        res->purged = n;
    }

    /* an idle outbox costs one statement, outside any transaction */
    pg = jira_store_exec(pass->st, &jira_outbox_due_stmt, 0, NULL, &err);
    if (pg == NULL) {
        jira_outbox_fail(res, err);
        goto done;
    }

    rc = PQgetvalue(pg, 0, 0)[0] == 't';
    PQclear(pg);

    if (!rc) {
        goto done;
    }

    start = jira_outbox_now_ms();
    rc = 1;

    for (i = 0; i < conf->batch; i++) {
        if (jira_outbox_now_ms() - start >= conf->budget) {
            break;
        }

        rc = jira_outbox_one(pass);
        if (rc <= 0) {
            break;
        }
    }

    /* stopped by the batch size or the time budget, not by an empty or
       failing outbox: more rows may be due */
    res->more = (rc > 0);

done:

    for (k = 0; k < pass->nclients; k++) {
        jira_installed_free(&pass->clients[k].inst);
    }

    free(pass);
}


/* 1: a row was handled, 0: none to take now, -1: database failure */

static int
jira_outbox_one(jira_outbox_pass_t *pass)
{
    int                    found, attempted;
    long long              delay;
    jira_err_e             err;
    const char            *status;
    jira_outbox_row_t      row;
    jira_outbox_try_t      t;
    jira_outbox_client_t  *client;

    err = jira_store_begin(pass->st);
    if (err != JIRA_OK) {
        jira_outbox_fail(pass->res, err);
        return -1;
    }

    err = jira_outbox_claim(pass, &row, &found);
    if (err != JIRA_OK) {
        goto failed;
    }

    if (!found) {
        jira_store_rollback(pass->st);
        return 0;
    }

    memset(&t, 0, sizeof(jira_outbox_try_t));
    delay = 0;
    attempted = 1;

    if (row.skip[0] != '\0') {
        status = "skipped";
        attempted = 0;
        (void) snprintf(t.error, sizeof(t.error), "%s", row.skip);

    } else {
        err = jira_outbox_client(pass, &row, &client);
        if (err != JIRA_OK) {
            goto failed;
        }

        if (!client->found) {
            t.outcome = JIRA_OUTBOX_RETRY;
            (void) snprintf(t.error, sizeof(t.error), "%s",
                            client->inst.error);

        } else {
            err = jira_outbox_deliver(pass, client, &row, &t);
            if (err != JIRA_OK) {
                goto failed;
            }
        }

        switch (t.outcome) {

        case JIRA_OUTBOX_DONE:
            status = "done";
            break;

        case JIRA_OUTBOX_FAIL:
            status = "failed";
            break;

        default:
            if (row.attempts + 1 >= pass->conf->max_attempts) {
                status = "dead";

            } else {
                status = "pending";
                delay = jira_outbox_backoff(pass->conf->backoff,
                                            pass->conf->backoff_max,
                                            row.attempts + 1);
            }
        }
    }

    err = jira_outbox_mark(pass, &row, status, attempted,
                           t.error[0] ? t.error : NULL,
                           t.outcome == JIRA_OUTBOX_DONE && t.jira_user[0]
                           ? t.jira_user : NULL, delay);
    if (err != JIRA_OK) {
        goto failed;
    }

    err = jira_store_commit(pass->st);
    if (err != JIRA_OK) {
        goto failed;
    }

    if (t.down && pass->ndown < JIRA_OUTBOX_MAX_DOWN) {
        pass->down[pass->ndown++] = row.integration_id;
    }

    jira_outbox_report(pass, &row, status, &t, delay);

    return 1;

failed:

    jira_store_rollback(pass->st);

    if (err == JIRA_ERETRY) {
        /* under REPEATABLE READ a row another drainer just finished
           cannot be locked: the next pass takes what is left */
        return 0;
    }

    jira_outbox_fail(pass->res, err);

    return -1;
}


static jira_err_e
jira_outbox_claim(jira_outbox_pass_t *pass, jira_outbox_row_t *row,
    int *found)
{
    int          n;
    char         down[JIRA_OUTBOX_MAX_DOWN * 24 + 3];
    size_t       i, len;
    PGresult    *res;
    jira_err_e   err;
    const char  *value;

    *found = 0;

    len = 0;
    down[len++] = '{';

    for (i = 0; i < pass->ndown; i++) {
        n = snprintf(down + len, sizeof(down) - len, "%s%lld",
                     i ? "," : "", pass->down[i]);
        len += (size_t) n;
    }

    down[len++] = '}';
    down[len] = '\0';

    value = down;

    res = jira_store_exec(pass->st, &jira_outbox_claim_stmt, 1, &value,
                          &err);
    if (res == NULL) {
        return err;
    }

    *found = (PQntuples(res) == 1);

    if (*found) {
        memset(row, 0, sizeof(jira_outbox_row_t));
        row->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        row->integration_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        row->organization_id = PQgetisnull(res, 0, 2)
                               ? 0 : strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        (void) snprintf(row->key, sizeof(row->key), "%s",
                        PQgetvalue(res, 0, 3));
        row->assign = PQgetvalue(res, 0, 4)[0] == 't';
        row->user_id = PQgetisnull(res, 0, 5)
                       ? 0 : strtoll(PQgetvalue(res, 0, 5), NULL, 10);
        row->attempts = atoi(PQgetvalue(res, 0, 6));

        if (!PQgetisnull(res, 0, 7)) {
            (void) snprintf(row->skip, sizeof(row->skip), "%s",
                            PQgetvalue(res, 0, 7));
        }
    }

    PQclear(res);

    return JIRA_OK;
}


/* the Jira client of the row's installation, loaded once per pass */

static jira_err_e
jira_outbox_client(jira_outbox_pass_t *pass, const jira_outbox_row_t *row,
    jira_outbox_client_t **client)
{
    size_t                 i;
    jira_err_e             err;
    jira_outbox_client_t  *c;

    for (i = 0; i < pass->nclients; i++) {
        c = &pass->clients[i];

        if (c->integration_id == row->integration_id
            && c->organization_id == row->organization_id)
        {
            *client = c;
            return JIRA_OK;
        }
    }

    if (pass->nclients == JIRA_OUTBOX_MAX_CLIENTS) {
        for (i = 0; i < pass->nclients; i++) {
            jira_installed_free(&pass->clients[i].inst);
        }

        pass->nclients = 0;
    }

    c = &pass->clients[pass->nclients];
    memset(c, 0, sizeof(jira_outbox_client_t));

    err = jira_installed_load(pass->st, pass->conf->api, row->integration_id,
                              row->organization_id, &c->inst, &c->found);
    if (err != JIRA_OK) {
        jira_installed_free(&c->inst);
        return err;
    }

    c->integration_id = row->integration_id;
    c->organization_id = row->organization_id;
    pass->nclients++;

    *client = c;

    return JIRA_OK;
}


/*
 * Assign: the Jira user whose emailAddress equals one of the user's
 * verified addresses, ignoring case, then PUT {"name": <name>};
 * deassign: PUT {"name": null}.  The body is written as Sentry's client
 * (Python's json.dumps) writes it.
 */

static jira_err_e
jira_outbox_deliver(jira_outbox_pass_t *pass,
    const jira_outbox_client_t *client, const jira_outbox_row_t *row,
    jira_outbox_try_t *t)
{
    int                   rc;
    char                  path[JIRA_OUTBOX_PATH_LEN], *body;
    json_t               *obj, *name;
    jira_err_e            err;
    jira_client_error_t   cerr;

    if (row->assign) {
        err = jira_outbox_find_user(pass, client, row, t);
        if (err != JIRA_OK || t->outcome != JIRA_OUTBOX_DONE) {
            return err;
        }

        name = json_string(t->jira_user);

    } else {
        name = json_null();
    }

    obj = json_object();
    body = NULL;

    if (name != NULL && obj != NULL
        && json_object_set_new(obj, "name", name) == 0)
    {
        body = json_dumps(obj, JSON_ENSURE_ASCII);

    } else {
        json_decref(name);
    }

    json_decref(obj);

    if (body == NULL
        || jira_outbox_query(path, sizeof(path), "/rest/api/2/issue/%s"
                             "/assignee", row->key, NULL) != 0)
    {
        free(body);
        t->outcome = JIRA_OUTBOX_RETRY;
        (void) snprintf(t->error, sizeof(t->error), "%s: out of memory",
                        JIRA_OUTBOX_FAILED);
        return JIRA_OK;
    }

    rc = jira_client_rest(&client->inst.client, "PUT", path, body, NULL,
                          &cerr);
    free(body);

    if (rc != 0) {
        jira_outbox_jira_error(client,
                               cerr.http_err == JIRA_HTTP_OK
                               && cerr.status == 401
                               ? JIRA_OUTBOX_UNAUTHORIZED
                               : JIRA_OUTBOX_FAILED, &cerr, t);
        return JIRA_OK;
    }

    t->outcome = JIRA_OUTBOX_DONE;

    return JIRA_OK;
}


/*
 * GET /rest/api/2/user/assignable/search?issueKey=...&username=<email>
 * for each address until a returned user has that address.  Unlike
 * Sentry, a failed search is retried rather than read as "no user".
 */

static jira_err_e
jira_outbox_find_user(jira_outbox_pass_t *pass,
    const jira_outbox_client_t *client, const jira_outbox_row_t *row,
    jira_outbox_try_t *t)
{
    int                   i, n, rc, refused;
    char                  path[JIRA_OUTBOX_PATH_LEN], uid[32];
    size_t                k;
    json_t               *users, *user, *email, *name;
    PGresult             *res;
    jira_err_e            err;
    const char           *value, *address;
    jira_client_error_t   cerr;

    t->outcome = JIRA_OUTBOX_FAIL;
    (void) snprintf(t->error, sizeof(t->error), "%s", JIRA_OUTBOX_NO_USER);

    if (row->user_id == 0) {
        /* the user was deleted since */
        return JIRA_OK;
    }

    (void) snprintf(uid, sizeof(uid), "%lld", row->user_id);
    value = uid;

    res = jira_store_exec(pass->st, &jira_outbox_emails_stmt, 1, &value,
                          &err);
    if (res == NULL) {
        return err;
    }

    n = PQntuples(res);
    refused = 0;

    for (i = 0; i < n; i++) {
        address = PQgetvalue(res, i, 0);

        if (jira_outbox_query(path, sizeof(path), "/rest/api/2/user"
                              "/assignable/search?issueKey=%s&username=%s",
                              row->key, address) != 0)
        {
            continue;
        }

        rc = jira_client_rest(&client->inst.client, "GET", path, NULL,
                              &users, &cerr);
        if (rc != 0) {
            jira_outbox_jira_error(client, JIRA_OUTBOX_FAILED
                                   " (user search)", &cerr, t);

            if (t->outcome == JIRA_OUTBOX_RETRY) {
                break;
            }

            /* the search itself was refused (400, 404): its reason is
               what the row records unless another address matches */
            refused = 1;
            continue;
        }

        for (k = 0; k < json_array_size(users); k++) {
            user = json_array_get(users, k);
            email = json_object_get(user, "emailAddress");
            name = json_object_get(user, "name");

            if (json_is_string(email) && json_is_string(name)
                && strcasecmp(json_string_value(email), address) == 0
                && strlen(json_string_value(name)) < sizeof(t->jira_user))
            {
                (void) snprintf(t->jira_user, sizeof(t->jira_user), "%s",
                                json_string_value(name));
                break;
            }
        }

        json_decref(users);

        if (t->jira_user[0] != '\0') {
            t->outcome = JIRA_OUTBOX_DONE;
            t->error[0] = '\0';
            break;
        }
    }

    PQclear(res);

    if (t->outcome == JIRA_OUTBOX_FAIL && !refused) {
        (void) snprintf(t->error, sizeof(t->error), "%s",
                        JIRA_OUTBOX_NO_USER);
    }

    return JIRA_OK;
}


/*
 * A failed Jira call: "<Sentry's message>: <what Jira said>", with the
 * credentials redacted.  400 and 404 are Jira saying no; anything else
 * (no answer, 5xx, 401, 403, 429, ...) may pass later.
 */

static void
jira_outbox_jira_error(const jira_outbox_client_t *client, const char *what,
    const jira_client_error_t *err, jira_outbox_try_t *t)
{
    char  text[JIRA_OUTBOX_ERROR_LEN + JIRA_CLIENT_ERROR_LEN];

    if (err->http_err == JIRA_HTTP_OK && err->text[0] == '\0') {
        (void) snprintf(text, sizeof(text), "%s: %ld", what, err->status);

    } else if (err->http_err == JIRA_HTTP_OK) {
        (void) snprintf(text, sizeof(text), "%s: %ld %s", what,
                        err->status, err->text);

    } else {
        (void) snprintf(text, sizeof(text), "%s: %s", what, err->text);
    }

    jira_outbox_redact(&client->inst.client, t->error, sizeof(t->error),
                       text);

    if (err->http_err == JIRA_HTTP_OK
        && (err->status == 400 || err->status == 404))
    {
        t->outcome = JIRA_OUTBOX_FAIL;
        return;
    }

    t->outcome = JIRA_OUTBOX_RETRY;

    if (err->http_err != JIRA_HTTP_OK || err->status >= 500
        || err->status == 429)
    {
        t->down = 1;
    }
}


static jira_err_e
jira_outbox_mark(jira_outbox_pass_t *pass, const jira_outbox_row_t *row,
    const char *status, int attempted, const char *error,
    const char *jira_user, long long delay)
{
    char         id[32], ms[32];
    const char  *values[6];
    jira_err_e   err;

    (void) snprintf(id, sizeof(id), "%lld", row->id);
    (void) snprintf(ms, sizeof(ms), "%lld", delay);

    values[0] = id;
    values[1] = status;
    values[2] = attempted ? "1" : "0";
    values[3] = error;
    values[4] = jira_user;
    values[5] = ms;

    if (jira_store_run(pass->st, &jira_outbox_mark_stmt, 6, values, &err)
        != 1)
    {
        return err != JIRA_OK ? err : JIRA_EDB;
    }

    return JIRA_OK;
}


static void
jira_outbox_report(jira_outbox_pass_t *pass, const jira_outbox_row_t *row,
    const char *status, const jira_outbox_try_t *t, long long delay)
{
    char                   text[JIRA_OUTBOX_LOG_TEXT + 1];
    jira_outbox_result_t  *res;

    res = pass->res;

    jira_outbox_log_text(text, sizeof(text), t->error);

    switch (status[0]) {

    case 'd':
        if (status[1] == 'o') {
            res->delivered++;
            jira_log(&res->log, JIRA_LOG_INFO,
                     "outbound-delivered id=%lld integration_id=%lld"
                     " issue_key=\"%s\" assign=%d%s%s%s attempts=%d",
                     row->id, row->integration_id, row->key, row->assign,
                     row->assign ? " jira_user=\"" : "", t->jira_user,
                     row->assign ? "\"" : "", row->attempts + 1);

        } else {
            res->dead++;
            jira_log(&res->log, JIRA_LOG_ERR,
                     "outbound-dead id=%lld integration_id=%lld"
                     " issue_key=\"%s\" attempts=%d error=\"%s\"", row->id,
                     row->integration_id, row->key, row->attempts + 1,
                     text);
        }

        break;

    case 'f':
        res->failed++;
        jira_log(&res->log, JIRA_LOG_WARN,
                 "outbound-failed id=%lld integration_id=%lld"
                 " issue_key=\"%s\" error=\"%s\"", row->id,
                 row->integration_id, row->key, text);
        break;

    case 's':
        res->skipped++;
        jira_log(&res->log, JIRA_LOG_INFO,
                 "outbound-skipped id=%lld integration_id=%lld"
                 " issue_key=\"%s\" reason=\"%s\"", row->id,
                 row->integration_id, row->key, text);
        break;

    default:
        res->retried++;
        jira_log(&res->log, JIRA_LOG_WARN,
                 "outbound-retry id=%lld integration_id=%lld"
                 " issue_key=\"%s\" attempts=%d next_in=%lldms"
                 " error=\"%s\"", row->id, row->integration_id, row->key,
                 row->attempts + 1, delay, text);
    }
}


jira_err_e
jira_outbox_stats(jira_store_t *st, jira_outbox_stats_t *stats)
{
    PGresult    *res;
    jira_err_e   err;

    res = jira_store_exec(st, &jira_outbox_stats_stmt, 0, NULL, &err);
    if (res == NULL) {
        return err;
    }

    stats->pending = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    stats->due = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    stats->failed = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    stats->dead = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    stats->oldest = strtod(PQgetvalue(res, 0, 4), NULL);

    PQclear(res);

    return JIRA_OK;
}


long long
jira_outbox_backoff(long long base, long long max, int attempts)
{
    int        i;
    long long  delay;

    delay = base;

    for (i = 1; i < attempts && delay < max; i++) {
        delay *= 2;
    }

    return delay < max ? delay : max;
}


/*
 * Jira's text as it may be stored and logged: the PAT and the OAuth
 * access token (as written and percent-encoded) replaced, and only whole,
 * valid UTF-8 sequences kept, because PostgreSQL refuses anything else.
 */

static void
jira_outbox_redact(const jira_client_t *c, char *dst, size_t size,
    const char *src)
{
    char                  enc[3 * 512 + 1];
    size_t                i, n, len, slen, elen;
    const char           *secrets[2], *s;
    const unsigned char  *p;

    static const char  redacted[] = "[redacted]";

    secrets[0] = c->pat;
    secrets[1] = c->token;

    n = 0;
    p = (const unsigned char *) src;

    while (*p != '\0' && n + 1 < size) {
        len = 0;

        for (i = 0; i < 2; i++) {
            s = secrets[i];

            if (s == NULL || s[0] == '\0') {
                continue;
            }

            slen = strlen(s);

            if (strncmp((const char *) p, s, slen) == 0) {
                len = slen;
                break;
            }

            if (slen <= 512) {
                elen = jira_oauth1_encode(enc, s, slen);
                enc[elen] = '\0';

                if (elen != slen
                    && strncmp((const char *) p, enc, elen) == 0)
                {
                    len = elen;
                    break;
                }
            }
        }

        if (len != 0) {
            p += len;

            for (i = 0; redacted[i] != '\0' && n + 1 < size; i++) {
                dst[n++] = redacted[i];
            }

            continue;
        }

        len = jira_outbox_utf8(p, strlen((const char *) p));

        if (len == 0) {
            dst[n++] = '?';
            p++;
            continue;
        }

        if (n + len >= size) {
            break;
        }

        memcpy(dst + n, p, len);
        n += len;
        p += len;
    }

    dst[n] = '\0';
}


/* the length of the valid UTF-8 sequence at p, 0 if there is none */

static size_t
jira_outbox_utf8(const unsigned char *p, size_t left)
{
    size_t  i, len;

    if (p[0] < 0x80) {
        return 1;
    }

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;

    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;

    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;

    } else {
        return 0;
    }

    if (left < len) {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
    }

    /* overlong forms, surrogates and code points past U+10FFFF */
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f)
        || (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
    {
        return 0;
    }

    return len;
}


/* one log line: no control characters, no double quotes, short */

static void
jira_outbox_log_text(char *dst, size_t size, const char *src)
{
    size_t  n;

    for (n = 0; src[n] != '\0' && n + 1 < size; n++) {
        dst[n] = ((unsigned char) src[n] < ' ' || src[n] == 0x7f) ? ' '
                 : (src[n] == '"') ? '\'' : src[n];
    }

    dst[n] = '\0';
}


/* fmt with each %s replaced by a percent-encoded a, then b */

static int
jira_outbox_query(char *dst, size_t size, const char *fmt, const char *a,
    const char *b)
{
    int          n;
    char        *ea, *eb;
    size_t       la, lb;

    la = strlen(a);
    lb = b ? strlen(b) : 0;

    ea = malloc(3 * la + 1);
    eb = malloc(3 * lb + 1);

    if (ea == NULL || eb == NULL) {
        free(ea);
        free(eb);
        return -1;
    }

    ea[jira_oauth1_encode(ea, a, la)] = '\0';
    eb[b ? jira_oauth1_encode(eb, b, lb) : 0] = '\0';

    n = snprintf(dst, size, fmt, ea, eb);

    free(ea);
    free(eb);

    return (n < 0 || (size_t) n >= size) ? -1 : 0;
}


static void
jira_outbox_fail(jira_outbox_result_t *res, jira_err_e err)
{
    res->err = err;
    (void) snprintf(res->error, sizeof(res->error), "%s",
                    jira_store_error());
}


static long long
jira_outbox_now_ms(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
