/*
 * Statements and transactions on a pool thread's connection: prepared
 * once per connection, BEGIN sent with a transaction's first statement,
 * statements queued to share a round trip (libpq pipeline mode), and
 * one more try when a connection turns out dead before anything of a
 * transaction reached the server.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jira_store_int.h"


static PGresult *jira_store_exec_once(jira_store_t *st,
    const jira_stmt_t *stmt, int n, const char *const *values,
    jira_err_e *err);
static int jira_store_prepare(jira_store_t *st, const jira_stmt_t *stmt,
    jira_err_e *err);
static int jira_store_send(jira_store_t *st, const jira_stmt_t *stmt,
    int n, const char *const *values, int prepared);
static PGresult *jira_store_pipeline(jira_store_t *st,
    const jira_stmt_t *stmt, int n, const char *const *values,
    jira_err_e *err);
static PGresult *jira_store_result(jira_store_t *st, PGresult *res,
    jira_err_e *err);
static void jira_store_unqueue(jira_store_t *st);
static jira_err_e jira_store_simple(jira_store_t *st, const char *sql);


static PGresult *
jira_store_exec_once(jira_store_t *st, const jira_stmt_t *stmt, int n,
    const char *const *values, jira_err_e *err)
{
    int        prepared;
    PGresult  *res;

    if (st->conn == NULL) {
        jira_store_set_error("no database connection", NULL);
        *err = JIRA_EUNAVAIL;
        return NULL;
    }

    if (st->txn == JIRA_STORE_TXN_PENDING || st->nqueued > 0) {
        return jira_store_pipeline(st, stmt, n, values, err);
    }

    prepared = jira_store_prepare(st, stmt, err);
    if (prepared < 0) {
        return NULL;
    }

    if (prepared) {
        res = PQexecPrepared(st->conn, stmt->name, n, values, NULL, NULL, 0);

    } else {
        res = PQexecParams(st->conn, stmt->sql, n, NULL, values, NULL, NULL,
                           0);
    }

    return jira_store_result(st, res, err);
}


/* 1: prepared on this connection, 0: no slot left (run it as text) */

static int
jira_store_prepare(jira_store_t *st, const jira_stmt_t *stmt,
    jira_err_e *err)
{
    int        i;
    PGresult  *res;

    for (i = 0; i < st->nprepared; i++) {
        if (st->prepared[i] == stmt) {
            return 1;
        }
    }

    if (i == JIRA_STORE_MAX_STMTS) {
        return 0;
    }

    res = PQprepare(st->conn, stmt->name, stmt->sql, 0, NULL);

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        *err = jira_store_classify(st, res);
        PQclear(res);
        return -1;
    }

    PQclear(res);

    st->prepared[st->nprepared++] = stmt;

    return 1;
}


/* one statement into the pipeline; stmt NULL is BEGIN */

static int
jira_store_send(jira_store_t *st, const jira_stmt_t *stmt, int n,
    const char *const *values, int prepared)
{
    if (stmt == NULL) {
        return PQsendQueryParams(st->conn, "BEGIN", 0, NULL, NULL, NULL,
                                 NULL, 0);
    }

    if (prepared) {
        return PQsendQueryPrepared(st->conn, stmt->name, n, values, NULL,
                                   NULL, 0);
    }

    return PQsendQueryParams(st->conn, stmt->sql, n, NULL, values, NULL,
                             NULL, 0);
}


/*
 * A pending BEGIN, the queued statements and this one in one round trip
 * (libpq pipeline mode): each waits on the server, not on the network.
 * The queued results land where jira_store_queue() was told; on any
 * failure none does, and the first failure is the one reported.
 */

static PGresult *
jira_store_pipeline(jira_store_t *st, const jira_stmt_t *stmt, int n,
    const char *const *values, jira_err_e *err)
{
    int                   i, j, sent, begin, nulls;
    int                   prepared[JIRA_STORE_MAX_QUEUED + 1];
    PGresult             *res, *last;
    ExecStatusType        status;
    jira_store_queued_t  *q;

    /* statements are prepared before: PQprepare() waits for its answer */

    for (i = 0; i < st->nqueued; i++) {
        prepared[i] = jira_store_prepare(st, st->queued[i].stmt, err);
        if (prepared[i] < 0) {
            return NULL;
        }
    }

    prepared[i] = jira_store_prepare(st, stmt, err);
    if (prepared[i] < 0) {
        return NULL;
    }

    if (!PQenterPipelineMode(st->conn)) {
        jira_store_set_error("could not enter pipeline mode: ",
                             PQerrorMessage(st->conn));
        *err = JIRA_EDB;
        return NULL;
    }

    begin = (st->txn == JIRA_STORE_TXN_PENDING);
    sent = 1;

    if (begin) {
        st->txn = JIRA_STORE_TXN_OPEN;
        sent = jira_store_send(st, NULL, 0, NULL, 0);
    }

    for (i = 0; sent && i < st->nqueued; i++) {
        q = &st->queued[i];
        sent = jira_store_send(st, q->stmt, q->n, q->values, prepared[i]);
    }

    if (!sent
        || !jira_store_send(st, stmt, n, values, prepared[st->nqueued])
        || !PQpipelineSync(st->conn))
    {
        jira_store_set_error("could not send to PostgreSQL: ",
                             PQerrorMessage(st->conn));
        jira_store_drop(st);
        *err = JIRA_EUNAVAIL;
        return NULL;
    }

    /*
     * Results come in the order sent, each followed by a NULL, and then
     * the sync point; after a failure the rest come as "aborted".  Step
     * j is BEGIN (when it was pending), then the queue, then this one.
     */

    j = 0;
    nulls = 0;
    last = NULL;
    *err = JIRA_OK;

    for ( ;; ) {
        res = PQgetResult(st->conn);

        if (res == NULL) {
            if (++nulls > 1 || PQstatus(st->conn) != CONNECTION_OK) {
                jira_store_set_error("lost the connection to PostgreSQL: ",
                                     PQerrorMessage(st->conn));
                jira_store_drop(st);
                *err = JIRA_EUNAVAIL;
                break;
            }

            continue;
        }

        nulls = 0;
        status = PQresultStatus(res);

        if (status == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            break;
        }

        i = j++ - begin;

        if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
            if (*err == JIRA_OK && status != PGRES_PIPELINE_ABORTED) {
                *err = jira_store_classify(st, res);
            }

            PQclear(res);

            if (st->conn == NULL) {
                /* classified as unreachable: the connection is gone */
                if (*err == JIRA_OK) {
                    *err = JIRA_EUNAVAIL;
                }

                break;
            }

            continue;
        }

        if (i < 0) {
            PQclear(res);                                /* BEGIN */

        } else if (i < st->nqueued) {
            *st->queued[i].res = res;

        } else {
            PQclear(last);
            last = res;
        }
    }

    if (st->conn != NULL && !PQexitPipelineMode(st->conn)) {
        jira_store_set_error("could not leave pipeline mode: ",
                             PQerrorMessage(st->conn));
        jira_store_drop(st);
        *err = JIRA_EUNAVAIL;
    }

    if (*err == JIRA_OK && last == NULL) {
        jira_store_set_error("no result from PostgreSQL", NULL);
        *err = JIRA_EDB;
    }

    if (*err != JIRA_OK) {
        PQclear(last);

        for (i = 0; i < st->nqueued; i++) {
            if (*st->queued[i].res != NULL) {
                PQclear(*st->queued[i].res);
                *st->queued[i].res = NULL;
            }
        }

        return NULL;
    }

    return last;
}


/* the result of a statement run alone, checked and classified */

static PGresult *
jira_store_result(jira_store_t *st, PGresult *res, jira_err_e *err)
{
    ExecStatusType  status;

    status = PQresultStatus(res);

    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
        *err = JIRA_OK;
        return res;
    }

    *err = jira_store_classify(st, res);
    PQclear(res);

    return NULL;
}


PGresult *
jira_store_exec(jira_store_t *st, const jira_stmt_t *stmt, int n,
    const char *const *values, jira_err_e *err)
{
    int               fresh;
    PGresult         *res;
    jira_store_txn_e  txn;

    /* nothing of a transaction reached the server yet */
    txn = st->txn;
    fresh = (txn != JIRA_STORE_TXN_OPEN
             && (st->conn == NULL
                 || PQtransactionStatus(st->conn) == PQTRANS_IDLE));

    res = jira_store_exec_once(st, stmt, n, values, err);

    if (res == NULL && *err == JIRA_EUNAVAIL && fresh && st->conn == NULL) {
        /*
         * The connection died while idle (a server restart is noticed
         * only at the next use).  Nothing was committed on it: outside a
         * transaction only reads run, and a transaction being opened has
         * sent no COMMIT, so one more try on a new connection is safe.
         */
        *err = jira_store_reconnect(st);

        if (*err == JIRA_OK) {
            st->txn = txn;
            res = jira_store_exec_once(st, stmt, n, values, err);
        }
    }

    jira_store_unqueue(st);

    return res;
}


jira_err_e
jira_store_queue(jira_store_t *st, const jira_stmt_t *stmt, int n,
    const char *const *values, PGresult **res)
{
    jira_store_queued_t  *q;

    *res = NULL;

    if (st->nqueued == JIRA_STORE_MAX_QUEUED) {
        jira_store_set_error("too many statements queued", NULL);
        return JIRA_EDB;
    }

    q = &st->queued[st->nqueued++];
    q->stmt = stmt;
    q->n = n;
    q->values = values;
    q->res = res;

    return JIRA_OK;
}


/* statements queued but never sent are forgotten */

static void
jira_store_unqueue(jira_store_t *st)
{
    st->nqueued = 0;
}


long
jira_store_run(jira_store_t *st, const jira_stmt_t *stmt, int n,
    const char *const *values, jira_err_e *err)
{
    long       rows;
    PGresult  *res;

    res = jira_store_exec(st, stmt, n, values, err);
    if (res == NULL) {
        return -1;
    }

    rows = atol(PQcmdTuples(res));
    PQclear(res);

    return rows;
}


static jira_err_e
jira_store_simple(jira_store_t *st, const char *sql)
{
    PGresult    *res;
    jira_err_e   err;

    if (st->conn == NULL) {
        jira_store_set_error("no database connection", NULL);
        return JIRA_EUNAVAIL;
    }

    res = PQexec(st->conn, sql);

    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        PQclear(res);
        return JIRA_OK;
    }

    err = jira_store_classify(st, res);
    PQclear(res);

    return err;
}


/*
 * BEGIN goes with the transaction's first statement: a round trip less,
 * and a transaction without statements costs none.
 */

jira_err_e
jira_store_begin(jira_store_t *st)
{
    jira_store_rollback(st);

    st->txn = JIRA_STORE_TXN_PENDING;

    return JIRA_OK;
}


jira_err_e
jira_store_commit(jira_store_t *st)
{
    jira_store_txn_e  txn;

    txn = st->txn;
    st->txn = JIRA_STORE_TXN_NONE;
    jira_store_unqueue(st);

    if (txn == JIRA_STORE_TXN_PENDING) {
        return JIRA_OK;                   /* nothing reached the server */
    }

    return jira_store_simple(st, "COMMIT");
}


void
jira_store_rollback(jira_store_t *st)
{
    st->txn = JIRA_STORE_TXN_NONE;
    jira_store_unqueue(st);

    if (st->conn != NULL
        && PQtransactionStatus(st->conn) != PQTRANS_IDLE)
    {
        (void) jira_store_simple(st, "ROLLBACK");
    }
}
