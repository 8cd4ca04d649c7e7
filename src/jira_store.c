/*
 * One PostgreSQL connection per pool thread, kept in thread-specific data.
 *
 * Connections are closed by the worker's main thread at exit, not by a
 * thread-specific-data destructor: nginx lets a pool thread finish
 * exiting while the main thread already unloads the module, so a
 * destructor could run after this code is unmapped.
 */

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jira_store_int.h"


/* after a failed connect, fail fast for this long instead of waiting */
#define JIRA_STORE_RETRY_MS  200

/* at exit, wait at most this long for the pool threads to be gone */
#define JIRA_STORE_EXIT_WAIT_MS  500


static void jira_store_key_create(void);
static long long jira_store_now_ms(void);
static jira_err_e jira_store_connect(jira_store_t *st);
static jira_err_e jira_store_check_schema(jira_store_t *st);
static int jira_store_threads(void);


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


/*
 * At worker exit, after nginx told the pool threads to stop.  nginx
 * waits only until each thread took its exit task, not until it is
 * gone: a thread may still run the thread-exit handlers of libpq,
 * OpenSSL or libc while this thread closes its connection, unloads the
 * module and exits the process.  So first wait, a little, until this
 * is the process's only thread.
 */

void
jira_store_process_exit(void)
{
    int               i;
    jira_store_t     *st, *next;
    struct timespec   ts;

    ts.tv_sec = 0;
    ts.tv_nsec = 1000000;

    for (i = 0; i < JIRA_STORE_EXIT_WAIT_MS; i++) {
        if (jira_store_threads() <= 1) {
            break;
        }

        (void) nanosleep(&ts, NULL);
    }

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


/* the process's threads (Linux), 0 if they cannot be counted */

static int
jira_store_threads(void)
{
    int             n;
    DIR            *dir;
    struct dirent  *de;

    dir = opendir("/proc/self/task");
    if (dir == NULL) {
        return 0;
    }

    n = 0;

    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] != '.') {
            n++;
        }
    }

    (void) closedir(dir);

    return n;
}


const char *
jira_store_error(void)
{
    return jira_store_errbuf;
}


void
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


jira_err_e
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


void
jira_store_drop(jira_store_t *st)
{
    if (st->conn != NULL) {
        PQfinish(st->conn);
        st->conn = NULL;
    }

    st->nprepared = 0;
    st->schema_version = 0;
}


jira_err_e
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
