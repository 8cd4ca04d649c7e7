/*
 * One PostgreSQL connection per pool thread, kept in thread-specific data.
 *
 * Connections are closed by the worker's main thread at exit, not by a
 * thread-specific-data destructor: nginx lets a pool thread finish
 * exiting while the main thread already unloads the module, so a
 * destructor could run after this code is unmapped.
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jira_store.h"


/* after a failed connect, fail fast for this long instead of waiting */
#define JIRA_STORE_RETRY_MS  200

/* statements that may wait for the next one to go in one round trip */
#define JIRA_STORE_MAX_QUEUED  4


typedef enum {
    JIRA_STORE_TXN_NONE = 0,
    JIRA_STORE_TXN_PENDING,     /* BEGIN waits for the first statement */
    JIRA_STORE_TXN_OPEN         /* BEGIN was sent */
} jira_store_txn_e;


typedef struct {
    const jira_stmt_t        *stmt;
    int                       n;
    const char *const        *values;
    PGresult                **res;
} jira_store_queued_t;


struct jira_store_s {
    jira_store_t             *next;         /* every store of the process */
    PGconn                   *conn;
    const jira_store_conf_t  *conf;
    int                       schema_version;
    int                       nprepared;
    const jira_stmt_t        *prepared[JIRA_STORE_MAX_STMTS];
    long long                 retry_at;
    jira_store_txn_e          txn;
    int                       nqueued;
    jira_store_queued_t       queued[JIRA_STORE_MAX_QUEUED];
};


static void jira_store_key_create(void);
static long long jira_store_now_ms(void);
static void jira_store_set_error(const char *prefix, const char *text);
static void jira_store_drop(jira_store_t *st);
static jira_err_e jira_store_connect(jira_store_t *st);
static jira_err_e jira_store_check_schema(jira_store_t *st);
static jira_err_e jira_store_reconnect(jira_store_t *st);
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
static jira_err_e jira_store_classify(jira_store_t *st, PGresult *res);
static jira_err_e jira_store_simple(jira_store_t *st, const char *sql);


static pthread_key_t     jira_store_key;
static pthread_once_t    jira_store_once = PTHREAD_ONCE_INIT;
static int               jira_store_key_ok;
static pthread_mutex_t   jira_store_lock = PTHREAD_MUTEX_INITIALIZER;
static jira_store_t     *jira_store_all;
static __thread char     jira_store_errbuf[512];


int
jira_store_process_init(void)
{
    (void) pthread_once(&jira_store_once, jira_store_key_create);

    return jira_store_key_ok ? 0 : -1;
}


static void
jira_store_key_create(void)
{
    jira_store_key_ok = (pthread_key_create(&jira_store_key, NULL) == 0);
}


/* at worker exit, after the pool threads have stopped */

void
jira_store_process_exit(void)
{
    jira_store_t  *st, *next;

    (void) pthread_mutex_lock(&jira_store_lock);

    for (st = jira_store_all; st != NULL; st = next) {
        next = st->next;

        if (st->conn != NULL) {
            PQfinish(st->conn);
        }

        free(st);
    }

    jira_store_all = NULL;

    (void) pthread_mutex_unlock(&jira_store_lock);
}


const char *
jira_store_error(void)
{
    return jira_store_errbuf;
}


static void
jira_store_set_error(const char *prefix, const char *text)
{
    char    *p;
    size_t   len;

    (void) snprintf(jira_store_errbuf, sizeof(jira_store_errbuf), "%s%s",
                    prefix, text ? text : "");

    /* libpq messages span lines ("...\n\tIs the server running"): one
       log line each, so newlines and tabs become spaces */
    len = strlen(jira_store_errbuf);
    while (len > 0 && (jira_store_errbuf[len - 1] == '\n'
                       || jira_store_errbuf[len - 1] == '\r'))
    {
        jira_store_errbuf[--len] = '\0';
    }

    for (p = jira_store_errbuf; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t') {
            *p = ' ';
        }
    }
}


static long long
jira_store_now_ms(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


jira_store_t *
jira_store_thread(const jira_store_conf_t *conf, jira_err_e *err)
{
    jira_store_t  *st;

    if (!jira_store_key_ok) {
        jira_store_set_error("thread storage is not initialised", NULL);
        *err = JIRA_EDB;
        return NULL;
    }

    st = pthread_getspecific(jira_store_key);

    if (st == NULL) {
        st = calloc(1, sizeof(jira_store_t));
        if (st == NULL) {
            jira_store_set_error("out of memory", NULL);
            *err = JIRA_EDB;
            return NULL;
        }

        if (pthread_setspecific(jira_store_key, st) != 0) {
            free(st);
            jira_store_set_error("pthread_setspecific() failed", NULL);
            *err = JIRA_EDB;
            return NULL;
        }

        (void) pthread_mutex_lock(&jira_store_lock);
        st->next = jira_store_all;
        jira_store_all = st;
        (void) pthread_mutex_unlock(&jira_store_lock);
    }

    st->conf = conf;

    if (st->conn != NULL && PQstatus(st->conn) != CONNECTION_OK) {
        jira_store_drop(st);
    }

    if (st->conn == NULL) {
        if (jira_store_now_ms() < st->retry_at) {
            /* the last error text of this thread still says why */
            *err = JIRA_EUNAVAIL;
            return NULL;
        }

        *err = jira_store_connect(st);
        if (*err != JIRA_OK) {
            return NULL;
        }
    }

    if (st->schema_version < JIRA_SCHEMA_VERSION) {
        *err = jira_store_check_schema(st);
        if (*err != JIRA_OK) {
            return NULL;
        }
    }

    *err = JIRA_OK;
    return st;
}


static jira_err_e
jira_store_connect(jira_store_t *st)
{
    char           timeout[32], stmt_timeout[32];
    PGresult      *res;
    const char    *values[6];
    const char    *params[2];
    ExecStatusType status;

    static const char  *keywords[] = {
        "connect_timeout", "application_name", "keepalives",
        "keepalives_idle", "dbname", NULL
    };

    (void) snprintf(timeout, sizeof(timeout), "%d", st->conf->connect_timeout);

    /* the operator's conninfo comes last so that it overrides defaults */
    values[0] = timeout;
    values[1] = "nginx-jira-sync";
    values[2] = "1";
    values[3] = "30";
    values[4] = st->conf->conninfo;
    values[5] = NULL;

    st->conn = PQconnectdbParams(keywords, values, 1);
    st->nprepared = 0;
    st->schema_version = 0;

    if (st->conn == NULL || PQstatus(st->conn) != CONNECTION_OK) {
        jira_store_set_error("could not connect to PostgreSQL: ",
                             st->conn ? PQerrorMessage(st->conn)
                                      : "out of memory");
        jira_store_drop(st);
        st->retry_at = jira_store_now_ms() + JIRA_STORE_RETRY_MS;
        return JIRA_EUNAVAIL;
    }

    (void) snprintf(stmt_timeout, sizeof(stmt_timeout), "%d",
                    st->conf->statement_timeout);

    params[0] = stmt_timeout;
    params[1] = "jira_sync";

    res = PQexecParams(st->conn,
                       "SELECT set_config('statement_timeout', $1, false),"
                       " set_config('search_path', $2, false)",
                       2, NULL, params, NULL, NULL, 0);
    status = PQresultStatus(res);

    if (status != PGRES_TUPLES_OK) {
        jira_store_set_error("could not set session parameters: ",
                             PQerrorMessage(st->conn));
        PQclear(res);
        jira_store_drop(st);
        st->retry_at = jira_store_now_ms() + JIRA_STORE_RETRY_MS;
        return JIRA_EUNAVAIL;
    }

    PQclear(res);

    return JIRA_OK;
}


static jira_err_e
jira_store_check_schema(jira_store_t *st)
{
    int          version;
    PGresult    *res;
    jira_err_e   err;

    res = PQexec(st->conn, "SELECT coalesce(max(version), 0)"
                           " FROM jira_sync.schema_migrations");

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        err = jira_store_classify(st, res);
        PQclear(res);

        if (err != JIRA_ESCHEMA) {
            return err;
        }

        version = 0;

    } else {
        version = atoi(PQgetvalue(res, 0, 0));
        PQclear(res);
    }

    st->schema_version = version;

    if (version < JIRA_SCHEMA_VERSION) {
        (void) snprintf(jira_store_errbuf, sizeof(jira_store_errbuf),
                        "database schema \"jira_sync\" is at version %d,"
                        " this module needs %d: apply src/sql/ migrations"
                        " (make migrate)", version, JIRA_SCHEMA_VERSION);
        return JIRA_ESCHEMA;
    }

    return JIRA_OK;
}


static jira_err_e
jira_store_reconnect(jira_store_t *st)
{
    jira_err_e  err;

    err = jira_store_connect(st);

    if (err == JIRA_OK) {
        err = jira_store_check_schema(st);
    }

    return err;
}


int
jira_store_schema_version(jira_store_t *st)
{
    return st->schema_version;
}


static void
jira_store_drop(jira_store_t *st)
{
    if (st->conn != NULL) {
        PQfinish(st->conn);
        st->conn = NULL;
    }

    st->nprepared = 0;
    st->schema_version = 0;
}


static jira_err_e
jira_store_classify(jira_store_t *st, PGresult *res)
{
    const char  *state;

    jira_store_set_error("", PQresultErrorMessage(res));

    if (jira_store_errbuf[0] == '\0') {
        jira_store_set_error("", PQerrorMessage(st->conn));
    }

    if (PQstatus(st->conn) != CONNECTION_OK) {
        jira_store_drop(st);
        return JIRA_EUNAVAIL;
    }

    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    if (state == NULL) {
        return JIRA_EDB;
    }

    if (strncmp(state, "08", 2) == 0           /* connection exception */
        || strncmp(state, "53", 2) == 0        /* insufficient resources */
        || strncmp(state, "57P", 3) == 0)      /* shutdown, cannot connect */
    {
        jira_store_drop(st);
        return JIRA_EUNAVAIL;
    }

    if (strcmp(state, "57014") == 0) {         /* statement timeout */
        return JIRA_EUNAVAIL;
    }

    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
        return JIRA_ERETRY;
    }

    if (strcmp(state, "23505") == 0) {
        return JIRA_ECONFLICT;
    }

    if (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0
        || strcmp(state, "42703") == 0)
    {
        /* a table, schema or column is missing: not migrated */
        st->schema_version = 0;
        return JIRA_ESCHEMA;
    }

    return JIRA_EDB;
}


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
